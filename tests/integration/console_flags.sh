#!/bin/sh
# console_flags.sh - the console's flags page (#/flags, #/flags/KEY) in Debian's chromium,
# driven by playwright-core with axe-core in the page (console_common.sh), against a server
# of its own: the flags of examples/flags.json (PUT /v1/flagset), one with a description, and the flag of a
# running experiment (checkout-button, examples/experiment.json).
#
# console_flags.js then checks the list against GET /v1/flags and /v1/experiments, the
# search, a flag's view against GET /v1/flags/KEY, an edit with mistakes (each problem at
# its path and line; nothing changed, as the API says) and its fix (saved, the audit
# entry), a save with a warning at its path, evaluations against OFREP called from node,
# a flag created and deleted, a driven flag's editing disabled, a viewer's, and the first
# page of 1,000 flags (in a workspace of their own) within 1 s, the figure printed.
#
#   console_flags.sh SWITCHYARD NODE_DIR OUT_DIR
set -u
SY=$1
NODE_DIR=$2
OUT=$3
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/console_common.sh"
console_setup "$NODE_DIR" "$OUT"

console_db
start_server "$SY" --quiet
check "the server starts" 0 "" "" -- test -n "$PORT"

expect "the example flags (examples/flags.json) are imported" 200 '.flags == 3' -- \
    PUT /v1/flagset "$ADMIN" "$(cat "$ROOT/examples/flags.json")"
expect "a flag with a description (its metadata's)" 201 "" -- PUT /v1/flags/dark-mode "$ADMIN" \
    '{"state":"DISABLED","variants":{"dark":"dark","light":"light"},"defaultVariant":"light","metadata":{"description":"Night theme for the storefront"}}'
export SWITCHYARD_URL="$URL" SWITCHYARD_TOKEN="$ADMIN"
check "an experiment drives its flag (checkout-button, started)" 0 "" "" -- \
    sh -c "'$SY' experiment create '$ROOT/examples/experiment.json' >/dev/null && '$SY' experiment start checkout-button >/dev/null"
expect "... and the API refuses the flag's changes meanwhile" 409 '.error.code == "conflict"' -- \
    PUT /v1/flags/checkout-button "$ADMIN" '{"state":"ENABLED","variants":{"blue":"#06c","green":"#0a0"},"defaultVariant":"blue"}'

console_run console_flags.js "$URL" "$ADMIN" "$VIEWER" "$BIG" "$OUT"
shots flags flag flag-error flag-warning flags-viewer flag-viewer flags-1000

stop_server
check "the server stops cleanly" 0 "" "" -- test "${STOP_STATUS:-1}" = 0
tap_done
