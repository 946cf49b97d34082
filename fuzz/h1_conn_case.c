/* h1_conn_case.c - decoding fuzz-h1-conn's input into a case; see h1_conn_case.h.
 *
 * The input (bytes past its end read as 0):
 *
 *   offset  size   meaning
 *   0       1      mode: b & 7 == 7 is FZ_RAW, anything else FZ_STRUCTURED
 *   1       2      first_buffer: 2^(b0 % 17) plus b1/256 of that, within 1 .. 64 KiB
 *   3       2      read_room: 2^(b0 % 14) plus b1/256 of that, within 1 .. 8 KiB
 *   5       1      max_head: 0 is h1's default (64 KiB), else 512 + 256 b
 *   6       1      max_body: 1 MiB + 16 b; and the bodies' budget: 2 MiB when b & 3 is 3,
 *                  else 128 KiB (big bodies are slow: most inputs go without)
 *   7       1      structured: 1 + b % 16 request descriptors follow
 *                  raw: the seed of the pieces' sizes and of the handler's answers
 *   8       8 n    structured: the descriptors (below); raw: the bytes sent, to the end
 *   8 + 8 n ...    structured: the write schedule, one op a byte (below), to the end
 *
 * A request descriptor:
 *
 *   0  method (b % 10: GET HEAD POST PUT DELETE PATCH OPTIONS PROPFIND, an all-tchar
 *      token, OPTIONS *); version (b >> 4 & 3: 1.1, 1.1 with Connection: keep-alive,
 *      1.1 with Connection: close when last, 1.0 with keep-alive but when last);
 *      line ends of the head (b >> 6: CR LF, CR LF, LF, CR LF after empty lines)
 *   1  target (b % 8: /, /healthz, /v1/events, /v1/flags/<segment>, odd pchars, a path
 *      with a query, absolute-form, a long path); b >> 3 picks its variant
 *   2  optional fields, a bit each: User-Agent, Accept, Authorization, Cookie, X-Empty,
 *      X-Odd (delimiters, inner tabs), X-Obs (obs-text), X-Long (100 .. 4000 bytes)
 *   3  field order (a rotation, b % 8); name case (b >> 3 & 3: as written, lower, upper,
 *      mixed); whitespace around values (b >> 5 & 3: one space, none, spaces and tabs,
 *      alternating); X-Dup twice and the all-tchar name (b >> 7)
 *   4  body size class (b & 7, below); framing (b >> 3 & 3: Content-Length, chunked,
 *      Content-Length zero-padded or twice, chunked spelled Chunked; 1.0 always gets
 *      Content-Length); Expect: 100-continue (b >> 5 & 1); chunk style (b >> 6: plain,
 *      zero-padded upper-case sizes, extensions, extensions and trailers)
 *   5  the body size within its class: 0, 1 + b % 16, 16 + 4 b, 1 KiB + 32 b,
 *      10000 + 16 b (14000 at 250), 16 KiB + 256 b, 64 KiB + 4 KiB b (at most 1 MiB),
 *      1 MiB - 2 KiB + 16 b (over max_body for some: 413)
 *   6  body content (b & 3: random bytes, text, request-like text, chunk-like text);
 *      b >> 2 seeds it
 *   7  the handler's answer (fz_style_*: b & 3 when, b >> 2 & 7 status or stream);
 *      copies of the request (b >> 5: 1 1 1 1 2 3 16 64), each with its own body bytes
 *
 * A schedule op, b: op = b & 7, a = b >> 3 & 15, and bit 7 set means the server does not
 * run after it (its bytes join the next op's):
 *
 *   0  to the (a % 4 + 1)-th split mark ahead      4  to the next mark, a % 8 - 4 off it
 *   1  a + 1 bytes                                 5  to the end of the current head
 *   2  a + 1 bytes one at a time, the server          (a < 8) or request (a >= 8)
 *      running after each                          6  1000 (a + 1) bytes
 *   3  2^a bytes                                   7  nothing (a < 8), or all the rest
 *
 * Split marks: each request's start, its request line's pieces, every field line, the
 * end of its head, its body's first and last bytes and middle, every chunk's size line,
 * data and CR LF (for the first 64 chunks and the last), its trailers.
 *
 * Requests stop at 256 and after one that ends the connection (413, 431, Connection:
 * close, 1.0 without keep-alive, a stream); a body past the budget shrinks to class 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h1_conn_case.h"

#define MAX_REQS     256
#define BIG_BUDGET   (2u << 20)
#define SMALL_BUDGET (128u << 10)
#define MAX_FIELDS   24
#define CHUNK_MARKS  64

const char *const fz_names[FZ_N_NAMES] = {
    "Host",       "Content-Length", "Transfer-Encoding",
    "Connection", "Expect",         "User-Agent",
    "Accept",     "Authorization",  "Cookie",
    "X-Empty",    "X-Odd",          "X-Obs",
    "X-Long",     "X-Dup",          "x-!#$%&'*+.^_`|~",
    "X-Absent",
};

enum name {
    N_HOST,
    N_CONTENT_LENGTH,
    N_TRANSFER_ENCODING,
    N_CONNECTION,
    N_EXPECT,
    N_USER_AGENT,
    N_ACCEPT,
    N_AUTHORIZATION,
    N_COOKIE,
    N_X_EMPTY,
    N_X_ODD,
    N_X_OBS,
    N_X_LONG,
    N_X_DUP,
    N_TCHARS, /* N_X_ABSENT is never sent: the echo must say so */
};

