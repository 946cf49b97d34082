/* h1_conn_case.h - what an input of fuzz-h1-conn means: well-formed requests pipelined on
 * one connection, the bytes that carry them, where to split those bytes, and the answer
 * each request must get from the echo handler.
 *
 * Pure: no sockets, no libevent. Any input decodes into a case (a short one into a short
 * case), deterministically, so a saved input replays the same run. The byte layout is the
 * table atop h1_conn_case.c; fuzz/fuzz_h1_conn_seeds.py writes inputs in it.
 *
 * Out of memory aborts: this is a test harness.
 */
#ifndef SY_FUZZ_H1_CONN_CASE_H
#define SY_FUZZ_H1_CONN_CASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/h1.h"

/* A growable byte buffer (harness memory, never the server's). */
typedef struct fz_buf {
    char *p;
    size_t len, cap;
} fz_buf_t;

/* Appends n bytes, left for the caller to fill: where they are (valid until the next
 * append). The buffer is NUL-terminated past its length. */
char *fz_buf_add(fz_buf_t *b, size_t n);
void fz_buf_put(fz_buf_t *b, const void *p, size_t n);
void fz_buf_puts(fz_buf_t *b, const char *s);
void fz_buf_free(fz_buf_t *b);

uint64_t fz_fnv1a(const void *p, size_t n);
/* splitmix64: the harness's only source of pseudo-randomness; *state advances. */
uint64_t fz_rand(uint64_t *state);

/* The header names the echo handler looks up, in the order it prints them. Requests only
 * carry these names (in any letter case), so the echo shows every field of a request. */
#define FZ_N_NAMES 16
extern const char *const fz_names[FZ_N_NAMES];

/* The echo handler's body: method, path, query, the first value of each of fz_names
 * (NULL: absent) and the body's length and FNV-1a. One function writes it for the
 * handler (from the parsed request) and for the reference (from the generated one). */
void fz_echo(fz_buf_t *out, const char *method, const char *path, const char *query,
             const char *const values[FZ_N_NAMES], size_t body_len, uint64_t body_hash);

/* How the handler answers a request, from its style byte. */
enum fz_defer {
    FZ_SYNC,   /* before the handler returns */
    FZ_ACTIVE, /* from an event made active (event_active) */
    FZ_TIMER,  /* from a zero-timeout timer */
};
enum fz_defer fz_style_defer(uint8_t style);
int fz_style_status(uint8_t style);     /* 200, 201, 202, 204, 404 or 500 */
bool fz_style_is_stream(uint8_t style); /* a streamed 200 (only on a request with nothing after) */

/* One generated request and the answer it must get. */
typedef struct fz_req {
    size_t start, end;  /* its bytes in the stream */
    size_t body_at;     /* where its body begins: the end of its head */
    uint8_t style;      /* how the handler answers (fz_style_*) */
    int minor;          /* HTTP/1.minor */
    int status;         /* the answer's status: the style's, or 413 / 431 from h1 */
    bool echo;          /* the handler answers (false: h1 refuses it itself) */
    bool head_only;     /* HEAD: the echo's length and no body */
    bool stream;        /* answered as a stream; the connection ends after it */
    bool continue_ok;   /* a 100 Continue may come before the answer */
    const char *conn;   /* the answer's Connection header, NULL for none */
    fz_buf_t echo_text; /* the echo handler's body for it */
    uint64_t echo_hash; /* its FNV-1a */
    char desc[80];      /* "POST /v1/events (chunked 14000)", for messages */
} fz_req_t;

enum fz_mode {
    FZ_STRUCTURED, /* generated requests, every answer compared with its reference */
    FZ_RAW,        /* the input's own bytes, answers only checked for form */
};

typedef struct fz_case {
    enum fz_mode mode;
    sy_h1_opts_t opts;
    fz_buf_t bytes; /* everything the client sends, in order */
    size_t *marks;  /* offsets in bytes worth splitting at, ascending */
    size_t n_marks, cap_marks;
    fz_req_t *reqs; /* FZ_STRUCTURED: the requests in bytes, in order */
    size_t n_reqs, cap_reqs;
    const uint8_t *ops; /* the write schedule (borrows the input) */
    size_t n_ops;
    uint64_t seed; /* FZ_RAW: the pieces' sizes and the handler's styles */
} fz_case_t;

/* Decodes data[0..size) into *c (borrowing data for c->ops until fz_case_free). */
void fz_case_decode(fz_case_t *c, const uint8_t *data, size_t size);
void fz_case_free(fz_case_t *c);

/* What a schedule op asks for, the bytes from `pos` on: how many to write now (0: none),
 * whether to write them one at a time, and whether to let the server run after. */
typedef struct fz_step {
    size_t n;
    bool bytewise;
    bool settle;
} fz_step_t;

fz_step_t fz_case_step(const fz_case_t *c, uint8_t op, size_t pos);

#endif
