/* bench_ingest.c - durable event ingest of a running server against a plain sqlite3 insert
 * of the same rows, measured in the same run.
 *
 *   bench-ingest URL TOKEN RAWDB [EVENTS]
 *
 * URL is a server with a running experiment "bench" (variants a, b) that TOKEN may send
 * events to (bench/ingest.sh sets one up). Three figures:
 *  - raw: EVENTS rows inserted into a fresh database with switchyard's own schema (made by
 *    the store), WAL and synchronous=FULL as the server runs it, one prepared INSERT, one
 *    transaction: what SQLite itself costs for the rows;
 *  - batched: EVENTS exposures in requests of 1,000 from 4 keep-alive connections, every
 *    request acknowledged only after its commit;
 *  - single: 20,000 requests of one event from 32 connections (group commit at work).
 * RAWDB "-" runs the batched phase alone, for a caller with a reference of its own
 * (bench/pg.sh: a PostgreSQL-backed server against a raw COPY).
 * Every event has its own unit and id, as real traffic has. Bodies are made before the
 * clock starts, so the client's JSON writing is not measured. After each phase, the
 * engine loop's stall gauge for that phase (GET /v1/system/loops, reset before it): how
 * long that loop, which takes the ingest requests and lands the commits, leaves everything
 * else it serves waiting (p50 and p99 as bounds of its histogram, the longest).
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "store/store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- raw sqlite3 ------------------------------------------------------------------------- */

static double raw_insert(const char *path, int n)
{
    unlink(path);
    sy_store_t *store;
    sy_err_t err = {0};
    if (sy_store_open(&store, path, &err) < 0) { /* the same schema as the server's */
        fprintf(stderr, "bench-ingest: %s\n", err.msg);
        exit(1);
    }
    sy_store_close(store);
    sqlite3 *db;
    sqlite3_stmt *st;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", 0, 0, 0) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO events (workspace_id, experiment_id, event_id, kind, unit,"
                           " variant, success, value, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench-ingest: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    char unit[32], id[32];
    double t0 = now_s();
    sqlite3_exec(db, "BEGIN IMMEDIATE", 0, 0, 0);
    for (int i = 0; i < n; i++) {
        snprintf(unit, sizeof(unit), "raw-u%d", i);
        snprintf(id, sizeof(id), "raw-e%d", i);
        sqlite3_bind_int64(st, 1, 1);
        sqlite3_bind_int64(st, 2, 1);
        sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, "exposure", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, unit, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, i % 2 ? "b" : "a", -1, SQLITE_STATIC);
        sqlite3_bind_null(st, 7);
        sqlite3_bind_null(st, 8);
        sqlite3_bind_int64(st, 9, 1700000000000);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fprintf(stderr, "bench-ingest: insert: %s\n", sqlite3_errmsg(db));
            exit(1);
        }
        sqlite3_reset(st);
    }
    if (sqlite3_exec(db, "COMMIT", 0, 0, 0) != SQLITE_OK) {
        fprintf(stderr, "bench-ingest: commit: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    double dt = now_s() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n / dt;
}

/* ---- HTTP load ----------------------------------------------------------------------------- */

struct load {
    struct sockaddr_in addr;
    const char *token;
    char **reqs; /* whole requests, head and body */
    size_t *lens;
    int n_reqs;
    int next; /* claimed under the lock */
    pthread_mutex_t lock;
    int failures;
};

static int connect_to(const struct sockaddr_in *a)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (fd < 0 || connect(fd, (const struct sockaddr *)a, sizeof(*a)) < 0) {
        perror("bench-ingest: connect");
        exit(1);
    }
    return fd;
}

/* Reads one answer; returns its status or -1. */
static int read_answer(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, cap - got - 1);
        if (r <= 0)
            return -1;
        got += (size_t)r;
        buf[got] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        char *cl = strcasestr(buf, "Content-Length:");
        if (end && cl && got >= (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10))
            return atoi(buf + 9);
    }
}

