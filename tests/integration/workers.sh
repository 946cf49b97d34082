#!/bin/sh
# workers.sh - `switchyard serve --workers 2` under mixed load (workers.js): a bulk OFREP
# evaluation sees a change of two flags as both or neither, while changes, ingest and API
# reads (handed to the engine's loop) run at once; every answer is 2xx; the stream sees
# the changes; the stall gauge lists every loop. Run on the ASan build and, in make test,
# on the ThreadSanitizer build too (its suite "threads").
#
#   workers.sh SWITCHYARD
set -u
SY=$1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"

start_server "$SY" --admin-token-file "$TMP/admin" --quiet --workers 2
ADMIN=$(cat "$TMP/admin")
SDK=$(curl -s -X POST -H "Authorization: Bearer $ADMIN" -d '{"role":"sdk","name":"app"}' \
    "$URL/v1/tokens" | jq -r .token)
VIEWER=$(curl -s -X POST -H "Authorization: Bearer $ADMIN" -d '{"role":"viewer","name":"v"}' \
    "$URL/v1/tokens" | jq -r .token)
export SWITCHYARD_URL="$URL" SWITCHYARD_TOKEN="$ADMIN"
"$SY" experiment create --key exp --variants a=1,b=1 >/dev/null
"$SY" experiment start exp >/dev/null

ROUNDS=150
check "mixed load runs to its end" 0 "" "" -- \
    sh -c "node '$HERE/workers.js' '$URL' '$ADMIN' '$SDK' $ROUNDS >'$TMP/res.json'"
res() { jq -r "$1" "$TMP/res.json"; }
check "bulk evaluations ran during the changes" 0 "" "" -- test "$(res .bulk)" -gt 0
check "no bulk evaluation saw a torn change (a and b at different versions)" 0 "" "" -- \
    test "$(res .torn)" = 0
check "every OFREP, change, event and API answer was 2xx" 0 "" "" -- \
    sh -c "jq -c .bad '$TMP/res.json'; test \"\$(jq '.bad | add' '$TMP/res.json')\" = 0"
check "events and API reads went through the engine meanwhile" 0 "" "" -- \
    sh -c "test $(res .events) -gt 0 && test $(res .api) -gt 0"
check "the last change is what is served" 0 "" "" -- test "$(res .final)" = "$ROUNDS"
check "the event stream told of the changes" 0 "" "" -- test "$(res .refetch)" -gt 0

# the stall gauge: every serving loop, and the engine's
curl -s -H "Authorization: Bearer $VIEWER" "$URL/v1/system/loops" >"$TMP/loops.json"
check "the stall gauge lists both workers and the engine" 0 "" "" -- \
    sh -c "jq -e '[.loops[].name] | sort == [\"engine\", \"worker-0\", \"worker-1\"]' '$TMP/loops.json' >/dev/null"
check "... with iterations counted in its buckets" 0 "" "" -- \
    sh -c "jq -e '[.loops[] | select(.name | startswith(\"worker\")) | .iterations] | add > 0' '$TMP/loops.json' >/dev/null"
check "... and a bucket count per bound plus the rest" 0 "" "" -- \
    sh -c "jq -e '(.le_us | length) + 1 == (.loops[0].histogram | length)' '$TMP/loops.json' >/dev/null"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $VIEWER" "$URL/v1/system/loops/reset")
check "a viewer may not reset it: 403" 0 "" "" -- test "$code" = 403
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN" "$URL/v1/system/loops/reset")
curl -s -H "Authorization: Bearer $VIEWER" "$URL/v1/system/loops" >"$TMP/loops2.json"
check "an admin resets it: the counts start again" 0 "" "" -- \
    sh -c "test $code = 200 && jq -e '[.loops[].iterations] | add < 10' '$TMP/loops2.json' >/dev/null"

# a token made offline while the server runs: the workers do not know it, the engine does
OFF=$("$SY" token create --db "$DB" --role sdk --name offline)
code=$(curl -s -o "$TMP/o.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $OFF" \
    -d '{"context":{}}' "$URL/ofrep/v1/evaluate/flags/a")
check "OFREP with a token made offline is served (the engine looks it up)" 0 "" "" -- \
    sh -c "test $code = 200 && jq -e '.value == $ROUNDS' '$TMP/o.json' >/dev/null"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer sy_$(printf '%048d' 7)" \
    -d '{"context":{}}' "$URL/ofrep/v1/evaluate/flags/a")
