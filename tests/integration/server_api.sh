#!/bin/sh
# server_api.sh - drives a real `switchyard serve` on a free loopback port with curl: flag
# CRUD, import/export, audit, tokens and roles, workspace isolation on every endpoint,
# OFREP (single, bulk, ETag/304, change visible at once), errors, restart, SIGTERM.
#
#   server_api.sh SWITCHYARD EXAMPLES_DIR
set -u
SY=$1
EXAMPLES=$2
. "$(dirname "$0")/tap.sh"

# chk NAME STATUS OUT_PATTERN ERR_PATTERN COMMAND...: tap.sh's check.
chk() {
    a=$1 b=$2 c=$3 d=$4
    shift 4
    check "$a" "$b" "$c" "$d" -- "$@"
}

FLAG='{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off"}'
FLAG2='{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"}'
SPLIT='{"state":"ENABLED","variants":{"a":"A","b":"B","c":"C"},"defaultVariant":"a","targeting":{"fractional":[["a",34],["b",33],["c",33]]}}'
ERR='.error.code != null and .error.message != null and .error.field != null'

# ---- a second workspace, made offline before the server starts ----------------------------
chk "workspace create offline" 0 'workspace "other" created' "" \
    "$SY" workspace create other --db "$DB"
chk "token create offline refuses an unknown role" 2 "" "role" \
    "$SY" token create --db "$DB" --workspace other --role boss
chk "token create offline for an unknown workspace" 1 "" "no workspace" \
    "$SY" token create --db "$DB" --workspace nowhere --role admin
OTHER=$("$SY" token create --db "$DB" --workspace other --role admin --name other-admin)
# The database has a workspace now, so serve does not bootstrap one: make "default" too.
"$SY" workspace create default --db "$DB" >/dev/null
ADMIN=$("$SY" token create --db "$DB" --workspace default --role admin --name alice)

start_server "$SY" --max-body 4096
chk "serve logs where it listens" 0 "" "" grep -q "event=listening" "$TMP/log"

expect "healthz" 200 '.status == "ok"' -- GET /healthz ""
expect "readyz reaches the store" 200 '.status == "ready"' -- GET /readyz ""
expect "no token: 401 with the error shape" 401 "$ERR and .error.code == \"unauthorized\"" -- \
    GET /v1/flags ""
expect "unknown token: 401" 401 "$ERR" -- GET /v1/flags sy_nope
expect "unknown endpoint: 404" 404 "$ERR" -- GET /v1/nothing "$ADMIN"

# ---- flag CRUD ------------------------------------------------------------------------------
expect "PUT a new flag: 201" 201 '.key == "checkout" and .definition.defaultVariant == "off"' -- \
    PUT /v1/flags/checkout "$ADMIN" "$FLAG"
expect "PUT it again: 200 replaced" 200 '.definition.defaultVariant == "on"' -- \
    PUT /v1/flags/checkout "$ADMIN" "$FLAG2"
expect "GET it" 200 '.definition.defaultVariant == "on"' -- GET /v1/flags/checkout "$ADMIN"
expect "PUT a split" 201 "" -- PUT /v1/flags/split "$ADMIN" "$SPLIT"
expect "GET the list, by key" 200 '[.flags[].key] == ["checkout", "split"]' -- GET /v1/flags "$ADMIN"
# The list takes no query parameter: each is refused, named as it was written.
expect "the list: an unknown parameter: 400 unknown_field naming it" 400 \
    "$ERR and .error.code == \"unknown_field\" and .error.field == \"prefix\"" -- GET "/v1/flags?prefix=c" "$ADMIN"
expect "the list: a repeated unknown parameter: 400 naming it" 400 \
    '.error.code == "unknown_field" and .error.field == "prefix"' -- GET "/v1/flags?prefix=c&prefix=s" "$ADMIN"
expect "the list: a value with a bad %-escape: 400 invalid_input naming its parameter" 400 \
    "$ERR and .error.code == \"invalid_input\" and .error.field == \"limit\"" -- GET "/v1/flags?limit=%zz" "$ADMIN"
expect "the list: a name with a bad %-escape: 400 invalid_input naming it as written" 400 \
    '.error.code == "invalid_input" and .error.field == "%zz"' -- GET "/v1/flags?%zz=1" "$ADMIN"
expect "the list: a name that decodes to no UTF-8: 400 unknown_field naming it as written" 400 \
    '.error.code == "unknown_field" and .error.field == "%FF"' -- GET "/v1/flags?%FF=1" "$ADMIN"
