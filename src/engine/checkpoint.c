/* checkpoint.c - an experiment's aggregates as a replay of the event log rebuilds them,
 * encoded for the store (experiment_checkpoints, written by retention.c), so that the
 * events it holds can be pruned and a restart still rebuilds exactly the same numbers:
 * restore the checkpoint, then replay only the events after it.
 *
 * The encoding, version 1. Numbers are in the host's byte order, as the process that
 * wrote them held them (doubles and sy_wide_t bit for bit); the header says which order
 * and how wide sy_wide_t is, and a checkpoint of another machine does not decode.
 *
 *   field                         type
 *   "SYCK"                        4 bytes
 *   version                       u32 (1)
 *   0x01020304                    u32 (byte order)
 *   sizeof(sy_wide_t)             u32
 *   SY_STATS_MAX_ARMS             u32 (the SRM test's arrays)
 *   n_arms                        u32
 *   per variant, in order:
 *     key                         u8 length, bytes
 *     units conversions errors crossovers    i64 x 4
 *     value: n, mean, m2          i64, wide, wide
 *     latency: n, mean, m2        i64, wide, wide
 *     win, recent: served outcomes successes errors latencies, hist
 *                                 i64 x 5, u32 x HEALTH_BUCKETS (each)
 *   changes begun                 u64, and the last one's at_ms (i64, 0 for none)
 *   watched                       i32 (-1: none)
 *   has_baseline                  u8, then the baseline: success_rate error_rate f64,
 *                                 has_p95 u8, p95_ms f64, has_retry_rate u8, retry_rate
 *                                 f64, outcomes requests i64
 *   srm_on                        u8
 *   srm_grace_until               i64
 *   srm_fed                       i64 x n_arms
 *   SRM mixture: SY_SRM_MIX tests, each n u64, concentration f64, theta f64 x MAX,
 *                counts i64 x MAX, lnb_prior f64, untested u8, log_e_before log_bf p f64;
 *                then log_e p f64
 *   units                         u64 count; each: u16 length, bytes, i8 variant,
 *                                 u8 flags, f64 value
 *   check                         u64: FNV-1a 64 of the experiment's id and the
 *                                 checkpoint's place (i64 each, not stored: the row's
 *                                 columns), then of every byte before it
 *
 * Not stored, because a replay does not rebuild it either: each variant's sequential
 * running p (experiment_arms keeps it), the SRM's running p the store keeps
 * (experiment_srm), health pushed from outside.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/experiment_int.h"

#define VERSION 2 /* 2: the check covers the experiment's id and the place */

struct enc {
    unsigned char *p;
    size_t len, cap;
    bool oom;
};

static void put(struct enc *b, const void *v, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > SY_CKPT_MAX ||
        (b->len + n > b->cap && sy_eng_grow((void **)&b->p, &b->cap, b->len + n, 1) < 0)) {
        b->oom = true;
        return;
    }
    memcpy(b->p + b->len, v, n);
    b->len += n;
}

#define PUT(b, type, v)                                                                            \
    do {                                                                                           \
        type put_v_ = (type)(v);                                                                   \
        put(b, &put_v_, sizeof(put_v_));                                                           \
    } while (0)

static void put_welford(struct enc *b, const sy_welford_t *w)
{
    PUT(b, int64_t, w->n);
    put(b, &w->mean, sizeof(w->mean));
    put(b, &w->m2, sizeof(w->m2));
}

static void put_counts(struct enc *b, const struct health_counts *h)
{
    PUT(b, int64_t, h->served);
    PUT(b, int64_t, h->outcomes);
    PUT(b, int64_t, h->successes);
    PUT(b, int64_t, h->errors);
    PUT(b, int64_t, h->latencies);
    put(b, h->hist, sizeof(h->hist));
}

static void put_seq(struct enc *b, const sy_srm_seq_t *t)
{
    PUT(b, uint64_t, t->n);
    PUT(b, double, t->concentration);
    put(b, t->theta, sizeof(t->theta));
    put(b, t->counts, sizeof(t->counts));
    PUT(b, double, t->lnb_prior);
    PUT(b, uint8_t, t->untested);
    PUT(b, double, t->log_e_before);
    PUT(b, double, t->log_bf);
    PUT(b, double, t->p);
}

