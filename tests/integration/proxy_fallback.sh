#!/bin/sh
# proxy_fallback.sh - what a request to `new` that fails becomes (issue 22, the webhook
# router's rule), on a real server with real upstreams on loopback:
# - one that never reached new (connection refused, a connect timeout) goes to legacy
#   whatever its method: POST and PATCH as well as GET;
# - one whose bytes reached new and got no answer (new resets the connection) goes to
#   legacy only as the route's rule says: an idempotent method, or any with
#   retry_non_idempotent; otherwise 502 Bad Gateway;
# - a read timeout is never repeated: 504 Gateway Timeout;
# - an open breaker at 0 % probes new only on a route with a rollout plan: 3 probes
#   (its `probes`) once open_ms has passed, and they close it;
# - the proxy's own errors carry standard reason phrases;
# - each request is in its route's recent-request log (GET /v1/routes/{name}/requests:
#   at_ms, method, path, domain, upstream, fallback, status, latency_ms, error_message),
#   bounded, filtered by upstream and errors_only; each failure and fallback is a log line.
#
#   proxy_fallback.sh SWITCHYARD
set -u
SY=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"

"$SY" workspace create default --db "$DB" >/dev/null
ADMIN=$("$SY" token create --db "$DB" --role admin --name alice)
HOLE=""
cleanup() {
    [ -n "$HOLE" ] && kill "$HOLE" 2>/dev/null
    stop_server
    stop_upstreams
    tap_exit
}
trap cleanup EXIT
upstream legacy
upstream slow 3000
touch "$TMP/reset"
node "$HERE/upstream.js" 0 resetting 0 "" "$TMP/reset" >"$TMP/resetting.port" &
echo $! >"$TMP/resetting.pid"
wait_file "$TMP/resetting.port"
# a black hole: a listener whose accept queue is full, so that a connect to it hangs
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)
held = []
for i in range(3):
    c = socket.socket(); c.setblocking(False)
    try: c.connect(s.getsockname())
    except BlockingIOError: pass
    held.append(c)
print(s.getsockname()[1], flush=True)
time.sleep(120)' >"$TMP/hole.port" &
HOLE=$!
wait_file "$TMP/hole.port"
LEGACY=127.0.0.1:$(cat "$TMP/legacy.port")
REFUSED=127.0.0.1:$(free_port) # nothing listens there
start_server "$SY" --quiet --proxy-workers 1

LENIENT='"breaker":{"consecutive_failures":1000000,"error_rate":1,"min_requests":1000000}'
# route NAME NEW [EXTRA]: a route at 100 % to NEW on a port of its own, its URL in $P_NAME
route() {
    port=$(free_port)
    eval "P_$1=http://127.0.0.1:$port"
    expect "route $1: all of it to new ($2)" 201 '.percentage == 100' -- POST /v1/routes "$ADMIN" \
        "{\"name\":\"$1\",\"listen\":\"127.0.0.1:$port\",\"percentage\":100,\"upstreams\":{\"legacy\":\"$LEGACY\",\"new\":{\"address\":\"$2\",\"connect_timeout_ms\":300,\"read_timeout_ms\":500}},$LENIENT${3:-}}"
}
# send METHOD URL: "STATUS ROUTE UPSTREAM" (ROUTE: X-Switchyard-Route; UPSTREAM: who echoed)
send() {
    curl -s -o "$TMP/b" -D "$TMP/h" -X "$1" -H 'Content-Type: application/json' --data-binary '{"n":1}' "$2" >/dev/null
    printf '%s %s %s\n' "$(sed -n '1s/^HTTP\/1.1 \([0-9]*\).*/\1/p' "$TMP/h")" \
        "$(tr -d '\r' <"$TMP/h" | sed -n 's/^X-Switchyard-Route: //p')" "$(jq -r '.upstream // .error.code' "$TMP/b" 2>/dev/null)"
}

route refused "$REFUSED"
for m in POST PATCH GET; do
    check "new refuses the connection: a $m goes to legacy" 0 "^200 legacy legacy$" "" -- send $m "$P_refused/hook"
done

route hole "127.0.0.1:$(cat "$TMP/hole.port")"
T0=$(date +%s%N)
check "new's connect times out (300 ms): a POST goes to legacy" 0 "^200 legacy legacy$" "" -- send POST "$P_hole/hook"
MS=$((($(date +%s%N) - T0) / 1000000))
echo "# answered by legacy after $MS ms"
check "... once the connect timeout has passed, not a read timeout" 0 "" "" -- sh -c "[ $MS -ge 250 ] && [ $MS -lt 2000 ]"

