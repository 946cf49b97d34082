/* sender.c - the notifier's thread: due rows out through libcurl's multi interface, each
 * outcome back onto its row; see sender.h. */
#define _DEFAULT_SOURCE
#include "notify/sender.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "notify/message.h"
#include "store/store.h"

#define LEASE_SLACK_MS 1000 /* past an attempt's timeout, before a leased row is due again */
#define DEFER_MS       100  /* a row whose channel has all its flights: looked at again then */
#define PRUNE_EVERY_MS (3600 * 1000)

/* A row as queued, copied out of the store's callback. */
struct row {
    sy_store_notification_t n; /* its strings point into `text` */
    char *text;
};

struct flight {
    bool busy;
    CURL *h;
    struct curl_slist *headers, *rcpt;
    sy_notify_message_t m;
    size_t sent; /* of m.body, uploaded (SMTP) */
    int64_t id, channel, attempts;
    const char *type; /* static */
    char *last_error; /* the row's, kept when leasing */
    char errbuf[CURL_ERROR_SIZE];
};

struct sy_notifier {
    sy_notifier_opts_t o;
    sy_store_t *store;
    CURLM *multi;
    pthread_t thread;
    atomic_bool stop;
    atomic_bool sending; /* sy_notifier_set_sending */
    unsigned seed;       /* of the jitter */
    int64_t prune_ms;    /* when old rows are deleted next */
    struct flight flights[SY_NOTIFIER_FLIGHTS];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(const struct sy_notifier *n, const char *event, const struct flight *f,
                int64_t attempts, const char *error)
{
    if (n->o.log)
        n->o.log(n->o.log_arg, event, f->id, f->channel, f->type, attempts, error);
}

/* The delay before retry number `failed` (1 after the first failure): doubling from the
 * first back-off up to the limit, then a random point in its upper half. */
static int64_t backoff(struct sy_notifier *n, int64_t failed)
{
    int64_t d = n->o.backoff_ms;
    for (int64_t i = 1; i < failed && d < n->o.backoff_max_ms; i++)
        d *= 2;
    if (d > n->o.backoff_max_ms)
        d = n->o.backoff_max_ms;
    return d - d / 2 + (int64_t)(rand_r(&n->seed) % (unsigned)(d / 2 + 1));
}

static void row_free(struct row *r)
{
    free(r->text);
}

/* Copies `src` into r: its strings end to end in one block. */
static int row_copy(struct row *r, const sy_store_notification_t *src)
{
    const char *in[] = {src->event, src->level,   src->action, src->resource,  src->key,
                        src->dedup, src->payload, src->status, src->last_error};
    size_t len = 0;
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
        len += (in[i] ? strlen(in[i]) : 0) + 1;
    if (!(r->text = malloc(len)))
        return -ENOMEM;
    const char *out[sizeof(in) / sizeof(in[0])];
    char *p = r->text;
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        out[i] = in[i] ? p : NULL;
        size_t k = in[i] ? strlen(in[i]) : 0;
        memcpy(p, in[i] ? in[i] : "", k + 1);
        p += k + 1;
    }
    r->n = *src;
    r->n.event = out[0], r->n.level = out[1], r->n.action = out[2], r->n.resource = out[3];
    r->n.key = out[4], r->n.dedup = out[5], r->n.payload = out[6], r->n.status = out[7];
    r->n.last_error = out[8];
    return 0;
}

struct due {
    struct row rows[SY_NOTIFIER_FLIGHTS];
    size_t n, cap;
};

static int take_due(void *arg, const sy_store_notification_t *src)
{
    struct due *d = arg;
    if (d->n == d->cap)
        return 0;
    int rc = row_copy(&d->rows[d->n], src);
    if (rc == 0)
        d->n++;
    return rc;
}

/* The channel of a row, found live (with its secrets) or not. */
struct channel {
    bool found;
    sy_store_channel_t c;
    char *text;
};

