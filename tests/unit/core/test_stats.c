/* test_stats.c - tests of src/core/stats.c.
 *
 * The shared conformance vectors check digits over many inputs; these tests pin down
 * behaviour: every degenerate input of stats.h's contract, identities the results must
 * satisfy, and a few reference values (scipy 1.10 / statsmodels 0.13 / mpmath on Debian
 * 12, as noted at each).
 */
#include "../harness.h"

#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "core/stats.h"

static const sy_binom_t c120 = {120, 1000}, t150 = {150, 1000};
static const sy_seq_cfg_t seq_cfg_means = {0.25, 0, 0.05, 5000};

/* ---- Distributions ---------------------------------------------------------------- */

static void norm_sf_keeps_digits_far_in_the_upper_tail(void **state)
{
    (void)state;
    /* scipy.stats.norm.sf(30); 1 - cdf(30) would be exactly 0. */
    assert_close(sy_stats_norm_sf(30), 4.906713927147908e-198, 1e-12, 0);
    assert_close(sy_stats_norm_cdf(-30), 4.906713927147908e-198, 1e-12, 0);
}

static void norm_isf_inverts_sf_down_to_tiny_tails(void **state)
{
    (void)state;
    for (double x = 0.5; x < 37; x += 1.5)
        assert_close(sy_stats_norm_isf(sy_stats_norm_sf(x)), x, 1e-12, 0);
    assert_close(sy_stats_norm_ppf(0.975), -sy_stats_norm_ppf(0.025), 1e-15, 0);
}

static void norm_quantiles_are_nan_outside_the_unit_interval(void **state)
{
    (void)state;
    assert_true(isnan(sy_stats_norm_ppf(-0.1)));
    assert_true(isnan(sy_stats_norm_isf(1.5)));
    assert_true(isnan(sy_stats_norm_ppf(NAN)));
}

static void t_sf_is_accurate_in_the_far_tail_where_gsl_tdist_is_not(void **state)
{
    (void)state;
    /* mpmath betainc at 40 digits: P(T > 20 | df 125) and P(T > 9 | df 45.5). */
    assert_close(sy_stats_t_sf(20, 125), 4.5341222433842435839e-41, 1e-11, 0);
    assert_close(sy_stats_t_sf(9, 45.5), 5.7348530048770719164e-12, 1e-11, 0);
}

static void t_sf_is_continuous_where_the_method_switches(void **state)
{
    (void)state;
    for (double t = 0.5; t < 6; t += 0.5) {
        assert_close(sy_stats_t_sf(t, 30), sy_stats_t_sf(t, 30 + 1e-9), 1e-7, 0);
        assert_close(sy_stats_t_sf(t, 1000), sy_stats_t_sf(t, 1000 - 1e-9), 1e-7, 0);
    }
}

static void t_sf_of_minus_t_is_one_minus_t_sf_of_t(void **state)
{
    (void)state;
    const double dfs[] = {3, 45.5, 500, 5000};
    for (size_t i = 0; i < 4; i++)
        assert_close(sy_stats_t_sf(-1.7, dfs[i]) + sy_stats_t_sf(1.7, dfs[i]), 1, 1e-14, 0);
    assert_true(isnan(sy_stats_t_sf(1, 0)));
    assert_true(isnan(sy_stats_t_sf(NAN, 10)));
}

static void alternative_names_round_trip_and_unknown_is_refused(void **state)
{
    (void)state;
    const sy_alt_t alts[] = {SY_ALT_TWO_SIDED, SY_ALT_LARGER, SY_ALT_SMALLER};
    for (size_t i = 0; i < 3; i++) {
        sy_alt_t got;
        assert_int_equal(sy_stats_alt_parse(sy_stats_alt_name(alts[i]), &got), 0);
        assert_int_equal(got, alts[i]);
    }
    sy_alt_t got = SY_ALT_LARGER;
    assert_int_equal(sy_stats_alt_parse("greater", &got), -EINVAL);
    assert_int_equal(got, SY_ALT_LARGER);
}

/* ---- z-test ------------------------------------------------------------------------ */

static void ztest_pooled_matches_statsmodels(void **state)
{
    (void)state;
    sy_ztest_t r;
    assert_int_equal(sy_stats_ztest(&c120, &t150, SY_ALT_TWO_SIDED, true, 0.95, &r, NULL), 0);
    /* proportions_ztest([150, 120], [1000, 1000]) */
    assert_close(r.z, 1.963049807622355, 1e-12, 0);
    assert_close(r.p_value, 0.04964038686536878, 1e-12, 0);
    /* confint_proportions_2indep(..., method='wald') */
    assert_close(r.diff_ci_low, 7.60288212977786e-05, 1e-9, 0);
    assert_close(r.diff_ci_high, 0.05992397117870222, 1e-12, 0);
    assert_true(r.has_lift);
    assert_close(r.lift, 0.25, 1e-12, 0);
}

static void ztest_unpooled_matches_statsmodels_wald(void **state)
{
    (void)state;
    sy_ztest_t r;
    assert_int_equal(sy_stats_ztest(&c120, &t150, SY_ALT_TWO_SIDED, false, 0.95, &r, NULL), 0);
    assert_close(r.z, 1.964943729729648, 1e-12, 0);
    assert_close(r.p_value, 0.04942075065958091, 1e-12, 0);
}

static void ztest_one_sided_p_values_split_the_two_sided_one(void **state)
{
    (void)state;
    sy_ztest_t two, larger, smaller;
    sy_stats_ztest(&c120, &t150, SY_ALT_TWO_SIDED, true, 0.95, &two, NULL);
    sy_stats_ztest(&c120, &t150, SY_ALT_LARGER, true, 0.95, &larger, NULL);
    sy_stats_ztest(&c120, &t150, SY_ALT_SMALLER, true, 0.95, &smaller, NULL);
    assert_close(larger.p_value + smaller.p_value, 1, 1e-15, 0);
    assert_close(two.p_value, 2 * larger.p_value, 1e-14, 0);
    assert_true(larger.p_value < smaller.p_value);
}

static void ztest_equal_rates_give_z_zero_and_one_sided_p_one_half(void **state)
{
    (void)state;
    sy_binom_t a = {100, 1000}, b = {100, 1000};
    sy_ztest_t r;
    assert_int_equal(sy_stats_ztest(&a, &b, SY_ALT_LARGER, false, 0.95, &r, NULL), 0);
    assert_true(r.z == 0);
    assert_close(r.p_value, 0.5, 1e-15, 0);
}

static void ztest_zero_se_with_equal_rates_is_z0_p1_for_every_alternative(void **state)
{
    (void)state;
    const sy_binom_t zeros = {0, 100}, ones = {50, 50};
    for (int alt = SY_ALT_TWO_SIDED; alt <= SY_ALT_SMALLER; alt++) {
        sy_ztest_t r;
        assert_int_equal(sy_stats_ztest(&zeros, &zeros, alt, true, 0.95, &r, NULL), 0);
        assert_true(r.z == 0 && r.p_value == 1);
        assert_true(r.diff_ci_low == 0 && r.diff_ci_high == 0);
        assert_false(r.has_lift); /* control rate 0 */
        assert_int_equal(sy_stats_ztest(&ones, &ones, alt, false, 0.95, &r, NULL), 0);
        assert_true(r.z == 0 && r.p_value == 1);
        assert_true(r.has_lift && r.lift == 0 && r.lift_ci_low == 0 && r.lift_ci_high == 0);
    }
}

static void ztest_refuses_perfect_separation_unpooled_as_zero_variance(void **state)
{
    (void)state;
    sy_binom_t all = {5, 5}, none = {0, 5};
    sy_ztest_t r;
    sy_err_t err;
    assert_int_equal(sy_stats_ztest(&all, &none, SY_ALT_TWO_SIDED, false, 0.95, &r, &err),
                     SY_EZEROVAR);
    assert_int_equal(err.code, SY_EZEROVAR);
    /* Pooled, the SE is not 0: the test is defined. */
    assert_int_equal(sy_stats_ztest(&all, &none, SY_ALT_TWO_SIDED, true, 0.95, &r, NULL), 0);
    assert_true(isfinite(r.z) && r.z < 0);
}