/* ---- small things ------------------------------------------------------------------- */

char *fz_buf_add(fz_buf_t *b, size_t n)
{
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q)
            abort();
        b->p = q;
        b->cap = cap;
    }
    char *at = b->p + b->len;
    b->len += n;
    b->p[b->len] = '\0'; /* always a string too: values and messages print as they are */
    return at;
}

void fz_buf_put(fz_buf_t *b, const void *p, size_t n)
{
    char *at = fz_buf_add(b, n);
    if (n)
        memcpy(at, p, n);
}

void fz_buf_puts(fz_buf_t *b, const char *s)
{
    fz_buf_put(b, s, strlen(s));
}

void fz_buf_free(fz_buf_t *b)
{
    free(b->p);
    *b = (fz_buf_t){0};
}

uint64_t fz_fnv1a(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3u;
    return h;
}

uint64_t fz_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void fz_echo(fz_buf_t *out, const char *method, const char *path, const char *query,
             const char *const values[FZ_N_NAMES], size_t body_len, uint64_t body_hash)
{
    char line[64];
    fz_buf_puts(out, method);
    fz_buf_puts(out, " ");
    fz_buf_puts(out, path);
    /* A NULL query ("/a") and an empty one ("/a?") are two things. */
    fz_buf_puts(out, query ? "\nquery ?" : "\nno query");
    if (query)
        fz_buf_puts(out, query);
    fz_buf_puts(out, "\n");
    for (size_t i = 0; i < FZ_N_NAMES; i++) {
        fz_buf_puts(out, fz_names[i]);
        if (values[i]) {
            fz_buf_puts(out, ": ");
            fz_buf_puts(out, values[i]);
            fz_buf_puts(out, "\n");
        } else {
            fz_buf_puts(out, " absent\n");
        }
    }
    snprintf(line, sizeof(line), "body %zu %016llx\n", body_len, (unsigned long long)body_hash);
    fz_buf_puts(out, line);
}

enum fz_defer fz_style_defer(uint8_t style)
{
    static const enum fz_defer when[4] = {FZ_SYNC, FZ_ACTIVE, FZ_TIMER, FZ_SYNC};
    return when[style & 3];
}

int fz_style_status(uint8_t style)
{
    static const int status[8] = {200, 200, 201, 202, 404, 204, 500, 200};
    return status[style >> 2 & 7];
}

bool fz_style_is_stream(uint8_t style)
{
    return (style >> 2 & 7) == 7;
}

/* ---- generating requests ------------------------------------------------------------ */

struct gen {
    fz_case_t *c;
    uint64_t rnd;             /* this request's randomness */
    size_t body_budget;       /* body bytes still allowed */
    bool ended;               /* a request ended the connection */
    fz_buf_t val[FZ_N_NAMES]; /* the first value of each name in this request */
    bool has[FZ_N_NAMES];
};

struct field {
    enum name name;
    const char *spelled; /* the name as sent: a case variant of fz_names[name] */
    fz_buf_t value;      /* as sent, without the whitespace around it */
};

