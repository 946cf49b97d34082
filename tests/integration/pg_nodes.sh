#!/bin/sh
# pg_nodes.sh - three switchyard nodes on one PostgreSQL database (issue 25), each a real
# `switchyard serve` on its own port, the database migrated once by `switchyard migrate`:
# - a flag changed through node 1 is served by node 3 (and node 2) within 100 ms, measured
#   over 100 changes each (pg_nodes.js: p50, p95, p99, the longest and how many within
#   100 ms are printed). The check asks 95 % within 100 ms and all within 1 s: on a quiet
#   machine all are within 40 ms (p50 5 ms), but `make test` runs beside other tests on two
#   shared cores, where one change in a hundred may wait on the scheduler;
# - a workspace and a token made offline (`switchyard workspace|token create` on the same
#   database) are served by every running node; a token revoked on node 2 is refused by
#   node 3 within 100 ms; the kill switch engaged on node 3 is seen engaged on node 1 within
#   100 ms;
# - the database stopped: a node serves evaluations from its snapshot, refuses changes with
#   503 and says so in /health/aggregate (503); started again, the nodes take changes and
#   fan them out again within seconds;
# - an experiment made on node 1 is started on node 2 and runs on node 3 within 1 s; events
#   spread over the three nodes while node 2 is SIGKILLed and started again: every
#   acknowledged event in the log once, byte-identical results from the three nodes;
# - the leader SIGKILLed after two of climb's auto-promotion steps: another takes the three
#   left, each once, and every node shows the same history;
# - a route made and moved on node 1 is node 3's within 1 s, deleted on node 2 gone from it;
#   guardrails changed on node 2 are node 3's within 1 s; a workspace's daily limit of
#   steps holds across the nodes (six steps at once through three nodes, a limit of two);
# - exactly one node leads (runs the timers: /health/aggregate's `node`); SIGKILLed, another
#   takes over within 5 s, and again exactly one leads.
#
#   pg_nodes.sh SWITCHYARD
set -u
SY=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
. "$HERE/pg.sh"

pg_start || {
    tap_done
    exit 1
}
check "switchyard migrate, as the owner" 0 '^migrated: schema version [0-9]+$' '' -- \
    "$SY" migrate --db "$PG_URL_OWNER"
check "migrate refuses the owner as the servers' role" 1 '' 'is the one migrating' -- \
    "$SY" migrate --db "$PG_URL_OWNER" --app-role switchyard_owner
check "migrate refuses a superuser as the servers' role" 1 '' 'superuser or may bypass' -- \
    "$SY" migrate --db "$PG_URL_OWNER" --app-role postgres
check "migrate refuses a role that does not exist" 1 '' 'no role "nobody_here"' -- \
    "$SY" migrate --db "$PG_URL_OWNER" --app-role nobody_here
check "serve refuses to run as the tables' owner (row-level security would not hold)" 1 '' \
    'owns the tables: a server connects as the application role' -- \
    "$SY" serve --listen 127.0.0.1:0 --db "$PG_URL_OWNER"
check "serve refuses to run as a superuser" 1 '' 'role "postgres" is a superuser' -- \
    "$SY" serve --listen 127.0.0.1:0 --db "$PG_URL_SUPER"
check "a connection string libpq cannot read is refused without its password" 0 '' '' -- \
    sh -c "! '$SY' migrate --db 'postgresql://u:s3cretpw@[::1/x' 2>&1 | grep -q 's3cretpw'"
mkdir -p "$TMP/kw"
check "libpq's keyword form is PostgreSQL, not a SQLite file (named after its password)" 0 '' \
    '' -- sh -c "cd '$TMP/kw' && ! '$SY' migrate --db 'host=127.0.0.1 port=1 password=s3cretpw dbname=x user=u' 2>&1 | grep -q s3cretpw && [ -z \"\$(ls -A)\" ]"
check "a workspace, offline" 0 'created' '' -- \
    "$SY" workspace create default --db "$PG_URL_APP"
