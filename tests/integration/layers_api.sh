#!/bin/sh
# layers_api.sh - exclusive layers and holdouts over HTTP (docs/api.md "Layers"): create,
# list, get, patch and delete, experiments placed in a layer's lowest free range, the 409s
# (a layer full, one in use, a holdout that would move units) and the 400s naming their
# fields, the audit trail, workspace isolation, a restart that keeps layers and ranges;
# and a sample of targeting keys answered by OFREP's bulk evaluation over HTTP exactly as
# the library answers them from the same flags (variant, value and reason), no key in two
# experiments, the holdout in none.
#
# The same keys through the reference evaluator, @openfeature/flagd-core (pinned, as
# bench/eval.sh pins it; installed from npm into NODE_DIR, a folder of the build): the same
# answers, so that any flagd-based OpenFeature SDK serves the layers as we do.
#
#   layers_api.sh SWITCHYARD LAYER_KEYS NODE_DIR [KEYS]
set -u
SY=$1
LK=$2
NODE_DIR=$3
KEYS=${4:-20000}
FLAGD_CORE=4.0.1
. "$(dirname "$0")/tap.sh"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    not_ok "node and npm are needed (scripts/deps.sh installs them)"
    tap_done
    exit 1
fi
if [ ! -f "$NODE_DIR/node_modules/@openfeature/flagd-core/package.json" ]; then
    mkdir -p "$NODE_DIR"
    while ! mkdir "$NODE_DIR.lock" 2>/dev/null; do sleep 1; done
    [ -f "$NODE_DIR/package.json" ] || echo '{"private": true}' >"$NODE_DIR/package.json"
    [ -f "$NODE_DIR/node_modules/@openfeature/flagd-core/package.json" ] ||
        (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent "@openfeature/flagd-core@$FLAGD_CORE" >"$TMP/npm.log" 2>&1)
    rmdir "$NODE_DIR.lock"
fi
if [ -f "$NODE_DIR/node_modules/@openfeature/flagd-core/package.json" ]; then
    ok "@openfeature/flagd-core $FLAGD_CORE is installed in $NODE_DIR"
else
    sed 's/^/# /' "$TMP/npm.log" 2>/dev/null | tail -5
    not_ok "@openfeature/flagd-core $FLAGD_CORE is installed in $NODE_DIR (npm install failed: offline?)"
    tap_done
    exit 1
fi
two_workspaces "$SY"
start_server "$SY" --quiet

# ---- layers ----------------------------------------------------------------------------------
expect "create: 201, the whole space free but the holdout" 201 \
    '.name == "checkout" and .holdout_pct == 10 and .free_pct == 90 and .ranges == [{"kind":"holdout","range":[0,10]},{"kind":"free","range":[10,100]}]' -- \
    POST /v1/layers "$EDITOR" '{"name":"checkout","holdout_pct":10,"description":"checkout page"}'
expect "create without a holdout" 201 '.holdout_pct == 0 and .ranges == [{"kind":"free","range":[0,100]}]' -- \
    POST /v1/layers "$EDITOR" '{"name":"search.v2"}'
expect "the same name again: 409" 409 "$ERR and .error.field == \"name\"" -- \
    POST /v1/layers "$EDITOR" '{"name":"checkout"}'