static void mark(fz_case_t *c)
{
    size_t at = c->bytes.len;
    if (c->n_marks && c->marks[c->n_marks - 1] >= at)
        return;
    if (c->n_marks == c->cap_marks) {
        size_t cap = c->cap_marks ? 2 * c->cap_marks : 256;
        size_t *m = realloc(c->marks, cap * sizeof(*m));
        if (!m)
            abort();
        c->marks = m;
        c->cap_marks = cap;
    }
    c->marks[c->n_marks++] = at;
}

static void put(fz_case_t *c, const char *s)
{
    fz_buf_puts(&c->bytes, s);
}

static unsigned pick(struct gen *g, unsigned n)
{
    return (unsigned)(fz_rand(&g->rnd) % n);
}

/* Characters from `set`, n of them. */
static void put_chars(struct gen *g, fz_buf_t *b, const char *set, size_t n)
{
    size_t k = strlen(set);
    for (size_t i = 0; i < n; i++)
        fz_buf_put(b, &set[pick(g, (unsigned)k)], 1);
}

static const char pchars[] = "abcxyzXYZ0129-._~!$&'()*+,;=:@";

/* A path segment: pchars, an escape now and then. */
static void put_segment(struct gen *g, fz_buf_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (pick(g, 16) == 0)
            fz_buf_puts(b, pick(g, 2) ? "%2F" : "%e9");
        else
            put_chars(g, b, pchars, 1);
    }
}

static void set_value(struct gen *g, enum name n, const char *p, size_t len)
{
    if (g->has[n])
        return; /* h1 looks names up first match first */
    g->has[n] = true;
    fz_buf_put(&g->val[n], p, len);
}

static size_t body_size(uint8_t cls, uint8_t f)
{
    switch (cls & 7) {
    case 0:
        return 0;
    case 1:
        return 1 + f % 16;
    case 2:
        return 16 + 4 * (size_t)f;
    case 3:
        return 1024 + 32 * (size_t)f;
    case 4:
        return 10000 + 16 * (size_t)f;
    case 5:
        return 16384 + 256 * (size_t)f;
    case 6: {
        size_t n = 65536 + 4096 * (size_t)f;
        return n > (1u << 20) ? 1u << 20 : n;
    }
    default:
        return (1u << 20) - 2048 + 16 * (size_t)f;
    }
}

static void body_bytes(fz_buf_t *b, size_t n, uint8_t content, uint64_t seed)
{
    static const char *const texts[4] = {
        NULL,
        "the quick brown fox jumps over the lazy dog\n",
        "GET /smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n",
        "0\r\n\r\n5\r\nhello\r\n0;x=y\r\nT: v\r\n\r\n",
    };
    uint64_t s = seed;
    const char *t = texts[content & 3];
    b->len = 0;
    char *p = fz_buf_add(b, n); /* filled in place: a MiB a byte at a time is slow */
    if (!t) {
        for (size_t i = 0; i < n; i += 8) {
            uint64_t r = fz_rand(&s);
            memcpy(p + i, &r, n - i < 8 ? n - i : 8);
        }
        return;
    }
    size_t tl = strlen(t), at = (size_t)(fz_rand(&s) % tl);
    for (size_t i = 0; i < n;) {
        size_t k = tl - at < n - i ? tl - at : n - i;
        memcpy(p + i, t + at, k);
        i += k;
        at = 0;
    }
}

static void spell(char *out, size_t cap, const char *name, unsigned style, unsigned salt)
{
    size_t n = strlen(name);
    if (n >= cap)
        n = cap - 1;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool up = style == 2 || (style == 3 && (i + salt) % 2 == 0);
        if (style == 1 || (style == 3 && !up))
            ch = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
        else if (up)
            ch = (ch >= 'a' && ch <= 'z') ? (char)(ch - 32) : ch;
        out[i] = ch;
    }
    out[n] = '\0';
}

