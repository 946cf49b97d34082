#!/bin/sh
# pg_harness.sh - tests/integration/pg.sh on this machine, and the row-level security that
# issue 25's store will rely on: a cluster started from Debian's PostgreSQL 15; both roles
# connect over TCP and the Unix socket, with their passwords only; the server's settings
# (loopback and $TMP's socket only, fsync on); the application role cannot create tables in
# the owner's schema, switch row-level security off or bypass it: on a table with FORCE ROW
# LEVEL SECURITY and a policy on current_setting('app.workspace_id', true), it sees nothing
# without the setting, only its workspace's rows with SET LOCAL inside a transaction, and
# cannot insert another workspace's row; then pg_stop leaves no server and a free port.
# A missing PostgreSQL fails, naming scripts/deps.sh.
#
#   pg_harness.sh
set -u
HERE=$(dirname "$0")
. "$HERE/tap.sh"
. "$HERE/pg.sh"

check "without PostgreSQL, pg_start fails saying scripts/deps.sh installs it" 1 \
    '^not ok 1 - PostgreSQL 15 is missing .*scripts/deps.sh installs it' '' -- \
    env PG_BIN=/nonexistent sh -c '. "$1/tap.sh"; . "$1/pg.sh"; pg_start' sh "$HERE"

pg_start || {
    tap_done
    exit 1
}
check "pg_start took under 20 s, its bounded wait ($PG_START_MS ms; about 2 s on a quiet machine)" 0 "" "" -- test "$PG_START_MS" -lt 20000
check "the URLs are postgres:// URLs on 127.0.0.1 and the port" 0 \
    "^postgres://switchyard_owner:[0-9a-f]+@127.0.0.1:$PGPORT/switchyard postgres://switchyard_app:[0-9a-f]+@127.0.0.1:$PGPORT/switchyard$" \
    '' -- echo "$PG_URL_OWNER $PG_URL_APP"

SOCK_OWNER="host=$PGHOST port=$PGPORT dbname=switchyard user=switchyard_owner password=$PG_PASS_OWNER"
SOCK_APP="host=$PGHOST port=$PGPORT dbname=switchyard user=switchyard_app password=$PG_PASS_APP"
WHO="SELECT current_user, coalesce(host(inet_server_addr()), 'socket')"
# ---- connections -------------------------------------------------------------------------
check "the owner connects over TCP" 0 '^switchyard_owner\|127\.0\.0\.1$' '' -- \
    pg_sql "$PG_URL_OWNER" "$WHO"
check "the app role connects over TCP" 0 '^switchyard_app\|127\.0\.0\.1$' '' -- \
    pg_sql "$PG_URL_APP" "$WHO"
check "the owner connects over the socket in \$TMP" 0 '^switchyard_owner\|socket$' '' -- \
    pg_sql "$SOCK_OWNER" "$WHO"
check "the app role connects over the socket in \$TMP" 0 '^switchyard_app\|socket$' '' -- \
    pg_sql "$SOCK_APP" "$WHO"
check "a wrong password is refused over TCP" 2 '' 'password authentication failed' -- \
    pg_sql "postgres://switchyard_app:wrong@127.0.0.1:$PGPORT/switchyard" "SELECT 1"
check "a wrong password is refused over the socket" 2 '' 'password authentication failed' -- \
    pg_sql "host=$PGHOST port=$PGPORT dbname=switchyard user=switchyard_owner password=wrong" \
    "SELECT 1"
check "the server listens on 127.0.0.1 and \$TMP's socket only, fsync on" 0 \
    "^127\.0\.0\.1\|$PGHOST\|on\|on\|on$" '' -- pg_sql "$PG_URL_SUPER" \
    "SELECT current_setting('listen_addresses'), current_setting('unix_socket_directories'),
            current_setting('fsync'), current_setting('synchronous_commit'),
            current_setting('full_page_writes')"
