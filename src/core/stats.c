/* stats.c - statistical tests; the contract is stats.h and
 * ../shared/conformance/stats/README.md. */
#include "core/stats.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_gamma.h>

#include "core/rng.h"

/* Counts become doubles for arithmetic; beyond 2^53 that conversion is no longer exact. */
#define MAX_EXACT_COUNT (INT64_C(1) << 53)

/* ---- Input checks ---------------------------------------------------------------- */

static int check_binom(const sy_binom_t *b, const char *arm, sy_err_t *err)
{
    char field[48];
    if (b->trials < 0 || b->trials >= MAX_EXACT_COUNT) {
        snprintf(field, sizeof(field), "%s.trials", arm);
        return sy_err_set(err, -EINVAL, field, "%s trials must be in 0..2^53, got %lld", arm,
                          (long long)b->trials);
    }
    if (b->successes < 0) {
        snprintf(field, sizeof(field), "%s.successes", arm);
        return sy_err_set(err, -EINVAL, field, "%s successes must not be negative, got %lld", arm,
                          (long long)b->successes);
    }
    if (b->successes > b->trials) {
        snprintf(field, sizeof(field), "%s.successes", arm);
        return sy_err_set(err, -EINVAL, field, "%s successes (%lld) exceed trials (%lld)", arm,
                          (long long)b->successes, (long long)b->trials);
    }
    return 0;
}

static int check_moments(const sy_moments_t *m, const char *arm, sy_err_t *err)
{
    char field[48];
    if (!isfinite(m->mean) || !isfinite(m->mean_lo)) {
        snprintf(field, sizeof(field), "%s.mean", arm);
        return sy_err_set(err, -EINVAL, field, "%s mean must be a finite number", arm);
    }
    if (!isfinite(m->sd) || m->sd < 0) {
        snprintf(field, sizeof(field), "%s.sd", arm);
        return sy_err_set(err, -EINVAL, field, "%s sd must be a finite number >= 0", arm);
    }
    if (m->n < 0 || m->n >= MAX_EXACT_COUNT) {
        snprintf(field, sizeof(field), "%s.n", arm);
        return sy_err_set(err, -EINVAL, field, "%s n must be in 0..2^53, got %lld", arm,
                          (long long)m->n);
    }
    return 0;
}

/* Checks lo < x < hi, which also refuses NaN. */
static int check_open(double x, double lo, double hi, const char *field, sy_err_t *err)
{
    if (x > lo && x < hi)
        return 0;
    return sy_err_set(err, -EINVAL, field, "%s must be in (%g, %g), got %g", field, lo, hi, x);
}

/* The last line of defence of "never NaN": every double a call returns passes here. */
static int check_results(const double *v, size_t n, sy_err_t *err)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return sy_err_set(err, -ERANGE, NULL, "result out of double range");
    return 0;
}

/* ---- Distributions ---------------------------------------------------------------- */

int sy_stats_alt_parse(const char *name, sy_alt_t *out)
{
    static const sy_alt_t alts[] = {SY_ALT_TWO_SIDED, SY_ALT_LARGER, SY_ALT_SMALLER};
    for (size_t i = 0; i < sizeof(alts) / sizeof(alts[0]); i++) {
        if (strcmp(name, sy_stats_alt_name(alts[i])) == 0) {
            *out = alts[i];
            return 0;
        }
    }
    return -EINVAL;
}

const char *sy_stats_alt_name(sy_alt_t alt)
{
    switch (alt) {
    case SY_ALT_LARGER:
        return "larger";
    case SY_ALT_SMALLER:
        return "smaller";
    case SY_ALT_TWO_SIDED:
        break;
    }
    return "two-sided";
}

double sy_stats_norm_cdf(double x)
{
    return gsl_cdf_ugaussian_P(x);
}

double sy_stats_norm_sf(double x)
{
    return gsl_cdf_ugaussian_Q(x);
}

double sy_stats_norm_ppf(double p)
{
    if (!(p >= 0 && p <= 1))
        return NAN;
    return gsl_cdf_ugaussian_Pinv(p);
}

double sy_stats_norm_isf(double p)
{
    if (!(p >= 0 && p <= 1))
        return NAN;
    return gsl_cdf_ugaussian_Qinv(p);
}

/* Regularised incomplete beta I_x(a, b). An underflow is a true 0, not an error. */
static double beta_inc(double a, double b, double x)
{
    gsl_sf_result r;
    int rc = gsl_sf_beta_inc_e(a, b, x, &r);
    if (rc == GSL_SUCCESS || rc == GSL_EUNDRFLW)
        return rc == GSL_SUCCESS ? r.val : 0.0;
    return NAN;
}

double sy_stats_t_sf(double t, double df)
{
    if (isnan(t) || !(df > 0))
        return NAN;
    /* GSL's tdist_Q uses a Cornish-Fisher expansion for df > 30 that is good to only
     * ~1e-7 relative in the far tail below df ~ 700; the incomplete beta is exact there
     * but loses digits for very large df, where tdist_Q is fine again. */
    if (df <= 30 || df >= 1000)
        return gsl_cdf_tdist_Q(t, df);
    double upper = 0.5 * beta_inc(df / 2, 0.5, df / (df + t * t)); /* P(T > |t|) */
    return t >= 0 ? upper : 1.0 - upper;
}

/* The t quantile with upper tail p: GSL's, off by up to ~4e-9 relative near 40 degrees of
 * freedom, polished by Newton's method on sy_stats_t_sf (accurate there to ~1e-11). */
double sy_stats_t_isf(double p, double df)
{
    double q = gsl_cdf_tdist_Qinv(p, df);
    for (int k = 0; k < 2 && isfinite(q); k++) {
        double f = gsl_ran_tdist_pdf(q, df);
        if (!(f > 0))
            break;
        q += (sy_stats_t_sf(q, df) - p) / f;
    }
    return q;
}

/* p-value of a standard-normal statistic for the alternative; p_value_t is its twin for
 * Student's t. */
static double p_value_norm(double z, sy_alt_t alt)
{
    switch (alt) {
    case SY_ALT_LARGER:
        return gsl_cdf_ugaussian_Q(z);
    case SY_ALT_SMALLER:
        return gsl_cdf_ugaussian_Q(-z);
    case SY_ALT_TWO_SIDED:
        break;
    }
    return 2 * gsl_cdf_ugaussian_Q(fabs(z));
}

static double p_value_t(double t, double df, sy_alt_t alt)
{
    switch (alt) {
    case SY_ALT_LARGER:
        return sy_stats_t_sf(t, df);
    case SY_ALT_SMALLER:
        return sy_stats_t_sf(-t, df);
    case SY_ALT_TWO_SIDED:
        break;
    }
    return 2 * sy_stats_t_sf(fabs(t), df);
}

/* ---- Two-proportion z-test ------------------------------------------------------- */

int sy_stats_ztest(const sy_binom_t *control, const sy_binom_t *treatment, sy_alt_t alt,
                   bool pooled, double confidence, sy_ztest_t *out, sy_err_t *err)
{
    int rc = check_binom(control, "control", err);
    if (rc == 0)
        rc = check_binom(treatment, "treatment", err);
    if (rc == 0)
        rc = check_open(confidence, 0, 1, "confidence", err);
    if (rc < 0)
        return rc;
    if (control->trials == 0 || treatment->trials == 0)
        return sy_err_set(err, SY_ENOTRIALS,
                          control->trials == 0 ? "control.trials" : "treatment.trials",
                          "%s has no trials", control->trials == 0 ? "control" : "treatment");

    double n_c = (double)control->trials, n_t = (double)treatment->trials;
    double p_c = (double)control->successes / n_c;
    double p_t = (double)treatment->successes / n_t;
    double v_c = p_c * (1 - p_c) / n_c, v_t = p_t * (1 - p_t) / n_t;
    double se_wald = sqrt(v_c + v_t);
    double se = se_wald;
    if (pooled) {
        double p = (double)(control->successes + treatment->successes) / (n_c + n_t);
        se = sqrt(p * (1 - p) * (1 / n_c + 1 / n_t));
    }

    sy_ztest_t r = {.diff = p_t - p_c};
    if (se == 0) {
        if (r.diff != 0)
            return sy_err_set(err, SY_EZEROVAR, NULL,
                              "zero variance: one rate is 0 and the other 1, z is infinite");
        r.z = 0; /* no evidence either way, whatever the alternative */
        r.p_value = 1;
    } else {
        r.z = r.diff / se;
        r.p_value = p_value_norm(r.z, alt);
    }
    double q = gsl_cdf_ugaussian_Qinv((1 - confidence) / 2);
    r.diff_ci_low = r.diff - q * se_wald;
    r.diff_ci_high = r.diff + q * se_wald;
    r.has_lift = control->successes > 0;
    if (r.has_lift) {
        r.lift = r.diff / p_c;
        double se_lift = sqrt(v_t / (p_c * p_c) + p_t * p_t * v_c / (p_c * p_c * p_c * p_c));
        r.lift_ci_low = r.lift - q * se_lift;
        r.lift_ci_high = r.lift + q * se_lift;
    }
    double all[] = {r.z, r.p_value, r.diff_ci_low, r.diff_ci_high, r.lift_ci_low, r.lift_ci_high};
    rc = check_results(all, sizeof(all) / sizeof(all[0]), err);
    if (rc < 0)
        return rc;
    *out = r;
    return 0;
}

