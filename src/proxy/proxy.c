/* proxy.c - the proxy's routes (compiled into snapshots), its workers and their
 * listeners, and its counters; see proxy.h. The requests themselves are conn.c's. */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/thread.h>

#include "proxy/internal.h"

/* ---- compiling routes ------------------------------------------------------------------------ */

/* HOST:PORT into a socket address (a numeric address, or a name resolved now). */
static int resolve(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof(host))
        return -EINVAL;
    size_t n = (size_t)(colon - text);
    memcpy(host, text, n);
    host[n] = '\0';
    if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || !res)
        return -ENOENT;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int compile_upstream(const sy_route_upstream_t *u, struct upstream *out)
{
    snprintf(out->text, sizeof(out->text), "%s", u->address);
    out->connect_ms = (int)u->connect_timeout_ms;
    out->read_ms = (int)u->read_timeout_ms;
    out->keepalive = (int)u->keepalive;
    return resolve(u->address, &out->addr, &out->addr_len);
}

/* Compiles spec `s` (checked where it was defined: core/route_spec.h) into r, pointing
 * into it. -ENOENT when an upstream's address does not resolve. */
static int compile(const sy_route_spec_t *s, struct proute *r)
{
    *r = (struct proute){.ws = s->ws,
                         .name = s->name,
                         .listen = s->listen,
                         .prefix = strcmp(s->path_prefix, "/") == 0 ? "" : s->path_prefix,
                         .sticky = s->sticky.kind,
                         .sticky_name = s->sticky.name,
                         .inspect = s->inspect_body_bytes,
                         .needs_body = s->sticky.kind == SY_STICKY_BODY_FIELD,
                         .retry_any = s->retry_non_idempotent,
                         .has_plan = s->has_plan,
                         .breaker = s->breaker};
    r->prefix_len = strlen(r->prefix);
    if (compile_upstream(&s->up[SY_ROUTE_LEGACY], &r->up[LEGACY]) < 0 ||
        compile_upstream(&s->up[SY_ROUTE_NEW], &r->up[NEW]) < 0)
        return -ENOENT;
    for (size_t i = 0; i < s->n_domains; i++)
        for (size_t k = 0; k < s->domains[i].n_rules; k++)
            r->needs_body |= s->domains[i].rules[k].kind == SY_RULE_BODY_FIELD ||
                             s->domains[i].rules[k].kind == SY_RULE_BODY_KEYWORDS;
    r->policy = (sy_route_policy_t){.name = s->name,
                                    .enabled = s->enabled,
                                    .killed = s->killed,
                                    .percentage_bp = s->percentage_bp,
                                    .routable_only = s->routable_only,
                                    .domains = s->domains,
                                    .n_domains = s->n_domains};
    return 0;
}

static void snapshot_free(struct snapshot *s)
{
    free(s->r);
    sy_routes_free(s->routes);
    free(s);
}

void sy_proxy_snapshot_put(struct snapshot *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        snapshot_free(s);
}

struct snapshot *sy_proxy_snapshot_get(struct worker *w)
{
    struct sy_proxy *p = w->p;
    if (atomic_load_explicit(&p->gen, memory_order_acquire) != w->gen) {
        pthread_mutex_lock(&p->swap_lock);
        struct snapshot *old = w->snap;
        w->snap = p->current;
        atomic_fetch_add(&w->snap->refs, 1);
        w->gen = atomic_load(&p->gen);
        pthread_mutex_unlock(&p->swap_lock);
        sy_proxy_snapshot_put(old);
    }
    atomic_fetch_add_explicit(&w->snap->refs, 1, memory_order_relaxed);
    return w->snap;
}

static void publish(struct sy_proxy *p, struct snapshot *s)
{
    pthread_mutex_lock(&p->swap_lock);
    struct snapshot *old = p->current;
    p->current = s;
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_mutex_unlock(&p->swap_lock);
    sy_proxy_snapshot_put(old);
}

/* The breaker of route (ws, name), made closed if it has none (NULL when out of memory):
 * it outlives the snapshots. Under breakers_lock. */
