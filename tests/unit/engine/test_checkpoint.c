/* test_checkpoint.c - an experiment's checkpoint (engine/checkpoint.c), the bytes
 * themselves: version 4 is the same bytes on any host (a small known state, CUPED's
 * covariates and co-moments included, against its encoding written out by hand from the
 * format's table, little-endian), versions 3 and 2 (as databases written before hold them)
 * decode to the same state, and a damaged one, a moved one or one of another version or
 * width is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "engine/experiment_int.h"

#define ID  7   /* the experiment's id */
#define SEQ 122 /* the checkpoint's place */

/* ---- the known state ------------------------------------------------------------------ */

/* An experiment as a start has it before its checkpoint: variants "a" and "b", its one
 * allocation change at 0x0102030405060708 ms, nothing counted. */
static struct experiment *fresh(void)
{
    struct experiment *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    e->arms = calloc(2, sizeof(*e->arms));
    e->changes = calloc(1, sizeof(*e->changes));
    assert_true(e->arms && e->changes);
    e->id = ID;
    e->n_arms = 2;
    e->watched = -1;
    strcpy(e->arms[0].key, "a");
    strcpy(e->arms[1].key, "b");
    e->changes[0].at_ms = 0x0102030405060708;
    e->n_changes = e->cap_changes = 1;
    return e;
}

static void drop(struct experiment *e)
{
    sy_exp_units_free(&e->units);
    free(e->changes);
    free(e->arms);
    free(e);
}

/* Numbers chosen so that each has a byte pattern to see: negatives, a u32 of four
 * different bytes, doubles and wide numbers with exact binary values. */
static struct experiment *known(bool cov)
{
    struct experiment *e = fresh();
    struct agg *a = &e->arms[0].a, *b = &e->arms[1].a;
    a->units = 3;
    a->conversions = 1;
    a->errors = 2;
    a->value = (sy_welford_t){.n = 3, .mean = 1.5, .m2 = 0.5};
    a->win.served = 3;
    a->win.outcomes = 1;
    a->win.successes = 1;
    a->win.errors = 2;
    a->win.hist[HEALTH_BUCKETS - 1] = 0x01020304;
    b->units = 1;
    b->crossovers = -2;
    b->value = (sy_welford_t){.n = 1, .mean = -2.0};
    e->replayed_changes = 1;
    e->watched = -1;
    e->has_baseline = true;
    e->baseline.success_rate = 0.5;
    e->baseline.error_rate = 0.25;
    e->baseline.has_p95 = true;
    e->baseline.p95_ms = 1.5;
    e->baseline.outcomes = 10;
    e->baseline.requests = 256;
    e->srm_on = true;
    e->srm_grace_until = -1;
    e->srm_fed[0] = 3;
    e->srm_fed[1] = 1;
    sy_srm_seq_t *t = &e->srm.t[0];
    t->n = 2;
    t->concentration = 100.0;
    t->theta[0] = t->theta[1] = 0.5;
    t->counts[0] = 3;
    t->counts[1] = 1;
    t->lnb_prior = -1.0;
    t->untested = true;
    t->p = 1.0;
    e->srm.p = 1.0;
    if (cov) { /* CUPED: "u1" came with a covariate of 0.5 */
        b->covariates = 1;
        b->cov = (sy_comoments_t){.n = 1, .mean_x = 0.5, .mean_y = -2.0};
    }
    assert_int_equal(sy_exp_unit_restore(e, "u1", 2, 1, CONVERTED | CROSSED | (cov ? COVARIATE : 0),
                                         -2.0, cov ? 0.5 : 0),
                     0);
    return e;
}

/* ---- its version 3 encoding, by hand ---------------------------------------------------- */

struct gold {
    unsigned char b[16384];
    size_t n;
};

static void lit(struct gold *g, const char *s, size_t n)
{
    assert_true(g->n + n <= sizeof(g->b));
    memcpy(g->b + g->n, s, n);
    g->n += n;
}

/* Adjacent literals, so that a hex escape never swallows the next character. */
#define LIT(g, s) lit(g, s, sizeof(s) - 1)

