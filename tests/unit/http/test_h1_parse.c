/* test_h1_parse.c - request heads and chunked bodies as h1 reads them, and the URL
 * helpers of http/: what is accepted, what each bad request is answered with, and that
 * input arriving in any pieces gives the same result. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "http/h1.h"

/* Parses `text` (copied: the parser writes into it) in one piece. */
static int parse(const char *text, sy_h1_head_t *h, int *status, char *buf, size_t cap)
{
    size_t len = strlen(text);
    assert_true(len < cap);
    memcpy(buf, text, len + 1);
    size_t scanned = 0;
    return sy_h1_parse_head(buf, len, 4096, &scanned, h, status);
}

static void a_simple_request(void **state)
{
    (void)state;
    char buf[512];
    sy_h1_head_t h;
    int status;
    const char *req = "POST /ofrep/v1/evaluate/flags/x?a=1&b HTTP/1.1\r\nHost: h:80\r\n"
                      "Content-Length: 12\r\nX-Empty:\r\nAuthorization:  Bearer t  \r\n\r\nBODY";
    int rc = parse(req, &h, &status, buf, sizeof(buf));
    assert_int_equal(rc, (int)(strstr(req, "\r\n\r\n") - req) + 4);
    assert_int_equal(h.method, SY_POST);
    assert_string_equal(h.method_name, "POST");
    assert_string_equal(h.path, "/ofrep/v1/evaluate/flags/x");
    assert_string_equal(h.query, "a=1&b");
    assert_int_equal(h.minor, 1);
    assert_int_equal(h.content_length, 12);
    assert_true(h.keep_alive);
    assert_false(h.chunked);
    assert_string_equal(sy_h1_head_field(&h, "host"), "h:80");
    assert_string_equal(sy_h1_head_field(&h, "AUTHORIZATION"), "Bearer t");
    assert_string_equal(sy_h1_head_field(&h, "x-empty"), "");
    assert_null(sy_h1_head_field(&h, "Cookie"));
}

static void pieces_give_the_same_head(void **state)
{
    (void)state;
    const char *req = "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    size_t len = strlen(req);
    for (size_t cut = 0; cut < len; cut++) {
        char buf[256];
        memcpy(buf, req, len + 1);
        sy_h1_head_t h;
        int status;
        size_t scanned = 0;
        assert_int_equal(sy_h1_parse_head(buf, cut, 4096, &scanned, &h, &status), 0);
        assert_true(scanned <= cut);
        assert_int_equal(sy_h1_parse_head(buf, len, 4096, &scanned, &h, &status), (int)len);
        assert_string_equal(h.path, "/healthz");
        assert_false(h.keep_alive);
    }
}

