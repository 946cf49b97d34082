/* experiment.c - promotion eligibility, the analysis of an A/B/n experiment and the
 * decision rule; see experiment.h. */
#include "core/experiment.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool sy_rule_ge(double x, double t)
{
    return x - t >= -SY_RULE_EPSILON;
}

bool sy_rule_le(double x, double t)
{
    return t - x >= -SY_RULE_EPSILON;
}

int sy_safety_check(const sy_safety_t *s, sy_err_t *err)
{
    if (s->min_sample_per_variant < 1)
        return sy_err_set(err, -EINVAL, "min_sample_per_variant", "must be at least 1");
    if (!(s->min_confidence > 0 && s->min_confidence < 1))
        return sy_err_set(err, -EINVAL, "min_confidence", "must be between 0 and 1 (exclusive)");
    if (!(s->min_improvement_pct >= 0 && s->min_improvement_pct <= 1e6))
        return sy_err_set(err, -EINVAL, "min_improvement_pct",
                          "must be a percentage of at least 0");
    if (!(s->min_runtime_hours >= 0 && s->min_runtime_hours <= 24.0 * 366 * 10))
        return sy_err_set(err, -EINVAL, "min_runtime_hours", "must be 0 to 87840 hours");
    if (!(s->max_error_rate >= 0 && s->max_error_rate <= 1))
        return sy_err_set(err, -EINVAL, "max_error_rate", "must be between 0 and 1");
    if (!(s->planned_lift_pct >= 0 && s->planned_lift_pct <= 1e6))
        return sy_err_set(err, -EINVAL, "planned_lift_pct", "must be a percentage of at least 0");
    return 0;
}

/* The five checks over a filled confidence and improvement. */
static void five_checks(int64_t n_c, int64_t n_t, double runtime_hours, double error_rate,
                        const sy_safety_t *s, sy_promotion_t *out)
{
    out->min_sample = n_c >= s->min_sample_per_variant && n_t >= s->min_sample_per_variant;
    out->min_confidence = sy_rule_ge(out->confidence, s->min_confidence);
    /* a lift must be one: with a minimum of 0 %, a significantly worse treatment of a
     * metric so large that its lift rounds to -1e-12 % is within the rule's 1e-9 of it */
    out->min_improvement = out->has_improvement && out->improvement_pct > 0 &&
                           sy_rule_ge(out->improvement_pct, s->min_improvement_pct);
    out->min_runtime = sy_rule_ge(runtime_hours, s->min_runtime_hours);
    out->max_error_rate = sy_rule_le(error_rate, s->max_error_rate);
    out->eligible = out->min_sample && out->min_confidence && out->min_improvement &&
                    out->min_runtime && out->max_error_rate;
}

int sy_promotion_eligibility(const sy_promotion_in_t *in, const sy_safety_t *s, sy_promotion_t *out,
                             sy_err_t *err)
{
    *out = (sy_promotion_t){0};
    int rc = sy_safety_check(s, err);
    if (rc < 0)
        return rc;
    if (!(in->runtime_hours >= 0) || !(in->treatment_error_rate >= 0) ||
        !(in->treatment_error_rate <= 1))
        return sy_err_set(err, -EINVAL,
                          in->runtime_hours >= 0 ? "treatment_error_rate" : "runtime_hours",
                          "runtime must be >= 0 and the error rate within 0..1");
    sy_ztest_t zt;
    rc = sy_stats_ztest(&in->control, &in->treatment, SY_ALT_TWO_SIDED, true, 0.95, &zt, err);
    if (rc < 0)
        return rc;
    out->z = zt.z;
    out->confidence = 1 - zt.p_value;
    out->has_improvement = zt.has_lift;
    out->improvement_pct = zt.has_lift ? 100 * zt.lift : NAN;

    five_checks(in->control.trials, in->treatment.trials, in->runtime_hours,
                in->treatment_error_rate, s, out);
    return 0;
}

/* ---- analysis ------------------------------------------------------------------------ */

static sy_binom_t binom(const sy_arm_counts_t *a)
{
    return (sy_binom_t){.successes = a->conversions, .trials = a->units};
}

/* Per-unit moments of the value. */
static sy_moments_t moments(const sy_arm_counts_t *a)
{
    return (sy_moments_t){
        .n = a->units, .mean = a->value_mean, .sd = a->value_sd, .mean_lo = a->value_mean_lo};
}

/* Moments of the latencies an arm's events carried. */
static sy_moments_t latency_moments(const sy_arm_counts_t *a)
{
    return (sy_moments_t){.n = a->latency_n, .mean = a->latency_mean, .sd = a->latency_sd};
}

/* The delta-method standard error of (m_t - m_c) / |m_c|, as for proportions:
 * var ~ v_t / m_c^2 + m_t^2 v_c / m_c^4, written with each standard error relative to m_c
 * first, so that no tiny sd is squared on its own. */
