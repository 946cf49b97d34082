#!/bin/sh
# metrics.sh - GET /metrics on a real server with workers (issue 23): who may read it, the
# evaluation counts exact after known traffic (by workspace, flag and reason; errors by
# code; a key that names no flag adds no series), the per-workspace cap with its "other",
# the decision-latency histogram, the serving loops, OpenMetrics when asked, and both
# formats clean by `promtool check metrics`; the proxy's routes with real upstreams (a
# split, a new answering 503, then resetting: fallbacks and 502s, answers of the proxy's
# own), each figure equal to what the clients saw and to the route's stats endpoint.
#
#   metrics.sh SWITCHYARD
set -u
SY=$1
. "$(dirname "$0")/tap.sh"

command -v promtool >/dev/null || { echo "Bail out! promtool is missing: run scripts/deps.sh"; exit 1; }
two_workspaces "$SY"
start_server "$SY" --quiet --workers 2 --metrics-max-flags 2 --metrics-refresh 1

flag='{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"on"}'
split='{"state":"ENABLED","variants":{"on":true,"off":false},"defaultVariant":"off","targeting":{"if":[{"==":[{"var":"tier"},"gold"]},"on",null]}}'
for f in alpha beta; do req PUT /v1/flags/$f "$ADMIN" "$flag" >/dev/null; done
req PUT /v1/flags/gamma "$ADMIN" "$split" >/dev/null
req PUT /v1/flags/alpha "$OTHER" "$flag" >/dev/null

eval_one() { # KEY TOKEN CONTEXT
    req POST "/ofrep/v1/evaluate/flags/$1" "$2" "{\"context\":$3}" >/dev/null
}
i=0
while [ $i -lt 5 ]; do eval_one alpha "$SDK" '{"targetingKey":"u"}'; i=$((i + 1)); done
eval_one beta "$SDK" '{}'
eval_one gamma "$SDK" '{"tier":"gold"}'
eval_one gamma "$SDK" '{"tier":"tin"}'
eval_one gamma "$SDK" '{"tier":"tin"}'
eval_one nope "$SDK" '{}'
eval_one nope2 "$SDK" '{}'
eval_one alpha "$OTHER" '{}'
req POST /ofrep/v1/evaluate/flags "$SDK" '{"context":{}}' >/dev/null

scrape() { # [ACCEPT]; the token is $VIEWER, or $SCRAPE_TOKEN when set
    curl -s -H "Authorization: Bearer ${SCRAPE_TOKEN:-$VIEWER}" ${1:+-H "Accept: $1"} -D "$TMP/headers" -o "$TMP/metrics" "$URL/metrics"
}
value() { # SAMPLE: its value, or "none"
    awk -v s="$1" 'index($0, s " ") == 1 { print $2; found = 1 } END { if (!found) print "none" }' "$TMP/metrics"
}
has() { # NAME SAMPLE WANT
    got=$(value "$2")
    if [ "$got" = "$3" ]; then ok "$1"; else echo "# $2 = $got, want $3" >"$TMP/err"; : >"$TMP/out"; not_ok "$1"; fi
}

expect "a viewer token reads /metrics" 200 "" -- GET /metrics "$VIEWER"
expect "an sdk token may not: 403" 403 "$ERR" -- GET /metrics "$SDK"
expect "no token: 401" 401 "$ERR" -- GET /metrics ""
expect "an unknown query parameter: 400 unknown_field" 400 '.error.code == "unknown_field"' -- GET "/metrics?x=1" "$VIEWER"
expect "POST: 405" 405 "$ERR" -- POST /metrics "$ADMIN" '{}'

