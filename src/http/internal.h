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
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>

#include "core/err.h"
#include "codec/schema.h"
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
    const struct sy_endpoint *ep; /* the endpoint it called (router.c) */
    bool system;  /* let in by the cron secret, not a token: acts for every workspace */
    json_t *body; /* the body (BODY_OBJECT, BODY_OPTIONAL), owned by dispatch */
    struct sy_evalstats *evals; /* the serving thread's evaluation counts (evalstats.h) */
    char arg[2][512];           /* the path's "{name}" segments, percent-decoded */
};

#define SY_ARGS_MAX 2

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
/* Replies `status` with `len` bytes of `body` of Content-Type `type`. */
void reply_typed(struct call *c, int status, const char *type, const char *body, size_t len);
/* Address `i` this server listens on (0: --listen, 1: --metrics-listen) as bound, its
 * length in *len; NULL when there is none. */
const struct sockaddr *sy_http_own_addr(const sy_http_t *http, int i, socklen_t *len);
/* 0, or SY_ECONFLICT with field "listen" when a route's `listen` (HOST:PORT) resolves to an
 * address that overlaps one this server listens on (own_listen.c). */
int sy_http_own_listen_check(const sy_http_t *http, const char *listen, sy_err_t *err);
/* reply_typed with a shared body: the connection keeps a reference instead of a copy. */
void reply_shared(struct call *c, int status, const char *type, sy_h1_shared_t *body);
/* Replies `status` with no body (304). */
void reply_empty(struct call *c, int status);
/* Replies a filled sy_err_t, its code mapped to a status (-EINVAL 400, -ENOENT 404,
 * -EEXIST and SY_ECONFLICT 409, -E2BIG 413, -EBUSY 429, -EIO and -EAGAIN 503, -ENOSPC 507,
 * others 500). */
void reply_err(struct call *c, const sy_err_t *err);

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
/* An id in a path ("{id}"): digits as ids are written, no sign, space or leading zero;
 * 0 for anything else. */
int64_t sy_id_arg(const char *s);

/* c->body read by the endpoint's schema into `out`: true, or false after 400 naming the
 * field. */
bool read_body(struct call *c, void *out);

/* Answers `fn`'s result (reals as decimals) with `status`: `fn` given the body. */
void reply_write(struct call *c, int status,
                 int (*fn)(sy_engine_t *, const sy_principal_t *, const json_t *, json_t **,
                           sy_err_t *));
/* The same for a change to the item c->arg[0]. */
void reply_write_named(struct call *c, int status,
                       int (*fn)(sy_engine_t *, const sy_principal_t *, const char *,
                                 const json_t *, json_t **, sy_err_t *));
/* Answers `fn`'s result (reals as decimals), a read of the caller's workspace. */
void reply_read(struct call *c,
                int (*fn)(sy_engine_t *, const sy_principal_t *, json_t **, sy_err_t *));
/* The same for a read of the item c->arg[0]. */
void reply_read_named(struct call *c, int (*fn)(sy_engine_t *, const sy_principal_t *, const char *,
                                                json_t **, sy_err_t *));

/* Query parameter `name` (text `v`) as an integer from `lo` to `hi` into *out, or false
 * after replying 400. */
bool int_param(struct call *c, const char *name, const char *v, long long lo, long long hi,
               long long *out);

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
/* Every serving thread's evaluation counts (evalstats.h), and when the server started. */
struct sy_evalstats_set *sy_http_evalstats(const sy_http_t *http);
int64_t sy_http_started_ms(const sy_http_t *http);

/* The metrics thread (metrics.c): a thread and event loop of their own that write the
 * scrapes the workers hand them (a scrape of 1,000 experiments is milliseconds of work that
 * would stall a worker's OFREP connections), and with --metrics-listen answer GET /metrics
 * without a token on listening socket `fd` (-1: none; taken: closed on failure too) with
 * the limits of `opts`. */
typedef struct sy_metrics_srv sy_metrics_srv_t;
int sy_metrics_listen(sy_metrics_srv_t **out, sy_http_t *http, int fd, const sy_h1_opts_t *opts,
                      sy_err_t *err);
int sy_metrics_port(const sy_metrics_srv_t *m); /* 0 without a listener */
/* Stops its thread: no scrape is written, and no answer sent to a worker, after it returns
 * (scrapes still handed to it wait in its queue). Before the workers are freed. NULL is a
 * no-op. */
