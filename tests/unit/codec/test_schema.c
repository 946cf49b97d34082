/* test_schema.c - requests read by their schema (codec/schema.h): every member into its
 * place, every name checked before any value (an unknown member wins over a wrong one),
 * nested names as paths, each kind at its bounds, required members, and the risk guard's
 * schemas (codec/risk_json.h) as the API uses them. */
#include <errno.h>
#include <float.h>
#include <stddef.h>
#include <string.h>

#include "../harness.h"
#include "codec/risk_json.h"
#include "codec/schema.h"

struct inner {
    int64_t n;
};

struct outer {
    const char *name;
    bool on, has_on;
    double rate;
    sy_limit_t cap;
    bool has_cap;
    struct inner in;
    const json_t *doc;
};

static const sy_field_t inner_fields[] = {
    {"n", SY_K_INT, offsetof(struct inner, n), SY_UNTRACKED, .required = true, .lo = 1, .hi = 10,
     .says = "an integer from 1 to 10"},
};
static const sy_schema_t inner_schema = SY_SCHEMA(inner_fields);

#define AT(m) offsetof(struct outer, m)
static const sy_field_t outer_fields[] = {
    {"name", SY_K_TEXT, AT(name), SY_UNTRACKED, .required = true, .hi = 8, .says = "1 to 8 bytes"},
    {"on", SY_K_BOOL, AT(on), AT(has_on), .says = "true or false"},
    {"rate", SY_K_NUMBER, AT(rate), SY_UNTRACKED, .lo = 0, .hi = 1, .says = "from 0 to 1"},
    {"cap", SY_K_LIMIT, AT(cap), AT(has_cap), .lo_open = true, .lo = 0, .hi = DBL_MAX,
     .says = "above 0, or null"},
    {"in", SY_K_OBJECT, AT(in), SY_UNTRACKED, .says = "an object", .sub = &inner_schema},
    {"doc", SY_K_JSON, AT(doc), SY_UNTRACKED, .says = "anything"},
};
static const sy_schema_t outer_schema = SY_SCHEMA(outer_fields);

/* Reads `text` into *o (zeroed first, rate 0.5 as a default): the return, err filled. */
static int read_text(const char *text, struct outer *o, json_t **keep, sy_err_t *err)
{
    json_error_t je;
    *keep = json_loads(text, 0, &je);
    assert_non_null(*keep);
    *o = (struct outer){.rate = 0.5};
    *err = (sy_err_t){0};
    return sy_schema_read(&outer_schema, *keep, o, "", err);
}

static void refused(const char *text, int code, const char *field)
{
    struct outer o;
    json_t *j;
    sy_err_t err;
    int rc = read_text(text, &o, &j, &err);
    if (rc != code || strcmp(err.field, field) != 0)
        fail_msg("%s: rc %d field \"%s\", want %d \"%s\"", text, rc, err.field, code, field);
    assert_true(err.msg[0]);
    json_decref(j);
}

static void schema_reads_every_kind_into_its_place(void **state)
{
    (void)state;
    struct outer o;
    json_t *j;
    sy_err_t err;
    assert_int_equal(read_text("{\"name\": \"ab\", \"on\": false, \"rate\": 1, \"cap\": 2.5,"
                               " \"in\": {\"n\": 10}, \"doc\": [1, {\"x\": null}]}",
                               &o, &j, &err),
                     0);
    assert_string_equal(o.name, "ab");
    assert_false(o.on);
    assert_true(o.has_on);
    assert_true(o.rate == 1);
    assert_true(o.has_cap && o.cap.set && o.cap.v == 2.5);
    assert_int_equal(o.in.n, 10);
    assert_true(json_is_array(o.doc));
    json_decref(j);
    /* what is not given keeps the caller's default and is not marked given */
    assert_int_equal(read_text("{\"name\": \"ab\", \"cap\": null}", &o, &j, &err), 0);
    assert_false(o.has_on);
    assert_true(o.rate == 0.5);
    assert_true(o.has_cap && !o.cap.set);
    json_decref(j);
}

static void schema_checks_every_name_before_any_value(void **state)
{
    (void)state;
    refused("{\"name\": 7, \"colour\": 1}", SY_EUNKNOWN, "colour");
    refused("{\"colour\": 1}", SY_EUNKNOWN, "colour"); /* before the missing name */
    refused("{\"name\": \"a\", \"in\": {\"n\": 1, \"m\": 2}}", SY_EUNKNOWN, "in.m");
    refused("{\"name\": \"a\", \"in\": {}}", -EINVAL, "in.n");
    refused("{\"name\": \"a\", \"in\": []}", -EINVAL, "in");
}

