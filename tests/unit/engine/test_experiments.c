/* test_experiments.c - experiments in the engine: runtime measured on a fake clock, events
 * acknowledged only after their group commit, several submissions in one transaction, a
 * failed commit that changes nothing (memory or store), a reopen that rebuilds every
 * aggregate exactly, first-exposure-wins counting, and means at an offset of 1e12. */
#define _DEFAULT_SOURCE

#include "fixture.h"
#include "results_adapt.h"

static void create_and_start(struct fixture *f, const char *safety)
{
    char text[512];
    snprintf(text, sizeof(text),
             "{\"key\":\"e\",\"variants\":[{\"key\":\"a\",\"weight\":1,\"control\":true},"
             "{\"key\":\"b\",\"weight\":1}],\"safety\":%s}",
             safety);
    create_started(f, text, "e");
}

struct ack {
    int calls, rc;
    sy_ingest_result_t r;
};

static void on_done(void *arg, int rc, const sy_ingest_result_t *r, const sy_err_t *err)
{
    (void)err;
    struct ack *a = arg;
    a->calls++;
    a->rc = rc;
    a->r = *r;
}

static sy_event_t exposure(const char *unit, const char *variant)
{
    return (sy_event_t){.kind = SY_EVENT_EXPOSURE,
                        .experiment = "e",
                        .experiment_len = 1,
                        .unit = unit,
                        .unit_len = strlen(unit),
                        .variant = variant,
                        .variant_len = strlen(variant),
                        .success = -1};
}

static sy_event_t converted(const char *unit)
{
    return (sy_event_t){.kind = SY_EVENT_OUTCOME,
                        .experiment = "e",
                        .experiment_len = 1,
                        .unit = unit,
                        .unit_len = strlen(unit),
                        .success = 1};
}

static json_t *results(struct fixture *f)
{
    json_t *out = NULL;
    sy_err_t err = {0};
    if (results_json(f->eng, &f->who, "e", &out, &err) < 0)
        fail_msg("results: %s", err.msg);
    return out;
}

static json_int_t arm_int(json_t *r, int arm, const char *field)
{
    return json_integer_value(
        json_object_get(json_array_get(json_object_get(r, "variants"), arm), field));
}

static void runtime_comes_from_the_clock(void **state)
{
    struct fixture *f = *state;
    int64_t t0 = fake_ms;
    create_and_start(f, "{\"min_runtime_hours\":48,\"min_sample_per_variant\":1}");
    sy_event_t ev[4] = {exposure("u1", "a"), exposure("u2", "b"), converted("u2"),
                        exposure("u3", "b")};
    struct ack a = {0};
    assert_int_equal(sy_engine_events_submit(f->eng, &f->who, ev, 4, on_done, &a, NULL), 0);
    sy_engine_events_commit(f->eng);
    fake_ms = t0 + 48 * 3600000 - 1;
    json_t *out = NULL;
    assert_int_equal(promotion_json(f->eng, &f->who, "e", &out, NULL), 0);
    assert_false(json_is_true(json_object_get(json_object_get(out, "checks"), "min_runtime")));
    json_decref(out);
    fake_ms = t0 + 48 * 3600000;
    assert_int_equal(promotion_json(f->eng, &f->who, "e", &out, NULL), 0);
    assert_true(json_is_true(json_object_get(json_object_get(out, "checks"), "min_runtime")));
    json_decref(out);
    out = results(f);
    assert_true(json_real_value(json_object_get(out, "runtime_hours")) == 48.0);
    json_decref(out);
}

static void acknowledged_only_after_the_shared_commit(void **state)
{
    struct fixture *f = *state;
    create_and_start(f, "{}");
    sy_event_t one[2] = {exposure("u1", "a"), converted("u1")};
    sy_event_t two[1] = {exposure("u2", "b")};
    two[0].id = "x";
    two[0].id_len = 1;
    struct ack a = {0}, b = {0}, c = {0};
    assert_int_equal(sy_engine_events_submit(f->eng, &f->who, one, 2, on_done, &a, NULL), 0);
    assert_int_equal(sy_engine_events_submit(f->eng, &f->who, two, 1, on_done, &b, NULL), 0);
    assert_int_equal(sy_engine_events_submit(f->eng, &f->who, two, 1, on_done, &c, NULL), 0);
    assert_int_equal(a.calls + b.calls + c.calls, 0); /* nothing answered before the commit */
    json_t *r = results(f);
    assert_int_equal(json_integer_value(json_object_get(r, "units")), 0);
    json_decref(r);
    sy_engine_events_commit(f->eng);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.r.accepted, 2);
    assert_int_equal(b.r.accepted, 1);
    /* the same id twice in one transaction is kept once */
    assert_int_equal(c.r.accepted, 0);
    assert_int_equal(c.r.duplicates, 1);
    r = results(f);
    assert_int_equal(arm_int(r, 0, "units"), 1);
    assert_int_equal(arm_int(r, 0, "conversions"), 1);
    assert_int_equal(arm_int(r, 1, "units"), 1);
    json_decref(r);
}

