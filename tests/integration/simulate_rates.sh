#!/bin/sh
# simulate_rates.sh - what `switchyard simulate` promises over many runs: over 1,000 A/A
# experiments checked every hour, false promotions at most 5 % with sequential testing (and
# far more without it), with exact intervals; the same with CUPED (its adjusted always-valid
# p) and its intervals sqrt(1 - rho^2) of the raw ones; the power the results print, checked
# by 40 runs of a winner.
#
# The long runs go to SY_FAST when the environment names it: the optimised build of the same
# source (`make test` passes build/release's; 1,000 A/A runs take ~30 s of CPU there and ~110
# s under ASan). Else to SWITCHYARD. Either way a `#` line names the binary. With SY_FAST,
# 20 A/A runs, sequential on and off, are made by both binaries and compared byte for byte
# first: the sanitizers see the many-run code, and the fast binary is shown to compute what
# the tested one does. simulate.sh runs every scenario once on SWITCHYARD.
#
#   simulate_rates.sh SWITCHYARD DATA_DIR        (SY_FAST=PATH in the environment: optional)
set -u
SY=$1
DATA=$2/simulate
. "$(dirname "$0")/tap.sh"

RATES=$SY
sed 's/"sequential": true/"sequential": false/' "$DATA/aa.json" >"$TMP/aa_off.json"
if [ -n "${SY_FAST:-}" ]; then
    check "SY_FAST names an executable" 0 "" "" -- test -x "$SY_FAST"
    if [ -x "$SY_FAST" ]; then
        RATES=$SY_FAST
        for sc in "$DATA/aa.json" "$TMP/aa_off.json"; do
            "$SY" simulate --scenario "$sc" --runs 20 --json >"$TMP/tested.json"
            "$RATES" simulate --scenario "$sc" --runs 20 --json >"$TMP/fast.json"
            check "20 A/A runs ($(basename "$sc")): SY_FAST's output is the tested build's, byte for byte" \
                0 "" "" -- cmp "$TMP/tested.json" "$TMP/fast.json"
        done
    fi
fi
if [ "$RATES" = "$SY" ]; then
    echo "# the rates' runs on $RATES, the build under test (no usable SY_FAST)"
else
    echo "# the rates' runs on SY_FAST=$RATES"
fi

"$RATES" simulate --scenario "$DATA/aa.json" --runs 1000 --json >"$TMP/aa.json"
jq_check "1,000 A/A experiments checked hourly, sequential: false promotions <= 5 %" "$TMP/aa.json" \
    '.runs == 1000 and .false_promotion_rate <= 0.05'
"$RATES" simulate --scenario "$TMP/aa_off.json" --runs 1000 --json >"$TMP/aa_off_out.json"
on=$(jq .false_promotion_rate "$TMP/aa.json")
off=$(jq .false_promotion_rate "$TMP/aa_off_out.json")
echo "# A/A false promotion rate over 1000 runs: sequential on $on, off $off"
jq_check "without sequential testing, peeking every hour promotes far more A/A tests" \
    "$TMP/aa_off_out.json" ".false_promotion_rate > $on + 0.03"

jq_check "... with exact 95 % intervals of each rate, the SRM alarm's too" "$TMP/aa.json" \
    '.false_promotion_rate_ci[0] <= .false_promotion_rate and .false_promotion_rate <= .false_promotion_rate_ci[1] and .false_promotion_rate_ci[1] < 0.01 and .srm_alarm_rate == 0 and .srm_alarm_rate_ci[1] < 0.004'

# CUPED (issue 26): 1,000 A/A experiments on the mean metric, a covariate correlated 0.7 with
# each unit's value, CUPED and sequential on, checked hourly, no minimum improvement (the
# test alone decides; fixed-horizon, 300 of the same runs promoted 6 %): the adjusted
# always-valid p keeps false promotions at 5 % at most (the exact interval's top), and the difference's
# interval is sqrt(1 - 0.7^2) = 0.714 of the raw one (within 3 %: the average of 1,000 runs)
start=$(date +%s)
"$RATES" simulate --scenario "$DATA/cuped_aa.json" --runs 1000 --json >"$TMP/cuped_aa.json"
echo "# 1,000 A/A runs with CUPED: $(($(date +%s) - start)) s; $(jq -c '{false_promotion_rate, false_promotion_rate_ci, interval_width}' "$TMP/cuped_aa.json")"
jq_check "1,000 A/A experiments with CUPED and sequential: false promotions' 95 % upper bound <= 5 %" \
    "$TMP/cuped_aa.json" '.runs == 1000 and .false_promotion_rate_ci[1] <= 0.05'
jq_check "... the adjusted interval sqrt(1 - rho^2) of the raw one, within 3 %" "$TMP/cuped_aa.json" \
    '.interval_width.runs == 1000 and .interval_width.ratio > 0.714 * 0.97 and .interval_width.ratio < 0.714 * 1.03'

# the rule's power as the results print it, checked by the runs themselves
"$RATES" simulate --scenario "$DATA/winner.json" --runs 40 --json >"$TMP/plan.json"
jq_check "40 runs of a winner: each run's lift intervals held the true lift at every check" "$TMP/plan.json" \
    '.lift_interval.runs == 40 and .lift_interval.at_every_check >= 0.8 and .lift_interval.at_every_check_ci[1] >= .lift_interval.at_every_check'
jq_check "runs report the printed sample_needed and how many were promoted by it" "$TMP/plan.json" \
    '.plan.runs == 40 and .plan.power >= 0.8 and .plan.median_sample_needed > 1000 and .plan.promoted_by_sample_needed_ci[0] <= .plan.power + 0.05 and .plan.promoted_by_sample_needed_ci[1] >= .plan.power - 0.05'

tap_done
