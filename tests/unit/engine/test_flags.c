/* test_flags.c - engine/flags: a change compiles the flag it changes and the next snapshot
 * shares every other compiled flag with the last; an import recompiles only what it
 * changed; experiments and the kill switch change the snapshot one flag at a time; and
 * whatever the changes, the snapshot answers as a fresh load of the exported document. */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/value_json.h"
#include "fixture.h"
#include "flags_json.h"

static json_t *json(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fail_msg("bad JSON in the test: %s (%s)", je.text, text);
    return j;
}

static json_t *bool_flag(const char *dflt)
{
    return json_pack("{sss{sbsb}ss}", "state", "ENABLED", "variants", "on", 1, "off", 0,
                     "defaultVariant", dflt);
}

static void put(struct fixture *f, const char *key, json_t *def)
{
    bool created;
    sy_err_t err = {0};
    if (flag_put_json(f->eng, &f->who, key, def, &created, NULL, &err) < 0)
        fail_msg("put %s: %s", key, err.msg);
    json_decref(def);
}

static const sy_flag_t *flag_of(const sy_snapshot_t *s, const char *key)
{
    return sy_flagset_find(s->set, key, strlen(key));
}

static sy_flag_result_t eval_in(const sy_snapshot_t *s, const char *key, const char *ctx_text)
{
    char buf[8192];
    sy_arena_t scratch, arena;
    sy_arena_init_fixed(&scratch, buf, sizeof(buf));
    sy_arena_init(&arena, 1 << 16);
    sy_value_t ctx;
    if (sy_value_parse(ctx_text, strlen(ctx_text), &arena, &ctx, NULL) < 0)
        fail_msg("bad context %s", ctx_text);
    sy_flag_result_t r;
    sy_flagset_eval(s->set, key, strlen(key), SY_TYPE_ANY, &ctx, 0, &scratch, &r);
    sy_arena_free(&arena);
    return r;
}

/* Asserts that `a` and `b` hold the same compiled flag for every key of `b` but `except`
 * (NULL: none), and a different one for `except`. */
static void shared_but(const sy_snapshot_t *a, const sy_snapshot_t *b, const char *except)
{
    for (size_t i = 0; i < sy_flagset_count(b->set); i++) {
        size_t len;
        const char *k = sy_flagset_key(b->set, i, &len);
        if (except && strcmp(k, except) == 0)
            assert_ptr_not_equal(flag_of(a, k), flag_of(b, k));
        else
            assert_ptr_equal(flag_of(a, k), flag_of(b, k));
    }
}

static void fill(struct fixture *f, int n)
{
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof(key), "f%d", i);
        put(f, key, bool_flag(i % 2 ? "on" : "off"));
    }
}

static void a_flag_change_shares_every_other_compiled_flag(void **state)
{
    struct fixture *f = *state;
    fill(f, 40);
    const sy_snapshot_t *s1 = sy_engine_snapshot(f->eng, f->who.workspace);
    put(f, "f7", bool_flag("off")); /* it was "on" */
    const sy_snapshot_t *s2 = sy_engine_snapshot(f->eng, f->who.workspace);
    assert_int_equal(sy_flagset_count(s2->set), 40);
    shared_but(s1, s2, "f7");
    size_t len;
    assert_string_equal(sy_flagset_key(s2->set, 7, &len), "f7"); /* its place kept */
    sy_err_t err = {0};
    assert_int_equal(sy_engine_flag_delete(f->eng, &f->who, "f3", &err), 0);
    const sy_snapshot_t *s3 = sy_engine_snapshot(f->eng, f->who.workspace);
    assert_int_equal(sy_flagset_count(s3->set), 39);
    shared_but(s2, s3, NULL);
    assert_null(flag_of(s3, "f3"));
    /* The flag as the API shows it is the text it was written as. */
    json_t *def;
    assert_int_equal(flag_get_json(f->eng, &f->who, "f7", &def, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(def, "defaultVariant")), "off");
    json_decref(def);
    sy_snapshot_release(s1);
    sy_snapshot_release(s2);
    sy_snapshot_release(s3);
}

