/* experiment.c - experiments: definitions, the life cycle over a flag's split, and the
 * results; see engine.h ("experiments"), experiment_int.h and docs/api.md.
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/experiment_int.h"

#define DESCRIPTION_MAX 1000

static const char *const state_names[] = {"draft",     "running",  "stopped",    "terminated",
                                          "promoting", "promoted", "rolled_back"};

const char *sy_exp_state_name(enum state s)
{
    return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

bool sy_exp_is_active(enum state s)
{
    return s == RUNNING || s == PROMOTING || s == PROMOTED || s == ROLLED_BACK;
}

/* ---- experiments ------------------------------------------------------------------------ */

static void experiment_free(struct experiment *e)
{
    if (!e)
        return;
    json_decref(e->def);
    json_decref(e->flag_before);
    sy_exp_units_free(&e->units);
    free(e->changes);
    free(e);
}

struct experiment *sy_exp_find(const sy_engine_t *eng, int64_t ws, const char *key, size_t len)
{
    const struct sy_experiments *x = eng->x;
    for (size_t i = 0; i < x->n; i++) {
        struct experiment *e = x->all[i];
        if (e->ws == ws && strlen(e->key) == len && memcmp(e->key, key, len) == 0)
            return e;
    }
    return NULL;
}

struct experiment *sy_exp_find_by_id(const sy_engine_t *eng, int64_t id)
{
    for (size_t i = 0; i < eng->x->n; i++)
        if (eng->x->all[i]->id == id)
            return eng->x->all[i];
    return NULL;
}

struct experiment *sy_exp_on_flag(const sy_engine_t *eng, int64_t ws, const char *flag, size_t len,
                                  bool active_only)
{
    const struct sy_experiments *x = eng->x;
    for (size_t i = 0; i < x->n; i++) {
        struct experiment *e = x->all[i];
        if (e->ws == ws && (sy_exp_is_active(e->state) || (!active_only && e->state == DRAFT)) &&
            strlen(e->flag) == len && memcmp(e->flag, flag, len) == 0)
            return e;
    }
    return NULL;
}

bool sy_eng_flag_is_driven(const sy_engine_t *eng, int64_t ws, const char *key)
{
    return eng->x && sy_exp_on_flag(eng, ws, key, strlen(key), true) != NULL;
}

int sy_eng_flagset_keeps_driven(const sy_engine_t *eng, int64_t ws, const json_t *flags,
                                sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws((sy_engine_t *)eng, ws);
    for (size_t i = 0; w && i < eng->x->n; i++) {
        const struct experiment *e = eng->x->all[i];
        if (e->ws != ws || !sy_exp_is_active(e->state))
            continue;
        const json_t *now = json_object_get(json_object_get(w->doc, "flags"), e->flag);
        if (!json_equal(now, json_object_get(flags, e->flag)))
            return sy_err_set(err, SY_ECONFLICT, "flags",
                              "flag \"%.64s\" is driven by running experiment \"%.64s\": the "
                              "import must keep it as it is",
                              e->flag, e->key);
    }
    return 0;
}

static int64_t runtime_end(const sy_engine_t *eng, const struct experiment *e)
{
    return sy_exp_is_active(e->state) ? sy_engine_now_ms(eng) : e->stopped_ms;
}

static double runtime_hours(const sy_engine_t *eng, const struct experiment *e)
{
    if (e->state == DRAFT || !e->started_ms)
        return 0;
    double h = (double)(runtime_end(eng, e) - e->started_ms) / 3.6e6;
    return h > 0 ? h : 0;
}

int sy_exp_arm_index(const struct experiment *e, const char *key, size_t len)
{
    for (size_t i = 0; i < e->n_arms; i++)
        if (strlen(e->arms[i].key) == len && memcmp(e->arms[i].key, key, len) == 0)
            return (int)i;
    return -1;
}

/* ---- definitions ----------------------------------------------------------------------- */

/* Refuses any key of `o` not in the NULL-terminated `allowed`, naming it under `at`. */
static int only(const json_t *o, const char *const *allowed, const char *at, sy_err_t *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], k) != 0)
            i++;
        if (!allowed[i]) {
            char f[64];
            snprintf(f, sizeof(f), "%s%s%.40s", at, *at ? "." : "", k);
            return sy_err_set(err, -EINVAL, f, "unknown field \"%.64s\"", k);
        }
    }
    return 0;
}

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

