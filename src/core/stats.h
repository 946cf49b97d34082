/* stats.h - the statistics every promotion, rollback and tripwire decision rests on.
 *
 * Frequentist tests (two-proportion z-test, Welch's t-test), sample-ratio mismatch,
 * power and sample size, a Bayesian beta-binomial comparison, the mixture SPRT
 * always-valid p-value with GrowthBook's sequential interval, and Holm-Bonferroni.
 * The formulas and conventions are those of ../shared/conformance/stats/README.md,
 * which is the contract; docs/stats.md explains them for users.
 *
 * Conventions everywhere:
 *  - Differences are treatment minus control. `alternative` is as in statsmodels:
 *    SY_ALT_LARGER means H1: treatment > control.
 *  - Counts are int64_t (they can exceed 2^31) and must be below 2^53.
 *  - Every distribution tail comes from GSL and is computed directly, never as 1 - P.
 *  - Results are written to caller-owned structs only on success. A call that fails
 *    returns -EINVAL (malformed input: negative counts, successes > trials, NaN,
 *    out-of-range parameters), SY_ENOTRIALS, SY_ETOOFEW or SY_EZEROVAR, fills `err`
 *    (optional) with the offending field and a sentence, and never yields a NaN: a
 *    result that would not fit in a double (inputs at the limits of double, such as an
 *    sd of 1e300) is refused with -ERANGE instead.
 *  - A value that is not defined (the lift when the control rate is 0, say) is flagged
 *    absent by a `has_*` member, never encoded as a number.
 *
 * Pure: no I/O, no clock, no allocation, no globals. Thread-safe, with one precondition
 * shared by every GSL user: GSL's default error handler aborts the process on
 * underflow deep in a tail, so a program must call gsl_set_error_handler_off() once at
 * start (the CLI, the tests and the benchmarks do). Every GSL status is then checked here.
 */
#ifndef SY_CORE_STATS_H
#define SY_CORE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Most arms one comparison takes (SRM, Holm). A/B/n tests stay far below it. */
#define SY_STATS_MAX_ARMS 64

typedef enum sy_alt {
    SY_ALT_TWO_SIDED = 0, /* H1: treatment != control */
    SY_ALT_LARGER,        /* H1: treatment > control */
    SY_ALT_SMALLER,       /* H1: treatment < control */
} sy_alt_t;

/* Parses "two-sided", "larger" or "smaller" into `out`. Returns 0, or -EINVAL. */
int sy_stats_alt_parse(const char *name, sy_alt_t *out);

/* The name sy_stats_alt_parse accepts for `alt`; a static string. */
const char *sy_stats_alt_name(sy_alt_t alt);

/* Conversions of one arm. */
typedef struct sy_binom {
    int64_t successes; /* units that converted, 0..trials */
    int64_t trials;    /* units exposed */
} sy_binom_t;

/* Summary statistics of a numeric metric in one arm. */
typedef struct sy_moments {
    double mean;    /* sample mean */
    double sd;      /* sample standard deviation, ddof = 1 */
    int64_t n;      /* sample size */
    double mean_lo; /* what `mean` rounded off (mean + mean_lo is the mean to twice a
                     * double's digits), so that a difference of two means near 1e12 keeps
                     * its digits; 0 when not known (sy_welford_moments knows it) */
} sy_moments_t;

/* Running moments of a numeric metric: its count, mean and sum of squared deviations from
 * the mean, kept as values come (Welford), as a value already counted changes (a unit's
 * total growing with each outcome), or as two partial aggregates merge (Chan, Golub and
 * LeVeque): never as a sum of squares minus a squared sum, which loses every digit to an
 * offset (values of 1e12 +- 10 gave sds of 37,082 and 0) and underflows with tiny values
 * (squares of 1e-300). In quadruple precision (113-bit mantissa, exponents to 1e-4966;
 * long double where the compiler has none): a unit's value jumps from 0 (exposed) to
 * 1e12 (its outcome), so the sum of squared deviations passes through 1e26 on its way to
 * 1e5, and must come back with its digits. Deterministic: the same values in the same
 * order give the same bits, so a replay of a log rebuilds them exactly. Zero-initialise. */
