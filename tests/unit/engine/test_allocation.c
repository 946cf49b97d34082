/* test_allocation.c - traffic steps in the engine on a fake clock: the seed's 60 -> 80 ->
 * 100 served by the flag's split, the cooldown at 23:59 and 24:00, the third change of a
 * day in one workspace, the daily limit reset 24 hours after the last change (not at UTC
 * midnight), the newest 10 changes in the allocation, a retried evaluation applied once, promotion
 * and rollback with their history and audit, a failed step that changes nothing, and a reopen that
 * keeps the allocation and its rate-limit memory. */
#define _DEFAULT_SOURCE

#include "codec/api_json.h"
#include "codec/monitor_json.h"
#include "fixture.h"
#include "flags_json.h"
#include "results_adapt.h"

#define HOUR_MS 3600000

static const char *const def60 = "{\"key\":\"e\",\"variants\":[{\"key\":\"a\",\"weight\":60},"
                                 "{\"key\":\"b\",\"weight\":40,\"control\":true}]}";

/* The same, its health judged on windows of 100 samples (the default is 1,000). */
static const char *const def60_watch =
    "{\"key\":\"e\",\"health\":{\"min_events\":100},"
    "\"variants\":[{\"key\":\"a\",\"weight\":60},{\"key\":\"b\",\"weight\":40,\"control\":true}]}";

static int apply(struct fixture *f, const char *key, const char *winner, double conf,
                 const char *evaluation_id, json_t **out, sy_err_t *err)
{
    json_t *body =
        json_pack("{sssfsf}", "winning_variant", winner, "confidence", conf, "delta", 5.2);
    if (evaluation_id)
        json_object_set_new(body, "evaluation_id", json_string(evaluation_id));
    *out = NULL;
    int rc = apply_json(f->eng, &f->who, key, body, out, err);
    json_decref(body);
    return rc;
}

static json_int_t weight_of(json_t *o, const char *variant)
{
    return json_integer_value(json_object_get(json_object_get(o, "weights"), variant));
}

/* The flag's split as OFREP and the library serve it. */
static json_int_t split_of(struct fixture *f, const char *flag, const char *variant)
{
    json_t *def = NULL;
    assert_int_equal(flag_get_json(f->eng, &f->who, flag, &def, NULL), 0);
    json_t *frac = json_object_get(json_object_get(def, "targeting"), "fractional");
    json_int_t w = -1;
    size_t i;
    json_t *pair;
    json_array_foreach(frac, i, pair)
    {
        if (strcmp(json_string_value(json_array_get(pair, 0)), variant) == 0)
            w = json_integer_value(json_array_get(pair, 1));
    }
    json_decref(def);
    return w;
}

/* A split an answer gave is the one the flag of `flag` serves, variant for variant. */
static void assert_split_equal(struct fixture *f, const char *flag, const sy_exp_split_t *s)
{
    assert_true(s->n >= 2);
    for (size_t i = 0; i < s->n; i++)
        assert_int_equal(split_of(f, flag, s->v[i].variant), s->v[i].weight);
}

static void the_seed_goes_60_80_100_and_the_flag_follows(void **state)
{
    struct fixture *f = *state;
    create_started(f, def60, "e");
    json_t *out;
    sy_err_t err = {0};
    assert_int_equal(apply(f, "e", "a", 0.97, NULL, &out, &err), 0);
    assert_int_equal(weight_of(out, "a"), 80);
    assert_string_equal(json_string_value(json_object_get(out, "state")), "promoting");
    json_decref(out);
    assert_int_equal(split_of(f, "e", "a"), 80);
    assert_int_equal(split_of(f, "e", "b"), 20);
    fake_ms += 24 * HOUR_MS;
    assert_int_equal(apply(f, "e", "a", 0.97, NULL, &out, &err), 0);
    assert_int_equal(weight_of(out, "a"), 100);
    assert_string_equal(json_string_value(json_object_get(out, "state")), "promoted");
    json_decref(out);
    assert_int_equal(split_of(f, "e", "b"), 0);
    /* promoted: no more steps */
    fake_ms += 24 * HOUR_MS;
    assert_int_equal(apply(f, "e", "a", 0.97, NULL, &out, &err), SY_ECONFLICT);
    assert_string_equal(err.field, "state");
    json_decref(out);
}

static void cooldown_at_23_59_and_24_00(void **state)
{
    struct fixture *f = *state;
    create_started(f, def60, "e");
    json_t *out;
    sy_err_t err = {0};
    assert_int_equal(apply(f, "e", "a", 0.97, NULL, &out, &err), 0);
    json_decref(out);
    fake_ms += 24 * HOUR_MS - 60000;
    assert_int_equal(apply(f, "e", "a", 0.97, NULL, &out, &err), SY_ECONFLICT);
    assert_string_equal(err.field, "cooldown");
    assert_false(json_is_true(json_object_get(out, "applied")));
    json_int_t next =
        json_integer_value(json_object_get(json_object_get(out, "rate_limit"), "next_allowed_ms"));
    assert_int_equal(next, fake_ms + 60000);
    json_decref(out);
    assert_int_equal(split_of(f, "e", "a"), 80); /* nothing moved */
    fake_ms += 60000;
    assert_int_equal(apply(f, "e", "a", 0.97, NULL, &out, &err), 0);
    json_decref(out);
}

static void the_third_change_of_a_day_in_the_workspace_is_refused(void **state)
{
    struct fixture *f = *state;
    fake_ms = 1700006400000; /* 00:00 UTC */
    const char *tmpl = "{\"key\":\"%s\",\"variants\":[{\"key\":\"a\",\"weight\":60},"
                       "{\"key\":\"b\",\"weight\":40,\"control\":true}]}";
    char text[256];
    const char *keys[] = {"e1", "e2", "e3"};
    for (int i = 0; i < 3; i++) {
        snprintf(text, sizeof(text), tmpl, keys[i]);
        create_started(f, text, keys[i]);
    }
    json_t *out;
    sy_err_t err = {0};
    assert_int_equal(apply(f, "e1", "a", 0.97, NULL, &out, &err), 0);
    json_decref(out);
    assert_int_equal(apply(f, "e2", "a", 0.97, NULL, &out, &err), 0);
    json_decref(out);
    assert_int_equal(apply(f, "e3", "a", 0.97, NULL, &out, &err), SY_ECONFLICT);
    assert_string_equal(err.field, "max_changes_per_day");
    json_int_t next =
        json_integer_value(json_object_get(json_object_get(out, "rate_limit"), "next_allowed_ms"));
    assert_int_equal(next, 1700006400000 + 24 * HOUR_MS); /* tomorrow */
    json_decref(out);
    fake_ms = 1700006400000 + 24 * HOUR_MS; /* a new day */
    assert_int_equal(apply(f, "e3", "a", 0.97, NULL, &out, &err), 0);
    json_decref(out);
}

