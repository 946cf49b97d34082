/* route_json.c - a route's JSON into core/route_spec.h's types, strictly; see route_json.h.
 *
 * Decoding reads the JSON into a spec whose strings are borrowed from the tree and whose
 * arrays (domains, rules, words) come from a scratch arena; sy_route_spec_check judges it;
 * sy_routes_add copies it into the caller's set. Each reader below names the key it
 * failed on, with the path from the route's top ("domains[3].rules[0].header.name").
 */
#include "codec/route_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SCRATCH_MAX ((size_t)64 << 20) /* a route's arrays while it is decoded */

/* printf into a field name's buffer: a name longer than it is cut, as sy_err_t cuts it. */
static void fieldf(char *f, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fieldf(char *f, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f, cap, fmt, ap);
    va_end(ap);
}

struct dec {
    sy_arena_t *a;
    sy_err_t *err;
};

/* `at`.`key` (or `key` at the top) into f. */
static void join(char *f, size_t cap, const char *at, const char *key)
{
    fieldf(f, cap, "%s%s%s", at, *at ? "." : "", key);
}

/* Refuses a key of `o` not in `keys` (NULL-terminated), naming it. */
static int only(const json_t *o, const char *const *keys, const char *at, sy_err_t *err)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k) != 0)
            i++;
        if (!keys[i]) {
            char f[sizeof(err->field)];
            join(f, sizeof(f), at, k);
            return sy_err_set(err, SY_EUNKNOWN, f, "unknown field \"%s\"", f);
        }
    }
    return 0;
}

/* Member `key` of object `o`, required: NULL (err filled) when absent. */
static const json_t *need(const json_t *o, const char *key, const char *at, sy_err_t *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v) {
        char f[sizeof(err->field)];
        join(f, sizeof(f), at, key);
        sy_err_set(err, -EINVAL, f, "%s is missing", f);
    }
    return v;
}

static int get_str(const json_t *o, const char *key, const char *at, const char **out,
                   sy_err_t *err)
{
    const json_t *v = need(o, key, at, err);
    if (!v)
        return -EINVAL;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        char f[sizeof(err->field)];
        join(f, sizeof(f), at, key);
        return sy_err_set(err, -EINVAL, f, "%s is a string", f);
    }
    *out = json_string_value(v);
    return 0;
}

static int get_int(const json_t *o, const char *key, const char *at, int64_t *out, sy_err_t *err)
{
    const json_t *v = need(o, key, at, err);
    if (!v)
        return -EINVAL;
    if (!json_is_integer(v)) {
        char f[sizeof(err->field)];
        join(f, sizeof(f), at, key);
        return sy_err_set(err, -EINVAL, f, "%s is an integer", f);
    }
    *out = json_integer_value(v);
    return 0;
}

static int get_num(const json_t *o, const char *key, const char *at, double *out, sy_err_t *err)
{
    const json_t *v = need(o, key, at, err);
    if (!v)
        return -EINVAL;
    if (!json_is_number(v)) {
        char f[sizeof(err->field)];
        join(f, sizeof(f), at, key);
        return sy_err_set(err, -EINVAL, f, "%s is a number", f);
    }
    *out = json_number_value(v);
    return 0;
}

static int get_bool(const json_t *o, const char *key, const char *at, bool *out, sy_err_t *err)
{
    const json_t *v = need(o, key, at, err);
    if (!v)
        return -EINVAL;
    if (!json_is_boolean(v)) {
        char f[sizeof(err->field)];
        join(f, sizeof(f), at, key);
        return sy_err_set(err, -EINVAL, f, "%s is true or false", f);
    }
    *out = json_is_true(v);
    return 0;
}

/* Member `key`, an object with only `keys` (NULL-terminated). */
static const json_t *get_obj(const json_t *o, const char *key, const char *at,
                             const char *const *keys, char *f, size_t cap, sy_err_t *err)
{
    const json_t *v = need(o, key, at, err);
    join(f, cap, at, key);
    if (!v)
        return NULL;
    if (!json_is_object(v)) {
        sy_err_set(err, -EINVAL, f, "%s is an object", f);
        return NULL;
    }
    return only(v, keys, f, err) < 0 ? NULL : v;
}

