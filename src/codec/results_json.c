/* results_json.c - an experiment's results, promotion eligibility and allocation as JSON,
 * and the requests that move its traffic; see results_json.h. */
#define _DEFAULT_SOURCE
#include "codec/results_json.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "codec/value_json.h"

/* ---- results ------------------------------------------------------------------------------ */

static json_t *num_or_null(bool has, double v)
{
    return has && isfinite(v) ? json_real(v) : json_null();
}

static const char *verdict_name(sy_verdict_t v)
{
    static const char *const names[] = {"pending", "winner", "worse", "harmful", "futile"};
    return (unsigned)v < 5 ? names[v] : "pending";
}

static json_t *checks_json(const sy_promotion_t *k)
{
    return json_pack("{sbsbsbsbsb}", "min_sample", k->min_sample, "min_confidence",
                     k->min_confidence, "min_improvement", k->min_improvement, "min_runtime",
                     k->min_runtime, "max_error_rate", k->max_error_rate);
}

/* Whether a treatment's latency guardrail passed (true), failed (false), or is unsettled
 * (null: nothing measured yet, or the interval straddles the maximum). */
static json_t *verdict_json(sy_latency_verdict_t v)
{
    return v == SY_LATENCY_PASSED   ? json_true()
           : v == SY_LATENCY_FAILED ? json_false()
                                    : json_null();
}

static json_t *latency_json(const sy_arm_result_t *r)
{
    bool m = r->latency_measured;
    return json_pack("{sosos[oo]}", "passed",
                     verdict_json(r->latency_ok       ? SY_LATENCY_PASSED
                                  : r->latency_failed ? SY_LATENCY_FAILED
                                                      : SY_LATENCY_UNSETTLED),
                     "increase", num_or_null(m, r->latency_increase), "increase_ci",
                     num_or_null(m, r->latency_increase_ci_low),
                     num_or_null(m, r->latency_increase_ci_high));
}

/* A treatment's CUPED-adjusted comparison (beside the raw one, vs_control): null figures
 * with a `reason` when it cannot be computed. */
