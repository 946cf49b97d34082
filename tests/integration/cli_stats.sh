#!/bin/sh
# cli_stats.sh - drives the real `switchyard stats` binary and the conformance runner.
#
# usage: cli_stats.sh SWITCHYARD SY-CONFORMANCE DATA_DIR      (prints TAP)
set -u
SY=$1
CONF=$2
DATA=$3
. "$(dirname "$0")/tap.sh"

check "help lists the stats command" 0 "stats" "" -- "$SY" --help
check "no command is a usage error" 2 "" "usage" -- "$SY"
check "unknown command is a usage error" 2 "" "unknown command 'nope'" -- "$SY" nope
for verb in ztest welch srm power bayes sequential holm; do
    check "stats --help lists $verb" 0 "^  $verb " "" -- "$SY" stats --help
    check "stats $verb --help describes --json" 0 "--json" "" -- "$SY" stats "$verb" --help
done

check "ztest prints a summary with z and p" 0 "z = 1\.9630, p = 0\.0496" "" -- \
    "$SY" stats ztest --control 120/1000 --treatment 150/1000
check "ztest --json prints the codec's keys" 0 '"relative_lift": 0\.25' "" -- \
    "$SY" stats ztest --control 120/1000 --treatment 150/1000 --json
check "ztest --unpooled --alternative=larger" 0 "unpooled SE, alternative larger" "" -- \
    "$SY" stats ztest --control 120/1000 --treatment 150/1000 --unpooled --alternative=larger
check "ztest names a malformed --control" 2 "" "--control: expected SUCCESSES/TRIALS" -- \
    "$SY" stats ztest --control 120:1000 --treatment 150/1000
check "ztest names the option core refuses" 2 "" "--treatment: .*exceed" -- \
    "$SY" stats ztest --control 1/10 --treatment 11/10
check "ztest --json refusal prints the error object" 2 '"code": "no_trials"' "" -- \
    "$SY" stats ztest --control 0/0 --treatment 1/10 --json
check "ztest requires --treatment" 2 "" "--treatment is required" -- \
    "$SY" stats ztest --control 1/10
check "unknown option is named" 2 "" "unknown option --bogus" -- \
    "$SY" stats ztest --bogus 1
check "option without its value is named" 2 "" "--confidence needs a value" -- \
    "$SY" stats ztest --control 1/10 --treatment 2/10 --confidence
check "bad confidence is named" 2 "" "--confidence: confidence must be in" -- \
    "$SY" stats ztest --control 1/10 --treatment 2/10 --confidence 95
check "welch prints t, df and p" 0 "t = 2\.1169, df = 216\.33, p = 0\.0354095" "" -- \
    "$SY" stats welch --control 10:2:100 --treatment 10.6:2.2:120
check "welch with one unit is too_few_samples" 2 "" "--control: .*too_few_samples" -- \
    "$SY" stats welch --control 10:2:1 --treatment 10.6:2.2:120
check "srm flags a mismatch" 0 "MISMATCH" "" -- \
    "$SY" stats srm --observed 5000,5600 --weights 50,50
check "srm names units in a zero-weight arm" 2 "" "--observed: " -- \
    "$SY" stats srm --observed 10,3 --weights 100,0
check "srm counts weights against variants" 2 "" "--weights: 3 weights for 2 variants" -- \
    "$SY" stats srm --observed 10,3 --weights 1,1,1
check "power gives both sample sizes" 0 "Cohen's h: +57756 control" "" -- \
    "$SY" stats power --baseline 0.1 --mde-relative 0.05
check "power names a bad baseline" 2 "" "--baseline: baseline must be in" -- \
    "$SY" stats power --baseline 1.5 --mde-relative 0.05
check "bayes gives the chance to beat control" 0 "chance treatment beats control +97\.5" "" -- \
    "$SY" stats bayes --control 120/1000 --treatment 150/1000
check "bayes names a fractional prior" 2 "" "--prior: " -- \
    "$SY" stats bayes --control 120/1000 --treatment 150/1000 --prior 0.5,1
