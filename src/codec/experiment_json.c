/* experiment_json.c - an experiment's definition read by its schema, the definition and the
 * experiment written; see experiment_json.h.
 *
 * | member           | kind                                  | default                   |
 * |------------------|---------------------------------------|---------------------------|
 * | key              | 1 to 256 bytes                        | required                  |
 * | flag             | 1 to 256 bytes                        | the key                   |
 * | variants         | 2 to 16 of {key, weight, control?, value?} | required             |
 * | metric           | "conversion" or "mean"                | "conversion"              |
 * | guardrails       | ["error_rate", "latency"?]            | ["error_rate"]            |
 * | safety           | object, below                         | the server-wide defaults  |
 * | allocation       | {min_confidence, max_step_pct, cooldown_hours, max_changes_per_day} |
 * |                  |                                       | the workspace's guardrails|
 * | record_exposures | true or false                         | false                     |
 * | cuped            | {enabled: true or false}              | {enabled: false}          |
 * |                  | kpi?: {domain, metric}, lookback_days?| no kpi; 28 days with one  |
 * | description      | a string of at most 1000 bytes        | none                      |
 * | health           | {success_rate_drop, error_rate_increase, retry_rate_increase,    |
 * |                  |  max_p95_ms, min_events, confidence}  | core's, 1000 events       |
 * | bandit           | {update_minutes, min_weight_pct, burn_in_hours} | not a bandit    |
 * |                  |                                       | (given: 60, 5, 24)        |
 * | layer            | {name, pct, range?}: pct above 0 to 100, 2 decimals; range is  |
 * |                  | the engine's (written, never taken from a request) | none     |
 */
#include "codec/experiment_json.h"

#include <float.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/json_merge.h"
#include "codec/value_json.h"

/* ---- the schema ---------------------------------------------------------------------- */

/* What the schema reads: strings borrowed from the JSON, converted into sy_exp_def_t after. */
struct safety_wire {
    sy_exp_defaults_t v;
    const char *promotion;
    bool given[SY_EXP_SAFETY_N];
};

struct alloc_wire {
    double min_confidence, max_step_pct, cooldown_hours, max_changes_per_day;
    bool given[4];
};

struct health_wire {
    sy_health_thresholds_t h;
    double min_events;
};

struct bandit_wire {
    double update_minutes, min_weight_pct, burn_in_hours;
};

struct variant_wire {
    const char *key;
    int64_t weight;
    bool control;
    const json_t *value;
};

struct layer_wire {
    const char *name;
    double pct;
    const json_t *range;
};

struct def_wire {
    const char *key, *flag, *metric;
    const json_t *variants, *guardrails, *description;
    struct safety_wire safety;
    struct alloc_wire allocation;
    bool record_exposures;
    struct health_wire health;
    struct bandit_wire bandit;
    bool has_bandit;
    bool has_layer;
    struct layer_wire layer;
    struct cuped_wire {
        bool enabled;
        bool has_kpi;
        struct cuped_kpi_wire {
            const char *domain, *metric;
        } kpi;
        bool has_lookback;
        int64_t lookback_days;
    } cuped;
};

/* The names of "safety"'s members, in the order of SY_EXP_SAFETY_*. */
static const char *const safety_names[SY_EXP_SAFETY_N] = {"min_sample_per_variant",
                                                          "min_confidence",
                                                          "min_improvement_pct",
                                                          "min_runtime_hours",
                                                          "max_error_rate",
                                                          "sequential",
                                                          "sequential_tau_squared",
                                                          "require_manual_approval",
                                                          "max_latency_increase_pct",
                                                          "planned_lift_pct",
                                                          "promotion"};

