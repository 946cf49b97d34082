#!/bin/sh
# regression_api.sh - business KPIs and regression tripwires on a real server: the seed
# policies of a new workspace, the specification's flow (200 events at 95 %, enable,
# evaluate: not triggered; 50 at 20 %: triggered, drop 0.789, THROTTLE; re-enabled only
# with a reason, which resets it: those events do not trip it again, new bad ones do), a value metric
# whose mean flips sign (KILL_SWITCH: the kill switch engaged, PROD_EXEC refused), the risk
# guard (THROTTLE, restore, limits, ledger), every kind of bad input refused with its field
# and nothing changed, roles and workspaces, the audit trail, the CLI, a restart, and the
# timer.
#
#   regression_api.sh SWITCHYARD
set -u
SY=$1
. "$(dirname "$0")/tap.sh"

ERR='.error.code != null and .error.message != null and .error.field != null'
"$SY" workspace create default --db "$DB" >/dev/null
"$SY" workspace create other --db "$DB" >/dev/null
ADMIN=$("$SY" token create --db "$DB" --role admin --name alice)
EDITOR=$("$SY" token create --db "$DB" --role editor --name ed)
VIEWER=$("$SY" token create --db "$DB" --role viewer --name val)
SDK=$("$SY" token create --db "$DB" --role sdk --name app)
OTHER=$("$SY" token create --db "$DB" --workspace other --role admin --name mallory)
start_server "$SY" --quiet

# events DOMAIN METRIC N JQ-SUCCESS-OR-VALUE-PAIR: a batch of N events, $i from 0.
events() {
    jq -nc --arg d "$1" --arg m "$2" --argjson n "$3" \
        "{events: [range(\$n) as \$i | {domain: \$d, metric: \$m, actor: \"app\", $4}]}"
}

# ---- the seed policies ----------------------------------------------------------------------
expect "a new workspace has the four seed policies, disabled" 200 \
    '[.policies[] | [.domain, .metric, .window_events, .baseline_events, .min_events_to_enforce, .max_drop_fraction, .action, .measure, .enabled]] == [["BUYER_MATCH","match_success",50,200,50,0.25,"THROTTLE","rate",false],["CAPITAL","roi_event",50,200,50,0.3,"KILL_SWITCH","mean",false],["WHOLESALE","contract_rate",50,200,50,0.2,"THROTTLE","rate",false],["WHOLESALE","offer_accept_rate",50,200,50,0.15,"THROTTLE","rate",false]]' -- \
    GET /v1/regression/policies "$VIEWER"
expect "... and so does the other workspace" 200 '(.policies | length) == 4' -- \
    GET /v1/regression/policies "$OTHER"
expect "state before any evaluation" 200 \
    '(.tripwires | length) == 4 and all(.tripwires[]; .triggered == false and .last_checked_at == null and .action == null)' -- \
    GET /v1/regression/state "$VIEWER"

# ---- bad KPI events change nothing -------------------------------------------------------------
kpi_bad() { # NAME FIELD BODY
    expect "refused: $1" 400 "$ERR and .error.field == \"$2\"" -- POST /v1/kpi "$SDK" "$3"
}
GOOD='"domain":"WHOLESALE","metric":"contract_rate","actor":"app"'
kpi_bad "an unknown field" colour "{$GOOD,\"success\":true,\"colour\":1}"
kpi_bad "success not a boolean" success "{$GOOD,\"success\":1}"
kpi_bad "value not a number" value "{$GOOD,\"value\":\"12\"}"
kpi_bad "neither success nor value" success "{$GOOD}"
kpi_bad "no domain" domain '{"metric":"contract_rate","actor":"app","success":true}'
kpi_bad "no actor" actor '{"domain":"WHOLESALE","metric":"contract_rate","success":true}'
kpi_bad "a bad event in a batch, whole batch refused" 'events[1].value' \
    "{\"events\":[{$GOOD,\"success\":false},{$GOOD,\"value\":\"x\"}]}"
kpi_bad "an empty batch" events '{"events":[]}'
kpi_bad "a batch with an unknown member beside it" x "{\"events\":[{$GOOD,\"success\":true}],\"x\":1}"
kpi_bad "a batch with an event's member beside it" events "{\"events\":[{$GOOD,\"success\":true}],\"actor\":\"a\"}"
kpi_bad "an id over 128 characters" 'events[0].id' \
    "{\"events\":[{$GOOD,\"success\":true,\"id\":\"$(printf '%0129d' 0)\"}]}"

# ---- ids: a retried batch counts once ------------------------------------------------------------
ID_EVENT='"domain":"IDS","metric":"retried","actor":"app","success":true'
IDS="{\"events\":[{$ID_EVENT,\"id\":\"k-1\"},{$ID_EVENT,\"id\":\"k-2\"},{$ID_EVENT,\"id\":\"k-1\"},{$ID_EVENT}]}"
expect "a batch with ids, one of them twice: written once" 200 '.accepted == 3 and .duplicates == 1' -- \
    POST /v1/kpi "$SDK" "$IDS"
