/* test_sock.c - the proxy's buffered connections (src/proxy/sock.h) on real sockets: reading
 * paused at read_max and resumed as the input drains, writes sent at once or queued and
 * told when drained, the end, a read timeout, and connecting (made, refused with its errno
 * and nothing sent, and a write queued before it is). */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../harness.h"
#include "proxy/sock.h"

struct seen {
    int reads, writes, events, last;
};

static void on_read(struct sy_sock *s, void *arg)
{
    (void)s;
    ((struct seen *)arg)->reads++;
}

static void on_write(struct sy_sock *s, void *arg)
{
    (void)s;
    ((struct seen *)arg)->writes++;
}

static void on_event(struct sy_sock *s, int what, void *arg)
{
    (void)s;
    struct seen *e = arg;
    e->events++;
    e->last = what;
}

/* Runs the loop until nothing is ready, at most `rounds` times. */
static void spin(struct event_base *b, int rounds)
{
    for (int i = 0; i < rounds; i++)
        event_base_loop(b, EVLOOP_NONBLOCK);
}

static void pair(int fds[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
}

static void reading_pauses_at_read_max_and_resumes(void **state)
{
    (void)state;
    struct event_base *b = event_base_new();
    int fds[2];
    pair(fds);
    struct sy_sock *s = sy_sock_accepted(b, fds[0]);
    assert_non_null(s);
    struct seen e = {0};
    sy_sock_setcb(s, on_read, NULL, on_event, &e);
    s->read_max = 1000;
    sy_sock_read(s, true);
    char data[5000];
    memset(data, 'x', sizeof(data));
    assert_int_equal(write(fds[1], data, sizeof(data)), (ssize_t)sizeof(data));
    spin(b, 20);
    assert_int_equal(evbuffer_get_length(s->in), 1000); /* no more than read_max */
    assert_true(s->paused);
    assert_true(e.reads > 0);
    size_t got = 0;
    for (int i = 0; i < 20 && got < sizeof(data); i++) {
        got += evbuffer_get_length(s->in);
        evbuffer_drain(s->in, evbuffer_get_length(s->in)); /* resumes reading */
        spin(b, 5);
    }
    assert_int_equal(got, sizeof(data));
    assert_int_equal(e.events, 0);
    sy_sock_free(s);
    close(fds[1]);
    event_base_free(b);
}

static void writes_at_once_or_queued(void **state)
{
    (void)state;
    struct event_base *b = event_base_new();
    int fds[2];
    pair(fds);
    struct sy_sock *s = sy_sock_accepted(b, fds[0]);
    struct seen e = {0};
    sy_sock_setcb(s, on_read, on_write, on_event, &e);
    sy_sock_write(s, "hello", 5);
    assert_int_equal(sy_sock_queued(s), 0); /* sent before any loop */
    char buf[65536];
    assert_int_equal(read(fds[1], buf, sizeof(buf)), 5);
    /* more than the socket takes: the rest is queued, and sent as the peer reads */
    size_t big = 8u << 20, read_back = 0;
    char *data = malloc(big);
    assert_non_null(data);
    memset(data, 'y', big);
    sy_sock_write(s, data, big);
    assert_true(sy_sock_queued(s) > 0);
    s->write_low = 0;
    for (int i = 0; i < 100000 && read_back < big; i++) {
        ssize_t n = recv(fds[1], buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0)
            read_back += (size_t)n;
        spin(b, 1);
    }
    assert_int_equal(read_back, big);
    assert_int_equal(sy_sock_queued(s), 0);
    assert_true(e.writes > 0); /* told once it drained */
    assert_int_equal(e.events, 0);
    free(data);
    sy_sock_free(s);
    close(fds[1]);
    event_base_free(b);
}

static void the_end_and_a_read_timeout(void **state)
{
    (void)state;
    struct event_base *b = event_base_new();
    int fds[2];
    pair(fds);
    struct sy_sock *s = sy_sock_accepted(b, fds[0]);
    struct seen e = {0};
    sy_sock_setcb(s, on_read, NULL, on_event, &e);
    sy_sock_timeouts(s, 50, 0);
    sy_sock_read(s, true);
    event_base_loop(b, EVLOOP_ONCE); /* nothing comes: the timeout */
    assert_int_equal(e.events, 1);
    assert_int_equal(e.last, SY_SOCK_TIMEOUT);
    assert_false(s->reading); /* turned off before it is told */
    sy_sock_read(s, true);
    close(fds[1]);
    event_base_loop(b, EVLOOP_ONCE);
    assert_int_equal(e.events, 2);
    assert_int_equal(e.last, SY_SOCK_EOF);
    sy_sock_free(s);
    event_base_free(b);
}

/* A loopback listener: its port into *port. */
static int listener(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void connecting(void **state)
{
    (void)state;
    struct event_base *b = event_base_new();
    uint16_t port;
    int l = listener(&port);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sy_sock *s = sy_sock_connect(b, (struct sockaddr *)&a, sizeof(a), 1000);
    assert_non_null(s);
    struct seen e = {0};
    sy_sock_setcb(s, on_read, NULL, on_event, &e);
    sy_sock_write(s, "early", 5); /* before it is connected: queued */
    assert_int_equal(sy_sock_queued(s), 5);
    for (int i = 0; i < 50 && !e.events; i++)
        event_base_loop(b, EVLOOP_ONCE);
    assert_int_equal(e.last, SY_SOCK_CONNECTED);
    assert_int_equal(sy_sock_queued(s), 0); /* and sent once it was */
    assert_int_equal(s->sent, 5);           /* what reached the kernel: the request left us */
    int peer = accept(l, NULL, NULL);
    char buf[16];
    assert_int_equal(recv(peer, buf, sizeof(buf), 0), 5);
    assert_memory_equal(buf, "early", 5);
    close(peer);
    sy_sock_free(s);
    close(l); /* nothing listens on the port now */
    s = sy_sock_connect(b, (struct sockaddr *)&a, sizeof(a), 1000);
    if (s) { /* refused later, not at once */
        e = (struct seen){0};
        sy_sock_setcb(s, on_read, NULL, on_event, &e);
        for (int i = 0; i < 50 && !e.events; i++)
            event_base_loop(b, EVLOOP_ONCE);
        assert_int_equal(e.last, SY_SOCK_ERROR);
        assert_int_equal(s->error, ECONNREFUSED); /* why, for the request's record */
        assert_int_equal(s->sent, 0);             /* nothing of a request left us */
        sy_sock_free(s);
    } else {
        assert_int_equal(errno, ECONNREFUSED);
    }
    sy_sock_free(NULL); /* a no-op */
    event_base_free(b);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reading_pauses_at_read_max_and_resumes),
        cmocka_unit_test(writes_at_once_or_queued),
        cmocka_unit_test(the_end_and_a_read_timeout),
        cmocka_unit_test(connecting),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