/* The target: what it is sent as, and the path and query h1 must make of it. */
static void gen_target(struct gen *g, uint8_t d1, bool asterisk, fz_buf_t *sent, fz_buf_t *path,
                       fz_buf_t *query, bool *has_query)
{
    static const char *const queries[6] = {"a=1&b=2", "", "x?y/z", "q=%41+b&&k==v", NULL, "?"};
    static const char *const bases[3] = {"/healthz", "/v1/events", "/v1/flags/f"};
    unsigned v = d1 >> 3;
    *has_query = false;
    if (asterisk) {
        fz_buf_puts(sent, "*");
        fz_buf_puts(path, "*");
        return;
    }
    switch (d1 % 8) {
    case 0:
        fz_buf_puts(path, "/");
        break;
    case 1:
        fz_buf_puts(path, "/healthz");
        break;
    case 2:
        fz_buf_puts(path, "/v1/events");
        break;
    case 3:
        fz_buf_puts(path, "/v1/flags/");
        put_segment(g, path, v);
        break;
    case 4:
        fz_buf_puts(path, "/a%20b/c;p=1/:@!$&'()*+,=-._~/");
        put_segment(g, path, v % 8);
        break;
    case 5:
        fz_buf_puts(path, bases[v % 3]);
        *has_query = true;
        if (queries[v % 6])
            fz_buf_puts(query, queries[v % 6]);
        else
            put_segment(g, query, 16 * (size_t)v);
        break;
    case 6:
        if (v % 3 == 0) {
            fz_buf_puts(sent, "http://example.com");
            fz_buf_puts(path, "/p/");
            put_segment(g, path, v % 8);
            *has_query = true;
            fz_buf_puts(query, "a=b");
        } else if (v % 3 == 1) {
            fz_buf_puts(sent, "HTTP://h.example:80"); /* no path: h1 makes it "/" */
            fz_buf_puts(path, "/");
            return;
        } else {
            fz_buf_puts(sent, "https://h.example?x=1");
            fz_buf_puts(path, "/");
            *has_query = true;
            fz_buf_puts(query, "x=1");
            return;
        }
        break;
    default:
        fz_buf_puts(path, "/");
        put_segment(g, path, 64 * (size_t)v + 1);
        break;
    }
    fz_buf_put(sent, path->p, path->len);
    if (*has_query) {
        fz_buf_puts(sent, "?");
        fz_buf_put(sent, query->p, query->len);
    }
}

static void field_add(struct field *f, size_t *n, enum name name, const char *value, size_t len)
{
    if (*n == MAX_FIELDS)
        return;
    f[*n] = (struct field){.name = name};
    fz_buf_put(&f[*n].value, value, len);
    (*n)++;
}

static void field_adds(struct field *f, size_t *n, enum name name, const char *value)
{
    field_add(f, n, name, value, strlen(value));
}

/* The optional fields of descriptor bytes 2 and 3. */
static void gen_optional(struct gen *g, const uint8_t *d, struct field *f, size_t *n)
{
    fz_buf_t v = {0};
    if (d[2] & 1)
        field_adds(f, n, N_USER_AGENT, "fuzz-h1-conn/1 (+https://example.com/x?y=z)");
    if (d[2] & 2)
        field_adds(f, n, N_ACCEPT, "text/plain;q=0.9, */*;q=0.1");
    if (d[2] & 4) {
        fz_buf_puts(&v, "Bearer ");
        put_chars(g, &v, "ABCXYZabcxyz0189-._~+/", 40);
        field_add(f, n, N_AUTHORIZATION, v.p, v.len);
        v.len = 0;
    }
    if (d[2] & 8)
        field_adds(f, n, N_COOKIE, "a=b; c=\"d e\"; f");
    if (d[2] & 16)
        field_adds(f, n, N_X_EMPTY, "");
    if (d[2] & 32)
        field_adds(f, n, N_X_ODD, "\"(),/:;<=>?@[\\]{}\t inner  \t space|end");
    if (d[2] & 64)
        field_adds(f, n, N_X_OBS, "caf\xc3\xa9 \x80\xfe\xff");
    if (d[2] & 128) {
        size_t len = 100 + pick(g, 3900);
        fz_buf_puts(&v, "L");
        put_chars(g, &v, "abcdefghij KLMNOP 0123456789 !#$%&'*+-.^_`|~\"(),/:;<=>?@[]{}", len - 2);
        fz_buf_puts(&v, "L");
        field_add(f, n, N_X_LONG, v.p, v.len);
    }
    if (d[3] & 128) {
        field_adds(f, n, N_X_DUP, "first");
        field_adds(f, n, N_TCHARS, "tchars only");
        field_adds(f, n, N_X_DUP, "second");
    }
    fz_buf_free(&v);
}