static void *worker(void *arg)
{
    struct load *l = arg;
    int fd = connect_to(&l->addr);
    char buf[8192];
    for (;;) {
        pthread_mutex_lock(&l->lock);
        int i = l->next < l->n_reqs ? l->next++ : -1;
        pthread_mutex_unlock(&l->lock);
        if (i < 0)
            break;
        size_t off = 0;
        while (off < l->lens[i]) {
            ssize_t w = write(fd, l->reqs[i] + off, l->lens[i] - off);
            if (w <= 0) {
                perror("bench-ingest: write");
                exit(1);
            }
            off += (size_t)w;
        }
        if (read_answer(fd, buf, sizeof(buf)) != 200) {
            pthread_mutex_lock(&l->lock);
            if (l->failures++ == 0)
                fprintf(stderr, "bench-ingest: an answer was not 200:\n%.400s\n", buf);
            pthread_mutex_unlock(&l->lock);
        }
    }
    close(fd);
    return NULL;
}

/* ---- the engine loop's stall gauge -------------------------------------------------------- */

/* One request on a connection of its own: its status, the answer (head and body) in buf. */
static int ask(const struct load *l, const char *method, const char *path, char *buf, size_t cap)
{
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\n"
                     "Content-Length: 0\r\n\r\n",
                     method, path, l->token);
    int fd = connect_to(&l->addr);
    int status = write(fd, req, (size_t)n) == n ? read_answer(fd, buf, cap) : -1;
    close(fd);
    return status;
}

/* The gauge's counts start again from zero: each phase gets its own. */
static void gauge_reset(const struct load *l)
{
    char buf[4096];
    int status = ask(l, "POST", "/v1/system/loops/reset", buf, sizeof(buf));
    if (status < 200 || status > 299)
        fprintf(stderr, "bench-ingest: no stall gauge to reset (%d)\n", status);
}

/* The smallest bound that `q` of the iterations stay within ("> last" past them). */
static void bound(const json_t *hist, const json_t *le, int64_t n, double q, char *out, size_t cap)
{
    int64_t sum = 0;
    for (size_t i = 0; i < json_array_size(hist); i++) {
        sum += json_integer_value(json_array_get(hist, i));
        if ((double)sum >= q * (double)n && i < json_array_size(le)) {
            snprintf(out, cap, "%.2f ms", (double)json_integer_value(json_array_get(le, i)) / 1e3);
            return;
        }
    }
    snprintf(out, cap, "> %.0f ms",
             (double)json_integer_value(json_array_get(le, json_array_size(le) - 1)) / 1e3);
}

/* Prints the engine loop's iterations since the reset, during `what`: that loop takes the
 * ingest requests and runs the group commits (or hands them to its writer thread). */
static void gauge_report(const struct load *l, const char *what)
{
    char buf[16384];
    const char *body = NULL;
    if (ask(l, "GET", "/v1/system/loops", buf, sizeof(buf)) == 200)
        body = strstr(buf, "\r\n\r\n");
    json_t *j = body ? json_loads(body + 4, 0, NULL) : NULL, *loop;
    size_t i;
    json_array_foreach(json_object_get(j, "loops"), i, loop)
    {
        const char *name = json_string_value(json_object_get(loop, "name"));
        if (!name || strcmp(name, "engine") != 0)
            continue;
        int64_t n = json_integer_value(json_object_get(loop, "iterations"));
        const json_t *hist = json_object_get(loop, "histogram"), *le = json_object_get(j, "le_us");
        char p50[32], p99[32];
        bound(hist, le, n, 0.5, p50, sizeof(p50));
        bound(hist, le, n, 0.99, p99, sizeof(p99));
        printf("loop: engine during %-22s p50 <= %s  p99 <= %s  longest %.2f ms  (%lld "
               "iterations)\n",
               what, p50, p99,
               (double)json_integer_value(json_object_get(loop, "longest_us")) / 1e3, (long long)n);
    }
    if (!j)
        fprintf(stderr, "bench-ingest: no stall gauge to read\n");
    json_decref(j);
}

