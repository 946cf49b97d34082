/* flagset.c - flag sets: their shared index, builds and evaluation by key; see flagset.h.
 *
 * The index, and why it looks like this. A set lists its flags in document order and finds
 * them by key; a change must not copy either list whole, or its cost grows with the set.
 * So each is cut in pieces that sets share and count:
 *
 *   pages   up to PAGE_MAX flags each, in document order, each flag with its `seq` (its
 *           place: increasing through the pages, kept when a flag is replaced, the next
 *           one for a new flag). The set keeps the page pointers, the index of each
 *           page's first flag (`starts`, for the i-th flag) and a lower bound of each
 *           page's seqs (`first_seq`, to find a flag's page by its seq).
 *   shards  open-addressing tables of (flag, hash, seq), the shard of a key chosen by the
 *           top bits of its hash; sized for about SHARD_FILL flags each.
 *
 * A change copies the pages and shards it touches, and the arrays of pointers (which
 * hold n / PAGE_MAX and n / SHARD_FILL entries): a few tens of kilobytes at 100,000
 * flags, where copying the whole index would be megabytes. Pages hold the references to
 * their flags; shards borrow them (a shard is only shared between sets that hold the same
 * flags in its range of hashes, and their pages hold those).
 */
#include "core/flagset.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/flagschema.h"

#define PAGE_MAX   256u /* flags in one page */
#define SHARD_FILL 128u /* flags per shard when shards are sized; 4x that resizes them all */

struct page {
    atomic_uint refs;
    uint32_t n;
    uint32_t seq[PAGE_MAX];
    const sy_flag_t *flags[PAGE_MAX]; /* references */
};

struct slot {
    const sy_flag_t *flag; /* NULL: a free slot */
    uint32_t hash;
    uint32_t seq;
};

struct shard {
    atomic_uint refs;
    uint32_t mask; /* slots - 1 */
    uint32_t n;
    struct slot slots[];
};

struct sy_flagset {
    atomic_uint refs;
    uint32_t n;
    uint32_t npages;
    uint32_t nshards;
    uint32_t shift;        /* a hash's shard: (uint64_t)hash >> shift */
    uint32_t next_seq;     /* the seq of the next new flag */
    uint32_t time_readers; /* flags whose targeting may read $flagd.timestamp */
    sy_flagset_opts_t opts;
    struct page **pages;         /* in this block; references */
    struct shard **shards;       /* in this block; references */
    uint32_t *starts;            /* npages + 1: index of each page's first flag, then n */
    uint32_t *first_seq;         /* npages: no flag of page i has a smaller seq */
    sy_evaluators_t *evaluators; /* a reference, or NULL */
    const sy_ival_t *metadata;   /* a reference, or NULL: {} */
};

static const sy_value_t empty_object = {.type = SY_OBJ};

/* A hash of the whole key, eight bytes at a time: keys that differ only in their middle
 * ("team.checkout-0041.enabled") must not share a shard, and it runs on every evaluation,
 * so it is inline arithmetic, not a call. */
static inline __attribute__((always_inline)) uint32_t key_hash(const char *k, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15u ^ (n * 0xc2b2ae3d27d4eb4fu), x;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&x, k + i, 8);
        h = (h ^ x) * 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    /* The tail without a call to memcpy of a variable length (which cost more than all
     * the rest): the last 8 bytes again, or for short keys what the old hash read. */
    if (n >= 8 && i < n) {
        memcpy(&x, k + n - 8, 8);
        h = (h ^ x) * 0xc4ceb9fe1a85ec53u;
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, k, 4);
        memcpy(&b, k + n - 4, 4);
        h = (h ^ ((uint64_t)a << 32 | b)) * 0xc4ceb9fe1a85ec53u;
    } else if (n > 0) {
        x = (uint64_t)(unsigned char)k[0] << 16 | (uint64_t)(unsigned char)k[n / 2] << 8 |
            (unsigned char)k[n - 1];
        h = (h ^ x) * 0xc4ceb9fe1a85ec53u;
    }
    h ^= h >> 29;
    h *= 0x9e3779b97f4a7c15u;
    return (uint32_t)(h >> 32);
}

static const sy_flag_t *slot_key_is(const struct slot *s, uint32_t hash, const char *key,
                                    size_t klen)
{
    if (s->hash != hash)
        return NULL;
    size_t len;
    const char *k = sy_flag_key(s->flag, &len);
    return sy_bytes_eq(k, len, key, klen) ? s->flag : NULL;
}

/* ---- pages and shards ---------------------------------------------------------------- */

static struct page *page_new(void)
{
    struct page *p = sy_block_alloc(sizeof(*p));
    if (p) {
        atomic_init(&p->refs, 1);
        p->n = 0;
    }
    return p;
}

/* A private copy of `p`, holding references to the same flags. */
static struct page *page_copy(const struct page *p)
{
    struct page *c = page_new();
    if (!c)
        return NULL;
    c->n = p->n;
    memcpy(c->seq, p->seq, sizeof(p->seq[0]) * p->n);
    memcpy(c->flags, p->flags, sizeof(p->flags[0]) * p->n);
    for (uint32_t i = 0; i < p->n; i++)
        sy_flag_ref(p->flags[i]);
    return c;
}

