/* test_results_json.c - the requests that move an experiment's traffic read by their
 * schemas (a step, a promotion with its metadata kept as text, a rollback) and the answers
 * written from engine.h's types (codec/results_json.h): every member the API shows, null
 * where a value is absent or not finite, and the three shapes of a step's answer. */
#include <math.h>
#include <string.h>

#include "../harness.h"
#include "codec/results_json.h"

static json_t *parse(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    return j;
}

/* `text` read by `s` into `out`: the code, with the field named in *err (the strings read
 * die with the text: for refusals). */
static int read_as(const sy_schema_t *s, const char *text, void *out, sy_err_t *err)
{
    json_t *j = parse(text);
    *err = (sy_err_t){0};
    int rc = sy_schema_read(s, j, out, "", err);
    json_decref(j);
    return rc;
}

static void a_step_request_is_read_with_its_bounds(void **state)
{
    (void)state;
    sy_err_t err;
    json_t *j = parse("{\"winning_variant\":\"a\",\"confidence\":0.97,\"delta\":-1.5,"
                      "\"evaluation_id\":\"ev-1\"}");
    sy_step_request_t q = {0};
    assert_int_equal(sy_schema_read(&sy_step_request_schema, j, &q, "", &err), 0);
    assert_string_equal(q.winning_variant, "a");
    assert_true(q.confidence == 0.97 && q.delta == -1.5);
    assert_string_equal(q.evaluation_id, "ev-1");
    json_decref(j);
    assert_int_equal(read_as(&sy_step_request_schema,
                             "{\"winning_variant\":\"a\",\"confidence\":1.01,\"delta\":1}", &q,
                             &err),
                     -EINVAL);
    assert_string_equal(err.field, "confidence");
    assert_int_equal(
        read_as(&sy_step_request_schema, "{\"winning_variant\":\"a\",\"confidence\":1}", &q, &err),
        -EINVAL);
    assert_string_equal(err.field, "delta");
    assert_int_equal(read_as(&sy_step_request_schema, "{\"confidence\":1,\"delta\":1}", &q, &err),
                     -EINVAL);
    assert_string_equal(err.field, "winning_variant");
    assert_int_equal(read_as(&sy_step_request_schema,
                             "{\"winning_variant\":\"a\",\"confidence\":1,\"delta\":1,\"speed\":1}",
                             &q, &err),
                     SY_EUNKNOWN);
    assert_string_equal(err.field, "speed");
    char body[256];
    snprintf(body, sizeof(body),
             "{\"winning_variant\":\"a\",\"confidence\":1,\"delta\":1,\"evaluation_id\":\"%065d\"}",
             0);
    assert_int_equal(read_as(&sy_step_request_schema, body, &q, &err), -EINVAL);
    assert_string_equal(err.field, "evaluation_id");
}

static void a_promotion_keeps_its_metadata_as_text(void **state)
{
    (void)state;
    sy_err_t err;
    sy_promote_body_t b = {0};
    char *text = NULL;
    json_t *j = parse("{\"variant\":\"a\",\"promoted_by\":\"ops\","
                      "\"metadata\":{\"ticket\":\"CH-12\",\"n\":[1,2.5]}}");
    assert_int_equal(sy_schema_read(&sy_promote_body_schema, j, &b, "", &err), 0);
    assert_int_equal(sy_promote_body_finish(&b, &text, &err), 0);
    assert_string_equal(b.req.variant, "a");
    assert_string_equal(b.req.promoted_by, "ops");
    assert_string_equal(b.req.metadata, "{\"ticket\":\"CH-12\",\"n\":[1,2.5]}");
    assert_ptr_equal(b.req.metadata, text);
    free(text);
    json_decref(j);

    b = (sy_promote_body_t){0};
    j = parse("{\"metadata\":[1]}"); /* the body lives as long as what is read from it */
    assert_int_equal(sy_schema_read(&sy_promote_body_schema, j, &b, "", &err), 0);
    assert_int_equal(sy_promote_body_finish(&b, &text, &err), -EINVAL);
    assert_string_equal(err.field, "metadata");
    assert_null(text);
    json_decref(j);

    b = (sy_promote_body_t){0};
    assert_int_equal(sy_promote_body_finish(&b, &text, &err), 0); /* none: none */
    assert_null(text);
    assert_null(b.req.metadata);
    assert_int_equal(read_as(&sy_promote_body_schema, "{\"promoted_by\":\"\"}", &b, &err), -EINVAL);
    assert_string_equal(err.field, "promoted_by");
}

