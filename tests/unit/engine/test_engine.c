/* test_engine.c - the control plane: validation before change, one transaction per
 * change with its audit event, snapshots swapped on commit and kept alive by readers,
 * tokens, and workspaces that never see each other. A fake clock throughout. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "../store/store_fixture.h"
#include "codec/api_json.h"
#include "engine/engine.h"
#include "flags_json.h"

static int64_t fake_ms = 1700000000000;

static int64_t fake_now(void)
{
    return fake_ms;
}

static int setup(void **state)
{
    fx_store_make();
    sy_engine_opts_t o = {.db = fx_uri, .now_ms = fake_now};
    sy_engine_t *eng;
    sy_err_t err = {0};
    if (sy_engine_open(&eng, &o, &err) < 0)
        return -1;
    *state = eng;
    return 0;
}

static int teardown(void **state)
{
    sy_engine_close(*state);
    fx_store_drop();
    return 0;
}

/* A workspace with an admin token; the principal into *who. */
static void admin_of(sy_engine_t *eng, const char *ws_name, sy_principal_t *who)
{
    int64_t ws, id;
    char secret[SY_TOKEN_MAX];
    assert_int_equal(sy_engine_workspace_create(eng, ws_name, &ws, NULL), 0);
    assert_int_equal(sy_engine_token_create(eng, NULL, ws, "root", SY_ROLE_ADMIN, secret,
                                            sizeof(secret), &id, NULL),
                     0);
    assert_int_equal(sy_engine_authenticate(eng, secret, strlen(secret), who), 0);
    assert_int_equal(who->workspace, ws);
}

static json_t *flag(const char *dflt)
{
    return json_pack("{sss{sbsb}ss}", "state", "ENABLED", "variants", "on", 1, "off", 0,
                     "defaultVariant", dflt);
}

/* Boolean flag `key` as snapshot `snap` answers it (false for none). */
static bool snap_bool(const sy_snapshot_t *snap, const char *key)
{
    char buf[4096];
    sy_arena_t scratch;
    sy_arena_init_fixed(&scratch, buf, sizeof(buf));
    sy_flag_result_t r;
    sy_flagset_eval(snap->set, key, strlen(key), SY_TYPE_BOOLEAN, NULL, 0, &scratch, &r);
    return r.has_value && r.value.b;
}

/* The same from workspace `ws`'s current snapshot; `keep` (optional) keeps the reference. */
static bool eval_bool(sy_engine_t *eng, int64_t ws, const char *key, const sy_snapshot_t **keep)
{
    const sy_snapshot_t *snap = sy_engine_snapshot(eng, ws);
    bool v = snap_bool(snap, key);
    if (keep)
        *keep = snap;
    else
        sy_snapshot_release(snap);
    return v;
}

static int changes;
static void count_change(void *arg, int64_t ws, int64_t revision)
{
    (void)arg;
    (void)ws;
    (void)revision;
    changes++;
}

static void a_refused_flag_changes_nothing(void **state)
{
    sy_engine_t *eng = *state;
    sy_principal_t who;
    admin_of(eng, "w", &who);
    bool created;
    json_t *on = flag("on");
    assert_int_equal(flag_put_json(eng, &who, "f", on, &created, NULL, NULL), 0);
    assert_true(created);
    const sy_snapshot_t *before = sy_engine_snapshot(eng, who.workspace);
    json_t *bad = flag("nope");
    sy_err_t err = {0};
    assert_int_equal(flag_put_json(eng, &who, "f", bad, &created, NULL, &err), -EINVAL);
    assert_string_equal(err.field, "flags.f.defaultVariant");
    const sy_snapshot_t *after = sy_engine_snapshot(eng, who.workspace);
    assert_ptr_equal(before, after); /* not republished */
    assert_true(eval_bool(eng, who.workspace, "f", NULL));
    json_t *list = json_array();
    sy_store_audit_query_t q = {.limit = 10};
    assert_int_equal(sy_engine_audit_list(eng, &who, &q, sy_audit_json_add, list, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "action")),
                        "flag.create"); /* no event for the refused change */
    json_decref(list);
    sy_snapshot_release(before);
    sy_snapshot_release(after);
    json_decref(on);
    json_decref(bad);
}

