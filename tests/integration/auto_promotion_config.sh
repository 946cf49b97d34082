#!/bin/sh
# auto_promotion_config.sh - issue 22's auto-promotion configuration on a real server:
# server-wide safety defaults from flags, SWITCHYARD_AUTO_PROMOTION_* and --config (a bad
# one refuses to start), experiments following them unless they set their own (and
# following new ones after a restart), GET /v1/auto-promotion/config, PATCH
# /v1/experiments/{key} turning the specification's confidence gate from "not eligible" to
# "eligible" and the check stepping it, the cron secret as Authorization: Bearer, and
# `serve` failing on a port in use before it makes a database or prints a token.
#
#   auto_promotion_config.sh SWITCHYARD
set -u
SY=$1
. "$(dirname "$0")/tap.sh"

ERR='.error.code != null and .error.message != null and .error.field != null'
CRON=0123456789abcdef-cron
"$SY" workspace create default --db "$DB" >/dev/null
"$SY" workspace create other --db "$DB" >/dev/null
ADMIN=$("$SY" token create --db "$DB" --role admin --name alice)
VIEWER=$("$SY" token create --db "$DB" --role viewer --name val)
SDK=$("$SY" token create --db "$DB" --role sdk --name app)
OTHER=$("$SY" token create --db "$DB" --workspace other --role admin --name mallory)

# ---- a bad default refuses to start, naming its option and variable, making nothing -------------
check "a confidence of 2 refuses to start, naming the option" 2 "" \
    'auto-promotion-min-confidence \(SWITCHYARD_AUTO_PROMOTION_MIN_CONFIDENCE\).*0 to 1' -- \
    "$SY" serve --listen 127.0.0.1:0 --db "$TMP/bad.db" --auto-promotion-min-confidence 2
SWITCHYARD_AUTO_PROMOTION_MAX_ERROR_RATE=lots check "so does a word for the error rate, from the environment" 2 "" \
    'SWITCHYARD_AUTO_PROMOTION_MAX_ERROR_RATE.*"lots"' -- "$SY" serve --listen 127.0.0.1:0 --db "$TMP/bad.db"
printf 'auto-promotion-min-sample-per-variant = 0.5\n' >"$TMP/bad.conf"
check "so does half a unit from --config" 2 "" 'min-sample-per-variant.*integer' -- \
    "$SY" serve --listen 127.0.0.1:0 --db "$TMP/bad.db" --config "$TMP/bad.conf"
check "... and none of them made a database" 0 "" "" -- test ! -e "$TMP/bad.db"

# ---- defaults from a flag, the environment and a config file ------------------------------------
printf '# the specification minimum sample, lowered for the test\nauto-promotion-min-sample-per-variant = 100\n' >"$TMP/sy.conf"
SWITCHYARD_AUTO_PROMOTION_MIN_CONFIDENCE=0.99 start_server "$SY" --quiet --config "$TMP/sy.conf" \
    --auto-promotion-min-runtime-hours 0 --auto-promotion-secret "$CRON" --auto-promotion-interval 0
expect "GET /v1/auto-promotion/config: the defaults in force" 200 \
    '.safety.min_confidence == 0.99 and .safety.min_sample_per_variant == 100 and .safety.min_runtime_hours == 0 and .safety.min_improvement_pct == 5 and .safety.max_error_rate == 0.05 and .safety.sequential == false and .safety.require_manual_approval == false' -- \
    GET /v1/auto-promotion/config "$VIEWER"
expect "... with where each came from" 200 \
    '.sources.min_confidence == "environment" and .sources.min_sample_per_variant == "config" and .sources.min_runtime_hours == "flag" and .sources.max_error_rate == "default" and .sources.interval_s == "flag" and .sources.cron_secret == "flag"' -- \
    GET /v1/auto-promotion/config "$VIEWER"
expect "... the timer, dry run, and that a cron secret is set" 200 \
    '.interval_s == 0 and .dry_run == false and .cron_secret_set == true and .health_interval_s == 30' -- \
    GET /v1/auto-promotion/config "$VIEWER"
check "... never the secret itself" 1 "" "" -- grep -q "$CRON" "$TMP/body"
expect "an sdk token may not read it: 403" 403 "$ERR" -- GET /v1/auto-promotion/config "$SDK"
expect "no token: 401" 401 "$ERR" -- GET /v1/auto-promotion/config ""
expect "an unknown query parameter: 400 unknown_field" 400 '.error.code == "unknown_field" and .error.field == "verbose"' -- \
    GET "/v1/auto-promotion/config?verbose=1" "$VIEWER"