expect "... the same batch again, as a retry: only the event without an id is new" 200 \
    '.accepted == 1 and .duplicates == 3' -- POST /v1/kpi "$SDK" "$IDS"
expect "... another workspace's ids are its own" 200 '.accepted == 3 and .duplicates == 1' -- \
    POST /v1/kpi "$OTHER" "$IDS"

# ---- the specification's flow ------------------------------------------------------------------
# 200 events at 95 %: every 20th fails, so every window of them is near 95 %.
expect "200 KPI events at 95 %" 200 '.accepted == 200' -- \
    POST /v1/kpi "$SDK" "$(events WHOLESALE contract_rate 200 'success: ($i % 20 != 19)')"
expect "a disabled policy is not evaluated: 409" 409 '.error.field == "enabled"' -- \
    POST /v1/regression/evaluate "$EDITOR" '{"domain":"WHOLESALE","metric":"contract_rate","actor":"ops"}'
expect "enable it" 200 '.enabled == true and .changed_by == "ops" and .reason == "watch contracts" and .max_drop_fraction == 0.2' -- \
    POST /v1/regression/policies "$ADMIN" '{"domain":"WHOLESALE","metric":"contract_rate","enabled":true,"changed_by":"ops","reason":"watch contracts"}'
expect "evaluate: not triggered" 200 \
    '.evaluated[0].triggered == false and .evaluated[0].enforced == true and .evaluated[0].window_events == 50 and .evaluated[0].baseline_events == 150 and (.evaluated[0].note | startswith("OK"))' -- \
    POST /v1/regression/evaluate "$EDITOR" '{"domain":"WHOLESALE","metric":"contract_rate","actor":"ops"}'
RES='{"domain":"WHOLESALE","amount":250,"actor":"deal-svc","correlation_id":"deal-1"}'
expect "a domain without a risk policy is refused: no_policy" 200 '.ok == false and .reason == "no_policy"' -- \
    POST /v1/risk/check-and-reserve "$SDK" "$RES"
expect "the WHOLESALE risk policy" 200 '.enabled == true and .max_per_action == 1000 and .max_per_day == null and .changed_by == "alice"' -- \
    PUT /v1/risk/policies/WHOLESALE "$ADMIN" '{"enabled":true,"max_per_action":1000,"reason":"go live"}'
expect "a reservation while healthy" 200 '.ok == true and .reservation_id > 0 and .amount == 250' -- \
    POST /v1/risk/check-and-reserve "$SDK" "$RES"
expect "50 KPI events at 20 %" 200 '.accepted == 50' -- \
    POST /v1/kpi "$SDK" "$(events WHOLESALE contract_rate 50 'success: ($i % 5 == 0)')"
expect "evaluate: triggered, drop 0.789, THROTTLE" 200 \
    '.evaluated[0] as $s | $s.triggered == true and $s.baseline == 0.95 and $s.current == 0.2 and ($s.drop_fraction * 1000 | round) == 789 and $s.action == "THROTTLE" and $s.note == "TRIGGERED drop=0.789 action=THROTTLE" and $s.last_triggered_at == $s.last_checked_at' -- \
    POST /v1/regression/evaluate "$EDITOR" '{"domain":"WHOLESALE","metric":"contract_rate","actor":"ops"}'
expect "state shows it" 200 \
    '[.tripwires[] | select(.metric == "contract_rate")][0] | .triggered == true and .enabled == true and .last_triggered_at != null and .baseline_events == 200' -- \
    GET /v1/regression/state "$VIEWER"
expect "THROTTLE disabled the WHOLESALE risk policy, with the tripwire's reason" 200 \
    '.policies[0] | .domain == "WHOLESALE" and .enabled == false and .changed_by == "tripwire" and .reason == "tripwire WHOLESALE/contract_rate: TRIGGERED drop=0.789 action=THROTTLE" and .max_per_action == 1000' -- \
    GET /v1/risk/policies "$VIEWER"
expect "a reservation is denied: policy_disabled" 200 '.ok == false and .reason == "policy_disabled"' -- \
    POST /v1/risk/check-and-reserve "$SDK" "$RES"
expect "another workspace's risk guard is its own" 200 '.ok == false and .reason == "no_policy"' -- \
    POST /v1/risk/check-and-reserve "$OTHER" "$RES"
expect "re-enabling a triggered tripwire without a reason: 400 naming reason" 400 "$ERR and .error.field == \"reason\"" -- \
    POST /v1/regression/policies "$ADMIN" '{"domain":"WHOLESALE","metric":"contract_rate","enabled":true}'
