/* sqlite_internal.h - what the SQLite store's files share: the handle and the statement
 * helpers. Not an interface: only src/store/sqlite*.c include it.
 */
#ifndef SY_STORE_SQLITE_INTERNAL_H
#define SY_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

struct sy_store {
    sqlite3 *db;
    int version;
    /* Prepared once and reset after each use: the ingest path runs them per event or per
     * arm, where preparing would cost more than the insert. NULL until first used. */
    sqlite3_stmt *add_event;
    sqlite3_stmt *put_arm;
    sqlite3_stmt *put_srm;
    sqlite3_stmt *add_kpi;
    /* Fault injection (sy_store_fail_at): statements counted since the last arming, and
     * the one that fails (0: none). One compare per statement when unarmed. */
    int64_t calls;
    int64_t fail_at;
};

/* Counts one statement (begin and commit included); -EIO, before SQLite sees it, when it
 * is the one sy_store_fail_at chose. Every helper below calls it first. */
int sy_sq_fault(sy_store_t *s, sy_err_t *err);

/* -EIO with SQLite's own words: every failure of the database itself. */
int sy_sq_fail(sy_store_t *s, sy_err_t *err, const char *what);
/* Runs SQL text without rows; -EIO with SQLite's message. */
int sy_sq_exec(sy_store_t *s, const char *sql, sy_err_t *err);
/* Prepares `sql` and binds the arguments described by `types`: 'i' int64_t, 'd' double, 's'
 * const char * (NULL binds SQL NULL). Returns NULL (with `err` set) on failure. */
sqlite3_stmt *sy_sq_prepare(sy_store_t *s, sy_err_t *err, const char *sql, const char *types, ...);
/* Runs a statement that returns no rows; finalizes it. A constraint failure is -EEXIST. */
int sy_sq_run(sy_store_t *s, sqlite3_stmt *st, sy_err_t *err);
/* Prepares *st once from `sql` (kept in the handle, finalized at close); resets it and
 * clears its bindings on later calls. */
int sy_sq_cached(sy_store_t *s, sqlite3_stmt **st, const char *sql, sy_err_t *err);
/* Steps a cached statement that returns no rows and resets it. */
int sy_sq_step_cached(sy_store_t *s, sqlite3_stmt *st, sy_err_t *err);
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
int sy_sq_each(sy_store_t *s, sqlite3_stmt *st, sy_err_t *err, const char *what,
               int (*row)(sqlite3_stmt *st, const struct sy_sq_sink *to), struct sy_sq_sink to);
/* Column `col` as text (NULL for SQL NULL). */
const char *sy_sq_text(sqlite3_stmt *st, int col);

#endif
