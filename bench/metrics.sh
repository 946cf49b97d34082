#!/bin/sh
# metrics.sh - what a scrape of GET /metrics costs with 10,000 flags and 1,000 experiments
# (issue 23), and whether scraping moves OFREP's latency.
#
#   bench/metrics.sh SWITCHYARD [SCRAPES] [SECONDS] [CONNECTIONS]
#
# One `switchyard serve` (timers off, --metrics-listen on loopback) gets 10,000 flags (one
# PUT /v1/flagset, bench/scale.js) and 1,000 running experiments with 20 units each
# (bench/board_state.py), then one bulk OFREP evaluation of every flag and 1,000 single ones,
# so that the evaluation counters hold their 500 named flags and "other". Once the board
# shows every experiment, SCRAPES (default 50) scrapes one after the other on the main
# listener (a viewer token; a data-plane worker writes the answer) and as many on
# --metrics-listen (its own thread): p50, p95 and max, the size, the series, and the
# board's build time on the engine's loop (switchyard_board_build_seconds, the largest
# seen). Then bench/mixed.sh in its scrape mode: OFREP's p50 and p99 under wrk with no
# scraper, and with one scraping every 1 s and every 0.2 s, on either address, and their
# ratios to the quiet phase (SECONDS a phase, default 10, 0 for none; CONNECTIONS, default
# 32; MIXED_ROUNDS rounds of the five phases, default 3).
# Figures, never a verdict on absolute times: this machine is shared.
set -eu
SY=$1
SCRAPES=${2:-50}
SECS=${3:-10}
CONNS=${4:-32}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
needs metrics.sh node curl jq python3 wrk
TMP=$(mktemp -d)
SYPID=""
cleanup() {
    [ -n "$SYPID" ] && kill -TERM "$SYPID" 2>/dev/null && wait "$SYPID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

start_sy "$SY" "$TMP/sy.log" --max-body 67108864 --auto-promotion-interval 0 --health-interval 0 \
    --regression-interval 0 --proxy-workers 0 --metrics-listen 127.0.0.1:0
ADMIN=$(cat "$TMP/admin")
k=0
while ! grep -q 'event=metrics_listening' "$TMP/sy.log"; do
    [ $k -lt 100 ] || { cat "$TMP/sy.log" >&2; exit 1; }
    sleep 0.05
    k=$((k + 1))
done
MURL=http://127.0.0.1:$(sed -n 's/.*metrics_listening.* port=\([0-9]*\).*/\1/p' "$TMP/sy.log" | head -1)
token() { # ROLE: a new token of that role
    curl -sf -X POST -H "Authorization: Bearer $ADMIN" -d "{\"role\":\"$1\",\"name\":\"bench-$1\"}" \
        "$SYURL/v1/tokens" | jq -r .token
}
VIEWER=$(token viewer)
SDK=$(token sdk)

node "$HERE/scale.js" load "$SYURL" "$ADMIN" 10000 >/dev/null
state=$(python3 "$HERE/board_state.py" "$SYURL" "$ADMIN" 1000)
curl -sf -o /dev/null -X POST -H "Authorization: Bearer $SDK" -H 'Content-Type: application/json' \
    -d '{"context":{"targetingKey":"u1","tier":"gold","age":30}}' "$SYURL/ofrep/v1/evaluate/flags"
python3 - "$SYURL" "$SDK" <<'PY'
import http.client, json, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port)
head = {"Authorization": f"Bearer {sys.argv[2]}", "Content-Type": "application/json"}
for i in range(1000):
    c.request("POST", f"/ofrep/v1/evaluate/flags/flag-{(i * 7919) % 10000}",
              json.dumps({"context": {"targetingKey": f"u{i}", "age": i % 90}}), head)
    c.getresponse().read()
PY

# the board has every experiment once it counts units of each (rebuilt every 5 s)
k=0
until curl -sf -H "Authorization: Bearer $VIEWER" "$SYURL/metrics" |
    grep -c '^switchyard_experiment_units{.*variant="treatment"} [1-9]' | grep -qx 1000; do
    [ $k -lt 120 ] || { echo "metrics.sh: the board never showed 1,000 experiments" >&2; exit 1; }
    sleep 0.5
    k=$((k + 1))
done

# scrapes URL [TOKEN]: SCRAPES scrapes one after the other; "seconds bytes" a line
scrapes() {
    i=0
    while [ $i -lt "$SCRAPES" ]; do
        curl -sf ${2:+-H "Authorization: Bearer $2"} -o "$TMP/scrape" \
            -w '%{time_total} %{size_download}\n' "$1/metrics"
        awk '/^switchyard_board_build_seconds / {print $2}' "$TMP/scrape" >>"$TMP/build"
        i=$((i + 1))
    done
}
: >"$TMP/build"
scrapes "$SYURL" "$VIEWER" >"$TMP/main"
scrapes "$MURL" >"$TMP/listen"
series=$(grep -vc '^#' "$TMP/scrape")
stats() { # FILE: "p50 p95 max" in ms and the largest size in bytes
    sort -n "$1" | awk '{t[NR] = $1 * 1000; if ($2 > b) b = $2}
        END {printf "%7.1f %7.1f %7.1f %10d", t[int(NR * 0.5 + 0.5)], t[int(NR * 0.95 + 0.5)], t[NR], b}'
}
echo "GET /metrics with 10,000 flags and 1,000 running experiments ($(echo "$state" | jq .events) events;" \
    "$series series): $SCRAPES scrapes in a row on each address"
printf '%-36s %7s %7s %7s %10s\n' address p50_ms p95_ms max_ms bytes
printf '%-36s %s\n' "main listener (viewer token, worker)" "$(stats "$TMP/main")"
printf '%-36s %s\n' "--metrics-listen (its own thread)" "$(stats "$TMP/listen")"
echo "the board's build on the engine's loop (switchyard_board_build_seconds): up to" \
    "$(sort -g "$TMP/build" | tail -1 | awk '{printf "%.1f", $1 * 1000}') ms, every --metrics-refresh (5 s)"
kill -TERM "$SYPID" && wait "$SYPID" || true
SYPID=""
[ "$SECS" -gt 0 ] || exit 0 # the scrapes alone
echo
"$HERE/mixed.sh" "$SY" "$SECS" "$CONNS" scrape
