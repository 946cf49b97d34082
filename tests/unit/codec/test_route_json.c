/* test_route_json.c - a route's JSON into the typed contract (codec/route_json.h): every
 * field carried typed, a misspelt, unknown or missing key an error naming it (never a
 * default), wrong types and out-of-range values refused, more than 64 domains keeping
 * every flag, and `switchyard proxy`'s whole answer with its kill switch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "codec/route_json.h"

/* A route as GET /v1/routes/{name} shows it. */
static const char *const ROUTE =
    "{\"name\": \"webhooks\", \"listen\": \"127.0.0.1:8081\", \"path_prefix\": \"/hooks\","
    " \"upstreams\": {\"legacy\": {\"address\": \"127.0.0.1:9001\", \"connect_timeout_ms\": 1000,"
    "   \"read_timeout_ms\": 30000, \"keepalive\": 32},"
    "  \"new\": {\"address\": \"[::1]:9002\", \"connect_timeout_ms\": 250,"
    "   \"read_timeout_ms\": 5000, \"keepalive\": 0}},"
    " \"percentage\": 25.5, \"enabled\": true,"
    " \"domains\": [{\"name\": \"jobs\", \"rules\": [{\"body_keywords\": {\"field\": \"message\","
    "   \"words\": [\"job\", \"hiring\"]}}, {\"header\": {\"name\": \"X-Domain\", \"value\": "
    "\"jobs\"}}]},"
    "  {\"name\": \"mobility\", \"rules\": [{\"path_prefix\": \"/ride\"}]},"
    "  {\"name\": \"buttons\", \"rules\": [{\"body_field\": \"payload.actions\"}]}],"
    " \"protected_domains\": [\"mobility\"], \"routable_domains\": [\"jobs\", \"buttons\"],"
    " \"prod_exec_domains\": [\"buttons\"], \"sticky\": {\"cookie\": \"uid\"},"
    " \"breaker\": {\"consecutive_failures\": 5, \"error_rate\": 0.5, \"min_requests\": 20,"
    "   \"window_ms\": 10000, \"open_ms\": 300, \"probes\": 3},"
    " \"health\": {\"max_error_rate\": 0.01, \"max_p95_ms\": 1500},"
    " \"plan\": {\"steps\": [10, 25.5, 100], \"hold_s\": 60, \"min_requests\": 50},"
    " \"inspect_body_bytes\": 4096, \"retry_non_idempotent\": true,"
    " \"created_ms\": 1700000000000, \"updated_ms\": 1700000000500}";

static json_t *load(const char *text)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    if (!o)
        fail_msg("bad JSON in the test: %s", je.text);
    return o;
}

/* Decodes `o` (taken) alone: the return, with *rs and err filled. */
static int decode(json_t *o, sy_routes_t **rs, sy_err_t *err)
{
    *rs = sy_routes_new();
    assert_non_null(*rs);
    int rc = sy_route_spec_from_json(o, 7, false, *rs, err);
    json_decref(o);
    return rc;
}

/* ROUTE with `key` of object `at` (NULL: the top) set to `v` (taken; NULL deletes it),
 * decoded: the error's field when it is refused ("" when taken). */
static void refused(const char *at, const char *key, json_t *v, const char *want_field)
{
    json_t *o = load(ROUTE);
    json_t *in = at ? json_object_get(o, at) : o;
    if (at && strchr(at, '.')) { /* "upstreams.new" */
        char a[32];
        snprintf(a, sizeof(a), "%s", at);
        *strchr(a, '.') = '\0';
        in = json_object_get(json_object_get(o, a), strchr(at, '.') + 1);
    }
    if (v)
        json_object_set_new(in, key, v);
    else
        json_object_del(in, key);
    sy_routes_t *rs;
    sy_err_t err = {0};
    int rc = decode(o, &rs, &err);
    if (rc != -EINVAL && rc != SY_EUNKNOWN) /* a value, or a member, it does not take */
        fail_msg("%s%s%s: rc %d, want -EINVAL or SY_EUNKNOWN", at ? at : "", at ? "." : "", key,
                 rc);
    assert_string_equal(err.field, want_field);
    assert_true(err.msg[0]);
    assert_int_equal(rs->n, 0);
    sy_routes_free(rs);
}

