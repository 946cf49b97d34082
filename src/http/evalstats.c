/* evalstats.c - the serving threads' evaluation counts (evalstats.h). */
#include "http/evalstats.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_REASONS (SY_REASON_ERROR + 1)
#define N_ERRORS  (SY_FLAG_GENERAL + 1)

/* An OFREP request's time, upper bounds in ns (the last unbounded). */
static const int64_t request_le_ns[] = {1000,    2500,    5000,     10000,    25000,
                                        50000,   100000,  250000,   500000,   1000000,
                                        2500000, 5000000, 10000000, 25000000, INT64_MAX};
#define N_BUCKETS (sizeof(request_le_ns) / sizeof(request_le_ns[0]))

/* A name the set knows: (workspace, flag), and its rank in the workspace. The workspace's
 * own row (errors of keys that name no flag) has an empty key. */
struct name {
    int64_t ws;
    uint32_t id, rank;
    size_t klen;
    char key[];
};

/* One thread's counts of one name. */
struct row {
    const struct name *nm; /* never moves nor changes: read without the set's lock */
    uint32_t id;           /* the set's names[id] */
    uint32_t hash;
    atomic_llong by_reason[N_REASONS];
    atomic_llong by_error[N_ERRORS];
};

/* A bulk evaluation's rows by the flag's index in its set: valid for one revision of one
 * workspace (a revision names one set), refilled as a new one is seen. */
#define BULK_CACHES 4
struct bulk_cache {
    int64_t ws, revision; /* ws 0: unused */
    size_t n;
    struct row **rows;
    const void **ids; /* the flag each row was found for */
};

struct sy_evalstats {
    sy_evalstats_set_t *set;
    struct bulk_cache bulk[BULK_CACHES]; /* the owner's alone */
    unsigned next_bulk;                  /* the one a new workspace replaces */
    pthread_mutex_t lock; /* taken by the owner to change `slot`, by a scrape to read it */
    struct row **slot;    /* open addressing by hash; cap a power of two */
    size_t cap, n;
    atomic_llong hist[SY_OFREP_KINDS][N_BUCKETS];
    atomic_llong sum_ns[SY_OFREP_KINDS];
};

struct ws_next {
    int64_t ws;
    uint32_t next;
};

struct sy_evalstats_set {
    pthread_mutex_t lock;
    size_t max_flags;
    struct name **names; /* by id */
    uint32_t *by_hash;   /* ids + 1 by hash (0: empty); cap a power of two */
    size_t n, cap;
    struct ws_next *wss; /* each workspace's next rank */
    size_t n_ws;
    sy_evalstats_t **tables;
    size_t n_tables;
};

static uint32_t name_hash(int64_t ws, const char *key, size_t klen)
{
    uint32_t h = 2166136261u ^ (uint32_t)(((uint64_t)ws * 0x9e3779b97f4a7c15u) >> 32);
    for (size_t i = 0; i < klen; i++)
        h = (h ^ (uint8_t)key[i]) * 16777619u;
    return h;
}

sy_evalstats_set_t *sy_evalstats_set_new(size_t max_flags)
{
    sy_evalstats_set_t *set = calloc(1, sizeof(*set));
    if (!set)
        return NULL;
    pthread_mutex_init(&set->lock, NULL);
    set->max_flags = max_flags;
    return set;
}

void sy_evalstats_set_free(sy_evalstats_set_t *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n_tables; i++) {
        sy_evalstats_t *s = set->tables[i];
        for (size_t j = 0; j < s->cap; j++)
            free(s->slot[j]);
        free(s->slot);
        for (int k = 0; k < BULK_CACHES; k++) {
            free(s->bulk[k].rows);
            free(s->bulk[k].ids);
        }
        pthread_mutex_destroy(&s->lock);
        free(s);
    }
    for (size_t i = 0; i < set->n; i++)
        free(set->names[i]);
    free(set->names);
    free(set->by_hash);
    free(set->wss);
    free(set->tables);
    pthread_mutex_destroy(&set->lock);
    free(set);
}

sy_evalstats_t *sy_evalstats_add(sy_evalstats_set_t *set)
{
    sy_evalstats_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->set = set;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_lock(&set->lock);
    sy_evalstats_t **t = realloc(set->tables, (set->n_tables + 1) * sizeof(*t));
    if (t) {
        set->tables = t;
        t[set->n_tables++] = s;
    }
    pthread_mutex_unlock(&set->lock);
    if (!t) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
    }
    return s;
}

