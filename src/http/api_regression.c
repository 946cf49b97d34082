/* api_regression.c - /v1/kpi, /v1/regression/..., /v1/risk/... and /v1/go-live/... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "http/internal.h"

/* A POST whose JSON body goes to `fn` whole, for callers of at least `role`. */
static void post_body(struct call *c, sy_role_t role,
                      int (*fn)(sy_engine_t *, const sy_principal_t *, const json_t *, json_t **,
                                sy_err_t *))
{
    if (sy_h1_method(c->req) != SY_POST) {
        not_allowed(c, "POST");
        return;
    }
    if (!require_role(c, role))
        return;
    json_t *body = body_object(c);
    if (!body)
        return;
    sy_err_t err = {0};
    json_t *out = NULL;
    int rc = fn(c->eng, &c->who, body, &out, &err);
    json_decref(body);
    reply_result(c, rc, 200, out, &err);
}

/* POST /v1/kpi: answered after the group commit that writes it (ingest_done). */
void sy_api_kpi(struct call *c)
{
    if (sy_h1_method(c->req) != SY_POST) {
        not_allowed(c, "POST");
        return;
    }
    if (!require_role(c, SY_ROLE_SDK))
        return;
    json_t *body = body_object(c);
    if (!body)
        return;
    sy_err_t err = {0};
    struct call *later = malloc(sizeof(*later));
    if (!later) {
        reply_error(c, 500, "out_of_memory", "", "out of memory");
    } else {
        *later = *c;
        if (sy_engine_kpi_submit(c->eng, &c->who, body, ingest_done, later, &err) < 0) {
            free(later);
            reply_err(c, &err);
        }
    }
    json_decref(body);
}

static void policies(struct call *c)
{
    read_write(c, SY_POST, 200, sy_engine_regression_policies, sy_engine_regression_policy_put);
}

/* POST {"domain", "metric", "actor"?} evaluates one tripwire; no body (or neither field)
 * every enabled one of the workspace. */
static void evaluate(struct call *c)
{
    if (sy_h1_method(c->req) != SY_POST) {
        not_allowed(c, "POST");
        return;
    }
    if (!require_role(c, SY_ROLE_EDITOR))
        return;
    json_t *body = NULL;
    if (!optional_body(c, &body))
        return;
    static const char *const fields[] = {"domain", "metric", "actor", NULL};
    if (body && !only_fields(c, body, fields)) {
        json_decref(body);
        return;
    }
    const json_t *d = json_object_get(body, "domain"), *m = json_object_get(body, "metric");
    const json_t *a = json_object_get(body, "actor");
    const char *bad = (d && !json_is_string(d))   ? "domain"
                      : (m && !json_is_string(m)) ? "metric"
                      : (a && !json_is_string(a)) ? "actor"
                                                  : NULL;
    if (bad) {
        json_decref(body);
        reply_error(c, 400, "invalid_input", bad, "%s must be a string", bad);
        return;
    }
    sy_principal_t who = c->who;
    if (a) /* the audit trail names the token and, after it, whom it acted for */
        snprintf(who.name, sizeof(who.name), "%.31s/%.31s", c->who.name, json_string_value(a));
    sy_err_t err = {0};
    json_t *out = NULL;
    int rc = sy_engine_regression_evaluate(c->eng, &who, json_string_value(d), json_string_value(m),
                                           &out, &err);
    json_decref(body);
    reply_result(c, rc, 200, out, &err);
}

static void state(struct call *c)
{
    if (sy_h1_method(c->req) != SY_GET) {
        not_allowed(c, "GET");
        return;
    }
    if (!require_role(c, SY_ROLE_VIEWER))
        return;
    sy_err_t err = {0};
    json_t *out = NULL;
    int rc = sy_engine_regression_state(c->eng, &c->who, &out, &err);
    reply_result(c, rc, 200, out, &err);
}

void sy_api_regression(struct call *c, const char *what)
{
    if (strcmp(what, "policies") == 0)
        policies(c);
    else if (strcmp(what, "evaluate") == 0)
        evaluate(c);
    else if (strcmp(what, "state") == 0)
        state(c);
    else
        reply_error(c, 404, "not_found", "", "no such endpoint: regression/%.64s", what);
}

/* ---- /v1/risk -------------------------------------------------------------------------------- */

static void ledger(struct call *c)
{
    if (sy_h1_method(c->req) != SY_GET) {
        not_allowed(c, "GET");
        return;
    }
    if (!require_role(c, SY_ROLE_VIEWER))
        return;
    char key[32], val[64], day[64];
    bool has_day = false;
    int rc;
    for (const char *q = c->query; (rc = sy_query_next(&q, key, sizeof(key), val, sizeof(val)));) {
        if (rc < 0 || strcmp(key, "day") != 0) {
            reply_error(c, 400, rc < 0 ? "invalid_input" : "unknown_field", rc < 0 ? "day" : key,
                        "the only query parameter is day=YYYY-MM-DD");
            return;
        }
        snprintf(day, sizeof(day), "%s", val);
        has_day = true;
    }
    sy_err_t err = {0};
    json_t *out = NULL;
    rc = sy_engine_risk_ledger(c->eng, &c->who, has_day ? day : NULL, &out, &err);
    reply_result(c, rc, 200, out, &err);
}

