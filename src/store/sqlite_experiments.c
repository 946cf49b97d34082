/* sqlite_experiments.c - experiments, their aggregates and the event log in SQLite; see
 * store.h. The tables are migration 2 in sqlite.c.
 *
 * The event insert and the aggregate upsert run once per event and once per variant of
 * every ingest batch, so they are prepared once per handle and reset after each use; the
 * rest prepares per call like the other files.
 */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

/* ---- experiments --------------------------------------------------------------------- */

int sy_sq_experiment_put(sy_store_t *store, const sy_store_experiment_t *e, int64_t *id,
                         sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    if (e->id == 0) {
        int rc = sy_sq_run(
            s,
            sy_sq_prepare(s, err,
                          "INSERT INTO experiments (workspace_id, key, flag_key, definition, state,"
                          " created_ms, started_ms, stopped_ms, flag_before, weights)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          "issssiiiss", e->workspace, e->key, e->flag_key, e->definition, e->state,
                          e->created_ms, e->started_ms, e->stopped_ms, e->flag_before, e->weights),
            err);
        if (rc == -EEXIST)
            return sy_err_set(err, rc, "key", "experiment \"%.64s\" already exists", e->key);
        if (rc < 0)
            return rc;
        *id = sqlite3_last_insert_rowid(s->db);
        return 0;
    }
    int rc =
        sy_sq_run(s,
                  sy_sq_prepare(s, err,
                                "UPDATE experiments SET definition = ?, state = ?,"
                                " started_ms = ?, stopped_ms = ?, flag_before = ?,"
                                " weights = ? WHERE id = ? AND workspace_id = ?",
                                "ssiissii", e->definition, e->state, e->started_ms, e->stopped_ms,
                                e->flag_before, e->weights, e->id, e->workspace),
                  err);
    if (rc < 0)
        return rc;
    if (sqlite3_changes(s->db) == 0)
        return sy_err_set(err, -ENOENT, "key", "no experiment \"%.64s\"", e->key);
    *id = e->id;
    return 0;
}

static int experiment_row(sqlite3_stmt *st, const struct sy_sq_sink *to)
{
    sy_store_experiment_t e = {.id = sqlite3_column_int64(st, 0),
                               .workspace = sqlite3_column_int64(st, 1),
                               .key = sy_sq_text(st, 2),
                               .flag_key = sy_sq_text(st, 3),
                               .definition = sy_sq_text(st, 4),
                               .state = sy_sq_text(st, 5),
                               .created_ms = sqlite3_column_int64(st, 6),
                               .started_ms = sqlite3_column_int64(st, 7),
                               .stopped_ms = sqlite3_column_int64(st, 8),
                               .flag_before = sy_sq_text(st, 9),
                               .weights = sy_sq_text(st, 10)};
    return to->cb.experiment(to->arg, &e);
}

int sy_sq_experiment_list(sy_store_t *store, int64_t ws, sy_store_experiment_cb cb, void *arg,
                          sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(
        s, err,
        "SELECT id, workspace_id, key, flag_key, definition, state, created_ms, started_ms,"
        " stopped_ms, flag_before, weights FROM experiments WHERE ? < 0 OR workspace_id = ?"
        " ORDER BY id",
        "ii", ws, ws);
    return sy_sq_each(s, st, err, "experiments", experiment_row,
                      (struct sy_sq_sink){.cb.experiment = cb, .arg = arg});
}

/* ---- aggregates ---------------------------------------------------------------------- */

int sy_sq_arm_put(sy_store_t *store, const sy_store_arm_t *a, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    int rc =
        sy_sq_cached(s, &s->put_arm,
                     "INSERT INTO experiment_arms (experiment_id, variant, units, conversions,"
                     " value_mean, value_sd, errors, crossovers, seq_p, latency_n, latency_mean,"
                     " latency_sd, cuped_seq_p) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                     " ON CONFLICT (experiment_id, variant)"
                     " DO UPDATE SET units = excluded.units, conversions = excluded.conversions,"
                     " value_mean = excluded.value_mean, value_sd = excluded.value_sd,"
                     " errors = excluded.errors, crossovers = excluded.crossovers,"
                     " seq_p = excluded.seq_p, latency_n = excluded.latency_n,"
                     " latency_mean = excluded.latency_mean, latency_sd = excluded.latency_sd,"
                     " cuped_seq_p = excluded.cuped_seq_p",
                     err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st = s->put_arm;
    if (sqlite3_bind_int64(st, 1, a->experiment) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, a->variant, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 3, a->units) != SQLITE_OK ||
        sqlite3_bind_int64(st, 4, a->conversions) != SQLITE_OK ||
        sqlite3_bind_double(st, 5, a->value_mean) != SQLITE_OK ||
        sqlite3_bind_double(st, 6, a->value_sd) != SQLITE_OK ||
        sqlite3_bind_int64(st, 7, a->errors) != SQLITE_OK ||
        sqlite3_bind_int64(st, 8, a->crossovers) != SQLITE_OK ||
        sqlite3_bind_double(st, 9, a->seq_p) != SQLITE_OK ||
        sqlite3_bind_int64(st, 10, a->latency_n) != SQLITE_OK ||
        sqlite3_bind_double(st, 11, a->latency_mean) != SQLITE_OK ||
        sqlite3_bind_double(st, 12, a->latency_sd) != SQLITE_OK ||
        sqlite3_bind_double(st, 13, a->cuped_seq_p) != SQLITE_OK)
        return sy_sq_fail(s, err, "bind");
    return sy_sq_step_cached(s, st, err);
}