static int take_channel(void *arg, const sy_store_channel_t *c)
{
    struct channel *ch = arg;
    size_t a = strlen(c->type) + 1, b = strlen(c->name) + 1, k = strlen(c->config) + 1,
           s = strlen(c->secrets) + 1;
    if (!(ch->text = malloc(a + b + k + s)))
        return -ENOMEM;
    ch->found = true;
    ch->c = *c;
    ch->c.type = memcpy(ch->text, c->type, a);
    ch->c.name = memcpy(ch->text + a, c->name, b);
    ch->c.config = memcpy(ch->text + a + b, c->config, k);
    ch->c.secrets = memcpy(ch->text + a + b + k, c->secrets, s);
    return 0;
}

static const char *type_name(const char *t)
{
    static const char *const types[] = {"slack", "pagerduty", "webhook", "email"};
    for (size_t i = 0; i < 4; i++)
        if (strcmp(t, types[i]) == 0)
            return types[i];
    return "unknown";
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static size_t upload(char *buf, size_t size, size_t n, void *arg)
{
    struct flight *f = arg;
    size_t left = strlen(f->m.body) - f->sent, k = size * n < left ? size * n : left;
    memcpy(buf, f->m.body + f->sent, k);
    f->sent += k;
    return k;
}

static void flight_end(struct sy_notifier *n, struct flight *f)
{
    if (f->h) {
        curl_multi_remove_handle(n->multi, f->h);
        curl_easy_cleanup(f->h);
    }
    curl_slist_free_all(f->headers);
    curl_slist_free_all(f->rcpt);
    sy_notify_message_free(&f->m);
    free(f->last_error);
    *f = (struct flight){0};
}

/* Marks row `f` failed for good (`why`), with `attempts` made. */
static void give_up(struct sy_notifier *n, struct flight *f, int64_t attempts, const char *why)
{
    int64_t now = now_ms();
    (void)sy_store_notification_update(n->store, f->id, "failed", attempts, why, now, now, NULL);
    say(n, "notification_failed", f, attempts, why);
}

/* Sets up the easy handle of `f` for its message. */
static int prepare(struct sy_notifier *n, struct flight *f)
{
    CURL *h = f->h = curl_easy_init();
    if (!h)
        return -ENOMEM;
    long timeout = (long)n->o.timeout_ms;
    curl_easy_setopt(h, CURLOPT_PRIVATE, f);
    curl_easy_setopt(h, CURLOPT_URL, f->m.url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, f->errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    if (f->m.smtp) {
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        curl_easy_setopt(h, CURLOPT_MAIL_FROM, f->m.mail_from);
        if (!(f->rcpt = curl_slist_append(NULL, f->m.rcpt)))
            return -ENOMEM;
        curl_easy_setopt(h, CURLOPT_MAIL_RCPT, f->rcpt);
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, upload);
        curl_easy_setopt(h, CURLOPT_READDATA, f);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)strlen(f->m.body));
        /* credentials only over TLS (smtps://, or STARTTLS required); without them, TLS
         * when the server offers it */
        curl_easy_setopt(h, CURLOPT_USE_SSL,
                         (long)(f->m.username || f->m.password ? CURLUSESSL_ALL : CURLUSESSL_TRY));
        if (f->m.username)
            curl_easy_setopt(h, CURLOPT_USERNAME, f->m.username);
        if (f->m.password)
            curl_easy_setopt(h, CURLOPT_PASSWORD, f->m.password);
        return 0;
    }
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    for (size_t i = 0; f->m.headers[i]; i++) {
        struct curl_slist *l = curl_slist_append(f->headers, f->m.headers[i]);
        if (!l)
            return -ENOMEM;
        f->headers = l;
    }
    /* no "Expect: 100-continue" round trip */
    struct curl_slist *l = curl_slist_append(f->headers, "Expect:");
    if (!l)
        return -ENOMEM;
    f->headers = l;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, f->headers);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, f->m.body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(f->m.body));
    return 0;
}

/* Starts the delivery of `r` in a free flight: leases the row, renders its message for its
 * channel, adds the transfer. A row that cannot be sent at all (its channel deleted, its
 * message unrenderable) fails at once. False when the store failed (the row stays due). */
