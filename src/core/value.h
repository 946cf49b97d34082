/* value.h - JSON values as flag documents and evaluation contexts hold them, and the
 * JavaScript rules JSONLogic applies to them.
 *
 * A sy_value_t is a 16-byte tagged view: scalars inline, strings as (pointer, length),
 * arrays and objects as (pointer, count) into memory someone else owns (an arena of a
 * loaded flag set, a context builder, an evaluation's scratch). Strings are UTF-8, not
 * necessarily NUL-terminated, and may contain NUL bytes. Object members keep their
 * document order; keys are unique (the loader keeps the last of duplicates, as JSON
 * parsers in flagd do).
 *
 * The coercions follow ECMAScript because flagd's reference evaluators are JavaScript
 * (flagd-core) or copy its behaviour: ToNumber of strings, loose equality, truthiness
 * with JSONLogic's one change (an empty array is false), and Number::toString's
 * shortest round-trip form ("1", "2.5", "1e+21").
 *
 * Pure: no allocation except into a caller's arena, no globals. Thread-safe.
 */
#ifndef SY_CORE_VALUE_H
#define SY_CORE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"

typedef enum sy_vtype {
    SY_NULL = 0,
    SY_BOOL,
    SY_NUM,
    SY_STR,
    SY_ARR,
    SY_OBJ,
} sy_vtype_t;

typedef struct sy_member sy_member_t;

typedef struct sy_value {
    uint8_t type; /* sy_vtype_t */
    uint32_t len; /* bytes of a string, items of an array, members of an object */
    union {
        bool b;
        double n;
        const char *s;
        const struct sy_value *items;
        const sy_member_t *members;
    };
} sy_value_t;

struct sy_member {
    const char *key; /* UTF-8, `klen` bytes */
    uint32_t klen;
    sy_value_t val;
};

/* Largest string, array or object a value may hold (lengths are 32-bit). */
#define SY_VALUE_MAX_LEN 0x7fffffffu

#define SY_V_NULL      ((sy_value_t){.type = SY_NULL})
#define SY_V_BOOL(x)   ((sy_value_t){.type = SY_BOOL, .b = (x)})
#define SY_V_NUM(x)    ((sy_value_t){.type = SY_NUM, .n = (x)})
#define SY_V_STR(p, l) ((sy_value_t){.type = SY_STR, .len = (uint32_t)(l), .s = (p)})

/* True when two byte strings are equal. Inline, eight bytes at a time: keys and variant
 * names are short and compared on every evaluation, where a call to memcmp costs more
 * than the comparison. */
static inline bool sy_bytes_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    size_t i = 0;
    for (; i + 8 <= alen; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            return false;
    }
    for (; i < alen; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* A string value over a NUL-terminated C string (borrowed). */
sy_value_t sy_value_cstr(const char *s);

/* The member `key` (`klen` bytes) of object `obj`, or NULL when `obj` is not an object or
 * has no such member. Borrows from `obj`. */
const sy_value_t *sy_value_get(const sy_value_t *obj, const char *key, size_t klen);

/* JSONLogic truthiness: false, 0, NaN, "", null and [] are false; the rest (including
 * "0" and {}) is true. */
bool sy_value_truthy(const sy_value_t *v);

/* ECMAScript ToNumber into *out: null 0, booleans 0/1, numbers as they are, strings by
 * the StringToNumber grammar (whitespace trimmed, "" is 0, 0x/0o/0b, Infinity). Returns
 * false (leaving NaN in *out) when the result is NaN or `v` is an array or object: the
 * cases where flagd's JSONLogic engine refuses to compute. */
bool sy_value_to_number(const sy_value_t *v, double *out);

/* ECMAScript strict equality (===). Arrays and objects are never equal: in JavaScript
 * they compare by identity and no two evaluated operands share one. */
bool sy_value_strict_eq(const sy_value_t *a, const sy_value_t *b);

/* Deep JSON equality: same type and value, numbers by value, arrays item by item, objects
 * member by member regardless of order. For tests and tooling, not for JSONLogic. */
bool sy_value_json_eq(const sy_value_t *a, const sy_value_t *b);

/* Number::toString(10) of `d` into `buf`: the shortest digits that read back as `d`,
 * fixed notation for 1e-7 <= |d| < 1e21, exponent form ("1e+21", "1.5e-7") outside,
 * "NaN", "Infinity", "-Infinity", and "0" for -0. Returns the length written (the
 * buffer needs 32 bytes for any double; a shorter one is truncated, snprintf style). */
size_t sy_num_format(double d, char *buf, size_t cap);

/* ECMAScript String(v) for JSONLogic's cat, in, and variant names: strings as they are,
 * numbers by sy_num_format, "true"/"false", "null", arrays joined with "," (null items
 * empty), objects "[object Object]". The result may point into `v` (strings) or into
 * `scratch`. Returns 0, or -ENOMEM when `scratch` is full. */
int sy_value_to_string(const sy_value_t *v, sy_arena_t *scratch, const char **s, size_t *len);

/* The JSON type name a caller asks for: "boolean", "number", "string", "object" as
 * OpenFeature names them ("object" for objects only). */
const char *sy_vtype_name(sy_vtype_t t);

#endif
