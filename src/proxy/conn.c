/* conn.c - one client connection of the proxy: its requests read, decided (the route, the
 * domain, the upstream) and handed to upstream.c, and the answers the proxy gives itself;
 * see conn.h.
 *
 * A request's body is read whole (up to max_body) before it is decided when the decision
 * may need it (the route has body rules or a body key); otherwise a chunked body, or one
 * longer than STREAM_MIN, streams upstream as it comes. One request at a time: pipelined
 * ones wait in the input, bounded by the client sock's read_max.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <strings.h>
#include <time.h>

#include <netinet/in.h>

#include "codec/value_json.h"
#include "http/h1.h"
#include "proxy/conn.h"

static void down_event_closing(struct sy_sock *s, int what, void *arg);
static void read_body(struct conn *c);

static double since_ms(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static uint32_t next_random(struct worker *w)
{
    uint64_t x = w->rng; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

/* ---- the breaker ----------------------------------------------------------------------------- */

int64_t sy_conn_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000 + 1;
}

/* Whether `new` may take c's request now (an open breaker sends it to legacy). */
static bool breaker_allows(struct conn *c)
{
    struct sy_proxy *p = c->w->p;
    pthread_mutex_lock(&p->breakers_lock);
    sy_breaker_t *b = c->route->brk;
    sy_breaker_state_t was = b ? b->state : SY_BREAKER_CLOSED;
    bool ok = !b || sy_breaker_allow(b, &c->route->breaker, sy_conn_now_ms());
    bool moved = b && b->state != was;
    sy_breaker_state_t now = b ? b->state : SY_BREAKER_CLOSED;
    if (moved)
        atomic_store_explicit(c->route->brk_state, (int)now, memory_order_relaxed);
    pthread_mutex_unlock(&p->breakers_lock);
    if (moved)
        sy_proxy_event(p, c->route->ws, c->route->name, now);
    return ok;
}

/* The outcome of a request `new` took, once. */
void sy_conn_judge(struct conn *c, bool ok)
{
    if (c->target != NEW || c->judged || !c->route)
        return;
    c->judged = true;
    struct sy_proxy *p = c->w->p;
    pthread_mutex_lock(&p->breakers_lock);
    sy_breaker_t *b = c->route->brk;
    int moved = b ? sy_breaker_record(b, &c->route->breaker, ok, sy_conn_now_ms()) : -1;
    if (moved >= 0)
        atomic_store_explicit(c->route->brk_state, moved, memory_order_relaxed);
    pthread_mutex_unlock(&p->breakers_lock);
    if (moved >= 0)
        sy_proxy_event(p, c->route->ws, c->route->name, (sy_breaker_state_t)moved);
}

/* ---- counters ----------------------------------------------------------------------------------
 */

void sy_conn_record(struct conn *c, int upstream, int status, bool error, int fallback)
{
    if (!c->route)
        return;
    struct worker *w = c->w;
    double ms = since_ms(&c->t0);
    const char *dom = c->domain >= 0 ? c->route->policy.domains[c->domain].name : "";
    pthread_mutex_lock(&w->stats_lock);
    sy_proxy_row_t *r = NULL;
    if (c->row && c->row_gen == c->gen && c->row_route == c->route && c->row_domain == c->domain &&
        c->row_upstream == upstream && c->row_tried == c->target)
        r = c->row; /* rows stay where they are, and (gen, route) names one route */
    for (size_t i = 0; !r && i < w->n_stats; i++) {
        sy_proxy_row_t *x = sy_proxy_stat(w, i);
        if (x->ws == c->route->ws && x->upstream == upstream && x->tried == c->target &&
            strcmp(x->route, c->route->name) == 0 && strcmp(x->domain, dom) == 0)
            r = x;
    }
    size_t block = w->n_stats / STATS_BLOCK;
    /* a new block once per STATS_BLOCK rows: rows never move, so c->row stays valid */
    if (!r && w->n_stats < MAX_STATS &&
        (w->stats[block] || (w->stats[block] = calloc(STATS_BLOCK, sizeof(*r))))) {
        r = sy_proxy_stat(w, w->n_stats++);
        *r = (sy_proxy_row_t){.ws = c->route->ws, .upstream = upstream, .tried = c->target};
        snprintf(r->route, sizeof(r->route), "%s", c->route->name);
        snprintf(r->domain, sizeof(r->domain), "%s", dom);
    }
    if (!r)
        w->uncounted++;
    if (r) {
        c->row = r;
        c->row_gen = c->gen;
        c->row_route = c->route;
        c->row_domain = c->domain;
        c->row_upstream = upstream;
        c->row_tried = c->target;
        r->requests++;
        r->errors += error;
        if (status >= 100 && status < 600)
            r->status[status / 100]++;
        r->total_ms += ms;
        r->hist[sy_lat_bucket(ms)]++;
        if (fallback >= 0 && fallback < SY_PROXY_FALLBACK_REASONS)
            r->fallbacks[fallback]++;
    }
    pthread_mutex_unlock(&w->stats_lock);
}

