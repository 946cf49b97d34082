/* sqlite_timeline.c - experiments' timelines in SQLite (migration 14 in sqlite.c): one row
 * per (experiment, at_ms), the point as the engine's JSON text; see store.h. */
#include "store/sqlite_internal.h"

int sy_sq_timeline_put(sy_store_t *store, int64_t experiment, int64_t at_ms, const char *point,
                       bool replace, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_run(s,
                     sy_sq_prepare(s, err,
                                   replace ? "INSERT OR REPLACE INTO experiment_timeline"
                                             " (experiment_id, at_ms, point) VALUES (?, ?, ?)"
                                           : "INSERT OR IGNORE INTO experiment_timeline"
                                             " (experiment_id, at_ms, point) VALUES (?, ?, ?)",
                                   "iis", experiment, at_ms, point),
                     err);
}

int sy_sq_timeline_list(sy_store_t *store, int64_t experiment, int64_t since_ms, int64_t until_ms,
                        int64_t limit, sy_store_timeline_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(s, err,
                                     "SELECT at_ms, point FROM experiment_timeline WHERE"
                                     " experiment_id = ? AND at_ms >= ? AND at_ms <= ?"
                                     " ORDER BY at_ms LIMIT ?",
                                     "iiii", experiment, since_ms, until_ms, limit);
    if (!st)
        return err ? err->code : -EIO;
    int rc, out = 0;
    while (out == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *p = sy_sq_text(st, 1);
        out = cb(arg, sqlite3_column_int64(st, 0), p ? p : "null");
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sy_sq_fail(s, err, "timeline");
    sqlite3_finalize(st);
    return out;
}

int sy_sq_timeline_prune(sy_store_t *store, int64_t before_ms, int64_t limit, int64_t *n,
                         sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    *n = 0;
    int rc = sy_sq_run(s,
                       sy_sq_prepare(s, err,
                                     "DELETE FROM experiment_timeline WHERE rowid IN (SELECT"
                                     " rowid FROM experiment_timeline WHERE at_ms < ?"
                                     " ORDER BY at_ms LIMIT ?)",
                                     "ii", before_ms, limit),
                       err);
    if (rc == 0)
        *n = sqlite3_changes(s->db);
    return rc;
}
