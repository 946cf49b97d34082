/* postgres_notify.c - store/postgres: risk policies and the ledger, notification channels and the
 * notification queue (store.h's contract; postgres.c says how statements, transactions and the
 * workspace setting work here). Each operation answers as SQLite's (sqlite_kpi.c, sqlite_notify.c)
 * does: the same rows in the same order, the same codes.
 *
 * Reads run their statement (in a transaction of their own when the caller has none), end that
 * transaction, and only then call the caller's callback, which may so call the store itself.
 *
 * Across workspaces. The notifier's calls, each second (due, next; prune: which workspaces
 * have something to prune) and the board's counts of every workspace are one statement
 * each through a reader across workspaces (sy_notifications_due, sy_notification_next,
 * sy_notifications_done, sy_notification_type_counts: postgres_schema.c), in SQLite's
 * order. The rare lists and counts of every workspace (ws < 0: an operator's) still go
 * workspace by workspace (sy_pg_each_workspace) and merge: channels by id, counts added.
 * sy_store_notification_update has a notification id alone: its workspace comes from the
 * SECURITY DEFINER function sy_notification_workspace (postgres_schema.c), asked at each call
 * (nothing cached: an id is updated a few times, then pruned).
 *
 * The daily limit. SQLite's BEGIN IMMEDIATE makes the engine's check (risk_reserved) and its
 * reservation (risk_add) one at a time across handles. Here risk_reserved takes a transaction
 * advisory lock on (workspace, domain, day) before it sums, so a second reservation in the same
 * day waits for the first's commit and then counts it. The sum is SQLite's: the amounts in id
 * order, added as the SQLite linked into this binary adds them (plainly before 3.43, with
 * Kahan-Babuska-Neumaier compensation since), so that a limit decides alike on both stores.
 *
 * Names are ordered by bytes (COLLATE "C"), as SQLite's BINARY orders them, whatever the
 * database's collation.
 *
 * Differences a caller could notice:
 * - A constraint (a NULL where the schema wants text; a type, status or outcome outside its
 *   CHECK; no such channel for a notification) fails with -EEXIST and no field, as SQLite's
 *   (sy_pg_error). notification_add skips a row
 *   with a NULL text or an unknown level or action (id 0, no error), as SQLite's INSERT OR
 *   IGNORE does. A notification naming a channel of another workspace is refused here (the
 *   foreign key holds the workspace), accepted by SQLite.
 * - Text must be valid UTF-8: PostgreSQL refuses other bytes (-EIO), SQLite stores them.
 * - A list or count of every workspace (ws < 0) is one statement a workspace (READ
 *   COMMITTED): a commit between two of them can be seen in the later workspaces' rows only.
 *   SQLite's is one snapshot.
 * - A second reservation check of the same (workspace, domain, day) waits for the first's
 *   transaction, at most 5 s (the handle's lock_timeout, as SQLite's busy timeout), then -EIO.
 * - sy_store_calls counts BEGIN, the workspace setting and COMMIT too, and one statement a
 *   workspace across workspaces.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_internal.h"

static bool bool_at(const PGresult *r, int row, int col)
{
    return PQgetvalue(r, row, col)[0] == 't';
}

/* Opens a transaction of our own when the caller has none and sets workspace `ws` in it. On a
 * failure the transaction of our own is over (rolled back). */
static int enter(struct pg_store *s, int64_t ws, bool *own, sy_err_t *err)
{
    int rc = sy_pg_own_begin(s, own, err);
    if (rc < 0)
        return rc;
    rc = sy_pg_set_workspace(s, ws, err);
    return rc < 0 ? sy_pg_own_end(s, *own, rc, err) : 0;
}

/* Runs one statement under workspace `ws` and ends the transaction of our own: the result (the
 * caller PQclears it), or NULL with *rc and `err` set. */
static PGresult *run_in(struct pg_store *s, int64_t ws, const char *sql, int n,
                        const char *const *p, int *rc, sy_err_t *err)
{
    bool own;
    if ((*rc = enter(s, ws, &own, err)) < 0)
        return NULL;
    PGresult *r = sy_pg_run(s, sql, n, p, PGRES_TUPLES_OK, rc, err);
    *rc = sy_pg_own_end(s, own, r ? 0 : *rc, err);
    if (*rc < 0) {
        PQclear(r);
        return NULL;
    }
    return r;
}