static json_int_t rate_limit_of(const json_t *o, const char *field)
{
    return json_integer_value(json_object_get(json_object_get(o, "rate_limit"), field));
}

/* The daily limit resets 24 hours after the workspace's last change, not at UTC midnight:
 * two steps at 23:00 and 23:30 UTC, and a third experiment is refused at 00:30 (a new UTC
 * day) and at 23:29:59 the next evening, then allowed at 23:30:00. A reopen counts the same. */
static void the_daily_limit_resets_24_hours_after_the_last_change(void **state)
{
    struct fixture *f = *state;
    const int64_t evening = 1700002800000; /* 23:00 UTC */
    fake_ms = evening;
    const char *tmpl = "{\"key\":\"%s\",\"variants\":[{\"key\":\"a\",\"weight\":60},"
                       "{\"key\":\"b\",\"weight\":40,\"control\":true}]}";
    char text[256];
    const char *keys[] = {"e1", "e2", "e3"};
    for (int i = 0; i < 3; i++) {
        snprintf(text, sizeof(text), tmpl, keys[i]);
        create_started(f, text, keys[i]);
    }
    json_t *out;
    sy_err_t err = {0};
    assert_int_equal(apply(f, "e1", "a", 0.97, NULL, &out, &err), 0);
    json_decref(out);
    fake_ms = evening + HOUR_MS / 2;
    assert_int_equal(apply(f, "e2", "a", 0.97, NULL, &out, &err), 0);
    assert_int_equal(rate_limit_of(out, "changes_today"), 2);
    json_decref(out);
    const int64_t resets = evening + HOUR_MS / 2 + 24 * HOUR_MS;
    fake_ms = evening + HOUR_MS + HOUR_MS / 2; /* 00:30 UTC: a new day, the same count */
    assert_int_equal(apply(f, "e3", "a", 0.97, NULL, &out, &err), SY_ECONFLICT);
    assert_string_equal(err.field, "max_changes_per_day");
    assert_int_equal(rate_limit_of(out, "changes_today"), 2);
    assert_int_equal(rate_limit_of(out, "resets_at_ms"), resets);
    assert_int_equal(rate_limit_of(out, "next_allowed_ms"), resets);
    json_decref(out);
    assert_int_equal(split_of(f, "e3", "a"), 60);
    sy_engine_close(f->eng);
    f->eng = open_engine();
    fake_ms = resets - 1000; /* 23:59:59 after the last change */
    assert_int_equal(apply(f, "e3", "a", 0.97, NULL, &out, &err), SY_ECONFLICT);
    assert_string_equal(err.field, "max_changes_per_day");
    json_decref(out);
    json_t *a = NULL;
    assert_int_equal(allocation_json(f->eng, &f->who, "e3", &a, NULL), 0);
    assert_int_equal(rate_limit_of(a, "changes_today"), 2);
    assert_int_equal(rate_limit_of(a, "next_allowed_ms"), resets);
    json_decref(a);
    fake_ms = resets; /* 24:00:00 after */
    assert_int_equal(allocation_json(f->eng, &f->who, "e3", &a, NULL), 0);
    assert_int_equal(rate_limit_of(a, "changes_today"), 0);
    assert_true(json_is_null(json_object_get(json_object_get(a, "rate_limit"), "resets_at_ms")));
    json_decref(a);
    assert_int_equal(apply(f, "e3", "a", 0.97, NULL, &out, &err), 0);
    assert_int_equal(rate_limit_of(out, "changes_today"), 1);
    json_decref(out);
    assert_int_equal(split_of(f, "e3", "a"), 80);
}

/* The allocation carries the newest history_limit (10) changes, oldest first; the history
 * endpoint all of them. */
static void the_allocation_carries_the_newest_10_changes(void **state)
{
    struct fixture *f = *state;
    create_started(f,
                   "{\"key\":\"e\",\"allocation\":{\"cooldown_hours\":0,\"max_step_pct\":1,"
                   "\"max_changes_per_day\":100},\"variants\":[{\"key\":\"a\",\"weight\":60},"
                   "{\"key\":\"b\",\"weight\":40,\"control\":true}]}",
                   "e");
    json_t *out;
    sy_err_t err = {0};
    for (int i = 0; i < 12; i++) {
        assert_int_equal(apply(f, "e", "a", 0.97, NULL, &out, &err), 0);
        json_decref(out);
        fake_ms += 1000;
    }
    json_t *a = NULL, *h = NULL;
    assert_int_equal(allocation_json(f->eng, &f->who, "e", &a, NULL), 0);
    assert_int_equal(rate_limit_of(a, "history_limit"), 10);
    json_t *rows = json_object_get(a, "history");
    assert_int_equal(json_array_size(rows), 10);
    assert_int_equal(weight_of(a, "a"), 72);
    /* the oldest kept is the third step (62 -> 63), the last the newest (71 -> 72) */
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(json_array_get(rows, 0), "after"), "a")),
        63);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(json_array_get(rows, 9), "after"), "a")),
        72);
    assert_int_equal(history_json(f->eng, &f->who, "e", &h, NULL), 0);
    assert_int_equal(json_array_size(json_object_get(h, "history")), 12);
    json_decref(a);
    json_decref(h);
}

