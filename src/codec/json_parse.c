/* json_parse.c - JSON text straight into sy_value_t, in the caller's arena.
 *
 * What sy_value_parse used to get from jansson (json_loadb with JSON_DECODE_ANY,
 * JSON_ALLOW_NUL and JSON_DECODE_INT_AS_REAL, then a copy into the arena), without the
 * tree in between: on a 1,000-event ingest batch jansson's allocations were a third of the
 * server's time. The grammar and every refusal are jansson's, which fuzz/fuzz_json.c
 * checks byte for byte against jansson itself:
 *  - RFC 8259 JSON, any value at the top, whitespace around it, nothing after;
 *  - strings must be valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF), no
 *    raw control characters; \u escapes pair surrogates; \u0000 is allowed in values but
 *    not in object keys;
 *  - every number is a double (strtod, correctly rounded); one that overflows is refused;
 *  - a key repeated in an object keeps its first place and its last value;
 *  - at most 2048 levels of nesting.
 * Every string and key is copied NUL-terminated into the arena. Children of the open
 * containers wait on a small stack (malloc'd, freed before returning) until their
 * container closes and is copied into the arena at its final size.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/value_json.h"

#define MAX_DEPTH 2048

struct parser {
    const char *start, *s, *end;
    sy_arena_t *arena;
    sy_member_t *stack; /* children of the open containers (key unused in arrays) */
    size_t n, cap;
    int depth;
    int rc;
    const char *why;
    sy_err_t *err;
};

static int fail(struct parser *p, int rc, const char *why)
{
    if (!p->rc) {
        p->rc = rc;
        p->why = why;
    }
    return -1;
}

static void skip_ws(struct parser *p)
{
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
        p->s++;
}

static int push(struct parser *p, const sy_member_t *m)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        sy_member_t *s = realloc(p->stack, cap * sizeof(*s));
        if (!s)
            return fail(p, -ENOMEM, "out of memory");
        p->stack = s;
        p->cap = cap;
    }
    p->stack[p->n++] = *m;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int read_hex4(struct parser *p, const char *at, unsigned *out)
{
    if (p->end - at < 4)
        return fail(p, -EINVAL, "invalid escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(at[i]);
        if (h < 0)
            return fail(p, -EINVAL, "invalid escape");
        v = v << 4 | (unsigned)h;
    }
    *out = v;
    return 0;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0. */
static size_t utf8_len(const unsigned char *s, const unsigned char *end)
{
    unsigned c = s[0];
    size_t n;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - s) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A string at p->s (just past the opening quote) into the arena. */
static int string(struct parser *p, const char **out, uint32_t *len)
{
    const char *s = p->s;
    bool escapes = false;
    while (s < p->end && *s != '"') {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20)
            return fail(p, -EINVAL, "control character in a string");
        if (c == '\\') {
            escapes = true;
            if (++s == p->end)
                break;
            s++;
        } else if (c < 0x80) {
            s++;
        } else {
            size_t n = utf8_len((const unsigned char *)s, (const unsigned char *)p->end);
            if (!n)
                return fail(p, -EINVAL, "invalid UTF-8 in a string");
            s += n;
        }
    }
    if (s >= p->end)
        return fail(p, -EINVAL, "premature end of input in a string");
    size_t raw = (size_t)(s - p->s);
    if (raw > SY_VALUE_MAX_LEN)
        return fail(p, -ENOMEM, "a string is too long");
    char *o = sy_arena_alloc(p->arena, raw + 1);
    if (!o)
        return fail(p, -ENOMEM, "the document is larger than the memory allowed for it");
    size_t k = 0;
    if (!escapes) {
        memcpy(o, p->s, raw);
        k = raw;
    } else {
        for (const char *q = p->s; q < s;) {
            if (*q != '\\') {
                o[k++] = *q++;
                continue;
            }
            char e = q[1];
            q += 2;
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *m = e ? strchr(from, e) : NULL;
            if (m) {
                o[k++] = to[m - from];
                continue;
            }
            unsigned cp, lo;
            if (e != 'u' || read_hex4(p, q, &cp) < 0)
                return fail(p, -EINVAL, "invalid escape");
            q += 4;
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return fail(p, -EINVAL, "invalid Unicode escape (a lone low surrogate)");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (s - q < 6 || q[0] != '\\' || q[1] != 'u' || read_hex4(p, q + 2, &lo) < 0 ||
                    lo < 0xdc00 || lo > 0xdfff)
                    return fail(p, -EINVAL, "invalid Unicode escape (an unpaired surrogate)");
                q += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            k += put_utf8(o + k, cp);
        }
    }
    o[k] = '\0';
    *out = o;
    *len = (uint32_t)k;
    p->s = s + 1;
    return 0;
}

