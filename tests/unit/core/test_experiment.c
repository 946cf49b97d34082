/* test_experiment.c - promotion eligibility at each boundary: just below and just above
 * every safety threshold, thresholds met to within 1e-9 (decimal settings in doubles),
 * worse treatments, an undefined improvement, and refused inputs. */
#include <string.h>

#include "../harness.h"
#include "core/experiment.h"

static sy_promotion_in_t base(void)
{
    /* 10 % vs 12 %: z 3.2, +20 %: passes everything under the defaults. */
    return (sy_promotion_in_t){.control = {.successes = 500, .trials = 5000},
                               .treatment = {.successes = 600, .trials = 5000},
                               .runtime_hours = 72,
                               .treatment_error_rate = 0.01};
}

static sy_promotion_t judge(const sy_promotion_in_t *in, const sy_safety_t *s)
{
    sy_promotion_t r;
    sy_err_t err = {0};
    if (sy_promotion_eligibility(in, s, &r, &err) < 0)
        fail_msg("refused: %s", err.msg);
    return r;
}

static void all_five_hold(void **state)
{
    (void)state;
    sy_promotion_in_t in = base();
    sy_safety_t s = SY_SAFETY_DEFAULTS;
    sy_promotion_t r = judge(&in, &s);
    assert_true(r.eligible);
    assert_true(r.min_sample && r.min_confidence && r.min_improvement && r.min_runtime &&
                r.max_error_rate);
    assert_close(r.z, 3.1960138605029633, 1e-12, 0);
    assert_close(r.confidence, 0.9986065958207945, 1e-12, 0);
    assert_close(r.improvement_pct, 20.0, 1e-12, 0);
}

static void min_sample_boundary(void **state)
{
    (void)state;
    sy_safety_t s = SY_SAFETY_DEFAULTS;
    s.min_sample_per_variant = 5000;
    sy_promotion_in_t in = base();
    assert_true(judge(&in, &s).min_sample);
    in.control.trials = 4999;
    sy_promotion_t r = judge(&in, &s);
    assert_false(r.min_sample);
    assert_false(r.eligible);
    in = base();
    in.treatment.trials = 4999;
    assert_false(judge(&in, &s).min_sample);
}

static void confidence_boundary(void **state)
{
    (void)state;
    sy_safety_t s = SY_SAFETY_DEFAULTS;
    sy_promotion_in_t in = base();
    double c = judge(&in, &s).confidence;
    s.min_confidence = c + 0.5e-9; /* on the threshold, as far as decimals go */
    assert_true(judge(&in, &s).min_confidence);
    s.min_confidence = c + 2e-9;
    sy_promotion_t r = judge(&in, &s);
    assert_false(r.min_confidence);
    assert_false(r.eligible);
    /* 95 %: z 1.95996 is the line; 100 vs 128 of 1000 each sits just above (z 1.970), 127
     * just below (1.903). */
    s = SY_SAFETY_DEFAULTS;
    in.control = (sy_binom_t){.successes = 100, .trials = 1000};
    in.treatment = (sy_binom_t){.successes = 128, .trials = 1000};
    r = judge(&in, &s);
    assert_true(r.z > 1.95996);
    assert_true(r.min_confidence);
    in.treatment.successes = 127;
    r = judge(&in, &s);
    assert_true(r.z < 1.95996);
    assert_false(r.min_confidence);
}

static void improvement_boundary(void **state)
{
    (void)state;
    sy_safety_t s = SY_SAFETY_DEFAULTS;
    s.min_confidence = 0.5;
    sy_promotion_in_t in = base();
    in.treatment.successes = 525; /* exactly +5 %, which doubles make 5.000000000000004 */
    sy_promotion_t r = judge(&in, &s);
    assert_true(r.min_improvement);
    in.treatment.successes = 524; /* +4.8 % */
    assert_false(judge(&in, &s).min_improvement);
    /* 0.105 / 0.1 in doubles is a hair under 1.05 for some counts: still on the line */
    in.control = (sy_binom_t){.successes = 2000, .trials = 20000};
    in.treatment = (sy_binom_t){.successes = 2100, .trials = 20000};
    assert_true(judge(&in, &s).min_improvement);
}

static void worse_treatment_is_confident_but_not_better(void **state)
{
    (void)state;
    sy_safety_t s = SY_SAFETY_DEFAULTS;
    sy_promotion_in_t in = base();
    in.treatment.successes = 380;
    sy_promotion_t r = judge(&in, &s);
    assert_true(r.z < -3);
    assert_true(r.min_confidence);
    assert_false(r.min_improvement);
    assert_false(r.eligible);
}

static void runtime_and_error_rate_boundaries(void **state)
{
    (void)state;
    sy_safety_t s = SY_SAFETY_DEFAULTS;
    sy_promotion_in_t in = base();
    in.runtime_hours = 48;
    assert_true(judge(&in, &s).min_runtime);
    in.runtime_hours = 47.99;
    assert_false(judge(&in, &s).min_runtime);
    in = base();
    in.treatment_error_rate = 0.02 + 0.03; /* 0.05 by decimals, 0.05000000000000001 here */
    assert_true(judge(&in, &s).max_error_rate);
    in.treatment_error_rate = 0.0501;
    sy_promotion_t r = judge(&in, &s);
    assert_false(r.max_error_rate);
    assert_false(r.eligible);
}

static void undefined_improvement_fails_its_check(void **state)
{
    (void)state;
    sy_safety_t s = SY_SAFETY_DEFAULTS;
    sy_promotion_in_t in = base();
    in.control.successes = 0;
    sy_promotion_t r = judge(&in, &s);
    assert_false(r.has_improvement);
    assert_false(r.min_improvement);
    assert_false(r.eligible);
}

static void refused_inputs(void **state)
{
    (void)state;
    sy_promotion_t r;
    sy_err_t err = {0};
    sy_promotion_in_t in = base();
    sy_safety_t s = SY_SAFETY_DEFAULTS;
    s.min_confidence = 1;
    assert_int_equal(sy_promotion_eligibility(&in, &s, &r, &err), -EINVAL);
    assert_string_equal(err.field, "min_confidence");
    s = SY_SAFETY_DEFAULTS;
    s.max_error_rate = -0.1;
    assert_int_equal(sy_promotion_eligibility(&in, &s, &r, &err), -EINVAL);
    assert_string_equal(err.field, "max_error_rate");
    s = SY_SAFETY_DEFAULTS;
    in.treatment_error_rate = 1.5;
    assert_int_equal(sy_promotion_eligibility(&in, &s, &r, &err), -EINVAL);
    in = base();
    in.control.trials = 0;
    in.control.successes = 0;
    assert_int_equal(sy_promotion_eligibility(&in, &s, &r, &err), SY_ENOTRIALS);
    in = base();
    in.treatment.successes = 6000;
    assert_int_equal(sy_promotion_eligibility(&in, &s, &r, &err), -EINVAL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_five_hold),
        cmocka_unit_test(min_sample_boundary),
        cmocka_unit_test(confidence_boundary),
        cmocka_unit_test(improvement_boundary),
        cmocka_unit_test(worse_treatment_is_confident_but_not_better),
        cmocka_unit_test(runtime_and_error_rate_boundaries),
        cmocka_unit_test(undefined_improvement_fails_its_check),
        cmocka_unit_test(refused_inputs),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
