#!/bin/sh
# pg_unit.sh - store.h's unit tests, and the engine's that drive a store, a second time, on
# PostgreSQL (issue 25: every store test runs against both backends). Each binary uses
# tests/unit/store/store_fixture.h, which opens SQLite by default and, with the variables set
# here, a new database per store copied from `sy_template` (migrated once, as the owner role,
# by `pg_store_check migrate`), opened as the application role. Every test case of every
# binary is one check here, named "BINARY: CASE"; a binary that dies or reports no case
# fails. A case cmocka skips (FX_SQLITE_ONLY: "not ok N # SKIP CASE") is a TAP skip here,
# with the reason its "# sqlite only: WHY" line gave.
#
#   pg_unit.sh PG_STORE_CHECK BINARY...   (PG_STORE_CHECK empty when libpq is missing)
#   PG_UNIT_TIMEOUT: seconds each binary may take (300)
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
shift
PG_FSYNC=off # nothing here tests durability: each store is a new database, made and dropped
pg_start || {
    tap_done
    exit 1
}
SUPER=host=$PGHOST\ port=$PGPORT\ user=postgres\ password=$PG_PASS_SUPER
# template: the database every store is copied from, as pg.sh makes `switchyard`.
template() {
    pg_sql "$SUPER dbname=switchyard" "CREATE DATABASE sy_template OWNER switchyard_owner" &&
        pg_sql "$SUPER dbname=sy_template" "ALTER SCHEMA public OWNER TO switchyard_owner;
            REVOKE ALL ON SCHEMA public FROM PUBLIC;
            GRANT USAGE ON SCHEMA public TO switchyard_app" &&
        "$CHECK" migrate "${PG_URL_OWNER%/*}/sy_template" switchyard_app
}
check "a template database, migrated as the owner" 0 '^migrated$' '' -- template
SY_TEST_PG_SUPER=$PG_URL_SUPER
SY_TEST_PG_APP=$PG_URL_APP
SY_TEST_PG_TEMPLATE=sy_template
CMOCKA_MESSAGE_OUTPUT=TAP
export SY_TEST_PG_SUPER SY_TEST_PG_APP SY_TEST_PG_TEMPLATE CMOCKA_MESSAGE_OUTPUT

for bin in "$@"; do
    name=$(basename "$bin")
    started=$(date +%s)
    timeout "${PG_UNIT_TIMEOUT:-300}" "$bin" >"$TMP/unit.out" 2>"$TMP/unit.err"
    status=$?
    echo "# $name: $(($(date +%s) - started)) s on PostgreSQL"
    cases=0
    why="" # the last "# sqlite only: WHY" (FX_SQLITE_ONLY), said before cmocka's skip
    while IFS= read -r line; do
        case "$line" in
        "ok "*) cases=$((cases + 1)); ok "$name: ${line#ok * - }" ;;
        # cmocka's skip(): "not ok N # SKIP CASE" (TAP's skip is an "ok" with the directive)
        "not ok "*" # SKIP "*)
            cases=$((cases + 1))
            n=$((n + 1))
            echo "ok $n - $name: ${line#* # SKIP } # SKIP ${why:-no reason given}"
            why="" ;;
        "not ok "*)
            cases=$((cases + 1))
            n=$((n + 1)); failed=$((failed + 1))
            echo "not ok $n - $name: ${line#not ok * - }" ;;
        "# sqlite only: "*) why=${line#\# sqlite only: }; echo "$line" ;;
        "#"*) echo "$line" ;;
        esac
    done <"$TMP/unit.out"
    if [ "$cases" -eq 0 ] || { [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; }; then
        cp "$TMP/unit.out" "$TMP/out"
        cp "$TMP/unit.err" "$TMP/err"
        not_ok "$name ran to its end on PostgreSQL (exit $status, $cases cases)"
    fi
done
tap_done
