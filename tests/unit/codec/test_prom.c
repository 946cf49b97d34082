/* test_prom.c - the Prometheus and OpenMetrics text formats (codec/prom.h): families,
 * escaping, numbers written shortest and exact, cumulative histogram buckets, and what the
 * two formats do differently. */
#include <string.h>

#include "../harness.h"
#include "codec/prom.h"

static char *written(bool om, void (*fill)(sy_prom_t *p))
{
    static char buf[4096];
    sy_text_t t;
    sy_text_init(&t, buf, sizeof(buf) - 1);
    sy_prom_t p = {.t = &t, .openmetrics = om};
    fill(&p);
    sy_prom_end(&p);
    assert_false(t.failed);
    assert_false(t.heap);
    buf[t.len] = '\0';
    return buf;
}

static void counter(sy_prom_t *p)
{
    sy_prom_family(p, "sy_requests_total", SY_PROM_COUNTER, "Requests\\served\nnow.");
    sy_prom_sample(p, "sy_requests_total",
                   (sy_prom_label_t[]){{"flag", "a\"b\\c\nd"}, {"reason", "STATIC"}}, 2, 42);
    sy_prom_sample(p, "sy_requests_total", NULL, 0, 1e300);
}

static void text_format(void **state)
{
    (void)state;
    assert_string_equal(written(false, counter),
                        "# HELP sy_requests_total Requests\\\\served\\nnow.\n"
                        "# TYPE sy_requests_total counter\n"
                        "sy_requests_total{flag=\"a\\\"b\\\\c\\nd\",reason=\"STATIC\"} 42\n"
                        "sy_requests_total 1e+300\n");
}

static void openmetrics_format(void **state)
{
    (void)state;
    /* the family is named without _total; the samples keep it; # EOF ends it */
    assert_string_equal(written(true, counter),
                        "# HELP sy_requests Requests\\\\served\\nnow.\n"
                        "# TYPE sy_requests counter\n"
                        "sy_requests_total{flag=\"a\\\"b\\\\c\\nd\",reason=\"STATIC\"} 42\n"
                        "sy_requests_total 1e+300\n"
                        "# EOF\n");
}

static void values(sy_prom_t *p)
{
    sy_prom_family(p, "g", SY_PROM_GAUGE, "h");
    sy_prom_sample(p, "g", NULL, 0, 0.1);
    sy_prom_sample(p, "g", NULL, 0, 0.0001);
    sy_prom_sample(p, "g", NULL, 0, 1.0 / 3);
    sy_prom_sample(p, "g", NULL, 0, 9007199254740993.0); /* past 2^53: not an integer */
    sy_prom_sample(p, "g", NULL, 0, -INFINITY);
    sy_prom_sample(p, "g", NULL, 0, NAN);
    sy_prom_sample(p, "g", NULL, 0, -3);
    /* integers are written digit by digit: zero, a carry, both ends below 2^53 */
    sy_prom_sample(p, "g", NULL, 0, 0);
    sy_prom_sample(p, "g", NULL, 0, 10);
    sy_prom_sample(p, "g", NULL, 0, 9007199254740991.0);
    sy_prom_sample(p, "g", NULL, 0, -9007199254740991.0);
}

static void numbers(void **state)
{
    (void)state;
    assert_string_equal(written(false, values), "# HELP g h\n# TYPE g gauge\n"
                                                "g 0.1\ng 0.0001\ng 0.3333333333333333\n"
                                                "g 9007199254740992\ng -Inf\ng NaN\ng -3\n"
                                                "g 0\ng 10\ng 9007199254740991\n"
                                                "g -9007199254740991\n");
}

static void histo(sy_prom_t *p)
{
    sy_prom_family(p, "lat_seconds", SY_PROM_HISTOGRAM, "h");
    sy_prom_histogram(p, "lat_seconds", (sy_prom_label_t[]){{"kind", "x"}}, 1,
                      (const double[]){0.001, 0.25}, (const int64_t[]){2, 3}, 2, 0.5);
    sy_prom_histogram(p, "lat_seconds", NULL, 0, (const double[]){1, INFINITY},
                      (const int64_t[]){1, 1}, 2, 7);
}

static void histogram(void **state)
{
    (void)state;
    /* buckets cumulative; a +Inf bucket added when the bounds have none */
    assert_string_equal(written(false, histo), "# HELP lat_seconds h\n"
                                               "# TYPE lat_seconds histogram\n"
                                               "lat_seconds_bucket{kind=\"x\",le=\"0.001\"} 2\n"
                                               "lat_seconds_bucket{kind=\"x\",le=\"0.25\"} 5\n"
                                               "lat_seconds_bucket{kind=\"x\",le=\"+Inf\"} 5\n"
                                               "lat_seconds_sum{kind=\"x\"} 0.5\n"
                                               "lat_seconds_count{kind=\"x\"} 5\n"
                                               "lat_seconds_bucket{le=\"1\"} 1\n"
                                               "lat_seconds_bucket{le=\"+Inf\"} 2\n"
                                               "lat_seconds_sum 7\n"
                                               "lat_seconds_count 2\n");
}

static void bad_utf8(sy_prom_t *p)
{
    sy_prom_sample(p, "g",
                   (sy_prom_label_t[]){{"flag", "\xff"
                                                "ok\xc3\xa9"}},
                   1, 1);
}

static void label_bytes(void **state)
{
    (void)state;
    assert_string_equal(written(false, bad_utf8), "g{flag=\"\xef\xbf\xbdok\xc3\xa9\"} 1\n");
}

static void negotiation(void **state)
{
    (void)state;
    assert_true(sy_prom_wants_openmetrics("application/openmetrics-text; version=1.0.0"));
    assert_false(sy_prom_wants_openmetrics("text/plain"));
    assert_false(sy_prom_wants_openmetrics(NULL));
    /* as Prometheus asks for it */
    assert_true(sy_prom_wants_openmetrics("application/openmetrics-text;version=1.0.0,"
                                          "application/openmetrics-text;version=0.0.1;q=0.75,"
                                          "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
    assert_true(sy_prom_wants_openmetrics("APPLICATION/OpenMetrics-Text"));
    assert_false(sy_prom_wants_openmetrics("application/openmetrics-text;q=0"));
    assert_false(sy_prom_wants_openmetrics("text/plain;q=1, application/openmetrics-text;q=0.1"));
    assert_false(sy_prom_wants_openmetrics("xapplication/openmetrics-text"));
    assert_false(sy_prom_wants_openmetrics("*/*"));
    sy_prom_t p = {.openmetrics = true};
    assert_non_null(strstr(sy_prom_content_type(&p), "openmetrics-text"));
    p.openmetrics = false;
    assert_non_null(strstr(sy_prom_content_type(&p), "version=0.0.4"));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(text_format), cmocka_unit_test(openmetrics_format),
    cmocka_unit_test(numbers),     cmocka_unit_test(histogram),
    cmocka_unit_test(label_bytes), cmocka_unit_test(negotiation),
};
SY_TEST_MAIN(tests)