static int parse_safety(const json_t *s, struct experiment *e, sy_err_t *err)
{
    e->safety = SY_SAFETY_DEFAULTS;
    e->max_latency_increase_pct = 10;
    if (!s)
        return 0;
    if (!json_is_object(s))
        return sy_err_set(err, -EINVAL, "safety", "safety must be an object");
    static const char *const fields[] = {"min_sample_per_variant",   "min_confidence",
                                         "min_improvement_pct",      "min_runtime_hours",
                                         "max_error_rate",           "sequential",
                                         "sequential_tau_squared",   "require_manual_approval",
                                         "max_latency_increase_pct", NULL};
    int rc = only(s, fields, "safety", err);
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
    sy_err_t e2 = {0};
    if ((rc = sy_safety_check(k, &e2)) < 0) {
        char f[64];
        snprintf(f, sizeof(f), "safety.%.50s", e2.field);
        return sy_err_set(err, rc, f, "%s", e2.msg);
    }
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
    int rc = only(a, fields, "allocation", err);
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
    static const char *const fields[] = {"success_rate_drop", "error_rate_increase", "max_p95_ms",
                                         "min_events", NULL};
    int rc = only(h, fields, "health", err);
    if (rc < 0)
        return rc;
    double p95 = 0, min = (double)e->health_min_events;
    if ((rc = get_number(h, "success_rate_drop", 0, 1, &e->health.success_rate_drop,
                         "health.success_rate_drop", err)) < 0 ||
        (rc = get_number(h, "error_rate_increase", 0, 1, &e->health.error_rate_increase,
                         "health.error_rate_increase", err)) < 0 ||
        (rc = get_number(h, "max_p95_ms", 1e-3, 1e7, &p95, "health.max_p95_ms", err)) < 0 ||
        (rc = get_number(h, "min_events", 1, 1e9, &min, "health.min_events", err)) < 0)
        return rc;
    if (min != (double)(int64_t)min)
        return sy_err_set(err, -EINVAL, "health.min_events", "must be a whole number");
    e->health_min_events = (int64_t)min;
    e->health.has_max_p95 = json_object_get(h, "max_p95_ms") != NULL;
    e->health.max_p95_ms = p95;
    return 0;
}

