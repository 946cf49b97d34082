#!/bin/sh
# scale.sh - what a change costs as a workspace grows (issue 20): the median time of one
# `PUT /v1/flags/{key}` in workspaces of 100, 1,000, 10,000 and 100,000 flags; creating and
# starting 1,000 experiments in a 10,000-flag workspace; the server's RSS with that state,
# and how long a restart takes to serve it again. bench/scale.js is the client.
#
#   bench/scale.sh SWITCHYARD [PUTS] [EXPERIMENTS]
#
# Each size gets a server and database of its own on loopback (timers off, no proxy), its
# flags imported in one PUT /v1/flagset; then PUTS (default 41) changes of a rollout split,
# spread over the set, go to the four servers in turns, one request at a time. Every change
# is a committed transaction, so the disk's fdatasync is its floor: measured in the same
# run, on the same disk, as the reference. The experiments (default 1,000) each create
# their own flag, so that workspace ends with 11,000 flags. RSS is VmRSS once they all
# run; the restart is SIGTERM, then a new process until it listens (every flag compiled and
# every experiment loaded by then). Prints the figures and the issue's four judgements;
# exits 1 when a request fails, not when a judgement does.
set -eu
SY=$1
PUTS=${2:-41}
EXPS=${3:-1000}
SIZES="100 1000 10000 100000"
HERE=$(cd "$(dirname "$0")" && pwd)
for tool in node curl jq python3; do
    command -v "$tool" >/dev/null || { echo "scale.sh: $tool is needed" >&2; exit 1; }
done
ROOT=$(mktemp -d)
SYPID="" PIDS=""
cleanup() {
    for p in $PIDS $SYPID; do
        kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    rm -rf "$ROOT"
}
trap cleanup EXIT
. "$HERE/common.sh"

OPTS="--max-body 67108864 --auto-promotion-interval 0 --health-interval 0
      --regression-interval 0 --proxy-workers 0"

# stage NAME: a fresh server in a directory of its own (SYPID, SYURL, ADMIN).
stage() {
    TMP=$ROOT/$1
    mkdir -p "$TMP"
    : >"$TMP/log"
    # shellcheck disable=SC2086
    start_sy "$SY" "$TMP/log" $OPTS
    ADMIN=$(cat "$TMP/admin")
}

stop_sy() {
    kill -TERM "$1" && wait "$1" || true
}

client() {
    timeout 900 node "$HERE/scale.js" "$@" || { echo "scale.sh: scale.js $1 failed" >&2; exit 1; }
}

# The disk's fdatasync, median of 50 after a 4 KiB write each: what a commit waits for.
fsync_ms=$(python3 -c '
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT)
ts = []
for i in range(50):
    os.pwrite(fd, b"x" * 4096, i * 4096)
    t = time.perf_counter(); os.fdatasync(fd); ts.append(time.perf_counter() - t)
print("%.2f" % (sorted(ts)[25] * 1e3))' "$ROOT/fsync.probe")

specs=""
printf '%-8s %12s\n' flags import_ms
for n in $SIZES; do
    stage "f$n"
    PIDS="$PIDS $SYPID"
    SYPID=""
    r=$(client load "$SYURL" "$ADMIN" "$n")
    printf '%-8s %12s\n' "$n" "$(echo "$r" | jq .import_ms)"
    specs="$specs $SYURL,$ADMIN,$n"
done
# shellcheck disable=SC2086
medians=$(client puts "$PUTS" $specs)
for p in $PIDS; do
    stop_sy "$p"
done
PIDS=""
echo
echo "One flag change (PUT /v1/flags/{key}, a rollout split), median of $PUTS, the four"
echo "servers in turns; fdatasync on this disk now: $fsync_ms ms (each change commits once)"
printf '%-8s %12s\n' flags median_ms
for n in $SIZES; do
    printf '%-8s %12s\n' "$n" "$(echo "$medians" | jq ".[\"$n\"]")"
done

stage exp
client load "$SYURL" "$ADMIN" 10000 >/dev/null
r=$(client experiments "$SYURL" "$ADMIN" "$EXPS")
total=$(echo "$r" | jq .total_ms)
curl -sf -H "Authorization: Bearer $ADMIN" "$SYURL/v1/experiments" >/dev/null
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$SYPID/status")
stop_sy "$SYPID"
# The restart: from exec to listening (start_sy polls every 50 ms: timed here instead).
: >"$TMP/log2"
t0=$(date +%s%N)
# shellcheck disable=SC2086
"$SY" serve --listen 127.0.0.1:0 --db "$TMP/sy.db" --admin-token-file "$TMP/admin" --quiet \
    $OPTS 2>"$TMP/log2" &
SYPID=$!
k=0
while ! grep -q 'event=listening' "$TMP/log2"; do
    [ $k -lt 60000 ] || { cat "$TMP/log2" >&2; exit 1; }
    sleep 0.005
    k=$((k + 5))
done
t1=$(date +%s%N)
restart_ms=$(((t1 - t0) / 1000000))
SYURL=http://127.0.0.1:$(sed -n 's/.* port=\([0-9]*\).*/\1/p' "$TMP/log2" | head -1)
running=$(curl -sf -H "Authorization: Bearer $ADMIN" "$SYURL/v1/experiments" |
    jq '[.experiments[] | select(.state == "running")] | length')
rss2=$(awk '/^VmRSS:/ {print $2}' "/proc/$SYPID/status")
stop_sy "$SYPID"
SYPID=""

echo
echo "$EXPS experiments created and started in a 10,000-flag workspace: $total ms" \
    "(create $(echo "$r" | jq .create_ms) ms, start $(echo "$r" | jq .start_ms) ms;" \
    "$((2 * EXPS)) commits)"
echo "RSS with 10,000 flags + $EXPS running experiments (and their flags): $((rss / 1024)) MB" \
    "($((rss2 / 1024)) MB after the restart)"
echo "restart with that state: $restart_ms ms to listening ($running experiments running)"
echo
echo "$medians" | jq -r --arg t "$total" --arg r "$rss" --arg e "$EXPS" --arg f "$fsync_ms" '
    (.["100000"] / .["1000"]) as $ratio |
    ($t | tonumber) as $total | ($r | tonumber / 1024) as $mb |
    "100k vs 1k flags, one change:    \($ratio * 100 | round / 100)x       (goal <= 2x)     \(if $ratio <= 2 then "ok" else "MISSED" end)",
    "one change at 10k flags, median: \(.["10000"]) ms   (goal <= 5 ms)   \(if .["10000"] <= 5 then "ok" else "MISSED" end)   [fdatasync \($f) ms]",
    "create+start \($e) experiments: \($total / 100 | round / 10) s      (goal <= 10 s)   \(if $total <= 10000 then "ok" else "MISSED" end)",
    "RSS, 10k flags + \($e) running: \($mb * 10 | round / 10) MB    (goal <= 100 MB) \(if $mb <= 100 then "ok" else "MISSED" end)"'