static int number(struct parser *p, double *out)
{
    const char *s = p->s, *b = s;
    bool neg = false, simple = true;
    if (s < p->end && *s == '-') {
        neg = true;
        s++;
    }
    if (s >= p->end || !(*s >= '0' && *s <= '9'))
        return fail(p, -EINVAL, "invalid token");
    if (*s == '0') {
        s++;
    } else {
        while (s < p->end && *s >= '0' && *s <= '9')
            s++;
    }
    size_t digits = (size_t)(s - b) - neg;
    if (s < p->end && *s == '.') {
        simple = false;
        if (++s >= p->end || !(*s >= '0' && *s <= '9'))
            return fail(p, -EINVAL, "invalid number");
        while (s < p->end && *s >= '0' && *s <= '9')
            s++;
    }
    if (s < p->end && (*s == 'e' || *s == 'E')) {
        simple = false;
        s++;
        if (s < p->end && (*s == '+' || *s == '-'))
            s++;
        if (s >= p->end || !(*s >= '0' && *s <= '9'))
            return fail(p, -EINVAL, "invalid number");
        while (s < p->end && *s >= '0' && *s <= '9')
            s++;
    }
    p->s = s;
    if (simple && digits <= 15) { /* exact in a double: no strtod needed */
        double v = 0;
        for (const char *q = b + neg; q < s; q++)
            v = v * 10 + (*q - '0');
        *out = neg ? -v : v;
        return 0;
    }
    size_t n = (size_t)(s - b);
    char small[128], *buf = n < sizeof(small) ? small : malloc(n + 1);
    if (!buf)
        return fail(p, -ENOMEM, "out of memory");
    memcpy(buf, b, n);
    buf[n] = '\0';
    errno = 0;
    double v = strtod(buf, NULL);
    int overflow = errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL);
    if (buf != small)
        free(buf);
    if (overflow)
        return fail(p, -EINVAL, "real number overflow");
    *out = v;
    return 0;
}

static int value(struct parser *p, sy_value_t *out);

static bool same_key(const sy_member_t *a, const sy_member_t *b)
{
    return a->klen == b->klen && memcmp(a->key, b->key, a->klen) == 0;
}

static int by_key_then_place(const void *x, const void *y)
{
    const sy_member_t *const *a = x, *const *b = y;
    size_t n = (*a)->klen < (*b)->klen ? (*a)->klen : (*b)->klen;
    int c = memcmp((*a)->key, (*b)->key, n);
    if (c)
        return c;
    if ((*a)->klen != (*b)->klen)
        return (*a)->klen < (*b)->klen ? -1 : 1;
    return *a < *b ? -1 : *a > *b;
}

/* Folds repeated keys of members m[0..n): the first place keeps the last value. Returns
 * the new count. Marks a dropped member with key NULL before compacting. */
static size_t fold_repeats(struct parser *p, sy_member_t *m, size_t n)
{
    bool any = false;
    if (n <= 16) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (m[j].key && same_key(&m[i], &m[j])) {
                    m[j].val = m[i].val;
                    m[i].key = NULL;
                    any = true;
                    break;
                }
    } else {
        sy_member_t **idx = malloc(n * sizeof(*idx));
        if (!idx) {
            fail(p, -ENOMEM, "out of memory");
            return n;
        }
        for (size_t i = 0; i < n; i++)
            idx[i] = &m[i];
        qsort(idx, n, sizeof(*idx), by_key_then_place);
        for (size_t i = 0; i < n;) {
            size_t j = i + 1;
            while (j < n && same_key(idx[i], idx[j]))
                j++;
            if (j - i > 1) {
                idx[i]->val = idx[j - 1]->val;
                for (size_t k = i + 1; k < j; k++)
                    idx[k]->key = NULL;
                any = true;
            }
            i = j;
        }
        free(idx);
    }
    if (!any)
        return n;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (m[i].key)
            m[k++] = m[i];
    return k;
}

