/* timeline_json.c - a timeline point from an experiment's results; see timeline_json.h. */
#include <math.h>

#include "codec/monitor_json.h"
#include "codec/timeline_json.h"

static json_t *num_or_null(bool has, double v)
{
    return has && isfinite(v) ? json_real(v) : json_null();
}

static json_t *pair_or_null(bool has, double lo, double hi)
{
    return has && isfinite(lo) && isfinite(hi) ? json_pack("[ff]", lo, hi) : json_null();
}

static json_t *variant_json(const sy_exp_results_t *x, size_t i)
{
    const sy_results_variant_t *v = &x->variants[i];
    const sy_arm_result_t *r = &x->r.arms[i];
    return json_pack("{sssIsIsoso}", "key", v->key, "units", (json_int_t)v->units, "conversions",
                     (json_int_t)v->conversions, "rate", num_or_null(r->has_level, r->level),
                     "interval", pair_or_null(r->has_level_ci, r->level_ci_low, r->level_ci_high));
}

/* The p the decision reads: the always-valid one when the test is sequential. */
static json_t *comparison_json(const sy_exp_results_t *x, size_t i)
{
    const sy_arm_result_t *r = &x->r.arms[i];
    if (!r->compared)
        return json_pack("{sssnsnsnsn}", "variant", x->variants[i].key, "lift", "interval",
                         "p_value", "confidence");
    double p = r->has_seq ? r->always_valid_p : r->p_value;
    return json_pack("{sssosososf}", "variant", x->variants[i].key, "lift",
                     num_or_null(r->has_lift, r->lift), "interval",
                     pair_or_null(r->has_lift, r->lift_ci_low, r->lift_ci_high), "p_value",
                     num_or_null(true, p), "confidence", r->confidence);
}

static json_t *srm_p(const sy_exp_results_t *x)
{
    if (x->srm_sequential)
        return num_or_null(true, x->srm_seq_p);
    return num_or_null(x->r.has_srm, x->r.srm.p_value);
}

json_t *sy_timeline_point_json(const sy_exp_results_t *x, const sy_health_view_t *health,
                               int64_t at_ms, const char *cause)
{
    json_t *w = json_object(), *vs = json_array(), *cs = json_array();
    int bad = !w || !vs || !cs;
    for (size_t i = 0; !bad && i < x->n_variants; i++) {
        bad |= json_object_set_new(w, x->variants[i].key, json_integer(x->variants[i].weight));
        bad |= json_array_append_new(vs, variant_json(x, i));
        if (!x->variants[i].control)
            bad |= json_array_append_new(cs, comparison_json(x, i));
    }
    if (bad) {
        json_decref(w);
        json_decref(vs);
        json_decref(cs);
        return NULL;
    }
    return json_pack("{sIsssosososossso}", "at_ms", (json_int_t)at_ms, "cause", cause, "weights",
                     w, "variants", vs, "comparisons", cs, "srm_p", srm_p(x), "decision",
                     sy_decision_name(x->r.decision), "health",
                     health->has_watched ? sy_health_view_json(health) : json_null());
}
