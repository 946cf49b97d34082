#!/bin/sh
# bench/simulate.sh [RUNS] - the statistics' promises, checked by simulation (issue 21):
# each scenario of bench/simulate/ (and the 14-day healthy winner) run RUNS times (default
# 1000; about an hour in all on 2 cores) through the real engine, printing the rates with
# their 95 % Clopper-Pearson intervals. Not part of `make test`: see docs/cli.md (simulate).
set -eu
cd "$(dirname "$0")/.."
SY=${SY:-build/release/src/switchyard}
RUNS=${1:-1000}
[ -x "$SY" ] || { echo "bench/simulate.sh: build first (make build), or set SY" >&2; exit 2; }
run() { # name, scenario, extra args
    name=$1 file=$2
    shift 2
    "$SY" simulate --scenario "$file" --runs "$RUNS" --json "$@" |
        jq -c --arg name "$name" '{scenario: $name, promotion: .promotion_rate,
            false_promotion: .false_promotion_rate_ci, rollback: .rollback_rate_ci,
            srm_alarm: .srm_alarm_rate_ci, plan: (.plan | if . then {power, promoted_by_sample_needed,
            ci: .promoted_by_sample_needed_ci} else null end),
            lift_interval: (.lift_interval | if . then {at_every_check, ci: .at_every_check_ci} else null end)}'
}
run "healthy winner, 14 days, steps" tests/data/simulate/winner.json --days 14
run "A/A, 2 arms, conversion, gate 5 %" bench/simulate/aa_2_conversion.json
run "A/A, 4 arms, lognormal mean, gate 0" bench/simulate/aa_4_lognormal.json
run "power, fixed horizon read hourly" bench/simulate/power_fixed.json
run "power, sequential" bench/simulate/power_sequential.json
run "success rate down 10 points on day 2" bench/simulate/degrade.json
run "2 % of one arm's exposures lost, 200,000 units a variant" bench/simulate/lost_2pct.json
bench/simulate_bandit.sh "$RUNS"