/* ---- Welch's t-test --------------------------------------------------------------- */

/* treatment's mean less control's, each to twice a double's digits when known: two means
 * near 1e12 differ by what their roundings would take */
static double mean_diff(const sy_moments_t *control, const sy_moments_t *treatment)
{
    return (treatment->mean - control->mean) + (treatment->mean_lo - control->mean_lo);
}

int sy_stats_welch(const sy_moments_t *control, const sy_moments_t *treatment, sy_alt_t alt,
                   double confidence, sy_welch_t *out, sy_err_t *err)
{
    int rc = check_moments(control, "control", err);
    if (rc == 0)
        rc = check_moments(treatment, "treatment", err);
    if (rc == 0)
        rc = check_open(confidence, 0, 1, "confidence", err);
    if (rc < 0)
        return rc;
    if (control->n < 2 || treatment->n < 2)
        return sy_err_set(err, SY_ETOOFEW, control->n < 2 ? "control.n" : "treatment.n",
                          "%s needs at least 2 samples for a sample sd",
                          control->n < 2 ? "control" : "treatment");

    /* Standard errors of each mean, never squared on their own: sd = 1e-200 or 1e200 would
     * underflow to a false "zero variance" or overflow to infinity. */
    double s_c = control->sd / sqrt((double)control->n);
    double s_t = treatment->sd / sqrt((double)treatment->n);
    double se = hypot(s_c, s_t);
    sy_welch_t r = {.diff = mean_diff(control, treatment)};
    if (se == 0) {
        if (r.diff != 0)
            return sy_err_set(err, SY_EZEROVAR, NULL,
                              "zero variance: both sds are 0 and the means differ");
        r.t = 0;
        r.p_value = 1;
        r.diff_ci_low = r.diff_ci_high = r.diff;
        *out = r;
        return 0;
    }
    /* Welch-Satterthwaite, written with each arm's share of the total variance. */
    double a = (s_c / se) * (s_c / se), b = (s_t / se) * (s_t / se);
    r.has_df = true;
    r.df = 1 / (a * a / (double)(control->n - 1) + b * b / (double)(treatment->n - 1));
    r.t = r.diff / se;
    r.p_value = p_value_t(r.t, r.df, alt);
    double q = sy_stats_t_isf((1 - confidence) / 2, r.df);
    r.diff_ci_low = r.diff - q * se;
    r.diff_ci_high = r.diff + q * se;
    double all[] = {r.t, r.df, r.p_value, r.diff, r.diff_ci_low, r.diff_ci_high};
    rc = check_results(all, sizeof(all) / sizeof(all[0]), err);
    if (rc < 0)
        return rc;
    *out = r;
    return 0;
}

/* ---- Running moments -------------------------------------------------------------- */

void sy_welford_add(sy_welford_t *w, double x)
{
    w->n++;
    sy_wide_t d = (sy_wide_t)x - w->mean;
    w->mean += d / (sy_wide_t)w->n;
    w->m2 += d * ((sy_wide_t)x - w->mean);
}

void sy_welford_replace(sy_welford_t *w, double old, double x)
{
    if (w->n < 1)
        return;
    sy_wide_t mean = w->mean, d = (sy_wide_t)x - (sy_wide_t)old;
    w->mean += d / (sy_wide_t)w->n;
    /* sum (x_i - mean')^2 changes by d (x - mean' + old - mean) */
    w->m2 += d * (((sy_wide_t)x - w->mean) + ((sy_wide_t)old - mean));
    if (w->m2 < 0) /* rounding, with every value equal */
        w->m2 = 0;
}

void sy_welford_merge(sy_welford_t *into, const sy_welford_t *b)
{
    if (b->n == 0)
        return;
    if (into->n == 0) {
        *into = *b;
        return;
    }
    sy_wide_t na = (sy_wide_t)into->n, nb = (sy_wide_t)b->n, n = na + nb;
    sy_wide_t d = b->mean - into->mean;
    into->mean += d * (nb / n);
    into->m2 += b->m2 + d * d * (na / n) * nb;
    into->n += b->n;
}

sy_moments_t sy_welford_moments(const sy_welford_t *w)
{
    sy_moments_t m = {.n = w->n};
    if (w->n == 0)
        return m;
    m.mean = (double)w->mean;
    m.mean_lo = (double)(w->mean - (sy_wide_t)m.mean);
    if (w->n >= 2 && w->m2 > 0) /* long double holds its range on x86-64 (1e-4951) */
        m.sd = (double)sqrtl((long double)(w->m2 / (sy_wide_t)(w->n - 1)));
    return m;
}

/* ---- Running co-moments ----------------------------------------------------------- */

void sy_comoments_add(sy_comoments_t *c, double x, double y)
{
    c->n++;
    sy_wide_t n = (sy_wide_t)c->n;
    sy_wide_t dx = (sy_wide_t)x - c->mean_x, dy = (sy_wide_t)y - c->mean_y;
    c->mean_x += dx / n;
    c->mean_y += dy / n;
    c->m2x += dx * ((sy_wide_t)x - c->mean_x);
    c->m2y += dy * ((sy_wide_t)y - c->mean_y);
    /* the old x deviation times the new y deviation: the co-moment's Welford update */
    c->cxy += dx * ((sy_wide_t)y - c->mean_y);
}

void sy_comoments_replace_y(sy_comoments_t *c, double x, double y_old, double y_new)
{
    if (c->n < 1)
        return;
    sy_wide_t mean_y = c->mean_y, d = (sy_wide_t)y_new - (sy_wide_t)y_old;
    c->mean_y += d / (sy_wide_t)c->n;
    c->m2y += d * (((sy_wide_t)y_new - c->mean_y) + ((sy_wide_t)y_old - mean_y));
    if (c->m2y < 0) /* rounding, with every y equal */
        c->m2y = 0;
    /* sum (x_i - mx)(y_i' - my') gains (x - mx) d: the deviations of x sum to 0 */
    c->cxy += ((sy_wide_t)x - c->mean_x) * d;
}

void sy_comoments_merge(sy_comoments_t *into, const sy_comoments_t *b)
{
    if (b->n == 0)
        return;
    if (into->n == 0) {
        *into = *b;
        return;
    }
    sy_wide_t na = (sy_wide_t)into->n, nb = (sy_wide_t)b->n, n = na + nb;
    sy_wide_t dx = b->mean_x - into->mean_x, dy = b->mean_y - into->mean_y, w = na / n * nb;
    into->mean_x += dx * (nb / n);
    into->mean_y += dy * (nb / n);
    into->m2x += b->m2x + dx * dx * w;
    into->m2y += b->m2y + dy * dy * w;
    into->cxy += b->cxy + dx * dy * w;
    into->n += b->n;
}

/* ---- CUPED ------------------------------------------------------------------------ */

/* The within-arm sums pooled over the arms, and the units and non-empty arms. */
struct pooled {
    sy_wide_t sxx, sxy, syy;
    sy_wide_t xx, yy; /* the sums of x^2 and y^2 (about 0): the scale of the data */
    int64_t units;
    int64_t arms;
};

