/* test_hash.c - tests of src/core/hash.c. */
#include "../harness.h"

#include <stdio.h>
#include <string.h>

#include <murmurhash.h>

#include "core/hash.h"
#include "core/stats.h"

static uint32_t hash_str(const char *s)
{
    return sy_hash_murmur3(s, strlen(s));
}

static void murmur3_matches_flagd_on_ascii_and_utf8_bytes(void **state)
{
    (void)state;
    /* ../shared/conformance/flagd/oracle/hash.json (twmb/murmur3, what flagd uses). */
    assert_int_equal(hash_str(""), 0);
    assert_int_equal(hash_str("a"), 1009084850u);
    assert_int_equal(hash_str("\xc3\xa9"), 269551495u); /* "é" as UTF-8, not UTF-16 */
}

/* Every length from 0 to 300 (every tail, every block count), bytes of every value,
 * against Debian's libmurmurhash, an implementation of the same definition by others. */
static void murmur3_matches_libmurmurhash_at_every_length(void **state)
{
    (void)state;
    unsigned char buf[300];
    uint32_t x = 2463534242u; /* xorshift32 */
    for (int round = 0; round < 20; round++)
        for (size_t len = 0; len <= sizeof(buf); len++) {
            for (size_t i = 0; i < len; i++) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                buf[i] = round == 0 ? (unsigned char)(0xff - i) : (unsigned char)x;
            }
            uint32_t want[1];
            lmmh_x86_32(buf, (unsigned int)len, 0, want);
            if (sy_hash_murmur3(buf, len) != want[0])
                fail_msg("length %zu, round %d: %08x, libmurmurhash %08x", len, round,
                         sy_hash_murmur3(buf, len), want[0]);
        }
}

/* In pieces: split anywhere, in up to three pieces (empty ones too), a kept state copied
 * and continued, the hash is the whole's. */
static void murmur3_in_pieces_is_the_hash_of_the_whole(void **state)
{
    (void)state;
    unsigned char buf[40];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 37 + 11);
    for (size_t len = 0; len <= sizeof(buf); len++)
        for (size_t a = 0; a <= len; a++)
            for (size_t b = a; b <= len; b++) {
                sy_murmur3_t m = SY_MURMUR3_INIT;
                sy_murmur3_add(&m, buf, a);
                sy_murmur3_t kept = m; /* a prefix's state, continued twice */
                sy_murmur3_add(&m, buf + a, b - a);
                sy_murmur3_add(&m, buf + b, len - b);
                assert_int_equal(sy_murmur3_end(&m), sy_hash_murmur3(buf, len));
                sy_murmur3_add(&kept, buf + a, len - a);
                assert_int_equal(sy_murmur3_end(&kept), sy_hash_murmur3(buf, len));
            }
    sy_murmur3_t m = SY_MURMUR3_INIT;
    sy_murmur3_add(&m, "split3", 6);
    sy_murmur3_add(&m, "user-42", 7);
    assert_int_equal(sy_murmur3_end(&m), sy_hash_murmur3("split3user-42", 13));
}

static void bucket_is_exact_at_the_extremes(void **state)
{
    (void)state;
    assert_int_equal(sy_hash_bucket(0, 100), 0);
    assert_int_equal(sy_hash_bucket(UINT32_MAX, 100), 99);
    assert_int_equal(sy_hash_bucket(UINT32_MAX, SY_HASH_MAX_TOTAL), SY_HASH_MAX_TOTAL - 1);
    assert_int_equal(sy_hash_bucket(UINT32_MAX, 0), 0);
    /* 2^31 is exactly half of the hash space: bucket 50 of 100, not 49. */
    assert_int_equal(sy_hash_bucket(UINT32_C(1) << 31, 100), 50);
    assert_int_equal(sy_hash_bucket((UINT32_C(1) << 31) - 1, 100), 49);
}

static void pick_gives_each_entry_a_contiguous_range_in_order(void **state)
{
    (void)state;
    const uint32_t w[] = {10, 20, 70};
    const struct {
        uint32_t bucket;
        ptrdiff_t want;
    } cases[] = {{0, 0}, {9, 0}, {10, 1}, {29, 1}, {30, 2}, {99, 2}, {100, -1}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(sy_hash_pick(w, 3, cases[i].bucket), cases[i].want);
}

static void pick_skips_zero_weights_and_refuses_an_empty_total(void **state)
{
    (void)state;
    const uint32_t w[] = {0, 5, 0, 5}, none[] = {0, 0};
    assert_int_equal(sy_hash_pick(w, 4, 0), 1);
    assert_int_equal(sy_hash_pick(w, 4, 5), 3);
    assert_int_equal(sy_hash_pick(none, 2, 0), -1);
    assert_int_equal(sy_hash_pick(w, 0, 0), -1);
}

/* Which entry the unit "user-<i>" of flag "f" lands in. */
static ptrdiff_t place(int i, const uint32_t *w, size_t n, uint32_t total)
{
    char key[48];
    int len = snprintf(key, sizeof(key), "fuser-%d", i);
    return sy_hash_pick(w, n, sy_hash_bucket(sy_hash_murmur3(key, (size_t)len), total));
}

static void growing_a_weight_moves_only_the_units_in_the_range_it_gains(void **state)
{
    (void)state;
    const uint32_t before[] = {60, 40}, after[] = {80, 20};
    int moved = 0;
    for (int i = 0; i < 20000; i++) {
        ptrdiff_t a = place(i, before, 2, 100), b = place(i, after, 2, 100);
        if (a == 0)
            assert_int_equal(b, 0); /* the growing variant keeps everyone it had */
        moved += a != b;
    }
    /* About a fifth of the units must move (those in buckets 60..79), and only those. */
    assert_true(moved > 3600 && moved < 4400);
}

static void a_three_way_split_is_uniform_by_our_own_srm_check(void **state)
{
    (void)state;
    const uint32_t w[] = {1, 1, 1};
    int64_t counts[3] = {0, 0, 0};
    for (int i = 0; i < 300000; i++)
        counts[place(i, w, 3, 3)]++;
    const double weights[] = {1, 1, 1};
    sy_srm_t srm;
    assert_int_equal(sy_stats_srm(counts, weights, 3, 0.001, &srm, NULL), 0);
    assert_false(srm.mismatch);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(murmur3_matches_flagd_on_ascii_and_utf8_bytes),
    cmocka_unit_test(murmur3_matches_libmurmurhash_at_every_length),
    cmocka_unit_test(murmur3_in_pieces_is_the_hash_of_the_whole),
    cmocka_unit_test(bucket_is_exact_at_the_extremes),
    cmocka_unit_test(pick_gives_each_entry_a_contiguous_range_in_order),
    cmocka_unit_test(pick_skips_zero_weights_and_refuses_an_empty_total),
    cmocka_unit_test(growing_a_weight_moves_only_the_units_in_the_range_it_gains),
    cmocka_unit_test(a_three_way_split_is_uniform_by_our_own_srm_check),
};

SY_TEST_MAIN(tests)
