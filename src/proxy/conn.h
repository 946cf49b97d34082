/* conn.h - what the proxy's two halves of a request share: a client connection (conn.c:
 * its requests read, decided and answered) and its upstream side (upstream.c: the pools,
 * the request sent, the response streamed back). Not an interface: only src/proxy/
 * includes it. Everything here runs on the connection's worker thread.
 */
#ifndef SY_PROXY_CONN_H
#define SY_PROXY_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "http/h1.h"
#include "proxy/internal.h"
#include "proxy/sock.h"

#define MAX_HEAD   65536
#define HEAD_FIRST 2048 /* a head's first buffer (most fit); it doubles up to MAX_HEAD */
#define IDLE_S     60
#define LINGER_MS  2000 /* reading and dropping after our last byte, before the close */
/* Back-pressure, both ways: a streamed request body is read from the client only while the
 * upstream's output holds less than FLOW_HIGH, and again once it is down to FLOW_LOW; a
 * response is read from the upstream on the same rule about the client's output. What a
 * slow peer costs is then FLOW_HIGH and one read (16 KiB, sock.c) a direction, whatever the
 * body's size (64 KiB a connection was the aim: 20 uploads of 20 MB to an upstream taking
 * 1 KiB per 0.5 s grew the process by 42 KiB each, against 7 MiB with marks of 4 MiB and
 * 1 MiB). The kernel's socket buffers keep a fast peer busy between two turns of the loop. */
#define FLOW_HIGH (16u << 10)
#define FLOW_LOW  (4u << 10)
#define STREAM_MIN                                                                                 \
    (256 << 10) /* a longer body a route need not read streams (a chunked one too)                 \
                 */

enum state { S_HEAD, S_BODY, S_WAIT, S_STREAM, S_CLOSING };

struct conn {
    struct conn *prev, *next; /* the worker's, to close at its stop */
    struct worker *w;
    struct sy_sock *down, *up;
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
    bool fell_back;    /* new failed before answering; the request went to legacy */
    bool probe;        /* sent to new only as the breaker's half-open probe (plan at 0 %) */
    bool split_legacy; /* legacy by its bucket alone (new could take it) */
    bool logged;       /* the request's record is in the route's log */
    char why[160];     /* the last failure, for the log: "new 127.0.0.1:9102: ..." */
    struct timespec t0;
    /* the response */
    int status;
    bool head_only;         /* no body: HEAD, 1xx, 204, 304 */
    int64_t left;           /* body bytes still due (a length), or -1 */
    bool chunked, to_eof;   /* framed by chunks, or by the upstream's end */
    bool up_close;          /* the upstream will not keep the connection */
    bool dechunk;           /* chunks to an HTTP/1.0 client: their data only, then the end */
    sy_h1_dechunk_t ck;     /* where a chunked answer ends (sy_h1_chunks) */
    bool sent;              /* response bytes went to the client */
    bool judged;            /* the breaker has this request's outcome */
    size_t head_out;        /* a response head built in the worker's scratch, not sent yet */
    bool streaming;         /* the body goes upstream as it comes (not read whole first) */
    int64_t stream_left;    /* of it, still to come from the client (chunks: 1 until the last) */
    sy_h1_dechunk_t req_ck; /* where a streamed chunked body ends */
    int64_t linger_ms;      /* when lingering began (S_CLOSING, all written) */
    /* what the client owes (limits.c); times in sy_conn_now_ms's milliseconds */
    struct event *timer;                /* the deadline's */
    int64_t timer_ms;                   /* when it fires (0: not armed) */
    int64_t due_ms;                     /* the head's deadline, or the body's before what it
                                         * sent counts (due_body); 0: none */
    bool due_body;                      /* due_ms is a body's: + body_got / min_body_rate */
    uint64_t body_got;                  /* bytes of the body taken from the client so far */
    bool held;                          /* its client is not read: the upstream is behind */
    int64_t held_t0, held_ms;           /* since when, and how long in all, for this body */
    bool waiting;                       /* for a request head: in the worker's wait list */
    struct conn *wait_prev, *wait_next; /* that list, the longest waiting first */
    /* the counters of the last (route, domain, upstream) recorded, while gen lasts */
    sy_proxy_row_t *row;
    const struct proute *row_route;
    unsigned row_gen;
    int row_domain, row_upstream, row_tried;
};

