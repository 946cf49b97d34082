#!/bin/sh
# proxy_split.sh - the data plane on loopback: a real server proxying a route to two node
# upstreams. The split over 10,000 requests within binomial error of the percentage; sticky
# keys that never leave `new` while the percentage grows; protected domains never on `new`;
# domain detection by body keywords and routable domains; hop-by-hop headers removed and
# X-Forwarded-For added; a killed `new` upstream whose requests (any method: none reached
# it) legacy serves with no error; a slow upstream timed out as configured; a percentage change that drops
# no request in flight; the kill switch; the route's counters.
#
#   proxy_split.sh SWITCHYARD
set -u
SY=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"

"$SY" workspace create default --db "$DB" >/dev/null
ADMIN=$("$SY" token create --db "$DB" --role admin --name alice)

cleanup() {
    stop_server
    stop_upstreams
    tap_exit
}
trap cleanup EXIT
upstream legacy
upstream new
upstream slow 3000
LEGACY=$(cat "$TMP/legacy.port") NEW=$(cat "$TMP/new.port") SLOW=$(cat "$TMP/slow.port")
LISTEN=$(free_port)
SLOW_LISTEN=$(free_port)
P=http://127.0.0.1:$LISTEN
start_server "$SY" --quiet --proxy-workers 2 --route-stats-flush 1

ROUTE="{\"name\":\"webhooks\",\"listen\":\"127.0.0.1:$LISTEN\",\"upstreams\":{\"legacy\":\"127.0.0.1:$LEGACY\",\"new\":\"127.0.0.1:$NEW\"},\"percentage\":10,\"enabled\":true,\"protected_domains\":[\"mobility\"],\"domains\":[{\"name\":\"jobs\",\"rules\":[{\"body_keywords\":{\"field\":\"message\",\"words\":[\"job\",\"hiring\"]}}]},{\"name\":\"mobility\",\"rules\":[{\"path_prefix\":\"/ride\"}]}],\"sticky\":{\"header\":\"X-User-Id\"},\"breaker\":{\"open_ms\":300},\"prod_exec_domains\":[\"jobs\"]}"
expect "a route at 10 %" 201 '.percentage == 10' -- POST /v1/routes "$ADMIN" "$ROUTE"
percentage() { req POST /v1/routes/webhooks/percentage "$ADMIN" "{\"percentage\":$1,\"reason\":\"test\"}" >/dev/null; }

# many N PATH [KEYS]: N requests over one connection (curl -K); with KEYS each its own
# X-User-Id (u0..), printing "KEY ROUTE STATUS" per line
many() {
    i=0
    while [ $i -lt "$1" ]; do
        [ $i -gt 0 ] && echo next
        printf 'url = "%s%s"\noutput = /dev/null\n' "$P" "$2"
        [ "${3:-}" = keys ] && printf 'header = "X-User-Id: u%d"\n' $i
        printf 'write-out = "u%d %%header{x-switchyard-route} %%{http_code}\\n"\n' $i
        i=$((i + 1))
    done >"$TMP/many.cfg"
    curl -s -K "$TMP/many.cfg"
}

# ---- the split --------------------------------------------------------------------------------------
many 10000 /hook >"$TMP/split"
NEWS=$(grep -c ' new 200$' "$TMP/split")
LEGS=$(grep -c ' legacy 200$' "$TMP/split")
echo "# 10,000 requests at 10 %: $NEWS to new, $LEGS to legacy"
check "10,000 requests, all answered 200 by one of the two" 0 "" "" -- test $((NEWS + LEGS)) -eq 10000
# binomial(10000, 0.1): sd 30, four of them either side
check "the split is within binomial error of 10 % (880..1120)" 0 "" "" -- sh -c "[ $NEWS -ge 880 ] && [ $NEWS -le 1120 ]"

# ---- stickiness ------------------------------------------------------------------------------------
many 500 /hook keys | awk '$2 == "new" {print $1}' | sort >"$TMP/new10"
percentage 25
many 500 /hook keys | awk '$2 == "new" {print $1}' | sort >"$TMP/new25"
percentage 50
many 500 /hook keys | awk '$2 == "new" {print $1}' | sort >"$TMP/new50"
echo "# sticky keys on new: $(wc -l <"$TMP/new10") at 10 %, $(wc -l <"$TMP/new25") at 25 %, $(wc -l <"$TMP/new50") at 50 %"
check "no key left new from 10 % to 25 %" 0 "" "" -- sh -c "[ -z \"\$(comm -23 '$TMP/new10' '$TMP/new25')\" ] && [ -s '$TMP/new10' ]"
check "... nor from 25 % to 50 %" 0 "" "" -- sh -c "[ -z \"\$(comm -23 '$TMP/new25' '$TMP/new50')\" ]"
check "the same key, the same upstream, every time" 0 "" "" -- \
    sh -c "for i in 1 2 3 4 5; do curl -s -H 'X-User-Id: u7' '$P/again' | jq -r .upstream; done | sort -u | wc -l | grep -qx 1"

