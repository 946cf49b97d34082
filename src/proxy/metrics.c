/* metrics.c - the proxy's families of GET /metrics, read at scrape time from the counters
 * the workers keep anyway (proxy.h: sy_proxy_rows, sy_proxy_counts); see
 * docs/operations.md for the table of names, labels and bounds.
 *
 * Nothing here adds work to a request: a scrape sums the workers' rows (each worker's lock
 * held while its rows are copied, as GET /v1/routes/{name}/stats does), folds them by
 * (workspace, route, backend) and writes them. Domains are summed over: a route defines
 * as many as it likes, and a label per domain would be unbounded. Every route of the
 * current configuration has its series from the start (zeros), so that a ratio or an
 * alert sees 0 rather than nothing; a route deleted since keeps its counts until the
 * process ends, as a counter must.
 *
 * The latency histogram: the workers keep 160 buckets 10 % wide (core/latency.h); a scrape
 * folds them into LE bounds, each bucket into the first bound at or above its upper edge,
 * so a request is never counted under a bound it exceeded (one within 10 % below a bound
 * may be counted at the next: quantiles read from it are at most one bound high).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/prom.h"
#include "proxy/internal.h"

static const double le_s[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                              0.25,   0.5,   1,      2.5,   5,    10,    30,   INFINITY};
#define LE (sizeof(le_s) / sizeof(le_s[0]))

static const struct {
    int status;
    const char *code;
} refusals[SY_PROXY_REFUSALS] = {
    [SY_PROXY_REFUSED_400] = {400, "bad_request"},
    [SY_PROXY_REFUSED_403] = {403, "kill_switch"},
    [SY_PROXY_REFUSED_404] = {404, "not_found"},
    [SY_PROXY_REFUSED_408] = {408, "request_timeout"},
    [SY_PROXY_REFUSED_413] = {413, "too_large"},
    [SY_PROXY_REFUSED_431] = {431, "headers_too_large"},
    [SY_PROXY_REFUSED_501] = {501, "bad_request"},
    [SY_PROXY_REFUSED_503] = {503, "unavailable"},
    [SY_PROXY_REFUSED_505] = {505, "bad_request"},
};

int sy_proxy_refusal_of(int status)
{
    for (int i = 0; i < SY_PROXY_REFUSALS; i++)
        if (refusals[i].status == status)
            return i;
    return -1;
}

int sy_proxy_refusal_status(int i)
{
    return i >= 0 && i < SY_PROXY_REFUSALS ? refusals[i].status : 0;
}

const char *sy_proxy_refusal_code(int i)
{
    return i >= 0 && i < SY_PROXY_REFUSALS ? refusals[i].code : "";
}

const char *sy_proxy_fallback_name(sy_proxy_fallback_t why)
{
    static const char *const names[SY_PROXY_FALLBACK_REASONS] = {
        [SY_PROXY_FB_CONNECT_ERROR] = "connect_error",
        [SY_PROXY_FB_CONNECT_TIMEOUT] = "connect_timeout",
        [SY_PROXY_FB_RESET] = "reset_before_request",
        [SY_PROXY_FB_CLOSED] = "closed_before_answer",
    };
    return (int)why >= 0 && why < SY_PROXY_FALLBACK_REASONS ? names[why] : "";
}

void sy_proxy_counts(sy_proxy_t *p, sy_proxy_counts_t *out)
{
    *out = (sy_proxy_counts_t){.max_conns = p->o.max_conns};
    for (int i = 0; i < p->n_workers; i++) {
        struct worker *w = &p->w[i];
        out->open_conns += atomic_load_explicit(&w->n_conns, memory_order_relaxed);
        out->shed_waiting += atomic_load_explicit(&w->shed_waiting, memory_order_relaxed);
        out->shed_new += atomic_load_explicit(&w->shed_new, memory_order_relaxed);
        for (int k = 0; k < SY_PROXY_REFUSALS; k++)
            out->refused[k] += atomic_load_explicit(&w->refused[k], memory_order_relaxed);
        pthread_mutex_lock(&w->stats_lock);
        out->uncounted += w->uncounted;
        pthread_mutex_unlock(&w->stats_lock);
    }
}

/* ---- the rows, by (workspace, route, backend) ------------------------------------------------ */

struct backend {
    int64_t status[6]; /* its answers by status class */
    int64_t failed;    /* requests meant for it that it failed before answering */
    int64_t gateway;   /* of them, those the proxy answered 502 or 504 */
    int64_t answered;  /* its answers: the histogram's count */
    double sum_ms;     /* their time */
    int64_t hist[LE];  /* folded, not cumulative */
};

struct route_sum {
    int64_t ws;
    char ws_text[24];
    char route[SY_ROUTE_MAX_NAME + 1];
    struct backend up[2]; /* legacy, new */
    int64_t fallbacks[SY_PROXY_FALLBACK_REASONS];
};

