#!/bin/sh
# pg_store.sh - store/postgres (issue 25, begun) through store.h on a real PostgreSQL 15
# (tests/integration/pg.sh), driven by pg_store_check:
# - the application role cannot migrate; opened before the migration, the store refuses,
#   naming `switchyard migrate`; the owner migrates (twice: the second changes nothing);
#   the app role then opens it at version 16; a database at version 14 (before CUPED) or 15
#   (before CUPED's KPI covariate) is refused until the owner's migration upgrades it;
# - as the app role, two workspaces and a token in each: each found by its hash with no
#   workspace set (sy_token_by_hash, SECURITY DEFINER), each workspace listing only its
#   own, another workspace's token not revocable; and on a plain connection of that role,
#   workspace two's token invisible without a workspace and under workspace one's,
#   visible under its own (row-level security, not the store's WHERE);
# - a duplicate hash is -EEXIST, and a commit after it fails (PostgreSQL's COMMIT of an
#   aborted transaction reports ROLLBACK, not an error);
# - four stores append batches at once whose ids overlap (several stores, twice in a
#   batch), one in five rolled back: no append refused, every event said landed is in
#   the log, every id once, the places of a batch growing with its events; the log's lock
#   held by sy_store_log_hold in a transaction outlives its rollback; a row placed by hand
#   at the last bigint makes appends fail (-EOVERFLOW), with no overflow;
#
#   pg_store.sh PG_STORE_CHECK   (empty when libpq is missing)
set -u
CHECK=${1:-}
HERE=$(dirname "$0")
. "$HERE/tap.sh"
. "$HERE/pg.sh"

if [ -z "$CHECK" ] || [ ! -x "$CHECK" ]; then
    not_ok "pg_store_check was not built: libpq is missing (scripts/deps.sh installs libpq-dev)"
    tap_done
    exit 1
fi
pg_start || {
    tap_done
    exit 1
}

check "before the migration the app role's open is refused, naming switchyard migrate" 1 '' \
    'no switchyard schema: run `switchyard migrate`' -- "$CHECK" open "$PG_URL_APP"
check "the app role cannot migrate (it may not create)" 1 '' \
    'permission denied for schema public' -- "$CHECK" migrate "$PG_URL_APP" switchyard_owner
cp "$TMP/err" "$TMP/migrate.err"
check "the password is not in that error" 1 '' '' -- grep -qF "$PG_PASS_APP" "$TMP/migrate.err"
check "the owner migrates" 0 '^migrated$' '' -- "$CHECK" migrate "$PG_URL_OWNER" switchyard_app
check "a second migration finds the version and changes nothing" 0 '^migrated$' '' -- \
    "$CHECK" migrate "$PG_URL_OWNER" switchyard_app
check "one schema_version row" 0 '^1\|16$' '' -- \
    pg_sql "$PG_URL_OWNER" "SELECT count(*), max(version) FROM schema_version"
check "the app role opens it at version 16" 0 '^version 16 backend answers$' '' -- \
    "$CHECK" open "$PG_URL_APP"
check "with no setting of any kind in the environment (no opt-in since issue 25's nodes)" 0 \
    '^version 16 backend answers$' '' -- env -u SWITCHYARD_EXPERIMENTAL_PG "$CHECK" open "$PG_URL_APP"
# A database made at version 14, before CUPED (issue 26): its arms have no cuped_seq_p, its
# KPI events no unit; the app role's open refuses it, naming the versions; the owner's
# migration upgrades it (the columns, cuped_seq_p 1 in every row, the unit's index), and it opens.
pg_sql "$PG_URL_OWNER" "ALTER TABLE experiment_arms DROP COLUMN cuped_seq_p;
    ALTER TABLE kpi_events DROP COLUMN unit;
    DELETE FROM schema_version WHERE version = 16; INSERT INTO schema_version VALUES (14)" >/dev/null
check "a version 14 database: the app role's open is refused, naming the versions" 1 '' \
    'schema version 14, this switchyard knows 16' -- "$CHECK" open "$PG_URL_APP"
check "... the owner's migration upgrades it to 16" 0 '^migrated$' '' -- \
    "$CHECK" migrate "$PG_URL_OWNER" switchyard_app
check "... its versions 14 and 16, the arms' cuped_seq_p column back, 1 by default" 0 '^14,16\|1$' '' -- \
    pg_sql "$PG_URL_OWNER" "SELECT string_agg(version::text, ',' ORDER BY version), (SELECT column_default FROM information_schema.columns WHERE table_name = 'experiment_arms' AND column_name = 'cuped_seq_p') FROM schema_version"
check "... and the app role opens it at version 16" 0 '^version 16 backend answers$' '' -- \
    "$CHECK" open "$PG_URL_APP"
