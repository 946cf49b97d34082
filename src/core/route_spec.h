/* route_spec.h - a proxy route as the engine defines it and the data plane takes it: the
 * typed contract between engine/ and proxy/.
 *
 * The engine fills a sy_routes_t (sy_engine_routes_all) with every route of every
 * workspace: its definition, its percentage and enabled, and its workspace's kill switch;
 * the proxy compiles its snapshot from that and nothing else. A proxy-only process gets
 * the same from the server's API through one codec function (codec/route_json.h), which
 * refuses an unknown or misspelt key instead of taking a default. No field of the contract
 * is read by name at run time, and none has a silent limit: a route has any number of
 * domains up to SY_ROUTE_MAX_DOMAINS, and one past that is refused where the route is
 * defined (sy_route_spec_check, field "domains"), never cut by the data plane.
 *
 * Every limit and range a route's fields obey is here (SY_ROUTE_*): the engine's
 * definition (engine/route_def.c), the codec and sy_route_spec_check use these numbers.
 *
 * Ownership: a sy_routes_t owns every string and array its specs point to, in one arena
 * (itself included); they live until sy_routes_free. Specs are plain values: a sy_route_spec_t made
 * by hand (tests, the codec) points to whatever its maker owns, and sy_routes_add copies it whole.
 * Pure: no I/O, no clock; allocates only in sy_routes_* (never on a hot path). A
 * sy_routes_t is not thread-safe while it is filled; once filled it is read-only, and may
 * be read from any thread.
 */
#ifndef SY_CORE_ROUTE_SPEC_H
#define SY_CORE_ROUTE_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/breaker.h"
#include "core/err.h"
#include "core/route.h"

#define SY_ROUTE_MAX_DOMAINS    1024       /* domains of one route */
#define SY_ROUTE_MAX_RULES      32         /* detection rules of one domain */
#define SY_ROUTE_MAX_WORDS      64         /* words of one body_keywords rule */
#define SY_ROUTE_MAX_WORD       64         /* bytes of one word */
#define SY_ROUTE_MAX_DOMAIN     64         /* bytes of a domain's name */
#define SY_ROUTE_MAX_PATH       1024       /* bytes of a path prefix or a header value */
#define SY_ROUTE_MAX_FIELD      256        /* bytes of a dotted body field path */
#define SY_ROUTE_MAX_TOKEN      128        /* bytes of a header or cookie name */
#define SY_ROUTE_MAX_ADDRESS    255        /* bytes of HOST:PORT */
#define SY_ROUTE_MAX_STEPS      20         /* steps of a rollout plan */
#define SY_ROUTE_MAX_INSPECT    (16 << 20) /* inspect_body_bytes */
#define SY_ROUTE_MAX_CONNECT_MS 600000
#define SY_ROUTE_MAX_READ_MS    3600000
#define SY_ROUTE_MAX_KEEPALIVE  10000
#define SY_ROUTE_MAX_P95_MS     3600000
#define SY_ROUTE_MAX_HOLD_S     (7 * 86400)
#define SY_ROUTE_MAX_PLAN_MIN   1000000000
#define SY_ROUTES_MAX_BYTES     ((size_t)1 << 30) /* a sy_routes_t's arena, all routes */

enum { SY_ROUTE_LEGACY, SY_ROUTE_NEW, SY_ROUTE_UPSTREAMS }; /* indices of `up` */

/* One upstream of a route. */
typedef struct sy_route_upstream {
    const char *address;        /* HOST:PORT, a name or a numeric address ([v6] too) */
    int64_t connect_timeout_ms; /* 1..SY_ROUTE_MAX_CONNECT_MS */
    int64_t read_timeout_ms;    /* 1..SY_ROUTE_MAX_READ_MS: a response's silence, at most */
    int64_t keepalive;          /* idle connections kept per worker, 0..SY_ROUTE_MAX_KEEPALIVE */
} sy_route_upstream_t;

typedef enum sy_route_sticky_kind {
    SY_STICKY_NONE,       /* a request's bucket is random */
    SY_STICKY_HEADER,     /* the value of header `name` */
    SY_STICKY_COOKIE,     /* the value of cookie `name` */
    SY_STICKY_BODY_FIELD, /* the string or number at dotted path `name` of the JSON body */
} sy_route_sticky_kind_t;

typedef struct sy_route_sticky {
    sy_route_sticky_kind_t kind;
    const char *name; /* NULL for SY_STICKY_NONE */
} sy_route_sticky_t;

/* The health gates of `new`, which the rollout plan and GET .../health judge by. */
typedef struct sy_route_gates {
    double max_error_rate; /* (0, 1] */
    int64_t max_p95_ms;    /* 1..SY_ROUTE_MAX_P95_MS */
} sy_route_gates_t;