route reset "127.0.0.1:$(cat "$TMP/resetting.port")"
check "new reset a POST it had read: not repeated, 502" 0 "^502 error bad_gateway$" "" -- send POST "$P_reset/hook"
check "... with the standard reason phrase" 0 "^HTTP/1.1 502 Bad Gateway" "" -- head -1 "$TMP/h"
check "new reset a GET it had read: idempotent, so legacy serves it" 0 "^200 legacy legacy$" "" -- send GET "$P_reset/hook"
check "... and a PUT" 0 "^200 legacy legacy$" "" -- send PUT "$P_reset/hook"
expect "retry_non_idempotent on" 200 '.retry_non_idempotent == true' -- PUT /v1/routes/reset "$ADMIN" \
    "$(curl -s -H "Authorization: Bearer $ADMIN" "$URL/v1/routes/reset" | jq -c 'del(.name, .created_ms, .updated_ms) | .retry_non_idempotent = true')"
check "then a POST new reset goes to legacy too" 0 "^200 legacy legacy$" "" -- send POST "$P_reset/hook"
rm -f "$TMP/reset"
check "new answering again: new serves" 0 "^200 new resetting$" "" -- send POST "$P_reset/hook"

route slow "127.0.0.1:$(cat "$TMP/slow.port")"
check "a read timeout is not repeated, even for a GET: 504" 0 "^504 error gateway_timeout$" "" -- send GET "$P_slow/hook"
check "... with the standard reason phrase" 0 "^HTTP/1.1 504 Gateway Timeout" "" -- head -1 "$TMP/h"

# ---- an open breaker at 0 %: probes only on a route with a plan ------------------------------------
route lone "$REFUSED" ',"breaker":{"consecutive_failures":1,"open_ms":200}'
check "new refused once: served by legacy" 0 "^200 legacy legacy$" "" -- send GET "$P_lone/hook"
check "... and the breaker opened" 0 "" "" -- poll '.breaker == "open"' /v1/routes/lone/health "$ADMIN"
expect "a person takes the route to 0 %" 200 '.percentage == 0' -- \
    POST /v1/routes/lone/percentage "$ADMIN" '{"percentage":0,"reason":"new is down"}'
LONE=$(curl -s -H "Authorization: Bearer $ADMIN" "$URL/v1/routes/lone" | jq -c 'del(.name, .created_ms, .updated_ms)')
expect "new is back (its address now one that answers)" 200 '.percentage == 0' -- \
    PUT /v1/routes/lone "$ADMIN" "$(echo "$LONE" | jq -c ".upstreams.new.address = \"$LEGACY\"")"
sleep 0.3 # past open_ms
for i in 1 2 3 4 5 6 7 8 9 10; do send GET "$P_lone/p$i"; done >"$TMP/lone"
check "without a plan, 0 % means none: no probe, everything to legacy" 0 "" "" -- \
    sh -c "[ \$(grep -c '^200 legacy legacy\$' '$TMP/lone') -eq 10 ]"
expect "... and the breaker stays open" 200 '.breaker == "open"' -- GET /v1/routes/lone/health "$ADMIN"
expect "with a plan (which the breaker took to 0 %)" 200 '.plan.steps == [10]' -- \
    PUT /v1/routes/lone "$ADMIN" "$(echo "$LONE" | jq -c ".upstreams.new.address = \"$LEGACY\" | .plan = {\"steps\":[10],\"hold_s\":60,\"min_requests\":1}")"
for i in 1 2 3 4 5 6 7 8 9 10; do send GET "$P_lone/q$i"; done >"$TMP/lone"
check "the next requests new could take are the breaker's probes: 3 to new, the rest to legacy" 0 "" "" -- \
    sh -c "[ \$(grep -c '^200 new legacy\$' '$TMP/lone') -eq 3 ] && [ \$(grep -c '^200 legacy legacy\$' '$TMP/lone') -eq 7 ]"
check "... and they closed it" 0 "" "" -- poll '.breaker == "closed"' /v1/routes/lone/health "$ADMIN"
expect "the probes' records say so" 200 '[.requests[] | select(.probe)] | length == 3 and all(.upstream == "new" and .status == 200)' -- \
    GET "/v1/routes/lone/requests?upstream=new" "$ADMIN"

# ---- the recent-request log ------------------------------------------------------------------------
REQS=/v1/routes/refused/requests
expect "the route's recent requests, newest first, as the specification's logs have them" 200 \
    ".route == \"refused\" and .proxy == true and (.requests | length) == 3 and ([.requests[].method] == [\"GET\",\"PATCH\",\"POST\"]) and (.requests | all(.path == \"/hook\" and .upstream == \"legacy\" and .fallback == true and .status == 200 and .latency_ms > 0 and .at_ms > 1700000000000 and .domain == null and .error_message == \"new $REFUSED: cannot connect (Connection refused)\"))" -- \
    GET "$REQS" "$ADMIN"
