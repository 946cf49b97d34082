/* definition.c - an experiment's definition: its values checked together and named when
 * they are wrong, the server-wide defaults filled in, weights scaled to percentage points,
 * and the normalized form the store keeps; and the experiment as answered. The shapes are
 * codec/experiment_json.c's (one schema for requests, stored rows and answers); see
 * engine.h ("experiments") and docs/api.md.
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/experiment_json.h"
#include "engine/experiment_int.h"

/* Weights become percentage points summing to 100, the unit traffic moves in (allocation
 * steps are "20 points"): w_i * 100 / sum, the odd points to the largest remainders (the
 * earlier variant on a tie). Weights that sum to 100 already stay as they are. */
static void to_points(struct experiment *e)
{
    int64_t sum = 0, given = 0, rem[SY_EXP_MAX_ARMS];
    for (size_t i = 0; i < e->n_arms; i++)
        sum += e->arms[i].weight;
    if (sum == 100)
        return;
    for (size_t i = 0; i < e->n_arms; i++) {
        rem[i] = e->arms[i].weight * 100 % sum;
        e->arms[i].weight = e->arms[i].weight * 100 / sum;
        given += e->arms[i].weight;
    }
    for (; given < 100; given++) {
        size_t best = 0;
        for (size_t i = 1; i < e->n_arms; i++)
            if (rem[i] > rem[best])
                best = i;
        e->arms[best].weight++;
        rem[best] = -1;
    }
    for (size_t i = 0; i < e->n_arms; i++)
        e->arms[i].defined_weight = e->arms[i].weight;
}

/* The values of `d` that the schema cannot judge alone (or that a C caller may get wrong),
 * into `e`: the sentences and bounds of a definition. `stored`: a row of the store, whose
 * weights are taken as written. */
static int take_variants(const sy_exp_def_t *d, struct experiment *e, bool stored, sy_err_t *err)
{
    if (d->n_variants < 2 || d->n_variants > SY_EXP_MAX_ARMS)
        return sy_err_set(err, -EINVAL, "variants", "variants must be an array of 2 to %d variants",
                          SY_EXP_MAX_ARMS);
    /* one more, past the variants: the layer's holdout (layer.c), counted apart */
    if (!e->arms && !(e->arms = calloc(d->n_variants + 1, sizeof(*e->arms))))
        return sy_eng_oom(err);
    snprintf(e->arms[d->n_variants].key, sizeof(e->arms[0].key), "holdout");
    e->arms[d->n_variants].a.seq_p = 1;
    size_t controls = 0;
    int64_t treatment_weight = 0;
    char f[48];
    for (size_t i = 0; i < d->n_variants; i++) {
        const sy_exp_variant_t *v = &d->variants[i];
        snprintf(f, sizeof(f), "variants[%zu].key", i);
        if (!sy_eng_valid_name(v->key, VARIANT_MAX))
            return sy_err_set(err, -EINVAL, f,
                              "a variant key is 1 to %d bytes, no control characters", VARIANT_MAX);
        for (size_t j = 0; j < i; j++)
            if (strcmp(e->arms[j].key, v->key) == 0)
                return sy_err_set(err, -EINVAL, f, "variant \"%s\" is listed twice", v->key);
        if (v->weight < 0 || v->weight > 1000000) {
            snprintf(f, sizeof(f), "variants[%zu].weight", i);
            return sy_err_set(err, -EINVAL, f, "a weight is an integer from 0 to 1000000");
        }
        struct arm *a = &e->arms[i];
        snprintf(a->key, sizeof(a->key), "%s", v->key);
        a->weight = v->weight;
        a->defined_weight = a->weight;
        a->a.seq_p = 1;
        a->a.cuped_seq_p = 1;
        if (v->control) {
            e->control = i;
            controls++;
        } else {
            treatment_weight += a->weight;
        }
    }
    e->n_arms = d->n_variants;
    if (controls != 1)
        return sy_err_set(err, -EINVAL, "variants", "exactly one variant is the control, not %zu",
                          controls);
    /* a stored row is taken as it was written (one from before the check below may give
     * the control 0 %: it must load, not stop the store from opening) */
    if (!stored && (e->arms[e->control].weight == 0 || treatment_weight == 0))
        return sy_err_set(err, -EINVAL, "variants",
                          "the control and at least one treatment need a weight above 0");
    to_points(e);
    treatment_weight = 0;
    for (size_t i = 0; i < e->n_arms; i++)
        treatment_weight += i != e->control ? e->arms[i].weight : 0;
    if (!stored && (e->arms[e->control].weight == 0 || treatment_weight == 0))
        return sy_err_set(err, -EINVAL, "variants",
                          "weights become whole percentage points, and these leave the %s "
                          "0 %%: give it at least 1 %% of the total",
                          e->arms[e->control].weight == 0 ? "control" : "treatments");
    return 0;
}

