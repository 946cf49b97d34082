#!/bin/sh
# routes_api.sh - the proxy's routes over the API on a real server: the issue's example
# created and answered normalized, percentage and enabled with their reasons, a
# replacement keeping them, every kind of bad definition refused with its field and
# nothing changed, listen addresses unique across workspaces, roles and workspaces, the
# audit trail, a restart, delete.
#
#   routes_api.sh SWITCHYARD
set -u
SY=$1
. "$(dirname "$0")/tap.sh"

ERR='.error.code != null and .error.message != null and .error.field != null'
"$SY" workspace create default --db "$DB" >/dev/null
"$SY" workspace create other --db "$DB" >/dev/null
ADMIN=$("$SY" token create --db "$DB" --role admin --name alice)
EDITOR=$("$SY" token create --db "$DB" --role editor --name ed)
VIEWER=$("$SY" token create --db "$DB" --role viewer --name val)
OTHER=$("$SY" token create --db "$DB" --workspace other --role admin --name mallory)
start_server "$SY" --quiet

EXAMPLE='{"name":"webhooks","listen":"127.0.0.1:9000","upstreams":{"legacy":"127.0.0.1:9101","new":"127.0.0.1:9102"},"percentage":10,"enabled":true,"protected_domains":["mobility"],"domains":[{"name":"jobs","rules":[{"body_keywords":{"field":"message","words":["Job","hiring"]}}]},{"name":"mobility","rules":[{"path_prefix":"/ride"}]}],"sticky":{"header":"X-User-Id"}}'
expect "the issue's example route" 201 \
    '.name == "webhooks" and .listen == "127.0.0.1:9000" and .percentage == 10 and .enabled == true and .upstreams.legacy == {"address":"127.0.0.1:9101","connect_timeout_ms":1000,"read_timeout_ms":30000,"keepalive":32} and .upstreams.new.address == "127.0.0.1:9102" and .protected_domains == ["mobility"] and .routable_domains == [] and .domains[0].rules[0].body_keywords.words == ["job","hiring"] and .sticky == {"header":"X-User-Id"} and .breaker.consecutive_failures == 5 and .health == {"max_error_rate":0.001,"max_p95_ms":2000} and .inspect_body_bytes == 65536 and .retry_non_idempotent == false' -- \
    POST /v1/routes "$ADMIN" "$EXAMPLE"
expect "the same name again: 409" 409 "$ERR and .error.field == \"name\"" -- POST /v1/routes "$ADMIN" "$EXAMPLE"
expect "another workspace may not listen on the same address, and is not told the route's name" 409 \
    "$ERR and .error.field == \"listen\" and (.error.message | contains(\"webhooks\") | not)" -- \
    POST /v1/routes "$OTHER" "$(echo "$EXAMPLE" | jq -c '.name = "mine"')"
expect "... nor sees the route" 200 '.routes == []' -- GET /v1/routes "$OTHER"
expect "... nor gets it" 404 "$ERR" -- GET /v1/routes/webhooks "$OTHER"
expect "a viewer lists it" 200 '[.routes[].name] == ["webhooks"]' -- GET /v1/routes "$VIEWER"
expect "... and gets it" 200 '.name == "webhooks" and .percentage == 10' -- GET /v1/routes/webhooks "$VIEWER"

# ---- percentage and enabled ---------------------------------------------------------------------
expect "an editor moves it to 25.5 %" 200 '.percentage == 25.5' -- \
    POST /v1/routes/webhooks/percentage "$EDITOR" '{"percentage":25.5,"reason":"step 2"}'
expect "a viewer may not" 403 "$ERR" -- POST /v1/routes/webhooks/percentage "$VIEWER" '{"percentage":30,"reason":"x"}'
pct_bad() { # NAME FIELD BODY
    expect "percentage refused: $1" 400 "$ERR and .error.field == \"$2\"" -- POST /v1/routes/webhooks/percentage "$EDITOR" "$3"
}
pct_bad "three decimals" percentage '{"percentage":10.005,"reason":"x"}'
pct_bad "over 100" percentage '{"percentage":100.01,"reason":"x"}'
pct_bad "negative" percentage '{"percentage":-1,"reason":"x"}'
pct_bad "a string" percentage '{"percentage":"50","reason":"x"}'
pct_bad "no reason" reason '{"percentage":50}'
pct_bad "an unknown field" force '{"percentage":50,"reason":"x","force":true}'
expect "an editor disables it" 200 '.enabled == false and .percentage == 25.5' -- \
    POST /v1/routes/webhooks/enabled "$EDITOR" '{"enabled":false,"reason":"incident 42"}'
