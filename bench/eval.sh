#!/bin/sh
# eval.sh - switchyard's flag evaluation against @openfeature/flagd-core, same run.
#
#   bench/eval.sh BENCH_EVAL_BINARY [KEYS] [ROUNDS]
#
# Installs @openfeature/flagd-core (pinned) with npm into build/bench-node, a folder this
# script owns, unless it is already there; runs bench-eval and the node twin on the same
# flags and keys, alternately, ROUNDS times (default 3); prints for each case the best
# median of each side (the round least disturbed by other load on a shared machine) and
# their ratio, and checks that both put every one of the KEYS in the same fractional
# bucket in every round. Exit 1 if they disagree.
set -eu
BIN=$1
KEYS=${2:-1000000}
ROUNDS=${3:-3}
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

ours=""
theirs=""
r=0
while [ "$r" -lt "$ROUNDS" ]; do
    ours="$ours
$("$BIN" "$FLAGS" "$KEYS")"
    theirs="$theirs
$(NODE_PATH="$NODE_DIR/node_modules" node "$HERE/eval_flagd_core.js" "$FLAGS" "$KEYS")"
    r=$((r + 1))
done

best() { echo "$1" | awk -v c="$2" '$1 == c && (m == "" || $2 < m) {m = $2} END {print m}'; }
echo "flag evaluation, median ns per evaluation over $KEYS evaluations (batches of 10,000),"
echo "best of $ROUNDS alternating rounds per side"
printf '%-8s %12s %16s %10s\n' case switchyard "flagd-core $VERSION" speedup
for c in static rule split3; do
    a=$(best "$ours" $c)
    b=$(best "$theirs" $c)
    printf '%-8s %12s %16s %9.1fx\n' "$c" "$a" "$b" "$(echo "$b $a" | awk '{print $1 / $2}')"
done
pa=$(echo "$ours" | awk '$1 == "picks" {print $2}' | sort -u)
pb=$(echo "$theirs" | awk '$1 == "picks" {print $2}' | sort -u)
if [ -n "$pa" ] && [ "$pa" = "$pb" ] && [ "$(echo "$pa" | wc -l)" -eq 1 ]; then
    echo "split3: all $KEYS keys in the same bucket as flagd-core in every round (digest $pa)"
else
    echo "split3: buckets DIFFER from flagd-core (digests $pa vs $pb)"
    exit 1
fi
