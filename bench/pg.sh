#!/bin/sh
# pg.sh - switchyard on PostgreSQL (issue 25): three figures, each printed with a reference
# measured in the same run and the ratio, on one throwaway PostgreSQL 15 cluster
# (tests/integration/pg.sh: initdb into a temporary folder, 127.0.0.1 and a Unix socket
# only, fsync, synchronous_commit and full_page_writes on; stopped when the script ends,
# whichever way). Each measurement gets a fresh database `switchyard`, migrated by
# `switchyard migrate` as its owner; the servers connect as the application role.
#
# 1. Ingest: bench-ingest's batched phase (EVENTS exposures in requests of 1,000 from 4
#    keep-alive connections, each acknowledged after its commit) against a server with a
#    running experiment, and the same number of rows of the same shape (place, workspace,
#    experiment, event id, `exposure`, unit, variant, at_ms) written by one raw
#    `COPY events (...) FROM STDIN` into the same `events` table of a database set up the
#    same way, over TCP like the server, timed by psql. The COPY runs as the superuser
#    `postgres`: PostgreSQL refuses COPY FROM on a table with row-level security for every
#    role that row-level security applies to (events has FORCE ROW LEVEL SECURITY, so its
#    owner too), and a superuser bypasses it. Rounds alternate; best of each.
# 2. OFREP: the same wrk POST (ofrep.sh's: split3, an sdk token, wrk -t1 -cCONNS) against a
#    SQLite-backed node and a PostgreSQL-backed node, both seeded with bench/eval_flags.json,
#    one worker each (wrk takes the other core), alternating rounds, best of each.
# 3. Fan-out: three PostgreSQL-backed nodes on one database; CHANGES flag changes through
#    node 1, each timed from its answer until node 3 serves it (tests/integration/
#    pg_nodes.js's fanout): p50, p99, max. The reference is PostgreSQL's own: as many
#    NOTIFYs between two connections of the same role, each timed from its sending (its
#    commit included) to its arrival (bench-notify). Also printed: the same changes read
#    back on node 1 itself (the same client, requests and polling: what is not fan-out).
#
# 4. Mixed: the same three nodes, each hot path under the others' load. wrk posts OFREP
#    (split3, -cCONNS) to node 3 for SECONDS in each of five phases: quiet (alone); ingest
#    (bench/mixed_load.py offering 100,000 events/s in 2,000-event batches, half to node 1,
#    half to node 2); fan-out (pg_nodes.js fanout: CHANGES/2 flag changes through node 1,
#    each timed until node 3 serves it, polling every 2 ms); both (ingest and fan-out); and
#    ingest alone, without wrk, as the reference of the rows/s written under OFREP. Each
#    phase's requests/s and p99 against quiet's, the rows the events added to the log a
#    second (counted in the table: an exposure that changes nothing, a unit already in its
#    variant, writes none), and the fan-out's p50/p99 against section 3's (quiet).
#
#   bench/pg.sh SWITCHYARD BENCH_INGEST BENCH_NOTIFY [EVENTS] [ROUNDS] [SECONDS] [CHANGES]
#               [CONNECTIONS]
#
# Defaults: 100,000 events, 3 rounds, 5 s a wrk round, 200 changes, 50 connections; about
# two and a half minutes. Loopback only. Not part of `make test` (scripts/deps.sh bench, and the
# PostgreSQL 15 that scripts/deps.sh installs).
set -u
SY=$1
BENCH=$2
NOTIFY=$3
EVENTS=${4:-100000}
ROUNDS=${5:-3}
SECS=${6:-5}
CHANGES=${7:-200}
CONNS=${8:-50}
EVENTS=$((EVENTS - EVENTS % 1000)) # whole requests of 1,000, as bench-ingest sends them
HERE=$(cd "$(dirname "$0")" && pwd)
IT=$HERE/../tests/integration
. "$HERE/common.sh"
needs pg.sh wrk curl jq node awk python3
[ -x "$NOTIFY" ] || { echo "pg.sh: $NOTIFY is missing (built when libpq is found: scripts/deps.sh)" >&2; exit 1; }
# tap.sh gives $TMP and the EXIT trap that runs EXIT_HOOKS, then removes $TMP; pg.sh adds
# pg_stop to them and turns HUP, INT and TERM into that exit.
. "$IT/tap.sh"
. "$IT/pg.sh"