expect "the list: an empty query is no parameter" 200 '[.flags[].key] == ["checkout", "split"]' -- \
    GET "/v1/flags?" "$ADMIN"
expect "invalid flag refused with its path" 400 \
    "$ERR and .error.field == \"flags.checkout.defaultVariant\"" -- \
    PUT /v1/flags/checkout "$ADMIN" '{"state":"ENABLED","variants":{"on":true},"defaultVariant":"nope"}'
expect "... and changed nothing" 200 '.definition.defaultVariant == "on"' -- \
    GET /v1/flags/checkout "$ADMIN"
expect "a flag with several problems: each in problems, by path, the first in the error" 400 \
    "$ERR and .error.field == \"flags.checkout.state\" and (.error.message | endswith(\"(and more problems)\")) and [.problems[].field] == [\"flags.checkout.state\", \"flags.checkout.defaultVariant\"] and .problems[1].message == \"defaultVariant \\\"nope\\\" names no variant\"" -- \
    PUT /v1/flags/checkout "$ADMIN" '{"state":"ON","variants":{"on":true},"defaultVariant":"nope"}'
expect "... and changed nothing" 200 '.definition.state == "ENABLED" and .definition.defaultVariant == "on"' -- \
    GET /v1/flags/checkout "$ADMIN"
WARNFLAG='{"state":"ENABLED","variants":{"x":1,"y":2},"defaultVariant":"x","targeting":{"if":[{"sem_ver":[{"var":"v"},">=","1.2"]},"y"]}}'
expect "a flag flagd loads with a schema warning is accepted, the warning in its answer" 201 \
    '.warnings == [{"field": "flags.a-warn.targeting.if[0].sem_ver", "message": "sem_ver literals must be full semantic versions (1.2.3)"}]' -- \
    PUT /v1/flags/a-warn "$ADMIN" "$WARNFLAG"
# Issue 22: a member a flag does not have is a warning naming the member meant.
expect "misspelt members: accepted, each a warning with did-you-mean" 201 \
    '.warnings == [{"field": "flags.typo.defaultVarient", "message": "unknown member '"'defaultVarient'"' (did you mean '"'defaultVariant'"'?)"}, {"field": "flags.typo.targetting", "message": "unknown member '"'targetting'"' (did you mean '"'targeting'"'?)"}]' -- \
    PUT /v1/flags/typo "$ADMIN" '{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVarient":"on","targetting":{"if":[true,"on"]}}'
expect "... served as written: no default, no targeting" 200 '.reason == "DEFAULT" and (has("value") | not)' -- \
    POST /ofrep/v1/evaluate/flags/typo "$ADMIN" '{"context":{}}'
expect "a clean flag has no warnings" 200 '.warnings == []' -- \
    PUT /v1/flags/typo "$ADMIN" '{"state":"ENABLED","variants":{"on":true},"defaultVariant":"on"}'
expect "a misspelt required member: 400, the error names the member meant" 400 \
    "$ERR and .error.field == \"flags.typo.variants\" and .error.message == \"variants is required (unknown member 'varients': did you mean 'variants'?)\"" -- \
    PUT /v1/flags/typo "$ADMIN" '{"state":"ENABLED","varients":{"on":true},"defaultVariant":"on"}'
expect "remove the typo flag" 200 "" -- DELETE /v1/flags/typo "$ADMIN"
expect "with it present, a refused flag still names its own path" 400 \
    '.error.field == "flags.z-bad.defaultVariant"' -- \
    PUT /v1/flags/z-bad "$ADMIN" '{"state":"ENABLED","variants":{"on":true},"defaultVariant":"nope"}'
expect "remove the warning flag" 200 "" -- DELETE /v1/flags/a-warn "$ADMIN"
expect "bad JSON: 400 invalid_json" 400 '.error.code == "invalid_json"' -- \
    PUT /v1/flags/x "$ADMIN" '{"state":'
expect "a body that is not an object: 400" 400 "$ERR" -- PUT /v1/flags/x "$ADMIN" '[1]'
BIG=$(head -c 6000 /dev/zero | tr '\0' 'x')
expect "oversize body: 413 as JSON" 413 '.error.code == "too_large"' -- \
    PUT /v1/flags/x "$ADMIN" "{\"state\":\"ENABLED\",\"pad\":\"$BIG\"}"
