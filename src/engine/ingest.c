/* ingest.c - durable event ingest: the units table, applying events to the aggregates,
 * the event log and group commit; see engine.h ("events") and experiment_int.h.
 *
 * Aggregates. Each experiment keeps a table of its units (open addressing, keyed by the
 * unit's bytes) holding what the results need of a unit: the variant of its first
 * exposure, whether it converted or erred, and the total of its outcome values. Per
 * variant the engine adds these up (units, conversions, errors, sum and sum of squares of
 * the per-unit totals). An outcome of a unit not exposed yet is kept on the unit and counts
 * once the exposure arrives, so the order in which pipelines deliver does not matter.
 *
 * Durability. Every accepted event is a row of the event log, written in the transaction
 * of its batch together with the rewritten aggregates; a submission is acknowledged (its
 * `done` called) only after that commit. Submissions queue until the loop has handled the
 * requests at hand, and then commit together (group commit): one fsync for all of them.
 * At start-up the aggregates are rebuilt by replaying the log in commit order, which is
 * the order they were first applied in, so every sum comes out bit for bit the same.
 *
 * The writer thread. With sy_engine_writer_start the commit runs on the writer thread
 * (writer.c), with its own store handle, while the loop goes on serving and queueing the
 * next batch: one batch in flight. The engine's thread prepares a batch (`struct batch`):
 * it takes the queue whole and copies into it what the writer needs of the engine's state,
 * the arms of each experiment touched and the state of each unit touched, making room in
 * the units tables meanwhile. The writer writes the rows, learning which ids the log had
 * already, applies the written events to its copies (so that it can write the aggregates
 * and the sequential test's look in the same transaction), and commits. Back on the
 * engine's thread the batch lands: the written events are applied to the aggregates in
 * log order, the looks' p-values taken from the writer's copies, and every submission
 * answered. The aggregates therefore only ever hold committed events: a failed commit has
 * nothing to undo, and a change made while a batch is in flight (an allocation step, a
 * stop) comes before that batch's events in memory as in the log (engine.h: the last
 * applied place, sy_exp_events_applied, is what a change records). Without the thread
 * (tests, `simulate`, a database in memory) the same batch runs at once on the engine's
 * own handle, and lands before sy_engine_events_commit returns.
 */
#define _DEFAULT_SOURCE
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/experiment_int.h"

#define EVENT_ID_MAX  128     /* longest event id, bytes */
#define QUEUE_MAX     1000000 /* events waiting for a commit */
#define VALUE_MAX     1e15    /* largest |value| of an outcome, and |covariate| of an exposure */
#define LATENCY_MAX   1e7     /* largest latency_ms an event may carry (2.8 h) */
#define GATHER_MAX_US 2000    /* longest a small batch waits for more before going to the writer */

/* ---- the units of one experiment ------------------------------------------------------- */

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a 64 */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3u;
    return h | 1; /* never 0, so a zeroed slot is plainly empty */
}

/* The slot holding `unit`, or the empty slot where it belongs. */
static size_t units_slot(const struct units *u, const char *unit, size_t len, uint64_t h)
{
    size_t mask = u->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const struct unit *s = &u->slots[i];
        if (s->len == 0 ||
            (s->hash == h && s->len == len && memcmp(u->pool + s->off, unit, len) == 0))
            return i;
    }
}

/* Room for `more` new units with `bytes` more bytes of ids, so that adding them can
 * neither fail nor move a slot. */
static int units_reserve(struct units *u, size_t more, size_t bytes)
{
    if (u->pool_len + bytes > u->pool_cap) {
        size_t cap = u->pool_cap ? u->pool_cap : 4096;
        while (cap < u->pool_len + bytes)
            cap *= 2;
        if (cap > UINT32_MAX)
            return -ENOSPC;
        char *p = realloc(u->pool, cap);
        if (!p)
            return -ENOMEM;
        u->pool = p;
        u->pool_cap = cap;
    }
    size_t cap = u->cap ? u->cap : 1024;
    while (cap < 2 * (u->n + more))
        cap *= 2;
    if (cap == u->cap)
        return 0;
    struct unit *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    struct units grown = *u;
    grown.slots = slots;
    grown.cap = cap;
    for (size_t i = 0; i < u->cap; i++)
        if (u->slots[i].len)
            slots[units_slot(&grown, u->pool + u->slots[i].off, u->slots[i].len,
                             u->slots[i].hash)] = u->slots[i];
    free(u->slots);
    *u = grown;
    return 0;
}

/* Adds `unit` (not exposed, nothing seen) at empty slot `i` found by units_slot with hash
 * `h`, unless it is there already. Room must be reserved. */
static void units_put(struct units *u, size_t i, const char *unit, size_t len, uint64_t h)
{
    if (u->slots[i].len)
        return;
    assert(u->pool_len + len <= u->pool_cap && 2 * (u->n + 1) <= u->cap); /* reserved */
    memcpy(u->pool + u->pool_len, unit, len);
    u->slots[i] =
        (struct unit){.hash = h, .off = (uint32_t)u->pool_len, .len = (uint16_t)len, .variant = -1};
    u->pool_len += len;
    u->n++;
}

/* The unit's slot, added if new. Room must be reserved. */
static size_t units_get(struct units *u, const char *unit, size_t len)
{
    uint64_t h = hash_bytes(unit, len);
    size_t i = units_slot(u, unit, len, h);
    units_put(u, i, unit, len, h);
    return i;
}

void sy_exp_units_free(struct units *u)
{
    free(u->slots);
    free(u->pool);
}

/* ---- the queue and the batch ---------------------------------------------------------- */

/* One queued event; its strings are in the queue's pool. */
struct pend {
    struct experiment *e; /* the engine's: the writer reads `ex` instead */
    sy_event_kind_t kind;
    int8_t variant; /* exposure */
    int8_t success; /* -1, 0, 1 */
    bool has_value; /* an outcome's value; an exposure's covariate (as the log stores it) */
    bool seen;      /* an exposure OFREP saw: written only if it changes something */
    double value;
    bool has_latency;
    double latency;
    size_t unit, unit_len, id, id_len; /* offsets into the pool; id_len 0: none */
    uint32_t ex, ux;                   /* in a batch: its experiment's and its unit's place there */
};

struct waiter {
    sy_ingest_done_cb done;
    void *arg;
    size_t first, n; /* its events in the queue */
    sy_ingest_result_t result;
};

/* An experiment a batch touches, as the writer sees it: copied when the batch is made. */
struct bexp {
    struct experiment *e; /* the engine's: the writer never reads it */
    int64_t id, ws;
    size_t n_arms, control;
    bool sequential;
    double srm_p; /* its SRM test's running p when the batch was made (the
                     looks at this batch's units come after), -1: none,
                     or what the store holds already */
    /* Several nodes (the log ordered): the SRM test as the batch was made, looked at by the
     * writer after the batch, whose p is written with it (srm_p), so that every node reads
     * the running p of the commit it applied, not the one before. */
    bool srm_on;
    double srm_stored;
    int64_t srm_grace_until;
    int64_t srm_fed[SY_EXP_MAX_ARMS];
    sy_srm_mix_t srm;
    size_t arms;                    /* its variants' place in the batch's `arms` */
    sy_experiment_in_t in;          /* the analysis input when the batch was made, but its arms and
                                       names (the writer's looks give it those of `arms`) */
    double weight[SY_EXP_MAX_ARMS]; /* each variant's effective weight then */
    uint32_t more;                  /* units new to it in the batch */
    size_t bytes;                   /* their ids' bytes */
    /* CUPED's covariate from a KPI metric (its "cuped": {"kpi"}): "" for none */
    char kpi_domain[SY_EXP_KPI_NAME_MAX + 1];
    char kpi_metric[SY_EXP_KPI_NAME_MAX + 1];
    int64_t kpi_lookback_ms;
};

/* A unit a batch touches: its state before the batch (the writer's after it). */
struct bunit {
    struct unit u; /* off and len: its id in the batch's pool */
    uint32_t ex;   /* its experiment's place in the batch */
};