/* ---- the recent-request log -------------------------------------------------------------------
 */

/* Appends the record `words` to the ring at *at (made at its first record; -ENOMEM). Only
 * the worker that owns it writes a ring: each slot is a seqlock, odd while written, then
 * even again, and a reader that saw it change drops what it copied. */
static int ring_put(_Atomic(struct log_ring *) *at, const uint64_t *words)
{
    struct log_ring *ring = atomic_load_explicit(at, memory_order_relaxed);
    if (!ring) { /* once per (route, worker): LOG_RECORDS records, kept until the stop */
        if (!(ring = calloc(1, sizeof(*ring))))
            return -ENOMEM;
        atomic_store_explicit(at, ring, memory_order_release);
    }
    uint64_t h = atomic_load_explicit(&ring->head, memory_order_relaxed);
    struct log_slot *sl = &ring->slot[h % LOG_RECORDS];
    uint64_t seq = 2 * (h / LOG_RECORDS);
    atomic_store_explicit(&sl->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    for (size_t k = 0; k < LOG_WORDS; k++)
        atomic_store_explicit(&sl->w[k], words[k], memory_order_relaxed);
    atomic_store_explicit(&sl->seq, seq + 2, memory_order_release);
    atomic_store_explicit(&ring->head, h + 1, memory_order_release);
    return 0;
}

/* s into a field of cap bytes (cap > 0), cut to fit, NUL-terminated: no format to parse. */
static void field(char *to, size_t cap, const char *s)
{
    size_t n = strnlen(s, cap - 1);
    memcpy(to, s, n);
    to[n] = '\0';
}

void sy_conn_log(struct conn *c, int upstream, int status, const char *msg)
{
    const struct proute *r = c->route;
    if (!r || !r->kept || c->logged)
        return;
    c->logged = true;
    struct worker *w = c->w;
    size_t wi = (size_t)(w - w->p->w);
    union {
        sy_route_log_rec_t rec;
        uint64_t w[LOG_WORDS];
    } u;
    memset(&u, 0, sizeof(u));
    sy_route_log_rec_t *x = &u.rec;
    struct timeval now;
    event_base_gettimeofday_cached(w->base, &now); /* this turn of the loop's: no call */
    x->at_ms = (int64_t)now.tv_sec * 1000 + now.tv_usec / 1000;
    x->latency_ms = since_ms(&c->t0);
    x->status = status;
    x->upstream = (uint8_t)upstream;
    x->fallback = c->fell_back;
    x->probe = c->probe;
    field(x->method, sizeof(x->method), c->head.method_name);
    if (c->domain >= 0)
        field(x->domain, sizeof(x->domain), r->policy.domains[c->domain].name);
    field(x->path, sizeof(x->path), c->head.path); /* not the query: it may hold keys */
    if (upstream == UPSTREAMS)
        field(x->error_message, sizeof(x->error_message), c->why[0] || !msg ? c->why : msg);
    else if (c->fell_back)
        field(x->error_message, sizeof(x->error_message), c->why);
    else if (status >= 500)
        snprintf(x->error_message, sizeof(x->error_message), "%s %.120s: answered %d",
                 upstream == NEW ? "new" : "legacy", r->up[upstream].text, status);
    if (ring_put(&r->kept->ring[wi].all, u.w) == 0 && sy_route_log_is_error(x))
        (void)ring_put(&r->kept->ring[wi].failed, u.w); /* out of memory: no log line */
}

/* ---- answers of our own -----------------------------------------------------------------------
 */

/* Dropping what the client still sends while lingering; over after LINGER_MS whatever
 * comes, so that a client sending forever holds nothing. */
static void linger_read(struct sy_sock *s, void *arg)
{
    struct conn *c = arg;
    evbuffer_drain(s->in, evbuffer_get_length(s->in));
    if (sy_conn_now_ms() - c->linger_ms > LINGER_MS)
        sy_conn_free(c);
}

/* All written: stop writing, and read (and drop) what the client still sends until its end
 * or LINGER_MS, so that our last bytes reach it; closing on unread input (a body we
 * refused with 413 while it was still coming) would reset the connection and could lose
 * the answer before the client read it. */
static void close_after_write(struct sy_sock *s, void *arg)
{
    struct conn *c = arg;
    c->linger_ms = sy_conn_now_ms();
    shutdown(s->fd, SHUT_WR);
    evbuffer_drain(s->in, evbuffer_get_length(s->in));
    sy_sock_timeouts(s, LINGER_MS, 0);
    sy_sock_setcb(s, linger_read, NULL, down_event_closing, c); /* its end or timeout frees */
    sy_sock_read(s, true);
}

/* Ends the connection once what it has to send is sent. */
void sy_conn_close_flushed(struct conn *c)
{
    c->state = S_CLOSING;
    sy_sock_read(c->down, false);
    c->down->write_low = 0; /* the write callback at empty */
    sy_sock_setcb(c->down, NULL, close_after_write, down_event_closing, c);
    if (sy_sock_queued(c->down) == 0)
        close_after_write(c->down, c);
}

/* A JSON error to the client, then the connection's end (a response half sent is only
 * ended). */
static void answer_error(struct conn *c, int status, const char *code, const char *msg)
{
    if (c->sent) { /* the response is half sent: all we can do is end it */
        sy_conn_free(c);
        return;
    }
    char body[512], all[1024];
    int n = snprintf(body, sizeof(body),
                     "{\"error\":{\"code\":\"%s\",\"message\":\"%s\",\"field\":\"\"}}", code, msg);
    int len = snprintf(all, sizeof(all),
                       "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                       "X-Switchyard-Route: error\r\nConnection: close\r\n\r\n%s",
                       status, sy_h1_reason(status), n, body);
    sy_sock_write(c->down, all, (size_t)len < sizeof(all) ? (size_t)len : sizeof(all) - 1);
    sy_sock_free(c->up);
    c->up = NULL;
    sy_conn_close_flushed(c);
}

/* What the proxy refuses itself (a bad request, no route, the kill switch): counted
 * against no upstream, by its kind (the worker's own counter: no lock). */
void sy_conn_refuse(struct conn *c, int status, const char *code, const char *msg)
{
    sy_conn_log(c, UPSTREAMS, status, msg);
    int kind = sy_proxy_refusal_of(status);
    if (kind >= 0)
        sy_proxy_bump(&c->w->refused[kind]);
    answer_error(c, status, code, msg);
}

/* The same for a request that failed on its way (an upstream's failure, or ours):
 * counted as an error, and against `new`'s breaker when it was for `new`. */
void sy_conn_fail(struct conn *c, int status, const char *code, const char *msg)
{
    sy_conn_judge(c, false);
    if (c->route)
        sy_conn_record(c, UPSTREAMS, status, true, -1);
    sy_conn_log(c, UPSTREAMS, status, msg);
    answer_error(c, status, code, msg);
}

/* ---- headers -----------------------------------------------------------------------------------
 */

static const char *const hop_by_hop[] = {
    "connection", "keep-alive",         "proxy-connection",    "te", "trailer", "transfer-encoding",
    "upgrade",    "proxy-authenticate", "proxy-authorization", NULL};

/* Whether header `name` (len bytes) is hop-by-hop, or named in `connection`. */
bool sy_conn_hop(const char *name, size_t len, const char *connection)
{
    for (size_t i = 0; hop_by_hop[i]; i++)
        if (strlen(hop_by_hop[i]) == len && strncasecmp(name, hop_by_hop[i], len) == 0)
            return true;
    for (const char *p = connection; p && *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, " \t,");
        if (n == len && strncasecmp(p, name, len) == 0)
            return true;
        p += n;
    }
    return false;
}

