/* test_route_series.c - a route's counters over time (core/route_series.h): buckets
 * aligned to multiples of the step, ceil(window / step) of them ending with the current
 * minute's; histograms merged exactly (a bucket's quantiles are those of all its minutes
 * together, not an average of theirs); the bounds on window and step. */
#include <string.h>

#include "../harness.h"
#include "core/route_series.h"

static void buckets_are_aligned_to_the_step_and_end_with_the_current_minute(void **state)
{
    (void)state;
    sy_series_plan_t p;
    /* minute 1003, a 60-minute window in 5-minute buckets: 12 buckets, the last [1000, 1005) */
    assert_int_equal(sy_series_plan(1003, 60, 5, &p, NULL), 0);
    assert_int_equal(p.points, 12);
    assert_int_equal(p.step_min, 5);
    assert_int_equal(p.first_min, 1000 - 11 * 5);
    assert_int_equal(p.first_min % 5, 0);
    assert_int_equal(sy_series_index(&p, 1003), 11);
    assert_int_equal(sy_series_index(&p, 1000), 11);
    assert_int_equal(sy_series_index(&p, 999), 10);
    assert_int_equal(sy_series_index(&p, p.first_min), 0);
    assert_int_equal(sy_series_index(&p, p.first_min - 1), -1);
    assert_int_equal(sy_series_index(&p, 1005), -1); /* the future has no bucket */
    /* a window that is not whole steps is rounded up to them: 7 minutes in 5s are 2 */
    assert_int_equal(sy_series_plan(1003, 7, 5, &p, NULL), 0);
    assert_int_equal(p.points, 2);
    assert_int_equal(p.first_min, 995);
    /* step 1: one bucket a minute, the window's minutes exactly */
    assert_int_equal(sy_series_plan(1003, 60, 1, &p, NULL), 0);
    assert_int_equal(p.points, 60);
    assert_int_equal(p.first_min, 1003 - 59);
}

static void the_same_minute_lands_in_the_same_bucket_whenever_asked(void **state)
{
    (void)state;
    sy_series_plan_t a, b;
    assert_int_equal(sy_series_plan(7201, 360, 60, &a, NULL), 0);
    assert_int_equal(sy_series_plan(7259, 360, 60, &b, NULL), 0);
    assert_int_equal(a.first_min, b.first_min);
    assert_int_equal(a.first_min % 60, 0);
    for (int64_t m = a.first_min; m < a.first_min + 360; m++)
        assert_int_equal(sy_series_index(&a, m), sy_series_index(&b, m));
}

static void bad_windows_and_steps_are_refused_naming_them(void **state)
{
    (void)state;
    sy_series_plan_t p = {.first_min = 42, .step_min = 7, .points = 3};
    sy_err_t err = {0};
    assert_int_equal(sy_series_plan(1000, 0, 1, &p, &err), -EINVAL);
    assert_string_equal(err.field, "window");
    assert_int_equal(sy_series_plan(1000, 60, 0, &p, &err), -EINVAL);
    assert_string_equal(err.field, "step");
    assert_int_equal(sy_series_plan(1000, 60, 61, &p, &err), -EINVAL);
    assert_string_equal(err.field, "step");
    /* 7 days in minutes: 10,080 buckets; the least step that fits is 11 minutes */
    assert_int_equal(sy_series_plan(100000, 7 * 1440, 1, &p, &err), -EINVAL);
    assert_string_equal(err.field, "step");
    assert_non_null(strstr(err.msg, "at least 11m"));
    assert_int_equal(sy_series_plan(100000, 7 * 1440, 10, &p, &err), -EINVAL);
    assert_int_equal(sy_series_plan(100000, 7 * 1440, 11, &p, &err), 0);
    assert_int_equal(p.points, 917);
    /* exactly 1,000 buckets is allowed, 1,001 is not */
    assert_int_equal(sy_series_plan(100000, 1000, 1, &p, NULL), 0);
    assert_int_equal(p.points, SY_SERIES_MAX_POINTS);
    sy_series_plan_t kept = p;
    assert_int_equal(sy_series_plan(100000, 1001, 1, &p, &err), -EINVAL);
    assert_memory_equal(&p, &kept, sizeof(p)); /* a refusal leaves *out alone */
}

