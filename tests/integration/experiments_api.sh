#!/bin/sh
# experiments_api.sh - drives a real `switchyard serve` with curl: experiments over new and
# existing flags, the life cycle and its 409s, the flag's split served over OFREP, event
# ingest (bad events refused whole with the field named, idempotent ids), results and
# promotion, exposures recorded from OFREP, roles and workspace isolation, a restart that
# rebuilds the aggregates exactly, and the audit trail.
#
#   experiments_api.sh SWITCHYARD
set -u
SY=$1
. "$(dirname "$0")/tap.sh"

ERR='.error.code != null and .error.message != null and .error.field != null'
"$SY" workspace create default --db "$DB" >/dev/null
"$SY" workspace create other --db "$DB" >/dev/null
ADMIN=$("$SY" token create --db "$DB" --role admin --name alice)
VIEWER=$("$SY" token create --db "$DB" --role viewer --name val)
SDK=$("$SY" token create --db "$DB" --role sdk --name app)
OTHER=$("$SY" token create --db "$DB" --workspace other --role admin --name mallory)
start_server "$SY" --quiet

# ---- definitions -----------------------------------------------------------------------------
EXP='{"key":"btn","variants":[{"key":"control","weight":50,"control":true},{"key":"green","weight":50}],"safety":{"min_sample_per_variant":200,"min_runtime_hours":0}}'
expect "create over a new flag: 201, draft" 201 \
    '.key == "btn" and .state == "draft" and .flag == "btn" and .safety.min_confidence == 0.95 and .safety.max_error_rate == 0.05 and .metric == "conversion"' -- \
    POST /v1/experiments "$ADMIN" "$EXP"
expect "the new flag serves control" 200 \
    '.definition.defaultVariant == "control" and (.definition.targeting == null)' -- GET /v1/flags/btn "$ADMIN"
expect "the same key again: 409" 409 "$ERR and .error.field == \"key\"" -- POST /v1/experiments "$ADMIN" "$EXP"
expect "a second experiment on the same flag: 409" 409 "$ERR and .error.code == \"conflict\"" -- \
    POST /v1/experiments "$ADMIN" '{"key":"btn2","flag":"btn","variants":[{"key":"control","weight":1,"control":true},{"key":"green","weight":1}]}'
bad() { # NAME FIELD BODY
    expect "refused: $1" 400 "$ERR and .error.field == \"$2\"" -- POST /v1/experiments "$ADMIN" "$3"
}
bad "one variant" variants '{"key":"x","variants":[{"key":"a","weight":1,"control":true}]}'
bad "no control" variants '{"key":"x","variants":[{"key":"a","weight":1},{"key":"b","weight":1}]}'
bad "two controls" variants '{"key":"x","variants":[{"key":"a","weight":1,"control":true},{"key":"b","weight":1,"control":true}]}'
bad "a negative weight" 'variants[1].weight' '{"key":"x","variants":[{"key":"a","weight":1,"control":true},{"key":"b","weight":-1}]}'
bad "a fractional weight" 'variants[1].weight' '{"key":"x","variants":[{"key":"a","weight":1,"control":true},{"key":"b","weight":0.5}]}'
bad "weights that round the control to 0 %" variants '{"key":"x","variants":[{"key":"a","weight":1,"control":true},{"key":"b","weight":1000000}]}'
bad "weights that round every treatment to 0 %" variants '{"key":"x","variants":[{"key":"a","weight":1000,"control":true},{"key":"b","weight":1},{"key":"c","weight":1}]}'
bad "a variant twice" 'variants[1].key' '{"key":"x","variants":[{"key":"a","weight":1,"control":true},{"key":"a","weight":1}]}'
bad "an unknown metric" metric '{"key":"x","metric":"clicks","variants":[{"key":"a","weight":1,"control":true},{"key":"b","weight":1}]}'
bad "a confidence of 1" safety.min_confidence '{"key":"x","variants":[{"key":"a","weight":1,"control":true},{"key":"b","weight":1}],"safety":{"min_confidence":1.5}}'
bad "an unknown safety field" safety.speed '{"key":"x","variants":[{"key":"a","weight":1,"control":true},{"key":"b","weight":1}],"safety":{"speed":1}}'
bad "an unknown field" colour '{"key":"x","colour":1,"variants":[{"key":"a","weight":1,"control":true},{"key":"b","weight":1}]}'
bad "an unknown guardrail" 'guardrails[1]' '{"key":"x","guardrails":["error_rate","cpu"],"variants":[{"key":"a","weight":1,"control":true},{"key":"b","weight":1}]}'
FLAG='{"state":"ENABLED","variants":{"off":false,"on":true},"defaultVariant":"off"}'
expect "an existing flag" 201 "" -- PUT /v1/flags/checkout "$ADMIN" "$FLAG"
bad "a variant the existing flag lacks" 'variants[1]' '{"key":"co","flag":"checkout","variants":[{"key":"off","weight":1,"control":true},{"key":"blue","weight":1}]}'
expect "... and nothing was created" 404 "$ERR" -- GET /v1/experiments/x "$ADMIN"
expect "create over the existing flag" 201 '.flag == "checkout"' -- POST /v1/experiments "$ADMIN" \
    '{"key":"co","flag":"checkout","metric":"mean","variants":[{"key":"off","weight":1,"control":true},{"key":"on","weight":1}],"record_exposures":true}'
