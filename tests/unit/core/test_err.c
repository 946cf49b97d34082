/* test_err.c - tests of src/core/err.c. */
#include "../harness.h"

#include <string.h>

#include "core/err.h"

static void err_set_returns_code_and_fills_every_member(void **state)
{
    (void)state;
    sy_err_t err;
    assert_int_equal(sy_err_set(&err, -EINVAL, "alpha", "alpha %s", "is bad"), -EINVAL);
    assert_int_equal(err.code, -EINVAL);
    assert_string_equal(err.field, "alpha");
    assert_string_equal(err.msg, "alpha is bad");
}

static void err_set_accepts_null_err_and_null_field(void **state)
{
    (void)state;
    sy_err_t err;
    assert_int_equal(sy_err_set(NULL, SY_EZEROVAR, "x", "y"), SY_EZEROVAR);
    sy_err_set(&err, SY_ENOTRIALS, NULL, "none");
    assert_string_equal(err.field, "");
}

static void err_set_truncates_long_texts_within_their_buffers(void **state)
{
    (void)state;
    char longer[400];
    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    sy_err_t err;
    sy_err_set(&err, -EINVAL, longer, "%s", longer);
    assert_int_equal(strlen(err.field), sizeof(err.field) - 1);
    assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
}

static void err_name_gives_the_api_spelling_of_each_code(void **state)
{
    (void)state;
    assert_string_equal(sy_err_name(-EINVAL), "invalid_input");
    assert_string_equal(sy_err_name(SY_ENOTRIALS), "no_trials");
    assert_string_equal(sy_err_name(SY_ETOOFEW), "too_few_samples");
    assert_string_equal(sy_err_name(SY_EZEROVAR), "zero_variance");
    assert_string_equal(sy_err_name(-ENOMEM), "out_of_memory");
    assert_string_equal(sy_err_name(-EACCES), "unauthorized");
    assert_string_equal(sy_err_name(-EPERM), "forbidden");
    assert_string_equal(sy_err_name(-E2BIG), "too_large");
    assert_string_equal(sy_err_name(-EIO), "store_error");
    assert_string_equal(sy_err_name(-EBUSY), "rate_limited");
    assert_string_equal(sy_err_name(12345), "internal");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(err_set_returns_code_and_fills_every_member),
    cmocka_unit_test(err_set_accepts_null_err_and_null_field),
    cmocka_unit_test(err_set_truncates_long_texts_within_their_buffers),
    cmocka_unit_test(err_name_gives_the_api_spelling_of_each_code),
};

SY_TEST_MAIN(tests)