/* The chunked framing of body[0..n), with marks. */
static void put_chunked(struct gen *g, const char *body, size_t n, unsigned style)
{
    static const char *const exts[5] = {";a=b", ";name=\"q v\"", " ;x", "\t;y = z", ";"};
    fz_case_t *c = g->c;
    size_t at = 0;
    for (unsigned k = 0;; k++) {
        size_t left = n - at, len;
        switch (pick(g, 8)) {
        case 0:
            len = 1;
            break;
        case 1:
            len = 2 + pick(g, 15);
            break;
        case 2:
            len = 17 + pick(g, 240);
            break;
        case 3:
            len = 1 + pick(g, 4096);
            break;
        case 4:
            len = 1 + pick(g, 65536);
            break;
        case 5:
            len = left;
            break;
        default:
            len = 1 + pick(g, 16384);
            break;
        }
        if (len > left || k >= 1000)
            len = left;
        bool marks = k < CHUNK_MARKS || len == 0;
        if (marks)
            mark(c);
        char size[32];
        if (style == 1)
            snprintf(size, sizeof(size), "%05zX", len);
        else
            snprintf(size, sizeof(size), "%zx", len);
        put(c, size);
        if (style >= 2 && pick(g, 2))
            put(c, exts[pick(g, 5)]);
        put(c, "\r\n");
        if (len == 0)
            break;
        if (marks)
            mark(c);
        fz_buf_put(&c->bytes, body + at, len);
        if (marks)
            mark(c);
        put(c, "\r\n");
        at += len;
    }
    if (style == 3) {
        mark(c);
        put(c, "X-Trailer: t\r\nX-Sum: 1, 2\r\n");
    }
    mark(c);
    put(c, "\r\n");
}

static fz_req_t *new_req(fz_case_t *c)
{
    if (c->n_reqs == c->cap_reqs) {
        size_t cap = c->cap_reqs ? 2 * c->cap_reqs : 16;
        fz_req_t *r = realloc(c->reqs, cap * sizeof(*r));
        if (!r)
            abort();
        c->reqs = r;
        c->cap_reqs = cap;
    }
    fz_req_t *r = &c->reqs[c->n_reqs++];
    *r = (fz_req_t){0};
    return r;
}

static const char *const methods[10] = {
    "GET",     "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND", "M-!#$%&'*+.^_`|~1",
    "OPTIONS",
};

/* One request while it is generated. */
struct draft {
    const uint8_t *d; /* its descriptor */
    unsigned copy;    /* which copy of it */
    bool last;        /* nothing is sent after it */
    const char *method;
    const char *eol; /* the head's line end */
    bool keep_alive; /* the connection stays after it */
    bool chunked;
    bool expect;                /* Expect: 100-continue */
    fz_buf_t sent, path, query; /* the target as sent, and what h1 must make of it */
    bool has_query;
    struct field f[MAX_FIELDS];
    size_t nf;
    fz_buf_t body; /* decoded */
};

static void put_request_line(struct gen *g, fz_req_t *r, struct draft *dr)
{
    fz_case_t *c = g->c;
    if (dr->d[0] >> 6 == 3)
        put(c, dr->copy % 2 ? "\r\n" : "\r\n\n"); /* empty lines first: h1 skips them */
    mark(c);
    put(c, dr->method);
    mark(c);
    put(c, " ");
    gen_target(g, dr->d[1], dr->d[0] % 10 == 9, &dr->sent, &dr->path, &dr->query, &dr->has_query);
    size_t half = dr->sent.len / 2 > 1 ? dr->sent.len / 2 : 1; /* a target is never empty */
    fz_buf_put(&c->bytes, dr->sent.p, 1);
    mark(c);
    fz_buf_put(&c->bytes, dr->sent.p + 1, half - 1);
    mark(c);
    fz_buf_put(&c->bytes, dr->sent.p + half, dr->sent.len - half);
    mark(c);
    put(c, r->minor ? " HTTP/1.1" : " HTTP/1.0");
    mark(c);
    put(c, dr->eol);
}

