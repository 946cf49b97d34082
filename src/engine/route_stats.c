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

/* {"2xx": N, ...} of the classes counted in status[1..5]. */
static json_t *status_json(const int64_t *status)
{
    json_t *o = json_object();
    for (int k = 1; o && k < 6; k++)
        if (status[k]) {
            char key[4] = {(char)('0' + k), 'x', 'x', 0};
            json_object_set_new(o, key, json_integer(status[k]));
        }
    return o;
}

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
            by, json_pack("{sosssssIsIsosfsfsfsf}", "domain",
                          w->r[j].domain[0] ? json_string(w->r[j].domain) : json_null(), "upstream",
                          w->r[j].upstream, "tried", w->r[j].tried, "requests",
                          (json_int_t)w->r[j].requests, "errors", (json_int_t)w->r[j].errors,
                          "status", status_json(w->r[j].status), "avg_ms",
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

/* ---- a proxy-only process's report ---------------------------------------------------------- */

#define REPORT_ROWS   256
#define REPORT_MS_MAX 86400000.0 /* a request's time at most, on average: a day */

static bool upstream_name(const char *s, bool error_too)
{
    return s && (strcmp(s, "legacy") == 0 || strcmp(s, "new") == 0 ||
                 (error_too && strcmp(s, "error") == 0));
}

/* Row i of a report's counters, checked, into m (its sparse texts in `text`). */
static int report_row(const sy_route_spec_t *route, const json_t *row, size_t i,
                      sy_store_route_minute_t *m, sy_store_minute_text_t *text, sy_err_t *err)
{
    char f[64];
    static const char *const keys[] = {"domain",   "upstream", "tried",  "requests", "errors",
                                       "total_ms", "hist",     "status", NULL};
    snprintf(f, sizeof(f), "counters[%zu]", i);
    if (!json_is_object(row))
        return sy_err_set(err, -EINVAL, f, "a counters row is an object");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)row, k, v)
    {
        size_t j = 0;
        while (keys[j] && strcmp(keys[j], k) != 0)
            j++;
        if (!keys[j]) {
            char fk[sizeof(err->field)];
            snprintf(fk, sizeof(fk), "%.24s.%.32s", f, k);
            return sy_err_set(err, SY_EUNKNOWN, fk, "unknown field \"%s\"", k);
        }
    }
    const json_t *dom = json_object_get(row, "domain");
    m->domain = dom ? json_string_value(dom) : "";
    if (!m->domain || (*m->domain && sy_route_spec_domain(route, m->domain) < 0))
        return sy_err_set(err, -EINVAL, f, "domain: one of the route's domains, or \"\"");
    m->upstream = json_string_value(json_object_get(row, "upstream"));
    if (!upstream_name(m->upstream, true))
        return sy_err_set(err, -EINVAL, f, "upstream: \"legacy\", \"new\" or \"error\"");
    const json_t *tried = json_object_get(row, "tried");
    m->tried = tried ? json_string_value(tried) : strcmp(m->upstream, "error") ? m->upstream : NULL;
    if (!upstream_name(m->tried, false))
        return sy_err_set(err, -EINVAL, f, "tried: \"legacy\" or \"new\" (required for errors)");
    const json_t *n = json_object_get(row, "requests"), *e = json_object_get(row, "errors"),
                 *t = json_object_get(row, "total_ms");
    if (!json_is_integer(n) || json_integer_value(n) < 1 || json_integer_value(n) > 1000000000000)
        return sy_err_set(err, -EINVAL, f, "requests: an integer from 1 to 10^12");
    m->requests = json_integer_value(n);
    if (e &&
        (!json_is_integer(e) || json_integer_value(e) < 0 || json_integer_value(e) > m->requests))
        return sy_err_set(err, -EINVAL, f, "errors: an integer from 0 to requests");
    m->errors = e ? json_integer_value(e) : 0;
    /* Bounded, so that the sums of a window stay finite (an infinite mean is no JSON). */
    if (!json_is_number(t) || !(json_number_value(t) >= 0) ||
        !(json_number_value(t) <= (double)m->requests * REPORT_MS_MAX))
        return sy_err_set(err, -EINVAL, f, "total_ms: a number from 0 to requests x 86400000");
    m->total_ms = json_number_value(t);
    const json_t *h = json_object_get(row, "hist");
    if (h && !json_is_object(h))
        return sy_err_set(err, -EINVAL, f, "hist: {BUCKET: COUNT}");
    int64_t counts[SY_LAT_BUCKETS] = {0}, classes[6] = {0}, sum = 0;
    json_object_foreach((json_t *)h, k, v)
    {
        char *end;
        long b = strtol(k, &end, 10);
        if (*end || end == k || b < 0 || b >= SY_LAT_BUCKETS || !json_is_integer(v) ||
            json_integer_value(v) < 0 || (sum += json_integer_value(v)) > m->requests)
            return sy_err_set(err, -EINVAL, f,
                              "hist: buckets 0..%d, counts >= 0 summing to at most requests",
                              SY_LAT_BUCKETS - 1);
        counts[b] += json_integer_value(v);
    }
    const json_t *st = json_object_get(row, "status");
    if (st && !json_is_object(st))
        return sy_err_set(err, -EINVAL, f, "status: {\"2xx\": COUNT, ...}");
    sum = 0;
    json_object_foreach((json_t *)st, k, v)
    {
        if (strlen(k) != 3 || k[0] < '1' || k[0] > '5' || strcmp(k + 1, "xx") != 0 ||
            !json_is_integer(v) || json_integer_value(v) < 0 ||
            (sum += json_integer_value(v)) > m->requests)
            return sy_err_set(err, -EINVAL, f,
                              "status: classes 1xx..5xx, counts >= 0 summing to at most requests");
        classes[k[0] - '0'] = json_integer_value(v);
    }
    sy_store_sparse_put(text->hist, sizeof(text->hist), counts, SY_LAT_BUCKETS);
    sy_store_sparse_put(text->status, sizeof(text->status), classes, 6);
    m->hist = text->hist;
    m->status = text->status;
    return 0;
}

