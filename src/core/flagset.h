/* flagset.h - flagd flag sets: whole documents loaded, sets changed a flag at a time, and
 * flags evaluated by key.
 *
 * A flag set is one flagd document ({"flags": {...}, "$evaluators": {...}, "metadata":
 * {...}}, ../shared/conformance/flagd/schema/flags.json) compiled: every flag a compiled
 * flag (flag.h), found by key in O(1) and listed in document order. Loading checks the
 * document the way flagd does; flag.h lists what refuses a flag and what is only a
 * warning. Around the flags:
 *
 *   refused (errors): a document whose `flags` is not an object, and any refused flag;
 *   loaded with warnings, refused in strict mode: a document that is not an object or
 *     lacks `flags`, metadata values that are not strings, numbers or booleans, a
 *     non-string metadata version or flagSetId, `$evaluators` that is not an object, and
 *     in an evaluator what flag.h lists for targeting.
 *
 * Every problem is reported with the flag key and JSON path it concerns; a refused load
 * or change returns no set, so a caller keeps its previous one.
 *
 * A set is immutable and counted: a change makes a new set from the old one (a build,
 * below) that shares every flag it did not touch, and most of its index (pages of flags
 * in document order and shards of the key index, each counted too, so that a change
 * copies one page, one shard and the arrays of their pointers, O(sqrt n) at worst, never
 * the whole set). A flag is compiled again only when its definition changed, or an
 * evaluator it names (directly or through another) changed, or the set's metadata (merged
 * into every flag's) or bucketing rule changed; otherwise the new set holds the same
 * compiled flag, pointer for pointer.
 *
 * Evaluation (sy_flagset_eval) follows flagd's resolution rules (flag.h), the flag-set
 * metadata merged under each flag's. It never allocates: temporaries go to the caller's
 * fixed scratch arena, and the result borrows from the set.
 *
 * Thread-safety: any number of threads may evaluate a set at once, each with its own
 * scratch, and release their references from any thread. Builds use a pool (pool.h):
 * one thread at a time per pool.
 */
#ifndef SY_CORE_FLAGSET_H
#define SY_CORE_FLAGSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/flag.h"
#include "core/logic.h"
#include "core/pool.h"
#include "core/value.h"

typedef struct sy_flagset sy_flagset_t;

typedef struct sy_flagset_opts {
    bool strict;                /* refuse what only the schema rejects */
    sy_fractional_t fractional; /* bucketing rule (v2 unless migrating from flagd <= 0.14) */
} sy_flagset_opts_t;

/* Loads the whole document `doc` into a new set. Takes `arena` (the memory `doc` lives
 * in): it is freed before returning, whatever happens, as the set keeps copies of what it
 * needs. `opts` may be NULL (lenient, v2). Problems go to `problems` when not NULL
 * (warnings also on success). Returns 0, -EINVAL when the document is refused, -ENOMEM. */
int sy_flagset_load(sy_flagset_t **out, sy_arena_t *arena, const sy_value_t *doc,
                    const sy_flagset_opts_t *opts, sy_problems_t *problems);

/* Takes one more reference to `set`; returns it. */
sy_flagset_t *sy_flagset_ref(const sy_flagset_t *set);
/* Drops one reference; the last frees the set (and the flags only it held). NULL is a
 * no-op. */
void sy_flagset_free(sy_flagset_t *set);

/* ---- builds: a whole document, or a change of a set ------------------------------------ */

typedef struct sy_flagset_build sy_flagset_build_t; /* opaque */

typedef enum sy_flagset_mode {
    /* A whole document: the set holds exactly the flags put, in the order put; its
     * metadata and evaluators are those given to sy_flagset_build_begin, checked and
     * reported as a load does. */
    SY_BUILD_DOCUMENT,
    /* A change of the base: flags not put or deleted stay as they are where they are; a
     * flag put keeps its place, or goes at the end when new; metadata and evaluators stay
     * the base's. */
    SY_BUILD_CHANGE,
} sy_flagset_mode_t;

