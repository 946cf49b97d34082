#!/bin/sh
# timeline.sh - GET /v1/experiments/{key}/timeline on a real server (issue 24): a point at
# the start and at each allocation change with its cause, its numbers those /results gave
# at that moment, pages with next_since_ms, every refusal (limit, since_ms, unknown
# parameters, roles, another workspace) changing nothing, and the points kept across a
# restart. The hourly points run on the engine's clock: tests/unit/engine/test_timeline.
#
#   timeline.sh SWITCHYARD
set -u
SY=$1
. "$(dirname "$0")/tap.sh"

two_workspaces "$SY"
start_server "$SY" --quiet --proxy-workers 0

exp() { echo "{\"key\":\"$1\",\"variants\":[{\"key\":\"control\",\"weight\":50,\"control\":true},{\"key\":\"treatment\",\"weight\":50}]$2}"; }
req POST /v1/experiments "$ADMIN" "$(exp tl "")" >/dev/null
req POST /v1/experiments "$ADMIN" "$(exp seq ',"safety":{"sequential":true}')" >/dev/null
req POST /v1/experiments "$ADMIN" "$(exp draft "")" >/dev/null
expect "a draft has no point" 200 '.experiment == "draft" and .points == [] and .next_since_ms == null' -- \
    GET /v1/experiments/draft/timeline "$VIEWER"
expect "start" 200 "" -- POST /v1/experiments/tl/start "$ADMIN"
expect "... one point, cause start, the live weights" 200 \
    '(.points | length) == 1 and .points[0].cause == "start" and .points[0].weights == {"control":50,"treatment":50} and .sequential == false and (.points[0].at_ms | type) == "number" and .points[0].decision == "continue"' -- \
    GET /v1/experiments/tl/timeline "$VIEWER"

# 400 units a variant, 40 % against 50 % conversions
evs() {
    i=0
    printf '{"events":['
    while [ $i -lt 400 ]; do
        [ $i -gt 0 ] && printf ','
        printf '{"type":"exposure","unit":"c%d","experiment":"%s","variant":"control"},{"type":"exposure","unit":"t%d","experiment":"%s","variant":"treatment"}' $i "$1" $i "$1"
        [ $((i % 10)) -lt 4 ] && printf ',{"type":"outcome","unit":"c%d","experiment":"%s","success":true}' $i "$1"
        [ $((i % 10)) -lt 5 ] && printf ',{"type":"outcome","unit":"t%d","experiment":"%s","success":true}' $i "$1"
        i=$((i + 1))
    done
    printf ']}'
}
evs tl >"$TMP/evs.json"
expect "events" 200 "" -- POST /v1/events "$SDK" "$(cat "$TMP/evs.json")"
expect "a step: 50 -> 70" 200 '.applied == true' -- \
    POST /v1/experiments/tl/allocation/apply "$ADMIN" '{"winning_variant":"treatment","confidence":0.99,"delta":10}'
req GET /v1/experiments/tl/results "$VIEWER" >/dev/null
cp "$TMP/body" "$TMP/results.json"
expect "... a point with cause step, the new weights, the counts" 200 \
    '(.points | length) == 2 and .points[1].cause == "step" and .points[1].weights == {"control":30,"treatment":70} and .points[1].variants == [{"key":"control","units":400,"conversions":160,"rate":0.4,"interval":.points[1].variants[0].interval},{"key":"treatment","units":400,"conversions":200,"rate":0.5,"interval":.points[1].variants[1].interval}] and .points[0].at_ms <= .points[1].at_ms' -- \
    GET /v1/experiments/tl/timeline "$VIEWER"
cp "$TMP/body" "$TMP/tl.json"
check "... its lift, p-value and confidence those /results gives, the rate's interval around the rate" 0 "true" "" -- \
    jq -n --slurpfile t "$TMP/tl.json" --slurpfile r "$TMP/results.json" \
    '$t[0].points[1] as $p | $r[0].variants[1].vs_control as $v | ($p.comparisons == [{"variant":"treatment","lift":$v.lift,"interval":$v.lift_ci,"p_value":$v.p_value,"confidence":$v.confidence}]) and ($p.variants[0].interval[0] < 0.4 and $p.variants[0].interval[1] > 0.4 and $p.variants[0].interval[1] - $p.variants[0].interval[0] < 0.1) and ($p.srm_p | type) == "number"'
req GET /v1/experiments/tl/health "$VIEWER" >/dev/null
cp "$TMP/body" "$TMP/health.json"
expect "a rollback: a point with cause rollback, all on control" 200 "" -- \
    DELETE /v1/experiments/tl/promote "$ADMIN" '{"reason":"drill"}'
expect "... the point" 200 '(.points | length) == 3 and .points[2].cause == "rollback" and .points[2].weights == {"control":100,"treatment":0}' -- \
    GET /v1/experiments/tl/timeline "$VIEWER"
