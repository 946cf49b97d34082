/* upstream.c - the upstream side of the proxy's requests: each worker's pools of idle
 * keep-alive connections (one per upstream, the last one put first out), a request sent
 * on one (a new connection when none is idle; a request `new` failed falls back to legacy
 * when it never reached new, or when it may be repeated: up_failed), and its response
 * streamed back to the client as it
 * comes: framed as the upstream framed it (a length, chunks followed byte by byte, or the
 * connection's end), the upstream not read while the client has FLOW_HIGH queued. A
 * streamed request body goes the other way on the same rule. See conn.h.
 */
#define _GNU_SOURCE /* strcasestr */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/conn.h"

/* ---- the pool ----------------------------------------------------------------------------------
 */

/* The worker's pool of upstream `text` (NULL when out of memory). */
static struct pool *pool_of(struct worker *w, const char *text)
{
    for (size_t i = 0; i < w->n_pools; i++)
        if (strcmp(w->pools[i]->text, text) == 0)
            return w->pools[i];
    if (w->n_pools == w->cap_pools) {
        size_t cap = w->cap_pools ? 2 * w->cap_pools : 16;
        struct pool **a = realloc(w->pools, cap * sizeof(*a));
        if (!a)
            return NULL;
        w->pools = a;
        w->cap_pools = cap;
    }
    struct pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    snprintf(p->text, sizeof(p->text), "%s", text);
    w->pools[w->n_pools++] = p;
    return p;
}

static void idle_drop(struct pool *p, size_t i)
{
    sy_sock_free(p->idle[i]);
    p->idle[i] = p->idle[--p->n];
}

/* An idle connection that reads anything (the upstream closing it), or is idle past its
 * read timeout, is dropped. */
static void idle_event(struct sy_sock *s, int what, void *arg)
{
    (void)what;
    struct pool *p = arg;
    for (size_t i = 0; i < p->n; i++)
        if (p->idle[i] == s) {
            idle_drop(p, i);
            return;
        }
}

static void idle_read(struct sy_sock *s, void *arg)
{
    idle_event(s, 0, arg);
}

void sy_proxy_idle_free(struct worker *w)
{
    while (w->conns)
        sy_conn_free(w->conns);
    for (size_t i = 0; i < w->n_pools; i++) {
        while (w->pools[i]->n)
            idle_drop(w->pools[i], w->pools[i]->n - 1);
        free(w->pools[i]->idle);
        free(w->pools[i]);
    }
    free(w->pools);
    w->pools = NULL;
    w->n_pools = w->cap_pools = 0;
}

static struct sy_sock *pool_take(struct worker *w, const struct upstream *u)
{
    struct pool *p = pool_of(w, u->text);
    return p && p->n ? p->idle[--p->n] : NULL;
}

/* Keeps s for the next request to u, or closes it when u's pool is full. */
static void pool_put(struct worker *w, struct sy_sock *s, const struct upstream *u)
{
    struct pool *p = pool_of(w, u->text);
    if (p && p->n == p->cap && (int)p->n < u->keepalive) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        struct sy_sock **a = realloc(p->idle, cap * sizeof(*a));
        if (a) {
            p->idle = a;
            p->cap = cap;
        }
    }
    if (!p || p->n == p->cap || (int)p->n >= u->keepalive) {
        sy_sock_free(s);
        return;
    }
    p->idle[p->n++] = s;
    /* still reading, with its read timeout (idle_event) */
    sy_sock_setcb(s, idle_read, NULL, idle_event, p);
}

/* ---- the response -----------------------------------------------------------------------------
 */

/* A run of a chunked answer's data, to an HTTP/1.0 client (sy_h1_chunks). */
static void to_client(void *arg, const char *p, size_t n)
{
    sy_sock_write(arg, p, n);
}

static void up_read(struct sy_sock *s, void *arg);
static void why(struct conn *c, int err, const char *what);

