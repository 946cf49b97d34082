/* h1.c - connections of switchyard's HTTP/1.1 server; see h1.h.
 *
 * A connection reads into one buffer that requests are parsed in place from, answers into
 * one output buffer, and writes it with one send() once every request already received
 * (pipelined ones included) is answered. The read event is level-triggered and
 * persistent, so a keep-alive request changes no event: one recv(), one send().
 *
 * Memory safety rules:
 * - Nothing reachable from a handler or a stream owner's call frees a connection. Failures
 *   only mark it `broken`; it is freed from its own event callbacks, or by an asynchronous
 *   reply once the request is finished.
 * - The input buffer moves in in_move() only (grown, shrunk, or answered requests dropped
 *   from its front), and a parsed head's pointers into it move there with it. A realloc or
 *   memmove of `in` anywhere else is the bug that let one client read another's token.
 *
 * What a client owes us has a deadline, not an idle timer that each byte re-arms (one byte
 * per interval would hold a connection forever): a head must arrive whole within
 * header_timeout_s, a body at min_body_rate after that much grace. One timer per
 * connection (`tev`) holds the deadline of its current phase (deadline_ms()).
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "http/h1.h"

#define EXTRA_HEADERS  2048          /* a reply's own headers */
#define STREAM_BACKLOG (1024 * 1024) /* unsent stream bytes before a reader is dropped */
#define LINGER_S       2             /* reading and dropping after our last byte */
#define SHRINK_OVER    (64 * 1024)   /* an emptied input buffer larger than this is shrunk */
#define OUT_BACKLOG    (1024 * 1024) /* unsent answers before pipelined requests wait */

enum conn_state {
    C_HEAD,    /* reading a request head (or idle between requests) */
    C_BODY,    /* reading a request body */
    C_PENDING, /* the handler has the request and has not answered */
    C_STREAM,  /* answering with a stream */
    C_CLOSING, /* answered; writing out the rest, then lingering, then closed */
};

struct sy_h1_req {
    struct conn *conn;  /* NULL: detached (sy_h1_detach) */
    sy_h1_sink_fn sink; /* a detached request's */
    void *sink_arg;
    bool body_skipped; /* on_head refused its body */
    sy_h1_head_t head;
    const char *body;
    size_t body_len;
    size_t extra_len;
    char extra[EXTRA_HEADERS];
};

struct conn {
    sy_h1_server_t *srv;
    struct conn *prev, *next;
    struct conn *wprev, *wnext; /* the server's connections waiting for a head, oldest first */
    bool waiting;               /* on that list (state C_HEAD) */
    int fd;
    struct event *rev, *wev;
    struct event *tev; /* the current phase's deadline (deadline_ms) */
    int64_t armed_ms;  /* what tev is set for; -1: nothing */
    int64_t phase_ms;  /* when the phase began: the wait for a head, its first byte, a body */
    bool head_started; /* C_HEAD: a byte of the head has come (or none is owed yet: a new
                        * connection owes its first head at once) */
    size_t body_rx;    /* C_BODY: bytes received since the head */
    enum conn_state state;
    char *in;
    size_t in_len, in_cap;
    size_t start;    /* where the current request begins in `in` */
    size_t scanned;  /* how far its head was searched (relative to start) */
    size_t body_off; /* where its body begins */
    size_t end;      /* where it ends (once read) */
    sy_h1_dechunk_t ck;
    char *out;
    size_t out_off, out_len, out_cap;
    sy_h1_shared_t *shared; /* a shared body sent after `out` (nothing is put after it) */
    size_t shared_off;      /* its bytes written */
    bool keep_alive;        /* after the current request */
    bool in_handler;
    bool broken;  /* the socket failed: close at the next chance */
    bool writing; /* wev is added */
    bool lingering;
    bool paused;               /* reading stopped until the client reads its answers */
    bool streaming;            /* counted in the server's streams */
    void (*closed)(void *arg); /* a stream's owner */
    void *closed_arg;
    sy_h1_req_t req;
};

struct sy_h1_server {
    struct event_base *base;
    int fd;
    int port;
    struct event *accept_ev, *accept_retry;
    sy_h1_opts_t opts;
    sy_h1_handler_fn handler;
    void *arg;
    struct conn *conns;
    size_t n_conns;         /* this server's */
    atomic_size_t own_open; /* open connections, unless opts.open counts them */
    atomic_size_t *open;    /* where they are counted against max_conns */
    /* The connections a newcomer may close when the server is full, the first first: those
     * lingering after their last answer, then those waiting for a head, by when they began
     * to wait. */
    struct conn *wait_first, *wait_last;
    atomic_size_t own_streams; /* connections answering with a stream, unless opts.streams */
    atomic_size_t *streams;    /* where they are counted: opts.streams or own_streams */
    bool draining;
    bool shared_fd; /* the listener is the caller's (sy_h1_listen_fd) */
    void (*done)(void *arg);
    void *done_arg;
    struct event *grace;
    time_t date_s;
    char date[40]; /* "Date: ...\r\n" */
};

struct sy_h1_shared {
    atomic_size_t refs;
    size_t len;
    char data[];
};

static void process(struct conn *c);
static void flush(struct conn *c);
static bool in_move(struct conn *c, size_t drop, size_t cap);

/* ---- reply text ---------------------------------------------------------------------- */

const char *sy_h1_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    case 507:
        return "Insufficient Storage";
    default:
        return "";
    }
}

/* Room for `n` more output bytes. */
static bool out_room(struct conn *c, size_t n)
{
    if (c->out_cap - c->out_len >= n)
        return true;
    if (c->out_off) { /* written bytes are dead: drop them first */
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
        if (c->out_cap - c->out_len >= n)
            return true;
    }
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap - c->out_len < n)
        cap *= 2;
    char *p = realloc(c->out, cap);
    if (!p)
        return false;
    c->out = p;
    c->out_cap = cap;
    return true;
}

