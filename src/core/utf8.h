/* utf8.h - UTF-8 validity (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF), for text that comes from clients and must become JSON strings and names.
 *
 * Pure: no allocation, no state. Safe to call from any thread.
 */
#ifndef SY_CORE_UTF8_H
#define SY_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* The length (1 to 4) of the valid UTF-8 sequence at s[0..n), or 0 when s does not start
 * with one (n == 0 included). */
size_t sy_utf8_seq(const char *s, size_t n);

/* True when s[0..n) is valid UTF-8 throughout. */
bool sy_utf8_valid(const char *s, size_t n);

/* True when the NUL-terminated s (NULL: none) is 1 to `max` bytes of valid UTF-8 with no
 * control character: a name, a word, a header value a client gave. */
bool sy_utf8_text(const char *s, size_t max);

/* Copies the NUL-terminated s into dst (cap >= 1 bytes, NUL-terminated) as valid UTF-8: a
 * byte that starts no valid sequence becomes '?', and a sequence that would not fit whole
 * is left out. Returns the length written. */
size_t sy_utf8_clean(char *dst, size_t cap, const char *s);

#endif
