/* results_adapt.h - the engine's results, promotion, allocation and history calls as the
 * HTTP API makes them: a JSON body read by its codec schema, the typed engine call, its
 * answer written by codec/results_json.h. The tests that read answers as JSON call these,
 * so they check the engine and the API's JSON at once. */
#ifndef SY_TEST_RESULTS_ADAPT_H
#define SY_TEST_RESULTS_ADAPT_H

#include <stdlib.h>

#include <jansson.h>

#include "codec/results_json.h"
#include "engine/engine.h"

/* GET .../results into *out. */
static inline int results_json(sy_engine_t *eng, const sy_principal_t *who, const char *key,
                               json_t **out, sy_err_t *err)
{
    sy_exp_results_t *x = NULL;
    int rc = sy_engine_experiment_results(eng, who, key, &x, err);
    *out = rc < 0 ? NULL : sy_results_json(x);
    free(x);
    return rc < 0 ? rc : *out ? 0 : -ENOMEM;
}

/* GET .../promotion into *out. */
static inline int promotion_json(sy_engine_t *eng, const sy_principal_t *who, const char *key,
                                 json_t **out, sy_err_t *err)
{
    sy_exp_promotion_t p;
    int rc = sy_engine_experiment_promotion(eng, who, key, &p, err);
    *out = rc < 0 ? NULL : sy_promotion_json(&p);
    return rc < 0 ? rc : *out ? 0 : -ENOMEM;
}

/* The history's changes as a JSON array (the newest `newest`; 0: all) into *out. */
static inline int history_array(sy_engine_t *eng, const sy_principal_t *who, const char *key,
                                size_t newest, json_t **out, sy_err_t *err)
{
    json_t *a = json_array();
    int rc = a ? sy_engine_experiment_history(eng, who, key, newest, sy_history_json_add, a, err)
               : -ENOMEM;
    if (rc < 0) {
        json_decref(a);
        a = NULL;
    }
    *out = a;
    return rc;
}

/* GET .../history into *out. */
static inline int history_json(sy_engine_t *eng, const sy_principal_t *who, const char *key,
                               json_t **out, sy_err_t *err)
{
    json_t *h;
    int rc = history_array(eng, who, key, 0, &h, err);
    *out = rc < 0 ? NULL : sy_history_json(key, h);
    return rc < 0 ? rc : *out ? 0 : -ENOMEM;
}

/* GET .../allocation into *out. */
static inline int allocation_json(sy_engine_t *eng, const sy_principal_t *who, const char *key,
                                  json_t **out, sy_err_t *err)
{
    sy_allocation_t a;
    json_t *h = NULL;
    int rc = sy_engine_allocation_get(eng, who, key, &a, err);
    if (rc == 0)
        rc = history_array(eng, who, key, SY_ALLOCATION_HISTORY_LIMIT, &h, err);
    *out = rc < 0 ? NULL : sy_allocation_json(&a, h);
    return rc < 0 ? rc : *out ? 0 : -ENOMEM;
}

/* POST .../allocation/apply with `body`: its answer into *out (a refusal's too, with
 * SY_ECONFLICT). */
static inline int apply_json(sy_engine_t *eng, const sy_principal_t *who, const char *key,
                             const json_t *body, json_t **out, sy_err_t *err)
{
    sy_step_request_t req = {0};
    sy_step_answer_t a;
    *out = NULL;
    int rc = sy_schema_read(&sy_step_request_schema, body, &req, "", err);
    if (rc < 0)
        return rc;
    rc = sy_engine_allocation_apply(eng, who, key, &req, &a, err);
    if (rc == 0 || a.refused)
        *out = sy_step_answer_json(&a);
    return rc;
}

/* POST .../promote with `body` (NULL: none): the allocation after it (its state and
 * weights; the API answers the experiment, which holds the same) into *out. */
static inline int promote_json(sy_engine_t *eng, const sy_principal_t *who, const char *key,
                               const json_t *body, json_t **out, sy_err_t *err)
{
    sy_promote_body_t b = {0};
    char *metadata = NULL;
    *out = NULL;
    int rc = body ? sy_schema_read(&sy_promote_body_schema, body, &b, "", err) : 0;
    if (rc == 0)
        rc = sy_promote_body_finish(&b, &metadata, err);
    if (rc == 0)
        rc = sy_engine_experiment_promote(eng, who, key, &b.req, err);
    free(metadata);
    return rc < 0 ? rc : allocation_json(eng, who, key, out, err);
}

/* DELETE .../promote with `body` (NULL: none): the allocation after it into *out. */
static inline int rollback_json(sy_engine_t *eng, const sy_principal_t *who, const char *key,
                                const json_t *body, json_t **out, sy_err_t *err)
{
    sy_rollback_request_t req = {0};
    *out = NULL;
    int rc = body ? sy_schema_read(&sy_rollback_request_schema, body, &req, "", err) : 0;
    if (rc == 0)
        rc = sy_engine_experiment_rollback(eng, who, key, &req, err);
    return rc < 0 ? rc : allocation_json(eng, who, key, out, err);
}

#endif
