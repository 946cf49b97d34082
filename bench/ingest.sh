#!/bin/sh
# ingest.sh - durable event ingest of `switchyard serve` (batched and single-event
# requests) against a plain sqlite3 insert of the same rows, in the same run
# (bench-ingest). Every acknowledged request was committed with synchronous=FULL.
#
#   bench/ingest.sh SWITCHYARD BENCH_INGEST [EVENTS] [ROUNDS]
#
# Rounds alternate (default 3); each figure's best round is reported.
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
