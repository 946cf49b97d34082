/* value_json.h - JSON text and jansson trees to and from core's sy_value_t.
 *
 * Core evaluates sy_value_t trees and never sees JSON text; this is where text becomes
 * values (flag documents, evaluation contexts) and values become JSON again (results).
 * Numbers become doubles, as in JavaScript and flagd: integers beyond 2^53 lose
 * precision exactly as they do there.
 */
#ifndef SY_CODEC_VALUE_JSON_H
#define SY_CODEC_VALUE_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/value.h"

/* Copies `j` into `arena` as *out (strings NUL-terminated, object members in order).
 * Returns 0, -EINVAL for a value JSON cannot hold (NaN), or -ENOMEM when the arena's cap
 * is reached. */
int sy_value_from_json(const json_t *j, sy_arena_t *arena, sy_value_t *out);

/* Parses JSON text (any value at the top; NUL bytes in strings allowed) into `arena`,
 * accepting and refusing exactly what jansson's json_loadb does with JSON_DECODE_ANY,
 * JSON_ALLOW_NUL and JSON_DECODE_INT_AS_REAL (every number a double; a repeated key keeps
 * its first place and last value), without building jansson's tree (json_parse.c).
 * Returns 0, -EINVAL with `err` giving line, column and the reason, or -ENOMEM (the
 * arena's cap). Nothing of a failed parse is usable; the arena may have grown. */
int sy_value_parse(const char *text, size_t len, sy_arena_t *arena, sy_value_t *out, sy_err_t *err);

/* json_loadb that keeps integers as integers (so they print back as written) unless one
 * overflows int64, in which case every number is read as a double, as JavaScript would.
 * `flags` are jansson's decoding flags. Returns a new reference, or NULL with `e` filled. */
json_t *sy_json_loadb(const char *text, size_t len, size_t flags, json_error_t *e);

/* json_dumps that says when it ran out of memory: NULL, never a text with a piece missing.
 * (jansson 2.14's json_dumps ignores a failed append of an object's key and returns the
 * rest: `{:"1"}` would be stored as a definition.) Returns owned text (free()). */
char *sy_json_dumps(const json_t *j, size_t flags);

/* A new jansson tree equal to `v` (integral numbers below 2^53 as integers), or NULL when
 * out of memory. Caller owns the reference. */
json_t *sy_value_to_json(const sy_value_t *v);

/* JSON text written straight from values, without a jansson tree: the hot paths' output
 * (OFREP answers). Starts in caller memory and moves to the heap when that is full. */
typedef struct sy_text {
    char *p;
    size_t len, cap;
    bool heap;   /* p was allocated here */
    bool failed; /* out of memory: the text is incomplete */
} sy_text_t;

void sy_text_init(sy_text_t *t, char *buf, size_t cap);
void sy_text_put(sy_text_t *t, const char *s, size_t n);
/* `s` as a JSON string literal (quotes, and escapes for '"', '\\' and control bytes); a
 * byte that starts no valid UTF-8 sequence becomes U+FFFD, so the output is always JSON
 * whatever a client sent. */
void sy_text_string(sy_text_t *t, const char *s, size_t n);
/* `v` as compact JSON (integral numbers below 2^53 as integers, others shortest). */
void sy_text_value(sy_text_t *t, const sy_value_t *v);
void sy_text_free(sy_text_t *t);

#endif
