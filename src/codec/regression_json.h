/* regression_json.h - KPI events and regression tripwires as JSON (docs/api.md, "KPI events
 * and regression tripwires"): each request read into the engine's types (by its schema,
 * codec/schema.h), and the answers written back. */
#ifndef SY_CODEC_REGRESSION_JSON_H
#define SY_CODEC_REGRESSION_JSON_H

#include <jansson.h>

#include "codec/schema.h"
#include "engine/engine.h"

/* POST /v1/kpi: the names a body may have, one event's and "events" (the router's list;
 * the body is read by sy_kpi_batch_read). */
extern const sy_schema_t sy_kpi_body_schema;

/* A KPI submission read from its body. The events' strings are borrowed from the body
 * (keep it while the events are used); their detail texts are owned (sy_kpi_batch_free). */
typedef struct sy_kpi_batch {
    sy_kpi_event_t *ev;
    size_t n;
    bool listed;    /* {"events": [...]}, not one event */
    char **details; /* ev[i].detail's text, owned; NULL when no event has one */
} sy_kpi_batch_t;

/* Reads `body`, one event or {"events": [1..SY_KPI_BATCH_MAX events]} alone, into *b: 0;
 * SY_EUNKNOWN naming an unknown member ("events[3].colour"), -EINVAL naming a member of the
 * wrong kind ("events[3].value", "events" for a bad list), -E2BIG for too many events,
 * -ENOMEM. On an error *b holds nothing to free. */
int sy_kpi_batch_read(const json_t *body, sy_kpi_batch_t *b, sy_err_t *err);
void sy_kpi_batch_free(sy_kpi_batch_t *b); /* a zeroed batch is a no-op */

/* POST /v1/regression/policies: into sy_regression_policy_change_t. */
extern const sy_schema_t sy_regression_policy_change_schema;

/* POST /v1/regression/evaluate's optional body: both or neither of domain and metric, and
 * whom the caller acts for. */
typedef struct sy_regression_evaluate_req {
    const char *domain, *metric, *actor; /* NULL: not given */
} sy_regression_evaluate_req_t;
extern const sy_schema_t sy_regression_evaluate_schema;

/* The answers (new references; NULL when out of memory). */
json_t *sy_regression_policy_json(const sy_regression_policy_t *p);
/* {"policies": [...]} */
json_t *sy_regression_policies_json(const sy_regression_policy_t *v, size_t n);
/* A tripwire's state; with `workspace` its workspace's id too (what an evaluation
 * answers). */
json_t *sy_tripwire_state_json(const sy_tripwire_state_t *s, bool workspace);
/* {key: [states]}: "tripwires" (GET /v1/regression/state) or "evaluated" (with each
 * state's workspace). */
json_t *sy_tripwire_states_json(const char *key, const sy_tripwire_state_t *v, size_t n,
                                bool workspace);

#endif
