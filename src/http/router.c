/* router.c - every endpoint of the server, listed once: its path, method, who may call it,
 * the query parameters and the body it takes, and its handler. server.c's dispatch walks
 * this table; GET /v1 lists it; the tests walk it.
 *
 * What the table declares is checked before any handler runs, the same way for every
 * endpoint: a path no endpoint has is 404, a method its path does not take 405 (with
 * Allow), a query parameter it does not list 400 unknown_field, a body that is no JSON
 * 400 invalid_json, a body where none is taken 400 unknown_field naming its first member.
 * A handler checks what only it can: the values.
 */
#include <stdio.h>
#include <string.h>

#include "codec/api_json.h"
#include "codec/experiment_json.h"
#include "codec/layer_json.h"
#include "codec/monitor_json.h"
#include "codec/channel_json.h"
#include "codec/regression_json.h"
#include "codec/results_json.h"
#include "codec/risk_json.h"
#include "codec/route_api_json.h"
#include "http/internal.h"

/* Roles, for readability of the table. */
#define SDK    SY_ROLE_SDK
#define VIEWER SY_ROLE_VIEWER
#define EDITOR SY_ROLE_EDITOR
#define ADMIN  SY_ROLE_ADMIN

/* The data plane's endpoints come first: a serving thread looks no further than them. */
const struct sy_endpoint sy_endpoints[] = {
    {SY_GET, "/healthz", VIEWER, AUTH_NONE, true, BODY_NONE, NULL, NULL, sy_api_healthz, NULL},
    {SY_GET, "/readyz", VIEWER, AUTH_NONE, true, BODY_NONE, NULL, NULL, sy_api_readyz, NULL},
    /* the stream key in the path is the credential */
    {SY_GET, "/ofrep/v1/events/{stream}", SDK, AUTH_NONE, true, BODY_NONE, NULL, NULL,
     sy_api_stream, NULL},
    {SY_POST, "/ofrep/v1/evaluate/flags", SDK, AUTH_TOKEN, true, BODY_RAW, NULL, NULL,
     sy_ofrep_bulk, NULL},
    {SY_POST, "/ofrep/v1/evaluate/flags/{key}", SDK, AUTH_TOKEN, true, BODY_RAW, NULL, NULL,
     sy_ofrep_one, NULL},
    /* the Prometheus exposition, on the serving thread: it shows a stuck engine loop */
    {SY_GET, "/metrics", VIEWER, AUTH_TOKEN, true, BODY_NONE, NULL, NULL, sy_api_metrics, NULL},
    /* the stall gauge: answered on a serving thread, so that it shows a stuck engine loop */
    {SY_GET, "/v1/system/loops", VIEWER, AUTH_TOKEN, true, BODY_NONE, NULL, NULL, sy_api_loops,
     NULL},
    {SY_POST, "/v1/system/loops/reset", ADMIN, AUTH_TOKEN, true, BODY_NONE, NULL, NULL,
     sy_api_loops_reset, NULL},

    {SY_GET, "/v1", SDK, AUTH_TOKEN, false, BODY_NONE, NULL, NULL, sy_api_index, NULL},
    /* who the token is: the console's sign-in */
    {SY_GET, "/v1/whoami", SDK, AUTH_TOKEN, false, BODY_NONE, NULL, NULL, sy_api_whoami, NULL},
    {SY_GET, "/health/aggregate", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_health_aggregate, NULL},
    {SY_POST, "/v1/emergency-rollback", ADMIN, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL,
     sy_api_emergency_rollback, &sy_emergency_request_schema},

    {SY_GET, "/v1/flags", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL, sy_api_flag_list, NULL},
    {SY_GET, "/v1/flags/{key}", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL, sy_api_flag_get,
     NULL},
    {SY_PUT, "/v1/flags/{key}", EDITOR, AUTH_TOKEN, false, BODY_OBJECT, NULL, "*", sy_api_flag_put,
     NULL},
    {SY_DELETE, "/v1/flags/{key}", EDITOR, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_flag_delete, NULL},
    {SY_GET, "/v1/flagset", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL, sy_api_flagset_get,
     NULL},
    {SY_PUT, "/v1/flagset", EDITOR, AUTH_TOKEN, false, BODY_OBJECT, NULL,
     "$schema flags $evaluators metadata", sy_api_flagset_put, NULL},

    {SY_GET, "/v1/tokens", ADMIN, AUTH_TOKEN, false, BODY_NONE, NULL, NULL, sy_api_token_list,
     NULL},
    {SY_POST, "/v1/tokens", ADMIN, AUTH_TOKEN, false, BODY_OBJECT, NULL, "role name",
     sy_api_token_create, NULL},
    {SY_DELETE, "/v1/tokens/{id}", ADMIN, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_token_revoke, NULL},
    {SY_GET, "/v1/audit", VIEWER, AUTH_TOKEN, false, BODY_NONE,
     "resource action since cursor limit", NULL, sy_api_audit, NULL},

    {SY_GET, "/v1/experiments", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_experiment_list, NULL},
    {SY_POST, "/v1/experiments", EDITOR, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL,
     sy_api_experiment_create, &sy_exp_def_schema},
    {SY_GET, "/v1/experiments/{key}", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_experiment_get, NULL},
    /* a merge patch of the settings; its members are the definition's, checked by it */
    {SY_PATCH, "/v1/experiments/{key}", EDITOR, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL,
     sy_api_experiment_patch, &sy_exp_def_schema},
    {SY_POST, "/v1/experiments/{key}/start", EDITOR, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_experiment_start, NULL},
    {SY_POST, "/v1/experiments/{key}/stop", EDITOR, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_experiment_stop, NULL},
    {SY_POST, "/v1/experiments/{key}/terminate", EDITOR, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_experiment_terminate, NULL},
    {SY_GET, "/v1/experiments/{key}/results", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_experiment_results, NULL},
    {SY_GET, "/v1/experiments/{key}/promotion", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_experiment_promotion, NULL},
    {SY_GET, "/v1/experiments/{key}/allocation", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_allocation_get, NULL},
    {SY_POST, "/v1/experiments/{key}/allocation/apply", EDITOR, AUTH_TOKEN, false, BODY_OBJECT,
     NULL, NULL, sy_api_allocation_apply, &sy_step_request_schema},
    {SY_POST, "/v1/experiments/{key}/promote", EDITOR, AUTH_TOKEN, false, BODY_OPTIONAL, NULL, NULL,
     sy_api_experiment_promote, &sy_promote_body_schema},
    {SY_DELETE, "/v1/experiments/{key}/promote", EDITOR, AUTH_TOKEN, false, BODY_OPTIONAL, NULL,
     NULL, sy_api_experiment_rollback, &sy_rollback_request_schema},
    {SY_GET, "/v1/experiments/{key}/history", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_experiment_history, NULL},
    {SY_GET, "/v1/experiments/{key}/timeline", VIEWER, AUTH_TOKEN, false, BODY_NONE,
     "since_ms until_ms limit", NULL, sy_api_experiment_timeline, NULL},
    {SY_GET, "/v1/experiments/{key}/health", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_health_get, NULL},
    {SY_POST, "/v1/experiments/{key}/health", EDITOR, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL,
     sy_api_health_push, &sy_health_push_schema},
    {SY_GET, "/v1/layers", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL, sy_api_layer_list,
     NULL},
    {SY_POST, "/v1/layers", EDITOR, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL, sy_api_layer_create,
     &sy_layer_create_schema},
    {SY_GET, "/v1/layers/{name}", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_layer_get, NULL},
    {SY_PATCH, "/v1/layers/{name}", EDITOR, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL,
     sy_api_layer_patch, &sy_layer_patch_schema},
    {SY_DELETE, "/v1/layers/{name}", EDITOR, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_layer_delete, NULL},
    {SY_GET, "/v1/layers/{name}/results", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_layer_results, NULL},
    {SY_GET, "/v1/guardrails", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_guardrails_get, NULL},
    {SY_PUT, "/v1/guardrails", ADMIN, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL,
     sy_api_guardrails_put, &sy_guardrails_change_schema},
    /* a scheduler may call it with the configured secret instead of a token */
    {SY_GET, "/v1/auto-promotion/config", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_auto_promotion_config, NULL},
    {SY_POST, "/v1/auto-promotion/check", ADMIN, AUTH_CRON, false, BODY_OPTIONAL, NULL, NULL,
     sy_api_auto_promotion, &sy_auto_check_body_schema},
    {SY_POST, "/v1/events", SDK, AUTH_TOKEN, false, BODY_RAW, NULL, NULL, sy_api_events, NULL},

    {SY_POST, "/v1/kpi", SDK, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL, sy_api_kpi,
     &sy_kpi_body_schema},
    {SY_GET, "/v1/regression/policies", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_regression_policies, NULL},
    {SY_POST, "/v1/regression/policies", ADMIN, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL,
     sy_api_regression_policy_put, &sy_regression_policy_change_schema},
    {SY_POST, "/v1/regression/evaluate", EDITOR, AUTH_TOKEN, false, BODY_OPTIONAL, NULL, NULL,
     sy_api_regression_evaluate, &sy_regression_evaluate_schema},
    {SY_GET, "/v1/regression/state", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_regression_state, NULL},
    {SY_GET, "/v1/risk/policies", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_risk_policies, NULL},
    {SY_PUT, "/v1/risk/policies/{domain}", ADMIN, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL,
     sy_api_risk_policy_put, &sy_risk_policy_change_schema},
    {SY_POST, "/v1/risk/check-and-reserve", SDK, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL,
     sy_api_risk_reserve, &sy_risk_request_schema},
    {SY_POST, "/v1/risk/release", SDK, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL,
     sy_api_risk_release, &sy_risk_release_schema},
    {SY_GET, "/v1/risk/ledger", VIEWER, AUTH_TOKEN, false, BODY_NONE, "day", NULL,
     sy_api_risk_ledger, NULL},
    {SY_GET, "/v1/go-live/check", SDK, AUTH_TOKEN, false, BODY_NONE, "class", NULL,
     sy_api_golive_check, NULL},
    {SY_GET, "/v1/go-live/state", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_golive_state, NULL},
    {SY_POST, "/v1/go-live/kill-switch", ADMIN, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL,
     sy_api_kill_switch_put, &sy_kill_switch_change_schema},

    {SY_GET, "/v1/notifications", VIEWER, AUTH_TOKEN, false, BODY_NONE,
     "status channel cursor limit", NULL, sy_api_notifications, NULL},
    {SY_GET, "/v1/notifications/channels", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_channel_list, NULL},
    {SY_POST, "/v1/notifications/channels", ADMIN, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL,
     sy_api_channel_create, &sy_channel_spec_schema},
    {SY_DELETE, "/v1/notifications/channels/{id}", ADMIN, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_channel_delete, NULL},
    {SY_POST, "/v1/notifications/channels/{id}/test", ADMIN, AUTH_TOKEN, false, BODY_NONE, NULL,
     NULL, sy_api_channel_test, NULL},

    {SY_GET, "/v1/routes", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL, sy_api_route_list,
     NULL},
    {SY_POST, "/v1/routes", ADMIN, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL, sy_api_route_create,
     &sy_route_def_schema},
    {SY_GET, "/v1/routes/{name}", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_route_get, NULL},
    {SY_PUT, "/v1/routes/{name}", ADMIN, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL,
     sy_api_route_replace, &sy_route_def_schema},
    {SY_DELETE, "/v1/routes/{name}", ADMIN, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_route_delete, NULL},
    {SY_POST, "/v1/routes/{name}/percentage", EDITOR, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL,
     sy_api_route_percentage, &sy_route_percentage_change_schema},
    {SY_POST, "/v1/routes/{name}/enabled", EDITOR, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL,
     sy_api_route_enabled, &sy_route_enabled_change_schema},
    {SY_POST, "/v1/routes/{name}/report", EDITOR, AUTH_TOKEN, false, BODY_OBJECT, NULL, NULL,
     sy_api_route_report, &sy_route_report_schema},
    {SY_GET, "/v1/routes/{name}/stats", VIEWER, AUTH_TOKEN, false, BODY_NONE, "window", NULL,
     sy_api_route_stats, NULL},
    {SY_GET, "/v1/routes/{name}/series", VIEWER, AUTH_TOKEN, false, BODY_NONE, "window step", NULL,
     sy_api_route_series, NULL},
    {SY_GET, "/v1/routes/{name}/requests", VIEWER, AUTH_TOKEN, false, BODY_NONE,
     "limit upstream errors_only domain", NULL, sy_api_route_requests, NULL},
    {SY_GET, "/v1/routes/{name}/health", VIEWER, AUTH_TOKEN, false, BODY_NONE, NULL, NULL,
     sy_api_route_health, NULL},
};

