/* h1_parse.c - HTTP/1.1 request heads and chunked bodies (RFC 9112), and percent-decoding
 * of paths and query strings; see h1.h.
 *
 * Strict where leniency lets requests be read two ways (whitespace before a field's colon,
 * folded lines, bare CRs, Content-Length beside Transfer-Encoding, conflicting lengths, and
 * every line of a chunked body: CR LF only, since the proxy forwards those bytes as they
 * came and an upstream that frames by CR LF alone would read a bare LF's body as another
 * request), lenient where it harms no one (LF alone ends a line of a head, which the proxy
 * rebuilds before it goes anywhere; empty lines before a request line are skipped).
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "http/h1.h"

#define LINE_MAX_BYTES 4096 /* a chunk-size or trailer line */

/* RFC 9110 tchar: what a method or a field name is made of. */
static bool is_tchar(unsigned char ch)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && memchr(extra, ch, sizeof(extra) - 1));
}

/* What a field value may hold: visible characters, obs-text, space and tab. */
/* True when [p, end) is a non-empty run of tchars. */
static bool is_token(const char *p, const char *end)
{
    if (p == end)
        return false;
    for (; p < end; p++)
        if (!is_tchar((unsigned char)*p))
            return false;
    return true;
}

static bool is_vchar(unsigned char ch)
{
    return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

static int fail(int *status, int code, int rc)
{
    *status = code;
    return rc;
}

/* True when the comma-separated list `v` has `token` (case-insensitively). */
static bool has_token(const char *v, const char *token)
{
    size_t n = strlen(token);
    while (*v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        size_t len = strcspn(v, ",");
        size_t t = len;
        while (t && (v[t - 1] == ' ' || v[t - 1] == '\t'))
            t--;
        if (t == n && strncasecmp(v, token, n) == 0)
            return true;
        v += len;
    }
    return false;
}

static sy_method_t method_of(const char *m)
{
    static const struct {
        const char *name;
        sy_method_t m;
    } known[] = {{"GET", SY_GET},        {"HEAD", SY_HEAD},     {"POST", SY_POST},
                 {"PUT", SY_PUT},        {"DELETE", SY_DELETE}, {"PATCH", SY_PATCH},
                 {"OPTIONS", SY_OPTIONS}};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(m, known[i].name) == 0)
            return known[i].m;
    return SY_OTHER_METHOD;
}

/* The end of the head (index after its blank line) from `from`, or 0. */
static size_t head_end(const char *buf, size_t start, size_t len, size_t from)
{
    for (size_t j = from > start ? from : start; j < len; j++) {
        const char *nl = memchr(buf + j, '\n', len - j);
        if (!nl)
            return 0;
        j = (size_t)(nl - buf);
        /* buf[start] is not CR or LF, so j - 1 >= start here, and j - 2 >= start after a CR. */
        if (j > start && (buf[j - 1] == '\n' || (buf[j - 1] == '\r' && buf[j - 2] == '\n')))
            return j + 1;
    }
    return 0;
}

/* The line at *p (ending before `end`) NUL-terminated where its CR LF or LF was; *p moves
 * past it. NULL for a bare CR inside. */
static char *take_line(char **p, char *end, size_t *len)
{
    char *s = *p;
    char *nl = memchr(s, '\n', (size_t)(end - s));
    char *e = nl;
    if (e > s && e[-1] == '\r')
        e--;
    if (memchr(s, '\r', (size_t)(e - s)))
        return NULL;
    *e = '\0';
    *len = (size_t)(e - s);
    *p = nl + 1;
    return s;
}

