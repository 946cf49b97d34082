/* test_switchyard.c - the public library API, as an embedding application uses it. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../harness.h"
#include "switchyard/switchyard.h"

static const char doc[] =
    "{\"metadata\": {\"flagSetId\": \"t\"},"
    " \"flags\": {"
    "  \"on\": {\"state\": \"ENABLED\", \"variants\": {\"y\": true, \"n\": false},"
    "          \"defaultVariant\": \"y\"},"
    "  \"split\": {\"state\": \"ENABLED\", \"variants\": {\"a\": \"A\", \"b\": \"B\", \"c\": "
    "\"C\"},"
    "             \"defaultVariant\": \"a\","
    "             \"targeting\": {\"fractional\": [[\"a\", 1], [\"b\", 1], [\"c\", 1]]}},"
    "  \"limit\": {\"state\": \"ENABLED\", \"variants\": {\"lo\": 10, \"half\": 2.5},"
    "             \"defaultVariant\": \"lo\","
    "             \"targeting\": {\"if\": [{\"==\": [{\"var\": \"user.plan\"}, \"half\"]}, "
    "\"half\"]}},"
    "  \"cfg\": {\"state\": \"ENABLED\", \"variants\": {\"x\": {\"k\": [1, \"two\"]}},"
    "           \"defaultVariant\": \"x\", \"metadata\": {\"owner\": \"me\", \"rank\": 2}},"
    "  \"late\": {\"state\": \"ENABLED\", \"variants\": {\"before\": 1, \"after\": 2},"
    "            \"defaultVariant\": \"before\","
    "            \"targeting\": {\"if\": [{\">=\": [{\"var\": \"$flagd.timestamp\"}, 1800000000]},"
    "                                   \"after\"]}},"
    "  \"tags\": {\"state\": \"ENABLED\", \"variants\": {\"t\": true, \"f\": false},"
    "            \"defaultVariant\": \"f\","
    "            \"targeting\": {\"if\": [{\"in\": [\"beta\", {\"var\": \"tags\"}]}, \"t\", "
    "\"f\"]}},"
    "  \"off\": {\"state\": \"DISABLED\", \"variants\": {\"y\": true}, \"defaultVariant\": \"y\"}"
    " }}";

static sy_flags_t *load_doc(void)
{
    sy_flags_t *f = NULL;
    sy_load_report_t r;
    assert_int_equal(sy_flags_load(&f, doc, strlen(doc), 0, &r), 0);
    assert_int_equal(r.errors, 0);
    return f;
}

static void load_lists_flags_in_document_order(void **state)
{
    (void)state;
    sy_flags_t *f = load_doc();
    assert_int_equal(sy_flags_count(f), 7);
    assert_string_equal(sy_flags_key(f, 0), "on");
    assert_string_equal(sy_flags_key(f, 6), "off");
    assert_null(sy_flags_key(f, 7));
    sy_flags_free(f);
}

static void load_refuses_invalid_json_and_leaves_out_untouched(void **state)
{
    (void)state;
    sy_flags_t *f = (sy_flags_t *)0x1;
    sy_load_report_t r;
    const char bad[] = "{\"flags\": {\"a\": }";
    assert_int_equal(sy_flags_load(&f, bad, strlen(bad), 0, &r), -EINVAL);
    assert_ptr_equal(f, (sy_flags_t *)0x1);
    assert_int_equal(r.errors, 1);
    assert_non_null(strstr(r.issues[0].message, "line 1"));
}

static void load_lists_every_problem_by_flag_and_path(void **state)
{
    (void)state;
    const char bad[] = "{\"flags\": {"
                       " \"a\": {\"state\": \"ON\", \"variants\": {\"x\": 1}},"
                       " \"b\": {\"state\": \"ENABLED\", \"defaultVariant\": \"z\"},"
                       " \"c\": {\"state\": \"ENABLED\", \"variants\": {\"x\": 1},"
                       "        \"defaultVariant\": \"nope\"}}}";
    sy_flags_t *f = NULL;
    sy_load_report_t r;
    assert_int_equal(sy_flags_load(&f, bad, strlen(bad), 0, &r), -EINVAL);
    assert_null(f);
    assert_int_equal(r.errors, 3);
    assert_string_equal(r.issues[0].flag, "a");
    assert_string_equal(r.issues[0].path, "flags.a.state");
    assert_string_equal(r.issues[1].path, "flags.b.variants");
    assert_string_equal(r.issues[2].path, "flags.c.defaultVariant");
}

static void strict_mode_refuses_what_only_the_schema_rejects(void **state)
{
    (void)state;
    const char lenient[] = "{\"flags\": {\"a\": {\"state\": \"ENABLED\", \"variants\": {\"x\": 1},"
                           " \"defaultVariant\": \"x\", \"targeting\": {\"frobnicate\": [1]}}}}";
    sy_flags_t *f = NULL;
    sy_load_report_t r;
    assert_int_equal(sy_flags_load(&f, lenient, strlen(lenient), 0, &r), 0);
    assert_int_equal(r.warnings, 1);
    assert_string_equal(r.issues[0].path, "flags.a.targeting");
    sy_eval_details_t d;
    assert_int_equal(sy_eval_int(f, "a", NULL, 7, &d), 7);
    assert_int_equal(d.error, SY_EVAL_PARSE_ERROR);
    sy_flags_free(f);
    f = NULL;
    assert_int_equal(sy_flags_load(&f, lenient, strlen(lenient), SY_LOAD_STRICT, &r), -EINVAL);
    assert_null(f);
    assert_int_equal(r.errors, 1);
}

static void typed_accessors_return_values_or_defaults_with_reasons(void **state)
{
    (void)state;
    sy_flags_t *f = load_doc();
    sy_eval_details_t d;
    assert_true(sy_eval_bool(f, "on", NULL, false, &d));
    assert_int_equal(d.reason, SY_EVAL_STATIC);
    assert_string_equal(d.variant, "y");

    assert_string_equal(sy_eval_string(f, "on", NULL, "dflt", &d), "dflt");
    assert_int_equal(d.error, SY_EVAL_TYPE_MISMATCH);
    assert_null(d.variant);

    assert_false(sy_eval_bool(f, "off", NULL, false, &d));
    assert_int_equal(d.reason, SY_EVAL_DISABLED);
    assert_int_equal(d.error, SY_EVAL_OK);

    assert_true(sy_eval_bool(f, "nope", NULL, true, &d));
    assert_int_equal(d.error, SY_EVAL_FLAG_NOT_FOUND);
    assert_string_equal(sy_eval_error_name(d.error), "FLAG_NOT_FOUND");
    assert_int_equal(sy_details_metadata_count(&d), 1); /* the set's metadata */
    sy_flags_free(f);
}

