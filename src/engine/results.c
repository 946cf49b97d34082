/* results.c - an experiment's results and promotion eligibility: the aggregates into
 * core/experiment's analysis, its numbers and decision with what the engine knows beside
 * them (keys, state, counts) into engine.h's answers; codec/results_json.c writes them as
 * docs/api.md shows them.
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
                           .latency_sd = l.sd,
                           .cov = a->cov,
                           .covariates = a->covariates,
                           .cuped_seq_p = a->cuped_seq_p};
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
                               .look_hours = (double)eng->timers.auto_promotion_ms / 3.6e6,
                               .cuped = e->cuped};
}

/* The promotion curves of e's treatments into curves[] (NULL: none for that arm), from the
 * experiment's last when its plan still holds, else from the engines' shared table
 * (opts.curves), else computed. A plan is made of its inputs on a grid (core/experiment.c),
 * so it changes when they move a step, and the curve is a function of it alone: cached or
 * not, before a restart or after, the same data give the same power. No memory for the
 * experiment's: computed into scratch (one an arm) for this call only; no memory at all:
 * none. */
static void power_curves(const sy_engine_t *eng, struct experiment *e, const sy_experiment_in_t *in,
                         sy_rule_curve_t *scratch, const sy_rule_curve_t **curves)
{
    for (size_t i = 0; i < e->n_arms; i++) {
        curves[i] = NULL;
        sy_rule_plan_t plan;
        int64_t n_max;
        if (!sy_experiment_rule_plan(in, i, &plan, &n_max))
            continue;
        struct power_plan *c = e->plans ? &e->plans[i] : NULL;
        if (c && c->has && c->n_max == n_max && sy_exp_same_plan(&c->plan, &plan)) {
            curves[i] = &c->curve;
            continue;
        }
        sy_rule_curve_t *out = c ? &c->curve : scratch ? &scratch[i] : NULL;
        if (!out)
            continue;
        bool kept = sy_exp_curve_find(eng->curves, &plan, n_max, out);
        if (!kept && sy_stats_rule_curve(&plan, n_max, out, NULL) < 0) {
            if (c)
                c->has = false;
            continue;
        }
        if (!kept)
            sy_exp_curve_keep(eng->curves, &plan, n_max, out);
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
    if (e->bandit.on) /* no plan: a bandit's allocation moves with its data, and the rule's
                         curves assume a fixed one */
        for (size_t i = 0; i < e->n_arms; i++)
            curves[i] = NULL;
    else
        power_curves(eng, e, &in, scratch, curves);
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

_Static_assert(KEY_MAX == SY_EXP_KEY_MAX && VARIANT_MAX == SY_EXP_VARIANT_MAX,
               "engine.h's answers hold every key");

/* Hours until both arms reach what `r` needs at the traffic so far (false: no traffic
 * yet). */
static bool hours_left(const struct experiment *e, const sy_arm_result_t *r, double runtime,
                       double *out)
{
    double nc = (double)e->arms[e->control].a.units, nt = (double)r->n;
    if (!(runtime >= 0.1) || nc <= 0 || nt <= 0)
        return false;
    double hc = ((double)r->n_needed_control - nc) / (nc / runtime);
    double ht = ((double)r->n_needed_treatment - nt) / (nt / runtime);
    *out = fmax(fmax(hc, ht), 0);
    return true;
}

static void variant_of(const struct experiment *e, size_t i, const sy_arm_result_t *r,
                       double runtime, sy_results_variant_t *v)
{
    const struct arm *arm = &e->arms[i];
    *v = (sy_results_variant_t){.control = i == e->control,
                                .weight = arm->weight,
                                .units = arm->a.units,
                                .errors = arm->a.errors,
                                .conversions = arm->a.conversions,
                                .crossovers = arm->a.crossovers,
                                .latency_n = arm->a.latency.n,
                                .covariates = arm->a.covariates};
    snprintf(v->key, sizeof(v->key), "%s", arm->key);
    if (i == e->control || !r->compared || !r->has_sample)
        return;
    int64_t nc = e->arms[e->control].a.units, nt = r->n;
    v->still_needed = (r->n_needed_control > nc ? r->n_needed_control - nc : 0) +
                      (r->n_needed_treatment > nt ? r->n_needed_treatment - nt : 0);
    v->has_hours_left = hours_left(e, r, runtime, &v->hours_left);
}

int sy_engine_experiment_results(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                 sy_exp_results_t **out, sy_err_t *err)
{
    struct experiment *e = sy_exp_lookup(eng, actor, key, err);
    if (!e)
        return err ? err->code : -ENOENT;
    return sy_exp_results_of(eng, e, out, err);
}

int sy_exp_results_of(const sy_engine_t *eng, struct experiment *e, sy_exp_results_t **out,
                      sy_err_t *err)
{
    sy_experiment_result_t *r;
    int rc = sy_exp_analyse(eng, e, &r, err);
    if (rc < 0)
        return rc;
    sy_exp_results_t *x = malloc(sizeof(*x));
    if (!x) {
        free(r);
        return sy_eng_oom(err);
    }
    double runtime = sy_exp_runtime_hours(eng, e);
    *x = (sy_exp_results_t){.metric = e->metric,
                            .runtime_hours = runtime,
                            .sequential = e->sequential,
                            .latency_guardrail = e->latency_guardrail,
                            .srm_sequential = e->srm_on && e->state != DRAFT,
                            .srm_seq_p = e->srm.p,
                            .srm_log_e = e->srm.log_e,
                            .units = (int64_t)e->units.n - e->arms[e->n_arms].a.units,
                            .n_variants = e->n_arms,
                            .r = *r};
    if (e->layer.name[0]) {
        snprintf(x->layer, sizeof(x->layer), "%s", e->layer.name);
        x->has_holdout = true;
        sy_exp_holdout_figures(e, &x->holdout);
    }
    snprintf(x->experiment, sizeof(x->experiment), "%s", e->key);
    snprintf(x->state, sizeof(x->state), "%s", sy_exp_state_name(e->state));
    for (size_t i = 0; i < e->n_arms; i++)
        variant_of(e, i, &r->arms[i], runtime, &x->variants[i]);
    free(r);
    if ((rc = sy_exp_bandit_view(eng, e, x, err)) < 0) {
        free(x);
        return rc;
    }
    *out = x;
    return 0;
}

static void warn(sy_exp_promotion_t *p, const char *fmt, const char *arg)
{
    if (p->n_warnings < SY_PROMOTION_WARNINGS_MAX)
        snprintf(p->warnings[p->n_warnings++], SY_PROMOTION_WARNING_LEN, fmt, arg);
}

int sy_engine_experiment_promotion(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                   sy_exp_promotion_t *out, sy_err_t *err)
{
    struct experiment *e;
    sy_experiment_result_t *r;
    int rc = analysed(eng, actor, key, &e, &r, err);
    if (rc < 0)
        return rc;
    sy_exp_promotion_t *p = out;
    *p = (sy_exp_promotion_t){.latency_guardrail = e->latency_guardrail};
    snprintf(p->experiment, sizeof(p->experiment), "%s", e->key);
    bool srm = r->srm_alarm;
    if (srm)
        warn(p, "%s", "sample ratio mismatch: promotion is blocked");
    if (!sy_exp_is_active(e->state))
        warn(p, "the experiment is %s", sy_exp_state_name(e->state));
    if (e->safety.manual_approval)
        warn(p, "%s", "promotion requires manual approval");
    if (!e->sequential)
        warn(p, "%s",
             "fixed-horizon p-values: looking at them repeatedly raises false positives (set "
             "safety.sequential)");
    int64_t crossed = 0;
    for (size_t i = 0; i < e->n_arms; i++)
        crossed += e->arms[i].a.crossovers;
    if (crossed)
        warn(p, "%s",
             "some units were exposed to more than one variant (each counts in its first)");
    int c = r->candidate;
    const sy_arm_result_t *a = c >= 0 ? &r->arms[c] : NULL;
    sy_promotion_t k = a ? a->checks : (sy_promotion_t){0};
    bool guards = !e->latency_guardrail || (a && a->latency_ok);
    if (!guards)
        warn(p, "%s",
             a && a->latency_failed ? "the latency guardrail failed"
                                    : "the latency guardrail has not passed");
    p->eligible = k.eligible && !srm && guards;
    if (a) {
        p->has_winner = true;
        snprintf(p->winner, sizeof(p->winner), "%s", e->arms[c].key);
    }
    p->has_confidence = a && a->compared && isfinite(k.confidence);
    p->confidence = k.confidence;
    p->has_improvement = a && k.has_improvement && isfinite(k.improvement_pct);
    p->improvement_pct = k.improvement_pct;
    p->checks = k;
    p->latency = a && a->latency_ok       ? SY_LATENCY_PASSED
                 : a && a->latency_failed ? SY_LATENCY_FAILED
                                          : SY_LATENCY_UNSETTLED;
    free(r);
    return 0;
}
