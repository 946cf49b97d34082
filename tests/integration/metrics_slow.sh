#!/bin/sh
# metrics_slow.sh - scrapes that never read their answer (issue 23, an outside tester's
# finding: 800 of them took a server from 58 MB to 710 MB). A server with 300 running
# experiments (a /metrics answer of about half a megabyte) gets 200 connections that each
# ask GET /metrics with a viewer token and never read (bench/slow_scrapers.py); its RSS must
# grow by far less than 200 answers (each held its own copy before: the growth was 200
# answers). Meanwhile a normal scraper is answered, and at the end every held connection
# reads a whole answer. The ASan build inflates memory (its quarantine is off here), so the
# bound is a share of the answers' total, not an absolute.
#
#   metrics_slow.sh SWITCHYARD SOURCE_ROOT
set -u
SY=$1
ROOT=$2
. "$(dirname "$0")/tap.sh"

two_workspaces "$SY"
# ASan's quarantine would keep every answer the normal scraper frees (256 MB of them) in
# the RSS measured: off for this server, as proxy_hostile.sh does
ASAN_WAS=${ASAN_OPTIONS-}
export ASAN_OPTIONS="${ASAN_WAS:+$ASAN_WAS:}quarantine_size_mb=0"
start_server "$SY" --quiet --workers 2 --metrics-refresh 1 --auto-promotion-interval 0 \
    --health-interval 0 --max-connections 1000
if [ -n "$ASAN_WAS" ]; then export ASAN_OPTIONS="$ASAN_WAS"; else unset ASAN_OPTIONS; fi
check "300 running experiments with units" 0 "" "" -- python3 "$ROOT/bench/board_state.py" "$URL" "$ADMIN" 300
sleep 2 # the board (--metrics-refresh 1) shows them
check "200 scrapers that never read, and a normal one meanwhile" 0 '"whole_answers"' "" -- \
    python3 "$ROOT/bench/slow_scrapers.py" "$URL" "$VIEWER" "$PID" 200 10
cp "$TMP/out" "$TMP/slow.json"
echo "# $(cat "$TMP/slow.json")"
jq_ok() { # NAME TEST
    if jq -e "$2" "$TMP/slow.json" >/dev/null 2>&1; then ok "$1"; else
        echo "# jq test failed: $2" >"$TMP/err"; cp "$TMP/slow.json" "$TMP/out"; not_ok "$1"; fi
}
jq_ok "the answer is large (300 experiments: over 256 KiB)" '.answer_bytes > 262144'
jq_ok "RSS grew by less than a tenth of 200 answers (each connection held a copy before)" \
    '(.rss_after_kib - .rss_before_kib) < .answer_kib_times_connections / 10'
jq_ok "the normal scraper was answered meanwhile" '.normal_scrapes >= 2'
jq_ok "every held connection then read a whole answer" '.whole_answers == 200'
expect "a scrape after them shows the moment's figures: a new experiment's state" 201 "" -- \
    POST /v1/experiments "$ADMIN" '{"key":"late","variants":[{"key":"a","weight":50,"control":true},{"key":"b","weight":50}]}'
sleep 1.5 # the board's refresh
check "... at once, not a cached answer" 0 "" "" -- sh -c \
    "curl -sf -H 'Authorization: Bearer $VIEWER' '$URL/metrics' | grep -q 'experiment=\"late\",state=\"draft\"} 1'"
stop_server
tap_done