static const char doc_text[] =
    "{\"$evaluators\": {\"gold\": {\"==\": [{\"var\": \"tier\"}, \"gold\"]},"
    "                  \"adult\": {\">=\": [{\"var\": \"age\"}, 18]}},"
    " \"metadata\": {\"flagSetId\": \"shop\"},"
    " \"flags\": {"
    "  \"a\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": false},"
    "        \"defaultVariant\": \"off\", \"targeting\": {\"if\": [{\"$ref\": \"gold\"}, \"on\"]}},"
    "  \"b\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": false},"
    "        \"defaultVariant\": \"off\", \"targeting\": {\"if\": [{\"$ref\": \"adult\"}, "
    "\"on\"]}},"
    "  \"c\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": false},"
    "        \"defaultVariant\": \"on\"},"
    "  \"d\": {\"state\": \"DISABLED\", \"variants\": {\"on\": true, \"off\": false},"
    "        \"defaultVariant\": \"on\"}}}";

static void an_import_recompiles_only_what_it_changed(void **state)
{
    struct fixture *f = *state;
    json_t *doc = json(doc_text);
    assert_int_equal(flagset_put_json(f->eng, &f->who, doc, NULL, NULL), 0);
    const sy_snapshot_t *s1 = sy_engine_snapshot(f->eng, f->who.workspace);
    /* The same document again: every flag kept. */
    assert_int_equal(flagset_put_json(f->eng, &f->who, doc, NULL, NULL), 0);
    const sy_snapshot_t *s2 = sy_engine_snapshot(f->eng, f->who.workspace);
    shared_but(s1, s2, NULL);
    /* "gold" changes (a names it) and so does d: b and c are kept. */
    json_object_set_new(json_object_get(json_object_get(doc, "$evaluators"), "gold"),
                        "==", json_pack("[{ss}s]", "var", "tier", "platinum"));
    json_object_set_new(json_object_get(json_object_get(doc, "flags"), "d"), "state",
                        json_string("ENABLED"));
    assert_int_equal(flagset_put_json(f->eng, &f->who, doc, NULL, NULL), 0);
    const sy_snapshot_t *s3 = sy_engine_snapshot(f->eng, f->who.workspace);
    assert_ptr_equal(flag_of(s2, "b"), flag_of(s3, "b"));
    assert_ptr_equal(flag_of(s2, "c"), flag_of(s3, "c"));
    assert_ptr_not_equal(flag_of(s2, "a"), flag_of(s3, "a"));
    assert_ptr_not_equal(flag_of(s2, "d"), flag_of(s3, "d"));
    sy_flag_result_t r = eval_in(s3, "a", "{\"tier\": \"platinum\"}");
    assert_true(r.has_value && r.value.b);
    json_decref(doc);
    sy_snapshot_release(s1);
    sy_snapshot_release(s2);
    sy_snapshot_release(s3);
}

static void an_experiment_changes_one_flag_of_the_snapshot(void **state)
{
    struct fixture *f = *state;
    fill(f, 30);
    const sy_snapshot_t *s1 = sy_engine_snapshot(f->eng, f->who.workspace);
    create_started(
        f,
        "{\"key\": \"x\", \"flag\": \"f4\", \"variants\": [{\"key\": \"off\", \"weight\": "
        "50, \"control\": true}, {\"key\": \"on\", \"weight\": 50}]}",
        "x");
    const sy_snapshot_t *s2 = sy_engine_snapshot(f->eng, f->who.workspace);
    shared_but(s1, s2, "f4");
    sy_flag_result_t r = eval_in(s2, "f4", "{\"targetingKey\": \"u1\"}");
    assert_int_equal(r.reason, SY_REASON_TARGETING_MATCH);
    assert_int_equal(exp_transition(f, "x", "stopped", NULL), 0);
    const sy_snapshot_t *s3 = sy_engine_snapshot(f->eng, f->who.workspace);
    shared_but(s2, s3, "f4");
    r = eval_in(s3, "f4", "{\"targetingKey\": \"u1\"}");
    assert_int_equal(r.reason, SY_REASON_STATIC); /* as it was before the start */
    sy_snapshot_release(s1);
    sy_snapshot_release(s2);
    sy_snapshot_release(s3);
}