/* Builds `n_reqs` requests of `per` events each, numbering units from `first`. */
static void build(struct load *l, int n_reqs, int per, int first, const char *tag)
{
    l->n_reqs = n_reqs;
    l->reqs = calloc((size_t)n_reqs, sizeof(*l->reqs));
    l->lens = calloc((size_t)n_reqs, sizeof(*l->lens));
    size_t cap = (size_t)per * 160 + 512;
    char *body = malloc(cap);
    for (int r = 0; r < n_reqs; r++) {
        size_t o = (size_t)snprintf(body, cap, "{\"events\":[");
        for (int e = 0; e < per; e++) {
            int u = first + r * per + e;
            o += (size_t)snprintf(body + o, cap - o,
                                  "%s{\"type\":\"exposure\",\"unit\":\"%s-u%d\",\"experiment\":"
                                  "\"bench\",\"variant\":\"%s\",\"id\":\"%s-e%d\"}",
                                  e ? "," : "", tag, u, u % 2 ? "b" : "a", tag, u);
        }
        o += (size_t)snprintf(body + o, cap - o, "]}");
        size_t need = o + 512;
        l->reqs[r] = malloc(need);
        l->lens[r] = (size_t)snprintf(l->reqs[r], need,
                                      "POST /v1/events HTTP/1.1\r\nHost: bench\r\n"
                                      "Authorization: Bearer %s\r\n"
                                      "Content-Type: application/json\r\n"
                                      "Content-Length: %zu\r\n\r\n%s",
                                      l->token, o, body);
    }
    free(body);
}

static double run(struct load *l, int conns, int events)
{
    pthread_t t[64];
    l->next = 0;
    double t0 = now_s();
    for (int i = 0; i < conns; i++)
        pthread_create(&t[i], NULL, worker, l);
    for (int i = 0; i < conns; i++)
        pthread_join(t[i], NULL);
    double dt = now_s() - t0;
    if (l->failures) {
        fprintf(stderr, "bench-ingest: %d requests failed\n", l->failures);
        exit(1);
    }
    for (int i = 0; i < l->n_reqs; i++)
        free(l->reqs[i]);
    free(l->reqs);
    free(l->lens);
    return events / dt;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench-ingest URL TOKEN RAWDB [EVENTS]\n");
        return 2;
    }
    int port = 0;
    if (sscanf(argv[1], "http://127.0.0.1:%d", &port) != 1) {
        fprintf(stderr, "bench-ingest: URL is http://127.0.0.1:PORT\n");
        return 2;
    }
    int events = argc > 4 ? atoi(argv[4]) : 300000;
    events -= events % 1000;
    struct load l = {.token = argv[2], .lock = PTHREAD_MUTEX_INITIALIZER};
    l.addr.sin_family = AF_INET;
    l.addr.sin_port = htons((uint16_t)port);
    l.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    bool batched_only = strcmp(argv[3], "-") == 0;
    double raw = batched_only ? 0 : raw_insert(argv[3], events);
    build(&l, events / 1000, 1000, 0, "batch");
    gauge_reset(&l);
    double batched = run(&l, 4, events);
    gauge_report(&l, "1,000-event requests");
    if (batched_only) {
        printf("ingest: batched, 1000 events per request     %10.0f events/s  (%d events)\n",
               batched, events);
        return 0;
    }
    build(&l, 20000, 1, 0, "single");
    gauge_reset(&l);
    double single = run(&l, 32, 20000);
    gauge_report(&l, "1-event requests");
    printf("ingest: raw sqlite3 insert, one transaction  %10.0f events/s  (%d rows)\n", raw,
           events);
    printf("ingest: batched, 1000 events per request     %10.0f events/s  ratio %.2fx raw\n",
           batched, batched / raw);
    printf("ingest: single-event requests, 32 conns      %10.0f events/s  ratio %.2fx raw\n",
           single, single / raw);
    return 0;
}
