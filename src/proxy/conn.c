/* conn.c - one client connection of the proxy: its requests read, decided, sent upstream on
 * a pooled connection, and their responses streamed back; see proxy.h.
 *
 * A request's body is read whole (up to max_body) before it is decided when the decision
 * may need it (the route has body rules or a body key) or it is chunked; a longer body of
 * a route that need not read it streams upstream as it comes (STREAM_MIN). A response
 * always streams: its bytes go to the client as they come, framed as the upstream framed
 * them (a length, chunks, or the connection's end), with the upstream paused while the
 * client is more than HIGH_WATER behind. Both sides are socks (sock.h).
 */
#define _GNU_SOURCE /* strcasestr */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <netinet/in.h>

#include "codec/value_json.h"
#include "http/h1.h"
#include "proxy/internal.h"
#include "proxy/sock.h"

#define MAX_HEAD   65536
#define HIGH_WATER (4u << 20)
#define LOW_WATER  (1u << 20)
#define IDLE_S     60
#define STREAM_MIN (256 << 10) /* a longer body a route need not read streams */

enum state { S_HEAD, S_BODY, S_WAIT, S_STREAM, S_CLOSING };

/* Where a chunked response body ends, followed byte by byte. */
enum {
    K_SIZE,
    K_EXT,
    K_SIZE_LF,
    K_DATA,
    K_DATA_CR,
    K_DATA_LF,
    K_TRAILER,
    K_TRAILER_TEXT,
    K_TRAILER_LF,
    K_FINAL_LF,
    K_DONE
};
struct chunker {
    int st;
    uint64_t left;
    int digits;
};

struct conn {
    struct conn *prev, *next; /* the worker's, to close at its stop */
    struct worker *w;
    sock_t *down, *up;
    enum state state;
    char peer[64];
    char listen[256];
    /* the request */
    char *head_buf; /* the head, parsed in place */
    size_t head_cap, scanned;
    sy_h1_head_t head;
    char *body;
    size_t body_len, body_raw, body_cap;
    int64_t want; /* Content-Length, or -1 for chunked */
    sy_h1_dechunk_t dc;
    bool idempotent, keep_alive;
    char *req; /* the head that goes upstream, kept for a retry */
    size_t req_len, req_cap;
    struct snapshot *snap;
    unsigned gen; /* of snap */
    const struct proute *route;
    int target; /* LEGACY or NEW */
    int domain;
    bool up_connected, up_reused, retried;
    struct timespec t0;
    /* the response */
    int status;
    bool head_only;       /* no body: HEAD, 1xx, 204, 304 */
    int64_t left;         /* body bytes still due (a length), or -1 */
    bool chunked, to_eof; /* framed by chunks, or by the upstream's end */
    bool up_close;        /* the upstream will not keep the connection */
    bool dechunk;         /* chunks to an HTTP/1.0 client: their data only, then the end */
    struct chunker ck;
    bool sent;             /* response bytes went to the client */
    bool judged;           /* the breaker has this request's outcome */
    size_t head_out;       /* a response head built in the worker's scratch, not sent yet */
    bool streaming;        /* the body goes upstream as it comes (not read whole first) */
    int64_t stream_left;   /* of it, still to come from the client (chunks: 1 until the last) */
    struct chunker req_ck; /* where a streamed chunked body ends */
    /* the counters of the last (route, domain, upstream) recorded, while gen lasts */
    sy_proxy_row_t *row;
    const struct proute *row_route;
    unsigned row_gen;
    int row_domain, row_upstream, row_tried;
};

static void conn_free(struct conn *c);
static void down_event_closing(sock_t *s, int what, void *arg);
static void next_request(struct conn *c);
static void forward_body(struct conn *c);
static void read_body(struct conn *c);
static void send_upstream(struct conn *c);

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

