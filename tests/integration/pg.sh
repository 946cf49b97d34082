# pg.sh - a throwaway PostgreSQL 15 cluster for a test (issue 25), from Debian's binaries.
#
# Source it after tap.sh:  . "$HERE/tap.sh"; . "$HERE/pg.sh"
#
# pg_start: initdb into $TMP/pg/data, a server on 127.0.0.1 at a free port and on a Unix
#   socket in $TMP/pg/sock (nowhere else: no other address, not /var/run/postgresql), fsync
#   on (PG_FSYNC=off before pg_start turns fsync, synchronous_commit and full_page_writes
#   off, for a test that checks no durability: pg_unit); a database `switchyard` (initdb's `postgres`, renamed) owned, with its schema public,
#   by the role switchyard_owner;
#   switchyard_app (LOGIN, not an owner, not a member of the owner, NOBYPASSRLS) may only
#   connect and use the schema: the owner's migrations grant it what else it needs. Every
#   role has a random password, asked for (scram-sha-256) over TCP and the socket alike.
#   Prints "ok N - ..." (counted like check's), or "not ok N - ..." with the tail of the
#   server's log and returns 1. The caller then ends: pg_start || { tap_done; exit 1; }
#   Exports: PGHOST (the socket's folder) and PGPORT; PG_URL_OWNER, PG_URL_APP and
#   PG_URL_SUPER (postgres://ROLE:PASSWORD@127.0.0.1:PORT/switchyard; the superuser is
#   `postgres`); PG_PASS_OWNER, PG_PASS_APP, PG_PASS_SUPER; PG_DATA, PG_LOG, PG_PID (the
#   postmaster's pid), PG_START_MS (how long pg_start took); PGCONNECT_TIMEOUT=5.
# pg_stop: pg_ctl stop -m fast (then -m immediate, then SIGKILL, each wait bounded); the
#   data folder stays until tap.sh removes $TMP. tap.sh's EXIT trap runs it (after
#   stop_server), so the cluster never outlives the script (a script that sets an EXIT trap
#   of its own calls pg_stop or tap_exit in it); a second call does nothing. PG_PAUSE=SECONDS in the
#   environment holds the cluster up that long first, to look at it by hand
#   (docs/development.md).
# pg_sql CONNINFO_OR_URL SQL: SQL through psql (-X -q -At, ON_ERROR_STOP: exit 3 on an
#   error), from stdin so that BEGIN ... COMMIT work; at most 20 s.
# pg_as COMMAND...: COMMAND as the cluster's owner (below).
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# initdb, pg_ctl and postgres refuse to run as root. Run as root (make test on this
# machine, CI), the cluster belongs to a system user of its own, `switchyard-test`, made
# here the first time (useradd --system, no home, no shell): not `nobody`, whose files
# every other daemon running as nobody may touch, and not `postgres`, which owns the
# system's own cluster (15/main) that no test should be able to reach. $TMP (mktemp's, 0700)
# becomes 0711 so that user can walk into $TMP/pg without listing the rest. Run as anyone
# else, the cluster is simply theirs.
PG_USER=switchyard-test
PG_PID=""
PG_WATCH=""
PGCONNECT_TIMEOUT=5
export PGCONNECT_TIMEOUT

pg_as() {
    if [ "$(id -u)" -eq 0 ]; then
        setpriv --reuid="$PG_USER" --regid="$PG_USER" --clear-groups -- "$@"
    else
        "$@"
    fi
}

# pg_user: makes the system user once; true when it exists (another test starting at the
# same moment may be making it: useradd then fails on the lock, and we look again).
pg_user() {
    [ "$(id -u)" -eq 0 ] || return 0
    k=0
    while [ $k -lt 20 ]; do
        getent passwd "$PG_USER" >/dev/null && return 0
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin --comment 'switchyard tests, throwaway PostgreSQL' \
            "$PG_USER" >>"$TMP/pg_user.log" 2>&1 && return 0
        sleep 0.1
        k=$((k + 1))
    done
    return 1
}

pg_ms() { echo $(($(date +%s%N) / 1000000)); }