static void ztest_refuses_bad_counts_naming_the_field(void **state)
{
    (void)state;
    struct {
        sy_binom_t c, t;
        int code;
        const char *field;
    } cases[] = {
        {{-1, 10}, {5, 10}, -EINVAL, "control.successes"},
        {{1, -10}, {5, 10}, -EINVAL, "control.trials"},
        {{11, 10}, {5, 10}, -EINVAL, "control.successes"},
        {{1, 10}, {12, 10}, -EINVAL, "treatment.successes"},
        {{0, 0}, {5, 10}, SY_ENOTRIALS, "control.trials"},
        {{1, 10}, {0, 0}, SY_ENOTRIALS, "treatment.trials"},
        {{1, 10}, {1, INT64_C(1) << 53}, -EINVAL, "treatment.trials"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sy_ztest_t r;
        sy_err_t err;
        assert_int_equal(
            sy_stats_ztest(&cases[i].c, &cases[i].t, SY_ALT_TWO_SIDED, true, 0.95, &r, &err),
            cases[i].code);
        assert_string_equal(err.field, cases[i].field);
    }
}

static void ztest_refuses_confidence_outside_the_open_unit_interval(void **state)
{
    (void)state;
    const double bad[] = {0, 1, -0.5, 95, NAN, INFINITY};
    for (size_t i = 0; i < 6; i++) {
        sy_ztest_t r;
        sy_err_t err;
        assert_int_equal(sy_stats_ztest(&c120, &t150, SY_ALT_TWO_SIDED, true, bad[i], &r, &err),
                         -EINVAL);
        assert_string_equal(err.field, "confidence");
    }
}

static void ztest_failure_leaves_the_result_untouched(void **state)
{
    (void)state;
    sy_binom_t bad = {11, 10};
    sy_ztest_t r, before;
    memset(&r, 0x5a, sizeof(r));
    memcpy(&before, &r, sizeof(r));
    assert_int_equal(sy_stats_ztest(&bad, &t150, SY_ALT_TWO_SIDED, true, 0.95, &r, NULL), -EINVAL);
    assert_memory_equal(&r, &before, sizeof(r));
}

static void ztest_counts_beyond_32_bits_are_exact(void **state)
{
    (void)state;
    sy_binom_t c = {300000000, INT64_C(3000000000)}, t = {303000000, INT64_C(3000000000)};
    sy_ztest_t r;
    assert_int_equal(sy_stats_ztest(&c, &t, SY_ALT_TWO_SIDED, false, 0.95, &r, NULL), 0);
    assert_close(r.diff, 0.001, 1e-12, 0);
    assert_close(r.lift, 0.01, 1e-10, 0);
    assert_true(r.p_value < 1e-100 && r.p_value >= 0);
}

static void ztest_intervals_widen_with_confidence(void **state)
{
    (void)state;
    sy_ztest_t r90, r99;
    sy_stats_ztest(&c120, &t150, SY_ALT_TWO_SIDED, true, 0.90, &r90, NULL);
    sy_stats_ztest(&c120, &t150, SY_ALT_TWO_SIDED, true, 0.99, &r99, NULL);
    assert_true(r99.diff_ci_low < r90.diff_ci_low && r99.diff_ci_high > r90.diff_ci_high);
    assert_true(r99.lift_ci_low < r90.lift_ci_low && r99.lift_ci_high > r90.lift_ci_high);
    assert_close(r90.z, r99.z, 0, 0); /* z does not depend on the level */
}

/* ---- Welch -------------------------------------------------------------------------- */

/* ---- running moments ---------------------------------------------------------------- */

/* `n` values offset + 10, offset - 10, offset + 10, ... (n even): mean offset, sd
 * 10 sqrt(n / (n - 1)) exactly. */
static sy_welford_t around(double offset, double shift_by, int n)
{
    sy_welford_t w = {0};
    for (int i = 0; i < n; i++)
        sy_welford_add(&w, offset + shift_by + (i % 2 ? -10.0 : 10.0));
    return w;
}

static void welford_keeps_the_sd_under_any_offset(void **state)
{
    (void)state;
    const double offsets[] = {0, 1e3, 1e6, 1e9, 1e12, -1e12};
    for (size_t k = 0; k < sizeof(offsets) / sizeof(offsets[0]); k++) {
        sy_welford_t w = around(offsets[k], 0, 2000);
        sy_moments_t m = sy_welford_moments(&w);
        assert_int_equal(m.n, 2000);
        assert_close(m.sd, 10 * sqrt(2000.0 / 1999), 1e-13, 0);
        assert_close((m.mean - offsets[k]) + m.mean_lo, 0, 0, 1e-25 * fabs(offsets[k]) + 1e-30);
    }
}

/* The case: 2,000 values a side at 1e9 and 1e12, a difference of 1: the same test
 * as from the exact moments. (The sums gave sds of 37,082 and 0 at 1e12, and p = 0.33
 * where the truth is about 3e-4 at 1e9.) */
static void welch_from_values_under_an_offset_is_the_exact_test(void **state)
{
    (void)state;
    sy_moments_t exact_c = {0, 10 * sqrt(2000.0 / 1999), 2000, 0};
    sy_moments_t exact_t = {1, 10 * sqrt(2000.0 / 1999), 2000, 0};
    sy_welch_t want, got;
    assert_int_equal(sy_stats_welch(&exact_c, &exact_t, SY_ALT_TWO_SIDED, 0.95, &want, NULL), 0);
    const double offsets[] = {1e3, 1e9, 1e12};
    for (size_t k = 0; k < sizeof(offsets) / sizeof(offsets[0]); k++) {
        sy_welford_t c = around(offsets[k], 0, 2000), t = around(offsets[k], 1, 2000);
        sy_moments_t mc = sy_welford_moments(&c), mt = sy_welford_moments(&t);
        assert_int_equal(sy_stats_welch(&mc, &mt, SY_ALT_TWO_SIDED, 0.95, &got, NULL), 0);
        assert_close(got.diff, 1, 1e-12, 0);
        assert_close(got.t, want.t, 1e-12, 0);
        assert_close(got.df, want.df, 1e-12, 0);
        assert_close(got.p_value, want.p_value, 1e-10, 0);
        assert_close(got.diff_ci_low, want.diff_ci_low, 1e-12, 0);
    }
}

/* Values near 1e-300: squares would be 1e-600. The test is the test of the values scaled
 * by 2^1000, which changes no statistic. */
static void welch_from_tiny_values_is_not_zero_variance(void **state)
{
    (void)state;
    sy_welford_t c = {0}, t = {0}, c_big = {0}, t_big = {0};
    for (int i = 0; i < 200; i++) {
        double v = 1 + (double)(i % 7) / 10, u = 1.05 + (double)(i % 5) / 10;
        sy_welford_add(&c, v * 1e-300);
        sy_welford_add(&t, u * 1e-300);
        sy_welford_add(&c_big, ldexp(v * 1e-300, 1000));
        sy_welford_add(&t_big, ldexp(u * 1e-300, 1000));
    }
    sy_moments_t mc = sy_welford_moments(&c), mt = sy_welford_moments(&t);
    sy_moments_t bc = sy_welford_moments(&c_big), bt = sy_welford_moments(&t_big);
    assert_true(mc.sd > 1e-302 && mc.sd < 1e-300);
    assert_close(ldexp(mc.sd, 1000), bc.sd, 1e-14, 0);
    sy_welch_t small, big;
    assert_int_equal(sy_stats_welch(&mc, &mt, SY_ALT_TWO_SIDED, 0.95, &small, NULL), 0);
    assert_int_equal(sy_stats_welch(&bc, &bt, SY_ALT_TWO_SIDED, 0.95, &big, NULL), 0);
    assert_close(small.t, big.t, 1e-13, 0);
    assert_close(small.p_value, big.p_value, 1e-12, 0);
    /* The sequential look too, at 1e-150 (where tau^2, a double, still exists): looked at
     * scaled, it is the look at the values times 2^500. */
    sy_welford_t c2 = {0}, t2 = {0}, c2_big = {0}, t2_big = {0};
    for (int i = 0; i < 200; i++) {
        double v = 1 + (double)(i % 7) / 10, u = 1.05 + (double)(i % 5) / 10;
        sy_welford_add(&c2, v * 1e-150);
        sy_welford_add(&t2, u * 1e-150);
        sy_welford_add(&c2_big, ldexp(v * 1e-150, 500));
        sy_welford_add(&t2_big, ldexp(u * 1e-150, 500));
    }
    mc = sy_welford_moments(&c2);
    mt = sy_welford_moments(&t2);
    bc = sy_welford_moments(&c2_big);
    bt = sy_welford_moments(&t2_big);
    sy_seq_cfg_t cfg = {.tau_squared = 1e-302, .alpha = 0.05, .gb_tuning = 5000};
    sy_seq_cfg_t cfg_big = {.tau_squared = ldexp(1e-302, 1000), .alpha = 0.05, .gb_tuning = 5000};
    sy_seq_look_t ls, lb;
    assert_int_equal(sy_stats_seq_look_mean(&cfg, &mc, &mt, 1, &ls, NULL), 0);
    assert_int_equal(sy_stats_seq_look_mean(&cfg_big, &bc, &bt, 1, &lb, NULL), 0);
    assert_true(ls.always_valid_p < 1);
    assert_close(ls.always_valid_p, lb.always_valid_p, 1e-10, 0);
}

/* A value changed in place, and two partial aggregates merged, give the moments of the
 * values as they end. */
static void welford_replace_and_merge_agree_with_one_pass(void **state)
{
    (void)state;
    double x[300];
    uint32_t r = 12345;
    for (int i = 0; i < 300; i++) {
        r = r * 1664525u + 1013904223u;
        x[i] = 1e9 + (double)(r >> 8) / 65536.0;
    }
    sy_welford_t once = {0};
    for (int i = 0; i < 300; i++)
        sy_welford_add(&once, x[i] + (i % 3 == 0 ? 2.5 : 0));
    /* every third value grows by 2.5 after it was counted */
    sy_welford_t grown = {0};
    for (int i = 0; i < 300; i++)
        sy_welford_add(&grown, x[i]);
    for (int i = 0; i < 300; i += 3)
        sy_welford_replace(&grown, x[i], x[i] + 2.5);
    /* in three parts, merged */
    sy_welford_t a = {0}, b = {0}, c = {0}, merged = {0};
    for (int i = 0; i < 300; i++)
        sy_welford_add(i < 100 ? &a : i < 130 ? &b : &c, x[i] + (i % 3 == 0 ? 2.5 : 0));
    sy_welford_merge(&merged, &a);
    sy_welford_merge(&merged, &b);
    sy_welford_merge(&merged, &c);
    sy_moments_t m1 = sy_welford_moments(&once), m2 = sy_welford_moments(&grown),
                 m3 = sy_welford_moments(&merged);
    assert_int_equal(m2.n, 300);
    assert_int_equal(m3.n, 300);
    assert_close(m2.sd, m1.sd, 1e-12, 0);
    assert_close(m3.sd, m1.sd, 1e-12, 0);
    assert_close((m2.mean - m1.mean) + (m2.mean_lo - m1.mean_lo), 0, 0, 1e-9);
    assert_close((m3.mean - m1.mean) + (m3.mean_lo - m1.mean_lo), 0, 0, 1e-9);
    /* nothing, one value */
    sy_welford_t none = {0}, one = {0};
    assert_int_equal(sy_welford_moments(&none).n, 0);
    sy_welford_add(&one, 7);
    assert_true(sy_welford_moments(&one).mean == 7 && sy_welford_moments(&one).sd == 0);
}

/* Periods the sequential SRM cannot judge, units where none should be, bad input. */
static void srm_seq_untested_periods_and_impossible_units(void **state)
{
    (void)state;
    sy_srm_seq_t s;
    double half[] = {1, 1, 0}, all_a[] = {1, 0, 0};
    assert_int_equal(sy_srm_seq_start(&s, half, 3, 1000, NULL), 0);
    int64_t x[] = {520, 480, 0};
    assert_int_equal(sy_srm_seq_look(&s, x, NULL), 0);
    double log_e = sy_srm_seq_log_e(&s), p = s.p;
    /* everything on a: untested, its Bayes factor 1 */
    assert_int_equal(sy_srm_seq_period(&s, all_a, NULL), 0);
    assert_true(s.untested);
    int64_t y[] = {5000, 0, 0};
    assert_int_equal(sy_srm_seq_look(&s, y, NULL), 0);
    assert_close(sy_srm_seq_log_e(&s), log_e, 0, 1e-15);
    assert_close(s.p, p, 0, 1e-15);
    /* back to half and half: the first period's evidence is kept */
    assert_int_equal(sy_srm_seq_period(&s, half, NULL), 0);
    assert_false(s.untested);
    assert_close(sy_srm_seq_log_e(&s), log_e, 0, 1e-15);
    /* a unit in the variant of weight 0 is a mismatch for certain */
    int64_t z[] = {0, 0, 1};
    assert_int_equal(sy_srm_seq_look(&s, z, NULL), 0);
    assert_true(s.p == 0);
    /* bad input */
    double one[] = {1, 0};
    assert_int_equal(sy_srm_seq_start(&s, one, 2, 1000, NULL), -EINVAL);
    assert_int_equal(sy_srm_seq_start(&s, half, 3, 0, NULL), -EINVAL);
    assert_int_equal(sy_srm_seq_start(&s, half, 1, 1000, NULL), -EINVAL);
    assert_int_equal(sy_srm_seq_start(&s, half, 3, 1000, NULL), 0);
    int64_t neg[] = {-1, 0, 0};
    assert_int_equal(sy_srm_seq_look(&s, neg, NULL), -EINVAL);
}

/* Runs of an experiment assigning `n_looks` looks of `per_look` units, its arms' units each
 * drawn binomially from `served` (what assignment really does) while the test expects
 * `split` (the weights); halfway, the split moves to `split2` (and what is served with it,
 * to `served2`). Returns how many of `runs` runs raised the alarm (p < 0.001) at any look;
 * `at` gets the mean units seen when it first rose, over the runs that raised it. */
static int srm_runs(int runs, int n_looks, int per_look, const double *split, const double *served,
                    const double *split2, const double *served2, double *at)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20261206);
    int alarms = 0;
    double units_sum = 0;
    for (int r = 0; r < runs; r++) {
        sy_srm_mix_t m;
        assert_int_equal(sy_srm_mix_start(&m, split, 2, NULL), 0);
        const double *now = served;
        for (int l = 0; l < n_looks; l++) {
            if (l == n_looks / 2 && split2) {
                assert_int_equal(sy_srm_mix_period(&m, split2, NULL), 0);
                now = served2;
            }
            int64_t a =
                (int64_t)gsl_ran_binomial(rng, now[0] / (now[0] + now[1]), (unsigned)per_look);
            int64_t x[2] = {a, per_look - a};
            assert_int_equal(sy_srm_mix_look(&m, x, NULL), 0);
            if (m.p < 0.001) {
                alarms++;
                units_sum += (double)(l + 1) * per_look;
                break;
            }
        }
    }
    gsl_rng_free(rng);
    if (at)
        *at = alarms ? units_sum / alarms : 0;
    return alarms;
}