# ---- protected domains, detection, headers -------------------------------------------------------------
percentage 100
many 200 /ride/42 >"$TMP/rides"
check "at 100 %, the protected domain never reaches new (200 requests)" 0 "" "" -- \
    sh -c "[ \$(grep -c ' legacy 200$' '$TMP/rides') -eq 200 ]"
check "... and the rest does" 0 '"upstream":"new"' "" -- curl -s "$P/hook"
ROUTABLE=$(echo "$ROUTE" | jq -c '.routable_domains = ["jobs"] | .percentage = 100 | del(.name)')
expect "only jobs routable" 200 '.routable_domains == ["jobs"] and .percentage == 100' -- PUT /v1/routes/webhooks "$ADMIN" "$ROUTABLE"
post() { curl -s -H 'Content-Type: application/json' --data-binary "$1" "$P/events" | jq -r .upstream; }
check "a message with a keyword: jobs, to new" 0 "^new$" "" -- post '{"message":"We are HIRING engineers"}'
check "a keyword inside another word is not one: legacy" 0 "^legacy$" "" -- post '{"message":"jobless claims fell"}'
check "no message field: legacy" 0 "^legacy$" "" -- post '{"text":"a job"}'
check "a body that is not JSON: legacy" 0 "^legacy$" "" -- post 'job hiring'
curl -s -H 'Connection: close, X-Hop' -H 'X-Hop: secret' -H 'Keep-Alive: timeout=9' -H 'X-Forwarded-For: 10.0.0.1' \
    -D "$TMP/resp_headers" "$P/headers" >"$TMP/echo"
check "hop-by-hop request headers removed, X-Forwarded-For appended" 0 "" "" -- \
    jq -e '.headers["x-hop"] == null and .headers["keep-alive"] == null and .headers["x-forwarded-for"] == "10.0.0.1, 127.0.0.1" and (.headers.forwarded | startswith("for=\"127.0.0.1\""))' "$TMP/echo"
check "the response says its route, without the upstream's Keep-Alive" 0 "" "" -- \
    sh -c "grep -qi '^X-Switchyard-Route: legacy' '$TMP/resp_headers' && ! grep -qi '^Keep-Alive:' '$TMP/resp_headers'"
curl -s --raw -D "$TMP/chunked_headers" "$P/chunked/a" >"$TMP/chunked"
check "a chunked response streams to an HTTP/1.1 client in chunks" 0 "" "" -- \
    sh -c "grep -qi '^Transfer-Encoding: chunked' '$TMP/chunked_headers' && grep -q '^0.$' '$TMP/chunked'"
curl -s --http1.0 -D "$TMP/chunked10_headers" "$P/chunked/b" >"$TMP/chunked10"
check "... and to an HTTP/1.0 client as its data only, ended by the close" 0 "" "" -- \
    sh -c "! grep -qi '^Transfer-Encoding' '$TMP/chunked10_headers' && grep -qi '^Connection: close' '$TMP/chunked10_headers' && jq -e '.path == \"/chunked/b\"' '$TMP/chunked10' >/dev/null"

# ---- the kill switch -----------------------------------------------------------------------------------
expect "everything routable again" 200 '' -- PUT /v1/routes/webhooks "$ADMIN" "$(echo "$ROUTE" | jq -c '.percentage = 100 | del(.name)')"
expect "kill switch on" 200 '' -- POST /v1/go-live/kill-switch "$ADMIN" '{"engaged":true,"reason":"drill"}'
many 100 /hook >"$TMP/killed"
check "while it is engaged nothing goes to new" 0 "" "" -- sh -c "[ \$(grep -c ' legacy 200$' '$TMP/killed') -eq 100 ]"
check "... a request marked PROD_EXEC gets 403 kill_switch" 0 "^403 kill_switch$" "" -- \
    sh -c "curl -s -o '$TMP/k' -w '%{http_code} ' -H 'X-Execution-Class: PROD_EXEC' '$P/exec' && jq -r .error.code '$TMP/k'"
check "... and so does a request of a production-execution domain" 0 "^403$" "" -- \
    curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary '{"message":"hiring now"}' "$P/exec"
