/* sqlite.c - the SQLite implementation of store.h (the embedded default).
 *
 * One database file in WAL mode with synchronous=FULL: a committed transaction survives
 * a crash or a power cut, which is what lets the API acknowledge a change. The schema is
 * a list of migrations applied in order inside one transaction each; `schema_version`
 * records how many ran, and a database from a newer switchyard is refused rather than
 * guessed at.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

/* Each entry is one migration; never edit one that has shipped, append a new one. */
static const char *const migrations[] = {
    "CREATE TABLE workspaces ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  revision INTEGER NOT NULL DEFAULT 0,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE TABLE tokens ("
    "  id INTEGER PRIMARY KEY,"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),"
    "  name TEXT NOT NULL,"
    "  role TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer', 'sdk')),"
    "  hash TEXT NOT NULL UNIQUE,"
    "  prefix TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  revoked_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX tokens_workspace ON tokens (workspace_id, id);"
    "CREATE TABLE flags ("
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),"
    "  key TEXT NOT NULL,"
    "  definition TEXT NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (workspace_id, key));"
    "CREATE TABLE flagsets ("
    "  workspace_id INTEGER PRIMARY KEY REFERENCES workspaces(id),"
    "  evaluators TEXT NOT NULL,"
    "  metadata TEXT NOT NULL);"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),"
    "  at_ms INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  resource TEXT NOT NULL,"
    "  before TEXT,"
    "  after TEXT);"
    "CREATE INDEX audit_workspace ON audit (workspace_id, id);",

    /* 2: experiments, their per-variant aggregates, and the event log they come from.
     * An event id is unique per experiment (idempotent retries); events without one are
     * always new. Aggregates are rewritten in the transaction of every ingest batch. */
    "CREATE TABLE experiments ("
    "  id INTEGER PRIMARY KEY,"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),"
    "  key TEXT NOT NULL,"
    "  flag_key TEXT NOT NULL,"
    "  definition TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  started_ms INTEGER NOT NULL DEFAULT 0,"
    "  stopped_ms INTEGER NOT NULL DEFAULT 0,"
    "  flag_before TEXT,"
    "  weights TEXT,"
    "  UNIQUE (workspace_id, key));"
    "CREATE TABLE allocation_changes ("
    "  id INTEGER PRIMARY KEY,"
    "  workspace_id INTEGER NOT NULL,"
    "  experiment_id INTEGER NOT NULL REFERENCES experiments(id),"
    "  at_ms INTEGER NOT NULL,"
    "  action TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  weights_before TEXT NOT NULL,"
    "  weights_after TEXT NOT NULL,"
    "  detail TEXT NOT NULL);"
    "CREATE INDEX allocation_changes_experiment ON allocation_changes (experiment_id, id);"
    "CREATE TABLE workspace_settings ("
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),"
    "  name TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (workspace_id, name));"
    "CREATE TABLE experiment_arms ("
    "  experiment_id INTEGER NOT NULL REFERENCES experiments(id),"
    "  variant TEXT NOT NULL,"
    "  units INTEGER NOT NULL,"
    "  conversions INTEGER NOT NULL,"
    "  value_sum REAL NOT NULL,"
    "  value_sumsq REAL NOT NULL,"
    "  errors INTEGER NOT NULL,"
    "  crossovers INTEGER NOT NULL,"
    "  seq_p REAL NOT NULL,"
    "  latency_n INTEGER NOT NULL,"
    "  latency_sum REAL NOT NULL,"
    "  latency_sumsq REAL NOT NULL,"
    "  PRIMARY KEY (experiment_id, variant));"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  workspace_id INTEGER NOT NULL,"
    "  experiment_id INTEGER NOT NULL,"
    "  event_id TEXT,"
    "  kind TEXT NOT NULL,"
    "  unit TEXT NOT NULL,"
    "  variant TEXT,"
    "  success INTEGER,"
    "  value REAL,"
    "  latency_ms REAL,"
    "  at_ms INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX events_event_id ON events (experiment_id, event_id)"
    "  WHERE event_id IS NOT NULL;",

    /* 3: business KPI events and the regression tripwires that watch them. A tripwire's
     * last evaluation is kept as JSON beside its policy. */
    "CREATE TABLE kpi_events ("
    "  id INTEGER PRIMARY KEY,"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),"
    "  domain TEXT NOT NULL,"
    "  metric TEXT NOT NULL,"
    "  success INTEGER,"
    "  value REAL,"
    "  actor TEXT NOT NULL,"
    "  correlation_id TEXT,"
    "  detail TEXT,"
    "  at_ms INTEGER NOT NULL);"
    "CREATE INDEX kpi_events_series ON kpi_events (workspace_id, domain, metric, at_ms, id);"
    "CREATE TABLE regression_policies ("
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),"
    "  domain TEXT NOT NULL,"
    "  metric TEXT NOT NULL,"
    "  window_events INTEGER NOT NULL,"
    "  baseline_events INTEGER NOT NULL,"
    "  min_events_to_enforce INTEGER NOT NULL,"
    "  max_drop_fraction REAL NOT NULL,"
    "  action TEXT NOT NULL,"
    "  measure TEXT NOT NULL,"
    "  enabled INTEGER NOT NULL,"
    "  changed_by TEXT NOT NULL,"
    "  reason TEXT,"
    "  updated_ms INTEGER NOT NULL,"
    "  state TEXT,"
    "  PRIMARY KEY (workspace_id, domain, metric));",

    /* 4: the risk guard: a policy per domain, and the ledger of its reservations and
     * denials (amounts of a day count while reserved, not once released). */
    "CREATE TABLE risk_policies ("
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),"
    "  domain TEXT NOT NULL,"
    "  enabled INTEGER NOT NULL,"
    "  max_per_action REAL,"
    "  max_per_day REAL,"
    "  reason TEXT NOT NULL,"
    "  changed_by TEXT NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (workspace_id, domain));"
    "CREATE TABLE risk_ledger ("
    "  id INTEGER PRIMARY KEY,"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),"
    "  domain TEXT NOT NULL,"
    "  day TEXT NOT NULL,"
    "  amount REAL NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  correlation_id TEXT,"
    "  outcome TEXT NOT NULL CHECK (outcome IN ('reserved', 'released', 'denied')),"
    "  reason TEXT,"
    "  at_ms INTEGER NOT NULL,"
    "  released_ms INTEGER);"
    "CREATE INDEX risk_ledger_day ON risk_ledger (workspace_id, day, domain, id);",

    /* 5: notification channels. `config` is what the API shows; `secrets` (webhook
     * secrets, routing keys, SMTP passwords) is never shown. A deleted channel keeps its
     * row (deleted_ms) for the deliveries that name it. */
    "CREATE TABLE notification_channels ("
    "  id INTEGER PRIMARY KEY,"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),"
    "  type TEXT NOT NULL CHECK (type IN ('slack', 'pagerduty', 'webhook', 'email')),"
    "  name TEXT NOT NULL,"
    "  config TEXT NOT NULL,"
    "  secrets TEXT NOT NULL,"
    "  enabled INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  deleted_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX notification_channels_workspace ON notification_channels (workspace_id, id);",

    /* 6: the notification outbox: one row per (channel, idempotency key), written in the
     * transaction of the change it tells of, and sent by the notifier (src/notify/). */
    "CREATE TABLE notifications ("
    "  id INTEGER PRIMARY KEY,"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),"
    "  channel_id INTEGER NOT NULL REFERENCES notification_channels(id),"
    "  event TEXT NOT NULL,"
    "  level TEXT NOT NULL CHECK (level IN ('info', 'warning', 'critical')),"
    "  action TEXT NOT NULL CHECK (action IN ('trigger', 'resolve')),"
    "  resource TEXT NOT NULL,"
    "  idem_key TEXT NOT NULL,"
    "  dedup_key TEXT NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT,"
    "  created_ms INTEGER NOT NULL,"
    "  next_ms INTEGER NOT NULL,"
    "  done_ms INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (channel_id, idem_key));"
    "CREATE INDEX notifications_due ON notifications (status, next_ms);"
    "CREATE INDEX notifications_workspace ON notifications (workspace_id, id);",

    /* 7: proxy routes: the definition as JSON, the two fields changed most on their own. */
    "CREATE TABLE routes ("
    "  id INTEGER PRIMARY KEY,"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),"
    "  name TEXT NOT NULL,"
    "  definition TEXT NOT NULL,"
    "  percentage_bp INTEGER NOT NULL CHECK (percentage_bp BETWEEN 0 AND 10000),"
    "  enabled INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  UNIQUE (workspace_id, name));",

    /* 8: the proxy's counters per minute and (route, domain, upstream), kept for the
     * retention; `hist` is the latency histogram, sparse ("bucket:count,..."). */
    "CREATE TABLE route_minutes ("
    "  id INTEGER PRIMARY KEY,"
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),"
    "  route TEXT NOT NULL,"
    "  minute INTEGER NOT NULL,"
    "  domain TEXT NOT NULL,"
    "  upstream TEXT NOT NULL,"
    "  tried TEXT NOT NULL,"
    "  requests INTEGER NOT NULL,"
    "  errors INTEGER NOT NULL,"
    "  total_ms REAL NOT NULL,"
    "  hist TEXT NOT NULL);"
    "CREATE INDEX route_minutes_route ON route_minutes (workspace_id, route, minute);"
    "CREATE INDEX route_minutes_minute ON route_minutes (minute);",

    /* 9: the answers of those counters by status class, sparse ("class:count,...": 2 for
     * the 2xx); '' in the rows written before it. */
    "ALTER TABLE route_minutes ADD COLUMN status TEXT NOT NULL DEFAULT '';",

    /* 10: a KPI event's id, the client's, once per workspace: a retried batch counts once. */
    "ALTER TABLE kpi_events ADD COLUMN event_id TEXT;"
    "CREATE UNIQUE INDEX kpi_events_event_id ON kpi_events (workspace_id, event_id)"
    "  WHERE event_id IS NOT NULL;",

    /* 11: a repair. Migration 2 was edited twice after databases had run it: those lack
     * its allocation_changes, workspace_settings and some columns (and cannot start).
     * The tables are made here if missing; the columns by missing_columns. */
    "CREATE TABLE IF NOT EXISTS allocation_changes ("
    "  id INTEGER PRIMARY KEY,"
    "  workspace_id INTEGER NOT NULL,"
    "  experiment_id INTEGER NOT NULL REFERENCES experiments(id),"
    "  at_ms INTEGER NOT NULL,"
    "  action TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  weights_before TEXT NOT NULL,"
    "  weights_after TEXT NOT NULL,"
    "  detail TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS allocation_changes_experiment"
    "  ON allocation_changes (experiment_id, id);"
    "CREATE TABLE IF NOT EXISTS workspace_settings ("
    "  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),"
    "  name TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (workspace_id, name));",

    /* 12: an arm's moments as mean and sd (the engine keeps them with Welford's updates),
     * not as a sum and a sum of squares, whose difference lost every digit to an offset.
     * The rows are converted by arms_as_moments. */
    "ALTER TABLE experiment_arms RENAME TO experiment_arms_sums;"
    "CREATE TABLE experiment_arms ("
    "  experiment_id INTEGER NOT NULL REFERENCES experiments(id),"
    "  variant TEXT NOT NULL,"
    "  units INTEGER NOT NULL,"
    "  conversions INTEGER NOT NULL,"
    "  value_mean REAL NOT NULL,"
    "  value_sd REAL NOT NULL,"
    "  errors INTEGER NOT NULL,"
    "  crossovers INTEGER NOT NULL,"
    "  seq_p REAL NOT NULL,"
    "  latency_n INTEGER NOT NULL,"
    "  latency_mean REAL NOT NULL,"
    "  latency_sd REAL NOT NULL,"
    "  PRIMARY KEY (experiment_id, variant));"
    /* and the running p of its anytime-valid SRM test */
    "CREATE TABLE IF NOT EXISTS experiment_srm ("
    "  experiment_id INTEGER PRIMARY KEY REFERENCES experiments(id),"
    "  p REAL NOT NULL);",

    /* 13: retention (engine/retention.c): each experiment's checkpoint, its aggregates as
     * the replay of the log through `seq` rebuilds them (the events up to it may be
     * pruned), and the job's own places in the log. */
    "CREATE TABLE IF NOT EXISTS experiment_checkpoints ("
    "  experiment_id INTEGER PRIMARY KEY REFERENCES experiments(id),"
    "  seq INTEGER NOT NULL,"
    "  state BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS retention ("
    "  name TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL);",

    /* 14: an experiment's timeline (engine/timeline.c): a point of its results each hour
     * and at each allocation change, as compact JSON (codec/timeline_json.c); pruned by
     * the retention job in at_ms order. */
    "CREATE TABLE IF NOT EXISTS experiment_timeline ("
    "  experiment_id INTEGER NOT NULL REFERENCES experiments(id),"
    "  at_ms INTEGER NOT NULL,"
    "  point TEXT NOT NULL,"
    "  PRIMARY KEY (experiment_id, at_ms));"
    "CREATE INDEX IF NOT EXISTS experiment_timeline_at ON experiment_timeline (at_ms);",

    /* 15: CUPED (issue 26): each arm's running minimum of its adjusted always-valid p. */
    "ALTER TABLE experiment_arms ADD COLUMN cuped_seq_p REAL NOT NULL DEFAULT 1;",

    /* 16: CUPED's covariate from a KPI metric (issue 26): a KPI event's unit, and the index
     * that sums one unit's events of a metric over a span of time. */
    "ALTER TABLE kpi_events ADD COLUMN unit TEXT;"
    "CREATE INDEX kpi_events_unit ON kpi_events (workspace_id, domain, metric, unit, at_ms)"
    " WHERE unit IS NOT NULL;",
};
#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int sy_sq_fail(struct sqlite_store *s, sy_err_t *err, const char *what)
{
    return sy_err_set(err, -EIO, NULL, "store: %s: %s", what, sqlite3_errmsg(s->db));
}

