/* sqlite_internal.h - what the SQLite store's files share: the handle, the statement
 * helpers and the backend's operations (sy_sq_X is store.h's sy_store_X, reached through
 * sy_store_sqlite_ops: store_backend.h). Not an interface: only src/store/sqlite*.c
 * include it.
 */
#ifndef SY_STORE_SQLITE_INTERNAL_H
#define SY_STORE_SQLITE_INTERNAL_H

#include <assert.h>
#include <sqlite3.h>

#include "store/store_backend.h"

struct sqlite_store {
    struct sy_store base; /* first: a sy_store_t * of this backend points here */
    sqlite3 *db;
    int version;
    /* Prepared once and reset after each use: the ingest path runs them per event or per
     * arm, where preparing would cost more than the insert. NULL until first used. */
    sqlite3_stmt *add_event;
    sqlite3_stmt *put_arm;
    sqlite3_stmt *put_srm;
    sqlite3_stmt *add_kpi;
    sqlite3_stmt *kpi_unit_sum;
    /* Fault injection (sy_store_fail_at): statements counted since the last arming, and
     * the one that fails (0: none). One compare per statement when unarmed. */
    int64_t calls;
    int64_t fail_at;
};

/* The SQLite handle behind `store`, which store.c only ever hands to this backend. */
static inline struct sqlite_store *sq(sy_store_t *store)
{
    assert(store->ops == &sy_store_sqlite_ops);
    return (struct sqlite_store *)store;
}

static inline const struct sqlite_store *csq(const sy_store_t *store)
{
    assert(store->ops == &sy_store_sqlite_ops);
    return (const struct sqlite_store *)store;
}

/* The backend's operations: store.h's, same contracts (sqlite.c's table lists them). */
int sy_sq_open(sy_store_t **out, const char *uri, sy_err_t *err);
void sy_sq_close(sy_store_t *store);
int sy_sq_schema_version(sy_store_t *store);
bool sy_sq_ping(sy_store_t *store);
int sy_sq_lazy_commits(sy_store_t *store, sy_err_t *err);
void sy_sq_fail_at(sy_store_t *store, int64_t at);
int64_t sy_sq_calls(const sy_store_t *store);
int sy_sq_begin(sy_store_t *store, sy_err_t *err);
int sy_sq_commit(sy_store_t *store, sy_err_t *err);
void sy_sq_rollback(sy_store_t *store);
int sy_sq_workspace_create(sy_store_t *store, const char *name, int64_t now_ms, int64_t *id,
                           sy_err_t *err);
int sy_sq_workspace_list(sy_store_t *store, sy_store_workspace_cb cb, void *arg, sy_err_t *err);
int sy_sq_workspace_find(sy_store_t *store, const char *name, int64_t *id, sy_err_t *err);
int sy_sq_workspace_bump(sy_store_t *store, int64_t ws, int64_t *revision, sy_err_t *err);
int sy_sq_token_create(sy_store_t *store, const sy_store_token_t *t, int64_t *id, sy_err_t *err);
int sy_sq_token_revoke(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err);
int sy_sq_token_list(sy_store_t *store, int64_t ws, sy_store_token_cb cb, void *arg, sy_err_t *err);
int sy_sq_token_by_hash(sy_store_t *store, const char *hash, sy_store_token_cb cb, void *arg,
                        sy_err_t *err);
int sy_sq_flag_put(sy_store_t *store, int64_t ws, const sy_store_flag_t *f, bool *created,
                   sy_err_t *err);
int sy_sq_flag_delete(sy_store_t *store, int64_t ws, const char *key, sy_err_t *err);
int sy_sq_flag_clear(sy_store_t *store, int64_t ws, sy_err_t *err);
int sy_sq_flag_list(sy_store_t *store, int64_t ws, sy_store_flag_cb cb, void *arg, sy_err_t *err);
int sy_sq_flag_workspaces(sy_store_t *store, sy_store_id_cb cb, void *arg, sy_err_t *err);
int sy_sq_flagset_get(sy_store_t *store, int64_t ws, char **evaluators, char **metadata,
                      sy_err_t *err);