/* ---- one statement in every workspace ----------------------------------------------------- */

/* A statement run in each workspace, its first parameter the workspace, and its results. */
struct each {
    const char *sql;
    int n;                   /* parameters, p[0] included */
    const char *p[4];        /* p[0] is set to each workspace in turn */
    char ws[SY_PG_INT_TEXT]; /* p[0]'s text */
    PGresult **res;          /* one a workspace, in workspace order */
    size_t len, cap;         /* res's used and allocated entries */
};

static int each_one(struct pg_store *s, int64_t ws, void *arg, sy_err_t *err)
{
    struct each *e = arg;
    if (e->len == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        PGresult **grown = realloc(e->res, cap * sizeof(*grown));
        if (!grown)
            return sy_err_set(err, -ENOMEM, NULL, "out of memory");
        e->res = grown;
        e->cap = cap;
    }
    e->p[0] = sy_pg_i64(e->ws, ws);
    int rc = 0;
    PGresult *r = sy_pg_run(s, e->sql, e->n, e->p, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    e->res[e->len++] = r;
    return 0;
}

static void each_free(struct each *e)
{
    for (size_t i = 0; i < e->len; i++)
        PQclear(e->res[i]);
    free(e->res);
}

/* Runs e->sql in every workspace, each under its own setting, in one transaction (ours when the
 * caller has none, ended before this returns). On a failure nothing is kept. */
static int each_run(struct pg_store *s, struct each *e, sy_err_t *err)
{
    bool own;
    int rc = sy_pg_own_begin(s, &own, err);
    if (rc < 0)
        return rc;
    rc = sy_pg_own_end(s, own, sy_pg_each_workspace(s, each_one, e, err), err);
    if (rc < 0) {
        each_free(e);
        *e = (struct each){0};
    }
    return rc;
}

/* A row of one of the results, with the two integers it is sorted by. */
struct ref {
    const PGresult *r;
    int row;
    int64_t k1, k2;
};

static int ref_cmp(const void *a, const void *b)
{
    const struct ref *x = a, *y = b;
    if (x->k1 != y->k1)
        return x->k1 < y->k1 ? -1 : 1;
    return x->k2 < y->k2 ? -1 : x->k2 > y->k2;
}

/* Every row of e's results sorted by columns (c1, c2) (c2 < 0: by c1 alone) into *out (owned:
 * free()), *n of them. */
static int each_sorted(const struct each *e, int c1, int c2, struct ref **out, size_t *n,
                       sy_err_t *err)
{
    size_t total = 0;
    for (size_t i = 0; i < e->len; i++)
        total += (size_t)PQntuples(e->res[i]);
    *out = NULL;
    *n = 0;
    if (total == 0)
        return 0;
    struct ref *v = calloc(total, sizeof(*v));
    if (!v)
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < e->len; i++)
        for (int row = 0; row < PQntuples(e->res[i]); row++)
            v[k++] = (struct ref){e->res[i], row, sy_pg_int_at(e->res[i], row, c1),
                                  c2 < 0 ? 0 : sy_pg_int_at(e->res[i], row, c2)};
    qsort(v, total, sizeof(*v), ref_cmp);
    *out = v;
    *n = total;
    return 0;
}

/* ---- the risk guard ------------------------------------------------------------------------ */

int sy_pg_risk_policy_put(sy_store_t *store, const sy_store_risk_policy_t *p, sy_err_t *err)
{
    char ws[SY_PG_INT_TEXT], ms[SY_PG_INT_TEXT], act[SY_PG_DOUBLE_TEXT], day[SY_PG_DOUBLE_TEXT];
    const char *params[] = {sy_pg_i64(ws, p->workspace),
                            p->domain,
                            p->enabled ? "1" : "0",
                            p->reason,
                            p->changed_by,
                            sy_pg_i64(ms, p->updated_ms),
                            sy_pg_double(act, p->has_max_per_action, p->max_per_action),
                            sy_pg_double(day, p->has_max_per_day, p->max_per_day)};
    int rc = 0;
    PGresult *r = run_in(sy_pg(store), p->workspace,
                         "INSERT INTO risk_policies (workspace_id, domain, enabled, reason,"
                         " changed_by, updated_ms, max_per_action, max_per_day)"
                         " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                         " ON CONFLICT (workspace_id, domain) DO UPDATE SET"
                         " enabled = EXCLUDED.enabled, reason = EXCLUDED.reason,"
                         " changed_by = EXCLUDED.changed_by, updated_ms = EXCLUDED.updated_ms,"
                         " max_per_action = EXCLUDED.max_per_action,"
                         " max_per_day = EXCLUDED.max_per_day RETURNING 1",
                         8, params, &rc, err);
    PQclear(r);
    return rc;
}