/* One group commit: made on the engine's thread, run by the writer, landed on the engine's
 * thread. While it is with the writer only the writer touches it. */
struct batch {
    struct pend *q; /* the events, in the order they were queued */
    size_t n_q;
    char *pool;
    struct waiter *w; /* the submissions they came in */
    size_t n_w;
    struct kpi_queue kq; /* the KPI submissions (regression.c) */
    struct bexp *x;      /* the experiments touched */
    size_t n_x, cap_x;
    struct arm *arms; /* their variants before the batch; the writer's after it */
    size_t n_arms, cap_arms;
    struct bunit *u; /* the units touched */
    size_t n_u;
    int64_t now_ms;     /* the events' time */
    int64_t applied_at; /* the log's last place the copies hold (the engine's "applied") */
    int64_t node;       /* the engine's node id: its announcement's revision (sync.c) */
    int64_t changes_at; /* the largest allocation change id the copies hold (changes_seen) */
    int rc;             /* of the events' commit (< 0 already when the batch could not be made) */
    sy_err_t err;
    int64_t *seq; /* each event's place in the log; 0: not written (a duplicate id, an
                     exposure seen that changed nothing) */
    int kpi_rc;   /* of the KPI events' commit */
    sy_err_t kpi_err;
};

struct ingest {
    struct pend *q;
    size_t n_q, cap_q;
    char *pool;
    size_t pool_len, pool_cap;
    struct waiter *w;
    size_t n_w, cap_w;
    uint64_t batch;               /* batches made: marks the experiments each touches */
    int64_t applied;              /* the log's place of the last event the aggregates hold */
    struct sy_eng_writer *writer; /* NULL: batches run on the engine's thread */
    struct batch *flight;         /* with the writer, not landed yet */
    size_t expect;                /* submissions the last batch answered */
    int64_t gather_until;         /* till when (writer's µs) fewer queued wait for more; 0 */
    void (*on_events)(void *arg);
    void *on_events_arg;
};

/* ---- applying an event to the aggregates ------------------------------------------------ */

/* What one event says, as apply() reads it. */
struct change {
    sy_event_kind_t kind;
    int variant;    /* exposure */
    int success;    /* -1, 0, 1 */
    bool has_value; /* an outcome's value; an exposure's covariate */
    double value;
    bool has_latency;
    double latency;
};

/* The request-level health of the window: an exposure counts for the variant it served, the
 * rest for the unit's variant (none yet: not counted). */
static void count_health(struct arm *arms, const struct unit *u, const struct change *c)
{
    int v = c->kind == SY_EVENT_EXPOSURE ? c->variant : u->variant;
    if (v < 0)
        return;
    struct health_counts *both[2] = {&arms[v].a.win, &arms[v].a.recent};
    size_t k = 0;
    if (c->has_latency) {
        double b = log1p(c->latency) / log(1.1);
        k = b < HEALTH_BUCKETS - 1 ? (size_t)b : HEALTH_BUCKETS - 1;
    }
    for (int i = 0; i < 2; i++) {
        struct health_counts *h = both[i];
        if (c->kind == SY_EVENT_EXPOSURE)
            h->served++;
        else if (c->kind == SY_EVENT_ERROR)
            h->errors++;
        else if (c->success >= 0) {
            h->outcomes++;
            h->successes += c->success;
        }
        if (c->has_latency) {
            h->hist[k]++;
            h->latencies++;
        }
    }
}

/* The outcome CUPED regresses on the covariate for unit `u` of arm `a`. */
static double cuped_y(const struct agg *a, const struct unit *u)
{
    return a->cuped == CUPED_MEAN ? u->value : (u->flags & CONVERTED) != 0;
}

/* Applies one event to its unit `u` and the arms of its experiment: the engine's, or the
 * writer's copies of them. An exposure's has_value/value is its covariate (x = 0 without
 * one: a unit with no pre-period activity has a pre-period value of 0), kept on the unit
 * from its first exposure; with CUPED on (agg.cuped) each arm's co-moments of (covariate,
 * outcome) follow its units as their outcomes come. A latency counts for the unit's variant as it
 * is then: one reported before the unit's exposure is not counted (it cannot be kept per unit
 * cheaply). */
static void apply(struct arm *arms, struct unit *u, const struct change *c)
{
    struct agg *a = u->variant >= 0 ? &arms[u->variant].a : NULL;
    switch (c->kind) {
    case SY_EVENT_EXPOSURE:
        if (!a) {
            u->variant = (int8_t)c->variant;
            a = &arms[c->variant].a;
            a->units++;
            a->conversions += (u->flags & CONVERTED) != 0;
            a->errors += (u->flags & ERRED) != 0;
            sy_welford_add(&a->value, u->value);
            if (c->has_value) { /* the covariate of its first exposure, for good */
                u->flags |= COVARIATE;
                u->cov = c->value;
            }
            if (a->cuped) {
                a->covariates += c->has_value;
                sy_comoments_add(&a->cov, u->cov, cuped_y(a, u));
            }
        } else if (u->variant != c->variant && !(u->flags & CROSSED)) {
            u->flags |= CROSSED; /* intent to treat: the unit stays in its first variant */
            a->crossovers++;
        }
        break;
    case SY_EVENT_OUTCOME:
        if (c->success == 1 && !(u->flags & CONVERTED)) {
            u->flags |= CONVERTED;
            if (a)
                a->conversions++;
            if (a && a->cuped == CUPED_CONVERSION)
                sy_comoments_replace_y(&a->cov, u->cov, 0, 1);
        }
        if (c->has_value) {
            double old = u->value;
            u->value += c->value;
            if (a)
                sy_welford_replace(&a->value, old, u->value);
            if (a && a->cuped == CUPED_MEAN)
                sy_comoments_replace_y(&a->cov, u->cov, old, u->value);
        }
        break;
    case SY_EVENT_ERROR:
        if (!(u->flags & ERRED)) {
            u->flags |= ERRED;
            if (a)
                a->errors++;
        }
        break;
    }
    if (c->has_latency && a) {
        sy_welford_add(&a->latency, c->latency);
    }
    count_health(arms, u, c);
}

/* Whether an exposure of the unit to `variant` would change nothing. */
static bool exposure_is_noop(const struct experiment *e, const char *unit, size_t len, int variant)
{
    const struct units *u = &e->units;
    if (!u->cap)
        return false;
    const struct unit *s = &u->slots[units_slot(u, unit, len, hash_bytes(unit, len))];
    return s->len && (s->variant == variant || (s->flags & CROSSED));
}

static int kind_parse(const char *s, sy_event_kind_t *out)
{
    static const char *const names[] = {"exposure", "outcome", "error"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (sy_event_kind_t)i;
            return 0;
        }
    return -EINVAL;
}

static const char *kind_name(sy_event_kind_t k)
{
    return k == SY_EVENT_EXPOSURE ? "exposure" : k == SY_EVENT_OUTCOME ? "outcome" : "error";
}

int sy_exp_replay(void *arg, const sy_store_event_t *ev)
{
    sy_engine_t *eng = arg;
    eng->x->in->applied = ev->seq; /* every row, those left alone too: they came before */
    struct experiment *e = sy_exp_find_by_id(eng, ev->experiment);
    if (!e || ev->seq <= e->ckpt_seq)
        return 0; /* not ours, or in its checkpoint already */
    return sy_exp_replay_into(e, ev);
}

/* An exposure row's value is its covariate (store.h): apply() reads it so, from the log as
 * from a request, so that a replay, a retention checkpoint and another node's tail rebuild
 * the same co-moments. */
