/* test_ui.c - the console's embedded assets and the header readers ui.c answers with:
 * If-None-Match (lists, weak tags, "*") and Accept-Encoding (gzip named, "*", q=0). */
#include <stdbool.h>
#include <string.h>

#include "../harness.h"
#include "http/ui.h"

static void ui_embeds_index_html_and_uplot_with_types_and_etags(void **state)
{
    (void)state;
    const struct sy_ui_asset *index = sy_ui_find("index.html", 10);
    assert_non_null(index);
    assert_string_equal(index->type, "text/html; charset=utf-8");
    assert_non_null(sy_ui_find("uplot.esm.js", 12));
    assert_non_null(sy_ui_find("app.js", 6));
    assert_null(sy_ui_find("app.j", 5));
    assert_null(sy_ui_find("nothing.js", 10));
    for (size_t i = 0; i < sy_ui_n_assets; i++) {
        const struct sy_ui_asset *a = &sy_ui_assets[i];
        assert_true(a->raw_len > 0);
        /* gzip's magic, and a strong quoted tag of 32 hex digits, "-gz" for the other */
        assert_true(a->gz_len > 10 && a->gz[0] == 0x1f && a->gz[1] == 0x8b);
        assert_int_equal(strlen(a->etag), 34);
        assert_true(a->etag[0] == '"' && a->etag[33] == '"');
        assert_int_equal(strncmp(a->gz_etag, a->etag, 33), 0);
        assert_string_equal(a->gz_etag + 33, "-gz\"");
    }
}

static void ui_paths_are_root_ui_and_under_ui_only(void **state)
{
    (void)state;
    assert_true(sy_ui_is_path("/"));
    assert_true(sy_ui_is_path("/ui"));
    assert_true(sy_ui_is_path("/ui/"));
    assert_true(sy_ui_is_path("/ui/app.js"));
    assert_false(sy_ui_is_path("/uix"));
    assert_false(sy_ui_is_path("/v1/ui/"));
    assert_false(sy_ui_is_path("/healthz"));
    assert_false(sy_ui_is_path(""));
}

static void if_none_match_names_the_tag_in_a_list_weak_or_star(void **state)
{
    (void)state;
    const char *tag = "\"abc\"";
    assert_true(sy_ui_etag_matches("\"abc\"", tag));
    assert_true(sy_ui_etag_matches("\"x\", \"abc\"", tag));
    assert_true(sy_ui_etag_matches("\"x\",\"abc\" ", tag));
    assert_true(sy_ui_etag_matches("W/\"abc\"", tag));
    assert_true(sy_ui_etag_matches("*", tag));
    assert_false(sy_ui_etag_matches(NULL, tag));
    assert_false(sy_ui_etag_matches("", tag));
    assert_false(sy_ui_etag_matches("abc", tag));
    assert_false(sy_ui_etag_matches("\"abc-gz\"", tag));
    assert_false(sy_ui_etag_matches("\"ab\"", tag));
    assert_false(sy_ui_etag_matches("\"abcd\"", tag));
}

static void accept_encoding_takes_gzip_unless_its_q_is_zero(void **state)
{
    (void)state;
    assert_true(sy_ui_accepts_gzip("gzip"));
    assert_true(sy_ui_accepts_gzip("gzip, deflate, br"));
    assert_true(sy_ui_accepts_gzip("br, GZIP"));
    assert_true(sy_ui_accepts_gzip("deflate, gzip;q=0.5"));
    assert_true(sy_ui_accepts_gzip("*"));
    assert_true(sy_ui_accepts_gzip("gzip ; q=1"));
    assert_false(sy_ui_accepts_gzip(NULL));
    assert_false(sy_ui_accepts_gzip(""));
    assert_false(sy_ui_accepts_gzip("identity"));
    assert_false(sy_ui_accepts_gzip("x-gzip2"));
    assert_false(sy_ui_accepts_gzip("gzip;q=0"));
    assert_false(sy_ui_accepts_gzip("gzip; q=0.000"));
    assert_false(sy_ui_accepts_gzip("br, *;q=0"));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(ui_embeds_index_html_and_uplot_with_types_and_etags),
    cmocka_unit_test(ui_paths_are_root_ui_and_under_ui_only),
    cmocka_unit_test(if_none_match_names_the_tag_in_a_list_weak_or_star),
    cmocka_unit_test(accept_encoding_takes_gzip_unless_its_q_is_zero),
};

SY_TEST_MAIN(tests)
