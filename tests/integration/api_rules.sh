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
"$SY" workspace create default --db "$TMP/sy.db" >/dev/null
ADMIN=$("$SY" token create --db "$TMP/sy.db" --role admin --name alice)
start_server "$SY" --quiet

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
bad_params=0 bad_json=0 bad_field=0 bad_method=0
while [ "$i" -lt "$total" ]; do
    m=$(jq -r ".endpoints[$i].method" "$TMP/index.json")
    tpath=$(jq -r ".endpoints[$i].path" "$TMP/index.json")
    body=$(jq -r ".endpoints[$i].body" "$TMP/index.json")
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
    # A method the path does not take: 405 with exactly the table's methods in Allow.
    want=$(jq -r --arg p "$tpath" '[.endpoints[] | select(.path == $p) | .method] | join(", ")' "$TMP/index.json")
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
[ "$bad_json" = 0 ] && ok "a malformed body is 400 invalid_json on all $total endpoints" ||
    { not_ok "malformed bodies: $bad_json of $total endpoints wrong"; }
[ "$bad_field" = 0 ] && ok "an unknown body field is 400 unknown_field on all $total endpoints" ||
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
tap_done