static void int_accessor_refuses_fractions_float_accepts_them(void **state)
{
    (void)state;
    sy_flags_t *f = load_doc();
    sy_context_t *ctx;
    assert_int_equal(sy_context_new(&ctx), 0);
    sy_eval_details_t d;
    assert_int_equal(sy_eval_int(f, "limit", ctx, -1, &d), 10);
    assert_int_equal(sy_context_begin_object(ctx, "user"), 0);
    assert_int_equal(sy_context_set_string(ctx, "plan", "half"), 0);
    assert_int_equal(sy_context_end(ctx), 0);
    assert_int_equal(sy_eval_int(f, "limit", ctx, -1, &d), -1);
    assert_int_equal(d.error, SY_EVAL_TYPE_MISMATCH);
    assert_close(sy_eval_float(f, "limit", ctx, -1, &d), 2.5, 0, 0);
    assert_int_equal(d.reason, SY_EVAL_TARGETING_MATCH);
    assert_int_equal(sy_context_end(ctx), -EINVAL);
    sy_context_free(ctx);
    sy_flags_free(f);
}

static void object_accessor_writes_json_snprintf_style(void **state)
{
    (void)state;
    sy_flags_t *f = load_doc();
    char buf[64];
    sy_eval_details_t d;
    size_t n = sy_eval_object(f, "cfg", NULL, "{}", buf, sizeof(buf), &d);
    assert_string_equal(buf, "{\"k\":[1,\"two\"]}");
    assert_int_equal(n, strlen(buf));
    char small[4];
    assert_int_equal(sy_eval_object(f, "cfg", NULL, "{}", small, sizeof(small), NULL), n);
    assert_string_equal(small, "{\"k");
    sy_meta_value_t v;
    assert_int_equal(sy_details_metadata_count(&d), 3);
    assert_string_equal(sy_details_metadata_entry(&d, 1, &v), "owner");
    assert_int_equal(v.type, SY_META_STRING);
    assert_string_equal(v.string, "me");
    assert_string_equal(sy_details_metadata_entry(&d, 2, &v), "rank");
    assert_close(v.number, 2, 0, 0);
    assert_null(sy_details_metadata_entry(&d, 3, &v));
    n = sy_eval_object(f, "on", NULL, "{\"d\":1}", buf, sizeof(buf), &d);
    assert_string_equal(buf, "{\"d\":1}");
    assert_int_equal(d.error, SY_EVAL_TYPE_MISMATCH);
    sy_flags_free(f);
}

