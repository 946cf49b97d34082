#!/bin/sh
# ingest_crash.sh - SIGKILL the server repeatedly while clients ingest (ingest_crash.js):
# after each restart every acknowledged event is in the log, none twice. On tap.sh's store
# ($DB: SQLite, or PostgreSQL with SY_TEST_BACKEND=postgres), read back through sqlite3 or
# psql.
#
#   ingest_crash.sh SWITCHYARD [ROUNDS]
set -u
SY=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
if ! command -v node >/dev/null || { [ "$BACKEND" = sqlite ] && ! command -v sqlite3 >/dev/null; }; then
    : >"$TMP/out"
    echo "# node and sqlite3 are needed (scripts/deps.sh installs them)" >"$TMP/err"
    not_ok "node and sqlite3 are needed (scripts/deps.sh installs them)"
    tap_done
    exit 1
fi
tap_from ingest_crash.js node "$HERE/ingest_crash.js" "$SY" "$TMP" "${2:-6}" "$DB"
tap_done
