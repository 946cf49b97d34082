#!/bin/sh
# retention.sh - retention on a real `switchyard serve` (--event-retention in seconds, so
# the events age on the real clock): events past the limit are pruned once checkpointed
# (the log keeps only ids and its newest row), and an experiment's results are byte for
# byte the same before the prune, after it, and after a restart; more events after the
# restart (outcomes of pruned units' exposures, a retried id) count as on a server that
# never pruned; KPI events a tripwire reads are kept and its evaluation is the same; the
# audit trail is kept; --event-retention 0 keeps everything; bad periods are refused.
#
#   retention.sh SWITCHYARD
set -u
SY=$1
. "$(dirname "$0")/tap.sh"

"$SY" workspace create default --db "$DB" >/dev/null
ADMIN=$("$SY" token create --db "$DB" --role admin --name alice)
SDK=$("$SY" token create --db "$DB" --role sdk --name app)
RET="--event-retention 6s --retention-interval 1"

check "a period that is no number of days or units: usage error" 2 "" "event-retention" -- \
    "$SY" serve --db "$TMP/bad.db" --event-retention 90x
check "... nor a negative one" 2 "" "audit-retention" -- "$SY" serve --db "$TMP/bad.db" --audit-retention -1
check "... and no database was made" 0 "^no$" "" -- sh -c "[ -e '$TMP/bad.db' ] && echo yes || echo no"

start_server "$SY" --quiet $RET
EXP='{"key":"btn","variants":[{"key":"control","weight":50,"control":true},{"key":"green","weight":50}],"safety":{"sequential":true,"min_sample_per_variant":20,"min_runtime_hours":0}}'
expect "an experiment" 201 '.state == "draft"' -- POST /v1/experiments "$ADMIN" "$EXP"
expect "started" 200 '.state == "running"' -- POST /v1/experiments/btn/start "$ADMIN"

# events N FROM JQ-OBJECT: a batch of N events of btn, $i from FROM
events() {
    jq -nc --argjson n "$1" --argjson f "$2" \
        "{events: [range(\$f; \$f + \$n) as \$i | {experiment: \"btn\"} + $3]}"
}
expect "exposures, some with ids" 200 '.accepted == 300' -- POST /v1/events "$SDK" \
    "$(events 300 0 '({type: "exposure", unit: "u\($i)", variant: (if $i % 2 == 0 then "control" else "green" end)} + (if $i % 3 == 0 then {id: "x\($i)"} else {} end))')"
expect "outcomes with values and latencies" 200 '.accepted == 100' -- POST /v1/events "$SDK" \
    "$(events 100 0 '{type: "outcome", unit: "u\($i * 3)", success: ($i % 4 != 0), value: ($i % 7), latency_ms: (40 + $i % 9), id: "o\($i)"}')"
expect "a step toward green" 200 '.applied == true' -- POST /v1/experiments/btn/allocation/apply "$ADMIN" \
    '{"winning_variant":"green","confidence":0.99,"delta":5}'
expect "crossovers after it" 200 '.accepted == 30' -- POST /v1/events "$SDK" \
    "$(events 30 0 '{type: "exposure", unit: "u\($i)", variant: (if $i % 2 == 0 then "green" else "control" end)}')"
expect "... and errors" 200 '.accepted == 30' -- POST /v1/events "$SDK" \
    "$(events 30 100 '{type: "error", unit: "u\($i)", latency_ms: 900}')"

# KPI events: WHOLESALE/contract_rate has a policy (window 50, baseline 200: it reads the
# newest 250), OTHER/x has none
expect "the seed policy enabled" 200 '.enabled == true' -- POST /v1/regression/policies "$ADMIN" \
    '{"domain":"WHOLESALE","metric":"contract_rate","enabled":true,"reason":"watch"}'