ADMIN=$("$SY" token create --db "$PG_URL_APP" --role admin --name alice 2>"$TMP/err")
check "an admin token, offline" 0 '' '' -- test -n "$ADMIN"

# start_node I: node I in the background (its log $TMP/nodeI.log); NODE_PORT_I once it listens.
PIDS=""
start_node() {
    # a node started again: its last log kept aside, so that its old `listening` is not read
    [ -f "$TMP/node$1.log" ] && mv -f "$TMP/node$1.log" "$TMP/node$1.log.$(pg_ms)"
    "$SY" serve --listen 127.0.0.1:0 --db "$PG_URL_APP" --auto-promotion-interval 1 \
        >"$TMP/node$1.out" 2>"$TMP/node$1.log" &
    eval "NODE_PID_$1=$!"
    PIDS="$PIDS $!"
    k=0 # a node started beside busy ones replays the log first: 30 s at most
    while [ $k -lt 600 ] && ! grep -qs 'event.*listening' "$TMP/node$1.log"; do
        sleep 0.05
        k=$((k + 1))
    done
    eval "NODE_PORT_$1=$(grep 'event.*listening' "$TMP/node$1.log" | head -1 |
        sed -n 's/.*port[=":]*\([0-9][0-9]*\).*/\1/p')"
}
# node_log I: the tail of node I's log, as comments (after a failed check)
node_log() { tail -15 "$TMP/node$1.log" | sed 's/^/#   /'; }
stop_nodes() {
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
    for p in $PIDS; do wait "$p" 2>/dev/null; done
    PIDS=""
    for f in "$TMP"/node[123].log*; do # every start's log, the killed ones' too
        if grep -q 'Sanitizer\|runtime error:' "$f" 2>/dev/null; then
            grep -A30 'Sanitizer\|runtime error:' "$f" >>"$TMP/sanitizer"
        fi
    done
}
EXIT_HOOKS="stop_nodes $EXIT_HOOKS"
for i in 1 2 3; do start_node $i; done
url() { eval "echo http://127.0.0.1:\$NODE_PORT_$1"; }
check "three nodes listen" 0 '' '' -- sh -c "[ -n '$NODE_PORT_1' ] && [ -n '$NODE_PORT_2' ] && [ -n '$NODE_PORT_3' ]"
check "no node logs the database password" 0 '' '' -- \
    sh -c "! grep -q '$PG_PASS_APP' '$TMP/node1.log' '$TMP/node2.log' '$TMP/node3.log'"
check "each says it is one of many nodes" 0 '' '' -- \
    sh -c "grep -q many_nodes '$TMP/node1.log' && grep -q many_nodes '$TMP/node2.log' && grep -q many_nodes '$TMP/node3.log'"

# ---- changes fan out ----------------------------------------------------------------------
fanout_check() { # NAME FROM TO
    node "$HERE/pg_nodes.js" fanout "$(url "$2")" "$(url "$3")" "$ADMIN" 100 >"$TMP/fanout" 2>&1
    echo "# node $2 -> node $3: $(cat "$TMP/fanout")"
    check "$1" 0 '' '' -- awk '/^fanout 100 /{ok = $10 == 0 && $12 >= 95 && $8 + 0 <= 1000} END{exit !ok}' "$TMP/fanout"
}
fanout_check "100 flag changes on node 1 served by node 3: 95 % within 100 ms, all within 1 s" 1 3
fanout_check "100 flag changes on node 1 served by node 2: 95 % within 100 ms, all within 1 s" 1 2

node "$HERE/pg_nodes.js" revoke "$(url 2)" "$(url 3)" "$ADMIN" >"$TMP/revoke" 2>&1
echo "# $(cat "$TMP/revoke")"
check "a token made on node 2 works on node 3; revoked on node 2, node 3 refuses it within 100 ms" \
    0 '' '' -- awk '/^revoked [0-9.]+$/{ok = $2 + 0 <= 100} END{exit !ok}' "$TMP/revoke"