static int pool_arms(const sy_comoments_t *arms, size_t n, struct pooled *p, sy_err_t *err)
{
    *p = (struct pooled){0};
    if (!arms || n < 2 || n > SY_STATS_MAX_ARMS)
        return sy_err_set(err, -EINVAL, "arms", "2 to %d arms", SY_STATS_MAX_ARMS);
    for (size_t i = 0; i < n; i++) {
        const sy_comoments_t *a = &arms[i];
        if (a->n < 0 || a->n >= MAX_EXACT_COUNT || !(a->m2x >= 0) || !(a->m2y >= 0) ||
            !isfinite((double)a->cxy) || !isfinite((double)a->mean_x) ||
            !isfinite((double)a->mean_y)) {
            char field[32];
            snprintf(field, sizeof(field), "arms[%zu]", i);
            return sy_err_set(err, -EINVAL, field, "co-moments out of range");
        }
        if (a->n == 0)
            continue;
        p->sxx += a->m2x;
        p->sxy += a->cxy;
        p->syy += a->m2y;
        p->xx += a->m2x + (sy_wide_t)a->n * a->mean_x * a->mean_x;
        p->yy += a->m2y + (sy_wide_t)a->n * a->mean_y * a->mean_y;
        p->units += a->n;
        p->arms++;
    }
    return 0;
}

int sy_stats_cuped_theta(const sy_comoments_t *arms, size_t n, double *theta, sy_err_t *err)
{
    struct pooled p;
    int rc = pool_arms(arms, n, &p, err);
    if (rc < 0)
        return rc;
    if (p.units - p.arms - 1 < 1)
        return sy_err_set(err, SY_ETOOFEW, NULL, "CUPED needs more units than arms + 1");
    if (!(p.sxx > 0))
        return sy_err_set(err, SY_EZEROVAR, NULL, "the covariate does not vary within the arms");
    double t = (double)(p.sxy / p.sxx);
    if (!isfinite(t))
        return sy_err_set(err, -ERANGE, NULL, "result out of double range");
    *theta = t;
    return 0;
}

int sy_stats_cuped(const sy_comoments_t *arms, size_t n, size_t control, size_t treatment,
                   double confidence, sy_cuped_t *out, sy_err_t *err)
{
    struct pooled p;
    int rc = pool_arms(arms, n, &p, err);
    if (rc < 0)
        return rc;
    if (control >= n || treatment >= n || control == treatment)
        return sy_err_set(err, -EINVAL, control >= n ? "control" : "treatment",
                          "the arms compared must be two different arms");
    if ((rc = check_open(confidence, 0, 1, "confidence", err)) < 0)
        return rc;
    const sy_comoments_t *c = &arms[control], *t = &arms[treatment];
    if (c->n == 0 || t->n == 0)
        return sy_err_set(err, SY_ENOTRIALS, c->n ? "treatment" : "control", "an arm is empty");
    int64_t df = p.units - p.arms - 1;
    if (df < 1)
        return sy_err_set(err, SY_ETOOFEW, NULL, "CUPED needs more units than arms + 1");
    if (!(p.sxx > 0))
        return sy_err_set(err, SY_EZEROVAR, NULL, "the covariate does not vary within the arms");
    sy_wide_t theta = p.sxy / p.sxx;
    sy_wide_t rss = p.syy - theta * p.sxy;
    /* Every point on one line (an outcome that is its covariate): the residual is 0, but
     * the sums leave a rounding of it either side of 0. What is below the rounding of the
     * values themselves (doubles: a relative 2^-52 of each x and y) is no residual any
     * data could show: 0, whichever side it fell on. */
    sy_wide_t ulp = (sy_wide_t)DBL_EPSILON;
    if (rss <= ulp * ulp * (p.yy + theta * theta * p.xx))
        rss = 0;
    sy_wide_t nc = (sy_wide_t)c->n, nt = (sy_wide_t)t->n;
    sy_wide_t dx = t->mean_x - c->mean_x, dy = t->mean_y - c->mean_y;
    sy_wide_t diff = dy - theta * dx;
    sy_wide_t sigma2 = rss / (sy_wide_t)df;
    sy_wide_t var = sigma2 * (1 / nt + 1 / nc + dx * dx / p.sxx);
    if (!(var > 0))
        return sy_err_set(err, SY_EZEROVAR, NULL, "the adjusted outcome has no variance left");
    /* each arm's variance of its mean, and control's covariance of its means (ddof = 1) */
    sy_wide_t vc = c->n >= 2 ? c->m2y / (nc - 1) / nc : 0;
    sy_wide_t vt = t->n >= 2 ? t->m2y / (nt - 1) / nt : 0;
    sy_wide_t cov_c = c->n >= 2 ? c->cxy / (nc - 1) / nc : 0;
    sy_cuped_t r = {.theta = (double)theta,
                    .diff = (double)diff,
                    .se = (double)sqrtl((long double)var),
                    .se_raw = (double)sqrtl((long double)(vc + vt)),
                    .df = (double)df};
    r.t = r.diff / r.se;
    r.p_value = 2 * sy_stats_t_sf(fabs(r.t), r.df);
    if (r.p_value > 1)
        r.p_value = 1;
    double q = sy_stats_t_isf((1 - confidence) / 2, r.df);
    r.diff_ci_low = r.diff - q * r.se;
    r.diff_ci_high = r.diff + q * r.se;
    r.variance_reduction = vc + vt > 0 ? (double)(1 - var / (vc + vt)) : 0;
    double mc = (double)c->mean_y;
    if (mc != 0) {
        /* the delta method on diff / |m_c|, theta held fixed: Var(diff) / m^2
         * + diff^2 Var(m) / m^4 - 2 diff sign(m) Cov(diff, m) / (|m| m^2), where
         * Cov(diff, ybar_c) = -(Var(ybar_c) - theta Cov(xbar_c, ybar_c)) */
        sy_wide_t m = (sy_wide_t)mc, am = m < 0 ? -m : m, sg = m < 0 ? -1 : 1;
        sy_wide_t cov = -(vc - theta * cov_c);
        sy_wide_t vl =
            var / (m * m) + diff * diff * vc / (m * m * m * m) - 2 * diff * sg * cov / (am * m * m);
        if (vl < 0)
            vl = 0;
        r.has_lift = true;
        r.lift = (double)(diff / am);
        r.se_lift = (double)sqrtl((long double)vl);
        r.lift_ci_low = r.lift - q * r.se_lift;
        r.lift_ci_high = r.lift + q * r.se_lift;
    }
    double all[] = {r.theta,
                    r.diff,
                    r.se,
                    r.se_raw,
                    r.t,
                    r.p_value,
                    r.diff_ci_low,
                    r.diff_ci_high,
                    r.variance_reduction,
                    r.lift,
                    r.se_lift,
                    r.lift_ci_low,
                    r.lift_ci_high};
    rc = check_results(all, sizeof(all) / sizeof(all[0]), err);
    if (rc < 0)
        return rc;
    *out = r;
    return 0;
}

/* ---- Sample-ratio mismatch ------------------------------------------------------- */

int sy_stats_srm(const int64_t *observed, const double *weights, size_t n, double alpha,
                 sy_srm_t *out, sy_err_t *err)
{
    char field[32];
    if (n < 2 || n > SY_STATS_MAX_ARMS)
        return sy_err_set(err, -EINVAL, "observed", "need 2..%d variants, got %zu",
                          SY_STATS_MAX_ARMS, n);
    double sum_w = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        if (observed[i] < 0 || observed[i] >= MAX_EXACT_COUNT) {
            snprintf(field, sizeof(field), "observed[%zu]", i);
            return sy_err_set(err, -EINVAL, field, "observed count must be in 0..2^53");
        }
        if (!isfinite(weights[i]) || weights[i] < 0) {
            snprintf(field, sizeof(field), "weights[%zu]", i);
            return sy_err_set(err, -EINVAL, field, "weight must be a finite number >= 0");
        }
        sum_w += weights[i];
        total += (double)observed[i];
    }
    if (!(sum_w > 0) || !isfinite(sum_w))
        return sy_err_set(err, -EINVAL, "weights", "weights must have a positive sum");
    int rc = check_open(alpha, 0, 1, "alpha", err);
    if (rc < 0)
        return rc;
    int arms = 0;
    for (size_t i = 0; i < n; i++) {
        if (weights[i] == 0 && observed[i] > 0) {
            snprintf(field, sizeof(field), "observed[%zu]", i);
            return sy_err_set(err, -EINVAL, field, "units observed in a variant of weight 0");
        }
        arms += weights[i] > 0;
    }
    if (total == 0)
        return sy_err_set(err, SY_ENOTRIALS, "observed", "no units observed");
    if (arms < 2)
        return sy_err_set(err, -EINVAL, "weights", "need 2 or more variants of weight > 0");

    sy_srm_t r = {.df = arms - 1};
    for (size_t i = 0; i < n; i++) {
        if (weights[i] == 0)
            continue;
        double e = total * weights[i] / sum_w, d = (double)observed[i] - e;
        r.chi2 += d * d / e;
    }
    r.p_value = gsl_cdf_chisq_Q(r.chi2, r.df);
    r.mismatch = r.p_value < alpha;
    double all[] = {r.chi2, r.p_value};
    rc = check_results(all, 2, err);
    if (rc < 0)
        return rc;
    *out = r;
    return 0;
}