/* A histogram of the latencies in ms given. */
static void fill(int64_t *hist, const double *ms, size_t n)
{
    memset(hist, 0, sizeof(int64_t) * SY_LAT_BUCKETS);
    for (size_t i = 0; i < n; i++)
        hist[sy_lat_bucket(ms[i])]++;
}

static void merged_histograms_give_the_quantiles_of_all_latencies_together(void **state)
{
    (void)state;
    /* minute A: 90 fast requests (1 ms); minute B: 10 slow ones (100 ms). The p95 of the
     * two together is a slow one; an average of the two minutes' p95s (1 and 100 ms)
     * would be 50.5 ms, which no request took. */
    double fast[90], slow[10], all[100];
    for (int i = 0; i < 90; i++)
        all[i] = fast[i] = 1.0;
    for (int i = 0; i < 10; i++)
        all[90 + i] = slow[i] = 100.0;
    int64_t ha[SY_LAT_BUCKETS], hb[SY_LAT_BUCKETS], hall[SY_LAT_BUCKETS];
    fill(ha, fast, 90);
    fill(hb, slow, 10);
    fill(hall, all, 100);
    sy_series_cell_t c = {0};
    sy_series_cell_add(&c, 90, 0, ha);
    sy_series_cell_add(&c, 10, 3, hb);
    assert_memory_equal(c.hist, hall, sizeof(hall)); /* bucket by bucket: exact */
    sy_series_point_t p = sy_series_cell_point(&c);
    assert_int_equal(p.requests, 100);
    assert_int_equal(p.errors, 3);
    assert_close(p.error_rate, 0.03, 0, 1e-15);
    assert_close(p.p50_ms, sy_lat_quantile(hall, 100, 0.5), 0, 0);
    assert_close(p.p95_ms, sy_lat_quantile(hall, 100, 0.95), 0, 0);
    assert_close(p.p99_ms, sy_lat_quantile(hall, 100, 0.99), 0, 0);
    assert_true(p.p50_ms >= 1.0 && p.p50_ms < 1.1); /* within a bucket's 10 % */
    assert_true(p.p95_ms >= 100.0 && p.p95_ms < 110.0);
    /* the order the minutes come in changes nothing */
    sy_series_cell_t d = {0};
    sy_series_cell_add(&d, 10, 3, hb);
    sy_series_cell_add(&d, 90, 0, ha);
    assert_memory_equal(&c, &d, sizeof(c));
}

static void an_empty_bucket_has_no_rate_and_no_latency(void **state)
{
    (void)state;
    sy_series_cell_t c = {0};
    sy_series_cell_add(&c, 0, 0, NULL);
    sy_series_point_t p = sy_series_cell_point(&c);
    assert_int_equal(p.requests, 0);
    assert_close(p.error_rate, 0, 0, 0);
    assert_close(p.p50_ms, 0, 0, 0);
    assert_close(p.p99_ms, 0, 0, 0);
}

static void upstreams_are_named_legacy_new_and_error(void **state)
{
    (void)state;
    assert_int_equal(sy_series_upstream("legacy"), SY_SERIES_LEGACY);
    assert_int_equal(sy_series_upstream("new"), SY_SERIES_NEW);
    assert_int_equal(sy_series_upstream("error"), SY_SERIES_ERROR);
    assert_int_equal(sy_series_upstream("News"), -1);
    assert_int_equal(sy_series_upstream(""), -1);
    assert_int_equal(sy_series_upstream(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buckets_are_aligned_to_the_step_and_end_with_the_current_minute),
        cmocka_unit_test(the_same_minute_lands_in_the_same_bucket_whenever_asked),
        cmocka_unit_test(bad_windows_and_steps_are_refused_naming_them),
        cmocka_unit_test(merged_histograms_give_the_quantiles_of_all_latencies_together),
        cmocka_unit_test(an_empty_bucket_has_no_rate_and_no_latency),
        cmocka_unit_test(upstreams_are_named_legacy_new_and_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