expect "... which changed nothing: still triggered" 200 \
    '[.tripwires[] | select(.metric == "contract_rate")][0] | .triggered == true and .excluded == null' -- \
    GET /v1/regression/state "$VIEWER"
expect "... and the risk policy still disabled" 200 '.policies[0] | .domain == "WHOLESALE" and .enabled == false' -- \
    GET /v1/risk/policies "$VIEWER"
expect "re-enable the tripwire with a reason: reset" 200 '.enabled == true and .reason == "fixed the pricing bug"' -- \
    POST /v1/regression/policies "$ADMIN" '{"domain":"WHOLESALE","metric":"contract_rate","enabled":true,"reason":"fixed the pricing bug"}'
expect "... its state says so" 200 \
    '[.tripwires[] | select(.metric == "contract_rate")][0] | .triggered == false and .note == "RE-ENABLED: fixed the pricing bug" and .last_triggered_at != null' -- \
    GET /v1/regression/state "$VIEWER"
expect "... the risk policy is restored, limits kept" 200 '.policies[0] | .enabled == true and .changed_by == "alice" and .max_per_action == 1000' -- \
    GET /v1/risk/policies "$VIEWER"
expect "the next reservation succeeds" 200 '.ok == true' -- POST /v1/risk/check-and-reserve "$SDK" "$RES"
expect "the ledger: reserved, denied, reserved; no_policy before" 200 \
    '[.entries[] | select(.domain == "WHOLESALE") | [.outcome, .reason]] == [["denied","no_policy"],["reserved",null],["denied","policy_disabled"],["reserved",null]] and .entries[0].correlation_id == "deal-1"' -- \
    GET /v1/risk/ledger "$VIEWER"
expect "the audit trail: throttle and restore" 200 \
    '[.events[].action] as $a | ($a | index("risk.policy.throttle")) != null and ($a | index("risk.policy.restore")) != null and ($a | index("risk.policy.create")) != null' -- \
    GET "/v1/audit?resource=risk:" "$ADMIN"
expect "the other workspace saw nothing" 200 'all(.tripwires[]; .last_checked_at == null)' -- \
    GET /v1/regression/state "$OTHER"
expect "the audit trail: the policy change and the trigger" 200 \
    '[.events[] | select(.resource == "regression:WHOLESALE/contract_rate") | .action] as $a | ($a | index("regression.policy.update")) != null and ($a | index("regression.trigger")) != null and ([.events[] | select(.action == "regression.trigger")][0].actor == "ed/ops")' -- \
    GET "/v1/audit?resource=regression:" "$ADMIN"

# The reset began a new window: the 50 events that tripped it are left out, so evaluating
# again does not trip it; the baseline is the 200 events before them.
expect "the reset left out the 50 events from the trip's window to the reset" 200 \
    '[.tripwires[] | select(.metric == "contract_rate")][0] | .excluded.to.id - .excluded.from.id == 49 and .reset_at != null and .trip_from == null' -- \
    GET /v1/regression/state "$VIEWER"
expect "evaluate after the reset: the events that tripped it do not trip it again" 200 \
    '.evaluated[0] | .triggered == false and .enforced == false and .window_events == 0 and .baseline_events == 200 and (.note | startswith("NOT_ENFORCED"))' -- \
    POST /v1/regression/evaluate "$EDITOR" '{"domain":"WHOLESALE","metric":"contract_rate","actor":"ops"}'
expect "... nor does the timer's evaluation of every policy" 200 \
    '[.evaluated[] | select(.metric == "contract_rate")][0].triggered == false' -- \
    POST /v1/regression/evaluate "$EDITOR"
expect "30 new events at 95 %" 200 '.accepted == 30' -- \
    POST /v1/kpi "$SDK" "$(events WHOLESALE contract_rate 30 'success: ($i % 20 != 19)')"
expect "evaluate: a window of 30 is not enforced; the baseline is still 95 %" 200 \
    '.evaluated[0] | .triggered == false and .enforced == false and .window_events == 30 and .baseline_events == 200 and .baseline == 0.95' -- \
    POST /v1/regression/evaluate "$EDITOR" '{"domain":"WHOLESALE","metric":"contract_rate","actor":"ops"}'
expect "50 new events at 20 %" 200 '.accepted == 50' -- \
    POST /v1/kpi "$SDK" "$(events WHOLESALE contract_rate 50 'success: ($i % 5 == 0)')"
expect "evaluate: new bad events trip it again, drop 0.789 (30 new and 170 older events at 95 %)" 200 \
    '.evaluated[0] as $s | $s.triggered == true and $s.baseline == 0.95 and $s.current == 0.2 and $s.note == "TRIGGERED drop=0.789 action=THROTTLE" and $s.window_events == 50 and $s.baseline_events == 200' -- \
    POST /v1/regression/evaluate "$EDITOR" '{"domain":"WHOLESALE","metric":"contract_rate","actor":"ops"}'
