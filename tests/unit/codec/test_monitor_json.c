/* test_monitor_json.c - the health monitor's and the auto-promotion check's JSON
 * (codec/monitor_json.h): each answer written with exactly the members docs/api.md shows, in
 * its order, the optional ones only when given; every action's name; the pushed health and
 * the check's body read by their schemas. */
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "codec/monitor_json.h"

/* `j` (taken) as compact text equals `want`. */
static void assert_json(json_t *j, const char *want)
{
    assert_non_null(j);
    char *got = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (strcmp(got, want) != 0)
        fail_msg("got  %s\nwant %s", got, want);
    free(got);
}

static sy_exp_split_t split2(const char *a, int64_t wa, const char *b, int64_t wb)
{
    sy_exp_split_t s = {.n = 2};
    strcpy(s.v[0].variant, a);
    s.v[0].weight = wa;
    strcpy(s.v[1].variant, b);
    s.v[1].weight = wb;
    return s;
}

static void health_view_is_written_as_the_api_shows_it(void **state)
{
    (void)state;
    sy_exp_health_t h = {.experiment = "mon", .state = "promoting"};
    /* nothing watched: nulls, no reasons */
    assert_json(sy_exp_health_json(&h),
                "{\"experiment\":\"mon\",\"state\":\"promoting\",\"health\":{\"watched\":null,"
                "\"baseline\":null,\"current\":null,\"source\":\"events\",\"rollback_due\":false,"
                "\"reasons\":[],\"look\":0,\"window_ready\":false}}");
    /* pushed, with p95 and a retry rate on the current side only; two reasons in the rule's
     * order */
    h.health = (sy_health_view_t){
        .has_watched = true,
        .watched = "variant_a",
        .has_baseline = true,
        .baseline = {.success_rate = 0.75, .error_rate = 0, .outcomes = 1000, .requests = 1000},
        .has_current = true,
        .current = {.success_rate = 0.5,
                    .error_rate = 0.25,
                    .has_p95 = true,
                    .p95_ms = 240,
                    .has_retry_rate = true,
                    .retry_rate = 0.125},
        .source = SY_HEALTH_PUSHED,
        .rollback_due = true,
        .reasons = SY_ROLLBACK_RETRY_RATE | SY_ROLLBACK_SUCCESS_RATE,
        .look = 41,
        .window_ready = true};
    assert_json(
        sy_health_view_json(&h.health),
        "{\"watched\":\"variant_a\",\"baseline\":{\"success_rate\":0.75,\"error_rate\":0.0},"
        "\"current\":{\"success_rate\":0.5,\"error_rate\":0.25,\"p95_ms\":240.0,"
        "\"retry_rate\":0.125},\"source\":\"pushed\",\"rollback_due\":true,"
        "\"reasons\":[\"success_rate_drop\",\"retry_rate_increase\"],\"look\":41,"
        "\"window_ready\":true}");
}

static void every_action_has_its_name(void **state)
{
    (void)state;
    static const char *const want[] = {"none",
                                       "step",
                                       "promote",
                                       "refused",
                                       "awaiting_approval",
                                       "held_by_kill_switch",
                                       "would_step",
                                       "would_promote",
                                       "error"};
    for (int a = SY_AUTO_NONE; a <= SY_AUTO_ERROR; a++)
        assert_string_equal(sy_auto_action_name((sy_auto_action_t)a), want[a]);
    assert_string_equal(sy_auto_action_name((sy_auto_action_t)99), "error");
}

