/* flag.h - one flagd flag: checked, compiled and evaluated on its own.
 *
 * sy_flag_compile checks one member of a document's `flags` the way flagd does and
 * compiles it against the set it goes into (sy_flag_env_t): that set's `$evaluators` (a
 * `$ref` is inlined), its metadata (merged under the flag's own) and its bucketing rule.
 * What it checks:
 *
 *   refused (errors): a flag that is not an object, has no `variants` object, has a
 *     `state` other than ENABLED or DISABLED, or a `defaultVariant` naming no variant;
 *   notes (never refusing): members a flag does not have (`defaultVarient`), each with
 *     the member meant when one is close ("did you mean 'defaultVariant'?"), also in the
 *     error when the member meant is a required one (`varients`);
 *   in strict mode, errors: whatever flagd's JSON schema refuses, decided by the schema
 *     itself (flagschema.h), once the flag is not refused already;
 *   warnings in lenient mode only: what only flagd's JSON schema rejects (empty keys,
 *     metadata values that are not strings, numbers or booleans, variants of mixed or
 *     array types, targeting that is not an object, operators with the wrong number of
 *     operands, `sem_ver` literals that are not full semver, literal negative or
 *     fractional weights, a literal bucketing string, `$flagd.<other>`), and targeting
 *     that cannot compile (an unknown operator; in strict mode a note when the schema
 *     accepts it); a `$ref` to a missing evaluator is only noted (valid by the schema).
 *     Such a flag answers PARSE_ERROR, as flagd's does.
 *
 * A compiled flag is immutable: one block with an atomic reference count, holding its
 * key, the caller's source text if given, and references to pieces (pool.h) it shares
 * with every flag compiled through the same pool that has an equal one: its variant set,
 * its merged metadata, its compiled targeting (the same rule over the same evaluators is
 * compiled once). It records the problems it was compiled with, so that a set built
 * again around it reports them without compiling it again.
 *
 * Evaluation (sy_flag_eval) follows flagd's resolution rules: DISABLED first, then
 * STATIC / TARGETING_MATCH / DEFAULT / ERROR. It never allocates: temporaries go to the
 * caller's fixed scratch arena, and the result borrows from the flag.
 *
 * Thread-safety: compiling uses its pool, so one thread at a time per pool; a compiled
 * flag may be evaluated by any number of threads at once and released from any thread.
 */
#ifndef SY_CORE_FLAG_H
#define SY_CORE_FLAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/logic.h"
#include "core/pool.h"
#include "core/rule.h"
#include "core/value.h"

typedef struct sy_flag sy_flag_t; /* opaque, immutable */

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
    sy_value_t value;    /* the variant's value when has_value; borrows the flag */
    const char *variant; /* the variant's name, NULL when none; borrows the flag */
    uint32_t variant_len;
    sy_reason_t reason;
    sy_flag_error_t error;      /* SY_FLAG_OK unless reason is SY_REASON_ERROR */
    const sy_value_t *metadata; /* merged metadata object (never NULL); borrows the flag */
    char message[160];          /* why, for errors; "" otherwise */
} sy_flag_result_t;

/* ---- problems ------------------------------------------------------------------------------ */

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

/* How bad a problem is: a lenient-mode warning about what only flagd's schema rejects
 * (dropped in strict mode, where flagschema.h decides); refuses it always; or never (the
 * flag will answer PARSE_ERROR, or a member nobody reads). */
typedef enum sy_severity { SY_SEV_WARN, SY_SEV_ERROR, SY_SEV_NOTE } sy_severity_t;

/* What a flag is checked and compiled against, and where its problems go. */
typedef struct sy_flag_env {
    sy_pool_t *pool;                   /* shares pieces (NULL: nothing shared) */
    const sy_evaluators_t *evaluators; /* the set's (NULL: none) */
    const sy_ival_t *metadata;         /* the set's metadata object (NULL: {}) */
    sy_fractional_t fractional;        /* the set's bucketing rule */
    bool strict;                       /* warnings refuse */
    sy_problems_t *problems;           /* where problems are reported (NULL: nowhere) */
    size_t errors;                     /* problems so far that refuse (counted always) */
} sy_flag_env_t;

/* Reports a problem about flag `flag` ("" for the document) at `path` to env->problems,
 * counting it in env->errors when it refuses. */
