/* api.c - the /v1 resources: flags, the whole flag set, tokens, the audit trail. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void read_write(struct call *c, sy_method_t write, int created,
                int (*get)(sy_engine_t *, const sy_principal_t *, json_t **, sy_err_t *),
                int (*put)(sy_engine_t *, const sy_principal_t *, const json_t *, json_t **,
                           sy_err_t *))
{
    sy_method_t m = sy_h1_method(c->req);
    if (m != SY_GET && m != write) {
        not_allowed(c, write == SY_PUT ? "GET, PUT" : "GET, POST");
        return;
    }
    if (!require_role(c, m == SY_GET ? SY_ROLE_VIEWER : SY_ROLE_ADMIN))
        return;
    sy_err_t err = {0};
    json_t *out = NULL;
    int rc;
    if (m == SY_GET) {
        rc = get(c->eng, &c->who, &out, &err);
    } else {
        json_t *body = body_object(c);
        if (!body)
            return;
        rc = put(c->eng, &c->who, body, &out, &err);
        json_decref(body);
    }
    reply_result(c, rc, m == SY_GET ? 200 : created, out, &err);
}

void write_named(struct call *c, sy_role_t role, int status, const char *name,
                 int (*fn)(sy_engine_t *, const sy_principal_t *, const char *, const json_t *,
                           json_t **, sy_err_t *))
{
    if (!require_role(c, role))
        return;
    json_t *body = body_object(c);
    if (!body)
        return;
    sy_err_t err = {0};
    json_t *out = NULL;
    int rc = fn(c->eng, &c->who, name, body, &out, &err);
    json_decref(body);
    reply_result(c, rc, status, out, &err);
}

bool optional_body(struct call *c, json_t **out)
{
    size_t len;
    sy_h1_body(c->req, &len);
    *out = len ? body_object(c) : NULL;
    return !len || *out;
}

static sy_method_t method(const struct call *c)
{
    return sy_h1_method(c->req);
}

/* ---- /v1/flags ----------------------------------------------------------------------- */

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

void sy_api_flags(struct call *c, const char *key)
{
    sy_err_t err = {0};
    if (!*key) {
        if (method(c) != SY_GET) {
            not_allowed(c, "GET");
            return;
        }
        if (require_role(c, SY_ROLE_VIEWER) && no_params(c))
            reply_json(c, 200, sy_engine_flag_list(c->eng, &c->who));
        return;
    }
    switch (method(c)) {
    case SY_GET: {
        json_t *def;
        if (!require_role(c, SY_ROLE_VIEWER))
            return;
        if (sy_engine_flag_get(c->eng, &c->who, key, &def, &err) < 0) {
            reply_err(c, &err);
            return;
        }
        reply_json(c, 200, json_pack("{ssso}", "key", key, "definition", def));
        return;
    }
    case SY_PUT: {
        if (!require_role(c, SY_ROLE_EDITOR))
            return;
        json_t *def = body_object(c);
        if (!def)
            return;
        bool created = false;
        sy_problem_t items[64];
        sy_problems_t problems = {.items = items, .cap = 64};
        int rc = sy_engine_flag_put(c->eng, &c->who, key, def, &created, &problems, &err);
        if (rc < 0) {
            json_decref(def);
            reply_err(c, &err);
            return;
        }
        reply_json(c, created ? 201 : 200,
                   json_pack("{sssoso}", "key", key, "definition", def, "warnings",
                             warnings_json(&problems)));
        return;
    }
    case SY_DELETE:
        if (!require_role(c, SY_ROLE_EDITOR))
            return;
        if (sy_engine_flag_delete(c->eng, &c->who, key, &err) < 0) {
            reply_err(c, &err);
            return;
        }
        reply_json(c, 200, json_pack("{sssb}", "key", key, "deleted", 1));
        return;
    default: {
        not_allowed(c, "GET, PUT, DELETE");
        return;
    }
    }
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

void sy_api_flagset(struct call *c)
{
    if (method(c) == SY_GET) {
        if (require_role(c, SY_ROLE_VIEWER))
            reply_json(c, 200, sy_engine_flagset_get(c->eng, &c->who));
        return;
    }
    if (method(c) != SY_PUT) {
        not_allowed(c, "GET, PUT");
        return;
    }
    if (!require_role(c, SY_ROLE_EDITOR))
        return;
    json_t *doc = body_object(c);
    if (!doc)
        return;
    static const char *const fields[] = {"$schema", "flags", "$evaluators", "metadata", NULL};
    if (!only_fields(c, doc, fields)) {
        json_decref(doc);
        return;
    }
    sy_problem_t items[64];
    sy_problems_t problems = {.items = items, .cap = 64};
    sy_err_t err = {0};
    int rc = sy_engine_flagset_put(c->eng, &c->who, doc, &problems, &err);
    size_t nflags = json_object_size(json_object_get(doc, "flags"));
    json_decref(doc);
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
               json_pack("{sIso}", "flags", (json_int_t)nflags, "warnings",
                         problems_json(&problems, false)));
}

