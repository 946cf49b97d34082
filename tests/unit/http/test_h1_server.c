/* test_h1_server.c - the h1 server in-process, on a real loopback socket: answers given
 * after the handler has returned (what group commit will do), pipelined requests behind a
 * pending one, a drain that waits for a pending answer, the connection cap, a stream
 * answering HEAD, a stalled body without a rate floor, and a shared body written from its
 * one buffer to connections that read late or never. */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../harness.h"
#include "http/h1.h"

struct fixture {
    struct event_base *base;
    sy_h1_server_t *srv;
    struct event *later; /* answers the pending request */
    sy_h1_req_t *pending;
    int handled;
    int client;
    char got[8192];
    size_t got_len;
    bool drained;
};

static void answer_later(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct fixture *f = arg;
    char body[32];
    int n = snprintf(body, sizeof(body), "{\"n\":%d}", f->handled);
    sy_h1_req_t *req = f->pending;
    f->pending = NULL;
    sy_h1_reply(req, 200, "application/json", body, (size_t)n);
}

/* Leaves every request pending; a timer answers it 20 ms later. */
static void handler(sy_h1_req_t *req, void *arg)
{
    struct fixture *f = arg;
    assert_null(f->pending); /* never a second request while one is pending */
    f->handled++;
    f->pending = req;
    evtimer_add(f->later, &(struct timeval){.tv_usec = 20000});
}

static void on_client(evutil_socket_t fd, short what, void *arg)
{
    struct fixture *f = arg;
    if (what & EV_TIMEOUT) { /* 5 s without an answer: give up, the checks fail */
        event_base_loopbreak(f->base);
        return;
    }
    ssize_t n = recv(fd, f->got + f->got_len, sizeof(f->got) - 1 - f->got_len, 0);
    if (n > 0)
        f->got_len += (size_t)n;
    f->got[f->got_len] = '\0';
    if (n <= 0 || strstr(f->got, "{\"n\":2}"))
        event_base_loopbreak(f->base);
}

static void drained(void *arg)
{
    struct fixture *f = arg;
    f->drained = true;
    event_base_loopbreak(f->base);
}

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof(f));
    f.base = event_base_new();
    sy_h1_opts_t o = {.max_body = 4096, .idle_s = 5};
    if (!f.base || sy_h1_listen(&f.srv, f.base, "127.0.0.1", 0, &o, handler, &f) < 0)
        return -1;
    f.later = evtimer_new(f.base, answer_later, &f);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(sy_h1_port(f.srv))};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    f.client = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(f.client, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    close(f->client);
    event_free(f->later);
    sy_h1_free(f->srv);
    event_base_free(f->base);
    return 0;
}

static void run_until_break(struct fixture *f)
{
    struct event *rd = event_new(f->base, f->client, EV_READ | EV_PERSIST, on_client, f);
    event_add(rd, &(struct timeval){.tv_sec = 5});
    event_base_dispatch(f->base);
    event_free(rd);
}

static void answers_after_the_handler_returns_keep_their_order(void **state)
{
    struct fixture *f = *state;
    const char two[] = "GET /a HTTP/1.1\r\nHost: t\r\n\r\nGET /b HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(send(f->client, two, sizeof(two) - 1, 0), (ssize_t)(sizeof(two) - 1));
    run_until_break(f);
    assert_int_equal(f->handled, 2);
    const char *first = strstr(f->got, "{\"n\":1}"), *second = strstr(f->got, "{\"n\":2}");
    assert_non_null(first);
    assert_non_null(second);
    assert_true(first < second);
    assert_null(strstr(f->got, "Connection: close"));
}

