/* store_fixture.h - a fresh, empty store for a test of store.h, on either backend (issue 25:
 * every store test runs against both).
 *
 * SQLite, by default: a file in a new temporary folder. PostgreSQL when SY_TEST_PG_SUPER is
 * in the environment (tests/integration/pg_unit.sh runs the store tests a second time so):
 * SY_TEST_PG_SUPER, SY_TEST_PG_APP are postgres:// URIs of the superuser and of the
 * application role, each ending in "/DBNAME"; SY_TEST_PG_TEMPLATE names a database migrated
 * once (as the owner role), copied for each store (CREATE DATABASE ... TEMPLATE: the schema
 * and its grants come along), opened as the application role, dropped at close.
 *
 *   sy_store_t *s = fx_store_open();   // fails the test when it cannot
 *   fx_store_open_again()              // a second handle on the same store (threads, reopen)
 *   fx_store_close(s);                 // closes and removes the store
 *   fx_backend()                       // "sqlite" or "postgres"
 *   fx_store_make(), fx_uri, fx_store_drop()  // the store's URI only (an engine opens it)
 *   FX_SQLITE_ONLY("why")              // a test that calls sqlite3 itself: skipped on PG
 */
#ifndef SY_TEST_STORE_FIXTURE_H
#define SY_TEST_STORE_FIXTURE_H

#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef SY_HAVE_PQ
#include <libpq-fe.h>
#endif

#include "../harness.h"
#include "store/store.h"

static char fx_uri[512]; /* the store's URI: a path, or the app role's postgres:// URI */
static char fx_dir[64];  /* SQLite's folder */
static char fx_db[64];   /* PostgreSQL's database */
static int fx_count;

static const char *fx_backend(void)
{
    return getenv("SY_TEST_PG_SUPER") ? "postgres" : "sqlite";
}

#ifdef SY_HAVE_PQ
/* `uri` with its database (after the last '/') replaced by `db`, into `out`. */
static void fx_pg_uri(char *out, size_t cap, const char *uri, const char *db)
{
    const char *slash = strrchr(uri, '/');
    int n = slash ? (int)(slash - uri) : (int)strlen(uri);
    snprintf(out, cap, "%.*s/%s", n, uri, db);
}

/* Runs `sql` as the superuser; fails the test on an error. */
static void fx_pg_super(const char *sql)
{
    PGconn *c = PQconnectdb(getenv("SY_TEST_PG_SUPER"));
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connecting as the superuser: %s", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}
#endif

static sy_store_t *fx_store_open_again(void)
{
    sy_store_t *s = NULL;
    sy_err_t err = {0};
    if (sy_store_open(&s, fx_uri, &err) < 0)
        fail_msg("open %s store: %s", fx_backend(), err.msg);
    return s;
}

/* A new, empty store's URI into fx_uri (nothing opened yet): a path in a new folder, or
 * a new PostgreSQL database's app-role URI. fx_store_drop removes it. */
static void fx_store_make(void)
{
    fx_count++;
    if (!getenv("SY_TEST_PG_SUPER")) {
        snprintf(fx_dir, sizeof(fx_dir), "/tmp/sy-store-XXXXXX");
        if (!mkdtemp(fx_dir))
            fail_msg("mkdtemp");
        snprintf(fx_uri, sizeof(fx_uri), "%s/t.db", fx_dir);
        return;
    }
#ifdef SY_HAVE_PQ
    const char *tmpl = getenv("SY_TEST_PG_TEMPLATE");
    if (!tmpl || !getenv("SY_TEST_PG_APP"))
        fail_msg("SY_TEST_PG_SUPER without SY_TEST_PG_TEMPLATE and SY_TEST_PG_APP");
    snprintf(fx_db, sizeof(fx_db), "sy_t_%ld_%d", (long)getpid(), fx_count);
    char sql[256];
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE %s", fx_db, tmpl);
    fx_pg_super(sql);
    fx_pg_uri(fx_uri, sizeof(fx_uri), getenv("SY_TEST_PG_APP"), fx_db);
#else
    fail_msg("SY_TEST_PG_SUPER is set but this build has no libpq");
#endif
}

static void fx_store_drop(void)
{
    if (!getenv("SY_TEST_PG_SUPER")) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx_dir);
        if (system(cmd) != 0)
            fail_msg("%s failed", cmd);
        return;
    }
#ifdef SY_HAVE_PQ
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", fx_db);
    fx_pg_super(sql);
#endif
}

static sy_store_t *fx_store_open(void)
{
    fx_store_make();
    return fx_store_open_again();
}

static void fx_store_close(sy_store_t *s)
{
    sy_store_close(s);
    fx_store_drop();
}

/* For a test that reaches into SQLite itself (sqlite3 calls on the file, triggers): on
 * PostgreSQL it is skipped, saying so (pg_unit.sh counts it as a skip, by name). */
#define FX_SQLITE_ONLY(why)                                                                        \
    do {                                                                                           \
        if (getenv("SY_TEST_PG_SUPER")) {                                                          \
            print_message("# sqlite only: %s\n", why);                                             \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

#endif
