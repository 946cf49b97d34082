#!/bin/sh
# pg_suite.sh - the integration suite once more, on PostgreSQL (issue 25: "the whole existing
# integration suite runs once against PostgreSQL"). Each script below runs with
# SY_TEST_BACKEND=postgres, so that tap.sh starts a throwaway cluster of its own (pg.sh),
# migrates it as the owner role and points the script's $DB at it as the application role;
# the script itself does not know which backend it has (tap.sh's db_sql, db_reset and
# db_copy do). Every check of every script is one check here, named "SCRIPT: CHECK" and
# numbered on; a script that exits non-zero with no failed check fails one check more, and
# one that outlives its time (SY_PG_SUITE_TIMEOUT seconds, 600: the longest any of them has
# as its own test) is stopped with TERM (its cluster with it) and fails one. Each script's
# time is printed as a comment after its checks, and after a script with a failed check the
# lines of its servers' logs that speak of the store or of an error (tap.sh's
# SY_TEST_LOG_DIR), most frequent first: what the PostgreSQL store answered.
#
#   pg_suite.sh SWITCHYARD --script NAME ARG... [--script NAME ARG...]...
#
# tests/meson.build passes every script that opens a store with the same arguments as its
# own test (store_scripts there), but a folder the script writes into (the console's
# screenshots), which becomes build/tests/postgres/NAME so that the two runs never share
# one; in four parts, the tests pg_suite_1..4 (suite pg_suite), that meson runs side by side.
# SY_PG_SUITE_ONLY="NAME..." in the environment runs only those (by hand).
#
# Left out, as they never open a store, or not one --db names:
#   core_is_pure, engine_speaks_c  read the sources;
#   cli_stats, cli_flags           switchyard stats, eval and flags validate, on files;
#   schema_diff                    flags validate --strict against ajv, on files;
#   library_install                the installed library and its example, no store;
#   simulate                       the engine on an in-memory SQLite store that `switchyard
#                                  simulate` makes itself (it takes no --db), 1,000 runs;
#   ingest_bench                   bench/ingest.sh makes and removes its own SQLite file
#                                  each round and times it against raw sqlite3 inserts of
#                                  the same rows (on PostgreSQL that is make bench's batched
#                                  ingest against COPY, issue 25); what the test guards, an
#                                  HTTP body read from freed memory, has nothing of the store;
#   pg_harness, pg_schema, pg_store, pg_unit   PostgreSQL's own: they run on it already.
set -u
SY=${1:-}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/tap.sh"
shift
LIMIT=${SY_PG_SUITE_TIMEOUT:-600}
SY_TEST_LOG_DIR=$TMP/logs
# Each cluster without fsync (pg.sh's PG_FSYNC=off): no script here stops PostgreSQL or the
# machine under a commit, only switchyard (ingest_crash's SIGKILLs), whose acknowledged
# commits PostgreSQL holds whatever it flushes when.
PG_FSYNC=off
export SY_TEST_LOG_DIR PG_FSYNC
mkdir -p "$SY_TEST_LOG_DIR"

if [ "$SY" = --no-libpq ]; then
    : >"$TMP/out"
    echo "# scripts/deps.sh installs libpq-dev; then meson setup --reconfigure" >"$TMP/err"
    not_ok "switchyard was built with libpq (store/postgres): it was not found"
    tap_done
    exit 1
fi
if [ ! -x "$SY" ]; then
    : >"$TMP/out"
    echo "# switchyard is not at '$SY'" >"$TMP/err"
    not_ok "switchyard was built"
    tap_done
    exit 1
fi

# run NAME ARG...: one script, on PostgreSQL, its checks relayed as ours.
run() {
    name=$1
    shift
    case " ${SY_PG_SUITE_ONLY:-$name} " in
    *" $name "*) ;;
    *) return 0 ;;
    esac
    f0=$failed
    t0=$(date +%s%N)
    SY_TEST_BACKEND=postgres SY_TEST_SWITCHYARD=$SY \
        timeout --foreground -k 10 "$LIMIT" "$HERE/$name.sh" "$@" >"$TMP/script.tap" 2>"$TMP/script.err"
    status=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    tap_relay "$name: " "$TMP/script.tap"
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
        tail -n 20 "$TMP/script.err" >"$TMP/err"
        : >"$TMP/out"
        not_ok "$name: ran to its end within $LIMIT s (exit $status)"
    elif [ "$status" -ne 0 ] && ! grep -q '^not ok' "$TMP/script.tap"; then
        tail -n 20 "$TMP/script.err" >"$TMP/err"
        : >"$TMP/out"
        not_ok "$name: exited $status with no check failed"
    fi
    if [ "$failed" -gt "$f0" ] && [ -s "$SY_TEST_LOG_DIR/$name.log" ]; then
        echo "# $name: what its servers logged of the store or of an error:"
        grep -i 'store\|postgres\|error\|sqlstate' "$SY_TEST_LOG_DIR/$name.log" |
            sed 's/^ts=[^ ]* //; s/^{"ts":"[^"]*",/{/' | sort | uniq -c | sort -rn | head -n 8 |
            sed 's/^/#   /'
    fi
    echo "# $name: $ms ms on PostgreSQL (exit $status)"
    echo "$name $ms $status" >>"$TMP/times"
}

# The arguments: groups of --script NAME ARG..., each run as it is read.
[ "${1:-}" = --script ] || {
    : >"$TMP/out"
    echo "# usage: pg_suite.sh SWITCHYARD --script NAME ARG... [--script NAME ARG...]..." >"$TMP/err"
    not_ok "pg_suite.sh is given its scripts"
    tap_done
    exit 1
}
T0=$(date +%s)
while [ $# -gt 0 ]; do
    shift # --script
    group=$1
    shift
    # this group's arguments: up to the next --script
    k=0
    for a in "$@"; do
        [ "$a" = --script ] && break
        k=$((k + 1))
    done
    list=""
    i=1
    while [ $i -le $k ]; do
        list="$list \"\${$i}\""
        i=$((i + 1))
    done
    eval "run \"\$group\" $list"
    shift "$k"
done
if [ -f "$TMP/times" ]; then
    echo "# slowest first (ms):"
    sort -k2 -n -r "$TMP/times" | sed 's/^/#   /'
fi
echo "# pg_suite: $(($(date +%s) - T0)) s in all"
tap_done