/* ---- Power and sample size ------------------------------------------------------- */

static int check_plan(const sy_power_plan_t *plan, sy_err_t *err)
{
    int rc = check_open(plan->baseline, 0, 1, "baseline", err);
    if (rc < 0)
        return rc;
    if (!isfinite(plan->mde_relative) || plan->mde_relative == 0)
        return sy_err_set(err, -EINVAL, "mde_relative", "mde_relative must be a nonzero number");
    double p2 = plan->baseline * (1 + plan->mde_relative);
    if (!(p2 > 0 && p2 < 1))
        return sy_err_set(err, -EINVAL, "mde_relative",
                          "the treatment rate baseline*(1+mde_relative) = %g is not in (0, 1)", p2);
    rc = check_open(plan->alpha, 0, 1, "alpha", err);
    if (rc < 0)
        return rc;
    if (!(plan->ratio > 0) || !isfinite(plan->ratio))
        return sy_err_set(err, -EINVAL, "ratio", "ratio must be a finite number > 0");
    return 0;
}

/* What both conventions derive from a (checked) plan. */
struct rates {
    double p1, p2; /* control and treatment rates */
    double h;      /* Cohen's h, signed */
    double z_a;    /* z_{1 - alpha/2} */
    double sd0;    /* sd of diff times sqrt(n_control) under H0, pooled rate */
    double sd1;    /* the same under H1, each arm's own rate */
};

static struct rates plan_rates(const sy_power_plan_t *plan)
{
    double p1 = plan->baseline, r = plan->ratio, p2 = p1 * (1 + plan->mde_relative);
    double pbar = (p1 + r * p2) / (1 + r);
    struct rates o = {
        .p1 = p1,
        .p2 = p2,
        .h = 2 * asin(sqrt(p2)) - 2 * asin(sqrt(p1)),
        .z_a = gsl_cdf_ugaussian_Qinv(plan->alpha / 2),
        .sd0 = sqrt(pbar * (1 - pbar) * (1 + 1 / r)),
        .sd1 = sqrt(p1 * (1 - p1) + p2 * (1 - p2) / r),
    };
    return o;
}

/* Power of the two-sided test at effect |h|, critical value z, and s = sqrt(n_eff):
 * both tails, the far one included. */
static double cohen_power(double h, double z, double s)
{
    return gsl_cdf_ugaussian_P(h * s - z) + gsl_cdf_ugaussian_Q(h * s + z);
}

/* Solves cohen_power(h, z, s) = target for s. The closed form s0 = (z + z_power) / h drops
 * the far tail, so power(s0) >= target and the root lies in (0, s0]; Newton inside that
 * bracket, bisecting when a step would leave it. */
static double cohen_solve(double h, double z, double target)
{
    double lo = 0, hi = (z + gsl_cdf_ugaussian_Pinv(target)) / h, s = hi;
    for (int i = 0; i < 200; i++) {
        double f = cohen_power(h, z, s) - target;
        if (f > 0)
            hi = s;
        else
            lo = s;
        double slope = h * (gsl_ran_ugaussian_pdf(h * s - z) - gsl_ran_ugaussian_pdf(h * s + z));
        double next = slope > 0 ? s - f / slope : (lo + hi) / 2;
        if (!(next > lo && next < hi))
            next = (lo + hi) / 2;
        if (fabs(next - s) <= 1e-15 * s)
            return next;
        s = next;
    }
    return s;
}

int sy_stats_sample_size(const sy_power_plan_t *plan, sy_sample_size_t *out, sy_err_t *err)
{
    int rc = check_plan(plan, err);
    if (rc < 0)
        return rc;
    if (!(plan->power > plan->alpha && plan->power < 1))
        return sy_err_set(err, -EINVAL, "power", "power must be in (alpha, 1), got %g",
                          plan->power);

    struct rates q = plan_rates(plan);
    double r = plan->ratio, z_b = gsl_cdf_ugaussian_Pinv(plan->power);
    sy_sample_size_t o = {.effect_size_h = q.h};

    double s = cohen_solve(fabs(q.h), q.z_a, plan->power);
    o.n_control_cohen_h = s * s * (1 + r) / r; /* n_eff = n_c r / (1 + r) */

    double k = (q.z_a * q.sd0 + z_b * q.sd1) / (q.p2 - q.p1);
    o.n_control_pooled_normal = k * k;

    double all[] = {o.effect_size_h, o.n_control_cohen_h, o.n_control_pooled_normal};
    rc = check_results(all, 3, err);
    if (rc < 0)
        return rc;
    *out = o;
    return 0;
}

int sy_stats_power(const sy_power_plan_t *plan, double n_control, sy_power_t *out, sy_err_t *err)
{
    int rc = check_plan(plan, err);
    if (rc < 0)
        return rc;
    if (!(n_control > 0) || !isfinite(n_control))
        return sy_err_set(err, -EINVAL, "n_control", "n_control must be a number > 0");

    struct rates q = plan_rates(plan);
    double r = plan->ratio;
    sy_power_t o = {.effect_size_h = q.h};
    o.power_cohen_h = cohen_power(fabs(q.h), q.z_a, sqrt(n_control * r / (1 + r)));

    double d = fabs(q.p2 - q.p1) * sqrt(n_control);
    o.power_pooled_normal = gsl_cdf_ugaussian_P((d - q.z_a * q.sd0) / q.sd1) +
                            gsl_cdf_ugaussian_P((-d - q.z_a * q.sd0) / q.sd1);

    double all[] = {o.effect_size_h, o.power_cohen_h, o.power_pooled_normal};
    rc = check_results(all, 3, err);
    if (rc < 0)
        return rc;
    *out = o;
    return 0;
}

static int check_mean_plan(const sy_power_mean_plan_t *p, sy_err_t *err)
{
    if (!isfinite(p->delta) || p->delta == 0)
        return sy_err_set(err, -EINVAL, "delta", "delta must be a nonzero number");
    if (!(p->sd_control > 0) || !isfinite(p->sd_control))
        return sy_err_set(err, -EINVAL, "sd_control", "sd_control must be a number > 0");
    if (!(p->sd_treatment >= 0) || !isfinite(p->sd_treatment))
        return sy_err_set(err, -EINVAL, "sd_treatment", "sd_treatment must be a number >= 0");
    if (!(p->ratio > 0) || !isfinite(p->ratio))
        return sy_err_set(err, -EINVAL, "ratio", "ratio must be a finite number > 0");
    return check_open(p->alpha, 0, 1, "alpha", err);
}

int sy_stats_sample_size_mean(const sy_power_mean_plan_t *plan, double *n_control, sy_err_t *err)
{
    int rc = check_mean_plan(plan, err);
    if (rc < 0)
        return rc;
    if (!(plan->power > plan->alpha && plan->power < 1))
        return sy_err_set(err, -EINVAL, "power", "power must be in (alpha, 1), got %g",
                          plan->power);
    double k = (gsl_cdf_ugaussian_Qinv(plan->alpha / 2) + gsl_cdf_ugaussian_Pinv(plan->power)) /
               plan->delta;
    /* (k sd)^2 with every factor taken first: sds of 1e-200 square to nothing, but their
     * ratio to delta does not */
    double s = hypot(plan->sd_control, plan->sd_treatment / sqrt(plan->ratio)) * k;
    double n = s * s;
    if ((rc = check_results(&n, 1, err)) < 0)
        return rc;
    *n_control = n;
    return 0;
}

int sy_stats_power_mean(const sy_power_mean_plan_t *plan, double n_control, double *power,
                        sy_err_t *err)
{
    int rc = check_mean_plan(plan, err);
    if (rc < 0)
        return rc;
    if (!(n_control > 0) || !isfinite(n_control))
        return sy_err_set(err, -EINVAL, "n_control", "n_control must be a number > 0");
    double se = hypot(plan->sd_control, plan->sd_treatment / sqrt(plan->ratio)) / sqrt(n_control);
    double d = fabs(plan->delta) / se, z = gsl_cdf_ugaussian_Qinv(plan->alpha / 2);
    double p = gsl_cdf_ugaussian_P(d - z) + gsl_cdf_ugaussian_Q(d + z);
    if ((rc = check_results(&p, 1, err)) < 0)
        return rc;
    *power = p;
    return 0;
}

