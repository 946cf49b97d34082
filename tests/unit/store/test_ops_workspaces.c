/* test_ops_workspaces.c - store.h's workspaces, tokens, transactions and fault injection, on
 * SQLite and (tests/integration/pg_unit.sh) on PostgreSQL: store_fixture.h. */
#include <errno.h>

#include "store_fixture.h"

static int count_tokens(void *arg, const sy_store_token_t *t)
{
    (void)t;
    (*(int *)arg)++;
    return 0;
}

static int keep_token(void *arg, const sy_store_token_t *t)
{
    sy_store_token_t *out = arg;
    out->id = t->id;
    out->workspace = t->workspace;
    out->revoked_ms = t->revoked_ms;
    return 0;
}

static void workspaces_are_named_once_and_bump_their_revision(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t a, b, again, rev;
    assert_int_equal(sy_store_workspace_create(s, "a", 1, &a, &err), 0);
    assert_int_equal(sy_store_workspace_create(s, "b", 2, &b, &err), 0);
    assert_true(b > a);
    assert_int_equal(sy_store_workspace_create(s, "a", 3, &again, &err), -EEXIST);
    assert_string_equal(err.field, "name");
    assert_int_equal(sy_store_workspace_find(s, "b", &again, &err), 0);
    assert_int_equal(again, b);
    assert_int_equal(sy_store_workspace_find(s, "c", &again, &err), -ENOENT);
    assert_int_equal(sy_store_workspace_bump(s, a, &rev, &err), 0);
    assert_int_equal(sy_store_workspace_bump(s, a, &rev, &err), 0);
    assert_int_equal(rev, 2);
    assert_int_equal(sy_store_workspace_bump(s, 999, &rev, &err), -ENOENT);
    sy_store_close(s);
    s = fx_store_open_again(); /* durable */
    assert_int_equal(sy_store_workspace_find(s, "a", &again, &err), 0);
    assert_int_equal(again, a);
    fx_store_close(s);
}

static void tokens_belong_to_their_workspace_and_are_found_by_hash(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a, b, tok, other;
    assert_int_equal(sy_store_workspace_create(s, "a", 1, &a, NULL), 0);
    assert_int_equal(sy_store_workspace_create(s, "b", 1, &b, NULL), 0);
    sy_store_token_t t = {.workspace = a,
                          .name = "n",
                          .role = "admin",
                          .hash = "00",
                          .prefix = "sy_",
                          .created_ms = 1};
    assert_int_equal(sy_store_token_create(s, &t, &tok, NULL), 0);
    t.workspace = b;
    t.hash = "01";
    assert_int_equal(sy_store_token_create(s, &t, &other, NULL), 0);
    t.hash = "00";
    assert_int_equal(sy_store_token_create(s, &t, &other, NULL), -EEXIST); /* hashes are unique */
    int n = 0;
    assert_int_equal(sy_store_token_list(s, a, count_tokens, &n, NULL), 0);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(sy_store_token_list(s, -1, count_tokens, &n, NULL), 0);
    assert_int_equal(n, 2);
    sy_store_token_t found = {0};
    assert_int_equal(sy_store_token_by_hash(s, "00", keep_token, &found, NULL), 0);
    assert_int_equal(found.id, tok);
    assert_int_equal(found.workspace, a);
    assert_int_equal(sy_store_token_revoke(s, b, tok, 5, NULL), -ENOENT); /* not b's */
    assert_int_equal(sy_store_token_revoke(s, a, tok, 5, NULL), 0);
    assert_int_equal(sy_store_token_revoke(s, a, tok, 6, NULL), -ENOENT); /* once */
    assert_int_equal(sy_store_token_by_hash(s, "00", keep_token, &found, NULL), 0);
    assert_int_equal(found.revoked_ms, 5);
    t.role = "root";
    t.hash = "02";
    assert_true(sy_store_token_create(s, &t, &other, NULL) < 0); /* the schema checks roles */
    fx_store_close(s);
}

static void an_injected_failure_fails_that_statement_and_no_other(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    sy_err_t err = {0};
    int64_t id;
    sy_store_fail_at(s, 2); /* begin, then the insert */
    assert_int_equal(sy_store_begin(s, &err), 0);
    assert_int_equal(sy_store_workspace_create(s, "a", 1, &id, &err), -EIO);
    assert_non_null(strstr(err.msg, "injected"));
    assert_int_equal(sy_store_calls(s), 2);
    sy_store_rollback(s);
    sy_store_fail_at(s, 3); /* begin, insert, commit */
    assert_int_equal(sy_store_begin(s, &err), 0);
    assert_int_equal(sy_store_workspace_create(s, "b", 1, &id, &err), 0);
    assert_int_equal(sy_store_commit(s, &err), -EIO);
    sy_store_fail_at(s, 0);
    assert_int_equal(sy_store_workspace_find(s, "b", &id, &err), -ENOENT); /* rolled back */
    assert_int_equal(sy_store_workspace_create(s, "b", 1, &id, &err), 0);  /* and no longer armed */
    assert_int_equal(sy_store_workspace_find(s, "b", &id, &err), 0);
    fx_store_close(s);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(workspaces_are_named_once_and_bump_their_revision),
        cmocka_unit_test(tokens_belong_to_their_workspace_and_are_found_by_hash),
        cmocka_unit_test(an_injected_failure_fails_that_statement_and_no_other),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