static void a_retried_evaluation_is_applied_once(void **state)
{
    struct fixture *f = *state;
    create_started(f,
                   "{\"key\":\"e\",\"allocation\":{\"cooldown_hours\":0},"
                   "\"variants\":[{\"key\":\"a\",\"weight\":60},"
                   "{\"key\":\"b\",\"weight\":40,\"control\":true}]}",
                   "e");
    json_t *out;
    sy_err_t err = {0};
    assert_int_equal(apply(f, "e", "a", 0.97, "eval-1", &out, &err), 0);
    json_decref(out);
    assert_int_equal(apply(f, "e", "a", 0.97, "eval-1", &out, &err), 0);
    assert_true(json_is_true(json_object_get(out, "duplicate")));
    assert_int_equal(weight_of(out, "a"), 80);
    json_decref(out);
    json_t *h = NULL;
    assert_int_equal(history_json(f->eng, &f->who, "e", &h, NULL), 0);
    assert_int_equal(json_array_size(json_object_get(h, "history")), 1);
    json_decref(h);
}

static void promote_and_rollback_are_in_the_history_and_audit(void **state)
{
    struct fixture *f = *state;
    create_started(f, def60, "e");
    json_t *out = NULL, *body = json_pack("{sssss{ss}}", "variant", "a", "promoted_by", "ops",
                                          "metadata", "ticket", "CH-12");
    sy_err_t err = {0};
    assert_int_equal(promote_json(f->eng, &f->who, "e", body, &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "state")), "promoted");
    json_decref(out);
    assert_int_equal(promote_json(f->eng, &f->who, "e", body, &out, &err),
                     SY_ECONFLICT); /* one promotion at a time */
    json_decref(body);
    assert_int_equal(split_of(f, "e", "a"), 100);
    body = json_pack("{ssss}", "reason", "p95 over 300 ms", "rolled_back_by", "pager");
    assert_int_equal(rollback_json(f->eng, &f->who, "e", body, &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "state")), "rolled_back");
    json_decref(out);
    json_decref(body);
    assert_int_equal(split_of(f, "e", "b"), 100); /* all to control */
    json_t *h = NULL;
    assert_int_equal(history_json(f->eng, &f->who, "e", &h, NULL), 0);
    json_t *list = json_object_get(h, "history");
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "action")),
                        "promote");
    json_t *rb = json_array_get(list, 1);
    assert_string_equal(json_string_value(json_object_get(rb, "action")), "rollback");
    assert_string_equal(json_string_value(json_object_get(json_object_get(rb, "detail"), "reason")),
                        "p95 over 300 ms");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(rb, "before"), "a")), 100);
    json_decref(h);
    sy_store_audit_query_t q = {.resource = "experiment:e", .limit = 10};
    json_t *events = json_array();
    assert_int_equal(sy_engine_audit_list(f->eng, &f->who, &q, sy_audit_json_add, events, NULL), 0);
    const char *want[] = {"experiment.rollback", "experiment.promote", "experiment.start",
                          "experiment.create"};
    assert_int_equal(json_array_size(events), 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(events, i), "action")),
                            want[i]);
    json_decref(events);
}

static void a_failed_step_changes_nothing(void **state)
{
    struct fixture *f = *state;
    create_started(f, def60, "e");
    fx_sql_exec(fx_uri,
                "CREATE TRIGGER no_changes BEFORE INSERT ON allocation_changes "
                "BEGIN SELECT RAISE(ABORT, 'no'); END;",
                "CREATE FUNCTION no() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'no'; END $$; "
                "CREATE TRIGGER no_changes BEFORE INSERT ON allocation_changes "
                "FOR EACH ROW EXECUTE FUNCTION no();");
    json_t *out;
    sy_err_t err = {0};
    assert_true(apply(f, "e", "a", 0.97, NULL, &out, &err) < 0);
    json_decref(out);
    assert_int_equal(split_of(f, "e", "a"), 60);
    json_t *a = NULL;
    assert_int_equal(allocation_json(f->eng, &f->who, "e", &a, NULL), 0);
    assert_int_equal(weight_of(a, "a"), 60);
    assert_string_equal(json_string_value(json_object_get(a, "state")), "running");
    assert_true(json_is_null(json_object_get(json_object_get(a, "rate_limit"), "last_change_ms")));
    json_decref(a);
    fx_sql_exec(fx_uri, "DROP TRIGGER no_changes", "DROP TRIGGER no_changes ON allocation_changes");
    assert_int_equal(apply(f, "e", "a", 0.97, NULL, &out, &err), 0); /* and then it works */
    json_decref(out);
}

static void a_reopen_keeps_the_allocation_and_its_limits(void **state)
{
    struct fixture *f = *state;
    create_started(f, def60, "e");
    json_t *out;
    sy_err_t err = {0};
    assert_int_equal(apply(f, "e", "a", 0.97, NULL, &out, &err), 0);
    json_decref(out);
    sy_engine_close(f->eng);
    f->eng = open_engine();
    json_t *a = NULL;
    assert_int_equal(allocation_json(f->eng, &f->who, "e", &a, NULL), 0);
    assert_int_equal(weight_of(a, "a"), 80);
    assert_string_equal(json_string_value(json_object_get(a, "state")), "promoting");
    json_decref(a);
    fake_ms += HOUR_MS; /* the cooldown is remembered */
    assert_int_equal(apply(f, "e", "a", 0.97, NULL, &out, &err), SY_ECONFLICT);
    assert_string_equal(err.field, "cooldown");
    json_decref(out);
}

static void on_done(void *arg, int rc, const sy_ingest_result_t *r, const sy_err_t *err)
{
    (void)r;
    (void)err;
    *(int *)arg = rc;
}

/* `n` new units, the first `n_a` exposed to "a" and the rest to "b". */
static void expose(struct fixture *f, int first, int n, int n_a)
{
    char(*units)[16] = calloc((size_t)n, sizeof(*units));
    sy_event_t *ev = calloc((size_t)n, sizeof(*ev));
    for (int i = 0; i < n; i++) {
        snprintf(units[i], sizeof(units[i]), "u%d", first + i);
        ev[i] = (sy_event_t){.kind = SY_EVENT_EXPOSURE,
                             .experiment = "e",
                             .experiment_len = 1,
                             .unit = units[i],
                             .unit_len = strlen(units[i]),
                             .variant = i < n_a ? "a" : "b",
                             .variant_len = 1,
                             .success = -1};
    }
    int rc = -1;
    assert_int_equal(sy_engine_events_submit(f->eng, &f->who, ev, (size_t)n, on_done, &rc, NULL),
                     0);
    sy_engine_events_commit(f->eng);
    assert_int_equal(rc, 0);
    free(units);
    free(ev);
}