/* One slot for problems, a schema warning before the error: the error is what is kept. */
static void errors_displace_warnings_in_a_short_problem_list(void **state)
{
    sy_engine_t *eng = *state;
    sy_principal_t who;
    admin_of(eng, "w", &who);
    json_error_t je;
    json_t *doc = json_loads(
        "{\"flags\": {\"a\": {\"state\": \"ENABLED\", \"variants\": {\"x\": 1, \"y\": 2},"
        " \"defaultVariant\": \"x\", \"targeting\": {\"if\": [{\"sem_ver\": [{\"var\": \"v\"},"
        " \">=\", \"1.2\"]}, \"y\"]}},"
        " \"b\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true}, \"defaultVariant\": "
        "\"no\"}}}",
        0, &je);
    assert_non_null(doc);
    sy_problem_t one[1];
    sy_problems_t problems = {.items = one, .cap = 1};
    sy_err_t err = {0};
    assert_int_equal(flagset_put_json(eng, &who, doc, &problems, &err), -EINVAL);
    assert_int_equal(problems.total, 2);
    assert_int_equal(problems.errors, 1);
    assert_true(one[0].error);
    assert_string_equal(one[0].path, "flags.b.defaultVariant");
    assert_string_equal(err.field, "flags.b.defaultVariant");
    json_decref(doc);
}

static void a_reader_keeps_its_snapshot_across_a_change(void **state)
{
    sy_engine_t *eng = *state;
    sy_principal_t who;
    admin_of(eng, "w", &who);
    sy_engine_on_change(eng, count_change, NULL);
    changes = 0;
    bool created;
    json_t *on = flag("on"), *off = flag("off");
    assert_int_equal(flag_put_json(eng, &who, "f", on, &created, NULL, NULL), 0);
    const sy_snapshot_t *old;
    assert_true(eval_bool(eng, who.workspace, "f", &old));
    int64_t rev = old->revision;
    fake_ms += 1000;
    assert_int_equal(flag_put_json(eng, &who, "f", off, &created, NULL, NULL), 0);
    assert_false(created);
    assert_int_equal(changes, 2);
    assert_false(eval_bool(eng, who.workspace, "f", NULL)); /* the new one */
    const sy_snapshot_t *now = sy_engine_snapshot(eng, who.workspace);
    assert_int_equal(now->revision, rev + 1);
    sy_snapshot_release(now);
    /* The old snapshot still evaluates as it did until released (ASan checks the free). */
    assert_true(snap_bool(old, "f"));
    sy_snapshot_release(old);
    sy_engine_on_change(eng, NULL, NULL);
    json_decref(on);
    json_decref(off);
}

static void workspaces_never_see_each_other(void **state)
{
    sy_engine_t *eng = *state;
    sy_principal_t a, b;
    admin_of(eng, "a", &a);
    admin_of(eng, "b", &b);
    bool created;
    json_t *on = flag("on");
    assert_int_equal(flag_put_json(eng, &a, "f", on, &created, NULL, NULL), 0);
    json_t *got = NULL;
    assert_int_equal(flag_get_json(eng, &b, "f", &got, NULL), -ENOENT);
    assert_int_equal(sy_engine_flag_delete(eng, &b, "f", NULL), -ENOENT);
    assert_false(eval_bool(eng, b.workspace, "f", NULL));
    assert_true(eval_bool(eng, a.workspace, "f", NULL));
    assert_int_equal(sy_engine_token_revoke(eng, &b, a.token_id, NULL), -ENOENT);
    json_t *tokens = json_array();
    assert_int_equal(sy_engine_token_list(eng, &b, sy_token_json_add, tokens, NULL), 0);
    assert_int_equal(json_array_size(tokens), 1);
    json_decref(tokens);
    json_decref(on);
}