static void route_json_carries_every_field_typed(void **state)
{
    (void)state;
    sy_routes_t *rs;
    sy_err_t err = {0};
    if (decode(load(ROUTE), &rs, &err) < 0)
        fail_msg("%s: %s", err.field, err.msg);
    assert_int_equal(rs->n, 1);
    const sy_route_spec_t *s = &rs->r[0];
    assert_int_equal(s->ws, 7);
    assert_false(s->killed);
    assert_string_equal(s->name, "webhooks");
    assert_string_equal(s->listen, "127.0.0.1:8081");
    assert_string_equal(s->path_prefix, "/hooks");
    assert_string_equal(s->up[SY_ROUTE_LEGACY].address, "127.0.0.1:9001");
    assert_int_equal(s->up[SY_ROUTE_LEGACY].connect_timeout_ms, 1000);
    assert_int_equal(s->up[SY_ROUTE_LEGACY].read_timeout_ms, 30000);
    assert_int_equal(s->up[SY_ROUTE_LEGACY].keepalive, 32);
    assert_string_equal(s->up[SY_ROUTE_NEW].address, "[::1]:9002");
    assert_int_equal(s->up[SY_ROUTE_NEW].connect_timeout_ms, 250);
    assert_int_equal(s->up[SY_ROUTE_NEW].read_timeout_ms, 5000);
    assert_int_equal(s->up[SY_ROUTE_NEW].keepalive, 0);
    assert_int_equal(s->percentage_bp, 2550);
    assert_true(s->enabled);
    assert_int_equal(s->n_domains, 3);
    const sy_route_domain_t *d = s->domains;
    assert_string_equal(d[0].name, "jobs");
    assert_int_equal(d[0].n_rules, 2);
    assert_int_equal(d[0].rules[0].kind, SY_RULE_BODY_KEYWORDS);
    assert_string_equal(d[0].rules[0].name, "message");
    assert_int_equal(d[0].rules[0].n_words, 2);
    assert_string_equal(d[0].rules[0].words[1], "hiring");
    assert_int_equal(d[0].rules[1].kind, SY_RULE_HEADER);
    assert_string_equal(d[0].rules[1].name, "X-Domain");
    assert_string_equal(d[0].rules[1].value, "jobs");
    assert_int_equal(d[1].rules[0].kind, SY_RULE_PATH_PREFIX);
    assert_string_equal(d[1].rules[0].value, "/ride");
    assert_int_equal(d[2].rules[0].kind, SY_RULE_BODY_FIELD);
    assert_string_equal(d[2].rules[0].name, "payload.actions");
    assert_true(d[0].routable && !d[0].protected_domain && !d[0].prod_exec);
    assert_true(!d[1].routable && d[1].protected_domain && !d[1].prod_exec);
    assert_true(d[2].routable && !d[2].protected_domain && d[2].prod_exec);
    assert_true(s->routable_only);
    assert_int_equal(s->sticky.kind, SY_STICKY_COOKIE);
    assert_string_equal(s->sticky.name, "uid");
    assert_int_equal(s->breaker.consecutive_failures, 5);
    assert_close(s->breaker.error_rate, 0.5, 0, 0);
    assert_int_equal(s->breaker.min_requests, 20);
    assert_int_equal(s->breaker.window_ms, 10000);
    assert_int_equal(s->breaker.open_ms, 300);
    assert_int_equal(s->breaker.probes, 3);
    assert_close(s->health.max_error_rate, 0.01, 0, 0);
    assert_int_equal(s->health.max_p95_ms, 1500);
    assert_true(s->has_plan);
    assert_int_equal(s->plan.n_steps, 3);
    assert_int_equal(s->plan.steps_bp[0], 1000);
    assert_int_equal(s->plan.steps_bp[1], 2550);
    assert_int_equal(s->plan.steps_bp[2], 10000);
    assert_int_equal(s->plan.hold_s, 60);
    assert_int_equal(s->plan.min_requests, 50);
    assert_int_equal(s->inspect_body_bytes, 4096);
    assert_true(s->retry_non_idempotent);
    assert_int_equal(s->created_ms, 1700000000000);
    assert_int_equal(s->updated_ms, 1700000000500);
    sy_routes_free(rs);
}

