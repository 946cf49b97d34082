/* test_timeline.c - experiments' timelines (sy_engine_experiment_timeline) on a fake clock:
 * a point at the start, one each hour on the hour while the experiment runs (none for a
 * draft or a stopped one, none twice in an hour, one after hours the loop slept through),
 * a step's point with cause "step" and its new weights, the numbers those the results give,
 * pages, every point kept by a reopen, pruned by retention with the events; and the cost
 * of an hourly tick at 1,000 running experiments. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../harness.h"
#include "../store/store_fixture.h"
#include "codec/experiment_json.h"
#include "engine/engine.h"

#define HOUR_MS (3600000LL)
#define DAY_MS  (86400000LL)

/* 2023-11-14 22:13:20 UTC: not on the hour */
static int64_t fake_ms = 1700000000000;

static int64_t fake_now(void)
{
    return fake_ms;
}

struct fx {
    struct fx_place place; /* its store (store_fixture.h) */
    sy_engine_t *eng;
    sy_principal_t who;
};

static void fx_open(struct fx *f)
{
    sy_engine_opts_t o = {.db = f->place.uri, .now_ms = fake_now};
    sy_err_t err = {0};
    if (sy_engine_open(&f->eng, &o, &err) < 0)
        fail_msg("open: %s", err.msg);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    fake_ms = 1700000000000;
    fx_place_make(&f->place);
    fx_open(f);
    int64_t ws, id;
    char secret[SY_TOKEN_MAX];
    if (sy_engine_workspace_create(f->eng, "w", &ws, NULL) < 0 ||
        sy_engine_token_create(f->eng, NULL, ws, "root", SY_ROLE_ADMIN, secret, sizeof(secret), &id,
                               NULL) < 0 ||
        sy_engine_authenticate(f->eng, secret, strlen(secret), &f->who) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sy_engine_close(f->eng);
    fx_place_drop(&f->place);
    free(f);
    return 0;
}

static void create(struct fx *f, const char *key, bool start)
{
    char text[512];
    snprintf(text, sizeof(text),
             "{\"key\":\"%s\",\"variants\":[{\"key\":\"a\",\"weight\":50,\"control\":true},"
             "{\"key\":\"b\",\"weight\":50}]}",
             key);
    json_t *def = json_loads(text, 0, NULL);
    sy_exp_def_t d;
    sy_experiment_t x;
    sy_err_t err = {0};
    if (!def || sy_exp_def_read(def, &d, &err) < 0)
        fail_msg("definition: %s", err.msg);
    if (sy_engine_experiment_create(f->eng, &f->who, &d, &x, &err) < 0)
        fail_msg("create: %s", err.msg);
    sy_exp_def_clear(&d);
    json_decref(def);
    if (start && sy_engine_experiment_transition(f->eng, &f->who, key, "running", &x, &err) < 0)
        fail_msg("start: %s", err.msg);
}

static void tick(struct fx *f)
{
    sy_tick_report_t t;
    sy_engine_tick(f->eng, &t);
    sy_tick_report_free(&t);
}

static int add_point(void *arg, int64_t at_ms, const char *point)
{
    json_t *p = json_loads(point, 0, NULL);
    if (!p || json_integer_value(json_object_get(p, "at_ms")) != at_ms)
        return -EINVAL;
    return json_array_append_new(arg, p);
}

/* The points of `key` in [since, until] (at most `limit`) as a JSON array (owned). */
static json_t *points_in(struct fx *f, const char *key, int64_t since, int64_t until, int64_t limit,
                         sy_timeline_page_t *page)
{
    json_t *a = json_array();
    sy_timeline_query_t q = {.since_ms = since, .until_ms = until, .limit = limit};
    sy_timeline_page_t pg;
    sy_err_t err = {0};
    if (sy_engine_experiment_timeline(f->eng, &f->who, key, &q, add_point, a, page ? page : &pg,
                                      &err) < 0)
        fail_msg("timeline: %s", err.msg);
    return a;
}

static json_t *points(struct fx *f, const char *key)
{
    return points_in(f, key, 0, INT64_MAX, SY_TIMELINE_LIMIT_MAX, NULL);
}

static const char *cause(const json_t *a, size_t i)
{
    return json_string_value(json_object_get(json_array_get(a, i), "cause"));
}

static int64_t at(const json_t *a, size_t i)
{
    return json_integer_value(json_object_get(json_array_get(a, i), "at_ms"));
}

static void hourly_points_come_on_the_hour_of_the_engines_clock(void **state)
{
    struct fx *f = *state;
    int64_t t0 = fake_ms, hour = (t0 / HOUR_MS + 1) * HOUR_MS;
    create(f, "run", true);
    create(f, "draft", false);
    create(f, "ended", true);
    sy_experiment_t x;
    assert_int_equal(sy_engine_experiment_transition(f->eng, &f->who, "ended", "stopped", &x, NULL),
                     0);
    tick(f);
    json_t *p = points(f, "run");
    assert_int_equal(json_array_size(p), 1);
    assert_string_equal(cause(p, 0), "start");
    assert_int_equal(at(p, 0), t0);
    json_decref(p);
    fake_ms = hour - 1;
    tick(f);
    p = points(f, "run");
    assert_int_equal(json_array_size(p), 1); /* not before the hour */
    json_decref(p);
    fake_ms = hour;
    tick(f);
    tick(f);
    fake_ms = hour + 20;
    tick(f);
    p = points(f, "run");
    assert_int_equal(json_array_size(p), 2); /* once in the hour */
    assert_string_equal(cause(p, 1), "hourly");
    assert_int_equal(at(p, 1), hour);
    json_decref(p);
    /* a loop that slept three hours: one point when it wakes, then on the hour again */
    fake_ms = hour + 3 * HOUR_MS + 5000;
    tick(f);
    fake_ms = hour + 4 * HOUR_MS;
    tick(f);
    p = points(f, "run");
    assert_int_equal(json_array_size(p), 4);
    assert_int_equal(at(p, 2), hour + 3 * HOUR_MS + 5000);
    assert_int_equal(at(p, 3), hour + 4 * HOUR_MS);
    json_decref(p);
    p = points(f, "draft");
    assert_int_equal(json_array_size(p), 0);
    json_decref(p);
    p = points(f, "ended"); /* its start, nothing after its stop */
    assert_int_equal(json_array_size(p), 1);
    assert_string_equal(cause(p, 0), "start");
    json_decref(p);
}

static sy_event_t exposure(const char *key, const char *unit, const char *variant)
{
    return (sy_event_t){.kind = SY_EVENT_EXPOSURE,
                        .experiment = key,
                        .experiment_len = strlen(key),
                        .unit = unit,
                        .unit_len = strlen(unit),
                        .variant = variant,
                        .variant_len = strlen(variant),
                        .success = -1};
}

static void on_done(void *arg, int rc, const sy_ingest_result_t *r, const sy_err_t *err)
{
    (void)r;
    (void)err;
    *(int *)arg = rc;
}

/* 100 units an arm; a converts 20 of them, b 30. */
static void feed(struct fx *f, const char *key)
{
    static char units[200][16];
    sy_event_t ev[400];
    size_t n = 0;
    for (int i = 0; i < 200; i++) {
        snprintf(units[i], sizeof(units[i]), "u%d", i);
        const char *v = i < 100 ? "a" : "b";
        ev[n++] = exposure(key, units[i], v);
        if ((i < 100 && i < 20) || (i >= 100 && i < 130)) {
            ev[n] = exposure(key, units[i], v);
            ev[n].kind = SY_EVENT_OUTCOME;
            ev[n].variant = NULL;
            ev[n].variant_len = 0;
            ev[n++].success = 1;
        }
    }
    int rc = -1;
    sy_err_t err = {0};
    if (sy_engine_events_submit(f->eng, &f->who, ev, n, on_done, &rc, &err) < 0)
        fail_msg("submit: %s (%s)", err.msg, err.field);
    sy_engine_events_commit(f->eng);
    assert_int_equal(rc, 0);
}

static void a_step_adds_its_point_with_the_results_then(void **state)
{
    struct fx *f = *state;
    create(f, "s", true);
    feed(f, "s");
    fake_ms += 60000;
    sy_step_request_t req = {.winning_variant = "b", .confidence = 0.99, .delta = 10};
    sy_step_answer_t ans;
    sy_err_t err = {0};
    if (sy_engine_allocation_apply(f->eng, &f->who, "s", &req, &ans, &err) < 0)
        fail_msg("step: %s", err.msg);
    sy_exp_results_t *r = NULL;
    assert_int_equal(sy_engine_experiment_results(f->eng, &f->who, "s", &r, NULL), 0);
    json_t *p = points(f, "s");
    assert_int_equal(json_array_size(p), 2);
    assert_string_equal(cause(p, 1), "step");
    assert_int_equal(at(p, 1), fake_ms);
    json_t *pt = json_array_get(p, 1), *w = json_object_get(pt, "weights");
    assert_int_equal(json_integer_value(json_object_get(w, "b")), r->variants[1].weight);
    assert_true(r->variants[1].weight > 50);
    json_t *vb = json_array_get(json_object_get(pt, "variants"), 1);
    assert_string_equal(json_string_value(json_object_get(vb, "key")), "b");
    assert_int_equal(json_integer_value(json_object_get(vb, "units")), 100);
    assert_int_equal(json_integer_value(json_object_get(vb, "conversions")), 30);
    assert_close(json_real_value(json_object_get(vb, "rate")), 0.3, 1e-12, 0);
    /* the Wald interval at 95 %: 0.3 -+ 1.96 sqrt(0.3 0.7 / 100) */
    json_t *iv = json_object_get(vb, "interval");
    assert_close(json_real_value(json_array_get(iv, 0)), 0.3 - 1.959964 * sqrt(0.0021), 1e-5, 0);
    assert_close(json_real_value(json_array_get(iv, 1)), 0.3 + 1.959964 * sqrt(0.0021), 1e-5, 0);
    json_t *c = json_array_get(json_object_get(pt, "comparisons"), 0);
    const sy_arm_result_t *b = &r->r.arms[1];
    assert_string_equal(json_string_value(json_object_get(c, "variant")), "b");
    assert_close(json_real_value(json_object_get(c, "lift")), b->lift, 1e-15, 0);
    assert_close(json_real_value(json_object_get(c, "p_value")), b->p_value, 1e-15, 0);
    assert_close(json_real_value(json_object_get(c, "confidence")), b->confidence, 1e-15, 0);
    assert_close(json_real_value(json_array_get(json_object_get(c, "interval"), 0)), b->lift_ci_low,
                 1e-15, 0);
    assert_string_equal(json_string_value(json_object_get(pt, "decision")),
                        sy_decision_name(r->r.decision));
    free(r);
    json_decref(p);
    /* a rollback's point */
    fake_ms += 60000;
    assert_int_equal(sy_engine_experiment_rollback(f->eng, &f->who, "s", NULL, NULL), 0);
    p = points(f, "s");
    assert_int_equal(json_array_size(p), 3);
    assert_string_equal(cause(p, 2), "rollback");
    json_decref(p);
}

static void pages_follow_next_since_ms_and_a_reopen_keeps_every_point(void **state)
{
    struct fx *f = *state;
    create(f, "p", true);
    for (int h = 0; h < 5; h++) {
        fake_ms = (fake_ms / HOUR_MS + 1) * HOUR_MS;
        tick(f);
    }
    json_t *all = points(f, "p");
    assert_int_equal(json_array_size(all), 5); /* the start, then 4 hours (the first tick
                                                  only schedules the hour) */
    sy_timeline_page_t pg;
    json_t *first = points_in(f, "p", 0, INT64_MAX, 2, &pg);
    assert_int_equal(json_array_size(first), 2);
    assert_true(pg.has_next);
    assert_int_equal(pg.next_since_ms, at(all, 2));
    json_t *rest = points_in(f, "p", pg.next_since_ms, INT64_MAX, 10, &pg);
    assert_int_equal(json_array_size(rest), 3);
    assert_false(pg.has_next);
    json_t *mid = points_in(f, "p", at(all, 1), at(all, 3), 10, &pg);
    assert_int_equal(json_array_size(mid), 3);
    char *before = json_dumps(all, JSON_COMPACT);
    sy_engine_close(f->eng);
    fx_open(f);
    json_t *again = points(f, "p");
    char *after = json_dumps(again, JSON_COMPACT);
    assert_string_equal(before, after);
    sy_timeline_query_t bad = {.since_ms = 0, .until_ms = INT64_MAX, .limit = 0};
    sy_err_t err = {0};
    assert_int_equal(
        sy_engine_experiment_timeline(f->eng, &f->who, "p", &bad, add_point, all, &pg, &err),
        -EINVAL);
    assert_string_equal(err.field, "limit");
    bad = (sy_timeline_query_t){.since_ms = 5, .until_ms = 4, .limit = 1};
    assert_int_equal(
        sy_engine_experiment_timeline(f->eng, &f->who, "p", &bad, add_point, all, &pg, &err),
        -EINVAL);
    assert_string_equal(err.field, "since_ms");
    bad.since_ms = 0;
    assert_int_equal(
        sy_engine_experiment_timeline(f->eng, &f->who, "nope", &bad, add_point, all, &pg, &err),
        -ENOENT);
    free(before);
    free(after);
    json_decref(all);
    json_decref(first);
    json_decref(rest);
    json_decref(mid);
    json_decref(again);
}

static void retention_prunes_points_older_than_the_events_retention(void **state)
{
    struct fx *f = *state;
    create(f, "r", true);
    for (int h = 0; h < 48; h++) {
        fake_ms = (fake_ms / HOUR_MS + 1) * HOUR_MS;
        tick(f);
    }
    json_t *all = points(f, "r");
    assert_int_equal(json_array_size(all), 48);
    int64_t cut = fake_ms - DAY_MS;
    size_t older = 0;
    for (size_t i = 0; i < json_array_size(all); i++)
        older += at(all, i) < cut;
    sy_retention_opts_t o = {.events_ms = DAY_MS, .limit = 10};
    sy_retention_report_t rep;
    sy_err_t err = {0};
    assert_int_equal(sy_engine_retention(f->eng, &o, &rep, &err), 0);
    assert_int_equal(rep.timeline, 10); /* bounded */
    assert_true(rep.more);
    while (rep.more)
        assert_int_equal(sy_engine_retention(f->eng, &o, &rep, &err), 0);
    json_t *left = points(f, "r");
    assert_int_equal(json_array_size(left), 48 - older);
    sy_engine_counters_t k;
    sy_engine_counters(f->eng, &k);
    assert_int_equal(k.pruned[3], (int64_t)older); /* switchyard_retention_pruned_total */
    assert_true(at(left, 0) >= cut);
    assert_int_equal(at(left, json_array_size(left) - 1), fake_ms);
    /* audit retention alone keeps them */
    fake_ms += 30 * DAY_MS;
    o = (sy_retention_opts_t){.audit_ms = DAY_MS};
    assert_int_equal(sy_engine_retention(f->eng, &o, &rep, &err), 0);
    json_t *kept = points(f, "r");
    assert_int_equal(json_array_size(kept), json_array_size(left));
    json_decref(all);
    json_decref(left);
    json_decref(kept);
}

/* The hourly points of 1,000 running experiments (every 10th with 200 units): a slice of 64 a
 * tick, each experiment once; the cost printed. */
static void an_hourly_tick_of_1000_experiments_is_measured(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 1000; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        create(f, key, true);
        if (i % 10 == 0)
            feed(f, key);
    }
    tick(f);
    fake_ms = (fake_ms / HOUR_MS + 1) * HOUR_MS;
    /* the hour's points come a slice of 64 a tick: 16 ticks, each short */
    struct timespec t0, t1;
    double total = 0, longest = 0;
    int ticks = 0;
    for (;;) {
        json_t *last = points(f, "k999");
        size_t have = json_array_size(last);
        json_decref(last);
        if (have == 2)
            break;
        assert_true(ticks < 100);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        tick(f);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        total += ms;
        longest = ms > longest ? ms : longest;
        ticks++;
    }
    assert_int_equal(ticks, 16); /* 1,000 experiments, 64 a tick */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tick(f); /* within the hour: nothing to do */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double idle = (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
    printf("# hourly points of 1000 experiments: %d ticks, %.1f ms in all, the longest %.1f ms; "
           "a tick within the hour: %.1f us\n",
           ticks, total, longest, idle);
    for (int i = 0; i < 1000; i += 111) { /* each experiment charted once */
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        json_t *p = points(f, key);
        assert_int_equal(json_array_size(p), 2);
        assert_string_equal(cause(p, 1), "hourly");
        json_decref(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(hourly_points_come_on_the_hour_of_the_engines_clock, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_step_adds_its_point_with_the_results_then, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(pages_follow_next_since_ms_and_a_reopen_keeps_every_point,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(retention_prunes_points_older_than_the_events_retention,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(an_hourly_tick_of_1000_experiments_is_measured, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