const size_t sy_n_endpoints = sizeof(sy_endpoints) / sizeof(sy_endpoints[0]);

static const char *method_name(sy_method_t m)
{
    static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    return m < sizeof(names) / sizeof(names[0]) ? names[m] : "?";
}

/* ---- matching --------------------------------------------------------------------------- */

/* Whether `path` (its `len` bytes) is `pattern`: literal segments byte for byte, a
 * "{name}" segment any one non-empty segment, whose raw bytes go to args[i] (at most
 * SY_ARGS_MAX). */
static bool match(const char *pattern, const char *path, size_t len, struct sy_raw_arg *args)
{
    const char *p = pattern, *s = path, *end = path + len;
    size_t n = 0;
    while (*p && s < end) {
        if (*p != '/' || *s != '/')
            return false;
        p++, s++;
        const char *pe = strchr(p, '/'), *se = memchr(s, '/', (size_t)(end - s));
        size_t plen = pe ? (size_t)(pe - p) : strlen(p),
               slen = se ? (size_t)(se - s) : (size_t)(end - s);
        if (plen && *p == '{') {
            if (!slen || n == SY_ARGS_MAX)
                return false;
            args[n++] = (struct sy_raw_arg){.at = s, .len = slen};
        } else if (plen != slen || memcmp(p, s, slen) != 0) {
            return false;
        }
        p += plen, s += slen;
    }
    return !*p && s == end;
}

