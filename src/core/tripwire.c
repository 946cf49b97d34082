/* tripwire.c - the regression tripwire rule; see tripwire.h. */
#include "core/tripwire.h"

#include <math.h>
#include <string.h>

#include "core/experiment.h" /* sy_rule_ge */

#define NEAR_ZERO 1e-12

const char *sy_trip_action_name(sy_trip_action_t a)
{
    return a == SY_TRIP_THROTTLE ? "THROTTLE" : a == SY_TRIP_KILL_SWITCH ? "KILL_SWITCH" : NULL;
}

const char *sy_trip_measure_name(sy_trip_measure_t m)
{
    return m == SY_TRIP_RATE ? "rate" : m == SY_TRIP_MEAN ? "mean" : NULL;
}

sy_trip_action_t sy_trip_action_parse(const char *name)
{
    if (name && strcmp(name, "THROTTLE") == 0)
        return SY_TRIP_THROTTLE;
    if (name && strcmp(name, "KILL_SWITCH") == 0)
        return SY_TRIP_KILL_SWITCH;
    return 0;
}

sy_trip_measure_t sy_trip_measure_parse(const char *name)
{
    if (name && strcmp(name, "rate") == 0)
        return SY_TRIP_RATE;
    if (name && strcmp(name, "mean") == 0)
        return SY_TRIP_MEAN;
    return 0;
}

/* What sy_tripwire_eval uses of a policy. */
static int check_thresholds(const sy_trip_policy_t *p, sy_err_t *err)
{
    if (p->min_events_to_enforce < 1)
        return sy_err_set(err, -EINVAL, "min_events_to_enforce", "must be at least 1");
    if (!(p->max_drop_fraction > 0 && p->max_drop_fraction <= 100))
        return sy_err_set(err, -EINVAL, "max_drop_fraction", "must be above 0 and at most 100");
    if (!sy_trip_action_name(p->action))
        return sy_err_set(err, -EINVAL, "action", "must be THROTTLE or KILL_SWITCH");
    if (!sy_trip_measure_name(p->measure))
        return sy_err_set(err, -EINVAL, "measure", "must be rate or mean");
    return 0;
}

int sy_trip_policy_check(const sy_trip_policy_t *p, sy_err_t *err)
{
    if (p->window_events < 1 || p->window_events > 1000000)
        return sy_err_set(err, -EINVAL, "window_events", "must be 1 to 1000000 events");
    if (p->baseline_events < p->window_events || p->baseline_events > 10000000)
        return sy_err_set(err, -EINVAL, "baseline_events",
                          "must be at least window_events (%lld) and at most 10000000",
                          (long long)p->window_events);
    if (p->min_events_to_enforce < 1 || p->min_events_to_enforce > p->window_events)
        return sy_err_set(err, -EINVAL, "min_events_to_enforce",
                          "must be 1 to window_events (%lld), or it could never be enforced",
                          (long long)p->window_events);
    return check_thresholds(p, err);
}

static int check_window(const sy_kpi_window_t *w, sy_trip_measure_t m, const char *field,
                        sy_err_t *err)
{
    if (w->events < 0)
        return sy_err_set(err, -EINVAL, field, "a negative count of events");
    if (m == SY_TRIP_RATE && (w->successes < 0 || w->successes > w->events))
        return sy_err_set(err, -EINVAL, field, "successes must be 0 to events");
    if (m == SY_TRIP_MEAN && w->events > 0 && !isfinite(w->mean))
        return sy_err_set(err, -EINVAL, field, "the mean is not a finite number");
    return 0;
}

/* The relative drop of a rate from integer counts: (bs/be - ws/we) / (bs/be). */
static double rate_drop(const sy_kpi_window_t *b, const sy_kpi_window_t *w)
{
    if (b->successes == 0) /* a zero rate cannot fall */
        return 0;
    /* Counts are far below 2^53 / 2^24 in practice; long double keeps the products exact
     * up to 2^64 either way. */
    long double num = (long double)b->successes * w->events - (long double)w->successes * b->events;
    return (double)(num / ((long double)b->successes * w->events));
}

static double mean_drop(double base, double cur)
{
    if (fabs(base) <= NEAR_ZERO)
        return cur < base - NEAR_ZERO ? 1.0 : 0.0;
    return (base - cur) / fabs(base);
}

int sy_tripwire_eval(const sy_kpi_window_t *baseline, const sy_kpi_window_t *window,
                     const sy_trip_policy_t *p, sy_trip_t *out, sy_err_t *err)
{
    *out = (sy_trip_t){0};
    int rc;
    if ((rc = check_thresholds(p, err)) < 0 ||
        (rc = check_window(baseline, p->measure, "baseline", err)) < 0 ||
        (rc = check_window(window, p->measure, "window", err)) < 0)
        return rc;
    if (baseline->events > 0 && window->events > 0) {
        out->has_values = true;
        if (p->measure == SY_TRIP_RATE) {
            out->baseline = (double)baseline->successes / (double)baseline->events;
            out->current = (double)window->successes / (double)window->events;
            out->drop_fraction = rate_drop(baseline, window);
        } else {
            out->baseline = baseline->mean;
            out->current = window->mean;
            out->drop_fraction = mean_drop(baseline->mean, window->mean);
        }
    }
    out->enforced = out->has_values && window->events >= p->min_events_to_enforce &&
                    baseline->events >= p->min_events_to_enforce;
    out->triggered = out->enforced && sy_rule_ge(out->drop_fraction, p->max_drop_fraction);
    out->action = out->triggered ? p->action : 0;
    return 0;
}
