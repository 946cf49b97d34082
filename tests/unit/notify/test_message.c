/* test_message.c - a notification on each channel type (notify/message.h): the webhook's
 * signature (an RFC 4231 vector, then the body it is sent with), Slack's blocks (the
 * numbers of a promotion, its sample per variant among them),
 * PagerDuty's trigger and resolve, and the mail message. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../harness.h"
#include "notify/message.h"

static const char PAYLOAD[] =
    "{\"event\":\"promotion_warning\",\"level\":\"warning\",\"action\":\"trigger\","
    "\"workspace\":\"shop\",\"resource\":\"experiment:checkout\","
    "\"title\":\"Promoted B of checkout to 100% (with warnings)\","
    "\"details\":{\"experiment\":\"checkout\",\"winner\":\"B\",\"confidence\":0.975,"
    "\"improvement_pct\":3.2,\"sample_size\":1200,\"sample\":{\"A\":590,\"B\":610},"
    "\"state\":\"promoted\","
    "\"warnings\":[\"fixed-horizon p-values\"]},\"at_ms\":1700000000000}";

static sy_store_notification_t note(const char *action)
{
    return (sy_store_notification_t){.id = 7,
                                     .workspace = 1,
                                     .channel = 3,
                                     .event = "promotion_warning",
                                     .level = "warning",
                                     .action = action,
                                     .resource = "experiment:checkout",
                                     .key = "ws1/promotion_warning/experiment:checkout/4.2",
                                     .dedup =
                                         "switchyard/ws1/promotion_warning/experiment:checkout",
                                     .payload = PAYLOAD,
                                     .status = "pending"};
}

static sy_store_channel_t channel(const char *type, const char *config, const char *secrets)
{
    return (sy_store_channel_t){
        .id = 3, .workspace = 1, .type = type, .name = type, .config = config, .secrets = secrets};
}

/* The value of header `name` in m, or NULL. */
static const char *header_of(const sy_notify_message_t *m, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; m->headers[i]; i++)
        if (strncmp(m->headers[i], name, n) == 0 && m->headers[i][n] == ':')
            return m->headers[i] + n + 2;
    return NULL;
}

static void signature_matches_rfc4231(void **state)
{
    (void)state;
    char sig[72];
    sy_notify_sign("Jefe", "what do ya want for nothing?", sig); /* RFC 4231, test case 2 */
    assert_string_equal(sig,
                        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void webhook_is_signed_over_its_exact_body(void **state)
{
    (void)state;
    sy_store_notification_t n = note("trigger");
    sy_store_channel_t c = channel("webhook", "{\"url\":\"http://127.0.0.1:9/h\"}",
                                   "{\"secret\":\"0123456789abcdef\"}");
    sy_notify_message_t m;
    sy_err_t err = {0};
    assert_int_equal(sy_notify_message(&n, &c, 2, 1700000123, &m, &err), 0);
    assert_string_equal(m.url, "http://127.0.0.1:9/h");
    char want[72];
    sy_notify_sign("0123456789abcdef", m.body, want);
    assert_string_equal(header_of(&m, "X-Switchyard-Signature"), want);
    assert_string_equal(header_of(&m, "X-Switchyard-Timestamp"), "1700000123");
    assert_string_equal(header_of(&m, "Idempotency-Key"), n.key);
    json_error_t je;
    json_t *b = json_loads(m.body, 0, &je);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "id")), n.key);
    assert_int_equal(json_integer_value(json_object_get(b, "timestamp")), 1700000123);
    assert_int_equal(json_integer_value(json_object_get(b, "attempt")), 2);
    assert_int_equal(json_integer_value(json_object_get(b, "delivery")), 7);
    assert_string_equal(json_string_value(json_object_get(b, "title")),
                        "Promoted B of checkout to 100% (with warnings)");
    assert_null(strstr(m.body, "0123456789abcdef")); /* the secret signs, it is not sent */
    json_decref(b);
    sy_notify_message_free(&m);
}

static void slack_has_the_fields_and_warnings(void **state)
{
    (void)state;
    sy_store_notification_t n = note("trigger");
    sy_store_channel_t c = channel("slack", "{\"url\":\"https://hooks.slack.test/…\"}",
                                   "{\"url\":\"https://hooks.slack.test/T1/B2/x\"}");
    sy_notify_message_t m;
    assert_int_equal(sy_notify_message(&n, &c, 1, 1, &m, NULL), 0);
    assert_string_equal(m.url, "https://hooks.slack.test/T1/B2/x"); /* the secret one */
    json_error_t je;
    json_t *b = json_loads(m.body, 0, &je), *blocks = json_object_get(b, "blocks");
    assert_int_equal(json_array_size(blocks), 3);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(blocks, 0), "text"), "text")),
                        "Promoted B of checkout to 100% (with warnings)");
    const json_t *fields = json_object_get(json_array_get(blocks, 1), "fields");
    /* the sample per variant, in the order the experiment lists its variants */
    const char *want[] = {"*Experiment*\ncheckout", "*Winner*\nB",
                          "*Confidence*\n97.50%",   "*Improvement*\n+3.20%",
                          "*Sample size*\n1200",    "*Sample*\nA 590 \xc2\xb7 B 610",
                          "*State*\npromoted"};
    assert_int_equal(json_array_size(fields), 7);
    for (size_t i = 0; i < 7; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(fields, i), "text")),
                            want[i]);
    const char *warn = json_string_value(json_object_get(
        json_array_get(json_object_get(json_array_get(blocks, 2), "elements"), 0), "text"));
    assert_string_equal(warn, ":warning: fixed-horizon p-values");
    assert_non_null(strstr(json_string_value(json_object_get(b, "text")), ":warning: Promoted"));
    json_decref(b);
    sy_notify_message_free(&m);
}

