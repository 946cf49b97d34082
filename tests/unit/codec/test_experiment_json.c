/* test_experiment_json.c - an experiment's definition read by its one schema
 * (codec/experiment_json.h): every member into its place, unknown members named by their
 * path at every depth, each bad value named; the stored form holding only what was given
 * and reading back to the same definition; a merge patch's null giving a safety field back
 * to the server; the experiment answered member for member in the API's order. */
#include <string.h>

#include "../harness.h"
#include "codec/experiment_json.h"

static const char full[] =
    "{\"key\":\"e\",\"flag\":\"f\",\"metric\":\"mean\",\"description\":\"two\\nlines\","
    "\"variants\":[{\"key\":\"a\",\"weight\":1,\"control\":true},"
    "{\"key\":\"b\",\"weight\":3,\"value\":{\"x\":[1,2]}}],"
    "\"guardrails\":[\"error_rate\",\"latency\"],\"record_exposures\":true,"
    "\"safety\":{\"min_confidence\":0.99,\"sequential\":true,\"promotion\":\"full\"},"
    "\"allocation\":{\"max_step_pct\":10.0,\"cooldown_hours\":0},"
    "\"health\":{\"max_p95_ms\":250,\"min_events\":100}}";

static int read_text(const char *text, sy_exp_def_t *d, sy_err_t *err)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    assert_non_null(j);
    *err = (sy_err_t){0};
    int rc = sy_exp_def_read(j, d, err);
    json_decref(j);
    return rc;
}

static void refused(const char *text, int code, const char *field)
{
    sy_exp_def_t d;
    sy_err_t err;
    assert_int_equal(read_text(text, &d, &err), code);
    assert_string_equal(err.field, field);
    assert_true(err.msg[0] != '\0');
}

static void every_member_goes_into_its_place(void **state)
{
    (void)state;
    sy_exp_def_t d;
    sy_err_t err;
    assert_int_equal(read_text(full, &d, &err), 0);
    assert_string_equal(d.key, "e");
    assert_string_equal(d.flag, "f");
    assert_int_equal(d.metric, SY_METRIC_MEAN);
    assert_true(d.has_description);
    assert_string_equal(d.description, "two\nlines");
    assert_int_equal(d.n_variants, 2);
    assert_true(d.variants[0].control && !d.variants[1].control);
    assert_int_equal(d.variants[1].weight, 3);
    assert_null(d.variants[0].value);
    assert_string_equal(d.variants[1].value, "{\"x\":[1,2]}");
    assert_true(d.latency_guardrail && d.record_exposures);
    assert_true(d.safety.safety.min_confidence == 0.99 && d.safety.sequential);
    assert_int_equal(d.safety.safety.promotion, SY_PROMOTION_FULL);
    assert_int_equal(d.safety_set, (1u << SY_EXP_SAFETY_MIN_CONFIDENCE) |
                                       (1u << SY_EXP_SAFETY_SEQUENTIAL) |
                                       (1u << SY_EXP_SAFETY_PROMOTION));
    assert_int_equal(d.allocation.max_step_pct, 10);
    assert_true(d.allocation.cooldown_hours == 0);
    assert_int_equal(d.allocation_set, SY_EXP_ALLOC_MAX_STEP | SY_EXP_ALLOC_COOLDOWN);
    assert_true(d.health.has_max_p95 && d.health.max_p95_ms == 250);
    assert_int_equal(d.health_min_events, 100);
    assert_true(d.health.success_rate_drop == SY_HEALTH_THRESHOLDS_DEFAULTS.success_rate_drop);
    sy_exp_def_clear(&d);

    /* what it does not give: the flag is the key, the defaults */
    assert_int_equal(read_text("{\"key\":\"k\",\"variants\":[{\"key\":\"a\",\"weight\":1,"
                               "\"control\":true},{\"key\":\"b\",\"weight\":1}]}",
                               &d, &err),
                     0);
    assert_string_equal(d.flag, "k");
    assert_int_equal(d.metric, SY_METRIC_CONVERSION);
    assert_int_equal(d.safety_set, 0);
    assert_int_equal(d.allocation_set, 0);
    assert_int_equal(d.health_min_events, SY_EXP_HEALTH_MIN_EVENTS);
    assert_false(d.has_description || d.latency_guardrail || d.record_exposures);
    sy_exp_def_clear(&d);
}

#define VARIANTS                                                                                   \
    "\"variants\":[{\"key\":\"a\",\"weight\":1,\"control\":true},{\"key\":\"b\",\"weight\":1}]"

