#!/bin/sh
# routes_listen.sh - a route's listen address and the server's own (issue 23, an outside
# tester's finding): a route on --listen's or --metrics-listen's address, as written or as
# it resolves (localhost, 0.0.0.0, ::), is refused 409 with field `listen` and nothing
# changes; a route whose address another process holds is accepted, logged
# (event=route_listen_error with the route, the address and why), and unhealthy in GET
# /health/aggregate with the reason; once the address is freed the proxy takes it within
# its retry (a second), serves the route and the route is healthy again.
#
#   routes_listen.sh SWITCHYARD
set -u
SY=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
trap 'stop_server; stop_upstreams; tap_exit' EXIT

two_workspaces "$SY"
start_server "$SY" --workers 2 --metrics-listen 127.0.0.1:0
MPORT=$(sed -n 's/.*event=metrics_listening.* port=\([0-9]*\).*/\1/p' "$TMP/log" | head -1)
upstream legacy
upstream new
LP=$(cat "$TMP/legacy.port") NP=$(cat "$TMP/new.port")
route() { # NAME LISTEN
    echo "{\"name\":\"$1\",\"listen\":\"$2\",\"upstreams\":{\"legacy\":\"127.0.0.1:$LP\",\"new\":\"127.0.0.1:$NP\"},\"percentage\":10}"
}
OWN="$ERR and .error.field == \"listen\""
check "the metrics listener's port is known" 0 "" "" -- test -n "$MPORT"
expect "a route on the server's own --listen: 409, field listen" 409 \
    "$OWN and (.error.message | test(\"127.0.0.1:$PORT is this server's own --listen\"))" -- \
    POST /v1/routes "$ADMIN" "$(route api 127.0.0.1:$PORT)"
expect "... written as localhost" 409 "$OWN" -- POST /v1/routes "$ADMIN" "$(route api localhost:$PORT)"
expect "... as 0.0.0.0 (a wildcard over it)" 409 "$OWN" -- POST /v1/routes "$ADMIN" "$(route api 0.0.0.0:$PORT)"
expect "... as [::] (dual-stack)" 409 "$OWN" -- POST /v1/routes "$ADMIN" "$(route api "[::]:$PORT")"
expect "a route on --metrics-listen's address: 409 naming it" 409 \
    "$OWN and (.error.message | contains(\"--metrics-listen\"))" -- \
    POST /v1/routes "$ADMIN" "$(route api 127.0.0.1:$MPORT)"
expect "... by another workspace too" 409 "$OWN" -- POST /v1/routes "$OTHER" "$(route api 127.0.0.1:$MPORT)"
expect "nothing was made" 200 '.routes == []' -- GET /v1/routes "$ADMIN"
expect "nothing audited" 200 ".events == []" -- GET "/v1/audit?resource=route:" "$ADMIN"
FREE=$(free_port)
expect "a route on a free port is made" 201 '.name == "ok"' -- POST /v1/routes "$ADMIN" "$(route ok 127.0.0.1:$FREE)"
expect "... and may not be moved onto --listen (PUT): 409" 409 "$OWN" -- \
    PUT /v1/routes/ok "$ADMIN" "$(route ok 127.0.0.1:$PORT)"
expect "... keeping its address" 200 ".listen == \"127.0.0.1:$FREE\"" -- GET /v1/routes/ok "$ADMIN"

# ---- an address another process holds ------------------------------------------------------
upstream holder # node, without SO_REUSEPORT: the proxy's bind fails
HP=$(cat "$TMP/holder.port")
expect "a route on a port another process holds is accepted" 201 '.name == "held"' -- \
    POST /v1/routes "$ADMIN" "$(route held 127.0.0.1:$HP)"
comp='[.components[] | select(.name == "route:held")][0]'
if poll "$comp | .state == \"unhealthy\"" /health/aggregate "$VIEWER"; then ok "health: the route unhealthy"; else
    cp "$TMP/body" "$TMP/out"; not_ok "health: the route unhealthy"; fi
expect "... with the reason, overall unhealthy (503)" 503 \
    ".overall == \"unhealthy\" and ($comp | .reason == \"cannot listen on 127.0.0.1:$HP: Address already in use\")" -- \
    GET /health/aggregate "$VIEWER"
expect "... the route on a free port healthy all the same" 503 \
    '[.components[] | select(.name == "route:ok")][0].state == "healthy"' -- GET /health/aggregate "$ADMIN"
check "logged: event=route_listen_error with the route, the address and why" 0 "" "" -- \
    grep -q "event=route_listen_error.*route=held.*listen=127.0.0.1:$HP.*Address already in use" "$TMP/log"
check "... once, not every retry" 0 "^1$" "" -- sh -c "sleep 2; grep -c 'event=route_listen_error' '$TMP/log'"
check "the holder answers on it, not the proxy" 0 '"upstream":"holder"' "" -- curl -s "http://127.0.0.1:$HP/x"
kill "$(cat "$TMP/holder.pid")"
wait "$(cat "$TMP/holder.pid")" 2>/dev/null
rm -f "$TMP/holder.pid"
if poll "$comp | .state == \"healthy\"" /health/aggregate "$VIEWER" 50; then ok "once freed: healthy within the retry"; else
    cp "$TMP/body" "$TMP/out"; not_ok "once freed: healthy within the retry"; fi
check "... the route served by the proxy" 0 '"upstream":"(legacy|new)"' "" -- curl -s "http://127.0.0.1:$HP/x"
check "... logged: event=route_listening" 0 "" "" -- grep -q "event=route_listening.*route=held.*listen=127.0.0.1:$HP" "$TMP/log"
stop_server
stop_upstreams
tap_done
