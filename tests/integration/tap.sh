# tap.sh - what the integration scripts share: a scratch folder, the store, TAP checks, and
# starting and stopping a server.
#
# Source it after setting the script's own variables:  . "$(dirname "$0")/tap.sh"
# Then `check NAME STATUS OUT_PATTERN ERR_PATTERN -- COMMAND...` runs COMMAND and prints
# "ok N - NAME" when it exits with STATUS and its stdout/stderr match the (extended)
# patterns ("" matches anything), else "not ok" with the output as TAP comments. End with
# `tap_done`, which prints the plan and returns non-zero if anything failed.
#
# The store: every script passes "$DB" to --db (start_server does) and reads or changes the
# store only through db_sql, db_reset and db_copy (below), so that the same script runs on
# either backend (issue 25: the whole suite once on PostgreSQL, pg_suite). BACKEND says which:
#   sqlite (the default): DB is $TMP/sy.db.
#   postgres (SY_TEST_BACKEND=postgres in the environment): pg.sh's throwaway cluster,
#     started once here, migrated as the owner role by `$SY_TEST_SWITCHYARD migrate` (the
#     binary's path; the script's $SY when the variable is unset), DB its application role's
#     URL; pg.sh's exit hook stops the cluster. It
#     prints two checks of its own first (the start and the migration).
# SQL that is not portable (json_set) is written for each: if [ "$BACKEND" = postgres ].
TMP=$(mktemp -d)
# EXIT_HOOKS: functions a sourced helper adds (pg.sh's pg_stop), run at exit after the
# server is stopped (a server outliving its PostgreSQL would only log its lost connection)
# and before $TMP is removed. A script that sets an EXIT trap of its own ends it with
# tap_exit, so that the hooks run (and the cluster never outlives the script).
EXIT_HOOKS=""
tap_exit() {
    stop_server
    log_keep
    for hook in $EXIT_HOOKS; do "$hook"; done
    rm -rf "$TMP"
}
trap tap_exit EXIT

