/* risk_json.h - the risk guard's requests and answers as JSON (docs/api.md, "Risk guard"):
 * each request's schema (codec/schema.h), read into the engine's types, and the answers
 * written back. */
#ifndef SY_CODEC_RISK_JSON_H
#define SY_CODEC_RISK_JSON_H

#include <jansson.h>

#include "codec/schema.h"
#include "engine/engine.h"

/* PUT /v1/risk/policies/{domain}: into sy_risk_policy_change_t. */
extern const sy_schema_t sy_risk_policy_change_schema;
/* POST /v1/risk/check-and-reserve: into sy_risk_request_t. */
extern const sy_schema_t sy_risk_request_schema;
/* POST /v1/risk/release: into sy_risk_release_t. */
extern const sy_schema_t sy_risk_release_schema;

typedef struct sy_risk_release {
    int64_t reservation_id;
    const char *actor; /* NULL: none given */
} sy_risk_release_t;

/* The answers (new references; NULL when out of memory). */
json_t *sy_risk_policy_json(const sy_risk_policy_t *p);
json_t *sy_risk_policies_json(const sy_risk_policy_t *v, size_t n); /* {"policies": [...]} */
json_t *sy_risk_answer_json(const sy_risk_answer_t *a);
json_t *sy_risk_ledger_json(const char *day, const sy_risk_entry_t *v, size_t n);

#endif
