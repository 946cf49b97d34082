/* h1.h - switchyard's own HTTP/1.1 server on a libevent event_base.
 *
 * What the API, OFREP and the event streams need and no more: keep-alive and pipelined
 * requests, Content-Length and chunked request bodies, Expect: 100-continue, replies with
 * a length, chunked streamed replies, and a drain for clean shutdowns.
 *
 * Hostile clients (docs/security.md): what a client owes is owed by a deadline, not an
 * idle timer each byte re-arms: a head whole within header_timeout_s (408), a body at
 * min_body_rate after that grace (408), the next request of a keep-alive connection within
 * idle_s (closed). At max_conns, the connection that has waited longest for a head is
 * closed for a newcomer, or the newcomer is refused when none waits. Chunked framing is
 * CR LF only.
 * A keep-alive request costs one read() and one send(): no allocation and no event
 * change per request (libevent's evhttp spent five system calls and a dozen mallocs).
 *
 * Requests that break the rules get the JSON error shape of the API from this layer
 * itself: 400 bad_request, 413 too_large (as soon as a Content-Length says so, without
 * reading the body), 431 headers_too_large, 501 not_implemented (a transfer coding other
 * than chunked), 505 for HTTP other than 1.x. A request with both Content-Length and
 * Transfer-Encoding is refused (400), so nothing in front of us can be smuggled past.
 *
 * One event loop, not thread-safe. Every accepted request gets exactly one reply (or one
 * stream): the handler gives it before returning, or later (a request left pending stops
 * its connection reading until it is answered).
 */
#ifndef SY_HTTP_H1_H
#define SY_HTTP_H1_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>

#include "engine/loopstat.h"

/* ---- the parser (pure: no sockets, no libevent; fuzzed by fuzz/fuzz_h1.c) ------------ */

typedef enum sy_method {
    SY_GET,
    SY_HEAD,
    SY_POST,
    SY_PUT,
    SY_DELETE,
    SY_PATCH,
    SY_OPTIONS,
    SY_OTHER_METHOD
} sy_method_t;

#define SY_H1_MAX_HEADERS 64

typedef struct sy_h1_field {
    const char *name, *value; /* both NUL-terminated in the parsed buffer */
    size_t name_len, value_len;
} sy_h1_field_t;

/* A parsed head. Its strings point into the buffer it was parsed from: they are valid only
 * while those bytes stay where they are. The server (h1.c) moves its input buffer in one
 * function, in_move(), which relocates the head of the request being read with it; nothing
 * else may realloc or memmove a buffer a head points into. */
typedef struct sy_h1_head {
    sy_method_t method;
    const char *method_name; /* NUL-terminated */
    char *path;              /* origin-form path, NUL-terminated, not decoded */
    char *query;             /* after '?', NUL-terminated; NULL when there is none */
    int minor;               /* HTTP/1.minor */
    size_t n_fields;
    sy_h1_field_t fields[SY_H1_MAX_HEADERS];
    int64_t content_length; /* -1: none */
    bool chunked;           /* Transfer-Encoding: chunked */
    bool keep_alive;        /* the client keeps the connection (1.1 default, 1.0 asks) */
    bool expect_continue;   /* Expect: 100-continue */
} sy_h1_head_t;

/* Parses a request head at the start of buf[0..len). Returns its length (through the
 * blank line) when complete, 0 when more bytes are needed, or a negative code with the
 * status to answer in *status: -E2BIG (431, a head over `max` bytes or over
 * SY_H1_MAX_HEADERS fields), -EINVAL (400), -ENOSYS (501, a transfer coding other than
 * chunked), -EPROTO (505). A complete head is rewritten in place (names and values are
 * NUL-terminated where they lie); before that, buf is only read. `scanned` remembers how
 * far a previous incomplete call looked (start at 0). */
int sy_h1_parse_head(char *buf, size_t len, size_t max, size_t *scanned, sy_h1_head_t *h,
                     int *status);

/* Looks up a field by name, case-insensitively: its value or NULL. */
const char *sy_h1_head_field(const sy_h1_head_t *h, const char *name);
/* The value of the field `name`'s copy number `nth` (0 the first), or NULL. */
const char *sy_h1_head_field_nth(const sy_h1_head_t *h, const char *name, size_t nth);