/* ---- Power of the rule that decides ---------------------------------------------- */

#define RULE_PATHS 8192 /* sequential paths by default (and at most): within ~0.5 points */

/* The paths a sequential plan runs. */
static int rule_n_paths(const sy_rule_plan_t *p)
{
    return p->paths > 0 && p->paths < RULE_PATHS ? p->paths : RULE_PATHS;
}

/* A plan's two arms: levels, per-unit variances, and the treatment's units per control unit. */
struct rule_arms {
    double c, t;   /* levels: rates, or means */
    double vc, vt; /* per-unit variances */
    double r;      /* ratio */
    double scale;  /* |control level|: what relative lifts are of */
};

static struct rule_arms rule_arms(const sy_rule_plan_t *p)
{
    struct rule_arms a = {
        .c = p->baseline, .r = p->ratio > 0 ? p->ratio : 1, .scale = fabs(p->baseline)};
    a.t = a.c + p->lift * a.scale;
    if (p->mean) {
        a.vc = p->sd_control * p->sd_control;
        a.vt = p->sd_treatment * p->sd_treatment;
    } else {
        a.vc = a.c * (1 - a.c);
        a.vt = a.t * (1 - a.t);
    }
    return a;
}

static int check_rule_plan(const sy_rule_plan_t *p, sy_err_t *err)
{
    if (p->mean) {
        if (!(p->baseline != 0) || !isfinite(p->baseline))
            return sy_err_set(err, -EINVAL, "baseline",
                              "the control's mean must be a number, not 0");
        if (!(p->lift > -1e6 && p->lift < 1e6))
            return sy_err_set(err, -EINVAL, "lift", "must be a number");
        if (!(p->sd_control >= 0 && p->sd_treatment >= 0) || !isfinite(p->sd_control) ||
            !isfinite(p->sd_treatment) || !(p->sd_control + p->sd_treatment > 0))
            return sy_err_set(err, -EINVAL, "sd", "the sds must be numbers >= 0, not both 0");
    } else {
        double pt = p->baseline * (1 + p->lift);
        if (!(p->baseline > 0 && p->baseline < 1))
            return sy_err_set(err, -EINVAL, "baseline", "baseline must be in (0, 1)");
        if (!(p->lift > -1) || !(pt > 0 && pt < 1))
            return sy_err_set(err, -EINVAL, "lift", "the treatment's rate must be in (0, 1)");
    }
    if (!(p->min_improvement >= 0) || !isfinite(p->min_improvement))
        return sy_err_set(err, -EINVAL, "min_improvement", "must be a number >= 0");
    if (!(p->tau_squared >= 0) || !isfinite(p->tau_squared))
        return sy_err_set(err, -EINVAL, "tau_squared", "must be a number >= 0");
    if (!(p->ratio >= 0 && p->ratio <= 1e6))
        return sy_err_set(err, -EINVAL, "ratio", "must be a number from 0 to 1e6");
    if (p->units_per_look < (p->sequential ? 1 : 0))
        return sy_err_set(err, -EINVAL, "units_per_look",
                          "must be >= 1 (sequential) or >= 0 (0: read once)");
    if (p->min_sample < 0)
        return sy_err_set(err, -EINVAL, "min_sample", "must be >= 0");
    return check_open(p->alpha, 0, 1, "alpha", err);
}

/* The standard error the test divides by at n control units, under H0: the pooled
 * z-test's (conversion), Welch's (mean). */
static double rule_se0(const sy_rule_plan_t *p, const struct rule_arms *a, double n)
{
    if (p->mean)
        return sqrt(a->vc / n + a->vt / (a->r * n));
    double pbar = (a->c + a->r * a->t) / (1 + a->r);
    return sqrt(pbar * (1 - pbar) * (1 + 1 / a->r) / n);
}

/* Fixed horizon at n control units: the test beyond its critical value and the lift at its
 * gate, in the same draw of the difference d ~ N(delta, V/n): P(d >= max(z SE0, m |c|)).
 * SE0 is the pooled z-test's under H0 (conversion), Welch's (mean). */
static double rule_power_fixed(const sy_rule_plan_t *p, double n)
{
    if (n < (double)p->min_sample || n < 1)
        return 0;
    struct rule_arms a = rule_arms(p);
    double se = sqrt(a.vc / n + a.vt / (a.r * n)), se0 = rule_se0(p, &a, n);
    double crit = fmax(gsl_cdf_ugaussian_Qinv(p->alpha / 2) * se0, p->min_improvement * a.scale);
    return gsl_cdf_ugaussian_Q((crit - (a.t - a.c)) / se);
}

/* A sequential plan's looks: units_per_look apart, coarser where more than this many would
 * reach n_max (a path that is never promoted runs to the last look: this bounds the work
 * at 8,192 x 4,096 steps, ~0.2 s). */
#define RULE_MAX_LOOKS 4096

/* The control units between looks up to n: units_per_look, or coarser (see above). */
static int64_t rule_step(const sy_rule_plan_t *p, int64_t n)
{
    int64_t u = p->units_per_look, least = (n + RULE_MAX_LOOKS - 1) / RULE_MAX_LOOKS;
    return u > least ? u : least;
}

/* Paths of the difference's sum, looked at every `step` control units: the look (1, 2, ...)
 * each is promoted at, up to `looks` <= RULE_MAX_LOOKS (INT32_MAX: not by then), into
 * `at`. Sequential: the mixture SPRT's running p under alpha (once under, it stays); fixed
 * horizon read at every look (as the engine's checks read it): the test at that look. Both
 * with the gate and min_sample at the same look. Each path seeded by its index:
 * deterministic, whatever `looks`. */
static void rule_paths(const sy_rule_plan_t *p, int64_t step, int32_t looks, int32_t *at)
{
    struct rule_arms a = rule_arms(p);
    double delta = a.t - a.c, s2 = a.vc + a.vt / a.r; /* the difference's variance: s2 / n */
    double m = p->min_improvement, u = (double)step, gate = m * a.scale;
    double tau2 = p->tau_squared > 0 ? p->tau_squared : pow((m > 0.01 ? m : 0.01) * a.scale, 2);
    double z = gsl_cdf_ugaussian_Qinv(p->alpha / 2);
    /* at look l the bound on d (fixed: z SE0, and the gate) or on d^2 (sequential: the
     * log-likelihood ratio -log(1 + tau2/v)/2 + tau2 d^2 / (2 v (v + tau2)) reaching
     * log(1/alpha), v = s2/n) */
    double bound[RULE_MAX_LOOKS + 1];
    for (int32_t l = 1; l <= looks; l++) {
        double n = u * l, v = s2 / n;
        if (p->sequential)
            bound[l] = (-log(p->alpha) + 0.5 * log1p(tau2 / v)) * 2 * v * (v + tau2) / tau2;
        else
            bound[l] = fmax(z * rule_se0(p, &a, n), gate);
    }
    double sd_step = sqrt(u * s2), drift = u * delta;
    for (int k = 0, paths = rule_n_paths(p); k < paths; k++) {
        /* each path its own stream: its draws do not depend on how long the others ran */
        uint64_t seed = 20261206u + (uint64_t)k;
        seed = sy_rng_next(&seed);
        at[k] = INT32_MAX;
        double sum = 0, g[2]; /* the differences' sum; a pair of normals */
        bool crossed = false;
        for (int32_t l = 1; l <= looks; l++) {
            if (l & 1)
                sy_rng_gauss2(&seed, &g[0], &g[1]);
            sum += drift + sd_step * g[!(l & 1)];
            double n = u * l, d = sum / n;
            bool pass = p->sequential ? (crossed |= d * d >= bound[l]) && d >= gate : d >= bound[l];
            if (pass && n >= (double)p->min_sample) {
                at[k] = l;
                break;
            }
        }
    }
}

