/* own_listen.c - whether a route's `listen` would take an address this server listens on
 * itself (--listen, --metrics-listen). Such a route was accepted once and its proxy could
 * never bind (issue 23's outside tester): now it is refused when it is made.
 *
 * Addresses are compared as bound and resolved, not as written: "localhost:8080" is
 * 127.0.0.1:8080, and a wildcard (0.0.0.0, ::) on the same port overlaps any address of its
 * family (:: any address at all, as Linux binds it dual-stack).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "http/internal.h"

/* An address reduced for comparison: IPv4 as such (v4-mapped IPv6 too), else IPv6. */
struct ep {
    int family; /* AF_INET or AF_INET6 */
    unsigned char a[16];
    int port;
    bool any; /* a wildcard */
};

static bool ep_of(const struct sockaddr *sa, struct ep *e)
{
    *e = (struct ep){0};
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        e->family = AF_INET;
        memcpy(e->a, &in->sin_addr, 4);
        e->port = ntohs(in->sin_port);
        e->any = in->sin_addr.s_addr == htonl(INADDR_ANY);
        return true;
    }
    if (sa->sa_family != AF_INET6)
        return false;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    e->port = ntohs(in6->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
        e->family = AF_INET;
        memcpy(e->a, in6->sin6_addr.s6_addr + 12, 4);
        e->any = memcmp(e->a, "\0\0\0\0", 4) == 0;
        return true;
    }
    e->family = AF_INET6;
    memcpy(e->a, &in6->sin6_addr, 16);
    e->any = IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
    return true;
}

/* Whether binding both would collide (the same port, and one address covering the other). */
static bool overlap(const struct ep *x, const struct ep *y)
{
    if (x->port != y->port)
        return false;
    if ((x->any && x->family == AF_INET6) || (y->any && y->family == AF_INET6))
        return true;
    if (x->family != y->family)
        return false;
    return x->any || y->any || memcmp(x->a, y->a, x->family == AF_INET ? 4 : 16) == 0;
}

int sy_http_own_listen_check(const sy_http_t *http, const char *listen, sy_err_t *err)
{
    static const char *const option[2] = {"--listen", "--metrics-listen"};
    struct ep own[2];
    bool have[2];
    for (int i = 0; i < 2; i++) {
        socklen_t len = 0;
        const struct sockaddr *sa = sy_http_own_addr(http, i, &len);
        have[i] = sa && len && ep_of(sa, &own[i]);
    }
    if (!have[0] && !have[1])
        return 0;
    char host[256];
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    if (!colon || (size_t)(colon - listen) >= sizeof(host))
        return 0; /* not HOST:PORT: the route's own check names it */
    size_t n = (size_t)(colon - listen);
    memcpy(host, listen, n);
    host[n] = '\0';
    if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
        return 0; /* does not resolve: the proxy tells (route_listen_error) */
    int rc = 0;
    for (const struct addrinfo *a = res; a && rc == 0; a = a->ai_next) {
        struct ep e;
        if (!ep_of(a->ai_addr, &e))
            continue;
        for (int i = 0; i < 2 && rc == 0; i++)
            if (have[i] && overlap(&e, &own[i]))
                rc = sy_err_set(err, SY_ECONFLICT, "listen",
                                "listen %.100s is this server's own %s address: the proxy "
                                "could never serve the route there",
                                listen, option[i]);
    }
    freeaddrinfo(res);
    return rc;
}
