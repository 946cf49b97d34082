/* test_flagschema.c - core/flagschema: flagd's JSON schema (flags.json, targeting.json)
 * definition by definition, each case as the schema decides it (and as ajv does:
 * tests/integration/schema_diff.sh compares the two on ~10,000 documents). */
#include <string.h>

#include "../harness.h"
#include "codec/value_json.h"
#include "core/flagschema.h"

enum what { RULE, FLAG, SET_METADATA, DOCUMENT };

struct schema_case {
    enum what what;
    const char *json;
    bool valid;
    const char *path; /* where the violation is, when invalid (NULL: not checked) */
};

static const struct schema_case cases[] = {
    /* targeting.json's root: {} or one rule; a reference is an operand only */
    {RULE, "{}", true, NULL},
    {RULE, "{\"$ref\":\"x\"}", false, ""},
    {RULE, "[1]", false, ""},
    {RULE, "{\"if\":[{\"$ref\":\"x\"},\"a\"]}", true, NULL},
    {RULE, "{\"if\":[{\"$ref\":5},\"a\"]}", false, ".if[0].$ref"},
    {RULE, "{\"if\":[{}]}", false, ".if[0]"}, /* {} is a reference and a rule: oneOf fails */
    {RULE, "{\"if\":[]}", false, ".if"},
    {RULE, "{\"nope\":[1]}", false, ""},
    /* operand counts */
    {RULE, "{\"==\":[1]}", false, ".=="},
    {RULE, "{\"==\":[1,2,3]}", false, ".=="},
    {RULE, "{\"<\":[1,2,3]}", true, NULL},
    {RULE, "{\"<\":[1,2,3,4]}", false, ".<"},
    {RULE, "{\"*\":[1]}", false, ".*"},
    {RULE, "{\"reduce\":[[1],{\"var\":\"current\"},0]}", true, NULL},
    {RULE, "{\"!\":[{}]}", true, NULL}, /* any array is a primitive operand */
    {RULE, "{\"!\":{}}", false, ".!"},
    {RULE, "{\"!!\":true}", true, NULL},
    /* operators of one group may share an object; of two, not */
    {RULE, "{\"==\":[1,2],\"!=\":[1,2]}", true, NULL},
    {RULE, "{\"==\":[1,2],\"<\":[1,2]}", false, ""},
    /* var and $flagd */
    {RULE, "{\"var\":\"$flagd.timestamp\"}", true, NULL},
    {RULE, "{\"var\":\"$flagd.flagKey\"}", true, NULL},
    {RULE, "{\"var\":\"$flagd.foo\"}", false, ".var"},
    {RULE, "{\"var\":\"$flagd.foo\\nbar\"}", true, NULL}, /* `.` stops at a line break */
    {RULE, "{\"var\":[\"$flagd.foo\"]}", true, NULL},
    {RULE, "{\"var\":5}", true, NULL},
    {RULE, "{\"missing\":[\"a\",1]}", false, ".missing[1]"},
    {RULE, "{\"missing_some\":[1,[\"a\"]]}", true, NULL},
    {RULE, "{\"missing_some\":[\"1\",[\"a\"]]}", false, ".missing_some[0]"},
    /* sem_ver: the schema's semver 2.0 pattern, its eight operators, {"var"} */
    {RULE, "{\"sem_ver\":[{\"var\":\"v\"},\">=\",\"1.2.3-rc.1+build.5\"]}", true, NULL},
    {RULE, "{\"sem_ver\":[{\"var\":\"v\"},\">=\",\"1.2\"]}", false, ".sem_ver[2]"},
    {RULE, "{\"sem_ver\":[\"v1.2.3\",\"=\",{\"var\":\"v\"}]}", false, ".sem_ver[0]"},
    {RULE, "{\"sem_ver\":[\"01.2.3\",\"=\",\"1.2.3\"]}", false, ".sem_ver[0]"},
    {RULE, "{\"sem_ver\":[\"1.2.3-01\",\"=\",\"1.2.3\"]}", false, ".sem_ver[0]"},
    {RULE, "{\"sem_ver\":[\"1.2.3-0a\",\"=\",\"1.2.3+01\"]}", true, NULL},
    {RULE, "{\"sem_ver\":[\"1.2.3\",\"=>\",\"1.2.3\"]}", false, ".sem_ver[1]"},
    {RULE, "{\"sem_ver\":[\"1.2.3\",-1,\"1.2.3\"]}", false, ".sem_ver[1]"},
    {RULE, "{\"sem_ver\":[{\"cat\":[\"1.\",\"2.3\"]},\"=\",\"1.2.3\"]}", false, ".sem_ver[0]"},
    /* starts_with / ends_with: strings or rules */
    {RULE, "{\"starts_with\":[{\"var\":\"e\"},\"ann\"]}", true, NULL},
    {RULE, "{\"starts_with\":[{\"var\":\"e\"},5]}", false, ".starts_with[1]"},
    /* fractional: weights are integers >= 0 or rules; the bucketing value a rule */
    {RULE, "{\"fractional\":[[\"a\",50],[\"b\",50]]}", true, NULL},
    {RULE, "{\"fractional\":[{\"var\":\"k\"},[\"a\",2.0],[\"b\",{\"var\":\"w\"}]]}", true, NULL},
    {RULE, "{\"fractional\":[[\"a\",-1]]}", false, ".fractional[0][1]"},
    {RULE, "{\"fractional\":[[\"a\",1.5]]}", false, ".fractional[0][1]"},
    {RULE, "{\"fractional\":[[\"a\",\"5\"]]}", false, ".fractional[0][1]"},
    {RULE, "{\"fractional\":[[\"a\",1,2]]}", false, ".fractional[0]"},
    {RULE, "{\"fractional\":[\"key\",[\"a\",1]]}", false, ".fractional[0]"},
    {RULE, "{\"fractional\":[{\"$ref\":\"k\"},[\"a\",1]]}", false, ".fractional[0]"},
    {RULE, "{\"fractional\":[]}", false, ".fractional"},
    /* flags: state, variants of one type, defaultVariant, metadata; other members allowed */
    {FLAG, "{\"state\":\"ENABLED\",\"variants\":{\"a\":1,\"b\":2.5}}", true, NULL},
    {FLAG, "{\"state\":\"ENABLED\",\"variants\":{\"a\":1},\"defaultVarient\":\"a\"}", true, NULL},
    {FLAG, "{\"variants\":{\"a\":1}}", false, ""},
    {FLAG, "{\"state\":\"enabled\",\"variants\":{\"a\":1}}", false, ".state"},
    {FLAG, "{\"state\":\"ENABLED\",\"variants\":{}}", false, ".variants"},
    {FLAG, "{\"state\":\"ENABLED\",\"variants\":{\"a\":1,\"b\":\"x\"}}", false, ".variants.b"},
    {FLAG, "{\"state\":\"ENABLED\",\"variants\":{\"a\":[1]}}", false, ".variants.a"},
    {FLAG, "{\"state\":\"ENABLED\",\"variants\":{\"a\\nb\":1}}", false, NULL},
    {FLAG, "{\"state\":\"ENABLED\",\"variants\":{\"a\":1},\"defaultVariant\":1}", false,
     ".defaultVariant"},
    {FLAG, "{\"state\":\"ENABLED\",\"variants\":{\"a\":1},\"defaultVariant\":null}", true, NULL},
    {FLAG, "{\"state\":\"ENABLED\",\"variants\":{\"a\":1},\"metadata\":{\"x\":[]}}", false,
     ".metadata.x"},
    {FLAG, "{\"state\":\"ENABLED\",\"variants\":{\"a\":1},\"targeting\":[]}", false, ".targeting"},
    /* the set's metadata: flagSetId and version are strings */
    {SET_METADATA, "{\"flagSetId\":\"x\",\"version\":\"1\",\"n\":1,\"b\":true}", true, NULL},
    {SET_METADATA, "{\"version\":1}", false, ".version"},
    {SET_METADATA, "[]", false, ""},
    /* the document */
    {DOCUMENT, "{\"flags\":{},\"$schema\":\"x\",\"other\":1}", true, NULL},
    {DOCUMENT, "{\"flag\":{}}", false, ""},
    {DOCUMENT, "{\"flags\":[]}", false, ".flags"},
    {DOCUMENT, "{\"flags\":{\"\":{}}}", false, NULL},
    {DOCUMENT, "{\"flags\":{},\"$evaluators\":{\"a\\u2028\":{}}}", false, NULL},
    {DOCUMENT, "[]", false, ""},
};