#define SAFE(m)  offsetof(struct safety_wire, m)
#define GIVEN(i) SAFE(given[i])
static const sy_field_t safety_fields[] = {
    {"min_sample_per_variant", SY_K_INT, SAFE(v.safety.min_sample_per_variant),
     GIVEN(SY_EXP_SAFETY_MIN_SAMPLE), .lo = 1, .hi = 1e12, .says = "an integer from 1 to 1e12"},
    {"min_confidence", SY_K_NUMBER, SAFE(v.safety.min_confidence),
     GIVEN(SY_EXP_SAFETY_MIN_CONFIDENCE), .lo = 0, .hi = 1, .says = "a number from 0 to 1"},
    {"min_improvement_pct", SY_K_NUMBER, SAFE(v.safety.min_improvement_pct),
     GIVEN(SY_EXP_SAFETY_MIN_IMPROVEMENT), .lo = 0, .hi = 1e6, .says = "a number from 0 to 1e+06"},
    {"min_runtime_hours", SY_K_NUMBER, SAFE(v.safety.min_runtime_hours),
     GIVEN(SY_EXP_SAFETY_MIN_RUNTIME), .lo = 0, .hi = 87840, .says = "a number from 0 to 87840"},
    {"max_error_rate", SY_K_NUMBER, SAFE(v.safety.max_error_rate),
     GIVEN(SY_EXP_SAFETY_MAX_ERROR_RATE), .lo = 0, .hi = 1, .says = "a number from 0 to 1"},
    {"sequential", SY_K_BOOL, SAFE(v.sequential), GIVEN(SY_EXP_SAFETY_SEQUENTIAL),
     .says = "true or false"},
    {"sequential_tau_squared", SY_K_NUMBER, SAFE(v.sequential_tau_squared),
     GIVEN(SY_EXP_SAFETY_TAU), .lo = 1e-300, .hi = 1e300, .says = "a number from 1e-300 to 1e+300"},
    {"require_manual_approval", SY_K_BOOL, SAFE(v.safety.manual_approval),
     GIVEN(SY_EXP_SAFETY_MANUAL), .says = "true or false"},
    {"max_latency_increase_pct", SY_K_NUMBER, SAFE(v.max_latency_increase_pct),
     GIVEN(SY_EXP_SAFETY_MAX_LATENCY), .lo = 0, .hi = 1e4, .says = "a number from 0 to 10000"},
    {"planned_lift_pct", SY_K_NUMBER, SAFE(v.safety.planned_lift_pct),
     GIVEN(SY_EXP_SAFETY_PLANNED_LIFT), .lo = 0, .hi = 1e6, .says = "a number from 0 to 1e+06"},
    /* beside require_manual_approval: both say what the auto-promotion check does with a
     * winner, and the auto-promotion specification keeps its settings together */
    {"promotion", SY_K_TEXT, SAFE(promotion), GIVEN(SY_EXP_SAFETY_PROMOTION), .hi = 16,
     .says = "\"steps\" (guarded steps) or \"full\" (to 100 % at once)"},
};
static const sy_schema_t safety_schema = SY_SCHEMA(safety_fields);

/* Whole numbers are checked after: 20.0 is 20 points, as it always was. */
#define ALLOC(m) offsetof(struct alloc_wire, m)
static const sy_field_t alloc_fields[] = {
    {"min_confidence", SY_K_NUMBER, ALLOC(min_confidence), ALLOC(given[0]), .lo = 0, .hi = 1,
     .says = "a number from 0 to 1"},
    {"max_step_pct", SY_K_NUMBER, ALLOC(max_step_pct), ALLOC(given[1]), .lo = 1, .hi = 100,
     .says = "a whole number of percentage points from 1 to 100"},
    {"cooldown_hours", SY_K_NUMBER, ALLOC(cooldown_hours), ALLOC(given[2]), .lo = 0, .hi = 8784,
     .says = "a number of hours from 0 to 8784"},
    {"max_changes_per_day", SY_K_NUMBER, ALLOC(max_changes_per_day), ALLOC(given[3]), .lo = 1,
     .hi = 1000, .says = "a whole number from 1 to 1000"},
};
static const sy_schema_t alloc_schema = SY_SCHEMA(alloc_fields);

#define HEALTH(m) offsetof(struct health_wire, m)
static const sy_field_t health_fields[] = {
    {"success_rate_drop", SY_K_NUMBER, HEALTH(h.success_rate_drop), SY_UNTRACKED, .lo = 0, .hi = 1,
     .says = "a number from 0 to 1"},
    {"error_rate_increase", SY_K_NUMBER, HEALTH(h.error_rate_increase), SY_UNTRACKED, .lo = 0,
     .hi = 1, .says = "a number from 0 to 1"},
    {"retry_rate_increase", SY_K_NUMBER, HEALTH(h.retry_rate_increase), SY_UNTRACKED, .lo = 0,
     .hi = 1, .says = "a number from 0 to 1"},
    {"max_p95_ms", SY_K_NUMBER, HEALTH(h.max_p95_ms), HEALTH(h.has_max_p95), .lo = 1e-3, .hi = 1e7,
     .says = "a number from 0.001 to 1e+07"},
    {"min_events", SY_K_NUMBER, HEALTH(min_events), SY_UNTRACKED, .lo = 1, .hi = 1e9,
     .says = "a whole number from 1 to 1e+09"},
    {"confidence", SY_K_NUMBER, HEALTH(h.confidence), SY_UNTRACKED, .lo = 0, .hi = 0.999999,
     .says = "a number from 0 to 0.999999"},
};
static const sy_schema_t health_schema = SY_SCHEMA(health_fields);

