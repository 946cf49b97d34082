#!/bin/sh
# schema_diff.sh - `switchyard flags validate --strict` gives flagd's JSON schema's verdict
# on every document: ajv (pinned, installed from npm into NODE_DIR, a folder this test
# owns) validates with ../shared/conformance/flagd/schema (flags.json + targeting.json,
# draft-07), and the two must agree on every test-bed flag file, every flag set and load
# document of the oracle, and thousands of mutations of the valid ones generated from
# SEED: wrong literal types in every operand position, missing and extra members, bad
# semver strings, negative and fractional weights, variants of wrong or mixed types, bad
# keys, metadata, evaluators and top levels, and random edits. Prints every disagreement
# with its document and the count compared; fails on any disagreement.
#
#   schema_diff.sh SWITCHYARD NODE_DIR CONFORMANCE_DIR [SEED] [RANDOM_COUNT]
set -u
SY=$1
NODE_DIR=$2
CONF=$3
SEED=${4:-20261207}
COUNT=${5:-3000}
. "$(dirname "$0")/tap.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "not ok 1 - node and npm are needed (scripts/deps.sh installs them)"
    echo "1..1"
    exit 1
fi
if [ ! -f "$NODE_DIR/node_modules/ajv/package.json" ]; then
    mkdir -p "$NODE_DIR"
    [ -f "$NODE_DIR/package.json" ] || echo '{"private": true}' >"$NODE_DIR/package.json"
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent ajv@8.17.1 >"$TMP/npm.log" 2>&1)
fi
if [ -f "$NODE_DIR/node_modules/ajv/package.json" ]; then
    ok "ajv 8.17.1 is installed in $NODE_DIR"
else
    sed 's/^/# /' "$TMP/npm.log"
    not_ok "ajv 8.17.1 is installed in $NODE_DIR (npm install failed: offline? see above)"
    tap_done
    exit 1
fi

NODE_PATH="$NODE_DIR/node_modules" node "$HERE/schema_diff.js" "$SY" "$CONF" "$TMP/docs" \
    "$SEED" "$COUNT" >"$TMP/diff" 2>&1
status=$?
grep -v '^  document' "$TMP/diff" | grep -E '^(#|compared)' | sed 's/^\([^#]\)/# \1/'
summary=$(grep '^compared' "$TMP/diff")
grep -A1 '^DISAGREE' "$TMP/diff" >"$TMP/out"
: >"$TMP/err"
if [ $status -eq 0 ] && [ -n "$summary" ]; then
    ok "flags validate --strict = flagd's JSON schema (ajv): $summary (seed $SEED)"
else
    grep HARNESS "$TMP/diff" >>"$TMP/out"
    sed 's/^/# /' "$TMP/out" # every one, with its document (not_ok shows 20 lines)
    : >"$TMP/out"
    not_ok "flags validate --strict = flagd's JSON schema (ajv): ${summary:-no summary} (seed $SEED)"
fi
tap_done
