/* test_kpi.c - KPI submissions and their group commit (sy_engine_kpi_submit): nothing is
 * answered before the commit, every submission queued meanwhile is written in it, ids are
 * once per workspace across the submissions of one commit and of later ones, and a refused
 * submission queues nothing; and a tripwire re-enabled only with a reason, its reset
 * leaving the events of its trip out. */
#include "codec/regression_json.h"
#include "fixture.h"

struct answers {
    int n;
    int rc[8];
    sy_ingest_result_t r[8];
};

static void answered(void *arg, int rc, const sy_ingest_result_t *r, const sy_err_t *err)
{
    (void)err;
    struct answers *a = arg;
    assert_true(a->n < 8);
    a->rc[a->n] = rc;
    a->r[a->n++] = *r;
}

static void woken(void *arg)
{
    (*(int *)arg)++;
}

/* The submissions the engine borrows until their answers: freed after each commit. */
static struct held {
    json_t *body;
    sy_kpi_batch_t b;
} held[8];
static int n_held;

static void commit(struct fixture *f)
{
    sy_engine_events_commit(f->eng); /* every submission answered: the events are ours again */
    for (int i = 0; i < n_held; i++) {
        sy_kpi_batch_free(&held[i].b);
        json_decref(held[i].body);
    }
    n_held = 0;
}

/* `text` read as POST /v1/kpi reads it, then submitted. */
static int submit(struct fixture *f, const char *text, struct answers *a)
{
    json_error_t je;
    assert_true(n_held < 8);
    struct held *h = &held[n_held];
    h->body = json_loads(text, 0, &je);
    if (!h->body)
        fail_msg("bad JSON in the test: %s", je.text);
    sy_err_t err = {0};
    int rc = sy_kpi_batch_read(h->body, &h->b, &err);
    if (rc == 0)
        rc = sy_engine_kpi_submit(f->eng, &f->who, h->b.ev, h->b.n, h->b.listed, answered, a, &err);
    if (rc < 0) { /* nothing borrowed */
        sy_kpi_batch_free(&h->b);
        json_decref(h->body);
    } else {
        n_held++;
    }
    return rc;
}

#define EV(id) "{\"domain\":\"D\",\"metric\":\"m\",\"actor\":\"app\",\"success\":true" id "}"

static void one_commit_answers_every_submission(void **state)
{
    struct fixture *f = *state;
    int wakes = 0;
    sy_engine_on_events(f->eng, woken, &wakes);
    struct answers a = {0};
    assert_int_equal(
        submit(f, "{\"events\":[" EV(",\"id\":\"a1\"") "," EV(",\"id\":\"a2\"") "]}", &a), 0);
    assert_int_equal(submit(f, EV(",\"id\":\"a1\""), &a), 0); /* the first's id again */
    assert_int_equal(submit(f, EV(""), &a), 0);
    assert_true(wakes >= 1);
    assert_int_equal(a.n, 0); /* nothing answered before the commit */
    commit(f);
    assert_int_equal(a.n, 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(a.rc[i], 0);
    assert_int_equal(a.r[0].accepted, 2);
    assert_int_equal(a.r[0].duplicates, 0);
    assert_int_equal(a.r[1].accepted, 0);
    assert_int_equal(a.r[1].duplicates, 1);
    assert_int_equal(a.r[2].accepted, 1);
    /* a later commit knows the ids too */
    struct answers b = {0};
    assert_int_equal(
        submit(f, "{\"events\":[" EV(",\"id\":\"a2\"") "," EV(",\"id\":\"a3\"") "]}", &b), 0);
    commit(f);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.r[0].accepted, 1);
    assert_int_equal(b.r[0].duplicates, 1);
    sy_engine_on_events(f->eng, NULL, NULL);
}

static void a_refusal_queues_nothing(void **state)
{
    struct fixture *f = *state;
    struct answers a = {0};
    assert_int_equal(submit(f, "{\"events\":[" EV("") ",{\"domain\":\"D\"}]}", &a), -EINVAL);
    /* the engine's own checks, on events no JSON came from */
    sy_kpi_event_t ev[2] = {{.domain = "D", .metric = "m", .actor = "app", .has_value = true},
                            {.domain = "D", .metric = "m", .actor = "app", .id = "r1"}};
    sy_err_t err = {0};
    assert_int_equal(sy_engine_kpi_submit(f->eng, &f->who, ev, 2, true, answered, &a, &err),
                     -EINVAL);
    assert_string_equal(err.field, "events[1].success"); /* neither success nor value */
    ev[1].has_success = true;
    ev[1].domain = "";
    assert_int_equal(sy_engine_kpi_submit(f->eng, &f->who, &ev[1], 1, false, answered, &a, &err),
                     -EINVAL);
    assert_string_equal(err.field, "domain");
    assert_int_equal(sy_engine_kpi_submit(f->eng, &f->who, ev, 0, true, answered, &a, &err),
                     -EINVAL);
    assert_int_equal(
        sy_engine_kpi_submit(f->eng, &f->who, ev, SY_KPI_BATCH_MAX + 1, true, answered, &a, &err),
        -E2BIG);
    assert_int_equal(submit(f, "{\"events\":[]}", &a), -EINVAL);
    commit(f);
    assert_int_equal(a.n, 0); /* never called for a refusal */
    /* and what was refused did not take its ids */
    assert_int_equal(submit(f, EV(",\"id\":\"r1\""), &a), 0);
    commit(f);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.r[0].accepted, 1);
}