struct sums {
    struct route_sum *r;
    size_t n, cap;
    int fold[SY_LAT_BUCKETS]; /* each latency bucket's index in le_s */
};

/* The sum of route (ws, name), made when it is new (NULL when out of memory). */
static struct route_sum *sum_of(struct sums *s, int64_t ws, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->r[i].ws == ws && strcmp(s->r[i].route, name) == 0)
            return &s->r[i];
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        struct route_sum *a = realloc(s->r, cap * sizeof(*a));
        if (!a)
            return NULL;
        s->r = a;
        s->cap = cap;
    }
    struct route_sum *r = &s->r[s->n++];
    memset(r, 0, sizeof(*r));
    r->ws = ws;
    snprintf(r->ws_text, sizeof(r->ws_text), "%lld", (long long)ws);
    snprintf(r->route, sizeof(r->route), "%s", name);
    return r;
}

/* Row `row` into its route's sum; false when out of memory. */
static bool add_row(struct sums *s, const sy_proxy_row_t *row)
{
    struct route_sum *r = sum_of(s, row->ws, row->route);
    if (!r)
        return false;
    if (row->upstream == LEGACY || row->upstream == NEW) {
        struct backend *b = &r->up[row->upstream];
        for (int k = 0; k < 6; k++)
            b->status[k] += row->status[k];
        b->answered += row->requests;
        b->sum_ms += row->total_ms;
        for (int k = 0; k < SY_LAT_BUCKETS; k++)
            b->hist[s->fold[k]] += row->hist[k];
        return true;
    }
    struct backend *b = &r->up[row->tried == NEW ? NEW : LEGACY];
    int64_t fell = 0;
    for (int f = 0; f < SY_PROXY_FALLBACK_REASONS; f++) {
        r->fallbacks[f] += row->fallbacks[f];
        fell += row->fallbacks[f];
    }
    b->failed += row->requests;
    b->gateway += row->requests - fell;
    return true;
}

/* The routes of the current configuration, and every route the rows counted. false when
 * out of memory (nothing is written then: a partial family would read as a reset). */
static bool gather(sy_proxy_t *p, struct sums *s)
{
    for (int k = 0; k < SY_LAT_BUCKETS; k++) {
        double edge_s = (pow(1.1, k + 1) - 1) / 1e6;
        size_t j = 0;
        while (j + 1 < LE && le_s[j] < edge_s)
            j++;
        s->fold[k] = (int)j;
    }
    pthread_mutex_lock(&p->swap_lock);
    struct snapshot *snap = p->current;
    atomic_fetch_add(&snap->refs, 1);
    pthread_mutex_unlock(&p->swap_lock);
    bool ok = true;
    for (size_t i = 0; ok && i < snap->n; i++)
        ok = sum_of(s, snap->r[i].ws, snap->r[i].name) != NULL;
    sy_proxy_snapshot_put(snap);
    size_t n = 0;
    sy_proxy_row_t *rows = ok ? sy_proxy_rows(p, -1, &n) : NULL;
    ok = rows != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = add_row(s, &rows[i]);
    free(rows);
    return ok;
}

/* ---- the families ---------------------------------------------------------------------------- */

static const char *const backends[] = {"legacy", "new"};

