/* test_stats_json.c - tests of src/codec/stats_json.c: shapes, defaults, error paths. */
#include "../harness.h"

#include <string.h>

#include "codec/stats_json.h"

/* Evaluates a JSON text; returns the code, with the result in *out (or NULL). */
static int eval(const char *text, json_t **out, sy_err_t *err)
{
    json_error_t jerr;
    json_t *in = json_loads(text, 0, &jerr);
    assert_non_null(in);
    *out = NULL;
    int rc = sy_stats_json_eval(in, out, err);
    json_decref(in);
    return rc;
}

static double real_at(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static void kind_follows_the_shape_of_each_input(void **state)
{
    (void)state;
    struct {
        const char *text;
        sy_stats_kind_t kind;
    } cases[] = {
        {"{\"control\":{\"successes\":1,\"trials\":2},\"treatment\":{}}", SY_STATS_ZTEST},
        {"{\"control\":{\"mean\":1,\"sd\":1,\"n\":3}}", SY_STATS_WELCH},
        {"{\"observed\":[1,2]}", SY_STATS_SRM},
        {"{\"baseline\":0.1}", SY_STATS_POWER},
        {"{\"x\":1}", SY_STATS_NORMAL},
        {"{\"p\":0.1}", SY_STATS_NORMAL},
        {"{\"control\":{},\"prior\":{}}", SY_STATS_BAYES},
        {"{\"looks\":[]}", SY_STATS_SEQUENTIAL},
        {"{\"test\":\"bayes\",\"control\":{}}", SY_STATS_BAYES},
        {"{\"test\":\"nope\",\"x\":1}", SY_STATS_UNKNOWN},
        {"{\"hello\":1}", SY_STATS_UNKNOWN},
        {"[1,2]", SY_STATS_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *in = json_loads(cases[i].text, 0, NULL);
        assert_non_null(in);
        assert_int_equal(sy_stats_json_kind(in), cases[i].kind);
        json_decref(in);
    }
    assert_string_equal(sy_stats_kind_name(SY_STATS_SEQUENTIAL), "sequential");
    assert_string_equal(sy_stats_kind_name((sy_stats_kind_t)99), "unknown");
}

static void ztest_defaults_are_two_sided_pooled_and_95_percent(void **state)
{
    (void)state;
    json_t *a, *b;
    assert_int_equal(eval("{\"control\":{\"successes\":120,\"trials\":1000},"
                          "\"treatment\":{\"successes\":150,\"trials\":1000}}",
                          &a, NULL),
                     0);
    assert_int_equal(eval("{\"control\":{\"successes\":120,\"trials\":1000},"
                          "\"treatment\":{\"successes\":150,\"trials\":1000},"
                          "\"alternative\":\"two-sided\",\"pooled\":true,\"confidence\":0.95}",
                          &b, NULL),
                     0);
    assert_true(json_equal(a, b));
    json_decref(a);
    json_decref(b);
}

static void absent_lift_is_rendered_as_null(void **state)
{
    (void)state;
    json_t *o;
    assert_int_equal(eval("{\"control\":{\"successes\":0,\"trials\":100},"
                          "\"treatment\":{\"successes\":3,\"trials\":100}}",
                          &o, NULL),
                     0);
    assert_true(json_is_null(json_object_get(o, "relative_lift")));
    assert_true(json_is_null(json_object_get(o, "lift_ci_low")));
    assert_true(json_is_real(json_object_get(o, "z")));
    json_decref(o);
}

static void missing_and_mistyped_members_are_named(void **state)
{
    (void)state;
    struct {
        const char *text;
        const char *field;
    } cases[] = {
        {"{\"control\":{\"successes\":1,\"trials\":2}}", "treatment"},
        {"{\"control\":{\"successes\":1},\"treatment\":{\"successes\":1,\"trials\":2}}",
         "control.trials"},
        {"{\"control\":{\"successes\":\"1\",\"trials\":2},\"treatment\":{}}", "control.successes"},
        {"{\"control\":{\"successes\":1.5,\"trials\":2},\"treatment\":{}}", "control.successes"},
        {"{\"control\":{\"successes\":1,\"trials\":2},\"treatment\":{\"successes\":1,"
         "\"trials\":2},\"alternative\":\"greater\"}",
         "alternative"},
        {"{\"control\":{\"successes\":1,\"trials\":2},\"treatment\":{\"successes\":1,"
         "\"trials\":2},\"pooled\":1}",
         "pooled"},
        {"{\"observed\":[5,5],\"weights\":[1,1,1]}", "weights"},
        {"{\"observed\":[5,\"x\"]}", "observed[1]"},
        {"{\"baseline\":0.1}", "mde_relative"},
        {"{\"p\":0}", "p"},
        {"{\"x\":\"a\"}", "x"},
        {"{\"metric\":\"median\",\"looks\":[]}", "metric"},
        {"{\"tau_squared\":0.001,\"looks\":[]}", "looks"},
        {"{\"hello\":1}", "test"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *o;
        sy_err_t err;
        assert_int_equal(eval(cases[i].text, &o, &err), -EINVAL);
        assert_null(o);
        assert_string_equal(err.field, cases[i].field);
    }
}

static void an_integral_real_counts_as_a_whole_number(void **state)
{
    (void)state;
    json_t *o;
    assert_int_equal(eval("{\"control\":{\"successes\":12.0,\"trials\":100},"
                          "\"treatment\":{\"successes\":15,\"trials\":1e2}}",
                          &o, NULL),
                     0);
    assert_close(real_at(o, "diff"), 0.03, 1e-12, 0);
    json_decref(o);
}

static void sequential_errors_carry_the_path_of_the_look(void **state)
{
    (void)state;
    json_t *o;
    sy_err_t err;
    const char *text = "{\"tau_squared\":0.001,\"looks\":["
                       "{\"control\":{\"successes\":1,\"trials\":10},"
                       "\"treatment\":{\"successes\":2,\"trials\":10}},"
                       "{\"control\":{\"successes\":30,\"trials\":20},"
                       "\"treatment\":{\"successes\":2,\"trials\":20}}]}";
    assert_int_equal(eval(text, &o, &err), -EINVAL);
    assert_string_equal(err.field, "looks[1].control.successes");
    assert_int_equal(eval("{\"tau_squared\":0.001,\"looks\":[{\"control\":{}}]}", &o, &err),
                     -EINVAL);
    assert_string_equal(err.field, "looks[0].control.successes");
    assert_int_equal(eval("{\"tau_squared\":0.001,\"looks\":[3]}", &o, &err), -EINVAL);
    assert_string_equal(err.field, "looks[0]");
}

static void sequential_reports_every_look_and_the_final_p(void **state)
{
    (void)state;
    json_t *o;
    const char *text = "{\"metric\":\"mean\",\"tau_squared\":0.25,\"looks\":["
                       "{\"control\":{\"mean\":1,\"sd\":0,\"n\":1},"
                       "\"treatment\":{\"mean\":2,\"sd\":0,\"n\":1}},"
                       "{\"control\":{\"mean\":10,\"sd\":2,\"n\":400},"
                       "\"treatment\":{\"mean\":10.6,\"sd\":2,\"n\":400}}]}";
    assert_int_equal(eval(text, &o, NULL), 0);
    const json_t *looks = json_object_get(o, "looks");
    assert_int_equal(json_array_size(looks), 2);
    assert_true(json_is_null(json_object_get(json_array_get(looks, 0), "theta_hat")));
    double last = real_at(json_array_get(looks, 1), "always_valid_p");
    assert_true(last < 1);
    assert_close(real_at(o, "always_valid_p"), last, 0, 0);
    json_decref(o);
}

static void power_fields_appear_only_with_n_control(void **state)
{
    (void)state;
    json_t *o;
    assert_int_equal(eval("{\"baseline\":0.1,\"mde_relative\":0.05}", &o, NULL), 0);
    assert_non_null(json_object_get(o, "n_control_cohen_h"));
    assert_null(json_object_get(o, "power_cohen_h"));
    json_decref(o);
    assert_int_equal(eval("{\"baseline\":0.1,\"mde_relative\":0.05,\"n_control\":50000}", &o, NULL),
                     0);
    assert_close(real_at(o, "power_cohen_h"), 0.7411011876227245, 1e-9, 0);
    json_decref(o);
}

static void srm_weights_default_to_an_equal_split(void **state)
{
    (void)state;
    json_t *a, *b;
    assert_int_equal(eval("{\"observed\":[5000,5300]}", &a, NULL), 0);
    assert_int_equal(
        eval("{\"observed\":[5000,5300],\"weights\":[50,50],\"alpha\":0.001}", &b, NULL), 0);
    assert_true(json_equal(a, b));
    assert_true(json_is_integer(json_object_get(a, "df")));
    json_decref(a);
    json_decref(b);
}

static void core_refusals_keep_their_codes(void **state)
{
    (void)state;
    json_t *o;
    sy_err_t err;
    assert_int_equal(eval("{\"observed\":[0,0]}", &o, &err), SY_ENOTRIALS);
    assert_int_equal(eval("{\"control\":{\"mean\":1,\"sd\":1,\"n\":1},"
                          "\"treatment\":{\"mean\":1,\"sd\":1,\"n\":5}}",
                          &o, &err),
                     SY_ETOOFEW);
    assert_string_equal(err.field, "control.n");
}

static void error_object_has_code_message_and_field(void **state)
{
    (void)state;
    sy_err_t err;
    sy_err_set(&err, SY_EZEROVAR, NULL, "infinite");
    json_t *o = sy_stats_json_error(&err);
    const json_t *e = json_object_get(o, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "zero_variance");
    assert_string_equal(json_string_value(json_object_get(e, "message")), "infinite");
    assert_true(json_is_null(json_object_get(e, "field")));
    json_decref(o);
    sy_err_set(&err, -EINVAL, "alpha", "bad");
    o = sy_stats_json_error(&err);
    e = json_object_get(o, "error");
    assert_string_equal(json_string_value(json_object_get(e, "field")), "alpha");
    json_decref(o);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(kind_follows_the_shape_of_each_input),
    cmocka_unit_test(ztest_defaults_are_two_sided_pooled_and_95_percent),
    cmocka_unit_test(absent_lift_is_rendered_as_null),
    cmocka_unit_test(missing_and_mistyped_members_are_named),
    cmocka_unit_test(an_integral_real_counts_as_a_whole_number),
    cmocka_unit_test(sequential_errors_carry_the_path_of_the_look),
    cmocka_unit_test(sequential_reports_every_look_and_the_final_p),
    cmocka_unit_test(power_fields_appear_only_with_n_control),
    cmocka_unit_test(srm_weights_default_to_an_equal_split),
    cmocka_unit_test(core_refusals_keep_their_codes),
    cmocka_unit_test(error_object_has_code_message_and_field),
};

SY_TEST_MAIN(tests)
