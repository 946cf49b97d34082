/* retention.c - pruning what is counted once it is older than the retention, without
 * changing any result; see engine.h ("retention") and docs/operations.md ("Retention").
 *
 * Events. Start-up rebuilds each experiment by replaying the log, so an event can only go
 * once what its replay would rebuild is kept otherwise: a checkpoint per experiment
 * (checkpoint.c), its state as the replay of the log through place S rebuilds it. A run
 * takes the places after the last checkpoint (the retention table's "events_checkpointed")
 * up to the last event applied, at most SPAN_PER_LIMIT times its limit of them, and for
 * every experiment with events there replays a copy of it, from its checkpoint (or from
 * nothing), over those events alone; then writes the new checkpoints, the new place and
 * the pruning of the log in one transaction, the run's only one (KPI and audit events are
 * pruned in it too). So a checkpoint at S is the replay's state at S whatever the live
 * state (a live look or judgement that the replay makes elsewhere changes nothing), and a
 * restart restores it and replays the events after S: the same numbers a restart without
 * pruning gives. Events are pruned in the log's order from "events_pruned" on, and only up
 * to the checkpoints' place: all of them are in a checkpoint.
 *
 * Idempotency. An event's id is what makes its retry a duplicate (the log's unique index);
 * so an event with an id is thinned to it (its kind "", which no replay reads) rather
 * than deleted, and a retry of it, even past the retention, counts once. Events without
 * an id (OFREP's exposures, most) go whole, and so do those of an experiment that has
 * ended (stopped or terminated: it takes no more events, retried or not).
 *
 * Bounds. A run prunes at most `limit` events, checkpoints at most 10 times as many places
 * and replays one experiment at a time (one copy of its units in memory); `more` says when
 * it stopped short, and serve runs it again soon. While a backlog of checkpointed events
 * waits to be pruned (`limit` or more), a run checkpoints nothing new: each checkpoint
 * rewrites an experiment's every unit, the prune only its own rows.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/experiment_int.h"

#define LIMIT_DEFAULT  10000
#define GROUP_UNITS    (4u << 20) /* units of the copies one scan of the log replays at once */
#define SPAN_PER_LIMIT 10         /* places checkpointed a run, per event it may prune */

/* A copy of `e` as start-up has it before the replay: its definition and changes (borrowed
 * from e), none of its events. */
static int scratch_of(const struct experiment *e, struct experiment *s)
{
    *s = *e;
    s->units = (struct units){0};
    s->arms = calloc(e->n_arms + 1, sizeof(*s->arms)); /* and the holdout's (layer.c) */
    if (!s->arms)
        return -ENOMEM;
    for (size_t k = 0; k <= e->n_arms; k++) {
        memcpy(s->arms[k].key, e->arms[k].key, sizeof(s->arms[k].key));
        s->arms[k].weight = e->arms[k].weight;
        s->arms[k].defined_weight = e->arms[k].defined_weight;
        s->arms[k].a.cuped = e->arms[k].a.cuped; /* what its co-moments are of (CUPED) */
    }
    s->plans = NULL;
    s->replayed_changes = 0;
    s->watched = -1;
    s->has_baseline = false;
    s->baseline = (sy_health_t){0};
    s->has_pushed = false;
    s->srm_grace_until = 0;
    s->ckpt_seq = 0;
    sy_exp_srm_start(s);
    return 0;
}

static void scratch_free(struct experiment *s)
{
    sy_exp_units_free(&s->units);
    free(s->arms);
}

struct restore {
    struct experiment *e;
    int rc;
};

static int restore_row(void *arg, int64_t id, int64_t seq, const void *data, size_t len)
{
    struct restore *r = arg;
    (void)id;
    r->rc = sy_exp_ckpt_decode(r->e, seq, data, len);
    r->e->ckpt_seq = seq;
    return 0;
}

/* A copy of `e` at its last checkpoint (or with nothing, when it has none), into *s. */
static int scratch_at_checkpoint(sy_engine_t *eng, const struct experiment *e, struct experiment *s,
                                 sy_err_t *err)
{
    if (scratch_of(e, s) < 0)
        return sy_eng_oom(err);
    struct restore r = {.e = s};
    bool found;
    int rc = sy_store_checkpoint_get(eng->store, e->id, restore_row, &r, &found, err);
    if (rc == 0 && r.rc < 0)
        rc = r.rc == -ENOMEM ? sy_eng_oom(err)
                             : sy_err_set(err, -EIO, NULL,
                                          "store: the checkpoint of experiment \"%.64s\" does not "
                                          "decode",
                                          e->key);
    if (rc < 0)
        scratch_free(s);
    return rc;
}

/* The copies a scan of the log replays at once, by experiment id (ascending). */
struct group {
    struct experiment *s;
    size_t n;
};

