/* api.c - the /v1 resources: flags, the whole flag set, tokens, the audit trail. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/api_json.h"
#include "codec/flag_json.h"
#include "http/internal.h"

void not_allowed(struct call *c, const char *allow)
{
    sy_h1_add_header(c->req, "Allow", allow);
    reply_error(c, 405, "method_not_allowed", "", "allowed here: %s", allow);
}

void reply_result(struct call *c, int rc, int status, json_t *body, const sy_err_t *err)
{
    if (rc < 0)
        reply_err(c, err);
    else
        reply_json_decimal(c, status, body);
}

bool read_body(struct call *c, void *out)
{
    sy_err_t err = {0};
    if (sy_schema_read(c->ep->schema, c->body, out, "", &err) == 0)
        return true;
    reply_err(c, &err);
    return false;
}

void reply_write(struct call *c, int status,
                 int (*fn)(sy_engine_t *, const sy_principal_t *, const json_t *, json_t **,
                           sy_err_t *))
{
    sy_err_t err = {0};
    json_t *out = NULL;
    int rc = fn(c->eng, &c->who, c->body, &out, &err);
    reply_result(c, rc, status, out, &err);
}

void reply_write_named(struct call *c, int status,
                       int (*fn)(sy_engine_t *, const sy_principal_t *, const char *,
                                 const json_t *, json_t **, sy_err_t *))
{
    sy_err_t err = {0};
    json_t *out = NULL;
    int rc = fn(c->eng, &c->who, c->arg[0], c->body, &out, &err);
    reply_result(c, rc, status, out, &err);
}

void reply_read(struct call *c,
                int (*fn)(sy_engine_t *, const sy_principal_t *, json_t **, sy_err_t *))
{
    sy_err_t err = {0};
    json_t *out = NULL;
    int rc = fn(c->eng, &c->who, &out, &err);
    reply_result(c, rc, 200, out, &err);
}

void reply_read_named(struct call *c, int (*fn)(sy_engine_t *, const sy_principal_t *, const char *,
                                                json_t **, sy_err_t *))
{
    sy_err_t err = {0};
    json_t *out = NULL;
    int rc = fn(c->eng, &c->who, c->arg[0], &out, &err);
    reply_result(c, rc, 200, out, &err);
}

/* ---- /v1/flags ----------------------------------------------------------------------- */

/* The answer written into `t` (freed here): 200, or the error `rc` (500 out_of_memory when
 * the text could not be written whole, as reply_json does). */
static void reply_text(struct call *c, int rc, sy_text_t *t, const sy_err_t *err)
{
    if (rc < 0)
        reply_err(c, err);
    else if (t->failed)
        reply_json(c, 500, NULL);
    else
        reply_bytes(c, 200, t->p, t->len);
    sy_text_free(t);
}

void sy_api_flag_list(struct call *c)
{
    char buf[4096];
    sy_text_t t;
    sy_text_init(&t, buf, sizeof(buf));
    sy_flag_list_json_t w;
    sy_flag_list_json_begin(&w, &t);
    sy_err_t err = {0};
    int rc = sy_engine_flag_list(c->eng, &c->who, sy_flag_list_json_add, &w, &err);
    sy_flag_list_json_end(&w);
    reply_text(c, rc, &t, &err);
}

void sy_api_flag_get(struct call *c)
{
    sy_err_t err = {0};
    char *def = NULL, buf[2048];
    sy_text_t t;
    sy_text_init(&t, buf, sizeof(buf));
    int rc = sy_engine_flag_get(c->eng, &c->who, c->arg[0], &def, &err);
    if (rc == 0)
        sy_flag_json_write(&t, c->arg[0], def, strlen(def));
    free(def);
    reply_text(c, rc, &t, &err);
}

/* The warnings of a change that was made: [{"field": JSON path, "message"}]. */
static json_t *warnings_json(const sy_problems_t *p)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < p->n; i++)
        if (!p->items[i].error)
            json_array_append_new(
                a, json_pack("{ssss}", "field", p->items[i].path, "message", p->items[i].msg));
    return a;
}

/* The problems that refused a change: [{"field": JSON path, "message"}]. */
static json_t *refusals_json(const sy_problems_t *p)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < p->n; i++)
        if (p->items[i].error)
            json_array_append_new(
                a, json_pack("{ssss}", "field", p->items[i].path, "message", p->items[i].msg));
    return a;
}

/* Memory one request's flag or document may take as values and text (its body is at most
 * --max-body, parsed once already). */
#define FLAG_ARENA_MAX ((size_t)256 << 20)