expect "... and nothing was created" 404 "$ERR" -- GET /v1/flags/x "$ADMIN"
expect "wrong method: 405" 405 "$ERR" -- POST /v1/flags/checkout "$ADMIN" "$FLAG"
expect "percent-encoded key" 201 '.key == "a b"' -- PUT /v1/flags/a%20b "$ADMIN" "$FLAG"
expect "DELETE it" 200 '.deleted == true' -- DELETE /v1/flags/a%20b "$ADMIN"
expect "DELETE again: 404" 404 "$ERR" -- DELETE /v1/flags/a%20b "$ADMIN"
# A key of bytes that are no UTF-8 could be stored but never read back: it was committed
# with a 500, then no later start could load the workspace (the restart below checks).
expect "a key that decodes to no UTF-8: 400, nothing stored" 400 '.error.field == "key"' -- \
    PUT /v1/flags/%ff "$ADMIN" "$FLAG"
expect "... nor an overlong one" 400 '.error.field == "key"' -- PUT /v1/flags/%c0%af "$ADMIN" "$FLAG"
expect "... and the audit trail still reads" 200 '.events | length > 0' -- GET /v1/audit "$ADMIN"

# ---- OFREP ---------------------------------------------------------------------------------
expect "OFREP single" 200 '.key == "checkout" and .value == true and .reason == "STATIC" and .variant == "on"' -- \
    POST /ofrep/v1/evaluate/flags/checkout "$ADMIN" '{"context":{}}'
expect "OFREP {} is an empty context" 200 '.value == true' -- \
    POST /ofrep/v1/evaluate/flags/checkout "$ADMIN" '{}'
# A body other than {"context": {...}} is refused whole: 400 INVALID_CONTEXT, the details
# naming what is wrong; one flag's failure has its key, the bulk's has none (OFREP 0.3.0).
ofrep_bad() { # NAME DETAILS_PART BODY ("" for none)
    expect "OFREP single refuses $1: 400 INVALID_CONTEXT" 400 \
        ".key == \"checkout\" and .errorCode == \"INVALID_CONTEXT\" and (.errorDetails | contains(\"$2\"))" -- \
        POST /ofrep/v1/evaluate/flags/checkout "$ADMIN" "$3"
    expect "OFREP bulk refuses $1: 400 INVALID_CONTEXT" 400 \
        "(has(\"key\") | not) and .errorCode == \"INVALID_CONTEXT\" and (.errorDetails | contains(\"$2\"))" -- \
        POST /ofrep/v1/evaluate/flags "$ADMIN" "$3"
}
ofrep_bad "no body" "required" ""
ofrep_bad "null" "must be a JSON object" "null"
ofrep_bad "[]" "must be a JSON object" "[]"
ofrep_bad "1" "must be a JSON object" "1"
ofrep_bad "a string" "must be a JSON object" '"context"'
ofrep_bad "a context that is a number" "context must be an object" '{"context":1}'
ofrep_bad "a context that is null" "context must be an object" '{"context":null}'
ofrep_bad "a context that is an array" "context must be an object" '{"context":[{"targetingKey":"u1"}]}'
ofrep_bad "an unknown top-level field" 'unknown field \"flags\"' '{"context":{"targetingKey":"u1"},"flags":["checkout"]}'
ofrep_bad "a targetingKey beside the context" 'unknown field \"targetingKey\"' '{"targetingKey":"u1"}'
ofrep_bad "bad JSON" "" '{"context":'
expect "OFREP unknown flag: 404 FLAG_NOT_FOUND" 404 '.key == "nope" and .errorCode == "FLAG_NOT_FOUND"' -- \
    POST /ofrep/v1/evaluate/flags/nope "$ADMIN" '{"context":{}}'
# A key or Host of bytes that are no UTF-8 is echoed as JSON all the same (U+FFFD).
expect "OFREP unknown flag of no UTF-8: 404, still JSON" 404 \
    '.errorCode == "FLAG_NOT_FOUND" and (.key | contains("\ufffd"))' -- \
    POST /ofrep/v1/evaluate/flags/%ff%c0 "$ADMIN" '{"context":{}}'
expect "OFREP bulk with a Host that is no host name: JSON, no stream URL" 200 \
    '.flags != null and .eventStreams == null' -- \
    POST /ofrep/v1/evaluate/flags "$ADMIN" '{"context":{}}' -H "Host: $(printf 'a\377b')"
