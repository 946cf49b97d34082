#!/bin/sh
# console_methods.sh - the experiment page's issue-26 sections (ui/src/detail.js) in a real
# browser (console_methods.js, on console_lib.js) against a real server: a CUPED experiment
# (its adjusted figures beside the raw ones, #cuped), a bandit (each variant's chance of being
# the best, its weights and regret, #bandit) and an experiment in a layer with a holdout (its
# range, and its served traffic against the holdout, #layer-section). Every figure the page
# shows is compared with what the page must make of GET .../results, read from node at the same
# moment; axe-core on each page; screenshots (cuped, layer, bandit) into OUT_DIR.
#
#   console_methods.sh SWITCHYARD NODE_DIR OUT_DIR
set -u
SY=$1
NODE_DIR=$2
OUT=$3
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/console_common.sh"
console_setup "$NODE_DIR" "$OUT"

trap 'stop_server; tap_exit' EXIT
console_db
start_server "$SY" --quiet
check "the server starts" 0 "" "" -- test -n "$PORT"

# events EXPERIMENT N VARIANTS COVARIATE: N units spread over the VARIANTS (space-separated),
# each exposed (with a covariate when COVARIATE is 1) and with an outcome whose value follows
# its covariate, the last variant's half a unit higher; a pseudo-random but fixed sequence
events() {
    awk -v ex="$1" -v n="$2" -v vs="$3" -v cov="$4" 'BEGIN {
        k = split(vs, v, " "); s = 12345
        printf "{\"events\":["
        for (i = 0; i < n; i++) {
            s = (s * 69069 + 1) % 4294967296; x = 10 + (s % 1000) / 100
            s = (s * 69069 + 1) % 4294967296; e = (s % 1000) / 250
            a = i % k + 1; y = 0.8 * x + e + (a == k ? 0.5 : 0)
            printf "%s{\"type\":\"exposure\",\"unit\":\"%s-u%d\",\"experiment\":\"%s\",\"variant\":\"%s\"%s}", \
                (i ? "," : ""), ex, i, ex, v[a], (cov ? sprintf(",\"covariate\":%.2f", x) : "")
            printf ",{\"type\":\"outcome\",\"unit\":\"%s-u%d\",\"experiment\":\"%s\",\"success\":%s,\"value\":%.3f}", \
                ex, i, ex, (y > 13 ? "true" : "false"), y
        }
        printf "]}"
    }'
}

# ---- CUPED: a mean metric, 600 units with a covariate correlated with the outcome ----------------
expect "a CUPED experiment (mean metric)" 201 '.cuped.enabled' -- \
    POST /v1/experiments "$ADMIN" '{"key":"basket","metric":"mean","cuped":{"enabled":true},"variants":[{"key":"off","weight":50,"control":true},{"key":"on","weight":50}]}'
expect "... started" 200 '.state == "running"' -- POST /v1/experiments/basket/start "$ADMIN"
events basket 600 "off on" 1 >"$TMP/basket.json"
expect "... 600 units with covariates and outcomes" 200 '.accepted == 1200' -- POST /v1/events "$ADMIN" "@$TMP/basket.json"
expect "... its results carry the adjusted figures" 200 '.cuped.enabled and (.variants[1].vs_control.cuped.se < .variants[1].vs_control.cuped.se_raw)' -- \
    GET /v1/experiments/basket/results "$ADMIN"

# ---- a layer with a 10 % holdout, an experiment in 30 % of it, units in it and in the holdout ------
expect "a layer with a 10 % holdout" 201 '.holdout_pct == 10' -- POST /v1/layers "$ADMIN" '{"name":"checkout","holdout_pct":10}'
expect "an experiment in 30 % of it, placed after the holdout" 201 '.layer.range == [10, 40]' -- \
    POST /v1/experiments "$ADMIN" '{"key":"banner","layer":{"name":"checkout","pct":30},"variants":[{"key":"off","weight":50,"control":true},{"key":"on","weight":50}]}'
expect "... started" 200 '.state == "running"' -- POST /v1/experiments/banner/start "$ADMIN"
events banner 400 "off on holdout" 0 >"$TMP/banner.json"
expect "... 400 units: its two variants and the holdout" 200 '.accepted == 800' -- POST /v1/events "$ADMIN" "@$TMP/banner.json"
expect "... its results compare the served traffic with the holdout" 200 '.holdout.units > 100 and .holdout.vs_holdout.p_value != null' -- \
    GET /v1/experiments/banner/results "$ADMIN"

# ---- a bandit of four variants (burn-in: no look during the test), units in each -------------------
expect "a bandit of four variants" 201 '.bandit.update_minutes == 60' -- \
    POST /v1/experiments "$ADMIN" '{"key":"hero","bandit":{},"variants":[{"key":"a","weight":1,"control":true},{"key":"b","weight":1},{"key":"c","weight":1},{"key":"d","weight":1}]}'
expect "... started" 200 '.state == "running"' -- POST /v1/experiments/hero/start "$ADMIN"
events hero 800 "a b c d" 0 >"$TMP/hero.json"
expect "... 800 units" 200 '.accepted == 1600' -- POST /v1/events "$ADMIN" "@$TMP/hero.json"
expect "... its results say which variant is most likely the best" 200 '.bandit.best == "d" and (.bandit.probability_best | length) == 4' -- \
    GET /v1/experiments/hero/results "$ADMIN"

console_run console_methods.js "$URL" "$ADMIN" "$OUT"
shots cuped layer bandit

stop_server
check "the server stops cleanly" 0 "" "" -- test "${STOP_STATUS:-1}" = 0
tap_done