void sy_metrics_srv_stop(sy_metrics_srv_t *m);
/* Stops it if need be and frees it, closing its socket; scrapes handed to it and not yet
 * written are dropped (their workers are gone by then). NULL is a no-op. */
void sy_metrics_srv_free(sy_metrics_srv_t *m);
/* The server's metrics thread, NULL when it has none (no workers, no --metrics-listen). */
sy_metrics_srv_t *sy_http_metrics_srv(const sy_http_t *http);
/* Answers the data plane's requests (OFREP, its streams, /healthz, /readyz) with the
 * reader and streams of the thread serving: true when answered (or streaming), false
 * when the request is the engine's (any other path; an OFREP token only the store may
 * know, from a worker). */
bool sy_http_dispatch_data(struct call *c);
/* A worker's request: true when answered, false when it must go to the engine. */
bool sy_http_worker_request(sy_http_t *http, struct worker *w, sy_engine_reader_t *rd,
                            struct sy_streams *streams, struct sy_evalstats *evals,
                            sy_h1_req_t *req);
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
/* Hands `req`, being served on worker `w`, to another thread as a detached copy (h1.h):
 * `submit(arg, copy, who)` queues it there (`who`: the caller, copied if kept), and its reply comes back to the worker, which
 * answers `req` with it, as the engine's do. False, with nothing handed and `req` still
 * the caller's to answer, when out of memory or when `submit` refuses it. */
bool sy_worker_hand_to(struct worker *w, sy_h1_req_t *req,
                       bool (*submit)(void *arg, sy_h1_req_t *copy, const sy_principal_t *who),
                       void *arg, const sy_principal_t *who);

/* ---- the endpoints (router.c) ---------------------------------------------------------- */

/* What an endpoint's body is: none (a body sent anyway must be empty, `{}` or is refused),
 * an optional JSON object, a required one, or bytes its handler parses itself (OFREP and
 * event ingest, with their own readers; they refuse what the others do, the same way). */
enum sy_body { BODY_NONE, BODY_OPTIONAL, BODY_OBJECT, BODY_RAW };
/* How a caller proves who it is: a token; nothing (health, a stream key in the path); a
 * token or the cron secret (a scheduler). */
enum sy_auth { AUTH_TOKEN, AUTH_NONE, AUTH_CRON };

struct sy_endpoint {
    sy_method_t method;
    const char *path; /* "/v1/experiments/{key}/start": "{name}" is one segment */
    sy_role_t role;   /* the least role that may call it (with AUTH_TOKEN, AUTH_CRON) */
    enum sy_auth auth;
    bool data; /* the data plane's: answered on the serving thread (sy_http_dispatch_data) */
    enum sy_body body;
    const char *query;  /* the query parameters it takes, space-separated; NULL: none */
    const char *fields; /* the body's members (BODY_OBJECT, BODY_OPTIONAL), space-separated;
                           "*": a document whose members are its format's to judge */
    void (*fn)(struct call *c);
    const sy_schema_t *schema; /* the body's schema, which the handler reads it by (its
                                  names are the ones taken; `fields` is then NULL) */
};

extern const struct sy_endpoint sy_endpoints[];
extern const size_t sy_n_endpoints;

/* A "{name}" segment of the path as sent (not yet decoded). */
struct sy_raw_arg {
    const char *at;
    size_t len;
};

/* The endpoint of (`path`, `m`), its "{name}" segments into `args`; NULL when none, with
 * *path_known telling whether some other method has the path (405) or none (404).
 * `data_only` looks at the data plane's endpoints only. A trailing slash is ignored. */
const struct sy_endpoint *sy_route_find(const char *path, sy_method_t m, bool data_only,
                                        struct sy_raw_arg *args, bool *path_known);
/* The methods `path` takes, "GET, PUT", into `out`; returns how many. */
size_t sy_route_allow(const char *path, char *out, size_t cap);
/* Whether endpoint `e` takes query parameter `name`; body member `name`. */
bool sy_route_takes_param(const struct sy_endpoint *e, const char *name);
bool sy_route_takes_field(const struct sy_endpoint *e, const char *name);

/* Handlers. The path's "{name}" segments are c->arg[0], c->arg[1] (percent-decoded), the
 * body (BODY_OBJECT, BODY_OPTIONAL) c->body; the role, the query parameters' names and the
 * body's shape are checked already. */
