/* test_route_api_json.c - the proxy routes' requests as the API reads them
 * (codec/route_api_json.h): a definition with the defaults of what it does not give and
 * whether percentage and enabled were given, the path's name for a replacement, every bad
 * member named (an unknown one, nested, as SY_EUNKNOWN); a report's rows with their
 * histograms and classes, its kinds refused by row; the answers written as the API has
 * always written them. */
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "codec/route_api_json.h"

static json_t *load(const char *text)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    if (!o)
        fail_msg("bad JSON in the test: %s", je.text);
    return o;
}

#define MINIMAL                                                                                    \
    "\"listen\":\"127.0.0.1:9000\",\"upstreams\":{\"legacy\":\"127.0.0.1:9101\","                  \
    "\"new\":{\"address\":\"127.0.0.1:9102\",\"keepalive\":3}}"

static void route_def_fills_the_defaults_and_says_what_was_given(void **state)
{
    (void)state;
    json_t *b = load("{\"name\":\"hooks\"," MINIMAL ",\"domains\":[{\"name\":\"jobs\","
                     "\"rules\":[{\"body_keywords\":{\"field\":\"m\",\"words\":[\"Job\"]}}]}]}");
    sy_route_def_t def;
    sy_routes_t *hold = NULL;
    sy_err_t err = {0};
    assert_int_equal(sy_route_def_read(b, NULL, &def, &hold, &err), 0);
    const sy_route_spec_t *s = def.spec;
    assert_string_equal(s->name, "hooks");
    assert_string_equal(s->path_prefix, "");
    assert_int_equal(s->up[SY_ROUTE_LEGACY].connect_timeout_ms, 1000);
    assert_int_equal(s->up[SY_ROUTE_NEW].keepalive, 3);
    assert_int_equal(s->up[SY_ROUTE_NEW].read_timeout_ms, 30000);
    assert_string_equal(s->domains[0].rules[0].words[0], "job"); /* lower-cased */
    assert_int_equal(s->inspect_body_bytes, 65536);
    assert_int_equal(s->health.max_p95_ms, 2000);
    assert_false(s->has_plan);
    assert_false(def.has_percentage);
    assert_false(def.has_enabled);
    sy_routes_free(hold);
    json_decref(b);

    b = load("{" MINIMAL ",\"percentage\":12.5,\"enabled\":false,\"plan\":{}}");
    assert_int_equal(sy_route_def_read(b, "from-path", &def, &hold, &err), 0);
    assert_string_equal(def.spec->name, "from-path");
    assert_true(def.has_percentage && def.has_enabled);
    assert_int_equal(def.spec->percentage_bp, 1250);
    assert_false(def.spec->enabled);
    assert_true(def.spec->has_plan);
    assert_int_equal(def.spec->plan.n_steps, 6); /* 10 25 35 50 75 100 */
    assert_int_equal(def.spec->plan.hold_s, 600);
    sy_routes_free(hold);
    json_decref(b);
}

/* `text` refused with `rc`, naming `field`, nothing held. */
static void def_refused(const char *text, const char *name, int rc, const char *field)
{
    json_t *b = load(text);
    sy_route_def_t def;
    sy_routes_t *hold = (sy_routes_t *)1;
    sy_err_t err = {0};
    assert_int_equal(sy_route_def_read(b, name, &def, &hold, &err), rc);
    assert_null(hold);
    assert_string_equal(err.field, field);
    json_decref(b);
}

static void route_def_names_every_bad_member(void **state)
{
    (void)state;
    def_refused("{" MINIMAL "}", NULL, -EINVAL, "name");
    def_refused("{\"name\":\"my route\"," MINIMAL "}", NULL, -EINVAL, "name");
    def_refused("{\"name\":\"a\"," MINIMAL ",\"colour\":1}", NULL, SY_EUNKNOWN, "colour");
    def_refused("{\"name\":\"a\"," MINIMAL ",\"sticky\":{\"query\":\"u\"}}", NULL, SY_EUNKNOWN,
                "sticky.query");
    def_refused("{\"name\":\"a\",\"upstreams\":{\"legacy\":\"127.0.0.1:1\",\"new\":\"x:2\"}}", NULL,
                -EINVAL, "listen");
    def_refused("{" MINIMAL ",\"percentage\":1.234}", "a", -EINVAL, "percentage");
    def_refused("{" MINIMAL ",\"enabled\":1}", "a", -EINVAL, "enabled");
    def_refused("{" MINIMAL ",\"inspect_body_bytes\":99999999}", "a", -EINVAL,
                "inspect_body_bytes");
    def_refused("{" MINIMAL ",\"breaker\":{\"window_ms\":5}}", "a", -EINVAL, "breaker.window_ms");
    def_refused("{" MINIMAL ",\"protected_domains\":[\"cars\"]}", "a", -EINVAL,
                "protected_domains");
    def_refused("{\"listen\":\"127.0.0.1:9000\",\"upstreams\":{\"legacy\":\"127.0.0.1:1\"}}", "a",
                -EINVAL, "upstreams.new");
}

#define ROW                                                                                        \
    "{\"domain\":\"jobs\",\"upstream\":\"new\",\"requests\":10,\"errors\":1,\"total_ms\":25.5"

