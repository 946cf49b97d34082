/* api_regression.c - /v1/kpi, /v1/regression/..., /v1/risk/... and /v1/go-live/... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec/api_json.h"
#include "codec/regression_json.h"
#include "codec/risk_json.h"
#include "core/utf8.h"
#include "http/internal.h"

/* A KPI submission waiting for its commit: the call, and the body and events the engine
 * borrows until then. */
struct kpi_later {
    struct call c; /* first: ingest_done frees it, and with it the whole */
    json_t *body;
    sy_kpi_batch_t b;
};

static void kpi_done(void *arg, int rc, const sy_ingest_result_t *r, const sy_err_t *err)
{
    struct kpi_later *k = arg;
    sy_kpi_batch_free(&k->b);
    json_decref(k->body);
    ingest_done(&k->c, rc, r, err);
}

/* POST /v1/kpi: answered after the group commit that writes it (kpi_done). */
void sy_api_kpi(struct call *c)
{
    sy_err_t err = {0};
    struct kpi_later *k = malloc(sizeof(*k));
    if (!k) {
        reply_error(c, 500, "out_of_memory", "", "out of memory");
        return;
    }
    if (sy_kpi_batch_read(c->body, &k->b, &err) < 0) {
        free(k);
        reply_err(c, &err);
        return;
    }
    k->c = *c;
    k->c.body = NULL; /* dispatch's, released when this returns: held below instead */
    k->body = json_incref(c->body);
    if (sy_engine_kpi_submit(c->eng, &c->who, k->b.ev, k->b.n, k->b.listed, kpi_done, k, &err) <
        0) {
        sy_kpi_batch_free(&k->b);
        json_decref(k->body);
        free(k);
        reply_err(c, &err);
    }
}

void sy_api_regression_policies(struct call *c)
{
    sy_err_t err = {0};
    sy_regression_policy_t *v = NULL;
    size_t n = 0;
    int rc = sy_engine_regression_policies(c->eng, &c->who, &v, &n, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_regression_policies_json(v, n), &err);
    free(v);
}

void sy_api_regression_policy_put(struct call *c)
{
    sy_regression_policy_change_t change = {0};
    if (!read_body(c, &change))
        return;
    sy_err_t err = {0};
    sy_regression_policy_t p;
    int rc = sy_engine_regression_policy_put(c->eng, &c->who, &change, &p, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_regression_policy_json(&p), &err);
}

/* POST {"domain", "metric", "actor"?} evaluates one tripwire; no body (or neither field)
 * every enabled one of the workspace. */
void sy_api_regression_evaluate(struct call *c)
{
    sy_regression_evaluate_req_t req = {0};
    if (c->body && !read_body(c, &req))
        return;
    sy_principal_t who = c->who;
    if (req.actor) /* the audit trail names the token and, after it, whom it acted for */
        snprintf(who.name, sizeof(who.name), "%.31s/%.31s", c->who.name, req.actor);
    sy_err_t err = {0};
    sy_tripwire_state_t *v = NULL;
    size_t n = 0;
    int rc = sy_engine_regression_evaluate(c->eng, &who, req.domain, req.metric, &v, &n, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_tripwire_states_json("evaluated", v, n, true),
                 &err);
    free(v);
}

void sy_api_regression_state(struct call *c)
{
    sy_err_t err = {0};
    sy_tripwire_state_t *v = NULL;
    size_t n = 0;
    int rc = sy_engine_regression_state(c->eng, &c->who, &v, &n, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_tripwire_states_json("tripwires", v, n, false),
                 &err);
    free(v);
}

/* ---- /v1/risk -------------------------------------------------------------------------------- */

void sy_api_risk_ledger(struct call *c)
{
    char key[32], val[64], day[64];
    bool has_day = false;
    int rc;
    for (const char *q = c->query; (rc = sy_query_next(&q, key, sizeof(key), val, sizeof(val)));) {
        if (rc < 0) {
            reply_error(c, 400, "invalid_input", "day", "day is YYYY-MM-DD");
            return;
        }
        snprintf(day, sizeof(day), "%s", val);
        has_day = true;
    }
    sy_err_t err = {0};
    sy_risk_entry_t *v = NULL;
    size_t n = 0;
    char read[11];
    rc = sy_engine_risk_ledger(c->eng, &c->who, has_day ? day : NULL, read, &v, &n, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_risk_ledger_json(read, v, n), &err);
    free(v);
}

void sy_api_risk_policies(struct call *c)
{
    sy_err_t err = {0};
    sy_risk_policy_t *v = NULL;
    size_t n = 0;
    int rc = sy_engine_risk_policies(c->eng, &c->who, &v, &n, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_risk_policies_json(v, n), &err);
    free(v);
}

/* PUT /v1/risk/policies/{domain}: the domain percent-decoded (a domain may hold any
 * character but controls), as the KPI events and the reservations name it. */