/* Starts a build on `base` (a reference is taken; NULL: an empty set). `pool` (may be
 * NULL: nothing shared) is where compiled pieces are interned: pass the same pool to
 * every build of a lineage of sets. `metadata` and `evaluators` (the document's members,
 * NULL when absent) matter only to SY_BUILD_DOCUMENT; with a CHANGE, `opts` is the base's
 * unless there is no base. Problems go to `problems` (may be NULL). Returns 0 or -ENOMEM. */
int sy_flagset_build_begin(sy_flagset_build_t **out, const sy_flagset_t *base, sy_pool_t *pool,
                           sy_flagset_mode_t mode, const sy_value_t *metadata,
                           const sy_value_t *evaluators, const sy_flagset_opts_t *opts,
                           sy_problems_t *problems);

/* Puts flag `key` (`klen` bytes) defined by `def`, checking and compiling it (flag.h);
 * `src` (may be NULL) is kept with it (sy_flag_source). When the base holds that key with
 * the same source, compiled against what it would be compiled against now, that flag is
 * kept instead (and its problems reported again). Returns 0; -EINVAL when the flag is
 * refused (the build goes on to report more, but cannot end in a set); -ENOMEM. */
int sy_flagset_build_put(sy_flagset_build_t *b, const char *key, size_t klen, const sy_value_t *def,
                         const char *src, size_t src_len);
/* Puts a flag compiled before (a reference is taken), under its own key, as is. */
int sy_flagset_build_put_flag(sy_flagset_build_t *b, const sy_flag_t *f);
/* Removes flag `key`: 0, or -ENOENT when the set being built has none such. */
int sy_flagset_build_delete(sy_flagset_build_t *b, const char *key, size_t klen);

/* What a flag put in this build is compiled against (to compile one elsewhere the same
 * way, sy_flag_compile); borrowed until the build ends. */
sy_flag_env_t *sy_flagset_build_env(sy_flagset_build_t *b);

/* Ends the build: 0 with the new set (a new reference), -EINVAL when some problem
 * refused it, -ENOMEM. Frees `b` either way. */
int sy_flagset_build_end(sy_flagset_build_t *b, sy_flagset_t **out);
/* Gives up a build: nothing is made. NULL is a no-op. */
void sy_flagset_build_abort(sy_flagset_build_t *b);

/* ---- reading ------------------------------------------------------------------------------ */

/* Number of flags, and the i-th in document order (borrowed from the set). */
size_t sy_flagset_count(const sy_flagset_t *set);
const sy_flag_t *sy_flagset_at(const sy_flagset_t *set, size_t i);
/* The key of the i-th flag (NUL-terminated, borrowed). */
const char *sy_flagset_key(const sy_flagset_t *set, size_t i, size_t *len);
/* True when the i-th flag is DISABLED. */
bool sy_flagset_is_disabled(const sy_flagset_t *set, size_t i);
/* Flag `key` (`klen` bytes), borrowed from the set, or NULL. */
const sy_flag_t *sy_flagset_find(const sy_flagset_t *set, const char *key, size_t klen);

/* True when some flag's targeting may read $flagd.timestamp: only then does `now_s`
 * matter, and a caller can skip reading its clock otherwise. */
bool sy_flagset_reads_time(const sy_flagset_t *set);

/* The flag-set metadata object (never NULL; borrowed). */
const sy_value_t *sy_flagset_metadata(const sy_flagset_t *set);
/* The set's evaluators (borrowed; NULL: none). */
const sy_evaluators_t *sy_flagset_evaluators(const sy_flagset_t *set);

/* Evaluates flag `key` (`klen` bytes) for `ctx` (an object, or NULL for {}) at Unix time
 * `now_s`, asking for `type`, into *res. Never fails: every outcome is a result (an
 * unknown key is SY_FLAG_NOT_FOUND, with the set's metadata). `scratch` is a fixed arena
 * for temporaries; a rule that needs more than it holds gives SY_FLAG_GENERAL. */
void sy_flagset_eval(const sy_flagset_t *set, const char *key, size_t klen, sy_flag_type_t type,
                     const sy_value_t *ctx, int64_t now_s, sy_arena_t *scratch,
                     sy_flag_result_t *res);

#endif