static void route_json_takes_null_sticky_and_plan_and_no_prefix(void **state)
{
    (void)state;
    json_t *o = load(ROUTE);
    json_object_set_new(o, "sticky", json_null());
    json_object_set_new(o, "plan", json_null());
    json_object_set_new(o, "routable_domains", json_array());
    json_object_del(o, "path_prefix");
    sy_routes_t *rs;
    sy_err_t err = {0};
    assert_int_equal(decode(o, &rs, &err), 0);
    const sy_route_spec_t *s = &rs->r[0];
    assert_int_equal(s->sticky.kind, SY_STICKY_NONE);
    assert_false(s->has_plan);
    assert_false(s->routable_only);
    assert_false(s->domains[0].routable);
    assert_string_equal(s->path_prefix, "");
    sy_routes_free(rs);
}

static void route_json_refuses_a_misspelt_key_instead_of_a_default(void **state)
{
    (void)state;
    /* each a typo that used to read as the default (false, 0, none) */
    refused(NULL, "prod_exec_domain", json_pack("[s]", "buttons"), "prod_exec_domain");
    refused(NULL, "retry_non_idempotant", json_true(), "retry_non_idempotant");
    refused("upstreams.new", "keepalve", json_integer(3), "upstreams.new.keepalve");
    refused("breaker", "open_msec", json_integer(3), "breaker.open_msec");
    refused("health", "max_p99_ms", json_integer(3), "health.max_p99_ms");
    refused("plan", "hold", json_integer(3), "plan.hold");
    refused("upstreams", "canary", json_string("127.0.0.1:1"), "upstreams.canary");
}

static void route_json_refuses_a_missing_key_naming_it(void **state)
{
    (void)state;
    refused(NULL, "retry_non_idempotent", NULL, "retry_non_idempotent");
    refused(NULL, "prod_exec_domains", NULL, "prod_exec_domains");
    refused(NULL, "killed", json_true(), "killed"); /* the caller's, not the shape's */
    refused(NULL, "sticky", NULL, "sticky");
    refused(NULL, "plan", NULL, "plan");
    refused("upstreams.legacy", "read_timeout_ms", NULL, "upstreams.legacy.read_timeout_ms");
    refused("breaker", "probes", NULL, "breaker.probes");
    refused("health", "max_error_rate", NULL, "health.max_error_rate");
}

static void route_json_refuses_wrong_types_and_ranges(void **state)
{
    (void)state;
    refused(NULL, "enabled", json_string("yes"), "enabled");
    refused(NULL, "percentage", json_real(12.345), "percentage");
    refused(NULL, "percentage", json_integer(101), "percentage");
    refused(NULL, "inspect_body_bytes", json_real(4096.0), "inspect_body_bytes");
    refused(NULL, "inspect_body_bytes", json_integer((16 << 20) + 1), "inspect_body_bytes");
    refused(NULL, "listen", json_string("localhost"), "listen");
    refused(NULL, "protected_domains", json_pack("[s]", "rides"), "protected_domains");
    refused(NULL, "protected_domains", json_pack("[ss]", "jobs", "jobs"), "protected_domains");
    refused(NULL, "sticky", json_pack("{ssss}", "header", "a", "cookie", "b"), "sticky");
    refused("upstreams.new", "address", json_string("no-port"), "upstreams.new");
    refused("upstreams.new", "keepalive", json_integer(-1), "upstreams.new");
    refused("breaker", "error_rate", json_real(1.5), "breaker.error_rate");
    refused("plan", "steps", json_pack("[ii]", 50, 25), "plan.steps");
    refused("health", "max_p95_ms", json_string("2000"), "health.max_p95_ms");
}

static void route_json_names_the_bad_rule_of_a_domain(void **state)
{
    (void)state;
    json_t *o = load(ROUTE);
    json_t *rule = json_array_get(
        json_object_get(json_array_get(json_object_get(o, "domains"), 0), "rules"), 1);
    json_object_set_new(json_object_get(rule, "header"), "nam", json_string("X"));
    sy_routes_t *rs;
    sy_err_t err = {0};
    assert_int_equal(decode(o, &rs, &err), -EINVAL);
    assert_string_equal(err.field, "domains[0].rules[1].header.nam");
    sy_routes_free(rs);
    o = load(ROUTE);
    rule = json_array_get(
        json_object_get(json_array_get(json_object_get(o, "domains"), 0), "rules"), 0);
    json_array_append_new(json_object_get(json_object_get(rule, "body_keywords"), "words"),
                          json_string("Upper"));
    assert_int_equal(decode(o, &rs, &err), -EINVAL);
    assert_string_equal(err.field, "domains[0].rules[0].body_keywords");
    sy_routes_free(rs);
}