expect "viewer cannot create: 403" 403 "$ERR" -- POST /v1/experiments "$VIEWER" "$EXP"
expect "list, in creation order" 200 '[.experiments[].key] == ["btn", "co"]' -- GET /v1/experiments "$VIEWER"
expect "another workspace sees none" 200 '.experiments == []' -- GET /v1/experiments "$OTHER"
expect "... nor can read one: 404" 404 "$ERR" -- GET /v1/experiments/btn "$OTHER"
expect "... nor start one: 404" 404 "$ERR" -- POST /v1/experiments/btn/start "$OTHER"

# ---- life cycle ------------------------------------------------------------------------------
expect "stopping a draft: 409" 409 "$ERR and .error.code == \"conflict\"" -- POST /v1/experiments/btn/stop "$ADMIN"
expect "events for a draft: 409 naming the experiment" 409 '.error.field == "events[0].experiment"' -- \
    POST /v1/events "$SDK" '{"events":[{"type":"exposure","unit":"u","experiment":"btn","variant":"green"}]}'
# A step takes no field: a body other than none or {} is refused, and the step not taken.
expect "start with a body that is not JSON: 400 invalid_json" 400 \
    "$ERR and .error.code == \"invalid_json\" and .error.field == \"\"" -- \
    POST /v1/experiments/btn/start "$ADMIN" '{"reason":'
expect "start with a field: 400 unknown_field naming it" 400 \
    "$ERR and .error.code == \"unknown_field\" and .error.field == \"reason\"" -- \
    POST /v1/experiments/btn/start "$ADMIN" '{"reason":"go"}'
expect "start with a body that is not an object: 400 invalid_input" 400 \
    "$ERR and .error.code == \"invalid_input\" and .error.field == \"\"" -- \
    POST /v1/experiments/btn/start "$ADMIN" '[]'
expect "... and it is still a draft" 200 '.state == "draft" and .started_ms == null' -- \
    GET /v1/experiments/btn "$ADMIN"
expect "start: running" 200 '.state == "running" and .started_ms > 0' -- POST /v1/experiments/btn/start "$ADMIN"
expect "starting twice: 409" 409 "$ERR" -- POST /v1/experiments/btn/start "$ADMIN"
expect "the flag now splits by weight" 200 \
    '.definition.targeting == {"fractional":[["control",50],["green",50]]}' -- GET /v1/flags/btn "$ADMIN"
expect "the flag API may not change a driven flag: 409" 409 "$ERR" -- PUT /v1/flags/btn "$ADMIN" "$FLAG"
expect "... nor delete it: 409" 409 "$ERR" -- DELETE /v1/flags/btn "$ADMIN"
req GET /v1/flagset "$ADMIN" >/dev/null
jq '.flags.btn.defaultVariant = "green"' "$TMP/body" >"$TMP/doc.json"
expect "... nor an import change it: 409" 409 "$ERR" -- PUT /v1/flagset "$ADMIN" "$(cat "$TMP/doc.json")"
# OFREP serves the split: the same units get what `switchyard eval` gives for the flag
req GET /v1/flags/btn "$ADMIN" >/dev/null
jq '{flags: {btn: .definition}}' "$TMP/body" >"$TMP/btn.json"
same=0
for u in u1 u2 u3 u4 u5 u6 u7 u8; do
    req POST /ofrep/v1/evaluate/flags/btn "$SDK" "{\"context\":{\"targetingKey\":\"$u\"}}" >/dev/null
    a=$(jq -r .variant "$TMP/body")
    b=$("$SY" eval --flags "$TMP/btn.json" --flag btn --context "{\"targetingKey\":\"$u\"}" --json | jq -r .variant)
    [ "$a" = "$b" ] && [ -n "$a" ] && same=$((same + 1))