static void zeros(struct gold *g, size_t n)
{
    assert_true(g->n + n <= sizeof(g->b));
    memset(g->b + g->n, 0, n);
    g->n += n;
}

/* FNV-1a 64, the check's hash, written again here. */
static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h;
}

/* The check of version 3: FNV-1a 64 of id and place (i64 LE each), then the bytes; the
 * sum itself LE. */
static void check_le(struct gold *g, int64_t id, int64_t seq)
{
    unsigned char row[16], sum[8];
    for (size_t i = 0; i < 8; i++) {
        row[i] = (unsigned char)((uint64_t)id >> (8 * i));
        row[8 + i] = (unsigned char)((uint64_t)seq >> (8 * i));
    }
    uint64_t h = fnv1a(fnv1a(0xcbf29ce484222325u, row, 16), g->b, g->n);
    for (size_t i = 0; i < 8; i++)
        sum[i] = (unsigned char)(h >> (8 * i));
    lit(g, (const char *)sum, 8);
}

/* An SRM test of the mixture with nothing in it: n, concentration, theta x 64, counts x
 * 64, lnb_prior, untested, log_e_before, log_bf, p. */
#define EMPTY_SEQ (8 + 8 + 64 * 8 + 64 * 8 + 8 + 1 + 8 + 8 + 8)
/* health counts with nothing in them: 5 x i64, 156 x u32 */
#define EMPTY_COUNTS (5 * 8 + HEALTH_BUCKETS * 4)

/* CUPED's fields of a variant in version 4 with nothing in them: covariates, n, 5 wide */
#define EMPTY_COV (8 + 8 + 5 * 16)