/* ROUTE with `n` domains d0..d{n-1}, one header rule each. */
static json_t *with_domains(size_t n)
{
    json_t *o = load(ROUTE), *ds = json_array();
    for (size_t i = 0; i < n; i++) {
        char name[24];
        snprintf(name, sizeof(name), "d%zu", i);
        json_array_append_new(ds, json_pack("{ss s[{s{ssss}}]}", "name", name, "rules", "header",
                                            "name", "X-Domain", "value", name));
    }
    json_object_set_new(o, "domains", ds);
    json_object_set_new(o, "protected_domains", json_pack("[s]", "d70"));
    json_object_set_new(o, "routable_domains", json_pack("[ss]", "d64", "d98"));
    json_object_set_new(o, "prod_exec_domains", json_pack("[s]", n > 99 ? "d99" : "d0"));
    return o;
}

static void route_json_keeps_every_flag_past_64_domains(void **state)
{
    (void)state;
    sy_routes_t *rs;
    sy_err_t err = {0};
    if (decode(with_domains(100), &rs, &err) < 0)
        fail_msg("%s: %s", err.field, err.msg);
    const sy_route_spec_t *s = &rs->r[0];
    assert_int_equal(s->n_domains, 100);
    for (size_t i = 0; i < 100; i++) {
        const sy_route_domain_t *d = &s->domains[i];
        char name[24];
        snprintf(name, sizeof(name), "d%zu", i);
        assert_string_equal(d->name, name);
        assert_int_equal(d->prod_exec, i == 99);
        assert_int_equal(d->protected_domain, i == 70);
        assert_int_equal(d->routable, i == 64 || i == 98);
        assert_string_equal(d->rules[0].value, name);
    }
    sy_routes_free(rs);
}

static void route_json_refuses_domains_past_the_limit_naming_domains(void **state)
{
    (void)state;
    sy_routes_t *rs;
    sy_err_t err = {0};
    assert_int_equal(decode(with_domains(SY_ROUTE_MAX_DOMAINS), &rs, &err), 0);
    assert_int_equal(rs->r[0].n_domains, SY_ROUTE_MAX_DOMAINS);
    assert_true(rs->r[0].domains[99].prod_exec);
    sy_routes_free(rs);
    assert_int_equal(decode(with_domains(SY_ROUTE_MAX_DOMAINS + 1), &rs, &err), -EINVAL);
    assert_string_equal(err.field, "domains");
    sy_routes_free(rs);
}

static void routes_json_takes_the_kill_switch_and_names_the_route(void **state)
{
    (void)state;
    json_t *second = load(ROUTE);
    json_object_set_new(second, "name", json_string("other"));
    json_object_set_new(second, "listen", json_string("127.0.0.1:8082"));
    json_t *list = json_pack("{s[oo]}", "routes", load(ROUTE), second);
    json_t *on = load("{\"kill_switch\": {\"engaged\": true, \"reason\": \"r\", \"actor\": \"a\","
                      " \"changed_ms\": 1}}");
    sy_routes_t *rs;
    sy_err_t err = {0};
    assert_int_equal(sy_routes_from_json(list, on, &rs, &err), 0);
    assert_int_equal(rs->n, 2);
    assert_true(rs->r[0].killed && rs->r[1].killed);
    assert_int_equal(rs->r[1].ws, 0);
    assert_string_equal(rs->r[1].name, "other");
    sy_routes_free(rs);

    json_t *typo = load("{\"kill_switch\": {\"engage\": true}}");
    assert_int_equal(sy_routes_from_json(list, typo, &rs, &err), -EINVAL);
    assert_null(rs);
    assert_string_equal(err.field, "kill_switch.engaged");

    json_object_set_new(json_object_get(second, "breaker"), "probe", json_integer(1));
    assert_int_equal(sy_routes_from_json(list, on, &rs, &err), -EINVAL);
    assert_null(rs);
    assert_string_equal(err.field, "routes[1].breaker.probe");

    json_t *extra = json_pack("{s[]si}", "routes", "count", 0);
    assert_int_equal(sy_routes_from_json(extra, on, &rs, &err), SY_EUNKNOWN);
    assert_string_equal(err.field, "count");
    json_decref(extra);
    json_decref(typo);
    json_decref(on);
    json_decref(list);
}

/* What sy_route_spec_to_json writes of spec `s`, compact, in its own member order. */
static char *written(const sy_route_spec_t *s)
{
    json_t *o = sy_route_spec_to_json(s);
    assert_non_null(o);
    char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(o);
    return text;
}

