/* tail.c - many nodes (issue 25): what the other nodes committed of experiments, applied
 * here in the log's order, so that every node holds the same aggregates and answers the
 * same results.
 *
 * The log is the order. Appenders hold the log's lock (sy_store_log_lock) while they give
 * places and commit, so places are committed in their order and any snapshot of the log is
 * a prefix of it; an allocation change is made holding the same lock (allocation.c), once
 * this node has applied the whole log, so its place (events_at) is the log's last place then
 * and its row commits before any event placed after it. A node applies, in one snapshot:
 *
 *  1. the allocation changes made elsewhere (ids after x->changes_seen, which grow in the
 *     order they were made): the experiment's row is brought to the store's (state,
 *     weights, settings: sy_exp_sync_row) and the change remembered, not begun;
 *  2. the log's events after the last place applied, in order, as the start-up replay
 *     applies them (sy_exp_replay: each change begins before the first event placed after
 *     it); an experiment met there that this node does not know is loaded first (made on
 *     another node: its row commits before its first event);
 *  3. the changes placed before the log's end begun, and each touched experiment's running
 *     p-values taken from the store (the looks of the node that committed them).
 *
 * Its own rows a node applies when its batch lands (ingest.c), never here: a tail runs only
 * while no batch of its own is in flight. ingest.c's writer sends a batch back (-EAGAIN)
 * when the log holds rows its copies do not, and runs it again after a tail.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/experiment_int.h"

/* Events read per statement. */
#define TAIL_CHUNK 10000
/* How often a node tails without having heard anything: announcements are hints, and one
 * lost (NOTIFY's queue, a reconnection) leaves nothing behind for long. */
#define TAIL_EVERY_MS 1000

struct tail {
    sy_engine_t *eng;
    sy_err_t *err;
    int64_t *ws;    /* workspaces whose experiments were brought to the store's */
    size_t n_ws, cap_ws;
    int64_t *touched; /* experiments whose rows this tail applied, or whose changes */
    size_t n_touched, cap_touched;
    int64_t rows; /* read by the last statement */
};

static bool holds(const int64_t *v, size_t n, int64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

/* Adds `x` to the set v[n] (a few entries: a linear look). */
static int put(int64_t **v, size_t *n, size_t *cap, int64_t x)
{
    if (holds(*v, *n, x))
        return 0;
    if (sy_eng_grow((void **)v, cap, *n + 1, sizeof(**v)) < 0)
        return -ENOMEM;
    (*v)[(*n)++] = x;
    return 0;
}

/* Row `row` of workspace t->ws's last experiment list: made or brought to the store's. */
static int experiment_row(void *arg, const sy_store_experiment_t *row)
{
    struct tail *t = arg;
    bool added = false;
    int rc = sy_exp_sync_row(t->eng, row, &added);
    if (rc == 0 && added && (rc = put(&t->touched, &t->n_touched, &t->cap_touched, row->id)) == 0) {
        /* its allocation changes and p-values as the store has them now; the cursor of
         * changes applied stays where it was (other experiments' may come before these) */
        int64_t seen = t->eng->x->changes_seen;
        rc = sy_store_change_list(t->eng->store, row->id, sy_exp_change_row, t->eng, t->err);
        t->eng->x->changes_seen = seen;
        if (rc == 0)
            rc = sy_exp_arms_load(t->eng, row->id, t->err);
    }
    if (rc == -EIO)
        rc = sy_err_set(t->err, -EIO, NULL,
                        "store: the experiment \"%.64s\" another node wrote does not load", row->key);
    return rc;
}

/* Brings every experiment of workspace `ws` to the store's rows, once a tail. */
static int sync_workspace(struct tail *t, int64_t ws)
{
    if (holds(t->ws, t->n_ws, ws))
        return 0;
    int rc = put(&t->ws, &t->n_ws, &t->cap_ws, ws);
    if (rc == 0)
        rc = sy_store_experiment_list(t->eng->store, ws, experiment_row, t, t->err);
    return rc;
}

/* An allocation change made on another node (this node's own are known already: it made
 * them holding the log's lock, with every change before them applied). */
static int change_row(void *arg, const sy_store_change_t *row)
{
    struct tail *t = arg;
    int rc = sync_workspace(t, row->workspace);
    if (rc < 0)
        return rc;
    const struct experiment *e = sy_exp_find_by_id(t->eng, row->experiment);
    if (e && row->id <= e->changes_upto) { /* loaded with it (new here) already */
        if (row->id > t->eng->x->changes_seen)
            t->eng->x->changes_seen = row->id;
        return 0;
    }
    if ((rc = put(&t->touched, &t->n_touched, &t->cap_touched, row->experiment)) < 0)
        return rc;
    return sy_exp_change_row(t->eng, row);
}

static int event_row(void *arg, const sy_store_event_t *ev)
{
    struct tail *t = arg;
    t->rows++;
    int rc = 0;
    if (!sy_exp_find_by_id(t->eng, ev->experiment) &&
        (rc = sync_workspace(t, ev->workspace)) < 0)
        return rc;
    if ((rc = put(&t->touched, &t->n_touched, &t->cap_touched, ev->experiment)) < 0)
        return rc;
    return sy_exp_replay(t->eng, ev);
}

/* A stored running p of an SRM test: the smallest any node's look at a commit gave (its
 * writer's, who looked at every commit; this node's own look saw only the last). */
static int srm_row(void *arg, int64_t id, double p)
{
    struct tail *t = arg;
    struct experiment *e = holds(t->touched, t->n_touched, id) ? sy_exp_find_by_id(t->eng, id)
                                                                 : NULL;
    if (e && p >= 0 && p <= 1) {
        e->srm_p_stored = p;
        if (p < e->srm.p)
            e->srm.p = p;
    }
    return 0;
}

/* Every workspace's experiment rows: an announcement may have been lost. One read of them
 * all (a statement a workspace stalled a node of a thousand). */
static int sync_every_workspace(struct tail *t)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < t->eng->n_ws; i++)
        rc = put(&t->ws, &t->n_ws, &t->cap_ws, t->eng->ws[i].id);
    if (rc == 0)
        rc = sy_store_experiment_list(t->eng->store, -1, experiment_row, t, t->err);
    return rc;
}

