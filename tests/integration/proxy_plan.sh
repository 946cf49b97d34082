#!/bin/sh
# proxy_plan.sh - rollout plans on a real server proxying to two node upstreams: a plan
# steps 0 -> 10 -> 50 -> 100 % as each step is held with healthy traffic; when new starts
# failing the health gate it steps back one level; with the default breaker the failures
# open it and the plan goes to 0; at 0 % the breaker's half-open probes still reach new,
# so once new is back the breaker closes and the plan starts over. Every move audited
# with its reason, and logged.
#
#   proxy_plan.sh SWITCHYARD
set -u
SY=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"

"$SY" workspace create default --db "$DB" >/dev/null
ADMIN=$("$SY" token create --db "$DB" --role admin --name alice)
TRAFFIC=""
cleanup() {
    [ -n "$TRAFFIC" ] && kill "$TRAFFIC" 2>/dev/null
    stop_server
    stop_upstreams
    tap_exit
}
trap cleanup EXIT
upstream legacy
upstream new 0 "$TMP/fail"
LISTEN=$(free_port)
start_server "$SY" --quiet --proxy-workers 1

# traffic for at most 60 s: 20 requests every 50 ms over one connection each time
printf 'url = "http://127.0.0.1:%s/t"\noutput = /dev/null\n' "$LISTEN" >"$TMP/one.cfg"
i=1
while [ $i -lt 20 ]; do printf 'next\nurl = "http://127.0.0.1:%s/t"\noutput = /dev/null\n' "$LISTEN"; i=$((i + 1)); done >>"$TMP/one.cfg"
(end=$(($(date +%s) + 60)); while [ "$(date +%s)" -lt $end ]; do curl -s -K "$TMP/one.cfg"; sleep 0.05; done) &
TRAFFIC=$!

LENIENT='"breaker":{"consecutive_failures":1000000,"error_rate":1,"min_requests":1000000}'
ROUTE="{\"name\":\"r\",\"listen\":\"127.0.0.1:$LISTEN\",\"upstreams\":{\"legacy\":\"127.0.0.1:$(cat "$TMP/legacy.port")\",\"new\":\"127.0.0.1:$(cat "$TMP/new.port")\"},\"plan\":{\"steps\":[10,50,100],\"hold_s\":1,\"min_requests\":20},$LENIENT}"
expect "a route with a plan, at 0 %" 201 '.percentage == 0 and .plan == {"steps":[10,50,100],"hold_s":1,"min_requests":20}' -- \
    POST /v1/routes "$ADMIN" "$ROUTE"
# wait_pct JQ_TEST SECONDS: polls the route until the test holds
wait_pct() { poll "$1" /v1/routes/r "$ADMIN" $(($2 * 10)); }
T0=$(date +%s)
check "healthy steps held: 0 -> 10 -> 50 -> 100 %" 0 "" "" -- wait_pct '.percentage == 100' 15
echo "# the plan reached 100 % in $(($(date +%s) - T0)) s (three steps held 1 s each)"
expect "each advance audited with its reason" 200 \
    '[.events[] | select(.action == "route.plan.advance") | .after.percentage] == [100,50,10] and ([.events[] | select(.action == "route.plan.advance")][0] | .actor == "system" and (.after.reason | startswith("plan: step held after")))' -- \
    GET "/v1/audit?resource=route:r" "$ADMIN"
check "logged" 0 "" "" -- grep -q 'event=route_plan route=r action=advance from=50 to=100' "$TMP/log"

touch "$TMP/fail"
check "new failing its health gate: back one step, to 50 %" 0 "" "" -- wait_pct '.percentage == 50' 10
expect "the step back audited" 200 \
    '[.events[] | select(.action == "route.plan.back")][0] | .after.percentage == 50 and (.after.reason | startswith("plan: health failed"))' -- \
    GET "/v1/audit?resource=route:r" "$ADMIN"
rm -f "$TMP/fail"

expect "the default breaker instead (open 1 s)" 200 '.breaker.consecutive_failures == 5 and .breaker.open_ms == 1000' -- \
    PUT /v1/routes/r "$ADMIN" "$(echo "$ROUTE" | jq -c 'del(.name) | .breaker = {"open_ms":1000} | .percentage = 50')"
touch "$TMP/fail"
check "the failures open the breaker, and the plan goes to 0 %" 0 "" "" -- wait_pct '.percentage == 0' 10
expect "the abort audited" 200 \
    '[.events[] | select(.action == "route.plan.abort")][0] | .after.percentage == 0 and .after.reason == "plan: the circuit breaker opened"' -- \
    GET "/v1/audit?resource=route:r" "$ADMIN"
rm -f "$TMP/fail"
# At 0 % nothing would reach new, and the breaker would stay open for ever: a request new
# could take but for its bucket is the half-open probe instead, once open_ms has passed.
expect "new is back, the route still at 0 %" 200 '.percentage == 0' -- GET /v1/routes/r "$ADMIN"
check "at 0 %, the breaker's probes reach new and it closes" 0 "" "" -- \
    poll '.breaker == "closed"' /v1/routes/r/health "$ADMIN" 100
expect "... audited: open, half_open, closed" 200 \
    '[.events[] | select(.action == "route.breaker") | .after.breaker][0:3] == ["closed","half_open","open"]' -- \
    GET "/v1/audit?resource=route:r" "$ADMIN"
check "... logged" 0 "" "" -- grep -q 'event=route_breaker route=r state=closed' "$TMP/log"
check "the plan starts over: 0 -> 10 %" 0 "" "" -- wait_pct '.percentage == 10' 10
expect "a plan with steps out of order: 400" 400 '.error.field == "plan.steps"' -- \
    PUT /v1/routes/r "$ADMIN" "$(echo "$ROUTE" | jq -c 'del(.name) | .plan.steps = [50,10]')"
expect "a plan held 0 s: 400" 400 '.error.field == "plan.hold_s"' -- \
    PUT /v1/routes/r "$ADMIN" "$(echo "$ROUTE" | jq -c 'del(.name) | .plan.hold_s = 0')"

tap_done