static void a_rollback_is_read_with_its_bounds(void **state)
{
    (void)state;
    sy_err_t err;
    sy_rollback_request_t q = {0};
    json_t *j = parse("{\"reason\":\"p95 over 300 ms\",\"rolled_back_by\":\"pager\"}");
    assert_int_equal(sy_schema_read(&sy_rollback_request_schema, j, &q, "", &err), 0);
    assert_string_equal(q.reason, "p95 over 300 ms");
    assert_string_equal(q.rolled_back_by, "pager");
    json_decref(j);
    char body[640];
    snprintf(body, sizeof(body), "{\"reason\":\"%0501d\"}", 0);
    assert_int_equal(read_as(&sy_rollback_request_schema, body, &q, &err), -EINVAL);
    assert_string_equal(err.field, "reason");
    assert_int_equal(read_as(&sy_rollback_request_schema, "{\"reason\":\"a\\nb\"}", &q, &err),
                     -EINVAL);
    assert_int_equal(read_as(&sy_rollback_request_schema, "{\"why\":\"x\"}", &q, &err),
                     SY_EUNKNOWN);
}

/* The members of `o`, in order, as "a,b,c". */
static void keys_are(const json_t *o, const char *want)
{
    char got[512] = "";
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        (void)v;
        strcat(got, *got ? "," : "");
        strcat(got, k);
    }
    assert_string_equal(got, want);
}

static sy_step_answer_t answer(void)
{
    sy_step_answer_t a = {.n = 2,
                          .weights = {{"a", 80}, {"b", 20}},
                          .rate_limit = {.changes_today = 1,
                                         .max_changes_per_day = 2,
                                         .has_resets_at = true,
                                         .resets_at_ms = 86400000,
                                         .has_last_change = true,
                                         .last_change_ms = 0,
                                         .next_allowed_ms = 86400000,
                                         .history_limit = 10}};
    return a;
}

static void a_step_answers_in_three_shapes(void **state)
{
    (void)state;
    sy_step_answer_t a = answer();
    a.applied = true;
    a.step = 20;
    strcpy(a.state, "promoting");
    json_t *o = sy_step_answer_json(&a);
    keys_are(o, "applied,refused_by,step,weights,state,rate_limit");
    assert_true(json_is_null(json_object_get(o, "refused_by")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "weights"), "a")), 80);
    keys_are(json_object_get(o, "rate_limit"), "changes_today,max_changes_per_day,resets_at_ms,"
                                               "last_change_ms,next_allowed_ms,history_limit");
    json_decref(o);

    a = answer();
    a.applied = a.duplicate = true;
    o = sy_step_answer_json(&a);
    keys_are(o, "applied,duplicate,refused_by,step,weights");
    assert_int_equal(json_integer_value(json_object_get(o, "step")), 0);
    json_decref(o);

    a = answer();
    a.refused = true;
    strcpy(a.refused_by, "cooldown");
    a.rate_limit.has_resets_at = a.rate_limit.has_last_change = false;
    o = sy_step_answer_json(&a);
    keys_are(o, "applied,refused_by,rate_limit");
    assert_true(json_is_false(json_object_get(o, "applied")));
    assert_string_equal(json_string_value(json_object_get(o, "refused_by")), "cooldown");
    assert_true(json_is_null(json_object_get(json_object_get(o, "rate_limit"), "resets_at_ms")));
    assert_true(json_is_null(json_object_get(json_object_get(o, "rate_limit"), "last_change_ms")));
    json_decref(o);
}

static void the_allocation_lists_its_active_variants(void **state)
{
    (void)state;
    sy_allocation_t a = {.experiment = "e",
                         .state = "promoted",
                         .n = 2,
                         .weights = {{"a", 100}, {"b", 0}},
                         .guardrails = SY_GUARDRAILS_DEFAULTS};
    json_t *o = sy_allocation_json(&a, json_array());
    keys_are(o, "experiment,state,weights,active_variants,guardrails,rate_limit,history");
    assert_int_equal(json_array_size(json_object_get(o, "active_variants")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "active_variants"), 0)),
                        "a");
    json_decref(o);
    /* the history's stored texts parsed back; one that does not parse is left out */
    json_t *h = json_array();
    sy_history_entry_t e = {.id = 3,
                            .at_ms = 5,
                            .action = "step",
                            .actor = "alice",
                            .before = "{\"a\":60}",
                            .after = "{\"a\":80}",
                            .detail = "not json"};
    assert_int_equal(sy_history_json_add(h, &e), 0);
    keys_are(json_array_get(h, 0), "id,at_ms,action,actor,before,after");
    o = sy_history_json("e", h);
    keys_are(o, "experiment,history");
    json_decref(o);
}

