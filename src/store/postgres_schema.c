/* postgres_schema.c - the PostgreSQL schema at version 16 (see postgres_schema.h).
 *
 * Types. SQLite's INTEGER is 64 bits, and the C store binds and reads every integer as
 * int64_t: BIGINT here, ids included (identity columns, BY DEFAULT as SQLite's INTEGER
 * PRIMARY KEY, which takes an explicit id: a copy of a SQLite database keeps its ids,
 * which events' ids (checkpoints' `seq`, retention's marks) and every reference need).
 * REAL is DOUBLE PRECISION, BLOB is BYTEA, TEXT is TEXT. BOOLEAN only where the C store
 * writes 0 or 1 and reads "!= 0" or 0/1/NULL, and no SQL counts with it: the four
 * `enabled` and events.success. kpi_events.success stays an integer: the KPI reads sum it.
 * PostgreSQL reads '0' and '1' as booleans, so the same bound integers write them; a read
 * gives t/f. NOT NULL, defaults, checks, primary keys (the targets of the SQLite store's
 * ON CONFLICT clauses) and indexes are SQLite's, by the same names.
 *
 * Workspaces, by row-level security. Every table that holds a workspace's data has a
 * `workspace_id`, ENABLE and FORCE ROW LEVEL SECURITY (FORCE holds the owner too, so that
 * a migration or an owner's query cannot mix workspaces by accident; tokens excepted, below)
 * and one policy,
 * WORKSPACE_ROWS below, for every command and every role: a row is seen, changed or
 * written only in a transaction whose `app.workspace_id` is its workspace. Without the
 * setting nothing is seen and nothing can be written. The tables that reached their
 * workspace through an experiment (its arms, SRM, checkpoint and timeline) carry
 * workspace_id too, as issue 25 asks, and their foreign key is (workspace_id,
 * experiment_id) to experiments (workspace_id, id), so a row's workspace is always its
 * experiment's; the same holds for allocation_changes and for a notification's channel.
 * That key needs a unique (workspace_id, id) on experiments (experiments_workspace_id),
 * the one index SQLite has not; notification_channels_workspace, SQLite's index on the
 * same columns, is unique here for the same reason. events keeps no foreign key, as in
 * SQLite (ingest pays for none).
 *
 * The tables that are not a workspace's, and so have no policy:
 *  - workspaces: the tenants themselves. A node lists them all at start-up and finds one
 *    by name before any workspace is known (store.h's two cross-workspace reads).
 *  - schema_version: the database's, read before anything else.
 *  - retention: the retention job's marks in the one event log of all workspaces
 *    (events_checkpointed, events_pruned, checkpoints), not any workspace's.
 *
 * Tokens: the cross-workspace path. tokens is a workspace's table like the others (the
 * application role lists and revokes a workspace's tokens under its setting), but a bearer
 * token must be authenticated before its workspace is known. sy_token_by_hash(hash) is
 * that path, and the only one: a SECURITY DEFINER function owned by the owner role (so it
 * runs as the owner, whom FORCE holds too), reading through the one extra policy,
 * tokens_authenticate: SELECT only, for the owner role only. It returns the token's row
 * (its workspace, role and revocation), or none. EXECUTE is revoked from PUBLIC (functions
 * are executable by everyone by default) and granted to the application role; its
 * search_path is fixed to the schema, so that no object of another schema can stand in for
 * tokens. Listing every token (start-up) reads through the same policy (sy_tokens_all).
 *
 * Grants: the owner role (who applies this) owns everything. The application role, named
 * by the setting switchyard.app_role, gets SELECT, INSERT, UPDATE and DELETE on the tables
 * (SELECT only on schema_version: migrations are the owner's), USAGE on the sequences
 * (the identity columns') and EXECUTE on sy_token_by_hash, sy_experiment_workspace,
 * sy_notification_workspace, sy_log_lock, sy_log_hold, sy_log_after, sy_changes_after and
 * the readers across workspaces (READERS): nothing else. Neither TRUNCATE
 * nor REFERENCES: TRUNCATE ignores row-level security, and a foreign key's checks do too.
 *
 * The log's order: SQLite's events.id is the order of inserts and of commits (one
 * writer). Here every append takes the log's lock (sy_log_lock, at events) and gives the
 * log's last place + 1, as SQLite does: events.id has no sequence (an identity value comes
 * in the order of nextval, not of commit). The jobs that scan every workspace (start-up's
 * lists, the notifier's due notifications, retention's choices, the board's counts) read
 * them all in one statement through the readers across workspaces (READER, at the end: a
 * SECURITY DEFINER function each, reading through an owner-only <table>_across policy,
 * SELECT only), as tokens did; a statement a workspace stalled nodes of a thousand
 * workspaces for seconds. SQLite's store deletes timeline points by rowid: here by their
 * key.
 */
