/* test_routes.c - what the engine fills for the data plane (sy_engine_routes_all, typed:
 * core/route_spec.h): every field of a definition, a hundred domains of which only the
 * last is prod_exec, the percentage, enabled and kill switch in force, the same after a
 * restart; and a definition past a limit refused when it is made, naming its field. */
#include "fixture.h"

#include "codec/route_api_json.h"

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

/* Body `b` read as the API reads it, created (`name` NULL) or replacing route `name`: the
 * engine's answer, the route into *out. */
static int put(struct fixture *f, const json_t *b, const char *name, sy_routes_t **out,
               sy_err_t *err)
{
    sy_route_def_t def;
    sy_routes_t *hold = NULL;
    int rc = sy_route_def_read(b, name, &def, &hold, err);
    if (rc == 0)
        rc = name ? sy_engine_route_replace(f->eng, &f->who, name, &def, out, err)
                  : sy_engine_route_create(f->eng, &f->who, &def, out, err);
    sy_routes_free(hold);
    return rc;
}

static void create(struct fixture *f, json_t *b)
{
    sy_routes_t *out = NULL;
    sy_err_t err = {0};
    if (put(f, b, NULL, &out, &err) < 0)
        fail_msg("route: %s (%s)", err.msg, err.field);
    sy_routes_free(out);
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
    sy_routes_t *out = NULL;
    sy_route_percentage_change_t pct = {.percentage = 40, .reason = "step"};
    sy_kill_switch_t ks;
    sy_err_t err = {0};
    assert_int_equal(sy_engine_route_percentage(f->eng, &f->who, "hooks", &pct, &out, &err), 0);
    assert_int_equal(out->n, 1); /* the route as it is now */
    assert_int_equal(out->r[0].percentage_bp, 4000);
    sy_routes_free(out);
    assert_int_equal(
        sy_engine_kill_switch_put(f->eng, &f->who,
                                  &(sy_kill_switch_change_t){.engaged = true, .reason = "incident"},
                                  &ks, &err),
        0);
    assert_true(ks.engaged && ks.set && strcmp(ks.reason, "incident") == 0);
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
    sy_routes_t *out = NULL;
    sy_err_t err = {0};
    int rc = put(f, b, NULL, &out, &err);
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
    sy_routes_t *out = NULL;
    json_t *b = body("a", "127.0.0.1:8103", 70);
    sy_route_enabled_change_t off = {.enabled = false, .reason = "incident"};
    sy_routes_t *now = NULL;
    sy_err_t err = {0};
    json_object_set_new(b, "sticky", json_pack("{ss}", "cookie", "uid"));
    json_object_set_new(b, "plan", json_pack("{s[ii]}", "steps", 10, 50));
    assert_int_equal(put(f, b, "a", &out, &err), 0);
    assert_int_equal(out->r[0].n_domains, 70);
    sy_routes_free(out);
    assert_int_equal(sy_engine_route_enabled(f->eng, &f->who, "b", &off, &now, &err), 0);
    assert_false(now->r[0].enabled);
    sy_routes_free(now);
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
}

/* A percentage past two decimals or 100, or a move without a reason, is refused naming its
 * field, and the route keeps what it had; get and list answer it as it is in force. */