"$SY" workspace create second --db "$PG_URL_APP" >/dev/null 2>&1
SECOND=$("$SY" token create --db "$PG_URL_APP" --workspace second --role admin --name bob 2>/dev/null)
check "a workspace and its token made offline serve on a running node at once" 0 '^200$' '' -- \
    curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $SECOND" "$(url 3)/v1/flags"
check "and not another workspace's flags" 0 '^\{"flags":\[\]' '' -- \
    curl -s -H "Authorization: Bearer $SECOND" "$(url 3)/v1/flags"

node "$HERE/pg_nodes.js" killswitch "$(url 3)" "$(url 1)" "$ADMIN" >"$TMP/kill" 2>&1
echo "# $(cat "$TMP/kill")"
check "the kill switch engaged on node 3 is engaged on node 1 within 100 ms" 0 '' '' -- \
    awk '/^killswitch [0-9.]+$/{ok = $2 + 0 <= 100} END{exit !ok}' "$TMP/kill"

# leaders: the nodes (of those given) whose /health/aggregate says they lead.
leaders() {
    for i in "$@"; do
        curl -s -H "Authorization: Bearer $ADMIN" "$(url "$i")/health/aggregate" |
            jq -e '.components[] | select(.name == "node") | .reason | startswith("leads")' \
                >/dev/null 2>&1 && printf '%s ' "$i"
    done
}
# ---- experiments on three nodes -----------------------------------------------------------------
# In a workspace of their own (the kill switch is engaged in the default one). An experiment
# made on node 1 is started on node 2 and runs on node 3; events spread over the three nodes
# (pg_nodes.js ingest) while node 2 is SIGKILLed and started again: every acknowledged event
# is in the log exactly once, and the three nodes answer byte-identical results (but for
# the hours, which move with the clock), whose units are the log's.
"$SY" workspace create exp --db "$PG_URL_APP" >/dev/null 2>&1
XA=$("$SY" token create --db "$PG_URL_APP" --workspace exp --role admin --name carol 2>/dev/null)
XS=$("$SY" token create --db "$PG_URL_APP" --workspace exp --role sdk --name app 2>/dev/null)
xcode() { # NODE METHOD PATH [BODY]: the status of an admin's request in workspace exp
    curl -s -o "$TMP/xbody" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $XA" \
        -H 'Content-Type: application/json' ${4:+-d "$4"} "$(url "$1")$3"
}
check "an experiment made on node 1" 0 '^201$' '' -- xcode 1 POST /v1/experiments \
    '{"key":"spread","variants":[{"key":"a","weight":50,"control":true},{"key":"b","weight":50}],"safety":{"min_sample_per_variant":1000000}}'
t0=$(pg_ms)
st=""
while [ "$st" != 200 ] && [ $(($(pg_ms) - t0)) -lt 3000 ]; do
    st=$(xcode 2 POST /v1/experiments/spread/start)
    [ "$st" = 200 ] || sleep 0.02
done
T=$(($(pg_ms) - t0))
echo "# node 2 started it $T ms after node 1 made it"
check "... node 2 knows it within 1 s and starts it" 0 '' '' -- sh -c "[ '$st' = 200 ] && [ $T -le 1000 ]"
t0=$(pg_ms)
while [ $(($(pg_ms) - t0)) -lt 3000 ] && ! { xcode 3 GET /v1/experiments/spread >/dev/null &&
    jq -e '.state == "running"' "$TMP/xbody" >/dev/null 2>&1; }; do
    sleep 0.02
done
T=$(($(pg_ms) - t0))
check "... node 3 has it running within 1 s ($T ms)" 0 '' '' -- sh -c "[ $T -le 1000 ]"
node "$HERE/pg_nodes.js" ingest "$(url 1),$(url 2),$(url 3)" 6000 "$XS" "$TMP/acked" \
    >"$TMP/ingest" 2>&1 &