static void every_definition_decides_as_the_schema_does(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct schema_case *c = &cases[i];
        sy_arena_t a;
        sy_arena_init(&a, 1 << 20);
        sy_value_t v;
        assert_int_equal(sy_value_parse(c->json, strlen(c->json), &a, &v, NULL), 0);
        sy_schema_err_t err;
        memset(&err, 0, sizeof(err));
        bool ok = c->what == RULE           ? sy_schema_rule(&v, &err)
                  : c->what == FLAG         ? sy_schema_flag(&v, &err)
                  : c->what == SET_METADATA ? sy_schema_set_metadata(&v, &err)
                                            : sy_schema_document(&v, &err);
        if (ok != c->valid)
            fail_msg("%s: %s, want %s (%s: %s)", c->json, ok ? "valid" : "invalid",
                     c->valid ? "valid" : "invalid", err.path, err.msg);
        if (!ok && c->path && strcmp(err.path, c->path) != 0)
            fail_msg("%s: violation at \"%s\", want \"%s\" (%s)", c->json, err.path, c->path,
                     err.msg);
        if (!ok && !err.msg[0])
            fail_msg("%s: refused without a message", c->json);
        sy_arena_free(&a);
    }
}

static void keys_follow_javascripts_dot(void **state)
{
    (void)state;
    assert_true(sy_schema_key_ok("a", 1));
    assert_true(sy_schema_key_ok("\xc3\xbc", 2)); /* ü */
    assert_true(sy_schema_key_ok(" \t", 2));
    assert_false(sy_schema_key_ok("", 0));
    assert_false(sy_schema_key_ok("a\nb", 3));
    assert_false(sy_schema_key_ok("a\r", 2));
    assert_false(sy_schema_key_ok("\xe2\x80\xa8", 3));  /* U+2028 */
    assert_false(sy_schema_key_ok("x\xe2\x80\xa9", 4)); /* U+2029 */
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_definition_decides_as_the_schema_does),
        cmocka_unit_test(keys_follow_javascripts_dot),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