expect "enabled needs a boolean" 400 "$ERR and .error.field == \"enabled\"" -- \
    POST /v1/routes/webhooks/enabled "$EDITOR" '{"enabled":"no","reason":"x"}'
expect "percentage of a missing route: 404" 404 "$ERR" -- \
    POST /v1/routes/nope/percentage "$EDITOR" '{"percentage":5,"reason":"x"}'
expect "GET on /percentage: 405" 405 "$ERR" -- GET /v1/routes/webhooks/percentage "$VIEWER"
expect "an unknown sub-resource: 404" 404 "$ERR" -- POST /v1/routes/webhooks/speed "$EDITOR" '{}'

# ---- bad definitions ------------------------------------------------------------------------------
req GET /v1/routes "$VIEWER" >/dev/null
cp "$TMP/body" "$TMP/before.json"
bad() { # NAME FIELD JQ-EDIT-OF-THE-EXAMPLE
    expect "refused: $1" 400 "$ERR and .error.field == \"$2\"" -- \
        POST /v1/routes "$ADMIN" "$(echo "$EXAMPLE" | jq -c ".name = \"r2\" | .listen = \"127.0.0.1:9010\" | $3")"
}
bad "no name" name 'del(.name)'
bad "a name with a space" name '.name = "my route"'
bad "the name \".\" (a dot segment: no URL names it)" name '.name = "."'
bad "the name \"..\"" name '.name = ".."'
bad "an unknown field" colour '.colour = "red"'
bad "no listen" listen 'del(.listen)'
bad "a listen without a port" listen '.listen = "127.0.0.1"'
bad "a port out of range" listen '.listen = "127.0.0.1:70000"'
bad "a path_prefix without /" path_prefix '.path_prefix = "hooks"'
bad "no upstreams" upstreams 'del(.upstreams)'
bad "no new upstream" upstreams.new 'del(.upstreams.new)'
bad "a bad upstream address" upstreams.legacy '.upstreams.legacy = "nowhere"'
bad "an upstream object without address" upstreams.new.address '.upstreams.new = {"read_timeout_ms":5}'
bad "a zero connect timeout" upstreams.new.connect_timeout_ms '.upstreams.new = {"address":"127.0.0.1:1","connect_timeout_ms":0}'
bad "a third upstream" upstreams.spare '.upstreams.spare = "127.0.0.1:1"'
bad "a protected domain not declared" protected_domains '.protected_domains = ["cars"]'
bad "a routable domain twice" routable_domains '.routable_domains = ["jobs","jobs"]'
bad "a domain named twice" 'domains[1].name' '.domains[1].name = "jobs"'
bad "a domain without rules" 'domains[0].rules' '.domains[0].rules = []'
bad "a rule of two kinds" 'domains[1].rules[0]' '.domains[1].rules[0].body_field = "x"'
bad "an unknown rule" 'domains[1].rules[0].query' '.domains[1].rules[0] = {"query":"x"}'
bad "keywords without words" 'domains[0].rules[0].body_keywords' '.domains[0].rules[0].body_keywords.words = []'
bad "a keyword with a space" 'domains[0].rules[0].body_keywords' '.domains[0].rules[0].body_keywords.words = ["two words"]'
bad "a header rule without value" 'domains[1].rules[0].header' '.domains[1].rules[0] = {"header":{"name":"X-D"}}'
bad "a bad body field path" 'domains[1].rules[0].body_field' '.domains[1].rules[0] = {"body_field":"a..b"}'
bad "sticky of two kinds" sticky '.sticky = {"header":"a","cookie":"b"}'
bad "sticky on a query" sticky.query '.sticky = {"query":"u"}'
bad "a breaker error rate of 0" breaker.error_rate '.breaker = {"error_rate":0}'
bad "a breaker window under 10 ms" breaker.window_ms '.breaker = {"window_ms":5}'
bad "a health error rate over 1" health.max_error_rate '.health = {"max_error_rate":2}'
bad "a body inspection over 16 MiB" inspect_body_bytes '.inspect_body_bytes = 99999999'
bad "retry_non_idempotent not a boolean" retry_non_idempotent '.retry_non_idempotent = 1'
bad "a percentage with three decimals" percentage '.percentage = 1.234'
expect "an editor may not create routes" 403 "$ERR" -- POST /v1/routes "$EDITOR" "$(echo "$EXAMPLE" | jq -c '.name = "r3" | .listen = "127.0.0.1:9011"')"
expect "nothing changed" 200 "$(jq -c . "$TMP/before.json") == ." -- GET /v1/routes "$VIEWER"