static void kill_switch(struct fixture *f, bool engaged)
{
    sy_kill_switch_t out;
    sy_err_t err = {0};
    sy_kill_switch_change_t c = {.engaged = engaged, .reason = "incident 7"};
    if (sy_engine_kill_switch_put(f->eng, &f->who, &c, &out, &err) < 0)
        fail_msg("kill switch: %s", err.msg);
    assert_int_equal(out.engaged, engaged);
}

static void the_kill_switch_serves_controls_sharing_the_rest(void **state)
{
    struct fixture *f = *state;
    fill(f, 30);
    create_started(
        f,
        "{\"key\": \"x\", \"flag\": \"f4\", \"variants\": [{\"key\": \"off\", \"weight\": "
        "50, \"control\": true}, {\"key\": \"on\", \"weight\": 50}]}",
        "x");
    const sy_snapshot_t *s1 = sy_engine_snapshot(f->eng, f->who.workspace);
    kill_switch(f, true);
    const sy_snapshot_t *s2 = sy_engine_snapshot(f->eng, f->who.workspace);
    shared_but(s1, s2, "f4");
    sy_flag_result_t r = eval_in(s2, "f4", "{\"targetingKey\": \"u1\"}");
    assert_int_equal(r.reason, SY_REASON_STATIC);
    assert_memory_equal(r.variant, "off", 3);
    const sy_value_t *why = sy_value_get(r.metadata, "killSwitch", 10);
    assert_non_null(why);
    assert_memory_equal(why->s, "incident 7", 10);
    /* A change while engaged: that flag changes, the control stays as it was. */
    put(f, "f9", bool_flag("off")); /* it was "on" */
    const sy_snapshot_t *s3 = sy_engine_snapshot(f->eng, f->who.workspace);
    shared_but(s2, s3, "f9");
    /* The written flag is not served, but still what the API shows. */
    json_t *def;
    assert_int_equal(flag_get_json(f->eng, &f->who, "f4", &def, NULL), 0);
    assert_non_null(json_object_get(def, "targeting"));
    json_decref(def);
    kill_switch(f, false);
    const sy_snapshot_t *s4 = sy_engine_snapshot(f->eng, f->who.workspace);
    shared_but(s3, s4, "f4");
    assert_ptr_equal(flag_of(s1, "f4"), flag_of(s4, "f4")); /* the split, as compiled before */
    r = eval_in(s4, "f4", "{\"targetingKey\": \"u1\"}");
    assert_int_equal(r.reason, SY_REASON_TARGETING_MATCH);
    sy_snapshot_release(s1);
    sy_snapshot_release(s2);
    sy_snapshot_release(s3);
    sy_snapshot_release(s4);
}

/* ---- the same answers as a fresh load of what the API shows --------------------------------- */

static uint64_t rng_state = 11;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(rng_state >> 33) % n;
}

static json_t *random_flag(void)
{
    switch (rnd(4)) {
    case 0:
        return bool_flag(rnd(2) ? "on" : "off");
    case 1:
        return json_pack("{sss{ssss}sss{s[[si][si]]}}", "state", "ENABLED", "variants", "a", "a",
                         "b", "b", "defaultVariant", "a", "targeting", "fractional", "a",
                         (int)rnd(100), "b", (int)rnd(100));
    case 2:
        return json_pack("{sss{sisi}sss{s[{s[{ss}i]}ss]}s{ss}}", "state", "ENABLED", "variants",
                         "x", 1, "y", 2, "defaultVariant", "x", "targeting", "if", ">=", "var",
                         "age", (int)rnd(60), "y", "x", "metadata", "owner", "team");
    default:
        return json_pack("{sss{sbsb}sss{s[{ss}ss]}}", "state", rnd(3) ? "ENABLED" : "DISABLED",
                         "variants", "on", 1, "off", 0, "defaultVariant", "off", "targeting", "if",
                         "$ref", "gold", "on", "off");
    }
}

