/* sqlite_kpi.c - KPI events and regression policies of the SQLite store; see store.h. */
#include <stdlib.h>

#include "store/sqlite_internal.h"

int sy_store_kpi_add(sy_store_t *s, const sy_store_kpi_t *k, sy_err_t *err)
{
    sqlite3_stmt *st = sy_sq_prepare(s, err,
                                     "INSERT INTO kpi_events (workspace_id, domain, metric,"
                                     " success, value, actor, correlation_id, detail, at_ms)"
                                     " VALUES (?1, ?2, ?3, ?8, ?9, ?4, ?5, ?6, ?7)",
                                     "isssssi", k->workspace, k->domain, k->metric, k->actor,
                                     k->correlation_id, k->detail, k->at_ms);
    /* success and value are ?8 and ?9, bound only when given (else NULL) */
    if (st && ((k->success >= 0 && sqlite3_bind_int(st, 8, k->success) != SQLITE_OK) ||
               (k->has_value && sqlite3_bind_double(st, 9, k->value) != SQLITE_OK))) {
        sqlite3_finalize(st);
        return sy_sq_fail(s, err, "bind");
    }
    return sy_sq_run(s, st, err);
}

int sy_store_kpi_window(sy_store_t *s, int64_t ws, const char *domain, const char *metric,
                        bool of_values, int64_t skip, int64_t limit, int64_t *events,
                        int64_t *successes, double *mean, sy_err_t *err)
{
    *events = *successes = 0;
    *mean = 0;
    /* The series index gives the newest first; the subquery stops after skip + limit. */
    sqlite3_stmt *st = sy_sq_prepare(
        s, err,
        of_values ? "SELECT count(*), 0, coalesce(avg(value), 0) FROM (SELECT value FROM kpi_events"
                    " WHERE workspace_id = ? AND domain = ? AND metric = ? AND value IS NOT NULL"
                    " ORDER BY at_ms DESC, id DESC LIMIT ? OFFSET ?)"
                  : "SELECT count(*), coalesce(sum(success), 0), 0 FROM (SELECT success FROM"
                    " kpi_events WHERE workspace_id = ? AND domain = ? AND metric = ? AND success"
                    " IS NOT NULL ORDER BY at_ms DESC, id DESC LIMIT ? OFFSET ?)",
        "issii", ws, domain, metric, limit, skip);
    if (!st)
        return err ? err->code : -EIO;
    int rc = sqlite3_step(st), out = 0;
    if (rc == SQLITE_ROW) {
        *events = sqlite3_column_int64(st, 0);
        *successes = sqlite3_column_int64(st, 1);
        *mean = sqlite3_column_double(st, 2);
    } else {
        out = sy_sq_fail(s, err, "kpi window");
    }
    sqlite3_finalize(st);
    return out;
}

int sy_store_regression_put(sy_store_t *s, const sy_store_regression_t *r, bool only_new,
                            bool *created, sy_err_t *err)
{
    sqlite3_stmt *st = sy_sq_prepare(
        s, err,
        only_new ? "INSERT OR IGNORE INTO regression_policies (workspace_id, domain, metric,"
                   " window_events, baseline_events, min_events_to_enforce, max_drop_fraction,"
                   " action, measure, enabled, changed_by, reason, updated_ms, state)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                 : "INSERT OR REPLACE INTO regression_policies (workspace_id, domain, metric,"
                   " window_events, baseline_events, min_events_to_enforce, max_drop_fraction,"
                   " action, measure, enabled, changed_by, reason, updated_ms, state)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "issiiidssissis", r->workspace, r->domain, r->metric, r->window_events, r->baseline_events,
        r->min_events_to_enforce, r->max_drop_fraction, r->action, r->measure, (int64_t)r->enabled,
        r->changed_by, r->reason, r->updated_ms, r->state);
    int rc = sy_sq_run(s, st, err);
    if (created)
        *created = rc == 0 && sqlite3_changes(s->db) > 0;
    return rc;
}

int sy_store_regression_list(sy_store_t *s, int64_t ws, const char *domain, const char *metric,
                             sy_store_regression_cb cb, void *arg, sy_err_t *err)
{
    bool one = domain && metric;
    sqlite3_stmt *st = sy_sq_prepare(
        s, err,
        one ? "SELECT domain, metric, window_events, baseline_events, min_events_to_enforce,"
              " max_drop_fraction, action, measure, enabled, changed_by, reason, updated_ms, state"
              " FROM regression_policies WHERE workspace_id = ? AND domain = ? AND metric = ?"
            : "SELECT domain, metric, window_events, baseline_events, min_events_to_enforce,"
              " max_drop_fraction, action, measure, enabled, changed_by, reason, updated_ms, state"
              " FROM regression_policies WHERE workspace_id = ? ORDER BY domain, metric",
        one ? "iss" : "i", ws, domain, metric);
    if (!st)
        return err ? err->code : -EIO;
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        sy_store_regression_t r = {.workspace = ws,
                                   .domain = sy_sq_text(st, 0),
                                   .metric = sy_sq_text(st, 1),
                                   .window_events = sqlite3_column_int64(st, 2),
                                   .baseline_events = sqlite3_column_int64(st, 3),
                                   .min_events_to_enforce = sqlite3_column_int64(st, 4),
                                   .max_drop_fraction = sqlite3_column_double(st, 5),
                                   .action = sy_sq_text(st, 6),
                                   .measure = sy_sq_text(st, 7),
                                   .enabled = sqlite3_column_int(st, 8) != 0,
                                   .changed_by = sy_sq_text(st, 9),
                                   .reason = sy_sq_text(st, 10),
                                   .updated_ms = sqlite3_column_int64(st, 11),
                                   .state = sy_sq_text(st, 12)};
        if ((out = cb(arg, &r)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE)
        out = sy_sq_fail(s, err, "regression policies");
    sqlite3_finalize(st);
    return out;
}
