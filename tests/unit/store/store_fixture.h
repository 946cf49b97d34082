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
 *   fx_backend(), fx_is_pg()           // "sqlite" or "postgres"
 *   fx_store_make(), fx_uri, fx_store_drop()  // the store's URI only (an engine opens it)
 *   fx_place_make(&p), p.uri, fx_place_drop(&p) // another store in the same test
 *   fx_sql_exec(uri, sqlite, pg)       // SQL behind the store's back, either backend
 *   fx_sql_text(uri, sqlite, pg, arg), fx_sql_int64(...) // a query's first value
 *   FX_SQLITE_ONLY("why")              // a test that has no PostgreSQL form: skipped on PG
 *
 * The functions are `static inline`: a test uses some of them, not all.
 */
#ifndef SY_TEST_STORE_FIXTURE_H
#define SY_TEST_STORE_FIXTURE_H

#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>
#ifdef SY_HAVE_PQ
#include <libpq-fe.h>
#endif

#include "../harness.h"
#include "store/store.h"

/* One store of a test: what opens it and what removes it. */
struct fx_place {
    char uri[512]; /* a path, or the app role's postgres:// URI */
    char dir[64];  /* SQLite's folder */
    char db[64];   /* PostgreSQL's database */
};

static struct fx_place fx_main; /* the store of fx_store_make */
static char *const fx_uri = fx_main.uri;
static char *const fx_db = fx_main.db;
static int fx_count;

static inline bool fx_is_pg(void)
{
    return getenv("SY_TEST_PG_SUPER") != NULL;
}

static inline const char *fx_backend(void)
{
    return fx_is_pg() ? "postgres" : "sqlite";
}

#ifdef SY_HAVE_PQ
/* `uri` with its database (after the last '/') replaced by `db`, into `out`. */
static inline void fx_pg_uri(char *out, size_t cap, const char *uri, const char *db)
{
    const char *slash = strrchr(uri, '/');
    int n = slash ? (int)(slash - uri) : (int)strlen(uri);
    int w = snprintf(out, cap, "%.*s/%s", n, uri, db);
    if (w < 0 || (size_t)w >= cap)
        fail_msg("a PostgreSQL URI longer than %zu bytes", cap);
}

/* The server's notices ("does not exist, skipping") are not the test's output. */
static inline void fx_pg_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* A superuser's connection to database `db` (NULL: SY_TEST_PG_SUPER's own); fails the test
 * when it cannot. */
static inline PGconn *fx_pg_connect(const char *db)
{
    char uri[512];
    if (db)
        fx_pg_uri(uri, sizeof(uri), getenv("SY_TEST_PG_SUPER"), db);
    else
        snprintf(uri, sizeof(uri), "%s", getenv("SY_TEST_PG_SUPER"));
    PGconn *c = PQconnectdb(uri);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connecting as the superuser: %s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, fx_pg_quiet, NULL);
    return c;
}

/* Runs `sql` as the superuser; fails the test on an error. */
static inline void fx_pg_super(const char *sql)
{
    PGconn *c = fx_pg_connect(NULL);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* The database of a store's app-role URI (after its last '/'). */
static inline const char *fx_pg_db_of(const char *uri)
{
    const char *slash = strrchr(uri, '/');
    return slash ? slash + 1 : uri;
}
#endif

static inline sy_store_t *fx_store_open_again(void)
{
    sy_store_t *s = NULL;
    sy_err_t err = {0};
    if (sy_store_open(&s, fx_uri, &err) < 0)
        fail_msg("open %s store: %s", fx_backend(), err.msg);
    return s;
}

/* A new, empty store's URI into p->uri (nothing opened yet): a path in a new folder, or a
 * new PostgreSQL database's app-role URI. fx_place_drop removes it. */
static inline void fx_place_make(struct fx_place *p)
{
    fx_count++;
    if (!fx_is_pg()) {
        snprintf(p->dir, sizeof(p->dir), "/tmp/sy-store-XXXXXX");
        if (!mkdtemp(p->dir))
            fail_msg("mkdtemp");
        snprintf(p->uri, sizeof(p->uri), "%s/t.db", p->dir);
        return;
    }
#ifdef SY_HAVE_PQ
    const char *tmpl = getenv("SY_TEST_PG_TEMPLATE");
    if (!tmpl || !getenv("SY_TEST_PG_APP"))
        fail_msg("SY_TEST_PG_SUPER without SY_TEST_PG_TEMPLATE and SY_TEST_PG_APP");
    snprintf(p->db, sizeof(p->db), "sy_t_%ld_%d", (long)getpid(), fx_count);
    char sql[256];
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE %s", p->db, tmpl);
    fx_pg_super(sql);
    fx_pg_uri(p->uri, sizeof(p->uri), getenv("SY_TEST_PG_APP"), p->db);
#else
    fail_msg("SY_TEST_PG_SUPER is set but this build has no libpq");
#endif
}

static inline void fx_place_drop(const struct fx_place *p)
{
    if (!fx_is_pg()) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p->dir);
        if (system(cmd) != 0)
            fail_msg("%s failed", cmd);
        return;
    }
