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
 * A failed commit changes nothing: the units touched by the batch are restored from an
 * undo log, in reverse order, and the aggregates from a copy.
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/experiment_int.h"

#define EVENT_ID_MAX 128     /* longest event id, bytes */
#define QUEUE_MAX    1000000 /* events waiting for a commit */
#define VALUE_MAX    1e15    /* largest |value| of an outcome */
#define LATENCY_MAX  1e7     /* largest latency_ms an event may carry (2.8 h) */

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

/* ---- the queue ------------------------------------------------------------------------- */

/* One queued event; its strings are in the queue's pool. */
struct pend {
    struct experiment *e;
    sy_event_kind_t kind;
    int8_t variant; /* exposure */
    int8_t success; /* -1, 0, 1 */
    bool has_value;
    bool seen; /* an exposure OFREP saw: written only if it changes something */
    double value;
    bool has_latency;
    double latency;
    size_t unit, unit_len, id, id_len; /* offsets into the pool; id_len 0: none */
};

struct waiter {
    sy_ingest_done_cb done;
    void *arg;
    size_t first, n; /* its events in the queue */
    sy_ingest_result_t result;
};

/* What a batch changed, to undo it if its commit fails. */
struct undo_unit {
    struct units *u;
    size_t slot;
    struct unit old;
};

struct touched {
    struct experiment *e;
    struct agg saved[SY_EXP_MAX_ARMS];
    size_t n_units, pool_len;
};

struct ingest {
    struct pend *q;
    size_t n_q, cap_q;
    char *pool;
    size_t pool_len, pool_cap;
    struct waiter *w;
    size_t n_w, cap_w;
    uint64_t batch;
    void (*on_events)(void *arg);
    void *on_events_arg;
};

/* ---- applying an event to the aggregates ------------------------------------------------ */

/* What one event says, as apply() reads it. */
struct change {
    sy_event_kind_t kind;
    int variant; /* exposure */
    int success; /* -1, 0, 1 */
    bool has_value;
    double value;
    bool has_latency;
    double latency;
};

/* The request-level health of the window: an exposure counts for the variant it served, the
 * rest for the unit's variant (none yet: not counted). */