int sy_exp_replay_into(struct experiment *e, const sy_store_event_t *ev)
{
    sy_event_kind_t kind;
    if (kind_parse(ev->kind, &kind) < 0 || ev->unit_len == 0 || ev->unit_len > UNIT_MAX)
        return 0; /* not ours to judge: a row this build cannot read is left alone (and so
                     is one that retention thinned to its id: kind "") */
    int v = kind == SY_EVENT_EXPOSURE && ev->variant
                ? sy_exp_event_variant(e, ev->variant, ev->variant_len)
                : 0;
    if (v < 0)
        return 0;
    if (units_reserve(&e->units, 1, ev->unit_len) < 0)
        return -ENOMEM;
    sy_exp_replay_changes(e, ev->seq); /* the windows begun before this event */
    size_t i = units_get(&e->units, ev->unit, ev->unit_len);
    struct change c = {.kind = kind,
                       .variant = v,
                       .success = ev->success,
                       .has_value = ev->has_value,
                       .value = ev->value,
                       .has_latency = ev->has_latency,
                       .latency = ev->latency_ms};
    apply(e->arms, &e->units.slots[i], &c);
    /* as a live look leaves out a batch of the grace after a change (its events share
     * their time), so does the replay, event by event */
    if (ev->at_ms < e->srm_grace_until)
        sy_exp_srm_look(e, ev->at_ms);
    return 0;
}

int sy_exp_unit_restore(struct experiment *e, const char *id, size_t len, int variant,
                        unsigned flags, double value, double cov)
{
    if (len == 0 || len > UNIT_MAX || variant < -1 ||
        variant >= (int)e->n_arms + (e->layer.name[0] != 0) ||
        flags > (CONVERTED | ERRED | CROSSED | COVARIATE) || !isfinite(cov) ||
        (!(flags & COVARIATE) && cov != 0))
        return -EIO;
    if (units_reserve(&e->units, 1, len) < 0)
        return -ENOMEM;
    uint64_t h = hash_bytes(id, len);
    size_t i = units_slot(&e->units, id, len, h);
    if (e->units.slots[i].len)
        return -EIO; /* twice in one checkpoint */
    units_put(&e->units, i, id, len, h);
    struct unit *u = &e->units.slots[i];
    u->variant = (int8_t)variant;
    u->flags = (uint8_t)flags;
    u->value = value;
    u->cov = cov;
    return 0;
}

int64_t sy_exp_events_applied(const sy_engine_t *eng)
{
    return eng->x->in->applied;
}

void sy_exp_events_applied_past(sy_engine_t *eng, int64_t seq)
{
    if (eng->x->in->applied < seq)
        eng->x->in->applied = seq;
}

/* ---- ingest --------------------------------------------------------------------------------- */

void sy_engine_on_events(sy_engine_t *eng, void (*cb)(void *arg), void *arg)
{
    eng->x->in->on_events = cb;
    eng->x->in->on_events_arg = arg;
}

static bool valid_bytes(const char *p, size_t len, size_t max)
{
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return false;
    return true;
}

static int bad(sy_err_t *err, int code, size_t i, const char *field, const char *msg)
{
    char f[48];
    snprintf(f, sizeof(f), "events[%zu]%s%s", i, *field ? "." : "", field);
    return sy_err_set(err, code, f, "%s", msg);
}

/* Copies `len` bytes into the queue's pool; its offset into *off. */
static int pool_put(struct ingest *x, const char *p, size_t len, size_t *off)
{
    if (sy_eng_grow((void **)&x->pool, &x->pool_cap, x->pool_len + len, 1) < 0)
        return -ENOMEM;
    memcpy(x->pool + x->pool_len, p, len);
    *off = x->pool_len;
    x->pool_len += len;
    return 0;
}

/* Whether `e` holds as many units as it may, counting those new to it in the batch in
 * flight (as if none of them were a duplicate). Those still queued are not counted: the cap
 * may be passed by one batch. */
static bool full(const sy_engine_t *eng, const struct experiment *e)
{
    uint64_t max = eng->max_units ? eng->max_units : UNITS_MAX;
    return (uint64_t)e->units.n + e->units_flight >= max;
}

/* Checks event `i`, filling its queue entry (strings not copied yet). */
static int check_event(sy_engine_t *eng, int64_t ws, const sy_event_t *ev, size_t i,
                       struct experiment **last, struct pend *p, sy_err_t *err)
{
    struct experiment *e = *last;
    if (!ev->experiment || !ev->experiment_len)
        return bad(err, -EINVAL, i, "experiment", "an event names its experiment");
    if (!e || strlen(e->key) != ev->experiment_len ||
        memcmp(e->key, ev->experiment, ev->experiment_len) != 0)
        e = sy_exp_find(eng, ws, ev->experiment, ev->experiment_len);
    if (!e)
        return bad(err, -ENOENT, i, "experiment", "no such experiment in this workspace");
    if (!sy_exp_is_active(e->state))
        return bad(err, SY_ECONFLICT, i, "experiment",
                   e->state == DRAFT ? "the experiment has not started: events are taken while it "
                                       "runs"
                                     : "the experiment has ended: events are taken while it runs");
    *last = e;
    if (!ev->unit || !valid_bytes(ev->unit, ev->unit_len, UNIT_MAX))
        return bad(err, -EINVAL, i, "unit",
                   "unit is a string of 1 to 256 bytes, no control characters");
    if (ev->id && !valid_bytes(ev->id, ev->id_len, EVENT_ID_MAX))
        return bad(err, -EINVAL, i, "id",
                   "id is a string of 1 to 128 bytes, no control characters");
    *p = (struct pend){.e = e,
                       .kind = ev->kind,
                       .success = -1,
                       .has_latency = ev->has_latency,
                       .latency = ev->latency_ms};
    if (ev->has_latency && !(ev->latency_ms >= 0 && ev->latency_ms <= LATENCY_MAX))
        return bad(err, -EINVAL, i, "latency_ms", "latency_ms is a number of ms from 0 to 1e7");
    switch (ev->kind) {
    case SY_EVENT_EXPOSURE: {
        int v = ev->variant ? sy_exp_event_variant(e, ev->variant, ev->variant_len) : -1;
        if (!ev->variant)
            return bad(err, -EINVAL, i, "variant", "an exposure names its variant");
        if (v < 0)
            return bad(err, -EINVAL, i, "variant", "the experiment has no such variant");
        if (v == (int)e->n_arms && sy_exp_layer_holdout(eng, e) <= 0) /* layer.c */
            return bad(err, -EINVAL, i, "variant",
                       "the experiment's layer has no holdout: no unit is served \"holdout\"");
        if (ev->success >= 0 || ev->has_value)
            return bad(err, -EINVAL, i, ev->has_value ? "value" : "success",
                       "an exposure carries no outcome");
        if (ev->has_covariate && !(fabs(ev->covariate) <= VALUE_MAX))
            return bad(err, -EINVAL, i, "covariate",
                       "covariate is a number of magnitude at most 1e15");
        p->variant = (int8_t)v;
        p->has_value = ev->has_covariate; /* the log's row keeps it as its value */
        p->value = ev->has_covariate ? ev->covariate : 0;
        break;
    }
    case SY_EVENT_OUTCOME:
        if (ev->has_covariate)
            return bad(err, -EINVAL, i, "covariate",
                       "only an exposure carries a covariate (the unit's pre-period value)");
        if (ev->variant)
            return bad(err, -EINVAL, i, "variant",
                       "an outcome counts for the unit's exposed variant: it names none");
        if (ev->success < 0 && !ev->has_value)
            return bad(err, -EINVAL, i, "success", "an outcome carries success and/or value");
        if (ev->has_value && !(fabs(ev->value) <= VALUE_MAX))
            return bad(err, -EINVAL, i, "value", "value is a number of magnitude at most 1e15");
        p->success = (int8_t)ev->success;
        p->has_value = ev->has_value;
        p->value = ev->value;
        break;
    case SY_EVENT_ERROR:
        if (ev->has_covariate)
            return bad(err, -EINVAL, i, "covariate",
                       "only an exposure carries a covariate (the unit's pre-period value)");
        if (ev->variant || ev->success >= 0 || ev->has_value)
            return bad(err, -EINVAL, i,
                       ev->variant     ? "variant"
                       : ev->has_value ? "value"
                                       : "success",
                       "an error event carries no variant, success or value");
        break;
    default:
        return bad(err, -EINVAL, i, "type", "type is exposure, outcome or error");
    }
    if (full(eng, e))
        return bad(err, -ENOSPC, i, "experiment", "the experiment holds as many units as it may");
    return 0;
}