/* The known state in `version` 3 or 4; with `cov` (version 4) its covariates. */
static void golden_of(struct gold *g, int version, bool cov)
{
    g->n = 0;
    /* "SYCK", version, wide 113 (binary128), SY_STATS_MAX_ARMS 64, 2 variants */
    LIT(g, "SYCK");
    if (version == 4)
        LIT(g, "\x04\x00\x00\x00");
    else
        LIT(g, "\x03\x00\x00\x00");
    LIT(g, "\x71\x00\x00\x00"
           "\x40\x00\x00\x00"
           "\x02\x00\x00\x00");
    /* variant "a": units 3, conversions 1, errors 2, crossovers 0 */
    LIT(g, "\x01"
           "a");
    LIT(g, "\x03\x00\x00\x00\x00\x00\x00\x00"
           "\x01\x00\x00\x00\x00\x00\x00\x00"
           "\x02\x00\x00\x00\x00\x00\x00\x00");
    zeros(g, 8);
    /* value: n 3, mean 1.5 (binary128 0x3fff8000...), m2 0.5 (0x3ffe0000...) */
    LIT(g, "\x03\x00\x00\x00\x00\x00\x00\x00");
    zeros(g, 13);
    LIT(g, "\x80\xff\x3f");
    zeros(g, 14);
    LIT(g, "\xfe\x3f");
    zeros(g, 8 + 16 + 16); /* latency */
    if (version == 4)
        zeros(g, EMPTY_COV);
    /* win: served 3, outcomes 1, successes 1, errors 2, latencies 0, the last bucket
     * 0x01020304 */
    LIT(g, "\x03\x00\x00\x00\x00\x00\x00\x00"
           "\x01\x00\x00\x00\x00\x00\x00\x00"
           "\x01\x00\x00\x00\x00\x00\x00\x00"
           "\x02\x00\x00\x00\x00\x00\x00\x00");
    zeros(g, 8 + (HEALTH_BUCKETS - 1) * 4);
    LIT(g, "\x04\x03\x02\x01");
    zeros(g, EMPTY_COUNTS); /* recent */
    /* variant "b": units 1, crossovers -2, value n 1, mean -2 (0xc000...), m2 0 */
    LIT(g, "\x01"
           "b");
    LIT(g, "\x01\x00\x00\x00\x00\x00\x00\x00");
    zeros(g, 16);
    LIT(g, "\xfe\xff\xff\xff\xff\xff\xff\xff");
    LIT(g, "\x01\x00\x00\x00\x00\x00\x00\x00");
    zeros(g, 15);
    LIT(g, "\xc0");
    zeros(g, 16);
    zeros(g, 8 + 16 + 16);
    if (version == 4 && cov) {
        /* covariates 1; cov: n 1, mean_x 0.5 (0x3ffe...), mean_y -2 (0xc000...), 0, 0, 0 */
        LIT(g, "\x01\x00\x00\x00\x00\x00\x00\x00"
               "\x01\x00\x00\x00\x00\x00\x00\x00");
        zeros(g, 14);
        LIT(g, "\xfe\x3f");
        zeros(g, 15);
        LIT(g, "\xc0");
        zeros(g, 3 * 16);
    } else if (version == 4) {
        zeros(g, EMPTY_COV);
    }
    zeros(g, 2 * EMPTY_COUNTS);
    /* one change begun, the last at 0x0102030405060708; watched -1 */
    LIT(g, "\x01\x00\x00\x00\x00\x00\x00\x00"
           "\x08\x07\x06\x05\x04\x03\x02\x01"
           "\xff\xff\xff\xff");
    /* baseline: yes, success 0.5, errors 0.25, p95 yes 1.5, retry no 0, outcomes 10,
     * requests 256 */
    LIT(g, "\x01");
    zeros(g, 6);
    LIT(g, "\xe0\x3f");
    zeros(g, 6);
    LIT(g, "\xd0\x3f"
           "\x01");
    zeros(g, 6);
    LIT(g, "\xf8\x3f"
           "\x00");
    zeros(g, 8);
    LIT(g, "\x0a\x00\x00\x00\x00\x00\x00\x00"
           "\x00\x01\x00\x00\x00\x00\x00\x00");
    /* SRM: on, grace until -1, fed 3 and 1 */
    LIT(g, "\x01"
           "\xff\xff\xff\xff\xff\xff\xff\xff"
           "\x03\x00\x00\x00\x00\x00\x00\x00"
           "\x01\x00\x00\x00\x00\x00\x00\x00");
    /* its first test: n 2, concentration 100, theta 0.5 0.5, counts 3 1, lnb_prior -1,
     * untested, log_e_before 0, log_bf 0, p 1 */
    LIT(g, "\x02\x00\x00\x00\x00\x00\x00\x00");
    zeros(g, 6);
    LIT(g, "\x59\x40");
    zeros(g, 6);
    LIT(g, "\xe0\x3f");
    zeros(g, 6);
    LIT(g, "\xe0\x3f");
    zeros(g, 62 * 8);
    LIT(g, "\x03\x00\x00\x00\x00\x00\x00\x00"
           "\x01\x00\x00\x00\x00\x00\x00\x00");
    zeros(g, 62 * 8);
    zeros(g, 6);
    LIT(g, "\xf0\xbf"
           "\x01");
    zeros(g, 16 + 6);
    LIT(g, "\xf0\x3f");
    zeros(g, 3 * EMPTY_SEQ); /* the other three */
    /* the mixture's log_e 0, p 1 */
    zeros(g, 8 + 6);
    LIT(g, "\xf0\x3f");
    /* one unit: "u1", variant 1, converted and crossed (and a covariate), value -2 */
    LIT(g, "\x01\x00\x00\x00\x00\x00\x00\x00"
           "\x02\x00"
           "u1"
           "\x01");
    if (cov)
        LIT(g, "\x0d");
    else
        LIT(g, "\x05");
    zeros(g, 7);
    LIT(g, "\xc0");
    if (version == 4 && cov) { /* covariate 0.5 */
        zeros(g, 6);
        LIT(g, "\xe0\x3f");
    } else if (version == 4) {
        zeros(g, 8);
    }
    check_le(g, ID, SEQ);
}

/* The known state with its covariates, in version 4. */
static void golden(struct gold *g)
{
    golden_of(g, 4, true);
}