static double relative_se(const sy_moments_t *c, const sy_moments_t *t)
{
    double r_c = c->sd / sqrt((double)c->n) / c->mean, r_t = t->sd / sqrt((double)t->n) / c->mean;
    return hypot(r_t, t->mean / c->mean * r_c);
}

/* The control's level (rate or mean), what relative effects and tau are scaled by. */
static double level(const sy_experiment_in_t *in, const sy_arm_counts_t *a)
{
    if (a->units == 0)
        return 0;
    return in->metric == SY_METRIC_CONVERSION ? (double)a->conversions / (double)a->units
                                              : a->value_mean;
}

static int check_in(const sy_experiment_in_t *in, sy_err_t *err)
{
    if (in->n_arms < 2 || in->n_arms > SY_EXP_MAX_ARMS)
        return sy_err_set(err, -EINVAL, "variants", "an experiment has 2 to %d variants",
                          SY_EXP_MAX_ARMS);
    if (!in->names || !in->arms)
        return sy_err_set(err, -EINVAL, "variants", "the variants and their names are required");
    if (in->control >= in->n_arms)
        return sy_err_set(err, -EINVAL, "control", "the control is not one of the variants");
    if (in->metric != SY_METRIC_CONVERSION && in->metric != SY_METRIC_MEAN)
        return sy_err_set(err, -EINVAL, "metric", "unknown metric");
    if (in->latency_guardrail && !(in->max_latency_increase_pct >= 0))
        return sy_err_set(err, -EINVAL, "max_latency_increase_pct", "must be a number >= 0");
    if (!(in->runtime_hours >= 0) || !(in->tau_squared >= 0))
        return sy_err_set(err, -EINVAL, in->runtime_hours >= 0 ? "tau_squared" : "runtime_hours",
                          "must be a number >= 0");
    for (size_t i = 0; i < in->n_arms; i++) {
        const sy_arm_counts_t *a = &in->arms[i];
        if (a->units < 0 || a->conversions < 0 || a->conversions > a->units || a->errors < 0 ||
            a->errors > a->units || !(a->weight >= 0) || !isfinite(a->value_mean) ||
            !isfinite(a->value_mean_lo) || !(a->value_sd >= 0) || !isfinite(a->value_sd) ||
            !(a->seq_p >= 0) || !(a->seq_p <= 1) || a->latency_n < 0 || !(a->latency_mean >= 0) ||
            !isfinite(a->latency_mean) || !(a->latency_sd >= 0) || !isfinite(a->latency_sd) ||
            (in->cuped && !(a->cuped_seq_p >= 0 && a->cuped_seq_p <= 1)) || a->covariates < 0 ||
            a->covariates > a->units)
            return sy_err_set(err, -EINVAL, "variants", "variant %zu: counts out of range", i);
    }
    return sy_safety_check(&in->safety, err);
}

static double mix_tau_squared(const sy_experiment_in_t *in)
{
    if (in->tau_squared > 0)
        return in->tau_squared;
    double m = in->safety.min_improvement_pct / 100;
    double t = (m > 0.01 ? m : 0.01) * fabs(level(in, &in->arms[in->control]));
    return t * t;
}

int sy_experiment_seq_look(const sy_experiment_in_t *in, size_t arm, double *p, sy_err_t *err)
{
    const sy_arm_counts_t *c = &in->arms[in->control], *t = &in->arms[arm];
    *p = t->seq_p;
    double tau2 = mix_tau_squared(in);
    if (!(tau2 > 0) || !isfinite(tau2))
        return 0; /* no control level yet: nothing to scale the mixture by */
    sy_seq_cfg_t cfg = {.tau_squared = tau2,
                        .theta0 = 0,
                        .alpha = 1 - in->safety.min_confidence,
                        .gb_tuning = SY_EXP_GB_TUNING};
    sy_seq_look_t look;
    int rc;
    if (in->metric == SY_METRIC_CONVERSION) {
        sy_binom_t bc = binom(c), bt = binom(t);
        rc = sy_stats_seq_look_prop(&cfg, &bc, &bt, t->seq_p, &look, err);
    } else {
        sy_moments_t mc = moments(c), mt = moments(t);
        rc = sy_stats_seq_look_mean(&cfg, &mc, &mt, t->seq_p, &look, err);
    }
    if (rc < 0)
        return rc;
    *p = look.always_valid_p;
    return 0;
}

/* The arms' co-moments, in order, for sy_stats_cuped. */
static void arms_cov(const sy_experiment_in_t *in, sy_comoments_t *cov)
{
    for (size_t k = 0; k < in->n_arms; k++)
        cov[k] = in->arms[k].cov;
}

