/* test_cuped.c - tests of the co-moments and CUPED in src/core/stats.c.
 *
 * The reference here is a direct two-pass computation in long double over the values
 * themselves (the OLS fit of y ~ C(arm) + x written out); tests/integration/cuped.sh checks
 * the same numbers against statsmodels.
 */
#include "../harness.h"

#include <string.h>

#include "core/experiment.h"
#include "core/stats.h"

#define N_MAX 4000

/* Deterministic noise in [-1, 1) (a 64-bit LCG, its top bits). */
static double noise(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return (double)(*s >> 11) / (double)(1ull << 52) - 1;
}

struct data {
    size_t k;
    size_t n[4];
    double x[4][N_MAX], y[4][N_MAX];
};

/* k arms of n[a] units: x = offset + noise, y = offset + rho-ish x + arm effect + noise. */
static void make(struct data *d, size_t k, const size_t *n, double offset, double slope,
                 uint64_t seed)
{
    d->k = k;
    for (size_t a = 0; a < k; a++) {
        d->n[a] = n[a];
        for (size_t i = 0; i < n[a]; i++) {
            double x = noise(&seed) * 3;
            d->x[a][i] = offset + x;
            d->y[a][i] = offset + slope * x + 0.1 * (double)a + noise(&seed);
        }
    }
}

static sy_comoments_t one_pass(const struct data *d, size_t a)
{
    sy_comoments_t c = {0};
    for (size_t i = 0; i < d->n[a]; i++)
        sy_comoments_add(&c, d->x[a][i], d->y[a][i]);
    return c;
}

/* Two passes in long double, each arm's sums about its own means. */
struct direct {
    long double mx, my, sxx, syy, sxy;
};

static struct direct two_pass(const struct data *d, size_t a)
{
    struct direct r = {0};
    for (size_t i = 0; i < d->n[a]; i++) {
        r.mx += d->x[a][i];
        r.my += d->y[a][i];
    }
    r.mx /= (long double)d->n[a];
    r.my /= (long double)d->n[a];
    for (size_t i = 0; i < d->n[a]; i++) {
        long double dx = d->x[a][i] - r.mx, dy = d->y[a][i] - r.my;
        r.sxx += dx * dx;
        r.syy += dy * dy;
        r.sxy += dx * dy;
    }
    return r;
}

static void assert_comoments(const sy_comoments_t *c, const struct direct *r, size_t n)
{
    assert_int_equal(c->n, (int64_t)n);
    assert_close((double)c->mean_x, (double)r->mx, 1e-15, 0);
    assert_close((double)c->mean_y, (double)r->my, 1e-15, 0);
    assert_close((double)c->m2x, (double)r->sxx, 1e-9, 0);
    assert_close((double)c->m2y, (double)r->syy, 1e-9, 0);
    assert_close((double)c->cxy, (double)r->sxy, 1e-9, 1e-9 * (double)r->sxx);
}

static struct data D;

static void comoments_add_equals_two_passes_at_any_offset(void **state)
{
    (void)state;
    const double offsets[] = {0, 1e6, 1e9, 1e12};
    size_t n[] = {3000};
    for (size_t k = 0; k < 4; k++) {
        make(&D, 1, n, offsets[k], 0.7, 7 + k);
        sy_comoments_t c = one_pass(&D, 0);
        struct direct r = two_pass(&D, 0);
        assert_comoments(&c, &r, n[0]);
    }
}

static void comoments_replace_y_equals_counting_the_new_values(void **state)
{
    (void)state;
    size_t n[] = {2000};
    make(&D, 1, n, 1e12, 0.5, 3);
    sy_comoments_t c = {0};
    /* every unit counted with y = 0 first (its exposure), then its outcome arrives */
    for (size_t i = 0; i < n[0]; i++)
        sy_comoments_add(&c, D.x[0][i], 0);
    for (size_t i = 0; i < n[0]; i++)
        sy_comoments_replace_y(&c, D.x[0][i], 0, D.y[0][i]);
    struct direct r = two_pass(&D, 0);
    assert_comoments(&c, &r, n[0]);
    /* and a value that grows in two steps */
    sy_comoments_t g = one_pass(&D, 0);
    sy_comoments_replace_y(&g, D.x[0][5], D.y[0][5], D.y[0][5] + 40);
    sy_comoments_replace_y(&g, D.x[0][5], D.y[0][5] + 40, D.y[0][5]);
    assert_comoments(&g, &r, n[0]);
}