static void a_batch_is_refused_whole(void **state)
{
    struct fixture *f = *state;
    create_and_start(f, "{}");
    sy_event_t ev[2] = {exposure("u1", "a"), exposure("u2", "nope")};
    struct ack a = {0};
    sy_err_t err = {0};
    assert_int_equal(sy_engine_events_submit(f->eng, &f->who, ev, 2, on_done, &a, &err), -EINVAL);
    assert_string_equal(err.field, "events[1].variant");
    sy_engine_events_commit(f->eng);
    assert_int_equal(a.calls, 0);
    json_t *r = results(f);
    assert_int_equal(json_integer_value(json_object_get(r, "units")), 0);
    json_decref(r);
}

static void first_exposure_wins_and_late_outcomes_count(void **state)
{
    struct fixture *f = *state;
    create_and_start(f, "{}");
    sy_event_t ev[4] = {converted("u1"), exposure("u1", "b"), exposure("u1", "a"),
                        exposure("u1", "b")};
    struct ack a = {0};
    assert_int_equal(sy_engine_events_submit(f->eng, &f->who, ev, 4, on_done, &a, NULL), 0);
    sy_engine_events_commit(f->eng);
    assert_int_equal(a.r.accepted, 4);
    json_t *r = results(f);
    assert_int_equal(arm_int(r, 0, "units"), 0);
    assert_int_equal(arm_int(r, 1, "units"), 1);
    assert_int_equal(arm_int(r, 1, "conversions"), 1);
    assert_int_equal(arm_int(r, 1, "crossovers"), 1);
    json_decref(r);
}

static void a_failed_commit_changes_nothing(void **state)
{
    struct fixture *f = *state;
    create_and_start(f, "{}");
    sy_event_t ev[2] = {exposure("u1", "a"), converted("u1")};
    struct ack a = {0}, b = {0};
    assert_int_equal(sy_engine_events_submit(f->eng, &f->who, ev, 2, on_done, &a, NULL), 0);
    sy_engine_events_commit(f->eng);
    json_t *before = results(f);
    poison();
    /* new units, a changed unit, then the poison: all of it must come undone */
    sy_event_t bad[5] = {exposure("u2", "b"), exposure("u3", "a"), converted("u3"),
                         exposure("u1", "b"), exposure("poison", "a")};
    assert_int_equal(sy_engine_events_submit(f->eng, &f->who, bad, 5, on_done, &b, NULL), 0);
    sy_engine_events_commit(f->eng);
    assert_int_equal(b.calls, 1);
    assert_true(b.rc < 0);
    json_t *after = results(f);
    json_object_del(before, "runtime_hours");
    json_object_del(after, "runtime_hours");
    assert_true(json_equal(before, after));
    json_decref(after);
    /* and the units the failed batch had added are new again */
    sy_event_t again[2] = {exposure("u2", "b"), exposure("u3", "b")};
    struct ack c = {0};
    assert_int_equal(sy_engine_events_submit(f->eng, &f->who, again, 2, on_done, &c, NULL), 0);
    sy_engine_events_commit(f->eng);
    assert_int_equal(c.rc, 0);
    after = results(f);
    assert_int_equal(arm_int(after, 1, "units"), 2);
    assert_int_equal(arm_int(after, 0, "units"), 1);
    assert_int_equal(arm_int(after, 0, "crossovers"), 0);
    json_decref(after);
    json_decref(before);
}

