/* api_json.h - the engine's smaller requests and answers as JSON (docs/api.md): tokens and
 * audit events (each written by a callback the engine's walks take, into a JSON array) and
 * the kill switch (its request's schema, its state). */
#ifndef SY_CODEC_API_JSON_H
#define SY_CODEC_API_JSON_H

#include <jansson.h>

#include "codec/schema.h"
#include "engine/engine.h"

/* sy_token_cb and sy_audit_cb: append the item to the JSON array `arg`; -ENOMEM. */
int sy_token_json_add(void *arg, const sy_token_info_t *t);
/* before/after are parsed back into JSON (null when there is none). */
int sy_audit_json_add(void *arg, const sy_audit_event_t *e);

/* A sy_store_notification_cb: appends the delivery to the JSON array `arg` as
 * GET /v1/notifications lists it ({id, channel, event, level, action, resource, title (from
 * its message), key, status, attempts, last_error, created_ms, next_attempt_ms, done_ms});
 * -ENOMEM. */
int sy_notification_json_add(void *arg, const sy_store_notification_t *n);
/* {"notifications": list (taken), "counts": {pending, delivered, failed}}. */
json_t *sy_notifications_json(json_t *list, const sy_notification_counts_t *c);

/* PUT /v1/guardrails: into sy_guardrails_change_t. */
extern const sy_schema_t sy_guardrails_change_schema;
/* {"guardrails": {"min_confidence", "max_step_pct", "cooldown_hours",
 * "max_changes_per_day"}}; NULL when out of memory. */
json_t *sy_guardrails_json(const sy_guardrails_t *g);
/* The inner object alone: what the engine stores and audits (one writer for both). */
json_t *sy_guardrails_values_json(const sy_guardrails_t *g);

/* POST /v1/go-live/kill-switch: into sy_kill_switch_change_t. */
extern const sy_schema_t sy_kill_switch_change_schema;
/* {"kill_switch": {"engaged", "reason", "actor", "changed_ms"}}, null fields when it never
 * moved; NULL when out of memory. */
json_t *sy_kill_switch_json(const sy_kill_switch_t *k);
/* The inner object alone: what the engine stores and audits (one writer for both). */
json_t *sy_kill_switch_state_json(const sy_kill_switch_t *k);

/* GET /health/aggregate: {"overall", "components": [{"name", "state", "reason"}]}. */
const char *sy_health_state_name(sy_health_state_t s);
json_t *sy_health_aggregate_json(const sy_health_component_t *v, size_t n,
                                 sy_health_state_t overall);

/* POST /v1/emergency-rollback: {"reason"} (required, 1 to 400 characters), {"workspace"}
 * (optional: the name of the workspace the caller means, refused unless it is the token's). */
typedef struct sy_emergency_request {
    const char *reason;
    const char *workspace;
} sy_emergency_request_t;
extern const sy_schema_t sy_emergency_request_schema;
/* {"experiments_rolled_back", "routes_disabled", "experiments_failed", "routes_failed",
 * "first_failure" (null when none), "took_ms"}. */
json_t *sy_emergency_report_json(const sy_emergency_report_t *r, double took_ms);

#endif