static bool start(struct sy_notifier *n, const struct row *r)
{
    struct flight *f = NULL;
    size_t same = 0;
    for (size_t i = 0; i < SY_NOTIFIER_FLIGHTS; i++) {
        same += n->flights[i].busy && n->flights[i].channel == r->n.channel;
        if (!f && !n->flights[i].busy)
            f = &n->flights[i];
    }
    if (same >= SY_NOTIFIER_PER_CHANNEL) { /* a slow receiver keeps only its own rows waiting */
        return sy_store_notification_update(n->store, r->n.id, "pending", r->n.attempts,
                                            r->n.last_error, now_ms() + DEFER_MS, 0, NULL) == 0;
    }
    if (!f)
        return true;
    *f = (struct flight){.busy = true,
                         .id = r->n.id,
                         .channel = r->n.channel,
                         .attempts = r->n.attempts,
                         .type = "unknown"};
    int64_t now = now_ms();
    struct channel ch = {0};
    sy_err_t err = {0};
    if (sy_store_channel_list(n->store, r->n.workspace, r->n.channel, take_channel, &ch, &err) <
        0) {
        flight_end(n, f);
        free(ch.text);
        return false;
    }
    if (!ch.found) {
        give_up(n, f, f->attempts, "the channel was deleted");
        flight_end(n, f);
        return true;
    }
    f->type = type_name(ch.c.type);
    int rc = sy_notify_message(&r->n, &ch.c, f->attempts + 1, now / 1000, &f->m, &err);
    free(ch.text);
    if (rc < 0) {
        give_up(n, f, f->attempts, err.msg);
        flight_end(n, f);
        return true;
    }
    if ((r->n.last_error && !(f->last_error = strdup(r->n.last_error))) || prepare(n, f) < 0 ||
        sy_store_notification_update(n->store, f->id, "pending", f->attempts, f->last_error,
                                     now + n->o.timeout_ms + LEASE_SLACK_MS, 0, NULL) < 0 ||
        curl_multi_add_handle(n->multi, f->h) != CURLM_OK) {
        flight_end(n, f); /* out of memory or the store failed: the row stays due */
        return false;
    }
    return true;
}

/* Records the outcome of the transfer that ended with `result`. */
static void finish(struct sy_notifier *n, struct flight *f, CURLcode result)
{
    long status = 0;
    curl_easy_getinfo(f->h, CURLINFO_RESPONSE_CODE, &status);
    int64_t attempts = f->attempts + 1, now = now_ms();
    char why[CURL_ERROR_SIZE + 64];
    if (result == CURLE_OK && (f->m.smtp || (status >= 200 && status < 300))) {
        (void)sy_store_notification_update(n->store, f->id, "delivered", attempts, NULL, now, now,
                                           NULL);
        say(n, "notification_delivered", f, attempts, NULL);
        return;
    }
    if (result != CURLE_OK)
        snprintf(why, sizeof(why), "%s", f->errbuf[0] ? f->errbuf : curl_easy_strerror(result));
    else
        snprintf(why, sizeof(why), "HTTP %ld", status);
    if (attempts >= n->o.max_attempts) {
        give_up(n, f, attempts, why);
        return;
    }
    (void)sy_store_notification_update(n->store, f->id, "pending", attempts, why,
                                       now + backoff(n, attempts), 0, NULL);
    say(n, "notification_retry", f, attempts, why);
}

static size_t in_flight(const struct sy_notifier *n)
{
    size_t k = 0;
    for (size_t i = 0; i < SY_NOTIFIER_FLIGHTS; i++)
        k += n->flights[i].busy;
    return k;
}