static void a_drain_waits_for_the_pending_answer(void **state)
{
    struct fixture *f = *state;
    const char one[] = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(send(f->client, one, sizeof(one) - 1, 0), (ssize_t)(sizeof(one) - 1));
    /* Turn the loop until the request is pending, then drain. */
    while (!f->pending)
        event_base_loop(f->base, EVLOOP_ONCE);
    sy_h1_drain(f->srv, 5, drained, f);
    assert_false(f->drained);
    event_base_dispatch(f->base); /* the timer answers; the connection closes; done */
    assert_true(f->drained);
    char buf[1024];
    ssize_t n = recv(f->client, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "HTTP/1.1 200 OK"));
    assert_non_null(strstr(buf, "Connection: close"));
    assert_non_null(strstr(buf, "{\"n\":1}"));
}

/* ---- the connection cap, over socketpairs (sy_h1_adopt) --------------------------------- */

struct held {
    int n; /* requests the handler holds unanswered */
};

static void hold(sy_h1_req_t *req, void *arg)
{
    (void)req;
    ((struct held *)arg)->n++;
}

static void turn(struct event_base *base)
{
    for (int i = 0; i < 20; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
}

/* A connection made and handed to srv; *client gets our end. */
static int adopt(sy_h1_server_t *srv, int *client)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    *client = sv[0];
    return sy_h1_adopt(srv, sv[1]);
}

/* True when the server closed its end of `fd` (EOF, or a reset). */
static bool closed_by_server(int fd)
{
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    return n == 0 || (n < 0 && errno != EAGAIN);
}

static void a_full_server_closes_whoever_waited_longest_for_a_head(void **state)
{
    (void)state;
    struct event_base *base = event_base_new();
    struct held held = {0};
    sy_h1_server_t *srv;
    sy_h1_opts_t o = {.max_body = 4096, .max_conns = 2};
    assert_int_equal(sy_h1_listen(&srv, base, "127.0.0.1", 0, &o, hold, &held), 0);
    const char req[] = "GET /x HTTP/1.1\r\nHost: t\r\n\r\n";

    int a, b, c, d, e;
    assert_int_equal(adopt(srv, &a), 0);
    assert_int_equal(adopt(srv, &b), 0);
    assert_int_equal(send(a, "GET /x HTTP/1.1\r\nHo", 19, 0), 19); /* a head, half-sent */
    assert_int_equal(send(b, req, sizeof(req) - 1, 0), (ssize_t)sizeof(req) - 1);
    turn(base);
    assert_int_equal(held.n, 1); /* b's request is with the handler */

    /* Full: a, waiting for the rest of its head, is closed for c; b is not touched. */
    assert_int_equal(adopt(srv, &c), 0);
    turn(base);
    assert_true(closed_by_server(a));
    assert_false(closed_by_server(b));

    /* c, new and owing its head, is now the one waiting longest: d takes its place. */
    assert_int_equal(adopt(srv, &d), 0);
    turn(base);
    assert_true(closed_by_server(c));
    assert_int_equal(send(d, req, sizeof(req) - 1, 0), (ssize_t)sizeof(req) - 1);
    turn(base);
    assert_int_equal(held.n, 2);

    /* Nobody waits for a head (both are with the handler): the newcomer is refused. */
    assert_int_equal(adopt(srv, &e), -EBUSY);
    assert_true(closed_by_server(e));
    assert_false(closed_by_server(b));
    assert_false(closed_by_server(d));

    sy_h1_free(srv);
    event_base_free(base);
    for (int *fd = (int[]){a, b, c, d, e, -1}; *fd >= 0; fd++)
        close(*fd);
}

/* Reads what the server sent on fd until it closes or `ms` pass. */
static size_t read_all(struct event_base *base, int fd, char *buf, size_t cap, int ms)
{
    size_t got = 0;
    for (int t = 0; t < ms / 10; t++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
        if (n == 0)
            break;
        if (n > 0)
            got += (size_t)n;
        else
            usleep(10000);
    }
    buf[got] = '\0';
    return got;
}

static void stream_to(sy_h1_req_t *req, void *arg)
{
    (void)arg;
    sy_h1_stream_start(req, 200, "text/event-stream", NULL, NULL);
    assert_int_equal(sy_h1_stream_send(req, "data: 1\n\n", 9), 0);
    sy_h1_stream_end(req);
}