# listeners PORT: the TCP sockets listening on PORT, one line each; true when there is one.
listeners() {
    ss -Hltn "sport = :$1" >"$TMP/ss"
    cat "$TMP/ss"
    [ "$(wc -l <"$TMP/ss")" -eq 1 ]
}
check "one TCP socket listens on the port, on 127.0.0.1" 0 \
    "^LISTEN +[0-9]+ +[0-9]+ +127\.0\.0\.1:$PGPORT " '' -- listeners "$PGPORT"

# ---- roles ----------------------------------------------------------------------------------
check "both roles LOGIN, neither superuser nor BYPASSRLS; the app no member of the owner" 0 \
    '^switchyard_app f f t switchyard_owner f f t\|f$' '' -- pg_sql "$PG_URL_APP" \
    "SELECT string_agg(concat_ws(' ', rolname, rolsuper, rolbypassrls, rolcanlogin), ' '
                       ORDER BY rolname),
            pg_has_role('switchyard_app', 'switchyard_owner', 'MEMBER')
       FROM pg_roles WHERE rolname LIKE 'switchyard%'"
check "the owner role owns the database and its schema public" 0 \
    '^switchyard_owner\|switchyard_owner$' '' -- pg_sql "$PG_URL_APP" \
    "SELECT (SELECT datdba::regrole FROM pg_database WHERE datname = 'switchyard'),
            (SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'public')"
check "the app role cannot create a table in the owner's schema" 3 '' \
    'permission denied for schema public' -- pg_sql "$PG_URL_APP" "CREATE TABLE mine (x int)"
check "the app role cannot create a schema of its own" 3 '' \
    'permission denied for database switchyard' -- pg_sql "$PG_URL_APP" "CREATE SCHEMA mine"

# ---- row-level security ---------------------------------------------------------------------
# As the owner: a table of two workspaces (FORCE: the owner too is held by the policy, so
# it sets the workspace to insert each one's rows).
check "the owner makes a table with FORCE ROW LEVEL SECURITY and a workspace policy" 0 \
    '^t\|t\|1$' '' -- pg_sql "$PG_URL_OWNER" "
CREATE TABLE notes (workspace_id text NOT NULL, body text NOT NULL);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notes FORCE ROW LEVEL SECURITY;
CREATE POLICY notes_workspace ON notes
    USING (workspace_id = current_setting('app.workspace_id', true))
    WITH CHECK (workspace_id = current_setting('app.workspace_id', true));
GRANT SELECT, INSERT ON notes TO switchyard_app;
BEGIN;
SET LOCAL app.workspace_id = 'ws-a';
INSERT INTO notes VALUES ('ws-a', 'a1'), ('ws-a', 'a2');
SET LOCAL app.workspace_id = 'ws-b';
INSERT INTO notes VALUES ('ws-b', 'b1'), ('ws-b', 'b2'), ('ws-b', 'b3');
COMMIT;
SELECT relrowsecurity, relforcerowsecurity,
       (SELECT count(*) FROM pg_policy WHERE polrelid = 'notes'::regclass)
  FROM pg_class WHERE oid = 'notes'::regclass;"
check "the owner, held by FORCE, sees no row without the setting" 0 '^0$' '' -- \
    pg_sql "$PG_URL_OWNER" "SELECT count(*) FROM notes"
check "the app role sees no row without the setting" 0 '^0$' '' -- \
    pg_sql "$PG_URL_APP" "SELECT count(*) FROM notes"
check "the app role sees only ws-a's rows with SET LOCAL app.workspace_id = 'ws-a'" 0 \
    '^2\|a1,a2$' '' -- pg_sql "$PG_URL_APP" "
BEGIN;
SET LOCAL app.workspace_id = 'ws-a';
SELECT count(*), string_agg(body, ',' ORDER BY body) FROM notes;
COMMIT;"
check "the app role sees only ws-b's rows with SET LOCAL app.workspace_id = 'ws-b'" 0 \
    '^3\|b1,b2,b3$' '' -- pg_sql "$SOCK_APP" "