scrape
check "the text format's content type" 0 "" "" -- grep -qi '^content-type: text/plain; version=0.0.4' "$TMP/headers"
has "alpha: 5 single + 1 bulk, STATIC" 'switchyard_flag_evaluations_total{workspace="1",flag="alpha",reason="STATIC"}' 6
has "beta: 1 single + 1 bulk" 'switchyard_flag_evaluations_total{workspace="1",flag="beta",reason="STATIC"}' 2
has "gamma is past the cap of 2: other, TARGETING_MATCH" 'switchyard_flag_evaluations_total{workspace="1",flag="other",reason="TARGETING_MATCH"}' 1
has "... and DEFAULT (two singles, one bulk)" 'switchyard_flag_evaluations_total{workspace="1",flag="other",reason="DEFAULT"}' 3
check "... never under its own name" 1 "" "" -- grep -q 'flag="gamma"' "$TMP/metrics"
has "keys that name no flag: errors of the workspace" 'switchyard_flag_evaluation_errors_total{workspace="1",code="FLAG_NOT_FOUND"}' 2
check "... and no series of their own" 1 "" "" -- grep -Eq 'flag="nope2?"' "$TMP/metrics"
check "a token's scrape shows no other workspace's series (workspace 2's flag alpha)" 1 "" "" -- grep -q 'workspace="2"' "$TMP/metrics"
has "decision latency: 12 single requests" 'switchyard_decision_latency_seconds_count{kind="single"}' 12
has "... 1 bulk" 'switchyard_decision_latency_seconds_count{kind="bulk"}' 1
has "... every one within +Inf" 'switchyard_decision_latency_seconds_bucket{kind="single",le="+Inf"}' 12
check "the serving loops: the engine's and each worker's" 0 "" "" -- sh -c "grep -c '^switchyard_loop_longest_iteration_seconds{loop=' '$TMP/metrics' | grep -qx 3"
check "process figures" 0 "" "" -- sh -c "grep -Eq '^switchyard_process_resident_memory_bytes [1-9]' '$TMP/metrics' && grep -Eq '^switchyard_process_open_fds [1-9]' '$TMP/metrics' && grep -q '^switchyard_build_info{version=' '$TMP/metrics'"
check "promtool check metrics: clean" 0 "" "" -- sh -c "promtool check metrics <'$TMP/metrics'"
SCRAPE_TOKEN=$OTHER
scrape
has "another workspace counts apart, in a scrape with its own token" 'switchyard_flag_evaluations_total{workspace="2",flag="alpha",reason="STATIC"}' 1
check "... which shows none of workspace 1's flags" 1 "" "" -- grep -q 'flag="beta"' "$TMP/metrics"
check "... nor any series of workspace 1" 1 "" "" -- grep -q 'workspace="1"' "$TMP/metrics"
unset SCRAPE_TOKEN

scrape "application/openmetrics-text; version=1.0.0"
check "OpenMetrics when asked" 0 "" "" -- grep -qi '^content-type: application/openmetrics-text' "$TMP/headers"
check "... a counter family without _total, its samples with it" 0 "" "" -- sh -c "grep -q '^# TYPE switchyard_flag_evaluations counter' '$TMP/metrics' && grep -q '^switchyard_flag_evaluations_total{' '$TMP/metrics'"
check "... ending with # EOF" 0 "" "" -- sh -c "tail -1 '$TMP/metrics' | grep -qx '# EOF'"

# ingest: 3 exposures, an outcome and a retried id, in two submissions
req POST /v1/experiments "$ADMIN" '{"key":"btn","variants":[{"key":"control","weight":50,"control":true},{"key":"green","weight":50}]}' >/dev/null
req POST /v1/experiments/btn/start "$ADMIN" >/dev/null
expect "a batch of events" 200 '.accepted == 4' -- POST /v1/events "$SDK" \
    '{"events":[{"type":"exposure","unit":"u1","experiment":"btn","variant":"green","id":"a"},{"type":"exposure","unit":"u2","experiment":"btn","variant":"control","id":"b"},{"type":"exposure","unit":"u3","experiment":"btn","variant":"green","id":"c"},{"type":"outcome","unit":"u1","experiment":"btn","success":true,"id":"d"}]}'
expect "... and a retry of one of them" 200 '.duplicates == 1' -- POST /v1/events "$SDK" \
    '{"events":[{"type":"exposure","unit":"u1","experiment":"btn","variant":"green","id":"a"}]}'
scrape
has "ingest: 3 exposures accepted" 'switchyard_ingest_events_total{kind="exposure",result="accepted"}' 3
has "... 1 outcome" 'switchyard_ingest_events_total{kind="outcome",result="accepted"}' 1
has "... the retried id skipped" 'switchyard_ingest_events_total{kind="exposure",result="skipped"}' 1
check "... in group commits that the histograms count" 0 "" "" -- sh -c "c=\$(awk '/^switchyard_ingest_commits_total /{print \$2}' '$TMP/metrics'); test \"\$c\" -ge 2 && grep -q \"^switchyard_ingest_commit_events_count \$c\$\" '$TMP/metrics' && grep -q \"^switchyard_ingest_commit_duration_seconds_count \$c\$\" '$TMP/metrics'"
has "... none failed" 'switchyard_ingest_commit_failures_total' 0
has "... nothing waits" 'switchyard_ingest_queued_submissions' 0