static void put(struct conn *c, const char *s, size_t n)
{
    memcpy(c->out + c->out_len, s, n);
    c->out_len += n;
}

#define PUTS(c, lit) put((c), (lit), sizeof(lit) - 1)

static void put_uint(struct conn *c, uint64_t v, int base)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = "0123456789abcdef"[v % (uint64_t)base];
        v /= (uint64_t)base;
    } while (v);
    put(c, tmp + i, sizeof(tmp) - i);
}

static const char *date_line(sy_h1_server_t *srv)
{
    struct timeval tv;
    event_base_gettimeofday_cached(srv->base, &tv);
    if (tv.tv_sec != srv->date_s) {
        struct tm tm;
        time_t t = tv.tv_sec;
        gmtime_r(&t, &tm);
        strftime(srv->date, sizeof(srv->date), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        srv->date_s = tv.tv_sec;
    }
    return srv->date;
}

/* The status line and headers. `len` < 0: a stream. False when out of memory. */
static bool put_head(struct conn *c, int status, const char *type, int64_t len)
{
    sy_h1_server_t *srv = c->srv;
    const char *reason = sy_h1_reason(status);
    const char *date = date_line(srv);
    size_t tlen = type ? strlen(type) : 0;
    size_t nlen = srv->opts.name ? strlen(srv->opts.name) : 0;
    if (!out_room(c, 192 + strlen(reason) + strlen(date) + tlen + nlen + c->req.extra_len))
        return false;
    PUTS(c, "HTTP/1.1 ");
    put_uint(c, (uint64_t)status, 10);
    PUTS(c, " ");
    put(c, reason, strlen(reason));
    PUTS(c, "\r\n");
    if (nlen) {
        PUTS(c, "Server: ");
        put(c, srv->opts.name, nlen);
        PUTS(c, "\r\n");
    }
    put(c, date, strlen(date));
    if (type) {
        PUTS(c, "Content-Type: ");
        put(c, type, tlen);
        PUTS(c, "\r\n");
    }
    if (len >= 0 && status != 204 && status != 304) {
        PUTS(c, "Content-Length: ");
        put_uint(c, (uint64_t)len, 10);
        PUTS(c, "\r\n");
    } else if (len < 0 && c->req.head.minor >= 1) {
        PUTS(c, "Transfer-Encoding: chunked\r\n");
    }
    if (!c->keep_alive)
        PUTS(c, "Connection: close\r\n");
    else if (c->req.head.minor == 0)
        PUTS(c, "Connection: keep-alive\r\n");
    put(c, c->req.extra, c->req.extra_len);
    PUTS(c, "\r\n");
    return true;
}

/* ---- connection life ----------------------------------------------------------------- */

static void server_maybe_done(sy_h1_server_t *srv)
{
    if (srv->draining && srv->n_conns == 0 && srv->done) {
        void (*done)(void *) = srv->done;
        srv->done = NULL;
        done(srv->done_arg);
    }
}

static int64_t now_ms(sy_h1_server_t *srv)
{
    struct timeval tv;
    event_base_gettimeofday_cached(srv->base, &tv);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Off the list of connections waiting for a head. */
static void wait_end(struct conn *c)
{
    sy_h1_server_t *srv = c->srv;
    if (!c->waiting)
        return;
    if (c->wprev)
        c->wprev->wnext = c->wnext;
    else
        srv->wait_first = c->wnext;
    if (c->wnext)
        c->wnext->wprev = c->wprev;
    else
        srv->wait_last = c->wprev;
    c->wprev = c->wnext = NULL;
    c->waiting = false;
}

/* The connection begins to wait for a request head (after an answer: idle until its
 * first byte), last on the list: the first one is whom a full server closes for a new
 * connection (conn_open). */
static void wait_begin(struct conn *c, int64_t now)
{
    sy_h1_server_t *srv = c->srv;
    wait_end(c);
    c->waiting = true;
    c->wprev = srv->wait_last;
    if (srv->wait_last)
        srv->wait_last->wnext = c;
    else
        srv->wait_first = c;
    srv->wait_last = c;
    c->phase_ms = now;
    c->head_started = false;
}

/* A lingering connection owes nothing and is owed nothing: the first a newcomer closes. */
static void wait_first(struct conn *c)
{
    sy_h1_server_t *srv = c->srv;
    wait_end(c);
    c->waiting = true;
    c->wnext = srv->wait_first;
    if (srv->wait_first)
        srv->wait_first->wprev = c;
    else
        srv->wait_last = c;
    srv->wait_first = c;
}

/* When the current phase must be over (the loop's clock, ms), or -1 when the client owes
 * nothing: the handler or a stream has the connection, or an answer is being written (the
 * write event's timeout bounds a client that does not read). */
static int64_t deadline_ms(const struct conn *c)
{
    const sy_h1_opts_t *o = &c->srv->opts;
    if (c->lingering)
        return c->phase_ms + LINGER_S * 1000;
    if (c->paused) /* we stopped reading until the client reads: it owes nothing meanwhile */
        return -1;
    if (c->state == C_HEAD)
        return c->phase_ms + (c->head_started ? o->header_timeout_s : o->idle_s) * (int64_t)1000;
    if (c->state == C_BODY && o->min_body_rate)
        return c->phase_ms + o->header_timeout_s * (int64_t)1000 +
               (int64_t)(c->body_rx * 1000 / o->min_body_rate);
    if (c->state == C_BODY) /* no floor: phase_ms is its last byte */
        return c->phase_ms + o->idle_s * (int64_t)1000;
    return -1;
}

/* Sets the timer for deadline_ms(). Lazily: a timer already due earlier is left alone (it
 * finds the later deadline when it fires and sets itself again), so a keep-alive request,
 * whose idle deadline only moves later, costs no timer change. */
static void arm(struct conn *c)
{
    int64_t d = deadline_ms(c);
    if (d < 0 || (c->armed_ms >= 0 && c->armed_ms <= d))
        return;
    int64_t left = d - now_ms(c->srv);
    if (left < 0)
        left = 0;
    c->armed_ms = d;
    struct timeval tv = {.tv_sec = left / 1000, .tv_usec = left % 1000 * 1000};
    evtimer_add(c->tev, &tv);
}

static void conn_free(struct conn *c)
{
    sy_h1_server_t *srv = c->srv;
    wait_end(c);
    if (c->streaming)
        atomic_fetch_sub(srv->streams, 1);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->n_conns--;
    atomic_fetch_sub(srv->open, 1);
    if (c->rev)
        event_free(c->rev);
    if (c->wev)
        event_free(c->wev);
    if (c->tev)
        event_free(c->tev);
    if (c->fd >= 0)
        close(c->fd);
    free(c->in);
    free(c->out);
    sy_h1_shared_release(c->shared);
    free(c);
}

/* Closes from an event callback (or anywhere no caller holds the request). */
static void conn_close(struct conn *c)
{
    sy_h1_server_t *srv = c->srv;
    if (c->state == C_STREAM && c->closed) {
        void (*closed)(void *) = c->closed;
        c->closed = NULL;
        closed(c->closed_arg);
    }
    conn_free(c);
    server_maybe_done(srv);
}

static const struct timeval *idle_tv(const struct conn *c, struct timeval *tv)
{
    *tv = (struct timeval){.tv_sec = c->srv->opts.idle_s};
    return tv;
}

/* All written and nothing more to say: stop writing, and read what is left to read for a
 * moment, so that the peer sees our last bytes before the connection closes (closing on
 * unread input would reset it). */
static void start_linger(struct conn *c)
{
    c->lingering = true;
    c->phase_ms = now_ms(c->srv);
    shutdown(c->fd, SHUT_WR);
    wait_first(c);
    event_add(c->rev, NULL); /* reading stopped for a pending answer: the end ends it */
    arm(c);
}

/* Writes `out`, then the shared body behind it (only a head is ever put before one, and
 * nothing after it until it is written). */
static void flush(struct conn *c)
{
    while ((c->out_off < c->out_len || c->shared) && !c->broken) {
        bool own = c->out_off < c->out_len;
        ssize_t n = own ? send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL)
                        : send(c->fd, c->shared->data + c->shared_off,
                               c->shared->len - c->shared_off, MSG_NOSIGNAL);
        if (n > 0 && own) {
            c->out_off += (size_t)n;
        } else if (n > 0) {
            c->shared_off += (size_t)n;
            if (c->shared_off == c->shared->len) {
                sy_h1_shared_release(c->shared);
                c->shared = NULL;
            }
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->writing) {
                struct timeval tv;
                event_add(c->wev, idle_tv(c, &tv));
                c->writing = true;
            }
            return;
        } else {
            c->broken = true;
        }
    }
    c->out_off = c->out_len = 0;
    if (c->writing) {
        event_del(c->wev);
        c->writing = false;
    }
    if (c->state == C_CLOSING && !c->broken && !c->lingering && !c->in_handler)
        start_linger(c);
}