static struct wbreaker *breaker_of(struct sy_proxy *p, int64_t ws, const char *name)
{
    for (size_t i = 0; i < p->n_breakers; i++)
        if (p->breakers[i]->ws == ws && strcmp(p->breakers[i]->route, name) == 0)
            return p->breakers[i];
    if (p->n_breakers == p->cap_breakers) {
        size_t cap = p->cap_breakers ? 2 * p->cap_breakers : 16;
        struct wbreaker **a = realloc(p->breakers, cap * sizeof(*a));
        if (!a)
            return NULL;
        p->breakers = a;
        p->cap_breakers = cap;
    }
    size_t workers = (size_t)p->n_workers;
    struct wbreaker *b = calloc(1, sizeof(*b) + workers * sizeof(b->ring[0]));
    uint64_t *logged = b ? calloc(workers ? workers : 1, sizeof(*logged)) : NULL;
    if (!logged) {
        free(b);
        return NULL;
    }
    b->logged = logged;
    for (size_t i = 0; i < workers; i++) {
        atomic_init(&b->ring[i].all, NULL);
        atomic_init(&b->ring[i].failed, NULL);
    }
    b->ws = ws;
    snprintf(b->route, sizeof(b->route), "%s", name);
    b->b = sy_breaker_new();
    atomic_init(&b->state, SY_BREAKER_CLOSED);
    p->breakers[p->n_breakers++] = b;
    return b;
}

int sy_proxy_update(sy_proxy_t *p, sy_routes_t *routes, sy_err_t *err)
{
    struct snapshot *s = calloc(1, sizeof(*s));
    size_t n = routes ? routes->n : 0;
    if (!s || !(s->r = calloc(n ? n : 1, sizeof(*s->r)))) {
        free(s);
        sy_routes_free(routes);
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    }
    atomic_init(&s->refs, 1);
    s->routes = routes;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const sy_route_spec_t *spec = &routes->r[i];
        struct proute *r = &s->r[s->n];
        int one = compile(spec, r);
        if (one == 0) {
            pthread_mutex_lock(&p->breakers_lock);
            struct wbreaker *wb = breaker_of(p, r->ws, r->name);
            pthread_mutex_unlock(&p->breakers_lock);
            r->brk = wb ? &wb->b : NULL;
            r->kept = wb;
            r->brk_state = wb ? &wb->state : NULL;
            one = r->brk ? 0 : -ENOMEM;
        }
        if (one == 0) {
            s->n++;
            continue;
        }
        rc = sy_err_set(err, one, "upstreams", "route \"%s\": %s", spec->name,
                        one == -ENOENT ? "an upstream address does not resolve" : "out of memory");
    }
    publish(p, s);
    for (int k = 0; k < p->n_workers; k++)
        event_active(p->w[k].sync, EV_READ, 0);
    return rc;
}

/* ---- workers and listeners ------------------------------------------------------------------- */

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *peer, int len,
                      void *arg)
{
    struct worker *w = arg;
    for (size_t i = 0; i < w->n_listeners; i++)
        if (w->listeners[i].l == l) {
            sy_proxy_accept(w, fd, w->listeners[i].text, peer, len);
            return;
        }
    evutil_closesocket(fd);
}

/* One listener of `w` on `text` (HOST:PORT), SO_REUSEPORT so every worker binds it; NULL
 * with *errnum (EADDRNOTAVAIL for a host that does not resolve) when it cannot. */
static struct evconnlistener *listen_on(struct worker *w, const char *text, int *errnum)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (resolve(text, &ss, &len) < 0) {
        *errnum = EADDRNOTAVAIL;
        return NULL;
    }
    errno = 0;
    struct evconnlistener *l = evconnlistener_new_bind(
        w->base, on_accept, w,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_EXEC,
        1024, (struct sockaddr *)&ss, (int)len);
    *errnum = l ? 0 : errno ? errno : EADDRINUSE;
    return l;
}

/* Replaces w's failed addresses by `fails` (taken). */
static void set_fails(struct worker *w, sy_proxy_listen_error_t *fails, size_t n)
{
    pthread_mutex_lock(&w->p->listen_lock);
    sy_proxy_listen_error_t *old = w->fails;
    w->fails = fails;
    w->n_fails = n;
    pthread_mutex_unlock(&w->p->listen_lock);
    free(old);
}

