#!/bin/sh
# api_rules.sh - one rule for every endpoint, proved by walking the router's own table
# (GET /v1) on a real server: for each endpoint, an unknown query parameter is 400
# unknown_field naming it, a malformed body 400 invalid_json, an unknown body field 400
# unknown_field naming it (a flag document alone warns instead: flagd's format), a method
# the path does not take 405 with Allow listing exactly the table's methods for it; and
# none of these refusals changes anything (the audit trail and every resource read back
# the same). The fixtures give every "{name}" in a path something that exists.
#
#   api_rules.sh SWITCHYARD
set -u
SY=$1
. "$(dirname "$0")/tap.sh"

ERR='.error.code != null and .error.message != null and .error.field != null'
"$SY" workspace create default --db "$DB" >/dev/null
ADMIN=$("$SY" token create --db "$DB" --role admin --name alice)
CRON=0123456789abcdef-cron-secret
start_server "$SY" --quiet --auto-promotion-secret "$CRON"

# ---- fixtures: something behind every "{name}" -------------------------------------------------
req PUT /v1/flags/f1 "$ADMIN" '{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off"}' >/dev/null
req POST /v1/experiments "$ADMIN" '{"key":"e1","variants":[{"key":"control","weight":50,"control":true},{"key":"treatment","weight":50}],"metric":"conversion"}' >/dev/null
req POST /v1/experiments/e1/start "$ADMIN" >/dev/null
# the server's proxy listens where the route says: a free port, not one another test
# counts on nothing listening at
LISTEN=127.0.0.1:$(free_port)
req POST /v1/routes "$ADMIN" "{\"name\":\"r1\",\"listen\":\"$LISTEN\",\"upstreams\":{\"legacy\":\"127.0.0.1:2\",\"new\":\"127.0.0.1:3\"}}" >/dev/null
req POST /v1/notifications/channels "$ADMIN" '{"type":"webhook","url":"http://127.0.0.1:1/x","secret":"0123456789abcdef"}' >/dev/null
CHANNEL=$(jq -r .id "$TMP/body")
req POST /v1/tokens "$ADMIN" '{"role":"viewer","name":"v1"}' >/dev/null
TOKEN_ID=$(jq -r .id "$TMP/body")
req PUT /v1/risk/policies/d1 "$ADMIN" '{"reason":"fixture"}' >/dev/null
req POST /v1/regression/policies "$ADMIN" '{"domain":"d1","metric":"m1","changed_by":"t","reason":"fixture"}' >/dev/null
STREAM=$(curl -s -o /dev/null -D - -X POST -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    --data-binary '{"context":{}}' "$URL/ofrep/v1/evaluate/flags" | tr -d '\r' |
    sed -n 's#^[Ll]ink: *<[^>]*/ofrep/v1/events/\([^>]*\)>.*#\1#p' | head -1)
[ -n "$STREAM" ] || STREAM=nostream

expect "GET /v1 lists the router's endpoints" 200 \
    '(.endpoints | length) > 50 and all(.endpoints[]; .method != null and .path != null and .body != null)' -- \
    GET /v1 "$ADMIN"
cp "$TMP/body" "$TMP/index.json"
total=$(jq '.endpoints | length' "$TMP/index.json")

# A snapshot of everything the refusals below must leave alone.
snapshot() {
    for p in /v1/flagset /v1/experiments /v1/experiments/e1/allocation /v1/routes \
        /v1/notifications/channels /v1/tokens /v1/risk/policies /v1/regression/policies \
        /v1/guardrails /v1/go-live/state "/v1/audit?limit=1000"; do
        req GET "$p" "$ADMIN" >/dev/null
        printf '%s ' "$p"
        jq -cS 'del(.. | .last_checked_at?, .next_allowed_ms? // empty)' "$TMP/body"
    done
}
snapshot >"$TMP/before"

concrete() { # a table path with every "{name}" given its fixture
    echo "$1" | sed -e "s#{key}#$2#" -e 's#{name}#r1#' -e "s#{id}#$3#" -e 's#{domain}#d1#' \
        -e "s#{stream}#$STREAM#"
}