# ---- replace, restart, delete ----------------------------------------------------------------------
expect "replaced: percentage and enabled kept, the definition new" 200 \
    '.percentage == 25.5 and .enabled == false and .upstreams.new.address == "127.0.0.1:9103" and .upstreams.new.read_timeout_ms == 5000 and .domains == [] and .protected_domains == [] and .path_prefix == "/hooks"' -- \
    PUT /v1/routes/webhooks "$ADMIN" '{"listen":"127.0.0.1:9000","path_prefix":"/hooks","upstreams":{"legacy":"127.0.0.1:9101","new":{"address":"127.0.0.1:9103","read_timeout_ms":5000}}}'
expect "a replacement naming another route: 400" 400 "$ERR and .error.field == \"name\"" -- \
    PUT /v1/routes/webhooks "$ADMIN" '{"name":"x","listen":"127.0.0.1:9000","upstreams":{"legacy":"127.0.0.1:1","new":"127.0.0.1:2"}}'
expect "a path prefix alone is not a route: 400" 400 "$ERR and .error.field == \"listen\"" -- \
    POST /v1/routes "$ADMIN" '{"name":"slack","path_prefix":"/slack","upstreams":{"legacy":"127.0.0.1:9201","new":"127.0.0.1:9202"}}'
expect "a second route on the same address, under its own prefix" 201 '.path_prefix == "/slack" and .listen == "127.0.0.1:9000" and .percentage == 0' -- \
    POST /v1/routes "$ADMIN" '{"name":"slack","listen":"127.0.0.1:9000","path_prefix":"/slack","upstreams":{"legacy":"127.0.0.1:9201","new":"127.0.0.1:9202"}}'
expect "... whose prefix another may not take" 409 "$ERR and .error.field == \"path_prefix\"" -- \
    POST /v1/routes "$ADMIN" '{"name":"slack2","listen":"127.0.0.1:9000","path_prefix":"/slack","upstreams":{"legacy":"127.0.0.1:9201","new":"127.0.0.1:9202"}}'
expect "the audit trail: create, percentage, enabled, update with their reasons" 200 \
    '[.events[] | select(.resource == "route:webhooks") | .action] == ["route.update","route.enabled","route.percentage","route.create"] and ([.events[] | select(.action == "route.percentage")][0] | .after.reason == "step 2" and .before.percentage == 10 and .after.percentage == 25.5 and .actor == "ed") and ([.events[] | select(.action == "route.enabled")][0].after.reason == "incident 42")' -- \
    GET "/v1/audit?resource=route:" "$ADMIN"
req GET /v1/routes "$VIEWER" >/dev/null
cp "$TMP/body" "$TMP/before.json"
stop_server
start_server "$SY" --quiet
expect "a restart keeps them, byte for byte" 200 "$(jq -c . "$TMP/before.json") == ." -- GET /v1/routes "$VIEWER"
expect "an editor may not delete" 403 "$ERR" -- DELETE /v1/routes/slack "$EDITOR"
expect "delete" 200 '.deleted == true and .name == "slack"' -- DELETE /v1/routes/slack "$ADMIN"
expect "deleted twice: 404" 404 "$ERR" -- DELETE /v1/routes/slack "$ADMIN"
expect "its prefix is free again" 201 '' -- \
    POST /v1/routes "$ADMIN" '{"name":"slack2","listen":"127.0.0.1:9000","path_prefix":"/slack","upstreams":{"legacy":"127.0.0.1:9201","new":"127.0.0.1:9202"}}'
expect "audited" 200 '[.events[].action] | index("route.delete") != null' -- GET "/v1/audit?resource=route:slack" "$ADMIN"
expect "PATCH: 405" 405 "$ERR" -- PATCH /v1/routes/webhooks "$ADMIN" '{}'
expect "a window of a billion years: 400" 400 "$ERR and .error.field == \"window\"" -- \
    GET "/v1/routes/webhooks/stats?window=9223372036854775807d" "$VIEWER"
expect "a window in stored minutes, with no proxy counting" 200 '.window == "1h" and .requests == 0 and .by == []' -- \
    GET "/v1/routes/webhooks/stats?window=1h" "$VIEWER"

