/* test_allocation.c - each guardrail at its boundary (cooldown at 23:59 and 24:00, the
 * third change of a day, confidence on and just under its minimum, delta 0), the seed's
 * 60 -> 80 -> 100, clipping at 100, points taken in proportion with odd points by largest
 * remainder, and the health rule: 0.94 -> 0.88 rolls back, 0.02 -> 0.05 alone does not. */
#include <string.h>

#include "../harness.h"
#include "core/allocation.h"

static sy_step_t step(const int64_t *w, size_t n, size_t winner, double conf, double delta,
                      bool has_last, double hours, int64_t today)
{
    sy_step_in_t in = {.weights = w,
                       .n = n,
                       .winner = winner,
                       .confidence = conf,
                       .delta = delta,
                       .has_last_change = has_last,
                       .hours_since_last_change = hours,
                       .changes_today = today};
    sy_guardrails_t g = SY_GUARDRAILS_DEFAULTS;
    sy_step_t r;
    sy_err_t err = {0};
    if (sy_allocation_step(&in, &g, &r, &err) < 0)
        fail_msg("refused input: %s (%s)", err.msg, err.field);
    return r;
}

static void the_seed_goes_60_80_100(void **state)
{
    (void)state;
    int64_t w[2] = {60, 40};
    sy_step_t r = step(w, 2, 0, 0.97, 5.2, true, 24, 1);
    assert_true(r.applied);
    assert_int_equal(r.step, 20);
    assert_int_equal(r.weights[0], 80);
    assert_int_equal(r.weights[1], 20);
    r = step(r.weights, 2, 0, 0.97, 5.2, true, 24, 0);
    assert_int_equal(r.weights[0], 100);
    assert_int_equal(r.weights[1], 0);
    /* and then there is nothing left to move */
    r = step(r.weights, 2, 0, 0.97, 5.2, true, 24, 0);
    assert_false(r.applied);
    assert_int_equal(r.refused_by, SY_REFUSED_COMPLETE);
    assert_string_equal(sy_refusal_name(r.refused_by), "complete");
}

static void cooldown_refuses_at_23_59_and_passes_at_24_00(void **state)
{
    (void)state;
    int64_t w[2] = {60, 40};
    sy_step_t r = step(w, 2, 0, 0.97, 5.2, true, 24 - 1.0 / 60, 0);
    assert_false(r.applied);
    assert_int_equal(r.refused_by, SY_REFUSED_COOLDOWN);
    assert_int_equal(r.step, 0);
    assert_int_equal(r.weights[0], 60);
    assert_true(step(w, 2, 0, 0.97, 5.2, true, 24, 0).applied);
    assert_true(step(w, 2, 0, 0.97, 5.2, false, 0, 0).applied); /* never changed */
}

static void the_third_change_of_a_day_is_refused(void **state)
{
    (void)state;
    int64_t w[2] = {60, 40};
    assert_true(step(w, 2, 0, 0.97, 5.2, true, 30, 1).applied);
    sy_step_t r = step(w, 2, 0, 0.97, 5.2, true, 30, 2);
    assert_int_equal(r.refused_by, SY_REFUSED_MAX_CHANGES);
}

static void confidence_and_delta_boundaries(void **state)
{
    (void)state;
    int64_t w[2] = {60, 40};
    assert_true(step(w, 2, 0, 0.95, 5.2, false, 0, 0).applied);
    assert_true(step(w, 2, 0, 0.95 - 1e-10, 5.2, false, 0, 0).applied); /* within 1e-9 */
    assert_int_equal(step(w, 2, 0, 0.95 - 1e-8, 5.2, false, 0, 0).refused_by,
                     SY_REFUSED_MIN_CONFIDENCE);
    assert_int_equal(step(w, 2, 0, 0.97, 0, false, 0, 0).refused_by, SY_REFUSED_DELTA);
    assert_int_equal(step(w, 2, 0, 0.97, -1, false, 0, 0).refused_by, SY_REFUSED_DELTA);
    assert_true(step(w, 2, 0, 0.97, 1e-6, false, 0, 0).applied);
    /* the first failing guardrail is the one named */
    assert_int_equal(step(w, 2, 0, 0.5, -1, true, 1, 5).refused_by, SY_REFUSED_MIN_CONFIDENCE);
}