int sy_pg_risk_policy_list(sy_store_t *store, int64_t ws, const char *domain,
                           sy_store_risk_policy_cb cb, void *arg, sy_err_t *err)
{
    char w[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws), domain};
    int rc = 0;
    PGresult *r =
        run_in(sy_pg(store), ws,
               domain ? "SELECT domain, enabled, max_per_action, max_per_day, reason, changed_by,"
                        " updated_ms, workspace_id FROM risk_policies"
                        " WHERE workspace_id = $1 AND domain = $2"
                      : "SELECT domain, enabled, max_per_action, max_per_day, reason, changed_by,"
                        " updated_ms, workspace_id FROM risk_policies"
                        " WHERE workspace_id = $1 ORDER BY domain COLLATE \"C\"",
               domain ? 2 : 1, p, &rc, err);
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        sy_store_risk_policy_t pol = {
            .workspace = sy_pg_int_at(r, i, 7),
            .domain = PQgetvalue(r, i, 0),
            .enabled = bool_at(r, i, 1),
            .has_max_per_action = !PQgetisnull(r, i, 2),
            .max_per_action = sy_pg_double_at(r, i, 2),
            .has_max_per_day = !PQgetisnull(r, i, 3),
            .max_per_day = sy_pg_double_at(r, i, 3),
            .reason = PQgetvalue(r, i, 4),
            .changed_by = PQgetvalue(r, i, 5),
            .updated_ms = sy_pg_int_at(r, i, 6),
        };
        rc = cb(arg, &pol);
    }
    PQclear(r);
    return rc;
}

