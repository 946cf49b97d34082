/* api_routes.c - /v1/routes[/{name}[/percentage|/enabled|/report|/stats|/health|/requests]]: the
 * proxy's routes. Reading takes a viewer; percentage and enabled (the rollout's moves),
 * and a proxy-only process's report, an editor; creating, replacing and deleting a route
 * an admin. */
#include <stdlib.h>
#include <string.h>

#include "codec/route_api_json.h"
#include "codec/route_json.h"
#include "core/route_health.h"
#include "http/internal.h"

/* A window or step as the routes' figures take it: N (seconds), Ns, Nm, Nh or Nd, from 1 s
 * to a year; its seconds, or 0 when it is none of those. */
static long long duration_s(const char *val)
{
    char *end;
    long long n = strtoll(val, &end, 10);
    long long unit = end == val              ? 0
                     : !*end                 ? 1
                     : strcmp(end, "s") == 0 ? 1
                     : strcmp(end, "m") == 0 ? 60
                     : strcmp(end, "h") == 0 ? 3600
                     : strcmp(end, "d") == 0 ? 86400
                                             : 0;
    return !unit || n < 1 || n > 366LL * 86400 / unit ? 0 : n * unit; /* no product overflows */
}

/* GET /v1/routes/{name}/stats: the proxy's counters of the route since the server started,
 * per (domain, upstream), with each row's share of the route's requests. */
