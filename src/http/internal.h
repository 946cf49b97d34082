/* internal.h - what the handlers of http/ share: one request's call state and the reply
 * helpers. Not a public interface: only the files of http/ include it.
 *
 * Every handler answers exactly once, through a reply helper; the helpers take the
 * references they are given. A handler that finds bad input replies with the error and
 * returns at once: nothing has changed by then.
 */
#ifndef SY_HTTP_INTERNAL_H
#define SY_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "core/err.h"
#include "engine/engine.h"
#include "http/h1.h"
#include "http/server.h"

struct call {
    sy_h1_req_t *req;
    sy_http_t *http;
    sy_engine_t *eng;
    sy_principal_t who; /* valid once authenticated */
    int status;         /* what was answered, for the log */
    const char *query;  /* raw query string or NULL */
    struct timespec t0; /* when the request came, for the log */
    bool deferred;      /* a heap copy answered after the handler returned: it logs itself */
};

/* Replies `status` with `body` as JSON (takes the reference; NULL means out of memory,
 * answered 500). */
void reply_json(struct call *c, int status, json_t *body);
/* As reply_json, with reals written to 15 significant digits: settings read back as the
 * decimals they were given (0.95, not 0.94999999999999996), and statistics keep more
 * digits than they are good for. Not for flags: their values must round-trip exactly. */
void reply_json_decimal(struct call *c, int status, json_t *body);
/* Replies {"error":{"code","message","field"}}. */
void reply_error(struct call *c, int status, const char *code, const char *field, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));
/* Replies `status` with JSON text already written. */
void reply_bytes(struct call *c, int status, const char *json, size_t len);
/* Replies `status` with no body (304). */
void reply_empty(struct call *c, int status);
/* Replies a filled sy_err_t, its code mapped to a status (-EINVAL 400, -ENOENT 404,
 * -EEXIST and SY_ECONFLICT 409, -E2BIG 413, -EBUSY 429, -EIO and -EAGAIN 503, -ENOSPC 507,
 * others 500). */
void reply_err(struct call *c, const sy_err_t *err);

/* The body parsed as a JSON object (new reference), or NULL after replying 400. (Bodies
 * over the limit never reach a handler: h1 answers 413.) */
json_t *body_object(struct call *c);
/* True when every key of `obj` is in the NULL-terminated `allowed`; otherwise replies 400
 * unknown_field naming the first other key and returns false. */
bool only_fields(struct call *c, const json_t *obj, const char *const *allowed);

/* Answers a deferred ingest call (`arg`, a heap copy made for it, freed) once its group
 * commit is done: {"accepted", "duplicates"}, or the commit's error. A sy_ingest_done_cb. */
void ingest_done(void *arg, int rc, const sy_ingest_result_t *r, const sy_err_t *err);

/* Replies 405 with an Allow header listing `allow`. */
void not_allowed(struct call *c, const char *allow);
/* Replies `body` (decimal reals) with `status` when rc is 0, else the error in `err`. */
void reply_result(struct call *c, int rc, int status, json_t *body, const sy_err_t *err);
/* A settings resource: GET (viewer) answers `get`, `write` (PUT or POST; admin) hands the
 * JSON body to `put` and answers `created` (200, or 201 for a new resource). */
void read_write(struct call *c, sy_method_t write, int created,
                int (*get)(sy_engine_t *, const sy_principal_t *, json_t **, sy_err_t *),
                int (*put)(sy_engine_t *, const sy_principal_t *, const json_t *, json_t **,
                           sy_err_t *));
/* A change to the item `name` of a resource: requires `role`, hands the JSON object body
 * to `fn` and answers `status` (the method is the caller's to check). */
void write_named(struct call *c, sy_role_t role, int status, const char *name,
                 int (*fn)(sy_engine_t *, const sy_principal_t *, const char *, const json_t *,
                           json_t **, sy_err_t *));
