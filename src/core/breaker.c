/* breaker.c - the circuit breaker; see breaker.h. */
#include "core/breaker.h"

#include <errno.h>
#include <stddef.h>

int sy_breaker_check(const sy_breaker_config_t *c, sy_err_t *err)
{
    if (c->consecutive_failures < 1 || c->consecutive_failures > 1000000)
        return sy_err_set(err, -EINVAL, "consecutive_failures",
                          "consecutive_failures is 1 to 1000000");
    if (!(c->error_rate > 0) || !(c->error_rate <= 1))
        return sy_err_set(err, -EINVAL, "error_rate", "error_rate is above 0, at most 1");
    if (c->min_requests < 1 || c->min_requests > 1000000)
        return sy_err_set(err, -EINVAL, "min_requests", "min_requests is 1 to 1000000");
    if (c->window_ms < SY_BREAKER_SLOTS || c->window_ms > 3600000)
        return sy_err_set(err, -EINVAL, "window_ms", "window_ms is %d to 3600000",
                          SY_BREAKER_SLOTS);
    if (c->open_ms < 1 || c->open_ms > 3600000)
        return sy_err_set(err, -EINVAL, "open_ms", "open_ms is 1 to 3600000");
    if (c->probes < 1 || c->probes > 1000)
        return sy_err_set(err, -EINVAL, "probes", "probes is 1 to 1000");
    return 0;
}

sy_breaker_t sy_breaker_new(void)
{
    return (sy_breaker_t){.state = SY_BREAKER_CLOSED};
}

static int64_t slot_len(const sy_breaker_config_t *c)
{
    return c->window_ms / SY_BREAKER_SLOTS;
}

/* Whether slot i still lies within the window at `now_ms`. */
static bool live(const sy_breaker_t *b, const sy_breaker_config_t *c, size_t i, int64_t now_ms)
{
    return b->slot_ms[i] > 0 && now_ms - b->slot_ms[i] < c->window_ms;
}

double sy_breaker_error_rate(const sy_breaker_t *b, const sy_breaker_config_t *c, int64_t now_ms,
                             int64_t *n)
{
    int64_t ok = 0, failed = 0;
    for (size_t i = 0; i < SY_BREAKER_SLOTS; i++)
        if (live(b, c, i, now_ms)) {
            ok += b->ok[i];
            failed += b->failed[i];
        }
    *n = ok + failed;
    return *n ? (double)failed / (double)*n : 0;
}

static void clear_window(sy_breaker_t *b)
{
    for (size_t i = 0; i < SY_BREAKER_SLOTS; i++)
        b->slot_ms[i] = b->ok[i] = b->failed[i] = 0;
}

static void count(sy_breaker_t *b, const sy_breaker_config_t *c, bool ok, int64_t now_ms)
{
    int64_t len = slot_len(c), start = now_ms - now_ms % len;
    size_t i = (size_t)((now_ms / len) % SY_BREAKER_SLOTS);
    if (b->slot_ms[i] != start) { /* a slot of an earlier turn of the window */
        b->slot_ms[i] = start > 0 ? start : 1;
        b->ok[i] = b->failed[i] = 0;
    }
    (ok ? b->ok : b->failed)[i]++;
}

static int move(sy_breaker_t *b, sy_breaker_state_t to, int64_t now_ms)
{
    b->state = to;
    b->consecutive = 0;
    b->in_flight = 0;
    if (to == SY_BREAKER_OPEN)
        b->opened_ms = now_ms;
    if (to == SY_BREAKER_CLOSED)
        clear_window(b);
    return (int)to;
}

bool sy_breaker_allow(sy_breaker_t *b, const sy_breaker_config_t *c, int64_t now_ms)
{
    if (b->state == SY_BREAKER_OPEN && now_ms - b->opened_ms >= c->open_ms)
        move(b, SY_BREAKER_HALF_OPEN, now_ms);
    if (b->state == SY_BREAKER_CLOSED)
        return true;
    if (b->state == SY_BREAKER_HALF_OPEN && b->in_flight < c->probes - b->consecutive) {
        b->in_flight++;
        return true;
    }
    return false;
}

int sy_breaker_record(sy_breaker_t *b, const sy_breaker_config_t *c, bool ok, int64_t now_ms)
{
    if (b->state == SY_BREAKER_HALF_OPEN) {
        if (b->in_flight > 0)
            b->in_flight--;
        if (!ok)
            return move(b, SY_BREAKER_OPEN, now_ms);
        if (++b->consecutive >= c->probes)
            return move(b, SY_BREAKER_CLOSED, now_ms);
        return -1;
    }
    if (b->state == SY_BREAKER_OPEN) /* a request let through before it opened */
        return -1;
    count(b, c, ok, now_ms);
    b->consecutive = ok ? 0 : b->consecutive + 1;
    int64_t n;
    double rate = sy_breaker_error_rate(b, c, now_ms, &n);
    if (b->consecutive >= c->consecutive_failures ||
        (n >= c->min_requests && rate >= c->error_rate - 1e-12))
        return move(b, SY_BREAKER_OPEN, now_ms);
    return -1;
}

const char *sy_breaker_state_name(sy_breaker_state_t s)
{
    return s == SY_BREAKER_OPEN ? "open" : s == SY_BREAKER_HALF_OPEN ? "half_open" : "closed";
}