static int parse_variants(const json_t *vs, struct experiment *e, json_t *values, sy_err_t *err)
{
    if (!json_is_array(vs) || json_array_size(vs) < 2 || json_array_size(vs) > SY_EXP_MAX_ARMS)
        return sy_err_set(err, -EINVAL, "variants", "variants must be an array of 2 to %d variants",
                          SY_EXP_MAX_ARMS);
    static const char *const fields[] = {"key", "weight", "control", "value", NULL};
    size_t controls = 0;
    int64_t treatment_weight = 0;
    char at[32];
    for (size_t i = 0; i < json_array_size(vs); i++) {
        const json_t *v = json_array_get(vs, i);
        snprintf(at, sizeof(at), "variants[%zu]", i);
        if (!json_is_object(v))
            return sy_err_set(err, -EINVAL, at, "a variant is an object {key, weight, control?}");
        int rc = only(v, fields, at, err);
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
    if (e->arms[e->control].weight == 0 || treatment_weight == 0)
        return sy_err_set(err, -EINVAL, "variants",
                          "the control and at least one treatment need a weight above 0");
    to_points(e);
    return 0;
}

/* Fills `e` from a definition and builds its normalized form (e->def). `values` (may be
 * NULL) receives each variant's flag value, for a flag the experiment creates. */
static int parse_def(const json_t *def, struct experiment *e, json_t *values, sy_err_t *err)
{
    if (!json_is_object(def))
        return sy_err_set(err, -EINVAL, "", "an experiment is a JSON object");
    static const char *const fields[] = {"key",         "flag",   "variants",   "metric",
                                         "guardrails",  "safety", "allocation", "record_exposures",
                                         "description", "health", NULL};
    int rc = only(def, fields, "", err);
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
    if ((rc = parse_variants(json_object_get(def, "variants"), e, values, err)) < 0)
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
    if ((rc = parse_safety(json_object_get(def, "safety"), e, err)) < 0 ||
        (rc = parse_allocation(json_object_get(def, "allocation"), e, err)) < 0 ||
        (rc = parse_health(json_object_get(def, "health"), e, err)) < 0 ||
        (rc = get_bool(def, "record_exposures", &e->record_exposures, "record_exposures", err)) < 0)
        return rc;
    const json_t *d = json_object_get(def, "description");
    if (d && (!json_is_string(d) || strlen(json_string_value(d)) > DESCRIPTION_MAX))
        return sy_err_set(err, -EINVAL, "description",
                          "description is a string of at most %d bytes", DESCRIPTION_MAX);

    json_t *vs = json_array();
    for (size_t i = 0; vs && i < e->n_arms; i++)
        json_array_append_new(vs,
                              json_pack("{sssIsb}", "key", e->arms[i].key, "weight",
                                        (json_int_t)e->arms[i].weight, "control", i == e->control));
    const sy_safety_t *k = &e->safety;
    json_t *safety = json_pack(
        "{sIsfsfsfsfsbsb}", "min_sample_per_variant", (json_int_t)k->min_sample_per_variant,
        "min_confidence", k->min_confidence, "min_improvement_pct", k->min_improvement_pct,
        "min_runtime_hours", k->min_runtime_hours, "max_error_rate", k->max_error_rate,
        "sequential", e->sequential, "require_manual_approval", k->manual_approval);
    if (safety && e->tau_squared > 0)
        json_object_set_new(safety, "sequential_tau_squared", json_real(e->tau_squared));
    if (safety)
        json_object_set_new(safety, "max_latency_increase_pct",
                            json_real(e->max_latency_increase_pct));
    json_t *guards = e->latency_guardrail ? json_pack("[ss]", "error_rate", "latency")
                                          : json_pack("[s]", "error_rate");
    e->def = json_pack("{sssssssososbso}", "key", e->key, "flag", e->flag, "metric", metric,
                       "variants", vs, "safety", safety, "record_exposures", e->record_exposures,
                       "guardrails", guards);
    if (e->def && d)
        json_object_set(e->def, "description", (json_t *)d);
    json_t *health = json_pack("{sfsfsI}", "success_rate_drop", e->health.success_rate_drop,
                               "error_rate_increase", e->health.error_rate_increase, "min_events",
                               (json_int_t)e->health_min_events);
    if (health && e->health.has_max_p95)
        json_object_set_new(health, "max_p95_ms", json_real(e->health.max_p95_ms));
    if (e->def)
        json_object_set_new(e->def, "health", health);
    else
        json_decref(health);
    /* only the guardrails it sets: the others follow its workspace's */
    json_t *own = json_object();
    const sy_guardrails_t *gr = &e->guardrails;
    if (own && (e->guardrails_set & GUARD_CONFIDENCE))
        json_object_set_new(own, "min_confidence", json_real(gr->min_confidence));
    if (own && (e->guardrails_set & GUARD_STEP))
        json_object_set_new(own, "max_step_pct", json_integer(gr->max_step_pct));
    if (own && (e->guardrails_set & GUARD_COOLDOWN))
        json_object_set_new(own, "cooldown_hours", json_real(gr->cooldown_hours));
    if (own && (e->guardrails_set & GUARD_CHANGES))
        json_object_set_new(own, "max_changes_per_day", json_integer(gr->max_changes_per_day));
    if (e->def)
        json_object_set_new(e->def, "allocation", own);
    else
        json_decref(own);
    return e->def ? 0 : sy_eng_oom(err);
}

static json_t *null_or_int(int64_t v)
{
    return v ? json_integer(v) : json_null();
}

json_t *sy_exp_weights_json(const struct experiment *e)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < e->n_arms; i++)
        json_object_set_new(o, e->arms[i].key, json_integer(e->arms[i].weight));
    return o;
}