void sy_api_flag_put(struct call *c)
{
    sy_err_t err = {0};
    bool created = false;
    sy_problem_t items[64];
    sy_problems_t problems = {.items = items, .cap = 64};
    char buf[8192];
    sy_arena_t arena;
    sy_arena_init_with(&arena, buf, sizeof(buf), FLAG_ARENA_MAX);
    sy_flag_src_t def;
    int rc = sy_flag_src_from_json(c->body, &arena, &def, &err);
    if (rc == 0)
        rc = sy_engine_flag_put(c->eng, &c->who, c->arg[0], &def, &created, &problems, &err);
    sy_arena_free(&arena);
    if (rc == -EINVAL && problems.errors) {
        /* Every refusing problem (the validator goes on past the first), so that an
         * editor can show each at its path; the error object names the first. */
        reply_json(c, 400,
                   json_pack("{s{ssssss}so}", "error", "code", "invalid_input", "message", err.msg,
                             "field", err.field, "problems", refusals_json(&problems)));
        return;
    }
    if (rc < 0)
        reply_err(c, &err);
    else
        reply_json(c, created ? 201 : 200,
                   json_pack("{sssOso}", "key", c->arg[0], "definition", c->body, "warnings",
                             warnings_json(&problems)));
}

void sy_api_flag_delete(struct call *c)
{
    sy_err_t err = {0};
    if (sy_engine_flag_delete(c->eng, &c->who, c->arg[0], &err) < 0)
        reply_err(c, &err);
    else
        reply_json(c, 200, json_pack("{sssb}", "key", c->arg[0], "deleted", 1));
}

/* ---- /v1/flagset --------------------------------------------------------------------- */

static json_t *problems_json(const sy_problems_t *p, bool errors)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < p->n; i++)
        if (p->items[i].error == errors)
            json_array_append_new(a, json_pack("{ssssss}", "flag", p->items[i].flag, "path",
                                               p->items[i].path, "message", p->items[i].msg));
    return a;
}

void sy_api_flagset_get(struct call *c)
{
    char buf[8192];
    sy_text_t t;
    sy_text_init(&t, buf, sizeof(buf));
    sy_flagset_json_t w;
    sy_flagset_json_begin(&w, &t);
    sy_flag_doc_sink_t sink = sy_flagset_json_sink(&w);
    sy_err_t err = {0};
    int rc = sy_engine_flagset_get(c->eng, &c->who, &sink, &err);
    sy_flagset_json_end(&w);
    reply_text(c, rc, &t, &err);
}

void sy_api_flagset_put(struct call *c)
{
    sy_problem_t items[64];
    sy_problems_t problems = {.items = items, .cap = 64};
    sy_err_t err = {0};
    sy_arena_t arena;
    sy_arena_init(&arena, FLAG_ARENA_MAX);
    sy_flag_doc_t doc = {0};
    int rc = sy_flag_doc_from_json(c->body, &arena, &doc, &err);
    if (rc == 0)
        rc = sy_engine_flagset_put(c->eng, &c->who, &doc, &problems, &err);
    sy_arena_free(&arena);
    if (rc < 0 && problems.errors) {
        /* Every problem, by flag and path, beside the usual error object. */
        json_t *body =
            json_pack("{s{ssssss}so}", "error", "code", "invalid_flags", "message", err.msg,
                      "field", err.field, "problems", problems_json(&problems, true));
        reply_json(c, 400, body);
        return;
    }
    if (rc < 0) {
        reply_err(c, &err);
        return;
    }
    reply_json(c, 200,
               json_pack("{sIso}", "flags", (json_int_t)doc.n, "warnings",
                         problems_json(&problems, false)));
}

/* ---- /v1/tokens ---------------------------------------------------------------------- */

int64_t sy_id_arg(const char *s)
{
    /* as ids are written: digits, no sign, no space, no leading zero ("+7", " 9" and "010"
     * name nothing) */
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 18 || s[n] || s[0] == '0')
        return 0;
    return strtoll(s, NULL, 10);
}

void sy_api_token_revoke(struct call *c)
{
    sy_err_t err = {0};
    int64_t n = sy_id_arg(c->arg[0]);
    if (!n)
        reply_error(c, 400, "invalid_input", "id", "a token id is a positive integer");
    else if (sy_engine_token_revoke(c->eng, &c->who, n, &err) < 0)
        reply_err(c, &err);
    else
        reply_json(c, 200, json_pack("{sIsb}", "id", (json_int_t)n, "revoked", 1));
}