expect "... and THROTTLE disabled the WHOLESALE risk policy again" 200 \
    '.policies[0] | .domain == "WHOLESALE" and .enabled == false and .changed_by == "tripwire"' -- \
    GET /v1/risk/policies "$VIEWER"

# an experiment whose split OFREP serves, until the kill switch sends everyone to control
expect "an experiment at 50/50" 201 '' -- POST /v1/experiments "$ADMIN" \
    '{"key":"checkout","variants":[{"key":"green","weight":50},{"key":"blue","weight":50,"control":true}],"record_exposures":true}'
expect "started" 200 '.state == "running"' -- POST /v1/experiments/checkout/start "$ADMIN"
variants() { # the variants OFREP serves 40 units, sorted and unique
    u=0
    while [ $u -lt 40 ]; do
        req POST /ofrep/v1/evaluate/flags/checkout "$SDK" "{\"context\":{\"targetingKey\":\"user-$u\"}}" >/dev/null
        jq -r '.variant + " " + (.metadata.killSwitch // "-" | split(":")[0])' "$TMP/body"
        u=$((u + 1))
    done | sort -u | tr '\n' ';'
}
check "OFREP serves the split" 0 "^blue -;green -;$" "" -- variants
req POST /ofrep/v1/evaluate/flags "$SDK" '{"context":{"targetingKey":"user-1"}}' -D "$TMP/headers" >/dev/null
ETAG_BEFORE=$(sed -n 's/^[Ee][Tt]ag: *//p' "$TMP/headers" | tr -d '\r')

# ---- a value metric whose mean flips sign -------------------------------------------------------
expect "enable CAPITAL/roi_event" 200 '.enabled == true and .action == "KILL_SWITCH" and .measure == "mean"' -- \
    POST /v1/regression/policies "$ADMIN" '{"domain":"CAPITAL","metric":"roi_event","enabled":true,"reason":"watch ROI"}'
expect "200 ROI events at 500" 200 '.accepted == 200' -- \
    POST /v1/kpi "$SDK" "$(events CAPITAL roi_event 200 'value: 500')"
expect "50 ROI events at -300, with detail and correlation ids" 200 '.accepted == 50' -- \
    POST /v1/kpi "$SDK" "$(events CAPITAL roi_event 50 'value: -300, correlation_id: "deal-\($i)", detail: {deal: $i}')"
expect "evaluate every enabled policy: ROI drop 1.6, KILL_SWITCH" 200 \
    '(.evaluated | length) == 2 and ([.evaluated[] | select(.metric == "roi_event")][0] | .triggered and .drop_fraction == 1.6 and .action == "KILL_SWITCH" and .baseline == 500 and .current == -300)' -- \
    POST /v1/regression/evaluate "$EDITOR"

# ---- the kill switch the ROI tripwire engaged ----------------------------------------------------
expect "the KILL_SWITCH tripwire engaged the kill switch" 200 \
    '.kill_switch | .engaged == true and .actor == "tripwire" and (.reason | startswith("tripwire CAPITAL/roi_event: TRIGGERED drop=1.600"))' -- \
    GET /v1/go-live/state "$VIEWER"
check "OFREP serves every unit the control, saying why" 0 "^blue tripwire CAPITAL/roi_event;$" "" -- variants
new_units() { # PREFIX: five units evaluated, then an event, which commits what OFREP saw
    for u in 1 2 3 4 5; do
        req POST /ofrep/v1/evaluate/flags/checkout "$SDK" "{\"context\":{\"targetingKey\":\"$1-$u\"}}" >/dev/null
    done
    req POST /v1/events "$SDK" '{"events":[{"type":"outcome","unit":"user-0","experiment":"checkout","success":true}]}' >/dev/null
}
new_units killed
expect "... and records no exposure of what it served: the 40 units before, no more" 200 \
    '.units == 40' -- GET /v1/experiments/checkout/results "$VIEWER"
expect "the bulk answer's ETag changed" 200 ".flags != null" -- \
    POST /ofrep/v1/evaluate/flags "$SDK" '{"context":{"targetingKey":"user-1"}}' -H "If-None-Match: $ETAG_BEFORE"
expect "the experiment itself is unchanged" 200 '.state == "running" and .weights == {"green":50,"blue":50}' -- \
    GET /v1/experiments/checkout "$VIEWER"
expect "go-live check for PROD_EXEC: 403 with the reason" 403 \
    '.error.code == "kill_switch" and .error.field == "class" and (.error.message | contains("roi_event"))' -- \
    GET "/v1/go-live/check?class=PROD_EXEC" "$SDK"