int sy_experiment_cuped_look(const sy_experiment_in_t *in, size_t arm, double *p, sy_err_t *err)
{
    const sy_arm_counts_t *t = &in->arms[arm];
    *p = t->cuped_seq_p;
    double tau2 = mix_tau_squared(in);
    if (!in->cuped || arm == in->control || !(tau2 > 0) || !isfinite(tau2))
        return 0;
    sy_comoments_t cov[SY_EXP_MAX_ARMS];
    arms_cov(in, cov);
    sy_cuped_t c;
    if (sy_stats_cuped(cov, in->n_arms, in->control, arm, SY_EXP_CI_LEVEL, &c, NULL) < 0)
        return 0; /* not computable yet: no look */
    sy_seq_cfg_t cfg = {.tau_squared = tau2,
                        .theta0 = 0,
                        .alpha = 1 - in->safety.min_confidence,
                        .gb_tuning = SY_EXP_GB_TUNING};
    sy_seq_look_t look;
    double units = (double)(in->arms[in->control].cov.n + t->cov.n);
    int rc = sy_stats_seq_look_est(&cfg, c.diff, c.se * c.se, units, t->cuped_seq_p, &look, err);
    if (rc < 0)
        return rc;
    *p = look.always_valid_p;
    return 0;
}

/* Treatment i's CUPED comparison beside the raw one (r->cuped), its intervals always valid
 * with `sequential`. */
static void cuped_compare(const sy_experiment_in_t *in, size_t i, sy_arm_result_t *r)
{
    sy_cuped_arm_t *q = &r->cuped;
    sy_comoments_t cov[SY_EXP_MAX_ARMS];
    arms_cov(in, cov);
    int rc = sy_stats_cuped(cov, in->n_arms, in->control, i, SY_EXP_CI_LEVEL, &q->c, NULL);
    if (rc < 0) {
        q->error = rc;
        return;
    }
    q->has = true;
    q->diff_ci_low = q->c.diff_ci_low;
    q->diff_ci_high = q->c.diff_ci_high;
    q->lift_ci_low = q->c.lift_ci_low;
    q->lift_ci_high = q->c.lift_ci_high;
    q->p_adjusted = q->c.p_value;
    if (!in->sequential)
        return;
    double units = (double)(cov[in->control].n + cov[i].n);
    double k = sy_stats_cs_multiplier(units, 1 - SY_EXP_CI_LEVEL, SY_EXP_GB_TUNING);
    if (isfinite(k)) {
        q->always_valid = true;
        q->diff_ci_low = q->c.diff - k * q->c.se;
        q->diff_ci_high = q->c.diff + k * q->c.se;
        if (q->c.has_lift) {
            q->lift_ci_low = q->c.lift - k * q->c.se_lift;
            q->lift_ci_high = q->c.lift + k * q->c.se_lift;
        }
    }
    if (sy_experiment_cuped_look(in, i, &q->always_valid_p, NULL) == 0) {
        q->has_seq = true;
        q->p_adjusted = q->always_valid_p;
    }
}

/* What the decision reads of a treatment: the CUPED-adjusted figures when they are there. */
static bool adjusted(const sy_arm_result_t *r)
{
    return r->cuped.has;
}

static double eff_diff(const sy_arm_result_t *r)
{
    return adjusted(r) ? r->cuped.c.diff : r->diff;
}

static bool eff_has_lift(const sy_arm_result_t *r)
{
    return adjusted(r) ? r->cuped.c.has_lift : r->has_lift;
}

static double eff_lift(const sy_arm_result_t *r)
{
    return adjusted(r) ? r->cuped.c.lift : r->lift;
}

static double eff_lift_ci_low(const sy_arm_result_t *r)
{
    return adjusted(r) ? r->cuped.lift_ci_low : r->lift_ci_low;
}

static double eff_lift_ci_high(const sy_arm_result_t *r)
{
    return adjusted(r) ? r->cuped.lift_ci_high : r->lift_ci_high;
}

static bool eff_always_valid(const sy_arm_result_t *r)
{
    return adjusted(r) ? r->cuped.always_valid : r->always_valid;
}

static const char *cuped_word(const sy_arm_result_t *r)
{
    return adjusted(r) ? "CUPED-adjusted " : "";
}

#define PLAN_MAX_LOOKS 256  /* looks of the engine's sequential plans */
#define PLAN_PATHS     2048 /* and their paths: a few ms a curve, within ~1 point */

/* x on a geometric grid of `step` (1.02: 2 %): what a plan is made of, so that the same
 * data give the same plan whenever it is made (before or after a restart, cached or not),
 * and a plan is remade only when its inputs move a step. */
static double on_grid(double x, double step)
{
    if (!(x != 0) || !isfinite(x))
        return x;
    return copysign(pow(step, round(log(fabs(x)) / log(step))), x);
}

