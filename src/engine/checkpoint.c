/* checkpoint.c - an experiment's aggregates as a replay of the event log rebuilds them,
 * encoded for the store (experiment_checkpoints, written by retention.c), so that the
 * events it holds can be pruned and a restart still rebuilds exactly the same numbers:
 * restore the checkpoint, then replay only the events after it.
 *
 * The encoding, version 4 (version 3 without the rows marked "4:"). Several nodes may share one
 * database (issue 25), so a checkpoint must read the same on every host: every number is
 * little-endian, written and read a byte at a time whatever the host's order; a double is its
 * IEEE-754 binary64 bits (u64), a wide number (sy_wide_t, core/stats.h) its IEEE-754 binary128 bits
 * (16 bytes, least significant first). A build whose sy_wide_t is not binary128 can neither write
 * nor read versions 3 and 4 (-ENOTSUP, -EIO): its sums would not be the same bits anyway.
 *
 *   field                         type
 *   "SYCK"                        4 bytes
 *   version                       u32 (4)
 *   wide                          u32 (113: sy_wide_t's mantissa digits, binary128)
 *   SY_STATS_MAX_ARMS             u32 (the SRM test's arrays)
 *   n_arms                        u32
 *   per variant, in order:
 *     key                         u8 length, bytes
 *     units conversions errors crossovers    i64 x 4
 *     value: n, mean, m2          i64, wide, wide
 *     latency: n, mean, m2        i64, wide, wide
 *  4: covariates                  i64 (CUPED: units whose exposure carried one)
 *  4: cov: n, mean_x, mean_y, m2x, m2y, cxy     i64, wide x 5 (CUPED's co-moments)
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
 *                                 u8 flags, f64 value, 4: f64 covariate
 *   check                         u64: FNV-1a 64 of the experiment's id and the
 *                                 checkpoint's place (i64 each, little-endian, not
 *                                 stored: the row's columns), then of every byte before it
 *
 * Version 3, which databases written before CUPED hold, is still read: its arms' co-moments
 * are empty and its units have no covariate (no experiment had CUPED then). Version 2 is
 * still read too: the same fields, but
 * every number in the byte order of the host that wrote it (doubles and sy_wide_t bit for
 * bit, the check's id and place too), and a header of version u32 (2), 0x01020304 u32
 * (the byte order) and sizeof(sy_wide_t) u32 where version 3 has `wide`; a version 2
 * checkpoint of a host of another order or width does not decode. Nothing writes it.
 *
 * Not stored, because a replay does not rebuild it either: each variant's sequential
 * running p (experiment_arms keeps it), the SRM's running p the store keeps
 * (experiment_srm), health pushed from outside.
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "engine/experiment_int.h"

#define VERSION    4 /* 4: CUPED's co-moments and covariates; 3: little-endian; 2: the host's */
#define VERSION_V3 3 /* order, the check covering the row */
#define VERSION_V2 2

/* sy_wide_t is IEEE-754 binary128 when it is __float128, or a long double of 113 digits
 * (arm64, s390x, riscv64). */
#if defined(__SIZEOF_FLOAT128__) ||                                                                \
    (LDBL_MANT_DIG == 113 && defined(__SIZEOF_LONG_DOUBLE__) && __SIZEOF_LONG_DOUBLE__ == 16)
#define WIDE_DIGITS 113
#else
#define WIDE_DIGITS 0 /* not binary128: no version 3 or 4 */
#endif