/* Looked at 100 times over 100,000 units and a change of split, a healthy assignment raises
 * the anytime-valid alarm in at most its alpha of runs (the chi-square read at every look
 * would in several times that); a broken one (a variant losing a fifth of its units, or
 * served 50/50 where 80/20 is meant) is caught in every run, within a few thousand units;
 * 2 % of one arm's units lost is caught by 200,000 units a variant in nearly every run
 * (and by 200,000 in all in about 60 %: any one concentration does no better than 70). */
static void srm_mix_keeps_its_alpha_under_many_looks(void **state)
{
    (void)state;
    const double half[] = {1, 1}, skew[] = {4, 1}, lossy[] = {1, 0.8}, slight[] = {1, 0.98};
    double at;
    int false_alarms = srm_runs(2000, 100, 1000, half, half, skew, skew, &at);
    printf("# srm: %d false alarms in 2000 healthy runs of 100 looks\n", false_alarms);
    assert_true(false_alarms <= 4); /* alpha 0.001: 2 expected at most */
    int caught = srm_runs(200, 100, 100, half, lossy, NULL, NULL, &at);
    printf("# srm: a 20 %% loss caught in %d of 200 runs, after %.0f units on average\n", caught,
           at);
    assert_int_equal(caught, 200);
    assert_true(at < 3000);
    caught = srm_runs(200, 20, 100, half, half, skew, half, &at);
    printf("# srm: 50/50 served for 80/20 caught in %d of 200 runs\n", caught);
    assert_int_equal(caught, 200);
    caught = srm_runs(300, 80, 5000, half, slight, NULL, NULL, &at);
    printf("# srm: a 2 %% loss caught by 200,000 units a variant in %d of 300 runs\n", caught);
    assert_true(caught >= 270);
    caught = srm_runs(300, 40, 5000, half, slight, NULL, NULL, &at);
    printf("# srm: ... and by 200,000 units in all in %d of 300 runs\n", caught);
    assert_true(caught >= 150);
}

/* The interval's t quantile to ~1e-12 (GSL's own is off by 4e-9 near 40 degrees of
 * freedom): equal sds and sizes give df = 2 (n - 1); references from mpmath at 40 digits. */
