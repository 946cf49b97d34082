# tap.sh - what the integration scripts share: a scratch folder, TAP checks, and starting
# and stopping a server.
#
# Source it after setting the script's own variables:  . "$(dirname "$0")/tap.sh"
# Then `check NAME STATUS OUT_PATTERN ERR_PATTERN -- COMMAND...` runs COMMAND and prints
# "ok N - NAME" when it exits with STATUS and its stdout/stderr match the (extended)
# patterns ("" matches anything), else "not ok" with the output as TAP comments. End with
# `tap_done`, which prints the plan and returns non-zero if anything failed.
TMP=$(mktemp -d)
# EXIT_HOOKS: functions a sourced helper adds (pg.sh's pg_stop), run at exit before the
# server is stopped and $TMP removed.
EXIT_HOOKS=""
tap_exit() {
    for hook in $EXIT_HOOKS; do "$hook"; done
    stop_server
    rm -rf "$TMP"
}
trap tap_exit EXIT

# start_server SWITCHYARD ARGS...: `switchyard serve` on $TMP/sy.db and a free loopback
# port (stdout to $TMP/stdout, log to $TMP/log); sets PID, PORT and URL once it listens.
# stop_server: SIGTERM, wait, and its exit status in STOP_STATUS.
# A sanitizer's report in a server's log (AddressSanitizer, UndefinedBehaviorSanitizer,
# ThreadSanitizer's data races) is kept before the log is stopped or started again, and
# fails the script in tap_done, whichever of its servers wrote it.
PID=""
sanitizer_scan() {
    if [ -f "$TMP/log" ] && grep -q 'Sanitizer\|runtime error:' "$TMP/log"; then
        grep -A40 'Sanitizer\|runtime error:' "$TMP/log" >>"$TMP/sanitizer"
    fi
}
start_server() {
    sy=$1
    shift
    sanitizer_scan
    : >"$TMP/log"
    "$sy" serve --listen 127.0.0.1:0 --db "$TMP/sy.db" "$@" >"$TMP/stdout" 2>"$TMP/log" &
    PID=$!
    i=0
    while [ $i -lt 200 ] && ! grep -q 'event.*listening' "$TMP/log"; do
        sleep 0.05
        i=$((i + 1))
    done
    PORT=$(sed -n 's/.*port[=":]*\([0-9][0-9]*\).*/\1/p' "$TMP/log" | head -1)
    URL=http://127.0.0.1:$PORT
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
# tap_from NAME COMMAND...: runs a script that prints TAP of its own, passes its checks on
# without its plan (ours comes last), counts them in n and failed, and fails one more
# check when it exited non-zero with none failed.
tap_from() {
    name=$1
    shift
    "$@" >"$TMP/tap_from"
    status=$?
    grep -v '^1\.\.' "$TMP/tap_from"
    n=$((n + $(grep -c '^ok\|^not ok' "$TMP/tap_from")))
    failed=$((failed + $(grep -c '^not ok' "$TMP/tap_from")))
    if [ "$status" -ne 0 ] && ! grep -q '^not ok' "$TMP/tap_from"; then
        n=$((n + 1))
        failed=$((failed + 1))
        echo "not ok $n - $name exited $status"
    fi
}
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; sed 's/^/# /' "$TMP/out" "$TMP/err" 2>/dev/null | head -20; }
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
# free_port: a free loopback TCP port.
# two_workspaces SWITCHYARD: a database of two workspaces, "default" and "other", and
# tokens into ADMIN, EDITOR, VIEWER and SDK (default's) and OTHER (an admin of other's);
# ERR, the jq test of the error shape.
two_workspaces() {
    "$1" workspace create default --db "$TMP/sy.db" >/dev/null
    "$1" workspace create other --db "$TMP/sy.db" >/dev/null
    ADMIN=$("$1" token create --db "$TMP/sy.db" --role admin --name alice)
    EDITOR=$("$1" token create --db "$TMP/sy.db" --role editor --name ed)
    VIEWER=$("$1" token create --db "$TMP/sy.db" --role viewer --name val)
    SDK=$("$1" token create --db "$TMP/sy.db" --role sdk --name app)
    OTHER=$("$1" token create --db "$TMP/sy.db" --workspace other --role admin --name olga)
    ERR='.error.code != null and .error.message != null and .error.field != null'
}
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

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
