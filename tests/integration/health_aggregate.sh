#!/bin/sh
# health_aggregate.sh - GET /health/aggregate on a real server (issue 23): every component
# with its state and reason, the worst of them as `overall` (503 when unhealthy), for the
# caller's workspace; the kill switch, the auto-promotion timer and a route's breaker each
# moving it, and back.
#
#   health_aggregate.sh SWITCHYARD
set -u
SY=$1
. "$(dirname "$0")/tap.sh"

two_workspaces "$SY"
start_server "$SY" --quiet --proxy-workers 0

comp() { echo "[.components[] | select(.name == \"$1\")][0]"; }
expect "a fresh server: healthy, every part named" 200 \
    ".overall == \"healthy\" and ([.components[].name] | index(\"store\") != null and index(\"ingest\") != null and index(\"notifier\") != null and index(\"kill_switch\") != null and index(\"auto_promotion\") != null) and all(.components[]; .state == \"healthy\" and (.reason | length) > 0)" -- \
    GET /health/aggregate "$VIEWER"
expect "an sdk token may not read it: 403" 403 "$ERR" -- GET /health/aggregate "$SDK"
expect "no token: 401" 401 "$ERR" -- GET /health/aggregate ""
expect "an unknown parameter: 400" 400 '.error.code == "unknown_field" and .error.field == "x"' -- GET "/health/aggregate?x=1" "$VIEWER"

expect "the kill switch engaged" 200 '' -- POST /v1/go-live/kill-switch "$ADMIN" '{"engaged":true,"reason":"drill"}'
expect "... degrades it, saying who and why" 200 \
    ".overall == \"degraded\" and ($(comp kill_switch) | .state == \"degraded\" and (.reason | test(\"alice.*drill\")))" -- \
    GET /health/aggregate "$VIEWER"
expect "... another workspace's stays healthy" 200 '.overall == "healthy"' -- GET /health/aggregate "$OTHER"
expect "disengaged" 200 '' -- POST /v1/go-live/kill-switch "$ADMIN" '{"engaged":false,"reason":"done"}'
expect "... healthy again" 200 '.overall == "healthy"' -- GET /health/aggregate "$VIEWER"

ROUTE='{"name":"hooks","listen":"127.0.0.1:9000","upstreams":{"legacy":"127.0.0.1:9101","new":"127.0.0.1:9102"},"percentage":10}'
expect "a route" 201 '' -- POST /v1/routes "$ADMIN" "$ROUTE"
expect "... healthy with its split" 200 "$(comp route:hooks) | .state == \"healthy\" and (.reason | test(\"10.00 %\"))" -- \
    GET /health/aggregate "$VIEWER"
expect "its breaker opens (a proxy's report)" 200 '.breaker == "open"' -- POST /v1/routes/hooks/report "$ADMIN" '{"breaker":"open"}'
expect "... unhealthy: 503, the route named" 503 \
    ".overall == \"unhealthy\" and ($(comp route:hooks) | .state == \"unhealthy\" and (.reason | test(\"breaker is open\")))" -- \
    GET /health/aggregate "$VIEWER"
expect "half open" 200 '' -- POST /v1/routes/hooks/report "$ADMIN" '{"breaker":"half_open"}'
expect "... degraded" 200 ".overall == \"degraded\" and ($(comp route:hooks) | .state == \"degraded\")" -- GET /health/aggregate "$VIEWER"
expect "closed" 200 '' -- POST /v1/routes/hooks/report "$ADMIN" '{"breaker":"closed"}'
expect "... healthy" 200 '.overall == "healthy"' -- GET /health/aggregate "$VIEWER"
stop_server

start_server "$SY" --quiet --proxy-workers 0 --auto-promotion-interval 0
expect "the auto-promotion timer off: degraded, said so" 200 \
    ".overall == \"degraded\" and ($(comp auto_promotion) | .state == \"degraded\" and (.reason | test(\"off\")))" -- \
    GET /health/aggregate "$VIEWER"
stop_server
start_server "$SY" --quiet --proxy-workers 0 --auto-promotion-dry-run
expect "in dry run: degraded" 200 "$(comp auto_promotion) | .state == \"degraded\" and (.reason | test(\"dry run\"))" -- \
    GET /health/aggregate "$VIEWER"
stop_server
tap_done
