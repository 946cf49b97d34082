/* layer_json.h - layers as JSON (docs/api.md, "Layers"): the requests that create and
 * change one, read by their schemas into sy_layer_change_t, the layer as answered, and the
 * form the store keeps (a workspace setting "layer:NAME").
 *
 * Percentages are written from basis points (3333 is 33.33); the reader of a stored layer
 * takes basis points as written, so nothing is rounded twice.
 */
#ifndef SY_CODEC_LAYER_JSON_H
#define SY_CODEC_LAYER_JSON_H

#include <jansson.h>

#include "codec/schema.h"
#include "engine/engine.h"

/* POST /v1/layers: {name, holdout_pct?, description?} into sy_layer_change_t (strings
 * borrowed from the body). */
extern const sy_schema_t sy_layer_create_schema;
/* PATCH /v1/layers/{name}: {holdout_pct?, description?}. */
extern const sy_schema_t sy_layer_patch_schema;

/* The layer as answered: {name, description, holdout_pct, ranges: [{kind, range: [start,
 * end], experiment?, state?}], free_pct, created_ms, updated_ms}. NULL when out of memory. */
json_t *sy_layer_json(const sy_layer_t *l);
/* {"layers": [each as sy_layer_json]}; NULL when out of memory. */
json_t *sy_layers_json(const sy_layer_t *ls, size_t n);

/* GET /v1/layers/{name}/results: {layer, experiments: [{experiment, state, metric, units,
 * holdout}], pooled: holdout as sy_results_holdout_json, over experiments of `metric`}. */
json_t *sy_layer_results_json(const char *layer, const sy_exp_results_t *xs, size_t n,
                              const sy_results_holdout_t *pooled);

/* The form the store keeps: {name, description, holdout_bp, created_ms, updated_ms}, its
 * ranges left out (they are the experiments'). NULL when out of memory. */
json_t *sy_layer_stored_json(const sy_layer_t *l);
/* A stored layer back into *out (no ranges): 0, or -EIO for one that does not read. */
int sy_layer_stored_read(const json_t *j, sy_layer_t *out);

#endif