expect "... another class is allowed" 200 '.allowed == true and .class == "SHADOW"' -- \
    GET "/v1/go-live/check?class=SHADOW" "$SDK"
expect "... a check names its class" 400 '.error.field == "class"' -- GET /v1/go-live/check "$SDK"
expect "... a class that decodes to no UTF-8: 400 (it was a 500)" 400 '.error.field == "class"' -- \
    GET "/v1/go-live/check?class=%ff" "$SDK"
expect "a risk policy's domain that decodes to no UTF-8: 400" 400 '.error.code == "invalid_input"' -- \
    PUT /v1/risk/policies/%ff "$ADMIN" '{"enabled":true,"max_per_action":1000,"reason":"x"}'
expect "... the other workspace is not held" 200 '.allowed == true' -- \
    GET "/v1/go-live/check?class=PROD_EXEC" "$OTHER"
expect "a reservation is denied: kill_switch" 200 '.ok == false and .reason == "kill_switch"' -- \
    POST /v1/risk/check-and-reserve "$SDK" "$RES"
expect "a PROD_EXEC change is refused: 403" 403 '.error.code == "kill_switch" and .error.field == "X-Execution-Class"' -- \
    POST /v1/regression/policies "$ADMIN" "{\"domain\":\"SEARCH\",\"metric\":\"ctr\"}" -H "X-Execution-Class: PROD_EXEC"
expect "... a PROD_EXEC read is not" 200 '' -- GET /v1/regression/policies "$ADMIN" "" -H "X-Execution-Class: PROD_EXEC"
expect "... nor PROD_EXEC measurement" 200 '.accepted == 1' -- \
    POST /v1/kpi "$SDK" '{"domain":"SEARCH","metric":"ctr","actor":"app","success":true}' -H "X-Execution-Class: PROD_EXEC"
expect "a viewer may not touch the switch" 403 "$ERR" -- \
    POST /v1/go-live/kill-switch "$VIEWER" '{"engaged":false,"reason":"x"}'
expect "the switch needs a reason" 400 '.error.field == "reason"' -- \
    POST /v1/go-live/kill-switch "$ADMIN" '{"engaged":false}'
expect "engaged must be a boolean" 400 '.error.field == "engaged"' -- \
    POST /v1/go-live/kill-switch "$ADMIN" '{"engaged":"no","reason":"x"}'
expect "disengage it" 200 '.kill_switch | .engaged == false and .actor == "cfo" and .reason == "ROI model fixed"' -- \
    POST /v1/go-live/kill-switch "$ADMIN" '{"engaged":false,"reason":"ROI model fixed","actor":"cfo"}'
check "OFREP serves the split again" 0 "^blue -;green -;$" "" -- variants
new_units after
expect "... and records exposures again" 200 '.units == 45' -- GET /v1/experiments/checkout/results "$VIEWER"
expect "PROD_EXEC is allowed again" 200 '.allowed == true' -- GET "/v1/go-live/check?class=PROD_EXEC" "$SDK"
expect "the audit trail: engaged by the tripwire, disengaged by a person" 200 \
    '[.events[] | .action] == ["killswitch.disengage","killswitch.engage"] and .events[0].after.engaged == false and .events[1].after.actor == "tripwire"' -- \
    GET "/v1/audit?resource=kill_switch" "$ADMIN"

# ---- the risk guard's limits and ledger -------------------------------------------------------------
expect "a policy with limits" 200 '.max_per_action == 1000 and .max_per_day == 1500' -- \
    PUT /v1/risk/policies/CAPITAL "$ADMIN" '{"max_per_action":1000,"max_per_day":1500,"reason":"limits"}'
reserve() { # AMOUNT
    req POST /v1/risk/check-and-reserve "$SDK" "{\"domain\":\"CAPITAL\",\"amount\":$1,\"actor\":\"fund\"}" >/dev/null
}
reserve 800
FIRST=$(jq .reservation_id "$TMP/body")
expect "over the limit per action: limit_exceeded" 200 '.ok == false and .reason == "limit_exceeded"' -- \
    POST /v1/risk/check-and-reserve "$SDK" '{"domain":"CAPITAL","amount":1200,"actor":"fund"}'
expect "over the day's limit: limit_exceeded" 200 '.ok == false and .reason == "limit_exceeded"' -- \
    POST /v1/risk/check-and-reserve "$SDK" '{"domain":"CAPITAL","amount":800,"actor":"fund"}'
expect "exactly the day's limit is allowed" 200 '.ok == true' -- \
    POST /v1/risk/check-and-reserve "$SDK" '{"domain":"CAPITAL","amount":700,"actor":"fund"}'
expect "release the first" 200 ".released == true and .reservation_id == $FIRST" -- \
    POST /v1/risk/release "$SDK" "{\"reservation_id\":$FIRST,\"actor\":\"fund\"}"