/* Queues one checked event and its strings (the queue has room for the entry). */
static int enqueue(struct ingest *x, struct pend *p, const char *unit, size_t unit_len,
                   const char *id, size_t id_len)
{
    if (pool_put(x, unit, unit_len, &p->unit) < 0 || (id && pool_put(x, id, id_len, &p->id) < 0))
        return -ENOMEM;
    p->unit_len = unit_len;
    p->id_len = id ? id_len : 0;
    x->q[x->n_q++] = *p;
    return 0;
}

/* Asks for a commit when the queue was empty, and for every submission while it gathers:
 * the one that makes the count may send it. */
static void wake(struct ingest *x, bool was_empty)
{
    if ((was_empty || x->gather_until) && x->on_events)
        x->on_events(x->on_events_arg);
}

int sy_engine_events_submit(sy_engine_t *eng, const sy_principal_t *actor, const sy_event_t *ev,
                            size_t n, sy_ingest_done_cb done, void *arg, sy_err_t *err)
{
    SY_ENG_OWNED(eng);
    struct ingest *x = eng->x->in;
    if (n == 0 || n > SY_EVENTS_MAX)
        return sy_err_set(err, n ? -E2BIG : -EINVAL, "events",
                          "a batch holds 1 to %d events, not %zu", SY_EVENTS_MAX, n);
    if (x->n_q + n > QUEUE_MAX)
        return sy_err_set(err, -EAGAIN, "events", "the ingest queue is full: retry in a moment");
    if (sy_eng_grow((void **)&x->q, &x->cap_q, x->n_q + n, sizeof(*x->q)) < 0 ||
        sy_eng_grow((void **)&x->w, &x->cap_w, x->n_w + 1, sizeof(*x->w)) < 0)
        return sy_eng_oom(err);
    struct experiment *last = NULL;
    size_t first = x->n_q, pool_len = x->pool_len;
    bool was_empty = x->n_q == 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct pend p;
        if ((rc = check_event(eng, actor->workspace, &ev[i], i, &last, &p, err)) == 0 &&
            (rc = enqueue(x, &p, ev[i].unit, ev[i].unit_len, ev[i].id, ev[i].id_len)) < 0)
            sy_eng_oom(err);
    }
    if (rc < 0) { /* the batch is refused whole */
        x->n_q = first;
        x->pool_len = pool_len;
        return rc;
    }
    x->w[x->n_w++] = (struct waiter){.done = done, .arg = arg, .first = first, .n = n};
    wake(x, was_empty);
    return 0;
}

void sy_engine_exposure_seen(sy_engine_t *eng, int64_t ws, const char *flag, size_t flag_len,
                             const char *unit, size_t unit_len, const char *variant,
                             size_t variant_len)
{
    struct ingest *x = eng->x->in;
    if (!eng->x->n_recording || !valid_bytes(unit, unit_len, UNIT_MAX) || x->n_q >= QUEUE_MAX)
        return;
    /* while the kill switch sends everyone to control, what is served is not the unit's
     * assignment: recording it would put treatment units in the control arm */
    if (sy_engine_kill_switch_engaged(eng, ws, NULL, 0))
        return;
    struct experiment *e = sy_exp_on_flag(eng, ws, flag, flag_len, true);
    int v = e && e->record_exposures ? sy_exp_event_variant(e, variant, variant_len) : -1;
    if (v < 0 || exposure_is_noop(e, unit, unit_len, v) || full(eng, e))
        return;
    if (sy_eng_grow((void **)&x->q, &x->cap_q, x->n_q + 1, sizeof(*x->q)) < 0)
        return; /* an exposure seen is best effort: nobody waits for it */
    struct pend p = {
        .e = e, .kind = SY_EVENT_EXPOSURE, .variant = (int8_t)v, .success = -1, .seen = true};
    bool was_empty = x->n_q == 0;
    if (enqueue(x, &p, unit, unit_len, NULL, 0) == 0)
        wake(x, was_empty);
}

/* ---- making a batch (the engine's thread) --------------------------------------------- */

/* Copies what the writer needs of `e` into the batch: its place there into e->batch_ix. */
static int copy_experiment(const sy_engine_t *eng, struct batch *b, struct experiment *e)
{
    if (sy_eng_grow((void **)&b->x, &b->cap_x, b->n_x + 1, sizeof(*b->x)) < 0 ||
        sy_eng_grow((void **)&b->arms, &b->cap_arms, b->n_arms + e->n_arms + 1, sizeof(*b->arms)) <
            0)
        return -ENOMEM;
    struct bexp *bx = &b->x[b->n_x];
    *bx = (struct bexp){.e = e,
                        .id = e->id,
                        .ws = e->ws,
                        .n_arms = e->n_arms,
                        .control = e->control,
                        .sequential = e->sequential,
                        /* written only when the looks lowered it since */
                        .srm_p = e->srm_on && e->srm.p != e->srm_p_stored ? e->srm.p : -1,
                        .srm_on = e->srm_on,
                        .srm_stored = e->srm_p_stored,
                        .srm_grace_until = e->srm_grace_until,
                        .srm = e->srm,
                        .arms = b->n_arms};
    memcpy(bx->srm_fed, e->srm_fed, sizeof(bx->srm_fed));
    if (e->cuped && e->cuped_kpi_domain[0]) {
        memcpy(bx->kpi_domain, e->cuped_kpi_domain, sizeof(bx->kpi_domain));
        memcpy(bx->kpi_metric, e->cuped_kpi_metric, sizeof(bx->kpi_metric));
        bx->kpi_lookback_ms = e->cuped_lookback_ms;
    }
    /* the variants and the holdout's place past them (layer.c) */
    memcpy(&b->arms[b->n_arms], e->arms, (e->n_arms + 1) * sizeof(*e->arms));
    b->n_arms += e->n_arms + 1;
    sy_arm_counts_t counts[SY_EXP_MAX_ARMS];
    const char *names[SY_EXP_MAX_ARMS];
    sy_exp_analysis_in(eng, e, counts, names, &bx->in);
    for (size_t k = 0; k < e->n_arms; k++)
        bx->weight[k] = counts[k].weight;
    bx->in.arms = NULL;
    bx->in.names = NULL;
    e->batch_ix = (uint32_t)b->n_x++;
    return 0;
}

/* The place in b->u of event p's unit, added with its state in memory (or as new) when the
 * batch has not met it yet. `table` (cap slots, a power of two above twice the events)
 * holds 1 + the place of each unit met, by its id and experiment. */
static uint32_t unit_of(struct batch *b, uint32_t *table, size_t cap, const struct pend *p)
{
    const char *id = b->pool + p->unit;
    uint64_t h = hash_bytes(id, p->unit_len);
    size_t mask = cap - 1, i = (h ^ (p->ex * 0x9e3779b97f4a7c15u)) & mask;
    for (; table[i]; i = (i + 1) & mask) {
        const struct bunit *bu = &b->u[table[i] - 1];
        if (bu->ex == p->ex && bu->u.hash == h && bu->u.len == p->unit_len &&
            memcmp(b->pool + bu->u.off, id, p->unit_len) == 0)
            return table[i] - 1;
    }
    struct bexp *bx = &b->x[p->ex];
    const struct units *mem = &bx->e->units;
    const struct unit *s = mem->cap ? &mem->slots[units_slot(mem, id, p->unit_len, h)] : NULL;
    struct bunit *bu = &b->u[b->n_u];
    *bu = (struct bunit){
        .u = {.hash = h, .off = (uint32_t)p->unit, .len = (uint16_t)p->unit_len, .variant = -1},
        .ex = p->ex};
    if (s && s->len) {
        bu->u.variant = s->variant;
        bu->u.flags = s->flags;
        bu->u.value = s->value;
        bu->u.cov = s->cov;
    } else {
        bx->more++;
        bx->bytes += p->unit_len;
    }
    table[i] = (uint32_t)++b->n_u;
    return table[i] - 1;
}

