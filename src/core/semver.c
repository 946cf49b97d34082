/* semver.c - version parsing and ordering for sem_ver; see semver.h. */
#include "core/semver.h"

#include <errno.h>
#include <string.h>

struct slice {
    const char *p;
    size_t n;
};

struct version {
    struct slice num[3]; /* major, minor, patch: digits, no leading zero ("0" allowed) */
    struct slice pre;    /* prerelease without its '-', n == 0 when none */
};

static const char zero[] = "0";

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_ident_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

/* A numeric component at *p: digits, no leading zero. Advances *p. */
static bool number(const char **p, const char *end, struct slice *out)
{
    const char *q = *p;
    while (q < end && is_digit(*q))
        q++;
    size_t n = (size_t)(q - *p);
    if (n == 0 || (n > 1 && **p == '0'))
        return false;
    *out = (struct slice){*p, n};
    *p = q;
    return true;
}

/* Dot-separated non-empty identifiers up to `end`; numeric ones without leading zeros
 * when `numeric_rule` (prerelease; build metadata allows them). */
static bool identifiers(const char *p, const char *end, bool numeric_rule)
{
    if (p == end)
        return false;
    while (p <= end) {
        const char *q = p;
        bool all_digits = true;
        while (q < end && *q != '.') {
            if (!is_ident_char(*q))
                return false;
            all_digits = all_digits && is_digit(*q);
            q++;
        }
        if (q == p)
            return false;
        if (numeric_rule && all_digits && q - p > 1 && *p == '0')
            return false;
        if (q == end)
            return true;
        p = q + 1;
    }
    return false;
}

static bool parse(const char *s, size_t len, struct version *v)
{
    const char *p = s, *end = s + len;
    if (p < end && (*p == 'v' || *p == 'V'))
        p++;
    *v = (struct version){.num = {{zero, 1}, {zero, 1}, {zero, 1}}};
    if (!number(&p, end, &v->num[0]))
        return false;
    if (p == end)
        return true; /* "1" */
    if (*p++ != '.' || !number(&p, end, &v->num[1]))
        return false;
    if (p == end)
        return true; /* "1.2" */
    if (*p++ != '.' || !number(&p, end, &v->num[2]))
        return false;
    const char *plus = memchr(p, '+', (size_t)(end - p));
    const char *core_end = plus ? plus : end;
    if (plus && !identifiers(plus + 1, end, false))
        return false;
    if (p < core_end) {
        if (*p != '-' || !identifiers(p + 1, core_end, true))
            return false;
        v->pre = (struct slice){p + 1, (size_t)(core_end - p - 1)};
    }
    return true;
}

static int cmp_int(int a, int b)
{
    return (a > b) - (a < b);
}

/* Digit strings without leading zeros: longer is larger, else compare bytes. */
static int cmp_digits(struct slice a, struct slice b)
{
    if (a.n != b.n)
        return cmp_int(a.n > b.n, a.n < b.n);
    int c = memcmp(a.p, b.p, a.n);
    return cmp_int(c > 0, c < 0);
}

static bool all_digits(struct slice s)
{
    for (size_t i = 0; i < s.n; i++)
        if (!is_digit(s.p[i]))
            return false;
    return true;
}

static struct slice next_ident(struct slice *rest)
{
    const char *dot = memchr(rest->p, '.', rest->n);
    size_t n = dot ? (size_t)(dot - rest->p) : rest->n;
    struct slice id = {rest->p, n};
    rest->p += dot ? n + 1 : n;
    rest->n -= dot ? n + 1 : n;
    return id;
}

/* semver.org 11.4: identifier by identifier; numbers below words; a prefix is lower. */
static int cmp_pre(struct slice a, struct slice b)
{
    if (!a.n || !b.n)
        return cmp_int(a.n == 0, b.n == 0); /* no prerelease is higher */
    while (a.n && b.n) {
        struct slice x = next_ident(&a), y = next_ident(&b);
        bool xd = all_digits(x), yd = all_digits(y);
        int c;
        if (xd && yd) {
            c = cmp_digits(x, y);
        } else if (xd != yd) {
            c = xd ? -1 : 1;
        } else {
            size_t n = x.n < y.n ? x.n : y.n;
            c = memcmp(x.p, y.p, n);
            c = c ? cmp_int(c > 0, c < 0) : cmp_int(x.n > y.n, x.n < y.n);
        }
        if (c)
            return c;
    }
    return cmp_int(a.n > 0, b.n > 0);
}

static int compare(const struct version *a, const struct version *b)
{
    for (int i = 0; i < 3; i++) {
        int c = cmp_digits(a->num[i], b->num[i]);
        if (c)
            return c;
    }
    return cmp_pre(a->pre, b->pre);
}

static bool op_is(const char *op, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(op, want, n) == 0;
}

int sy_semver_test(const char *a, size_t alen, const char *op, size_t oplen, const char *b,
                   size_t blen, bool *result)
{
    struct version va, vb;
    if (!parse(a, alen, &va) || !parse(b, blen, &vb))
        return -EINVAL;
    int c = compare(&va, &vb);
    if (op_is(op, oplen, "="))
        *result = c == 0;
    else if (op_is(op, oplen, "!="))
        *result = c != 0;
    else if (op_is(op, oplen, "<"))
        *result = c < 0;
    else if (op_is(op, oplen, "<="))
        *result = c <= 0;
    else if (op_is(op, oplen, ">"))
        *result = c > 0;
    else if (op_is(op, oplen, ">="))
        *result = c >= 0;
    else if (op_is(op, oplen, "^"))
        *result = cmp_digits(va.num[0], vb.num[0]) == 0;
    else if (op_is(op, oplen, "~"))
        *result = cmp_digits(va.num[0], vb.num[0]) == 0 && cmp_digits(va.num[1], vb.num[1]) == 0;
    else
        return -EINVAL;
    return 0;
}