#include "store/postgres_schema.h"

/* The workspace of the transaction, NULL when unset. An unset custom setting reads as
 * NULL, but as '' once a transaction of the session has SET LOCAL it: NULLIF makes both
 * "no workspace" (no row matches NULL), rather than an error for the one and not the
 * other. A value that is not a number is an error: the store only sets numbers. A scalar
 * subquery, so that a statement reads it once (an InitPlan), not once a row: a scan of
 * 100,000 events under the policy took 40 ms against 80-150 with the call in the row's
 * test. */
#define WS "(SELECT nullif(current_setting('app.workspace_id', true), '')::bigint)"

/* Row-level security of a workspace's table `t`: on, forced, one policy for every command
 * and role (the rule of issue 25, written once). */
#define WORKSPACE_ROWS(t)                                                                          \
    "ALTER TABLE " t " ENABLE ROW LEVEL SECURITY;"                                                 \
    "ALTER TABLE " t " FORCE ROW LEVEL SECURITY;"                                                  \
    "CREATE POLICY " t "_workspace ON " t " USING (workspace_id = " WS ")"                         \
    " WITH CHECK (workspace_id = " WS ");"

/* The owner's SELECT of every workspace's rows of `t`, for the readers across workspaces
 * (READER) alone: a policy for the owner role only, USING (true), as tokens_authenticate. */
#define ACROSS(t) "CREATE POLICY " t "_across ON " t " FOR SELECT TO CURRENT_USER USING (true);"

/* A reader across workspaces: function `sig` returning `ret`, the one statement `body`;
 * SECURITY DEFINER (the owner's, held by FORCE too: it reads through the owner's policies),
 * STABLE, its search_path fixed to the schema, EXECUTE revoked from PUBLIC (granted to the
 * application role with the others, READERS). */
#define READER(sig, ret, body)                                                                     \
    "CREATE FUNCTION " sig " RETURNS " ret " LANGUAGE sql STABLE SECURITY DEFINER"                 \
    " AS $$ " body " $$;"                                                                          \
    "REVOKE ALL ON FUNCTION " sig " FROM PUBLIC;"                                                  \
    "DO $$ BEGIN EXECUTE format('ALTER FUNCTION " sig " SET search_path = %I, pg_temp',"           \
    " current_schema()); END $$;"

/* Every READER's signature (its arguments' types), for the application role's grant. */
#define READERS                                                                                    \
    "sy_flag_workspaces(), sy_settings_all(), sy_tokens_all(), sy_experiments_all(), "             \
    "sy_arms_all(), sy_srm_all(),"                                                                 \
    " sy_checkpoints_all(), sy_checkpoint_count(), sy_routes_all(), sy_regressions_all(),"         \
    " sy_notifications_due(BIGINT, BIGINT), sy_notification_next(),"                               \
    " sy_notifications_done(BIGINT), sy_notification_type_counts(), sy_log_head(),"                \
    " sy_log_range(BIGINT, BIGINT, BIGINT, BIGINT), sy_log_experiments(BIGINT, BIGINT), "          \
    "sy_kpi_head(),"                                                                               \
    " sy_kpi_unwatched(BIGINT, BIGINT, BIGINT), sy_audit_old(BIGINT, BIGINT),"                     \
    " sy_timeline_old(BIGINT, BIGINT), sy_timeline_old_workspaces(BIGINT),"                        \
    " sy_audit_old_workspaces(BIGINT), sy_route_minutes_old(BIGINT)"

/* An id as SQLite's INTEGER PRIMARY KEY gives it. */
#define ID "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"

/* 15 (SQLite's 15): CUPED's adjusted always-valid p, each arm's running minimum. */
#define UPGRADE_15                                                                                 \
    "ALTER TABLE experiment_arms ADD COLUMN cuped_seq_p DOUBLE PRECISION NOT NULL DEFAULT 1;"

/* 16 (SQLite's 16): CUPED's covariate from a KPI metric, a KPI event's unit and its index. */
#define UPGRADE_16                                                                                 \
    "ALTER TABLE kpi_events ADD COLUMN unit TEXT;"                                                 \
    "CREATE INDEX kpi_events_unit ON kpi_events (workspace_id, domain, metric, unit, at_ms)"       \
    " WHERE unit IS NOT NULL;"