static json_t *cuped_json(const sy_exp_results_t *x, const sy_arm_result_t *r)
{
    const sy_cuped_arm_t *q = &r->cuped;
    bool h = q->has, l = h && q->c.has_lift;
    json_t *o = json_pack(
        "{sos[oo]sos[oo]sosososososososososo}", "diff", num_or_null(h, q->c.diff), "diff_ci",
        num_or_null(h, q->diff_ci_low), num_or_null(h, q->diff_ci_high), "lift",
        num_or_null(l, q->c.lift), "lift_ci", num_or_null(l, q->lift_ci_low),
        num_or_null(l, q->lift_ci_high), "interval",
        h ? json_string(q->always_valid ? "always-valid" : "fixed-horizon") : json_null(), "se",
        num_or_null(h, q->c.se), "se_raw", num_or_null(h, q->c.se_raw), "t", num_or_null(h, q->c.t),
        "df", num_or_null(h, q->c.df), "p_value", num_or_null(h, q->c.p_value), "always_valid_p",
        num_or_null(h && q->has_seq, q->always_valid_p), "p_adjusted",
        num_or_null(h, q->p_adjusted), "confidence", num_or_null(h, q->confidence),
        "variance_reduction", num_or_null(h, q->c.variance_reduction));
    if (o && !h) {
        const char *why = q->error == SY_EZEROVAR  ? "no_covariate_variation"
                          : q->error == SY_ETOOFEW ? "too_few_units"
                          : !r->compared           ? "not_compared"
                                                   : sy_err_name(q->error);
        if (q->error == SY_EZEROVAR && x->r.has_theta)
            why = "zero_residual_variance";
        if (json_object_set_new(o, "reason", json_string(why)) < 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static json_t *versus_json(const sy_exp_results_t *x, const sy_results_variant_t *v,
                           const sy_arm_result_t *r)
{
    bool conv = x->metric == SY_METRIC_CONVERSION;
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
    int bad = json_object_set_new(o, "interval",
                                  json_string(r->always_valid ? "always-valid" : "fixed-horizon"));
    bad |= json_object_set_new(o, "diff_ci_fixed_horizon",
                               json_pack("[ff]", r->diff_ci_fixed_low, r->diff_ci_fixed_high));
    bad |= json_object_set_new(o, "lift_ci_fixed_horizon",
                               json_pack("[oo]", num_or_null(r->has_lift, r->lift_ci_fixed_low),
                                         num_or_null(r->has_lift, r->lift_ci_fixed_high)));
    bad |= json_object_set_new(o, "chance_to_beat_control",
                               num_or_null(r->has_bayes, r->chance_to_beat_control));
    bad |= json_object_set_new(o, "expected_loss", num_or_null(r->has_bayes, r->expected_loss));
    bad |= json_object_set_new(o, "power", num_or_null(r->has_power, r->power));
    bad |= json_object_set_new(o, "planned_lift", num_or_null(r->has_power, r->planned_lift));
    bad |= json_object_set_new(
        o, "sample_needed",
        r->has_sample
            ? json_pack("{sIsIsIsosf}", "control", (json_int_t)r->n_needed_control, "treatment",
                        (json_int_t)r->n_needed_treatment, "still_needed",
                        (json_int_t)v->still_needed, "hours_left",
                        num_or_null(v->has_hours_left, v->hours_left), "power", r->power_needed)
            : json_null());
    bad |= json_object_set_new(o, "checks", checks_json(&r->checks));
    bad |= json_object_set_new(o, "eligible", json_boolean(r->checks.eligible));
    if (x->latency_guardrail)
        bad |= json_object_set_new(o, "latency_guardrail", latency_json(r));
    bad |= json_object_set_new(o, "verdict", json_string(verdict_name(r->verdict)));
    if (x->r.cuped)
        bad |= json_object_set_new(o, "cuped", cuped_json(x, r));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *variant_json(const sy_exp_results_t *x, size_t i)
{
    const sy_results_variant_t *v = &x->variants[i];
    const sy_arm_result_t *r = &x->r.arms[i];
    json_t *o = json_pack("{sssbsIsIsIsfsI}", "key", v->key, "control", v->control, "weight",
                          (json_int_t)v->weight, "units", (json_int_t)v->units, "errors",
                          (json_int_t)v->errors, "error_rate", r->error_rate, "crossovers",
                          (json_int_t)v->crossovers);
    if (!o)
        return NULL;
    int bad = 0;
    if (x->metric == SY_METRIC_CONVERSION) {
        bad |= json_object_set_new(o, "conversions", json_integer(v->conversions));
        bad |= json_object_set_new(o, "rate", num_or_null(r->has_level, r->level));
    } else {
        bad |= json_object_set_new(o, "mean", num_or_null(r->has_level, r->level));
        bad |= json_object_set_new(o, "sd", num_or_null(r->has_sd, r->sd));
    }
    if (r->has_latency || x->latency_guardrail)
        bad |= json_object_set_new(
            o, "latency",
            json_pack("{sIsoso}", "n", (json_int_t)v->latency_n, "mean_ms",
                      num_or_null(r->has_latency, r->latency_mean), "sd_ms",
                      num_or_null(r->has_latency && v->latency_n >= 2, r->latency_sd)));
    if (x->r.cuped)
        bad |= json_object_set_new(o, "units_with_covariate", json_integer(v->covariates));
    if (!v->control)
        bad |= json_object_set_new(o, "vs_control", versus_json(x, v, r));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* `mismatch` is the alarm the decision reads: the anytime-valid test's when it runs; the
 * chi-square's figures are information (peeked at every look, its p would raise false
 * alarms). */
static json_t *srm_json(const sy_exp_results_t *x)
{
    const sy_experiment_result_t *r = &x->r;
    bool seq = x->srm_sequential;
    if (!r->has_srm && !r->srm_zero_weight)
        return json_null();
    json_t *o = r->srm_zero_weight
                    ? json_pack("{snsnsnsb}", "chi2", "df", "p_value", "chi2_mismatch", 1)
                    : json_pack("{sfsisfsb}", "chi2", r->srm.chi2, "df", r->srm.df, "p_value",
                                r->srm.p_value, "chi2_mismatch", r->srm.mismatch);
    if (!o)
        return NULL;
    int bad = json_object_set_new(o, "test", json_string(seq ? "sequential" : "chi2"));
    bad |=
        json_object_set_new(o, "sequential_p_value", seq ? json_real(x->srm_seq_p) : json_null());
    bad |= json_object_set_new(
        o, "log_e_value", seq && isfinite(x->srm_log_e) ? json_real(x->srm_log_e) : json_null());
    bad |= json_object_set_new(o, "mismatch", json_boolean(r->srm_alarm));
    bad |= json_object_set_new(o, "units_in_zero_weight_variant", json_boolean(r->srm_zero_weight));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *reasons_json(const sy_experiment_result_t *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->n_reasons; i++)
        if (json_array_append_new(a, json_string(r->reasons[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* A bandit's state: its settings, times, updates, the best variant with every variant's
 * probability of being it, and the regret estimate. */
static json_t *bandit_json(const sy_exp_results_t *x)
{
    json_t *p = json_object();
    for (size_t i = 0; p && i < x->n_variants; i++)
        if (json_object_set_new(p, x->variants[i].key, json_real(x->bandit_p[i])) < 0)
            p = (json_decref(p), NULL);
    int b = x->bandit_best;
    return json_pack(
        "{sIsIsfsososIsososf}", "update_minutes", (json_int_t)x->bandit.update_minutes,
        "min_weight_pct", (json_int_t)x->bandit.min_weight_pct, "burn_in_hours",
        x->bandit.burn_in_hours, "burn_in_until_ms",
        x->bandit_burn_in_until_ms ? json_integer(x->bandit_burn_in_until_ms) : json_null(),
        "next_update_ms",
        x->bandit_next_update_ms ? json_integer(x->bandit_next_update_ms) : json_null(), "updates",
        (json_int_t)x->bandit_updates, "best",
        b >= 0 && (size_t)b < x->n_variants ? json_string(x->variants[b].key) : json_null(),
        "probability_best", p, "regret", x->bandit_regret);
}

json_t *sy_results_holdout_json(sy_metric_t metric, const sy_results_holdout_t *h)
{
    bool conv = metric == SY_METRIC_CONVERSION;
    json_t *vs = h->compared
                     ? json_pack("{sfs[ff]sos[oo]sf}", "diff", h->diff, "diff_ci", h->diff_ci_low,
                                 h->diff_ci_high, "lift", num_or_null(h->has_lift, h->lift),
                                 "lift_ci", num_or_null(h->has_lift, h->lift_ci_low),
                                 num_or_null(h->has_lift, h->lift_ci_high), "p_value", h->p_value)
                     : json_pack("{sb}", "compared", 0);
    if (vs && json_object_update_new(
                  vs, conv ? json_pack("{sIsI}", "served_units", (json_int_t)h->served_units,
                                       "served_conversions", (json_int_t)h->served_conversions)
                           : json_pack("{sIsf}", "served_units", (json_int_t)h->served_units,
                                       "served_mean", h->served_mean)) < 0)
        vs = (json_decref(vs), NULL);
    return conv ? json_pack("{sIsIso}", "units", (json_int_t)h->units, "conversions",
                            (json_int_t)h->conversions, "vs_holdout", vs)
                : json_pack("{sIsfso}", "units", (json_int_t)h->units, "mean", h->mean,
                            "vs_holdout", vs);
}

/* The results' holdout (an experiment of a layer) into `o`: o, or NULL (o released). */
static json_t *with_holdout(json_t *o, const sy_exp_results_t *x)
{
    if (o && x->has_holdout &&
        (json_object_set_new(o, "layer", json_string(x->layer)) < 0 ||
         json_object_set_new(o, "holdout", sy_results_holdout_json(x->metric, &x->holdout)) < 0))
        o = (json_decref(o), NULL);
    return o;
}

json_t *sy_results_json(const sy_exp_results_t *x)
{
    json_t *arms = json_array();
    for (size_t i = 0; arms && i < x->n_variants; i++)
        if (json_array_append_new(arms, variant_json(x, i)) < 0) {
            json_decref(arms);
            arms = NULL;
        }
    int w = x->r.winner;
    json_t *o = json_pack(
        "{sssssssfsbsososssososI}", "experiment", x->experiment, "state", x->state, "metric",
        x->metric == SY_METRIC_CONVERSION ? "conversion" : "mean", "runtime_hours",
        x->runtime_hours, "sequential", x->sequential, "variants", arms, "srm", srm_json(x),
        "decision", sy_decision_name(x->r.decision), "winner",
        w >= 0 && (size_t)w < x->n_variants ? json_string(x->variants[w].key) : json_null(),
        "reasons", reasons_json(&x->r), "units", (json_int_t)x->units);
    if (o && x->has_bandit && json_object_set_new(o, "bandit", bandit_json(x)) < 0)
        o = (json_decref(o), NULL);
    /* CUPED, when on: its theta and how many units had a covariate (the others count
     * x = 0); the answers of experiments without it are as they were */
    if (o && x->r.cuped &&
        json_object_set_new(o, "cuped",
                            json_pack("{sbsosIss}", "enabled", 1, "theta",
                                      num_or_null(x->r.has_theta, x->r.theta),
                                      "units_with_covariate", (json_int_t)x->r.with_covariate,
                                      "missing_covariate", "zero")) < 0) {
        json_decref(o);
        return NULL;
    }
    return with_holdout(o, x);
}

json_t *sy_promotion_json(const sy_exp_promotion_t *p)
{
    json_t *warnings = json_array();
    for (size_t i = 0; warnings && i < p->n_warnings; i++)
        if (json_array_append_new(warnings, json_string(p->warnings[i])) < 0) {
            json_decref(warnings);
            warnings = NULL;
        }
    json_t *o = json_pack("{sssbsososososo}", "experiment", p->experiment, "eligible", p->eligible,
                          "winner", p->has_winner ? json_string(p->winner) : json_null(),
                          "confidence", num_or_null(p->has_confidence, p->confidence),
                          "improvement", num_or_null(p->has_improvement, p->improvement_pct),
                          "checks", checks_json(&p->checks), "warnings", warnings);
    if (o && p->latency_guardrail &&
        json_object_set_new(o, "guardrails",
                            json_pack("{so}", "latency", verdict_json(p->latency))) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- allocation ----------------------------------------------------------------------------- */

static json_t *weights_json(const sy_variant_weight_t *w, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++)
        if (json_object_set_new(o, w[i].key, json_integer(w[i].weight)) < 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

json_t *sy_rate_limit_json(const sy_rate_limit_t *r)
{
    return json_pack(
        "{sIsIsososIsI}", "changes_today", (json_int_t)r->changes_today, "max_changes_per_day",
        (json_int_t)r->max_changes_per_day, "resets_at_ms",
        r->has_resets_at ? json_integer(r->resets_at_ms) : json_null(), "last_change_ms",
        r->has_last_change ? json_integer(r->last_change_ms) : json_null(), "next_allowed_ms",
        (json_int_t)r->next_allowed_ms, "history_limit", (json_int_t)r->history_limit);
}

json_t *sy_allocation_json(const sy_allocation_t *a, json_t *history)
{
    json_t *active = json_array();
    for (size_t i = 0; active && i < a->n; i++)
        if (a->weights[i].weight > 0 &&
            json_array_append_new(active, json_string(a->weights[i].key)) < 0) {
            json_decref(active);
            active = NULL;
        }
    const sy_guardrails_t *g = &a->guardrails;
    return json_pack("{sssssosos{sfsIsfsI}soso}", "experiment", a->experiment, "state", a->state,
                     "weights", weights_json(a->weights, a->n), "active_variants", active,
                     "guardrails", "min_confidence", g->min_confidence, "max_step_pct",
                     (json_int_t)g->max_step_pct, "cooldown_hours", g->cooldown_hours,
                     "max_changes_per_day", (json_int_t)g->max_changes_per_day, "rate_limit",
                     sy_rate_limit_json(&a->rate_limit), "history", history);
}

static json_t *parsed(const char *text)
{
    json_error_t je;
    return text ? sy_json_loadb(text, strlen(text), 0, &je) : NULL;
}

int sy_history_json_add(void *arg, const sy_history_entry_t *h)
{
    json_t *o =
        json_pack("{sIsIssssso*so*so*}", "id", (json_int_t)h->id, "at_ms", (json_int_t)h->at_ms,
                  "action", h->action, "actor", h->actor, "before", parsed(h->before), "after",
                  parsed(h->after), "detail", parsed(h->detail));
    return o && json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

json_t *sy_history_json(const char *key, json_t *history)
{
    return json_pack("{ssso}", "experiment", key, "history", history);
}

/* ---- the requests -----------------------------------------------------------------------------
 */

/* Whether the winning variant is one of the experiment's is the engine's to say. */
#define STEP(m) offsetof(sy_step_request_t, m)
static const sy_field_t step_fields[] = {
    {"winning_variant", SY_K_TEXT, STEP(winning_variant), SY_UNTRACKED, .required = true,
     .hi = SY_EXP_VARIANT_MAX, .says = "the name of a variant of the experiment"},
    {"confidence", SY_K_NUMBER, STEP(confidence), SY_UNTRACKED, .required = true, .lo = 0, .hi = 1,
     .says = "a number from 0 to 1"},
    {"delta", SY_K_NUMBER, STEP(delta), SY_UNTRACKED, .required = true, .lo = -DBL_MAX,
     .hi = DBL_MAX, .says = "a number (the winner's delta, in %)"},
    {"evaluation_id", SY_K_TEXT, STEP(evaluation_id), SY_UNTRACKED, .hi = 64,
     .says = "a string of 1 to 64 bytes"},
};
const sy_schema_t sy_step_request_schema = SY_SCHEMA(step_fields);

json_t *sy_step_answer_json(const sy_step_answer_t *a)
{
    if (a->refused)
        return json_pack("{sbssso}", "applied", 0, "refused_by", a->refused_by, "rate_limit",
                         sy_rate_limit_json(&a->rate_limit));
    if (a->duplicate)
        return json_pack("{sbsbsnsIso}", "applied", 1, "duplicate", 1, "refused_by", "step",
                         (json_int_t)0, "weights", weights_json(a->weights, a->n));
    return json_pack("{sbsnsIsossso}", "applied", 1, "refused_by", "step", (json_int_t)a->step,
                     "weights", weights_json(a->weights, a->n), "state", a->state, "rate_limit",
                     sy_rate_limit_json(&a->rate_limit));
}

#define PROMOTE(m) offsetof(sy_promote_body_t, m)
static const sy_field_t promote_fields[] = {
    {"variant", SY_K_TEXT, PROMOTE(req.variant), SY_UNTRACKED, .hi = SY_EXP_VARIANT_MAX,
     .says = "the name of a variant of the experiment"},
    {"promoted_by", SY_K_TEXT, PROMOTE(req.promoted_by), SY_UNTRACKED, .hi = 128,
     .says = "a string of 1 to 128 bytes"},
    {"metadata", SY_K_JSON, PROMOTE(metadata), SY_UNTRACKED, .says = "an object"},
};
const sy_schema_t sy_promote_body_schema = SY_SCHEMA(promote_fields);

int sy_promote_body_finish(sy_promote_body_t *b, char **text, sy_err_t *err)
{
    *text = NULL;
    b->req.metadata = NULL;
    if (!b->metadata)
        return 0;
    if (!json_is_object(b->metadata))
        return sy_err_set(err, -EINVAL, "metadata", "metadata is an object");
    if (!(*text = sy_json_dumps(b->metadata, JSON_COMPACT)))
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    b->req.metadata = *text;
    return 0;
}

#define ROLLBACK(m) offsetof(sy_rollback_request_t, m)
static const sy_field_t rollback_fields[] = {
    {"reason", SY_K_TEXT, ROLLBACK(reason), SY_UNTRACKED, .hi = 500,
     .says = "a string of 1 to 500 bytes"},
    {"rolled_back_by", SY_K_TEXT, ROLLBACK(rolled_back_by), SY_UNTRACKED, .hi = 128,
     .says = "a string of 1 to 128 bytes"},
};
const sy_schema_t sy_rollback_request_schema = SY_SCHEMA(rollback_fields);
