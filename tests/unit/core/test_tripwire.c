/* test_tripwire.c - the tripwire rule at its boundaries: an 18 % drop under a 25 %
 * threshold does not trigger, exactly the threshold does (0.95 -> 0.76 is 0.2 from the
 * counts), 49 events under a minimum of 50 are not enforced (in the window or the
 * baseline), a mean that flips sign, a negative or zero baseline, and the policy checks. */
#include <math.h>

#include "../harness.h"
#include "core/tripwire.h"

static sy_trip_t rate(int64_t be, int64_t bs, int64_t we, int64_t ws, double max_drop)
{
    sy_trip_policy_t p = SY_TRIP_POLICY_DEFAULTS;
    p.max_drop_fraction = max_drop;
    sy_kpi_window_t b = {.events = be, .successes = bs}, w = {.events = we, .successes = ws};
    sy_trip_t r;
    sy_err_t err = {0};
    if (sy_tripwire_eval(&b, &w, &p, &r, &err) < 0)
        fail_msg("refused: %s (%s)", err.msg, err.field);
    return r;
}

static sy_trip_t mean(double base, double cur)
{
    sy_trip_policy_t p = SY_TRIP_POLICY_DEFAULTS;
    p.measure = SY_TRIP_MEAN;
    p.max_drop_fraction = 0.30;
    p.action = SY_TRIP_KILL_SWITCH;
    sy_kpi_window_t b = {.events = 200, .mean = base}, w = {.events = 50, .mean = cur};
    sy_trip_t r;
    sy_err_t err = {0};
    if (sy_tripwire_eval(&b, &w, &p, &r, &err) < 0)
        fail_msg("refused: %s (%s)", err.msg, err.field);
    return r;
}

static void an_18_pct_drop_under_25_does_not_trigger(void **state)
{
    (void)state;
    sy_trip_t r = rate(200, 170, 50, 35, 0.25); /* 0.85 -> 0.70 */
    assert_true(r.enforced);
    assert_false(r.triggered);
    assert_int_equal(r.action, 0);
    assert_close(r.drop_fraction, 0.15 / 0.85, 1e-15, 0);
    /* ... and just above the threshold it does */
    r = rate(200, 170, 50, 31, 0.25); /* 0.62: a drop of 0.27 */
    assert_true(r.triggered);
    assert_int_equal(r.action, SY_TRIP_THROTTLE);
}

static void exactly_the_threshold_triggers(void **state)
{
    (void)state;
    sy_trip_t r = rate(200, 190, 50, 38, 0.20); /* 0.95 -> 0.76: 0.2 */
    assert_true(r.triggered);
    assert_true(r.drop_fraction == 0.2); /* from the counts, not 0.19999999999999996 */
    r = rate(200, 190, 50, 39, 0.20);    /* 0.78: 0.179 */
    assert_false(r.triggered);
    r = rate(200, 190, 50, 10, 0.20); /* the seed flow: 0.789 */
    assert_true(r.triggered);
    assert_close(r.drop_fraction, 15.0 / 19.0, 1e-15, 0);
}

static void nothing_is_enforced_under_the_minimum(void **state)
{
    (void)state;
    sy_trip_t r = rate(200, 190, 49, 0, 0.20); /* a total collapse, but 49 < 50 */
    assert_false(r.enforced);
    assert_false(r.triggered);
    assert_true(r.has_values);     /* still shown */
    r = rate(49, 49, 50, 0, 0.20); /* the baseline has too few */
    assert_false(r.enforced);
    r = rate(50, 50, 50, 0, 0.20); /* exactly the minimum on both sides */
    assert_true(r.enforced);
    assert_true(r.triggered);
    r = rate(0, 0, 50, 0, 0.20); /* no baseline at all */
    assert_false(r.enforced);
    assert_false(r.has_values);
}

static void improvements_and_zero_rates_never_trigger(void **state)
{
    (void)state;
    sy_trip_t r = rate(200, 150, 50, 45, 0.20);
    assert_close(r.drop_fraction, -0.2, 1e-15, 0);
    assert_false(r.triggered);
    r = rate(200, 0, 50, 0, 0.20); /* a zero rate cannot fall */
    assert_true(r.enforced);
    assert_true(r.drop_fraction == 0);
    assert_false(r.triggered);
}

