/* api_routes.c - /v1/routes[/{name}[/percentage|/enabled|/report|/stats|/health]]: the
 * proxy's routes. Reading takes a viewer; percentage and enabled (the rollout's moves),
 * and a proxy-only process's report, an editor; creating, replacing and deleting a route
 * an admin. */
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"

/* GET /v1/routes/{name}/stats: the proxy's counters of the route since the server started,
 * per (domain, upstream), with each row's share of the route's requests. */
void sy_api_route_stats(struct call *c)
{
    const char *name = c->arg[0];
    sy_err_t err = {0};
    json_t *route = NULL;
    int rc = sy_engine_route_get(c->eng, &c->who, name, &route, &err);
    json_decref(route);
    if (rc < 0) {
        reply_err(c, &err);
        return;
    }
    /* ?window=15m|1h|24h|7d|SECONDS: from the stored counters per minute */
    char key[16], val[32], window[32] = "";
    long long window_s = 0;
    int q;
    for (const char *p = c->query; (q = sy_query_next(&p, key, sizeof(key), val, sizeof(val)));) {
        char *end;
        long long n = q > 0 ? strtoll(val, &end, 10) : 0;
        long long unit = q < 0 || strcmp(key, "window") != 0 ? 0
                         : !*end                             ? 1
                         : strcmp(end, "s") == 0             ? 1
                         : strcmp(end, "m") == 0             ? 60
                         : strcmp(end, "h") == 0             ? 3600
                         : strcmp(end, "d") == 0             ? 86400
                                                             : 0;
        if (!unit || n < 1 || n > 366LL * 86400 / unit) { /* no product that overflows */
            reply_error(c, 400, "invalid_input", q > 0 && strcmp(key, "window") ? key : "window",
                        "the query takes window: 15m, 1h, 24h, 7d or seconds (at most a year)");
            return;
        }
        window_s = n * unit;
        snprintf(window, sizeof(window), "%s", val);
    }
    const sy_http_opts_t *o = sy_http_opts(c->http);
    json_t *all = NULL, *one = NULL;
    if (window_s) {
        if ((rc = sy_engine_route_stats_window(c->eng, &c->who, name, window_s * 1000, &one,
                                               &err)) < 0) {
            reply_err(c, &err);
            return;
        }
        all = one;
    } else {
        all = o->route_stats ? o->route_stats(o->route_stats_arg, c->who.workspace) : NULL;
        one = json_object_get(json_object_get(all, "routes"), name);
    }
    json_int_t total = json_integer_value(json_object_get(one, "requests"));
    json_t *by = one ? json_incref(json_object_get(one, "by")) : json_array();
    size_t i;
    json_t *row;
    json_array_foreach(by, i, row)
    {
        json_int_t n = json_integer_value(json_object_get(row, "requests"));
        json_int_t e = json_integer_value(json_object_get(row, "errors"));
        json_object_set_new(row, "share", json_real(total ? (double)n / (double)total : 0));
        json_object_set_new(row, "error_rate", json_real(n ? (double)e / (double)n : 0));
    }
    json_decref(all);
    reply_result(c, 0, 200,
                 json_pack("{sssssbsIso}", "route", name, "window",
                           window_s ? window : "since_start", "proxy", o->route_stats != NULL,
                           "requests", total, "by", by),
                 &err);
}

/* GET /v1/routes/{name}/health: each upstream's error rate (its errors, and the failures
 * of requests meant for it) and p95 against the route's gates, and the breaker's last
 * reported state. */
void sy_api_route_health(struct call *c)
{
    const char *name = c->arg[0];
    sy_err_t err = {0};
    json_t *route = NULL;
    int rc = sy_engine_route_get(c->eng, &c->who, name, &route, &err);
    if (rc < 0) {
        reply_err(c, &err);
        return;
    }
    const sy_http_opts_t *o = sy_http_opts(c->http);
    const json_t *gates = json_object_get(route, "health");
    double max_rate = json_number_value(json_object_get(gates, "max_error_rate"));
    double max_p95 = json_number_value(json_object_get(gates, "max_p95_ms"));
    json_t *ups = json_object();
    bool healthy = true;
    static const char *const names[] = {"legacy", "new"};
    for (int u = 0; u < 2; u++) {
        sy_route_health_t h = {0};
        if (o->route_health)
            (void)o->route_health(o->route_stats_arg, c->who.workspace, name, u, &h);
        (void)sy_engine_route_reported(c->eng, &c->who, name, u, &h);
        json_int_t n = h.requests, e = h.errors;
        double p95 = h.p95_ms;
        double rate = n ? (double)e / (double)n : 0;
        bool ok = rate < max_rate && p95 < max_p95;
        healthy &= ok;
        json_object_set_new(ups, names[u],
                            json_pack("{sIsIsfsfsb}", "requests", n, "errors", e, "error_rate",
                                      rate, "p95_ms", p95, "healthy", ok));
    }
    reply_result(c, 0, 200,
                 json_pack("{sssbsssOso}", "route", name, "healthy", healthy, "breaker",
                           sy_engine_route_breaker_state(c->eng, &c->who, name), "gates", gates,
                           "upstreams", ups),
                 &err);
    json_decref(route);
}

void sy_api_route_list(struct call *c)
{
    reply_read(c, sy_engine_route_list);
}

void sy_api_route_create(struct call *c)
{
    reply_write(c, 201, sy_engine_route_create);
}

void sy_api_route_get(struct call *c)
{
    reply_read_named(c, sy_engine_route_get);
}

void sy_api_route_replace(struct call *c)
{
    reply_write_named(c, 200, sy_engine_route_replace);
}

void sy_api_route_percentage(struct call *c)
{
    reply_write_named(c, 200, sy_engine_route_percentage);
}

void sy_api_route_enabled(struct call *c)
{
    reply_write_named(c, 200, sy_engine_route_enabled);
}

void sy_api_route_report(struct call *c)
{
    reply_write_named(c, 200, sy_engine_route_report);
}

void sy_api_route_delete(struct call *c)
{
    sy_err_t err = {0};
    json_t *out = NULL;
    int rc = sy_engine_route_delete(c->eng, &c->who, c->arg[0], &err);
    if (rc == 0)
        out = json_pack("{sbss}", "deleted", 1, "name", c->arg[0]);
    reply_result(c, rc, 200, out, &err);
}
