/* results.c - an experiment's results and promotion eligibility as the API shows them:
 * the aggregates into core/experiment's analysis, its numbers and decision into JSON; see
 * engine.h ("experiments") and docs/api.md.
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/experiment_int.h"

/* ---- results ------------------------------------------------------------------------------ */

void sy_exp_arm_counts(const struct agg *a, double weight, sy_arm_counts_t *c)
{
    sy_moments_t v = sy_welford_moments(&a->value), l = sy_welford_moments(&a->latency);
    *c = (sy_arm_counts_t){.weight = weight,
                           .units = a->units,
                           .conversions = a->conversions,
                           .errors = a->errors,
                           .value_mean = v.mean,
                           .value_sd = v.sd,
                           .value_mean_lo = v.mean_lo,
                           .seq_p = a->seq_p,
                           .latency_n = l.n,
                           .latency_mean = l.mean,
                           .latency_sd = l.sd};
}

void sy_exp_analysis_in(const sy_engine_t *eng, const struct experiment *e, sy_arm_counts_t *counts,
                        const char **names, sy_experiment_in_t *in)
{
    double effective[SY_EXP_MAX_ARMS];
    sy_exp_effective_weights(e, effective);
    for (size_t i = 0; i < e->n_arms; i++) {
        sy_exp_arm_counts(&e->arms[i].a, effective[i], &counts[i]);
        names[i] = e->arms[i].key;
    }
    *in = (sy_experiment_in_t){.metric = e->metric,
                               .n_arms = e->n_arms,
                               .control = e->control,
                               .arms = counts,
                               .names = names,
                               .safety = e->safety,
                               .runtime_hours = sy_exp_runtime_hours(eng, e),
                               .sequential = e->sequential,
                               .tau_squared = e->tau_squared,
                               .latency_guardrail = e->latency_guardrail,
                               .max_latency_increase_pct = e->max_latency_increase_pct,
                               .has_srm_seq = e->srm_on && e->state != DRAFT,
                               .srm_seq_p = e->srm.p,
                               .srm_seq_log_e = e->srm.log_e,
                               .look_hours = (double)eng->timers.auto_promotion_ms / 3.6e6};
}

const char *sy_exp_decision_name(sy_decision_t d)
{
    return d == SY_DECISION_PROMOTE     ? "promote"
           : d == SY_DECISION_TERMINATE ? "terminate"
                                        : "continue";
}

static const char *verdict_name(sy_verdict_t v)
{
    static const char *const names[] = {"pending", "winner", "worse", "harmful", "futile"};
    return (unsigned)v < 5 ? names[v] : "pending";
}

static json_t *num_or_null(bool has, double v)
{
    return has && isfinite(v) ? json_real(v) : json_null();
}

static json_t *checks_json(const sy_promotion_t *k)
{
    return json_pack("{sbsbsbsbsb}", "min_sample", k->min_sample, "min_confidence",
                     k->min_confidence, "min_improvement", k->min_improvement, "min_runtime",
                     k->min_runtime, "max_error_rate", k->max_error_rate);
}

/* Whether a treatment's latency guardrail passed (true), failed (false), or is unsettled
 * (null: nothing measured yet, or the interval straddles the maximum). */
static json_t *latency_verdict(const sy_arm_result_t *r)
{
    return r && r->latency_ok ? json_true() : r && r->latency_failed ? json_false() : json_null();
}

static json_t *latency_json(const sy_arm_result_t *r)
{
    bool m = r->latency_measured;
    return json_pack("{sosos[oo]}", "passed", latency_verdict(r), "increase",
                     num_or_null(m, r->latency_increase), "increase_ci",
                     num_or_null(m, r->latency_increase_ci_low),
                     num_or_null(m, r->latency_increase_ci_high));
}

/* Hours until both arms reach what `r` needs at the traffic so far (null: no traffic yet). */
static json_t *hours_left(const struct experiment *e, const sy_arm_result_t *r, double runtime)
{
    double nc = (double)e->arms[e->control].a.units, nt = (double)r->n;
    if (!(runtime >= 0.1) || nc <= 0 || nt <= 0)
        return json_null();
    double hc = ((double)r->n_needed_control - nc) / (nc / runtime);
    double ht = ((double)r->n_needed_treatment - nt) / (nt / runtime);
    return json_real(fmax(fmax(hc, ht), 0));
}