/* The name (ws, key) in the set, made when new; NULL when out of memory. Under set->lock. */
static struct name *name_of(sy_evalstats_set_t *set, int64_t ws, const char *key, size_t klen,
                            uint32_t h)
{
    for (size_t i = h & (set->cap - 1); set->cap && set->by_hash[i]; i = (i + 1) & (set->cap - 1)) {
        const struct name *nm = set->names[set->by_hash[i] - 1];
        if (nm->ws == ws && nm->klen == klen && memcmp(nm->key, key, klen) == 0)
            return set->names[set->by_hash[i] - 1];
    }
    if ((set->n + 1) * 2 > set->cap) { /* grow the index: at most half full */
        size_t cap = set->cap ? set->cap * 2 : 64;
        uint32_t *idx = calloc(cap, sizeof(*idx));
        struct name **names = realloc(set->names, cap / 2 * sizeof(*names));
        if (names)
            set->names = names;
        if (!idx || !names) {
            free(idx);
            return NULL;
        }
        for (size_t id = 0; id < set->n; id++) {
            const struct name *nm = set->names[id];
            size_t i = name_hash(nm->ws, nm->key, nm->klen) & (cap - 1);
            while (idx[i])
                i = (i + 1) & (cap - 1);
            idx[i] = (uint32_t)id + 1;
        }
        free(set->by_hash);
        set->by_hash = idx;
        set->cap = cap;
    }
    size_t w = 0;
    while (w < set->n_ws && set->wss[w].ws != ws)
        w++;
    if (w == set->n_ws) {
        struct ws_next *wss = realloc(set->wss, (set->n_ws + 1) * sizeof(*wss));
        if (!wss)
            return NULL;
        set->wss = wss;
        wss[set->n_ws++] = (struct ws_next){.ws = ws};
    }
    struct name *nm = malloc(sizeof(*nm) + klen + 1);
    if (!nm)
        return NULL;
    nm->ws = ws;
    nm->id = (uint32_t)set->n;
    nm->klen = klen;
    memcpy(nm->key, key, klen);
    nm->key[klen] = '\0';
    nm->rank = klen ? set->wss[w].next++ : 0; /* the workspace's own row ranks nothing */
    size_t i = h & (set->cap - 1);
    while (set->by_hash[i])
        i = (i + 1) & (set->cap - 1);
    set->by_hash[i] = (uint32_t)set->n + 1;
    set->names[set->n++] = nm;
    return nm;
}

/* The thread's row of (ws, key), made when new; NULL when out of memory (not counted). */
static struct row *row_of(sy_evalstats_t *s, int64_t ws, const char *key, size_t klen)
{
    uint32_t h = name_hash(ws, key, klen);
    sy_evalstats_set_t *set = s->set;
    if (s->cap) {
        for (size_t i = h & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1)) {
            struct row *r = s->slot[i];
            const struct name *nm = r->nm;
            if (r->hash == h && nm->ws == ws && nm->klen == klen && memcmp(nm->key, key, klen) == 0)
                return r;
        }
    }
    pthread_mutex_lock(&set->lock);
    const struct name *nm = name_of(set, ws, key, klen, h);
    pthread_mutex_unlock(&set->lock);
    struct row *r = nm ? calloc(1, sizeof(*r)) : NULL;
    if (!r)
        return NULL;
    r->nm = nm;
    r->id = nm->id;
    r->hash = h;
    pthread_mutex_lock(&s->lock);
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct row **slot = calloc(cap, sizeof(*slot));
        if (!slot) {
            pthread_mutex_unlock(&s->lock);
            free(r);
            return NULL;
        }
        for (size_t j = 0; j < s->cap; j++) {
            if (!s->slot[j])
                continue;
            size_t i = s->slot[j]->hash & (cap - 1);
            while (slot[i])
                i = (i + 1) & (cap - 1);
            slot[i] = s->slot[j];
        }
        free(s->slot);
        s->slot = slot;
        s->cap = cap;
    }
    size_t i = h & (s->cap - 1);
    while (s->slot[i])
        i = (i + 1) & (s->cap - 1);
    s->slot[i] = r;
    s->n++;
    pthread_mutex_unlock(&s->lock);
    return r;
}