/* The index in a sy_wide_t's bytes of its binary128 bits' byte i (0: least significant). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define WIDE_BYTE(i) (15 - (i))
#else
#define WIDE_BYTE(i) (i)
#endif

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

/* The `n` low bytes of `v`, least significant first. */
static void put_le(struct enc *b, uint64_t v, size_t n)
{
    unsigned char x[8];
    for (size_t i = 0; i < n; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    put(b, x, n);
}

static void put_u8(struct enc *b, uint64_t v)
{
    put_le(b, v, 1);
}

static void put_u16(struct enc *b, uint64_t v)
{
    put_le(b, v, 2);
}

static void put_u32(struct enc *b, uint64_t v)
{
    put_le(b, v, 4);
}

static void put_u64(struct enc *b, uint64_t v)
{
    put_le(b, v, 8);
}

/* Signed numbers as their two's complement (the cast to uint64_t is modulo 2^64). */
static void put_i64(struct enc *b, int64_t v)
{
    put_le(b, (uint64_t)v, 8);
}

static void put_f64(struct enc *b, double v)
{
    uint64_t bits;
    _Static_assert(sizeof(bits) == sizeof(v), "binary64 doubles");
    memcpy(&bits, &v, sizeof(bits));
    put_u64(b, bits);
}

static void put_wide(struct enc *b, sy_wide_t v)
{
    unsigned char host[sizeof(v)], x[16] = {0};
    memcpy(host, &v, sizeof(v));
    for (size_t i = 0; i < 16 && sizeof(v) == 16; i++)
        x[i] = host[WIDE_BYTE(i)];
    put(b, x, 16);
}

static void put_welford(struct enc *b, const sy_welford_t *w)
{
    put_i64(b, w->n);
    put_wide(b, w->mean);
    put_wide(b, w->m2);
}

static void put_comoments(struct enc *b, const sy_comoments_t *c)
{
    put_i64(b, c->n);
    put_wide(b, c->mean_x);
    put_wide(b, c->mean_y);
    put_wide(b, c->m2x);
    put_wide(b, c->m2y);
    put_wide(b, c->cxy);
}

static void put_counts(struct enc *b, const struct health_counts *h)
{
    put_i64(b, h->served);
    put_i64(b, h->outcomes);
    put_i64(b, h->successes);
    put_i64(b, h->errors);
    put_i64(b, h->latencies);
    for (size_t i = 0; i < HEALTH_BUCKETS; i++)
        put_u32(b, h->hist[i]);
}

static void put_seq(struct enc *b, const sy_srm_seq_t *t)
{
    put_u64(b, t->n);
    put_f64(b, t->concentration);
    for (size_t i = 0; i < SY_STATS_MAX_ARMS; i++)
        put_f64(b, t->theta[i]);
    for (size_t i = 0; i < SY_STATS_MAX_ARMS; i++)
        put_i64(b, t->counts[i]);
    put_f64(b, t->lnb_prior);
    put_u8(b, t->untested);
    put_f64(b, t->log_e_before);
    put_f64(b, t->log_bf);
    put_f64(b, t->p);
}

static uint64_t fnv_more(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

/* The check of a checkpoint of experiment `id` at place `seq`: a row moved to another
 * experiment (two of the same variants) or to another place (events replayed twice or
 * never) does not decode, as a damaged state does not. Version 3 hashes id and place
 * little-endian, version 2 in the host's order. */
static uint64_t fnv(bool le, int64_t id, int64_t seq, const unsigned char *p, size_t n)
{
    int64_t row[2] = {id, seq};
    unsigned char x[16];
    if (le) {
        for (size_t i = 0; i < 16; i++)
            x[i] = (unsigned char)((uint64_t)row[i / 8] >> (8 * (i % 8)));
    } else {
        memcpy(x, row, sizeof(x));
    }
    return fnv_more(fnv_more(0xcbf29ce484222325u, x, sizeof(x)), p, n);
}

int sy_exp_ckpt_encode(const struct experiment *e, int64_t seq, unsigned char **out, size_t *len)
{
    if (WIDE_DIGITS != 113)
        return -ENOTSUP;
    struct enc b = {0};
    put(&b, "SYCK", 4);
    put_u32(&b, VERSION);
    put_u32(&b, WIDE_DIGITS);
    put_u32(&b, SY_STATS_MAX_ARMS);
    put_u32(&b, e->n_arms);
    for (size_t k = 0; k < e->n_arms; k++) {
        const struct arm *a = &e->arms[k];
        size_t kl = strlen(a->key);
        put_u8(&b, kl);
        put(&b, a->key, kl);
        put_i64(&b, a->a.units);
        put_i64(&b, a->a.conversions);
        put_i64(&b, a->a.errors);
        put_i64(&b, a->a.crossovers);
        put_welford(&b, &a->a.value);
        put_welford(&b, &a->a.latency);
        put_i64(&b, a->a.covariates);
        put_comoments(&b, &a->a.cov);
        put_counts(&b, &a->a.win);
        put_counts(&b, &a->a.recent);
    }
    put_u64(&b, e->replayed_changes);
    put_i64(&b, e->replayed_changes ? e->changes[e->replayed_changes - 1].at_ms : 0);
    put_u32(&b, (uint32_t)e->watched);
    put_u8(&b, e->has_baseline);
    put_f64(&b, e->baseline.success_rate);
    put_f64(&b, e->baseline.error_rate);
    put_u8(&b, e->baseline.has_p95);
    put_f64(&b, e->baseline.p95_ms);
    put_u8(&b, e->baseline.has_retry_rate);
    put_f64(&b, e->baseline.retry_rate);
    put_i64(&b, e->baseline.outcomes);
    put_i64(&b, e->baseline.requests);
    put_u8(&b, e->srm_on);
    put_i64(&b, e->srm_grace_until);
    for (size_t k = 0; k < e->n_arms; k++)
        put_i64(&b, e->srm_fed[k]);
    for (size_t i = 0; i < SY_SRM_MIX; i++)
        put_seq(&b, &e->srm.t[i]);
    put_f64(&b, e->srm.log_e);
    put_f64(&b, e->srm.p);
    put_u64(&b, e->units.n);
    for (size_t i = 0; i < e->units.cap; i++) {
        const struct unit *u = &e->units.slots[i];
        if (!u->len)
            continue;
        put_u16(&b, u->len);
        put(&b, e->units.pool + u->off, u->len);
        put_u8(&b, (uint8_t)u->variant);
        put_u8(&b, u->flags);
        put_f64(&b, u->value);
        put_f64(&b, u->cov);
    }
    if (!b.oom)
        put_u64(&b, fnv(true, e->id, seq, b.p, b.len));
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
    bool le; /* version 3 or 4: little-endian; else version 2: the host's order */
    bool v4; /* version 4: CUPED's fields */
    int version;
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

/* An unsigned number of `n` bytes (1, 2, 4 or 8): little-endian, or as the host held it. */
static uint64_t get_uint(struct dec *d, size_t n)
{
    unsigned char x[8];
    uint64_t v = 0;
    get(d, x, n);
    if (d->le) {
        for (size_t i = n; i-- > 0;)
            v = v << 8 | x[i];
        return v;
    }
    if (n == 1) {
        v = x[0];
    } else if (n == 2) {
        uint16_t h;
        memcpy(&h, x, 2);
        v = h;
    } else if (n == 4) {
        uint32_t h;
        memcpy(&h, x, 4);
        v = h;
    } else {
        memcpy(&v, x, 8);
    }
    return v;
}

static uint8_t get_u8(struct dec *d)
{
    return (uint8_t)get_uint(d, 1);
}

static uint16_t get_u16(struct dec *d)
{
    return (uint16_t)get_uint(d, 2);
}

static uint32_t get_u32(struct dec *d)
{
    return (uint32_t)get_uint(d, 4);
}

static uint64_t get_u64(struct dec *d)
{
    return get_uint(d, 8);
}

/* Two's complement back to signed, without an implementation-defined conversion. */
static int64_t get_i64(struct dec *d)
{
    uint64_t u = get_u64(d);
    int64_t v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

static int32_t get_i32(struct dec *d)
{
    uint32_t u = get_u32(d);
    int32_t v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

static int8_t get_i8(struct dec *d)
{
    uint8_t u = get_u8(d);
    int8_t v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

static double get_f64(struct dec *d)
{
    uint64_t bits = get_u64(d);
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

static sy_wide_t get_wide(struct dec *d)
{
    sy_wide_t v;
    if (!d->le) {
        get(d, &v, sizeof(v));
        return v;
    }
    unsigned char x[16], host[sizeof(v)];
    get(d, x, 16);
    memset(host, 0, sizeof(host));
    for (size_t i = 0; i < 16 && sizeof(v) == 16; i++)
        host[WIDE_BYTE(i)] = x[i];
    memcpy(&v, host, sizeof(v));
    return v;
}

static void get_welford(struct dec *d, sy_welford_t *w)
{
    w->n = get_i64(d);
    w->mean = get_wide(d);
    w->m2 = get_wide(d);
}

static void get_comoments(struct dec *d, sy_comoments_t *c)
{
    c->n = get_i64(d);
    c->mean_x = get_wide(d);
    c->mean_y = get_wide(d);
    c->m2x = get_wide(d);
    c->m2y = get_wide(d);
    c->cxy = get_wide(d);
}

static void get_counts(struct dec *d, struct health_counts *h)
{
    h->served = get_i64(d);
    h->outcomes = get_i64(d);
    h->successes = get_i64(d);
    h->errors = get_i64(d);
    h->latencies = get_i64(d);
    for (size_t i = 0; i < HEALTH_BUCKETS; i++)
        h->hist[i] = get_u32(d);
}

static void get_seq(struct dec *d, sy_srm_seq_t *t)
{
    uint64_t n = get_u64(d);
    d->bad |= n > SY_STATS_MAX_ARMS;
    t->n = (size_t)n;
    t->concentration = get_f64(d);
    for (size_t i = 0; i < SY_STATS_MAX_ARMS; i++)
        t->theta[i] = get_f64(d);
    for (size_t i = 0; i < SY_STATS_MAX_ARMS; i++)
        t->counts[i] = get_i64(d);
    t->lnb_prior = get_f64(d);
    t->untested = get_u8(d) != 0;
    t->log_e_before = get_f64(d);
    t->log_bf = get_f64(d);
    t->p = get_f64(d);
}

/* The header and the variants: the same experiment's, by key and order. */
static void get_arms(struct dec *d, struct experiment *e)
{
    char magic[4];
    get(d, magic, 4);
    d->bad |= memcmp(magic, "SYCK", 4) != 0;
    if (d->le) {
        d->bad |=
            get_u32(d) != (uint32_t)d->version || get_u32(d) != WIDE_DIGITS || WIDE_DIGITS != 113;
    } else {
        d->bad |= get_u32(d) != VERSION_V2 || get_u32(d) != 0x01020304u ||
                  get_u32(d) != sizeof(sy_wide_t);
    }
    uint32_t max = get_u32(d), n_arms = get_u32(d);
    d->bad |= max != SY_STATS_MAX_ARMS || n_arms != e->n_arms;
    for (size_t k = 0; !d->bad && k < e->n_arms; k++) {
        struct arm *a = &e->arms[k];
        uint8_t kl = get_u8(d);
        char key[256];
        get(d, key, kl);
        d->bad |= kl != strlen(a->key) || memcmp(key, a->key, kl) != 0;
        a->a.units = get_i64(d);
        a->a.conversions = get_i64(d);
        a->a.errors = get_i64(d);
        a->a.crossovers = get_i64(d);
        get_welford(d, &a->a.value);
        get_welford(d, &a->a.latency);
        a->a.covariates = 0;
        a->a.cov = (sy_comoments_t){0};
        if (d->v4) {
            a->a.covariates = get_i64(d);
            get_comoments(d, &a->a.cov);
            d->bad |= a->a.covariates < 0 || a->a.covariates > a->a.units ||
                      (a->a.cov.n != 0 && a->a.cov.n != a->a.units);
        }
        get_counts(d, &a->a.win);
        get_counts(d, &a->a.recent);
    }
}

/* Which version `data` is: 4 or 3 when its version field reads so little-endian, 2 when it
 * reads 2 in the host's order, else 0. */
static int version_of(const unsigned char *data, size_t len)
{
    if (len < 8)
        return 0;
    const unsigned char *v = data + 4;
    uint32_t host;
    memcpy(&host, v, 4);
    uint32_t le =
        (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
    if (le == VERSION || le == VERSION_V3)
        return (int)le;
    return host == VERSION_V2 ? VERSION_V2 : 0;
}

int sy_exp_ckpt_decode(struct experiment *e, int64_t seq, const void *data, size_t len)
{
    struct dec d = {.p = data, .len = len};
    int version = version_of(d.p, len);
    if (len < 8 || !version)
        return -EIO;
    d.le = version >= VERSION_V3;
    d.v4 = version == VERSION;
    d.version = version;
    d.len = len - 8;
    /* the check sum, written as the version writes numbers */
    struct dec sum = {.p = d.p + d.len, .len = 8, .le = d.le};
    if (get_u64(&sum) != fnv(d.le, e->id, seq, d.p, d.len))
        return -EIO;
    get_arms(&d, e);
    uint64_t begun = get_u64(&d);
    int64_t last_at = get_i64(&d);
    /* the changes it had begun are the first of those the store holds now */
    d.bad |= begun > e->n_changes || (begun && e->changes[begun - 1].at_ms != last_at);
    e->replayed_changes = d.bad ? 0 : (size_t)begun;
    e->watched = get_i32(&d);
    d.bad |= e->watched < -1 || e->watched >= (int)e->n_arms;
    e->has_baseline = get_u8(&d) != 0;
    e->baseline.success_rate = get_f64(&d);
    e->baseline.error_rate = get_f64(&d);
    e->baseline.has_p95 = get_u8(&d) != 0;
    e->baseline.p95_ms = get_f64(&d);
    e->baseline.has_retry_rate = get_u8(&d) != 0;
    e->baseline.retry_rate = get_f64(&d);
    e->baseline.outcomes = get_i64(&d);
    e->baseline.requests = get_i64(&d);
    e->srm_on = get_u8(&d) != 0;
    e->srm_grace_until = get_i64(&d);
    for (size_t k = 0; k < e->n_arms; k++)
        e->srm_fed[k] = get_i64(&d);
    for (size_t i = 0; i < SY_SRM_MIX; i++)
        get_seq(&d, &e->srm.t[i]);
    e->srm.log_e = get_f64(&d);
    e->srm.p = get_f64(&d);
    uint64_t n = get_u64(&d);
    for (uint64_t i = 0; !d.bad && i < n; i++) {
        uint16_t ul = get_u16(&d);
        if (d.bad || ul > d.len - d.at) {
            d.bad = true;
            break;
        }
        const char *id = (const char *)d.p + d.at;
        d.at += ul;
        int8_t variant = get_i8(&d);
        uint8_t flags = get_u8(&d);
        double value = get_f64(&d);
        double cov = d.v4 ? get_f64(&d) : 0;
        int rc = d.bad ? -EIO : sy_exp_unit_restore(e, id, ul, variant, flags, value, cov);
        if (rc == -ENOMEM)
            return rc;
        d.bad |= rc < 0;
    }
    if (d.bad || d.at != d.len)
        return -EIO;
    if (e->layer.name[0]) /* the holdout's sums are its units' (layer.c) */
        sy_exp_holdout_rebuild(e);
    return 0;
}