static void a_mean_that_flips_sign(void **state)
{
    (void)state;
    sy_trip_t r = mean(500, -300);
    assert_true(r.triggered);
    assert_int_equal(r.action, SY_TRIP_KILL_SWITCH);
    assert_close(r.drop_fraction, 1.6, 1e-15, 0);
    r = mean(-100, -200); /* worse below zero is still a drop */
    assert_close(r.drop_fraction, 1.0, 1e-15, 0);
    assert_true(r.triggered);
    r = mean(-200, -100); /* and better is not */
    assert_close(r.drop_fraction, -0.5, 1e-15, 0);
    assert_false(r.triggered);
    r = mean(0, -5); /* no scale: any fall is a drop of 1 */
    assert_true(r.drop_fraction == 1.0);
    assert_true(r.triggered);
    r = mean(0, 5);
    assert_true(r.drop_fraction == 0);
    assert_false(r.triggered);
}

static void bad_policies_and_windows_are_refused(void **state)
{
    (void)state;
    sy_err_t err = {0};
    sy_trip_policy_t p = SY_TRIP_POLICY_DEFAULTS;
    assert_int_equal(sy_trip_policy_check(&p, &err), 0);
    p.window_events = -1;
    assert_int_equal(sy_trip_policy_check(&p, &err), -EINVAL);
    assert_string_equal(err.field, "window_events");
    p = SY_TRIP_POLICY_DEFAULTS;
    p.baseline_events = 49; /* smaller than the window */
    assert_int_equal(sy_trip_policy_check(&p, &err), -EINVAL);
    assert_string_equal(err.field, "baseline_events");
    p = SY_TRIP_POLICY_DEFAULTS;
    p.min_events_to_enforce = 51; /* could never be reached */
    assert_int_equal(sy_trip_policy_check(&p, &err), -EINVAL);
    assert_string_equal(err.field, "min_events_to_enforce");
    p = SY_TRIP_POLICY_DEFAULTS;
    p.max_drop_fraction = 0;
    assert_int_equal(sy_trip_policy_check(&p, &err), -EINVAL);
    assert_string_equal(err.field, "max_drop_fraction");
    p = SY_TRIP_POLICY_DEFAULTS;
    p.action = sy_trip_action_parse("PAUSE");
    assert_int_equal(sy_trip_policy_check(&p, &err), -EINVAL);
    assert_string_equal(err.field, "action");

    p = SY_TRIP_POLICY_DEFAULTS;
    sy_kpi_window_t b = {.events = 10, .successes = 11}, w = {.events = 50, .successes = 1};
    sy_trip_t r;
    assert_int_equal(sy_tripwire_eval(&b, &w, &p, &r, &err), -EINVAL);
    assert_string_equal(err.field, "baseline");
    p.measure = SY_TRIP_MEAN;
    b = (sy_kpi_window_t){.events = 10, .mean = 1};
    w = (sy_kpi_window_t){.events = 50, .mean = NAN};
    assert_int_equal(sy_tripwire_eval(&b, &w, &p, &r, &err), -EINVAL);
    assert_string_equal(err.field, "window");
}

static void names_round_trip(void **state)
{
    (void)state;
    assert_string_equal(sy_trip_action_name(SY_TRIP_KILL_SWITCH), "KILL_SWITCH");
    assert_int_equal(sy_trip_action_parse("THROTTLE"), SY_TRIP_THROTTLE);
    assert_int_equal(sy_trip_action_parse("throttle"), 0);
    assert_int_equal(sy_trip_measure_parse("mean"), SY_TRIP_MEAN);
    assert_null(sy_trip_measure_name(0));
}

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_18_pct_drop_under_25_does_not_trigger),
        cmocka_unit_test(exactly_the_threshold_triggers),
        cmocka_unit_test(nothing_is_enforced_under_the_minimum),
        cmocka_unit_test(improvements_and_zero_rates_never_trigger),
        cmocka_unit_test(a_mean_that_flips_sign),
        cmocka_unit_test(bad_policies_and_windows_are_refused),
        cmocka_unit_test(names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
