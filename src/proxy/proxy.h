/* proxy.h - the data plane: a reverse proxy that splits each route's traffic between its
 * `legacy` and `new` upstreams as core/route.h decides.
 *
 * Its routes come typed (core/route_spec.h: the engine's sy_engine_routes_all in `serve`,
 * codec/route_json.h's sy_routes_from_json in `switchyard proxy`); the proxy reads no JSON
 * and has no limit of its own on what a route holds (any number of domains, routes,
 * listen addresses). Worker threads, one event loop each, each listening on every route's
 * address with SO_REUSEPORT (the kernel spreads the connections). Workers read the current
 * routes from an immutable snapshot that sy_proxy_update publishes (a generation counter tells a
 * worker to take it: one atomic load per request otherwise); a request in flight keeps
 * the snapshot it started with. Each request: its head parsed (http/h1.h's parser); its
 * body read whole (up to `max_body`, JSON-parsed when the route detects domains or keys
 * in bodies) or, when the route need not read it and it is long, streamed; its domain and
 * upstream decided (an open circuit breaker, one per route, sends it to legacy); then
 * sent on a keep-alive connection from the worker's pool with hop-by-hop headers removed
 * (RFC 9110 7.6.1) and X-Forwarded-For / Forwarded added. The response streams back as it
 * arrives, with X-Switchyard-Route: new|legacy. A request that never reached `new` (its
 * connection refused, timed out or failed before the request's first byte) goes to
 * `legacy` whatever its method; one that reached it and got no answer goes there when its
 * method is idempotent (any method when the route allows it), never after a read timeout:
 * the client sees no error. While a route with a rollout plan has its breaker open, the
 * requests `new` could take but for their bucket are the breaker's half-open probes, so
 * that it can close at 0 %. Each request is recorded in its route's recent-request log
 * (sy_proxy_requests), and those that failed are offered for log lines
 * (sy_proxy_failures). Per (route, domain, upstream) counters and latency histograms
 * are kept for sy_proxy_stats, sy_proxy_rows and sy_proxy_health. What a client may cost
 * is bounded (opts below): 16 KiB of back-pressure a direction, a deadline for its head and
 * a minimum rate for its body (408 past them), and a cap on connections that closes the
 * one waiting longest for a head to take a new one.
 *
 * sy_proxy_start, sy_proxy_update and sy_proxy_stop are called from one thread (the
 * server's loop); the counters and sy_proxy_events may be read from any.
 */
#ifndef SY_PROXY_PROXY_H
#define SY_PROXY_PROXY_H

#include <stddef.h>

#include <jansson.h>

#include "core/err.h"
#include "core/latency.h"
#include "core/route.h"
#include "core/route_log.h"
#include "core/route_spec.h"

typedef struct sy_proxy sy_proxy_t; /* opaque */

typedef struct sy_proxy_opts {
    int workers;          /* threads, >= 1 */
    size_t max_body;      /* largest request body taken (413 beyond) */
    int header_timeout_s; /* a client's request head must arrive whole within this; 0: 10 */
    size_t min_body_rate; /* bytes/s a client's body must keep after header_timeout_s of
                           * grace, or 408; 0: no floor */
    size_t max_conns;     /* open client connections, all workers together; 0: no cap */
} sy_proxy_opts_t;

int sy_proxy_start(sy_proxy_t **out, const sy_proxy_opts_t *o, sy_err_t *err);
/* Takes `routes` (owned from here on, even on error: the snapshot holds it until its last
 * reader is gone; NULL is no route) as the new configuration: compiled and swapped in for
 * the next request; listeners opened for new addresses and closed for gone ones. Its specs
 * were checked where they were made (sy_route_spec_check). A route that cannot be
 * compiled (an address that does not resolve) is left out, and named in `err` (the others
 * are taken). */
int sy_proxy_update(sy_proxy_t *p, sy_routes_t *routes, sy_err_t *err);
/* {"routes": {NAME: {"requests", "by": [{"domain", "upstream" ("new", "legacy",
 * "error"), "requests", "errors", "status": {"2xx": N, ...}, "avg_ms", "p50_ms",
 * "p95_ms", "p99_ms"}]}}} for workspace `ws`, since the start. */