size_t sy_proxy_listen_errors(sy_proxy_t *p, sy_proxy_listen_error_t *out, size_t cap)
{
    size_t n = 0;
    pthread_mutex_lock(&p->listen_lock);
    for (int k = 0; k < p->n_workers; k++)
        for (size_t i = 0; i < p->w[k].n_fails && n < cap; i++) {
            const sy_proxy_listen_error_t *f = &p->w[k].fails[i];
            bool seen = false;
            for (size_t j = 0; !seen && j < n; j++)
                seen = strcmp(out[j].listen, f->listen) == 0;
            if (!seen)
                out[n++] = *f;
        }
    pthread_mutex_unlock(&p->listen_lock);
    return n;
}

/* Makes w's listeners those of its current routes. */
static void sync_listeners(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct worker *w = arg;
    struct snapshot *s = sy_proxy_snapshot_get(w);
    for (size_t i = 0; i < w->n_listeners;) { /* close those no route listens on */
        bool used = false;
        for (size_t k = 0; !used && k < s->n; k++)
            used = strcmp(s->r[k].listen, w->listeners[i].text) == 0;
        if (used) {
            i++;
            continue;
        }
        evconnlistener_free(w->listeners[i].l);
        w->listeners[i] = w->listeners[--w->n_listeners];
    }
    /* the addresses it cannot listen on this time (at most one per route) */
    sy_proxy_listen_error_t *fails = s->n ? calloc(s->n, sizeof(*fails)) : NULL;
    size_t n_fails = 0;
    for (size_t k = 0; k < s->n; k++) { /* open the new ones */
        bool have = false;
        for (size_t i = 0; !have && i < w->n_listeners; i++)
            have = strcmp(s->r[k].listen, w->listeners[i].text) == 0;
        if (have)
            continue;
        if (w->n_listeners == w->cap_listeners) {
            size_t cap = w->cap_listeners ? 2 * w->cap_listeners : 8;
            struct listener *a = realloc(w->listeners, cap * sizeof(*a));
            if (!a)
                continue; /* out of memory: the next update tries again */
            w->listeners = a;
            w->cap_listeners = cap;
        }
        int errnum;
        struct evconnlistener *l = listen_on(w, s->r[k].listen, &errnum);
        if (!l) { /* taken or gone: told (sy_proxy_listen_errors), and tried again */
            bool told = false;
            for (size_t i = 0; !told && i < n_fails; i++)
                told = strcmp(fails[i].listen, s->r[k].listen) == 0;
            if (fails && !told) {
                sy_proxy_listen_error_t *f = &fails[n_fails++];
                snprintf(f->listen, sizeof(f->listen), "%s", s->r[k].listen);
                snprintf(f->route, sizeof(f->route), "%s", s->r[k].name);
                f->ws = s->r[k].ws;
                f->errnum = errnum;
            }
            continue;
        }
        struct listener *one = &w->listeners[w->n_listeners++];
        one->l = l;
        snprintf(one->text, sizeof(one->text), "%s", s->r[k].listen);
    }
    sy_proxy_snapshot_put(s);
    set_fails(w, fails, n_fails);
    /* While an address fails, the sync runs every second (a persistent event with a
     * timeout) as well as at each update; once none does, at updates only. */
    if (n_fails)
        event_add(w->sync, &(struct timeval){.tv_sec = 1});
    else
        event_del(w->sync);
}