/* The fields: Host, Connection, framing, Expect, then the optional ones. */
static void collect_fields(struct gen *g, struct draft *dr, int minor, size_t body_len)
{
    const uint8_t *d = dr->d;
    unsigned version = d[0] >> 4 & 3;
    struct field *f = dr->f;
    size_t *nf = &dr->nf;
    char num[48];
    if (minor == 1 || d[3] & 1) {
        static const char *const hosts[3] = {"example.com", "h.example:8080", ""};
        field_adds(f, nf, N_HOST, hosts[(d[3] >> 1) % 3]);
    }
    if (version == 1)
        field_adds(f, nf, N_CONNECTION, dr->copy % 2 ? "Keep-Alive, x-y" : "keep-alive");
    else if (version == 2 && dr->last)
        field_adds(f, nf, N_CONNECTION, dr->copy % 2 ? "x-y, close" : "close");
    else if (version == 3 && !dr->last)
        field_adds(f, nf, N_CONNECTION, "keep-alive");
    unsigned framing = d[4] >> 3 & 3;
    if (dr->chunked) {
        field_adds(f, nf, N_TRANSFER_ENCODING, framing == 1 ? "chunked" : "Chunked");
    } else if (framing == 2) {
        snprintf(num, sizeof(num), "00%zu", body_len);
        field_adds(f, nf, N_CONTENT_LENGTH, num);
        if (d[5] & 2) {
            snprintf(num, sizeof(num), "%zu", body_len);
            field_adds(f, nf, N_CONTENT_LENGTH, num); /* the same again: allowed */
        }
    } else if (body_len > 0 || d[5] & 1) {
        snprintf(num, sizeof(num), "%zu", body_len);
        field_adds(f, nf, N_CONTENT_LENGTH, num);
    }
    if (dr->expect)
        field_adds(f, nf, N_EXPECT, dr->copy % 2 ? "100-Continue" : "100-continue");
    gen_optional(g, d, f, nf);
}

/* The field lines in their order, names spelled and values padded as the descriptor says,
 * and the blank line. */
static void put_fields(struct gen *g, struct draft *dr)
{
    fz_case_t *c = g->c;
    unsigned rot = dr->nf ? (dr->d[3] & 7) % dr->nf : 0, ws = dr->d[3] >> 5 & 3,
             nc = dr->d[3] >> 3 & 3;
    for (size_t k = 0; k < dr->nf; k++) {
        struct field *fl = &dr->f[(k + rot) % dr->nf];
        char name[64];
        spell(name, sizeof(name), fz_names[fl->name], nc, (unsigned)k);
        unsigned w = ws == 3 ? (k % 2 ? 2 : 0) : ws;
        mark(c);
        put(c, name);
        mark(c);
        put(c, w == 1 ? ":" : w == 2 ? ": \t " : ": ");
        fz_buf_put(&c->bytes, fl->value.p, fl->value.len);
        if (w == 2)
            put(c, " \t");
        put(c, dr->eol);
        set_value(g, fl->name, fl->value.p, fl->value.len);
    }
    mark(c);
    put(c, dr->eol);
}

static void put_body(struct gen *g, const struct draft *dr)
{
    fz_case_t *c = g->c;
    size_t n = dr->body.len;
    mark(c);
    if (dr->chunked) {
        put_chunked(g, dr->body.p, n, dr->d[4] >> 6); /* CR LF only, whatever the head's */
    } else if (n) {
        fz_buf_put(&c->bytes, dr->body.p, 1);
        mark(c);
        fz_buf_put(&c->bytes, dr->body.p + 1, n / 2);
        mark(c);
        fz_buf_put(&c->bytes, dr->body.p + 1 + n / 2, n - 1 - n / 2);
    }
    mark(c);
}