void sy_flag_report(sy_flag_env_t *env, sy_severity_t sev, const char *flag, const char *path,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Schema checks of the parts of a document around its flags, reported as warnings: a
 * metadata object at `path` (`set`: the set's own, whose version and flagSetId must be
 * strings), and a rule (an evaluator) at `path`. */
void sy_flag_check_metadata(sy_flag_env_t *env, const sy_value_t *md, const char *path, bool set);
void sy_flag_check_rule(sy_flag_env_t *env, const sy_value_t *rule, const char *path);

/* A note (never refusing) per member of object `obj` (at `path`) that is not in `known`
 * (NULL-terminated), with "did you mean '...'?" when a known name is close (suggest.h). */
void sy_flag_check_members(sy_flag_env_t *env, const sy_value_t *obj, const char *path,
                           const char *const *known);
/* " (unknown member 'varients': did you mean 'variants'?)" into `buf` (`cap` bytes) when
 * `obj` lacks `want` and has a member not in `known` that is closest to it; else "". */
void sy_flag_hint(const sy_value_t *obj, const char *const *known, const char *want, char *buf,
                  size_t cap);

/* Checks flag `key` (`klen` bytes) defined by `def` and compiles it against `env`. `src`
 * (`src_len` bytes, may be NULL) is kept with the flag for the caller (sy_flag_source),
 * the engine's JSON text of it. Every problem goes to env. Returns 0 with *out (a new
 * reference); -EINVAL when the flag is refused (an error; nothing made); -ENOMEM. */
int sy_flag_compile(sy_flag_t **out, sy_flag_env_t *env, const char *key, size_t klen,
                    const sy_value_t *def, const char *src, size_t src_len);

/* True when `f`, compiled before, would compile the same in `env`: the same evaluators
 * for each `$ref` it names (transitively, and the same ones missing), the same set
 * metadata, the same bucketing rule. Then a set may keep `f` as it is. */
bool sy_flag_still_valid(const sy_flag_t *f, const sy_flag_env_t *env);
/* Reports again, to env, the problems `f` was compiled with. */
void sy_flag_report_again(const sy_flag_t *f, sy_flag_env_t *env);

/* Takes one more reference; returns `f`. */
const sy_flag_t *sy_flag_ref(const sy_flag_t *f);
/* Drops one reference; the last frees the flag (any thread). NULL is a no-op. */
void sy_flag_release(const sy_flag_t *f);

/* The first members of every compiled flag: what finding a flag by key reads, inline,
 * on every evaluation. Read-only outside flag.c. */
struct sy_flag_head {
    atomic_uint refs;
    uint32_t klen;
    const char *key; /* NUL-terminated */
};

/* The key (NUL-terminated, borrowed) and its length. */
static inline const char *sy_flag_key(const sy_flag_t *f, size_t *len)
{
    const struct sy_flag_head *h = (const struct sy_flag_head *)(const void *)f;
    *len = h->klen;
    return h->key;
}
/* The source text given to sy_flag_compile (NUL-terminated, borrowed), or NULL. */
const char *sy_flag_source(const sy_flag_t *f, size_t *len);
bool sy_flag_is_disabled(const sy_flag_t *f);
/* True when its targeting may read $flagd.timestamp. */
bool sy_flag_reads_time(const sy_flag_t *f);
/* True when the evaluator `name` (`len` bytes) matters to it: its targeting names it,
 * directly or through another evaluator. */
bool sy_flag_uses_evaluator(const sy_flag_t *f, const char *name, size_t len);

/* Evaluates `f` for `ctx` (an object, or NULL for {}) at Unix time `now_s`, asking for
 * `type`, into *res. Never fails: every outcome is a result. `scratch` is a fixed arena
 * for temporaries (given back before returning); a rule that needs more than it holds
 * gives SY_FLAG_GENERAL. */
void sy_flag_eval(const sy_flag_t *f, sy_flag_type_t type, const sy_value_t *ctx, int64_t now_s,
                  sy_arena_t *scratch, sy_flag_result_t *res);

/* Stable names: "STATIC"..., "FLAG_NOT_FOUND"... ("" for SY_FLAG_OK). */
const char *sy_reason_name(sy_reason_t r);
const char *sy_flag_error_name(sy_flag_error_t e);

#endif