/* The response is complete: the upstream back to the pool (or closed), the next request. */
static void response_done(struct conn *c)
{
    if (c->streaming && c->stream_left > 0)
        c->keep_alive = false; /* answered before its body ended: the rest is not a request */
    sy_conn_judge(c, c->status < 500);
    sy_conn_record(c, c->target, c->status, c->status >= 500, -1);
    sy_conn_log(c, c->target, c->status, NULL);
    if (c->up) {
        if (!c->up_close && !c->to_eof && evbuffer_get_length(c->up->in) == 0)
            pool_put(c->w, c->up, &c->route->up[c->target]);
        else
            sy_sock_free(c->up);
        c->up = NULL;
    }
    if (c->to_eof || !c->keep_alive || c->dechunk) {
        sy_conn_close_flushed(c);
        return;
    }
    sy_conn_next(c);
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
            sy_sock_write(c->down, c->w->scratch, c->head_out);
            c->head_out = 0;
        }
        int rc = sy_h1_chunks(&c->ck, (const char *)evbuffer_pullup(in, (ssize_t)avail), avail,
                              &take, c->dechunk ? to_client : NULL, c->down);
        if (rc < 0) {
            why(c, 0, "sent a malformed chunked body");
            sy_conn_fail(c, 502, "bad_gateway", "the upstream sent a malformed chunked body");
            return;
        }
        done = rc == 1;
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
        sy_sock_write(c->down, buf, c->head_out + now);
        c->head_out = 0;
        take -= now;
    }
    if (take)
        sy_sock_move(c->down, in, take);
    if (done) {
        response_done(c);
        return;
    }
    if (sy_sock_queued(c->down) >= FLOW_HIGH) /* the client is behind: down_write resumes */
        sy_sock_read(c->up, false);
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
        } else if (!sy_conn_hop(p, nlen, connection)) {
            o = put(o, p, (size_t)(e - p) + 2);
        }
        p = e + 2;
    }
    c->status = status;
    c->head_only = c->head.method == SY_HEAD || status == 204 || status == 304;
    c->to_eof = !c->head_only && !c->chunked && c->left < 0;
    if (c->chunked)
        c->left = -1;
    c->ck = (sy_h1_dechunk_t){0};
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

static void up_read(struct sy_sock *s, void *arg)
{
    (void)s;
    struct conn *c = arg;
    if (c->state == S_WAIT) {
        int rc = response_head(c);
        if (rc == 0)
            return;
        if (rc < 0) {
            why(c, 0, "sent a malformed response head");
            sy_conn_fail(c, 502, "bad_gateway", "the upstream sent a malformed response head");
            return;
        }
    }
    if (c->state == S_STREAM)
        pump(c);
}

/* What went wrong with the upstream of c, for its record: "new 127.0.0.1:9102: " and
 * `what`, and the socket's error when it knows one. */
static void why(struct conn *c, int err, const char *what)
{
    char buf[96] = "";
    const char *e = err ? strerror_r(err, buf, sizeof(buf)) : NULL;
    int n = snprintf(c->why, sizeof(c->why), "%s %s: %s%s%s%s", c->target == NEW ? "new" : "legacy",
                     c->route->up[c->target].text, what, e ? " (" : "", e ? e : "", e ? ")" : "");
    if (n >= (int)sizeof(c->why)) /* a long host name: the message is cut, never overrun */
        c->why[sizeof(c->why) - 1] = '\0';
}

/* The upstream failed before answering. A request of which nothing left us (the
 * connection refused, a connect timeout, a reset before its first byte) never reached the
 * upstream: any method may go elsewhere (a streamed body only while none of it was taken
 * from the client). One that reached it may be repeated as the route's rule says
 * (idempotent methods, any with retry_non_idempotent), never after a read timeout (the
 * upstream may still be working on it) and never with a streamed body (it is gone from us).
 * Repeating means: a stale pooled connection replaced once, then `new` falling back to
 * `legacy`. */
static void up_failed(struct conn *c, int what)
{
    bool unsent = c->up->sent == 0 && !(c->streaming && c->body_got > 0);
    bool timeout = what & SY_SOCK_TIMEOUT;
    int err = c->up->error;
    if (!c->up_connected)
        why(c, timeout ? 0 : err, timeout ? "connect timed out" : "cannot connect");
    else if (timeout)
        why(c, 0, "did not answer in time");
    else
        why(c, err,
            unsent ? "the connection failed before the request was sent"
                   : "closed the connection before answering");
    sy_sock_free(c->up);
    c->up = NULL;
    bool may_repeat = unsent || ((c->idempotent || c->route->retry_any) && !c->streaming);
    if (c->up_reused && !c->retried && may_repeat) {
        c->retried = true;
        sy_upstream_send(c);
        return;
    }
    if (c->target == NEW && may_repeat && (unsent || !timeout)) {
        sy_conn_judge(c, false);
        /* counted as `new`'s error (what it would have answered), then served by legacy */
        sy_conn_record(c, UPSTREAMS, 502, true,
                       !c->up_connected
                           ? (timeout ? SY_PROXY_FB_CONNECT_TIMEOUT : SY_PROXY_FB_CONNECT_ERROR)
                       : unsent ? SY_PROXY_FB_RESET
                                : SY_PROXY_FB_CLOSED);
        c->target = LEGACY;
        c->retried = false;
        c->fell_back = true;
        if (sy_conn_build_request(c) == 0) {
            sy_upstream_send(c);
            return;
        }
    }
    if (timeout)
        sy_conn_fail(c, 504, "gateway_timeout", "the upstream did not answer in time");
    else
        sy_conn_fail(c, 502, "bad_gateway", "the upstream cannot be reached");
}