/* The answer r must get, as h1 and the echo handler give it. */
static void want_answer(struct gen *g, fz_req_t *r, struct draft *dr, size_t head_len)
{
    const fz_case_t *c = g->c;
    size_t max_head = c->opts.max_head ? c->opts.max_head : 65536;
    r->style = dr->d[7];
    r->head_only = dr->d[0] % 10 == 1; /* a refusal of a HEAD has no body either, but a 431 */
    r->continue_ok = dr->expect && r->minor == 1 && (dr->chunked || dr->body.len > 0);
    if (head_len > max_head) {
        r->status = 431;
        r->head_only = r->continue_ok = false; /* h1 answers it as a plain request */
        g->ended = true;
    } else if (dr->body.len > c->opts.max_body) {
        r->status = 413;
        r->continue_ok = dr->chunked; /* a length is refused at once; chunks once they pass */
        g->ended = true;
    } else {
        const char *vals[FZ_N_NAMES];
        for (size_t i = 0; i < FZ_N_NAMES; i++)
            vals[i] = g->has[i] ? g->val[i].p : NULL;
        r->echo = true;
        r->stream = fz_style_is_stream(r->style) && dr->last && !r->head_only;
        r->status = r->stream ? 200 : fz_style_status(r->style);
        fz_echo(&r->echo_text, dr->method, dr->path.p ? dr->path.p : "",
                dr->has_query ? (dr->query.p ? dr->query.p : "") : NULL, vals, dr->body.len,
                fz_fnv1a(dr->body.p, dr->body.len));
        r->echo_hash = fz_fnv1a(r->echo_text.p, r->echo_text.len);
        if (r->stream || !dr->keep_alive)
            g->ended = true;
        if (r->stream && r->minor == 0)
            dr->keep_alive = false; /* a 1.0 stream ends with the connection */
    }
    r->conn = !r->echo || !dr->keep_alive ? "close" : r->minor == 0 ? "keep-alive" : NULL;
    snprintf(r->desc, sizeof(r->desc), "%s %.40s (%s %zu)", dr->method,
             dr->sent.p ? dr->sent.p : "", dr->chunked ? "chunked" : "length", dr->body.len);
}

static void gen_request(struct gen *g, const uint8_t *d, unsigned copy, bool last)
{
    fz_case_t *c = g->c;
    fz_req_t *r = new_req(c);
    g->rnd = fz_fnv1a(d, 8) ^ ((uint64_t)copy << 32) ^ c->n_reqs;
    for (size_t i = 0; i < FZ_N_NAMES; i++) {
        g->val[i].len = 0;
        g->has[i] = false;
    }
    unsigned version = d[0] >> 4 & 3, framing = d[4] >> 3 & 3;
    r->minor = version == 3 ? 0 : 1;
    struct draft dr = {
        .d = d,
        .copy = copy,
        .last = last,
        .method = methods[d[0] % 10],
        .eol = d[0] >> 6 == 2 ? "\n" : "\r\n",
        .keep_alive = !(last && (version == 2 || version == 3)),
        .chunked = (framing == 1 || framing == 3) && r->minor == 1,
        .expect = d[4] >> 5 & 1,
    };
    size_t body_len = body_size(d[4], d[5]);
    if (body_len > g->body_budget)
        body_len = body_size(2, d[5]);
    g->body_budget -= body_len < g->body_budget ? body_len : g->body_budget;
    body_bytes(&dr.body, body_len, d[6], (uint64_t)d[6] << 40 ^ (uint64_t)copy << 20 ^ c->n_reqs);

    r->start = c->bytes.len;
    mark(c);
    put_request_line(g, r, &dr);
    collect_fields(g, &dr, r->minor, body_len);
    put_fields(g, &dr);
    r->body_at = c->bytes.len;
    put_body(g, &dr);
    r->end = c->bytes.len;
    want_answer(g, r, &dr, r->body_at - r->start);

    fz_buf_free(&dr.sent);
    fz_buf_free(&dr.path);
    fz_buf_free(&dr.query);
    fz_buf_free(&dr.body);
    for (size_t k = 0; k < dr.nf; k++)
        fz_buf_free(&dr.f[k].value);
}

/* ---- the case ------------------------------------------------------------------------- */

static uint8_t at(const uint8_t *data, size_t size, size_t i)
{
    return i < size ? data[i] : 0;
}

static size_t log_size(uint8_t exp, uint8_t frac, unsigned exps, size_t max)
{
    size_t base = (size_t)1 << (exp % exps);
    size_t n = base + base * frac / 256;
    return n > max ? max : n;
}

