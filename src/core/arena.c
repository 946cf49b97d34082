/* arena.c - bump allocation; see arena.h. */
#include "core/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN     alignof(max_align_t)
#define CHUNK_MIN ((size_t)16 * 1024)

struct sy_arena_chunk {
    struct sy_arena_chunk *next;
    alignas(max_align_t) char data[];
};

void sy_arena_init(sy_arena_t *a, size_t cap)
{
    *a = (sy_arena_t){.cap = cap};
}

void sy_arena_init_fixed(sy_arena_t *a, void *buf, size_t len)
{
    /* Align the start so every block handed out is aligned. */
    uintptr_t start = ((uintptr_t)buf + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
    size_t lost = (size_t)(start - (uintptr_t)buf);
    len = len > lost ? len - lost : 0;
    *a = (sy_arena_t){.p = (char *)start, .end = (char *)start + len, .cap = len, .fixed = true};
}

void sy_arena_init_with(sy_arena_t *a, void *buf, size_t len, size_t cap)
{
    sy_arena_init_fixed(a, buf, len);
    a->fixed = false;
    a->cap = cap;
}

static bool grow(sy_arena_t *a, size_t size)
{
    size_t want = size > CHUNK_MIN ? size : CHUNK_MIN;
    if (a->fixed || a->used > a->cap || want > a->cap - a->used)
        return false;
    struct sy_arena_chunk *c = malloc(sizeof(*c) + want);
    if (!c)
        return false;
    c->next = a->chunks;
    a->chunks = c;
    /* The tail of the previous chunk is lost: count it so `cap` bounds real memory. */
    a->used += (size_t)(a->end - a->p);
    a->p = c->data;
    a->end = c->data + want;
    return true;
}

void *sy_arena_alloc(sy_arena_t *a, size_t size)
{
    size_t rounded = (size + ALIGN - 1) & ~(ALIGN - 1);
    if (rounded < size)
        return NULL;
    if ((size_t)(a->end - a->p) < rounded && !grow(a, rounded))
        return NULL;
    if (!a->fixed && a->used + rounded > a->cap)
        return NULL;
    void *out = a->p;
    a->p += rounded;
    a->used += rounded;
    return out;
}

char *sy_arena_strdup(sy_arena_t *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *out = sy_arena_alloc(a, len + 1);
    if (!out)
        return NULL;
    if (len)
        memcpy(out, s, len);
    out[len] = '\0';
    return out;
}

sy_arena_mark_t sy_arena_mark(const sy_arena_t *a)
{
    return (sy_arena_mark_t){.p = a->p, .used = a->used};
}

void sy_arena_rewind(sy_arena_t *a, sy_arena_mark_t m)
{
    if (!a->fixed)
        return;
    a->p = m.p;
    a->used = m.used;
}

void sy_arena_free(sy_arena_t *a)
{
    if (!a)
        return;
    struct sy_arena_chunk *c = a->chunks;
    while (c) {
        struct sy_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    if (a->fixed) {
        a->p -= a->used;
        a->used = 0;
        return;
    }
    *a = (sy_arena_t){.cap = a->cap};
}

void *sy_block_alloc(size_t size)
{
    return size ? malloc(size) : NULL;
}

void sy_block_free(void *p)
{
    free(p);
}
