/* sqlite_kpi.c - KPI events, regression policies and the risk guard of the SQLite store;
 * see store.h. */
#include <stdint.h>
#include <stdlib.h>

#include "core/stats.h"
#include "store/sqlite_internal.h"

int sy_sq_kpi_add(sy_store_t *store, const sy_store_kpi_t *k, bool *added, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    /* prepared once: a batch inserts up to 10,000 rows */
    int rc = sy_sq_cached(s, &s->add_kpi,
                          "INSERT INTO kpi_events (workspace_id, domain, metric, success, value,"
                          " actor, correlation_id, detail, at_ms, event_id, unit)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                          err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st = s->add_kpi;
    /* success and value stay NULL when not given */
    if (sqlite3_bind_int64(st, 1, k->workspace) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, k->domain, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 3, k->metric, -1, SQLITE_STATIC) != SQLITE_OK ||
        (k->success >= 0 && sqlite3_bind_int(st, 4, k->success) != SQLITE_OK) ||
        (k->has_value && sqlite3_bind_double(st, 5, k->value) != SQLITE_OK) ||
        sqlite3_bind_text(st, 6, k->actor, -1, SQLITE_STATIC) != SQLITE_OK ||
        (k->correlation_id &&
         sqlite3_bind_text(st, 7, k->correlation_id, -1, SQLITE_STATIC) != SQLITE_OK) ||
        (k->detail && sqlite3_bind_text(st, 8, k->detail, -1, SQLITE_STATIC) != SQLITE_OK) ||
        sqlite3_bind_int64(st, 9, k->at_ms) != SQLITE_OK ||
        (k->event_id && sqlite3_bind_text(st, 10, k->event_id, -1, SQLITE_STATIC) != SQLITE_OK) ||
        (k->unit && sqlite3_bind_text(st, 11, k->unit, -1, SQLITE_STATIC) != SQLITE_OK))
        return sy_sq_fail(s, err, "bind");
    rc = sy_sq_step_cached(s, st, err);
    if (rc == 0 && added)
        *added = sqlite3_changes(s->db) == 1;
    return rc;
}