int sy_sq_flagset_put(sy_store_t *store, int64_t ws, const char *evaluators, const char *metadata,
                      sy_err_t *err);
int sy_sq_audit_add(sy_store_t *store, const sy_store_audit_t *a, sy_err_t *err);
int sy_sq_audit_list(sy_store_t *store, const sy_store_audit_query_t *q, sy_store_audit_cb cb,
                     void *arg, sy_err_t *err);
int sy_sq_experiment_put(sy_store_t *store, const sy_store_experiment_t *e, int64_t *id,
                         sy_err_t *err);
int sy_sq_experiment_list(sy_store_t *store, int64_t ws, sy_store_experiment_cb cb, void *arg,
                          sy_err_t *err);
int sy_sq_arm_put(sy_store_t *store, const sy_store_arm_t *a, sy_err_t *err);
int sy_sq_arm_list(sy_store_t *store, int64_t experiment, sy_store_arm_cb cb, void *arg,
                   sy_err_t *err);
int sy_sq_srm_put(sy_store_t *store, int64_t experiment, double p, sy_err_t *err);
int sy_sq_srm_list(sy_store_t *store, sy_store_srm_cb cb, void *arg, sy_err_t *err);
int sy_sq_change_add(sy_store_t *store, const sy_store_change_t *c, int64_t *id, sy_err_t *err);
int sy_sq_change_list(sy_store_t *store, int64_t experiment, sy_store_change_cb cb, void *arg,
                      sy_err_t *err);
int sy_sq_setting_put(sy_store_t *store, int64_t ws, const char *name, const char *value,
                      sy_err_t *err);
int sy_sq_setting_delete(sy_store_t *store, int64_t ws, const char *name, sy_err_t *err);
int sy_sq_setting_list(sy_store_t *store, sy_store_setting_cb cb, void *arg, sy_err_t *err);
int sy_sq_event_add(sy_store_t *store, const sy_store_event_t *e, int64_t *seq, sy_err_t *err);
int sy_sq_event_add_many(sy_store_t *store, const sy_store_event_t *ev, size_t n, int64_t *seq,
                         sy_err_t *err);
int sy_sq_event_list(sy_store_t *store, sy_store_event_cb cb, void *arg, sy_err_t *err);
int sy_sq_event_last(sy_store_t *store, int64_t *seq, sy_err_t *err);
int sy_sq_event_count(sy_store_t *store, int64_t experiment, int64_t *n, sy_err_t *err);
int sy_sq_kpi_add(sy_store_t *store, const sy_store_kpi_t *k, bool *added, sy_err_t *err);
int sy_sq_kpi_unit_sum(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                       const char *unit, int64_t from_ms, int64_t to_ms, double *sum,
                       sy_err_t *err);
int sy_sq_kpi_window(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                     bool of_values, const sy_store_kpi_span_t *span, int64_t skip, int64_t limit,
                     int64_t *events, int64_t *successes, double *mean, sy_err_t *err);
int sy_sq_kpi_place(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                    bool of_values, const sy_store_kpi_span_t *span, int64_t skip,
                    sy_store_kpi_place_t *out, bool *found, sy_err_t *err);
int sy_sq_regression_put(sy_store_t *store, const sy_store_regression_t *r, bool only_new,
                         bool *created, sy_err_t *err);
int sy_sq_regression_list(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                          sy_store_regression_cb cb, void *arg, sy_err_t *err);
int sy_sq_risk_policy_put(sy_store_t *store, const sy_store_risk_policy_t *p, sy_err_t *err);
int sy_sq_risk_policy_list(sy_store_t *store, int64_t ws, const char *domain,
                           sy_store_risk_policy_cb cb, void *arg, sy_err_t *err);
int sy_sq_risk_add(sy_store_t *store, const sy_store_risk_entry_t *e, int64_t *id, sy_err_t *err);
int sy_sq_risk_reserved(sy_store_t *store, int64_t ws, const char *domain, const char *day,
                        double *sum, sy_err_t *err);