json_t *sy_exp_to_json(const struct experiment *e)
{
    json_t *o = json_deep_copy(e->def);
    if (o && json_object_update_new(o, json_pack("{sosssIsoso}", "weights", sy_exp_weights_json(e),
                                                 "state", state_names[e->state], "created_ms",
                                                 (json_int_t)e->created_ms, "started_ms",
                                                 null_or_int(e->started_ms), "stopped_ms",
                                                 null_or_int(e->stopped_ms))) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- start-up ----------------------------------------------------------------------------- */

static int state_parse(const char *s, enum state *out)
{
    for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
        if (s && strcmp(s, state_names[i]) == 0) {
            *out = (enum state)i;
            return 0;
        }
    return -EINVAL;
}

static int add_experiment(sy_engine_t *eng, struct experiment *e)
{
    struct sy_experiments *x = eng->x;
    if (sy_eng_grow((void **)&x->all, &x->cap, x->n + 1, sizeof(*x->all)) < 0)
        return -ENOMEM;
    x->all[x->n++] = e;
    if (sy_exp_is_active(e->state) && e->record_exposures)
        x->n_recording++;
    return 0;
}

static int load_weights(struct experiment *e, const char *text)
{
    json_error_t je;
    json_t *w = json_loads(text, 0, &je);
    int rc = w ? 0 : -EIO;
    for (size_t i = 0; rc == 0 && i < e->n_arms; i++) {
        json_t *v = json_object_get(w, e->arms[i].key);
        if (!json_is_integer(v))
            rc = -EIO;
        else
            e->arms[i].weight = json_integer_value(v);
    }
    json_decref(w);
    return rc;
}

static int load_experiment(void *arg, const sy_store_experiment_t *row)
{
    sy_engine_t *eng = arg;
    struct experiment *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    json_error_t je;
    json_t *def = json_loads(row->definition, 0, &je);
    sy_err_t err = {0};
    int rc = def ? parse_def(def, e, NULL, &err) : -EIO;
    json_decref(def);
    if (rc == 0 && state_parse(row->state, &e->state) < 0)
        rc = -EIO;
    if (rc == 0 && row->flag_before && !(e->flag_before = json_loads(row->flag_before, 0, &je)))
        rc = -EIO;
    if (rc == 0 && row->weights) /* the allocation has moved since the definition */
        rc = load_weights(e, row->weights);
    e->id = row->id;
    e->ws = row->workspace;
    e->created_ms = row->created_ms;
    e->started_ms = row->started_ms;
    e->stopped_ms = row->stopped_ms;
    if (rc == 0)
        rc = add_experiment(eng, e);
    if (rc < 0) {
        experiment_free(e);
        return rc == -ENOMEM ? rc : -EIO;
    }
    return 0;
}

static int load_arm(void *arg, const sy_store_arm_t *row)
{
    struct experiment *e = sy_exp_find_by_id(arg, row->experiment);
    int i = e && row->variant ? sy_exp_arm_index(e, row->variant, strlen(row->variant)) : -1;
    if (i >= 0) /* the p-value's running minimum is the one thing the log cannot replay */
        e->arms[i].a.seq_p = row->seq_p;
    return 0;
}

int sy_eng_experiments_open(sy_engine_t *eng, sy_err_t *err)
{
    eng->x = calloc(1, sizeof(*eng->x));
    if (!eng->x)
        return sy_eng_oom(err);
    if (sy_exp_ingest_open(eng) < 0)
        return sy_eng_oom(err);
    if (sy_exp_settings_open(eng, err) < 0)
        return err ? err->code : -EIO;
    int rc = sy_store_experiment_list(eng->store, -1, load_experiment, eng, err);
    if (rc == 0)
        rc = sy_store_arm_list(eng->store, -1, load_arm, eng, err);
    if (rc == 0)
        rc = sy_exp_changes_open(eng, err);
    if (rc == 0)
        rc = sy_store_event_list(eng->store, sy_exp_replay, eng, err);
    for (size_t i = 0; rc == 0 && i < eng->x->n; i++) /* changes after the last event */
        sy_exp_replay_changes(eng->x->all[i], INT64_MAX);
    if (rc == -ENOMEM)
        return sy_eng_oom(err);
    if (rc < 0)
        return sy_err_set(err, rc, NULL, "store: experiments do not load: %s",
                          err && err->msg[0] ? err->msg : "a row is malformed");
    return 0;
}

void sy_eng_experiments_close(sy_engine_t *eng)
{
    struct sy_experiments *x = eng->x;
    if (!x)
        return;
    sy_exp_ingest_free(eng); /* commits what is queued first */
    for (size_t i = 0; i < x->n; i++)
        experiment_free(x->all[i]);
    free(x->all);
    free(x);
    eng->x = NULL;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

static void resource_of(const struct experiment *e, char *buf, size_t cap)
{
    snprintf(buf, cap, "experiment:%s", e->key);
}

static char *dump(const json_t *j)
{
    return j ? json_dumps(j, JSON_COMPACT) : NULL;
}

int sy_exp_put_arm(sy_engine_t *eng, const struct experiment *e, size_t k, sy_err_t *err)
{
    const struct agg *a = &e->arms[k].a;
    sy_store_arm_t arm = {.experiment = e->id,
                          .variant = e->arms[k].key,
                          .units = a->units,
                          .conversions = a->conversions,
                          .value_sum = a->value_sum,
                          .value_sumsq = a->value_sumsq,
                          .errors = a->errors,
                          .crossovers = a->crossovers,
                          .seq_p = a->seq_p,
                          .latency_n = a->latency_n,
                          .latency_sum = a->latency_sum,
                          .latency_sumsq = a->latency_sumsq};
    return sy_store_arm_put(eng->store, &arm, err);
}

int sy_exp_write(sy_engine_t *eng, int64_t ws, json_t *doc, void *arg, sy_err_t *err)
{
    (void)doc;
    struct exp_write *xw = arg;
    struct experiment *e = xw->e;
    json_t *weights = sy_exp_weights_json(e);
    char *def = dump(e->def), *fb = dump(e->flag_before), *w = dump(weights);
    json_decref(weights);
    int rc = -ENOMEM;
    if (!def || !w || (e->flag_before && !fb))
        goto out;
    sy_store_experiment_t row = {.id = e->id,
                                 .workspace = ws,
                                 .key = e->key,
                                 .flag_key = e->flag,
                                 .definition = def,
                                 .state = state_names[e->state],
                                 .created_ms = e->created_ms,
                                 .started_ms = e->started_ms,
                                 .stopped_ms = e->stopped_ms,
                                 .flag_before = fb,
                                 .weights = w};
    if ((rc = sy_store_experiment_put(eng->store, &row, &e->id, err)) < 0)
        goto out;
    for (size_t i = 0; i < e->n_arms && xw->arms; i++)
        if ((rc = sy_exp_put_arm(eng, e, i, err)) < 0)
            goto out;
    char resource[KEY_MAX + 16];
    resource_of(e, resource, sizeof(resource));
    rc = sy_eng_audit(eng, xw->actor, ws, xw->action, resource, xw->before, xw->after, err);
    if (rc == 0 && xw->more)
        rc = xw->more(eng, xw, err);
out:
    free(def);
    free(fb);
    free(w);
    return rc == -ENOMEM ? sy_eng_oom(err) : rc;
}

int sy_engine_experiment_create(sy_engine_t *eng, const sy_principal_t *actor, const json_t *def,
                                json_t **out, sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, actor->workspace);
    if (!w)
        return sy_err_set(err, -ENOENT, NULL, "no such workspace");
    struct experiment *e = calloc(1, sizeof(*e));
    json_t *values = json_object(), *after = NULL, *newflag = NULL;
    int rc = -ENOMEM;
    if (!e || !values) {
        rc = sy_eng_oom(err);
        goto out;
    }
    if ((rc = parse_def(def, e, values, err)) < 0)
        goto out;
    if (sy_exp_find(eng, w->id, e->key, strlen(e->key))) {
        rc = sy_err_set(err, -EEXIST, "key", "experiment \"%.64s\" already exists", e->key);
        goto out;
    }
    const struct experiment *busy = sy_exp_on_flag(eng, w->id, e->flag, strlen(e->flag), false);
    if (busy) {
        rc = sy_err_set(err, SY_ECONFLICT, "flag",
                        "flag \"%.64s\" already serves experiment \"%.64s\" (%s)", e->flag,
                        busy->key, state_names[busy->state]);
        goto out;
    }
    const json_t *flag = json_object_get(json_object_get(w->doc, "flags"), e->flag);
    const json_t *fvars = json_object_get(flag, "variants");
    for (size_t i = 0; flag && i < e->n_arms; i++) {
        char f[48];
        snprintf(f, sizeof(f), "variants[%zu]", i);
        if (json_object_get(json_array_get(json_object_get(def, "variants"), i), "value")) {
            rc = sy_err_set(err, -EINVAL, f,
                            "flag \"%.64s\" exists: its variants' values are the flag's", e->flag);
            goto out;
        }
        if (!json_object_get(fvars, e->arms[i].key)) {
            rc = sy_err_set(err, -EINVAL, f, "flag \"%.64s\" has no variant \"%s\"", e->flag,
                            e->arms[i].key);
            goto out;
        }
    }
    e->ws = w->id;
    e->state = DRAFT;
    e->created_ms = sy_engine_now_ms(eng);
    for (size_t i = 0; i < e->n_arms; i++)
        e->arms[i].a.seq_p = 1;
    if (sy_eng_grow((void **)&eng->x->all, &eng->x->cap, eng->x->n + 1, sizeof(*eng->x->all)) < 0) {
        rc = sy_eng_oom(err);
        goto out;
    }
    after = sy_exp_to_json(e);
    struct exp_write xw = {
        .e = e, .actor = actor, .action = "experiment.create", .after = after, .arms = true};
    if (!flag) {
        /* A new flag serves control to everyone until the experiment starts. */
        newflag = json_pack("{sssOss}", "state", "ENABLED", "variants", values, "defaultVariant",
                            e->arms[e->control].key);
        rc = newflag ? sy_eng_flag_change(eng, actor, w, e->flag, newflag, "flag.create",
                                          sy_exp_write, &xw, err)
                     : sy_eng_oom(err);
    } else if ((rc = sy_store_begin(eng->store, err)) == 0) {
        if ((rc = sy_exp_write(eng, w->id, NULL, &xw, err)) < 0)
            sy_store_rollback(eng->store);
        else
            rc = sy_store_commit(eng->store, err);
    }
    if (rc < 0) {
        e->id = 0;
        goto out;
    }
    add_experiment(eng, e); /* room was made above */
    *out = sy_exp_to_json(e);
    e = NULL;
out:
    experiment_free(e);
    json_decref(values);
    json_decref(after);
    json_decref(newflag);
    return rc;
}

int sy_engine_experiment_list(sy_engine_t *eng, const sy_principal_t *actor, json_t **out,
                              sy_err_t *err)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < eng->x->n; i++)
        if (eng->x->all[i]->ws == actor->workspace &&
            json_array_append_new(a, sy_exp_to_json(eng->x->all[i])) < 0) {
            json_decref(a);
            a = NULL;
        }
    *out = a ? json_pack("{so}", "experiments", a) : NULL;
    return *out ? 0 : sy_eng_oom(err);
}

