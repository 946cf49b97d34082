/* server.h - switchyard's HTTP API and OFREP endpoints, on our HTTP/1.1 layer (h1.h).
 *
 * Turns requests into engine calls and engine results into JSON: routing, bearer-token
 * authentication (a token resolves to its workspace and role; every call is confined to
 * that workspace), role checks, request bodies and the error shape
 * {"error":{"code","message","field"}}. It knows no statistics and no SQL.
 *
 * Threads: sy_http_* run on the engine's event loop. With opts.workers > 0 the connections
 * are served by that many threads of their own (workers.h): the data plane (OFREP, its
 * streams, /healthz, /readyz) is answered there from the engine's published view, and
 * every other request is handed to the engine's loop and its answer relayed; `base` must
 * then have been made after evthread_use_pthreads(). With 0, the engine's loop serves
 * everything.
 */
#ifndef SY_HTTP_SERVER_H
#define SY_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <jansson.h>

#include "core/err.h"
#include "core/route_log.h"
#include "engine/engine.h"

typedef struct sy_http sy_http_t; /* opaque */
struct sy_prom;                   /* codec/prom.h */

typedef enum sy_log_format { SY_LOG_TEXT, SY_LOG_JSON } sy_log_format_t;

typedef struct sy_http_opts {
    const char *listen;       /* "ADDR:PORT" (IPv4, or [IPv6]:PORT) */
    size_t max_body;          /* largest request body in bytes; larger ones get 413 */
    int timeout_s;            /* idle keep-alive connection timeout */
    int header_timeout_s;     /* a request head must arrive whole within this; 0: 10 */
    size_t min_body_rate;     /* bytes/s a body must keep after header_timeout_s; 0: none */
    size_t max_conns;         /* open connections at most (all workers together); 0: no cap */
    int workers;              /* data-plane threads; 0: the engine's loop serves everything */
    const char *cors_origins; /* origins (scheme://host[:port]) a browser may call from,
                               * comma-separated, or "*" for any; NULL: none */
    const char *public_url;   /* how clients reach us ("https://flags.example.com"), for the
                               * stream URLs OFREP advertises; NULL: from the request */
    sy_log_format_t log;      /* one line per request on stderr */
    bool quiet;               /* no request lines (tests, benchmarks) */
    bool loop_cpu;            /* the stall gauges also measure time on the CPU (loopstat.h) */
    size_t metrics_max_flags; /* flags per workspace /metrics names; the rest are "other" */
    double rate_limit;        /* requests per second per token (burst: 2 s worth); 0: none */
    const char *cron_secret;  /* for POST /v1/auto-promotion/check, as X-Cron-Secret or
                               * Authorization: Bearer; NULL: none */
    /* Where each server-wide auto-promotion setting came from, for GET
     * /v1/auto-promotion/config: {"min_confidence": "environment", "interval_s": "flag",
     * ...} ("default", "flag", "environment", "config"). Borrowed; NULL: not known. */
    const json_t *auto_promotion_sources;
    bool bound; /* `bound_fd` is the listening socket (sy_http_bind), `listen`
                 * only names it: the server takes it (closed on failure too) */
    int bound_fd;
    /* --metrics-listen: with metrics_bound, `metrics_fd` is a socket from sy_http_bind where
     * GET /metrics needs no token, served by a thread of its own (the server takes it,
     * closed on failure too). Anyone who reaches that address reads the metrics: bind it
     * where only the scrapers can. */
    bool metrics_bound;
    int metrics_fd;
    /* The proxy's counters of workspace `ws` (proxy.h, sy_proxy_stats); NULL: no proxy. */
    json_t *(*route_stats)(void *arg, int64_t ws);
    /* Upstream `upstream` (0 legacy, 1 new) of route (ws, name) (sy_proxy_health); with
     * route_stats_arg. */
    int (*route_health)(void *arg, int64_t ws, const char *name, int upstream,
                        sy_route_health_t *out);
    /* Route (ws, name)'s recent requests that pass q, newest first, into out (room for
     * q->limit) and *n (sy_proxy_requests); with route_stats_arg. NULL: no proxy. */
    int (*route_requests)(void *arg, int64_t ws, const char *name, const sy_route_log_query_t *q,
                          sy_route_log_rec_t *out, size_t *n);
    void *route_stats_arg;
    /* More families for GET /metrics, written after the server's own (serve's proxy:
     * sy_proxy_metrics), with metrics_more_arg; called on whichever thread serves the
     * scrape. NULL: none. */
    void (*metrics_more)(void *arg, struct sy_prom *out);
    void *metrics_more_arg;
} sy_http_opts_t;

/* A listening socket on opts->listen's address: the fd, or a negative code with `err` (an
 * address that does not parse or cannot be bound: "cannot listen on 127.0.0.1:8080:
 * Address already in use"). What `serve` makes first, before it opens or creates a
 * database, so that a port in use leaves nothing behind. `option` names the setting in
 * the message and err->field ("listen", "metrics-listen"). */
int sy_http_bind(const char *listen, const char *option, sy_err_t *err);

/* Binds (or takes opts->bound_fd) and starts serving on `base`. Returns 0, or a negative code with
 * `err` (an address that does not parse or cannot be bound). */
int sy_http_start(sy_http_t **out, struct event_base *base, sy_engine_t *eng,
                  const sy_http_opts_t *opts, sy_err_t *err);

/* The port actually bound (useful with port 0). */
int sy_http_port(const sy_http_t *http);
/* The port of --metrics-listen's address; 0: none. */
int sy_http_metrics_port(const sy_http_t *http);

/* Stops accepting; `done` is called once every request in flight has been answered (or
 * after `grace_s` seconds). */
void sy_http_drain(sy_http_t *http, int grace_s, void (*done)(void *arg), void *arg);

void sy_http_free(sy_http_t *http); /* NULL is a no-op */

/* One structured log line on stderr: `event` and then key/value string pairs, NULL
 * terminated. Text: "ts=... event=... k=v"; JSON: one object per line. A key may say what
 * its value is by its first character, which is not written: '#' a number (a JSON number
 * in JSON; a value that is none is written as a string), '@' JSON text (an object or
 * array: nested as it is in JSON, quoted in text), '?' a boolean ("true" or "false": a
 * JSON true or false). A NULL value is none: JSON null, "" in text. */
void sy_log(sy_log_format_t fmt, const char *event, ...);

#endif
