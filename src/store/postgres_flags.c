/* postgres_flags.c - store/postgres: flags, the flag set, the audit trail, workspace settings,
 * routes and their per-minute counters (store.h's contract; postgres.c says how statements,
 * transactions and the workspace setting work here).
 *
 * Each operation keyed by a workspace runs its one statement under that workspace's setting,
 * in the caller's transaction or in one of its own (sy_pg_run_in, sy_pg_exec_in), and calls
 * its callback after that transaction of its own has committed. The five that span every
 * workspace read them all in one statement through a reader across workspaces
 * (postgres_schema.c): setting_list (sy_settings_all: each change heard from another node
 * reads it, for the kill switch), route_list (sy_routes_all, by id, store.h's order) and
 * flag_workspaces (sy_flag_workspaces) at once; audit_prune and route_minute_prune choose
 * in one (sy_audit_old, sy_route_minutes_old), then delete under each chosen workspace's
 * setting, in one transaction (their deletes land together or not at all).
 *
 * Matching SQLite: keys are ordered with COLLATE "C" (bytes, as SQLite's BINARY; a database
 * with another default collation would order them otherwise); the audit's resource prefix
 * is matched with starts_with (literal, as SQLite's escaped GLOB: '%', '_', '*', '?' and '['
 * mean themselves); a negative LIMIT is no limit, as in SQLite; a NaN double is stored as
 * NULL, as SQLite stores it; route_minute_add appends a row (no merge into the minute's
 * row), as SQLite does. flag_put learns whether it created the flag in its one statement
 * (xmax = 0 is the row an INSERT made, not one ON CONFLICT updated).
 *
 * Where a caller could tell the backends apart:
 * - A failed constraint (a NULL where the schema says NOT NULL, a workspace that does not
 *   exist) is -EEXIST with no field, as SQLite's sy_sq_run answers (sy_pg_error). The
 *   schema refuses a route percentage out of 0..10000 in both.
 * - Text must be valid UTF-8 (the database's encoding); SQLite stores any bytes.
 * - setting_list gives the settings by workspace (by id), then name; SQLite's has no ORDER
 *   BY (in practice the order they were first written). store.h states none.
 * - Ids come from identity columns: never given twice, and with gaps (each upsert of a
 *   route takes a number, an insert that fails too); SQLite gives a route the largest id +
 *   1, again after the newest is deleted. Ids follow nextval, not commit order.
 * - audit_list takes a resource prefix whole; SQLite's GLOB pattern (pattern[300]) is cut
 *   at 296 bytes (fewer when it escapes '*', '?' or '['), so a longer prefix matches more
 *   there.
 * - Statements counted by sy_store_fail_at: outside a transaction each operation runs
 *   BEGIN, the workspace's set_config, its statement(s) and COMMIT.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_internal.h"

/* The rows a command changed (its PQcmdTuples). */
static int64_t changed(PGresult *r)
{
    return strtoll(PQcmdTuples(r), NULL, 10);
}

/* ---- flags --------------------------------------------------------------------------- */

int sy_pg_flag_put(sy_store_t *store, int64_t ws, const sy_store_flag_t *f, bool *created,
                   sy_err_t *err)
{
    char w[SY_PG_INT_TEXT], ms[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws), f->key, f->definition, sy_pg_i64(ms, f->updated_ms)};
    int rc = 0;
    PGresult *r =
        sy_pg_run_in(sy_pg(store), ws,
                     "INSERT INTO flags (workspace_id, key, definition, updated_ms)"
                     " VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, key) DO UPDATE"
                     " SET definition = excluded.definition, updated_ms = excluded.updated_ms"
                     " RETURNING xmax = 0",
                     4, p, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    *created = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return 0;
}

int sy_pg_flag_delete(sy_store_t *store, int64_t ws, const char *key, sy_err_t *err)
{
    char w[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws), key};
    int64_t n = 0;
    int rc = sy_pg_exec_in(sy_pg(store), ws,
                           "DELETE FROM flags WHERE workspace_id = $1 AND key = $2", 2, p, &n, err);
    if (rc == 0 && n == 0)
        rc = sy_err_set(err, -ENOENT, "key", "no flag \"%.64s\"", key ? key : "");
    return rc;
}

int sy_pg_flag_clear(sy_store_t *store, int64_t ws, sy_err_t *err)
{
    char w[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws)};
    return sy_pg_exec_in(sy_pg(store), ws, "DELETE FROM flags WHERE workspace_id = $1", 1, p, NULL,
                         err);
}

