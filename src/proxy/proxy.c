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

static int compile_upstream(const json_t *u, struct upstream *out)
{
    const char *addr = json_string_value(json_object_get(u, "address"));
    snprintf(out->text, sizeof(out->text), "%s", addr ? addr : "");
    out->connect_ms = (int)json_integer_value(json_object_get(u, "connect_timeout_ms"));
    out->read_ms = (int)json_integer_value(json_object_get(u, "read_timeout_ms"));
    out->keepalive = (int)json_integer_value(json_object_get(u, "keepalive"));
    return addr ? resolve(addr, &out->addr, &out->addr_len) : -EINVAL;
}

static bool listed(const json_t *names, const char *name)
{
    size_t i;
    const json_t *n;
    json_array_foreach(names, i, n)
    {
        if (strcmp(json_string_value(n), name) == 0)
            return true;
    }
    return false;
}

static void route_free(struct proute *r)
{
    free(r->domains);
    free(r->rules);
    free(r->words);
    json_decref(r->def);
}

/* Compiles route `o` (as sy_engine_routes_all lists it) into r. */
static int compile(const json_t *o, struct proute *r)
{
    *r = (struct proute){.ws = json_integer_value(json_object_get(o, "workspace")),
                         .def = json_incref((json_t *)o)};
    snprintf(r->name, sizeof(r->name), "%s", json_string_value(json_object_get(o, "name")));
    const char *listen = json_string_value(json_object_get(o, "listen"));
    snprintf(r->listen, sizeof(r->listen), "%s", listen ? listen : "");
    r->prefix = json_string_value(json_object_get(o, "path_prefix"));
    if (!r->prefix || strcmp(r->prefix, "/") == 0)
        r->prefix = "";
    r->prefix_len = strlen(r->prefix);
    const json_t *ups = json_object_get(o, "upstreams"), *doms = json_object_get(o, "domains");
    if (compile_upstream(json_object_get(ups, "legacy"), &r->up[LEGACY]) < 0 ||
        compile_upstream(json_object_get(ups, "new"), &r->up[NEW]) < 0)
        return -ENOENT;
    size_t nd = json_array_size(doms), nr = 0, nw = 0, i, k;
    const json_t *d, *rule;
    json_array_foreach(doms, i, d)
    {
        json_array_foreach(json_object_get(d, "rules"), k, rule)
        {
            nr++;
            nw += json_array_size(json_object_get(json_object_get(rule, "body_keywords"), "words"));
        }
    }
    r->domains = calloc(nd ? nd : 1, sizeof(*r->domains));
    r->rules = calloc(nr ? nr : 1, sizeof(*r->rules));
    r->words = calloc(nw ? nw : 1, sizeof(*r->words));
    if (!r->domains || !r->rules || !r->words)
        return -ENOMEM;
    size_t ri = 0, wi = 0;
    const json_t *protect = json_object_get(o, "protected_domains"),
                 *routable = json_object_get(o, "routable_domains");
    json_array_foreach(doms, i, d)
    {
        sy_route_domain_t *dom = &r->domains[i];
        dom->name = json_string_value(json_object_get(d, "name"));
        dom->rules = &r->rules[ri];
        dom->protected_domain = listed(protect, dom->name);
        dom->routable = listed(routable, dom->name);
        if (listed(json_object_get(o, "prod_exec_domains"), dom->name) && i < 64)
            r->prod_exec |= (uint64_t)1 << i;
        json_array_foreach(json_object_get(d, "rules"), k, rule)
        {
            sy_route_rule_t *x = &r->rules[ri++];
            const json_t *v;
            if ((v = json_object_get(rule, "path_prefix"))) {
                *x = (sy_route_rule_t){.kind = SY_RULE_PATH_PREFIX, .value = json_string_value(v)};
            } else if ((v = json_object_get(rule, "header"))) {
                *x = (sy_route_rule_t){.kind = SY_RULE_HEADER,
                                       .name = json_string_value(json_object_get(v, "name")),
                                       .value = json_string_value(json_object_get(v, "value"))};
            } else if ((v = json_object_get(rule, "body_field"))) {
                *x = (sy_route_rule_t){.kind = SY_RULE_BODY_FIELD, .name = json_string_value(v)};
                r->needs_body = true;
            } else {
                v = json_object_get(rule, "body_keywords");
                const json_t *words = json_object_get(v, "words"), *w;
                size_t j;
                *x = (sy_route_rule_t){.kind = SY_RULE_BODY_KEYWORDS,
                                       .name = json_string_value(json_object_get(v, "field")),
                                       .words = &r->words[wi],
                                       .n_words = json_array_size(words)};
                json_array_foreach(words, j, w) r->words[wi++] = json_string_value(w);
                r->needs_body = true;
            }
            dom->n_rules++;
        }
    }
    const json_t *sticky = json_object_get(o, "sticky");
    const char *sk = json_object_size(sticky) == 1
                         ? json_object_iter_key(json_object_iter((json_t *)sticky))
                         : NULL;
    if (sk) {
        r->sticky = strcmp(sk, "header") == 0   ? STICKY_HEADER
                    : strcmp(sk, "cookie") == 0 ? STICKY_COOKIE
                                                : STICKY_BODY;
        r->sticky_name = json_string_value(json_object_get(sticky, sk));
        r->needs_body |= r->sticky == STICKY_BODY;
    }
    const json_t *bk = json_object_get(o, "breaker");
    r->breaker = SY_BREAKER_DEFAULTS;
    if (bk) {
        r->breaker.consecutive_failures =
            json_integer_value(json_object_get(bk, "consecutive_failures"));
        r->breaker.error_rate = json_number_value(json_object_get(bk, "error_rate"));
        r->breaker.min_requests = json_integer_value(json_object_get(bk, "min_requests"));
        r->breaker.window_ms = json_integer_value(json_object_get(bk, "window_ms"));
        r->breaker.open_ms = json_integer_value(json_object_get(bk, "open_ms"));
        r->breaker.probes = json_integer_value(json_object_get(bk, "probes"));
        if (sy_breaker_check(&r->breaker, NULL) < 0)
            r->breaker = SY_BREAKER_DEFAULTS;
    }
    r->inspect = (size_t)json_integer_value(json_object_get(o, "inspect_body_bytes"));
    r->retry_any = json_is_true(json_object_get(o, "retry_non_idempotent"));
    r->policy = (sy_route_policy_t){
        .name = r->name,
        .enabled = json_is_true(json_object_get(o, "enabled")),
        .killed = json_is_true(json_object_get(o, "killed")),
        .percentage_bp = (uint32_t)json_integer_value(json_object_get(o, "percentage_bp")),
        .routable_only = json_array_size(routable) > 0,
        .domains = r->domains,
        .n_domains = nd};
    return 0;
}