/* Whether the plan is read once, at n: the fixed-horizon test without looks. */
static bool read_once(const sy_rule_plan_t *p)
{
    return !p->sequential && p->units_per_look == 0;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Looks of `step` units up to n control units. */
static int32_t rule_looks(int64_t step, int64_t n)
{
    int64_t l = n / step;
    return l > RULE_MAX_LOOKS ? RULE_MAX_LOOKS : (int32_t)l;
}

int sy_stats_rule_power(const sy_rule_plan_t *plan, int64_t n, double *power, sy_err_t *err)
{
    int rc = check_rule_plan(plan, err);
    if (rc < 0)
        return rc;
    if (read_once(plan)) {
        *power = rule_power_fixed(plan, (double)n);
        return 0;
    }
    int32_t at[RULE_PATHS];
    int64_t step = rule_step(plan, n);
    int32_t looks = rule_looks(step, n);
    rule_paths(plan, step, looks, at);
    int hits = 0, paths = rule_n_paths(plan);
    for (int k = 0; k < paths; k++)
        hits += at[k] <= looks;
    *power = (double)hits / paths;
    return 0;
}

/* How far a sequential search goes: n_max, or the horizon of a 99 % plan when nearer (a
 * caller's generous n_max would otherwise coarsen the looks to 1/4,096 of it). */
static int64_t rule_reach(const sy_rule_plan_t *p, int64_t n_max)
{
    int64_t h = sy_stats_rule_horizon(p, 0.99);
    return h > 0 && h < n_max ? h : n_max;
}

/* Fixed horizon: the smallest n in [1, n_max] whose power reaches `target` (the power only
 * grows with n once the test's critical value is under the gate's: bisect), 0 if none. */
static int64_t fixed_sample(const sy_rule_plan_t *p, double target, int64_t n_max)
{
    if (rule_power_fixed(p, (double)n_max) < target)
        return 0;
    int64_t lo = 0, hi = n_max;
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (rule_power_fixed(p, (double)mid) >= target)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

/* The looks at which the paths are promoted, up to *n_max (cut to rule_reach), sorted into
 * at[0..*paths): the quantiles of the units to promotion are at[k] times the step
 * returned. */
static int64_t sorted_paths(const sy_rule_plan_t *p, int64_t *n_max, int32_t *at, int *paths)
{
    *n_max = rule_reach(p, *n_max);
    int64_t step = rule_step(p, *n_max);
    rule_paths(p, step, rule_looks(step, *n_max), at);
    *paths = rule_n_paths(p);
    qsort(at, (size_t)*paths, sizeof(*at), cmp_i32);
    return step;
}

int sy_stats_rule_sample(const sy_rule_plan_t *plan, double target, int64_t n_max, int64_t *n,
                         sy_err_t *err)
{
    int rc = check_rule_plan(plan, err);
    if (rc < 0)
        return rc;
    if (!(target > 0 && target < 1))
        return sy_err_set(err, -EINVAL, "power", "the target power must be in (0, 1)");
    if (read_once(plan)) {
        if (!(*n = fixed_sample(plan, target, n_max)))
            return sy_err_set(err, -ERANGE, "power", "not reached by %lld units a variant",
                              (long long)n_max);
        return 0;
    }
    int32_t at[RULE_PATHS];
    int paths;
    int64_t step = sorted_paths(plan, &n_max, at, &paths);
    int32_t need = at[(size_t)ceil(target * paths) - 1];
    if (need == INT32_MAX)
        return sy_err_set(err, -ERANGE, "power", "not reached by %lld units a variant",
                          (long long)n_max);
    *n = (int64_t)need * step;
    return 0;
}

int64_t sy_stats_rule_horizon(const sy_rule_plan_t *plan, double target)
{
    if (check_rule_plan(plan, NULL) < 0 || !(target > 0 && target < 1))
        return 0;
    struct rule_arms a = rule_arms(plan);
    double z = gsl_cdf_ugaussian_Qinv(plan->alpha / 2) + gsl_cdf_ugaussian_Pinv(target);
    double delta = a.t - a.c, n = 16 * z * z * (a.vc + a.vt / a.r) / (delta * delta);
    n = fmax(fmax(n, 2.0 * (double)plan->min_sample), 1000);
    return n <= 1e12 ? (int64_t)n : 0;
}

int sy_stats_rule_curve(const sy_rule_plan_t *plan, int64_t n_max, sy_rule_curve_t *out,
                        sy_err_t *err)
{
    int rc = check_rule_plan(plan, err);
    if (rc < 0)
        return rc;
    if (n_max < 1)
        return sy_err_set(err, -EINVAL, "n_max", "must be >= 1");
    if (read_once(plan)) {
        for (int j = 0; j < SY_RULE_CURVE_POINTS; j++) {
            int64_t n = fixed_sample(plan, (j + 1) / 100.0, n_max);
            out->n[j] = n ? n : INT64_MAX;
        }
        return 0;
    }
    int32_t at[RULE_PATHS];
    int paths;
    int64_t step = sorted_paths(plan, &n_max, at, &paths);
    for (int j = 0; j < SY_RULE_CURVE_POINTS; j++) {
        int32_t l = at[(size_t)ceil((j + 1) / 100.0 * paths) - 1];
        out->n[j] = l == INT32_MAX ? INT64_MAX : (int64_t)l * step;
    }
    return 0;
}

double sy_rule_curve_power(const sy_rule_curve_t *c, int64_t n)
{
    int k = 0; /* points reached: the probability is at least k / 100 */
    while (k < SY_RULE_CURVE_POINTS && c->n[k] <= n)
        k++;
    if (k == SY_RULE_CURVE_POINTS)
        return 0.99;
    if (c->n[k] == INT64_MAX)
        return k / 100.0;
    int64_t lo = k ? c->n[k - 1] : 0; /* between points, linear in n */
    double f = c->n[k] > lo ? (double)(n - lo) / (double)(c->n[k] - lo) : 0;
    return (k + (f > 0 ? f : 0)) / 100.0;
}

int64_t sy_rule_curve_units(const sy_rule_curve_t *c, double power)
{
    int j = (int)ceil(power * 100 - 1e-9) - 1;
    return j < 0 ? 0 : j >= SY_RULE_CURVE_POINTS ? INT64_MAX : c->n[j];
}

/* ---- Bayesian beta-binomial ------------------------------------------------------ */

static double lnbeta(double a, double b)
{
    gsl_sf_result r;
    return gsl_sf_lnbeta_e(a, b, &r) == GSL_SUCCESS ? r.val : NAN;
}

/* What one walk over Evan Miller's terms gives for X ~ Beta(a1, b1), Y ~ Beta(a2, b2). */
struct beat {
    double p;    /* P(X > Y) */
    double gain; /* E[max(X - Y, 0)] */
};

/* Both for a1 a positive integer, from the terms (independent of a1)
 *   t_i = B(a2 + i, b1 + b2) / ((b1 + i) B(1 + i, b1) B(a2, b2)):
 *
 *   P(X > Y) = sum_{i < a1} t_i                                    (Evan Miller)
 *   E[max(X - Y, 0)] = a1/(a1+b1) P(X+ > Y) - a2/(a2+b2) P(X > Y+)
 *                    = sum_{i < a1} t_i w_i + t_a1 a1/(a1+b1),
 *   w_i = (a1 (b1 + b2) - b1 (a2 + i)) / ((a1 + b1)(a2 + b1 + b2 + i)),
 *
 * with X+ ~ Beta(a1 + 1, b1), Y+ ~ Beta(a2 + 1, b2): P(X > Y+) has the terms
 * t_i (a2 + i)(a2 + b2) / ((a2 + b1 + b2 + i) a2). Weighting one walk instead of
 * subtracting two sums keeps the error of lnbeta at large n (~1e-7) relative to the
 * loss instead of amplifying it by the cancellation.
 *
 * The terms are unimodal: t_{i+1}/t_i >= 1 exactly while i <= c below. So we start at
 * the mode, in logs, and walk outwards with the term ratio; once a term times the number
 * of terms left on that side is below 1e-18 of the sum, the rest cannot matter. At 1e8
 * units this sums thousands of terms, not tens of millions. */
static struct beat evan_walk(double a1, double b1, double a2, double b2)
{
    double c = (a2 * b1 - a2 - b1 - b2) / (b2 + 1);
    double m = c >= 0 ? floor(c) + 1 : 0;
    if (m > a1)
        m = a1;
    double log_tm = lnbeta(a2 + m, b1 + b2) - log(b1 + m) - lnbeta(1 + m, b1) - lnbeta(a2, b2);

    const double eps = 1e-18;
    double sum_p = 0, sum_g = 0, scale = 0;
    for (int dir = 1; dir >= -1; dir -= 2) {
        double u = 1; /* t_i / t_m */
        for (double i = dir > 0 ? m : m - 1; i >= 0 && i <= a1; i += dir) {
            if (dir > 0 && i > m)
                u *= (a2 + i - 1) * (b1 + i - 1) / ((a2 + b1 + b2 + i - 1) * i);
            if (dir < 0)
                u /= (a2 + i) * (b1 + i) / ((a2 + b1 + b2 + i) * (i + 1));
            double w = i < a1 ? (a1 * (b1 + b2) - b1 * (a2 + i)) / ((a1 + b1) * (a2 + b1 + b2 + i))
                              : a1 / (a1 + b1);
            if (i < a1)
                sum_p += u;
            sum_g += u * w;
            scale += u;
            if (u * (dir > 0 ? a1 - i : i) <= eps * scale)
                break;
        }
    }
    struct beat r = {exp(log_tm) * sum_p, exp(log_tm) * sum_g};
    if (r.p > 1)
        r.p = 1;
    if (r.gain < 0) /* rounding in the cancelling sum of a tiny gain */
        r.gain = 0;
    return r;
}

/* Walks over whichever of X's alpha or Y's beta is smaller: by symmetry X > Y exactly
 * when 1 - Y > 1 - X, with 1 - Y ~ Beta(b2, a2) and 1 - X ~ Beta(b1, a1), and the gain is
 * the same. Both are direct sums, never "1 - sum", so tiny results keep their digits. */
static struct beat beat(double a1, double b1, double a2, double b2)
{
    return a1 <= b2 ? evan_walk(a1, b1, a2, b2) : evan_walk(b2, a2, b1, a1);
}

static int check_prior(double v, const char *field, sy_err_t *err)
{
    if (v >= 1 && v <= 1e9 && v == floor(v))
        return 0;
    return sy_err_set(err, -EINVAL, field, "%s must be a whole number in 1..1e9, got %g", field, v);
}

int sy_stats_bayes(const sy_binom_t *control, const sy_binom_t *treatment, double prior_alpha,
                   double prior_beta, sy_bayes_t *out, sy_err_t *err)
{
    int rc = check_binom(control, "control", err);
    if (rc == 0)
        rc = check_binom(treatment, "treatment", err);
    if (rc == 0)
        rc = check_prior(prior_alpha, "prior.alpha", err);
    if (rc == 0)
        rc = check_prior(prior_beta, "prior.beta", err);
    if (rc < 0)
        return rc;

    double ac = prior_alpha + (double)control->successes;
    double bc = prior_beta + (double)(control->trials - control->successes);
    double at = prior_alpha + (double)treatment->successes;
    double bt = prior_beta + (double)(treatment->trials - treatment->successes);
    struct beat t_over_c = beat(at, bt, ac, bc), c_over_t = beat(ac, bc, at, bt);
    sy_bayes_t o = {
        .chance_to_beat_control = t_over_c.p,
        .expected_loss_treatment = c_over_t.gain,
        .expected_loss_control = t_over_c.gain,
    };
    double all[] = {o.chance_to_beat_control, o.expected_loss_treatment, o.expected_loss_control};
    rc = check_results(all, 3, err);
    if (rc < 0)
        return rc;
    *out = o;
    return 0;
}

/* ---- Sequential testing ---------------------------------------------------------- */

static int check_seq(const sy_seq_cfg_t *cfg, double prev_p, sy_err_t *err)
{
    if (!(cfg->tau_squared > 0) || !isfinite(cfg->tau_squared))
        return sy_err_set(err, -EINVAL, "tau_squared", "tau_squared must be a number > 0");
    if (!isfinite(cfg->theta0))
        return sy_err_set(err, -EINVAL, "theta0", "theta0 must be a finite number");
    int rc = check_open(cfg->alpha, 0, 1, "alpha", err);
    if (rc < 0)
        return rc;
    if (!(cfg->gb_tuning > 0) || !isfinite(cfg->gb_tuning))
        return sy_err_set(err, -EINVAL, "gb_tuning_parameter",
                          "gb_tuning_parameter must be a number > 0");
    if (!(prev_p >= 0 && prev_p <= 1))
        return sy_err_set(err, -EINVAL, "prev_p", "previous p-value must be in [0, 1]");
    return 0;
}

/* GrowthBook's N rho^2, rho^2 = (-2 ln alpha + ln(1 - 2 ln alpha)) / S */
static double n_rho2(double units, double alpha, double tuning)
{
    double la = log(alpha);
    return units * ((-2 * la + log(1 - 2 * la)) / tuning);
}

double sy_stats_cs_multiplier(double units, double alpha, double tuning)
{
    double nr = n_rho2(units, alpha, tuning);
    return sqrt(2 * (nr + 1) / nr * (0.5 * log1p(nr) - log(alpha)));
}

/* The look proper, once theta_hat and V_n > 0 are known; `units` is n_c + n_t. */
static void seq_look(const sy_seq_cfg_t *cfg, double units, double prev_p, sy_seq_look_t *o)
{
    double v = o->variance, tau2 = cfg->tau_squared, d = o->theta_hat - cfg->theta0;
    /* Lambda itself overflows (log Lambda ~ 1e3 at 1e8 units): stay in logs. */
    o->log_lambda = -0.5 * log1p(tau2 / v) + tau2 * d * d / (2 * v * (v + tau2));
    double p = exp(-o->log_lambda);
    o->always_valid_p = p < prev_p ? p : prev_p;

    double nr = n_rho2(units, cfg->alpha, cfg->gb_tuning);
    double half = sqrt(v) * sy_stats_cs_multiplier(units, cfg->alpha, cfg->gb_tuning);
    double ln_e = nr * (d * d / v) / (2 * (nr + 1)) - 0.5 * log1p(nr);
    o->has_gb = true;
    o->gb_ci_low = o->theta_hat - half;
    o->gb_ci_high = o->theta_hat + half;
    o->gb_p_value = ln_e > 0 ? exp(-ln_e) : 1;
}

static int seq_finish(sy_seq_look_t *o, sy_err_t *err)
{
    double all[] = {o->theta_hat, o->variance,   o->log_lambda, o->always_valid_p,
                    o->gb_ci_low, o->gb_ci_high, o->gb_p_value};
    return check_results(all, sizeof(all) / sizeof(all[0]), err);
}

int sy_stats_seq_look_prop(const sy_seq_cfg_t *cfg, const sy_binom_t *control,
                           const sy_binom_t *treatment, double prev_p, sy_seq_look_t *out,
                           sy_err_t *err)
{
    int rc = check_seq(cfg, prev_p, err);
    if (rc == 0)
        rc = check_binom(control, "control", err);
    if (rc == 0)
        rc = check_binom(treatment, "treatment", err);
    if (rc < 0)
        return rc;

    sy_seq_look_t o = {.always_valid_p = prev_p};
    if (control->trials > 0 && treatment->trials > 0) {
        double n_c = (double)control->trials, n_t = (double)treatment->trials;
        double p_c = (double)control->successes / n_c, p_t = (double)treatment->successes / n_t;
        o.has_theta = o.has_variance = true;
        o.theta_hat = p_t - p_c;
        o.variance = p_c * (1 - p_c) / n_c + p_t * (1 - p_t) / n_t;
        if (o.variance > 0)
            seq_look(cfg, n_c + n_t, prev_p, &o);
    }
    rc = seq_finish(&o, err);
    if (rc < 0)
        return rc;
    *out = o;
    return 0;
}

int sy_stats_seq_look_mean(const sy_seq_cfg_t *cfg, const sy_moments_t *control,
                           const sy_moments_t *treatment, double prev_p, sy_seq_look_t *out,
                           sy_err_t *err)
{
    int rc = check_seq(cfg, prev_p, err);
    if (rc == 0)
        rc = check_moments(control, "control", err);
    if (rc == 0)
        rc = check_moments(treatment, "treatment", err);
    if (rc < 0)
        return rc;

    sy_seq_look_t o = {.always_valid_p = prev_p};
    if (control->n >= 2 && treatment->n >= 2) {
        /* The test is the same in any unit: values far from 1 (sds of 1e-200 square to
         * nothing) are looked at scaled by a power of two, exactly, and tau and theta0
         * with them. */
        double big = fmax(fmax(fabs(control->mean), fabs(treatment->mean)),
                          fmax(control->sd, treatment->sd));
        int k = big > 0x1p200 || (big > 0 && big < 0x1p-200) ? -ilogb(big) : 0;
        sy_seq_cfg_t c = *cfg;
        c.tau_squared = ldexp(cfg->tau_squared, 2 * k);
        c.theta0 = ldexp(cfg->theta0, k);
        double n_c = (double)control->n, n_t = (double)treatment->n;
        double s_c = ldexp(control->sd, k) / sqrt(n_c), s_t = ldexp(treatment->sd, k) / sqrt(n_t);
        o.has_theta = o.has_variance = true;
        o.theta_hat = ldexp(mean_diff(control, treatment), k);
        o.variance = s_c * s_c + s_t * s_t;
        if (o.variance > 0)
            seq_look(&c, n_c + n_t, prev_p, &o);
        o.theta_hat = ldexp(o.theta_hat, -k); /* reported in the metric's unit */
        o.variance = ldexp(o.variance, -2 * k);
    }
    rc = seq_finish(&o, err);
    if (rc < 0)
        return rc;
    *out = o;
    return 0;
}

int sy_stats_seq_look_est(const sy_seq_cfg_t *cfg, double theta_hat, double variance, double units,
                          double prev_p, sy_seq_look_t *out, sy_err_t *err)
{
    int rc = check_seq(cfg, prev_p, err);
    if (rc < 0)
        return rc;
    if (!isfinite(theta_hat) || !(variance >= 0) || !isfinite(variance) || !(units > 0) ||
        !isfinite(units))
        return sy_err_set(err, -EINVAL, "theta_hat",
                          "an estimate, a variance >= 0 and units > 0, all finite");
    sy_seq_look_t o = {.always_valid_p = prev_p,
                       .has_theta = true,
                       .theta_hat = theta_hat,
                       .has_variance = true,
                       .variance = variance};
    if (variance > 0)
        seq_look(cfg, units, prev_p, &o);
    rc = seq_finish(&o, err);
    if (rc < 0)
        return rc;
    *out = o;
    return 0;
}

/* ---- Anytime-valid sample-ratio mismatch ----------------------------------------- */

/* ln Gamma(a), a > 0 (GSL: libm's lgamma writes a global) */
static double lngamma(double a)
{
    gsl_sf_result r;
    return gsl_sf_lngamma_e(a, &r) == GSL_SUCCESS ? r.val : NAN;
}

/* Makes `weights` the split of a new period of `s`, with no units yet. Fewer than 2 arms of
 * weight > 0: -EINVAL, or, `untested_ok`, a period the test cannot judge. */
static int srm_seq_split(sy_srm_seq_t *s, const double *weights, bool untested_ok, sy_err_t *err)
{
    double sum = 0;
    size_t live = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!(weights[i] >= 0) || !isfinite(weights[i])) {
            char field[32];
            snprintf(field, sizeof(field), "weights[%zu]", i);
            return sy_err_set(err, -EINVAL, field, "a weight must be a finite number >= 0");
        }
        sum += weights[i];
        live += weights[i] > 0;
    }
    if (live < 2 && !untested_ok)
        return sy_err_set(err, -EINVAL, "weights", "at least 2 arms need a weight > 0");
    s->untested = live < 2;
    double a_sum = 0;
    s->lnb_prior = 0;
    for (size_t i = 0; i < s->n; i++) {
        s->theta[i] = weights[i] / sum;
        s->counts[i] = 0;
        if (s->theta[i] > 0) {
            double a = s->concentration * s->theta[i];
            s->lnb_prior += lngamma(a);
            a_sum += a;
        }
    }
    s->lnb_prior -= s->untested ? 0 : lngamma(a_sum);
    s->log_bf = 0;
    return 0;
}

