/* test_flag_json.c - flags and flag documents as the engine takes and gives them
 * (codec/flag_json.h): a piece's text is byte for byte what jansson writes of the tree the
 * request parsed into, numbers included (big integers, -0, reals, integers written as
 * reals), and its value those numbers as doubles; the answers put the stored texts in as
 * they are and come out byte for byte as jansson writes the same trees; a document that
 * is no object with "flags" is refused naming "flags". */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "codec/flag_json.h"

/* As the router parses a body. */
static json_t *body(const char *text)
{
    json_error_t je;
    json_t *j = sy_json_loadb(text, strlen(text), JSON_DECODE_ANY, &je);
    if (!j)
        fail_msg("bad JSON in the test: %s: %s", je.text, text);
    return j;
}

static char *dumped(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_non_null(s);
    return s;
}

static const sy_value_t *member(const sy_value_t *o, const char *key)
{
    const sy_value_t *v = sy_value_get(o, key, strlen(key));
    assert_non_null(v);
    return v;
}

static void a_flag_text_is_what_jansson_writes_of_the_request(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "{\"a\": 1, \"b\": 1.0, \"c\": 0.1, \"d\": -0.0, \"e\": 1e2, \"f\": -0, \"g\": "
        "\"\\u001f/\"}",
        /* one integer beyond int64: every number is then a double, as JavaScript reads it */
        "{\"a\": 1, \"big\": 18446744073709551616, \"c\": [2, -0.0]}",
        "{\"exact\": 9007199254740993, \"k\\\"\\\\\": {\"\xc3\xa9\": null}}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        json_t *j = body(bodies[i]);
        char *want = dumped(j);
        sy_arena_t arena;
        sy_arena_init(&arena, 1 << 20);
        sy_flag_src_t src;
        sy_err_t err = {0};
        assert_int_equal(sy_flag_src_from_json(j, &arena, &src, &err), 0);
        assert_string_equal(src.json, want);
        assert_int_equal(src.len, strlen(want));
        assert_int_equal(src.value->type, SY_OBJ);
        if (i == 0) {
            assert_true(member(src.value, "b")->n == 1);
            assert_true(signbit(member(src.value, "d")->n)); /* -0.0 kept: 1 / x tells */
            assert_true(member(src.value, "e")->n == 100);
        } else if (i == 1) {
            assert_true(member(src.value, "big")->n == 18446744073709551616.0);
            assert_non_null(strstr(src.json, "\"a\":1.0")); /* a double, as jansson read it */
        } else {
            assert_true(member(src.value, "exact")->n == 9007199254740992.0);
            assert_non_null(strstr(src.json, "9007199254740993")); /* as written */
        }
        sy_arena_free(&arena);
        free(want);
        json_decref(j);
    }
}

/* `t`'s text (freed) against what jansson writes of `want` (taken). */
static void same_text(sy_text_t *t, json_t *want)
{
    char *w = dumped(want);
    assert_false(t->failed);
    assert_int_equal(t->len, strlen(w));
    assert_memory_equal(t->p, w, t->len);
    free(w);
    json_decref(want);
    sy_text_free(t);
}

static const char *const keys[] = {"plain", "quote\"back\\slash/", "caf\xc3\xa9 \xf0\x9f\x9a\x80"};
static const char *const defs[] = {
    "{\"state\":\"ENABLED\",\"variants\":{\"on\":true,\"off\":false},\"defaultVariant\":\"on\"}",
    "{\"variants\":{\"a\":0.10000000000000001,\"b\":-0.0,\"c\":1.8446744073709552e19}}",
    "{\"targeting\":{\"in\":[\"\\u001F\",\"\\n\"]}}",
};