int sy_sq_risk_release(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err);
int sy_sq_risk_list(sy_store_t *store, int64_t ws, const char *day, int64_t id,
                    sy_store_risk_entry_cb cb, void *arg, sy_err_t *err);
int sy_sq_channel_add(sy_store_t *store, const sy_store_channel_t *c, int64_t *id, sy_err_t *err);
int sy_sq_channel_delete(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err);
int sy_sq_channel_list(sy_store_t *store, int64_t ws, int64_t id, sy_store_channel_cb cb, void *arg,
                       sy_err_t *err);
int sy_sq_notification_add(sy_store_t *store, const sy_store_notification_t *n, int64_t *id,
                           sy_err_t *err);
int sy_sq_notification_list(sy_store_t *store, const sy_store_notification_query_t *q,
                            sy_store_notification_cb cb, void *arg, sy_err_t *err);
int sy_sq_notification_due(sy_store_t *store, int64_t now_ms, int limit,
                           sy_store_notification_cb cb, void *arg, sy_err_t *err);
int sy_sq_notification_next(sy_store_t *store, int64_t *next_ms, sy_err_t *err);
int sy_sq_notification_update(sy_store_t *store, int64_t id, const char *status, int64_t attempts,
                              const char *last_error, int64_t next_ms, int64_t done_ms,
                              sy_err_t *err);
int sy_sq_notification_prune(sy_store_t *store, int64_t before_ms, int64_t *deleted, sy_err_t *err);
int sy_sq_notification_counts(sy_store_t *store, int64_t ws, int64_t counts[3], sy_err_t *err);
int sy_sq_notification_type_counts(sy_store_t *store, int64_t ws, const char *const *types,
                                   size_t n, int64_t (*counts)[3], sy_err_t *err);
int sy_sq_notification_type_counts_each(sy_store_t *store, const char *const *types, size_t n,
                                        sy_store_type_counts_cb cb, void *arg, sy_err_t *err);
int sy_sq_route_put(sy_store_t *store, const sy_store_route_t *r, int64_t *id, sy_err_t *err);
int sy_sq_route_delete(sy_store_t *store, int64_t ws, const char *name, sy_err_t *err);
int sy_sq_route_list(sy_store_t *store, sy_store_route_cb cb, void *arg, sy_err_t *err);
int sy_sq_route_minute_add(sy_store_t *store, const sy_store_route_minute_t *m, sy_err_t *err);
int sy_sq_route_minute_list(sy_store_t *store, int64_t ws, const char *route, int64_t since,
                            sy_store_route_minute_cb cb, void *arg, sy_err_t *err);
int sy_sq_route_minute_prune(sy_store_t *store, int64_t before, int64_t *deleted, sy_err_t *err);
int sy_sq_checkpoint_put(sy_store_t *store, int64_t experiment, int64_t seq, const void *data,
                         size_t len, sy_err_t *err);
int sy_sq_checkpoint_list(sy_store_t *store, sy_store_checkpoint_cb cb, void *arg, sy_err_t *err);
int sy_sq_checkpoint_count(sy_store_t *store, int64_t *n, sy_err_t *err);
int sy_sq_checkpoint_get(sy_store_t *store, int64_t experiment, sy_store_checkpoint_cb cb,
                         void *arg, bool *found, sy_err_t *err);
int sy_sq_retention_get(sy_store_t *store, const char *name, int64_t *value, sy_err_t *err);
int sy_sq_retention_put(sy_store_t *store, const char *name, int64_t value, sy_err_t *err);
int sy_sq_change_after(sy_store_t *store, int64_t after, sy_store_change_cb cb, void *arg,
                       sy_err_t *err);
int sy_sq_log_after(sy_store_t *store, int64_t after, int64_t limit, sy_store_event_cb cb,
                    void *arg, sy_err_t *err);
int sy_sq_event_range(sy_store_t *store, int64_t experiment, int64_t after, int64_t upto,
                      sy_store_event_cb cb, void *arg, sy_err_t *err);
int sy_sq_event_experiments(sy_store_t *store, int64_t after, int64_t upto, int64_t **out,
                            size_t *n, sy_err_t *err);