static void *run(void *arg)
{
    struct worker *w = arg;
    event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

int sy_proxy_start(sy_proxy_t **out, const sy_proxy_opts_t *o, sy_err_t *err)
{
    *out = NULL;
    if (o->workers < 1 || o->workers > 256)
        return sy_err_set(err, -EINVAL, "proxy-workers", "1 to 256 proxy workers");
    static bool threads;
    if (!threads && evthread_use_pthreads() < 0)
        return sy_err_set(err, -EIO, NULL, "proxy: libevent has no thread support");
    threads = true;
    struct sy_proxy *p = calloc(1, sizeof(*p));
    struct snapshot *empty = calloc(1, sizeof(*empty));
    if (!p || !empty || !(p->w = calloc((size_t)o->workers, sizeof(*p->w)))) {
        free(p ? p->w : NULL);
        free(p);
        free(empty);
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    }
    p->o = *o;
    if (p->o.header_timeout_s <= 0)
        p->o.header_timeout_s = 10;
    /* each worker its share of the cap: SO_REUSEPORT spreads the connections evenly */
    size_t share = o->max_conns / (size_t)o->workers;
    atomic_init(&empty->refs, 1);
    p->current = empty;
    atomic_init(&p->gen, 1);
    pthread_mutex_init(&p->swap_lock, NULL);
    pthread_mutex_init(&p->events_lock, NULL);
    pthread_mutex_init(&p->breakers_lock, NULL);
    pthread_mutex_init(&p->listen_lock, NULL);
    for (int i = 0; i < o->workers; i++) {
        struct worker *w = &p->w[i];
        w->p = p;
        w->max_conns = o->max_conns && share < 1 ? 1 : share;
        w->rng = ((uint64_t)time(NULL) << 16) ^ (uint64_t)getpid() ^ ((uint64_t)i << 40) ^
                 0x9E3779B97F4A7C15ull;
        pthread_mutex_init(&w->stats_lock, NULL);
        if (!(w->scratch = malloc(SY_PROXY_SCRATCH))) {
            p->n_workers = i;
            sy_proxy_stop(p);
            return sy_err_set(err, -ENOMEM, NULL, "out of memory");
        }
        /* epoll's change list folds a write event's add and delete within one turn of the
         * loop (most writes complete at once) into nothing; we never dup() sockets */
        struct event_config *cfg = event_config_new();
        if (cfg)
            event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        w->base = cfg ? event_base_new_with_config(cfg) : NULL;
        if (cfg)
            event_config_free(cfg);
        if (!w->base || !(w->sync = event_new(w->base, -1, EV_PERSIST, sync_listeners, w)) ||
            pthread_create(&w->thread, NULL, run, w) != 0) {
            if (w->sync)
                event_free(w->sync);
            if (w->base)
                event_base_free(w->base);
            w->base = NULL;
            p->n_workers = i;
            sy_proxy_stop(p);
            return sy_err_set(err, -EAGAIN, NULL, "proxy: cannot start its workers");
        }
        p->n_workers = i + 1;
    }
    *out = p;
    return 0;
}

static void stop_worker(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct worker *w = arg;
    for (size_t i = 0; i < w->n_listeners; i++)
        evconnlistener_free(w->listeners[i].l);
    w->n_listeners = 0;
    sy_proxy_idle_free(w);
    event_base_loopbreak(w->base);
}

void sy_proxy_stop(sy_proxy_t *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_workers; i++) {
        struct worker *w = &p->w[i];
        event_base_once(w->base, -1, EV_TIMEOUT, stop_worker, w, NULL);
        pthread_join(w->thread, NULL);
        event_free(w->sync);
        event_base_free(w->base);
        sy_proxy_snapshot_put(w->snap);
        free(w->scratch);
        free(w->listeners);
        free(w->fails);
        for (size_t b = 0; b < STATS_BLOCKS; b++)
            free(w->stats[b]);
        pthread_mutex_destroy(&w->stats_lock);
    }
    sy_proxy_snapshot_put(p->current);
    for (size_t i = 0; i < p->n_breakers; i++) {
        for (int k = 0; k < p->n_workers; k++) {
            free(atomic_load(&p->breakers[i]->ring[k].all));
            free(atomic_load(&p->breakers[i]->ring[k].failed));
        }
        free(p->breakers[i]->logged);
        free(p->breakers[i]);
    }
    free(p->breakers);
    pthread_mutex_destroy(&p->swap_lock);
    pthread_mutex_destroy(&p->events_lock);
    pthread_mutex_destroy(&p->breakers_lock);
    pthread_mutex_destroy(&p->listen_lock);
    free(p->w);
    free(p);
}

/* ---- breaker transitions -------------------------------------------------------------------- */