/* Numbers the batch's experiments and units and copies their state, then makes room in
 * memory for every unit new to its experiment, so that landing the batch cannot fail. Those
 * units count against the cap until it lands. */
static int prepare(sy_engine_t *eng, struct batch *b)
{
    struct ingest *x = eng->x->in;
    size_t cap = 64;
    while (cap < 2 * b->n_q)
        cap *= 2;
    uint32_t *table = calloc(cap, sizeof(*table));
    b->u = malloc(b->n_q * sizeof(*b->u));
    b->seq = calloc(b->n_q, sizeof(*b->seq));
    int rc = table && b->u && b->seq ? 0 : -ENOMEM;
    x->batch++;
    for (size_t i = 0; rc == 0 && i < b->n_q; i++) {
        struct pend *p = &b->q[i];
        struct experiment *e = p->e;
        if (e->batch != x->batch) {
            if ((rc = copy_experiment(eng, b, e)) < 0)
                break;
            e->batch = x->batch;
        }
        p->ex = e->batch_ix;
        p->ux = unit_of(b, table, cap, p);
    }
    for (size_t k = 0; rc == 0 && k < b->n_x; k++) {
        struct bexp *bx = &b->x[k];
        if ((rc = units_reserve(&bx->e->units, bx->more, bx->bytes)) == 0)
            bx->e->units_flight = bx->more;
    }
    free(table);
    return rc;
}

static void batch_free(struct batch *b)
{
    free(b->q);
    free(b->pool);
    free(b->w);
    free(b->x);
    free(b->arms);
    free(b->u);
    free(b->seq);
    free(b);
}

/* Answers every waiting submission with `rc` and empties the queue (no batch could be
 * made to carry them). */
static void refuse_queue(sy_engine_t *eng, int rc, const sy_err_t *err)
{
    struct ingest *x = eng->x->in;
    struct kpi_queue kq;
    sy_eng_kpi_take(eng, &kq);
    struct waiter *w = x->w;
    size_t n_w = x->n_w;
    x->w = NULL;
    x->n_w = x->cap_w = x->n_q = x->pool_len = 0;
    for (size_t i = 0; i < n_w; i++)
        w[i].done(w[i].arg, rc, &(sy_ingest_result_t){0}, err);
    free(w);
    sy_eng_kpi_answer(&kq, rc, err);
}

/* Makes the batch's copies from the engine's state now (prepare), or sets its error. */
static void make(sy_engine_t *eng, struct batch *b)
{
    b->applied_at = eng->x->in->applied;
    b->changes_at = eng->x->changes_seen;
    int rc = b->n_q ? prepare(eng, b) : 0;
    if (rc == -ENOSPC)
        b->rc = sy_err_set(&b->err, rc, "events", "an experiment's unit ids pass 4 GiB");
    else if (rc < 0)
        b->rc = sy_eng_oom(&b->err);
}

/* Frees the copies prepare made, for the batch to be made again. */
static void unprepare(struct batch *b)
{
    for (size_t k = 0; k < b->n_x; k++)
        b->x[k].e->units_flight = 0;
    free(b->x);
    free(b->arms);
    free(b->u);
    free(b->seq);
    b->x = NULL;
    b->arms = NULL;
    b->u = NULL;
    b->seq = NULL;
    b->n_x = b->cap_x = b->n_arms = b->cap_arms = b->n_u = 0;
}

/* What is queued, events and KPI events, as one batch; NULL when nothing is (or when out
 * of memory: then every submission was refused). The queue starts again empty. */
static struct batch *take(sy_engine_t *eng)
{
    struct ingest *x = eng->x->in;
    if (x->n_q == 0 && eng->kq.n == 0)
        return NULL;
    struct batch *b = calloc(1, sizeof(*b));
    if (!b) {
        sy_err_t err;
        refuse_queue(eng, sy_eng_oom(&err), &err);
        return NULL;
    }
    b->q = x->q;
    b->n_q = x->n_q;
    b->pool = x->pool;
    b->w = x->w;
    b->n_w = x->n_w;
    x->q = NULL;
    x->pool = NULL;
    x->w = NULL;
    x->n_q = x->cap_q = x->pool_len = x->pool_cap = x->n_w = x->cap_w = 0;
    sy_eng_kpi_take(eng, &b->kq);
    b->now_ms = sy_engine_now_ms(eng);
    b->node = eng->node_id;
    make(eng, b);
    return b;
}

/* ---- running a batch (the writer's thread, or the engine's without one) ------------------ */

static struct change change_of(const struct pend *p)
{
    return (struct change){.kind = p->kind,
                           .variant = p->variant,
                           .success = p->success,
                           .has_value = p->has_value,
                           .value = p->value,
                           .has_latency = p->has_latency,
                           .latency = p->latency};
}

/* The SRM test's look at the batch's units (monitor.c's sy_exp_srm_look on the copies):
 * what the engine's look at its landing gives, no change coming between (a change waits for
 * the batch when the log is ordered). Its p is to be written when lower than the store's. */
static void srm_look(struct bexp *bx, const struct arm *arms, int64_t now_ms)
{
    bx->srm_p = -1;
    if (!bx->srm_on)
        return;
    int64_t more[SY_EXP_MAX_ARMS];
    for (size_t k = 0; k < bx->n_arms; k++) {
        more[k] = arms[k].a.units - bx->srm_fed[k];
        bx->srm_fed[k] = arms[k].a.units;
    }
    if (now_ms >= bx->srm_grace_until)
        (void)sy_srm_mix_look(&bx->srm, more, NULL); /* counts only grow: it cannot refuse */
    if (bx->srm.p < bx->srm_stored)
        bx->srm_p = bx->srm.p;
}

/* Looks again at every treatment of a sequential experiment (every commit is a look: its
 * p-value only goes down; one that cannot be made leaves it as it was) and writes each
 * variant's aggregates, from the writer's copies `arms`; with the log `ordered`, the SRM
 * test's look at this batch too (srm_look). */
static int write_arms(struct bexp *bx, struct arm *arms, int64_t now_ms, bool ordered,
                      sy_store_t *store, sy_err_t *err)
{
    sy_arm_counts_t counts[SY_EXP_MAX_ARMS];
    const char *names[SY_EXP_MAX_ARMS];
    for (size_t k = 0; k < bx->n_arms; k++) {
        sy_exp_arm_counts(&arms[k].a, bx->weight[k], &counts[k]);
        names[k] = arms[k].key;
    }
    bx->in.arms = counts;
    bx->in.names = names;
    for (size_t k = 0; k < bx->n_arms; k++) {
        struct agg *a = &arms[k].a;
        if (bx->sequential && k != bx->control) {
            sy_experiment_seq_look(&bx->in, k, &a->seq_p, NULL);
            sy_experiment_cuped_look(&bx->in, k, &a->cuped_seq_p, NULL);
        }
        sy_store_arm_t row;
        sy_exp_arm_row(bx->id, &arms[k], &row);
        int rc = sy_store_arm_put(store, &row, err);
        if (rc < 0)
            return rc;
    }
    if (ordered)
        srm_look(bx, arms, now_ms);
    if (bx->srm_p >= 0) {
        int rc = sy_store_srm_put(store, bx->id, bx->srm_p, err);
        if (rc < 0)
            return rc;
    }
    bx->in.arms = NULL; /* on this stack */
    bx->in.names = NULL;
    return 0;
}

/* The log's row of event p of the batch. */
static sy_store_event_t row_of(const struct batch *b, const struct pend *p)
{
    const struct bexp *bx = &b->x[p->ex];
    const struct arm *arms = &b->arms[bx->arms];
    bool exposure = p->kind == SY_EVENT_EXPOSURE;
    return (sy_store_event_t){.workspace = bx->ws,
                              .experiment = bx->id,
                              .id = p->id_len ? b->pool + p->id : NULL,
                              .id_len = p->id_len,
                              .kind = kind_name(p->kind),
                              .unit = b->pool + p->unit,
                              .unit_len = p->unit_len,
                              .variant = exposure ? arms[p->variant].key : NULL,
                              .variant_len = exposure ? strlen(arms[p->variant].key) : 0,
                              .success = p->success,
                              .has_value = p->has_value,
                              .value = p->value,
                              .has_latency = p->has_latency,
                              .latency_ms = p->latency,
                              .at_ms = b->now_ms};
}

