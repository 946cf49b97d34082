#!/bin/sh
# console_tripwires.sh - the console's tripwires and risk page (#/tripwires) in Debian's
# chromium, against a real server with data of its own.
#
# Over curl first: two tripwires enabled (WHOLESALE/contract_rate, THROTTLE at 20 %, and
# BUYER_MATCH/match_success, THROTTLE at 25 %), a risk policy for each domain, and KPI
# events (POST /v1/kpi) that will trip the first (the window at 20 % against a baseline of
# 95 %) and leave the second ok (94 % against 95 %); a running experiment whose flag OFREP
# serves. Nothing is evaluated yet: the console's "Evaluate now" does it. Then
# console_tripwires.js in chromium: the page's figures against /v1/regression/state,
# /v1/regression/policies, /v1/risk/policies and /v1/risk/ledger; Evaluate now; the ledger
# after check-and-reserve calls, and its day picker; the kill switch engaged in the console
# (an empty reason refused, the server's problem shown), /v1/go-live/state engaged and
# production actions refused as the API says, then released; an editor and a viewer
# (their actions disabled, the role the reason); the triggered tripwire re-enabled with a
# reason (its domain's risk policy restored) and evaluated again; a KILL_SWITCH tripwire on
# a mean tripped (the kill switch engaged by "tripwire"), released in the console; 1,000 tripwires, risk policies and ledger
# entries in a workspace of their own (25 a page). axe-core on each state of the page,
# screenshots into OUT_DIR (tripwires, tripwires-engaged, tripwires-viewer, ...).
#
#   console_tripwires.sh SWITCHYARD NODE_DIR OUT_DIR
set -u
SY=$1
NODE_DIR=$2
OUT=$3
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/console_common.sh"
console_setup "$NODE_DIR" "$OUT"

two_workspaces "$SY"
# the timer never evaluates during the test: only the console's "Evaluate now" does
start_server "$SY" --seed-flags "$ROOT/examples/flags.json" --regression-interval 0 --quiet
check "the server starts" 0 "" "" -- test -n "$PORT"

expect "WHOLESALE/contract_rate enabled (THROTTLE, 20 %)" 200 '.enabled and .action == "THROTTLE"' -- \
    POST /v1/regression/policies "$ADMIN" '{"domain":"WHOLESALE","metric":"contract_rate","enabled":true,"reason":"watch contracts"}'
expect "BUYER_MATCH/match_success enabled (THROTTLE, 25 %)" 200 '.enabled and .max_drop_fraction == 0.25' -- \
    POST /v1/regression/policies "$ADMIN" '{"domain":"BUYER_MATCH","metric":"match_success","enabled":true,"reason":"watch matches"}'
expect "a risk policy for WHOLESALE: 1,000 an action, 5,000 a day" 200 '.enabled and .max_per_action == 1000' -- \
    PUT /v1/risk/policies/WHOLESALE "$ADMIN" '{"enabled":true,"max_per_action":1000,"max_per_day":5000,"reason":"go live"}'
expect "a risk policy for BUYER_MATCH: no limits" 200 '.enabled and .max_per_day == null' -- \
    PUT /v1/risk/policies/BUYER_MATCH "$ADMIN" '{"enabled":true,"reason":"go live"}'
# 200 events at 95 % then 50 at 20 % (WHOLESALE); 200 at 95 % then 50 at 94 % (BUYER_MATCH)
awk 'BEGIN { printf "{\"events\":["; s = "";
    for (i = 0; i < 200; i++) { printf "%s{\"domain\":\"WHOLESALE\",\"metric\":\"contract_rate\",\"success\":%s,\"actor\":\"deal-svc\"}", s, (i % 20) ? "true" : "false"; s = "," }
    for (i = 0; i < 200; i++) printf ",{\"domain\":\"BUYER_MATCH\",\"metric\":\"match_success\",\"success\":%s,\"actor\":\"match-svc\"}", (i % 20) ? "true" : "false"
    for (i = 0; i < 50; i++) printf ",{\"domain\":\"WHOLESALE\",\"metric\":\"contract_rate\",\"success\":%s,\"actor\":\"deal-svc\"}", (i % 5) ? "false" : "true"
    for (i = 0; i < 50; i++) printf ",{\"domain\":\"BUYER_MATCH\",\"metric\":\"match_success\",\"success\":%s,\"actor\":\"match-svc\"}", (i < 3) ? "false" : "true"
    printf "]}" }' >"$TMP/kpi.json"
expect "500 KPI events (POST /v1/kpi)" 200 '.accepted == 500' -- POST /v1/kpi "$SDK" "@$TMP/kpi.json"
expect "nothing is evaluated yet" 200 '[.tripwires[] | .last_checked_at == null] | all' -- \
    GET /v1/regression/state "$VIEWER"
# a running experiment: while the kill switch is engaged OFREP serves its control
req POST /v1/experiments "$ADMIN" "@$ROOT/examples/experiment.json" >/dev/null
expect "checkout-button runs" 200 '.state == "running"' -- POST /v1/experiments/checkout-button/start "$ADMIN"

console_run console_tripwires.js "$URL" "$ADMIN" "$EDITOR" "$VIEWER" "$SDK" "$OTHER" "$OUT"
shots tripwires tripwires-evaluated tripwires-ledger tripwires-engage-dialog tripwires-engaged tripwires-released tripwires-editor \
    tripwires-viewer tripwires-reenabled tripwires-killed-by-tripwire tripwires-1000

stop_server
check "the server stops cleanly" 0 "" "" -- test "${STOP_STATUS:-1}" = 0
tap_done