static void risk_policies(struct call *c, const char *domain)
{
    sy_method_t m = sy_h1_method(c->req);
    if (!*domain ? m != SY_GET : m != SY_PUT) {
        not_allowed(c, !*domain ? "GET" : "PUT");
        return;
    }
    if (m == SY_PUT) {
        write_named(c, SY_ROLE_ADMIN, 200, domain, sy_engine_risk_policy_put);
        return;
    }
    if (!require_role(c, SY_ROLE_VIEWER))
        return;
    sy_err_t err = {0};
    json_t *out = NULL;
    int rc = sy_engine_risk_policies(c->eng, &c->who, &out, &err);
    reply_result(c, rc, 200, out, &err);
}

/* /v1/risk/policies/{domain}: the domain percent-decoded (a domain may hold any character
 * but controls), as the KPI events and the reservations name it. */
static void risk_policy(struct call *c, const char *raw)
{
    char domain[256];
    ssize_t n = sy_pct_decode(raw, strlen(raw), false, domain, sizeof(domain));
    if (n <= 0 || memchr(domain, '\0', (size_t)n)) {
        reply_error(c, 400, "invalid_input", "domain", "the path has a bad or over-long domain");
        return;
    }
    risk_policies(c, domain);
}

void sy_api_risk(struct call *c, const char *what)
{
    if (strcmp(what, "policies") == 0)
        risk_policies(c, "");
    else if (strncmp(what, "policies/", 9) == 0 && what[9] && !strchr(what + 9, '/'))
        risk_policy(c, what + 9);
    else if (strcmp(what, "check-and-reserve") == 0)
        post_body(c, SY_ROLE_SDK, sy_engine_risk_reserve);
    else if (strcmp(what, "release") == 0)
        post_body(c, SY_ROLE_SDK, sy_engine_risk_release);
    else if (strcmp(what, "ledger") == 0)
        ledger(c);
    else
        reply_error(c, 404, "not_found", "", "no such endpoint: risk/%.64s", what);
}

/* ---- /v1/go-live ------------------------------------------------------------------------------
 */

static void kill_switch_refusal(struct call *c, const char *field)
{
    char why[600];
    sy_engine_kill_switch_engaged(c->eng, c->who.workspace, why, sizeof(why));
    reply_error(c, 403, "kill_switch", field, "the kill switch is engaged: %s", why);
}

bool sy_api_prod_exec_allowed(struct call *c, const char *path)
{
    const char *cls = sy_h1_header(c->req, "X-Execution-Class");
    sy_method_t m = sy_h1_method(c->req);
    /* Reads, evaluation, the go-live endpoints themselves and measurement (events, KPIs:
     * how recovery is seen) are never held back. */
    if (!cls || strcmp(cls, "PROD_EXEC") != 0 || m == SY_GET || /* HEAD too */
        strncmp(path, "/v1/go-live/", 12) == 0 || strncmp(path, "/ofrep/", 7) == 0 ||
        strcmp(path, "/v1/kpi") == 0 || strcmp(path, "/v1/events") == 0 ||
        !sy_engine_kill_switch_engaged(c->eng, c->who.workspace, NULL, 0))
        return true;
    kill_switch_refusal(c, "X-Execution-Class");
    return false;
}

static void check(struct call *c)
{
    if (sy_h1_method(c->req) != SY_GET) {
        not_allowed(c, "GET");
        return;
    }
    if (!require_role(c, SY_ROLE_SDK))
        return;
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
    if (strcmp(cls, "PROD_EXEC") == 0 &&
        sy_engine_kill_switch_engaged(c->eng, c->who.workspace, NULL, 0)) {
        kill_switch_refusal(c, "class");
        return;
    }
    reply_json(c, 200, json_pack("{sbss}", "allowed", 1, "class", cls));
}

void sy_api_golive(struct call *c, const char *what)
{
    sy_err_t err = {0};
    json_t *out = NULL;
    if (strcmp(what, "check") == 0) {
        check(c);
    } else if (strcmp(what, "state") == 0) {
        if (sy_h1_method(c->req) != SY_GET) {
            not_allowed(c, "GET");
        } else if (require_role(c, SY_ROLE_VIEWER)) {
            int rc = sy_engine_kill_switch_get(c->eng, &c->who, &out, &err);
            reply_result(c, rc, 200, out, &err);
        }
    } else if (strcmp(what, "kill-switch") == 0) {
        post_body(c, SY_ROLE_ADMIN, sy_engine_kill_switch_put);
    } else {
        reply_error(c, 404, "not_found", "", "no such endpoint: go-live/%.64s", what);
    }
}
