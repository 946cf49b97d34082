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

struct worker; /* a data-plane thread (workers.c) */

struct call {
    sy_h1_req_t *req;
    sy_http_t *http;
    sy_engine_t *eng;           /* its own calls only on the engine's thread (w NULL) */
    struct worker *w;           /* the worker serving it; NULL on the engine's thread */
    sy_engine_reader_t *rd;     /* the serving thread's reader, refreshed for this request */
    struct sy_streams *streams; /* the serving loop's streams; NULL on the engine's with workers */
    sy_principal_t who;         /* valid once authenticated */
    int status;                 /* what was answered, for the log */
    const char *query;          /* raw query string or NULL */
    struct timespec t0;         /* when the request came, for the log */
    bool logged;                /* its log line is written (replies log before answering) */
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

/* OFREP event streams (stream.c), one set per serving loop. */
struct sy_streams;
/* `secret` (32 bytes, outliving the set) is what stream keys are made from. */
struct sy_streams *sy_streams_new(struct event_base *base, const unsigned char *secret);
void sy_streams_free(struct sy_streams *s); /* ends every stream; NULL is a no-op */
/* Ends every stream (shutdown). */
void sy_streams_end(struct sy_streams *s);
/* The longest stream key, NUL included. */
#define SY_STREAM_KEY_MAX 56
/* The stream key of workspace `ws` made from `secret` into `out`: 0 or -EIO. */
int sy_stream_key(const unsigned char *secret, int64_t ws, char *out);
/* The same, remembered by the set (NULL when out of memory). */
const char *sy_streams_key(struct sy_streams *s, int64_t ws);
/* Tells workspace `ws`'s streams to refetch. */
void sy_streams_changed(struct sy_streams *s, int64_t ws);
/* Answers the call with the stream for `key`, or with 404. */
void sy_streams_open(struct sy_streams *s, struct call *c, const char *key);

/* ---- between the server and its workers (server.c, workers.c) ---------------------------- */

/* The secret stream keys are made from (32 bytes). */
const unsigned char *sy_http_stream_secret(const sy_http_t *http);
sy_engine_t *sy_http_engine(const sy_http_t *http);
/* The engine loop's stall gauge. */
sy_loopstat_t *sy_http_engine_loop(sy_http_t *http);
/* Answers the data plane's requests (OFREP, its streams, /healthz, /readyz) with the
 * reader and streams of the thread serving: true when answered (or streaming), false
 * when the request is the engine's (any other path; an OFREP token only the store may
 * know, from a worker). */
bool sy_http_dispatch_data(struct call *c);
/* A worker's request: true when answered, false when it must go to the engine. */
bool sy_http_worker_request(sy_http_t *http, struct worker *w, sy_engine_reader_t *rd,
                            struct sy_streams *streams, sy_h1_req_t *req);
/* Adds the CORS headers of a request from an origin --cors-origins lets in (none for any
 * other): once per request, by the thread that owns its connection. */
void sy_http_cors(const sy_http_t *http, sy_h1_req_t *req);
/* Serves `req` on the engine's thread: any endpoint (a detached copy from a worker, or
 * the engine loop's own connection). */
void sy_http_serve(sy_http_t *http, sy_h1_req_t *req);
/* Whether to read the body of `req` (h1's on_head): credentials that hold. */
bool sy_http_body_allowed(sy_http_t *http, sy_engine_reader_t *rd, const sy_h1_req_t *req,
                          bool engine_thread);
/* OFREP on worker `w` saw an exposure (sy_engine_exposure_seen's arguments): sent to the
 * engine after the request. */
void sy_worker_seen(struct worker *w, int64_t ws, const char *flag, size_t flag_len,
                    const char *unit, size_t unit_len, const char *variant, size_t variant_len);

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
/* /v1/system/{loops,loops/reset}: `what` after /v1/system/. */
void sy_api_system(struct call *c, const char *what);
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
/* GET /v1/auto-promotion/config: the server-wide settings in force and their sources. */
void sy_api_auto_promotion_config(struct call *c);

#endif
