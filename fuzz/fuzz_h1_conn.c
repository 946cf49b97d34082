/* fuzz_h1_conn.c - libFuzzer target: h1's connections (http/h1.c), not only its parser.
 *
 * Each input is a case (h1_conn_case.h): requests pipelined on one connection, served by a
 * server with the case's buffer sizes over a socketpair (sy_h1_adopt), and a schedule of
 * writes with the event loop run until quiet between them, so that reads, buffer growth
 * and compaction meet parsing at every point. An echo handler answers each request with
 * what it saw (method, path, query, fields, the body's length and hash), at once or from
 * the loop later, so that pipelined requests wait behind pending ones. Every answer is read
 * back and compared with the reference the generator made: a difference, a missing or an
 * extra answer, a stall, all abort with what differed. ASan catches h1 reading memory it
 * no longer owns; only the comparison catches it reading the wrong bytes.
 *
 * In raw mode the input's own bytes are sent; the answers are only checked for form, and
 * for one per request the handler saw.
 *
 * Also built without libFuzzer, with fuzz/standalone.c, for `make test`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sockios.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "h1_conn_answer.h"
#include "h1_conn_case.h"
#include "http/h1.h"

#define MAX_SETTLES 4096    /* settle points per input: one-byte writes add up */
#define MAX_PASSES  1000000 /* loop passes in one settle before h1 is said to spin */

struct run {
    const fz_case_t *c;
    struct event_base *base;
    sy_h1_server_t *srv;
    int fd;                /* the client's end of the socketpair */
    size_t sent;           /* bytes of c->bytes written */
    bool peer_gone;        /* a send failed: h1 closed its end */
    bool eof;              /* h1's end is closed (recv said 0 or reset) */
    fz_buf_t rx;           /* everything h1 sent */
    size_t handled;        /* requests given to the handler */
    size_t answered;       /* answers the handler gave */
    sy_h1_req_t *pending;  /* waiting for `later` or `timer` */
    size_t pending_k;      /* its number */
    uint8_t pending_style; /* how it is to be answered */
    struct event *later;   /* made active to answer `pending` */
    struct event *timer;   /* a zero timeout that answers `pending` */
    unsigned settles;      /* settle() calls so far (MAX_SETTLES at most) */
    uint64_t rnd;          /* raw mode: the pieces' sizes and the answers' styles */
    fz_buf_t echo;         /* the handler's scratch */
};

/* ---- failing ----------------------------------------------------------------------- */

static void dump(const char *label, const char *p, size_t n, size_t max)
{
    fprintf(stderr, "  %s (%zu bytes): \"", label, n);
    for (size_t i = 0; i < n && i < max; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '\n')
            fputs("\\n", stderr);
        else if (ch == '\r')
            fputs("\\r", stderr);
        else if (ch == '"' || ch == '\\')
            fprintf(stderr, "\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f)
            fprintf(stderr, "\\x%02x", ch);
        else
            fputc(ch, stderr);
    }
    fprintf(stderr, "\"%s\n", n > max ? "..." : "");
}

static void fail(const struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void fail(const struct run *r, const char *fmt, ...)
{
    const fz_case_t *c = r->c;
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz-h1-conn: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr,
            "\n  case: %s, %zu requests, %zu bytes (%zu sent), first_buffer %zu, read_room "
            "%zu, max_head %zu, max_body %zu; %zu handled, %zu answered, %u settles\n",
            c->mode == FZ_RAW ? "raw" : "structured", c->n_reqs, c->bytes.len, r->sent,
            c->opts.first_buffer, c->opts.read_room, c->opts.max_head, c->opts.max_body, r->handled,
            r->answered, r->settles);
    abort();
}

/* ---- the echo handler ----------------------------------------------------------------- */

static void stream_closed(void *arg)
{
    (void)arg; /* the client never goes away first here; the check sees a short stream */
}