json_t *sy_proxy_stats(sy_proxy_t *p, int64_t ws);
/* Why `new` could not answer a request that then went to legacy. */
typedef enum sy_proxy_fallback {
    SY_PROXY_FB_CONNECT_ERROR,   /* the connection was refused or could not be made */
    SY_PROXY_FB_CONNECT_TIMEOUT, /* it was not made within connect_timeout_ms */
    SY_PROXY_FB_RESET,           /* it failed before the request's first byte left */
    SY_PROXY_FB_CLOSED,          /* new read the request and closed without an answer */
    SY_PROXY_FALLBACK_REASONS
} sy_proxy_fallback_t;

/* "connect_error", "connect_timeout", "reset_before_request", "closed_before_answer". */
const char *sy_proxy_fallback_name(sy_proxy_fallback_t why);

/* One (route, domain, upstream) row of the proxy's counters. */
typedef struct sy_proxy_row {
    int64_t ws;
    char route[65];
    char domain[65]; /* "" for none */
    int upstream;    /* 0 legacy, 1 new, 2 "error" (the proxy answered an error itself) */
    int tried;       /* of an error: the upstream it was for (0 or 1) */
    int64_t requests, errors;
    double total_ms;
    int64_t hist[SY_LAT_BUCKETS];
    int64_t status[6]; /* by status class: [2] the 2xx answers, ...; [5] with the proxy's own */
    /* of an error row for `new`: the requests that went on to legacy, by why new failed
     * (sy_proxy_fallback_t); the rest of the row's requests the proxy answered 502 or 504 */
    int64_t fallbacks[SY_PROXY_FALLBACK_REASONS];
} sy_proxy_row_t;

/* {"2xx": N, ...} of a row's status classes that counted anything (NULL: out of memory). */
json_t *sy_proxy_status_json(const int64_t status[6]);

/* "legacy", "new", "error" for a row's upstream (or tried). */
const char *sy_proxy_upstream_name(int upstream);

/* The counters of workspace `ws` (every workspace for ws < 0) since the start, summed over
 * the workers: a malloc'd array of *n rows (the caller frees it), NULL when out of memory. */
sy_proxy_row_t *sy_proxy_rows(sy_proxy_t *p, int64_t ws, size_t *n);

/* What rows `now` counted since `base` (both from sy_proxy_rows; base NULL: since the
 * start), for the rows that counted a request since: a malloc'd array of *n rows, NULL
 * when out of memory. */
sy_proxy_row_t *sy_proxy_rows_since(const sy_proxy_row_t *now, size_t n_now,
                                    const sy_proxy_row_t *base, size_t n_base, size_t *n);

/* Upstream `upstream` (0 legacy, 1 new) of route (ws, name) since the start: its requests
 * and errors with the failures meant for it, and the p95 of what it answered. Reads the
 * route's rows in place (no copy of the others): cheap enough for every plan, every
 * second. 0. */
int sy_proxy_health(sy_proxy_t *p, int64_t ws, const char *route, int upstream,
                    sy_route_health_t *out);

/* A route's circuit breaker (one per route, shared by the workers) moved. */
typedef struct sy_proxy_event {
    int64_t ws;
    char route[65];
    const char *state; /* "open", "half_open", "closed" */
    int64_t at_ms;
} sy_proxy_event_t;

/* Takes up to `cap` queued events into `out`; how many. */
size_t sy_proxy_events(sy_proxy_t *p, sy_proxy_event_t *out, size_t cap);

/* An address of the routes the proxy cannot listen on (taken by another process, or not
 * this machine's). A worker that fails to bind one tries again every second, and at the
 * next update, until it can. */
typedef struct sy_proxy_listen_error {
    char listen[SY_ROUTE_MAX_ADDRESS + 1]; /* HOST:PORT as the route gives it */
    int64_t ws;                            /* the first route on it: its workspace */
    char route[65];                        /* ... and its name */
    int errnum;                            /* errno of the failure (EADDRINUSE...) */
} sy_proxy_listen_error_t;

