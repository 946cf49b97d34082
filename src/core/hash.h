/* hash.h - stable bucketing: which bucket a unit falls in, bit for bit as flagd.
 *
 * A unit (a user id, a request key) hashes to a 32-bit value with MurmurHash3 x86_32,
 * seed 0, over the UTF-8 bytes of its bucketing value; flagd (twmb/murmur3) and every
 * OpenFeature SDK that follows it get the same numbers. Its bucket among W (the sum of
 * the integer weights) is floor(h * W / 2^32), and each weighted entry owns the
 * contiguous range [sum before it, sum after it) in written order: growing one entry's
 * weight moves exactly the units whose bucket falls in the range it gains. This is
 * flagd's current "v2" rule (../shared/conformance/flagd/README.md, "fractional,
 * exactly").
 *
 * Pure: no allocation, no globals. Thread-safe.
 */
#ifndef SY_CORE_HASH_H
#define SY_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Largest total weight a split may have (flagd refuses more). */
#define SY_HASH_MAX_TOTAL 2147483647u

/* MurmurHash3 x86_32 with seed 0 of `len` bytes (len <= UINT32_MAX: callers cap the
 * length of a bucketing value long before that). */
uint32_t sy_hash_murmur3(const void *bytes, size_t len);

/* The same hash of bytes given in pieces: the hash of their concatenation. A state is a
 * plain value, so one taken over a prefix (a flag's key) can be kept, copied and continued
 * (with each unit's targeting key) without copying the prefix again or hashing it twice. */
typedef struct sy_murmur3 {
    uint32_t h;     /* over the whole 4-byte blocks so far */
    uint32_t tail;  /* the bytes past them, little-endian */
    uint32_t ntail; /* how many: 0 to 3 */
    uint32_t len;   /* bytes in all (mod 2^32, as the hash counts them) */
} sy_murmur3_t;
#define SY_MURMUR3_INIT ((sy_murmur3_t){0, 0, 0, 0})
void sy_murmur3_add(sy_murmur3_t *m, const void *bytes, size_t len);
uint32_t sy_murmur3_end(const sy_murmur3_t *m);

/* The bucket of hash `h` among `total` buckets: ((uint64_t)h * total) >> 32, which lies in
 * [0, total) for total >= 1 and is 0 for total 0. Exact integer arithmetic: dividing by
 * 2^32 - 1, or in single precision, would move units at the boundaries. Inline: it is on
 * every fractional evaluation. */
static inline uint32_t sy_hash_bucket(uint32_t h, uint32_t total)
{
    return (uint32_t)(((uint64_t)h * total) >> 32);
}

/* Index of the entry that owns `bucket` among `n` weights: the first whose running sum of
 * weights is greater than `bucket`. Returns -1 when none does (bucket >= the total, which
 * includes a total of 0). Zero weights own nothing. The caller has checked that the
 * weights sum to at most SY_HASH_MAX_TOTAL. */
static inline ptrdiff_t sy_hash_pick(const uint32_t *weights, size_t n, uint32_t bucket)
{
    /* The owner's index is the number of running sums at or below the bucket (they never
     * decrease). Counted without an early exit: a new unit's bucket is unpredictable, and
     * a mispredicted branch costs more than the few additions of a split's entries. */
    uint64_t sum = 0;
    size_t i = 0;
    for (size_t j = 0; j < n; j++) {
        sum += weights[j];
        i += sum <= bucket;
    }
    return i < n ? (ptrdiff_t)i : -1;
}

#endif
