/* allocation.h - guarded progressive traffic allocation, and the health rule that sends
 * traffic back.
 *
 * A step moves min(max_step_pct, room left) percentage points of traffic to the winning
 * variant, taken from the other variants in proportion to their weights, once four
 * guardrails hold (checked in this order; the first that fails refuses the step and is
 * named): the confidence reaches min_confidence, the winner's delta is above 0, the last
 * change is at least cooldown_hours old, and the workspace has made fewer than
 * max_changes_per_day changes "today" (the count sy_daily_changes keeps: it resets 24 hours
 * after the last change). A health check compares the promoted variant's
 * current health with the baseline taken at the last step: a success-rate drop, an
 * error-rate or retry-rate rise past its threshold (or a p95 latency over its limit) rolls
 * back.
 *
 * Thresholds compare as ../shared/conformance/rules/README.md says the specification
 * means them: within 1e-9 of a threshold counts as on it (core/experiment.h's
 * sy_rule_ge/sy_rule_le). Weights are integer percentage points summing to 100.
 *
 * Pure: takes the time since the last change, never reads a clock, never allocates.
 * Thread-safe.
 */
#ifndef SY_CORE_ALLOCATION_H
#define SY_CORE_ALLOCATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/experiment.h"

/* The guardrails of a step (the specification's defaults below). */
typedef struct sy_guardrails {
    double min_confidence;       /* in (0, 1) */
    int64_t max_step_pct;        /* 1..100 points per step */
    double cooldown_hours;       /* >= 0, between two changes of one experiment */
    int64_t max_changes_per_day; /* >= 1, per workspace */
} sy_guardrails_t;

#define SY_GUARDRAILS_DEFAULTS                                                                     \
    ((sy_guardrails_t){.min_confidence = 0.95,                                                     \
                       .max_step_pct = 20,                                                         \
                       .cooldown_hours = 24,                                                       \
                       .max_changes_per_day = 2})

/* -EINVAL with `err` naming the field when `g` is not sensible. */
int sy_guardrails_check(const sy_guardrails_t *g, sy_err_t *err);

/* Which guardrail refused a step. */
typedef enum sy_refusal {
    SY_REFUSED_NONE = 0,
    SY_REFUSED_MIN_CONFIDENCE, /* confidence < min_confidence */
    SY_REFUSED_DELTA,          /* delta <= 0 */
    SY_REFUSED_COOLDOWN,       /* the last change is younger than cooldown_hours */
    SY_REFUSED_MAX_CHANGES,    /* the workspace made max_changes_per_day changes today */
    SY_REFUSED_COMPLETE,       /* the winner has all the traffic already */
} sy_refusal_t;

/* "min_confidence", "delta", "cooldown", "max_changes_per_day", "complete"; NULL for none. */
const char *sy_refusal_name(sy_refusal_t r);

typedef struct sy_step_in {
    const int64_t *weights; /* n percentage points summing to 100 */
    size_t n;               /* 2..SY_EXP_MAX_ARMS */
    size_t winner;          /* index into weights */
    double confidence;      /* 0..1 */
    double delta;           /* the winner's performance delta, in % */
    bool has_last_change;   /* false: never changed */
    double hours_since_last_change;
    int64_t changes_today; /* the workspace's changes that count now (sy_daily_changes) */
} sy_step_in_t;

typedef struct sy_step {
    bool applied;
    sy_refusal_t refused_by;          /* SY_REFUSED_NONE when applied */
    int64_t step;                     /* points moved to the winner; 0 when refused */
    int64_t weights[SY_EXP_MAX_ARMS]; /* after the step (unchanged when refused) */
} sy_step_t;

/* The next step for `in` under `g`. The points the winner gains are taken from the other
 * variants in proportion to their weights; when that is not whole, the largest remainders
 * (the earlier variant on a tie) give the odd points, so the weights still sum to 100 and
 * none goes below 0. Returns 0 (a refusal is a result, not an error), or -EINVAL for
 * malformed input (weights that do not sum to 100, a bad winner, bad guardrails). */
int sy_allocation_step(const sy_step_in_t *in, const sy_guardrails_t *g, sy_step_t *out,
                       sy_err_t *err);

/* ---- the daily change limit --------------------------------------------------------------- */

#define SY_DAY_MS INT64_C(86400000)

/* Where a workspace's daily change limit stands. */
typedef struct sy_daily_changes {
    int64_t count;        /* steps that count against max_changes_per_day now (the step's
                             changes_today) */
    int64_t last_ms;      /* the newest step (when count > 0) */
    int64_t resets_at_ms; /* last_ms + 24 h: when count goes back to 0 (when count > 0) */
} sy_daily_changes_t;

/* The daily change limit's count at `now_ms` from the times of a workspace's steps
 * (`at_ms`, n of them, any order: sorted in place). The specification's limit "resets 24
 * hours after the last change": each step adds one, and the count goes back to 0 once 24
 * hours have passed since the step before (exactly 24:00:00 later it has; 23:59:59 later it
 * has not), not at UTC midnight. So max_changes_per_day steps may follow one another as
 * long as each comes less than 24 h after the one before, and once they are used up the
 * next step may come 24 h after the last. Steps after `now_ms` count as if made now.
 * -EINVAL when n > 0 and at_ms is NULL. */