static void compare_with_fresh_load(struct fixture *f)
{
    const sy_snapshot_t *s = sy_engine_snapshot(f->eng, f->who.workspace);
    json_t *doc = flagset_get_json(f->eng, &f->who);
    char *text = json_dumps(doc, JSON_COMPACT);
    sy_arena_t arena;
    sy_arena_init(&arena, 1 << 26);
    sy_value_t v;
    assert_int_equal(sy_value_parse(text, strlen(text), &arena, &v, NULL), 0);
    sy_flagset_t *fresh;
    assert_int_equal(sy_flagset_load(&fresh, &arena, &v, NULL, NULL), 0);
    assert_int_equal(sy_flagset_count(fresh), sy_flagset_count(s->set));
    static const char *const ctxs[] = {"{}", "{\"targetingKey\": \"u1\", \"age\": 40}",
                                       "{\"targetingKey\": \"u2\", \"tier\": \"gold\"}"};
    for (size_t i = 0; i < sy_flagset_count(fresh); i++) {
        size_t len;
        const char *k = sy_flagset_key(fresh, i, &len);
        assert_string_equal(sy_flagset_key(s->set, i, &len), k); /* the same order */
        for (int c = 0; c < 3; c++) {
            sy_flag_result_t a = eval_in(s, k, ctxs[c]);
            sy_snapshot_t fs = {.set = fresh};
            sy_flag_result_t b = eval_in(&fs, k, ctxs[c]);
            assert_int_equal(a.reason, b.reason);
            assert_int_equal(a.error, b.error);
            assert_int_equal(a.has_value, b.has_value);
            assert_true(!a.has_value || sy_value_same(&a.value, &b.value));
            assert_true(sy_value_same(a.metadata, b.metadata));
        }
    }
    sy_flagset_free(fresh);
    free(text);
    json_decref(doc);
    sy_snapshot_release(s);
}

static void random_changes_answer_as_a_fresh_load_of_the_export(void **state)
{
    struct fixture *f = *state;
    json_t *doc = json(doc_text);
    assert_int_equal(flagset_put_json(f->eng, &f->who, doc, NULL, NULL), 0);
    json_decref(doc);
    int next = 0;
    for (int step = 0; step < 120; step++) {
        json_t *now = flag_list_json(f->eng, &f->who);
        json_t *flags = json_object_get(now, "flags");
        size_t n = json_array_size(flags);
        char key[32];
        uint32_t what = rnd(10);
        if (n == 0 || what < 3) {
            snprintf(key, sizeof(key), "n%d", next++);
            put(f, key, random_flag());
        } else if (what < 5) {
            const char *k =
                json_string_value(json_object_get(json_array_get(flags, rnd(n)), "key"));
            assert_int_equal(sy_engine_flag_delete(f->eng, &f->who, k, NULL), 0);
        } else {
            const char *k =
                json_string_value(json_object_get(json_array_get(flags, rnd(n)), "key"));
            snprintf(key, sizeof(key), "%s", k);
            put(f, key, random_flag());
        }
        json_decref(now);
        if (step % 20 == 0)
            compare_with_fresh_load(f);
    }
    compare_with_fresh_load(f);
    /* After a restart (a whole load from the store), still the same answers. */
    sy_engine_close(f->eng);
    f->eng = open_engine();
    compare_with_fresh_load(f);
}

/* The audit trail's newest event's before and after into `before`/`after` ("" for none). */
struct last_audit {
    char before[1024], after[2048];
    bool seen;
};

static int take_first(void *arg, const sy_audit_event_t *e)
{
    struct last_audit *l = arg;
    if (l->seen)
        return 0;
    l->seen = true;
    snprintf(l->before, sizeof(l->before), "%s", e->before ? e->before : "");
    snprintf(l->after, sizeof(l->after), "%s", e->after ? e->after : "");
    return 0;
}

static struct last_audit last_audit(struct fixture *f)
{
    struct last_audit l = {0};
    sy_store_audit_query_t q = {.limit = 1};
    sy_err_t err = {0};
    assert_int_equal(sy_engine_audit_list(f->eng, &f->who, &q, take_first, &l, &err), 0);
    assert_true(l.seen);
    return l;
}

/* What the engine gives back of flag `key`: its text. */
static char *text_of(struct fixture *f, const char *key)
{
    char *t = NULL;
    assert_int_equal(sy_engine_flag_get(f->eng, &f->who, key, &t, NULL), 0);
    return t;
}

/* A flag is kept as the text jansson writes of the request, numbers as written (1.0, -0.0,
 * an integer past 2^53) or, with an integer past int64 in the body, every number a double;
 * that text is what the API gives back, what the audit trail records as after and then as
 * before, and what a restart loads (-0.0 still negative). */