static int replay_group_row(void *arg, const sy_store_event_t *ev)
{
    const struct group *g = arg;
    size_t lo = 0, hi = g->n;
    while (lo < hi) { /* the copy of ev's experiment, if the group has it */
        size_t mid = (lo + hi) / 2;
        if (g->s[mid].id < ev->experiment)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->n && g->s[lo].id == ev->experiment ? sy_exp_replay_into(&g->s[lo], ev) : 0;
}

struct ckpt {
    int64_t id;
    unsigned char *data;
    size_t len;
};

/* What a run writes of the event log, made before its transaction (reads only). */
struct plan {
    bool due;         /* something old to prune */
    int64_t from, to; /* the checkpoints move from place `from` to `to` */
    int64_t floor;    /* the log is pruned from here on */
    int64_t applied;  /* the last place the aggregates hold */
    struct ckpt *c;   /* the new checkpoints */
    size_t n;
};

static void plan_free(struct plan *p)
{
    for (size_t i = 0; p->c && i < p->n; i++)
        free(p->c[i].data);
    free(p->c);
}

/* The oldest event after place `floor` is older than `before_ms`: something to prune. */
struct oldest {
    bool old;
    int64_t before_ms;
};

static int oldest_row(void *arg, const sy_store_event_t *ev)
{
    struct oldest *o = arg;
    o->old = ev->at_ms < o->before_ms;
    return 1; /* the first row is enough */
}

/* Whether the log has events older than `before_ms` past the last prune and, if so, the
 * checkpoints of every experiment with events since the last ones, at most `span` places
 * on, into *p. */
static int plan_events(sy_engine_t *eng, int64_t before_ms, int64_t span, int64_t group_units,
                       struct plan *p, sy_err_t *err)
{
    int64_t last;
    int rc;
    if ((rc = sy_store_retention_get(eng->store, "events_checkpointed", &p->from, err)) < 0 ||
        (rc = sy_store_retention_get(eng->store, "events_pruned", &p->floor, err)) < 0 ||
        (rc = sy_store_event_last(eng->store, &last, err)) < 0)
        return rc;
    struct oldest o = {.before_ms = before_ms};
    if ((rc = sy_store_event_range(eng->store, -1, p->floor, last - 1, oldest_row, &o, err)) < 0)
        return rc;
    if (!o.old)
        return 0; /* nothing old yet: no checkpoint to write */
    p->due = true;
    /* the events applied are the ones the aggregates hold, committed in the log's order */
    p->applied = sy_exp_events_applied(eng);
    p->to = p->applied - p->from > span ? p->from + span : p->applied;
    if (p->from - p->floor >= span / SPAN_PER_LIMIT)
        p->to = p->from; /* a run's worth checkpointed already: prune that first */
    if (p->to <= p->from) {
        p->to = p->from;
        return 0;
    }
    int64_t *ids = NULL;
    size_t n_ids = 0;
    rc = sy_store_event_experiments(eng->store, p->from, p->to, &ids, &n_ids, err);
    if (rc == -ENOMEM)
        rc = sy_eng_oom(err);
    if (rc == 0 && n_ids && !(p->c = calloc(n_ids, sizeof(*p->c))))
        rc = sy_eng_oom(err);
    struct group g = {.s = n_ids ? calloc(n_ids, sizeof(*g.s)) : NULL};
    if (rc == 0 && n_ids && !g.s)
        rc = sy_eng_oom(err);
    /* Experiments in groups of at most `group_units` units, each group's copies replayed by one
     * scan of the places: one scan per experiment would read the range as many times, and
     * one for all would copy every unit of the process at once. */
    for (size_t i = 0; rc == 0 && i < n_ids;) {
        uint64_t units = 0;
        g.n = 0;
        for (; rc == 0 && i < n_ids; i++) {
            const struct experiment *e = sy_exp_find_by_id(eng, ids[i]);
            if (!e)
                continue; /* rows no replay reads */
            if (g.n && units + e->units.n > (uint64_t)group_units)
                break;
            if ((rc = scratch_at_checkpoint(eng, e, &g.s[g.n], err)) == 0) {
                units += e->units.n;
                g.n++;
            }
        }
        if (rc == 0 && (rc = sy_store_event_range(eng->store, -1, p->from, p->to, replay_group_row,
                                                  &g, err)) == -ENOMEM)
            sy_eng_oom(err);
        for (size_t k = 0; k < g.n; k++) {
            struct ckpt *c = &p->c[p->n];
            int e2 = rc < 0 ? 0 : sy_exp_ckpt_encode(&g.s[k], p->to, &c->data, &c->len);
            if (e2 == -E2BIG)
                rc = sy_err_set(err, e2, NULL,
                                "experiment \"%.64s\" holds too many units for a checkpoint (1 "
                                "GiB): its events are kept",
                                g.s[k].key);
            else if (e2 < 0)
                rc = sy_eng_oom(err);
            else if (rc == 0) {
                c->id = g.s[k].id;
                p->n++;
            }
            scratch_free(&g.s[k]);
        }
    }
    free(g.s);
    free(ids);
    return rc;
}

/* The event log's part of the run, in its transaction: the checkpoints, their place, the
 * prune. */
static int write_events(sy_engine_t *eng, const struct plan *p, int64_t before_ms, int64_t limit,
                        sy_retention_report_t *out, sy_err_t *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < p->n; i++)
        rc = sy_store_checkpoint_put(eng->store, p->c[i].id, p->to, p->c[i].data, p->c[i].len, err);
    if (rc == 0 && p->to > p->from)
        rc = sy_store_retention_put(eng->store, "events_checkpointed", p->to, err);
    /* how many there are, so that a start finding fewer (a row deleted: its experiment
     * would replay only the events after it, and show other numbers) refuses to start */
    int64_t rows = 0;
    if (rc == 0 && p->n && (rc = sy_store_checkpoint_count(eng->store, &rows, err)) == 0)
        rc = sy_store_retention_put(eng->store, "checkpoints", rows, err);
    int64_t through = p->floor;
    if (rc == 0)
        rc = sy_store_event_prune(eng->store, p->floor, p->to, before_ms, limit, &through,
                                  &out->events, err);
    if (rc == 0 && through > p->floor)
        rc = sy_store_retention_put(eng->store, "events_pruned", through, err);
    out->checkpointed = (int64_t)p->n;
    out->checkpoint_seq = p->to;
    out->more = out->events >= limit || p->to < p->applied;
    return rc;
}