static int64_t mono_ms(void)
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
    bool ok = !b || sy_breaker_allow(b, &c->route->breaker, mono_ms());
    bool moved = b && b->state != was;
    sy_breaker_state_t now = b ? b->state : SY_BREAKER_CLOSED;
    pthread_mutex_unlock(&p->breakers_lock);
    if (moved)
        sy_proxy_event(p, c->route->ws, c->route->name, now);
    return ok;
}

/* The outcome of a request `new` took, once. */
static void judge(struct conn *c, bool ok)
{
    if (c->target != NEW || c->judged || !c->route)
        return;
    c->judged = true;
    struct sy_proxy *p = c->w->p;
    pthread_mutex_lock(&p->breakers_lock);
    sy_breaker_t *b = c->route->brk;
    int moved = b ? sy_breaker_record(b, &c->route->breaker, ok, mono_ms()) : -1;
    pthread_mutex_unlock(&p->breakers_lock);
    if (moved >= 0)
        sy_proxy_event(p, c->route->ws, c->route->name, (sy_breaker_state_t)moved);
}

/* ---- counters ----------------------------------------------------------------------------------
 */

static void record(struct conn *c, int upstream, bool error)
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
    for (size_t i = 0; !r && i < w->n_stats; i++)
        if (w->stats[i].ws == c->route->ws && w->stats[i].upstream == upstream &&
            w->stats[i].tried == c->target && strcmp(w->stats[i].route, c->route->name) == 0 &&
            strcmp(w->stats[i].domain, dom) == 0)
            r = &w->stats[i];
    if (!r && w->n_stats < MAX_STATS) {
        r = &w->stats[w->n_stats++];
        *r = (sy_proxy_row_t){.ws = c->route->ws, .upstream = upstream, .tried = c->target};
        snprintf(r->route, sizeof(r->route), "%s", c->route->name);
        snprintf(r->domain, sizeof(r->domain), "%s", dom);
    }
    if (r) {
        c->row = r;
        c->row_gen = c->gen;
        c->row_route = c->route;
        c->row_domain = c->domain;
        c->row_upstream = upstream;
        c->row_tried = c->target;
        r->requests++;
        r->errors += error;
        r->total_ms += ms;
        r->hist[sy_lat_bucket(ms)]++;
    }
    pthread_mutex_unlock(&w->stats_lock);
}

/* ---- the pool ----------------------------------------------------------------------------------
 */

/* The worker's pool of upstream `text` (NULL when it keeps no more pools). */
static struct pool *pool_of(struct worker *w, const char *text)
{
    for (size_t i = 0; i < w->n_pools; i++)
        if (strcmp(w->pools[i].text, text) == 0)
            return &w->pools[i];
    if (w->n_pools == MAX_POOLS)
        return NULL;
    struct pool *p = &w->pools[w->n_pools++];
    snprintf(p->text, sizeof(p->text), "%s", text);
    p->n = 0;
    return p;
}

static void idle_drop(struct pool *p, size_t i)
{
    sock_free(p->idle[i]);
    p->idle[i] = p->idle[--p->n];
}

/* An idle connection that reads anything (the upstream closing it), or is idle past its
 * read timeout, is dropped. */
static void idle_event(sock_t *s, int what, void *arg)
{
    (void)what;
    struct pool *p = arg;
    for (size_t i = 0; i < p->n; i++)
        if (p->idle[i] == s) {
            idle_drop(p, i);
            return;
        }
}

static void idle_read(sock_t *s, void *arg)
{
    idle_event(s, 0, arg);
}

void sy_proxy_idle_free(struct worker *w)
{
    while (w->conns)
        conn_free(w->conns);
    for (size_t i = 0; i < w->n_pools; i++)
        while (w->pools[i].n)
            idle_drop(&w->pools[i], w->pools[i].n - 1);
}

static sock_t *pool_take(struct worker *w, const struct upstream *u)
{
    struct pool *p = pool_of(w, u->text);
    return p && p->n ? p->idle[--p->n] : NULL;
}