ING=$!
sleep 2
eval "kill -KILL \$NODE_PID_2"
eval "wait \$NODE_PID_2" 2>/dev/null
start_node 2
wait "$ING"
ING_RC=$?
echo "# $(cat "$TMP/ingest")"
check "events spread over three nodes, node 2 SIGKILLed and back meanwhile: every batch taken" \
    0 '' '' -- sh -c "[ $ING_RC -eq 0 ] && grep -q '^ingest acked [1-9]' '$TMP/ingest'"
pg_sql "$PG_URL_SUPER" "SELECT event_id FROM events WHERE experiment_id = (SELECT id FROM
    experiments WHERE key = 'spread') ORDER BY 1" >"$TMP/logged"
sort "$TMP/acked" >"$TMP/acked.sorted"
check "every acknowledged event is in the log" 0 '' '' -- \
    sh -c "[ -z \"\$(sort '$TMP/logged' | comm -23 '$TMP/acked.sorted' -)\" ]"
check "... once" 0 '' '' -- sh -c "[ -z \"\$(sort '$TMP/logged' | uniq -d)\" ]"
# results: node by node, but for the hours that move with the clock, until they agree (each
# node applies the others' commits within milliseconds; 5 s at most)
results() {
    curl -s -H "Authorization: Bearer $XA" "$(url "$1")/v1/experiments/spread/results" |
        jq -S 'del(.runtime_hours) | walk(if type == "object" then del(.hours_left) else . end)'
}
t0=$(pg_ms)
while :; do
    for i in 1 2 3; do results "$i" >"$TMP/results$i"; done
    if cmp -s "$TMP/results1" "$TMP/results2" && cmp -s "$TMP/results1" "$TMP/results3"; then
        break
    fi
    [ $(($(pg_ms) - t0)) -lt 5000 ] || break
    sleep 0.1
done
echo "# results agreed $(($(pg_ms) - t0)) ms after the last batch: $(jq -c '[.units, [.variants[] | .units, .conversions, .crossovers], .srm.log_e_value]' "$TMP/results1")"
[ -s "$TMP/results2" ] || { echo "# node 2 answered no results; its log:"; node_log 2; }
check "the three nodes answer byte-identical results" 0 '' '' -- \
    sh -c "jq -e '.units > 0' '$TMP/results1' >/dev/null && cmp '$TMP/results1' '$TMP/results2' && cmp '$TMP/results1' '$TMP/results3'"