# pg_fail MESSAGE [LOG...]: the failed check, with the tail of each LOG that says something
# (by default pg_ctl's and the server's).
pg_fail() {
    msg=$1
    shift
    [ $# -gt 0 ] || set -- "$TMP/pg/pg_ctl.log" "$TMP/pg/log"
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $msg"
    for f in "$@"; do
        [ -s "$f" ] || continue
        echo "# --- tail of $f"
        tail -n 15 "$f" | sed 's/^/# /'
    done
}

pg_secret() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }

# pg_port: a port of 20000-31999 on which nothing listens. Under the kernel's ephemeral
# range (32768-60999), where tap.sh's free_port (node, 0.1-0.3 s to start) and outgoing
# connections take theirs; one taken between this look and the bind is retried by pg_start.
pg_port() {
    k=0
    while [ $k -lt 50 ]; do
        p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 12000))
        if [ -z "$(ss -Hltn "sport = :$p")" ]; then
            echo "$p"
            return 0
        fi
        k=$((k + 1))
    done
    return 1
}

pg_sql() {
    printf '%s\n' "$2" | timeout 20 "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -f -
}

pg_start() {
    t0=$(pg_ms)
    for p in initdb pg_ctl postgres psql; do
        if [ ! -x "$PG_BIN/$p" ]; then
            pg_fail "PostgreSQL 15 is missing ($PG_BIN/$p): scripts/deps.sh installs it"
            return 1
        fi
    done
    if ! pg_user; then
        pg_fail "could not make the system user $PG_USER the cluster runs as (useradd)" \
            "$TMP/pg_user.log"
        return 1
    fi
    PG_DATA=$TMP/pg/data
    PG_LOG=$TMP/pg/log
    PGHOST=$TMP/pg/sock
    mkdir -p "$PGHOST"
    if [ "$(id -u)" -eq 0 ]; then
        chmod 711 "$TMP"
        chown -R "$PG_USER:$PG_USER" "$TMP/pg"
    fi
    chmod 711 "$TMP/pg" "$PGHOST"
    PG_PASS_SUPER=$(pg_secret)
    PG_PASS_OWNER=$(pg_secret)
    PG_PASS_APP=$(pg_secret)
    (umask 077 && echo "$PG_PASS_SUPER" >"$TMP/pg/pw")
    [ "$(id -u)" -ne 0 ] || chown "$PG_USER" "$TMP/pg/pw"
    # --no-sync skips only initdb's final flush of the new files (a second or more on a
    # busy disk): a machine crash loses the test anyway. The server itself runs with fsync,
    # synchronous_commit and full_page_writes on, as the durability tests need.
    if ! (cd "$TMP/pg" && pg_as "$PG_BIN/initdb" -D "$PG_DATA" -U postgres \
        --pwfile="$TMP/pg/pw" --auth=scram-sha-256 -E UTF8 --locale=C --no-instructions \
        --no-sync) >"$TMP/pg/initdb.log" 2>&1; then
        pg_fail "initdb into $PG_DATA failed" "$TMP/pg/initdb.log"
        return 1
    fi
    rm -f "$TMP/pg/pw"
    cat >>"$PG_DATA/postgresql.conf" <<CONF
# tests/integration/pg.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PGHOST'
fsync = ${PG_FSYNC:-on}
synchronous_commit = ${PG_FSYNC:-on}
full_page_writes = ${PG_FSYNC:-on}
max_connections = 50
shared_buffers = 16MB
CONF
    # A free port can be taken by another test between pg_port and the bind: try another.
    tries=0
    while :; do
        PGPORT=$(pg_port)
        if (cd "$TMP/pg" && pg_as "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t 20 \
            -o "-p $PGPORT") >"$TMP/pg/pg_ctl.log" 2>&1; then
            break
        fi
        tries=$((tries + 1))
        if [ $tries -ge 3 ] || ! grep -q 'could not bind\|could not create any TCP' "$PG_LOG"; then
            pg_stop
            pg_fail "pg_ctl start on 127.0.0.1:$PGPORT failed (or was not ready within 20 s)"
            return 1
        fi
    done
    PG_PID=$(head -1 "$PG_DATA/postmaster.pid")
    export PGHOST PGPORT
    # pg_ctl starts the server in a session of its own, which meson's timeout (SIGTERM to the
    # test's process group, SIGKILL 0.5 s later) does not reach, and a SIGKILLed script runs
    # no trap: this watcher, in a session of its own too, stops the cluster within a second
    # of the script's end and removes its folder (tap.sh's $TMP stays, as it does whenever
    # a script is SIGKILLed). pg_stop ends the watcher first on every other path.
    setsid sh -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done
        cd /
        if [ -f "$2/data/postmaster.pid" ]; then
            if [ "$(id -u)" -eq 0 ]; then
                setpriv --reuid="$4" --regid="$4" --clear-groups -- \
                    "$3/pg_ctl" stop -D "$2/data" -m immediate -w -t 10
            else
                "$3/pg_ctl" stop -D "$2/data" -m immediate -w -t 10
            fi
        fi
        rm -rf "$2"' sh "$$" "$TMP/pg" "$PG_BIN" "$PG_USER" </dev/null >/dev/null 2>&1 &
    PG_WATCH=$!
    # The database switchyard is initdb's `postgres` renamed: the same copy of template1 that
    # CREATE DATABASE would make again, a third of a second of writing and fsync saved.
    if ! pg_sql "host=$PGHOST port=$PGPORT dbname=template1 user=postgres password=$PG_PASS_SUPER" "
CREATE ROLE switchyard_owner LOGIN PASSWORD '$PG_PASS_OWNER'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
CREATE ROLE switchyard_app LOGIN PASSWORD '$PG_PASS_APP'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER DATABASE postgres RENAME TO switchyard;
ALTER DATABASE switchyard OWNER TO switchyard_owner;
REVOKE ALL ON DATABASE switchyard FROM PUBLIC;
GRANT CONNECT ON DATABASE switchyard TO switchyard_app;
\\connect switchyard
ALTER SCHEMA public OWNER TO switchyard_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO switchyard_app;
" >"$TMP/pg/setup.log" 2>&1; then
        pg_stop
        pg_fail "creating the database switchyard and its roles failed" "$TMP/pg/setup.log" \
            "$TMP/pg/log"
        return 1
    fi
    PG_URL_SUPER=postgres://postgres:$PG_PASS_SUPER@127.0.0.1:$PGPORT/switchyard
    PG_URL_OWNER=postgres://switchyard_owner:$PG_PASS_OWNER@127.0.0.1:$PGPORT/switchyard
    PG_URL_APP=postgres://switchyard_app:$PG_PASS_APP@127.0.0.1:$PGPORT/switchyard
    PG_START_MS=$(($(pg_ms) - t0))
    export PG_URL_SUPER PG_URL_OWNER PG_URL_APP PG_PASS_SUPER PG_PASS_OWNER PG_PASS_APP \
        PG_DATA PG_LOG PG_PID PG_START_MS
    ok "PostgreSQL 15 started on 127.0.0.1:$PGPORT and $PGHOST in $PG_START_MS ms"
    echo "# psql '$PG_URL_OWNER'"
}

pg_stop() {
    if [ -n "$PG_WATCH" ]; then
        kill "$PG_WATCH" 2>/dev/null
        wait "$PG_WATCH" 2>/dev/null
        PG_WATCH=""
    fi
    if [ -z "${PG_DATA:-}" ] || [ ! -f "$PG_DATA/postmaster.pid" ]; then
        PG_PID=""
        return 0
    fi
    if [ -n "${PG_PAUSE:-}" ]; then
        echo "# PG_PAUSE: the cluster stays up $PG_PAUSE s: psql '$PG_URL_OWNER'" >&2
        pause=$PG_PAUSE
        PG_PAUSE="" # once: Ctrl-C ends the pause and the trap's pg_stop stops at once
        sleep "$pause"
    fi
    pid=$(head -1 "$PG_DATA/postmaster.pid")
    (cd "$TMP/pg" && pg_as "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 10) \
        >>"$TMP/pg/pg_ctl.log" 2>&1 ||
        (cd "$TMP/pg" && pg_as "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m immediate -w -t 5) \
            >>"$TMP/pg/pg_ctl.log" 2>&1 ||
        kill -KILL "$pid" 2>/dev/null
    PG_PID=""
}

# tap.sh's exit removes $TMP: its hooks stop the cluster before. A signal (meson's timeout
# sends SIGTERM) ends the script through exit, so that its trap runs then too.
EXIT_HOOKS="$EXIT_HOOKS pg_stop"
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