static void welch_interval_quantile_is_exact(void **state)
{
    (void)state;
    const struct {
        int64_t n;
        double q;
    } cases[] = {{16, 2.0422724563012383},
                 {21, 2.0210753903062734},
                 {51, 1.9839715185235523},
                 {351, 1.9633587110998188}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        sy_moments_t c = {0, 3, cases[k].n, 0}, t = {0, 3, cases[k].n, 0};
        sy_welch_t w;
        assert_int_equal(sy_stats_welch(&c, &t, SY_ALT_TWO_SIDED, 0.95, &w, NULL), 0);
        double se = 3 * sqrt(2.0 / (double)cases[k].n);
        assert_close(w.diff_ci_high / se, cases[k].q, 1e-12, 0);
    }
}

/* The rule's promotion probability against the rule itself, run on binomial draws: the
 * pooled z-test at n with the lift gate, and the mixture SPRT's running p at every look
 * (sy_stats_seq_look_prop, as the engine looks) with the gate at that look. At the n
 * sy_stats_rule_sample gives for 80 %, each promotes in 80 % of 2,000 runs within a few
 * points; a plan for a lift equal to the gate cannot reach 80 % at a fixed horizon. */
static double rule_by_draws(const sy_rule_plan_t *p, int64_t n, int runs)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 99);
    double pc = p->baseline, pt = pc * (1 + p->lift);
    double m = p->min_improvement, tau = (m > 0.01 ? m : 0.01) * pc;
    sy_seq_cfg_t cfg = {.tau_squared = tau * tau, .alpha = p->alpha, .gb_tuning = 5000};
    int promoted = 0;
    for (int r = 0; r < runs; r++) {
        sy_binom_t c = {0, 0}, t = {0, 0};
        double prev = 1;
        int64_t step = p->units_per_look > 0 ? p->units_per_look : n;
        for (int64_t k = step; k <= n; k += step) {
            c.successes += gsl_ran_binomial(rng, pc, (unsigned)step);
            t.successes += gsl_ran_binomial(rng, pt, (unsigned)step);
            c.trials = t.trials = k;
            double lift = c.successes ? (double)t.successes / (double)c.successes - 1 : 0;
            bool sig;
            if (p->sequential) {
                sy_seq_look_t look;
                assert_int_equal(sy_stats_seq_look_prop(&cfg, &c, &t, prev, &look, NULL), 0);
                prev = look.always_valid_p;
                sig = prev < p->alpha;
            } else {
                sy_ztest_t z;
                assert_int_equal(sy_stats_ztest(&c, &t, SY_ALT_TWO_SIDED, true, 0.95, &z, NULL), 0);
                sig = z.p_value < p->alpha;
            }
            if (sig && lift >= m && k >= p->min_sample) {
                promoted++;
                break;
            }
        }
    }
    gsl_rng_free(rng);
    return (double)promoted / runs;
}

static void rule_power_is_the_rules(void **state)
{
    (void)state;
    sy_rule_plan_t p = {.baseline = 0.10,
                        .lift = 0.15,
                        .min_improvement = 0.05,
                        .alpha = 0.05,
                        .units_per_look = 0, /* the fixed-horizon test read once */
                        .min_sample = 1000};
    int64_t n;
    double power;
    assert_int_equal(sy_stats_rule_sample(&p, 0.8, 100000000, &n, NULL), 0);
    assert_int_equal(sy_stats_rule_power(&p, n, &power, NULL), 0);
    assert_close(power, 0.8, 0, 0.001);
    double got = rule_by_draws(&p, n, 2000);
    printf("# rule power, fixed horizon: planned 0.80 at n = %lld, promoted %.3f\n", (long long)n,
           got);
    assert_close(got, 0.8, 0, 0.04);
    /* the same test read at every look of 500 units (as the engine's hourly checks read it)
     * promotes sooner: its plan says so, and the draws agree */
    p.units_per_look = 500;
    int64_t n_looked;
    assert_int_equal(sy_stats_rule_sample(&p, 0.8, 100000000, &n_looked, NULL), 0);
    assert_int_equal(sy_stats_rule_power(&p, n_looked, &power, NULL), 0);
    got = rule_by_draws(&p, n_looked, 2000);
    printf("# rule power, fixed horizon read every 500 units: planned %.3f at n = %lld, "
           "promoted %.3f\n",
           power, (long long)n_looked, got);
    assert_true(n_looked < n);
    assert_close(got, power, 0, 0.04);
    p.sequential = true;
    assert_int_equal(sy_stats_rule_sample(&p, 0.8, 100000000, &n, NULL), 0);
    assert_int_equal(sy_stats_rule_power(&p, n, &power, NULL), 0);
    got = rule_by_draws(&p, n, 2000);
    printf("# rule power, sequential: planned %.3f at n = %lld, promoted %.3f\n", power,
           (long long)n, got);
    assert_close(got, power, 0, 0.05);
    assert_true(n % p.units_per_look == 0);
    /* the gate at the true lift: half the time at most, read once */
    p.sequential = false;
    p.units_per_look = 0;
    p.lift = 0.05;
    assert_int_equal(sy_stats_rule_sample(&p, 0.8, 100000000, &n, NULL), -ERANGE);
    assert_int_equal(sy_stats_rule_power(&p, 10000000, &power, NULL), 0);
    assert_true(power <= 0.5 + 1e-9);
    /* bad plans */
    p.baseline = 1;
    assert_int_equal(sy_stats_rule_power(&p, 1000, &power, NULL), -EINVAL);
}

/* The curve the engine keeps answers as the functions do: its power within a point of
 * sy_stats_rule_power at any n, its 80 % point at sy_stats_rule_sample's n. */
static void rule_curve_is_the_power(void **state)
{
    (void)state;
    sy_rule_plan_t p = {.baseline = 0.10,
                        .lift = 0.15,
                        .min_improvement = 0.05,
                        .alpha = 0.05,
                        .units_per_look = 500,
                        .min_sample = 1000};
    for (int seq = 0; seq < 2; seq++) {
        p.sequential = seq;
        sy_rule_curve_t c;
        assert_int_equal(sy_stats_rule_curve(&p, 200000, &c, NULL), 0);
        int64_t n;
        assert_int_equal(sy_stats_rule_sample(&p, 0.8, 200000, &n, NULL), 0);
        assert_int_equal(sy_rule_curve_units(&c, 0.8), n);
        for (int64_t k = 1000; k <= 30000; k += 3500) {
            double want;
            assert_int_equal(sy_stats_rule_power(&p, k, &want, NULL), 0);
            assert_close(sy_rule_curve_power(&c, k), want, 0, 0.011);
        }
        assert_true(sy_rule_curve_power(&c, 0) < 0.01);
    }
    p.lift = 0.05; /* the gate, read once: not reached */
    p.sequential = false;
    p.units_per_look = 0;
    sy_rule_curve_t c;
    assert_int_equal(sy_stats_rule_curve(&p, 200000, &c, NULL), 0);
    assert_int_equal(sy_rule_curve_units(&c, 0.8), INT64_MAX);
    assert_int_equal(sy_stats_rule_curve(&p, 0, &c, NULL), -EINVAL);
}

/* The rule on a mean metric, against the rule itself on lognormal values (Welch read once,
 * the gate on the observed lift), unequal arms (twice the treatment's units): the planned
 * 80 % comes in 80 % of 1,000 runs within a few points. */
static void rule_power_of_a_mean(void **state)
{
    (void)state;
    double mu = 3, s = 0.8; /* lognormal: mean e^(mu + s^2/2), sd mean * sqrt(e^(s^2) - 1) */
    double mean_c = exp(mu + s * s / 2), sd_c = mean_c * sqrt(expm1(s * s));
    double lift = 0.08, shift = log1p(lift);
    sy_rule_plan_t p = {.baseline = mean_c,
                        .lift = lift,
                        .min_improvement = 0.03,
                        .alpha = 0.05,
                        .min_sample = 100,
                        .mean = true,
                        .sd_control = sd_c,
                        .sd_treatment = sd_c * (1 + lift),
                        .ratio = 2};
    int64_t n;
    assert_int_equal(sy_stats_rule_sample(&p, 0.8, 10000000, &n, NULL), 0);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    int promoted = 0, runs = 1000;
    for (int r = 0; r < runs; r++) {
        sy_welford_t wc = {0}, wt = {0};
        for (int64_t k = 0; k < n; k++)
            sy_welford_add(&wc, gsl_ran_lognormal(rng, mu, s));
        for (int64_t k = 0; k < 2 * n; k++)
            sy_welford_add(&wt, gsl_ran_lognormal(rng, mu + shift, s));
        sy_moments_t mc = sy_welford_moments(&wc), mt = sy_welford_moments(&wt);
        sy_welch_t w;
        assert_int_equal(sy_stats_welch(&mc, &mt, SY_ALT_TWO_SIDED, 0.95, &w, NULL), 0);
        promoted += w.p_value < p.alpha && w.diff / mc.mean >= p.min_improvement;
    }
    gsl_rng_free(rng);
    double got = (double)promoted / runs;
    printf("# rule power, mean metric (lognormal, 1:2): planned 0.80 at n = %lld, promoted %.3f\n",
           (long long)n, got);
    assert_close(got, 0.8, 0, 0.04);
}