int sy_sq_event_prune(sy_store_t *store, int64_t after, int64_t upto, int64_t before_ms,
                      int64_t limit, int64_t *through, int64_t *n, sy_err_t *err);
int sy_sq_kpi_prune(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                    const sy_store_kpi_place_t *keep_from, int64_t before_ms, int64_t limit,
                    int64_t *n, sy_err_t *err);
int sy_sq_audit_prune(sy_store_t *store, int64_t before_ms, int64_t limit, int64_t *n,
                      sy_err_t *err);
int sy_sq_timeline_put(sy_store_t *store, int64_t experiment, int64_t at_ms, const char *point,
                       bool replace, sy_err_t *err);
int sy_sq_timeline_list(sy_store_t *store, int64_t experiment, int64_t since_ms, int64_t until_ms,
                        int64_t limit, sy_store_timeline_cb cb, void *arg, sy_err_t *err);
int sy_sq_timeline_prune(sy_store_t *store, int64_t before_ms, int64_t limit, int64_t *n,
                         sy_err_t *err);

/* Counts one statement (begin and commit included); -EIO, before SQLite sees it, when it
 * is the one sy_store_fail_at chose. Every helper below calls it first. */
int sy_sq_fault(struct sqlite_store *s, sy_err_t *err);

/* -EIO with SQLite's own words: every failure of the database itself. */
int sy_sq_fail(struct sqlite_store *s, sy_err_t *err, const char *what);
/* Runs SQL text without rows; -EIO with SQLite's message. */
int sy_sq_exec(struct sqlite_store *s, const char *sql, sy_err_t *err);
/* Prepares `sql` and binds the arguments described by `types`: 'i' int64_t, 'd' double, 's'
 * const char * (NULL binds SQL NULL). Returns NULL (with `err` set) on failure. */
sqlite3_stmt *sy_sq_prepare(struct sqlite_store *s, sy_err_t *err, const char *sql,
                            const char *types, ...);
/* Runs a statement that returns no rows; finalizes it. A constraint failure is -EEXIST. */
int sy_sq_run(struct sqlite_store *s, sqlite3_stmt *st, sy_err_t *err);
/* Prepares *st once from `sql` (kept in the handle, finalized at close); resets it and
 * clears its bindings on later calls. */
int sy_sq_cached(struct sqlite_store *s, sqlite3_stmt **st, const char *sql, sy_err_t *err);
/* Steps a cached statement that returns no rows and resets it. */
int sy_sq_step_cached(struct sqlite_store *s, sqlite3_stmt *st, sy_err_t *err);
/* Where rows go: the caller's callback (of the row's kind), its argument, and the call's
 * error (for a row that is itself bad). */
struct sy_sq_sink {
    union {
        sy_store_workspace_cb workspace;
        sy_store_token_cb token;
        sy_store_flag_cb flag;
        sy_store_audit_cb audit;
        sy_store_experiment_cb experiment;
        sy_store_arm_cb arm;
        sy_store_srm_cb srm;
        sy_store_change_cb change;
        sy_store_setting_cb setting;
        sy_store_event_cb event;
        sy_store_regression_cb regression;
        sy_store_risk_policy_cb risk_policy;
        sy_store_risk_entry_cb risk_entry;
        sy_store_channel_cb channel;
        sy_store_notification_cb notification;
        sy_store_route_cb route;
        sy_store_route_minute_cb route_minute;
    } cb;
    void *arg;
    sy_err_t *err;
};
/* Steps `st` (NULL: its preparation failed, `err` says why) to its end, calling `row` for
 * each row; finalizes it. A non-zero return of `row` stops and is returned; a failure of
 * SQLite itself is -EIO naming `what`. */
int sy_sq_each(struct sqlite_store *s, sqlite3_stmt *st, sy_err_t *err, const char *what,
               int (*row)(sqlite3_stmt *st, const struct sy_sq_sink *to), struct sy_sq_sink to);
/* Column `col` as text (NULL for SQL NULL). */
const char *sy_sq_text(sqlite3_stmt *st, int col);

#endif
