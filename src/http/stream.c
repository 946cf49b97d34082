/* stream.c - OFREP's server-sent event stream: "refetch, something changed".
 *
 * A bulk evaluation advertises {"type":"sse","url":.../ofrep/v1/events/KEY} in its
 * `eventStreams`. KEY names one workspace's stream: "WS-MAC", the workspace's id and the
 * first 128 bits of SHA-256 over a secret drawn once per process and the id, so that
 * every serving thread makes and checks keys alike with nothing shared but the secret.
 * It is handed only to authenticated callers, and the stream tells nothing but that the
 * workspace's flags changed (browsers' EventSource cannot send a bearer token, so the key
 * stands in for it; it changes on restart, and a client whose stream fails falls back to
 * polling). Every published change of the workspace sends
 * `data: {"type":"refetchEvaluation"}` to each open stream at once, and a comment every
 * 25 s keeps idle connections and proxies from timing out.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "http/internal.h"
#include "http/secret.h"

#define KEEPALIVE_S 25

struct stream {
    sy_h1_req_t *req;
    int64_t ws;
    struct sy_streams *all;
    struct stream *next;
};

struct stream_key {
    int64_t ws;
    char key[SY_STREAM_KEY_MAX];
};

/* One serving loop's streams (not shared between threads). */
struct sy_streams {
    struct stream *open;
    const unsigned char *secret;
    struct stream_key *keys; /* made before: a bulk evaluation names its stream each time */
    size_t n_keys, cap_keys;
    struct event *keepalive;
};

int sy_stream_key(const unsigned char *secret, int64_t ws, char *out)
{
    unsigned char in[40], mac[32];
    unsigned int n = sizeof(mac);
    memcpy(in, secret, 32);
    for (int i = 0; i < 8; i++)
        in[32 + i] = (unsigned char)((uint64_t)ws >> (8 * i));
    if (!EVP_Digest(in, sizeof(in), mac, &n, EVP_sha256(), NULL))
        return -EIO;
    int len = snprintf(out, SY_STREAM_KEY_MAX, "%lld-", (long long)ws);
    for (int i = 0; i < 16; i++)
        snprintf(out + len + 2 * i, 3, "%02x", mac[i]);
    return 0;
}

/* A failed send only marks the connection; its `closed` comes later from the loop. */
static void send_all(struct sy_streams *s, int64_t ws, bool any, const char *text)
{
    for (struct stream *st = s->open; st; st = st->next)
        if (any || st->ws == ws)
            sy_h1_stream_send(st->req, text, strlen(text));
}

static void keepalive(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    send_all(arg, 0, true, ": keepalive\n\n");
}

struct sy_streams *sy_streams_new(struct event_base *base, const unsigned char *secret)
{
    struct sy_streams *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->secret = secret;
    s->keepalive = event_new(base, -1, EV_PERSIST, keepalive, s);
    if (!s->keepalive || event_add(s->keepalive, &(struct timeval){.tv_sec = KEEPALIVE_S}) < 0) {
        if (s->keepalive)
            event_free(s->keepalive);
        free(s);
        return NULL;
    }
    return s;
}

static void unlink_stream(struct stream *st)
{
    for (struct stream **p = &st->all->open; *p; p = &(*p)->next)
        if (*p == st) {
            *p = st->next;
            break;
        }
}

/* Ends every stream (a clean shutdown): each client sees the end of its response. */
void sy_streams_end(struct sy_streams *s)
{
    while (s->open) {
        struct stream *st = s->open;
        s->open = st->next;
        sy_h1_stream_end(st->req);
        free(st);
    }
}

void sy_streams_free(struct sy_streams *s)
{
    if (!s)
        return;
    sy_streams_end(s);
    event_free(s->keepalive);
    free(s->keys);
    free(s);
}

const char *sy_streams_key(struct sy_streams *s, int64_t ws)
{
    for (size_t i = 0; i < s->n_keys; i++)
        if (s->keys[i].ws == ws)
            return s->keys[i].key;
    if (s->n_keys == s->cap_keys) {
        size_t cap = s->cap_keys ? s->cap_keys * 2 : 8;
        struct stream_key *k = realloc(s->keys, cap * sizeof(*k));
        if (!k)
            return NULL;
        s->keys = k;
        s->cap_keys = cap;
    }
    struct stream_key *k = &s->keys[s->n_keys];
    if (sy_stream_key(s->secret, ws, k->key) < 0)
        return NULL;
    k->ws = ws;
    s->n_keys++;
    return k->key;
}

void sy_streams_changed(struct sy_streams *s, int64_t ws)
{
    send_all(s, ws, false, "data: {\"type\":\"refetchEvaluation\"}\n\n");
}

/* The client went away; its request is gone with it. */
static void closed(void *arg)
{
    struct stream *st = arg;
    unlink_stream(st);
    free(st);
}

void sy_streams_open(struct sy_streams *s, struct call *c, const char *key)
{
    /* The key stands in for a token: its MAC is compared in constant time, so that how
     * long a refusal takes does not tell how much of a guessed key was right. */
    char *end;
    errno = 0;
    long long ws = strtoll(key, &end, 10);
    char want[SY_STREAM_KEY_MAX];
    if (errno || end == key || *end != '-' || ws < 0 || sy_stream_key(s->secret, ws, want) < 0 ||
        !sy_secret_matches(want, key)) {
        reply_error(c, 404, "not_found", "", "no such event stream (streams change on restart)");
        return;
    }
    struct stream *st = calloc(1, sizeof(*st));
    if (!st) {
        reply_error(c, 500, "out_of_memory", "", "out of memory");
        return;
    }
    if (!sy_h1_stream_room(c->req)) { /* true takes the place: the stream starts next */
        free(st);
        sy_h1_add_header(c->req, "Retry-After", "5");
        reply_error(c, 503, "busy", "", "too many event streams are open: retry shortly");
        return;
    }
    *st = (struct stream){.req = c->req, .ws = ws, .all = s, .next = s->open};
    s->open = st;
    sy_h1_add_header(c->req, "Cache-Control", "no-cache");
    c->status = 200;
    sy_h1_stream_start(c->req, 200, "text/event-stream", closed, st);
    static const char hello[] = ": switchyard flag changes\nretry: 2000\n\n";
    sy_h1_stream_send(c->req, hello, sizeof(hello) - 1);
}

void sy_api_stream(struct call *c)
{
    sy_streams_open(c->streams, c, c->arg[0]);
}