done
if [ "$same" -eq 8 ]; then ok "OFREP assigns 8 units as the split says"; else
    echo "# $same of 8" >"$TMP/err"
    : >"$TMP/out"
    not_ok "OFREP assigns 8 units as the split says"
fi

# ---- ingest --------------------------------------------------------------------------------------
ev() { # NAME STATUS FIELD EVENTS-JSON
    expect "$1" "$2" "$3" -- POST /v1/events "$SDK" "{\"events\":$4}"
}
E1='{"type":"exposure","unit":"u1","experiment":"btn","variant":"green","id":"e1"}'
refused() { # NAME FIELD EVENTS (the first is fine, so a refusal is of the whole batch)
    ev "refused whole: $1" 400 "$ERR and .error.field == \"$2\"" "[$E1,$3]"
}
refused "unknown variant" 'events[1].variant' '{"type":"exposure","unit":"u2","experiment":"btn","variant":"blue"}'
refused "missing unit" 'events[1].unit' '{"type":"exposure","experiment":"btn","variant":"green"}'
refused "success not boolean" 'events[1].success' '{"type":"outcome","unit":"u2","experiment":"btn","success":"yes"}'
refused "value not a number" 'events[1].value' '{"type":"outcome","unit":"u2","experiment":"btn","value":"9"}'
refused "an outcome with neither success nor value" 'events[1].success' '{"type":"outcome","unit":"u2","experiment":"btn"}'
refused "an unknown type" 'events[1].type' '{"type":"click","unit":"u2","experiment":"btn"}'
refused "an unknown field" 'events[1].colour' '{"type":"error","unit":"u2","experiment":"btn","colour":1}'
refused "an exposure without variant" 'events[1].variant' '{"type":"exposure","unit":"u2","experiment":"btn"}'
refused "a unit with a control character" 'events[1].unit' '{"type":"error","unit":"a\u0001b","experiment":"btn"}'
ev "refused whole: unknown experiment (404)" 404 '.error.field == "events[1].experiment"' \
    "[$E1,{\"type\":\"error\",\"unit\":\"u\",\"experiment\":\"nope\"}]"
expect "invalid JSON: 400 invalid_json" 400 '.error.code == "invalid_json"' -- POST /v1/events "$SDK" '{"events":['
expect "no events: 400" 400 "$ERR and .error.field == \"events\"" -- POST /v1/events "$SDK" '{"events":[]}'
expect "not a list: 400" 400 "$ERR" -- POST /v1/events "$SDK" '{"events":{}}'
expect "a field beside events: 400 unknown_field naming it" 400 \
    "$ERR and .error.code == \"unknown_field\" and .error.field == \"colour\"" -- \
    POST /v1/events "$SDK" "{\"events\":[$E1],\"colour\":1}"
expect "... before events too" 400 ".error.code == \"unknown_field\" and .error.field == \"colour\"" -- \
    POST /v1/events "$SDK" "{\"colour\":1,\"events\":[$E1]}"
awk 'BEGIN { printf "{\"events\":["; for (i = 0; i < 10001; i++) printf "%s{\"type\":\"error\",\"unit\":\"u%d\",\"experiment\":\"btn\"}", (i ? "," : ""), i; print "]}" }' >"$TMP/big.json"
expect "10,001 events: 413" 413 "$ERR and .error.field == \"events\"" -- POST /v1/events "$SDK" "@$TMP/big.json"
expect "the other workspace cannot send to it: 404" 404 '.error.field == "events[0].experiment"' -- \
    POST /v1/events "$OTHER" "{\"events\":[$E1]}"
expect "results: still nothing counted" 200 '.units == 0 and ([.variants[].units] | add) == 0' -- \
    GET /v1/experiments/btn/results "$VIEWER"