expect "released twice: 409" 409 "$ERR" -- POST /v1/risk/release "$SDK" "{\"reservation_id\":$FIRST}"
expect "release an unknown reservation: 404" 404 "$ERR" -- POST /v1/risk/release "$SDK" '{"reservation_id":999999}'
expect "another workspace cannot release it: 404" 404 "$ERR" -- POST /v1/risk/release "$OTHER" "{\"reservation_id\":$FIRST}"
expect "the released amount no longer counts" 200 '.ok == true' -- \
    POST /v1/risk/check-and-reserve "$SDK" '{"domain":"CAPITAL","amount":800,"actor":"fund"}'
expect "a person disables a risk policy" 200 '.enabled == false' -- \
    PUT /v1/risk/policies/CAPITAL "$ADMIN" '{"enabled":false,"reason":"audit in progress"}'
expect "... refused: policy_disabled" 200 '.reason == "policy_disabled"' -- \
    POST /v1/risk/check-and-reserve "$SDK" '{"domain":"CAPITAL","amount":1,"actor":"fund"}'
expect "... and re-enables it with a reason" 200 '.enabled == true and .reason == "audit done" and .max_per_day == 1500' -- \
    PUT /v1/risk/policies/CAPITAL "$ADMIN" '{"enabled":true,"reason":"audit done"}'
expect "a domain with a space, percent-encoded in the path" 200 '.domain == "PRIVATE EQUITY" and .max_per_action == 5' -- \
    PUT "/v1/risk/policies/PRIVATE%20EQUITY" "$ADMIN" '{"max_per_action":5,"reason":"limits"}'
expect "... the reservations name it as it is" 200 '.ok == false and .reason == "limit_exceeded"' -- \
    POST /v1/risk/check-and-reserve "$SDK" '{"domain":"PRIVATE EQUITY","amount":6,"actor":"fund"}'
expect "a bad escape in the domain: 400" 400 "$ERR and .error.field == \"domain\"" -- \
    PUT "/v1/risk/policies/BAD%zz" "$ADMIN" '{"max_per_action":5,"reason":"limits"}'
risk_bad() { # NAME FIELD PATH BODY
    expect "refused: $1" 400 "$ERR and .error.field == \"$2\"" -- POST "$3" "$SDK" "$4"
}
risk_bad "an amount that is not a number" amount /v1/risk/check-and-reserve '{"domain":"CAPITAL","amount":"12","actor":"fund"}'
risk_bad "a negative amount" amount /v1/risk/check-and-reserve '{"domain":"CAPITAL","amount":-5,"actor":"fund"}'
risk_bad "no domain" domain /v1/risk/check-and-reserve '{"amount":5,"actor":"fund"}'
risk_bad "no actor" actor /v1/risk/check-and-reserve '{"domain":"CAPITAL","amount":5}'
risk_bad "an unknown field" speed /v1/risk/check-and-reserve '{"domain":"CAPITAL","amount":5,"actor":"fund","speed":1}'
risk_bad "a release without an id" reservation_id /v1/risk/release '{}'
expect "a risk policy change without a reason" 400 '.error.field == "reason"' -- \
    PUT /v1/risk/policies/CAPITAL "$ADMIN" '{"enabled":true}'
expect "a negative day limit" 400 '.error.field == "max_per_day"' -- \
    PUT /v1/risk/policies/CAPITAL "$ADMIN" '{"max_per_day":-5,"reason":"x"}'
expect "an editor may not change risk policies" 403 "$ERR" -- \
    PUT /v1/risk/policies/CAPITAL "$EDITOR" '{"enabled":false,"reason":"x"}'
expect "the ledger of a bad day: 400" 400 '.error.field == "day"' -- GET "/v1/risk/ledger?day=2026-13-01" "$VIEWER"
expect "the ledger of a day with nothing" 200 '.day == "2001-01-01" and .entries == []' -- \
    GET "/v1/risk/ledger?day=2001-01-01" "$VIEWER"
expect "the ledger after the bad requests: CAPITAL as it was" 200 \
    '[.entries[] | select(.domain == "CAPITAL") | .outcome] == ["released","denied","denied","reserved","reserved","denied"]' -- \
    GET /v1/risk/ledger "$VIEWER"

