/* route_log.c - a route's recent-request records and their query; see route_log.h. */
#include "core/route_log.h"

#include <string.h>

bool sy_route_log_is_error(const sy_route_log_rec_t *r)
{
    return r->error_message[0] != '\0';
}

bool sy_route_log_matches(const sy_route_log_query_t *q, const sy_route_log_rec_t *r)
{
    if (q->upstream >= 0 && r->upstream != q->upstream)
        return false;
    if (q->errors_only && !sy_route_log_is_error(r))
        return false;
    return !q->domain || strcmp(q->domain, r->domain) == 0;
}

size_t sy_route_log_merge(const sy_route_log_rec_t *const *runs, const size_t *lens, size_t k,
                          size_t *pos, sy_route_log_rec_t *out, size_t limit)
{
    for (size_t i = 0; i < k; i++)
        pos[i] = 0;
    size_t n = 0;
    while (n < limit) {
        size_t best = k;
        for (size_t i = 0; i < k; i++)
            if (pos[i] < lens[i] &&
                (best == k || runs[i][pos[i]].at_ms > runs[best][pos[best]].at_ms))
                best = i;
        if (best == k)
            break;
        out[n++] = runs[best][pos[best]++];
    }
    return n;
}

const char *sy_route_log_upstream_name(int upstream)
{
    return upstream == SY_ROUTE_LEGACY ? "legacy" : upstream == SY_ROUTE_NEW ? "new" : "error";
}

int sy_route_log_upstream_of(const char *s)
{
    if (strcmp(s, "legacy") == 0)
        return SY_ROUTE_LEGACY;
    if (strcmp(s, "new") == 0)
        return SY_ROUTE_NEW;
    if (strcmp(s, "error") == 0)
        return SY_ROUTE_UPSTREAMS;
    return -1;
}
