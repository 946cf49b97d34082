/* test_json_merge.c - JSON Merge Patch (codec/json_merge.h): RFC 7386's own examples
 * (appendix A), that null removes and objects merge at any depth, and that neither input
 * is changed. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../harness.h"
#include "codec/json_merge.h"

/* patch(target) must equal want (all three JSON texts). */
static void expect_merge(const char *target, const char *patch, const char *want)
{
    json_t *t = json_loads(target, JSON_DECODE_ANY, NULL),
           *p = json_loads(patch, JSON_DECODE_ANY, NULL);
    json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
    assert_non_null(t);
    assert_non_null(p);
    assert_non_null(w);
    char *t0 = json_dumps(t, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_t *got = sy_json_merge_patch(t, p);
    assert_non_null(got);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_ENCODE_ANY);
        fail_msg("%s + %s = %s, want %s", target, patch, g, want);
    }
    char *t1 = json_dumps(t, JSON_SORT_KEYS | JSON_ENCODE_ANY);
    assert_string_equal(t0, t1); /* the target is borrowed, not changed */
    free(t0);
    free(t1);
    json_decref(t);
    json_decref(p);
    json_decref(w);
    json_decref(got);
}

static void merge_patch_passes_the_rfc_examples(void **state)
{
    (void)state;
    expect_merge("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    expect_merge("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
    expect_merge("{\"a\":\"b\"}", "{\"a\":null}", "{}");
    expect_merge("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
    expect_merge("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    expect_merge("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
    expect_merge("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
                 "{\"a\":{\"b\":\"d\"}}");
    expect_merge("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
    expect_merge("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]");
    expect_merge("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]");
    expect_merge("{\"a\":\"foo\"}", "null", "null");
    expect_merge("{\"a\":\"foo\"}", "\"bar\"", "\"bar\"");
    expect_merge("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
    expect_merge("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}");
    expect_merge("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
}

static void merge_patch_changes_one_safety_field_and_keeps_the_others(void **state)
{
    (void)state;
    expect_merge("{\"key\":\"x\",\"safety\":{\"min_confidence\":0.95,\"min_runtime_hours\":48},"
                 "\"allocation\":{\"max_step_pct\":20}}",
                 "{\"safety\":{\"min_confidence\":0.99,\"min_runtime_hours\":null},"
                 "\"description\":\"tighter\"}",
                 "{\"key\":\"x\",\"safety\":{\"min_confidence\":0.99},"
                 "\"allocation\":{\"max_step_pct\":20},\"description\":\"tighter\"}");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(merge_patch_passes_the_rfc_examples),
        cmocka_unit_test(merge_patch_changes_one_safety_field_and_keeps_the_others),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
