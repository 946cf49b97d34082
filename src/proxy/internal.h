/* internal.h - what the proxy's files share: the compiled routes (a snapshot), the
 * workers and their per-request counters. Not an interface: only src/proxy/ includes it.
 *
 * Nothing here has a silent limit on what the routes hold: a route's domains are its
 * spec's (any number, each with its own prod_exec), breakers and listeners grow with the
 * routes, and a worker's counter rows grow in blocks that never move (a connection keeps
 * a pointer to its row) up to MAX_STATS.
 */
#ifndef SY_PROXY_INTERNAL_H
#define SY_PROXY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include "core/breaker.h"
#include "core/latency.h"
#include "core/route.h"
#include "core/route_log.h"
#include "core/route_spec.h"
#include "proxy/proxy.h"

enum { LEGACY = SY_ROUTE_LEGACY, NEW = SY_ROUTE_NEW, UPSTREAMS = SY_ROUTE_UPSTREAMS };

struct upstream {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char text[256]; /* HOST:PORT, the pool's key */
    int connect_ms, read_ms, keepalive;
};

/* One route, compiled from its spec (core/route_spec.h). Its strings and domains (with
 * their rules and flags, prod_exec among them) point into the spec, which the snapshot
 * holds. */
struct proute {
    int64_t ws;
    const char *name;
    const char *listen;
    const char *prefix; /* "" for none ("/" is none too) */
    size_t prefix_len;
    sy_route_policy_t policy; /* the spec's domains */
    struct upstream up[UPSTREAMS];
    sy_route_sticky_kind_t sticky;
    const char *sticky_name;
    size_t inspect;  /* body bytes parsed for rules and keys */
    bool needs_body; /* a body rule or a body key */
    bool retry_any;  /* retry non-idempotent requests on legacy too */
    sy_breaker_config_t breaker;
    sy_breaker_t *brk;     /* its breaker, shared by the workers and kept across snapshots */
    atomic_int *brk_state; /* brk's state, read without the lock (set under it) */
    struct wbreaker *kept; /* what brk and brk_state point into, and the route's log */
    bool has_plan;         /* a rollout plan: an open breaker keeps probing at 0 % */
};

/* The routes every worker reads, immutable once published. */
struct snapshot {
    atomic_int refs;
    size_t n;
    struct proute *r;
    sy_routes_t *routes; /* what r points into (taken from sy_proxy_update) */
};

#define LAT_BUCKETS  SY_LAT_BUCKETS
#define STATS_BLOCK  256 /* (route, domain, upstream) rows per block of a worker's counters */
#define STATS_BLOCKS 64  /* blocks at most: MAX_STATS rows */
#define MAX_STATS    (STATS_BLOCK * STATS_BLOCKS)

/* A worker's idle keep-alive connections to one upstream, the last one put first out: as
 * many as the route's keepalive (SY_ROUTE_MAX_KEEPALIVE at most), the array grown to it.
 * Each pool is malloc'd and lives until the proxy stops: its idle sockets' callbacks hold
 * it. */
struct pool {
    char text[SY_ROUTE_MAX_ADDRESS + 1]; /* the upstream's HOST:PORT */
    size_t n, cap;
    struct sy_sock **idle;
};

#define SY_PROXY_SCRATCH (65536 + 256 + 65536)

/* A route's recent requests as one worker saw them: the last LOG_RECORDS, in a ring only
 * that worker writes. Each slot is a seqlock over the record's words, all of them atomics
 * (relaxed; the sequence orders them), so a reader on another thread copies a record out
 * without a lock and without a data race, and drops one it saw being rewritten. */
#define LOG_RECORDS 256
#define LOG_WORDS   (sizeof(sy_route_log_rec_t) / sizeof(uint64_t))
_Static_assert(sizeof(sy_route_log_rec_t) % sizeof(uint64_t) == 0, "a record is whole words");
struct log_slot {
    atomic_uint_fast64_t seq; /* odd while its record is being written */
    _Atomic uint64_t w[LOG_WORDS];
};
struct log_ring {
    atomic_uint_fast64_t head; /* records written since the start: the next goes at
                                * head % LOG_RECORDS */
    struct log_slot slot[LOG_RECORDS];
};

/* What the proxy keeps of one route across snapshots, found by (ws, name) and shared by
 * the workers (each malloc'd: a snapshot's routes point to theirs while the list grows):
 * the breaker in front of its `new`, and its recent-request log: two rings per worker (made
 * by the worker at its first record of the route, and its first failure), every request
 * and the failures alone, so that a busy route's successes never push a failure out of
 * the log lines before they are written. */