int sy_engine_route_report(sy_engine_t *eng, const sy_principal_t *who, const char *name,
                           const json_t *body, json_t **out, sy_err_t *err)
{
    const struct route *found = sy_eng_route_find(eng, who->workspace, name);
    if (!found)
        return sy_err_set(err, -ENOENT, "name", "no such route");
    /* held: nothing below replaces the route's definition */
    const sy_route_spec_t *route = &found->spec->r[0];
    int rc;
    const json_t *breaker = json_object_get(body, "breaker"),
                 *counters = json_object_get(body, "counters");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)body, k, v)
    {
        if (strcmp(k, "breaker") != 0 && strcmp(k, "counters") != 0) {
            return sy_err_set(err, SY_EUNKNOWN, k,
                              "unknown field \"%.64s\" (a report has breaker, counters)", k);
        }
    }
    const char *state = breaker ? json_string_value(breaker) : NULL;
    if (breaker && (!state || (strcmp(state, "open") && strcmp(state, "half_open") &&
                               strcmp(state, "closed")))) {
        return sy_err_set(err, -EINVAL, "breaker", "\"open\", \"half_open\" or \"closed\"");
    }
    size_t n = json_array_size(counters);
    if ((counters && !json_is_array(counters)) || n > REPORT_ROWS) {
        return sy_err_set(err, -EINVAL, "counters", "an array of at most %d rows", REPORT_ROWS);
    }
    sy_store_route_minute_t *rows = calloc(n + 1, sizeof(*rows));
    sy_store_minute_text_t *text = calloc(n + 1, sizeof(*text));
    int64_t minute = sy_engine_now_ms(eng) / 60000;
    rc = rows && text ? 0 : sy_eng_oom(err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = report_row(route, json_array_get(counters, i), i, &rows[i], &text[i], err);
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
        if (rc == 0 &&
            !(*out = json_pack("{sssIss}", "route", name, "counters", (json_int_t)n, "breaker",
                               m.r ? m.state : sy_engine_route_breaker_state(eng, who, name))))
            rc = sy_eng_oom(err);
        if (rc < 0)
            sy_store_rollback(eng->store);
        else if ((rc = sy_store_commit(eng->store, err)) < 0) {
            json_decref(*out);
            *out = NULL;
        }
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
