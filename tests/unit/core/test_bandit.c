/* test_bandit.c - Thompson sampling's P(best) against closed forms (two Betas: the sum of
 * Miller's formula; two normals: Phi of the difference over its sd), against 400,000
 * draws for three and four arms, symmetric arms even, the wide prior of a mean arm
 * without units; the weights' floor, whole points summing to 100 by largest remainder,
 * the refusals naming their field; the regret estimate by hand. */
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_gamma.h>

#include "../harness.h"
#include "core/bandit.h"

/* P(B > A), A ~ Beta(aa, ba), B ~ Beta(ab, bb), ab a whole number (Evan Miller, "Formulas
 * for Bayesian A/B testing"). */
static double beta_b_beats_a(double aa, double ba, double ab, double bb)
{
    double total = 0;
    for (int i = 0; i < (int)ab; i++)
        total += exp(gsl_sf_lnbeta(aa + i, ba + bb) - log(bb + i) - gsl_sf_lnbeta(1 + i, bb) -
                     gsl_sf_lnbeta(aa, ba));
    return total;
}

static sy_bandit_arm_t conv(int64_t units, int64_t conversions)
{
    return (sy_bandit_arm_t){.units = units, .conversions = conversions};
}

static void p_best(sy_metric_t m, const sy_bandit_arm_t *a, size_t n, double *p)
{
    sy_err_t err = {0};
    if (sy_bandit_prob_best(m, a, n, p, &err) < 0)
        fail_msg("refused: %s (%s)", err.msg, err.field);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += p[i];
    assert_close(sum, 1, 0, 1e-12);
}

static void two_betas_match_the_closed_form(void **state)
{
    (void)state;
    struct {
        int64_t na, ca, nb, cb;
    } cases[] = {{100, 10, 120, 18}, {10000, 1000, 10000, 1050},
                 {50, 0, 40, 1},     {200, 190, 300, 290},
                 {5, 2, 3, 1},       {400000, 40000, 400000, 40400}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        sy_bandit_arm_t a[2] = {conv(cases[k].na, cases[k].ca), conv(cases[k].nb, cases[k].cb)};
        double p[2];
        p_best(SY_METRIC_CONVERSION, a, 2, p);
        double want =
            beta_b_beats_a(1 + (double)cases[k].ca, 1 + (double)(cases[k].na - cases[k].ca),
                           1 + (double)cases[k].cb, 1 + (double)(cases[k].nb - cases[k].cb));
        assert_close(p[1], want, 0, 1e-3);
    }
}

static void arms_without_units_are_each_best_alike(void **state)
{
    (void)state;
    sy_bandit_arm_t a[4] = {conv(0, 0), conv(0, 0), conv(0, 0), conv(0, 0)};
    double p[4];
    p_best(SY_METRIC_CONVERSION, a, 4, p);
    for (int i = 0; i < 4; i++)
        assert_close(p[i], 0.25, 0, 1e-9);
    sy_bandit_arm_t m[3] = {{0}, {.units = 1, .mean = 7}, {0}};
    p_best(SY_METRIC_MEAN, m, 3, p);
    for (int i = 0; i < 3; i++)
        assert_close(p[i], 1.0 / 3, 0, 1e-9);
}

static void two_normals_match_phi_of_the_difference(void **state)
{
    (void)state;
    sy_bandit_arm_t a[2] = {{.units = 100, .mean = 1.0, .variance = 4},
                            {.units = 150, .mean = 1.3, .variance = 9}};
    double p[2];
    p_best(SY_METRIC_MEAN, a, 2, p);
    assert_close(p[1], gsl_cdf_ugaussian_P(0.3 / sqrt(4.0 / 100 + 9.0 / 150)), 0, 1e-3);
    /* far apart: one is best surely */
    a[1].mean = 50;
    p_best(SY_METRIC_MEAN, a, 2, p);
    assert_close(p[1], 1, 0, 1e-9);
}

/* P(best) by `draws` Thompson draws with GSL's own Beta sampler. */
static void drawn(const sy_bandit_arm_t *a, size_t n, int draws, double *p)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 26);
    int wins[16] = {0};
    for (int d = 0; d < draws; d++) {
        size_t best = 0;
        double bx = -1;
        for (size_t i = 0; i < n; i++) {
            double x = gsl_ran_beta(r, 1 + (double)a[i].conversions,
                                    1 + (double)(a[i].units - a[i].conversions));
            if (x > bx)
                bx = x, best = i;
        }
        wins[best]++;
    }
    gsl_rng_free(r);
    for (size_t i = 0; i < n; i++)
        p[i] = wins[i] / (double)draws;
}

