#!/bin/sh
# http_hostile.sh - the API's HTTP layer against hostile clients (http_hostile.js): a head
# kept while its buffer grows or is compacted, bare-LF chunked framing, a body slower than
# --min-body-rate, and slowloris past --max-connections. The server must still be alive
# (and exit 0) after.
#
#   http_hostile.sh SWITCHYARD
set -u
SY=$1
. "$(dirname "$0")/tap.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
MAXC=16
HEADER_S=2

if ! command -v node >/dev/null; then
    echo "not ok 1 - node is needed (scripts/deps.sh installs it)"
    echo "1..1"
    exit 1
fi
start_server "$SY" --admin-token-file "$TMP/admin" --max-connections $MAXC \
    --header-timeout $HEADER_S --min-body-rate 1000 --quiet
export SWITCHYARD_URL="$URL" SWITCHYARD_TOKEN="$(cat "$TMP/admin")"
"$SY" experiment create --key hostile --variants a=1,b=1 >/dev/null &&
    "$SY" experiment start hostile >/dev/null || echo "# the experiment could not be started"
tap_from http_hostile.js node "$HERE/http_hostile.js" "$PORT" "$SWITCHYARD_TOKEN" hostile $MAXC $HEADER_S
n=$((n + 1))
if kill -0 "$PID" 2>/dev/null; then
    echo "ok $n - the server is alive after it all"
else
    failed=$((failed + 1))
    echo "not ok $n - the server is alive after it all"
    sed 's/^/# /' "$TMP/log" | tail -30
fi
stop_server
n=$((n + 1))
if [ "${STOP_STATUS:-1}" -eq 0 ]; then
    echo "ok $n - it exits 0 on SIGTERM"
else
    failed=$((failed + 1))
    echo "not ok $n - it exits 0 on SIGTERM (status ${STOP_STATUS:-?})"
    sed 's/^/# /' "$TMP/log" | tail -30
fi
echo "1..$n"
[ "$failed" -eq 0 ]