check "... and one the store does not know either is 401" 0 "" "" -- test "$code" = 401

# what an outside attack found (workers_hostile.py)
check "64 connections pipelining 20 handed-over requests each: every one answered" 0 "^1280$" "" -- \
    python3 "$HERE/workers_hostile.py" "$PORT" pipelined 64 20
check "... and the engine still answers after" 0 "^200$" "" -- \
    curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ADMIN" "$URL/v1/flags"
check "a made-up token of our shape gets no body read: 401 at once" 0 "401" "" -- \
    python3 "$HERE/workers_hostile.py" "$PORT" fakebody
W=$("$SY" workspace create "late" --db "$DB" >/dev/null && "$SY" token create --db "$DB" --workspace late --role sdk --name late)
( # a subshell: its `wait` is for these, not for the server
    for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
        curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "Authorization: Bearer $W" -d '{}' \
            "$URL/ofrep/v1/evaluate/flags" >>"$TMP/late" &
    done
    wait
)
check "a workspace and token made offline, first used by 12 requests at once: all 200" 0 "" "" -- \
    sh -c "cat '$TMP/late'; test \"\$(grep -c '^200$' '$TMP/late')\" = 12"
LATE2=$("$SY" token create --db "$DB" --workspace late --role editor --name late2)
# a body that has not all come with its head, from a token no worker knows yet: retry
python3 - "$PORT" "$LATE2" >"$TMP/retry" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
body = b'{"state":"ENABLED","variants":{"on":true},"defaultVariant":"on"}'
s.sendall(b"PUT /v1/flags/late HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + sys.argv[2].encode() +
          b"\r\nContent-Length: %d\r\n\r\n" % len(body))
time.sleep(0.3)
try:
    s.sendall(body)
except OSError:
    pass
print(s.recv(4096).decode().split("\r\n")[0])
PY
check "... its body not read: 503 retry" 0 "503" "" -- cat "$TMP/retry"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $LATE2" \
    -d '{"state":"ENABLED","variants":{"on":true},"defaultVariant":"on"}' "$URL/v1/flags/late")
check "... and sent again, it is taken" 0 "" "" -- test "$code" = 201
curl -s -I -H "Authorization: Bearer $ADMIN" "$URL/v1/flags" >"$TMP/head"
check "HEAD on an API resource: GET's headers, no body" 0 "" "" -- \
    sh -c "head -1 '$TMP/head' | grep -q ' 200' && grep -qi '^content-length: [1-9]' '$TMP/head'"

stop_server
check "SIGTERM stops it cleanly" 0 "" "" -- test "$STOP_STATUS" = 0
check "no sanitizer reported anything (data races under TSan)" 1 "" "" -- grep -q "Sanitizer" "$TMP/log"

# SIGTERM while flag changes keep the engine's loop busy: handed-over requests that arrive
# during its callbacks must not keep it from its signal (and its timers) until the load ends
db_reset
start_server "$SY" --admin-token-file "$TMP/admin2" --quiet --workers 2
python3 "$HERE/workers_hostile.py" "$PORT" busy 8 20 "$(cat "$TMP/admin2")" >"$TMP/busy" 2>"$TMP/busy.err" &
LOAD=$!
# the signal comes once the changes do (python starts slowly on a loaded machine)
i=0
while [ $i -lt 100 ] && ! curl -s -f -o /dev/null -H "Authorization: Bearer $(cat "$TMP/admin2")" "$URL/v1/flags/busy-0"; do
    sleep 0.1
    i=$((i + 1))
done
sleep 0.5
kill -TERM "$PID"
i=0
while [ $i -lt 60 ] && ! grep -q 'event=shutdown' "$TMP/log"; do
    sleep 0.05
    i=$((i + 1))
done
check "SIGTERM under a steady load of flag changes is acted on within 3 s" 0 "" "" -- \
    grep -q 'event=shutdown' "$TMP/log"
wait "$PID" # not stop_server: a second SIGTERM would find the handler gone
STOP_STATUS=$?
PID=""
wait "$LOAD"
check "... and it stops cleanly" 0 "" "" -- test "$STOP_STATUS" = 0
check "... with changes answered meanwhile" 0 "" "" -- sh -c "cat '$TMP/busy.err' '$TMP/busy'; test \"\$(cat '$TMP/busy')\" -gt 0"
tap_done
