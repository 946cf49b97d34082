/* route_spec.c - a proxy route as a typed value: its copy into a set of routes, and the
 * rules its fields obey; see route_spec.h. */
#include "core/route_spec.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"

/* printf into a field name's buffer: a name longer than it is cut, as sy_err_t cuts it. */
static void fieldf(char *f, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fieldf(char *f, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f, cap, fmt, ap);
    va_end(ap);
}

/* ---- forms --------------------------------------------------------------------------------- */

bool sy_route_is_token(const char *s, size_t max)
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

bool sy_route_is_host_port(const char *s)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    if (!colon || colon == s || strlen(s) > SY_ROUTE_MAX_ADDRESS)
        return false;
    const char *d = colon + 1;
    long port = 0;
    for (; *d >= '0' && *d <= '9' && port <= 65535; d++)
        port = port * 10 + (*d - '0');
    if (!colon[1] || *d || port < 1 || port > 65535)
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

bool sy_route_is_field_path(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > SY_ROUTE_MAX_FIELD || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20)
            return false;
    return sy_utf8_valid(s, n);
}

/* A path: '/' then at most SY_ROUTE_MAX_PATH bytes in all, no control character. */
static bool path(const char *s)
{
    return s && s[0] == '/' && sy_utf8_text(s, SY_ROUTE_MAX_PATH);
}

/* ---- checks -------------------------------------------------------------------------------- */

static int check_upstream(const sy_route_upstream_t *u, const char *at, sy_err_t *err)
{
    if (!sy_route_is_host_port(u->address))
        return sy_err_set(err, -EINVAL, at, "%s.address is HOST:PORT", at);
    if (u->connect_timeout_ms < 1 || u->connect_timeout_ms > SY_ROUTE_MAX_CONNECT_MS)
        return sy_err_set(err, -EINVAL, at, "%s.connect_timeout_ms is 1 to %d", at,
                          SY_ROUTE_MAX_CONNECT_MS);
    if (u->read_timeout_ms < 1 || u->read_timeout_ms > SY_ROUTE_MAX_READ_MS)
        return sy_err_set(err, -EINVAL, at, "%s.read_timeout_ms is 1 to %d", at,
                          SY_ROUTE_MAX_READ_MS);
    if (u->keepalive < 0 || u->keepalive > SY_ROUTE_MAX_KEEPALIVE)
        return sy_err_set(err, -EINVAL, at, "%s.keepalive is 0 to %d", at, SY_ROUTE_MAX_KEEPALIVE);
    return 0;
}

static int check_rule(const sy_route_rule_t *r, const char *at, sy_err_t *err)
{
    char f[96];
    switch (r->kind) {
    case SY_RULE_PATH_PREFIX:
        fieldf(f, sizeof(f), "%s.path_prefix", at);
        return path(r->value) ? 0 : sy_err_set(err, -EINVAL, f, "%s is a path starting with /", f);
    case SY_RULE_HEADER:
        fieldf(f, sizeof(f), "%s.header", at);
        return sy_route_is_token(r->name, SY_ROUTE_MAX_TOKEN) &&
                       sy_utf8_text(r->value, SY_ROUTE_MAX_PATH)
                   ? 0
                   : sy_err_set(err, -EINVAL, f, "%s is {name: a header name, value: its value}",
                                f);
    case SY_RULE_BODY_FIELD:
        fieldf(f, sizeof(f), "%s.body_field", at);
        return sy_route_is_field_path(r->name)
                   ? 0
                   : sy_err_set(err, -EINVAL, f, "%s is a dotted field path", f);
    case SY_RULE_BODY_KEYWORDS:
        fieldf(f, sizeof(f), "%s.body_keywords", at);
        if (!sy_route_is_field_path(r->name) || r->n_words < 1 || r->n_words > SY_ROUTE_MAX_WORDS ||
            !r->words)
            return sy_err_set(err, -EINVAL, f,
                              "%s is {field: a dotted field path, words: 1 to %d words}", f,
                              SY_ROUTE_MAX_WORDS);
        for (size_t i = 0; i < r->n_words; i++) {
            const char *w = r->words[i];
            bool ok = sy_utf8_text(w, SY_ROUTE_MAX_WORD) && !strchr(w, ' ');
            for (const char *c = w; ok && *c; c++)
                ok = !(*c >= 'A' && *c <= 'Z');
            if (!ok)
                return sy_err_set(err, -EINVAL, f,
                                  "%s: each word is 1 to %d characters, lower-case, no space", f,
                                  SY_ROUTE_MAX_WORD);
        }
        return 0;
    }
    return sy_err_set(err, -EINVAL, at, "%s is of no known kind", at);
}