/* The path without one trailing slash ("/v1/flags/" is "/v1/flags"). */
static size_t path_len(const char *path)
{
    size_t len = strlen(path);
    return len > 1 && path[len - 1] == '/' ? len - 1 : len;
}

const struct sy_endpoint *sy_route_find(const char *path, sy_method_t m, bool data_only,
                                        struct sy_raw_arg *args, bool *path_known)
{
    size_t len = path_len(path);
    *path_known = false;
    for (size_t i = 0; i < sy_n_endpoints; i++) {
        const struct sy_endpoint *e = &sy_endpoints[i];
        if (data_only && !e->data)
            break;
        if (!match(e->path, path, len, args))
            continue;
        *path_known = true;
        if (e->method == m)
            return e;
    }
    return NULL;
}

size_t sy_route_allow(const char *path, char *out, size_t cap)
{
    struct sy_raw_arg args[SY_ARGS_MAX];
    size_t len = path_len(path), o = 0, n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sy_n_endpoints; i++)
        if (match(sy_endpoints[i].path, path, len, args)) {
            const char *name = method_name(sy_endpoints[i].method);
            o += (size_t)snprintf(out + o, o < cap ? cap - o : 0, "%s%s%s", n++ ? ", " : "", name,
                                  sy_endpoints[i].method == SY_GET ? ", HEAD" : "");
        }
    return n;
}

