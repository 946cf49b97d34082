/* test_regression_json.c - KPI events, regression policies, tripwire states and
 * notification channels as the API reads and writes them (codec/regression_json.h,
 * codec/channel_json.h): a lone event and a batch into their places, refusals named by
 * their paths, details kept as compact text; the answers member for member. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "codec/channel_json.h"
#include "codec/regression_json.h"

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fail_msg("bad JSON in the test: %s", je.text);
    return j;
}

/* The JSON text of `j` (taken), keys sorted, into `out`. */
static const char *text_of(json_t *j, char *out, size_t cap)
{
    assert_non_null(j);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
    snprintf(out, cap, "%s", s);
    free(s);
    json_decref(j);
    return out;
}

#define EV "\"domain\":\"D\",\"metric\":\"m\",\"actor\":\"app\""

static void kpi_lone_event_and_batch_read_into_their_places(void **state)
{
    (void)state;
    json_t *j = parse("{" EV ",\"value\":2.5,\"id\":\"k1\",\"detail\":{\"b\": 1, \"a\": [1]}}");
    sy_kpi_batch_t b;
    sy_err_t err = {0};
    assert_int_equal(sy_kpi_batch_read(j, &b, &err), 0);
    assert_int_equal(b.n, 1);
    assert_false(b.listed);
    assert_string_equal(b.ev[0].domain, "D");
    assert_true(b.ev[0].has_value && b.ev[0].value == 2.5);
    assert_false(b.ev[0].has_success);
    assert_string_equal(b.ev[0].id, "k1");
    assert_null(b.ev[0].correlation_id);
    assert_string_equal(b.ev[0].detail, "{\"b\":1,\"a\":[1]}"); /* compact, in its order */
    sy_kpi_batch_free(&b);
    json_decref(j);

    j = parse("{\"events\":[{" EV ",\"success\":false,\"detail\":null},{" EV
              ",\"success\":true}]}");
    assert_int_equal(sy_kpi_batch_read(j, &b, &err), 0);
    assert_int_equal(b.n, 2);
    assert_true(b.listed);
    assert_true(b.ev[0].has_success && !b.ev[0].success);
    assert_null(b.ev[0].detail); /* null is no detail */
    assert_true(b.ev[1].has_success && b.ev[1].success);
    sy_kpi_batch_free(&b);
    json_decref(j);
}

static void kpi_refusal(const char *text, int code, const char *field)
{
    json_t *j = parse(text);
    sy_kpi_batch_t b;
    sy_err_t err = {0};
    int rc = sy_kpi_batch_read(j, &b, &err);
    if (rc != code || strcmp(err.field, field) != 0)
        fail_msg("%s: rc %d field \"%s\", want %d \"%s\"", text, rc, err.field, code, field);
    assert_null(b.ev); /* nothing to free */
    json_decref(j);
}

static void kpi_refusals_name_their_paths(void **state)
{
    (void)state;
    kpi_refusal("{" EV ",\"success\":1}", -EINVAL, "success");
    kpi_refusal("{" EV ",\"value\":\"1\"}", -EINVAL, "value");
    kpi_refusal("{\"metric\":\"m\",\"actor\":\"a\",\"success\":true}", -EINVAL, "domain");
    kpi_refusal("{" EV ",\"colour\":1}", SY_EUNKNOWN, "colour");
    kpi_refusal("{\"events\":[{" EV ",\"success\":true},{" EV ",\"value\":\"x\"}]}", -EINVAL,
                "events[1].value");
    kpi_refusal("{\"events\":[{" EV ",\"success\":true,\"colour\":1}]}", SY_EUNKNOWN,
                "events[0].colour");
    kpi_refusal("{\"events\":[1]}", -EINVAL, "events[0]");
    kpi_refusal("{\"events\":[]}", -EINVAL, "events");
    kpi_refusal("{\"events\":{}}", -EINVAL, "events");
    kpi_refusal("{\"events\":[{" EV ",\"success\":true}],\"actor\":\"a\"}", -EINVAL, "events");
    /* too many: refused before any event is read */
    json_t *list = json_array();
    for (int i = 0; i <= SY_KPI_BATCH_MAX; i++)
        json_array_append_new(list, json_integer(i));
    json_t *j = json_pack("{so}", "events", list);
    sy_kpi_batch_t b;
    sy_err_t err = {0};
    assert_int_equal(sy_kpi_batch_read(j, &b, &err), -E2BIG);
    assert_string_equal(err.field, "events");
    json_decref(j);
}

