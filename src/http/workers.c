/* workers.c - the data-plane threads; see workers.h. */
#define _GNU_SOURCE
#include "http/workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "http/evalstats.h"
#include "http/internal.h"

#define SEEN_MAX      (1024 * 1024) /* exposures one request may send to the engine, in bytes */
#define JOBS_PER_TURN 32            /* handed-over requests the engine serves per loop turn */

/* One message between the engine's loop and a worker's, either way. */
struct msg {
    struct msg *next;
    enum {
        MSG_REQUEST,     /* to the engine: serve `copy`, answer to `w` for `orig` */
        MSG_SEEN,        /* to the engine: exposures in `data` */
        MSG_WORKER_DONE, /* to the engine: `w` drained and owes nothing */
        MSG_ANSWER,      /* to a worker: `orig`'s answer */
        MSG_CHANGED,     /* to a worker: workspace `ws` changed */
        MSG_DRAIN,       /* to a worker: stop accepting, finish in `grace_s` */
        MSG_STOP,        /* to a worker: leave the loop */
    } kind;
    struct worker *w;
    sy_h1_req_t *orig; /* the worker's, pending while the engine has the copy */
    sy_h1_req_t *copy; /* the engine's; gone once answered */
    int status;
    int64_t ws;
    int grace_s;
    const char *type, *extra, *body; /* an answer's, in `data` */
    size_t extra_len, len;
    char *data;
    size_t data_len;
    sy_h1_shared_t *shared; /* an answer's body when it came shared (a scrape): not copied */
};

/* A queue into one loop: any thread pushes, the loop's `ev` takes everything at once. */
struct queue {
    pthread_mutex_t lock;
    struct msg *head, *tail;
    struct event *ev;
};

struct worker {
    sy_workers_t *all;
    pthread_t thread;
    bool started;
    struct event_base *base;
    sy_h1_server_t *h1;
    struct sy_streams *streams;
    sy_engine_reader_t *rd;
    struct queue mail;
    size_t inflight; /* requests the engine has */
    bool draining, h1_drained, finished;
    char *seen; /* the current request's exposures (struct seen_rec + bytes, packed) */
    size_t seen_len, seen_cap;
    sy_loopstat_t loop;
    sy_evalstats_t *evals; /* the set's (server.c): freed with it */
};

struct sy_workers {
    sy_http_t *http;
    sy_engine_t *eng;
    struct event_base *engine;
    struct queue jobs;
    struct msg *backlog, *backlog_last; /* taken from `jobs`, not yet served (the engine
                                         * thread's), first to last */
    int n;
    struct worker *w;
    atomic_size_t open;    /* every worker's connections, against the cap */
    atomic_size_t streams; /* every worker's, against half of all connections */
    int n_done;
    void (*done)(void *arg);
    void *done_arg;
    struct event *deadline; /* a drain's last word: done even if a worker never says so */
};

/* An exposure record: the three strings follow it. */
struct seen_rec {
    int64_t ws;
    uint32_t flag_len, unit_len, variant_len;
};

static void push(struct queue *q, struct msg *m)
{
    m->next = NULL;
    pthread_mutex_lock(&q->lock);
    bool was_empty = !q->head;
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    pthread_mutex_unlock(&q->lock);
    if (was_empty) /* otherwise it is active already, and takes this one too */
        event_active(q->ev, EV_READ, 0);
}

static struct msg *take(struct queue *q)
{
    pthread_mutex_lock(&q->lock);
    struct msg *m = q->head;
    q->head = q->tail = NULL;
    pthread_mutex_unlock(&q->lock);
    return m;
}

static int queue_init(struct queue *q, struct event_base *base, event_callback_fn fn, void *arg)
{
    pthread_mutex_init(&q->lock, NULL);
    q->ev = event_new(base, -1, 0, fn, arg);
    return q->ev ? 0 : -ENOMEM;
}

/* Frees what is left in `q` (the other side is gone: nothing is answered). */
static void queue_free(struct queue *q)
{
    for (struct msg *m = take(q), *next; m; m = next) {
        next = m->next;
        sy_h1_detached_free(m->copy);
        sy_h1_shared_release(m->shared);
        free(m->data);
        free(m);
    }
    if (q->ev)
        event_free(q->ev);
    pthread_mutex_destroy(&q->lock);
}

/* ---- the worker's side ------------------------------------------------------------------ */

