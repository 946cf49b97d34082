#!/bin/sh
# pg_schema.sh - store/postgres's schema (src/store/postgres_schema.c) on a real PostgreSQL 15
# (tests/integration/pg.sh): applied by pg_schema_apply as the owner role, as the store will,
# then held to issue 25's row-level security and to SQLite's shape.
#
# - Every table of the schema, listed from pg_catalog (so a table added later is checked
#   too), has ENABLE and FORCE ROW LEVEL SECURITY, a NOT NULL bigint workspace_id and the
#   one workspace policy, but the tables postgres_schema.c names as no workspace's
#   (SHARED below), which have none. The owner owns everything; the application role has
#   SELECT, INSERT, UPDATE and DELETE on the tables (SELECT only on schema_version), USAGE
#   on the sequences and EXECUTE on sy_token_by_hash, sy_experiment_workspace,
#   sy_notification_workspace, the log's sy_log_lock, sy_log_hold, sy_log_after and
#   sy_changes_after, and the readers across workspaces (FUNCTIONS below: sy_settings_all,
#   sy_notifications_due, ...), each SECURITY DEFINER, its search_path fixed, and nothing
#   more; PUBLIC nothing.
# - Rows of two workspaces in every table (fixture(): a table without rows there fails), then
#   for every table, as the application role: without app.workspace_id a SELECT sees no
#   row, an INSERT, an UPDATE and a DELETE change nothing; with workspace 1 it sees exactly
#   workspace 1's rows, cannot insert workspace 2's or move its own into workspace 2, and
#   its UPDATE and DELETE touch only its own (workspace 2's rows keep their versions, xmin).
# - Tokens authenticate across workspaces through sy_token_by_hash only.
# - The same tables, columns, types, NOT NULLs, defaults and indexes as SQLite's schema at
#   the same version (a database `switchyard workspace create` made, read with sqlite3),
#   but the differences INTENDED lists.
#
#   pg_schema.sh SWITCHYARD PG_SCHEMA_APPLY   (PG_SCHEMA_APPLY is empty when libpq is missing)
set -u
SY=$1
APPLY=${2:-}
HERE=$(dirname "$0")
. "$HERE/tap.sh"
. "$HERE/pg.sh"

# The tables that hold no workspace's data (postgres_schema.c says why); every other table
# must be held by row-level security.
SHARED="retention schema_version workspaces"
# SQLite columns whose PostgreSQL type is BOOLEAN (the C store writes 0/1 and reads != 0).
BOOLS="events.success notification_channels.enabled regression_policies.enabled
routes.enabled risk_policies.enabled"
# Columns PostgreSQL has and SQLite has not: the workspace of tables that reached it through
# their experiment (issue 25: every table carries workspace_id).
INTENDED="experiment_arms.workspace_id experiment_checkpoints.workspace_id
experiment_srm.workspace_id experiment_timeline.workspace_id"
# Indexes: the same as SQLite's, but notification_channels_workspace is unique (below), and
# experiments_workspace_id, the key that ties a row's workspace to its experiment's, is a
# constraint's index (a key's own indexes are not among those compared).

if [ -z "$APPLY" ] || [ ! -x "$APPLY" ]; then
    not_ok "pg_schema_apply was not built: libpq is missing (scripts/deps.sh installs libpq-dev)"
    tap_done
    exit 1
fi
pg_start || {
    tap_done
    exit 1
}

# none COMMAND...: COMMAND's output; true when it succeeded and printed nothing.
none() {
    "$@" >"$TMP/none"
    status=$?
    cat "$TMP/none"
    [ "$status" -eq 0 ] && [ ! -s "$TMP/none" ]
}

# ---- applying ------------------------------------------------------------------------------
check "the app role cannot apply the schema (it may not create)" 1 '' \
    'permission denied for schema public' -- "$APPLY" "$PG_URL_APP" switchyard_app
# A table in the way of the last one: the statements before it must leave nothing behind.
pg_sql "$PG_URL_OWNER" "CREATE TABLE experiment_timeline (x bigint)"
check "a statement that fails (a table in the way) fails the whole schema" 1 '' \
    'relation "experiment_timeline" already exists' -- "$APPLY" "$PG_URL_OWNER" switchyard_app
