/* test_kpi.c - KPI submissions and their group commit (sy_engine_kpi_submit): nothing is
 * answered before the commit, every submission queued meanwhile is written in it, ids are
 * once per workspace across the submissions of one commit and of later ones, and a refused
 * submission queues nothing. */
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

static int submit(struct fixture *f, const char *text, struct answers *a)
{
    json_error_t je;
    json_t *body = json_loads(text, 0, &je);
    if (!body)
        fail_msg("bad JSON in the test: %s", je.text);
    sy_err_t err = {0};
    int rc = sy_engine_kpi_submit(f->eng, &f->who, body, answered, a, &err);
    json_decref(body); /* the engine holds what it needs */
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
    sy_engine_events_commit(f->eng);
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
    sy_engine_events_commit(f->eng);
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
    assert_int_equal(submit(f, "{\"events\":[]}", &a), -EINVAL);
    sy_engine_events_commit(f->eng);
    assert_int_equal(a.n, 0); /* never called for a refusal */
    /* and what was refused did not take its ids */
    assert_int_equal(submit(f, EV(",\"id\":\"r1\""), &a), 0);
    sy_engine_events_commit(f->eng);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.r[0].accepted, 1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(one_commit_answers_every_submission, setup, teardown),
        cmocka_unit_test_setup_teardown(a_refusal_queues_nothing, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