/* Whole numbers are checked after, as allocation's are. */
#define BANDIT(m) offsetof(struct bandit_wire, m)
static const sy_field_t bandit_fields[] = {
    {"update_minutes", SY_K_NUMBER, BANDIT(update_minutes), SY_UNTRACKED, .lo = 1, .hi = 10080,
     .says = "a whole number of minutes from 1 to 10080"},
    {"min_weight_pct", SY_K_NUMBER, BANDIT(min_weight_pct), SY_UNTRACKED, .lo = 0, .hi = 50,
     .says = "a whole number of percentage points from 0 to 50 (at most 100 / variants)"},
    {"burn_in_hours", SY_K_NUMBER, BANDIT(burn_in_hours), SY_UNTRACKED, .lo = 0, .hi = 8784,
     .says = "a number of hours from 0 to 8784"},
};
static const sy_schema_t bandit_schema = SY_SCHEMA(bandit_fields);
#define CUPED_KPI(m) offsetof(struct cuped_kpi_wire, m)
static const sy_field_t cuped_kpi_fields[] = {
    {"domain", SY_K_TEXT, CUPED_KPI(domain), SY_UNTRACKED, .required = true,
     .hi = SY_EXP_KPI_NAME_MAX, .says = "a KPI domain of 1 to 64 characters"},
    {"metric", SY_K_TEXT, CUPED_KPI(metric), SY_UNTRACKED, .required = true,
     .hi = SY_EXP_KPI_NAME_MAX, .says = "a KPI metric of 1 to 64 characters"},
};
static const sy_schema_t cuped_kpi_schema = SY_SCHEMA(cuped_kpi_fields);
#define CUPED(m) offsetof(struct cuped_wire, m)
static const sy_field_t cuped_fields[] = {
    {"enabled", SY_K_BOOL, CUPED(enabled), SY_UNTRACKED, .says = "true or false"},
    {"kpi", SY_K_OBJECT, CUPED(kpi), CUPED(has_kpi), .says = "an object {domain, metric}",
     .sub = &cuped_kpi_schema},
    {"lookback_days", SY_K_INT, CUPED(lookback_days), CUPED(has_lookback), .lo = 1,
     .hi = SY_EXP_LOOKBACK_MAX, .says = "a whole number of days from 1 to 365"},
};
static const sy_schema_t cuped_schema = SY_SCHEMA(cuped_fields);

#define VAR(m) offsetof(struct variant_wire, m)
static const sy_field_t variant_fields[] = {
    {"key", SY_K_TEXT, VAR(key), SY_UNTRACKED, .required = true, .hi = SY_EXP_VARIANT_MAX,
     .says = "a variant key of 1 to 63 bytes, no control characters"},
    {"weight", SY_K_INT, VAR(weight), SY_UNTRACKED, .required = true, .lo = 0, .hi = 1000000,
     .says = "an integer from 0 to 1000000"},
    {"control", SY_K_BOOL, VAR(control), SY_UNTRACKED, .says = "true or false"},
    {"value", SY_K_JSON, VAR(value), SY_UNTRACKED, .says = "the flag's value for the variant"},
};
static const sy_schema_t variant_schema = SY_SCHEMA(variant_fields);

#define LAYER(m) offsetof(struct layer_wire, m)
static const sy_field_t layer_fields[] = {
    {"name", SY_K_TEXT, LAYER(name), SY_UNTRACKED, .required = true, .lo = 1,
     .hi = SY_LAYER_NAME_MAX, .says = "a layer's name"},
    {"pct", SY_K_NUMBER, LAYER(pct), SY_UNTRACKED, .required = true, .lo = 0, .lo_open = true,
     .hi = 100, .says = "a percentage above 0 to 100 with at most 2 decimals"},
    {"range", SY_K_JSON, LAYER(range), SY_UNTRACKED,
     .says = "[start, end]: assigned by the server"},
};
static const sy_schema_t layer_schema = SY_SCHEMA(layer_fields);

