/* test_allocation.c - each guardrail at its boundary (cooldown at 23:59 and 24:00, the
 * third change of a day, the daily count reset 24 hours after the last change and not at
 * UTC midnight, confidence on and just under its minimum, delta 0), the seed's
 * 60 -> 80 -> 100, clipping at 100, points taken in proportion with odd points by largest
 * remainder, and the health rule: 0.94 -> 0.88 rolls back, 0.02 -> 0.05 alone does not. */
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

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

#define H  INT64_C(3600000)
#define S1 INT64_C(1000)
/* 2023-11-14 23:00:00 UTC: an hour before midnight */
#define EVENING INT64_C(1700002800000)

static sy_daily_changes_t daily(int64_t *at, size_t n, int64_t now)
{
    sy_daily_changes_t d;
    assert_int_equal(sy_daily_changes(at, n, now, &d, NULL), 0);
    return d;
}

/* Two steps at 23:00 and 23:30 UTC use up a limit of 2; UTC midnight does not give it back
 * (00:30 still counts 2), 24 hours after the last step does: 23:29:59 the next day counts 2,
 * 23:30:00 counts 0. */
static void the_daily_limit_resets_24_hours_after_the_last_change(void **state)
{
    (void)state;
    int64_t at[2] = {EVENING, EVENING + H / 2};
    sy_daily_changes_t d = daily(at, 2, EVENING + H + H / 2); /* 00:30, a new UTC day */
    assert_int_equal(d.count, 2);
    assert_int_equal(d.last_ms, EVENING + H / 2);
    assert_int_equal(d.resets_at_ms, EVENING + H / 2 + 24 * H);
    d = daily(at, 2, EVENING + H / 2 + 24 * H - S1); /* 23:59:59 after the last */
    assert_int_equal(d.count, 2);
    d = daily(at, 2, EVENING + H / 2 + 24 * H); /* 24:00:00 after */
    assert_int_equal(d.count, 0);
    assert_int_equal(d.resets_at_ms, 0);
    /* what the step's guardrail makes of it */
    int64_t w[2] = {60, 40};
    d = daily(at, 2, EVENING + H + H / 2);
    assert_int_equal(step(w, 2, 0, 0.97, 5.2, true, 30, d.count).refused_by,
                     SY_REFUSED_MAX_CHANGES);
    d = daily(at, 2, EVENING + H / 2 + 24 * H);
    assert_true(step(w, 2, 0, 0.97, 5.2, true, 30, d.count).applied);
}

/* The count starts again at a step 24 h or more after the one before (that step is 1), and
 * keeps growing while steps are less than 24 h apart, whatever the days; the times may
 * come in any order. */