/* Appends n bytes of s to a head being built (room was made). */
static inline char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static inline char *puts0(char *p, const char *s)
{
    return put(p, s, strlen(s));
}

/* ---- conn.c ---- */

/* The outcome of a request `new` took, to its breaker, once. */
void sy_conn_judge(struct conn *c, bool ok);
/* Counts c's request against `upstream` (LEGACY, NEW, or UPSTREAMS for "error"), answered
 * with `status`; `fallback` (sy_proxy_fallback_t, or -1) says why new failed a request
 * that goes on to legacy. */
void sy_conn_record(struct conn *c, int upstream, int status, bool error, int fallback);
/* c's request into its route's recent-request log, once per request (no route: nothing):
 * answered by `upstream` (LEGACY, NEW, or UPSTREAMS: the proxy's own error) with `status`;
 * `msg` says what failed when the proxy answered an error (NULL: c->why, or for an
 * upstream's 5xx its status). Writes the worker's own ring: no lock; its first record of
 * a route allocates the ring. */
void sy_conn_log(struct conn *c, int upstream, int status, const char *msg);
/* A JSON error to the client, then the connection's end: what the proxy refuses itself,
 * counted against no upstream. A response half sent is only ended. c may be freed. */
void sy_conn_refuse(struct conn *c, int status, const char *code, const char *msg);
/* The same for a request that failed on its way: counted as an error, and against
 * `new`'s breaker when it was for `new`. */
void sy_conn_fail(struct conn *c, int status, const char *code, const char *msg);
/* Ends the connection once what it has to send is sent (at once when nothing is). */
void sy_conn_close_flushed(struct conn *c);
/* The response is done: the connection waits for (or reads) its next request. */
void sy_conn_next(struct conn *c);
void sy_conn_free(struct conn *c);
/* Whether header `name` (len bytes) is hop-by-hop, or named in `connection`. */
bool sy_conn_hop(const char *name, size_t len, const char *connection);
/* The request head as it goes to c's target into c->req; -ENOMEM. */
int sy_conn_build_request(struct conn *c);

/* Now, in milliseconds of the monotonic clock (never 0). */
int64_t sy_conn_now_ms(void);

/* ---- limits.c ---- */

/* Whether worker w may take one more client connection: under its share of max_conns, or
 * once the connection that has waited longest for a request head is closed (none: no). */
bool sy_limits_admit(struct worker *w);
/* c counts against its worker's cap, and its first head is due within header_timeout_s.
 * -ENOMEM (nothing changed). */
int sy_limits_init(struct conn *c);
/* c no longer counts (sy_conn_free). */
void sy_limits_fini(struct conn *c);
/* c waits for its next head: the idle timeout until part of one comes. */
void sy_limits_head_wait(struct conn *c);
/* Part of a head came: it is due whole within header_timeout_s of the first part. */
void sy_limits_head_part(struct conn *c);
/* The head is whole; its body (c->want), if any, starts owing min_body_rate. */
void sy_limits_head_done(struct conn *c);
/* The body is whole: nothing is owed until the next head. */
void sy_limits_body_done(struct conn *c);
/* The client is not read while the upstream is behind (on), or is again: the time held is
 * not counted against its body. */
void sy_limits_hold(struct conn *c, bool on);

/* ---- upstream.c ---- */

/* Sends c's request to its target, on a pooled connection or a new one; the response
 * streams back to the client. Failures are answered (c may be freed). */
void sy_upstream_send(struct conn *c);
/* Moves what has come of a streamed request body to the upstream. c may be freed. */
void sy_upstream_forward(struct conn *c);

#endif