static int check_domains(const sy_route_spec_t *s, sy_err_t *err)
{
    if (s->n_domains > SY_ROUTE_MAX_DOMAINS || (s->n_domains && !s->domains))
        return sy_err_set(err, -EINVAL, "domains", "domains is a list of at most %d domains",
                          SY_ROUTE_MAX_DOMAINS);
    bool any_routable = false;
    for (size_t i = 0; i < s->n_domains; i++) {
        const sy_route_domain_t *d = &s->domains[i];
        char at[48], f[64];
        fieldf(at, sizeof(at), "domains[%zu]", i);
        fieldf(f, sizeof(f), "%s.name", at);
        if (!sy_route_is_token(d->name, SY_ROUTE_MAX_DOMAIN))
            return sy_err_set(err, -EINVAL, f, "%s is 1 to %d letters, digits, - _ or .", f,
                              SY_ROUTE_MAX_DOMAIN);
        for (size_t k = 0; k < i; k++)
            if (strcmp(s->domains[k].name, d->name) == 0)
                return sy_err_set(err, -EINVAL, f, "domain \"%s\" is named twice", d->name);
        fieldf(f, sizeof(f), "%s.rules", at);
        if (d->n_rules < 1 || d->n_rules > SY_ROUTE_MAX_RULES || !d->rules)
            return sy_err_set(err, -EINVAL, f, "%s is a list of 1 to %d rules", f,
                              SY_ROUTE_MAX_RULES);
        for (size_t k = 0; k < d->n_rules; k++) {
            fieldf(f, sizeof(f), "%s.rules[%zu]", at, k);
            int rc = check_rule(&d->rules[k], f, err);
            if (rc < 0)
                return rc;
        }
        any_routable |= d->routable;
    }
    if (s->routable_only != any_routable)
        return sy_err_set(err, -EINVAL, "routable_domains",
                          "routable_only is true exactly when a domain is routable");
    return 0;
}

static int check_plan(const sy_route_plan_t *p, sy_err_t *err)
{
    if (p->n_steps < 1 || p->n_steps > SY_ROUTE_MAX_STEPS)
        return sy_err_set(err, -EINVAL, "plan.steps", "plan.steps is 1 to %d percentages",
                          SY_ROUTE_MAX_STEPS);
    for (size_t i = 0; i < p->n_steps; i++)
        if (p->steps_bp[i] < 1 || p->steps_bp[i] > SY_ROUTE_BP ||
            (i > 0 && p->steps_bp[i] <= p->steps_bp[i - 1]))
            return sy_err_set(err, -EINVAL, "plan.steps",
                              "plan.steps are ascending percentages above 0, at most 100");
    if (p->hold_s < 1 || p->hold_s > SY_ROUTE_MAX_HOLD_S)
        return sy_err_set(err, -EINVAL, "plan.hold_s", "plan.hold_s is 1 to %d",
                          SY_ROUTE_MAX_HOLD_S);
    if (p->min_requests < 0 || p->min_requests > SY_ROUTE_MAX_PLAN_MIN)
        return sy_err_set(err, -EINVAL, "plan.min_requests", "plan.min_requests is 0 to %d",
                          SY_ROUTE_MAX_PLAN_MIN);
    return 0;
}