static void write_routes(sy_prom_t *o, const struct sums *s)
{
    static const char *const classes[] = {"", "1xx", "2xx", "3xx", "4xx", "5xx"};
    sy_prom_family(o, "switchyard_proxy_requests_total", SY_PROM_COUNTER,
                   "Requests of each route by the backend meant to answer them and how it did: "
                   "the class of its answer, or failed (no answer: it could not be reached, "
                   "reset, timed out or answered garbage). A request that fell back counts "
                   "failed for new, then by its answer for legacy.");
    for (size_t i = 0; i < s->n; i++)
        for (int u = 0; u < 2; u++) {
            const struct backend *b = &s->r[i].up[u];
            for (int k = 1; k <= 6; k++)
                sy_prom_sample(o, "switchyard_proxy_requests_total",
                               (sy_prom_label_t[]){{"workspace", s->r[i].ws_text},
                                                   {"route", s->r[i].route},
                                                   {"backend", backends[u]},
                                                   {"status", k < 6 ? classes[k] : "failed"}},
                               4, (double)(k < 6 ? b->status[k] : b->failed));
            /* a status line of 600 to 999 is passed on, in no class */
            int64_t classed =
                b->status[1] + b->status[2] + b->status[3] + b->status[4] + b->status[5];
            if (b->answered > classed)
                sy_prom_sample(o, "switchyard_proxy_requests_total",
                               (sy_prom_label_t[]){{"workspace", s->r[i].ws_text},
                                                   {"route", s->r[i].route},
                                                   {"backend", backends[u]},
                                                   {"status", "other"}},
                               4, (double)(b->answered - classed));
        }
    sy_prom_family(o, "switchyard_proxy_request_duration_seconds", SY_PROM_HISTOGRAM,
                   "How long each backend's answers took, from the request read whole to the "
                   "answer's end (a fallback's includes new's failed attempt).");
    for (size_t i = 0; i < s->n; i++)
        for (int u = 0; u < 2; u++) {
            const struct backend *b = &s->r[i].up[u];
            sy_prom_histogram(o, "switchyard_proxy_request_duration_seconds",
                              (sy_prom_label_t[]){{"workspace", s->r[i].ws_text},
                                                  {"route", s->r[i].route},
                                                  {"backend", backends[u]}},
                              3, le_s, b->hist, LE, b->sum_ms / 1e3);
        }
    sy_prom_family(o, "switchyard_proxy_fallbacks_total", SY_PROM_COUNTER,
                   "Requests new failed before answering that went on to legacy, by why it "
                   "failed (the client saw legacy's answer).");
    for (size_t i = 0; i < s->n; i++)
        for (int f = 0; f < SY_PROXY_FALLBACK_REASONS; f++)
            sy_prom_sample(o, "switchyard_proxy_fallbacks_total",
                           (sy_prom_label_t[]){{"workspace", s->r[i].ws_text},
                                               {"route", s->r[i].route},
                                               {"reason", sy_proxy_fallback_name(f)}},
                           3, (double)s->r[i].fallbacks[f]);
    sy_prom_family(o, "switchyard_proxy_gateway_errors_total", SY_PROM_COUNTER,
                   "502 Bad Gateway and 504 Gateway Timeout the proxy answered itself, by the "
                   "backend that failed the request (it could not go elsewhere).");
    for (size_t i = 0; i < s->n; i++)
        for (int u = 0; u < 2; u++)
            sy_prom_sample(o, "switchyard_proxy_gateway_errors_total",
                           (sy_prom_label_t[]){{"workspace", s->r[i].ws_text},
                                               {"route", s->r[i].route},
                                               {"backend", backends[u]}},
                           3, (double)s->r[i].up[u].gateway);
}

static void write_counts(sy_prom_t *o, const sy_proxy_counts_t *k)
{
    sy_prom_family(o, "switchyard_proxy_refusals_total", SY_PROM_COUNTER,
                   "Answers the proxy gave itself without asking a backend, by status and "
                   "error code (a head or body too slow, too large or malformed, no route, "
                   "the kill switch).");
    for (int i = 0; i < SY_PROXY_REFUSALS; i++) {
        char code[8];
        snprintf(code, sizeof(code), "%d", sy_proxy_refusal_status(i));
        sy_prom_sample(o, "switchyard_proxy_refusals_total",
                       (sy_prom_label_t[]){{"code", code}, {"reason", sy_proxy_refusal_code(i)}}, 2,
                       (double)k->refused[i]);
    }
    sy_prom_family(o, "switchyard_proxy_open_connections", SY_PROM_GAUGE,
                   "Client connections the proxy has open.");
    sy_prom_sample(o, "switchyard_proxy_open_connections", NULL, 0, (double)k->open_conns);
    if (k->max_conns) {
        sy_prom_family(o, "switchyard_proxy_max_connections", SY_PROM_GAUGE,
                       "The cap on the proxy's client connections (--proxy-max-connections).");
        sy_prom_sample(o, "switchyard_proxy_max_connections", NULL, 0, (double)k->max_conns);
    }
    sy_prom_family(o, "switchyard_proxy_connections_shed_total", SY_PROM_COUNTER,
                   "Connections closed at the cap: the one waiting longest for a request head "
                   "closed to take a new one (closed_waiting), or the new one when none waited "
                   "(refused_new).");
    sy_prom_sample(o, "switchyard_proxy_connections_shed_total",
                   (sy_prom_label_t[]){{"action", "closed_waiting"}}, 1, (double)k->shed_waiting);
    sy_prom_sample(o, "switchyard_proxy_connections_shed_total",
                   (sy_prom_label_t[]){{"action", "refused_new"}}, 1, (double)k->shed_new);
    sy_prom_family(o, "switchyard_proxy_uncounted_requests_total", SY_PROM_COUNTER,
                   "Requests served but left out of the counters above (a worker's rows full, "
                   "or out of memory): should stay 0.");
    sy_prom_sample(o, "switchyard_proxy_uncounted_requests_total", NULL, 0, (double)k->uncounted);
}

void sy_proxy_metrics(sy_proxy_t *p, struct sy_prom *out)
{
    struct sums s = {0};
    if (gather(p, &s))
        write_routes(out, &s);
    free(s.r);
    sy_proxy_counts_t k;
    sy_proxy_counts(p, &k);
    write_counts(out, &k);
}