static int arm_row(sqlite3_stmt *st, const struct sy_sq_sink *to)
{
    sy_store_arm_t a = {.experiment = sqlite3_column_int64(st, 0),
                        .variant = sy_sq_text(st, 1),
                        .units = sqlite3_column_int64(st, 2),
                        .conversions = sqlite3_column_int64(st, 3),
                        .value_mean = sqlite3_column_double(st, 4),
                        .value_sd = sqlite3_column_double(st, 5),
                        .errors = sqlite3_column_int64(st, 6),
                        .crossovers = sqlite3_column_int64(st, 7),
                        .seq_p = sqlite3_column_double(st, 8),
                        .latency_n = sqlite3_column_int64(st, 9),
                        .latency_mean = sqlite3_column_double(st, 10),
                        .latency_sd = sqlite3_column_double(st, 11),
                        .cuped_seq_p = sqlite3_column_double(st, 12)};
    return to->cb.arm(to->arg, &a);
}

int sy_sq_arm_list(sy_store_t *store, int64_t experiment, sy_store_arm_cb cb, void *arg,
                   sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(
        s, err,
        "SELECT experiment_id, variant, units, conversions, value_mean, value_sd, errors,"
        " crossovers, seq_p, latency_n, latency_mean, latency_sd, cuped_seq_p FROM experiment_arms"
        " WHERE ? < 0 OR experiment_id = ?"
        " ORDER BY experiment_id",
        "ii", experiment, experiment);
    return sy_sq_each(s, st, err, "aggregates", arm_row,
                      (struct sy_sq_sink){.cb.arm = cb, .arg = arg});
}

int sy_sq_srm_put(sy_store_t *store, int64_t experiment, double p, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    int rc = sy_sq_cached(s, &s->put_srm,
                          "INSERT INTO experiment_srm (experiment_id, p) VALUES (?, ?)"
                          " ON CONFLICT (experiment_id) DO UPDATE SET p = excluded.p",
                          err);
    if (rc < 0)
        return rc;
    if (sqlite3_bind_int64(s->put_srm, 1, experiment) != SQLITE_OK ||
        sqlite3_bind_double(s->put_srm, 2, p) != SQLITE_OK)
        return sy_sq_fail(s, err, "bind");
    return sy_sq_step_cached(s, s->put_srm, err);
}

static int srm_row(sqlite3_stmt *st, const struct sy_sq_sink *to)
{
    return to->cb.srm(to->arg, sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1));
}

int sy_sq_srm_list(sy_store_t *store, sy_store_srm_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(s, err, "SELECT experiment_id, p FROM experiment_srm", "");
    return sy_sq_each(s, st, err, "srm", srm_row, (struct sy_sq_sink){.cb.srm = cb, .arg = arg});
}

/* ---- allocation changes --------------------------------------------------------------- */

