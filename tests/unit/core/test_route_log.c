/* test_route_log.c - the route's recent-request records (core/route_log.h): what is an
 * error record, the query's filters (upstream, errors only, domain), and the merge of the
 * workers' rings, newest first, cut at the limit, stable on equal times. */
#include <string.h>

#include "../harness.h"
#include "core/route_log.h"

static sy_route_log_rec_t rec(int64_t at, int upstream, const char *domain, const char *msg)
{
    sy_route_log_rec_t r = {.at_ms = at, .upstream = (uint8_t)upstream, .status = 200};
    snprintf(r.domain, sizeof(r.domain), "%s", domain);
    snprintf(r.error_message, sizeof(r.error_message), "%s", msg);
    return r;
}

static void an_error_record_is_one_with_a_message(void **state)
{
    (void)state;
    sy_route_log_rec_t ok = rec(1, SY_ROUTE_NEW, "", "");
    sy_route_log_rec_t fell = rec(1, SY_ROUTE_LEGACY, "", "new 127.0.0.1:9102: cannot connect");
    fell.fallback = true; /* served by legacy with a 200, but new failed it */
    assert_false(sy_route_log_is_error(&ok));
    assert_true(sy_route_log_is_error(&fell));
}

static void the_query_filters_by_upstream_errors_and_domain(void **state)
{
    (void)state;
    sy_route_log_rec_t jobs_new = rec(1, SY_ROUTE_NEW, "jobs", "");
    sy_route_log_rec_t none_err = rec(1, SY_ROUTE_UPSTREAMS, "", "new x: did not answer in time");
    sy_route_log_query_t q = {.limit = 10, .upstream = -1};
    assert_true(sy_route_log_matches(&q, &jobs_new));
    assert_true(sy_route_log_matches(&q, &none_err));
    q.upstream = SY_ROUTE_NEW;
    assert_true(sy_route_log_matches(&q, &jobs_new));
    assert_false(sy_route_log_matches(&q, &none_err));
    q = (sy_route_log_query_t){.limit = 10, .upstream = -1, .errors_only = true};
    assert_false(sy_route_log_matches(&q, &jobs_new));
    assert_true(sy_route_log_matches(&q, &none_err));
    q = (sy_route_log_query_t){.limit = 10, .upstream = -1, .domain = "jobs"};
    assert_true(sy_route_log_matches(&q, &jobs_new));
    assert_false(sy_route_log_matches(&q, &none_err));
    q.domain = ""; /* requests of no domain */
    assert_false(sy_route_log_matches(&q, &jobs_new));
    assert_true(sy_route_log_matches(&q, &none_err));
}

static void rings_merge_newest_first_up_to_the_limit(void **state)
{
    (void)state;
    sy_route_log_rec_t a[] = {rec(50, 0, "a0", ""), rec(30, 0, "a1", ""), rec(30, 0, "a2", ""),
                              rec(10, 0, "a3", "")};
    sy_route_log_rec_t b[] = {rec(40, 1, "b0", ""), rec(30, 1, "b1", ""), rec(5, 1, "b2", "")};
    const sy_route_log_rec_t *runs[] = {a, b, NULL};
    size_t lens[] = {4, 3, 0}, pos[3];
    sy_route_log_rec_t out[8];
    size_t n = sy_route_log_merge(runs, lens, 3, pos, out, 8);
    assert_int_equal(n, 7);
    const char *want[] = {"a0", "b0", "a1", "a2", "b1", "a3", "b2"}; /* ties: run order */
    for (size_t i = 0; i < n; i++)
        assert_string_equal(out[i].domain, want[i]);
    n = sy_route_log_merge(runs, lens, 3, pos, out, 3); /* the limit cuts the oldest */
    assert_int_equal(n, 3);
    assert_string_equal(out[2].domain, "a1");
    assert_int_equal(sy_route_log_merge(runs, (size_t[]){0, 0, 0}, 3, pos, out, 8), 0);
}

static void upstream_names_go_both_ways(void **state)
{
    (void)state;
    for (int u = 0; u < 3; u++)
        assert_int_equal(sy_route_log_upstream_of(sy_route_log_upstream_name(u)), u);
    assert_int_equal(sy_route_log_upstream_of("both"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(an_error_record_is_one_with_a_message),
        cmocka_unit_test(the_query_filters_by_upstream_errors_and_domain),
        cmocka_unit_test(rings_merge_newest_first_up_to_the_limit),
        cmocka_unit_test(upstream_names_go_both_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
