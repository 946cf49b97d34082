#!/bin/sh
# proxy_domains.sh - routes with many domains, through both entry points of the typed
# contract (core/route_spec.h): `serve` (the engine in-process) and `switchyard proxy` (the
# server's API decoded by codec/route_json.h). A route of 300 domains whose last is
# prod_exec: with the kill switch engaged a request of that domain is refused (403) by
# either proxy and one of its neighbours is not; every domain gets its own counter row
# (more rows than a worker once held); a route past SY_ROUTE_MAX_DOMAINS is refused when
# it is defined, naming `domains`.
#
#   proxy_domains.sh SWITCHYARD
set -u
SY=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"

"$SY" workspace create default --db "$DB" >/dev/null
ADMIN=$("$SY" token create --db "$DB" --role admin --name alice)
EDITOR=$("$SY" token create --db "$DB" --role editor --name proxy)
PROXY=""
cleanup() {
    [ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null
    stop_server
    stop_upstreams
    tap_exit
}
trap cleanup EXIT
upstream legacy
upstream new
IN=$(free_port)
OUT=$(free_port)
start_server "$SY" --quiet --proxy-workers 1
# route NAME LISTEN N: a route of N domains d0..d{N-1} (header X-Domain), d{N-1} prod_exec
route() {
    jq -cn --arg name "$1" --arg listen "127.0.0.1:$2" --argjson n "$3" \
        --arg legacy "127.0.0.1:$(cat "$TMP/legacy.port")" --arg new "127.0.0.1:$(cat "$TMP/new.port")" \
        '{name: $name, listen: $listen, upstreams: {legacy: $legacy, new: $new}, percentage: 100,
          domains: [range($n) | {name: "d\(.)", rules: [{header: {name: "X-Domain", value: "d\(.)"}}]}],
          prod_exec_domains: ["d\($n - 1)"]}'
}
expect "a route of 1025 domains is refused when defined, naming domains" 400 \
    '.error.field == "domains"' -- POST /v1/routes "$ADMIN" "$(route big "$IN" 1025)"
expect "a route of 300 domains, the last prod_exec" 201 \
    '(.domains | length) == 300 and .prod_exec_domains == ["d299"]' -- POST /v1/routes "$ADMIN" "$(route many "$IN" 300)"
# upstream_of PORT DOMAIN: the upstream (or the error's code) that answers domain DOMAIN
upstream_of() {
    curl -s -H "X-Domain: $2" "http://127.0.0.1:$1/x" | jq -r '.upstream // .error.code'
}
# until_of PORT DOMAIN WANT: upstream_of turns WANT (up to 20 s: a busy machine, ASan)
until_of() {
    i=0
    while [ $i -lt 200 ]; do
        [ "$(upstream_of "$1" "$2")" = "$3" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
check "serve: d299 goes to new at 100 %" 0 "^new$" "" -- upstream_of "$IN" d299
expect "the kill switch on" 200 '' -- POST /v1/go-live/kill-switch "$ADMIN" '{"engaged":true,"reason":"drill"}'
check "serve: d299 (prod_exec, past index 64) is refused: kill_switch" 0 "" "" -- until_of "$IN" d299 kill_switch
check "serve: d298 (not prod_exec) goes to legacy" 0 "^legacy$" "" -- upstream_of "$IN" d298
check "serve: d64 (not prod_exec) goes to legacy" 0 "^legacy$" "" -- upstream_of "$IN" d64
# one request of each domain, in one curl
i=0
while [ $i -lt 300 ]; do
    [ $i -gt 0 ] && echo next
    printf 'url = "http://127.0.0.1:%s/n"\nheader = "X-Domain: d%s"\noutput = /dev/null\n' "$IN" "$i"
    i=$((i + 1))
done >"$TMP/each.cfg"
curl -s -K "$TMP/each.cfg"
expect "serve: a counter row for each of the 300 domains" 200 \
    '[.by[] | .domain] | unique | length >= 300' -- GET /v1/routes/many/stats "$ADMIN"

# the proxy-only process serves every route of the workspace: serve's own one goes first, so
# that no two processes share its port
expect "serve's route deleted" 200 '' -- DELETE /v1/routes/many "$ADMIN"
expect "the route again, for a proxy-only process" 201 '' -- POST /v1/routes "$ADMIN" \
    "$(route many2 "$OUT" 300)"
"$SY" proxy --server "$URL" --token "$EDITOR" --poll-ms 200 --workers 1 2>"$TMP/proxy.log" &
PROXY=$!
check "proxy: d299 (prod_exec) is refused: kill_switch" 0 "" "" -- until_of "$OUT" d299 kill_switch
check "proxy: d298 goes to legacy" 0 "^legacy$" "" -- upstream_of "$OUT" d298
expect "the kill switch off" 200 '' -- POST /v1/go-live/kill-switch "$ADMIN" '{"engaged":false,"reason":"over"}'
check "proxy: followed, d299 goes to new" 0 "" "" -- until_of "$OUT" d299 new
check "the proxy-only process refused none of the server's routes" 1 "" "" -- grep -q "routes are refused" "$TMP/proxy.log"
kill -TERM "$PROXY"
wait "$PROXY"
PROXY=""

tap_done