/* Moves the children above `base` into the arena as the container's items. */
static int close_container(struct parser *p, size_t base, bool object, sy_value_t *out)
{
    size_t n = p->n - base;
    if (object && n > 1) {
        n = fold_repeats(p, p->stack + base, n);
        if (p->rc)
            return -1;
    }
    if (n > SY_VALUE_MAX_LEN)
        return fail(p, -ENOMEM, "a container is too large");
    if (object) {
        sy_member_t *m = sy_arena_alloc(p->arena, sizeof(*m) * (n ? n : 1));
        if (!m)
            return fail(p, -ENOMEM, "the document is larger than the memory allowed for it");
        if (n) /* an empty object may come before the stack exists */
            memcpy(m, p->stack + base, sizeof(*m) * n);
        *out = (sy_value_t){.type = SY_OBJ, .len = (uint32_t)n, .members = m};
    } else {
        sy_value_t *items = sy_arena_alloc(p->arena, sizeof(*items) * (n ? n : 1));
        if (!items)
            return fail(p, -ENOMEM, "the document is larger than the memory allowed for it");
        for (size_t i = 0; i < n; i++)
            items[i] = p->stack[base + i].val;
        *out = (sy_value_t){.type = SY_ARR, .len = (uint32_t)n, .items = items};
    }
    p->n = base;
    return 0;
}

static int container(struct parser *p, bool object, sy_value_t *out)
{
    if (++p->depth > MAX_DEPTH)
        return fail(p, -EINVAL, "maximum parsing depth reached");
    char close = object ? '}' : ']';
    size_t base = p->n;
    p->s++; /* past '{' or '[' */
    skip_ws(p);
    if (p->s < p->end && *p->s == close) {
        p->s++;
        p->depth--;
        return close_container(p, base, object, out);
    }
    for (;;) {
        sy_member_t m = {0};
        skip_ws(p);
        if (object) {
            if (p->s >= p->end || *p->s != '"')
                return fail(p, -EINVAL, "string or '}' expected");
            p->s++;
            if (string(p, &m.key, &m.klen) < 0)
                return -1;
            if (memchr(m.key, '\0', m.klen))
                return fail(p, -EINVAL, "NUL byte in object key not supported");
            skip_ws(p);
            if (p->s >= p->end || *p->s != ':')
                return fail(p, -EINVAL, "':' expected");
            p->s++;
        }
        if (value(p, &m.val) < 0 || push(p, &m) < 0)
            return -1;
        skip_ws(p);
        if (p->s < p->end && *p->s == ',') {
            p->s++;
            continue;
        }
        if (p->s < p->end && *p->s == close) {
            p->s++;
            p->depth--;
            return close_container(p, base, object, out);
        }
        return fail(p, -EINVAL, object ? "'}' expected" : "']' expected");
    }
}

static bool word(struct parser *p, const char *w, size_t n)
{
    if ((size_t)(p->end - p->s) < n || memcmp(p->s, w, n) != 0)
        return false;
    p->s += n;
    return true;
}

static int value(struct parser *p, sy_value_t *out)
{
    skip_ws(p);
    if (p->s >= p->end)
        return fail(p, -EINVAL, "unexpected end of input");
    switch (*p->s) {
    case '{':
        return container(p, true, out);
    case '[':
        return container(p, false, out);
    case '"': {
        const char *s;
        uint32_t len;
        p->s++;
        if (string(p, &s, &len) < 0)
            return -1;
        *out = SY_V_STR(s, len);
        return 0;
    }
    case 't':
        if (!word(p, "true", 4))
            break;
        *out = SY_V_BOOL(true);
        return 0;
    case 'f':
        if (!word(p, "false", 5))
            break;
        *out = SY_V_BOOL(false);
        return 0;
    case 'n':
        if (!word(p, "null", 4))
            break;
        *out = SY_V_NULL;
        return 0;
    default: {
        double d;
        if (number(p, &d) < 0)
            return -1;
        *out = SY_V_NUM(d);
        return 0;
    }
    }
    return fail(p, -EINVAL, "invalid token");
}

int sy_value_parse(const char *text, size_t len, sy_arena_t *arena, sy_value_t *out, sy_err_t *err)
{
    struct parser p = {.start = text, .s = text, .end = text + len, .arena = arena};
    sy_value_t v;
    if (value(&p, &v) == 0) {
        skip_ws(&p);
        if (p.s < p.end)
            fail(&p, -EINVAL, "end of input expected");
    }
    free(p.stack);
    if (p.rc == -ENOMEM)
        return sy_err_set(err, -ENOMEM, "", "%s", p.why);
    if (p.rc < 0) {
        /* where, as a person counts: lines from 1, columns in bytes from 1 */
        int line = 1, col = 1;
        for (const char *q = text; q < p.s && q < p.end; q++)
            if (*q == '\n')
                line++, col = 1;
            else
                col++;
        return sy_err_set(err, -EINVAL, "", "invalid JSON at line %d, column %d: %s", line, col,
                          p.why);
    }
    *out = v;
    return 0;
}