bool sy_experiment_rule_plan(const sy_experiment_in_t *in, size_t arm, sy_rule_plan_t *plan,
                             int64_t *n_max)
{
    const sy_arm_counts_t *c = &in->arms[in->control], *t = &in->arms[arm];
    const sy_safety_t *s = &in->safety;
    double planned =
        (s->planned_lift_pct > 0 ? s->planned_lift_pct : 2 * s->min_improvement_pct) / 100;
    double base = on_grid(level(in, c), 1.02);
    if (arm == in->control || !(planned > 0) || c->units == 0)
        return false;
    bool mean = in->metric == SY_METRIC_MEAN;
    sy_moments_t mc = moments(c), mt = moments(t);
    if (mean ? base == 0 || mc.n < 2 || mt.n < 2 || !(mc.sd + mt.sd > 0)
             : !(base > 0 && base * (1 + planned) < 1))
        return false;
    double ratio = c->weight > 0 && t->weight > 0 ? t->weight / c->weight : 1;
    /* traffic so far: control units an hour, what min_runtime and the looks are in;
     * not known in the first six minutes, when a minimum runtime needs it */
    double per_hour =
        in->runtime_hours >= 0.1 ? on_grid((double)c->units / in->runtime_hours, 1.05) : 0;
    if (per_hour == 0 && s->min_runtime_hours > 0)
        return false;
    /* both arms reach min_sample (the treatment has ratio times the control's units) */
    double least =
        fmax((double)s->min_sample_per_variant, ceil((double)s->min_sample_per_variant / ratio));
    double by_runtime = ceil(s->min_runtime_hours * per_hour);
    *plan = (sy_rule_plan_t){
        .baseline = base,
        .lift = planned,
        .min_improvement = s->min_improvement_pct / 100,
        .alpha = (1 - s->min_confidence) / (double)(in->n_arms - 1), /* Holm's first step */
        .sequential = in->sequential,
        .tau_squared = in->tau_squared > 0 ? in->tau_squared : 0, /* 0: from the baseline */
        .min_sample = (int64_t)fmin(fmax(least, by_runtime), 1e12),
        .mean = mean,
        .sd_control = on_grid(mc.sd, 1.02),
        .sd_treatment = mean ? on_grid(mt.sd, 1.02) : 0,
        .ratio = ratio,
        .units_per_look = 1,
        .paths = PLAN_PATHS};
    double n = (double)(*n_max = sy_stats_rule_horizon(plan, SY_EXP_TARGET_POWER));
    if (!*n_max)
        return false;
    double look =
        fmax(per_hour * (in->look_hours > 0 ? in->look_hours : 1), ceil(n / PLAN_MAX_LOOKS));
    plan->units_per_look = (int64_t)fmax(1, look);
    return true;
}

/* The rule's power for treatment i: from the caller's curve, or computed here. */
static void plan_power(const sy_experiment_in_t *in, size_t i, sy_arm_result_t *r)
{
    sy_rule_plan_t plan;
    int64_t n_max;
    sy_rule_curve_t own;
    const sy_rule_curve_t *curve = in->curves ? in->curves[i] : NULL;
    if (!sy_experiment_rule_plan(in, i, &plan, &n_max))
        return;
    if (!in->curves) {
        if (sy_stats_rule_curve(&plan, n_max, &own, NULL) < 0)
            return;
        curve = &own;
    }
    if (!curve)
        return;
    r->has_power = true;
    r->planned_lift = plan.lift;
    r->power = sy_rule_curve_power(curve, in->arms[in->control].units);
    int64_t need = sy_rule_curve_units(curve, SY_EXP_TARGET_POWER);
    if (need == INT64_MAX)
        return;
    double ratio = plan.ratio > 0 ? plan.ratio : 1;
    r->has_sample = true;
    r->power_needed = sy_rule_curve_power(curve, need);
    r->n_needed_control = need;
    r->n_needed_treatment = (int64_t)ceil((double)need * ratio);
}

/* With `sequential`, the always-valid intervals replace the fixed-horizon ones (kept as
 * diff_ci_fixed_*, lift_ci_fixed_*): the same estimates and standard errors, a wider
 * multiplier that holds at every look. */
static void always_valid(const sy_experiment_in_t *in, const sy_moments_t *mc,
                         const sy_moments_t *mt, sy_arm_result_t *r)
{
    r->diff_ci_fixed_low = r->diff_ci_low;
    r->diff_ci_fixed_high = r->diff_ci_high;
    r->lift_ci_fixed_low = r->lift_ci_low;
    r->lift_ci_fixed_high = r->lift_ci_high;
    if (!in->sequential)
        return;
    double k =
        sy_stats_cs_multiplier((double)(mc->n + mt->n), 1 - SY_EXP_CI_LEVEL, SY_EXP_GB_TUNING);
    double se = hypot(mc->sd / sqrt((double)mc->n), mt->sd / sqrt((double)mt->n));
    if (!isfinite(k) || !isfinite(se))
        return;
    r->always_valid = true;
    r->diff_ci_low = r->diff - k * se;
    r->diff_ci_high = r->diff + k * se;
    if (r->has_lift) {
        double se_lift = relative_se(mc, mt);
        if (isfinite(se_lift)) {
            r->lift_ci_low = r->lift - k * se_lift;
            r->lift_ci_high = r->lift + k * se_lift;
        }
    }
}