int sy_pg_risk_add(sy_store_t *store, const sy_store_risk_entry_t *e, int64_t *id, sy_err_t *err)
{
    char ws[SY_PG_INT_TEXT], at[SY_PG_INT_TEXT], amount[SY_PG_DOUBLE_TEXT];
    const char *p[] = {sy_pg_i64(ws, e->workspace),
                       e->domain,
                       e->day,
                       sy_pg_double(amount, true, e->amount),
                       e->actor,
                       e->correlation_id,
                       e->outcome,
                       e->reason,
                       sy_pg_i64(at, e->at_ms)};
    int rc = 0;
    PGresult *r = run_in(sy_pg(store), e->workspace,
                         "INSERT INTO risk_ledger (workspace_id, domain, day, amount, actor,"
                         " correlation_id, outcome, reason, at_ms)"
                         " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                         9, p, &rc, err);
    if (!r)
        return rc;
    *id = sy_pg_int_at(r, 0, 0);
    PQclear(r);
    return 0;
}

/* The amounts of `r` (column 0, in its order) added as SQLite's sum() adds REAL values: plainly
 * before 3.43.0, with Kahan-Babuska-Neumaier compensation since (its func.c, whose grouping of
 * the operations this keeps; volatile stops a compiler from regrouping them). */
static double sqlite_sum(const PGresult *r)
{
    volatile double sum = 0, comp = 0;
    bool kbn = sqlite3_libversion_number() >= 3043000;
    for (int i = 0; i < PQntuples(r); i++) {
        volatile double v = sy_pg_double_at(r, i, 0);
        if (!kbn) {
            sum += v;
            continue;
        }
        volatile double t = sum + v;
        if (fabs(sum) > fabs(v))
            comp += (sum - t) + v;
        else
            comp += (v - t) + sum;
        sum = t;
    }
    return kbn && isfinite(comp) ? sum + comp : sum;
}

int sy_pg_risk_reserved(sy_store_t *store, int64_t ws, const char *domain, const char *day,
                        double *sum, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    *sum = 0;
    char w[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws), day, domain};
    bool own;
    int rc = enter(s, ws, &own, err);
    if (rc < 0)
        return rc;
    /* Held to the end of the caller's transaction: the reservation it adds next is counted by
     * the next one to ask (a statement of its own: a statement's snapshot predates its locks). */
    PGresult *r = sy_pg_run(s,
                            "SELECT pg_advisory_xact_lock(25, hashtext($1::text || '/' || $3::text "
                            "|| '/' || $2::text))",
                            3, p, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return sy_pg_own_end(s, own, rc, err);
    PQclear(r);
    r = sy_pg_run(s,
                  "SELECT amount FROM risk_ledger WHERE workspace_id = $1 AND day = $2"
                  " AND domain = $3 AND outcome = 'reserved' ORDER BY id",
                  3, p, PGRES_TUPLES_OK, &rc, err);
    rc = sy_pg_own_end(s, own, r ? 0 : rc, err);
    if (rc == 0)
        *sum = sqlite_sum(r);
    PQclear(r);
    return rc;
}

int sy_pg_risk_release(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    char ms[SY_PG_INT_TEXT], w[SY_PG_INT_TEXT], i[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(ms, now_ms), sy_pg_i64(w, ws), sy_pg_i64(i, id)};
    bool own;
    int rc = enter(s, ws, &own, err);
    if (rc < 0)
        return rc;
    PGresult *r = sy_pg_run(s,
                            "UPDATE risk_ledger SET outcome = 'released', released_ms = $1"
                            " WHERE workspace_id = $2 AND id = $3 AND outcome = 'reserved'"
                            " RETURNING id",
                            3, p, PGRES_TUPLES_OK, &rc, err);
    if (!r || PQntuples(r) == 1) {
        PQclear(r);
        return sy_pg_own_end(s, own, rc, err);
    }
    PQclear(r);
    r = sy_pg_run(s, "SELECT outcome FROM risk_ledger WHERE workspace_id = $1 AND id = $2", 2,
                  p + 1, PGRES_TUPLES_OK, &rc, err);
    rc = sy_pg_own_end(s, own, r ? 0 : rc, err);
    if (rc == 0)
        rc = PQntuples(r) > 0 ? sy_err_set(err, SY_ECONFLICT, "reservation_id",
                                           "the reservation was denied or is released already")
                              : sy_err_set(err, -ENOENT, "reservation_id", "no such reservation");
    PQclear(r);
    return rc;
}

int sy_pg_risk_list(sy_store_t *store, int64_t ws, const char *day, int64_t id,
                    sy_store_risk_entry_cb cb, void *arg, sy_err_t *err)
{
#define RISK_COLUMNS                                                                               \
    "SELECT id, domain, day, amount, actor, correlation_id, outcome, reason, at_ms,"               \
    " coalesce(released_ms, 0), workspace_id FROM risk_ledger WHERE workspace_id = $1"
    char w[SY_PG_INT_TEXT], i[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws), day ? day : sy_pg_i64(i, id)};
    int rc = 0;
    PGresult *r =
        run_in(sy_pg(store), ws,
               day ? RISK_COLUMNS " AND day = $2 ORDER BY id" : RISK_COLUMNS " AND id = $2", 2, p,
               &rc, err);
#undef RISK_COLUMNS
    if (!r)
        return rc;
    for (int k = 0; k < PQntuples(r) && rc == 0; k++) {
        sy_store_risk_entry_t e = {.id = sy_pg_int_at(r, k, 0),
                                   .workspace = sy_pg_int_at(r, k, 10),
                                   .domain = PQgetvalue(r, k, 1),
                                   .day = PQgetvalue(r, k, 2),
                                   .amount = sy_pg_double_at(r, k, 3),
                                   .actor = PQgetvalue(r, k, 4),
                                   .correlation_id = sy_pg_text_at(r, k, 5),
                                   .outcome = PQgetvalue(r, k, 6),
                                   .reason = sy_pg_text_at(r, k, 7),
                                   .at_ms = sy_pg_int_at(r, k, 8),
                                   .released_ms = sy_pg_int_at(r, k, 9)};
        rc = cb(arg, &e);
    }
    PQclear(r);
    return rc;
}

/* ---- notification channels ---------------------------------------------------------------- */