/* After an event: frees the connection if it failed or is done. */
static void settle(struct conn *c)
{
    if (c->broken && !c->in_handler && c->state != C_PENDING)
        conn_close(c);
}

static void on_write_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    struct conn *c = arg;
    if (what & EV_TIMEOUT) { /* the client stopped reading */
        c->broken = true;
        settle(c);
        return;
    }
    flush(c);
    if (c->paused && c->out_len == 0 && !c->shared && !c->broken) {
        c->paused = false;
        /* What the client owes is owed from now, not from before we stopped reading. */
        if (c->state == C_HEAD) {
            wait_begin(c, now_ms(c->srv));
        } else {
            c->phase_ms = now_ms(c->srv);
            c->body_rx = 0;
        }
        event_add(c->rev, NULL);
        process(c);
    }
    settle(c);
}

static void fail_request(struct conn *c, int status, const char *code, const char *message);

/* The input's next size: twice this one, but no more than a body of known length needs. A
 * body is not given its whole Content-Length at its head: memory follows the bytes that
 * came, so a client that sends little holds little. */
static size_t grown_cap(const struct conn *c)
{
    const sy_h1_opts_t *o = &c->srv->opts;
    size_t cap = c->in_cap ? c->in_cap * 2 : o->first_buffer;
    if (c->state == C_BODY && !c->req.head.chunked) {
        size_t need = c->body_off + (size_t)c->req.head.content_length + o->read_room;
        if (cap > need && need > c->in_cap)
            cap = need;
    }
    return cap;
}

/* A deadline passed (deadline_ms): what was owed and half-sent gets 408; a connection that
 * owed nothing yet, or was lingering, just closes. */
static void on_deadline_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    c->armed_ms = -1;
    int64_t d = deadline_ms(c);
    if (d < 0)
        return;
    if (now_ms(c->srv) < d) { /* a later deadline than the one it was set for */
        arm(c);
        return;
    }
    char msg[128];
    if (c->lingering || (c->state == C_HEAD && c->start == c->in_len)) {
        conn_close(c);
        return;
    } else if (c->state == C_HEAD) {
        c->req.head.method = SY_OTHER_METHOD; /* the head is not to be trusted */
        c->req.head.minor = 1;
        snprintf(msg, sizeof(msg), "the request head did not arrive within %d s",
                 c->srv->opts.header_timeout_s);
    } else if (c->srv->opts.min_body_rate) {
        snprintf(msg, sizeof(msg), "the request body came slower than %zu bytes per second",
                 c->srv->opts.min_body_rate);
    } else {
        snprintf(msg, sizeof(msg), "the request body stopped for %d s", c->srv->opts.idle_s);
    }
    fail_request(c, 408, "request_timeout", msg);
    flush(c);
    settle(c);
}

