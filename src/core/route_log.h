/* route_log.h - one proxied request as the route's recent-request log keeps it, and the
 * query over that log (GET /v1/routes/{name}/requests).
 *
 * A record is a fixed-size plain value (no pointers), so that a data plane can copy it
 * word by word into a bounded ring and a reader on another thread can copy it back out
 * (proxy/). Strings are NUL-terminated and cut at their field's size.
 *
 * Pure: no I/O, no clock, no allocation. Thread-safe.
 */
#ifndef SY_CORE_ROUTE_LOG_H
#define SY_CORE_ROUTE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/route.h"
#include "core/route_spec.h"

#define SY_ROUTE_LOG_PATH      160  /* bytes of a path kept (with its NUL; longer ones cut) */
#define SY_ROUTE_LOG_MESSAGE   160  /* bytes of an error message kept (with its NUL) */
#define SY_ROUTE_LOG_LIMIT     50   /* records a query returns when it names no limit */
#define SY_ROUTE_LOG_MAX_LIMIT 1000 /* records a query may ask for */

/* One request the proxy answered (or failed) on a route. */
typedef struct sy_route_log_rec {
    int64_t at_ms;     /* wall clock, ms since the epoch, when it was answered */
    double latency_ms; /* from its head read to its answer's end */
    int32_t status;    /* the status the client got */
    uint8_t upstream;  /* who answered: SY_ROUTE_LEGACY, SY_ROUTE_NEW, SY_ROUTE_UPSTREAMS
                        * ("error": the proxy answered an error itself) */
    bool fallback;     /* new failed first (error_message says how); legacy served it */
    bool probe;        /* went to new as the open breaker's probe (a plan at 0 %) */
    char method[16];
    char domain[SY_ROUTE_MAX_DOMAIN + 1]; /* "" for none */
    char path[SY_ROUTE_LOG_PATH];
    char error_message[SY_ROUTE_LOG_MESSAGE]; /* "" when nothing failed */
} sy_route_log_rec_t;

/* What a query keeps. */
typedef struct sy_route_log_query {
    size_t limit;       /* 1..SY_ROUTE_LOG_MAX_LIMIT: the newest that many */
    int upstream;       /* -1: any; else the record's `upstream` */
    bool errors_only;   /* only records with an error_message (failures and fallbacks) */
    const char *domain; /* NULL: any; "" only requests of no domain */
} sy_route_log_query_t;

/* Whether `r` is an error record: something failed (its error_message is set). */
bool sy_route_log_is_error(const sy_route_log_rec_t *r);

/* Whether `r` passes `q`'s filters (not its limit). */
bool sy_route_log_matches(const sy_route_log_query_t *q, const sy_route_log_rec_t *r);

/* Merges k runs, each newest first (runs[i] has lens[i] records: one worker's ring), into
 * out, newest first, at most `limit` of them; records of the same millisecond come in run
 * order, and keep their order within a run. `pos` is the caller's scratch of k. Returns how
 * many it wrote. */
size_t sy_route_log_merge(const sy_route_log_rec_t *const *runs, const size_t *lens, size_t k,
                          size_t *pos, sy_route_log_rec_t *out, size_t limit);

/* "legacy", "new", "error" for a record's upstream. */
const char *sy_route_log_upstream_name(int upstream);

/* The upstream named `s` ("legacy", "new", "error"), or -1. */
int sy_route_log_upstream_of(const char *s);

#endif
