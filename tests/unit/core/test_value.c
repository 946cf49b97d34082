/* test_value.c - core/value: JavaScript's coercions as JSONLogic applies them. */
#include <string.h>

#include "../harness.h"
#include "core/value.h"

static void num_format_matches_javascript_number_to_string(void **state)
{
    (void)state;
    static const struct {
        double d;
        const char *js;
    } cases[] = {
        {0, "0"},
        {-0.0, "0"},
        {1, "1"},
        {-2.5, "-2.5"},
        {0.1, "0.1"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1e21, "1e+21"},
        {1e20, "100000000000000000000"},
        {123456789012345680000.0, "123456789012345680000"},
        {1e-7, "1e-7"},
        {1.5e-7, "1.5e-7"},
        {0.000001, "0.000001"},
        {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {34, "34"},
        {7.5, "7.5"},
        {-1e-7, "-1e-7"},
    };
    char buf[40];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = sy_num_format(cases[i].d, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].js);
        assert_int_equal(n, strlen(cases[i].js));
    }
}

static void num_format_truncates_snprintf_style(void **state)
{
    (void)state;
    char buf[4];
    assert_int_equal(sy_num_format(12345.5, buf, sizeof(buf)), 7);
    assert_string_equal(buf, "123");
}

static void to_number_follows_string_to_number(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool ok;
        double want;
    } cases[] = {
        {"", true, 0},
        {"  12  ", true, 12},
        {"\t\n3.5\r", true, 3.5},
        {"0x1A", true, 26},
        {"0b101", true, 5},
        {"0o17", true, 15},
        {"1e3", true, 1000},
        {"-Infinity", true, -INFINITY},
        {".5", true, 0.5},
        {"5.", true, 5},
        {"abc", false, 0},
        {"1,5", false, 0},
        {"nan", false, 0},
        {"inf", false, 0},
        {"-0x1A", false, 0},
        {"0x", false, 0},
        {"1e", false, 0},
        {"++1", false, 0},
        {"\xc2\xa0"
         "7",
         true, 7},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sy_value_t v = sy_value_cstr(cases[i].s);
        double d;
        bool ok = sy_value_to_number(&v, &d);
        if (ok != cases[i].ok)
            fail_msg("ToNumber(\"%s\") ok=%d, want %d", cases[i].s, ok, cases[i].ok);
        if (ok)
            assert_true(d == cases[i].want);
    }
    sy_value_t n = SY_V_NULL, t = SY_V_BOOL(true), arr = {.type = SY_ARR};
    double d;
    assert_true(sy_value_to_number(&n, &d) && d == 0);
    assert_true(sy_value_to_number(&t, &d) && d == 1);
    assert_false(sy_value_to_number(&arr, &d));
}

static void truthiness_treats_empty_arrays_as_false(void **state)
{
    (void)state;
    sy_value_t empty_arr = {.type = SY_ARR}, empty_obj = {.type = SY_OBJ};
    sy_value_t zero_str = sy_value_cstr("0"), empty_str = sy_value_cstr("");
    sy_value_t zero = SY_V_NUM(0), nul = SY_V_NULL;
    assert_false(sy_value_truthy(&empty_arr));
    assert_true(sy_value_truthy(&empty_obj));
    assert_true(sy_value_truthy(&zero_str));
    assert_false(sy_value_truthy(&empty_str));
    assert_false(sy_value_truthy(&zero));
    assert_false(sy_value_truthy(&nul));
}

static void to_string_joins_arrays_like_javascript(void **state)
{
    (void)state;
    char buf[256];
    sy_arena_t a;
    sy_arena_init_fixed(&a, buf, sizeof(buf));
    sy_value_t inner[2] = {SY_V_NUM(1), SY_V_NULL};
    sy_value_t items[4] = {
        SY_V_NUM(2.5), SY_V_NULL, SY_V_BOOL(true), {.type = SY_ARR, .len = 2, .items = inner}};
    sy_value_t arr = {.type = SY_ARR, .len = 4, .items = items};
    const char *s;
    size_t len;
    assert_int_equal(sy_value_to_string(&arr, &a, &s, &len), 0);
    assert_string_equal(s, "2.5,,true,1,");
    sy_value_t nul = SY_V_NULL, obj = {.type = SY_OBJ};
    assert_int_equal(sy_value_to_string(&nul, &a, &s, &len), 0);
    assert_string_equal(s, "null");
    assert_int_equal(sy_value_to_string(&obj, &a, &s, &len), 0);
    assert_string_equal(s, "[object Object]");
}

static void to_string_reports_a_full_scratch(void **state)
{
    (void)state;
    char buf[16]; /* less than the 24 bytes "1.2345678901234567e-100" needs */
    sy_arena_t a;
    sy_arena_init_fixed(&a, buf, sizeof(buf));
    sy_value_t big = SY_V_NUM(1.2345678901234567e-100);
    const char *s;
    size_t len;
    assert_int_equal(sy_value_to_string(&big, &a, &s, &len), -ENOMEM);
}

static void strict_equality_never_equates_arrays(void **state)
{
    (void)state;
    sy_value_t a = {.type = SY_ARR}, one = SY_V_NUM(1), one_s = sy_value_cstr("1");
    assert_false(sy_value_strict_eq(&a, &a));
    assert_false(sy_value_strict_eq(&one, &one_s));
    assert_true(sy_value_json_eq(&a, &a));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(num_format_matches_javascript_number_to_string),
        cmocka_unit_test(num_format_truncates_snprintf_style),
        cmocka_unit_test(to_number_follows_string_to_number),
        cmocka_unit_test(truthiness_treats_empty_arrays_as_false),
        cmocka_unit_test(to_string_joins_arrays_like_javascript),
        cmocka_unit_test(to_string_reports_a_full_scratch),
        cmocka_unit_test(strict_equality_never_equates_arrays),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
