/* route.c - a proxied request's domain and upstream; see route.h. */
#include "core/route.h"

#include <string.h>

#include "core/hash.h"

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool same_ascii_case(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

/* The member at dotted `path` ("event.text") of `v`, or NULL. */
static const sy_value_t *field(const sy_value_t *v, const char *path)
{
    while (v && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        v = v->type == SY_OBJ ? sy_value_get(v, path, n) : NULL;
        path += n + (dot != NULL);
    }
    return v;
}

static bool word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           (unsigned char)c >= 0x80;
}

/* Whether `text` holds `word` as a whole word, ASCII case-insensitively. */
static bool has_word(const char *text, size_t len, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; w && i + w <= len; i++) {
        if (i > 0 && word_char(text[i - 1]))
            continue;
        size_t k = 0;
        while (k < w && lower(text[i + k]) == lower(word[k]))
            k++;
        if (k == w && (i + w == len || !word_char(text[i + w])))
            return true;
    }
    return false;
}

static bool matches(const sy_route_rule_t *rule, const sy_route_request_t *r)
{
    switch (rule->kind) {
    case SY_RULE_PATH_PREFIX: {
        size_t n = strlen(rule->value);
        return r->path_len >= n && memcmp(r->path, rule->value, n) == 0;
    }
    case SY_RULE_HEADER: {
        size_t len = 0;
        const char *v = r->header ? r->header(r->header_arg, rule->name, &len) : NULL;
        return v && same_ascii_case(v, len, rule->value);
    }
    case SY_RULE_BODY_FIELD:
        return field(r->body, rule->name) != NULL;
    case SY_RULE_BODY_KEYWORDS: {
        const sy_value_t *v = field(r->body, rule->name);
        for (size_t i = 0; v && v->type == SY_STR && i < rule->n_words; i++)
            if (has_word(v->s, v->len, rule->words[i]))
                return true;
        return false;
    }
    }
    return false;
}

uint32_t sy_route_bucket(const char *name, const char *key, size_t len)
{
    /* as flags hash a unit: the name, then the key, as one string */
    char buf[SY_ROUTE_MAX_NAME + SY_ROUTE_MAX_KEY];
    size_t n = strnlen(name, SY_ROUTE_MAX_NAME);
    if (len > SY_ROUTE_MAX_KEY)
        len = SY_ROUTE_MAX_KEY;
    memcpy(buf, name, n);
    memcpy(buf + n, key, len);
    return sy_hash_bucket(sy_hash_murmur3(buf, n + len), SY_ROUTE_BP);
}

sy_route_decision_t sy_route_decide(const sy_route_policy_t *p, const sy_route_request_t *r)
{
    sy_route_decision_t d = {.domain = -1};
    for (size_t i = 0; d.domain < 0 && i < p->n_domains; i++)
        for (size_t k = 0; d.domain < 0 && k < p->domains[i].n_rules; k++)
            if (matches(&p->domains[i].rules[k], r))
                d.domain = (int)i;
    d.bucket = r->sticky ? sy_route_bucket(p->name, r->sticky, r->sticky_len)
                         : sy_hash_bucket(r->random, SY_ROUTE_BP);
    const sy_route_domain_t *dom = d.domain >= 0 ? &p->domains[d.domain] : NULL;
    if (!p->enabled)
        d.why = SY_ROUTE_DISABLED;
    else if (p->killed)
        d.why = SY_ROUTE_KILLED;
    else if (dom && dom->protected_domain)
        d.why = SY_ROUTE_PROTECTED;
    else if (p->routable_only && !(dom && dom->routable))
        d.why = SY_ROUTE_NOT_ROUTABLE;
    else
        d.to_new = d.bucket < p->percentage_bp;
    return d;
}

const char *sy_route_why_name(sy_route_why_t why)
{
    switch (why) {
    case SY_ROUTE_DISABLED:
        return "disabled";
    case SY_ROUTE_KILLED:
        return "kill_switch";
    case SY_ROUTE_PROTECTED:
        return "protected";
    case SY_ROUTE_NOT_ROUTABLE:
        return "not_routable";
    default:
        return "split";
    }
}
