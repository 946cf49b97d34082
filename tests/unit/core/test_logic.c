/* test_logic.c - core/logic: compiling and running targeting rules. */
#include <stdio.h>
#include <string.h>

#include "../harness.h"
#include "codec/value_json.h"
#include "core/logic.h"

struct fixture {
    sy_arena_t arena;
    char scratch_buf[8192];
    sy_arena_t scratch;
};

static sy_value_t json(struct fixture *f, const char *text)
{
    sy_value_t v;
    if (sy_value_parse(text, strlen(text), &f->arena, &v, NULL) < 0)
        fail_msg("bad JSON in the test: %s", text);
    return v;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    sy_arena_init(&f->arena, 1 << 22);
    sy_arena_init_fixed(&f->scratch, f->scratch_buf, sizeof(f->scratch_buf));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sy_arena_free(&f->arena);
    free(f);
    return 0;
}

/* Compiles `rule` and runs it on `ctx` at `now`; returns the eval code, *out the value. */
static int run(struct fixture *f, const char *rule, const char *ctx, int64_t now, sy_value_t *out)
{
    sy_value_t r = json(f, rule), c = json(f, ctx);
    const sy_logic_t *l;
    sy_err_t err;
    if (sy_logic_compile(&r, NULL, &f->arena, &l, &err) < 0)
        fail_msg("compile %s: %s at %s", rule, err.msg, err.field);
    sy_logic_env_t env = {.ctx = &c, .flag_key = "flag", .flag_key_len = 4, .now_s = now};
    return sy_logic_eval(l, &env, &f->scratch, out);
}

static void compile_names_the_unknown_operator_and_its_path(void **state)
{
    struct fixture *f = *state;
    sy_value_t r = json(f, "{\"if\": [{\"==\": [1, 1]}, {\"frob\": [1]}, \"x\"]}");
    const sy_logic_t *l;
    sy_err_t err;
    assert_int_equal(sy_logic_compile(&r, NULL, &f->arena, &l, &err), -EINVAL);
    assert_string_equal(err.field, ".if[1]");
    assert_non_null(strstr(err.msg, "unknown operator \"frob\""));
    r = json(f, "{\"==\": [1, 1], \"!=\": [1, 2]}");
    assert_int_equal(sy_logic_compile(&r, NULL, &f->arena, &l, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "exactly one key"));
}

static void compile_inlines_refs_and_reports_missing_ones(void **state)
{
    struct fixture *f = *state;
    sy_value_t ev = json(f, "{\"adult\": {\">=\": [{\"var\": \"age\"}, 18]}}");
    sy_value_t r = json(f, "{\"if\": [{\"$ref\": \"adult\"}, \"yes\", \"no\"]}");
    sy_value_t c = json(f, "{\"age\": 20}");
    const sy_logic_t *l;
    sy_err_t err;
    assert_int_equal(sy_logic_compile(&r, &ev, &f->arena, &l, &err), 0);
    sy_logic_env_t env = {.ctx = &c, .flag_key = "f", .flag_key_len = 1};
    sy_value_t out;
    assert_int_equal(sy_logic_eval(l, &env, &f->scratch, &out), 0);
    assert_int_equal(out.type, SY_STR);
    assert_memory_equal(out.s, "yes", 3);
    r = json(f, "{\"if\": [{\"$ref\": \"child\"}, \"yes\", \"no\"]}");
    assert_int_equal(sy_logic_compile(&r, &ev, &f->arena, &l, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "child"));
}

static void compile_refuses_rules_nested_too_deep(void **state)
{
    struct fixture *f = *state;
    char rule[2048] = "";
    for (int i = 0; i < SY_LOGIC_MAX_DEPTH + 2; i++)
        strcat(rule, "{\"!\":");
    strcat(rule, "1");
    for (int i = 0; i < SY_LOGIC_MAX_DEPTH + 2; i++)
        strcat(rule, "}");
    sy_value_t r = json(f, rule);
    const sy_logic_t *l;
    sy_err_t err;
    assert_int_equal(sy_logic_compile(&r, NULL, &f->arena, &l, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "deeper"));
}

/* Evaluators that name each other several times multiply: 2 KB of them must not compile
 * into millions of operations (the server spent seconds and gigabytes on one rule). */