/* ---- the parts ----------------------------------------------------------------------------- */

static int upstream(const json_t *ups, const char *key, sy_route_upstream_t *u, sy_err_t *err)
{
    static const char *const keys[] = {"address", "connect_timeout_ms", "read_timeout_ms",
                                       "keepalive", NULL};
    char at[32];
    const json_t *o = get_obj(ups, key, "upstreams", keys, at, sizeof(at), err);
    int rc = o ? 0 : -EINVAL;
    if (rc == 0 && (rc = get_str(o, "address", at, &u->address, err)) == 0 &&
        (rc = get_int(o, "connect_timeout_ms", at, &u->connect_timeout_ms, err)) == 0 &&
        (rc = get_int(o, "read_timeout_ms", at, &u->read_timeout_ms, err)) == 0)
        rc = get_int(o, "keepalive", at, &u->keepalive, err);
    return rc;
}

/* One rule: an object of exactly one of the four kinds. */
static int rule(struct dec *d, const json_t *o, const char *at, sy_route_rule_t *r)
{
    static const char *const kinds[] = {"path_prefix", "header", "body_keywords", "body_field",
                                        NULL};
    if (!json_is_object(o))
        return sy_err_set(d->err, -EINVAL, at, "%s is an object", at);
    int rc = only(o, kinds, at, d->err);
    if (rc < 0)
        return rc;
    if (json_object_size(o) != 1)
        return sy_err_set(d->err, -EINVAL, at,
                          "%s has one of path_prefix, header, body_keywords, body_field", at);
    char f[sizeof(d->err->field)];
    *r = (sy_route_rule_t){0};
    if (json_object_get(o, "path_prefix")) {
        r->kind = SY_RULE_PATH_PREFIX;
        return get_str(o, "path_prefix", at, &r->value, d->err);
    }
    if (json_object_get(o, "body_field")) {
        r->kind = SY_RULE_BODY_FIELD;
        return get_str(o, "body_field", at, &r->name, d->err);
    }
    if (json_object_get(o, "header")) {
        static const char *const keys[] = {"name", "value", NULL};
        const json_t *h = get_obj(o, "header", at, keys, f, sizeof(f), d->err);
        r->kind = SY_RULE_HEADER;
        if (!h || (rc = get_str(h, "name", f, &r->name, d->err)) < 0)
            return -EINVAL;
        return get_str(h, "value", f, &r->value, d->err);
    }
    static const char *const keys[] = {"field", "words", NULL};
    const json_t *k = get_obj(o, "body_keywords", at, keys, f, sizeof(f), d->err);
    r->kind = SY_RULE_BODY_KEYWORDS;
    if (!k || (rc = get_str(k, "field", f, &r->name, d->err)) < 0)
        return -EINVAL;
    const json_t *words = need(k, "words", f, d->err);
    char wf[sizeof(d->err->field)];
    join(wf, sizeof(wf), f, "words");
    if (!words)
        return -EINVAL;
    if (!json_is_array(words) || json_array_size(words) > SY_ROUTE_MAX_WORDS)
        return sy_err_set(d->err, -EINVAL, wf, "%s is a list of at most %d words", wf,
                          SY_ROUTE_MAX_WORDS);
    size_t n = json_array_size(words), i;
    const char **w = n ? sy_arena_alloc(d->a, n * sizeof(*w)) : NULL;
    if (n && !w)
        return sy_err_set(d->err, -ENOMEM, NULL, "out of memory");
    const json_t *one;
    json_array_foreach(words, i, one)
    {
        if (!json_is_string(one) || strlen(json_string_value(one)) != json_string_length(one))
            return sy_err_set(d->err, -EINVAL, wf, "%s are strings", wf);
        w[i] = json_string_value(one);
    }
    r->words = w;
    r->n_words = n;
    return 0;
}

