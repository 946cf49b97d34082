/* pool.c - shared immutable pieces and the pool that interns them; see pool.h. */
#include "core/pool.h"

#include <errno.h>
#include <string.h>

#include "core/arena.h"

/* A slot emptied by a sweep, until the table is rebuilt at its end. */
#define GONE ((const sy_piece_t *)&gone_marker)
static const char gone_marker;

struct sy_pool {
    const sy_piece_t **slots; /* open addressing by hash, `mask + 1` slots (NULL: free) */
    size_t mask;
    size_t n;           /* pieces held */
    size_t after_sweep; /* pieces held after the last sweep */
};

void sy_piece_init(sy_piece_t *p, uint8_t kind, uint32_t hash, void (*drop)(sy_piece_t *))
{
    atomic_init(&p->refs, 1);
    p->hash = hash;
    p->kind = kind;
    p->drop = drop;
}

const sy_piece_t *sy_piece_ref(const sy_piece_t *p)
{
    /* The count is not part of the immutable value: it may change through const. */
    atomic_fetch_add_explicit(&((sy_piece_t *)p)->refs, 1, memory_order_relaxed);
    return p;
}

void sy_piece_release(const sy_piece_t *p)
{
    if (!p)
        return;
    sy_piece_t *q = (sy_piece_t *)p;
    /* acq_rel: every read of the piece by any holder happens before its free. */
    if (atomic_fetch_sub_explicit(&q->refs, 1, memory_order_acq_rel) == 1)
        q->drop(q);
}

uint64_t sy_pool_mix(uint64_t h, const void *bytes, size_t n)
{
    const unsigned char *b = bytes;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3u;
    }
    return h;
}

/* ---- the table ---------------------------------------------------------------------------- */

int sy_pool_new(sy_pool_t **out)
{
    sy_pool_t *p = sy_block_alloc(sizeof(*p));
    const sy_piece_t **slots = sy_block_alloc(sizeof(*slots) * 64);
    if (!p || !slots) {
        sy_block_free(p);
        sy_block_free(slots);
        return -ENOMEM;
    }
    memset(slots, 0, sizeof(*slots) * 64);
    *p = (sy_pool_t){.slots = slots, .mask = 63};
    *out = p;
    return 0;
}

void sy_pool_free(sy_pool_t *pool)
{
    if (!pool)
        return;
    for (size_t i = 0; i <= pool->mask; i++)
        if (pool->slots[i] && pool->slots[i] != GONE)
            sy_piece_release(pool->slots[i]);
    sy_block_free(pool->slots);
    sy_block_free(pool);
}

size_t sy_pool_count(const sy_pool_t *pool)
{
    return pool->n;
}

const sy_piece_t *sy_pool_find(sy_pool_t *pool, uint8_t kind, uint32_t hash,
                               bool (*same)(const sy_piece_t *p, const void *key), const void *key)
{
    for (size_t at = hash & pool->mask;; at = (at + 1) & pool->mask) {
        const sy_piece_t *p = pool->slots[at];
        if (!p)
            return NULL;
        if (p != GONE && p->hash == hash && p->kind == kind && same(p, key))
            return sy_piece_ref(p);
    }
}

static void put_slot(const sy_piece_t **slots, size_t mask, const sy_piece_t *p)
{
    size_t at = p->hash & mask;
    while (slots[at])
        at = (at + 1) & mask;
    slots[at] = p;
}

/* Rehashes into `slots` slots (a power of two above twice the pieces), leaving out GONE. */
static int rehash(sy_pool_t *pool, size_t slots)
{
    const sy_piece_t **t = sy_block_alloc(sizeof(*t) * slots);
    if (!t)
        return -ENOMEM;
    memset(t, 0, sizeof(*t) * slots);
    for (size_t i = 0; i <= pool->mask; i++)
        if (pool->slots[i] && pool->slots[i] != GONE)
            put_slot(t, slots - 1, pool->slots[i]);
    sy_block_free(pool->slots);
    pool->slots = t;
    pool->mask = slots - 1;
    return 0;
}

int sy_pool_add(sy_pool_t *pool, const sy_piece_t *p)
{
    if (2 * (pool->n + 1) > pool->mask + 1 && rehash(pool, 2 * (pool->mask + 1)) < 0)
        return -ENOMEM;
    put_slot(pool->slots, pool->mask, sy_piece_ref(p));
    pool->n++;
    return 0;
}

void sy_pool_sweep(sy_pool_t *pool, bool force)
{
    if (!force && pool->n < 2 * pool->after_sweep + 64)
        return;
    size_t freed;
    do {
        /* A piece freed here may leave others (a rule's values) held by the pool alone:
         * go round again until a round frees nothing. */
        freed = 0;
        for (size_t i = 0; i <= pool->mask; i++) {
            const sy_piece_t *p = pool->slots[i];
            /* acquire: pairs with the releases of the threads that dropped the others */
            if (!p || p == GONE ||
                atomic_load_explicit(&((sy_piece_t *)p)->refs, memory_order_acquire) != 1)
                continue;
            pool->slots[i] = GONE;
            pool->n--;
            freed++;
            sy_piece_release(p);
        }
    } while (freed);
    size_t slots = 64;
    while (slots < 2 * pool->n + 2)
        slots *= 2;
    if (rehash(pool, slots) < 0) {
        /* Keep the table as it is: GONE slots only lengthen probes until the next sweep. */
    }
    pool->after_sweep = pool->n;
}