#ifdef __SIZEOF_FLOAT128__
__extension__ typedef __float128 sy_wide_t;
#else
typedef long double sy_wide_t;
#endif
typedef struct sy_welford {
    int64_t n;
    sy_wide_t mean;
    sy_wide_t m2; /* sum of (x - mean)^2 */
} sy_welford_t;

/* Counts `x`. */
void sy_welford_add(sy_welford_t *w, double x);
/* A value counted as `old` is now `x` (n >= 1; n unchanged). */
void sy_welford_replace(sy_welford_t *w, double old, double x);
/* Counts every value `b` counted into `into`. */
void sy_welford_merge(sy_welford_t *into, const sy_welford_t *b);
/* Mean (with its mean_lo) and sample sd (ddof = 1; 0 below 2 values) as doubles; an sd too
 * small for a double's square is still a double (1e-300). */
sy_moments_t sy_welford_moments(const sy_welford_t *w);

/* Running co-moments of a pair (x, y) per unit: the pre-period covariate x and the outcome
 * y that CUPED regresses on it. As sy_welford_t, in quadruple precision, never as sums of
 * products minus products of sums: counts, both means, both sums of squared deviations and
 * the sum of cross deviations. A unit's y grows after it is counted (its conversion, its
 * value's total) while its x, fixed at its first exposure, does not: replace_y. Merging
 * follows Chan et al. Deterministic as sy_welford_t. Zero-initialise. */
typedef struct sy_comoments {
    int64_t n;
    sy_wide_t mean_x, mean_y;
    sy_wide_t m2x; /* sum of (x - mean_x)^2 */
    sy_wide_t m2y; /* sum of (y - mean_y)^2 */
    sy_wide_t cxy; /* sum of (x - mean_x)(y - mean_y) */
} sy_comoments_t;

/* Counts the pair (x, y). */
void sy_comoments_add(sy_comoments_t *c, double x, double y);
/* A unit counted with (x, y_old) now has (x, y_new) (n >= 1; n unchanged). */
void sy_comoments_replace_y(sy_comoments_t *c, double x, double y_old, double y_new);
/* Counts every pair `b` counted into `into`. */
void sy_comoments_merge(sy_comoments_t *into, const sy_comoments_t *b);

/* ---- CUPED (regression adjustment on a pre-period covariate) -------------------------- */

/* One treatment against control, adjusted by the covariate with theta pooled over every
 * arm: exactly the coefficient of the treatment's dummy in the OLS fit y ~ C(arm) + x over
 * all arms (ANCOVA; statsmodels OLS, nonrobust), and its standard error. */
typedef struct sy_cuped {
    double theta;       /* Sxy_w / Sxx_w, within-arm sums pooled over the arms */
    double diff;        /* (ybar_t - ybar_c) - theta (xbar_t - xbar_c) */
    double se;          /* its OLS standard error */
    double se_raw;      /* the unadjusted difference's, sqrt(s_t^2 / n_t + s_c^2 / n_c) */
    double t;           /* diff / se */
    double df;          /* N - k - 1 (N units over k arms) */
    double p_value;     /* two-sided, Student's t with df */
    double diff_ci_low; /* diff -+ t_{df}(1 - (1 - confidence) / 2) se */
    double diff_ci_high;
    double variance_reduction; /* 1 - se^2 / se_raw^2 (negative when the covariate hurts) */
    bool has_lift;             /* false when the control's raw mean is 0 */
    double lift;               /* diff / |ybar_c| */
    double se_lift;            /* its delta-method standard error */
    double lift_ci_low;        /* lift -+ the same quantile times se_lift */
    double lift_ci_high;
} sy_cuped_t;

/* The pooled theta of `n` arms' co-moments into *theta: SY_EZEROVAR when no arm's x varies
 * (Sxx_w = 0: nothing to regress on), SY_ETOOFEW when the arms hold fewer than k + 2 units,
 * -EINVAL for a bad n. */
int sy_stats_cuped_theta(const sy_comoments_t *arms, size_t n, double *theta, sy_err_t *err);

