/* view.c - what threads other than the engine's read: the published view.
 *
 * The engine's own tables (workspaces, tokens) change in place on its thread. Readers on
 * other threads (the data-plane workers) read an immutable copy instead: every workspace's
 * current snapshot (a reference held) and every token's hash and principal, sorted by
 * hash. The engine builds a new view after each change of either and swaps it in under
 * `view_lock`; a reader holds a reference to the view it last took and takes the new one
 * (under the lock, once) only when the generation moved. So a request costs one atomic
 * load when nothing changed, and no reader ever waits for the engine's work: building a
 * view happens before the lock is taken.
 */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>

#include "engine/experiment_int.h"
#include "engine/internal.h"

struct view_ws {
    int64_t id;
    struct snap *snap; /* a reference */
};

struct view_token {
    unsigned char hash[32];
    bool revoked;
    sy_principal_t who;
};

struct sy_eng_view {
    atomic_int refs;
    size_t n_ws, cap_ws;
    struct view_ws *ws; /* by id */
    size_t n_tokens, cap_tokens;
    struct view_token *tokens; /* by hash */
};

struct sy_engine_reader {
    sy_engine_t *eng;
    struct sy_eng_view *view;
    long long gen;
    EVP_MD_CTX *digest;
};

static void view_put(struct sy_eng_view *v)
{
    if (!v || atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < v->n_ws; i++)
        sy_snapshot_release(&v->ws[i].snap->pub);
    free(v->ws);
    free(v->tokens);
    free(v);
}