static void maybe_finished(struct worker *w)
{
    if (!w->draining || !w->h1_drained || w->inflight || w->finished)
        return;
    struct msg *m = calloc(1, sizeof(*m));
    if (!m)
        return; /* the engine's grace ends the wait */
    w->finished = true;
    m->kind = MSG_WORKER_DONE;
    m->w = w;
    push(&w->all->jobs, m);
}

static void h1_drained(void *arg)
{
    struct worker *w = arg;
    w->h1_drained = true;
    maybe_finished(w);
}

static void on_mail(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct worker *w = arg;
    for (struct msg *m = take(&w->mail), *next; m; m = next) {
        next = m->next;
        switch (m->kind) {
        case MSG_ANSWER:
            (void)sy_h1_add_header_lines(m->orig, m->extra, m->extra_len);
            if (m->shared)
                sy_h1_reply_shared(m->orig, m->status, m->type, m->shared);
            else
                sy_h1_reply(m->orig, m->status, m->type, m->body, m->len);
            w->inflight--;
            break;
        case MSG_CHANGED:
            sy_streams_changed(w->streams, m->ws);
            break;
        case MSG_DRAIN:
            w->draining = true;
            sy_streams_end(w->streams);
            sy_h1_drain(w->h1, m->grace_s, h1_drained, w);
            break;
        case MSG_STOP:
            event_base_loopbreak(w->base);
            break;
        default:
            break;
        }
        sy_h1_shared_release(m->shared);
        free(m->data);
        free(m);
    }
    maybe_finished(w);
    sy_h1_loop_mark(w->base, &w->loop);
}

/* The engine answered a handed-over request (on the engine's thread): the answer goes to
 * the worker whose connection waits for it. A shared body is kept by reference, not
 * copied: N scrapes waiting for their clients hold one body between them. */
static void answered(void *arg, int status, const char *type, const char *extra, size_t extra_len,
                     const char *body, size_t len, sy_h1_shared_t *shared)
{
    struct msg *m = arg;
    size_t tl = type ? strlen(type) + 1 : 0;
    if (shared) {
        m->shared = sy_h1_shared_ref(shared);
        len = 0; /* the body stays in `shared` */
    }
    m->data = malloc(tl + extra_len + len + 1);
    if (!m->data) { /* the worker still answers: a bare 503 needs no memory here */
        status = 503;
        type = NULL;
        extra_len = len = tl = 0;
        sy_h1_shared_release(m->shared);
        m->shared = NULL;
    } else {
        memcpy(m->data, type ? type : "", tl);
        memcpy(m->data + tl, extra, extra_len);
        memcpy(m->data + tl + extra_len, body, len);
    }
    m->kind = MSG_ANSWER;
    m->copy = NULL; /* freed by h1 once this returns */
    m->status = status;
    m->type = type ? m->data : NULL;
    m->extra = m->data ? m->data + tl : "";
    m->extra_len = extra_len;
    m->body = m->data ? m->data + tl + extra_len : "";
    m->len = len;
    push(&m->w->mail, m);
}

static void hand_over(struct worker *w, sy_h1_req_t *req)
{
    struct msg *m = calloc(1, sizeof(*m));
    if (m)
        m->copy = sy_h1_detach(req, answered, m);
    if (!m || !m->copy) {
        free(m);
        static const char oom[] =
            "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\",\"field\":\"\"}}";
        sy_h1_reply(req, 503, "application/json", oom, sizeof(oom) - 1);
        return;
    }
    m->kind = MSG_REQUEST;
    m->w = w;
    m->orig = req;
    w->inflight++;
    push(&w->all->jobs, m);
}

bool sy_worker_hand_to(struct worker *w, sy_h1_req_t *req,
                       bool (*submit)(void *arg, sy_h1_req_t *copy, const sy_principal_t *who),
                       void *arg, const sy_principal_t *who)
{
    struct msg *m = calloc(1, sizeof(*m));
    if (m)
        m->copy = sy_h1_detach(req, answered, m);
    if (!m || !m->copy) {
        free(m);
        return false;
    }
    m->kind = MSG_REQUEST;
    m->w = w;
    m->orig = req;
    if (!submit(arg, m->copy, who)) {
        sy_h1_detached_free(m->copy);
        free(m);
        return false;
    }
    w->inflight++; /* (the answer's decrement runs on this thread: after this) */
    return true;
}

/* Sends the request's exposures to the engine. */
static void send_seen(struct worker *w)
{
    if (!w->seen_len)
        return;
    struct msg *m = calloc(1, sizeof(*m));
    if (!m) {
        w->seen_len = 0; /* best effort, as the engine's own queue is */
        return;
    }
    m->kind = MSG_SEEN;
    m->data = w->seen;
    m->data_len = w->seen_len;
    w->seen = NULL;
    w->seen_len = w->seen_cap = 0;
    push(&w->all->jobs, m);
}