static void count_health(struct experiment *e, const struct unit *u, const struct change *c)
{
    int v = c->kind == SY_EVENT_EXPOSURE ? c->variant : u->variant;
    if (v < 0)
        return;
    struct health_counts *both[2] = {&e->arms[v].a.win, &e->arms[v].a.recent};
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

/* Applies one event to its unit (slot `i`) and the arms. A latency counts for the unit's
 * variant as it is then: one reported before the unit's exposure is not counted (it
 * cannot be kept per unit cheaply). */
static void apply(struct experiment *e, size_t i, const struct change *c)
{
    struct unit *u = &e->units.slots[i];
    struct agg *a = u->variant >= 0 ? &e->arms[u->variant].a : NULL;
    switch (c->kind) {
    case SY_EVENT_EXPOSURE:
        if (!a) {
            u->variant = (int8_t)c->variant;
            a = &e->arms[c->variant].a;
            a->units++;
            a->conversions += (u->flags & CONVERTED) != 0;
            a->errors += (u->flags & ERRED) != 0;
            a->value_sum += u->value;
            a->value_sumsq += u->value * u->value;
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
        }
        if (c->has_value) {
            double old = u->value;
            u->value += c->value;
            if (a) {
                a->value_sum += c->value;
                a->value_sumsq += u->value * u->value - old * old;
            }
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
        a->latency_n++;
        a->latency_sum += c->latency;
        a->latency_sumsq += c->latency * c->latency;
    }
    count_health(e, u, c);
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
    struct experiment *e = sy_exp_find_by_id(arg, ev->experiment);
    sy_event_kind_t kind;
    if (!e || kind_parse(ev->kind, &kind) < 0 || ev->unit_len == 0 || ev->unit_len > UNIT_MAX)
        return 0; /* not ours to judge: a row this build cannot read is left alone */
    int v = kind == SY_EVENT_EXPOSURE && ev->variant
                ? sy_exp_arm_index(e, ev->variant, ev->variant_len)
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
    apply(e, i, &c);
    return 0;
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
        int v = ev->variant ? sy_exp_arm_index(e, ev->variant, ev->variant_len) : -1;
        if (!ev->variant)
            return bad(err, -EINVAL, i, "variant", "an exposure names its variant");
        if (v < 0)
            return bad(err, -EINVAL, i, "variant", "the experiment has no such variant");
        if (ev->success >= 0 || ev->has_value)
            return bad(err, -EINVAL, i, ev->has_value ? "value" : "success",
                       "an exposure carries no outcome");
        p->variant = (int8_t)v;
        break;
    }
    case SY_EVENT_OUTCOME:
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
    if (e->units.n >= UNITS_MAX)
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

static void wake(struct ingest *x, bool was_empty)
{
    if (was_empty && x->on_events)
        x->on_events(x->on_events_arg);
}

int sy_engine_events_submit(sy_engine_t *eng, const sy_principal_t *actor, const sy_event_t *ev,
                            size_t n, sy_ingest_done_cb done, void *arg, sy_err_t *err)
{
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
    int v = e && e->record_exposures ? sy_exp_arm_index(e, variant, variant_len) : -1;
    if (v < 0 || exposure_is_noop(e, unit, unit_len, v) || e->units.n >= UNITS_MAX)
        return;
    if (sy_eng_grow((void **)&x->q, &x->cap_q, x->n_q + 1, sizeof(*x->q)) < 0)
        return; /* an exposure seen is best effort: nobody waits for it */
    struct pend p = {
        .e = e, .kind = SY_EVENT_EXPOSURE, .variant = (int8_t)v, .success = -1, .seen = true};
    bool was_empty = x->n_q == 0;
    if (enqueue(x, &p, unit, unit_len, NULL, 0) == 0)
        wake(x, was_empty);
}

/* Makes room in every experiment of the batch for all of its units, and remembers what
 * undoing the batch would restore. Returns the number of experiments touched. */
static int prepare_batch(struct ingest *x, struct touched *t, size_t cap, size_t *n_t)
{
    x->batch++;
    *n_t = 0;
    for (size_t i = 0; i < x->n_q; i++) {
        struct experiment *e = x->q[i].e;
        if (e->batch == x->batch)
            continue;
        if (*n_t == cap)
            return -ENOMEM;
        e->batch = x->batch;
        struct touched *tt = &t[(*n_t)++];
        tt->e = e;
        tt->n_units = e->units.n;
        tt->pool_len = e->units.pool_len;
        for (size_t k = 0; k < e->n_arms; k++)
            tt->saved[k] = e->arms[k].a;
        size_t more = 0, bytes = 0;
        for (size_t j = i; j < x->n_q; j++)
            if (x->q[j].e == e) {
                more++;
                bytes += x->q[j].unit_len;
            }
        int rc = units_reserve(&e->units, more, bytes);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void undo_batch(struct undo_unit *undo, size_t n_undo, struct touched *t, size_t n_t)
{
    for (size_t i = n_undo; i-- > 0;)
        undo[i].u->slots[undo[i].slot] = undo[i].old;
    for (size_t i = 0; i < n_t; i++) {
        struct experiment *e = t[i].e;
        e->units.n = t[i].n_units;
        e->units.pool_len = t[i].pool_len;
        for (size_t k = 0; k < e->n_arms; k++)
            e->arms[k].a = t[i].saved[k];
    }
}

/* Writes the batch's events and the aggregates of the experiments it touched; the
 * transaction is open. */
static int write_batch(sy_engine_t *eng, struct undo_unit *undo, size_t *n_undo, struct touched *t,
                       size_t n_t, sy_err_t *err)
{
    struct ingest *x = eng->x->in;
    int64_t now = sy_engine_now_ms(eng);
    size_t w = 0;
    for (size_t i = 0; i < x->n_q; i++) {
        struct pend *p = &x->q[i];
        struct experiment *e = p->e;
        const char *unit = x->pool + p->unit;
        while (w < x->n_w && i >= x->w[w].first + x->w[w].n)
            w++;
        if (p->seen && exposure_is_noop(e, unit, p->unit_len, p->variant))
            continue; /* OFREP saw the unit again before the commit */
        sy_store_event_t row = {
            .workspace = e->ws,
            .experiment = e->id,
            .id = p->id_len ? x->pool + p->id : NULL,
            .id_len = p->id_len,
            .kind = kind_name(p->kind),
            .unit = unit,
            .unit_len = p->unit_len,
            .variant = p->kind == SY_EVENT_EXPOSURE ? e->arms[p->variant].key : NULL,
            .variant_len = p->kind == SY_EVENT_EXPOSURE ? strlen(e->arms[p->variant].key) : 0,
            .success = p->success,
            .has_value = p->has_value,
            .value = p->value,
            .has_latency = p->has_latency,
            .latency_ms = p->latency,
            .at_ms = now};
        int64_t seq;
        int rc = sy_store_event_add(eng->store, &row, &seq, err);
        if (rc < 0)
            return rc;
        bool inserted = seq != 0;
        bool mine = !p->seen && w < x->n_w && i >= x->w[w].first;
        if (!inserted) {
            if (mine)
                x->w[w].result.duplicates++;
            continue;
        }
        if (mine)
            x->w[w].result.accepted++;
        uint64_t h = hash_bytes(unit, p->unit_len);
        size_t slot = units_slot(&e->units, unit, p->unit_len, h);
        /* The slot as it was (empty for a new unit), to put back if the commit fails. */
        undo[(*n_undo)++] =
            (struct undo_unit){.u = &e->units, .slot = slot, .old = e->units.slots[slot]};
        units_put(&e->units, slot, unit, p->unit_len, h);
        struct change c = {.kind = p->kind,
                           .variant = p->variant,
                           .success = p->success,
                           .has_value = p->has_value,
                           .value = p->value,
                           .has_latency = p->has_latency,
                           .latency = p->latency};
        apply(e, slot, &c);
    }
    for (size_t i = 0; i < n_t; i++) {
        struct experiment *e = t[i].e;
        sy_arm_counts_t counts[SY_EXP_MAX_ARMS];
        const char *names[SY_EXP_MAX_ARMS];
        sy_experiment_in_t in;
        sy_exp_analysis_in(eng, e, counts, names, &in);
        for (size_t k = 0; k < e->n_arms; k++) {
            struct agg *a = &e->arms[k].a;
            /* Every commit is a look of the sequential test: its p-value only goes down. */
            if (e->sequential && k != e->control)
                sy_experiment_seq_look(&in, k, &a->seq_p, NULL);
            int rc = sy_exp_put_arm(eng, e, k, err);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

void sy_eng_commit_soon(sy_engine_t *eng)
{
    struct ingest *x = eng->x->in;
    if (x->on_events)
        x->on_events(x->on_events_arg);
}

void sy_engine_events_commit(sy_engine_t *eng)
{
    struct ingest *x = eng->x->in;
    sy_eng_kpi_commit(eng); /* the KPI events that came meanwhile: their own transaction */
    if (x->n_q == 0)
        return;
    sy_err_t err = {0};
    size_t n_t = 0, n_undo = 0, cap_t = eng->x->n < x->n_q ? eng->x->n : x->n_q;
    struct touched *t = calloc(cap_t ? cap_t : 1, sizeof(*t));
    struct undo_unit *undo = malloc(x->n_q * sizeof(*undo));
    int rc = t && undo ? prepare_batch(x, t, cap_t, &n_t) : -ENOMEM;
    if (rc < 0) {
        if (rc == -ENOSPC)
            sy_err_set(&err, rc, "events", "an experiment's unit ids pass 4 GiB");
        else
            sy_eng_oom(&err);
    } else if ((rc = sy_store_begin(eng->store, &err)) == 0) {
        rc = write_batch(eng, undo, &n_undo, t, n_t, &err);
        if (rc < 0)
            sy_store_rollback(eng->store);
        else
            rc = sy_store_commit(eng->store, &err);
        if (rc < 0)
            undo_batch(undo, n_undo, t, n_t);
    }
    /* Empty the queue before answering: a `done` may submit again. */
    size_t n_w = x->n_w;
    struct waiter *w = x->w;
    x->w = NULL;
    x->n_w = x->cap_w = 0;
    x->n_q = 0;
    x->pool_len = 0;
    for (size_t i = 0; i < n_w; i++)
        w[i].done(w[i].arg, rc, &w[i].result, rc < 0 ? &err : NULL);
    for (size_t i = 0; rc == 0 && i < n_t; i++) /* after the answers: a rollback waits for none */
        sy_exp_health_after_commit(eng, t[i].e);
    free(w);
    free(t);
    free(undo);
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
    sy_engine_events_commit(eng); /* exposures OFREP saw since the last commit */
    sy_err_t err;
    sy_err_set(&err, -ECANCELED, NULL, "the server stopped before the events were committed");
    for (size_t i = 0; i < x->n_w; i++) /* only if that commit could not even start */
        x->w[i].done(x->w[i].arg, -ECANCELED, &x->w[i].result, &err);
    free(x->q);
    free(x->pool);
    free(x->w);
    free(x);
    eng->x->in = NULL;
}