/* CUPED of arm `treatment` against arm `control` over the `n` arms (2..SY_STATS_MAX_ARMS)
 * whose co-moments are `arms` (theta and the residual variance pooled over all of them; k
 * counts the arms with units, as the OLS of their units has a dummy for each of those only),
 * at level `confidence` in (0, 1). Errors, in order: -EINVAL for bad arguments;
 * SY_ENOTRIALS when either arm is empty; SY_ETOOFEW when N - k - 1 < 1; SY_EZEROVAR when
 * Sxx_w = 0 (no covariate variation) or the residual variance is 0 (every point on one
 * line: a residual sum of squares within the doubles' rounding of the data, 2^-104 of the
 * sum of the y^2 and theta^2 x^2, counts 0); -ERANGE for a result
 * that does not fit a double. Never a NaN. */
int sy_stats_cuped(const sy_comoments_t *arms, size_t n, size_t control, size_t treatment,
                   double confidence, sy_cuped_t *out, sy_err_t *err);

/* ---- The standard normal and Student's t ------------------------------------------ */

double sy_stats_norm_cdf(double x); /* Phi(x) */
double sy_stats_norm_sf(double x);  /* Q(x) = Phi(-x), accurate in the far upper tail */
double sy_stats_norm_ppf(double p); /* Phi^-1(p); -inf at 0, +inf at 1, NaN outside */
double sy_stats_norm_isf(double p); /* Phi^-1(1 - p), accurate for tiny p */

/* Upper tail P(T > t) of Student's t with `df` > 0 (real) degrees of freedom, accurate to
 * about 1e-11 relative over the whole range: GSL's own tdist_Q is only good to ~1e-7 in
 * the far tail for 30 < df < 1000, where we use the incomplete beta function instead. */
double sy_stats_t_sf(double t, double df);
/* The t quantile with upper tail p at df degrees of freedom (relative error ~1e-11). */
double sy_stats_t_isf(double p, double df);

/* ---- Two-proportion z-test ------------------------------------------------------- */

typedef struct sy_ztest {
    double z;            /* diff / SE (pooled or unpooled SE as asked) */
    double p_value;      /* for the alternative asked */
    double diff;         /* p_t - p_c, absolute */
    double diff_ci_low;  /* two-sided Wald interval of diff at `confidence`, */
    double diff_ci_high; /* always with the unpooled SE */
    bool has_lift;       /* false when the control rate is 0: lift undefined */
    double lift;         /* (p_t - p_c) / p_c, relative */
    double lift_ci_low;  /* delta-method interval of lift at `confidence` */
    double lift_ci_high;
} sy_ztest_t;

/* Two-proportion z-test of treatment against control. `pooled` picks the SE of the test
 * statistic (pooled: statsmodels proportions_ztest; unpooled: Wald). `confidence` in
 * (0, 1) is the level of both intervals. Errors, checked in this order: -EINVAL for a
 * negative count, successes > trials or a bad confidence; SY_ENOTRIALS when an arm has no
 * trials; SY_EZEROVAR when SE = 0 but the rates differ (one 0, the other 1). SE = 0 with
 * equal rates is the convention z = 0, p = 1 for every alternative. */
int sy_stats_ztest(const sy_binom_t *control, const sy_binom_t *treatment, sy_alt_t alt,
                   bool pooled, double confidence, sy_ztest_t *out, sy_err_t *err);

/* ---- Welch's t-test --------------------------------------------------------------- */

typedef struct sy_welch {
    double t;            /* (mean_t - mean_c) / sqrt(v_c + v_t), v = sd^2 / n */
    bool has_df;         /* false only when both sds are 0 (and the means are equal) */
    double df;           /* Welch-Satterthwaite degrees of freedom, not an integer */
    double p_value;      /* Student's t with df, for the alternative asked */
    double diff;         /* mean_t - mean_c */
    double diff_ci_low;  /* two-sided t interval of diff at `confidence` */
    double diff_ci_high; /* ([diff, diff] when both sds are 0) */
} sy_welch_t;