/* A webhook channel taking everything, so that every notification is queued. */
static void channel(struct fixture *f)
{
    const sy_channel_spec_t spec = {
        .type = "webhook", .url = "http://127.0.0.1:9/", .secret = "0123456789abcdef"};
    sy_channel_t ch;
    sy_err_t err = {0};
    if (sy_engine_channel_create(f->eng, &f->who, &spec, &ch, &err) < 0)
        fail_msg("channel: %s", err.msg);
}

/* How many notifications of `event` the outbox holds, and the level of the newest. */
static size_t queued(struct fixture *f, const char *event, const char **level)
{
    static char last[16];
    sy_store_notification_query_t q = {.limit = 1000};
    json_t *list = json_array(), *out;
    sy_notification_counts_t counts;
    assert_int_equal(
        sy_engine_notifications(f->eng, &f->who, &q, sy_notification_json_add, list, &counts, NULL),
        0);
    out = sy_notifications_json(list, &counts);
    size_t i, n = 0;
    json_t *d;
    json_array_foreach(json_object_get(out, "notifications"), i, d)
    {
        if (strcmp(json_string_value(json_object_get(d, "event")), event) == 0) {
            if (n++ == 0)
                snprintf(last, sizeof(last), "%s", json_string_value(json_object_get(d, "level")));
        }
    }
    json_decref(out);
    if (level)
        *level = n ? last : NULL;
    return n;
}

static bool srm_mismatch(struct fixture *f)
{
    json_t *r = NULL;
    assert_int_equal(results_json(f->eng, &f->who, "e", &r, NULL), 0);
    bool m = json_is_true(json_object_get(json_object_get(r, "srm"), "mismatch"));
    json_decref(r);
    return m;
}

static void srm_counts_each_period_with_its_own_weights(void **state)
{
    struct fixture *f = *state;
    create_started(f, def60, "e");
    expose(f, 0, 1000, 600); /* 60/40, as assigned */
    assert_false(srm_mismatch(f));
    json_t *out;
    assert_int_equal(apply(f, "e", "a", 0.97, NULL, &out, NULL), 0);
    json_decref(out);
    /* the first minutes after a step are left out: units evaluated by the old split are
     * still reporting their exposures; 60/40 then does not count against 80/20 */
    expose(f, 5000, 600, 360);
    assert_false(srm_mismatch(f));
    fake_ms += SY_EXP_SRM_GRACE_MS;
    expose(f, 1000, 1000, 800); /* 80/20 from then on */
    /* against today's 80/20 alone, all the units would be a glaring mismatch */
    assert_false(srm_mismatch(f));
    expose(f, 2000, 1000, 500); /* 50/50 while 80/20 is served: broken assignment */
    assert_true(srm_mismatch(f));
    /* the check notices it: one warning, however often it looks */
    channel(f);
    const char *level;
    for (int k = 0; k < 2; k++) {
        sy_auto_report_t r;
        assert_int_equal(sy_engine_auto_promotion_check(f->eng, &f->who, 1, &r, NULL), 0);
        free(r.v);
    }
    assert_int_equal(queued(f, "srm", &level), 1);
    assert_string_equal(level, "warning");
    /* and it survives a reopen (the units of each period are kept with the changes) */
    sy_engine_close(f->eng);
    f->eng = open_engine();
    assert_true(srm_mismatch(f));
}

/* 6,000 units per variant, 10 % against 12.5 % conversion: "a" wins clearly. */
static void winning_traffic(struct fixture *f)
{
    enum { N = 12000 };
    char(*units)[16] = calloc(N, sizeof(*units));
    sy_event_t *ev = calloc(2 * N, sizeof(*ev));
    size_t n = 0;
    for (int i = 0; i < N; i++) {
        bool a = i % 2 == 0;
        snprintf(units[i], sizeof(units[i]), "w%d", i);
        sy_event_t x = {.kind = SY_EVENT_EXPOSURE,
                        .experiment = "e",
                        .experiment_len = 1,
                        .unit = units[i],
                        .unit_len = strlen(units[i]),
                        .variant = a ? "a" : "b",
                        .variant_len = 1,
                        .success = -1};
        ev[n++] = x;
        if ((a && (i / 2) % 8 == 0) || (!a && (i / 2) % 10 == 0)) {
            x.kind = SY_EVENT_OUTCOME;
            x.variant = NULL;
            x.variant_len = 0;
            x.success = 1;
            ev[n++] = x;
        }
    }
    for (size_t off = 0; off < n; off += SY_EVENTS_MAX) {
        int rc = -1;
        size_t k = n - off < SY_EVENTS_MAX ? n - off : SY_EVENTS_MAX;
        assert_int_equal(sy_engine_events_submit(f->eng, &f->who, ev + off, k, on_done, &rc, NULL),
                         0);
        sy_engine_events_commit(f->eng);
        assert_int_equal(rc, 0);
    }
    free(units);
    free(ev);
}

static sy_auto_action_t action_of(const sy_auto_report_t *report)
{
    assert_true(report->n >= 1);
    return report->v[0].action;
}

/* One tick of the engine's timers: its report, the caller's to free. */
static sy_tick_report_t tick(struct fixture *f)
{
    sy_tick_report_t t;
    sy_engine_tick(f->eng, &t);
    return t;
}

/* One tick, its report dropped. */
static void tick_dropped(struct fixture *f)
{
    sy_tick_report_t t = tick(f);
    sy_tick_report_free(&t);
}

/* Whether a tick did nothing: no rollback, no check, no trip. */
static bool idle(sy_tick_report_t t)
{
    bool none = !t.n_rollbacks && !t.checked && !t.n_tripped && !t.lost;
    sy_tick_report_free(&t);
    return none;
}

