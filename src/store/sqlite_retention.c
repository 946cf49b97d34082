/* sqlite_retention.c - what the retention job (engine/retention.c) reads and writes in
 * SQLite: checkpoints, the job's places, and the pruning of the event log, KPI events and
 * the audit trail; see store.h. The tables are migration 13 in sqlite.c.
 *
 * Rows are pruned in the order of their ids, a bounded number per call, so that one call
 * never holds the database for long. The newest row of a table is never pruned: a table
 * without AUTOINCREMENT gives a new row the largest id + 1, and the log's places and the KPI
 * series' places must never be given twice (the audit's ids are AUTOINCREMENT).
 */
#include <string.h>

#include "store/sqlite_internal.h"

int sy_sq_checkpoint_put(sy_store_t *store, int64_t experiment, int64_t seq, const void *data,
                         size_t len, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(s, err,
                                     "INSERT OR REPLACE INTO experiment_checkpoints"
                                     " (experiment_id, seq, state) VALUES (?, ?, ?)",
                                     "ii", experiment, seq);
    if (st && sqlite3_bind_blob64(st, 3, data, len, SQLITE_STATIC) != SQLITE_OK) {
        sqlite3_finalize(st);
        return sy_sq_fail(s, err, "bind");
    }
    return sy_sq_run(s, st, err);
}

static int checkpoint_rows(struct sqlite_store *s, sqlite3_stmt *st, sy_store_checkpoint_cb cb,
                           void *arg, bool *found, sy_err_t *err)
{
    if (!st)
        return err ? err->code : -EIO;
    int rc, out = 0;
    while (out == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (found)
            *found = true;
        const void *p = sqlite3_column_blob(st, 2);
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        out = cb(arg, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), p ? p : "", len);
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sy_sq_fail(s, err, "checkpoints");
    sqlite3_finalize(st);
    return out;
}

int sy_sq_checkpoint_list(sy_store_t *store, sy_store_checkpoint_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return checkpoint_rows(
        s,
        sy_sq_prepare(s, err,
                      "SELECT experiment_id, seq, state FROM experiment_checkpoints"
                      " ORDER BY experiment_id",
                      ""),
        cb, arg, NULL, err);
}

int sy_sq_checkpoint_count(sy_store_t *store, int64_t *n, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    *n = 0;
    sqlite3_stmt *st = sy_sq_prepare(s, err, "SELECT count(*) FROM experiment_checkpoints", "");
    if (!st)
        return err ? err->code : -EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : sy_sq_fail(s, err, "checkpoints");
}

int sy_sq_checkpoint_get(sy_store_t *store, int64_t experiment, sy_store_checkpoint_cb cb,
                         void *arg, bool *found, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    *found = false;
    return checkpoint_rows(s,
                           sy_sq_prepare(s, err,
                                         "SELECT experiment_id, seq, state FROM"
                                         " experiment_checkpoints WHERE experiment_id = ?",
                                         "i", experiment),
                           cb, arg, found, err);
}

int sy_sq_retention_get(sy_store_t *store, const char *name, int64_t *value, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    *value = 0;
    sqlite3_stmt *st =
        sy_sq_prepare(s, err, "SELECT value FROM retention WHERE name = ?", "s", name);
    if (!st)
        return err ? err->code : -EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *value = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sy_sq_fail(s, err, "retention");
}

int sy_sq_retention_put(sy_store_t *store, const char *name, int64_t value, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_run(s,
                     sy_sq_prepare(s, err,
                                   "INSERT OR REPLACE INTO retention (name, value) VALUES (?, ?)",
                                   "si", name, value),
                     err);
}

/* Runs a statement without rows; the rows it changed added to *n. */
static int run_counted(struct sqlite_store *s, sqlite3_stmt *st, int64_t *n, sy_err_t *err)
{
    int rc = sy_sq_run(s, st, err);
    if (rc == 0)
        *n += sqlite3_changes(s->db);
    return rc;
}