static int parse_request_line(char *line, size_t len, sy_h1_head_t *h, int *status)
{
    char *sp1 = memchr(line, ' ', len);
    if (!sp1 || !is_token(line, sp1))
        return fail(status, 400, -EINVAL);
    *sp1 = '\0';
    h->method_name = line;
    h->method = method_of(line);
    char *target = sp1 + 1;
    char *sp2 = memchr(target, ' ', len - (size_t)(target - line));
    if (!sp2 || sp2 == target)
        return fail(status, 400, -EINVAL);
    char *version = sp2 + 1;
    size_t vlen = len - (size_t)(version - line);
    if (vlen != 8 || memcmp(version, "HTTP/", 5) != 0 || version[6] != '.' || version[5] < '0' ||
        version[5] > '9' || version[7] < '0' || version[7] > '9')
        return fail(status, 400, -EINVAL);
    if (version[5] != '1')
        return fail(status, 505, -EPROTO);
    h->minor = version[7] - '0';
    *sp2 = '\0';
    for (char *q = target; q < sp2; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f || *q == '#')
            return fail(status, 400, -EINVAL);
    /* absolute-form (RFC 9112 3.2.2): the path is what follows the authority. */
    if (strncasecmp(target, "http://", 7) == 0 || strncasecmp(target, "https://", 8) == 0) {
        char *auth = strstr(target, "//") + 2;
        target = auth + strcspn(auth, "/?");
        if (*target != '/') {
            char *q = *target == '?' ? target + 1 : NULL;
            h->path = "/";
            h->query = q;
            return 0;
        }
    } else if (*target != '/' && !(h->method == SY_OPTIONS && strcmp(target, "*") == 0)) {
        return fail(status, 400, -EINVAL);
    }
    char *q = strchr(target, '?');
    if (q)
        *q++ = '\0';
    h->path = target;
    h->query = q;
    return 0;
}

/* One field line into h->fields; the framing fields are read as they come. */
static int parse_field(char *line, size_t len, sy_h1_head_t *h, int *hosts, int *status)
{
    if (line[0] == ' ' || line[0] == '\t') /* obs-fold */
        return fail(status, 400, -EINVAL);
    char *colon = memchr(line, ':', len);
    if (!colon || !is_token(line, colon))
        return fail(status, 400, -EINVAL);
    char *v = colon + 1, *e = line + len;
    while (v < e && (*v == ' ' || *v == '\t'))
        v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    for (char *q = v; q < e; q++)
        if (!is_vchar((unsigned char)*q))
            return fail(status, 400, -EINVAL);
    if (h->n_fields == SY_H1_MAX_HEADERS)
        return fail(status, 431, -E2BIG);
    *colon = '\0';
    *e = '\0';
    h->fields[h->n_fields++] = (sy_h1_field_t){
        .name = line, .name_len = (size_t)(colon - line), .value = v, .value_len = (size_t)(e - v)};

    if (strcasecmp(line, "Content-Length") == 0) {
        if (v == e || e - v > 18 || strspn(v, "0123456789") != (size_t)(e - v))
            return fail(status, 400, -EINVAL);
        int64_t n = 0;
        for (char *q = v; q < e; q++)
            n = n * 10 + (*q - '0');
        if (h->content_length >= 0 && h->content_length != n)
            return fail(status, 400, -EINVAL);
        h->content_length = n;
    } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
        if (h->minor == 0 || h->chunked)
            return fail(status, 400, -EINVAL);
        if (strcasecmp(v, "chunked") != 0)
            return fail(status, 501, -ENOSYS);
        h->chunked = true;
    } else if (strcasecmp(line, "Connection") == 0) {
        if (has_token(v, "close"))
            h->keep_alive = false;
        else if (h->minor == 0 && has_token(v, "keep-alive"))
            h->keep_alive = true;
    } else if (strcasecmp(line, "Expect") == 0) {
        h->expect_continue = h->minor >= 1 && strcasecmp(v, "100-continue") == 0;
    } else if (strcasecmp(line, "Host") == 0) {
        (*hosts)++;
    }
    return 0;
}