static const char *header(void *arg, const char *name, size_t *len)
{
    const char *v = sy_h1_head_field(arg, name);
    if (v)
        *len = strlen(v);
    return v;
}

/* The value of cookie `name` in the Cookie header, into out (NULL: none). */
static const char *cookie(const sy_h1_head_t *h, const char *name, size_t *len)
{
    const char *p = sy_h1_head_field(h, "Cookie");
    size_t n = strlen(name);
    while (p && *p) {
        p += strspn(p, " ;");
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            *len = strcspn(p + n + 1, ";");
            return p + n + 1;
        }
        p += strcspn(p, ";");
    }
    return NULL;
}

/* ---- the decision --------------------------------------------------------------------------- */

/* The route of this listener whose path prefix is the request's longest. */
static const struct proute *route_of(const struct snapshot *s, const char *listen, const char *path)
{
    const struct proute *best = NULL;
    for (size_t i = 0; i < s->n; i++) {
        const struct proute *r = &s->r[i];
        if (strcmp(r->listen, listen) == 0 && strncmp(path, r->prefix, r->prefix_len) == 0 &&
            (!best || r->prefix_len > best->prefix_len))
            best = r;
    }
    return best;
}

static void decide(struct conn *c)
{
    const struct proute *r = c->route;
    sy_route_request_t q = {.path = c->head.path,
                            .path_len = strlen(c->head.path),
                            .header = header,
                            .header_arg = &c->head,
                            .random = next_random(c->w)};
    sy_arena_t arena;
    sy_value_t body;
    bool parsed = false;
    if (r->needs_body && c->body_len > 0 && c->body_len <= r->inspect) {
        /* the parsed value is a few times the text; chunks come 16 KiB at a time */
        sy_arena_init(&arena, 8 * c->body_len + (64 << 10));
        parsed = sy_value_parse(c->body, c->body_len, &arena, &body, NULL) == 0;
        if (parsed)
            q.body = &body;
    }
    char num[64];
    if (r->sticky == SY_STICKY_HEADER) {
        q.sticky = header(&c->head, r->sticky_name, &q.sticky_len);
    } else if (r->sticky == SY_STICKY_COOKIE) {
        q.sticky = cookie(&c->head, r->sticky_name, &q.sticky_len);
    } else if (r->sticky == SY_STICKY_BODY_FIELD && parsed) {
        const sy_value_t *v = &body;
        for (const char *p = r->sticky_name; v && *p;) {
            size_t n = strcspn(p, ".");
            v = v->type == SY_OBJ ? sy_value_get(v, p, n) : NULL;
            p += n + (p[n] == '.');
        }
        if (v && v->type == SY_STR) {
            q.sticky = v->s;
            q.sticky_len = v->len;
        } else if (v && v->type == SY_NUM) {
            q.sticky_len = (size_t)snprintf(num, sizeof(num), "%.17g", v->n);
            q.sticky = num;
        }
    }
    sy_route_decision_t d = sy_route_decide(&r->policy, &q);
    if (r->needs_body && c->body_len > 0 && c->body_len <= r->inspect)
        sy_arena_free(&arena);
    c->domain = d.domain;
    c->target = d.to_new ? NEW : LEGACY;
    c->split_legacy = !d.to_new && d.why == SY_ROUTE_SPLIT;
}

