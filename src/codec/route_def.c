/* route_def.c - a proxy route's definition as POST and PUT /v1/routes take it: validated
 * whole, every bad field named, and normalized (upstreams as objects with their timeouts
 * and pools, the breaker, health gates and plan with their defaults, keyword rules
 * lower-cased) into the route's JSON as GET shows it, which codec/route_json.h then reads
 * strictly into the typed spec the engine takes; see route_api_json.h. */
#include <float.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/route_api_json.h"
#include "codec/route_json.h"
#include "core/breaker.h"
#include "core/route.h"
#include "core/route_spec.h"
#include "core/utf8.h"

/* The limits are core/route_spec.h's (SY_ROUTE_MAX_*): the data plane's contract. */
#define DEFAULT_INSPECT    65536
#define DEFAULT_CONNECT_MS 1000
#define DEFAULT_READ_MS    30000
#define DEFAULT_KEEPALIVE  32

/* ---- validation ---------------------------------------------------------------------------- */

static int oom(sy_err_t *err)
{
    return sy_err_set(err, -ENOMEM, NULL, "out of memory");
}

/* Refuses a member of `o` not in `allowed` (NULL-terminated), naming it at `at`. */
static int only_fields(const json_t *o, const char *const *allowed, const char *at, sy_err_t *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], k) != 0)
            i++;
        if (!allowed[i]) {
            char f[64];
            snprintf(f, sizeof(f), "%s%s%.40s", at, *at ? "." : "", k);
            return sy_err_set(err, SY_EUNKNOWN, f, "unknown field \"%.64s\"", k);
        }
    }
    return 0;
}

static bool token_name(const char *s, size_t max)
{
    return sy_route_is_token(s, max);
}

static bool host_port(const char *s)
{
    return sy_route_is_host_port(s);
}

/* A whole number `k` of `o` from lo to hi into *out (kept when absent). */
static int get_int(const json_t *o, const char *k, const char *at, int64_t lo, int64_t hi,
                   int64_t *out, sy_err_t *err)
{
    const json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return sy_err_set(err, -EINVAL, at, "%s is an integer from %lld to %lld", at, (long long)lo,
                          (long long)hi);
    *out = json_integer_value(v);
    return 0;
}

/* An upstream: "HOST:PORT" or {"address", "connect_timeout_ms"?, "read_timeout_ms"?,
 * "keepalive"?}, as the object with its defaults. */
static int parse_upstream(const json_t *v, const char *at, json_t **out, sy_err_t *err)
{
    static const char *const fields[] = {"address", "connect_timeout_ms", "read_timeout_ms",
                                         "keepalive", NULL};
    const char *addr =
        json_is_string(v) ? json_string_value(v) : json_string_value(json_object_get(v, "address"));
    char f[64];
    int64_t connect = DEFAULT_CONNECT_MS, read = DEFAULT_READ_MS, keep = DEFAULT_KEEPALIVE;
    int rc = json_is_object(v) ? only_fields(v, fields, at, err) : 0;
    if (rc < 0)
        return rc;
    if (!host_port(addr)) {
        snprintf(f, sizeof(f), "%s%s", at, json_is_object(v) ? ".address" : "");
        return sy_err_set(err, -EINVAL, f, "%s is HOST:PORT (or {\"address\": HOST:PORT, ...})", f);
    }
    snprintf(f, sizeof(f), "%s.connect_timeout_ms", at);
    if ((rc = get_int(v, "connect_timeout_ms", f, 1, SY_ROUTE_MAX_CONNECT_MS, &connect, err)) < 0)
        return rc;
    snprintf(f, sizeof(f), "%s.read_timeout_ms", at);
    if ((rc = get_int(v, "read_timeout_ms", f, 1, SY_ROUTE_MAX_READ_MS, &read, err)) < 0)
        return rc;
    snprintf(f, sizeof(f), "%s.keepalive", at);
    if ((rc = get_int(v, "keepalive", f, 0, SY_ROUTE_MAX_KEEPALIVE, &keep, err)) < 0)
        return rc;
    *out = json_pack("{sssIsIsI}", "address", addr, "connect_timeout_ms", (json_int_t)connect,
                     "read_timeout_ms", (json_int_t)read, "keepalive", (json_int_t)keep);
    return *out ? 0 : oom(err);
}