static void on_read_event(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct conn *c = arg;
    if (c->broken) { /* a stream or a write failed earlier */
        conn_close(c);
        return;
    }
    if (c->lingering || c->state == C_STREAM || c->state == C_CLOSING) {
        /* Nothing more is read as requests: drop it, and notice the end. */
        char sink[4096];
        ssize_t n = recv(fd, sink, sizeof(sink), 0);
        if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
            return;
        if (n == 0 && c->state == C_CLOSING && !c->lingering)
            event_del(c->rev); /* the client has stopped sending; finish writing to it */
        else
            conn_close(c);
        return;
    }
    if (c->in_cap - c->in_len < c->srv->opts.read_room && !in_move(c, 0, grown_cap(c))) {
        conn_close(c);
        return;
    }
    ssize_t n = recv(fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n == 0 && (c->out_off < c->out_len || c->shared)) {
        /* The client has sent all it will (a half-close) before reading its answers: they
         * are written before the connection closes; a request it left half-sent is not. */
        wait_end(c);
        c->state = C_CLOSING;
        c->keep_alive = false;
        event_del(c->rev);
        flush(c);
        settle(c);
        return;
    }
    if (n <= 0) {
        conn_close(c);
        return;
    }
    c->in_len += (size_t)n;
    if (c->state == C_BODY) {
        c->body_rx += (size_t)n;
        if (!c->srv->opts.min_body_rate)
            c->phase_ms = now_ms(c->srv); /* no floor: the body need only keep moving */
    }
    process(c);
    settle(c);
}

/* ---- requests ------------------------------------------------------------------------ */

/* An error from this layer: the API's JSON error shape, and the connection closes. */
static void fail_request(struct conn *c, int status, const char *code, const char *message)
{
    char body[256];
    int n =
        snprintf(body, sizeof(body),
                 "{\"error\":{\"code\":\"%s\",\"message\":\"%s\",\"field\":\"\"}}", code, message);
    c->keep_alive = false;
    c->req.extra_len = 0;
    wait_end(c);
    c->state = C_PENDING; /* sy_h1_reply's precondition */
    c->in_handler = true; /* the loop in process() goes on */
    sy_h1_reply(&c->req, status, "application/json", body, (size_t)n);
    c->in_handler = false;
}

static void parse_error(struct conn *c, int status)
{
    /* The head is not to be trusted: answer as to a plain HTTP/1.1 request. */
    c->req.head.method = SY_OTHER_METHOD;
    c->req.head.minor = 1;
    switch (status) {
    case 431:
        fail_request(c, 431, "headers_too_large", "the request head is too large");
        break;
    case 501:
        fail_request(c, 501, "not_implemented", "only the chunked transfer coding is supported");
        break;
    case 505:
        fail_request(c, 505, "http_version", "only HTTP/1.0 and HTTP/1.1 are spoken here");
        break;
    default:
        fail_request(c, 400, "bad_request", "the request is not valid HTTP/1.1");
        break;
    }
}

static void too_large(struct conn *c)
{
    char msg[96];
    snprintf(msg, sizeof(msg), "the request body is over %zu bytes", c->srv->opts.max_body);
    fail_request(c, 413, "too_large", msg);
}

/* The parsed head's strings, as places in the input buffer. */
static size_t head_places(struct conn *c, const char ***at)
{
    sy_h1_head_t *h = &c->req.head;
    size_t n = 0;
    at[n++] = &h->method_name;
    at[n++] = (const char **)&h->path;
    at[n++] = (const char **)&h->query;
    for (size_t i = 0; i < h->n_fields; i++) {
        at[n++] = &h->fields[i].name;
        at[n++] = &h->fields[i].value;
    }
    return n;
}

/* The one place the input buffer moves: drops its first `drop` bytes (answered requests;
 * at most `start`) and, when `cap` is not 0, reallocates it to `cap` bytes (at least what it
 * then holds). A head parsed from it (any state but C_HEAD: it lies in [start, body_off))
 * points into it: its pointers are taken as offsets before and set again after, whether
 * the realloc worked or not. False when a growth found no memory (nothing is lost). */
static bool in_move(struct conn *c, size_t drop, size_t cap)
{
    const char **at[3 + 2 * SY_H1_MAX_HEADERS];
    size_t off[3 + 2 * SY_H1_MAX_HEADERS];
    size_t places = c->state == C_HEAD || !c->in ? 0 : head_places(c, at);
    for (size_t i = 0; i < places; i++) {
        uintptr_t q = (uintptr_t)*at[i], base = (uintptr_t)c->in;
        bool inside = q >= base + c->start && q < base + c->body_off; /* "/" is not */
        off[i] = inside ? (size_t)(q - base) : SIZE_MAX;
    }
    assert(drop <= c->start);
    if (drop) {
        memmove(c->in, c->in + drop, c->in_len - drop);
        c->in_len -= drop;
        c->start -= drop;
        if (c->state != C_HEAD)
            c->body_off -= drop;
    }
    bool ok = true;
    if (cap && cap != c->in_cap) {
        assert(cap >= c->in_len);
        char *p = realloc(c->in, cap);
        if (p) {
            c->in = p;
            c->in_cap = cap;
        } else {
            ok = cap < c->in_cap; /* a shrink that did not happen harms no one */
        }
    }
    for (size_t i = 0; i < places; i++)
        if (off[i] != SIZE_MAX)
            *at[i] = c->in + off[i] - drop;
    return ok;
}