static void answer(struct run *r, sy_h1_req_t *req, size_t k, uint8_t style)
{
    const char *vals[FZ_N_NAMES];
    for (size_t i = 0; i < FZ_N_NAMES; i++)
        vals[i] = sy_h1_header(req, fz_names[i]);
    size_t blen;
    const char *body = sy_h1_body(req, &blen);
    r->echo.len = 0;
    fz_echo(&r->echo, sy_h1_method_name(req), sy_h1_path(req), sy_h1_query(req), vals, blen,
            fz_fnv1a(body, blen));
    char hash[24];
    snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)fz_fnv1a(r->echo.p, r->echo.len));
    bool head = strcmp(sy_h1_method_name(req), "HEAD") == 0; /* sy_h1_method says GET */
    if (sy_h1_add_header(req, "X-Echo", hash) < 0 ||
        (head && sy_h1_add_header(req, "X-Head", "1") < 0))
        fail(r, "sy_h1_add_header refused a short header");
    bool stream =
        r->c->mode == FZ_STRUCTURED ? r->c->reqs[k].stream : fz_style_is_stream(style) && !head;
    int status = r->c->mode == FZ_STRUCTURED ? r->c->reqs[k].status : fz_style_status(style);
    r->answered++;
    if (!stream) {
        sy_h1_reply(req, status, "text/plain", r->echo.p, r->echo.len);
        return; /* req may be gone */
    }
    sy_h1_stream_start(req, 200, "text/plain", stream_closed, r);
    size_t third = r->echo.len / 3;
    if (sy_h1_stream_send(req, r->echo.p, third) == 0 &&
        sy_h1_stream_send(req, r->echo.p + third, 0) == 0)
        sy_h1_stream_send(req, r->echo.p + third, r->echo.len - third);
    sy_h1_stream_end(req);
}

static void answer_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct run *r = arg;
    sy_h1_req_t *req = r->pending;
    r->pending = NULL;
    if (req)
        answer(r, req, r->pending_k, r->pending_style);
}

static void on_request(sy_h1_req_t *req, void *arg)
{
    struct run *r = arg;
    const fz_case_t *c = r->c;
    size_t k = r->handled++;
    if (r->pending)
        fail(r, "request %zu handed over while request %zu is pending", k + 1, r->pending_k + 1);
    if (c->mode == FZ_STRUCTURED && (k >= c->n_reqs || !c->reqs[k].echo))
        fail(r, "request %zu handed over, but the client sent %zu the handler should see", k + 1,
             k);
    uint8_t style = c->mode == FZ_STRUCTURED ? c->reqs[k].style : (uint8_t)fz_rand(&r->rnd);
    switch (fz_style_defer(style)) {
    case FZ_SYNC:
        answer(r, req, k, style);
        break;
    case FZ_ACTIVE:
        r->pending = req;
        r->pending_k = k;
        r->pending_style = style;
        event_active(r->later, EV_TIMEOUT, 0);
        break;
    case FZ_TIMER:
        r->pending = req;
        r->pending_k = k;
        r->pending_style = style;
        evtimer_add(r->timer, &(struct timeval){0});
        break;
    }
}

/* ---- the client ----------------------------------------------------------------------- */

static void client_read(struct run *r)
{
    while (!r->eof) {
        char buf[65536];
        ssize_t n = recv(r->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0)
            fz_buf_put(&r->rx, buf, (size_t)n);
        else if (n == 0 || errno == ECONNRESET)
            r->eof = true; /* a reset comes after every byte sent before it */
        else if (errno != EINTR)
            break;
    }
}

/* What changes while h1 does anything: the run is quiet when none of it does. */
struct progress {
    size_t rx, handled, answered;
    int unread; /* bytes h1 has not read yet (SIOCOUTQ) */
    bool eof;
};