static void assert_bytes_equal(const unsigned char *got, size_t got_len, const unsigned char *want,
                               size_t want_len)
{
    for (size_t i = 0; i < got_len && i < want_len; i++)
        if (got[i] != want[i])
            fail_msg("byte %zu is 0x%02x, want 0x%02x", i, got[i], want[i]);
    if (got_len != want_len)
        fail_msg("%zu bytes, want %zu", got_len, want_len);
}

static void assert_encodes_as(const struct experiment *e, bool cov)
{
    static struct gold g;
    golden_of(&g, 4, cov);
    unsigned char *b;
    size_t len;
    assert_int_equal(sy_exp_ckpt_encode(e, SEQ, &b, &len), 0);
    assert_bytes_equal(b, len, g.b, g.n);
    free(b);
}

static void assert_encodes_as_golden(const struct experiment *e)
{
    assert_encodes_as(e, true);
}

static void a_v4_checkpoint_is_the_same_bytes_on_any_host(void **state)
{
    (void)state;
    struct experiment *e = known(true);
    assert_encodes_as_golden(e);
    drop(e);
}

static void a_v4_checkpoint_decodes_to_the_state_it_holds(void **state)
{
    (void)state;
    static struct gold g;
    golden(&g);
    struct experiment *e = fresh();
    assert_int_equal(sy_exp_ckpt_decode(e, SEQ, g.b, g.n), 0);
    assert_true(e->arms[0].a.value.mean == 1.5 && e->arms[0].a.value.m2 == 0.5);
    assert_true(e->arms[1].a.value.mean == -2.0);
    assert_int_equal(e->arms[1].a.crossovers, -2);
    assert_int_equal(e->arms[0].a.win.hist[HEALTH_BUCKETS - 1], 0x01020304);
    assert_int_equal(e->replayed_changes, 1);
    assert_int_equal(e->watched, -1);
    assert_int_equal(e->srm_grace_until, -1);
    assert_true(e->baseline.p95_ms == 1.5 && e->srm.t[0].lnb_prior == -1.0);
    assert_int_equal(e->units.n, 1);
    assert_int_equal(e->arms[1].a.covariates, 1);
    assert_true(e->arms[1].a.cov.n == 1 && e->arms[1].a.cov.mean_x == 0.5 &&
                e->arms[1].a.cov.mean_y == -2.0);
    for (size_t i = 0; i < e->units.cap; i++)
        if (e->units.slots[i].len)
            assert_true(e->units.slots[i].cov == 0.5 && (e->units.slots[i].flags & COVARIATE));
    assert_encodes_as_golden(e); /* and nothing else in it */
    drop(e);
}

/* Version 3, written before CUPED: no co-moments, no covariates. */
static void a_v3_checkpoint_still_decodes_to_the_same_state(void **state)
{
    (void)state;
    static struct gold g;
    golden_of(&g, 3, false);
    struct experiment *e = fresh();
    assert_int_equal(sy_exp_ckpt_decode(e, SEQ, g.b, g.n), 0);
    assert_true(e->arms[0].a.value.mean == 1.5 && e->arms[1].a.cov.n == 0);
    assert_encodes_as(e, false); /* the same state, written as version 4 */
    drop(e);
}

/* ---- version 2: the host's order, as the encoder wrote it before version 3 --------------- */

struct enc2 {
    unsigned char b[16384];
    size_t n;
};

static void put2(struct enc2 *b, const void *v, size_t n)
{
    assert_true(b->n + n <= sizeof(b->b));
    memcpy(b->b + b->n, v, n);
    b->n += n;
}

#define PUT2(b, type, v)                                                                           \
    do {                                                                                           \
        type put_v_ = (type)(v);                                                                   \
        put2(b, &put_v_, sizeof(put_v_));                                                          \
    } while (0)

static void put2_welford(struct enc2 *b, const sy_welford_t *w)
{
    PUT2(b, int64_t, w->n);
    put2(b, &w->mean, sizeof(w->mean));
    put2(b, &w->m2, sizeof(w->m2));
}