static int domains(struct dec *d, const json_t *o, sy_route_spec_t *s)
{
    const json_t *list = need(o, "domains", "", d->err);
    if (!list)
        return -EINVAL;
    if (!json_is_array(list) || json_array_size(list) > SY_ROUTE_MAX_DOMAINS)
        return sy_err_set(d->err, -EINVAL, "domains", "domains is a list of at most %d domains",
                          SY_ROUTE_MAX_DOMAINS);
    size_t n = json_array_size(list), i;
    sy_route_domain_t *ds = n ? sy_arena_alloc(d->a, n * sizeof(*ds)) : NULL;
    if (n && !ds)
        return sy_err_set(d->err, -ENOMEM, NULL, "out of memory");
    const json_t *one;
    json_array_foreach(list, i, one)
    {
        static const char *const keys[] = {"name", "rules", NULL};
        char at[32], f[sizeof(d->err->field)];
        fieldf(at, sizeof(at), "domains[%zu]", i);
        if (!json_is_object(one))
            return sy_err_set(d->err, -EINVAL, at, "%s is {name, rules}", at);
        ds[i] = (sy_route_domain_t){0};
        int rc = only(one, keys, at, d->err);
        if (rc < 0 || (rc = get_str(one, "name", at, &ds[i].name, d->err)) < 0)
            return rc;
        const json_t *rules = need(one, "rules", at, d->err);
        join(f, sizeof(f), at, "rules");
        if (!rules)
            return -EINVAL;
        if (!json_is_array(rules) || json_array_size(rules) > SY_ROUTE_MAX_RULES)
            return sy_err_set(d->err, -EINVAL, f, "%s is a list of 1 to %d rules", f,
                              SY_ROUTE_MAX_RULES);
        size_t nr = json_array_size(rules), k;
        sy_route_rule_t *rs = nr ? sy_arena_alloc(d->a, nr * sizeof(*rs)) : NULL;
        if (nr && !rs)
            return sy_err_set(d->err, -ENOMEM, NULL, "out of memory");
        const json_t *r;
        json_array_foreach(rules, k, r)
        {
            char rf[sizeof(d->err->field)];
            fieldf(rf, sizeof(rf), "%s[%zu]", f, k);
            if ((rc = rule(d, r, rf, &rs[k])) < 0)
                return rc;
        }
        ds[i].rules = rs;
        ds[i].n_rules = nr;
    }
    s->domains = ds;
    s->n_domains = n;
    return 0;
}

enum mark { MARK_PROTECTED, MARK_ROUTABLE, MARK_PROD_EXEC };

static bool *flag_of(sy_route_domain_t *d, enum mark m)
{
    return m == MARK_PROTECTED  ? &d->protected_domain
           : m == MARK_ROUTABLE ? &d->routable
                                : &d->prod_exec;
}

/* A list of distinct names of s's domains (`key`), each marking its domain by `m`; how
 * many into *count. */
static int marks(const json_t *o, const char *key, sy_route_spec_t *s, enum mark m, size_t *count,
                 sy_err_t *err)
{
    const json_t *list = need(o, key, "", err);
    if (!list)
        return -EINVAL;
    if (!json_is_array(list))
        return sy_err_set(err, -EINVAL, key, "%s is a list of domain names", key);
    size_t i;
    const json_t *one;
    json_array_foreach(list, i, one)
    {
        int k = sy_route_spec_domain(s, json_string_value(one));
        bool *mark = k < 0 ? NULL : flag_of(&s->domains[k], m);
        if (!mark || *mark)
            return sy_err_set(err, -EINVAL, key, "%s names distinct domains of the route's domains",
                              key);
        *mark = true;
    }
    *count = json_array_size(list);
    return 0;
}