expect "kill switch off" 200 '' -- POST /v1/go-live/kill-switch "$ADMIN" '{"engaged":false,"reason":"drill over"}'
check "then new again" 0 '"upstream":"new"' "" -- curl -s "$P/hook"

# ---- in-flight requests, a killed and a slow upstream ----------------------------------------------------
expect "a route to the slow upstream, timing out at 500 ms" 201 '' -- POST /v1/routes "$ADMIN" \
    "{\"name\":\"slow\",\"listen\":\"127.0.0.1:$SLOW_LISTEN\",\"percentage\":100,\"upstreams\":{\"legacy\":{\"address\":\"127.0.0.1:$LEGACY\"},\"new\":{\"address\":\"127.0.0.1:$SLOW\",\"read_timeout_ms\":500}}}"
T0=$(date +%s%N)
check "the slow upstream times out: 504 after about 500 ms" 0 "^504$" "" -- \
    curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SLOW_LISTEN/slow"
MS=$((($(date +%s%N) - T0) / 1000000))
echo "# the timeout came after $MS ms"
check "... not before, and well before the upstream's 3 s" 0 "" "" -- sh -c "[ $MS -ge 450 ] && [ $MS -lt 2500 ]"
expect "its timeout raised to 10 s" 200 '' -- PUT /v1/routes/slow "$ADMIN" \
    "{\"listen\":\"127.0.0.1:$SLOW_LISTEN\",\"upstreams\":{\"legacy\":\"127.0.0.1:$LEGACY\",\"new\":{\"address\":\"127.0.0.1:$SLOW\",\"read_timeout_ms\":10000}}}"
curl -s -o "$TMP/inflight" -w '%{http_code}' "http://127.0.0.1:$SLOW_LISTEN/inflight" >"$TMP/inflight_status" &
CURL=$!
sleep 0.5
expect "the percentage changed while a request is in flight" 200 '.percentage == 0' -- \
    POST /v1/routes/slow/percentage "$ADMIN" '{"percentage":0,"reason":"mid-flight"}'
wait $CURL
check "the request in flight is answered by the upstream it started on" 0 "" "" -- \
    sh -c "[ \"\$(cat '$TMP/inflight_status')\" = 200 ] && jq -e '.upstream == \"slow\"' '$TMP/inflight' >/dev/null"
check "the next one goes to legacy" 0 '"upstream":"legacy"' "" -- curl -s "http://127.0.0.1:$SLOW_LISTEN/after"
kill "$(cat "$TMP/new.pid")"
wait "$(cat "$TMP/new.pid")" 2>/dev/null
rm -f "$TMP/new.pid"
check "a POST new refused (it never reached new) goes to legacy, whatever its method" 0 '"upstream":"legacy","method":"POST"' "" -- \
    curl -s -H 'Content-Type: application/json' --data-binary '{"x":1}' "$P/post"
many 200 /hook >"$TMP/dead"
check "new killed: 200 GETs, all answered by legacy, none an error" 0 "" "" -- \
    sh -c "[ \$(grep -c ' legacy 200$' '$TMP/dead') -eq 200 ]"

# ---- the circuit breaker ----------------------------------------------------------------------------
# wait_for JQ PATH: GET PATH (admin) until the test holds, up to 5 s
wait_for() { poll "$1" "$2" "$ADMIN"; }
check "the failures opened the breaker, told to the engine within a second" 0 "" "" -- \
    wait_for '.breaker != "closed" and .healthy == false and .upstreams.new.errors > 0 and .upstreams.new.error_rate > 0.001' /v1/routes/webhooks/health
check "... audited as route.breaker open" 0 "" "" -- \
    wait_for '[.events[] | select(.action == "route.breaker") | .after.breaker] | index("open") != null' "/v1/audit?resource=route:webhooks"
check "the log says so" 0 "" "" -- grep -q 'event=route_breaker route=webhooks state=open' "$TMP/log"
many 100 /hook >"$TMP/broken"
check "while it is open: everything to legacy, no error" 0 "" "" -- sh -c "[ \$(grep -c ' legacy 200$' '$TMP/broken') -eq 100 ]"
upstream new 0 "" "$NEW"
sleep 0.4 # past open_ms: the next requests probe
many 50 /hook >"$TMP/recovered"
check "new back: half-open probes close it, and new serves again" 0 "" "" -- \
    sh -c "grep -q ' new 200$' '$TMP/recovered'"