static void auto_promotion_steps_a_winner_and_only_reports_the_rest(void **state)
{
    struct fixture *f = *state;
    create_started(
        f,
        "{\"key\":\"e\",\"safety\":{\"min_runtime_hours\":0},\"variants\":"
        "[{\"key\":\"a\",\"weight\":50},{\"key\":\"b\",\"weight\":50,\"control\":true}]}",
        "e");
    sy_auto_report_t r;
    assert_int_equal(sy_engine_auto_promotion_check(f->eng, &f->who, 0, &r, NULL), 0);
    assert_int_equal(action_of(&r), SY_AUTO_NONE); /* no data, no winner */
    assert_false(r.v[0].has_winner);
    free(r.v);
    winning_traffic(f);
    assert_int_equal(sy_engine_auto_promotion_check(f->eng, &f->who, 1, &r, NULL), 0);
    assert_int_equal(action_of(&r), SY_AUTO_WOULD_STEP);
    assert_true(r.dry_run);
    assert_string_equal(r.v[0].winner, "a");
    assert_false(r.v[0].has_split);
    free(r.v);
    assert_int_equal(split_of(f, "e", "a"), 50); /* a dry run moves nothing */
    /* the timer: nothing before its interval, a step at it */
    sy_engine_timers_t t = {.auto_promotion_ms = HOUR_MS};
    sy_engine_set_timers(f->eng, &t);
    fake_ms += HOUR_MS - 1;
    assert_true(idle(tick(f)));
    fake_ms += 1;
    sy_tick_report_t done = tick(f);
    assert_true(done.checked);
    assert_int_equal(action_of(&done.auto_promotion), SY_AUTO_STEP);
    const sy_auto_outcome_t *first = &done.auto_promotion.v[0];
    assert_true(first->has_split);
    assert_string_equal(first->state, "promoting");
    assert_string_equal(first->split.v[0].variant, "a");
    assert_int_equal(first->split.v[0].weight, 70);
    assert_int_equal(first->split.v[1].weight, 30);
    sy_tick_report_free(&done);
    assert_int_equal(split_of(f, "e", "a"), 70);
    /* the next check within the cooldown is refused by it, and says so */
    fake_ms += HOUR_MS;
    done = tick(f);
    first = &done.auto_promotion.v[0];
    assert_int_equal(first->action, SY_AUTO_REFUSED);
    assert_true(first->has_refused_by && first->has_message);
    assert_string_equal(first->refused_by, "cooldown");
    sy_tick_report_free(&done);
    /* the history says the system did it */
    json_t *h = NULL;
    assert_int_equal(history_json(f->eng, &f->who, "e", &h, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(h, "history"), 0), "actor")),
                        "system");
    json_decref(h);
}

static void manual_approval_is_only_reported(void **state)
{
    struct fixture *f = *state;
    channel(f);
    create_started(f,
                   "{\"key\":\"e\",\"safety\":{\"min_runtime_hours\":0,"
                   "\"require_manual_approval\":true},\"variants\":[{\"key\":\"a\",\"weight\":50},"
                   "{\"key\":\"b\",\"weight\":50,\"control\":true}]}",
                   "e");
    winning_traffic(f);
    sy_auto_report_t r;
    assert_int_equal(sy_engine_auto_promotion_check(f->eng, NULL, 0, &r, NULL), 0);
    assert_int_equal(action_of(&r), SY_AUTO_AWAITING_APPROVAL);
    free(r.v);
    assert_int_equal(split_of(f, "e", "a"), 50);
    /* people hear of it once (info), however often the check sees it again */
    const char *level;
    assert_int_equal(queued(f, "awaiting_approval", &level), 1);
    assert_string_equal(level, "info");
    fake_ms += HOUR_MS;
    assert_int_equal(sy_engine_auto_promotion_check(f->eng, NULL, 0, &r, NULL), 0);
    free(r.v);
    assert_int_equal(queued(f, "awaiting_approval", NULL), 1);
    assert_int_equal(queued(f, "promotion", NULL) + queued(f, "promotion_warning", NULL), 0);
}

/* Whether the i-th of a run is one of its `pct` %: spread evenly, so any stretch of the run
 * holds the share. */
static bool spread(int i, int pct)
{
    return (i + 1) * pct / 100 > i * pct / 100;
}

/* `n` requests of variant `v` in the current window: exposures of new units, outcomes with
 * `success_pct` % successes, `error_pct` % errors, latencies of `ms`. */
static void requests(struct fixture *f, const char *v, int first, int n, int success_pct,
                     int error_pct, double ms)
{
    char(*units)[16] = calloc((size_t)n, sizeof(*units));
    sy_event_t *ev = calloc(3 * (size_t)n, sizeof(*ev));
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        snprintf(units[i], sizeof(units[i]), "r%d", first + i);
        sy_event_t x = {.experiment = "e",
                        .experiment_len = 1,
                        .unit = units[i],
                        .unit_len = strlen(units[i]),
                        .success = -1};
        ev[k] = x;
        ev[k].kind = SY_EVENT_EXPOSURE;
        ev[k].variant = v;
        ev[k++].variant_len = strlen(v);
        ev[k] = x;
        ev[k].kind = SY_EVENT_OUTCOME;
        ev[k].success = spread(i, success_pct);
        ev[k].has_latency = true;
        ev[k++].latency_ms = ms;
        if (spread(i, error_pct)) {
            ev[k] = x;
            ev[k++].kind = SY_EVENT_ERROR;
        }
    }
    int rc = -1;
    assert_int_equal(sy_engine_events_submit(f->eng, &f->who, ev, k, on_done, &rc, NULL), 0);
    sy_engine_events_commit(f->eng);
    assert_int_equal(rc, 0);
    free(units);
    free(ev);
}

/* What the monitor sees of "e", after `push` when one is given. */
static sy_exp_health_t health(struct fixture *f, const sy_health_push_t *push)
{
    sy_exp_health_t out;
    sy_err_t err = {0};
    if (sy_engine_experiment_health(f->eng, &f->who, "e", push, &out, &err) < 0)
        fail_msg("health: %s (%s)", err.msg, err.field);
    return out;
}

