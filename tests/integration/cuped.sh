#!/bin/sh
# cuped.sh - CUPED against statsmodels (issue 26): for data sets of several arms, unequal
# sizes, covariates correlated and not, missing covariates (counted as 0) and offsets of 1e9,
# statsmodels' OLS y ~ C(arm) + x (tests/data/cuped/reference.py) gives each treatment's
# coefficient and standard error; core/stats's sy_stats_cuped over the same units
# (sy-cuped-core), and a real `switchyard serve` given them as events over HTTP (exposures
# with their covariate, outcomes with their value) and asked for its results, must match it
# to 1e-9: the SE relative to itself, the difference relative to the larger of itself and
# its SE. Then the API's rules: "cuped" fixed once started, a bad covariate refused naming
# the field, and a restart that rebuilds the adjusted figures bit for bit from the log.
# The same data sets again with each covariate sent instead as its unit's KPI events
# ("cuped": {"kpi"}), summed by the engine at each unit's first exposure: the same match.
# Outcomes on a line of their covariate (the covariate sent is the outcome, say) leave no
# residual: zero_residual_variance and the raw figures decide, at any offset; a treatment
# significantly worse by a lift that rounds to nothing (a metric of 9e14) is never promoted.
# Fails, saying so, when statsmodels is missing (scripts/deps.sh installs it).
#
#   cuped.sh SWITCHYARD SY-CUPED-CORE
set -u
SY=$1
CORE=$2
HERE=$(dirname "$0")
REF="$HERE/../data/cuped/reference.py"
. "$HERE/tap.sh"

# Debian's python3 holds python3-statsmodels; a python3 of another installation (pyenv's)
# may come first on the PATH without it.
PY=python3
for p in python3 /usr/bin/python3; do
    if "$p" -c 'import statsmodels' 2>/dev/null; then
        PY=$p
        break
    fi
done
mkdir -p "$TMP/sets"
if ! "$PY" "$REF" gen "$TMP/sets" 2>"$TMP/err"; then
    : >"$TMP/out"
    not_ok "statsmodels' reference (python3-statsmodels is needed: scripts/deps.sh)"
    tap_done
    exit 1
fi
ok "statsmodels' reference for $(wc -l <"$TMP/sets/sets") data sets"

# close NAME GOT REF: GOT and REF ("ARM DIFF SE" lines, sorted by arm) agree to 1e-9.
close() {
    if awk 'NR == FNR { d[$1] = $2; s[$1] = $3; next }
        { n++
          if (!($1 in d)) { print "# arm " $1 ": nothing"; bad = 1; next }
          se = $3; scale = ($2 < 0 ? -$2 : $2); if (se > scale) scale = se
          dd = d[$1] - $2; if (dd < 0) dd = -dd
          ds = s[$1] - se; if (ds < 0) ds = -ds
          if (dd > 1e-9 * scale || ds > 1e-9 * se) {
              printf "# arm %s: diff %.17g vs %.17g, se %.17g vs %.17g\n", $1, d[$1], $2, s[$1], se
              bad = 1 } }
        END { exit bad || n == 0 }' "$2" "$3" >"$TMP/err" 2>&1; then
        ok "$1"
    else
        cp "$2" "$TMP/out"
        not_ok "$1"
    fi
}

# ---- (a) the core function ---------------------------------------------------------------------
while read -r set; do
    "$CORE" <"$TMP/sets/$set.units" >"$TMP/core.$set" 2>"$TMP/err"
    close "core: $set matches statsmodels (diff, SE)" "$TMP/core.$set" "$TMP/sets/$set.ref"
done <"$TMP/sets/sets"

ERR_KPI='.error.code != null and .error.message != null and .error.field != null'

# ---- (b) the engine, end to end ------------------------------------------------------------------
"$SY" workspace create default --db "$DB" >/dev/null
ADMIN=$("$SY" token create --db "$DB" --role admin --name alice)
SDK=$("$SY" token create --db "$DB" --role sdk --name app)
start_server "$SY" --quiet

