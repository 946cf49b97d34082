#!/bin/sh
# pg_many.sh - what many workspaces cost three nodes on one PostgreSQL database (issue 25):
# the statements each path runs, counted by PostgreSQL's pg_stat_statements (preloaded into
# the throwaway cluster of tests/integration/pg.sh, which is restarted for it), and the
# times a node takes to start and a flag change to reach another node.
#
# N workspaces made by SQL, then: node 1's start (its first: it seeds their tripwires), 10 s
# of three idle nodes, 20 flag changes on node 1 served by node 3 (pg_nodes.js fanout),
# N more workspaces and their announcement, a forged announcement, 20 more changes, node 2
# started again. After each, the statements of the application role: their total and the
# TOP (8) most called, with their calls and total milliseconds.
#
#   bench/pg_many.sh SWITCHYARD [N]     (N: 1000)
set -u
SY=$1; N=${2:-1000}
HERE=$(cd "$(dirname "$0")/../tests/integration" && pwd)
. "$HERE/tap.sh"
. "$HERE/pg.sh"
pg_start || { tap_done; exit 1; }
echo "shared_preload_libraries = 'pg_stat_statements'" >> "$PG_DATA/postgresql.conf"
echo "pg_stat_statements.track = all" >> "$PG_DATA/postgresql.conf"
(cd "$TMP/pg" && pg_as "$PG_BIN/pg_ctl" restart -D "$PG_DATA" -l "$PG_LOG" -w -t 20 -o "-p $PGPORT") >/dev/null 2>&1
pg_sql "$PG_URL_SUPER" "CREATE EXTENSION pg_stat_statements"
"$SY" migrate --db "$PG_URL_OWNER" >/dev/null
"$SY" workspace create default --db "$PG_URL_APP" >/dev/null
ADMIN=$("$SY" token create --db "$PG_URL_APP" --role admin --name alice)
pg_sql "$PG_URL_SUPER" "INSERT INTO workspaces(name, created_ms) SELECT 'many' || g, 0 FROM generate_series(1, $N) g"
stats() { # TITLE
  echo "== $1"
  pg_sql "$PG_URL_SUPER" "SELECT sum(calls) FROM pg_stat_statements WHERE userid = 'switchyard_app'::regrole" | sed 's/^/total calls: /'
  pg_sql "$PG_URL_SUPER" "SELECT calls, round(total_exec_time) ms, left(regexp_replace(query, '\s+', ' ', 'g'), 110) FROM pg_stat_statements WHERE userid = 'switchyard_app'::regrole ORDER BY calls DESC LIMIT ${TOP:-8}"
  pg_sql "$PG_URL_SUPER" "SELECT pg_stat_statements_reset()" >/dev/null
}
PIDS=""
start_node() {
  t0=$(pg_ms)
  "$SY" serve --listen 127.0.0.1:0 --db "$PG_URL_APP" --auto-promotion-interval 1 >"$TMP/node$1.out" 2>"$TMP/node$1.log" &
  eval "NODE_PID_$1=$!"; PIDS="$PIDS $!"
  k=0; while [ $k -lt 6000 ] && ! grep -qs 'event.*listening' "$TMP/node$1.log"; do sleep 0.02; k=$((k+1)); done
  eval "NODE_PORT_$1=$(grep 'event.*listening' "$TMP/node$1.log" | head -1 | sed -n 's/.*port[=":]*\([0-9][0-9]*\).*/\1/p')"
  echo "node $1 listening after $(($(pg_ms) - t0)) ms"
}
stop_nodes() { for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done; for p in $PIDS; do wait "$p" 2>/dev/null; done; PIDS=""; }
EXIT_HOOKS="stop_nodes $EXIT_HOOKS"
url() { eval "echo http://127.0.0.1:\$NODE_PORT_$1"; }
pg_sql "$PG_URL_SUPER" "SELECT pg_stat_statements_reset()" >/dev/null
start_node 1
stats "start of node 1 with $N+1 workspaces"
start_node 2; start_node 3
pg_sql "$PG_URL_SUPER" "SELECT pg_stat_statements_reset()" >/dev/null
sleep 10
stats "10 s idle, 3 nodes"
node "$HERE/pg_nodes.js" fanout "$(url 1)" "$(url 3)" "$ADMIN" 20
stats "20 flag changes node1 -> node3"
pg_sql "$PG_URL_SUPER" "INSERT INTO workspaces(name, created_ms) SELECT 'more' || g, 0 FROM generate_series(1, $N) g; NOTIFY switchyard, '1 workspace 0'"
sleep 5
stats "$N more workspaces + NOTIFY, 5 s"
pg_sql "$PG_URL_SUPER" "NOTIFY switchyard, '1 served 999999'"
sleep 3
stats "a forged announcement, 3 s"
node "$HERE/pg_nodes.js" fanout "$(url 1)" "$(url 3)" "$ADMIN" 20
stats "20 flag changes node1 -> node3"
t0=$(pg_ms); kill -TERM $NODE_PID_2; wait $NODE_PID_2; start_node 2
stats "restart of node 2"
uptime
stop_nodes
tap_done
