/* test_sqlite.c - the SQLite store: migrations, transactions, workspace scoping. */
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

/* The arms table as migration 2 made it, with `extra` columns after its own. */
#define OLD_ARMS(extra)                                                                            \
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
    assert_int_equal(sy_store_schema_version(s), 14); /* every migration, the later ones too */
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
    assert_int_equal(sy_store_schema_version(s), 14);
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

/* A KPI window's mean of values at an offset of 1e12: kept as the values come, not summed
 * (10,000 values of 1e12 sum to 1e16, whose rounding moves the mean by about 0.01). */
static void a_kpi_window_mean_keeps_its_digits(void **state)
{
    (void)state;
    sy_store_t *s = open_store();
    int64_t ws;
    assert_int_equal(sy_store_workspace_create(s, "w", 1, &ws, NULL), 0);
    assert_int_equal(sy_store_begin(s, NULL), 0);
    for (int k = 0; k < 10000; k++) {
        sy_store_kpi_t e = {.workspace = ws,
                            .domain = "d",
                            .metric = "m",
                            .success = -1,
                            .has_value = true,
                            .value = 1e12 + 0.25 * k + (k % 2 ? 0.1 : -0.1),
                            .actor = "t",
                            .at_ms = k};
        bool added;
        assert_int_equal(sy_store_kpi_add(s, &e, &added, NULL), 0);
    }
    assert_int_equal(sy_store_commit(s, NULL), 0);
    int64_t events, successes;
    double mean;
    assert_int_equal(sy_store_kpi_window(s, ws, "d", "m", true, NULL, 0, 10000, &events, &successes,
                                         &mean, NULL),
                     0);
    assert_int_equal(events, 10000);
    assert_close(mean - 1e12, 0.25 * 4999.5, 0, 1e-6);
    /* the newest 4,000 after skipping 1,000: k from 5,000 to 8,999 */
    assert_int_equal(sy_store_kpi_window(s, ws, "d", "m", true, NULL, 1000, 4000, &events,
                                         &successes, &mean, NULL),
                     0);
    assert_int_equal(events, 4000);
    assert_close(mean - 1e12, 0.25 * 6999.5, 0, 1e-6);
    sy_store_close(s);
}

/* A span leaves a gap out of a series: the window after it sees only what came after the
 * gap, the baseline skips it and goes on before it; a place names an event by (at_ms, id). */