# define SET: the experiment of SET's arms (a00 the control), metric mean, CUPED on
define() {
    awk '{ if ($1 + 1 > k) k = $1 + 1 } END {
        printf "{\"key\":\"%s\",\"metric\":\"mean\",\"cuped\":{\"enabled\":true},", ENVIRON["SET"]
        printf "\"safety\":{\"min_runtime_hours\":0},\"variants\":["
        for (i = 0; i < k; i++)
            printf "%s{\"key\":\"a%02d\",\"weight\":1%s}", (i ? "," : ""), i, (i ? "" : ",\"control\":true")
        print "]}" }' "$TMP/sets/$1.units"
}
# events SET: each unit's exposure (its covariate, when it has one) and its outcome's value
events() {
    awk '{ printf "%s{\"type\":\"exposure\",\"unit\":\"u%d\",\"experiment\":\"%s\",\"variant\":\"a%02d\"%s}",
             (NR > 1 ? "," : "{\"events\":["), NR, ENVIRON["SET"], $1, ($2 == "-" ? "" : ",\"covariate\":" $2)
           printf ",{\"type\":\"outcome\",\"unit\":\"u%d\",\"experiment\":\"%s\",\"value\":%s}", NR, ENVIRON["SET"], $3 }
         END { print "]}" }' "$TMP/sets/$1.units"
}
# got SET: the results' adjusted diff and SE of each treatment, "ARM DIFF SE"
got() {
    req GET "/v1/experiments/$1/results" "$ADMIN" >/dev/null
    jq -r '.variants[] | select(.control | not) | "\(.key[1:] | tonumber) \(.vs_control.cuped.diff) \(.vs_control.cuped.se)"' \
        "$TMP/body"
}
while read -r set; do
    export SET=$set
    define "$set" >"$TMP/def.json"
    events "$set" >"$TMP/events.json"
    req POST /v1/experiments "$ADMIN" "@$TMP/def.json" >/dev/null
    req POST "/v1/experiments/$set/start" "$ADMIN" >/dev/null
    expect "engine: $set's events over HTTP" 200 '.accepted > 0' -- POST /v1/events "$SDK" "@$TMP/events.json"
    got "$set" >"$TMP/engine.$set"
    close "engine: $set's results match statsmodels (diff, SE)" "$TMP/engine.$set" "$TMP/sets/$set.ref"
done <"$TMP/sets/sets"

missing=$(awk '$2 == "-"' "$TMP/sets/missing_covariates.units" | wc -l)
units=$(wc -l <"$TMP/sets/missing_covariates.units")
expect "results: CUPED on, theta, units with a covariate, missing ones counted as 0" 200 \
    ".cuped.enabled == true and (.cuped.theta | type) == \"number\" and .cuped.units_with_covariate == $((units - missing)) and .cuped.missing_covariate == \"zero\" and ([.variants[].units_with_covariate] | add) == $((units - missing))" -- \
    GET /v1/experiments/missing_covariates/results "$ADMIN"
expect "results: the adjusted figures beside the raw ones, the variance reduced" 200 \
    '[.variants[] | select(.control | not) | .vs_control | (.diff | type) == "number" and (.cuped.variance_reduction > 0.3) and .cuped.interval == "fixed-horizon" and (.cuped.df | type) == "number" and (.cuped.lift_ci | length) == 2 and .cuped.se < .cuped.se_raw] | all' -- \
    GET /v1/experiments/three_arms_unequal/results "$ADMIN"
expect "results: uncorrelated, the variance barely changes" 200 \
    '.variants[1].vs_control.cuped.variance_reduction | . > -0.05 and . < 0.05' -- \
    GET /v1/experiments/uncorrelated/results "$ADMIN"