# the engine's state, rebuilt every --metrics-refresh (1 s here)
k=0
while [ $k -lt 50 ] && [ "$(scrape; value 'switchyard_experiment_units{workspace="1",experiment="btn",variant="green"}')" != 2 ]; do
    sleep 0.2
    k=$((k + 1))
done
has "an experiment's units per variant" 'switchyard_experiment_units{workspace="1",experiment="btn",variant="green"}' 2
has "... and conversions" 'switchyard_experiment_conversions{workspace="1",experiment="btn",variant="green"}' 1
has "... its split" 'switchyard_experiment_weight_percent{workspace="1",experiment="btn",variant="control"}' 50
has "... its state" 'switchyard_experiment_state{workspace="1",experiment="btn",state="running"}' 1
has "... not in another" 'switchyard_experiment_state{workspace="1",experiment="btn",state="draft"}' 0
check "... the treatment's confidence, a number in [0, 1]" 0 "" "" -- sh -c "awk '/^switchyard_experiment_confidence\{workspace=\"1\",experiment=\"btn\",variant=\"green\"\} / { ok = \$2 >= 0 && \$2 <= 1 } END { exit !ok }' '$TMP/metrics'"
has "... no SRM alarm" 'switchyard_experiment_srm_mismatch{workspace="1",experiment="btn"}' 0
has "the kill switch, per workspace" 'switchyard_kill_switch_engaged{workspace="1"}' 0
has "the seed tripwires, none triggered" 'switchyard_tripwire_triggered{workspace="1",domain="WHOLESALE",metric="contract_rate"}' 0
has "notifications by channel type and status" 'switchyard_notifications{workspace="1",type="webhook",status="failed"}' 0
expect "a manual promotion" 200 '' -- POST /v1/experiments/btn/promote "$ADMIN" '{"variant":"green"}'
scrape
has "... counted as a manual promotion" 'switchyard_allocation_changes_total{action="promote",by="manual",reason="manual"}' 1
check "the view's age: under 5 s" 0 "" "" -- sh -c "awk '/^switchyard_board_age_seconds / { ok = \$2 >= 0 && \$2 < 5 } END { exit !ok }' '$TMP/metrics'"
check "promtool check metrics: still clean with every family" 0 "" "" -- sh -c "promtool check metrics <'$TMP/metrics'"

# a scrape while OFREP is busy: the counts only grow
printf '{"context":{}}' >"$TMP/ctx"
seq 20 | xargs -P 8 -n 1 sh -c 'curl -s -o /dev/null -H "Authorization: Bearer $1" -H "Content-Type: application/json" --data-binary @"$2" "$3"' _ "$SDK" "$TMP/ctx" "$URL/ofrep/v1/evaluate/flags/alpha" &
LOAD=$!
scrape
wait "$LOAD"
scrape
has "20 more evaluations counted, none lost" 'switchyard_flag_evaluations_total{workspace="1",flag="alpha",reason="STATIC"}' 26

stop_server