int sy_sq_change_add(sy_store_t *store, const sy_store_change_t *c, int64_t *id, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    int rc = sy_sq_run(s,
                       sy_sq_prepare(s, err,
                                     "INSERT INTO allocation_changes (workspace_id, experiment_id,"
                                     " at_ms, action, actor, weights_before, weights_after, detail)"
                                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                     "iiisssss", c->workspace, c->experiment, c->at_ms, c->action,
                                     c->actor, c->before, c->after, c->detail),
                       err);
    if (rc < 0)
        return rc;
    *id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

static int change_row(sqlite3_stmt *st, const struct sy_sq_sink *to)
{
    sy_store_change_t c = {.id = sqlite3_column_int64(st, 0),
                           .workspace = sqlite3_column_int64(st, 1),
                           .experiment = sqlite3_column_int64(st, 2),
                           .at_ms = sqlite3_column_int64(st, 3),
                           .action = sy_sq_text(st, 4),
                           .actor = sy_sq_text(st, 5),
                           .before = sy_sq_text(st, 6),
                           .after = sy_sq_text(st, 7),
                           .detail = sy_sq_text(st, 8)};
    return to->cb.change(to->arg, &c);
}

int sy_sq_change_list(sy_store_t *store, int64_t experiment, sy_store_change_cb cb, void *arg,
                      sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(
        s, err,
        "SELECT id, workspace_id, experiment_id, at_ms, action, actor, weights_before,"
        " weights_after, detail FROM allocation_changes WHERE ? < 0 OR experiment_id = ?"
        " ORDER BY id",
        "ii", experiment, experiment);
    return sy_sq_each(s, st, err, "allocation changes", change_row,
                      (struct sy_sq_sink){.cb.change = cb, .arg = arg});
}

int sy_sq_change_after(sy_store_t *store, int64_t after, sy_store_change_cb cb, void *arg,
                       sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(s, err,
                                     "SELECT id, workspace_id, experiment_id, at_ms, action, actor,"
                                     " weights_before, weights_after, detail FROM"
                                     " allocation_changes WHERE id > ? ORDER BY id",
                                     "i", after);
    return sy_sq_each(s, st, err, "allocation changes", change_row,
                      (struct sy_sq_sink){.cb.change = cb, .arg = arg});
}

/* ---- workspace settings ---------------------------------------------------------------- */

int sy_sq_setting_put(sy_store_t *store, int64_t ws, const char *name, const char *value,
                      sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_run(s,
                     sy_sq_prepare(s, err,
                                   "INSERT INTO workspace_settings (workspace_id, name, value)"
                                   " VALUES (?, ?, ?) ON CONFLICT (workspace_id, name)"
                                   " DO UPDATE SET value = excluded.value",
                                   "iss", ws, name, value),
                     err);
}

int sy_sq_setting_delete(sy_store_t *store, int64_t ws, const char *name, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_run(s,
                     sy_sq_prepare(s, err,
                                   "DELETE FROM workspace_settings WHERE workspace_id = ?"
                                   " AND name = ?",
                                   "is", ws, name),
                     err);
}

static int setting_row(sqlite3_stmt *st, const struct sy_sq_sink *to)
{
    return to->cb.setting(to->arg, sqlite3_column_int64(st, 0), sy_sq_text(st, 1),
                          sy_sq_text(st, 2));
}

int sy_sq_setting_list(sy_store_t *store, sy_store_setting_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_each(
        s, sy_sq_prepare(s, err, "SELECT workspace_id, name, value FROM workspace_settings", ""),
        err, "settings", setting_row, (struct sy_sq_sink){.cb.setting = cb, .arg = arg});
}

/* ---- the event log ------------------------------------------------------------------- */

static int bind_text_len(sqlite3_stmt *st, int col, const char *p, size_t len)
{
    return p ? sqlite3_bind_text(st, col, p, (int)len, SQLITE_STATIC) : sqlite3_bind_null(st, col);
}

int sy_sq_event_add(sy_store_t *store, const sy_store_event_t *e, int64_t *seq, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    *seq = 0;
    int rc = sy_sq_cached(s, &s->add_event,
                          "INSERT INTO events (workspace_id, experiment_id, event_id, kind, unit,"
                          " variant, success, value, latency_ms, at_ms)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                          err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st = s->add_event;
    bool ok = sqlite3_bind_int64(st, 1, e->workspace) == SQLITE_OK &&
              sqlite3_bind_int64(st, 2, e->experiment) == SQLITE_OK &&
              bind_text_len(st, 3, e->id, e->id_len) == SQLITE_OK &&
              sqlite3_bind_text(st, 4, e->kind, -1, SQLITE_STATIC) == SQLITE_OK &&
              bind_text_len(st, 5, e->unit, e->unit_len) == SQLITE_OK &&
              bind_text_len(st, 6, e->variant, e->variant_len) == SQLITE_OK &&
              (e->success < 0 ? sqlite3_bind_null(st, 7) : sqlite3_bind_int(st, 7, e->success)) ==
                  SQLITE_OK &&
              (e->has_value ? sqlite3_bind_double(st, 8, e->value) : sqlite3_bind_null(st, 8)) ==
                  SQLITE_OK &&
              (e->has_latency ? sqlite3_bind_double(st, 9, e->latency_ms)
                              : sqlite3_bind_null(st, 9)) == SQLITE_OK &&
              sqlite3_bind_int64(st, 10, e->at_ms) == SQLITE_OK;
    if (!ok)
        return sy_sq_fail(s, err, "bind");
    if ((rc = sy_sq_step_cached(s, st, err)) < 0)
        return rc;
    /* The rowid: max + 1 (no AUTOINCREMENT; retention never deletes the newest row), so it
     * grows with every append, whichever connection makes it, and one rolled back is given
     * again. */
    if (sqlite3_changes(s->db) == 1)
        *seq = sqlite3_last_insert_rowid(s->db);
    return 0;
}

/* The appends one by one: the cached statement costs no round trip, so a batch has nothing
 * to gain from a statement of its own. */
int sy_sq_event_add_many(sy_store_t *store, const sy_store_event_t *ev, size_t n, int64_t *seq,
                         sy_err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc = sy_sq_event_add(store, &ev[i], &seq[i], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int event_row(sqlite3_stmt *st, const struct sy_sq_sink *to)
{
    sy_store_event_t e = {
        .workspace = sqlite3_column_int64(st, 0),
        .experiment = sqlite3_column_int64(st, 1),
        .kind = sy_sq_text(st, 2),
        .unit = sy_sq_text(st, 3),
        .unit_len = (size_t)sqlite3_column_bytes(st, 3),
        .variant = sy_sq_text(st, 4),
        .variant_len = (size_t)sqlite3_column_bytes(st, 4),
        .success = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 5),
        .has_value = sqlite3_column_type(st, 6) != SQLITE_NULL,
        .value = sqlite3_column_double(st, 6),
        .has_latency = sqlite3_column_type(st, 7) != SQLITE_NULL,
        .latency_ms = sqlite3_column_double(st, 7),
        .at_ms = sqlite3_column_int64(st, 8),
        .seq = sqlite3_column_int64(st, 9)};
    if (!e.kind || !e.unit)
        return sy_err_set(to->err, -EIO, NULL, "store: an event row lacks its kind or unit");
    return to->cb.event(to->arg, &e);
}

int sy_sq_event_list(sy_store_t *store, sy_store_event_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_each(s,
                      sy_sq_prepare(s, err,
                                    "SELECT workspace_id, experiment_id, kind, unit, variant,"
                                    " success, value, latency_ms, at_ms, id FROM events"
                                    " WHERE id > coalesce((SELECT value FROM retention WHERE"
                                    " name = 'events_pruned'), 0) ORDER BY id",
                                    ""),
                      err, "events", event_row,
                      (struct sy_sq_sink){.cb.event = cb, .arg = arg, .err = err});
}

int sy_sq_event_range(sy_store_t *store, int64_t experiment, int64_t after, int64_t upto,
                      sy_store_event_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    /* a range of rowids, filtered: no index on the experiment is kept for ingest to pay */
    return sy_sq_each(s,
                      sy_sq_prepare(s, err,
                                    "SELECT workspace_id, experiment_id, kind, unit, variant,"
                                    " success, value, latency_ms, at_ms, id FROM events"
                                    " WHERE id > ? AND id <= ? AND (? < 0 OR experiment_id = ?)"
                                    " ORDER BY id",
                                    "iiii", after, upto, experiment, experiment),
                      err, "events", event_row,
                      (struct sy_sq_sink){.cb.event = cb, .arg = arg, .err = err});
}

int sy_sq_log_after(sy_store_t *store, int64_t after, int64_t limit, sy_store_event_cb cb,
                    void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_each(s,
                      sy_sq_prepare(s, err,
                                    "SELECT workspace_id, experiment_id, kind, unit, variant,"
                                    " success, value, latency_ms, at_ms, id FROM events"
                                    " WHERE id > ? ORDER BY id LIMIT ?",
                                    "ii", after, limit),
                      err, "events", event_row,
                      (struct sy_sq_sink){.cb.event = cb, .arg = arg, .err = err});
}

int sy_sq_event_experiments(sy_store_t *store, int64_t after, int64_t upto, int64_t **out,
                            size_t *n, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = sy_sq_prepare(s, err,
                                     "SELECT DISTINCT experiment_id FROM events WHERE id > ? AND"
                                     " id <= ? ORDER BY experiment_id",
                                     "ii", after, upto);
    if (!st)
        return err ? err->code : -EIO;
    int64_t *v = NULL;
    size_t cap = 0, k = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == cap) {
            size_t c = cap ? 2 * cap : 16;
            int64_t *g = realloc(v, c * sizeof(*g));
            if (!g) {
                sqlite3_finalize(st);
                free(v);
                return sy_err_set(err, -ENOMEM, NULL, "out of memory");
            }
            v = g;
            cap = c;
        }
        v[k++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(v);
        return sy_sq_fail(s, err, "events");
    }
    *out = v;
    *n = k;
    return 0;
}

int sy_sq_event_last(sy_store_t *store, int64_t *seq, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(s, err, "SELECT coalesce(max(id), 0) FROM events", "");
    if (!st)
        return err ? err->code : -EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *seq = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : sy_sq_fail(s, err, "events");
}

int sy_sq_event_count(sy_store_t *store, int64_t experiment, int64_t *n, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(s, err,
                                     "SELECT count(*) FROM events WHERE experiment_id = ? AND"
                                     " kind != ''",
                                     "i", experiment);
    if (!st)
        return err ? err->code : -EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : sy_sq_fail(s, err, "events");
}