struct experiment *sy_exp_lookup(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                 sy_err_t *err)
{
    struct experiment *e = sy_exp_find(eng, actor->workspace, key, strlen(key));
    if (!e)
        sy_err_set(err, -ENOENT, "key", "no experiment \"%.64s\"", key);
    return e;
}

int sy_engine_experiment_get(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                             json_t **out, sy_err_t *err)
{
    struct experiment *e = sy_exp_lookup(eng, actor, key, err);
    if (!e)
        return err ? err->code : -ENOENT;
    *out = sy_exp_to_json(e);
    return *out ? 0 : sy_eng_oom(err);
}

/* The flag while the experiment runs: its definition before, with the weights as the
 * `fractional` split of the targeting key (flagd buckets "<flag key><targeting key>"). */
json_t *sy_exp_split_flag(const struct experiment *e, const json_t *before)
{
    json_t *split = json_array();
    for (size_t i = 0; split && i < e->n_arms; i++)
        json_array_append_new(split,
                              json_pack("[sI]", e->arms[i].key, (json_int_t)e->arms[i].weight));
    json_t *def = json_deep_copy(before);
    if (!def || !split ||
        json_object_set_new(def, "targeting", json_pack("{so}", "fractional", split)) < 0 ||
        json_object_set_new(def, "state", json_string("ENABLED")) < 0) {
        json_decref(def);
        return NULL;
    }
    return def;
}

