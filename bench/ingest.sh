#!/bin/sh
# ingest.sh - durable event ingest of `switchyard serve` (batched and single-event
# requests) against a plain sqlite3 insert of the same rows, in the same run
# (bench-ingest). Every acknowledged request was committed with synchronous=FULL.
#
#   bench/ingest.sh SWITCHYARD BENCH_INGEST [EVENTS] [ROUNDS]
#
# Rounds alternate (default 3); each figure's best round is reported. Then wrk posts one
# KPI event per request to POST /v1/kpi from 32 connections (its group commit), when wrk
# is installed (scripts/deps.sh bench).
set -eu
SY=$1
BENCH=$2
EVENTS=${3:-300000}
ROUNDS=${4:-3}
TMP=$(mktemp -d)
SYPID=""
cleanup() {
    [ -n "$SYPID" ] && kill -TERM "$SYPID" 2>/dev/null && wait "$SYPID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
. "$(dirname "$0")/common.sh"
: >"$TMP/all"
r=0
while [ $r -lt "$ROUNDS" ]; do
    rm -f "$TMP"/sy.db*
    start_sy "$SY" "$TMP/sy.log"
    URL=$SYURL
    export SWITCHYARD_URL="$URL" SWITCHYARD_TOKEN="$(cat "$TMP/admin")"
    "$SY" experiment create --key bench --variants a=1,b=1 >/dev/null
    "$SY" experiment start bench >/dev/null
    "$BENCH" "$URL" "$SWITCHYARD_TOKEN" "$TMP/raw.db" "$EVENTS" | tee -a "$TMP/all"
    kill -TERM "$SYPID"
    wait "$SYPID" || true
    SYPID=""
    r=$((r + 1))
done
echo "best of $ROUNDS rounds:"
for what in "raw sqlite3" "batched" "single-event"; do
    grep "$what" "$TMP/all" | awk -v w="$what" '
        { for (i = 1; i <= NF; i++) if ($(i + 1) == "events/s") v = $i;
          if (v > best) { best = v; line = $0 } }
        END { print line }'
done
if command -v wrk >/dev/null; then
    rm -f "$TMP"/sy.db*
    start_sy "$SY" "$TMP/sy.log"
    SWITCHYARD_TOKEN="$(cat "$TMP/admin")" wrk -t1 -c32 -d5s -s "$(dirname "$0")/kpi_post.lua" \
        "$SYURL/v1/kpi" >"$TMP/kpi.out" 2>&1
    awk '/^Requests\/sec/ {rps = $2} /Latency/ {lat = $2} /Non-2xx/ {bad = $NF}
        END {printf "KPI single-event requests (wrk -c32, group commit): %s requests/s, mean %s, %d not 2xx\n", rps, lat, bad}' \
        "$TMP/kpi.out"
fi
