/* route_health.c - a route upstream's health against its gates; see route_health.h. */
#include "core/route_health.h"

sy_route_verdict_t sy_route_judge(const sy_route_gates_t *g, const sy_route_health_t *h,
                                  int64_t min_requests)
{
    sy_route_verdict_t v = {0};
    int64_t n = h->requests > 0 ? h->requests : 0;
    v.error_rate = n > 0 ? (double)h->errors / (double)n : 0;
    v.enough = n > 0 && n >= min_requests;
    v.rate_ok = v.error_rate < g->max_error_rate;
    v.p95_ok = h->p95_ms < (double)g->max_p95_ms;
    v.failing = v.enough && !(v.rate_ok && v.p95_ok);
    return v;
}