static void a_kpi_span_leaves_its_gap_out(void **state)
{
    (void)state;
    sy_store_t *s = open_store();
    int64_t ws;
    assert_int_equal(sy_store_workspace_create(s, "w", 1, &ws, NULL), 0);
    assert_int_equal(sy_store_begin(s, NULL), 0);
    for (int k = 0; k < 100; k++) { /* success for k < 60 and k >= 80: the gap is 60..79 */
        sy_store_kpi_t e = {.workspace = ws,
                            .domain = "d",
                            .metric = "m",
                            .success = k < 60 || k >= 80,
                            .actor = "t",
                            .at_ms = 1000 + k};
        bool added;
        assert_int_equal(sy_store_kpi_add(s, &e, &added, NULL), 0);
    }
    assert_int_equal(sy_store_commit(s, NULL), 0);
    sy_store_kpi_place_t from, to, p;
    bool found;
    assert_int_equal(sy_store_kpi_place(s, ws, "d", "m", false, NULL, 40, &from, &found, NULL), 0);
    assert_true(found);
    assert_int_equal(from.at_ms, 1000 + 59); /* the 41st newest */
    assert_int_equal(sy_store_kpi_place(s, ws, "d", "m", false, NULL, 20, &to, &found, NULL), 0);
    assert_int_equal(to.at_ms, 1000 + 79);
    from.at_ms++; /* the gap: 60..79 */
    from.id++;
    sy_store_kpi_span_t after = {
        .has_gap = true, .after_gap = true, .gap_from = from, .gap_to = to};
    sy_store_kpi_span_t around = after;
    around.after_gap = false;
    int64_t events, successes;
    double mean;
    assert_int_equal(sy_store_kpi_window(s, ws, "d", "m", false, &after, 0, 50, &events, &successes,
                                         &mean, NULL),
                     0);
    assert_int_equal(events, 20); /* 80..99 only */
    assert_int_equal(successes, 20);
    assert_int_equal(sy_store_kpi_window(s, ws, "d", "m", false, &around, 20, 50, &events,
                                         &successes, &mean, NULL),
                     0);
    assert_int_equal(events, 50); /* 59 down to 10: the gap left out */
    assert_int_equal(successes, 50);
    assert_int_equal(
        sy_store_kpi_window(s, ws, "d", "m", false, NULL, 20, 50, &events, &successes, &mean, NULL),
        0);
    assert_int_equal(successes, 30); /* without the span the gap's 20 failures count */
    assert_int_equal(sy_store_kpi_place(s, ws, "d", "m", false, &after, 20, &p, &found, NULL), 0);
    assert_false(found); /* nothing after the gap past the 20 */
    assert_int_equal(sy_store_kpi_place(s, ws, "d", "m", true, NULL, 0, &p, &found, NULL), 0);
    assert_false(found); /* no event carries a value */
    sy_store_close(s);
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

/* The fault injection the engine's test uses: the chosen statement fails with -EIO before
 * SQLite sees it, a failed commit rolls back, and the count starts again at each arming. */
static void rollback_leaves_nothing(void **state)
{
    (void)state;
    sy_store_t *s = open_store();
    int64_t ws;
    assert_int_equal(sy_store_workspace_create(s, "w", 1, &ws, NULL), 0);
    assert_int_equal(sy_store_begin(s, NULL), 0);
    bool created;
    sy_store_flag_t f = {.key = "k", .definition = "{}", .updated_ms = 2};
    assert_int_equal(sy_store_flag_put(s, ws, &f, &created, NULL), 0);
    assert_true(created);
    sy_store_rollback(s);
    assert_int_equal(sy_store_flag_delete(s, ws, "k", NULL), -ENOENT);
    sy_store_close(s);
}

static int count_flags(void *arg, const sy_store_flag_t *f)
{
    (void)f;
    (*(int *)arg)++;
    return 0;
}

static void every_row_is_scoped_by_workspace(void **state)
{
    (void)state;
    sy_store_t *s = open_store();
    int64_t a, b, tok;
    sy_err_t err = {0};
    assert_int_equal(sy_store_workspace_create(s, "a", 1, &a, NULL), 0);
    assert_int_equal(sy_store_workspace_create(s, "b", 1, &b, NULL), 0);
    assert_int_equal(sy_store_workspace_create(s, "a", 1, &tok, &err), -EEXIST);
    bool created;
    sy_store_flag_t f = {.key = "k", .definition = "{\"state\":\"ENABLED\"}", .updated_ms = 2};
    assert_int_equal(sy_store_flag_put(s, a, &f, &created, NULL), 0);
    int n = 0;
    assert_int_equal(sy_store_flag_list(s, b, count_flags, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sy_store_flag_delete(s, b, "k", NULL), -ENOENT);
    sy_store_token_t t = {.workspace = a,
                          .name = "n",
                          .role = "admin",
                          .hash = "00",
                          .prefix = "sy_",
                          .created_ms = 1};
    assert_int_equal(sy_store_token_create(s, &t, &tok, NULL), 0);
    assert_int_equal(sy_store_token_revoke(s, b, tok, 5, NULL), -ENOENT);
    assert_int_equal(sy_store_token_revoke(s, a, tok, 5, NULL), 0);
    assert_int_equal(sy_store_token_revoke(s, a, tok, 6, NULL), -ENOENT); /* once */
    t.role = "root";
    t.hash = "01";
    assert_true(sy_store_token_create(s, &t, &tok, NULL) < 0); /* the schema checks roles */
    sy_store_close(s);
}

static int collect_actions(void *arg, const sy_store_audit_t *a)
{
    strcat(arg, a->resource);
    strcat(arg, ";");
    return 0;
}

static void audit_prefix_filter_takes_keys_literally(void **state)
{
    (void)state;
    sy_store_t *s = open_store();
    int64_t ws;
    assert_int_equal(sy_store_workspace_create(s, "w", 1, &ws, NULL), 0);
    const char *res[] = {"flag:a*b", "flag:ab", "flagx:a", "token:1", "flag:[x]"};
    for (int i = 0; i < 5; i++) {
        sy_store_audit_t a = {
            .workspace = ws, .at_ms = 10 + i, .actor = "t", .action = "x", .resource = res[i]};
        assert_int_equal(sy_store_audit_add(s, &a, NULL), 0);
    }
    char got[256] = "";
    sy_store_audit_query_t q = {.workspace = ws, .resource = "flag:", .limit = 10};
    assert_int_equal(sy_store_audit_list(s, &q, collect_actions, got, NULL), 0);
    assert_string_equal(got, "flag:[x];flag:ab;flag:a*b;");
    got[0] = '\0';
    q.resource = "flag:a*b";
    assert_int_equal(sy_store_audit_list(s, &q, collect_actions, got, NULL), 0);
    assert_string_equal(got, "flag:a*b;");
    got[0] = '\0';
    q = (sy_store_audit_query_t){.workspace = ws, .since_ms = 12, .limit = 2};
    assert_int_equal(sy_store_audit_list(s, &q, collect_actions, got, NULL), 0);
    assert_string_equal(got, "flag:[x];token:1;");
    got[0] = '\0';
    q.workspace = ws + 1; /* another workspace sees none of it */
    assert_int_equal(sy_store_audit_list(s, &q, collect_actions, got, NULL), 0);
    assert_string_equal(got, "");
    sy_store_close(s);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(migrates_once_and_keeps_data, setup, teardown),
        cmocka_unit_test_setup_teardown(repairs_an_early_migration_2, setup, teardown),
        cmocka_unit_test_setup_teardown(arms_kept_as_sums_become_moments, setup, teardown),
        cmocka_unit_test_setup_teardown(a_kpi_window_mean_keeps_its_digits, setup, teardown),
        cmocka_unit_test_setup_teardown(a_kpi_span_leaves_its_gap_out, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_a_newer_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(an_unreadable_schema_version_is_an_error_not_version_0,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(rollback_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(every_row_is_scoped_by_workspace, setup, teardown),
        cmocka_unit_test_setup_teardown(audit_prefix_filter_takes_keys_literally, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