/* CUPED on or off, and what its co-moments regress on the covariate in every arm. */
static void set_cuped(struct experiment *e, bool on)
{
    e->cuped = on;
    for (size_t i = 0; i < e->n_arms; i++)
        e->arms[i].a.cuped = !on                           ? CUPED_OFF
                             : e->metric == SY_METRIC_MEAN ? CUPED_MEAN
                                                           : CUPED_CONVERSION;
}

/* Its own safety settings over `base` (the server-wide defaults), checked together. */
static int take_safety(const sy_exp_def_t *d, struct experiment *e, const sy_exp_defaults_t *base,
                       sy_err_t *err)
{
    const sy_exp_defaults_t *s = &d->safety;
    sy_exp_defaults_t m = *base;
    unsigned set = d->safety_set & ((1u << SY_EXP_SAFETY_N) - 1);
#define OWN(bit, field)                                                                            \
    if (set & (1u << (bit)))                                                                       \
    m.field = s->field
    OWN(SY_EXP_SAFETY_MIN_SAMPLE, safety.min_sample_per_variant);
    OWN(SY_EXP_SAFETY_MIN_CONFIDENCE, safety.min_confidence);
    OWN(SY_EXP_SAFETY_MIN_IMPROVEMENT, safety.min_improvement_pct);
    OWN(SY_EXP_SAFETY_MIN_RUNTIME, safety.min_runtime_hours);
    OWN(SY_EXP_SAFETY_MAX_ERROR_RATE, safety.max_error_rate);
    OWN(SY_EXP_SAFETY_SEQUENTIAL, sequential);
    OWN(SY_EXP_SAFETY_TAU, sequential_tau_squared);
    OWN(SY_EXP_SAFETY_MANUAL, safety.manual_approval);
    OWN(SY_EXP_SAFETY_MAX_LATENCY, max_latency_increase_pct);
    OWN(SY_EXP_SAFETY_PLANNED_LIFT, safety.planned_lift_pct);
    OWN(SY_EXP_SAFETY_PROMOTION, safety.promotion);
#undef OWN
    if ((set & (1u << SY_EXP_SAFETY_TAU)) &&
        !(m.sequential_tau_squared >= 1e-300 && m.sequential_tau_squared <= 1e300))
        return sy_err_set(err, -EINVAL, "safety.sequential_tau_squared",
                          "sequential_tau_squared must be a number from 1e-300 to 1e+300");
    if (!(m.max_latency_increase_pct >= 0 && m.max_latency_increase_pct <= 1e4))
        return sy_err_set(err, -EINVAL, "safety.max_latency_increase_pct",
                          "max_latency_increase_pct must be a number from 0 to 10000");
    if (m.safety.promotion != SY_PROMOTION_STEPS && m.safety.promotion != SY_PROMOTION_FULL)
        return sy_err_set(err, -EINVAL, "safety.promotion",
                          "promotion is \"steps\" (guarded steps) or \"full\" (to 100 %% at once)");
    sy_err_t e2 = {0};
    int rc = sy_safety_check(&m.safety, &e2);
    if (rc < 0) {
        char f[64];
        snprintf(f, sizeof(f), "safety.%.50s", e2.field);
        return sy_err_set(err, rc, f, "%s", e2.msg);
    }
    e->safety = m.safety;
    e->sequential = m.sequential;
    e->tau_squared = m.sequential_tau_squared;
    e->max_latency_increase_pct = m.max_latency_increase_pct;
    e->safety_set = set;
    return 0;
}