int sy_sq_kpi_unit_sum(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                       const char *unit, int64_t from_ms, int64_t to_ms, double *sum, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    *sum = 0;
    /* prepared once: the ingest writer asks it for each new unit of a batch */
    int rc = sy_sq_cached(s, &s->kpi_unit_sum,
                          "SELECT total(coalesce(value, success)) FROM kpi_events"
                          " WHERE workspace_id = ? AND domain = ? AND metric = ? AND unit = ?"
                          " AND at_ms >= ? AND at_ms < ? AND unit IS NOT NULL",
                          err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st = s->kpi_unit_sum;
    if (sqlite3_bind_int64(st, 1, ws) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, domain, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 3, metric, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 4, unit, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 5, from_ms) != SQLITE_OK ||
        sqlite3_bind_int64(st, 6, to_ms) != SQLITE_OK) {
        rc = sy_sq_fail(s, err, "bind");
        goto out_reset;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        *sum = sqlite3_column_double(st, 0);
        rc = 0;
    } else {
        rc = sy_sq_fail(s, err, "kpi unit sum");
    }
out_reset:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* The span's condition binds, in the order of SPAN_SQL: events after (a, b), and none from
 * (c, d) to (e, f). Without a gap every event passes: after the least place, and a gap
 * that holds none (its start after its end). */
#define SPAN_SQL                                                                                   \
    " AND (at_ms, id) > (?, ?) AND NOT ((at_ms, id) >= (?, ?) AND (at_ms, id) <= (?, ?))"

static void span_binds(const sy_store_kpi_span_t *span, int64_t b[6])
{
    const sy_store_kpi_place_t none_from = {INT64_MAX, INT64_MAX}, none_to = {INT64_MIN, INT64_MIN};
    bool gap = span && span->has_gap;
    const sy_store_kpi_place_t *after = gap && span->after_gap ? &span->gap_to : &none_to;
    const sy_store_kpi_place_t *from = gap ? &span->gap_from : &none_from;
    const sy_store_kpi_place_t *to = gap ? &span->gap_to : &none_to;
    b[0] = after->at_ms;
    b[1] = after->id;
    b[2] = from->at_ms;
    b[3] = from->id;
    b[4] = to->at_ms;
    b[5] = to->id;
}

int sy_sq_kpi_window(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                     bool of_values, const sy_store_kpi_span_t *span, int64_t skip, int64_t limit,
                     int64_t *events, int64_t *successes, double *mean, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    *events = *successes = 0;
    *mean = 0;
    int64_t b[6];
    span_binds(span, b);
    /* The series index gives the newest first; the subquery stops after skip + limit. The
     * values are averaged here, as they come (Welford): SQLite's avg() is a plain sum,
     * whose digits an offset of 1e12 takes. */
    sqlite3_stmt *st = sy_sq_prepare(
        s, err,
        of_values ? "SELECT value FROM kpi_events WHERE workspace_id = ? AND domain = ? AND"
                    " metric = ? AND value IS NOT NULL" SPAN_SQL
                    " ORDER BY at_ms DESC, id DESC LIMIT ? OFFSET ?"
                  : "SELECT count(*), coalesce(sum(success), 0) FROM (SELECT success FROM"
                    " kpi_events WHERE workspace_id = ? AND domain = ? AND metric = ? AND success"
                    " IS NOT NULL" SPAN_SQL " ORDER BY at_ms DESC, id DESC LIMIT ? OFFSET ?)",
        "issiiiiiiii", ws, domain, metric, b[0], b[1], b[2], b[3], b[4], b[5], limit, skip);
    if (!st)
        return err ? err->code : -EIO;
    int rc, out = 0;
    if (of_values) {
        sy_welford_t w = {0};
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            sy_welford_add(&w, sqlite3_column_double(st, 0));
        *events = w.n;
        *mean = sy_welford_moments(&w).mean;
        if (rc != SQLITE_DONE)
            out = sy_sq_fail(s, err, "kpi window");
    } else if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        *events = sqlite3_column_int64(st, 0);
        *successes = sqlite3_column_int64(st, 1);
    } else {
        out = sy_sq_fail(s, err, "kpi window");
    }
    sqlite3_finalize(st);
    return out;
}

int sy_sq_kpi_place(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                    bool of_values, const sy_store_kpi_span_t *span, int64_t skip,
                    sy_store_kpi_place_t *out, bool *found, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    *found = false;
    int64_t b[6];
    span_binds(span, b);
    sqlite3_stmt *st = sy_sq_prepare(
        s, err,
        of_values ? "SELECT at_ms, id FROM kpi_events WHERE workspace_id = ? AND domain = ? AND"
                    " metric = ? AND value IS NOT NULL" SPAN_SQL
                    " ORDER BY at_ms DESC, id DESC LIMIT 1 OFFSET ?"
                  : "SELECT at_ms, id FROM kpi_events WHERE workspace_id = ? AND domain = ? AND"
                    " metric = ? AND success IS NOT NULL" SPAN_SQL
                    " ORDER BY at_ms DESC, id DESC LIMIT 1 OFFSET ?",
        "issiiiiiii", ws, domain, metric, b[0], b[1], b[2], b[3], b[4], b[5], skip);
    if (!st)
        return err ? err->code : -EIO;
    int rc = sqlite3_step(st), ret = 0;
    if (rc == SQLITE_ROW) {
        *out = (sy_store_kpi_place_t){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)};
        *found = true;
    } else if (rc != SQLITE_DONE) {
        ret = sy_sq_fail(s, err, "kpi place");
    }
    sqlite3_finalize(st);
    return ret;
}

