/* value.c - JSON values and ECMAScript coercions; see value.h. */
#include "core/value.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sy_value_t sy_value_cstr(const char *s)
{
    return SY_V_STR(s, strlen(s));
}

const sy_value_t *sy_value_get(const sy_value_t *obj, const char *key, size_t klen)
{
    if (!obj || obj->type != SY_OBJ)
        return NULL;
    for (uint32_t i = 0; i < obj->len; i++) {
        const sy_member_t *m = &obj->members[i];
        if (sy_bytes_eq(m->key, m->klen, key, klen))
            return &m->val;
    }
    return NULL;
}

bool sy_value_truthy(const sy_value_t *v)
{
    switch (v->type) {
    case SY_BOOL:
        return v->b;
    case SY_NUM:
        return v->n != 0 && !isnan(v->n);
    case SY_STR:
    case SY_ARR:
        return v->len > 0;
    case SY_OBJ:
        return true;
    default:
        return false;
    }
}

/* Length of the ECMAScript white space or line terminator at p (UTF-8), 0 if none. */
static size_t js_space(const unsigned char *p, const unsigned char *end)
{
    size_t n = (size_t)(end - p);
    if (*p == ' ' || (*p >= '\t' && *p <= '\r'))
        return 1;
    if (n >= 2 && p[0] == 0xc2 && p[1] == 0xa0) /* NBSP */
        return 2;
    if (n < 3)
        return 0;
    if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) /* BOM */
        return 3;
    if (p[0] == 0xe2 && p[1] == 0x80 &&
        ((p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
        return 3;
    if ((p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f) ||
        (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) ||
        (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80))
        return 3;
    return 0;
}

static int digit_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/* 0x.., 0o.., 0b..: non-empty digits of the radix and nothing else. */
static bool radix_number(const unsigned char *p, const unsigned char *end, int radix, double *out)
{
    if (p == end)
        return false;
    double d = 0;
    for (; p < end; p++) {
        int v = digit_value(*p);
        if (v >= radix)
            return false;
        d = d * radix + v;
    }
    *out = d;
    return true;
}

/* StrDecimalLiteral: [+-] (Infinity | digits [. digits] | . digits) [e [+-] digits]. */
static bool decimal_number(const unsigned char *p, const unsigned char *end, double *out)
{
    const unsigned char *q = p;
    bool neg = false;
    if (q < end && (*q == '+' || *q == '-'))
        neg = *q++ == '-';
    if ((size_t)(end - q) == 8 && memcmp(q, "Infinity", 8) == 0) {
        *out = neg ? -INFINITY : INFINITY;
        return true;
    }
    size_t digits = 0;
    while (q < end && *q >= '0' && *q <= '9')
        q++, digits++;
    if (q < end && *q == '.') {
        q++;
        while (q < end && *q >= '0' && *q <= '9')
            q++, digits++;
    }
    if (!digits)
        return false;
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (q == end || *q < '0' || *q > '9')
            return false;
        while (q < end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q != end)
        return false;
    /* The grammar is checked, so strtod reads exactly [p, end); copy because the string
     * need not be NUL-terminated there. */
    char buf[512];
    size_t n = (size_t)(end - p);
    if (n >= sizeof(buf))
        return false; /* longer than any double's meaningful digits plus padding: refuse */
    memcpy(buf, p, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL);
    return true;
}

static bool string_to_number(const char *s, size_t len, double *out)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    size_t w;
    while (p < end && (w = js_space(p, end)) > 0)
        p += w;
    while (end > p) {
        /* Trim from the right: step back over one whole space character if there is one. */
        size_t back = 0;
        for (size_t k = 1; k <= 3 && k <= (size_t)(end - p); k++)
            if (js_space(end - k, end) == k) {
                back = k;
                break;
            }
        if (!back)
            break;
        end -= back;
    }
    if (p == end) {
        *out = 0;
        return true;
    }
    if (end - p > 2 && p[0] == '0') {
        int radix = (p[1] | 0x20) == 'x'   ? 16
                    : (p[1] | 0x20) == 'o' ? 8
                    : (p[1] | 0x20) == 'b' ? 2
                                           : 0;
        if (radix)
            return radix_number(p + 2, end, radix, out);
    }
    return decimal_number(p, end, out);
}

bool sy_value_to_number(const sy_value_t *v, double *out)
{
    *out = NAN;
    switch (v->type) {
    case SY_NULL:
        *out = 0;
        return true;
    case SY_BOOL:
        *out = v->b ? 1 : 0;
        return true;
    case SY_NUM:
        *out = v->n;
        return !isnan(v->n);
    case SY_STR:
        if (!string_to_number(v->s, v->len, out)) {
            *out = NAN;
            return false;
        }
        return true;
    default:
        return false;
    }
}

bool sy_value_strict_eq(const sy_value_t *a, const sy_value_t *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case SY_NULL:
        return true;
    case SY_BOOL:
        return a->b == b->b;
    case SY_NUM:
        return a->n == b->n;
    case SY_STR:
        return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
    default:
        return false;
    }
}