static void dispatch(struct conn *c, size_t body_len)
{
    c->req.body = c->in + c->body_off;
    c->req.body_len = body_len;
    c->state = C_PENDING;
    c->in_handler = true;
    c->srv->handler(&c->req, c->srv->arg);
    c->in_handler = false;
}

/* Reads the body of the current request: true when it is all here. */
static bool read_body(struct conn *c, size_t *body_len)
{
    const sy_h1_head_t *h = &c->req.head;
    if (!h->chunked) {
        size_t need = c->body_off + (size_t)h->content_length;
        if (c->in_len < need)
            return false; /* on_read grows the buffer as the body comes (grown_cap) */
        c->end = need;
        *body_len = (size_t)h->content_length;
        return true;
    }
    char *body = c->in + c->body_off;
    int rc = sy_h1_dechunk(&c->ck, body, c->in_len - c->body_off, c->srv->opts.max_body);
    /* Decoded in place, its framing costs no memory; bounded all the same (a body of tiny
     * chunks, or of long extensions, must still end). */
    if (rc == 0 && c->body_rx > 2 * c->srv->opts.max_body + 65536)
        rc = -E2BIG;
    if (rc < 0) {
        if (rc == -E2BIG)
            too_large(c);
        else
            fail_request(c, 400, "bad_request", "the chunked body is malformed");
        return false;
    }
    if (rc == 0) { /* keep only decoded bytes and the unread tail */
        size_t tail = c->in_len - c->body_off - c->ck.in;
        memmove(body + c->ck.out, body + c->ck.in, tail);
        c->in_len -= c->ck.in - c->ck.out;
        c->ck.in = c->ck.out;
        return false;
    }
    c->end = c->body_off + c->ck.in;
    *body_len = c->ck.out;
    return true;
}

/* Parses and answers every complete request in the input, then writes. */
static void process(struct conn *c)
{
    sy_h1_server_t *srv = c->srv;
    while (!c->broken && (c->state == C_HEAD || c->state == C_BODY)) {
        if (c->out_len - c->out_off >= OUT_BACKLOG || c->shared) {
            flush(c);
            if (c->out_len - c->out_off >= OUT_BACKLOG || c->shared) {
                /* A client that pipelines without reading waits for its answers (the
                 * write event, armed by flush, resumes it). */
                c->paused = true;
                event_del(c->rev);
                break;
            }
        }
        if (c->state == C_HEAD) {
            if (c->start == c->in_len)
                break;
            if (!c->head_started) { /* its first byte: the head is owed whole from now */
                c->head_started = true;
                c->phase_ms = now_ms(srv);
            }
            int status;
            int rc = sy_h1_parse_head(c->in + c->start, c->in_len - c->start, srv->opts.max_head,
                                      &c->scanned, &c->req.head, &status);
            if (rc == 0)
                break;
            if (rc < 0) {
                parse_error(c, status);
                break;
            }
            wait_end(c);
            c->scanned = 0;
            c->body_off = c->start + (size_t)rc;
            c->req.extra_len = 0;
            c->req.body_skipped = false;
            c->keep_alive = c->req.head.keep_alive && !srv->draining;
            const sy_h1_head_t *h = &c->req.head;
            if (h->content_length > (int64_t)srv->opts.max_body) {
                c->state = C_BODY; /* what is said about the body no longer matters */
                too_large(c);
                break;
            }
            if (!h->chunked && h->content_length <= 0) {
                c->end = c->body_off;
                dispatch(c, 0);
            } else if (srv->opts.on_head &&
                       (h->chunked || c->in_len - c->body_off < (size_t)h->content_length) &&
                       !srv->opts.on_head(&c->req, srv->arg)) {
                /* Its body is not wanted: answered without it, and never read. */
                c->keep_alive = false;
                c->req.body_skipped = true;
                c->end = c->body_off;
                dispatch(c, 0);
            } else {
                c->state = C_BODY;
                c->phase_ms = now_ms(srv);
                c->body_rx = c->in_len - c->body_off;
                c->ck = (sy_h1_dechunk_t){0};
                if (h->expect_continue && c->in_len == c->body_off &&
                    out_room(c, sizeof("HTTP/1.1 100 Continue\r\n\r\n")))
                    PUTS(c, "HTTP/1.1 100 Continue\r\n\r\n");
            }
        }
        if (c->state == C_BODY) {
            size_t body_len;
            if (!read_body(c, &body_len))
                break;
            dispatch(c, body_len);
        }
        if (c->state == C_HEAD)
            c->start = c->end;
    }
    if (c->state == C_HEAD || c->state == C_BODY) {
        /* Drop what is answered and keep a partial request at the front; a buffer a big
         * body grew goes back to its first size once empty. */
        bool shrink = c->start == c->in_len && c->in_cap > SHRINK_OVER;
        (void)in_move(c, c->start, shrink ? srv->opts.first_buffer : 0); /* never grows */
    } else if (c->state == C_PENDING) {
        event_del(c->rev); /* reading resumes with the answer */
    }
    flush(c);
    arm(c);
}

/* After a reply: where the connection goes next. */
static void finish(struct conn *c)
{
    if (c->state == C_PENDING) {
        c->state = c->keep_alive ? C_HEAD : C_CLOSING;
        if (c->state == C_HEAD)
            wait_begin(c, now_ms(c->srv));
    }
    if (c->in_handler)
        return; /* process() goes on */
    /* An answer given later: resume reading where the request ended. */
    if (c->state == C_HEAD) {
        c->start = c->end;
        event_add(c->rev, NULL);
        process(c);
    } else {
        flush(c);
    }
    settle(c);
}