static void page_release(struct page *p)
{
    if (!p || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (uint32_t i = 0; i < p->n; i++)
        sy_flag_release(p->flags[i]);
    sy_block_free(p);
}

static struct shard *shard_new(uint32_t slots)
{
    struct shard *s = sy_block_alloc(sizeof(*s) + sizeof(s->slots[0]) * slots);
    if (!s)
        return NULL;
    atomic_init(&s->refs, 1);
    s->mask = slots - 1;
    s->n = 0;
    memset(s->slots, 0, sizeof(s->slots[0]) * slots);
    return s;
}

static void shard_put(struct shard *s, const struct slot *x)
{
    uint32_t at = x->hash & s->mask;
    while (s->slots[at].flag)
        at = (at + 1) & s->mask;
    s->slots[at] = *x;
    s->n++;
}

/* Slots for `n` flags: a power of two at least twice as many (and at least 4). */
static uint32_t slots_for(uint32_t n)
{
    uint32_t slots = 4;
    while (slots < 2 * n)
        slots *= 2;
    return slots;
}

/* A private copy of `s` with room for `more` flags. */
static struct shard *shard_copy(const struct shard *s, uint32_t more)
{
    uint32_t slots = slots_for(s->n + more);
    if (slots < s->mask + 1)
        slots = s->mask + 1;
    struct shard *c = shard_new(slots);
    if (!c)
        return NULL;
    if (slots == s->mask + 1) {
        memcpy(c->slots, s->slots, sizeof(s->slots[0]) * slots);
        c->n = s->n;
    } else {
        for (uint32_t i = 0; i <= s->mask; i++)
            if (s->slots[i].flag)
                shard_put(c, &s->slots[i]);
    }
    return c;
}

static void shard_release(struct shard *s)
{
    if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        sy_block_free(s);
}

static int64_t shard_find(const struct shard *s, uint32_t hash, const char *key, size_t klen)
{
    for (uint32_t at = hash & s->mask;; at = (at + 1) & s->mask) {
        if (!s->slots[at].flag)
            return -1;
        if (slot_key_is(&s->slots[at], hash, key, klen))
            return at;
    }
}

/* Empties slot `i` of a private shard, moving later entries of its run back (linear
 * probing leaves no hole a lookup could stop at). */
static void shard_delete(struct shard *s, uint32_t i)
{
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & s->mask;
        if (!s->slots[j].flag)
            break;
        uint32_t home = s->slots[j].hash & s->mask;
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            s->slots[i] = s->slots[j];
            i = j;
        }
    }
    s->slots[i] = (struct slot){0};
    s->n--;
}

/* ---- sets ------------------------------------------------------------------------------- */

static uint32_t shift_for(uint32_t nshards)
{
    uint32_t bits = 0;
    while ((1u << bits) < nshards)
        bits++;
    return 32 - bits;
}

static uint32_t nshards_for(uint32_t n)
{
    uint32_t s = 1;
    while (s < 1u << 20 && (uint64_t)s * SHARD_FILL < n)
        s *= 2;
    return s;
}

/* A set block with room for its arrays; refs 1, everything else to fill. */
static sy_flagset_t *set_alloc(uint32_t npages, uint32_t nshards)
{
    size_t size = sizeof(sy_flagset_t) + sizeof(struct page *) * npages +
                  sizeof(struct shard *) * nshards + sizeof(uint32_t) * (2 * (size_t)npages + 1);
    sy_flagset_t *s = sy_block_alloc(size);
    if (!s)
        return NULL;
    memset(s, 0, size);
    atomic_init(&s->refs, 1);
    s->npages = npages;
    s->nshards = nshards;
    s->shift = shift_for(nshards);
    s->pages = (struct page **)(s + 1);
    s->shards = (struct shard **)(s->pages + npages);
    s->starts = (uint32_t *)(s->shards + nshards);
    s->first_seq = s->starts + npages + 1;
    return s;
}

static void set_destroy(sy_flagset_t *s)
{
    for (uint32_t i = 0; i < s->npages; i++)
        page_release(s->pages[i]);
    for (uint32_t i = 0; i < s->nshards; i++)
        shard_release(s->shards[i]);
    sy_piece_release(s->evaluators ? &s->evaluators->piece : NULL);
    sy_piece_release(s->metadata ? &s->metadata->piece : NULL);
    sy_block_free(s);
}

sy_flagset_t *sy_flagset_ref(const sy_flagset_t *set)
{
    atomic_fetch_add_explicit(&((sy_flagset_t *)set)->refs, 1, memory_order_relaxed);
    return (sy_flagset_t *)set;
}

void sy_flagset_free(sy_flagset_t *set)
{
    if (set && atomic_fetch_sub_explicit(&set->refs, 1, memory_order_acq_rel) == 1)
        set_destroy(set);
}

/* Fills `starts` and the set's count from its pages. */
static void set_count(sy_flagset_t *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->npages; i++) {
        s->starts[i] = n;
        n += s->pages[i]->n;
    }
    s->starts[s->npages] = n;
    s->n = n;
}