static json_t *versus_json(const struct experiment *e, const sy_arm_result_t *r, double runtime)
{
    bool conv = e->metric == SY_METRIC_CONVERSION;
    if (!r->compared)
        return json_pack("{sbss}", "compared", 0, "reason", sy_err_name(r->test_error));
    json_t *o = json_pack(
        "{sbsfs[ff]sos[oo]sfsfsososfsf}", "compared", 1, "diff", r->diff, "diff_ci", r->diff_ci_low,
        r->diff_ci_high, "lift", num_or_null(r->has_lift, r->lift), "lift_ci",
        num_or_null(r->has_lift, r->lift_ci_low), num_or_null(r->has_lift, r->lift_ci_high),
        conv ? "z" : "t", r->statistic, "p_value", r->p_value, "always_valid_p",
        num_or_null(r->has_seq, r->always_valid_p), "improvement_pct",
        num_or_null(r->has_lift, 100 * r->lift), "p_adjusted", r->p_adjusted, "confidence",
        r->confidence);
    if (!o)
        return NULL;
    /* diff_ci and lift_ci match the test in use; the fixed-horizon ones are there too */
    json_object_set_new(o, "interval",
                        json_string(r->always_valid ? "always-valid" : "fixed-horizon"));
    json_object_set_new(o, "diff_ci_fixed_horizon",
                        json_pack("[ff]", r->diff_ci_fixed_low, r->diff_ci_fixed_high));
    json_object_set_new(o, "lift_ci_fixed_horizon",
                        json_pack("[oo]", num_or_null(r->has_lift, r->lift_ci_fixed_low),
                                  num_or_null(r->has_lift, r->lift_ci_fixed_high)));
    json_object_set_new(o, "chance_to_beat_control",
                        num_or_null(r->has_bayes, r->chance_to_beat_control));
    json_object_set_new(o, "expected_loss", num_or_null(r->has_bayes, r->expected_loss));
    json_object_set_new(o, "power", num_or_null(r->has_power, r->power));
    json_object_set_new(o, "planned_lift", num_or_null(r->has_power, r->planned_lift));
    if (r->has_sample) {
        int64_t nc = e->arms[e->control].a.units, nt = r->n;
        int64_t more = (r->n_needed_control > nc ? r->n_needed_control - nc : 0) +
                       (r->n_needed_treatment > nt ? r->n_needed_treatment - nt : 0);
        json_object_set_new(o, "sample_needed",
                            json_pack("{sIsIsIsosf}", "control", (json_int_t)r->n_needed_control,
                                      "treatment", (json_int_t)r->n_needed_treatment,
                                      "still_needed", (json_int_t)more, "hours_left",
                                      hours_left(e, r, runtime), "power", r->power_needed));
    } else {
        json_object_set_new(o, "sample_needed", json_null());
    }
    json_object_set_new(o, "checks", checks_json(&r->checks));
    json_object_set_new(o, "eligible", json_boolean(r->checks.eligible));
    if (e->latency_guardrail)
        json_object_set_new(o, "latency_guardrail", latency_json(r));
    json_object_set_new(o, "verdict", json_string(verdict_name(r->verdict)));
    return o;
}

static json_t *arm_json(const struct experiment *e, size_t i, const sy_arm_result_t *r,
                        double runtime)
{
    const struct arm *arm = &e->arms[i];
    json_t *o = json_pack("{sssbsIsIsIsfsI}", "key", arm->key, "control", i == e->control, "weight",
                          (json_int_t)arm->weight, "units", (json_int_t)arm->a.units, "errors",
                          (json_int_t)arm->a.errors, "error_rate", r->error_rate, "crossovers",
                          (json_int_t)arm->a.crossovers);
    if (!o)
        return NULL;
    if (e->metric == SY_METRIC_CONVERSION) {
        json_object_set_new(o, "conversions", json_integer(arm->a.conversions));
        json_object_set_new(o, "rate", num_or_null(r->has_level, r->level));
    } else {
        json_object_set_new(o, "mean", num_or_null(r->has_level, r->level));
        json_object_set_new(o, "sd", num_or_null(r->has_sd, r->sd));
    }
    if (r->has_latency || e->latency_guardrail)
        json_object_set_new(
            o, "latency",
            json_pack("{sIsoso}", "n", (json_int_t)arm->a.latency.n, "mean_ms",
                      num_or_null(r->has_latency, r->latency_mean), "sd_ms",
                      num_or_null(r->has_latency && arm->a.latency.n >= 2, r->latency_sd)));
    if (i != e->control)
        json_object_set_new(o, "vs_control", versus_json(e, r, runtime));
    return o;
}