# ---- (c) the covariates from a KPI metric ("cuped": {"kpi"}) -----------------------------------
# Each unit's covariate sent as KPI events of metric SET before its exposure (its value, one
# of 0 and a failure counting 0 beside it), none for a unit without one (then 0, as
# statsmodels is given): the exposures carry none, the engine sums them, and the results
# must match statsmodels as the sent covariates do. Noise that must not count: another
# metric, another domain, events of no unit, of another unit, and one after the exposure.
kpis() {
    awk '$2 != "-" {
           printf "%s{\"domain\":\"pre\",\"metric\":\"%s\",\"actor\":\"t\",\"unit\":\"u%d\",\"value\":%s}", (n++ ? "," : "{\"events\":["), ENVIRON["SET"], NR, $2
           printf ",{\"domain\":\"pre\",\"metric\":\"%s\",\"actor\":\"t\",\"unit\":\"u%d\",\"value\":0,\"success\":true}", ENVIRON["SET"], NR
           printf ",{\"domain\":\"pre\",\"metric\":\"%s\",\"actor\":\"t\",\"unit\":\"u%d\",\"success\":false}", ENVIRON["SET"], NR }
         { printf "%s{\"domain\":\"pre\",\"metric\":\"%s_other\",\"actor\":\"t\",\"unit\":\"u%d\",\"value\":1000}", (n++ ? "," : "{\"events\":["), ENVIRON["SET"], NR
           printf ",{\"domain\":\"other\",\"metric\":\"%s\",\"actor\":\"t\",\"unit\":\"u%d\",\"value\":7}", ENVIRON["SET"], NR
           printf ",{\"domain\":\"pre\",\"metric\":\"%s\",\"actor\":\"t\",\"unit\":\"v%d\",\"value\":5}", ENVIRON["SET"], NR }
         END { printf ",{\"domain\":\"pre\",\"metric\":\"%s\",\"actor\":\"t\",\"value\":99}", ENVIRON["SET"]; print "]}" }' "$TMP/sets/$1.units"
}
for set in three_arms_unequal missing_covariates offset_1e9; do
    export SET=$set
    define "$set" | sed "s/\"key\":\"$set\"/\"key\":\"kpi_$set\"/;
        s/\"cuped\":{\"enabled\":true}/\"cuped\":{\"enabled\":true,\"kpi\":{\"domain\":\"pre\",\"metric\":\"$set\"},\"lookback_days\":28}/" \
        >"$TMP/def.json"
    expect "kpi: kpi_$set defined, its kpi and lookback answered" 201 \
        ".cuped.kpi.domain == \"pre\" and .cuped.kpi.metric == \"$set\" and .cuped.lookback_days == 28" -- \
        POST /v1/experiments "$ADMIN" "@$TMP/def.json"
    req POST "/v1/experiments/kpi_$set/start" "$ADMIN" >/dev/null
    kpis "$set" >"$TMP/kpi.json"
    expect "kpi: $set's covariates as KPI events of their units" 200 '.accepted > 0' -- \
        POST /v1/kpi "$SDK" "@$TMP/kpi.json"
    sleep 0.01 # the exposures a millisecond later at least: [exposure - lookback, exposure)
    # the same events, the exposures without their covariate, in experiment kpi_SET
    events "$set" | sed "s/\"experiment\":\"$set\"/\"experiment\":\"kpi_$set\"/g;
        s/,\"covariate\":[^}]*}/}/g" >"$TMP/events.json"
    expect "kpi: $set's events over HTTP, no covariate sent" 200 '.accepted > 0' -- \
        POST /v1/events "$SDK" "@$TMP/events.json"
    req GET "/v1/experiments/kpi_$set/results" "$ADMIN" >/dev/null
    jq -r '.variants[] | select(.control | not) | "\(.key[1:] | tonumber) \(.vs_control.cuped.diff) \(.vs_control.cuped.se)"' \
        "$TMP/body" >"$TMP/engine.kpi_$set"
    close "kpi: kpi_$set's results from KPI covariates match statsmodels (diff, SE)" \
        "$TMP/engine.kpi_$set" "$TMP/sets/$set.ref"
done
# a KPI event after a unit's exposure does not change its covariate
awk 'NR == 1 { printf "{\"domain\":\"pre\",\"metric\":\"offset_1e9\",\"actor\":\"t\",\"unit\":\"u1\",\"value\":1e12}\n" }' \
    "$TMP/sets/offset_1e9.units" >"$TMP/late.json"