grep route_breaker "$TMP/log" | sed 's/^/# /'
req GET "/v1/routes/webhooks/requests?errors_only=true&limit=3" "$ADMIN" >/dev/null
jq -c '.requests[]' "$TMP/body" | sed 's/^/# the last failures: /'
check "... the breaker closed, audited" 0 "" "" -- \
    wait_for '[.events[] | select(.action == "route.breaker")][0].after.breaker == "closed"' "/v1/audit?resource=route:webhooks"
expect "health: closed again" 200 '.breaker == "closed" and .gates.max_error_rate == 0.001' -- GET /v1/routes/webhooks/health "$ADMIN"

# ---- the CLI, and the emergency rollback ---------------------------------------------------------------
export SWITCHYARD_URL="$URL" SWITCHYARD_TOKEN="$ADMIN"
check "route list" 0 "^webhooks +enabled +100.00 % to new +127.0.0.1:$LISTEN -> legacy 127.0.0.1:$LEGACY, new 127.0.0.1:$NEW" "" -- "$SY" route list
check "route percentage" 0 "75.00 % to new" "" -- "$SY" route percentage webhooks 75 --reason "cli step"
check "route health" 0 "^webhooks: (healthy|UNHEALTHY), breaker closed" "" -- "$SY" route health webhooks
check "route disable" 0 "webhooks +disabled" "" -- "$SY" route disable webhooks --reason "cli"
check "route enable" 0 "webhooks +enabled" "" -- "$SY" route enable webhooks --reason "cli"
check "route percentage without one: usage" 2 "" "usage: switchyard route percentage" -- "$SY" route percentage webhooks
check "route enable without a reason: usage" 2 "" "reason" -- "$SY" route enable webhooks
check "route frobnicate: usage" 2 "" "usage: switchyard route list" -- "$SY" route frobnicate
"$SY" route percentage webhooks 100 --reason "all in" >/dev/null
check "at 100 % before the rollback" 0 '"upstream":"new"' "" -- curl -s "$P/before"
T0=$(date +%s%N)
check "route rollback --all" 0 "webhooks: 0 % to new" "" -- "$SY" route rollback --all --reason "pager"
check "... and the next request goes to legacy" 0 '"upstream":"legacy"' "" -- curl -s "$P/after"
MS=$((($(date +%s%N) - T0) / 1000000))
echo "# emergency rollback of every route, until a request is served by legacy: $MS ms"
check "the emergency rollback is done and served in under one second" 0 "" "" -- test "$MS" -lt 1000
unset SWITCHYARD_URL SWITCHYARD_TOKEN

# ---- counters -------------------------------------------------------------------------------------------
expect "the route's counters per domain and upstream" 200 \
    '.route == "webhooks" and .proxy == true and .requests > 11000 and ([.by[] | select(.domain == "mobility")] | all(.upstream == "legacy")) and ([.by[] | select(.upstream == "new" and .domain == null)][0] | .requests > 900 and .p50_ms > 0 and .p99_ms >= .p50_ms and .share > 0) and ([.by[] | select(.upstream == "error")] | length) >= 1' -- \
    GET /v1/routes/webhooks/stats "$ADMIN"
expect "... with their answers by status class" 200 \
    '([.by[] | select(.upstream == "new") | .status["2xx"] // 0] | add) > 900 and ([.by[] | select(.upstream == "error") | .status["5xx"] // 0] | add) >= 1 and ([.by[] | .status["4xx"] // 0] | add) == 0' -- \
    GET /v1/routes/webhooks/stats "$ADMIN"
expect "a missing route's counters: 404" 404 '' -- GET /v1/routes/nope/stats "$ADMIN"
check "the counters per minute are stored: the last hour's" 0 "" "" -- \
    wait_for '.window == "1h" and .requests > 11000 and ([.by[] | select(.upstream == "new")] | length) > 0 and ([.by[] | .status["2xx"] // 0] | add) > 11000' "/v1/routes/webhooks/stats?window=1h"
expect "a bad window: 400" 400 '.error.field == "window"' -- GET "/v1/routes/webhooks/stats?window=soon" "$ADMIN"
expect "an unknown parameter: 400" 400 '.error.field == "since"' -- GET "/v1/routes/webhooks/stats?since=1" "$ADMIN"
stop_server
check "the server stops cleanly with the proxy running" 0 "" "" -- test "$STOP_STATUS" -eq 0
start_server "$SY" --quiet --proxy-workers 2
expect "after a restart the window keeps them; since the start, nothing yet" 200 '.requests > 11000' -- \
    GET "/v1/routes/webhooks/stats?window=24h" "$ADMIN"
expect "... since the start: nothing yet" 200 '.requests == 0 and .window == "since_start"' -- \
    GET /v1/routes/webhooks/stats "$ADMIN"

tap_done
