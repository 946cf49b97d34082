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
 * Experiments are tail.c's: "events" (another node's commit) and "experiments" (a
 * workspace's experiment rows) only say that there is something to apply, which
 * sy_eng_tail_due does at once, or after the batch in flight, or every second in any case.
 * A node that takes the lead has nothing to catch up first: every node applies every commit
 * as it comes. Guardrails and layers changed ("settings") are read again, every workspace's. A
 * route changed ("routes") reloads every route (they are few), each keeping what this node's proxy
 * reported of it.
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

/* Announcements are hints, never data: any session that may connect to the database can
 * NOTIFY the channel. Each says which workspace to look at again; its revision is read
 * from the store (a forged one changes nothing), and at most HEARD_MAX workspaces are kept
 * a sync: past that (a flood), every workspace is compared with the store once. */
#define HEARD_MAX 256

struct heard_ws {
    int64_t ws;
    bool served; /* its flags or kill switch may have changed */
    bool tokens; /* a token of it may have been revoked */
};

struct heard {
    sy_engine_t *eng;
    struct heard_ws v[HEARD_MAX];
    size_t n;
    bool workspaces; /* a workspace was made somewhere */
    bool routes;     /* a route changed somewhere */
    bool settings;   /* a workspace's guardrails changed somewhere */
    bool resync;     /* announcements were lost or too many: compare every workspace */
};

static int heard_one(void *arg, int64_t ws, const char *what, int64_t revision)
{
    /* read from the store: see above; "events" and "experiments" carry the node's id */
    struct heard *h = arg;
    if (ws == -1 && strcmp(what, "resync") == 0) { /* the store's own: it reconnected */
        h->resync = true;
        return 0;
    }
    if (ws <= 0 || h->resync)
        return 0;
    if (strcmp(what, "workspace") == 0) {
        h->workspaces = true;
        return 0;
    }
    if (strcmp(what, "routes") == 0 || strcmp(what, "settings") == 0) {
        *(what[0] == 'r' ? &h->routes : &h->settings) = true;
        return 0;
    }
    if (strcmp(what, "events") == 0 || strcmp(what, "experiments") == 0) { /* tail.c's */
        if (revision != h->eng->node_id || revision == 0) /* this node's own: applied */
            sy_eng_tail_want(h->eng, what[1] == 'v' ? 0 : ws);
        return 0;
    }
    bool served = strcmp(what, "served") == 0, tokens = strcmp(what, "tokens") == 0;
    if (!served && !tokens)
        return 0;
    size_t i = 0;
    while (i < h->n && h->v[i].ws != ws)
        i++;
    if (i == h->n && h->n == HEARD_MAX) {
        h->resync = true;
        return 0;
    }
    if (i == h->n)
        h->v[h->n++] = (struct heard_ws){.ws = ws};
    h->v[i].served |= served;
    h->v[i].tokens |= tokens;
    return 0;
}

/* Every workspace's stored revision, by id (the store lists them in id order). */
struct stored {
    int64_t (*v)[2];
    size_t n, cap;
};

static int stored_row(void *arg, const sy_store_workspace_t *row)
{
    struct stored *st = arg;
    if (sy_eng_grow((void **)&st->v, &st->cap, st->n + 1, sizeof(*st->v)) < 0)
        return -ENOMEM;
    st->v[st->n][0] = row->id;
    st->v[st->n][1] = row->revision;
    st->n++;
    return 0;
}

/* The stored revision of `ws`, or -1 when the store has no such workspace. */
static int64_t stored_revision(const struct stored *st, int64_t ws)
{
    size_t lo = 0, hi = st->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st->v[mid][0] < ws)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < st->n && st->v[lo][0] == ws ? st->v[lo][1] : -1;
}

/* Workspaces made on another node: loaded, served as the store has them. Their kill
 * switches are read in one statement for them all (a thousand made at once cost a thousand
 * reads of every setting otherwise), their flags only where some are stored. */
