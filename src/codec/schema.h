/* schema.h - one description per request type: the members a JSON object may have, what
 * each must hold, and where it goes in the C struct the engine takes.
 *
 * A schema drives all three of a request's checks, so that every endpoint refuses the same
 * way: a member the schema does not list is SY_EUNKNOWN naming it (its path, for nested
 * objects: "safety.min_confidenc"), before any value is looked at; a member of the wrong
 * kind or out of its bounds, or a required one missing, is -EINVAL naming it, with the
 * member's own sentence. The router lists the same schema's names (GET /v1), and docs can
 * be checked against it.
 *
 * Strings are borrowed from the JSON object: they live as long as it does.
 */
#ifndef SY_CODEC_SCHEMA_H
#define SY_CODEC_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"
#include "core/limit.h"

typedef enum sy_kind {
    SY_K_TEXT,   /* const char *: a string of lo..hi bytes, UTF-8, no control characters */
    SY_K_BOOL,   /* bool */
    SY_K_NUMBER, /* double: finite, in [lo, hi] (above lo when lo_open) */
    SY_K_INT,    /* int64_t: an integer in [lo, hi] */
    SY_K_LIMIT,  /* sy_limit_t: a number as SY_K_NUMBER, or null for "no limit" */
    SY_K_OBJECT, /* a nested object read by `sub` into the struct at `at` */
    SY_K_JSON,   /* const json_t *: any JSON, the caller's to read (documents, metadata) */
} sy_kind_t;

struct sy_schema;

typedef struct sy_field {
    const char *name;
    sy_kind_t kind;
    size_t at;    /* offsetof the value in the struct */
    size_t given; /* offsetof a bool set when the member is present; SY_UNTRACKED: none */
    bool required;
    bool lo_open;     /* numbers: above lo, not from it */
    double lo, hi;    /* numbers and integers: the range; text: its length in bytes */
    const char *says; /* what a good value is, for the error: "a number above 0" */
    const struct sy_schema *sub;
} sy_field_t;

#define SY_UNTRACKED ((size_t)-1)

typedef struct sy_schema {
    const sy_field_t *fields;
    size_t n;
} sy_schema_t;

#define SY_SCHEMA(arr)                                                                             \
    {                                                                                              \
        (arr), sizeof(arr) / sizeof((arr)[0])                                                      \
    }

/* Reads `obj` by `s` into `out`: 0, SY_EUNKNOWN naming the first member `s` does not list
 * (every name is checked before any value), or -EINVAL naming the first wrong or missing
 * one. `at` prefixes the names in errors ("" at the top). Members not given leave their
 * place in `out` as it was (the caller's defaults). */
int sy_schema_read(const sy_schema_t *s, const json_t *obj, void *out, const char *at,
                   sy_err_t *err);

/* The field of `s` named `name`, or NULL. */
const sy_field_t *sy_schema_field(const sy_schema_t *s, const char *name);

#endif