static int sticky(const json_t *o, sy_route_sticky_t *st, sy_err_t *err)
{
    static const char *const kinds[] = {"header", "cookie", "body_field", NULL};
    const json_t *v = need(o, "sticky", "", err);
    *st = (sy_route_sticky_t){SY_STICKY_NONE, NULL};
    if (!v)
        return -EINVAL;
    if (json_is_null(v))
        return 0;
    int rc = json_is_object(v) ? only(v, kinds, "sticky", err)
                               : sy_err_set(err, -EINVAL, "sticky", "sticky is null or an object");
    if (rc < 0)
        return rc;
    if (json_object_size(v) != 1)
        return sy_err_set(err, -EINVAL, "sticky", "sticky has one of header, cookie, body_field");
    const char *k = json_object_iter_key(json_object_iter((json_t *)v));
    st->kind = strcmp(k, "header") == 0   ? SY_STICKY_HEADER
               : strcmp(k, "cookie") == 0 ? SY_STICKY_COOKIE
                                          : SY_STICKY_BODY_FIELD;
    return get_str(v, k, "sticky", &st->name, err);
}

static int breaker(const json_t *o, sy_breaker_config_t *b, sy_err_t *err)
{
    static const char *const keys[] = {"consecutive_failures",
                                       "error_rate",
                                       "min_requests",
                                       "window_ms",
                                       "open_ms",
                                       "probes",
                                       NULL};
    char at[16];
    const json_t *v = get_obj(o, "breaker", "", keys, at, sizeof(at), err);
    int rc = v ? 0 : -EINVAL;
    if (rc == 0 &&
        (rc = get_int(v, "consecutive_failures", at, &b->consecutive_failures, err)) == 0 &&
        (rc = get_num(v, "error_rate", at, &b->error_rate, err)) == 0 &&
        (rc = get_int(v, "min_requests", at, &b->min_requests, err)) == 0 &&
        (rc = get_int(v, "window_ms", at, &b->window_ms, err)) == 0 &&
        (rc = get_int(v, "open_ms", at, &b->open_ms, err)) == 0)
        rc = get_int(v, "probes", at, &b->probes, err);
    return rc;
}

static int health(const json_t *o, sy_route_gates_t *g, sy_err_t *err)
{
    static const char *const keys[] = {"max_error_rate", "max_p95_ms", NULL};
    char at[16];
    const json_t *v = get_obj(o, "health", "", keys, at, sizeof(at), err);
    int rc = v ? 0 : -EINVAL;
    if (rc == 0 && (rc = get_num(v, "max_error_rate", at, &g->max_error_rate, err)) == 0)
        rc = get_int(v, "max_p95_ms", at, &g->max_p95_ms, err);
    return rc;
}

static int plan(const json_t *o, sy_route_spec_t *s, sy_err_t *err)
{
    static const char *const keys[] = {"steps", "hold_s", "min_requests", NULL};
    const json_t *v = need(o, "plan", "", err);
    s->has_plan = false;
    if (!v)
        return -EINVAL;
    if (json_is_null(v))
        return 0;
    int rc = json_is_object(v) ? only(v, keys, "plan", err)
                               : sy_err_set(err, -EINVAL, "plan", "plan is null or an object");
    if (rc < 0 || (rc = get_int(v, "hold_s", "plan", &s->plan.hold_s, err)) < 0 ||
        (rc = get_int(v, "min_requests", "plan", &s->plan.min_requests, err)) < 0)
        return rc;
    const json_t *steps = need(v, "steps", "plan", err);
    if (!steps)
        return -EINVAL;
    if (!json_is_array(steps) || json_array_size(steps) > SY_ROUTE_MAX_STEPS)
        return sy_err_set(err, -EINVAL, "plan.steps", "plan.steps is 1 to %d percentages",
                          SY_ROUTE_MAX_STEPS);
    size_t i;
    const json_t *one;
    json_array_foreach(steps, i, one)
    {
        if (!json_is_number(one) ||
            sy_route_percentage_bp(json_number_value(one), &s->plan.steps_bp[i]) < 0)
            return sy_err_set(err, -EINVAL, "plan.steps",
                              "plan.steps are percentages from 0 to 100, two decimals at most");
    }
    s->plan.n_steps = json_array_size(steps);
    s->has_plan = true;
    return 0;
}