badl() { # NAME FIELD BODY
    expect "refused: $1" 400 "$ERR and .error.field == \"$2\"" -- POST /v1/layers "$EDITOR" "$3"
}
badl "no name" name '{"holdout_pct":5}'
badl "a name with a slash" name '{"name":"a/b"}'
badl "a name of 65 bytes" name "{\"name\":\"$(printf 'a%.0s' $(seq 65))\"}"
badl "a name that is a dot segment: ." name '{"name":"."}'
badl "... or .." name '{"name":".."}'
badl "a holdout above 50" holdout_pct '{"name":"x","holdout_pct":50.5}'
badl "a holdout of 3 decimals" holdout_pct '{"name":"x","holdout_pct":1.125}'
badl "a negative holdout" holdout_pct '{"name":"x","holdout_pct":-1}'
badl "an unknown member" colour '{"name":"x","colour":1}'
expect "... and nothing was made" 404 "$ERR" -- GET /v1/layers/x "$VIEWER"
expect "viewer cannot create: 403" 403 "$ERR" -- POST /v1/layers "$VIEWER" '{"name":"v"}'
expect "list, by name" 200 '[.layers[].name] == ["checkout", "search.v2"]' -- GET /v1/layers "$VIEWER"
expect "another workspace sees none" 200 '.layers == []' -- GET /v1/layers "$OTHER"
expect "... nor reads one: 404" 404 "$ERR" -- GET /v1/layers/checkout "$OTHER"
expect "... and may make its own of the same name" 201 '.name == "checkout"' -- \
    POST /v1/layers "$OTHER" '{"name":"checkout"}'

# ---- experiments in a layer ------------------------------------------------------------------
expect "an experiment in no layer" 201 '.layer == null' -- POST /v1/experiments "$EDITOR" \
    '{"key":"plain","variants":[{"key":"control","weight":1,"control":true},{"key":"t","weight":1}]}'
expect "... started" 200 '.state == "running"' -- POST /v1/experiments/plain/start "$EDITOR"
exp() { # KEY PCT [LAYER]
    printf '{"key":"%s","variants":[{"key":"control","weight":1,"control":true},{"key":"treat","weight":1}],"layer":{"name":"%s","pct":%s}}' \
        "$1" "${3:-checkout}" "$2"
}
expect "an experiment takes the lowest free range outside the holdout" 201 \
    '.layer == {"name":"checkout","pct":30,"range":[10,40]}' -- POST /v1/experiments "$EDITOR" "$(exp a 30)"
expect "the next one after it" 201 '.layer.range == [40,73.33]' -- POST /v1/experiments "$EDITOR" "$(exp b 33.33)"
expect "one that does not fit: 409 naming layer" 409 "$ERR and .error.field == \"layer\"" -- \
    POST /v1/experiments "$EDITOR" "$(exp c 30)"
expect "... and it was not made" 404 "$ERR" -- GET /v1/experiments/c "$VIEWER"
expect "a layer that does not exist: 400 layer.name" 400 "$ERR and .error.field == \"layer.name\"" -- \
    POST /v1/experiments "$EDITOR" "$(exp c 10 nowhere)"
expect "another workspace's layer is not this one's" 400 "$ERR and .error.field == \"layer.name\"" -- \
    POST /v1/experiments "$OTHER" "$(exp c 10 search.v2)"
expect "a pct of 0: 400 layer.pct" 400 "$ERR and .error.field == \"layer.pct\"" -- \
    POST /v1/experiments "$EDITOR" "$(exp c 0)"
expect "a pct of 3 decimals: 400 layer.pct" 400 "$ERR and .error.field == \"layer.pct\"" -- \
    POST /v1/experiments "$EDITOR" "$(exp c 1.001)"
expect "a layer without a name: 400 layer.name" 400 "$ERR and .error.field == \"layer.name\"" -- \
    POST /v1/experiments "$EDITOR" '{"key":"c","variants":[{"key":"a","weight":1,"control":true},{"key":"b","weight":1}],"layer":{"pct":5}}'
expect "a variant named holdout: 400 naming it" 400 "$ERR and .error.field == \"variants[1].key\"" -- \
    POST /v1/experiments "$EDITOR" '{"key":"c","variants":[{"key":"a","weight":1,"control":true},{"key":"holdout","weight":1}],"layer":{"name":"checkout","pct":5}}'
expect "the layer maps its ranges" 200 \
    '[.ranges[] | [.kind, (.experiment // ""), .range]] == [["holdout","",[0,10]],["experiment","a",[10,40]],["experiment","b",[40,73.33]],["free","",[73.33,100]]] and .free_pct == 26.67 and .ranges[1].state == "draft"' -- \
    GET /v1/layers/checkout "$VIEWER"