UNITS=$(pg_sql "$PG_URL_SUPER" "SELECT count(DISTINCT unit) FROM events WHERE experiment_id =
    (SELECT id FROM experiments WHERE key = 'spread')")
check "... whose units are the log's ($UNITS)" 0 '' '' -- jq -e ".units == $UNITS" "$TMP/results1"
eval "kill -TERM \$NODE_PID_3"
eval "wait \$NODE_PID_3" 2>/dev/null
start_node 3
results 3 >"$TMP/results3"
check "... and node 3, started again, rebuilt from the log alone, answers the same" 0 '' '' -- \
    cmp "$TMP/results1" "$TMP/results3"

# ---- the leader's steps, and its death ---------------------------------------------------------
# Experiment "climb" (b far ahead of a: 150 of 500 against 50 of 500) is stepped 10 points a
# second by the leader's auto-promotion check (--auto-promotion-interval 1): 50 -> 60 ... ->
# 100. The leader is SIGKILLed after its second step; another leads, applies what it did and
# goes on: each step taken exactly once, and every node shows the same history.
st1=$(xcode 3 POST /v1/experiments '{"key":"climb","variants":[{"key":"a","weight":50,"control":true},{"key":"b","weight":50}],"allocation":{"cooldown_hours":0,"max_changes_per_day":100,"max_step_pct":10},"safety":{"min_sample_per_variant":100,"min_runtime_hours":0}}')
st2=$(xcode 3 POST /v1/experiments/climb/start)
check "experiment climb made and started on node 3" 0 '' '' -- sh -c "[ '$st1 $st2' = '201 200' ]"
awk 'BEGIN { printf "{\"events\":["; for (i = 0; i < 1000; i++) { v = i % 2 ? "b" : "a"; ok = (v == "b" ? i % 10 < 6 : i % 10 < 2) ? "true" : "false"; printf "%s{\"type\":\"exposure\",\"unit\":\"c%d\",\"experiment\":\"climb\",\"variant\":\"%s\"},{\"type\":\"outcome\",\"unit\":\"c%d\",\"experiment\":\"climb\",\"success\":%s}", i ? "," : "", i, v, i, ok } printf "]}" }' >"$TMP/climb.json"
check "... its events, through node 1" 0 '"accepted":2000' '' -- curl -s -H "Authorization: Bearer $XS" \
    -H 'Content-Type: application/json' --data-binary @"$TMP/climb.json" "$(url 1)/v1/events"
steps() { # NODE: b's weight after each change of climb's history, as node NODE shows it
    curl -s -H "Authorization: Bearer $XA" "$(url "$1")/v1/experiments/climb/history" |
        jq -c '[.history[] | .after.b]'
}
L=""
t0=$(pg_ms)
while [ $(($(pg_ms) - t0)) -lt 10000 ]; do
    L=$(leaders 1 2 3 | tr -d ' ')
    [ ${#L} -eq 1 ] && [ "$(steps "$L")" = "[60,70]" ] && break
    sleep 0.05
done
check "the leader (node $L) took two steps, 60 and 70" 0 '' '' -- sh -c "[ '$(steps "$L")' = '[60,70]' ]"
eval "kill -KILL \$NODE_PID_$L"
eval "wait \$NODE_PID_$L" 2>/dev/null
t0=$(pg_ms)
REST=$(echo "1 2 3" | tr -d "$L")
S=""
while [ $(($(pg_ms) - t0)) -lt 15000 ]; do
    S=$(steps "$(echo $REST | awk '{print $1}')")
    [ "$S" = "[60,70,80,90,100]" ] && break
    sleep 0.1
done
echo "# node $L SIGKILLed after two steps; $(($(pg_ms) - t0)) ms later the history is $S"
check "another node took the three steps left, each once: 60, 70, 80, 90, 100" 0 '' '' -- \
    sh -c "[ '$S' = '[60,70,80,90,100]' ]"
sleep 1.5 # one more check: nothing more to do
for i in $REST; do
    check "node $i shows that history, and the winner promoted" 0 '' '' -- sh -c "[ '$(steps "$i")' = '[60,70,80,90,100]' ] && curl -s -H 'Authorization: Bearer $XA' '$(url "$i")/v1/experiments/climb' | jq -e '.state == \"promoted\" and .weights == {\"a\":0,\"b\":100}' >/dev/null"
done
start_node "$L"

# ---- routes ---------------------------------------------------------------------------------
# A route made on node 1 and its percentage moved there are node 3's within 1 s (each node
# proxies every route; on this one machine the first to bind its address serves it).
RP=$(free_port)
st=$(xcode 1 POST /v1/routes "{\"name\":\"api\",\"listen\":\"127.0.0.1:$RP\",\"upstreams\":{\"legacy\":\"127.0.0.1:9\",\"new\":\"127.0.0.1:9\"},\"percentage\":0}")
check "a route made on node 1" 0 '' '' -- test "$st" = 201
st=$(xcode 1 POST /v1/routes/api/percentage '{"percentage":30,"reason":"pg_nodes"}')
t0=$(pg_ms)
while [ $(($(pg_ms) - t0)) -lt 3000 ] && ! { xcode 3 GET /v1/routes/api >/dev/null &&
    jq -e '.percentage == 30' "$TMP/xbody" >/dev/null 2>&1; }; do
    sleep 0.01
done
T=$(($(pg_ms) - t0))
echo "# node 3 had the route's percentage $T ms after node 1 moved it"
check "... its percentage moved on node 1 is node 3's within 1 s" 0 '' '' -- \
    sh -c "[ '$st' = 200 ] && [ $T -le 1000 ]"
st=$(xcode 2 DELETE /v1/routes/api)
t0=$(pg_ms)
while [ $(($(pg_ms) - t0)) -lt 3000 ] && [ "$(xcode 3 GET /v1/routes/api)" != 404 ]; do
    sleep 0.01
done
T=$(($(pg_ms) - t0))
check "... deleted on node 2, gone from node 3 within 1 s ($T ms)" 0 '' '' -- \
    sh -c "[ '$st' = 200 ] || [ '$st' = 204 ]; [ $T -le 1000 ]"

st=$(xcode 2 PUT /v1/guardrails '{"max_step_pct":7}')
t0=$(pg_ms)
while [ $(($(pg_ms) - t0)) -lt 3000 ] && ! { xcode 3 GET /v1/guardrails >/dev/null &&
    jq -e '.guardrails.max_step_pct == 7' "$TMP/xbody" >/dev/null 2>&1; }; do
    sleep 0.01
done
T=$(($(pg_ms) - t0))
check "the workspace's guardrails changed on node 2 are node 3's within 1 s ($T ms)" 0 '' '' -- \
    sh -c "[ '$st' = 200 ] && [ $T -le 1000 ]"

# The workspace's daily limit counts every node's steps: 2 a day, six experiments stepped at
# once through the three nodes, two apiece: exactly two steps taken.
"$SY" workspace create daily --db "$PG_URL_APP" >/dev/null 2>&1
DA=$("$SY" token create --db "$PG_URL_APP" --workspace daily --role admin --name dee 2>/dev/null)
dcode() { # NODE METHOD PATH [BODY] [OUT]
    curl -s -o "${5:-/dev/null}" -w '%{http_code}' -X "$2" -H "Authorization: Bearer $DA" \
        -H 'Content-Type: application/json' ${4:+-d "$4"} "$(url "$1")$3"
}
st=$(dcode 1 PUT /v1/guardrails '{"max_changes_per_day":2,"cooldown_hours":0,"max_step_pct":10}')
for e in 1 2 3 4 5 6; do
    st="$st $(dcode 1 POST /v1/experiments "{\"key\":\"d$e\",\"variants\":[{\"key\":\"a\",\"weight\":50,\"control\":true},{\"key\":\"b\",\"weight\":50}]}")"
    st="$st $(dcode 1 POST /v1/experiments/d$e/start)"
done
check "workspace daily: a limit of 2 steps a day, six experiments running" 0 '' '' -- \
    test "$st" = "200 201 200 201 200 201 200 201 200 201 200 201 200"
sleep 1 # every node has them running
STEPS=""
for e in 1 2 3 4 5 6; do
    dcode $((e % 3 + 1)) POST /v1/experiments/d$e/allocation/apply \
        '{"winning_variant":"b","confidence":0.99,"delta":5}' "$TMP/step$e" >"$TMP/stepcode$e" &
    STEPS="$STEPS $!"
done
wait $STEPS # (not every child: the nodes are this shell's too)
TAKEN=$(for e in 1 2 3 4 5 6; do cat "$TMP/stepcode$e"; echo; done | grep -c '^200$')
echo "# steps answered: $(for e in 1 2 3 4 5 6; do printf '%s ' "$(cat "$TMP/stepcode$e")"; done)"
check "six steps at once through three nodes: exactly two taken ($TAKEN)" 0 '' '' -- test "$TAKEN" -eq 2
check "... the four others refused naming max_changes_per_day" 0 '' '' -- \
    sh -c "[ \$(cat '$TMP'/step[1-6] | jq -r '.error.field // empty' | grep -c '^max_changes_per_day\$') -eq 4 ]"

# ---- the database lost, and back -------------------------------------------------------------
# code NODE METHOD PATH [BODY]: the HTTP status of a request to node NODE.
code() {
    curl -s -o /dev/null -w '%{http_code}' -X "$2" -H "Authorization: Bearer $ADMIN" \
        -H 'Content-Type: application/json' ${4:+-d "$4"} "$(url "$1")$3"
}
check "before: node 2 serves the flag" 0 '^200$' '' -- \
    code 2 POST /ofrep/v1/evaluate/flags/fanout '{"context":{}}'
(cd "$TMP/pg" && pg_as "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 10) >"$TMP/pgstop" 2>&1
check "the database stops" 0 '' '' -- sh -c "! [ -f '$PG_DATA/postmaster.pid' ]"
check "without it, node 2 still serves evaluations from its snapshot" 0 '^200$' '' -- \
    code 2 POST /ofrep/v1/evaluate/flags/fanout '{"context":{}}'
check "and refuses a change with 503" 0 '^503$' '' -- \
    code 2 PUT /v1/flags/lost '{"state":"ENABLED","defaultVariant":"on","variants":{"on":true}}'
check "its /health/aggregate says the store does not answer (503)" 0 '^503$' '' -- \
    code 2 GET /health/aggregate
(cd "$TMP/pg" && pg_as "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t 20 \
    -o "-p $PGPORT") >"$TMP/pgstart" 2>&1
check "the database is back on its port" 0 '' '' -- test -f "$PG_DATA/postmaster.pid"
t0=$(pg_ms)
st=""
while [ "$st" != 201 ] && [ $(($(pg_ms) - t0)) -lt 10000 ]; do
    st=$(code 2 PUT /v1/flags/back '{"state":"ENABLED","defaultVariant":"on","variants":{"on":true}}')
    [ "$st" = 201 ] || sleep 0.2
done
echo "# node 2 took a change again $(($(pg_ms) - t0)) ms after the database was back"
check "node 2 takes changes again within 10 s" 0 '' '' -- test "$st" = 201
check "node 3's first KPI event after the outage is taken (its writer's connection made again)" \
    0 '^200$' '' -- code 3 POST /v1/kpi \
    '{"events":[{"domain":"D","metric":"m","actor":"app","success":true,"id":"after-1"}]}'
t0=$(pg_ms) # node 3 reconnects at its next try (once a second)
while [ "$(code 3 GET /health/aggregate)" != 200 ] && [ $(($(pg_ms) - t0)) -lt 10000 ]; do
    sleep 0.2
done
node "$HERE/pg_nodes.js" fanout "$(url 2)" "$(url 3)" "$ADMIN" 20 >"$TMP/fanout" 2>&1
echo "# after the outage, node 2 -> node 3: $(cat "$TMP/fanout")"
check "and node 3 serves node 2's changes again (it listens again): 19 of 20 within 100 ms" 0 '' '' -- \
    awk '/^fanout 20 /{ok = $10 == 0 && $12 >= 19 && $8 + 0 <= 1000} END{exit !ok}' "$TMP/fanout"
check "node 3 serves the flag made on node 2 once the database was back (resync or fan-out)" \
    0 '^200$' '' -- code 3 POST /ofrep/v1/evaluate/flags/back '{"context":{}}'

# ---- one leader ---------------------------------------------------------------------------
sleep 1.2 # each node tries the lock once a second
L=$(leaders 1 2 3)
check "exactly one of the three leads ($L)" 0 '' '' -- sh -c "[ \$(echo $L | wc -w) -eq 1 ]"
LEADER=$(echo "$L" | tr -d ' ')
REST=$(echo "1 2 3" | tr -d "$LEADER")
eval "kill -KILL \$NODE_PID_$LEADER"
t0=$(pg_ms)
NEW=""
while [ -z "$NEW" ] && [ $(($(pg_ms) - t0)) -lt 8000 ]; do
    NEW=$(leaders $REST)
    [ -n "$NEW" ] || sleep 0.1
done
TAKEOVER=$(($(pg_ms) - t0))
echo "# node $LEADER SIGKILLed; node $NEW leads ${TAKEOVER} ms later"
check "SIGKILL the leader: another node leads within 5 s" 0 '' '' -- \
    sh -c "[ -n '$NEW' ] && [ $TAKEOVER -le 5000 ]"
sleep 1.2
L=$(leaders $REST)
check "and exactly one of the two left leads ($L)" 0 '' '' -- sh -c "[ \$(echo $L | wc -w) -eq 1 ]"
stop_nodes # first: tap_done reports what a sanitizer wrote in their logs
tap_done