/* The request head as it goes upstream: hop-by-hop headers out, forwarding headers in,
 * the body's length (the body follows it from c->body). */
int sy_conn_build_request(struct conn *c)
{
    const sy_h1_head_t *h = &c->head;
    const char *connection = sy_h1_head_field(h, "Connection");
    const char *xff = sy_h1_head_field(h, "X-Forwarded-For");
    const struct upstream *u = &c->route->up[c->target];
    /* room: every field as given, and what is added */
    size_t need = strlen(h->method_name) + strlen(h->path) + (h->query ? strlen(h->query) : 0) +
                  (xff ? strlen(xff) : 0) + 2 * strlen(c->peer) + strlen(u->text) + 256;
    for (size_t i = 0; i < h->n_fields; i++)
        need += h->fields[i].name_len + h->fields[i].value_len + 4;
    if (need > c->req_cap) {
        char *b = realloc(c->req, need);
        if (!b)
            return -ENOMEM;
        c->req = b;
        c->req_cap = need;
    }
    char *p = puts0(c->req, h->method_name);
    *p++ = ' ';
    p = puts0(p, h->path);
    if (h->query) {
        *p++ = '?';
        p = puts0(p, h->query);
    }
    p = put(p, " HTTP/1.1\r\n", 11);
    bool host = false;
    for (size_t i = 0; i < h->n_fields; i++) {
        const sy_h1_field_t *f = &h->fields[i];
        if (sy_conn_hop(f->name, f->name_len, connection) ||
            (f->name_len == 14 && strncasecmp(f->name, "content-length", 14) == 0) ||
            (f->name_len == 6 && strncasecmp(f->name, "expect", 6) == 0) ||
            (f->name_len == 15 && strncasecmp(f->name, "x-forwarded-for", 15) == 0))
            continue;
        host |= f->name_len == 4 && strncasecmp(f->name, "host", 4) == 0;
        p = put(p, f->name, f->name_len);
        p = put(p, ": ", 2);
        p = put(p, f->value, f->value_len);
        p = put(p, "\r\n", 2);
    }
    if (!host) {
        p = puts0(p, "Host: ");
        p = puts0(p, u->text);
        p = put(p, "\r\n", 2);
    }
    p = puts0(p, "X-Forwarded-For: ");
    if (xff) {
        p = puts0(p, xff);
        p = put(p, ", ", 2);
    }
    p = puts0(p, c->peer);
    p = puts0(p, "\r\nForwarded: for=\"");
    p = puts0(p, c->peer);
    p = puts0(p, "\";proto=http\r\n");
    size_t length = c->streaming ? (size_t)c->want : c->body_len;
    if (c->streaming && c->want < 0) /* its chunks go as they came */
        p = puts0(p, "Transfer-Encoding: chunked\r\n");
    else if (length > 0 || h->method == SY_POST || h->method == SY_PUT || h->method == SY_PATCH)
        p += snprintf(p, 48, "Content-Length: %zu\r\n", length);
    p = put(p, "\r\n", 2);
    c->req_len = (size_t)(p - c->req);
    return 0;
}