/* Whether an exposure OFREP saw is to be left out: its unit, as the rows before it left it,
 * is in that variant already or crossed over (then it changes nothing). */
static bool seen_is_noop(const struct pend *p, int variant, bool crossed)
{
    return p->seen && (variant == p->variant || crossed);
}

/* Counts event i, written (seq[i] set) or not, for its submission, and applies a written
 * one to the batch's copies. `w` walks the submissions along. */
static void apply_row(struct batch *b, size_t i, size_t *w)
{
    const struct pend *p = &b->q[i];
    while (*w < b->n_w && i >= b->w[*w].first + b->w[*w].n)
        (*w)++;
    sy_ingest_result_t *r =
        !p->seen && *w < b->n_w && i >= b->w[*w].first ? &b->w[*w].result : NULL;
    if (r && b->seq[i])
        r->accepted++;
    else if (r)
        r->duplicates++;
    if (b->seq[i]) {
        struct change c = change_of(p);
        apply(&b->arms[b->x[p->ex].arms], &b->u[p->ux].u, &c);
    }
}

/* The events one statement each: whether to write an exposure OFREP saw is decided from its
 * unit as the rows written before it left it, each row applied as soon as it is written. */
static int write_rows_one_by_one(struct batch *b, sy_store_t *store, sy_err_t *err)
{
    size_t w = 0;
    for (size_t i = 0; i < b->n_q; i++) {
        const struct pend *p = &b->q[i];
        const struct unit *u = &b->u[p->ux].u;
        if (seen_is_noop(p, u->variant, (u->flags & CROSSED) != 0))
            continue; /* OFREP saw the unit again before the commit */
        sy_store_event_t row = row_of(b, p);
        int rc = sy_store_event_add(store, &row, &b->seq[i], err);
        if (rc < 0)
            return rc;
        apply_row(b, i, &w);
    }
    return 0;
}

/* What a unit's variant and crossing are after the batch's rows so far: all that decides
 * whether an exposure OFREP saw is written (apply() changes them so and no other way). */
struct unit_mark {
    int8_t variant;
    bool crossed;
};

/* Decides which of the batch's events to write, as write_rows_one_by_one would, from the
 * units' marks `m` (their state before the batch): with `seq` NULL assuming that every row
 * is accepted, else with the places the log gave (0: a duplicate, which changes nothing).
 * Event i is written when take[i]; returns how many are. */
static size_t decide(const struct batch *b, struct unit_mark *m, const int64_t *seq, bool *take)
{
    size_t n = 0;
    for (size_t k = 0; k < b->n_u; k++)
        m[k] = (struct unit_mark){b->u[k].u.variant, (b->u[k].u.flags & CROSSED) != 0};
    for (size_t i = 0; i < b->n_q; i++) {
        const struct pend *p = &b->q[i];
        struct unit_mark *u = &m[p->ux];
        take[i] = !seen_is_noop(p, u->variant, u->crossed);
        n += take[i];
        if (!take[i] || (seq && !seq[i]) || p->kind != SY_EVENT_EXPOSURE)
            continue;
        if (u->variant < 0)
            u->variant = p->variant;
        else if (u->variant != p->variant)
            u->crossed = true;
    }
    return n;
}

/* The events in one call (sy_store_event_add_many: on PostgreSQL a round trip per workspace,
 * not per event). What to write is decided first assuming every row is accepted; when a row
 * came back a duplicate and so changes a later decision (an exposure OFREP saw, of the same
 * unit: rare), they are to be written again one by one: 1 then, after a rollback. */
static int write_rows_at_once(struct batch *b, sy_store_t *store, sy_err_t *err)
{
    struct unit_mark *m = malloc(b->n_u * sizeof(*m));
    bool *take = malloc(2 * b->n_q * sizeof(*take));
    sy_store_event_t *rows = malloc(b->n_q * sizeof(*rows));
    int64_t *seq = malloc(b->n_q * sizeof(*seq));
    int rc = 0;
    if (!m || !take || !rows || !seq) {
        rc = sy_eng_oom(err);
        goto out_free;
    }
    size_t n = decide(b, m, NULL, take), k = 0;
    for (size_t i = 0; i < b->n_q; i++)
        if (take[i])
            rows[k++] = row_of(b, &b->q[i]);
    if ((rc = sy_store_event_add_many(store, rows, n, seq, err)) < 0)
        goto out_free;
    for (size_t i = 0, j = 0; i < b->n_q; i++)
        b->seq[i] = take[i] ? seq[j++] : 0;
    bool *again = take + b->n_q;
    decide(b, m, b->seq, again);
    rc = memcmp(take, again, b->n_q * sizeof(*take)) != 0;
    if (rc == 0) {
        size_t w = 0;
        for (size_t i = 0; i < b->n_q; i++)
            if (take[i])
                apply_row(b, i, &w);
    }
out_free:
    free(m);
    free(take);
    free(rows);
    free(seq);
    return rc;
}

/* CUPED's covariate from a KPI metric (issue 26): each exposure that carries none, of a unit
 * the batch's experiment had not exposed before it, of an experiment whose CUPED names a KPI
 * metric, is given the sum of that unit's KPI events of the metric in [now - lookback, now)
 * (sy_store_kpi_unit_sum: one read of the index per such unit, in the batch's transaction),
 * as if it had been sent: its log row keeps it, so that a replay, a checkpoint and the other
 * nodes read it and never ask again. Units known already, and experiments without a KPI
 * covariate, cost nothing but a test. A covariate sent wins. */
static int resolve_covariates(struct batch *b, sy_store_t *store, sy_err_t *err)
{
    double *sum = NULL; /* each unit's, once asked */
    bool *got = NULL;   /* per unit: asked */
    int rc = 0;
    for (size_t i = 0; i < b->n_q; i++) {
        struct pend *p = &b->q[i];
        const struct bexp *bx = &b->x[p->ex];
        if (p->kind != SY_EVENT_EXPOSURE || p->has_value || !bx->kpi_domain[0] ||
            b->u[p->ux].u.variant >= 0)
            continue;
        if (!got &&
            (!(got = calloc(b->n_u, sizeof(*got))) || !(sum = malloc(b->n_u * sizeof(*sum))))) {
            rc = sy_eng_oom(err);
            break;
        }
        if (!got[p->ux]) {
            char unit[UNIT_MAX + 1]; /* an event's unit holds no NUL (valid_bytes) */
            memcpy(unit, b->pool + p->unit, p->unit_len);
            unit[p->unit_len] = '\0';
            rc =
                sy_store_kpi_unit_sum(store, bx->ws, bx->kpi_domain, bx->kpi_metric, unit,
                                      b->now_ms - bx->kpi_lookback_ms, b->now_ms, &sum[p->ux], err);
            if (rc < 0)
                break;
            if (!(fabs(sum[p->ux]) <= VALUE_MAX)) /* as a sent one's bound: clamped */
                sum[p->ux] = isnan(sum[p->ux]) ? 0 : copysign(VALUE_MAX, sum[p->ux]);
            got[p->ux] = true;
        }
        p->has_value = true;
        p->value = sum[p->ux];
    }
    free(got);
    free(sum);
    return rc;
}

/* Opens the batch's transaction and takes the log's lock in it: -EAGAIN when the log holds
 * rows, or the store allocation changes, that the batch's copies lack (see write_events).
 * The log's last place into *head (-1: no order to keep, SQLite). */
static int begin_at_head(const struct batch *b, sy_store_t *store, int64_t *head, sy_err_t *err)
{
    int64_t changes = -1;
    int rc = sy_store_begin(store, err);
    if (rc == 0 && (rc = sy_store_log_lock(store, head, &changes, err)) == 0 &&
        (*head > b->applied_at || changes > b->changes_at))
        rc = sy_err_set(err, -EAGAIN, NULL,
                        "the log has rows or allocation changes this node has not applied");
    return rc;
}