/* Welch's unequal-variance t-test from summary statistics (scipy ttest_ind_from_stats,
 * equal_var=False). Errors, in order: -EINVAL for a negative or non-finite sd, a
 * non-finite mean, a negative n or a bad confidence; SY_ETOOFEW when n < 2 in an arm;
 * SY_EZEROVAR when both sds are 0 and the means differ. Both sds 0 with equal means is
 * the convention t = 0, p = 1, no df. */
int sy_stats_welch(const sy_moments_t *control, const sy_moments_t *treatment, sy_alt_t alt,
                   double confidence, sy_welch_t *out, sy_err_t *err);

/* ---- Sample-ratio mismatch ------------------------------------------------------- */

typedef struct sy_srm {
    double chi2;    /* Pearson chi-square statistic */
    int df;         /* variants with weight > 0, minus 1 */
    double p_value; /* upper tail of chi-square(df) at chi2 */
    bool mismatch;  /* p_value < alpha */
} sy_srm_t;

/* Chi-square goodness of fit of `observed` units per variant against the intended split
 * `weights` (any positive scale), n variants, 2 <= n <= SY_STATS_MAX_ARMS. A variant with
 * weight 0 and no units is left out. `alpha` in (0, 1) is the SRM threshold (0.001 is
 * usual). Errors, in order: -EINVAL for a bad n, a negative count or weight, sum of
 * weights <= 0, or a bad alpha; -EINVAL for units in a variant of weight 0; SY_ENOTRIALS
 * when nothing was observed; -EINVAL when fewer than 2 variants have weight > 0. */
int sy_stats_srm(const int64_t *observed, const double *weights, size_t n, double alpha,
                 sy_srm_t *out, sy_err_t *err);

/* Anytime-valid SRM (Lindon and Malek, 2020; ../shared/conformance/srm_sequential): under
 * H0 each unit's arm is drawn from the period's intended split theta; under H1 from
 * Dirichlet(c theta). Within an allocation period, after its cumulative counts x,
 *   log BF = lnB(c theta + x) - lnB(c theta) - sum x_i ln theta_i,
 * lnB(a) = sum lgamma(a_i) - lgamma(sum a_i). A new split starts a new period (its own
 * theta, prior and counts); the e-value is the product of the periods' Bayes factors, and
 * p = min over every look so far of min(1, 1 / e). Under H0, P(p ever < alpha) <= alpha
 * however often one looks: checked every hour or every commit, a healthy experiment
 * raises a false alarm with probability alpha over its whole life. A unit in an arm of
 * weight 0 is a mismatch for certain (p = 0). A period with fewer than 2 arms of weight
 * > 0 (all traffic on one variant) is untested: its Bayes factor is 1. */
typedef struct sy_srm_seq {
    size_t n;                          /* arms, 2..SY_STATS_MAX_ARMS */
    double concentration;              /* c > 0 */
    double theta[SY_STATS_MAX_ARMS];   /* this period's split, summing to 1 */
    int64_t counts[SY_STATS_MAX_ARMS]; /* this period's units so far */
    double lnb_prior;                  /* lnB(c theta) over the arms of weight > 0 */
    bool untested;                     /* this period has < 2 arms of weight > 0 */
    double log_e_before;               /* the completed periods' final log BF, summed */
    double log_bf;                     /* this period's */
    double p;                          /* running minimum over the looks, from 1 */
} sy_srm_seq_t;

/* Starts the test with its first period's split `weights` (any positive scale; n arms,
 * at least 2 of weight > 0) and concentration c. -EINVAL for bad input. */
int sy_srm_seq_start(sy_srm_seq_t *s, const double *weights, size_t n, double concentration,
                     sy_err_t *err);
/* Ends the current period (its Bayes factor kept) and starts one with `weights` (fewer than
 * 2 of them > 0: an untested period). */
int sy_srm_seq_period(sy_srm_seq_t *s, const double *weights, sy_err_t *err);
/* A look after `new_units` more units per arm in this period (all zero: nothing changes). */
int sy_srm_seq_look(sy_srm_seq_t *s, const int64_t *new_units, sy_err_t *err);
/* The log e-value so far. */
static inline double sy_srm_seq_log_e(const sy_srm_seq_t *s)
{
    return s->log_e_before + s->log_bf;
}