static void comoments_merge_equals_one_pass_over_both(void **state)
{
    (void)state;
    size_t n[] = {1500, 700};
    make(&D, 2, n, 1e12, -1.3, 11);
    sy_comoments_t a = one_pass(&D, 0), b = one_pass(&D, 1), empty = {0};
    /* one data set of both: arm 1's values appended to arm 0's */
    memcpy(&D.x[0][n[0]], D.x[1], n[1] * sizeof(double));
    memcpy(&D.y[0][n[0]], D.y[1], n[1] * sizeof(double));
    D.n[0] = n[0] + n[1];
    struct direct r = two_pass(&D, 0);
    sy_comoments_merge(&a, &b);
    sy_comoments_merge(&a, &empty);
    assert_comoments(&a, &r, n[0] + n[1]);
    sy_comoments_merge(&empty, &b);
    assert_int_equal(empty.n, b.n);
    assert_true(empty.cxy == b.cxy);
}

/* The OLS of y ~ C(arm) + x, written out: treatment's coefficient and its SE. */
static void ols(const struct data *d, size_t c, size_t t, double *diff, double *se, double *theta)
{
    struct direct r[4];
    long double sxx = 0, sxy = 0, syy = 0;
    size_t units = 0;
    for (size_t a = 0; a < d->k; a++) {
        r[a] = two_pass(d, a);
        sxx += r[a].sxx;
        sxy += r[a].sxy;
        syy += r[a].syy;
        units += d->n[a];
    }
    long double th = sxy / sxx, dx = r[t].mx - r[c].mx;
    long double s2 = (syy - th * sxy) / (long double)(units - d->k - 1);
    *theta = (double)th;
    *diff = (double)((r[t].my - r[c].my) - th * dx);
    *se = (double)sqrtl(s2 * (1.0L / d->n[t] + 1.0L / d->n[c] + dx * dx / sxx));
}

static void cuped_is_the_ancova_coefficient_of_each_treatment(void **state)
{
    (void)state;
    const double offsets[] = {0, 1e9};
    const double slopes[] = {0, 0.8, -2};
    size_t n[] = {1200, 900, 1500, 40};
    for (size_t o = 0; o < 2; o++)
        for (size_t s = 0; s < 3; s++) {
            make(&D, 4, n, offsets[o], slopes[s], 100 + 10 * o + s);
            sy_comoments_t arms[4];
            for (size_t a = 0; a < 4; a++)
                arms[a] = one_pass(&D, a);
            for (size_t t = 1; t < 4; t++) {
                double diff, se, theta;
                ols(&D, 0, t, &diff, &se, &theta);
                sy_cuped_t r;
                assert_int_equal(sy_stats_cuped(arms, 4, 0, t, 0.95, &r, NULL), 0);
                assert_close(r.theta, theta, 1e-9, 1e-12);
                assert_close(r.diff, diff, 1e-9, 1e-12);
                assert_close(r.se, se, 1e-9, 0);
                assert_close(r.t, diff / se, 1e-9, 1e-12);
                assert_close(r.df, (double)(1200 + 900 + 1500 + 40 - 5), 0, 0);
                assert_true(r.diff_ci_low < r.diff && r.diff < r.diff_ci_high);
                assert_true(r.p_value >= 0 && r.p_value <= 1);
                /* a covariate that predicts the outcome removes its share of the variance */
                if (slopes[s] != 0)
                    assert_true(r.variance_reduction > 0.5);
                else
                    assert_true(fabs(r.variance_reduction) < 0.3); /* 40 units: noisy */
                assert_true(r.has_lift);
                assert_close(r.lift, r.diff / fabs((double)arms[0].mean_y), 1e-12, 0);
            }
        }
}