# ---- --metrics-listen: the same, with no token, on an address of its own -----------------
start_server "$SY" --quiet --workers 2 --metrics-listen 127.0.0.1:0
MPORT=$(sed -n 's/.*metrics_listening.*port=\([0-9][0-9]*\).*/\1/p' "$TMP/log" | head -1)
check "the metrics address is logged with its port" 0 "" "" -- test -n "$MPORT"
eval_one alpha "$SDK" '{}'
eval_one alpha "$OTHER" '{}'
murl=http://127.0.0.1:$MPORT
check "GET /metrics there needs no token" 0 "" "" -- sh -c "curl -s -f '$murl/metrics' >'$TMP/metrics'"
has "... and counts what the server served (restarted: from zero)" 'switchyard_flag_evaluations_total{workspace="1",flag="alpha",reason="STATIC"}' 1
has "... of every workspace (no token: no workspace to confine it to)" 'switchyard_flag_evaluations_total{workspace="2",flag="alpha",reason="STATIC"}' 1
check "... anything else there is 404" 0 "" "" -- sh -c "test \"\$(curl -s -o '$TMP/body' -w '%{http_code}' '$murl/v1/flags')\" = 404 && jq -e '$ERR' '$TMP/body' >/dev/null"
check "... POST is 405 with Allow" 0 "" "" -- sh -c "curl -s -D - -o /dev/null -X POST '$murl/metrics' | grep -qi '^allow: GET, HEAD'"
check "... a query parameter is 400 unknown_field" 0 "" "" -- sh -c "curl -s '$murl/metrics?debug=1' | jq -e '.error.code == \"unknown_field\" and .error.field == \"debug\"' >/dev/null"
expect "the main address still wants a token" 401 "$ERR" -- GET /metrics ""
check "a port in use for --metrics-listen fails before a database is made" 1 "" "metrics-listen.*cannot listen" -- \
    "$SY" serve --listen 127.0.0.1:0 --db "$TMP/new.db" --metrics-listen "127.0.0.1:$MPORT"
check "... and made none" 0 "" "" -- test ! -e "$TMP/new.db"
stop_server

# ---- the proxy's routes: real upstreams, a split, a failing new -----------------------------
# Requests to a route at 50 %, then at 100 % to a `new` answering 503, then resetting every
# connection it read (GETs fall back to legacy, POSTs are 502: not repeated); three answers
# of the proxy's own. What /metrics says per backend must be what the clients saw, and what
# the route's own stats endpoint counted.
HERE=$(dirname "$0")
upstream legacy
node "$HERE/upstream.js" 0 new 0 "$TMP/new.fail" "$TMP/new.reset" >"$TMP/new.port" &
echo $! >"$TMP/new.pid"
wait_file "$TMP/new.port"
RPORT=$(free_port)
start_server "$SY" --quiet --workers 2 --proxy-workers 2 --proxy-max-body 1024 --metrics-refresh 1
expect "a route at 50 %, its breaker lenient" 201 '.percentage == 50' -- POST /v1/routes "$ADMIN" \
    "{\"name\":\"api\",\"listen\":\"127.0.0.1:$RPORT\",\"path_prefix\":\"/api\",\"upstreams\":{\"legacy\":\"127.0.0.1:$(cat "$TMP/legacy.port")\",\"new\":\"127.0.0.1:$(cat "$TMP/new.port")\"},\"percentage\":50,\"breaker\":{\"consecutive_failures\":1000000,\"error_rate\":1,\"min_requests\":1000000}}"
