#!/bin/sh
# console_routes.sh - the console's routes pages (#/routes, #/routes/NAME) in a real
# browser (console_routes.js, on console_lib.js) against a real server proxying a route to
# two node upstreams, with traffic through it (400 requests, three of them failed by new):
# the page's figures against the API's own answers (/stats, /health, /series, /requests),
# the percentage set in the console and the
# next requests split by it, the route rolled back in the console (0 %, audited with its
# reason, the next requests all on legacy), the workspace's emergency rollback, a viewer's
# actions all disabled with the reason, 100 routes' first page timed (< 1 s), axe-core on
# each page state, and screenshots (routes, route, route-rolled-back, routes-viewer,
# routes-100) into OUT_DIR.
#
#   console_routes.sh SWITCHYARD NODE_DIR OUT_DIR
set -u
SY=$1
NODE_DIR=$2
OUT=$3
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/console_common.sh"
console_setup "$NODE_DIR" "$OUT"

trap 'stop_server; stop_upstreams; tap_exit' EXIT
console_db
upstream legacy
upstream new 0 "$TMP/new.fail"
LEGACY=$(cat "$TMP/legacy.port") NEW=$(cat "$TMP/new.port")
LISTEN=$(free_port)
PAY_LISTEN=$(free_port)
BIG_LISTEN=$(free_port)
start_server "$SY" --quiet --proxy-workers 1 --route-stats-flush 1
check "the server starts" 0 "" "" -- test -n "$PORT"

# A route at 20 % with a plan that holds each step an hour (the plan does not move during
# the test), sticky on X-User-Id; an experiment running, for the emergency rollback.
expect "a route at 20 % with a rollout plan" 201 '.percentage == 20 and .plan.steps == [20,50,100]' -- POST /v1/routes "$ADMIN" \
    "{\"name\":\"webhooks\",\"listen\":\"127.0.0.1:$LISTEN\",\"upstreams\":{\"legacy\":\"127.0.0.1:$LEGACY\",\"new\":\"127.0.0.1:$NEW\"},\"percentage\":20,\"sticky\":{\"header\":\"X-User-Id\"},\"plan\":{\"steps\":[20,50,100],\"hold_s\":3600,\"min_requests\":100}}"
expect "a second route, disabled, without a plan" 201 '.enabled == false' -- POST /v1/routes "$ADMIN" \
    "{\"name\":\"payments\",\"listen\":\"127.0.0.1:$PAY_LISTEN\",\"path_prefix\":\"/pay\",\"upstreams\":{\"legacy\":\"127.0.0.1:$LEGACY\",\"new\":\"127.0.0.1:$NEW\"},\"percentage\":5,\"enabled\":false}"
req POST /v1/experiments "$ADMIN" '{"key":"banner","variants":[{"key":"off","weight":50,"control":true},{"key":"on","weight":50}],"metric":"conversion"}' >/dev/null
expect "an experiment running" 200 '.state == "running"' -- POST /v1/experiments/banner/start "$ADMIN"

# 400 requests, each its own X-User-Id, through the route
i=0
while [ $i -lt 400 ]; do
    [ $i -gt 0 ] && echo next
    printf 'url = "http://127.0.0.1:%s/hook/%d"\noutput = /dev/null\nheader = "X-User-Id: u%d"\nwrite-out = "%%header{x-switchyard-route} %%{http_code}\\n"\n' "$LISTEN" $i $i
    i=$((i + 1))
done >"$TMP/many.cfg"
curl -s -K "$TMP/many.cfg" >"$TMP/split"
NEWS=$(grep -c '^new 200$' "$TMP/split")
LEGS=$(grep -c '^legacy 200$' "$TMP/split")
echo "# 400 requests at 20 %: $NEWS to new, $LEGS to legacy"
check "400 requests through the route, all answered by one of the two" 0 "" "" -- test $((NEWS + LEGS)) -eq 400
# three failures of new (it answers 503 while new.fail exists): three keys it took again,
# fewer than the breaker's five in a row, so the breaker stays closed and the plan (100
# requests a step) does not judge; new's error rate is over its gate: unhealthy
: >"$TMP/new.fail"
for k in $(grep -n '^new ' "$TMP/split" | head -3 | cut -d: -f1); do
    curl -s -o /dev/null -w '%{http_code}\n' -H "X-User-Id: u$((k - 1))" "http://127.0.0.1:$LISTEN/hook/again"
done >"$TMP/fails"
rm -f "$TMP/new.fail"
check "three requests failed by new (503)" 0 "" "" -- test "$(grep -c '^503$' "$TMP/fails")" = 3
expect "... new unhealthy, the breaker closed" 200 '.healthy == false and .upstreams.new.errors == 3 and .breaker == "closed"' -- \
    GET /v1/routes/webhooks/health "$ADMIN"
# what the proxy counted is stored within a flush (1 s): wait until /series holds it all
i=0
while [ $i -lt 50 ]; do
    req GET /v1/routes/webhooks/series "$ADMIN" >/dev/null
    [ "$(jq '[.upstreams[].requests[]] | add' "$TMP/body")" = 403 ] && break
    sleep 0.2
    i=$((i + 1))
done
check "... and stored per minute (/series holds the 403)" 0 "" "" -- test "$(jq '[.upstreams[].requests[]] | add' "$TMP/body")" = 403

# 100 routes in a workspace of their own, on one address under 100 prefixes
i=0
while [ $i -lt 100 ]; do
    p=$(printf '%03d' $i)
    req POST /v1/routes "$BIG" "{\"name\":\"r$p\",\"listen\":\"127.0.0.1:$BIG_LISTEN\",\"path_prefix\":\"/r$p\",\"upstreams\":{\"legacy\":\"127.0.0.1:$LEGACY\",\"new\":\"127.0.0.1:$NEW\"},\"percentage\":$((i % 11 * 10 % 101))}" >/dev/null
    i=$((i + 1))
done
expect "100 routes made in another workspace" 200 '(.routes | length) == 100' -- GET /v1/routes "$BIG"

console_run console_routes.js "$URL" "$ADMIN" "$VIEWER" "$BIG" "$OUT" "$LISTEN"
shots routes route route-rolled-back routes-viewer routes-100

stop_server
check "the server stops cleanly" 0 "" "" -- test "${STOP_STATUS:-1}" = 0
stop_upstreams
tap_done