void sy_worker_seen(struct worker *w, int64_t ws, const char *flag, size_t flag_len,
                    const char *unit, size_t unit_len, const char *variant, size_t variant_len)
{
    size_t need = sizeof(struct seen_rec) + flag_len + unit_len + variant_len;
    if (w->seen_len + need > SEEN_MAX)
        return;
    if (w->seen_len + need > w->seen_cap) {
        size_t cap = w->seen_cap ? w->seen_cap : 1024;
        while (cap < w->seen_len + need)
            cap *= 2;
        char *p = realloc(w->seen, cap);
        if (!p)
            return;
        w->seen = p;
        w->seen_cap = cap;
    }
    struct seen_rec r = {.ws = ws,
                         .flag_len = (uint32_t)flag_len,
                         .unit_len = (uint32_t)unit_len,
                         .variant_len = (uint32_t)variant_len};
    char *at = w->seen + w->seen_len;
    memcpy(at, &r, sizeof(r));
    at += sizeof(r);
    memcpy(at, flag, flag_len);
    memcpy(at + flag_len, unit, unit_len);
    memcpy(at + flag_len + unit_len, variant, variant_len);
    w->seen_len += need;
}

static void on_request(sy_h1_req_t *req, void *arg)
{
    struct worker *w = arg;
    if (!sy_http_worker_request(w->all->http, w, w->rd, w->streams, w->evals, req))
        hand_over(w, req);
    send_seen(w);
}

static bool on_head(const sy_h1_req_t *req, void *arg)
{
    struct worker *w = arg;
    return sy_http_body_allowed(w->all->http, w->rd, req, false);
}

