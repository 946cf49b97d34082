/* definition.c - an experiment's definition: every field checked and named when it is
 * wrong, the defaults filled in, weights scaled to percentage points, and the normalized
 * form the store keeps and the API shows; see engine.h ("experiments") and docs/api.md.
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/experiment_int.h"

#define DESCRIPTION_MAX 1000

/* ---- definitions ----------------------------------------------------------------------- */

static int get_number(const json_t *o, const char *k, double lo, double hi, double *out,
                      const char *field, sy_err_t *err)
{
    const json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    double d = json_number_value(v);
    if (!json_is_number(v) || !(d >= lo && d <= hi))
        return sy_err_set(err, -EINVAL, field, "%s must be a number from %g to %g", k, lo, hi);
    *out = d;
    return 0;
}

static int get_bool(const json_t *o, const char *k, bool *out, const char *field, sy_err_t *err)
{
    const json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return sy_err_set(err, -EINVAL, field, "%s must be true or false", k);
    *out = json_is_true(v);
    return 0;
}

/* The fields of a definition's "safety", in the order of their bits in e->safety_set. */
static const char *const safety_fields[] = {"min_sample_per_variant",
                                            "min_confidence",
                                            "min_improvement_pct",
                                            "min_runtime_hours",
                                            "max_error_rate",
                                            "sequential",
                                            "sequential_tau_squared",
                                            "require_manual_approval",
                                            "max_latency_increase_pct",
                                            "planned_lift_pct",
                                            "promotion",
                                            NULL};
enum { SAFETY_TAU = 6 }; /* sequential_tau_squared: absent while derived (0) */

/* The fields it does not set follow `base` (the server-wide defaults). */
static int parse_safety(const json_t *s, struct experiment *e, const sy_exp_defaults_t *base,
                        sy_err_t *err)
{
    e->safety = base->safety;
    e->sequential = base->sequential;
    e->tau_squared = base->sequential_tau_squared;
    e->max_latency_increase_pct = base->max_latency_increase_pct;
    e->safety_set = 0;
    if (!s)
        return 0;
    if (!json_is_object(s))
        return sy_err_set(err, -EINVAL, "safety", "safety must be an object");
    int rc = sy_eng_only_fields(s, safety_fields, "safety", err);
    if (rc < 0)
        return rc;
    const json_t *n = json_object_get(s, "min_sample_per_variant");
    if (n && (!json_is_integer(n) || json_integer_value(n) < 1 ||
              json_integer_value(n) > (json_int_t)1e12))
        return sy_err_set(err, -EINVAL, "safety.min_sample_per_variant",
                          "min_sample_per_variant must be an integer from 1 to 1e12");
    if (n)
        e->safety.min_sample_per_variant = json_integer_value(n);
    sy_safety_t *k = &e->safety;
    if ((rc = get_number(s, "min_confidence", 0, 1, &k->min_confidence, "safety.min_confidence",
                         err)) < 0 ||
        (rc = get_number(s, "min_improvement_pct", 0, 1e6, &k->min_improvement_pct,
                         "safety.min_improvement_pct", err)) < 0 ||
        (rc = get_number(s, "planned_lift_pct", 0, 1e6, &k->planned_lift_pct,
                         "safety.planned_lift_pct", err)) < 0 ||
        (rc = get_number(s, "min_runtime_hours", 0, 87840, &k->min_runtime_hours,
                         "safety.min_runtime_hours", err)) < 0 ||
        (rc = get_number(s, "max_error_rate", 0, 1, &k->max_error_rate, "safety.max_error_rate",
                         err)) < 0 ||
        (rc = get_number(s, "sequential_tau_squared", 1e-300, 1e300, &e->tau_squared,
                         "safety.sequential_tau_squared", err)) < 0 ||
        (rc = get_number(s, "max_latency_increase_pct", 0, 1e4, &e->max_latency_increase_pct,
                         "safety.max_latency_increase_pct", err)) < 0 ||
        (rc = get_bool(s, "sequential", &e->sequential, "safety.sequential", err)) < 0 ||
        (rc = get_bool(s, "require_manual_approval", &k->manual_approval,
                       "safety.require_manual_approval", err)) < 0)
        return rc;
    /* beside require_manual_approval: both say what the auto-promotion check does with a
     * winner, and the auto-promotion specification keeps its settings together */
    const json_t *mode = json_object_get(s, "promotion");
    const char *m = mode ? json_string_value(mode) : "steps";
    if (m && strcmp(m, "steps") == 0)
        k->promotion = SY_PROMOTION_STEPS;
    else if (m && strcmp(m, "full") == 0)
        k->promotion = SY_PROMOTION_FULL;
    else
        return sy_err_set(err, -EINVAL, "safety.promotion",
                          "promotion is \"steps\" (guarded steps) or \"full\" (to 100 %% at once)");
    sy_err_t e2 = {0};
    if ((rc = sy_safety_check(k, &e2)) < 0) {
        char f[64];
        snprintf(f, sizeof(f), "safety.%.50s", e2.field);
        return sy_err_set(err, rc, f, "%s", e2.msg);
    }
    for (unsigned i = 0; safety_fields[i]; i++)
        if (json_object_get(s, safety_fields[i]))
            e->safety_set |= 1u << i;
    return 0;
}