int sy_srm_seq_start(sy_srm_seq_t *s, const double *weights, size_t n, double concentration,
                     sy_err_t *err)
{
    if (n < 2 || n > SY_STATS_MAX_ARMS)
        return sy_err_set(err, -EINVAL, "weights", "need 2..%d arms, got %zu", SY_STATS_MAX_ARMS,
                          n);
    if (!(concentration > 0) || !isfinite(concentration))
        return sy_err_set(err, -EINVAL, "concentration", "must be a finite number > 0");
    *s = (sy_srm_seq_t){.n = n, .concentration = concentration, .p = 1};
    return srm_seq_split(s, weights, false, err);
}

int sy_srm_seq_period(sy_srm_seq_t *s, const double *weights, sy_err_t *err)
{
    double log_bf = s->log_bf;
    sy_srm_seq_t next = *s;
    int rc = srm_seq_split(&next, weights, true, err);
    if (rc < 0)
        return rc;
    next.log_e_before = s->log_e_before + log_bf;
    *s = next;
    return 0;
}

int sy_srm_seq_look(sy_srm_seq_t *s, const int64_t *new_units, sy_err_t *err)
{
    int64_t total = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (new_units[i] < 0 || s->counts[i] + new_units[i] >= MAX_EXACT_COUNT) {
            char field[32];
            snprintf(field, sizeof(field), "units[%zu]", i);
            return sy_err_set(err, -EINVAL, field, "units must be in 0..2^53");
        }
        total += new_units[i];
    }
    if (total == 0)
        return 0;
    bool impossible = false;
    double lnb_post = 0, a_sum = 0, against = 0;
    for (size_t i = 0; i < s->n; i++) {
        s->counts[i] += new_units[i];
        if (s->theta[i] == 0) {
            impossible |= s->counts[i] > 0;
            continue;
        }
        double a = s->concentration * s->theta[i] + (double)s->counts[i];
        lnb_post += lngamma(a);
        a_sum += a;
        against += (double)s->counts[i] * log(s->theta[i]);
    }
    lnb_post -= lngamma(a_sum);
    s->log_bf = impossible ? INFINITY : s->untested ? 0 : lnb_post - s->lnb_prior - against;
    double p = exp(-sy_srm_seq_log_e(s));
    if (p < s->p)
        s->p = p;
    return 0;
}