/* ---- a route ------------------------------------------------------------------------------- */

static int decode(struct dec *d, const json_t *o, sy_route_spec_t *s)
{
    static const char *const keys[] = {"name",
                                       "listen",
                                       "path_prefix",
                                       "upstreams",
                                       "percentage",
                                       "enabled",
                                       "domains",
                                       "protected_domains",
                                       "routable_domains",
                                       "prod_exec_domains",
                                       "sticky",
                                       "breaker",
                                       "health",
                                       "plan",
                                       "inspect_body_bytes",
                                       "retry_non_idempotent",
                                       "created_ms",
                                       "updated_ms",
                                       NULL};
    static const char *const up_keys[] = {"legacy", "new", NULL};
    sy_err_t *err = d->err;
    if (!json_is_object(o))
        return sy_err_set(err, -EINVAL, "", "a route is a JSON object");
    int rc = only(o, keys, "", err);
    if (rc < 0 || (rc = get_str(o, "name", "", &s->name, err)) < 0 ||
        (rc = get_str(o, "listen", "", &s->listen, err)) < 0)
        return rc;
    s->path_prefix = "";
    if (json_object_get(o, "path_prefix") &&
        (rc = get_str(o, "path_prefix", "", &s->path_prefix, err)) < 0)
        return rc;
    char at[16];
    const json_t *ups = get_obj(o, "upstreams", "", up_keys, at, sizeof(at), err);
    if (!ups || (rc = upstream(ups, "legacy", &s->up[SY_ROUTE_LEGACY], err)) < 0 ||
        (rc = upstream(ups, "new", &s->up[SY_ROUTE_NEW], err)) < 0)
        return -EINVAL;
    double pct = 0;
    if ((rc = get_num(o, "percentage", "", &pct, err)) < 0)
        return rc;
    if (sy_route_percentage_bp(pct, &s->percentage_bp) < 0)
        return sy_err_set(err, -EINVAL, "percentage",
                          "percentage is a number from 0 to 100 with at most two decimals");
    size_t routable = 0, other = 0;
    int64_t inspect;
    if ((rc = get_bool(o, "enabled", "", &s->enabled, err)) < 0 || (rc = domains(d, o, s)) < 0 ||
        (rc = marks(o, "protected_domains", s, MARK_PROTECTED, &other, err)) < 0 ||
        (rc = marks(o, "routable_domains", s, MARK_ROUTABLE, &routable, err)) < 0 ||
        (rc = marks(o, "prod_exec_domains", s, MARK_PROD_EXEC, &other, err)) < 0 ||
        (rc = sticky(o, &s->sticky, err)) < 0 || (rc = breaker(o, &s->breaker, err)) < 0 ||
        (rc = health(o, &s->health, err)) < 0 || (rc = plan(o, s, err)) < 0 ||
        (rc = get_int(o, "inspect_body_bytes", "", &inspect, err)) < 0 ||
        (rc = get_bool(o, "retry_non_idempotent", "", &s->retry_non_idempotent, err)) < 0 ||
        (rc = get_int(o, "created_ms", "", &s->created_ms, err)) < 0 ||
        (rc = get_int(o, "updated_ms", "", &s->updated_ms, err)) < 0)
        return rc;
    if (inspect < 0 || inspect > SY_ROUTE_MAX_INSPECT)
        return sy_err_set(err, -EINVAL, "inspect_body_bytes", "inspect_body_bytes is 0 to %d",
                          SY_ROUTE_MAX_INSPECT);
    s->inspect_body_bytes = (size_t)inspect;
    s->routable_only = routable > 0;
    return sy_route_spec_check(s, err);
}