static int load_new_workspaces(sy_engine_t *eng, size_t *applied, sy_err_t *err)
{
    size_t n = eng->n_ws;
    int rc = sy_store_workspace_list(eng->store, sy_eng_workspace_add_if_new, eng, err);
    struct kill_switch *kill = NULL;
    if (rc == 0 && eng->n_ws > n && !(kill = calloc(eng->n_ws - n, sizeof(*kill))))
        rc = sy_eng_oom(err);
    if (rc == 0 && kill && (rc = sy_eng_kill_switch_read_from(eng, n, kill, err)) == 0)
        rc = sy_eng_flags_open_from(eng, n, err);
    for (size_t i = n; rc == 0 && i < eng->n_ws; i++) {
        struct workspace *w = &eng->ws[i];
        if (kill[i - n].engaged)
            rc = sy_eng_flags_sync(eng, w, w->revision, &kill[i - n], err);
        (*applied)++;
    }
    free(kill);
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

/* Brings workspace `w` to what the store holds: its flags and kill switch when `served`
 * and its stored revision differs from the one served (a database restored to an older
 * state too), its revoked tokens when `tokens`. */
static int sync_workspace(sy_engine_t *eng, struct workspace *w, int64_t stored, bool served,
                          bool tokens, size_t *applied, sy_err_t *err)
{
    int rc = 0;
    if (served && stored >= 0 && stored != w->revision) {
        struct kill_switch kill;
        if ((rc = sy_eng_kill_switch_read(eng, w->id, &kill, err)) == 0 &&
            (rc = sy_eng_flags_sync(eng, w, stored, &kill, err)) == 0)
            (*applied)++;
    }
    if (rc == 0 && tokens) {
        rc = sy_store_token_list(eng->store, w->id, revoke_row, eng, err);
        if (rc == 0) {
            (void)sy_eng_view_publish(eng);
            (*applied)++;
        }
    }
    return rc;
}

int sy_engine_sync(sy_engine_t *eng, size_t *applied, sy_err_t *err)
{
    SY_ENG_OWNED(eng);
    *applied = 0;
    if (!eng->listening)
        return 0;
    struct heard h;
    h.eng = eng;
    h.n = 0;
    h.workspaces = h.resync = h.routes = h.settings = false;
    int rc = sy_store_heard(eng->store, heard_one, &h, err);
    if (h.resync)
        sy_eng_tail_want(eng, -1);
    if (rc == 0 && (h.routes || h.resync) && (rc = sy_eng_routes_sync(eng, err)) == 0)
        (*applied)++;
    if (rc == 0 && (h.settings || h.resync) && (rc = sy_eng_guardrails_sync(eng, err)) == 0 &&
        (rc = sy_eng_layers_open(eng, err)) == 0)
        (*applied)++;
    if (rc == 0 && h.n == 0 && !h.workspaces && !h.resync)
        return sy_eng_tail_due(eng, err);
    if (rc < 0)
        return rc;
    /* What follows only reads: one transaction, for one view of the store and fewer round
     * trips (each read would otherwise be a transaction of its own), rolled back. */
    bool tx = sy_store_begin(eng->store, err) == 0;
    struct stored st = {0};
    rc = sy_store_workspace_list(eng->store, stored_row, &st, err);
    /* one the store has that this node does not: fewer of this node's found there than the
     * store holds (by id: a look each, not a scan of this node's for each of the store's,
     * which a few thousand workspaces made a cost of every change heard) */
    size_t known = 0;
    for (size_t i = 0; rc == 0 && i < eng->n_ws; i++)
        known += stored_revision(&st, eng->ws[i].id) >= 0;
    if (rc == 0 && st.n > known)
        h.workspaces = true;
    if (rc == 0 && h.workspaces)
        rc = load_new_workspaces(eng, applied, err);
    if (h.resync) {
        eng->sync_renewed = true; /* a new connection: its descriptor is to be watched */
        /* every workspace's tokens in one read; flags only where the revision moved */
        if (rc == 0 && (rc = sy_store_token_list(eng->store, -1, revoke_row, eng, err)) == 0) {
            (void)sy_eng_view_publish(eng);
            (*applied)++;
        }
        for (size_t i = 0; rc == 0 && i < eng->n_ws; i++) {
            struct workspace *w = &eng->ws[i];
            rc = sync_workspace(eng, w, stored_revision(&st, w->id), true, false, applied, err);
        }
    } else {
        for (size_t i = 0; rc == 0 && i < h.n; i++) {
            struct workspace *w = sy_eng_find_ws(eng, h.v[i].ws);
            if (w) /* else gone from the store, or never there: nothing to serve */
                rc = sync_workspace(eng, w, stored_revision(&st, w->id), h.v[i].served,
                                    h.v[i].tokens, applied, err);
        }
    }
    if (tx)
        sy_store_rollback(eng->store);
    free(st.v);
    if (rc == 0) /* new workspaces first: their experiments' rows come with them */
        rc = sy_eng_tail_due(eng, err);
    return rc;
}

int sy_engine_sync_fd(sy_engine_t *eng, bool *renewed)
{
    SY_ENG_OWNED(eng);
    *renewed = eng->sync_renewed;
    eng->sync_renewed = false;
    return eng->listening ? sy_store_heard_fd(eng->store) : -1;
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