/* `mismatch` is the alarm the decision reads: the anytime-valid test's when it runs; the
 * chi-square's figures are information (peeked at every look, its p would raise false
 * alarms). */
static json_t *srm_json(const struct experiment *e, const sy_experiment_result_t *r)
{
    bool seq = e->srm_on && e->state != DRAFT;
    if (!r->has_srm && !r->srm_zero_weight)
        return json_null();
    json_t *o = r->srm_zero_weight
                    ? json_pack("{snsnsnsb}", "chi2", "df", "p_value", "chi2_mismatch", 1)
                    : json_pack("{sfsisfsb}", "chi2", r->srm.chi2, "df", r->srm.df, "p_value",
                                r->srm.p_value, "chi2_mismatch", r->srm.mismatch);
    if (o) {
        json_object_set_new(o, "test", json_string(seq ? "sequential" : "chi2"));
        json_object_set_new(o, "sequential_p_value", seq ? json_real(e->srm.p) : json_null());
        json_object_set_new(o, "log_e_value",
                            seq && isfinite(e->srm.log_e) ? json_real(e->srm.log_e) : json_null());
        json_object_set_new(o, "mismatch", json_boolean(r->srm_alarm));
        json_object_set_new(o, "units_in_zero_weight_variant", json_boolean(r->srm_zero_weight));
    }
    return o;
}

static json_t *reasons_json(const sy_experiment_result_t *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->n_reasons; i++)
        json_array_append_new(a, json_string(r->reasons[i]));
    return a;
}

/* Whether two plans are the same (the same curve): a plan is made of its inputs on a grid
 * (core/experiment.c), so it changes when they move a step, and the curve is a function of
 * it alone: cached or not, before a restart or after, the same data give the same power. */
static bool same_plan(const sy_rule_plan_t *a, const sy_rule_plan_t *b)
{
    return a->baseline == b->baseline && a->lift == b->lift &&
           a->min_improvement == b->min_improvement && a->alpha == b->alpha &&
           a->sequential == b->sequential && a->tau_squared == b->tau_squared &&
           a->units_per_look == b->units_per_look && a->min_sample == b->min_sample &&
           a->mean == b->mean && a->sd_control == b->sd_control &&
           a->sd_treatment == b->sd_treatment && a->ratio == b->ratio && a->paths == b->paths;
}

/* The promotion curves of e's treatments into curves[] (NULL: none for that arm), from the
 * cache when it still holds. No memory for the cache: computed into scratch (one an arm)
 * for this call only; no memory at all: none. */
static void power_curves(struct experiment *e, const sy_experiment_in_t *in,
                         sy_rule_curve_t *scratch, const sy_rule_curve_t **curves)
{
    for (size_t i = 0; i < e->n_arms; i++) {
        curves[i] = NULL;
        sy_rule_plan_t plan;
        int64_t n_max;
        if (!sy_experiment_rule_plan(in, i, &plan, &n_max))
            continue;
        struct power_plan *c = e->plans ? &e->plans[i] : NULL;
        if (c && c->has && c->n_max == n_max && same_plan(&c->plan, &plan)) {
            curves[i] = &c->curve;
            continue;
        }
        sy_rule_curve_t *out = c ? &c->curve : scratch ? &scratch[i] : NULL;
        if (!out)
            continue;
        if (sy_stats_rule_curve(&plan, n_max, out, NULL) < 0) {
            if (c)
                c->has = false;
            continue;
        }
        if (c)
            *c = (struct power_plan){.has = true, .plan = plan, .n_max = n_max, .curve = *out};
        curves[i] = out;
    }
}

int sy_exp_analyse(const sy_engine_t *eng, struct experiment *e, sy_experiment_result_t **r,
                   sy_err_t *err)
{
    if (!(*r = malloc(sizeof(**r)))) /* 5 KiB of reasons: not for the stack */
        return sy_eng_oom(err);
    sy_arm_counts_t counts[SY_EXP_MAX_ARMS];
    const char *names[SY_EXP_MAX_ARMS];
    sy_experiment_in_t in;
    sy_exp_analysis_in(eng, e, counts, names, &in);
    const sy_rule_curve_t *curves[SY_EXP_MAX_ARMS];
    if (!e->plans)
        e->plans = calloc(e->n_arms, sizeof(*e->plans));
    sy_rule_curve_t *scratch = e->plans ? NULL : malloc(e->n_arms * sizeof(*scratch));
    power_curves(e, &in, scratch, curves);
    in.curves = curves;
    int rc = sy_experiment_analyze(&in, *r, err);
    free(scratch);
    if (rc < 0) {
        free(*r);
        *r = NULL;
    }
    return rc;
}