/* The guardrails of allocation steps: the specification's defaults, overridden field by
 * field by the definition's "allocation" (the others follow its workspace's). */
static int take_allocation(const sy_exp_def_t *d, struct experiment *e, sy_err_t *err)
{
    sy_guardrails_t *g = &e->guardrails;
    *g = SY_GUARDRAILS_DEFAULTS;
    e->guardrails_set = d->allocation_set & 15u;
    if (e->guardrails_set & GUARD_CONFIDENCE)
        g->min_confidence = d->allocation.min_confidence;
    if (e->guardrails_set & GUARD_STEP)
        g->max_step_pct = d->allocation.max_step_pct;
    if (e->guardrails_set & GUARD_COOLDOWN)
        g->cooldown_hours = d->allocation.cooldown_hours;
    if (e->guardrails_set & GUARD_CHANGES)
        g->max_changes_per_day = d->allocation.max_changes_per_day;
    sy_err_t e2 = {0};
    int rc = sy_guardrails_check(g, &e2);
    if (rc < 0) {
        char f[64];
        snprintf(f, sizeof(f), "allocation.%.50s", e2.field);
        return sy_err_set(err, rc, f, "%s", e2.msg);
    }
    return 0;
}

/* A bandit's settings: a floor that leaves room for every arm, and equal weights to start
 * from (its burn-in serves them; weights the definition gives unequal would be ignored). */
static int take_bandit(const sy_exp_def_t *d, struct experiment *e, bool stored, sy_err_t *err)
{
    const sy_exp_bandit_t *b = &d->bandit;
    e->bandit = (sy_exp_bandit_t){0};
    if (!b->on)
        return 0;
    if (b->update_minutes < 1 || b->update_minutes > 10080)
        return sy_err_set(err, -EINVAL, "bandit.update_minutes",
                          "update_minutes is a whole number of minutes from 1 to 10080");
    if (b->min_weight_pct < 0 || b->min_weight_pct * (int64_t)e->n_arms > 100)
        return sy_err_set(err, -EINVAL, "bandit.min_weight_pct",
                          "min_weight_pct is a whole number of points from 0 to %lld: %zu "
                          "variants at it may not take more than 100 %%",
                          (long long)(100 / (int64_t)e->n_arms), e->n_arms);
    if (!(b->burn_in_hours >= 0 && b->burn_in_hours <= 8784))
        return sy_err_set(err, -EINVAL, "bandit.burn_in_hours",
                          "burn_in_hours is a number of hours from 0 to 8784");
    /* equal weights, or the points they become (34, 33, 33: a definition read again) */
    bool equal = true, points = true;
    int64_t n = (int64_t)d->n_variants;
    for (size_t i = 0; i < d->n_variants; i++) {
        equal &= d->variants[i].weight == d->variants[0].weight;
        points &= d->variants[i].weight == 100 / n + ((int64_t)i < 100 % n);
    }
    if (!stored && !equal && !points)
        return sy_err_set(err, -EINVAL, "variants",
                          "a bandit starts from equal weights (its burn-in): give every "
                          "variant the same weight");
    e->bandit = *b;
    return 0;
}

/* Its layer, name and share; the range as given (a stored row's: the engine places a new
 * one, sy_exp_layer_place). */
static int take_layer(const sy_exp_def_t *d, struct experiment *e, sy_err_t *err)
{
    memset(&e->layer, 0, sizeof(e->layer));
    if (!d->layer[0])
        return 0;
    if (!sy_exp_layer_name_ok(d->layer))
        return sy_err_set(err, -EINVAL, "layer.name",
                          "a layer's name is 1 to %d of A-Z a-z 0-9 . _ -", SY_LAYER_NAME_MAX);
    if (d->layer_pct_bp < 1 || d->layer_pct_bp > SY_LAYER_BP)
        return sy_err_set(err, -EINVAL, "layer.pct",
                          "pct is a percentage above 0 to 100 with at most 2 decimals");
    snprintf(e->layer.name, sizeof(e->layer.name), "%s", d->layer);
    e->layer.pct_bp = d->layer_pct_bp;
    if (d->layer_range[1] - d->layer_range[0] == d->layer_pct_bp) {
        e->layer.start_bp = d->layer_range[0];
        e->layer.end_bp = d->layer_range[1];
    }
    return 0;
}

