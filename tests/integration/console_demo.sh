#!/bin/sh
# console_demo.sh - `make run`'s demo, from its start to its promotion, in the console alone:
# scripts/run-demo.sh (the test build's switchyard, a free loopback port, a scratch demo
# folder, the demo's users at 1,000 a second) is started as make run starts it; then in
# chromium a person signs in with the token it printed, opens the draft experiment, starts
# it, waits on its page (reloading it) until the results decide "promote green", and
# approves the promotion; the API agrees at each step. TERM stops the demo: its server
# and its users end, the server's log holds no sanitizer report.
#
#   console_demo.sh SWITCHYARD NODE_DIR OUT_DIR
set -u
SY=$1
NODE_DIR=$2
OUT=$3
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/console_common.sh"
console_setup "$NODE_DIR" "$OUT"

# demo_start ADDR RATE OUT: run-demo.sh as make run starts it (its folder $TMP/demo, its
# store tap.sh's $DB), its pid in DEMO, until it has printed its instructions into OUT (at
# most 30 s).
demo_start() {
    SWITCHYARD_DEMO_DIR=$TMP/demo SWITCHYARD_DEMO_DB=$DB DEMO_RATE=$2 sh "$ROOT/scripts/run-demo.sh" "$SY" "$1" >"$3" 2>&1 &
    DEMO=$!
    i=0
    while [ $i -lt 300 ] && ! grep -q 'Ctrl-C stops the server' "$3"; do
        sleep 0.1
        i=$((i + 1))
    done
}
# demo_stop: TERM to the demo, and up to 10 s for it to end.
demo_stop() {
    kill -TERM "$DEMO" 2>/dev/null
    i=0
    while [ $i -lt 100 ] && kill -0 "$DEMO" 2>/dev/null; do
        sleep 0.1
        i=$((i + 1))
    done
}

DEMO_PORT=$(free_port)
demo_start "127.0.0.1:$DEMO_PORT" 1000 "$TMP/demo.out"
URL=http://127.0.0.1:$DEMO_PORT
check "make run's demo starts and prints the console's URL" 0 "" "" -- grep -q "The console: $URL/ui/" "$TMP/demo.out"
TOKEN=$(cat "$TMP/demo/admin-token" 2>/dev/null)
check "... and the admin token it printed" 0 "" "" -- grep -q "^  $TOKEN\$" "$TMP/demo.out"
expect "the demo experiment is a draft that awaits a person's approval" 200 \
    '.state == "draft" and .safety.require_manual_approval == true' -- GET /v1/experiments/checkout-button "$TOKEN"

console_run console_demo.js "$URL" "$TOKEN" "$OUT"
shots demo-draft demo-running demo-decided demo-promoted

demo_stop
check "TERM stops the demo" 1 "" "" -- kill -0 "$DEMO"
sleep 0.5
check "... its server and its users are gone" 1 "" "" -- pgrep -f "demo-traffic.py $URL"
check "... nothing listens on its port any more" 7 "" "" -- curl -s -o /dev/null "$URL/health"
check "the demo server's log holds no sanitizer report" 1 "" "" -- grep -q 'Sanitizer\|runtime error:' "$TMP/demo/server.log"
# Restarted on port 0 (any free one): the URL it prints is the port it bound, and its users
# are new ones (the first run's would be duplicates the results do not count).
demo_start 127.0.0.1:0 200 "$TMP/demo2.out"
URL2=$(sed -n 's|^The console: \(http://127.0.0.1:[1-9][0-9]*\)/ui/.*|\1|p' "$TMP/demo2.out")
check "restarted on port 0, the demo prints the port it bound" 0 "" "" -- test -n "$URL2"
n_units() { curl -s -H "Authorization: Bearer $TOKEN" "$URL2/v1/experiments/checkout-button/results" | jq '[.variants[].units] | add'; }
BEFORE=$(n_units)
sleep 3
AFTER=$(n_units)
check "... and its users are new ones: the units grow at once ($BEFORE, then $AFTER)" 0 "" "" -- \
    test "${AFTER:-0}" -gt "${BEFORE:-0}"
demo_stop
check "... and TERM stops it" 1 "" "" -- kill -0 "$DEMO"
tap_done