static void up_event(struct sy_sock *s, int what, void *arg)
{
    (void)s;
    struct conn *c = arg;
    if (what & SY_SOCK_CONNECTED) {
        c->up_connected = true;
        int ms = c->route->up[c->target].read_ms;
        sy_sock_timeouts(c->up, ms, ms);
        sy_sock_read(c->up, true);
        if (c->streaming && c->stream_left > 0)
            sy_upstream_forward(c);
        return;
    }
    if (c->state == S_STREAM && c->to_eof && (what & SY_SOCK_EOF)) {
        pump(c); /* what is left, then the end of the body */
        if (c->state == S_STREAM)
            response_done(c);
        return;
    }
    if (c->state == S_WAIT) {
        if (evbuffer_get_length(c->up->in) == 0 || (what & SY_SOCK_TIMEOUT)) {
            up_failed(c, what);
            return;
        }
        why(c, 0, "closed the connection mid-answer");
        sy_conn_fail(c, 502, "bad_gateway", "the upstream closed the connection mid-answer");
        return;
    }
    if (c->state == S_STREAM) /* cut short: the client's response cannot be completed */
        why(c, 0, "closed the connection mid-answer");
    sy_conn_fail(c, 502, "bad_gateway", "the upstream closed the connection mid-answer");
}

/* Moves what has come of a streamed body to the upstream, as it was read (whole reads: no
 * copy), while its output holds less than FLOW_HIGH; past that the client is not read
 * (up_write resumes at FLOW_LOW). Chunks go as they came, followed to the last one: what
 * comes after it is the next request. */
void sy_upstream_forward(struct conn *c)
{
    struct evbuffer *in = c->down->in;
    size_t avail;
    /* nothing of the body is taken before the connection is made: if it cannot be, the
     * request never left us and may go elsewhere whole */
    while (c->up && !c->up->connecting && c->stream_left > 0 &&
           (avail = evbuffer_get_length(in)) > 0 && sy_sock_queued(c->up) < FLOW_HIGH) {
        size_t n = (uint64_t)c->stream_left < avail ? (size_t)c->stream_left : avail;
        if (c->want < 0) { /* the input holds a head's worth at most (read_max) */
            int rc = sy_h1_chunks(&c->req_ck, (const char *)evbuffer_pullup(in, (ssize_t)avail),
                                  avail, &n, NULL, NULL);
            if (rc < 0) {
                sy_conn_refuse(c, 400, "bad_request", "a malformed chunked body");
                return;
            }
            c->stream_left = rc != 1;
        } else {
            c->stream_left -= (int64_t)n;
        }
        c->body_got += n;
        sy_sock_move(c->up, in, n);
    }
    if (c->stream_left == 0)
        sy_limits_body_done(c);
    sy_limits_hold(c, c->up && c->stream_left > 0 &&
                          (c->up->connecting || sy_sock_queued(c->up) >= FLOW_HIGH));
}

/* The upstream caught up: more of a streamed body may go. */
static void up_write(struct sy_sock *s, void *arg)
{
    (void)s;
    struct conn *c = arg;
    if (c->streaming && c->stream_left > 0)
        sy_upstream_forward(c);
}

/* A connection to c's target that could not even be attempted (no socket, an address
 * unreachable at once): the request never left us. */
static void connect_failed(struct conn *c, int e)
{
    if (c->target == NEW && !(c->streaming && c->body_got > 0)) {
        why(c, e, "cannot connect");
        sy_conn_judge(c, false);
        sy_conn_record(c, UPSTREAMS, 502, true, SY_PROXY_FB_CONNECT_ERROR);
        c->target = LEGACY;
        c->retried = false;
        c->fell_back = true;
        if (sy_conn_build_request(c) == 0) {
            sy_upstream_send(c);
            return;
        }
    }
    why(c, e, "cannot connect");
    sy_conn_fail(c, 502, "bad_gateway", "the upstream cannot be reached");
}

void sy_upstream_send(struct conn *c)
{
    const struct upstream *u = &c->route->up[c->target];
    c->up = c->retried ? NULL : pool_take(c->w, u);
    c->up_reused = c->up != NULL;
    c->up_connected = c->up_reused;
    if (!c->up) {
        c->up = sy_sock_connect(c->w->base, (const struct sockaddr *)&u->addr, u->addr_len,
                                u->connect_ms);
        if (!c->up) {
            int e = errno;
            if (e == ENOMEM) {
                sy_conn_refuse(c, 503, "unavailable", "out of memory");
                return;
            }
            connect_failed(c, e);
            return;
        }
    }
    /* a pooled connection reads already, with the timeouts it was made with */
    sy_sock_setcb(c->up, up_read, c->streaming ? up_write : NULL, up_event, c);
    c->up->write_low = c->streaming ? FLOW_LOW : 0;
    c->up->sent = 0; /* what this request sends: whether it reached the upstream */
    sy_sock_write(c->up, c->req, c->req_len);
    if (c->body_len)
        sy_sock_write(c->up, c->body, c->body_len);
    c->state = S_WAIT;
}