# ---- a proxy-only process's report -------------------------------------------------------------
ROW='{"domain":"","upstream":"new","requests":10,"errors":1,"total_ms":25.5,"hist":{"20":4,"30":6},"status":{"2xx":8,"4xx":1,"5xx":1}}'
expect "a viewer may not report" 403 "$ERR" -- POST /v1/routes/webhooks/report "$VIEWER" "{\"counters\":[$ROW]}"
expect "a report of a missing route: 404" 404 "$ERR" -- POST /v1/routes/nope/report "$EDITOR" "{\"counters\":[$ROW]}"
expect "GET on /report: 405" 405 "$ERR" -- GET /v1/routes/webhooks/report "$EDITOR"
bad_report() { # NAME FIELD BODY
    expect "report refused: $1" 400 "$ERR and .error.field == \"$2\"" -- POST /v1/routes/webhooks/report "$EDITOR" "$3"
}
GOOD_THEN_BAD="[$ROW,$(echo "$ROW" | jq -c '.upstream = "elsewhere"')]"
bad_report "an unknown field" "extra" '{"extra":1}'
bad_report "a breaker state that is none" "breaker" '{"breaker":"ajar"}'
bad_report "counters not an array" "counters" '{"counters":{}}'
bad_report "a good row, then a bad upstream" "counters[1]" "{\"counters\":$GOOD_THEN_BAD}"
bad_report "a domain the route does not have" "counters[0]" "{\"counters\":[$(echo "$ROW" | jq -c '.domain = "mars"')]}"
bad_report "an error row without tried" "counters[0]" "{\"counters\":[$(echo "$ROW" | jq -c '.upstream = "error"')]}"
bad_report "no requests" "counters[0]" "{\"counters\":[$(echo "$ROW" | jq -c '.requests = 0')]}"
bad_report "more errors than requests" "counters[0]" "{\"counters\":[$(echo "$ROW" | jq -c '.errors = 11')]}"
bad_report "a bucket past the last" "counters[0]" "{\"counters\":[$(echo "$ROW" | jq -c '.hist = {"999":1}')]}"
bad_report "a histogram counting more than the requests" "counters[0]" "{\"counters\":[$(echo "$ROW" | jq -c '.hist = {"1":11}')]}"
bad_report "a status class that is none" "counters[0]" "{\"counters\":[$(echo "$ROW" | jq -c '.status = {"6xx":1}')]}"
bad_report "more answers by class than requests" "counters[0]" "{\"counters\":[$(echo "$ROW" | jq -c '.status = {"2xx":11}')]}"
# two of these summed in a window were infinite: its row vanished from stats (no JSON for it)
bad_report "a total time past a day per request" "counters[0]" "{\"counters\":[$(echo "$ROW" | jq -c '.total_ms = 1e308')]}"
bad_report "an unknown row field" "counters[0].p50" "{\"counters\":[$(echo "$ROW" | jq -c '.p50 = 1')]}"
expect "... and none of them stored anything or moved the breaker" 200 '.requests == 0' -- \
    GET "/v1/routes/webhooks/stats?window=1h" "$VIEWER"
expect "a report with counters and the breaker opening" 200 '.counters == 2 and .breaker == "open"' -- \
    POST /v1/routes/webhooks/report "$EDITOR" "{\"breaker\":\"open\",\"counters\":[$ROW,{\"upstream\":\"error\",\"tried\":\"new\",\"requests\":2,\"errors\":2,\"total_ms\":1}]}"
expect "... stored as the server's own proxy's counters are" 200 \
    '.requests == 12 and ([.by[] | select(.domain == null and .upstream == "new")][0] | .requests == 10 and .errors == 1 and .status == {"2xx":8,"4xx":1,"5xx":1}) and ([.by[] | select(.upstream == "error")][0].tried == "new")' -- \
    GET "/v1/routes/webhooks/stats?window=1h" "$VIEWER"
expect "... the breaker's move audited" 200 '[.events[] | select(.action == "route.breaker")][0].after.breaker == "open"' -- \
    GET "/v1/audit?resource=route:webhooks" "$ADMIN"
expect "... and in the route's health, with the reported counts" 200 \
    '.breaker == "open" and .upstreams.new.requests == 12 and .upstreams.new.errors == 3 and .upstreams.new.p95_ms > 0 and .upstreams.legacy.requests == 0' -- \
    GET /v1/routes/webhooks/health "$VIEWER"
expect "a replacement with the route as GET shows it" 200 '' -- PUT /v1/routes/webhooks "$ADMIN" "$(curl -s -H "Authorization: Bearer $ADMIN" "$URL/v1/routes/webhooks" | jq -c 'del(.name, .created_ms, .updated_ms)')"
expect "... keeps what the data plane told of it" 200 '.breaker == "open" and .upstreams.new.requests == 12' -- \
    GET /v1/routes/webhooks/health "$VIEWER"
expect "closed again" 200 '.counters == 0 and .breaker == "closed"' -- \
    POST /v1/routes/webhooks/report "$EDITOR" '{"breaker":"closed"}'

tap_done