static bool field_path(const char *s)
{
    return sy_route_is_field_path(s);
}

/* One detection rule: exactly one of path_prefix, header {name, value}, body_keywords
 * {field, words}, body_field. Copied as given (words lower-cased). */
static int parse_rule(const json_t *r, const char *at, json_t **out, sy_err_t *err)
{
    static const char *const kinds[] = {"path_prefix", "header", "body_keywords", "body_field",
                                        NULL};
    int rc = json_is_object(r) ? only_fields(r, kinds, at, err)
                               : sy_err_set(err, -EINVAL, at, "%s is an object", at);
    if (rc < 0)
        return rc;
    if (json_object_size(r) != 1)
        return sy_err_set(err, -EINVAL, at,
                          "%s has one of path_prefix, header, body_keywords, body_field", at);
    char f[192];
    const char *k = json_object_iter_key(json_object_iter((json_t *)r));
    const json_t *v = json_object_get(r, k);
    snprintf(f, sizeof(f), "%s.%s", at, k);
    if (strcmp(k, "path_prefix") == 0) {
        const char *p = json_string_value(v);
        if (!p || p[0] != '/' || strlen(p) > SY_ROUTE_MAX_PATH)
            return sy_err_set(err, -EINVAL, f, "%s is a path starting with /", f);
    } else if (strcmp(k, "body_field") == 0) {
        if (!field_path(json_string_value(v)))
            return sy_err_set(err, -EINVAL, f, "%s is a dotted field path (\"event.actions\")", f);
    } else if (strcmp(k, "header") == 0) {
        static const char *const hf[] = {"name", "value", NULL};
        if ((rc = json_is_object(v) ? only_fields(v, hf, f, err)
                                    : sy_err_set(err, -EINVAL, f, "%s is {name, value}", f)) < 0)
            return rc;
        if (!token_name(json_string_value(json_object_get(v, "name")), SY_ROUTE_MAX_TOKEN) ||
            !sy_utf8_text(json_string_value(json_object_get(v, "value")), SY_ROUTE_MAX_PATH))
            return sy_err_set(err, -EINVAL, f, "%s is {name: a header name, value: its value}", f);
    } else {
        static const char *const bf[] = {"field", "words", NULL};
        if ((rc = json_is_object(v) ? only_fields(v, bf, f, err)
                                    : sy_err_set(err, -EINVAL, f, "%s is {field, words}", f)) < 0)
            return rc;
        const json_t *words = json_object_get(v, "words");
        if (!field_path(json_string_value(json_object_get(v, "field"))) || !json_is_array(words) ||
            json_array_size(words) == 0 || json_array_size(words) > SY_ROUTE_MAX_WORDS)
            return sy_err_set(err, -EINVAL, f,
                              "%s is {field: a dotted field path, words: 1 to %d words}", f,
                              SY_ROUTE_MAX_WORDS);
        json_t *lower = json_array();
        size_t i;
        const json_t *w;
        json_array_foreach(words, i, w)
        {
            const char *s = json_string_value(w);
            if (!sy_utf8_text(s, SY_ROUTE_MAX_WORD) || strchr(s, ' ')) {
                json_decref(lower);
                return sy_err_set(err, -EINVAL, f, "%s: each word is 1 to 64 characters, no space",
                                  f);
            }
            char buf[SY_ROUTE_MAX_WORD + 1];
            size_t n = strlen(s);
            for (size_t c = 0; c <= n; c++)
                buf[c] = s[c] >= 'A' && s[c] <= 'Z' ? (char)(s[c] - 'A' + 'a') : s[c];
            if (json_array_append_new(lower, json_string(buf)) < 0) {
                json_decref(lower);
                return oom(err);
            }
        }
        *out = json_pack("{s{sOso}}", k, "field", json_object_get(v, "field"), "words", lower);
        return *out ? 0 : oom(err);
    }
    *out = json_deep_copy(r);
    return *out ? 0 : oom(err);
}