int sy_pg_flag_list(sy_store_t *store, int64_t ws, sy_store_flag_cb cb, void *arg, sy_err_t *err)
{
    char w[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws)};
    int rc = 0;
    PGresult *r =
        sy_pg_run_in(sy_pg(store), ws,
                     "SELECT key, definition, updated_ms FROM flags WHERE workspace_id = $1"
                     " ORDER BY key COLLATE \"C\"",
                     1, p, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        sy_store_flag_t f = {.key = PQgetvalue(r, i, 0),
                             .definition = PQgetvalue(r, i, 1),
                             .updated_ms = sy_pg_int_at(r, i, 2)};
        rc = cb(arg, &f);
    }
    PQclear(r);
    return rc;
}

/* In one statement (sy_flag_workspaces). */
int sy_pg_flag_workspaces(sy_store_t *store, sy_store_id_cb cb, void *arg, sy_err_t *err)
{
    int rc = 0;
    PGresult *r =
        sy_pg_run(sy_pg(store), "SELECT sy_flag_workspaces()", 0, NULL, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++)
        rc = cb(arg, sy_pg_int_at(r, i, 0));
    PQclear(r);
    return rc;
}

int sy_pg_flagset_get(sy_store_t *store, int64_t ws, char **evaluators, char **metadata,
                      sy_err_t *err)
{
    char w[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws)};
    int rc = 0;
    PGresult *r = sy_pg_run_in(sy_pg(store), ws,
                               "SELECT evaluators, metadata FROM flagsets WHERE workspace_id = $1",
                               1, p, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    bool row = PQntuples(r) > 0;
    *evaluators = strdup(row ? PQgetvalue(r, 0, 0) : "{}");
    *metadata = strdup(row ? PQgetvalue(r, 0, 1) : "{}");
    PQclear(r);
    if (!*evaluators || !*metadata) {
        free(*evaluators);
        free(*metadata);
        *evaluators = *metadata = NULL;
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    }
    return 0;
}

int sy_pg_flagset_put(sy_store_t *store, int64_t ws, const char *evaluators, const char *metadata,
                      sy_err_t *err)
{
    char w[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws), evaluators, metadata};
    return sy_pg_exec_in(
        sy_pg(store), ws,
        "INSERT INTO flagsets (workspace_id, evaluators, metadata) VALUES ($1, $2, $3)"
        " ON CONFLICT (workspace_id) DO UPDATE"
        " SET evaluators = excluded.evaluators, metadata = excluded.metadata",
        3, p, NULL, err);
}

/* ---- audit trail --------------------------------------------------------------------- */

int sy_pg_audit_add(sy_store_t *store, const sy_store_audit_t *a, sy_err_t *err)
{
    char w[SY_PG_INT_TEXT], ms[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, a->workspace),
                       sy_pg_i64(ms, a->at_ms),
                       a->actor,
                       a->action,
                       a->resource,
                       a->before,
                       a->after};
    return sy_pg_exec_in(
        sy_pg(store), a->workspace,
        "INSERT INTO audit (workspace_id, at_ms, actor, action, resource, before, after)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        7, p, NULL, err);
}

int sy_pg_audit_list(sy_store_t *store, const sy_store_audit_query_t *q, sy_store_audit_cb cb,
                     void *arg, sy_err_t *err)
{
    /* A resource ending in ':' is a prefix ("flag:" for every flag), else exact. */
    const char *res = q->resource;
    size_t len = res ? strlen(res) : 0;
    bool prefix = len > 0 && res[len - 1] == ':';
    char w[SY_PG_INT_TEXT], since[SY_PG_INT_TEXT], before[SY_PG_INT_TEXT], lim[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, q->workspace),    prefix ? NULL : res,
                       prefix ? res : NULL,           q->action,
                       sy_pg_i64(since, q->since_ms), sy_pg_i64(before, q->before_id),
                       sy_pg_limit(lim, q->limit)};
    int rc = 0;
    PGresult *r =
        sy_pg_run_in(sy_pg(store), q->workspace,
                     "SELECT id, workspace_id, at_ms, actor, action, resource, before, after"
                     " FROM audit WHERE workspace_id = $1::bigint"
                     " AND ($2::text IS NULL OR resource = $2::text)"
                     " AND ($3::text IS NULL OR starts_with(resource, $3::text))"
                     " AND ($4::text IS NULL OR action = $4::text) AND at_ms >= $5::bigint"
                     " AND ($6::bigint = 0 OR id < $6::bigint)"
                     " ORDER BY id DESC LIMIT $7::bigint",
                     7, p, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        sy_store_audit_t a = {.id = sy_pg_int_at(r, i, 0),
                              .workspace = sy_pg_int_at(r, i, 1),
                              .at_ms = sy_pg_int_at(r, i, 2),
                              .actor = PQgetvalue(r, i, 3),
                              .action = PQgetvalue(r, i, 4),
                              .resource = PQgetvalue(r, i, 5),
                              .before = sy_pg_text_at(r, i, 6),
                              .after = sy_pg_text_at(r, i, 7)};
        rc = cb(arg, &a);
    }
    PQclear(r);
    return rc;
}

