/* test_reader.c - readers on other threads (engine.h "readers on other threads"): while
 * the engine thread changes flags, a reader sees whole snapshots only, authenticates from
 * the published tokens, and a revoked token stops working at the next refresh; an engine
 * bound to its thread aborts a change made on another (builds with assertions). Run under
 * ThreadSanitizer too (make test's tsan suite). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "flags_json.h"

#define CHANGES 300

struct race {
    sy_engine_t *eng;
    int64_t ws;
    atomic_bool stop;
    atomic_long reads, torn, missing;
};

/* The value of flag `key` ("v<N>", the default variant's name) in `set`, or -1. */
static long version_of(const sy_flagset_t *set, const char *key)
{
    char buf[4096];
    sy_arena_t scratch;
    sy_arena_init_fixed(&scratch, buf, sizeof(buf));
    sy_flag_result_t r;
    sy_flagset_eval(set, key, strlen(key), SY_TYPE_ANY, NULL, 0, &scratch, &r);
    if (r.reason == SY_REASON_ERROR || !r.variant || r.variant_len < 2 || r.variant[0] != 'v')
        return -1;
    return strtol(r.variant + 1, NULL, 10);
}

static void *reader(void *arg)
{
    struct race *x = arg;
    sy_engine_reader_t *rd;
    if (sy_engine_reader_new(x->eng, &rd) < 0)
        return NULL;
    while (!atomic_load(&x->stop)) {
        sy_engine_reader_refresh(rd);
        const sy_snapshot_t *snap = sy_engine_reader_snapshot(rd, x->ws);
        if (!snap) {
            atomic_fetch_add(&x->missing, 1);
            continue;
        }
        /* a bulk evaluation: every flag of one snapshot */
        long a = version_of(snap->set, "a"), b = version_of(snap->set, "b");
        if (a != b)
            atomic_fetch_add(&x->torn, 1);
        atomic_fetch_add(&x->reads, 1);
    }
    sy_engine_reader_free(rd);
    return NULL;
}

/* {"flags": {"a": ..., "b": ...}} with both at version n. */
static json_t *doc_at(int n)
{
    char v[16];
    snprintf(v, sizeof(v), "v%d", n);
    json_t *flag = json_pack("{sss{sisi}ss}", "state", "ENABLED", "variants", v, n, "w", -1,
                             "defaultVariant", v);
    json_t *doc = json_pack("{s{sOsO}}", "flags", "a", flag, "b", flag);
    json_decref(flag);
    return doc;
}

static void two_flags_change_together(void **state)
{
    struct fixture *f = *state;
    struct race x = {.eng = f->eng, .ws = f->who.workspace};
    json_t *d0 = doc_at(0);
    sy_err_t err = {0};
    assert_int_equal(flagset_put_json(f->eng, &f->who, d0, NULL, &err), 0);
    json_decref(d0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader, &x), 0);
    for (int n = 1; n <= CHANGES; n++) {
        json_t *d = doc_at(n);
        assert_int_equal(flagset_put_json(f->eng, &f->who, d, NULL, &err), 0);
        json_decref(d);
    }
    atomic_store(&x.stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_true(atomic_load(&x.reads) > 0);
    assert_int_equal(atomic_load(&x.torn), 0);
    assert_int_equal(atomic_load(&x.missing), 0);

    /* and the reader ends at the last change */
    sy_engine_reader_t *rd;
    assert_int_equal(sy_engine_reader_new(f->eng, &rd), 0);
    const sy_snapshot_t *snap = sy_engine_reader_snapshot(rd, f->who.workspace);
    assert_non_null(snap);
    assert_int_equal(version_of(snap->set, "a"), CHANGES);
    sy_engine_reader_free(rd);
}

static void a_borrowed_snapshot_outlives_changes_until_refresh(void **state)
{
    struct fixture *f = *state;
    json_t *d = doc_at(1);
    sy_err_t err = {0};
    assert_int_equal(flagset_put_json(f->eng, &f->who, d, NULL, &err), 0);
    json_decref(d);
    sy_engine_reader_t *rd;
    assert_int_equal(sy_engine_reader_new(f->eng, &rd), 0);
    const sy_snapshot_t *old = sy_engine_reader_snapshot(rd, f->who.workspace);
    for (int n = 2; n < 5; n++) {
        d = doc_at(n);
        assert_int_equal(flagset_put_json(f->eng, &f->who, d, NULL, &err), 0);
        json_decref(d);
    }
    /* the engine moved on and released its own references: the reader's still holds */
    assert_int_equal(version_of(old->set, "b"), 1);
    sy_engine_reader_refresh(rd);
    assert_int_equal(version_of(sy_engine_reader_snapshot(rd, f->who.workspace)->set, "b"), 4);
    assert_null(sy_engine_reader_snapshot(rd, 9999));
    sy_engine_reader_free(rd);
}

static void tokens_are_published_and_revocation_holds(void **state)
{
    struct fixture *f = *state;
    char secret[SY_TOKEN_MAX];
    int64_t id;
    sy_err_t err = {0};
    sy_engine_reader_t *rd;
    assert_int_equal(sy_engine_reader_new(f->eng, &rd), 0);
    assert_int_equal(sy_engine_token_create(f->eng, &f->who, 0, "app", SY_ROLE_SDK, secret,
                                            sizeof(secret), &id, &err),
                     0);
    sy_principal_t who;
    /* not refreshed: the view before the token is not sure, so the store might know it */
    assert_int_equal(sy_engine_reader_authenticate(rd, secret, strlen(secret), &who), -ENOENT);
    sy_engine_reader_refresh(rd);
    assert_int_equal(sy_engine_reader_authenticate(rd, secret, strlen(secret), &who), 0);
    assert_int_equal(who.token_id, id);
    assert_int_equal(who.role, SY_ROLE_SDK);
    assert_string_equal(who.name, "app");
    assert_int_equal(sy_engine_token_revoke(f->eng, &f->who, id, &err), 0);
    sy_engine_reader_refresh(rd);
    assert_int_equal(sy_engine_reader_authenticate(rd, secret, strlen(secret), &who), -EACCES);
    /* what the engine could never have made is refused without asking it */
    assert_int_equal(sy_engine_reader_authenticate(rd, "nope", 4, &who), -EACCES);
    assert_int_equal(sy_engine_reader_authenticate(rd, "", 0, &who), -EACCES);
    sy_engine_reader_free(rd);
}

#ifndef NDEBUG
static void *change_elsewhere(void *arg)
{
    struct fixture *f = arg;
    json_t *d = doc_at(7);
    sy_err_t err = {0};
    (void)flagset_put_json(f->eng, &f->who, d, NULL, &err); /* aborts first */
    json_decref(d);
    return NULL;
}
#endif

static void a_bound_engine_refuses_changes_from_another_thread(void **state)
{
#ifdef NDEBUG
    (void)state;
    skip(); /* the check is an assertion: this build has none */
#else
    struct fixture *f = *state;
    sy_engine_bind_thread(f->eng);
    json_t *d = doc_at(1);
    sy_err_t err = {0};
    assert_int_equal(flagset_put_json(f->eng, &f->who, d, NULL, &err), 0); /* its own */
    json_decref(d);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* the child: a change from a thread of its own must abort */
        pthread_t t;
        if (pthread_create(&t, NULL, change_elsewhere, f) == 0)
            pthread_join(t, NULL);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(two_flags_change_together, setup, teardown),
        cmocka_unit_test_setup_teardown(a_borrowed_snapshot_outlives_changes_until_refresh, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(tokens_are_published_and_revocation_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(a_bound_engine_refuses_changes_from_another_thread, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