/* [{name, rules: [...]}, ...]: distinct names, 1.. rules each. */
static int parse_domains(const json_t *v, json_t **out, sy_err_t *err)
{
    *out = json_array();
    if (!*out)
        return oom(err);
    if (!v)
        return 0;
    if (!json_is_array(v) || json_array_size(v) > SY_ROUTE_MAX_DOMAINS)
        return sy_err_set(err, -EINVAL, "domains", "domains is a list of at most %d domains",
                          SY_ROUTE_MAX_DOMAINS);
    size_t i;
    const json_t *d;
    json_array_foreach(v, i, d)
    {
        static const char *const fields[] = {"name", "rules", NULL};
        char at[48];
        snprintf(at, sizeof(at), "domains[%zu]", i);
        int rc = json_is_object(d) ? only_fields(d, fields, at, err)
                                   : sy_err_set(err, -EINVAL, at, "%s is {name, rules}", at);
        if (rc < 0)
            return rc;
        const char *name = json_string_value(json_object_get(d, "name"));
        const json_t *rules = json_object_get(d, "rules");
        char f[112];
        snprintf(f, sizeof(f), "%s.name", at);
        if (!token_name(name, SY_ROUTE_MAX_DOMAIN))
            return sy_err_set(err, -EINVAL, f, "%s is 1 to %d letters, digits, - _ or .", f,
                              SY_ROUTE_MAX_DOMAIN);
        for (size_t k = 0; k < i; k++)
            if (strcmp(json_string_value(json_object_get(json_array_get(*out, k), "name")), name) ==
                0)
                return sy_err_set(err, -EINVAL, f, "domain \"%s\" is named twice", name);
        snprintf(f, sizeof(f), "%s.rules", at);
        if (!json_is_array(rules) || json_array_size(rules) == 0 ||
            json_array_size(rules) > SY_ROUTE_MAX_RULES)
            return sy_err_set(err, -EINVAL, f, "%s is a list of 1 to %d rules", f,
                              SY_ROUTE_MAX_RULES);
        json_t *parsed = json_array();
        size_t j;
        const json_t *r;
        json_array_foreach(rules, j, r)
        {
            json_t *one = NULL;
            snprintf(f, sizeof(f), "%s.rules[%zu]", at, j);
            if ((rc = parse_rule(r, f, &one, err)) < 0) {
                json_decref(parsed);
                return rc;
            }
            if (json_array_append_new(parsed, one) < 0) {
                json_decref(parsed);
                return oom(err);
            }
        }
        if (json_array_append_new(*out, json_pack("{ssso}", "name", name, "rules", parsed)) < 0)
            return oom(err);
    }
    return 0;
}

/* A list of distinct names of declared domains (`field`); [] when absent. */
static int domain_names(const json_t *body, const char *field, const json_t *domains, json_t **out,
                        sy_err_t *err)
{
    const json_t *v = json_object_get(body, field);
    if (v && !json_is_array(v))
        return sy_err_set(err, -EINVAL, field, "%s is a list of domain names", field);
    *out = v ? json_deep_copy(v) : json_array();
    if (!*out)
        return oom(err);
    size_t i, k;
    const json_t *n, *d;
    json_array_foreach(*out, i, n)
    {
        bool declared = false;
        json_array_foreach(domains, k, d) declared |=
            json_is_string(n) &&
            strcmp(json_string_value(json_object_get(d, "name")), json_string_value(n)) == 0;
        for (size_t j = 0; declared && j < i; j++)
            declared = strcmp(json_string_value(json_array_get(*out, j)), json_string_value(n));
        if (!declared)
            return sy_err_set(err, -EINVAL, field,
                              "%s names distinct domains of the route's domains", field);
    }
    return 0;
}

/* sticky: {header} | {cookie} | {body_field}, or absent or null (random), as a route is
 * shown. */
static int parse_sticky(const json_t *v, json_t **out, sy_err_t *err)
{
    static const char *const kinds[] = {"header", "cookie", "body_field", NULL};
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    int rc = json_is_object(v) ? only_fields(v, kinds, "sticky", err) : 0;
    if (rc < 0)
        return rc;
    const char *k =
        json_object_size(v) == 1 ? json_object_iter_key(json_object_iter((json_t *)v)) : NULL;
    const char *s = k ? json_string_value(json_object_get(v, k)) : NULL;
    if (!k || !(strcmp(k, "body_field") == 0 ? field_path(s) : token_name(s, SY_ROUTE_MAX_TOKEN)))
        return sy_err_set(err, -EINVAL, "sticky",
                          "sticky is one of {\"header\": NAME}, {\"cookie\": NAME}, "
                          "{\"body_field\": PATH}");
    *out = json_deep_copy(v);
    return *out ? 0 : oom(err);
}

