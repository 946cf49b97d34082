/* route_stats.c - the proxy's counters per minute, stored and read back over a window; see
 * engine.h ("proxy routes"). */
#include <errno.h>
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
        int64_t status[6]; /* by status class */
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
    sy_store_sparse_add(w->r[j].hist, SY_LAT_BUCKETS, m->hist);
    sy_store_sparse_add(w->r[j].status, 6, m->status);
    return 0;
}

int sy_engine_route_stats_window(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                                 int64_t window_ms, sy_route_window_row_t **out, size_t *n,
                                 sy_err_t *err)
{
    *out = NULL;
    *n = 0;
    if (!sy_eng_route_find(eng, actor->workspace, name))
        return sy_err_set(err, -ENOENT, "name", "no such route");
    struct window *w = calloc(1, sizeof(*w));
    if (!w)
        return sy_eng_oom(err);
    int64_t now_min = sy_engine_now_ms(eng) / 60000;
    int64_t minutes = (window_ms + 59999) / 60000;
    int rc = sy_store_route_minute_list(eng->store, actor->workspace, name, now_min - minutes + 1,
                                        add_minute, w, err);
    sy_route_window_row_t *rows = rc == 0 && w->n ? calloc(w->n, sizeof(*rows)) : NULL;
    if (rc == 0 && w->n && !rows)
        rc = sy_eng_oom(err);
    for (size_t j = 0; rows && j < w->n; j++) {
        sy_route_window_row_t *o = &rows[j];
        snprintf(o->domain, sizeof(o->domain), "%s", w->r[j].domain);
        snprintf(o->upstream, sizeof(o->upstream), "%s", w->r[j].upstream);
        snprintf(o->tried, sizeof(o->tried), "%s", w->r[j].tried);
        o->requests = w->r[j].requests;
        o->errors = w->r[j].errors;
        memcpy(o->status, w->r[j].status, sizeof(o->status));
        o->avg_ms = w->r[j].requests ? w->r[j].total_ms / (double)w->r[j].requests : 0.0;
        o->p50_ms = sy_lat_quantile(w->r[j].hist, w->r[j].requests, 0.5);
        o->p95_ms = sy_lat_quantile(w->r[j].hist, w->r[j].requests, 0.95);
        o->p99_ms = sy_lat_quantile(w->r[j].hist, w->r[j].requests, 0.99);
    }
    if (rc == 0) {
        *out = rows;
        *n = rows ? w->n : 0;
    }
    free(w);
    return rc;
}

/* ---- over time -------------------------------------------------------------------------- */

struct series {
    sy_series_plan_t plan;
    sy_series_cell_t *cells; /* plan.points x SY_SERIES_UPSTREAMS */
};

static int add_to_series(void *arg, const sy_store_route_minute_t *m)
{
    struct series *s = arg;
    int64_t i = sy_series_index(&s->plan, m->minute);
    int u = sy_series_upstream(m->upstream);
    if (i < 0 || u < 0)
        return 0;
    int64_t hist[SY_LAT_BUCKETS] = {0};
    sy_store_sparse_add(hist, SY_LAT_BUCKETS, m->hist);
    sy_series_cell_add(&s->cells[i * SY_SERIES_UPSTREAMS + u], m->requests, m->errors, hist);
    return 0;
}

int sy_engine_route_series(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                           int64_t window_ms, int64_t step_ms, sy_route_series_t *out,
                           sy_err_t *err)
{
    if (!sy_eng_route_find(eng, actor->workspace, name))
        return sy_err_set(err, -ENOENT, "name", "no such route");
    if (window_ms <= 0 || window_ms % 60000)
        return sy_err_set(err, -EINVAL, "window", "window is whole minutes");
    if (step_ms <= 0 || step_ms % 60000)
        return sy_err_set(err, -EINVAL, "step", "step is whole minutes: 1m, 5m, 1h, ...");
    struct series s = {0};
    int rc = sy_series_plan(sy_engine_now_ms(eng) / 60000, window_ms / 60000, step_ms / 60000,
                            &s.plan, err);
    if (rc < 0)
        return rc;
    size_t cells = s.plan.points * SY_SERIES_UPSTREAMS;
    s.cells = calloc(cells, sizeof(*s.cells));
    sy_series_point_t *p = calloc(cells, sizeof(*p));
    if (!s.cells || !p) {
        rc = sy_eng_oom(err);
        goto out_free;
    }
    rc = sy_store_route_minute_list(eng->store, actor->workspace, name, s.plan.first_min,
                                    add_to_series, &s, err);
    if (rc < 0)
        goto out_free;
    for (size_t k = 0; k < cells; k++)
        p[k] = sy_series_cell_point(&s.cells[k]);
    *out = (sy_route_series_t){.first_ms = s.plan.first_min * 60000,
                               .step_ms = s.plan.step_min * 60000,
                               .points = s.plan.points,
                               .p = p};
    free(s.cells);
    return 0;
out_free:
    free(s.cells);
    free(p);
    return rc;
}

/* ---- a proxy-only process's report ---------------------------------------------------------- */

#define REPORT_ROWS   256
#define REPORT_MS_MAX 86400000.0 /* a request's time at most, on average: a day */

static bool upstream_name(const char *s, bool error_too)
{
    return s && (strcmp(s, "legacy") == 0 || strcmp(s, "new") == 0 ||
                 (error_too && strcmp(s, "error") == 0));
}

