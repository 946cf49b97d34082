/* test_notify.c - the outbox from the engine's side (engine/notify.c), on a fake clock: a
 * notification is written in the transaction of its change (a change whose notification
 * cannot be written does not happen), a resolve and its trigger in one millisecond are two
 * deliveries, a tripwire's THROTTLE and reset tell four things at their levels, filters and
 * disabled channels, and the notifier's wake-up after the tick. */

#include "codec/api_json.h"
#include "codec/channel_json.h"
#include "codec/regression_json.h"
#include "fixture.h"

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fail_msg("bad JSON in the test: %s", je.text);
    return j;
}

/* A channel from its request, read as POST /v1/notifications/channels reads it. */
static void add_channel(struct fixture *f, const char *body_text)
{
    json_t *body = parse(body_text);
    sy_channel_spec_t spec;
    sy_channel_t ch;
    sy_err_t err = {0};
    if (sy_channel_spec_read(body, &spec, &err) < 0 ||
        sy_engine_channel_create(f->eng, &f->who, &spec, &ch, &err) < 0)
        fail_msg("channel: %s (%s)", err.msg, err.field);
    json_decref(body);
}

static const char HOOK[] = "{\"type\":\"webhook\",\"url\":\"http://127.0.0.1:9/\","
                           "\"secret\":\"0123456789abcdef\"}";

/* The outbox as [[channel, event, level, action], ...], oldest first, as compact JSON. */
static char *outbox(struct fixture *f)
{
    sy_store_notification_query_t q = {.limit = 1000};
    json_t *list0 = json_array(), *out, *rows = json_array();
    sy_notification_counts_t counts;
    assert_int_equal(sy_engine_notifications(f->eng, &f->who, &q, sy_notification_json_add, list0,
                                             &counts, NULL),
                     0);
    out = sy_notifications_json(list0, &counts);
    const json_t *list = json_object_get(out, "notifications");
    for (size_t i = json_array_size(list); i-- > 0;) {
        const json_t *d = json_array_get(list, i);
        json_array_append_new(rows,
                              json_pack("[IOOO]", json_integer_value(json_object_get(d, "channel")),
                                        json_object_get(d, "event"), json_object_get(d, "level"),
                                        json_object_get(d, "action")));
    }
    char *text = json_dumps(rows, JSON_COMPACT);
    json_decref(rows);
    json_decref(out);
    return text;
}

static void assert_outbox(struct fixture *f, const char *want)
{
    char *got = outbox(f);
    if (strcmp(got, want) != 0)
        fail_msg("outbox %s, want %s", got, want);
    free(got);
}

static int kill_switch(struct fixture *f, bool on, sy_err_t *err)
{
    sy_kill_switch_t out;
    sy_kill_switch_change_t c = {.engaged = on, .reason = "drill"};
    return sy_engine_kill_switch_put(f->eng, &f->who, &c, &out, err);
}

static void a_change_whose_notification_fails_does_not_happen(void **state)
{
    struct fixture *f = *state;
    add_channel(f, HOOK);
    fx_sql_exec(fx_uri,
                "CREATE TRIGGER no_outbox BEFORE INSERT ON notifications "
                "BEGIN SELECT RAISE(ABORT, 'no'); END;",
                "CREATE FUNCTION no() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'no'; END $$; "
                "CREATE TRIGGER no_outbox BEFORE INSERT ON notifications "
                "FOR EACH ROW EXECUTE FUNCTION no();");
    sy_err_t err = {0};
    assert_true(kill_switch(f, true, &err) < 0);
    assert_false(sy_engine_kill_switch_engaged(f->eng, f->who.workspace, NULL, 0));
    assert_outbox(f, "[]");
    /* nor is it audited */
    sy_store_audit_query_t q = {
        .workspace = f->who.workspace, .action = "killswitch.engage", .limit = 10};
    json_t *events = json_array();
    assert_int_equal(sy_engine_audit_list(f->eng, &f->who, &q, sy_audit_json_add, events, NULL), 0);
    assert_int_equal(json_array_size(events), 0);
    json_decref(events);
    fx_sql_exec(fx_uri, "DROP TRIGGER no_outbox", "DROP TRIGGER no_outbox ON notifications");
    /* and then it works, with its notification */
    assert_int_equal(kill_switch(f, true, &err), 0);
    assert_true(sy_engine_kill_switch_engaged(f->eng, f->who.workspace, NULL, 0));
    assert_outbox(f, "[[1,\"kill_switch\",\"critical\",\"trigger\"]]");
}

static void a_trigger_and_its_resolve_in_one_millisecond_are_two(void **state)
{
    struct fixture *f = *state;
    add_channel(f, HOOK);
    assert_int_equal(kill_switch(f, true, NULL), 0);
    assert_int_equal(kill_switch(f, false, NULL), 0); /* the fake clock has not moved */
    assert_outbox(f, "[[1,\"kill_switch\",\"critical\",\"trigger\"],"
                     "[1,\"kill_switch\",\"critical\",\"resolve\"]]");
}

static void kpi_done(void *arg, int rc, const sy_ingest_result_t *r, const sy_err_t *err)
{
    (void)r;
    (void)err;
    *(int *)arg = rc;
}