/* The addresses some worker could not listen on at its last try, up to `cap` into `out`,
 * each once; how many. Any thread. */
size_t sy_proxy_listen_errors(sy_proxy_t *p, sy_proxy_listen_error_t *out, size_t cap);

/* The newest records of route (ws, `route`)'s recent-request log that pass q's filters,
 * newest first, into out (room for q->limit), their number into *n. The log keeps the
 * last 256 requests of the route per worker (those since the start, up to that; a route
 * deleted and made again under its name keeps them). Reads the workers' rings without a
 * lock (a record being rewritten is skipped). 0, or -ENOMEM (*n is 0). */
int sy_proxy_requests(sy_proxy_t *p, int64_t ws, const char *route, const sy_route_log_query_t *q,
                      sy_route_log_rec_t *out, size_t *n);

/* One record of a route's log that failed (an error, or a fallback to legacy). */
typedef void sy_proxy_failure_fn(void *arg, int64_t ws, const char *route,
                                 const sy_route_log_rec_t *r);
/* Calls fn for each request that failed or fell back since the last call (at most `max`
 * of them; the rest wait for the next call, unless the worker's ring of failures, 256 a
 * route, overwrites them first), and adds to *lost how many failures were overwritten
 * before they could be told. Called from the thread that calls sy_proxy_update (it keeps
 * the cursors, and reads the routes' list without a lock). Returns how many it told. */
size_t sy_proxy_failures(sy_proxy_t *p, size_t max, sy_proxy_failure_fn *fn, void *arg,
                         uint64_t *lost);

/* Answers the proxy gave itself, with no upstream asked (sy_proxy_counts' refused[]). */
enum {
    SY_PROXY_REFUSED_400, /* bad_request: a head or a chunked body that does not parse */
    SY_PROXY_REFUSED_403, /* kill_switch: a production execution while it is engaged */
    SY_PROXY_REFUSED_404, /* not_found: no route serves the path */
    SY_PROXY_REFUSED_408, /* request_timeout: the head or the body came too slowly */
    SY_PROXY_REFUSED_413, /* too_large: a body past max_body */
    SY_PROXY_REFUSED_431, /* headers_too_large */
    SY_PROXY_REFUSED_501, /* bad_request: a transfer coding we do not know */
    SY_PROXY_REFUSED_503, /* unavailable: out of memory */
    SY_PROXY_REFUSED_505, /* bad_request: not HTTP/1.x */
    SY_PROXY_REFUSALS
};

/* Refusal i's status (400...) and its error code ("bad_request"...), as the client got them. */
int sy_proxy_refusal_status(int i);
const char *sy_proxy_refusal_code(int i);

/* The proxy's process-wide counts, summed over the workers (each read without a lock: a
 * figure may lag its worker by the request in hand). */
typedef struct sy_proxy_counts {
    uint64_t open_conns;                 /* client connections open now */
    uint64_t max_conns;                  /* opts.max_conns (0: no cap) */
    uint64_t shed_waiting;               /* connections closed at the cap to take a new one */
    uint64_t shed_new;                   /* new connections closed at the cap (none waited) */
    uint64_t refused[SY_PROXY_REFUSALS]; /* answers of its own, by kind (above) */
    uint64_t uncounted;                  /* requests past the counters' rows (no row room) */
} sy_proxy_counts_t;

void sy_proxy_counts(sy_proxy_t *p, sy_proxy_counts_t *out);

struct sy_prom;
/* The proxy's families of GET /metrics (docs/operations.md lists them) into `out`: per
 * (workspace, route, backend) its requests by status class, its failures, its latency
 * histogram and the 502/504 the proxy answered for it; per (workspace, route) its
 * fallbacks by reason; and the counts above. Domains are summed over (a route's domains
 * are its own to define: unbounded). Reads the counters in place; any thread. */
void sy_proxy_metrics(sy_proxy_t *p, struct sy_prom *out);

/* Stops the workers (connections are closed) and frees. NULL is a no-op. */
void sy_proxy_stop(sy_proxy_t *p);

#endif