#define DEF(m) offsetof(struct def_wire, m)
static const sy_field_t def_fields[] = {
    {"key", SY_K_TEXT, DEF(key), SY_UNTRACKED, .required = true, .hi = SY_EXP_KEY_MAX,
     .says = "a string of 1 to 256 bytes, no control characters"},
    {"flag", SY_K_TEXT, DEF(flag), SY_UNTRACKED, .hi = SY_EXP_KEY_MAX,
     .says = "a flag key of 1 to 256 bytes, no control characters"},
    {"variants", SY_K_JSON, DEF(variants), SY_UNTRACKED, .required = true,
     .says = "an array of 2 to 16 variants {key, weight, control?, value?}"},
    {"metric", SY_K_TEXT, DEF(metric), SY_UNTRACKED, .hi = 16,
     .says = "\"conversion\" or \"mean\""},
    {"guardrails", SY_K_JSON, DEF(guardrails), SY_UNTRACKED, .says = "an array of metric names"},
    {"safety", SY_K_OBJECT, DEF(safety), SY_UNTRACKED, .says = "an object", .sub = &safety_schema},
    {"allocation", SY_K_OBJECT, DEF(allocation), SY_UNTRACKED, .says = "an object",
     .sub = &alloc_schema},
    {"record_exposures", SY_K_BOOL, DEF(record_exposures), SY_UNTRACKED, .says = "true or false"},
    {"description", SY_K_JSON, DEF(description), SY_UNTRACKED,
     .says = "a string of at most 1000 bytes"},
    {"health", SY_K_OBJECT, DEF(health), SY_UNTRACKED, .says = "an object", .sub = &health_schema},
    {"bandit", SY_K_OBJECT, DEF(bandit), DEF(has_bandit),
     .says = "an object {update_minutes?, min_weight_pct?, burn_in_hours?}", .sub = &bandit_schema},
    {"layer", SY_K_OBJECT, DEF(layer), DEF(has_layer), .says = "an object {name, pct}",
     .sub = &layer_schema},
    {"cuped", SY_K_OBJECT, DEF(cuped), SY_UNTRACKED,
     .says = "an object {enabled, kpi?, lookback_days?}", .sub = &cuped_schema},
};
const sy_schema_t sy_exp_def_schema = SY_SCHEMA(def_fields);

/* ---- reading --------------------------------------------------------------------------- */

void sy_exp_def_clear(sy_exp_def_t *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < SY_EXP_MAX_ARMS; i++) {
        free(d->variants[i].value);
        d->variants[i].value = NULL;
    }
}

static int promotion_of(const struct safety_wire *w, sy_exp_defaults_t *out, sy_err_t *err)
{
    *out = w->v;
    if (!w->given[SY_EXP_SAFETY_PROMOTION])
        return 0;
    if (strcmp(w->promotion, "steps") == 0)
        out->safety.promotion = SY_PROMOTION_STEPS;
    else if (strcmp(w->promotion, "full") == 0)
        out->safety.promotion = SY_PROMOTION_FULL;
    else
        return sy_err_set(err, -EINVAL, "safety.promotion", "promotion is %s",
                          safety_fields[SY_EXP_SAFETY_PROMOTION].says);
    return 0;
}

static unsigned bits(const bool *given, size_t n)
{
    unsigned b = 0;
    for (size_t i = 0; i < n; i++)
        b |= given[i] ? 1u << i : 0;
    return b;
}

static int read_variants(const json_t *vs, sy_exp_def_t *d, sy_err_t *err)
{
    if (!json_is_array(vs) || json_array_size(vs) < 2 || json_array_size(vs) > SY_EXP_MAX_ARMS)
        return sy_err_set(err, -EINVAL, "variants", "variants must be an array of 2 to %d variants",
                          SY_EXP_MAX_ARMS);
    char at[32];
    for (size_t i = 0; i < json_array_size(vs); i++) {
        const json_t *v = json_array_get(vs, i);
        snprintf(at, sizeof(at), "variants[%zu]", i);
        if (!json_is_object(v))
            return sy_err_set(err, -EINVAL, at, "a variant is an object {key, weight, control?}");
        struct variant_wire w = {0};
        int rc = sy_schema_read(&variant_schema, v, &w, at, err);
        if (rc < 0)
            return rc;
        sy_exp_variant_t *x = &d->variants[i];
        snprintf(x->key, sizeof(x->key), "%s", w.key);
        x->weight = w.weight;
        x->control = w.control;
        if (w.value && !(x->value = sy_json_dumps(w.value, JSON_COMPACT | JSON_ENCODE_ANY)))
            return sy_err_set(err, -ENOMEM, "", "out of memory");
    }
    d->n_variants = json_array_size(vs);
    return 0;
}