int sy_pg_channel_add(sy_store_t *store, const sy_store_channel_t *c, int64_t *id, sy_err_t *err)
{
    char ws[SY_PG_INT_TEXT], ms[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(ws, c->workspace),
                       c->type,
                       c->name,
                       c->config,
                       c->secrets,
                       c->enabled ? "1" : "0",
                       sy_pg_i64(ms, c->created_ms)};
    int rc = 0;
    PGresult *r = run_in(sy_pg(store), c->workspace,
                         "INSERT INTO notification_channels (workspace_id, type, name, config,"
                         " secrets, enabled, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                         " RETURNING id",
                         7, p, &rc, err);
    if (!r)
        return rc;
    *id = sy_pg_int_at(r, 0, 0);
    PQclear(r);
    return 0;
}

int sy_pg_channel_delete(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err)
{
    char ms[SY_PG_INT_TEXT], w[SY_PG_INT_TEXT], i[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(ms, now_ms), sy_pg_i64(w, ws), sy_pg_i64(i, id)};
    int rc = 0;
    PGresult *r = run_in(sy_pg(store), ws,
                         "UPDATE notification_channels SET deleted_ms = $1"
                         " WHERE workspace_id = $2 AND id = $3 AND deleted_ms = 0 RETURNING id",
                         3, p, &rc, err);
    if (!r)
        return rc;
    if (PQntuples(r) != 1)
        rc = sy_err_set(err, -ENOENT, "id", "no such channel");
    PQclear(r);
    return rc;
}

#define CHANNEL_COLUMNS                                                                            \
    "SELECT id, workspace_id, type, name, config, secrets, enabled, created_ms"                    \
    " FROM notification_channels WHERE deleted_ms = 0 AND workspace_id = $1"

static int channel_row(const PGresult *r, int i, sy_store_channel_cb cb, void *arg)
{
    sy_store_channel_t c = {.id = sy_pg_int_at(r, i, 0),
                            .workspace = sy_pg_int_at(r, i, 1),
                            .type = PQgetvalue(r, i, 2),
                            .name = PQgetvalue(r, i, 3),
                            .config = PQgetvalue(r, i, 4),
                            .secrets = PQgetvalue(r, i, 5),
                            .enabled = bool_at(r, i, 6),
                            .created_ms = sy_pg_int_at(r, i, 7)};
    return cb(arg, &c);
}

int sy_pg_channel_list(sy_store_t *store, int64_t ws, int64_t id, sy_store_channel_cb cb, void *arg,
                       sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    int rc = 0;
    if (id > 0 || ws >= 0) {
        char w[SY_PG_INT_TEXT], i[SY_PG_INT_TEXT];
        const char *p[] = {sy_pg_i64(w, ws), sy_pg_i64(i, id)};
        PGresult *r =
            run_in(s, ws, id > 0 ? CHANNEL_COLUMNS " AND id = $2" : CHANNEL_COLUMNS " ORDER BY id",
                   id > 0 ? 2 : 1, p, &rc, err);
        if (!r)
            return rc;
        for (int k = 0; k < PQntuples(r) && rc == 0; k++)
            rc = channel_row(r, k, cb, arg);
        PQclear(r);
        return rc;
    }
    /* Every workspace's, by id across them all as SQLite's one statement gives them. */
    struct each e = {.sql = CHANNEL_COLUMNS " ORDER BY id", .n = 1};
    struct ref *v;
    size_t n;
    if ((rc = each_run(s, &e, err)) < 0)
        return rc;
    if ((rc = each_sorted(&e, 0, -1, &v, &n, err)) == 0) {
        for (size_t k = 0; k < n && rc == 0; k++)
            rc = channel_row(v[k].r, v[k].row, cb, arg);
        free(v);
    }
    each_free(&e);
    return rc;
}
#undef CHANNEL_COLUMNS

/* ---- the outbox ------------------------------------------------------------------------- */