/* ---- /v1/tokens ---------------------------------------------------------------------- */

void sy_api_tokens(struct call *c, const char *id)
{
    sy_err_t err = {0};
    if (!require_role(c, SY_ROLE_ADMIN))
        return;
    if (*id) {
        if (method(c) != SY_DELETE) {
            not_allowed(c, "DELETE");
            return;
        }
        char *end;
        long long n = strtoll(id, &end, 10);
        if (*end || n <= 0) {
            reply_error(c, 400, "invalid_input", "id", "a token id is a positive integer");
            return;
        }
        if (sy_engine_token_revoke(c->eng, &c->who, n, &err) < 0) {
            reply_err(c, &err);
            return;
        }
        reply_json(c, 200, json_pack("{sIsb}", "id", (json_int_t)n, "revoked", 1));
        return;
    }
    if (method(c) == SY_GET) {
        json_t *list;
        if (sy_engine_token_list(c->eng, &c->who, &list, &err) < 0) {
            reply_err(c, &err);
            return;
        }
        reply_json(c, 200, json_pack("{so}", "tokens", list));
        return;
    }
    if (method(c) != SY_POST) {
        not_allowed(c, "GET, POST");
        return;
    }
    json_t *body = body_object(c);
    if (!body)
        return;
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
    json_decref(body);
}

/* ---- /v1/audit ----------------------------------------------------------------------- */

bool int_param(struct call *c, const char *name, const char *v, long long lo, long long hi,
               long long *out)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || n < lo || n > hi) {
        reply_error(c, 400, "invalid_input", name, "%s must be an integer in [%lld, %lld]", name,
                    lo, hi);
        return false;
    }
    *out = n;
    return true;
}

/* The name of the query part at `p` as it was written, cut to fit `out`: bytes outside
 * printable ASCII as %XX, since the answer is JSON (UTF-8 only) and a client's bytes, or
 * what they decode to, need not be. */
static void written_name(const char *p, char *out, size_t cap)
{
    size_t n = strcspn(p, "&="), o = 0;
    for (size_t i = 0; i < n && o + 4 <= cap; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch > 0x20 && ch < 0x7f)
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", ch);
    }
    out[o] = '\0';
}

bool no_params(struct call *c)
{
    const char *q = c->query;
    char key[256], val[512], name[64];
    int rc = sy_query_next(&q, key, sizeof(key), val, sizeof(val));
    if (rc == 0)
        return true;
    written_name(c->query + strspn(c->query, "&"), name, sizeof(name));
    if (rc < 0)
        reply_error(c, 400, "invalid_input", name,
                    "query parameter \"%s\" does not decode (a bad %%-escape or an over-long part)",
                    name);
    else
        reply_error(c, 400, "unknown_field", name,
                    "unknown query parameter \"%s\": this resource takes none", name);
    return false;
}

void sy_api_audit(struct call *c)
{
    if (method(c) != SY_GET) {
        not_allowed(c, "GET");
        return;
    }
    if (!require_role(c, SY_ROLE_VIEWER))
        return;
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
        json_t *events;
        if (sy_engine_audit_list(c->eng, &c->who, &aq, &events, &err) < 0) {
            reply_err(c, &err);
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
void sy_api_system(struct call *c, const char *what)
{
    bool reset = strcmp(what, "loops/reset") == 0;
    if (!reset && strcmp(what, "loops") != 0) {
        reply_error(c, 404, "not_found", "", "no such endpoint: /v1/system/%.64s", what);
        return;
    }
    if (method(c) != (reset ? SY_POST : SY_GET)) {
        not_allowed(c, reset ? "POST" : "GET");
        return;
    }
    if (!require_role(c, reset ? SY_ROLE_ADMIN : SY_ROLE_VIEWER) || !no_params(c))
        return;
    if (reset) {
        sy_engine_loops_reset(c->eng);
        reply_json(c, 200, json_pack("{sb}", "reset", 1));
        return;
    }
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
