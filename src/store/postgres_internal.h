/* postgres_internal.h - what store/postgres's files share (issue 25): the handle, running a
 * statement, transactions of one's own, the workspace setting, and the explicit paths
 * across workspaces. Only src/store/postgres*.c include it. postgres.c's opening comment
 * says how these fit together; each postgres_<group>.c holds one group of store.h's
 * operations (the table of them is at the end of postgres.c).
 *
 * Rules for an operation (every one follows them):
 * - A statement on a workspace's table runs under that workspace: sy_pg_set_workspace in
 *   the caller's transaction, or inside sy_pg_own_begin .. sy_pg_own_end when there is none.
 *   Never a policy-free path for rows: row-level security is the isolation.
 * - An operation keyed by an experiment alone finds its workspace with sy_pg_experiment_ws.
 * - An operation over every workspace (start-up lists, retention, the notifier's queue, the
 *   board's counts) reads them all in one statement through a reader across workspaces (a
 *   SECURITY DEFINER function of the owner: postgres_schema.c, READER), never a statement a
 *   workspace: with a thousand workspaces that stalled every node (issue 25). What it then
 *   writes (a prune's deletes) it writes under each workspace's setting, in the workspaces
 *   the reader named only (sy_pg_each_of). sy_pg_each_workspace is left for what is rare
 *   (an event count of an id no experiment has).
 * - Parameters are text (sy_pg_i64 formats an integer; NULL is SQL NULL), binary only
 *   through sy_pg_run_bin. Every statement goes through sy_pg_run (fault injection counts it).
 */
#ifndef SY_STORE_POSTGRES_INTERNAL_H
#define SY_STORE_POSTGRES_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store_backend.h"

/* A handle: one connection, used by one thread at a time. */
struct pg_store {
    struct sy_store base; /* first: the sy_store_t * callers hold */
    PGconn *db;           /* owned; the application role's connection */
    bool in_tx;           /* inside sy_store_begin ... commit/rollback */
    int64_t tx_ws;        /* the workspace that transaction has set; 0: none yet */
    int version;          /* the schema version, read at open */
    int64_t calls;        /* statements run since the last fail_at (fault injection) */
    int64_t fail_at;      /* the call that fails with -EIO; 0: none */
    bool leads;           /* holds the leaders' advisory lock (sy_store_lead) */
    bool listening;       /* LISTENs (sy_store_listen): again after a reconnection */
    bool log_held;        /* holds the log's lock across transactions (sy_store_log_hold) */
    int64_t log_next;     /* the log's next place in the caller's transaction, which holds
                           * the log's lock (sy_store_log_lock, an append); 0: not known */
    bool resync;          /* reconnected while listening: announcements may be lost */
    int64_t reconnect_ms; /* when the last reconnection was tried (CLOCK_MONOTONIC) */
    /* Experiment id -> workspace id, learned once each (an experiment never moves):
     * open addressing, `cap` a power of two, key 0 empty. */
    struct pg_exp_ws {
        int64_t experiment, workspace;
    } * exp_ws;
    size_t exp_ws_len, exp_ws_cap;
};

static inline struct pg_store *sy_pg(sy_store_t *store)
{
    return (struct pg_store *)store;
}

/* The largest text parameter of an int64: "-9223372036854775808" and its NUL. */
#define SY_PG_INT_TEXT 24

/* Formats `v` into `buf` (SY_PG_INT_TEXT bytes) and returns it. */
const char *sy_pg_i64(char *buf, int64_t v);
/* Room for a double's parameter text (%.17g) and its NUL. */
#define SY_PG_DOUBLE_TEXT 32
/* `v` as a float8 parameter in `buf` (SY_PG_DOUBLE_TEXT bytes) that reads back as the same
 * double (%.17g; infinities by PostgreSQL's names); -0.0 as 0, as SQLite stores a REAL;
 * NULL (SQL NULL) for a NaN, as SQLite binds it, and when `has` is false. */
