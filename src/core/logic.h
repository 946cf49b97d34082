/* logic.h - JSONLogic as flagd evaluates it, compiled once and run many times.
 *
 * sy_logic_compile turns a targeting rule (a sy_value_t tree) into a tree of nodes with
 * the operator of each resolved, `$ref`s to shared evaluators inlined, `var` paths split
 * and static `fractional` splits pre-summed; sy_logic_eval runs it against a context
 * without looking at JSON again and without allocating (temporaries go to a caller's
 * fixed scratch arena).
 *
 * Operators: var missing missing_some if == === != !== ! !! or and < <= > >= (and the
 * three-argument "between" forms of < and <=) max min + - * / % in cat substr merge map
 * filter reduce all none some, and flagd's fractional sem_ver starts_with ends_with.
 * Their coercions are those of flagd-core's engine (json-logic-engine 5, compiled mode):
 * ECMAScript ToNumber and loose equality, null counting as 0 in arithmetic and ordering,
 * empty arrays false. Where that engine throws (arithmetic on objects or non-numeric
 * strings, substr of a non-string, min/max of non-numbers, division by zero...) we return
 * -EINVAL, which flagd (Go) reports as PARSE_ERROR.
 *
 * `$flagd.flagKey` and `$flagd.timestamp` read the environment, never a clock: the caller
 * passes `now_s`. A caller's own `$flagd` context entry is hidden (flagd replaces it).
 *
 * Ownership: the compiled tree lives in the arena given to sy_logic_compile and borrows
 * the expression and evaluator values (keep them alive as long). Evaluation borrows
 * everything and may return values that point into the tree, the context or the scratch.
 * Thread-safe: many threads may evaluate one compiled tree at once.
 */
#ifndef SY_CORE_LOGIC_H
#define SY_CORE_LOGIC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/value.h"

typedef struct sy_logic sy_logic_t;

/* Which `fractional` bucketing rule a flag set uses (../shared/conformance/flagd/README.md). */
typedef enum sy_fractional {
    SY_FRACTIONAL_V2 = 0, /* flagd >= 0.15, flagd-core 4: floor(h * W / 2^32), exact */
    SY_FRACTIONAL_V1 = 1, /* flagd <= 0.14: |int32 h| / (2^31 - 1) x 100 percentages */
} sy_fractional_t;

typedef struct sy_logic_env {
    const sy_value_t *ctx; /* the evaluation context: an object, or NULL for {} */
    const char *flag_key;  /* $flagd.flagKey, `flag_key_len` bytes */
    size_t flag_key_len;
    int64_t now_s;              /* $flagd.timestamp: Unix seconds, already floored */
    sy_fractional_t fractional; /* bucketing rule of the flag set */
} sy_logic_env_t;

/* Deepest nesting of operators a rule may have (deeper rules are refused at load). */
#define SY_LOGIC_MAX_DEPTH 64

/* Most operations a rule's `$ref`s may add to it (each names an evaluator that is inlined,
 * and evaluators naming each other several times multiply: six of `{"or": [20 $refs to the
 * next]}` would be 64 million). A rule past it does not compile, as one nested too deep. */
#define SY_LOGIC_MAX_EXPANDED (1 << 18)

/* Compiles `expr` into *out, allocating from `arena`. `evaluators` is the document's
 * `$evaluators` object (or NULL): an object {"$ref": "name"} naming one of them is
 * replaced by it. Returns 0; -EINVAL with `err` naming the problem and its JSON path
 * below `expr` (unknown operator, operator object with several keys, a rule nested too
 * deep, $refs that expand past SY_LOGIC_MAX_EXPANDED); -ENOENT for a `$ref` to no evaluator (valid
 * by flagd's schema, yet it cannot run); or -ENOMEM. */
int sy_logic_compile(const sy_value_t *expr, const sy_value_t *evaluators, sy_arena_t *arena,
                     const sy_logic_t **out, sy_err_t *err);

/* True when evaluating `logic` may read `now_s` ($flagd.timestamp, or the whole context
 * through an empty or computed var path): callers can skip reading a clock otherwise. */
bool sy_logic_reads_time(const sy_logic_t *logic);

/* The string `fractional` hashes when the rule gives none: the flag key immediately
 * followed by the context's targetingKey (no separator). Writes it into `buf` (`cap`
 * bytes) or, when longer, into `scratch`, and points *s at it (not NUL-terminated).
 * Returns 1; 0 when the context has no targeting key that is a non-empty string (the
 * operator then gives null); -ENOMEM when `scratch` is full. */
int sy_logic_bucketing_key(const sy_value_t *ctx, const char *flag_key, size_t flag_key_len,
                           char *buf, size_t cap, sy_arena_t *scratch, const char **s, size_t *len);

/* A rule that is exactly one `fractional` with literal buckets valid under the v2 rule:
 * what a caller needs to bucket without running the rule (flag sets do, per flag). */
typedef struct sy_logic_split {
    const char *seed; /* a literal bucketing string, or NULL: flag key + targeting key */
    size_t seed_len;
    uint32_t n;                 /* buckets */
    const uint32_t *weights;    /* n weights, negatives already 0 */
    const sy_value_t *variants; /* n variant values (string, number, boolean or null) */
    uint32_t total;             /* sum of weights, at most SY_HASH_MAX_TOTAL */
} sy_logic_split_t;

/* Fills *out and returns true when `logic` is such a split (borrowing from it). */
bool sy_logic_as_split(const sy_logic_t *logic, sy_logic_split_t *out);

/* Evaluates `logic` in `env` into *out. Returns 0; -EINVAL when the rule fails at run
 * time (see above); -ENOMEM when `scratch` is too small for the temporaries. */
int sy_logic_eval(const sy_logic_t *logic, const sy_logic_env_t *env, sy_arena_t *scratch,
                  sy_value_t *out);

#endif
