#!/bin/sh
# http_wire.sh - the HTTP/1.1 layer on the wire (http_wire.js sends raw bytes): pipelining,
# byte-at-a-time requests, chunked bodies, Expect: 100-continue, early 413, malformed
# requests, HTTP/1.0, HEAD, idle timeouts, many connections, and a drain on SIGTERM with a
# request half-sent. Then the server must have exited 0.
#
#   http_wire.sh SWITCHYARD
set -u
SY=$1
. "$(dirname "$0")/tap.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null; then
    echo "not ok 1 - node is needed (scripts/deps.sh installs it)"
    echo "1..1"
    exit 1
fi
start_server "$SY" --admin-token-file "$TMP/admin" --max-body 65536 --idle-timeout 1 --header-timeout 2 --quiet
# The script's checks, then ours; one plan line at the end.
tap_from http_wire.js node "$HERE/http_wire.js" "$PORT" "$(cat "$TMP/admin")" "$PID"
i=0
while [ $i -lt 100 ] && kill -0 "$PID" 2>/dev/null; do
    sleep 0.05
    i=$((i + 1))
done
wait "$PID"
status=$?
PID=""
n=$((n + 1))
if [ "$status" -eq 0 ]; then
    echo "ok $n - the server exits 0 after draining"
else
    failed=$((failed + 1))
    echo "not ok $n - the server exits 0 after draining (status $status)"
    sed 's/^/# /' "$TMP/log" | tail -20
fi
echo "1..$n"
[ "$failed" -eq 0 ]