/* An audit event a prune takes: its id and workspace. */
struct audit_old {
    int64_t id, ws;
};

static int by_ws_then_id(const void *a, const void *b)
{
    const struct audit_old *x = a, *y = b;
    if (x->ws != y->ws)
        return (x->ws > y->ws) - (x->ws < y->ws);
    return (x->id > y->id) - (x->id < y->id);
}

/* Deletes the chosen events of workspace v[0].ws (the first `k` of v); how many into *n. */
static int audit_delete(struct pg_store *s, const struct audit_old *v, size_t k, int64_t *n,
                        sy_err_t *err)
{
    /* The ids as an array's text, "{1,2,3}": one statement, whatever their number. */
    char *ids = malloc(k * (SY_PG_INT_TEXT + 1) + 3);
    if (!ids)
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    size_t o = 0;
    ids[o++] = '{';
    for (size_t i = 0; i < k; i++)
        o += (size_t)snprintf(ids + o, SY_PG_INT_TEXT + 1, "%s%" PRId64, i ? "," : "", v[i].id);
    ids[o++] = '}';
    ids[o] = '\0';
    char w[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, v[0].ws), ids};
    int rc = sy_pg_set_workspace(s, v[0].ws, err);
    PGresult *r = NULL;
    if (rc == 0)
        r = sy_pg_run(
            s, "DELETE FROM audit WHERE workspace_id = $1::bigint AND id = ANY($2::bigint[])", 2, p,
            PGRES_COMMAND_OK, &rc, err);
    free(ids);
    if (!r)
        return rc;
    *n += changed(r);
    PQclear(r);
    return 0;
}

/* A prune of everything older than `before`, every workspace's: what it deleted. */
struct older_than {
    int64_t before, deleted;
};

/* With no limit (limit < 0): every old event of one workspace; nothing to choose, so
 * nothing held in memory. */
static int audit_delete_all(struct pg_store *s, int64_t ws, void *arg, sy_err_t *err)
{
    struct older_than *o = arg;
    char w[SY_PG_INT_TEXT], ms[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws), sy_pg_i64(ms, o->before)};
    int rc = 0;
    PGresult *r = sy_pg_run(s, "DELETE FROM audit WHERE workspace_id = $1 AND at_ms < $2", 2, p,
                            PGRES_COMMAND_OK, &rc, err);
    if (!r)
        return rc;
    o->deleted += changed(r);
    PQclear(r);
    return 0;
}

/* Across every workspace, oldest first by id, up to `limit` in all: chosen in one statement
 * (sy_audit_old), then deleted workspace by workspace under each one's setting, only in the
 * workspaces that have some. */
int sy_pg_audit_prune(sy_store_t *store, int64_t before_ms, int64_t limit, int64_t *n,
                      sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    *n = 0;
    if (limit == 0)
        return 0;
    char ms[SY_PG_INT_TEXT], lim[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(ms, before_ms), sy_pg_i64(lim, limit)};
    bool own;
    int rc = sy_pg_own_begin(s, &own, err);
    if (rc < 0)
        return rc;
    if (limit < 0) {
        struct older_than all = {.before = before_ms};
        rc = sy_pg_own_end(s, own,
                           sy_pg_each_of(s, "SELECT sy_audit_old_workspaces($1::bigint)", 1, p,
                                         audit_delete_all, &all, err),
                           err);
        if (rc == 0)
            *n = all.deleted;
        return rc;
    }
    struct audit_old *v = NULL;
    size_t k = 0;
    PGresult *r = sy_pg_run(s, "SELECT audit, ws FROM sy_audit_old($1::bigint, $2::bigint)", 2, p,
                            PGRES_TUPLES_OK, &rc, err);
    if (r && PQntuples(r) > 0 && !(v = malloc((size_t)PQntuples(r) * sizeof(*v))))
        rc = sy_err_set(err, -ENOMEM, NULL, "out of memory");
    for (int i = 0; v && i < PQntuples(r); i++)
        v[k++] = (struct audit_old){sy_pg_int_at(r, i, 0), sy_pg_int_at(r, i, 1)};
    PQclear(r);
    if (k > 1)
        qsort(v, k, sizeof(*v), by_ws_then_id);
    int64_t deleted = 0;
    size_t i = 0;
    while (rc == 0 && i < k) {
        size_t j = i + 1; /* v[i..j): one workspace's */
        while (j < k && v[j].ws == v[i].ws)
            j++;
        rc = audit_delete(s, v + i, j - i, &deleted, err);
        i = j;
    }
    free(v);
    rc = sy_pg_own_end(s, own, rc, err);
    if (rc == 0)
        *n = deleted;
    return rc;
}