static void welch_matches_scipy(void **state)
{
    (void)state;
    sy_moments_t c = {10.0, 2.0, 100, 0}, t = {10.6, 2.2, 120, 0};
    sy_welch_t r;
    assert_int_equal(sy_stats_welch(&c, &t, SY_ALT_TWO_SIDED, 0.95, &r, NULL), 0);
    /* ttest_ind_from_stats(10.6, 2.2, 120, 10.0, 2.0, 100, equal_var=False) */
    assert_close(r.t, 2.116914689076976, 1e-12, 0);
    assert_close(r.p_value, 0.035409478599835606, 1e-11, 0);
    assert_true(r.has_df && r.df > 200 && r.df < 218);
    assert_true(r.diff_ci_low > 0 && r.diff_ci_high > r.diff); /* p < 0.05: CI excludes 0 */
}

static void welch_with_one_sd_zero_takes_the_other_arms_df(void **state)
{
    (void)state;
    sy_moments_t c = {5, 0, 10, 0}, t = {6, 2, 25, 0};
    sy_welch_t r;
    assert_int_equal(sy_stats_welch(&c, &t, SY_ALT_TWO_SIDED, 0.95, &r, NULL), 0);
    assert_close(r.df, 24, 1e-14, 0);
}

static void welch_both_sds_zero_and_equal_means_is_t0_p1_without_df(void **state)
{
    (void)state;
    sy_moments_t c = {5, 0, 10, 0}, t = {5, 0, 10, 0};
    sy_welch_t r;
    assert_int_equal(sy_stats_welch(&c, &t, SY_ALT_LARGER, 0.95, &r, NULL), 0);
    assert_true(r.t == 0 && r.p_value == 1 && !r.has_df);
}

