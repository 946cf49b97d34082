/* postgres.c - store/postgres (issue 25), the PostgreSQL backend behind store.h, on libpq.
 * Every operation is built (this file: the handle, migrate, workspaces, tokens, the paths
 * across workspaces, LISTEN/NOTIFY and the leaders' lock; postgres_<group>.c the rest),
 * for several nodes on one database (docs/development.md, "Many nodes").
 *
 * Roles. The server connects as the application role, which owns nothing and is held by
 * FORCE ROW LEVEL SECURITY (postgres_schema.c). It cannot create the schema, so `open`
 * never does: a database without one is refused with a message naming `switchyard
 * migrate`, and sy_store_pg_migrate (postgres.h), connected as the owner role, applies it.
 *
 * Connection. One PGconn per handle, used by one thread at a time like the SQLite handle;
 * no pool. A lost connection fails calls with -EIO and is tried again outside a transaction
 * at most once a second (connected()).
 *
 * Workspaces. Every statement on a workspace's table runs in a transaction whose
 * app.workspace_id is that workspace: the function that knows the workspace sets it with
 * set_config(..., true) (SET LOCAL's function form, so that the id is a bound parameter)
 * just before its statement. Inside the caller's transaction (sy_store_begin) it sets it
 * there; outside one it opens its own transaction around the two (in_tx says which). A
 * transaction may so move from one workspace to the next; rows are only ever seen under
 * the setting of the statement that reads them. The workspaces table itself is shared (no
 * workspace policy), and tokens are found by hash across workspaces only through the
 * SECURITY DEFINER function sy_token_by_hash.
 */
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/postgres.h"
#include "store/postgres_internal.h"
#include "store/postgres_schema.h"

const char *sy_pg_i64(char *buf, int64_t v)
{
    snprintf(buf, SY_PG_INT_TEXT, "%" PRId64, v);
    return buf;
}

const char *sy_pg_double(char *buf, bool has, double v)
{
    if (!has || isnan(v))
        return NULL;
    if (isinf(v))
        return v > 0 ? "Infinity" : "-Infinity";
    snprintf(buf, SY_PG_DOUBLE_TEXT, "%.17g", v == 0 ? 0.0 : v);
    return buf;
}

const char *sy_pg_limit(char *buf, int64_t limit)
{
    return limit < 0 ? NULL : sy_pg_i64(buf, limit);
}

/* Fills `err` from the connection's or the result's message: -EEXIST for any constraint
 * (SQLite's answer), -EACCES for a privilege or row-level security refusal, -EIO otherwise. */
int sy_pg_error(struct pg_store *s, const PGresult *r, sy_err_t *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(s->db);
    int code = -EIO;
    /* Class 23, integrity constraint violation (a unique key, a NOT NULL, a CHECK, a foreign
     * key): -EEXIST with no field, as SQLite's store answers any SQLITE_CONSTRAINT. */
    if (state && strncmp(state, "23", 2) == 0)
        return sy_err_set(err, -EEXIST, NULL, "store: already exists");
    if (state && (strcmp(state, "42501") == 0 || strcmp(state, "42P17") == 0))
        code = -EACCES;
    size_t len = strcspn(msg ? msg : "", "\n");
    return sy_err_set(err, code, "db", "PostgreSQL: %.*s", (int)(len > 140 ? 140 : len),
                      msg ? msg : "");
}

/* Runs `sql` with `n` text parameters (NULL for SQL NULL). Returns the result (the caller
 * PQclears it) when its status is `want`; else NULL with `err` filled and *rc set. */
PGresult *sy_pg_run(struct pg_store *s, const char *sql, int n, const char *const *params,
                    ExecStatusType want, int *rc, sy_err_t *err)
{
    return sy_pg_run_bin(s, sql, n, params, NULL, NULL, 0, want, rc, err);
}

/* The channel every node listens on (sy_store_announce); a payload is "WS WHAT REVISION". */
#define CHANNEL "switchyard"

/* How often a lost connection is tried again: a database down costs each handle one
 * connection attempt a second, not one per call. */
#define RECONNECT_MS 1000

static int64_t monotonic_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The session's settings, on a new connection: 0, or -1 when one fails. A wait for a lock
 * gives up after 5 s (the statement fails: a write answers 503). A transaction left idle
 * for 30 s ends with its session: a node stopped (SIGSTOP, a hung host) while it held the
 * log's lock in a transaction would otherwise stop every node's appends until it woke; its
 * connection is made again when it does. No statement of ours leaves its transaction idle
 * that long: between two, a node replays a chunk of rows at most. */
static int session_setup(struct pg_store *s)
{
    const char *sql[] = {"SET lock_timeout = '5s'",
                         "SET idle_in_transaction_session_timeout = '30s'",
                         s->listening ? "LISTEN " CHANNEL : NULL};
    for (size_t i = 0; i < 3 && sql[i]; i++) {
        PGresult *r = PQexec(s->db, sql[i]);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok)
            return -1;
    }
    return 0;
}

/* Whether the connection can take a statement: a lost one (the database restarted, the
 * network cut) is tried again outside a transaction, at most once every RECONNECT_MS; the
 * leaders' lock went with it, and what was announced meanwhile was not heard (resync). */