ev "a good batch is acknowledged" 200 '.accepted == 1 and .duplicates == 0' "[$E1]"
ev "its retry is accepted once" 200 '.accepted == 0 and .duplicates == 1' "[$E1]"
# 300 units per variant, 10 % vs 15 % conversion, 1 % errors in green: green wins
awk 'BEGIN {
    printf "{\"events\":[";
    n = 0;
    for (i = 0; i < 600; i++) {
        v = (i % 2) ? "green" : "control";
        printf "%s{\"type\":\"exposure\",\"unit\":\"w%d\",\"experiment\":\"btn\",\"variant\":\"%s\",\"id\":\"x%d\"}", (n++ ? "," : ""), i, v, i;
        k = int(i / 2);
        if ((v == "control" && k % 10 == 0) || (v == "green" && k % 20 < 3))
            printf ",{\"type\":\"outcome\",\"unit\":\"w%d\",\"experiment\":\"btn\",\"success\":true,\"id\":\"o%d\"}", i, i;
        if (v == "green" && k % 100 == 0)
            printf ",{\"type\":\"error\",\"unit\":\"w%d\",\"experiment\":\"btn\"}", i;
    }
    print "]}" }' >"$TMP/batch.json"
expect "a batch of 600 exposures and their outcomes" 200 '.accepted > 600 and .duplicates == 0' -- \
    POST /v1/events "$SDK" "@$TMP/batch.json"
expect "an outcome before its exposure counts once the exposure comes" 200 '.accepted == 2' -- \
    POST /v1/events "$SDK" '{"events":[{"type":"outcome","unit":"late","experiment":"btn","success":true},{"type":"exposure","unit":"late","experiment":"btn","variant":"control"}]}'
expect "results: counts per variant" 200 \
    '(.variants[0].units == 301 and .variants[0].conversions == 31 and .variants[1].units == 301 and .variants[1].conversions == 45 and .variants[1].errors == 3 and .variants[0].rate > 0.1)' -- \
    GET /v1/experiments/btn/results "$VIEWER"
expect "results: lift with its interval, p, Bayes, power, SRM" 200 \
    '.variants[1].vs_control | (.lift > 0.4 and .lift_ci[0] < .lift and .lift < .lift_ci[1] and .p_value > 0 and .p_value < 1 and .confidence > 0 and .chance_to_beat_control > 0.9 and .expected_loss >= 0 and .power > 0 and .sample_needed.control > 0 and .checks.min_sample == true)' -- \
    GET /v1/experiments/btn/results "$VIEWER"
expect "results: SRM checked, a decision with reasons" 200 \
    '.srm.mismatch == false and .srm.df == 1 and (.decision | IN("promote","continue","terminate")) and (.reasons | length) > 0' -- \
    GET /v1/experiments/btn/results "$VIEWER"
cp "$TMP/body" "$TMP/results.before"
# Results take no query parameter: each is refused, named as it was written.
expect "results: an unknown parameter: 400 unknown_field naming it" 400 \
    "$ERR and .error.code == \"unknown_field\" and .error.field == \"variant\"" -- \
    GET "/v1/experiments/btn/results?variant=green" "$VIEWER"
expect "results: a value with a bad %-escape: 400 invalid_input naming its parameter" 400 \
    "$ERR and .error.code == \"invalid_input\" and .error.field == \"alpha\"" -- \
    GET "/v1/experiments/btn/results?alpha=0.0%5" "$VIEWER"
expect "results: a name with a bad %-escape: 400 invalid_input naming it as written" 400 \
    '.error.code == "invalid_input" and .error.field == "%zz"' -- GET "/v1/experiments/btn/results?%zz" "$VIEWER"
expect "results: an empty query is no parameter" 200 '.experiment == "btn"' -- \
    GET "/v1/experiments/btn/results?&" "$VIEWER"
expect "promotion: the five checks" 200 \
    '.winner == "green" and (.checks | keys) == ["max_error_rate","min_confidence","min_improvement","min_runtime","min_sample"] and (.eligible | type) == "boolean" and (.warnings | length) > 0' -- \
    GET /v1/experiments/btn/promotion "$VIEWER"
expect "an sdk token cannot read results: 403" 403 "$ERR" -- GET /v1/experiments/btn/results "$SDK"