expect "kpi: a later KPI event of an exposed unit" 200 '.accepted == 1' -- POST /v1/kpi "$SDK" "@$TMP/late.json"
req POST /v1/events "$SDK" '{"type":"exposure","unit":"u1","experiment":"kpi_offset_1e9","variant":"a00"}' >/dev/null
req GET /v1/experiments/kpi_offset_1e9/results "$ADMIN" >/dev/null
jq -r '.variants[] | select(.control | not) | "\(.key[1:] | tonumber) \(.vs_control.cuped.diff) \(.vs_control.cuped.se)"' \
    "$TMP/body" >"$TMP/engine.late"
close "kpi: ... leaves its covariate, and the figures, as they were" "$TMP/engine.late" "$TMP/sets/offset_1e9.ref"
KDEF='{"key":"kr","metric":"mean","cuped":{"enabled":true,"kpi":{"domain":"pre","metric":"m"}},"variants":[{"key":"c","weight":1,"control":true},{"key":"t","weight":1}]}'
expect "kpi: lookback_days defaults to 28" 201 '.cuped.lookback_days == 28' -- POST /v1/experiments "$ADMIN" "$KDEF"
expect "kpi: lookback_days 366: 400 naming it" 400 "$ERR_KPI and .error.field == \"cuped.lookback_days\"" -- \
    PATCH /v1/experiments/kr "$ADMIN" '{"cuped":{"enabled":true,"kpi":{"domain":"pre","metric":"m"},"lookback_days":366}}'
expect "kpi: a kpi without its metric: 400 naming it" 400 "$ERR_KPI and .error.field == \"cuped.kpi.metric\"" -- \
    POST /v1/experiments "$ADMIN" "$(echo "$KDEF" | sed 's/"kr"/"kr2"/; s/,"metric":"m"}/}/')"
expect "kpi: a kpi without CUPED on: 400 naming it" 400 "$ERR_KPI and .error.field == \"cuped.kpi\"" -- \
    POST /v1/experiments "$ADMIN" "$(echo "$KDEF" | sed 's/"kr"/"kr2"/; s/"enabled":true/"enabled":false/')"
expect "kpi: a draft may change its kpi" 200 '.cuped.kpi.metric == "n" and .cuped.lookback_days == 3' -- \
    PATCH /v1/experiments/kr "$ADMIN" '{"cuped":{"enabled":true,"kpi":{"domain":"pre","metric":"n"},"lookback_days":3}}'
req POST /v1/experiments/kr/start "$ADMIN" >/dev/null
expect "kpi: once started its kpi is fixed: 409 naming cuped.kpi" 409 "$ERR_KPI and .error.field == \"cuped.kpi\"" -- \
    PATCH /v1/experiments/kr "$ADMIN" '{"cuped":{"enabled":true,"kpi":{"domain":"pre","metric":"m"},"lookback_days":3}}'
expect "kpi: ... and its lookback: 409 naming cuped.lookback_days" 409 "$ERR_KPI and .error.field == \"cuped.lookback_days\"" -- \
    PATCH /v1/experiments/kr "$ADMIN" '{"cuped":{"enabled":true,"kpi":{"domain":"pre","metric":"n"},"lookback_days":4}}'
expect "kpi: a KPI event's unit of 257 bytes: 400 naming it" 400 "$ERR_KPI and .error.field == \"unit\"" -- \
    POST /v1/kpi "$SDK" "{\"domain\":\"pre\",\"metric\":\"m\",\"actor\":\"t\",\"value\":1,\"unit\":\"$(printf '%0257d' 0)\"}"

# ---- the rules -----------------------------------------------------------------------------------
ERR='.error.code != null and .error.message != null and .error.field != null'
DEF='{"key":"r","metric":"mean","variants":[{"key":"c","weight":1,"control":true},{"key":"t","weight":1}]}'
expect "an experiment without CUPED answers no cuped member" 201 '.cuped == null' -- \
    POST /v1/experiments "$ADMIN" "$DEF"
expect "cuped.enabled not a boolean: 400 naming it" 400 "$ERR and .error.field == \"cuped.enabled\"" -- \
    PATCH /v1/experiments/r "$ADMIN" '{"cuped":{"enabled":"yes"}}'