static void context_time_drives_flagd_timestamp(void **state)
{
    (void)state;
    sy_flags_t *f = load_doc();
    sy_context_t *ctx;
    assert_int_equal(sy_context_new(&ctx), 0);
    sy_context_set_time(ctx, 1799999999);
    assert_int_equal(sy_eval_int(f, "late", ctx, 0, NULL), 1);
    sy_context_set_time(ctx, 1800000000);
    assert_int_equal(sy_eval_int(f, "late", ctx, 0, NULL), 2);
    sy_context_free(ctx);
    sy_flags_free(f);
}

static void context_arrays_and_replaced_keys(void **state)
{
    (void)state;
    sy_flags_t *f = load_doc();
    sy_context_t *ctx;
    assert_int_equal(sy_context_new(&ctx), 0);
    assert_int_equal(sy_context_begin_array(ctx, "tags"), 0);
    assert_int_equal(sy_context_set_string(ctx, NULL, "eu"), 0);
    assert_int_equal(sy_context_set_string(ctx, NULL, "beta"), 0);
    assert_int_equal(sy_context_end(ctx), 0);
    assert_true(sy_eval_bool(f, "tags", ctx, false, NULL));
    assert_int_equal(sy_context_set_string(ctx, "tags", "none"), 0); /* replaces */
    assert_false(sy_eval_bool(f, "tags", ctx, true, NULL));
    assert_int_equal(sy_context_set_string(ctx, NULL, "x"), -EINVAL);
    sy_context_clear(ctx);
    assert_false(sy_eval_bool(f, "tags", ctx, true, NULL));
    sy_context_free(ctx);
    sy_flags_free(f);
}

static void fractional_needs_a_targeting_key_and_is_sticky(void **state)
{
    (void)state;
    sy_flags_t *f = load_doc();
    sy_context_t *ctx;
    assert_int_equal(sy_context_new(&ctx), 0);
    sy_eval_details_t d;
    assert_string_equal(sy_eval_string(f, "split", ctx, "?", &d), "A");
    assert_int_equal(d.reason, SY_EVAL_DEFAULT); /* no key: fractional gives null */
    int seen[3] = {0};
    char key[32];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "user-%d", i);
        sy_context_set_targeting_key(ctx, key);
        const char *v = sy_eval_string(f, "split", ctx, "?", &d);
        assert_int_equal(d.reason, SY_EVAL_TARGETING_MATCH);
        assert_string_equal(sy_eval_string(f, "split", ctx, "?", NULL), v);
        seen[v[0] - 'A']++;
    }
    for (int i = 0; i < 3; i++)
        assert_in_range(seen[i], 60, 140); /* thirds, loosely */
    sy_context_free(ctx);
    sy_flags_free(f);
}

static void targeting_key_goes_to_the_top_level_even_inside_an_object(void **state)
{
    (void)state;
    sy_flags_t *f = load_doc();
    sy_context_t *ctx;
    assert_int_equal(sy_context_new(&ctx), 0);
    assert_int_equal(sy_context_begin_object(ctx, "user"), 0);
    assert_int_equal(sy_context_set_targeting_key(ctx, "user-1"), 0);
    assert_int_equal(sy_context_set_string(ctx, "plan", "half"), 0);
    assert_int_equal(sy_context_end(ctx), 0);
    sy_eval_details_t d;
    sy_eval_string(f, "split", ctx, "?", &d);
    assert_int_equal(d.reason, SY_EVAL_TARGETING_MATCH);
    assert_close(sy_eval_float(f, "limit", ctx, -1, &d), 2.5, 0, 0); /* user.plan stayed nested */
    /* A longer key than before still replaces it. */
    assert_int_equal(sy_context_set_targeting_key(ctx, "a-much-longer-targeting-key-than-before"),
                     0);
    const char *a = sy_eval_string(f, "split", ctx, "?", &d);
    assert_int_equal(d.reason, SY_EVAL_TARGETING_MATCH);
    assert_int_equal(sy_context_set_targeting_key(ctx, "a-much-longer-targeting-key-than-before"),
                     0);
    assert_string_equal(sy_eval_string(f, "split", ctx, "?", NULL), a);
    sy_context_free(ctx);
    sy_flags_free(f);
}