BEGIN;
SET LOCAL app.workspace_id = 'ws-b';
SELECT count(*), string_agg(body, ',' ORDER BY body) FROM notes;
COMMIT;"
# in_and_after URL: the rows seen inside a transaction that sets ws-a, then after it, in
# one session.
in_and_after() {
    pg_sql "$1" "BEGIN; SET LOCAL app.workspace_id = 'ws-a'; SELECT count(*) FROM notes;
                 COMMIT; SELECT count(*) FROM notes;" | tr '\n' ' '
}
check "SET LOCAL ends with its transaction: 2 rows in it, none after COMMIT" 0 '^2 0 $' '' -- \
    in_and_after "$PG_URL_APP"
check "the app role cannot insert another workspace's row" 3 '' \
    'new row violates row-level security policy for table "notes"' -- pg_sql "$PG_URL_APP" "
BEGIN;
SET LOCAL app.workspace_id = 'ws-a';
INSERT INTO notes VALUES ('ws-b', 'smuggled');
COMMIT;"
check "the app role cannot insert a row without the setting" 3 '' \
    'new row violates row-level security policy for table "notes"' -- \
    pg_sql "$PG_URL_APP" "INSERT INTO notes VALUES ('ws-a', 'unscoped')"
check "the app role inserts its own workspace's row" 0 '^3$' '' -- pg_sql "$PG_URL_APP" "
BEGIN;
SET LOCAL app.workspace_id = 'ws-a';
INSERT INTO notes VALUES ('ws-a', 'a3');
SELECT count(*) FROM notes;
COMMIT;"
check "the app role cannot bypass the policies (row_security = off refused)" 3 '' \
    'query would be affected by row-level security policy for table "notes"' -- \
    pg_sql "$PG_URL_APP" "SET row_security = off; SELECT count(*) FROM notes"
check "the app role cannot switch row-level security off on the table" 3 '' \
    'must be owner of table notes' -- \
    pg_sql "$PG_URL_APP" "ALTER TABLE notes NO FORCE ROW LEVEL SECURITY"
check "nothing the app role tried reached ws-b: its 3 rows as they were" 0 '^3\|b1,b2,b3$' '' -- \
    pg_sql "$PG_URL_OWNER" "
BEGIN;
SET LOCAL app.workspace_id = 'ws-b';
SELECT count(*), string_agg(body, ',' ORDER BY body) FROM notes;
COMMIT;"

# ---- stop -----------------------------------------------------------------------------------
pid=$PG_PID
pg_stop
pg_status() { (cd / && pg_as "$PG_BIN/pg_ctl" status -D "$PG_DATA"); }
check "pg_ctl status: no server runs on the data folder" 3 'no server running' '' -- pg_status
# gone PID: no process of the postmaster's session lives (pg_ctl starts it in a session of
# its own, its children with it), and the data folder has no postmaster.pid. An exited
# postmaster may stay a zombie for a while: pg_ctl's start left it to PID 1, which here
# reaps late; a zombie holds no port, file or memory, so it counts as gone.
gone() {
    ps -e -o sid=,pid=,stat=,args= | awk -v sid="$1" '$1 == sid && $3 !~ /^Z/' >"$TMP/alive"
    cat "$TMP/alive"
    [ ! -s "$TMP/alive" ] && [ ! -e "$PG_DATA/postmaster.pid" ]
}
check "the postmaster ($pid) and its children are gone" 0 '' '' -- gone "$pid"
check "the port is free: no listener, and it binds again" 0 '^bound$' '' -- \
    sh -c '[ -z "$(ss -Hltn "sport = :$1")" ] && [ ! -e "$2/.s.PGSQL.$1" ] &&
        node -e "require(\"net\").createServer().listen($1, \"127.0.0.1\", function () {
            console.log(\"bound\"); this.close(); })"' sh "$PGPORT" "$PGHOST"
check "pg_stop again does nothing" 0 '' '' -- pg_stop
tap_done