static int parse_breaker(const json_t *v, json_t **out, sy_err_t *err)
{
    static const char *const fields[] = {"consecutive_failures",
                                         "error_rate",
                                         "min_requests",
                                         "window_ms",
                                         "open_ms",
                                         "probes",
                                         NULL};
    sy_breaker_config_t c = SY_BREAKER_DEFAULTS;
    int rc = !v || json_is_object(v) ? 0 : sy_err_set(err, -EINVAL, "breaker", "an object");
    if (rc == 0 && v)
        rc = only_fields(v, fields, "breaker", err);
    const json_t *er = json_object_get(v, "error_rate");
    if (rc == 0 && er && !json_is_number(er))
        rc = sy_err_set(err, -EINVAL, "breaker.error_rate", "a number");
    if (er)
        c.error_rate = json_number_value(er);
    if (rc == 0 &&
        ((rc = get_int(v, "consecutive_failures", "breaker.consecutive_failures", 1, 1000000,
                       &c.consecutive_failures, err)) < 0 ||
         (rc = get_int(v, "min_requests", "breaker.min_requests", 1, 1000000, &c.min_requests,
                       err)) < 0 ||
         (rc = get_int(v, "window_ms", "breaker.window_ms", 1, 3600000, &c.window_ms, err)) < 0 ||
         (rc = get_int(v, "open_ms", "breaker.open_ms", 1, 3600000, &c.open_ms, err)) < 0 ||
         (rc = get_int(v, "probes", "breaker.probes", 1, 1000, &c.probes, err)) < 0))
        return rc;
    if (rc == 0 && (rc = sy_breaker_check(&c, err)) < 0 && err) {
        char f[sizeof(err->field)];
        snprintf(f, sizeof(f), "breaker.%.40s", err->field);
        memcpy(err->field, f, sizeof(f));
    }
    if (rc < 0)
        return rc;
    *out = json_pack("{sIsfsIsIsIsI}", "consecutive_failures", (json_int_t)c.consecutive_failures,
                     "error_rate", c.error_rate, "min_requests", (json_int_t)c.min_requests,
                     "window_ms", (json_int_t)c.window_ms, "open_ms", (json_int_t)c.open_ms,
                     "probes", (json_int_t)c.probes);
    return *out ? 0 : oom(err);
}

/* health: {max_error_rate (0.001), max_p95_ms (2000)}. */
static int parse_health(const json_t *v, json_t **out, sy_err_t *err)
{
    static const char *const fields[] = {"max_error_rate", "max_p95_ms", NULL};
    int rc = !v || json_is_object(v) ? 0 : sy_err_set(err, -EINVAL, "health", "an object");
    if (rc == 0 && v)
        rc = only_fields(v, fields, "health", err);
    const json_t *er = json_object_get(v, "max_error_rate");
    double rate = er ? json_number_value(er) : 0.001;
    int64_t p95 = 2000;
    if (rc == 0 && er && (!json_is_number(er) || !(rate > 0) || !(rate <= 1)))
        rc = sy_err_set(err, -EINVAL, "health.max_error_rate", "a number above 0, at most 1");
    if (rc == 0)
        rc = get_int(v, "max_p95_ms", "health.max_p95_ms", 1, SY_ROUTE_MAX_P95_MS, &p95, err);
    if (rc < 0)
        return rc;
    *out = json_pack("{sfsI}", "max_error_rate", rate, "max_p95_ms", (json_int_t)p95);
    return *out ? 0 : oom(err);
}

static int route_percentage(const json_t *v, int64_t *bp, sy_err_t *err)
{
    uint32_t r;
    if (!json_is_number(v) || sy_route_percentage_bp(json_number_value(v), &r) < 0)
        return sy_err_set(err, -EINVAL, "percentage",
                          "percentage is a number from 0 to 100 with at most two decimals");
    *bp = r;
    return 0;
}

/* plan: {"steps" (ascending percentages, default 10 25 35 50 75 100), "hold_s" (600),
 * "min_requests" (100)}, or absent (NULL). */