int sy_srm_mix_start(sy_srm_mix_t *m, const double *weights, size_t n, sy_err_t *err)
{
    m->log_e = 0;
    m->p = 1;
    for (int j = 0; j < SY_SRM_MIX; j++) {
        int rc = sy_srm_seq_start(&m->t[j], weights, n, pow(10, 2 + j), err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int sy_srm_mix_period(sy_srm_mix_t *m, const double *weights, sy_err_t *err)
{
    sy_srm_mix_t next = *m;
    for (int j = 0; j < SY_SRM_MIX; j++) {
        int rc = sy_srm_seq_period(&next.t[j], weights, err);
        if (rc < 0)
            return rc;
    }
    *m = next;
    return 0;
}

int sy_srm_mix_look(sy_srm_mix_t *m, const int64_t *new_units, sy_err_t *err)
{
    /* log((1/K) sum exp(log_e_j)), from the largest: no overflow */
    double top = -INFINITY, sum = 0;
    for (int j = 0; j < SY_SRM_MIX; j++) {
        int rc = sy_srm_seq_look(&m->t[j], new_units, err);
        if (rc < 0)
            return rc; /* the first refuses before it changes anything: so do the rest */
        top = fmax(top, sy_srm_seq_log_e(&m->t[j]));
    }
    for (int j = 0; isfinite(top) && j < SY_SRM_MIX; j++)
        sum += exp(sy_srm_seq_log_e(&m->t[j]) - top);
    m->log_e = isfinite(top) ? top + log(sum / SY_SRM_MIX) : top;
    double p = exp(-m->log_e);
    if (p < m->p)
        m->p = p;
    return 0;
}

/* ---- Holm-Bonferroni ------------------------------------------------------------- */

int sy_stats_holm(const double *p, size_t n, double *adjusted, sy_err_t *err)
{
    if (n == 0 || n > SY_STATS_MAX_ARMS)
        return sy_err_set(err, -EINVAL, "p_values", "need 1..%d p-values, got %zu",
                          SY_STATS_MAX_ARMS, n);
    for (size_t i = 0; i < n; i++) {
        if (!(p[i] >= 0 && p[i] <= 1)) {
            char field[32];
            snprintf(field, sizeof(field), "p_values[%zu]", i);
            return sy_err_set(err, -EINVAL, field, "p-value must be in [0, 1]");
        }
    }
    /* Stable insertion sort of indices by p: n is at most SY_STATS_MAX_ARMS. */
    size_t order[SY_STATS_MAX_ARMS];
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        for (; j > 0 && p[order[j - 1]] > p[i]; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    double sorted[SY_STATS_MAX_ARMS];
    for (size_t k = 0; k < n; k++)
        sorted[k] = p[order[k]];
    /* adjusted_(k) = max over j <= k of min(1, (n - j) p_(j)), k from 0. */
    double running = 0;
    for (size_t k = 0; k < n; k++) {
        double a = (double)(n - k) * sorted[k];
        if (a > 1)
            a = 1;
        if (a > running)
            running = a;
        adjusted[order[k]] = running;
    }
    return 0;
}