/* Keeps s for the next request to u, or closes it when u's pool is full. */
static void pool_put(struct worker *w, sock_t *s, const struct upstream *u)
{
    struct pool *p = pool_of(w, u->text);
    if (!p || p->n == POOL_SIZE || (int)p->n >= u->keepalive) {
        sock_free(s);
        return;
    }
    p->idle[p->n++] = s;
    /* still reading, with its read timeout (idle_event) */
    sock_setcb(s, idle_read, NULL, idle_event, p);
}

/* ---- answers of our own -----------------------------------------------------------------------
 */

static void close_after_write(sock_t *s, void *arg)
{
    (void)s;
    conn_free(arg);
}

/* Ends the connection once what it has to send is sent. */
static void close_when_flushed(struct conn *c)
{
    c->state = S_CLOSING;
    sock_read(c->down, false);
    c->down->write_low = 0; /* the write callback at empty */
    sock_setcb(c->down, NULL, close_after_write, down_event_closing, c);
    if (sock_queued(c->down) == 0)
        conn_free(c);
}

/* A JSON error to the client, then the connection's end: what the proxy refuses itself
 * (a bad request, no route, the kill switch), counted against no upstream. */
static void refuse(struct conn *c, int status, const char *code, const char *msg)
{
    if (c->sent) { /* the response is half sent: all we can do is end it */
        conn_free(c);
        return;
    }
    char body[512], all[1024];
    int n = snprintf(body, sizeof(body),
                     "{\"error\":{\"code\":\"%s\",\"message\":\"%s\",\"field\":\"\"}}", code, msg);
    int len = snprintf(all, sizeof(all),
                       "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                       "X-Switchyard-Route: error\r\nConnection: close\r\n\r\n%s",
                       status, code, n, body);
    sock_write(c->down, all, (size_t)len < sizeof(all) ? (size_t)len : sizeof(all) - 1);
    sock_free(c->up);
    c->up = NULL;
    close_when_flushed(c);
}

/* The same for a request that failed on its way (an upstream's failure, or ours):
 * counted as an error, and against `new`'s breaker when it was for `new`. */
static void fail(struct conn *c, int status, const char *code, const char *msg)
{
    judge(c, false);
    if (c->route)
        record(c, UPSTREAMS, true);
    refuse(c, status, code, msg);
}

/* ---- headers -----------------------------------------------------------------------------------
 */

static const char *const hop_by_hop[] = {
    "connection", "keep-alive",         "proxy-connection",    "te", "trailer", "transfer-encoding",
    "upgrade",    "proxy-authenticate", "proxy-authorization", NULL};

/* Whether header `name` (len bytes) is hop-by-hop, or named in `connection`. */
static bool hop(const char *name, size_t len, const char *connection)
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
    if (r->sticky == STICKY_HEADER) {
        q.sticky = header(&c->head, r->sticky_name, &q.sticky_len);
    } else if (r->sticky == STICKY_COOKIE) {
        q.sticky = cookie(&c->head, r->sticky_name, &q.sticky_len);
    } else if (r->sticky == STICKY_BODY && parsed) {
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
}

/* Appends n bytes of s to the request being built (room was made). */
static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static char *puts0(char *p, const char *s)
{
    return put(p, s, strlen(s));
}

/* The request head as it goes upstream: hop-by-hop headers out, forwarding headers in,
 * the body's length (the body follows it from c->body). */