static void *run(void *arg)
{
    struct sy_notifier *n = arg;
    while (!atomic_load(&n->stop)) {
        int64_t now = now_ms(), gone;
        bool sending = atomic_load(&n->sending);
        if (sending && n->o.retention_ms > 0 && now >= n->prune_ms) {
            n->prune_ms = now + PRUNE_EVERY_MS;
            (void)sy_store_notification_prune(n->store, now - n->o.retention_ms, &gone, NULL);
        }
        struct due d = {.cap = sending ? SY_NOTIFIER_FLIGHTS - in_flight(n) : 0};
        bool stuck = d.cap > 0 &&
                     sy_store_notification_due(n->store, now, (int)d.cap, take_due, &d, NULL) < 0;
        for (size_t i = 0; i < d.n; i++) {
            stuck |= !start(n, &d.rows[i]);
            row_free(&d.rows[i]);
        }
        int running = 0;
        curl_multi_perform(n->multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(n->multi, &left))) {
            char *f = NULL;
            if (msg->msg != CURLMSG_DONE ||
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &f) != CURLE_OK || !f)
                continue;
            finish(n, (struct flight *)f, msg->data.result);
            flight_end(n, (struct flight *)f);
        }
        /* sleep until the next row is due, a transfer moves, or the engine wakes us */
        int64_t next = 0, wait = n->o.poll_ms; /* a failing store: try again at the next poll */
        if (!stuck && sy_store_notification_next(n->store, &next, NULL) == 0 && next > 0) {
            int64_t until = next - now_ms();
            wait = until < 0 ? 0 : until < wait ? until : wait;
        }
        curl_multi_poll(n->multi, NULL, 0, (int)(wait > 0 ? wait : 1), NULL);
    }
    for (size_t i = 0; i < SY_NOTIFIER_FLIGHTS; i++)
        if (n->flights[i].busy)
            flight_end(n, &n->flights[i]);
    return NULL;
}

int sy_notifier_start(sy_notifier_t **out, const sy_notifier_opts_t *o, sy_err_t *err)
{
    *out = NULL;
    if (o->max_attempts < 1 || o->backoff_ms < 1 || o->backoff_max_ms < o->backoff_ms ||
        o->timeout_ms < 1 || o->poll_ms < 1 || o->retention_ms < 0)
        return sy_err_set(err, -EINVAL, NULL, "notifier: bad options");
    struct sy_notifier *n = calloc(1, sizeof(*n));
    if (!n)
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    n->o = *o;
    atomic_init(&n->sending, true);
    n->seed = (unsigned)now_ms() ^ (unsigned)getpid();
    int rc = sy_store_open(&n->store, o->db, err);
    if (rc == 0)
        rc = sy_store_lazy_commits(n->store, err);
    if (rc < 0)
        goto out_store;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        rc = sy_err_set(err, -EIO, NULL, "notifier: libcurl does not initialise");
        goto out_store;
    }
    if (!(n->multi = curl_multi_init())) {
        rc = sy_err_set(err, -ENOMEM, NULL, "out of memory");
        goto out_curl;
    }
    if (pthread_create(&n->thread, NULL, run, n) != 0) {
        rc = sy_err_set(err, -EAGAIN, NULL, "notifier: cannot start its thread");
        goto out_multi;
    }
    *out = n;
    return 0;
out_multi:
    curl_multi_cleanup(n->multi);
out_curl:
    curl_global_cleanup();
out_store:
    sy_store_close(n->store);
    free(n);
    return rc;
}

void sy_notifier_wake(void *notifier)
{
    struct sy_notifier *n = notifier;
    if (n)
        curl_multi_wakeup(n->multi);
}

void sy_notifier_set_sending(sy_notifier_t *n, bool sending)
{
    if (!n || atomic_exchange(&n->sending, sending) == sending)
        return;
    if (sending)
        curl_multi_wakeup(n->multi); /* what came due meanwhile */
}

void sy_notifier_stop(sy_notifier_t *n)
{
    if (!n)
        return;
    atomic_store(&n->stop, true);
    curl_multi_wakeup(n->multi);
    pthread_join(n->thread, NULL);
    curl_multi_cleanup(n->multi);
    curl_global_cleanup();
    sy_store_close(n->store);
    free(n);
}