static void welch_refuses_degenerate_inputs_with_their_codes(void **state)
{
    (void)state;
    struct {
        sy_moments_t c, t;
        int code;
        const char *field;
    } cases[] = {
        {{5, 0, 10, 0}, {6, 0, 10, 0}, SY_EZEROVAR, ""},
        {{1, 1, 1, 0}, {2, 1, 5, 0}, SY_ETOOFEW, "control.n"},
        {{1, 1, 5, 0}, {2, 1, 0, 0}, SY_ETOOFEW, "treatment.n"},
        {{1, -1, 5, 0}, {1, 1, 5, 0}, -EINVAL, "control.sd"},
        {{NAN, 1, 5, 0}, {1, 1, 5, 0}, -EINVAL, "control.mean"},
        {{1, 1, 5, 0}, {1, INFINITY, 5, 0}, -EINVAL, "treatment.sd"},
        {{1, 1, -5, 0}, {1, 1, 5, 0}, -EINVAL, "control.n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sy_welch_t r;
        sy_err_t err;
        assert_int_equal(sy_stats_welch(&cases[i].c, &cases[i].t, SY_ALT_TWO_SIDED, 0.95, &r, &err),
                         cases[i].code);
        assert_string_equal(err.field, cases[i].field);
    }
}

static void welch_df_survives_extreme_variances(void **state)
{
    (void)state;
    sy_moments_t c = {0, 1e-200, 10, 0}, t = {1e-199, 1e-200, 20, 0};
    sy_welch_t r;
    assert_int_equal(sy_stats_welch(&c, &t, SY_ALT_TWO_SIDED, 0.95, &r, NULL), 0);
    assert_true(isfinite(r.df) && r.df >= 9 && r.df <= 28);
    sy_moments_t big_c = {0, 1e200, 10, 0}, big_t = {1, 1e200, 20, 0};
    assert_int_equal(sy_stats_welch(&big_c, &big_t, SY_ALT_TWO_SIDED, 0.95, &r, NULL), 0);
    assert_true(isfinite(r.df) && isfinite(r.p_value));
}

static void results_beyond_double_range_are_refused_not_infinite(void **state)
{
    (void)state;
    sy_moments_t lo = {-1e308, 1, 10, 0}, hi = {1e308, 1, 10, 0};
    sy_welch_t w;
    sy_err_t err;
    assert_int_equal(sy_stats_welch(&lo, &hi, SY_ALT_TWO_SIDED, 0.95, &w, &err), -ERANGE);
    assert_string_equal(sy_err_name(err.code), "out_of_range");
    sy_moments_t wide = {0, 1e200, 10, 0};
    sy_seq_look_t r;
    assert_int_equal(sy_stats_seq_look_mean(&seq_cfg_means, &wide, &wide, 1, &r, NULL), -ERANGE);
}

/* ---- SRM ---------------------------------------------------------------------------- */

static void srm_on_the_intended_split_is_chi2_zero_p_one(void **state)
{
    (void)state;
    int64_t obs[] = {500, 500};
    double w[] = {50, 50};
    sy_srm_t r;
    assert_int_equal(sy_stats_srm(obs, w, 2, 0.001, &r, NULL), 0);
    assert_true(r.chi2 == 0 && r.df == 1 && r.p_value == 1 && !r.mismatch);
}

static void srm_matches_scipy_and_flags_below_alpha(void **state)
{
    (void)state;
    int64_t obs[] = {5000, 5300};
    double w[] = {0.5, 0.5};
    sy_srm_t r;
    assert_int_equal(sy_stats_srm(obs, w, 2, 0.001, &r, NULL), 0);
    assert_close(r.p_value, 0.003116693839866867, 1e-12, 0); /* scipy chisquare */
    assert_false(r.mismatch);
    assert_int_equal(sy_stats_srm(obs, w, 2, 0.01, &r, NULL), 0);
    assert_true(r.mismatch);
}

static void srm_weight_scale_does_not_matter(void **state)
{
    (void)state;
    int64_t obs[] = {310, 290, 400};
    double w1[] = {0.3, 0.3, 0.4}, w100[] = {30, 30, 40};
    sy_srm_t a, b;
    sy_stats_srm(obs, w1, 3, 0.001, &a, NULL);
    sy_stats_srm(obs, w100, 3, 0.001, &b, NULL);
    assert_close(a.chi2, b.chi2, 1e-12, 0);
    assert_int_equal(a.df, 2);
}

static void srm_leaves_out_a_zero_weight_arm_without_units(void **state)
{
    (void)state;
    int64_t obs[] = {500, 0, 520};
    double w[] = {1, 0, 1};
    sy_srm_t r;
    assert_int_equal(sy_stats_srm(obs, w, 3, 0.001, &r, NULL), 0);
    assert_int_equal(r.df, 1);
}

static void srm_refuses_degenerate_inputs_with_their_codes(void **state)
{
    (void)state;
    int64_t units_in_zero[] = {10, 3}, none[] = {0, 0}, neg[] = {-1, 5}, ok[] = {5, 5};
    double w_zero[] = {100, 0}, w_eq[] = {1, 1}, w_neg[] = {-1, 2}, w_nan[] = {NAN, 1},
           w_sum0[] = {0, 0}, w_one[] = {1, 0};
    int64_t ok1[] = {5, 0};
    sy_srm_t r;
    sy_err_t err;
    assert_int_equal(sy_stats_srm(units_in_zero, w_zero, 2, 0.001, &r, &err), -EINVAL);
    assert_string_equal(err.field, "observed[1]");
    assert_int_equal(sy_stats_srm(none, w_eq, 2, 0.001, &r, &err), SY_ENOTRIALS);
    assert_int_equal(sy_stats_srm(neg, w_eq, 2, 0.001, &r, &err), -EINVAL);
    assert_string_equal(err.field, "observed[0]");
    assert_int_equal(sy_stats_srm(ok, w_neg, 2, 0.001, &r, &err), -EINVAL);
    assert_string_equal(err.field, "weights[0]");
    assert_int_equal(sy_stats_srm(ok, w_nan, 2, 0.001, &r, &err), -EINVAL);
    assert_int_equal(sy_stats_srm(ok, w_sum0, 2, 0.001, &r, &err), -EINVAL);
    assert_int_equal(sy_stats_srm(ok1, w_one, 2, 0.001, &r, &err), -EINVAL); /* one live arm */
    assert_int_equal(sy_stats_srm(ok, w_eq, 1, 0.001, &r, &err), -EINVAL);
    assert_int_equal(sy_stats_srm(ok, w_eq, 2, 0, &r, &err), -EINVAL);
    assert_string_equal(err.field, "alpha");
    assert_int_equal(sy_stats_srm(ok, w_eq, SY_STATS_MAX_ARMS + 1, 0.001, &r, &err), -EINVAL);
}

/* ---- Power and sample size ---------------------------------------------------------- */

static const sy_power_plan_t plan10 = {0.10, 0.05, 0.05, 0.8, 1.0};

static void sample_size_cohen_h_reaches_exactly_the_target_power(void **state)
{
    (void)state;
    const double alphas[] = {0.01, 0.05, 0.1}, powers[] = {0.5, 0.8, 0.95};
    for (size_t i = 0; i < 3; i++) {
        sy_power_plan_t plan = plan10;
        plan.alpha = alphas[i];
        plan.power = powers[i];
        sy_sample_size_t s;
        sy_power_t p;
        assert_int_equal(sy_stats_sample_size(&plan, &s, NULL), 0);
        assert_int_equal(sy_stats_power(&plan, s.n_control_cohen_h, &p, NULL), 0);
        assert_close(p.power_cohen_h, plan.power, 1e-12, 0);
    }
}

static void sample_size_matches_the_textbook_example(void **state)
{
    (void)state;
    sy_sample_size_t s;
    assert_int_equal(sy_stats_sample_size(&plan10, &s, NULL), 0);
    /* statsmodels: NormalIndPower / samplesize_proportions_2indep_onetail */
    assert_close(s.n_control_cohen_h, 57755.6390053981, 1e-9, 0);
    assert_close(s.n_control_pooled_normal, 57762.65145412929, 1e-9, 0);
}

static void sample_size_with_twice_the_treatment_needs_three_quarters_control(void **state)
{
    (void)state;
    /* Cohen's h depends on n_eff = n_c r / (1 + r): r = 1 gives n_c / 2, r = 2 gives
     * 2 n_c / 3, so the same n_eff needs 3/4 of the control units. */
    sy_power_plan_t plan2 = plan10;
    plan2.ratio = 2;
    sy_sample_size_t s1, s2;
    sy_stats_sample_size(&plan10, &s1, NULL);
    sy_stats_sample_size(&plan2, &s2, NULL);
    assert_close(s2.n_control_cohen_h, 0.75 * s1.n_control_cohen_h, 1e-12, 0);
}

static void power_grows_with_units_and_effect_sign_does_not_matter_to_it(void **state)
{
    (void)state;
    sy_power_t a, b;
    sy_stats_power(&plan10, 10000, &a, NULL);
    sy_stats_power(&plan10, 20000, &b, NULL);
    assert_true(b.power_cohen_h > a.power_cohen_h);
    assert_true(b.power_pooled_normal > a.power_pooled_normal);
    sy_power_plan_t down = {0.5, -0.1, 0.05, 0.9, 1};
    sy_sample_size_t s;
    assert_int_equal(sy_stats_sample_size(&down, &s, NULL), 0);
    assert_true(s.effect_size_h < 0 && s.n_control_cohen_h > 0);
}

static void mean_power_and_size_agree_with_the_closed_form(void **state)
{
    (void)state;
    /* delta 1, sd 10 in both arms, alpha 0.05, power 0.8, equal arms:
     * n = (z_0.975 + z_0.8)^2 (100 + 100) = 2.8015852181129...^2 * 200 */
    sy_power_mean_plan_t p = {
        .delta = 1, .sd_control = 10, .sd_treatment = 10, .alpha = 0.05, .power = 0.8, .ratio = 1};
    double n, pw;
    assert_int_equal(sy_stats_sample_size_mean(&p, &n, NULL), 0);
    double k = 1.959963984540054 + 0.8416212335729143;
    assert_close(n, k * k * 200, 1e-12, 0);
    /* at that size the power is the target, plus the far tail's sliver */
    assert_int_equal(sy_stats_power_mean(&p, n, &pw, NULL), 0);
    assert_true(pw >= 0.8 - 1e-12 && pw < 0.8 + 1e-6);
    /* twice the treatment arm needs fewer control units; a negative delta the same */
    p.ratio = 2;
    double n2;
    assert_int_equal(sy_stats_sample_size_mean(&p, &n2, NULL), 0);
    assert_close(n2, k * k * 150, 1e-12, 0);
    p.ratio = 1;
    p.delta = -1;
    assert_int_equal(sy_stats_sample_size_mean(&p, &n2, NULL), 0);
    assert_close(n2, n, 1e-15, 0);
    sy_err_t err = {0};
    p.delta = 0;
    assert_int_equal(sy_stats_sample_size_mean(&p, &n, &err), -EINVAL);
    assert_string_equal(err.field, "delta");
    p.delta = 1;
    p.sd_control = 0;
    assert_int_equal(sy_stats_power_mean(&p, 10, &pw, &err), -EINVAL);
    assert_string_equal(err.field, "sd_control");
    p.sd_control = 10;
    assert_int_equal(sy_stats_power_mean(&p, 0, &pw, &err), -EINVAL);
    assert_string_equal(err.field, "n_control");
    p.power = 0.01;
    assert_int_equal(sy_stats_sample_size_mean(&p, &n, &err), -EINVAL);
    assert_string_equal(err.field, "power");
}

static void power_refuses_each_invalid_parameter_by_name(void **state)
{
    (void)state;
    struct {
        sy_power_plan_t plan;
        const char *field;
    } cases[] = {
        {{0.0, 0.1, 0.05, 0.8, 1}, "baseline"},      {{1.0, 0.1, 0.05, 0.8, 1}, "baseline"},
        {{0.1, 0.0, 0.05, 0.8, 1}, "mde_relative"},  {{0.9, 0.2, 0.05, 0.8, 1}, "mde_relative"},
        {{0.1, -1.0, 0.05, 0.8, 1}, "mde_relative"}, {{0.1, 0.1, 0.0, 0.8, 1}, "alpha"},
        {{0.1, 0.1, 0.05, 0.04, 1}, "power"},        {{0.1, 0.1, 0.05, 1.0, 1}, "power"},
        {{0.1, 0.1, 0.05, 0.8, 0}, "ratio"},         {{NAN, 0.1, 0.05, 0.8, 1}, "baseline"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sy_sample_size_t s;
        sy_err_t err;
        assert_int_equal(sy_stats_sample_size(&cases[i].plan, &s, &err), -EINVAL);
        assert_string_equal(err.field, cases[i].field);
    }
    sy_power_t p;
    sy_err_t err;
    assert_int_equal(sy_stats_power(&plan10, 0, &p, &err), -EINVAL);
    assert_string_equal(err.field, "n_control");
    assert_int_equal(sy_stats_power(&plan10, INFINITY, &p, &err), -EINVAL);
}

/* ---- Bayes ---------------------------------------------------------------------------- */

static void bayes_with_no_data_is_the_prior_half_and_one_sixth(void **state)
{
    (void)state;
    sy_binom_t none = {0, 0};
    sy_bayes_t r;
    assert_int_equal(sy_stats_bayes(&none, &none, 1, 1, &r, NULL), 0);
    /* Two independent uniforms: P(X > Y) = 1/2, E[max(X - Y, 0)] = E|X - Y| / 2 = 1/6. */
    assert_close(r.chance_to_beat_control, 0.5, 1e-14, 0);
    assert_close(r.expected_loss_treatment, 1.0 / 6, 1e-14, 0);
    assert_close(r.expected_loss_control, 1.0 / 6, 1e-14, 0);
}

static void bayes_one_success_against_the_prior_matches_the_integrals(void **state)
{
    (void)state;
    /* Treatment Beta(2, 1) (density 2x) against a uniform control:
     * P(X > Y) = E[X] = 2/3; E[max(X - Y, 0)] = E[X^2] / 2 = 1/4;
     * E[max(Y - X, 0)] = E[(1 - X)^2] / 2 = 1/12. */
    sy_binom_t c = {0, 0}, t = {1, 1};
    sy_bayes_t r;
    assert_int_equal(sy_stats_bayes(&c, &t, 1, 1, &r, NULL), 0);
    assert_close(r.chance_to_beat_control, 2.0 / 3, 1e-14, 0);
    assert_close(r.expected_loss_control, 0.25, 1e-14, 0);
    assert_close(r.expected_loss_treatment, 1.0 / 12, 1e-14, 0);
}

static void bayes_losses_differ_by_the_difference_of_posterior_means(void **state)
{
    (void)state;
    const sy_binom_t arms[][2] = {{{120, 1000}, {150, 1000}},
                                  {{3, 40}, {9, 35}},
                                  {{1000000, 10000000}, {1001000, 10000000}},
                                  {{10000000, 100000000}, {10002000, 100000000}}};
    for (size_t i = 0; i < 4; i++) {
        const sy_binom_t *c = &arms[i][0], *t = &arms[i][1];
        sy_bayes_t r;
        assert_int_equal(sy_stats_bayes(c, t, 1, 1, &r, NULL), 0);
        double mean_c = (1.0 + (double)c->successes) / (2.0 + (double)c->trials);
        double mean_t = (1.0 + (double)t->successes) / (2.0 + (double)t->trials);
        assert_close(r.expected_loss_control - r.expected_loss_treatment, mean_t - mean_c, 1e-6,
                     1e-12);
    }
}

static void bayes_swapping_the_arms_mirrors_every_answer(void **state)
{
    (void)state;
    sy_binom_t a = {30, 400}, b = {45, 380};
    sy_bayes_t ab, ba;
    sy_stats_bayes(&a, &b, 1, 1, &ab, NULL);
    sy_stats_bayes(&b, &a, 1, 1, &ba, NULL);
    assert_close(ab.chance_to_beat_control + ba.chance_to_beat_control, 1, 1e-12, 0);
    assert_close(ab.expected_loss_treatment, ba.expected_loss_control, 1e-12, 0);
    assert_close(ab.expected_loss_control, ba.expected_loss_treatment, 1e-12, 0);
}

static void bayes_keeps_digits_of_a_tiny_chance(void **state)
{
    (void)state;
    sy_binom_t c = {500, 1000}, t = {100, 1000};
    sy_bayes_t r;
    assert_int_equal(sy_stats_bayes(&c, &t, 1, 1, &r, NULL), 0);
    assert_true(r.chance_to_beat_control > 0 && r.chance_to_beat_control < 1e-60);
    assert_true(r.expected_loss_control >= 0 && r.expected_loss_control < 1e-60);
    assert_close(r.expected_loss_treatment, 501.0 / 1002 - 101.0 / 1002, 1e-12, 0);
}

static void bayes_refuses_bad_counts_and_non_integer_priors(void **state)
{
    (void)state;
    sy_binom_t ok = {1, 10}, over = {11, 10}, neg = {0, -1};
    sy_bayes_t r;
    sy_err_t err;
    assert_int_equal(sy_stats_bayes(&over, &ok, 1, 1, &r, &err), -EINVAL);
    assert_string_equal(err.field, "control.successes");
    assert_int_equal(sy_stats_bayes(&ok, &neg, 1, 1, &r, &err), -EINVAL);
    assert_string_equal(err.field, "treatment.trials");
    assert_int_equal(sy_stats_bayes(&ok, &ok, 0.5, 1, &r, &err), -EINVAL);
    assert_string_equal(err.field, "prior.alpha");
    assert_int_equal(sy_stats_bayes(&ok, &ok, 1, 0, &r, &err), -EINVAL);
    assert_string_equal(err.field, "prior.beta");
    assert_int_equal(sy_stats_bayes(&ok, &ok, 1, NAN, &r, &err), -EINVAL);
}

/* ---- Sequential ------------------------------------------------------------------------- */

static const sy_seq_cfg_t seq_cfg = {1e-4, 0, 0.05, 5000};

static void seq_p_never_increases_over_looks(void **state)
{
    (void)state;
    /* Data drift back towards no effect after look 2: Lambda falls, p must not rise. */
    const int64_t conv_t[] = {130, 260, 330, 420};
    double p = 1;
    for (int i = 0; i < 4; i++) {
        sy_binom_t c = {100 * (i + 1), 1000 * (i + 1)}, t = {conv_t[i], 1000 * (i + 1)};
        sy_seq_look_t r;
        assert_int_equal(sy_stats_seq_look_prop(&seq_cfg, &c, &t, p, &r, NULL), 0);
        assert_true(r.always_valid_p <= p);
        assert_true(r.always_valid_p <= exp(-r.log_lambda) * (1 + 1e-15));
        p = r.always_valid_p;
    }
    assert_true(p < 1);
}

static void seq_degenerate_look_keeps_p_and_has_no_interval(void **state)
{
    (void)state;
    sy_binom_t empty = {0, 0}, zeros = {0, 20}, some = {3, 20};
    sy_seq_look_t r;
    assert_int_equal(sy_stats_seq_look_prop(&seq_cfg, &empty, &some, 0.3, &r, NULL), 0);
    assert_true(!r.has_theta && !r.has_variance && !r.has_gb);
    assert_true(r.log_lambda == 0 && r.always_valid_p == 0.3);
    assert_int_equal(sy_stats_seq_look_prop(&seq_cfg, &zeros, &zeros, 0.3, &r, NULL), 0);
    assert_true(r.has_theta && r.theta_hat == 0 && r.has_variance && r.variance == 0);
    assert_true(!r.has_gb && r.always_valid_p == 0.3);
}

static void seq_mean_look_with_fewer_than_two_units_has_no_estimate(void **state)
{
    (void)state;
    sy_moments_t one = {4, 0, 1, 0}, many = {7.5, 1, 30, 0};
    sy_seq_look_t r;
    assert_int_equal(sy_stats_seq_look_mean(&seq_cfg, &one, &many, 1, &r, NULL), 0);
    assert_true(!r.has_theta && !r.has_variance && r.log_lambda == 0);
    sy_moments_t c = {10, 2, 400, 0}, t = {10.5, 2, 400, 0};
    sy_seq_cfg_t cfg = {0.25, 0, 0.05, 5000};
    assert_int_equal(sy_stats_seq_look_mean(&cfg, &c, &t, 1, &r, NULL), 0);
    assert_close(r.theta_hat, 0.5, 1e-15, 0);
    assert_close(r.variance, 4.0 / 400 + 4.0 / 400, 1e-15, 0);
}

static void seq_log_lambda_matches_the_papers_form(void **state)
{
    (void)state;
    /* Equal arms of n units: V_n = V / n and
     * Lambda = sqrt(V / (V + n tau2)) exp(n^2 tau2 theta^2 / (2 V (V + n tau2))). */
    sy_binom_t c = {200, 2000}, t = {250, 2000};
    sy_seq_look_t r;
    assert_int_equal(sy_stats_seq_look_prop(&seq_cfg, &c, &t, 1, &r, NULL), 0);
    double n = 2000, tau2 = seq_cfg.tau_squared, th = 0.125 - 0.1;
    double v = 0.1 * 0.9 + 0.125 * 0.875;
    double lam = sqrt(v / (v + n * tau2)) * exp(n * n * tau2 * th * th / (2 * v * (v + n * tau2)));
    assert_close(r.log_lambda, log(lam), 1e-12, 1e-14);
}

static void seq_growthbook_p_is_msprt_with_a_data_dependent_tau(void **state)
{
    (void)state;
    sy_binom_t c = {1000, 10000}, t = {1100, 10000};
    sy_seq_look_t gb, m;
    assert_int_equal(sy_stats_seq_look_prop(&seq_cfg, &c, &t, 1, &gb, NULL), 0);
    double la = log(seq_cfg.alpha);
    double rho2 = (-2 * la + log(1 - 2 * la)) / seq_cfg.gb_tuning;
    sy_seq_cfg_t cfg = seq_cfg;
    cfg.tau_squared = rho2 * 20000 * gb.variance;
    assert_int_equal(sy_stats_seq_look_prop(&cfg, &c, &t, 1, &m, NULL), 0);
    assert_true(gb.gb_p_value < 1);
    assert_close(gb.gb_p_value, exp(-m.log_lambda), 1e-10, 0);
}

static void seq_growthbook_interval_excludes_zero_exactly_when_p_is_below_alpha(void **state)
{
    (void)state;
    const int64_t conv_t[] = {1000, 1050, 1090, 1100, 1120, 1200, 900};
    int significant = 0;
    for (size_t i = 0; i < sizeof(conv_t) / sizeof(conv_t[0]); i++) {
        sy_binom_t c = {1000, 10000}, t = {conv_t[i], 10000};
        sy_seq_look_t r;
        assert_int_equal(sy_stats_seq_look_prop(&seq_cfg, &c, &t, 1, &r, NULL), 0);
        bool excludes = r.gb_ci_low > 0 || r.gb_ci_high < 0;
        assert_int_equal(excludes, r.gb_p_value < seq_cfg.alpha);
        significant += excludes;
    }
    assert_true(significant > 0 && significant < 7); /* the data cover both outcomes */
}

static void seq_overwhelming_evidence_underflows_p_to_zero_not_nan(void **state)
{
    (void)state;
    sy_binom_t c = {10000000, 100000000}, t = {10200000, 100000000};
    sy_seq_look_t r;
    assert_int_equal(sy_stats_seq_look_prop(&seq_cfg, &c, &t, 1, &r, NULL), 0);
    assert_true(r.log_lambda > 700);
    assert_true(r.always_valid_p == 0 && r.gb_p_value == 0);
}

static void seq_refuses_a_bad_configuration_by_name(void **state)
{
    (void)state;
    struct {
        sy_seq_cfg_t cfg;
        double prev_p;
        const char *field;
    } cases[] = {
        {{0, 0, 0.05, 5000}, 1, "tau_squared"}, {{1e-4, NAN, 0.05, 5000}, 1, "theta0"},
        {{1e-4, 0, 1, 5000}, 1, "alpha"},       {{1e-4, 0, 0.05, 0}, 1, "gb_tuning_parameter"},
        {{1e-4, 0, 0.05, 5000}, 1.5, "prev_p"}, {{-1, 0, 0.05, 5000}, 1, "tau_squared"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sy_seq_look_t r;
        sy_err_t err;
        assert_int_equal(
            sy_stats_seq_look_prop(&cases[i].cfg, &c120, &t150, cases[i].prev_p, &r, &err),
            -EINVAL);
        assert_string_equal(err.field, cases[i].field);
    }
    sy_binom_t over = {5, 4};
    sy_seq_look_t r;
    assert_int_equal(sy_stats_seq_look_prop(&seq_cfg, &over, &t150, 1, &r, NULL), -EINVAL);
}

/* ---- Holm ------------------------------------------------------------------------------- */

static void holm_matches_the_hand_computation(void **state)
{
    (void)state;
    /* Sorted 0.01, 0.03, 0.04 -> 3 x 0.01, 2 x 0.03, max(0.06, 1 x 0.04). */
    double p[] = {0.01, 0.04, 0.03}, adj[3];
    assert_int_equal(sy_stats_holm(p, 3, adj, NULL), 0);
    assert_close(adj[0], 0.03, 1e-15, 0);
    assert_close(adj[1], 0.06, 1e-15, 0);
    assert_close(adj[2], 0.06, 1e-15, 0);
}

static void holm_caps_at_one_and_may_adjust_in_place(void **state)
{
    (void)state;
    double p[] = {0.5, 0.9, 0.2, 0.2};
    assert_int_equal(sy_stats_holm(p, 4, p, NULL), 0);
    assert_close(p[2], 0.8, 1e-15, 0); /* ties keep their order: 4 x 0.2, then 3 x 0.2 */
    assert_close(p[3], 0.8, 1e-15, 0);
    assert_close(p[0], 1, 0, 0);
    assert_close(p[1], 1, 0, 0);
}

static void holm_refuses_empty_too_many_and_out_of_range(void **state)
{
    (void)state;
    double p[SY_STATS_MAX_ARMS + 1] = {0}, adj[SY_STATS_MAX_ARMS + 1];
    sy_err_t err;
    assert_int_equal(sy_stats_holm(p, 0, adj, &err), -EINVAL);
    assert_int_equal(sy_stats_holm(p, SY_STATS_MAX_ARMS + 1, adj, &err), -EINVAL);
    p[1] = 1.5;
    assert_int_equal(sy_stats_holm(p, 2, adj, &err), -EINVAL);
    assert_string_equal(err.field, "p_values[1]");
    p[1] = NAN;
    assert_int_equal(sy_stats_holm(p, 2, adj, &err), -EINVAL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(norm_sf_keeps_digits_far_in_the_upper_tail),
    cmocka_unit_test(norm_isf_inverts_sf_down_to_tiny_tails),
    cmocka_unit_test(norm_quantiles_are_nan_outside_the_unit_interval),
    cmocka_unit_test(t_sf_is_accurate_in_the_far_tail_where_gsl_tdist_is_not),
    cmocka_unit_test(t_sf_is_continuous_where_the_method_switches),
    cmocka_unit_test(t_sf_of_minus_t_is_one_minus_t_sf_of_t),
    cmocka_unit_test(alternative_names_round_trip_and_unknown_is_refused),
    cmocka_unit_test(ztest_pooled_matches_statsmodels),
    cmocka_unit_test(ztest_unpooled_matches_statsmodels_wald),
    cmocka_unit_test(ztest_one_sided_p_values_split_the_two_sided_one),
    cmocka_unit_test(ztest_equal_rates_give_z_zero_and_one_sided_p_one_half),
    cmocka_unit_test(ztest_zero_se_with_equal_rates_is_z0_p1_for_every_alternative),
    cmocka_unit_test(ztest_refuses_perfect_separation_unpooled_as_zero_variance),
    cmocka_unit_test(ztest_refuses_bad_counts_naming_the_field),
    cmocka_unit_test(ztest_refuses_confidence_outside_the_open_unit_interval),
    cmocka_unit_test(ztest_failure_leaves_the_result_untouched),
    cmocka_unit_test(ztest_counts_beyond_32_bits_are_exact),
    cmocka_unit_test(ztest_intervals_widen_with_confidence),
    cmocka_unit_test(welch_matches_scipy),
    cmocka_unit_test(welch_with_one_sd_zero_takes_the_other_arms_df),
    cmocka_unit_test(welch_both_sds_zero_and_equal_means_is_t0_p1_without_df),
    cmocka_unit_test(welch_refuses_degenerate_inputs_with_their_codes),
    cmocka_unit_test(welch_df_survives_extreme_variances),
    cmocka_unit_test(results_beyond_double_range_are_refused_not_infinite),
    cmocka_unit_test(srm_on_the_intended_split_is_chi2_zero_p_one),
    cmocka_unit_test(srm_matches_scipy_and_flags_below_alpha),
    cmocka_unit_test(srm_weight_scale_does_not_matter),
    cmocka_unit_test(srm_leaves_out_a_zero_weight_arm_without_units),
    cmocka_unit_test(srm_refuses_degenerate_inputs_with_their_codes),
    cmocka_unit_test(sample_size_cohen_h_reaches_exactly_the_target_power),
    cmocka_unit_test(sample_size_matches_the_textbook_example),
    cmocka_unit_test(sample_size_with_twice_the_treatment_needs_three_quarters_control),
    cmocka_unit_test(power_grows_with_units_and_effect_sign_does_not_matter_to_it),
    cmocka_unit_test(power_refuses_each_invalid_parameter_by_name),
    cmocka_unit_test(bayes_with_no_data_is_the_prior_half_and_one_sixth),
    cmocka_unit_test(bayes_one_success_against_the_prior_matches_the_integrals),
    cmocka_unit_test(bayes_losses_differ_by_the_difference_of_posterior_means),
    cmocka_unit_test(bayes_swapping_the_arms_mirrors_every_answer),
    cmocka_unit_test(bayes_keeps_digits_of_a_tiny_chance),
    cmocka_unit_test(bayes_refuses_bad_counts_and_non_integer_priors),
    cmocka_unit_test(seq_p_never_increases_over_looks),
    cmocka_unit_test(seq_degenerate_look_keeps_p_and_has_no_interval),
    cmocka_unit_test(seq_mean_look_with_fewer_than_two_units_has_no_estimate),
    cmocka_unit_test(seq_log_lambda_matches_the_papers_form),
    cmocka_unit_test(seq_growthbook_p_is_msprt_with_a_data_dependent_tau),
    cmocka_unit_test(seq_growthbook_interval_excludes_zero_exactly_when_p_is_below_alpha),
    cmocka_unit_test(seq_overwhelming_evidence_underflows_p_to_zero_not_nan),
    cmocka_unit_test(seq_refuses_a_bad_configuration_by_name),
    cmocka_unit_test(mean_power_and_size_agree_with_the_closed_form),
    cmocka_unit_test(holm_matches_the_hand_computation),
    cmocka_unit_test(srm_seq_untested_periods_and_impossible_units),
    cmocka_unit_test(srm_mix_keeps_its_alpha_under_many_looks),
    cmocka_unit_test(welch_interval_quantile_is_exact),
    cmocka_unit_test(rule_power_is_the_rules),
    cmocka_unit_test(rule_curve_is_the_power),
    cmocka_unit_test(rule_power_of_a_mean),
    cmocka_unit_test(welford_keeps_the_sd_under_any_offset),
    cmocka_unit_test(welch_from_values_under_an_offset_is_the_exact_test),
    cmocka_unit_test(welch_from_tiny_values_is_not_zero_variance),
    cmocka_unit_test(welford_replace_and_merge_agree_with_one_pass),
    cmocka_unit_test(holm_caps_at_one_and_may_adjust_in_place),
    cmocka_unit_test(holm_refuses_empty_too_many_and_out_of_range),
};

SY_TEST_MAIN(tests)