# start_server SWITCHYARD ARGS...: `switchyard serve` on $DB and a free loopback
# port (stdout to $TMP/stdout, log to $TMP/log); sets PID, PORT and URL once it listens.
# stop_server: SIGTERM, wait, and its exit status in STOP_STATUS.
# A sanitizer's report in a server's log (AddressSanitizer, UndefinedBehaviorSanitizer,
# ThreadSanitizer's data races) is kept before the log is stopped or started again, and
# fails the script in tap_done, whichever of its servers wrote it.
# SY_TEST_LOG_DIR=DIR in the environment (pg_suite sets it) keeps every server's log, in
# DIR/SCRIPT.log, one after the other, for whoever runs the script to read after it.
PID=""
sanitizer_scan() {
    if [ -f "$TMP/log" ] && grep -q 'Sanitizer\|runtime error:' "$TMP/log"; then
        grep -A40 'Sanitizer\|runtime error:' "$TMP/log" >>"$TMP/sanitizer"
    fi
}
# log_keep: the log into SY_TEST_LOG_DIR, once: before start_server empties it, and at exit.
log_keep() {
    if [ -n "${SY_TEST_LOG_DIR:-}" ] && [ -s "$TMP/log" ]; then
        cat "$TMP/log" >>"$SY_TEST_LOG_DIR/$(basename "$0" .sh).log"
    fi
}
start_server() {
    sy=$1
    shift
    sanitizer_scan
    log_keep
    : >"$TMP/log"
    "$sy" serve --listen 127.0.0.1:0 --db "$DB" "$@" >"$TMP/stdout" 2>"$TMP/log" &
    PID=$!
    i=0
    while [ $i -lt 200 ] && ! grep -q 'event.*listening' "$TMP/log"; do
        kill -0 "$PID" 2>/dev/null || break # it ended: no use waiting out the 10 s
        sleep 0.05
        i=$((i + 1))
    done
    PORT=$(sed -n 's/.*port[=":]*\([0-9][0-9]*\).*/\1/p' "$TMP/log" | head -1)
    URL=http://127.0.0.1:$PORT
    if [ -z "$PORT" ]; then
        echo "# the server is not listening; the tail of its log:"
        tail -n 5 "$TMP/log" | sed 's/^/#   /'
    fi
}
stop_server() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
        STOP_STATUS=$?
        PID=""
    fi
    sanitizer_scan
}

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
# tap_from NAME COMMAND...: runs a script that prints TAP of its own and passes its checks on
# (tap_relay), and fails one more check when it exited non-zero with none failed.
tap_from() {
    name=$1
    shift
    "$@" >"$TMP/tap_from"
    status=$?
    tap_relay "" "$TMP/tap_from"
    if [ "$status" -ne 0 ] && ! grep -q '^not ok' "$TMP/tap_from"; then
        n=$((n + 1))
        failed=$((failed + 1))
        echo "not ok $n - $name exited $status"
    fi
}
# tap_relay PREFIX FILE: the checks of the TAP in FILE as ours, numbered on from n (a
# script's own numbers would clash with the checks printed before them: pg.sh's, or another
# script's), their names prefixed with PREFIX, counted in n and failed; comments passed on,
# its plan left out (ours comes last).
tap_relay() {
    awk -v n="$n" -v p="$1" -v counts="$TMP/tap_relay.n" '
        /^ok([ \t]|$)/ {
            sub(/^ok[ \t]*[0-9]*[ \t]*(-[ \t]*)?/, "")
            print "ok " ++n " - " p $0
            next
        }
        /^not ok([ \t]|$)/ {
            sub(/^not ok[ \t]*[0-9]*[ \t]*(-[ \t]*)?/, "")
            print "not ok " ++n " - " p $0
            f++
            next
        }
        /^[0-9]+\.\.[0-9]+/ { next }
        { print }
        END { print n, f + 0 >counts }' "$2"
    read -r n relayed_failed <"$TMP/tap_relay.n"
    failed=$((failed + relayed_failed))
}
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; sed 's/^/# /' "$TMP/out" "$TMP/err" 2>/dev/null | head -20; }
# jq_check NAME FILE JQ-TEST: ok when jq prints true of FILE, else FILE is shown.
jq_check() { # NAME FILE JQ-TEST
    if [ "$(jq -r "$3" "$2" 2>&1)" = "true" ]; then ok "$1"; else
        cp "$2" "$TMP/out"
        echo "# jq test failed: $3" >"$TMP/err"
        not_ok "$1"
    fi
}

# check NAME EXPECTED_STATUS PATTERN_IN_STDOUT PATTERN_IN_STDERR -- COMMAND...
check() {
    name=$1 want=$2 out_pat=$3 err_pat=$4
    shift 5
    "$@" >"$TMP/out" 2>"$TMP/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "# exit status $got, want $want" >>"$TMP/err"
        not_ok "$name"
    elif [ -n "$out_pat" ] && ! grep -Eq -- "$out_pat" "$TMP/out"; then
        echo "# stdout lacks /$out_pat/" >>"$TMP/err"
        not_ok "$name"
    elif [ -n "$err_pat" ] && ! grep -Eq -- "$err_pat" "$TMP/err"; then
        echo "# stderr lacks /$err_pat/" >>"$TMP/err"
        not_ok "$name"
    else
        ok "$name"
    fi
}