void sy_api_token_list(struct call *c)
{
    sy_err_t err = {0};
    json_t *list = json_array();
    if (!list || sy_engine_token_list(c->eng, &c->who, sy_token_json_add, list, &err) < 0) {
        json_decref(list);
        reply_err(c, list ? &err : &(sy_err_t){.code = -ENOMEM, .msg = "out of memory"});
    } else {
        reply_json(c, 200, json_pack("{so}", "tokens", list));
    }
}

void sy_api_token_create(struct call *c)
{
    sy_err_t err = {0};
    const json_t *body = c->body;
    static const char *const fields[] = {"role", "name", NULL};
    json_t *role_j = json_object_get(body, "role"), *name_j = json_object_get(body, "name");
    sy_role_t role;
    if (!only_fields(c, body, fields)) {
        /* replied */
    } else if (!json_is_string(role_j) || sy_role_parse(json_string_value(role_j), &role) < 0) {
        reply_error(c, 400, "invalid_input", "role", "role must be admin, editor, viewer or sdk");
    } else if (!json_is_string(name_j)) {
        reply_error(c, 400, "invalid_input", "name", "name must be a string");
    } else {
        char secret[SY_TOKEN_MAX];
        int64_t tid;
        if (sy_engine_token_create(c->eng, &c->who, 0, json_string_value(name_j), role, secret,
                                   sizeof(secret), &tid, &err) < 0)
            reply_err(c, &err);
        else
            reply_json(c, 201,
                       json_pack("{sIssssss}", "id", (json_int_t)tid, "name",
                                 json_string_value(name_j), "role", sy_role_name(role), "token",
                                 secret));
    }
}

/* GET /v1/whoami (any token): the token's id, name and role and its workspace, so that a
 * client (the console's sign-in) can say who it acts as and what it may do. */
void sy_api_whoami(struct call *c)
{
    char ws[256];
    sy_err_t err = {0};
    if (sy_engine_workspace_name(c->eng, &c->who, ws, sizeof(ws), &err) < 0) {
        reply_err(c, &err);
        return;
    }
    reply_json(c, 200,
               json_pack("{s{sIss}s{sIssss}}", "workspace", "id", (json_int_t)c->who.workspace,
                         "name", ws, "token", "id", (json_int_t)c->who.token_id, "name",
                         c->who.name, "role", sy_role_name(c->who.role)));
}

/* ---- /v1/audit ----------------------------------------------------------------------- */

bool int_param(struct call *c, const char *name, const char *v, long long lo, long long hi,
               long long *out)
{
    /* Digits only (an optional '-'): strtoll would also take leading spaces and '+', and
     * clamp a value past the range of long long to its end (ERANGE) rather than fail. */
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!(*v == '-' || (*v >= '0' && *v <= '9')) || *end || errno == ERANGE || n < lo ||
        n > hi) {
        reply_error(c, 400, "invalid_input", name, "%s must be an integer in [%lld, %lld]", name,
                    lo, hi);
        return false;
    }
    *out = n;
    return true;
}

void sy_api_audit(struct call *c)
{
    sy_store_audit_query_t aq = {.limit = 100};
    char resource[512], action[512], key[32], val[512];
    long long n = 0;
    bool ok = true;
    int rc;
    for (const char *q = c->query;
         ok && (rc = sy_query_next(&q, key, sizeof(key), val, sizeof(val))) != 0;) {
        if (rc < 0) {
            reply_error(c, 400, "invalid_input", "",
                        "the query string does not parse (a bad %%-escape or an over-long part)");
            ok = false;
        } else if (strcmp(key, "resource") == 0) {
            aq.resource = strcpy(resource, val);
        } else if (strcmp(key, "action") == 0) {
            aq.action = strcpy(action, val);
        } else if (strcmp(key, "since") == 0) {
            ok = int_param(c, "since", val, 0, INT64_MAX / 2, &n);
            aq.since_ms = n;
        } else if (strcmp(key, "cursor") == 0) {
            ok = int_param(c, "cursor", val, 1, INT64_MAX / 2, &n);
            aq.before_id = n;
        } else if (strcmp(key, "limit") == 0) {
            ok = int_param(c, "limit", val, 1, 1000, &n);
            aq.limit = (int)n;
        } else {
            reply_error(c, 400, "unknown_field", key, "unknown query parameter \"%.64s\"", key);
            ok = false;
        }
    }
    if (ok) {
        sy_err_t err = {0};
        json_t *events = json_array();
        if (!events ||
            sy_engine_audit_list(c->eng, &c->who, &aq, sy_audit_json_add, events, &err) < 0) {
            json_decref(events);
            reply_err(c, events ? &err : &(sy_err_t){.code = -ENOMEM, .msg = "out of memory"});
        } else {
            /* A full page has a cursor to the next (older) one. */
            size_t len = json_array_size(events);
            json_t *body = json_pack("{so}", "events", events);
            if (body && len == (size_t)aq.limit)
                json_object_set_new(body, "next_cursor",
                                    json_integer(json_integer_value(
                                        json_object_get(json_array_get(events, len - 1), "id"))));
            reply_json(c, 200, body);
        }
    }
}