static bool due(const sy_exp_health_t *h)
{
    return h->health.rollback_due;
}

static void the_seed_health_rule_on_pushed_health(void **state)
{
    struct fixture *f = *state;
    create_started(f, def60_watch, "e");
    requests(f, "a", 0, 1000, 94, 2, 100); /* the baseline: 0.94 success, 0.02 errors */
    sy_exp_health_t h = health(f, NULL);   /* nothing watched yet: no look */
    assert_int_equal(h.health.look, 0);
    assert_false(h.health.has_watched);
    assert_string_equal(h.experiment, "e");
    assert_string_equal(h.state, "running");
    json_t *out;
    assert_int_equal(apply(f, "e", "a", 0.97, NULL, &out, NULL), 0);
    json_decref(out);
    h = health(f, NULL);
    assert_true(h.health.has_baseline);
    assert_close(h.health.baseline.success_rate, 0.94, 1e-12, 0);
    assert_close(h.health.baseline.error_rate, 0.02, 1e-12, 0);
    assert_true(h.health.has_watched);
    assert_string_equal(h.health.watched, "a");
    assert_int_equal(h.health.source, SY_HEALTH_FROM_EVENTS);
    /* 0.02 -> 0.05 alone is 3 points: on the line, no rollback */
    h = health(f, &(sy_health_push_t){.success_rate = 0.93, .error_rate = 0.05});
    assert_false(due(&h));
    assert_int_equal(h.health.source, SY_HEALTH_PUSHED);
    assert_true(h.health.has_current && !h.health.current.has_p95 &&
                !h.health.current.has_retry_rate);
    /* 0.94 -> 0.88 is 6 points: due, and the monitor's next tick rolls back */
    h = health(f, &(sy_health_push_t){.success_rate = 0.88, .error_rate = 0.05});
    assert_true(due(&h));
    assert_int_equal(h.health.reasons, SY_ROLLBACK_SUCCESS_RATE);
    sy_engine_timers_t t = {.health_ms = 1000};
    sy_engine_set_timers(f->eng, &t);
    fake_ms += 1000;
    sy_tick_report_t done = tick(f);
    assert_int_equal(done.n_rollbacks, 1);
    const sy_monitor_rollback_t *rb = &done.rollbacks[0];
    assert_true(rb->rolled_back);
    assert_string_equal(rb->experiment, "e");
    assert_string_equal(rb->reason, "health of a: success rate 0.94 -> 0.88 (drop 0.06 > 0.05)");
    assert_true(rb->has_split);
    assert_int_equal(rb->split.v[0].weight, 60);
    assert_split_equal(f, "e", &rb->split);
    assert_int_equal(split_of(f, "e", "a"), 60); /* the allocation before the step */
    json_t *a = NULL;
    assert_int_equal(allocation_json(f->eng, &f->who, "e", &a, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(a, "state")), "rolled_back");
    json_t *last = json_array_get(json_object_get(a, "history"), 1);
    assert_string_equal(json_string_value(json_object_get(last, "action")), "rollback");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(last, "detail"), "reason")),
        "health of a: success rate 0.94 -> 0.88 (drop 0.06 > 0.05)"); /* 0.03 is not > 0.03 */
    assert_string_equal(json_string_value(json_object_get(last, "actor")), "system");
    /* the history holds the health the monitor judged as the API writes a view */
    json_t *view = sy_health_view_json(&rb->health);
    assert_true(json_equal(json_object_get(json_object_get(last, "detail"), "health"), view));
    json_decref(view);
    sy_tick_report_free(&done);
    json_decref(a);
}

/* A channel for every notification; "e" stepped to 80 % for "a" on a baseline of 0.94
 * success and 0.01 errors, watched every second. */
static sy_engine_timers_t stepped_and_watched(struct fixture *f)
{
    channel(f);
    create_started(f, def60_watch, "e");
    requests(f, "a", 0, 1000, 94, 1, 100);
    json_t *out;
    assert_int_equal(apply(f, "e", "a", 0.97, NULL, &out, NULL), 0);
    json_decref(out);
    sy_engine_timers_t t = {.health_ms = 1000};
    sy_engine_set_timers(f->eng, &t);
    return t;
}

static void event_health_rolls_back_within_one_tick_and_survives_a_reopen(void **state)
{
    struct fixture *f = *state;
    sy_engine_timers_t t = stepped_and_watched(f);
    requests(f, "a", 1000, 30, 80, 1, 100); /* 60 samples: too few yet to judge */
    fake_ms += 1000;
    assert_true(idle(tick(f)));
    /* a reopen rebuilds the baseline and the window from the log */
    sy_engine_close(f->eng);
    f->eng = open_engine();
    sy_engine_set_timers(f->eng, &t);
    sy_exp_health_t h = health(f, NULL);
    assert_close(h.health.baseline.success_rate, 0.94, 1e-12, 0);
    assert_false(h.health.has_current);
    requests(f, "a", 1030, 100, 80, 1, 100); /* 130 at 0.8: 14 points down */
    fake_ms += 1000;
    sy_tick_report_t done = tick(f);
    assert_int_equal(done.n_rollbacks, 1);
    assert_true(done.rollbacks[0].rolled_back);
    sy_tick_report_free(&done);
    assert_int_equal(split_of(f, "e", "a"), 60);
    /* the step (fixed-horizon: with a warning) and the rollback (critical) were told */
    const char *level;
    assert_int_equal(queued(f, "promotion_warning", &level), 1);
    assert_string_equal(level, "warning");
    assert_int_equal(queued(f, "rollback", &level), 1);
    assert_string_equal(level, "critical");
    assert_int_equal(queued(f, "health_warning", NULL), 0); /* past the threshold: a rollback */
}

static void a_degradation_short_of_a_rollback_warns_once(void **state)
{
    struct fixture *f = *state;
    (void)stepped_and_watched(f);
    const char *level;
    for (int k = 0; k < 2; k++) { /* 0.91: 3 points down, past half the 5-point threshold */
        requests(f, "a", 1000 + 200 * k, 200, 91, 1, 100);
        fake_ms += 1000;
        assert_true(idle(tick(f)));
        assert_int_equal(queued(f, "health_warning", &level), 1);
        assert_string_equal(level, "warning");
    }
    assert_int_equal(queued(f, "rollback", NULL), 0);
    assert_int_equal(split_of(f, "e", "a"), 80); /* the step stands */
}