# ---- exposures OFREP records ---------------------------------------------------------------------
expect "start the experiment that records exposures" 200 '.state == "running"' -- POST /v1/experiments/co/start "$ADMIN"
for u in r1 r2 r3 r1 r2; do
    req POST /ofrep/v1/evaluate/flags/checkout "$SDK" "{\"context\":{\"targetingKey\":\"$u\"}}" >/dev/null
done
req POST /ofrep/v1/evaluate/flags "$SDK" '{"context":{"targetingKey":"r4"}}' >/dev/null
expect "a refused OFREP request (an unknown field) records no exposure" 400 '.errorCode == "INVALID_CONTEXT"' -- \
    POST /ofrep/v1/evaluate/flags/checkout "$SDK" '{"context":{"targetingKey":"r5"},"user":"r5"}'
expect "... nor a refused bulk one" 400 '.errorCode == "INVALID_CONTEXT"' -- \
    POST /ofrep/v1/evaluate/flags "$SDK" '{"context":{"targetingKey":"r6"},"flags":["checkout"]}'
# The exposures commit with the next batch (or within the loop's next turn).
expect "ingest after OFREP" 200 "" -- POST /v1/events "$SDK" '{"events":[{"type":"outcome","unit":"r1","experiment":"co","value":2.5}]}'
expect "four units exposed through OFREP, each once" 200 '([.variants[].units] | add) == 4 and .units == 4' -- \
    GET /v1/experiments/co/results "$VIEWER"
expect "mean metric: means and sds" 200 '.metric == "mean" and (.variants[0] | has("mean") and has("sd"))' -- \
    GET /v1/experiments/co/results "$VIEWER"

# ---- restart -------------------------------------------------------------------------------------
expect "a draft whose stored row will give its control 0 %" 201 '.state == "draft"' -- \
    POST /v1/experiments "$ADMIN" '{"key":"zc","variants":[{"key":"a","weight":1,"control":true},{"key":"b","weight":1}]}'
stop_server
# a row as an older build could write it (its control rounded to 0 %): the store still opens
if [ "$BACKEND" = postgres ]; then
    db_sql "UPDATE experiments SET definition = jsonb_set(jsonb_set(definition::jsonb,
        '{variants,0,weight}', '0'), '{variants,1,weight}', '100')::text WHERE key = 'zc'"
else
    db_sql "UPDATE experiments SET definition = json_set(json_set(definition,
        '$.variants[0].weight', 0), '$.variants[1].weight', 100) WHERE key = 'zc'"
fi
chk_status() {
    if [ "$STOP_STATUS" -eq 0 ]; then ok "$1"; else
        echo "# exit $STOP_STATUS" >"$TMP/err"
        : >"$TMP/out"
        not_ok "$1"
    fi
}
chk_status "SIGTERM: exit 0"
start_server "$SY" --quiet
expect "a stored row is loaded as written (control at 0 %)" 200 '.variants[0].weight == 0' -- \
    GET /v1/experiments/zc "$VIEWER"
expect "after a restart the results are the same" 200 '.experiment == "btn"' -- GET /v1/experiments/btn/results "$VIEWER"
jq -S 'del(.runtime_hours)' "$TMP/body" >"$TMP/a"
jq -S 'del(.runtime_hours)' "$TMP/results.before" >"$TMP/b"
if cmp -s "$TMP/a" "$TMP/b"; then ok "aggregates rebuilt exactly (every number equal)"; else
    diff "$TMP/a" "$TMP/b" >"$TMP/err"
    : >"$TMP/out"
    not_ok "aggregates rebuilt exactly (every number equal)"
fi
ev "ids are still known after a restart" 200 '.accepted == 0 and .duplicates == 1' "[$E1]"
N=$(db_sql "SELECT count(*) FROM events WHERE experiment_id = (SELECT id FROM experiments WHERE key = 'btn')")
G=$(db_sql "SELECT count(DISTINCT event_id) FROM events WHERE event_id IS NOT NULL")
I=$(db_sql "SELECT count(event_id) FROM events")
if [ "$N" -eq 681 ] && [ "$G" = "$I" ]; then ok "the log holds each id once ($N events)"; else
    echo "# events $N, distinct ids $G of $I" >"$TMP/err"
    : >"$TMP/out"
    not_ok "the log holds each id once"
fi