/* A rate as moments: mean p, sd sqrt(p (1 - p)) (the Wald interval's), n trials. */
static sy_moments_t rate_moments(const sy_arm_counts_t *a)
{
    double p = a->units ? (double)a->conversions / (double)a->units : 0;
    return (sy_moments_t){.mean = p, .sd = sqrt(p * (1 - p)), .n = a->units};
}

/* Treatment `i` against control on the primary metric: test, intervals, lift. */
static void compare(const sy_experiment_in_t *in, size_t i, sy_arm_result_t *r)
{
    const sy_arm_counts_t *c = &in->arms[in->control], *t = &in->arms[i];
    sy_err_t e;
    int rc;
    if (in->metric == SY_METRIC_CONVERSION) {
        sy_binom_t bc = binom(c), bt = binom(t);
        sy_ztest_t z;
        rc = sy_stats_ztest(&bc, &bt, SY_ALT_TWO_SIDED, true, SY_EXP_CI_LEVEL, &z, &e);
        if (rc == 0) {
            r->statistic = z.z;
            r->p_value = z.p_value;
            r->diff = z.diff;
            r->diff_ci_low = z.diff_ci_low;
            r->diff_ci_high = z.diff_ci_high;
            r->has_lift = z.has_lift;
            r->lift = z.lift;
            r->lift_ci_low = z.lift_ci_low;
            r->lift_ci_high = z.lift_ci_high;
            sy_moments_t mc = rate_moments(c), mt = rate_moments(t);
            always_valid(in, &mc, &mt, r);
            sy_bayes_t b;
            if (sy_stats_bayes(&bc, &bt, 1, 1, &b, NULL) == 0) {
                r->has_bayes = true;
                r->chance_to_beat_control = b.chance_to_beat_control;
                r->expected_loss = b.expected_loss_treatment;
            }
        }
    } else {
        sy_moments_t mc = moments(c), mt = moments(t);
        sy_welch_t w;
        rc = sy_stats_welch(&mc, &mt, SY_ALT_TWO_SIDED, SY_EXP_CI_LEVEL, &w, &e);
        if (rc == 0) {
            r->statistic = w.t;
            r->p_value = w.p_value;
            r->diff = w.diff;
            r->diff_ci_low = w.diff_ci_low;
            r->diff_ci_high = w.diff_ci_high;
            if (mc.mean != 0) { /* relative to the control's size: a negative mean too */
                double se = relative_se(&mc, &mt);
                /* Welch's t quantile, as the difference's interval: not the normal's, which
                 * at a few units would exclude 0 where the test does not */
                double zq = w.has_df ? sy_stats_t_isf((1 - SY_EXP_CI_LEVEL) / 2, w.df)
                                     : sy_stats_norm_isf((1 - SY_EXP_CI_LEVEL) / 2);
                r->has_lift = true;
                r->lift = w.diff / fabs(mc.mean);
                r->lift_ci_low = r->lift - zq * se;
                r->lift_ci_high = r->lift + zq * se;
            }
            always_valid(in, &mc, &mt, r);
        }
    }
    if (rc < 0) {
        r->test_error = rc;
        return;
    }
    r->compared = true;
    double p = r->p_value;
    if (in->sequential && sy_experiment_seq_look(in, i, &r->always_valid_p, NULL) == 0) {
        r->has_seq = true;
        p = r->always_valid_p;
    }
    r->p_adjusted = p; /* Holm comes once every treatment is compared */
    if (in->cuped)
        cuped_compare(in, i, r);
}

/* The level's interval (sy_arm_result_t): the same standard errors and multipliers as
 * the comparisons' intervals, for the arm alone. */
static void level_interval(const sy_experiment_in_t *in, const sy_arm_counts_t *a,
                           sy_arm_result_t *r)
{
    bool conv = in->metric == SY_METRIC_CONVERSION;
    if (a->units < (conv ? 1 : 2))
        return;
    sy_moments_t m = conv ? rate_moments(a) : moments(a);
    double se = m.sd / sqrt((double)m.n);
    double k = in->sequential
                   ? sy_stats_cs_multiplier((double)m.n, 1 - SY_EXP_CI_LEVEL, SY_EXP_GB_TUNING)
                   : sy_stats_norm_isf((1 - SY_EXP_CI_LEVEL) / 2);
    if (!isfinite(k) || !isfinite(se))
        return;
    r->has_level_ci = true;
    r->level_ci_low = m.mean - k * se;
    r->level_ci_high = m.mean + k * se;
}

static void describe(const sy_experiment_in_t *in, const sy_arm_counts_t *a, sy_arm_result_t *r)
{
    r->n = a->units;
    r->has_level = a->units > 0;
    r->level = level(in, a);
    r->error_rate = a->units ? (double)a->errors / (double)a->units : 0;
    if (in->metric == SY_METRIC_MEAN && a->units >= 2) {
        r->has_sd = true;
        r->sd = moments(a).sd;
    }
    level_interval(in, a, r);
    if (a->latency_n > 0) {
        sy_moments_t l = latency_moments(a);
        r->has_latency = true;
        r->latency_mean = l.mean;
        r->latency_sd = l.sd;
    }
}

