/* h1_conn_answer.c - reading h1's answers back; see h1_conn_answer.h. */
#define _GNU_SOURCE
#include <string.h>
#include <strings.h>

#include "h1_conn_answer.h"
#include "http/h1.h"

static ssize_t bad(const char **why, const char *what)
{
    *why = what;
    return -1;
}

static bool is_token_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* One field line p[0..n) (without its CR LF) into a. */
static ssize_t field(fz_answer_t *a, const char *p, size_t n, const char **why)
{
    const char *colon = memchr(p, ':', n);
    if (!colon || colon == p || colon + 1 == p + n || colon[1] != ' ')
        return bad(why, "a field line is not 'name: value'");
    for (const char *q = p; q < colon; q++)
        if (!is_token_char((unsigned char)*q))
            return bad(why, "a field name is not a token");
    size_t nl = (size_t)(colon - p), vl = n - nl - 2;
    const char *v = colon + 2;
    for (size_t i = 0; i < vl; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return bad(why, "a field value has a control character");
    if (nl == 14 && strncasecmp(p, "Content-Length", nl) == 0) {
        if (a->length >= 0 || vl == 0 || vl > 18 || strspn(v, "0123456789") < vl)
            return bad(why, "a bad or second Content-Length");
        a->length = 0;
        for (size_t i = 0; i < vl; i++)
            a->length = a->length * 10 + (v[i] - '0');
    } else if (nl == 17 && strncasecmp(p, "Transfer-Encoding", nl) == 0) {
        if (vl != 7 || strncmp(v, "chunked", 7) != 0 || a->chunked)
            return bad(why, "a Transfer-Encoding other than one 'chunked'");
        a->chunked = true;
    } else if (nl == 10 && strncasecmp(p, "Connection", nl) == 0) {
        if (a->connection[0] || vl >= sizeof(a->connection))
            return bad(why, "a second or long Connection field");
        memcpy(a->connection, v, vl);
        a->connection[vl] = '\0';
    } else if (nl == 6 && strncmp(p, "X-Echo", nl) == 0) {
        if (a->echo[0] || vl >= sizeof(a->echo))
            return bad(why, "a second or long X-Echo field");
        memcpy(a->echo, v, vl);
        a->echo[vl] = '\0';
    } else if (nl == 6 && strncmp(p, "X-Head", nl) == 0) {
        a->head_mark = true;
    }
    return 0;
}

/* The status line p[0..n) (without its CR LF). */
static ssize_t status_line(fz_answer_t *a, const char *p, size_t n, const char **why)
{
    if (n < 13 || memcmp(p, "HTTP/1.1 ", 9) != 0 || p[12] != ' ')
        return bad(why, "the status line is not 'HTTP/1.1 NNN reason'");
    a->status = 0;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9')
            return bad(why, "the status is not three digits");
        a->status = a->status * 10 + (p[i] - '0');
    }
    const char *reason = sy_h1_reason(a->status);
    if (a->status < 100 || !reason[0] || n - 13 != strlen(reason) ||
        memcmp(p + 13, reason, n - 13) != 0)
        return bad(why, "an unknown status, or not its reason phrase");
    return 0;
}

/* A chunked body at p[0..len): its size, 0 for more, -1 when malformed. */
static ssize_t chunks(fz_answer_t *a, const char *p, size_t len, const char **why)
{
    size_t at = 0;
    for (;;) {
        const char *crlf = memmem(p + at, len - at, "\r\n", 2);
        if (!crlf)
            return len - at > 32 ? bad(why, "a chunk size line is too long") : 0;
        size_t n = 0, digits = (size_t)(crlf - (p + at));
        if (digits == 0 || digits > 15)
            return bad(why, "a chunk size is not 1 to 15 hex digits");
        for (size_t i = 0; i < digits; i++) {
            char ch = p[at + i];
            int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
            if (v < 0)
                return bad(why, "a chunk size is not lower-case hex");
            n = n * 16 + (size_t)v;
        }
        at += digits + 2;
        if (len - at < n + 2)
            return 0;
        if (memcmp(p + at + n, "\r\n", 2) != 0)
            return bad(why, "chunk data is not followed by CR LF");
        fz_buf_put(&a->body, p + at, n);
        at += n + 2;
        if (n == 0)
            return (ssize_t)at; /* "0" CR LF CR LF: h1 sends no trailers */
    }
}

ssize_t fz_answer_read(fz_answer_t *a, const char *p, size_t len, bool eof, bool no_body,
                       const char **why)
{
    fz_buf_t body = a->body;
    *a = (fz_answer_t){.length = -1, .body = body};
    a->body.len = 0;
    fz_buf_add(&a->body, 0);
    const char *end = memmem(p, len, "\r\n\r\n", 4);
    if (!end)
        return len > 65536 ? bad(why, "an answer's head is over 64 KiB") : 0;
    a->head_len = (size_t)(end - p) + 4;
    const char *line = p, *stop = end + 2;
    for (bool first = true; line < stop; first = false) {
        const char *crlf = memmem(line, (size_t)(stop - line), "\r\n", 2);
        size_t n = (size_t)(crlf - line);
        if (memchr(line, '\n', n) || memchr(line, '\r', n))
            return bad(why, "a bare CR or LF in an answer's head");
        ssize_t rc = first ? status_line(a, line, n, why) : field(a, line, n, why);
        if (rc < 0)
            return rc;
        line = crlf + 2;
    }
    if (a->chunked && a->length >= 0)
        return bad(why, "both Content-Length and Transfer-Encoding");
    const char *b = p + a->head_len;
    size_t blen = len - a->head_len;
    if (a->status < 200 || a->status == 204 || a->status == 304) {
        if (a->length >= 0 || a->chunked)
            return bad(why, "a 1xx, 204 or 304 answer with a length or chunks");
        return (ssize_t)a->head_len;
    }
    if (a->head_mark || no_body)
        return (ssize_t)a->head_len;
    a->has_body = true;
    if (a->chunked) {
        ssize_t rc = chunks(a, b, blen, why);
        if (rc == 0 && eof)
            return bad(why, "the connection ended inside a chunked body");
        return rc <= 0 ? rc : (ssize_t)a->head_len + rc;
    }
    if (a->length >= 0) {
        if (blen < (size_t)a->length)
            return eof ? bad(why, "the connection ended inside a body") : 0;
        fz_buf_put(&a->body, b, (size_t)a->length);
        return (ssize_t)(a->head_len + (size_t)a->length);
    }
    if (strcasecmp(a->connection, "close") != 0)
        return bad(why, "a body without a length on a connection that stays");
    if (!eof)
        return 0;
    fz_buf_put(&a->body, b, blen);
    return (ssize_t)len;
}