check "and leaves nothing of it: no other table, no function, no policy" 0 '^experiment_timeline\|0\|0$' \
    '' -- pg_sql "$PG_URL_OWNER" "SELECT string_agg(relname, ','),
        (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace),
        (SELECT count(*) FROM pg_policy)
        FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"
pg_sql "$PG_URL_OWNER" "DROP TABLE experiment_timeline"
check "the owner applies the schema at version 16 in one transaction" 0 \
    '^applied schema version 16 \([0-9]+ statements\)$' '' -- \
    "$APPLY" "$PG_URL_OWNER" switchyard_app
check "applied again, it finds version 16 and changes nothing" 0 '^schema version 16 already$' \
    '' -- "$APPLY" "$PG_URL_OWNER" switchyard_app
check "schema_version holds one row: 16" 0 '^16$' '' -- \
    pg_sql "$PG_URL_APP" "SELECT string_agg(version::text, ',') FROM schema_version"

TABLES=$(pg_sql "$PG_URL_OWNER" "SELECT relname FROM pg_class
    WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') ORDER BY relname")
is_shared() { case " $SHARED " in *" $1 "*) return 0 ;; esac; return 1; }
WS_TABLES=""
for t in $TABLES; do is_shared "$t" || WS_TABLES="$WS_TABLES $t"; done
check "the schema has 23 tables, 20 of them a workspace's" 0 '^23 20$' '' -- \
    echo "$(echo $TABLES | wc -w) $(echo $WS_TABLES | wc -w)"

