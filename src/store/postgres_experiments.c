/* postgres_experiments.c - store/postgres: experiments, their arms (aggregates), SRM p, allocation
 * changes, checkpoints, timelines and the retention job's numbers (store.h's contract; postgres.c
 * says how statements, transactions and the workspace setting work here).
 *
 * Workspaces. experiment_put and change_add name theirs; the calls keyed by an experiment alone
 * (arms, SRM, checkpoints, timelines) find it with sy_pg_experiment_ws, which experiment_put
 * and experiment_list fill as they see experiments. The lists over every workspace (experiments,
 * arms, changes for < 0; SRM, checkpoints and their count) are one statement each through a
 * reader across workspaces (sy_experiments_all, ...: postgres_schema.c), in SQLite's one
 * order (by id or experiment); a timeline prune chooses its points in one (sy_timeline_old)
 * and deletes them under each workspace's setting, in the workspaces chosen only. A callback
 * never runs inside a transaction of ours. retention is a shared table: no setting.
 *
 * SQLite's answers, kept where PostgreSQL would answer otherwise:
 *  - A constraint SQLite reports as -EEXIST (an unknown workspace or experiment behind a foreign
 *    key, a NULL in a NOT NULL column) is checked before or within the statement (INSERT ...
 *    SELECT ... WHERE EXISTS, ON CONFLICT DO NOTHING), not left to fail: the same code and
 *    err.field, and the caller's transaction stays usable as SQLite's does.
 *  - The arm and SRM upserts of an unknown experiment or with a NaN (SQLite binds NaN as NULL)
 *    are -EIO, as SQLite's cached statements answer.
 *  - Doubles go as %.17g and come back through PostgreSQL's shortest exact output: bit-exact,
 *    except -0.0, stored as 0.0 because SQLite stores it so.
 *  - Arms are listed by experiment, then variant in byte order (SQLite's primary-key index);
 *    SRM p by experiment; checkpoints by experiment; changes and experiments by id.
 *
 * Differences a caller can notice:
 *  - An allocation change whose workspace is not its experiment's is refused (-EEXIST, as an
 *    unknown experiment): the foreign key is (workspace_id, experiment_id). SQLite stores it.
 *  - Ids come from identity sequences: a rolled-back or refused insert leaves a gap (SQLite
 *    gives max + 1 again).
 *  - A failure of PostgreSQL itself is -EIO with err.field "db" (SQLite's has ""), and aborts
 *    the caller's transaction: only a rollback follows.
 *  - timeline_prune takes the oldest points across workspaces; points of equal at_ms in
 *    different workspaces go in workspace order (SQLite's in insertion order).
 *  - A list that fails (the database, memory) has called its callback for no row; SQLite's
 *    may have called it for some first.
 *
 * Hot paths. arm_put and srm_put run once per variant of every ingest batch; they are not
 * prepared (PQprepare) because a handle cannot remember it has prepared them (struct pg_store,
 * postgres_internal.h, has no field for it) and preparing twice, or running one that a new
 * connection lacks, is an error that aborts the caller's transaction. Each costs its
 * sy_pg_set_workspace round trip too.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_internal.h"

/* The largest blob SQLite binds (SQLITE_MAX_LENGTH): beyond it SQLite's bind fails. */
#define BLOB_MAX 1000000000u

/* What SQLite's sy_sq_run answers for any constraint (a foreign key, NOT NULL, unique). */
static int constraint(sy_err_t *err)
{
    return sy_err_set(err, -EEXIST, NULL, "store: already exists");
}

/* What SQLite's cached statements (arms, SRM) answer for a constraint: a failed step. */
static int step_failed(sy_err_t *err, const char *what)
{
    return sy_err_set(err, -EIO, NULL, "store: step: %s constraint failed", what);
}

/* The workspace of `experiment` into *ws: 0; -ENOENT without touching `err` when there is no
 * such experiment (each caller answers as SQLite would); another failure with `err` filled. */
static int ws_of(struct pg_store *s, int64_t experiment, int64_t *ws, sy_err_t *err)
{
    sy_err_t e = {0};
    int rc = sy_pg_experiment_ws(s, experiment, ws, &e);
    if (rc < 0 && rc != -ENOENT && err)
        *err = e;
    return rc;
}

/* ---- rows, and rows gathered across workspaces ---------------------------------------- */