/* ---- workspace settings ---------------------------------------------------------------- */

int sy_pg_setting_put(sy_store_t *store, int64_t ws, const char *name, const char *value,
                      sy_err_t *err)
{
    char w[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws), name, value};
    return sy_pg_exec_in(
        sy_pg(store), ws,
        "INSERT INTO workspace_settings (workspace_id, name, value) VALUES ($1, $2, $3)"
        " ON CONFLICT (workspace_id, name) DO UPDATE SET value = excluded.value",
        3, p, NULL, err);
}

int sy_pg_setting_delete(sy_store_t *store, int64_t ws, const char *name, sy_err_t *err)
{
    char w[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws), name};
    return sy_pg_exec_in(sy_pg(store), ws,
                         "DELETE FROM workspace_settings WHERE workspace_id = $1 AND name = $2", 2,
                         p, NULL, err);
}

/* Every workspace's in one statement (sy_settings_all), by workspace, then name. */
int sy_pg_setting_list(sy_store_t *store, sy_store_setting_cb cb, void *arg, sy_err_t *err)
{
    int rc = 0;
    PGresult *r = sy_pg_run(sy_pg(store),
                            "SELECT workspace_id, name, value FROM sy_settings_all()"
                            " ORDER BY workspace_id, name COLLATE \"C\"",
                            0, NULL, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++)
        rc = cb(arg, sy_pg_int_at(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
    PQclear(r);
    return rc;
}

/* ---- proxy routes ------------------------------------------------------------------------ */

#define ROUTE_COLUMNS                                                                              \
    "id, workspace_id, name, definition, percentage_bp, enabled, created_ms, updated_ms"

int sy_pg_route_put(sy_store_t *store, const sy_store_route_t *r, int64_t *id, sy_err_t *err)
{
    char w[SY_PG_INT_TEXT], bp[SY_PG_INT_TEXT], cms[SY_PG_INT_TEXT], ums[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, r->workspace),
                       r->name,
                       r->definition,
                       sy_pg_i64(bp, r->percentage_bp),
                       r->enabled ? "1" : "0",
                       sy_pg_i64(cms, r->created_ms),
                       sy_pg_i64(ums, r->updated_ms)};
    int rc = 0;
    PGresult *res = sy_pg_run_in(
        sy_pg(store), r->workspace,
        "INSERT INTO routes (workspace_id, name, definition, percentage_bp, enabled,"
        " created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (workspace_id, name) DO UPDATE"
        " SET definition = excluded.definition, percentage_bp = excluded.percentage_bp,"
        " enabled = excluded.enabled, updated_ms = excluded.updated_ms RETURNING id",
        7, p, PGRES_TUPLES_OK, &rc, err);
    *id = res ? sy_pg_int_at(res, 0, 0) : 0;
    PQclear(res);
    return res ? 0 : rc;
}

int sy_pg_route_delete(sy_store_t *store, int64_t ws, const char *name, sy_err_t *err)
{
    char w[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws), name};
    int64_t n = 0;
    int rc =
        sy_pg_exec_in(sy_pg(store), ws, "DELETE FROM routes WHERE workspace_id = $1 AND name = $2",
                      2, p, &n, err);
    if (rc == 0 && n != 1)
        rc = sy_err_set(err, -ENOENT, "name", "no such route");
    return rc;
}

/* Every workspace's, by id (store.h's order: route ids are unique across workspaces), in one
 * statement (sy_routes_all). */