static void pagerduty_triggers_and_resolves_one_dedup_key(void **state)
{
    (void)state;
    sy_store_channel_t c =
        channel("pagerduty", "{\"url\":\"http://127.0.0.1:9/pd\"}", "{\"routing_key\":\"RK\"}");
    for (int resolve = 0; resolve < 2; resolve++) {
        sy_store_notification_t n = note(resolve ? "resolve" : "trigger");
        sy_notify_message_t m;
        assert_int_equal(sy_notify_message(&n, &c, 1, 1, &m, NULL), 0);
        json_error_t je;
        json_t *b = json_loads(m.body, 0, &je);
        assert_string_equal(json_string_value(json_object_get(b, "routing_key")), "RK");
        assert_string_equal(json_string_value(json_object_get(b, "event_action")),
                            resolve ? "resolve" : "trigger");
        assert_string_equal(json_string_value(json_object_get(b, "dedup_key")), n.dedup);
        const json_t *p = json_object_get(b, "payload");
        if (!resolve) {
            assert_string_equal(json_string_value(json_object_get(p, "severity")), "warning");
            assert_string_equal(json_string_value(json_object_get(p, "class")),
                                "promotion_warning");
            assert_int_equal(json_integer_value(json_object_get(
                                 json_object_get(p, "custom_details"), "sample_size")),
                             1200);
        }
        json_decref(b);
        sy_notify_message_free(&m);
    }
}

static void email_is_a_crlf_message(void **state)
{
    (void)state;
    static const char payload[] =
        "{\"event\":\"rollback\",\"level\":\"critical\",\"action\":\"trigger\",\"workspace\":"
        "\"shop\",\"resource\":\"experiment:x\",\"title\":\"Rolled back x: caf\xc3\xa9\\n.dot\","
        "\"details\":{\"reason\":\"r\"},\"at_ms\":1}";
    sy_store_notification_t n = note("trigger");
    n.payload = payload;
    n.level = "critical";
    sy_store_channel_t c = channel("email",
                                   "{\"to\":\"oncall@example.test\",\"from\":\"sy@example.test\","
                                   "\"smtp_url\":\"smtp://127.0.0.1:2525\",\"username\":\"u\"}",
                                   "{\"password\":\"pw\"}");
    sy_notify_message_t m;
    assert_int_equal(sy_notify_message(&n, &c, 1, 0, &m, NULL), 0);
    assert_true(m.smtp);
    assert_string_equal(m.rcpt, "oncall@example.test");
    assert_string_equal(m.mail_from, "sy@example.test");
    assert_string_equal(m.username, "u");
    assert_string_equal(m.password, "pw");
    for (const char *p = m.body; *p; p++)
        if (*p == '\n')
            assert_true(p > m.body && p[-1] == '\r'); /* no bare LF */
    assert_non_null(strstr(m.body, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
    assert_non_null(strstr(m.body, "To: <oncall@example.test>\r\n"));
    /* a non-ASCII subject is RFC 2047, with the title's newline gone from the header */
    assert_non_null(strstr(m.body, "\r\nSubject: =?UTF-8?B?"));
    assert_non_null(
        strstr(m.body, "Message-ID: <ws1.promotion_warning.experiment.checkout.4.2@switchyard>"));
    assert_null(strstr(m.body, "pw"));
    sy_notify_message_free(&m);
}

static void bad_payload_is_refused(void **state)
{
    (void)state;
    sy_store_notification_t n = note("trigger");
    n.payload = "{\"no\":\"title\"}";
    sy_store_channel_t c = channel("slack", "{\"url\":\"https://h/\"}", "{}");
    sy_notify_message_t m;
    sy_err_t err = {0};
    assert_int_equal(sy_notify_message(&n, &c, 1, 1, &m, &err), -EINVAL);
    assert_null(m.body);
    sy_notify_message_free(NULL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signature_matches_rfc4231),
        cmocka_unit_test(webhook_is_signed_over_its_exact_body),
        cmocka_unit_test(slack_has_the_fields_and_warnings),
        cmocka_unit_test(pagerduty_triggers_and_resolves_one_dedup_key),
        cmocka_unit_test(email_is_a_crlf_message),
        cmocka_unit_test(bad_payload_is_refused),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
