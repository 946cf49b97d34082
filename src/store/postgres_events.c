/* postgres_events.c - store/postgres: the event log, KPI events and regression tripwires (store.h's
 * contract; postgres.c says how statements, transactions and the workspace setting work here). NOT
 * BUILT YET: each operation answers -ENOTSUP naming itself. */
#include "store/postgres_internal.h"

int sy_pg_event_add(sy_store_t *store, const sy_store_event_t *e, int64_t *seq, sy_err_t *err)
{
    (void)store;
    (void)e;
    (void)seq;
    return sy_pg_unbuilt(err, "event_add");
}

int sy_pg_event_list(sy_store_t *store, sy_store_event_cb cb, void *arg, sy_err_t *err)
{
    (void)store;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "event_list");
}

int sy_pg_event_last(sy_store_t *store, int64_t *seq, sy_err_t *err)
{
    (void)store;
    (void)seq;
    return sy_pg_unbuilt(err, "event_last");
}

int sy_pg_event_count(sy_store_t *store, int64_t experiment, int64_t *n, sy_err_t *err)
{
    (void)store;
    (void)experiment;
    (void)n;
    return sy_pg_unbuilt(err, "event_count");
}

int sy_pg_event_range(sy_store_t *store, int64_t experiment, int64_t after, int64_t upto,
                      sy_store_event_cb cb, void *arg, sy_err_t *err)
{
    (void)store;
    (void)experiment;
    (void)after;
    (void)upto;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "event_range");
}

int sy_pg_event_experiments(sy_store_t *store, int64_t after, int64_t upto, int64_t **out,
                            size_t *n, sy_err_t *err)
{
    (void)store;
    (void)after;
    (void)upto;
    (void)out;
    (void)n;
    return sy_pg_unbuilt(err, "event_experiments");
}

int sy_pg_event_prune(sy_store_t *store, int64_t after, int64_t upto, int64_t before_ms,
                      int64_t limit, int64_t *through, int64_t *n, sy_err_t *err)
{
    (void)store;
    (void)after;
    (void)upto;
    (void)before_ms;
    (void)limit;
    (void)through;
    (void)n;
    return sy_pg_unbuilt(err, "event_prune");
}

int sy_pg_kpi_add(sy_store_t *store, const sy_store_kpi_t *k, bool *added, sy_err_t *err)
{
    (void)store;
    (void)k;
    (void)added;
    return sy_pg_unbuilt(err, "kpi_add");
}

int sy_pg_kpi_window(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                     bool of_values, const sy_store_kpi_span_t *span, int64_t skip, int64_t limit,
                     int64_t *events, int64_t *successes, double *mean, sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)domain;
    (void)metric;
    (void)of_values;
    (void)span;
    (void)skip;
    (void)limit;
    (void)events;
    (void)successes;
    (void)mean;
    return sy_pg_unbuilt(err, "kpi_window");
}

int sy_pg_kpi_place(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                    bool of_values, const sy_store_kpi_span_t *span, int64_t skip,
                    sy_store_kpi_place_t *out, bool *found, sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)domain;
    (void)metric;
    (void)of_values;
    (void)span;
    (void)skip;
    (void)out;
    (void)found;
    return sy_pg_unbuilt(err, "kpi_place");
}

int sy_pg_kpi_prune(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                    const sy_store_kpi_place_t *keep_from, int64_t before_ms, int64_t limit,
                    int64_t *n, sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)domain;
    (void)metric;
    (void)keep_from;
    (void)before_ms;
    (void)limit;
    (void)n;
    return sy_pg_unbuilt(err, "kpi_prune");
}

int sy_pg_regression_put(sy_store_t *store, const sy_store_regression_t *r, bool only_new,
                         bool *created, sy_err_t *err)
{
    (void)store;
    (void)r;
    (void)only_new;
    (void)created;
    return sy_pg_unbuilt(err, "regression_put");
}

int sy_pg_regression_list(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                          sy_store_regression_cb cb, void *arg, sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)domain;
    (void)metric;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "regression_list");
}