static void clipped_at_100_and_taken_in_proportion(void **state)
{
    (void)state;
    int64_t w[2] = {90, 10};
    sy_step_t r = step(w, 2, 0, 0.99, 1, true, 30, 0);
    assert_int_equal(r.step, 10);
    assert_int_equal(r.weights[0], 100);
    int64_t three[3] = {50, 30, 20};
    r = step(three, 3, 0, 0.98, 4, true, 25, 0);
    assert_int_equal(r.weights[0], 70);
    assert_int_equal(r.weights[1], 18);
    assert_int_equal(r.weights[2], 12);
    /* 20 points from 33:33:34 is not whole: 9.85 and 10.15 -> the larger remainder pays */
    int64_t odd[3] = {33, 33, 34};
    r = step(odd, 3, 0, 0.98, 4, false, 0, 0);
    assert_int_equal(r.weights[0], 53);
    assert_int_equal(r.weights[1] + r.weights[2], 47);
    assert_int_equal(r.weights[1], 23); /* 33 - 10 (9.85 rounded up) */
    assert_int_equal(r.weights[2], 24); /* 34 - 10 (10.15 rounded down) */
    /* a variant of weight 0 gives nothing */
    int64_t zero[3] = {40, 60, 0};
    r = step(zero, 3, 0, 0.98, 4, false, 0, 0);
    assert_int_equal(r.weights[2], 0);
    assert_int_equal(r.weights[1], 40);
}

static void malformed_steps_are_errors(void **state)
{
    (void)state;
    int64_t w[2] = {60, 30};
    sy_step_in_t in = {.weights = w, .n = 2, .winner = 0, .confidence = 0.97, .delta = 1};
    sy_guardrails_t g = SY_GUARDRAILS_DEFAULTS;
    sy_step_t r;
    sy_err_t err = {0};
    assert_int_equal(sy_allocation_step(&in, &g, &r, &err), -EINVAL);
    assert_string_equal(err.field, "weights");
    w[1] = 40;
    in.winner = 2;
    assert_int_equal(sy_allocation_step(&in, &g, &r, &err), -EINVAL);
    assert_string_equal(err.field, "winner");
    in.winner = 0;
    g.max_step_pct = 0;
    assert_int_equal(sy_allocation_step(&in, &g, &r, &err), -EINVAL);
    assert_string_equal(err.field, "max_step_pct");
}

static sy_rollback_t health(double bs, double be, double cs, double ce)
{
    sy_health_t b = {.success_rate = bs, .error_rate = be},
                c = {.success_rate = cs, .error_rate = ce};
    sy_health_thresholds_t t = SY_HEALTH_THRESHOLDS_DEFAULTS;
    sy_rollback_t r;
    assert_int_equal(sy_health_rollback(&b, &c, &t, &r, NULL), 0);
    return r;
}

static void health_rolls_back_past_either_threshold(void **state)
{
    (void)state;
    sy_rollback_t r = health(0.94, 0.02, 0.88, 0.05);
    assert_true(r.rollback);
    assert_int_equal(r.reasons, SY_ROLLBACK_SUCCESS_RATE); /* +0.03 errors alone is on the line */
    assert_close(r.success_rate_drop, 0.06, 1e-12, 0);
    r = health(0.94, 0.02, 0.93, 0.05);
    assert_false(r.rollback);
    r = health(0.94, 0.02, 0.94, 0.06);
    assert_int_equal(r.reasons, SY_ROLLBACK_ERROR_RATE);
    r = health(0.65, 0.01, 0.60, 0.01); /* 0.050000000000000044: on the line */
    assert_false(r.rollback);
    r = health(0.97, 0.01, 0.80, 0.09);
    assert_int_equal(r.reasons, SY_ROLLBACK_SUCCESS_RATE | SY_ROLLBACK_ERROR_RATE);
    assert_false(health(0.9, 0.04, 0.95, 0.01).rollback);
}

/* With their samples known, a drop past the threshold rolls back only when it is beyond
 * it with the stated confidence: 0.94 -> 0.88 over 500 outcomes each is 0.01 past 0.05
 * with an SE of 0.0194 (z 0.5): noise, no rollback; over 20,000 each (SE 0.0031, z 3.2):
 * a rollback; a 9-point drop over 500 (z 2.1: under 2.33 at 0.99, over 1.64 at 0.95). Without
 * samples (health pushed from outside) the point estimates decide, as before. */