static void a_flag_is_given_back_as_the_text_it_was_written_as(void **state)
{
    struct fixture *f = *state;
    static const char v1[] =
        "{\"state\": \"ENABLED\", \"variants\": {\"a\": 1.0, \"b\": -0.0, \"c\": 9007199254740993},"
        " \"defaultVariant\": \"b\", \"metadata\": {\"note\": \"\\u001f\"}}";
    static const char v2[] = "{\"state\": \"ENABLED\", \"variants\": {\"a\": 1, \"b\": "
                             "18446744073709551616}, \"defaultVariant\": \"b\"}";
    json_error_t je;
    json_t *j1 = sy_json_loadb(v1, strlen(v1), JSON_DECODE_ANY, &je);
    json_t *j2 = sy_json_loadb(v2, strlen(v2), JSON_DECODE_ANY, &je);
    char *w1 = sy_json_dumps(j1, JSON_COMPACT), *w2 = sy_json_dumps(j2, JSON_COMPACT);
    assert_non_null(strstr(w1, "\"a\":1.0,\"b\":-0.0,\"c\":9007199254740993"));
    assert_non_null(strstr(w2, "\"a\":1.0,\"b\":1.8446744073709552e19"));
    put(f, "n", j1);
    char *t = text_of(f, "n");
    assert_string_equal(t, w1);
    free(t);
    struct last_audit l = last_audit(f);
    assert_string_equal(l.before, "");
    assert_string_equal(l.after, w1);
    put(f, "n", j2);
    l = last_audit(f);
    assert_string_equal(l.before, w1);
    assert_string_equal(l.after, w2);
    put(f, "n", sy_json_loadb(v1, strlen(v1), JSON_DECODE_ANY, &je));
    sy_engine_close(f->eng);
    f->eng = open_engine();
    t = text_of(f, "n");
    assert_string_equal(t, w1);
    free(t);
    const sy_snapshot_t *s = sy_engine_snapshot(f->eng, f->who.workspace);
    sy_flag_result_t r = eval_in(s, "n", "{}");
    assert_int_equal(r.value.type, SY_NUM);
    assert_true(r.value.n == 0 && signbit(r.value.n));
    sy_snapshot_release(s);
    free(w1);
    free(w2);
}

/* "$evaluators" and "metadata" that are no objects load with a warning, as flagd loads
 * them; the import is taken and shown back as written (it was refused as out of memory:
 * their text could not be written). */
static void an_import_with_members_of_other_types_is_taken_with_warnings(void **state)
{
    struct fixture *f = *state;
    json_t *doc = json("{\"flags\": {\"c\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true},"
                       " \"defaultVariant\": \"on\"}}, \"$evaluators\": 5, \"metadata\": [1]}");
    sy_problem_t items[8];
    sy_problems_t problems = {.items = items, .cap = 8};
    sy_err_t err = {0};
    assert_int_equal(flagset_put_json(f->eng, &f->who, doc, &problems, &err), 0);
    assert_true(problems.total >= 2);
    assert_int_equal(problems.errors, 0);
    json_t *out = flagset_get_json(f->eng, &f->who);
    assert_int_equal(json_integer_value(json_object_get(out, "$evaluators")), 5);
    assert_true(json_is_array(json_object_get(out, "metadata")));
    assert_non_null(json_object_get(json_object_get(out, "flags"), "c"));
    json_decref(out);
    struct last_audit l = last_audit(f);
    assert_string_equal(l.after, "{\"flags\":{\"c\":{\"state\":\"ENABLED\",\"variants\":{\"on\":"
                                 "true},\"defaultVariant\":\"on\"}},\"$evaluators\":5,"
                                 "\"metadata\":[1]}");
    json_decref(doc);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_flag_change_shares_every_other_compiled_flag, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(an_import_recompiles_only_what_it_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(an_experiment_changes_one_flag_of_the_snapshot, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_kill_switch_serves_controls_sharing_the_rest, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(random_changes_answer_as_a_fresh_load_of_the_export, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_flag_is_given_back_as_the_text_it_was_written_as, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            an_import_with_members_of_other_types_is_taken_with_warnings, setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
