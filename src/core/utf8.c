/* utf8.c - UTF-8 validity; see utf8.h. */
#include "core/utf8.h"

#include <string.h>

size_t sy_utf8_seq(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    size_t len = p[0] < 0x80                    ? 1
                 : p[0] >= 0xc2 && p[0] <= 0xdf ? 2
                 : p[0] >= 0xe0 && p[0] <= 0xef ? 3
                 : p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
                                                : 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    /* The second byte's range rules out overlong forms, surrogates and past U+10FFFF. */
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90))
        return 0;
    return len;
}

bool sy_utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = sy_utf8_seq(s + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

bool sy_utf8_text(const char *s, size_t max)
{
    size_t n = 0;
    while (s && s[n] && n <= max) {
        if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
            return false;
        n++;
    }
    return n >= 1 && n <= max && !s[n] && sy_utf8_valid(s, n);
}

size_t sy_utf8_clean(char *dst, size_t cap, const char *s)
{
    size_t o = 0, n = strlen(s);
    for (size_t i = 0; i < n && o + 1 < cap;) {
        size_t k = sy_utf8_seq(s + i, n - i);
        if (k == 0) {
            dst[o++] = '?';
            i++;
            continue;
        }
        if (o + k >= cap)
            break;
        memcpy(dst + o, s + i, k);
        o += k;
        i += k;
    }
    dst[o] = '\0';
    return o;
}