static void reopening_rebuilds_every_aggregate(void **state)
{
    struct fixture *f = *state;
    create_and_start(f, "{\"sequential\":true,\"min_sample_per_variant\":10}");
    char units[400][8];
    sy_event_t ev[800];
    size_t n = 0;
    for (int i = 0; i < 400; i++) {
        snprintf(units[i], sizeof(units[i]), "u%d", i);
        ev[n++] = exposure(units[i], i % 2 ? "b" : "a");
        if (i % (i % 2 ? 4 : 7) == 0) {
            ev[n] = converted(units[i]);
            ev[n].has_latency = true; /* the latency aggregates are rebuilt too */
            ev[n++].latency_ms = 100 + i % 7;
        }
    }
    struct ack a = {0};
    for (size_t off = 0; off < n; off += 100) { /* several commits: several looks */
        size_t k = n - off < 100 ? n - off : 100;
        assert_int_equal(sy_engine_events_submit(f->eng, &f->who, ev + off, k, on_done, &a, NULL),
                         0);
        sy_engine_events_commit(f->eng);
    }
    json_t *before = results(f);
    sy_engine_close(f->eng);
    f->eng = open_engine();
    json_t *after = results(f);
    assert_true(json_equal(before, after));
    json_t *vs =
        json_object_get(json_array_get(json_object_get(after, "variants"), 1), "vs_control");
    assert_true(json_is_real(json_object_get(vs, "always_valid_p")));
    json_decref(before);
    json_decref(after);
}

/* The mean metric at an offset of 1e12: units' values of 1e12 +- 10 in control and
 * 1e12 + 1 +- 10 in treatment, some reaching their total over two outcomes. The arms'
 * sds are those of the values (about 10: the sums of squares gave 37,082 and 0), the
 * difference is 1, and a reopen rebuilds the same numbers from the log. */
static void means_keep_their_digits_under_an_offset(void **state)
{
    struct fixture *f = *state;
    create_started(f,
                   "{\"key\":\"e\",\"metric\":\"mean\",\"variants\":[{\"key\":\"a\","
                   "\"weight\":1,\"control\":true},{\"key\":\"b\",\"weight\":1}]}",
                   "e");
    enum { PER_ARM = 200 };
    char units[2 * PER_ARM][8];
    sy_event_t ev[6 * PER_ARM];
    size_t n = 0;
    for (int i = 0; i < 2 * PER_ARM; i++) {
        snprintf(units[i], sizeof(units[i]), "u%d", i);
        bool b = i % 2;
        ev[n++] = exposure(units[i], b ? "b" : "a");
        double v = 1e12 + (b ? 1 : 0) + ((i / 2) % 2 ? -10.0 : 10.0);
        sy_event_t o = {.kind = SY_EVENT_OUTCOME,
                        .experiment = "e",
                        .experiment_len = 1,
                        .unit = units[i],
                        .unit_len = strlen(units[i]),
                        .success = -1,
                        .has_value = true,
                        .value = v};
        if (i % 3 == 0) { /* the total in two outcomes: the unit's value changes in place */
            o.value = v - 3.5;
            ev[n++] = o;
            o.value = 3.5;
        }
        ev[n++] = o;
    }
    struct ack a = {0};
    for (size_t off = 0; off < n; off += 150) {
        size_t k = n - off < 150 ? n - off : 150;
        assert_int_equal(sy_engine_events_submit(f->eng, &f->who, ev + off, k, on_done, &a, NULL),
                         0);
        sy_engine_events_commit(f->eng);
    }
    json_t *r = results(f);
    json_t *arms = json_object_get(r, "variants");
    double want_sd = 10 * sqrt((double)PER_ARM / (PER_ARM - 1));
    for (int k = 0; k < 2; k++) {
        json_t *arm = json_array_get(arms, k);
        assert_int_equal(json_integer_value(json_object_get(arm, "units")), PER_ARM);
        assert_close(json_real_value(json_object_get(arm, "sd")), want_sd, 1e-9, 0);
        assert_close(json_real_value(json_object_get(arm, "mean")), 1e12 + k, 1e-15, 0);
    }
    json_t *vs = json_object_get(json_array_get(arms, 1), "vs_control");
    assert_close(json_real_value(json_object_get(vs, "diff")), 1, 1e-9, 0);
    sy_engine_close(f->eng);
    f->eng = open_engine();
    json_t *again = results(f);
    assert_true(json_equal(r, again));
    json_decref(r);
    json_decref(again);
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(runtime_comes_from_the_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(acknowledged_only_after_the_shared_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(a_batch_is_refused_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(first_exposure_wins_and_late_outcomes_count, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_failed_commit_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(reopening_rebuilds_every_aggregate, setup, teardown),
        cmocka_unit_test_setup_teardown(means_keep_their_digits_under_an_offset, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
