#!/bin/sh
# simulate.sh - `switchyard simulate`, the real engine on its own clock: a true +10 %
# winner promoted in steps to 100 %; a winner that degrades rolled back within one tick of
# the monitor; the mean metric; lost exposures raising the SRM alarm; determinism by seed;
# refused scenarios. Every scenario once, on the build under test (the sanitizers'); the
# rates over many runs are simulate_rates.sh's.
#
#   simulate.sh SWITCHYARD DATA_DIR
set -u
SY=$1
DATA=$2/simulate
. "$(dirname "$0")/tap.sh"

"$SY" simulate --scenario "$DATA/winner.json" --json >"$TMP/winner.json"
jq_check "a +10 % winner is promoted in guarded steps to 100 %" "$TMP/winner.json" \
    '.reached_full and .steps >= 3 and .weights.treatment == 100 and .state == "promoted" and (.false_step | not)'
jq_check "... each step at most 20 points, 24 h apart" "$TMP/winner.json" \
    '[.timeline[] | select(.action == "step") | .hours] as $h | ([range(1; $h | length)] | all($h[.] - $h[. - 1] >= 24)) and ([.timeline[] | select(.action == "step") | .weights.treatment] == [70, 90, 100])'
jq_check "... refusals name the guardrail" "$TMP/winner.json" \
    '[.timeline[] | select(.action == "refused") | .refused_by] | unique == ["cooldown"]'
# the same winner with safety.promotion "full": to 100 % at once, at the check that found it
jq '.safety.promotion = "full"' "$DATA/winner.json" >"$TMP/full_scenario.json"
"$SY" simulate --scenario "$TMP/full_scenario.json" --days 3 --json >"$TMP/full.json"
FIRST=$(jq '[.timeline[] | select(.action == "step")][0].hours' "$TMP/winner.json")
jq_check "promotion \"full\": one change, to 100 % at the check where steps took their first" \
    "$TMP/full.json" \
    "[.timeline[] | select(.action == \"promote\" or .action == \"step\")] as \$p | (\$p | length) == 1 and \$p[0].action == \"promote\" and \$p[0].weights.treatment == 100 and .reached_full and .state == \"promoted\" and \$p[0].hours == $FIRST"
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

# latency drawn from a distribution: p95 past the health monitor's limit is rolled back
"$SY" simulate --scenario "$DATA/latency.json" --json >"$TMP/latency.json"
jq_check "a winner whose p95 goes from 250 to 600 ms (limit 400) is rolled back within a tick" \
    "$TMP/latency.json" '[.timeline[] | select(.action == "rolled_back")] | length == 1 and (.[0].hours > 26) and (.[0].hours - 26 <= 1 / 60 + 1e-9) and (.[0].reason | test("p95 [0-9.]+ ms over its limit of 400 ms$"))'

# CUPED (issue 26): a covariate correlated 0.7 with each unit's value shrinks the difference's
# interval by sqrt(1 - 0.7^2) = 0.714 (48,000 units: within 3 %), and the adjusted figures
# decide: a +8 % winner stepped toward
"$SY" simulate --scenario "$DATA/cuped.json" --json >"$TMP/cuped.json"
jq_check "CUPED, rho 0.7: the interval is sqrt(1 - rho^2) of the raw one, within 3 %" "$TMP/cuped.json" \
    '.interval_width.ratio > 0.714 * 0.97 and .interval_width.ratio < 0.714 * 1.03 and .interval_width.cuped < .interval_width.raw'
jq_check "... and a +8 % winner is stepped toward on the adjusted figures, never falsely" \
    "$TMP/cuped.json" '.steps >= 1 and (.false_step | not) and (.srm_alarm | not)'
check "... the summary says both widths" 0 "^CUPED: the difference's interval [0-9.]+ wide, [0-9.]+ raw \(0\.7[0-9]+ of it\)" "" -- \
    "$SY" simulate --scenario "$DATA/cuped.json" --days 1
echo '{"covariate": {"rho": 2}}' >"$TMP/badrho.json"
check "a covariate's rho out of -1..1 is named" 2 "" "covariate\.rho" -- "$SY" simulate --scenario "$TMP/badrho.json"
echo '{"variants": [{"key": "a", "control": true, "covariate": {"r": 1}}, {"key": "b"}]}' >"$TMP/badcov.json"
check "a covariate without rho is named" 2 "" "variants\[0\]\.covariate" -- "$SY" simulate --scenario "$TMP/badcov.json"

echo '{"variants": [{"key": "a"}]}' >"$TMP/bad.json"
check "a scenario with one variant is refused, exit 2" 2 "" "variants: an array of 2" -- \
    "$SY" simulate --scenario "$TMP/bad.json"
check "... with --json, as the error object naming the field" 2 '"field": "variants"' "" -- \
    "$SY" simulate --scenario "$TMP/bad.json" --json
echo '{"days": 0.05, "units_per_hour": 100}' >"$TMP/partial.json"
check "a partial scenario takes the default's variants" 0 "summary: 0 steps" "" -- \
    "$SY" simulate --scenario "$TMP/partial.json"
echo '{"bogus": 1}' >"$TMP/bogus.json"
check "an unknown field is named" 2 '"field": "bogus"' "" -- \
    "$SY" simulate --scenario "$TMP/bogus.json" --json
echo '{"variants": [{"key": "a", "weight": 1}, {"key": "b", "weight": 1}]}' >"$TMP/nocontrol.json"
check "an experiment the engine refuses says why" 2 "" "exactly one variant is the control" -- \
    "$SY" simulate --scenario "$TMP/nocontrol.json"
echo '{"variants": [{"key": "a", "control": true, "latency": {"distribution": "gamma"}}, {"key": "b"}]}' >"$TMP/badlat.json"
check "a latency distribution it does not know is named" 2 "" "variants\[0\]\.latency" -- \
    "$SY" simulate --scenario "$TMP/badlat.json"
echo '{"variants": [{"key": "a", "control": true, "changes": [{"at_hours": 2, "conversion": 0.2}, {"at_hours": 1}]}, {"key": "b"}]}' >"$TMP/order.json"
check "changes out of time order are refused" 2 "" "changes\[1\]\.at_hours: changes come in time order" -- \
    "$SY" simulate --scenario "$TMP/order.json"
check "not JSON" 2 "" "scenario" -- "$SY" simulate --scenario /dev/null
check "--days 0 is refused" 2 "" "--days" -- "$SY" simulate --days 0
check "--runs 0 with --json: the error object" 2 '"field": "runs"' "" -- "$SY" simulate --runs 0 --json
check "--runs 0" 2 "" "--runs" -- "$SY" simulate --runs 0

tap_done