const char *sy_pg_double(char *buf, bool has, double v);
/* A LIMIT's parameter: a negative one is no limit (NULL), as SQLite reads it. */
const char *sy_pg_limit(char *buf, int64_t limit);

/* Fills `err` from the connection's or the result's message: -EEXIST for a unique key,
 * -EACCES for a privilege or row-level security refusal, -EIO otherwise. */
int sy_pg_error(struct pg_store *s, const PGresult *r, sy_err_t *err);

/* Runs `sql` with `n` text parameters (NULL for SQL NULL). Returns the result (the caller
 * PQclears it) when its status is `want`; else NULL with `err` filled and *rc set. */
PGresult *sy_pg_run(struct pg_store *s, const char *sql, int n, const char *const *params,
                    ExecStatusType want, int *rc, sy_err_t *err);
/* sy_pg_run with each parameter's length and format (1: binary, as bytea takes raw bytes)
 * and the result's format (1: binary, for a bytea column's raw bytes). */
PGresult *sy_pg_run_bin(struct pg_store *s, const char *sql, int n, const char *const *params,
                        const int *lengths, const int *formats, int result_format,
                        ExecStatusType want, int *rc, sy_err_t *err);
/* sy_pg_run for a statement whose result is only its status. */
int sy_pg_exec(struct pg_store *s, const char *sql, int n, const char *const *params,
               sy_err_t *err);

/* Column `col` of row `row` as an integer (0 for NULL). */
int64_t sy_pg_int_at(const PGresult *r, int row, int col);
/* As a double (0 for NULL): PostgreSQL prints float8 with its shortest exact form. */
double sy_pg_double_at(const PGresult *r, int row, int col);
/* As text, NULL for SQL NULL. */
const char *sy_pg_text_at(const PGresult *r, int row, int col);

/* Opens a transaction of our own when the caller has none; *own says whether it did. */
int sy_pg_own_begin(struct pg_store *s, bool *own, sy_err_t *err);
/* Ends what sy_pg_own_begin opened: commits after success (rc 0), rolls back otherwise;
 * returns rc, or the commit's failure. Inside the caller's transaction it returns rc. */
int sy_pg_own_end(struct pg_store *s, bool own, int rc, sy_err_t *err);

/* Sets the transaction's workspace (SET LOCAL app.workspace_id = ws): the one thing row-level
 * security reads. Needs a transaction (sy_pg_own_begin's or the caller's). */
int sy_pg_set_workspace(struct pg_store *s, int64_t ws, sy_err_t *err);

/* One statement on workspace `ws`'s rows: in the caller's transaction or one of its own
 * (committed after it), under that workspace's setting. The result (the caller PQclears
 * it) when its status is `want`, else NULL with *rc and `err` set. */
PGresult *sy_pg_run_in(struct pg_store *s, int64_t ws, const char *sql, int n,
                       const char *const *params, ExecStatusType want, int *rc, sy_err_t *err);
/* sy_pg_run_in with sy_pg_run_bin's lengths, formats and result format. */
PGresult *sy_pg_run_in_bin(struct pg_store *s, int64_t ws, const char *sql, int n,
                           const char *const *params, const int *lengths, const int *formats,
                           int result_format, ExecStatusType want, int *rc, sy_err_t *err);
/* sy_pg_run_in for a statement without rows: the rows it changed into *changed (when not
 * NULL). */
int sy_pg_exec_in(struct pg_store *s, int64_t ws, const char *sql, int n, const char *const *params,
                  int64_t *changed, sy_err_t *err);
/* sy_pg_own_begin for a read of several statements: a transaction of its own is REPEATABLE
 * READ, so that every statement reads one snapshot (end it with sy_pg_own_end). */
int sy_pg_read_begin(struct pg_store *s, bool *own, sy_err_t *err);

/* The workspace of experiment `experiment` into *ws (-ENOENT when there is none), through
 * the SECURITY DEFINER function sy_experiment_workspace the first time, then from the
 * handle's memory. Any transaction state. */