int sy_route_spec_from_json(const json_t *o, int64_t ws, bool killed, sy_routes_t *into,
                            sy_err_t *err)
{
    sy_arena_t scratch;
    sy_arena_init(&scratch, SCRATCH_MAX);
    struct dec d = {.a = &scratch, .err = err};
    sy_route_spec_t s = {.ws = ws, .killed = killed};
    int rc = decode(&d, o, &s);
    if (rc == 0 && (rc = sy_routes_add(into, &s)) < 0)
        sy_err_set(err, rc, NULL, "out of memory");
    sy_arena_free(&scratch);
    return rc;
}

int sy_routes_from_json(const json_t *routes, const json_t *state, sy_routes_t **out, sy_err_t *err)
{
    static const char *const top[] = {"routes", NULL};
    *out = NULL;
    const json_t *ks = json_object_get(state, "kill_switch");
    const json_t *engaged = json_object_get(ks, "engaged");
    if (!json_is_boolean(engaged))
        return sy_err_set(err, -EINVAL, "kill_switch.engaged",
                          "the go-live state has kill_switch.engaged, true or false");
    int rc = json_is_object(routes) ? only(routes, top, "", err)
                                    : sy_err_set(err, -EINVAL, "", "the routes are an object");
    const json_t *list = json_object_get(routes, "routes");
    if (rc == 0 && !json_is_array(list))
        rc = sy_err_set(err, -EINVAL, "routes", "routes is a list of routes");
    sy_routes_t *rs = rc == 0 ? sy_routes_new() : NULL;
    if (rc == 0 && !rs)
        rc = sy_err_set(err, -ENOMEM, NULL, "out of memory");
    size_t i;
    const json_t *one;
    json_array_foreach(rc == 0 ? list : NULL, i, one)
    {
        if ((rc = sy_route_spec_from_json(one, 0, json_is_true(engaged), rs, err)) < 0) {
            if (err) { /* the route's place in the list, then the key within it */
                char f[sizeof(err->field)];
                fieldf(f, sizeof(f), "routes[%zu]%s%.40s", i, err->field[0] ? "." : "", err->field);
                memcpy(err->field, f, sizeof(f));
            }
            break;
        }
    }
    if (rc < 0) {
        sy_routes_free(rs);
        return rc;
    }
    *out = rs;
    return 0;
}

/* ---- a route's JSON from its spec -------------------------------------------------------- */

static json_t *upstream_json(const sy_route_upstream_t *u)
{
    return json_pack("{sssIsIsI}", "address", u->address, "connect_timeout_ms",
                     (json_int_t)u->connect_timeout_ms, "read_timeout_ms",
                     (json_int_t)u->read_timeout_ms, "keepalive", (json_int_t)u->keepalive);
}

static json_t *rule_json(const sy_route_rule_t *r)
{
    switch (r->kind) {
    case SY_RULE_PATH_PREFIX:
        return json_pack("{ss}", "path_prefix", r->value);
    case SY_RULE_HEADER:
        return json_pack("{s{ssss}}", "header", "name", r->name, "value", r->value);
    case SY_RULE_BODY_FIELD:
        return json_pack("{ss}", "body_field", r->name);
    case SY_RULE_BODY_KEYWORDS:
        break;
    }
    json_t *words = json_array();
    for (size_t i = 0; words && i < r->n_words; i++)
        if (json_array_append_new(words, json_string(r->words[i])) < 0)
            words = (json_decref(words), NULL);
    return words ? json_pack("{s{ssso}}", "body_keywords", "field", r->name, "words", words) : NULL;
}

static json_t *domain_json(const sy_route_domain_t *d)
{
    json_t *rules = json_array();
    for (size_t i = 0; rules && i < d->n_rules; i++)
        if (json_array_append_new(rules, rule_json(&d->rules[i])) < 0)
            rules = (json_decref(rules), NULL);
    return rules ? json_pack("{ssso}", "name", d->name, "rules", rules) : NULL;
}