/* The flag once a promoted experiment ends: as before the start, with the winner (the
 * variant holding all traffic) as its default for everyone. */
static json_t *promoted_flag(const struct experiment *e)
{
    json_t *def = json_deep_copy(e->flag_before);
    size_t winner = 0;
    for (size_t i = 0; i < e->n_arms; i++)
        if (e->arms[i].weight > e->arms[winner].weight)
            winner = i;
    if (def && (json_object_set_new(def, "defaultVariant", json_string(e->arms[winner].key)) < 0 ||
                json_object_set_new(def, "state", json_string("ENABLED")) < 0)) {
        json_decref(def);
        return NULL;
    }
    json_object_del(def, "targeting");
    return def;
}

int sy_engine_experiment_transition(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                    const char *state, json_t **out, sy_err_t *err)
{
    struct experiment *e = sy_exp_lookup(eng, actor, key, err);
    if (!e)
        return err ? err->code : -ENOENT;
    enum state to;
    if (state_parse(state, &to) < 0 || (to != RUNNING && to != STOPPED && to != TERMINATED))
        return sy_err_set(err, -EINVAL, "state",
                          "an experiment moves to running, stopped or "
                          "terminated");
    bool legal =
        (e->state == DRAFT && to == RUNNING) || (sy_exp_is_active(e->state) && to != RUNNING);
    if (!legal)
        return sy_err_set(err, SY_ECONFLICT, "state", "experiment \"%.64s\" is %s: it cannot %s",
                          e->key, state_names[e->state],
                          to == RUNNING   ? "start"
                          : to == STOPPED ? "stop"
                                          : "be terminated");
    struct workspace *w = sy_eng_find_ws(eng, e->ws);
    const json_t *flag = json_object_get(json_object_get(w->doc, "flags"), e->flag);
    if (!flag)
        return sy_err_set(err, SY_ECONFLICT, "flag", "flag \"%.64s\" no longer exists", e->flag);
    json_t *before = sy_exp_to_json(e), *def;
    struct experiment saved = *e;
    if (to == RUNNING) {
        for (size_t i = 0; i < e->n_arms; i++)
            if (!json_object_get(json_object_get(flag, "variants"), e->arms[i].key)) {
                json_decref(before);
                return sy_err_set(err, SY_ECONFLICT, "flag",
                                  "flag \"%.64s\" no longer has variant \"%s\"", e->flag,
                                  e->arms[i].key);
            }
        e->flag_before = json_deep_copy(flag);
        e->started_ms = sy_engine_now_ms(eng);
        def = sy_exp_split_flag(e, flag);
    } else if (e->state == PROMOTED) {
        def = promoted_flag(e);
        e->stopped_ms = sy_engine_now_ms(eng);
    } else {
        def = json_incref(e->flag_before);
        e->stopped_ms = sy_engine_now_ms(eng);
    }
    e->state = to;
    json_t *after = sy_exp_to_json(e);
    struct exp_write xw = {.e = e,
                           .actor = actor,
                           .action = to == RUNNING   ? "experiment.start"
                                     : to == STOPPED ? "experiment.stop"
                                                     : "experiment.terminate",
                           .before = before,
                           .after = after};
    int rc =
        def && after && before && (to != RUNNING || e->flag_before)
            ? sy_eng_flag_change(eng, actor, w, e->flag, def, "flag.update", sy_exp_write, &xw, err)
            : sy_eng_oom(err);
    if (rc < 0) {
        if (to == RUNNING)
            json_decref(e->flag_before);
        *e = saved;
    } else {
        if (sy_exp_is_active(saved.state) && e->record_exposures)
            eng->x->n_recording--;
        if (to == RUNNING && e->record_exposures)
            eng->x->n_recording++;
        *out = sy_exp_to_json(e);
    }
    json_decref(def);
    json_decref(before);
    json_decref(after);
    return rc;
}