int sy_route_spec_check(const sy_route_spec_t *s, sy_err_t *err)
{
    int rc;
    if (!sy_route_is_token(s->name, SY_ROUTE_MAX_NAME))
        return sy_err_set(err, -EINVAL, "name", "name is 1 to %d letters, digits, - _ or .",
                          SY_ROUTE_MAX_NAME);
    if (!sy_route_is_host_port(s->listen))
        return sy_err_set(err, -EINVAL, "listen", "listen is HOST:PORT");
    if (!s->path_prefix || (s->path_prefix[0] && !path(s->path_prefix)))
        return sy_err_set(err, -EINVAL, "path_prefix", "path_prefix is a path starting with /");
    if ((rc = check_upstream(&s->up[SY_ROUTE_LEGACY], "upstreams.legacy", err)) < 0 ||
        (rc = check_upstream(&s->up[SY_ROUTE_NEW], "upstreams.new", err)) < 0)
        return rc;
    if (s->percentage_bp > SY_ROUTE_BP)
        return sy_err_set(err, -EINVAL, "percentage", "percentage is 0 to 100");
    if ((rc = check_domains(s, err)) < 0)
        return rc;
    switch (s->sticky.kind) {
    case SY_STICKY_NONE:
        break;
    case SY_STICKY_HEADER:
    case SY_STICKY_COOKIE:
        if (!sy_route_is_token(s->sticky.name, SY_ROUTE_MAX_TOKEN))
            return sy_err_set(err, -EINVAL, "sticky", "sticky names a header or cookie");
        break;
    case SY_STICKY_BODY_FIELD:
        if (!sy_route_is_field_path(s->sticky.name))
            return sy_err_set(err, -EINVAL, "sticky", "sticky.body_field is a dotted field path");
        break;
    default:
        return sy_err_set(err, -EINVAL, "sticky", "sticky is of no known kind");
    }
    if ((rc = sy_breaker_check(&s->breaker, err)) < 0) {
        if (err) {
            char f[sizeof(err->field)];
            fieldf(f, sizeof(f), "breaker.%.40s", err->field);
            memcpy(err->field, f, sizeof(f));
        }
        return rc;
    }
    if (!(s->health.max_error_rate > 0) || !(s->health.max_error_rate <= 1))
        return sy_err_set(err, -EINVAL, "health.max_error_rate", "a number above 0, at most 1");
    if (s->health.max_p95_ms < 1 || s->health.max_p95_ms > SY_ROUTE_MAX_P95_MS)
        return sy_err_set(err, -EINVAL, "health.max_p95_ms", "health.max_p95_ms is 1 to %d",
                          SY_ROUTE_MAX_P95_MS);
    if (s->has_plan && (rc = check_plan(&s->plan, err)) < 0)
        return rc;
    if (s->inspect_body_bytes > SY_ROUTE_MAX_INSPECT)
        return sy_err_set(err, -EINVAL, "inspect_body_bytes", "inspect_body_bytes is 0 to %d",
                          SY_ROUTE_MAX_INSPECT);
    return 0;
}

int sy_route_percentage_bp(double pct, uint32_t *bp)
{
    double scaled = pct * 100;
    if (!(pct >= 0) || !(pct <= 100))
        return -EINVAL;
    uint32_t r = (uint32_t)(scaled + 0.5);
    /* 1e-6: what a decimal with two places is off by once it is a double */
    if (scaled - (double)r > 1e-6 || (double)r - scaled > 1e-6)
        return -EINVAL;
    *bp = r;
    return 0;
}