static const sy_health_push_t *push_retry(sy_health_push_t *p, double retry_rate)
{
    *p = (sy_health_push_t){
        .success_rate = 0.94, .error_rate = 0.01, .has_retry_rate = true, .retry_rate = retry_rate};
    return p;
}

/* The retry rate pushed for "a" at 80 % becomes the baseline's at the next step; after it,
 * a rise of 3 points (past half the 5-point threshold) is a health warning, and one of 6
 * points rolls back at the monitor's next tick, the history naming the retry rate. */
static void retries_pushed_before_a_step_are_its_baseline(void **state)
{
    struct fixture *f = *state;
    (void)stepped_and_watched(f);
    sy_health_push_t p;
    (void)health(f, push_retry(&p, 0.02));
    requests(f, "a", 1000, 1000, 94, 1, 100); /* the window at 80 %: the next baseline */
    fake_ms += 24 * HOUR_MS;
    tick_dropped(f);
    json_t *out;
    assert_int_equal(apply(f, "e", "a", 0.97, NULL, &out, NULL), 0);
    json_decref(out);
    sy_exp_health_t h = health(f, NULL);
    assert_true(h.health.baseline.has_retry_rate);
    assert_close(h.health.baseline.retry_rate, 0.02, 0, 0);
    assert_close(h.health.baseline.success_rate, 0.94, 1e-12, 0);
    h = health(f, push_retry(&p, 0.05));
    assert_false(due(&h));
    fake_ms += 1000;
    tick_dropped(f);
    assert_int_equal(queued(f, "health_warning", NULL), 1);
    assert_int_equal(split_of(f, "e", "a"), 100);
    h = health(f, push_retry(&p, 0.08));
    assert_true(due(&h));
    assert_int_equal(h.health.reasons, SY_ROLLBACK_RETRY_RATE);
    json_t *written = sy_exp_health_json(&h),
           *reasons = json_object_get(json_object_get(written, "health"), "reasons");
    assert_int_equal(json_array_size(reasons), 1);
    assert_string_equal(json_string_value(json_array_get(reasons, 0)), "retry_rate_increase");
    json_decref(written);
    fake_ms += 1000;
    tick_dropped(f);
    assert_int_equal(split_of(f, "e", "a"), 80); /* the allocation before the last step */
    assert_int_equal(queued(f, "rollback", NULL), 1);
    json_t *a = NULL;
    assert_int_equal(allocation_json(f->eng, &f->who, "e", &a, NULL), 0);
    json_t *rows = json_object_get(a, "history");
    json_t *last = json_array_get(rows, json_array_size(rows) - 1);
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(last, "detail"), "reason")),
               "retry rate 0.02 -> 0.08 (rise 0.06 > 0.05)"));
    json_decref(a);
}

static void a_breach_is_judged_at_its_commit_but_once_per_interval(void **state)
{
    struct fixture *f = *state;
    create_started(f, def60_watch, "e");
    requests(f, "a", 0, 1000, 94, 1, 100);
    json_t *out;
    assert_int_equal(apply(f, "e", "a", 0.97, NULL, &out, NULL), 0);
    json_decref(out);
    sy_engine_timers_t t = {.health_ms = 1000};
    sy_engine_set_timers(f->eng, &t);
    requests(f, "a", 1000, 100, 94, 1, 100); /* healthy: judged at once, at its commit */
    fake_ms += 400;
    requests(f, "a", 1100, 300, 50, 1, 100); /* a breach 0.4 s later: not judged yet */
    assert_int_equal(split_of(f, "e", "a"), 80);
    fake_ms += 579;
    assert_true(idle(tick(f))); /* 0.979 s after the judgement */
    assert_int_equal(split_of(f, "e", "a"), 80);
    fake_ms += 1;
    sy_tick_report_t done = tick(f); /* an interval less 2 %: judged, rolled back */
    assert_int_equal(done.n_rollbacks, 1);
    sy_tick_report_free(&done);
    assert_int_equal(split_of(f, "e", "a"), 60);
}

static void a_breach_long_after_a_judgement_rolls_back_at_its_commit(void **state)
{
    struct fixture *f = *state;
    create_started(f, def60_watch, "e");
    requests(f, "a", 0, 1000, 94, 1, 100);
    json_t *out;
    assert_int_equal(apply(f, "e", "a", 0.97, NULL, &out, NULL), 0);
    json_decref(out);
    sy_engine_timers_t t = {.health_ms = 1000};
    sy_engine_set_timers(f->eng, &t);
    requests(f, "a", 1000, 300, 50, 1, 100); /* the commit itself rolls back */
    assert_int_equal(split_of(f, "e", "a"), 60);
    sy_tick_report_t done = tick(f); /* and the next tick reports it, to log */
    assert_int_equal(done.n_rollbacks, 1);
    assert_true(done.rollbacks[0].rolled_back);
    assert_split_equal(f, "e", &done.rollbacks[0].split);
    sy_tick_report_free(&done);
    assert_true(idle(tick(f))); /* reported once */
}

/* Six hours of one-second judgements into a watch (the 22,041st: a life-long z of 6.6 that
 * no window over a baseline of 1,000 can get under the threshold for), a collapse is
 * still rolled back at its commit. */
static void a_collapse_late_in_a_watch_rolls_back_at_once(void **state)
{
    struct fixture *f = *state;
    (void)stepped_and_watched(f);
    fake_ms += 6 * 3600 * 1000;
    sy_exp_health_t h = health(f, NULL);
    assert_int_equal(h.health.look, 6 * 3600 * 1000 / 980 + 1);
    requests(f, "a", 1000, 100, 0, 1, 100); /* nothing succeeds any more */
    assert_int_equal(split_of(f, "e", "a"), 60);
}