static struct progress progress(const struct run *r)
{
    struct progress p = {r->rx.len, r->handled, r->answered, 0, r->eof};
    if (ioctl(r->fd, SIOCOUTQ, &p.unread) < 0)
        p.unread = -1;
    return p;
}

/* Runs the loop (and reads the answers) until nothing happens twice running. True when
 * anything happened. */
static bool settle(struct run *r)
{
    bool any = false;
    unsigned still = 0;
    r->settles++;
    for (unsigned i = 0; still < 2; i++) {
        if (i == MAX_PASSES)
            fail(r, "h1 is never quiet");
        struct progress a = progress(r);
        event_base_loop(r->base, EVLOOP_NONBLOCK);
        client_read(r);
        struct progress b = progress(r);
        if (a.rx == b.rx && a.handled == b.handled && a.answered == b.answered &&
            a.unread == b.unread && a.eof == b.eof) {
            still++;
        } else {
            still = 0;
            any = true;
        }
    }
    return any;
}

/* Writes the next n bytes, letting h1 run while the socket is full. */
static void send_bytes(struct run *r, size_t n)
{
    const fz_case_t *c = r->c;
    size_t end = r->sent + n;
    while (r->sent < end && !r->peer_gone) {
        ssize_t k = send(r->fd, c->bytes.p + r->sent, end - r->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k > 0) {
            r->sent += (size_t)k;
        } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!settle(r))
                fail(r, "stall: h1 reads no more with %zu bytes to write", end - r->sent);
        } else if (k < 0 && errno == EINTR) {
            continue;
        } else {
            r->peer_gone = true; /* h1 closed: what it answered says whether it should have */
        }
    }
}

static void drive_schedule(struct run *r)
{
    const fz_case_t *c = r->c;
    for (size_t i = 0; i < c->n_ops && r->sent < c->bytes.len && !r->peer_gone; i++) {
        if (r->settles >= MAX_SETTLES)
            break;
        fz_step_t s = fz_case_step(c, c->ops[i], r->sent);
        if (s.bytewise) {
            for (size_t k = 0; k < s.n && !r->peer_gone; k++) {
                send_bytes(r, 1);
                settle(r);
            }
        } else {
            send_bytes(r, s.n);
            if (s.settle)
                settle(r);
        }
    }
}

static void drive_raw(struct run *r)
{
    const fz_case_t *c = r->c;
    uint64_t rnd = c->seed;
    while (r->sent < c->bytes.len && !r->peer_gone && r->settles < MAX_SETTLES) {
        uint64_t x = fz_rand(&rnd);
        size_t n = x % 4 == 0 ? 1 : x % 4 == 1 ? 1 + (x >> 8) % 16 : 1 + (x >> 8) % 4096;
        size_t left = c->bytes.len - r->sent;
        send_bytes(r, n < left ? n : left);
        settle(r);
    }
}

/* ---- the checks ----------------------------------------------------------------------- */

/* The first line where the echo h1's handler gave differs from the reference. */
static void first_difference(const fz_buf_t *want, const fz_buf_t *got)
{
    size_t i = 0, line = 1, start = 0;
    for (; i < want->len && i < got->len && want->p[i] == got->p[i]; i++)
        if (want->p[i] == '\n') {
            line++;
            start = i + 1;
        }
    if (i == want->len && i == got->len)
        return;
    const char *we = memchr(want->p + start, '\n', want->len - start);
    const char *ge = memchr(got->p + start, '\n', got->len - start);
    fprintf(stderr, "  the first difference, on line %zu of the echo:\n", line);
    dump("want", want->p + start, (we ? (size_t)(we - want->p) : want->len) - start, 300);
    dump("got", got->p + start, (ge ? (size_t)(ge - got->p) : got->len) - start, 300);
}

static void fail_answer(const struct run *r, size_t k, size_t at, const fz_answer_t *a,
                        const char *what) __attribute__((noreturn));