int sy_pg_experiment_ws(struct pg_store *s, int64_t experiment, int64_t *ws, sy_err_t *err);
/* Tells the handle an experiment's workspace it just learned (an insert, a list). */
void sy_pg_experiment_ws_learn(struct pg_store *s, int64_t experiment, int64_t ws);

/* Calls `fn` for every workspace in id order, each under its own setting (set before the
 * call, in the transaction open: call it between sy_pg_own_begin and sy_pg_own_end). A
 * non-zero return of `fn` stops and is returned. The explicit path across workspaces. */
typedef int (*sy_pg_ws_fn)(struct pg_store *s, int64_t ws, void *arg, sy_err_t *err);
int sy_pg_each_workspace(struct pg_store *s, sy_pg_ws_fn fn, void *arg, sy_err_t *err);
/* sy_pg_each_workspace over the workspaces `sql` names (its first column, in its order):
 * a job that writes under each workspace's setting runs for those with work only, found in
 * one statement through a reader across workspaces (postgres_schema.c, READER). */
int sy_pg_each_of(struct pg_store *s, const char *sql, int n, const char *const *params,
                  sy_pg_ws_fn fn, void *arg, sy_err_t *err);

/* -ENOTSUP with `err` naming `op`: an operation not built yet. */
int sy_pg_unbuilt(sy_err_t *err, const char *op);

/* postgres_flags.c */
int sy_pg_flag_put(sy_store_t *store, int64_t ws, const sy_store_flag_t *f, bool *created,
                   sy_err_t *err);
int sy_pg_flag_delete(sy_store_t *store, int64_t ws, const char *key, sy_err_t *err);
int sy_pg_flag_clear(sy_store_t *store, int64_t ws, sy_err_t *err);
int sy_pg_flag_list(sy_store_t *store, int64_t ws, sy_store_flag_cb cb, void *arg, sy_err_t *err);
int sy_pg_flag_workspaces(sy_store_t *store, sy_store_id_cb cb, void *arg, sy_err_t *err);
int sy_pg_flagset_get(sy_store_t *store, int64_t ws, char **evaluators, char **metadata,
                      sy_err_t *err);
int sy_pg_flagset_put(sy_store_t *store, int64_t ws, const char *evaluators, const char *metadata,
                      sy_err_t *err);
int sy_pg_audit_add(sy_store_t *store, const sy_store_audit_t *a, sy_err_t *err);
int sy_pg_audit_list(sy_store_t *store, const sy_store_audit_query_t *q, sy_store_audit_cb cb,
                     void *arg, sy_err_t *err);
int sy_pg_audit_prune(sy_store_t *store, int64_t before_ms, int64_t limit, int64_t *n,
                      sy_err_t *err);
int sy_pg_setting_put(sy_store_t *store, int64_t ws, const char *name, const char *value,
                      sy_err_t *err);
int sy_pg_setting_delete(sy_store_t *store, int64_t ws, const char *name, sy_err_t *err);
int sy_pg_setting_list(sy_store_t *store, sy_store_setting_cb cb, void *arg, sy_err_t *err);
int sy_pg_route_put(sy_store_t *store, const sy_store_route_t *r, int64_t *id, sy_err_t *err);
int sy_pg_route_delete(sy_store_t *store, int64_t ws, const char *name, sy_err_t *err);
int sy_pg_route_list(sy_store_t *store, sy_store_route_cb cb, void *arg, sy_err_t *err);
int sy_pg_route_minute_add(sy_store_t *store, const sy_store_route_minute_t *m, sy_err_t *err);
int sy_pg_route_minute_list(sy_store_t *store, int64_t ws, const char *route, int64_t since,
                            sy_store_route_minute_cb cb, void *arg, sy_err_t *err);
int sy_pg_route_minute_prune(sy_store_t *store, int64_t before, int64_t *deleted, sy_err_t *err);