/* ---- interned values ---------------------------------------------------------------------- */

bool sy_value_same(const sy_value_t *a, const sy_value_t *b)
{
    if (a->type != b->type || a->len != b->len)
        return false;
    switch (a->type) {
    case SY_BOOL:
        return a->b == b->b;
    case SY_NUM:
        return memcmp(&a->n, &b->n, sizeof(a->n)) == 0;
    case SY_STR:
        return a->len == 0 || memcmp(a->s, b->s, a->len) == 0;
    case SY_ARR:
        for (uint32_t i = 0; i < a->len; i++)
            if (!sy_value_same(&a->items[i], &b->items[i]))
                return false;
        return true;
    case SY_OBJ:
        for (uint32_t i = 0; i < a->len; i++) {
            const sy_member_t *x = &a->members[i], *y = &b->members[i];
            if (x->klen != y->klen || (x->klen && memcmp(x->key, y->key, x->klen) != 0) ||
                !sy_value_same(&x->val, &y->val))
                return false;
        }
        return true;
    default:
        return true;
    }
}

static uint64_t value_hash(uint64_t h, const sy_value_t *v)
{
    h = sy_pool_mix(h, &v->type, 1);
    h = sy_pool_mix(h, &v->len, sizeof(v->len));
    switch (v->type) {
    case SY_BOOL:
        return sy_pool_mix(h, &v->b, 1);
    case SY_NUM:
        return sy_pool_mix(h, &v->n, sizeof(v->n));
    case SY_STR:
        return sy_pool_mix(h, v->s, v->len);
    case SY_ARR:
        for (uint32_t i = 0; i < v->len; i++)
            h = value_hash(h, &v->items[i]);
        return h;
    case SY_OBJ:
        for (uint32_t i = 0; i < v->len; i++) {
            h = sy_pool_mix(h, v->members[i].key, v->members[i].klen);
            h = value_hash(h, &v->members[i].val);
        }
        return h;
    default:
        return h;
    }
}

/* Bytes a copy of `v` needs below its root: nodes (items, members) and string bytes. */
static void measure(const sy_value_t *v, size_t *nodes, size_t *chars)
{
    if (v->type == SY_STR) {
        *chars += (size_t)v->len + 1;
    } else if (v->type == SY_ARR) {
        *nodes += sizeof(sy_value_t) * v->len;
        for (uint32_t i = 0; i < v->len; i++)
            measure(&v->items[i], nodes, chars);
    } else if (v->type == SY_OBJ) {
        *nodes += sizeof(sy_member_t) * v->len;
        for (uint32_t i = 0; i < v->len; i++) {
            *chars += (size_t)v->members[i].klen + 1;
            measure(&v->members[i].val, nodes, chars);
        }
    }
}

static const char *copy_chars(char **chars, const char *s, uint32_t len)
{
    char *out = *chars;
    if (len)
        memcpy(out, s, len);
    out[len] = '\0';
    *chars += (size_t)len + 1;
    return out;
}

/* Copies `v` into *out: nodes from *nodes, strings from *chars (both sized by measure). */
static void copy_value(const sy_value_t *v, sy_value_t *out, char **nodes, char **chars)
{
    *out = *v;
    if (v->type == SY_STR) {
        out->s = copy_chars(chars, v->s, v->len);
    } else if (v->type == SY_ARR) {
        sy_value_t *items = (sy_value_t *)*nodes;
        *nodes += sizeof(*items) * v->len;
        for (uint32_t i = 0; i < v->len; i++)
            copy_value(&v->items[i], &items[i], nodes, chars);
        out->items = items;
    } else if (v->type == SY_OBJ) {
        sy_member_t *m = (sy_member_t *)*nodes;
        *nodes += sizeof(*m) * v->len;
        for (uint32_t i = 0; i < v->len; i++) {
            m[i].key = copy_chars(chars, v->members[i].key, v->members[i].klen);
            m[i].klen = v->members[i].klen;
            copy_value(&v->members[i].val, &m[i].val, nodes, chars);
        }
        out->members = m;
    }
}

static void ival_drop(sy_piece_t *p)
{
    sy_block_free(p);
}

static bool ival_same(const sy_piece_t *p, const void *key)
{
    return sy_value_same(&((const sy_ival_t *)p)->v, key);
}

const sy_ival_t *sy_ival_intern(sy_pool_t *pool, const sy_value_t *v)
{
    uint64_t h64 = value_hash(0xcbf29ce484222325u, v);
    uint32_t hash = (uint32_t)(h64 >> 32) ^ (uint32_t)h64;
    if (pool) {
        const sy_piece_t *found = sy_pool_find(pool, SY_PIECE_VALUE, hash, ival_same, v);
        if (found)
            return (const sy_ival_t *)found;
    }
    size_t nodes = 0, chars = 0;
    measure(v, &nodes, &chars);
    /* Nodes right after the header keep their alignment (both are multiples of 8). */
    sy_ival_t *iv = sy_block_alloc(sizeof(*iv) + nodes + chars);
    if (!iv)
        return NULL;
    sy_piece_init(&iv->piece, SY_PIECE_VALUE, hash, ival_drop);
    char *np = (char *)(iv + 1), *cp = np + nodes;
    copy_value(v, &iv->v, &np, &cp);
    if (pool && sy_pool_add(pool, &iv->piece) < 0) {
        /* Not shared, still valid. */
    }
    return iv;
}