expect "POST: 405" 405 "$ERR" -- POST /v1/auto-promotion/config "$ADMIN" '{}'

exp() { # KEY [SAFETY-JSON]
    echo "{\"key\":\"$1\",\"variants\":[{\"key\":\"control\",\"weight\":50,\"control\":true},{\"key\":\"treatment\",\"weight\":50}]${2:+,\"safety\":$2}}"
}
expect "an experiment that sets no safety follows the server's" 201 \
    '.safety.min_confidence == 0.99 and .safety.min_sample_per_variant == 100 and (.safety_inherited | index("min_confidence")) != null' -- \
    POST /v1/experiments "$ADMIN" "$(exp checkout)"
expect "one that sets its own keeps it, and follows the rest" 201 \
    '.safety.min_confidence == 0.9 and .safety.min_sample_per_variant == 100 and (.safety_inherited | index("min_confidence")) == null' -- \
    POST /v1/experiments "$ADMIN" "$(exp own '{"min_confidence":0.9}')"
expect "start checkout" 200 "" -- POST /v1/experiments/checkout/start "$ADMIN"

# The specification's z-test: control 100/1,000, treatment 130/1,000: z = 2.10, confidence
# 0.964, +30 %: eligible at 0.95, not at 0.99.
awk 'BEGIN { printf "{\"events\":["; s = "";
  for (i = 0; i < 1000; i++) {
    printf "%s{\"type\":\"exposure\",\"unit\":\"c%d\",\"experiment\":\"checkout\",\"variant\":\"control\"}", s, i; s = ",";
    printf ",{\"type\":\"exposure\",\"unit\":\"t%d\",\"experiment\":\"checkout\",\"variant\":\"treatment\"}", i;
    if (i < 100) printf ",{\"type\":\"outcome\",\"unit\":\"c%d\",\"experiment\":\"checkout\",\"success\":true}", i;
    if (i < 130) printf ",{\"type\":\"outcome\",\"unit\":\"t%d\",\"experiment\":\"checkout\",\"success\":true}", i;
  }
  print "]}" }' >"$TMP/events.json"
expect "2,000 units, 230 conversions" 200 '.accepted == 2230' -- POST /v1/events "$SDK" "@$TMP/events.json"
expect "at the server's 0.99: not eligible, confidence 0.964 the one failing check" 200 \
    '.eligible == false and (.confidence * 1000 | floor) == 964 and .checks.min_confidence == false and .checks.min_sample == true and .checks.min_improvement == true and .checks.min_runtime == true and .checks.max_error_rate == true' -- \
    GET /v1/experiments/checkout/promotion "$VIEWER"
expect "the cron secret as a bearer: the check runs, and steps nothing" 200 \
    '.checked >= 1 and ([.experiments[] | select(.experiment == "checkout")][0].action == "none")' -- \
    POST /v1/auto-promotion/check "$CRON"

# ---- PATCH: refusals change nothing ---------------------------------------------------------------
req GET /v1/experiments/checkout "$ADMIN" >/dev/null
cp "$TMP/body" "$TMP/before.json"
same() { # NAME: the experiment is byte-identical to before the refusals
    req GET /v1/experiments/checkout "$ADMIN" >/dev/null
    check "$1" 0 "" "" -- cmp "$TMP/before.json" "$TMP/body"
}
expect "a misspelt safety field: 400 unknown_field naming it" 400 \
    '.error.code == "unknown_field" and .error.field == "safety.min_confidenc"' -- \
    PATCH /v1/experiments/checkout "$ADMIN" '{"safety":{"min_confidenc":0.95}}'
expect "an unknown top-level field: 400 unknown_field" 400 '.error.code == "unknown_field" and .error.field == "speed"' -- \
    PATCH /v1/experiments/checkout "$ADMIN" '{"speed":1}'
expect "a confidence of 2: 400 naming safety.min_confidence" 400 \
    '.error.code == "invalid_input" and .error.field == "safety.min_confidence"' -- \
    PATCH /v1/experiments/checkout "$ADMIN" '{"safety":{"min_confidence":2,"min_runtime_hours":1}}'
expect "a step of 0 points: 400 naming allocation.max_step_pct" 400 '.error.field == "allocation.max_step_pct"' -- \
    PATCH /v1/experiments/checkout "$ADMIN" '{"allocation":{"max_step_pct":0}}'