void sy_api_healthz(struct call *c);
void sy_api_readyz(struct call *c);
void sy_api_stream(struct call *c);
void sy_ofrep_bulk(struct call *c);
void sy_ofrep_one(struct call *c);
void sy_ofrep_evaluate(struct call *c, const char *key); /* NULL key: bulk */
/* Answers 400 INVALID_CONTEXT in OFREP's shape: {"key"?, "errorCode", "errorDetails"}. */
void sy_ofrep_refuse(struct call *c, const char *key, const char *why);
void sy_api_loops(struct call *c);
void sy_api_metrics(struct call *c);
void sy_api_health_aggregate(struct call *c);
void sy_api_emergency_rollback(struct call *c);
void sy_api_loops_reset(struct call *c);
void sy_api_index(struct call *c);
/* The console (ui.c): any method on "/", "/ui" or under "/ui/", no token needed. */
void sy_ui_serve(struct call *c);
void sy_api_whoami(struct call *c);
void sy_api_flag_list(struct call *c);
void sy_api_flag_get(struct call *c);
void sy_api_flag_put(struct call *c);
void sy_api_flag_delete(struct call *c);
void sy_api_flagset_get(struct call *c);
void sy_api_flagset_put(struct call *c);
void sy_api_token_list(struct call *c);
void sy_api_token_create(struct call *c);
void sy_api_token_revoke(struct call *c);
void sy_api_audit(struct call *c);
void sy_api_experiment_list(struct call *c);
void sy_api_experiment_create(struct call *c);
void sy_api_experiment_get(struct call *c);
void sy_api_experiment_start(struct call *c);
void sy_api_experiment_stop(struct call *c);
void sy_api_experiment_terminate(struct call *c);
void sy_api_experiment_results(struct call *c);
void sy_api_experiment_promotion(struct call *c);
void sy_api_allocation_get(struct call *c);
void sy_api_allocation_apply(struct call *c);
void sy_api_experiment_promote(struct call *c);
void sy_api_experiment_rollback(struct call *c);
void sy_api_experiment_history(struct call *c);
void sy_api_experiment_timeline(struct call *c);
void sy_api_health_get(struct call *c);
void sy_api_health_push(struct call *c);
void sy_api_guardrails_get(struct call *c);
void sy_api_layer_list(struct call *c);
void sy_api_layer_create(struct call *c);
void sy_api_layer_get(struct call *c);
void sy_api_layer_patch(struct call *c);
void sy_api_layer_delete(struct call *c);
void sy_api_layer_results(struct call *c);
void sy_api_guardrails_put(struct call *c);
void sy_api_auto_promotion(struct call *c); /* c->system: the cron secret let it in */
void sy_api_auto_promotion_config(struct call *c);
void sy_api_experiment_patch(struct call *c);
void sy_api_events(struct call *c);
void sy_api_kpi(struct call *c);
void sy_api_regression_policies(struct call *c);
void sy_api_regression_policy_put(struct call *c);
void sy_api_regression_evaluate(struct call *c);
void sy_api_regression_state(struct call *c);
void sy_api_risk_policies(struct call *c);
void sy_api_risk_policy_put(struct call *c);
void sy_api_risk_reserve(struct call *c);
void sy_api_risk_release(struct call *c);
void sy_api_risk_ledger(struct call *c);
void sy_api_golive_check(struct call *c);
void sy_api_golive_state(struct call *c);
void sy_api_kill_switch_put(struct call *c);
void sy_api_notifications(struct call *c);
void sy_api_channel_list(struct call *c);
void sy_api_channel_create(struct call *c);
void sy_api_channel_delete(struct call *c);
void sy_api_channel_test(struct call *c);
void sy_api_route_list(struct call *c);
void sy_api_route_create(struct call *c);
void sy_api_route_get(struct call *c);
void sy_api_route_replace(struct call *c);
void sy_api_route_delete(struct call *c);
void sy_api_route_percentage(struct call *c);
void sy_api_route_enabled(struct call *c);
void sy_api_route_report(struct call *c);
void sy_api_route_stats(struct call *c);
void sy_api_route_series(struct call *c);
void sy_api_route_health(struct call *c);
void sy_api_route_requests(struct call *c);

/* The server's options (server.c). */
const sy_http_opts_t *sy_http_opts(const sy_http_t *http);
/* False after replying 403 when the request is marked X-Execution-Class: PROD_EXEC, changes
 * something, and the caller's workspace has its kill switch engaged. */
bool sy_api_prod_exec_allowed(struct call *c, const char *path);

#endif
