/* test_suggest.c - core/suggest: the known name closest to a misspelt one, or none. */
#include <string.h>

#include "../harness.h"
#include "core/suggest.h"

static const char *const flag_members[] = {"state",     "variants", "defaultVariant",
                                           "targeting", "metadata", NULL};

static const char *suggest(const char *word)
{
    return sy_suggest(word, strlen(word), flag_members);
}

static void issue_22_misspellings_find_the_member_meant(void **state)
{
    (void)state;
    assert_string_equal(suggest("defaultVarient"), "defaultVariant"); /* a substitution */
    assert_string_equal(suggest("targetting"), "targeting");          /* an insertion */
    assert_string_equal(suggest("varients"), "variants");
    assert_string_equal(suggest("stat"), "state");                    /* a deletion */
    assert_string_equal(suggest("metdaata"), "metadata");             /* a swap: one edit */
    assert_string_equal(suggest("DefaultVariant"), "defaultVariant"); /* case */
    assert_string_equal(suggest("default_variant"), "defaultVariant");
}

static void unrelated_or_exact_names_suggest_nothing(void **state)
{
    (void)state;
    assert_null(suggest("key")); /* 3 bytes: any edit is too many */
    assert_null(suggest("owner"));
    assert_null(suggest("default")); /* 7 edits from defaultVariant */
    assert_null(suggest("state"));   /* known: nothing to correct */
    assert_null(suggest(""));
    char longer[SY_SUGGEST_MAX + 2];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    assert_null(suggest(longer));
}

static void at_most_two_edits_and_one_per_three_bytes(void **state)
{
    (void)state;
    static const char *const names[] = {"abcdef", "xy", NULL};
    assert_string_equal(sy_suggest("abcdxx", 6, names), "abcdef"); /* 2 edits, 6 bytes */
    assert_null(sy_suggest("abxxxf", 6, names));                   /* 3 edits */
    assert_null(sy_suggest("x", 1, names));                        /* 1 edit, but of 2 bytes */
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(issue_22_misspellings_find_the_member_meant),
        cmocka_unit_test(unrelated_or_exact_names_suggest_nothing),
        cmocka_unit_test(at_most_two_edits_and_one_per_three_bytes),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
