#!/bin/sh
# pg_many.sh - three switchyard nodes on one PostgreSQL database holding a thousand workspaces
# (issue 25: with a statement a workspace on every periodic and per-change path, a flag
# change made on node 1 was not served by node 3 after 30 s, and nodes stalled for
# seconds). Every job across workspaces now reads them all in one statement:
# - 1,000 workspaces made by SQL (as an operator's script would, a tenth with a flag, a
#   tenth with a setting, each with its seeded tripwires) before the nodes start: node 1
#   starts, then nodes 2 and 3 (the figures are printed);
# - 20 flag changes on node 1 served by node 3, each within 2 s, the median within 250 ms
#   (p50 and the longest printed; the issue's goal is 100 ms, which pg_nodes measures on a
#   few workspaces; see fanout_check for why these bounds);
# - 1,000 more workspaces made by SQL, then an announcement: the nodes load them all (a
#   token of one is served by node 3 within 5 s, its flag too), and changes still fan out as
#   fast, with the nodes idle meanwhile (the notifier, the board, the leader's timers
#   and the tail each a second);
# - node 2 started again among 2,001 workspaces listens within 10 s (a few seconds here,
#   under ASan).
#
#   pg_many.sh SWITCHYARD
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
"$SY" workspace create default --db "$PG_URL_APP" >/dev/null 2>&1
ADMIN=$("$SY" token create --db "$PG_URL_APP" --role admin --name alice 2>/dev/null)
check "a workspace and its admin token, offline" 0 '' '' -- test -n "$ADMIN"
# many PREFIX: 1,000 workspaces PREFIX1..PREFIX1000, as the superuser (row-level security
# does not hold it), a flag in every tenth and a setting in every tenth, and the tripwire
# policies `switchyard workspace create` seeds (default's, copied): without them a node's
# start seeds them, once a workspace, 8 statements each (operations.md, "Many workspaces").
many() {
    pg_sql "$PG_URL_SUPER" "
INSERT INTO workspaces (name, created_ms) SELECT '$1' || g, 0 FROM generate_series(1, 1000) g;
INSERT INTO flags (workspace_id, key, definition, updated_ms)
  SELECT id, 'f', '{\"state\":\"ENABLED\",\"defaultVariant\":\"on\",\"variants\":{\"on\":true,\"off\":false}}', 0
    FROM workspaces WHERE name LIKE '$1%' AND id % 10 = 0;
INSERT INTO workspace_settings (workspace_id, name, value)
  SELECT id, 'guardrails', '{\"max_step_pct\":7}' FROM workspaces
   WHERE name LIKE '$1%' AND id % 10 = 5;
INSERT INTO regression_policies (workspace_id, domain, metric, window_events, baseline_events,
    min_events_to_enforce, max_drop_fraction, action, measure, enabled, changed_by, reason,
    updated_ms, state)
  SELECT w.id, p.domain, p.metric, p.window_events, p.baseline_events, p.min_events_to_enforce,
         p.max_drop_fraction, p.action, p.measure, p.enabled, p.changed_by, p.reason,
         p.updated_ms, p.state
    FROM workspaces w, regression_policies p
   WHERE w.name LIKE '$1%' AND p.workspace_id = (SELECT id FROM workspaces WHERE name = 'default');
SELECT count(*) FROM workspaces"
}
check "1,000 more workspaces, by SQL" 0 '^1001$' '' -- many many