/* Where rows go: the caller's callback of the row's kind and its argument. */
struct sink {
    union {
        sy_store_experiment_cb experiment;
        sy_store_arm_cb arm;
        sy_store_srm_cb srm;
        sy_store_change_cb change;
        sy_store_checkpoint_cb checkpoint;
    } cb;
    void *arg;
    struct pg_store *s;
};

typedef int (*row_fn)(const PGresult *r, int i, const struct sink *to);

/* Calls `row` for each row of `r` in order; its first non-zero return. */
static int each_row(const PGresult *r, row_fn row, const struct sink *to)
{
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++)
        rc = row(r, i, to);
    return rc;
}

/* One workspace's rows of `sql` (its parameters `params`), handed to `row` after the
 * transaction. */
static int rows_of(struct pg_store *s, int64_t ws, const char *sql, int n,
                   const char *const *params, int result_format, row_fn row, const struct sink *to,
                   sy_err_t *err)
{
    int rc = 0;
    PGresult *r = sy_pg_run_in_bin(s, ws, sql, n, params, NULL, NULL, result_format,
                                   PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    rc = each_row(r, row, to);
    PQclear(r);
    return rc;
}

/* The rows of `sql`, one statement through a reader across workspaces (postgres_schema.c,
 * READER), handed to `row` in its order (its ORDER BY is SQLite's over all of them). */
static int rows_everywhere(struct pg_store *s, const char *sql, int result_format, row_fn row,
                           const struct sink *to, sy_err_t *err)
{
    int rc = 0;
    PGresult *r =
        sy_pg_run_bin(s, sql, 0, NULL, NULL, NULL, result_format, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    rc = each_row(r, row, to);
    PQclear(r);
    return rc;
}

/* ---- experiments ------------------------------------------------------------------------ */

#define EXPERIMENT_COLUMNS                                                                         \
    "id, workspace_id, key, flag_key, definition, state, created_ms, started_ms, stopped_ms,"      \
    " flag_before, weights"

static int experiment_row(const PGresult *r, int i, const struct sink *to)
{
    sy_store_experiment_t e = {.id = sy_pg_int_at(r, i, 0),
                               .workspace = sy_pg_int_at(r, i, 1),
                               .key = sy_pg_text_at(r, i, 2),
                               .flag_key = sy_pg_text_at(r, i, 3),
                               .definition = sy_pg_text_at(r, i, 4),
                               .state = sy_pg_text_at(r, i, 5),
                               .created_ms = sy_pg_int_at(r, i, 6),
                               .started_ms = sy_pg_int_at(r, i, 7),
                               .stopped_ms = sy_pg_int_at(r, i, 8),
                               .flag_before = sy_pg_text_at(r, i, 9),
                               .weights = sy_pg_text_at(r, i, 10)};
    sy_pg_experiment_ws_learn(to->s, e.id, e.workspace);
    return to->cb.experiment(to->arg, &e);
}

static int experiment_insert(struct pg_store *s, const sy_store_experiment_t *e, int64_t *id,
                             sy_err_t *err)
{
    /* SQLite answers a NULL in a NOT NULL column, an unknown workspace and a taken key alike. */
    if (!e->key || !e->flag_key || !e->definition || !e->state)
        return sy_err_set(err, -EEXIST, "key", "experiment \"%.64s\" already exists",
                          e->key ? e->key : "(null)");
    char ws[SY_PG_INT_TEXT], created[SY_PG_INT_TEXT], started[SY_PG_INT_TEXT],
        stopped[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(ws, e->workspace),
                       e->key,
                       e->flag_key,
                       e->definition,
                       e->state,
                       sy_pg_i64(created, e->created_ms),
                       sy_pg_i64(started, e->started_ms),
                       sy_pg_i64(stopped, e->stopped_ms),
                       e->flag_before,
                       e->weights};
    int rc = 0;
    PGresult *r =
        sy_pg_run_in_bin(s, e->workspace,
                         "INSERT INTO experiments (workspace_id, key, flag_key, definition, state,"
                         " created_ms, started_ms, stopped_ms, flag_before, weights)"
                         " SELECT $1::bigint, $2::text, $3::text, $4::text, $5::text, $6::bigint,"
                         " $7::bigint, $8::bigint, $9::text, $10::text"
                         " WHERE EXISTS (SELECT 1 FROM workspaces WHERE id = $1::bigint)"
                         " ON CONFLICT DO NOTHING RETURNING id",
                         10, p, NULL, NULL, 0, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    if (PQntuples(r) == 0) {
        rc = sy_err_set(err, -EEXIST, "key", "experiment \"%.64s\" already exists", e->key);
    } else {
        *id = sy_pg_int_at(r, 0, 0);
        sy_pg_experiment_ws_learn(s, *id, e->workspace);
    }
    PQclear(r);
    return rc;
}

static int experiment_update(struct pg_store *s, const sy_store_experiment_t *e, int64_t *id,
                             sy_err_t *err)
{
    char started[SY_PG_INT_TEXT], stopped[SY_PG_INT_TEXT], eid[SY_PG_INT_TEXT], ws[SY_PG_INT_TEXT];
    const char *p[] = {e->definition,
                       e->state,
                       sy_pg_i64(started, e->started_ms),
                       sy_pg_i64(stopped, e->stopped_ms),
                       e->flag_before,
                       e->weights,
                       sy_pg_i64(eid, e->id),
                       sy_pg_i64(ws, e->workspace)};
    /* A NULL definition or state: SQLite's NOT NULL fails on a row there is (-EEXIST), and
     * there is nothing to fail on without one (-ENOENT). Neither changes anything. */
    bool refuse = !e->definition || !e->state;
    int rc = 0;
    PGresult *r =
        refuse ? sy_pg_run_in_bin(s, e->workspace,
                                  "SELECT id FROM experiments WHERE id = $1 AND workspace_id = $2",
                                  2, p + 6, NULL, NULL, 0, PGRES_TUPLES_OK, &rc, err)
               : sy_pg_run_in_bin(
                     s, e->workspace,
                     "UPDATE experiments SET definition = $1, state = $2, started_ms = $3,"
                     " stopped_ms = $4, flag_before = $5, weights = $6"
                     " WHERE id = $7 AND workspace_id = $8 RETURNING id",
                     8, p, NULL, NULL, 0, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    if (PQntuples(r) == 0)
        rc = sy_err_set(err, -ENOENT, "key", "no experiment \"%.64s\"", e->key ? e->key : "(null)");
    else if (refuse)
        rc = constraint(err);
    else
        *id = e->id;
    PQclear(r);
    return rc;
}

int sy_pg_experiment_put(sy_store_t *store, const sy_store_experiment_t *e, int64_t *id,
                         sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    return e->id == 0 ? experiment_insert(s, e, id, err) : experiment_update(s, e, id, err);
}

int sy_pg_experiment_list(sy_store_t *store, int64_t ws, sy_store_experiment_cb cb, void *arg,
                          sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    struct sink to = {.cb.experiment = cb, .arg = arg, .s = s};
    if (ws < 0)
        return rows_everywhere(
            s, "SELECT " EXPERIMENT_COLUMNS " FROM sy_experiments_all() ORDER BY id", 0,
            experiment_row, &to, err);
    char w[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws)};
    return rows_of(s, ws,
                   "SELECT " EXPERIMENT_COLUMNS " FROM experiments WHERE workspace_id = $1"
                   " ORDER BY id",
                   1, p, 0, experiment_row, &to, err);
}

/* ---- aggregates ------------------------------------------------------------------------- */

#define ARM_COLUMNS                                                                                \
    "experiment_id, variant, units, conversions, value_mean, value_sd, errors, crossovers,"        \
    " seq_p, latency_n, latency_mean, latency_sd, cuped_seq_p"
/* SQLite reads them through its primary-key index: by variant, bytewise. */
#define ARM_ORDER " ORDER BY experiment_id, variant COLLATE \"C\""

int sy_pg_arm_put(sy_store_t *store, const sy_store_arm_t *a, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    if (!a->variant || isnan(a->value_mean) || isnan(a->value_sd) || isnan(a->seq_p) ||
        isnan(a->latency_mean) || isnan(a->latency_sd) || isnan(a->cuped_seq_p))
        return step_failed(err, "NOT NULL"); /* SQLite binds a NaN as NULL */
    int64_t ws;
    int rc = ws_of(s, a->experiment, &ws, err);
    if (rc == -ENOENT)
        return step_failed(err, "FOREIGN KEY");
    if (rc < 0)
        return rc;
    char w[SY_PG_INT_TEXT], x[SY_PG_INT_TEXT], units[SY_PG_INT_TEXT], conv[SY_PG_INT_TEXT],
        errors[SY_PG_INT_TEXT], cross[SY_PG_INT_TEXT], lat_n[SY_PG_INT_TEXT];
    char mean[SY_PG_DOUBLE_TEXT], sd[SY_PG_DOUBLE_TEXT], seq_p[SY_PG_DOUBLE_TEXT],
        lat_mean[SY_PG_DOUBLE_TEXT], lat_sd[SY_PG_DOUBLE_TEXT], cuped_p[SY_PG_DOUBLE_TEXT];
    const char *p[] = {sy_pg_i64(w, ws),
                       sy_pg_i64(x, a->experiment),
                       a->variant,
                       sy_pg_i64(units, a->units),
                       sy_pg_i64(conv, a->conversions),
                       sy_pg_double(mean, true, a->value_mean),
                       sy_pg_double(sd, true, a->value_sd),
                       sy_pg_i64(errors, a->errors),
                       sy_pg_i64(cross, a->crossovers),
                       sy_pg_double(seq_p, true, a->seq_p),
                       sy_pg_i64(lat_n, a->latency_n),
                       sy_pg_double(lat_mean, true, a->latency_mean),
                       sy_pg_double(lat_sd, true, a->latency_sd),
                       sy_pg_double(cuped_p, true, a->cuped_seq_p)};
    /* Only the foreign key can fail it (a conflict updates): an experiment the handle saw
     * inserted whose transaction rolled back. SQLite's cached statement says -EIO. */
    rc = sy_pg_exec_in(s, ws,
                       "INSERT INTO experiment_arms (workspace_id, " ARM_COLUMNS ")"
                       " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                       " ON CONFLICT (experiment_id, variant)"
                       " DO UPDATE SET units = excluded.units, conversions = excluded.conversions,"
                       " value_mean = excluded.value_mean, value_sd = excluded.value_sd,"
                       " errors = excluded.errors, crossovers = excluded.crossovers,"
                       " seq_p = excluded.seq_p, latency_n = excluded.latency_n,"
                       " latency_mean = excluded.latency_mean, latency_sd = excluded.latency_sd,"
                       " cuped_seq_p = excluded.cuped_seq_p",
                       14, p, NULL, err);
    return rc == -EEXIST ? step_failed(err, "FOREIGN KEY") : rc;
}

static int arm_row(const PGresult *r, int i, const struct sink *to)
{
    sy_store_arm_t a = {.experiment = sy_pg_int_at(r, i, 0),
                        .variant = sy_pg_text_at(r, i, 1),
                        .units = sy_pg_int_at(r, i, 2),
                        .conversions = sy_pg_int_at(r, i, 3),
                        .value_mean = sy_pg_double_at(r, i, 4),
                        .value_sd = sy_pg_double_at(r, i, 5),
                        .errors = sy_pg_int_at(r, i, 6),
                        .crossovers = sy_pg_int_at(r, i, 7),
                        .seq_p = sy_pg_double_at(r, i, 8),
                        .latency_n = sy_pg_int_at(r, i, 9),
                        .latency_mean = sy_pg_double_at(r, i, 10),
                        .latency_sd = sy_pg_double_at(r, i, 11),
                        .cuped_seq_p = sy_pg_double_at(r, i, 12)};
    return to->cb.arm(to->arg, &a);
}

int sy_pg_arm_list(sy_store_t *store, int64_t experiment, sy_store_arm_cb cb, void *arg,
                   sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    struct sink to = {.cb.arm = cb, .arg = arg, .s = s};
    if (experiment < 0)
        return rows_everywhere(s, "SELECT " ARM_COLUMNS " FROM sy_arms_all()" ARM_ORDER, 0, arm_row,
                               &to, err);
    int64_t ws;
    int rc = ws_of(s, experiment, &ws, err);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc; /* no rows */
    char x[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(x, experiment)};
    return rows_of(s, ws,
                   "SELECT " ARM_COLUMNS " FROM experiment_arms WHERE experiment_id = $1" ARM_ORDER,
                   1, p, 0, arm_row, &to, err);
}

int sy_pg_srm_put(sy_store_t *store, int64_t experiment, double p, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    if (isnan(p))
        return step_failed(err, "NOT NULL");
    int64_t ws;
    int rc = ws_of(s, experiment, &ws, err);
    if (rc == -ENOENT)
        return step_failed(err, "FOREIGN KEY");
    if (rc < 0)
        return rc;
    char w[SY_PG_INT_TEXT], x[SY_PG_INT_TEXT], v[SY_PG_DOUBLE_TEXT];
    const char *params[] = {sy_pg_i64(w, ws), sy_pg_i64(x, experiment), sy_pg_double(v, true, p)};
    rc = sy_pg_exec_in(
        s, ws,
        "INSERT INTO experiment_srm (workspace_id, experiment_id, p) VALUES ($1, $2, $3)"
        " ON CONFLICT (experiment_id) DO UPDATE SET p = excluded.p",
        3, params, NULL, err);
    return rc == -EEXIST ? step_failed(err, "FOREIGN KEY") : rc; /* as arm_put */
}

static int srm_row(const PGresult *r, int i, const struct sink *to)
{
    return to->cb.srm(to->arg, sy_pg_int_at(r, i, 0), sy_pg_double_at(r, i, 1));
}

int sy_pg_srm_list(sy_store_t *store, sy_store_srm_cb cb, void *arg, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    struct sink to = {.cb.srm = cb, .arg = arg, .s = s};
    /* SQLite's experiment_id is its rowid: a scan is in its order. */
    return rows_everywhere(s, "SELECT experiment_id, p FROM sy_srm_all() ORDER BY experiment_id", 0,
                           srm_row, &to, err);
}

/* ---- allocation changes ------------------------------------------------------------------ */

#define CHANGE_COLUMNS                                                                             \
    "id, workspace_id, experiment_id, at_ms, action, actor, weights_before, weights_after, detail"

int sy_pg_change_add(sy_store_t *store, const sy_store_change_t *c, int64_t *id, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    if (!c->action || !c->actor || !c->before || !c->after || !c->detail)
        return constraint(err); /* SQLite's NOT NULL */
    char ws[SY_PG_INT_TEXT], x[SY_PG_INT_TEXT], at[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(ws, c->workspace),
                       sy_pg_i64(x, c->experiment),
                       sy_pg_i64(at, c->at_ms),
                       c->action,
                       c->actor,
                       c->before,
                       c->after,
                       c->detail};
    int rc = 0;
    /* No row: no such experiment in the workspace, which SQLite's foreign key refuses as a
     * constraint (SQLite's key is the experiment alone: see the opening comment). */
    PGresult *r =
        sy_pg_run_in_bin(s, c->workspace,
                         "INSERT INTO allocation_changes (workspace_id, experiment_id, at_ms,"
                         " action, actor, weights_before, weights_after, detail)"
                         " SELECT $1::bigint, $2::bigint, $3::bigint, $4::text, $5::text,"
                         " $6::text, $7::text, $8::text WHERE EXISTS (SELECT 1 FROM experiments"
                         " WHERE id = $2::bigint AND workspace_id = $1::bigint) RETURNING id",
                         8, p, NULL, NULL, 0, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    if (PQntuples(r) == 0)
        rc = constraint(err);
    else
        *id = sy_pg_int_at(r, 0, 0);
    PQclear(r);
    return rc;
}

static int change_row(const PGresult *r, int i, const struct sink *to)
{
    sy_store_change_t c = {.id = sy_pg_int_at(r, i, 0),
                           .workspace = sy_pg_int_at(r, i, 1),
                           .experiment = sy_pg_int_at(r, i, 2),
                           .at_ms = sy_pg_int_at(r, i, 3),
                           .action = sy_pg_text_at(r, i, 4),
                           .actor = sy_pg_text_at(r, i, 5),
                           .before = sy_pg_text_at(r, i, 6),
                           .after = sy_pg_text_at(r, i, 7),
                           .detail = sy_pg_text_at(r, i, 8)};
    return to->cb.change(to->arg, &c);
}

int sy_pg_change_list(sy_store_t *store, int64_t experiment, sy_store_change_cb cb, void *arg,
                      sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    struct sink to = {.cb.change = cb, .arg = arg, .s = s};
    if (experiment < 0)
        return rows_everywhere(s, "SELECT " CHANGE_COLUMNS " FROM sy_changes_after(0) ORDER BY id",
                               0, change_row, &to, err);
    int64_t ws;
    int rc = ws_of(s, experiment, &ws, err);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    char x[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(x, experiment)};
    return rows_of(s, ws,
                   "SELECT " CHANGE_COLUMNS " FROM allocation_changes WHERE experiment_id = $1"
                   " ORDER BY id",
                   1, p, 0, change_row, &to, err);
}

int sy_pg_change_after(sy_store_t *store, int64_t after, sy_store_change_cb cb, void *arg,
                       sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    struct sink to = {.cb.change = cb, .arg = arg, .s = s};
    char a[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(a, after)};
    int rc = 0;
    PGresult *r = sy_pg_run(s, "SELECT " CHANGE_COLUMNS " FROM sy_changes_after($1::bigint)", 1, p,
                            PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    rc = each_row(r, change_row, &to);
    PQclear(r);
    return rc;
}

/* The head of a write that refuses a row of an experiment that is not there (a handle learns an
 * experiment's workspace in a transaction that may roll back), as SQLite's foreign key does,
 * without failing and so aborting the caller's transaction: `x` holds the experiment $2, the
 * write inserts from it, and "SELECT count(*) FROM x" after it says whether it was there. */
#define WHEN_THERE "WITH x AS (SELECT id FROM experiments WHERE id = $2::bigint), put AS ("

/* ---- checkpoints ------------------------------------------------------------------------ */

/* Read with result format 1, for the bytea's raw bytes: the integers as text (whose binary
 * form is its text) so that sy_pg_int_at reads them. */
#define CHECKPOINT_COLUMNS "experiment_id::text, seq::text, state"

int sy_pg_checkpoint_put(sy_store_t *store, int64_t experiment, int64_t seq, const void *data,
                         size_t len, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    if (len > BLOB_MAX)
        return sy_err_set(err, -EIO, NULL, "store: bind: string or blob too big");
    if (!data)
        return constraint(err); /* SQLite binds a NULL blob as NULL: NOT NULL */
    int64_t ws;
    int rc = ws_of(s, experiment, &ws, err);
    if (rc == -ENOENT)
        return constraint(err); /* SQLite's foreign key */
    if (rc < 0)
        return rc;
    char w[SY_PG_INT_TEXT], x[SY_PG_INT_TEXT], q[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws), sy_pg_i64(x, experiment), sy_pg_i64(q, seq), data};
    const int lengths[] = {0, 0, 0, (int)len};
    const int formats[] = {0, 0, 0, 1};
    PGresult *r = sy_pg_run_in_bin(
        s, ws,
        WHEN_THERE "INSERT INTO experiment_checkpoints (workspace_id, experiment_id,"
                   " seq, state) SELECT $1::bigint, id, $3::bigint, $4::bytea FROM x"
                   " ON CONFLICT (experiment_id)"
                   " DO UPDATE SET seq = excluded.seq, state = excluded.state"
                   ") SELECT count(*) FROM x",
        4, p, lengths, formats, 0, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    if (sy_pg_int_at(r, 0, 0) == 0)
        rc = constraint(err); /* the experiment is gone: its insert was rolled back */
    PQclear(r);
    return rc;
}

static int checkpoint_row(const PGresult *r, int i, const struct sink *to)
{
    return to->cb.checkpoint(to->arg, sy_pg_int_at(r, i, 0), sy_pg_int_at(r, i, 1),
                             PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2));
}

int sy_pg_checkpoint_list(sy_store_t *store, sy_store_checkpoint_cb cb, void *arg, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    struct sink to = {.cb.checkpoint = cb, .arg = arg, .s = s};
    return rows_everywhere(s,
                           "SELECT " CHECKPOINT_COLUMNS " FROM sy_checkpoints_all()"
                           " ORDER BY experiment_id",
                           1, checkpoint_row, &to, err);
}

int sy_pg_checkpoint_count(sy_store_t *store, int64_t *n, sy_err_t *err)
{
    *n = 0;
    int rc = 0;
    PGresult *r =
        sy_pg_run(sy_pg(store), "SELECT sy_checkpoint_count()", 0, NULL, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    *n = sy_pg_int_at(r, 0, 0);
    PQclear(r);
    return 0;
}

int sy_pg_checkpoint_get(sy_store_t *store, int64_t experiment, sy_store_checkpoint_cb cb,
                         void *arg, bool *found, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    *found = false;
    int64_t ws;
    int rc = ws_of(s, experiment, &ws, err);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    char x[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(x, experiment)};
    PGresult *r = sy_pg_run_in_bin(s, ws,
                                   "SELECT " CHECKPOINT_COLUMNS " FROM experiment_checkpoints"
                                   " WHERE experiment_id = $1",
                                   1, p, NULL, NULL, 1, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    struct sink to = {.cb.checkpoint = cb, .arg = arg, .s = s};
    *found = PQntuples(r) > 0;
    rc = each_row(r, checkpoint_row, &to);
    PQclear(r);
    return rc;
}

/* ---- timelines --------------------------------------------------------------------------- */

#define TIMELINE_INSERT                                                                            \
    "INSERT INTO experiment_timeline (workspace_id, experiment_id, at_ms, point)"                  \
    " SELECT $1::bigint, id, $3::bigint, $4::text FROM x"

int sy_pg_timeline_put(sy_store_t *store, int64_t experiment, int64_t at_ms, const char *point,
                       bool replace, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    /* SQLite: OR IGNORE drops a row with a NULL before any foreign key is checked; OR REPLACE
     * has nothing to put in a NOT NULL column without a default and fails. */
    if (!point)
        return replace ? constraint(err) : 0;
    int64_t ws;
    int rc = ws_of(s, experiment, &ws, err);
    if (rc == -ENOENT)
        return constraint(err); /* SQLite's foreign key */
    if (rc < 0)
        return rc;
    char w[SY_PG_INT_TEXT], x[SY_PG_INT_TEXT], at[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(w, ws), sy_pg_i64(x, experiment), sy_pg_i64(at, at_ms), point};
    PGresult *r = sy_pg_run_in_bin(
        s, ws,
        replace ? WHEN_THERE TIMELINE_INSERT " ON CONFLICT (experiment_id, at_ms)"
                                             " DO UPDATE SET point = excluded.point"
                                             ") SELECT count(*) FROM x"
                : WHEN_THERE TIMELINE_INSERT " ON CONFLICT DO NOTHING) SELECT count(*) FROM x",
        4, p, NULL, NULL, 0, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    if (sy_pg_int_at(r, 0, 0) == 0)
        rc = constraint(err);
    PQclear(r);
    return rc;
}

int sy_pg_timeline_list(sy_store_t *store, int64_t experiment, int64_t since_ms, int64_t until_ms,
                        int64_t limit, sy_store_timeline_cb cb, void *arg, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    int64_t ws;
    int rc = ws_of(s, experiment, &ws, err);
    if (rc < 0)
        return rc == -ENOENT ? 0 : rc;
    char x[SY_PG_INT_TEXT], since[SY_PG_INT_TEXT], until[SY_PG_INT_TEXT], lim[SY_PG_INT_TEXT];
    /* SQLite's negative LIMIT is none: LIMIT NULL. */
    const char *p[] = {sy_pg_i64(x, experiment), sy_pg_i64(since, since_ms),
                       sy_pg_i64(until, until_ms), limit < 0 ? NULL : sy_pg_i64(lim, limit)};
    PGresult *r =
        sy_pg_run_in_bin(s, ws,
                         "SELECT at_ms, point FROM experiment_timeline WHERE experiment_id = $1"
                         " AND at_ms >= $2 AND at_ms <= $3 ORDER BY at_ms LIMIT $4",
                         4, p, NULL, NULL, 0, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++)
        rc = cb(arg, sy_pg_int_at(r, i, 0), PQgetvalue(r, i, 1));
    PQclear(r);
    return rc;
}

/* Deletes every point of the workspace older than *arg's before_ms: a prune without a limit. */
struct prune_all {
    const char *before; /* parameter text */
    int64_t n;          /* deleted */
};

static int prune_all_in(struct pg_store *s, int64_t ws, void *arg, sy_err_t *err)
{
    (void)ws;
    struct prune_all *a = arg;
    const char *p[] = {a->before};
    int rc = 0;
    PGresult *r = sy_pg_run(s, "DELETE FROM experiment_timeline WHERE at_ms < $1", 1, p,
                            PGRES_COMMAND_OK, &rc, err);
    if (!r)
        return rc;
    a->n += strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}

/* Appends "v," to the array text `buf` (cap bytes, *len used). */
static void append_i64(char *buf, size_t *len, int64_t v)
{
    *len += (size_t)sprintf(buf + *len, "%" PRId64 ",", v);
}

/* Deletes, under workspace `ws`'s setting, the points of rows [from, to) of `r` (columns: the
 * workspace, the experiment, at_ms); how many into *deleted. In the transaction open. */
static int delete_points(struct pg_store *s, const PGresult *r, int from, int to, int64_t ws,
                         int64_t *deleted, sy_err_t *err)
{
    size_t k = (size_t)(to - from);
    /* "{id,id,...}": SY_PG_INT_TEXT a number, its comma included. */
    char *xs = malloc(k * SY_PG_INT_TEXT + 3), *ats = malloc(k * SY_PG_INT_TEXT + 3);
    int rc = 0;
    if (!xs || !ats) {
        rc = sy_err_set(err, -ENOMEM, NULL, "out of memory");
        goto out_free;
    }
    size_t xl = 1, al = 1;
    xs[0] = ats[0] = '{';
    for (int i = from; i < to; i++) {
        append_i64(xs, &xl, sy_pg_int_at(r, i, 1));
        append_i64(ats, &al, sy_pg_int_at(r, i, 2));
    }
    strcpy(xs + xl - 1, "}"); /* over the last comma */
    strcpy(ats + al - 1, "}");
    const char *params[] = {xs, ats};
    rc = sy_pg_set_workspace(s, ws, err);
    PGresult *d = NULL;
    if (rc == 0)
        d = sy_pg_run(s,
                      "DELETE FROM experiment_timeline WHERE (experiment_id, at_ms) IN"
                      " (SELECT * FROM unnest($1::bigint[], $2::bigint[]))",
                      2, params, PGRES_COMMAND_OK, &rc, err);
    if (d) {
        *deleted += strtoll(PQcmdTuples(d), NULL, 10);
        PQclear(d);
    }
out_free:
    free(xs);
    free(ats);
    return rc;
}

int sy_pg_timeline_prune(sy_store_t *store, int64_t before_ms, int64_t limit, int64_t *n,
                         sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    *n = 0;
    if (limit == 0)
        return 0;
    char before[SY_PG_INT_TEXT], lim[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(before, before_ms), sy_pg_i64(lim, limit)};
    bool own;
    int rc = sy_pg_own_begin(s, &own, err);
    if (rc < 0)
        return rc;
    if (limit < 0) { /* SQLite's negative LIMIT: every point older */
        struct prune_all a = {.before = before};
        rc = sy_pg_own_end(s, own,
                           sy_pg_each_of(s, "SELECT sy_timeline_old_workspaces($1::bigint)", 1, p,
                                         prune_all_in, &a, err),
                           err);
        if (rc == 0)
            *n = a.n;
        return rc;
    }
    /* The oldest `limit` of all, in one statement, by workspace; then each workspace's. */
    int64_t deleted = 0;
    PGresult *r = sy_pg_run(s,
                            "SELECT ws, experiment, point_ms FROM sy_timeline_old($1::bigint,"
                            " $2::bigint) ORDER BY ws",
                            2, p, PGRES_TUPLES_OK, &rc, err);
    for (int i = 0, j; r && rc == 0 && i < PQntuples(r); i = j) {
        int64_t ws = sy_pg_int_at(r, i, 0);
        for (j = i + 1; j < PQntuples(r) && sy_pg_int_at(r, j, 0) == ws; j++)
            ;
        rc = delete_points(s, r, i, j, ws, &deleted, err);
    }
    PQclear(r);
    rc = sy_pg_own_end(s, own, rc, err);
    if (rc == 0)
        *n = deleted;
    return rc;
}

/* ---- the retention job's numbers: a shared table, no workspace setting ------------------- */

int sy_pg_retention_get(sy_store_t *store, const char *name, int64_t *value, sy_err_t *err)
{
    *value = 0;
    if (!name)
        return 0; /* SQLite: `name = NULL` matches no row */
    const char *p[] = {name};
    int rc = 0;
    PGresult *r = sy_pg_run(sy_pg(store), "SELECT value FROM retention WHERE name = $1", 1, p,
                            PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    if (PQntuples(r) > 0)
        *value = sy_pg_int_at(r, 0, 0);
    PQclear(r);
    return 0;
}

int sy_pg_retention_put(sy_store_t *store, const char *name, int64_t value, sy_err_t *err)
{
    if (!name)
        return 0; /* SQLite keeps a row no name can read (its TEXT PRIMARY KEY takes NULL) */
    char v[SY_PG_INT_TEXT];
    const char *p[] = {name, sy_pg_i64(v, value)};
    return sy_pg_exec(sy_pg(store),
                      "INSERT INTO retention (name, value) VALUES ($1, $2)"
                      " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                      2, p, err);
}