int sy_daily_changes(int64_t *at_ms, size_t n, int64_t now_ms, sy_daily_changes_t *out,
                     sy_err_t *err);

/* ---- health rollback ------------------------------------------------------------------- */

/* The health of a variant over a window. */
typedef struct sy_health {
    double success_rate; /* 0..1 */
    double error_rate;   /* 0..1 */
    bool has_p95;
    double p95_ms; /* p95 latency */
    bool has_retry_rate;
    double retry_rate; /* 0..1: requests that were retries (of `requests`) */
    /* the samples behind the rates (0: not known, as for health pushed from outside) */
    int64_t outcomes; /* of success_rate */
    int64_t requests; /* of error_rate and retry_rate */
} sy_health_t;

typedef struct sy_health_thresholds {
    double success_rate_drop;   /* roll back past this drop (0.05: 5 points) */
    double error_rate_increase; /* roll back past this rise (0.03: 3 points) */
    double retry_rate_increase; /* roll back past this rise (0.05: 5 points), when both sides
                                   carry a retry rate */
    bool has_max_p95;
    double max_p95_ms; /* roll back when p95 is over this */
    /* Evidence: with the samples known on both sides, a drop (a rise) counts only when it is
     * beyond its threshold with this one-sided confidence (baseline - current - threshold
     * over the difference's standard error past the normal quantile), not on the point
     * estimates alone; 0: the point estimates decide. */
    double confidence;
} sy_health_thresholds_t;

#define SY_HEALTH_THRESHOLDS_DEFAULTS                                                              \
    ((sy_health_thresholds_t){.success_rate_drop = 0.05,                                           \
                              .error_rate_increase = 0.03,                                         \
                              .retry_rate_increase = 0.05,                                         \
                              .confidence = 0.99})

enum { /* sy_rollback_t.reasons, in the order they are reported */
       SY_ROLLBACK_SUCCESS_RATE = 1,
       SY_ROLLBACK_ERROR_RATE = 2,
       SY_ROLLBACK_P95 = 4,
       SY_ROLLBACK_RETRY_RATE = 8 /* the last */
};

typedef struct sy_rollback {
    bool rollback;
    unsigned reasons;           /* SY_ROLLBACK_* bits */
    double success_rate_drop;   /* baseline - current (negative: better) */
    double error_rate_increase; /* current - baseline (negative: better) */
    double retry_rate_increase; /* current - baseline, when both carry one (else 0) */
} sy_rollback_t;

/* Whether `current` has degraded from `baseline` past `t`: a success-rate drop, an
 * error-rate rise or (when both carry one) a retry-rate rise that *exceeds* its threshold
 * (by more than 1e-9) and, when t->confidence > 0 and both sides carry their samples, is
 * beyond it with that confidence (the retry rate judged as the error rate is, over the
 * requests); or a p95 over its limit. -EINVAL for rates outside 0..1 or bad thresholds. */
int sy_health_rollback(const sy_health_t *baseline, const sy_health_t *current,
                       const sy_health_thresholds_t *t, sy_rollback_t *out, sy_err_t *err);

/* The same, for the look-th judgement of a variant's life under watch (1, 2, ...: at most
 * one a monitor interval, counted from when it began to be watched; 0: no life-long
 * guard, as above). With the samples known and a confidence asked, a drop (a rise) counts
 * only when, besides being beyond its threshold with that confidence, it is past 0 by
 * sy_health_life_z of the look: the chance that a variant no worse than its baseline is
 * rolled back at that look is at most (1 - confidence) / (look (look + 1)), and so at most
 * 1 - confidence over its whole life, however long and however often it is judged. */
int sy_health_rollback_at(const sy_health_t *baseline, const sy_health_t *current,
                          const sy_health_thresholds_t *t, int64_t look, sy_rollback_t *out,
                          sy_err_t *err);

/* The normal quantile of the look-th judgement's share of the life-long error,
 * (1 - confidence) / (look (look + 1)): 2.58 at the first look of 0.99, 5.6 at the 1,000th,
 * 6.6 at the 20,000th (14 days of minutes). */
double sy_health_life_z(double confidence, int64_t look);

/* Whether a window holds enough samples to be judged at `look`: each rate's standard error
 * small enough that a breach of its threshold alone clears the life-long z (the window is
 * threshold / (z_life - z_confidence) standard errors from 0), so that the guard costs a
 * breach past its threshold nothing; or, where the baseline's own samples keep the error
 * above that, once the window is as informative as the baseline (growing it further would
 * not help: the life-long z then decides). Until then the window keeps growing, though a
 * rollback sy_health_rollback_at finds in it (a collapse, a p95 over its limit) is acted
 * on at once. True without a confidence, a look, or known samples. */
bool sy_health_window_ready(const sy_health_t *baseline, const sy_health_t *window,
                            const sy_health_thresholds_t *t, int64_t look);

/* "success_rate_drop", "error_rate_increase", "p95_latency", "retry_rate_increase" for one
 * SY_ROLLBACK_* bit. */
const char *sy_rollback_reason_name(unsigned bit);

#endif
