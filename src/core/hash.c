/* hash.c - MurmurHash3 bucketing; see hash.h. */
#include "core/hash.h"

#include <assert.h>

#include <murmurhash.h>

uint32_t sy_hash_murmur3(const void *bytes, size_t len)
{
    assert(len <= UINT32_MAX);
    uint32_t out[1];
    /* Debian's libmurmurhash over the UTF-8 bytes equals twmb/murmur3's StringSum32,
     * what flagd uses (checked on every input of hash.json). */
    lmmh_x86_32(bytes, (unsigned int)len, 0, out);
    return out[0];
}