/* An optional body: true with *out NULL when there is none, true with the object, or false
 * after replying 400. */
bool optional_body(struct call *c, json_t **out);

/* Query parameter `name` (text `v`) as an integer from `lo` to `hi` into *out, or false
 * after replying 400. */
bool int_param(struct call *c, const char *name, const char *v, long long lo, long long hi,
               long long *out);

/* True when the query string has no parameter, for resources that take none; otherwise
 * replies 400 naming the first one as it was written (bytes outside printable ASCII as
 * %XX): invalid_input when it does not decode (a bad %-escape), else unknown_field. */
bool no_params(struct call *c);

/* True when the caller's role is at least `min`; otherwise replies 403 and returns false. */
bool require_role(struct call *c, sy_role_t min);

/* OFREP event streams (stream.c), one set per server. */
struct sy_streams;
struct sy_streams *sy_streams_new(struct event_base *base);
void sy_streams_free(struct sy_streams *s); /* ends every stream; NULL is a no-op */
/* Ends every stream (shutdown). */
void sy_streams_end(struct sy_streams *s);
/* The stream key of workspace `ws` (drawn on first use), or NULL when out of memory. */
const char *sy_streams_key(struct sy_streams *s, int64_t ws);
/* Tells workspace `ws`'s streams to refetch. */
void sy_streams_changed(struct sy_streams *s, int64_t ws);
/* Answers the call with the stream for `key`, or with 404. */
void sy_streams_open(struct sy_streams *s, struct call *c, const char *key);
/* The server's streams. */
struct sy_streams *sy_http_streams(const sy_http_t *http);

/* Handlers: `rest` is the path after the resource prefix ("" or "/{id}"), percent-decoded
 * into a caller buffer. */
void sy_api_flags(struct call *c, const char *key);        /* /v1/flags[/{key}] */
void sy_api_flagset(struct call *c);                       /* /v1/flagset */
void sy_api_tokens(struct call *c, const char *id);        /* /v1/tokens[/{id}] */
void sy_api_audit(struct call *c);                         /* /v1/audit */
void sy_ofrep_evaluate(struct call *c, const char *key);   /* NULL key: bulk */
void sy_api_experiments(struct call *c, const char *rest); /* /v1/experiments[/{key}[/..]] */
void sy_api_events(struct call *c);                        /* /v1/events */
void sy_api_guardrails(struct call *c);                    /* /v1/guardrails */
void sy_api_kpi(struct call *c);                           /* /v1/kpi */
/* /v1/regression/{policies,evaluate,state}: `what` is the part after /v1/regression/. */
void sy_api_regression(struct call *c, const char *what);
/* /v1/risk/{policies[/{domain}],check-and-reserve,release,ledger}: `what` after /v1/risk/. */
void sy_api_risk(struct call *c, const char *what);
/* /v1/go-live/{state,kill-switch,check}: `what` after /v1/go-live/. */
void sy_api_golive(struct call *c, const char *what);
/* /v1/notifications (the deliveries) and /v1/notifications/channels[/{id}[/test]]: `rest`
 * is the raw path after /v1/notifications ("" or "/..."). */
void sy_api_notifications(struct call *c, const char *rest);
/* The server's options (server.c). */
const sy_http_opts_t *sy_http_opts(const sy_http_t *http);
/* /v1/routes[/{name}[/percentage|/enabled]]: `rest` is the raw path after "/v1/routes/"
 * ("" for the collection). */
void sy_api_routes(struct call *c, const char *rest);
/* False after replying 403 when the request is marked X-Execution-Class: PROD_EXEC, changes
 * something, and the caller's workspace has its kill switch engaged. */
bool sy_api_prod_exec_allowed(struct call *c, const char *path);
/* POST /v1/auto-promotion/check; `system` when a cron secret, not a token, let it in. */
void sy_api_auto_promotion(struct call *c, bool system);

#endif