#ifdef SY_HAVE_PQ
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", p->db);
    fx_pg_super(sql);
#endif
}

/* The test's store (fx_uri): made, removed. */
static inline void fx_store_make(void)
{
    fx_place_make(&fx_main);
}

static inline void fx_store_drop(void)
{
    fx_place_drop(&fx_main);
}

static inline sy_store_t *fx_store_open(void)
{
    fx_store_make();
    return fx_store_open_again();
}

static inline void fx_store_close(sy_store_t *s)
{
    sy_store_close(s);
    fx_store_drop();
}

/* ---- SQL behind the store's back ---------------------------------------------------------
 * For a test that makes a write fail (a trigger), damages a row, or counts rows the API does
 * not show: `sqlite` runs on SQLite's file, `pg` on PostgreSQL as the superuser on the
 * store's database (so row-level security does not hide or refuse rows). `pg` NULL: the
 * same text on both. `uri` is the store's, as the engine opens it (fx_uri, p.uri). */

/* Runs `sqlite` / `pg` (one or more statements); fails the test on an error. */
static inline void fx_sql_exec(const char *uri, const char *sqlite, const char *pg)
{
    if (!fx_is_pg()) {
        sqlite3 *db;
        char *msg = NULL;
        if (sqlite3_open(uri, &db) != SQLITE_OK)
            fail_msg("open %s: %s", uri, sqlite3_errmsg(db));
        sqlite3_busy_timeout(db, 5000);
        if (sqlite3_exec(db, sqlite, NULL, NULL, &msg) != SQLITE_OK)
            fail_msg("%s: %s", sqlite ? sqlite : "-", msg);
        sqlite3_close(db);
        return;
    }
#ifdef SY_HAVE_PQ
    const char *sql = pg ? pg : sqlite;
    PGconn *c = fx_pg_connect(fx_pg_db_of(uri));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
#else
    (void)pg;
#endif
}

/* The first column of the first row of query `sqlite` / `pg`, with `arg` (NULL: none) as its
 * one text parameter (?1 on SQLite, $1 on PostgreSQL): returns it owned (free), or NULL for
 * no row or an SQL NULL. Fails the test on an error. */
static inline char *fx_sql_text(const char *uri, const char *sqlite, const char *pg,
                                const char *arg)
{
    char *out = NULL;
    if (!fx_is_pg()) {
        sqlite3 *db;
        sqlite3_stmt *st;
        if (sqlite3_open(uri, &db) != SQLITE_OK)
            fail_msg("open %s: %s", uri, sqlite3_errmsg(db));
        sqlite3_busy_timeout(db, 5000);
        if (sqlite3_prepare_v2(db, sqlite, -1, &st, NULL) != SQLITE_OK)
            fail_msg("%s: %s", sqlite ? sqlite : "-", sqlite3_errmsg(db));
        if (arg)
            sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
            out = strdup((const char *)sqlite3_column_text(st, 0));
        else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            fail_msg("%s: %s", sqlite ? sqlite : "-", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        sqlite3_close(db);
        return out;
    }
#ifdef SY_HAVE_PQ
    const char *sql = pg ? pg : sqlite;
    PGconn *c = fx_pg_connect(fx_pg_db_of(uri));
    PGresult *r = PQexecParams(c, sql, arg ? 1 : 0, NULL, arg ? &arg : NULL, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        out = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
#else
    (void)pg;
#endif
    return out;
}

/* The same, an integer (a count): fails the test for no row or NULL. */
static inline int64_t fx_sql_int64(const char *uri, const char *sqlite, const char *pg,
                                   const char *arg)
{
    char *t = fx_sql_text(uri, sqlite, pg, arg);
    if (!t)
        fail_msg("%s: no value", fx_is_pg() && pg ? pg : sqlite);
    int64_t n = strtoll(t, NULL, 10);
    free(t);
    return n;
}

/* For a test with no PostgreSQL form (SQLite's own file, its memory database): on
 * PostgreSQL it is skipped, saying why (pg_unit.sh reports it as a TAP skip, by name). */
#define FX_SQLITE_ONLY(why)                                                                        \
    do {                                                                                           \
        if (fx_is_pg()) {                                                                          \
            print_message("# sqlite only: %s\n", why);                                             \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

#endif