/* ROUTE decoded and written back: every member as GET has always answered it, in its
 * order, percentages and rates as reals; and what is written decodes to the same. */
static void route_json_is_written_back_as_the_api_shows_it(void **state)
{
    (void)state;
    sy_routes_t *rs;
    sy_err_t err = {0};
    assert_int_equal(decode(load(ROUTE), &rs, &err), 0);
    char *text = written(&rs->r[0]);
    assert_string_equal(
        text,
        "{\"upstreams\":{\"legacy\":{\"address\":\"127.0.0.1:9001\",\"connect_timeout_ms\":1000,"
        "\"read_timeout_ms\":30000,\"keepalive\":32},\"new\":{\"address\":\"[::1]:9002\","
        "\"connect_timeout_ms\":250,\"read_timeout_ms\":5000,\"keepalive\":0}},"
        "\"domains\":[{\"name\":\"jobs\",\"rules\":[{\"body_keywords\":{\"field\":\"message\","
        "\"words\":[\"job\",\"hiring\"]}},{\"header\":{\"name\":\"X-Domain\",\"value\":"
        "\"jobs\"}}]},{\"name\":\"mobility\",\"rules\":[{\"path_prefix\":\"/ride\"}]},"
        "{\"name\":\"buttons\",\"rules\":[{\"body_field\":\"payload.actions\"}]}],"
        "\"protected_domains\":[\"mobility\"],\"routable_domains\":[\"jobs\",\"buttons\"],"
        "\"breaker\":{\"consecutive_failures\":5,\"error_rate\":0.5,\"min_requests\":20,"
        "\"window_ms\":10000,\"open_ms\":300,\"probes\":3},\"sticky\":{\"cookie\":\"uid\"},"
        "\"health\":{\"max_error_rate\":0.01,\"max_p95_ms\":1500},\"inspect_body_bytes\":4096,"
        "\"retry_non_idempotent\":true,\"prod_exec_domains\":[\"buttons\"],"
        "\"plan\":{\"steps\":[10.0,25.5,100.0],\"hold_s\":60,\"min_requests\":50},"
        "\"listen\":\"127.0.0.1:8081\",\"path_prefix\":\"/hooks\",\"name\":\"webhooks\","
        "\"percentage\":25.5,\"enabled\":true,\"created_ms\":1700000000000,"
        "\"updated_ms\":1700000000500}");
    sy_routes_t *again;
    assert_int_equal(decode(load(text), &again, &err), 0);
    char *twice = written(&again->r[0]);
    assert_string_equal(twice, text);
    free(twice);
    free(text);
    sy_routes_free(again);
    sy_routes_free(rs);
}

static void route_json_writes_null_sticky_and_plan_and_no_prefix(void **state)
{
    (void)state;
    json_t *o = load(ROUTE);
    json_object_del(o, "path_prefix");
    json_object_set_new(o, "sticky", json_null());
    json_object_set_new(o, "plan", json_null());
    sy_routes_t *rs;
    sy_err_t err = {0};
    assert_int_equal(decode(o, &rs, &err), 0);
    json_t *w = sy_route_spec_to_json(&rs->r[0]);
    assert_non_null(w);
    assert_null(json_object_get(w, "path_prefix"));
    assert_true(json_is_null(json_object_get(w, "sticky")));
    assert_true(json_is_null(json_object_get(w, "plan")));
    json_decref(w);
    sy_routes_free(rs);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(route_json_carries_every_field_typed),
        cmocka_unit_test(route_json_takes_null_sticky_and_plan_and_no_prefix),
        cmocka_unit_test(route_json_refuses_a_misspelt_key_instead_of_a_default),
        cmocka_unit_test(route_json_refuses_a_missing_key_naming_it),
        cmocka_unit_test(route_json_refuses_wrong_types_and_ranges),
        cmocka_unit_test(route_json_names_the_bad_rule_of_a_domain),
        cmocka_unit_test(route_json_keeps_every_flag_past_64_domains),
        cmocka_unit_test(route_json_refuses_domains_past_the_limit_naming_domains),
        cmocka_unit_test(routes_json_takes_the_kill_switch_and_names_the_route),
        cmocka_unit_test(route_json_is_written_back_as_the_api_shows_it),
        cmocka_unit_test(route_json_writes_null_sticky_and_plan_and_no_prefix),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
