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
    sqlite3_stmt *add_kpi;
};

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
/* Column `col` as text (NULL for SQL NULL). */
const char *sy_sq_text(sqlite3_stmt *st, int col);

#endif
