/* arena.h - bump allocation tied to one lifetime (a compile, one evaluation), and the
 * single blocks of what outlives any arena.
 *
 * An arena hands out aligned blocks and frees them all at once. Two kinds:
 *   - growable (sy_arena_init): takes memory from the C allocator in chunks, up to a
 *     hard cap; used at load time, never on a hot path;
 *   - fixed (sy_arena_init_fixed): carves a caller-owned buffer (a stack array) and never
 *     allocates; used for the scratch of one evaluation, and over a block (below) to lay
 *     out an object of a size measured beforehand.
 * Either kind refuses a request beyond its cap by returning NULL, which callers turn
 * into -ENOMEM.
 *
 * A block (sy_block_alloc) is one allocation of an exact size with a lifetime of its own:
 * a compiled flag, or a piece that compiled flags share, freed when its last reference is
 * dropped, which may happen on any thread. Never on a hot path either.
 *
 * This file is the only place in core/ that calls the allocator.
 *
 * Not thread-safe: one arena belongs to one thread at a time. Blocks are as thread-safe
 * as the C allocator.
 */
#ifndef SY_CORE_ARENA_H
#define SY_CORE_ARENA_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sy_arena {
    struct sy_arena_chunk *chunks; /* growable: chunks taken from malloc, newest first */
    char *p;                       /* next free byte of the current block */
    char *end;                     /* end of the current block */
    size_t used;                   /* bytes handed out or lost to alignment/chunk tails */
    size_t cap;                    /* hard maximum of `used` */
    bool fixed;                    /* true: never calls the allocator */
} sy_arena_t;

/* A growable arena that will hand out at most `cap` bytes in all. */
void sy_arena_init(sy_arena_t *a, size_t cap);

/* A fixed arena over the caller's `buf` of `len` bytes (borrowed for the arena's life). */
void sy_arena_init_fixed(sy_arena_t *a, void *buf, size_t len);

/* A growable arena (at most `cap` bytes in all) that hands out the caller's `buf` of `len`
 * bytes first (borrowed for the arena's life), and chunks from the allocator only once
 * that is full: for the many small, short-lived arenas of compiling one flag, which a
 * stack buffer holds (a 16 KiB chunk each made malloc consolidate its free lists). */
void sy_arena_init_with(sy_arena_t *a, void *buf, size_t len, size_t cap);

/* `size` bytes aligned for any scalar type, or NULL when the cap is reached or the
 * allocator fails. The block lives until sy_arena_free or sy_arena_reset. */
void *sy_arena_alloc(sy_arena_t *a, size_t size);

/* A copy of `len` bytes of `s` followed by a NUL, or NULL as sy_arena_alloc. */
char *sy_arena_strdup(sy_arena_t *a, const char *s, size_t len);

/* A mark for sy_arena_rewind: only a fixed arena can rewind. */
typedef struct sy_arena_mark {
    char *p;
    size_t used;
} sy_arena_mark_t;

sy_arena_mark_t sy_arena_mark(const sy_arena_t *a);

/* Gives back everything allocated since `m` (fixed arenas only; a no-op otherwise). */
void sy_arena_rewind(sy_arena_t *a, sy_arena_mark_t m);

/* Frees every chunk (growable) and leaves the arena empty and reusable. NULL is a no-op. */
void sy_arena_free(sy_arena_t *a);

/* `size` bytes aligned for any scalar type, or NULL when the allocator fails (or `size`
 * is 0). Returns owned: give it back with sy_block_free. */
void *sy_block_alloc(size_t size);

void sy_block_free(void *p); /* NULL is a no-op */

#endif