void sy_proxy_event(struct sy_proxy *p, int64_t ws, const char *route, sy_breaker_state_t to)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    pthread_mutex_lock(&p->events_lock);
    if (p->n_events < MAX_EVENTS) {
        sy_proxy_event_t *e = &p->events[p->n_events++];
        *e = (sy_proxy_event_t){.ws = ws,
                                .state = sy_breaker_state_name(to),
                                .at_ms = (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000};
        snprintf(e->route, sizeof(e->route), "%s", route);
    }
    pthread_mutex_unlock(&p->events_lock);
}

size_t sy_proxy_events(sy_proxy_t *p, sy_proxy_event_t *out, size_t cap)
{
    pthread_mutex_lock(&p->events_lock);
    size_t n = p->n_events < cap ? p->n_events : cap;
    memcpy(out, p->events, n * sizeof(*out));
    memmove(p->events, p->events + n, (p->n_events - n) * sizeof(*out));
    p->n_events -= n;
    pthread_mutex_unlock(&p->events_lock);
    return n;
}

/* ---- counters ---------------------------------------------------------------------------------
 */

const char *sy_proxy_upstream_name(int upstream)
{
    static const char *const names[] = {"legacy", "new", "error"};
    return upstream >= 0 && upstream <= 2 ? names[upstream] : "error";
}

sy_proxy_row_t *sy_proxy_rows(sy_proxy_t *p, int64_t ws, size_t *n)
{
    /* a worker's rows only grow: room for those counted by now, and those a worker adds
     * meanwhile wait for the next call */
    size_t room = 1;
    for (int i = 0; i < p->n_workers; i++) {
        pthread_mutex_lock(&p->w[i].stats_lock);
        room += p->w[i].n_stats;
        pthread_mutex_unlock(&p->w[i].stats_lock);
    }
    sy_proxy_row_t *sum = calloc(room, sizeof(*sum));
    *n = 0;
    /* each worker's rows copied under its lock (a worker takes it per request: it waits
     * for a copy, never for the summing), then summed in place */
    size_t copied = 0;
    for (int i = 0; sum && i < p->n_workers; i++) {
        struct worker *w = &p->w[i];
        pthread_mutex_lock(&w->stats_lock);
        for (size_t k = 0; k < w->n_stats && copied < room; k++) {
            const sy_proxy_row_t *r = sy_proxy_stat(w, k);
            if (ws < 0 || r->ws == ws)
                sum[copied++] = *r;
        }
        pthread_mutex_unlock(&w->stats_lock);
    }
    for (size_t k = 0; sum && k < copied; k++) {
        const sy_proxy_row_t *r = &sum[k];
        size_t j = 0;
        while (j < *n && !(sum[j].ws == r->ws && strcmp(sum[j].route, r->route) == 0 &&
                           strcmp(sum[j].domain, r->domain) == 0 &&
                           sum[j].upstream == r->upstream && sum[j].tried == r->tried))
            j++;
        if (j == *n) {
            if (j != k)
                sum[j] = *r;
            (*n)++;
            continue;
        }
        sum[j].requests += r->requests;
        sum[j].errors += r->errors;
        sum[j].total_ms += r->total_ms;
        for (int b = 0; b < LAT_BUCKETS; b++)
            sum[j].hist[b] += r->hist[b];
        for (int c = 0; c < 6; c++)
            sum[j].status[c] += r->status[c];
        for (int f = 0; f < SY_PROXY_FALLBACK_REASONS; f++)
            sum[j].fallbacks[f] += r->fallbacks[f];
    }
    return sum;
}

json_t *sy_proxy_status_json(const int64_t status[6])
{
    json_t *o = json_object();
    for (int k = 1; o && k < 6; k++)
        if (status[k] > 0) {
            char key[4] = {(char)('0' + k), 'x', 'x', 0};
            json_object_set_new(o, key, json_integer(status[k]));
        }
    return o;
}

static bool same_row(const sy_proxy_row_t *a, const sy_proxy_row_t *b)
{
    return a->ws == b->ws && a->upstream == b->upstream && a->tried == b->tried &&
           strcmp(a->route, b->route) == 0 && strcmp(a->domain, b->domain) == 0;
}