cp "$TMP/body" "$TMP/tl.json"
check "... health: the monitor's view just before each change (GET .../health's before the rollback; nothing watched before the step)" 0 "true" "" -- \
    jq -n --slurpfile t "$TMP/tl.json" --slurpfile h "$TMP/health.json" \
    '$t[0].points[0].health == null and $t[0].points[1].health == null and $t[0].points[2].health.watched == "treatment" and ([$t[0].points[2].health | .watched, .baseline, .current, .source] == ($h[0].health | [.watched, .baseline, .current, .source]))'

expect "a sequential experiment: sequential true, always-valid p" 200 "" -- POST /v1/experiments/seq/start "$ADMIN"
evs seq >"$TMP/evs2.json"
req POST /v1/events "$SDK" "$(cat "$TMP/evs2.json")" >/dev/null
expect "... promote it" 200 "" -- POST /v1/experiments/seq/promote "$ADMIN" '{"variant":"treatment"}'
req GET /v1/experiments/seq/results "$VIEWER" >/dev/null
cp "$TMP/body" "$TMP/results2.json"
req GET /v1/experiments/seq/timeline "$VIEWER" >/dev/null
cp "$TMP/body" "$TMP/tl2.json"
check "... promote: its point holds the always-valid p and interval /results gives" 0 "true" "" -- \
    jq -n --slurpfile t "$TMP/tl2.json" --slurpfile r "$TMP/results2.json" \
    '$t[0].sequential == true and ($t[0].points | map(.cause)) == ["start","promote"] and $t[0].points[1].weights == {"control":0,"treatment":100} and ($r[0].variants[1].vs_control as $v | $t[0].points[1].comparisons[0].p_value == $v.always_valid_p and $t[0].points[1].comparisons[0].interval == $v.lift_ci and $v.interval == "always-valid")'

# pages
AT1=$(jq '.points[1].at_ms' "$TMP/tl.json")
expect "limit=1: the oldest, and where the next page starts" 200 \
    '(.points | length) == 1 and .points[0].cause == "start" and .next_since_ms != null' -- \
    GET "/v1/experiments/tl/timeline?limit=1" "$VIEWER"
NEXT=$(jq '.next_since_ms' "$TMP/body")
expect "... the next page from next_since_ms" 200 '(.points | map(.cause)) == ["step","rollback"] and .next_since_ms == null' -- \
    GET "/v1/experiments/tl/timeline?since_ms=$NEXT" "$VIEWER"
expect "until_ms bounds it (inclusive)" 200 "(.points | map(.cause)) == [\"start\",\"step\"]" -- \
    GET "/v1/experiments/tl/timeline?until_ms=$AT1&since_ms=0" "$VIEWER"

req GET /v1/experiments/tl/timeline "$VIEWER" >/dev/null
cp "$TMP/body" "$TMP/before"
for q in limit=0 limit=10001 limit=x limit=-1 since_ms=-5 until_ms=1.5 since_ms= \
    since_ms=9223372036854775808 until_ms=99999999999999999999 limit=+5 limit=%205; do
    f=${q%%=*}
    expect "?$q: 400 naming $f" 400 "$ERR and .error.field == \"$f\"" -- GET "/v1/experiments/tl/timeline?$q" "$VIEWER"
done
expect "since_ms after until_ms: 400 naming since_ms" 400 "$ERR and .error.field == \"since_ms\"" -- \
    GET "/v1/experiments/tl/timeline?since_ms=10&until_ms=5" "$VIEWER"
expect "an unknown parameter: 400 unknown_field" 400 '.error.code == "unknown_field" and .error.field == "from"' -- \
    GET "/v1/experiments/tl/timeline?from=1" "$VIEWER"
expect "no token: 401" 401 "$ERR" -- GET /v1/experiments/tl/timeline ""
expect "an SDK token: 403" 403 "$ERR" -- GET /v1/experiments/tl/timeline "$SDK"
expect "another workspace: 404" 404 "$ERR" -- GET /v1/experiments/tl/timeline "$OTHER"
expect "an unknown experiment: 404" 404 "$ERR" -- GET /v1/experiments/nope/timeline "$VIEWER"
expect "POST: 405" 405 "$ERR" -- POST /v1/experiments/tl/timeline "$ADMIN" '{}'
req GET /v1/experiments/tl/timeline "$VIEWER" >/dev/null
check "... the refusals changed nothing" 0 "" "" -- cmp -s "$TMP/before" "$TMP/body"

stop_server
start_server "$SY" --quiet --proxy-workers 0
req GET /v1/experiments/tl/timeline "$VIEWER" >/dev/null
check "a restart keeps every point, byte for byte" 0 "" "" -- cmp -s "$TMP/before" "$TMP/body"
tap_done
