/* test_store.c - store.c: sy_store_open choosing a backend by the URI, and the dispatch of
 * a call to the handle's backend. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "store/store.h"
#include "store/store_backend.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/sy-store-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The handle answers through its backend: a workspace written is found again. */
static void assert_store_works(sy_store_t *s)
{
    sy_err_t err = {0};
    int64_t id = 0, found = 0;
    assert_int_equal(sy_store_workspace_create(s, "w", 1, &id, &err), 0);
    assert_true(id > 0);
    assert_int_equal(sy_store_workspace_find(s, "w", &found, &err), 0);
    assert_int_equal(found, id);
    assert_true(sy_store_ping(s));
}

/* Every PostgreSQL URI goes to store/postgres, which tries to connect: port 1 of 127.0.0.1
 * refuses, and the error says so without the password; nothing is made in the working
 * directory under the URI's name (SQLite would make a file of a path it can open). Built
 * without libpq, the URI is refused naming what is missing. */
static void tries_postgres(const char *uri)
{
    sy_store_t *s = (sy_store_t *)&s; /* not NULL: the failure must clear it */
    sy_err_t err = {0};
    int rc = sy_store_open(&s, uri, &err);
    assert_null(s);
    assert_string_equal(err.field, "db");
#ifdef SY_HAVE_PQ
    assert_int_equal(rc, -EIO);
    if (!strstr(err.msg, "PostgreSQL: cannot connect"))
        fail_msg("%s: message \"%s\" does not say the connection failed", uri, err.msg);
#else
    assert_int_equal(rc, -ENOTSUP);
    if (!strstr(err.msg, "without libpq"))
        fail_msg("%s: message \"%s\" does not say libpq is missing", uri, err.msg);
#endif
    if (strstr(err.msg, "secret"))
        fail_msg("%s: message \"%s\" repeats the password", uri, err.msg);
}

static void open_tries_postgres_for_its_uris_and_says_why_it_failed(void **state)
{
    (void)state;
    tries_postgres("postgresql://app:secret@127.0.0.1:1/switchyard?connect_timeout=2");
    tries_postgres("postgres://app:secret@127.0.0.1:1/switchyard?connect_timeout=2");
    tries_postgres("host=127.0.0.1 port=1 user=app password=secret connect_timeout=2");
    assert_int_not_equal(access("postgres:", F_OK), 0);
    assert_int_not_equal(access("postgresql:", F_OK), 0);
}

static void open_chooses_sqlite_for_a_path(void **state)
{
    (void)state;
    char path[128];
    /* A name that starts like the scheme, without "://", is a path. */
    snprintf(path, sizeof(path), "%s/postgres.db", dir);
    sy_store_t *s = NULL;
    sy_err_t err = {0};
    if (sy_store_open(&s, path, &err) < 0)
        fail_msg("open %s: %s", path, err.msg);
    assert_ptr_equal(sy_store_backend(s), &sy_store_sqlite_ops);
    assert_string_equal(sy_store_backend(s)->name, "sqlite");
    assert_store_works(s);
    sy_store_close(s);
    assert_int_equal(access(path, F_OK), 0);
}

static void open_chooses_sqlite_for_memory(void **state)
{
    (void)state;
    sy_store_t *s = NULL;
    sy_err_t err = {0};
    if (sy_store_open(&s, ":memory:", &err) < 0)
        fail_msg("open :memory:: %s", err.msg);
    assert_ptr_equal(sy_store_backend(s), &sy_store_sqlite_ops);
    assert_store_works(s);
    sy_store_close(s);
}

static void open_refuses_no_uri_naming_db(void **state)
{
    (void)state;
    sy_store_t *s = NULL;
    sy_err_t err = {0};
    assert_int_equal(sy_store_open(&s, "", &err), -EINVAL);
    assert_null(s);
    assert_string_equal(err.field, "db");
    memset(&err, 0, sizeof(err));
    assert_int_equal(sy_store_open(&s, NULL, &err), -EINVAL);
    assert_string_equal(err.field, "db");
}

static void close_of_null_is_a_no_op(void **state)
{
    (void)state;
    sy_store_close(NULL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(open_tries_postgres_for_its_uris_and_says_why_it_failed),
    cmocka_unit_test_setup_teardown(open_chooses_sqlite_for_a_path, setup, teardown),
    cmocka_unit_test(open_chooses_sqlite_for_memory),
    cmocka_unit_test(open_refuses_no_uri_naming_db),
    cmocka_unit_test(close_of_null_is_a_no_op),
};

SY_TEST_MAIN(tests)