expect "OFREP bad JSON: 400 INVALID_CONTEXT" 400 '.errorCode == "INVALID_CONTEXT"' -- \
    POST /ofrep/v1/evaluate/flags/checkout "$ADMIN" '{"context":'
DENSE=$(awk 'BEGIN { s = ""; for (i = 0; i < 485; i++) s = s "["; for (i = 0; i < 485; i++) s = s "]"; print s }')
expect "OFREP: a dense 1 KB context (485 nested arrays) evaluates" 200 '.value == true' -- \
    POST /ofrep/v1/evaluate/flags/checkout "$ADMIN" "{\"context\":{\"a\":$DENSE}}"
expect "OFREP with X-API-Key" 200 '.value == true' -- \
    POST /ofrep/v1/evaluate/flags/checkout "" '{}' -H "X-API-Key: $ADMIN"
# fractional over OFREP = the in-process evaluator, key by key
echo "{\"flags\":{\"split\":$SPLIT}}" >"$TMP/split.json"
same=0
for k in u1 u2 u3 u4 u5 u6 u7 u8 u9 u10 alice bob carol dave erin; do
    req POST /ofrep/v1/evaluate/flags/split "$ADMIN" "{\"context\":{\"targetingKey\":\"$k\"}}" >/dev/null
    a=$(jq -r .variant "$TMP/body")
    b=$("$SY" eval --flags "$TMP/split.json" --flag split --context "{\"targetingKey\":\"$k\"}" --json |
        jq -r .variant)
    [ "$a" = "$b" ] && [ -n "$a" ] && same=$((same + 1))
done
if [ "$same" -eq 15 ]; then ok "OFREP fractional = switchyard eval for 15 keys"; else
    echo "# only $same of 15 agree" >"$TMP/err"
    : >"$TMP/out"
    not_ok "OFREP fractional = switchyard eval for 15 keys"
fi
expect "OFREP bulk" 200 '[.flags[].key] | sort == ["checkout", "split"]' -- \
    POST /ofrep/v1/evaluate/flags "$ADMIN" '{"context":{"targetingKey":"u1"}}'
curl -s -D "$TMP/h" -o /dev/null -X POST -H "Authorization: Bearer $ADMIN" \
    --data-binary '{"context":{"targetingKey":"u1"}}' "$URL/ofrep/v1/evaluate/flags"
ETAG=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\([^\r]*\).*/\1/p' "$TMP/h")
chk "bulk has an ETag" 0 "" "" test -n "$ETAG"
expect "If-None-Match with it: 304" 304 "" -- \
    POST /ofrep/v1/evaluate/flags "$ADMIN" '{"context":{"targetingKey":"u1"}}' -H "If-None-Match: $ETAG"
expect "a different context: 200" 200 "" -- \
    POST /ofrep/v1/evaluate/flags "$ADMIN" '{"context":{"targetingKey":"u2"}}' -H "If-None-Match: $ETAG"
expect "bulk advertises an SSE event stream" 200 \
    '.eventStreams[0].type == "sse" and (.eventStreams[0].url | test("^http://127.0.0.1:[0-9]+/ofrep/v1/events/[0-9]+-[0-9a-f]{32}$"))' -- \
    POST /ofrep/v1/evaluate/flags "$ADMIN" '{}'
STREAM=$(jq -r '.eventStreams[0].url' "$TMP/body")
curl -s -N --max-time 10 "$STREAM" >"$TMP/sse" 2>/dev/null &
SSE_PID=$!
i=0
while [ $i -lt 40 ] && ! grep -q keepalive "$TMP/sse" && ! grep -q 'switchyard' "$TMP/sse"; do
    sleep 0.05
    i=$((i + 1))
done
expect "change a flag over the API" 200 "" -- PUT /v1/flags/checkout "$ADMIN" "$FLAG"
i=0
while [ $i -lt 20 ] && ! grep -q refetchEvaluation "$TMP/sse"; do
    sleep 0.05
    i=$((i + 1))
done
chk "the stream says refetchEvaluation within a second" 0 "" "" \
    grep -q '^data: {"type":"refetchEvaluation"}' "$TMP/sse"