/* postgres_experiments.c */
int sy_pg_experiment_put(sy_store_t *store, const sy_store_experiment_t *e, int64_t *id,
                         sy_err_t *err);
int sy_pg_experiment_list(sy_store_t *store, int64_t ws, sy_store_experiment_cb cb, void *arg,
                          sy_err_t *err);
int sy_pg_arm_put(sy_store_t *store, const sy_store_arm_t *a, sy_err_t *err);
int sy_pg_arm_list(sy_store_t *store, int64_t experiment, sy_store_arm_cb cb, void *arg,
                   sy_err_t *err);
int sy_pg_srm_put(sy_store_t *store, int64_t experiment, double p, sy_err_t *err);
int sy_pg_srm_list(sy_store_t *store, sy_store_srm_cb cb, void *arg, sy_err_t *err);
int sy_pg_change_add(sy_store_t *store, const sy_store_change_t *c, int64_t *id, sy_err_t *err);
int sy_pg_change_list(sy_store_t *store, int64_t experiment, sy_store_change_cb cb, void *arg,
                      sy_err_t *err);
int sy_pg_checkpoint_put(sy_store_t *store, int64_t experiment, int64_t seq, const void *data,
                         size_t len, sy_err_t *err);
int sy_pg_checkpoint_list(sy_store_t *store, sy_store_checkpoint_cb cb, void *arg, sy_err_t *err);
int sy_pg_checkpoint_count(sy_store_t *store, int64_t *n, sy_err_t *err);
int sy_pg_checkpoint_get(sy_store_t *store, int64_t experiment, sy_store_checkpoint_cb cb,
                         void *arg, bool *found, sy_err_t *err);
int sy_pg_timeline_put(sy_store_t *store, int64_t experiment, int64_t at_ms, const char *point,
                       bool replace, sy_err_t *err);
int sy_pg_timeline_list(sy_store_t *store, int64_t experiment, int64_t since_ms, int64_t until_ms,
                        int64_t limit, sy_store_timeline_cb cb, void *arg, sy_err_t *err);
int sy_pg_timeline_prune(sy_store_t *store, int64_t before_ms, int64_t limit, int64_t *n,
                         sy_err_t *err);
int sy_pg_retention_get(sy_store_t *store, const char *name, int64_t *value, sy_err_t *err);
int sy_pg_retention_put(sy_store_t *store, const char *name, int64_t value, sy_err_t *err);

/* postgres_events.c */
int sy_pg_event_add(sy_store_t *store, const sy_store_event_t *e, int64_t *seq, sy_err_t *err);
int sy_pg_event_add_many(sy_store_t *store, const sy_store_event_t *ev, size_t n, int64_t *seq,
                         sy_err_t *err);
int sy_pg_event_list(sy_store_t *store, sy_store_event_cb cb, void *arg, sy_err_t *err);
int sy_pg_event_last(sy_store_t *store, int64_t *seq, sy_err_t *err);
int sy_pg_change_after(sy_store_t *store, int64_t after, sy_store_change_cb cb, void *arg,
                       sy_err_t *err);
int sy_pg_log_lock(sy_store_t *store, int64_t *head, int64_t *changes, sy_err_t *err);
int sy_pg_log_hold(sy_store_t *store, int64_t *head, sy_err_t *err);
void sy_pg_log_unlock(sy_store_t *store);
int sy_pg_log_after(sy_store_t *store, int64_t after, int64_t limit, sy_store_event_cb cb,
                    void *arg, sy_err_t *err);
int sy_pg_event_count(sy_store_t *store, int64_t experiment, int64_t *n, sy_err_t *err);
int sy_pg_event_range(sy_store_t *store, int64_t experiment, int64_t after, int64_t upto,
                      sy_store_event_cb cb, void *arg, sy_err_t *err);
int sy_pg_event_experiments(sy_store_t *store, int64_t after, int64_t upto, int64_t **out,
                            size_t *n, sy_err_t *err);