/* A chunked body decoded in place, as its bytes arrive. */
typedef struct sy_h1_dechunk {
    size_t in;     /* raw bytes consumed */
    size_t out;    /* decoded bytes, at the start of the body */
    uint64_t left; /* data bytes still due in the current chunk */
    int state;
    size_t line;     /* length of the current size or trailer line */
    size_t trailers; /* bytes of the trailer section so far (at most SY_H1_MAX_TRAILERS) */
} sy_h1_dechunk_t;

/* The most a chunked body's trailer section may hold: past it the body is malformed (a
 * trailer section that never ends would hold a connection at no cost in memory). */
#define SY_H1_MAX_TRAILERS 16384

/* Decodes more of the chunked body body[0..len): decoded bytes are moved to the front
 * (body[0..d->out)). Returns 1 at the end of the body (d->in is then its raw length), 0
 * when more bytes are needed, -EINVAL for a malformed body, -E2BIG once the decoded body
 * would pass `max` bytes. Start with a zeroed `d`. */
int sy_h1_dechunk(sy_h1_dechunk_t *d, char *body, size_t len, size_t max);

/* Where each run of a chunked body's data is told (sy_h1_chunks). */
typedef void sy_h1_data_fn(void *arg, const char *p, size_t n);

/* Follows a chunked body without decoding it, as its bytes arrive in pieces b[0..len)
 * (each one after the last, whatever their size): the same grammar and answers as
 * sy_h1_dechunk, with no bound on its size. *used is how many of b belong to the body (at
 * the end, 1, what follows is not its); each run of data in them goes to data(arg) when
 * it is not NULL. Start with a zeroed `d`; d->out counts the data. */
int sy_h1_chunks(sy_h1_dechunk_t *d, const char *b, size_t len, size_t *used, sy_h1_data_fn *data,
                 void *arg);

/* ---- URLs (pure, like the parser) ------------------------------------------------- */

/* Percent-decodes src[0..len) into dst (NUL-terminated), '+' as a space when `plus`.
 * Returns the decoded length, -EINVAL for a bad escape, -E2BIG when dst is too small. */
ssize_t sy_pct_decode(const char *src, size_t len, bool plus, char *dst, size_t cap);
/* The next key=value of the query string at *q (decoded, '+' as space); *q moves past it.
 * Returns 1, 0 at the end, or -EINVAL (a bad escape, a NUL, or a key or value too long). */
int sy_query_next(const char **q, char *key, size_t kcap, char *val, size_t vcap);

/* ---- the server ---------------------------------------------------------------------- */

typedef struct sy_h1_server sy_h1_server_t;
typedef struct sy_h1_req sy_h1_req_t;

typedef void (*sy_h1_handler_fn)(sy_h1_req_t *req, void *arg);
/* Asked about a request whose body has not all come with its head, before any of it is
 * waited for: true to read the body, false to give the request to the handler at once
 * without it (sy_h1_body is "") and close the connection after its answer. The API uses
 * it to refuse bodies from clients without credentials, so that they hold no memory and
 * no time. The request must not be answered here. */
typedef bool (*sy_h1_head_fn)(const sy_h1_req_t *req, void *arg);

typedef struct sy_h1_opts {
    size_t max_body;       /* larger request bodies get 413 */
    size_t max_head;       /* larger request heads get 431; 0: 64 KiB */
    int idle_s;            /* a keep-alive connection waiting for its next request is closed
                            * after this; 0: 60 */
    int header_timeout_s;  /* a request head must arrive whole within this from its first
                            * byte (a new connection: from its accept), or 408; 0: 10 */
    size_t min_body_rate;  /* a body must arrive at this many bytes/s on average after
                            * header_timeout_s of grace, or 408; 0: no floor (a body that
                            * stops for idle_s still gets 408) */
    size_t max_conns;      /* open connections at most; past it the one waiting longest for a
                            * head is closed for a new one, or the new one is; 0: no cap */
    size_t first_buffer;   /* a connection's first input buffer; 0: 16 KiB (tests make it
                            * tiny so that every read grows it) */
    size_t read_room;      /* least free input room before a read, else it grows; 0: 4 KiB */
    sy_h1_head_fn on_head; /* NULL: every body is read (with the handler's arg) */
    const char *name;      /* the Server header; NULL: none */
    int accept_batch;      /* connections accepted per wake-up; 0: 64 (servers sharing one
                            * listener take few each, so that connections spread) */
    sy_loopstat_t *loop;   /* marked at the end of each of the server's callbacks; NULL */
    /* Servers sharing one listener share one count of their open connections (NULL: the
     * server's own) against max_conns, and one of their streams against max_streams (0:
     * half of max_conns). At the cap each makes room among its own connections. */
    atomic_size_t *open;
    atomic_size_t *streams;
    size_t max_streams;
} sy_h1_opts_t;

