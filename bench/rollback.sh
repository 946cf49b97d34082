#!/bin/sh
# rollback.sh - the time from a health breach being ingested to OFREP serving the
# rollback, with the health monitor at 1 s (bench/rollback.js).
#
#   bench/rollback.sh SWITCHYARD [ROUNDS]
set -eu
SY=$1
ROUNDS=${2:-10}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
PID=""
cleanup() {
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
. "$HERE/common.sh"
start_sy "$SY" "$TMP/log" --health-interval 1 --auto-promotion-interval 0
PID=$SYPID
node "$HERE/rollback.js" "$SYURL" "$(cat "$TMP/admin")" "$SY" "$ROUNDS"
