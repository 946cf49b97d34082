#!/bin/sh
# eval.sh - switchyard's flag evaluation against @openfeature/flagd-core, same run.
#
#   bench/eval.sh BENCH_EVAL_BINARY [KEYS]
#
# Installs @openfeature/flagd-core (pinned) with npm into build/bench-node, a folder this
# script owns, unless it is already there; runs bench-eval and the node twin on the same
# flags and keys; prints both figures and the ratio per case, and checks that both put
# every one of the KEYS in the same fractional bucket. Exit 1 if they disagree.
set -eu
BIN=$1
KEYS=${2:-1000000}
HERE=$(cd "$(dirname "$0")" && pwd)
NODE_DIR=$HERE/../build/bench-node
FLAGS=$HERE/eval_flags.json
VERSION=4.0.1

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "eval.sh: node and npm are needed for the reference (apt-get install nodejs npm)" >&2
    exit 1
fi
if [ ! -f "$NODE_DIR/node_modules/@openfeature/flagd-core/package.json" ]; then
    mkdir -p "$NODE_DIR"
    (cd "$NODE_DIR" && [ -f package.json ] || echo '{"private": true}' >package.json)
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent "@openfeature/flagd-core@$VERSION" >&2)
fi

ours=$("$BIN" "$FLAGS" "$KEYS")
theirs=$(NODE_PATH="$NODE_DIR/node_modules" node "$HERE/eval_flagd_core.js" "$FLAGS" "$KEYS")

echo "flag evaluation, median ns per evaluation over $KEYS evaluations (batches of 10,000)"
printf '%-8s %12s %16s %10s\n' case switchyard "flagd-core $VERSION" speedup
for c in static rule split3; do
    a=$(echo "$ours" | awk -v c=$c '$1 == c {print $2}')
    b=$(echo "$theirs" | awk -v c=$c '$1 == c {print $2}')
    printf '%-8s %12s %16s %9.1fx\n' "$c" "$a" "$b" "$(echo "$b $a" | awk '{print $1 / $2}')"
done
pa=$(echo "$ours" | awk '$1 == "picks" {print $2}')
pb=$(echo "$theirs" | awk '$1 == "picks" {print $2}')
if [ -n "$pa" ] && [ "$pa" = "$pb" ]; then
    echo "split3: all $KEYS keys in the same bucket as flagd-core (digest $pa)"
else
    echo "split3: buckets DIFFER from flagd-core (digest $pa vs $pb)"
    exit 1
fi