int sy_pg_notification_add(sy_store_t *store, const sy_store_notification_t *n, int64_t *id,
                           sy_err_t *err)
{
    char ws[SY_PG_INT_TEXT], ch[SY_PG_INT_TEXT], created[SY_PG_INT_TEXT], next[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(ws, n->workspace),
                       sy_pg_i64(ch, n->channel),
                       n->event,
                       n->level,
                       n->action,
                       n->resource,
                       n->key,
                       n->dedup,
                       n->payload,
                       sy_pg_i64(created, n->created_ms),
                       sy_pg_i64(next, n->next_ms)};
    int rc = 0;
    /* SQLite's INSERT OR IGNORE skips a row that breaks a NOT NULL or CHECK constraint as it
     * skips a duplicate (channel, key): the WHERE does the first, ON CONFLICT the second. */
    PGresult *r = run_in(
        sy_pg(store), n->workspace,
        "INSERT INTO notifications (workspace_id, channel_id, event, level, action, resource,"
        " idem_key, dedup_key, payload, status, created_ms, next_ms)"
        " SELECT $1::bigint, $2::bigint, $3::text, $4::text, $5::text, $6::text, $7::text,"
        " $8::text, $9::text, 'pending', $10::bigint, $11::bigint"
        " WHERE $4::text IN ('info', 'warning', 'critical')"
        " AND $5::text IN ('trigger', 'resolve') AND $3::text IS NOT NULL"
        " AND $6::text IS NOT NULL AND $7::text IS NOT NULL AND $8::text IS NOT NULL"
        " AND $9::text IS NOT NULL ON CONFLICT DO NOTHING RETURNING id",
        11, p, &rc, err);
    if (!r)
        return rc;
    *id = PQntuples(r) == 1 ? sy_pg_int_at(r, 0, 0) : 0;
    PQclear(r);
    return 0;
}

#define NOTIFICATION_COLUMNS                                                                       \
    "SELECT id, workspace_id, channel_id, event, level, action, resource, idem_key, dedup_key,"    \
    " payload, status, attempts, last_error, created_ms, next_ms, done_ms FROM notifications"

static int notification_row(const PGresult *r, int i, sy_store_notification_cb cb, void *arg)
{
    sy_store_notification_t n = {.id = sy_pg_int_at(r, i, 0),
                                 .workspace = sy_pg_int_at(r, i, 1),
                                 .channel = sy_pg_int_at(r, i, 2),
                                 .event = PQgetvalue(r, i, 3),
                                 .level = PQgetvalue(r, i, 4),
                                 .action = PQgetvalue(r, i, 5),
                                 .resource = PQgetvalue(r, i, 6),
                                 .key = PQgetvalue(r, i, 7),
                                 .dedup = PQgetvalue(r, i, 8),
                                 .payload = PQgetvalue(r, i, 9),
                                 .status = PQgetvalue(r, i, 10),
                                 .attempts = sy_pg_int_at(r, i, 11),
                                 .last_error = sy_pg_text_at(r, i, 12),
                                 .created_ms = sy_pg_int_at(r, i, 13),
                                 .next_ms = sy_pg_int_at(r, i, 14),
                                 .done_ms = sy_pg_int_at(r, i, 15)};
    return cb(arg, &n);
}

int sy_pg_notification_list(sy_store_t *store, const sy_store_notification_query_t *q,
                            sy_store_notification_cb cb, void *arg, sy_err_t *err)
{
    char ws[SY_PG_INT_TEXT], id[SY_PG_INT_TEXT], ch[SY_PG_INT_TEXT], before[SY_PG_INT_TEXT],
        limit[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(ws, q->workspace),     sy_pg_i64(id, q->id),
                       sy_pg_i64(ch, q->channel),       q->status,
                       sy_pg_i64(before, q->before_id), sy_pg_limit(limit, q->limit)};
    int rc = 0;
    /* NULL and 0 filters match every row: one statement for every combination */
    PGresult *r =
        run_in(sy_pg(store), q->workspace,
               NOTIFICATION_COLUMNS " WHERE workspace_id = $1 AND ($2::bigint = 0 OR id = $2)"
                                    " AND ($3::bigint = 0 OR channel_id = $3)"
                                    " AND ($4::text IS NULL OR status = $4)"
                                    " AND ($5::bigint = 0 OR id < $5) ORDER BY id DESC LIMIT $6",
               6, p, &rc, err);
    if (!r)
        return rc;
    for (int k = 0; k < PQntuples(r) && rc == 0; k++)
        rc = notification_row(r, k, cb, arg);
    PQclear(r);
    return rc;
}

