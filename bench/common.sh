# common.sh - what the benchmark scripts share: functions only (those that use TMP read it
# when called). Source it first:
#   . "$(dirname "$0")/common.sh"

# needs SCRIPT TOOL...: exits with a message naming the first tool missing.
needs() {
    script=$1
    shift
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$script: $tool is needed (scripts/deps.sh bench)" >&2; exit 1; }
    done
}

# free_port: a free loopback TCP port.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_sy SWITCHYARD LOG ARGS...: `switchyard serve` on a free loopback port with the
# database and admin token in $TMP and its log in LOG; once it listens, SYPID and SYURL
# are set. Exits (showing the log) when it does not come up within 5 s.
start_sy() {
    sy=$1 log=$2
    shift 2
    # emptied here, before the server starts, not by its redirection: a log left by the
    # server before must not be read as this one's ("listening" on the old port)
    : >"$log"
    "$sy" serve --listen 127.0.0.1:0 --db "$TMP/sy.db" --admin-token-file "$TMP/admin" --quiet \
        "$@" 2>>"$log" &
    SYPID=$!
    k=0
    while ! grep -q 'event=listening' "$log"; do
        [ $k -lt 100 ] || { cat "$log" >&2; exit 1; }
        sleep 0.05
        k=$((k + 1))
    done
    SYURL=http://127.0.0.1:$(sed -n 's/.* port=\([0-9]*\).*/\1/p' "$log" | head -1)
}

# post_lua FILE BODY TOKEN: the wrk script that POSTs BODY (JSON) with TOKEN as its bearer.
post_lua() {
    cat >"$1" <<LUA
wrk.method = "POST"
wrk.body = '$2'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $3"
LUA
}

# wrk_post URL LUA SECONDS CONNECTIONS: wrk -t1 with that many keep-alive connections for
# that long, the request LUA makes (ofrep.sh's POST); prints "requests_per_s p99_ms non2xx".
wrk_post() {
    wrk -t1 -c"$4" -d"${3}s" --latency -s "$2" "$1" >"$TMP/wrk.out" 2>&1
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$TMP/wrk.out")
    p99=$(awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us$/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v *= 1000} print v}' "$TMP/wrk.out")
    errs=$(awk '/Non-2xx/ {print $NF}' "$TMP/wrk.out")
    echo "${rps:-0} ${p99:-0} ${errs:-0}"
}