/* With the experiment rows of the workspaces wanted brought to the store's first. */
int sy_eng_tail(sy_engine_t *eng, sy_err_t *err)
{
    SY_ENG_OWNED(eng);
    struct sy_experiments *x = eng->x;
    if (sy_eng_in_flight(eng))
        return sy_err_set(err, -EBUSY, NULL, "a batch is in flight: its rows would be applied twice");
    struct tail t = {.eng = eng, .err = err};
    int rc = sy_store_begin_read(eng->store, err);
    if (rc < 0)
        return rc;
    /* Retention (the leader's) prunes what every experiment's checkpoint holds, up to the
     * place its own node applied: a node behind it by more than the retention period (a
     * node stopped that long) would miss the rows pruned and count less for good. It says
     * so instead, on every tail (its writes refused, its results left as they were), until
     * a restart rebuilds it from the checkpoints. */
    int64_t pruned = 0;
    if ((rc = sy_store_retention_get(eng->store, "events_pruned", &pruned, err)) == 0 &&
        pruned > sy_exp_events_applied(eng))
        rc = sy_err_set(err, -ESTALE, NULL,
                        "retention pruned the event log through place %lld, past the %lld this "
                        "node applied: restart it to rebuild its experiments from the checkpoints",
                        (long long)pruned, (long long)sy_exp_events_applied(eng));
    if (rc < 0) {
        sy_store_rollback(eng->store);
        return rc;
    }
    x->tail_ms = sy_engine_now_ms(eng);
    if (x->tail_all)
        rc = sync_every_workspace(&t);
    for (size_t i = 0; rc == 0 && i < x->n_tail_ws; i++)
        rc = sync_workspace(&t, x->tail_ws[i]);
    if (rc == 0)
        rc = sy_store_change_after(eng->store, x->changes_seen, change_row, &t, err);
    do {
        t.rows = 0;
        if (rc == 0)
            rc = sy_store_log_after(eng->store, sy_exp_events_applied(eng), TAIL_CHUNK, event_row,
                                    &t, err);
    } while (rc == 0 && t.rows == TAIL_CHUNK);
    int64_t applied = sy_exp_events_applied(eng);
    for (size_t i = 0; rc == 0 && i < t.n_touched; i++) {
        struct experiment *e = sy_exp_find_by_id(eng, t.touched[i]);
        if (!e)
            continue;
        sy_exp_replay_changes(e, applied < INT64_MAX ? applied + 1 : INT64_MAX);
        /* the SRM test looks at the units as the last commit left them, as its writer did */
        sy_exp_srm_look(e, INT64_MAX);
        rc = sy_exp_arms_load(eng, e->id, err);
    }
    if (rc == 0 && t.n_touched)
        rc = sy_store_srm_list(eng->store, srm_row, &t, err);
    sy_store_rollback(eng->store);
    free(t.ws);
    free(t.touched);
    if (rc == 0) {
        x->tail_wanted = x->tail_all = false;
        x->n_tail_ws = 0;
    }
    if (rc == -ENOMEM)
        return sy_eng_oom(err);
    return rc;
}

void sy_eng_tail_want(sy_engine_t *eng, int64_t ws)
{
    struct sy_experiments *x = eng->x;
    x->tail_wanted = true;
    if (ws < 0 || (ws > 0 && !x->tail_all &&
                   put(&x->tail_ws, &x->n_tail_ws, &x->cap_tail_ws, ws) < 0))
        x->tail_all = true;
}

int sy_eng_tail_due(sy_engine_t *eng, sy_err_t *err)
{
    struct sy_experiments *x = eng->x;
    int64_t now = sy_engine_now_ms(eng);
    if (now - x->tail_ms >= TAIL_EVERY_MS || now < x->tail_ms)
        x->tail_wanted = true;
    if (!x->tail_wanted || sy_eng_in_flight(eng))
        return 0;
    return sy_eng_tail(eng, err);
}