/* Builds every shard of `s` (nshards set) from its pages. */
static int shards_from_pages(sy_flagset_t *s)
{
    uint32_t *count = sy_block_alloc(sizeof(*count) * s->nshards);
    if (!count)
        return -ENOMEM;
    memset(count, 0, sizeof(*count) * s->nshards);
    for (uint32_t p = 0; p < s->npages; p++)
        for (uint32_t i = 0; i < s->pages[p]->n; i++) {
            size_t len;
            const char *k = sy_flag_key(s->pages[p]->flags[i], &len);
            count[(uint64_t)key_hash(k, len) >> s->shift]++;
        }
    int rc = 0;
    for (uint32_t i = 0; i < s->nshards; i++)
        if (!(s->shards[i] = shard_new(slots_for(count[i]))))
            rc = -ENOMEM;
    sy_block_free(count);
    if (rc < 0)
        return rc;
    for (uint32_t p = 0; p < s->npages; p++)
        for (uint32_t i = 0; i < s->pages[p]->n; i++) {
            size_t len;
            const char *k = sy_flag_key(s->pages[p]->flags[i], &len);
            struct slot x = {.flag = s->pages[p]->flags[i],
                             .hash = key_hash(k, len),
                             .seq = s->pages[p]->seq[i]};
            shard_put(s->shards[(uint64_t)x.hash >> s->shift], &x);
        }
    return 0;
}

/* A new set of the `n` flags in `flags` (their references taken over, in this order, seqs
 * from `seqs` or 0..n-1), fresh pages and shards. On failure the references are released. */