static void engine_refuses_a_bad_move_and_answers_the_route_in_force(void **state)
{
    struct fixture *f = *state;
    create(f, body("hooks", "127.0.0.1:8101", 2));
    sy_routes_t *out = NULL;
    sy_err_t err = {0};
    sy_route_percentage_change_t bad[] = {
        {.percentage = 10.005, .reason = "x"},
        {.percentage = 100.01, .reason = "x"},
        {.percentage = 50},
        {.percentage = 50, .reason = ""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = (sy_err_t){0};
        assert_int_equal(sy_engine_route_percentage(f->eng, &f->who, "hooks", &bad[i], &out, &err),
                         -EINVAL);
        assert_null(out);
        assert_string_equal(err.field, i < 2 ? "percentage" : "reason");
    }
    sy_route_enabled_change_t off = {.enabled = false};
    assert_int_equal(sy_engine_route_enabled(f->eng, &f->who, "hooks", &off, &out, &err), -EINVAL);
    assert_string_equal(err.field, "reason");
    off.reason = "incident";
    assert_int_equal(sy_engine_route_enabled(f->eng, &f->who, "nope", &off, &out, &err), -ENOENT);
    assert_int_equal(sy_engine_route_get(f->eng, &f->who, "nope", &out, &err), -ENOENT);
    assert_int_equal(sy_engine_route_get(f->eng, &f->who, "hooks", &out, &err), 0);
    assert_int_equal(out->r[0].percentage_bp, 1250);
    assert_true(out->r[0].enabled);
    assert_int_equal(out->r[0].ws, f->who.workspace);
    sy_routes_free(out);
    create(f, body("second", "127.0.0.1:8102", 0));
    assert_int_equal(sy_engine_route_list(f->eng, &f->who, &out, &err), 0);
    assert_int_equal(out->n, 2);
    assert_string_equal(out->r[0].name, "hooks");
    assert_string_equal(out->r[1].name, "second");
    sy_routes_free(out);
}

/* What the server's own proxy counted of new, for the plan: the test sets it. */
static sy_route_health_t f_new;
static int new_health(void *arg, int64_t ws, const char *name, sy_route_health_t *out)
{
    (void)arg;
    (void)ws;
    (void)name;
    *out = f_new;
    return 0;
}

/* One tick 61 s on: its moves (n of them) into *m, the caller's to free. */
static size_t tick(struct fixture *f, sy_route_move_t **m)
{
    size_t n = 99;
    fake_ms += 61000;
    assert_int_equal(sy_engine_routes_plan_tick(f->eng, new_health, NULL, m, &n), 0);
    assert_true(n ? *m != NULL : *m == NULL);
    return n;
}

/* A plan 10 -> 50 held 60 s: the first step taken on no evidence, the next on a healthy new,
 * back a step when new fails its gate; each move told as {route, action, from, to, reason}
 * and the percentage in force following it. */
static void engine_plan_tick_tells_each_move_it_made(void **state)
{
    struct fixture *f = *state;
    json_t *b = body("planned", "127.0.0.1:8101", 0);
    json_object_set_new(b, "percentage", json_real(0));
    json_object_set_new(
        b, "plan", json_pack("{s[ii]sisi}", "steps", 10, 50, "hold_s", 60, "min_requests", 10));
    create(f, b);
    create(f, body("no-plan", "127.0.0.1:8102", 0));
    sy_route_move_t *m = NULL;
    f_new = (sy_route_health_t){0};
    assert_int_equal(tick(f, &m), 0); /* the step starts being held */
    assert_int_equal(tick(f, &m), 1);
    assert_string_equal(m[0].route, "planned");
    assert_int_equal(m[0].ws, f->who.workspace);
    assert_false(m[0].back);
    assert_int_equal(m[0].from_bp, 0);
    assert_int_equal(m[0].to_bp, 1000);
    assert_non_null(strstr(m[0].reason, "plan: step held"));
    free(m);
    f_new = (sy_route_health_t){.requests = 100, .errors = 0, .p95_ms = 10};
    assert_int_equal(tick(f, &m), 1);
    assert_int_equal(m[0].from_bp, 1000);
    assert_int_equal(m[0].to_bp, 5000);
    free(m);
    f_new = (sy_route_health_t){.requests = 200, .errors = 50, .p95_ms = 10};
    assert_int_equal(tick(f, &m), 1);
    assert_true(m[0].back);
    assert_int_equal(m[0].from_bp, 5000);
    assert_int_equal(m[0].to_bp, 1000);
    assert_non_null(strstr(m[0].reason, "plan: health failed"));
    free(m);
    sy_routes_t *rs = NULL;
    sy_err_t err = {0};
    assert_int_equal(sy_engine_route_get(f->eng, &f->who, "planned", &rs, &err), 0);
    assert_int_equal(rs->r[0].percentage_bp, 1000);
    sy_routes_free(rs);
}

/* The stored minutes of a route summed into aligned 5-minute buckets: two minutes of new
 * (two domains) in the current bucket merged, a minute of legacy in the one before, the
 * oldest bucket empty, a minute before the window left out; their quantiles those of the
 * merged histogram. A window or step that is not whole minutes, and no such route, are
 * refused. */
static void engine_series_sums_the_minutes_of_each_aligned_bucket(void **state)
{
    struct fixture *f = *state;
    create(f, body("hooks", "127.0.0.1:8101", 0));
    int64_t now_min = fake_ms / 60000, bucket = now_min - now_min % 5;
    const sy_store_route_minute_t rows[] = {
        {f->who.workspace, "hooks", bucket, "", "new", "new", 10, 1, 10.0, "20:10", "2:9,5:1"},
        {f->who.workspace, "hooks", now_min, "d0", "new", "new", 10, 0, 10.0, "40:10", "2:10"},
        {f->who.workspace, "hooks", bucket - 3, "", "legacy", "legacy", 5, 0, 5.0, "10:5", "2:5"},
        {f->who.workspace, "hooks", bucket - 100, "", "legacy", "legacy", 99, 0, 9.0, "10:99", ""},
    };
    sy_err_t err = {0};
    assert_int_equal(sy_engine_route_minutes_add(f->eng, rows, 4, &err), 0);
    sy_route_series_t s = {0};
    assert_int_equal(
        sy_engine_route_series(f->eng, &f->who, "hooks", 15 * 60000, 5 * 60000, &s, &err), 0);
    assert_int_equal(s.points, 3);
    assert_int_equal(s.step_ms, 300000);
    assert_int_equal(s.first_ms, (bucket - 10) * 60000);
    const sy_series_point_t *now_new = &s.p[2 * SY_SERIES_UPSTREAMS + SY_SERIES_NEW];
    assert_int_equal(now_new->requests, 20);
    assert_int_equal(now_new->errors, 1);
    assert_close(now_new->error_rate, 0.05, 0, 1e-15);
    int64_t merged[SY_LAT_BUCKETS] = {0};
    merged[20] = 10;
    merged[40] = 10;
    assert_close(now_new->p50_ms, sy_lat_quantile(merged, 20, 0.5), 0, 0);
    assert_close(now_new->p95_ms, sy_lat_quantile(merged, 20, 0.95), 0, 0);
    assert_true(now_new->p95_ms > now_new->p50_ms);
    assert_int_equal(s.p[1 * SY_SERIES_UPSTREAMS + SY_SERIES_LEGACY].requests, 5);
    assert_int_equal(s.p[2 * SY_SERIES_UPSTREAMS + SY_SERIES_LEGACY].requests, 0);
    for (int u = 0; u < SY_SERIES_UPSTREAMS; u++) /* the oldest bucket; the old minute is out */
        assert_int_equal(s.p[u].requests, 0);
    free(s.p);
    s = (sy_route_series_t){0};
    assert_int_equal(sy_engine_route_series(f->eng, &f->who, "hooks", 15 * 60000, 90000, &s, &err),
                     -EINVAL);
    assert_string_equal(err.field, "step");
    assert_int_equal(sy_engine_route_series(f->eng, &f->who, "hooks", 30000, 60000, &s, &err),
                     -EINVAL);
    assert_string_equal(err.field, "window");
    assert_int_equal(sy_engine_route_series(f->eng, &f->who, "nope", 60000, 60000, &s, &err),
                     -ENOENT);
    assert_null(s.p);
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
        cmocka_unit_test_setup_teardown(engine_refuses_a_bad_move_and_answers_the_route_in_force,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(engine_plan_tick_tells_each_move_it_made, setup, teardown),
        cmocka_unit_test_setup_teardown(engine_series_sums_the_minutes_of_each_aligned_bucket,
                                        setup, teardown),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