int sy_sq_regression_put(sy_store_t *store, const sy_store_regression_t *r, bool only_new,
                         bool *created, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
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

static int regression_row(sqlite3_stmt *st, const struct sy_sq_sink *to)
{
    sy_store_regression_t r = {.workspace = sqlite3_column_int64(st, 13),
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
    return to->cb.regression(to->arg, &r);
}

int sy_sq_regression_list(sy_store_t *store, int64_t ws, const char *domain, const char *metric,
                          sy_store_regression_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    bool one = domain && metric;
    sqlite3_stmt *st = sy_sq_prepare(
        s, err,
        one ? "SELECT domain, metric, window_events, baseline_events, min_events_to_enforce,"
              " max_drop_fraction, action, measure, enabled, changed_by, reason, updated_ms, state,"
              " workspace_id"
              " FROM regression_policies WHERE (? < 0 OR workspace_id = ?) AND domain = ?"
              " AND metric = ? ORDER BY workspace_id"
            : "SELECT domain, metric, window_events, baseline_events, min_events_to_enforce,"
              " max_drop_fraction, action, measure, enabled, changed_by, reason, updated_ms, state,"
              " workspace_id"
              " FROM regression_policies WHERE ? < 0 OR workspace_id = ?"
              " ORDER BY workspace_id, domain, metric",
        one ? "iiss" : "ii", ws, ws, domain, metric);
    return sy_sq_each(s, st, err, "regression policies", regression_row,
                      (struct sy_sq_sink){.cb.regression = cb, .arg = arg});
}

/* ---- the risk guard ------------------------------------------------------------------------ */

static int bind_opt_double(sqlite3_stmt *st, int col, bool has, double v)
{
    return has ? sqlite3_bind_double(st, col, v) : sqlite3_bind_null(st, col);
}

int sy_sq_risk_policy_put(sy_store_t *store, const sy_store_risk_policy_t *p, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    /* the limits are ?7 and ?8, NULL when there is none */
    sqlite3_stmt *st = sy_sq_prepare(s, err,
                                     "INSERT OR REPLACE INTO risk_policies (workspace_id, domain,"
                                     " enabled, reason, changed_by, updated_ms, max_per_action,"
                                     " max_per_day) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                     "isissi", p->workspace, p->domain, (int64_t)p->enabled,
                                     p->reason, p->changed_by, p->updated_ms);
    if (st && (bind_opt_double(st, 7, p->has_max_per_action, p->max_per_action) != SQLITE_OK ||
               bind_opt_double(st, 8, p->has_max_per_day, p->max_per_day) != SQLITE_OK)) {
        sqlite3_finalize(st);
        return sy_sq_fail(s, err, "bind");
    }
    return sy_sq_run(s, st, err);
}

static int risk_policy_row(sqlite3_stmt *st, const struct sy_sq_sink *to)
{
    sy_store_risk_policy_t p = {
        .workspace = sqlite3_column_int64(st, 7),
        .domain = sy_sq_text(st, 0),
        .enabled = sqlite3_column_int(st, 1) != 0,
        .has_max_per_action = sqlite3_column_type(st, 2) != SQLITE_NULL,
        .max_per_action = sqlite3_column_double(st, 2),
        .has_max_per_day = sqlite3_column_type(st, 3) != SQLITE_NULL,
        .max_per_day = sqlite3_column_double(st, 3),
        .reason = sy_sq_text(st, 4),
        .changed_by = sy_sq_text(st, 5),
        .updated_ms = sqlite3_column_int64(st, 6),
    };
    return to->cb.risk_policy(to->arg, &p);
}

int sy_sq_risk_policy_list(sy_store_t *store, int64_t ws, const char *domain,
                           sy_store_risk_policy_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(
        s, err,
        domain
            ? "SELECT domain, enabled, max_per_action, max_per_day, reason, changed_by,"
              " updated_ms, workspace_id FROM risk_policies WHERE workspace_id = ? AND domain = ?"
            : "SELECT domain, enabled, max_per_action, max_per_day, reason, changed_by,"
              " updated_ms, workspace_id FROM risk_policies WHERE workspace_id = ? ORDER BY domain",
        domain ? "is" : "i", ws, domain);
    return sy_sq_each(s, st, err, "risk policies", risk_policy_row,
                      (struct sy_sq_sink){.cb.risk_policy = cb, .arg = arg});
}

int sy_sq_risk_add(sy_store_t *store, const sy_store_risk_entry_t *e, int64_t *id, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(s, err,
                                     "INSERT INTO risk_ledger (workspace_id, domain, day, amount,"
                                     " actor, correlation_id, outcome, reason, at_ms)"
                                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                     "issdssssi", e->workspace, e->domain, e->day, e->amount,
                                     e->actor, e->correlation_id, e->outcome, e->reason, e->at_ms);
    int rc = sy_sq_run(s, st, err);
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int sy_sq_risk_reserved(sy_store_t *store, int64_t ws, const char *domain, const char *day,
                        double *sum, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    *sum = 0;
    sqlite3_stmt *st =
        sy_sq_prepare(s, err,
                      "SELECT coalesce(sum(amount), 0) FROM risk_ledger WHERE workspace_id = ?"
                      " AND day = ? AND domain = ? AND outcome = 'reserved'",
                      "iss", ws, day, domain);
    if (!st)
        return err ? err->code : -EIO;
    int out = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        *sum = sqlite3_column_double(st, 0);
    else
        out = sy_sq_fail(s, err, "risk reserved");
    sqlite3_finalize(st);
    return out;
}

int sy_sq_risk_release(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    int rc = sy_sq_run(s,
                       sy_sq_prepare(s, err,
                                     "UPDATE risk_ledger SET outcome = 'released', released_ms = ?"
                                     " WHERE workspace_id = ? AND id = ? AND outcome = 'reserved'",
                                     "iii", now_ms, ws, id),
                       err);
    if (rc < 0 || sqlite3_changes(s->db) == 1)
        return rc;
    sqlite3_stmt *st = sy_sq_prepare(
        s, err, "SELECT outcome FROM risk_ledger WHERE workspace_id = ? AND id = ?", "ii", ws, id);
    if (!st)
        return err ? err->code : -EIO;
    int step = sqlite3_step(st);
    rc = step == SQLITE_ROW || step == SQLITE_DONE ? 0 : sy_sq_fail(s, err, "risk release");
    sqlite3_finalize(st);
    if (rc < 0)
        return rc; /* not "no such reservation": the database did not answer */
    return step == SQLITE_ROW ? sy_err_set(err, SY_ECONFLICT, "reservation_id",
                                           "the reservation was denied or is released already")
                              : sy_err_set(err, -ENOENT, "reservation_id", "no such reservation");
}

static int risk_entry_row(sqlite3_stmt *st, const struct sy_sq_sink *to)
{
    sy_store_risk_entry_t e = {.id = sqlite3_column_int64(st, 0),
                               .workspace = sqlite3_column_int64(st, 10),
                               .domain = sy_sq_text(st, 1),
                               .day = sy_sq_text(st, 2),
                               .amount = sqlite3_column_double(st, 3),
                               .actor = sy_sq_text(st, 4),
                               .correlation_id = sy_sq_text(st, 5),
                               .outcome = sy_sq_text(st, 6),
                               .reason = sy_sq_text(st, 7),
                               .at_ms = sqlite3_column_int64(st, 8),
                               .released_ms = sqlite3_column_int64(st, 9)};
    return to->cb.risk_entry(to->arg, &e);
}

int sy_sq_risk_list(sy_store_t *store, int64_t ws, const char *day, int64_t id,
                    sy_store_risk_entry_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
#define RISK_COLUMNS                                                                               \
    "SELECT id, domain, day, amount, actor, correlation_id, outcome, reason, at_ms,"               \
    " coalesce(released_ms, 0), workspace_id FROM risk_ledger WHERE workspace_id = ?"
    sqlite3_stmt *st =
        day ? sy_sq_prepare(s, err, RISK_COLUMNS " AND day = ? ORDER BY id", "is", ws, day)
            : sy_sq_prepare(s, err, RISK_COLUMNS " AND id = ?", "ii", ws, id);
#undef RISK_COLUMNS
    return sy_sq_each(s, st, err, "risk ledger", risk_entry_row,
                      (struct sy_sq_sink){.cb.risk_entry = cb, .arg = arg});
}