# ---- row-level security, from pg_catalog ---------------------------------------------------
# rls_report: one line per table that breaks the rule (the workspace tables: RLS enabled and
# forced, a NOT NULL bigint workspace_id, exactly the one workspace policy for every command
# and role, the same USING and WITH CHECK, on app.workspace_id; tokens_authenticate beside
# it on tokens only, experiments_locate on experiments only, notifications_locate on
# notifications only, events_tail on events only, allocation_changes_tail on
# allocation_changes only and <table>_across on its table only (the readers across
# workspaces'), each SELECT for the owner only, USING (true), at most one beside the workspace
# policy; the shared tables: no RLS, no policy).
# Empty when every table holds.
rls_report() {
    pg_sql "$PG_URL_OWNER" "
WITH t AS (SELECT c.oid, c.relname, c.relrowsecurity AS rls, c.relforcerowsecurity AS force,
                  c.relname = ANY (string_to_array('$SHARED', ' ')) AS shared
             FROM pg_class c
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')),
     ws AS (SELECT t.*, a.atttypid = 'bigint'::regtype AND a.attnotnull AS col_ok,
                   (SELECT count(*) FROM pg_policy p WHERE p.polrelid = t.oid
                       AND p.polname = t.relname || '_workspace' AND p.polcmd = '*'
                       AND p.polpermissive AND p.polroles = '{0}'
                       AND pg_get_expr(p.polqual, p.polrelid)
                           = pg_get_expr(p.polwithcheck, p.polrelid)
                       AND pg_get_expr(p.polqual, p.polrelid) ~
                           '^\(workspace_id = \( SELECT \(NULLIF\(current_setting\(''app\.workspace_id''::text, true\), ''''::text\)\)::bigint AS \"nullif\"\)\)$'
                   ) AS good,
                   (SELECT count(*) FROM pg_policy p WHERE p.polrelid = t.oid
                       AND ((p.polname = 'tokens_authenticate' AND t.relname = 'tokens')
                            OR (p.polname = 'experiments_locate' AND t.relname = 'experiments')
                            OR (p.polname = 'notifications_locate'
                                AND t.relname = 'notifications')
                            OR (p.polname = 'events_tail' AND t.relname = 'events')
                            OR (p.polname = 'allocation_changes_tail'
                                AND t.relname = 'allocation_changes')
                            OR p.polname = t.relname || '_across')
                       AND p.polcmd = 'r' AND p.polroles = ARRAY['switchyard_owner'::regrole::oid]
                       AND pg_get_expr(p.polqual, p.polrelid) = 'true') AS auth,
                   (SELECT count(*) FROM pg_policy p WHERE p.polrelid = t.oid) AS policies
              FROM t LEFT JOIN pg_attribute a ON a.attrelid = t.oid
                   AND a.attname = 'workspace_id' AND NOT a.attisdropped)
SELECT relname || ': ' || concat_ws(', ',
         CASE WHEN NOT rls THEN 'row level security not enabled' END,
         CASE WHEN NOT force THEN 'not forced' END,
         CASE WHEN col_ok IS NULL THEN 'no workspace_id'
              WHEN NOT col_ok THEN 'workspace_id not a NOT NULL bigint' END,
         CASE WHEN good <> 1 THEN 'no workspace policy as the rule writes it' END,
         CASE WHEN policies <> good + auth THEN 'another policy' END)
  FROM ws WHERE NOT shared
   AND NOT (rls AND force AND col_ok AND good = 1 AND policies = good + auth)
UNION ALL
SELECT relname || ': a shared table with row-level security or a policy'
  FROM ws WHERE shared AND (rls OR policies > 0)
UNION ALL
SELECT s || ': listed as shared but not in the schema'
  FROM unnest(string_to_array('$SHARED', ' ')) s
 WHERE s NOT IN (SELECT relname FROM t)
ORDER BY 1"
}
check "every workspace table: RLS enabled and forced, workspace_id, the one policy" 0 '' '' -- \
    none rls_report
check "tokens has tokens_authenticate: SELECT for the owner only, USING (true)" 0 '^1$' '' -- \
    pg_sql "$PG_URL_OWNER" "SELECT count(*) FROM pg_policy WHERE polname = 'tokens_authenticate'
        AND polrelid = 'tokens'::regclass AND polcmd = 'r'
        AND polroles = ARRAY['switchyard_owner'::regrole::oid]"

# ---- ownership and grants -------------------------------------------------------------------
# The SECURITY DEFINER functions of the rule: the explicit paths across workspaces.
FUNCTIONS="sy_token_by_hash sy_experiment_workspace sy_notification_workspace sy_log_lock
sy_log_hold sy_log_after sy_changes_after sy_flag_workspaces sy_settings_all sy_tokens_all
sy_experiments_all sy_arms_all sy_srm_all sy_checkpoints_all sy_checkpoint_count sy_routes_all
sy_regressions_all sy_notifications_due sy_notification_next sy_notifications_done
sy_notification_type_counts sy_log_head sy_log_range sy_log_experiments sy_kpi_head
sy_kpi_unwatched sy_audit_old sy_timeline_old sy_timeline_old_workspaces
sy_audit_old_workspaces sy_route_minutes_old"
FUNCTIONS=$(echo $FUNCTIONS) # one line, single spaces
# grants_report: one line per object whose owner or privileges are not the rule's.
grants_report() {
    pg_sql "$PG_URL_OWNER" "
WITH obj AS (SELECT c.oid, c.relname, c.relkind, c.relowner::regrole::text AS owner
               FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
                AND c.relkind IN ('r', 'p', 'S', 'v', 'm', 'i'))
SELECT relname || ': owned by ' || owner FROM obj WHERE owner <> 'switchyard_owner'
UNION ALL
SELECT relname || ': app ' || p || ' is ' || has_table_privilege('switchyard_app', oid, p)::text
  FROM obj, unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES',
                         'TRIGGER']) p
 WHERE CASE WHEN relkind IN ('r', 'p')
            THEN has_table_privilege('switchyard_app', oid, p)
                 <> (p = 'SELECT' OR (p IN ('INSERT', 'UPDATE', 'DELETE')
                                      AND relname <> 'schema_version')) END
UNION ALL
SELECT relname || ': app ' || p || ' is not ' || (p = 'USAGE')::text
  FROM obj, unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) p
 WHERE CASE WHEN relkind = 'S'
            THEN has_sequence_privilege('switchyard_app', oid, p) <> (p = 'USAGE') END
UNION ALL
SELECT relname || ': a ' || relkind::text || ' not in the rule' FROM obj WHERE relkind IN ('v', 'm')
UNION ALL
SELECT p.proname || ': ' || concat_ws(', ',
         CASE WHEN p.proowner::regrole::text <> 'switchyard_owner' THEN 'not the owner''s' END,
         CASE WHEN p.proname <> ALL (string_to_array('$FUNCTIONS', ' '))
              THEN 'a function not in the rule' END,
         CASE WHEN NOT p.prosecdef THEN 'not SECURITY DEFINER' END,
         CASE WHEN NOT coalesce(p.proconfig, '{}') @> ARRAY['search_path=public, pg_temp']
              THEN 'no fixed search_path' END,
         CASE WHEN NOT has_function_privilege('switchyard_app', p.oid, 'EXECUTE')
              THEN 'app may not execute' END,
         CASE WHEN EXISTS (SELECT FROM aclexplode(p.proacl) a WHERE a.grantee = 0)
              THEN 'PUBLIC may execute' END)
  FROM pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace
   AND NOT (p.proname = ANY (string_to_array('$FUNCTIONS', ' ')) AND p.prosecdef
            AND p.proowner::regrole::text = 'switchyard_owner'
            AND coalesce(p.proconfig, '{}') @> ARRAY['search_path=public, pg_temp']
            AND has_function_privilege('switchyard_app', p.oid, 'EXECUTE')
            AND NOT EXISTS (SELECT FROM aclexplode(p.proacl) a WHERE a.grantee = 0))
ORDER BY 1"
}
check "the owner owns everything; the app role has exactly the rule's privileges" 0 '' '' -- \
    none grants_report
check "the identity columns have sequences, and the app role may use them" 0 '^[1-9][0-9]*$' '' -- \
    pg_sql "$PG_URL_OWNER" "SELECT count(*) FROM pg_class WHERE relkind = 'S'
        AND relnamespace = 'public'::regnamespace
        AND CASE WHEN relkind = 'S' THEN has_sequence_privilege('switchyard_app', oid, 'USAGE') END"

# ---- rows of two workspaces in every table ------------------------------------------------
# fixture W: workspace W's rows in every workspace table (experiment and channel W*10+1).
fixture() {
    w=$1 e=$(($1 * 10 + 1))
    cat <<SQL
SET LOCAL app.workspace_id = $w;
INSERT INTO tokens (id, workspace_id, name, role, hash, prefix, created_ms)
    VALUES ($e, $w, 'tok$w', 'admin', 'hash-$w', 'sy_$w', 0);
INSERT INTO flags (workspace_id, key, definition, updated_ms) VALUES ($w, 'f', '{}', 0);
INSERT INTO flagsets (workspace_id, evaluators, metadata) VALUES ($w, '{}', '{}');
INSERT INTO audit (workspace_id, at_ms, actor, action, resource, before, after)
    VALUES ($w, 0, 'a', 'flag.create', 'flag:f', NULL, '{}');
INSERT INTO experiments (id, workspace_id, key, flag_key, definition, state, created_ms)
    VALUES ($e, $w, 'exp', 'f', '{}', 'running', 0);
INSERT INTO allocation_changes (workspace_id, experiment_id, at_ms, action, actor,
    weights_before, weights_after, detail) VALUES ($w, $e, 0, 'step', 'a', '[]', '[]', '');
INSERT INTO workspace_settings (workspace_id, name, value) VALUES ($w, 'n', 'v');
INSERT INTO experiment_arms (workspace_id, experiment_id, variant, units, conversions,
    value_mean, value_sd, errors, crossovers, seq_p, latency_n, latency_mean, latency_sd)
    VALUES ($w, $e, 'control', 1, 0, 0, 0, 0, 0, 1, 0, 0, 0);
INSERT INTO events (id, workspace_id, experiment_id, event_id, kind, unit, variant, success, at_ms)
    VALUES ($w * 10 + 1, $w, $e, 'e1', 'exposure', 'u', 'control', '1', 0),
           ($w * 10 + 2, $w, $e, NULL, 'outcome', 'u', NULL, NULL, 1);
INSERT INTO kpi_events (workspace_id, domain, metric, success, actor, at_ms, event_id)
    VALUES ($w, 'd', 'm', 1, 'a', 0, 'k1');
INSERT INTO regression_policies (workspace_id, domain, metric, window_events, baseline_events,
    min_events_to_enforce, max_drop_fraction, action, measure, enabled, changed_by, updated_ms)
    VALUES ($w, 'd', 'm', 1, 1, 1, 0.5, 'THROTTLE', 'rate', '1', 'a', 0);
INSERT INTO risk_policies (workspace_id, domain, enabled, reason, changed_by, updated_ms)
    VALUES ($w, 'd', '0', 'r', 'a', 0);
INSERT INTO risk_ledger (workspace_id, domain, day, amount, actor, outcome, at_ms)
    VALUES ($w, 'd', '2026-12-07', 1, 'a', 'reserved', 0);
INSERT INTO notification_channels (id, workspace_id, type, name, config, secrets, enabled,
    created_ms) VALUES ($e, $w, 'webhook', 'n', '{}', '{}', '1', 0);
INSERT INTO notifications (workspace_id, channel_id, event, level, action, resource, idem_key,
    dedup_key, payload, status, created_ms, next_ms)
    VALUES ($w, $e, 'ev', 'info', 'trigger', 'r', 'i', 'd', '{}', 'pending', 0, 0);
INSERT INTO routes (workspace_id, name, definition, percentage_bp, enabled, created_ms,
    updated_ms) VALUES ($w, 'r', '{}', 0, '1', 0, 0);
INSERT INTO route_minutes (workspace_id, route, minute, domain, upstream, tried, requests,
    errors, total_ms, hist) VALUES ($w, 'r', 0, 'd', 'legacy', '', 1, 0, 1.5, '');
INSERT INTO experiment_srm (workspace_id, experiment_id, p) VALUES ($w, $e, 0.5);
INSERT INTO experiment_checkpoints (workspace_id, experiment_id, seq, state)
    VALUES ($w, $e, 1, '\\x00ff');
INSERT INTO experiment_timeline (workspace_id, experiment_id, at_ms, point)
    VALUES ($w, $e, 0, '{}');
SQL
}
check "the owner writes rows of workspaces 1 and 2, each under its own setting" 0 '' '' -- \
    pg_sql "$PG_URL_OWNER" "
INSERT INTO workspaces (id, name, created_ms) VALUES (1, 'one', 0), (2, 'two', 0);
BEGIN;
$(fixture 1)
$(fixture 2)
COMMIT;"
check "the owner cannot write a workspace's row without the setting (FORCE holds it too)" 3 '' \
    'new row violates row-level security policy for table "flags"' -- pg_sql "$PG_URL_OWNER" \
    "INSERT INTO flags (workspace_id, key, definition, updated_ms) VALUES (1, 'g', '{}', 0)"

# in_ws W SQL: SQL as the owner in a transaction of workspace W.
in_ws() { pg_sql "$PG_URL_OWNER" "BEGIN; SET LOCAL app.workspace_id = $1; $2; COMMIT;"; }
# app W SQL: SQL as the application role, in a transaction of workspace W ('' for none).
app() {
    if [ -n "$1" ]; then
        pg_sql "$PG_URL_APP" "BEGIN; SET LOCAL app.workspace_id = $1; $2; COMMIT;"
    else
        pg_sql "$PG_URL_APP" "BEGIN; $2; COMMIT;"
    fi
}
# versions W: a line per workspace table, TABLE COUNT DIGEST: workspace W's rows with their
# row versions (xmin), as the owner reads them (it reads every workspace's tokens, through
# tokens_authenticate: hence the WHERE).
versions() {
    in_ws "$1" "$(for t in $WS_TABLES; do
        echo "SELECT '$t ' || count(*) || ' ' || coalesce(md5(string_agg(x.xmin::text || x::text,
            ',' ORDER BY x::text)), '-') FROM $t x WHERE workspace_id = $1;"
    done)"
}
versions 1 >"$TMP/v1"
versions 2 >"$TMP/v2"
# rows W: a line per workspace table, TABLE JSON: one of workspace W's rows.
rows() {
    in_ws "$1" "$(for t in $WS_TABLES; do
        echo "SELECT '$t ' || row_to_json(x) FROM $t x WHERE workspace_id = $1 LIMIT 1;"
    done)"
}
rows 1 >"$TMP/rows1"
rows 2 >"$TMP/rows2"
# covered: the workspace tables without rows of both workspaces in the fixture.
covered() {
    for t in $WS_TABLES; do
        c1=$(awk -v t="$t" '$1 == t { print $2 }' "$TMP/v1")
        c2=$(awk -v t="$t" '$1 == t { print $2 }' "$TMP/v2")
        [ "${c1:-0}" -gt 0 ] && [ "${c2:-0}" -gt 0 ] ||
            echo "$t has no rows of both workspaces: add them to fixture()"
    done
}
check "every workspace table has rows of both workspaces (fixture)" 0 '' '' -- none covered

RLS_ERR='new row violates row-level security policy'
for t in $WS_TABLES; do
    c1=$(awk -v t="$t" '$1 == t { print $2 }' "$TMP/v1")
    row1=$(awk -v t="$t" '$1 == t { sub(/^[^ ]* /, ""); print }' "$TMP/rows1")
    row2=$(awk -v t="$t" '$1 == t { sub(/^[^ ]* /, ""); print }' "$TMP/rows2")
    ins1="INSERT INTO $t SELECT * FROM json_populate_record(NULL::$t, \$j\$$row1\$j\$)"
    ins2="INSERT INTO $t SELECT * FROM json_populate_record(NULL::$t, \$j\$$row2\$j\$)"
    count="SELECT count(*) || ' ' || count(*) FILTER (WHERE workspace_id = 1) FROM $t"
    touched="SELECT count(*) FROM u"
    check "$t: without app.workspace_id the app role sees no row" 0 '^0 0$' '' -- \
        app "" "$count"
    check "$t: without app.workspace_id an INSERT is refused" 3 '' "$RLS_ERR for table \"$t\"" -- \
        app "" "$ins1"
    check "$t: without app.workspace_id an UPDATE and a DELETE touch no row" 0 '^0 0$' '' -- \
        app "" "WITH u AS (UPDATE $t SET workspace_id = workspace_id RETURNING 1),
                     d AS (DELETE FROM $t RETURNING 1)
                SELECT (SELECT count(*) FROM u) || ' ' || (SELECT count(*) FROM d)"
    check "$t: in workspace 1 it sees exactly workspace 1's $c1 rows" 0 "^$c1 $c1\$" '' -- \
        app 1 "$count"
    check "$t: in workspace 1 an INSERT of workspace 2's row is refused" 3 '' \
        "$RLS_ERR for table \"$t\"" -- app 1 "$ins2"
    check "$t: in workspace 1 moving its rows into workspace 2 is refused" 3 '' \
        "$RLS_ERR for table \"$t\"" -- app 1 "UPDATE $t SET workspace_id = 2"
    check "$t: in workspace 1 an UPDATE touches its own $c1 rows" 0 "^$c1\$" '' -- \
        app 1 "WITH u AS (UPDATE $t SET workspace_id = workspace_id RETURNING 1) $touched"
done

# The store's own path: rows of its workspace written with new ids (the identity columns'
# sequences; an event's place is the log's last + 1, under the log's lock), rolled back so
# that the counts below hold.
check "in workspace 1 the app role writes its own rows, ids from the sequences and the log" 0 '^t\|t$' '' -- \
    pg_sql "$PG_URL_APP" "BEGIN; SET LOCAL app.workspace_id = 1;
    WITH a AS (INSERT INTO audit (workspace_id, at_ms, actor, action, resource)
               VALUES (1, 5, 'a', 'flag.delete', 'flag:f') RETURNING id),
         e AS (INSERT INTO events (id, workspace_id, experiment_id, kind, unit, at_ms)
               VALUES ((SELECT head + 1 FROM sy_log_lock()), 1, 11, 'exposure', 'v', 5) RETURNING id)
    SELECT (SELECT id FROM a) > 0, (SELECT id FROM e) > 0; ROLLBACK;"

# Deletes go children first (a foreign key's check sees every workspace's rows): the tables
# ordered by their depth below workspaces in the foreign keys.
ORDER=$(pg_sql "$PG_URL_OWNER" "
WITH RECURSIVE fk AS (SELECT conrelid AS child, confrelid AS parent FROM pg_constraint
                       WHERE contype = 'f' AND conrelid <> confrelid),
     depth (rel, d) AS (SELECT c.oid, 0 FROM pg_class c
                         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
                        UNION ALL
                        SELECT fk.child, depth.d + 1 FROM fk JOIN depth ON fk.parent = depth.rel)
SELECT rel::regclass FROM depth GROUP BY rel ORDER BY max(d) DESC, 1")
# deleted: each table's deleted rows, as the app role in workspace 1 (committed).
deleted() {
    pg_sql "$PG_URL_APP" "BEGIN; SET LOCAL app.workspace_id = 1;
        $(for t in $ORDER; do is_shared "$t" && continue
              echo "WITH d AS (DELETE FROM $t RETURNING 1) SELECT '$t ' || count(*) FROM d;"
          done) COMMIT;" | sort
}
want_deleted() {
    awk '{ print $1, $2 }' "$TMP/v1" | sort
}
deleted >"$TMP/deleted" 2>&1
want_deleted >"$TMP/want_deleted"
check "in workspace 1 a DELETE of every table deletes exactly workspace 1's rows" 0 '' '' -- \
    diff "$TMP/want_deleted" "$TMP/deleted"
# unchanged: workspace 2's rows of each table, versions and all, as before everything above.
unchanged() {
    versions 2 >"$TMP/v2.after" && versions 1 >"$TMP/v1.after" || return 1
    diff "$TMP/v2" "$TMP/v2.after" | sed -n 's/^> \([^ ]*\) .*/\1: workspace 2'"'"'s rows changed/p'
    awk '$2 != 0 || $3 != "-" { print $1 ": workspace 1'"'"'s rows remain" }' "$TMP/v1.after"
    [ "$(wc -l <"$TMP/v1.after")" -eq "$(echo $WS_TABLES | wc -w)" ] || echo "a table is missing"
}
check "workspace 2's rows, row versions included, are as they were; workspace 1's gone" 0 '' \
    '' -- none unchanged

# ---- the cross-workspace path: a token by its hash ---------------------------------------
check "without a workspace, sy_token_by_hash finds workspace 2's token and its role" 0 \
    '^21\|2\|admin\|0$' '' -- app "" \
    "SELECT id, workspace_id, role, revoked_ms FROM sy_token_by_hash('hash-2')"
check "sy_token_by_hash of an unknown hash returns no row" 0 '^0$' '' -- \
    app "" "SELECT count(*) FROM sy_token_by_hash('nope')"
check "the app role still sees no token without the setting" 0 '^0$' '' -- \
    app "" "SELECT count(*) FROM tokens"
check "a role without the grant (PUBLIC) may not call sy_token_by_hash" 0 '^f$' '' -- \
    pg_sql "$PG_URL_OWNER" "SELECT EXISTS (SELECT FROM pg_proc, aclexplode(proacl) a
        WHERE proname = 'sy_token_by_hash' AND a.grantee = 0)"

# ---- a session that set a workspace before ---------------------------------------------------
# A custom setting a transaction SET LOCAL reads '' after it, not NULL: still no workspace.
check "after a transaction of workspace 2 ends, the session sees no row (not an error)" 0 \
    '^1 0$' '' -- sh -c 'pg_sql() { printf "%s\n" "$2" | psql -X -q -At -v ON_ERROR_STOP=1 \
        -d "$1" -f - | tr "\n" " " | sed "s/ $//"; }; pg_sql "$1" "
        BEGIN; SET LOCAL app.workspace_id = 2; SELECT count(*) FROM flags; COMMIT;
        SELECT count(*) FROM flags;"' sh "$PG_URL_APP"

# ---- the check itself: a table added without row-level security is caught -----------------
pg_sql "$PG_URL_OWNER" "CREATE TABLE added_later (x bigint)"
rls_report >"$TMP/added_later" 2>&1
pg_sql "$PG_URL_OWNER" "DROP TABLE added_later"
check "a table added without row-level security fails the check above" 0 \
    '^added_later: row level security not enabled, not forced, no workspace_id, no workspace policy' \
    '' -- cat "$TMP/added_later"

# ---- SQLite's shape at the same version -----------------------------------------------------
"$SY" workspace create default --db "$TMP/sy.db" >"$TMP/ws.log" 2>&1
check "SQLite's schema (switchyard workspace create) is at version 16 too" 0 '^16$' '' -- \
    sqlite3 "$TMP/sy.db" "SELECT max(version) FROM schema_version"
# Columns as TABLE|COLUMN|TYPE|NOT NULL|DEFAULT, in SQLite's type names. SQLite's primary key
# columns count as NOT NULL (PostgreSQL's are; SQLite's INTEGER PRIMARY KEY can hold no NULL).
sqlite3 "$TMP/sy.db" "SELECT m.name, p.name, upper(p.type), p.\"notnull\" OR p.pk > 0,
        coalesce(p.dflt_value, '')
    FROM sqlite_master m, pragma_table_info(m.name) p
    WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'" >"$TMP/sqlite.cols"
for c in $BOOLS; do
    tc=$(echo "$c" | tr . '|')
    sed -i "s/^$tc|INTEGER|/$tc|BOOLEAN|/" "$TMP/sqlite.cols"
done
for c in $INTENDED; do echo "$(echo "$c" | tr . '|')|INTEGER|1|" >>"$TMP/sqlite.cols"; done
sort -o "$TMP/sqlite.cols" "$TMP/sqlite.cols"
pg_sql "$PG_URL_OWNER" "SELECT c.relname, a.attname,
        CASE a.atttypid WHEN 'bigint'::regtype THEN 'INTEGER'
                        WHEN 'double precision'::regtype THEN 'REAL'
                        WHEN 'text'::regtype THEN 'TEXT' WHEN 'bytea'::regtype THEN 'BLOB'
                        WHEN 'boolean'::regtype THEN 'BOOLEAN'
                        ELSE format_type(a.atttypid, a.atttypmod) END,
        a.attnotnull::int,
        coalesce(regexp_replace(pg_get_expr(d.adbin, d.adrelid), '::text$', ''), '')
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
         AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'" |
    sort >"$TMP/pg.cols"
check "the same tables and columns, types, NOT NULLs and defaults as SQLite's (but INTENDED)" 0 \
    '' '' -- diff "$TMP/sqlite.cols" "$TMP/pg.cols"
# Indexes as TABLE|INDEX|COLUMNS|UNIQUE, those made by CREATE INDEX (not a key's own).
sqlite3 "$TMP/sy.db" "SELECT m.tbl_name, m.name,
        (SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info(m.name)
                                               ORDER BY seqno)),
        (SELECT \"unique\" FROM pragma_index_list(m.tbl_name) l WHERE l.name = m.name)
    FROM sqlite_master m WHERE m.type = 'index' AND m.sql IS NOT NULL" | sort >"$TMP/sqlite.idx"
# SQLite's non-unique index on notification_channels (workspace_id, id) is unique here: id is
# unique anyway, and notifications' key on (workspace_id, channel_id) needs it.
sed -i 's/^\(notification_channels|notification_channels_workspace|workspace_id,id|\)0$/\11/' \
    "$TMP/sqlite.idx"
pg_sql "$PG_URL_OWNER" "SELECT i.indrelid::regclass, i.indexrelid::regclass,
        (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(i.indkey) WITH ORDINALITY k (att, n)
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.att),
        i.indisunique::int
    FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
    WHERE c.relnamespace = 'public'::regnamespace
      AND NOT EXISTS (SELECT FROM pg_constraint k
                       WHERE k.conindid = i.indexrelid AND k.contype <> 'f')" |
    sort >"$TMP/pg.idx"
check "the same indexes (names, columns, uniqueness) as SQLite's" 0 '' '' -- \
    diff "$TMP/sqlite.idx" "$TMP/pg.idx"
tap_done