static int read_guardrails(const json_t *g, sy_exp_def_t *d, sy_err_t *err)
{
    if (g && !json_is_array(g))
        return sy_err_set(err, -EINVAL, "guardrails", "guardrails is an array of metric names");
    for (size_t i = 0; i < json_array_size(g); i++) {
        const char *name = json_string_value(json_array_get(g, i));
        char f[48];
        snprintf(f, sizeof(f), "guardrails[%zu]", i);
        if (name && strcmp(name, "latency") == 0)
            d->latency_guardrail = true;
        else if (!name || strcmp(name, "error_rate") != 0)
            return sy_err_set(err, -EINVAL, f, "a guardrail is \"error_rate\" or \"latency\"");
    }
    return 0;
}

static int read_allocation(const struct alloc_wire *a, sy_exp_def_t *d, sy_err_t *err)
{
    if (a->max_step_pct != (double)(int64_t)a->max_step_pct)
        return sy_err_set(err, -EINVAL, "allocation.max_step_pct", "max_step_pct is %s",
                          alloc_fields[1].says);
    if (a->max_changes_per_day != (double)(int64_t)a->max_changes_per_day)
        return sy_err_set(err, -EINVAL, "allocation.max_changes_per_day",
                          "max_changes_per_day is %s", alloc_fields[3].says);
    d->allocation = (sy_guardrails_t){.min_confidence = a->min_confidence,
                                      .max_step_pct = (int64_t)a->max_step_pct,
                                      .cooldown_hours = a->cooldown_hours,
                                      .max_changes_per_day = (int64_t)a->max_changes_per_day};
    d->allocation_set = bits(a->given, 4);
    return 0;
}

static int read_bandit(const struct def_wire *w, sy_exp_def_t *d, sy_err_t *err)
{
    const struct bandit_wire *b = &w->bandit;
    if (!w->has_bandit)
        return 0;
    if (b->update_minutes != (double)(int64_t)b->update_minutes)
        return sy_err_set(err, -EINVAL, "bandit.update_minutes", "update_minutes is %s",
                          bandit_fields[0].says);
    if (b->min_weight_pct != (double)(int64_t)b->min_weight_pct)
        return sy_err_set(err, -EINVAL, "bandit.min_weight_pct", "min_weight_pct is %s",
                          bandit_fields[1].says);
    d->bandit = (sy_exp_bandit_t){.on = true,
                                  .update_minutes = (int64_t)b->update_minutes,
                                  .min_weight_pct = (int64_t)b->min_weight_pct,
                                  .burn_in_hours = b->burn_in_hours};
    return 0;
}

/* A percentage with at most 2 decimals as basis points, or -1. */
static int64_t to_bp(double pct)
{
    double bp = pct * 100;
    int64_t r = (int64_t)(bp + (bp < 0 ? -0.5 : 0.5));
    return bp - (double)r < 1e-6 && (double)r - bp < 1e-6 ? r : -1;
}

/* The definition's layer: its name and share; a range as written (a stored row's, an
 * answer read back) is kept when it reads, the engine judging it (docs/api.md). */
static int read_layer(const struct layer_wire *w, sy_exp_def_t *d, sy_err_t *err)
{
    snprintf(d->layer, sizeof(d->layer), "%s", w->name);
    if ((d->layer_pct_bp = to_bp(w->pct)) < 1)
        return sy_err_set(err, -EINVAL, "layer.pct", "pct is %s", layer_fields[1].says);
    const json_t *r = w->range;
    if (!r || json_is_null(r))
        return 0;
    int64_t a =
        json_is_number(json_array_get(r, 0)) ? to_bp(json_number_value(json_array_get(r, 0))) : -1;
    int64_t b =
        json_is_number(json_array_get(r, 1)) ? to_bp(json_number_value(json_array_get(r, 1))) : -1;
    if (!json_is_array(r) || json_array_size(r) != 2 || a < 0 || b <= a || b > SY_LAYER_BP)
        return sy_err_set(err, -EINVAL, "layer.range",
                          "range is [start, end], percentages with start below end");
    d->layer_range[0] = a;
    d->layer_range[1] = b;
    return 0;
}

/* CUPED's covariate from a KPI metric: only with CUPED on, the lookback only with it. */
static int read_cuped(const struct cuped_wire *w, sy_exp_def_t *d, sy_err_t *err)
{
    if (w->has_lookback && !w->has_kpi)
        return sy_err_set(err, -EINVAL, "cuped.lookback_days",
                          "lookback_days is the span of a kpi covariate: give cuped.kpi too");
    if (!w->has_kpi)
        return 0;
    if (!w->enabled)
        return sy_err_set(err, -EINVAL, "cuped.kpi",
                          "a kpi covariate is CUPED's: it needs \"enabled\": true");
    snprintf(d->cuped_kpi_domain, sizeof(d->cuped_kpi_domain), "%s", w->kpi.domain);
    snprintf(d->cuped_kpi_metric, sizeof(d->cuped_kpi_metric), "%s", w->kpi.metric);
    d->cuped_lookback_days = w->has_lookback ? (int)w->lookback_days : 28;
    return 0;
}