static void the_daily_count_runs_while_steps_are_under_24_hours_apart(void **state)
{
    (void)state;
    int64_t gap24[2] = {24 * H, 0};
    assert_int_equal(daily(gap24, 2, 24 * H).count, 1);
    int64_t run[3] = {46 * H, 0, 23 * H}; /* each 23 h after the one before */
    sy_daily_changes_t d = daily(run, 3, 46 * H + 1);
    assert_int_equal(d.count, 3);
    assert_int_equal(run[0], 0); /* sorted in place */
    assert_int_equal(d.resets_at_ms, 70 * H);
    assert_int_equal(daily(run, 3, 70 * H - 1).count, 3);
    assert_int_equal(daily(run, 3, 70 * H).count, 0);
    int64_t future[1] = {10 * H}; /* a step after now counts as made now */
    d = daily(future, 1, 5 * H);
    assert_int_equal(d.count, 1);
    assert_int_equal(d.resets_at_ms, 29 * H);
    assert_int_equal(daily(NULL, 0, 5 * H).count, 0);
    sy_daily_changes_t x;
    sy_err_t err = {0};
    assert_int_equal(sy_daily_changes(NULL, 1, 0, &x, &err), -EINVAL);
    assert_string_equal(err.field, "at_ms");
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
static sy_rollback_t retries(double base, double cur, int64_t n_base, int64_t n_cur, int64_t look)
{
    sy_health_t b = {.success_rate = 0.94,
                     .error_rate = 0.02,
                     .has_retry_rate = true,
                     .retry_rate = base,
                     .outcomes = n_base,
                     .requests = n_base},
                c = {.success_rate = 0.94,
                     .error_rate = 0.02,
                     .has_retry_rate = true,
                     .retry_rate = cur,
                     .outcomes = n_cur,
                     .requests = n_cur};
    sy_health_thresholds_t t = SY_HEALTH_THRESHOLDS_DEFAULTS;
    sy_rollback_t r;
    assert_int_equal(sy_health_rollback_at(&b, &c, &t, look, &r, NULL), 0);
    return r;
}

/* The retry rate joins the rule: a rise past 5 points rolls back, and is named; exactly 5
 * points does not (0.07 - 0.02 is 0.05000000000000001 in doubles: the 1e-9 rule); only a
 * rate both sides carry is judged; rates outside 0..1 and a bad threshold are refused. */
static void health_rolls_back_when_retries_rise_past_5_points(void **state)
{
    (void)state;
    sy_rollback_t r = retries(0.02, 0.08, 0, 0, 0);
    assert_true(r.rollback);
    assert_int_equal(r.reasons, SY_ROLLBACK_RETRY_RATE);
    assert_close(r.retry_rate_increase, 0.06, 1e-12, 0);
    assert_string_equal(sy_rollback_reason_name(SY_ROLLBACK_RETRY_RATE), "retry_rate_increase");
    assert_false(retries(0.02, 0.07, 0, 0, 0).rollback);
    assert_false(retries(0.08, 0.02, 0, 0, 0).rollback); /* fewer retries */
    sy_health_t b = {.success_rate = 0.94, .error_rate = 0.02}, c = {.success_rate = 0.94,
                                                                     .error_rate = 0.02,
                                                                     .has_retry_rate = true,
                                                                     .retry_rate = 0.9};
    sy_health_thresholds_t t = SY_HEALTH_THRESHOLDS_DEFAULTS;
    assert_int_equal(sy_health_rollback(&b, &c, &t, &r, NULL), 0);
    assert_false(r.rollback); /* the baseline has none: nothing to compare */
    assert_close(r.retry_rate_increase, 0, 0, 0);
    sy_err_t err = {0};
    c.retry_rate = 1.5;
    b.has_retry_rate = true;
    assert_int_equal(sy_health_rollback(&b, &c, &t, &r, &err), -EINVAL);
    assert_string_equal(err.field, "current");
    c.retry_rate = 0.5;
    t.retry_rate_increase = -0.1;
    assert_int_equal(sy_health_rollback(&b, &c, &t, &r, &err), -EINVAL);
    assert_string_equal(err.field, "thresholds");
}

/* With samples known, a retry-rate rise is judged exactly as an error-rate rise of the same
 * size over the same requests: beyond its threshold with the confidence, and past the
 * life-long guard of the look; and a window is ready only when the retry rate's is too. */
static void retries_are_judged_as_errors_are(void **state)
{
    (void)state;
    const double base[] = {0.01, 0.02, 0.05};
    const double rise[] = {0.03, 0.051, 0.06, 0.08, 0.12, 0.2};
    const int64_t n[] = {50, 200, 1000, 5000, 40000};
    const int64_t looks[] = {0, 1, 30, 1000};
    int differ = 0, rolled = 0, cases = 0;
    sy_health_thresholds_t t = SY_HEALTH_THRESHOLDS_DEFAULTS;
    t.error_rate_increase = t.retry_rate_increase; /* the same threshold for both */
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 6; j++)
            for (size_t k = 0; k < 5; k++)
                for (size_t l = 0; l < 4; l++) {
                    sy_health_t b = {.success_rate = 0.9,
                                     .error_rate = base[i],
                                     .has_retry_rate = true,
                                     .retry_rate = base[i],
                                     .outcomes = n[k],
                                     .requests = n[k]},
                                c = b;
                    c.retry_rate = base[i] + rise[j];
                    sy_health_t e = b; /* the same rise, of errors */
                    e.error_rate = base[i] + rise[j];
                    sy_rollback_t rr, re;
                    assert_int_equal(sy_health_rollback_at(&b, &c, &t, looks[l], &rr, NULL), 0);
                    assert_int_equal(sy_health_rollback_at(&b, &e, &t, looks[l], &re, NULL), 0);
                    differ += (rr.reasons == SY_ROLLBACK_RETRY_RATE) !=
                              (re.reasons == SY_ROLLBACK_ERROR_RATE);
                    differ += sy_health_window_ready(&b, &c, &t, looks[l]) !=
                              sy_health_window_ready(&b, &e, &t, looks[l]);
                    rolled += rr.rollback;
                    cases++;
                }
    assert_int_equal(differ, 0);
    assert_true(rolled > 0 && rolled < cases); /* the grid holds both verdicts */
    /* 50 requests cannot show a 6-point rise past a 5-point threshold at 99 % */
    assert_false(retries(0.02, 0.08, 50, 50, 0).rollback);
    assert_true(retries(0.02, 0.12, 40000, 40000, 1).rollback);
}

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

