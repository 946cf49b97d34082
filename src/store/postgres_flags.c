/* postgres_flags.c - store/postgres: flags, the flag set, the audit trail, workspace settings,
 * routes and their per-minute counters (store.h's contract; postgres.c says how statements,
 * transactions and the workspace setting work here). NOT BUILT YET: each operation answers -ENOTSUP
 * naming itself. */
#include "store/postgres_internal.h"

int sy_pg_flag_put(sy_store_t *store, int64_t ws, const sy_store_flag_t *f, bool *created,
                   sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)f;
    (void)created;
    return sy_pg_unbuilt(err, "flag_put");
}

int sy_pg_flag_delete(sy_store_t *store, int64_t ws, const char *key, sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)key;
    return sy_pg_unbuilt(err, "flag_delete");
}

int sy_pg_flag_clear(sy_store_t *store, int64_t ws, sy_err_t *err)
{
    (void)store;
    (void)ws;
    return sy_pg_unbuilt(err, "flag_clear");
}

int sy_pg_flag_list(sy_store_t *store, int64_t ws, sy_store_flag_cb cb, void *arg, sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "flag_list");
}

int sy_pg_flagset_get(sy_store_t *store, int64_t ws, char **evaluators, char **metadata,
                      sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)evaluators;
    (void)metadata;
    return sy_pg_unbuilt(err, "flagset_get");
}

int sy_pg_flagset_put(sy_store_t *store, int64_t ws, const char *evaluators, const char *metadata,
                      sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)evaluators;
    (void)metadata;
    return sy_pg_unbuilt(err, "flagset_put");
}

int sy_pg_audit_add(sy_store_t *store, const sy_store_audit_t *a, sy_err_t *err)
{
    (void)store;
    (void)a;
    return sy_pg_unbuilt(err, "audit_add");
}

int sy_pg_audit_list(sy_store_t *store, const sy_store_audit_query_t *q, sy_store_audit_cb cb,
                     void *arg, sy_err_t *err)
{
    (void)store;
    (void)q;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "audit_list");
}

int sy_pg_audit_prune(sy_store_t *store, int64_t before_ms, int64_t limit, int64_t *n,
                      sy_err_t *err)
{
    (void)store;
    (void)before_ms;
    (void)limit;
    (void)n;
    return sy_pg_unbuilt(err, "audit_prune");
}

int sy_pg_setting_put(sy_store_t *store, int64_t ws, const char *name, const char *value,
                      sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)name;
    (void)value;
    return sy_pg_unbuilt(err, "setting_put");
}

int sy_pg_setting_list(sy_store_t *store, sy_store_setting_cb cb, void *arg, sy_err_t *err)
{
    (void)store;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "setting_list");
}

int sy_pg_route_put(sy_store_t *store, const sy_store_route_t *r, int64_t *id, sy_err_t *err)
{
    (void)store;
    (void)r;
    (void)id;
    return sy_pg_unbuilt(err, "route_put");
}

int sy_pg_route_delete(sy_store_t *store, int64_t ws, const char *name, sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)name;
    return sy_pg_unbuilt(err, "route_delete");
}

int sy_pg_route_list(sy_store_t *store, sy_store_route_cb cb, void *arg, sy_err_t *err)
{
    (void)store;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "route_list");
}

int sy_pg_route_minute_add(sy_store_t *store, const sy_store_route_minute_t *m, sy_err_t *err)
{
    (void)store;
    (void)m;
    return sy_pg_unbuilt(err, "route_minute_add");
}

int sy_pg_route_minute_list(sy_store_t *store, int64_t ws, const char *route, int64_t since,
                            sy_store_route_minute_cb cb, void *arg, sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)route;
    (void)since;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "route_minute_list");
}

int sy_pg_route_minute_prune(sy_store_t *store, int64_t before, int64_t *deleted, sy_err_t *err)
{
    (void)store;
    (void)before;
    (void)deleted;
    return sy_pg_unbuilt(err, "route_minute_prune");
}