void sy_api_risk_policy_put(struct call *c)
{
    sy_risk_policy_change_t change = {0};
    if (!read_body(c, &change))
        return;
    sy_err_t err = {0};
    sy_risk_policy_t p;
    int rc = sy_engine_risk_policy_put(c->eng, &c->who, c->arg[0], &change, &p, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_risk_policy_json(&p), &err);
}

void sy_api_risk_reserve(struct call *c)
{
    sy_risk_request_t req = {0};
    if (!read_body(c, &req))
        return;
    sy_err_t err = {0};
    sy_risk_answer_t a;
    int rc = sy_engine_risk_reserve(c->eng, &c->who, &req, &a, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_risk_answer_json(&a), &err);
}

void sy_api_risk_release(struct call *c)
{
    sy_risk_release_t r = {0};
    if (!read_body(c, &r))
        return;
    sy_err_t err = {0};
    int rc = sy_engine_risk_release(c->eng, &c->who, r.reservation_id, r.actor, &err);
    reply_result(
        c, rc, 200,
        rc < 0 ? NULL
               : json_pack("{sbsI}", "released", 1, "reservation_id", (json_int_t)r.reservation_id),
        &err);
}

/* ---- /v1/go-live ------------------------------------------------------------------------------
 */

static void kill_switch_refusal(struct call *c, const char *field)
{
    char why[600];
    sy_engine_kill_switch_engaged(c->eng, c->who.workspace, why, sizeof(why));
    reply_error(c, 403, "kill_switch", field, "the kill switch is engaged: %s", why);
}

/* Whether any copy of X-Execution-Class, or any member of a comma-separated list in one,
 * says PROD_EXEC, in any case: a proxy that appends its own copy, or a client that lists
 * classes, does not slip a production action past the kill switch. */
static bool prod_exec(const sy_h1_req_t *req)
{
    const char *v;
    for (size_t i = 0; (v = sy_h1_header_nth(req, "X-Execution-Class", i)); i++)
        for (const char *p = v; *p;) {
            p += strspn(p, " \t,");
            size_t n = strcspn(p, ",");
            size_t t = n;
            while (t && (p[t - 1] == ' ' || p[t - 1] == '\t'))
                t--;
            if (t == 9 && strncasecmp(p, "PROD_EXEC", 9) == 0)
                return true;
            p += n;
        }
    return false;
}

bool sy_api_prod_exec_allowed(struct call *c, const char *path)
{
    sy_method_t m = sy_h1_method(c->req);
    /* Reads, evaluation, the go-live endpoints themselves and measurement (events, KPIs:
     * how recovery is seen) are never held back. */
    if (!prod_exec(c->req) || m == SY_GET || /* HEAD too */
        strncmp(path, "/v1/go-live/", 12) == 0 || strncmp(path, "/ofrep/", 7) == 0 ||
        strcmp(path, "/v1/kpi") == 0 || strcmp(path, "/v1/events") == 0 ||
        !sy_engine_kill_switch_engaged(c->eng, c->who.workspace, NULL, 0))
        return true;
    kill_switch_refusal(c, "X-Execution-Class");
    return false;
}

void sy_api_golive_check(struct call *c)
{
    char key[32], val[64], cls[64] = "";
    int rc;
    for (const char *q = c->query; (rc = sy_query_next(&q, key, sizeof(key), val, sizeof(val)));) {
        if (rc < 0 || strcmp(key, "class") != 0) {
            reply_error(c, 400, rc < 0 ? "invalid_input" : "unknown_field", rc < 0 ? "class" : key,
                        "the only query parameter is class=NAME");
            return;
        }
        snprintf(cls, sizeof(cls), "%s", val);
    }
    if (!*cls) {
        reply_error(c, 400, "invalid_input", "class", "class is required (PROD_EXEC, ...)");
        return;
    }
    if (!sy_utf8_valid(cls, strlen(cls))) { /* it is echoed in the answer */
        reply_error(c, 400, "invalid_input", "class", "class is not UTF-8");
        return;
    }
    if (strcasecmp(cls, "PROD_EXEC") == 0 &&
        sy_engine_kill_switch_engaged(c->eng, c->who.workspace, NULL, 0)) {
        kill_switch_refusal(c, "class");
        return;
    }
    reply_json(c, 200, json_pack("{sbss}", "allowed", 1, "class", cls));
}

void sy_api_golive_state(struct call *c)
{
    sy_err_t err = {0};
    sy_kill_switch_t k;
    int rc = sy_engine_kill_switch_get(c->eng, &c->who, &k, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_kill_switch_json(&k), &err);
}

void sy_api_kill_switch_put(struct call *c)
{
    sy_kill_switch_change_t change = {0};
    if (!read_body(c, &change))
        return;
    sy_err_t err = {0};
    sy_kill_switch_t k;
    int rc = sy_engine_kill_switch_put(c->eng, &c->who, &change, &k, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_kill_switch_json(&k), &err);
}