static void three_and_four_arms_match_thompson_draws(void **state)
{
    (void)state;
    sy_bandit_arm_t a[4] = {conv(1000, 100), conv(1000, 108), conv(900, 95), conv(50, 6)};
    for (size_t n = 3; n <= 4; n++) {
        double p[4], q[4];
        p_best(SY_METRIC_CONVERSION, a, n, p);
        drawn(a, n, 400000, q);
        for (size_t i = 0; i < n; i++) /* the draws' sd is under 0.0008 */
            assert_close(p[i], q[i], 0, 0.004);
    }
}

static void identical_arms_are_best_alike_and_a_better_one_leads(void **state)
{
    (void)state;
    sy_bandit_arm_t a[4] = {conv(5000, 500), conv(5000, 500), conv(5000, 500), conv(5000, 500)};
    double p[4];
    p_best(SY_METRIC_CONVERSION, a, 4, p);
    for (int i = 0; i < 4; i++)
        assert_close(p[i], 0.25, 0, 1e-6);
    a[2] = conv(5000, 560);
    p_best(SY_METRIC_CONVERSION, a, 4, p);
    assert_true(p[2] > 0.9);
    assert_close(p[0], p[1], 0, 1e-9);
}

static void a_mean_arm_without_units_has_the_wide_prior(void **state)
{
    (void)state;
    /* pooled: mean 10, sd about 2: the empty arm's prior is N(10, ~2^2), far wider than
     * the others' posteriors (sd 0.1): best with about half of the probability of
     * exceeding 10.2 */
    sy_bandit_arm_t a[3] = {{.units = 400, .mean = 10.2, .variance = 4},
                            {.units = 400, .mean = 9.8, .variance = 4},
                            {0}};
    double p[3];
    p_best(SY_METRIC_MEAN, a, 3, p);
    assert_true(p[2] > 0.3 && p[2] < 0.6);
    assert_true(p[0] > p[1]);
}

static void refuses_counts_that_contradict(void **state)
{
    (void)state;
    sy_bandit_arm_t a[2] = {conv(10, 11), conv(10, 1)};
    double p[2] = {-1, -1};
    sy_err_t err = {0};
    assert_int_equal(sy_bandit_prob_best(SY_METRIC_CONVERSION, a, 2, p, &err), -EINVAL);
    assert_string_equal(err.field, "arms");
    assert_true(p[0] == -1);
    assert_int_equal(sy_bandit_prob_best(SY_METRIC_CONVERSION, a, 1, p, &err), -EINVAL);
    sy_bandit_arm_t m[2] = {{.units = 3, .mean = NAN}, {.units = 3}};
    assert_int_equal(sy_bandit_prob_best(SY_METRIC_MEAN, m, 2, p, &err), -EINVAL);
}