static void auto_report_writes_each_entry_with_only_its_members(void **state)
{
    (void)state;
    sy_auto_outcome_t v[4] = {
        /* its analysis failed */
        {.experiment = "broken",
         .workspace = 2,
         .action = SY_AUTO_ERROR,
         .has_message = true,
         .message = "contradicting aggregates"},
        /* no winner: the first reason */
        {.experiment = "search",
         .workspace = 1,
         .has_decision = true,
         .decision = SY_DECISION_CONTINUE,
         .action = SY_AUTO_NONE,
         .has_reason = true,
         .reason = "treatment: confidence 0.9142 is below 0.95"},
        /* stepped */
        {.experiment = "checkout-button",
         .workspace = 1,
         .has_decision = true,
         .decision = SY_DECISION_PROMOTE,
         .has_winner = true,
         .winner = "green",
         .action = SY_AUTO_STEP,
         .has_split = true,
         .split = split2("blue", 30, "green", 70),
         .state = "promoting"},
        /* refused by a guardrail */
        {.experiment = "hero",
         .workspace = 1,
         .has_decision = true,
         .decision = SY_DECISION_PROMOTE,
         .has_winner = true,
         .winner = "b",
         .action = SY_AUTO_REFUSED,
         .has_refused_by = true,
         .refused_by = "cooldown",
         .has_message = true,
         .message = "cooldown"},
    };
    sy_auto_report_t r = {.at_ms = 1796163301000, .dry_run = false, .v = v, .n = 4};
    assert_json(
        sy_auto_report_json(&r),
        "{\"at_ms\":1796163301000,\"dry_run\":false,\"checked\":4,\"experiments\":["
        "{\"experiment\":\"broken\",\"workspace\":2,\"action\":\"error\","
        "\"message\":\"contradicting aggregates\"},"
        "{\"experiment\":\"search\",\"workspace\":1,\"decision\":\"continue\",\"action\":\"none\","
        "\"reason\":\"treatment: confidence 0.9142 is below 0.95\"},"
        "{\"experiment\":\"checkout-button\",\"workspace\":1,\"decision\":\"promote\","
        "\"winner\":\"green\",\"action\":\"step\",\"weights\":{\"blue\":30,\"green\":70},"
        "\"state\":\"promoting\"},"
        "{\"experiment\":\"hero\",\"workspace\":1,\"decision\":\"promote\",\"winner\":\"b\","
        "\"action\":\"refused\",\"refused_by\":\"cooldown\",\"message\":\"cooldown\"}]}");
    sy_auto_report_t none = {.at_ms = 5, .dry_run = true};
    assert_json(sy_auto_report_json(&none),
                "{\"at_ms\":5,\"dry_run\":true,\"checked\":0,\"experiments\":[]}");
}

static void pushed_health_and_check_body_are_read_by_their_schemas(void **state)
{
    (void)state;
    sy_err_t err = {0};
    json_t *j = json_loads("{\"success_rate\":0.88,\"error_rate\":0.03,\"p95_ms\":240}", 0, NULL);
    sy_health_push_t p = {0};
    assert_int_equal(sy_schema_read(&sy_health_push_schema, j, &p, "", &err), 0);
    assert_true(p.success_rate == 0.88 && p.error_rate == 0.03);
    assert_true(p.has_p95_ms && p.p95_ms == 240);
    assert_false(p.has_retry_rate);
    json_decref(j);
    /* both rates are required; a string is refused with the engine's sentence */
    j = json_loads("{\"error_rate\":0.03}", 0, NULL);
    assert_int_equal(sy_schema_read(&sy_health_push_schema, j, &p, "", &err), -EINVAL);
    assert_string_equal(err.field, "success_rate");
    json_decref(j);
    j = json_loads("{\"success_rate\":0.9,\"error_rate\":0.1,\"retry_rate\":\"x\"}", 0, NULL);
    assert_int_equal(sy_schema_read(&sy_health_push_schema, j, &p, "", &err), -EINVAL);
    assert_string_equal(err.field, "retry_rate");
    assert_string_equal(err.msg, "retry_rate is a number from 0 to 1");
    json_decref(j);
    j = json_loads("{\"success_rate\":0.9,\"error_rate\":0.1,\"p99_ms\":1}", 0, NULL);
    assert_int_equal(sy_schema_read(&sy_health_push_schema, j, &p, "", &err), SY_EUNKNOWN);
    assert_string_equal(err.field, "p99_ms");
    json_decref(j);

    sy_auto_check_body_t b = {0};
    j = json_loads("{\"dry_run\":true}", 0, NULL);
    assert_int_equal(sy_schema_read(&sy_auto_check_body_schema, j, &b, "", &err), 0);
    assert_true(b.has_dry_run && b.dry_run);
    json_decref(j);
    j = json_loads("{\"dry_run\":1}", 0, NULL);
    assert_int_equal(sy_schema_read(&sy_auto_check_body_schema, j, &b, "", &err), -EINVAL);
    assert_string_equal(err.field, "dry_run");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(health_view_is_written_as_the_api_shows_it),
        cmocka_unit_test(every_action_has_its_name),
        cmocka_unit_test(auto_report_writes_each_entry_with_only_its_members),
        cmocka_unit_test(pushed_health_and_check_body_are_read_by_their_schemas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
