/* sock.c - the proxy's buffered non-blocking connections; see sock.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "proxy/sock.h"

/* The most one read takes: with FLOW_HIGH, what a slow peer costs a connection (conn.h). */
#define READ_SIZE 16384

static void readable(evutil_socket_t fd, short what, void *arg);
static void writable(evutil_socket_t fd, short what, void *arg);

static struct timeval tv_of(int ms)
{
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

/* Small writes go out at once (a head, then its body, are two): no Nagle delay. */
static void no_delay(evutil_socket_t fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Reading resumes once `in` is drained below read_max. */
static void drained(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
    (void)info;
    struct sy_sock *s = arg;
    if (s->paused && evbuffer_get_length(in) < s->read_max) {
        s->paused = false;
        if (s->reading)
            event_add(s->rev, s->read_timeout ? &s->read_tv : NULL);
    }
}

static struct sy_sock *sock_new(struct event_base *base, evutil_socket_t fd)
{
    struct sy_sock *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->fd = fd;
    s->rev = event_new(base, fd, EV_READ | EV_PERSIST, readable, s);
    s->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, writable, s);
    s->in = evbuffer_new();
    s->out = evbuffer_new();
    if (!s->rev || !s->wev || !s->in || !s->out) {
        s->fd = -1; /* the caller's still */
        sy_sock_free(s);
        errno = ENOMEM;
        return NULL;
    }
    no_delay(fd);
    return s;
}

struct sy_sock *sy_sock_accepted(struct event_base *base, evutil_socket_t fd)
{
    if (evutil_make_socket_nonblocking(fd) < 0)
        return NULL;
    return sock_new(base, fd);
}

struct sy_sock *sy_sock_connect(struct event_base *base, const struct sockaddr *addr, socklen_t len,
                                int timeout_ms)
{
    evutil_socket_t fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    if (connect(fd, addr, len) < 0 && errno != EINPROGRESS) {
        int e = errno;
        close(fd);
        errno = e;
        return NULL;
    }
    struct sy_sock *s = sock_new(base, fd);
    if (!s) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    /* connected or not, the first writable event tells (and reports SY_SOCK_CONNECTED) */
    s->connecting = true;
    s->write_tv = tv_of(timeout_ms);
    s->write_timeout = timeout_ms > 0;
    event_add(s->wev, s->write_timeout ? &s->write_tv : NULL);
    return s;
}

void sy_sock_free(struct sy_sock *s)
{
    if (!s)
        return;
    if (s->in) /* first: its callback may not see the events gone */
        evbuffer_free(s->in);
    if (s->out)
        evbuffer_free(s->out);
    if (s->rev)
        event_free(s->rev);
    if (s->wev)
        event_free(s->wev);
    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

void sy_sock_setcb(struct sy_sock *s, sy_sock_fn *on_read, sy_sock_fn *on_write,
                   sy_sock_event_fn *on_event, void *arg)
{
    s->on_read = on_read;
    s->on_write = on_write;
    s->on_event = on_event;
    s->arg = arg;
}

void sy_sock_read(struct sy_sock *s, bool on)
{
    s->reading = on;
    if (on && !s->paused)
        event_add(s->rev, s->read_timeout ? &s->read_tv : NULL);
    else if (!on)
        event_del(s->rev);
}

void sy_sock_timeouts(struct sy_sock *s, int read_ms, int write_ms)
{
    s->read_tv = tv_of(read_ms);
    s->read_timeout = read_ms > 0;
    s->write_tv = tv_of(write_ms);
    s->write_timeout = write_ms > 0;
    if (s->reading && !s->paused)
        event_add(s->rev, s->read_timeout ? &s->read_tv : NULL);
    if (event_pending(s->wev, EV_WRITE, NULL))
        event_add(s->wev, s->write_timeout ? &s->write_tv : NULL);
}

/* The output is not empty: the write event is armed. */
static void arm_write(struct sy_sock *s)
{
    if (!event_pending(s->wev, EV_WRITE, NULL))
        event_add(s->wev, s->write_timeout ? &s->write_tv : NULL);
}

void sy_sock_write(struct sy_sock *s, const void *p, size_t n)
{
    if (!s->connecting && evbuffer_get_length(s->out) == 0) {
        ssize_t k = send(s->fd, p, n, MSG_NOSIGNAL);
        if (k > 0) {
            p = (const char *)p + k;
            n -= (size_t)k;
            s->sent += (uint64_t)k;
        }
    }
    if (n) {
        evbuffer_add(s->out, p, n); /* an error shows at the next write */
        arm_write(s);
    }
}

void sy_sock_move(struct sy_sock *s, struct evbuffer *from, size_t n)
{
    if (!s->connecting && evbuffer_get_length(s->out) == 0) {
        int k = evbuffer_write_atmost(from, s->fd, (ev_ssize_t)n);
        if (k > 0) {
            n -= (size_t)k;
            s->sent += (uint64_t)k;
        }
    }
    if (n) {
        evbuffer_remove_buffer(from, s->out, n);
        arm_write(s);
    }
}

static void readable(evutil_socket_t fd, short what, void *arg)
{
    struct sy_sock *s = arg;
    if (what & EV_TIMEOUT) {
        sy_sock_read(s, false);
        s->on_event(s, SY_SOCK_TIMEOUT, s->arg);
        return;
    }
    size_t room = READ_SIZE, have = evbuffer_get_length(s->in);
    if (s->read_max) {
        if (have >= s->read_max) { /* drained() resumes */
            /* watched from the first pause on: no callback on every change of every input */
            if (!s->watch && !(s->watch = evbuffer_add_cb(s->in, drained, s))) {
                sy_sock_read(s, false);
                s->on_event(s, SY_SOCK_ERROR, s->arg);
                return;
            }
            s->paused = true;
            event_del(s->rev);
            return;
        }
        if (s->read_max - have < room)
            room = s->read_max - have;
    }
    struct evbuffer_iovec v[2];
    int nv = evbuffer_reserve_space(s->in, (ev_ssize_t)room, v, 2);
    if (nv <= 0) {
        sy_sock_read(s, false);
        s->on_event(s, SY_SOCK_ERROR, s->arg);
        return;
    }
    struct iovec iov[2];
    size_t left = room;
    for (int i = 0; i < nv; i++) {
        iov[i].iov_base = v[i].iov_base;
        iov[i].iov_len = v[i].iov_len < left ? v[i].iov_len : left;
        left -= iov[i].iov_len;
    }
    ssize_t n = readv(fd, iov, nv);
    if (n <= 0) {
        evbuffer_commit_space(s->in, v, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        s->error = n < 0 ? errno : 0;
        sy_sock_read(s, false);
        s->on_event(s, n == 0 ? SY_SOCK_EOF : SY_SOCK_ERROR, s->arg);
        return;
    }
    size_t got = (size_t)n;
    for (int i = 0; i < nv; i++) {
        v[i].iov_len = got < iov[i].iov_len ? got : iov[i].iov_len;
        got -= v[i].iov_len;
    }
    evbuffer_commit_space(s->in, v, nv);
    s->on_read(s, s->arg);
}

static void writable(evutil_socket_t fd, short what, void *arg)
{
    struct sy_sock *s = arg;
    if (what & EV_TIMEOUT) {
        event_del(s->wev);
        s->on_event(s, SY_SOCK_TIMEOUT, s->arg);
        return;
    }
    int what_now = 0;
    if (s->connecting) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
            s->error = err ? err : errno;
            event_del(s->wev);
            s->on_event(s, SY_SOCK_ERROR, s->arg);
            return;
        }
        s->connecting = false;
        what_now = SY_SOCK_CONNECTED;
    }
    if (evbuffer_get_length(s->out) > 0) {
        int n = evbuffer_write(s->out, fd);
        if (n > 0)
            s->sent += (uint64_t)n;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            s->error = errno;
            event_del(s->wev);
            s->on_event(s, SY_SOCK_ERROR, s->arg);
            return;
        }
    }
    if (evbuffer_get_length(s->out) == 0)
        event_del(s->wev);
    if (what_now)
        s->on_event(s, what_now, s->arg);
    else if (s->on_write && evbuffer_get_length(s->out) <= s->write_low)
        s->on_write(s, s->arg);
}