expect "new variants while running: 409 naming variants" 409 '.error.code == "conflict" and .error.field == "variants"' -- \
    PATCH /v1/experiments/checkout "$ADMIN" '{"variants":[{"key":"control","weight":90,"control":true},{"key":"treatment","weight":10}]}'
expect "another metric: 409 naming metric" 409 '.error.field == "metric"' -- \
    PATCH /v1/experiments/checkout "$ADMIN" '{"metric":"mean"}'
expect "another flag: 409 naming flag" 409 '.error.field == "flag"' -- \
    PATCH /v1/experiments/checkout "$ADMIN" '{"flag":"elsewhere"}'
expect "turning the sequential test on once started: 409" 409 '.error.field == "safety.sequential"' -- \
    PATCH /v1/experiments/checkout "$ADMIN" '{"safety":{"sequential":true}}'
expect "malformed JSON: 400 invalid_json" 400 '.error.code == "invalid_json"' -- \
    PATCH /v1/experiments/checkout "$ADMIN" '{"safety":'
expect "not an object: 400" 400 "$ERR" -- PATCH /v1/experiments/checkout "$ADMIN" '[1]'
expect "an unknown query parameter: 400 unknown_field" 400 '.error.code == "unknown_field" and .error.field == "force"' -- \
    PATCH "/v1/experiments/checkout?force=1" "$ADMIN" '{"description":"x"}'
expect "a viewer may not: 403" 403 "$ERR" -- PATCH /v1/experiments/checkout "$VIEWER" '{"description":"x"}'
expect "another workspace: 404" 404 "$ERR" -- PATCH /v1/experiments/checkout "$OTHER" '{"description":"x"}'
same "after every refusal the experiment is byte-identical"
expect "... and the audit trail holds no update" 200 '[.events[] | select(.action == "experiment.update")] == []' -- \
    GET "/v1/audit?resource=experiment:checkout" "$ADMIN"

# ---- PATCH: the change ------------------------------------------------------------------------------
expect "PATCH min_confidence 0.95 and a description while running: the experiment answers" 200 \
    '.key == "checkout" and .state == "running" and .safety.min_confidence == 0.95 and .description == "checkout, gate relaxed" and (.safety_inherited | index("min_confidence")) == null and .safety.min_sample_per_variant == 100 and .weights == {"control":50,"treatment":50}' -- \
    PATCH /v1/experiments/checkout "$ADMIN" '{"safety":{"min_confidence":0.95},"description":"checkout, gate relaxed"}'
expect "now eligible: the five checks pass" 200 '.eligible == true and .winner == "treatment" and ([.checks[]] | all)' -- \
    GET /v1/experiments/checkout/promotion "$VIEWER"
expect "audited with before and after" 200 \
    '[.events[] | select(.action == "experiment.update")][0] | .actor == "alice" and .before.safety.min_confidence == 0.99 and .after.safety.min_confidence == 0.95' -- \
    GET "/v1/audit?resource=experiment:checkout" "$ADMIN"
expect "allocation settings too: a 30-point step" 200 '.allocation == {"max_step_pct":30}' -- \
    PATCH /v1/experiments/checkout "$ADMIN" '{"allocation":{"max_step_pct":30}}'
expect "the same patch again changes nothing and writes nothing" 200 '.allocation == {"max_step_pct":30}' -- \
    PATCH /v1/experiments/checkout "$ADMIN" '{"allocation":{"max_step_pct":30}}'
expect "... one update per change in the audit trail" 200 '[.events[] | select(.action == "experiment.update")] | length == 2' -- \
    GET "/v1/audit?resource=experiment:checkout" "$ADMIN"
expect "a wrong bearer on the check: 401" 401 '.error.code == "unauthorized"' -- \
    POST /v1/auto-promotion/check "0123456789abcdef-croN"
expect "the cron secret less its last byte as a bearer: 401" 401 '.error.code == "unauthorized"' -- \
    POST /v1/auto-promotion/check "0123456789abcdef-cro"
expect "the cron secret as a bearer with a body (read, not refused): a dry run would step" 200 \
    '.dry_run == true and ([.experiments[] | select(.experiment == "checkout")][0].action == "would_step")' -- \
    POST /v1/auto-promotion/check "$CRON" '{"dry_run":true}'
expect "the cron secret as a bearer: the check steps 50 -> 80, every workspace" 200 \
    '[.experiments[] | select(.experiment == "checkout")][0] | .action == "step" and .weights == {"control":20,"treatment":80}' -- \
    POST /v1/auto-promotion/check "$CRON"
