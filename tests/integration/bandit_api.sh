#!/bin/sh
# bandit_api.sh - issue 26's bandits on a real server, on its real clock (the server has no
# fake one; the engine's tests drive the cadence on a fake clock, engine_test_bandit): a
# bandit with a 36-second burn-in and a 1-minute cadence, events in; the split stays equal
# through the burn-in, then moves toward the best arm at its end and again a minute later,
# each move in the history ("bandit"), audited (experiment.bandit_update), notified
# (bandit_update, a type a channel may filter on) and served by OFREP at once (the flag's
# fractional split, and 400 targeting keys evaluated); the floor held; the results' bandit
# object; PATCH's rules (on/off and burn-in fixed once started: 409 naming the field; the
# cadence and floor not); bad definitions refused with 400 naming the field; no guarded
# step for a bandit. About 100 s, most of it waiting for the clock.
#
#   bandit_api.sh SWITCHYARD
set -u
SY=$1
. "$(dirname "$0")/tap.sh"

ERR='.error.code != null and .error.message != null and .error.field != null'
"$SY" workspace create default --db "$DB" >/dev/null
ADMIN=$("$SY" token create --db "$DB" --role admin --name alice)
VIEWER=$("$SY" token create --db "$DB" --role viewer --name val)
SDK=$("$SY" token create --db "$DB" --role sdk --name app)
start_server "$SY" --quiet

arms='[{"key":"a","weight":1,"control":true},{"key":"b","weight":1},{"key":"c","weight":1}]'
refused() { # NAME FIELD BANDIT [VARIANTS]
    expect "$1: 400 naming $2" 400 ".error.field == \"$2\" and $ERR" -- POST /v1/experiments "$ADMIN" \
        "{\"key\":\"bad\",\"bandit\":$3,\"variants\":${4:-$arms}}"
}
refused "a cadence of 0 minutes" bandit.update_minutes '{"update_minutes":0}'
refused "a cadence of 1.5 minutes" bandit.update_minutes '{"update_minutes":1.5}'
refused "a floor of 34 points for 3 arms" bandit.min_weight_pct '{"min_weight_pct":34}'
refused "a floor of 5.5 points" bandit.min_weight_pct '{"min_weight_pct":5.5}'
refused "a negative burn-in" bandit.burn_in_hours '{"burn_in_hours":-1}'
refused "bandit not an object" bandit 'true'
refused "unequal weights" variants '{}' '[{"key":"a","weight":70,"control":true},{"key":"b","weight":30}]'
expect "an unknown bandit field: 400 unknown_field" 400 '.error.code == "unknown_field" and .error.field == "bandit.every"' -- \
    POST /v1/experiments "$ADMIN" "{\"key\":\"bad\",\"bandit\":{\"every\":1},\"variants\":$arms}"
expect "... and nothing was made" 404 "$ERR" -- GET /v1/experiments/bad "$VIEWER"

expect "a channel may take bandit_update alone" 201 '.events == ["bandit_update"]' -- \
    POST /v1/notifications/channels "$ADMIN" '{"type":"webhook","url":"http://127.0.0.1:9/hook","secret":"0123456789abcdef","events":["bandit_update"]}'
expect "a bandit: 36 s of burn-in, a look a minute, a floor of 10" 201 \
    '.bandit == {"update_minutes":1,"min_weight_pct":10,"burn_in_hours":0.01} and .weights == {"a":34,"b":33,"c":33}' -- \
    POST /v1/experiments "$ADMIN" "{\"key\":\"bx\",\"bandit\":{\"update_minutes\":1,\"min_weight_pct\":10,\"burn_in_hours\":0.01},\"variants\":$arms}"
expect "start it" 200 '.state == "running"' -- POST /v1/experiments/bx/start "$ADMIN"

units() { # VARIANT FIRST N CONVERTING: N units of VARIANT, the first CONVERTING converting
    jq -nc --arg v "$1" --argjson first "$2" --argjson n "$3" --argjson conv "$4" \
        '{events: [range($first; $first + $n) as $i | ("\($v)-\($i)") as $u |
            {type: "exposure", unit: $u, experiment: "bx", variant: $v},
            {type: "outcome", unit: $u, experiment: "bx", success: ($i - $first < $conv)}]}'
}
for v in a c; do
    expect "200 units of $v, 10 converting" 200 "" -- POST /v1/events "$SDK" "$(units $v 0 200 10)"
done
expect "200 units of b, 100 converting" 200 "" -- POST /v1/events "$SDK" "$(units b 0 200 100)"

expect "during the burn-in the split stays equal, whatever the data says" 200 \
    '.definition.targeting.fractional == [["a",34],["b",33],["c",33]]' -- GET /v1/flags/bx "$VIEWER"
expect "... the results name the best and when the first look comes" 200 \
    '.bandit.updates == 0 and .bandit.best == "b" and .bandit.probability_best.b > 0.99 and .bandit.next_update_ms == .bandit.burn_in_until_ms and .bandit.regret > 0 and .decision != null' -- \
    GET /v1/experiments/bx/results "$VIEWER"
START=$(jq .bandit.burn_in_until_ms "$TMP/body")

