/* internal.h - what the proxy's files share: the compiled routes (a snapshot), the
 * workers and their per-request counters. Not an interface: only src/proxy/ includes it.
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
#include "proxy/proxy.h"

enum { LEGACY, NEW, UPSTREAMS };
enum { STICKY_NONE, STICKY_HEADER, STICKY_COOKIE, STICKY_BODY };

struct upstream {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char text[256]; /* HOST:PORT, the pool's key */
    int connect_ms, read_ms, keepalive;
};

/* One route, compiled. Its strings point into `def`, which it holds. */
struct proute {
    int64_t ws;
    char name[SY_ROUTE_MAX_NAME + 1];
    char listen[256];   /* "" for none */
    const char *prefix; /* "" for none */
    size_t prefix_len;
    sy_route_policy_t policy; /* its domains below */
    sy_route_domain_t *domains;
    sy_route_rule_t *rules;
    const char **words;
    struct upstream up[UPSTREAMS];
    int sticky;
    const char *sticky_name;
    size_t inspect;  /* body bytes parsed for rules and keys */
    bool needs_body; /* a body rule or a body key */
    bool retry_any;  /* retry non-idempotent requests on legacy too */
    sy_breaker_config_t breaker;
    sy_breaker_t *brk;  /* its breaker, shared by the workers (NULL: no room for one) */
    uint64_t prod_exec; /* bit i: domain i's requests are production executions */
    json_t *def;
};

/* The routes every worker reads, immutable once published. */
struct snapshot {
    atomic_int refs;
    size_t n;
    struct proute *r;
};

#define LAT_BUCKETS SY_LAT_BUCKETS
#define MAX_STATS   256 /* (route, domain, upstream) rows per worker */

#define MAX_POOLS 64  /* upstreams a worker keeps idle connections to */
#define POOL_SIZE 256 /* idle connections to one upstream, at most */

/* A worker's idle keep-alive connections to one upstream, the last one put first out. */
struct pool {
    char text[256]; /* the upstream's HOST:PORT */
    size_t n;
    struct sy_sock *idle[POOL_SIZE];
};

#define SY_PROXY_SCRATCH (65536 + 256 + 65536)
#define MAX_BREAKERS     64

/* The breaker in front of one route's `new`, shared by the workers. */
struct wbreaker {
    int64_t ws;
    char route[SY_ROUTE_MAX_NAME + 1];
    sy_breaker_t b;
};
#define MAX_LISTEN 64

struct worker {
    struct sy_proxy *p;
    pthread_t thread;
    struct event_base *base;
    struct event *sync; /* made active by sy_proxy_update: listeners follow the routes */
    struct evconnlistener *listeners[MAX_LISTEN];
    char listen_text[MAX_LISTEN][256];
    size_t n_listeners;
    struct conn *conns;                  /* open client connections (conn.c) */
    size_t n_conns;                      /* of them */
    size_t max_conns;                    /* its share of the cap (0: none) */
    struct conn *wait_first, *wait_last; /* of them, those waiting for a head (limits.c) */
    char *scratch; /* SY_PROXY_SCRATCH bytes: a response head and the start of its body */
    struct pool pools[MAX_POOLS];
    size_t n_pools;
    uint64_t rng;
    struct snapshot *snap; /* the worker's reference to the snapshot of generation `gen` */
    unsigned gen;
    pthread_mutex_t stats_lock; /* taken by the worker per request, and by sy_proxy_stats */
    sy_proxy_row_t stats[MAX_STATS];
    size_t n_stats;
};

#define MAX_EVENTS 256

struct sy_proxy {
    sy_proxy_opts_t o;
    pthread_mutex_t breakers_lock;
    struct wbreaker breakers[MAX_BREAKERS];
    size_t n_breakers;
    pthread_mutex_t events_lock; /* the breakers' transitions, for the server's thread */
    sy_proxy_event_t events[MAX_EVENTS];
    size_t n_events;
    struct snapshot *current; /* under swap_lock */
    atomic_uint gen;          /* bumped by each publication: workers look when it moves */
    pthread_mutex_t swap_lock;
    struct worker *w;
    int n_workers;
};

/* The current snapshot, with a reference (sy_proxy_snapshot_put gives it back). One
 * atomic load when nothing was published since the worker's last look. */
struct snapshot *sy_proxy_snapshot_get(struct worker *w);
void sy_proxy_snapshot_put(struct snapshot *s);

/* Queues a breaker transition of route (ws, name) for sy_proxy_events (any worker). */
void sy_proxy_event(struct sy_proxy *p, int64_t ws, const char *route, sy_breaker_state_t to);

/* conn.c: serves a new client connection `fd` accepted on `listen` by `w`. */
void sy_proxy_accept(struct worker *w, evutil_socket_t fd, const char *listen,
                     const struct sockaddr *peer, int peer_len);
/* conn.c: closes the worker's client connections and its idle upstream ones. */
void sy_proxy_idle_free(struct worker *w);

#endif