expect "an unknown cuped field: 400 naming it" 400 "$ERR and .error.field == \"cuped.source\"" -- \
    PATCH /v1/experiments/r "$ADMIN" '{"cuped":{"source":"kpi"}}'
expect "a draft may turn it on" 200 '.cuped.enabled == true' -- \
    PATCH /v1/experiments/r "$ADMIN" '{"cuped":{"enabled":true}}'
expect "start" 200 '.state == "running"' -- POST /v1/experiments/r/start "$ADMIN"
expect "once started it cannot be turned off: 409 naming cuped.enabled" 409 \
    "$ERR and .error.field == \"cuped.enabled\"" -- PATCH /v1/experiments/r "$ADMIN" '{"cuped":{"enabled":false}}'
expect "... and it is still on" 200 '.cuped.enabled == true' -- GET /v1/experiments/r "$ADMIN"
expect "a covariate that is not a number: 400 naming it" 400 "$ERR and .error.field == \"events[0].covariate\"" -- \
    POST /v1/events "$SDK" '{"events":[{"type":"exposure","unit":"x","experiment":"r","variant":"t","covariate":"3"}]}'
expect "a covariate beyond 1e15: 400 naming it" 400 "$ERR and .error.field == \"events[1].covariate\"" -- \
    POST /v1/events "$SDK" '{"events":[{"type":"exposure","unit":"x","experiment":"r","variant":"t","covariate":3},{"type":"exposure","unit":"y","experiment":"r","variant":"t","covariate":2e15}]}'
expect "a covariate on an outcome: 400 naming it" 400 "$ERR and .error.field == \"events[0].covariate\"" -- \
    POST /v1/events "$SDK" '{"events":[{"type":"outcome","unit":"x","experiment":"r","value":1,"covariate":3}]}'
expect "... and nothing was counted" 200 '.units == 0 and .cuped.units_with_covariate == 0' -- \
    GET /v1/experiments/r/results "$ADMIN"
expect "too few units: the adjusted figures are null, with a reason" 200 \
    '.variants[1].vs_control.compared == false or (.variants[1].vs_control.cuped.diff == null and (.variants[1].vs_control.cuped.reason | type) == "string")' -- \
    GET /v1/experiments/r/results "$ADMIN"
# a unit's covariate is its first exposure's: a second exposure's is left out
ev2='{"events":[{"type":"exposure","unit":"k1","experiment":"r","variant":"t","covariate":1},{"type":"exposure","unit":"k1","experiment":"r","variant":"t","covariate":50},{"type":"exposure","unit":"k2","experiment":"r","variant":"c"}]}'
expect "two exposures of a unit, the second with another covariate" 200 '.accepted == 3' -- POST /v1/events "$SDK" "$ev2"
expect "... one unit with a covariate" 200 '.cuped.units_with_covariate == 1 and .variants[0].units_with_covariate == 0' -- \
    GET /v1/experiments/r/results "$ADMIN"