int sy_h1_parse_head(char *buf, size_t len, size_t max, size_t *scanned, sy_h1_head_t *h,
                     int *status)
{
    *status = 0;
    size_t start = 0;
    while (start < len && start < 64 && (buf[start] == '\r' || buf[start] == '\n'))
        start++;
    if (start == 64)
        return fail(status, 400, -EINVAL);
    size_t end = head_end(buf, start, len, *scanned);
    if (!end) {
        *scanned = len;
        return len > max ? fail(status, 431, -E2BIG) : 0;
    }
    if (end > max)
        return fail(status, 431, -E2BIG);

    *h = (sy_h1_head_t){.content_length = -1};
    char *p = buf + start, *stop = buf + end;
    size_t n;
    char *line = take_line(&p, stop, &n);
    if (!line)
        return fail(status, 400, -EINVAL);
    int rc = parse_request_line(line, n, h, status);
    if (rc < 0)
        return rc;
    h->keep_alive = h->minor >= 1;
    int hosts = 0;
    while ((line = take_line(&p, stop, &n)) && n > 0)
        if ((rc = parse_field(line, n, h, &hosts, status)) < 0)
            return rc;
    if (!line)
        return fail(status, 400, -EINVAL);
    if (h->chunked && h->content_length >= 0)
        return fail(status, 400, -EINVAL);
    if (hosts > 1 || (h->minor >= 1 && hosts == 0))
        return fail(status, 400, -EINVAL);
    return (int)end;
}

const char *sy_h1_head_field(const sy_h1_head_t *h, const char *name)
{
    return sy_h1_head_field_nth(h, name, 0);
}

const char *sy_h1_head_field_nth(const sy_h1_head_t *h, const char *name, size_t nth)
{
    for (size_t i = 0; i < h->n_fields; i++)
        if (strcasecmp(h->fields[i].name, name) == 0 && nth-- == 0)
            return h->fields[i].value;
    return NULL;
}

/* ---- chunked bodies ------------------------------------------------------------------ */

enum {
    CK_SIZE,       /* hex digits of a chunk size */
    CK_EXT,        /* after the size: extensions, up to the line's CR */
    CK_SIZE_LF,    /* the size line's LF */
    CK_DATA,       /* data bytes */
    CK_DATA_CR,    /* CR LF after the data */
    CK_DATA_LF,    /* LF after the data's CR */
    CK_TRAILER,    /* start of a trailer line, or the final blank line */
    CK_TRAILER_IN, /* inside a trailer line */
    CK_TRAILER_LF, /* a trailer line's LF */
    CK_END_LF,     /* the final blank line's LF */
};

static int size_line_done(sy_h1_dechunk_t *d, size_t max)
{
    if (d->left == 0) {
        d->state = CK_TRAILER;
        return 0;
    }
    if (d->left > max - d->out)
        return -E2BIG;
    d->state = CK_DATA;
    return 0;
}