/* KPI events through their group commit, or a regression policy. */
static void post(struct fixture *f, const char *what, const char *body_text)
{
    json_t *body = parse(body_text), *out = NULL;
    sy_err_t err = {0};
    int rc, done = 1; /* not answered yet */
    if (strcmp(what, "kpi") == 0) {
        sy_kpi_batch_t b = {0};
        rc = sy_kpi_batch_read(body, &b, &err);
        if (rc == 0)
            rc = sy_engine_kpi_submit(f->eng, &f->who, b.ev, b.n, b.listed, kpi_done, &done, &err);
        sy_engine_events_commit(f->eng); /* answered: the events are the test's again */
        sy_kpi_batch_free(&b);
        if (rc == 0)
            rc = done;
    } else {
        sy_regression_policy_change_t change = {0};
        sy_regression_policy_t p;
        rc = sy_schema_read(&sy_regression_policy_change_schema, body, &change, "", &err);
        if (rc == 0)
            rc = sy_engine_regression_policy_put(f->eng, &f->who, &change, &p, &err);
    }
    if (rc != 0)
        fail_msg("%s: %s (%s)", what, err.msg, err.field);
    json_decref(body);
    json_decref(out);
}

/* `n` KPI events of WHOLESALE/contract_rate, one in `every` a failure. */
static void kpi(struct fixture *f, int n, int every)
{
    size_t cap = (size_t)n * 96 + 32, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, "{\"events\":[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len,
                                "%s{\"domain\":\"WHOLESALE\",\"metric\":\"contract_rate\","
                                "\"actor\":\"app\",\"success\":%s}",
                                i ? "," : "", i % every == every - 1 ? "false" : "true");
    snprintf(text + len, cap - len, "]}");
    post(f, "kpi", text);
    free(text);
}

static void a_throttle_and_its_reset_tell_four_things(void **state)
{
    struct fixture *f = *state;
    add_channel(f, HOOK);
    /* Slack for warnings only; PagerDuty for the tripwire alone; a disabled webhook */
    add_channel(f, "{\"type\":\"slack\",\"url\":\"https://h.test/x\",\"levels\":[\"warning\"]}");
    add_channel(f, "{\"type\":\"pagerduty\",\"routing_key\":\"k\",\"events\":[\"tripwire\"]}");
    add_channel(f, "{\"type\":\"webhook\",\"url\":\"http://127.0.0.1:9/\","
                   "\"secret\":\"0123456789abcdef\",\"enabled\":false}");
    post(f, "policy",
         "{\"domain\":\"WHOLESALE\",\"metric\":\"contract_rate\",\"enabled\":true,"
         "\"reason\":\"watch\"}");
    kpi(f, 200, 20); /* 95 % */
    kpi(f, 50, 2);   /* 50 %: a drop of about 47 %, past the 20 % threshold */
    sy_tripwire_state_t *st = NULL;
    size_t n = 0;
    assert_int_equal(
        sy_engine_regression_evaluate(f->eng, &f->who, "WHOLESALE", "contract_rate", &st, &n, NULL),
        0);
    assert_int_equal(n, 1);
    assert_true(st[0].triggered);
    free(st);
    assert_outbox(f, "[[1,\"tripwire\",\"critical\",\"trigger\"],"
                     "[3,\"tripwire\",\"critical\",\"trigger\"],"
                     "[1,\"throttle\",\"warning\",\"trigger\"],"
                     "[2,\"throttle\",\"warning\",\"trigger\"]]");
    /* the reset, in the same millisecond: both resolved, nothing dropped as a duplicate */
    post(f, "policy",
         "{\"domain\":\"WHOLESALE\",\"metric\":\"contract_rate\",\"enabled\":true,"
         "\"reason\":\"fixed\"}");
    assert_outbox(f, "[[1,\"tripwire\",\"critical\",\"trigger\"],"
                     "[3,\"tripwire\",\"critical\",\"trigger\"],"
                     "[1,\"throttle\",\"warning\",\"trigger\"],"
                     "[2,\"throttle\",\"warning\",\"trigger\"],"
                     "[1,\"tripwire\",\"critical\",\"resolve\"],"
                     "[3,\"tripwire\",\"critical\",\"resolve\"],"
                     "[1,\"throttle\",\"warning\",\"resolve\"],"
                     "[2,\"throttle\",\"warning\",\"resolve\"]]");
}

static int woken;
static void wake(void *arg)
{
    (void)arg;
    woken++;
}

/* One tick of the engine's timers, its report dropped. */
static void tick(sy_engine_t *eng)
{
    sy_tick_report_t t;
    sy_engine_tick(eng, &t);
    sy_tick_report_free(&t);
}

static void the_notifier_is_woken_after_the_tick(void **state)
{
    struct fixture *f = *state;
    sy_engine_on_notification(f->eng, wake, NULL);
    woken = 0;
    assert_int_equal(kill_switch(f, true, NULL), 0); /* no channel: nothing queued */
    tick(f->eng);
    assert_int_equal(woken, 0);
    add_channel(f, HOOK);
    assert_int_equal(kill_switch(f, false, NULL), 0);
    assert_int_equal(woken, 0); /* not before the tick: the commit may not be done */
    tick(f->eng);
    assert_int_equal(woken, 1);
    tick(f->eng);
    assert_int_equal(woken, 1); /* once per queueing */
    sy_engine_on_notification(f->eng, NULL, NULL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_change_whose_notification_fails_does_not_happen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_trigger_and_its_resolve_in_one_millisecond_are_two, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_throttle_and_its_reset_tell_four_things, setup, teardown),
        cmocka_unit_test_setup_teardown(the_notifier_is_woken_after_the_tick, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
