#!/bin/sh
# cli_flags.sh - drives the real `switchyard eval` and `switchyard flags validate`.
#
# usage: cli_flags.sh SWITCHYARD EXAMPLES_DIR DATA_DIR [SY_TESTBED]     (prints TAP)
set -u
SY=$1
EX=$2
DATA=$3
. "$(dirname "$0")/tap.sh"
F=$EX/flags.json

check "help lists eval and flags" 0 "eval .*flags" "" -- sh -c "\"$SY\" --help | tr '\n' ' '"
check "eval --help documents the options" 0 "--context JSON" "" -- "$SY" eval --help
check "eval needs --flags" 2 "" "--flags is required" -- "$SY" eval --flag a
check "eval needs --flag" 2 "" "--flag is required" -- "$SY" eval --flags "$F"
check "eval targeting match" 0 '^banner-color = "#0a0" \(TARGETING_MATCH, variant green\)$' "" -- \
    "$SY" eval --flags "$F" --flag banner-color --context '{"country":"AT"}'
check "eval else branch" 0 '^banner-color = "#c00" \(TARGETING_MATCH, variant red\)$' "" -- \
    "$SY" eval --flags "$F" --flag banner-color --context '{"country":"FR"}'
check "eval fractional is sticky for a key" 0 '"variant": "(on|off)"' "" -- \
    "$SY" eval --flags "$F" --flag new-checkout --context '{"targetingKey":"user-7"}' --json
a=$("$SY" eval --flags "$F" --flag new-checkout --context '{"targetingKey":"user-7"}')
b=$("$SY" eval --flags "$F" --flag new-checkout --context '{"targetingKey":"user-7"}')
if [ -n "$a" ] && [ "$a" = "$b" ]; then ok "eval gives one key the same variant every time"; else echo "$a / $b" >"$TMP/out"; not_ok "eval gives one key the same variant every time"; fi
check "eval type mismatch exits 1 with the default" 1 '"errorCode": "TYPE_MISMATCH"' "" -- \
    "$SY" eval --flags "$F" --flag banner-color --type boolean --default true --json
check "eval unknown flag is FLAG_NOT_FOUND" 1 "FLAG_NOT_FOUND" "" -- \
    "$SY" eval --flags "$F" --flag nope
check "eval context must be an object" 2 "" "--context: must be a JSON object" -- \
    "$SY" eval --flags "$F" --flag banner-color --context '[1]'
check "eval context must be JSON" 2 "" "--context: invalid JSON" -- \
    "$SY" eval --flags "$F" --flag banner-color --context '{oops'
check "eval bad --type" 2 "" "--type" -- "$SY" eval --flags "$F" --flag a --type date
check "eval sem_ver by context" 0 '^max-items = 50 ' "" -- \
    "$SY" eval --flags "$F" --flag max-items --context '{"appVersion":"v2.0.0"}'
check "eval --now drives \$flagd.timestamp" 0 '"value": 1700000000' "" -- \
    sh -c "printf '%s' '{\"flags\":{\"t\":{\"state\":\"ENABLED\",\"variants\":{\"a\":1700000000,\"b\":0},\"defaultVariant\":\"b\",\"targeting\":{\"if\":[{\"==\":[{\"var\":\"\$flagd.timestamp\"},1700000000]},\"a\"]}}}}' >\"$TMP/t.json\" && \"$SY\" eval --flags \"$TMP/t.json\" --flag t --now 1700000000 --json"
check "eval refuses an invalid document" 1 "" "flags.a.state" -- \
    "$SY" eval --flags "$DATA/flags/invalid.json" --flag c
check "eval a missing file" 1 "" "No such file" -- "$SY" eval --flags "$TMP/none.json" --flag a
check "validate accepts the example" 0 "valid: 3 flags, 0 warnings" "" -- \
    "$SY" flags validate "$F"
check "validate lists every problem by path" 1 "" "flags.a.state: state must be ENABLED" -- \
    "$SY" flags validate "$DATA/flags/invalid.json"