static void cuped_without_covariate_variation_is_refused_not_nan(void **state)
{
    (void)state;
    sy_comoments_t arms[2] = {{0}, {0}};
    for (int i = 0; i < 10; i++) {
        sy_comoments_add(&arms[0], 0, i);
        sy_comoments_add(&arms[1], 0, 2 * i);
    }
    sy_cuped_t r = {.diff = 42};
    sy_err_t e;
    double theta = 7;
    assert_int_equal(sy_stats_cuped(arms, 2, 0, 1, 0.95, &r, &e), SY_EZEROVAR);
    assert_true(r.diff == 42); /* nothing written */
    assert_int_equal(sy_stats_cuped_theta(arms, 2, &theta, NULL), SY_EZEROVAR);
    assert_true(theta == 7);
    /* too few units: 2 arms of 1 unit each leave no degree of freedom */
    sy_comoments_t few[2] = {{0}, {0}};
    sy_comoments_add(&few[0], 1, 1);
    sy_comoments_add(&few[1], 2, 3);
    assert_int_equal(sy_stats_cuped(few, 2, 0, 1, 0.95, &r, NULL), SY_ETOOFEW);
    sy_comoments_t none[2] = {{0}, {0}};
    sy_comoments_add(&none[0], 1, 1);
    assert_int_equal(sy_stats_cuped(none, 2, 0, 1, 0.95, &r, NULL), SY_ENOTRIALS);
    assert_int_equal(sy_stats_cuped(arms, 2, 0, 0, 0.95, &r, &e), -EINVAL);
    assert_int_equal(sy_stats_cuped(arms, 1, 0, 0, 0.95, &r, &e), -EINVAL);
    assert_int_equal(sy_stats_cuped(arms, 2, 0, 1, 1.5, &r, &e), -EINVAL);
}

static void cuped_sequential_look_from_an_estimate_matches_the_mean_look(void **state)
{
    (void)state;
    sy_seq_cfg_t cfg = {0.25, 0, 0.05, 5000};
    sy_moments_t c = {.mean = 1, .sd = 2, .n = 400}, t = {.mean = 1.5, .sd = 2, .n = 500};
    sy_seq_look_t a, b;
    assert_int_equal(sy_stats_seq_look_mean(&cfg, &c, &t, 1, &a, NULL), 0);
    double v = 4.0 / 400 + 4.0 / 500;
    assert_int_equal(sy_stats_seq_look_est(&cfg, 0.5, v, 900, 1, &b, NULL), 0);
    assert_close(b.log_lambda, a.log_lambda, 1e-12, 0);
    assert_close(b.always_valid_p, a.always_valid_p, 1e-12, 0);
    assert_close(b.gb_ci_low, a.gb_ci_low, 1e-12, 0);
    /* a variance of 0 is a degenerate look: p unchanged */
    assert_int_equal(sy_stats_seq_look_est(&cfg, 0.5, 0, 900, 0.3, &b, NULL), 0);
    assert_true(b.always_valid_p == 0.3 && !b.has_gb);
    assert_int_equal(sy_stats_seq_look_est(&cfg, NAN, 1, 900, 1, &b, NULL), -EINVAL);
}

/* An outcome that is its covariate (or a line of it: y = 2x + the arm's effect) leaves no
 * residual variance: exactly, and so always, whatever the quadruple-precision sums round
 * to (they leave 1e-34 of Syy either side of 0: once clamped to 0, once a standard error
 * of 1e-18 and an adjusted decision on it). The units come as the engine counts them: the
 * exposure's (x, 0), then its outcome replacing the 0. A covariate nearly the outcome, by
 * far more than the doubles' rounding, is still adjusted. */
static void cuped_outcome_on_a_line_of_its_covariate_has_zero_residual_variance(void **state)
{
    (void)state;
    static const double offsets[] = {0, 1e3, 1e9, 1e12, -9e14};
    static const double slopes[] = {1, 2, -1};
    for (size_t o = 0; o < sizeof(offsets) / sizeof(offsets[0]); o++)
        for (size_t s = 0; s < sizeof(slopes) / sizeof(slopes[0]); s++)
            for (uint64_t seed = 1; seed <= 4; seed++) {
                sy_comoments_t arms[3] = {{0}, {0}, {0}};
                uint64_t g = seed;
                for (size_t a = 0; a < 3; a++)
                    for (int i = 0; i < 400; i++) {
                        double x = offsets[o] + 100 * noise(&g);
                        double y = slopes[s] == 1 ? x : slopes[s] * x + (double)a;
                        sy_comoments_add(&arms[a], x, 0);
                        sy_comoments_replace_y(&arms[a], x, 0, y);
                    }
                sy_cuped_t r = {.diff = 42};
                for (size_t t = 1; t < 3; t++) {
                    int rc = sy_stats_cuped(arms, 3, 0, t, 0.95, &r, NULL);
                    if (rc != SY_EZEROVAR)
                        fail_msg("offset %g slope %g seed %d arm %zu: %d, se %g", offsets[o],
                                 slopes[s], (int)seed, t, rc, r.se);
                }
                double theta = 0;
                assert_int_equal(sy_stats_cuped_theta(arms, 3, &theta, NULL), 0);
                assert_close(theta, slopes[s], 1e-9, 0);
            }
    /* y = x + noise of 1e-6: a tiny residual, but a real one */
    sy_comoments_t near[2] = {{0}, {0}};
    uint64_t g = 3;
    for (size_t a = 0; a < 2; a++)
        for (int i = 0; i < 400; i++) {
            double x = 1e3 + 100 * noise(&g);
            sy_comoments_add(&near[a], x, x + 1e-6 * noise(&g));
        }
    sy_cuped_t r;
    assert_int_equal(sy_stats_cuped(near, 2, 0, 1, 0.95, &r, NULL), 0);
    assert_true(r.se > 1e-9 && r.se < 1e-6);
}

