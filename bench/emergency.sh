#!/bin/sh
# emergency.sh - how long `switchyard emergency-rollback` takes with 1,000 running
# experiments (20 units each, bench/board_state.py) and 100 enabled routes (one listen
# address, a path prefix each, in serve's proxy): the time the command prints, its wall
# time, and a check that everything went back (issue 23: well under 30 s).
#
#   bench/emergency.sh SWITCHYARD [EXPERIMENTS] [ROUTES]
set -eu
SY=$1
N=${2:-1000}
R=${3:-100}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
needs emergency.sh curl jq python3
TMP=$(mktemp -d)
SYPID=""
trap '[ -z "$SYPID" ] || kill "$SYPID" 2>/dev/null; rm -rf "$TMP"' EXIT

start_sy "$SY" "$TMP/sy.log" --auto-promotion-interval 0 --health-interval 0
ADMIN=$(cat "$TMP/admin")
python3 "$HERE/board_state.py" "$SYURL" "$ADMIN" "$N" >/dev/null
RPORT=$(free_port)
i=0
while [ $i -lt "$R" ]; do
    curl -sf -o /dev/null -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
        -d "{\"name\":\"r$i\",\"listen\":\"127.0.0.1:$RPORT\",\"path_prefix\":\"/r$i\",\"upstreams\":{\"legacy\":\"127.0.0.1:9\",\"new\":\"127.0.0.1:9\"},\"percentage\":25}" \
        "$SYURL/v1/routes" || { echo "emergency.sh: route r$i not made" >&2; exit 1; }
    i=$((i + 1))
done
t0=$(date +%s%N)
out=$(SWITCHYARD_URL=$SYURL SWITCHYARD_TOKEN=$ADMIN "$SY" emergency-rollback --reason bench)
t1=$(date +%s%N)
echo "emergency-rollback with $N running experiments and $R routes:"
echo "  the command printed: $out"
echo "  its wall time (the CLI's start, the request, the answer): $(((t1 - t0) / 1000000)) ms"
left=$(curl -s -H "Authorization: Bearer $ADMIN" "$SYURL/v1/experiments" |
    jq '[.experiments[] | select(.state == "running")] | length')
on=$(curl -s -H "Authorization: Bearer $ADMIN" "$SYURL/v1/routes" | jq '[.routes[] | select(.enabled)] | length')
echo "  left running: $left experiments, $on routes enabled"
[ "$left" = 0 ] && [ "$on" = 0 ]
