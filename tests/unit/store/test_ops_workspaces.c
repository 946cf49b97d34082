/* test_ops_workspaces.c - store.h's workspaces, tokens, transactions and fault injection, on
 * SQLite and (tests/integration/pg_unit.sh) on PostgreSQL: store_fixture.h. Also what many
 * nodes share: announcements heard (LISTEN/NOTIFY) and the leaders' lock. */
#include <errno.h>
#include <time.h>

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

static void sleep_ms(long ms)
{
    nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L}, NULL);
}

struct heard {
    int n;
    char last[128];
};

static int hear(void *arg, int64_t ws, const char *what, int64_t revision)
{
    struct heard *h = arg;
    h->n++;
    snprintf(h->last, sizeof(h->last), "%lld %s %lld", (long long)ws, what, (long long)revision);
    return 0;
}

/* Waits up to 2 s for handle `s` to hear something more than h->n. */
static void hear_more(sy_store_t *s, struct heard *h)
{
    int before = h->n;
    for (int i = 0; i < 200 && h->n == before; i++) {
        assert_int_equal(sy_store_heard(s, hear, h, NULL), 0);
        if (h->n == before)
            sleep_ms(10);
    }
}

static void nodes_hear_what_commits_and_one_leads(void **state)
{
    (void)state;
    sy_store_t *a = fx_store_open(), *b = fx_store_open_again();
    sy_err_t err = {0};
    bool held = false;
    struct heard h = {0};
    if (strcmp(fx_backend(), "sqlite") == 0) {
        /* one node: it leads, and there is nobody to hear */
        assert_int_equal(sy_store_listen(a, &err), -ENOTSUP);
        assert_int_equal(sy_store_heard_fd(a), -1);
        assert_int_equal(sy_store_announce(b, 1, "flags", 2, &err), 0);
        assert_int_equal(sy_store_heard(a, hear, &h, &err), 0);
        assert_int_equal(h.n, 0);
        assert_int_equal(sy_store_lead(a, &held, &err), 0);
        assert_true(held);
        sy_store_close(b);
        fx_store_close(a);
        return;
    }
    assert_int_equal(sy_store_heard_fd(a), -1); /* not listening yet */
    assert_int_equal(sy_store_listen(a, &err), 0);
    assert_true(sy_store_heard_fd(a) >= 0);
    /* a rolled-back announcement is never heard; a committed one is, once */
    assert_int_equal(sy_store_begin(b, &err), 0);
    assert_int_equal(sy_store_announce(b, 7, "flags", 3, &err), 0);
    sy_store_rollback(b);
    assert_int_equal(sy_store_begin(b, &err), 0);
    assert_int_equal(sy_store_announce(b, 7, "flags", 4, &err), 0);
    sleep_ms(50);
    assert_int_equal(sy_store_heard(a, hear, &h, &err), 0);
    assert_int_equal(h.n, 0); /* not before the commit */
    assert_int_equal(sy_store_commit(b, &err), 0);
    hear_more(a, &h);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.last, "7 flags 4");
    assert_int_equal(sy_store_announce(b, 8, "tokens", 1, &err), 0); /* no transaction: at once */
    hear_more(a, &h);
    assert_string_equal(h.last, "8 tokens 1");
    assert_int_equal(sy_store_announce(b, 8, "two words", 1, &err), -EINVAL);
    /* a workspace that is no id is dropped: only the store says resync (-1) */
    assert_int_equal(sy_store_announce(b, 0, "flags", 1, &err), 0);
    assert_int_equal(sy_store_announce(b, -1, "resync", 0, &err), 0);
    sleep_ms(50);
    assert_int_equal(sy_store_heard(a, hear, &h, &err), 0);
    assert_int_equal(h.n, 2);
    /* one leader: the first to ask; the other takes over once it is gone */
    assert_int_equal(sy_store_lead(a, &held, &err), 0);
    assert_true(held);
    assert_int_equal(sy_store_lead(b, &held, &err), 0);
    assert_false(held);
    assert_int_equal(sy_store_lead(a, &held, &err), 0); /* still, and checked */
    assert_true(held);
    sy_store_close(a);
    held = false;
    for (int i = 0; i < 200 && !held; i++) { /* the server notices the session's end */
        assert_int_equal(sy_store_lead(b, &held, &err), 0);
        if (!held)
            sleep_ms(10);
    }
    assert_true(held);
#ifdef SY_HAVE_PQ
    /* the connection lost (the server ended the session): the handle finds out before its
     * next statement and makes it again (or, when that fails, once a second after); the
     * lock is gone with the session and taken again, and the listener is told to reread
     * what it may have missed */
    assert_int_equal(sy_store_listen(b, &err), 0);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "DO $$ BEGIN PERFORM pg_terminate_backend(pid) FROM pg_stat_activity"
             " WHERE datname = '%s' AND pid <> pg_backend_pid(); END $$",
             fx_db);
    fx_pg_super(sql);
    sleep_ms(100);
    bool back = false;
    for (int i = 0; i < 40 && !back; i++) { /* tried again once a second */
        back = sy_store_ping(b);
        if (!back)
            sleep_ms(100);
    }
    assert_true(back);
    h.n = 0;
    assert_int_equal(sy_store_heard(b, hear, &h, &err), 0);
    assert_int_equal(h.n, 1);
    assert_string_equal(h.last, "-1 resync 0");
    assert_int_equal(sy_store_lead(b, &held, &err), 0);
    assert_true(held);
    assert_int_equal(sy_store_announce(b, 9, "served", 5, &err), 0); /* it listens again */
    hear_more(b, &h);
    assert_string_equal(h.last, "9 served 5");
#endif
    fx_store_close(b);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(workspaces_are_named_once_and_bump_their_revision),
        cmocka_unit_test(tokens_belong_to_their_workspace_and_are_found_by_hash),
        cmocka_unit_test(an_injected_failure_fails_that_statement_and_no_other),
        cmocka_unit_test(nodes_hear_what_commits_and_one_leads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