RURL=http://127.0.0.1:$RPORT
: >"$TMP/seen"
one() { # METHOD [BODY]: a request to the route; "STATUS ROUTE" into $TMP/seen when answered
    curl -s -o /dev/null -X "$1" ${2:+--data-binary "$2"} -w '%{http_code} %header{x-switchyard-route}\n' "$RURL/api/x" >"$TMP/one"
    grep -qv '^000' "$TMP/one" && cat "$TMP/one" >>"$TMP/seen"
}
send() { # METHOD N [BODY]
    j=0
    while [ $j -lt "$2" ]; do one "$1" "${3:-}"; j=$((j + 1)); done
}
k=0 # until the workers listen on the route's address
until one GET || [ $k -ge 50 ]; do sleep 0.1; k=$((k + 1)); done
send GET 60
expect "then 100 % to new" 200 '' -- POST /v1/routes/api/percentage "$ADMIN" '{"percentage":100,"reason":"test"}'
k=0 # until the workers route by it: a request answered by new
until { one GET && [ "$(tail -1 "$TMP/seen")" = "200 new" ]; } || [ $k -ge 50 ]; do sleep 0.1; k=$((k + 1)); done
touch "$TMP/new.fail"
send GET 15
rm -f "$TMP/new.fail"
touch "$TMP/new.reset"
send GET 12
send POST 7 '{"a":1}'
rm -f "$TMP/new.reset"
seen() { grep -c "^$1\$" "$TMP/seen"; }
check "the split sent some to each" 0 "" "" -- sh -c "test $(seen '200 legacy') -ge 5 && test $(seen '200 new') -ge 5"
check "new's 503s reached the clients" 0 "" "" -- test "$(seen '503 new')" -eq 15
check "... the GETs new reset went to legacy, the POSTs got 502" 0 "" "" -- sh -c "test $(seen '502 error') -eq 7 && test $(seen '200 legacy') -ge 12"
check "every request answered is one of those" 0 "" "" -- test "$(wc -l <"$TMP/seen")" -eq "$(($(seen '200 legacy') + $(seen '200 new') + 15 + 7))"
curl -s -o /dev/null "$RURL/nowhere"                                                          # 404
curl -s -o /dev/null --data-binary "$(head -c 2000 /dev/zero | tr '\0' a)" "$RURL/api/big" # 413
printf 'BROKEN\r\n\r\n' >"$TMP/broken"
curl -s -o /dev/null --max-time 2 -T "$TMP/broken" "telnet://127.0.0.1:$RPORT" 2>/dev/null # 400
# an idle connection, held until the scrape saw it (node says when it is connected: its
# start-up alone can pass half a second on a loaded machine)
node -e 'const s=require("net").connect(+process.argv[1],"127.0.0.1",()=>require("fs").writeFileSync(process.argv[2],"up"));setTimeout(()=>s.destroy(),10000)' "$RPORT" "$TMP/held" &
HOLD=$!
wait_file "$TMP/held"
scrape
kill $HOLD 2>/dev/null
L='workspace="1",route="api",backend="legacy"'
N='workspace="1",route="api",backend="new"'
has "legacy's 2xx: each 200 the clients got from legacy (the 12 fallbacks too)" "switchyard_proxy_requests_total{$L,status=\"2xx\"}" "$(seen '200 legacy')"
has "new's 2xx" "switchyard_proxy_requests_total{$N,status=\"2xx\"}" "$(seen '200 new')"
has "new's 5xx: its 15 answers of 503" "switchyard_proxy_requests_total{$N,status=\"5xx\"}" 15
has "new failed 19 (12 GETs fell back, 7 POSTs got 502)" "switchyard_proxy_requests_total{$N,status=\"failed\"}" 19
has "legacy failed none" "switchyard_proxy_requests_total{$L,status=\"failed\"}" 0
has "fallbacks: 12, new having closed before answering" 'switchyard_proxy_fallbacks_total{workspace="1",route="api",reason="closed_before_answer"}' 12
has "... none for a connect error" 'switchyard_proxy_fallbacks_total{workspace="1",route="api",reason="connect_error"}' 0
has "gateway errors: the 7 POSTs" "switchyard_proxy_gateway_errors_total{$N}" 7
has "new's latency histogram counts its answers" "switchyard_proxy_request_duration_seconds_count{$N}" "$(($(seen '200 new') + 15))"
has "... every one within +Inf" "switchyard_proxy_request_duration_seconds_bucket{$N,le=\"+Inf\"}" "$(($(seen '200 new') + 15))"
has "legacy's too" "switchyard_proxy_request_duration_seconds_count{$L}" "$(seen '200 legacy')"
check "... its buckets never decrease, and its sum is positive" 0 "" "" -- sh -c "grep '^switchyard_proxy_request_duration_seconds_bucket{$L' '$TMP/metrics' | awk '{ if (\$2 < last) bad = 1; last = \$2 } END { exit bad }' && awk '/^switchyard_proxy_request_duration_seconds_sum\{$L\} / { ok = \$2 > 0 } END { exit !ok }' '$TMP/metrics'"
has "the proxy's own answers: 404 with no route" 'switchyard_proxy_refusals_total{code="404",reason="not_found"}' 1
has "... 413 past --proxy-max-body" 'switchyard_proxy_refusals_total{code="413",reason="too_large"}' 1
has "... 400 for a head that does not parse" 'switchyard_proxy_refusals_total{code="400",reason="bad_request"}' 1
has "... no 408" 'switchyard_proxy_refusals_total{code="408",reason="request_timeout"}' 0
check "an idle client connection is open" 0 "" "" -- sh -c "awk '/^switchyard_proxy_open_connections / { ok = \$2 >= 1 } END { exit !ok }' '$TMP/metrics'"
has "nothing left uncounted" 'switchyard_proxy_uncounted_requests_total' 0
req GET /v1/routes/api/stats "$VIEWER" >/dev/null
cp "$TMP/body" "$TMP/stats"
total=$(awk '/^switchyard_proxy_requests_total\{workspace="1",route="api",/ { s += $2 } END { print s }' "$TMP/metrics")
check "the route's stats count what /metrics counts ($total)" 0 "" "" -- jq -e --argjson t "$total" '.requests == $t' "$TMP/stats"
check "... new's failures, as its error row" 0 "" "" -- jq -e '[.by[] | select(.upstream == "error" and .tried == "new") | .requests] | add == 19' "$TMP/stats"
check "... new's answers" 0 "" "" -- jq -e --argjson n "$(($(seen '200 new') + 15))" '[.by[] | select(.upstream == "new") | .requests] | add == $n' "$TMP/stats"
# the board is rebuilt every --metrics-refresh (1 s): on a loaded machine the scrape above
# may still show the board from before the change to 100 %; scrape again until it is newer
k=0
while [ "$(value 'switchyard_route_percentage{workspace="1",route="api"}')" != 100 ] && [ $k -lt 50 ]; do
    sleep 0.1
    scrape
    k=$((k + 1))
