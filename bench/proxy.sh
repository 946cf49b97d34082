#!/bin/sh
# proxy.sh - the splitting proxy against nginx doing the same job, in one run on loopback:
# wrk against (1) the upstream directly, (2) nginx with split_clients + proxy_pass +
# upstream keep-alive, (3) switchyard's proxy, at the same connections and percentage.
# The upstreams are nginx itself answering a small static body (so that they are not what
# is measured). Each proxy gets one worker (nginx: worker_processes 1; switchyard:
# --proxy-workers 1); wrk runs one thread. Rounds alternate; each side's median round (by
# requests/s) is reported, with the CPU time its process spent per request in that round
# (utime + stime from /proc: what the machine's noise moves least), the best rounds'
# ratio, and the median of each round's ratio to the nginx round run just before it.
# PROXY_BENCH_ROUNDS=1 prints every round on stderr.
#
#   bench/proxy.sh SWITCHYARD [SECONDS] [ROUNDS] [CONNECTIONS] [PERCENTAGE]
set -eu
SY=$1
SECS=${2:-10}
ROUNDS=${3:-3}
CONNS=${4:-50}
PCT=${5:-50}
. "$(dirname "$0")/common.sh"
needs proxy.sh wrk nginx curl jq python3
TMP=$(mktemp -d)
SYPID="" UPPID="" NGPID=""
cleanup() {
    [ -n "$SYPID" ] && kill -TERM "$SYPID" 2>/dev/null && wait "$SYPID" 2>/dev/null
    [ -n "$UPPID" ] && kill -QUIT "$UPPID" 2>/dev/null
    [ -n "$NGPID" ] && kill -QUIT "$NGPID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
LEGACY=$(free_port) NEW=$(free_port) NGPROXY=$(free_port) SYPROXY=$(free_port)

nginx_conf() { # DIR SERVERS...: a one-worker nginx with these server blocks
    mkdir -p "$1"
    cat >"$1/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $1/nginx.pid;
error_log $1/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $1;
    proxy_temp_path $1;
    fastcgi_temp_path $1;
    uwsgi_temp_path $1;
    scgi_temp_path $1;
    keepalive_requests 1000000;
    $2
}
NGINX
}
BODY='{"ok":true,"upstream":"x","padding":"0123456789012345678901234567890123456789"}'
nginx_conf "$TMP/up" "server { listen 127.0.0.1:$LEGACY; location / { default_type application/json; return 200 '$BODY'; } }
    server { listen 127.0.0.1:$NEW; location / { default_type application/json; return 200 '$BODY'; } }"
nginx -c "$TMP/up/nginx.conf" -p "$TMP/up" 2>"$TMP/up/start.log" &
UPPID=$!
nginx_conf "$TMP/ng" "upstream legacy { server 127.0.0.1:$LEGACY; keepalive 32; }
    upstream new { server 127.0.0.1:$NEW; keepalive 32; }
    split_clients \"\${remote_addr}\${remote_port}\${msec}\" \$pool { $PCT% new; * legacy; }
    server {
        listen 127.0.0.1:$NGPROXY;
        location / {
            proxy_pass http://\$pool;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            add_header X-Route \$pool;
        }
    }"
nginx -c "$TMP/ng/nginx.conf" -p "$TMP/ng" 2>"$TMP/ng/start.log" &
NGPID=$!

start_sy "$SY" "$TMP/sy.log" --proxy-workers 1
curl -s -X POST -H "Authorization: Bearer $(cat "$TMP/admin")" "$SYURL/v1/routes" -d \
    "{\"name\":\"bench\",\"listen\":\"127.0.0.1:$SYPROXY\",\"percentage\":$PCT,\"upstreams\":{\"legacy\":\"127.0.0.1:$LEGACY\",\"new\":\"127.0.0.1:$NEW\"}}" >/dev/null
