/* route.h - which upstream a proxied request goes to: its domain, then `new` or `legacy`.
 *
 * A route splits traffic between two upstreams. A request's domain is the first domain
 * (in written order) one of whose rules matches it: a path prefix, a header's value, words
 * in a field of its JSON body, or the presence of a body field. Then it goes to `new` when
 * the route is enabled, its kill switch is off, the domain is not protected, the domain is
 * routable (when the route names routable domains, a request of any other domain, or of
 * none, is not), and its bucket falls under the percentage. The bucket (0..9999) comes
 * from the request's sticky key hashed as flags hash their units (MurmurHash3 of the
 * route's name and the key, hash.h), so a key keeps its upstream while the percentage
 * only grows; a request without a key takes the caller's random number.
 *
 * Pure: no allocation, no clock (the caller brings the random number). Thread-safe.
 */
#ifndef SY_CORE_ROUTE_H
#define SY_CORE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/value.h"

#define SY_ROUTE_BP       10000 /* percentage points are hundredths: 10000 is 100 % */
#define SY_ROUTE_MAX_KEY  256   /* longest sticky key hashed (longer ones are cut here) */
#define SY_ROUTE_MAX_NAME 64    /* longest route name */

typedef enum sy_rule_kind {
    SY_RULE_PATH_PREFIX,   /* `value` starts the path */
    SY_RULE_HEADER,        /* header `name` equals `value` (ASCII case-insensitively) */
    SY_RULE_BODY_KEYWORDS, /* body field `name` (a dotted path) holds one of `words` */
    SY_RULE_BODY_FIELD,    /* body field `name` (a dotted path) is present */
} sy_rule_kind_t;

typedef struct sy_route_rule {
    sy_rule_kind_t kind;
    const char *name;         /* header name, or body field path ("event.text") */
    const char *value;        /* path prefix, or header value */
    const char *const *words; /* lower-case words: a word of the field's text, matched
                                 ASCII case-insensitively and on word boundaries */
    size_t n_words;
} sy_route_rule_t;

typedef struct sy_route_domain {
    const char *name;
    const sy_route_rule_t *rules;
    size_t n_rules;
    bool protected_domain; /* never sent to `new` */
    bool routable;         /* listed in the route's routable domains */
    bool prod_exec;        /* its requests are production executions: refused (403) while
                              the kill switch is engaged; sy_route_decide does not read it */
} sy_route_domain_t;

typedef struct sy_route_policy {
    const char *name; /* salts the sticky hash */
    bool enabled;
    bool killed;            /* the workspace's kill switch: nothing to `new` */
    uint32_t percentage_bp; /* 0..SY_ROUTE_BP */
    bool routable_only;     /* only routable domains may go to `new` */
    const sy_route_domain_t *domains;
    size_t n_domains;
} sy_route_policy_t;

/* What the decision looks at of one request. `header` returns a header's value (and its
 * length) or NULL; `body` is the parsed JSON body, NULL when there is none (or it was not
 * read: then body rules do not match). */
typedef struct sy_route_request {
    const char *path;
    size_t path_len;
    const char *(*header)(void *arg, const char *name, size_t *len);
    void *header_arg;
    const sy_value_t *body;
    const char *sticky; /* NULL: none */
    size_t sticky_len;
    uint32_t random; /* any uniform 32-bit number: the bucket of a request without a key */
} sy_route_request_t;

typedef enum sy_route_why {
    SY_ROUTE_SPLIT,        /* the bucket decided */
    SY_ROUTE_DISABLED,     /* the route is disabled */
    SY_ROUTE_KILLED,       /* the kill switch is engaged */
    SY_ROUTE_PROTECTED,    /* a protected domain */
    SY_ROUTE_NOT_ROUTABLE, /* not a routable domain */
} sy_route_why_t;

typedef struct sy_route_decision {
    int domain;      /* index into the policy's domains, or -1: none matched */
    bool to_new;     /* else `legacy` */
    uint32_t bucket; /* 0..SY_ROUTE_BP-1 */
    sy_route_why_t why;
} sy_route_decision_t;

/* What a data plane counted of one upstream of a route: requests (with the failures of
 * requests meant for it, which it never answered), errors among them, and the p95. */
typedef struct sy_route_health {
    int64_t requests, errors;
    double p95_ms;
} sy_route_health_t;

/* The domain and upstream of `r` under `p`. */
sy_route_decision_t sy_route_decide(const sy_route_policy_t *p, const sy_route_request_t *r);

/* The bucket of a sticky key under route `name` (what sy_route_decide uses). */
uint32_t sy_route_bucket(const char *name, const char *key, size_t len);

/* "split", "disabled", "kill_switch", "protected", "not_routable". */
const char *sy_route_why_name(sy_route_why_t why);

#endif