/* The life-long guard: the life z grows slowly with the look, the window waits for enough
 * samples that a breach of the threshold alone clears it, and with a threshold of 0 the
 * test itself asks for it. */
static void health_life_guard_and_window_size(void **state)
{
    (void)state;
    assert_close(sy_health_life_z(0.99, 1), 2.5758, 0, 1e-4); /* 0.01 / 2 */
    assert_true(sy_health_life_z(0.99, 1000) > 5.5 && sy_health_life_z(0.99, 1000) < 5.7);
    assert_true(sy_health_life_z(0.99, 20000) < 6.6); /* 14 days of minutes */
    sy_health_thresholds_t t = SY_HEALTH_THRESHOLDS_DEFAULTS;
    sy_health_t b = {.success_rate = 0.5, .outcomes = 10000, .requests = 10000};
    sy_health_t w = {.success_rate = 0.5, .outcomes = 1000, .requests = 1000};
    /* 1,000 outcomes: SE 0.0166, 3.0 SEs to the threshold: enough up to z_life 5.3 */
    assert_true(sy_health_window_ready(&b, &w, &t, 1));
    assert_true(sy_health_window_ready(&b, &w, &t, 300));
    assert_false(sy_health_window_ready(&b, &w, &t, 5000));
    w.outcomes = w.requests = 2000;
    assert_true(sy_health_window_ready(&b, &w, &t, 5000));
    assert_true(sy_health_window_ready(&b, &w, &t, 0)); /* no look, no guard */
    w.outcomes = 0;                                     /* samples unknown: the point rule */
    w.outcomes = 100;
    t.confidence = 0;
    assert_true(sy_health_window_ready(&b, &w, &t, 5000));
    /* a threshold of 0: the window is judged, the life z decides (0.5 -> 0.45 over 2,000:
     * z 4.3, past 2.33 but not past 5.6 at the 1,000th look) */
    t = SY_HEALTH_THRESHOLDS_DEFAULTS;
    t.success_rate_drop = 0;
    w = (sy_health_t){.success_rate = 0.45, .outcomes = 2000, .requests = 2000};
    assert_true(sy_health_window_ready(&b, &w, &t, 1000));
    sy_rollback_t r;
    assert_int_equal(sy_health_rollback_at(&b, &w, &t, 1, &r, NULL), 0);
    assert_int_equal(r.reasons, SY_ROLLBACK_SUCCESS_RATE);
    assert_int_equal(sy_health_rollback_at(&b, &w, &t, 1000, &r, NULL), 0);
    assert_false(r.rollback);
    /* a baseline of 1,000 bounds the error from below: late in life no window gets under
     * the bound, and one as informative as the baseline is judged (the life z decides) */
    t = SY_HEALTH_THRESHOLDS_DEFAULTS;
    b = (sy_health_t){.success_rate = 0.5, .outcomes = 1000, .requests = 1000};
    w = (sy_health_t){.success_rate = 0.5, .outcomes = 900, .requests = 900};
    assert_false(sy_health_window_ready(&b, &w, &t, 20000));
    w.outcomes = w.requests = 1000;
    assert_true(sy_health_window_ready(&b, &w, &t, 20000));
    /* a collapse in a window far from ready is a rollback all the same */
    w = (sy_health_t){.success_rate = 0, .outcomes = 100, .requests = 100};
    assert_int_equal(sy_health_rollback_at(&b, &w, &t, 20000, &r, NULL), 0);
    assert_int_equal(r.reasons, SY_ROLLBACK_SUCCESS_RATE);
}

