/* bandit.c - Thompson sampling's probabilities by quadrature, the weights with a floor, the
 * regret estimate; see bandit.h.
 */
#include "core/bandit.h"

#include <math.h>
#include <stdbool.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sf_gamma.h>

#define SPAN 10 /* each arm's grid covers its posterior mean +- SPAN sds */

/* One arm's posterior: Beta(a, b) on [0, 1], or N(m, s^2). */
struct post {
    bool beta;
    double a, b, lnbeta; /* beta */
    double m, s;         /* normal (and the beta's mean and sd, for its grid) */
    double lo, hi;       /* its grid's ends */
};

static double pdf(const struct post *q, double x)
{
    if (!q->beta) {
        double z = (x - q->m) / q->s;
        return exp(-0.5 * z * z) / (q->s * 2.5066282746310002);
    }
    if (x <= 0 || x >= 1) { /* the ends: a = 1 (or b = 1) leaves a finite density there */
        bool at0 = x <= 0;
        double k = at0 ? q->a : q->b;
        return k == 1 ? exp(-q->lnbeta) : 0;
    }
    return exp((q->a - 1) * log(x) + (q->b - 1) * log1p(-x) - q->lnbeta);
}

static double cdf(const struct post *q, double x)
{
    if (!q->beta)
        return 0.5 * erfc(-(x - q->m) / (q->s * 1.4142135623730951));
    return x <= 0 ? 0 : x >= 1 ? 1 : gsl_cdf_beta_P(x, q->a, q->b);
}

/* The grid point k of arm q (k < SY_BANDIT_GRID). */
static double grid_at(const struct post *q, int k)
{
    return k == SY_BANDIT_GRID - 1 ? q->hi
                                   : q->lo + (q->hi - q->lo) * (double)k / (SY_BANDIT_GRID - 1);
}

static int check_arms(const sy_bandit_arm_t *arms, size_t n, sy_err_t *err)
{
    if (n < 2 || n > SY_BANDIT_MAX_ARMS)
        return sy_err_set(err, -EINVAL, "arms", "a bandit has 2 to %d arms", SY_BANDIT_MAX_ARMS);
    for (size_t i = 0; i < n; i++) {
        const sy_bandit_arm_t *a = &arms[i];
        if (a->units < 0 || a->conversions < 0 || a->conversions > a->units || !isfinite(a->mean) ||
            !isfinite(a->variance) || a->variance < 0)
            return sy_err_set(err, -EINVAL, "arms",
                              "arm %zu: counts that contradict each other (units %lld, "
                              "conversions %lld)",
                              i, (long long)a->units, (long long)a->conversions);
    }
    return 0;
}

/* The wide prior of a mean arm with fewer than 2 units: the pooled mean and sd of the
 * arms that have 2 or more (N(0, 1) when none has: every arm alike). */
static void wide_prior(const sy_bandit_arm_t *arms, size_t n, double *m, double *s)
{
    double units = 0, sum = 0;
    for (size_t i = 0; i < n; i++)
        if (arms[i].units >= 2) {
            units += (double)arms[i].units;
            sum += (double)arms[i].units * arms[i].mean;
        }
    if (units < 2) {
        *m = 0, *s = 1;
        return;
    }
    *m = sum / units;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        if (arms[i].units >= 2) {
            double d = arms[i].mean - *m, k = (double)arms[i].units;
            ss += (k - 1) * arms[i].variance + k * d * d;
        }
    *s = sqrt(ss / (units - 1));
    if (!(*s > 0))
        *s = fmax(1e-9, 1e-9 * fabs(*m)); /* every value alike: a narrow prior still */
}

static void posterior(sy_metric_t metric, const sy_bandit_arm_t *arms, size_t n, size_t i,
                      struct post *q)
{
    const sy_bandit_arm_t *x = &arms[i];
    if (metric == SY_METRIC_CONVERSION) {
        double a = 1 + (double)x->conversions, b = 1 + (double)(x->units - x->conversions);
        *q = (struct post){.beta = true,
                           .a = a,
                           .b = b,
                           .lnbeta = gsl_sf_lnbeta(a, b),
                           .m = a / (a + b),
                           .s = sqrt(a * b / ((a + b) * (a + b) * (a + b + 1)))};
        q->lo = fmax(0, q->m - SPAN * q->s);
        q->hi = fmin(1, q->m + SPAN * q->s);
        return;
    }
    *q = (struct post){0};
    if (x->units < 2) {
        wide_prior(arms, n, &q->m, &q->s);
    } else {
        q->m = x->mean;
        q->s = sqrt(x->variance / (double)x->units);
        double least = 1e-9 * fmax(1, fabs(q->m)); /* identical values: a point, nearly */
        if (!(q->s > least))
            q->s = least;
    }
    q->lo = q->m - SPAN * q->s;
    q->hi = q->m + SPAN * q->s;
}

