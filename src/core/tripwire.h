/* tripwire.h - the regression tripwire: is a business KPI's recent window worse than the
 * baseline before it by more than a policy allows?
 *
 * A policy watches one (domain, metric) of KPI events. Its window is the most recent
 * window_events events; its baseline the baseline_events just before them. A `rate`
 * metric compares success rates (successes / events), a `mean` metric the mean of the
 * events' values. Higher is better for both.
 *
 *   drop_fraction = (baseline - current) / |baseline|
 *
 * so a negative drop is an improvement, and a mean that flips sign drops by more than 1
 * (ROI 500 -> -300 is a drop of 1.6). Dividing by |baseline| keeps the direction right for
 * a baseline below zero (-100 -> -200 is a drop of 1.0). A baseline within 1e-12 of zero
 * has no relative scale: any fall below it counts as a drop of 1 (the whole baseline),
 * anything else as 0. Rates are computed from the integer counts, so 190/200 against
 * 38/50 is a drop of exactly 0.2.
 *
 * The tripwire is enforced only when both the window and the baseline hold at least
 * min_events_to_enforce events; it triggers when enforced and drop_fraction reaches
 * max_drop_fraction (within 1e-9, as ../shared/conformance/rules/README.md says:
 * exactly the threshold triggers).
 *
 * Pure: no clock, no allocation. Thread-safe.
 */
#ifndef SY_CORE_TRIPWIRE_H
#define SY_CORE_TRIPWIRE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

typedef enum sy_trip_action {
    SY_TRIP_THROTTLE = 1, /* disable the domain's risk policy */
    SY_TRIP_KILL_SWITCH,  /* engage the workspace's global kill switch */
} sy_trip_action_t;

typedef enum sy_trip_measure {
    SY_TRIP_RATE = 1, /* success rate of the events' `success` */
    SY_TRIP_MEAN,     /* mean of the events' `value` */
} sy_trip_measure_t;

/* "THROTTLE", "KILL_SWITCH"; "rate", "mean". NULL for anything else. */
const char *sy_trip_action_name(sy_trip_action_t a);
const char *sy_trip_measure_name(sy_trip_measure_t m);
/* The inverse: 0 when `name` is none of them. */
sy_trip_action_t sy_trip_action_parse(const char *name);
sy_trip_measure_t sy_trip_measure_parse(const char *name);

typedef struct sy_trip_policy {
    int64_t window_events;         /* 1..1,000,000 */
    int64_t baseline_events;       /* window_events..10,000,000 */
    int64_t min_events_to_enforce; /* 1..window_events */
    double max_drop_fraction;      /* (0, 100] */
    sy_trip_action_t action;
    sy_trip_measure_t measure;
} sy_trip_policy_t;

/* The specification's defaults: 50, 200, 50, 0.20, THROTTLE, rate. */
#define SY_TRIP_POLICY_DEFAULTS                                                                    \
    ((sy_trip_policy_t){.window_events = 50,                                                       \
                        .baseline_events = 200,                                                    \
                        .min_events_to_enforce = 50,                                               \
                        .max_drop_fraction = 0.20,                                                 \
                        .action = SY_TRIP_THROTTLE,                                                \
                        .measure = SY_TRIP_RATE})

/* -EINVAL with `err` naming the field (window_events, baseline_events, ...) when `p` is not
 * a policy that could ever be enforced. */
int sy_trip_policy_check(const sy_trip_policy_t *p, sy_err_t *err);

/* A window's events: `successes` for a rate, `mean` for a mean. */
typedef struct sy_kpi_window {
    int64_t events;
    int64_t successes;
    double mean;
} sy_kpi_window_t;

typedef struct sy_trip {
    bool enforced;
    bool triggered;
    sy_trip_action_t action; /* the policy's action when triggered, else 0 */
    double baseline;         /* the baseline's rate or mean (when it has events) */
    double current;          /* the window's (when it has events) */
    double drop_fraction;    /* when both have events */
    bool has_values;         /* baseline, current and drop_fraction are set */
} sy_trip_t;

/* Judges `window` against `baseline` under `p`'s measure and thresholds (its window sizes
 * are the caller's: they chose the events). -EINVAL when a threshold is out of range, a
 * window's counts are impossible (negative, successes above events) or a mean is not
 * finite. */
int sy_tripwire_eval(const sy_kpi_window_t *baseline, const sy_kpi_window_t *window,
                     const sy_trip_policy_t *p, sy_trip_t *out, sy_err_t *err);

#endif
