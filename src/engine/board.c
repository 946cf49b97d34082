/* board.c - the state /metrics shows, built on the engine's thread by the tick and read by
 * the serving threads (engine.h, "the board"). A board is immutable once published: a
 * counted reference keeps it while a scrape writes it, the next one replaces it with one
 * pointer swap under board_lock, as the view does. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/internal.h"

struct board {
    sy_board_t b; /* first: what readers see */
    atomic_int refs;
};

void sy_board_release(const sy_board_t *b)
{
    struct board *x = (struct board *)b;
    if (!x || atomic_fetch_sub(&x->refs, 1) != 1)
        return;
    free(x->b.exps);
    free(x->b.routes);
    free(x->b.trips);
    free(x->b.wss);
    free(x);
}

const sy_board_t *sy_engine_board(sy_engine_t *eng)
{
    pthread_mutex_lock(&eng->board_lock);
    struct board *x = (struct board *)eng->board;
    if (x)
        atomic_fetch_add(&x->refs, 1);
    pthread_mutex_unlock(&eng->board_lock);
    return x ? &x->b : NULL;
}

void sy_engine_set_board_refresh(sy_engine_t *eng, int64_t ms)
{
    eng->board_refresh_ms = ms < 1000 ? 1000 : ms;
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* One experiment's row: its split and counts, and for a running one its comparisons. */
static void exp_row(sy_engine_t *eng, const sy_principal_t *who, const sy_experiment_t *x,
                    sy_board_exp_t *out)
{
    *out = (sy_board_exp_t){.ws = who->workspace, .n_arms = x->def.n_variants};
    copy(out->key, sizeof(out->key), x->def.key);
    copy(out->state, sizeof(out->state), x->state);
    for (size_t i = 0; i < out->n_arms; i++) {
        copy(out->arms[i].key, sizeof(out->arms[i].key), x->def.variants[i].key);
        out->arms[i].weight = x->weights[i];
    }
    if (!sy_eng_state_live(x->state))
        return;
    sy_exp_results_t *r = NULL;
    if (sy_engine_experiment_results(eng, who, x->def.key, &r, NULL) < 0)
        return;
    out->has_results = true;
    out->srm_mismatch = r->r.srm.mismatch;
    out->srm_p = r->r.srm.p_value;
    for (size_t i = 0; i < out->n_arms && i < r->n_variants; i++) {
        sy_board_arm_t *a = &out->arms[i];
        const sy_arm_result_t *ar = &r->r.arms[i];
        a->units = r->variants[i].units;
        a->conversions = r->variants[i].conversions;
        a->errors = r->variants[i].errors;
        a->compared = ar->compared;
        a->confidence = ar->confidence;
        a->has_seq = ar->has_seq;
        a->always_valid_p = ar->always_valid_p;
        a->has_lift = ar->compared && ar->has_lift;
        a->lift = ar->lift;
        a->has_sample = ar->has_sample;
        a->still_needed = r->variants[i].still_needed;
    }
    free(r);
}

/* The notifications' counts by channel type of every workspace that has some, by
 * workspace id: read in one statement per board, not one per workspace. */
struct ws_counts {
    int64_t ws;
    int64_t n[SY_CHANNEL_TYPES][3];
};

struct counts {
    struct ws_counts *v;
    size_t n, cap;
};

static int take_counts(void *arg, int64_t ws, const int64_t (*counts)[3])
{
    struct counts *c = arg;
    if (sy_eng_grow((void **)&c->v, &c->cap, c->n + 1, sizeof(*c->v)) < 0)
        return -ENOMEM;
    c->v[c->n].ws = ws;
    memcpy(c->v[c->n++].n, counts, sizeof(c->v->n));
    return 0;
}

/* The entry of `ws` in `c` (by workspace id), NULL when it has none. */
static const struct ws_counts *counts_of(const struct counts *c, int64_t ws)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->v[mid].ws < ws)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->n && c->v[lo].ws == ws ? &c->v[lo] : NULL;
}

/* The first of the states `st` (n of them, by workspace) of workspace `ws`, and how many
 * into *k. */
static const sy_tripwire_state_t *states_of(const sy_tripwire_state_t *st, size_t n, int64_t ws,
                                            size_t *k)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st[mid].workspace < ws)
            lo = mid + 1;
        else
            hi = mid;
    }
    *k = 0;
    while (lo + *k < n && st[lo + *k].workspace == ws)
        (*k)++;
    return st ? st + lo : NULL;
}

/* Builds a board of every workspace; NULL when out of memory (the last one stays). What it
 * reads of the store (notifications' counts, tripwires' states) it reads once for every
 * workspace. */