static int build_request(struct conn *c)
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
        if (hop(f->name, f->name_len, connection) ||
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

/* ---- the response -----------------------------------------------------------------------------
 */

/* How many of b[0..n) belong to the chunked body (to its end, *done, or all of them);
 * SIZE_MAX when it is malformed. The chunks' data goes to `data` unless it is NULL. */
static size_t chunk_scan(struct chunker *k, const unsigned char *b, size_t n, bool *done,
                         sock_t *data)
{
    size_t i = 0;
    while (i < n && k->st != K_DONE) {
        unsigned char ch = b[i];
        switch (k->st) {
        case K_SIZE: {
            int v = ch >= '0' && ch <= '9'   ? ch - '0'
                    : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                    : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                             : -1;
            if (v >= 0 && k->digits < 15) {
                k->left = k->left * 16 + (uint64_t)v;
                k->digits++;
            } else if (k->digits && (ch == ';' || ch == ' ' || ch == '\t')) {
                k->st = K_EXT;
            } else if (k->digits && ch == '\r') {
                k->st = K_SIZE_LF;
            } else {
                return SIZE_MAX;
            }
            i++;
            break;
        }
        case K_EXT:
            k->st = ch == '\r' ? K_SIZE_LF : K_EXT;
            i++;
            break;
        case K_SIZE_LF:
            if (ch != '\n')
                return SIZE_MAX;
            k->st = k->left ? K_DATA : K_TRAILER;
            i++;
            break;
        case K_DATA: {
            size_t take = (uint64_t)(n - i) < k->left ? n - i : (size_t)k->left;
            if (data)
                sock_write(data, b + i, take);
            k->left -= take;
            i += take;
            if (!k->left)
                k->st = K_DATA_CR;
            break;
        }
        case K_DATA_CR:
            if (ch != '\r')
                return SIZE_MAX;
            k->st = K_DATA_LF;
            i++;
            break;
        case K_DATA_LF:
            if (ch != '\n')
                return SIZE_MAX;
            k->st = K_SIZE;
            k->digits = 0;
            i++;
            break;
        case K_TRAILER:
            k->st = ch == '\r' ? K_FINAL_LF : K_TRAILER_TEXT;
            i++;
            break;
        case K_TRAILER_TEXT:
            k->st = ch == '\r' ? K_TRAILER_LF : K_TRAILER_TEXT;
            i++;
            break;
        case K_TRAILER_LF:
        case K_FINAL_LF:
            if (ch != '\n')
                return SIZE_MAX;
            k->st = k->st == K_FINAL_LF ? K_DONE : K_TRAILER;
            i++;
            break;
        }
    }
    *done = k->st == K_DONE;
    return i;
}

static void up_read(sock_t *s, void *arg);

/* The response is complete: the upstream back to the pool (or closed), the next request. */
static void response_done(struct conn *c)
{
    if (c->streaming && c->stream_left > 0)
        c->keep_alive = false; /* answered before its body ended: the rest is not a request */
    judge(c, c->status < 500);
    record(c, c->target, c->status >= 500);
    if (c->up) {
        if (!c->up_close && !c->to_eof && evbuffer_get_length(c->up->in) == 0)
            pool_put(c->w, c->up, &c->route->up[c->target]);
        else
            sock_free(c->up);
        c->up = NULL;
    }
    if (c->to_eof || !c->keep_alive || c->dechunk) {
        close_when_flushed(c);
        return;
    }
    next_request(c);
}

/* Moves what of the body has come from the upstream to the client. */
static void pump(struct conn *c)
{
    struct evbuffer *in = c->up->in;
    size_t avail = evbuffer_get_length(in), take = avail;
    bool done = false;
    if (c->head_only) {
        done = true;
        take = 0;
    } else if (c->chunked && avail) {
        if (c->dechunk && c->head_out) {
            sock_write(c->down, c->w->scratch, c->head_out);
            c->head_out = 0;
        }
        take = chunk_scan(&c->ck, evbuffer_pullup(in, (ssize_t)avail), avail, &done,
                          c->dechunk ? c->down : NULL);
        if (take == SIZE_MAX) {
            fail(c, 502, "bad_gateway", "the upstream sent a malformed chunked body");
            return;
        }
        if (c->dechunk) { /* its data is sent */
            evbuffer_drain(in, take);
            take = 0;
        }
    } else if (c->left >= 0) {
        take = (uint64_t)c->left < avail ? (size_t)c->left : avail;
        c->left -= (int64_t)take;
        done = c->left == 0;
    }
    if (c->head_out) { /* the head and what fits of the body: one send */
        char *buf = c->w->scratch;
        size_t room = SY_PROXY_SCRATCH - c->head_out, now = take < room ? take : room;
        if (now)
            evbuffer_remove(in, buf + c->head_out, now);
        sock_write(c->down, buf, c->head_out + now);
        c->head_out = 0;
        take -= now;
    }
    if (take)
        sock_move(c->down, in, take);
    if (done) {
        response_done(c);
        return;
    }
    if (sock_queued(c->down) > HIGH_WATER) /* the client is behind: wait for it */
        sock_read(c->up, false);
}

/* Parses the response head at the start of the upstream's input; 0 when incomplete. */
static int response_head(struct conn *c)
{
    struct evbuffer *in = c->up->in;
    size_t len = evbuffer_get_length(in);
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    if (end.pos < 0)
        return len > MAX_HEAD ? -E2BIG : 0;
    size_t head_len = (size_t)end.pos + 4;
    char *h = (char *)evbuffer_pullup(in, (ssize_t)head_len);
    if (head_len < 16 || strncmp(h, "HTTP/1.", 7) != 0 || h[8] != ' ')
        return -EINVAL;
    int status = atoi(h + 9);
    if (status < 100 || status > 999)
        return -EINVAL;
    if (status >= 100 && status < 200 && status != 101) { /* interim: the real one follows */
        evbuffer_drain(in, head_len);
        return response_head(c);
    }
    bool http10 = h[7] == '0';
    char *line_end = memchr(h, '\r', head_len);
    /* the client's head, built whole and sent with one copy: at most the upstream's plus
     * what is added */
    char *out = c->w->scratch, *o = put(out, "HTTP/1.1 ", 9);
    o = put(o, h + 9, (size_t)(line_end - h - 9));
    o = put(o, "\r\n", 2);
    /* the fields: first the Connection header, whose names are hop-by-hop too */
    char connection[512] = "";
    c->left = -1;
    c->chunked = false;
    for (char *p = line_end + 2; p < h + head_len - 2;) {
        char *e = memchr(p, '\r', (size_t)(h + head_len - p));
        char *colon = memchr(p, ':', (size_t)(e - p));
        if (colon && colon - p == 10 && strncasecmp(p, "connection", 10) == 0) {
            size_t n = (size_t)(e - colon - 1) < sizeof(connection) - 1 ? (size_t)(e - colon - 1)
                                                                        : sizeof(connection) - 1;
            memcpy(connection, colon + 1, n);
            connection[n] = 0;
        }
        p = e + 2;
    }
    c->up_close =
        http10 ? !strcasestr(connection, "keep-alive") : !!strcasestr(connection, "close");
    for (char *p = line_end + 2; p < h + head_len - 2;) {
        char *e = memchr(p, '\r', (size_t)(h + head_len - p));
        char *colon = memchr(p, ':', (size_t)(e - p));
        if (!colon)
            return -EINVAL;
        size_t nlen = (size_t)(colon - p);
        const char *v = colon + 1;
        while (v < e && (*v == ' ' || *v == '\t'))
            v++;
        if (nlen == 17 && strncasecmp(p, "transfer-encoding", 17) == 0) {
            c->chunked = strncasecmp(v, "chunked", 7) == 0;
            if (c->chunked && c->head.minor > 0)
                o = put(o, "Transfer-Encoding: chunked\r\n", 28);
        } else if (nlen == 14 && strncasecmp(p, "content-length", 14) == 0) {
            c->left = strtoll(v, NULL, 10);
            o = put(o, p, (size_t)(e - p) + 2);
        } else if (!hop(p, nlen, connection)) {
            o = put(o, p, (size_t)(e - p) + 2);
        }
        p = e + 2;
    }
    c->status = status;
    c->head_only = c->head.method == SY_HEAD || status == 204 || status == 304;
    c->to_eof = !c->head_only && !c->chunked && c->left < 0;
    if (c->chunked)
        c->left = -1;
    c->ck = (struct chunker){0};
    c->dechunk = c->chunked && c->head.minor == 0; /* HTTP/1.0 knows no chunks */
    bool close = c->to_eof || !c->keep_alive || c->dechunk;
    o = puts0(o,
              c->target == NEW ? "X-Switchyard-Route: new\r\n" : "X-Switchyard-Route: legacy\r\n");
    o = puts0(o, close ? "Connection: close\r\n\r\n" : "Connection: keep-alive\r\n\r\n");
    c->head_out = (size_t)(o - out); /* sent by pump, with the body that came with it */
    evbuffer_drain(in, head_len);
    c->sent = true;
    c->state = S_STREAM;
    return 1;
}

static void up_read(sock_t *s, void *arg)
{
    (void)s;
    struct conn *c = arg;
    if (c->state == S_WAIT) {
        int rc = response_head(c);
        if (rc == 0)
            return;
        if (rc < 0) {
            fail(c, 502, "bad_gateway", "the upstream sent a malformed response head");
            return;
        }
    }
    if (c->state == S_STREAM)
        pump(c);
}

/* The upstream failed before answering: `new` unreachable falls back to `legacy` for a
 * request that may be repeated; a stale pooled connection is replaced once. */
static void up_failed(struct conn *c, int what)
{
    sock_free(c->up);
    c->up = NULL;
    /* a streamed body cannot be sent twice: it is gone from us */
    bool may_repeat = (c->idempotent || c->route->retry_any) && !c->streaming;
    if (c->up_reused && !c->retried && may_repeat) {
        c->retried = true;
        send_upstream(c);
        return;
    }
    if (!c->up_connected && c->target == NEW && may_repeat) {
        judge(c, false);
        record(c, UPSTREAMS, true); /* counted as `new`'s error, then served by legacy */
        c->target = LEGACY;
        c->retried = false;
        if (build_request(c) == 0) {
            send_upstream(c);
            return;
        }
    }
    if (what & SOCK_TIMEOUT)
        fail(c, 504, "gateway_timeout", "the upstream did not answer in time");
    else
        fail(c, 502, "bad_gateway", "the upstream cannot be reached");
}

static void up_event(sock_t *s, int what, void *arg)
{
    (void)s;
    struct conn *c = arg;
    if (what & SOCK_CONNECTED) {
        c->up_connected = true;
        int ms = c->route->up[c->target].read_ms;
        sock_timeouts(c->up, ms, ms);
        sock_read(c->up, true);
        if (c->streaming && c->stream_left > 0)
            forward_body(c);
        return;
    }
    if (c->state == S_STREAM && c->to_eof && (what & SOCK_EOF)) {
        pump(c); /* what is left, then the end of the body */
        if (c->state == S_STREAM)
            response_done(c);
        return;
    }
    if (c->state == S_WAIT) {
        if (evbuffer_get_length(c->up->in) == 0 || (what & SOCK_TIMEOUT)) {
            up_failed(c, what);
            return;
        }
        fail(c, 502, "bad_gateway", "the upstream closed the connection mid-answer");
        return;
    }
    if (c->state == S_STREAM) /* cut short: the client's response cannot be completed */
        fail(c, 502, "bad_gateway", "the upstream closed the connection mid-answer");
}

/* Moves what has come of a streamed body to the upstream, pausing while the upstream is
 * more than HIGH_WATER behind (up_write resumes). Chunks go as they came, followed to the
 * last one: what comes after it is the next request. */
static void forward_body(struct conn *c)
{
    struct evbuffer *in = c->down->in;
    size_t avail;
    while (c->up && c->stream_left > 0 && (avail = evbuffer_get_length(in)) > 0 &&
           sock_queued(c->up) <= HIGH_WATER) {
        size_t n = (uint64_t)c->stream_left < avail ? (size_t)c->stream_left : avail;
        if (c->want < 0) {
            bool done = false;
            n = avail < STREAM_MIN ? avail : STREAM_MIN;
            n = chunk_scan(&c->req_ck, evbuffer_pullup(in, (ssize_t)n), n, &done, NULL);
            if (n == SIZE_MAX) {
                refuse(c, 400, "bad_request", "a malformed chunked body");
                return;
            }
            c->stream_left = !done;
        } else {
            c->stream_left -= (int64_t)n;
        }
        sock_move(c->up, in, n);
    }
}

/* The upstream caught up: more of a streamed body may go. */
static void up_write(sock_t *s, void *arg)
{
    (void)s;
    struct conn *c = arg;
    if (c->streaming && c->stream_left > 0)
        forward_body(c);
}

static void send_upstream(struct conn *c)
{
    const struct upstream *u = &c->route->up[c->target];
    c->up = c->retried ? NULL : pool_take(c->w, u);
    c->up_reused = c->up != NULL;
    c->up_connected = c->up_reused;
    if (!c->up) {
        c->up =
            sock_connect(c->w->base, (const struct sockaddr *)&u->addr, u->addr_len, u->connect_ms);
        if (!c->up) {
            if (errno == ENOMEM)
                refuse(c, 503, "unavailable", "out of memory");
            else
                up_failed(c, SOCK_ERROR);
            return;
        }
    }
    /* a pooled connection reads already, with the timeouts it was made with */
    sock_setcb(c->up, up_read, c->streaming ? up_write : NULL, up_event, c);
    c->up->write_low = c->streaming ? LOW_WATER : 0;
    sock_write(c->up, c->req, c->req_len);
    if (c->body_len)
        sock_write(c->up, c->body, c->body_len);
    c->state = S_WAIT;
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
        refuse(c, 404, "not_found", "no route serves this path");
        return;
    }
    if (c->streaming && c->route->needs_body) { /* its rules read the body: read it whole */
        c->streaming = false;
        c->stream_left = 0;
        c->route = NULL;
        if (c->want >= 0 && (size_t)c->want > c->w->p->o.max_body) {
            refuse(c, 413, "too_large", "the body is too large");
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
            (c->domain >= 0 && c->domain < 64 && (c->route->prod_exec >> c->domain & 1))) {
            refuse(c, 403, "kill_switch",
                   "the kill switch is engaged: production executions are refused");
            return;
        }
    }
    if (c->target == NEW && !breaker_allows(c))
        c->target = LEGACY; /* the breaker is open: everything to legacy */
    if (build_request(c) < 0) {
        refuse(c, 503, "unavailable", "out of memory");
        return;
    }
    send_upstream(c);
    if (c->streaming && c->state == S_WAIT)
        forward_body(c);
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
            refuse(c, 503, "unavailable", "out of memory");
            return;
        }
        c->body = b;
        c->body_cap = cap;
    }
    evbuffer_remove(in, c->body + c->body_raw, take);
    c->body_raw += take;
    if (c->want >= 0) {
        c->body_len = c->body_raw;
        if (c->body_raw == (size_t)c->want)
            dispatch(c);
        return;
    }
    int rc = sy_h1_dechunk(&c->dc, c->body, c->body_raw, c->w->p->o.max_body);
    if (rc < 0) {
        refuse(c, rc == -E2BIG ? 413 : 400, rc == -E2BIG ? "too_large" : "bad_request",
               rc == -E2BIG ? "the body is too large" : "a malformed chunked body");
        return;
    }
    if (rc == 1) {
        /* what came after the body is the next request's: back to the input */
        if (c->body_raw > c->dc.in)
            evbuffer_prepend(in, c->body + c->dc.in, c->body_raw - c->dc.in);
        c->body_len = c->dc.out;
        dispatch(c);
    }
}

