/* experiment_json.h - an experiment's definition and the experiment as JSON (docs/api.md,
 * "Experiments"): the one schema a definition is read by (POST /v1/experiments, the result
 * of a PATCH's merge, the store's rows, the server-wide safety defaults), and the writers
 * of the definition as the store keeps it and of the experiment as the API answers it
 * (the audit trail's before and after too).
 *
 * In sy_eng_codec, with every codec of the engine's types: the engine reads its stored
 * definitions and writes its audit texts with them too. Nothing here keeps a pointer into the JSON it read: a definition's strings are
 * copied, variants' values are texts it owns until sy_exp_def_clear.
 */
#ifndef SY_CODEC_EXPERIMENT_JSON_H
#define SY_CODEC_EXPERIMENT_JSON_H

#include <jansson.h>

#include "codec/schema.h"
#include "engine/engine.h"

/* The definition's top-level members (what the router lists for POST and PATCH). Read a
 * definition with sy_exp_def_read, not with this alone: its variants, guardrails and
 * description are checked there. */
extern const sy_schema_t sy_exp_def_schema;

/* Reads definition `obj` into *out (filled over SY_EXP_DEF_DEFAULTS): 0, SY_EUNKNOWN naming
 * the first member no schema lists ("safety.min_confidenc"), or -EINVAL naming the first
 * wrong or missing one ("variants[1].weight"); -ENOMEM. On 0 the caller releases it with
 * sy_exp_def_clear; on failure there is nothing to release. Whether the values fit together
 * (one control, weights above 0, a variant listed twice) the engine judges. */
int sy_exp_def_read(const json_t *obj, sy_exp_def_t *out, sy_err_t *err);
/* Frees what sy_exp_def_read made (the variants' values). NULL is a no-op. */
void sy_exp_def_clear(sy_exp_def_t *d);

/* `cur` (a definition as answered) with RFC 7386 merge patch `patch` applied, read again
 * into *out as sy_exp_def_read does: members replace, null removes (a safety field removed
 * follows the server-wide default again), objects merge. -EINVAL for a patch that is not an
 * object. What PATCH /v1/experiments/{key} hands sy_engine_experiment_update. */
int sy_exp_def_patch(const sy_exp_def_t *cur, const json_t *patch, sy_exp_def_t *out,
                     sy_err_t *err);

/* Reads a "safety" object (NULL: {}) as a definition's, over the specification's defaults,
 * into *out: the server-wide defaults serve builds from its options. -EINVAL naming the
 * field ("safety.min_confidence"), SY_EUNKNOWN for a field that does not exist. */
int sy_exp_defaults_read(const json_t *safety, sy_exp_defaults_t *out, sy_err_t *err);

/* The definition as the store keeps it: {key, flag, metric, variants [{key, weight,
 * control}], safety (the fields of safety_set only), record_exposures, guardrails,
 * description?, health, allocation (the fields of allocation_set only)}. NULL when out of
 * memory. */
json_t *sy_exp_def_json(const sy_exp_def_t *d);

/* The experiment as the API answers it: its definition, "safety" holding every setting in
 * force (planned_lift_pct as the results plan for it), "safety_inherited" (the settings that
 * are the server's), "weights" (the live split), "state", "created_ms", "started_ms" and
 * "stopped_ms" (null until then). NULL when out of memory. */
json_t *sy_experiment_json(const sy_experiment_t *x);
/* {"experiments": [each as sy_experiment_json]}; NULL when out of memory. */
json_t *sy_experiments_json(const sy_experiment_t *xs, size_t n);

#endif