const char *const sy_pg_schema[] = {
    "CREATE TABLE schema_version ("
    "  version BIGINT NOT NULL);",

    "CREATE TABLE workspaces (" ID ","
    "  name TEXT NOT NULL UNIQUE,"
    "  revision BIGINT NOT NULL DEFAULT 0,"
    "  created_ms BIGINT NOT NULL);",

    "CREATE TABLE tokens (" ID ","
    "  workspace_id BIGINT NOT NULL REFERENCES workspaces(id),"
    "  name TEXT NOT NULL,"
    "  role TEXT NOT NULL CHECK (role IN ('admin', 'editor', 'viewer', 'sdk')),"
    "  hash TEXT NOT NULL UNIQUE,"
    "  prefix TEXT NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  revoked_ms BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX tokens_workspace ON tokens (workspace_id, id);",
    WORKSPACE_ROWS("tokens"),
    /* The owner's one way past the workspace policy, for sy_token_by_hash (above). */
    "CREATE POLICY tokens_authenticate ON tokens FOR SELECT TO CURRENT_USER USING (true);"
    "CREATE FUNCTION sy_token_by_hash(token_hash TEXT) RETURNS SETOF tokens"
    "  LANGUAGE sql STABLE SECURITY DEFINER"
    "  AS $$ SELECT * FROM tokens WHERE hash = token_hash $$;"
    "REVOKE ALL ON FUNCTION sy_token_by_hash(TEXT) FROM PUBLIC;"
    "DO $$ BEGIN EXECUTE format('ALTER FUNCTION sy_token_by_hash(TEXT)"
    "  SET search_path = %I, pg_temp', current_schema()); END $$;",

    "CREATE TABLE flags ("
    "  workspace_id BIGINT NOT NULL REFERENCES workspaces(id),"
    "  key TEXT NOT NULL,"
    "  definition TEXT NOT NULL,"
    "  updated_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (workspace_id, key));",
    WORKSPACE_ROWS("flags"),

    "CREATE TABLE flagsets ("
    "  workspace_id BIGINT PRIMARY KEY REFERENCES workspaces(id),"
    "  evaluators TEXT NOT NULL,"
    "  metadata TEXT NOT NULL);",
    WORKSPACE_ROWS("flagsets"),

    "CREATE TABLE audit (" ID ","
    "  workspace_id BIGINT NOT NULL REFERENCES workspaces(id),"
    "  at_ms BIGINT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  resource TEXT NOT NULL,"
    "  before TEXT,"
    "  after TEXT);"
    "CREATE INDEX audit_workspace ON audit (workspace_id, id);",
    WORKSPACE_ROWS("audit"),

    "CREATE TABLE experiments (" ID ","
    "  workspace_id BIGINT NOT NULL REFERENCES workspaces(id),"
    "  key TEXT NOT NULL,"
    "  flag_key TEXT NOT NULL,"
    "  definition TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  started_ms BIGINT NOT NULL DEFAULT 0,"
    "  stopped_ms BIGINT NOT NULL DEFAULT 0,"
    "  flag_before TEXT,"
    "  weights TEXT,"
    "  UNIQUE (workspace_id, key),"
    "  CONSTRAINT experiments_workspace_id UNIQUE (workspace_id, id));",
    WORKSPACE_ROWS("experiments"),
    /* The store's calls keyed by an experiment alone (its arms, SRM p, checkpoint, timeline)
     * learn its workspace here, once per experiment and handle (postgres.c), through one more
     * owner-only policy: the id's workspace, nothing else of the row. */
    "CREATE POLICY experiments_locate ON experiments FOR SELECT TO CURRENT_USER USING (true);"
    "CREATE FUNCTION sy_experiment_workspace(experiment BIGINT) RETURNS BIGINT"
    "  LANGUAGE sql STABLE SECURITY DEFINER"
    "  AS $$ SELECT workspace_id FROM experiments WHERE id = experiment $$;"
    "REVOKE ALL ON FUNCTION sy_experiment_workspace(BIGINT) FROM PUBLIC;"
    "DO $$ BEGIN EXECUTE format('ALTER FUNCTION sy_experiment_workspace(BIGINT)"
    "  SET search_path = %I, pg_temp', current_schema()); END $$;",

    "CREATE TABLE allocation_changes (" ID ","
    "  workspace_id BIGINT NOT NULL,"
    "  experiment_id BIGINT NOT NULL,"
    "  at_ms BIGINT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  weights_before TEXT NOT NULL,"
    "  weights_after TEXT NOT NULL,"
    "  detail TEXT NOT NULL,"
    "  FOREIGN KEY (workspace_id, experiment_id) REFERENCES experiments (workspace_id, id));"
    "CREATE INDEX allocation_changes_experiment ON allocation_changes (experiment_id, id);",
    WORKSPACE_ROWS("allocation_changes"),
    /* A node applies the changes other nodes made (store.h's sy_store_change_after): every
     * workspace's, in one read, through the owner's one more policy (see sy_log_lock). */
    "CREATE POLICY allocation_changes_tail ON allocation_changes FOR SELECT TO CURRENT_USER"
    "  USING (true);"
    "CREATE FUNCTION sy_changes_after(after BIGINT) RETURNS SETOF allocation_changes"
    "  LANGUAGE sql STABLE SECURITY DEFINER"
    "  AS $$ SELECT * FROM allocation_changes WHERE id > after ORDER BY id $$;"
    "REVOKE ALL ON FUNCTION sy_changes_after(BIGINT) FROM PUBLIC;"
    "DO $$ BEGIN EXECUTE format('ALTER FUNCTION sy_changes_after(BIGINT)"
    "  SET search_path = %I, pg_temp', current_schema()); END $$;",

    "CREATE TABLE workspace_settings ("
    "  workspace_id BIGINT NOT NULL REFERENCES workspaces(id),"
    "  name TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (workspace_id, name));",
    WORKSPACE_ROWS("workspace_settings"),

    /* Migration 12's shape: an arm's moments as mean and sd. */
    "CREATE TABLE experiment_arms ("
    "  workspace_id BIGINT NOT NULL,"
    "  experiment_id BIGINT NOT NULL,"
    "  variant TEXT NOT NULL,"
    "  units BIGINT NOT NULL,"
    "  conversions BIGINT NOT NULL,"
    "  value_mean DOUBLE PRECISION NOT NULL,"
    "  value_sd DOUBLE PRECISION NOT NULL,"
    "  errors BIGINT NOT NULL,"
    "  crossovers BIGINT NOT NULL,"
    "  seq_p DOUBLE PRECISION NOT NULL,"
    "  latency_n BIGINT NOT NULL,"
    "  latency_mean DOUBLE PRECISION NOT NULL,"
    "  latency_sd DOUBLE PRECISION NOT NULL,"
    "  PRIMARY KEY (experiment_id, variant),"
    "  FOREIGN KEY (workspace_id, experiment_id) REFERENCES experiments (workspace_id, id));",
    WORKSPACE_ROWS("experiment_arms"),

    /* An event id is unique per experiment (idempotent retries); none is always new. The
     * place (id) is given by the appender, under the log's lock (below). */
    "CREATE TABLE events (id BIGINT PRIMARY KEY,"
    "  workspace_id BIGINT NOT NULL,"
    "  experiment_id BIGINT NOT NULL,"
    "  event_id TEXT,"
    "  kind TEXT NOT NULL,"
    "  unit TEXT NOT NULL,"
    "  variant TEXT,"
    "  success BOOLEAN,"
    "  value DOUBLE PRECISION,"
    "  latency_ms DOUBLE PRECISION,"
    "  at_ms BIGINT NOT NULL);"
    "CREATE UNIQUE INDEX events_event_id ON events (experiment_id, event_id)"
    "  WHERE event_id IS NOT NULL;",
    WORKSPACE_ROWS("events"),
    /* The log's order across nodes (store.h's sy_store_log_lock): appenders take one lock,
     * (2026, 2) of the advisory locks' two-key form, so that places are committed in their
     * order, and read the log's last place over every workspace; a node tails what the
     * others appended, every workspace's, in that order. Both through the owner's one more
     * policy on events, as sy_token_by_hash reads tokens. sy_log_lock and sy_log_hold are
     * VOLATILE: their read takes a snapshot after the lock is had, not before (READ
     * COMMITTED: a new one per statement), so it sees every append committed before. */
    "CREATE POLICY events_tail ON events FOR SELECT TO CURRENT_USER USING (true);"
    "CREATE FUNCTION sy_log_lock(OUT head BIGINT, OUT changes BIGINT) LANGUAGE plpgsql VOLATILE"
    "  SECURITY DEFINER AS $$ BEGIN PERFORM pg_advisory_xact_lock(2026, 2);"
    "  head := (SELECT coalesce(max(id), 0) FROM events);"
    "  changes := (SELECT coalesce(max(id), 0) FROM allocation_changes); END $$;"
    "CREATE FUNCTION sy_log_hold() RETURNS BIGINT LANGUAGE plpgsql VOLATILE SECURITY DEFINER"
    "  AS $$ BEGIN PERFORM pg_advisory_lock(2026, 2);"
    "  RETURN (SELECT coalesce(max(id), 0) FROM events); END $$;"
    "CREATE FUNCTION sy_log_after(after BIGINT, lim BIGINT) RETURNS SETOF events"
    "  LANGUAGE sql STABLE SECURITY DEFINER"
    "  AS $$ SELECT * FROM events WHERE id > after ORDER BY id LIMIT lim $$;"
    "REVOKE ALL ON FUNCTION sy_log_lock() FROM PUBLIC;"
    "REVOKE ALL ON FUNCTION sy_log_hold() FROM PUBLIC;"
    "REVOKE ALL ON FUNCTION sy_log_after(BIGINT, BIGINT) FROM PUBLIC;"
    "DO $$ BEGIN"
    "  EXECUTE format('ALTER FUNCTION sy_log_lock() SET search_path = %I, pg_temp',"
    "                 current_schema());"
    "  EXECUTE format('ALTER FUNCTION sy_log_hold() SET search_path = %I, pg_temp',"
    "                 current_schema());"
    "  EXECUTE format('ALTER FUNCTION sy_log_after(BIGINT, BIGINT) SET search_path = %I, pg_temp',"
    "                 current_schema()); END $$;",

    "CREATE TABLE kpi_events (" ID ","
    "  workspace_id BIGINT NOT NULL REFERENCES workspaces(id),"
    "  domain TEXT NOT NULL,"
    "  metric TEXT NOT NULL,"
    "  success BIGINT,"
    "  value DOUBLE PRECISION,"
    "  actor TEXT NOT NULL,"
    "  correlation_id TEXT,"
    "  detail TEXT,"
    "  at_ms BIGINT NOT NULL,"
    "  event_id TEXT);"
    "CREATE INDEX kpi_events_series ON kpi_events (workspace_id, domain, metric, at_ms, id);"
    "CREATE UNIQUE INDEX kpi_events_event_id ON kpi_events (workspace_id, event_id)"
    "  WHERE event_id IS NOT NULL;",
    WORKSPACE_ROWS("kpi_events"),

    "CREATE TABLE regression_policies ("
    "  workspace_id BIGINT NOT NULL REFERENCES workspaces(id),"
    "  domain TEXT NOT NULL,"
    "  metric TEXT NOT NULL,"
    "  window_events BIGINT NOT NULL,"
    "  baseline_events BIGINT NOT NULL,"
    "  min_events_to_enforce BIGINT NOT NULL,"
    "  max_drop_fraction DOUBLE PRECISION NOT NULL,"
    "  action TEXT NOT NULL,"
    "  measure TEXT NOT NULL,"
    "  enabled BOOLEAN NOT NULL,"
    "  changed_by TEXT NOT NULL,"
    "  reason TEXT,"
    "  updated_ms BIGINT NOT NULL,"
    "  state TEXT,"
    "  PRIMARY KEY (workspace_id, domain, metric));",
    WORKSPACE_ROWS("regression_policies"),

    "CREATE TABLE risk_policies ("
    "  workspace_id BIGINT NOT NULL REFERENCES workspaces(id),"
    "  domain TEXT NOT NULL,"
    "  enabled BOOLEAN NOT NULL,"
    "  max_per_action DOUBLE PRECISION,"
    "  max_per_day DOUBLE PRECISION,"
    "  reason TEXT NOT NULL,"
    "  changed_by TEXT NOT NULL,"
    "  updated_ms BIGINT NOT NULL,"
    "  PRIMARY KEY (workspace_id, domain));",
    WORKSPACE_ROWS("risk_policies"),

    "CREATE TABLE risk_ledger (" ID ","
    "  workspace_id BIGINT NOT NULL REFERENCES workspaces(id),"
    "  domain TEXT NOT NULL,"
    "  day TEXT NOT NULL,"
    "  amount DOUBLE PRECISION NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  correlation_id TEXT,"
    "  outcome TEXT NOT NULL CHECK (outcome IN ('reserved', 'released', 'denied')),"
    "  reason TEXT,"
    "  at_ms BIGINT NOT NULL,"
    "  released_ms BIGINT);"
    "CREATE INDEX risk_ledger_day ON risk_ledger (workspace_id, day, domain, id);",
    WORKSPACE_ROWS("risk_ledger"),

    "CREATE TABLE notification_channels (" ID ","
    "  workspace_id BIGINT NOT NULL REFERENCES workspaces(id),"
    "  type TEXT NOT NULL CHECK (type IN ('slack', 'pagerduty', 'webhook', 'email')),"
    "  name TEXT NOT NULL,"
    "  config TEXT NOT NULL,"
    "  secrets TEXT NOT NULL,"
    "  enabled BOOLEAN NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  deleted_ms BIGINT NOT NULL DEFAULT 0);"
    "CREATE UNIQUE INDEX notification_channels_workspace"
    "  ON notification_channels (workspace_id, id);",
    WORKSPACE_ROWS("notification_channels"),

    "CREATE TABLE notifications (" ID ","
    "  workspace_id BIGINT NOT NULL REFERENCES workspaces(id),"
    "  channel_id BIGINT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  level TEXT NOT NULL CHECK (level IN ('info', 'warning', 'critical')),"
    "  action TEXT NOT NULL CHECK (action IN ('trigger', 'resolve')),"
    "  resource TEXT NOT NULL,"
    "  idem_key TEXT NOT NULL,"
    "  dedup_key TEXT NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),"
    "  attempts BIGINT NOT NULL DEFAULT 0,"
    "  last_error TEXT,"
    "  created_ms BIGINT NOT NULL,"
    "  next_ms BIGINT NOT NULL,"
    "  done_ms BIGINT NOT NULL DEFAULT 0,"
    "  UNIQUE (channel_id, idem_key),"
    "  FOREIGN KEY (workspace_id, channel_id)"
    "    REFERENCES notification_channels (workspace_id, id));"
    "CREATE INDEX notifications_due ON notifications (status, next_ms);"
    "CREATE INDEX notifications_workspace ON notifications (workspace_id, id);",
    WORKSPACE_ROWS("notifications"),
    /* The notifier records an attempt by the notification's id alone (store.h): its workspace
     * comes from here, as an experiment's from sy_experiment_workspace. */
    "CREATE POLICY notifications_locate ON notifications FOR SELECT TO CURRENT_USER USING (true);"
    "CREATE FUNCTION sy_notification_workspace(notification BIGINT) RETURNS BIGINT"
    "  LANGUAGE sql STABLE SECURITY DEFINER"
    "  AS $$ SELECT workspace_id FROM notifications WHERE id = notification $$;"
    "REVOKE ALL ON FUNCTION sy_notification_workspace(BIGINT) FROM PUBLIC;"
    "DO $$ BEGIN EXECUTE format('ALTER FUNCTION sy_notification_workspace(BIGINT)"
    "  SET search_path = %I, pg_temp', current_schema()); END $$;",

    "CREATE TABLE routes (" ID ","
    "  workspace_id BIGINT NOT NULL REFERENCES workspaces(id),"
    "  name TEXT NOT NULL,"
    "  definition TEXT NOT NULL,"
    "  percentage_bp BIGINT NOT NULL CHECK (percentage_bp BETWEEN 0 AND 10000),"
    "  enabled BOOLEAN NOT NULL,"
    "  created_ms BIGINT NOT NULL,"
    "  updated_ms BIGINT NOT NULL,"
    "  UNIQUE (workspace_id, name));",
    WORKSPACE_ROWS("routes"),

    /* With migration 9's status ('' in rows written before it, as in SQLite). */
    "CREATE TABLE route_minutes (" ID ","
    "  workspace_id BIGINT NOT NULL REFERENCES workspaces(id),"
    "  route TEXT NOT NULL,"
    "  minute BIGINT NOT NULL,"
    "  domain TEXT NOT NULL,"
    "  upstream TEXT NOT NULL,"
    "  tried TEXT NOT NULL,"
    "  requests BIGINT NOT NULL,"
    "  errors BIGINT NOT NULL,"
    "  total_ms DOUBLE PRECISION NOT NULL,"
    "  hist TEXT NOT NULL,"
    "  status TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX route_minutes_route ON route_minutes (workspace_id, route, minute);"
    "CREATE INDEX route_minutes_minute ON route_minutes (minute);",
    WORKSPACE_ROWS("route_minutes"),

    "CREATE TABLE experiment_srm ("
    "  workspace_id BIGINT NOT NULL,"
    "  experiment_id BIGINT PRIMARY KEY,"
    "  p DOUBLE PRECISION NOT NULL,"
    "  FOREIGN KEY (workspace_id, experiment_id) REFERENCES experiments (workspace_id, id));",
    WORKSPACE_ROWS("experiment_srm"),

    "CREATE TABLE experiment_checkpoints ("
    "  workspace_id BIGINT NOT NULL,"
    "  experiment_id BIGINT PRIMARY KEY,"
    "  seq BIGINT NOT NULL,"
    "  state BYTEA NOT NULL,"
    "  FOREIGN KEY (workspace_id, experiment_id) REFERENCES experiments (workspace_id, id));",
    WORKSPACE_ROWS("experiment_checkpoints"),

    "CREATE TABLE retention ("
    "  name TEXT PRIMARY KEY,"
    "  value BIGINT NOT NULL);",

    "CREATE TABLE experiment_timeline ("
    "  workspace_id BIGINT NOT NULL,"
    "  experiment_id BIGINT NOT NULL,"
    "  at_ms BIGINT NOT NULL,"
    "  point TEXT NOT NULL,"
    "  PRIMARY KEY (experiment_id, at_ms),"
    "  FOREIGN KEY (workspace_id, experiment_id) REFERENCES experiments (workspace_id, id));"
    "CREATE INDEX experiment_timeline_at ON experiment_timeline (at_ms);",
    WORKSPACE_ROWS("experiment_timeline"),

    /* Reads across workspaces (issue 25: a thousand workspaces). A job over every workspace
     * (a start-up list, the notifier's queue, retention's choice of what to prune, the board's
     * counts) reads them all in one statement through one of these, not one statement a
     * workspace: each a SECURITY DEFINER function of the owner, as sy_log_after, reading
     * through an owner-only SELECT policy (the tables' _across, or the one they had). They
     * only read: what a job then writes (a prune's deletes) it writes under each workspace's
     * setting, for the workspaces these named. Parameters are never named as a column of
     * the table they read (a column would win). */
    ACROSS("workspace_settings") ACROSS("experiment_arms") ACROSS("experiment_srm")
        ACROSS("experiment_checkpoints") ACROSS("routes") ACROSS("regression_policies")
            ACROSS("notification_channels") ACROSS("audit") ACROSS("kpi_events")
                ACROSS("route_minutes") ACROSS("experiment_timeline") ACROSS("flags")
                    ACROSS("flagsets"),
    /* start-up and the change fan-out's comparisons */
    READER("sy_settings_all()", "SETOF workspace_settings", "SELECT * FROM workspace_settings"),
    READER("sy_flag_workspaces()", "SETOF BIGINT",
           "SELECT workspace_id FROM flags UNION SELECT workspace_id FROM flagsets ORDER BY 1"),
    READER("sy_tokens_all()", "SETOF tokens", "SELECT * FROM tokens"),
    READER("sy_experiments_all()", "SETOF experiments", "SELECT * FROM experiments"),
    READER("sy_arms_all()", "SETOF experiment_arms", "SELECT * FROM experiment_arms"),
    READER("sy_srm_all()", "SETOF experiment_srm", "SELECT * FROM experiment_srm"),
    READER("sy_checkpoints_all()", "SETOF experiment_checkpoints",
           "SELECT * FROM experiment_checkpoints"),
    READER("sy_checkpoint_count()", "BIGINT", "SELECT count(*) FROM experiment_checkpoints"),
    READER("sy_routes_all()", "SETOF routes", "SELECT * FROM routes"),
    READER("sy_regressions_all()", "SETOF regression_policies",
           "SELECT * FROM regression_policies"),
    /* the notifier's queue, and the board's counts */
    READER("sy_notifications_due(due_ms BIGINT, lim BIGINT)", "SETOF notifications",
           "SELECT * FROM notifications WHERE status = 'pending' AND next_ms <= due_ms"
           " ORDER BY next_ms, id LIMIT lim"),
    READER("sy_notification_next()", "BIGINT",
           "SELECT min(next_ms) FROM notifications WHERE status = 'pending'"),
    READER("sy_notifications_done(older_ms BIGINT)", "SETOF BIGINT",
           "SELECT DISTINCT workspace_id FROM notifications WHERE status != 'pending'"
           " AND done_ms < older_ms ORDER BY 1"),
    READER("sy_notification_type_counts()",
           "TABLE (ws BIGINT, channel_type TEXT, pending BIGINT, delivered BIGINT,"
           " failed BIGINT)",
           "SELECT n.workspace_id, c.type, count(*) FILTER (WHERE n.status = 'pending'),"
           " count(*) FILTER (WHERE n.status = 'delivered'),"
           " count(*) FILTER (WHERE n.status = 'failed') FROM notifications n"
           " JOIN notification_channels c ON c.id = n.channel_id GROUP BY 1, 2 ORDER BY 1, 2"),
    /* the event log's reads across workspaces (start-up's replay, retention) */
    READER("sy_log_head()", "BIGINT", "SELECT coalesce(max(id), 0) FROM events"),
    READER("sy_log_range(above BIGINT, upto BIGINT, one BIGINT, lim BIGINT)", "SETOF events",
           "SELECT * FROM events WHERE id > above AND id <= upto AND (one < 0 OR"
           " experiment_id = one) ORDER BY id LIMIT lim"),
    READER("sy_log_experiments(above BIGINT, upto BIGINT)", "SETOF BIGINT",
           "SELECT DISTINCT experiment_id FROM events WHERE id > above AND id <= upto"
           " ORDER BY 1"),
    /* retention's choices: what is old, and in which workspaces */
    READER("sy_kpi_head()", "BIGINT", "SELECT coalesce(max(id), 0) FROM kpi_events"),
    READER("sy_kpi_unwatched(older_ms BIGINT, below BIGINT, lim BIGINT)",
           "TABLE (kpi BIGINT, ws BIGINT)",
           "SELECT id, workspace_id FROM kpi_events k WHERE at_ms < older_ms AND domain != ''"
           " AND id < below AND NOT EXISTS (SELECT 1 FROM regression_policies p WHERE"
           " p.workspace_id = k.workspace_id AND p.domain = k.domain AND p.metric = k.metric)"
           " ORDER BY id LIMIT lim"),
    READER("sy_audit_old(older_ms BIGINT, lim BIGINT)", "TABLE (audit BIGINT, ws BIGINT)",
           "SELECT id, workspace_id FROM audit WHERE at_ms < older_ms ORDER BY id LIMIT lim"),
    READER("sy_timeline_old(older_ms BIGINT, lim BIGINT)",
           "TABLE (ws BIGINT, experiment BIGINT, point_ms BIGINT)",
           "SELECT workspace_id, experiment_id, at_ms FROM experiment_timeline"
           " WHERE at_ms < older_ms ORDER BY at_ms, workspace_id LIMIT lim"),
    READER("sy_timeline_old_workspaces(older_ms BIGINT)", "SETOF BIGINT",
           "SELECT DISTINCT workspace_id FROM experiment_timeline WHERE at_ms < older_ms"
           " ORDER BY 1"),
    READER("sy_audit_old_workspaces(older_ms BIGINT)", "SETOF BIGINT",
           "SELECT DISTINCT workspace_id FROM audit WHERE at_ms < older_ms ORDER BY 1"),
    READER("sy_route_minutes_old(older BIGINT)", "SETOF BIGINT",
           "SELECT DISTINCT workspace_id FROM route_minutes WHERE minute < older ORDER BY 1"),

    /* Last, over every table above: the application role's rights (the header's grants). */
    "DO $$\n"
    "DECLARE\n"
    "  app TEXT := current_setting('switchyard.app_role');\n"
    "BEGIN\n"
    "  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I',"
    "                 current_schema(), app);\n"
    "  EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON schema_version FROM %I', app);\n"
    "  EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA %I TO %I', current_schema(), app);\n"
    "  EXECUTE format('GRANT EXECUTE ON FUNCTION sy_token_by_hash(TEXT) TO %I', app);\n"
    "  EXECUTE format('GRANT EXECUTE ON FUNCTION sy_experiment_workspace(BIGINT) TO %I', app);\n"
    "  EXECUTE format('GRANT EXECUTE ON FUNCTION sy_notification_workspace(BIGINT) TO %I',"
    "                 app);\n"
    "  EXECUTE format('GRANT EXECUTE ON FUNCTION sy_log_lock(), sy_log_hold(),"
    " sy_log_after(BIGINT, BIGINT), sy_changes_after(BIGINT) TO %I', app);\n"
    "  EXECUTE format('GRANT EXECUTE ON FUNCTION " READERS " TO %I', app);\n"
    "END $$;",

    /* the upgrades since the consolidated schema (sy_pg_upgrades) */
    UPGRADE_15,
    UPGRADE_16,
};

const size_t sy_pg_schema_count = sizeof(sy_pg_schema) / sizeof(sy_pg_schema[0]);

const char *const sy_pg_upgrades[] = {UPGRADE_15, UPGRADE_16};

const size_t sy_pg_upgrade_count = sizeof(sy_pg_upgrades) / sizeof(sy_pg_upgrades[0]);