/* `e`'s safety settings: those of `mask` (bits as safety_fields), as they are; with
 * `effective`, the lift power is planned for as the results use it. */
static json_t *safety_json(const struct experiment *e, unsigned mask, bool effective)
{
    const sy_safety_t *k = &e->safety;
    double planned =
        k->planned_lift_pct > 0 || !effective ? k->planned_lift_pct : 2 * k->min_improvement_pct;
    json_t *v[] = {json_integer(k->min_sample_per_variant),
                   json_real(k->min_confidence),
                   json_real(k->min_improvement_pct),
                   json_real(k->min_runtime_hours),
                   json_real(k->max_error_rate),
                   json_boolean(e->sequential),
                   e->tau_squared > 0 ? json_real(e->tau_squared) : NULL,
                   json_boolean(k->manual_approval),
                   json_real(e->max_latency_increase_pct),
                   json_real(planned),
                   json_string(k->promotion == SY_PROMOTION_FULL ? "full" : "steps")};
    json_t *o = json_object();
    bool ok = o != NULL;
    for (unsigned i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        if ((mask & (1u << i)) && v[i])
            ok = ok && json_object_set(o, safety_fields[i], v[i]) == 0;
        else if (!v[i] && i != SAFETY_TAU)
            ok = false;
        json_decref(v[i]);
    }
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int sy_exp_defaults_parse(const json_t *safety, sy_exp_defaults_t *out, sy_err_t *err)
{
    struct experiment e = {0};
    sy_exp_defaults_t spec = SY_EXP_DEFAULTS;
    int rc = parse_safety(safety, &e, &spec, err);
    if (rc < 0)
        return rc;
    *out = (sy_exp_defaults_t){.safety = e.safety,
                               .sequential = e.sequential,
                               .sequential_tau_squared = e.tau_squared,
                               .max_latency_increase_pct = e.max_latency_increase_pct};
    return 0;
}

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

/* The guardrails of allocation steps: the specification's defaults, overridden field by
 * field by the definition's "allocation". */
static int parse_allocation(const json_t *a, struct experiment *e, sy_err_t *err)
{
    e->guardrails = SY_GUARDRAILS_DEFAULTS;
    e->guardrails_set = 0;
    if (!a)
        return 0;
    if (!json_is_object(a))
        return sy_err_set(err, -EINVAL, "allocation", "allocation must be an object");
    static const char *const fields[] = {"min_confidence", "max_step_pct", "cooldown_hours",
                                         "max_changes_per_day", NULL};
    int rc = sy_eng_only_fields(a, fields, "allocation", err);
    if (rc < 0)
        return rc;
    sy_guardrails_t *g = &e->guardrails;
    double step = (double)g->max_step_pct, changes = (double)g->max_changes_per_day;
    if ((rc = get_number(a, "min_confidence", 0, 1, &g->min_confidence, "allocation.min_confidence",
                         err)) < 0 ||
        (rc = get_number(a, "max_step_pct", 1, 100, &step, "allocation.max_step_pct", err)) < 0 ||
        (rc = get_number(a, "cooldown_hours", 0, 8784, &g->cooldown_hours,
                         "allocation.cooldown_hours", err)) < 0 ||
        (rc = get_number(a, "max_changes_per_day", 1, 1000, &changes,
                         "allocation.max_changes_per_day", err)) < 0)
        return rc;
    if (step != (double)(int64_t)step || changes != (double)(int64_t)changes)
        return sy_err_set(err, -EINVAL,
                          step != (double)(int64_t)step ? "allocation.max_step_pct"
                                                        : "allocation.max_changes_per_day",
                          "must be a whole number");
    g->max_step_pct = (int64_t)step;
    g->max_changes_per_day = (int64_t)changes;
    static const char *const names[] = {"min_confidence", "max_step_pct", "cooldown_hours",
                                        "max_changes_per_day"};
    for (unsigned i = 0; i < 4; i++)
        if (json_object_get(a, names[i]))
            e->guardrails_set |= 1u << i;
    sy_err_t e2 = {0};
    if ((rc = sy_guardrails_check(g, &e2)) < 0) {
        char f[64];
        snprintf(f, sizeof(f), "allocation.%.50s", e2.field);
        return sy_err_set(err, rc, f, "%s", e2.msg);
    }
    return 0;
}

/* The health monitor's thresholds: the specification's defaults (a drop of the success rate
 * past 5 points, a rise of the error rate past 3), a p95 limit if given, and how many
 * samples a window needs before it is judged. */
static int parse_health(const json_t *h, struct experiment *e, sy_err_t *err)
{
    e->health = SY_HEALTH_THRESHOLDS_DEFAULTS;
    e->health_min_events = 1000; /* a 5-point drop is then 4 to 7 sds: noise does not roll back */
    e->watched = -1;
    if (!h)
        return 0;
    if (!json_is_object(h))
        return sy_err_set(err, -EINVAL, "health", "health must be an object");
    static const char *const fields[] = {"success_rate_drop",
                                         "error_rate_increase",
                                         "retry_rate_increase",
                                         "max_p95_ms",
                                         "min_events",
                                         "confidence",
                                         NULL};
    int rc = sy_eng_only_fields(h, fields, "health", err);
    if (rc < 0)
        return rc;
    double p95 = 0, min = (double)e->health_min_events;
    if ((rc = get_number(h, "success_rate_drop", 0, 1, &e->health.success_rate_drop,
                         "health.success_rate_drop", err)) < 0 ||
        (rc = get_number(h, "error_rate_increase", 0, 1, &e->health.error_rate_increase,
                         "health.error_rate_increase", err)) < 0 ||
        (rc = get_number(h, "retry_rate_increase", 0, 1, &e->health.retry_rate_increase,
                         "health.retry_rate_increase", err)) < 0 ||
        (rc = get_number(h, "max_p95_ms", 1e-3, 1e7, &p95, "health.max_p95_ms", err)) < 0 ||
        (rc = get_number(h, "min_events", 1, 1e9, &min, "health.min_events", err)) < 0 ||
        (rc = get_number(h, "confidence", 0, 0.999999, &e->health.confidence, "health.confidence",
                         err)) < 0)
        return rc;
    if (min != (double)(int64_t)min)
        return sy_err_set(err, -EINVAL, "health.min_events", "must be a whole number");
    e->health_min_events = (int64_t)min;
    e->health.has_max_p95 = json_object_get(h, "max_p95_ms") != NULL;
    e->health.max_p95_ms = p95;
    return 0;
}

static int parse_variants(const json_t *vs, struct experiment *e, json_t *values, bool stored,
                          sy_err_t *err)
{
    if (!json_is_array(vs) || json_array_size(vs) < 2 || json_array_size(vs) > SY_EXP_MAX_ARMS)
        return sy_err_set(err, -EINVAL, "variants", "variants must be an array of 2 to %d variants",
                          SY_EXP_MAX_ARMS);
    static const char *const fields[] = {"key", "weight", "control", "value", NULL};
    if (!e->arms && !(e->arms = calloc(json_array_size(vs), sizeof(*e->arms))))
        return sy_eng_oom(err);
    size_t controls = 0;
    int64_t treatment_weight = 0;
    char at[32];
    for (size_t i = 0; i < json_array_size(vs); i++) {
        const json_t *v = json_array_get(vs, i);
        snprintf(at, sizeof(at), "variants[%zu]", i);
        if (!json_is_object(v))
            return sy_err_set(err, -EINVAL, at, "a variant is an object {key, weight, control?}");
        int rc = sy_eng_only_fields(v, fields, at, err);
        if (rc < 0)
            return rc;
        const json_t *key = json_object_get(v, "key"), *w = json_object_get(v, "weight");
        bool control = false;
        char f[48];
        snprintf(f, sizeof(f), "%s.key", at);
        if (!json_is_string(key) || !sy_eng_valid_name(json_string_value(key), VARIANT_MAX))
            return sy_err_set(err, -EINVAL, f,
                              "a variant key is 1 to %d bytes, no control characters", VARIANT_MAX);
        for (size_t j = 0; j < i; j++)
            if (strcmp(e->arms[j].key, json_string_value(key)) == 0)
                return sy_err_set(err, -EINVAL, f, "variant \"%s\" is listed twice",
                                  json_string_value(key));
        snprintf(f, sizeof(f), "%s.weight", at);
        if (!json_is_integer(w) || json_integer_value(w) < 0 || json_integer_value(w) > 1000000)
            return sy_err_set(err, -EINVAL, f, "a weight is an integer from 0 to 1000000");
        snprintf(f, sizeof(f), "%s.control", at);
        if ((rc = get_bool(v, "control", &control, f, err)) < 0)
            return rc;
        struct arm *a = &e->arms[i];
        snprintf(a->key, sizeof(a->key), "%s", json_string_value(key));
        a->weight = json_integer_value(w);
        a->defined_weight = a->weight;
        a->a.seq_p = 1;
        if (control) {
            e->control = i;
            controls++;
        } else {
            treatment_weight += a->weight;
        }
        if (values)
            json_object_set(
                values, a->key,
                (json_t *)(json_object_get(v, "value") ? json_object_get(v, "value") : key));
    }
    e->n_arms = json_array_size(vs);
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

int sy_exp_parse_def(const json_t *def, struct experiment *e, json_t *values, bool stored,
                     const sy_exp_defaults_t *base, sy_err_t *err)
{
    if (!json_is_object(def))
        return sy_err_set(err, -EINVAL, "", "an experiment is a JSON object");
    static const char *const fields[] = {"key",         "flag",   "variants",   "metric",
                                         "guardrails",  "safety", "allocation", "record_exposures",
                                         "description", "health", NULL};
    int rc = sy_eng_only_fields(def, fields, "", err);
    if (rc < 0)
        return rc;
    const json_t *key = json_object_get(def, "key"), *flag = json_object_get(def, "flag");
    if (!json_is_string(key) || !sy_eng_valid_name(json_string_value(key), KEY_MAX))
        return sy_err_set(err, -EINVAL, "key",
                          "key is a string of 1 to %d bytes, no control characters", KEY_MAX);
    if (flag && (!json_is_string(flag) || !sy_eng_valid_name(json_string_value(flag), KEY_MAX)))
        return sy_err_set(err, -EINVAL, "flag",
                          "flag is a flag key of 1 to %d bytes, no control characters", KEY_MAX);
    snprintf(e->key, sizeof(e->key), "%s", json_string_value(key));
    snprintf(e->flag, sizeof(e->flag), "%s", json_string_value(flag ? flag : key));
    if ((rc = parse_variants(json_object_get(def, "variants"), e, values, stored, err)) < 0)
        return rc;
    const json_t *m = json_object_get(def, "metric");
    const char *metric = m ? json_string_value(m) : "conversion";
    if (metric && strcmp(metric, "conversion") == 0)
        e->metric = SY_METRIC_CONVERSION;
    else if (metric && strcmp(metric, "mean") == 0)
        e->metric = SY_METRIC_MEAN;
    else
        return sy_err_set(err, -EINVAL, "metric", "metric is \"conversion\" or \"mean\"");
    const json_t *g = json_object_get(def, "guardrails");
    if (g && !json_is_array(g))
        return sy_err_set(err, -EINVAL, "guardrails", "guardrails is an array of metric names");
    for (size_t i = 0; i < json_array_size(g); i++) {
        const char *name = json_string_value(json_array_get(g, i));
        char f[48];
        snprintf(f, sizeof(f), "guardrails[%zu]", i);
        if (name && strcmp(name, "latency") == 0)
            e->latency_guardrail = true;
        else if (!name || strcmp(name, "error_rate") != 0)
            return sy_err_set(err, -EINVAL, f, "a guardrail is \"error_rate\" or \"latency\"");
    }
    if ((rc = parse_safety(json_object_get(def, "safety"), e, base, err)) < 0 ||
        (rc = parse_allocation(json_object_get(def, "allocation"), e, err)) < 0 ||
        (rc = parse_health(json_object_get(def, "health"), e, err)) < 0 ||
        (rc = get_bool(def, "record_exposures", &e->record_exposures, "record_exposures", err)) < 0)
        return rc;
    const json_t *d = json_object_get(def, "description");
    if (d && (!json_is_string(d) || strlen(json_string_value(d)) > DESCRIPTION_MAX))
        return sy_err_set(err, -EINVAL, "description",
                          "description is a string of at most %d bytes", DESCRIPTION_MAX);

    /* Every piece is checked (ok): a definition missing one because memory ran out is
     * refused, never stored or answered. json_*_set_new and _append_new take a NULL value
     * or container as a failure and release what they were given. */
    bool ok = true;
    json_t *vs = json_array();
    for (size_t i = 0; i < e->n_arms; i++)
        ok &= json_array_append_new(vs, json_pack("{sssIsb}", "key", e->arms[i].key, "weight",
                                                  (json_int_t)e->arms[i].weight, "control",
                                                  i == e->control)) == 0;
    /* only the settings it gives: the others follow the server-wide defaults */
    json_t *safety = safety_json(e, e->safety_set, false);
    json_t *guards = e->latency_guardrail ? json_pack("[ss]", "error_rate", "latency")
                                          : json_pack("[s]", "error_rate");
    ok &= vs && safety && guards;
    e->def = json_pack("{sssssssososbso}", "key", e->key, "flag", e->flag, "metric", metric,
                       "variants", vs, "safety", safety, "record_exposures", e->record_exposures,
                       "guardrails", guards);
    if (d)
        ok &= json_object_set(e->def, "description", (json_t *)d) == 0;
    json_t *health = json_pack(
        "{sfsfsfsIsf}", "success_rate_drop", e->health.success_rate_drop, "error_rate_increase",
        e->health.error_rate_increase, "retry_rate_increase", e->health.retry_rate_increase,
        "min_events", (json_int_t)e->health_min_events, "confidence", e->health.confidence);
    json_incref(health);
    if (e->health.has_max_p95)
        ok &= json_object_set_new(health, "max_p95_ms", json_real(e->health.max_p95_ms)) == 0;
    json_decref(health);
    ok &= json_object_set_new(e->def, "health", health) == 0;
    /* only the guardrails it sets: the others follow its workspace's */
    json_t *own = json_object();
    json_incref(own);
    const sy_guardrails_t *gr = &e->guardrails;
    if (e->guardrails_set & GUARD_CONFIDENCE)
        ok &= json_object_set_new(own, "min_confidence", json_real(gr->min_confidence)) == 0;
    if (e->guardrails_set & GUARD_STEP)
        ok &= json_object_set_new(own, "max_step_pct", json_integer(gr->max_step_pct)) == 0;
    if (e->guardrails_set & GUARD_COOLDOWN)
        ok &= json_object_set_new(own, "cooldown_hours", json_real(gr->cooldown_hours)) == 0;
    if (e->guardrails_set & GUARD_CHANGES)
        ok &= json_object_set_new(own, "max_changes_per_day",
                                  json_integer(gr->max_changes_per_day)) == 0;
    json_decref(own);
    ok &= json_object_set_new(e->def, "allocation", own) == 0;
    if (!ok || !e->def) {
        json_decref(e->def);
        e->def = NULL;
        return sy_eng_oom(err);
    }
    return 0;
}

int sy_engine_exp_defaults_parse(const json_t *safety, sy_exp_defaults_t *out, sy_err_t *err)
{
    return sy_exp_defaults_parse(safety, out, err);
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
    return old;
}

static json_t *null_or_int(int64_t v)
{
    return v ? json_integer(v) : json_null();
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

json_t *sy_exp_to_json(const struct experiment *e)
{
    json_t *o = json_deep_copy(e->def);
    if (!o)
        return NULL;
    /* the settings in force, and which of them are the server's */
    json_t *inherited = json_array();
    for (unsigned i = 0; inherited && safety_fields[i]; i++)
        if (!(e->safety_set & (1u << i)) && (i != SAFETY_TAU || e->tau_squared > 0) &&
            json_array_append_new(inherited, json_string(safety_fields[i])) < 0) {
            json_decref(inherited);
            inherited = NULL;
        }
    /* json_object_set_new takes its value even when it fails: `inherited` first, so that
     * a failure of the other never leaves it behind */
    if (json_object_set_new(o, "safety_inherited", inherited) < 0 ||
        json_object_set_new(o, "safety", safety_json(e, ~0u, true)) < 0) {
        json_decref(o);
        return NULL;
    }
    if (json_object_update_new(o, json_pack("{sosssIsoso}", "weights", sy_exp_weights_json(e),
                                            "state", sy_exp_state_name(e->state), "created_ms",
                                            (json_int_t)e->created_ms, "started_ms",
                                            null_or_int(e->started_ms), "stopped_ms",
                                            null_or_int(e->stopped_ms))) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}