kill "$SSE_PID" 2>/dev/null
wait "$SSE_PID" 2>/dev/null
expect "an unknown stream key: 404" 404 "$ERR" -- GET /ofrep/v1/events/0123456789abcdef0123456789abcdef ""
# Near misses of the real key (compared in constant time): each is refused like any other.
SKEY=${STREAM##*/}
case "$SKEY" in *0) NEAR=${SKEY%?}1 ;; *) NEAR=${SKEY%?}0 ;; esac
expect "the stream key wrong in its last digit: 404" 404 '.error.code == "not_found"' -- \
    GET "/ofrep/v1/events/$NEAR" ""
expect "the stream key less its last digit: 404" 404 '.error.code == "not_found"' -- \
    GET "/ofrep/v1/events/${SKEY%?}" ""
expect "the stream key and a digit more: 404" 404 '.error.code == "not_found"' -- \
    GET "/ofrep/v1/events/${SKEY}0" ""
expect "the old ETag no longer matches: 200" 200 \
    '[.flags[] | select(.key == "checkout") | .value] == [false]' -- \
    POST /ofrep/v1/evaluate/flags "$ADMIN" '{"context":{"targetingKey":"u1"}}' -H "If-None-Match: $ETAG"
expect "the change is served by the next single request" 200 '.value == false' -- \
    POST /ofrep/v1/evaluate/flags/checkout "$ADMIN" '{}'

# ---- tokens and roles -----------------------------------------------------------------------
expect "POST /v1/tokens returns the secret once" 201 '.role == "sdk" and (.token | startswith("sy_"))' -- \
    POST /v1/tokens "$ADMIN" '{"role":"sdk","name":"web"}'
SDK=$(jq -r .token "$TMP/body")
req POST /v1/tokens "$ADMIN" '{"role":"viewer","name":"vic"}' >/dev/null
VIEWER=$(jq -r .token "$TMP/body")
req POST /v1/tokens "$ADMIN" '{"role":"editor","name":"ed"}' >/dev/null
EDITOR=$(jq -r .token "$TMP/body")
EDITOR_ID=$(jq -r .id "$TMP/body")
expect "unknown field in a token request: 400" 400 '.error.code == "unknown_field" and .error.field == "scope"' -- \
    POST /v1/tokens "$ADMIN" '{"role":"sdk","name":"x","scope":"all"}'
expect "wrong type: 400" 400 '.error.field == "name"' -- POST /v1/tokens "$ADMIN" '{"role":"sdk","name":5}'
expect "unknown role: 400" 400 '.error.field == "role"' -- POST /v1/tokens "$ADMIN" '{"role":"root","name":"x"}'
expect "GET /v1/tokens lists them without secrets" 200 \
    '(.tokens | length) == 4 and ([.tokens[] | has("token") or has("hash")] | any | not)' -- \
    GET /v1/tokens "$ADMIN"
expect "sdk: OFREP allowed" 200 "" -- POST /ofrep/v1/evaluate/flags/checkout "$SDK" '{}'
expect "sdk: reading flags refused" 403 '.error.code == "forbidden"' -- GET /v1/flags "$SDK"
expect "sdk: audit refused" 403 "$ERR" -- GET /v1/audit "$SDK"
expect "viewer: reading allowed" 200 "" -- GET /v1/flags "$VIEWER"
expect "viewer: export allowed" 200 "" -- GET /v1/flagset "$VIEWER"
expect "viewer: writing refused" 403 "$ERR" -- PUT /v1/flags/v "$VIEWER" "$FLAG"
expect "viewer: deleting refused" 403 "$ERR" -- DELETE /v1/flags/checkout "$VIEWER"
expect "editor: writing allowed" 201 "" -- PUT /v1/flags/by-editor "$EDITOR" "$FLAG"
expect "editor: tokens refused" 403 "$ERR" -- GET /v1/tokens "$EDITOR"
expect "editor: creating tokens refused" 403 "$ERR" -- POST /v1/tokens "$EDITOR" '{"role":"admin","name":"x"}'
expect "editor: import allowed" 200 "" -- PUT /v1/flagset "$EDITOR" "$(curl -s -H "Authorization: Bearer $ADMIN" "$URL/v1/flagset")"
# GET /v1/whoami: who a token is, for any role (the console's sign-in reads it).
EDITOR_NAME_ID=$EDITOR_ID
expect "whoami: the admin's name, role and workspace" 200 \
    '.token.name == "alice" and .token.role == "admin" and .workspace.name == "default" and (.token.id | type) == "number" and (.workspace.id | type) == "number"' -- \
    GET /v1/whoami "$ADMIN"
