#!/bin/sh
# bench/simulate_bandit.sh [RUNS] - the bandit's promises by simulation (issue 26): one
# scenario of 4 arms, one +10 % (tests/data/simulate/bandit4.json: 14 days, 150 units an
# hour, conversion 0.20 and 0.22), run RUNS times (default 1000) as a fixed equal split,
# as guarded steps and as a bandit (simulate --mode), and its A/A/A/A twin as a bandit.
# Prints each mode's summary (expected conversions, the best arm with the most traffic,
# the least weight) and the regret curves as a table by day. About 0.3 s (equal), 0.5 s
# (steps) and 0.7 s (bandit) a run on the release build. Called by bench/simulate.sh
# (make simulate-figures); tests/integration/simulate_bandit.sh asserts the same bounds
# over fewer runs.
set -eu
cd "$(dirname "$0")/.."
SY=${SY:-build/release/src/switchyard}
RUNS=${1:-1000}
OUT=${OUT:-$(mktemp -d)}
[ -x "$SY" ] || { echo "bench/simulate_bandit.sh: build first (make build), or set SY" >&2; exit 2; }
SC=tests/data/simulate/bandit4.json
# the four at once: each is one process on one core
for mode in equal steps bandit; do
    "$SY" simulate --scenario "$SC" --runs "$RUNS" --json --mode "$mode" >"$OUT/$mode.json" &
done
"$SY" simulate --scenario tests/data/simulate/bandit_aa.json --runs "$RUNS" --json >"$OUT/aa.json" &
wait
for f in equal steps bandit aa; do
    jq -c --arg name "$f" '{run: $name, mode, runs, expected_conversions,
        best_most_traffic: .best_most_traffic_rate_ci, best_most_traffic_rate, min_weight,
        final_weights, bandit_updates, regret_14d: .regret_by_day[-1]}' "$OUT/$f.json"
done
echo "cumulative regret (conversions lost against always serving the best arm), mean of $RUNS runs"
echo "day  equal    steps    bandit"
jq -rn --slurpfile e "$OUT/equal.json" --slurpfile s "$OUT/steps.json" \
    --slurpfile b "$OUT/bandit.json" \
    'range(0; $e[0].regret_by_day | length) as $d |
     "\($d + 1 | tostring | .[0:3])  \($e[0].regret_by_day[$d] * 10 | round / 10)  \($s[0].regret_by_day[$d] * 10 | round / 10)  \($b[0].regret_by_day[$d] * 10 | round / 10)"'