/* A mean metric whose outcome is mostly its covariate: raw, a +6 % lift is lost in the
 * noise; adjusted, it is plain. */
static void decision_reads_the_adjusted_figures_with_cuped_on(void **state)
{
    (void)state;
    static const char *const names[] = {"control", "b"};
    size_t n[] = {3000, 3000};
    uint64_t seed = 5;
    sy_arm_counts_t arms[2] = {{.weight = 50, .seq_p = 1, .cuped_seq_p = 1},
                               {.weight = 50, .seq_p = 1, .cuped_seq_p = 1}};
    for (size_t a = 0; a < 2; a++) {
        sy_welford_t w = {0};
        for (size_t i = 0; i < n[a]; i++) {
            double x = 100 + 600 * noise(&seed);
            double y = x + 6.0 * (double)a + 2 * noise(&seed);
            sy_welford_add(&w, y);
            sy_comoments_add(&arms[a].cov, x, y);
        }
        sy_moments_t m = sy_welford_moments(&w);
        arms[a].units = (int64_t)n[a];
        arms[a].covariates = (int64_t)n[a];
        arms[a].value_mean = m.mean;
        arms[a].value_sd = m.sd;
    }
    sy_experiment_in_t in = {.metric = SY_METRIC_MEAN,
                             .n_arms = 2,
                             .control = 0,
                             .arms = arms,
                             .names = names,
                             .safety = SY_SAFETY_DEFAULTS,
                             .runtime_hours = 72};
    sy_experiment_result_t raw, adj;
    assert_int_equal(sy_experiment_analyze(&in, &raw, NULL), 0);
    in.cuped = true;
    assert_int_equal(sy_experiment_analyze(&in, &adj, NULL), 0);
    assert_int_equal(raw.decision, SY_DECISION_CONTINUE);
    assert_false(raw.arms[1].cuped.has);
    assert_int_equal(adj.decision, SY_DECISION_PROMOTE);
    assert_true(adj.cuped && adj.has_theta && adj.with_covariate == 6000);
    assert_close(adj.theta, 1, 0.01, 0);
    const sy_arm_result_t *b = &adj.arms[1];
    assert_true(b->cuped.has && b->cuped.c.variance_reduction > 0.95);
    /* the raw figures stay as they were */
    assert_true(b->p_value == raw.arms[1].p_value && b->confidence == raw.arms[1].confidence);
    assert_true(b->checks.confidence == b->cuped.confidence);
    bool said = false;
    for (size_t i = 0; i < adj.n_reasons; i++)
        said |= strstr(adj.reasons[i], "CUPED-adjusted lift") != NULL;
    assert_true(said);

    /* sequential: the adjusted always-valid p has its own running minimum */
    in.sequential = true;
    double p = 1;
    assert_int_equal(sy_experiment_cuped_look(&in, 1, &p, NULL), 0);
    assert_true(p < 1e-6);
    arms[1].cuped_seq_p = p;
    assert_int_equal(sy_experiment_analyze(&in, &adj, NULL), 0);
    assert_true(adj.arms[1].cuped.has_seq && adj.arms[1].cuped.always_valid);
    assert_true(adj.arms[1].cuped.always_valid_p <= p);
    assert_true(adj.arms[1].cuped.diff_ci_high - adj.arms[1].cuped.diff_ci_low >
                adj.arms[1].cuped.c.diff_ci_high - adj.arms[1].cuped.c.diff_ci_low);
}

/* No covariate anywhere (every unit counts x = 0): CUPED cannot be computed, the decision
 * falls back to the raw figures and says nothing adjusted. */