static void snapshot_free(struct snapshot *s)
{
    for (size_t i = 0; i < s->n; i++)
        route_free(&s->r[i]);
    free(s->r);
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

/* The breaker of route (ws, name), made closed if it has none (NULL when there is no room
 * for one more): it outlives the snapshots. Under breakers_lock. */
static sy_breaker_t *breaker_of(struct sy_proxy *p, int64_t ws, const char *name)
{
    for (size_t i = 0; i < p->n_breakers; i++)
        if (p->breakers[i].ws == ws && strcmp(p->breakers[i].route, name) == 0)
            return &p->breakers[i].b;
    if (p->n_breakers == MAX_BREAKERS)
        return NULL;
    struct wbreaker *b = &p->breakers[p->n_breakers++];
    b->ws = ws;
    snprintf(b->route, sizeof(b->route), "%s", name);
    b->b = sy_breaker_new();
    return &b->b;
}

int sy_proxy_update(sy_proxy_t *p, const json_t *routes, sy_err_t *err)
{
    struct snapshot *s = calloc(1, sizeof(*s));
    size_t n = json_array_size(routes);
    if (!s || !(s->r = calloc(n ? n : 1, sizeof(*s->r)))) {
        free(s);
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    }
    atomic_init(&s->refs, 1);
    int rc = 0;
    size_t i;
    const json_t *o;
    json_array_foreach(routes, i, o)
    {
        int one = compile(o, &s->r[s->n]);
        if (one == 0) {
            pthread_mutex_lock(&p->breakers_lock);
            s->r[s->n].brk = breaker_of(p, s->r[s->n].ws, s->r[s->n].name);
            pthread_mutex_unlock(&p->breakers_lock);
            s->n++;
            continue;
        }
        route_free(&s->r[s->n]);
        rc = sy_err_set(err, one, "upstreams", "route \"%s\": %s",
                        json_string_value(json_object_get(o, "name")),
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
        if (w->listeners[i] == l) {
            sy_proxy_accept(w, fd, w->listen_text[i], peer, len);
            return;
        }
    evutil_closesocket(fd);
}

/* One listener of `w` on `text` (HOST:PORT), SO_REUSEPORT so every worker binds it. */
static struct evconnlistener *listen_on(struct worker *w, const char *text)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (resolve(text, &ss, &len) < 0)
        return NULL;
    return evconnlistener_new_bind(w->base, on_accept, w,
                                   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                       LEV_OPT_REUSEABLE_PORT | LEV_OPT_CLOSE_ON_EXEC,
                                   1024, (struct sockaddr *)&ss, (int)len);
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
            used = strcmp(s->r[k].listen, w->listen_text[i]) == 0;
        if (used) {
            i++;
            continue;
        }
        evconnlistener_free(w->listeners[i]);
        w->n_listeners--;
        w->listeners[i] = w->listeners[w->n_listeners];
        memcpy(w->listen_text[i], w->listen_text[w->n_listeners], sizeof(w->listen_text[i]));
    }
    for (size_t k = 0; k < s->n; k++) { /* open the new ones */
        bool have = !s->r[k].listen[0];
        for (size_t i = 0; !have && i < w->n_listeners; i++)
            have = strcmp(s->r[k].listen, w->listen_text[i]) == 0;
        if (have || w->n_listeners == MAX_LISTEN)
            continue;
        struct evconnlistener *l = listen_on(w, s->r[k].listen);
        if (!l)
            continue; /* the address is taken or gone: the next update tries again */
        w->listeners[w->n_listeners] = l;
        snprintf(w->listen_text[w->n_listeners++], sizeof(w->listen_text[0]), "%s", s->r[k].listen);
    }
    sy_proxy_snapshot_put(s);
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
        evconnlistener_free(w->listeners[i]);
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
        pthread_mutex_destroy(&w->stats_lock);
    }
    sy_proxy_snapshot_put(p->current);
    pthread_mutex_destroy(&p->swap_lock);
    pthread_mutex_destroy(&p->events_lock);
    pthread_mutex_destroy(&p->breakers_lock);
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
    sy_proxy_row_t *sum = calloc(MAX_STATS * (size_t)p->n_workers + 1, sizeof(*sum));
    *n = 0;
    for (int i = 0; sum && i < p->n_workers; i++) {
        struct worker *w = &p->w[i];
        pthread_mutex_lock(&w->stats_lock);
        for (size_t k = 0; k < w->n_stats; k++) {
            const sy_proxy_row_t *r = &w->stats[k];
            if (ws >= 0 && r->ws != ws)
                continue;
            size_t j = 0;
            while (j < *n && !(sum[j].ws == r->ws && strcmp(sum[j].route, r->route) == 0 &&
                               strcmp(sum[j].domain, r->domain) == 0 &&
                               sum[j].upstream == r->upstream && sum[j].tried == r->tried))
                j++;
            if (j == *n) {
                sum[(*n)++] = *r;
                continue;
            }
            sum[j].requests += r->requests;
            sum[j].errors += r->errors;
            sum[j].total_ms += r->total_ms;
            for (int b = 0; b < LAT_BUCKETS; b++)
                sum[j].hist[b] += r->hist[b];
            for (int c = 0; c < 6; c++)
                sum[j].status[c] += r->status[c];
        }
        pthread_mutex_unlock(&w->stats_lock);
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
            const sy_proxy_row_t *r = &w->stats[k];
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