/* A server with options `o` answering with `answer`, one connection sending `req`, and what came
 * back into buf within `ms` (until the server closes). */
static void exchange_once(const sy_h1_opts_t *o, sy_h1_handler_fn answer, void *arg,
                          const char *req, char *buf, size_t cap, int ms)
{
    struct event_base *base = event_base_new();
    sy_h1_server_t *srv;
    assert_int_equal(sy_h1_listen(&srv, base, "127.0.0.1", 0, o, answer, arg), 0);
    int fd;
    assert_int_equal(adopt(srv, &fd), 0);
    assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    read_all(base, fd, buf, cap, ms);
    close(fd);
    sy_h1_free(srv);
    event_base_free(base);
}

static void a_stream_answering_head_sends_its_head_only(void **state)
{
    (void)state;
    sy_h1_opts_t o = {.max_body = 4096};
    char buf[2048];
    exchange_once(&o, stream_to, NULL, "HEAD /s HTTP/1.1\r\nHost: t\r\n\r\n", buf, sizeof(buf),
                  2000);
    assert_non_null(strstr(buf, "HTTP/1.1 200 OK"));
    char *end = strstr(buf, "\r\n\r\n");
    assert_non_null(end);
    assert_string_equal(end, "\r\n\r\n"); /* no chunk, no end chunk: nothing after the head */
}

static void a_body_that_stops_gets_408_without_a_rate_floor(void **state)
{
    (void)state;
    struct held held = {0};
    sy_h1_opts_t o = {.max_body = 4096, .idle_s = 1, .min_body_rate = 0};
    char buf[2048];
    exchange_once(&o, hold, &held, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nhalf",
                  buf, sizeof(buf), 3000);
    assert_non_null(strstr(buf, "HTTP/1.1 408 Request Timeout"));
    assert_non_null(strstr(buf, "\"request_timeout\""));
    assert_int_equal(held.n, 0);
}

/* ---- shared bodies (a scrape sent to many connections without a copy each) ------------ */

#define BIG (1024 * 1024) /* past a socketpair's buffer: the body waits in the server */

static void answer_shared(sy_h1_req_t *req, void *arg)
{
    if (strcmp(sy_h1_path(req), "/big") == 0)
        sy_h1_reply_shared(req, 200, "text/plain", arg);
    else
        sy_h1_reply(req, 200, "text/plain", "small", 5);
}

/* Reads from fd, running the loop meanwhile, until `least` bytes came and nothing more for
 * 200 ms (or 5 s pass, or `cap` bytes came). */
static size_t read_n(struct event_base *base, int fd, char *buf, size_t least, size_t cap)
{
    size_t got = 0;
    for (int t = 0, quiet = 0; t < 500 && got < cap && quiet < 20; t++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        ssize_t n = recv(fd, buf + got, cap - got, 0);
        if (n > 0) {
            got += (size_t)n;
            quiet = 0;
        } else {
            quiet += got >= least;
            usleep(10000);
        }
    }
    return got;
}