static int parse_plan(const json_t *v, json_t **out, sy_err_t *err)
{
    static const char *const fields[] = {"steps", "hold_s", "min_requests", NULL};
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    int rc = json_is_object(v) ? only_fields(v, fields, "plan", err)
                               : sy_err_set(err, -EINVAL, "plan", "plan is an object");
    int64_t hold = 600, min = 100;
    if (rc == 0)
        rc = get_int(v, "hold_s", "plan.hold_s", 1, SY_ROUTE_MAX_HOLD_S, &hold, err);
    if (rc == 0)
        rc = get_int(v, "min_requests", "plan.min_requests", 0, SY_ROUTE_MAX_PLAN_MIN, &min, err);
    if (rc < 0)
        return rc;
    const json_t *steps = json_object_get(v, "steps");
    json_t *list = json_array();
    if (!list)
        return oom(err);
    if (!steps) {
        static const int defaults[] = {10, 25, 35, 50, 75, 100};
        for (size_t i = 0; i < 6; i++)
            if (json_array_append_new(list, json_real(defaults[i])) < 0) {
                json_decref(list);
                return oom(err);
            }
    } else if (!json_is_array(steps) || json_array_size(steps) == 0 ||
               json_array_size(steps) > SY_ROUTE_MAX_STEPS) {
        json_decref(list);
        return sy_err_set(err, -EINVAL, "plan.steps", "plan.steps is 1 to %d percentages",
                          SY_ROUTE_MAX_STEPS);
    }
    size_t i;
    const json_t *s;
    int64_t last = 0;
    json_array_foreach(steps, i, s)
    {
        int64_t bp = 0;
        sy_err_t e2 = {0};
        if (route_percentage(s, &bp, &e2) < 0 || bp <= last) {
            json_decref(list);
            return sy_err_set(err, -EINVAL, "plan.steps",
                              "plan.steps are ascending percentages above 0, at most 100, with at "
                              "most two decimals");
        }
        last = bp;
        if (json_array_append_new(list, json_real((double)bp / 100)) < 0) {
            json_decref(list);
            return oom(err);
        }
    }
    *out = json_pack("{sosIsI}", "steps", list, "hold_s", (json_int_t)hold, "min_requests",
                     (json_int_t)min);
    return *out ? 0 : oom(err);
}

/* The normalized definition of `body` (all but name, percentage and enabled) into *def;
 * -EINVAL naming the field. */