/* One concentration c is most powerful for a mismatch that shows after about c units. The
 * mixture averages the e-values of SY_SRM_MIX tests, c = 10^2 .. 10^(SY_SRM_MIX + 1): a
 * broken variant is caught within hundreds of units, a few per cent of lost exposures
 * within hundreds of thousands, for log(SY_SRM_MIX) more evidence. A mean of e-values is
 * an e-value: P(p ever < alpha) <= alpha still, however often one looks. */
#define SY_SRM_MIX 4
typedef struct sy_srm_mix {
    sy_srm_seq_t t[SY_SRM_MIX];
    double log_e; /* log of the mean e-value now */
    double p;     /* running minimum of min(1, 1 / mean e-value) */
} sy_srm_mix_t;
int sy_srm_mix_start(sy_srm_mix_t *m, const double *weights, size_t n, sy_err_t *err);
int sy_srm_mix_period(sy_srm_mix_t *m, const double *weights, sy_err_t *err);
int sy_srm_mix_look(sy_srm_mix_t *m, const int64_t *new_units, sy_err_t *err);

/* ---- Power and sample size for two proportions ---------------------------------- */

typedef struct sy_power_plan {
    double baseline;     /* p1, the control rate, in (0, 1) */
    double mde_relative; /* m != 0: the treatment rate is p2 = p1 (1 + m), in (0, 1) */
    double alpha;        /* two-sided significance level, in (0, 1) */
    double power;        /* target power, in (alpha, 1); used by sample size only */
    double ratio;        /* n_treatment / n_control, > 0 */
} sy_power_plan_t;

typedef struct sy_sample_size {
    double effect_size_h;           /* Cohen's h = 2 asin sqrt p2 - 2 asin sqrt p1, signed */
    double n_control_cohen_h;       /* control-arm size, Cohen's h (NormalIndPower), both
                                       tails, unrounded */
    double n_control_pooled_normal; /* control-arm size, pooled-null normal formula, one
                                       tail (textbook closed form), unrounded */
} sy_sample_size_t;

typedef struct sy_power {
    double effect_size_h;       /* as above */
    double power_cohen_h;       /* achieved power at n_control, Cohen's h, both tails */
    double power_pooled_normal; /* achieved power at n_control, pooled normal, both tails */
} sy_power_t;

/* Control-arm sample size that reaches `plan->power`, in both conventions (the treatment
 * arm is `ratio` times it; callers round up). -EINVAL names the bad field. */
int sy_stats_sample_size(const sy_power_plan_t *plan, sy_sample_size_t *out, sy_err_t *err);

/* Power achieved with `n_control` > 0 control units (plan->power is not used). -EINVAL
 * names the bad field. */
int sy_stats_power(const sy_power_plan_t *plan, double n_control, sy_power_t *out, sy_err_t *err);

/* Power and size for a difference of means, by the normal approximation (two-sided
 * alpha). What an experiment on a `mean` metric plans with; the sds are each arm's
 * per-unit sds. */
typedef struct sy_power_mean_plan {
    double delta;        /* the difference to detect, != 0 */
    double sd_control;   /* > 0 */
    double sd_treatment; /* >= 0 */
    double alpha;        /* two-sided, in (0, 1) */
    double power;        /* in (alpha, 1); used by the sample size only */
    double ratio;        /* n_treatment / n_control, > 0 */
} sy_power_mean_plan_t;

/* Control-arm size ((z_{1-alpha/2} + z_power) / delta)^2 (sd_c^2 + sd_t^2 / ratio), one
 * tail, unrounded. -EINVAL names the bad field. */
int sy_stats_sample_size_mean(const sy_power_mean_plan_t *plan, double *n_control, sy_err_t *err);
/* Power with `n_control` > 0 control units, both tails. -EINVAL names the bad field. */
int sy_stats_power_mean(const sy_power_mean_plan_t *plan, double n_control, double *power,
                        sy_err_t *err);

/* ---- Power of the rule that decides ---------------------------------------------- */