/* ---- results ------------------------------------------------------------------------------ */

void sy_exp_analysis_in(const sy_engine_t *eng, const struct experiment *e, sy_arm_counts_t *counts,
                        const char **names, sy_experiment_in_t *in)
{
    double effective[SY_EXP_MAX_ARMS];
    sy_exp_effective_weights(e, effective);
    for (size_t i = 0; i < e->n_arms; i++) {
        const struct agg *a = &e->arms[i].a;
        counts[i] = (sy_arm_counts_t){.weight = effective[i],
                                      .units = a->units,
                                      .conversions = a->conversions,
                                      .errors = a->errors,
                                      .value_sum = a->value_sum,
                                      /* the running sum may dip below 0 by rounding */
                                      .value_sumsq = a->value_sumsq > 0 ? a->value_sumsq : 0,
                                      .seq_p = a->seq_p,
                                      .latency_n = a->latency_n,
                                      .latency_sum = a->latency_sum,
                                      .latency_sumsq = a->latency_sumsq};
        names[i] = e->arms[i].key;
    }
    *in = (sy_experiment_in_t){.metric = e->metric,
                               .n_arms = e->n_arms,
                               .control = e->control,
                               .arms = counts,
                               .names = names,
                               .safety = e->safety,
                               .runtime_hours = runtime_hours(eng, e),
                               .sequential = e->sequential,
                               .tau_squared = e->tau_squared,
                               .latency_guardrail = e->latency_guardrail,
                               .max_latency_increase_pct = e->max_latency_increase_pct};
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

static json_t *versus_json(const struct experiment *e, const sy_arm_result_t *r)
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
    json_object_set_new(o, "chance_to_beat_control",
                        num_or_null(r->has_bayes, r->chance_to_beat_control));
    json_object_set_new(o, "expected_loss", num_or_null(r->has_bayes, r->expected_loss));
    json_object_set_new(o, "power", num_or_null(r->has_power, r->power));
    if (r->has_power) {
        int64_t nc = e->arms[e->control].a.units, nt = r->n;
        int64_t more = (r->n_needed_control > nc ? r->n_needed_control - nc : 0) +
                       (r->n_needed_treatment > nt ? r->n_needed_treatment - nt : 0);
        json_object_set_new(o, "sample_needed",
                            json_pack("{sIsIsI}", "control", (json_int_t)r->n_needed_control,
                                      "treatment", (json_int_t)r->n_needed_treatment,
                                      "still_needed", (json_int_t)more));
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

static json_t *arm_json(const struct experiment *e, size_t i, const sy_arm_result_t *r)
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
            json_pack("{sIsoso}", "n", (json_int_t)arm->a.latency_n, "mean_ms",
                      num_or_null(r->has_latency, r->latency_mean), "sd_ms",
                      num_or_null(r->has_latency && arm->a.latency_n >= 2, r->latency_sd)));
    if (i != e->control)
        json_object_set_new(o, "vs_control", versus_json(e, r));
    return o;
}