static int hexval(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20;
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* The chunked body's grammar, followed from in[d->in] to in[len]: the data is moved to
 * out + d->out when `out` (decoding in place: out == in), or else given to data(arg) when
 * that is not NULL. sy_h1_dechunk and sy_h1_chunks. */
static int follow(sy_h1_dechunk_t *d, const char *in, char *out, size_t len, size_t max,
                  sy_h1_data_fn *data, void *arg)
{
    while (d->in < len) {
        unsigned char ch = (unsigned char)in[d->in];
        int rc = 0;
        switch (d->state) {
        case CK_DATA: {
            size_t n = len - d->in;
            if (n > d->left)
                n = (size_t)d->left;
            if (out)
                memmove(out + d->out, in + d->in, n);
            else if (data)
                data(arg, in + d->in, n);
            d->out += n;
            d->in += n;
            d->left -= n;
            if (!d->left)
                d->state = CK_DATA_CR;
            continue;
        }
        case CK_SIZE: {
            int v = hexval(ch);
            if (v >= 0) {
                if (d->line == 15)
                    return -EINVAL; /* more than 2^60: no body is that big */
                d->left = d->left * 16 + (uint64_t)v;
                d->line++;
            } else if (d->line == 0) {
                return -EINVAL; /* a size line starts with a digit */
            } else if (ch == ';' || ch == ' ' || ch == '\t') {
                d->state = CK_EXT;
            } else if (ch == '\r') {
                d->state = CK_SIZE_LF;
            } else {
                return -EINVAL; /* a bare LF too */
            }
            break;
        }
        case CK_EXT:
            if (ch == '\r')
                d->state = CK_SIZE_LF;
            else if (++d->line > LINE_MAX_BYTES || (ch != '\t' && (ch < 0x20 || ch == 0x7f)))
                return -EINVAL;
            break;
        case CK_SIZE_LF:
            if (ch != '\n')
                return -EINVAL;
            rc = size_line_done(d, max);
            break;
        case CK_DATA_CR:
            if (ch != '\r')
                return -EINVAL;
            d->state = CK_DATA_LF;
            break;
        case CK_DATA_LF:
            if (ch != '\n')
                return -EINVAL;
            d->state = CK_SIZE;
            d->line = 0;
            break;
        case CK_TRAILER:
            d->line = 0;
            if (d->trailers >= SY_H1_MAX_TRAILERS)
                return -EINVAL;
            if (ch == '\r')
                d->state = CK_END_LF;
            else if (ch == '\n')
                return -EINVAL;
            else
                d->state = CK_TRAILER_IN;
            break;
        case CK_TRAILER_IN:
            if (++d->trailers > SY_H1_MAX_TRAILERS)
                return -EINVAL;
            if (ch == '\r')
                d->state = CK_TRAILER_LF;
            else if (ch == '\n' || ++d->line > LINE_MAX_BYTES)
                return -EINVAL;
            break;
        case CK_TRAILER_LF:
            if (ch != '\n')
                return -EINVAL;
            d->state = CK_TRAILER;
            break;
        case CK_END_LF:
            if (ch != '\n')
                return -EINVAL;
            d->in++;
            return 1;
        default:
            return -EINVAL;
        }
        if (rc < 0)
            return rc;
        d->in++;
    }
    return 0;
}

int sy_h1_dechunk(sy_h1_dechunk_t *d, char *body, size_t len, size_t max)
{
    return follow(d, body, body, len, max, NULL, NULL);
}

int sy_h1_chunks(sy_h1_dechunk_t *d, const char *b, size_t len, size_t *used, sy_h1_data_fn *data,
                 void *arg)
{
    d->in = 0;
    int rc = follow(d, b, NULL, len, SIZE_MAX, data, arg);
    *used = d->in;
    return rc;
}

/* ---- URLs -------------------------------------------------------------------------- */

ssize_t sy_pct_decode(const char *src, size_t len, bool plus, char *dst, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = src[i];
        if (ch == '%') {
            int hi = i + 2 < len ? hexval((unsigned char)src[i + 1]) : -1;
            int lo = hi >= 0 ? hexval((unsigned char)src[i + 2]) : -1;
            if (lo < 0)
                return -EINVAL;
            ch = (char)(hi * 16 + lo);
            i += 2;
        } else if (plus && ch == '+') {
            ch = ' ';
        }
        if (o + 1 >= cap)
            return -E2BIG;
        dst[o++] = ch;
    }
    if (o >= cap)
        return -E2BIG;
    dst[o] = '\0';
    return (ssize_t)o;
}

int sy_query_next(const char **q, char *key, size_t kcap, char *val, size_t vcap)
{
    const char *p = *q;
    while (p && *p == '&')
        p++;
    if (!p || !*p)
        return 0;
    size_t n = strcspn(p, "&");
    const char *eq = memchr(p, '=', n);
    size_t kl = eq ? (size_t)(eq - p) : n;
    ssize_t klen = sy_pct_decode(p, kl, true, key, kcap);
    ssize_t vlen =
        klen < 0 ? -1 : sy_pct_decode(eq ? eq + 1 : "", eq ? n - kl - 1 : 0, true, val, vcap);
    /* a NUL (%00) would cut the name or value short: "limit%00x" is not "limit" */
    if (vlen < 0 || memchr(key, '\0', (size_t)klen) || memchr(val, '\0', (size_t)vlen))
        return -EINVAL;
    *q = p + n;
    return 1;
}
