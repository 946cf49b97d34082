/* test_secret.c - sy_secret_matches: the cron secret and the OFREP stream keys are
 * accepted exactly, and nothing meets a secret that is not set. (That its time does not
 * depend on where the texts differ is read from the code, not measured here.) */
#include <stdbool.h>

#include "../harness.h"
#include "http/secret.h"

static void secret_matches_the_same_text(void **state)
{
    (void)state;
    assert_true(sy_secret_matches("0123456789abcdef", "0123456789abcdef"));
    assert_true(sy_secret_matches("x", "x"));
}

static void secret_refuses_a_text_differing_in_any_byte(void **state)
{
    (void)state;
    assert_false(sy_secret_matches("0123456789abcdef", "1123456789abcdef"));
    assert_false(sy_secret_matches("0123456789abcdef", "0123456_89abcdef"));
    assert_false(sy_secret_matches("0123456789abcdef", "0123456789abcdee"));
    assert_false(sy_secret_matches("0123456789abcdef", "0123456789ABCDEF"));
}

static void secret_refuses_a_prefix_an_extension_and_an_empty_text(void **state)
{
    (void)state;
    assert_false(sy_secret_matches("0123456789abcdef", "0123456789abcde"));
    assert_false(sy_secret_matches("0123456789abcdef", "0123456789abcdef0"));
    assert_false(sy_secret_matches("0123456789abcdef", ""));
}

static void secret_that_is_not_set_matches_nothing(void **state)
{
    (void)state;
    assert_false(sy_secret_matches(NULL, ""));
    assert_false(sy_secret_matches(NULL, "anything"));
    assert_false(sy_secret_matches("", ""));
    assert_false(sy_secret_matches("", "anything"));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(secret_matches_the_same_text),
    cmocka_unit_test(secret_refuses_a_text_differing_in_any_byte),
    cmocka_unit_test(secret_refuses_a_prefix_an_extension_and_an_empty_text),
    cmocka_unit_test(secret_that_is_not_set_matches_nothing),
};

SY_TEST_MAIN(tests)