/* How likely an experiment is to be promoted by n control units, for the rule the engine
 * applies (core/experiment.h), not for one fixed-horizon test: the test in use (the pooled
 * z-test, or Welch's for a mean, read once at n or at every look; or the always-valid
 * mSPRT read at every look) at level alpha, AND the observed lift reaching
 * `min_improvement` at the same look, AND n >= `min_sample`. With a true lift equal to the minimum
 * improvement the gate alone holds half the time: a plan must be for a larger lift. */
typedef struct sy_rule_plan {
    double baseline;        /* control level: a rate in (0, 1), or (mean) a mean != 0 */
    double lift;            /* the true relative lift planned for: the treatment's level is
                               baseline + lift |baseline| (a rate stays in (0, 1)) */
    double min_improvement; /* the observed relative lift promotion needs, >= 0 */
    double alpha;           /* 1 - min_confidence, over the treatments (Holm's first step) */
    bool sequential;
    double tau_squared;     /* 0: as the engine mixes, (max(min_improvement, 0.01) |c|)^2 */
    int64_t units_per_look; /* a look every this many control units: >= 1 when sequential;
                               a fixed-horizon test is read at every look too (as the
                               engine's checks read it), or once at n when 0 */
    int64_t min_sample;     /* control units promotion waits for */
    bool mean;              /* the mean metric (Welch): the sds below */
    double sd_control, sd_treatment; /* per-unit sds of the value */
    double ratio;                    /* treatment units per control unit (0: 1) */
    int paths; /* sequential: paths simulated (0: 8,192, the most; 2,048 are within ~1 point
                  and four times faster) */
} sy_rule_plan_t;

/* The probability of promotion by n control units (read once: in closed form; else
 * `paths` paths of the difference's sum, seeded: deterministic, within ~0.5 points at
 * 8,192). */
int sy_stats_rule_power(const sy_rule_plan_t *plan, int64_t n, double *power, sy_err_t *err);
/* The smallest n control units whose promotion probability reaches `target` (n a multiple
 * of units_per_look when sequential), up to `n_max`; -ERANGE when none. */
int sy_stats_rule_sample(const sy_rule_plan_t *plan, double target, int64_t n_max, int64_t *n,
                         sy_err_t *err);

/* Far enough to look for `target`: sixteen times the units one fixed-horizon test of the
 * planned lift needs, at least twice min_sample and 1,000; 0 for a bad plan or past 1e12. */
int64_t sy_stats_rule_horizon(const sy_rule_plan_t *plan, double target);

/* The whole promotion curve at once, for callers that ask again and again (the engine's
 * results): n[j] is the control units by which the probability reaches (j + 1) %, INT64_MAX
 * when not by n_max. One sequential computation (~10 ms at 400 looks) answers every n. */
#define SY_RULE_CURVE_POINTS 99
typedef struct sy_rule_curve {
    int64_t n[SY_RULE_CURVE_POINTS];
} sy_rule_curve_t;

int sy_stats_rule_curve(const sy_rule_plan_t *plan, int64_t n_max, sy_rule_curve_t *out,
                        sy_err_t *err);
/* The probability of promotion by n, from the curve (linear between its points, 0.99 at
 * most): within a point of sy_stats_rule_power. */
double sy_rule_curve_power(const sy_rule_curve_t *c, int64_t n);
/* The units by which the probability reaches `power` (0 for power <= 0; INT64_MAX: not on
 * the curve). */
int64_t sy_rule_curve_units(const sy_rule_curve_t *c, double power);

/* ---- Bayesian beta-binomial ------------------------------------------------------ */

typedef struct sy_bayes {
    double chance_to_beat_control;  /* P(p_t > p_c) under the posteriors */
    double expected_loss_treatment; /* E[max(p_c - p_t, 0)]: the cost of shipping treatment
                                       if control is really better */
    double expected_loss_control;   /* E[max(p_t - p_c, 0)] */
} sy_bayes_t;

/* Posterior comparison with a Beta(prior_alpha, prior_beta) prior on each rate. The
 * priors must be positive integers (1, 1 is the uniform prior): the exact sum used needs
 * integer posterior parameters. Zero trials is allowed (the posterior is the prior).
 * Exact to ~1e-9 for moderate n and ~1e-7 at 1e8 units. -EINVAL for a negative count,
 * successes > trials or a bad prior. */