sy_proxy_row_t *sy_proxy_rows_since(const sy_proxy_row_t *now, size_t n_now,
                                    const sy_proxy_row_t *base, size_t n_base, size_t *n)
{
    sy_proxy_row_t *d = calloc(n_now + 1, sizeof(*d));
    *n = 0;
    for (size_t i = 0; d && i < n_now; i++) {
        const sy_proxy_row_t *b = NULL;
        for (size_t j = 0; !b && j < n_base; j++)
            if (same_row(&base[j], &now[i]))
                b = &base[j];
        if (b && now[i].requests <= b->requests)
            continue;
        sy_proxy_row_t *r = &d[(*n)++];
        *r = now[i];
        if (!b)
            continue;
        r->requests -= b->requests;
        r->errors -= b->errors;
        r->total_ms -= b->total_ms;
        for (int k = 0; k < LAT_BUCKETS; k++)
            r->hist[k] -= b->hist[k];
        for (int k = 0; k < 6; k++)
            r->status[k] -= b->status[k];
        for (int k = 0; k < SY_PROXY_FALLBACK_REASONS; k++)
            r->fallbacks[k] -= b->fallbacks[k];
    }
    return d;
}

json_t *sy_proxy_stats(sy_proxy_t *p, int64_t ws)
{
    size_t n;
    sy_proxy_row_t *sum = sy_proxy_rows(p, ws, &n);
    json_t *routes = json_object();
    for (size_t j = 0; sum && routes && j < n; j++) {
        const sy_proxy_row_t *r = &sum[j];
        json_t *one = json_object_get(routes, r->route);
        if (!one) {
            one = json_pack("{sIs[]}", "requests", (json_int_t)0, "by");
            json_object_set_new(routes, r->route, one);
        }
        json_object_set_new(
            one, "requests",
            json_integer(json_integer_value(json_object_get(one, "requests")) + r->requests));
        json_t *status = sy_proxy_status_json(r->status);
        json_array_append_new(json_object_get(one, "by"),
                              json_pack("{sosssssIsIsosfsfsfsf}", "domain",
                                        r->domain[0] ? json_string(r->domain) : json_null(),
                                        "upstream", sy_proxy_upstream_name(r->upstream), "tried",
                                        sy_proxy_upstream_name(r->tried), "requests",
                                        (json_int_t)r->requests, "errors", (json_int_t)r->errors,
                                        "status", status, "avg_ms",
                                        r->requests ? r->total_ms / (double)r->requests : 0.0,
                                        "p50_ms", sy_lat_quantile(r->hist, r->requests, 0.5),
                                        "p95_ms", sy_lat_quantile(r->hist, r->requests, 0.95),
                                        "p99_ms", sy_lat_quantile(r->hist, r->requests, 0.99)));
    }
    json_t *out = NULL;
    if (sum && routes)
        out = json_pack("{so}", "routes", routes); /* takes `routes`, even when it fails */
    else
        json_decref(routes);
    free(sum);
    return out;
}

int sy_proxy_health(sy_proxy_t *p, int64_t ws, const char *route, int upstream,
                    sy_route_health_t *out)
{
    int64_t hist[SY_LAT_BUCKETS] = {0}, answered = 0;
    *out = (sy_route_health_t){0};
    for (int i = 0; i < p->n_workers; i++) { /* the route's rows only, in place */
        struct worker *w = &p->w[i];
        pthread_mutex_lock(&w->stats_lock);
        for (size_t k = 0; k < w->n_stats; k++) {
            const sy_proxy_row_t *r = sy_proxy_stat(w, k);
            if (r->ws != ws || strcmp(r->route, route) != 0)
                continue;
            if (r->upstream == upstream) {
                out->requests += r->requests;
                out->errors += r->errors;
                answered += r->requests;
                for (int b = 0; b < SY_LAT_BUCKETS; b++)
                    hist[b] += r->hist[b];
            } else if (r->upstream == UPSTREAMS && r->tried == upstream) {
                out->requests += r->requests; /* it failed them before any answer */
                out->errors += r->requests;
            }
        }
        pthread_mutex_unlock(&w->stats_lock);
    }
    out->p95_ms = sy_lat_quantile(hist, answered, 0.95);
    return 0;
}

/* ---- the recent-request log ------------------------------------------------------------------ */