int sy_bandit_prob_best(sy_metric_t metric, const sy_bandit_arm_t *arms, size_t n, double *p,
                        sy_err_t *err)
{
    int rc = check_arms(arms, n, err);
    if (rc < 0)
        return rc;
    struct post q[SY_BANDIT_MAX_ARMS];
    int next[SY_BANDIT_MAX_ARMS];         /* each arm's next grid point */
    double f[SY_BANDIT_MAX_ARMS];         /* densities at the current point */
    double F[SY_BANDIT_MAX_ARMS];         /* distribution functions there */
    double h[SY_BANDIT_MAX_ARMS];         /* integrands there */
    double acc[SY_BANDIT_MAX_ARMS] = {0}; /* integrals so far */
    for (size_t i = 0; i < n; i++) {
        posterior(metric, arms, n, i, &q[i]);
        next[i] = 0;
    }
    /* the union of the grids, in order: each point once, every arm whose grid has it
     * advanced past it */
    double prev = 0;
    bool first = true;
    for (;;) {
        double x = INFINITY;
        for (size_t i = 0; i < n; i++)
            if (next[i] < SY_BANDIT_GRID && grid_at(&q[i], next[i]) < x)
                x = grid_at(&q[i], next[i]);
        if (x == INFINITY)
            break;
        double dx = first ? 0 : x - prev;
        for (size_t j = 0; j < n; j++) {
            double fj = pdf(&q[j], x);
            if (first) {
                F[j] = cdf(&q[j], x);
            } else if (next[j] == 0 && grid_at(&q[j], 0) == x) {
                F[j] = cdf(&q[j], x); /* its own grid begins: exact again */
            } else {
                F[j] += 0.5 * (f[j] + fj) * dx;
                if (F[j] > 1)
                    F[j] = 1;
            }
            f[j] = fj;
        }
        for (size_t i = 0; i < n; i++) {
            double hi = f[i];
            for (size_t j = 0; j < n; j++)
                if (j != i)
                    hi *= F[j];
            if (!first)
                acc[i] += 0.5 * (h[i] + hi) * dx;
            h[i] = hi;
        }
        for (size_t i = 0; i < n; i++)
            while (next[i] < SY_BANDIT_GRID && grid_at(&q[i], next[i]) <= x)
                next[i]++;
        prev = x;
        first = false;
    }
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += acc[i];
    /* densities beyond the doubles (4e18 units: NaN) are no evidence: every arm alike */
    bool ok = isfinite(sum) && sum > 0;
    for (size_t i = 0; i < n; i++)
        p[i] = ok ? acc[i] / sum : 1.0 / (double)n;
    return 0;
}

int sy_bandit_weights(const double *p, size_t n, int64_t floor_pct, int64_t *weights, sy_err_t *err)
{
    if (n < 1 || n > SY_BANDIT_MAX_ARMS)
        return sy_err_set(err, -EINVAL, "p", "2 to %d arms", SY_BANDIT_MAX_ARMS);
    if (floor_pct < 0 || (int64_t)n * floor_pct > 100)
        return sy_err_set(err, -EINVAL, "min_weight_pct",
                          "min_weight_pct is a whole number of points from 0 to 100 / %zu arms", n);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(p[i] >= 0) || !isfinite(p[i]))
            return sy_err_set(err, -EINVAL, "p", "probabilities are numbers from 0 to 1");
        sum += p[i];
    }
    if (!(sum > 0) || !isfinite(sum))
        return sy_err_set(err, -EINVAL, "p", "the probabilities sum to 0, or beyond a double");
    double free_pts = (double)(100 - (int64_t)n * floor_pct), rem[SY_BANDIT_MAX_ARMS];
    int64_t given = 0;
    for (size_t i = 0; i < n; i++) {
        double share = free_pts * p[i] / sum;
        int64_t whole = (int64_t)floor(share);
        rem[i] = share - (double)whole;
        weights[i] = floor_pct + whole;
        given += weights[i];
    }
    for (; given < 100; given++) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (rem[i] > rem[best])
                best = i;
        weights[best]++;
        rem[best] = -1;
    }
    return 0;
}

void sy_bandit_means(sy_metric_t metric, const sy_bandit_arm_t *arms, size_t n, double *mean)
{
    for (size_t i = 0; i < n; i++) {
        struct post q;
        posterior(metric, arms, n, i, &q);
        mean[i] = q.m;
    }
}

double sy_bandit_regret(sy_metric_t metric, const sy_bandit_arm_t *arms, size_t n)
{
    double m[SY_BANDIT_MAX_ARMS], best = -INFINITY, regret = 0;
    if (n > SY_BANDIT_MAX_ARMS)
        n = SY_BANDIT_MAX_ARMS;
    sy_bandit_means(metric, arms, n, m);
    for (size_t i = 0; i < n; i++)
        best = fmax(best, m[i]);
    for (size_t i = 0; i < n; i++)
        regret += (double)arms[i].units * (best - m[i]);
    return regret;
}