# ---- on a line: no residual variance; worse is never a winner -----------------------------------
# line KEY ARMS OFFSET SLOPE: an experiment of ARMS variants whose every unit's value
# is SLOPE times its covariate plus its arm (the covariate OFFSET + a spread of 100): each
# exposure, then its outcome (as an app sends them)
line() {
    awk -v key="$1" -v k="$2" -v off="$3" -v slope="$4" -v def="$TMP/line_def.json" 'BEGIN {
        printf "{\"key\":\"%s\",\"metric\":\"mean\",\"cuped\":{\"enabled\":true},", key > def
        printf "\"safety\":{\"min_runtime_hours\":0},\"variants\":[" > def
        for (i = 0; i < k; i++)
            printf "%s{\"key\":\"a%02d\",\"weight\":1%s}", (i ? "," : ""), i, (i ? "" : ",\"control\":true") > def
        print "]}" > def
        close(def)
        s = 7; printf "{\"events\":["
        for (u = 0; u < 300 * k; u++) {
            a = u % k; s = (s * 69069 + 1) % 4294967296
            x = off + (s % 100000) / 1000
            y = (slope == 1 ? x : slope * x + a)
            printf "%s{\"type\":\"exposure\",\"unit\":\"%s%d\",\"experiment\":\"%s\",\"variant\":\"a%02d\",\"covariate\":%.17g}", (u ? "," : ""), key, u, key, a, x
            printf ",{\"type\":\"outcome\",\"unit\":\"%s%d\",\"experiment\":\"%s\",\"value\":%.17g}", key, u, key, y
        }
        print "]}" }' >"$TMP/line_events.json"
    req POST /v1/experiments "$ADMIN" "@$TMP/line_def.json" >/dev/null
    req POST "/v1/experiments/$1/start" "$ADMIN" >/dev/null
    req POST /v1/events "$SDK" "@$TMP/line_events.json" >/dev/null
}
for spec in "y_is_x 3 0 1" "y_is_x_1e12 3 1e12 1" "y_is_2x 3 0 2" "y_is_minus_x 2 5e3 -1"; do
    # shellcheck disable=SC2086 # the spec's words are line's arguments
    set -- $spec
    line "$@"
    expect "$1: the covariate is the outcome (on a line): zero_residual_variance, the raw figures decide" 200 \
        '([.variants[] | select(.control | not) | .vs_control.cuped | .reason == "zero_residual_variance" and .diff == null and .se == null] | all) and .cuped.theta != null and ([.reasons[] | contains("CUPED") | not] | all)' -- \
        GET "/v1/experiments/$1/results" "$ADMIN"
done
# a balance of 9e14 three lower in the treatment: significantly worse, a lift of -3e-15
awk 'BEGIN {
    printf "{\"events\":["; s = 11
    for (u = 0; u < 800; u++) {
        a = u % 2; s = (s * 69069 + 1) % 4294967296; x = s % 21 - 10
        s = (s * 69069 + 1) % 4294967296; e = s % 9 - 4
        printf "%s{\"type\":\"exposure\",\"unit\":\"w%d\",\"experiment\":\"worse\",\"variant\":\"%s\",\"covariate\":%d}", (u ? "," : ""), u, (a ? "t" : "c"), x
        printf ",{\"type\":\"outcome\",\"unit\":\"w%d\",\"experiment\":\"worse\",\"value\":%.0f}", u, 900000000000000 + x + e - 3 * a
    }
    print "]}" }' >"$TMP/worse.json"
req POST /v1/experiments "$ADMIN" '{"key":"worse","metric":"mean","cuped":{"enabled":true},"safety":{"min_runtime_hours":0,"min_sample_per_variant":100,"min_improvement_pct":0},"variants":[{"key":"c","weight":1,"control":true},{"key":"t","weight":1}]}' >/dev/null
req POST /v1/experiments/worse/start "$ADMIN" >/dev/null
req POST /v1/events "$SDK" "@$TMP/worse.json" >/dev/null
expect "significantly worse with a lift of -3e-15, no minimum improvement: terminated, not promoted" 200 \
    '.decision == "terminate" and .winner == null and .variants[1].vs_control.cuped.diff < -2 and .variants[1].vs_control.cuped.confidence > 0.999 and .variants[1].vs_control.diff < -2' -- \
    GET /v1/experiments/worse/results "$ADMIN"
expect "... and not eligible for promotion" 200 '.eligible == false and .checks.min_improvement == false' -- \
    GET /v1/experiments/worse/promotion "$ADMIN"

# ---- a restart rebuilds the adjusted figures from the log, bit for bit ----------------------------
req GET /v1/experiments/missing_covariates/results "$ADMIN" >/dev/null
jq -S '[.cuped, [.variants[].vs_control.cuped]]' "$TMP/body" >"$TMP/before.json"
stop_server
start_server "$SY" --quiet
req GET /v1/experiments/missing_covariates/results "$ADMIN" >/dev/null
jq -S '[.cuped, [.variants[].vs_control.cuped]]' "$TMP/body" >"$TMP/after.json"
if cmp -s "$TMP/before.json" "$TMP/after.json"; then ok "a restart replays the covariates: the same figures"; else
    diff "$TMP/before.json" "$TMP/after.json" >"$TMP/out"
    not_ok "a restart replays the covariates: the same figures"
fi
tap_done