static json_t *power_of(struct fixture *f)
{
    json_t *r = NULL;
    assert_int_equal(results_json(f->eng, &f->who, "e", &r, NULL), 0);
    json_t *vs = json_object_get(json_array_get(json_object_get(r, "variants"), 0), "vs_control");
    json_t *o = json_pack("{sOsO}", "power", json_object_get(vs, "power"), "sample_needed",
                          json_object_get(vs, "sample_needed"));
    json_decref(r);
    return o;
}

/* Experiment "e" started (sequential, 100 units a variant), and 1,200 units of each variant
 * at 50 % success. */
static void sequential_with_traffic(struct fixture *f)
{
    create_started(f,
                   "{\"key\":\"e\",\"safety\":{\"min_runtime_hours\":0,"
                   "\"min_sample_per_variant\":100,\"sequential\":true},"
                   "\"variants\":[{\"key\":\"a\",\"weight\":50},"
                   "{\"key\":\"b\",\"weight\":50,\"control\":true}]}",
                   "e");
    requests(f, "b", 0, 1200, 50, 0, 100);
    requests(f, "a", 1200, 1200, 50, 0, 100);
}

/* The results' power comes from the data, not from when someone asked: a curve cached
 * while the rates were 0.5 is not what answers once they are 0.1, and a reopen (no cache)
 * gives the same figures. */
static void power_is_the_same_whoever_asked_before(void **state)
{
    struct fixture *f = *state;
    sequential_with_traffic(f);
    json_t *early = power_of(f); /* cached now */
    assert_true(json_is_number(json_object_get(early, "power")));
    requests(f, "b", 2400, 500, 10, 0, 100);
    requests(f, "a", 2900, 500, 10, 0, 100);
    json_t *late = power_of(f);
    sy_engine_close(f->eng);
    f->eng = open_engine();
    json_t *reopened = power_of(f);
    assert_true(json_equal(late, reopened));
    assert_false(json_equal(early, late));
    json_decref(early);
    json_decref(late);
    json_decref(reopened);
}

/* An engine on the table of curves engines opened one after another share (simulate's runs). */
static sy_engine_t *open_engine_sharing(sy_engine_curves_t *curves)
{
    sy_engine_opts_t o = {.db = fx_uri, .now_ms = fake_now, .curves = curves};
    sy_engine_t *eng;
    sy_err_t err = {0};
    if (sy_engine_open(&eng, &o, &err) < 0)
        fail_msg("open: %s", err.msg);
    return eng;
}

/* A curve taken from the shared table is the one the engine would have computed: engines
 * opened one after another on it (the first keeps its curve, the next takes it) give the
 * power of an engine without it, with room for many curves or for one. */
static void power_is_the_same_from_a_shared_table(void **state)
{
    struct fixture *f = *state;
    sequential_with_traffic(f);
    json_t *own = power_of(f);
    assert_true(json_is_number(json_object_get(own, "power")));
    sy_engine_curves_t *c;
    assert_int_equal(sy_engine_curves_create(&c, 0), -EINVAL);
    assert_null(c);
    for (size_t cap = 1; cap <= 64; cap *= 64) {
        assert_int_equal(sy_engine_curves_create(&c, cap), 0);
        for (int k = 0; k < 2; k++) {
            sy_engine_close(f->eng);
            f->eng = open_engine_sharing(c);
            json_t *shared = power_of(f);
            assert_true(json_equal(own, shared));
            json_decref(shared);
        }
        sy_engine_close(f->eng); /* the engine borrows the table: closed first */
        f->eng = open_engine();
        sy_engine_curves_free(c);
    }
    sy_engine_curves_free(NULL);
    json_decref(own);
}

static void p95_over_its_limit_rolls_back(void **state)
{
    struct fixture *f = *state;
    create_started(f,
                   "{\"key\":\"e\",\"health\":{\"max_p95_ms\":300,\"min_events\":50},"
                   "\"variants\":[{\"key\":\"a\",\"weight\":60},"
                   "{\"key\":\"b\",\"weight\":40,\"control\":true}]}",
                   "e");
    requests(f, "a", 0, 200, 90, 0, 120);
    json_t *out;
    assert_int_equal(apply(f, "e", "a", 0.97, NULL, &out, NULL), 0);
    json_decref(out);
    requests(f, "a", 200, 100, 90, 0, 250); /* p95 ~ 250 ms: fine */
    sy_exp_health_t h = health(f, NULL);
    assert_true(h.health.has_current && h.health.current.has_p95);
    double p95 = h.health.current.p95_ms;
    assert_true(p95 >= 250 && p95 < 250 * 1.1 + 1);
    assert_false(due(&h));
    requests(f, "a", 300, 200, 90, 0, 900); /* most of the window at 900 ms */
    h = health(f, NULL);
    assert_true(due(&h));
    assert_int_equal(h.health.reasons, SY_ROLLBACK_P95);
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(the_seed_goes_60_80_100_and_the_flag_follows, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(cooldown_at_23_59_and_24_00, setup, teardown),
        cmocka_unit_test_setup_teardown(the_third_change_of_a_day_in_the_workspace_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(the_daily_limit_resets_24_hours_after_the_last_change,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(the_allocation_carries_the_newest_10_changes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_retried_evaluation_is_applied_once, setup, teardown),
        cmocka_unit_test_setup_teardown(promote_and_rollback_are_in_the_history_and_audit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_failed_step_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(a_reopen_keeps_the_allocation_and_its_limits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(srm_counts_each_period_with_its_own_weights, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(auto_promotion_steps_a_winner_and_only_reports_the_rest,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(manual_approval_is_only_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(retries_pushed_before_a_step_are_its_baseline, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_degradation_short_of_a_rollback_warns_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_seed_health_rule_on_pushed_health, setup, teardown),
        cmocka_unit_test_setup_teardown(
            event_health_rolls_back_within_one_tick_and_survives_a_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(a_collapse_late_in_a_watch_rolls_back_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(power_is_the_same_whoever_asked_before, setup, teardown),
        cmocka_unit_test_setup_teardown(power_is_the_same_from_a_shared_table, setup, teardown),
        cmocka_unit_test_setup_teardown(p95_over_its_limit_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(a_breach_is_judged_at_its_commit_but_once_per_interval,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_breach_long_after_a_judgement_rolls_back_at_its_commit,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