static void weights_take_the_floor_and_share_the_rest(void **state)
{
    (void)state;
    int64_t w[4];
    sy_err_t err = {0};
    double p[4] = {0.7, 0.1, 0.1, 0.1};
    assert_int_equal(sy_bandit_weights(p, 4, 5, w, &err), 0);
    assert_int_equal(w[0], 61); /* 5 + 80 * 0.7 */
    assert_int_equal(w[1], 13);
    assert_int_equal(w[2], 13);
    assert_int_equal(w[3], 13);
    double all[4] = {1, 0, 0, 0};
    assert_int_equal(sy_bandit_weights(all, 4, 5, w, &err), 0);
    assert_int_equal(w[0], 85);
    assert_int_equal(w[3], 5);
    assert_int_equal(sy_bandit_weights(all, 4, 25, w, &err), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(w[i], 25);
    double third[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    assert_int_equal(sy_bandit_weights(third, 3, 0, w, &err), 0);
    assert_int_equal(w[0], 34);
    assert_int_equal(w[1], 33);
    assert_int_equal(w[2], 33);
}

static void weights_are_whole_points_summing_to_100_never_below_the_floor(void **state)
{
    (void)state;
    uint64_t s = 7;
    for (int k = 0; k < 2000; k++) {
        size_t n = 2 + (size_t)(k % 15);
        int64_t floor_pct = k % (int)(100 / n + 1);
        double p[16];
        for (size_t i = 0; i < n; i++) {
            s = s * 6364136223846793005u + 1442695040888963407u;
            p[i] = (double)(s >> 11) / 9007199254740992.0;
        }
        int64_t w[16], sum = 0;
        sy_err_t err = {0};
        assert_int_equal(sy_bandit_weights(p, n, floor_pct, w, &err), 0);
        for (size_t i = 0; i < n; i++) {
            assert_true(w[i] >= floor_pct);
            sum += w[i];
        }
        assert_int_equal(sum, 100);
    }
}

static void weights_refuse_a_floor_too_high_naming_it(void **state)
{
    (void)state;
    double p[4] = {0.25, 0.25, 0.25, 0.25};
    int64_t w[4] = {0};
    sy_err_t err = {0};
    assert_int_equal(sy_bandit_weights(p, 4, 26, w, &err), -EINVAL);
    assert_string_equal(err.field, "min_weight_pct");
    assert_int_equal(sy_bandit_weights(p, 4, -1, w, &err), -EINVAL);
    double bad[2] = {0, 0};
    assert_int_equal(sy_bandit_weights(bad, 2, 5, w, &err), -EINVAL);
    assert_string_equal(err.field, "p");
}

/* Counts and values at the ends of their types: finite probabilities summing to 1 (at
 * 4e18 units the quadrature's densities were NaN, returned as the probabilities), and
 * weights from probabilities whose sum overflows refused, not cast from NaN. */
static void huge_counts_and_values_give_finite_probabilities(void **state)
{
    (void)state;
    sy_bandit_arm_t c[2] = {conv(4000000000000000000LL, 2000000000000000000LL),
                            conv(4000000000000000000LL, 2000000000000000001LL)};
    sy_bandit_arm_t m[3] = {{.units = 1000, .mean = 1e300, .variance = 1e300},
                            {.units = 1000, .mean = -1e300, .variance = 1e307},
                            {.units = 1}};
    sy_bandit_arm_t z[2] = {{.units = 1000000000000LL, .mean = 1e15, .variance = 1e30},
                            {.units = 1000000000000LL, .mean = -1e15, .variance = 0}};
    struct {
        sy_metric_t metric;
        const sy_bandit_arm_t *a;
        size_t n;
    } cases[] = {{SY_METRIC_CONVERSION, c, 2}, {SY_METRIC_MEAN, m, 3}, {SY_METRIC_MEAN, z, 2}};
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        double p[3];
        sy_err_t err = {0};
        assert_int_equal(sy_bandit_prob_best(cases[k].metric, cases[k].a, cases[k].n, p, &err), 0);
        double sum = 0;
        for (size_t i = 0; i < cases[k].n; i++) {
            assert_true(isfinite(p[i]) && p[i] >= 0 && p[i] <= 1);
            sum += p[i];
        }
        assert_close(sum, 1, 1e-9, 0);
        assert_true(isfinite(sy_bandit_regret(cases[k].metric, cases[k].a, cases[k].n)));
    }
    double big[3] = {1e308, 1e308, 1e308};
    int64_t w[3];
    sy_err_t err = {0};
    int rc = sy_bandit_weights(big, 3, 0, w, &err);
    if (rc == 0)
        assert_true(w[0] + w[1] + w[2] == 100 && w[0] >= 33 && w[1] >= 33 && w[2] >= 33);
    else
        assert_string_equal(err.field, "p");
}

static void regret_is_units_times_the_gap_to_the_best_mean(void **state)
{
    (void)state;
    sy_bandit_arm_t a[3] = {conv(100, 9), conv(100, 19), conv(0, 0)};
    /* posterior means 10/102, 20/102, 1/2: the empty arm is "best" by its prior mean */
    double m[3];
    sy_bandit_means(SY_METRIC_CONVERSION, a, 3, m);
    assert_close(m[0], 10.0 / 102, 1e-12, 0);
    assert_close(sy_bandit_regret(SY_METRIC_CONVERSION, a, 2), 100 * (10.0 / 102), 1e-12, 0);
    assert_close(sy_bandit_regret(SY_METRIC_CONVERSION, a, 3),
                 100 * (0.5 - 10.0 / 102) + 100 * (0.5 - 20.0 / 102), 1e-12, 0);
    sy_bandit_arm_t v[2] = {{.units = 10, .mean = 3, .variance = 1},
                            {.units = 30, .mean = 2.5, .variance = 1}};
    assert_close(sy_bandit_regret(SY_METRIC_MEAN, v, 2), 30 * 0.5, 1e-12, 0);
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_betas_match_the_closed_form),
        cmocka_unit_test(arms_without_units_are_each_best_alike),
        cmocka_unit_test(two_normals_match_phi_of_the_difference),
        cmocka_unit_test(three_and_four_arms_match_thompson_draws),
        cmocka_unit_test(identical_arms_are_best_alike_and_a_better_one_leads),
        cmocka_unit_test(a_mean_arm_without_units_has_the_wide_prior),
        cmocka_unit_test(refuses_counts_that_contradict),
        cmocka_unit_test(weights_take_the_floor_and_share_the_rest),
        cmocka_unit_test(weights_are_whole_points_summing_to_100_never_below_the_floor),
        cmocka_unit_test(weights_refuse_a_floor_too_high_naming_it),
        cmocka_unit_test(regret_is_units_times_the_gap_to_the_best_mean),
        cmocka_unit_test(huge_counts_and_values_give_finite_probabilities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