int sy_pg_event_prune(sy_store_t *store, int64_t after, int64_t upto, int64_t before_ms,
                      int64_t limit, int64_t *through, int64_t *n, sy_err_t *err);
int sy_pg_kpi_add(sy_store_t *store, const sy_store_kpi_t *k, bool *added, sy_err_t *err);
int sy_pg_kpi_window(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                     bool of_values, const sy_store_kpi_span_t *span, int64_t skip, int64_t limit,
                     int64_t *events, int64_t *successes, double *mean, sy_err_t *err);
int sy_pg_kpi_unit_sum(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                       const char *unit, int64_t from_ms, int64_t to_ms, double *sum,
                       sy_err_t *err);
int sy_pg_kpi_place(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                    bool of_values, const sy_store_kpi_span_t *span, int64_t skip,
                    sy_store_kpi_place_t *out, bool *found, sy_err_t *err);
int sy_pg_kpi_prune(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                    const sy_store_kpi_place_t *keep_from, int64_t before_ms, int64_t limit,
                    int64_t *n, sy_err_t *err);
int sy_pg_regression_put(sy_store_t *store, const sy_store_regression_t *r, bool only_new,
                         bool *created, sy_err_t *err);
int sy_pg_regression_list(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                          sy_store_regression_cb cb, void *arg, sy_err_t *err);

/* postgres_notify.c */
int sy_pg_risk_policy_put(sy_store_t *store, const sy_store_risk_policy_t *p, sy_err_t *err);
int sy_pg_risk_policy_list(sy_store_t *store, int64_t ws, const char *domain,
                           sy_store_risk_policy_cb cb, void *arg, sy_err_t *err);
int sy_pg_risk_add(sy_store_t *store, const sy_store_risk_entry_t *e, int64_t *id, sy_err_t *err);
int sy_pg_risk_reserved(sy_store_t *store, int64_t ws, const char *domain, const char *day,
                        double *sum, sy_err_t *err);
int sy_pg_risk_release(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err);
int sy_pg_risk_list(sy_store_t *store, int64_t ws, const char *day, int64_t id,
                    sy_store_risk_entry_cb cb, void *arg, sy_err_t *err);
int sy_pg_channel_add(sy_store_t *store, const sy_store_channel_t *c, int64_t *id, sy_err_t *err);
int sy_pg_channel_delete(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err);
int sy_pg_channel_list(sy_store_t *store, int64_t ws, int64_t id, sy_store_channel_cb cb, void *arg,
                       sy_err_t *err);
int sy_pg_notification_add(sy_store_t *store, const sy_store_notification_t *n, int64_t *id,
                           sy_err_t *err);
int sy_pg_notification_list(sy_store_t *store, const sy_store_notification_query_t *q,
                            sy_store_notification_cb cb, void *arg, sy_err_t *err);
int sy_pg_notification_due(sy_store_t *store, int64_t now_ms, int limit,
                           sy_store_notification_cb cb, void *arg, sy_err_t *err);
int sy_pg_notification_next(sy_store_t *store, int64_t *next_ms, sy_err_t *err);
int sy_pg_notification_update(sy_store_t *store, int64_t id, const char *status, int64_t attempts,
                              const char *last_error, int64_t next_ms, int64_t done_ms,
                              sy_err_t *err);
int sy_pg_notification_prune(sy_store_t *store, int64_t before_ms, int64_t *deleted, sy_err_t *err);
int sy_pg_notification_counts(sy_store_t *store, int64_t ws, int64_t counts[3], sy_err_t *err);
int sy_pg_notification_type_counts(sy_store_t *store, int64_t ws, const char *const *types,
                                   size_t n, int64_t (*counts)[3], sy_err_t *err);
int sy_pg_notification_type_counts_each(sy_store_t *store, const char *const *types, size_t n,
                                        sy_store_type_counts_cb cb, void *arg, sy_err_t *err);

#endif
