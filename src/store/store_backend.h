/* store_backend.h - how a backend plugs in behind store.h. Not an interface for callers:
 * only src/store/ includes it.
 *
 * A backend is one constant table of functions: `open`, and one pointer per operation of
 * store.h (sy_store_X -> X), with the same signature and the same contract (returns,
 * errors, who owns what, what needs a transaction). Its handle begins with `struct
 * sy_store`, whose one member points at that table, so the sy_store_t * callers hold is,
 * cast, the backend's own handle. store.c's sy_store_open chooses the table from the URI
 * and calls its `open`; every other sy_store_* function is one indirect call through
 * `store->ops`. No entry may be NULL: a backend that cannot do something returns a
 * negative code with `err` saying so. sy_store_sparse_put and sy_store_sparse_add touch
 * no database and have no entry: store.c has them, for every backend.
 */
#ifndef SY_STORE_STORE_BACKEND_H
#define SY_STORE_STORE_BACKEND_H

#include "store/store.h"

/* The common header of every backend's handle: its first member. */
struct sy_store {
    const struct sy_store_ops *ops; /* the backend's table; never NULL */
};

struct sy_store_ops {
    const char *name; /* "sqlite", "postgres": for messages and tests */
    /* Opens the store at `uri` as sy_store_open does: *out set, with ops pointing at this
     * table, or NULL and a negative code with `err` saying why. */
    int (*open)(sy_store_t **out, const char *uri, sy_err_t *err);
    void (*close)(sy_store_t *store);
    int (*schema_version)(sy_store_t *store);
    bool (*ping)(sy_store_t *store);
    int (*lazy_commits)(sy_store_t *store, sy_err_t *err);
    void (*fail_at)(sy_store_t *store, int64_t at);
    int64_t (*calls)(const sy_store_t *store);
    int (*begin)(sy_store_t *store, sy_err_t *err);
    int (*commit)(sy_store_t *store, sy_err_t *err);
    void (*rollback)(sy_store_t *store);
    int (*workspace_create)(sy_store_t *store, const char *name, int64_t now_ms, int64_t *id,
                            sy_err_t *err);
    int (*workspace_list)(sy_store_t *store, sy_store_workspace_cb cb, void *arg, sy_err_t *err);
    int (*workspace_find)(sy_store_t *store, const char *name, int64_t *id, sy_err_t *err);
    int (*workspace_bump)(sy_store_t *store, int64_t ws, int64_t *revision, sy_err_t *err);
    int (*token_create)(sy_store_t *store, const sy_store_token_t *t, int64_t *id, sy_err_t *err);
    int (*token_revoke)(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err);
    int (*token_list)(sy_store_t *store, int64_t ws, sy_store_token_cb cb, void *arg,
                      sy_err_t *err);
    int (*token_by_hash)(sy_store_t *store, const char *hash, sy_store_token_cb cb, void *arg,
                         sy_err_t *err);
    int (*flag_put)(sy_store_t *store, int64_t ws, const sy_store_flag_t *f, bool *created,
                    sy_err_t *err);
    int (*flag_delete)(sy_store_t *store, int64_t ws, const char *key, sy_err_t *err);
    int (*flag_clear)(sy_store_t *store, int64_t ws, sy_err_t *err);
    int (*flag_list)(sy_store_t *store, int64_t ws, sy_store_flag_cb cb, void *arg, sy_err_t *err);
    int (*flag_workspaces)(sy_store_t *store, sy_store_id_cb cb, void *arg, sy_err_t *err);
    int (*flagset_get)(sy_store_t *store, int64_t ws, char **evaluators, char **metadata,
                       sy_err_t *err);
    int (*flagset_put)(sy_store_t *store, int64_t ws, const char *evaluators, const char *metadata,
                       sy_err_t *err);
    int (*audit_add)(sy_store_t *store, const sy_store_audit_t *a, sy_err_t *err);
    int (*audit_list)(sy_store_t *store, const sy_store_audit_query_t *q, sy_store_audit_cb cb,
                      void *arg, sy_err_t *err);
    int (*experiment_put)(sy_store_t *store, const sy_store_experiment_t *e, int64_t *id,
                          sy_err_t *err);
    int (*experiment_list)(sy_store_t *store, int64_t ws, sy_store_experiment_cb cb, void *arg,
                           sy_err_t *err);
    int (*arm_put)(sy_store_t *store, const sy_store_arm_t *a, sy_err_t *err);
    int (*arm_list)(sy_store_t *store, int64_t experiment, sy_store_arm_cb cb, void *arg,
                    sy_err_t *err);
    int (*srm_put)(sy_store_t *store, int64_t experiment, double p, sy_err_t *err);
    int (*srm_list)(sy_store_t *store, sy_store_srm_cb cb, void *arg, sy_err_t *err);
    int (*change_add)(sy_store_t *store, const sy_store_change_t *c, int64_t *id, sy_err_t *err);
    int (*change_list)(sy_store_t *store, int64_t experiment, sy_store_change_cb cb, void *arg,
                       sy_err_t *err);
    int (*setting_put)(sy_store_t *store, int64_t ws, const char *name, const char *value,
                       sy_err_t *err);
    int (*setting_delete)(sy_store_t *store, int64_t ws, const char *name, sy_err_t *err);
    int (*setting_list)(sy_store_t *store, sy_store_setting_cb cb, void *arg, sy_err_t *err);
    int (*event_add)(sy_store_t *store, const sy_store_event_t *e, int64_t *seq, sy_err_t *err);
    int (*event_add_many)(sy_store_t *store, const sy_store_event_t *ev, size_t n, int64_t *seq,
                          sy_err_t *err);
    int (*event_list)(sy_store_t *store, sy_store_event_cb cb, void *arg, sy_err_t *err);
    int (*event_last)(sy_store_t *store, int64_t *seq, sy_err_t *err);
    int (*change_after)(sy_store_t *store, int64_t after, sy_store_change_cb cb, void *arg,
                        sy_err_t *err);
    int (*log_lock)(sy_store_t *store, int64_t *head, int64_t *changes, sy_err_t *err);
    int (*log_hold)(sy_store_t *store, int64_t *head, sy_err_t *err);
    void (*log_unlock)(sy_store_t *store);
    int (*log_after)(sy_store_t *store, int64_t after, int64_t limit, sy_store_event_cb cb,
                     void *arg, sy_err_t *err);
    int (*begin_read)(sy_store_t *store, sy_err_t *err);
    int (*event_count)(sy_store_t *store, int64_t experiment, int64_t *n, sy_err_t *err);
    int (*kpi_add)(sy_store_t *store, const sy_store_kpi_t *k, bool *added, sy_err_t *err);
    int (*kpi_window)(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                      bool of_values, const sy_store_kpi_span_t *span, int64_t skip, int64_t limit,
                      int64_t *events, int64_t *successes, double *mean, sy_err_t *err);
    int (*kpi_unit_sum)(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                        const char *unit, int64_t from_ms, int64_t to_ms, double *sum,
                        sy_err_t *err);
    int (*kpi_place)(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                     bool of_values, const sy_store_kpi_span_t *span, int64_t skip,
                     sy_store_kpi_place_t *out, bool *found, sy_err_t *err);
    int (*regression_put)(sy_store_t *store, const sy_store_regression_t *r, bool only_new,
                          bool *created, sy_err_t *err);
    int (*regression_list)(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                           sy_store_regression_cb cb, void *arg, sy_err_t *err);
    int (*risk_policy_put)(sy_store_t *store, const sy_store_risk_policy_t *p, sy_err_t *err);
    int (*risk_policy_list)(sy_store_t *store, int64_t ws, const char *domain,
                            sy_store_risk_policy_cb cb, void *arg, sy_err_t *err);
    int (*risk_add)(sy_store_t *store, const sy_store_risk_entry_t *e, int64_t *id, sy_err_t *err);
    int (*risk_reserved)(sy_store_t *store, int64_t ws, const char *domain, const char *day,
                         double *sum, sy_err_t *err);
    int (*risk_release)(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err);
    int (*risk_list)(sy_store_t *store, int64_t ws, const char *day, int64_t id,
                     sy_store_risk_entry_cb cb, void *arg, sy_err_t *err);
    int (*channel_add)(sy_store_t *store, const sy_store_channel_t *c, int64_t *id, sy_err_t *err);
    int (*channel_delete)(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err);
    int (*channel_list)(sy_store_t *store, int64_t ws, int64_t id, sy_store_channel_cb cb,
                        void *arg, sy_err_t *err);
    int (*notification_add)(sy_store_t *store, const sy_store_notification_t *n, int64_t *id,
                            sy_err_t *err);
    int (*notification_list)(sy_store_t *store, const sy_store_notification_query_t *q,
                             sy_store_notification_cb cb, void *arg, sy_err_t *err);
    int (*notification_due)(sy_store_t *store, int64_t now_ms, int limit,
                            sy_store_notification_cb cb, void *arg, sy_err_t *err);
    int (*notification_next)(sy_store_t *store, int64_t *next_ms, sy_err_t *err);
    int (*notification_update)(sy_store_t *store, int64_t id, const char *status, int64_t attempts,
                               const char *last_error, int64_t next_ms, int64_t done_ms,
                               sy_err_t *err);
    int (*notification_prune)(sy_store_t *store, int64_t before_ms, int64_t *deleted,
                              sy_err_t *err);
    int (*notification_counts)(sy_store_t *store, int64_t ws, int64_t counts[3], sy_err_t *err);
    int (*notification_type_counts)(sy_store_t *store, int64_t ws, const char *const *types,
                                    size_t n, int64_t (*counts)[3], sy_err_t *err);
    int (*notification_type_counts_each)(sy_store_t *store, const char *const *types, size_t n,
                                         sy_store_type_counts_cb cb, void *arg, sy_err_t *err);
    int (*route_put)(sy_store_t *store, const sy_store_route_t *r, int64_t *id, sy_err_t *err);
    int (*route_delete)(sy_store_t *store, int64_t ws, const char *name, sy_err_t *err);
    int (*route_list)(sy_store_t *store, sy_store_route_cb cb, void *arg, sy_err_t *err);
    int (*route_minute_add)(sy_store_t *store, const sy_store_route_minute_t *m, sy_err_t *err);
    int (*route_minute_list)(sy_store_t *store, int64_t ws, const char *route, int64_t since,
                             sy_store_route_minute_cb cb, void *arg, sy_err_t *err);
    int (*route_minute_prune)(sy_store_t *store, int64_t before, int64_t *deleted, sy_err_t *err);
    int (*checkpoint_put)(sy_store_t *store, int64_t experiment, int64_t seq, const void *data,
                          size_t len, sy_err_t *err);
    int (*checkpoint_list)(sy_store_t *store, sy_store_checkpoint_cb cb, void *arg, sy_err_t *err);
    int (*checkpoint_count)(sy_store_t *store, int64_t *n, sy_err_t *err);
    int (*checkpoint_get)(sy_store_t *store, int64_t experiment, sy_store_checkpoint_cb cb,
                          void *arg, bool *found, sy_err_t *err);
    int (*retention_get)(sy_store_t *store, const char *name, int64_t *value, sy_err_t *err);
    int (*retention_put)(sy_store_t *store, const char *name, int64_t value, sy_err_t *err);
    int (*event_range)(sy_store_t *store, int64_t experiment, int64_t after, int64_t upto,
                       sy_store_event_cb cb, void *arg, sy_err_t *err);
    int (*event_experiments)(sy_store_t *store, int64_t after, int64_t upto, int64_t **out,
                             size_t *n, sy_err_t *err);
    int (*event_prune)(sy_store_t *store, int64_t after, int64_t upto, int64_t before_ms,
                       int64_t limit, int64_t *through, int64_t *n, sy_err_t *err);
    int (*kpi_prune)(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                     const sy_store_kpi_place_t *keep_from, int64_t before_ms, int64_t limit,
                     int64_t *n, sy_err_t *err);
    int (*audit_prune)(sy_store_t *store, int64_t before_ms, int64_t limit, int64_t *n,
                       sy_err_t *err);
    int (*timeline_put)(sy_store_t *store, int64_t experiment, int64_t at_ms, const char *point,
                        bool replace, sy_err_t *err);
    int (*timeline_list)(sy_store_t *store, int64_t experiment, int64_t since_ms, int64_t until_ms,
                         int64_t limit, sy_store_timeline_cb cb, void *arg, sy_err_t *err);
    int (*timeline_prune)(sy_store_t *store, int64_t before_ms, int64_t limit, int64_t *n,
                          sy_err_t *err);
    int (*announce)(sy_store_t *store, int64_t ws, const char *what, int64_t revision,
                    sy_err_t *err);
    int (*listen)(sy_store_t *store, sy_err_t *err);
    int (*heard)(sy_store_t *store, sy_store_heard_cb cb, void *arg, sy_err_t *err);
    int (*heard_fd)(sy_store_t *store);
    int (*lead)(sy_store_t *store, bool *held, sy_err_t *err);
};

/* `msg` with every occurrence of `uri`'s password replaced by "****", into `out` (`cap`
 * bytes): for libpq's messages, some of which repeat the connection string. */
void sy_store_redact(const char *uri, const char *msg, char *out, size_t cap);

/* The SQLite backend (store/sqlite*.c): every URI that is not PostgreSQL's. */
extern const struct sy_store_ops sy_store_sqlite_ops;

/* The table behind `store` (tests; the store's own files). */
static inline const struct sy_store_ops *sy_store_backend(const sy_store_t *store)
{
    return store->ops;
}

#endif
