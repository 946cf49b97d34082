/* fuzz_h1.c - libFuzzer target: HTTP/1.1 request heads and chunked bodies (http/h1.h).
 *
 * Input: any bytes. They are parsed as a request head (whole, then again arriving in two
 * pieces: the answer must not depend on how the bytes arrive), and what follows the head
 * (or the whole input) is decoded as a chunked body, whole and byte by byte with the
 * compaction h1.c does between reads, and followed without decoding (sy_h1_chunks, the
 * proxy's), whole and byte by byte: the same answer, the same end and the same data.
 * Crashes, overflows, UB and disagreements abort.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1.h"

#define MAX_HEAD 4096
#define MAX_BODY 65536

static int head(const uint8_t *data, size_t size, size_t cut, sy_h1_head_t *h, int *status)
{
    char *buf = malloc(size + 1);
    if (!buf)
        abort();
    memcpy(buf, data, size);
    size_t scanned = 0;
    int rc = 0;
    if (cut < size)
        rc = sy_h1_parse_head(buf, cut, MAX_HEAD, &scanned, h, status);
    if (rc == 0 && !(cut < size && *status == 431))
        rc = sy_h1_parse_head(buf, size, MAX_HEAD, &scanned, h, status);
    if (rc > 0) {
        if ((size_t)rc > size || (size_t)rc > MAX_HEAD || !h->path || !h->method_name)
            abort();
        for (size_t i = 0; i < h->n_fields; i++)
            if (strlen(h->fields[i].name) != h->fields[i].name_len ||
                strlen(h->fields[i].value) != h->fields[i].value_len)
                abort();
        if (h->chunked && h->content_length >= 0)
            abort();
    } else if (rc < 0 && *status < 400) {
        abort();
    }
    free(buf);
    return rc;
}

/* Decodes data in pieces of `step`; the decoded body into out (size + 1 bytes), and for one
 * piece, the raw length at the end into *raw. */
static int dechunk(const uint8_t *data, size_t size, size_t step, size_t *out_len, char *out,
                   size_t *raw)
{
    char *buf = malloc(size + 1);
    if (!buf)
        abort();
    sy_h1_dechunk_t d = {0};
    size_t have = 0, fed = 0;
    int rc = 0;
    while (rc == 0 && fed < size) {
        size_t n = size - fed < step ? size - fed : step;
        memcpy(buf + have, data + fed, n);
        have += n;
        fed += n;
        rc = sy_h1_dechunk(&d, buf, have, MAX_BODY);
        if (d.out > d.in || d.in > have || d.out > MAX_BODY)
            abort();
        if (rc == 0) {
            memmove(buf + d.out, buf + d.in, have - d.in);
            have -= d.in - d.out;
            d.in = d.out;
        }
    }
    *out_len = d.out;
    *raw = d.in;
    memcpy(out, buf, d.out);
    free(buf);
    return rc;
}

struct sink {
    char *buf;
    size_t n;
};

static void collect(void *arg, const char *p, size_t n)
{
    struct sink *s = arg;
    memcpy(s->buf + s->n, p, n);
    s->n += n;
}

/* Follows data as a chunked body in pieces of `step`: the bytes of it into *used, its data
 * into s. */
static int chunks(const uint8_t *data, size_t size, size_t step, size_t *used, struct sink *s)
{
    sy_h1_dechunk_t d = {0};
    size_t fed = 0;
    int rc = 0;
    *used = 0;
    while (rc == 0 && fed < size) {
        size_t n = size - fed < step ? size - fed : step, u = 0;
        rc = sy_h1_chunks(&d, (const char *)data + fed, n, &u, collect, s);
        if (rc >= 0 && (u > n || (rc == 0 && u != n)))
            abort();
        *used += u;
        fed += n;
    }
    if (rc >= 0 && d.out != s->n)
        abort();
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sy_h1_head_t h1, h2;
    int s1 = 0, s2 = 0;
    int whole = head(data, size, size, &h1, &s1);
    int split = head(data, size, size / 2, &h2, &s2);
    /* A head over the limit may be refused early in pieces; otherwise the same answer. */
    if (whole != split && !(split == -E2BIG || whole == -E2BIG))
        abort();
    if (whole > 0 &&
        (h1.method != h2.method || h1.content_length != h2.content_length ||
         h1.chunked != h2.chunked || h1.keep_alive != h2.keep_alive || h1.n_fields != h2.n_fields))
        abort();

    const uint8_t *body = whole > 0 ? data + whole : data;
    size_t blen = whole > 0 ? size - (size_t)whole : size;
    size_t a = 0, b = 0, raw = 0, raw1 = 0;
    char *da = malloc(blen + 1), *db = malloc(blen + 1), *ca = malloc(blen + 1),
         *cb = malloc(blen + 1);
    if (!da || !db || !ca || !cb)
        abort();
    int ra = dechunk(body, blen, blen ? blen : 1, &a, da, &raw);
    int rb = dechunk(body, blen, 1, &b, db, &raw1);
    if (ra != rb || (ra == 1 && (a != b || memcmp(da, db, a) != 0)))
        abort();
    /* following it without decoding: the same, but for the size bound it has not */
    struct sink sa = {ca, 0}, sb = {cb, 0};
    size_t ua = 0, ub = 0;
    int fa = chunks(body, blen, blen ? blen : 1, &ua, &sa);
    int fb = chunks(body, blen, 1, &ub, &sb);
    if (fa != fb || (fa == 1 && (ua != ub || sa.n != sb.n || memcmp(ca, cb, sa.n) != 0)))
        abort();
    if (ra != -E2BIG &&
        (fa != ra || (ra == 1 && (ua != raw || sa.n != a || memcmp(ca, da, a) != 0))))
        abort();
    free(da);
    free(db);
    free(ca);
    free(cb);
    return 0;
}
