/* postgres_experiments.c - store/postgres: experiments, their arms (aggregates), SRM p, allocation
 * changes, checkpoints, timelines and the retention job's numbers (store.h's contract; postgres.c
 * says how statements, transactions and the workspace setting work here). NOT BUILT YET: each
 * operation answers -ENOTSUP naming itself. */
#include "store/postgres_internal.h"

int sy_pg_experiment_put(sy_store_t *store, const sy_store_experiment_t *e, int64_t *id,
                         sy_err_t *err)
{
    (void)store;
    (void)e;
    (void)id;
    return sy_pg_unbuilt(err, "experiment_put");
}

int sy_pg_experiment_list(sy_store_t *store, int64_t ws, sy_store_experiment_cb cb, void *arg,
                          sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "experiment_list");
}

int sy_pg_arm_put(sy_store_t *store, const sy_store_arm_t *a, sy_err_t *err)
{
    (void)store;
    (void)a;
    return sy_pg_unbuilt(err, "arm_put");
}

int sy_pg_arm_list(sy_store_t *store, int64_t experiment, sy_store_arm_cb cb, void *arg,
                   sy_err_t *err)
{
    (void)store;
    (void)experiment;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "arm_list");
}

int sy_pg_srm_put(sy_store_t *store, int64_t experiment, double p, sy_err_t *err)
{
    (void)store;
    (void)experiment;
    (void)p;
    return sy_pg_unbuilt(err, "srm_put");
}

int sy_pg_srm_list(sy_store_t *store, sy_store_srm_cb cb, void *arg, sy_err_t *err)
{
    (void)store;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "srm_list");
}

int sy_pg_change_add(sy_store_t *store, const sy_store_change_t *c, int64_t *id, sy_err_t *err)
{
    (void)store;
    (void)c;
    (void)id;
    return sy_pg_unbuilt(err, "change_add");
}

int sy_pg_change_list(sy_store_t *store, int64_t experiment, sy_store_change_cb cb, void *arg,
                      sy_err_t *err)
{
    (void)store;
    (void)experiment;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "change_list");
}

int sy_pg_checkpoint_put(sy_store_t *store, int64_t experiment, int64_t seq, const void *data,
                         size_t len, sy_err_t *err)
{
    (void)store;
    (void)experiment;
    (void)seq;
    (void)data;
    (void)len;
    return sy_pg_unbuilt(err, "checkpoint_put");
}

int sy_pg_checkpoint_list(sy_store_t *store, sy_store_checkpoint_cb cb, void *arg, sy_err_t *err)
{
    (void)store;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "checkpoint_list");
}

int sy_pg_checkpoint_count(sy_store_t *store, int64_t *n, sy_err_t *err)
{
    (void)store;
    (void)n;
    return sy_pg_unbuilt(err, "checkpoint_count");
}

int sy_pg_checkpoint_get(sy_store_t *store, int64_t experiment, sy_store_checkpoint_cb cb,
                         void *arg, bool *found, sy_err_t *err)
{
    (void)store;
    (void)experiment;
    (void)cb;
    (void)arg;
    (void)found;
    return sy_pg_unbuilt(err, "checkpoint_get");
}

int sy_pg_timeline_put(sy_store_t *store, int64_t experiment, int64_t at_ms, const char *point,
                       bool replace, sy_err_t *err)
{
    (void)store;
    (void)experiment;
    (void)at_ms;
    (void)point;
    (void)replace;
    return sy_pg_unbuilt(err, "timeline_put");
}

int sy_pg_timeline_list(sy_store_t *store, int64_t experiment, int64_t since_ms, int64_t until_ms,
                        int64_t limit, sy_store_timeline_cb cb, void *arg, sy_err_t *err)
{
    (void)store;
    (void)experiment;
    (void)since_ms;
    (void)until_ms;
    (void)limit;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "timeline_list");
}

int sy_pg_timeline_prune(sy_store_t *store, int64_t before_ms, int64_t limit, int64_t *n,
                         sy_err_t *err)
{
    (void)store;
    (void)before_ms;
    (void)limit;
    (void)n;
    return sy_pg_unbuilt(err, "timeline_prune");
}

int sy_pg_retention_get(sy_store_t *store, const char *name, int64_t *value, sy_err_t *err)
{
    (void)store;
    (void)name;
    (void)value;
    return sy_pg_unbuilt(err, "retention_get");
}

int sy_pg_retention_put(sy_store_t *store, const char *name, int64_t value, sy_err_t *err)
{
    (void)store;
    (void)name;
    (void)value;
    return sy_pg_unbuilt(err, "retention_put");
}