int sy_sq_fault(struct sqlite_store *s, sy_err_t *err)
{
    if (++s->calls != s->fail_at)
        return 0;
    return sy_err_set(err, -EIO, NULL, "store: injected failure of statement %lld",
                      (long long)s->calls);
}

void sy_sq_fail_at(sy_store_t *store, int64_t at)
{
    struct sqlite_store *s = sq(store);
    s->calls = 0;
    s->fail_at = at;
}

int64_t sy_sq_calls(const sy_store_t *store)
{
    const struct sqlite_store *s = csq(store);
    return s->calls;
}

/* Runs `sql`; the caller has counted it (or must not: a rollback). */
static int exec_raw(struct sqlite_store *s, const char *sql, sy_err_t *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = sy_err_set(err, -EIO, NULL, "store: %s", msg ? msg : "failed");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

int sy_sq_exec(struct sqlite_store *s, const char *sql, sy_err_t *err)
{
    int rc = sy_sq_fault(s, err);
    return rc < 0 ? rc : exec_raw(s, sql, err);
}

sqlite3_stmt *sy_sq_prepare(struct sqlite_store *s, sy_err_t *err, const char *sql,
                            const char *types, ...)
{
    sqlite3_stmt *st;
    if (sy_sq_fault(s, err) < 0)
        return NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sy_sq_fail(s, err, "prepare");
        return NULL;
    }
    va_list ap;
    va_start(ap, types);
    int rc = SQLITE_OK;
    for (int i = 0; types[i] && rc == SQLITE_OK; i++) {
        if (types[i] == 'i') {
            rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        } else if (types[i] == 'd') {
            rc = sqlite3_bind_double(st, i + 1, va_arg(ap, double));
        } else {
            const char *v = va_arg(ap, const char *);
            rc = v ? sqlite3_bind_text(st, i + 1, v, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(st, i + 1);
        }
    }
    va_end(ap);
    if (rc != SQLITE_OK) {
        sy_sq_fail(s, err, "bind");
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

int sy_sq_run(struct sqlite_store *s, sqlite3_stmt *st, sy_err_t *err)
{
    if (!st)
        return err ? err->code : -EIO;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT)
        return sy_err_set(err, -EEXIST, NULL, "store: already exists");
    if (rc != SQLITE_DONE)
        return sy_sq_fail(s, err, "step");
    return 0;
}

/* Prepares *st once from `sql`; resets and clears it on later calls. */
int sy_sq_cached(struct sqlite_store *s, sqlite3_stmt **st, const char *sql, sy_err_t *err)
{
    int rc = sy_sq_fault(s, err);
    if (rc < 0)
        return rc;
    if (*st) {
        sqlite3_reset(*st);
        sqlite3_clear_bindings(*st);
        return 0;
    }
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
        *st = NULL;
        return sy_sq_fail(s, err, "prepare");
    }
    return 0;
}

int sy_sq_step_cached(struct sqlite_store *s, sqlite3_stmt *st, sy_err_t *err)
{
    int rc = sqlite3_step(st);
    int out = rc == SQLITE_DONE ? 0 : sy_sq_fail(s, err, "step");
    sqlite3_reset(st);
    return out;
}

const char *sy_sq_text(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
}

/* Migration 11's columns, each added when its table lacks it: SQLite has no ADD COLUMN IF
 * NOT EXISTS. */
static int missing_columns(struct sqlite_store *s, sy_err_t *err)
{
    static const char *const cols[][3] = {
        {"experiments", "weights", "ALTER TABLE experiments ADD COLUMN weights TEXT;"},
        {"events", "latency_ms", "ALTER TABLE events ADD COLUMN latency_ms REAL;"},
        {"experiment_arms", "latency_n",
         "ALTER TABLE experiment_arms ADD COLUMN latency_n INTEGER NOT NULL DEFAULT 0;"},
        {"experiment_arms", "latency_sum",
         "ALTER TABLE experiment_arms ADD COLUMN latency_sum REAL NOT NULL DEFAULT 0;"},
        {"experiment_arms", "latency_sumsq",
         "ALTER TABLE experiment_arms ADD COLUMN latency_sumsq REAL NOT NULL DEFAULT 0;"},
    };
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        sqlite3_stmt *st =
            sy_sq_prepare(s, err, "SELECT count(*) FROM pragma_table_info(?) WHERE name = ?", "ss",
                          cols[i][0], cols[i][1]);
        if (!st)
            return err ? err->code : -EIO;
        /* A busy or broken database is an error, not a missing column. */
        int step = sqlite3_step(st);
        bool has = step == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
        int rc = step == SQLITE_ROW ? 0 : sy_sq_fail(s, err, "migration 11");
        sqlite3_finalize(st);
        if (rc == 0 && !has)
            rc = sy_sq_exec(s, cols[i][2], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Mean and sample sd of `n` values from their sum and sum of squares (migration 12: what
 * the sums still hold; the engine rebuilds the exact moments from the event log). */
static void sums_to_moments(int64_t n, double sum, double sumsq, double *mean, double *sd)
{
    *mean = n > 0 ? sum / (double)n : 0;
    double m2 = n > 1 ? sumsq - sum * *mean : 0;
    *sd = m2 > 0 ? sqrt(m2 / (double)(n - 1)) : 0;
}

/* Migration 12's rows: each arm of experiment_arms_sums into experiment_arms. */
static int arms_as_moments(struct sqlite_store *s, sy_err_t *err)
{
    sqlite3_stmt *from = sy_sq_prepare(
        s, err,
        "SELECT experiment_id, variant, units, conversions, value_sum, value_sumsq, errors,"
        " crossovers, seq_p, latency_n, latency_sum, latency_sumsq FROM experiment_arms_sums",
        "");
    if (!from)
        return err ? err->code : -EIO;
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(from)) == SQLITE_ROW) {
        int64_t units = sqlite3_column_int64(from, 2), latency_n = sqlite3_column_int64(from, 9);
        double vm, vsd, lm, lsd;
        sums_to_moments(units, sqlite3_column_double(from, 4), sqlite3_column_double(from, 5), &vm,
                        &vsd);
        sums_to_moments(latency_n, sqlite3_column_double(from, 10), sqlite3_column_double(from, 11),
                        &lm, &lsd);
        rc = sy_sq_run(s,
                       sy_sq_prepare(s, err,
                                     "INSERT INTO experiment_arms VALUES"
                                     " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                     "isiiddiididd", (int64_t)sqlite3_column_int64(from, 0),
                                     sy_sq_text(from, 1), units,
                                     (int64_t)sqlite3_column_int64(from, 3), vm, vsd,
                                     (int64_t)sqlite3_column_int64(from, 6),
                                     (int64_t)sqlite3_column_int64(from, 7),
                                     sqlite3_column_double(from, 8), latency_n, lm, lsd),
                       err);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = sy_sq_fail(s, err, "migration 12");
    sqlite3_finalize(from);
    return rc < 0 ? rc : sy_sq_exec(s, "DROP TABLE experiment_arms_sums;", err);
}

static int migrate(struct sqlite_store *s, sy_err_t *err)
{
    int rc =
        sy_sq_exec(s, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);", err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st = sy_sq_prepare(s, err, "SELECT max(version) FROM schema_version", "");
    if (!st)
        return err ? err->code : -EIO;
    /* Only a row says which version the schema is at (NULL: none yet); a busy or broken
     * database read as version 0 would run every migration again over its tables. */
    int step = sqlite3_step(st);
    s->version = step == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    rc = step == SQLITE_ROW ? 0 : sy_sq_fail(s, err, "schema version");
    sqlite3_finalize(st);
    if (rc < 0)
        return rc;
    if (s->version > N_MIGRATIONS)
        return sy_err_set(err, -EPROTO, NULL,
                          "store: schema version %d is newer than this switchyard knows (%d)",
                          s->version, N_MIGRATIONS);
    while (s->version < N_MIGRATIONS) {
        if ((rc = sy_sq_begin(&s->base, err)) < 0)
            return rc;
        if ((rc = sy_sq_exec(s, migrations[s->version], err)) < 0 ||
            (s->version == 10 && (rc = missing_columns(s, err)) < 0) ||
            (s->version == 11 && (rc = arms_as_moments(s, err)) < 0) ||
            (rc = sy_sq_run(s,
                            sy_sq_prepare(s, err, "INSERT INTO schema_version (version) VALUES (?)",
                                          "i", (int64_t)s->version + 1),
                            err)) < 0) {
            sy_sq_rollback(&s->base);
            return rc;
        }
        if ((rc = sy_sq_commit(&s->base, err)) < 0)
            return rc;
        s->version++;
    }
    return 0;
}

int sy_sq_open(sy_store_t **out, const char *uri, sy_err_t *err)
{
    *out = NULL;
    struct sqlite_store *s = calloc(1, sizeof(*s));
    if (!s)
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    s->base.ops = &sy_store_sqlite_ops;
    int rc;
    if (sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = sy_err_set(err, -EIO, "db", "cannot open %s: %s", uri,
                        s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto out_close;
    }
    /* Handles on one database take turns to write (store.h): the engine's on its loop, its
     * writer thread's group commits, the notifier's. Each waits for the others' transactions
     * (milliseconds) rather than failing at once. */
    sqlite3_busy_timeout(s->db, 5000);
    if ((rc = sy_sq_exec(
             s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", err)) <
        0)
        goto out_close;
    if ((rc = migrate(s, err)) < 0)
        goto out_close;
    *out = &s->base;
    return 0;
out_close:
    sy_sq_close(&s->base);
    return rc;
}

void sy_sq_close(sy_store_t *store)
{
    if (!store)
        return;
    struct sqlite_store *s = sq(store);
    sqlite3_finalize(s->add_event);
    sqlite3_finalize(s->put_arm);
    sqlite3_finalize(s->put_srm);
    sqlite3_finalize(s->add_kpi);
    sqlite3_finalize(s->kpi_unit_sum);
    sqlite3_close_v2(s->db);
    free(s);
}

int sy_sq_schema_version(sy_store_t *store)
{
    struct sqlite_store *s = sq(store);
    return s->version;
}

int sy_sq_lazy_commits(sy_store_t *store, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_exec(s, "PRAGMA synchronous=NORMAL;", err); /* WAL: durable on a crash */
}

bool sy_sq_ping(sy_store_t *store)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(s, NULL, "SELECT count(*) FROM schema_version", "");
    if (!st)
        return false;
    bool ok = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return ok;
}

int sy_sq_begin(sy_store_t *store, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_exec(s, "BEGIN IMMEDIATE", err);
}

int sy_sq_commit(sy_store_t *store, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    int rc = sy_sq_exec(s, "COMMIT", err);
    if (rc < 0)
        sy_sq_rollback(&s->base);
    return rc;
}

void sy_sq_rollback(sy_store_t *store)
{
    struct sqlite_store *s = sq(store);
    if (!sqlite3_get_autocommit(s->db))
        exec_raw(s, "ROLLBACK", NULL);
}

int sy_sq_each(struct sqlite_store *s, sqlite3_stmt *st, sy_err_t *err, const char *what,
               int (*row)(sqlite3_stmt *st, const struct sy_sq_sink *to), struct sy_sq_sink to)
{
    if (!st)
        return err ? err->code : -EIO;
    int rc, out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((out = row(st, &to)) != 0)
            break;
    if (out == 0 && rc != SQLITE_DONE)
        out = sy_sq_fail(s, err, what);
    sqlite3_finalize(st);
    return out;
}

/* ---- workspaces ---------------------------------------------------------------------- */

int sy_sq_workspace_create(sy_store_t *store, const char *name, int64_t now_ms, int64_t *id,
                           sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    int rc =
        sy_sq_run(s,
                  sy_sq_prepare(s, err, "INSERT INTO workspaces (name, created_ms) VALUES (?, ?)",
                                "si", name, now_ms),
                  err);
    if (rc == -EEXIST)
        return sy_err_set(err, rc, "name", "workspace \"%.64s\" already exists", name);
    if (rc < 0)
        return rc;
    *id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

static int workspace_row(sqlite3_stmt *st, const struct sy_sq_sink *to)
{
    sy_store_workspace_t ws = {.id = sqlite3_column_int64(st, 0),
                               .name = sy_sq_text(st, 1),
                               .revision = sqlite3_column_int64(st, 2),
                               .created_ms = sqlite3_column_int64(st, 3)};
    return to->cb.workspace(to->arg, &ws);
}

int sy_sq_workspace_list(sy_store_t *store, sy_store_workspace_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_each(
        s,
        sy_sq_prepare(s, err, "SELECT id, name, revision, created_ms FROM workspaces ORDER BY id",
                      ""),
        err, "query", workspace_row, (struct sy_sq_sink){.cb.workspace = cb, .arg = arg});
}

int sy_sq_workspace_find(sy_store_t *store, const char *name, int64_t *id, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(s, err, "SELECT id FROM workspaces WHERE name = ?", "s", name);
    if (!st)
        return err ? err->code : -EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return sy_err_set(err, -ENOENT, "workspace", "no workspace \"%.64s\"", name);
    return sy_sq_fail(s, err, "workspace");
}

int sy_sq_workspace_bump(sy_store_t *store, int64_t ws, int64_t *revision, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(
        s, err, "UPDATE workspaces SET revision = revision + 1 WHERE id = ? RETURNING revision",
        "i", ws);
    if (!st)
        return err ? err->code : -EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *revision = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? sy_err_set(err, -ENOENT, NULL, "no such workspace")
                             : sy_sq_fail(s, err, "revision");
}

/* ---- tokens -------------------------------------------------------------------------- */

int sy_sq_token_create(sy_store_t *store, const sy_store_token_t *t, int64_t *id, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    int rc = sy_sq_run(
        s,
        sy_sq_prepare(s, err,
                      "INSERT INTO tokens (workspace_id, name, role, hash, prefix, created_ms)"
                      " VALUES (?, ?, ?, ?, ?, ?)",
                      "issssi", t->workspace, t->name, t->role, t->hash, t->prefix, t->created_ms),
        err);
    if (rc < 0)
        return rc;
    *id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int sy_sq_token_revoke(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    int rc =
        sy_sq_run(s,
                  sy_sq_prepare(s, err,
                                "UPDATE tokens SET revoked_ms = ? WHERE workspace_id = ? AND id = ?"
                                " AND revoked_ms = 0",
                                "iii", now_ms, ws, id),
                  err);
    if (rc < 0)
        return rc;
    if (sqlite3_changes(s->db) == 0)
        return sy_err_set(err, -ENOENT, "id", "no active token %lld", (long long)id);
    return 0;
}

/* The columns token_row reads, in its order. */
#define TOKEN_COLUMNS "id, workspace_id, name, role, hash, prefix, created_ms, revoked_ms"

static int token_row(sqlite3_stmt *st, const struct sy_sq_sink *to)
{
    sy_store_token_t t = {.id = sqlite3_column_int64(st, 0),
                          .workspace = sqlite3_column_int64(st, 1),
                          .name = sy_sq_text(st, 2),
                          .role = sy_sq_text(st, 3),
                          .hash = sy_sq_text(st, 4),
                          .prefix = sy_sq_text(st, 5),
                          .created_ms = sqlite3_column_int64(st, 6),
                          .revoked_ms = sqlite3_column_int64(st, 7)};
    return to->cb.token(to->arg, &t);
}

int sy_sq_token_list(sy_store_t *store, int64_t ws, sy_store_token_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_each(s,
                      sy_sq_prepare(s, err,
                                    "SELECT " TOKEN_COLUMNS
                                    " FROM tokens WHERE ? < 0 OR workspace_id = ? ORDER BY id",
                                    "ii", ws, ws),
                      err, "query", token_row, (struct sy_sq_sink){.cb.token = cb, .arg = arg});
}

int sy_sq_token_by_hash(sy_store_t *store, const char *hash, sy_store_token_cb cb, void *arg,
                        sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_each(
        s, sy_sq_prepare(s, err, "SELECT " TOKEN_COLUMNS " FROM tokens WHERE hash = ?", "s", hash),
        err, "query", token_row, (struct sy_sq_sink){.cb.token = cb, .arg = arg});
}

/* ---- flags --------------------------------------------------------------------------- */

int sy_sq_flag_put(sy_store_t *store, int64_t ws, const sy_store_flag_t *f, bool *created,
                   sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(
        s, err, "SELECT 1 FROM flags WHERE workspace_id = ? AND key = ?", "is", ws, f->key);
    if (!st)
        return err ? err->code : -EIO;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sy_sq_fail(s, err, "flag");
    *created = rc == SQLITE_DONE;
    return sy_sq_run(
        s,
        sy_sq_prepare(s, err,
                      "INSERT INTO flags (workspace_id, key, definition, updated_ms)"
                      " VALUES (?, ?, ?, ?) ON CONFLICT (workspace_id, key) DO UPDATE"
                      " SET definition = excluded.definition, updated_ms = excluded.updated_ms",
                      "issi", ws, f->key, f->definition, f->updated_ms),
        err);
}

int sy_sq_flag_delete(sy_store_t *store, int64_t ws, const char *key, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    int rc = sy_sq_run(s,
                       sy_sq_prepare(s, err, "DELETE FROM flags WHERE workspace_id = ? AND key = ?",
                                     "is", ws, key),
                       err);
    if (rc < 0)
        return rc;
    if (sqlite3_changes(s->db) == 0)
        return sy_err_set(err, -ENOENT, "key", "no flag \"%.64s\"", key);
    return 0;
}

int sy_sq_flag_clear(sy_store_t *store, int64_t ws, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_run(s, sy_sq_prepare(s, err, "DELETE FROM flags WHERE workspace_id = ?", "i", ws),
                     err);
}

static int flag_row(sqlite3_stmt *st, const struct sy_sq_sink *to)
{
    sy_store_flag_t f = {.key = sy_sq_text(st, 0),
                         .definition = sy_sq_text(st, 1),
                         .updated_ms = sqlite3_column_int64(st, 2)};
    return to->cb.flag(to->arg, &f);
}

int sy_sq_flag_list(sy_store_t *store, int64_t ws, sy_store_flag_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_each(
        s,
        sy_sq_prepare(s, err,
                      "SELECT key, definition, updated_ms FROM flags WHERE workspace_id = ?"
                      " ORDER BY key",
                      "i", ws),
        err, "query", flag_row, (struct sy_sq_sink){.cb.flag = cb, .arg = arg});
}

int sy_sq_flag_workspaces(sy_store_t *store, sy_store_id_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(s, err,
                                     "SELECT workspace_id FROM flags UNION"
                                     " SELECT workspace_id FROM flagsets ORDER BY 1",
                                     "");
    if (!st)
        return err ? err->code : -EIO;
    int rc = sqlite3_step(st), crc = 0;
    for (; rc == SQLITE_ROW && crc == 0; rc = sqlite3_step(st))
        crc = cb(arg, sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
    if (crc != 0)
        return crc;
    return rc == SQLITE_DONE ? 0 : sy_sq_fail(s, err, "flag workspaces");
}

static char *dup_or(const char *s, const char *dflt)
{
    return strdup(s ? s : dflt);
}

int sy_sq_flagset_get(sy_store_t *store, int64_t ws, char **evaluators, char **metadata,
                      sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(
        s, err, "SELECT evaluators, metadata FROM flagsets WHERE workspace_id = ?", "i", ws);
    if (!st)
        return err ? err->code : -EIO;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sqlite3_finalize(st);
        return sy_sq_fail(s, err, "flagset");
    }
    bool row = rc == SQLITE_ROW;
    *evaluators = dup_or(row ? sy_sq_text(st, 0) : NULL, "{}");
    *metadata = dup_or(row ? sy_sq_text(st, 1) : NULL, "{}");
    sqlite3_finalize(st);
    if (!*evaluators || !*metadata) {
        free(*evaluators);
        free(*metadata);
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    }
    return 0;
}

int sy_sq_flagset_put(sy_store_t *store, int64_t ws, const char *evaluators, const char *metadata,
                      sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_run(
        s,
        sy_sq_prepare(s, err,
                      "INSERT INTO flagsets (workspace_id, evaluators, metadata) VALUES (?, ?, ?)"
                      " ON CONFLICT (workspace_id) DO UPDATE"
                      " SET evaluators = excluded.evaluators, metadata = excluded.metadata",
                      "iss", ws, evaluators, metadata),
        err);
}

/* ---- audit trail --------------------------------------------------------------------- */

int sy_sq_audit_add(sy_store_t *store, const sy_store_audit_t *a, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_run(
        s,
        sy_sq_prepare(s, err,
                      "INSERT INTO audit (workspace_id, at_ms, actor, action, resource, before,"
                      " after) VALUES (?, ?, ?, ?, ?, ?, ?)",
                      "iisssss", a->workspace, a->at_ms, a->actor, a->action, a->resource,
                      a->before, a->after),
        err);
}

static int audit_row(sqlite3_stmt *st, const struct sy_sq_sink *to)
{
    sy_store_audit_t a = {.id = sqlite3_column_int64(st, 0),
                          .workspace = sqlite3_column_int64(st, 1),
                          .at_ms = sqlite3_column_int64(st, 2),
                          .actor = sy_sq_text(st, 3),
                          .action = sy_sq_text(st, 4),
                          .resource = sy_sq_text(st, 5),
                          .before = sy_sq_text(st, 6),
                          .after = sy_sq_text(st, 7)};
    return to->cb.audit(to->arg, &a);
}

int sy_sq_audit_list(sy_store_t *store, const sy_store_audit_query_t *q, sy_store_audit_cb cb,
                     void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    /* A resource ending in ':' is a prefix ("flag:" for every flag); GLOB, not LIKE, so
     * '%' and '_' in keys mean themselves. */
    const char *res = q->resource;
    size_t rlen = res ? strlen(res) : 0;
    char pattern[300] = "";
    bool prefix = rlen > 0 && res[rlen - 1] == ':';
    if (prefix) {
        size_t o = 0;
        for (size_t i = 0; i < rlen && o + 4 < sizeof(pattern); i++) {
            if (strchr("*?[", res[i])) {
                pattern[o++] = '[';
                pattern[o++] = res[i];
                pattern[o++] = ']';
            } else {
                pattern[o++] = res[i];
            }
        }
        pattern[o++] = '*';
        pattern[o] = '\0';
    }
    return sy_sq_each(
        s,
        sy_sq_prepare(s, err,
                      "SELECT id, workspace_id, at_ms, actor, action, resource, before, after"
                      " FROM audit WHERE workspace_id = ?"
                      " AND (? IS NULL OR resource = ?) AND (? IS NULL OR resource GLOB ?)"
                      " AND (? IS NULL OR action = ?) AND at_ms >= ? AND (? = 0 OR id < ?)"
                      " ORDER BY id DESC LIMIT ?",
                      "issssssiiii", q->workspace, prefix ? NULL : res, prefix ? NULL : res,
                      prefix ? pattern : NULL, prefix ? pattern : NULL, q->action, q->action,
                      q->since_ms, q->before_id, q->before_id, (int64_t)q->limit),
        err, "query", audit_row, (struct sy_sq_sink){.cb.audit = cb, .arg = arg});
}

/* What store.c dispatches to for every path and ":memory:" (store_backend.h). */
/* ---- many nodes: a SQLite store has one ---------------------------------------------- */

static int sq_announce(sy_store_t *store, int64_t ws, const char *what, int64_t revision,
                       sy_err_t *err)
{
    (void)store;
    (void)ws;
    (void)what;
    (void)revision;
    (void)err;
    return 0; /* no other node to tell */
}

static int sq_listen(sy_store_t *store, sy_err_t *err)
{
    (void)store;
    return sy_err_set(err, -ENOTSUP, "db", "a SQLite store has one node: nothing to hear");
}

static int sq_heard(sy_store_t *store, sy_store_heard_cb cb, void *arg, sy_err_t *err)
{
    (void)store;
    (void)cb;
    (void)arg;
    (void)err;
    return 0;
}

static int sq_heard_fd(sy_store_t *store)
{
    (void)store;
    return -1;
}

/* One writer on one file: places are committed in their order already. */
static int sq_log_hold(sy_store_t *store, int64_t *head, sy_err_t *err)
{
    (void)store;
    (void)err;
    *head = -1;
    return 0;
}

static int sq_log_lock(sy_store_t *store, int64_t *head, int64_t *changes, sy_err_t *err)
{
    if (changes)
        *changes = -1;
    return sq_log_hold(store, head, err);
}

static void sq_log_unlock(sy_store_t *store)
{
    (void)store;
}

/* A deferred BEGIN: its first read takes the snapshot (WAL) the rest of it reads. */
static int sq_begin_read(sy_store_t *store, sy_err_t *err)
{
    return sy_sq_exec(sq(store), "BEGIN", err);
}

static int sq_lead(sy_store_t *store, bool *held, sy_err_t *err)
{
    (void)store;
    (void)err;
    *held = true; /* the one node leads */
    return 0;
}

const struct sy_store_ops sy_store_sqlite_ops = {
    .name = "sqlite",
    .open = sy_sq_open,
    .close = sy_sq_close,
    .schema_version = sy_sq_schema_version,
    .ping = sy_sq_ping,
    .lazy_commits = sy_sq_lazy_commits,
    .fail_at = sy_sq_fail_at,
    .calls = sy_sq_calls,
    .begin = sy_sq_begin,
    .commit = sy_sq_commit,
    .rollback = sy_sq_rollback,
    .workspace_create = sy_sq_workspace_create,
    .workspace_list = sy_sq_workspace_list,
    .workspace_find = sy_sq_workspace_find,
    .workspace_bump = sy_sq_workspace_bump,
    .token_create = sy_sq_token_create,
    .token_revoke = sy_sq_token_revoke,
    .token_list = sy_sq_token_list,
    .token_by_hash = sy_sq_token_by_hash,
    .flag_put = sy_sq_flag_put,
    .flag_delete = sy_sq_flag_delete,
    .flag_clear = sy_sq_flag_clear,
    .flag_list = sy_sq_flag_list,
    .flag_workspaces = sy_sq_flag_workspaces,
    .flagset_get = sy_sq_flagset_get,
    .flagset_put = sy_sq_flagset_put,
    .audit_add = sy_sq_audit_add,
    .audit_list = sy_sq_audit_list,
    .experiment_put = sy_sq_experiment_put,
    .experiment_list = sy_sq_experiment_list,
    .arm_put = sy_sq_arm_put,
    .arm_list = sy_sq_arm_list,
    .srm_put = sy_sq_srm_put,
    .srm_list = sy_sq_srm_list,
    .change_add = sy_sq_change_add,
    .change_list = sy_sq_change_list,
    .setting_put = sy_sq_setting_put,
    .setting_delete = sy_sq_setting_delete,
    .setting_list = sy_sq_setting_list,
    .event_add = sy_sq_event_add,
    .event_add_many = sy_sq_event_add_many,
    .event_list = sy_sq_event_list,
    .event_last = sy_sq_event_last,
    .change_after = sy_sq_change_after,
    .log_lock = sq_log_lock,
    .log_hold = sq_log_hold,
    .log_unlock = sq_log_unlock,
    .log_after = sy_sq_log_after,
    .begin_read = sq_begin_read,
    .event_count = sy_sq_event_count,
    .kpi_add = sy_sq_kpi_add,
    .kpi_window = sy_sq_kpi_window,
    .kpi_place = sy_sq_kpi_place,
    .kpi_unit_sum = sy_sq_kpi_unit_sum,
    .regression_put = sy_sq_regression_put,
    .regression_list = sy_sq_regression_list,
    .risk_policy_put = sy_sq_risk_policy_put,
    .risk_policy_list = sy_sq_risk_policy_list,
    .risk_add = sy_sq_risk_add,
    .risk_reserved = sy_sq_risk_reserved,
    .risk_release = sy_sq_risk_release,
    .risk_list = sy_sq_risk_list,
    .channel_add = sy_sq_channel_add,
    .channel_delete = sy_sq_channel_delete,
    .channel_list = sy_sq_channel_list,
    .notification_add = sy_sq_notification_add,
    .notification_list = sy_sq_notification_list,
    .notification_due = sy_sq_notification_due,
    .notification_next = sy_sq_notification_next,
    .notification_update = sy_sq_notification_update,
    .notification_prune = sy_sq_notification_prune,
    .notification_counts = sy_sq_notification_counts,
    .notification_type_counts = sy_sq_notification_type_counts,
    .notification_type_counts_each = sy_sq_notification_type_counts_each,
    .route_put = sy_sq_route_put,
    .route_delete = sy_sq_route_delete,
    .route_list = sy_sq_route_list,
    .route_minute_add = sy_sq_route_minute_add,
    .route_minute_list = sy_sq_route_minute_list,
    .route_minute_prune = sy_sq_route_minute_prune,
    .checkpoint_put = sy_sq_checkpoint_put,
    .checkpoint_list = sy_sq_checkpoint_list,
    .checkpoint_count = sy_sq_checkpoint_count,
    .checkpoint_get = sy_sq_checkpoint_get,
    .retention_get = sy_sq_retention_get,
    .retention_put = sy_sq_retention_put,
    .event_range = sy_sq_event_range,
    .event_experiments = sy_sq_event_experiments,
    .event_prune = sy_sq_event_prune,
    .kpi_prune = sy_sq_kpi_prune,
    .audit_prune = sy_sq_audit_prune,
    .timeline_put = sy_sq_timeline_put,
    .timeline_list = sy_sq_timeline_list,
    .timeline_prune = sy_sq_timeline_prune,
    .announce = sq_announce,
    .listen = sq_listen,
    .heard = sq_heard,
    .heard_fd = sq_heard_fd,
    .lead = sq_lead,
};
