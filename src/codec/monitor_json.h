/* monitor_json.h - the health monitor's and the auto-promotion check's requests and
 * answers as JSON (docs/api.md, "The health monitor" and "POST /v1/auto-promotion/check"):
 * the pushed health's schema and the health view; the check's body and its report; an
 * experiment's split as {variant: points}, as the tick's log lines and simulate write it.
 * Every writer returns a new reference, NULL when out of memory. */
#ifndef SY_CODEC_MONITOR_JSON_H
#define SY_CODEC_MONITOR_JSON_H

#include <jansson.h>

#include "codec/schema.h"
#include "engine/engine.h"

/* POST /v1/experiments/{key}/health: {"success_rate", "error_rate", "p95_ms"?,
 * "retry_rate"?} into sy_health_push_t (the kinds; the engine checks the bounds). */
extern const sy_schema_t sy_health_push_schema;
/* {"experiment", "state", "health": {"watched", "baseline", "current", "source",
 * "rollback_due", "reasons", "look", "window_ready"}}: what GET and POST .../health answer. */
json_t *sy_exp_health_json(const sy_exp_health_t *h);
/* The "health" member alone; a health is {"success_rate", "error_rate", "p95_ms"?,
 * "retry_rate"?} or null. */
json_t *sy_health_view_json(const sy_health_view_t *v);

/* POST /v1/auto-promotion/check's optional body. */
typedef struct sy_auto_check_body {
    bool has_dry_run;
    bool dry_run; /* overrides the timer's setting for this call */
} sy_auto_check_body_t;
extern const sy_schema_t sy_auto_check_body_schema;

/* "none", "step", "promote", "refused", "awaiting_approval", "held_by_kill_switch",
 * "would_step", "would_promote", "error". */
const char *sy_auto_action_name(sy_auto_action_t a);
/* {"at_ms", "dry_run", "checked", "experiments": [{"experiment", "workspace", "decision"?,
 * "winner"?, "action", "weights"?, "state"?, "refused_by"?, "message"?, "reason"?}]}. */
json_t *sy_auto_report_json(const sy_auto_report_t *r);
/* {variant: points, ...} in the definition's order. */
json_t *sy_exp_split_json(const sy_exp_split_t *s);

#endif