i=0
bad_params=0 bad_json=0 bad_field=0 bad_method=0 skipped_bodies=0
while [ "$i" -lt "$total" ]; do
    m=$(jq -r ".endpoints[$i].method" "$TMP/index.json")
    tpath=$(jq -r ".endpoints[$i].path" "$TMP/index.json")
    body=$(jq -r ".endpoints[$i].body" "$TMP/index.json")
    auth=$(jq -r ".endpoints[$i].auth" "$TMP/index.json")
    i=$((i + 1))
    key=e1
    case "$tpath" in /v1/flags/*) key=f1 ;; /ofrep/*) key=f1 ;; esac
    id=$CHANNEL
    case "$tpath" in /v1/tokens/*) id=$TOKEN_ID ;; esac
    path=$(concrete "$tpath" "$key" "$id")
    # An unknown query parameter, whatever else the request says.
    code=$(req "$m" "$path?zz_unknown=1" "$ADMIN")
    if [ "$code" = 400 ] && [ "$(jq -r '.error.code == "unknown_field" and .error.field == "zz_unknown"' "$TMP/body")" = true ]; then
        :
    elif [ "$code" = 400 ] && case "$tpath" in /ofrep/v1/evaluate/*) true ;; *) false ;; esac; then
        : # OFREP answers in its own error shape (errorCode), with the same status
    else
        bad_params=$((bad_params + 1))
        echo "# $m $path?zz_unknown=1: $code $(head -c 300 "$TMP/body")"
    fi
    # An endpoint open to anyone ignores a body (one is never waited for from anyone): its
    # unknown query parameter and its methods are all there is to check.
    if [ "$auth" = none ]; then
        skipped_bodies=$((skipped_bodies + 1))
    else
    # A malformed body.
    code=$(req "$m" "$path" "$ADMIN" '{"a":')
    if [ "$code" = 400 ] && { [ "$(jq -r '.error.code == "invalid_json"' "$TMP/body" 2>/dev/null)" = true ] ||
        [ "$(jq -r '.errorCode == "PARSE_ERROR" or .errorCode == "INVALID_CONTEXT"' "$TMP/body" 2>/dev/null)" = true ]; }; then
        :
    else
        bad_json=$((bad_json + 1))
        echo "# $m $path with a malformed body: $code $(head -c 300 "$TMP/body")"
    fi
    # An unknown field in the body.
    code=$(req "$m" "$path" "$ADMIN" '{"zz_unknown":1}')
    if [ "$code" = 400 ] && [ "$(jq -r '.error.code == "unknown_field" and (.error.field | test("zz_unknown"))' "$TMP/body" 2>/dev/null)" = true ]; then
        :
    elif [ "$code" = 400 ] && [ "$(jq -r '(.errorCode // "") != "" and (.errorDetails | test("zz_unknown"))' "$TMP/body" 2>/dev/null)" = true ]; then
        : # OFREP's shape
    elif [ "$tpath" = "/v1/flags/{key}" ] && [ "$m" = PUT ] && [ "$code" = 400 ]; then
        : # a flag document: flagd's format (its unknown members warn; this one lacks variants)
    else
        bad_field=$((bad_field + 1))
        echo "# $m $path with an unknown field: $code $(head -c 300 "$TMP/body")"
    fi
    fi
    # A method the path does not take: 405 with exactly the table's methods in Allow.
    want=$(jq -r --arg p "$tpath" '[.endpoints[] | select(.path == $p) | .method | if . == "GET" then "GET, HEAD" else . end] | join(", ")' "$TMP/index.json")
    case ", $want," in *", PATCH,"*) continue ;; esac
    allow=$(curl -s -o "$TMP/body" -D - -X PATCH -H "Authorization: Bearer $ADMIN" "$URL$path" |
        tr -d '\r' | sed -n 's/^[Aa]llow: //p')
    if [ "$allow" != "$want" ] || [ "$(jq -r '.error.code == "method_not_allowed"' "$TMP/body")" != true ]; then
        bad_method=$((bad_method + 1))
        echo "# PATCH $path: Allow \"$allow\", want \"$want\"; $(head -c 200 "$TMP/body")"
    fi
done
[ "$bad_params" = 0 ] && ok "an unknown query parameter is 400 unknown_field on all $total endpoints" ||
    { not_ok "unknown query parameters: $bad_params of $total endpoints wrong"; }
[ "$skipped_bodies" = 3 ] && ok "three endpoints are open to anyone (health, readiness, the OFREP stream) and ignore bodies" ||
    { not_ok "$skipped_bodies endpoints open to anyone, not 3"; }
[ "$bad_json" = 0 ] && ok "a malformed body is 400 invalid_json on all $((total - 3)) endpoints that take a token" ||
    { not_ok "malformed bodies: $bad_json of $total endpoints wrong"; }
[ "$bad_field" = 0 ] && ok "an unknown body field is 400 unknown_field on all $((total - 3)) endpoints that take a token" ||
    { not_ok "unknown body fields: $bad_field of $total endpoints wrong"; }
[ "$bad_method" = 0 ] && ok "a method a path does not take is 405 with the table's Allow on every path" ||
    { not_ok "methods: $bad_method paths wrong"; }

snapshot >"$TMP/after"
if cmp -s "$TMP/before" "$TMP/after"; then
    ok "none of the refusals changed anything"
else
    diff "$TMP/before" "$TMP/after" | head -20 | sed 's/^/# /'
    not_ok "the refusals changed something"
fi

# Nested unknown fields name their place.
expect "an unknown field in an experiment's safety names it" 400 \
    "$ERR"' and .error.code == "unknown_field" and .error.field == "safety.min_confidenc"' -- \
    POST /v1/experiments "$ADMIN" '{"key":"e2","variants":[{"key":"control","weight":50,"control":true},{"key":"treatment","weight":50}],"metric":"conversion","safety":{"min_confidenc":0.9}}'
expect "an unknown field in a route's upstream names it" 400 \
    "$ERR"' and .error.code == "unknown_field" and .error.field == "upstreams.new.adress"' -- \
    POST /v1/routes "$ADMIN" '{"name":"r2","listen":"127.0.0.1:4","upstreams":{"legacy":"127.0.0.1:2","new":{"adress":"127.0.0.1:3"}}}'
expect "an unknown path is 404 pointing at the index" 404 "$ERR"' and (.error.message | contains("GET /v1"))' -- \
    GET /v1/nothing "$ADMIN"
expect "a body where none is taken is refused, not ignored" 400 \
    "$ERR"' and .error.code == "unknown_field" and .error.field == "reason"' -- \
    POST /v1/experiments/e1/stop "$ADMIN" '{"reason":"x"}'
expect "... and the experiment still runs" 200 '.state == "running"' -- GET /v1/experiments/e1 "$ADMIN"
expect "an empty object where no body is taken is fine" 200 '.state == "stopped"' -- \
    POST /v1/experiments/e1/stop "$ADMIN" '{}'

# ---- what an outside tester found (issue 22's review) ------------------------------------------
hdr() { # METHOD PATH BODY HEADER...: the status, the body in $TMP/body
    m=$1 p=$2 b=$3
    shift 3
    for h in "$@"; do set -- "$@" -H "$h"; shift; done
    if [ -n "$b" ]; then set -- "$@" -H 'Content-Type: application/json' --data-binary "$b"; fi
    curl -s -o "$TMP/body" -w '%{http_code}' -X "$m" "$@" "$URL$p"
}
req POST /v1/go-live/kill-switch "$ADMIN" '{"engaged":true,"reason":"drill"}' >/dev/null
FLAG='{"state":"ENABLED","variants":{"on":true},"defaultVariant":"on"}'
for how in "X-Execution-Class: prod_exec" "X-Execution-Class: DEV, PROD_EXEC" "X-Execution-Class: PROD_EXEC , DEV"; do
    code=$(hdr PUT /v1/flags/ks "$FLAG" "Authorization: Bearer $ADMIN" "$how")
    check "the kill switch holds a change marked \"$how\"" 0 "" "" -- test "$code" = 403
done
code=$(hdr PUT /v1/flags/ks "$FLAG" "Authorization: Bearer $ADMIN" "X-Execution-Class: DEV" "X-Execution-Class: PROD_EXEC")
check "... and one whose second copy of the header says PROD_EXEC" 0 "" "" -- test "$code" = 403
expect "... none of them made the flag" 404 "$ERR" -- GET /v1/flags/ks "$ADMIN"
req POST /v1/go-live/kill-switch "$ADMIN" '{"engaged":false,"reason":"drill over"}' >/dev/null
expect "a %00 in a query parameter's name is refused, not cut short" 400 "$ERR"' and .error.code == "invalid_input"' -- \
    GET "/v1/audit?limit%00zzz=1" "$ADMIN"
expect "... nor in its value" 400 "$ERR" -- GET "/v1/audit?limit=1%00zzz" "$ADMIN"
req POST /v1/tokens "$ADMIN" '{"role":"sdk","name":"s1"}' >/dev/null
SDK=$(jq -r .token "$TMP/body")
code=$(hdr GET /v1/tokens "" "Authorization: Bearer $ADMIN" "Authorization: Bearer $SDK")
check "two credentials are refused whichever comes first (admin, sdk)" 0 "" "" -- test "$code" = 400
code=$(hdr GET /v1/tokens "" "Authorization: Bearer $SDK" "X-API-Key: $ADMIN")
check "... (a bearer and an X-API-Key)" 0 "" "" -- test "$code" = 400
code=$(hdr POST /v1/auto-promotion/check "" "X-Cron-Secret: $CRON" "Authorization: Bearer $SDK")
check "the cron secret beside a token is refused, not read as every workspace" 0 "" "" -- test "$code" = 400
code=$(hdr POST /v1/auto-promotion/check "" "X-Cron-Secret: $CRON")
check "... alone it checks every workspace" 0 "" "" -- test "$code" = 200
code=$(hdr POST /v1/auto-promotion/check "" "Authorization: Bearer $CRON")
check "... also as a bearer" 0 "" "" -- test "$code" = 200
expect "POST /v1/events without a body: invalid_input, as everywhere" 400 "$ERR"' and .error.code == "invalid_input"' -- \
    POST /v1/events "$ADMIN"
expect "... a body that is JSON but no object: invalid_input" 400 "$ERR"' and .error.code == "invalid_input"' -- \
    POST /v1/events "$ADMIN" '1'
expect "... the same on another endpoint" 400 "$ERR"' and .error.code == "invalid_input"' -- \
    POST /v1/kpi "$ADMIN" 'null'
code=$(hdr GET /healthz '{"zz":1}')
check "an endpoint open to anyone ignores a body (never waited for)" 0 "" "" -- test "$code" = 200
expect "OFREP refuses an unknown query parameter in its own shape" 400 \
    '.errorCode == "INVALID_CONTEXT" and .key == "f1" and (.errorDetails | contains("zz"))' -- \
    POST "/ofrep/v1/evaluate/flags/f1?zz=1" "$ADMIN" '{"context":{}}'
for id in "%2B$TOKEN_ID" "0$TOKEN_ID" "%20$TOKEN_ID"; do
    expect "a token id written \"$id\" names nothing" 400 "$ERR"' and .error.field == "id"' -- \
        DELETE "/v1/tokens/$id" "$ADMIN"
done
expect "... and the token still stands" 200 "[.tokens[] | select(.id == $TOKEN_ID) | has(\"revoked_ms\")] == [false]" -- \
    GET /v1/tokens "$ADMIN"
expect "a ledger day the calendar lacks" 400 "$ERR"' and .error.field == "day"' -- \
    GET "/v1/risk/ledger?day=2026-02-30" "$ADMIN"
expect "... 29 February of a leap year is one" 200 '.day == "2028-02-29"' -- \
    GET "/v1/risk/ledger?day=2028-02-29" "$ADMIN"
tap_done