# The HTTP helpers need $URL (start_server sets it).
# req METHOD PATH TOKEN [BODY] [EXTRA CURL ARGS...]: body to $TMP/body, status to stdout.
req() {
    m=$1 p=$2 t=$3
    shift 3
    body=""
    if [ $# -gt 0 ]; then
        body=$1
        shift
    fi
    if [ -n "$t" ]; then
        set -- -H "Authorization: Bearer $t" "$@"
    fi
    if [ -n "$body" ]; then
        set -- -H 'Content-Type: application/json' --data-binary "$body" "$@"
    fi
    curl -s -o "$TMP/body" -w '%{http_code}' -X "$m" "$@" "$URL$p"
}

# expect NAME STATUS JQ_TEST -- METHOD PATH TOKEN [BODY]: the status, and a jq test on the
# body that must print true.
expect() {
    name=$1 want=$2 test=$3
    shift 4
    got=$(req "$@")
    if [ "$got" != "$want" ]; then
        echo "# $*: status $got, want $want" >"$TMP/err"
        cp "$TMP/body" "$TMP/out"
        not_ok "$name"
    elif [ -n "$test" ] && [ "$(jq -r "$test" "$TMP/body" 2>&1)" != "true" ]; then
        echo "# jq test failed: $test" >"$TMP/err"
        cp "$TMP/body" "$TMP/out"
        not_ok "$name"
    else
        ok "$name"
    fi
}

# poll JQ_TEST PATH TOKEN [TRIES]: GETs PATH every 0.1 s until the jq test on its body
# prints true (status 0), at most TRIES times (default 50: 5 s).
poll() {
    tries=${4:-50}
    k=0
    while [ $k -lt "$tries" ]; do
        req GET "$2" "$3" >/dev/null
        [ "$(jq -r "$1" "$TMP/body" 2>/dev/null)" = "true" ] && return 0
        sleep 0.1
        k=$((k + 1))
    done
    return 1
}

# wait_file FILE: until FILE holds something (a child has printed its port), up to 5 s.
wait_file() {
    k=0
    while [ $k -lt 100 ] && [ ! -s "$1" ]; do
        sleep 0.05
        k=$((k + 1))
    done
}

# The proxy tests' helpers ($HERE is the caller's folder, beside upstream.js).
# upstream NAME [DELAY_MS] [FAIL_FILE] [PORT]: a node upstream (upstream.js: answers after
# DELAY_MS, a 503 while FAIL_FILE exists, on PORT or a free one); its port in
# $TMP/NAME.port, its pid in $TMP/NAME.pid. stop_upstreams: every one of them.
upstream() {
    # an old port file (an upstream started again on its port) would end the wait at once,
    # before the shell below truncates it: remove it first
    rm -f "$TMP/$1.port"
    node "$HERE/upstream.js" "${4:-0}" "$1" "${2:-0}" "${3:-}" >"$TMP/$1.port" &
    echo $! >"$TMP/$1.pid"
    wait_file "$TMP/$1.port"
}
stop_upstreams() {
    for f in "$TMP"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
}
# two_workspaces SWITCHYARD: a database of two workspaces, "default" and "other", and
# tokens into ADMIN, EDITOR, VIEWER and SDK (default's) and OTHER (an admin of other's);
# ERR, the jq test of the error shape.
two_workspaces() {
    "$1" workspace create default --db "$DB" >/dev/null
    "$1" workspace create other --db "$DB" >/dev/null
    ADMIN=$("$1" token create --db "$DB" --role admin --name alice)
    EDITOR=$("$1" token create --db "$DB" --role editor --name ed)
    VIEWER=$("$1" token create --db "$DB" --role viewer --name val)
    SDK=$("$1" token create --db "$DB" --role sdk --name app)
    OTHER=$("$1" token create --db "$DB" --workspace other --role admin --name olga)
    ERR='.error.code != null and .error.message != null and .error.field != null'
}
# free_port: a free loopback TCP port.
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# db_sql SQL: SQL on the store whatever the backend, printed as sqlite3 prints it: a row a
# line, columns separated by |, NULL as nothing. SQLite: sqlite3 on the file. PostgreSQL:
# psql as the superuser (PG_URL_SUPER), which row-level security does not hold, as it does
# not hold sqlite3; booleans print t/f there (CAST them to INTEGER for 1/0 on both), and an
# error exits 3. db_sql_at STORE SQL: the same on another store (one db_copy made).
db_sql() { db_sql_at "$DB" "$1"; }
db_sql_at() {
    if [ "$BACKEND" = postgres ]; then
        pg_sql "${PG_URL_SUPER%/*}/${1##*/}" "$2"
    else
        sqlite3 "$1" "$2"
    fi
}
# db_reset: an empty store again, as a new one a server has never opened (the server
# stopped). SQLite: the file and its -wal and -shm removed. PostgreSQL: the schema dropped
# and made again as pg.sh made it, then migrated (an operator migrates a new database
# before its first server: the server's role cannot). On failure, what went wrong as TAP
# comments and non-zero (the server started next fails the checks).
db_reset() {
    if [ "$BACKEND" = postgres ]; then
        pg_sql "$PG_URL_SUPER" "DROP SCHEMA public CASCADE;
            CREATE SCHEMA public AUTHORIZATION switchyard_owner;
            REVOKE ALL ON SCHEMA public FROM PUBLIC;
            GRANT USAGE ON SCHEMA public TO switchyard_app;" >"$TMP/db_reset.log" 2>&1 &&
            "$SY_TEST_SWITCHYARD" migrate --db "$PG_URL_OWNER" >>"$TMP/db_reset.log" 2>&1 ||
            db_said "db_reset" "$TMP/db_reset.log"
    else
        rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-journal"
    fi
}
# db_copy NAME: a copy of the store (the server stopped) as a store of its own, and what
# --db takes to open it on stdout. SQLite: cp to $TMP/NAME.db. PostgreSQL: a database NAME
# made from the store's as its template, owned and granted as pg.sh's. On failure, as
# db_reset (the comments on stderr: stdout is the caller's).
db_copy() {
    if [ "$BACKEND" = postgres ]; then
        pg_sql "${PG_URL_SUPER%/*}/template1" "CREATE DATABASE $1 TEMPLATE switchyard
            OWNER switchyard_owner;
            REVOKE ALL ON DATABASE $1 FROM PUBLIC;
            GRANT CONNECT ON DATABASE $1 TO switchyard_app;" >"$TMP/db_copy.log" 2>&1 ||
            { db_said "db_copy $1" "$TMP/db_copy.log" >&2; return 1; }
        echo "${PG_URL_APP%/*}/$1"
    else
        cp "$DB" "$TMP/$1.db" && echo "$TMP/$1.db"
    fi
}
# db_said WHAT LOG: WHAT failed, with LOG's tail, as TAP comments; false.
db_said() {
    echo "# $1 failed:"
    tail -n 5 "$2" | sed 's/^/#   /'
    return 1
}

tap_done() {
    stop_server
    if [ -s "$TMP/sanitizer" ]; then
        n=$((n + 1))
        failed=$((failed + 1))
        echo "not ok $n - a sanitizer reported something in a server's log"
        head -60 "$TMP/sanitizer" | sed 's/^/# /'
    fi
    echo "1..$n"
    [ "$failed" -eq 0 ]
}

BACKEND=${SY_TEST_BACKEND:-sqlite}
DB=$TMP/sy.db
case "$BACKEND" in
sqlite) ;;
postgres)
    SY_TEST_SWITCHYARD=${SY_TEST_SWITCHYARD:-${SY:-}}
    . "$(dirname "$0")/pg.sh"
    pg_start || {
        tap_done
        exit 1
    }
    check "the store migrated as its owner (switchyard migrate)" 0 "" "" -- \
        "$SY_TEST_SWITCHYARD" migrate --db "$PG_URL_OWNER"
    [ "$failed" -eq 0 ] || {
        tap_done
        exit 1
    }
    rm -f "$TMP/out" "$TMP/err" # the migration's, which a script's first failure would show
    DB=$PG_URL_APP
    ;;
*)
    not_ok "SY_TEST_BACKEND is sqlite or postgres, not $BACKEND"
    tap_done
    exit 1
    ;;
esac