int sy_exp_def_apply(const sy_exp_def_t *d, struct experiment *e, bool stored,
                     const sy_exp_defaults_t *base, sy_err_t *err)
{
    const char *flag = d->flag[0] ? d->flag : d->key;
    if (!sy_eng_valid_name(d->key, KEY_MAX))
        return sy_err_set(err, -EINVAL, "key",
                          "key is a string of 1 to %d bytes, no control characters", KEY_MAX);
    if (!sy_eng_valid_name(flag, KEY_MAX))
        return sy_err_set(err, -EINVAL, "flag",
                          "flag is a flag key of 1 to %d bytes, no control characters", KEY_MAX);
    snprintf(e->key, sizeof(e->key), "%s", d->key);
    snprintf(e->flag, sizeof(e->flag), "%s", flag);
    int rc = take_variants(d, e, stored, err);
    if (rc < 0)
        return rc;
    if (d->metric != SY_METRIC_CONVERSION && d->metric != SY_METRIC_MEAN)
        return sy_err_set(err, -EINVAL, "metric", "metric is \"conversion\" or \"mean\"");
    e->metric = d->metric;
    set_cuped(e, d->cuped);
    snprintf(e->cuped_kpi_domain, sizeof(e->cuped_kpi_domain), "%s", d->cuped_kpi_domain);
    snprintf(e->cuped_kpi_metric, sizeof(e->cuped_kpi_metric), "%s", d->cuped_kpi_metric);
    e->cuped_lookback_ms = (int64_t)d->cuped_lookback_days * 86400000;
    e->latency_guardrail = d->latency_guardrail;
    e->record_exposures = d->record_exposures;
    if ((rc = take_safety(d, e, base, err)) < 0 || (rc = take_allocation(d, e, err)) < 0 ||
        (rc = take_bandit(d, e, stored, err)) < 0)
        return rc;
    if (d->health_min_events < 1)
        return sy_err_set(err, -EINVAL, "health.min_events",
                          "min_events is a whole number from 1 to 1e+09");
    e->health = d->health;
    e->health_min_events = d->health_min_events;
    e->watched = -1;
    if (d->has_description &&
        strnlen(d->description, sizeof(d->description)) > SY_EXP_DESCRIPTION_MAX)
        return sy_err_set(err, -EINVAL, "description",
                          "description is a string of at most %d bytes", SY_EXP_DESCRIPTION_MAX);
    if ((rc = take_layer(d, e, err)) < 0)
        return rc;

    /* the normalized form, as the store keeps it: the weights in points, the flag named,
     * only the settings it gives (the others follow the server's and the workspace's) */
    sy_experiment_t *x = malloc(sizeof(*x));
    if (!x)
        return sy_eng_oom(err);
    sy_exp_view(e, x); /* e->def is not made yet: the description is d's */
    x->def.has_description = d->has_description;
    if (d->has_description)
        memcpy(x->def.description, d->description, sizeof(d->description));
    e->def = sy_exp_def_json(&x->def);
    free(x);
    return e->def ? 0 : sy_eng_oom(err);
}