/* Judged at every minute for 5,000 minutes (three and a half days), on windows of 100
 * outcomes a minute that grow until sy_health_window_ready: a healthy variant (0.5 against
 * its baseline of 0.5 over 10,000) is rolled back in none of 200 runs (the bound: 1 %);
 * judged on every 100-outcome window without the guard, in most. A real breach (down 10
 * points at minute 2,500) is rolled back in every run, within about two windows. */
static void health_judged_every_minute_keeps_its_promise(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 2112);
    sy_health_thresholds_t t = SY_HEALTH_THRESHOLDS_DEFAULTS;
    enum { RUNS = 200, LOOKS = 5000, PER_LOOK = 100, BREACH_AT = 2500 };
    int guarded = 0, unguarded = 0, caught = 0, slowest = 0, delay = 0;
    for (int run = 0; run < RUNS; run++) {
        sy_health_t b = {.outcomes = 10000, .requests = 10000};
        b.success_rate = gsl_ran_binomial(rng, 0.5, 10000) / 10000.0;
        int64_t n = 0, k = 0, naive_false = 0;
        bool rolled = false;
        for (int look = 1; look <= LOOKS && !rolled; look++) {
            double p = look >= BREACH_AT ? 0.4 : 0.5;
            unsigned x = gsl_ran_binomial(rng, p, PER_LOOK);
            n += PER_LOOK;
            k += x;
            sy_health_t one = {
                .success_rate = x / (double)PER_LOOK, .outcomes = PER_LOOK, .requests = PER_LOOK};
            sy_rollback_t r;
            if (look < BREACH_AT && !naive_false) {
                assert_int_equal(sy_health_rollback(&b, &one, &t, &r, NULL), 0);
                naive_false = r.success_rate_drop > 0 && r.rollback;
            }
            sy_health_t w = {.success_rate = (double)k / (double)n, .outcomes = n, .requests = n};
            /* as the monitor: judged once the window is ready, or at once on a rollback */
            assert_int_equal(sy_health_rollback_at(&b, &w, &t, look, &r, NULL), 0);
            if (!r.rollback && !sy_health_window_ready(&b, &w, &t, look))
                continue;
            if (r.rollback) {
                rolled = true;
                guarded += look < BREACH_AT;
                if (look >= BREACH_AT) {
                    caught++;
                    delay += look - BREACH_AT;
                    slowest = look - BREACH_AT > slowest ? look - BREACH_AT : slowest;
                }
            }
            n = k = 0;
        }
        unguarded += naive_false > 0;
    }
    gsl_rng_free(rng);
    printf("# health over 5,000 looks: false rollbacks %d of %d (without the guard %d), breach "
           "caught in %d, after %.1f minutes on average (windows of ~15), %d at most\n",
           guarded, RUNS, unguarded, caught, (double)delay / RUNS, slowest);
    assert_int_equal(guarded, 0);
    assert_true(unguarded > RUNS / 2);
    assert_int_equal(caught, RUNS);
    assert_true(delay <= 30 * RUNS && slowest <= 90);
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
        cmocka_unit_test(the_daily_limit_resets_24_hours_after_the_last_change),
        cmocka_unit_test(the_daily_count_runs_while_steps_are_under_24_hours_apart),
        cmocka_unit_test(confidence_and_delta_boundaries),
        cmocka_unit_test(clipped_at_100_and_taken_in_proportion),
        cmocka_unit_test(malformed_steps_are_errors),
        cmocka_unit_test(health_rolls_back_past_either_threshold),
        cmocka_unit_test(health_rolls_back_when_retries_rise_past_5_points),
        cmocka_unit_test(retries_are_judged_as_errors_are),
        cmocka_unit_test(health_needs_evidence_when_the_samples_are_known),
        cmocka_unit_test(health_life_guard_and_window_size),
        cmocka_unit_test(health_judged_every_minute_keeps_its_promise),
        cmocka_unit_test(p95_over_its_limit_rolls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