/* ---- the request ------------------------------------------------------------------------------
 */

/* The request is read whole: decide, and send it. */
static void dispatch(struct conn *c)
{
    /* one request at a time: pipelined ones wait in the input (bounded by its watermark) */
    clock_gettime(CLOCK_MONOTONIC, &c->t0);
    if (!c->snap) {
        c->snap = sy_proxy_snapshot_get(c->w);
        c->gen = c->w->gen;
    }
    c->route = route_of(c->snap, c->listen, c->head.path);
    if (!c->route) {
        sy_conn_refuse(c, 404, "not_found", "no route serves this path");
        return;
    }
    if (c->streaming && c->route->needs_body) { /* its rules read the body: read it whole */
        c->streaming = false;
        c->stream_left = 0;
        c->route = NULL;
        if (c->want >= 0 && (size_t)c->want > c->w->p->o.max_body) {
            sy_conn_refuse(c, 413, "too_large", "the body is too large");
            return;
        }
        c->state = S_BODY;
        read_body(c);
        return;
    }
    sy_method_t m = c->head.method;
    c->idempotent = m == SY_GET || m == SY_HEAD || m == SY_PUT || m == SY_DELETE || m == SY_OPTIONS;
    c->keep_alive = c->head.keep_alive;
    decide(c);
    if (c->route->policy.killed) { /* production executions are refused while it is engaged */
        const char *cls = sy_h1_head_field(&c->head, "X-Execution-Class");
        if ((cls && strcasecmp(cls, "PROD_EXEC") == 0) ||
            (c->domain >= 0 && c->route->policy.domains[c->domain].prod_exec)) {
            sy_conn_refuse(c, 403, "kill_switch",
                           "the kill switch is engaged: production executions are refused");
            return;
        }
    }
    if (c->target == NEW && !breaker_allows(c))
        c->target = LEGACY; /* the breaker is open: everything to legacy */
    else if (c->split_legacy && c->route->has_plan && c->route->brk_state &&
             atomic_load_explicit(c->route->brk_state, memory_order_relaxed) != SY_BREAKER_CLOSED &&
             breaker_allows(c)) {
        /* A plan took the route to 0 % when the breaker opened, and would wait for it to
         * close forever: a request new could take but for its bucket is the breaker's
         * half-open probe instead (`probes` at a time, once open_ms has passed). */
        c->target = NEW;
        c->probe = true;
    }
    if (sy_conn_build_request(c) < 0) {
        sy_conn_refuse(c, 503, "unavailable", "out of memory");
        return;
    }
    sy_upstream_send(c);
    if (c->streaming && c->state == S_WAIT)
        sy_upstream_forward(c);
}

