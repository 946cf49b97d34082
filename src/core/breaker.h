/* breaker.h - the circuit breaker in front of a route's `new` upstream.
 *
 * Closed, it lets every request through and counts outcomes in a sliding window of
 * SY_BREAKER_SLOTS slots spanning `window_ms`. It opens when `consecutive_failures`
 * requests in a row fail, or when the window holds at least `min_requests` outcomes and
 * their error rate reaches `error_rate`. Open, it lets nothing through for `open_ms`; then
 * it is half-open and lets `probes` requests through at a time: that many successes in a
 * row close it (with an empty window), one failure opens it again.
 *
 * Pure: the clock comes in as `now_ms`; no allocation. Not thread-safe by itself: one
 * owner at a time (the caller serialises).
 */
#ifndef SY_CORE_BREAKER_H
#define SY_CORE_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define SY_BREAKER_SLOTS 10

typedef struct sy_breaker_config {
    int64_t consecutive_failures; /* >= 1 */
    double error_rate;            /* (0, 1] */
    int64_t min_requests;         /* >= 1: fewer in the window never open it by rate */
    int64_t window_ms;            /* >= SY_BREAKER_SLOTS */
    int64_t open_ms;              /* >= 1 */
    int64_t probes;               /* >= 1 */
} sy_breaker_config_t;

#define SY_BREAKER_DEFAULTS                                                                        \
    ((sy_breaker_config_t){.consecutive_failures = 5,                                              \
                           .error_rate = 0.5,                                                      \
                           .min_requests = 20,                                                     \
                           .window_ms = 10000,                                                     \
                           .open_ms = 5000,                                                        \
                           .probes = 3})

typedef enum sy_breaker_state {
    SY_BREAKER_CLOSED,
    SY_BREAKER_OPEN,
    SY_BREAKER_HALF_OPEN,
} sy_breaker_state_t;

typedef struct sy_breaker {
    sy_breaker_state_t state;
    int64_t consecutive; /* failures in a row (closed), successes in a row (half-open) */
    int64_t opened_ms;
    int64_t in_flight;                 /* probes let through and not yet recorded (half-open) */
    int64_t slot_ms[SY_BREAKER_SLOTS]; /* start of the slot's period; 0: empty */
    int64_t ok[SY_BREAKER_SLOTS], failed[SY_BREAKER_SLOTS];
} sy_breaker_t;

/* -EINVAL (naming the field) for a config out of the ranges above. */
int sy_breaker_check(const sy_breaker_config_t *c, sy_err_t *err);

/* A closed breaker. */
sy_breaker_t sy_breaker_new(void);

/* Whether a request may go through at `now_ms` (open turns half-open once `open_ms` has
 * passed; half-open counts the probe it lets through). */
bool sy_breaker_allow(sy_breaker_t *b, const sy_breaker_config_t *c, int64_t now_ms);

/* Records the outcome of a request let through. Returns the state it moved to, or -1 when
 * it did not move. */
int sy_breaker_record(sy_breaker_t *b, const sy_breaker_config_t *c, bool ok, int64_t now_ms);

/* The error rate of the window at `now_ms` and its outcomes (into *n). */
double sy_breaker_error_rate(const sy_breaker_t *b, const sy_breaker_config_t *c, int64_t now_ms,
                             int64_t *n);

/* "closed", "open", "half_open". */
const char *sy_breaker_state_name(sy_breaker_state_t s);

#endif