expect "whoami: a viewer's role" 200 '.token.name == "vic" and .token.role == "viewer" and .workspace.name == "default"' -- \
    GET /v1/whoami "$VIEWER"
expect "whoami: an sdk token may ask too" 200 '.token.role == "sdk" and .token.name == "web"' -- GET /v1/whoami "$SDK"
expect "whoami: the editor's id is the one its creation answered" 200 ".token.id == $EDITOR_NAME_ID and .token.role == \"editor\"" -- \
    GET /v1/whoami "$EDITOR"
expect "whoami: another workspace's admin sees its own" 200 '.workspace.name == "other" and .token.name == "other-admin"' -- \
    GET /v1/whoami "$OTHER"
expect "whoami: no token: 401" 401 "$ERR" -- GET /v1/whoami ""
expect "whoami: a wrong token: 401" 401 "$ERR" -- GET /v1/whoami sy_nope
expect "revoke the editor" 200 '.revoked == true' -- DELETE "/v1/tokens/$EDITOR_ID" "$ADMIN"
expect "a revoked token: 401" 401 "$ERR" -- GET /v1/flags "$EDITOR"
expect "... and whoami knows it no more" 401 "$ERR" -- GET /v1/whoami "$EDITOR"
expect "revoking twice: 404" 404 "$ERR" -- DELETE "/v1/tokens/$EDITOR_ID" "$ADMIN"

# ---- made offline while the server runs: served at once -----------------------------------
LATE=$("$SY" token create --db "$DB" --workspace default --role viewer --name late)
expect "a token made offline is accepted without a restart" 200 '(.flags | length) >= 1' -- \
    GET /v1/flags "$LATE"
"$SY" workspace create third --db "$DB" >/dev/null
THIRD=$("$SY" token create --db "$DB" --workspace third --role admin --name third-admin)
expect "a workspace made offline is served with its token" 200 '.flags == []' -- \
    GET /v1/flags "$THIRD"
expect "... and can be written" 201 "" -- PUT /v1/flags/t "$THIRD" "$FLAG"
expect "... and evaluated" 200 '.value == false' -- POST /ofrep/v1/evaluate/flags/t "$THIRD" '{}'

# ---- workspaces never see each other ---------------------------------------------------------
expect "other: the flag list is its own (empty)" 200 '.flags == []' -- GET /v1/flags "$OTHER"
expect "other: GET default's flag: 404" 404 "$ERR" -- GET /v1/flags/checkout "$OTHER"
expect "other: DELETE default's flag: 404" 404 "$ERR" -- DELETE /v1/flags/checkout "$OTHER"
expect "other: OFREP of default's flag: 404" 404 '.errorCode == "FLAG_NOT_FOUND"' -- \
    POST /ofrep/v1/evaluate/flags/checkout "$OTHER" '{}'
expect "other: OFREP bulk is empty" 200 '.flags == []' -- POST /ofrep/v1/evaluate/flags "$OTHER" '{}'
expect "other: its export has no flags of default" 200 '.flags == {}' -- GET /v1/flagset "$OTHER"
expect "other: tokens lists only its own" 200 '[.tokens[].name] == ["other-admin"]' -- \
    GET /v1/tokens "$OTHER"
SDK_ID=$(curl -s -H "Authorization: Bearer $ADMIN" "$URL/v1/tokens" | jq '.tokens[] | select(.name == "web") | .id')
expect "other: revoking default's token: 404" 404 "$ERR" -- DELETE "/v1/tokens/$SDK_ID" "$OTHER"
expect "... and it still works" 200 "" -- POST /ofrep/v1/evaluate/flags/checkout "$SDK" '{}'
expect "other: audit shows none of default's events" 200 \
    '[.events[].resource | select(startswith("flag:"))] == []' -- GET /v1/audit "$OTHER"
expect "other: a flag of the same key is its own" 201 "" -- PUT /v1/flags/checkout "$OTHER" "$FLAG2"
expect "... default's is unchanged" 200 '.definition.defaultVariant == "off"' -- \
    GET /v1/flags/checkout "$ADMIN"
expect "other: importing replaces only its own" 200 '.flags == 1' -- \
    PUT /v1/flagset "$OTHER" '{"flags":{"solo":'"$FLAG"'}}'
expect "... default still has its flags" 200 '(.flags | length) == 3' -- GET /v1/flags "$ADMIN"