/* The connection's events: each marks the loop's iteration when it is done. */
#define MARKED(name)                                                                               \
    static void name(evutil_socket_t fd, short what, void *arg)                                    \
    {                                                                                              \
        sy_h1_server_t *srv = ((struct conn *)arg)->srv; /* the connection may be gone after */    \
        name##_event(fd, what, arg);                                                               \
        sy_h1_loop_mark(srv->base, srv->opts.loop);                                                \
    }
MARKED(on_read)
MARKED(on_write)
MARKED(on_deadline)

/* ---- the request interface ----------------------------------------------------------- */

sy_method_t sy_h1_method(const sy_h1_req_t *req)
{
    /* HEAD is GET to a handler: the reply drops the body (sy_h1_reply, streams). */
    return req->head.method == SY_HEAD ? SY_GET : req->head.method;
}

const char *sy_h1_method_name(const sy_h1_req_t *req)
{
    return req->head.method_name;
}

const char *sy_h1_path(const sy_h1_req_t *req)
{
    return req->head.path;
}

const char *sy_h1_query(const sy_h1_req_t *req)
{
    return req->head.query;
}

const char *sy_h1_header(const sy_h1_req_t *req, const char *name)
{
    return sy_h1_head_field(&req->head, name);
}

const char *sy_h1_header_nth(const sy_h1_req_t *req, const char *name, size_t nth)
{
    return sy_h1_head_field_nth(&req->head, name, nth);
}

bool sy_h1_body_skipped(const sy_h1_req_t *req)
{
    return req->body_skipped;
}

const char *sy_h1_body(const sy_h1_req_t *req, size_t *len)
{
    *len = req->body_len;
    return req->body_len ? req->body : "";
}

int sy_h1_add_header(sy_h1_req_t *req, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n") || !nl)
        return -EINVAL;
    if (req->extra_len + nl + vl + 4 > sizeof(req->extra))
        return -E2BIG;
    char *p = req->extra + req->extra_len;
    memcpy(p, name, nl);
    memcpy(p + nl, ": ", 2);
    memcpy(p + nl + 2, value, vl);
    memcpy(p + nl + 2 + vl, "\r\n", 2);
    req->extra_len += nl + vl + 4;
    return 0;
}

int sy_h1_add_header_lines(sy_h1_req_t *req, const char *lines, size_t len)
{
    if (req->extra_len + len > sizeof(req->extra))
        return -E2BIG;
    memcpy(req->extra + req->extra_len, lines, len);
    req->extra_len += len;
    return 0;
}

/* ---- detached requests ----------------------------------------------------------------- */

/* Copies s[0..n) and a NUL to *at, returning where the copy is. */
static char *copy_at(char **at, const char *s, size_t n)
{
    char *p = *at;
    memcpy(p, s, n);
    p[n] = '\0';
    *at += n + 1;
    return p;
}

sy_h1_req_t *sy_h1_detach(const sy_h1_req_t *req, sy_h1_sink_fn sink, void *arg)
{
    const sy_h1_head_t *h = &req->head;
    size_t ml = strlen(h->method_name), pl = strlen(h->path), ql = h->query ? strlen(h->query) : 0;
    size_t size = sizeof(sy_h1_req_t) + ml + pl + ql + 3 + req->body_len + 1;
    for (size_t i = 0; i < h->n_fields; i++)
        size += h->fields[i].name_len + h->fields[i].value_len + 2;
    sy_h1_req_t *d = malloc(size);
    if (!d)
        return NULL;
    char *at = (char *)(d + 1);
    d->conn = NULL;
    d->sink = sink;
    d->sink_arg = arg;
    d->head = *h;
    d->head.method_name = copy_at(&at, h->method_name, ml);
    d->head.path = copy_at(&at, h->path, pl);
    d->head.query = h->query ? copy_at(&at, h->query, ql) : NULL;
    for (size_t i = 0; i < h->n_fields; i++) {
        sy_h1_field_t *f = &d->head.fields[i];
        f->name = copy_at(&at, h->fields[i].name, h->fields[i].name_len);
        f->value = copy_at(&at, h->fields[i].value, h->fields[i].value_len);
    }
    d->body = copy_at(&at, req->body_len ? req->body : "", req->body_len);
    d->body_len = req->body_len;
    d->body_skipped = req->body_skipped;
    d->extra_len = 0; /* the original keeps its own: the sink gets what the copy added */
    return d;
}

/* Not inlined: at -O3 the compiler follows `req` from sy_h1_reply, where it may also be a
 * connection's own request, and refuses a free() it cannot prove is of a whole block. */
__attribute__((noinline)) void sy_h1_detached_free(sy_h1_req_t *req)
{
    if (req && !req->conn)
        free(req);
}

sy_h1_shared_t *sy_h1_shared_new(const char *data, size_t len)
{
    sy_h1_shared_t *s = malloc(sizeof(*s) + len + 1);
    if (!s)
        return NULL;
    atomic_init(&s->refs, 1);
    s->len = len;
    memcpy(s->data, data, len);
    s->data[len] = '\0';
    return s;
}

