/* route_api_json.c - the proxy routes' requests and answers as JSON; see route_api_json.h. */
#include "codec/route_api_json.h"

#include <float.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The percentage's range and its two decimals are sy_route_percentage_bp's, which the
 * engine applies with its sentence: the schema asks for a number. */
#define PCT(m) offsetof(sy_route_percentage_change_t, m)
static const sy_field_t percentage_fields[] = {
    {"percentage", SY_K_NUMBER, PCT(percentage), SY_UNTRACKED, .required = true, .lo = -DBL_MAX,
     .hi = DBL_MAX, .says = "a number from 0 to 100 with at most two decimals"},
    {"reason", SY_K_TEXT, PCT(reason), SY_UNTRACKED, .required = true, .hi = 512,
     .says = "why, 1 to 512 characters"},
};
const sy_schema_t sy_route_percentage_change_schema = SY_SCHEMA(percentage_fields);

#define ENABLED(m) offsetof(sy_route_enabled_change_t, m)
static const sy_field_t enabled_fields[] = {
    {"enabled", SY_K_BOOL, ENABLED(enabled), SY_UNTRACKED, .required = true,
     .says = "true or false"},
    {"reason", SY_K_TEXT, ENABLED(reason), SY_UNTRACKED, .required = true, .hi = 512,
     .says = "why, 1 to 512 characters"},
};
const sy_schema_t sy_route_enabled_change_schema = SY_SCHEMA(enabled_fields);

/* {"2xx": N, ...} of the classes counted in status[1..5]. */
static json_t *status_json(const int64_t *status)
{
    json_t *o = json_object();
    for (int k = 1; o && k < 6; k++)
        if (status[k]) {
            char key[4] = {(char)('0' + k), 'x', 'x', 0};
            if (json_object_set_new(o, key, json_integer(status[k])) < 0)
                o = (json_decref(o), NULL);
        }
    return o;
}

json_t *sy_route_window_json(const sy_route_window_row_t *rows, size_t n)
{
    json_t *by = json_array();
    int64_t total = 0;
    for (size_t j = 0; by && j < n; j++) {
        const sy_route_window_row_t *r = &rows[j];
        total += r->requests;
        if (json_array_append_new(
                by, json_pack("{sosssssIsIsosfsfsfsf}", "domain",
                              r->domain[0] ? json_string(r->domain) : json_null(), "upstream",
                              r->upstream, "tried", r->tried, "requests", (json_int_t)r->requests,
                              "errors", (json_int_t)r->errors, "status", status_json(r->status),
                              "avg_ms", r->avg_ms, "p50_ms", r->p50_ms, "p95_ms", r->p95_ms,
                              "p99_ms", r->p99_ms)) < 0)
            by = (json_decref(by), NULL);
    }
    return by ? json_pack("{sIso}", "requests", (json_int_t)total, "by", by) : NULL;
}

/* A figure of a bucket, or null when it had no requests (a rate or a latency of nothing). */
static json_t *figure(const sy_series_point_t *p, double v)
{
    return p->requests ? json_real(v) : json_null();
}

json_t *sy_route_series_json(const sy_route_series_t *s)
{
    static const char *const names[SY_SERIES_UPSTREAMS] = {"legacy", "new", "error"};
    enum { REQ, ERR, RATE, P50, P95, P99, COLS };
    static const char *const cols[COLS] = {"requests", "errors", "error_rate",
                                           "p50_ms",   "p95_ms", "p99_ms"};
    json_t *start = json_array(), *ups = json_object();
    bool ok = start && ups;
    for (size_t i = 0; ok && i < s->points; i++)
        ok = json_array_append_new(start, json_integer(s->first_ms + (int64_t)i * s->step_ms)) == 0;
    for (int u = 0; ok && u < SY_SERIES_UPSTREAMS; u++) {
        json_t *o = json_object();
        ok = o && json_object_set_new(ups, names[u], o) == 0;
        json_t *a[COLS];
        for (int c = 0; ok && c < COLS; c++)
            ok = (a[c] = json_array()) && json_object_set_new(o, cols[c], a[c]) == 0;
        for (size_t i = 0; ok && i < s->points; i++) {
            const sy_series_point_t *p = &s->p[i * SY_SERIES_UPSTREAMS + u];
            ok = json_array_append_new(a[REQ], json_integer(p->requests)) == 0 &&
                 json_array_append_new(a[ERR], json_integer(p->errors)) == 0 &&
                 json_array_append_new(a[RATE], figure(p, p->error_rate)) == 0 &&
                 json_array_append_new(a[P50], figure(p, p->p50_ms)) == 0 &&
                 json_array_append_new(a[P95], figure(p, p->p95_ms)) == 0 &&
                 json_array_append_new(a[P99], figure(p, p->p99_ms)) == 0;
        }
    }
    if (!ok) {
        json_decref(start);
        json_decref(ups);
        return NULL;
    }
    return json_pack("{soso}", "start_ms", start, "upstreams", ups);
}

/* ---- a proxy-only process's report ------------------------------------------------------- */

#define REPORT_ROWS 256

/* Read by hand below: the schema names the members and the kind of breaker. */
struct report_top {
    const char *breaker;
    const json_t *counters;
};
#define REPORT(m) offsetof(struct report_top, m)
static const sy_field_t report_fields[] = {
    {"breaker", SY_K_TEXT, REPORT(breaker), SY_UNTRACKED, .hi = 16,
     .says = "\"open\", \"half_open\" or \"closed\""},
    {"counters", SY_K_JSON, REPORT(counters), SY_UNTRACKED, .says = "an array of at most 256 rows"},
};
const sy_schema_t sy_route_report_schema = SY_SCHEMA(report_fields);