# ---- import / export --------------------------------------------------------------------------
expect "import the example document" 200 '.flags == 3 and .warnings == []' -- \
    PUT /v1/flagset "$ADMIN" "$(cat "$EXAMPLES/flags.json")"
expect "export it" 200 '(.flags | keys) == ["banner-color", "max-items", "new-checkout"] and .metadata.flagSetId == "shop"' -- \
    GET /v1/flagset "$ADMIN"
cp "$TMP/body" "$TMP/export.json"
chk "the export loads in flagd's loader (flags validate --strict)" 0 "valid: 3 flags" "" \
    "$SY" flags validate "$TMP/export.json" --strict
expect "re-import the export" 200 '.flags == 3' -- PUT /v1/flagset "$ADMIN" "$(cat "$TMP/export.json")"
expect "... round trip: the same document" 200 "" -- GET /v1/flagset "$ADMIN"
chk "export, import, export is stable" 0 "" "" cmp "$TMP/body" "$TMP/export.json"
expect "an invalid document lists every problem" 400 \
    '.error.code == "invalid_flags" and (.problems | length) == 2' -- \
    PUT /v1/flagset "$ADMIN" '{"flags":{"a":{"state":"ENABLED","variants":{"x":1},"defaultVariant":"y"},"b":{"state":"MAYBE","variants":{"x":1}}}}'
expect "... and changed nothing" 200 '(.flags | length) == 3' -- GET /v1/flags "$ADMIN"
expect "unknown top-level field: 400" 400 '.error.code == "unknown_field"' -- \
    PUT /v1/flagset "$ADMIN" '{"flags":{},"extra":1}'
expect "an import with a misspelt member: imported, the warning with did-you-mean" 200 \
    '.flags == 4 and .warnings == [{"flag": "typo", "path": "flags.typo.defaultVarient", "message": "unknown member '"'defaultVarient'"' (did you mean '"'defaultVariant'"'?)"}]' -- \
    PUT /v1/flagset "$ADMIN" "$(jq -c '.flags.typo = {"state":"ENABLED","variants":{"on":true},"defaultVarient":"on"}' "$TMP/export.json")"
expect "... and the export again, without it" 200 '.flags == 3 and .warnings == []' -- \
    PUT /v1/flagset "$ADMIN" "$(cat "$TMP/export.json")"

# ---- audit --------------------------------------------------------------------------------------
expect "audit: newest first, with actor, before and after" 200 \
    '.events[0].action == "flagset.import" and .events[0].actor == "alice" and .events[0].before != null and .events[0].after != null' -- \
    GET /v1/audit "$ADMIN"
expect "audit: filter by resource" 200 \
    '[.events[].action] == ["flag.update", "flag.update", "flag.create"]' -- \
    GET "/v1/audit?resource=flag:checkout" "$ADMIN"
expect "audit: filter by resource prefix and action" 200 \
    '(.events | length) >= 4 and ([.events[].action] | unique) == ["flag.create"]' -- \
    GET "/v1/audit?resource=flag:&action=flag.create" "$ADMIN"
expect "audit: token events name the admin" 200 \
    '[.events[] | [.action, .actor]] == [["token.revoke", "alice"], ["token.create", "alice"]]' -- \
    GET "/v1/audit?resource=token:$EDITOR_ID" "$ADMIN"
expect "audit: no token secret anywhere in it" 200 "tostring | contains(\"$SDK\") | not" -- \
    GET "/v1/audit?limit=1000" "$ADMIN"
# A key that decodes to bytes that are no UTF-8 is named in the answer: still JSON, still 400.
expect "audit: a parameter that decodes to no UTF-8: 400 unknown_field, not 500" 400 \
    '.error.code == "unknown_field" and (.error.message | length) > 0' -- \
    GET "/v1/audit?%ff%fe=1" "$ADMIN"
expect "audit: a page of 2 has a cursor" 200 '(.events | length) == 2 and .next_cursor != null' -- \
    GET "/v1/audit?limit=2" "$ADMIN"
CURSOR=$(jq .next_cursor "$TMP/body")
LAST=$(jq '.events[1].id' "$TMP/body")
expect "audit: the next page starts below it" 200 "(.events[0].id < $LAST)" -- \
    GET "/v1/audit?limit=2&cursor=$CURSOR" "$ADMIN"
expect "audit: since in the future is empty" 200 '.events == []' -- \
    GET "/v1/audit?since=99999999999999" "$ADMIN"