static void srm(const sy_experiment_in_t *in, sy_experiment_result_t *out)
{
    int64_t observed[SY_EXP_MAX_ARMS], total = 0;
    double weights[SY_EXP_MAX_ARMS];
    for (size_t i = 0; i < in->n_arms; i++) {
        observed[i] = in->arms[i].units;
        weights[i] = in->arms[i].weight;
        total += observed[i];
        if (weights[i] == 0 && observed[i] > 0)
            out->srm_zero_weight = true;
    }
    if (total == 0)
        return;
    if (out->srm_zero_weight) {
        out->has_srm = out->srm_alarm = true;
        out->srm = (sy_srm_t){.mismatch = true};
        return;
    }
    out->has_srm =
        sy_stats_srm(observed, weights, in->n_arms, SY_EXP_SRM_ALPHA, &out->srm, NULL) == 0;
    out->srm_alarm =
        in->has_srm_seq ? in->srm_seq_p < SY_EXP_SRM_ALPHA : out->has_srm && out->srm.mismatch;
}

/* The latency guardrail of treatment `i`: non-inferiority of its mean latency. */
static void latency_guardrail(const sy_experiment_in_t *in, size_t i, sy_arm_result_t *r)
{
    sy_moments_t c = latency_moments(&in->arms[in->control]), t = latency_moments(&in->arms[i]);
    if (c.n < 2 || t.n < 2 || !(c.mean > 0))
        return;
    double zq = sy_stats_norm_isf((1 - SY_EXP_CI_LEVEL) / 2), se = relative_se(&c, &t);
    double inc = t.mean / c.mean - 1, max = in->max_latency_increase_pct / 100;
    if (!isfinite(se))
        return;
    r->latency_measured = true;
    r->latency_increase = inc;
    r->latency_increase_ci_low = inc - zq * se;
    r->latency_increase_ci_high = inc + zq * se;
    r->latency_ok = sy_rule_le(100 * r->latency_increase_ci_high, 100 * max);
    r->latency_failed = !sy_rule_le(100 * r->latency_increase_ci_low, 100 * max);
}

static sy_verdict_t verdict(const sy_experiment_in_t *in, const sy_arm_result_t *r)
{
    const sy_promotion_t *k = &r->checks;
    if (!r->compared)
        return SY_VERDICT_PENDING;
    if (k->min_sample && (!k->max_error_rate || r->latency_failed))
        return SY_VERDICT_HARMFUL;
    if (k->eligible && (!in->latency_guardrail || r->latency_ok))
        return SY_VERDICT_WINNER;
    if (k->min_sample && k->min_confidence && eff_diff(r) < 0)
        return SY_VERDICT_WORSE;
    /* Futile: its sample_needed reached (a true lift of the planned size would most likely
     * have been promoted by now), runtime over, and either no significant effect or one
     * whose interval stays below the minimum. A significant lift whose interval still
     * reaches the minimum keeps running. */
    bool sized = r->has_sample && k->min_sample && k->min_runtime &&
                 r->n >= r->n_needed_treatment &&
                 in->arms[in->control].units >= r->n_needed_control;
    bool short_of_it =
        !k->min_confidence ||
        (eff_has_lift(r) && !sy_rule_ge(100 * eff_lift_ci_high(r), in->safety.min_improvement_pct));
    if (sized && short_of_it)
        return SY_VERDICT_FUTILE;
    return SY_VERDICT_PENDING;
}

/* With CUPED: theta over the arms, and Holm over the treatments' adjusted p's (a treatment
 * whose adjusted figures cannot be computed takes part with its raw p); the checks of each
 * adjusted treatment then read its adjusted confidence, statistic and lift. */
static int cuped_holm(const sy_experiment_in_t *in, sy_experiment_result_t *out, sy_err_t *err)
{
    sy_comoments_t cov[SY_EXP_MAX_ARMS];
    arms_cov(in, cov);
    out->cuped = true;
    out->has_theta = sy_stats_cuped_theta(cov, in->n_arms, &out->theta, NULL) == 0;
    for (size_t i = 0; i < in->n_arms; i++)
        out->with_covariate += in->arms[i].covariates;
    double p[SY_EXP_MAX_ARMS];
    size_t idx[SY_EXP_MAX_ARMS], n = 0;
    for (size_t i = 0; i < in->n_arms; i++) {
        const sy_arm_result_t *r = &out->arms[i];
        if (i == in->control || !r->compared)
            continue;
        idx[n] = i;
        p[n++] = r->cuped.has ? r->cuped.p_adjusted : r->has_seq ? r->always_valid_p : r->p_value;
    }
    int rc = n > 0 ? sy_stats_holm(p, n, p, err) : 0;
    if (rc < 0)
        return rc;
    for (size_t j = 0; j < n; j++) {
        sy_arm_result_t *r = &out->arms[idx[j]];
        if (!r->cuped.has)
            continue;
        r->cuped.p_adjusted = p[j];
        r->cuped.confidence = 1 - p[j];
        r->checks.confidence = r->cuped.confidence;
        r->checks.z = r->cuped.c.t;
        r->checks.has_improvement = r->cuped.c.has_lift;
        r->checks.improvement_pct = r->cuped.c.has_lift ? 100 * r->cuped.c.lift : 0;
    }
    return 0;
}