/* One writer: a relaxed load and store, no locked instruction. */
static inline void bump(atomic_llong *c, long long by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

static void count_in(struct row *row, const sy_flag_result_t *r, bool missing)
{
    if (!missing)
        bump(&row->by_reason[(unsigned)r->reason < N_REASONS ? r->reason : SY_REASON_ERROR], 1);
    if (r->reason == SY_REASON_ERROR)
        bump(&row->by_error[(unsigned)r->error < N_ERRORS ? r->error : SY_FLAG_GENERAL], 1);
}

void sy_evalstats_count(sy_evalstats_t *s, int64_t ws, const char *key, size_t klen,
                        const sy_flag_result_t *r)
{
    if (!s)
        return;
    bool missing = r->reason == SY_REASON_ERROR && r->error == SY_FLAG_NOT_FOUND;
    struct row *row = missing ? row_of(s, ws, "", 0) : row_of(s, ws, key, klen);
    if (row)
        count_in(row, r, missing);
}

void sy_evalstats_count_at(sy_evalstats_t *s, int64_t ws, int64_t revision, size_t i, size_t n,
                           const void *flag, const char *key, size_t klen,
                           const sy_flag_result_t *r)
{
    if (!s)
        return;
    struct bulk_cache *c = NULL;
    for (int k = 0; k < BULK_CACHES && !c; k++)
        if (s->bulk[k].ws == ws)
            c = &s->bulk[k];
    if (!c) {
        c = &s->bulk[s->next_bulk++ % BULK_CACHES];
        c->ws = ws;
        c->revision = -1;
    }
    if (c->revision != revision || c->n != n) {
        if (n > c->n) {
            struct row **rows = realloc(c->rows, n * sizeof(*rows));
            if (rows)
                c->rows = rows;
            const void **ids = rows ? realloc(c->ids, n * sizeof(*ids)) : NULL;
            if (ids)
                c->ids = ids;
            if (!ids) {
                c->revision = -1;
                sy_evalstats_count(s, ws, key, klen, r);
                return;
            }
        }
        memset(c->ids, 0, n * sizeof(*c->ids));
        c->n = n;
        c->revision = revision;
    }
    if (i >= n) {
        sy_evalstats_count(s, ws, key, klen, r);
        return;
    }
    /* Checked by the compiled flag, which the set being served holds (no address is reused
     * while it is): a cache keyed by the revision alone would trust the engine never to
     * serve two sets under one. */
    if (c->ids[i] != flag || !flag) {
        if (!(c->rows[i] = row_of(s, ws, key, klen)))
            return;
        c->ids[i] = flag;
    }
    count_in(c->rows[i], r, false);
}

void sy_evalstats_request(sy_evalstats_t *s, enum sy_ofrep_kind kind, int64_t ns)
{
    if (!s)
        return;
    size_t b = 0;
    while (ns > request_le_ns[b])
        b++;
    bump(&s->hist[kind][b], 1);
    bump(&s->sum_ns[kind], ns);
}

/* ---- the scrape ------------------------------------------------------------------------ */

struct agg {
    long long by_reason[N_REASONS];
    long long by_error[N_ERRORS];
};

/* Names in the order they are written: by workspace, then rank, the workspace's own row
 * last. */
struct ord {
    int64_t ws;
    uint64_t rank; /* the own row: past every flag's */
    uint32_t id;
};

static int by_ws_rank(const void *a, const void *b)
{
    const struct ord *x = a, *y = b;
    if (x->ws != y->ws)
        return x->ws < y->ws ? -1 : 1;
    return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static void write_evaluations(sy_evalstats_set_t *set, sy_prom_t *p, struct agg *agg,
                              const struct ord *order)
{
    sy_prom_family(p, "switchyard_flag_evaluations_total", SY_PROM_COUNTER,
                   "Flag evaluations served (OFREP), by workspace, flag and reason. A workspace's "
                   "flags past the export cap are summed as flag=\"other\".");
    struct agg other = {0};
    char ws[24];
    for (size_t k = 0; k < set->n; k++) {
        const struct name *nm = set->names[order[k].id];
        const struct agg *a = &agg[order[k].id];
        snprintf(ws, sizeof(ws), "%" PRId64, nm->ws);
        /* a flag named "other" is counted with the others: its own series would be the
         * overflow's, twice */
        bool own = nm->klen && nm->rank < set->max_flags &&
                   !(nm->klen == 5 && memcmp(nm->key, "other", 5) == 0);
        if (nm->klen && !own)
            for (int r = 0; r < N_REASONS; r++)
                other.by_reason[r] += a->by_reason[r];
        for (int r = 0; own && r < N_REASONS; r++) {
            if (!a->by_reason[r])
                continue;
            sy_prom_label_t l[] = {
                {"workspace", ws}, {"flag", nm->key}, {"reason", sy_reason_name(r)}};
            sy_prom_sample(p, "switchyard_flag_evaluations_total", l, 3, (double)a->by_reason[r]);
        }
        bool last = k + 1 == set->n || set->names[order[k + 1].id]->ws != nm->ws;
        for (int r = 0; last && r < N_REASONS; r++) {
            if (!other.by_reason[r])
                continue;
            sy_prom_label_t l[] = {
                {"workspace", ws}, {"flag", "other"}, {"reason", sy_reason_name(r)}};
            sy_prom_sample(p, "switchyard_flag_evaluations_total", l, 3,
                           (double)other.by_reason[r]);
        }
        if (last)
            other = (struct agg){0};
    }
    sy_prom_family(p, "switchyard_flag_evaluation_errors_total", SY_PROM_COUNTER,
                   "Flag evaluations that answered an error, by workspace and error code.");
    for (size_t k = 0; k < set->n; k++) {
        const struct name *nm = set->names[order[k].id];
        for (int e = 1; e < N_ERRORS; e++)
            other.by_error[e] += agg[order[k].id].by_error[e];
        if (k + 1 < set->n && set->names[order[k + 1].id]->ws == nm->ws)
            continue;
        snprintf(ws, sizeof(ws), "%" PRId64, nm->ws);
        for (int e = 1; e < N_ERRORS; e++) {
            if (!other.by_error[e])
                continue;
            sy_prom_label_t l[] = {{"workspace", ws}, {"code", sy_flag_error_name(e)}};
            sy_prom_sample(p, "switchyard_flag_evaluation_errors_total", l, 2,
                           (double)other.by_error[e]);
        }
        other = (struct agg){0};
    }
}

void sy_evalstats_write(sy_evalstats_set_t *set, sy_prom_t *p)
{
    long long hist[SY_OFREP_KINDS][N_BUCKETS] = {{0}}, sum_ns[SY_OFREP_KINDS] = {0};
    pthread_mutex_lock(&set->lock);
    struct agg *agg = calloc(set->n ? set->n : 1, sizeof(*agg));
    struct ord *order = calloc(set->n ? set->n : 1, sizeof(*order));
    for (size_t t = 0; agg && order && t < set->n_tables; t++) {
        sy_evalstats_t *s = set->tables[t];
        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->cap; i++) {
            struct row *r = s->slot[i];
            if (!r)
                continue;
            for (int k = 0; k < N_REASONS; k++)
                agg[r->id].by_reason[k] +=
                    atomic_load_explicit(&r->by_reason[k], memory_order_relaxed);
            for (int k = 0; k < N_ERRORS; k++)
                agg[r->id].by_error[k] +=
                    atomic_load_explicit(&r->by_error[k], memory_order_relaxed);
        }
        pthread_mutex_unlock(&s->lock);
        for (int k = 0; k < SY_OFREP_KINDS; k++) {
            for (size_t b = 0; b < N_BUCKETS; b++)
                hist[k][b] += atomic_load_explicit(&s->hist[k][b], memory_order_relaxed);
            sum_ns[k] += atomic_load_explicit(&s->sum_ns[k], memory_order_relaxed);
        }
    }
    if (agg && order) {
        for (size_t i = 0; i < set->n; i++) {
            const struct name *nm = set->names[i];
            order[i] = (struct ord){nm->ws, nm->klen ? nm->rank : UINT64_MAX, (uint32_t)i};
        }
        qsort(order, set->n, sizeof(*order), by_ws_rank);
        write_evaluations(set, p, agg, order);
    } else {
        p->t->failed = true;
    }
    pthread_mutex_unlock(&set->lock);
    free(agg);
    free(order);

    sy_prom_family(p, "switchyard_decision_latency_seconds", SY_PROM_HISTOGRAM,
                   "How long an OFREP evaluation request took on its serving thread, from its "
                   "body to its answer written (kind: single flag or bulk).");
    static const char *const kinds[] = {"single", "bulk"};
    double le[N_BUCKETS];
    for (size_t b = 0; b < N_BUCKETS; b++)
        le[b] = request_le_ns[b] == INT64_MAX ? INFINITY : (double)request_le_ns[b] / 1e9;
    for (int k = 0; k < SY_OFREP_KINDS; k++) {
        int64_t counts[N_BUCKETS];
        for (size_t b = 0; b < N_BUCKETS; b++)
            counts[b] = hist[k][b];
        sy_prom_label_t l[] = {{"kind", kinds[k]}};
        sy_prom_histogram(p, "switchyard_decision_latency_seconds", l, 1, le, counts, N_BUCKETS,
                          (double)sum_ns[k] / 1e9);
    }
}