/* Listens on `host`:`port` (0: any free port) and serves each request through `handler`.
 * Returns 0 or a negative errno (-EINVAL: the host is not an IP address). */
int sy_h1_listen(sy_h1_server_t **out, struct event_base *base, const char *host, int port,
                 const sy_h1_opts_t *opts, sy_h1_handler_fn handler, void *arg);

int sy_h1_port(const sy_h1_server_t *srv);

/* A listening socket on `host`:`port` (0: any free port), for several servers to share
 * (sy_h1_listen_fd): the fd, or a negative errno as sy_h1_listen's. */
int sy_h1_bind(const char *host, int port);
/* As sy_h1_listen, accepting from `fd` (from sy_h1_bind), which the server does not own:
 * several servers, each on its own thread's loop, may share one, and the caller closes
 * it once every one of them is freed. */
int sy_h1_listen_fd(sy_h1_server_t **out, struct event_base *base, int fd, const sy_h1_opts_t *opts,
                    sy_h1_handler_fn handler, void *arg);

/* Marks the end of a callback of `base`'s current iteration in `loop` (engine/loopstat.h):
 * the iteration began when the loop's wait returned (libevent's cached time). Only from
 * a callback of `base`, on its thread. NULL `loop` is a no-op. */
void sy_h1_loop_mark(struct event_base *base, sy_loopstat_t *loop);

/* Serves `fd`, a connected stream socket, as if it had been accepted (tests and fuzzing
 * drive connections over socketpairs with it). Takes fd: it is closed on failure too.
 * Returns 0, -ENOMEM, or -EBUSY when the connection cap refused it. */
int sy_h1_adopt(sy_h1_server_t *srv, int fd);

/* Stops accepting and closes idle connections; requests in flight are answered (with
 * Connection: close) and their connections closed after. `done` runs once no connection
 * is left, or after `grace_s` seconds. Streams must be ended by their owner. */
void sy_h1_drain(sy_h1_server_t *srv, int grace_s, void (*done)(void *arg), void *arg);

/* Closes every connection (pending requests are dropped) and frees. NULL is a no-op. */
void sy_h1_free(sy_h1_server_t *srv);

/* ---- one request (valid from the handler call until its reply or stream ends) -------- */

/* The method, HEAD told as GET: a handler answers HEAD as GET, and the reply carries the
 * headers only (sy_h1_method_name still says "HEAD"). */
sy_method_t sy_h1_method(const sy_h1_req_t *req);
const char *sy_h1_method_name(const sy_h1_req_t *req);
const char *sy_h1_path(const sy_h1_req_t *req);  /* not decoded; never NULL */
const char *sy_h1_query(const sy_h1_req_t *req); /* NULL when there is none */
const char *sy_h1_header(const sy_h1_req_t *req, const char *name);
/* Copy `nth` of a header sent more than once (0 the first), or NULL past the last. */
const char *sy_h1_header_nth(const sy_h1_req_t *req, const char *name, size_t nth);
/* The body (decoded when it came chunked) and its length; "" when there is none. */
const char *sy_h1_body(const sy_h1_req_t *req, size_t *len);
/* True when the request had a body that on_head refused (sy_h1_body is ""). */
bool sy_h1_body_skipped(const sy_h1_req_t *req);

/* Adds a header to the reply. Returns -EINVAL for a name or value with CR, LF or NUL
 * (dropped), -E2BIG when the reply's extra headers pass 2 KiB. */
int sy_h1_add_header(sy_h1_req_t *req, const char *name, const char *value);

/* Answers with `status`, an optional Content-Type and the body (copied; HEAD requests
 * get the headers only). The request is finished. */
