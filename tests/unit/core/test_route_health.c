/* test_route_health.c - the route health rule (core/route_health.h) at its boundaries:
 * the issue-10 defaults (error rate < 0.1 %, p95 < 2 s) fail at exactly 0.1 % and exactly
 * 2000 ms and hold just below; too few requests are no evidence (neither failing nor
 * enough); no requests is a rate of 0. */
#include "../harness.h"
#include "core/route_health.h"

static const sy_route_gates_t defaults = {.max_error_rate = 0.001, .max_p95_ms = 2000};

static sy_route_health_t seen(int64_t n, int64_t e, double p95)
{
    return (sy_route_health_t){.requests = n, .errors = e, .p95_ms = p95};
}

static void an_error_rate_at_the_gate_fails_it_and_below_holds(void **state)
{
    (void)state;
    sy_route_health_t h = seen(1000, 1, 10); /* 0.1 %: the gate is "under 0.1 %" */
    sy_route_verdict_t v = sy_route_judge(&defaults, &h, 1);
    assert_close(v.error_rate, 0.001, 0, 1e-15);
    assert_true(v.enough);
    assert_false(v.rate_ok);
    assert_true(v.p95_ok);
    assert_true(v.failing);
    h = seen(1001, 1, 10); /* 0.0999 % */
    v = sy_route_judge(&defaults, &h, 1);
    assert_true(v.rate_ok);
    assert_false(v.failing);
}

static void a_p95_at_the_gate_fails_it_and_below_holds(void **state)
{
    (void)state;
    sy_route_health_t h = seen(500, 0, 2000);
    sy_route_verdict_t v = sy_route_judge(&defaults, &h, 1);
    assert_false(v.p95_ok);
    assert_true(v.rate_ok);
    assert_true(v.failing);
    h = seen(500, 0, 1999.9);
    v = sy_route_judge(&defaults, &h, 1);
    assert_true(v.p95_ok);
    assert_false(v.failing);
}

static void too_few_requests_are_no_evidence(void **state)
{
    (void)state;
    sy_route_health_t h = seen(99, 99, 5000); /* everything failing, one short of 100 */
    sy_route_verdict_t v = sy_route_judge(&defaults, &h, 100);
    assert_false(v.enough);
    assert_false(v.failing);
    assert_false(v.rate_ok); /* the gates are still reported as they stand */
    h = seen(100, 99, 5000);
    v = sy_route_judge(&defaults, &h, 100);
    assert_true(v.enough);
    assert_true(v.failing);
}

static void no_requests_is_a_rate_of_zero_and_never_enough(void **state)
{
    (void)state;
    sy_route_health_t h = seen(0, 0, 0);
    sy_route_verdict_t v = sy_route_judge(&defaults, &h, 0); /* 0 is taken as 1 */
    assert_close(v.error_rate, 0, 0, 0);
    assert_false(v.enough);
    assert_false(v.failing);
    assert_true(v.rate_ok);
    assert_true(v.p95_ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_error_rate_at_the_gate_fails_it_and_below_holds),
        cmocka_unit_test(a_p95_at_the_gate_fails_it_and_below_holds),
        cmocka_unit_test(too_few_requests_are_no_evidence),
        cmocka_unit_test(no_requests_is_a_rate_of_zero_and_never_enough),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