static void the_answers_are_what_jansson_writes_of_the_same_trees(void **state)
{
    (void)state;
    char buf[16];
    sy_text_t t;
    for (size_t i = 0; i < 3; i++) { /* GET /v1/flags/{key} */
        sy_text_init(&t, buf, sizeof(buf));
        sy_flag_json_write(&t, keys[i], defs[i], strlen(defs[i]));
        same_text(&t, json_pack("{ssso}", "key", keys[i], "definition", body(defs[i])));
    }
    for (size_t n = 0; n <= 3; n++) { /* GET /v1/flags */
        sy_text_init(&t, buf, sizeof(buf));
        sy_flag_list_json_t w;
        sy_flag_list_json_begin(&w, &t);
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(sy_flag_list_json_add(&w, keys[i], defs[i], strlen(defs[i])), 0);
            json_array_append_new(list,
                                  json_pack("{ssso}", "key", keys[i], "definition", body(defs[i])));
        }
        sy_flag_list_json_end(&w);
        same_text(&t, json_pack("{so}", "flags", list));
    }
    /* GET /v1/flagset: with and without each member around the flags */
    for (int shape = 0; shape < 4; shape++) {
        sy_text_init(&t, buf, sizeof(buf));
        sy_flagset_json_t w;
        sy_flagset_json_begin(&w, &t);
        sy_flag_doc_sink_t sink = sy_flagset_json_sink(&w);
        json_t *flags = json_object();
        json_t *want = json_pack("{sssO}", "$schema", SY_FLAGD_SCHEMA, "flags", flags);
        for (size_t i = 0; shape != 3 && i < 3; i++) {
            assert_int_equal(sink.flag(sink.arg, keys[i], defs[i], strlen(defs[i])), 0);
            json_object_set_new(flags, keys[i], body(defs[i]));
        }
        static const char ev[] = "{\"gold\":{\"==\":[{\"var\":\"tier\"},\"gold\"]}}";
        static const char md[] = "{\"flagSetId\":\"shop\",\"version\":\"1\"}";
        if (shape & 1) {
            assert_int_equal(sink.member(sink.arg, "$evaluators", ev, strlen(ev)), 0);
            json_object_set_new(want, "$evaluators", body(ev));
        }
        if (shape >= 2) {
            assert_int_equal(sink.member(sink.arg, "metadata", md, strlen(md)), 0);
            json_object_set_new(want, "metadata", body(md));
        }
        sy_flagset_json_end(&w);
        json_decref(flags);
        same_text(&t, want);
    }
}

static void a_document_is_read_in_order_and_without_flags_refused(void **state)
{
    (void)state;
    sy_arena_t arena;
    sy_arena_init(&arena, 1 << 20);
    sy_flag_doc_t doc;
    sy_err_t err = {0};
    static const char *const bad[] = {"[]", "{}", "{\"flags\": []}", "{\"flags\": null}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = body(bad[i]);
        assert_int_equal(sy_flag_doc_from_json(j, &arena, &doc, &err), -EINVAL);
        assert_string_equal(err.field, "flags");
        json_decref(j);
    }
    json_t *j = body("{\"$schema\": \"x\", \"flags\": {\"z\": {\"state\": \"ENABLED\"}, \"a\": 5},"
                     " \"$evaluators\": null}");
    assert_int_equal(sy_flag_doc_from_json(j, &arena, &doc, &err), 0);
    assert_int_equal(doc.n, 2);
    assert_string_equal(doc.flags[0].key, "z");
    assert_string_equal(doc.flags[0].def.json, "{\"state\":\"ENABLED\"}");
    assert_string_equal(doc.flags[1].key, "a");
    assert_string_equal(doc.flags[1].def.json, "5");
    assert_non_null(doc.evaluators); /* present, whatever it holds: the load judges it */
    assert_string_equal(doc.evaluators->json, "null");
    assert_null(doc.metadata);
    json_decref(j);
    sy_arena_free(&arena);
}

/* 1e400 is refused where the body is parsed (400 invalid_json), and jansson makes no
 * non-finite number: no flag holds one. */
static void a_number_json_cannot_hold_never_reaches_a_flag(void **state)
{
    (void)state;
    json_error_t je;
    static const char *const texts[] = {"{\"x\": 1e400}",
                                        "{\"x\": 1e400, \"y\": 18446744073709551616}"};
    for (size_t i = 0; i < 2; i++) {
        assert_null(sy_json_loadb(texts[i], strlen(texts[i]), JSON_DECODE_ANY, &je));
        assert_non_null(strstr(je.text, "overflow"));
    }
    assert_null(json_real(INFINITY));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_flag_text_is_what_jansson_writes_of_the_request),
        cmocka_unit_test(the_answers_are_what_jansson_writes_of_the_same_trees),
        cmocka_unit_test(a_document_is_read_in_order_and_without_flags_refused),
        cmocka_unit_test(a_number_json_cannot_hold_never_reaches_a_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
