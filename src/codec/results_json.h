/* results_json.h - an experiment's results, promotion eligibility and allocation as JSON
 * (docs/api.md, "Experiments" and "Allocation"), and the requests that move its traffic
 * (a step, a promotion, a rollback) read by their schemas.
 *
 * Writers return a new reference (NULL when out of memory); reals are written as the
 * caller's reply writes them. Inputs are borrowed.
 */
#ifndef SY_CODEC_RESULTS_JSON_H
#define SY_CODEC_RESULTS_JSON_H

#include <jansson.h>

#include "codec/schema.h"
#include "engine/engine.h"

/* GET /v1/experiments/{key}/results: {"experiment", "state", "metric", "runtime_hours",
 * "sequential", "variants": [...], "srm", "decision", "winner", "reasons", "units"}. */
json_t *sy_results_json(const sy_exp_results_t *x);
/* A layer's holdout against served traffic (an experiment's "holdout", a layer's results):
 * {units, conversions | mean, vs_holdout: {served_units, served_conversions | served_mean,
 * diff, diff_ci, lift, lift_ci, p_value} or {compared: false, ...}}. NULL when out of
 * memory. */
json_t *sy_results_holdout_json(sy_metric_t metric, const sy_results_holdout_t *h);
/* GET /v1/experiments/{key}/promotion: {"experiment", "eligible", "winner", "confidence",
 * "improvement", "checks", "warnings", "guardrails"? (with the latency guardrail)}. */
json_t *sy_promotion_json(const sy_exp_promotion_t *p);

/* {"changes_today", "max_changes_per_day", "resets_at_ms", "last_change_ms",
 * "next_allowed_ms", "history_limit"}. */
json_t *sy_rate_limit_json(const sy_rate_limit_t *r);
/* GET /v1/experiments/{key}/allocation: {"experiment", "state", "weights",
 * "active_variants", "guardrails", "rate_limit", "history": history (taken, also on
 * failure)}. */
json_t *sy_allocation_json(const sy_allocation_t *a, json_t *history);
/* A sy_history_cb: appends the change to the JSON array `arg` as {"id", "at_ms",
 * "action", "actor", "before", "after", "detail"} (the texts parsed back; null when one
 * does not parse); -ENOMEM. */
int sy_history_json_add(void *arg, const sy_history_entry_t *h);
/* GET /v1/experiments/{key}/history: {"experiment": key, "history": history (taken, also
 * on failure)}. */
json_t *sy_history_json(const char *key, json_t *history);

/* POST /v1/experiments/{key}/allocation/apply: into sy_step_request_t. */
extern const sy_schema_t sy_step_request_schema;
/* What a step did: {"applied": true, "refused_by": null, "step", "weights", "state",
 * "rate_limit"}; a duplicate {"applied": true, "duplicate": true, "refused_by": null,
 * "step": 0, "weights"}; a refusal {"applied": false, "refused_by", "rate_limit"}. */
json_t *sy_step_answer_json(const sy_step_answer_t *a);

/* POST /v1/experiments/{key}/promote: its members, "metadata" as given (the reader turns
 * it into the request's text). */
typedef struct sy_promote_body {
    sy_promote_request_t req;
    const json_t *metadata;
} sy_promote_body_t;
extern const sy_schema_t sy_promote_body_schema;
/* b->metadata (an object, else -EINVAL naming "metadata") as compact text into
 * b->req.metadata and *text (owned: free(); NULL when there is none); -ENOMEM. */
int sy_promote_body_finish(sy_promote_body_t *b, char **text, sy_err_t *err);

/* DELETE /v1/experiments/{key}/promote: into sy_rollback_request_t. */
extern const sy_schema_t sy_rollback_request_schema;

#endif