void sy_api_route_stats(struct call *c)
{
    const char *name = c->arg[0];
    sy_err_t err = {0};
    sy_route_gates_t g;
    int rc = sy_engine_route_gates(c->eng, &c->who, name, &g, &err); /* the route exists */
    if (rc < 0) {
        reply_err(c, &err);
        return;
    }
    /* ?window=15m|1h|24h|7d|SECONDS: from the stored counters per minute */
    char key[16], val[32], window[32] = "";
    long long window_s = 0;
    int q;
    for (const char *p = c->query; (q = sy_query_next(&p, key, sizeof(key), val, sizeof(val)));) {
        window_s = q > 0 && strcmp(key, "window") == 0 ? duration_s(val) : 0;
        if (!window_s) {
            reply_error(c, 400, "invalid_input", q > 0 && strcmp(key, "window") ? key : "window",
                        "the query takes window: 15m, 1h, 24h, 7d or seconds (at most a year)");
            return;
        }
        snprintf(window, sizeof(window), "%s", val);
    }
    const sy_http_opts_t *o = sy_http_opts(c->http);
    json_t *all = NULL, *one = NULL;
    if (window_s) {
        sy_route_window_row_t *rows = NULL;
        size_t n = 0;
        if ((rc = sy_engine_route_stats_window(c->eng, &c->who, name, window_s * 1000, &rows, &n,
                                               &err)) < 0) {
            reply_err(c, &err);
            return;
        }
        all = one = sy_route_window_json(rows, n);
        free(rows);
        if (!all) {
            reply_json(c, 500, NULL); /* out of memory */
            return;
        }
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

/* GET /v1/routes/{name}/series?window=&step=: the stored counters per upstream over time,
 * in aligned buckets of whole minutes (engine.h, sy_engine_route_series). The window is 1h
 * unless given; the step is whole minutes, by default the least that keeps the window to 60
 * buckets. */
void sy_api_route_series(struct call *c)
{
    const char *name = c->arg[0];
    sy_err_t err = {0};
    char key[16], val[32], window[32] = "1h", step[32] = "";
    long long window_s = 3600, step_s = 0;
    int q;
    for (const char *p = c->query; (q = sy_query_next(&p, key, sizeof(key), val, sizeof(val)));) {
        bool is_step = q > 0 && strcmp(key, "step") == 0;
        long long s = q > 0 ? duration_s(val) : 0;
        if (!s || (is_step && s % 60)) {
            reply_error(c, 400, "invalid_input", is_step ? "step" : "window",
                        is_step
                            ? "step is whole minutes: 1m, 5m, 1h, 1d or seconds a multiple of 60"
                            : "window is 15m, 1h, 6h, 24h, 7d or seconds (at most a year)");
            return;
        }
        snprintf(is_step ? step : window, sizeof(step), "%s", val);
        *(is_step ? &step_s : &window_s) = s;
    }
    long long minutes = (window_s + 59) / 60;
    if (!step_s) {
        step_s = 60 * ((minutes + 59) / 60);
        snprintf(step, sizeof(step), "%lldm", step_s / 60);
    }
    sy_route_series_t s = {0};
    int rc =
        sy_engine_route_series(c->eng, &c->who, name, minutes * 60000, step_s * 1000, &s, &err);
    if (rc < 0) {
        reply_err(c, &err);
        return;
    }
    json_t *series = sy_route_series_json(&s);
    free(s.p);
    json_t *body = json_pack("{sssssssIsI}", "route", name, "window", window, "step", step,
                             "step_s", (json_int_t)step_s, "points", (json_int_t)s.points);
    if (!series || !body || json_object_update(body, series) < 0) {
        json_decref(series);
        json_decref(body);
        reply_json(c, 500, NULL); /* out of memory */
        return;
    }
    json_decref(series);
    reply_result(c, 0, 200, body, &err);
}

/* GET /v1/routes/{name}/health: each upstream's error rate (its errors, and the failures
 * of requests meant for it) and p95 against the route's gates, judged by the one rule
 * (core/route_health.h: any request is evidence here), and the breaker's last reported
 * state. */
void sy_api_route_health(struct call *c)
{
    const char *name = c->arg[0];
    sy_err_t err = {0};
    sy_route_gates_t g;
    int rc = sy_engine_route_gates(c->eng, &c->who, name, &g, &err);
    if (rc < 0) {
        reply_err(c, &err);
        return;
    }
    const sy_http_opts_t *o = sy_http_opts(c->http);
    json_t *ups = json_object();
    bool healthy = true;
    static const char *const names[] = {"legacy", "new"};
    for (int u = 0; u < 2; u++) {
        sy_route_health_t h = {0};
        if (o->route_health)
            (void)o->route_health(o->route_stats_arg, c->who.workspace, name, u, &h);
        (void)sy_engine_route_reported(c->eng, &c->who, name, u, &h);
        sy_route_verdict_t v = sy_route_judge(&g, &h, 1);
        healthy &= !v.failing;
        json_object_set_new(ups, names[u],
                            json_pack("{sIsIsfsfsb}", "requests", (json_int_t)h.requests, "errors",
                                      (json_int_t)h.errors, "error_rate", v.error_rate, "p95_ms",
                                      h.p95_ms, "healthy", !v.failing));
    }
    reply_result(c, 0, 200,
                 json_pack("{sssbsss{sfsI}so}", "route", name, "healthy", healthy, "breaker",
                           sy_engine_route_breaker_state(c->eng, &c->who, name), "gates",
                           "max_error_rate", g.max_error_rate, "max_p95_ms",
                           (json_int_t)g.max_p95_ms, "upstreams", ups),
                 &err);
}

/* One record of a route's recent-request log as the API shows it. */
static json_t *request_json(const sy_route_log_rec_t *r)
{
    return json_pack("{sIsssssosssbsbsisfso}", "at_ms", (json_int_t)r->at_ms, "method", r->method,
                     "path", r->path, "domain", r->domain[0] ? json_string(r->domain) : json_null(),
                     "upstream", sy_route_log_upstream_name(r->upstream), "fallback", r->fallback,
                     "probe", r->probe, "status", (int)r->status, "latency_ms", r->latency_ms,
                     "error_message",
                     r->error_message[0] ? json_string(r->error_message) : json_null());
}

/* GET /v1/routes/{name}/requests?limit=&upstream=&errors_only=&domain=: the route's recent
 * requests through this server's proxy, newest first. */
void sy_api_route_requests(struct call *c)
{
    const char *name = c->arg[0];
    sy_err_t err = {0};
    sy_route_gates_t g;
    if (sy_engine_route_gates(c->eng, &c->who, name, &g, &err) < 0) { /* the route exists */
        reply_err(c, &err);
        return;
    }
    sy_route_log_query_t q = {.limit = SY_ROUTE_LOG_LIMIT, .upstream = -1};
    char key[32], val[SY_ROUTE_MAX_DOMAIN + 2], domain[SY_ROUTE_MAX_DOMAIN + 2];
    long long n = 0;
    bool ok = true;
    int rc;
    for (const char *p = c->query;
         ok && (rc = sy_query_next(&p, key, sizeof(key), val, sizeof(val))) != 0;) {
        if (rc < 0) {
            reply_error(c, 400, "invalid_input", "",
                        "the query string does not parse (a bad %%-escape or an over-long part)");
            ok = false;
        } else if (strcmp(key, "limit") == 0) {
            ok = int_param(c, "limit", val, 1, SY_ROUTE_LOG_MAX_LIMIT, &n);
            q.limit = (size_t)n;
        } else if (strcmp(key, "upstream") == 0) {
            q.upstream = sy_route_log_upstream_of(val);
            if (q.upstream < 0) {
                reply_error(c, 400, "invalid_input", "upstream",
                            "upstream is legacy, new or error");
                ok = false;
            }
        } else if (strcmp(key, "errors_only") == 0) {
            ok = strcmp(val, "true") == 0 || strcmp(val, "false") == 0;
            q.errors_only = strcmp(val, "true") == 0;
            if (!ok)
                reply_error(c, 400, "invalid_input", "errors_only", "errors_only is true or false");
        } else if (strcmp(key, "domain") == 0) {
            q.domain = strcpy(domain, val);
        }
    }
    if (!ok)
        return;
    const sy_http_opts_t *o = sy_http_opts(c->http);
    sy_route_log_rec_t *recs = calloc(q.limit, sizeof(*recs));
    size_t got = 0;
    if (!recs || (o->route_requests && o->route_requests(o->route_stats_arg, c->who.workspace, name,
                                                         &q, recs, &got) < 0)) {
        free(recs);
        reply_error(c, 503, "unavailable", "", "out of memory");
        return;
    }
    json_t *a = json_array();
    for (size_t i = 0; a && i < got; i++)
        if (json_array_append_new(a, request_json(&recs[i])) < 0) {
            json_decref(a);
            a = NULL;
        }
    free(recs);
    reply_result(
        c, 0, 200,
        a ? json_pack("{sssbso}", "route", name, "proxy", o->route_requests != NULL, "requests", a)
          : NULL,
        &err);
}

void sy_api_route_list(struct call *c)
{
    sy_err_t err = {0};
    sy_routes_t *rs = NULL;
    int rc = sy_engine_route_list(c->eng, &c->who, &rs, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_routes_to_json(rs), &err);
    sy_routes_free(rs);
}

/* Answers one route (rs, taken) as GET shows it, or the call's error. */
static void reply_route(struct call *c, int rc, int status, sy_routes_t *rs, const sy_err_t *err)
{
    reply_result(c, rc, status, rc < 0 ? NULL : sy_route_spec_to_json(&rs->r[0]), err);
    sy_routes_free(rs);
}

/* A definition read from the body: created (POST: `name` NULL) or replacing route `name`
 * (PUT: the path's). */
static void route_put(struct call *c, const char *name, int status)
{
    sy_route_def_t def;
    sy_routes_t *hold = NULL, *rs = NULL;
    sy_err_t err = {0};
    int rc = sy_route_def_read(c->body, name, &def, &hold, &err);
    if (rc == 0) /* not this server's own --listen or --metrics-listen */
        rc = sy_http_own_listen_check(c->http, def.spec->listen, &err);
    if (rc == 0)
        rc = name ? sy_engine_route_replace(c->eng, &c->who, name, &def, &rs, &err)
                  : sy_engine_route_create(c->eng, &c->who, &def, &rs, &err);
    sy_routes_free(hold);
    reply_route(c, rc, status, rs, &err);
}

void sy_api_route_create(struct call *c)
{
    route_put(c, NULL, 201);
}

void sy_api_route_get(struct call *c)
{
    sy_err_t err = {0};
    sy_routes_t *rs = NULL;
    int rc = sy_engine_route_get(c->eng, &c->who, c->arg[0], &rs, &err);
    reply_route(c, rc, 200, rs, &err);
}

void sy_api_route_replace(struct call *c)
{
    route_put(c, c->arg[0], 200);
}

void sy_api_route_percentage(struct call *c)
{
    sy_route_percentage_change_t change = {0};
    if (!read_body(c, &change))
        return;
    sy_err_t err = {0};
    sy_routes_t *rs = NULL;
    int rc = sy_engine_route_percentage(c->eng, &c->who, c->arg[0], &change, &rs, &err);
    reply_route(c, rc, 200, rs, &err);
}

void sy_api_route_enabled(struct call *c)
{
    sy_route_enabled_change_t change = {0};
    if (!read_body(c, &change))
        return;
    sy_err_t err = {0};
    sy_routes_t *rs = NULL;
    int rc = sy_engine_route_enabled(c->eng, &c->who, c->arg[0], &change, &rs, &err);
    reply_route(c, rc, 200, rs, &err);
}

void sy_api_route_report(struct call *c)
{
    sy_route_report_t report;
    sy_route_report_rows_t rows;
    sy_err_t err = {0};
    if (sy_route_report_read(c->body, &report, &rows, &err) < 0) {
        reply_err(c, &err);
        return;
    }
    sy_route_report_answer_t a;
    int rc = sy_engine_route_report(c->eng, &c->who, c->arg[0], &report, &a, &err);
    sy_route_report_rows_free(&rows);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_route_report_json(c->arg[0], &a), &err);
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