check "validate lists the missing variants too" 1 "" "flags.b.variants: variants is required" -- \
    "$SY" flags validate "$DATA/flags/invalid.json"
check "validate warns about an unknown operator" 1 "" 'warning: flags.c.targeting: unknown operator "nope"' -- \
    "$SY" flags validate "$DATA/flags/invalid.json"
check "validate --json counts errors" 1 '"errors": 2' "" -- \
    "$SY" flags validate "$DATA/flags/invalid.json" --json
check "validate lenient document loads with a warning" 0 "valid: 1 flag, 1 warning" "" -- \
    "$SY" flags validate "$DATA/flags/lenient.json"
check "validate --strict refuses it" 1 "" "sem_ver literals must be full" -- \
    "$SY" flags validate "$DATA/flags/lenient.json" --strict
# Issue 22: a member a flag does not have is a warning naming the member meant, in both
# modes (flagd's schema allows other members); a misspelt required member is an error
# that names it.
for mode in "" --strict; do
    check "validate $mode: a misspelt member is a warning with did-you-mean" 0 \
        "warning: flags.checkout.defaultVarient: unknown member 'defaultVarient' \(did you mean 'defaultVariant'\?\)" "" -- \
        "$SY" flags validate "$DATA/flags/typo.json" $mode
    check "validate $mode: ... every one of them, the document's own too" 0 \
        "targetting' \(did you mean 'targeting'\?\).*metadta' \(did you mean 'metadata'\?\).*valid: 1 flag, 3 warnings" "" -- \
        sh -c "\"$SY\" flags validate \"$DATA/flags/typo.json\" $mode | sort -r | tr '\n' ' '"
    check "validate $mode: a misspelt required member: the error names the member meant" 1 "" \
        "error: flags.checkout.variants: variants is required \(unknown member 'varients': did you mean 'variants'\?\)" -- \
        "$SY" flags validate "$DATA/flags/typo-required.json" $mode
done
check "validate --json: the warning with its path" 0 '"path": "flags.checkout.defaultVarient"' "" -- \
    "$SY" flags validate "$DATA/flags/typo.json" --json
# What flagd loads but its schema refuses: lenient loads it, strict follows the schema.
check "validate: a \$ref as a whole targeting loads, as in flagd" 0 "valid: 1 flag, 0 warnings" "" -- \
    "$SY" flags validate "$DATA/flags/ref-root.json"
check "validate --strict: ... the schema refuses it" 1 "" \
    'flags.checkout.targeting: a \{"\$ref"\} is an operand, not a rule' -- \
    "$SY" flags validate "$DATA/flags/ref-root.json" --strict
check "validate takes several files: one line each, 1 when one is refused" 1 \
    "typo.json: valid: 1 flag, 3 warnings" "ref-root.json: invalid: 1 error" -- \
    "$SY" flags validate "$DATA/flags/typo.json" "$DATA/flags/ref-root.json" --strict
check "validate --help says what --strict means" 0 "refuses what.*flagd's JSON schema refuses" "" -- \
    sh -c "\"$SY\" flags validate --help | tr '\n' ' '"
check "validate needs a file" 2 "" "usage" -- "$SY" flags validate
check "flags unknown verb" 2 "" "unknown verb" -- "$SY" flags frob
check "validate reports JSON errors with a line" 1 "" "line 1" -- \
    sh -c "printf '{\"flags\": ' >\"$TMP/j.json\" && \"$SY\" flags validate \"$TMP/j.json\""

if [ -n "${4:-}" ]; then
    check "sy-testbed fails every wrong expectation" 1 "0 passed, 4 failed" "" -- \
        "$4" "$DATA/testbed/wrong.feature"
    check "sy-testbed names an unknown step" 1 "unsupported step: the flag was frobnicated" "" -- \
        "$4" "$DATA/testbed/wrong.feature"
fi

tap_done