static void unknown_members_are_named_by_their_path(void **state)
{
    (void)state;
    refused("{\"key\":\"e\",\"varients\":[]}", SY_EUNKNOWN, "varients");
    refused("{\"key\":\"e\"," VARIANTS ",\"safety\":{\"min_confidenc\":0.9}}", SY_EUNKNOWN,
            "safety.min_confidenc");
    refused("{\"key\":\"e\"," VARIANTS ",\"allocation\":{\"steps\":1}}", SY_EUNKNOWN,
            "allocation.steps");
    refused("{\"key\":\"e\"," VARIANTS ",\"health\":{\"p95\":1}}", SY_EUNKNOWN, "health.p95");
    refused("{\"key\":\"e\",\"variants\":[{\"key\":\"a\",\"weight\":1,\"control\":true},"
            "{\"key\":\"b\",\"wieght\":1}]}",
            SY_EUNKNOWN, "variants[1].wieght");
    /* every name before any value */
    refused("{\"key\":7,\"extra\":1}", SY_EUNKNOWN, "extra");
}

static void each_bad_value_is_named(void **state)
{
    (void)state;
    refused("[]", -EINVAL, "");
    refused("{" VARIANTS "}", -EINVAL, "key");
    refused("{\"key\":\"\"," VARIANTS "}", -EINVAL, "key");
    refused("{\"key\":\"e\"}", -EINVAL, "variants");
    refused("{\"key\":\"e\",\"variants\":[{\"key\":\"a\",\"weight\":1}]}", -EINVAL, "variants");
    refused("{\"key\":\"e\",\"variants\":[{\"key\":\"a\",\"weight\":1,\"control\":true},3]}",
            -EINVAL, "variants[1]");
    refused("{\"key\":\"e\",\"variants\":[{\"key\":\"a\",\"weight\":-1,\"control\":true},"
            "{\"key\":\"b\",\"weight\":1}]}",
            -EINVAL, "variants[0].weight");
    refused("{\"key\":\"e\",\"variants\":[{\"key\":\"a\",\"weight\":1,\"control\":true},"
            "{\"weight\":1}]}",
            -EINVAL, "variants[1].key");
    refused("{\"key\":\"e\"," VARIANTS ",\"metric\":\"median\"}", -EINVAL, "metric");
    refused("{\"key\":\"e\"," VARIANTS ",\"guardrails\":[\"error_rate\",\"cpu\"]}", -EINVAL,
            "guardrails[1]");
    refused("{\"key\":\"e\"," VARIANTS ",\"safety\":{\"min_confidence\":2}}", -EINVAL,
            "safety.min_confidence");
    refused("{\"key\":\"e\"," VARIANTS ",\"safety\":{\"promotion\":\"fast\"}}", -EINVAL,
            "safety.promotion");
    refused("{\"key\":\"e\"," VARIANTS ",\"safety\":{\"min_sample_per_variant\":1.5}}", -EINVAL,
            "safety.min_sample_per_variant");
    refused("{\"key\":\"e\"," VARIANTS ",\"allocation\":{\"max_step_pct\":2.5}}", -EINVAL,
            "allocation.max_step_pct");
    refused("{\"key\":\"e\"," VARIANTS ",\"health\":{\"min_events\":0}}", -EINVAL,
            "health.min_events");
    refused("{\"key\":\"e\"," VARIANTS ",\"safety\":3}", -EINVAL, "safety");
    refused("{\"key\":\"e\"," VARIANTS ",\"description\":7}", -EINVAL, "description");
}

/* The answer's members and their order are the API's (docs/api.md, "Experiments"). */
static void the_experiment_is_answered_as_the_api_answers_it(void **state)
{
    (void)state;
    sy_experiment_t x = {.def = SY_EXP_DEF_DEFAULTS};
    sy_err_t err;
    assert_int_equal(read_text(full, &x.def, &err), 0);
    sy_exp_def_clear(&x.def);
    x.def.safety.safety.min_improvement_pct = 4;
    snprintf(x.state, sizeof(x.state), "running");
    x.weights[0] = 60;
    x.weights[1] = 40;
    x.created_ms = 5;
    x.started_ms = 6;
    json_t *o = sy_experiment_json(&x);
    char *text = json_dumps(o, JSON_COMPACT);
    assert_string_equal(
        text,
        "{\"key\":\"e\",\"flag\":\"f\",\"metric\":\"mean\",\"variants\":[{\"key\":\"a\",\"weight\":"
        "1,\"control\":true},{\"key\":\"b\",\"weight\":3,\"control\":false}],\"safety\":{"
        "\"min_sample_per_variant\":1000,\"min_confidence\":0.98999999999999999,"
        "\"min_improvement_pct\":4.0,\"min_runtime_hours\":48.0,\"max_error_rate\":"
        "0.050000000000000003,\"sequential\":true,\"require_manual_approval\":false,"
        "\"max_latency_increase_pct\":10.0,\"planned_lift_pct\":8.0,\"promotion\":\"full\"},"
        "\"record_exposures\":true,\"guardrails\":[\"error_rate\",\"latency\"],\"description\":"
        "\"two\\nlines\",\"health\":{\"success_rate_drop\":0.050000000000000003,"
        "\"error_rate_increase\":0.029999999999999999,\"retry_rate_increase\":"
        "0.050000000000000003,\"min_events\":100,\"confidence\":0.98999999999999999,"
        "\"max_p95_ms\":250.0},\"allocation\":{\"max_step_pct\":10,\"cooldown_hours\":0.0},"
        "\"safety_inherited\":[\"min_sample_per_variant\",\"min_improvement_pct\","
        "\"min_runtime_hours\",\"max_error_rate\",\"require_manual_approval\","
        "\"max_latency_increase_pct\",\"planned_lift_pct\"],\"weights\":{\"a\":60,\"b\":40},"
        "\"state\":\"running\",\"created_ms\":5,\"started_ms\":6,\"stopped_ms\":null}");
    free(text);
    json_decref(o);
}

