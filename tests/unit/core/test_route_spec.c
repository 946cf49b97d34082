/* test_route_spec.c - a route as a typed value (core/route_spec.h): a set of routes copies
 * a spec whole (nothing left pointing at its maker's memory), any number of domains up to
 * the limit keeps its flags, the check names the offending field of each rule it keeps,
 * and percentages become basis points only when they have two decimals at most. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "core/route_spec.h"

/* A valid spec of `n` domains (named into `names`, one header rule each into `rules`). */
static sy_route_spec_t spec(size_t n, sy_route_domain_t *domains, sy_route_rule_t *rules,
                            char (*names)[24])
{
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof(names[i]), "d%zu", i);
        rules[i] = (sy_route_rule_t){.kind = SY_RULE_HEADER, .name = "X-Domain", .value = names[i]};
        domains[i] = (sy_route_domain_t){.name = names[i], .rules = &rules[i], .n_rules = 1};
    }
    sy_route_spec_t s = {
        .ws = 3,
        .name = "webhooks",
        .listen = "127.0.0.1:8081",
        .path_prefix = "",
        .up = {{"127.0.0.1:9001", 1000, 30000, 32}, {"127.0.0.1:9002", 1000, 30000, 32}},
        .percentage_bp = 1000,
        .enabled = true,
        .domains = domains,
        .n_domains = n,
        .breaker = SY_BREAKER_DEFAULTS,
        .health = {0.001, 2000},
        .inspect_body_bytes = 65536,
    };
    return s;
}

#define MAX SY_ROUTE_MAX_DOMAINS

struct many {
    sy_route_domain_t domains[MAX + 1];
    sy_route_rule_t rules[MAX + 1];
    char names[MAX + 1][24];
};

static void routes_add_copies_every_string_and_array(void **state)
{
    (void)state;
    struct many *m = calloc(1, sizeof(*m));
    sy_route_spec_t s = spec(100, m->domains, m->rules, m->names);
    static const char *const words[] = {"job", "hiring"};
    sy_route_rule_t kw = {
        .kind = SY_RULE_BODY_KEYWORDS, .name = "message", .words = words, .n_words = 2};
    m->domains[3].rules = &kw;
    m->domains[99].prod_exec = true;
    m->domains[70].protected_domain = true;
    s.sticky = (sy_route_sticky_t){SY_STICKY_HEADER, "X-User"};
    assert_int_equal(sy_route_spec_check(&s, NULL), 0);
    sy_routes_t *rs = sy_routes_new();
    assert_non_null(rs);
    for (int i = 0; i < 20; i++) /* past the first array's room */
        assert_int_equal(sy_routes_add(rs, &s), 0);
    memset(m->names, 'x', sizeof(m->names)); /* the maker's memory goes */
    memset(m->domains, 0, sizeof(m->domains));
    const sy_route_spec_t *c = &rs->r[19];
    assert_int_equal(rs->n, 20);
    assert_ptr_not_equal(c->domains, m->domains);
    assert_int_equal(c->n_domains, 100);
    assert_string_equal(c->domains[42].name, "d42");
    assert_string_equal(c->domains[42].rules[0].value, "d42");
    assert_string_equal(c->domains[3].rules[0].words[1], "hiring");
    assert_ptr_not_equal(c->domains[3].rules[0].words, words);
    assert_true(c->domains[99].prod_exec);
    assert_true(c->domains[70].protected_domain);
    assert_false(c->domains[98].prod_exec);
    assert_string_equal(c->sticky.name, "X-User");
    assert_string_equal(c->up[SY_ROUTE_NEW].address, "127.0.0.1:9002");
    assert_int_equal(sy_route_spec_check(c, NULL), 0);
    assert_int_equal(sy_route_spec_domain(c, "d99"), 99);
    assert_int_equal(sy_route_spec_domain(c, "d100"), -1);
    sy_routes_free(rs);
    sy_routes_free(NULL);
    free(m);
}

/* s with one change refused by the check, naming `field`. */
static void refused(const sy_route_spec_t *s, const char *field)
{
    sy_err_t err = {0};
    assert_int_equal(sy_route_spec_check(s, &err), -EINVAL);
    assert_string_equal(err.field, field);
    assert_true(err.msg[0]);
}