struct wbreaker {
    int64_t ws;
    char route[SY_ROUTE_MAX_NAME + 1];
    sy_breaker_t b;
    atomic_int state; /* b.state, for a look without breakers_lock (relaxed) */
    uint64_t *logged; /* per worker: its failed records up to here were logged
                       * (sy_proxy_failures; that caller's thread only) */
    struct {
        _Atomic(struct log_ring *) all;    /* every request; NULL until the first */
        _Atomic(struct log_ring *) failed; /* those that failed or fell back, for the log
                                            * lines; NULL until the first */
    } ring[];                              /* per worker */
};

/* A worker's listener on one address of the routes. */
struct listener {
    struct evconnlistener *l;
    char text[SY_ROUTE_MAX_ADDRESS + 1]; /* HOST:PORT */
};

struct worker {
    struct sy_proxy *p;
    pthread_t thread;
    struct event_base *base;
    struct event *sync;         /* made active by sy_proxy_update: listeners follow the routes */
    struct listener *listeners; /* one per address of the routes (grows with them) */
    size_t n_listeners, cap_listeners;
    sy_proxy_listen_error_t *fails; /* addresses it could not listen on (p->listen_lock) */
    size_t n_fails;
    struct conn *conns;                  /* open client connections (conn.c) */
    atomic_size_t n_conns;               /* of them (written by the worker alone, relaxed:
                                          * sy_proxy_counts reads it from any thread) */
    size_t max_conns;                    /* its share of the cap (0: none) */
    struct conn *wait_first, *wait_last; /* of them, those waiting for a head (limits.c) */
    char *scratch;       /* SY_PROXY_SCRATCH bytes: a response head and the start of its body */
    struct pool **pools; /* one per upstream address it has served (grows with them) */
    size_t n_pools, cap_pools;
    uint64_t rng;
    struct snapshot *snap; /* the worker's reference to the snapshot of generation `gen` */
    unsigned gen;
    pthread_mutex_t stats_lock; /* taken by the worker per request, and by sy_proxy_stats */
    sy_proxy_row_t *stats[STATS_BLOCKS]; /* row i: stats[i / STATS_BLOCK][i % STATS_BLOCK] */
    size_t n_stats;
    uint64_t uncounted; /* requests past MAX_STATS rows (or out of memory for a block) */
    /* written by the worker alone (sy_proxy_bump), read by sy_proxy_counts from any thread */
    _Atomic uint64_t refused[SY_PROXY_REFUSALS]; /* its own answers, by kind (proxy.h) */
    _Atomic uint64_t shed_waiting, shed_new;     /* connections closed at the cap */
};

/* One more of a counter only its worker writes: a relaxed load and store, no locked
 * instruction (readers on other threads see it a moment later, never torn). */
static inline void sy_proxy_bump(_Atomic uint64_t *n)
{
    atomic_store_explicit(n, atomic_load_explicit(n, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* The kind of a refusal of status `status` (SY_PROXY_REFUSED_*), -1 for none of them. */
int sy_proxy_refusal_of(int status);

#define MAX_EVENTS 256

struct sy_proxy {
    sy_proxy_opts_t o;
    pthread_mutex_t breakers_lock;
    struct wbreaker **breakers; /* one per route seen since the start */
    size_t n_breakers, cap_breakers;
    pthread_mutex_t events_lock; /* the breakers' transitions, for the server's thread */
    sy_proxy_event_t events[MAX_EVENTS];
    size_t n_events;
    struct snapshot *current; /* under swap_lock */
    atomic_uint gen;          /* bumped by each publication: workers look when it moves */
    pthread_mutex_t swap_lock;
    pthread_mutex_t listen_lock; /* the workers' `fails` */
    struct worker *w;
    int n_workers;
};

/* Row i (< w->n_stats) of w's counters. */
static inline sy_proxy_row_t *sy_proxy_stat(const struct worker *w, size_t i)
{
    return &w->stats[i / STATS_BLOCK][i % STATS_BLOCK];
}

/* The current snapshot, with a reference (sy_proxy_snapshot_put gives it back). One
 * atomic load when nothing was published since the worker's last look. */
struct snapshot *sy_proxy_snapshot_get(struct worker *w);
void sy_proxy_snapshot_put(struct snapshot *s);

/* Queues a breaker transition of route (ws, name) for sy_proxy_events (any worker). */
void sy_proxy_event(struct sy_proxy *p, int64_t ws, const char *route, sy_breaker_state_t to);

/* conn.c: serves a new client connection `fd` accepted on `listen` by `w`. */
void sy_proxy_accept(struct worker *w, evutil_socket_t fd, const char *listen,
                     const struct sockaddr *peer, int peer_len);
/* upstream.c: closes the worker's client connections and its idle upstream ones, and frees
 * its pools (the worker stops). */
void sy_proxy_idle_free(struct worker *w);

#endif