done
has "the route's percentage, from the engine's view" 'switchyard_route_percentage{workspace="1",route="api"}' 100
check "promtool check metrics: clean with the proxy's families" 0 "" "" -- sh -c "promtool check metrics <'$TMP/metrics'"
scrape "application/openmetrics-text; version=1.0.0"
check "... and in OpenMetrics (promtool reads the text format only)" 0 "" "" -- sh -c "grep -q '^# TYPE switchyard_proxy_requests counter' '$TMP/metrics' && grep -q '^switchyard_proxy_requests_total{' '$TMP/metrics' && tail -1 '$TMP/metrics' | grep -qx '# EOF'"
# an upstream whose status line says 799: passed on, counted in no class but "other"
node -e 'const s=require("net").createServer((c)=>c.on("data",()=>c.end("HTTP/1.1 799 Odd\r\nContent-Length: 0\r\n\r\n"))).listen(0,"127.0.0.1",()=>console.log(s.address().port))' >"$TMP/odd.port" &
echo $! >"$TMP/odd.pid"
wait_file "$TMP/odd.port"
OPORT=$(free_port)
expect "a route to it" 201 '' -- POST /v1/routes "$ADMIN" \
    "{\"name\":\"odd\",\"listen\":\"127.0.0.1:$OPORT\",\"upstreams\":{\"legacy\":\"127.0.0.1:$(cat "$TMP/odd.port")\",\"new\":\"127.0.0.1:$(cat "$TMP/odd.port")\"},\"percentage\":0}"
k=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$OPORT/")" = 799 ] || [ $k -ge 50 ]; do sleep 0.1; k=$((k + 1)); done
scrape
has "a 799 answer: status other" 'switchyard_proxy_requests_total{workspace="1",route="odd",backend="legacy",status="other"}' 1
req GET /v1/routes/odd/stats "$VIEWER" >/dev/null
check "... the route's series sum to its stats' requests (1)" 0 "" "" -- sh -c "test \"\$(awk '/^switchyard_proxy_requests_total\\{workspace=\"1\",route=\"odd\",/ { s += \$2 } END { print s }' '$TMP/metrics')\" = \"\$(jq .requests '$TMP/body')\" && jq -e '.requests == 1' '$TMP/body' >/dev/null"
stop_server
stop_upstreams
start_server "$SY" --quiet --workers 2 --proxy-workers 0
scrape
check "no proxy (--proxy-workers 0): no proxy families" 1 "" "" -- grep -q '^switchyard_proxy_' "$TMP/metrics"
stop_server
# ---- counters by reason: allocation changes, risk answers, notification deliveries ---------
HERE=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null || { echo "Bail out! node is missing: run scripts/deps.sh"; exit 1; }
RPIDS=""
receiver() { # NAME MODE: a node receiver (receiver.js); its port into $TMP/NAME.port
    : >"$TMP/$1.port"
    node "$HERE/receiver.js" 0 "$TMP/$1.log" "$2" >"$TMP/$1.port" &
    RPIDS="$RPIDS $!"
    wait_file "$TMP/$1.port"
}
receiver ok ok
receiver down fail
start_server "$SY" --quiet --metrics-refresh 1 --health-interval 1 --auto-promotion-interval 0 \
    --notify-attempts 2 --notify-backoff 100 --notify-backoff-max 100