static void health_needs_evidence_when_the_samples_are_known(void **state)
{
    (void)state;
    sy_health_thresholds_t t = SY_HEALTH_THRESHOLDS_DEFAULTS;
    assert_close(t.confidence, 0.99, 0, 0);
    sy_health_t b = {.success_rate = 0.94, .error_rate = 0.01, .outcomes = 500, .requests = 500};
    sy_health_t c = {.success_rate = 0.88, .error_rate = 0.01, .outcomes = 500, .requests = 500};
    sy_rollback_t r;
    assert_int_equal(sy_health_rollback(&b, &c, &t, &r, NULL), 0);
    assert_false(r.rollback);
    assert_close(r.success_rate_drop, 0.06, 1e-12, 0); /* still reported */
    b.outcomes = c.outcomes = 20000;
    assert_int_equal(sy_health_rollback(&b, &c, &t, &r, NULL), 0);
    assert_int_equal(r.reasons, SY_ROLLBACK_SUCCESS_RATE);
    b.outcomes = c.outcomes = 500;
    c.success_rate = 0.85;
    assert_int_equal(sy_health_rollback(&b, &c, &t, &r, NULL), 0);
    assert_false(r.rollback);
    t.confidence = 0.95;
    assert_int_equal(sy_health_rollback(&b, &c, &t, &r, NULL), 0);
    assert_true(r.rollback);
    /* errors: 1 % -> 5 % over 2,000 requests each: 0.01 past 0.03, SE 0.0054, z 1.9 */
    t.confidence = 0.99;
    c = b;
    c.error_rate = 0.05;
    b.requests = c.requests = 2000;
    assert_int_equal(sy_health_rollback(&b, &c, &t, &r, NULL), 0);
    assert_false(r.rollback);
    c.error_rate = 0.06; /* z 3.7 */
    assert_int_equal(sy_health_rollback(&b, &c, &t, &r, NULL), 0);
    assert_int_equal(r.reasons, SY_ROLLBACK_ERROR_RATE);
    /* unknown samples on one side: the point estimates */
    c.error_rate = 0.01;
    c.success_rate = 0.88;
    c.outcomes = 0;
    assert_int_equal(sy_health_rollback(&b, &c, &t, &r, NULL), 0);
    assert_int_equal(r.reasons, SY_ROLLBACK_SUCCESS_RATE);
    /* a confidence of 1 or more is refused */
    t.confidence = 1;
    assert_int_equal(sy_health_rollback(&b, &c, &t, &r, NULL), -EINVAL);
}

static void p95_over_its_limit_rolls_back(void **state)
{
    (void)state;
    sy_health_t b = {.success_rate = 0.9, .error_rate = 0.01, .has_p95 = true, .p95_ms = 200};
    sy_health_t c = b;
    sy_health_thresholds_t t = SY_HEALTH_THRESHOLDS_DEFAULTS;
    t.has_max_p95 = true;
    t.max_p95_ms = 300;
    sy_rollback_t r;
    c.p95_ms = 300;
    assert_int_equal(sy_health_rollback(&b, &c, &t, &r, NULL), 0);
    assert_false(r.rollback);
    c.p95_ms = 300.5;
    assert_int_equal(sy_health_rollback(&b, &c, &t, &r, NULL), 0);
    assert_int_equal(r.reasons, SY_ROLLBACK_P95);
    assert_string_equal(sy_rollback_reason_name(SY_ROLLBACK_P95), "p95_latency");
    c.success_rate = 1.5;
    sy_err_t err = {0};
    assert_int_equal(sy_health_rollback(&b, &c, &t, &r, &err), -EINVAL);
    assert_string_equal(err.field, "current");
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_seed_goes_60_80_100),
        cmocka_unit_test(cooldown_refuses_at_23_59_and_passes_at_24_00),
        cmocka_unit_test(the_third_change_of_a_day_is_refused),
        cmocka_unit_test(confidence_and_delta_boundaries),
        cmocka_unit_test(clipped_at_100_and_taken_in_proportion),
        cmocka_unit_test(malformed_steps_are_errors),
        cmocka_unit_test(health_rolls_back_past_either_threshold),
        cmocka_unit_test(health_needs_evidence_when_the_samples_are_known),
        cmocka_unit_test(p95_over_its_limit_rolls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