void fz_case_decode(fz_case_t *c, const uint8_t *data, size_t size)
{
    *c = (fz_case_t){0};
    c->mode = (at(data, size, 0) & 7) == 7 ? FZ_RAW : FZ_STRUCTURED;
    c->opts = (sy_h1_opts_t){
        .first_buffer = log_size(at(data, size, 1), at(data, size, 2), 17, 65536),
        .read_room = log_size(at(data, size, 3), at(data, size, 4), 14, 8192),
        .max_head = at(data, size, 5) ? 512 + 256 * (size_t)at(data, size, 5) : 0,
        .max_body = (1u << 20) + 16 * (size_t)at(data, size, 6),
        /* Nothing here may time out: a slow run under ASan is still a correct one. */
        .idle_s = 3600,
        .header_timeout_s = 3600,
    };
    if (c->mode == FZ_RAW) {
        c->seed = at(data, size, 7) ^ (uint64_t)size << 8;
        if (size > 8)
            fz_buf_put(&c->bytes, data + 8, size - 8);
        return;
    }
    size_t n_desc = 1 + at(data, size, 7) % 16;
    uint8_t *desc = calloc(n_desc, 8);
    if (!desc)
        abort();
    for (size_t i = 0; i < 8 * n_desc; i++)
        desc[i] = at(data, size, 8 + i);
    if (size > 8 + 8 * n_desc) {
        c->ops = data + 8 + 8 * n_desc;
        c->n_ops = size - 8 - 8 * n_desc;
    }
    static const unsigned copies[8] = {1, 1, 1, 1, 2, 3, 16, 64};
    struct gen g = {.c = c,
                    .body_budget = (at(data, size, 6) & 3) == 3 ? BIG_BUDGET : SMALL_BUDGET};
    for (size_t i = 0; i < n_desc && !g.ended; i++) {
        unsigned n = copies[desc[8 * i + 7] >> 5];
        for (unsigned k = 0; k < n && !g.ended && c->n_reqs < MAX_REQS; k++)
            gen_request(&g, desc + 8 * i, k,
                        (i == n_desc - 1 && k == n - 1) || c->n_reqs == MAX_REQS - 1);
    }
    for (size_t i = 0; i < FZ_N_NAMES; i++)
        fz_buf_free(&g.val[i]);
    free(desc);
}

void fz_case_free(fz_case_t *c)
{
    for (size_t i = 0; i < c->n_reqs; i++)
        fz_buf_free(&c->reqs[i].echo_text);
    free(c->reqs);
    free(c->marks);
    fz_buf_free(&c->bytes);
    *c = (fz_case_t){0};
}

/* ---- the schedule --------------------------------------------------------------------- */

/* The k-th mark after pos (k >= 1), or the end. */
static size_t mark_ahead(const fz_case_t *c, size_t pos, unsigned k)
{
    size_t lo = 0, hi = c->n_marks; /* the first mark > pos */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->marks[mid] <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t i = lo + k - 1;
    return i < c->n_marks ? c->marks[i] : c->bytes.len;
}

static const fz_req_t *req_at(const fz_case_t *c, size_t pos)
{
    for (size_t lo = 0, hi = c->n_reqs; lo < hi;) {
        size_t mid = (lo + hi) / 2;
        if (c->reqs[mid].end <= pos)
            lo = mid + 1;
        else if (c->reqs[mid].start > pos)
            hi = mid;
        else
            return &c->reqs[mid];
    }
    return NULL;
}

fz_step_t fz_case_step(const fz_case_t *c, uint8_t op, size_t pos)
{
    unsigned a = op >> 3 & 15;
    size_t left = c->bytes.len - pos, n = 0;
    fz_step_t s = {.settle = !(op & 0x80)};
    const fz_req_t *r;
    switch (op & 7) {
    case 0:
        n = mark_ahead(c, pos, a % 4 + 1) - pos;
        break;
    case 1:
        n = a + 1;
        break;
    case 2:
        n = a + 1;
        s.bytewise = true;
        break;
    case 3:
        n = (size_t)1 << a;
        break;
    case 4: {
        size_t m = mark_ahead(c, pos, 1) - pos;
        int off = (int)(a % 8) - 4;
        n = off < 0 && (size_t)-off >= m ? 1 : m + (size_t)off;
        break;
    }
    case 5:
        r = req_at(c, pos);
        if (!r)
            n = left;
        else if (a >= 8)
            n = r->end - pos;
        else if (r->body_at > pos)
            n = r->body_at - pos;
        else if (r + 1 < c->reqs + c->n_reqs)
            n = r[1].body_at - pos; /* in a body: the next head's end */
        else
            n = left;
        break;
    case 6:
        n = 1000 * ((size_t)a + 1);
        break;
    default:
        n = a < 8 ? 0 : left;
        break;
    }
    s.n = n < left ? n : left;
    return s;
}