static void route_report_reads_rows_with_their_histograms_and_classes(void **state)
{
    (void)state;
    json_t *b = load("{\"breaker\":\"open\",\"counters\":[" ROW ",\"hist\":{\"20\":4,\"159\":6},"
                     "\"status\":{\"2xx\":8,\"5xx\":2}},{\"upstream\":\"error\",\"tried\":\"new\","
                     "\"requests\":2,\"total_ms\":1}]}");
    sy_route_report_t r;
    sy_route_report_rows_t rows;
    sy_err_t err = {0};
    assert_int_equal(sy_route_report_read(b, &r, &rows, &err), 0);
    assert_string_equal(r.breaker, "open");
    assert_int_equal(r.n, 2);
    assert_string_equal(r.counters[0].domain, "jobs");
    assert_int_equal(r.counters[0].requests, 10);
    assert_int_equal(r.counters[0].errors, 1);
    assert_true(r.counters[0].total_ms == 25.5);
    assert_int_equal(r.counters[0].hist[20], 4);
    assert_int_equal(r.counters[0].hist[159], 6);
    assert_int_equal(r.counters[0].status[2], 8);
    assert_int_equal(r.counters[0].status[5], 2);
    assert_string_equal(r.counters[1].domain, ""); /* none given */
    assert_null(r.counters[1].hist);
    assert_string_equal(r.counters[1].tried, "new");
    sy_route_report_rows_free(&rows);
    json_decref(b);

    b = load("{}");
    assert_int_equal(sy_route_report_read(b, &r, &rows, &err), 0);
    assert_null(r.breaker);
    assert_int_equal(r.n, 0);
    sy_route_report_rows_free(&rows);
    json_decref(b);
}

static void report_refused(const char *text, int rc, const char *field)
{
    json_t *b = load(text);
    sy_route_report_t r;
    sy_route_report_rows_t rows;
    sy_err_t err = {0};
    assert_int_equal(sy_route_report_read(b, &r, &rows, &err), rc);
    assert_null(rows.c);
    assert_string_equal(err.field, field);
    json_decref(b);
}

static void route_report_refuses_kinds_by_row(void **state)
{
    (void)state;
    report_refused("{\"extra\":1}", SY_EUNKNOWN, "extra");
    report_refused("{\"breaker\":1}", -EINVAL, "breaker");
    report_refused("{\"counters\":{}}", -EINVAL, "counters");
    report_refused("{\"counters\":[" ROW "}," ROW ",\"p50\":1}]}", SY_EUNKNOWN, "counters[1].p50");
    report_refused("{\"counters\":[" ROW ",\"hist\":{\"160\":1}}]}", -EINVAL, "counters[0]");
    report_refused("{\"counters\":[" ROW ",\"status\":{\"6xx\":1}}]}", -EINVAL, "counters[0]");
    report_refused("{\"counters\":[{\"upstream\":\"new\",\"requests\":\"1\",\"total_ms\":1}]}",
                   -EINVAL, "counters[0]");
    report_refused("{\"counters\":[{\"upstream\":\"new\",\"requests\":1}]}", -EINVAL,
                   "counters[0]");
}

static void route_answers_are_written_as_the_api_has_always_written_them(void **state)
{
    (void)state;
    sy_route_window_row_t rows[2] = {
        {.domain = "",
         .upstream = "new",
         .tried = "new",
         .requests = 10,
         .errors = 1,
         .status = {[2] = 8, [5] = 2},
         .avg_ms = 2.5,
         .p50_ms = 1,
         .p95_ms = 4,
         .p99_ms = 5},
        {.domain = "jobs", .upstream = "error", .tried = "legacy", .requests = 2, .errors = 2},
    };
    json_t *w = sy_route_window_json(rows, 2);
    char *text = json_dumps(w, JSON_COMPACT);
    assert_string_equal(
        text, "{\"requests\":12,\"by\":[{\"domain\":null,\"upstream\":\"new\",\"tried\":\"new\","
              "\"requests\":10,\"errors\":1,\"status\":{\"2xx\":8,\"5xx\":2},\"avg_ms\":2.5,"
              "\"p50_ms\":1.0,\"p95_ms\":4.0,\"p99_ms\":5.0},{\"domain\":\"jobs\",\"upstream\":"
              "\"error\",\"tried\":\"legacy\",\"requests\":2,\"errors\":2,\"status\":{},"
              "\"avg_ms\":0.0,\"p50_ms\":0.0,\"p95_ms\":0.0,\"p99_ms\":0.0}]}");
    free(text);
    json_decref(w);
    sy_route_report_answer_t a = {.counters = 2, .breaker = "half_open"};
    w = sy_route_report_json("hooks", &a);
    text = json_dumps(w, JSON_COMPACT);
    assert_string_equal(text, "{\"route\":\"hooks\",\"counters\":2,\"breaker\":\"half_open\"}");
    free(text);
    json_decref(w);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(route_def_fills_the_defaults_and_says_what_was_given),
        cmocka_unit_test(route_def_names_every_bad_member),
        cmocka_unit_test(route_report_reads_rows_with_their_histograms_and_classes),
        cmocka_unit_test(route_report_refuses_kinds_by_row),
        cmocka_unit_test(route_answers_are_written_as_the_api_has_always_written_them),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