/* A context reused per request keeps its memory however the lengths of the keys go up and
 * down: 2M alternations of a 1-byte and a 200-byte value would need 200+ MiB if each
 * longer value took new bytes, past the context's 64 MiB cap (-ENOMEM). */
static void reused_context_does_not_grow_with_alternating_lengths(void **state)
{
    (void)state;
    sy_flags_t *f = load_doc();
    sy_context_t *ctx, *fresh;
    assert_int_equal(sy_context_new(&ctx), 0);
    assert_int_equal(sy_context_new(&fresh), 0);
    char longer[201];
    memset(longer, 'k', 200);
    longer[200] = '\0';
    int failed = 0;
    for (int i = 0; i < 1000000; i++) {
        failed += sy_context_set_targeting_key(ctx, "a") != 0;
        failed += sy_context_set_targeting_key(ctx, longer) != 0;
        failed += sy_context_set_string(ctx, "tags", i % 2 ? "x" : longer) != 0;
    }
    assert_int_equal(failed, 0);
    assert_int_equal(sy_context_set_targeting_key(fresh, longer), 0);
    assert_string_equal(sy_eval_string(f, "split", ctx, "?", NULL),
                        sy_eval_string(f, "split", fresh, "?", NULL));
    assert_int_equal(sy_context_set_targeting_key(ctx, "user-7"), 0);
    assert_int_equal(sy_context_set_targeting_key(fresh, "user-7"), 0);
    assert_string_equal(sy_eval_string(f, "split", ctx, "?", NULL),
                        sy_eval_string(f, "split", fresh, "?", NULL));
    sy_context_free(fresh);
    sy_context_free(ctx);
    sy_flags_free(f);
}

struct worker {
    const sy_flags_t *flags;
    int first;
    char got[2000];
};

static void *work(void *arg)
{
    struct worker *w = arg;
    sy_context_t *ctx;
    if (sy_context_new(&ctx) < 0)
        return NULL;
    char key[32];
    for (int rep = 0; rep < 20; rep++)
        for (int i = 0; i < 2000; i++) {
            snprintf(key, sizeof(key), "u%d", w->first + i);
            sy_context_set_targeting_key(ctx, key);
            w->got[i] = sy_eval_string(w->flags, "split", ctx, "?", NULL)[0];
        }
    sy_context_free(ctx);
    return NULL;
}

static void one_set_evaluates_from_many_threads_at_once(void **state)
{
    (void)state;
    sy_flags_t *f = load_doc();
    struct worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.flags = f, .first = (i % 2) * 1000};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    /* Workers 0/2 and 1/3 evaluated the same keys: same answers, and as one thread gets. */
    assert_memory_equal(w[0].got, w[2].got, sizeof(w[0].got));
    assert_memory_equal(w[1].got, w[3].got, sizeof(w[1].got));
    struct worker single = {.flags = f, .first = 0};
    work(&single);
    assert_memory_equal(single.got, w[0].got, sizeof(single.got));
    sy_flags_free(f);
}

static void load_file_reports_missing_files(void **state)
{
    (void)state;
    sy_flags_t *f = NULL;
    assert_int_equal(sy_flags_load_file(&f, "/nonexistent/flags.json", 0, NULL), -ENOENT);
    assert_null(f);
    sy_flags_free(NULL);
    sy_context_free(NULL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(load_lists_flags_in_document_order),
        cmocka_unit_test(load_refuses_invalid_json_and_leaves_out_untouched),
        cmocka_unit_test(load_lists_every_problem_by_flag_and_path),
        cmocka_unit_test(strict_mode_refuses_what_only_the_schema_rejects),
        cmocka_unit_test(typed_accessors_return_values_or_defaults_with_reasons),
        cmocka_unit_test(int_accessor_refuses_fractions_float_accepts_them),
        cmocka_unit_test(object_accessor_writes_json_snprintf_style),
        cmocka_unit_test(context_time_drives_flagd_timestamp),
        cmocka_unit_test(context_arrays_and_replaced_keys),
        cmocka_unit_test(fractional_needs_a_targeting_key_and_is_sticky),
        cmocka_unit_test(targeting_key_goes_to_the_top_level_even_inside_an_object),
        cmocka_unit_test(reused_context_does_not_grow_with_alternating_lengths),
        cmocka_unit_test(one_set_evaluates_from_many_threads_at_once),
        cmocka_unit_test(load_file_reports_missing_files),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
