#!/bin/sh
# run-demo.sh - `make run`: starts switchyard serve with a demo workspace, demo flags and a
# demo experiment (examples/experiment.json, a draft that awaits a person's approval before
# it moves traffic) and the demo's users (scripts/demo-traffic.py: once the experiment is
# started, RATE new users a second are evaluated over OFREP and report what they did, 10 %
# against 12.5 % conversion), and prints how to reach it, the console's URL included. A
# person runs the experiment from its start to its promotion in the console alone. The
# database lives in build/demo/ (or $SWITCHYARD_DEMO_DIR) and survives restarts (its admin
# token too); delete that folder for a fresh start. Ctrl-C stops the server cleanly.
# SWITCHYARD_DEMO_DB names another store for --db (a migrated PostgreSQL one: the test
# console_demo on PostgreSQL).
#
#   scripts/run-demo.sh SWITCHYARD [ADDR:PORT]      (DEMO_RATE=users a second, 200)
set -eu
SY=$1
LISTEN=${2:-127.0.0.1:8080}
HERE=$(cd "$(dirname "$0")/.." && pwd)
DIR=${SWITCHYARD_DEMO_DIR:-$HERE/build/demo}
RATE=${DEMO_RATE:-200}
DB=${SWITCHYARD_DEMO_DB:-$DIR/switchyard.db}
mkdir -p "$DIR"
: >"$DIR/server.log"
"$SY" serve --listen "$LISTEN" --db "$DB" --admin-token-file "$DIR/admin-token" \
    --seed-flags "$HERE/examples/flags.json" 2>"$DIR/server.log" &
PID=$!
trap 'kill -TERM $PID 2>/dev/null; wait $PID; exit 0' INT TERM
i=0
while ! grep -q 'event=listening' "$DIR/server.log"; do
    if ! kill -0 "$PID" 2>/dev/null || [ $i -ge 100 ]; then
        cat "$DIR/server.log" >&2
        echo "run-demo: the server did not start (is $LISTEN in use? make run LISTEN=127.0.0.1:8081)" >&2
        exit 1
    fi
    sleep 0.1
    i=$((i + 1))
done
# anything below that fails stops the server too (set -e would leave it running)
trap 'kill -TERM $PID 2>/dev/null; wait $PID 2>/dev/null' EXIT
TOKEN=$(cat "$DIR/admin-token")
# the port it bound (LISTEN may say 0: any free one)
PORT=$(sed -n 's/.*event=listening.* port=\([0-9]*\).*/\1/p' "$DIR/server.log" | head -n 1)
URL=http://${LISTEN%:*}:${PORT:-${LISTEN##*:}}
export SWITCHYARD_URL="$URL" SWITCHYARD_TOKEN="$TOKEN"
if ! "$SY" experiment show checkout-button >/dev/null 2>&1; then
    # the example, awaiting a person's approval: the auto-promotion timer leaves the
    # promotion to whoever runs the demo
    python3 -c 'import json, sys
e = json.load(open(sys.argv[1]))
e["safety"]["require_manual_approval"] = True
print(json.dumps(e))' "$HERE/examples/experiment.json" >"$DIR/experiment.json"
    "$SY" experiment create "$DIR/experiment.json" >/dev/null
fi
python3 "$HERE/scripts/demo-traffic.py" "$URL" "$DIR/admin-token" checkout-button "$RATE" 2>>"$DIR/server.log" &
USERS=$!
trap 'kill -TERM $PID $USERS 2>/dev/null; wait $PID; exit 0' INT TERM
SHOWN_DB=$(echo "$DB" | sed 's|://\([^:/@]*\):[^@]*@|://\1:***@|') # a URL's password hidden
cat <<INFO

switchyard is serving $URL  (database $SHOWN_DB, log $DIR/server.log)
workspace "default" with the demo flags of examples/flags.json; admin token:

  $TOKEN

The console: $URL/ui/  (sign in with the token above; docs/console.md)

The demo experiment, checkout-button, is a draft: open it in the console and Start it.
The demo's users (scripts/demo-traffic.py, $RATE a second) then see blue or green as OFREP
says and report their conversions; within a few minutes the results decide "promote
green", and "Approve and promote" moves everyone to it.

Try:
  curl -s -H "Authorization: Bearer $TOKEN" $URL/v1/flags
  curl -s -X POST -H "Authorization: Bearer $TOKEN" -d '{"context":{"country":"DE"}}' \\
       $URL/ofrep/v1/evaluate/flags/banner-color
  curl -s -H "Authorization: Bearer $TOKEN" $URL/v1/audit
  SWITCHYARD_URL=$URL SWITCHYARD_TOKEN=$TOKEN $SY experiment results checkout-button

The API is described in docs/api.md. Ctrl-C stops the server.
INFO
tail -f -n 0 "$DIR/server.log" &
TAIL=$!
trap 'kill -TERM $PID $USERS 2>/dev/null; wait $PID; kill $TAIL 2>/dev/null; exit 0' INT TERM
wait "$PID"
trap - EXIT
kill "$TAIL" "$USERS" 2>/dev/null