static int definition(const json_t *body, json_t **def, sy_err_t *err)
{
    static const char *const fields[] = {"name",
                                         "listen",
                                         "path_prefix",
                                         "upstreams",
                                         "percentage",
                                         "enabled",
                                         "domains",
                                         "protected_domains",
                                         "routable_domains",
                                         "sticky",
                                         "breaker",
                                         "plan",
                                         "prod_exec_domains",
                                         "health",
                                         "inspect_body_bytes",
                                         "retry_non_idempotent",
                                         NULL};
    int rc = json_is_object(body) ? only_fields(body, fields, "", err)
                                  : sy_err_set(err, -EINVAL, "", "the body is a JSON object");
    if (rc < 0)
        return rc;
    const char *listen = json_string_value(json_object_get(body, "listen"));
    const json_t *prefix = json_object_get(body, "path_prefix"),
                 *ups = json_object_get(body, "upstreams");
    if (json_object_get(body, "listen") && !host_port(listen))
        return sy_err_set(err, -EINVAL, "listen", "listen is HOST:PORT");
    if (prefix && (!json_is_string(prefix) || json_string_value(prefix)[0] != '/' ||
                   json_string_length(prefix) > SY_ROUTE_MAX_PATH))
        return sy_err_set(err, -EINVAL, "path_prefix", "path_prefix is a path starting with /");
    if (!listen) /* a path_prefix picks among the routes that share one */
        return sy_err_set(err, -EINVAL, "listen",
                          "listen is HOST:PORT: where the proxy serves the route");
    static const char *const up_fields[] = {"legacy", "new", NULL};
    if (!json_is_object(ups))
        return sy_err_set(err, -EINVAL, "upstreams",
                          "upstreams is {\"legacy\": ..., \"new\": ...}");
    if ((rc = only_fields(ups, up_fields, "upstreams", err)) < 0)
        return rc;
    const json_t *rnb = json_object_get(body, "retry_non_idempotent");
    if (rnb && !json_is_boolean(rnb))
        return sy_err_set(err, -EINVAL, "retry_non_idempotent", "true or false");
    int64_t inspect = DEFAULT_INSPECT;
    if ((rc = get_int(body, "inspect_body_bytes", "inspect_body_bytes", 0, SY_ROUTE_MAX_INSPECT,
                      &inspect, err)) < 0)
        return rc;
    json_t *legacy = NULL, *fresh = NULL, *domains = NULL, *protect = NULL, *routable = NULL,
           *sticky = NULL, *breaker = NULL, *health = NULL, *prod = NULL;
    if ((rc = parse_upstream(json_object_get(ups, "legacy"), "upstreams.legacy", &legacy, err)) ==
            0 &&
        (rc = parse_upstream(json_object_get(ups, "new"), "upstreams.new", &fresh, err)) == 0 &&
        (rc = parse_domains(json_object_get(body, "domains"), &domains, err)) == 0 &&
        (rc = domain_names(body, "protected_domains", domains, &protect, err)) == 0 &&
        (rc = domain_names(body, "routable_domains", domains, &routable, err)) == 0 &&
        (rc = domain_names(body, "prod_exec_domains", domains, &prod, err)) == 0 &&
        (rc = parse_sticky(json_object_get(body, "sticky"), &sticky, err)) == 0 &&
        (rc = parse_breaker(json_object_get(body, "breaker"), &breaker, err)) == 0 &&
        (rc = parse_health(json_object_get(body, "health"), &health, err)) == 0) {
        *def = json_pack("{s{soso}sososososOsosIsb}", "upstreams", "legacy", legacy, "new", fresh,
                         "domains", domains, "protected_domains", protect, "routable_domains",
                         routable, "breaker", breaker, "sticky", sticky ? sticky : json_null(),
                         "health", health, "inspect_body_bytes", (json_int_t)inspect,
                         "retry_non_idempotent", json_is_true(rnb));
        legacy = fresh = domains = protect = routable = breaker = health = NULL;
        json_decref(sticky);
        sticky = NULL;
        /* a member that cannot be set is out of memory, never a route without it */
        if (*def && json_object_set_new(*def, "prod_exec_domains", prod) < 0)
            rc = oom(err);
        else if (!*def)
            json_decref(prod);
        prod = NULL; /* taken, even by a failed set */
        json_t *plan = NULL;
        if (rc == 0 && *def && (rc = parse_plan(json_object_get(body, "plan"), &plan, err)) == 0 &&
            json_object_set_new(*def, "plan", plan ? plan : json_null()) < 0)
            rc = oom(err);
        if (rc == 0 && *def && listen &&
            json_object_set_new(*def, "listen", json_string(listen)) < 0)
            rc = oom(err);
        if (rc == 0 && *def && prefix && json_object_set(*def, "path_prefix", (json_t *)prefix) < 0)
            rc = oom(err);
        if (rc < 0) {
            json_decref(*def);
            *def = NULL;
        }
        rc = rc < 0 ? rc : *def ? 0 : oom(err);
    }
    json_decref(legacy);
    json_decref(fresh);
    json_decref(domains);
    json_decref(protect);
    json_decref(routable);
    json_decref(sticky);
    json_decref(breaker);
    json_decref(health);
    json_decref(prod);
    return rc;
}

/* ---- the request ---------------------------------------------------------------------------- */

