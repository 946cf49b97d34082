/* pg_schema_apply.c - applies src/store/postgres_schema.c to a PostgreSQL database, as the
 * store will: connected as the owner role, one transaction, the application role's name
 * bound as a parameter (never pasted into SQL), every statement in order, then the version.
 * A database already at SY_PG_SCHEMA_VERSION is left alone; one at another version is
 * refused (nothing here migrates yet).
 *
 *   pg_schema_apply CONNINFO APP_ROLE
 *
 * Prints "applied schema version N (S statements)" or "schema version N already"; exit 1
 * with libpq's message on stderr on any failure (the transaction then changed nothing).
 * tests/integration/pg_schema.sh runs it.
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/postgres_schema.h"

/* Runs `sql` with text parameters; true when it returned `want`. Prints why not. */
static bool run(PGconn *db, const char *sql, int n, const char *const *params, ExecStatusType want,
                PGresult **out)
{
    PGresult *r = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == want;
    if (!ok)
        fprintf(stderr, "pg_schema_apply: %.60s...: %s", sql, PQerrorMessage(db));
    if (ok && out)
        *out = r;
    else
        PQclear(r);
    return ok;
}

/* The version the database is at: 0 without a schema_version table, -1 on an error. */
static int64_t version_of(PGconn *db)
{
    PGresult *r;
    if (!run(db, "SELECT to_regclass('schema_version') IS NOT NULL", 0, NULL, PGRES_TUPLES_OK, &r))
        return -1;
    bool has = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!has)
        return 0;
    if (!run(db, "SELECT coalesce(max(version), 0) FROM schema_version", 0, NULL, PGRES_TUPLES_OK,
             &r))
        return -1;
    int64_t v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

static int apply(PGconn *db, const char *app_role)
{
    if (!run(db, "BEGIN", 0, NULL, PGRES_COMMAND_OK, NULL))
        return -1;
    /* Two appliers at once: the second waits, then finds the version. */
    if (!run(db, "SELECT pg_advisory_xact_lock(2025)", 0, NULL, PGRES_TUPLES_OK, NULL))
        goto out_rollback;
    int64_t v = version_of(db);
    if (v < 0)
        goto out_rollback;
    if (v == SY_PG_SCHEMA_VERSION) {
        printf("schema version %d already\n", SY_PG_SCHEMA_VERSION);
        return run(db, "COMMIT", 0, NULL, PGRES_COMMAND_OK, NULL) ? 0 : -1;
    }
    if (v != 0) {
        fprintf(stderr, "pg_schema_apply: the database is at schema version %" PRId64 ", not %d\n",
                v, SY_PG_SCHEMA_VERSION);
        goto out_rollback;
    }
    const char *role[] = {app_role};
    if (!run(db, "SELECT set_config('switchyard.app_role', $1, true)", 1, role, PGRES_TUPLES_OK,
             NULL))
        goto out_rollback;
    for (size_t i = 0; i < sy_pg_schema_count; i++) {
        /* Several commands in one entry: the simple query protocol (PQexec) runs them all. */
        PGresult *r = PQexec(db, sy_pg_schema[i]);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok) {
            fprintf(stderr, "pg_schema_apply: statement %zu: %s", i, PQerrorMessage(db));
            goto out_rollback;
        }
    }
    char version[16];
    snprintf(version, sizeof(version), "%d", SY_PG_SCHEMA_VERSION);
    const char *vp[] = {version};
    if (!run(db, "INSERT INTO schema_version (version) VALUES ($1)", 1, vp, PGRES_COMMAND_OK,
             NULL) ||
        !run(db, "COMMIT", 0, NULL, PGRES_COMMAND_OK, NULL))
        goto out_rollback;
    printf("applied schema version %d (%zu statements)\n", SY_PG_SCHEMA_VERSION,
           sy_pg_schema_count);
    return 0;
out_rollback:
    PQclear(PQexec(db, "ROLLBACK"));
    return -1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: pg_schema_apply CONNINFO APP_ROLE\n");
        return 2;
    }
    PGconn *db = PQconnectdb(argv[1]);
    if (PQstatus(db) != CONNECTION_OK) {
        fprintf(stderr, "pg_schema_apply: %s", PQerrorMessage(db));
        PQfinish(db);
        return 1;
    }
    int rc = apply(db, argv[2]);
    PQfinish(db);
    return rc < 0 ? 1 : 0;
}