static int set_from(const sy_flag_t **flags, const uint32_t *seqs, uint32_t n, uint32_t next_seq,
                    sy_flagset_t **out)
{
    uint32_t npages = (n + PAGE_MAX - 1) / PAGE_MAX;
    sy_flagset_t *s = set_alloc(npages, nshards_for(n));
    int rc = s ? 0 : -ENOMEM;
    uint32_t done = 0;
    for (uint32_t p = 0; rc == 0 && p < npages; p++) {
        struct page *pg = page_new();
        if (!pg) {
            rc = -ENOMEM;
            break;
        }
        s->pages[p] = pg;
        while (done < n && pg->n < PAGE_MAX) {
            pg->seq[pg->n] = seqs ? seqs[done] : done;
            pg->flags[pg->n++] = flags[done++];
        }
        s->first_seq[p] = pg->seq[0];
    }
    for (uint32_t i = done; i < n; i++)
        sy_flag_release(flags[i]);
    if (rc == 0) {
        s->npages = npages;
        set_count(s);
        s->next_seq = seqs ? next_seq : n;
        for (uint32_t i = 0; i < n; i++)
            s->time_readers += sy_flag_reads_time(flags[i]);
        rc = shards_from_pages(s);
    }
    if (rc < 0) {
        if (s)
            set_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

static inline const struct slot *find_slot(const sy_flagset_t *set, const char *key, size_t klen)
{
    uint32_t h = key_hash(key, klen);
    const struct shard *s = set->shards[(uint64_t)h >> set->shift];
    for (uint32_t at = h & s->mask;; at = (at + 1) & s->mask) {
        const struct slot *x = &s->slots[at];
        if (!x->flag)
            return NULL;
        if (slot_key_is(x, h, key, klen))
            return x;
    }
}

/* The page holding the flag of `seq`: the last whose first_seq is at most seq. */
static uint32_t page_of(const sy_flagset_t *s, uint32_t seq)
{
    uint32_t lo = 0, hi = s->npages; /* answer in [lo, hi) */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->first_seq[mid] <= seq)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static uint32_t index_in_page(const struct page *p, uint32_t seq)
{
    uint32_t lo = 0, hi = p->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p->seq[mid] < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- changes ------------------------------------------------------------------------------ */

/* One flag put or deleted by a build. */
struct entry {
    const sy_flag_t *flag; /* a reference: the flag put; NULL: deleted */
    const sy_flag_t *old;  /* CHANGE: the base's flag of that key (borrowed); NULL: new */
    uint32_t hash;
    uint32_t seq; /* old's seq in the base */
};

/* A change of a set in the making: the base's page and shard pointers, copied, some of
 * them replaced by private copies (`pfresh`, `sfresh`) that only this change holds until
 * the new set takes them. */
struct work {
    const sy_flagset_t *base;
    struct page **pages; /* npages (room for maxpages) */
    uint32_t *first;     /* each page's first_seq */
    bool *pfresh;
    uint32_t npages;
    struct shard **shards; /* base->nshards */
    bool *sfresh;
    uint32_t *seq_of; /* per op: the seq a new flag was given */
    uint32_t next_seq;
    int64_t readers; /* flags reading the time */
    char *mem;       /* the block holding all of the above */
};

static int work_init(struct work *w, const sy_flagset_t *base, uint32_t inserts, uint32_t nops)
{
    uint32_t room = base->npages ? PAGE_MAX - base->pages[base->npages - 1]->n : 0;
    uint32_t extra = inserts > room ? (inserts - room + PAGE_MAX - 1) / PAGE_MAX : 0;
    uint32_t maxpages = base->npages + extra;
    size_t size = (sizeof(struct page *) + sizeof(uint32_t) + sizeof(bool)) * maxpages +
                  (sizeof(struct shard *) + sizeof(bool)) * base->nshards +
                  sizeof(uint32_t) * nops + 16;
    *w = (struct work){.base = base,
                       .npages = base->npages,
                       .next_seq = base->next_seq,
                       .readers = base->time_readers,
                       .mem = sy_block_alloc(size)};
    if (!w->mem)
        return -ENOMEM;
    w->pages = (struct page **)w->mem;
    w->shards = (struct shard **)(w->pages + maxpages);
    w->first = (uint32_t *)(w->shards + base->nshards);
    w->seq_of = w->first + maxpages;
    w->pfresh = (bool *)(w->seq_of + nops);
    w->sfresh = w->pfresh + maxpages;
    memcpy(w->pages, base->pages, sizeof(*w->pages) * base->npages);
    memcpy(w->first, base->first_seq, sizeof(*w->first) * base->npages);
    memcpy(w->shards, base->shards, sizeof(*w->shards) * base->nshards);
    memset(w->pfresh, 0, sizeof(bool) * maxpages);
    memset(w->sfresh, 0, sizeof(bool) * base->nshards);
    return 0;
}

/* Drops what is still private (not taken by a set), and the scratch. */
static void work_free(struct work *w)
{
    for (uint32_t p = 0; p < w->npages; p++)
        if (w->pfresh[p])
            page_release(w->pages[p]);
    for (uint32_t i = 0; i < w->base->nshards; i++)
        if (w->sfresh[i])
            shard_release(w->shards[i]);
    sy_block_free(w->mem);
}

/* The private copy of page `i` (made on first use). */
static struct page *fresh_page(struct work *w, uint32_t i)
{
    if (!w->pfresh[i]) {
        struct page *c = page_copy(w->pages[i]);
        if (!c)
            return NULL;
        w->pages[i] = c;
        w->pfresh[i] = true;
    }
    return w->pages[i];
}

/* The private copy of shard `i`, with room for `more` flags. */
static struct shard *fresh_shard(struct work *w, uint32_t i, uint32_t more)
{
    struct shard *s = w->shards[i];
    if (!w->sfresh[i] || 2 * (s->n + more) > s->mask + 1) {
        struct shard *c = shard_copy(s, more);
        if (!c)
            return NULL;
        if (w->sfresh[i])
            shard_release(s);
        w->shards[i] = c;
        w->sfresh[i] = true;
    }
    return w->shards[i];
}

/* Pages: a replaced or deleted flag changes in its place (a deleted one leaves a NULL, for
 * close_holes); a new one goes at the end with the next seq. */
static int change_pages(struct work *w, const struct entry *ops, uint32_t nops)
{
    for (uint32_t i = 0; i < nops; i++) {
        const struct entry *op = &ops[i];
        struct page *pg;
        if (op->old) {
            if (!(pg = fresh_page(w, page_of(w->base, op->seq))))
                return -ENOMEM;
            uint32_t j = index_in_page(pg, op->seq);
            w->readers -= sy_flag_reads_time(pg->flags[j]);
            sy_flag_release(pg->flags[j]);
            pg->flags[j] = op->flag ? sy_flag_ref(op->flag) : NULL;
            w->readers += op->flag && sy_flag_reads_time(op->flag);
        } else if (op->flag) {
            pg = w->npages ? fresh_page(w, w->npages - 1) : NULL;
            if (w->npages && !pg)
                return -ENOMEM;
            if (!pg || pg->n == PAGE_MAX) {
                if (!(pg = page_new()))
                    return -ENOMEM;
                w->pages[w->npages] = pg;
                w->pfresh[w->npages] = true;
                w->first[w->npages++] = w->next_seq;
            }
            w->seq_of[i] = w->next_seq++;
            pg->seq[pg->n] = w->seq_of[i];
            pg->flags[pg->n++] = sy_flag_ref(op->flag);
            w->readers += sy_flag_reads_time(op->flag);
        }
    }
    return 0;
}

/* Closes the holes deletions left in private pages, and drops the pages left empty. A
 * page's first_seq stays what it was: still no larger than any seq it holds. */
static void close_holes(struct work *w)
{
    uint32_t kept = 0;
    for (uint32_t p = 0; p < w->npages; p++) {
        struct page *pg = w->pages[p];
        if (w->pfresh[p]) {
            uint32_t k = 0;
            for (uint32_t j = 0; j < pg->n; j++)
                if (pg->flags[j]) {
                    pg->seq[k] = pg->seq[j];
                    pg->flags[k++] = pg->flags[j];
                }
            pg->n = k;
            if (k == 0) {
                page_release(pg);
                continue;
            }
        }
        w->pages[kept] = pg;
        w->first[kept] = w->first[p];
        w->pfresh[kept++] = w->pfresh[p];
    }
    w->npages = kept;
}

/* Shards: the same changes, slot by slot. */
static int change_shards(struct work *w, const struct entry *ops, uint32_t nops)
{
    for (uint32_t i = 0; i < nops; i++) {
        const struct entry *op = &ops[i];
        if (!op->flag && !op->old)
            continue;
        uint32_t si = (uint32_t)((uint64_t)op->hash >> w->base->shift);
        struct shard *sh = fresh_shard(w, si, op->old ? 0 : 1);
        if (!sh)
            return -ENOMEM;
        if (!op->old) {
            struct slot x = {.flag = op->flag, .hash = op->hash, .seq = w->seq_of[i]};
            shard_put(sh, &x);
            continue;
        }
        size_t klen;
        const char *key = sy_flag_key(op->old, &klen);
        int64_t at = shard_find(sh, op->hash, key, klen);
        if (op->flag)
            sh->slots[at].flag = op->flag;
        else
            shard_delete(sh, (uint32_t)at);
    }
    return 0;
}

/* A new set of the work's pages, its index made again whole. */
static int rebuild(struct work *w, uint32_t n, sy_flagset_t **out)
{
    const sy_flag_t **flags = sy_block_alloc(sizeof(*flags) * (n ? n : 1));
    uint32_t *seqs = sy_block_alloc(sizeof(*seqs) * (n ? n : 1));
    int rc = -ENOMEM;
    if (flags && seqs) {
        uint32_t k = 0;
        for (uint32_t p = 0; p < w->npages; p++)
            for (uint32_t j = 0; j < w->pages[p]->n; j++) {
                seqs[k] = w->pages[p]->seq[j];
                flags[k++] = sy_flag_ref(w->pages[p]->flags[j]);
            }
        rc = set_from(flags, seqs, n, w->next_seq, out);
    }
    sy_block_free(flags);
    sy_block_free(seqs);
    return rc;
}

/* A new set that takes the private pages and shards, and shares the others. */
static int assemble(struct work *w, sy_flagset_t **out)
{
    sy_flagset_t *s = set_alloc(w->npages, w->base->nshards);
    if (!s)
        return -ENOMEM;
    for (uint32_t p = 0; p < w->npages; p++) {
        if (!w->pfresh[p])
            atomic_fetch_add_explicit(&w->pages[p]->refs, 1, memory_order_relaxed);
        s->pages[p] = w->pages[p];
        s->first_seq[p] = w->first[p];
        w->pfresh[p] = false;
    }
    for (uint32_t i = 0; i < w->base->nshards; i++) {
        if (!w->sfresh[i])
            atomic_fetch_add_explicit(&w->shards[i]->refs, 1, memory_order_relaxed);
        s->shards[i] = w->shards[i];
        w->sfresh[i] = false;
    }
    set_count(s);
    s->next_seq = w->next_seq;
    s->time_readers = (uint32_t)w->readers;
    *out = s;
    return 0;
}

/* The base with the changes of `ops` (CHANGE builds: at most one op per key). */
static int apply(const sy_flagset_t *base, const struct entry *ops, uint32_t nops,
                 sy_flagset_t **out)
{
    uint32_t inserts = 0, deletes = 0;
    for (uint32_t i = 0; i < nops; i++) {
        inserts += ops[i].flag && !ops[i].old;
        deletes += !ops[i].flag && ops[i].old;
    }
    struct work w;
    int rc = work_init(&w, base, inserts, nops);
    if (rc < 0)
        return rc;
    rc = change_pages(&w, ops, nops);
    close_holes(&w);
    /* The index is made again whole once the set outgrew its shards (4x what they were
     * sized for), or deletions left too many half-empty pages: amortised over the changes
     * that led there. */
    uint32_t n = base->n + inserts - deletes;
    bool whole = n > (uint64_t)base->nshards * SHARD_FILL * 4 ||
                 w.npages > 2 * ((n + PAGE_MAX - 1) / PAGE_MAX) + 4;
    if (rc == 0 && !whole)
        rc = change_shards(&w, ops, nops);
    if (rc == 0)
        rc = whole ? rebuild(&w, n, out) : assemble(&w, out);
    work_free(&w);
    return rc;
}

/* ---- builds -------------------------------------------------------------------------------- */

struct sy_flagset_build {
    sy_flagset_mode_t mode;
    sy_flagset_t *base; /* a reference; never NULL (an empty set stands for none) */
    sy_flag_env_t env;  /* its evaluators and metadata: references, the new set's */
    sy_flagset_opts_t opts;
    struct entry *items; /* puts and deletes, in order (at most one live per key) */
    uint32_t n, cap;
    uint32_t *table; /* key -> index in items (UINT32_MAX: free), `mask + 1` slots */
    uint32_t mask;
};

static const char *entry_key(const struct entry *e, size_t *len)
{
    const sy_flag_t *f = e->flag ? e->flag : e->old;
    if (!f)
        return NULL; /* put, then deleted, and not in the base: matches nothing */
    return sy_flag_key(f, len);
}

static int64_t build_find(const sy_flagset_build_t *b, uint32_t hash, const char *key, size_t klen)
{
    for (uint32_t at = hash & b->mask;; at = (at + 1) & b->mask) {
        uint32_t i = b->table[at];
        if (i == UINT32_MAX)
            return -1;
        size_t len;
        const char *k = b->items[i].hash == hash ? entry_key(&b->items[i], &len) : NULL;
        if (k && sy_bytes_eq(k, len, key, klen))
            return i;
    }
}

static int build_grow(sy_flagset_build_t *b)
{
    if (b->n < b->cap && 2 * (b->n + 1) <= b->mask + 1)
        return 0;
    uint32_t cap = b->cap ? 2 * b->cap : 16;
    struct entry *items = sy_block_alloc(sizeof(*items) * cap);
    uint32_t slots = 2 * cap, *table = sy_block_alloc(sizeof(*table) * slots);
    if (!items || !table) {
        sy_block_free(items);
        sy_block_free(table);
        return -ENOMEM;
    }
    if (b->n)
        memcpy(items, b->items, sizeof(*items) * b->n);
    memset(table, 0xff, sizeof(*table) * slots);
    for (uint32_t i = 0; i < b->n; i++) {
        uint32_t at = items[i].hash & (slots - 1);
        while (table[at] != UINT32_MAX)
            at = (at + 1) & (slots - 1);
        table[at] = i;
    }
    sy_block_free(b->items);
    sy_block_free(b->table);
    b->items = items;
    b->table = table;
    b->cap = cap;
    b->mask = slots - 1;
    return 0;
}

/* Records `e` for its key: replaces the entry of that key, or appends one. */
static int build_record(sy_flagset_build_t *b, const char *key, size_t klen, struct entry e)
{
    int64_t i = build_find(b, e.hash, key, klen);
    if (i >= 0) {
        sy_flag_release(b->items[i].flag);
        b->items[i].flag = e.flag;
        return 0;
    }
    if (build_grow(b) < 0) {
        sy_flag_release(e.flag);
        return -ENOMEM;
    }
    uint32_t at = e.hash & b->mask;
    while (b->table[at] != UINT32_MAX)
        at = (at + 1) & b->mask;
    b->table[at] = b->n;
    b->items[b->n++] = e;
    return 0;
}

static sy_flagset_t *empty_set(const sy_flagset_opts_t *opts)
{
    sy_flagset_t *s = set_alloc(0, 1);
    if (s && !(s->shards[0] = shard_new(4))) {
        set_destroy(s);
        return NULL;
    }
    if (s)
        s->opts = *opts;
    return s;
}

int sy_flagset_build_begin(sy_flagset_build_t **out, const sy_flagset_t *base, sy_pool_t *pool,
                           sy_flagset_mode_t mode, const sy_value_t *metadata,
                           const sy_value_t *evaluators, const sy_flagset_opts_t *opts,
                           sy_problems_t *problems)
{
    static const sy_flagset_opts_t lenient = {0};
    if (!opts)
        opts = &lenient;
    sy_flagset_build_t *b = sy_block_alloc(sizeof(*b));
    if (!b)
        return -ENOMEM;
    *b = (sy_flagset_build_t){.mode = mode};
    b->opts = mode == SY_BUILD_CHANGE && base ? base->opts : *opts;
    b->base = base ? sy_flagset_ref(base) : empty_set(&b->opts);
    b->env = (sy_flag_env_t){.pool = pool,
                             .fractional = b->opts.fractional,
                             .strict = b->opts.strict,
                             .problems = problems};
    int rc = b->base ? build_grow(b) : -ENOMEM;
    if (rc < 0)
        goto out_free;
    if (mode == SY_BUILD_CHANGE) {
        if (b->base->evaluators)
            b->env.evaluators = (sy_evaluators_t *)sy_piece_ref(&b->base->evaluators->piece);
        if (b->base->metadata)
            b->env.metadata = (const sy_ival_t *)sy_piece_ref(&b->base->metadata->piece);
        *out = b;
        return 0;
    }
    /* A document: its metadata and evaluators, checked as flagd's schema does (strict:
     * by the schema itself, flagschema.h). */
    sy_schema_err_t se;
    char p[256]; /* cut to a problem's path when reported */
    if (metadata && b->opts.strict && !sy_schema_set_metadata(metadata, &se)) {
        snprintf(p, sizeof(p), "metadata%s", se.path);
        sy_flag_report(&b->env, SY_SEV_ERROR, "", p, "%s", se.msg);
    }
    if (evaluators && b->opts.strict)
        for (uint32_t i = 0; evaluators->type == SY_OBJ && i < evaluators->len; i++) {
            const sy_member_t *m = &evaluators->members[i];
            if (!sy_schema_key_ok(m->key, m->klen) || sy_schema_rule(&m->val, &se))
                continue; /* a bad name: the document's check reports it */
            snprintf(p, sizeof(p), "$evaluators.%.*s%s", (int)(m->klen > 48 ? 48 : m->klen), m->key,
                     se.path);
            sy_flag_report(&b->env, SY_SEV_ERROR, "", p, "%s", se.msg);
        }
    if (metadata) {
        sy_flag_check_metadata(&b->env, metadata, "metadata", true);
        if (metadata->type == SY_OBJ && metadata->len &&
            !(b->env.metadata = sy_ival_intern(pool, metadata)))
            rc = -ENOMEM;
    }
    if (rc == 0 && evaluators && evaluators->type != SY_OBJ) {
        sy_flag_report(&b->env, SY_SEV_WARN, "", "$evaluators", "$evaluators must be an object");
    } else if (rc == 0 && evaluators) {
        for (uint32_t i = 0; i < evaluators->len; i++) {
            const sy_member_t *m = &evaluators->members[i];
            snprintf(p, sizeof(p), "$evaluators.%.*s", (int)(m->klen > 48 ? 48 : m->klen), m->key);
            sy_flag_check_rule(&b->env, &m->val, p);
        }
        if (!(b->env.evaluators = sy_evaluators_new(pool, evaluators)))
            rc = -ENOMEM;
    }
    if (rc == 0) {
        *out = b;
        return 0;
    }
out_free:
    sy_flagset_build_abort(b);
    return rc;
}

sy_flag_env_t *sy_flagset_build_env(sy_flagset_build_t *b)
{
    return &b->env;
}

int sy_flagset_build_put(sy_flagset_build_t *b, const char *key, size_t klen, const sy_value_t *def,
                         const char *src, size_t src_len)
{
    const struct slot *was = find_slot(b->base, key, klen);
    const sy_flag_t *f = NULL;
    if (was && src) {
        size_t len;
        const char *s = sy_flag_source(was->flag, &len);
        if (s && len == src_len && memcmp(s, src, len) == 0 &&
            sy_flag_still_valid(was->flag, &b->env)) {
            f = sy_flag_ref(was->flag);
            sy_flag_report_again(f, &b->env);
        }
    }
    if (!f) {
        sy_flag_t *made;
        int rc = sy_flag_compile(&made, &b->env, key, klen, def, src, src_len);
        if (rc < 0)
            return rc;
        f = made;
    }
    struct entry e = {.flag = f, .hash = key_hash(key, klen)};
    if (b->mode == SY_BUILD_CHANGE && was) {
        e.old = was->flag;
        e.seq = was->seq;
    }
    return build_record(b, key, klen, e);
}

int sy_flagset_build_put_flag(sy_flagset_build_t *b, const sy_flag_t *f)
{
    size_t klen;
    const char *key = sy_flag_key(f, &klen);
    const struct slot *was = find_slot(b->base, key, klen);
    struct entry e = {.flag = sy_flag_ref(f), .hash = key_hash(key, klen)};
    if (b->mode == SY_BUILD_CHANGE && was) {
        e.old = was->flag;
        e.seq = was->seq;
    }
    return build_record(b, key, klen, e);
}

int sy_flagset_build_delete(sy_flagset_build_t *b, const char *key, size_t klen)
{
    uint32_t hash = key_hash(key, klen);
    int64_t i = build_find(b, hash, key, klen);
    if (i >= 0 && b->items[i].flag) {
        sy_flag_release(b->items[i].flag);
        b->items[i].flag = NULL;
        return 0;
    }
    const struct slot *was = b->mode == SY_BUILD_CHANGE ? find_slot(b->base, key, klen) : NULL;
    if (i >= 0 || !was)
        return -ENOENT; /* deleted already, or never there */
    return build_record(b, key, klen,
                        (struct entry){.old = was->flag, .hash = hash, .seq = was->seq});
}

void sy_flagset_build_abort(sy_flagset_build_t *b)
{
    if (!b)
        return;
    for (uint32_t i = 0; i < b->n; i++)
        sy_flag_release(b->items[i].flag);
    sy_block_free(b->items);
    sy_block_free(b->table);
    sy_piece_release(b->env.evaluators ? &b->env.evaluators->piece : NULL);
    sy_piece_release(b->env.metadata ? &b->env.metadata->piece : NULL);
    sy_flagset_free(b->base);
    sy_block_free(b);
}

int sy_flagset_build_end(sy_flagset_build_t *b, sy_flagset_t **out)
{
    int rc = b->env.errors ? -EINVAL : 0;
    sy_flagset_t *s = NULL;
    if (rc == 0 && b->mode == SY_BUILD_CHANGE) {
        rc = apply(b->base, b->items, b->n, &s);
    } else if (rc == 0) {
        /* The flags in the order put: their references go to the new set. */
        uint32_t n = 0;
        for (uint32_t i = 0; i < b->n; i++)
            if (b->items[i].flag)
                b->items[n++].flag = b->items[i].flag;
        const sy_flag_t **flags = (const sy_flag_t **)b->items; /* in place: it fits */
        for (uint32_t i = 0; i < n; i++)
            flags[i] = b->items[i].flag;
        b->n = 0;
        rc = set_from(flags, NULL, n, 0, &s);
    }
    if (rc == 0) {
        s->opts = b->opts;
        s->evaluators = (sy_evaluators_t *)b->env.evaluators;
        s->metadata = b->env.metadata;
        b->env.evaluators = NULL;
        b->env.metadata = NULL;
        if (b->env.pool)
            sy_pool_sweep(b->env.pool, false);
        *out = s;
    }
    sy_flagset_build_abort(b);
    return rc;
}

/* ---- loading a whole document ------------------------------------------------------------- */

int sy_flagset_load(sy_flagset_t **out, sy_arena_t *arena, const sy_value_t *doc,
                    const sy_flagset_opts_t *opts, sy_problems_t *problems)
{
    bool object = doc->type == SY_OBJ;
    sy_pool_t *pool;
    int rc = sy_pool_new(&pool);
    sy_flagset_build_t *b = NULL;
    if (rc == 0 && !object) {
        /* flagd loads it as a set without flags */
        rc = sy_flagset_build_begin(&b, NULL, pool, SY_BUILD_DOCUMENT, NULL, NULL, opts, problems);
        if (rc == 0)
            sy_flag_report(sy_flagset_build_env(b), SY_SEV_WARN, "", "$",
                           "a flag set must be a JSON object");
    } else if (rc == 0) {
        rc = sy_flagset_build_begin(&b, NULL, pool, SY_BUILD_DOCUMENT,
                                    sy_value_get(doc, "metadata", 8),
                                    sy_value_get(doc, "$evaluators", 11), opts, problems);
    }
    const sy_value_t *flags = object ? sy_value_get(doc, "flags", 5) : NULL;
    sy_schema_err_t se;
    char hint[96];
    if (rc == 0 && object)
        sy_flag_check_members(sy_flagset_build_env(b), doc, "$", sy_schema_document_members);
    if (rc == 0 && opts && opts->strict && !sy_schema_document(doc, &se)) {
        /* The top level as the schema has it: flags required, maps with valid keys. */
        sy_flag_hint(doc, sy_schema_document_members, "flags", hint, sizeof(hint));
        sy_flag_report(sy_flagset_build_env(b), SY_SEV_ERROR, "", se.path[0] ? se.path + 1 : "$",
                       "%s%s", se.msg, flags ? "" : hint);
    }
    if (rc == 0 && object && !flags) {
        sy_flag_hint(doc, sy_schema_document_members, "flags", hint, sizeof(hint));
        sy_flag_report(sy_flagset_build_env(b), SY_SEV_WARN, "", "flags", "flags is required%s",
                       hint);
    } else if (rc == 0 && flags && flags->type != SY_OBJ)
        sy_flag_report(sy_flagset_build_env(b), SY_SEV_ERROR, "", "flags",
                       "flags must be an object of flags by key");
    else if (rc == 0 && flags)
        for (uint32_t i = 0; i < flags->len && rc != -ENOMEM; i++) {
            const sy_member_t *m = &flags->members[i];
            rc = sy_flagset_build_put(b, m->key, m->klen, &m->val, NULL, 0);
            if (rc == -EINVAL)
                rc = 0; /* refused: reported, and counted for the end */
        }
    if (rc == 0)
        rc = sy_flagset_build_end(b, out);
    else
        sy_flagset_build_abort(b);
    sy_pool_free(pool); /* what the set holds lives on */
    sy_arena_free(arena);
    return rc;
}

/* ---- reading ------------------------------------------------------------------------------- */

size_t sy_flagset_count(const sy_flagset_t *set)
{
    return set->n;
}

const sy_flag_t *sy_flagset_at(const sy_flagset_t *set, size_t i)
{
    uint32_t lo = 0, hi = set->npages; /* the page: the last whose start is at most i */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (set->starts[mid] <= i)
            lo = mid;
        else
            hi = mid;
    }
    return set->pages[lo]->flags[i - set->starts[lo]];
}

const char *sy_flagset_key(const sy_flagset_t *set, size_t i, size_t *len)
{
    return sy_flag_key(sy_flagset_at(set, i), len);
}

bool sy_flagset_is_disabled(const sy_flagset_t *set, size_t i)
{
    return sy_flag_is_disabled(sy_flagset_at(set, i));
}

const sy_flag_t *sy_flagset_find(const sy_flagset_t *set, const char *key, size_t klen)
{
    const struct slot *s = find_slot(set, key, klen);
    return s ? s->flag : NULL;
}

bool sy_flagset_reads_time(const sy_flagset_t *set)
{
    return set->time_readers > 0;
}

const sy_value_t *sy_flagset_metadata(const sy_flagset_t *set)
{
    return set->metadata ? &set->metadata->v : &empty_object;
}

const sy_evaluators_t *sy_flagset_evaluators(const sy_flagset_t *set)
{
    return set->evaluators;
}

void sy_flagset_eval(const sy_flagset_t *set, const char *key, size_t klen, sy_flag_type_t type,
                     const sy_value_t *ctx, int64_t now_s, sy_arena_t *scratch,
                     sy_flag_result_t *res)
{
    const sy_flag_t *f = sy_flagset_find(set, key, klen);
    if (f) {
        sy_flag_eval(f, type, ctx, now_s, scratch, res);
        return;
    }
    *res = (sy_flag_result_t){.reason = SY_REASON_ERROR,
                              .error = SY_FLAG_NOT_FOUND,
                              .metadata = sy_flagset_metadata(set)};
    snprintf(res->message, sizeof(res->message), "flag \"%.*s\" not found",
             klen > 64 ? 64 : (int)klen, key);
}
