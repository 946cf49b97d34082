#!/bin/sh
# slow_scrapers.sh - what scrapes that never read their answer cost (issue 23): a server
# with EXPERIMENTS running experiments (20 units each, bench/board_state.py) gets
# CONNECTIONS connections that each ask GET /metrics with a token (the workspace's scope) and never read
# (bench/slow_scrapers.py), while one normal scraper reads its answers; prints the answer's
# size, the server's RSS before and after, the growth per connection and the normal
# scraper's latency. Figures, never a verdict: this machine is shared.
#
#   bench/slow_scrapers.sh SWITCHYARD [EXPERIMENTS] [CONNECTIONS]
set -eu
SY=$1
N=${2:-1000}
C=${3:-300}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
needs slow_scrapers.sh curl jq python3
TMP=$(mktemp -d)
SYPID=""
trap '[ -z "$SYPID" ] || kill "$SYPID" 2>/dev/null; rm -rf "$TMP"' EXIT

start_sy "$SY" "$TMP/sy.log" --auto-promotion-interval 0 --health-interval 0 --workers 2 \
    --metrics-refresh 1 --max-connections 2000
ADMIN=$(cat "$TMP/admin")
python3 "$HERE/board_state.py" "$SYURL" "$ADMIN" "$N" >/dev/null
sleep 2 # the board shows every experiment
python3 "$HERE/slow_scrapers.py" "$SYURL" "$ADMIN" "$SYPID" "$C"