/* The policy change `text` read as POST /v1/regression/policies reads it, then made: the
 * policy after it as the API answers it (owned), or NULL when refused. */
static json_t *put_policy(struct fixture *f, const char *text, int want, const char *field)
{
    json_error_t je;
    json_t *body = json_loads(text, 0, &je);
    sy_regression_policy_change_t change = {0};
    sy_regression_policy_t p;
    sy_err_t err = {0};
    assert_int_equal(sy_schema_read(&sy_regression_policy_change_schema, body, &change, "", &err),
                     0);
    assert_int_equal(sy_engine_regression_policy_put(f->eng, &f->who, &change, &p, &err), want);
    if (field)
        assert_string_equal(err.field, field);
    json_decref(body);
    return want == 0 ? sy_regression_policy_json(&p) : NULL;
}

/* CAPITAL/roi_event's evaluation now, as the API answers it (owned). */
static json_t *evaluate_roi(struct fixture *f)
{
    sy_tripwire_state_t *v = NULL;
    size_t n = 0;
    assert_int_equal(
        sy_engine_regression_evaluate(f->eng, &f->who, "CAPITAL", "roi_event", &v, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].workspace, f->who.workspace);
    json_t *st = sy_tripwire_state_json(&v[0], true);
    free(v);
    assert_non_null(st);
    return st;
}

static void values(struct fixture *f, int n, int value)
{
    char *text = malloc(64 + (size_t)n * 96);
    assert_non_null(text);
    size_t at = (size_t)sprintf(text, "{\"events\":[");
    for (int i = 0; i < n; i++)
        at += (size_t)sprintf(text + at,
                              "%s{\"domain\":\"CAPITAL\",\"metric\":\"roi_event\","
                              "\"actor\":\"app\",\"value\":%d}",
                              i ? "," : "", value);
    strcpy(text + at, "]}");
    struct answers a = {0};
    assert_int_equal(submit(f, text, &a), 0);
    commit(f);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.r[0].accepted, (size_t)n);
    free(text);
}

/* The ROI tripwire (a mean, KILL_SWITCH), every event in the same millisecond (the order is
 * the ids'): 200 at 500 and 50 at -300 trip it (drop 1.6); re-enabling without a reason is
 * refused and changes nothing; with one, the trip's 50 events are left out, so it is not
 * tripped again, and its baseline is still the 500 before them; 50 new events at -300 trip
 * it again. */
static void a_reset_tripwire_leaves_the_events_of_its_trip_out(void **state)
{
    struct fixture *f = *state;
    json_decref(put_policy(f,
                           "{\"domain\":\"CAPITAL\",\"metric\":\"roi_event\",\"enabled\":true,"
                           "\"reason\":\"watch ROI\"}",
                           0, NULL));
    values(f, 200, 500);
    values(f, 50, -300);
    json_t *st = evaluate_roi(f);
    assert_true(json_is_true(json_object_get(st, "triggered")));
    assert_true(json_real_value(json_object_get(st, "drop_fraction")) == 1.6);
    assert_non_null(json_object_get(st, "trip_from"));
    json_decref(st);
    assert_true(sy_engine_kill_switch_engaged(f->eng, f->who.workspace, NULL, 0));
    json_decref(put_policy(f, "{\"domain\":\"CAPITAL\",\"metric\":\"roi_event\",\"enabled\":true}",
                           -EINVAL, "reason"));
    st = evaluate_roi(f); /* the refusal changed nothing: still triggered */
    assert_true(json_is_true(json_object_get(st, "triggered")));
    json_decref(st);
    json_t *p = put_policy(f,
                           "{\"domain\":\"CAPITAL\",\"metric\":\"roi_event\",\"enabled\":true,"
                           "\"reason\":\"ROI model fixed\"}",
                           0, NULL);
    assert_string_equal(json_string_value(json_object_get(p, "reason")), "ROI model fixed");
    json_decref(p);
    st = evaluate_roi(f);
    assert_false(json_is_true(json_object_get(st, "triggered")));
    assert_int_equal(json_integer_value(json_object_get(st, "window_events")), 0);
    assert_int_equal(json_integer_value(json_object_get(st, "baseline_events")), 200);
    json_t *x = json_object_get(st, "excluded");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(x, "to"), "id")) -
                         json_integer_value(json_object_get(json_object_get(x, "from"), "id")),
                     49);
    json_decref(st);
    values(f, 60, 500); /* 50 make the window, 10 join the baseline before the gap's */
    st = evaluate_roi(f);
    assert_false(json_is_true(json_object_get(st, "triggered")));
    assert_int_equal(json_integer_value(json_object_get(st, "window_events")), 50);
    assert_int_equal(json_integer_value(json_object_get(st, "baseline_events")), 200);
    assert_true(json_real_value(json_object_get(st, "baseline")) == 500);
    json_decref(st);
    values(f, 50, -300);
    st = evaluate_roi(f);
    assert_true(json_is_true(json_object_get(st, "triggered")));
    assert_true(json_real_value(json_object_get(st, "baseline")) == 500);
    assert_true(json_real_value(json_object_get(st, "drop_fraction")) == 1.6);
    json_decref(st);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(one_commit_answers_every_submission, setup, teardown),
        cmocka_unit_test_setup_teardown(a_refusal_queues_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(a_reset_tripwire_leaves_the_events_of_its_trip_out, setup,
                                        teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
