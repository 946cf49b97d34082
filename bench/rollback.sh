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
"$SY" serve --listen 127.0.0.1:0 --db "$TMP/sy.db" --admin-token-file "$TMP/admin" --quiet \
    --health-interval 1 --auto-promotion-interval 0 2>"$TMP/log" &
PID=$!
i=0
while ! grep -q 'event=listening' "$TMP/log"; do
    [ $i -lt 100 ] || { cat "$TMP/log" >&2; exit 1; }
    sleep 0.05
    i=$((i + 1))
done
URL=http://127.0.0.1:$(sed -n 's/.* port=\([0-9]*\).*/\1/p' "$TMP/log" | head -1)
node "$HERE/rollback.js" "$URL" "$(cat "$TMP/admin")" "$SY" "$ROUNDS"
