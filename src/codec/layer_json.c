/* layer_json.c - layers as JSON; see layer_json.h.
 *
 * | member      | kind                                      | default  |
 * |-------------|-------------------------------------------|----------|
 * | name        | 1 to 64 of A-Z a-z 0-9 . _ - (create only)| required |
 * | holdout_pct | 0 to 50, at most 2 decimals               | 0        |
 * | description | a string of at most 1000 bytes            | ""       |
 */
#include "codec/layer_json.h"
#include "codec/results_json.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define CH(m) offsetof(sy_layer_change_t, m)
static const sy_field_t create_fields[] = {
    {"name", SY_K_TEXT, CH(name), SY_UNTRACKED, .required = true, .lo = 1, .hi = SY_LAYER_NAME_MAX,
     .says = "1 to 64 of A-Z a-z 0-9 . _ -"},
    {"holdout_pct", SY_K_NUMBER, CH(holdout_pct), CH(has_holdout), .lo = 0, .hi = 50,
     .says = "a percentage from 0 to 50 with at most 2 decimals"},
    {"description", SY_K_TEXT, CH(description), CH(has_description), .lo = 0,
     .hi = SY_LAYER_DESCRIPTION_MAX, .says = "a string of at most 1000 bytes"},
};
const sy_schema_t sy_layer_create_schema = SY_SCHEMA(create_fields);
/* the same members but the name, which the path gives */
const sy_schema_t sy_layer_patch_schema = {create_fields + 1, 2};

/* Basis points as a percentage: 3333 is 33.33. */
static json_t *pct(int64_t bp)
{
    return json_real((double)bp / 100.0);
}

static json_t *range_json(const sy_layer_range_t *r)
{
    json_t *o = json_pack("{ss s[oo]}", "kind", r->kind, "range", pct(r->start_bp), pct(r->end_bp));
    if (o && r->experiment[0] &&
        json_object_update_new(
            o, json_pack("{ssss}", "experiment", r->experiment, "state", r->state)) < 0)
        o = (json_decref(o), NULL);
    return o;
}

json_t *sy_layer_json(const sy_layer_t *l)
{
    json_t *ranges = json_array();
    for (size_t i = 0; ranges && i < l->n_ranges; i++)
        if (json_array_append_new(ranges, range_json(&l->ranges[i])) < 0)
            ranges = (json_decref(ranges), NULL);
    return json_pack("{sssssosososIsI}", "name", l->name, "description", l->description,
                     "holdout_pct", pct(l->holdout_bp), "ranges", ranges, "free_pct",
                     pct(l->free_bp), "created_ms", (json_int_t)l->created_ms, "updated_ms",
                     (json_int_t)l->updated_ms);
}

json_t *sy_layers_json(const sy_layer_t *ls, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, sy_layer_json(&ls[i])) < 0)
            a = (json_decref(a), NULL);
    return a ? json_pack("{so}", "layers", a) : NULL;
}

json_t *sy_layer_results_json(const char *layer, const sy_exp_results_t *xs, size_t n,
                              const sy_results_holdout_t *pooled)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        const sy_exp_results_t *x = &xs[i];
        const char *metric = x->metric == SY_METRIC_MEAN ? "mean" : "conversion";
        if (json_array_append_new(a, json_pack("{sssssssIso}", "experiment", x->experiment, "state",
                                               x->state, "metric", metric, "units",
                                               (json_int_t)x->units, "holdout",
                                               sy_results_holdout_json(x->metric, &x->holdout))))
            a = (json_decref(a), NULL);
    }
    sy_metric_t m = n && xs[0].metric == SY_METRIC_MEAN ? SY_METRIC_MEAN : SY_METRIC_CONVERSION;
    return json_pack("{sssoso}", "layer", layer, "experiments", a, "pooled",
                     sy_results_holdout_json(m, pooled));
}

json_t *sy_layer_stored_json(const sy_layer_t *l)
{
    return json_pack("{sssssIsIsI}", "name", l->name, "description", l->description, "holdout_bp",
                     (json_int_t)l->holdout_bp, "created_ms", (json_int_t)l->created_ms,
                     "updated_ms", (json_int_t)l->updated_ms);
}

int sy_layer_stored_read(const json_t *j, sy_layer_t *out)
{
    const char *name = NULL, *desc = NULL;
    json_int_t h = 0, c = 0, u = 0;
    if (json_unpack((json_t *)j, "{s:s, s:s, s:I, s:I, s:I}", "name", &name, "description", &desc,
                    "holdout_bp", &h, "created_ms", &c, "updated_ms", &u) < 0 ||
        strlen(name) > SY_LAYER_NAME_MAX || strlen(desc) > SY_LAYER_DESCRIPTION_MAX || h < 0 ||
        h > SY_LAYER_HOLDOUT_MAX)
        return -EIO;
    memset(out, 0, offsetof(sy_layer_t, ranges));
    snprintf(out->name, sizeof(out->name), "%s", name);
    snprintf(out->description, sizeof(out->description), "%s", desc);
    out->holdout_bp = h;
    out->created_ms = c;
    out->updated_ms = u;
    return 0;
}
