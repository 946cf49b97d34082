#!/bin/sh
# console_audit.sh - the console's audit page (#/audit) and notifications page
# (#/audit/notifications) in Debian's chromium (console_audit.js), against a real server.
#
# Here, over the API: more than 100 changes (flags created, updated and deleted, an
# experiment created, started and stopped, a route and its percentage, tokens made and
# revoked), a Slack channel (its URL, the credential, shown as scheme and host only), a
# webhook to a closed port with 30 test messages (failed deliveries, with errors), and a
# loopback receiver (receiver.js) for the channel the console makes. console_audit.js then
# compares the page with GET /v1/audit (the first page, a prefix filter, an action filter,
# the cursor's pages, a linked filtered view reloaded, the diff of an update), makes a
# webhook channel in the console (a mistake first, shown at its field; then right), sends
# it a test (the delivery row, the receiver's request), deletes it, and checks that a
# viewer sees every action disabled with the reason; axe-core on each page state, and
# screenshots (audit, audit-filtered, notifications, audit-viewer, notifications-viewer);
# 1,000 channels in a workspace of their own: both pages' first render timed, printed.
#
#   console_audit.sh SWITCHYARD NODE_DIR OUT_DIR
set -u
SY=$1
NODE_DIR=$2
OUT=$3
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/console_common.sh"
console_setup "$NODE_DIR" "$OUT"

console_db
# deliveries retried quickly (a test message is delivered at its first attempt anyway)
start_server "$SY" --quiet --notify-backoff 200 --notify-backoff-max 1600 --notify-attempts 4
check "the server starts" 0 "" "" -- test -n "$PORT"

RECV_PID=""
: >"$TMP/recv.log"
node "$HERE/receiver.js" 0 "$TMP/recv.log" ok >"$TMP/recv.port" &
RECV_PID=$!
trap 'stop_server; kill "$RECV_PID" 2>/dev/null; tap_exit' EXIT
wait_file "$TMP/recv.port"
check "the receiver listens" 0 "" "" -- test -s "$TMP/recv.port"

# ---- the trail: more than 100 changes, by two actors ---------------------------------------------
bad=0
for i in $(seq -w 1 45); do
    [ "$(req PUT "/v1/flags/flag-$i" "$EDITOR" '{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off"}')" = 201 ] ||
        bad=$((bad + 1))
done
for i in $(seq -w 1 35); do
    [ "$(req PUT "/v1/flags/flag-$i" "$ADMIN" '{"state":"ENABLED","variants":{"on":true,"off":false,"maybe":false},"defaultVariant":"on","metadata":{"owner":"web"}}')" = 200 ] ||
        bad=$((bad + 1))
done
for i in $(seq -w 36 45); do
    [ "$(req DELETE "/v1/flags/flag-$i" "$EDITOR")" = 200 ] || bad=$((bad + 1))
done
check "45 flags made, 35 changed, 10 deleted" 0 "" "" -- test "$bad" = 0
expect "an experiment" 201 '' -- POST /v1/experiments "$ADMIN" \
    '{"key":"checkout-button","variants":[{"key":"blue","weight":50,"control":true},{"key":"green","weight":50}],"metric":"conversion"}'
expect "... started" 200 '.state == "running"' -- POST /v1/experiments/checkout-button/start "$ADMIN"
expect "... stopped" 200 '.state == "stopped"' -- POST /v1/experiments/checkout-button/stop "$ADMIN"
P1=$(free_port)
P2=$(free_port)
P3=$(free_port)
expect "a route" 201 '' -- POST /v1/routes "$ADMIN" \
    "{\"name\":\"webhooks\",\"listen\":\"127.0.0.1:$P1\",\"upstreams\":{\"legacy\":\"127.0.0.1:$P2\",\"new\":\"127.0.0.1:$P3\"},\"percentage\":10,\"enabled\":true}"
expect "... its percentage" 200 '.percentage == 25' -- POST /v1/routes/webhooks/percentage "$ADMIN" '{"percentage":25,"reason":"step 2"}'
expect "a token" 201 '' -- POST /v1/tokens "$ADMIN" '{"role":"sdk","name":"web-frontend"}'
TID=$(jq .id "$TMP/body")
expect "... revoked" 200 '.revoked == true' -- DELETE "/v1/tokens/$TID" "$ADMIN"
expect "a Slack channel (its URL is its credential)" 201 '.url == "https://hooks.slack.test/…"' -- \
    POST /v1/notifications/channels "$ADMIN" '{"type":"slack","name":"team chat","url":"https://hooks.slack.test/T1/B2/s3cr3t","levels":["critical"]}'
expect "a webhook channel to a closed port" 201 '' -- POST /v1/notifications/channels "$ADMIN" \
    '{"type":"webhook","name":"down hook","url":"http://127.0.0.1:9/down","secret":"whsec-0123456789abcdef"}'
DOWN=$(jq .id "$TMP/body")
bad=0
for i in $(seq 1 30); do
    [ "$(req POST "/v1/notifications/channels/$DOWN/test" "$ADMIN")" = 202 ] || bad=$((bad + 1))
done
check "30 test messages queued to it (they fail: deliveries with errors)" 0 "" "" -- test "$bad" = 0
expect "the trail holds more than 100 entries" 200 '(.events | length) > 100' -- GET "/v1/audit?limit=1000" "$ADMIN"

# ---- in the browser ---------------------------------------------------------------------------------
console_run console_audit.js "$URL" "$ADMIN" "$VIEWER" "$OUT" "http://127.0.0.1:$(cat "$TMP/recv.port")" "$TMP/recv.log" "$ROOT" "$BIG"
shots audit audit-filtered notifications audit-viewer notifications-viewer notifications-1000

stop_server
check "the server stops cleanly" 0 "" "" -- test "${STOP_STATUS:-1}" = 0
tap_done