/* 3.0 is the integer 3: a body holding an integer past int64 anywhere is read with every
 * number a double, and its integer members must still read (the attack found weights
 * refused beside a variant value of 2^64 - 1). */
static void an_integral_double_is_an_integer(void **state)
{
    (void)state;
    json_error_t je;
    json_t *j =
        json_loads("{\"n\": 3, \"big\": 18446744073709551615}", JSON_DECODE_INT_AS_REAL, &je);
    assert_non_null(j);
    json_object_del(j, "big");
    struct inner in = {0};
    sy_err_t err = {0};
    assert_int_equal(sy_schema_read(&inner_schema, j, &in, "", &err), 0);
    assert_int_equal(in.n, 3);
    json_decref(j);
    j = json_pack("{sf}", "n", 3.5);
    assert_int_equal(sy_schema_read(&inner_schema, j, &in, "", &err), -EINVAL);
    assert_string_equal(err.field, "n");
    json_decref(j);
    j = json_pack("{sf}", "n", 1e300); /* integral, but no int64 */
    assert_int_equal(sy_schema_read(&inner_schema, j, &in, "", &err), -EINVAL);
    json_decref(j);
}

static void schema_refuses_each_kind_at_its_bounds(void **state)
{
    (void)state;
    refused("{}", -EINVAL, "name");
    refused("{\"name\": \"\"}", -EINVAL, "name");
    refused("{\"name\": \"123456789\"}", -EINVAL, "name"); /* 9 bytes */
    refused("{\"name\": \"a\\u0001\"}", -EINVAL, "name");
    refused("{\"name\": \"a\", \"on\": 1}", -EINVAL, "on");
    refused("{\"name\": \"a\", \"rate\": 1.0000001}", -EINVAL, "rate");
    refused("{\"name\": \"a\", \"rate\": -0.1}", -EINVAL, "rate");
    refused("{\"name\": \"a\", \"rate\": \"0.5\"}", -EINVAL, "rate");
    refused("{\"name\": \"a\", \"cap\": 0}", -EINVAL, "cap"); /* above 0, not from */
    refused("{\"name\": \"a\", \"in\": {\"n\": 1.5}}", -EINVAL, "in.n");
    refused("{\"name\": \"a\", \"in\": {\"n\": 11}}", -EINVAL, "in.n");
    struct outer o;
    json_t *j;
    sy_err_t err;
    assert_int_equal(
        read_text("{\"name\": \"12345678\", \"rate\": 0, \"in\": {\"n\": 1}}", &o, &j, &err), 0);
    json_decref(j);
}

static void risk_schemas_read_what_the_api_takes(void **state)
{
    (void)state;
    json_t *j =
        json_loads("{\"domain\": \"WHOLESALE\", \"amount\": 12.5, \"actor\": \"app\"}", 0, NULL);
    sy_risk_request_t r = {0};
    sy_err_t err = {0};
    assert_int_equal(sy_schema_read(&sy_risk_request_schema, j, &r, "", &err), 0);
    assert_string_equal(r.domain, "WHOLESALE");
    assert_true(r.amount == 12.5);
    assert_null(r.correlation_id);
    json_decref(j);

    j = json_loads("{\"reason\": \"limits\", \"max_per_day\": null, \"max_per_action\": 5}", 0,
                   NULL);
    sy_risk_policy_change_t c = {0};
    assert_int_equal(sy_schema_read(&sy_risk_policy_change_schema, j, &c, "", &err), 0);
    assert_true(c.has_max_per_day && !c.max_per_day.set);
    assert_true(c.has_max_per_action && c.max_per_action.set && c.max_per_action.v == 5);
    assert_false(c.has_enabled);
    json_decref(j);

    j = json_loads("{\"max_per_day\": 3}", 0, NULL);
    assert_int_equal(sy_schema_read(&sy_risk_policy_change_schema, j, &c, "", &err), -EINVAL);
    assert_string_equal(err.field, "reason");
    json_decref(j);

    j = json_loads("{\"reservation_id\": 0}", 0, NULL);
    sy_risk_release_t rel = {0};
    assert_int_equal(sy_schema_read(&sy_risk_release_schema, j, &rel, "", &err), -EINVAL);
    assert_string_equal(err.field, "reservation_id");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(schema_reads_every_kind_into_its_place),
        cmocka_unit_test(schema_checks_every_name_before_any_value),
        cmocka_unit_test(schema_refuses_each_kind_at_its_bounds),
        cmocka_unit_test(an_integral_double_is_an_integer),
        cmocka_unit_test(risk_schemas_read_what_the_api_takes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
