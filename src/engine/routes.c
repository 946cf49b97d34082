/* routes.c - the proxy's routes: what each splits between its `legacy` and `new` upstreams,
 * how it detects a request's domain, and which domains it never sends to `new`.
 *
 * A route's definition is validated whole and kept normalized (upstreams as objects with
 * their timeouts, the breaker and health gates with their defaults), in memory and in the
 * store; a change is one transaction with its audit event. Percentage and enabled have
 * their own calls, with a reason, because they are what people change during a rollout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/breaker.h"
#include "core/latency.h"
#include "core/route.h"
#include "engine/internal.h"

#define REASON_MAX         512
#define MAX_DOMAINS        64
#define MAX_RULES          32
#define MAX_WORDS          64
#define DEFAULT_INSPECT    65536
#define MAX_INSPECT        (16 << 20)
#define DEFAULT_CONNECT_MS 1000
#define DEFAULT_READ_MS    30000
#define DEFAULT_KEEPALIVE  32

/* ---- validation ---------------------------------------------------------------------------- */

/* A name of 1 to `max` letters, digits, '-', '_' or '.'. */
static bool token_name(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return false;
    return true;
}

/* "HOST:PORT": a host of letters, digits, '.', '-' (or "[IPv6]") and a port 1..65535. */
static bool host_port(const char *s)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    if (!colon || colon == s || strlen(s) > 255)
        return false;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 1 || port > 65535)
        return false;
    bool v6 = s[0] == '[';
    if (v6 && colon[-1] != ']')
        return false;
    for (const char *c = s + v6; c < colon - v6; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '-' || (v6 && *c == ':')))
            return false;
    return true;
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
    int rc = json_is_object(v) ? sy_eng_only_fields(v, fields, at, err) : 0;
    if (rc < 0)
        return rc;
    if (!host_port(addr)) {
        snprintf(f, sizeof(f), "%s%s", at, json_is_object(v) ? ".address" : "");
        return sy_err_set(err, -EINVAL, f, "%s is HOST:PORT (or {\"address\": HOST:PORT, ...})", f);
    }
    snprintf(f, sizeof(f), "%s.connect_timeout_ms", at);
    if ((rc = get_int(v, "connect_timeout_ms", f, 1, 600000, &connect, err)) < 0)
        return rc;
    snprintf(f, sizeof(f), "%s.read_timeout_ms", at);
    if ((rc = get_int(v, "read_timeout_ms", f, 1, 3600000, &read, err)) < 0)
        return rc;
    snprintf(f, sizeof(f), "%s.keepalive", at);
    if ((rc = get_int(v, "keepalive", f, 0, 10000, &keep, err)) < 0)
        return rc;
    *out = json_pack("{sssIsIsI}", "address", addr, "connect_timeout_ms", (json_int_t)connect,
                     "read_timeout_ms", (json_int_t)read, "keepalive", (json_int_t)keep);
    return *out ? 0 : sy_eng_oom(err);
}

/* A dotted path of JSON field names: "message", "event.text". */
static bool field_path(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 256 || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20)
            return false;
    return true;
}

/* One detection rule: exactly one of path_prefix, header {name, value}, body_keywords
 * {field, words}, body_field. Copied as given (words lower-cased). */
static int parse_rule(const json_t *r, const char *at, json_t **out, sy_err_t *err)
{
    static const char *const kinds[] = {"path_prefix", "header", "body_keywords", "body_field",
                                        NULL};
    int rc = json_is_object(r) ? sy_eng_only_fields(r, kinds, at, err)
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
        if (!p || p[0] != '/' || strlen(p) > 1024)
            return sy_err_set(err, -EINVAL, f, "%s is a path starting with /", f);
    } else if (strcmp(k, "body_field") == 0) {
        if (!field_path(json_string_value(v)))
            return sy_err_set(err, -EINVAL, f, "%s is a dotted field path (\"event.actions\")", f);
    } else if (strcmp(k, "header") == 0) {
        static const char *const hf[] = {"name", "value", NULL};
        if ((rc = json_is_object(v) ? sy_eng_only_fields(v, hf, f, err)
                                    : sy_err_set(err, -EINVAL, f, "%s is {name, value}", f)) < 0)
            return rc;
        if (!token_name(json_string_value(json_object_get(v, "name")), 128) ||
            !sy_eng_valid_name(json_string_value(json_object_get(v, "value")), 1024))
            return sy_err_set(err, -EINVAL, f, "%s is {name: a header name, value: its value}", f);
    } else {
        static const char *const bf[] = {"field", "words", NULL};
        if ((rc = json_is_object(v) ? sy_eng_only_fields(v, bf, f, err)
                                    : sy_err_set(err, -EINVAL, f, "%s is {field, words}", f)) < 0)
            return rc;
        const json_t *words = json_object_get(v, "words");
        if (!field_path(json_string_value(json_object_get(v, "field"))) || !json_is_array(words) ||
            json_array_size(words) == 0 || json_array_size(words) > MAX_WORDS)
            return sy_err_set(err, -EINVAL, f,
                              "%s is {field: a dotted field path, words: 1 to %d words}", f,
                              MAX_WORDS);
        json_t *lower = json_array();
        size_t i;
        const json_t *w;
        json_array_foreach(words, i, w)
        {
            const char *s = json_string_value(w);
            if (!sy_eng_valid_name(s, 64) || strchr(s, ' ')) {
                json_decref(lower);
                return sy_err_set(err, -EINVAL, f, "%s: each word is 1 to 64 characters, no space",
                                  f);
            }
            char buf[65];
            size_t n = strlen(s);
            for (size_t c = 0; c <= n; c++)
                buf[c] = s[c] >= 'A' && s[c] <= 'Z' ? (char)(s[c] - 'A' + 'a') : s[c];
            json_array_append_new(lower, json_string(buf));
        }
        *out = json_pack("{s{sOso}}", k, "field", json_object_get(v, "field"), "words", lower);
        return *out ? 0 : sy_eng_oom(err);
    }
    *out = json_deep_copy(r);
    return *out ? 0 : sy_eng_oom(err);
}