int sy_pg_route_list(sy_store_t *store, sy_store_route_cb cb, void *arg, sy_err_t *err)
{
    int rc = 0;
    PGresult *r =
        sy_pg_run(sy_pg(store), "SELECT " ROUTE_COLUMNS " FROM sy_routes_all() ORDER BY id", 0,
                  NULL, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    for (int j = 0; j < PQntuples(r) && rc == 0; j++) {
        sy_store_route_t route = {.id = sy_pg_int_at(r, j, 0),
                                  .workspace = sy_pg_int_at(r, j, 1),
                                  .name = PQgetvalue(r, j, 2),
                                  .definition = PQgetvalue(r, j, 3),
                                  .percentage_bp = sy_pg_int_at(r, j, 4),
                                  .enabled = strcmp(PQgetvalue(r, j, 5), "t") == 0,
                                  .created_ms = sy_pg_int_at(r, j, 6),
                                  .updated_ms = sy_pg_int_at(r, j, 7)};
        rc = cb(arg, &route);
    }
    PQclear(r);
    return rc;
}

/* ---- route minutes ----------------------------------------------------------------------- */

/* Not a prepared statement: the proxy's counters arrive once a minute per (route, domain,
 * upstream), in one transaction of a batch, where the statement costs what the round trip
 * does. */
int sy_pg_route_minute_add(sy_store_t *store, const sy_store_route_minute_t *m, sy_err_t *err)
{
    char w[SY_PG_INT_TEXT], min[SY_PG_INT_TEXT], req[SY_PG_INT_TEXT], errs[SY_PG_INT_TEXT];
    char total[SY_PG_DOUBLE_TEXT];
    const char *p[] = {sy_pg_i64(w, m->workspace),
                       m->route,
                       sy_pg_i64(min, m->minute),
                       m->domain,
                       m->upstream,
                       m->tried,
                       sy_pg_i64(req, m->requests),
                       sy_pg_i64(errs, m->errors),
                       sy_pg_double(total, true, m->total_ms),
                       m->hist,
                       m->status ? m->status : ""};
    return sy_pg_exec_in(
        sy_pg(store), m->workspace,
        "INSERT INTO route_minutes (workspace_id, route, minute, domain, upstream, tried,"
        " requests, errors, total_ms, hist, status)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        11, p, NULL, err);
}

int sy_pg_route_minute_list(sy_store_t *store, int64_t ws, const char *route, int64_t since,
                            sy_store_route_minute_cb cb, void *arg, sy_err_t *err)
{
    char w[SY_PG_INT_TEXT], from[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws), route, sy_pg_i64(from, since)};
    int rc = 0;
    PGresult *r = sy_pg_run_in(
        sy_pg(store), ws,
        "SELECT workspace_id, route, minute, domain, upstream, tried, requests, errors,"
        " total_ms, hist, status FROM route_minutes"
        " WHERE workspace_id = $1 AND route = $2 AND minute >= $3 ORDER BY minute, id",
        3, p, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        sy_store_route_minute_t m = {.workspace = sy_pg_int_at(r, i, 0),
                                     .route = PQgetvalue(r, i, 1),
                                     .minute = sy_pg_int_at(r, i, 2),
                                     .domain = PQgetvalue(r, i, 3),
                                     .upstream = PQgetvalue(r, i, 4),
                                     .tried = PQgetvalue(r, i, 5),
                                     .requests = sy_pg_int_at(r, i, 6),
                                     .errors = sy_pg_int_at(r, i, 7),
                                     .total_ms = sy_pg_double_at(r, i, 8),
                                     .hist = PQgetvalue(r, i, 9),
                                     .status = PQgetvalue(r, i, 10)};
        rc = cb(arg, &m);
    }
    PQclear(r);
    return rc;
}

static int minutes_prune_of(struct pg_store *s, int64_t ws, void *arg, sy_err_t *err)
{
    struct older_than *mp = arg;
    char w[SY_PG_INT_TEXT], before[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws), sy_pg_i64(before, mp->before)};
    int rc = 0;
    PGresult *r = sy_pg_run(s, "DELETE FROM route_minutes WHERE workspace_id = $1 AND minute < $2",
                            2, p, PGRES_COMMAND_OK, &rc, err);
    if (!r)
        return rc;
    mp->deleted += changed(r);
    PQclear(r);
    return 0;
}

int sy_pg_route_minute_prune(sy_store_t *store, int64_t before, int64_t *deleted, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    struct older_than mp = {.before = before};
    *deleted = 0;
    bool own;
    int rc = sy_pg_own_begin(s, &own, err);
    if (rc < 0)
        return rc;
    char b[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(b, before)};
    /* the workspaces with minutes that old, then a delete under each one's setting */
    rc = sy_pg_own_end(s, own,
                       sy_pg_each_of(s, "SELECT sy_route_minutes_old($1::bigint)", 1, p,
                                     minutes_prune_of, &mp, err),
                       err);
    if (rc == 0)
        *deleted = mp.deleted;
    return rc;
}