static void put2_counts(struct enc2 *b, const struct health_counts *h)
{
    PUT2(b, int64_t, h->served);
    PUT2(b, int64_t, h->outcomes);
    PUT2(b, int64_t, h->successes);
    PUT2(b, int64_t, h->errors);
    PUT2(b, int64_t, h->latencies);
    put2(b, h->hist, sizeof(h->hist));
}

static void put2_seq(struct enc2 *b, const sy_srm_seq_t *t)
{
    PUT2(b, uint64_t, t->n);
    PUT2(b, double, t->concentration);
    put2(b, t->theta, sizeof(t->theta));
    put2(b, t->counts, sizeof(t->counts));
    PUT2(b, double, t->lnb_prior);
    PUT2(b, uint8_t, t->untested);
    PUT2(b, double, t->log_e_before);
    PUT2(b, double, t->log_bf);
    PUT2(b, double, t->p);
}

/* Version 2 of `e` (one unit at most, so that the order of the units is known), with
 * `order` as its byte-order mark and its check over the host's id and place. */
static void encode_v2(const struct experiment *e, uint32_t order, struct enc2 *b)
{
    b->n = 0;
    put2(b, "SYCK", 4);
    PUT2(b, uint32_t, 2);
    PUT2(b, uint32_t, order);
    PUT2(b, uint32_t, sizeof(sy_wide_t));
    PUT2(b, uint32_t, SY_STATS_MAX_ARMS);
    PUT2(b, uint32_t, e->n_arms);
    for (size_t k = 0; k < e->n_arms; k++) {
        const struct arm *a = &e->arms[k];
        size_t kl = strlen(a->key);
        PUT2(b, uint8_t, kl);
        put2(b, a->key, kl);
        PUT2(b, int64_t, a->a.units);
        PUT2(b, int64_t, a->a.conversions);
        PUT2(b, int64_t, a->a.errors);
        PUT2(b, int64_t, a->a.crossovers);
        put2_welford(b, &a->a.value);
        put2_welford(b, &a->a.latency);
        put2_counts(b, &a->a.win);
        put2_counts(b, &a->a.recent);
    }
    PUT2(b, uint64_t, e->replayed_changes);
    PUT2(b, int64_t, e->replayed_changes ? e->changes[e->replayed_changes - 1].at_ms : 0);
    PUT2(b, int32_t, e->watched);
    PUT2(b, uint8_t, e->has_baseline);
    PUT2(b, double, e->baseline.success_rate);
    PUT2(b, double, e->baseline.error_rate);
    PUT2(b, uint8_t, e->baseline.has_p95);
    PUT2(b, double, e->baseline.p95_ms);
    PUT2(b, uint8_t, e->baseline.has_retry_rate);
    PUT2(b, double, e->baseline.retry_rate);
    PUT2(b, int64_t, e->baseline.outcomes);
    PUT2(b, int64_t, e->baseline.requests);
    PUT2(b, uint8_t, e->srm_on);
    PUT2(b, int64_t, e->srm_grace_until);
    put2(b, e->srm_fed, e->n_arms * sizeof(e->srm_fed[0]));
    for (size_t i = 0; i < SY_SRM_MIX; i++)
        put2_seq(b, &e->srm.t[i]);
    PUT2(b, double, e->srm.log_e);
    PUT2(b, double, e->srm.p);
    PUT2(b, uint64_t, e->units.n);
    for (size_t i = 0; i < e->units.cap; i++) {
        const struct unit *u = &e->units.slots[i];
        if (!u->len)
            continue;
        PUT2(b, uint16_t, u->len);
        put2(b, e->units.pool + u->off, u->len);
        PUT2(b, int8_t, u->variant);
        PUT2(b, uint8_t, u->flags);
        PUT2(b, double, u->value);
    }
    int64_t row[2] = {e->id, SEQ};
    uint64_t h =
        fnv1a(fnv1a(0xcbf29ce484222325u, (const unsigned char *)row, sizeof(row)), b->b, b->n);
    PUT2(b, uint64_t, h);
}