/* The stored form keeps what was given and reads back to the same definition; a merge
 * patch's null hands a safety field back to the server. */
static void the_stored_form_reads_back_and_a_patch_merges_into_it(void **state)
{
    (void)state;
    sy_exp_def_t d, again;
    sy_err_t err;
    assert_int_equal(read_text(full, &d, &err), 0);
    json_t *stored = sy_exp_def_json(&d);
    assert_non_null(stored);
    const json_t *safety = json_object_get(stored, "safety");
    assert_int_equal(json_object_size(safety), 3);
    assert_null(json_object_get(safety, "min_runtime_hours"));
    assert_int_equal(json_object_size(json_object_get(stored, "allocation")), 2);
    assert_null(json_object_get(json_array_get(json_object_get(stored, "variants"), 1), "value"));
    assert_int_equal(sy_exp_def_read(stored, &again, &err), 0);
    json_t *twice = sy_exp_def_json(&again);
    assert_true(json_equal(stored, twice));
    json_decref(twice);
    json_decref(stored);

    json_t *p = json_loads("{\"safety\":{\"min_confidence\":null,\"min_runtime_hours\":1},"
                           "\"description\":null}",
                           0, NULL);
    sy_exp_def_t n;
    assert_int_equal(sy_exp_def_patch(&again, p, &n, &err), 0);
    assert_int_equal(n.safety_set, (1u << SY_EXP_SAFETY_MIN_RUNTIME) |
                                       (1u << SY_EXP_SAFETY_SEQUENTIAL) |
                                       (1u << SY_EXP_SAFETY_PROMOTION));
    assert_true(n.safety.safety.min_runtime_hours == 1);
    assert_false(n.has_description);
    assert_string_equal(n.flag, "f");
    json_decref(p);
    p = json_loads("[1]", 0, NULL);
    assert_int_equal(sy_exp_def_patch(&again, p, &n, &err), -EINVAL);
    json_decref(p);
    p = json_loads("{\"safety\":{\"min_confidenc\":1}}", 0, NULL);
    assert_int_equal(sy_exp_def_patch(&again, p, &n, &err), SY_EUNKNOWN);
    assert_string_equal(err.field, "safety.min_confidenc");
    json_decref(p);
    sy_exp_def_clear(&again);
    sy_exp_def_clear(&d);
}

static void server_defaults_are_read_as_a_definitions_safety(void **state)
{
    (void)state;
    sy_exp_defaults_t d;
    sy_err_t err = {0};
    json_t *s = json_loads("{\"min_confidence\":0.99,\"sequential\":true}", 0, NULL);
    assert_int_equal(sy_exp_defaults_read(s, &d, &err), 0);
    assert_true(d.safety.min_confidence == 0.99 && d.sequential &&
                d.safety.min_sample_per_variant == 1000);
    json_decref(s);
    s = json_loads("{\"min_confidence\":1}", 0, NULL); /* in range, refused by core's check */
    assert_int_equal(sy_exp_defaults_read(s, &d, &err), -EINVAL);
    assert_string_equal(err.field, "safety.min_confidence");
    json_decref(s);
    s = json_loads("{\"max_eror_rate\":0.1}", 0, NULL);
    assert_int_equal(sy_exp_defaults_read(s, &d, &err), SY_EUNKNOWN);
    assert_string_equal(err.field, "safety.max_eror_rate");
    json_decref(s);
    assert_int_equal(sy_exp_defaults_read(NULL, &d, &err), 0);
    assert_true(d.safety.min_confidence == 0.95);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_member_goes_into_its_place),
        cmocka_unit_test(unknown_members_are_named_by_their_path),
        cmocka_unit_test(each_bad_value_is_named),
        cmocka_unit_test(the_experiment_is_answered_as_the_api_answers_it),
        cmocka_unit_test(the_stored_form_reads_back_and_a_patch_merges_into_it),
        cmocka_unit_test(server_defaults_are_read_as_a_definitions_safety),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