# A database at version 15, before the KPI covariate (issue 26): its KPI events have no unit;
# the owner's migration adds it and its index.
pg_sql "$PG_URL_OWNER" "ALTER TABLE kpi_events DROP COLUMN unit;
    DELETE FROM schema_version; INSERT INTO schema_version VALUES (15)" >/dev/null
check "a version 15 database: the app role's open is refused, naming the versions" 1 '' \
    'schema version 15, this switchyard knows 16' -- "$CHECK" open "$PG_URL_APP"
check "... the owner's migration upgrades it to 16" 0 '^migrated$' '' -- \
    "$CHECK" migrate "$PG_URL_OWNER" switchyard_app
check "... its versions 15 and 16, kpi_events.unit and its index back" 0 '^15,16\|text\|1$' '' -- \
    pg_sql "$PG_URL_OWNER" "SELECT string_agg(version::text, ',' ORDER BY version), (SELECT data_type FROM information_schema.columns WHERE table_name = 'kpi_events' AND column_name = 'unit'), (SELECT count(*) FROM pg_indexes WHERE indexname = 'kpi_events_unit') FROM schema_version"
check "... and the app role opens it at version 16" 0 '^version 16 backend answers$' '' -- \
    "$CHECK" open "$PG_URL_APP"

"$CHECK" tokens "$PG_URL_APP" >"$TMP/tokens" 2>"$TMP/tokens.err"
status=$?
sed 's/^/# /' "$TMP/tokens" "$TMP/tokens.err"
check "the scenario ran to its end as the app role" 0 '' '' -- test "$status" -eq 0
# has PATTERN: the scenario printed a line matching PATTERN.
has() { grep -Eq -- "$1" "$TMP/tokens"; }
check "two workspaces made" 0 '' '' -- has '^workspaces [0-9]+ [0-9]+$'
check "a token in each (in a transaction, and on its own)" 0 '' '' -- has '^tokens [0-9]+ [0-9]+$'
check "with no workspace set, one's token is found by hash, in one, with its role" 0 '' '' -- \
    has '^by_hash one: 1 ws one role admin$'
check "and two's too" 0 '' '' -- has '^by_hash two: 1 ws two role viewer$'
check "an unknown hash finds nothing" 0 '' '' -- has '^by_hash none: 0$'
check "workspace one lists only its own token" 0 '' '' -- has '^list one: 1, last its own$'
check "workspace two lists only its own token" 0 '' '' -- has '^list two: 1, last its own$'
check "every workspace's tokens, workspace by workspace" 0 '' '' -- has '^list all: 2$'
check "workspace one cannot revoke two's token (-ENOENT)" 0 '' '' -- \
    has "^revoke two's token as one: ENOENT$"
check "and two's token is still active" 0 '' '' -- has "^two's token revoked_ms still 0: yes$"
check "a duplicate hash is -EEXIST, and committing that failed transaction says it failed" 0 \
    '' '' -- has '^duplicate hash: EEXIST, its commit: EIO$'
check "row-level security: two's token invisible with no workspace set" 0 '' '' -- \
    has "^raw two's token, no workspace: 0$"
check "row-level security: two's token invisible under workspace one" 0 '' '' -- \
    has "^raw two's token, workspace one: 0$"
check "row-level security: two's token visible under workspace two" 0 '' '' -- \
    has "^raw two's token, workspace two: 1$"

"$CHECK" appenders "$PG_URL_APP" >"$TMP/appenders" 2>"$TMP/appenders.err"
status=$?
sed 's/^/# /' "$TMP/appenders"
has_in() { grep -Eq "$1" "$TMP/appenders"; }
check "four stores appending the same ids at once ran to their end" 0 '' '' -- test "$status" -eq 0
check "... no append refused" 0 '' '' -- has_in '^appenders 4, failed calls 0$'
check "... every event they were told landed is in the log, and only those" 0 '' '' -- \
    sh -c "grep -Eq '^landed ([1-9][0-9]*), rows \\1\$' '$TMP/appenders'"
check "... those without an id too" 0 '' '' -- \
    sh -c "grep -Eq '^without an id: landed ([1-9][0-9]*), rows \\1\$' '$TMP/appenders'"
check "... every id once" 0 '' '' -- \
    sh -c "grep -Eq '^ids in the log ([1-9][0-9]*), distinct \\1\$' '$TMP/appenders'"
check "... a batch's places grow with its events" 0 '' '' -- \
    has_in '^places out of order in a batch: 0$'
check "the log's lock held (sy_store_log_hold) outlives a rollback, and goes with the unlock" 0 \
    '' '' -- has_in "^the log's lock held across a rollback: yes, free after the unlock: yes$"
check "a row placed by hand at the last bigint: appends are refused (-EOVERFLOW), none overflows" \
    0 '' '' -- has_in '^a place at the last bigint: appends refused: yes$'
tap_done