/* Every workspace's due rows in one statement (sy_notifications_due), in SQLite's order. */
int sy_pg_notification_due(sy_store_t *store, int64_t now_ms, int limit,
                           sy_store_notification_cb cb, void *arg, sy_err_t *err)
{
    char now[SY_PG_INT_TEXT], lim[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(now, now_ms), sy_pg_limit(lim, limit)};
    int rc = 0;
    PGresult *r = sy_pg_run(sy_pg(store),
                            "SELECT id, workspace_id, channel_id, event, level, action, resource,"
                            " idem_key, dedup_key, payload, status, attempts, last_error,"
                            " created_ms, next_ms, done_ms"
                            " FROM sy_notifications_due($1::bigint, $2::bigint)",
                            2, p, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    for (int k = 0; k < PQntuples(r) && rc == 0; k++)
        rc = notification_row(r, k, cb, arg);
    PQclear(r);
    return rc;
}
#undef NOTIFICATION_COLUMNS

int sy_pg_notification_next(sy_store_t *store, int64_t *next_ms, sy_err_t *err)
{
    *next_ms = 0;
    int rc = 0;
    PGresult *r = sy_pg_run(sy_pg(store), "SELECT sy_notification_next()", 0, NULL, PGRES_TUPLES_OK,
                            &rc, err);
    if (!r)
        return rc;
    *next_ms = sy_pg_int_at(r, 0, 0); /* NULL (none pending): 0 */
    PQclear(r);
    return 0;
}

int sy_pg_notification_update(sy_store_t *store, int64_t id, const char *status, int64_t attempts,
                              const char *last_error, int64_t next_ms, int64_t done_ms,
                              sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    char i[SY_PG_INT_TEXT], a[SY_PG_INT_TEXT], next[SY_PG_INT_TEXT], done[SY_PG_INT_TEXT];
    const char *p[] = {status,
                       sy_pg_i64(a, attempts),
                       last_error,
                       sy_pg_i64(next, next_ms),
                       sy_pg_i64(done, done_ms),
                       sy_pg_i64(i, id)};
    int rc = 0;
    PGresult *r =
        sy_pg_run(s, "SELECT sy_notification_workspace($1)", 1, p + 5, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    bool found = !PQgetisnull(r, 0, 0);
    int64_t ws = found ? sy_pg_int_at(r, 0, 0) : 0;
    PQclear(r);
    if (!found)
        return 0; /* SQLite's UPDATE of no row: nothing to record, no error */
    r = run_in(s, ws,
               "UPDATE notifications SET status = $1, attempts = $2, last_error = $3,"
               " next_ms = $4, done_ms = $5 WHERE id = $6 RETURNING 1",
               6, p, &rc, err);
    PQclear(r);
    return rc;
}

/* Deletes one workspace's old notifications (*arg: the cutoff's text, then the count). */
struct pruned {
    const char *before;
    int64_t n;
};

static int prune_in(struct pg_store *s, int64_t ws, void *arg, sy_err_t *err)
{
    struct pruned *pr = arg;
    char w[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws), pr->before};
    int rc = 0;
    PGresult *r = sy_pg_run(s,
                            "DELETE FROM notifications WHERE workspace_id = $1"
                            " AND status != 'pending' AND done_ms < $2",
                            2, p, PGRES_COMMAND_OK, &rc, err);
    if (!r)
        return rc;
    pr->n += strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}

/* The workspaces with something to prune, in one statement (sy_notifications_done), then a
 * delete under each one's setting, in one transaction. */
int sy_pg_notification_prune(sy_store_t *store, int64_t before_ms, int64_t *deleted, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    char before[SY_PG_INT_TEXT];
    struct pruned pr = {.before = sy_pg_i64(before, before_ms)};
    const char *p[] = {pr.before};
    *deleted = 0;
    bool own;
    int rc = sy_pg_own_begin(s, &own, err);
    if (rc < 0)
        return rc;
    rc = sy_pg_own_end(
        s, own,
        sy_pg_each_of(s, "SELECT sy_notifications_done($1::bigint)", 1, p, prune_in, &pr, err),
        err);
    if (rc == 0)
        *deleted = pr.n;
    return rc;
}

#define COUNTS                                                                                     \
    "count(*) FILTER (WHERE n.status = 'pending'), count(*) FILTER (WHERE n.status = "             \
    "'delivered'),"                                                                                \
    " count(*) FILTER (WHERE n.status = 'failed')"

/* Adds the rows of `r` (a type, then its three counts) to counts[i] of each types[i] it is. */
static void add_type_counts(const PGresult *r, const char *const *types, size_t n,
                            int64_t (*counts)[3])
{
    for (int row = 0; row < PQntuples(r); row++)
        for (size_t i = 0; i < n; i++)
            if (strcmp(PQgetvalue(r, row, 0), types[i]) == 0)
                for (int k = 0; k < 3; k++)
                    counts[i][k] += sy_pg_int_at(r, row, 1 + k);
}

int sy_pg_notification_counts(sy_store_t *store, int64_t ws, int64_t counts[3], sy_err_t *err)
{
    struct each e = {.sql = "SELECT " COUNTS " FROM notifications n WHERE n.workspace_id = $1",
                     .n = 1};
    int rc = 0;
    if (ws >= 0) {
        char w[SY_PG_INT_TEXT];
        const char *p[] = {sy_pg_i64(w, ws)};
        PGresult *r = run_in(sy_pg(store), ws, e.sql, 1, p, &rc, err);
        if (!r)
            return rc;
        for (int k = 0; k < 3; k++)
            counts[k] = sy_pg_int_at(r, 0, k);
        PQclear(r);
        return 0;
    }
    if ((rc = each_run(sy_pg(store), &e, err)) < 0)
        return rc;
    for (int k = 0; k < 3; k++) {
        counts[k] = 0;
        for (size_t i = 0; i < e.len; i++)
            counts[k] += sy_pg_int_at(e.res[i], 0, k);
    }
    each_free(&e);
    return 0;
}

int sy_pg_notification_type_counts(sy_store_t *store, int64_t ws, const char *const *types,
                                   size_t n, int64_t (*counts)[3], sy_err_t *err)
{
    struct each e = {.sql = "SELECT c.type, " COUNTS " FROM notifications n"
                            " JOIN notification_channels c ON c.id = n.channel_id"
                            " WHERE n.workspace_id = $1 GROUP BY c.type",
                     .n = 1};
    memset(counts, 0, n * sizeof(*counts));
    int rc = 0;
    if (ws >= 0) {
        char w[SY_PG_INT_TEXT];
        const char *p[] = {sy_pg_i64(w, ws)};
        PGresult *r = run_in(sy_pg(store), ws, e.sql, 1, p, &rc, err);
        if (!r)
            return rc;
        add_type_counts(r, types, n, counts);
        PQclear(r);
        return 0;
    }
    if ((rc = each_run(sy_pg(store), &e, err)) < 0)
        return rc;
    for (size_t i = 0; i < e.len; i++)
        add_type_counts(e.res[i], types, n, counts);
    each_free(&e);
    return 0;
}
#undef COUNTS

/* Every workspace's counts by type in one statement (sy_notification_type_counts), a call of
 * `cb` for each workspace with some of `types`. */
int sy_pg_notification_type_counts_each(sy_store_t *store, const char *const *types, size_t n,
                                        sy_store_type_counts_cb cb, void *arg, sy_err_t *err)
{
    int rc = 0;
    PGresult *r = sy_pg_run(sy_pg(store),
                            "SELECT ws, channel_type, pending, delivered, failed"
                            " FROM sy_notification_type_counts()",
                            0, NULL, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    int64_t counts[SY_STORE_TYPES_MAX][3];
    for (int row = 0, next; rc == 0 && row < PQntuples(r); row = next) {
        int64_t ws = sy_pg_int_at(r, row, 0);
        for (next = row + 1; next < PQntuples(r) && sy_pg_int_at(r, next, 0) == ws; next++)
            ;
        bool any = false;
        memset(counts, 0, sizeof(counts));
        for (int k = row; k < next; k++)
            for (size_t i = 0; i < n; i++)
                if (strcmp(PQgetvalue(r, k, 1), types[i]) == 0) {
                    for (int c = 0; c < 3; c++)
                        counts[i][c] = sy_pg_int_at(r, k, 2 + c);
                    any = true;
                }
        if (any)
            rc = cb(arg, ws, (const int64_t(*)[3])counts);
    }
    PQclear(r);
    return rc;
}
