/* test_json_parse.c - the arena JSON parser (codec/json_parse.c): what it keeps of repeated
 * keys, Unicode escapes and UTF-8, numbers, depth, and where it says a refusal is. (That it
 * agrees with jansson on any input is fuzz/fuzz_json.c's job.) */
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "codec/value_json.h"

static sy_arena_t arena;

static int setup(void **state)
{
    (void)state;
    sy_arena_init(&arena, (size_t)1 << 26);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sy_arena_free(&arena);
    return 0;
}

static int parse(const char *text, size_t len, sy_value_t *v, sy_err_t *err)
{
    return sy_value_parse(text, len, &arena, v, err);
}

static sy_value_t ok_parse(const char *text)
{
    sy_value_t v;
    sy_err_t err = {0};
    if (parse(text, strlen(text), &v, &err) < 0)
        fail_msg("refused %s: %s", text, err.msg);
    return v;
}

static void refused(const char *text, size_t len)
{
    sy_value_t v;
    sy_err_t err = {0};
    assert_int_equal(parse(text, len, &v, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "invalid JSON at line"));
}

static void a_repeated_key_keeps_its_first_place_and_last_value(void **state)
{
    (void)state;
    sy_value_t v = ok_parse("{\"a\":1,\"b\":2,\"a\":3}");
    assert_int_equal(v.len, 2);
    assert_string_equal(v.members[0].key, "a");
    assert_true(v.members[0].val.n == 3);
    assert_string_equal(v.members[1].key, "b");
    /* the same past 16 members, where repeats are found by sorting */
    char big[2048] = "{";
    size_t o = 1;
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(big + o, sizeof(big) - o, "\"k%d\":%d,", i % 30, i);
    big[o - 1] = '}';
    v = ok_parse(big);
    assert_int_equal(v.len, 30);
    for (int i = 0; i < 30; i++) {
        char k[8];
        snprintf(k, sizeof(k), "k%d", i);
        assert_string_equal(v.members[i].key, k);
        assert_true(v.members[i].val.n == (i < 10 ? i + 30 : i));
    }
}

static void strings_decode_escapes_and_check_utf8(void **state)
{
    (void)state;
    sy_value_t v = ok_parse("\"a\\u00e9\\ud83d\\ude00\\n\\\"\\/\"");
    assert_int_equal(v.len, 1 + 2 + 4 + 1 + 1 + 1);
    assert_memory_equal(v.s, "a\xc3\xa9\xf0\x9f\x98\x80\n\"/", v.len);
    assert_int_equal(v.s[v.len], '\0');
    v = ok_parse("\"x\\u0000y\""); /* NUL in a value is kept */
    assert_int_equal(v.len, 3);
    assert_int_equal(v.s[1], '\0');
    v = ok_parse("\"caf\xc3\xa9\"");
    assert_int_equal(v.len, 5);
    refused("\"\\ud800\"", 8);          /* a lone high surrogate */
    refused("\"\\udc00\"", 8);          /* a lone low one */
    refused("\"\xc0\xaf\"", 4);         /* overlong */
    refused("\"\xed\xa0\x80\"", 5);     /* a surrogate in UTF-8 */
    refused("\"\xf4\x90\x80\x80\"", 6); /* past U+10FFFF */
    refused("\"a\tb\"", 5);             /* a raw control character */
    refused("{\"a\\u0000\":1}", 13);    /* NUL in a key */
    refused("\"abc", 4);
    refused("\"\\x\"", 4);
}

static void numbers_are_doubles(void **state)
{
    (void)state;
    sy_value_t v = ok_parse("[0, -0, 12, -7.5, 1e3, 2E-2, 123456789012345678901, 1e-400]");
    assert_int_equal(v.len, 8);
    assert_true(v.items[0].n == 0 && !signbit(v.items[0].n));
    assert_true(v.items[1].n == 0 && signbit(v.items[1].n));
    assert_true(v.items[2].n == 12 && v.items[3].n == -7.5 && v.items[4].n == 1000);
    assert_true(v.items[5].n == 0.02);
    assert_true(v.items[6].n == 123456789012345678901.0);
    assert_true(v.items[7].n == 0);
    refused("1e309", 5);
    refused("01", 2);
    refused("1.", 2);
    refused("-", 1);
    refused(".5", 2);
    refused("1e", 2);
}

static void structure_and_where_a_refusal_is(void **state)
{
    (void)state;
    sy_value_t v = ok_parse(" {\"a\":[true,false,null,{}],\"b\":[]} \n");
    assert_int_equal(v.type, SY_OBJ);
    assert_int_equal(v.members[0].val.len, 4);
    assert_int_equal(v.members[1].val.type, SY_ARR);
    refused("", 0);
    refused("[1,]", 4);
    refused("{\"a\" 1}", 7);
    refused("[1] x", 5);
    refused("tru", 3);
    refused("[1]\0", 4);
    sy_err_t err = {0};
    assert_int_equal(parse("{\n  \"a\": nope\n}", 15, &v, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "line 2, column 8"));
}

static void nesting_stops_at_2048_levels(void **state)
{
    (void)state;
    char *deep = malloc(2 * 2049 + 1);
    for (int n = 2048; n <= 2049; n++) {
        memset(deep, '[', (size_t)n);
        memset(deep + n, ']', (size_t)n);
        sy_value_t v;
        int rc = parse(deep, 2 * (size_t)n, &v, NULL);
        assert_int_equal(rc, n == 2048 ? 0 : -EINVAL);
    }
    free(deep);
}

static void a_full_arena_is_out_of_memory(void **state)
{
    (void)state;
    char buf[256];
    sy_arena_t small;
    sy_arena_init_fixed(&small, buf, sizeof(buf));
    sy_value_t v;
    sy_err_t err = {0};
    const char *text = "[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
                       "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\","
                       "\"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\","
                       "\"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\"]";
    assert_int_equal(sy_value_parse(text, strlen(text), &small, &v, &err), -ENOMEM);
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_repeated_key_keeps_its_first_place_and_last_value, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(strings_decode_escapes_and_check_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(numbers_are_doubles, setup, teardown),
        cmocka_unit_test_setup_teardown(structure_and_where_a_refusal_is, setup, teardown),
        cmocka_unit_test_setup_teardown(nesting_stops_at_2048_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(a_full_arena_is_out_of_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