static json_t *srm_json(const sy_experiment_result_t *r)
{
    if (!r->has_srm)
        return json_null();
    if (r->srm_zero_weight)
        return json_pack("{snsnsnsbsb}", "chi2", "df", "p_value", "mismatch", 1,
                         "units_in_zero_weight_variant", 1);
    return json_pack("{sfsisfsbsb}", "chi2", r->srm.chi2, "df", r->srm.df, "p_value",
                     r->srm.p_value, "mismatch", r->srm.mismatch, "units_in_zero_weight_variant",
                     0);
}

static json_t *reasons_json(const sy_experiment_result_t *r)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->n_reasons; i++)
        json_array_append_new(a, json_string(r->reasons[i]));
    return a;
}

int sy_exp_analyse(const sy_engine_t *eng, const struct experiment *e, sy_experiment_result_t **r,
                   sy_err_t *err)
{
    if (!(*r = malloc(sizeof(**r)))) /* 5 KiB of reasons: not for the stack */
        return sy_eng_oom(err);
    sy_arm_counts_t counts[SY_EXP_MAX_ARMS];
    const char *names[SY_EXP_MAX_ARMS];
    sy_experiment_in_t in;
    sy_exp_analysis_in(eng, e, counts, names, &in);
    int rc = sy_experiment_analyze(&in, *r, err);
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
        json_array_append_new(arms, arm_json(e, i, &r->arms[i]));
    *out =
        json_pack("{sssssssfsbsososssososI}", "experiment", e->key, "state", state_names[e->state],
                  "metric", e->metric == SY_METRIC_CONVERSION ? "conversion" : "mean",
                  "runtime_hours", runtime_hours(eng, e), "sequential", e->sequential, "variants",
                  arms, "srm", srm_json(r), "decision", sy_exp_decision_name(r->decision), "winner",
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
    bool srm = r->has_srm && r->srm.mismatch;
    if (srm)
        json_array_append_new(warnings, json_string("sample ratio mismatch: promotion is blocked"));
    if (!sy_exp_is_active(e->state))
        json_array_append_new(warnings,
                              json_pack("s+", "the experiment is ", state_names[e->state]));
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
