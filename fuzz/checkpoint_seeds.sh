#!/bin/sh
# checkpoint_seeds.sh - writes real checkpoints into fuzz/seeds/fuzz-checkpoint/ (run it
# when the encoding's version changes; the seeds of older versions stay, since they are
# still read): a server with a 2 s retention, experiments of 2 and 3 variants (v0, v1, v2,
# as fuzz_checkpoint.c names them; the mean metric with CUPED, version 4 on) with exposures
# (with ids, most with a covariate), outcomes with values, errors with latencies and a
# crossover, pruned; each checkpoint as the target reads it (a byte
# for its variants, the state without its sum), named for its version and variants
# (real-v3-2-variants).
#
#   fuzz/checkpoint_seeds.sh SWITCHYARD
set -eu
SY=$(realpath "$1")
OUT=$(cd "$(dirname "$0")" && pwd)/seeds/fuzz-checkpoint
TMP=$(mktemp -d)
PID=""
trap '[ -z "$PID" ] || kill $PID 2>/dev/null; rm -rf "$TMP"' EXIT
cd "$TMP"
"$SY" workspace create default --db sy.db >/dev/null
ADMIN=$("$SY" token create --db sy.db --role admin --name a)
"$SY" serve --listen 127.0.0.1:0 --db sy.db --event-retention 2s --retention-interval 1 --quiet 2>log &
PID=$!
until grep -q 'event=listening' log; do sleep 0.1; done
U=http://127.0.0.1:$(sed -n 's/.* port=\([0-9]*\).*/\1/p' log | head -1)
call() { curl -sf -o /dev/null -H "Authorization: Bearer $ADMIN" "$@"; }
for n in 2 3; do
    call -d "$(python3 -c "import json; n=$n; print(json.dumps({'key': 'e%d' % n, 'metric': 'mean', 'cuped': {'enabled': True}, 'variants': [{'key': 'v%d' % i, 'weight': 100 // n + (100 % n if i == 0 else 0), 'control': i == 0} for i in range(n)]}))")" "$U/v1/experiments"
    call -X POST "$U/v1/experiments/e$n/start"
    call -d "$(python3 -c "
import json
n = $n
x = 'e%d' % n
e = [dict({'type': 'exposure', 'unit': 'u%d' % i, 'experiment': x, 'variant': 'v%d' % (i % n), 'id': 'x%d' % i}, **({'covariate': i * 0.25} if i % 5 else {})) for i in range(40)]
e += [{'type': 'outcome', 'unit': 'u%d' % i, 'experiment': x, 'success': True, 'value': i * 1.5} for i in range(0, 40, 3)]
e += [{'type': 'error', 'unit': 'u%d' % i, 'experiment': x, 'latency_ms': 12.5} for i in range(0, 40, 7)]
e += [{'type': 'exposure', 'unit': 'u1', 'experiment': x, 'variant': 'v0'}]
print(json.dumps({'events': e}))")" "$U/v1/events"
done
k=0
until [ "$(sqlite3 sy.db 'SELECT count(*) FROM experiment_checkpoints' 2>/dev/null)" = 2 ]; do
    [ $k -lt 100 ] || { echo "checkpoint_seeds.sh: no checkpoints after 10 s" >&2; exit 1; }
    sleep 0.1
    k=$((k + 1))
done
mkdir -p "$OUT"
python3 - "$OUT" <<'PY'
import sqlite3, sys
db = sqlite3.connect('sy.db')
for key, state in db.execute("SELECT e.key, c.state FROM experiment_checkpoints c JOIN experiments e ON e.id = c.experiment_id"):
    n = int(key[1:])
    version = int.from_bytes(bytes(state[4:8]), 'little')
    open('%s/real-v%d-%d-variants' % (sys.argv[1], version, n), 'wb').write(bytes([n - 2]) + bytes(state[:-8]))
PY
ls -l "$OUT"