# ---- servers --------------------------------------------------------------------------------
PIDS=""
# start_node NAME DB ARGS...: `switchyard serve` on a free loopback port (log $TMP/NAME.log,
# admin token of a new database in $TMP/NAME.admin); NODE_URL once it listens.
start_node() {
    name=$1 db=$2
    shift 2
    : >"$TMP/$name.log"
    "$SY" serve --listen 127.0.0.1:0 --db "$db" --admin-token-file "$TMP/$name.admin" --quiet \
        "$@" >/dev/null 2>>"$TMP/$name.log" &
    PIDS="$PIDS $!"
    k=0
    while ! grep -q 'event=listening' "$TMP/$name.log"; do
        [ $k -lt 200 ] || die "node $name did not come up within 10 s" "$TMP/$name.log"
        sleep 0.05
        k=$((k + 1))
    done
    NODE_URL=http://127.0.0.1:$(sed -n 's/.* port=\([0-9]*\).*/\1/p' "$TMP/$name.log" | head -1)
}
stop_nodes() {
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
    for p in $PIDS; do wait "$p" 2>/dev/null; done
    PIDS=""
}
# The nodes go before the cluster, the cluster before $TMP.
EXIT_HOOKS="stop_nodes $EXIT_HOOKS"

# die MESSAGE [LOG]: the message and the log's tail on stderr, then exit (the hooks stop all).
die() {
    echo "pg.sh: $1" >&2
    [ $# -lt 2 ] || tail -n 20 "$2" | sed 's/^/# /' >&2
    exit 1
}

pg_start >"$TMP/pg_start.out" 2>&1 || {
    cat "$TMP/pg_start.out" >&2
    exit 1
}
SUPER="host=$PGHOST port=$PGPORT user=postgres password=$PG_PASS_SUPER"

# fresh_db: the database switchyard dropped (the nodes on it stopped first) and made again
# as pg_start makes it, then migrated by its owner.
fresh_db() {
    stop_nodes
    pg_sql "$SUPER dbname=template1" "
DROP DATABASE IF EXISTS switchyard WITH (FORCE);
CREATE DATABASE switchyard OWNER switchyard_owner;
REVOKE ALL ON DATABASE switchyard FROM PUBLIC;
GRANT CONNECT ON DATABASE switchyard TO switchyard_app;
\\connect switchyard
ALTER SCHEMA public OWNER TO switchyard_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO switchyard_app;
" >"$TMP/fresh.log" 2>&1 || die "making the database switchyard again failed" "$TMP/fresh.log"
    "$SY" migrate --db "$PG_URL_OWNER" >"$TMP/migrate.log" 2>&1 ||
        die "switchyard migrate failed" "$TMP/migrate.log"
}

# best FILE: the largest first field of FILE's lines.
best() { sort -g -r "$1" | head -1 | cut -d' ' -f1; }

# ---- 1. ingest ------------------------------------------------------------------------------
# ingest_node: a fresh database and a server on it with the experiment bench running; its
# admin token in TOKEN.
ingest_node() {
    fresh_db
    start_node ingest "$PG_URL_APP"
    TOKEN=$(cat "$TMP/ingest.admin")
    SWITCHYARD_URL=$NODE_URL SWITCHYARD_TOKEN=$TOKEN "$SY" experiment create --key bench \
        --variants a=1,b=1 >"$TMP/exp.log" 2>&1 &&
        SWITCHYARD_URL=$NODE_URL SWITCHYARD_TOKEN=$TOKEN "$SY" experiment start bench \
            >>"$TMP/exp.log" 2>&1 || die "the experiment bench did not start" "$TMP/exp.log"
}

# rows_in_events: how many rows the table events holds (as the superuser: every workspace).
rows_in_events() { pg_sql "$SUPER dbname=switchyard" "SELECT count(*) FROM events"; }

: >"$TMP/server"
: >"$TMP/copy"
r=0
while [ $r -lt "$ROUNDS" ]; do
    ingest_node
    "$BENCH" "$NODE_URL" "$TOKEN" - "$EVENTS" >"$TMP/bench.out" 2>&1 ||
        die "bench-ingest failed" "$TMP/bench.out"
    got=$(rows_in_events)
    [ "$got" = "$EVENTS" ] || die "the server's events table holds $got rows, not $EVENTS"
    awk '/^ingest: batched/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "events/s") print $i }' \
        "$TMP/bench.out" >>"$TMP/server"

    # The same rows into the same table of a database set up the same way: the server is
    # stopped first (it would only idle), the experiment's ids are the server's.
    ingest_node
    stop_nodes
    ids=$(pg_sql "$SUPER dbname=switchyard" "SELECT workspace_id, id FROM experiments WHERE key = 'bench'")
    ws=${ids%|*} exp=${ids#*|}
    at_ms=$(($(date +%s) * 1000))
    {
        printf '\\timing on\n'
        printf 'COPY events (id, workspace_id, experiment_id, event_id, kind, unit, variant, at_ms) FROM STDIN;\n'
        awk -v n="$EVENTS" -v ws="$ws" -v xp="$exp" -v at="$at_ms" 'BEGIN {
            for (u = 0; u < n; u++)
                printf "%d\t%s\t%s\tcopy-e%d\texposure\tcopy-u%d\t%s\t%s\n", u + 1, ws, xp, u, u, u % 2 ? "b" : "a", at }'
        printf '\\.\n'
    } >"$TMP/copy.sql"
    psql_bin=$PG_BIN/psql
    "$psql_bin" -X -q -v ON_ERROR_STOP=1 -d "$PG_URL_SUPER" -f "$TMP/copy.sql" >"$TMP/copy.out" 2>&1 ||
        die "the raw COPY failed" "$TMP/copy.out"
    got=$(rows_in_events)
    [ "$got" = "$EVENTS" ] || die "the COPY left $got rows in events, not $EVENTS"
    awk -v n="$EVENTS" '/^Time:/ { printf "%.0f\n", n / ($2 / 1000) }' "$TMP/copy.out" >>"$TMP/copy"
    r=$((r + 1))
done
stop_nodes
SERVER=$(best "$TMP/server")
COPY=$(best "$TMP/copy")

# ---- 2. OFREP -------------------------------------------------------------------------------
BODY='{"context":{"targetingKey":"user-42","tier":"gold","age":30}}'
FLAG=split3
# ofrep_node NAME DB: a node seeded with eval_flags.json, one worker; sets URL_NAME and the
# wrk script $TMP/NAME.lua posting BODY with an sdk token of its own.
ofrep_node() {
    start_node "$1" "$2" --seed-flags "$HERE/eval_flags.json" --workers 1
    admin=$(cat "$TMP/$1.admin")
    sdk=$(curl -s -X POST -H "Authorization: Bearer $admin" -d '{"role":"sdk","name":"bench"}' \
        "$NODE_URL/v1/tokens" | jq -r .token)
    [ -n "$sdk" ] && [ "$sdk" != null ] || die "node $1 gave no sdk token" "$TMP/$1.log"
    curl -s -X POST -H "Authorization: Bearer $sdk" -d "$BODY" \
        "$NODE_URL/ofrep/v1/evaluate/flags/$FLAG" >"$TMP/$1.answer"
    eval "URL_$1=\$NODE_URL"
    post_lua "$TMP/$1.lua" "$BODY" "$sdk"
}
fresh_db
rm -f "$TMP"/sy.db*
ofrep_node sqlite "$TMP/sy.db"
ofrep_node pg "$PG_URL_APP"
cmp -s "$TMP/sqlite.answer" "$TMP/pg.answer" ||
    die "the two nodes answer differently: $(cat "$TMP/sqlite.answer") / $(cat "$TMP/pg.answer")"
: >"$TMP/ofrep.sqlite"
: >"$TMP/ofrep.pg"
r=0
while [ $r -lt "$ROUNDS" ]; do
    order="sqlite pg"
    [ $((r % 2)) -eq 0 ] || order="pg sqlite" # neither always first
    for side in $order; do
        eval "url=\$URL_$side"
        wrk_post "$url/ofrep/v1/evaluate/flags/$FLAG" "$TMP/$side.lua" "$SECS" "$CONNS" >>"$TMP/ofrep.$side"
    done
    r=$((r + 1))
done
bad=$(cat "$TMP/ofrep.sqlite" "$TMP/ofrep.pg" | awk '{ n += $3 } END { print n + 0 }')
stop_nodes
SQ=$(sort -g -r "$TMP/ofrep.sqlite" | head -1)
PGR=$(sort -g -r "$TMP/ofrep.pg" | head -1)

# ---- 3. fan-out -----------------------------------------------------------------------------
fresh_db
"$SY" workspace create default --db "$PG_URL_APP" >"$TMP/ws.log" 2>&1 ||
    die "switchyard workspace create failed" "$TMP/ws.log"
ADMIN=$("$SY" token create --db "$PG_URL_APP" --role admin --name bench 2>"$TMP/token.log")
[ -n "$ADMIN" ] || die "switchyard token create failed" "$TMP/token.log"
for i in 1 2 3; do
    start_node "node$i" "$PG_URL_APP"
    eval "URL_$i=\$NODE_URL"
done
node "$IT/pg_nodes.js" fanout "$URL_1" "$URL_1" "$ADMIN" "$CHANGES" >"$TMP/local" 2>&1 ||
    die "pg_nodes.js fanout on node 1 failed" "$TMP/local"
node "$IT/pg_nodes.js" fanout "$URL_1" "$URL_3" "$ADMIN" "$CHANGES" >"$TMP/fanout" 2>&1 ||
    die "pg_nodes.js fanout 1 -> 3 failed" "$TMP/fanout"
"$NOTIFY" "$PG_URL_APP" "$CHANGES" >"$TMP/notify" 2>&1 || die "bench-notify failed" "$TMP/notify"

# ---- 4. mixed -------------------------------------------------------------------------------
# The same nodes and database: split3 and an experiment `bench` running (the load's), an
# sdk token for wrk.
curl -s -o "$TMP/seed.json" -X PUT -H "Authorization: Bearer $ADMIN" \
    --data-binary @"$HERE/eval_flags.json" "$URL_1/v1/flagset" || die "seeding the flags failed"
SWITCHYARD_URL=$URL_1 SWITCHYARD_TOKEN=$ADMIN "$SY" experiment create --key bench \
    --variants a=1,b=1 >"$TMP/exp.log" 2>&1 &&
    SWITCHYARD_URL=$URL_1 SWITCHYARD_TOKEN=$ADMIN "$SY" experiment start bench >>"$TMP/exp.log" 2>&1 ||
    die "the experiment bench did not start" "$TMP/exp.log"
sdk=$(curl -s -X POST -H "Authorization: Bearer $ADMIN" -d '{"role":"sdk","name":"mixed"}' \
    "$URL_1/v1/tokens" | jq -r .token)
post_lua "$TMP/mixed.lua" "$BODY" "$sdk"
MIXED_CHANGES=$((CHANGES / 2))
# mixed PHASE WRK INGEST FANOUT (each 0 or 1): appends "PHASE rps p99 non2xx rows/s
# fan_p50 fan_p99 fan_missed" to $TMP/mixed ("-" where not measured)
mixed() {
    lp="" fp=""
    rows0=$(rows_in_events)
    if [ "$3" = 1 ]; then
        python3 "$HERE/mixed_load.py" "$URL_1" "$ADMIN" "$((SECS + 2))" --events-per-s 100000 \
            --batch 2000 --events-url "$URL_1" --events-url "$URL_2" >"$TMP/mixed_load.json" &
        lp=$!
    fi
    if [ "$4" = 1 ]; then
        PG_NODES_POLL_MS=2 node "$IT/pg_nodes.js" fanout "$URL_1" "$URL_3" "$ADMIN" \
            "$MIXED_CHANGES" >"$TMP/mixed_fan" 2>&1 &
        fp=$!
    fi
    [ -z "$lp$fp" ] || sleep 1 # the load is on before wrk measures
    if [ "$2" = 1 ]; then
        w=$(wrk_post "$URL_3/ofrep/v1/evaluate/flags/$FLAG" "$TMP/mixed.lua" "$SECS" "$CONNS")
    else
        sleep "$SECS"
        w="- - 0"
    fi
    ev=- f50=- f99=- fmiss=-
    if [ -n "$lp" ]; then
        wait "$lp" || die "mixed_load.py failed in phase $1"
        ev=$((($(rows_in_events) - rows0) / (SECS + 2)))
    fi
    if [ -n "$fp" ]; then
        wait "$fp" || die "pg_nodes.js fanout failed in phase $1" "$TMP/mixed_fan"
        read -r _ _ _ f50 _ f99 _ _ _ fmiss _ <"$TMP/mixed_fan"
    fi
    echo "$1 $w $ev $f50 $f99 $fmiss" >>"$TMP/mixed"
}
: >"$TMP/mixed"
mixed quiet 1 0 0
mixed ingest 1 1 0
mixed fan-out 1 0 1
mixed both 1 1 1
mixed ingest-alone 0 1 0
stop_nodes
pg_stop

# ---- figures --------------------------------------------------------------------------------
echo "switchyard on PostgreSQL 15 (fsync on; one throwaway cluster on loopback), best of $ROUNDS alternating rounds"
printf '%-52s %14s %14s %8s\n' "" switchyard reference ratio
printf '%-52s %14s %14s %7.2fx\n' "ingest, batched (1000/request, 4 conns) vs raw COPY" \
    "$SERVER" "$COPY" "$(echo "$SERVER $COPY" | awk '{ print $1 / $2 }')"
echo "  events/s, $EVENTS rows each; every round:" \
    "server $(tr '\n' ' ' <"$TMP/server")/ COPY $(tr '\n' ' ' <"$TMP/copy")"
printf '%-52s %14s %14s %7.2fx\n' "OFREP $FLAG requests/s, PostgreSQL vs SQLite node" \
    "$(echo "$PGR" | awk '{ printf "%.0f", $1 }')" "$(echo "$SQ" | awk '{ printf "%.0f", $1 }')" \
    "$(echo "$PGR $SQ" | awk '{ print $1 / $4 }')"
echo "  wrk -t1 -c$CONNS -d${SECS}s, --workers 1; p99 $(echo "$PGR" | cut -d' ' -f2) ms vs" \
    "$(echo "$SQ" | cut -d' ' -f2) ms"
# fanout|notify N p50 P50 p99 P99 max MAX missed M [within100 K p95 P95]
awk -v what="fan-out ms, node 1 -> node 3, vs raw NOTIFY" '
    FILENAME ~ /notify$/ { n50 = $4; n99 = $6; nmax = $8; next }
    FILENAME ~ /local$/ { local = sprintf("p50 %s, p99 %s, max %s", $4, $6, $8); next }
    /^fanout/ { printf "%-52s %14s %14s %7.1fx\n", what " p50", $4, n50, $4 / n50;
                printf "%-52s %14s %14s %7.1fx\n", what " p99", $6, n99, $6 / n99;
                printf "%-52s %14s %14s %7.1fx\n", what " max", $8, nmax, $8 / nmax;
                printf "  %d changes, %s within 100 ms, missed (not served within 2 s): %d; read back on node 1 itself: %s ms\n",
                    $2, $12 == "" ? "?" : $12, $10, local }' \
    "$TMP/notify" "$TMP/local" "$TMP/fanout"
echo "mixed: OFREP ($FLAG, wrk -t1 -c$CONNS -d${SECS}s) on node 3; ingest (offered 100,000 events/s) through nodes 1 and 2; fan-out of $MIXED_CHANGES changes node 1 -> node 3"
printf '  %-13s %10s %7s %6s %6s %9s %7s %7s %6s\n' phase requests/s p99_ms "x rps" "x p99" rows/s fan_p50 fan_p99 missed
awk 'NR == 1 {qr = $2; qp = $3}
     {x = $2 == "-" ? "-" : sprintf("%.2f", $2 / qr); y = $3 == "-" ? "-" : sprintf("%.2f", $3 / qp)
      printf "  %-13s %10s %7s %6s %6s %9s %7s %7s %6s\n", $1, $2 == "-" ? "-" : sprintf("%.0f", $2), $3, x, y, $5, $6, $7, $8}' "$TMP/mixed"
awk '$1 == "ingest" {a = $5} $1 == "ingest-alone" {b = $5} $1 == "both" {c = $5}
     END {if (b > 0) printf "  rows/s written under OFREP: %.2fx alone (%s of %s); under OFREP and fan-out: %.2fx\n", a / b, a, b, c / b}' "$TMP/mixed"
missed=$(awk '/^fanout/ { print $10 }' "$TMP/fanout")
mbad=$(awk '{ n += $4 } END { print n + 0 }' "$TMP/mixed")
mmissed=$(awk '$8 != "-" { n += $8 } END { print n + 0 }' "$TMP/mixed")
[ "$mbad" = 0 ] || die "node 3 answered $mbad non-2xx responses to wrk under load"
[ "$mmissed" = 0 ] || die "$mmissed changes were never served by node 3 under load"
[ "$bad" = 0 ] || die "the nodes answered $bad non-2xx responses to wrk"
[ "$missed" = 0 ] || die "$missed changes were never served by node 3"