static void policy_and_states_written_member_for_member(void **state)
{
    (void)state;
    sy_regression_policy_t p = {.domain = "W",
                                .metric = "m",
                                .p = SY_TRIP_POLICY_DEFAULTS,
                                .enabled = true,
                                .changed_by = "ops",
                                .updated_ms = 7};
    char buf[1024];
    assert_string_equal(
        text_of(sy_regression_policy_json(&p), buf, sizeof(buf)),
        "{\"action\":\"THROTTLE\",\"baseline_events\":200,\"changed_by\":\"ops\",\"domain\":\"W\","
        "\"enabled\":true,\"max_drop_fraction\":0.2,\"measure\":\"rate\",\"metric\":\"m\","
        "\"min_events_to_enforce\":50,\"reason\":null,\"updated_ms\":7,\"window_events\":50}");

    sy_tripwire_state_t s = {.domain = "W", .metric = "m", .note = "never evaluated"};
    assert_string_equal(text_of(sy_tripwire_state_json(&s, false), buf, sizeof(buf)),
                        "{\"action\":null,\"domain\":\"W\",\"enabled\":false,\"last_checked_at\":"
                        "null,\"metric\":\"m\",\"note\":\"never evaluated\",\"triggered\":false}");
    s = (sy_tripwire_state_t){.workspace = 3,
                              .domain = "W",
                              .metric = "m",
                              .enabled = true,
                              .evaluated = true,
                              .triggered = true,
                              .enforced = true,
                              .action = SY_TRIP_KILL_SWITCH,
                              .has_values = true,
                              .baseline = 0.95,
                              .current = 0.2,
                              .drop_fraction = 0.75,
                              .window_events = 50,
                              .baseline_events = 200,
                              .last_checked_at = 9,
                              .has_last_triggered = true,
                              .last_triggered_at = 9,
                              .note = "TRIGGERED",
                              .has_excluded = true,
                              .has_trip_from = true,
                              .trip_from = {5, 6}};
    assert_string_equal(
        text_of(sy_tripwire_state_json(&s, true), buf, sizeof(buf)),
        "{\"action\":\"KILL_SWITCH\",\"baseline\":0.95,\"baseline_events\":200,\"current\":0.2,"
        "\"domain\":\"W\",\"drop_fraction\":0.75,\"enabled\":true,\"enforced\":true,\"excluded\":"
        "null,\"last_checked_at\":9,\"last_triggered_at\":9,\"metric\":\"m\",\"note\":"
        "\"TRIGGERED\",\"triggered\":true,\"trip_from\":{\"at_ms\":5,\"id\":6},"
        "\"window_events\":50,\"workspace\":3}");
}

static void channel_spec_read_and_channel_written(void **state)
{
    (void)state;
    json_t *j = parse("{\"type\":\"webhook\",\"url\":\"http://h/\",\"secret\":\"s\","
                      "\"levels\":[\"critical\",\"info\"],\"enabled\":false}");
    sy_channel_spec_t spec;
    sy_err_t err = {0};
    assert_int_equal(sy_channel_spec_read(j, &spec, &err), 0);
    assert_string_equal(spec.type, "webhook");
    assert_true(spec.has_levels && spec.n_levels == 2);
    assert_string_equal(spec.levels[0], "critical"); /* in the order given */
    assert_false(spec.has_events);
    assert_true(spec.has_enabled && !spec.enabled);
    assert_null(spec.routing_key);
    json_decref(j);
    const char *bad[][2] = {{"{\"type\":\"slack\",\"levels\":\"info\"}", "levels"},
                            {"{\"type\":\"slack\",\"events\":[1]}", "events"},
                            {"{\"type\":\"slack\",\"colour\":1}", "colour"},
                            {"{\"type\":\"slack\",\"enabled\":\"yes\"}", "enabled"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = parse(bad[i][0]);
        assert_true(sy_channel_spec_read(j, &spec, &err) < 0);
        assert_string_equal(err.field, bad[i][1]);
        json_decref(j);
    }
    static sy_channel_t c = {.id = 4,
                             .type = "email",
                             .name = "mail",
                             .to = "a@b",
                             .from = "c@d",
                             .smtp_url = "smtp://h",
                             .levels = {"info"},
                             .n_levels = 1,
                             .events = {"rollback", "srm"},
                             .n_events = 2,
                             .secrets_set = {"password"},
                             .n_secrets = 1};
    char buf[1024];
    assert_string_equal(
        text_of(sy_channel_json(&c), buf, sizeof(buf)),
        "{\"created_ms\":0,\"enabled\":false,\"events\":[\"rollback\",\"srm\"],\"from\":\"c@d\","
        "\"id\":4,\"levels\":[\"info\"],\"name\":\"mail\",\"secrets_set\":[\"password\"],"
        "\"smtp_url\":\"smtp://h\",\"to\":\"a@b\",\"type\":\"email\"}");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(kpi_lone_event_and_batch_read_into_their_places),
    cmocka_unit_test(kpi_refusals_name_their_paths),
    cmocka_unit_test(policy_and_states_written_member_for_member),
    cmocka_unit_test(channel_spec_read_and_channel_written),
};
SY_TEST_MAIN(tests)