int sy_sq_event_prune(sy_store_t *store, int64_t after, int64_t upto, int64_t before_ms,
                      int64_t limit, int64_t *through, int64_t *n, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    *through = after;
    *n = 0;
    /* the last of the first `limit` rows after `after` that are all older than before_ms */
    sqlite3_stmt *st = sy_sq_prepare(s, err,
                                     "SELECT id, at_ms FROM events WHERE id > ? AND id <= ? AND"
                                     " id < (SELECT max(id) FROM events) ORDER BY id LIMIT ?",
                                     "iii", after, upto, limit);
    if (!st)
        return err ? err->code : -EIO;
    int rc;
    int64_t last = after;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_int64(st, 1) < before_ms)
        last = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sy_sq_fail(s, err, "events");
    if (last == after)
        return 0;
    if ((rc = run_counted(s,
                          sy_sq_prepare(s, err,
                                        "DELETE FROM events WHERE id > ? AND id <= ? AND"
                                        " (event_id IS NULL OR experiment_id IN (SELECT id FROM"
                                        " experiments WHERE state IN ('stopped', 'terminated')))",
                                        "ii", after, last),
                          n, err)) < 0 ||
        (rc = run_counted(s,
                          sy_sq_prepare(s, err,
                                        "UPDATE events SET kind = '', unit = '', variant = NULL,"
                                        " success = NULL, value = NULL, latency_ms = NULL"
                                        " WHERE id > ? AND id <= ? AND event_id IS NOT NULL AND"
                                        " kind != ''",
                                        "ii", after, last),
                          n, err)) < 0)
        return rc;
    *through = last;
    return 0;
}

/* The KPI events a prune takes, as a list of ids (a subquery of both statements). */
#define KPI_OLD                                                                                    \
    "SELECT id FROM kpi_events k WHERE at_ms < ? AND domain != '' AND"                             \
    " id < (SELECT max(id) FROM kpi_events) AND "
#define KPI_NO_POLICY                                                                              \
    "NOT EXISTS (SELECT 1 FROM regression_policies p WHERE p.workspace_id = k.workspace_id AND"    \
    " p.domain = k.domain AND p.metric = k.metric) ORDER BY id LIMIT ?"
#define KPI_SERIES                                                                                 \
    "workspace_id = ? AND domain = ? AND metric = ? AND (at_ms < ? OR (at_ms = ? AND id < ?))"     \
    " ORDER BY id LIMIT ?"
#define KPI_DELETE "DELETE FROM kpi_events WHERE event_id IS NULL AND id IN ("
#define KPI_THIN                                                                                   \
    "UPDATE kpi_events SET domain = '', metric = '', actor = '', success = NULL, value = NULL,"    \
    " correlation_id = NULL, detail = NULL WHERE event_id IS NOT NULL AND id IN ("

int sy_sq_kpi_prune(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                    const sy_store_kpi_place_t *keep_from, int64_t before_ms, int64_t limit,
                    int64_t *n, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    *n = 0;
    int rc;
    if (!domain) {
        if ((rc = run_counted(s,
                              sy_sq_prepare(s, err, KPI_DELETE KPI_OLD KPI_NO_POLICY ")", "ii",
                                            before_ms, limit),
                              n, err)) < 0)
            return rc;
        return run_counted(
            s, sy_sq_prepare(s, err, KPI_THIN KPI_OLD KPI_NO_POLICY ")", "ii", before_ms, limit), n,
            err);
    }
    const char *types = "iissiiii";
    if ((rc = run_counted(s,
                          sy_sq_prepare(s, err, KPI_DELETE KPI_OLD KPI_SERIES ")", types, before_ms,
                                        ws, domain, metric, keep_from->at_ms, keep_from->at_ms,
                                        keep_from->id, limit),
                          n, err)) < 0)
        return rc;
    return run_counted(s,
                       sy_sq_prepare(s, err, KPI_THIN KPI_OLD KPI_SERIES ")", types, before_ms, ws,
                                     domain, metric, keep_from->at_ms, keep_from->at_ms,
                                     keep_from->id, limit),
                       n, err);
}

int sy_sq_audit_prune(sy_store_t *store, int64_t before_ms, int64_t limit, int64_t *n,
                      sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    *n = 0;
    return run_counted(s,
                       sy_sq_prepare(s, err,
                                     "DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE"
                                     " at_ms < ? ORDER BY id LIMIT ?)",
                                     "ii", before_ms, limit),
                       n, err);
}
