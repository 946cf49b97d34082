/* suite_flagd.c - the "flagd" suite of sy-conformance: the oracle vectors of
 * ../shared/conformance/flagd/oracle, by the rules of that folder's README.
 *
 * Kinds so far:
 *   hash   murmur3_x86_32 of the UTF-8 bytes of "input" must equal the expected number
 *          exactly, and so must every bucket (hash x W) >> 32 in "buckets". The
 *          "flagd_core_js" number (flagd-core's UTF-16 hashing) is not ours to match: we
 *          follow flagd, as the README says.
 * Any other kind (evaluate, resolve_all, load) is not supported yet: the whole file is
 * reported and every case in it counted as failed, never skipped in silence.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "runner.h"

/* Compares the "utf8_hex" of a case with the bytes jansson decoded, so a hash mismatch
 * cannot come from reading the input wrong. */
static bool hex_matches(const char *hex, const char *bytes, size_t len)
{
    if (!hex || strlen(hex) != 2 * len)
        return false;
    for (size_t i = 0; i < len; i++) {
        char pair[3] = {hex[2 * i], hex[2 * i + 1], '\0'};
        if (strtoul(pair, NULL, 16) != (unsigned char)bytes[i])
            return false;
    }
    return true;
}

static bool hash_case(const char *file, const json_t *c)
{
    const char *id = json_string_value(json_object_get(c, "id"));
    const json_t *in = json_object_get(c, "input");
    const json_t *expected = json_object_get(c, "expected");
    const json_t *want_h = json_object_get(expected, "murmur3_x86_32");
    id = id ? id : "(no id)";
    if (!json_is_string(in) || !json_is_integer(want_h)) {
        printf("FAIL %s: %s: needs a string \"input\" and an integer murmur3_x86_32\n", file, id);
        return false;
    }
    const char *bytes = json_string_value(in);
    size_t len = json_string_length(in);
    if (!hex_matches(json_string_value(json_object_get(c, "utf8_hex")), bytes, len)) {
        printf("FAIL %s: %s: input bytes differ from utf8_hex\n", file, id);
        return false;
    }
    uint32_t h = sy_hash_murmur3(bytes, len);
    if ((json_int_t)h != json_integer_value(want_h)) {
        printf("FAIL %s: %s: murmur3 expected %lld, got %u\n", file, id,
               (long long)json_integer_value(want_h), h);
        return false;
    }
    const char *w_text;
    const json_t *want_b;
    json_object_foreach(json_object_get(expected, "buckets"), w_text, want_b)
    {
        unsigned long w = strtoul(w_text, NULL, 10);
        uint32_t b = sy_hash_bucket(h, (uint32_t)w);
        if (w > SY_HASH_MAX_TOTAL || (json_int_t)b != json_integer_value(want_b)) {
            printf("FAIL %s: %s: bucket of %s expected %lld, got %u\n", file, id, w_text,
                   (long long)json_integer_value(want_b), b);
            return false;
        }
    }
    return true;
}

void sy_conf_flagd_cases(const char *path, const json_t *doc, const json_t *cases,
                         struct sy_conf_tally *t)
{
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    kind = kind ? kind : "evaluate";
    if (strcmp(kind, "hash") != 0) {
        t->failed += (unsigned)json_array_size(cases);
        printf("FAIL %s: kind \"%s\" is not supported yet (%zu cases)\n", path, kind,
               json_array_size(cases));
        return;
    }
    for (size_t i = 0; i < json_array_size(cases); i++) {
        if (hash_case(path, json_array_get(cases, i)))
            t->passed++;
        else
            t->failed++;
    }
}
