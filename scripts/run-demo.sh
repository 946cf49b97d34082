#!/bin/sh
# run-demo.sh - `make run`: starts switchyard serve with a demo workspace, demo flags and a
# demo experiment (examples/experiment.json, with synthetic events: 6,000 units per
# variant, 10 % against 12.5 % conversion) and prints how to reach it, the console's URL
# included. The database lives in build/demo/ and survives restarts (its admin
# token too); delete that folder for a fresh start. Ctrl-C stops the server cleanly.
#
#   scripts/run-demo.sh SWITCHYARD [ADDR:PORT]
set -eu
SY=$1
LISTEN=${2:-127.0.0.1:8080}
HERE=$(cd "$(dirname "$0")/.." && pwd)
DIR=$HERE/build/demo
mkdir -p "$DIR"
: >"$DIR/server.log"
"$SY" serve --listen "$LISTEN" --db "$DIR/switchyard.db" --admin-token-file "$DIR/admin-token" \
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
TOKEN=$(cat "$DIR/admin-token")
URL=http://$LISTEN
export SWITCHYARD_URL="$URL" SWITCHYARD_TOKEN="$TOKEN"
if ! "$SY" experiment show checkout-button >/dev/null 2>&1; then
    "$SY" experiment create "$HERE/examples/experiment.json" >/dev/null
    "$SY" experiment start checkout-button >/dev/null
    # Synthetic, deterministic traffic: units alternate between the variants, and every
    # 10th blue unit and every 8th green one converts.
    awk 'BEGIN { for (i = 0; i < 12000; i++) print "demo-user-" i }' >"$DIR/units"
    awk '{ v = (NR % 2) ? "blue" : "green"; n[v]++;
           printf "{\"type\":\"exposure\",\"unit\":\"%s\",\"experiment\":\"checkout-button\",\"variant\":\"%s\",\"id\":\"x-%s\"}\n", $1, v, $1;
           if ((v == "blue" && n[v] % 10 == 0) || (v == "green" && n[v] % 8 == 0))
               printf "{\"type\":\"outcome\",\"unit\":\"%s\",\"experiment\":\"checkout-button\",\"success\":true,\"id\":\"o-%s\"}\n", $1, $1 }' \
        "$DIR/units" >"$DIR/events.jsonl"
    "$SY" events send "$DIR/events.jsonl" >/dev/null
fi
cat <<INFO

switchyard is serving $URL  (database $DIR/switchyard.db, log $DIR/server.log)
workspace "default" with the demo flags of examples/flags.json; admin token:

  $TOKEN

The console: $URL/ui/  (sign in with the token above; docs/console.md)

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
trap 'kill -TERM $PID 2>/dev/null; wait $PID; kill $TAIL 2>/dev/null; exit 0' INT TERM
wait "$PID"
kill "$TAIL" 2>/dev/null
