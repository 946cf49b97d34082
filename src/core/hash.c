/* hash.c - MurmurHash3 bucketing; see hash.h. */
#include "core/hash.h"

#include <assert.h>

static inline uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

/* Four bytes as a little-endian number, whatever the machine's order (one load on x86). */
static inline uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint32_t mix_block(uint32_t k)
{
    k *= 0xcc9e2d51u;
    k = rotl32(k, 15);
    return k * 0x1b873593u;
}

static inline uint32_t mix_into(uint32_t h, uint32_t k)
{
    h ^= mix_block(k);
    h = rotl32(h, 13);
    return h * 5 + 0xe6546b64u;
}

static inline uint32_t finish(uint32_t h, uint32_t tail, uint32_t ntail, uint32_t len)
{
    if (ntail)
        h ^= mix_block(tail);
    h ^= len;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

/* Austin Appleby's MurmurHash3_x86_32, seed 0, written from its definition: the same
 * numbers as twmb/murmur3's StringSum32, what flagd uses (every input of the flagd
 * conformance files' hash.json is checked). Here rather than through libmurmurhash: a
 * call into that shared library was a quarter of a 3-way split's evaluation, this is a
 * few nanoseconds. */
uint32_t sy_hash_murmur3(const void *bytes, size_t len)
{
    assert(len <= UINT32_MAX);
    const unsigned char *p = bytes;
    uint32_t h = 0;
    for (size_t i = 0; i < len / 4; i++, p += 4)
        h = mix_into(h, le32(p));
    uint32_t tail = 0;
    switch (len & 3) {
    case 3:
        tail ^= (uint32_t)p[2] << 16;
        /* fall through */
    case 2:
        tail ^= (uint32_t)p[1] << 8;
        /* fall through */
    case 1:
        tail ^= p[0];
        break;
    default:
        break;
    }
    return finish(h, tail, len & 3, (uint32_t)len);
}

void sy_murmur3_add(sy_murmur3_t *m, const void *bytes, size_t len)
{
    const unsigned char *p = bytes, *end = p + len;
    m->len += (uint32_t)len;
    while (m->ntail && p < end) { /* complete the block begun before */
        m->tail |= (uint32_t)*p++ << (8 * m->ntail);
        if (++m->ntail == 4) {
            m->h = mix_into(m->h, m->tail);
            m->tail = m->ntail = 0;
        }
    }
    for (; end - p >= 4; p += 4)
        m->h = mix_into(m->h, le32(p));
    for (; p < end; p++)
        m->tail |= (uint32_t)*p << (8 * m->ntail++);
}

uint32_t sy_murmur3_end(const sy_murmur3_t *m)
{
    return finish(m->h, m->tail, m->ntail, m->len);
}
