#!/bin/sh
# simulate_bandit.sh - issue 26's bandit in `switchyard simulate`: 4 arms, one +10 %
# (tests/data/simulate/bandit4.json, 14 days), as a fixed equal split, guarded steps and a
# bandit (--mode): the bandit's expected conversions beat both, the best arm ends with the
# most traffic in >= 95 % of the runs, and its A/A/A/A twin never gives an arm less than
# its floor (5 %). The issue's 1,000 runs each take some 40 minutes of CPU (0.3, 0.5 and
# 0.7 s a run): they are bench/simulate_bandit.sh's (make simulate-figures); here the
# same bounds over 30 runs on SY_FAST (the release build; about a minute), or 8 on the build
# under test when no SY_FAST is named. With SY_FAST, 2 short bandit runs of both builds are
# compared byte for byte first. Then the fields of one run, and --mode refused.
#
#   simulate_bandit.sh SWITCHYARD DATA_DIR        (SY_FAST=PATH in the environment: optional)
set -u
SY=$1
DATA=$2/simulate
. "$(dirname "$0")/tap.sh"

RATES=$SY RUNS=8
if [ -n "${SY_FAST:-}" ] && [ -x "$SY_FAST" ]; then
    "$SY" simulate --scenario "$DATA/bandit4.json" --days 3 --runs 2 --json >"$TMP/tested.json"
    "$SY_FAST" simulate --scenario "$DATA/bandit4.json" --days 3 --runs 2 --json >"$TMP/fast.json"
    check "2 bandit runs: SY_FAST's output is the tested build's, byte for byte" 0 "" "" -- \
        cmp "$TMP/tested.json" "$TMP/fast.json"
    RATES=$SY_FAST RUNS=30
fi
echo "# $RUNS runs of each mode on $RATES"

for mode in equal steps bandit; do
    "$RATES" simulate --scenario "$DATA/bandit4.json" --runs "$RUNS" --mode "$mode" --json >"$TMP/$mode.json"
done
"$RATES" simulate --scenario "$DATA/bandit_aa.json" --runs "$RUNS" --json >"$TMP/aa.json"
for f in equal steps bandit aa; do
    echo "# $f: $(jq -c '{mode, expected: .expected_conversions.mean, best_most: .best_most_traffic_rate, min_weight, regret_14d: .regret_by_day[-1]}' "$TMP/$f.json")"
done
E=$(jq .expected_conversions.mean "$TMP/equal.json")
S=$(jq .expected_conversions.mean "$TMP/steps.json")
jq_check "the bandit's expected conversions beat a fixed equal split's ($E)" "$TMP/bandit.json" \
    ".mode == \"bandit\" and .runs == $RUNS and .expected_conversions.mean > $E"
jq_check "... and the guarded steps' ($S)" "$TMP/bandit.json" ".expected_conversions.mean > $S"
jq_check "... its regret curve lies under both, every day" "$TMP/bandit.json" \
    "[.regret_by_day, $(jq -c .regret_by_day "$TMP/equal.json"), $(jq -c .regret_by_day "$TMP/steps.json")] | transpose | length == 14 and all(.[0] <= .[1] and .[0] <= .[2])"
jq_check "the best arm ends with the most traffic in >= 95 % of the runs" "$TMP/bandit.json" \
    '.best_most_traffic_rate >= 0.95 and .final_weights.c > 50 and .bandit_updates > 0'
jq_check "a fixed split never moves (25 % each), and takes no step" "$TMP/equal.json" \
    '.mode == "equal" and .min_weight == 25 and .final_weights == {"a":25,"b":25,"c":25,"d":25} and .promotion_rate == 0'
jq_check "an A/A/A/A bandit never starves an arm below its floor of 5 %" "$TMP/aa.json" \
    '.mode == "bandit" and .min_weight >= 5 and .bandit_updates > 0'

"$SY" simulate --scenario "$DATA/bandit4.json" --days 2 --json >"$TMP/one.json"
jq_check "one run says what it earned: expected conversions, the regret by day, the least weight" \
    "$TMP/one.json" '.mode == "bandit" and .expected_conversions > 0 and (.regret_by_day | length) == 2 and .regret_by_day[1] >= .regret_by_day[0] and .min_weight >= 5 and (.best_most_traffic | type) == "boolean" and .bandit_updates >= 1 and .state == "running"'
check "a mode it does not know is refused, naming it" 2 '"field": "mode"' "" -- \
    "$SY" simulate --scenario "$DATA/bandit4.json" --mode greedy --json
check "the text summary says what the allocation earned" 0 "earned \\(steps\\): [0-9.]+ expected conversions" "" -- \
    "$SY" simulate --scenario "$DATA/bandit4.json" --days 1 --mode steps

tap_done