/* Adds `n` to the pruned of kind `k` (sy_engine_counters): only the engine's thread
 * writes, a relaxed load and store. */
static void count(sy_engine_t *eng, int k, int64_t n)
{
    atomic_llong *c = &eng->counted.pruned[k];
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* The time before which KPI events may go: `before_ms`, or earlier while an experiment that
 * may still expose new units (a draft, or one taking events) takes CUPED's covariate from a
 * KPI metric: its lookback's events are a new unit's covariate (any workspace's and metric's:
 * a cheap bound, and one the docs can state). */
static int64_t kpi_before(const sy_engine_t *eng, int64_t now, int64_t before_ms)
{
    for (size_t i = 0; i < eng->x->n; i++) {
        const struct experiment *e = eng->x->all[i];
        if (e->cuped && e->cuped_kpi_domain[0] &&
            (e->state == DRAFT || sy_exp_is_active(e->state)) &&
            now - e->cuped_lookback_ms < before_ms)
            before_ms = now - e->cuped_lookback_ms;
    }
    return before_ms;
}

int sy_engine_retention(sy_engine_t *eng, const sy_retention_opts_t *opts,
                        sy_retention_report_t *out, sy_err_t *err)
{
    SY_ENG_OWNED(eng);
    *out = (sy_retention_report_t){0};
    if (opts->events_ms < 0 || opts->audit_ms < 0 || opts->limit < 0 || opts->group_units < 0)
        return sy_err_set(err, -EINVAL, NULL, "retention periods and the limit are not negative");
    if (!opts->events_ms && !opts->audit_ms)
        return 0;
    int64_t now = sy_engine_now_ms(eng), limit = opts->limit ? opts->limit : LIMIT_DEFAULT;
    int64_t events_before = now - opts->events_ms;
    struct plan p = {0};
    int64_t group = opts->group_units ? opts->group_units : GROUP_UNITS;
    int rc = opts->events_ms
                 ? plan_events(eng, events_before, limit * SPAN_PER_LIMIT, group, &p, err)
                 : 0;
    if (rc < 0 || (rc = sy_store_begin(eng->store, err)) < 0)
        goto out;
    /* one transaction: a run that fails changes nothing */
    if (p.due)
        rc = write_events(eng, &p, events_before, limit, out, err);
    if (rc == 0 && opts->events_ms)
        rc = sy_eng_kpi_retention(eng, kpi_before(eng, now, events_before), limit, &out->kpi_events,
                                  err);
    if (rc == 0 && opts->events_ms) /* kept as long as the events they were counted from */
        rc = sy_store_timeline_prune(eng->store, events_before, limit, &out->timeline, err);
    if (rc == 0 && opts->audit_ms)
        rc = sy_store_audit_prune(eng->store, now - opts->audit_ms, limit, &out->audit, err);
    if (rc == 0) {
        rc = sy_store_commit(eng->store, err);
    } else {
        sy_store_rollback(eng->store);
    }
out:
    plan_free(&p);
    if (rc < 0) {
        *out = (sy_retention_report_t){0};
        return rc;
    }
    out->more |= out->kpi_events >= limit || out->audit >= limit || out->timeline >= limit;
    count(eng, 0, out->events);
    count(eng, 1, out->kpi_events);
    count(eng, 2, out->audit);
    count(eng, 3, out->timeline);
    return 0;
}