kpi() { # DOMAIN METRIC N JQ-OBJECT
    jq -nc --arg d "$1" --arg m "$2" --argjson n "$3" \
        "{events: [range(\$n) as \$i | {domain: \$d, metric: \$m, actor: \"app\"} + $4]}"
}
expect "400 KPI events of the policy's series" 200 '.accepted == 400' -- POST /v1/kpi "$SDK" \
    "$(kpi WHOLESALE contract_rate 400 '({success: ($i % 5 != 0)} + (if $i < 100 then {id: "k\($i)"} else {} end))')"
expect "30 of a series without one" 200 '.accepted == 30' -- POST /v1/kpi "$SDK" "$(kpi OTHER x 30 '{value: $i}')"
EVAL='{"domain":"WHOLESALE","metric":"contract_rate","actor":"ops"}'
TRIP='.evaluated[0] | {triggered, enforced, window_events, baseline_events, baseline, current, drop_fraction, note}'
expect "the tripwire evaluated" 200 '.evaluated[0].window_events == 50 and .evaluated[0].baseline_events == 200' -- \
    POST /v1/regression/evaluate "$ADMIN" "$EVAL"
jq -S "$TRIP" "$TMP/body" >"$TMP/trip.before"

# results as they are: all but runtime_hours, which is the clock's, not the events'
results() {
    req GET /v1/experiments/btn/results "$ADMIN" >/dev/null
    jq -S 'del(.runtime_hours)' "$TMP/body"
}
same() { # NAME FILE-A FILE-B
    if cmp -s "$2" "$3"; then ok "$1"; else
        diff "$2" "$3" >"$TMP/err"
        : >"$TMP/out"
        not_ok "$1"
    fi
}
results >"$TMP/before"
check "the results count what was sent (300 units, conversions, 30 crossovers)" 0 '^300 true true$' "" -- \
    jq -r '"\([.variants[].units] | add) \([.variants[].conversions] | add > 50) \([.variants[].crossovers] | add == 30)"' "$TMP/before"
LIVE=$(db_sql "SELECT count(*) FROM events")
AUDIT=$(db_sql "SELECT count(*) FROM audit")
check "nothing pruned yet (the events are younger than 6 s)" 0 "^$LIVE\$" "" -- \
    db_sql "SELECT count(*) FROM events WHERE kind != ''"

i=0
pruned() {
    db_sql "SELECT (SELECT count(*) FROM events WHERE kind != ''),
        (SELECT count(*) FROM kpi_events WHERE domain = 'OTHER')" 2>/dev/null
}
while [ $i -lt 200 ] && [ "$(pruned)" != "1|1" ]; do
    sleep 0.1
    i=$((i + 1))
done
check "pruned: only the newest row of the log is whole" 0 '^1$' "" -- \
    db_sql "SELECT count(*) FROM events WHERE kind != ''"
check "... the 200 with an id are kept as their id" 0 '^200\|200$' "" -- \
    db_sql "SELECT count(*), count(event_id) FROM events WHERE kind = ''"
check "... the experiment is checkpointed" 0 '^1$' "" -- \
    db_sql "SELECT count(*) FROM experiment_checkpoints"
check "... the runs were logged with what they pruned" 0 "^$((LIVE - 1))\$" "" -- \
    sh -c "grep 'event=retention ' '$TMP/log' | sed 's/.* events=\([0-9]*\) .*/\1/' | awk '{ n += \$1 } END { print n }'"
results >"$TMP/after"
same "results after the prune: byte for byte the same" "$TMP/before" "$TMP/after"
check "KPI events: the policy's newest 250 kept, its ids, the other series' newest row" 0 '^250\|100\|1$' "" -- \
    db_sql "SELECT (SELECT count(*) FROM kpi_events WHERE domain = 'WHOLESALE'), (SELECT count(*) FROM kpi_events WHERE domain = ''), (SELECT count(*) FROM kpi_events WHERE domain = 'OTHER')"