sy_h1_shared_t *sy_h1_shared_ref(sy_h1_shared_t *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void sy_h1_shared_release(sy_h1_shared_t *s)
{
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        free(s);
}

bool sy_h1_shared_is_held(const sy_h1_shared_t *s)
{
    return atomic_load_explicit(&s->refs, memory_order_relaxed) > 1;
}

const char *sy_h1_shared_data(const sy_h1_shared_t *s, size_t *len)
{
    *len = s->len;
    return s->data;
}

void sy_h1_reply_shared(sy_h1_req_t *req, int status, const char *type, sy_h1_shared_t *body)
{
    struct conn *c = req->conn;
    if (!c) {
        req->sink(req->sink_arg, status, type, req->extra, req->extra_len, body->data, body->len,
                  body);
        sy_h1_detached_free(req);
        return;
    }
    if (c->state != C_PENDING)
        return; /* answered already */
    bool head_only = req->head.method == SY_HEAD;
    if (!put_head(c, status, type, (int64_t)body->len)) {
        c->broken = true;
    } else if (!head_only && status != 204 && status != 304 && body->len) {
        /* process() puts nothing after a shared body until it is written */
        assert(!c->shared);
        c->shared = sy_h1_shared_ref(body);
        c->shared_off = 0;
    }
    finish(c);
}

void sy_h1_reply(sy_h1_req_t *req, int status, const char *type, const char *body, size_t len)
{
    struct conn *c = req->conn;
    if (!c) {
        req->sink(req->sink_arg, status, type, req->extra, req->extra_len, body, len, NULL);
        sy_h1_detached_free(req);
        return;
    }
    if (c->state != C_PENDING)
        return; /* answered already */
    bool head_only = req->head.method == SY_HEAD;
    if (!put_head(c, status, type, (int64_t)len) ||
        (!head_only && status != 204 && status != 304 && !out_room(c, len))) {
        c->broken = true;
    } else if (!head_only && status != 204 && status != 304) {
        put(c, body, len);
    }
    finish(c);
}

bool sy_h1_stream_room(sy_h1_req_t *req)
{
    struct conn *c = req->conn;
    if (!c)
        return false; /* a detached request cannot stream */
    if (c->streaming)
        return true; /* reserved already */
    const sy_h1_server_t *srv = c->srv;
    size_t cap = srv->opts.max_streams ? srv->opts.max_streams : (srv->opts.max_conns + 1) / 2;
    /* Taken here, not at the start: two workers must not both see the last place free. */
    size_t n = atomic_load(srv->streams);
    do {
        if (srv->opts.max_conns && n >= cap)
            return false;
    } while (!atomic_compare_exchange_weak(srv->streams, &n, n + 1));
    c->streaming = true; /* counted: given back when the connection goes */
    return true;
}

void sy_h1_stream_start(sy_h1_req_t *req, int status, const char *type, void (*closed)(void *arg),
                        void *arg)
{
    struct conn *c = req->conn;
    if (!c) {
        sy_h1_reply(req, 503, NULL, NULL, 0);
        return;
    }
    if (c->state != C_PENDING)
        return;
    if (req->head.minor == 0)
        c->keep_alive = false; /* the end of a 1.0 stream is the end of the connection */
    if (!put_head(c, status, type, -1))
        c->broken = true;
    c->state = C_STREAM;
    if (!c->streaming) { /* started without asking for room */
        c->streaming = true;
        atomic_fetch_add(c->srv->streams, 1);
    }
    c->closed = closed;
    c->closed_arg = arg;
    /* Only the end of the connection is read from now on. */
    event_add(c->rev, NULL);
    flush(c);
    if (c->broken)
        event_active(c->rev, EV_READ, 0); /* `closed` runs from the loop, not from here */
}

int sy_h1_stream_send(sy_h1_req_t *req, const char *data, size_t len)
{
    struct conn *c = req->conn;
    if (!c || c->broken || c->state != C_STREAM)
        return -EPIPE;
    if (len && req->head.method != SY_HEAD) { /* an answer to HEAD has no body */
        bool chunked = req->head.minor >= 1;
        if (c->out_len - c->out_off + len > STREAM_BACKLOG || !out_room(c, len + 24)) {
            c->broken = true;
        } else {
            if (chunked) {
                put_uint(c, len, 16);
                PUTS(c, "\r\n");
            }
            put(c, data, len);
            if (chunked)
                PUTS(c, "\r\n");
            flush(c);
        }
    }
    if (c->broken) {
        event_active(c->rev, EV_READ, 0);
        return -EPIPE;
    }
    return 0;
}

void sy_h1_stream_end(sy_h1_req_t *req)
{
    struct conn *c = req->conn;
    if (!c || c->state != C_STREAM)
        return;
    c->closed = NULL;
    c->state = C_CLOSING;
    c->streaming = false;
    atomic_fetch_sub(c->srv->streams, 1);
    c->keep_alive = false;
    if (req->head.minor >= 1 && req->head.method != SY_HEAD && out_room(c, 5))
        PUTS(c, "0\r\n\r\n");
    flush(c);
    if (c->broken)
        event_active(c->rev, EV_READ, 0);
}

/* ---- listening ----------------------------------------------------------------------- */

static int conn_open(sy_h1_server_t *srv, int fd)
{
    if (srv->opts.max_conns && atomic_load(srv->open) >= srv->opts.max_conns) {
        /* Full: the connection that has waited longest for a head makes room (a client
         * dribbling one holds no place for long); with none, the newcomer is refused. */
        if (!srv->wait_first) {
            close(fd);
            return -EBUSY;
        }
        conn_close(srv->wait_first);
    }
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    c->srv = srv;
    c->fd = fd;
    c->req.conn = c;
    c->rev = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->wev = event_new(srv->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    c->tev = evtimer_new(srv->base, on_deadline, c);
    c->armed_ms = -1;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    atomic_fetch_add(srv->open, 1);
    if (!c->rev || !c->wev || !c->tev || event_add(c->rev, NULL) < 0) {
        conn_free(c);
        return -ENOMEM;
    }
    wait_begin(c, now_ms(srv));
    c->head_started = true; /* its first head is owed from the accept on */
    arm(c);
    return 0;
}

int sy_h1_adopt(sy_h1_server_t *srv, int fd)
{
    return conn_open(srv, fd);
}

static void accept_again(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sy_h1_server_t *srv = arg;
    if (!srv->draining)
        event_add(srv->accept_ev, NULL);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    (void)what;
    sy_h1_server_t *srv = arg;
    for (int i = 0; i < srv->opts.accept_batch; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* Out of descriptors: pause accepting instead of spinning. */
                event_del(srv->accept_ev);
                event_add(srv->accept_retry, &(struct timeval){.tv_usec = 100000});
            }
            break;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        (void)conn_open(srv, fd); /* a failure closed fd: the client sees the end */
    }
    sy_h1_loop_mark(srv->base, srv->opts.loop);
}

void sy_h1_loop_mark(struct event_base *base, sy_loopstat_t *loop)
{
    struct timeval start, now;
    if (!loop || event_base_gettimeofday_cached(base, &start) < 0)
        return;
    /* The cached time is libevent's monotonic clock at the wake-up plus its offset to the
     * wall clock; the wall clock now is off from that by no more than its slew since the
     * offset was taken (seconds ago): microseconds. A step of the wall clock is dropped. */
    gettimeofday(&now, NULL);
    int64_t s_us = (int64_t)start.tv_sec * 1000000 + start.tv_usec;
    int64_t n_us = (int64_t)now.tv_sec * 1000000 + now.tv_usec;
    int64_t cpu_us = 0;
    struct timespec cpu;
    if (loop->cpu && clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
        cpu_us = (int64_t)cpu.tv_sec * 1000000 + cpu.tv_nsec / 1000;
    if (n_us >= s_us && n_us - s_us < 600 * (int64_t)1000000)
        sy_loopstat_mark(loop, s_us, n_us, cpu_us);
}

static int bind_listener(const char *host, int port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *res = NULL;
    char service[8];
    snprintf(service, sizeof(service), "%d", port);
    if (getaddrinfo(host, service, &hints, &res) != 0)
        return -EINVAL;
    int fd = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s < 0)
            continue;
        int one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(s, ai->ai_addr, ai->ai_addrlen) == 0 && listen(s, 1024) == 0) {
            fd = s;
            break;
        }
        fd = -errno;
        close(s);
    }
    freeaddrinfo(res);
    return fd;
}

