/* sqlite_routes.c - proxy routes of the SQLite store; see store.h. */
#include "store/sqlite_internal.h"

int sy_sq_route_put(sy_store_t *store, const sy_store_route_t *r, int64_t *id, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(
        s, err,
        "INSERT INTO routes (workspace_id, name, definition, percentage_bp, enabled, created_ms,"
        " updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id, name) DO UPDATE"
        " SET definition = excluded.definition, percentage_bp = excluded.percentage_bp,"
        " enabled = excluded.enabled, updated_ms = excluded.updated_ms RETURNING id",
        "issiiii", r->workspace, r->name, r->definition, r->percentage_bp, (int64_t)r->enabled,
        r->created_ms, r->updated_ms);
    if (!st)
        return err ? err->code : -EIO;
    int rc = sqlite3_step(st);
    *id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    rc = rc == SQLITE_ROW && sqlite3_step(st) == SQLITE_DONE ? 0 : sy_sq_fail(s, err, "route");
    sqlite3_finalize(st);
    return rc;
}

int sy_sq_route_delete(sy_store_t *store, int64_t ws, const char *name, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    int rc =
        sy_sq_run(s,
                  sy_sq_prepare(s, err, "DELETE FROM routes WHERE workspace_id = ? AND name = ?",
                                "is", ws, name),
                  err);
    if (rc == 0 && sqlite3_changes(s->db) != 1)
        rc = sy_err_set(err, -ENOENT, "name", "no such route");
    return rc;
}

static int route_row(sqlite3_stmt *st, const struct sy_sq_sink *to)
{
    sy_store_route_t r = {.id = sqlite3_column_int64(st, 0),
                          .workspace = sqlite3_column_int64(st, 1),
                          .name = sy_sq_text(st, 2),
                          .definition = sy_sq_text(st, 3),
                          .percentage_bp = sqlite3_column_int64(st, 4),
                          .enabled = sqlite3_column_int(st, 5) != 0,
                          .created_ms = sqlite3_column_int64(st, 6),
                          .updated_ms = sqlite3_column_int64(st, 7)};
    return to->cb.route(to->arg, &r);
}

int sy_sq_route_list(sy_store_t *store, sy_store_route_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(s, err,
                                     "SELECT id, workspace_id, name, definition, percentage_bp,"
                                     " enabled, created_ms, updated_ms FROM routes ORDER BY id",
                                     "");
    return sy_sq_each(s, st, err, "routes", route_row,
                      (struct sy_sq_sink){.cb.route = cb, .arg = arg});
}

int sy_sq_route_minute_add(sy_store_t *store, const sy_store_route_minute_t *m, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_run(s,
                     sy_sq_prepare(s, err,
                                   "INSERT INTO route_minutes (workspace_id, route, minute, domain,"
                                   " upstream, tried, requests, errors, total_ms, hist, status)"
                                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                   "isisssiidss", m->workspace, m->route, m->minute, m->domain,
                                   m->upstream, m->tried, m->requests, m->errors, m->total_ms,
                                   m->hist, m->status ? m->status : ""),
                     err);
}

static int minute_row(sqlite3_stmt *st, const struct sy_sq_sink *to)
{
    sy_store_route_minute_t m = {.workspace = sqlite3_column_int64(st, 0),
                                 .route = sy_sq_text(st, 1),
                                 .minute = sqlite3_column_int64(st, 2),
                                 .domain = sy_sq_text(st, 3),
                                 .upstream = sy_sq_text(st, 4),
                                 .tried = sy_sq_text(st, 5),
                                 .requests = sqlite3_column_int64(st, 6),
                                 .errors = sqlite3_column_int64(st, 7),
                                 .total_ms = sqlite3_column_double(st, 8),
                                 .hist = sy_sq_text(st, 9),
                                 .status = sy_sq_text(st, 10)};
    return to->cb.route_minute(to->arg, &m);
}

int sy_sq_route_minute_list(sy_store_t *store, int64_t ws, const char *route, int64_t since,
                            sy_store_route_minute_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(
        s, err,
        "SELECT workspace_id, route, minute, domain, upstream, tried, requests, errors, total_ms,"
        " hist, status FROM route_minutes WHERE workspace_id = ? AND route = ? AND minute >= ?"
        " ORDER BY minute, id",
        "isi", ws, route, since);
    return sy_sq_each(s, st, err, "route minutes", minute_row,
                      (struct sy_sq_sink){.cb.route_minute = cb, .arg = arg});
}

int sy_sq_route_minute_prune(sy_store_t *store, int64_t before, int64_t *deleted, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    int rc = sy_sq_run(
        s, sy_sq_prepare(s, err, "DELETE FROM route_minutes WHERE minute < ?", "i", before), err);
    *deleted = rc == 0 ? sqlite3_changes(s->db) : 0;
    return rc;
}