/* Request k's answer (at rx[at], a when it was read whole) is not the reference's. */
static void fail_answer(const struct run *r, size_t k, size_t at, const fz_answer_t *a,
                        const char *what)
{
    const fz_req_t *q = &r->c->reqs[k];
    fprintf(stderr, "fuzz-h1-conn: request %zu of %zu, %s: %s\n", k + 1, r->c->n_reqs, q->desc,
            what);
    dump("sent", r->c->bytes.p + q->start, q->end - q->start, 600);
    if (q->echo)
        dump("want echo", q->echo_text.p, q->echo_text.len, 1200);
    dump("got", r->rx.p + at, r->rx.len - at, 1200);
    if (q->echo && a && a->has_body)
        first_difference(&q->echo_text, &a->body);
    fail(r, "answer %zu is wrong", k + 1);
}

/* One answer against its request's reference. */
static void compare(const struct run *r, size_t k, size_t at, const fz_answer_t *a)
{
    const fz_req_t *q = &r->c->reqs[k];
    char want[24];
    snprintf(want, sizeof(want), "%016llx", (unsigned long long)q->echo_hash);
    if (a->status != q->status)
        fail_answer(r, k, at, a, "the status differs");
    if (strcmp(a->connection, q->conn ? q->conn : "") != 0)
        fail_answer(r, k, at, a, "the Connection field differs");
    if (!q->echo) {
        if (a->echo[0])
            fail_answer(r, k, at, a, "an echo where h1 should have refused the request");
        return;
    }
    if (strcmp(a->echo, want) != 0 || a->head_mark != q->head_only)
        fail_answer(r, k, at, a,
                    "the echo's hash or HEAD mark differs (the handler saw another request)");
    if (q->stream && (a->chunked != (q->minor == 1) || a->length >= 0))
        fail_answer(r, k, at, a, "a stream not framed as one");
    if (q->head_only && q->status != 204 && a->length != (int64_t)q->echo_text.len)
        fail_answer(r, k, at, a, "a HEAD answer's Content-Length differs");
    bool body = !q->head_only && q->status != 204;
    if (a->has_body != body)
        fail_answer(r, k, at, a, body ? "no body" : "a body where none belongs");
    if (body &&
        (a->body.len != q->echo_text.len || memcmp(a->body.p, q->echo_text.p, a->body.len) != 0))
        fail_answer(r, k, at, a, "the echo differs (the handler saw another request)");
}

static void check_structured(const struct run *r)
{
    const fz_case_t *c = r->c;
    fz_answer_t a = {0};
    size_t at = 0;
    for (size_t k = 0; k < c->n_reqs; k++) {
        const fz_req_t *q = &c->reqs[k];
        bool continued = false;
        for (;;) {
            const char *why = "";
            ssize_t n =
                fz_answer_read(&a, r->rx.p + at, r->rx.len - at, r->eof, q->head_only, &why);
            if (n < 0)
                fail_answer(r, k, at, NULL, why);
            if (n == 0)
                fail_answer(r, k, at, NULL,
                            "no answer (or half of one) before the connection ended");
            if (a.status == 100 && (!q->continue_ok || continued))
                fail_answer(r, k, at, &a, "an unasked or second 100 Continue");
            if (a.status != 100)
                compare(r, k, at, &a);
            at += (size_t)n;
            if (a.status != 100)
                break;
            continued = true;
        }
    }
    fz_buf_free(&a.body);
    if (at < r->rx.len) {
        dump("extra", r->rx.p + at, r->rx.len - at, 600);
        fail(r, "%zu bytes after the last answer", r->rx.len - at);
    }
    size_t echoes = 0;
    for (size_t k = 0; k < c->n_reqs; k++)
        echoes += c->reqs[k].echo;
    if (r->handled != echoes)
        fail(r, "the handler saw %zu requests, not %zu", r->handled, echoes);
}

static bool refusal(int status)
{
    return status == 400 || status == 413 || status == 431 || status == 501 || status == 505;
}

