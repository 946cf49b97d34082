/* test_routes.c - what the engine fills for the data plane (sy_engine_routes_all, typed:
 * core/route_spec.h): every field of a definition, a hundred domains of which only the
 * last is prod_exec, the percentage, enabled and kill switch in force, the same after a
 * restart; and a definition past a limit refused when it is made, naming its field. */
#include "fixture.h"

static int64_t f_ws; /* the fixture's workspace */

/* A route of `n` domains d0..d{n-1} (d{n-1} prod_exec), as an API body. */
static json_t *body(const char *name, const char *listen, size_t n)
{
    json_t *ds = json_array();
    for (size_t i = 0; i < n; i++) {
        char d[24];
        snprintf(d, sizeof(d), "d%zu", i);
        json_array_append_new(ds, json_pack("{ss s[{s{ssss}}]}", "name", d, "rules", "header",
                                            "name", "X-Domain", "value", d));
    }
    char last[24];
    snprintf(last, sizeof(last), "d%zu", n ? n - 1 : 0);
    json_t *b =
        json_pack("{sssss{ssss}sfso}", "name", name, "listen", listen, "upstreams", "legacy",
                  "127.0.0.1:9001", "new", "127.0.0.1:9002", "percentage", 12.5, "domains", ds);
    if (n)
        json_object_set_new(b, "prod_exec_domains", json_pack("[s]", last));
    return b;
}

static void create(struct fixture *f, json_t *b)
{
    json_t *out = NULL;
    sy_err_t err = {0};
    if (sy_engine_route_create(f->eng, &f->who, b, &out, &err) < 0)
        fail_msg("route: %s (%s)", err.msg, err.field);
    json_decref(out);
    json_decref(b);
}

/* What routes_all gives of route 0 checked against body(…, 100) as created. */
static void check_hundred(const sy_routes_t *rs, bool killed, uint32_t bp)
{
    assert_int_equal(rs->n, 1);
    const sy_route_spec_t *s = &rs->r[0];
    assert_string_equal(s->name, "hooks");
    assert_string_equal(s->listen, "127.0.0.1:8101");
    assert_string_equal(s->path_prefix, "");
    assert_string_equal(s->up[SY_ROUTE_LEGACY].address, "127.0.0.1:9001");
    assert_int_equal(s->up[SY_ROUTE_NEW].connect_timeout_ms, 1000); /* the defaults */
    assert_int_equal(s->up[SY_ROUTE_NEW].read_timeout_ms, 30000);
    assert_int_equal(s->up[SY_ROUTE_NEW].keepalive, 32);
    assert_int_equal(s->percentage_bp, bp);
    assert_true(s->enabled);
    assert_int_equal(s->killed, killed);
    assert_int_equal(s->ws, f_ws);
    assert_int_equal(s->n_domains, 100);
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(s->domains[i].prod_exec, i == 99);
    assert_string_equal(s->domains[99].rules[0].value, "d99");
    assert_false(s->routable_only);
    assert_int_equal(s->sticky.kind, SY_STICKY_NONE);
    assert_int_equal(s->breaker.probes, SY_BREAKER_DEFAULTS.probes);
    assert_int_equal(s->health.max_p95_ms, 2000);
    assert_false(s->has_plan);
    assert_int_equal(s->inspect_body_bytes, 65536);
}

static void engine_fills_a_hundred_domains_with_the_last_prod_exec(void **state)
{
    struct fixture *f = *state;
    f_ws = f->who.workspace;
    create(f, body("hooks", "127.0.0.1:8101", 100));
    sy_routes_t *rs = sy_engine_routes_all(f->eng);
    assert_non_null(rs);
    check_hundred(rs, false, 1250);
    sy_routes_free(rs);

    /* what is in force: the percentage moved, the kill switch engaged */
    json_t *out = NULL, *pct = json_pack("{sfss}", "percentage", 40.0, "reason", "step");
    sy_kill_switch_t ks;
    sy_err_t err = {0};
    assert_int_equal(sy_engine_route_percentage(f->eng, &f->who, "hooks", pct, &out, &err), 0);
    json_decref(out);
    assert_int_equal(
        sy_engine_kill_switch_put(f->eng, &f->who,
                                  &(sy_kill_switch_change_t){.engaged = true, .reason = "incident"},
                                  &ks, &err),
        0);
    assert_true(ks.engaged && ks.set && strcmp(ks.reason, "incident") == 0);
    json_decref(pct);
    rs = sy_engine_routes_all(f->eng);
    check_hundred(rs, true, 4000);
    sy_routes_free(rs);

    /* and after a restart, from the store */
    sy_engine_close(f->eng);
    f->eng = open_engine();
    rs = sy_engine_routes_all(f->eng);
    check_hundred(rs, true, 4000);
    sy_routes_free(rs);
}