int sy_experiment_analyze(const sy_experiment_in_t *in, sy_experiment_result_t *out, sy_err_t *err)
{
    memset(out, 0, sizeof(*out));
    out->winner = out->candidate = -1;
    int rc = check_in(in, err);
    if (rc < 0)
        return rc;
    double p[SY_EXP_MAX_ARMS];
    size_t idx[SY_EXP_MAX_ARMS], n = 0;
    for (size_t i = 0; i < in->n_arms; i++) {
        sy_arm_result_t *r = &out->arms[i];
        describe(in, &in->arms[i], r);
        if (i == in->control)
            continue;
        compare(in, i, r);
        plan_power(in, i, r);
        if (r->compared) {
            idx[n] = i;
            p[n++] = r->p_adjusted;
        }
    }
    if (n > 0 && (rc = sy_stats_holm(p, n, p, err)) < 0)
        return rc;
    const sy_arm_counts_t *c = &in->arms[in->control];
    for (size_t j = 0; j < n; j++) {
        sy_arm_result_t *r = &out->arms[idx[j]];
        r->p_adjusted = p[j];
        r->checks.confidence = 1 - p[j];
        r->checks.z = r->statistic;
        r->checks.has_improvement = r->has_lift;
        r->checks.improvement_pct = r->has_lift ? 100 * r->lift : 0;
        r->confidence = r->checks.confidence;
    }
    if (in->cuped && (rc = cuped_holm(in, out, err)) < 0)
        return rc;
    for (size_t i = 0; i < in->n_arms; i++) {
        sy_arm_result_t *r = &out->arms[i];
        if (i == in->control)
            continue;
        if (!r->compared) {
            r->checks.confidence = 0;
            r->checks.has_improvement = false;
        }
        five_checks(c->units, in->arms[i].units, in->runtime_hours, r->error_rate, &in->safety,
                    &r->checks);
        if (in->latency_guardrail)
            latency_guardrail(in, i, r);
        r->verdict = verdict(in, r);
    }
    srm(in, out);
    sy_experiment_decide(in, out);
    return 0;
}

/* ---- the decision ---------------------------------------------------------------------- */