# start_node I: node I in the background (its log $TMP/nodeI.log); NODE_PORT_I once it
# listens, START_MS how long that took (at most 60 s).
PIDS=""
start_node() {
    [ -f "$TMP/node$1.log" ] && mv -f "$TMP/node$1.log" "$TMP/node$1.log.$(pg_ms)"
    t0=$(pg_ms)
    "$SY" serve --listen 127.0.0.1:0 --db "$PG_URL_APP" --auto-promotion-interval 1 \
        >"$TMP/node$1.out" 2>"$TMP/node$1.log" &
    eval "NODE_PID_$1=$!"
    PIDS="$PIDS $!"
    k=0
    while [ $k -lt 1200 ] && ! grep -qs 'event.*listening' "$TMP/node$1.log" &&
        kill -0 "$(eval "echo \$NODE_PID_$1")" 2>/dev/null; do
        sleep 0.05
        k=$((k + 1))
    done
    START_MS=$(($(pg_ms) - t0))
    eval "NODE_PORT_$1=$(grep 'event.*listening' "$TMP/node$1.log" | head -1 |
        sed -n 's/.*port[=":]*\([0-9][0-9]*\).*/\1/p')"
}
stop_nodes() {
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
    for p in $PIDS; do wait "$p" 2>/dev/null; done
    PIDS=""
    for f in "$TMP"/node[123].log*; do
        if grep -q 'Sanitizer\|runtime error:' "$f" 2>/dev/null; then
            grep -A30 'Sanitizer\|runtime error:' "$f" >>"$TMP/sanitizer"
        fi
    done
}
EXIT_HOOKS="stop_nodes $EXIT_HOOKS"
url() { eval "echo http://127.0.0.1:\$NODE_PORT_$1"; }

start_node 1
echo "# node 1 listened $START_MS ms after it started"
check "node 1 starts among 1,001 workspaces" 0 '' '' -- test -n "$NODE_PORT_1"
start_node 2
echo "# node 2 listened after $START_MS ms"
start_node 3
echo "# node 3 listened after $START_MS ms"
check "nodes 2 and 3 start too" 0 '' '' -- sh -c "[ -n '$NODE_PORT_2' ] && [ -n '$NODE_PORT_3' ]"

# fanout_check NAME: 20 flag changes on node 1, each served by node 3 within 2 s (none
# missed), half of them within 250 ms. On a quiet machine the release build serves them in
# tens of milliseconds; the ASan build beside other tests (a load of 15 on two cores) 75 to
# 100 ms at the median and, now and then, a change 0.7 to 1.2 s late; before, 15 of 20 were
# not served within 2 s among 1,001 workspaces, and none among 2,001.
fanout_check() {
    node "$HERE/pg_nodes.js" fanout "$(url 1)" "$(url 3)" "$ADMIN" 20 >"$TMP/fanout" 2>&1
    echo "# node 1 -> node 3: $(cat "$TMP/fanout")"
    check "$1" 0 '' '' -- awk '/^fanout 20 /{ok = $10 == 0 && $4 + 0 <= 250} END{exit !ok}' \
        "$TMP/fanout"
}
fanout_check "20 flag changes on node 1 served by node 3 within 2 s, the median within 250 ms, among 1,001 workspaces"

# 1,000 more, made while the nodes run, then an announcement (what `switchyard workspace
# create` sends): every node compares its workspaces with the store and loads the new ones.
check "1,000 more workspaces, by SQL, while the nodes run" 0 '^2001$' '' -- many more
pg_sql "$PG_URL_SUPER" "NOTIFY switchyard, '1 workspace 0'"
T=$("$SY" token create --db "$PG_URL_APP" --workspace more999 --role admin --name z 2>/dev/null)
t0=$(pg_ms)
st=""
while [ "$st" != 200 ] && [ $(($(pg_ms) - t0)) -lt 5000 ]; do
    st=$(curl -s -o "$TMP/flags" -w '%{http_code}' -H "Authorization: Bearer $T" "$(url 3)/v1/flags")
    [ "$st" = 200 ] || sleep 0.05
done
echo "# a token of the one before last (a flag of its own) served by node 3 $(($(pg_ms) - t0)) ms after it was made"
check "node 3 serves one of them, its flag as stored, within 5 s" 0 '' '' -- \
    sh -c "[ '$st' = 200 ] && jq -e '.flags | length == 1' '$TMP/flags' >/dev/null"
sleep 2 # every node idle a while among 2,001 workspaces: its timers, notifier and board
fanout_check "and 20 more changes among 2,001 workspaces: within 2 s, the median within 250 ms"

kill -TERM "$NODE_PID_2"
wait "$NODE_PID_2" 2>/dev/null
start_node 2
echo "# node 2, started again among 2,001 workspaces, listened after $START_MS ms"
check "node 2 started again among 2,001 workspaces listens within 10 s ($START_MS ms)" 0 '' '' -- \
    sh -c "[ -n '$NODE_PORT_2' ] && [ $START_MS -le 10000 ]"
stop_nodes
tap_done