expect "a draft's share changes: placed again" 200 '.layer.range == [40,60]' -- \
    PATCH /v1/experiments/b "$EDITOR" '{"layer":{"name":"checkout","pct":20}}'
expect "a third fits now" 201 '.layer.range == [60,85]' -- POST /v1/experiments "$EDITOR" "$(exp c 25)"
expect "a holdout over a draft's range: 409" 409 "$ERR and .error.field == \"holdout_pct\"" -- \
    PATCH /v1/layers/checkout "$EDITOR" '{"holdout_pct":15}'
expect "a smaller holdout while only drafts are in it" 200 '.holdout_pct == 5 and .ranges[0].range == [0,5]' -- \
    PATCH /v1/layers/checkout "$EDITOR" '{"holdout_pct":5}'
expect "... and back" 200 '.holdout_pct == 10' -- PATCH /v1/layers/checkout "$EDITOR" '{"holdout_pct":10}'
expect "a patch of an unknown member: 400" 400 "$ERR and .error.field == \"name\"" -- \
    PATCH /v1/layers/checkout "$EDITOR" '{"name":"other"}'
for k in a b c; do
    expect "start $k" 200 '.state == "running"' -- POST /v1/experiments/$k/start "$EDITOR"
done
expect "a running experiment's layer does not change: 409" 409 "$ERR and .error.field == \"layer\"" -- \
    PATCH /v1/experiments/a "$EDITOR" '{"layer":{"name":"checkout","pct":10}}'
expect "the holdout does not change while they run: 409 naming one" 409 \
    "$ERR and .error.field == \"holdout_pct\" and (.error.message | test(\"running\"))" -- \
    PATCH /v1/layers/checkout "$EDITOR" '{"holdout_pct":5}'
expect "the description does" 200 '.description == "the checkout page" and .holdout_pct == 10' -- \
    PATCH /v1/layers/checkout "$EDITOR" '{"description":"the checkout page"}'
req GET "/v1/audit?resource=layer:checkout" "$VIEWER" >/dev/null
updates=$(jq '[.events[] | select(.action == "layer.update")] | length' "$TMP/body")
req GET /v1/layers/checkout "$VIEWER" >/dev/null
updated=$(jq '.updated_ms' "$TMP/body")
expect "a patch that changes nothing: 200, the layer as it was" 200 ".updated_ms == $updated and .holdout_pct == 10" -- \
    PATCH /v1/layers/checkout "$EDITOR" '{"description":"the checkout page","holdout_pct":10}'
expect "... and writes nothing" 200 "[.events[] | select(.action == \"layer.update\")] | length == $updates" -- \
    GET "/v1/audit?resource=layer:checkout" "$VIEWER"
expect "a layer in use is not deleted: 409 saying what to do" 409 \
    "$ERR and .error.field == \"name\" and (.error.message | test(\"stop or terminate\"))" -- \
    DELETE /v1/layers/checkout "$EDITOR"
expect "the running flag: the layer's gate, its holdout variant, control the default" 200 \
    '.definition.variants.holdout == .definition.variants.control and .definition.defaultVariant == "control" and (.definition.targeting.if | length) == 7 and .definition.targeting.if[2]["=="][0].fractional[0] == {"cat":["layer/checkout/",{"var":"targetingKey"}]}' -- \
    GET /v1/flags/b "$VIEWER"