check "sequential rejects after enough evidence" 0 "reject the null at alpha = 0\.05: yes" "" -- \
    "$SY" stats sequential --tau-squared 0.0001 --look 100/1000,120/1000 \
    --look 10000/100000,11000/100000
check "sequential --json has one object per look" 0 '"always_valid_p": 3\.3' "" -- \
    "$SY" stats sequential --tau-squared 0.0001 --look 0/0,0/0 --look 100/1000,120/1000 \
    --look 10000/100000,11000/100000 --json
check "sequential names the bad look" 2 '"field": "looks\[1\]\.control\.successes"' "--look: " -- \
    "$SY" stats sequential --tau-squared 0.0001 --look 1/10,1/10 --look 12/10,1/10 --json
check "sequential requires --tau-squared" 2 "" "--tau-squared is required" -- \
    "$SY" stats sequential --look 1/10,1/10
check "holm adjusts and decides" 0 "0\.03 +yes" "" -- "$SY" stats holm --p 0.01,0.04,0.03
check "plan: units and days for both tests, for the rule" 0 \
    "fixed horizon +14751 units a variant, +1\.2 days" "" -- \
    "$SY" stats plan --baseline 0.10 --lift 0.10
check "plan: a lift at the gate never reaches 80 % at a fixed horizon" 0 \
    '"fixed_horizon": null' "" -- "$SY" stats plan --baseline 0.10 --lift 0.05 --json
check "plan: a rate out of range is refused, naming it" 2 '"field": "baseline"' "" -- \
    "$SY" stats plan --baseline 1.5 --lift 0.1 --json
check "plan: a confidence of 1 is refused as --confidence, nothing else printed" 2 \
    '^\{ "error": \{ "code": "invalid_input", "message": "must be in \(0, 1\)", "field": "confidence" \} ?\}$' \
    "--confidence" -- sh -c "out=\$(\"$SY\" stats plan --baseline 0.1 --lift 0.1 --confidence 1 --json); rc=\$?; printf '%s' \"\$out\" | tr -d '\n' | tr -s ' '; exit \$rc"
# plans no path reaches: bounded work (4,096 looks at most), answered at once
for args in "--lift 0" "--lift -0.1" "--baseline 0.001 --lift 0.001" "--baseline 1e-300 --lift 0.1"; do
    check "plan: $args is answered within 20 s, never reached" 0 '"sequential": null' "" -- \
        timeout 20 "$SY" stats plan --baseline 0.1 $args --json
done

# The conformance runner: it must pass the shared vectors, and it must be able to fail.
check "conformance passes the shared vectors" 0 "^[1-9][0-9]* passed, 0 failed$" "" -- \
    "$CONF" stats
check "conformance fails a wrong expectation, printing it" 1 \
    "FAIL .*wrong value.*expected 0\.5, got" "" -- "$CONF" stats "$DATA/conformance/wrong.json"
check "conformance ends with the counts when failing" 1 "^1 passed, 3 failed$" "" -- \
    "$CONF" stats "$DATA/conformance/wrong.json"
check "conformance judges sequential SRM vectors, and can fail them" 1 \
    "FAIL .*wrong value.*period 0 look 1: p_value: expected 0\.5" "" -- \
    "$CONF" stats "$DATA/conformance/srm_sequential_wrong.json"
check "... counting the case that holds" 1 "^1 passed, 1 failed$" "" -- \
    "$CONF" stats "$DATA/conformance/srm_sequential_wrong.json"
check "conformance reads every file of a folder" 0 "^[1-9][0-9]* passed, 0 failed$" "" -- \
    "$CONF" stats "$DATA/conformance/extra"
check "conformance fails on a path it cannot read" 1 "cannot read" "" -- \
    "$CONF" stats "$DATA/no-such-file.json"
check "conformance usage error without a suite" 2 "" "usage" -- "$CONF"
check "conformance flagd fails deliberately wrong expectations" 1 \
    "0 passed, 2 failed" "" -- "$CONF" flagd "$DATA/conformance/flagd/wrong.json"
check "conformance flagd counts an unknown kind as failures" 1 \
    'unknown kind "teleport"' "" -- "$CONF" flagd "$DATA/conformance/flagd/unknown_kind.json"

tap_done
