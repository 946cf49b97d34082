/* test_utf8.c - UTF-8 validity (core/utf8.c): what is a sequence, and the clean copy. */
#include <string.h>

#include "../harness.h"
#include "core/utf8.h"

static void utf8_takes_every_length_and_refuses_what_rfc_3629_refuses(void **state)
{
    (void)state;
    assert_int_equal(sy_utf8_seq("a", 1), 1);
    assert_int_equal(sy_utf8_seq("\xc3\xa9", 2), 2);         /* é */
    assert_int_equal(sy_utf8_seq("\xe2\x82\xac", 3), 3);     /* € */
    assert_int_equal(sy_utf8_seq("\xf0\x9f\x98\x80", 4), 4); /* an emoji */
    assert_int_equal(sy_utf8_seq("\xf4\x8f\xbf\xbf", 4), 4); /* U+10FFFF */
    static const char *const bad[] = {
        "\xff",             /* no lead byte */
        "\x80",             /* a continuation alone */
        "\xc0\xaf",         /* overlong '/' */
        "\xc1\xbf",         /* overlong */
        "\xe0\x9f\xbf",     /* overlong three bytes */
        "\xed\xa0\x80",     /* a surrogate */
        "\xf0\x8f\xbf\xbf", /* overlong four bytes */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xf5\x80\x80\x80", /* past U+10FFFF */
        "\xc3(",            /* a lead without its continuation */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (sy_utf8_seq(bad[i], strlen(bad[i])) != 0)
            fail_msg("case %zu was taken", i);
    assert_int_equal(sy_utf8_seq("\xe2\x82\xac", 2), 0); /* cut by the end */
    assert_int_equal(sy_utf8_seq("", 0), 0);
    assert_true(sy_utf8_valid("caf\xc3\xa9 \xe2\x82\xac", 9));
    assert_false(sy_utf8_valid("caf\xc3", 4));
    assert_true(sy_utf8_valid("", 0));
}

static void utf8_clean_replaces_bad_bytes_and_never_cuts_a_sequence(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(sy_utf8_clean(out, sizeof(out),
                                   "a\xff"
                                   "b\xc0\xaf"),
                     5);
    assert_string_equal(out, "a?b??");
    /* "€€€€€€" is 18 bytes: 5 whole ones fit in 16 with the NUL, none is cut */
    assert_int_equal(sy_utf8_clean(out, sizeof(out),
                                   "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
                                   "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"),
                     15);
    assert_true(sy_utf8_valid(out, strlen(out)));
    assert_int_equal(sy_utf8_clean(out, 1, "abc"), 0);
    assert_string_equal(out, "");
}

static void utf8_text_is_one_to_max_bytes_of_utf8_without_controls(void **state)
{
    (void)state;
    assert_true(sy_utf8_text("a", 1));
    assert_true(sy_utf8_text("caf\xc3\xa9", 5));
    assert_false(sy_utf8_text("caf\xc3\xa9", 4)); /* 5 bytes */
    assert_false(sy_utf8_text("", 10));
    assert_false(sy_utf8_text(NULL, 10));
    assert_false(sy_utf8_text("tab\there", 64));
    assert_false(sy_utf8_text("del\x7f", 64));
    assert_false(sy_utf8_text("bad\xff", 64));
    assert_false(sy_utf8_text("\xe2\x82", 64)); /* a cut sequence */
    assert_true(sy_utf8_text("with space", 10));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(utf8_text_is_one_to_max_bytes_of_utf8_without_controls),
    cmocka_unit_test(utf8_takes_every_length_and_refuses_what_rfc_3629_refuses),
    cmocka_unit_test(utf8_clean_replaces_bad_bytes_and_never_cuts_a_sequence),
};

SY_TEST_MAIN(tests)