static void workspace_name_is_the_callers_own_and_cut_to_fit(void **state)
{
    sy_engine_t *eng = *state;
    sy_principal_t a, b;
    admin_of(eng, "alpha", &a);
    admin_of(eng, "beta", &b);
    char name[64];
    assert_int_equal(sy_engine_workspace_name(eng, &a, name, sizeof(name), NULL), 0);
    assert_string_equal(name, "alpha");
    assert_int_equal(sy_engine_workspace_name(eng, &b, name, sizeof(name), NULL), 0);
    assert_string_equal(name, "beta");
    assert_int_equal(sy_engine_workspace_name(eng, &a, name, 3, NULL), 0);
    assert_string_equal(name, "al");
    sy_principal_t nowhere = a;
    nowhere.workspace = 999;
    sy_err_t err = {0};
    strcpy(name, "kept");
    assert_int_equal(sy_engine_workspace_name(eng, &nowhere, name, sizeof(name), &err), -ENOENT);
    assert_int_equal(err.code, -ENOENT);
    assert_string_equal(err.field, "workspace");
    assert_string_equal(name, "kept");
}

static void tokens_are_hashed_and_revocable(void **state)
{
    sy_engine_t *eng = *state;
    sy_principal_t admin, who;
    admin_of(eng, "w", &admin);
    char secret[SY_TOKEN_MAX];
    int64_t id;
    assert_int_equal(sy_engine_token_create(eng, &admin, 0, "app", SY_ROLE_SDK, secret,
                                            sizeof(secret), &id, NULL),
                     0);
    assert_int_equal(strlen(secret), 51);
    assert_int_equal(sy_engine_authenticate(eng, secret, strlen(secret), &who), 0);
    assert_int_equal(who.role, SY_ROLE_SDK);
    assert_string_equal(who.name, "app");
    secret[10] ^= 1;
    assert_int_equal(sy_engine_authenticate(eng, secret, strlen(secret), &who), -EACCES);
    secret[10] ^= 1;
    json_t *list = json_array();
    assert_int_equal(sy_engine_token_list(eng, &admin, sy_token_json_add, list, NULL), 0);
    char *text = json_dumps(list, 0);
    assert_null(strstr(text, secret + 3)); /* no secret in the list */
    free(text);
    json_decref(list);
    assert_int_equal(sy_engine_token_revoke(eng, &admin, id, NULL), 0);
    assert_int_equal(sy_engine_authenticate(eng, secret, strlen(secret), &who), -EACCES);
    sy_err_t err = {0};
    assert_int_equal(
        sy_engine_token_create(eng, &admin, 0, "", SY_ROLE_SDK, secret, sizeof(secret), &id, &err),
        -EINVAL);
    assert_string_equal(err.field, "name");
}

static void state_survives_a_reopen(void **state)
{
    sy_engine_t *eng = *state;
    sy_principal_t who;
    admin_of(eng, "w", &who);
    char secret[SY_TOKEN_MAX];
    int64_t id;
    assert_int_equal(sy_engine_token_create(eng, &who, 0, "keep", SY_ROLE_VIEWER, secret,
                                            sizeof(secret), &id, NULL),
                     0);
    json_t *doc = json_pack("{s{so}s{ss}}", "flags", "f", flag("on"), "metadata", "team", "x");
    assert_int_equal(flagset_put_json(eng, &who, doc, NULL, NULL), 0);
    json_decref(doc);
    sy_engine_close(eng);
    sy_engine_opts_t o = {.db = fx_uri, .now_ms = fake_now};
    assert_int_equal(sy_engine_open(&eng, &o, NULL), 0);
    *state = eng;
    sy_principal_t again;
    assert_int_equal(sy_engine_authenticate(eng, secret, strlen(secret), &again), 0);
    assert_true(eval_bool(eng, again.workspace, "f", NULL));
    json_t *out = flagset_get_json(eng, &again);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(out, "metadata"), "team")), "x");
    json_decref(out);
    bool created;
    assert_int_equal(sy_engine_bootstrap(eng, "default", secret, sizeof(secret), &created, NULL),
                     0);
    assert_false(created); /* a store with workspaces is not bootstrapped again */
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_refused_flag_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_displace_warnings_in_a_short_problem_list, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_reader_keeps_its_snapshot_across_a_change, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(workspaces_never_see_each_other, setup, teardown),
        cmocka_unit_test_setup_teardown(workspace_name_is_the_callers_own_and_cut_to_fit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(tokens_are_hashed_and_revocable, setup, teardown),
        cmocka_unit_test_setup_teardown(state_survives_a_reopen, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