bool sy_value_json_eq(const sy_value_t *a, const sy_value_t *b)
{
    if (a->type != b->type || (a->type >= SY_STR && a->len != b->len))
        return false;
    switch (a->type) {
    case SY_ARR:
        for (uint32_t i = 0; i < a->len; i++)
            if (!sy_value_json_eq(&a->items[i], &b->items[i]))
                return false;
        return true;
    case SY_OBJ:
        for (uint32_t i = 0; i < a->len; i++) {
            const sy_member_t *m = &a->members[i];
            const sy_value_t *other = sy_value_get(b, m->key, m->klen);
            if (!other || !sy_value_json_eq(&m->val, other))
                return false;
        }
        return true;
    default:
        return sy_value_strict_eq(a, b);
    }
}

/* Shortest decimal digits of finite, positive `d` that read back as `d`: fills
 * `digits` (no point, no trailing zeros) and returns their count; *exp10 is the
 * exponent of the first digit (d = 0.d1d2... x 10^(exp10 + 1)). */
static int shortest_digits(double d, char digits[24], int *exp10)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
        if (strtod(buf, NULL) == d || prec == 17)
            break;
    }
    /* buf is "d[.ddd]e[+-]xx" in the C locale; any one-byte decimal point is skipped. */
    int n = 0;
    const char *p = buf;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    *exp10 = *p == 'e' ? atoi(p + 1) : 0;
    while (n > 1 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    return n;
}

size_t sy_num_format(double d, char *buf, size_t cap)
{
    char out[40];
    size_t len = 0;
    if (isnan(d)) {
        len = (size_t)snprintf(out, sizeof(out), "NaN");
    } else if (isinf(d)) {
        len = (size_t)snprintf(out, sizeof(out), d < 0 ? "-Infinity" : "Infinity");
    } else if (d == 0) {
        len = (size_t)snprintf(out, sizeof(out), "0");
    } else {
        char digits[24];
        int e10;
        if (d < 0)
            out[len++] = '-';
        int k = shortest_digits(fabs(d), digits, &e10);
        int n = e10 + 1; /* ECMAScript's n: value = 0.digits x 10^n */
        if (k <= n && n <= 21) {
            memcpy(out + len, digits, (size_t)k);
            len += (size_t)k;
            for (int i = k; i < n; i++)
                out[len++] = '0';
        } else if (0 < n && n <= 21) {
            memcpy(out + len, digits, (size_t)n);
            len += (size_t)n;
            out[len++] = '.';
            memcpy(out + len, digits + n, (size_t)(k - n));
            len += (size_t)(k - n);
        } else if (-6 < n && n <= 0) {
            out[len++] = '0';
            out[len++] = '.';
            for (int i = 0; i < -n; i++)
                out[len++] = '0';
            memcpy(out + len, digits, (size_t)k);
            len += (size_t)k;
        } else {
            out[len++] = digits[0];
            if (k > 1) {
                out[len++] = '.';
                memcpy(out + len, digits + 1, (size_t)(k - 1));
                len += (size_t)(k - 1);
            }
            len += (size_t)snprintf(out + len, sizeof(out) - len, "e%c%d", n - 1 < 0 ? '-' : '+',
                                    abs(n - 1));
        }
    }
    out[len] = '\0';
    if (cap)
        snprintf(buf, cap, "%s", out);
    return len;
}

/* A bounded writer: counts every byte, stores those that fit (snprintf's rule). */
struct writer {
    char *buf;
    size_t cap;
    size_t len;
};

static void put(struct writer *w, const char *s, size_t n)
{
    if (w->len < w->cap)
        memcpy(w->buf + w->len, s, w->cap - w->len < n ? w->cap - w->len : n);
    w->len += n;
}

/* Writes String(v); `nested` is true inside an array, where null is "" ([null].join()). */
static void put_string(struct writer *w, const sy_value_t *v, bool nested)
{
    char num[40];
    switch (v->type) {
    case SY_NULL:
        if (!nested)
            put(w, "null", 4);
        break;
    case SY_BOOL:
        put(w, v->b ? "true" : "false", v->b ? 4 : 5);
        break;
    case SY_NUM:
        put(w, num, sy_num_format(v->n, num, sizeof(num)));
        break;
    case SY_STR:
        put(w, v->s, v->len);
        break;
    case SY_OBJ:
        put(w, "[object Object]", 15);
        break;
    case SY_ARR:
        for (uint32_t i = 0; i < v->len; i++) {
            if (i)
                put(w, ",", 1);
            put_string(w, &v->items[i], true);
        }
        break;
    }
}

int sy_value_to_string(const sy_value_t *v, sy_arena_t *scratch, const char **s, size_t *len)
{
    if (v->type == SY_STR) {
        *s = v->s;
        *len = v->len;
        return 0;
    }
    struct writer w = {0};
    put_string(&w, v, false);
    char *buf = sy_arena_alloc(scratch, w.len + 1);
    if (!buf)
        return -ENOMEM;
    w = (struct writer){.buf = buf, .cap = w.len};
    put_string(&w, v, false);
    buf[w.len] = '\0';
    *s = buf;
    *len = w.len;
    return 0;
}

const char *sy_vtype_name(sy_vtype_t t)
{
    switch (t) {
    case SY_NULL:
        return "null";
    case SY_BOOL:
        return "boolean";
    case SY_NUM:
        return "number";
    case SY_STR:
        return "string";
    case SY_ARR:
        return "array";
    default:
        return "object";
    }
}
