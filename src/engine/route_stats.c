/* route_stats.c - the proxy's counters per minute, stored and read back over a window; see
 * engine.h ("proxy routes"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/latency.h"
#include "engine/internal.h"

/* ---- counters per minute ----------------------------------------------------------------------
 */

int sy_engine_route_minutes_add(sy_engine_t *eng, const sy_store_route_minute_t *rows, size_t n,
                                sy_err_t *err)
{
    if (n == 0)
        return 0;
    int rc = sy_store_begin(eng->store, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = sy_store_route_minute_add(eng->store, &rows[i], err);
    if (rc < 0)
        sy_store_rollback(eng->store);
    else
        rc = sy_store_commit(eng->store, err);
    return rc;
}

int sy_engine_route_minutes_prune(sy_engine_t *eng, int64_t before_minute, sy_err_t *err)
{
    int64_t gone;
    return sy_store_route_minute_prune(eng->store, before_minute, &gone, err);
}

#define WINDOW_ROWS 512

/* The window's rows, summed by (domain, upstream, tried). */
struct window {
    size_t n;
    struct {
        char domain[65], upstream[8], tried[8];
        int64_t requests, errors;
        double total_ms;
        int64_t hist[SY_LAT_BUCKETS];
    } r[WINDOW_ROWS];
};

static int add_minute(void *arg, const sy_store_route_minute_t *m)
{
    struct window *w = arg;
    size_t j = 0;
    while (j < w->n &&
           !(strcmp(w->r[j].domain, m->domain) == 0 && strcmp(w->r[j].upstream, m->upstream) == 0 &&
             strcmp(w->r[j].tried, m->tried) == 0))
        j++;
    if (j == w->n) {
        if (w->n == WINDOW_ROWS)
            return 0;
        w->n++;
        memset(&w->r[j], 0, sizeof(w->r[j]));
        snprintf(w->r[j].domain, sizeof(w->r[j].domain), "%s", m->domain);
        snprintf(w->r[j].upstream, sizeof(w->r[j].upstream), "%s", m->upstream);
        snprintf(w->r[j].tried, sizeof(w->r[j].tried), "%s", m->tried);
    }
    w->r[j].requests += m->requests;
    w->r[j].errors += m->errors;
    w->r[j].total_ms += m->total_ms;
    for (const char *p = m->hist; p && *p;) { /* "bucket:count,..." */
        char *end;
        long b = strtol(p, &end, 10);
        if (*end != ':')
            break;
        long long c = strtoll(end + 1, &end, 10);
        if (b >= 0 && b < SY_LAT_BUCKETS && c > 0)
            w->r[j].hist[b] += c;
        p = *end == ',' ? end + 1 : end;
        if (*end != ',')
            break;
    }
    return 0;
}

int sy_engine_route_stats_window(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                                 int64_t window_ms, json_t **out, sy_err_t *err)
{
    if (!sy_eng_route_find(eng, actor->workspace, name))
        return sy_err_set(err, -ENOENT, "name", "no such route");
    struct window *w = calloc(1, sizeof(*w));
    if (!w)
        return sy_eng_oom(err);
    int64_t now_min = sy_engine_now_ms(eng) / 60000;
    int64_t minutes = (window_ms + 59999) / 60000;
    int rc = sy_store_route_minute_list(eng->store, actor->workspace, name, now_min - minutes + 1,
                                        add_minute, w, err);
    json_t *by = rc == 0 ? json_array() : NULL;
    int64_t total = 0;
    for (size_t j = 0; by && j < w->n; j++) {
        total += w->r[j].requests;
        json_array_append_new(
            by,
            json_pack("{sosssssIsIsfsfsfsf}", "domain",
                      w->r[j].domain[0] ? json_string(w->r[j].domain) : json_null(), "upstream",
                      w->r[j].upstream, "tried", w->r[j].tried, "requests",
                      (json_int_t)w->r[j].requests, "errors", (json_int_t)w->r[j].errors, "avg_ms",
                      w->r[j].requests ? w->r[j].total_ms / (double)w->r[j].requests : 0.0,
                      "p50_ms", sy_lat_quantile(w->r[j].hist, w->r[j].requests, 0.5), "p95_ms",
                      sy_lat_quantile(w->r[j].hist, w->r[j].requests, 0.95), "p99_ms",
                      sy_lat_quantile(w->r[j].hist, w->r[j].requests, 0.99)));
    }
    free(w);
    if (rc < 0)
        return rc;
    *out = by ? json_pack("{sIso}", "requests", (json_int_t)total, "by", by) : NULL;
    return *out ? 0 : sy_eng_oom(err);
}