/* Copies record `i` of `ring` (the i-th it was given) into *out; false when its slot holds
 * another (it was lapped) or is being written. */
static bool ring_read(struct log_ring *ring, uint64_t i, sy_route_log_rec_t *out)
{
    struct log_slot *sl = &ring->slot[i % LOG_RECORDS];
    uint64_t want = 2 * (i / LOG_RECORDS + 1); /* its slot's sequence once it was written */
    union {
        sy_route_log_rec_t rec;
        uint64_t w[LOG_WORDS];
    } u;
    if (atomic_load_explicit(&sl->seq, memory_order_acquire) != want)
        return false;
    for (size_t k = 0; k < LOG_WORDS; k++)
        u.w[k] = atomic_load_explicit(&sl->w[k], memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&sl->seq, memory_order_relaxed) != want)
        return false;
    *out = u.rec;
    return true;
}

/* The kept state of route (ws, name), or NULL. It is never freed before the stop. */
static struct wbreaker *kept_of(struct sy_proxy *p, int64_t ws, const char *name)
{
    struct wbreaker *k = NULL;
    pthread_mutex_lock(&p->breakers_lock);
    for (size_t i = 0; !k && i < p->n_breakers; i++)
        if (p->breakers[i]->ws == ws && strcmp(p->breakers[i]->route, name) == 0)
            k = p->breakers[i];
    pthread_mutex_unlock(&p->breakers_lock);
    return k;
}

int sy_proxy_requests(sy_proxy_t *p, int64_t ws, const char *route, const sy_route_log_query_t *q,
                      sy_route_log_rec_t *out, size_t *n)
{
    *n = 0;
    struct wbreaker *k = kept_of(p, ws, route);
    if (!k)
        return 0;
    size_t workers = (size_t)p->n_workers, limit = q->limit;
    sy_route_log_rec_t *all = calloc(workers * limit + 1, sizeof(*all));
    const sy_route_log_rec_t **runs = calloc(workers + 1, sizeof(*runs));
    size_t *lens = calloc(2 * workers + 1, sizeof(*lens));
    if (!all || !runs || !lens) {
        free(all);
        free(runs);
        free(lens);
        return -ENOMEM;
    }
    for (size_t wi = 0; wi < workers; wi++) { /* each worker's newest first */
        struct log_ring *ring = atomic_load_explicit(&k->ring[wi].all, memory_order_acquire);
        sy_route_log_rec_t *run = all + wi * limit;
        runs[wi] = run;
        if (!ring)
            continue;
        uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
        uint64_t first = head > LOG_RECORDS ? head - LOG_RECORDS : 0;
        for (uint64_t i = head; i > first && lens[wi] < limit; i--)
            if (ring_read(ring, i - 1, &run[lens[wi]]) && sy_route_log_matches(q, &run[lens[wi]]))
                lens[wi]++;
    }
    *n = sy_route_log_merge(runs, lens, workers, lens + workers, out, limit);
    free(all);
    free(runs);
    free(lens);
    return 0;
}

size_t sy_proxy_failures(sy_proxy_t *p, size_t max, sy_proxy_failure_fn *fn, void *arg,
                         uint64_t *lost)
{
    size_t told = 0;
    /* the list only grows in sy_proxy_update, on this same thread: read without the lock
     * the workers take for the breakers */
    for (size_t b = 0; b < p->n_breakers; b++) {
        struct wbreaker *k = p->breakers[b];
        for (int wi = 0; wi < p->n_workers; wi++) {
            struct log_ring *ring = atomic_load_explicit(&k->ring[wi].failed, memory_order_acquire);
            if (!ring)
                continue;
            uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
            uint64_t *at = &k->logged[wi];
            if (head - *at > LOG_RECORDS) { /* overwritten before they could be told */
                *lost += head - *at - LOG_RECORDS;
                *at = head - LOG_RECORDS;
            }
            for (; *at < head && told < max; (*at)++) {
                sy_route_log_rec_t r;
                if (!ring_read(ring, *at, &r)) {
                    (*lost)++;
                    continue;
                }
                fn(arg, k->ws, k->route, &r);
                told++;
            }
        }
    }
    return told;
}