expect "the tripwire evaluated again" 200 '' -- POST /v1/regression/evaluate "$ADMIN" "$EVAL"
jq -S "$TRIP" "$TMP/body" >"$TMP/trip.after"
same "... its evaluation the same" "$TMP/trip.before" "$TMP/trip.after"
check "the audit trail is kept" 0 "^1\|1\$" "" -- \
    db_sql "SELECT min(id), CAST(count(*) >= $AUDIT AS INTEGER) FROM audit"
expect "counted in /metrics" 200 '' -- GET /metrics "$ADMIN"
check "... switchyard_retention_pruned_total by kind" 0 "kind=\"event\"} $((LIVE - 1))" "" -- \
    grep '^switchyard_retention_pruned_total' "$TMP/body"

# ---- a restart --------------------------------------------------------------------------------
stop_server
start_server "$SY" --quiet $RET
results >"$TMP/restarted"
same "results after a restart: byte for byte the same" "$TMP/before" "$TMP/restarted"
expect "a retry of a pruned event with an id: a duplicate" 200 '.accepted == 0 and .duplicates == 2' -- \
    POST /v1/events "$SDK" '{"events":[{"type":"exposure","unit":"u3","experiment":"btn","variant":"green","id":"x3"},{"type":"outcome","unit":"u0","experiment":"btn","success":true,"value":0,"latency_ms":40,"id":"o0"}]}'
# (engine/test_retention compares all this with an engine that never pruned)
expect "outcomes of units exposed before the prune" 200 '.accepted == 20' -- POST /v1/events "$SDK" \
    "$(events 20 200 '{type: "outcome", unit: "u\($i)", success: true, value: 2}')"
expect "... and new units" 200 '.accepted == 20' -- POST /v1/events "$SDK" \
    "$(events 20 1000 '{type: "exposure", unit: "n\($i)", variant: "green"}')"
results >"$TMP/more"
stop_server
start_server "$SY" --quiet --event-retention 0
results >"$TMP/more.restarted"
same "after more events and a restart: the same again" "$TMP/more" "$TMP/more.restarted"
jq '.variants[] | select(.key == "control") | .conversions' "$TMP/before" >"$TMP/c.before"
jq '.variants[] | select(.key == "control") | .conversions' "$TMP/more" >"$TMP/c.more"
check "... the outcomes of pruned units' exposures counted" 0 "" "" -- \
    sh -c "[ \$(cat '$TMP/c.more') -gt \$(cat '$TMP/c.before') ]"

# ---- a checkpoint row moved to another place: refused, as a damaged one is ---------------------
# (its check covers the experiment and the place: events would be replayed twice or never)
stop_server
MOVED=$(db_copy moved)
db_sql_at "$MOVED" "UPDATE experiment_checkpoints SET seq = seq - 1"
check "a checkpoint moved to another place: the start refused" 1 "" 'checkpoint of experiment "btn" does not decode' -- \
    timeout 10 "$SY" serve --listen 127.0.0.1:0 --db "$MOVED" --quiet

# ---- the retention line in JSON: its figures numbers, "more" a boolean ---------------------------
start_server "$SY" --quiet --log-format json $RET
k=0
while [ $k -lt 150 ] && ! grep -q '"event":"retention"' "$TMP/log"; do
    sleep 0.1
    k=$((k + 1))
done
check "--log-format json: the retention line's figures are numbers, more a boolean" 0 "" "" -- sh -c \
    "grep '\"event\":\"retention\"' '$TMP/log' | head -1 | jq -e '(.events | type) == \"number\" and (.ms | type) == \"number\" and (.more | type) == \"boolean\"' >/dev/null"
stop_server
start_server "$SY" --quiet --event-retention 0

# ---- --event-retention 0 keeps everything -----------------------------------------------------
ROWS=$(db_sql "SELECT count(*) FROM events")
sleep 7
check "--event-retention 0: nothing pruned past the limit" 0 "^$ROWS\$" "" -- \
    db_sql "SELECT count(*) FROM events"
stop_server
tap_done