expect "PATCH cannot stop a started bandit: 409 naming bandit" 409 '.error.field == "bandit"' -- \
    PATCH /v1/experiments/bx "$ADMIN" '{"bandit":null}'
expect "... nor change its burn-in: 409" 409 '.error.field == "bandit.burn_in_hours"' -- \
    PATCH /v1/experiments/bx "$ADMIN" '{"bandit":{"burn_in_hours":1}}'
expect "... a floor too high: 400 naming it" 400 '.error.field == "bandit.min_weight_pct"' -- \
    PATCH /v1/experiments/bx "$ADMIN" '{"bandit":{"min_weight_pct":40}}'
expect "... the floor may change" 200 '.bandit.min_weight_pct == 5' -- \
    PATCH /v1/experiments/bx "$ADMIN" '{"bandit":{"min_weight_pct":5}}'
expect "... and back" 200 '.bandit.min_weight_pct == 10 and .bandit.update_minutes == 1' -- \
    PATCH /v1/experiments/bx "$ADMIN" '{"bandit":{"min_weight_pct":10}}'
expect "a guarded step of a bandit: 409 naming bandit" 409 '.error.field == "bandit"' -- \
    POST /v1/experiments/bx/allocation/apply "$ADMIN" '{"winning_variant":"b","confidence":0.99,"delta":5}'

# the burn-in ends 36 s after the start: the look at its end moves b to 10 + 80 * P(best)
if poll '.bandit.updates == 1' /v1/experiments/bx/results "$VIEWER" 600; then
    ok "the first look, at the burn-in's end"
else
    not_ok "the first look, at the burn-in's end"
fi
expect "... b gets the traffic, every arm keeps its floor" 200 \
    '.definition.targeting.fractional == [["a",10],["b",80],["c",10]]' -- GET /v1/flags/bx "$VIEWER"
expect "... the next look a minute after" 200 \
    "(.bandit.next_update_ms - $START) == 60000" -- \
    GET /v1/experiments/bx/results "$VIEWER"
jq_check "... the variants' weights in the results" "$TMP/body" \
    "(.bandit.next_update_ms - $START) == 60000 and ([.variants[] | .weight] == [10,80,10])"
k=0 b=0
while [ $k -lt 400 ]; do
    req POST /ofrep/v1/evaluate/flags/bx "$SDK" "{\"context\":{\"targetingKey\":\"user-$k\"}}" >/dev/null
    [ "$(jq -r .variant "$TMP/body")" = b ] && b=$((b + 1))
    k=$((k + 1))
done
# 80 % of 400: sd 8 units, so 280 to 360 is 5 sds either side
check "OFREP serves the new split at once: $b of 400 keys get b" 0 "" "" -- test "$b" -ge 280 -a "$b" -le 360
expect "the history holds the look" 200 \
    '[.history[].action] == ["bandit"] and .history[0].after == {"a":10,"b":80,"c":10} and .history[0].before == {"a":34,"b":33,"c":33} and .history[0].detail.winner == "b" and .history[0].detail.probability_best.b > 0.99' -- \
    GET /v1/experiments/bx/history "$VIEWER"
expect "audited as experiment.bandit_update by the system" 200 \
    '[.events[] | select(.action == "experiment.bandit_update")] | length == 1' -- \
    GET "/v1/audit?resource=experiment:bx" "$ADMIN"
expect "notified: bandit_update, with its weights and probabilities" 200 \
    '[.notifications[] | select(.event == "bandit_update")] | length == 1 and (.[0].title | test("bx: bandit re-weighted to a=10 b=80 c=10"))' -- \
    GET /v1/notifications "$ADMIN"

# c becomes the best: the next look moves it (a minute after the first, or a whole number
# of minutes when these checks took longer than that on a loaded machine)
for first in 200 450 700 950; do
    expect "250 units of c from $first, 225 converting" 200 "" -- POST /v1/events "$SDK" "$(units c $first 250 225)"
done
if poll '.bandit.updates == 2' /v1/experiments/bx/results "$VIEWER" 1300; then
    ok "the second look, on the cadence"
else
    not_ok "the second look, on the cadence"
fi
expect "... c gets the traffic" 200 '.definition.targeting.fractional == [["a",10],["b",10],["c",80]]' -- \
    GET /v1/flags/bx "$VIEWER"
# on the cadence: a whole number of minutes after the first (one, unless the events came
# after the next look on a loaded machine), give or take a tick
expect "... on the cadence: a whole number of minutes after the first" 200 \
    '[.history[].at_ms] as $t | ($t | length) == 2 and ($t[1] - $t[0]) >= 59000 and (($t[1] - $t[0]) % 60000 <= 2000 or ($t[1] - $t[0]) % 60000 >= 58000)' -- \
    GET /v1/experiments/bx/history "$VIEWER"
expect "the experiment still runs: a bandit promotes only when asked" 200 '.state == "running"' -- \
    GET /v1/experiments/bx "$VIEWER"
expect "promote the best by hand" 200 '.state == "promoted" and .weights.c == 100' -- \
    POST /v1/experiments/bx/promote "$ADMIN" '{"variant":"c"}'
expect "a promoted bandit looks no more" 200 '.bandit.next_update_ms == null and .bandit.updates == 2' -- \
    GET /v1/experiments/bx/results "$VIEWER"

tap_done
