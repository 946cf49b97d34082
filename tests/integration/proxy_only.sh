#!/bin/sh
# proxy_only.sh - `switchyard proxy --server URL`: a proxy-only process following a server's
# routes (the server itself runs no proxy): it serves a route as configured, takes a
# percentage change and the kill switch within its poll, streams bodies, reports its
# counters and its breaker's transitions to the server (stored, audited), refuses to start
# without a readable configuration, and stops cleanly on SIGTERM.
#
#   proxy_only.sh SWITCHYARD
set -u
SY=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"

"$SY" workspace create default --db "$DB" >/dev/null
ADMIN=$("$SY" token create --db "$DB" --role admin --name alice)
VIEWER=$("$SY" token create --db "$DB" --role viewer --name watcher)
EDITOR=$("$SY" token create --db "$DB" --role editor --name proxy)
PROXY="" TRAFFIC=""
cleanup() {
    [ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null
    [ -n "$TRAFFIC" ] && kill "$TRAFFIC" 2>/dev/null
    stop_server
    stop_upstreams
    tap_exit
}
trap cleanup EXIT
upstream legacy
upstream new
LISTEN=$(free_port)
P=http://127.0.0.1:$LISTEN
start_server "$SY" --quiet --proxy-workers 0
expect "a route at 0 %" 201 '' -- POST /v1/routes "$ADMIN" \
    "{\"name\":\"r\",\"listen\":\"127.0.0.1:$LISTEN\",\"upstreams\":{\"legacy\":\"127.0.0.1:$(cat "$TMP/legacy.port")\",\"new\":\"127.0.0.1:$(cat "$TMP/new.port")\"}}"
check "the server serves no proxy itself" 7 "" "" -- curl -s -o /dev/null "$P/"

check "a token that cannot read the routes: exit 1" 1 "" "" -- "$SY" proxy --server "$URL" --token nope --poll-ms 100
LISTEN2=$(free_port)
expect "a route whose rules read bodies" 201 '' -- POST /v1/routes "$ADMIN" \
    "{\"name\":\"rules\",\"listen\":\"127.0.0.1:$LISTEN2\",\"upstreams\":{\"legacy\":\"127.0.0.1:$(cat "$TMP/legacy.port")\",\"new\":\"127.0.0.1:$(cat "$TMP/new.port")\"},\"domains\":[{\"name\":\"d\",\"rules\":[{\"body_field\":\"x\"}]}]}"
"$SY" proxy --server "$URL" --token "$EDITOR" --poll-ms 200 --report-s 1 --workers 1 --max-body 1048576 \
    2>"$TMP/proxy.log" &
PROXY=$!
# until ROUTE: a request through the proxy-only process reaches ROUTE (up to 5 s)
until_route() {
    i=0
    while [ $i -lt 50 ]; do
        [ "$(curl -s "$P/x" | jq -r .upstream 2>/dev/null)" = "$1" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
check "the proxy-only process serves the route: legacy at 0 %" 0 "" "" -- until_route legacy
expect "100 % on the server" 200 '' -- POST /v1/routes/r/percentage "$ADMIN" '{"percentage":100,"reason":"go"}'
T0=$(date +%s%N)
check "... followed within its poll: new" 0 "" "" -- until_route new
echo "# the proxy-only process followed the change in $((($(date +%s%N) - T0) / 1000000)) ms (polling every 200 ms)"
head -c 3145728 /dev/zero | tr '\0' 'a' >"$TMP/big"
check "a 3 MiB body, three times --max-body, streams through a route that need not read it" 0 "" "" -- \
    sh -c "curl -s --data-binary @'$TMP/big' '$P/upload' | jq -e '.body_len == 3145728 and .method == \"POST\"' >/dev/null"
check "... a route whose rules read bodies refuses it: 413" 0 "^413$" "" -- \
    curl -s -o /dev/null -w '%{http_code}' --data-binary @"$TMP/big" "http://127.0.0.1:$LISTEN2/upload"
check "... and takes a body within the bound" 0 '"body_len":2' "" -- curl -s --data-binary '{}' "http://127.0.0.1:$LISTEN2/small"
check "a 3 MiB chunked body streams through too, in its chunks" 0 "" "" -- \
    sh -c "curl -s -H 'Transfer-Encoding: chunked' --data-binary @'$TMP/big' '$P/upload' | jq -e '.body_len == 3145728 and .headers[\"transfer-encoding\"] == \"chunked\"' >/dev/null"
check "... a route whose rules read bodies reads it whole, within the bound: 413" 0 "^413$" "" -- \
    curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/big" "http://127.0.0.1:$LISTEN2/upload"
# statuses REQUEST: the statuses of what the proxy answers to these bytes, sent at once,
# until it closes the connection
statuses() {
    node -e 'const s = require("net").connect(process.argv[1], "127.0.0.1",
            () => s.write(process.argv[2].replace(/\\r/g, "\r").replace(/\\n/g, "\n")));
        let out = ""; s.on("data", (d) => out += d); setTimeout(() => s.destroy(), 3000);
        s.on("close", () => console.log((out.match(/^HTTP\/1\.1 \d+/gm) || []).map((l) => l.slice(9)).join(" ")))' \
        "$LISTEN" "$1"
}
check "a streamed chunked body ends at its last chunk: the request pipelined after it is answered" 0 "^200 200$" "" -- \
    statuses 'POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\nT: 1\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'
check "a malformed chunk size: 400" 0 "^400$" "" -- \
    statuses 'POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n'
expect "the kill switch on the server" 200 '' -- POST /v1/go-live/kill-switch "$ADMIN" '{"engaged":true,"reason":"drill"}'
check "... followed: legacy" 0 "" "" -- until_route legacy
check "it logged what it serves" 0 "" "" -- grep -q "serving 2 route" "$TMP/proxy.log"
check "its counters reach the server, stored per minute" 0 "" "" -- \
    poll '.requests >= 3 and ([.by[] | select(.upstream == "new")] | length) > 0 and ([.by[] | select(.upstream == "legacy")] | length) > 0 and ([.by[] | .status["2xx"] // 0] | add) >= 3' \
    "/v1/routes/r/stats?window=1h" "$ADMIN"
expect "the kill switch off" 200 '' -- POST /v1/go-live/kill-switch "$ADMIN" '{"engaged":false,"reason":"drill over"}'
check "... followed: new" 0 "" "" -- until_route new
LISTEN3=$(free_port)
expect "a route with a rollout plan, at 0 %" 201 '.percentage == 0' -- POST /v1/routes "$ADMIN" \
    "{\"name\":\"planned\",\"listen\":\"127.0.0.1:$LISTEN3\",\"upstreams\":{\"legacy\":\"127.0.0.1:$(cat "$TMP/legacy.port")\",\"new\":\"127.0.0.1:$(cat "$TMP/new.port")\"},\"plan\":{\"steps\":[10,50],\"hold_s\":1,\"min_requests\":5}}"
printf 'url = "http://127.0.0.1:%s/t"\noutput = /dev/null\n' "$LISTEN3" >"$TMP/planned.cfg"
i=1
while [ $i -lt 20 ]; do printf 'next\nurl = "http://127.0.0.1:%s/t"\noutput = /dev/null\n' "$LISTEN3"; i=$((i + 1)); done >>"$TMP/planned.cfg"
(end=$(($(date +%s) + 30)); while [ "$(date +%s)" -lt $end ] && [ ! -f "$TMP/planned.stop" ]; do curl -s -K "$TMP/planned.cfg"; sleep 0.05; done) &
TRAFFIC=$!
T0=$(date +%s)
check "the server's plan steps on what the proxy-only process reports: 0 -> 10 -> 50 %" 0 "" "" -- \
    poll '.percentage == 50' /v1/routes/planned "$ADMIN" 250
echo "# the plan reached 50 % in $(($(date +%s) - T0)) s (two steps held 1 s each, counters reported every second)"
touch "$TMP/planned.stop"
wait "$TRAFFIC"
TRAFFIC=""
expect "... each advance audited" 200 '[.events[] | select(.action == "route.plan.advance") | .after.percentage] == [50,10]' -- \
    GET "/v1/audit?resource=route:planned" "$ADMIN"
expect "the route's health counts the reported requests" 200 '.upstreams.new.requests > 0 and .upstreams.legacy.requests > 0 and .upstreams.new.p95_ms > 0' -- \
    GET /v1/routes/planned/health "$ADMIN"
kill "$(cat "$TMP/new.pid")"
wait "$(cat "$TMP/new.pid")" 2>/dev/null
rm -f "$TMP/new.pid"
check "new killed: 20 GETs answered by legacy, none an error" 0 "" "" -- \
    sh -c "for i in \$(seq 20); do curl -s '$P/dead' | jq -r .upstream; done | sort | uniq -c | grep -qx ' *20 legacy'"
check "the breaker opened in the proxy-only process: reported, audited on the server" 0 "" "" -- \
    poll '[.events[] | select(.action == "route.breaker") | .after.breaker] | index("open") != null' "/v1/audit?resource=route:r" "$ADMIN"
expect "... and the route's health says so" 200 '.breaker == "open"' -- GET /v1/routes/r/health "$ADMIN"
check "it logged the transition" 0 "" "" -- grep -q "route r: breaker open" "$TMP/proxy.log"
check "... and each fallback to legacy, with new's error_message" 0 "" "" -- \
    grep -Eq 'event=route_request route=r .*method=GET path=/dead .*upstream=legacy fallback=true status=200 .*error_message="new 127.0.0.1:[0-9]+: cannot connect \(Connection refused\)"' "$TMP/proxy.log"
req GET "/v1/routes/r/stats?window=1h" "$ADMIN" >/dev/null
BEFORE=$(jq .requests "$TMP/body")
stop_server
for i in 1 2 3 4 5 6 7 8 9 10; do curl -s -o /dev/null "$P/while-down"; done
sleep 1.5 # a report fails meanwhile
start_server "$SY" --quiet --proxy-workers 0 --listen "127.0.0.1:$PORT"
check "what it counted while the server was down reaches it once it is back" 0 "" "" -- \
    poll ".requests >= $BEFORE + 10" "/v1/routes/r/stats?window=1h" "$ADMIN"

kill -TERM "$PROXY"
wait "$PROXY"
STATUS=$?
PROXY=""
check "SIGTERM stops it cleanly" 0 "" "" -- test "$STATUS" -eq 0
check "bad options: usage" 2 "" "poll-ms" -- "$SY" proxy --server "$URL" --token "$VIEWER" --poll-ms 1

tap_done