/* GET /v1/system/loops: every serving loop's stall gauge (viewer); POST
 * /v1/system/loops/reset starts them from zero (admin): a benchmark's phases each get
 * their own longest iteration. The process's, not a workspace's: it says nothing of
 * anyone's data. */
void sy_api_loops_reset(struct call *c)
{
    sy_engine_loops_reset(c->eng);
    reply_json(c, 200, json_pack("{sb}", "reset", 1));
}

void sy_api_loops(struct call *c)
{
    sy_loopstat_view_t v[64];
    size_t n = sy_engine_loops(c->eng, v, 64);
    json_t *loops = json_array(), *le = json_array();
    for (int b = 0; le && b < SY_LOOPSTAT_BUCKETS - 1; b++)
        json_array_append_new(le, json_integer(sy_loopstat_le_us[b]));
    for (size_t i = 0; loops && i < n && i < 64; i++) {
        json_t *counts = json_array();
        for (int b = 0; counts && b < SY_LOOPSTAT_BUCKETS; b++)
            json_array_append_new(counts, json_integer(v[i].buckets[b]));
        json_t *loop =
            json_pack("{sssIsIso}", "name", v[i].name, "iterations", (json_int_t)v[i].iterations,
                      "longest_us", (json_int_t)v[i].longest_us, "histogram", counts);
        if (loop && v[i].longest_cpu_us >= 0)
            json_object_set_new(loop, "longest_cpu_us", json_integer(v[i].longest_cpu_us));
        json_array_append_new(loops, loop);
    }
    reply_json(c, 200, json_pack("{sososs}", "loops", loops, "le_us", le, "unit", "microseconds"));
}

/* GET /health/aggregate (viewer): every component's state for the caller's workspace and
 * the worst of them; 503 when that is unhealthy, so that a monitor may read the status
 * alone. */
void sy_api_health_aggregate(struct call *c)
{
    sy_health_component_t *v = NULL;
    size_t n = 0;
    sy_health_state_t overall = SY_HEALTHY;
    sy_err_t err = {0};
    int rc = sy_engine_health_aggregate(c->eng, &c->who, &v, &n, &overall, &err);
    json_t *out = rc < 0 ? NULL : sy_health_aggregate_json(v, n, overall);
    free(v);
    reply_result(c, rc, overall == SY_UNHEALTHY ? 503 : 200, out, &err);
}

/* POST /v1/emergency-rollback (admin): every running experiment to its control and every
 * route to legacy, timed. 200 when all went back, 500 naming the first failure otherwise
 * (the report beside the error: what did go back stays back). A "workspace" that is not the
 * token's is 403 and changes nothing: the operator meant another one. */
void sy_api_emergency_rollback(struct call *c)
{
    sy_emergency_request_t req = {0};
    if (!read_body(c, &req))
        return;
    if (req.workspace) {
        int64_t ws = 0;
        sy_err_t werr = {0};
        int wrc = sy_engine_workspace_find(c->eng, req.workspace, &ws, &werr);
        if (wrc < 0 && wrc != -ENOENT) {
            reply_err(c, &werr);
            return;
        }
        if (wrc == -ENOENT || ws != c->who.workspace) {
            reply_error(c, 403, "wrong_workspace", "workspace",
                        "this token acts on another workspace than \"%.64s\": nothing was "
                        "rolled back",
                        req.workspace);
            return;
        }
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sy_emergency_report_t r;
    sy_err_t err = {0};
    int rc = sy_engine_emergency_rollback(c->eng, &c->who, req.reason, &r, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc < 0) {
        reply_err(c, &err);
        return;
    }
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    json_t *out = sy_emergency_report_json(&r, ms);
    if (out && (r.experiments_failed || r.routes_failed))
        json_object_set_new(
            out, "error",
            json_pack("{sssss}", "code", "partial", "message", r.first_failure, "field", ""));
    reply_json_decimal(c, r.experiments_failed || r.routes_failed ? 500 : 200, out);
}