# ---- the latency guardrail -------------------------------------------------------------------------
expect "an experiment with the latency guardrail" 201 \
    '.guardrails == ["error_rate","latency"] and .safety.max_latency_increase_pct == 10' -- \
    POST /v1/experiments "$ADMIN" '{"key":"lat","variants":[{"key":"a","weight":1,"control":true},{"key":"b","weight":1}],"guardrails":["error_rate","latency"]}'
expect "start it" 200 "" -- POST /v1/experiments/lat/start "$ADMIN"
ev "a negative latency is refused" 400 '.error.field == "events[0].latency_ms"' \
    '[{"type":"exposure","unit":"l","experiment":"lat","variant":"a","latency_ms":-1}]'
ev "a latency that is not a number is refused" 400 '.error.field == "events[0].latency_ms"' \
    '[{"type":"exposure","unit":"l","experiment":"lat","variant":"a","latency_ms":"5"}]'
# 200 units per arm, each exposure 100 ms (a) or 130 ms (b), +-10 ms: b is 30 % slower
awk 'BEGIN { printf "{\"events\":["; for (i = 0; i < 400; i++) { v = i % 2 ? "b" : "a"; l = (v == "a" ? 100 : 130) + (i % 3 - 1) * 10; printf "%s{\"type\":\"exposure\",\"unit\":\"l%d\",\"experiment\":\"lat\",\"variant\":\"%s\",\"latency_ms\":%d}", (i ? "," : ""), i, v, l } print "]}" }' >"$TMP/lat.json"
expect "exposures with latencies" 200 '.accepted == 400' -- POST /v1/events "$SDK" "@$TMP/lat.json"
expect "results: latency per variant and the guardrail failed" 200 \
    '.variants[0].latency.n == 200 and (.variants[0].latency.mean_ms | floor) == 100 and .variants[1].vs_control.latency_guardrail.passed == false and .variants[1].vs_control.latency_guardrail.increase > 0.25' -- \
    GET /v1/experiments/lat/results "$VIEWER"
expect "promotion: blocked by the guardrail" 200 \
    '.eligible == false and .guardrails.latency == false and (.warnings | index("the latency guardrail failed")) != null' -- \
    GET /v1/experiments/lat/promotion "$VIEWER"
expect "terminate with a field: 400 unknown_field naming it" 400 \
    '.error.code == "unknown_field" and .error.field == "why"' -- \
    POST /v1/experiments/lat/terminate "$ADMIN" '{"why":"slow"}'
expect "terminate it" 200 "" -- POST /v1/experiments/lat/terminate "$ADMIN"

# ---- ending --------------------------------------------------------------------------------------
expect "stop with a body that is not JSON: 400 invalid_json" 400 \
    "$ERR and .error.code == \"invalid_json\" and .error.field == \"\"" -- \
    POST /v1/experiments/btn/stop "$ADMIN" 'stop'
expect "stop with a field: 400 unknown_field naming it" 400 \
    "$ERR and .error.code == \"unknown_field\" and .error.field == \"force\"" -- \
    POST /v1/experiments/btn/stop "$ADMIN" '{"force":true}'
expect "... and it is still running" 200 '.state == "running" and .stopped_ms == null' -- \
    GET /v1/experiments/btn "$ADMIN"
expect "stop, with {} as its body" 200 '.state == "stopped" and .stopped_ms >= .started_ms' -- \
    POST /v1/experiments/btn/stop "$ADMIN" '{}'
expect "the flag is back as it was before the start" 200 \
    '.definition.targeting == null and .definition.defaultVariant == "control"' -- GET /v1/flags/btn "$ADMIN"
expect "events after the stop: 409" 409 '.error.field == "events[0].experiment"' -- \
    POST /v1/events "$SDK" "{\"events\":[$E1]}"
expect "a stopped experiment cannot restart: 409" 409 "$ERR" -- POST /v1/experiments/btn/start "$ADMIN"
expect "terminate the other" 200 '.state == "terminated"' -- POST /v1/experiments/co/terminate "$ADMIN"
expect "its flag is back too" 200 '.definition == {"state":"ENABLED","variants":{"off":false,"on":true},"defaultVariant":"off"}' -- \
    GET /v1/flags/checkout "$ADMIN"
expect "the flag is free for the flag API again" 200 "" -- PUT /v1/flags/btn "$ADMIN" "$FLAG"
expect "results stay readable" 200 '.state == "stopped" and .variants[1].units == 301' -- \
    GET /v1/experiments/btn/results "$VIEWER"
