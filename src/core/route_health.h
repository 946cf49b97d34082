/* route_health.h - whether a route's upstream is healthy: its error rate and p95 against
 * the route's gates (core/route_spec.h's sy_route_gates_t).
 *
 * The one rule that GET /v1/routes/{name}/health and the rollout plans judge by. An
 * upstream is failing when it took at least `min_requests` requests (and at least one)
 * and its error rate reaches `max_error_rate` or its p95 reaches `max_p95_ms`: the gates
 * are strict upper bounds ("error rate < 0.1 %", "p95 < 2 s"), so a value equal to a gate
 * fails it. With fewer requests there is no evidence either way: not failing, and not
 * enough to step on.
 *
 * Pure: no clock, no allocation. Thread-safe.
 */
#ifndef SY_CORE_ROUTE_HEALTH_H
#define SY_CORE_ROUTE_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/route.h"
#include "core/route_spec.h"

typedef struct sy_route_verdict {
    double error_rate; /* errors / requests, 0 without requests */
    bool enough;       /* requests >= min_requests and > 0: the gates could be judged */
    bool rate_ok;      /* error_rate < max_error_rate */
    bool p95_ok;       /* p95_ms < max_p95_ms */
    bool failing;      /* enough, and a gate failed */
} sy_route_verdict_t;

/* `h` (requests, errors, p95 of one upstream) against `g`, needing `min_requests` (0 is
 * taken as 1) before it can fail. */
sy_route_verdict_t sy_route_judge(const sy_route_gates_t *g, const sy_route_health_t *h,
                                  int64_t min_requests);

#endif