/* The names of s's domains marked `m`, in the domains' order. */
static json_t *marked_json(const sy_route_spec_t *s, enum mark m)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->n_domains; i++)
        if (*flag_of((sy_route_domain_t *)&s->domains[i], m) &&
            json_array_append_new(a, json_string(s->domains[i].name)) < 0)
            a = (json_decref(a), NULL);
    return a;
}

static json_t *sticky_json(const sy_route_sticky_t *st)
{
    const char *k = st->kind == SY_STICKY_HEADER       ? "header"
                    : st->kind == SY_STICKY_COOKIE     ? "cookie"
                    : st->kind == SY_STICKY_BODY_FIELD ? "body_field"
                                                       : NULL;
    return k ? json_pack("{ss}", k, st->name) : json_null();
}

static json_t *plan_json(const sy_route_spec_t *s)
{
    if (!s->has_plan)
        return json_null();
    json_t *steps = json_array();
    for (size_t i = 0; steps && i < s->plan.n_steps; i++)
        if (json_array_append_new(steps, json_real((double)s->plan.steps_bp[i] / 100)) < 0)
            steps = (json_decref(steps), NULL);
    return steps ? json_pack("{sosIsI}", "steps", steps, "hold_s", (json_int_t)s->plan.hold_s,
                             "min_requests", (json_int_t)s->plan.min_requests)
                 : NULL;
}

json_t *sy_route_spec_to_json(const sy_route_spec_t *s)
{
    json_t *domains = json_array();
    for (size_t i = 0; domains && i < s->n_domains; i++)
        if (json_array_append_new(domains, domain_json(&s->domains[i])) < 0)
            domains = (json_decref(domains), NULL);
    const sy_breaker_config_t *b = &s->breaker;
    /* "o" takes its reference even when the pack fails (a NULL among them fails it): nothing
     * leaks on the way out */
    json_t *o = json_pack(
        "{s{soso}sososos{sIsfsIsIsIsI}sos{sfsI}sIsbsososs}", "upstreams", "legacy",
        upstream_json(&s->up[SY_ROUTE_LEGACY]), "new", upstream_json(&s->up[SY_ROUTE_NEW]),
        "domains", domains, "protected_domains", marked_json(s, MARK_PROTECTED), "routable_domains",
        marked_json(s, MARK_ROUTABLE), "breaker", "consecutive_failures",
        (json_int_t)b->consecutive_failures, "error_rate", b->error_rate, "min_requests",
        (json_int_t)b->min_requests, "window_ms", (json_int_t)b->window_ms, "open_ms",
        (json_int_t)b->open_ms, "probes", (json_int_t)b->probes, "sticky", sticky_json(&s->sticky),
        "health", "max_error_rate", s->health.max_error_rate, "max_p95_ms",
        (json_int_t)s->health.max_p95_ms, "inspect_body_bytes", (json_int_t)s->inspect_body_bytes,
        "retry_non_idempotent", s->retry_non_idempotent, "prod_exec_domains",
        marked_json(s, MARK_PROD_EXEC), "plan", plan_json(s), "listen", s->listen);
    if (o && *s->path_prefix &&
        json_object_set_new(o, "path_prefix", json_string(s->path_prefix)) < 0)
        o = (json_decref(o), NULL);
    if (o &&
        json_object_update_new(o, json_pack("{sssfsbsIsI}", "name", s->name, "percentage",
                                            (double)s->percentage_bp / 100, "enabled", s->enabled,
                                            "created_ms", (json_int_t)s->created_ms, "updated_ms",
                                            (json_int_t)s->updated_ms)) < 0)
        o = (json_decref(o), NULL);
    return o;
}

json_t *sy_routes_to_json(const sy_routes_t *rs)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < rs->n; i++)
        if (json_array_append_new(a, sy_route_spec_to_json(&rs->r[i])) < 0)
            a = (json_decref(a), NULL);
    return a ? json_pack("{so}", "routes", a) : NULL;
}