int sy_route_spec_domain(const sy_route_spec_t *s, const char *name)
{
    for (size_t i = 0; name && i < s->n_domains; i++)
        if (strcmp(s->domains[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ---- a set of routes ----------------------------------------------------------------------- */

/* Everything of a set, the set itself included, is in its arena: core calls no allocator
 * but arena.c's (tests/integration/core_is_pure.sh). */
sy_routes_t *sy_routes_new(void)
{
    sy_arena_t a;
    sy_arena_init(&a, SY_ROUTES_MAX_BYTES);
    sy_routes_t *rs = sy_arena_alloc(&a, sizeof(*rs));
    if (!rs) {
        sy_arena_free(&a);
        return NULL;
    }
    *rs = (sy_routes_t){.arena = a};
    return rs;
}

void sy_routes_free(sy_routes_t *rs)
{
    if (!rs)
        return;
    sy_arena_t a = rs->arena; /* rs itself is in it */
    sy_arena_free(&a);
}

/* A copy of `s` in a (NULL stays NULL); *ok goes false when the arena refuses. */
static const char *dup(sy_arena_t *a, const char *s, bool *ok)
{
    if (!s)
        return NULL;
    const char *d = sy_arena_strdup(a, s, strlen(s));
    *ok &= d != NULL;
    return d;
}

/* s's domains, rules and words copied into a: the new array, or NULL (*ok false). */
static sy_route_domain_t *copy_domains(sy_arena_t *a, const sy_route_spec_t *s, bool *ok)
{
    if (s->n_domains == 0)
        return NULL;
    sy_route_domain_t *ds = sy_arena_alloc(a, s->n_domains * sizeof(*ds));
    if (!ds) {
        *ok = false;
        return NULL;
    }
    for (size_t i = 0; *ok && i < s->n_domains; i++) {
        const sy_route_domain_t *d = &s->domains[i];
        sy_route_rule_t *rules = d->n_rules ? sy_arena_alloc(a, d->n_rules * sizeof(*rules)) : NULL;
        ds[i] = *d;
        ds[i].name = dup(a, d->name, ok);
        ds[i].rules = rules;
        if (d->n_rules && !rules)
            *ok = false;
        for (size_t k = 0; *ok && k < d->n_rules; k++) {
            const sy_route_rule_t *r = &d->rules[k];
            const char **words = r->n_words ? sy_arena_alloc(a, r->n_words * sizeof(*words)) : NULL;
            rules[k] = *r;
            rules[k].name = dup(a, r->name, ok);
            rules[k].value = dup(a, r->value, ok);
            rules[k].words = words;
            if (r->n_words && !words)
                *ok = false;
            for (size_t w = 0; *ok && w < r->n_words; w++)
                words[w] = dup(a, r->words[w], ok);
        }
    }
    return ds;
}

int sy_routes_add(sy_routes_t *rs, const sy_route_spec_t *s)
{
    if (rs->n == rs->cap) { /* the old array stays in the arena: at most what the new holds */
        size_t cap = rs->cap ? 2 * rs->cap : 8;
        sy_route_spec_t *r = sy_arena_alloc(&rs->arena, cap * sizeof(*r));
        if (!r)
            return -ENOMEM;
        if (rs->n)
            memcpy(r, rs->r, rs->n * sizeof(*r));
        rs->r = r;
        rs->cap = cap;
    }
    bool ok = true;
    sy_route_spec_t c = *s;
    c.name = dup(&rs->arena, s->name, &ok);
    c.listen = dup(&rs->arena, s->listen, &ok);
    c.path_prefix = dup(&rs->arena, s->path_prefix ? s->path_prefix : "", &ok);
    for (int u = 0; u < SY_ROUTE_UPSTREAMS; u++)
        c.up[u].address = dup(&rs->arena, s->up[u].address, &ok);
    c.sticky.name = dup(&rs->arena, s->sticky.name, &ok);
    c.domains = copy_domains(&rs->arena, s, &ok);
    if (!ok)
        return -ENOMEM;
    rs->r[rs->n++] = c;
    return 0;
}