static struct board *build(sy_engine_t *eng)
{
    struct board *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    sy_board_t *b = &x->b;
    size_t cap_e = 0, cap_r = 0, cap_t = 0;
    struct counts nc = {0};
    sy_tripwire_state_t *all_st = NULL;
    size_t n_st = 0;
    if (sy_store_notification_type_counts_each(eng->store, sy_channel_type_names, SY_CHANNEL_TYPES,
                                               take_counts, &nc, NULL) < 0)
        nc.n = 0; /* shown as none, as a workspace's failed count was */
    if (sy_eng_regression_states(eng, &all_st, &n_st, NULL) < 0)
        n_st = 0;
    bool ok = (b->wss = calloc(eng->n_ws ? eng->n_ws : 1, sizeof(*b->wss))) != NULL;
    for (size_t w = 0; ok && w < eng->n_ws; w++) {
        sy_principal_t who = {.workspace = eng->ws[w].id, .role = SY_ROLE_ADMIN};
        snprintf(who.name, sizeof(who.name), "system");
        sy_board_ws_t *bw = &b->wss[b->n_ws++];
        bw->ws = who.workspace;
        bw->kill_switch = eng->ws[w].kill.engaged;
        memcpy(bw->risk, eng->ws[w].risk, sizeof(bw->risk));
        const struct ws_counts *c = counts_of(&nc, who.workspace);
        if (c)
            memcpy(bw->notifications, c->n, sizeof(c->n));
        for (size_t t = 0; c && t < SY_CHANNEL_TYPES; t++) {
            bw->pending += bw->notifications[t][0];
            bw->delivered += bw->notifications[t][1];
            bw->failed += bw->notifications[t][2];
        }
        sy_experiment_t *xs = NULL;
        size_t n = 0;
        if (sy_engine_experiment_list(eng, &who, &xs, &n, NULL) == 0) {
            ok = sy_eng_grow((void **)&b->exps, &cap_e, b->n_exps + n, sizeof(*b->exps)) == 0;
            for (size_t i = 0; ok && i < n; i++)
                exp_row(eng, &who, &xs[i], &b->exps[b->n_exps++]);
        }
        free(xs);
        const sy_tripwire_state_t *st = states_of(all_st, n_st, who.workspace, &n);
        if (ok) {
            ok = sy_eng_grow((void **)&b->trips, &cap_t, b->n_trips + n, sizeof(*b->trips)) == 0;
            for (size_t i = 0; ok && i < n; i++) {
                sy_board_trip_t *t = &b->trips[b->n_trips++];
                *t = (sy_board_trip_t){.ws = who.workspace,
                                       .enabled = st[i].enabled,
                                       .triggered = st[i].triggered,
                                       .has_values = st[i].has_values,
                                       .drop_fraction = st[i].drop_fraction,
                                       .baseline = st[i].baseline,
                                       .current = st[i].current};
                copy(t->domain, sizeof(t->domain), st[i].domain);
                copy(t->metric, sizeof(t->metric), st[i].metric);
            }
        }
        sy_routes_t *rs = NULL;
        if (ok && sy_engine_route_list(eng, &who, &rs, NULL) == 0) {
            ok = sy_eng_grow((void **)&b->routes, &cap_r, b->n_routes + rs->n,
                             sizeof(*b->routes)) == 0;
            for (size_t i = 0; ok && i < rs->n; i++) {
                const sy_route_spec_t *r = &rs->r[i];
                sy_board_route_t *br = &b->routes[b->n_routes++];
                *br =
                    (sy_board_route_t){.ws = who.workspace,
                                       .percentage = r->percentage_bp / 100.0,
                                       .enabled = r->enabled,
                                       .breaker = sy_engine_route_breaker_state(eng, &who, r->name),
                                       .has_plan = r->has_plan};
                copy(br->name, sizeof(br->name), r->name);
                if (r->has_plan) {
                    br->plan_steps = (int)r->plan.n_steps;
                    for (size_t k = 0; k < r->plan.n_steps; k++)
                        if ((int64_t)r->percentage_bp >= r->plan.steps_bp[k])
                            br->plan_step = (int)k + 1;
                }
            }
        }
        sy_routes_free(rs);
    }
    free(nc.v);
    free(all_st);
    if (!ok) {
        sy_board_release(&x->b);
        return NULL;
    }
    atomic_init(&x->refs, 1);
    return x;
}

void sy_eng_board_tick(sy_engine_t *eng, int64_t now)
{
    int64_t every = eng->board_refresh_ms;
    if (!every || (eng->board && now - eng->board_ms < every))
        return; /* none wanted (simulate, tests), or not due */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct board *x = build(eng);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    eng->board_ms = now;
    if (!x)
        return;
    x->b.built_ms = now;
    x->b.build_seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    pthread_mutex_lock(&eng->board_lock);
    struct board *old = (struct board *)eng->board;
    eng->board = &x->b;
    pthread_mutex_unlock(&eng->board_lock);
    sy_board_release(old ? &old->b : NULL);
}

void sy_eng_board_close(sy_engine_t *eng)
{
    sy_board_release(eng->board);
    eng->board = NULL;
}