static bool connected(struct pg_store *s)
{
    /* Between transactions, what the server said meanwhile is read first (one recv that
     * finds nothing, usually): a session it ended (a restart, pg_terminate_backend) is
     * found now and made again, not at the statement that would then fail. */
    if (PQstatus(s->db) == CONNECTION_OK &&
        (s->in_tx || (PQconsumeInput(s->db) && PQconsumeInput(s->db))) &&
        PQstatus(s->db) == CONNECTION_OK) /* twice: a FATAL message, then its end */
        return true;
    int64_t now = monotonic_ms();
    if (s->in_tx || (s->reconnect_ms != 0 && now - s->reconnect_ms < RECONNECT_MS))
        return false;
    s->reconnect_ms = now;
    s->leads = false;
    s->log_held = false; /* the locks were the old session's */
    PQreset(s->db);
    if (PQstatus(s->db) != CONNECTION_OK || session_setup(s) < 0)
        return false;
    s->resync = s->listening;
    return true;
}

PGresult *sy_pg_run_bin(struct pg_store *s, const char *sql, int n, const char *const *params,
                        const int *lengths, const int *formats, int result_format,
                        ExecStatusType want, int *rc, sy_err_t *err)
{
    s->calls++;
    if (s->fail_at > 0 && s->calls == s->fail_at) {
        *rc = sy_err_set(err, -EIO, "db", "injected failure at call %" PRId64, s->calls);
        return NULL;
    }
    if (!connected(s)) {
        *rc = sy_err_set(err, -EIO, "db",
                         "PostgreSQL: the connection is lost: no change can be made until it is "
                         "back (tried again every second)");
        return NULL;
    }
    PGresult *r = PQexecParams(s->db, sql, n, NULL, params, lengths, formats, result_format);
    if (PQresultStatus(r) == want)
        return r;
    *rc = sy_pg_error(s, r, err);
    PQclear(r);
    return NULL;
}

/* sy_pg_run() for a statement whose result is only its status. */
int sy_pg_exec(struct pg_store *s, const char *sql, int n, const char *const *params, sy_err_t *err)
{
    int rc = 0;
    PGresult *r = sy_pg_run(s, sql, n, params, PGRES_COMMAND_OK, &rc, err);
    PQclear(r);
    return r ? 0 : rc;
}