# ---- the same answers through OFREP and the library -----------------------------------------
req GET /v1/flagset "$VIEWER" >/dev/null
jq '{flags: .flags}' "$TMP/body" >"$TMP/doc.json"
"$LK" "$TMP/doc.json" key- "$KEYS" a b c >"$TMP/lib.tsv"
python3 - "$URL" "$SDK" "$KEYS" >"$TMP/ofrep.tsv" <<'PY'
import http.client, json, sys
url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = url.split("//")[1].split(":")
c = http.client.HTTPConnection(host, int(port))
for k in range(n):
    key = "key-%d" % k
    c.request("POST", "/ofrep/v1/evaluate/flags", json.dumps({"context": {"targetingKey": key}}),
              {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = c.getresponse()
    body = json.loads(r.read())
    by = {f["key"]: f for f in body["flags"]}
    for flag in ("a", "b", "c"):
        f = by[flag]
        print("%s\t%s\t%s\t%s\t%s" % (key, flag, f.get("variant", "-"), f["reason"], f["value"]))
PY
if cmp -s "$TMP/lib.tsv" "$TMP/ofrep.tsv" && [ "$(wc -l <"$TMP/lib.tsv")" -eq $((KEYS * 3)) ]; then
    ok "$KEYS keys: OFREP's bulk answers are the library's, variant, value and reason"
else
    diff "$TMP/lib.tsv" "$TMP/ofrep.tsv" | head -5 >"$TMP/err"
    : >"$TMP/out"
    not_ok "$KEYS keys: OFREP's bulk answers are the library's, variant, value and reason"
fi
# The reference evaluator: the same answers for the same keys.
NODE_PATH="$NODE_DIR/node_modules" node "$(dirname "$0")/layer_keys_flagd.js" "$TMP/doc.json" key- "$KEYS" a b c \
    >"$TMP/flagd.tsv" 2>"$TMP/err"
if cmp -s "$TMP/lib.tsv" "$TMP/flagd.tsv"; then
    ok "$KEYS keys: flagd-core $FLAGD_CORE answers as the library does"
else
    diff "$TMP/lib.tsv" "$TMP/flagd.tsv" | head -5 >>"$TMP/err"
    : >"$TMP/out"
    not_ok "$KEYS keys: flagd-core $FLAGD_CORE answers as the library does"
fi
awk -F'\t' -v n="$KEYS" '
    $4 == "TARGETING_MATCH" && $3 != "holdout" { inx[$1]++; per[$2]++ }
    $3 == "holdout" { hold[$1]++; if ($5 != "control") bad++ }
    END {
        for (k in inx) if (inx[k] > 1 || (k in hold)) twice++
        for (k in hold) { if (hold[k] != 3) bad++; nh++ }
        printf "%d %d %.4f %.4f %.4f %.4f\n", twice, bad, nh / n, per["a"] / n, per["b"] / n, per["c"] / n
    }' "$TMP/lib.tsv" >"$TMP/shares"
read -r twice bad h sa sb sc <"$TMP/shares"
echo "# $KEYS keys: holdout $h, a $sa (0.30), b $sb (0.20), c $sc (0.25)"
check "no key in two experiments, the holdout in none and served the control's value" 0 "" "" -- \
    test "$twice" -eq 0 -a "$bad" -eq 0
# 20,000 keys: a share's standard error is at most 0.35 point; 5 of them is 1.75
check "each share near its range's (within 1.75 points at 20,000 keys)" 0 "" "" -- \
    awk -v h="$h" -v a="$sa" -v b="$sb" -v c="$sc" 'BEGIN { t = 0.0175
        exit !((h - 0.10)^2 < t^2 && (a - 0.30)^2 < t^2 && (b - 0.20)^2 < t^2 && (c - 0.25)^2 < t^2) }'
expect "a key without a targeting key: the default (control), reason DEFAULT" 200 \
    '[.flags[] | select(.key == "a" or .key == "b") | [.variant, .reason]] == [["control","DEFAULT"],["control","DEFAULT"]]' -- \
    POST /ofrep/v1/evaluate/flags "$SDK" '{"context":{}}'

# ---- the holdout measured: its exposures counted apart ---------------------------------------
# 200 of the holdout's keys and 400 of b's as the flags served them, exposures as the app
# reports them (variant from the evaluation), a quarter of the holdout and half of b's
# units converting.
awk -F'\t' '$2 == "b" && $3 == "holdout" && h < 200 { print $1 "\tholdout\t" (h % 4 == 0); h++ }
    $2 == "b" && $4 == "TARGETING_MATCH" && $3 != "holdout" && s < 400 { print $1 "\t" $3 "\t" (s % 2 == 0); s++ }' \
    "$TMP/lib.tsv" >"$TMP/sent.tsv"
jq -R -s -c '[split("\n")[] | select(length > 0) | split("\t") |
    ({type: "exposure", unit: .[0], experiment: "b", variant: .[1]}),
    (if .[2] == "1" then {type: "outcome", unit: .[0], experiment: "b", success: true} else empty end)]
    | {events: .}' "$TMP/sent.tsv" >"$TMP/events.json"
