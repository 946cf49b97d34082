/* route_api_json.h - the proxy routes' requests and answers as JSON (docs/api.md, "Routes"):
 * each request's schema (codec/schema.h), read into the engine's types, and the answers the
 * engine fills written back. A route itself is codec/route_json.h's. */
#ifndef SY_CODEC_ROUTE_API_JSON_H
#define SY_CODEC_ROUTE_API_JSON_H

#include <jansson.h>

#include "codec/schema.h"
#include "core/latency.h"
#include "engine/engine.h"

/* POST /v1/routes and PUT /v1/routes/{name}: a route's definition (route_def.c). The
 * schema names the members and the kinds of the scalar ones (the router's table lists it). */
extern const sy_schema_t sy_route_def_schema;
/* Reads a definition `body` (docs/api.md, "Routes": {"name", "listen", "path_prefix"?,
 * "upstreams": {"legacy", "new"} (HOST:PORT or {address, connect_timeout_ms?,
 * read_timeout_ms?, keepalive?}), "percentage"?, "enabled"?, "domains"?, "protected_domains"?,
 * "routable_domains"?, "prod_exec_domains"?, "sticky"?, "breaker"?, "health"?, "plan"?,
 * "inspect_body_bytes"?, "retry_non_idempotent"?}) with the defaults of what it does not give
 * into *def, whose spec lives in *hold (returned owned: sy_routes_free). `name` is the path's
 * (PUT), taken when the body gives none; NULL for POST, whose body must name the route.
 * 0; SY_EUNKNOWN naming an unknown member (its path: "sticky.query"); -EINVAL naming the
 * first bad one ("upstreams.new.address", "domains[1].rules[0]"); -ENOMEM. */
int sy_route_def_read(const json_t *body, const char *name, sy_route_def_t *def, sy_routes_t **hold,
                      sy_err_t *err);

/* POST /v1/routes/{name}/percentage: into sy_route_percentage_change_t. */
extern const sy_schema_t sy_route_percentage_change_schema;
/* POST /v1/routes/{name}/enabled: into sy_route_enabled_change_t. */
extern const sy_schema_t sy_route_enabled_change_schema;

/* GET /v1/routes/{name}/stats?window=: {"requests" (their sum), "by": [{domain (null for
 * none), upstream, tried, requests, errors, status: {"2xx": N, ...} (the classes counted),
 * avg_ms, p50_ms, p95_ms, p99_ms}]}; NULL when out of memory. */
json_t *sy_route_window_json(const sy_route_window_row_t *rows, size_t n);

/* GET /v1/routes/{name}/series: {"start_ms": [each bucket's start], "upstreams": {"legacy",
 * "new", "error": {"requests", "errors", "error_rate", "p50_ms", "p95_ms", "p99_ms": one
 * value a bucket}}}, a bucket without requests having null for its rate and latencies;
 * NULL when out of memory. */
json_t *sy_route_series_json(const sy_route_series_t *s);

/* POST /v1/routes/{name}/report: its members (the router's table names this schema). */
extern const sy_schema_t sy_route_report_schema;
/* A report's rows as read, with room for their histograms. */
typedef struct sy_route_report_rows {
    sy_route_counter_t *c; /* n rows */
    int64_t (*hist)[SY_LAT_BUCKETS];
    size_t n;
} sy_route_report_rows_t;
/* Reads `body` ({"breaker"?, "counters"?: [{"domain"?, "upstream", "tried"?, "requests",
 * "errors"?, "total_ms", "hist"?: {BUCKET: COUNT}, "status"?: {"2xx": COUNT, ...}}]}) into
 * *out, its rows into *rows (owned: sy_route_report_rows_free; strings borrowed from
 * `body`). The kinds only: the values are the engine's to judge. 0; SY_EUNKNOWN naming an
 * unknown member ("counters[0].p50"); -EINVAL naming "breaker", "counters" or the row
 * ("counters[3]"); -ENOMEM. */
int sy_route_report_read(const json_t *body, sy_route_report_t *out, sy_route_report_rows_t *rows,
                         sy_err_t *err);
void sy_route_report_rows_free(sy_route_report_rows_t *rows);
/* {"route": name, "counters", "breaker"}; NULL when out of memory. */
json_t *sy_route_report_json(const char *name, const sy_route_report_answer_t *a);

#endif