/* `obj` into `d` (over the defaults, with nothing to free); its values owned on 0. */
static int read_def(const json_t *obj, sy_exp_def_t *d, sy_err_t *err)
{
    *d = SY_EXP_DEF_DEFAULTS;
    const sy_guardrails_t g = SY_GUARDRAILS_DEFAULTS;
    struct def_wire w = {
        .safety = {.v = SY_EXP_DEFAULTS},
        .allocation = {.min_confidence = g.min_confidence,
                       .max_step_pct = (double)g.max_step_pct,
                       .cooldown_hours = g.cooldown_hours,
                       .max_changes_per_day = (double)g.max_changes_per_day},
        .health = {.h = SY_HEALTH_THRESHOLDS_DEFAULTS, .min_events = SY_EXP_HEALTH_MIN_EVENTS},
        .bandit = {.update_minutes = (double)SY_EXP_BANDIT_DEFAULTS.update_minutes,
                   .min_weight_pct = (double)SY_EXP_BANDIT_DEFAULTS.min_weight_pct,
                   .burn_in_hours = SY_EXP_BANDIT_DEFAULTS.burn_in_hours}};
    if (!json_is_object(obj))
        return sy_err_set(err, -EINVAL, "", "an experiment is a JSON object");
    int rc = sy_schema_read(&sy_exp_def_schema, obj, &w, "", err);
    if (rc < 0)
        return rc;
    snprintf(d->key, sizeof(d->key), "%s", w.key);
    snprintf(d->flag, sizeof(d->flag), "%s", w.flag ? w.flag : w.key);
    if ((rc = read_variants(w.variants, d, err)) < 0)
        return rc;
    if (w.metric && strcmp(w.metric, "mean") == 0)
        d->metric = SY_METRIC_MEAN;
    else if (w.metric && strcmp(w.metric, "conversion") != 0)
        return sy_err_set(err, -EINVAL, "metric", "metric is \"conversion\" or \"mean\"");
    if ((rc = read_guardrails(w.guardrails, d, err)) < 0 ||
        (rc = promotion_of(&w.safety, &d->safety, err)) < 0 ||
        (rc = read_allocation(&w.allocation, d, err)) < 0 || (rc = read_bandit(&w, d, err)) < 0)
        return rc;
    d->safety_set = bits(w.safety.given, SY_EXP_SAFETY_N);
    if (w.health.min_events != (double)(int64_t)w.health.min_events)
        return sy_err_set(err, -EINVAL, "health.min_events", "min_events is %s",
                          health_fields[4].says);
    d->health = w.health.h;
    d->health_min_events = (int64_t)w.health.min_events;
    d->record_exposures = w.record_exposures;
    d->cuped = w.cuped.enabled;
    if ((rc = read_cuped(&w.cuped, d, err)) < 0)
        return rc;
    if (w.description) {
        const char *s = json_string_value(w.description);
        size_t n = s ? json_string_length(w.description) : 0;
        if (!s || n > SY_EXP_DESCRIPTION_MAX || strlen(s) != n)
            return sy_err_set(err, -EINVAL, "description",
                              "description is a string of at most %d bytes",
                              SY_EXP_DESCRIPTION_MAX);
        memcpy(d->description, s, n + 1);
        d->has_description = true;
    }
    if (w.has_layer && (rc = read_layer(&w.layer, d, err)) < 0)
        return rc;
    return 0;
}

int sy_exp_def_read(const json_t *obj, sy_exp_def_t *out, sy_err_t *err)
{
    int rc = read_def(obj, out, err);
    if (rc < 0)
        sy_exp_def_clear(out);
    return rc;
}

int sy_exp_def_patch(const sy_exp_def_t *cur, const json_t *patch, sy_exp_def_t *out, sy_err_t *err)
{
    if (!json_is_object(patch))
        return sy_err_set(err, -EINVAL, "", "a patch is a JSON object (RFC 7386 merge patch)");
    /* Merged into what it was given (the stored form): a safety field set to null is its
     * own no more, and follows the server-wide default again. */
    json_t *was = sy_exp_def_json(cur);
    json_t *merged = was ? sy_json_merge_patch(was, patch) : NULL;
    int rc =
        merged ? sy_exp_def_read(merged, out, err) : sy_err_set(err, -ENOMEM, "", "out of memory");
    json_decref(was);
    json_decref(merged);
    return rc;
}

