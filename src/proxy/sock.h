/* sock.h - a non-blocking TCP connection with an input and an output buffer, driven by a
 * worker's event loop: what the proxy's client and upstream connections are. Not an
 * interface: only src/proxy/ includes it.
 *
 * It does a bufferevent's job with what the proxy needs of it and no more, in fewer system
 * calls: a read is one readv into the input's free space (no FIONREAD before it), and a
 * write goes to the socket at once when nothing is queued before it, so that most requests
 * arm no write event. Its callbacks are only ever called from the event loop, never from
 * inside a sock_* call, and the sock is not touched after one returns: a callback may free
 * it.
 */
#ifndef SY_PROXY_SOCK_H
#define SY_PROXY_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>

/* What on_event is told. */
enum { SY_SOCK_EOF = 1, SY_SOCK_ERROR = 2, SY_SOCK_TIMEOUT = 4, SY_SOCK_CONNECTED = 8 };

struct sy_sock;
typedef void sy_sock_fn(struct sy_sock *s, void *arg);
typedef void sy_sock_event_fn(struct sy_sock *s, int what, void *arg);

struct sy_sock {
    evutil_socket_t fd;
    struct event *rev, *wev;
    struct evbuffer *in, *out;  /* the caller reads `in` and may move bytes out of it */
    sy_sock_fn *on_read;        /* bytes were added to `in` */
    sy_sock_fn *on_write;       /* `out` drained to write_low or below */
    sy_sock_event_fn *on_event; /* the end, an error, a timeout, or connected */
    void *arg;
    size_t read_max;                 /* 0, or reading pauses while `in` holds this much */
    struct evbuffer_cb_entry *watch; /* resumes it as `in` drains (from the first pause) */
    size_t write_low;                /* see on_write */
    struct timeval read_tv, write_tv;
    bool read_timeout, write_timeout;
    bool reading, paused, connecting;
    uint64_t sent; /* bytes the kernel took from us since it was last zeroed (the caller may) */
    int error;     /* the errno of the last SY_SOCK_ERROR (0: none known) */
};

/* A sock around the accepted socket fd (closed by sy_sock_free), not reading yet. */
struct sy_sock *sy_sock_accepted(struct event_base *base, evutil_socket_t fd);
/* A sock connecting to addr within timeout_ms; on_event gets SY_SOCK_CONNECTED, or
 * SY_SOCK_ERROR / SY_SOCK_TIMEOUT. NULL (errno set) when the attempt fails at once. */
struct sy_sock *sy_sock_connect(struct event_base *base, const struct sockaddr *addr, socklen_t len,
                                int timeout_ms);
void sy_sock_free(struct sy_sock *s);

void sy_sock_setcb(struct sy_sock *s, sy_sock_fn *on_read, sy_sock_fn *on_write,
                   sy_sock_event_fn *on_event, void *arg);
/* Reading on or off. A read timeout turns reading off before on_event is told of it. */
void sy_sock_read(struct sy_sock *s, bool on);
/* The read and write timeouts in milliseconds (0: none). */
void sy_sock_timeouts(struct sy_sock *s, int read_ms, int write_ms);

/* Sends n bytes of p: what the socket does not take at once is queued. */
void sy_sock_write(struct sy_sock *s, const void *p, size_t n);
/* The same for the first n bytes of `from`, drained from it. */
void sy_sock_move(struct sy_sock *s, struct evbuffer *from, size_t n);

static inline size_t sy_sock_queued(const struct sy_sock *s)
{
    return evbuffer_get_length(s->out);
}

#endif