static void results_say_null_where_there_is_no_value(void **state)
{
    (void)state;
    sy_exp_results_t *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    strcpy(x->experiment, "e");
    strcpy(x->state, "running");
    x->metric = SY_METRIC_CONVERSION;
    x->n_variants = 2;
    x->variants[0] = (sy_results_variant_t){.key = "a", .weight = 50, .units = 0};
    x->variants[1] = (sy_results_variant_t){.key = "b", .control = true, .weight = 50};
    x->r.winner = x->r.candidate = -1;
    x->r.arms[0].test_error = SY_ENOTRIALS;
    x->r.n_reasons = 1;
    strcpy(x->r.reasons[0], "no units yet");
    json_t *o = sy_results_json(x);
    keys_are(o, "experiment,state,metric,runtime_hours,sequential,variants,srm,decision,winner,"
                "reasons,units");
    assert_true(json_is_null(json_object_get(o, "srm")));
    assert_true(json_is_null(json_object_get(o, "winner")));
    assert_string_equal(json_string_value(json_object_get(o, "decision")), "continue");
    json_t *t = json_array_get(json_object_get(o, "variants"), 0);
    keys_are(t,
             "key,control,weight,units,errors,error_rate,crossovers,conversions,rate,vs_control");
    assert_true(json_is_null(json_object_get(t, "rate")));
    keys_are(json_object_get(t, "vs_control"), "compared,reason");
    keys_are(json_array_get(json_object_get(o, "variants"), 1),
             "key,control,weight,units,errors,error_rate,crossovers,conversions,rate");
    json_decref(o);

    /* compared, with a sample planned and no traffic to tell the hours by */
    x->r.arms[0] = (sy_arm_result_t){.compared = true,
                                     .has_lift = true,
                                     .lift = 0.1,
                                     .lift_ci_low = NAN,
                                     .has_sample = true,
                                     .n_needed_control = 10,
                                     .n_needed_treatment = 12};
    x->variants[0].still_needed = 22;
    x->latency_guardrail = true;
    o = sy_results_json(x);
    t = json_object_get(json_array_get(json_object_get(o, "variants"), 0), "vs_control");
    assert_true(json_is_null(json_array_get(json_object_get(t, "lift_ci"), 0)));
    assert_true(json_is_null(json_object_get(json_object_get(t, "sample_needed"), "hours_left")));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(t, "sample_needed"), "still_needed")),
        22);
    assert_true(json_is_null(json_object_get(json_object_get(t, "latency_guardrail"), "passed")));
    json_decref(o);
    free(x);
}

static void promotion_tells_the_latency_guardrail_when_on(void **state)
{
    (void)state;
    sy_exp_promotion_t p = {.experiment = "e", .has_confidence = true, .confidence = NAN};
    strcpy(p.warnings[p.n_warnings++], "promotion requires manual approval");
    json_t *o = sy_promotion_json(&p);
    keys_are(o, "experiment,eligible,winner,confidence,improvement,checks,warnings");
    assert_true(json_is_null(json_object_get(o, "confidence")));
    assert_int_equal(json_array_size(json_object_get(o, "warnings")), 1);
    json_decref(o);
    p.latency_guardrail = true;
    p.latency = SY_LATENCY_FAILED;
    o = sy_promotion_json(&p);
    assert_true(json_is_false(json_object_get(json_object_get(o, "guardrails"), "latency")));
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_step_request_is_read_with_its_bounds),
        cmocka_unit_test(a_promotion_keeps_its_metadata_as_text),
        cmocka_unit_test(a_rollback_is_read_with_its_bounds),
        cmocka_unit_test(a_step_answers_in_three_shapes),
        cmocka_unit_test(the_allocation_lists_its_active_variants),
        cmocka_unit_test(results_say_null_where_there_is_no_value),
        cmocka_unit_test(promotion_tells_the_latency_guardrail_when_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