static void compile_refuses_refs_that_expand_too_far(void **state)
{
    struct fixture *f = *state;
    char text[4096] = "{";
    for (int i = 0; i < 6; i++) {
        char one[512] = "";
        snprintf(one, sizeof(one), "\"e%d\": {\"or\": [", i);
        for (int k = 0; k < 20; k++)
            snprintf(one + strlen(one), sizeof(one) - strlen(one), "%s{\"$ref\": \"e%d\"}",
                     k ? ", " : "", i + 1);
        strcat(strcat(text, one), "]}, ");
    }
    strcat(text, "\"e6\": {\"==\": [{\"var\": \"q\"}, 7]}}");
    sy_value_t ev = json(f, text);
    sy_value_t r = json(f, "{\"if\": [{\"$ref\": \"e0\"}, \"yes\", \"no\"]}");
    sy_arena_t big; /* room for what a cap-less compiler would try (until it runs out) */
    sy_arena_init(&big, (size_t)64 << 20);
    const sy_logic_t *l;
    sy_err_t err;
    assert_int_equal(sy_logic_compile(&r, &ev, &big, &l, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "expand"));
    sy_arena_free(&big);

    /* An allow-list of 100,000 in an evaluator, named twice, is not that. */
    size_t cap = 100000 * 12 + 256;
    char *list = malloc(cap);
    size_t n = (size_t)snprintf(list, cap, "{\"allow\": {\"in\": [{\"var\": \"u\"}, [");
    for (int i = 0; i < 100000; i++)
        n += (size_t)snprintf(list + n, cap - n, "%s\"u%d\"", i ? "," : "", i);
    snprintf(list + n, cap - n, "]]}}");
    ev = json(f, list);
    free(list);
    r = json(f, "{\"or\": [{\"$ref\": \"allow\"}, {\"!\": {\"$ref\": \"allow\"}}]}");
    sy_arena_init(&big, (size_t)64 << 20);
    assert_int_equal(sy_logic_compile(&r, &ev, &big, &l, &err), 0);
    sy_arena_free(&big);
}

static void runtime_type_errors_are_einval(void **state)
{
    struct fixture *f = *state;
    sy_value_t out;
    assert_int_equal(run(f, "{\"substr\": [{\"var\": \"n\"}, 1]}", "{\"n\": 5}", 0, &out), -EINVAL);
    assert_int_equal(run(f, "{\"/\": [1, 0]}", "{}", 0, &out), -EINVAL);
    assert_int_equal(run(f, "{\"max\": [1, \"2\"]}", "{}", 0, &out), -EINVAL);
    assert_int_equal(run(f, "{\"<\": [{\"var\": \"s\"}, 9]}", "{\"s\": \"x\"}", 0, &out), -EINVAL);
    assert_int_equal(run(f, "{\"in\": [1, 5]}", "{}", 0, &out), -EINVAL);
    assert_int_equal(run(f, "{\"<\": [{\"var\": \"s\"}, 9]}", "{\"s\": \"8\"}", 0, &out), 0);
    assert_true(out.type == SY_BOOL && out.b);
}

static void a_full_scratch_is_enomem_not_a_crash(void **state)
{
    struct fixture *f = *state;
    char tiny[64];
    sy_arena_init_fixed(&f->scratch, tiny, sizeof(tiny));
    sy_value_t out;
    assert_int_equal(run(f,
                         "{\"cat\": [\"a long enough string to overflow\", {\"var\": \"x\"},"
                         " \"and then some more of it to be sure\"]}",
                         "{\"x\": 1}", 0, &out),
                     -ENOMEM);
    assert_int_equal(run(f, "{\"merge\": [[1,2,3,4], [5,6,7,8]]}", "{}", 0, &out), -ENOMEM);
}

static void flagd_properties_come_from_the_environment(void **state)
{
    struct fixture *f = *state;
    sy_value_t out;
    assert_int_equal(run(f,
                         "{\"cat\": [{\"var\": \"$flagd.flagKey\"}, \"@\","
                         " {\"var\": \"$flagd.timestamp\"}]}",
                         "{\"$flagd\": {\"flagKey\": \"forged\", \"timestamp\": 1}}", 1767225600,
                         &out),
                     0);
    assert_int_equal(out.type, SY_STR);
    assert_int_equal(out.len, strlen("flag@1767225600"));
    assert_memory_equal(out.s, "flag@1767225600", out.len);
}

static void reads_time_only_when_a_rule_can_see_it(void **state)
{
    struct fixture *f = *state;
    const char *rules[] = {"{\"var\": \"$flagd.timestamp\"}", "{\"var\": \"\"}",
                           "{\"var\": {\"cat\": [\"a\"]}}", "{\"var\": \"x\"}",
                           "{\"var\": \"$flagd.flagKey\"}"};
    bool want[] = {true, true, true, false, false};
    for (int i = 0; i < 5; i++) {
        sy_value_t r = json(f, rules[i]);
        const sy_logic_t *l;
        assert_int_equal(sy_logic_compile(&r, NULL, &f->arena, &l, NULL), 0);
        if (sy_logic_reads_time(l) != want[i])
            fail_msg("%s: reads_time %d", rules[i], !want[i]);
    }
}

