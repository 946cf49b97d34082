/* flag.h - flagd flag sets: loading, validating and evaluating flags.
 *
 * A flag set is one flagd document ({"flags": {...}, "$evaluators": {...}, "metadata":
 * {...}}, ../shared/conformance/flagd/schema/flags.json) already turned into a sy_value_t
 * tree. Loading checks it the way flagd does and compiles every targeting rule once:
 *
 *   refused (errors): a document whose `flags` is not an object; a flag that is not an
 *     object, has no `variants` object, has a `state` other than ENABLED or DISABLED, or
 *     a `defaultVariant` naming no variant;
 *   loaded with warnings, refused in strict mode: what only flagd's JSON schema rejects
 *     (a document that is not an object or lacks `flags`, metadata values that are not
 *     strings, numbers or booleans, a non-string metadata version, empty keys, variants of
 *     mixed or array types, targeting that is not an object, operators with the wrong
 *     number of operands, `sem_ver` literals that are not full semver, literal negative
 *     or fractional weights, a literal bucketing string, `$flagd.<other>`), and targeting
 *     that cannot compile (an unknown operator, a `$ref` to a missing evaluator): that
 *     flag then answers PARSE_ERROR, as flagd's does, and the other flags work.
 *
 * Every problem is reported with the flag key and JSON path it concerns; a refused load
 * returns no set, so a caller keeps its previous one.
 *
 * Evaluation (sy_flagset_eval) follows flagd's resolution rules: DISABLED first, then
 * STATIC / TARGETING_MATCH / DEFAULT / ERROR, the flag-set metadata merged under each
 * flag's. It never allocates: temporaries go to the caller's fixed scratch arena, and the
 * result borrows from the set. Loading allocates (from the document's arena).
 *
 * Thread-safety: a loaded set is immutable; any number of threads may evaluate it at
 * once, each with its own scratch.
 */
#ifndef SY_CORE_FLAG_H
#define SY_CORE_FLAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/logic.h"
#include "core/value.h"

typedef struct sy_flagset sy_flagset_t;

typedef enum sy_reason {
    SY_REASON_STATIC = 0,      /* no targeting: the default variant */
    SY_REASON_TARGETING_MATCH, /* targeting named a variant */
    SY_REASON_DEFAULT,         /* targeting gave null: the default variant (or none) */
    SY_REASON_DISABLED,        /* the flag is DISABLED: the caller's default */
    SY_REASON_ERROR,           /* see the error code: the caller's default */
} sy_reason_t;

typedef enum sy_flag_error {
    SY_FLAG_OK = 0,
    SY_FLAG_NOT_FOUND,             /* no flag with that key */
    SY_FLAG_TYPE_MISMATCH,         /* the variant's type is not the requested type */
    SY_FLAG_PARSE_ERROR,           /* the targeting cannot be compiled or run */
    SY_FLAG_TARGETING_KEY_MISSING, /* reserved for callers that require a key */
    SY_FLAG_INVALID_CONTEXT,       /* the context is not an object */
    SY_FLAG_GENERAL,               /* anything else (unknown variant, scratch too small) */
} sy_flag_error_t;

/* The type a caller asks for. SY_TYPE_ANY accepts any variant (bulk evaluation). */
typedef enum sy_flag_type {
    SY_TYPE_ANY = 0,
    SY_TYPE_BOOLEAN,
    SY_TYPE_STRING,
    SY_TYPE_NUMBER,
    SY_TYPE_OBJECT,
} sy_flag_type_t;

typedef struct sy_flag_result {
    bool has_value;      /* false: the caller's default applies (errors, DISABLED,
                          * no default variant) */
    sy_value_t value;    /* the variant's value when has_value; borrows the set */
    const char *variant; /* the variant's name, NULL when none; borrows the set */
    uint32_t variant_len;
    sy_reason_t reason;
    sy_flag_error_t error;      /* SY_FLAG_OK unless reason is SY_REASON_ERROR */
    const sy_value_t *metadata; /* merged metadata object (never NULL); borrows the set */
    char message[160];          /* why, for errors; "" otherwise */
} sy_flag_result_t;

/* One problem found while loading. */
typedef struct sy_problem {
    bool error;     /* true: the document is refused; false: a schema warning */
    char flag[64];  /* the flag concerned, "" for the document itself */
    char path[128]; /* JSON path, such as flags.a.targeting.if[0].fractional[1][1] */
    char msg[160];
} sy_problem_t;

/* Caller-owned list the loader fills: at most `cap` problems are stored in `items`, errors
 * in preference to warnings when there are more; `total` counts all of them, `errors`
 * those that refuse the document. */
typedef struct sy_problems {
    sy_problem_t *items;
    size_t cap;
    size_t n;
    size_t total;
    size_t errors;
} sy_problems_t;

typedef struct sy_flagset_opts {
    bool strict;                /* refuse what only the schema rejects */
    sy_fractional_t fractional; /* bucketing rule (v2 unless migrating from flagd <= 0.14) */
} sy_flagset_opts_t;

/* Loads `doc` into a new set. Takes `arena` (the memory `doc` lives in, growable): on
 * success the set owns it and frees it in sy_flagset_free; on failure it is freed too.
 * `opts` may be NULL (lenient, v2). Problems go to `problems` when not NULL (warnings
 * also on success). Returns 0, -EINVAL when the document is refused, -ENOMEM. */
int sy_flagset_load(sy_flagset_t **out, sy_arena_t *arena, const sy_value_t *doc,
                    const sy_flagset_opts_t *opts, sy_problems_t *problems);

void sy_flagset_free(sy_flagset_t *set); /* NULL is a no-op */

/* Number of flags, and the key of the i-th in document order (borrowed). */
size_t sy_flagset_count(const sy_flagset_t *set);
const char *sy_flagset_key(const sy_flagset_t *set, size_t i, size_t *len);

/* True when the i-th flag is DISABLED. */
bool sy_flagset_is_disabled(const sy_flagset_t *set, size_t i);

/* True when some flag's targeting may read $flagd.timestamp: only then does `now_s`
 * matter, and a caller can skip reading its clock otherwise. */
bool sy_flagset_reads_time(const sy_flagset_t *set);

/* The flag-set metadata object (never NULL; borrowed). */
const sy_value_t *sy_flagset_metadata(const sy_flagset_t *set);

/* Evaluates flag `key` (`klen` bytes) for `ctx` (an object, or NULL for {}) at Unix time
 * `now_s`, asking for `type`, into *res. Never fails: every outcome is a result (an
 * unknown key is SY_FLAG_NOT_FOUND). `scratch` is a fixed arena for temporaries; a rule
 * that needs more than it holds gives SY_FLAG_GENERAL. */
void sy_flagset_eval(const sy_flagset_t *set, const char *key, size_t klen, sy_flag_type_t type,
                     const sy_value_t *ctx, int64_t now_s, sy_arena_t *scratch,
                     sy_flag_result_t *res);

/* Stable names: "STATIC"..., "FLAG_NOT_FOUND"... ("" for SY_FLAG_OK). */
const char *sy_reason_name(sy_reason_t r);
const char *sy_flag_error_name(sy_flag_error_t e);

#endif
