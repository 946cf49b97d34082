#!/bin/sh
# ofrep_sdk.sh - the real OpenFeature JS SDK (@openfeature/server-sdk with
# @openfeature/ofrep-provider, pinned, installed from npm into NODE_DIR, a folder this test
# owns) evaluates boolean, string, number, object, targeting and fractional flags against
# a real `switchyard serve` and must get what the in-process evaluator (`switchyard eval`)
# gives; flag-not-found and type mismatch must surface as the SDK's own errors; a change
# over the API must be served on the next evaluation.
#
#   ofrep_sdk.sh SWITCHYARD NODE_DIR DATA_DIR
set -u
SY=$1
NODE_DIR=$2
DATA=$3
. "$(dirname "$0")/tap.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
FLAGS=$DATA/flags/sdk.json

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "not ok 1 - node and npm are needed (scripts/deps.sh installs them)"
    echo "1..1"
    exit 1
fi
if [ ! -f "$NODE_DIR/node_modules/@openfeature/ofrep-provider/package.json" ]; then
    mkdir -p "$NODE_DIR"
    [ -f "$NODE_DIR/package.json" ] || echo '{"private": true}' >"$NODE_DIR/package.json"
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent \
        @openfeature/server-sdk@1.23.0 @openfeature/ofrep-provider@0.1.3 >"$TMP/npm.log" 2>&1)
fi
check "the SDK is installed" 0 "" "" -- test -f "$NODE_DIR/node_modules/@openfeature/ofrep-provider/package.json"

start_server "$SY" --admin-token-file "$TMP/admin" --seed-flags "$FLAGS" --quiet
TOKEN=$(cat "$TMP/admin")
# an sdk-role token, as an application would hold
SDK=$(curl -s -X POST -H "Authorization: Bearer $TOKEN" -d '{"role":"sdk","name":"node-app"}' \
    "$URL/v1/tokens" | jq -r .token)

sdk() { NODE_PATH="$NODE_DIR/node_modules" node "$HERE/ofrep_sdk.js" "$URL" "$SDK" "$1"; }

# Cases: every type, targeting both ways, and fractional over 40 keys.
CASES='[{"flag":"bool-flag","type":"boolean","default":false,"context":{}},
 {"flag":"string-flag","type":"string","default":"?","context":{"color":"blue"}},
 {"flag":"string-flag","type":"string","default":"?","context":{"color":"green"}},
 {"flag":"int-flag","type":"number","default":-1,"context":{"age":30}},
 {"flag":"int-flag","type":"number","default":-1,"context":{"age":10}},
 {"flag":"float-flag","type":"number","default":-1,"context":{"version":"2.1.0"}},
 {"flag":"float-flag","type":"number","default":-1,"context":{"version":"1.9.9"}},
 {"flag":"object-flag","type":"object","default":{},"context":{"email":"ann@example.com"}},
 {"flag":"object-flag","type":"object","default":{},"context":{"email":"ann@elsewhere.org"}}'
i=0
while [ $i -lt 40 ]; do
    CASES="$CASES,{\"flag\":\"split-flag\",\"type\":\"string\",\"default\":\"?\",\"context\":{\"targetingKey\":\"user-$i\"}}"
    i=$((i + 1))
done
CASES="$CASES]"
check "the SDK evaluates every case" 0 "" "" -- sh -c "NODE_PATH='$NODE_DIR/node_modules' node '$HERE/ofrep_sdk.js' '$URL' '$SDK' '$(echo "$CASES" | tr -d '\n')' >'$TMP/sdk.out'"

# Compare each with switchyard eval on the same document.
agree=0 total=0 disagree=""
while IFS= read -r line; do
    total=$((total + 1))
    flag=$(echo "$line" | jq -r .flag)
    ctx=$(echo "$line" | jq -c .context)
    want=$("$SY" eval --flags "$FLAGS" --flag "$flag" --context "$ctx" --json |
        jq -c '{value, variant, reason}')
    got=$(echo "$line" | jq -c '{value, variant, reason}')
    if [ "$want" = "$got" ]; then agree=$((agree + 1)); else disagree="$disagree $flag $ctx: sdk $got, eval $want;"; fi
done <"$TMP/sdk.out"
echo "$disagree" >"$TMP/err"
: >"$TMP/out"
if [ "$total" -eq 49 ] && [ "$agree" -eq "$total" ]; then
    ok "SDK over OFREP = in-process evaluator: value, variant, reason ($agree of 49)"
else
    not_ok "SDK over OFREP = in-process evaluator: value, variant, reason ($agree of $total)"
fi
splits=$(grep -c '"flag":"split-flag"' "$TMP/sdk.out")
variants=$(grep '"flag":"split-flag"' "$TMP/sdk.out" | jq -r .variant | sort -u | tr '\n' ' ')
check "fractional: 40 keys spread over the three variants" 0 "" "" -- \
    test "$splits" -eq 40 -a "$variants" = "one three two "

sdk '[{"flag":"no-such-flag","type":"boolean","default":true,"context":{}}]' >"$TMP/nf"
check "flag not found surfaces as the SDK's FLAG_NOT_FOUND, with the default" 0 "" "" -- \
    jq -e '.errorCode == "FLAG_NOT_FOUND" and .value == true and .reason == "ERROR"' "$TMP/nf"
sdk '[{"flag":"string-flag","type":"boolean","default":false,"context":{"color":"blue"}}]' >"$TMP/tm"
check "a string flag asked as boolean surfaces as TYPE_MISMATCH" 0 "" "" -- \
    jq -e '.errorCode == "TYPE_MISMATCH" and .value == false' "$TMP/tm"
sdk '[{"flag":"disabled-flag","type":"boolean","default":false,"context":{}}]' >"$TMP/dis"
check "a disabled flag gives the caller's default" 0 "" "" -- jq -e '.value == false' "$TMP/dis"

curl -s -o /dev/null -X PUT -H "Authorization: Bearer $TOKEN" \
    -d '{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off"}' "$URL/v1/flags/bool-flag"
sdk '[{"flag":"bool-flag","type":"boolean","default":true,"context":{}}]' >"$TMP/chg"
check "a change over the API is what the SDK gets next" 0 "" "" -- \
    jq -e '.value == false and .variant == "off"' "$TMP/chg"
tap_done