/* Whether the space-separated `list` holds `name`. */
static bool listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, " ");
        if (len == n && memcmp(p, name, n) == 0)
            return true;
        p += len + (p[len] == ' ');
    }
    return false;
}

bool sy_route_takes_param(const struct sy_endpoint *e, const char *name)
{
    return listed(e->query, name);
}

bool sy_route_takes_field(const struct sy_endpoint *e, const char *name)
{
    if (e->schema)
        return sy_schema_field(e->schema, name) != NULL;
    return e->fields && (strcmp(e->fields, "*") == 0 || listed(e->fields, name));
}

/* ---- GET /v1: the table, for people and tools finding their way ------------------------ */

static const char *const body_names[] = {"none", "optional", "required", "required"};

/* The space-separated `list` as a JSON array of strings. */
static json_t *words(const char *list)
{
    json_t *a = json_array();
    for (const char *p = list; a && p && *p;) {
        size_t len = strcspn(p, " ");
        json_array_append_new(a, json_stringn(p, len));
        p += len + (p[len] == ' ');
    }
    return a;
}

void sy_api_index(struct call *c)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < sy_n_endpoints; i++) {
        const struct sy_endpoint *e = &sy_endpoints[i];
        const char *auth = e->auth == AUTH_NONE   ? "none"
                           : e->auth == AUTH_CRON ? "token or cron secret"
                                                  : "token";
        json_t *o = json_pack("{sssssssossss}", "method", method_name(e->method), "path", e->path,
                              "role", e->auth == AUTH_NONE ? "" : sy_role_name(e->role), "query",
                              words(e->query), "body", body_names[e->body], "auth", auth);
        if (o && e->schema) {
            json_t *names = json_array();
            for (size_t f = 0; names && f < e->schema->n; f++)
                json_array_append_new(names, json_string(e->schema->fields[f].name));
            json_object_set_new(o, "fields", names);
        } else if (o && e->fields && strcmp(e->fields, "*") != 0)
            json_object_set_new(o, "fields", words(e->fields));
        else if (o && e->fields)
            json_object_set_new(o, "document", json_true());
        json_array_append_new(list, o);
    }
    reply_json(c, 200, json_pack("{so}", "endpoints", list));
}