sleep 0.5
for url in "http://127.0.0.1:$LEGACY/" "http://127.0.0.1:$NGPROXY/" "http://127.0.0.1:$SYPROXY/"; do
    curl -sf -o /dev/null "$url" || { echo "proxy.sh: $url does not answer" >&2; exit 1; }
done

# run URL PID: "REQ_PER_S P50_MS P99_MS CPU_US_PER_REQUEST" of one wrk round
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
ms() { awk '{v = $1; if (v ~ /us$/) {sub(/us$/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v *= 1000} print v}'; }
run() {
    t0=$(cpu_ticks "$2")
    wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "$1" >"$TMP/wrk.out" 2>&1
    t1=$(cpu_ticks "$2")
    rps=$(awk '/^Requests\/sec/ {print $2}' "$TMP/wrk.out")
    n=$(awk '/requests in/ {print $1}' "$TMP/wrk.out")
    p50=$(awk '$1 == "50%" {print $2}' "$TMP/wrk.out" | ms)
    p99=$(awk '$1 == "99%" {print $2}' "$TMP/wrk.out" | ms)
    echo "$rps $p50 $p99 $(echo "$t0 $t1 $n $HZ" | awk '{printf "%.2f", ($2 - $1) * 1e6 / $4 / $3}')"
}
best() { sort -n -r | head -1; } # by requests/s
median() { sort -n | awk '{row[NR] = $0} END {print row[int((NR + 1) / 2)]}'; }
: >"$TMP/direct"
: >"$TMP/nginx"
: >"$TMP/sy"
UPW=$(pgrep -P "$UPPID" | head -1) NGW=$(pgrep -P "$NGPID" | head -1) # the worker processes
r=0
while [ $r -lt "$ROUNDS" ]; do
    run "http://127.0.0.1:$LEGACY/" "$UPW" >>"$TMP/direct"
    run "http://127.0.0.1:$NGPROXY/" "$NGW" >>"$TMP/nginx"
    run "http://127.0.0.1:$SYPROXY/" "$SYPID" >>"$TMP/sy"
    r=$((r + 1))
done
[ -n "${PROXY_BENCH_ROUNDS:-}" ] && paste "$TMP/direct" "$TMP/nginx" "$TMP/sy" >&2 # each round
D=$(median <"$TMP/direct") N=$(median <"$TMP/nginx") S=$(median <"$TMP/sy")
echo "proxy: $CONNS connections, $PCT % to new, median of $ROUNDS rounds of ${SECS} s (wrk -t1)"
printf '  %-22s %12s %9s %9s %13s\n' "" "requests/s" "p50 ms" "p99 ms" "CPU us/req"
printf '  %-22s %12s %9s %9s %13s\n' "upstream, direct" $D
printf '  %-22s %12s %9s %9s %13s\n' "nginx split_clients" $N
printf '  %-22s %12s %9s %9s %13s\n' "switchyard proxy" $S
echo "$D $N $S" | awk '{printf "  median: throughput switchyard / nginx = %.2fx; added p99: nginx %.3f ms, switchyard %.3f ms; CPU per request switchyard / nginx = %.2fx\n", $9 / $5, $7 - $3, $11 - $3, $12 / $8}'
echo "$(best <"$TMP/nginx") $(best <"$TMP/sy")" | awk '{printf "  best rounds: throughput switchyard / nginx = %.2fx\n", $5 / $1}'
# each round against the nginx round just before it (the machine drifts less in 2 x SECS)
paste "$TMP/direct" "$TMP/nginx" "$TMP/sy" | awk '{print $9 / $5, ($7 - $3) - ($11 - $3)}' >"$TMP/paired"
printf '  paired rounds (median): throughput switchyard / nginx = %.2fx; added p99 nginx - switchyard = %.3f ms\n' \
    "$(cut -d' ' -f1 "$TMP/paired" | median)" "$(cut -d' ' -f2 "$TMP/paired" | median)"
