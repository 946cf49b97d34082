#!/bin/sh
# emergency_rollback.sh - one command for the runbook's first step (issue 23): POST
# /v1/emergency-rollback and `switchyard emergency-rollback` send every running experiment
# of the workspace to its control and every route to legacy, audited with the reason,
# timed; drafts and other workspaces untouched; refusals change nothing.
#
#   emergency_rollback.sh SWITCHYARD
set -u
SY=$1
. "$(dirname "$0")/tap.sh"

two_workspaces "$SY"
start_server "$SY" --quiet --proxy-workers 0

exp() { echo "{\"key\":\"$1\",\"variants\":[{\"key\":\"control\",\"weight\":50,\"control\":true},{\"key\":\"treatment\",\"weight\":50}]}"; }
N=60
i=0
while [ $i -lt $N ]; do
    req POST /v1/experiments "$ADMIN" "$(exp "x$i")" >/dev/null
    req POST "/v1/experiments/x$i/start" "$ADMIN" >/dev/null
    i=$((i + 1))
done
req POST /v1/experiments "$ADMIN" "$(exp draft)" >/dev/null
req POST /v1/experiments "$OTHER" "$(exp theirs)" >/dev/null
req POST /v1/experiments/theirs/start "$OTHER" >/dev/null
for r in 1 2 3; do
    req POST /v1/routes "$ADMIN" "{\"name\":\"r$r\",\"listen\":\"127.0.0.1:$((9300 + r))\",\"upstreams\":{\"legacy\":\"127.0.0.1:9101\",\"new\":\"127.0.0.1:9102\"},\"percentage\":25}" >/dev/null
done
req POST /v1/routes/r3/enabled "$ADMIN" '{"enabled":false,"reason":"parked"}' >/dev/null
expect "setup: $N running, a draft, 3 routes" 200 "[.experiments[] | select(.state == \"running\")] | length == $N" -- GET /v1/experiments "$ADMIN"

snap() { req GET /v1/experiments "$ADMIN" >/dev/null; cp "$TMP/body" "$TMP/$1.exp"; req GET /v1/routes "$ADMIN" >/dev/null; cp "$TMP/body" "$TMP/$1.routes"; }
snap before
expect "an editor may not: 403" 403 "$ERR" -- POST /v1/emergency-rollback "$EDITOR" '{"reason":"x"}'
expect "without a reason: 400 naming it" 400 "$ERR and .error.field == \"reason\"" -- POST /v1/emergency-rollback "$ADMIN" '{}'
expect "an unknown member: 400 unknown_field" 400 '.error.code == "unknown_field" and .error.field == "force"' -- \
    POST /v1/emergency-rollback "$ADMIN" '{"reason":"x","force":true}'
expect "GET: 405" 405 "$ERR" -- GET /v1/emergency-rollback "$ADMIN"
expect "another workspace named: 403 wrong_workspace" 403 '.error.code == "wrong_workspace" and .error.field == "workspace"' -- \
    POST /v1/emergency-rollback "$ADMIN" '{"reason":"x","workspace":"other"}'
expect "... a workspace that does not exist: the same answer" 403 '.error.code == "wrong_workspace"' -- \
    POST /v1/emergency-rollback "$ADMIN" '{"reason":"x","workspace":"nowhere"}'
expect "... a workspace that is not text: 400" 400 '.error.field == "workspace"' -- \
    POST /v1/emergency-rollback "$ADMIN" '{"reason":"x","workspace":7}'
snap refused
check "... the refusals changed nothing" 0 "" "" -- sh -c "cmp -s '$TMP/before.exp' '$TMP/refused.exp' && cmp -s '$TMP/before.routes' '$TMP/refused.routes'"

expect "the rollback: every running experiment and every enabled route, timed" 200 \
    ".experiments_rolled_back == $N and .routes_disabled == 2 and .experiments_failed == 0 and .routes_failed == 0 and .first_failure == null and (.took_ms | type) == \"number\" and .took_ms < 30000" -- \
    POST /v1/emergency-rollback "$ADMIN" '{"reason":"checkout errors at 14:02","workspace":"default"}'
expect "... the experiments are rolled back, the draft is not" 200 \
    "([.experiments[] | select(.state == \"rolled_back\")] | length) == $N and ([.experiments[] | select(.def.key == \"draft\" or .key == \"draft\")][0].state == \"draft\")" -- \
    GET /v1/experiments "$ADMIN"
expect "... OFREP serves control" 200 '.variant == "control"' -- \
    POST /ofrep/v1/evaluate/flags/x7 "$SDK" '{"context":{"targetingKey":"anyone"}}'
expect "... every route disabled, to legacy" 200 'all(.routes[]; .enabled == false)' -- GET /v1/routes "$ADMIN"
expect "... each route's change audited with the reason" 200 \
    "[.events[] | select(.action == \"route.enabled\" and .after.reason == \"emergency rollback: checkout errors at 14:02\")] | length == 2" -- \
    GET "/v1/audit?limit=500" "$ADMIN"
expect "... each experiment's rollback in its history with the reason" 200 \
    '.history[-1].action == "rollback" and (.history[-1] | tostring | test("emergency rollback: checkout errors at 14:02"))' -- \
    GET /v1/experiments/x7/history "$ADMIN"
expect "... another workspace untouched" 200 '.state == "running"' -- GET /v1/experiments/theirs "$OTHER"
expect "again: nothing left to roll back" 200 '.experiments_rolled_back == 0 and .routes_disabled == 0' -- \
    POST /v1/emergency-rollback "$ADMIN" '{"reason":"again"}'

export SWITCHYARD_URL="$URL" SWITCHYARD_TOKEN="$OTHER"
check "the CLI with --workspace not the token's: refused, exit 1" 1 "" "wrong_workspace|another workspace" -- \
    "$SY" emergency-rollback --reason "drill" --workspace default
expect "... and nothing went back" 200 '.state == "running"' -- GET /v1/experiments/theirs "$OTHER"
check "the CLI: what went back and how long it took" 0 "^rolled back 1 experiments to control and 0 routes to legacy in [0-9]+ ms$" "" -- \
    "$SY" emergency-rollback --reason "drill" --workspace other
check "... without a reason: usage" 2 "" "--reason is required" -- "$SY" emergency-rollback
check "... an empty reason: usage too" 2 "" "--reason is required" -- "$SY" emergency-rollback --reason ""
check "... --json" 0 '"experiments_rolled_back": 0' "" -- "$SY" emergency-rollback --reason again --json
SWITCHYARD_TOKEN="$EDITOR" check "... refused for an editor: exit 1" 1 "" "403|forbidden|role" -- "$SY" emergency-rollback --reason x
unset SWITCHYARD_URL SWITCHYARD_TOKEN
stop_server
tap_done