static void read_body(struct conn *c)
{
    struct evbuffer *in = c->down->in;
    size_t avail = evbuffer_get_length(in);
    size_t need = c->want >= 0 ? (size_t)c->want - c->body_raw : avail;
    size_t take = avail < need ? avail : need;
    if (c->body_raw + take > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 4096;
        while (cap < c->body_raw + take)
            cap *= 2;
        char *b = realloc(c->body, cap);
        if (!b) {
            sy_conn_refuse(c, 503, "unavailable", "out of memory");
            return;
        }
        c->body = b;
        c->body_cap = cap;
    }
    evbuffer_remove(in, c->body + c->body_raw, take);
    c->body_raw += take;
    c->body_got += take;
    if (c->want >= 0) {
        c->body_len = c->body_raw;
        if (c->body_raw == (size_t)c->want) {
            sy_limits_body_done(c);
            dispatch(c);
        }
        return;
    }
    int rc = sy_h1_dechunk(&c->dc, c->body, c->body_raw, c->w->p->o.max_body);
    if (rc < 0) {
        sy_conn_refuse(c, rc == -E2BIG ? 413 : 400, rc == -E2BIG ? "too_large" : "bad_request",
                       rc == -E2BIG ? "the body is too large" : "a malformed chunked body");
        return;
    }
    if (rc == 1) {
        /* what came after the body is the next request's: back to the input */
        if (c->body_raw > c->dc.in)
            evbuffer_prepend(in, c->body + c->dc.in, c->body_raw - c->dc.in);
        c->body_len = c->dc.out;
        sy_limits_body_done(c);
        dispatch(c);
    }
}

/* The head's buffer made HEAD_FIRST, or twice as large (up to MAX_HEAD). -ENOMEM. */
static int grow_head(struct conn *c)
{
    size_t cap = c->head_cap ? 2 * c->head_cap : HEAD_FIRST;
    char *b = realloc(c->head_buf, cap < MAX_HEAD ? cap : MAX_HEAD);
    if (!b)
        return -ENOMEM;
    c->head_buf = b;
    c->head_cap = cap < MAX_HEAD ? cap : MAX_HEAD;
    return 0;
}