static void check_raw(const struct run *r)
{
    fz_answer_t a = {0};
    size_t at = 0, echoes = 0;
    bool closed = false;
    while (at < r->rx.len) {
        const char *why = "";
        if (closed)
            break;
        ssize_t n = fz_answer_read(&a, r->rx.p + at, r->rx.len - at, r->eof, false, &why);
        if (n <= 0 && a.status && !a.echo[0] && refusal(a.status))
            /* a refusal of HEAD has no body: nothing says so but the request */
            n = fz_answer_read(&a, r->rx.p + at, r->rx.len - at, r->eof, true, &why);
        if (n <= 0) {
            dump("got", r->rx.p + at, r->rx.len - at, 1200);
            fail(r, "answer %zu is %s", echoes + 1, n < 0 ? why : "cut short");
        }
        if (a.echo[0] && a.has_body) {
            char got[24];
            snprintf(got, sizeof(got), "%016llx",
                     (unsigned long long)fz_fnv1a(a.body.p, a.body.len));
            if (strcmp(got, a.echo) != 0) {
                dump("got", r->rx.p + at, (size_t)n, 1200);
                fail(r, "answer %zu: the body is not what the handler gave", echoes + 1);
            }
        }
        if (a.status != 100 && !a.echo[0] && !refusal(a.status)) {
            dump("got", r->rx.p + at, (size_t)n, 1200);
            fail(r, "answer %zu: neither the handler's nor a refusal", echoes + 1);
        }
        echoes += a.echo[0] != 0;
        closed = strcmp(a.connection, "close") == 0;
        at += (size_t)n;
    }
    fz_buf_free(&a.body);
    if (at < r->rx.len) {
        dump("extra", r->rx.p + at, r->rx.len - at, 600);
        fail(r, "%zu bytes after an answer that closed the connection", r->rx.len - at);
    }
    if (echoes != r->answered)
        fail(r, "%zu answers from the handler arrived, it gave %zu", echoes, r->answered);
}

/* ---- one input -------------------------------------------------------------------------- */

static void run_open(struct run *r)
{
    int sv[2];
    r->base = event_base_new();
    if (!r->base || sy_h1_listen(&r->srv, r->base, "127.0.0.1", 0, &r->c->opts, on_request, r) < 0)
        fail(r, "no event base or server");
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
        fail(r, "socketpair: %s", strerror(errno));
    r->fd = sv[0];
    r->later = event_new(r->base, -1, 0, answer_later, r);
    r->timer = evtimer_new(r->base, answer_later, r);
    if (!r->later || !r->timer || sy_h1_adopt(r->srv, sv[1]) < 0)
        fail(r, "no events, or sy_h1_adopt refused");
}

static void run_close(struct run *r)
{
    r->pending = NULL;
    event_free(r->later);
    event_free(r->timer);
    sy_h1_free(r->srv);
    close(r->fd);
    event_base_free(r->base);
    fz_buf_free(&r->rx);
    fz_buf_free(&r->echo);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_case_t c;
    fz_case_decode(&c, data, size);
    struct run r = {.c = &c, .rnd = c.seed ^ 0x5eed};
    run_open(&r);
    if (c.mode == FZ_STRUCTURED)
        drive_schedule(&r);
    else
        drive_raw(&r);
    send_bytes(&r, c.bytes.len - r.sent);
    settle(&r);
    /* Every answer is in: the client's end tells h1 that nothing more comes. Not sooner:
     * h1 drops what it has not written yet when it reads the end. */
    if (!r.peer_gone)
        shutdown(r.fd, SHUT_WR);
    settle(&r);
    if (!r.eof)
        fail(&r, "h1 kept the connection open after the client's end");
    if (c.mode == FZ_STRUCTURED)
        check_structured(&r);
    else
        check_raw(&r);
    run_close(&r);
    fz_case_free(&c);
    return 0;
}