int sy_h1_bind(const char *host, int port)
{
    return bind_listener(host, port);
}

int sy_h1_listen(sy_h1_server_t **out, struct event_base *base, const char *host, int port,
                 const sy_h1_opts_t *opts, sy_h1_handler_fn handler, void *arg)
{
    *out = NULL;
    int fd = bind_listener(host, port);
    if (fd < 0)
        return fd;
    int rc = sy_h1_listen_fd(out, base, fd, opts, handler, arg);
    if (rc < 0)
        close(fd);
    else
        (*out)->shared_fd = false; /* ours to close */
    return rc;
}

int sy_h1_listen_fd(sy_h1_server_t **out, struct event_base *base, int fd, const sy_h1_opts_t *opts,
                    sy_h1_handler_fn handler, void *arg)
{
    *out = NULL;
    sy_h1_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    *srv = (sy_h1_server_t){
        .base = base, .fd = fd, .shared_fd = true, .opts = *opts, .handler = handler, .arg = arg};
    srv->streams = opts->streams ? opts->streams : &srv->own_streams;
    srv->open = opts->open ? opts->open : &srv->own_open;
    if (!srv->opts.max_head)
        srv->opts.max_head = 64 * 1024;
    if (srv->opts.idle_s <= 0)
        srv->opts.idle_s = 60;
    if (srv->opts.header_timeout_s <= 0)
        srv->opts.header_timeout_s = 10;
    if (!srv->opts.first_buffer)
        srv->opts.first_buffer = 16384;
    if (!srv->opts.read_room)
        srv->opts.read_room = 4096;
    if (srv->opts.accept_batch <= 0)
        srv->opts.accept_batch = 64;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        srv->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    srv->accept_ev = event_new(base, fd, EV_READ | EV_PERSIST, on_accept, srv);
    srv->accept_retry = evtimer_new(base, accept_again, srv);
    if (!srv->accept_ev || !srv->accept_retry || event_add(srv->accept_ev, NULL) < 0) {
        sy_h1_free(srv);
        return -ENOMEM;
    }
    *out = srv;
    return 0;
}

int sy_h1_port(const sy_h1_server_t *srv)
{
    return srv->port;
}

static void grace_over(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sy_h1_server_t *srv = arg;
    if (srv->done) {
        void (*done)(void *) = srv->done;
        srv->done = NULL;
        done(srv->done_arg);
    }
}

void sy_h1_drain(sy_h1_server_t *srv, int grace_s, void (*done)(void *arg), void *arg)
{
    srv->draining = true;
    if (srv->accept_ev)
        event_del(srv->accept_ev);
    if (srv->accept_retry)
        event_del(srv->accept_retry);
    if (srv->fd >= 0 && !srv->shared_fd)
        close(srv->fd);
    srv->fd = -1;
    srv->done = done;
    srv->done_arg = arg;
    for (struct conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == C_HEAD && c->in_len == 0 && c->out_len == 0 && !c->shared)
            conn_free(c); /* idle */
        else if (c->state == C_HEAD || c->state == C_BODY || c->state == C_PENDING)
            c->keep_alive = false; /* answered, then closed */
    }
    if (srv->n_conns == 0) {
        srv->done = NULL;
        done(arg);
        return;
    }
    srv->grace = evtimer_new(srv->base, grace_over, srv);
    if (srv->grace)
        evtimer_add(srv->grace, &(struct timeval){.tv_sec = grace_s});
}

void sy_h1_free(sy_h1_server_t *srv)
{
    if (!srv)
        return;
    while (srv->conns)
        conn_free(srv->conns);
    if (srv->accept_ev)
        event_free(srv->accept_ev);
    if (srv->accept_retry)
        event_free(srv->accept_retry);
    if (srv->grace)
        event_free(srv->grace);
    if (srv->fd >= 0 && !srv->shared_fd)
        close(srv->fd);
    free(srv);
}
