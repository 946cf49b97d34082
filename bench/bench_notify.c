/* bench_notify.c - how long PostgreSQL itself takes to carry a notification from one
 * connection to another: the floor under a change's fan-out between switchyard nodes
 * (bench/pg.sh prints it beside pg_nodes.js's fan-out).
 *
 *   bench-notify CONNINFO [COUNT]
 *
 * Two connections to the database: the listener LISTENs on a channel of its own; the sender
 * sends COUNT NOTIFYs (default 200), one at a time, each its own transaction (a node's change
 * sends its announcement at its commit). Each is timed from the moment it is sent to its
 * arrival at the listener, its commit included: NOTIFY gives its transaction an id, so the
 * commit writes a WAL record and, synchronous_commit on, waits for its flush (seen: 40 bytes
 * of WAL each). The next is sent once both the answer and the notification are in. Prints,
 * in ms, the line pg_nodes.js's fanout prints:
 *   notify N p50 P50 p99 P99 max MAX missed M     (missed: not heard within 2 s)
 * Exits 1 when a connection or a statement fails.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#define CHANNEL "sy_bench_notify"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static PGconn *connect_to(const char *conninfo)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench-notify: %s", PQerrorMessage(c));
        exit(1);
    }
    return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "bench-notify: %s: %s", sql, PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
}

/* Reads what the sender's socket has; true once its NOTIFY's answer is all in. */
static bool sender_done(PGconn *c)
{
    if (!PQconsumeInput(c)) {
        fprintf(stderr, "bench-notify: sender: %s", PQerrorMessage(c));
        exit(1);
    }
    while (!PQisBusy(c)) {
        PGresult *r = PQgetResult(c);
        if (!r)
            return true;
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            fprintf(stderr, "bench-notify: NOTIFY: %s", PQerrorMessage(c));
            exit(1);
        }
        PQclear(r);
    }
    return false;
}

/* Reads what the listener's socket has; true once notification `want` is in. */
static bool heard(PGconn *c, const char *want)
{
    if (!PQconsumeInput(c)) {
        fprintf(stderr, "bench-notify: listener: %s", PQerrorMessage(c));
        exit(1);
    }
    bool got = false;
    PGnotify *n;
    while ((n = PQnotifies(c)) != NULL) {
        got = got || strcmp(n->extra, want) == 0;
        PQfreemem(n);
    }
    return got;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench-notify CONNINFO [COUNT]\n");
        return 2;
    }
    int count = argc > 2 ? atoi(argv[2]) : 200;
    if (count < 1 || count > 1000000) {
        fprintf(stderr, "bench-notify: COUNT is 1 to 1000000\n");
        return 2;
    }
    PGconn *listener = connect_to(argv[1]), *sender = connect_to(argv[1]);
    exec_ok(listener, "LISTEN " CHANNEL);
    double *took = malloc((size_t)count * sizeof(*took));
    if (!took) {
        fprintf(stderr, "bench-notify: out of memory\n");
        return 1;
    }
    int n_took = 0, missed = 0;
    for (int i = 0; i < count; i++) {
        char sql[64], payload[16];
        snprintf(payload, sizeof(payload), "%d", i);
        snprintf(sql, sizeof(sql), "NOTIFY " CHANNEL ", '%d'", i);
        double t0 = now_ms(), at = -1;
        if (!PQsendQuery(sender, sql)) {
            fprintf(stderr, "bench-notify: %s", PQerrorMessage(sender));
            return 1;
        }
        bool answered = false;
        while (!answered || at < 0) {
            if (at < 0 && now_ms() - t0 > 2000) {
                missed++;
                at = 0; /* given up: not in the figures */
            }
            struct pollfd fds[2] = {{.fd = PQsocket(sender), .events = POLLIN},
                                    {.fd = PQsocket(listener), .events = POLLIN}};
            if (poll(fds, 2, 100) < 0) {
                perror("bench-notify: poll");
                return 1;
            }
            if (!answered && (fds[0].revents & POLLIN))
                answered = sender_done(sender);
            if (at < 0 && (fds[1].revents & POLLIN) && heard(listener, payload)) {
                at = now_ms();
                took[n_took++] = at - t0;
            }
        }
    }
    qsort(took, (size_t)n_took, sizeof(*took), by_value);
    int i50 = (int)(0.5 * n_took), i99 = (int)(0.99 * n_took);
    if (n_took > 0)
        printf("notify %d p50 %.2f p99 %.2f max %.2f missed %d\n", count,
               took[i50 < n_took ? i50 : n_took - 1], took[i99 < n_took ? i99 : n_took - 1],
               took[n_took - 1], missed);
    else
        printf("notify %d p50 nan p99 nan max nan missed %d\n", count, missed);
    free(took);
    PQfinish(sender);
    PQfinish(listener);
    return 0;
}