static void lenient_where_harmless(void **state)
{
    (void)state;
    char buf[512];
    sy_h1_head_t h;
    int status;
    /* LF alone ends lines; empty lines before the request line are skipped. */
    assert_true(parse("\r\n\nGET /a HTTP/1.1\nHost: x\n\n", &h, &status, buf, sizeof(buf)) > 0);
    assert_string_equal(h.path, "/a");
    assert_string_equal(sy_h1_head_field(&h, "Host"), "x");
    /* absolute-form: the path after the authority */
    assert_true(parse("GET http://example.com:8080/p/q?z=1 HTTP/1.1\r\nHost: e\r\n\r\n", &h,
                      &status, buf, sizeof(buf)) > 0);
    assert_string_equal(h.path, "/p/q");
    assert_string_equal(h.query, "z=1");
    assert_true(parse("GET http://example.com HTTP/1.1\r\nHost: e\r\n\r\n", &h, &status, buf,
                      sizeof(buf)) > 0);
    assert_string_equal(h.path, "/");
    /* HTTP/1.0: no Host needed, closes unless asked */
    assert_true(parse("GET / HTTP/1.0\r\n\r\n", &h, &status, buf, sizeof(buf)) > 0);
    assert_false(h.keep_alive);
    assert_true(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h, &status, buf,
                      sizeof(buf)) > 0);
    assert_true(h.keep_alive);
    /* Expect, chunked */
    assert_true(parse("PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n"
                      "Expect: 100-Continue\r\n\r\n",
                      &h, &status, buf, sizeof(buf)) > 0);
    assert_true(h.chunked);
    assert_true(h.expect_continue);
    assert_int_equal(h.content_length, -1);
    /* the same Content-Length twice is one length */
    assert_true(parse("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                      &h, &status, buf, sizeof(buf)) > 0);
    assert_int_equal(h.content_length, 5);
    assert_int_equal(h.method, SY_PUT);
    assert_true(parse("BREW / HTTP/1.1\r\nHost: x\r\n\r\n", &h, &status, buf, sizeof(buf)) > 0);
    assert_int_equal(h.method, SY_OTHER_METHOD);
}

static void bad_requests_and_their_status(void **state)
{
    (void)state;
    static const struct {
        const char *req;
        int rc, status;
    } cases[] = {
        {"GET /a HTTP/1.1\r\n\r\n", -EINVAL, 400}, /* no Host */
        {"GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", -EINVAL, 400},
        {"GET /a HTTP/1.1\r\nHost : a\r\n\r\n", -EINVAL, 400},
        {"GET /a HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", -EINVAL, 400},
        {"GET /a HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", -EINVAL, 400},
        {"GET /a HTTP/1.1\r\nHost: a\rb\r\n\r\n", -EINVAL, 400},
        {"GET /a HTTP/1.1\r\nHost: a\x01\r\n\r\n", -EINVAL, 400},
        {"GET /a HTTP/1.1\r\nHo(st: a\r\n\r\n", -EINVAL, 400},
        {"GET  /a HTTP/1.1\r\nHost: a\r\n\r\n", -EINVAL, 400},
        {"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", -EINVAL, 400},
        {"GET a HTTP/1.1\r\nHost: a\r\n\r\n", -EINVAL, 400},
        {"GET /a HTTP/1.1 \r\nHost: a\r\n\r\n", -EINVAL, 400},
        {"GET /a HTTPS/1.1\r\nHost: a\r\n\r\n", -EINVAL, 400},
        {"G@T /a HTTP/1.1\r\nHost: a\r\n\r\n", -EINVAL, 400},
        {"GET /a HTTP/2.0\r\nHost: a\r\n\r\n", -EPROTO, 505},
        {"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", -EINVAL,
         400},
        {"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", -EINVAL, 400},
        {"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", -EINVAL, 400},
        {"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n\r\n", -EINVAL,
         400},
        {"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
         -EINVAL, 400},
        {"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
         "Transfer-Encoding: chunked\r\n\r\n",
         -EINVAL, 400},
        {"POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", -EINVAL, 400},
        {"POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", -ENOSYS, 501},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[512];
        sy_h1_head_t h;
        int status = 0;
        int rc = parse(cases[i].req, &h, &status, buf, sizeof(buf));
        if (rc != cases[i].rc || status != cases[i].status)
            fail_msg("case %zu: rc %d status %d, want %d %d", i, rc, status, cases[i].rc,
                     cases[i].status);
    }
}

static void heads_too_large(void **state)
{
    (void)state;
    /* Incomplete and already over the limit. */
    char big[6000];
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /", 5);
    sy_h1_head_t h;
    int status;
    size_t scanned = 0;
    assert_int_equal(sy_h1_parse_head(big, sizeof(big), 4096, &scanned, &h, &status), -E2BIG);
    assert_int_equal(status, 431);
    /* Too many fields. */
    char many[4096];
    int n = snprintf(many, sizeof(many), "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < SY_H1_MAX_HEADERS; i++)
        n += snprintf(many + n, sizeof(many) - (size_t)n, "X-%d: v\r\n", i);
    n += snprintf(many + n, sizeof(many) - (size_t)n, "\r\n");
    scanned = 0;
    assert_int_equal(sy_h1_parse_head(many, (size_t)n, 4096, &scanned, &h, &status), -E2BIG);
    assert_int_equal(status, 431);
}

/* Decodes `raw` fed in pieces of `step` bytes, compacting between pieces as h1.c does. */
static int dechunk_in_steps(const char *raw, size_t step, size_t max, char *out, size_t *out_len,
                            size_t *consumed)
{
    size_t total = strlen(raw);
    char *buf = malloc(total + 1);
    assert_non_null(buf);
    sy_h1_dechunk_t d = {0};
    size_t have = 0, fed = 0, dropped = 0;
    int rc = 0;
    while (rc == 0 && fed < total) {
        size_t n = total - fed < step ? total - fed : step;
        memcpy(buf + have, raw + fed, n);
        have += n;
        fed += n;
        rc = sy_h1_dechunk(&d, buf, have, max);
        if (rc == 0) {
            memmove(buf + d.out, buf + d.in, have - d.in);
            have -= d.in - d.out;
            dropped += d.in - d.out;
            d.in = d.out;
        }
    }
    if (rc == 1) {
        memcpy(out, buf, d.out);
        *out_len = d.out;
        *consumed = d.in + dropped;
    }
    free(buf);
    return rc;
}

static void chunked_bodies_in_any_pieces(void **state)
{
    (void)state;
    const char *raw = "5;name=val\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n"
                      "0\r\nTrailer: x\r\nOther: y\r\n\r\nNEXT";
    size_t body_raw = strlen(raw) - 4;
    for (size_t step = 1; step <= strlen(raw); step++) {
        char out[64];
        size_t len = 0, consumed = 0;
        assert_int_equal(dechunk_in_steps(raw, step, 1024, out, &len, &consumed), 1);
        assert_int_equal(len, 16);
        assert_memory_equal(out, "hello 0123456789", 16);
        assert_int_equal(consumed, body_raw);
    }
    /* upper-case hex, no trailers */
    char out[64];
    size_t len, consumed;
    assert_int_equal(
        dechunk_in_steps("B\r\nhello world\r\n0\r\n\r\n", 3, 1024, out, &len, &consumed), 1);
    assert_int_equal(len, 11);
    /* an empty body */
    assert_int_equal(dechunk_in_steps("0\r\n\r\n", 1, 1024, out, &len, &consumed), 1);
    assert_int_equal(len, 0);
    assert_int_equal(consumed, 5);
}

static void bad_and_oversized_chunks(void **state)
{
    (void)state;
    char out[64];
    size_t len, consumed;
    static const char *const bad[] = {
        "\r\n",                 /* no size */
        ";ext\r\n",             /* no size before an extension */
        "g\r\n",                /* not hex */
        "5\r\nhelloX\r\n",      /* data not followed by CRLF */
        "5\rX",                 /* CR not followed by LF */
        "1000000000000000\r\n", /* 2^60: refused before arithmetic could wrap */
        "0\r\n\rX",             /* the final CR without its LF */
        /* A bare LF anywhere in the framing: an upstream framing by CR LF alone would read
         * what follows as another request (smuggling). */
        "5\nhello\r\n0\r\n\r\n",      /* ends a size line */
        "5;ext\nhello\r\n0\r\n\r\n",  /* ends an extension */
        "5\r\nhello\n0\r\n\r\n",      /* ends the data */
        "0\r\nTrailer: x\n\r\n",      /* ends a trailer */
        "0\r\n\n",                    /* ends the body */
        "0\r\nTrailer: x\ry\r\n\r\n", /* a bare CR in a trailer */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (dechunk_in_steps(bad[i], 2, 1024, out, &len, &consumed) != -EINVAL)
            fail_msg("case %zu was accepted", i);
    /* a trailer section that never ends: refused past SY_H1_MAX_TRAILERS */
    char *endless = malloc(SY_H1_MAX_TRAILERS + 4096);
    assert_non_null(endless);
    size_t o = (size_t)sprintf(endless, "0\r\n");
    while (o < SY_H1_MAX_TRAILERS + 1024)
        o += (size_t)sprintf(endless + o, "X-Pad: %0100d\r\n", 0);
    assert_int_equal(dechunk_in_steps(endless, 512, 1024, out, &len, &consumed), -EINVAL);
    free(endless);
    /* over the limit, known from the size line before the data arrives */
    assert_int_equal(dechunk_in_steps("10\r\n", 1, 15, out, &len, &consumed), -E2BIG);
    assert_int_equal(dechunk_in_steps("8\r\n12345678\r\n8\r\n", 64, 15, out, &len, &consumed),
                     -E2BIG);
    assert_int_equal(
        dechunk_in_steps("8\r\n12345678\r\n7\r\n1234567\r\n0\r\n\r\n", 5, 15, out, &len, &consumed),
        1);
    assert_int_equal(len, 15);
}

struct sink {
    char buf[64];
    size_t n;
};

static void collect(void *arg, const char *p, size_t n)
{
    struct sink *s = arg;
    assert_true(s->n + n <= sizeof(s->buf));
    memcpy(s->buf + s->n, p, n);
    s->n += n;
}

/* sy_h1_chunks over `raw` in pieces of `step`: its answer, the body's raw length, its data. */
static int follow_in_steps(const char *raw, size_t step, size_t *used, struct sink *s)
{
    sy_h1_dechunk_t d = {0};
    size_t total = strlen(raw), fed = 0;
    int rc = 0;
    *used = 0;
    s->n = 0;
    while (rc == 0 && fed < total) {
        size_t n = total - fed < step ? total - fed : step, u = 0;
        rc = sy_h1_chunks(&d, raw + fed, n, &u, collect, s);
        if (rc == 0)
            assert_int_equal(u, n); /* all of a piece before the end is the body's */
        *used += u;
        fed += n;
    }
    return rc;
}

static void chunks_followed_without_decoding(void **state)
{
    (void)state;
    const char *raw = "5;name=val\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n"
                      "0\r\nTrailer: x\r\n\r\nGET / HTTP/1.1\r\n";
    size_t body_raw = strlen(raw) - strlen("GET / HTTP/1.1\r\n");
    for (size_t step = 1; step <= strlen(raw); step++) {
        struct sink s;
        size_t used;
        assert_int_equal(follow_in_steps(raw, step, &used, &s), 1);
        assert_int_equal(used, body_raw); /* what follows is the next request's */
        assert_int_equal(s.n, 16);
        assert_memory_equal(s.buf, "hello 0123456789", 16);
    }
    struct sink s;
    size_t used;
    assert_int_equal(follow_in_steps("5\r\nhel", 2, &used, &s), 0); /* more to come */
    assert_int_equal(follow_in_steps("zz\r\n", 1, &used, &s), -EINVAL);
    assert_int_equal(follow_in_steps("5\r\nhelloX", 3, &used, &s), -EINVAL);
    assert_int_equal(follow_in_steps("5\nhello\r\n0\r\n\r\n", 1, &used, &s), -EINVAL);
    assert_int_equal(follow_in_steps("0\r\n\nGET / HTTP/1.1\r\n", 7, &used, &s), -EINVAL);
    /* no bound: a chunk past any decoding limit is followed */
    assert_int_equal(follow_in_steps("FFFFFFFF\r\n", 4, &used, &s), 0);
}

static void percent_decoding_and_queries(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(sy_pct_decode("a%20b%2Fc", 9, false, out, sizeof(out)), 5);
    assert_string_equal(out, "a b/c");
    assert_int_equal(sy_pct_decode("a+b", 3, false, out, sizeof(out)), 3);
    assert_string_equal(out, "a+b");
    assert_int_equal(sy_pct_decode("a+b", 3, true, out, sizeof(out)), 3);
    assert_string_equal(out, "a b");
    assert_int_equal(sy_pct_decode("%4", 2, false, out, sizeof(out)), -EINVAL);
    assert_int_equal(sy_pct_decode("%zz", 3, false, out, sizeof(out)), -EINVAL);
    assert_int_equal(sy_pct_decode("0123456789abcdef", 16, false, out, sizeof(out)), -E2BIG);
    assert_int_equal(sy_pct_decode("0123456789abcde", 15, false, out, sizeof(out)), 15);

    const char *q = "resource=flag%3Ax&&limit=5&empty=&bare";
    char k[16], v[16];
    assert_int_equal(sy_query_next(&q, k, sizeof(k), v, sizeof(v)), 1);
    assert_string_equal(k, "resource");
    assert_string_equal(v, "flag:x");
    assert_int_equal(sy_query_next(&q, k, sizeof(k), v, sizeof(v)), 1);
    assert_string_equal(k, "limit");
    assert_string_equal(v, "5");
    assert_int_equal(sy_query_next(&q, k, sizeof(k), v, sizeof(v)), 1);
    assert_string_equal(k, "empty");
    assert_string_equal(v, "");
    assert_int_equal(sy_query_next(&q, k, sizeof(k), v, sizeof(v)), 1);
    assert_string_equal(k, "bare");
    assert_string_equal(v, "");
    assert_int_equal(sy_query_next(&q, k, sizeof(k), v, sizeof(v)), 0);
    const char *none = NULL;
    assert_int_equal(sy_query_next(&none, k, sizeof(k), v, sizeof(v)), 0);
    const char *bad = "a=%G0";
    assert_int_equal(sy_query_next(&bad, k, sizeof(k), v, sizeof(v)), -EINVAL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_simple_request),
        cmocka_unit_test(pieces_give_the_same_head),
        cmocka_unit_test(lenient_where_harmless),
        cmocka_unit_test(bad_requests_and_their_status),
        cmocka_unit_test(heads_too_large),
        cmocka_unit_test(chunked_bodies_in_any_pieces),
        cmocka_unit_test(bad_and_oversized_chunks),
        cmocka_unit_test(chunks_followed_without_decoding),
        cmocka_unit_test(percent_decoding_and_queries),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