int sy_stats_bayes(const sy_binom_t *control, const sy_binom_t *treatment, double prior_alpha,
                   double prior_beta, sy_bayes_t *out, sy_err_t *err);

/* ---- Sequential testing (always valid) ------------------------------------------- */

typedef struct sy_seq_cfg {
    double tau_squared; /* variance of the normal mixing distribution, > 0 */
    double theta0;      /* the null difference, usually 0 */
    double alpha;       /* for GrowthBook's interval and rho, in (0, 1) */
    double gb_tuning;   /* GrowthBook's tuning parameter S (its default is 5000), > 0 */
} sy_seq_cfg_t;

typedef struct sy_seq_look {
    bool has_theta;        /* false when an arm has no data */
    double theta_hat;      /* estimated difference, treatment minus control */
    bool has_variance;     /* as has_theta */
    double variance;       /* V_n, the variance of theta_hat */
    double log_lambda;     /* log of the mixture likelihood ratio; 0 on a degenerate look */
    double always_valid_p; /* running minimum of exp(-log_lambda) over the looks so far */
    bool has_gb;           /* false on a degenerate look */
    double gb_ci_low;      /* GrowthBook's asymptotic confidence sequence at this look */
    double gb_ci_high;
    double gb_p_value; /* GrowthBook's sequential p-value at this look */
} sy_seq_look_t;

/* One look of the mixture SPRT (Johari, Pekelis & Walsh) on conversion rates, from the
 * cumulative counts so far. `prev_p` is the previous look's always_valid_p (1 before the
 * first look); the new one never exceeds it. A look with an empty arm or with V_n = 0 is
 * degenerate: log_lambda 0, p unchanged, no GrowthBook fields. -EINVAL for bad counts or a
 * bad configuration or prev_p outside [0, 1]. */
/* GrowthBook's asymptotic confidence sequence (Waudby-Smith et al.; sy_seq_look_t's gb_ci):
 * an estimate with standard error `se` after `units` (n_c + n_t) has the always-valid
 * interval estimate -+ se * this, at level 1 - alpha, tuning S. Covers at every look at
 * once: read as often as one likes, it misses the truth with probability alpha at most
 * (asymptotically), where a fixed-horizon interval read at every hourly look misses it in
 * about half the runs. */
double sy_stats_cs_multiplier(double units, double alpha, double tuning);

int sy_stats_seq_look_prop(const sy_seq_cfg_t *cfg, const sy_binom_t *control,
                           const sy_binom_t *treatment, double prev_p, sy_seq_look_t *out,
                           sy_err_t *err);

/* As sy_stats_seq_look_prop, for the difference of means; a look where an arm has n < 2
 * is degenerate and has neither theta_hat nor variance. */
int sy_stats_seq_look_mean(const sy_seq_cfg_t *cfg, const sy_moments_t *control,
                           const sy_moments_t *treatment, double prev_p, sy_seq_look_t *out,
                           sy_err_t *err);

/* As the looks above, from an estimate `theta_hat` of the difference and its variance
 * `variance` after `units` (n_c + n_t) units: what a CUPED-adjusted difference is looked
 * at with. A variance of 0 is a degenerate look (p unchanged). -EINVAL as above, or for a
 * non-finite estimate or a negative variance. */
int sy_stats_seq_look_est(const sy_seq_cfg_t *cfg, double theta_hat, double variance, double units,
                          double prev_p, sy_seq_look_t *out, sy_err_t *err);

/* ---- Multiple comparisons -------------------------------------------------------- */

/* Holm-Bonferroni adjusted p-values of `n` comparisons (each treatment against control in
 * an A/B/n test), written to `adjusted` in the order of `p` (it may alias `p`). Reject
 * comparison i at family-wise level alpha when adjusted[i] < alpha. -EINVAL when n is 0 or
 * above SY_STATS_MAX_ARMS or a p-value is outside [0, 1]. */
int sy_stats_holm(const double *p, size_t n, double *adjusted, sy_err_t *err);

#endif
