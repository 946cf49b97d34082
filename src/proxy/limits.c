/* limits.c - what a client connection owes the proxy and what it may hold; see conn.h.
 *
 * Deadlines, not idle timers: an idle timer is re-armed by every read, so a head sent a
 * byte at a time lives forever (slowloris). A request head must arrive whole within
 * header_timeout_s, counted from the accept for a connection's first request and from its
 * first byte for the next ones (an idle keep-alive connection has the sock's idle
 * timeout). A body then has header_timeout_s of grace and must keep min_body_rate bytes a
 * second on average after it: its deadline is start + grace + received / rate, plus the
 * time back-pressure held it (the upstream's slowness is not the client's). Past its
 * deadline a client gets 408 and the connection's end; one that sent nothing of a request
 * is only closed.
 *
 * One timer per connection, armed lazily: moving a deadline later arms nothing (the timer
 * finds the new deadline when it fires, and waits again), so a request whose head and body
 * come in one read costs no timer call, and a body one per header_timeout_s at most.
 *
 * The cap: each worker keeps at most its share of max_conns client connections. The ones
 * waiting for a request head (idle keep-alive, or a head on its way) are in a list in the
 * order they began to wait; a new connection past the cap closes the first of them, the
 * one that has waited longest (an attacker's dribbling heads go before anything serving a
 * request), or is closed itself when none waits.
 */
#include <errno.h>
#include <stdlib.h>

#include "proxy/conn.h"

static int64_t header_ms(const struct conn *c)
{
    return (int64_t)c->w->p->o.header_timeout_s * 1000;
}

/* ---- the deadline ---------------------------------------------------------------------------- */

/* When the client is due, now: a head's deadline as it was set, a body's with what it sent
 * so far and the time it was held. */
static int64_t due(const struct conn *c, int64_t now)
{
    if (!c->due_body)
        return c->due_ms;
    uint64_t rate = c->w->p->o.min_body_rate, got = c->body_got;
    int64_t ms = c->due_ms + c->held_ms + (c->held ? now - c->held_t0 : 0);
    uint64_t owed = got / rate * 1000 + got % rate * 1000 / rate; /* got * 1000 may overflow */
    return owed > (uint64_t)INT64_MAX - (uint64_t)ms ? INT64_MAX : ms + (int64_t)owed;
}

/* The timer fires at `at` unless it fires sooner already. */
static void arm(struct conn *c, int64_t at, int64_t now)
{
    if (c->timer_ms && c->timer_ms <= at)
        return;
    int64_t in = at > now ? at - now : 0;
    struct timeval tv = {.tv_sec = in / 1000, .tv_usec = (in % 1000) * 1000};
    if (evtimer_add(c->timer, &tv) == 0)
        c->timer_ms = at;
}

static void expired(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    c->timer_ms = 0;
    if (!c->due_ms || c->state == S_CLOSING)
        return;
    int64_t now = sy_conn_now_ms(), at = due(c, now);
    if (now < at) { /* it moved on since the timer was armed */
        arm(c, at, now);
        return;
    }
    if (!c->due_body && evbuffer_get_length(c->down->in) == 0) {
        sy_conn_free(c); /* nothing of a request came: no answer owed */
        return;
    }
    sy_conn_refuse(c, 408, "request_timeout", "the request did not arrive in time");
}

/* ---- the list of connections waiting for a head ---------------------------------------------- */

static void wait_add(struct conn *c)
{
    struct worker *w = c->w;
    if (c->waiting)
        return;
    c->waiting = true;
    c->wait_next = NULL;
    c->wait_prev = w->wait_last;
    if (w->wait_last)
        w->wait_last->wait_next = c;
    else
        w->wait_first = c;
    w->wait_last = c;
}

static void wait_del(struct conn *c)
{
    struct worker *w = c->w;
    if (!c->waiting)
        return;
    c->waiting = false;
    if (c->wait_prev)
        c->wait_prev->wait_next = c->wait_next;
    else
        w->wait_first = c->wait_next;
    if (c->wait_next)
        c->wait_next->wait_prev = c->wait_prev;
    else
        w->wait_last = c->wait_prev;
}

/* ---- the calls ------------------------------------------------------------------------------- */

/* w's count of connections moved by d: only w writes it, others read it (sy_proxy_counts). */
static void conns_add(struct worker *w, int d)
{
    size_t n = atomic_load_explicit(&w->n_conns, memory_order_relaxed);
    atomic_store_explicit(&w->n_conns, d > 0 ? n + 1 : n - 1, memory_order_relaxed);
}

bool sy_limits_admit(struct worker *w)
{
    if (!w->max_conns || atomic_load_explicit(&w->n_conns, memory_order_relaxed) < w->max_conns)
        return true;
    if (!w->wait_first) {
        sy_proxy_bump(&w->shed_new);
        return false;
    }
    sy_proxy_bump(&w->shed_waiting);
    sy_conn_free(w->wait_first);
    return true;
}

int sy_limits_init(struct conn *c)
{
    c->timer = evtimer_new(c->w->base, expired, c);
    if (!c->timer)
        return -ENOMEM;
    conns_add(c->w, 1);
    int64_t now = sy_conn_now_ms();
    c->due_ms = now + header_ms(c);
    arm(c, c->due_ms, now);
    wait_add(c);
    return 0;
}

void sy_limits_fini(struct conn *c)
{
    if (!c->timer) /* not counted yet */
        return;
    wait_del(c);
    event_free(c->timer);
    c->timer = NULL;
    conns_add(c->w, -1);
}

void sy_limits_head_wait(struct conn *c)
{
    c->due_ms = 0; /* the idle timeout until a byte comes */
    c->due_body = false;
    wait_add(c);
}

void sy_limits_head_part(struct conn *c)
{
    if (c->due_ms)
        return;
    int64_t now = sy_conn_now_ms();
    c->due_ms = now + header_ms(c);
    arm(c, c->due_ms, now);
}

void sy_limits_head_done(struct conn *c)
{
    wait_del(c);
    c->due_ms = 0;
    c->body_got = 0;
    c->held_ms = 0;
    if (c->want == 0 || !c->w->p->o.min_body_rate)
        return;
    int64_t now = sy_conn_now_ms();
    c->due_ms = now + header_ms(c);
    c->due_body = true;
    arm(c, c->due_ms, now);
}

void sy_limits_body_done(struct conn *c)
{
    c->due_ms = 0;
    c->due_body = false;
}

void sy_limits_hold(struct conn *c, bool on)
{
    if (c->held == on)
        return;
    c->held = on;
    int64_t now = sy_conn_now_ms();
    if (on)
        c->held_t0 = now;
    else
        c->held_ms += now - c->held_t0;
    sy_sock_read(c->down, !on);
}
