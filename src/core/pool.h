/* pool.h - what compiled flags share: immutable pieces with reference counts, and the
 * pool that hands out an equal piece instead of making another.
 *
 * A piece is one block (arena.h) that starts with sy_piece_t: an interned value
 * (sy_ival_t below: a variant set, a merged metadata object, a targeting rule as written)
 * or a compiled rule (flag.c). A piece never changes once made. Anyone may hold
 * references to it; the last release frees it, and releases the pieces it holds, on
 * whatever thread drops it: the counts are atomic.
 *
 * A pool interns pieces: it keeps one reference to each piece it was given and finds it
 * again by hash and equality, so that ten thousand flags with {"on": true, "off": false}
 * hold one copy of it. Sweeping drops the pieces only the pool still holds.
 *
 * Thread-safety: one thread at a time uses a pool (the one that compiles: the engine's);
 * any thread may release pieces. Readers never take a new reference to a piece (they
 * borrow a snapshot's flags, which hold theirs), so a piece whose only reference is the
 * pool's cannot gain another behind the pool's back: that is what makes sweeping safe.
 */
#ifndef SY_CORE_POOL_H
#define SY_CORE_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/value.h"

/* Kinds of piece, so that a pool never compares two of different kinds. */
enum { SY_PIECE_VALUE = 1, SY_PIECE_RULE, SY_PIECE_EVALUATORS };

typedef struct sy_piece {
    atomic_uint refs;
    uint32_t hash;                    /* what the pool finds it by */
    uint8_t kind;                     /* SY_PIECE_* */
    void (*drop)(struct sy_piece *p); /* releases the pieces it holds, then frees its block */
} sy_piece_t;

/* Initialises the header of a new piece: one reference, the caller's. */
void sy_piece_init(sy_piece_t *p, uint8_t kind, uint32_t hash, void (*drop)(sy_piece_t *));
/* Takes one more reference; returns `p`. */
const sy_piece_t *sy_piece_ref(const sy_piece_t *p);
/* Drops one reference; the last frees the piece. NULL is a no-op. */
void sy_piece_release(const sy_piece_t *p);

typedef struct sy_pool sy_pool_t; /* opaque */

/* A new, empty pool (owned: sy_pool_free). Returns 0 or -ENOMEM. */
int sy_pool_new(sy_pool_t **out);
/* Releases the pool's references; pieces that others hold live on. NULL is a no-op. */
void sy_pool_free(sy_pool_t *pool);

/* The piece of `kind` and `hash` for which same(piece, key) is true, with a reference
 * taken for the caller, or NULL when the pool has none. */
const sy_piece_t *sy_pool_find(sy_pool_t *pool, uint8_t kind, uint32_t hash,
                               bool (*same)(const sy_piece_t *p, const void *key), const void *key);
/* Adds `p`: the pool takes a reference of its own. Returns 0, or -ENOMEM (then the pool
 * does not hold it and the caller's reference is untouched). */
int sy_pool_add(sy_pool_t *pool, const sy_piece_t *p);
/* Releases every piece only the pool holds (and then those that only they held). With
 * `force` false it does so only once the pool has doubled since its last sweep, so that
 * calling it after every change costs amortised O(1). */
void sy_pool_sweep(sy_pool_t *pool, bool force);
/* Pieces the pool holds. */
size_t sy_pool_count(const sy_pool_t *pool);

/* ---- interned values -------------------------------------------------------------------- */

typedef struct sy_ival {
    sy_piece_t piece;
    sy_value_t v; /* every item, member and string in this block; strings NUL-terminated */
} sy_ival_t;

/* An immutable copy of `v`, the same piece for every equal value the pool was asked for:
 * equal means same types, same member order, same bytes, same number bits. With `pool`
 * NULL a new copy each time. Returns a new reference (release with
 * sy_piece_release(&iv->piece)), or NULL when out of memory. */
const sy_ival_t *sy_ival_intern(sy_pool_t *pool, const sy_value_t *v);

/* True when `a` and `b` are equal in the sense above. */
bool sy_value_same(const sy_value_t *a, const sy_value_t *b);

/* A 64-bit FNV-1a step over `n` bytes, for the hashes of pieces. */
uint64_t sy_pool_mix(uint64_t h, const void *bytes, size_t n);

#endif