static void read_head(struct conn *c)
{
    struct evbuffer *in = c->down->in;
    size_t avail = evbuffer_get_length(in), len = 0;
    if (avail == 0)
        return;
    int rc = c->head_cap ? 0 : grow_head(c), status = 400;
    /* the head is parsed where it is copied (its slices stay there), a buffer at a time:
     * one that the head goes past is doubled, up to MAX_HEAD */
    while (rc == 0) {
        len = avail < c->head_cap ? avail : c->head_cap;
        evbuffer_copyout(in, c->head_buf, len);
        rc = sy_h1_parse_head(c->head_buf, len, MAX_HEAD, &c->scanned, &c->head, &status);
        if (rc != 0 || len == avail || c->head_cap == MAX_HEAD)
            break;
        rc = grow_head(c);
    }
    if (rc == -ENOMEM) {
        sy_conn_refuse(c, 503, "unavailable", "out of memory");
        return;
    }
    if (rc == 0) {
        if (len == MAX_HEAD)
            sy_conn_refuse(c, 431, "headers_too_large", "the request head is too large");
        else
            sy_limits_head_part(c);
        return;
    }
    if (rc < 0) {
        sy_conn_refuse(c, status, "bad_request", "the request head does not parse");
        return;
    }
    evbuffer_drain(in, (size_t)rc);
    c->want = c->head.chunked ? -1 : c->head.content_length > 0 ? c->head.content_length : 0;
    sy_limits_head_done(c);
    if (c->head.expect_continue)
        sy_sock_write(c->down, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    if (c->want > STREAM_MIN || c->want < 0) { /* streamed, unless its route must read it */
        c->streaming = true;
        c->stream_left = c->want < 0 ? 1 : c->want;
        c->req_ck = (sy_h1_dechunk_t){0};
        dispatch(c);
        return;
    }
    if (c->want > 0 && (size_t)c->want > c->w->p->o.max_body) {
        sy_conn_refuse(c, 413, "too_large", "the body is too large");
        return;
    }
    c->state = S_BODY;
    read_body(c);
}

static void down_read(struct sy_sock *s, void *arg)
{
    (void)s;
    struct conn *c = arg;
    if (c->streaming && c->stream_left > 0 && (c->state == S_WAIT || c->state == S_STREAM))
        sy_upstream_forward(c);
    else if (c->state == S_HEAD)
        read_head(c);
    else if (c->state == S_BODY)
        read_body(c);
}

/* The client caught up: the upstream may send again. */
static void down_write(struct sy_sock *s, void *arg)
{
    (void)s;
    struct conn *c = arg;
    if (c->state == S_STREAM && c->up)
        sy_sock_read(c->up, true);
}

static void down_event(struct sy_sock *s, int what, void *arg)
{
    struct conn *c = arg;
    if ((what & SY_SOCK_TIMEOUT) && (c->state == S_WAIT || c->state == S_STREAM)) {
        sy_sock_read(s, true); /* quiet while its answer comes: the upstream's timeout bounds it */
        return;
    }
    sy_conn_free(c); /* the client went away, or was idle too long */
}

static void down_event_closing(struct sy_sock *s, int what, void *arg)
{
    down_event(s, what, arg);
}

void sy_conn_next(struct conn *c)
{
    sy_proxy_snapshot_put(c->snap);
    c->snap = NULL;
    c->route = NULL;
    c->state = S_HEAD;
    c->scanned = 0;
    c->body_len = c->body_raw = 0;
    c->dc = (sy_h1_dechunk_t){0};
    assert(!c->held); /* a body cut short closes the connection (response_done) */
    c->retried = c->sent = c->judged = c->streaming = false;
    c->fell_back = c->probe = c->logged = false;
    c->why[0] = '\0';
    c->stream_left = 0;
    sy_limits_head_wait(c);
    sy_sock_setcb(c->down, down_read, down_write, down_event, c);
    if (evbuffer_get_length(c->down->in))
        read_head(c);
}

void sy_conn_free(struct conn *c)
{
    if (c->route && c->target == NEW && !c->judged) { /* a probe that will never be judged */
        pthread_mutex_lock(&c->w->p->breakers_lock);
        sy_breaker_t *b = c->route->brk;
        if (b && b->state == SY_BREAKER_HALF_OPEN && b->in_flight > 0)
            b->in_flight--;
        pthread_mutex_unlock(&c->w->p->breakers_lock);
    }
    sy_limits_fini(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        c->w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    sy_sock_free(c->up);
    sy_sock_free(c->down);
    free(c->req);
    sy_proxy_snapshot_put(c->snap);
    free(c->head_buf);
    free(c->body);
    free(c);
}

void sy_proxy_accept(struct worker *w, evutil_socket_t fd, const char *listen,
                     const struct sockaddr *peer, int peer_len)
{
    (void)peer_len;
    if (!sy_limits_admit(w)) { /* at the cap, and every connection busy with a request */
        evutil_closesocket(fd);
        return;
    }
    struct conn *c = calloc(1, sizeof(*c));
    struct sy_sock *s = c ? sy_sock_accepted(w->base, fd) : NULL;
    if (!s) {
        free(c);
        evutil_closesocket(fd);
        return;
    }
    c->w = w;
    c->down = s;
    if (sy_limits_init(c) < 0) {
        sy_sock_free(s);
        free(c);
        return;
    }
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    c->domain = -1;
    snprintf(c->listen, sizeof(c->listen), "%s", listen);
    if (peer->sa_family == AF_INET)
        evutil_inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, c->peer,
                         sizeof(c->peer));
    else if (peer->sa_family == AF_INET6)
        evutil_inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, c->peer,
                         sizeof(c->peer));
    s->write_low = FLOW_LOW;
    /* a head at most: a body read whole is moved out of the input as it comes, a streamed
     * one as the upstream takes it, and a pipelined request waits in the kernel */
    s->read_max = MAX_HEAD;
    sy_sock_timeouts(s, IDLE_S * 1000, 0);
    sy_sock_setcb(s, down_read, down_write, down_event, c);
    sy_sock_read(s, true);
}