/* The literal (pre-summed) and computed paths of fractional must agree on every key. */
static void fractional_literal_and_computed_weights_agree(void **state)
{
    struct fixture *f = *state;
    char ctx[128];
    for (int i = 0; i < 500; i++) {
        snprintf(ctx, sizeof(ctx), "{\"targetingKey\": \"user-%d\", \"w\": 33}", i);
        sy_value_t a, b;
        sy_arena_init_fixed(&f->scratch, f->scratch_buf, sizeof(f->scratch_buf));
        assert_int_equal(
            run(f, "{\"fractional\": [[\"a\", 34], [\"b\", 33], [\"c\", 33]]}", ctx, 0, &a), 0);
        assert_int_equal(run(f,
                             "{\"fractional\": [[\"a\", 34], [\"b\", {\"var\": \"w\"}],"
                             " [\"c\", 33]]}",
                             ctx, 0, &b),
                         0);
        assert_true(sy_value_json_eq(&a, &b));
    }
}

/* Raising a's weight from 10 to 30 (of 100) moves only units from b to a, about 20% of
 * them. Rollouts rely on this. */
static void fractional_units_move_only_when_they_must(void **state)
{
    struct fixture *f = *state;
    sy_value_t r10 = json(f, "{\"fractional\": [[\"a\", 10], [\"b\", 90]]}");
    sy_value_t r30 = json(f, "{\"fractional\": [[\"a\", 30], [\"b\", 70]]}");
    const sy_logic_t *lo_rule, *hi_rule;
    assert_int_equal(sy_logic_compile(&r10, NULL, &f->arena, &lo_rule, NULL), 0);
    assert_int_equal(sy_logic_compile(&r30, NULL, &f->arena, &hi_rule, NULL), 0);
    int moved = 0, n = 4000;
    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof(key), "unit-%d", i);
        sy_member_t m = {.key = "targetingKey", .klen = 12, .val = sy_value_cstr(key)};
        sy_value_t ctx = {.type = SY_OBJ, .len = 1, .members = &m};
        sy_logic_env_t env = {.ctx = &ctx, .flag_key = "f", .flag_key_len = 1};
        sy_value_t lo, hi;
        assert_int_equal(sy_logic_eval(lo_rule, &env, &f->scratch, &lo), 0);
        assert_int_equal(sy_logic_eval(hi_rule, &env, &f->scratch, &hi), 0);
        sy_arena_init_fixed(&f->scratch, f->scratch_buf, sizeof(f->scratch_buf));
        bool lo_a = lo.s[0] == 'a', hi_a = hi.s[0] == 'a';
        if (lo_a && !hi_a)
            fail_msg("%s left a when a grew", key);
        moved += !lo_a && hi_a;
    }
    assert_in_range(moved, n * 17 / 100, n * 23 / 100);
}

static void fractional_without_a_targeting_key_is_null(void **state)
{
    struct fixture *f = *state;
    sy_value_t out;
    assert_int_equal(run(f, "{\"fractional\": [[\"a\", 1], [\"b\", 1]]}", "{}", 0, &out), 0);
    assert_int_equal(out.type, SY_NULL);
    assert_int_equal(
        run(f, "{\"fractional\": [[\"a\", 1], [\"b\", 1]]}", "{\"targetingKey\": 12345}", 0, &out),
        0);
    assert_int_equal(out.type, SY_NULL); /* flagd (Go) refuses a non-string key */
    assert_int_equal(run(f, "{\"fractional\": [[\"a\", 1.5], [\"b\", 1]]}",
                         "{\"targetingKey\": \"u\"}", 0, &out),
                     0);
    assert_int_equal(out.type, SY_NULL); /* weights must be integers */
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(compile_names_the_unknown_operator_and_its_path, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(compile_inlines_refs_and_reports_missing_ones, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(compile_refuses_rules_nested_too_deep, setup, teardown),
        cmocka_unit_test_setup_teardown(compile_refuses_refs_that_expand_too_far, setup, teardown),
        cmocka_unit_test_setup_teardown(runtime_type_errors_are_einval, setup, teardown),
        cmocka_unit_test_setup_teardown(a_full_scratch_is_enomem_not_a_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(flagd_properties_come_from_the_environment, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reads_time_only_when_a_rule_can_see_it, setup, teardown),
        cmocka_unit_test_setup_teardown(fractional_literal_and_computed_weights_agree, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(fractional_units_move_only_when_they_must, setup, teardown),
        cmocka_unit_test_setup_teardown(fractional_without_a_targeting_key_is_null, setup,
                                        teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