# ---- bad policies change nothing ----------------------------------------------------------------
req GET /v1/regression/policies "$ADMIN" >/dev/null
cp "$TMP/body" "$TMP/policies_before"
pol_bad() { # NAME FIELD BODY
    expect "refused: $1" 400 "$ERR and .error.field == \"$2\"" -- POST /v1/regression/policies "$ADMIN" "$3"
}
P='"domain":"WHOLESALE","metric":"contract_rate"'
pol_bad "an unknown action" action "{$P,\"action\":\"PAUSE\"}"
pol_bad "a negative window" window_events "{$P,\"window_events\":-5}"
pol_bad "a window larger than the baseline" baseline_events "{$P,\"window_events\":300}"
pol_bad "a minimum no window can reach" min_events_to_enforce "{$P,\"min_events_to_enforce\":51}"
pol_bad "a drop that is not a number" max_drop_fraction "{$P,\"max_drop_fraction\":\"0.2\"}"
pol_bad "a zero drop" max_drop_fraction "{$P,\"max_drop_fraction\":0}"
pol_bad "enabled not a boolean" enabled "{$P,\"enabled\":\"yes\"}"
pol_bad "an unknown field" speed "{$P,\"speed\":1}"
pol_bad "no metric" metric '{"domain":"WHOLESALE"}'
expect "a viewer may not change policies: 403" 403 "$ERR" -- POST /v1/regression/policies "$VIEWER" "{$P,\"enabled\":false}"
expect "an editor may not either: 403" 403 "$ERR" -- POST /v1/regression/policies "$EDITOR" "{$P,\"enabled\":false}"
req GET /v1/regression/policies "$ADMIN" >/dev/null
check "the policies are as they were" 0 "" "" -- cmp "$TMP/policies_before" "$TMP/body"
expect "evaluate: only one of domain and metric" 400 '.error.field == "metric"' -- \
    POST /v1/regression/evaluate "$EDITOR" '{"domain":"WHOLESALE"}'
expect "evaluate: no such policy" 404 "$ERR" -- \
    POST /v1/regression/evaluate "$EDITOR" '{"domain":"WHOLESALE","metric":"nope"}'
expect "evaluate: a viewer may not" 403 "$ERR" -- POST /v1/regression/evaluate "$VIEWER"
expect "a new policy takes the defaults" 200 \
    '.window_events == 50 and .baseline_events == 200 and .min_events_to_enforce == 50 and .max_drop_fraction == 0.2 and .action == "THROTTLE" and .measure == "rate" and .enabled == true and .changed_by == "alice"' -- \
    POST /v1/regression/policies "$ADMIN" '{"domain":"SEARCH","metric":"click_rate"}'
expect "a person disables it" 200 '.enabled == false' -- \
    POST /v1/regression/policies "$ADMIN" '{"domain":"SEARCH","metric":"click_rate","enabled":false}'
expect "re-enabling a disabled tripwire without a reason: 400 naming reason" 400 "$ERR and .error.field == \"reason\"" -- \
    POST /v1/regression/policies "$ADMIN" '{"domain":"SEARCH","metric":"click_rate","enabled":true}'
expect "... with one: 200" 200 '.enabled == true and .reason == "back on"' -- \
    POST /v1/regression/policies "$ADMIN" '{"domain":"SEARCH","metric":"click_rate","enabled":true,"reason":"back on"}'
expect "GET on evaluate: 405" 405 "$ERR" -- GET /v1/regression/evaluate "$EDITOR"
expect "an unknown regression path: 404" 404 "$ERR" -- GET /v1/regression/nope "$VIEWER"

# ---- the CLI ------------------------------------------------------------------------------------
export SWITCHYARD_URL="$URL"
check "tripwire policies" 0 "^WHOLESALE +contract_rate +enabled +THROTTLE +rate window 50, baseline 200" "" -- \
    "$SY" tripwire policies --token "$VIEWER"
check "tripwire set" 0 "^BUYER_MATCH +match_success +enabled +THROTTLE +rate window 40, baseline 200, enforce from 40, max drop 0.3" "" -- \
    "$SY" tripwire set --token "$ADMIN" --domain BUYER_MATCH --metric match_success --enabled true \
    --window-events 40 --min-events 40 --max-drop 0.3 --reason "cli test"
check "tripwire set: a refusal names the field" 1 "" "max_drop_fraction" -- \
    "$SY" tripwire set --token "$ADMIN" --domain BUYER_MATCH --metric match_success --max-drop 0
check "tripwire set: --enabled must be a boolean" 2 "" "true or false" -- \
    "$SY" tripwire set --token "$ADMIN" --domain BUYER_MATCH --metric match_success --enabled yes
check "tripwire set: --domain and --metric are required" 2 "" "usage" -- \
    "$SY" tripwire set --token "$ADMIN" --domain BUYER_MATCH
jq -nc 'range(60) | {domain: "BUYER_MATCH", metric: "match_success", actor: "cli", success: true}' >"$TMP/kpi.jsonl"
check "kpi send: 60 events in batches of 25" 0 "60 events sent: 60 accepted" "" -- \
    "$SY" kpi send "$TMP/kpi.jsonl" --batch 25 --token "$SDK"