static void a_v2_checkpoint_still_decodes_to_the_same_state(void **state)
{
    (void)state;
    static struct enc2 v2;
    struct experiment *e = known(false), *back = fresh();
    encode_v2(e, 0x01020304u, &v2);
    assert_int_equal(sy_exp_ckpt_decode(back, SEQ, v2.b, v2.n), 0);
    assert_encodes_as(back, false); /* the same state, written as version 4 */
    drop(back);
    drop(e);
}

/* A version 2 checkpoint of a host of the other byte order: its mark reads 0x04030201. */
static void a_v2_checkpoint_of_another_byte_order_is_refused(void **state)
{
    (void)state;
    static struct enc2 v2;
    struct experiment *e = known(false), *back = fresh();
    encode_v2(e, 0x04030201u, &v2);
    assert_int_equal(sy_exp_ckpt_decode(back, SEQ, v2.b, v2.n), -EIO);
    drop(back);
    drop(e);
}

/* ---- refusals ------------------------------------------------------------------------- */

static int decode_fresh(int64_t seq, const unsigned char *p, size_t n)
{
    struct experiment *e = fresh();
    int rc = sy_exp_ckpt_decode(e, seq, p, n);
    drop(e);
    return rc;
}

static void a_damaged_v4_checkpoint_is_refused(void **state)
{
    (void)state;
    static struct gold g;
    golden(&g);
    assert_int_equal(decode_fresh(SEQ, g.b, g.n), 0);
    /* every byte changed, one at a time (the check's own bytes too) */
    for (size_t i = 0; i < g.n; i++) {
        g.b[i] ^= 0x10;
        if (decode_fresh(SEQ, g.b, g.n) != -EIO)
            fail_msg("byte %zu of %zu changed decodes", i, g.n);
        g.b[i] ^= 0x10;
    }
    /* every length short of the whole */
    for (size_t n = 0; n < g.n; n++)
        if (decode_fresh(SEQ, g.b, n) != -EIO)
            fail_msg("the first %zu bytes of %zu decode", n, g.n);
    /* another place, or another experiment's */
    assert_int_equal(decode_fresh(SEQ + 1, g.b, g.n), -EIO);
    struct experiment *other = fresh();
    other->id = ID + 1;
    assert_int_equal(sy_exp_ckpt_decode(other, SEQ, g.b, g.n), -EIO);
    drop(other);
}

/* A sound check over a header this build does not read: another version, another width
 * of sy_wide_t, a version 4 whose version field is in big-endian order, a version 4 read as
 * a version 3. */
static void another_version_or_width_is_refused(void **state)
{
    (void)state;
    static const struct {
        size_t at;
        const char *bytes;
    } edits[] = {
        {4, "\x05\x00\x00\x00"}, /* version 5 */
        {4, "\x00\x00\x00\x04"}, /* version 4 in big-endian order */
        {4, "\x03\x00\x00\x00"}, /* version 3: without CUPED's fields, it does not parse */
        {8, "\x40\x00\x00\x00"}, /* wide: 64 digits (x87's long double) */
        {8, "\x10\x00\x00\x00"}, /* wide: v2's sizeof */
    };
    static struct gold g;
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        golden(&g);
        memcpy(g.b + edits[i].at, edits[i].bytes, 4);
        g.n -= 8;
        check_le(&g, ID, SEQ);
        if (decode_fresh(SEQ, g.b, g.n) != -EIO)
            fail_msg("edit %zu decodes", i);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_v4_checkpoint_is_the_same_bytes_on_any_host),
        cmocka_unit_test(a_v4_checkpoint_decodes_to_the_state_it_holds),
        cmocka_unit_test(a_v3_checkpoint_still_decodes_to_the_same_state),
        cmocka_unit_test(a_v2_checkpoint_still_decodes_to_the_same_state),
        cmocka_unit_test(a_v2_checkpoint_of_another_byte_order_is_refused),
        cmocka_unit_test(a_damaged_v4_checkpoint_is_refused),
        cmocka_unit_test(another_version_or_width_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