static void spec_check_names_the_field_it_refuses(void **state)
{
    (void)state;
    struct many *m = calloc(1, sizeof(*m));
    sy_route_spec_t s = spec(MAX, m->domains, m->rules, m->names);
    assert_int_equal(sy_route_spec_check(&s, NULL), 0); /* the limit itself is fine */
    sy_route_spec_t t = s;
    t.n_domains = MAX + 1;
    snprintf(m->names[MAX], sizeof(m->names[MAX]), "last");
    m->rules[MAX] = m->rules[0];
    m->domains[MAX] = (sy_route_domain_t){.name = "last", .rules = &m->rules[MAX], .n_rules = 1};
    refused(&t, "domains");
    t = s;
    t.name = "no spaces";
    refused(&t, "name");
    t = s;
    t.listen = "127.0.0.1:0";
    refused(&t, "listen");
    t = s;
    t.path_prefix = "hooks";
    refused(&t, "path_prefix");
    t = s;
    t.up[SY_ROUTE_NEW].keepalive = SY_ROUTE_MAX_KEEPALIVE + 1;
    refused(&t, "upstreams.new");
    t = s;
    t.percentage_bp = SY_ROUTE_BP + 1;
    refused(&t, "percentage");
    t = s;
    m->rules[70].name = "X Domain";
    refused(&t, "domains[70].rules[0].header");
    m->rules[70].name = "X-Domain";
    m->domains[80].name = "d79";
    refused(&t, "domains[80].name");
    m->domains[80].name = m->names[80];
    m->domains[90].n_rules = 0;
    refused(&t, "domains[90].rules");
    m->domains[90].n_rules = 1;
    t.routable_only = true; /* and no domain routable */
    refused(&t, "routable_domains");
    t = s;
    t.sticky = (sy_route_sticky_t){SY_STICKY_BODY_FIELD, "a..b"};
    refused(&t, "sticky");
    t = s;
    t.breaker.probes = 0;
    refused(&t, "breaker.probes");
    t = s;
    t.health.max_error_rate = 0;
    refused(&t, "health.max_error_rate");
    t = s;
    t.has_plan = true;
    t.plan = (sy_route_plan_t){.steps_bp = {5000, 2500}, .n_steps = 2, .hold_s = 1};
    refused(&t, "plan.steps");
    t.plan = (sy_route_plan_t){.steps_bp = {2500}, .n_steps = 1, .hold_s = 0};
    refused(&t, "plan.hold_s");
    t = s;
    t.inspect_body_bytes = SY_ROUTE_MAX_INSPECT + 1;
    refused(&t, "inspect_body_bytes");
    free(m);
}

static void percentages_become_basis_points_with_two_decimals_at_most(void **state)
{
    (void)state;
    uint32_t bp = 7;
    assert_int_equal(sy_route_percentage_bp(25.5, &bp), 0);
    assert_int_equal(bp, 2550);
    assert_int_equal(sy_route_percentage_bp(0.01, &bp), 0);
    assert_int_equal(bp, 1);
    assert_int_equal(sy_route_percentage_bp(100, &bp), 0);
    assert_int_equal(bp, 10000);
    assert_int_equal(sy_route_percentage_bp(0, &bp), 0);
    assert_int_equal(bp, 0);
    bp = 7;
    assert_int_equal(sy_route_percentage_bp(12.345, &bp), -EINVAL);
    assert_int_equal(sy_route_percentage_bp(100.01, &bp), -EINVAL);
    assert_int_equal(sy_route_percentage_bp(-0.01, &bp), -EINVAL);
    assert_int_equal(sy_route_percentage_bp(NAN, &bp), -EINVAL);
    assert_int_equal(bp, 7); /* a refusal leaves it */
}

static void host_port_and_tokens_have_their_forms(void **state)
{
    (void)state;
    assert_true(sy_route_is_host_port("127.0.0.1:80"));
    assert_true(sy_route_is_host_port("[::1]:65535"));
    assert_true(sy_route_is_host_port("legacy.internal:8080"));
    assert_false(sy_route_is_host_port("127.0.0.1:65536"));
    assert_false(sy_route_is_host_port("127.0.0.1: 80"));
    assert_false(sy_route_is_host_port(":80"));
    assert_false(sy_route_is_host_port("[::1:80"));
    assert_false(sy_route_is_host_port(NULL));
    assert_true(sy_route_is_token("a.b-c_d", 7));
    assert_false(sy_route_is_token("a.b-c_d", 6));
    assert_false(sy_route_is_token("", 6));
    assert_true(sy_route_is_field_path("event.text"));
    assert_false(sy_route_is_field_path(".event"));
    assert_false(sy_route_is_field_path("event..text"));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes_add_copies_every_string_and_array),
        cmocka_unit_test(spec_check_names_the_field_it_refuses),
        cmocka_unit_test(percentages_become_basis_points_with_two_decimals_at_most),
        cmocka_unit_test(host_port_and_tokens_have_their_forms),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
