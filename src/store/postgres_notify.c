/* postgres_notify.c - store/postgres: risk policies and the ledger, notification channels and the
 * notification queue (store.h's contract; postgres.c says how statements, transactions and the
 * workspace setting work here). NOT BUILT YET: each operation answers -ENOTSUP naming itself. */
#include "store/postgres_internal.h"

int sy_pg_risk_policy_put(sy_store_t *store, const sy_store_risk_policy_t *p, sy_err_t *err)
{
    (void)store;
    (void)p;
    return sy_pg_unbuilt(err, "risk_policy_put");
}

int sy_pg_risk_policy_list(sy_store_t *store, int64_t ws, const char *domain,
                           sy_store_risk_policy_cb cb, void *arg, sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)domain;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "risk_policy_list");
}

int sy_pg_risk_add(sy_store_t *store, const sy_store_risk_entry_t *e, int64_t *id, sy_err_t *err)
{
    (void)store;
    (void)e;
    (void)id;
    return sy_pg_unbuilt(err, "risk_add");
}

int sy_pg_risk_reserved(sy_store_t *store, int64_t ws, const char *domain, const char *day,
                        double *sum, sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)domain;
    (void)day;
    (void)sum;
    return sy_pg_unbuilt(err, "risk_reserved");
}

int sy_pg_risk_release(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)id;
    (void)now_ms;
    return sy_pg_unbuilt(err, "risk_release");
}

int sy_pg_risk_list(sy_store_t *store, int64_t ws, const char *day, int64_t id,
                    sy_store_risk_entry_cb cb, void *arg, sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)day;
    (void)id;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "risk_list");
}

int sy_pg_channel_add(sy_store_t *store, const sy_store_channel_t *c, int64_t *id, sy_err_t *err)
{
    (void)store;
    (void)c;
    (void)id;
    return sy_pg_unbuilt(err, "channel_add");
}

int sy_pg_channel_delete(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)id;
    (void)now_ms;
    return sy_pg_unbuilt(err, "channel_delete");
}

int sy_pg_channel_list(sy_store_t *store, int64_t ws, int64_t id, sy_store_channel_cb cb, void *arg,
                       sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)id;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "channel_list");
}

int sy_pg_notification_add(sy_store_t *store, const sy_store_notification_t *n, int64_t *id,
                           sy_err_t *err)
{
    (void)store;
    (void)n;
    (void)id;
    return sy_pg_unbuilt(err, "notification_add");
}

int sy_pg_notification_list(sy_store_t *store, const sy_store_notification_query_t *q,
                            sy_store_notification_cb cb, void *arg, sy_err_t *err)
{
    (void)store;
    (void)q;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "notification_list");
}

int sy_pg_notification_due(sy_store_t *store, int64_t now_ms, int limit,
                           sy_store_notification_cb cb, void *arg, sy_err_t *err)
{
    (void)store;
    (void)now_ms;
    (void)limit;
    (void)cb;
    (void)arg;
    return sy_pg_unbuilt(err, "notification_due");
}

int sy_pg_notification_next(sy_store_t *store, int64_t *next_ms, sy_err_t *err)
{
    (void)store;
    (void)next_ms;
    return sy_pg_unbuilt(err, "notification_next");
}

int sy_pg_notification_update(sy_store_t *store, int64_t id, const char *status, int64_t attempts,
                              const char *last_error, int64_t next_ms, int64_t done_ms,
                              sy_err_t *err)
{
    (void)store;
    (void)id;
    (void)status;
    (void)attempts;
    (void)last_error;
    (void)next_ms;
    (void)done_ms;
    return sy_pg_unbuilt(err, "notification_update");
}

int sy_pg_notification_prune(sy_store_t *store, int64_t before_ms, int64_t *deleted, sy_err_t *err)
{
    (void)store;
    (void)before_ms;
    (void)deleted;
    return sy_pg_unbuilt(err, "notification_prune");
}

int sy_pg_notification_counts(sy_store_t *store, int64_t ws, int64_t counts[3], sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)counts;
    return sy_pg_unbuilt(err, "notification_counts");
}

int sy_pg_notification_type_counts(sy_store_t *store, int64_t ws, const char *const *types,
                                   size_t n, int64_t (*counts)[3], sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)types;
    (void)n;
    (void)counts;
    return sy_pg_unbuilt(err, "notification_type_counts");
}