void sy_h1_reply(sy_h1_req_t *req, int status, const char *type, const char *body, size_t len);

/* An immutable body several replies can send without a copy each (a scrape answered to
 * many connections): counted, freed by whoever drops the last reference, on any thread.
 * A connection answered with one holds a reference until its last byte is written, so N
 * clients that do not read cost one body, not N. */
typedef struct sy_h1_shared sy_h1_shared_t;

/* A shared body holding a copy of data[0..len), with one reference (the caller's); NULL
 * when out of memory. */
sy_h1_shared_t *sy_h1_shared_new(const char *data, size_t len);
/* Takes one more reference; returns `s`. */
sy_h1_shared_t *sy_h1_shared_ref(sy_h1_shared_t *s);
/* Drops one reference, freeing the body with the last one. NULL is a no-op. */
void sy_h1_shared_release(sy_h1_shared_t *s);
/* True while more than one reference is held (the caller's and another's: a connection
 * still writing it). */
bool sy_h1_shared_is_held(const sy_h1_shared_t *s);
/* The body's bytes (valid while a reference is held) and their length. */
const char *sy_h1_shared_data(const sy_h1_shared_t *s, size_t *len);

/* sy_h1_reply with a shared body: the connection takes its own reference and writes from
 * it (the caller keeps its own). Pipelined requests after it wait until it is written. On
 * a detached request the sink gets the body and the shared buffer it may keep. */
void sy_h1_reply_shared(sy_h1_req_t *req, int status, const char *type, sy_h1_shared_t *body);

/* Whether one more stream may start, taking its place when it may: streams hold at most
 * half of max_conns (of all servers sharing the count: opts.streams), so that clients
 * that keep a stream open cannot take every connection. A caller told true starts the
 * stream next (the place is the connection's until it closes); told false, it answers
 * 503 instead of streaming. */
bool sy_h1_stream_room(sy_h1_req_t *req);

/* Starts a streamed reply (chunked for HTTP/1.1; until close for 1.0). `closed` is called
 * if the client goes away first; after it the request is gone. */
void sy_h1_stream_start(sy_h1_req_t *req, int status, const char *type, void (*closed)(void *arg),
                        void *arg);
/* Sends one piece of the stream. A client that stops reading is dropped (after `closed`)
 * once 1 MiB waits for it; returns -EPIPE then, 0 otherwise. */
int sy_h1_stream_send(sy_h1_req_t *req, const char *data, size_t len);
/* Ends the stream; the connection closes once it is written. */
void sy_h1_stream_end(sy_h1_req_t *req);

/* ---- handing a request to another thread ------------------------------------------- */

/* Where a detached request's reply goes: the status, Content-Type (NULL: none), the extra
 * headers added to it (CR LF terminated lines, as sy_h1_add_header wrote them) and the
 * body. Called once, on the thread that replies, from within sy_h1_reply; everything it
 * is given is freed when it returns. `shared` is the body as a shared buffer when the
 * reply gave one (sy_h1_reply_shared), else NULL: the sink may take a reference to it
 * instead of copying the body. */
typedef void (*sy_h1_sink_fn)(void *arg, int status, const char *type, const char *extra,
                              size_t extra_len, const char *body, size_t len,
                              sy_h1_shared_t *shared);

/* A copy of `req` (head, headers and body) that owns its bytes and belongs to no
 * connection, for a handler on another thread: every request function works on it, its
 * reply goes to `sink` and frees it, and it cannot stream (sy_h1_stream_room is false).
 * Reply headers added to `req` before stay there; the sink gets those added to the copy.
 * The original stays pending; its owner answers it with what the sink received. NULL when
 * out of memory. */
sy_h1_req_t *sy_h1_detach(const sy_h1_req_t *req, sy_h1_sink_fn sink, void *arg);
/* Frees a detached request that will not be answered. NULL is a no-op. */
void sy_h1_detached_free(sy_h1_req_t *req);

/* Adds header lines already checked (a sink's `extra`) to the reply; -E2BIG when the
 * reply's extra headers would pass 2 KiB (nothing added). */
int sy_h1_add_header_lines(sy_h1_req_t *req, const char *lines, size_t len);

/* The standard reason phrase of `status` ("" for an unknown one). */
const char *sy_h1_reason(int status);

#endif