json_t *sy_exp_take_settings(struct experiment *e, struct experiment *from)
{
    /* every setting the definition gives beside its variants, flag and metric: a new
     * setting of the definition is taken here too */
    json_t *old = e->def;
    e->def = from->def;
    from->def = NULL;
    e->safety = from->safety;
    e->safety_set = from->safety_set;
    e->sequential = from->sequential;
    e->tau_squared = from->tau_squared;
    e->max_latency_increase_pct = from->max_latency_increase_pct;
    e->guardrails = from->guardrails;
    e->guardrails_set = from->guardrails_set;
    e->health = from->health;
    e->health_min_events = from->health_min_events;
    if (e->bandit_due_ms) /* the next look: the new cadence after the last */
        e->bandit_due_ms += (from->bandit.update_minutes - e->bandit.update_minutes) * 60000;
    bool below = false; /* a floor raised above a weight: the next tick looks (bandit.c) */
    for (size_t i = 0; from->bandit.on && e->state == RUNNING && i < e->n_arms; i++)
        below |= e->arms[i].weight < from->bandit.min_weight_pct;
    if (below)
        e->bandit_due_ms = 1;
    e->bandit = from->bandit; /* on/off and burn-in: the update refused their change */
    e->layer = from->layer;
    /* fixed once started (sy_engine_experiment_update refuses it); before any unit is
     * counted it may change: a draft's, or one another node changed then started (tail) */
    if (e->cuped != from->cuped && e->units.n == 0)
        set_cuped(e, from->cuped);
    if (e->units.n == 0) { /* its KPI covariate too */
        memcpy(e->cuped_kpi_domain, from->cuped_kpi_domain, sizeof(e->cuped_kpi_domain));
        memcpy(e->cuped_kpi_metric, from->cuped_kpi_metric, sizeof(e->cuped_kpi_metric));
        e->cuped_lookback_ms = from->cuped_lookback_ms;
    }
    return old;
}

json_t *sy_exp_weights_json(const struct experiment *e)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < e->n_arms; i++)
        if (json_object_set_new(o, e->arms[i].key, json_integer(e->arms[i].weight)) < 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

void sy_exp_view(const struct experiment *e, sy_experiment_t *x)
{
    memset(x, 0, sizeof(*x));
    sy_exp_def_t *d = &x->def;
    snprintf(d->key, sizeof(d->key), "%s", e->key);
    snprintf(d->flag, sizeof(d->flag), "%s", e->flag);
    d->n_variants = e->n_arms;
    for (size_t i = 0; i < e->n_arms; i++) {
        snprintf(d->variants[i].key, sizeof(d->variants[i].key), "%s", e->arms[i].key);
        d->variants[i].weight = e->arms[i].defined_weight;
        d->variants[i].control = i == e->control;
        x->weights[i] = e->arms[i].weight;
    }
    d->metric = e->metric;
    d->cuped = e->cuped;
    snprintf(d->cuped_kpi_domain, sizeof(d->cuped_kpi_domain), "%s", e->cuped_kpi_domain);
    snprintf(d->cuped_kpi_metric, sizeof(d->cuped_kpi_metric), "%s", e->cuped_kpi_metric);
    d->cuped_lookback_days = (int)(e->cuped_lookback_ms / 86400000);
    d->latency_guardrail = e->latency_guardrail;
    d->record_exposures = e->record_exposures;
    const char *desc = json_string_value(json_object_get(e->def, "description"));
    if (desc) {
        d->has_description = true;
        snprintf(d->description, sizeof(d->description), "%s", desc);
    }
    d->safety = (sy_exp_defaults_t){.safety = e->safety,
                                    .sequential = e->sequential,
                                    .sequential_tau_squared = e->tau_squared,
                                    .max_latency_increase_pct = e->max_latency_increase_pct};
    d->safety_set = e->safety_set;
    d->allocation = e->guardrails;
    d->allocation_set = e->guardrails_set;
    d->health = e->health;
    d->health_min_events = e->health_min_events;
    d->bandit = e->bandit;
    snprintf(d->layer, sizeof(d->layer), "%s", e->layer.name);
    d->layer_pct_bp = e->layer.pct_bp;
    d->layer_range[0] = e->layer.start_bp;
    d->layer_range[1] = e->layer.end_bp;
    snprintf(x->state, sizeof(x->state), "%s", sy_exp_state_name(e->state));
    x->created_ms = e->created_ms;
    x->started_ms = e->started_ms;
    x->stopped_ms = e->stopped_ms;
}

json_t *sy_exp_to_json(const struct experiment *e)
{
    sy_experiment_t *x = malloc(sizeof(*x));
    if (!x)
        return NULL;
    sy_exp_view(e, x);
    json_t *o = sy_experiment_json(x);
    free(x);
    return o;
}