/* Experiment `key` of the actor's workspace into *e, analysed into *r (owned: free()). */
static int analysed(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                    struct experiment **e, sy_experiment_result_t **r, sy_err_t *err)
{
    if (!(*e = sy_exp_lookup(eng, actor, key, err)))
        return err ? err->code : -ENOENT;
    return sy_exp_analyse(eng, *e, r, err);
}

int sy_engine_experiment_results(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                 json_t **out, sy_err_t *err)
{
    struct experiment *e;
    sy_experiment_result_t *r;
    int rc = analysed(eng, actor, key, &e, &r, err);
    if (rc < 0)
        return rc;
    json_t *arms = json_array();
    for (size_t i = 0; arms && i < e->n_arms; i++)
        json_array_append_new(arms, arm_json(e, i, &r->arms[i], sy_exp_runtime_hours(eng, e)));
    *out = json_pack("{sssssssfsbsososssososI}", "experiment", e->key, "state",
                     sy_exp_state_name(e->state), "metric",
                     e->metric == SY_METRIC_CONVERSION ? "conversion" : "mean", "runtime_hours",
                     sy_exp_runtime_hours(eng, e), "sequential", e->sequential, "variants", arms,
                     "srm", srm_json(e, r), "decision", sy_exp_decision_name(r->decision), "winner",
                     r->winner >= 0 ? json_string(e->arms[r->winner].key) : json_null(), "reasons",
                     reasons_json(r), "units", (json_int_t)e->units.n);
    free(r);
    return *out ? 0 : sy_eng_oom(err);
}

int sy_engine_experiment_promotion(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                   json_t **out, sy_err_t *err)
{
    struct experiment *e;
    sy_experiment_result_t *r;
    int rc = analysed(eng, actor, key, &e, &r, err);
    if (rc < 0)
        return rc;
    json_t *warnings = json_array();
    bool srm = r->srm_alarm;
    if (srm)
        json_array_append_new(warnings, json_string("sample ratio mismatch: promotion is blocked"));
    if (!sy_exp_is_active(e->state))
        json_array_append_new(warnings,
                              json_pack("s+", "the experiment is ", sy_exp_state_name(e->state)));
    if (e->safety.manual_approval)
        json_array_append_new(warnings, json_string("promotion requires manual approval"));
    if (!e->sequential)
        json_array_append_new(
            warnings, json_string("fixed-horizon p-values: looking at them repeatedly raises "
                                  "false positives (set safety.sequential)"));
    int64_t crossed = 0;
    for (size_t i = 0; i < e->n_arms; i++)
        crossed += e->arms[i].a.crossovers;
    if (crossed)
        json_array_append_new(
            warnings, json_string("some units were exposed to more than one variant (each counts "
                                  "in its first)"));
    int c = r->candidate;
    const sy_arm_result_t *a = c >= 0 ? &r->arms[c] : NULL;
    sy_promotion_t k = a ? a->checks : (sy_promotion_t){0};
    bool guards = !e->latency_guardrail || (a && a->latency_ok);
    if (!guards)
        json_array_append_new(warnings, json_string(a && a->latency_failed
                                                        ? "the latency guardrail failed"
                                                        : "the latency guardrail has not passed"));
    *out = json_pack("{sssbsososososo}", "experiment", e->key, "eligible",
                     k.eligible && !srm && guards, "winner",
                     a ? json_string(e->arms[c].key) : json_null(), "confidence",
                     num_or_null(a && a->compared, k.confidence), "improvement",
                     num_or_null(a && k.has_improvement, k.improvement_pct), "checks",
                     checks_json(&k), "warnings", warnings);
    if (*out && e->latency_guardrail)
        json_object_set_new(*out, "guardrails", json_pack("{so}", "latency", latency_verdict(a)));
    free(r);
    return *out ? 0 : sy_eng_oom(err);
}
