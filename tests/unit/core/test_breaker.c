/* test_breaker.c - the circuit breaker (core/breaker.h) on a fake clock: consecutive
 * failures open it, an error rate over the window opens it only with enough requests,
 * old slots leave the window, open refuses until open_ms, half-open lets `probes`
 * through, closes after that many successes and opens again on one failure, and the
 * config checks. */
#include <errno.h>

#include "../harness.h"
#include "core/breaker.h"

static void consecutive_failures_open_it(void **state)
{
    (void)state;
    sy_breaker_config_t c = SY_BREAKER_DEFAULTS;
    sy_breaker_t b = sy_breaker_new();
    int64_t t = 1000;
    for (int i = 0; i < 4; i++) {
        assert_true(sy_breaker_allow(&b, &c, t));
        assert_int_equal(sy_breaker_record(&b, &c, false, t), -1);
    }
    assert_int_equal(sy_breaker_record(&b, &c, true, t), -1); /* a success resets the run */
    for (int i = 0; i < 4; i++)
        assert_int_equal(sy_breaker_record(&b, &c, false, t), -1);
    assert_int_equal(sy_breaker_record(&b, &c, false, t), SY_BREAKER_OPEN); /* the fifth */
    assert_false(sy_breaker_allow(&b, &c, t));
    assert_false(sy_breaker_allow(&b, &c, t + c.open_ms - 1));
    assert_true(sy_breaker_allow(&b, &c, t + c.open_ms)); /* half-open: a probe */
    assert_int_equal(b.state, SY_BREAKER_HALF_OPEN);
}

static void an_error_rate_opens_it_with_enough_requests(void **state)
{
    (void)state;
    sy_breaker_config_t c = SY_BREAKER_DEFAULTS; /* 50 % of at least 20 */
    c.consecutive_failures = 1000;
    sy_breaker_t b = sy_breaker_new();
    int64_t t = 5000;
    for (int i = 0; i < 9; i++) { /* 9 of 18 failed: 50 %, but too few */
        assert_int_equal(sy_breaker_record(&b, &c, false, t), -1);
        assert_int_equal(sy_breaker_record(&b, &c, true, t), -1);
    }
    assert_int_equal(sy_breaker_record(&b, &c, true, t), -1);               /* 9 of 19 */
    assert_int_equal(sy_breaker_record(&b, &c, false, t), SY_BREAKER_OPEN); /* 10 of 20 */
    /* outcomes older than the window no longer count */
    b = sy_breaker_new();
    for (int i = 0; i < 15; i++)
        sy_breaker_record(&b, &c, false, t);
    for (int i = 0; i < 15; i++)
        assert_int_equal(sy_breaker_record(&b, &c, true, t + c.window_ms), -1);
    int64_t n;
    assert_close(sy_breaker_error_rate(&b, &c, t + c.window_ms, &n), 0, 0, 1e-12);
    assert_int_equal(n, 15);
}

static void half_open_probes_close_or_reopen_it(void **state)
{
    (void)state;
    sy_breaker_config_t c = SY_BREAKER_DEFAULTS;
    sy_breaker_t b = sy_breaker_new();
    int64_t t = 100;
    for (int i = 0; i < 5; i++)
        sy_breaker_record(&b, &c, false, t);
    assert_int_equal(b.state, SY_BREAKER_OPEN);
    t += c.open_ms;
    for (int i = 0; i < 3; i++)
        assert_true(sy_breaker_allow(&b, &c, t));
    assert_false(sy_breaker_allow(&b, &c, t)); /* three probes at a time */
    assert_int_equal(sy_breaker_record(&b, &c, true, t), -1);
    assert_int_equal(sy_breaker_record(&b, &c, false, t), SY_BREAKER_OPEN); /* one fails */
    assert_false(sy_breaker_allow(&b, &c, t + 1));
    t += c.open_ms;
    for (int i = 0; i < 3; i++) {
        assert_true(sy_breaker_allow(&b, &c, t));
        assert_int_equal(sy_breaker_record(&b, &c, true, t), i == 2 ? SY_BREAKER_CLOSED : -1);
    }
    assert_int_equal(b.state, SY_BREAKER_CLOSED);
    int64_t n;
    sy_breaker_error_rate(&b, &c, t, &n);
    assert_int_equal(n, 0); /* closed with an empty window */
    assert_true(sy_breaker_allow(&b, &c, t));
    assert_string_equal(sy_breaker_state_name(SY_BREAKER_HALF_OPEN), "half_open");
}

static void the_config_is_checked(void **state)
{
    (void)state;
    sy_breaker_config_t c = SY_BREAKER_DEFAULTS;
    sy_err_t err = {0};
    assert_int_equal(sy_breaker_check(&c, &err), 0);
    c.error_rate = 0;
    assert_int_equal(sy_breaker_check(&c, &err), -EINVAL);
    assert_string_equal(err.field, "error_rate");
    c = SY_BREAKER_DEFAULTS;
    c.window_ms = 5;
    assert_int_equal(sy_breaker_check(&c, &err), -EINVAL);
    assert_string_equal(err.field, "window_ms");
    c = SY_BREAKER_DEFAULTS;
    c.probes = 0;
    assert_int_equal(sy_breaker_check(&c, &err), -EINVAL);
    assert_string_equal(err.field, "probes");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(consecutive_failures_open_it),
        cmocka_unit_test(an_error_rate_opens_it_with_enough_requests),
        cmocka_unit_test(half_open_probes_close_or_reopen_it),
        cmocka_unit_test(the_config_is_checked),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