until_has() { # NAME SAMPLE WANT: scrapes until SAMPLE is WANT (10 s at most: the board's refresh)
    k=0
    while [ $k -lt 50 ] && [ "$(scrape; value "$2")" != "$3" ]; do
        sleep 0.2
        k=$((k + 1))
    done
    has "$1" "$2" "$3"
}
scrape
has "a health rollback's series is there before the first" 'switchyard_allocation_changes_total{action="rollback",by="auto",reason="health_success_rate"}' 0
has "... an emergency rollback's too" 'switchyard_allocation_changes_total{action="rollback",by="manual",reason="emergency"}' 0
has "deliveries by channel type: none yet" 'switchyard_notification_deliveries_total{type="slack",result="failed"}' 0
until_has "risk answers per workspace: none yet" 'switchyard_risk_reservations_total{workspace="1",result="denied",reason="no_policy"}' 0

RES='{"domain":"WHOLESALE","amount":50,"actor":"deal-svc"}'
expect "risk: a domain without a policy is denied" 200 '.ok == false and .reason == "no_policy"' -- POST /v1/risk/check-and-reserve "$SDK" "$RES"
expect "... a policy for it" 200 '' -- PUT /v1/risk/policies/WHOLESALE "$ADMIN" '{"enabled":true,"max_per_action":100,"reason":"go live"}'
expect "... a reservation" 200 '.ok == true' -- POST /v1/risk/check-and-reserve "$SDK" "$RES"
expect "... another" 200 '.ok == true' -- POST /v1/risk/check-and-reserve "$SDK" "$RES"
expect "... one past the limit per action" 200 '.ok == false and .reason == "limit_exceeded"' -- \
    POST /v1/risk/check-and-reserve "$SDK" '{"domain":"WHOLESALE","amount":500,"actor":"deal-svc"}'
expect "... another workspace's denial" 200 '.ok == false' -- POST /v1/risk/check-and-reserve "$OTHER" "$RES"
# the board is rebuilt every second: wait for the last answer's count, then read the others
until_has "risk: one past the limit counted" 'switchyard_risk_reservations_total{workspace="1",result="denied",reason="limit_exceeded"}' 1
has "... 2 reservations" 'switchyard_risk_reservations_total{workspace="1",result="reserved",reason="none"}' 2
has "... a denial for want of a policy" 'switchyard_risk_reservations_total{workspace="1",result="denied",reason="no_policy"}' 1
has "... none for a kill switch" 'switchyard_risk_reservations_total{workspace="1",result="denied",reason="kill_switch"}' 0
check "... the other workspace's not in this token's scrape" 1 "" "" -- grep -q 'switchyard_risk_reservations_total{workspace="2"' "$TMP/metrics"
SCRAPE_TOKEN=$OTHER
until_has "... but in its own token's" 'switchyard_risk_reservations_total{workspace="2",result="denied",reason="no_policy"}' 1
unset SCRAPE_TOKEN

exp() { # KEY
    req POST /v1/experiments "$ADMIN" "{\"key\":\"$1\",\"variants\":[{\"key\":\"a\",\"weight\":60},{\"key\":\"b\",\"weight\":40,\"control\":true}],\"allocation\":{\"cooldown_hours\":0,\"max_changes_per_day\":100}}" >/dev/null
    req POST "/v1/experiments/$1/start" "$ADMIN" >/dev/null
}
exp man
expect "a manual rollback" 200 '.state == "rolled_back"' -- DELETE /v1/experiments/man/promote "$ADMIN" '{"reason":"looks wrong"}'
scrape
has "... counted as manual" 'switchyard_allocation_changes_total{action="rollback",by="manual",reason="manual"}' 1
has "... not as an emergency" 'switchyard_allocation_changes_total{action="rollback",by="manual",reason="emergency"}' 0
exp mon
awk 'BEGIN { printf "{\"events\":["; for (i = 0; i < 1000; i++) printf "%s{\"type\":\"exposure\",\"unit\":\"m%d\",\"experiment\":\"mon\",\"variant\":\"a\"},{\"type\":\"outcome\",\"unit\":\"m%d\",\"experiment\":\"mon\",\"success\":%s}", (i ? "," : ""), i, i, (i % 50 < 47 ? "true" : "false"); print "]}" }' >"$TMP/mon.json"
expect "health: traffic at success 0.94" 200 '.accepted == 2000' -- POST /v1/events "$SDK" "@$TMP/mon.json"
expect "... a step by a token" 200 '.weights.a == 80' -- POST /v1/experiments/mon/allocation/apply "$ADMIN" '{"winning_variant":"a","confidence":0.97,"delta":5.2}'
scrape
has "... counted as a manual step" 'switchyard_allocation_changes_total{action="step",by="manual",reason="manual"}' 1
expect "... its success rate drops to 0.88" 200 '.health.rollback_due == true' -- \
    POST /v1/experiments/mon/health "$ADMIN" '{"success_rate":0.88,"error_rate":0}'