static void a_shared_body_is_written_from_its_buffer_in_order_with_pipelined_answers(void **state)
{
    (void)state;
    char *big = malloc(BIG);
    assert_non_null(big);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (char)('a' + i % 26);
    sy_h1_shared_t *body = sy_h1_shared_new(big, BIG);
    assert_non_null(body);
    assert_false(sy_h1_shared_is_held(body));

    struct event_base *base = event_base_new();
    sy_h1_server_t *srv;
    sy_h1_opts_t o = {.max_body = 4096, .idle_s = 5};
    assert_int_equal(sy_h1_listen(&srv, base, "127.0.0.1", 0, &o, answer_shared, body), 0);
    int fd;
    assert_int_equal(adopt(srv, &fd), 0);
    const char reqs[] = "GET /big HTTP/1.1\r\nHost: t\r\n\r\n"
                        "GET /small HTTP/1.1\r\nHost: t\r\n\r\n"
                        "HEAD /big HTTP/1.1\r\nHost: t\r\n\r\n"
                        "GET /big HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(send(fd, reqs, sizeof(reqs) - 1, 0), (ssize_t)sizeof(reqs) - 1);
    turn(base);
    /* the client reads nothing yet: the connection holds the body, not a copy of it */
    assert_true(sy_h1_shared_is_held(body));

    size_t cap = 3 * BIG;
    char *got = malloc(cap);
    assert_non_null(got);
    size_t n = read_n(base, fd, got, 2 * BIG, cap);
    char *at = got, *end = got + n;
    /* 1: the big body whole, from the shared buffer */
    const char *h = memmem(at, (size_t)(end - at), "\r\n\r\n", 4);
    assert_non_null(h);
    assert_non_null(memmem(at, (size_t)(h + 2 - at), "Content-Length: 1048576\r\n", 25));
    at = (char *)h + 4;
    assert_true(end - at >= BIG);
    assert_memory_equal(at, big, BIG);
    at += BIG;
    /* 2: the small answer after it, not inside it */
    h = memmem(at, (size_t)(end - at), "\r\n\r\n", 4);
    assert_non_null(h);
    assert_true(strncmp(at, "HTTP/1.1 200 OK\r\n", 17) == 0);
    at = (char *)h + 4;
    assert_true(end - at >= 5);
    assert_memory_equal(at, "small", 5);
    at += 5;
    /* 3: HEAD: its length, no body */
    h = memmem(at, (size_t)(end - at), "\r\n\r\n", 4);
    assert_non_null(h);
    assert_non_null(memmem(at, (size_t)(h + 2 - at), "Content-Length: 1048576\r\n", 25));
    at = (char *)h + 4;
    /* 4: the big body again */
    assert_true(strncmp(at, "HTTP/1.1 200 OK\r\n", 17) == 0);
    h = memmem(at, (size_t)(end - at), "\r\n\r\n", 4);
    assert_non_null(h);
    at = (char *)h + 4;
    assert_int_equal(end - at, BIG);
    assert_memory_equal(at, big, BIG);
    turn(base);
    assert_false(sy_h1_shared_is_held(body)); /* written: the connection let it go */

    close(fd);
    sy_h1_free(srv);
    event_base_free(base);
    sy_h1_shared_release(body);
    free(got);
    free(big);
}

static void a_connection_freed_unread_drops_its_reference(void **state)
{
    (void)state;
    char *big = calloc(1, BIG);
    assert_non_null(big);
    sy_h1_shared_t *body = sy_h1_shared_new(big, BIG);
    free(big);
    struct event_base *base = event_base_new();
    sy_h1_server_t *srv;
    sy_h1_opts_t o = {.max_body = 4096, .idle_s = 5};
    assert_int_equal(sy_h1_listen(&srv, base, "127.0.0.1", 0, &o, answer_shared, body), 0);
    int fd[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(adopt(srv, &fd[i]), 0);
        const char req[] = "GET /big HTTP/1.1\r\nHost: t\r\n\r\n";
        assert_int_equal(send(fd[i], req, sizeof(req) - 1, 0), (ssize_t)sizeof(req) - 1);
    }
    turn(base);
    assert_true(sy_h1_shared_is_held(body)); /* three readers that never read */
    sy_h1_free(srv);
    assert_false(sy_h1_shared_is_held(body)); /* ASan: nothing leaked, nothing freed twice */
    sy_h1_shared_release(body);
    event_base_free(base);
    for (int i = 0; i < 3; i++)
        close(fd[i]);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(answers_after_the_handler_returns_keep_their_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_drain_waits_for_the_pending_answer, setup, teardown),
        cmocka_unit_test(a_full_server_closes_whoever_waited_longest_for_a_head),
        cmocka_unit_test(a_stream_answering_head_sends_its_head_only),
        cmocka_unit_test(a_body_that_stops_gets_408_without_a_rate_floor),
        cmocka_unit_test(a_shared_body_is_written_from_its_buffer_in_order_with_pipelined_answers),
        cmocka_unit_test(a_connection_freed_unread_drops_its_reference),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