/* A rollout plan: the percentage moves up through `steps_bp` while `new` is healthy. */
typedef struct sy_route_plan {
    uint32_t steps_bp[SY_ROUTE_MAX_STEPS]; /* ascending, 1..SY_ROUTE_BP */
    size_t n_steps;                        /* 1..SY_ROUTE_MAX_STEPS */
    int64_t hold_s;                        /* a step is held at least this, 1..MAX_HOLD_S */
    int64_t min_requests;                  /* to new in a step before it is judged */
} sy_route_plan_t;

/* One route. Domains carry their own flags (routable, protected, prod_exec: core/route.h)
 * and rules; `routable_only` is true when the definition named routable domains. */
typedef struct sy_route_spec {
    int64_t ws;                                 /* its workspace */
    const char *name;                           /* 1..SY_ROUTE_MAX_NAME of [A-Za-z0-9._-] */
    const char *listen;                         /* HOST:PORT the proxy serves it on */
    const char *path_prefix;                    /* "" for none (the whole address) */
    sy_route_upstream_t up[SY_ROUTE_UPSTREAMS]; /* [SY_ROUTE_LEGACY], [SY_ROUTE_NEW] */
    uint32_t percentage_bp;                     /* to `new`, 0..SY_ROUTE_BP */
    bool enabled;
    bool killed;                 /* the workspace's kill switch is engaged */
    sy_route_domain_t *domains;  /* in detection order, names distinct */
    size_t n_domains;            /* 0..SY_ROUTE_MAX_DOMAINS */
    bool routable_only;          /* only routable domains may go to `new` */
    sy_route_sticky_t sticky;    /* what keeps a client on its upstream */
    sy_breaker_config_t breaker; /* the circuit breaker in front of `new` */
    sy_route_gates_t health;
    bool has_plan;
    sy_route_plan_t plan;      /* when has_plan */
    size_t inspect_body_bytes; /* body bytes parsed for rules and keys, 0..MAX_INSPECT */
    bool retry_non_idempotent; /* a failed connection to new retries any method on legacy */
    int64_t created_ms, updated_ms;
} sy_route_spec_t;

/* Every route the data plane serves. */
typedef struct sy_routes {
    sy_route_spec_t *r; /* n of them, in the engine's order */
    size_t n, cap;
    sy_arena_t arena; /* every string and array the specs point to, `r`, and the set */
} sy_routes_t;

/* An empty set of routes (returns owned: sy_routes_free), or NULL when out of memory. */
sy_routes_t *sy_routes_new(void);

/* Frees `rs` and everything its specs point to. NULL is a no-op. */
void sy_routes_free(sy_routes_t *rs);

/* Appends a deep copy of `s` to `rs` (strings, domains, rules and words copied into rs's
 * arena; `s` is only read). Returns 0, or -ENOMEM (out of memory, or rs past
 * SY_ROUTES_MAX_BYTES), and then rs is as it was but for arena space. Does not check
 * `s`: the caller checked it (sy_route_spec_check) where it was defined. */
int sy_routes_add(sy_routes_t *rs, const sy_route_spec_t *s);

/* Whether `s` keeps every rule of the contract: a name, listen and prefix of the right
 * form, upstreams HOST:PORT with their ranges, 0..SY_ROUTE_MAX_DOMAINS domains of distinct
 * valid names each with 1..SY_ROUTE_MAX_RULES well-formed rules (words lower-case, no
 * space), routable_only only when a domain is routable, a valid sticky key, breaker
 * (sy_breaker_check), gates and plan, and the percentage and inspect limits. Returns 0,
 * or -EINVAL with err naming the first offending field as the API spells it
 * ("domains[70].rules[0].header.name", "upstreams.new.address", "plan.steps"). */
int sy_route_spec_check(const sy_route_spec_t *s, sy_err_t *err);

/* `pct` (0 to 100, at most two decimals) into basis points. Returns 0, or -EINVAL for
 * anything else (NaN, out of range, a third decimal): never rounded into a neighbour. */
int sy_route_percentage_bp(double pct, uint32_t *bp);

/* The domain of `s` named `name`, or -1. */
int sy_route_spec_domain(const sy_route_spec_t *s, const char *name);

/* Form checks shared by the engine's definition and the codec. */
bool sy_route_is_token(const char *s, size_t max); /* 1..max of [A-Za-z0-9._-] */
bool sy_route_is_host_port(const char *s);         /* HOST:PORT, port 1..65535 */
bool sy_route_is_field_path(const char *s);        /* "event.text": no empty segment */

#endif