expect "audit: create, start, stop, each by its actor" 200 \
    '[.events[].action] == ["experiment.stop","experiment.start","experiment.create"] and ([.events[].actor] | unique) == ["alice"]' -- \
    GET "/v1/audit?resource=experiment:btn" "$ADMIN"
expect "audit: the flag's changes beside them" 200 '[.events[].action] | index("flag.update") != null' -- \
    GET "/v1/audit?resource=flag:btn" "$ADMIN"
# ---- the CLI against the server ------------------------------------------------------------------
export SWITCHYARD_URL="$URL"
export SWITCHYARD_TOKEN="$ADMIN"
check "cli: create from --key and --variants (weights as points)" 0 "cli +draft +flag cli, metric conversion: a=25 \(control\) b=75" "" -- \
    "$SY" experiment create --key cli --variants a=1,b=3
check "cli: create from a file" 0 "^file +draft" "" -- sh -c \
    "echo '{\"key\":\"file\",\"variants\":[{\"key\":\"x\",\"weight\":1,\"control\":true},{\"key\":\"y\",\"weight\":1}]}' | \"$SY\" experiment create -"
check "cli: a refused definition names the field, exit 1" 1 "" "weight.*variants\[1\]\.weight.*HTTP 400" -- \
    "$SY" experiment create --key bad --variants a=1,b=2000000
check "cli: bad --variants is a usage error" 2 "" "NAME=WEIGHT" -- \
    "$SY" experiment create --key bad --variants a
check "cli: start" 0 "cli +running" "" -- "$SY" experiment start cli
check "cli: list" 0 "btn .*stopped" "" -- "$SY" experiment list
check "cli: show is JSON" 0 '"state": "running"' "" -- "$SY" experiment show cli
awk 'BEGIN { for (i = 0; i < 2500; i++) { printf "{\"type\":\"exposure\",\"unit\":\"c%d\",\"experiment\":\"cli\",\"variant\":\"%s\",\"id\":\"c%d\"}\n", i, (i % 4 ? "b" : "a"), i; if (i % 5 == 0) printf "\n" } }' >"$TMP/ev.jsonl"
check "cli: events send, in batches" 0 "^2500 events sent: 2500 accepted, 0 duplicates" "" -- \
    "$SY" events send "$TMP/ev.jsonl" --batch 700
check "cli: sending again is all duplicates" 0 "2500 accepted|0 accepted, 2500 duplicates" "" -- \
    "$SY" events send "$TMP/ev.jsonl" --batch 10000
printf '%s\n%s\n' '{"type":"error","unit":"z","experiment":"cli"}' '{"type":"exposure","unit":"z","experiment":"cli","variant":"nope"}' >"$TMP/bad.jsonl"
check "cli: a refused batch names its line, exit 1" 1 "" "line 2: the experiment has no such variant \(events\[1\]\.variant\)" -- \
    "$SY" events send "$TMP/bad.jsonl"
check "cli: a line that is not JSON, exit 1" 1 "" "line 1:" -- sh -c "echo '{nope' | \"$SY\" events send -"
check "cli: results, with the decision" 0 "decision: (continue|promote|terminate)" "" -- \
    "$SY" experiment results cli
check "cli: results count the units" 0 "^b +1875 " "" -- "$SY" experiment results cli
check "cli: promotion" 0 "min_runtime +(pass|FAIL)" "" -- "$SY" experiment promotion cli
check "cli: results --json" 0 '"decision"' "" -- "$SY" experiment results cli --json
check "cli: unknown experiment, exit 1" 1 "" "no experiment .*HTTP 404" -- "$SY" experiment stop nope
check "cli: no token, exit 2" 2 "" "no token" -- env -u SWITCHYARD_TOKEN "$SY" experiment list
check "cli: no server, exit 1" 1 "" "127.0.0.1:1" -- env SWITCHYARD_URL=http://127.0.0.1:1 "$SY" experiment list
check "cli: unknown verb, exit 2" 2 "" "unknown verb" -- "$SY" experiment fly

expect "unknown action: 404" 404 "$ERR" -- POST /v1/experiments/btn/fly "$ADMIN"
expect "results by POST: 405" 405 "$ERR" -- POST /v1/experiments/btn/results "$ADMIN"

tap_done