int sy_exp_defaults_read(const json_t *safety, sy_exp_defaults_t *out, sy_err_t *err)
{
    struct safety_wire w = {.v = SY_EXP_DEFAULTS};
    sy_exp_defaults_t d;
    int rc = safety ? sy_schema_read(&safety_schema, safety, &w, "safety", err) : 0;
    if (rc < 0 || (rc = promotion_of(&w, &d, err)) < 0)
        return rc;
    sy_err_t e2 = {0};
    if ((rc = sy_safety_check(&d.safety, &e2)) < 0) {
        char f[64];
        snprintf(f, sizeof(f), "safety.%.50s", e2.field);
        return sy_err_set(err, rc, f, "%s", e2.msg);
    }
    *out = d;
    return 0;
}

/* ---- writing --------------------------------------------------------------------------- */

/* The settings of `s` that `mask` names (bits SY_EXP_SAFETY_*); with `effective`, the lift
 * power is planned for as the results use it. A derived tau (0) is no member. */
static json_t *safety_json(const sy_exp_defaults_t *s, unsigned mask, bool effective)
{
    const sy_safety_t *k = &s->safety;
    double planned =
        k->planned_lift_pct > 0 || !effective ? k->planned_lift_pct : 2 * k->min_improvement_pct;
    json_t *v[SY_EXP_SAFETY_N] = {
        json_integer(k->min_sample_per_variant),
        json_real(k->min_confidence),
        json_real(k->min_improvement_pct),
        json_real(k->min_runtime_hours),
        json_real(k->max_error_rate),
        json_boolean(s->sequential),
        s->sequential_tau_squared > 0 ? json_real(s->sequential_tau_squared) : NULL,
        json_boolean(k->manual_approval),
        json_real(s->max_latency_increase_pct),
        json_real(planned),
        json_string(k->promotion == SY_PROMOTION_FULL ? "full" : "steps")};
    json_t *o = json_object();
    bool ok = o != NULL;
    for (unsigned i = 0; i < SY_EXP_SAFETY_N; i++) {
        if ((mask & (1u << i)) && v[i])
            ok = ok && json_object_set(o, safety_names[i], v[i]) == 0;
        else if (!v[i] && i != SY_EXP_SAFETY_TAU)
            ok = false;
        json_decref(v[i]);
    }
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *health_json(const sy_exp_def_t *d)
{
    const sy_health_thresholds_t *h = &d->health;
    json_t *o =
        json_pack("{sfsfsfsIsf}", "success_rate_drop", h->success_rate_drop, "error_rate_increase",
                  h->error_rate_increase, "retry_rate_increase", h->retry_rate_increase,
                  "min_events", (json_int_t)d->health_min_events, "confidence", h->confidence);
    if (o && h->has_max_p95 && json_object_set_new(o, "max_p95_ms", json_real(h->max_p95_ms)) < 0)
        o = (json_decref(o), NULL);
    return o;
}

/* Only the guardrails it sets: the others follow its workspace's. */
static json_t *allocation_json(const sy_exp_def_t *d)
{
    const sy_guardrails_t *g = &d->allocation;
    json_t *o = json_object();
    bool ok = o != NULL;
    if (d->allocation_set & SY_EXP_ALLOC_MIN_CONFIDENCE)
        ok &= json_object_set_new(o, "min_confidence", json_real(g->min_confidence)) == 0;
    if (d->allocation_set & SY_EXP_ALLOC_MAX_STEP)
        ok &= json_object_set_new(o, "max_step_pct", json_integer(g->max_step_pct)) == 0;
    if (d->allocation_set & SY_EXP_ALLOC_COOLDOWN)
        ok &= json_object_set_new(o, "cooldown_hours", json_real(g->cooldown_hours)) == 0;
    if (d->allocation_set & SY_EXP_ALLOC_MAX_CHANGES)
        ok &= json_object_set_new(o, "max_changes_per_day", json_integer(g->max_changes_per_day)) ==
              0;
    if (!ok)
        o = (json_decref(o), NULL);
    return o;
}

/* {name, pct, range}: the range null until the engine assigns one. */
static json_t *layer_json(const sy_exp_def_t *d)
{
    json_t *range = d->layer_range[1] > d->layer_range[0]
                        ? json_pack("[ff]", (double)d->layer_range[0] / 100.0,
                                    (double)d->layer_range[1] / 100.0)
                        : json_null();
    return json_pack("{sssfso}", "name", d->layer, "pct", (double)d->layer_pct_bp / 100.0, "range",
                     range);
}

/* The definition with "safety" as `safety` (taken). json_*_set_new and _append_new take a
 * NULL value or container as a failure and release what they were given. */
static json_t *def_json(const sy_exp_def_t *d, json_t *safety)
{
    json_t *vs = json_array();
    bool ok = vs != NULL;
    for (size_t i = 0; i < d->n_variants; i++)
        ok &= json_array_append_new(vs, json_pack("{sssIsb}", "key", d->variants[i].key, "weight",
                                                  (json_int_t)d->variants[i].weight, "control",
                                                  d->variants[i].control)) == 0;
    json_t *guards = d->latency_guardrail ? json_pack("[ss]", "error_rate", "latency")
                                          : json_pack("[s]", "error_rate");
    if (!ok || !safety || !guards) {
        json_decref(vs);
        json_decref(safety);
        json_decref(guards);
        return NULL;
    }
    json_t *o =
        json_pack("{sssssssososbso}", "key", d->key, "flag", d->flag[0] ? d->flag : d->key,
                  "metric", d->metric == SY_METRIC_MEAN ? "mean" : "conversion", "variants", vs,
                  "safety", safety, "record_exposures", d->record_exposures, "guardrails", guards);
    ok = o != NULL;
    if (ok && d->has_description)
        ok &= json_object_set_new(o, "description", json_string(d->description)) == 0;
    ok = ok && json_object_set_new(o, "health", health_json(d)) == 0;
    ok = ok && json_object_set_new(o, "allocation", allocation_json(d)) == 0;
    if (ok && d->bandit.on)
        ok &= json_object_set_new(o, "bandit",
                                  json_pack("{sIsIsf}", "update_minutes",
                                            (json_int_t)d->bandit.update_minutes, "min_weight_pct",
                                            (json_int_t)d->bandit.min_weight_pct, "burn_in_hours",
                                            d->bandit.burn_in_hours)) == 0;
    if (ok && d->layer[0])
        ok = json_object_set_new(o, "layer", layer_json(d)) == 0;
    /* only when on: the stored form of an experiment without it is as it always was */
    if (ok && d->cuped) {
        json_t *c = d->cuped_kpi_domain[0]
                        ? json_pack("{sbs{ssss}sI}", "enabled", 1, "kpi", "domain",
                                    d->cuped_kpi_domain, "metric", d->cuped_kpi_metric,
                                    "lookback_days", (json_int_t)d->cuped_lookback_days)
                        : json_pack("{sb}", "enabled", 1);
        ok &= json_object_set_new(o, "cuped", c) == 0;
    }
    if (!ok)
        o = (json_decref(o), NULL);
    return o;
}

json_t *sy_exp_def_json(const sy_exp_def_t *d)
{
    return def_json(d, safety_json(&d->safety, d->safety_set, false));
}

static json_t *null_or_int(int64_t v)
{
    return v ? json_integer(v) : json_null();
}

json_t *sy_experiment_json(const sy_experiment_t *x)
{
    const sy_exp_def_t *d = &x->def;
    json_t *o = sy_exp_def_json(d);
    if (!o)
        return NULL;
    /* the settings in force, and which of them are the server's */
    json_t *inherited = json_array();
    for (unsigned i = 0; inherited && i < SY_EXP_SAFETY_N; i++)
        if (!(d->safety_set & (1u << i)) &&
            (i != SY_EXP_SAFETY_TAU || d->safety.sequential_tau_squared > 0) &&
            json_array_append_new(inherited, json_string(safety_names[i])) < 0) {
            json_decref(inherited);
            inherited = NULL;
        }
    /* json_object_set_new takes its value even when it fails: `inherited` first, so that
     * a failure of the other never leaves it behind */
    if (json_object_set_new(o, "safety_inherited", inherited) < 0 ||
        json_object_set_new(o, "safety", safety_json(&d->safety, ~0u, true)) < 0) {
        json_decref(o);
        return NULL;
    }
    json_t *w = json_object();
    for (size_t i = 0; w && i < d->n_variants; i++)
        if (json_object_set_new(w, d->variants[i].key, json_integer(x->weights[i])) < 0)
            w = (json_decref(w), NULL);
    if (json_object_update_new(o, json_pack("{sosssIsoso}", "weights", w, "state", x->state,
                                            "created_ms", (json_int_t)x->created_ms, "started_ms",
                                            null_or_int(x->started_ms), "stopped_ms",
                                            null_or_int(x->stopped_ms))) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *sy_experiments_json(const sy_experiment_t *xs, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, sy_experiment_json(&xs[i])) < 0)
            a = (json_decref(a), NULL);
    return a ? json_pack("{so}", "experiments", a) : NULL;
}