expect "limit=1: the newest" 200 '(.requests | length) == 1 and .requests[0].method == "GET"' -- GET "$REQS?limit=1" "$ADMIN"
expect "upstream=new: none (new never answered)" 200 '.requests == []' -- GET "$REQS?upstream=new" "$ADMIN"
expect "the connect timeout's message" 200 \
    '.requests[0].error_message | test("^new 127.0.0.1:[0-9]+: connect timed out$")' -- GET /v1/routes/hole/requests "$ADMIN"
expect "errors_only: the POST new reset (502 from the proxy), then the GET, PUT and POST legacy served" 200 \
    '(.requests | length) == 4 and ([.requests[].fallback] == [true,true,true,false]) and .requests[3] == (.requests[3] | .upstream = "error" | .status = 502 | .method = "POST") and (.requests[3].error_message | test("^new 127.0.0.1:[0-9]+: closed the connection before answering"))' -- \
    GET "/v1/routes/reset/requests?errors_only=true" "$ADMIN"
expect "... and upstream=new: what new answered once it was back" 200 \
    '(.requests | length) == 1 and .requests[0].status == 200 and .requests[0].error_message == null and .requests[0].method == "POST"' -- \
    GET "/v1/routes/reset/requests?upstream=new&errors_only=false" "$ADMIN"
expect "the read timeout's record" 200 \
    '.requests[0].upstream == "error" and .requests[0].status == 504 and (.requests[0].error_message | endswith(": did not answer in time"))' -- \
    GET "/v1/routes/slow/requests?upstream=error" "$ADMIN"
expect "an unknown query parameter: 400 unknown_field" 400 '.error.code == "unknown_field" and .error.field == "since"' -- \
    GET "$REQS?since=1" "$ADMIN"
expect "limit 0: 400" 400 '.error.field == "limit"' -- GET "$REQS?limit=0" "$ADMIN"
expect "limit 1001: 400" 400 '.error.field == "limit"' -- GET "$REQS?limit=1001" "$ADMIN"
expect "upstream=both: 400" 400 '.error.field == "upstream"' -- GET "$REQS?upstream=both" "$ADMIN"
expect "errors_only=yes: 400" 400 '.error.field == "errors_only"' -- GET "$REQS?errors_only=yes" "$ADMIN"
expect "a route that does not exist: 404" 404 '' -- GET /v1/routes/nope/requests "$ADMIN"
expect "POST: 405" 405 '' -- POST "$REQS" "$ADMIN" '{}'
i=0
while [ $i -lt 300 ]; do printf 'url = "%s/n%d"\noutput = /dev/null\n' "$P_refused" $i; i=$((i + 1)); done >"$TMP/300.cfg"
curl -s -K "$TMP/300.cfg"
expect "bounded: 300 more requests, the last 256 kept (one worker)" 200 \
    '(.requests | length) == 256 and .requests[0].path == "/n299" and .requests[255].path == "/n44"' -- \
    GET "$REQS?limit=1000" "$ADMIN"
export SWITCHYARD_URL="$URL" SWITCHYARD_TOKEN="$ADMIN"
check "switchyard route requests: a line a request, newest first" 0 \
    "^[0-9]{13} GET +/n299 +- +legacy +200 +[0-9.]+ ms  fallback  new $REFUSED: cannot connect \\(Connection refused\\)$" "" -- \
    "$SY" route requests refused --limit 1
check "... --errors-only --upstream error" 0 "^[0-9]{13} GET +/hook +- +error +504 .* did not answer in time$" "" -- \
    "$SY" route requests slow --errors-only --upstream error
check "... a bad --upstream: the server's 400" 1 "" "upstream" -- "$SY" route requests slow --upstream both
unset SWITCHYARD_URL SWITCHYARD_TOKEN
check "a log line for each failure and fallback" 0 "" "" -- \
    grep -Eq 'event=route_request route=refused at_ms=[0-9]+ method=POST path=/hook domain="" upstream=legacy fallback=true status=200 latency_ms=[0-9.]+ error_message="new 127.0.0.1:[0-9]+: cannot connect \(Connection refused\)"' "$TMP/log"
check "... and for the proxy's own errors" 0 "" "" -- \
    grep -Eq 'event=route_request route=slow .*upstream=error fallback=false status=504 .*did not answer in time' "$TMP/log"
check "... not for a request that went well" 0 "" "" -- sh -c "! grep -q 'event=route_request route=reset .*status=200 .*error_message=\"\"' '$TMP/log'"

expect "new's health counts each failure it caused" 200 '.upstreams.new.errors >= 3 and .upstreams.new.requests >= 3' -- \
    GET /v1/routes/refused/health "$ADMIN"

tap_done
