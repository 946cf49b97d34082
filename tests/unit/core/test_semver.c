/* test_semver.c - core/semver: flagd's sem_ver comparisons. */
#include <string.h>

#include "../harness.h"
#include "core/semver.h"

static int test(const char *a, const char *op, const char *b, bool *r)
{
    return sy_semver_test(a, strlen(a), op, strlen(op), b, strlen(b), r);
}

static bool holds(const char *a, const char *op, const char *b)
{
    bool r = false;
    if (test(a, op, b, &r) != 0)
        fail_msg("%s %s %s: refused", a, op, b);
    return r;
}

static void prereleases_order_as_semver_org_says(void **state)
{
    (void)state;
    /* semver.org 11.4's example chain, each lower than the next. */
    const char *chain[] = {"1.0.0-alpha",  "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                           "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",       "1.0.0"};
    for (size_t i = 0; i + 1 < sizeof(chain) / sizeof(chain[0]); i++) {
        assert_true(holds(chain[i], "<", chain[i + 1]));
        assert_false(holds(chain[i + 1], "<=", chain[i]));
    }
}

static void build_metadata_is_ignored_and_v_prefix_stripped(void **state)
{
    (void)state;
    assert_true(holds("1.2.3+build.5", "=", "1.2.3"));
    assert_true(holds("v1.2.3", "=", "V1.2.3"));
    assert_true(holds("2", "=", "2.0.0"));
    assert_true(holds("1.4", ">", "1.3.9"));
    assert_true(holds("10.0.0", ">", "9.99.99"));
    assert_true(holds("1.2.99999999999999999999", ">", "1.2.3"));
}

static void caret_and_tilde_compare_major_and_minor(void **state)
{
    (void)state;
    assert_true(holds("1.9.0", "^", "1.0.0"));
    assert_false(holds("2.0.0", "^", "1.9.9"));
    assert_true(holds("1.2.9", "~", "1.2.0"));
    assert_false(holds("1.3.0", "~", "1.2.0"));
    assert_true(holds("1.0.0", "!=", "1.0.1"));
    assert_true(holds("1.0.1", ">=", "1.0.1"));
}

static void invalid_versions_and_operators_are_refused(void **state)
{
    (void)state;
    bool r;
    const char *bad[] = {"",        "1.2.3.4", "01.2.3",    "1.2.3-",   "1.2.3-01",
                         "vv1.2.3", " 1.2.3",  "1.2.3 ",    "1.2-beta", "1..2",
                         "x.y.z",   "1.2.3+",  "1.2.3-a..b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (test(bad[i], "=", "1.0.0", &r) != -EINVAL)
            fail_msg("\"%s\" should be refused", bad[i]);
    assert_int_equal(test("1.0.0", "==", "1.0.0", &r), -EINVAL);
    assert_int_equal(test("1.0.0", "", "1.0.0", &r), -EINVAL);
    assert_int_equal(test("1.0.0-01a", "=", "1.0.0-01a", &r), 0); /* alphanumeric: fine */
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prereleases_order_as_semver_org_says),
        cmocka_unit_test(build_metadata_is_ignored_and_v_prefix_stripped),
        cmocka_unit_test(caret_and_tilde_compare_major_and_minor),
        cmocka_unit_test(invalid_versions_and_operators_are_refused),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