expect "exposures to the holdout are taken beside the arms'" 200 '.accepted == 850' -- \
    POST /v1/events "$SDK" "$(cat "$TMP/events.json")"
expect "an exposure to holdout of an experiment in no layer: 400 naming the variant" 400 \
    "$ERR and .error.field == \"events[0].variant\"" -- POST /v1/events "$SDK" \
    '{"events":[{"type":"exposure","unit":"u1","experiment":"plain","variant":"holdout"}]}'
HOLD_RESULTS='.layer == "checkout" and .holdout.units == 200 and .holdout.conversions == 50 and .holdout.vs_holdout.served_units == 400 and .holdout.vs_holdout.served_conversions == 200 and (.holdout.vs_holdout.diff - 0.25 | fabs) < 1e-12 and .holdout.vs_holdout.p_value < 0.001 and .holdout.vs_holdout.diff_ci[0] > 0 and ([.variants[].units] | add) == 400 and .units == 400 and (.srm | type) == "object"'
expect "results: the holdout apart, served traffic against it" 200 "$HOLD_RESULTS" -- \
    GET /v1/experiments/b/results "$VIEWER"
expect "the layer's results: each experiment's holdout, and pooled" 200 \
    '.layer == "checkout" and ([.experiments[].experiment] == ["a","b","c"]) and .experiments[1].holdout.units == 200 and .pooled.units == 200 and .pooled.vs_holdout.served_units == 400 and .experiments[0].holdout.vs_holdout.compared == false' -- \
    GET /v1/layers/checkout/results "$VIEWER"
expect "no such layer's results: 404" 404 "$ERR" -- GET /v1/layers/nowhere/results "$VIEWER"

# ---- ending, restarting, deleting ------------------------------------------------------------
expect "stop a: its range is free again" 200 '.state == "stopped"' -- POST /v1/experiments/a/stop "$EDITOR"
expect "... as the map shows" 200 '[.ranges[] | .kind] == ["holdout","free","experiment","experiment","free"]' -- \
    GET /v1/layers/checkout "$VIEWER"
expect "its flag is as before the start" 200 '.definition.targeting == null and .definition.variants.holdout == null' -- \
    GET /v1/flags/a "$VIEWER"
expect "a draft placed in the freed range" 201 '.layer.range == [10,30]' -- POST /v1/experiments "$EDITOR" "$(exp d 20)"
expect "a layer holding a draft is not deleted: 409 saying how to take the draft out" 409 \
    "$ERR and .error.field == \"name\" and (.error.message | test(\"draft \\\"d\\\"\")) and (.error.message | test(\"\\\"layer\\\": null\"))" -- \
    DELETE /v1/layers/checkout "$EDITOR"
expect "a draft taken out of its layer" 200 '.layer == null' -- PATCH /v1/experiments/d "$EDITOR" '{"layer":null}'
expect "... frees its range" 200 '.ranges[1] == {"kind":"free","range":[10,40]}' -- GET /v1/layers/checkout "$VIEWER"
expect "... and put back" 200 '.layer.range == [10,30]' -- \
    PATCH /v1/experiments/d "$EDITOR" '{"layer":{"name":"checkout","pct":20}}'
stop_server
start_server "$SY" --quiet
expect "after a restart: the layers" 200 '[.layers[].name] == ["checkout", "search.v2"] and .layers[0].description == "the checkout page"' -- \
    GET /v1/layers "$VIEWER"
