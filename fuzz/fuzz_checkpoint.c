/* fuzz_checkpoint.c - libFuzzer target: bytes -> an experiment's checkpoint decoder
 * (engine/checkpoint.c, what retention stores and a start restores).
 *
 * Input: one byte choosing the experiment's variants (2 to 4 of them, "v0" ...), then a
 * checkpoint (of experiment 7 at place 122) without its check sum, which the target appends, so
 * that the bytes reach the decoder's fields instead of stopping at the sum (the input is also tried
 * as it is: a damaged sum must be refused). The sum is appended as the input's version writes it:
 * little-endian when its version field reads 4 or 3 so (versions 4 and 3), else in the host's order
 * (version 2, still read). Whatever the bytes, decoding must not crash, leak or trip a sanitizer. A
 * checkpoint it takes must encode again (as version 4), and that encoding must decode to the same
 * state: the
 * same bytes up to the units (whose order is the table's) and as many units, of the same length in
 * all.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/experiment_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ID  7   /* the experiment's id */
#define SEQ 122 /* the checkpoint's place */

/* The check sum checkpoint.c appends: FNV-1a 64 of (id, place) and then the bytes; versions 4
 * and 3 hash id and place little-endian and write the sum so, version 2 in the host's order. */
static void append_sum(unsigned char *p, size_t n)
{
    bool le = n >= 8 && (p[4] == 3 || p[4] == 4) && p[5] == 0 && p[6] == 0 && p[7] == 0;
    int64_t row[2] = {ID, SEQ};
    unsigned char x[16];
    for (size_t i = 0; i < 16; i++)
        x[i] = le ? (unsigned char)((uint64_t)row[i / 8] >> (8 * (i % 8)))
                  : ((const unsigned char *)row)[i];
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < sizeof(x); i++)
        h = (h ^ x[i]) * 0x100000001b3u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    if (le) {
        for (size_t i = 0; i < 8; i++)
            p[n + i] = (unsigned char)(h >> (8 * i));
    } else {
        memcpy(p + n, &h, 8);
    }
}

/* An experiment as a start has it before its checkpoint: `n` variants, nothing counted. */
static struct experiment *fresh(size_t n)
{
    struct experiment *e = calloc(1, sizeof(*e));
    if (!e || !(e->arms = calloc(n, sizeof(*e->arms))))
        abort();
    e->id = ID;
    e->n_arms = n;
    e->watched = -1;
    for (size_t k = 0; k < n; k++)
        snprintf(e->arms[k].key, sizeof(e->arms[k].key), "v%zu", k);
    return e;
}

static void drop(struct experiment *e)
{
    sy_exp_units_free(&e->units);
    free(e->arms);
    free(e);
}

/* The length of `e`'s encoding before its units: its encoding without them, less the
 * units' count and the check sum. */
static size_t head_len(const struct experiment *e)
{
    struct experiment bare = *e;
    bare.units = (struct units){0};
    unsigned char *b;
    size_t len;
    if (sy_exp_ckpt_encode(&bare, SEQ, &b, &len) < 0)
        abort();
    free(b);
    return len - 16;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = 2 + data[0] % 3;
    struct experiment *raw = fresh(n);
    (void)sy_exp_ckpt_decode(raw, SEQ, data + 1, size - 1); /* as it is: the sum mostly refuses */
    drop(raw);

    unsigned char *in = malloc(size - 1 + 8);
    if (!in)
        abort();
    memcpy(in, data + 1, size - 1);
    append_sum(in, size - 1);
    struct experiment *e = fresh(n);
    int rc = sy_exp_ckpt_decode(e, SEQ, in, size - 1 + 8);
    free(in);
    if (rc != 0 && rc != -EIO && rc != -ENOMEM)
        abort();
    if (rc == 0) {
        unsigned char *a, *b;
        size_t alen, blen;
        if (sy_exp_ckpt_encode(e, SEQ, &a, &alen) < 0)
            abort();
        struct experiment *again = fresh(n);
        if (sy_exp_ckpt_decode(again, SEQ, a, alen) != 0 ||
            sy_exp_ckpt_encode(again, SEQ, &b, &blen) < 0)
            abort(); /* what it wrote, it must read */
        size_t head = head_len(e);
        if (alen != blen || again->units.n != e->units.n || memcmp(a, b, head) != 0)
            abort();
        free(a);
        free(b);
        drop(again);
    }
    drop(e);
    return 0;
}