/* [{name, rules: [...]}, ...]: distinct names, 1.. rules each. */
static int parse_domains(const json_t *v, json_t **out, sy_err_t *err)
{
    *out = json_array();
    if (!*out)
        return sy_eng_oom(err);
    if (!v)
        return 0;
    if (!json_is_array(v) || json_array_size(v) > MAX_DOMAINS)
        return sy_err_set(err, -EINVAL, "domains", "domains is a list of at most %d domains",
                          MAX_DOMAINS);
    size_t i;
    const json_t *d;
    json_array_foreach(v, i, d)
    {
        static const char *const fields[] = {"name", "rules", NULL};
        char at[48];
        snprintf(at, sizeof(at), "domains[%zu]", i);
        int rc = json_is_object(d) ? sy_eng_only_fields(d, fields, at, err)
                                   : sy_err_set(err, -EINVAL, at, "%s is {name, rules}", at);
        if (rc < 0)
            return rc;
        const char *name = json_string_value(json_object_get(d, "name"));
        const json_t *rules = json_object_get(d, "rules");
        char f[112];
        snprintf(f, sizeof(f), "%s.name", at);
        if (!token_name(name, 64))
            return sy_err_set(err, -EINVAL, f, "%s is 1 to 64 letters, digits, - _ or .", f);
        for (size_t k = 0; k < i; k++)
            if (strcmp(json_string_value(json_object_get(json_array_get(*out, k), "name")), name) ==
                0)
                return sy_err_set(err, -EINVAL, f, "domain \"%s\" is named twice", name);
        snprintf(f, sizeof(f), "%s.rules", at);
        if (!json_is_array(rules) || json_array_size(rules) == 0 ||
            json_array_size(rules) > MAX_RULES)
            return sy_err_set(err, -EINVAL, f, "%s is a list of 1 to %d rules", f, MAX_RULES);
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
            json_array_append_new(parsed, one);
        }
        json_array_append_new(*out, json_pack("{ssso}", "name", name, "rules", parsed));
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
        return sy_eng_oom(err);
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

/* sticky: {header} | {cookie} | {body_field}, or absent (random). */
static int parse_sticky(const json_t *v, json_t **out, sy_err_t *err)
{
    static const char *const kinds[] = {"header", "cookie", "body_field", NULL};
    *out = NULL;
    if (!v)
        return 0;
    int rc = json_is_object(v) ? sy_eng_only_fields(v, kinds, "sticky", err) : 0;
    if (rc < 0)
        return rc;
    const char *k =
        json_object_size(v) == 1 ? json_object_iter_key(json_object_iter((json_t *)v)) : NULL;
    const char *s = k ? json_string_value(json_object_get(v, k)) : NULL;
    if (!k || !(strcmp(k, "body_field") == 0 ? field_path(s) : token_name(s, 128)))
        return sy_err_set(err, -EINVAL, "sticky",
                          "sticky is one of {\"header\": NAME}, {\"cookie\": NAME}, "
                          "{\"body_field\": PATH}");
    *out = json_deep_copy(v);
    return *out ? 0 : sy_eng_oom(err);
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
        rc = sy_eng_only_fields(v, fields, "breaker", err);
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
    return *out ? 0 : sy_eng_oom(err);
}

/* health: {max_error_rate (0.001), max_p95_ms (2000)}. */
static int parse_health(const json_t *v, json_t **out, sy_err_t *err)
{
    static const char *const fields[] = {"max_error_rate", "max_p95_ms", NULL};
    int rc = !v || json_is_object(v) ? 0 : sy_err_set(err, -EINVAL, "health", "an object");
    if (rc == 0 && v)
        rc = sy_eng_only_fields(v, fields, "health", err);
    const json_t *er = json_object_get(v, "max_error_rate");
    double rate = er ? json_number_value(er) : 0.001;
    int64_t p95 = 2000;
    if (rc == 0 && er && (!json_is_number(er) || !(rate > 0) || !(rate <= 1)))
        rc = sy_err_set(err, -EINVAL, "health.max_error_rate", "a number above 0, at most 1");
    if (rc == 0)
        rc = get_int(v, "max_p95_ms", "health.max_p95_ms", 1, 3600000, &p95, err);
    if (rc < 0)
        return rc;
    *out = json_pack("{sfsI}", "max_error_rate", rate, "max_p95_ms", (json_int_t)p95);
    return *out ? 0 : sy_eng_oom(err);
}

/* A percentage 0..100 with at most two decimals, in basis points. */
static int parse_percentage(const json_t *v, int64_t *bp, sy_err_t *err)
{
    double p = json_number_value(v), scaled = p * 100;
    int64_t r = (int64_t)(scaled + (scaled < 0 ? -0.5 : 0.5));
    if (!json_is_number(v) || !(p >= 0) || !(p <= 100) || scaled - (double)r > 1e-6 ||
        (double)r - scaled > 1e-6)
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
    int rc = json_is_object(v) ? sy_eng_only_fields(v, fields, "plan", err)
                               : sy_err_set(err, -EINVAL, "plan", "plan is an object");
    int64_t hold = 600, min = 100;
    if (rc == 0)
        rc = get_int(v, "hold_s", "plan.hold_s", 1, 7 * 86400, &hold, err);
    if (rc == 0)
        rc = get_int(v, "min_requests", "plan.min_requests", 0, 1000000000, &min, err);
    if (rc < 0)
        return rc;
    const json_t *steps = json_object_get(v, "steps");
    json_t *list = json_array();
    if (!list)
        return sy_eng_oom(err);
    if (!steps) {
        static const int defaults[] = {10, 25, 35, 50, 75, 100};
        for (size_t i = 0; i < 6; i++)
            json_array_append_new(list, json_real(defaults[i]));
    } else if (!json_is_array(steps) || json_array_size(steps) == 0 ||
               json_array_size(steps) > 20) {
        json_decref(list);
        return sy_err_set(err, -EINVAL, "plan.steps", "plan.steps is 1 to 20 percentages");
    }
    size_t i;
    const json_t *s;
    int64_t last = 0;
    json_array_foreach(steps, i, s)
    {
        int64_t bp = 0;
        sy_err_t e2 = {0};
        if (parse_percentage(s, &bp, &e2) < 0 || bp <= last) {
            json_decref(list);
            return sy_err_set(err, -EINVAL, "plan.steps",
                              "plan.steps are ascending percentages above 0, at most 100, with at "
                              "most two decimals");
        }
        last = bp;
        json_array_append_new(list, json_real((double)bp / 100));
    }
    *out = json_pack("{sosIsI}", "steps", list, "hold_s", (json_int_t)hold, "min_requests",
                     (json_int_t)min);
    return *out ? 0 : sy_eng_oom(err);
}

/* The definition of `body` (all but name, percentage and enabled), normalized. */
static int parse_definition(const json_t *body, json_t **def, sy_err_t *err)
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
    int rc = json_is_object(body) ? sy_eng_only_fields(body, fields, "", err)
                                  : sy_err_set(err, -EINVAL, "", "the body is a JSON object");
    if (rc < 0)
        return rc;
    const char *listen = json_string_value(json_object_get(body, "listen"));
    const json_t *prefix = json_object_get(body, "path_prefix"),
                 *ups = json_object_get(body, "upstreams");
    if (json_object_get(body, "listen") && !host_port(listen))
        return sy_err_set(err, -EINVAL, "listen", "listen is HOST:PORT");
    if (prefix && (!json_is_string(prefix) || json_string_value(prefix)[0] != '/' ||
                   json_string_length(prefix) > 1024))
        return sy_err_set(err, -EINVAL, "path_prefix", "path_prefix is a path starting with /");
    if (!listen) /* a path_prefix picks among the routes that share one */
        return sy_err_set(err, -EINVAL, "listen",
                          "listen is HOST:PORT: where the proxy serves the route");
    static const char *const up_fields[] = {"legacy", "new", NULL};
    if (!json_is_object(ups))
        return sy_err_set(err, -EINVAL, "upstreams",
                          "upstreams is {\"legacy\": ..., \"new\": ...}");
    if ((rc = sy_eng_only_fields(ups, up_fields, "upstreams", err)) < 0)
        return rc;
    const json_t *rnb = json_object_get(body, "retry_non_idempotent");
    if (rnb && !json_is_boolean(rnb))
        return sy_err_set(err, -EINVAL, "retry_non_idempotent", "true or false");
    int64_t inspect = DEFAULT_INSPECT;
    if ((rc = get_int(body, "inspect_body_bytes", "inspect_body_bytes", 0, MAX_INSPECT, &inspect,
                      err)) < 0)
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
        if (*def)
            json_object_set_new(*def, "prod_exec_domains", prod);
        else
            json_decref(prod);
        prod = NULL;
        json_t *plan = NULL;
        if (*def && (rc = parse_plan(json_object_get(body, "plan"), &plan, err)) == 0)
            json_object_set_new(*def, "plan", plan ? plan : json_null());
        if (rc < 0) {
            json_decref(*def);
            *def = NULL;
        }
        if (*def && listen)
            json_object_set_new(*def, "listen", json_string(listen));
        if (*def && prefix)
            json_object_set(*def, "path_prefix", (json_t *)prefix);
        rc = rc < 0 ? rc : *def ? 0 : sy_eng_oom(err);
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

/* ---- state ------------------------------------------------------------------------------------
 */

static struct route *find(sy_engine_t *eng, int64_t ws, const char *name)
{
    for (size_t i = 0; i < eng->n_routes; i++)
        if (eng->routes[i].ws == ws && strcmp(eng->routes[i].name, name) == 0)
            return &eng->routes[i];
    return NULL;
}

/* A route of another name (of any workspace: a port is the machine's) listening on
 * `listen` without a prefix, or with the same prefix. */
static const struct route *clash(const sy_engine_t *eng, int64_t ws, const char *name,
                                 const json_t *def)
{
    const char *listen = json_string_value(json_object_get(def, "listen"));
    const char *prefix = json_string_value(json_object_get(def, "path_prefix"));
    for (size_t i = 0; i < eng->n_routes; i++) {
        const struct route *r = &eng->routes[i];
        if (r->ws == ws && strcmp(r->name, name) == 0)
            continue;
        const char *l = json_string_value(json_object_get(r->def, "listen"));
        const char *p = json_string_value(json_object_get(r->def, "path_prefix"));
        /* one address, and on it one route per prefix (none being the whole address) */
        if (listen && l && strcmp(l, listen) == 0 && (!prefix || !p || strcmp(p, prefix) == 0))
            return r;
    }
    return NULL;
}

static json_t *route_json(const struct route *r)
{
    json_t *o = json_deep_copy(r->def);
    if (o && json_object_update_new(o, json_pack("{sssfsbsIsI}", "name", r->name, "percentage",
                                                 (double)r->bp / 100, "enabled", r->enabled,
                                                 "created_ms", (json_int_t)r->created_ms,
                                                 "updated_ms", (json_int_t)r->updated_ms)) < 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

static int load_route(void *arg, const sy_store_route_t *row)
{
    sy_engine_t *eng = arg;
    json_error_t je;
    json_t *def = json_loads(row->definition, 0, &je);
    if (!def || sy_eng_grow((void **)&eng->routes, &eng->cap_routes, eng->n_routes + 1,
                            sizeof(*eng->routes)) < 0) {
        json_decref(def);
        return def ? -ENOMEM : -EIO;
    }
    struct route *r = &eng->routes[eng->n_routes++];
    *r = (struct route){.id = row->id,
                        .ws = row->workspace,
                        .def = def,
                        .bp = row->percentage_bp,
                        .enabled = row->enabled,
                        .created_ms = row->created_ms,
                        .updated_ms = row->updated_ms};
    snprintf(r->name, sizeof(r->name), "%s", row->name);
    return 0;
}

int sy_eng_routes_open(sy_engine_t *eng, sy_err_t *err)
{
    int rc = sy_store_route_list(eng->store, load_route, eng, err);
    if (rc == -EIO && err && !err->msg[0])
        return sy_err_set(err, rc, NULL, "store: a route's definition does not parse");
    return rc == -ENOMEM ? sy_eng_oom(err) : rc;
}

void sy_eng_routes_close(sy_engine_t *eng)
{
    for (size_t i = 0; i < eng->n_routes; i++)
        json_decref(eng->routes[i].def);
    free(eng->routes);
    eng->routes = NULL;
    eng->n_routes = eng->cap_routes = 0;
}

/* Writes `next` (for the route `old`, NULL when new) with its audit event `action` and
 * `why`; then takes it in (the definition is owned by it afterwards). */
static int commit(sy_engine_t *eng, const sy_principal_t *actor, struct route *old,
                  struct route *next, const char *action, const char *why, json_t **out,
                  sy_err_t *err)
{
    char *text = json_dumps(next->def, JSON_COMPACT);
    json_t *before = old ? route_json(old) : NULL, *after = route_json(next);
    if (after && why)
        json_object_set_new(after, "reason", json_string(why));
    int rc = text && after && (!old || before) ? sy_store_begin(eng->store, err) : sy_eng_oom(err);
    if (rc == 0) {
        char res[SY_ROUTE_MAX_NAME + 8];
        snprintf(res, sizeof(res), "route:%s", next->name);
        sy_store_route_t row = {.workspace = next->ws,
                                .name = next->name,
                                .definition = text,
                                .percentage_bp = next->bp,
                                .enabled = next->enabled,
                                .created_ms = next->created_ms,
                                .updated_ms = next->updated_ms};
        if ((rc = sy_store_route_put(eng->store, &row, &next->id, err)) < 0 ||
            (rc = sy_eng_audit(eng, actor, next->ws, action, res, before, after, err)) < 0)
            sy_store_rollback(eng->store);
        else
            rc = sy_store_commit(eng->store, err);
    }
    if (rc == 0 && !old &&
        sy_eng_grow((void **)&eng->routes, &eng->cap_routes, eng->n_routes + 1,
                    sizeof(*eng->routes)) < 0)
        rc = sy_eng_oom(err); /* committed, so a restart has it; refused now all the same */
    if (rc == 0) {
        if (old) {
            if (old->def != next->def)
                json_decref(old->def);
            if (next->bp != old->bp)
                next->step_ms = 0; /* a new step: the plan holds it from now */
            *old = *next;
        } else {
            eng->routes[eng->n_routes++] = *next;
        }
        *out = route_json(old ? old : &eng->routes[eng->n_routes - 1]);
        if (!*out)
            rc = sy_eng_oom(err);
        sy_eng_routes_changed(eng);
    }
    free(text);
    json_decref(before);
    json_decref(after);
    return rc;
}

/* ---- the API ----------------------------------------------------------------------------------
 */

/* A reason: 1 to REASON_MAX characters, required. */
static int get_reason(const json_t *body, const char **why, sy_err_t *err)
{
    *why = json_string_value(json_object_get(body, "reason"));
    if (!sy_eng_valid_name(*why, REASON_MAX))
        return sy_err_set(err, -EINVAL, "reason", "a reason is required (1 to %d characters)",
                          REASON_MAX);
    return 0;
}

/* A whole route from `body` named `name`: its definition, percentage and enabled (the
 * defaults of a new route, or `old`'s when not given). */
static int whole(sy_engine_t *eng, int64_t ws, const char *name, const json_t *body,
                 const struct route *old, struct route *next, sy_err_t *err)
{
    int64_t now = sy_engine_now_ms(eng);
    *next = (struct route){.ws = ws,
                           .bp = old ? old->bp : 0,
                           .enabled = old ? old->enabled : true,
                           .created_ms = old ? old->created_ms : now,
                           .updated_ms = now,
                           .id = old ? old->id : 0};
    snprintf(next->name, sizeof(next->name), "%s", name);
    const json_t *pct = json_object_get(body, "percentage"), *en = json_object_get(body, "enabled");
    int rc = parse_definition(body, &next->def, err);
    if (rc == 0 && pct)
        rc = parse_percentage(pct, &next->bp, err);
    if (rc == 0 && en && !json_is_boolean(en))
        rc = sy_err_set(err, -EINVAL, "enabled", "enabled must be true or false");
    if (rc == 0 && en)
        next->enabled = json_is_true(en);
    const struct route *other = rc == 0 ? clash(eng, ws, name, next->def) : NULL;
    if (other)
        rc = sy_err_set(err, SY_ECONFLICT,
                        json_object_get(next->def, "path_prefix") ? "path_prefix" : "listen",
                        "route \"%s\" serves that already", other->name);
    if (rc < 0) {
        json_decref(next->def);
        next->def = NULL;
    }
    return rc;
}

int sy_engine_route_create(sy_engine_t *eng, const sy_principal_t *actor, const json_t *body,
                           json_t **out, sy_err_t *err)
{
    const char *name = json_string_value(json_object_get(body, "name"));
    if (!json_is_object(body))
        return sy_err_set(err, -EINVAL, "", "the body is a JSON object");
    if (!token_name(name, SY_ROUTE_MAX_NAME))
        return sy_err_set(err, -EINVAL, "name", "name is 1 to %d letters, digits, - _ or .",
                          SY_ROUTE_MAX_NAME);
    if (find(eng, actor->workspace, name))
        return sy_err_set(err, -EEXIST, "name", "route \"%s\" exists already", name);
    struct route next;
    int rc = whole(eng, actor->workspace, name, body, NULL, &next, err);
    if (rc == 0 && (rc = commit(eng, actor, NULL, &next, "route.create", NULL, out, err)) < 0)
        json_decref(next.def);
    return rc;
}

int sy_engine_route_replace(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                            const json_t *body, json_t **out, sy_err_t *err)
{
    struct route *old = find(eng, actor->workspace, name);
    if (!old)
        return sy_err_set(err, -ENOENT, "name", "no such route");
    const json_t *given = json_object_get(body, "name");
    if (given && !(json_is_string(given) && strcmp(json_string_value(given), name) == 0))
        return sy_err_set(err, -EINVAL, "name", "the body's name is the path's, if given");
    struct route next;
    int rc = whole(eng, actor->workspace, name, body, old, &next, err);
    if (rc == 0 && (rc = commit(eng, actor, old, &next, "route.update", NULL, out, err)) < 0)
        json_decref(next.def);
    return rc;
}

/* `percentage` or `enabled` of route `name`, with a reason. */
static int set_one(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                   const json_t *body, bool percentage, json_t **out, sy_err_t *err)
{
    struct route *old = find(eng, actor->workspace, name);
    if (!old)
        return sy_err_set(err, -ENOENT, "name", "no such route");
    static const char *const pf[] = {"percentage", "reason", NULL};
    static const char *const ef[] = {"enabled", "reason", NULL};
    const char *why = NULL;
    int rc = json_is_object(body) ? sy_eng_only_fields(body, percentage ? pf : ef, "", err)
                                  : sy_err_set(err, -EINVAL, "", "the body is a JSON object");
    struct route next = *old;
    next.updated_ms = sy_engine_now_ms(eng);
    const json_t *v = json_object_get(body, percentage ? "percentage" : "enabled");
    if (rc == 0 && percentage)
        rc = parse_percentage(v, &next.bp, err);
    if (rc == 0 && !percentage && !json_is_boolean(v))
        rc = sy_err_set(err, -EINVAL, "enabled", "enabled must be true or false");
    if (rc == 0)
        rc = get_reason(body, &why, err);
    if (rc < 0)
        return rc;
    next.enabled = percentage ? old->enabled : json_is_true(v);
    return commit(eng, actor, old, &next, percentage ? "route.percentage" : "route.enabled", why,
                  out, err);
}

int sy_engine_route_percentage(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                               const json_t *body, json_t **out, sy_err_t *err)
{
    return set_one(eng, actor, name, body, true, out, err);
}

int sy_engine_route_enabled(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                            const json_t *body, json_t **out, sy_err_t *err)
{
    return set_one(eng, actor, name, body, false, out, err);
}

int sy_engine_route_get(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                        json_t **out, sy_err_t *err)
{
    const struct route *r = find(eng, actor->workspace, name);
    if (!r)
        return sy_err_set(err, -ENOENT, "name", "no such route");
    *out = route_json(r);
    return *out ? 0 : sy_eng_oom(err);
}

int sy_engine_route_list(sy_engine_t *eng, const sy_principal_t *actor, json_t **out, sy_err_t *err)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < eng->n_routes; i++)
        if (eng->routes[i].ws == actor->workspace &&
            json_array_append_new(a, route_json(&eng->routes[i])) < 0) {
            json_decref(a);
            a = NULL;
        }
    *out = a ? json_pack("{so}", "routes", a) : NULL;
    return *out ? 0 : sy_eng_oom(err);
}

int sy_engine_route_delete(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                           sy_err_t *err)
{
    struct route *r = find(eng, actor->workspace, name);
    if (!r)
        return sy_err_set(err, -ENOENT, "name", "no such route");
    json_t *before = route_json(r);
    char res[SY_ROUTE_MAX_NAME + 8];
    snprintf(res, sizeof(res), "route:%s", name);
    int rc = before ? sy_store_begin(eng->store, err) : sy_eng_oom(err);
    if (rc == 0) {
        if ((rc = sy_store_route_delete(eng->store, r->ws, r->name, err)) < 0 ||
            (rc = sy_eng_audit(eng, actor, r->ws, "route.delete", res, before, NULL, err)) < 0)
            sy_store_rollback(eng->store);
        else
            rc = sy_store_commit(eng->store, err);
    }
    json_decref(before);
    if (rc == 0) {
        json_decref(r->def);
        size_t i = (size_t)(r - eng->routes);
        memmove(r, r + 1, (eng->n_routes - i - 1) * sizeof(*r));
        eng->n_routes--;
        sy_eng_routes_changed(eng);
    }
    return rc;
}

void sy_eng_routes_changed(sy_engine_t *eng)
{
    if (eng->routes_changed)
        eng->routes_changed(eng->routes_changed_arg);
}

void sy_engine_on_routes(sy_engine_t *eng, void (*fn)(void *arg), void *arg)
{
    eng->routes_changed = fn;
    eng->routes_changed_arg = arg;
}

json_t *sy_engine_routes_all(sy_engine_t *eng)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < eng->n_routes; i++) {
        const struct route *r = &eng->routes[i];
        json_t *o = route_json(r);
        if (!o ||
            json_object_update_new(
                o, json_pack("{sIsIsb}", "workspace", (json_int_t)r->ws, "percentage_bp",
                             (json_int_t)r->bp, "killed",
                             sy_engine_kill_switch_engaged(eng, r->ws, NULL, 0))) < 0 ||
            json_array_append_new(a, o) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

int sy_engine_route_breaker(sy_engine_t *eng, int64_t ws, const char *name, const char *state,
                            int64_t at_ms, sy_err_t *err)
{
    struct route *r = find(eng, ws, name);
    if (!r)
        return sy_err_set(err, -ENOENT, "name", "no such route");
    const char *was = r->breaker[0] ? r->breaker : "closed";
    if (strcmp(was, state) == 0)
        return 0;
    char res[SY_ROUTE_MAX_NAME + 8], title[SY_ROUTE_MAX_NAME + 160], when[24];
    snprintf(res, sizeof(res), "route:%s", name);
    snprintf(when, sizeof(when), "%lld", (long long)at_ms);
    bool open = strcmp(state, "open") == 0, closed = strcmp(state, "closed") == 0;
    snprintf(title, sizeof(title), "Route %s: circuit breaker %s%s", name, state,
             open     ? ": everything goes to legacy"
             : closed ? ": new serves again"
                      : "");
    json_t *before = json_pack("{ss}", "breaker", was),
           *after = json_pack("{sssI}", "breaker", state, "at_ms", (json_int_t)at_ms);
    struct sy_eng_note n = {.event = "breaker",
                            .level = "critical",
                            .resolve = closed,
                            .condition = true,
                            .resource = res,
                            .occurrence = when,
                            .title = title,
                            .details = after};
    int rc = before && after ? sy_store_begin(eng->store, err) : sy_eng_oom(err);
    if (rc == 0) {
        if ((rc = sy_eng_audit(eng, NULL, ws, "route.breaker", res, before, after, err)) < 0 ||
            ((open || closed) && (rc = sy_eng_notify(eng, ws, &n, err)) < 0))
            sy_store_rollback(eng->store);
        else
            rc = sy_store_commit(eng->store, err);
    }
    if (rc == 0)
        snprintf(r->breaker, sizeof(r->breaker), "%s", state);
    json_decref(before);
    json_decref(after);
    if (rc == 0 && open && r->bp > 0 && json_is_object(json_object_get(r->def, "plan"))) {
        /* a rollout plan goes back to 0 when the breaker opens; it starts over from there */
        struct route next = *r;
        next.bp = 0;
        next.updated_ms = sy_engine_now_ms(eng);
        json_t *out = NULL;
        rc = commit(eng, NULL, r, &next, "route.plan.abort", "plan: the circuit breaker opened",
                    &out, err);
        json_decref(out);
    }
    return rc;
}

const char *sy_engine_route_breaker_state(sy_engine_t *eng, const sy_principal_t *actor,
                                          const char *name)
{
    const struct route *r = find(eng, actor->workspace, name);
    return r && r->breaker[0] ? r->breaker : "closed";
}

/* The plan's step after (up > 0) or before (up < 0) `bp`, in basis points: the first step
 * above it, or the last below it (0 when none). -1 when there is none above. */
static int64_t step_from(const json_t *steps, int64_t bp, int up)
{
    int64_t below = 0;
    size_t i;
    const json_t *s;
    json_array_foreach(steps, i, s)
    {
        int64_t v = (int64_t)(json_number_value(s) * 100 + 0.5);
        if (up > 0 && v > bp)
            return v;
        if (up < 0 && v < bp)
            below = v;
    }
    return up > 0 ? -1 : below;
}

json_t *sy_engine_routes_plan_tick(sy_engine_t *eng, sy_route_health_fn fn, void *arg)
{
    json_t *done = NULL;
    int64_t now = sy_engine_now_ms(eng);
    for (size_t i = 0; i < eng->n_routes; i++) {
        struct route *r = &eng->routes[i];
        const json_t *plan = json_object_get(r->def, "plan");
        sy_route_health_t h;
        if (!json_is_object(plan) || !r->enabled || strcmp(r->breaker, "open") == 0 ||
            sy_engine_kill_switch_engaged(eng, r->ws, NULL, 0) || fn(arg, r->ws, r->name, &h) < 0)
            continue;
        if (r->step_ms == 0) { /* the step starts now */
            r->step_ms = now;
            r->base_n = h.requests;
            r->base_e = h.errors;
            continue;
        }
        const json_t *gates = json_object_get(r->def, "health");
        double max_rate = json_number_value(json_object_get(gates, "max_error_rate"));
        double max_p95 = json_number_value(json_object_get(gates, "max_p95_ms"));
        int64_t n = h.requests - r->base_n, e = h.errors - r->base_e;
        int64_t min = json_integer_value(json_object_get(plan, "min_requests"));
        double rate = n > 0 ? (double)e / (double)n : 0;
        /* from 0 the first step needs no evidence: nothing went to new yet */
        bool bad = n >= min && n > 0 && (rate >= max_rate || h.p95_ms >= max_p95);
        bool enough = (n >= min && n > 0) || r->bp == 0;
        bool held = now - r->step_ms >= 1000 * json_integer_value(json_object_get(plan, "hold_s"));
        const json_t *steps = json_object_get(plan, "steps");
        int64_t to = bad              ? step_from(steps, r->bp, -1)
                     : held && enough ? step_from(steps, r->bp, 1)
                                      : -1;
        if (to < 0 || to == r->bp || (bad && r->bp == 0))
            continue;
        char why[256];
        snprintf(why, sizeof(why),
                 "plan: %s after %lld requests to new, error rate %.4f%%, p95 %.1f ms",
                 bad ? "health failed" : "step held", (long long)n, 100 * rate, h.p95_ms);
        struct route next = *r;
        next.bp = to;
        next.updated_ms = now;
        json_t *out = NULL;
        sy_err_t err = {0};
        int64_t from = r->bp;
        if (commit(eng, NULL, r, &next, bad ? "route.plan.back" : "route.plan.advance", why, &out,
                   &err) < 0)
            continue;
        json_decref(out);
        r->step_ms = now; /* the new step's counts start here */
        r->base_n = h.requests;
        r->base_e = h.errors;
        json_t *move =
            json_pack("{sssssfsfss}", "route", r->name, "action", bad ? "back" : "advance", "from",
                      (double)from / 100, "to", (double)to / 100, "reason", why);
        if (move && (done || (done = json_array())))
            json_array_append_new(done, move);
        else
            json_decref(move);
    }
    return done;
}

/* ---- counters per minute ----------------------------------------------------------------------
 */

int sy_engine_route_minutes_add(sy_engine_t *eng, const sy_store_route_minute_t *rows, size_t n,
                                sy_err_t *err)
{
    if (n == 0)
        return 0;
    int rc = sy_store_begin(eng->store, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = sy_store_route_minute_add(eng->store, &rows[i], err);
    if (rc < 0)
        sy_store_rollback(eng->store);
    else
        rc = sy_store_commit(eng->store, err);
    return rc;
}

int sy_engine_route_minutes_prune(sy_engine_t *eng, int64_t before_minute, sy_err_t *err)
{
    int64_t gone;
    return sy_store_route_minute_prune(eng->store, before_minute, &gone, err);
}

#define WINDOW_ROWS 512

/* The window's rows, summed by (domain, upstream, tried). */
struct window {
    size_t n;
    struct {
        char domain[65], upstream[8], tried[8];
        int64_t requests, errors;
        double total_ms;
        int64_t hist[SY_LAT_BUCKETS];
    } r[WINDOW_ROWS];
};

static int add_minute(void *arg, const sy_store_route_minute_t *m)
{
    struct window *w = arg;
    size_t j = 0;
    while (j < w->n &&
           !(strcmp(w->r[j].domain, m->domain) == 0 && strcmp(w->r[j].upstream, m->upstream) == 0 &&
             strcmp(w->r[j].tried, m->tried) == 0))
        j++;
    if (j == w->n) {
        if (w->n == WINDOW_ROWS)
            return 0;
        w->n++;
        memset(&w->r[j], 0, sizeof(w->r[j]));
        snprintf(w->r[j].domain, sizeof(w->r[j].domain), "%s", m->domain);
        snprintf(w->r[j].upstream, sizeof(w->r[j].upstream), "%s", m->upstream);
        snprintf(w->r[j].tried, sizeof(w->r[j].tried), "%s", m->tried);
    }
    w->r[j].requests += m->requests;
    w->r[j].errors += m->errors;
    w->r[j].total_ms += m->total_ms;
    for (const char *p = m->hist; p && *p;) { /* "bucket:count,..." */
        char *end;
        long b = strtol(p, &end, 10);
        if (*end != ':')
            break;
        long long c = strtoll(end + 1, &end, 10);
        if (b >= 0 && b < SY_LAT_BUCKETS && c > 0)
            w->r[j].hist[b] += c;
        p = *end == ',' ? end + 1 : end;
        if (*end != ',')
            break;
    }
    return 0;
}

int sy_engine_route_stats_window(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                                 int64_t window_ms, json_t **out, sy_err_t *err)
{
    if (!find(eng, actor->workspace, name))
        return sy_err_set(err, -ENOENT, "name", "no such route");
    struct window *w = calloc(1, sizeof(*w));
    if (!w)
        return sy_eng_oom(err);
    int64_t now_min = sy_engine_now_ms(eng) / 60000;
    int64_t minutes = (window_ms + 59999) / 60000;
    int rc = sy_store_route_minute_list(eng->store, actor->workspace, name, now_min - minutes + 1,
                                        add_minute, w, err);
    json_t *by = rc == 0 ? json_array() : NULL;
    int64_t total = 0;
    for (size_t j = 0; by && j < w->n; j++) {
        total += w->r[j].requests;
        json_array_append_new(
            by,
            json_pack("{sosssssIsIsfsfsfsf}", "domain",
                      w->r[j].domain[0] ? json_string(w->r[j].domain) : json_null(), "upstream",
                      w->r[j].upstream, "tried", w->r[j].tried, "requests",
                      (json_int_t)w->r[j].requests, "errors", (json_int_t)w->r[j].errors, "avg_ms",
                      w->r[j].requests ? w->r[j].total_ms / (double)w->r[j].requests : 0.0,
                      "p50_ms", sy_lat_quantile(w->r[j].hist, w->r[j].requests, 0.5), "p95_ms",
                      sy_lat_quantile(w->r[j].hist, w->r[j].requests, 0.95), "p99_ms",
                      sy_lat_quantile(w->r[j].hist, w->r[j].requests, 0.99)));
    }
    free(w);
    if (rc < 0)
        return rc;
    *out = by ? json_pack("{sIso}", "requests", (json_int_t)total, "by", by) : NULL;
    return *out ? 0 : sy_eng_oom(err);
}