static void say(sy_experiment_result_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(sy_experiment_result_t *r, const char *fmt, ...)
{
    if (r->n_reasons >= SY_EXP_MAX_REASONS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->reasons[r->n_reasons++], SY_EXP_REASON_LEN, fmt, ap);
    va_end(ap);
}

/* Why treatment `i` is not a winner yet, one sentence per failed check. */
static void lacks(const sy_experiment_in_t *in, sy_experiment_result_t *out, size_t i)
{
    const sy_arm_result_t *r = &out->arms[i];
    const sy_promotion_t *k = &r->checks;
    const sy_safety_t *s = &in->safety;
    if (!r->compared) {
        say(out, "%s: not comparable with control yet (%s)", in->names[i],
            sy_err_name(r->test_error));
        return;
    }
    if (!k->min_sample) {
        int64_t least = r->n < in->arms[in->control].units ? r->n : in->arms[in->control].units;
        say(out, "%s: %lld units in the smaller arm, %lld needed", in->names[i], (long long)least,
            (long long)s->min_sample_per_variant);
    }
    if (!k->min_confidence)
        say(out, "%s: %sconfidence %.4f is below %.4g", in->names[i], cuped_word(r), k->confidence,
            s->min_confidence);
    if (!k->min_improvement) {
        if (k->has_improvement)
            say(out, "%s: %slift %+.2f%% is below the %+.2f%% minimum", in->names[i], cuped_word(r),
                k->improvement_pct, s->min_improvement_pct);
        else
            say(out, "%s: no lift can be measured (the control level is 0)", in->names[i]);
    }
    if (!k->min_runtime)
        say(out, "%s: ran %.1f h of the %.4g h minimum", in->names[i], in->runtime_hours,
            s->min_runtime_hours);
    if (!k->max_error_rate)
        say(out, "%s: error rate %.4f is above %.4g", in->names[i], r->error_rate,
            s->max_error_rate);
    if (in->latency_guardrail && !r->latency_measured)
        say(out, "%s: latency is not measured yet (the guardrail needs latencies in both arms)",
            in->names[i]);
    else if (in->latency_guardrail && !r->latency_ok)
        say(out,
            "%s: latency %+.1f%% (95%% interval up to %+.1f%%) is not yet shown within the "
            "%+.4g%% guardrail",
            in->names[i], 100 * r->latency_increase, 100 * r->latency_increase_ci_high,
            in->max_latency_increase_pct);
}

void sy_experiment_decide(const sy_experiment_in_t *in, sy_experiment_result_t *r)
{
    r->decision = SY_DECISION_CONTINUE;
    r->winner = r->candidate = -1;
    r->n_reasons = 0;
    size_t treatments = 0, losing = 0;
    for (size_t i = 0; i < in->n_arms; i++) {
        if (i == in->control)
            continue;
        treatments++;
        const sy_arm_result_t *a = &r->arms[i];
        if (a->verdict == SY_VERDICT_WORSE || a->verdict == SY_VERDICT_HARMFUL ||
            a->verdict == SY_VERDICT_FUTILE)
            losing++;
        /* The candidate: a winner before anything else, then the largest lift. */
        const sy_arm_result_t *best = r->candidate >= 0 ? &r->arms[r->candidate] : NULL;
        bool better = !best ||
                      (a->verdict == SY_VERDICT_WINNER && best->verdict != SY_VERDICT_WINNER) ||
                      ((a->verdict == SY_VERDICT_WINNER) == (best->verdict == SY_VERDICT_WINNER) &&
                       eff_has_lift(a) && (!eff_has_lift(best) || eff_lift(a) > eff_lift(best)));
        if (better)
            r->candidate = (int)i;
    }
    if (r->srm_alarm) {
        if (r->srm_zero_weight)
            say(r, "sample ratio mismatch: units reached a variant whose weight is 0");
        else
            say(r,
                "sample ratio mismatch (%s p = %.3g < %g): the split of units does not match "
                "the weights, so assignment or logging is broken and no result can be trusted",
                in->has_srm_seq ? "anytime-valid" : "chi-square",
                in->has_srm_seq ? in->srm_seq_p : r->srm.p_value, SY_EXP_SRM_ALPHA);
        say(r, "promotion is blocked until the mismatch is fixed");
        return;
    }
    const sy_arm_result_t *c = r->candidate >= 0 ? &r->arms[r->candidate] : NULL;
    if (c && c->verdict == SY_VERDICT_WINNER) {
        r->decision = SY_DECISION_PROMOTE;
        r->winner = r->candidate;
        say(r,
            "%s beats control: %slift %+.2f%% (95%% %sinterval %+.2f%% to %+.2f%%), "
            "confidence %.4f",
            in->names[r->winner], cuped_word(c), 100 * eff_lift(c),
            eff_always_valid(c) ? "always-valid " : "", 100 * eff_lift_ci_low(c),
            100 * eff_lift_ci_high(c), c->checks.confidence);
        say(r, "all five safety checks pass (sample, confidence, improvement, runtime, errors)%s",
            in->latency_guardrail ? ", and the latency guardrail" : "");
        if (in->safety.manual_approval)
            say(r, "the experiment requires manual approval before traffic moves");
        return;
    }
    if (treatments > 0 && losing == treatments) {
        r->decision = SY_DECISION_TERMINATE;
        for (size_t i = 0; i < in->n_arms; i++) {
            const sy_arm_result_t *a = &r->arms[i];
            if (i == in->control)
                continue;
            if (a->verdict == SY_VERDICT_HARMFUL && a->latency_failed)
                say(r,
                    "%s: latency %+.1f%% (95%% interval from %+.1f%%) is over the %+.4g%% "
                    "guardrail",
                    in->names[i], 100 * a->latency_increase, 100 * a->latency_increase_ci_low,
                    in->max_latency_increase_pct);
            else if (a->verdict == SY_VERDICT_HARMFUL)
                say(r, "%s: error rate %.4f is above %.4g", in->names[i], a->error_rate,
                    in->safety.max_error_rate);
            else if (a->verdict == SY_VERDICT_WORSE)
                say(r, "%s is worse than control: %s%+.2f (confidence %.4f)", in->names[i],
                    cuped_word(a), eff_diff(a), a->checks.confidence);
            else
                say(r,
                    "%s: no lift of %.4g%% found, with enough units for a %.0f%% chance of "
                    "promotion at a true lift of %.4g%%",
                    in->names[i], in->safety.min_improvement_pct, 100 * SY_EXP_TARGET_POWER,
                    100 * a->planned_lift);
        }
        say(r, "no treatment can win: keep control");
        return;
    }
    for (size_t i = 0; i < in->n_arms; i++)
        if (i != in->control)
            lacks(in, r, i);
}

const char *sy_decision_name(sy_decision_t d)
{
    return d == SY_DECISION_PROMOTE     ? "promote"
           : d == SY_DECISION_TERMINATE ? "terminate"
                                        : "continue";
}
