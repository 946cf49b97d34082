/* h1_conn_answer.h - reading h1's answers back, as a strict client would.
 *
 * An answer is "HTTP/1.1 <3 digits> <h1's reason for them>" CR LF, field lines of
 * "<token>: <value>" CR LF, CR LF, then its body: none for 1xx, 204, 304 and answers that
 * say X-Head (the echo handler's mark for a HEAD request) or that the caller says have
 * none; else chunked (size lines in lower-case hex, CR LF, no extensions or trailers),
 * Content-Length bytes, or everything up to the end of the connection. Anything else is
 * malformed. Pure; the decoded body is the caller's fz_buf_t.
 */
#ifndef SY_FUZZ_H1_CONN_ANSWER_H
#define SY_FUZZ_H1_CONN_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "h1_conn_case.h"

typedef struct fz_answer {
    int status;
    size_t head_len;     /* the status line and fields, through the blank line */
    int64_t length;      /* Content-Length, -1 without one */
    bool chunked;        /* Transfer-Encoding: chunked */
    bool head_mark;      /* X-Head: 1 */
    bool has_body;       /* a body followed the head (possibly empty) */
    char connection[32]; /* the Connection value, "" without one */
    char echo[24];       /* X-Echo (the echo's FNV-1a in hex), "" without one */
    fz_buf_t body;       /* the body, decoded; the caller frees it */
} fz_answer_t;

/* Reads the answer at p[0..len); `eof` says no byte will follow, `no_body` that it answers
 * a HEAD whatever it says. Returns its size, 0 when it is not all there yet, or -1 when it
 * is malformed (*why: what is wrong, a constant string). */
ssize_t fz_answer_read(fz_answer_t *a, const char *p, size_t len, bool eof, bool no_body,
                       const char **why);

#endif
