/* test_sqlite.c - the SQLite store: migrations and its own files (the tests of store.h that
 * hold for both backends are test_ops_*.c's, on store_fixture.h). */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../harness.h"
#include "store/store.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/sy-store-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof(path), "%s/t.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static sy_store_t *open_store(void)
{
    sy_store_t *s = NULL;
    sy_err_t err = {0};
    int rc = sy_store_open(&s, path, &err);
    if (rc < 0)
        fail_msg("open: %s", err.msg);
    return s;
}

static void migrates_once_and_keeps_data(void **state)
{
    (void)state;
    sy_store_t *s = open_store();
    int version = sy_store_schema_version(s);
    assert_true(version >= 1);
    assert_true(sy_store_ping(s));
    int64_t id;
    assert_int_equal(sy_store_workspace_create(s, "a", 1, &id, NULL), 0);
    sy_store_close(s);
    s = open_store();
    assert_int_equal(sy_store_schema_version(s), version);
    int64_t again;
    assert_int_equal(sy_store_workspace_find(s, "a", &again, NULL), 0);
    assert_int_equal(again, id);
    sy_store_close(s);
}

/* The arms table as migration 2 made it, with `extra` columns after its own (and the KPI
 * events without migration 16's unit, which a database of that time lacked too). */
#define OLD_ARMS(extra)                                                                            \
    "DROP INDEX kpi_events_unit; ALTER TABLE kpi_events DROP COLUMN unit;"                         \
    "DROP TABLE experiment_arms;"                                                                  \
    "CREATE TABLE experiment_arms (experiment_id INTEGER NOT NULL, variant TEXT NOT NULL,"         \
    " units INTEGER NOT NULL, conversions INTEGER NOT NULL, value_sum REAL NOT NULL,"              \
    " value_sumsq REAL NOT NULL, errors INTEGER NOT NULL, crossovers INTEGER NOT NULL,"            \
    " seq_p REAL NOT NULL" extra ", PRIMARY KEY (experiment_id, variant));"

/* A database made while migration 2 lacked what it was given later opens, repaired. */
static void repairs_an_early_migration_2(void **state)
{
    (void)state;
    sy_store_close(open_store());
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TABLE workspace_settings; DROP TABLE allocation_changes;"
                                  "ALTER TABLE experiments DROP COLUMN weights;"
                                  "ALTER TABLE events DROP COLUMN latency_ms;" OLD_ARMS(
                                      "") "DELETE FROM schema_version WHERE version > 10;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    sy_store_t *s = open_store();
    assert_int_equal(sy_store_schema_version(s), 16); /* every migration, the later ones too */
    sy_store_close(s);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "SELECT weights FROM experiments;"
                                  "SELECT latency_ms FROM events;"
                                  "SELECT latency_sd FROM experiment_arms;"
                                  "SELECT name FROM workspace_settings;"
                                  "SELECT detail FROM allocation_changes;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    s = open_store(); /* and a database that had them all is left as it is */
    sy_store_close(s);
}

/* Migration 12: an arm's sums become its mean and sd. */
static void arms_kept_as_sums_become_moments(void **state)
{
    (void)state;
    sy_store_close(open_store());
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    /* values 1, 2, 3 (mean 2, sd 1); latencies 10 and 30 (mean 20, sd 14.142...) */
    assert_int_equal(
        sqlite3_exec(
            db,
            OLD_ARMS(
                ", latency_n INTEGER NOT NULL, latency_sum REAL NOT NULL,"
                " latency_sumsq REAL NOT NULL") "INSERT INTO workspaces (id, name, created_ms) "
                                                "VALUES (1, 'w', 0);"
                                                "INSERT INTO experiments (id, workspace_id, key, "
                                                "flag_key, definition,"
                                                " state, created_ms) VALUES (7, 1, 'e', 'f', '{}', "
                                                "'running', 0);"
                                                "INSERT INTO experiment_arms VALUES (7, 'b', 3, 1, "
                                                "6, 14, 0, 0,"
                                                " 0.5, 2, 40, 1000);"
                                                "INSERT INTO experiment_arms VALUES (7, 'a', 0, 0, "
                                                "0, 0, 0, 0,"
                                                " 1, 0, 0, 0);"
                                                "DELETE FROM schema_version WHERE version > 11;",
            NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    sy_store_t *s = open_store();
    assert_int_equal(sy_store_schema_version(s), 16);
    sy_store_close(s);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT variant, units, value_mean, value_sd, seq_p,"
                                        " latency_n, latency_mean, latency_sd FROM experiment_arms"
                                        " ORDER BY variant",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "a");
    assert_true(sqlite3_column_double(st, 2) == 0 && sqlite3_column_double(st, 3) == 0);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "b");
    assert_int_equal(sqlite3_column_int64(st, 1), 3);
    assert_close(sqlite3_column_double(st, 2), 2, 1e-15, 0);
    assert_close(sqlite3_column_double(st, 3), 1, 1e-15, 0);
    assert_close(sqlite3_column_double(st, 4), 0.5, 0, 0);
    assert_int_equal(sqlite3_column_int64(st, 5), 2);
    assert_close(sqlite3_column_double(st, 6), 20, 1e-15, 0);
    assert_close(sqlite3_column_double(st, 7), sqrt(200), 1e-15, 0);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    assert_int_not_equal(sqlite3_exec(db, "SELECT 1 FROM experiment_arms_sums", NULL, NULL, NULL),
                         SQLITE_OK); /* gone */
    sqlite3_close(db);
}

static void refuses_a_newer_schema(void **state)
{
    (void)state;
    sy_store_close(open_store());
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_version VALUES (999)", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    sy_store_t *s = NULL;
    sy_err_t err = {0};
    assert_int_equal(sy_store_open(&s, path, &err), -EPROTO);
    assert_null(s);
    assert_non_null(strstr(err.msg, "newer"));
}

/* A schema version that cannot be read (here: a view whose row fails as a busy or broken
 * database would) is an error, not version 0: the migrations must not run again over the
 * tables, and the message says what could not be read. */
static void an_unreadable_schema_version_is_an_error_not_version_0(void **state)
{
    (void)state;
    sy_store_close(open_store());
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TABLE schema_version; CREATE VIEW schema_version AS"
                                  " SELECT abs(-9223372036854775807 - 1) AS version",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    sy_store_t *s = NULL;
    sy_err_t err = {0};
    assert_int_equal(sy_store_open(&s, path, &err), -EIO);
    assert_null(s);
    assert_non_null(strstr(err.msg, "schema version"));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(migrates_once_and_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(repairs_an_early_migration_2, setup, teardown),
        cmocka_unit_test_setup_teardown(arms_kept_as_sums_become_moments, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_a_newer_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(an_unreadable_schema_version_is_an_error_not_version_0,
                                        setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
