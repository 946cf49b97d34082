#!/bin/sh
# ingest_crash.sh - SIGKILL the server repeatedly while clients ingest (ingest_crash.js):
# after each restart every acknowledged event is in the log, none twice.
#
#   ingest_crash.sh SWITCHYARD [ROUNDS]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
if ! command -v node >/dev/null || ! command -v sqlite3 >/dev/null; then
    echo "not ok 1 - node and sqlite3 are needed (scripts/deps.sh installs them)"
    echo "1..1"
    exit 1
fi
node "$HERE/ingest_crash.js" "$1" "$TMP" "${2:-6}"