static void *run(void *arg)
{
    struct worker *w = arg;
    event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* ---- the engine's side ------------------------------------------------------------------- */

/* A drain is over (every worker said so, or its time ran out): its `done`, once. */
static void drained(sy_workers_t *all)
{
    if (all->done) {
        void (*done)(void *) = all->done;
        all->done = NULL;
        done(all->done_arg);
    }
}

static void on_jobs(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sy_workers_t *all = arg;
    /* Everything queued joins the backlog at every turn: a push that found the queue
     * empty while this event was already active merged into that activation, so the
     * queue must be looked at again here, not only once the backlog is done. */
    struct msg *got = take(&all->jobs);
    if (got) {
        if (all->backlog_last)
            all->backlog_last->next = got;
        else
            all->backlog = got;
        while (got->next)
            got = got->next;
        all->backlog_last = got;
    }
    /* A few at a time: the loop's timers (the engine's tick) and its own events come
     * between two batches, however many requests wait. */
    int budget = JOBS_PER_TURN;
    for (struct msg *m = all->backlog, *next; m && budget-- > 0; m = next) {
        next = m->next;
        all->backlog = next;
        if (!next)
            all->backlog_last = NULL;
        if (m->kind == MSG_REQUEST) {
            sy_http_serve(all->http, m->copy); /* answered now or later, through answered() */
            continue;
        }
        if (m->kind == MSG_SEEN) {
            for (size_t at = 0; at + sizeof(struct seen_rec) <= m->data_len;) {
                struct seen_rec r;
                memcpy(&r, m->data + at, sizeof(r));
                const char *p = m->data + at + sizeof(r);
                sy_engine_exposure_seen(all->eng, r.ws, p, r.flag_len, p + r.flag_len, r.unit_len,
                                        p + r.flag_len + r.unit_len, r.variant_len);
                at += sizeof(r) + r.flag_len + r.unit_len + r.variant_len;
            }
        } else if (m->kind == MSG_WORKER_DONE && ++all->n_done == all->n) {
            drained(all);
        }
        free(m->data);
        free(m);
    }
    if (all->backlog)
        event_active(all->jobs.ev, EV_READ, 0);
    sy_h1_loop_mark(all->engine, sy_http_engine_loop(all->http));
}

static void post(struct worker *w, int kind, int64_t ws, int grace_s)
{
    struct msg *m = calloc(1, sizeof(*m));
    if (!m)
        return; /* a stream misses one refetch; a drain ends at the engine's grace */
    m->kind = kind;
    m->ws = ws;
    m->grace_s = grace_s;
    push(&w->mail, m);
}

void sy_workers_changed(sy_workers_t *all, int64_t workspace)
{
    for (int i = 0; i < all->n; i++)
        post(&all->w[i], MSG_CHANGED, workspace, 0);
}

static void drain_over(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    drained(arg);
}

void sy_workers_drain(sy_workers_t *all, int grace_s, void (*done)(void *arg), void *arg)
{
    all->done = done;
    all->done_arg = arg;
    for (int i = 0; i < all->n; i++)
        post(&all->w[i], MSG_DRAIN, 0, grace_s);
    /* Each worker waits for the answers the engine owes it after its grace; the engine
     * gives them at once, but a worker that could not say it is done must not hold the
     * process: sy_workers_free drops what is left. */
    all->deadline = evtimer_new(all->engine, drain_over, all);
    if (all->deadline)
        evtimer_add(all->deadline, &(struct timeval){.tv_sec = grace_s + 5});
}

int sy_workers_start(sy_workers_t **out, sy_http_t *http, struct event_base *engine, int n, int fd,
                     const sy_h1_opts_t *opts)
{
    *out = NULL;
    sy_workers_t *all = calloc(1, sizeof(*all));
    if (!all)
        return -ENOMEM;
    all->http = http;
    all->eng = sy_http_engine(http);
    all->engine = engine;
    all->w = calloc((size_t)n, sizeof(*all->w));
    int rc = all->w ? queue_init(&all->jobs, engine, on_jobs, all) : -ENOMEM;
    struct event_config *cfg = event_config_new();
    /* The stall gauge needs the time of each wake-up to the microsecond. No epoll change
     * list (the engine's loop has one): a worker's deferred removal of a descriptor it
     * closed would reach epoll after another worker accepted a connection under the same
     * number. */
    if (cfg)
        event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    sy_h1_opts_t o = *opts;
    o.accept_batch = n > 1 ? 4 : 0;
    o.on_head = on_head;
    o.open = &all->open; /* the cap is all the workers', not a share each */
    o.streams = &all->streams;
    o.max_streams = (opts->max_conns + 1) / 2;
    for (int i = 0; rc == 0 && i < n; i++) {
        struct worker *w = &all->w[i];
        w->all = all;
        all->n = i + 1;
        char name[32];
        snprintf(name, sizeof(name), "worker-%d", i);
        sy_loopstat_init(&w->loop, name, sy_http_engine_loop(http)->cpu);
        o.loop = &w->loop;
        w->base = cfg ? event_base_new_with_config(cfg) : NULL;
        if (!w->base || queue_init(&w->mail, w->base, on_mail, w) < 0 ||
            !(w->streams = sy_streams_new(w->base, sy_http_stream_secret(http))) ||
            sy_engine_reader_new(all->eng, &w->rd) < 0 ||
            !(w->evals = sy_evalstats_add(sy_http_evalstats(http)))) {
            rc = -ENOMEM;
            break;
        }
        if ((rc = sy_h1_listen_fd(&w->h1, w->base, fd, &o, on_request, w)) < 0)
            break;
        if (pthread_create(&w->thread, NULL, run, w) != 0) {
            rc = -EAGAIN;
            break;
        }
        w->started = true;
        sy_engine_loop_add(all->eng, &w->loop);
    }
    if (cfg)
        event_config_free(cfg);
    if (rc < 0) {
        sy_workers_free(all);
        return rc;
    }
    *out = all;
    return 0;
}

void sy_workers_free(sy_workers_t *all)
{
    if (!all)
        return;
    for (int i = 0; i < all->n; i++) {
        struct worker *w = &all->w[i];
        if (!w->started)
            continue;
        struct msg *m = calloc(1, sizeof(*m));
        if (m) { /* after every answer already in its queue */
            m->kind = MSG_STOP;
            push(&w->mail, m);
        } else {
            event_base_loopbreak(w->base);
        }
        pthread_join(w->thread, NULL);
        sy_engine_loop_remove(all->eng, &w->loop);
    }
    /* Requests the engine has not served: their workers are gone. */
    for (struct msg *m = all->backlog, *next; m; m = next) {
        next = m->next;
        sy_h1_detached_free(m->copy);
        free(m->data);
        free(m);
    }
    if (all->jobs.ev)
        queue_free(&all->jobs);
    for (int i = 0; i < all->n; i++) {
        struct worker *w = &all->w[i];
        sy_h1_free(w->h1);
        sy_streams_free(w->streams);
        sy_engine_reader_free(w->rd);
        if (w->mail.ev)
            queue_free(&w->mail);
        free(w->seen);
        if (w->base)
            event_base_free(w->base);
    }
    if (all->deadline)
        event_free(all->deadline);
    free(all->w);
    free(all);
}