static int by_id(const void *a, const void *b)
{
    const struct view_ws *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int by_hash(const void *a, const void *b)
{
    return memcmp(((const struct view_token *)a)->hash, ((const struct view_token *)b)->hash, 32);
}

/* An empty view with room for `n_ws` workspaces and `n_tokens` tokens, or NULL. */
static struct sy_eng_view *view_new(size_t n_ws, size_t n_tokens)
{
    struct sy_eng_view *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    atomic_init(&v->refs, 1);
    v->ws = calloc(n_ws, sizeof(*v->ws));
    v->tokens = calloc(n_tokens, sizeof(*v->tokens));
    if (!v->ws || !v->tokens) {
        view_put(v);
        return NULL;
    }
    v->cap_ws = n_ws;
    v->cap_tokens = n_tokens;
    return v;
}

int sy_eng_view_reserve(sy_engine_t *eng)
{
    SY_ENG_OWNED(eng);
    struct sy_eng_view *v = eng->spare;
    if (v && v->cap_ws > eng->n_ws && v->cap_tokens > eng->n_tokens)
        return 0;
    /* room to grow by a few before the next allocation */
    struct sy_eng_view *n = view_new(eng->n_ws + 4, eng->n_tokens + 4);
    if (!n)
        return -ENOMEM;
    view_put(v);
    eng->spare = n;
    return 0;
}

int sy_eng_view_publish(sy_engine_t *eng)
{
    SY_ENG_OWNED(eng);
    eng->view_stale = true; /* until it is done */
    struct sy_eng_view *v = eng->spare;
    if (v && v->cap_ws >= eng->n_ws && v->cap_tokens >= eng->n_tokens)
        eng->spare = NULL; /* reserved before the change: nothing to allocate */
    else if (!(v = view_new(eng->n_ws + 1, eng->n_tokens + 1)))
        return -ENOMEM;
    for (size_t i = 0; i < eng->n_ws; i++) {
        struct snap *s = eng->ws[i].current;
        if (!s)
            continue; /* being opened: published once it has a snapshot */
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
        v->ws[v->n_ws++] = (struct view_ws){.id = eng->ws[i].id, .snap = s};
    }
    for (size_t i = 0; i < eng->n_tokens; i++) {
        const struct token *t = &eng->tokens[i];
        struct view_token *k = &v->tokens[v->n_tokens++];
        memcpy(k->hash, t->hash, 32);
        k->revoked = t->revoked;
        k->who = (sy_principal_t){.workspace = t->workspace, .token_id = t->id, .role = t->role};
        memcpy(k->who.name, t->name, sizeof(k->who.name));
    }
    qsort(v->ws, v->n_ws, sizeof(*v->ws), by_id);
    qsort(v->tokens, v->n_tokens, sizeof(*v->tokens), by_hash);
    pthread_mutex_lock(&eng->view_lock);
    struct sy_eng_view *old = eng->view;
    eng->view = v;
    atomic_fetch_add_explicit(&eng->view_gen, 1, memory_order_release);
    pthread_mutex_unlock(&eng->view_lock);
    view_put(old);
    eng->view_stale = false;
    return 0;
}

void sy_eng_view_close(sy_engine_t *eng)
{
    view_put(eng->spare);
    eng->spare = NULL;
    view_put(eng->view);
    eng->view = NULL;
    pthread_mutex_destroy(&eng->view_lock);
}

void sy_engine_bind_thread(sy_engine_t *eng)
{
    eng->owner = pthread_self();
    eng->bound = true;
}

bool sy_engine_records_exposures(const sy_engine_t *eng)
{
    return atomic_load_explicit(&eng->x->n_recording, memory_order_relaxed) > 0;
}

/* ---- readers ----------------------------------------------------------------------------- */

int sy_engine_reader_new(sy_engine_t *eng, sy_engine_reader_t **out)
{
    sy_engine_reader_t *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->eng = eng;
    r->gen = -1;
    r->digest = EVP_MD_CTX_new();
    if (!r->digest) {
        free(r);
        return -ENOMEM;
    }
    sy_engine_reader_refresh(r);
    *out = r;
    return 0;
}

void sy_engine_reader_free(sy_engine_reader_t *r)
{
    if (!r)
        return;
    view_put(r->view);
    EVP_MD_CTX_free(r->digest);
    free(r);
}

void sy_engine_reader_refresh(sy_engine_reader_t *r)
{
    sy_engine_t *eng = r->eng;
    long long gen = atomic_load_explicit(&eng->view_gen, memory_order_acquire);
    if (gen == r->gen)
        return;
    pthread_mutex_lock(&eng->view_lock);
    struct sy_eng_view *v = eng->view;
    if (v)
        atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
    r->gen = atomic_load_explicit(&eng->view_gen, memory_order_relaxed);
    pthread_mutex_unlock(&eng->view_lock);
    view_put(r->view);
    r->view = v;
}

const sy_snapshot_t *sy_engine_reader_snapshot(const sy_engine_reader_t *r, int64_t ws)
{
    const struct sy_eng_view *v = r->view;
    size_t lo = 0, hi = v ? v->n_ws : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->ws[mid].id == ws)
            return &v->ws[mid].snap->pub;
        if (v->ws[mid].id < ws)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int sy_engine_reader_authenticate(sy_engine_reader_t *r, const char *secret, size_t len,
                                  sy_principal_t *out)
{
    if (!secret || len == 0 || len >= SY_TOKEN_MAX)
        return -EACCES;
    struct view_token key;
    unsigned int n = 32;
    const EVP_MD *md = r->eng->sha256 ? r->eng->sha256 : EVP_sha256();
    if (!EVP_DigestInit_ex2(r->digest, md, NULL) || !EVP_DigestUpdate(r->digest, secret, len) ||
        !EVP_DigestFinal_ex(r->digest, key.hash, &n))
        return -ENOENT; /* let the engine try */
    const struct sy_eng_view *v = r->view;
    const struct view_token *t =
        v ? bsearch(&key, v->tokens, v->n_tokens, sizeof(*v->tokens), by_hash) : NULL;
    if (t) {
        if (t->revoked)
            return -EACCES;
        *out = t->who;
        return 0;
    }
    /* Only what the engine could have made is worth a look in the store. */
    return len == 51 && strncmp(secret, "sy_", 3) == 0 ? -ENOENT : -EACCES;
}

/* ---- the serving loops' gauges ------------------------------------------------------------- */

/* Slots that never move, so that any thread may read them while another adds one. */
int sy_engine_loop_add(sy_engine_t *eng, sy_loopstat_t *s)
{
    for (size_t i = 0; i < SY_ENGINE_LOOPS_MAX; i++) {
        sy_loopstat_t *none = NULL;
        if (atomic_compare_exchange_strong(&eng->loops[i], &none, s))
            return 0;
    }
    return -ENOSPC;
}

void sy_engine_loop_remove(sy_engine_t *eng, sy_loopstat_t *s)
{
    for (size_t i = 0; i < SY_ENGINE_LOOPS_MAX; i++) {
        sy_loopstat_t *was = s;
        if (atomic_compare_exchange_strong(&eng->loops[i], &was, NULL))
            return;
    }
}

size_t sy_engine_loops(sy_engine_t *eng, sy_loopstat_view_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < SY_ENGINE_LOOPS_MAX; i++) {
        sy_loopstat_t *s = atomic_load(&eng->loops[i]);
        if (s && n < cap)
            sy_loopstat_read(s, &out[n]);
        n += s != NULL;
    }
    return n;
}

void sy_engine_loops_reset(sy_engine_t *eng)
{
    for (size_t i = 0; i < SY_ENGINE_LOOPS_MAX; i++) {
        sy_loopstat_t *s = atomic_load(&eng->loops[i]);
        if (s)
            sy_loopstat_reset(s);
    }
}
