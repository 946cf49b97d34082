/* route_series.h - a route's counters over time: the per-minute counters the server stores
 * (requests, errors and a latency histogram per upstream) summed into buckets of a whole
 * number of minutes.
 *
 * A bucket's histogram is the bucket-by-bucket sum of its minutes' histograms, so its
 * quantiles are those of all its latencies together (to the histogram's 10 %: latency.h),
 * never an average of the minutes' quantiles, and a bucket of one minute says exactly what
 * that minute says in GET .../stats.
 *
 * Buckets are aligned: with a step of S minutes they start at Unix minutes that are
 * multiples of S, so the same bucket holds the same minutes whenever it is asked for. A
 * window of W minutes ending at minute `now` (the current one, still filling) is covered by
 * ceil(W / S) buckets, the last the one holding `now`; at most SY_SERIES_MAX_POINTS.
 *
 * Pure: no clock (now is an argument), no allocation (the caller owns every cell). Safe to
 * call from any thread.
 */
#ifndef SY_CORE_ROUTE_SERIES_H
#define SY_CORE_ROUTE_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/latency.h"

#define SY_SERIES_MAX_POINTS 1000

/* The upstreams a series has, in this order: requests served by legacy, by new, and those
 * the proxy answered an error for itself. */
enum { SY_SERIES_LEGACY, SY_SERIES_NEW, SY_SERIES_ERROR, SY_SERIES_UPSTREAMS };

/* Which buckets a series has. */
typedef struct sy_series_plan {
    int64_t first_min; /* the first bucket's start, in Unix minutes (a multiple of step_min) */
    int64_t step_min;  /* minutes per bucket, >= 1 */
    size_t points;     /* buckets, 1 to SY_SERIES_MAX_POINTS */
} sy_series_plan_t;

/* One bucket of one upstream, as it is summed. */
typedef struct sy_series_cell {
    int64_t requests, errors;
    int64_t hist[SY_LAT_BUCKETS]; /* latencies per latency.h bucket */
} sy_series_cell_t;

/* A cell's figures. */
typedef struct sy_series_point {
    int64_t requests, errors;
    double error_rate;             /* errors / requests; 0 with no requests */
    double p50_ms, p95_ms, p99_ms; /* latency quantiles, ms; 0 with no requests */
} sy_series_point_t;

/* The buckets of a window of `window_min` minutes ending at minute `now_min`, `step_min`
 * minutes each, into *out. 0; -EINVAL naming "window" when it is under a minute, "step"
 * when it is under a minute, longer than the window, or so short that the window would
 * need more than SY_SERIES_MAX_POINTS buckets (the message says the least step that fits).
 * *out is untouched on error. */
int sy_series_plan(int64_t now_min, int64_t window_min, int64_t step_min, sy_series_plan_t *out,
                   sy_err_t *err);

/* The bucket of Unix minute `minute`, or -1 when the plan holds no bucket for it. */
int64_t sy_series_index(const sy_series_plan_t *plan, int64_t minute);

/* The upstream index of "legacy", "new" or "error"; -1 for anything else (NULL included). */
int sy_series_upstream(const char *name);

/* Adds a minute's counts to a cell: its requests, errors and histogram (`hist`, holding
 * SY_LAT_BUCKETS counts; NULL for none). */
void sy_series_cell_add(sy_series_cell_t *cell, int64_t requests, int64_t errors,
                        const int64_t *hist);

/* The figures of a cell: the quantiles by sy_lat_quantile over its requests (the rule of
 * GET .../stats?window=). */
sy_series_point_t sy_series_cell_point(const sy_series_cell_t *cell);

#endif