expect "audit: unknown parameter: 400" 400 '.error.field == "sort"' -- GET "/v1/audit?sort=asc" "$ADMIN"
expect "audit: bad limit: 400" 400 '.error.field == "limit"' -- GET "/v1/audit?limit=0" "$ADMIN"

# ---- restart: everything is still there ---------------------------------------------------------
stop_server
chk "SIGTERM: clean exit" 0 "" "" test "$STOP_STATUS" -eq 0
chk "SIGTERM: logged" 0 "" "" grep -q "event=stopped" "$TMP/log"
start_server "$SY" --log-format json
expect "after restart: flags kept" 200 '(.flags | length) == 3' -- GET /v1/flags "$ADMIN"
expect "after restart: tokens kept, revoked stays revoked" 401 "" -- GET /v1/flags "$EDITOR"
expect "after restart: OFREP serves the stored flags" 200 '.variant == "green"' -- \
    POST /ofrep/v1/evaluate/flags/banner-color "$SDK" '{"context":{"country":"DE"}}'
curl -s -o /dev/null "$URL/no/$(printf '\377\376')/such" # a path of bytes that are no UTF-8
chk "--log-format json: every log line is JSON (a path of no UTF-8 too)" 0 "" "" jq -e . "$TMP/log"
stop_server

# ---- a new database bootstraps a workspace and an admin token ---------------------------------
db_reset
start_server "$SY" --admin-token-file "$TMP/admin" --seed-flags "$EXAMPLES/flags.json"
BOOT=$(cat "$TMP/admin" 2>/dev/null)
expect "bootstrap admin token works, seeded flags served" 200 '(.flags | length) == 3' -- \
    GET /v1/flags "$BOOT"
stop_server
db_reset
start_server "$SY"
chk "without --admin-token-file the token is printed once" 0 "" "" \
    grep -Eq '^sy_[0-9a-f]{48}$' "$TMP/stdout"
stop_server
# ---- rate limit: 429 with Retry-After past the burst ----------------------------------------
db_reset
start_server "$SY" --admin-token-file "$TMP/admin" --rate-limit 1 --quiet
BOOT=$(cat "$TMP/admin")
codes=""
for i in 1 2 3 4 5 6 7 8 9 10; do
    codes="$codes $(req POST /ofrep/v1/evaluate/flags/x "$BOOT" '{}')"
done
# A burst of 2 passes; refilling 1 a second, a slow machine lets a few more through.
chk "--rate-limit 1: the burst passes, then 429 ($codes)" 0 "" "" \
    test "$(echo $codes | cut -d' ' -f1-2)" = "404 404" -a "$(echo $codes | tr ' ' '\n' | grep -c 429)" -ge 4
for i in 1 2 3 4 5; do
    curl -s -D "$TMP/h" -o "$TMP/body" -X POST -H "Authorization: Bearer $BOOT" "$URL/ofrep/v1/evaluate/flags/x"
    grep -q '^HTTP/1.1 429' "$TMP/h" && break
done
chk "429 carries Retry-After and the error shape" 0 "" "" \
    sh -c "grep -qi '^retry-after: [1-9]' '$TMP/h' && jq -e '.error.code == \"rate_limited\"' '$TMP/body'"
sleep 2.1
expect "after waiting, requests pass again" 404 "" -- POST /ofrep/v1/evaluate/flags/x "$BOOT" '{}'
stop_server
chk "serve --help lists the environment variables" 0 "SWITCHYARD_LISTEN" "" "$SY" serve --help
chk "serve refuses a bad --listen" 1 "" "ADDR:PORT" "$SY" serve --listen nowhere --db "$TMP/x.db"
chk "serve refuses a bad --max-body" 2 "" "max-body" "$SY" serve --max-body 1 --db "$TMP/x.db"
chk "serve refuses a bad --log-format" 2 "" "log-format" "$SY" serve --log-format xml --db "$TMP/x.db"
printf 'listen = nowhere\n' >"$TMP/conf"
chk "--config options are read" 1 "" "ADDR:PORT" "$SY" serve --config "$TMP/conf" --db "$TMP/x.db"
chk "SWITCHYARD_* environment variables are read" 1 "" "ADDR:PORT" \
    env SWITCHYARD_LISTEN=nowhere "$SY" serve --db "$TMP/x.db"
printf 'colour = red\n' >"$TMP/conf"
chk "--config refuses unknown options" 2 "" "unknown option" "$SY" serve --config "$TMP/conf"
tap_done
