/* route_series.c - a route's counters bucketed over time; see route_series.h. */
#include "core/route_series.h"

#include <string.h>

/* Floor division: minutes before the epoch still land in the bucket that holds them. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int sy_series_plan(int64_t now_min, int64_t window_min, int64_t step_min, sy_series_plan_t *out,
                   sy_err_t *err)
{
    if (window_min < 1)
        return sy_err_set(err, -EINVAL, "window", "window is at least a minute");
    if (step_min < 1)
        return sy_err_set(err, -EINVAL, "step", "step is whole minutes, at least 1m");
    if (step_min > window_min)
        return sy_err_set(err, -EINVAL, "step", "step is at most the window (%lld min)",
                          (long long)window_min);
    int64_t points = (window_min + step_min - 1) / step_min;
    if (points > SY_SERIES_MAX_POINTS) {
        int64_t least = (window_min + SY_SERIES_MAX_POINTS - 1) / SY_SERIES_MAX_POINTS;
        return sy_err_set(err, -EINVAL, "step",
                          "step %lldm is too small for the window: at most %d buckets, so a "
                          "step of at least %lldm",
                          (long long)step_min, SY_SERIES_MAX_POINTS, (long long)least);
    }
    int64_t last = floor_div(now_min, step_min) * step_min;
    *out = (sy_series_plan_t){.first_min = last - (points - 1) * step_min,
                              .step_min = step_min,
                              .points = (size_t)points};
    return 0;
}

int64_t sy_series_index(const sy_series_plan_t *plan, int64_t minute)
{
    if (minute < plan->first_min)
        return -1;
    int64_t i = (minute - plan->first_min) / plan->step_min;
    return i < (int64_t)plan->points ? i : -1;
}

int sy_series_upstream(const char *name)
{
    static const char *const names[SY_SERIES_UPSTREAMS] = {"legacy", "new", "error"};
    for (int u = 0; name && u < SY_SERIES_UPSTREAMS; u++)
        if (strcmp(name, names[u]) == 0)
            return u;
    return -1;
}

void sy_series_cell_add(sy_series_cell_t *cell, int64_t requests, int64_t errors,
                        const int64_t *hist)
{
    cell->requests += requests;
    cell->errors += errors;
    for (int b = 0; hist && b < SY_LAT_BUCKETS; b++)
        cell->hist[b] += hist[b];
}

sy_series_point_t sy_series_cell_point(const sy_series_cell_t *cell)
{
    sy_series_point_t p = {.requests = cell->requests, .errors = cell->errors};
    if (cell->requests > 0) {
        p.error_rate = (double)cell->errors / (double)cell->requests;
        p.p50_ms = sy_lat_quantile(cell->hist, cell->requests, 0.5);
        p.p95_ms = sy_lat_quantile(cell->hist, cell->requests, 0.95);
        p.p99_ms = sy_lat_quantile(cell->hist, cell->requests, 0.99);
    }
    return p;
}