printf '%s\n' '{"domain":"BUYER_MATCH","metric":"match_success","actor":"cli","success":true}' \
    '{"domain":"BUYER_MATCH","metric":"match_success","actor":"cli","success":"yes"}' >"$TMP/bad.jsonl"
check "kpi send: a refused line is named" 1 "" "line 2.*success" -- \
    "$SY" kpi send "$TMP/bad.jsonl" --token "$SDK"
check "tripwire evaluate one" 0 "^BUYER_MATCH +match_success +NOT_ENFORCED window=40 baseline=20" "" -- \
    "$SY" tripwire evaluate --token "$EDITOR" --domain BUYER_MATCH --metric match_success --actor cli
check "tripwire evaluate --json" 0 '"evaluated"' "" -- \
    "$SY" tripwire evaluate --token "$EDITOR" --json
check "tripwire state" 0 "^WHOLESALE +contract_rate +TRIGGERED drop=0.789 action=THROTTLE" "" -- \
    "$SY" tripwire state --token "$VIEWER"
expect "a risk policy for the CLI" 200 '.enabled == true' -- \
    PUT /v1/risk/policies/SEARCH "$ADMIN" '{"reason":"cli"}'
check "risk reserve" 0 "^reserved #[0-9]+$" "" -- \
    "$SY" risk reserve --token "$SDK" --domain SEARCH --amount 99.5 --actor cli --correlation-id c-1
check "risk reserve: a denial exits 1" 1 "^denied: no_policy$" "" -- \
    "$SY" risk reserve --token "$SDK" --domain NOWHERE --amount 1 --actor cli
check "risk reserve: --amount must be a number" 2 "" "amount" -- \
    "$SY" risk reserve --token "$SDK" --domain WHOLESALE --amount lots --actor cli
check "risk ledger" 0 "SEARCH +99.50 reserved +cli" "" -- "$SY" risk ledger --token "$VIEWER"
check "risk ledger of a bad day" 1 "" "day" -- "$SY" risk ledger --token "$VIEWER" --day 2026-02-30x
check "killswitch status" 0 "^kill switch off \(ROI model fixed, by cfo\)$" "" -- \
    "$SY" killswitch status --token "$VIEWER"
check "killswitch on" 0 "^kill switch ENGAGED \(cli drill, by alice\)$" "" -- \
    "$SY" killswitch on --token "$ADMIN" --reason "cli drill"
check "... reservations are denied" 1 "^denied: kill_switch$" "" -- \
    "$SY" risk reserve --token "$SDK" --domain SEARCH --amount 1 --actor cli
check "killswitch off needs a reason" 2 "" "reason" -- "$SY" killswitch off --token "$ADMIN"
check "killswitch off" 0 "^kill switch off \(cli done, by ops\)$" "" -- \
    "$SY" killswitch off --token "$ADMIN" --reason "cli done" --actor ops
check "tripwire with no verb: usage, exit 2" 2 "" "usage: switchyard tripwire policies" -- "$SY" tripwire
unset SWITCHYARD_URL

# ---- a restart, and the timer ---------------------------------------------------------------------
expect "a person engages the kill switch" 200 '.kill_switch.engaged == true' -- \
    POST /v1/go-live/kill-switch "$ADMIN" '{"engaged":true,"reason":"drill"}'
stop_server
start_server "$SY" --regression-interval 1
expect "after a restart: the states are kept" 200 \
    '[.tripwires[] | select(.triggered)] | map(.metric) | sort == ["contract_rate","roi_event"]' -- \
    GET /v1/regression/state "$VIEWER"
expect "... and the kill switch" 200 '.kill_switch | .engaged == true and .reason == "drill" and .actor == "alice"' -- \
    GET /v1/go-live/state "$VIEWER"
expect "... which still holds PROD_EXEC" 403 '.error.code == "kill_switch"' -- \
    GET "/v1/go-live/check?class=PROD_EXEC" "$SDK"
check "... and still sends OFREP to control" 0 "^blue drill;$" "" -- variants
expect "... and the policies, seeds not written again" 200 '(.policies | length) == 5' -- \
    GET /v1/regression/policies "$ADMIN"
expect "... and the KPI events' ids" 200 '.accepted == 1 and .duplicates == 3' -- POST /v1/kpi "$SDK" "$IDS"
i=0
while [ $i -lt 60 ] && ! grep -q 'tripwire_triggered' "$TMP/log"; do
    sleep 0.1
    i=$((i + 1))
done
check "the timer evaluates and logs each triggered tripwire" 0 "" "" -- \
    grep -q 'tripwire_triggered.*roi_event.*TRIGGERED drop=1.600 action=KILL_SWITCH' "$TMP/log"
stop_server
check "serve refuses a bad --regression-interval" 2 "" "regression-interval" -- \
    "$SY" serve --db "$DB" --regression-interval -1

tap_done