until_has "the health monitor's rollback, by the metric that failed" 'switchyard_allocation_changes_total{action="rollback",by="auto",reason="health_success_rate"}' 1
has "... no other health reason" 'switchyard_allocation_changes_total{action="rollback",by="auto",reason="health_error_rate"}' 0
exp em
expect "an emergency rollback: em, and btn promoted above" 200 '.experiments_rolled_back == 2' -- POST /v1/emergency-rollback "$ADMIN" '{"reason":"drill"}'
scrape
has "... each counted as an emergency" 'switchyard_allocation_changes_total{action="rollback",by="manual",reason="emergency"}' 2
has "... the manual rollbacks still 1" 'switchyard_allocation_changes_total{action="rollback",by="manual",reason="manual"}' 1

OKP=$(cat "$TMP/ok.port") DOWNP=$(cat "$TMP/down.port")
expect "a webhook channel that answers" 201 '.id > 0' -- POST /v1/notifications/channels "$ADMIN" \
    "{\"type\":\"webhook\",\"url\":\"http://127.0.0.1:$OKP/hook\",\"secret\":\"whsec-0123456789abcdef\"}"
HOOK=$(jq .id "$TMP/body")
expect "a slack channel that is down" 201 '.id > 0' -- POST /v1/notifications/channels "$ADMIN" \
    "{\"type\":\"slack\",\"url\":\"http://127.0.0.1:$DOWNP/slack\"}"
SLACK=$(jq .id "$TMP/body")
expect "... a test to the webhook" 202 '' -- POST "/v1/notifications/channels/$HOOK/test" "$ADMIN"
expect "... and to the slack channel" 202 '' -- POST "/v1/notifications/channels/$SLACK/test" "$ADMIN"
until_has "the webhook's delivery counted" 'switchyard_notification_deliveries_total{type="webhook",result="delivered"}' 1
until_has "the slack channel's: given up after 2 attempts" 'switchyard_notification_deliveries_total{type="slack",result="failed"}' 1
has "... one retried before" 'switchyard_notification_deliveries_total{type="slack",result="retried"}' 1
has "... none delivered" 'switchyard_notification_deliveries_total{type="slack",result="delivered"}' 0
until_has "the outbox by channel type: the webhook's row delivered" 'switchyard_notifications{workspace="1",type="webhook",status="delivered"}' 1
until_has "... the slack one's failed" 'switchyard_notifications{workspace="1",type="slack",status="failed"}' 1
check "promtool check metrics: clean with the new families" 0 "" "" -- sh -c "promtool check metrics <'$TMP/metrics'"
stop_server
for p in $RPIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done

# ---- JSON logs: numbers are numbers -------------------------------------------------------
start_server "$SY" --log-format json --workers 0
expect "a request to log" 200 "" -- GET /metrics "$VIEWER"
stop_server
check "a request's line: status and time are JSON numbers" 0 "" "" -- sh -c \
    "grep '\"event\":\"request\"' '$TMP/log' | grep '/metrics' | head -1 | jq -e '.status == 200 and (.us | type) == \"number\" and .method == \"GET\"' >/dev/null"
check "... and the listening line's port" 0 "" "" -- sh -c \
    "grep '\"event\":\"listening\"' '$TMP/log' | jq -e '(.port | type) == \"number\" and .port > 0' >/dev/null"
check "bad --metrics-max-flags: usage error" 2 "" "metrics-max-flags" -- "$SY" serve --listen 127.0.0.1:0 --db "$DB" --metrics-max-flags -1
tap_done
