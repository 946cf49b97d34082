#!/bin/sh
# ofrep.sh - OFREP single-flag evaluations per second and p99 latency of `switchyard serve`,
# against nginx answering a static JSON body of the same size, in the same run, both on
# loopback, both driven by wrk with the same POST.
#
#   bench/ofrep.sh SWITCHYARD [SECONDS] [ROUNDS] [CONNECTIONS]
#
# Two rows: one worker each (switchyard --workers 1, nginx worker_processes 1), then two
# each. wrk runs one thread with CONNECTIONS (default 50) keep-alive connections. Rounds
# alternate (default 3) and each side's best round is reported (this shared machine
# swings); the ratio is switchyard's requests/s over nginx's in the same row.
set -eu
SY=$1
SECS=${2:-10}
ROUNDS=${3:-3}
CONNS=${4:-50}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
needs ofrep.sh wrk nginx curl jq
TMP=$(mktemp -d)
SYPID="" NGPID=""
stop_both() {
    [ -n "$SYPID" ] && kill -TERM "$SYPID" 2>/dev/null && wait "$SYPID" 2>/dev/null
    [ -n "$NGPID" ] && kill -QUIT "$NGPID" 2>/dev/null && wait "$NGPID" 2>/dev/null
    SYPID="" NGPID=""
}
cleanup() {
    stop_both
    rm -rf "$TMP"
}
trap cleanup EXIT
BODY='{"context":{"targetingKey":"user-42","tier":"gold","age":30}}'
FLAG=split3

# start WORKERS: switchyard with that many workers and nginx with as many processes,
# answering the same bytes; sets SYURL, NGURL, TOKEN, SIZE, NGSIZE.
start() {
    rm -f "$TMP"/sy.db*
    start_sy "$SY" "$TMP/sy.log" --seed-flags "$HERE/eval_flags.json" --workers "$1"
    ADMIN=$(cat "$TMP/admin")
    TOKEN=$(curl -s -X POST -H "Authorization: Bearer $ADMIN" -d '{"role":"sdk","name":"bench"}' \
        "$SYURL/v1/tokens" | jq -r .token)
    curl -s -X POST -H "Authorization: Bearer $TOKEN" -d "$BODY" \
        "$SYURL/ofrep/v1/evaluate/flags/$FLAG" >"$TMP/answer.json"
    SIZE=$(wc -c <"$TMP/answer.json")
    NGPORT=$(free_port)
    rm -rf "$TMP/ng"
    mkdir -p "$TMP/ng"
    cat >"$TMP/ng/nginx.conf" <<NGINX
worker_processes $1;
daemon off;
pid $TMP/ng/nginx.pid;
error_log $TMP/ng/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $TMP/ng;
    proxy_temp_path $TMP/ng;
    fastcgi_temp_path $TMP/ng;
    uwsgi_temp_path $TMP/ng;
    scgi_temp_path $TMP/ng;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$NGPORT;
        location / {
            default_type application/json;
            return 200 '$(cat "$TMP/answer.json")';
        }
    }
}
NGINX
    nginx -c "$TMP/ng/nginx.conf" -p "$TMP/ng" 2>"$TMP/ng/start.log" &
    NGPID=$!
    sleep 0.3
    NGURL=http://127.0.0.1:$NGPORT
    NGSIZE=$(curl -s -X POST -d "$BODY" "$NGURL/ofrep/v1/evaluate/flags/$FLAG" | wc -c)
    post_lua "$TMP/post.lua" "$BODY" "$TOKEN"
}

# run URL -> "requests_per_s p99_ms non2xx"
run() { wrk_post "$1" "$TMP/post.lua" "$SECS" "$CONNS"; }

: >"$TMP/rows"
bad=0
for workers in 1 2; do
    start "$workers"
    best_sy="0 0 0" best_ng="0 0 0"
    r=0
    while [ "$r" -lt "$ROUNDS" ]; do
        a=$(run "$SYURL/ofrep/v1/evaluate/flags/$FLAG")
        b=$(run "$NGURL/ofrep/v1/evaluate/flags/$FLAG")
        set -- $a
        bad=$((bad + $3))
        best_sy=$(printf '%s\n%s\n' "$best_sy" "$a" | sort -g -r | head -1)
        best_ng=$(printf '%s\n%s\n' "$best_ng" "$b" | sort -g -r | head -1)
        r=$((r + 1))
    done
    echo "$workers $best_sy $best_ng" >>"$TMP/rows"
    stop_both
done
echo "OFREP single-flag evaluation ($FLAG, 3-way fractional), wrk -t1 -c$CONNS -d${SECS}s, POST $SIZE-byte answer"
echo "(nginx answers the same $NGSIZE bytes from its config), best of $ROUNDS alternating rounds"
printf '%-8s %14s %8s %14s %8s %8s\n' workers switchyard_rps p99_ms nginx_rps p99_ms ratio
awk '{printf "%-8s %14.0f %8.3f %14.0f %8.3f %7.2fx\n", $1, $2, $3, $5, $6, $2 / $5}' "$TMP/rows"
if [ "$bad" != "0" ]; then
    echo "switchyard answered $bad non-2xx responses" >&2
    exit 1
fi