/* The members and the kinds of the scalar ones; the rest is read by the parsers above. */
struct def_top {
    const char *name, *listen, *path_prefix;
    double percentage;
    bool enabled, retry_non_idempotent;
    int64_t inspect_body_bytes;
    const json_t *upstreams, *domains, *protected_domains, *routable_domains, *sticky, *breaker,
        *plan, *prod_exec_domains, *health;
};
#define TOP(m) offsetof(struct def_top, m)
static const sy_field_t def_fields[] = {
    {"name", SY_K_TEXT, TOP(name), SY_UNTRACKED, .hi = SY_ROUTE_MAX_NAME,
     .says = "1 to 64 letters, digits, - _ or ."},
    {"listen", SY_K_TEXT, TOP(listen), SY_UNTRACKED, .hi = SY_ROUTE_MAX_ADDRESS,
     .says = "HOST:PORT"},
    {"path_prefix", SY_K_TEXT, TOP(path_prefix), SY_UNTRACKED, .hi = SY_ROUTE_MAX_PATH,
     .says = "a path starting with /"},
    {"upstreams", SY_K_JSON, TOP(upstreams), SY_UNTRACKED,
     .says = "{\"legacy\": ..., \"new\": ...}"},
    {"percentage", SY_K_NUMBER, TOP(percentage), SY_UNTRACKED, .lo = -DBL_MAX, .hi = DBL_MAX,
     .says = "a number from 0 to 100 with at most two decimals"},
    {"enabled", SY_K_BOOL, TOP(enabled), SY_UNTRACKED, .says = "true or false"},
    {"domains", SY_K_JSON, TOP(domains), SY_UNTRACKED, .says = "a list of domains"},
    {"protected_domains", SY_K_JSON, TOP(protected_domains), SY_UNTRACKED,
     .says = "a list of domain names"},
    {"routable_domains", SY_K_JSON, TOP(routable_domains), SY_UNTRACKED,
     .says = "a list of domain names"},
    {"sticky", SY_K_JSON, TOP(sticky), SY_UNTRACKED,
     .says = "one of {\"header\": NAME}, {\"cookie\": NAME}, {\"body_field\": PATH}"},
    {"breaker", SY_K_JSON, TOP(breaker), SY_UNTRACKED, .says = "an object"},
    {"plan", SY_K_JSON, TOP(plan), SY_UNTRACKED, .says = "an object"},
    {"prod_exec_domains", SY_K_JSON, TOP(prod_exec_domains), SY_UNTRACKED,
     .says = "a list of domain names"},
    {"health", SY_K_JSON, TOP(health), SY_UNTRACKED, .says = "an object"},
    {"inspect_body_bytes", SY_K_INT, TOP(inspect_body_bytes), SY_UNTRACKED, .lo = 0,
     .hi = SY_ROUTE_MAX_INSPECT, .says = "an integer from 0 to 16777216"},
    {"retry_non_idempotent", SY_K_BOOL, TOP(retry_non_idempotent), SY_UNTRACKED,
     .says = "true or false"},
};
const sy_schema_t sy_route_def_schema = SY_SCHEMA(def_fields);

int sy_route_def_read(const json_t *body, const char *name, sy_route_def_t *def, sy_routes_t **hold,
                      sy_err_t *err)
{
    struct def_top top = {0};
    *def = (sy_route_def_t){0};
    *hold = NULL;
    int rc = sy_schema_read(&sy_route_def_schema, body, &top, "", err);
    if (rc < 0)
        return rc;
    const char *nm = top.name ? top.name : name;
    if (!sy_route_is_token(nm, SY_ROUTE_MAX_NAME))
        return sy_err_set(err, -EINVAL, "name", "name is 1 to %d letters, digits, - _ or .",
                          SY_ROUTE_MAX_NAME);
    json_t *o = NULL;
    if ((rc = definition(body, &o, err)) < 0)
        return rc;
    const json_t *pct = json_object_get(body, "percentage");
    int64_t bp = 0;
    if (pct && (rc = route_percentage(pct, &bp, err)) < 0) {
        json_decref(o);
        return rc;
    }
    /* what the strict reader wants of a whole route: the values given, or placeholders the
     * engine replaces (def->has_percentage, has_enabled; the times are its own) */
    if (json_object_update_new(
            o, json_pack("{sssfsbsIsI}", "name", nm, "percentage", (double)bp / 100, "enabled",
                         top.enabled || !json_object_get(body, "enabled"), "created_ms",
                         (json_int_t)0, "updated_ms", (json_int_t)0)) < 0) {
        json_decref(o);
        return oom(err);
    }
    *hold = sy_routes_new();
    rc = *hold ? sy_route_spec_from_json(o, 0, false, *hold, err) : oom(err);
    json_decref(o);
    if (rc < 0) {
        sy_routes_free(*hold);
        *hold = NULL;
        return rc;
    }
    *def = (sy_route_def_t){.spec = &(*hold)->r[0],
                            .has_percentage = pct != NULL,
                            .has_enabled = json_object_get(body, "enabled") != NULL};
    return 0;
}