/* Row i of a report's counters, checked, into m (its sparse texts in `text`). */
static int report_row(const sy_route_spec_t *route, const sy_route_counter_t *c, size_t i,
                      sy_store_route_minute_t *m, sy_store_minute_text_t *text, sy_err_t *err)
{
    char f[64];
    snprintf(f, sizeof(f), "counters[%zu]", i);
    m->domain = c->domain ? c->domain : "";
    if (*m->domain && sy_route_spec_domain(route, m->domain) < 0)
        return sy_err_set(err, -EINVAL, f, "domain: one of the route's domains, or \"\"");
    m->upstream = c->upstream;
    if (!upstream_name(m->upstream, true))
        return sy_err_set(err, -EINVAL, f, "upstream: \"legacy\", \"new\" or \"error\"");
    m->tried = c->tried ? c->tried : strcmp(m->upstream, "error") ? m->upstream : NULL;
    if (!upstream_name(m->tried, false))
        return sy_err_set(err, -EINVAL, f, "tried: \"legacy\" or \"new\" (required for errors)");
    if (c->requests < 1 || c->requests > 1000000000000)
        return sy_err_set(err, -EINVAL, f, "requests: an integer from 1 to 10^12");
    m->requests = c->requests;
    if (c->errors < 0 || c->errors > m->requests)
        return sy_err_set(err, -EINVAL, f, "errors: an integer from 0 to requests");
    m->errors = c->errors;
    /* Bounded, so that the sums of a window stay finite (an infinite mean is no JSON). */
    if (!(c->total_ms >= 0) || !(c->total_ms <= (double)m->requests * REPORT_MS_MAX))
        return sy_err_set(err, -EINVAL, f, "total_ms: a number from 0 to requests x 86400000");
    m->total_ms = c->total_ms;
    int64_t counts[SY_LAT_BUCKETS] = {0}, sum = 0;
    for (int b = 0; c->hist && b < SY_LAT_BUCKETS; b++) {
        if (c->hist[b] < 0 || (sum += c->hist[b]) > m->requests)
            return sy_err_set(err, -EINVAL, f,
                              "hist: buckets 0..%d, counts >= 0 summing to at most requests",
                              SY_LAT_BUCKETS - 1);
        counts[b] = c->hist[b];
    }
    sum = 0;
    for (int k = 1; k < 6; k++)
        if (c->status[k] < 0 || (sum += c->status[k]) > m->requests)
            return sy_err_set(err, -EINVAL, f,
                              "status: classes 1xx..5xx, counts >= 0 summing to at most requests");
    sy_store_sparse_put(text->hist, sizeof(text->hist), counts, SY_LAT_BUCKETS);
    int64_t classes[6];
    memcpy(classes, c->status, sizeof(classes));
    classes[0] = 0;
    sy_store_sparse_put(text->status, sizeof(text->status), classes, 6);
    m->hist = text->hist;
    m->status = text->status;
    return 0;
}

int sy_engine_route_report(sy_engine_t *eng, const sy_principal_t *who, const char *name,
                           const sy_route_report_t *report, sy_route_report_answer_t *out,
                           sy_err_t *err)
{
    const struct route *found = sy_eng_route_find(eng, who->workspace, name);
    if (!found)
        return sy_err_set(err, -ENOENT, "name", "no such route");
    /* held: nothing below replaces the route's definition */
    const sy_route_spec_t *route = &found->spec->r[0];
    int rc;
    const char *state = report->breaker;
    if (state && strcmp(state, "open") && strcmp(state, "half_open") && strcmp(state, "closed"))
        return sy_err_set(err, -EINVAL, "breaker", "\"open\", \"half_open\" or \"closed\"");
    size_t n = report->n;
    if (n > REPORT_ROWS || (n && !report->counters))
        return sy_err_set(err, -EINVAL, "counters", "an array of at most %d rows", REPORT_ROWS);
    sy_store_route_minute_t *rows = calloc(n + 1, sizeof(*rows));
    sy_store_minute_text_t *text = calloc(n + 1, sizeof(*text));
    int64_t minute = sy_engine_now_ms(eng) / 60000;
    rc = rows && text ? 0 : sy_eng_oom(err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = report_row(route, &report->counters[i], i, &rows[i], &text[i], err);
        rows[i].workspace = who->workspace;
        rows[i].route = name;
        rows[i].minute = minute;
    }
    /* everything checked: the counters and the breaker's move in one transaction, with the
     * answer made before it commits (after it only memory takes the change) */
    struct breaker_move m = {0};
    if (rc == 0)
        rc = sy_store_begin(eng->store, err);
    if (rc == 0) {
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = sy_store_route_minute_add(eng->store, &rows[i], err);
        if (rc == 0 && state)
            rc = sy_eng_route_breaker_write(eng, who->workspace, name, state, sy_engine_now_ms(eng),
                                            &m, err);
        if (rc == 0) {
            out->counters = n;
            snprintf(out->breaker, sizeof(out->breaker), "%s",
                     m.r ? m.state : sy_engine_route_breaker_state(eng, who, name));
        }
        if (rc < 0)
            sy_store_rollback(eng->store);
        else
            rc = sy_store_commit(eng->store, err);
    }
    struct route *r = rc == 0 ? sy_eng_route_find(eng, who->workspace, name) : NULL;
    for (size_t i = 0; r && i < n; i++) { /* for its health and its plan */
        bool error = strcmp(rows[i].upstream, "error") == 0;
        int u = strcmp(error ? rows[i].tried : rows[i].upstream, "new") == 0;
        r->reported[u].requests += rows[i].requests;
        r->reported[u].errors += error ? rows[i].requests : rows[i].errors;
        if (error)
            continue;
        r->reported[u].answered +=
            sy_store_sparse_add(r->reported[u].hist, SY_LAT_BUCKETS, rows[i].hist);
    }
    if (rc == 0)
        sy_eng_route_breaker_apply(eng, &m);
    free(rows);
    free(text);
    return rc;
}