static uint64_t fnv_more(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

/* The check of a checkpoint of experiment `id` at place `seq`: a row moved to another
 * experiment (two of the same variants) or to another place (events replayed twice or
 * never) does not decode, as a damaged state does not. */
static uint64_t fnv(int64_t id, int64_t seq, const unsigned char *p, size_t n)
{
    int64_t row[2] = {id, seq};
    return fnv_more(fnv_more(0xcbf29ce484222325u, (const unsigned char *)row, sizeof(row)), p, n);
}

int sy_exp_ckpt_encode(const struct experiment *e, int64_t seq, unsigned char **out, size_t *len)
{
    struct enc b = {0};
    put(&b, "SYCK", 4);
    PUT(&b, uint32_t, VERSION);
    PUT(&b, uint32_t, 0x01020304u);
    PUT(&b, uint32_t, sizeof(sy_wide_t));
    PUT(&b, uint32_t, SY_STATS_MAX_ARMS);
    PUT(&b, uint32_t, e->n_arms);
    for (size_t k = 0; k < e->n_arms; k++) {
        const struct arm *a = &e->arms[k];
        size_t kl = strlen(a->key);
        PUT(&b, uint8_t, kl);
        put(&b, a->key, kl);
        PUT(&b, int64_t, a->a.units);
        PUT(&b, int64_t, a->a.conversions);
        PUT(&b, int64_t, a->a.errors);
        PUT(&b, int64_t, a->a.crossovers);
        put_welford(&b, &a->a.value);
        put_welford(&b, &a->a.latency);
        put_counts(&b, &a->a.win);
        put_counts(&b, &a->a.recent);
    }
    PUT(&b, uint64_t, e->replayed_changes);
    PUT(&b, int64_t, e->replayed_changes ? e->changes[e->replayed_changes - 1].at_ms : 0);
    PUT(&b, int32_t, e->watched);
    PUT(&b, uint8_t, e->has_baseline);
    PUT(&b, double, e->baseline.success_rate);
    PUT(&b, double, e->baseline.error_rate);
    PUT(&b, uint8_t, e->baseline.has_p95);
    PUT(&b, double, e->baseline.p95_ms);
    PUT(&b, uint8_t, e->baseline.has_retry_rate);
    PUT(&b, double, e->baseline.retry_rate);
    PUT(&b, int64_t, e->baseline.outcomes);
    PUT(&b, int64_t, e->baseline.requests);
    PUT(&b, uint8_t, e->srm_on);
    PUT(&b, int64_t, e->srm_grace_until);
    put(&b, e->srm_fed, e->n_arms * sizeof(e->srm_fed[0]));
    for (size_t i = 0; i < SY_SRM_MIX; i++)
        put_seq(&b, &e->srm.t[i]);
    PUT(&b, double, e->srm.log_e);
    PUT(&b, double, e->srm.p);
    PUT(&b, uint64_t, e->units.n);
    for (size_t i = 0; i < e->units.cap; i++) {
        const struct unit *u = &e->units.slots[i];
        if (!u->len)
            continue;
        PUT(&b, uint16_t, u->len);
        put(&b, e->units.pool + u->off, u->len);
        PUT(&b, int8_t, u->variant);
        PUT(&b, uint8_t, u->flags);
        PUT(&b, double, u->value);
    }
    if (!b.oom)
        PUT(&b, uint64_t, fnv(e->id, seq, b.p, b.len));
    if (b.oom) {
        free(b.p);
        return b.len + 64 > SY_CKPT_MAX ? -E2BIG : -ENOMEM;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}

struct dec {
    const unsigned char *p;
    size_t len, at;
    bool bad;
};

static void get(struct dec *d, void *v, size_t n)
{
    if (d->bad || n > d->len - d->at) {
        d->bad = true;
        memset(v, 0, n);
        return;
    }
    memcpy(v, d->p + d->at, n);
    d->at += n;
}

#define GET(d, type, dst)                                                                          \
    do {                                                                                           \
        type get_v_;                                                                               \
        get(d, &get_v_, sizeof(get_v_));                                                           \
        (dst) = get_v_;                                                                            \
    } while (0)

static void get_welford(struct dec *d, sy_welford_t *w)
{
    GET(d, int64_t, w->n);
    get(d, &w->mean, sizeof(w->mean));
    get(d, &w->m2, sizeof(w->m2));
}

static void get_counts(struct dec *d, struct health_counts *h)
{
    GET(d, int64_t, h->served);
    GET(d, int64_t, h->outcomes);
    GET(d, int64_t, h->successes);
    GET(d, int64_t, h->errors);
    GET(d, int64_t, h->latencies);
    get(d, h->hist, sizeof(h->hist));
}

static void get_seq(struct dec *d, sy_srm_seq_t *t)
{
    uint64_t n;
    uint8_t untested;
    GET(d, uint64_t, n);
    d->bad |= n > SY_STATS_MAX_ARMS;
    t->n = (size_t)n;
    GET(d, double, t->concentration);
    get(d, t->theta, sizeof(t->theta));
    get(d, t->counts, sizeof(t->counts));
    GET(d, double, t->lnb_prior);
    GET(d, uint8_t, untested);
    t->untested = untested != 0;
    GET(d, double, t->log_e_before);
    GET(d, double, t->log_bf);
    GET(d, double, t->p);
}

/* The header and the variants: the same experiment's, by key and order. */
static void get_arms(struct dec *d, struct experiment *e)
{
    char magic[4];
    uint32_t version, order, wide, max, n_arms;
    get(d, magic, 4);
    GET(d, uint32_t, version);
    GET(d, uint32_t, order);
    GET(d, uint32_t, wide);
    GET(d, uint32_t, max);
    GET(d, uint32_t, n_arms);
    d->bad |= memcmp(magic, "SYCK", 4) != 0 || version != VERSION || order != 0x01020304u ||
              wide != sizeof(sy_wide_t) || max != SY_STATS_MAX_ARMS || n_arms != e->n_arms;
    for (size_t k = 0; !d->bad && k < e->n_arms; k++) {
        struct arm *a = &e->arms[k];
        uint8_t kl;
        char key[256];
        GET(d, uint8_t, kl);
        get(d, key, kl);
        d->bad |= kl != strlen(a->key) || memcmp(key, a->key, kl) != 0;
        GET(d, int64_t, a->a.units);
        GET(d, int64_t, a->a.conversions);
        GET(d, int64_t, a->a.errors);
        GET(d, int64_t, a->a.crossovers);
        get_welford(d, &a->a.value);
        get_welford(d, &a->a.latency);
        get_counts(d, &a->a.win);
        get_counts(d, &a->a.recent);
    }
}

int sy_exp_ckpt_decode(struct experiment *e, int64_t seq, const void *data, size_t len)
{
    struct dec d = {.p = data, .len = len};
    uint64_t check;
    if (len < 8)
        return -EIO;
    memcpy(&check, d.p + len - 8, 8);
    if (check != fnv(e->id, seq, d.p, len - 8))
        return -EIO;
    d.len = len - 8;
    get_arms(&d, e);
    uint64_t begun;
    int64_t last_at;
    uint8_t u8;
    GET(&d, uint64_t, begun);
    GET(&d, int64_t, last_at);
    /* the changes it had begun are the first of those the store holds now */
    d.bad |= begun > e->n_changes || (begun && e->changes[begun - 1].at_ms != last_at);
    e->replayed_changes = d.bad ? 0 : (size_t)begun;
    GET(&d, int32_t, e->watched);
    d.bad |= e->watched < -1 || e->watched >= (int)e->n_arms;
    GET(&d, uint8_t, u8);
    e->has_baseline = u8 != 0;
    GET(&d, double, e->baseline.success_rate);
    GET(&d, double, e->baseline.error_rate);
    GET(&d, uint8_t, u8);
    e->baseline.has_p95 = u8 != 0;
    GET(&d, double, e->baseline.p95_ms);
    GET(&d, uint8_t, u8);
    e->baseline.has_retry_rate = u8 != 0;
    GET(&d, double, e->baseline.retry_rate);
    GET(&d, int64_t, e->baseline.outcomes);
    GET(&d, int64_t, e->baseline.requests);
    GET(&d, uint8_t, u8);
    e->srm_on = u8 != 0;
    GET(&d, int64_t, e->srm_grace_until);
    get(&d, e->srm_fed, e->n_arms * sizeof(e->srm_fed[0]));
    for (size_t i = 0; i < SY_SRM_MIX; i++)
        get_seq(&d, &e->srm.t[i]);
    GET(&d, double, e->srm.log_e);
    GET(&d, double, e->srm.p);
    uint64_t n;
    GET(&d, uint64_t, n);
    for (uint64_t i = 0; !d.bad && i < n; i++) {
        uint16_t ul;
        int8_t variant;
        uint8_t flags;
        double value;
        GET(&d, uint16_t, ul);
        if (d.bad || ul > d.len - d.at) {
            d.bad = true;
            break;
        }
        const char *id = (const char *)d.p + d.at;
        d.at += ul;
        GET(&d, int8_t, variant);
        GET(&d, uint8_t, flags);
        GET(&d, double, value);
        int rc = d.bad ? -EIO : sy_exp_unit_restore(e, id, ul, variant, flags, value);
        if (rc == -ENOMEM)
            return rc;
        d.bad |= rc < 0;
    }
    return d.bad || d.at != d.len ? -EIO : 0;
}