static void decision_falls_back_to_raw_without_covariate_variation(void **state)
{
    (void)state;
    static const char *const names[] = {"control", "b"};
    sy_arm_counts_t arms[2] = {
        {.weight = 50, .units = 5000, .conversions = 500, .seq_p = 1, .cuped_seq_p = 1},
        {.weight = 50, .units = 5000, .conversions = 600, .seq_p = 1, .cuped_seq_p = 1}};
    for (size_t a = 0; a < 2; a++)
        for (int64_t i = 0; i < arms[a].units; i++)
            sy_comoments_add(&arms[a].cov, 0, i < arms[a].conversions ? 1 : 0);
    sy_experiment_in_t in = {.metric = SY_METRIC_CONVERSION,
                             .n_arms = 2,
                             .control = 0,
                             .arms = arms,
                             .names = names,
                             .safety = SY_SAFETY_DEFAULTS,
                             .runtime_hours = 72,
                             .cuped = true};
    sy_experiment_result_t r;
    assert_int_equal(sy_experiment_analyze(&in, &r, NULL), 0);
    assert_false(r.has_theta);
    assert_false(r.arms[1].cuped.has);
    assert_int_equal(r.arms[1].cuped.error, SY_EZEROVAR);
    assert_int_equal(r.decision, SY_DECISION_PROMOTE);
    for (size_t i = 0; i < r.n_reasons; i++)
        assert_null(strstr(r.reasons[i], "CUPED"));
}

/* A treatment significantly worse than control is worse, never a winner, even when its
 * lift rounds to nothing: a metric of 9e14 (a balance, say) 3 lower is a lift of -3e-15,
 * within the rules' 1e-9 of a minimum improvement of 0 %. Raw, and adjusted. */
static void a_significantly_worse_treatment_is_never_promoted(void **state)
{
    (void)state;
    static const char *const names[] = {"control", "b"};
    uint64_t seed = 9;
    sy_arm_counts_t arms[2] = {{.weight = 50, .seq_p = 1, .cuped_seq_p = 1},
                               {.weight = 50, .seq_p = 1, .cuped_seq_p = 1}};
    for (size_t a = 0; a < 2; a++) {
        sy_welford_t w = {0};
        for (int i = 0; i < 2000; i++) {
            double x = 10 * noise(&seed);
            double y = 9e14 + x - 3.0 * (double)a + 4 * noise(&seed);
            sy_welford_add(&w, y);
            sy_comoments_add(&arms[a].cov, x, y);
        }
        sy_moments_t m = sy_welford_moments(&w);
        arms[a].units = 2000;
        arms[a].covariates = 2000;
        arms[a].value_mean = m.mean;
        arms[a].value_sd = m.sd;
    }
    sy_experiment_in_t in = {.metric = SY_METRIC_MEAN,
                             .n_arms = 2,
                             .control = 0,
                             .arms = arms,
                             .names = names,
                             .safety = SY_SAFETY_DEFAULTS,
                             .runtime_hours = 72};
    in.safety.min_improvement_pct = 0;
    in.safety.min_sample_per_variant = 100;
    for (int cuped = 0; cuped < 2; cuped++) {
        in.cuped = cuped;
        sy_experiment_result_t r;
        assert_int_equal(sy_experiment_analyze(&in, &r, NULL), 0);
        const sy_arm_result_t *b = &r.arms[1];
        double diff = cuped ? b->cuped.c.diff : b->diff;
        assert_true(diff < -1 && b->checks.confidence > 0.999);
        assert_true(!cuped || b->cuped.has);
        assert_false(b->checks.eligible);
        assert_int_equal(b->verdict, SY_VERDICT_WORSE);
        assert_int_equal(r.decision, SY_DECISION_TERMINATE);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(comoments_add_equals_two_passes_at_any_offset),
    cmocka_unit_test(comoments_replace_y_equals_counting_the_new_values),
    cmocka_unit_test(comoments_merge_equals_one_pass_over_both),
    cmocka_unit_test(cuped_is_the_ancova_coefficient_of_each_treatment),
    cmocka_unit_test(cuped_without_covariate_variation_is_refused_not_nan),
    cmocka_unit_test(cuped_sequential_look_from_an_estimate_matches_the_mean_look),
    cmocka_unit_test(decision_reads_the_adjusted_figures_with_cuped_on),
    cmocka_unit_test(decision_falls_back_to_raw_without_covariate_variation),
    cmocka_unit_test(cuped_outcome_on_a_line_of_its_covariate_has_zero_residual_variance),
    cmocka_unit_test(a_significantly_worse_treatment_is_never_promoted),
};

SY_TEST_MAIN(tests)