/* Writes the batch's events and the aggregates of the experiments it touched in one
 * transaction on `store`, applying each written event to the batch's copies. The log's lock
 * first (several nodes: places committed in their order): when the log holds rows, or the
 * store allocation changes, the copies do not (another node's: a change placed before the
 * batch's events begins a health window and an SRM period before them), the batch is not
 * written and answers -EAGAIN, for the
 * engine to apply them and make its copies again (land). The commit announces "events"
 * (with the node's id, for it to know its own), for the other nodes to apply. */
static int write_events(struct batch *b, sy_store_t *store, sy_err_t *err)
{
    int64_t head = -1;
    bool held = false;
    int rc = begin_at_head(b, store, &head, err);
    if (rc == 0)
        rc = resolve_covariates(b, store, err);
    if (rc == 0)
        rc = write_rows_at_once(b, store, err);
    if (rc == 1) {
        /* rows written, none applied yet: the transaction again, the log's lock held across
         * the rollback (several nodes), or another node could append meanwhile and send the
         * batch back to be made again, and again while they append */
        int64_t ours; /* the log's last place, this batch's rows counted: not used */
        if (head >= 0) {
            int hrc = sy_store_log_hold(store, &ours, err);
            if (hrc < 0)
                rc = hrc;
            held = hrc == 0;
        }
        sy_store_rollback(store);
        memset(b->seq, 0, b->n_q * sizeof(*b->seq));
        if (rc == 1 && (rc = begin_at_head(b, store, &head, err)) == 0)
            rc = write_rows_one_by_one(b, store, err);
    }
    for (size_t k = 0; rc == 0 && k < b->n_x; k++)
        rc = write_arms(&b->x[k], &b->arms[b->x[k].arms], b->now_ms, head >= 0, store, err);
    bool wrote = false;
    for (size_t i = 0; i < b->n_q && !wrote; i++)
        wrote = b->seq[i] > 0;
    if (rc == 0 && head >= 0 && wrote)
        rc = sy_store_announce(store, b->x[0].ws, "events", b->node, err);
    if (rc < 0)
        sy_store_rollback(store);
    else
        rc = sy_store_commit(store, err);
    if (held)
        sy_store_log_unlock(store);
    return rc;
}

/* The writer's job: KPI events, then events, each in its own transaction. */
static void run_batch(void *job, sy_store_t *store)
{
    struct batch *b = job;
    if (b->kq.n)
        b->kpi_rc = sy_eng_kpi_write(&b->kq, store, &b->kpi_err);
    if (b->n_q && b->rc == 0)
        b->rc = write_events(b, store, &b->err);
}

/* ---- landing a batch (the engine's thread) ----------------------------------------------- */

#ifndef NDEBUG
static bool same_moments(const sy_welford_t *a, const sy_welford_t *b)
{
    return a->n == b->n && a->mean == b->mean && a->m2 == b->m2;
}

static bool same_comoments(const sy_comoments_t *a, const sy_comoments_t *b)
{
    return a->n == b->n && a->mean_x == b->mean_x && a->mean_y == b->mean_y && a->m2x == b->m2x &&
           a->m2y == b->m2y && a->cxy == b->cxy;
}

/* Whether the writer's sums of a variant are the engine's: the same updates, in the same
 * order, from the same start. */
static bool same_sums(const struct agg *a, const struct agg *b)
{
    return a->units == b->units && a->conversions == b->conversions && a->errors == b->errors &&
           a->crossovers == b->crossovers && same_moments(&a->value, &b->value) &&
           same_moments(&a->latency, &b->latency) && same_comoments(&a->cov, &b->cov) &&
           a->covariates == b->covariates;
}
#endif

/* Applies the committed batch's written events to the aggregates in the order of the log,
 * and takes the looks' p-values from the writer. Cannot fail: prepare made the room. */
static void apply_batch(struct ingest *x, struct batch *b)
{
    for (size_t i = 0; i < b->n_q; i++) {
        const struct pend *p = &b->q[i];
        if (!b->seq[i])
            continue;
        struct experiment *e = p->e;
        size_t slot = units_get(&e->units, b->pool + p->unit, p->unit_len);
        struct change c = change_of(p);
        apply(e->arms, &e->units.slots[slot], &c);
        assert(b->seq[i] > x->applied);
        x->applied = b->seq[i];
    }
    for (size_t k = 0; k < b->n_x; k++) {
        struct bexp *bx = &b->x[k];
        const struct arm *arms = &b->arms[bx->arms];
        for (size_t a = 0; a < bx->n_arms; a++) {
            assert(same_sums(&bx->e->arms[a].a, &arms[a].a));
            bx->e->arms[a].a.seq_p = arms[a].a.seq_p;
            bx->e->arms[a].a.cuped_seq_p = arms[a].a.cuped_seq_p;
        }
    }
}

/* ---- counting (sy_engine_counters) --------------------------------------------------------- */

const int64_t sy_commit_size_le[SY_COMMIT_SIZE_BUCKETS] = {1,     10,     100,     1000,
                                                           10000, 100000, 1000000, INT64_MAX};
const int64_t sy_commit_us_le[SY_COMMIT_TIME_BUCKETS] = {100,    250,    500,     1000,     2500,
                                                         5000,   10000,  25000,   50000,    100000,
                                                         250000, 500000, 1000000, INT64_MAX};

/* Only the engine's thread writes: a relaxed load and store, no locked instruction. */
static void add(atomic_llong *c, int64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

static void bucket(atomic_llong *buckets, const int64_t *le, int64_t v)
{
    size_t b = 0;
    while (v > le[b])
        b++;
    add(&buckets[b], 1);
}

/* A batch that came back after `us`: what it wrote and skipped, its size and time. */
static void count_batch(sy_engine_t *eng, const struct batch *b, int64_t us)
{
    struct sy_eng_counters *c = &eng->counted;
    for (size_t i = 0; b->rc == 0 && i < b->n_q; i++)
        add(b->seq[i] ? &c->events_written[b->q[i].kind] : &c->events_skipped[b->q[i].kind], 1);
    int64_t size = (int64_t)(b->n_q + b->kq.n);
    add(&c->commits, 1);
    if (b->rc < 0 || b->kpi_rc < 0)
        add(&c->commit_failures, 1);
    atomic_store_explicit(&c->last_failed, b->rc < 0 || b->kpi_rc < 0, memory_order_relaxed);
    bucket(c->commit_size, sy_commit_size_le, size);
    add(&c->commit_size_sum, size);
    bucket(c->commit_us, sy_commit_us_le, us);
    add(&c->commit_us_sum, us);
}

void sy_engine_counters(sy_engine_t *eng, sy_engine_counters_t *out)
{
    const struct sy_eng_counters *c = &eng->counted;
#define READ(f) atomic_load_explicit(&c->f, memory_order_relaxed)
    for (int k = 0; k < 3; k++) {
        out->events_written[k] = READ(events_written[k]);
        out->events_skipped[k] = READ(events_skipped[k]);
    }
    out->commits = READ(commits);
    out->commit_failures = READ(commit_failures);
    for (int k = 0; k < 4; k++)
        out->pruned[k] = READ(pruned[k]);
    for (int i = 0; i < SY_COMMIT_SIZE_BUCKETS; i++)
        out->commit_size[i] = READ(commit_size[i]);
    out->commit_size_sum = READ(commit_size_sum);
    for (int i = 0; i < SY_COMMIT_TIME_BUCKETS; i++)
        out->commit_us[i] = READ(commit_us[i]);
    out->commit_us_sum = READ(commit_us_sum);
    out->queued = READ(queued);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 2; b++)
            out->changes[a][b] = READ(changes[a][b]);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 2; b++)
            for (int r = 0; r < SY_CHANGE_REASONS; r++)
                out->change_reasons[a][b][r] = READ(change_reasons[a][b][r]);
    for (int t = 0; t < SY_CHANNEL_TYPES; t++)
        for (int o = 0; o < 3; o++)
            out->deliveries[t][o] = READ(deliveries[t][o]);