/* Row i (`o`) into c, its histogram into hist: the kinds, with the engine's sentences. */
static int report_row(const json_t *o, size_t i, sy_route_counter_t *c, int64_t *hist,
                      sy_err_t *err)
{
    static const char *const keys[] = {"domain",   "upstream", "tried",  "requests", "errors",
                                       "total_ms", "hist",     "status", NULL};
    char f[64];
    snprintf(f, sizeof(f), "counters[%zu]", i);
    if (!json_is_object(o))
        return sy_err_set(err, -EINVAL, f, "a counters row is an object");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        size_t j = 0;
        while (keys[j] && strcmp(keys[j], k) != 0)
            j++;
        if (!keys[j]) {
            char fk[sizeof(err->field)];
            snprintf(fk, sizeof(fk), "%.24s.%.32s", f, k);
            return sy_err_set(err, SY_EUNKNOWN, fk, "unknown field \"%s\"", k);
        }
    }
    const json_t *dom = json_object_get(o, "domain"), *up = json_object_get(o, "upstream"),
                 *tried = json_object_get(o, "tried"), *n = json_object_get(o, "requests"),
                 *e = json_object_get(o, "errors"), *t = json_object_get(o, "total_ms");
    *c = (sy_route_counter_t){.domain = dom ? json_string_value(dom) : ""};
    if (!c->domain)
        return sy_err_set(err, -EINVAL, f, "domain: one of the route's domains, or \"\"");
    if (!(c->upstream = json_string_value(up)))
        return sy_err_set(err, -EINVAL, f, "upstream: \"legacy\", \"new\" or \"error\"");
    if (tried && !(c->tried = json_string_value(tried)))
        return sy_err_set(err, -EINVAL, f, "tried: \"legacy\" or \"new\" (required for errors)");
    if (!json_is_integer(n))
        return sy_err_set(err, -EINVAL, f, "requests: an integer from 1 to 10^12");
    c->requests = json_integer_value(n);
    if (e && !json_is_integer(e))
        return sy_err_set(err, -EINVAL, f, "errors: an integer from 0 to requests");
    c->errors = e ? json_integer_value(e) : 0;
    if (!json_is_number(t))
        return sy_err_set(err, -EINVAL, f, "total_ms: a number from 0 to requests x 86400000");
    c->total_ms = json_number_value(t);
    const json_t *h = json_object_get(o, "hist"), *st = json_object_get(o, "status");
    if (h && !json_is_object(h))
        return sy_err_set(err, -EINVAL, f, "hist: {BUCKET: COUNT}");
    json_object_foreach((json_t *)h, k, v)
    {
        char *end;
        long b = strtol(k, &end, 10);
        if (*end || end == k || b < 0 || b >= SY_LAT_BUCKETS || !json_is_integer(v))
            return sy_err_set(err, -EINVAL, f,
                              "hist: buckets 0..%d, counts >= 0 summing to at most requests",
                              SY_LAT_BUCKETS - 1);
        hist[b] = json_integer_value(v);
    }
    c->hist = h ? hist : NULL;
    if (st && !json_is_object(st))
        return sy_err_set(err, -EINVAL, f, "status: {\"2xx\": COUNT, ...}");
    json_object_foreach((json_t *)st, k, v)
    {
        if (strlen(k) != 3 || k[0] < '1' || k[0] > '5' || strcmp(k + 1, "xx") != 0 ||
            !json_is_integer(v))
            return sy_err_set(err, -EINVAL, f,
                              "status: classes 1xx..5xx, counts >= 0 summing to at most requests");
        c->status[k[0] - '0'] = json_integer_value(v);
    }
    return 0;
}

int sy_route_report_read(const json_t *body, sy_route_report_t *out, sy_route_report_rows_t *rows,
                         sy_err_t *err)
{
    struct report_top top = {0};
    *out = (sy_route_report_t){0};
    *rows = (sy_route_report_rows_t){0};
    int rc = sy_schema_read(&sy_route_report_schema, body, &top, "", err);
    if (rc < 0)
        return rc;
    size_t n = json_array_size(top.counters);
    if ((top.counters && !json_is_array(top.counters)) || n > REPORT_ROWS)
        return sy_err_set(err, -EINVAL, "counters", "an array of at most %d rows", REPORT_ROWS);
    rows->c = n ? calloc(n, sizeof(*rows->c)) : NULL;
    rows->hist = n ? calloc(n, sizeof(*rows->hist)) : NULL;
    if (n && (!rows->c || !rows->hist)) {
        sy_route_report_rows_free(rows);
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = report_row(json_array_get(top.counters, i), i, &rows->c[i], rows->hist[i], err)) <
            0) {
            sy_route_report_rows_free(rows);
            return rc;
        }
    rows->n = n;
    *out = (sy_route_report_t){.breaker = top.breaker, .counters = rows->c, .n = n};
    return 0;
}

void sy_route_report_rows_free(sy_route_report_rows_t *rows)
{
    free(rows->c);
    free(rows->hist);
    *rows = (sy_route_report_rows_t){0};
}

json_t *sy_route_report_json(const char *name, const sy_route_report_answer_t *a)
{
    return json_pack("{sssIss}", "route", name, "counters", (json_int_t)a->counters, "breaker",
                     a->breaker);
}