int64_t sy_pg_int_at(const PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

double sy_pg_double_at(const PGresult *r, int row, int col)
{
    return strtod(PQgetvalue(r, row, col), NULL); /* "" for NULL: 0 */
}

const char *sy_pg_text_at(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* Opens a transaction of our own when the caller has none; *own says whether it did. */
int sy_pg_own_begin(struct pg_store *s, bool *own, sy_err_t *err)
{
    *own = !s->in_tx;
    return *own ? sy_pg_exec(s, "BEGIN", 0, NULL, err) : 0;
}

/* Ends what own_begin opened: commits after success (rc 0), rolls back otherwise. */
int sy_pg_own_end(struct pg_store *s, bool own, int rc, sy_err_t *err)
{
    if (!own)
        return rc;
    if (rc < 0) {
        PQclear(PQexec(s->db, "ROLLBACK"));
        return rc;
    }
    /* a positive rc (a callback that stopped a list) is the caller's answer: kept */
    int crc = sy_pg_exec(s, "COMMIT", 0, NULL, err);
    if (crc < 0)
        PQclear(PQexec(s->db, "ROLLBACK"));
    return crc < 0 ? crc : rc;
}

/* Sets the transaction's workspace (SET LOCAL app.workspace_id = ws): the one thing row-level
 * security reads. Needs a transaction (own_begin or the caller's). */
int sy_pg_set_workspace(struct pg_store *s, int64_t ws, sy_err_t *err)
{
    /* The caller's transaction keeps its setting to its end: a batch of one workspace's
     * writes (the writer's group commit) sets it once. */
    if (s->in_tx && s->tx_ws == ws)
        return 0;
    char id[SY_PG_INT_TEXT];
    snprintf(id, sizeof(id), "%" PRId64, ws);
    const char *p[] = {id};
    int rc = 0;
    PGresult *r = sy_pg_run(s, "SELECT set_config('app.workspace_id', $1, true)", 1, p,
                            PGRES_TUPLES_OK, &rc, err);
    PQclear(r);
    if (r && s->in_tx)
        s->tx_ws = ws;
    return r ? 0 : rc;
}

PGresult *sy_pg_run_in_bin(struct pg_store *s, int64_t ws, const char *sql, int n,
                           const char *const *params, const int *lengths, const int *formats,
                           int result_format, ExecStatusType want, int *rc, sy_err_t *err)
{
    bool own;
    *rc = sy_pg_own_begin(s, &own, err);
    if (*rc < 0)
        return NULL;
    *rc = sy_pg_set_workspace(s, ws, err);
    PGresult *r = NULL;
    if (*rc == 0)
        r = sy_pg_run_bin(s, sql, n, params, lengths, formats, result_format, want, rc, err);
    *rc = sy_pg_own_end(s, own, r ? 0 : *rc, err);
    if (*rc < 0) {
        PQclear(r);
        return NULL;
    }
    return r;
}

PGresult *sy_pg_run_in(struct pg_store *s, int64_t ws, const char *sql, int n,
                       const char *const *params, ExecStatusType want, int *rc, sy_err_t *err)
{
    return sy_pg_run_in_bin(s, ws, sql, n, params, NULL, NULL, 0, want, rc, err);
}

int sy_pg_exec_in(struct pg_store *s, int64_t ws, const char *sql, int n, const char *const *params,
                  int64_t *changed, sy_err_t *err)
{
    int rc = 0;
    PGresult *r = sy_pg_run_in(s, ws, sql, n, params, PGRES_COMMAND_OK, &rc, err);
    if (!r)
        return rc;
    if (changed)
        *changed = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return 0;
}

int sy_pg_read_begin(struct pg_store *s, bool *own, sy_err_t *err)
{
    int rc = sy_pg_own_begin(s, own, err);
    if (rc < 0 || !*own)
        return rc;
    rc = sy_pg_exec(s, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", 0, NULL, err);
    return rc < 0 ? sy_pg_own_end(s, *own, rc, err) : 0;
}

/* ---- the explicit paths across workspaces ------------------------------------------ */

static size_t exp_ws_slot(const struct pg_store *s, int64_t experiment)
{
    uint64_t h = (uint64_t)experiment * 0x9E3779B97F4A7C15u;
    size_t i = (size_t)(h >> 32) & (s->exp_ws_cap - 1);
    while (s->exp_ws[i].experiment != 0 && s->exp_ws[i].experiment != experiment)
        i = (i + 1) & (s->exp_ws_cap - 1);
    return i;
}

void sy_pg_experiment_ws_learn(struct pg_store *s, int64_t experiment, int64_t ws)
{
    if (experiment <= 0)
        return;
    if ((s->exp_ws_len + 1) * 2 > s->exp_ws_cap) {
        size_t cap = s->exp_ws_cap ? s->exp_ws_cap * 2 : 64;
        struct pg_exp_ws *old = s->exp_ws, *grown = calloc(cap, sizeof(*grown));
        if (!grown)
            return; /* not remembered: asked again next time */
        size_t old_cap = s->exp_ws_cap;
        s->exp_ws = grown;
        s->exp_ws_cap = cap;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].experiment != 0)
                s->exp_ws[exp_ws_slot(s, old[i].experiment)] = old[i];
        free(old);
    }
    size_t i = exp_ws_slot(s, experiment);
    if (s->exp_ws[i].experiment == 0)
        s->exp_ws_len++;
    s->exp_ws[i] = (struct pg_exp_ws){experiment, ws};
}

int sy_pg_experiment_ws(struct pg_store *s, int64_t experiment, int64_t *ws, sy_err_t *err)
{
    if (s->exp_ws_cap > 0) {
        size_t i = exp_ws_slot(s, experiment);
        if (s->exp_ws[i].experiment == experiment) {
            *ws = s->exp_ws[i].workspace;
            return 0;
        }
    }
    char id[SY_PG_INT_TEXT];
    const char *p[] = {sy_pg_i64(id, experiment)};
    int rc = 0;
    PGresult *r =
        sy_pg_run(s, "SELECT sy_experiment_workspace($1)", 1, p, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    if (PQgetisnull(r, 0, 0)) {
        rc = sy_err_set(err, -ENOENT, "experiment", "no experiment %" PRId64, experiment);
    } else {
        *ws = sy_pg_int_at(r, 0, 0);
        sy_pg_experiment_ws_learn(s, experiment, *ws);
    }
    PQclear(r);
    return rc;
}

int sy_pg_each_of(struct pg_store *s, const char *sql, int n, const char *const *params,
                  sy_pg_ws_fn fn, void *arg, sy_err_t *err)
{
    int rc = 0;
    PGresult *r = sy_pg_run(s, sql, n, params, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        int64_t ws = sy_pg_int_at(r, i, 0);
        rc = sy_pg_set_workspace(s, ws, err);
        if (rc == 0)
            rc = fn(s, ws, arg, err);
    }
    PQclear(r);
    return rc;
}

int sy_pg_each_workspace(struct pg_store *s, sy_pg_ws_fn fn, void *arg, sy_err_t *err)
{
    return sy_pg_each_of(s, "SELECT id FROM workspaces ORDER BY id", 0, NULL, fn, arg, err);
}

/* The schema version of the database `db` is connected to: 0 without a schema_version
 * table, a negative code on an error. */
static int64_t version_of(PGconn *db, sy_err_t *err)
{
    /* Two queries: a statement naming a missing table fails at parse, whatever its CASE. */
    PGresult *r = PQexec(db, "SELECT to_regclass('schema_version') IS NOT NULL");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        goto out_error;
    bool has = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!has)
        return 0;
    r = PQexec(db, "SELECT coalesce(max(version), 0) FROM schema_version");
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        goto out_error;
    int64_t v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
out_error:
    PQclear(r);
    size_t len = strcspn(PQerrorMessage(db), "\n");
    return sy_err_set(err, -EIO, "db", "PostgreSQL: reading the schema version: %.*s",
                      (int)(len > 100 ? 100 : len), PQerrorMessage(db));
}

/* Connects to `uri`; NULL with `err` filled (libpq's first line, never the URI: it may hold
 * a password). */
static PGconn *connect_to(const char *uri, sy_err_t *err)
{
    PGconn *db = PQconnectdb(uri);
    if (!db) {
        sy_err_set(err, -ENOMEM, "db", "PostgreSQL: out of memory connecting");
        return NULL;
    }
    if (PQstatus(db) != CONNECTION_OK) {
        /* libpq repeats a connection string it cannot parse: never its password */
        char said[512];
        sy_store_redact(uri, PQerrorMessage(db), said, sizeof(said));
        size_t len = strcspn(said, "\n");
        sy_err_set(err, -EIO, "db", "PostgreSQL: cannot connect: %.*s",
                   (int)(len > 160 ? 160 : len), said);
        PQfinish(db);
        return NULL;
    }
    return db;
}

/* ---- migrate --------------------------------------------------------------------------- */

static int migrate_in(PGconn *db, const char *app_role, sy_err_t *err)
{
    struct pg_store s = {.db = db};
    const char *role[] = {app_role};
    char version[SY_PG_INT_TEXT];
    snprintf(version, sizeof(version), "%d", SY_PG_SCHEMA_VERSION);
    const char *vp[] = {version};
    int rc = sy_pg_exec(&s, "BEGIN", 0, NULL, err);
    if (rc < 0)
        return rc;
    /* Two migrations at once (two nodes deployed together): the second waits, then finds
     * the version and changes nothing. */
    PGresult *r =
        sy_pg_run(&s, "SELECT pg_advisory_xact_lock(2025)", 0, NULL, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        goto out_rollback;
    PQclear(r);
    /* The application role (checked even when nothing is to be done: a wrong one named is
     * a mistake to tell): one that row-level security holds, and not the owner. */
    const char *rp[] = {app_role};
    r = sy_pg_run(&s,
                  "SELECT rolsuper OR rolbypassrls, rolname = current_user FROM pg_roles"
                  " WHERE rolname = $1",
                  1, rp, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        goto out_rollback;
    if (PQntuples(r) == 0)
        rc = sy_err_set(err, -ENOENT, "app_role", "no role \"%.64s\": create it first", app_role);
    else if (strcmp(PQgetvalue(r, 0, 0), "t") == 0)
        rc = sy_err_set(err, -EINVAL, "app_role",
                        "role \"%.64s\" is a superuser or may bypass row-level security: the "
                        "servers' role must be held by it",
                        app_role);
    else if (strcmp(PQgetvalue(r, 0, 1), "t") == 0)
        rc = sy_err_set(err, -EINVAL, "app_role",
                        "role \"%.64s\" is the one migrating, the tables' owner: the servers "
                        "connect as another role",
                        app_role);
    PQclear(r);
    if (rc < 0)
        goto out_rollback;
    int64_t v = version_of(db, err);
    if (v < 0) {
        rc = (int)v;
        goto out_rollback;
    }
    if (v == SY_PG_SCHEMA_VERSION)
        return sy_pg_exec(&s, "COMMIT", 0, NULL, err);
    if (v >= SY_PG_UPGRADE_FROM && v < SY_PG_SCHEMA_VERSION) {
        /* an earlier version: its upgrades, in order */
        for (size_t i = (size_t)(v - SY_PG_UPGRADE_FROM); i < sy_pg_upgrade_count; i++) {
            r = PQexec(db, sy_pg_upgrades[i]);
            if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                rc = sy_pg_error(&s, r, err);
                PQclear(r);
                goto out_rollback;
            }
            PQclear(r);
        }
        goto out_version;
    }
    if (v != 0) {
        rc = sy_err_set(err, -ENOTSUP, "db",
                        "the database is at schema version %" PRId64 ", this switchyard knows %d",
                        v, SY_PG_SCHEMA_VERSION);
        goto out_rollback;
    }
    /* The schema grants the application role its rights by this name (a parameter). */
    r = sy_pg_run(&s, "SELECT set_config('switchyard.app_role', $1, true)", 1, role,
                  PGRES_TUPLES_OK, &rc, err);
    if (!r)
        goto out_rollback;
    PQclear(r);
    for (size_t i = 0; i < sy_pg_schema_count; i++) {
        /* Several commands in one entry: only the simple query protocol runs them. */
        r = PQexec(db, sy_pg_schema[i]);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            rc = sy_pg_error(&s, r, err);
            PQclear(r);
            goto out_rollback;
        }
        PQclear(r);
    }
out_version:
    rc = sy_pg_exec(&s, "INSERT INTO schema_version (version) VALUES ($1)", 1, vp, err);
    if (rc < 0)
        goto out_rollback;
    return sy_pg_exec(&s, "COMMIT", 0, NULL, err);
out_rollback:
    PQclear(PQexec(db, "ROLLBACK"));
    return rc;
}

int sy_store_pg_schema_version(void)
{
    return SY_PG_SCHEMA_VERSION;
}

int sy_store_pg_migrate(const char *owner_uri, const char *app_role, sy_err_t *err)
{
    if (!owner_uri || !*owner_uri || !app_role || !*app_role)
        return sy_err_set(err, -EINVAL, "db", "migrate needs the owner's URI and the app role");
    PGconn *db = connect_to(owner_uri, err);
    if (!db)
        return err ? err->code : -EIO;
    int rc = migrate_in(db, app_role, err);
    PQfinish(db);
    return rc;
}

/* ---- the handle ------------------------------------------------------------------------ */

/* The server's role must be one row-level security holds: not a superuser, not BYPASSRLS,
 * not the tables' owner (who could turn it off). -EPERM naming the role otherwise. */
static int refuse_unheld_role(struct pg_store *s, sy_err_t *err)
{
    int rc = 0;
    PGresult *r =
        sy_pg_run(s,
                  "SELECT r.rolsuper OR r.rolbypassrls, pg_has_role(current_user,"
                  " (SELECT relowner FROM pg_class WHERE oid = 'schema_version'::regclass),"
                  " 'MEMBER'), current_user FROM pg_roles r WHERE r.rolname = current_user",
                  0, NULL, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    if (PQntuples(r) == 1 &&
        (strcmp(PQgetvalue(r, 0, 0), "t") == 0 || strcmp(PQgetvalue(r, 0, 1), "t") == 0))
        rc = sy_err_set(err, -EPERM, "db",
                        "PostgreSQL: role \"%.64s\" is a superuser, may bypass row-level "
                        "security or owns the tables: a server connects as the application "
                        "role (docs/operations.md)",
                        PQgetvalue(r, 0, 2));
    PQclear(r);
    return rc;
}

static int pg_open(sy_store_t **out, const char *uri, sy_err_t *err)
{
    *out = NULL;
    struct pg_store *s = calloc(1, sizeof(*s));
    if (!s)
        return sy_err_set(err, -ENOMEM, "db", "out of memory");
    s->base.ops = &sy_store_postgres_ops;
    s->db = connect_to(uri, err);
    int rc = -EIO;
    if (!s->db) {
        rc = err ? err->code : -EIO;
        goto out_free;
    }
    int64_t v = version_of(s->db, err);
    if (v < 0) {
        rc = (int)v;
        goto out_finish;
    }
    if (v == 0) {
        rc = sy_err_set(err, -ENOENT, "db",
                        "the PostgreSQL database has no switchyard schema: run `switchyard "
                        "migrate` as its owner role first");
        goto out_finish;
    }
    if (v != SY_PG_SCHEMA_VERSION) {
        rc = sy_err_set(err, -ENOTSUP, "db",
                        "the database is at schema version %" PRId64 ", this switchyard knows %d",
                        v, SY_PG_SCHEMA_VERSION);
        goto out_finish;
    }
    /* A write waiting on another's lock (a row, a reservation's advisory lock) gives up
     * after 5 s with -EIO, as SQLite's busy timeout does. */
    if (session_setup(s) < 0) {
        rc = sy_pg_error(s, NULL, err);
        goto out_finish;
    }
    if ((rc = refuse_unheld_role(s, err)) < 0)
        goto out_finish;
    s->version = (int)v;
    *out = &s->base;
    return 0;
out_finish:
    PQfinish(s->db);
out_free:
    free(s);
    return rc;
}

static void pg_close(sy_store_t *store)
{
    struct pg_store *s = sy_pg(store);
    PQfinish(s->db);
    free(s->exp_ws);
    free(s);
}

static int pg_schema_version(sy_store_t *store)
{
    return sy_pg(store)->version; /* read at open, as SQLite's is */
}

static bool pg_ping(sy_store_t *store)
{
    if (!connected(sy_pg(store)))
        return false;
    PGresult *r = PQexec(sy_pg(store)->db, "SELECT 1");
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    return ok;
}

/* PostgreSQL's own form of the same trade: a commit returns before its WAL is flushed; a
 * crash of the database server (never of ours) may lose the last few. */
static int pg_lazy_commits(sy_store_t *store, sy_err_t *err)
{
    return sy_pg_exec(sy_pg(store), "SET synchronous_commit = off", 0, NULL, err);
}

static void pg_fail_at(sy_store_t *store, int64_t at)
{
    sy_pg(store)->calls = 0;
    sy_pg(store)->fail_at = at;
}

static int64_t pg_calls(const sy_store_t *store)
{
    return ((const struct pg_store *)store)->calls;
}

/* Opens the caller's transaction with `begin` (its workspace not set yet). */
static int begin_with(sy_store_t *store, const char *begin, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    int rc = sy_pg_exec(s, begin, 0, NULL, err);
    if (rc == 0)
        s->in_tx = true;
    s->tx_ws = 0;
    s->log_next = 0;
    return rc;
}

static int pg_begin(sy_store_t *store, sy_err_t *err)
{
    return begin_with(store, "BEGIN", err);
}

static int pg_begin_read(sy_store_t *store, sy_err_t *err)
{
    return begin_with(store, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
}

static int pg_commit(sy_store_t *store, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    int rc = 0;
    PGresult *r = sy_pg_run(s, "COMMIT", 0, NULL, PGRES_COMMAND_OK, &rc, err);
    /* COMMIT of a transaction a failed statement aborted succeeds as a ROLLBACK: say so,
     * or the caller would believe its writes landed. */
    if (r && strcmp(PQcmdStatus(r), "COMMIT") != 0)
        rc = sy_err_set(err, -EIO, "db", "PostgreSQL: the transaction had failed: rolled back");
    PQclear(r);
    if (rc < 0)
        PQclear(PQexec(s->db, "ROLLBACK"));
    s->in_tx = false;
    s->tx_ws = 0;
    s->log_next = 0;
    return rc;
}

static void pg_rollback(sy_store_t *store)
{
    struct pg_store *s = sy_pg(store);
    PQclear(PQexec(s->db, "ROLLBACK"));
    s->in_tx = false;
    s->tx_ws = 0;
    s->log_next = 0;
}

/* ---- workspaces: a shared table, no workspace setting ---------------------------------- */

static int pg_workspace_create(sy_store_t *store, const char *name, int64_t now_ms, int64_t *id,
                               sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    char ms[SY_PG_INT_TEXT];
    snprintf(ms, sizeof(ms), "%" PRId64, now_ms);
    const char *p[] = {name, ms};
    int rc = 0;
    PGresult *r =
        sy_pg_run(s, "INSERT INTO workspaces (name, created_ms) VALUES ($1, $2) RETURNING id", 2, p,
                  PGRES_TUPLES_OK, &rc, err);
    if (!r) {
        if (rc == -EEXIST)
            return sy_err_set(err, rc, "name", "workspace \"%.64s\" already exists", name);
        return rc;
    }
    *id = sy_pg_int_at(r, 0, 0);
    PQclear(r);
    return 0;
}

static int pg_workspace_list(sy_store_t *store, sy_store_workspace_cb cb, void *arg, sy_err_t *err)
{
    int rc = 0;
    PGresult *r =
        sy_pg_run(sy_pg(store), "SELECT id, name, revision, created_ms FROM workspaces ORDER BY id",
                  0, NULL, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        sy_store_workspace_t ws = {.id = sy_pg_int_at(r, i, 0),
                                   .name = PQgetvalue(r, i, 1),
                                   .revision = sy_pg_int_at(r, i, 2),
                                   .created_ms = sy_pg_int_at(r, i, 3)};
        rc = cb(arg, &ws);
    }
    PQclear(r);
    return rc;
}

static int pg_workspace_find(sy_store_t *store, const char *name, int64_t *id, sy_err_t *err)
{
    const char *p[] = {name};
    int rc = 0;
    PGresult *r = sy_pg_run(sy_pg(store), "SELECT id FROM workspaces WHERE name = $1", 1, p,
                            PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    if (PQntuples(r) == 0)
        rc = sy_err_set(err, -ENOENT, "workspace", "no workspace \"%.64s\"", name);
    else
        *id = sy_pg_int_at(r, 0, 0);
    PQclear(r);
    return rc;
}

static int pg_workspace_bump(sy_store_t *store, int64_t ws, int64_t *revision, sy_err_t *err)
{
    char id[SY_PG_INT_TEXT];
    snprintf(id, sizeof(id), "%" PRId64, ws);
    const char *p[] = {id};
    int rc = 0;
    PGresult *r =
        sy_pg_run(sy_pg(store),
                  "UPDATE workspaces SET revision = revision + 1 WHERE id = $1 RETURNING revision",
                  1, p, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    if (PQntuples(r) == 0)
        rc = sy_err_set(err, -ENOENT, "workspace", "no workspace %" PRId64, ws);
    else
        *revision = sy_pg_int_at(r, 0, 0);
    PQclear(r);
    return rc;
}

/* ---- tokens: under the workspace's setting, or by hash through sy_token_by_hash -------- */

#define TOKEN_COLUMNS "id, workspace_id, name, role, hash, prefix, created_ms, revoked_ms"

/* Calls `cb` for each row of `r` (TOKEN_COLUMNS); its first non-zero return. */
static int token_rows(const PGresult *r, sy_store_token_cb cb, void *arg)
{
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        sy_store_token_t t = {.id = sy_pg_int_at(r, i, 0),
                              .workspace = sy_pg_int_at(r, i, 1),
                              .name = PQgetvalue(r, i, 2),
                              .role = PQgetvalue(r, i, 3),
                              .hash = PQgetvalue(r, i, 4),
                              .prefix = PQgetvalue(r, i, 5),
                              .created_ms = sy_pg_int_at(r, i, 6),
                              .revoked_ms = sy_pg_int_at(r, i, 7)};
        rc = cb(arg, &t);
    }
    return rc;
}

static int pg_token_create(sy_store_t *store, const sy_store_token_t *t, int64_t *id, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    char ws[SY_PG_INT_TEXT], ms[SY_PG_INT_TEXT];
    snprintf(ws, sizeof(ws), "%" PRId64, t->workspace);
    snprintf(ms, sizeof(ms), "%" PRId64, t->created_ms);
    const char *p[] = {ws, t->name, t->role, t->hash, t->prefix, ms};
    bool own;
    int rc = sy_pg_own_begin(s, &own, err);
    if (rc < 0)
        return rc;
    rc = sy_pg_set_workspace(s, t->workspace, err);
    if (rc < 0)
        return sy_pg_own_end(s, own, rc, err);
    PGresult *r =
        sy_pg_run(s,
                  "INSERT INTO tokens (workspace_id, name, role, hash, prefix, created_ms)"
                  " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                  6, p, PGRES_TUPLES_OK, &rc, err);
    if (r) {
        *id = sy_pg_int_at(r, 0, 0);
        PQclear(r);
    } else if (rc == -EEXIST) {
        rc = sy_err_set(err, rc, "token", "a token with that hash exists");
    }
    return sy_pg_own_end(s, own, rc, err);
}

static int pg_token_revoke(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    char w[SY_PG_INT_TEXT], i[SY_PG_INT_TEXT], ms[SY_PG_INT_TEXT];
    snprintf(w, sizeof(w), "%" PRId64, ws);
    snprintf(i, sizeof(i), "%" PRId64, id);
    snprintf(ms, sizeof(ms), "%" PRId64, now_ms);
    const char *p[] = {ms, w, i};
    bool own;
    int rc = sy_pg_own_begin(s, &own, err);
    if (rc < 0)
        return rc;
    rc = sy_pg_set_workspace(s, ws, err);
    if (rc < 0)
        return sy_pg_own_end(s, own, rc, err);
    PGresult *r = sy_pg_run(s,
                            "UPDATE tokens SET revoked_ms = $1 WHERE workspace_id = $2 AND id = $3"
                            " AND revoked_ms = 0",
                            3, p, PGRES_COMMAND_OK, &rc, err);
    if (r) {
        if (strcmp(PQcmdTuples(r), "0") == 0)
            rc = sy_err_set(err, -ENOENT, "token", "no active token %" PRId64, id);
        PQclear(r);
    }
    return sy_pg_own_end(s, own, rc, err);
}

/* One workspace's tokens, under its setting, in the transaction open. */
static int tokens_of(struct pg_store *s, int64_t ws, sy_store_token_cb cb, void *arg, sy_err_t *err)
{
    char w[SY_PG_INT_TEXT];
    snprintf(w, sizeof(w), "%" PRId64, ws);
    const char *p[] = {w};
    int rc = sy_pg_set_workspace(s, ws, err);
    if (rc < 0)
        return rc;
    PGresult *r =
        sy_pg_run(s, "SELECT " TOKEN_COLUMNS " FROM tokens WHERE workspace_id = $1 ORDER BY id", 1,
                  p, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    rc = token_rows(r, cb, arg);
    PQclear(r);
    return rc;
}

static int pg_token_list(sy_store_t *store, int64_t ws, sy_store_token_cb cb, void *arg,
                         sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    int rc = 0;
    if (ws < 0) {
        /* Every workspace's (start-up, a reconnection's comparison): in one statement
         * through sy_tokens_all, by id as SQLite's. */
        PGresult *r = sy_pg_run(s, "SELECT " TOKEN_COLUMNS " FROM sy_tokens_all() ORDER BY id", 0,
                                NULL, PGRES_TUPLES_OK, &rc, err);
        if (!r)
            return rc;
        rc = token_rows(r, cb, arg);
        PQclear(r);
        return rc;
    }
    bool own;
    if ((rc = sy_pg_own_begin(s, &own, err)) < 0)
        return rc;
    return sy_pg_own_end(s, own, tokens_of(s, ws, cb, arg, err), err);
}

static int pg_token_by_hash(sy_store_t *store, const char *hash, sy_store_token_cb cb, void *arg,
                            sy_err_t *err)
{
    const char *p[] = {hash};
    int rc = 0;
    PGresult *r = sy_pg_run(sy_pg(store), "SELECT " TOKEN_COLUMNS " FROM sy_token_by_hash($1)", 1,
                            p, PGRES_TUPLES_OK, &rc, err);
    if (!r)
        return rc;
    rc = token_rows(r, cb, arg);
    PQclear(r);
    return rc;
}

/* ---- many nodes: LISTEN/NOTIFY and the leaders' lock --------------------------------- */

/* The leaders' session lock: (LOCK_CLASS, LOCK_ID) of pg_try_advisory_lock's two-key form
 * (the migration's is the one-key 2025: the spaces do not meet). */
#define LOCK_CLASS "2026"
#define LOCK_ID    "1"

static int pg_announce(sy_store_t *store, int64_t ws, const char *what, int64_t revision,
                       sy_err_t *err)
{
    if (!what || !*what || strlen(what) > 32 || strchr(what, ' '))
        return sy_err_set(err, -EINVAL, "what", "an announcement names a word of 1 to 32 bytes");
    char payload[96];
    snprintf(payload, sizeof(payload), "%" PRId64 " %s %" PRId64, ws, what, revision);
    const char *p[] = {payload};
    int rc = 0;
    PGresult *r = sy_pg_run(sy_pg(store), "SELECT pg_notify('" CHANNEL "', $1)", 1, p,
                            PGRES_TUPLES_OK, &rc, err);
    PQclear(r);
    return r ? 0 : rc;
}

static int pg_listen(sy_store_t *store, sy_err_t *err)
{
    int rc = sy_pg_exec(sy_pg(store), "LISTEN " CHANNEL, 0, NULL, err);
    if (rc == 0)
        sy_pg(store)->listening = true;
    return rc;
}

static int pg_heard(sy_store_t *store, sy_store_heard_cb cb, void *arg, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    if (!connected(s))
        return sy_err_set(err, -EIO, "db", "PostgreSQL: the connection is lost: nothing is heard");
    int rc = 0;
    if (s->resync) { /* reconnected: what was announced meanwhile is lost, reread it all */
        s->resync = false;
        rc = cb(arg, -1, "resync", 0);
    }
    if (!PQconsumeInput(s->db))
        return sy_pg_error(s, NULL, err);
    PGnotify *n;
    while ((n = PQnotifies(s->db)) != NULL) {
        long long ws, revision;
        char what[33];
        /* any session that may connect can NOTIFY: a workspace is a positive id (the
         * store's own "resync" is -1), the rest is the listener's to doubt */
        if (rc == 0 && strcmp(n->relname, CHANNEL) == 0 &&
            sscanf(n->extra, "%lld %32s %lld", &ws, what, &revision) == 3 && ws > 0)
            rc = cb(arg, ws, what, revision);
        PQfreemem(n);
    }
    return rc;
}

static int pg_heard_fd(sy_store_t *store)
{
    struct pg_store *s = sy_pg(store);
    return s->listening && PQstatus(s->db) == CONNECTION_OK ? PQsocket(s->db) : -1;
}

static int pg_lead(sy_store_t *store, bool *held, sy_err_t *err)
{
    struct pg_store *s = sy_pg(store);
    int rc = 0;
    (void)connected(s); /* first: a reconnection drops the lock, and the choice below */
    PGresult *r = sy_pg_run(
        s, s->leads ? "SELECT true" : "SELECT pg_try_advisory_lock(" LOCK_CLASS ", " LOCK_ID ")", 0,
        NULL, PGRES_TUPLES_OK, &rc, err);
    if (!r) {
        /* A connection lost is a lock released: another node may hold it already. */
        s->leads = false;
        *held = false;
        return rc;
    }
    s->leads = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    *held = s->leads;
    PQclear(r);
    return 0;
}

int sy_pg_unbuilt(sy_err_t *err, const char *op)
{
    return sy_err_set(err, -ENOTSUP, "db",
                      "the PostgreSQL store does not do %s yet (issue 25): use SQLite", op);
}

const struct sy_store_ops sy_store_postgres_ops = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .schema_version = pg_schema_version,
    .ping = pg_ping,
    .lazy_commits = pg_lazy_commits,
    .fail_at = pg_fail_at,
    .calls = pg_calls,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .workspace_create = pg_workspace_create,
    .workspace_list = pg_workspace_list,
    .workspace_find = pg_workspace_find,
    .workspace_bump = pg_workspace_bump,
    .token_create = pg_token_create,
    .token_revoke = pg_token_revoke,
    .token_list = pg_token_list,
    .token_by_hash = pg_token_by_hash,
    .flag_put = sy_pg_flag_put,
    .flag_delete = sy_pg_flag_delete,
    .flag_clear = sy_pg_flag_clear,
    .flag_list = sy_pg_flag_list,
    .flag_workspaces = sy_pg_flag_workspaces,
    .flagset_get = sy_pg_flagset_get,
    .flagset_put = sy_pg_flagset_put,
    .audit_add = sy_pg_audit_add,
    .audit_list = sy_pg_audit_list,
    .experiment_put = sy_pg_experiment_put,
    .experiment_list = sy_pg_experiment_list,
    .arm_put = sy_pg_arm_put,
    .arm_list = sy_pg_arm_list,
    .srm_put = sy_pg_srm_put,
    .srm_list = sy_pg_srm_list,
    .change_add = sy_pg_change_add,
    .change_list = sy_pg_change_list,
    .setting_put = sy_pg_setting_put,
    .setting_delete = sy_pg_setting_delete,
    .setting_list = sy_pg_setting_list,
    .event_add = sy_pg_event_add,
    .event_add_many = sy_pg_event_add_many,
    .event_list = sy_pg_event_list,
    .event_last = sy_pg_event_last,
    .change_after = sy_pg_change_after,
    .log_lock = sy_pg_log_lock,
    .log_hold = sy_pg_log_hold,
    .log_unlock = sy_pg_log_unlock,
    .log_after = sy_pg_log_after,
    .begin_read = pg_begin_read,
    .event_count = sy_pg_event_count,
    .kpi_add = sy_pg_kpi_add,
    .kpi_window = sy_pg_kpi_window,
    .kpi_place = sy_pg_kpi_place,
    .kpi_unit_sum = sy_pg_kpi_unit_sum,
    .regression_put = sy_pg_regression_put,
    .regression_list = sy_pg_regression_list,
    .risk_policy_put = sy_pg_risk_policy_put,
    .risk_policy_list = sy_pg_risk_policy_list,
    .risk_add = sy_pg_risk_add,
    .risk_reserved = sy_pg_risk_reserved,
    .risk_release = sy_pg_risk_release,
    .risk_list = sy_pg_risk_list,
    .channel_add = sy_pg_channel_add,
    .channel_delete = sy_pg_channel_delete,
    .channel_list = sy_pg_channel_list,
    .notification_add = sy_pg_notification_add,
    .notification_list = sy_pg_notification_list,
    .notification_due = sy_pg_notification_due,
    .notification_next = sy_pg_notification_next,
    .notification_update = sy_pg_notification_update,
    .notification_prune = sy_pg_notification_prune,
    .notification_counts = sy_pg_notification_counts,
    .notification_type_counts = sy_pg_notification_type_counts,
    .notification_type_counts_each = sy_pg_notification_type_counts_each,
    .route_put = sy_pg_route_put,
    .route_delete = sy_pg_route_delete,
    .route_list = sy_pg_route_list,
    .route_minute_add = sy_pg_route_minute_add,
    .route_minute_list = sy_pg_route_minute_list,
    .route_minute_prune = sy_pg_route_minute_prune,
    .checkpoint_put = sy_pg_checkpoint_put,
    .checkpoint_list = sy_pg_checkpoint_list,
    .checkpoint_count = sy_pg_checkpoint_count,
    .checkpoint_get = sy_pg_checkpoint_get,
    .retention_get = sy_pg_retention_get,
    .retention_put = sy_pg_retention_put,
    .event_range = sy_pg_event_range,
    .event_experiments = sy_pg_event_experiments,
    .event_prune = sy_pg_event_prune,
    .kpi_prune = sy_pg_kpi_prune,
    .audit_prune = sy_pg_audit_prune,
    .timeline_put = sy_pg_timeline_put,
    .timeline_list = sy_pg_timeline_list,
    .timeline_prune = sy_pg_timeline_prune,
    .announce = pg_announce,
    .listen = pg_listen,
    .heard = pg_heard,
    .heard_fd = pg_heard_fd,
    .lead = pg_lead,
};