#undef READ
}

static void land(sy_engine_t *eng, struct batch *b);

/* A batch the log's lock sent back (-EAGAIN: other nodes appended rows this node had not
 * applied): those rows applied (sy_eng_tail), the batch is made again from the state they
 * leave and run again, with the writer or here. False when it cannot be made (the rows
 * could not be read, or out of memory): it is then answered with that error. Its KPI events
 * were committed and answered already. */
static bool again(sy_engine_t *eng, struct batch *b)
{
    struct ingest *x = eng->x->in;
    unprepare(b);
    for (size_t i = 0; i < b->n_w; i++)
        b->w[i].result = (sy_ingest_result_t){0};
    b->rc = 0;
    b->err = (sy_err_t){0};
    int rc = sy_eng_tail(eng, &b->err);
    if (rc < 0) {
        b->rc = rc;
        return false;
    }
    make(eng, b);
    if (b->rc < 0)
        return false;
    if (x->writer) {
        x->flight = b;
        sy_eng_writer_put(x->writer, run_batch, b);
        return true;
    }
    run_batch(b, eng->store);
    land(eng, b);
    return true;
}

/* The batch is back: into the aggregates if it committed, then every submission answered
 * (or made again: again()). */
static void land(sy_engine_t *eng, struct batch *b)
{
    sy_eng_kpi_answer(&b->kq, b->kpi_rc, &b->kpi_err);
    b->kpi_rc = 0;
    for (size_t k = 0; k < b->n_x; k++)
        b->x[k].e->units_flight = 0;
    if (b->rc == -EAGAIN && again(eng, b))
        return;
    if (b->rc == 0)
        apply_batch(eng->x->in, b);
    for (size_t i = 0; i < b->n_w; i++) {
        struct waiter *w = &b->w[i];
        if (b->rc < 0)
            w->result = (sy_ingest_result_t){0};
        w->done(w->arg, b->rc, &w->result, b->rc < 0 ? &b->err : NULL);
    }
    for (size_t k = 0; b->rc == 0 && k < b->n_x; k++) { /* after the answers: a rollback waits */
        if (b->x[k].srm_p >= 0)
            b->x[k].e->srm_p_stored = b->x[k].srm_p;
        sy_exp_srm_look(b->x[k].e, b->now_ms);
        /* the monitor's: one node judges (sync.c; a store call is not made here, the lead
         * as last checked: one not listening for other nodes is the only one) */
        if (!eng->listening || eng->leads)
            sy_exp_health_after_commit(eng, b->x[k].e);
    }
    batch_free(b);
}

/* ---- group commit -------------------------------------------------------------------------- */

/* Submissions waiting for a commit (OFREP's exposures owe nobody an answer). */
static size_t waiting(const sy_engine_t *eng)
{
    return eng->x->in->n_w + eng->kq.n;
}

void sy_eng_commit_soon(sy_engine_t *eng)
{
    struct ingest *x = eng->x->in;
    atomic_store_explicit(&eng->counted.queued, (long long)waiting(eng), memory_order_relaxed);
    if (x->on_events)
        x->on_events(x->on_events_arg);
}

/* Whether what is queued waits a little for more before it goes to the idle writer. The
 * clients a batch answers tend to come back at once; handing the first of them over alone
 * would make the rest wait for its whole commit, and cost a commit each time: with 32
 * clients of one event each, about two commits where one would do, half the throughput.
 * So after a batch lands with fewer submissions queued than it answered, the next waits
 * until as many are queued, or for as long as that batch took to commit (at most
 * GATHER_MAX_US), as it would have waited on a loop blocked by that commit. */
static bool gathering(sy_engine_t *eng)
{
    struct ingest *x = eng->x->in;
    if (x->gather_until && (waiting(eng) >= x->expect || sy_eng_writer_now_us() >= x->gather_until))
        x->gather_until = 0;
    return x->gather_until != 0;
}

void sy_engine_events_commit(sy_engine_t *eng)
{
    SY_ENG_OWNED(eng);
    struct ingest *x = eng->x->in;
    if (x->flight) {
        int64_t run_us;
        if (!sy_eng_writer_idle(x->writer, false, &run_us))
            return; /* the writer wakes the loop once it is done */
        struct batch *b = x->flight;
        size_t answered = b->n_w + b->kq.n;
        x->flight = NULL;
        if (b->rc != -EAGAIN) /* made again, not a commit */
            count_batch(eng, b, run_us);
        land(eng, b); /* what its answers queue goes with the next */
        if (x->flight)
            return; /* an answer committed again: the next batch is in flight already */
        if (waiting(eng) < answered) {
            x->expect = answered;
            x->gather_until =
                sy_eng_writer_now_us() + (run_us < GATHER_MAX_US ? run_us : GATHER_MAX_US) + 1;
            sy_eng_writer_alarm(x->writer, x->gather_until);
        }
    } else if (x->writer) {
        sy_eng_writer_idle(x->writer, false, NULL); /* an alarm's wake-up, seen */
    }
    if (x->writer && gathering(eng))
        return; /* the writer's alarm or the submission that makes the count wakes us */
    struct batch *b = take(eng);
    atomic_store_explicit(&eng->counted.queued, (long long)waiting(eng), memory_order_relaxed);
    if (!b)
        return;
    if (x->writer) {
        x->flight = b;
        sy_eng_writer_put(x->writer, run_batch, b);
        return;
    }
    int64_t t0 = sy_eng_writer_now_us();
    run_batch(b, eng->store);
    if (b->rc != -EAGAIN)
        count_batch(eng, b, sy_eng_writer_now_us() - t0);
    land(eng, b);
}

void sy_eng_settle(sy_engine_t *eng)
{
    struct ingest *x = eng->x->in;
    while (x->flight) {
        int64_t run_us;
        sy_eng_writer_idle(x->writer, true, &run_us);
        struct batch *b = x->flight;
        x->flight = NULL;
        if (b->rc != -EAGAIN)
            count_batch(eng, b, run_us);
        land(eng, b); /* made again, it may be in flight once more */
    }
}

bool sy_eng_in_flight(const sy_engine_t *eng)
{
    return eng->x->in->flight != NULL;
}

int sy_engine_writer_start(sy_engine_t *eng, int *fd, sy_err_t *err)
{
    struct ingest *x = eng->x->in;
    *fd = -1;
    if (x->writer)
        return sy_err_set(err, -EALREADY, NULL, "the writer thread runs already");
    /* A database in memory is the engine's handle's alone, and has no fsync to hide. */
    if (strcmp(eng->db, ":memory:") == 0 || strstr(eng->db, "mode=memory"))
        return 0;
    return sy_eng_writer_start(&x->writer, eng->db, fd, err);
}

void sy_engine_writer_stop(sy_engine_t *eng)
{
    struct ingest *x = eng->x ? eng->x->in : NULL;
    if (!x)
        return;
    while (x->flight) {
        sy_eng_writer_idle(x->writer, true, NULL);
        sy_engine_events_commit(eng); /* lands it, hands what waits over (or gathers) */
    }
    sy_eng_writer_stop(x->writer);
    x->writer = NULL;
    x->gather_until = 0;
    sy_engine_events_commit(eng); /* what is left, here and now */
}

int sy_exp_ingest_open(sy_engine_t *eng)
{
    eng->x->in = calloc(1, sizeof(*eng->x->in));
    return eng->x->in ? 0 : -ENOMEM;
}

void sy_exp_ingest_free(sy_engine_t *eng)
{
    struct ingest *x = eng->x->in;
    if (!x)
        return;
    sy_engine_writer_stop(eng);        /* the batch in flight, what is queued, OFREP's exposures */
    assert(x->n_w == 0 && !x->flight); /* each committed, or refused when it could not be */
    free(x->q);
    free(x->pool);
    free(x->w);
    free(x);
    eng->x->in = NULL;
}