static void read_head(struct conn *c)
{
    struct evbuffer *in = c->down->in;
    size_t len = evbuffer_get_length(in);
    if (len == 0)
        return;
    if (len > MAX_HEAD)
        len = MAX_HEAD;
    if (len > c->head_cap) {
        char *b = realloc(c->head_buf, MAX_HEAD);
        if (!b) {
            refuse(c, 503, "unavailable", "out of memory");
            return;
        }
        c->head_buf = b;
        c->head_cap = MAX_HEAD;
    }
    evbuffer_copyout(in, c->head_buf, len);
    int status = 400;
    int rc = sy_h1_parse_head(c->head_buf, len, MAX_HEAD, &c->scanned, &c->head, &status);
    if (rc == 0) {
        if (len == MAX_HEAD)
            refuse(c, 431, "headers_too_large", "the request head is too large");
        return;
    }
    if (rc < 0) {
        refuse(c, status, "bad_request", "the request head does not parse");
        return;
    }
    evbuffer_drain(in, (size_t)rc);
    c->want = c->head.chunked ? -1 : c->head.content_length > 0 ? c->head.content_length : 0;
    if (c->head.expect_continue)
        sock_write(c->down, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    if (c->want > STREAM_MIN || c->want < 0) { /* streamed, unless its route must read it */
        c->streaming = true;
        c->stream_left = c->want < 0 ? 1 : c->want;
        c->req_ck = (struct chunker){0};
        dispatch(c);
        return;
    }
    if (c->want > 0 && (size_t)c->want > c->w->p->o.max_body) {
        refuse(c, 413, "too_large", "the body is too large");
        return;
    }
    c->state = S_BODY;
    read_body(c);
}

static void down_read(sock_t *s, void *arg)
{
    (void)s;
    struct conn *c = arg;
    if (c->streaming && c->stream_left > 0 && (c->state == S_WAIT || c->state == S_STREAM))
        forward_body(c);
    else if (c->state == S_HEAD)
        read_head(c);
    else if (c->state == S_BODY)
        read_body(c);
}

/* The client caught up: the upstream may send again. */
static void down_write(sock_t *s, void *arg)
{
    (void)s;
    struct conn *c = arg;
    if (c->state == S_STREAM && c->up)
        sock_read(c->up, true);
}

static void down_event(sock_t *s, int what, void *arg)
{
    struct conn *c = arg;
    if ((what & SOCK_TIMEOUT) && (c->state == S_WAIT || c->state == S_STREAM)) {
        sock_read(s, true); /* quiet while its answer comes: the upstream's timeout bounds it */
        return;
    }
    conn_free(c); /* the client went away, or was idle too long */
}

static void down_event_closing(sock_t *s, int what, void *arg)
{
    down_event(s, what, arg);
}

static void next_request(struct conn *c)
{
    sy_proxy_snapshot_put(c->snap);
    c->snap = NULL;
    c->route = NULL;
    c->state = S_HEAD;
    c->scanned = 0;
    c->body_len = c->body_raw = 0;
    c->dc = (sy_h1_dechunk_t){0};
    c->retried = c->sent = c->judged = c->streaming = false;
    c->stream_left = 0;
    sock_setcb(c->down, down_read, down_write, down_event, c);
    if (evbuffer_get_length(c->down->in))
        read_head(c);
}

static void conn_free(struct conn *c)
{
    if (c->route && c->target == NEW && !c->judged) { /* a probe that will never be judged */
        pthread_mutex_lock(&c->w->p->breakers_lock);
        sy_breaker_t *b = c->route->brk;
        if (b && b->state == SY_BREAKER_HALF_OPEN && b->in_flight > 0)
            b->in_flight--;
        pthread_mutex_unlock(&c->w->p->breakers_lock);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        c->w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    sock_free(c->up);
    sock_free(c->down);
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
    struct conn *c = calloc(1, sizeof(*c));
    sock_t *s = c ? sock_accepted(w->base, fd) : NULL;
    if (!s) {
        free(c);
        evutil_closesocket(fd);
        return;
    }
    c->w = w;
    c->down = s;
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
    s->write_low = LOW_WATER;
    s->read_max = (size_t)MAX_HEAD + c->w->p->o.max_body;
    sock_timeouts(s, IDLE_S * 1000, 0);
    sock_setcb(s, down_read, down_write, down_event, c);
    sock_read(s, true);
}