expect "... by the system, in the history" 200 '.history[-1].action == "step" and .history[-1].actor == "system"' -- \
    GET /v1/experiments/checkout/history "$VIEWER"
expect "an admin token as the bearer still checks its own workspace" 200 '([.experiments[].workspace] | unique | length) == 1' -- \
    POST /v1/auto-promotion/check "$ADMIN" '{"dry_run":true}'
expect "null: back to the server-wide default" 200 \
    '.safety.min_confidence == 0.99 and (.safety_inherited | index("min_confidence")) != null and .state == "promoting"' -- \
    PATCH /v1/experiments/checkout "$ADMIN" '{"safety":{"min_confidence":null}}'
check "experiment set (CLI): min confidence and cooldown" 0 'checkout' "" -- \
    env SWITCHYARD_URL="$URL" SWITCHYARD_TOKEN="$ADMIN" "$SY" experiment set checkout --min-confidence 0.97 --cooldown-hours 12
expect "... as the API shows" 200 '.safety.min_confidence == 0.97 and .allocation == {"max_step_pct":30,"cooldown_hours":12}' -- \
    GET /v1/experiments/checkout "$VIEWER"
check "experiment set: a misspelt field in --patch is refused naming it" 1 "" 'safety.min_confidenc.*400' -- \
    env SWITCHYARD_URL="$URL" SWITCHYARD_TOKEN="$ADMIN" "$SY" experiment set checkout --patch '{"safety":{"min_confidenc":1}}'
check "experiment set: nothing to change is a usage error" 2 "" 'nothing to change' -- \
    env SWITCHYARD_URL="$URL" SWITCHYARD_TOKEN="$ADMIN" "$SY" experiment set checkout
expect "null again: back to the server-wide default" 200 '.safety.min_confidence == 0.99' -- \
    PATCH /v1/experiments/checkout "$ADMIN" '{"safety":{"min_confidence":null}}'
expect "stop it" 200 "" -- POST /v1/experiments/checkout/stop "$ADMIN"
expect "a stopped experiment's settings no longer change: 409 naming state" 409 '.error.field == "state"' -- \
    PATCH /v1/experiments/checkout "$ADMIN" '{"description":"late"}'
expect "a draft may change its sequential test" 200 '.safety.sequential == true' -- \
    PATCH /v1/experiments/own "$ADMIN" '{"safety":{"sequential":true}}'

# ---- a restart with other defaults: who follows them ------------------------------------------------
stop_server
SWITCHYARD_AUTO_PROMOTION_MIN_CONFIDENCE=0.97 SWITCHYARD_AUTO_PROMOTION_MIN_RUNTIME_HOURS=72 \
    start_server "$SY" --quiet --auto-promotion-interval 0
expect "after a restart with other defaults, the config says so" 200 \
    '.safety.min_confidence == 0.97 and .safety.min_runtime_hours == 72 and .safety.min_sample_per_variant == 1000 and .cron_secret_set == false and .sources.min_runtime_hours == "environment"' -- \
    GET /v1/auto-promotion/config "$VIEWER"
expect "an experiment that sets nothing follows the new defaults" 200 \
    '.safety.min_confidence == 0.97 and .safety.min_runtime_hours == 72' -- GET /v1/experiments/checkout "$VIEWER"
expect "one with its own keeps its own" 200 '.safety.min_confidence == 0.9 and .safety.sequential == true and .safety.min_runtime_hours == 72' -- \
    GET /v1/experiments/own "$VIEWER"
expect "without a secret the bearer is a token: 401" 401 "$ERR" -- POST /v1/auto-promotion/check "$CRON"

# ---- serve binds its port first ------------------------------------------------------------------
check "a port in use: a clear message, exit 1" 1 "" "cannot listen on 127.0.0.1:$PORT: Address already in use" -- \
    "$SY" serve --listen "127.0.0.1:$PORT" --db "$TMP/fresh.db" --admin-token-file "$TMP/fresh.token"
check "... no token printed" 0 "" "" -- test ! -s "$TMP/out"
check "... no database made" 0 "" "" -- test ! -e "$TMP/fresh.db"
check "... no token file written" 0 "" "" -- test ! -e "$TMP/fresh.token"
check "... and without --admin-token-file, no token on stdout either" 1 "" "Address already in use" -- \
    "$SY" serve --listen "127.0.0.1:$PORT" --db "$TMP/fresh.db"
check "... still no database" 0 "" "" -- sh -c "test ! -e '$TMP/fresh.db' && ! grep -q sy_ '$TMP/out'"
tap_done
