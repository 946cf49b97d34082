/* sync.c - many nodes on one database (issue 25): what another node changed, served here,
 * and which node runs the timers.
 *
 * Every change of what a workspace serves (a flag, its document, the kill switch) writes,
 * in its transaction, an announcement (sy_store_announce): "served" and the workspace's new
 * revision; a new workspace "workspace"; a revoked token "tokens". PostgreSQL hands each one
 * at its commit to every node listening (LISTEN/NOTIFY), this one included. sy_engine_sync
 * reads what was heard, and per workspace keeps the largest revision: a workspace this node
 * serves at an older one is brought to the store's state in one build (sy_eng_flags_sync:
 * flags whose text did not change stay as compiled), its own changes (already at that
 * revision) are skipped. An unknown workspace is loaded; a token revoked elsewhere is
 * revoked here. A token made elsewhere needs nothing: authentication looks an unknown
 * token up in the store (engine.c).
 *
 * The timers (health, auto-promotion, tripwires, timelines) run on the node holding the
 * leaders' lock (sy_store_lead): checked or tried at most once a second, so that another
 * node takes over within about a second of the leader's session ending. SQLite: one node,
 * which leads.
 *
 * A store that lost its connection and got it back hears "resync": announcements made
 * meanwhile are lost, so every workspace is compared with the store (its revision, its
 * tokens, new ones). While the connection is lost, changes here fail (-EIO: 503) and the
 * snapshots in memory go on being served.
 *
 * Not yet: experiments (state, weights, aggregates) and routes changed on another node are
 * not applied here (docs/development.md, "Many nodes").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

/* How often the leaders' lock is checked (held) or tried (not held). */
#define LEAD_CHECK_MS 1000

int sy_engine_listen(sy_engine_t *eng, sy_err_t *err)
{
    SY_ENG_OWNED(eng);
    int rc = sy_store_listen(eng->store, err);
    if (rc == 0)
        eng->listening = true;
    return rc;
}

struct heard_ws {
    int64_t ws;
    int64_t revision; /* the largest "served" revision heard; 0: none */
    bool tokens;
};

struct heard {
    struct heard_ws *v;
    size_t n, cap;
    bool workspaces; /* a workspace was made somewhere */
    bool resync;     /* announcements were lost: compare every workspace with the store */
};

static int heard_one(void *arg, int64_t ws, const char *what, int64_t revision)
{
    struct heard *h = arg;
    if (strcmp(what, "workspace") == 0) {
        h->workspaces = true;
        return 0;
    }
    if (strcmp(what, "resync") == 0) { /* the store reconnected: anything may have changed */
        h->resync = true;
        return 0;
    }
    size_t i = 0;
    while (i < h->n && h->v[i].ws != ws)
        i++;
    if (i == h->n) {
        if (sy_eng_grow((void **)&h->v, &h->cap, h->n + 1, sizeof(*h->v)) < 0)
            return -ENOMEM;
        h->v[h->n++] = (struct heard_ws){.ws = ws};
    }
    if (strcmp(what, "served") == 0 && revision > h->v[i].revision)
        h->v[i].revision = revision;
    else if (strcmp(what, "tokens") == 0)
        h->v[i].tokens = true;
    return 0;
}

/* Workspaces made on another node: loaded, served as the store has them. */
static int load_new_workspaces(sy_engine_t *eng, size_t *applied, sy_err_t *err)
{
    size_t n = eng->n_ws;
    int rc = sy_store_workspace_list(eng->store, sy_eng_workspace_add_if_new, eng, err);
    for (size_t i = n; rc == 0 && i < eng->n_ws; i++) {
        struct workspace *w = &eng->ws[i];
        struct kill_switch kill;
        if ((rc = sy_eng_flags_open(eng, w, err)) == 0 &&
            (rc = sy_eng_kill_switch_read(eng, w->id, &kill, err)) == 0 && kill.engaged)
            rc = sy_eng_flags_sync(eng, w, w->revision, &kill, err);
        (*applied)++;
    }
    if (rc == 0 && eng->n_ws > n)
        (void)sy_eng_view_publish(eng);
    return rc;
}

static int revoke_row(void *arg, const sy_store_token_t *t)
{
    sy_engine_t *eng = arg;
    for (size_t i = 0; i < eng->n_tokens; i++)
        if (eng->tokens[i].id == t->id && t->revoked_ms != 0)
            eng->tokens[i].revoked = true;
    return 0;
}

/* sy_store_workspace_list's sink for a resync: every workspace as heard at its revision,
 * with its tokens (a revocation may have been missed). */
static int heard_row(void *arg, const sy_store_workspace_t *row)
{
    struct heard *h = arg;
    int rc = heard_one(h, row->id, "served", row->revision);
    return rc == 0 ? heard_one(h, row->id, "tokens", 0) : rc;
}

int sy_engine_sync(sy_engine_t *eng, size_t *applied, sy_err_t *err)
{
    SY_ENG_OWNED(eng);
    *applied = 0;
    if (!eng->listening)
        return 0;
    struct heard h = {0};
    int rc = sy_store_heard(eng->store, heard_one, &h, err);
    if (rc == 0 && h.resync) {
        h.workspaces = true;
        rc = sy_store_workspace_list(eng->store, heard_row, &h, err);
    }
    for (size_t i = 0; rc == 0 && i < h.n && !h.workspaces; i++)
        h.workspaces = !sy_eng_find_ws(eng, h.v[i].ws);
    if (rc == 0 && h.workspaces)
        rc = load_new_workspaces(eng, applied, err);
    for (size_t i = 0; rc == 0 && i < h.n; i++) {
        struct workspace *w = sy_eng_find_ws(eng, h.v[i].ws);
        if (!w)
            continue; /* gone from the store meanwhile: nothing to serve */
        if (h.v[i].revision > w->revision) {
            struct kill_switch kill;
            if ((rc = sy_eng_kill_switch_read(eng, w->id, &kill, err)) == 0 &&
                (rc = sy_eng_flags_sync(eng, w, h.v[i].revision, &kill, err)) == 0)
                (*applied)++;
        }
        if (rc == 0 && h.v[i].tokens) {
            rc = sy_store_token_list(eng->store, w->id, revoke_row, eng, err);
            if (rc == 0) {
                (void)sy_eng_view_publish(eng);
                (*applied)++;
            }
        }
    }
    free(h.v);
    return rc;
}

bool sy_engine_leads(sy_engine_t *eng)
{
    SY_ENG_OWNED(eng);
    int64_t now = sy_engine_now_ms(eng);
    if (eng->lead_checked_ms != 0 && now - eng->lead_checked_ms < LEAD_CHECK_MS &&
        now >= eng->lead_checked_ms)
        return eng->leads;
    eng->lead_checked_ms = now;
    bool held = false;
    if (sy_store_lead(eng->store, &held, NULL) < 0)
        held = false; /* the connection is gone: so is the lock */
    eng->leads = held;
    return held;
}