/* A body refused with -EINVAL (SY_EUNKNOWN for a member it does not take) naming `field`,
 * and nothing created. */
static void refused(struct fixture *f, json_t *b, const char *field)
{
    json_t *out = NULL;
    sy_err_t err = {0};
    int rc = sy_engine_route_create(f->eng, &f->who, b, &out, &err);
    assert_int_equal(rc, strcmp(field, "prod_exec_domain") == 0 ? SY_EUNKNOWN : -EINVAL);
    assert_null(out);
    assert_string_equal(err.field, field);
    json_decref(b);
    sy_routes_t *rs = sy_engine_routes_all(f->eng);
    assert_int_equal(rs->n, 0);
    sy_routes_free(rs);
}

static void engine_refuses_a_route_past_a_limit_when_it_is_defined(void **state)
{
    struct fixture *f = *state;
    refused(f, body("hooks", "127.0.0.1:8101", SY_ROUTE_MAX_DOMAINS + 1), "domains");
    json_t *b = body("hooks", "127.0.0.1:8101", 2);
    json_object_set_new(b, "inspect_body_bytes", json_integer(SY_ROUTE_MAX_INSPECT + 1));
    refused(f, b, "inspect_body_bytes");
    b = body("hooks", "127.0.0.1:8101", 2);
    json_object_set_new(b, "prod_exec_domain", json_pack("[s]", "d1")); /* a typo */
    refused(f, b, "prod_exec_domain");
    b = body("hooks", "127.0.0.1:8101", 2);
    json_object_set_new(b, "path_prefix", json_string("/a\tb"));
    refused(f, b, "path_prefix");
    create(f, body("hooks", "127.0.0.1:8101", SY_ROUTE_MAX_DOMAINS)); /* the limit is fine */
    sy_routes_t *rs = sy_engine_routes_all(f->eng);
    assert_int_equal(rs->r[0].n_domains, SY_ROUTE_MAX_DOMAINS);
    assert_true(rs->r[0].domains[SY_ROUTE_MAX_DOMAINS - 1].prod_exec);
    sy_routes_free(rs);
}

static void engine_routes_all_follows_replace_enabled_and_delete(void **state)
{
    struct fixture *f = *state;
    create(f, body("a", "127.0.0.1:8101", 1));
    create(f, body("b", "127.0.0.1:8102", 3));
    json_t *out = NULL, *b = body("a", "127.0.0.1:8103", 70);
    json_t *off = json_pack("{sbss}", "enabled", 0, "reason", "incident");
    sy_err_t err = {0};
    json_object_set_new(b, "sticky", json_pack("{ss}", "cookie", "uid"));
    json_object_set_new(b, "plan", json_pack("{s[ii]}", "steps", 10, 50));
    assert_int_equal(sy_engine_route_replace(f->eng, &f->who, "a", b, &out, &err), 0);
    json_decref(out);
    assert_int_equal(sy_engine_route_enabled(f->eng, &f->who, "b", off, &out, &err), 0);
    json_decref(out);
    sy_routes_t *rs = sy_engine_routes_all(f->eng);
    assert_int_equal(rs->n, 2);
    assert_string_equal(rs->r[0].listen, "127.0.0.1:8103");
    assert_int_equal(rs->r[0].n_domains, 70);
    assert_true(rs->r[0].domains[69].prod_exec);
    assert_int_equal(rs->r[0].sticky.kind, SY_STICKY_COOKIE);
    assert_true(rs->r[0].has_plan);
    assert_int_equal(rs->r[0].plan.n_steps, 2);
    assert_int_equal(rs->r[0].plan.steps_bp[1], 5000);
    assert_int_equal(rs->r[0].plan.hold_s, 600);
    assert_true(rs->r[0].enabled);
    assert_false(rs->r[1].enabled);
    sy_routes_free(rs);
    assert_int_equal(sy_engine_route_delete(f->eng, &f->who, "a", &err), 0);
    rs = sy_engine_routes_all(f->eng);
    assert_int_equal(rs->n, 1);
    assert_string_equal(rs->r[0].name, "b");
    sy_routes_free(rs);
    json_decref(b);
    json_decref(off);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(engine_fills_a_hundred_domains_with_the_last_prod_exec,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(engine_refuses_a_route_past_a_limit_when_it_is_defined,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(engine_routes_all_follows_replace_enabled_and_delete, setup,
                                        teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