expect "... and their ranges" 200 \
    '[.ranges[] | [.kind, (.experiment // ""), .range]] == [["holdout","",[0,10]],["experiment","d",[10,30]],["free","",[30,40]],["experiment","b",[40,60]],["experiment","c",[60,85]],["free","",[85,100]]]' -- \
    GET /v1/layers/checkout "$VIEWER"
expect "... and the holdout's counts, replayed from the log" 200 "$HOLD_RESULTS" -- \
    GET /v1/experiments/b/results "$VIEWER"
expect "... still refusing a holdout change" 409 "$ERR" -- PATCH /v1/layers/checkout "$EDITOR" '{"holdout_pct":1}'
expect "delete an unused layer" 200 '.deleted == true' -- DELETE /v1/layers/search.v2 "$EDITOR"
expect "... gone" 404 "$ERR" -- GET /v1/layers/search.v2 "$VIEWER"
expect "... and deleting it again: 404" 404 "$ERR" -- DELETE /v1/layers/search.v2 "$EDITOR"
expect "another workspace deletes its own layer of the same name" 200 '.deleted == true' -- \
    DELETE /v1/layers/checkout "$OTHER"
expect "... and this one's stays" 200 '.name == "checkout" and .holdout_pct == 10' -- \
    GET /v1/layers/checkout "$VIEWER"
stop_server
start_server "$SY" --quiet
expect "a deleted layer stays deleted after a restart" 200 '[.layers[].name] == ["checkout"]' -- \
    GET /v1/layers "$VIEWER"
expect "audit: create, update, delete, each by its actor" 200 \
    '[.events[].action] == ["layer.delete","layer.create"] and ([.events[].actor] | unique) == ["ed"] and .events[0].before.name == "search.v2"' -- \
    GET "/v1/audit?resource=layer:search.v2" "$VIEWER"
expect "audit: the updates, before and after" 200 \
    '[.events[].action] | (index("layer.update") != null and index("layer.create") != null)' -- \
    GET "/v1/audit?resource=layer:checkout" "$VIEWER"
# ---- a layer deleted and made again is another layer -----------------------------------------
expect "a layer for one experiment" 201 '.holdout_pct == 20' -- \
    POST /v1/layers "$EDITOR" '{"name":"again","holdout_pct":20}'
expect "... which runs in it" 201 '.layer.range == [20,50]' -- POST /v1/experiments "$EDITOR" "$(exp old 30 again)"
expect "... started" 200 '.state == "running"' -- POST /v1/experiments/old/start "$EDITOR"
expect "... its holdout and its arms exposed" 200 '.accepted == 2' -- POST /v1/events "$SDK" \
    '{"events":[{"type":"exposure","unit":"h1","experiment":"old","variant":"holdout"},{"type":"exposure","unit":"s1","experiment":"old","variant":"treat"}]}'
expect "... stopped" 200 '.state == "stopped"' -- POST /v1/experiments/old/stop "$EDITOR"
expect "... and its layer deleted" 200 '.deleted == true' -- DELETE /v1/layers/again "$EDITOR"
expect "a new layer of that name, another holdout" 201 '.holdout_pct == 5 and .free_pct == 95' -- \
    POST /v1/layers "$EDITOR" '{"name":"again","holdout_pct":5}'
AGAIN='.layer == "again" and .experiments == [] and .pooled.units == 0 and .pooled.vs_holdout.served_units == 0'
expect "its results: none of the deleted layer's experiments, nor in pooled" 200 "$AGAIN" -- \
    GET /v1/layers/again/results "$VIEWER"
expect "the old experiment's own results still name the layer it ran in" 200 \
    '.layer == "again" and .holdout.units == 1 and .holdout.vs_holdout.served_units == 1' -- \
    GET /v1/experiments/old/results "$VIEWER"
stop_server
start_server "$SY" --quiet
expect "... and after a restart, the new layer's results still without them" 200 "$AGAIN" -- \
    GET /v1/layers/again/results "$VIEWER"
tap_done
