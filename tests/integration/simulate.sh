#!/bin/sh
# simulate.sh - `switchyard simulate`, the real engine on its own clock: a true +10 %
# winner promoted in steps to 100 %; a winner that degrades rolled back within one tick of
# the monitor; over 1,000 A/A experiments checked every hour, false
# promotions at most 5 % with sequential testing (and far more without it), with exact
# intervals; the mean metric; lost exposures raising the SRM alarm; determinism by seed;
# refused scenarios.
#
#   simulate.sh SWITCHYARD DATA_DIR
set -u
SY=$1
DATA=$2/simulate
. "$(dirname "$0")/tap.sh"

jq_check() { # NAME FILE JQ-TEST
    if [ "$(jq -r "$3" "$2" 2>&1)" = "true" ]; then ok "$1"; else
        cp "$2" "$TMP/out"
        echo "# jq test failed: $3" >"$TMP/err"
        not_ok "$1"
    fi
}

"$SY" simulate --scenario "$DATA/winner.json" --json >"$TMP/winner.json"
jq_check "a +10 % winner is promoted in guarded steps to 100 %" "$TMP/winner.json" \
    '.reached_full and .steps >= 3 and .weights.treatment == 100 and .state == "promoted" and (.false_step | not)'
jq_check "... each step at most 20 points, 24 h apart" "$TMP/winner.json" \
    '[.timeline[] | select(.action == "step") | .hours] as $h | ([range(1; $h | length)] | all($h[.] - $h[. - 1] >= 24)) and ([.timeline[] | select(.action == "step") | .weights.treatment] == [70, 90, 100])'
jq_check "... refusals name the guardrail" "$TMP/winner.json" \
    '[.timeline[] | select(.action == "refused") | .refused_by] | unique == ["cooldown"]'
"$SY" simulate --scenario "$DATA/winner.json" --json >"$TMP/again.json"
if cmp -s "$TMP/winner.json" "$TMP/again.json"; then ok "the same seed gives the same run"; else
    not_ok "the same seed gives the same run"
fi
"$SY" simulate --scenario "$DATA/winner.json" --json --seed 7 >"$TMP/other.json"
if ! cmp -s "$TMP/winner.json" "$TMP/other.json"; then ok "another seed, other traffic"; else
    not_ok "another seed, other traffic"
fi

"$SY" simulate --scenario "$DATA/degrade.json" --json >"$TMP/degrade.json"
# degraded at hour 26; at 60,000 units an hour the monitor's window has its 1,000 samples
# every minute, and it judges every minute: rolled back at the first tick after
jq_check "a winner that degrades on day 2 is rolled back within one monitor tick" "$TMP/degrade.json" \
    '[.timeline[] | select(.action == "rolled_back")] | length == 1 and (.[0].hours > 26) and (.[0].hours - 26 <= 1 / 60 + 1e-9)'
jq_check "... to the allocation before the last step" "$TMP/degrade.json" \
    '.state == "rolled_back" and .weights == {"control": 10, "treatment": 90} and .rollbacks == 1'
check "the timeline as text" 0 "rolled_back +control=10 treatment=90 health of treatment" "" -- \
    "$SY" simulate --scenario "$DATA/degrade.json"

"$SY" simulate --scenario "$DATA/aa.json" --runs 1000 --json >"$TMP/aa.json"
jq_check "1,000 A/A experiments checked hourly, sequential: false promotions <= 5 %" "$TMP/aa.json" \
    '.runs == 1000 and .false_promotion_rate <= 0.05'
sed 's/"sequential": true/"sequential": false/' "$DATA/aa.json" >"$TMP/aa_off.json"
"$SY" simulate --scenario "$TMP/aa_off.json" --runs 1000 --json >"$TMP/aa_off_out.json"
on=$(jq .false_promotion_rate "$TMP/aa.json")
off=$(jq .false_promotion_rate "$TMP/aa_off_out.json")
echo "# A/A false promotion rate over 1000 runs: sequential on $on, off $off"
jq_check "without sequential testing, peeking every hour promotes far more A/A tests" \
    "$TMP/aa_off_out.json" ".false_promotion_rate > $on + 0.03"

jq_check "... with exact 95 % intervals of each rate, the SRM alarm's too" "$TMP/aa.json" \
    '.false_promotion_rate_ci[0] <= .false_promotion_rate and .false_promotion_rate <= .false_promotion_rate_ci[1] and .false_promotion_rate_ci[1] < 0.01 and .srm_alarm_rate == 0 and .srm_alarm_rate_ci[1] < 0.004'
"$SY" simulate --scenario "$DATA/aa.json" --runs 3 --json >/dev/null 2>"$TMP/progress"
check "no progress line when stderr is not a terminal" 0 "" "" -- test ! -s "$TMP/progress"

# the mean metric: values drawn per unit (here zero-inflated revenue, +15 % a buyer)
"$SY" simulate --scenario "$DATA/revenue.json" --json >"$TMP/revenue.json"
jq_check "a revenue winner (mean metric, zero-inflated values) is stepped toward, never falsely" \
    "$TMP/revenue.json" '.steps >= 1 and (.false_step | not) and (.srm_alarm | not)'
# 5 % of the treatment's exposures lost: the anytime-valid SRM test blocks promotion
"$SY" simulate --scenario "$DATA/lost_exposures.json" --json >"$TMP/lost.json"
jq_check "5 % of one variant's exposures lost: the SRM alarm rises and nothing is promoted" \
    "$TMP/lost.json" '.srm_alarm and .steps == 0'

echo '{"variants": [{"key": "a"}]}' >"$TMP/bad.json"
check "a scenario with one variant is refused" 1 "" "variants is an array of 2" -- \
    "$SY" simulate --scenario "$TMP/bad.json"
echo '{"variants": [{"key": "a", "weight": 1}, {"key": "b", "weight": 1}]}' >"$TMP/nocontrol.json"
check "an experiment the engine refuses says why" 1 "" "exactly one variant is the control" -- \
    "$SY" simulate --scenario "$TMP/nocontrol.json"
check "not JSON" 1 "" "--scenario" -- "$SY" simulate --scenario /dev/null
check "--runs 0" 2 "" "--runs" -- "$SY" simulate --runs 0

tap_done
