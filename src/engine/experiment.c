/* experiment.c - experiments: definitions, the life cycle over a flag's split, and the
 * results; see engine.h ("experiments"), experiment_int.h and docs/api.md.
 */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/experiment_json.h"
#include "engine/experiment_int.h"

static const char *const state_names[] = {"draft",     "running",  "stopped",    "terminated",
                                          "promoting", "promoted", "rolled_back"};

const char *sy_exp_state_name(enum state s)
{
    return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

bool sy_exp_is_active(enum state s)
{
    return s == RUNNING || s == PROMOTING || s == PROMOTED || s == ROLLED_BACK;
}

/* ---- experiments ------------------------------------------------------------------------ */

static void experiment_free(struct experiment *e)
{
    if (!e)
        return;
    json_decref(e->def);
    json_decref(e->flag_before);
    sy_exp_units_free(&e->units);
    free(e->changes);
    free(e->plans);
    free(e->arms);
    free(e);
}

struct experiment *sy_exp_find(const sy_engine_t *eng, int64_t ws, const char *key, size_t len)
{
    const struct sy_experiments *x = eng->x;
    for (size_t i = 0; i < x->n; i++) {
        struct experiment *e = x->all[i];
        if (e->ws == ws && strlen(e->key) == len && memcmp(e->key, key, len) == 0)
            return e;
    }
    return NULL;
}

struct experiment *sy_exp_find_by_id(const sy_engine_t *eng, int64_t id)
{
    for (size_t i = 0; i < eng->x->n; i++)
        if (eng->x->all[i]->id == id)
            return eng->x->all[i];
    return NULL;
}

struct experiment *sy_exp_on_flag(const sy_engine_t *eng, int64_t ws, const char *flag, size_t len,
                                  bool active_only)
{
    const struct sy_experiments *x = eng->x;
    for (size_t i = 0; i < x->n; i++) {
        struct experiment *e = x->all[i];
        if (e->ws == ws && (sy_exp_is_active(e->state) || (!active_only && e->state == DRAFT)) &&
            strlen(e->flag) == len && memcmp(e->flag, flag, len) == 0)
            return e;
    }
    return NULL;
}

bool sy_eng_flag_is_driven(const sy_engine_t *eng, int64_t ws, const char *key)
{
    return eng->x && sy_exp_on_flag(eng, ws, key, strlen(key), true) != NULL;
}

int sy_eng_serve_control(const sy_engine_t *eng, int64_t ws, const char *key, const json_t *def,
                         const char *why, json_t **out)
{
    *out = NULL;
    const struct experiment *e = eng->x ? sy_exp_on_flag(eng, ws, key, strlen(key), true) : NULL;
    if (!e || !json_is_object(def))
        return 0;
    json_t *c = json_deep_copy(def);
    if (!c)
        return -ENOMEM;
    json_object_del(c, "targeting"); /* absent is fine */
    json_t *md = json_object_get(c, "metadata");
    if ((!json_is_object(md) && json_object_set_new(c, "metadata", md = json_object()) < 0) ||
        json_object_set_new(c, "defaultVariant", json_string(e->arms[e->control].key)) < 0 ||
        json_object_set_new(md, "killSwitch", json_string(why)) < 0) {
        json_decref(c);
        return -ENOMEM;
    }
    *out = c;
    return 0;
}

int sy_eng_driven_flags(const sy_engine_t *eng, int64_t ws, int (*fn)(void *arg, const char *flag),
                        void *arg)
{
    for (size_t i = 0; eng->x && i < eng->x->n; i++) {
        const struct experiment *e = eng->x->all[i];
        int rc = e->ws == ws && sy_exp_is_active(e->state) ? fn(arg, e->flag) : 0;
        if (rc < 0)
            return rc;
    }
    return 0;
}

int sy_eng_flagset_keeps_driven(const sy_engine_t *eng, int64_t ws, const json_t *flags,
                                sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws((sy_engine_t *)eng, ws);
    for (size_t i = 0; w && i < eng->x->n; i++) {
        const struct experiment *e = eng->x->all[i];
        if (e->ws != ws || !sy_exp_is_active(e->state))
            continue;
        json_t *now = sy_eng_flag_json(w, e->flag);
        bool same = json_equal(now, json_object_get(flags, e->flag));
        json_decref(now);
        if (!same)
            return sy_err_set(err, SY_ECONFLICT, "flags",
                              "flag \"%.64s\" is driven by running experiment \"%.64s\": the "
                              "import must keep it as it is",
                              e->flag, e->key);
    }
    return 0;
}

static int64_t runtime_end(const sy_engine_t *eng, const struct experiment *e)
{
    return sy_exp_is_active(e->state) ? sy_engine_now_ms(eng) : e->stopped_ms;
}

double sy_exp_runtime_hours(const sy_engine_t *eng, const struct experiment *e)
{
    if (e->state == DRAFT || !e->started_ms)
        return 0;
    double h = (double)(runtime_end(eng, e) - e->started_ms) / 3.6e6;
    return h > 0 ? h : 0;
}

int sy_exp_arm_index(const struct experiment *e, const char *key, size_t len)
{
    for (size_t i = 0; i < e->n_arms; i++)
        if (strlen(e->arms[i].key) == len && memcmp(e->arms[i].key, key, len) == 0)
            return (int)i;
    return -1;
}

/* ---- start-up ----------------------------------------------------------------------------- */

static int state_parse(const char *s, enum state *out)
{
    for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
        if (s && strcmp(s, state_names[i]) == 0) {
            *out = (enum state)i;
            return 0;
        }
    return -EINVAL;
}

static int add_experiment(sy_engine_t *eng, struct experiment *e)
{
    struct sy_experiments *x = eng->x;
    if (sy_eng_grow((void **)&x->all, &x->cap, x->n + 1, sizeof(*x->all)) < 0)
        return -ENOMEM;
    x->all[x->n++] = e;
    sy_exp_srm_start(e); /* before any unit: made now, or before the replay */
    e->srm_p_stored = 1;
    if (sy_exp_is_active(e->state) && e->record_exposures)
        x->n_recording++;
    return 0;
}

static int load_weights(struct experiment *e, const char *text)
{
    json_error_t je;
    json_t *w = json_loads(text, 0, &je);
    int rc = w ? 0 : -EIO;
    for (size_t i = 0; rc == 0 && i < e->n_arms; i++) {
        json_t *v = json_object_get(w, e->arms[i].key);
        if (!json_is_integer(v))
            rc = -EIO;
        else
            e->arms[i].weight = json_integer_value(v);
    }
    json_decref(w);
    return rc;
}

/* The experiment store row `row` holds, into *out (not added); -ENOMEM, or -EIO for a row
 * that does not read. */
static int from_row(sy_engine_t *eng, const sy_store_experiment_t *row, struct experiment **out)
{
    struct experiment *e = calloc(1, sizeof(*e));
    *out = NULL;
    if (!e)
        return -ENOMEM;
    json_error_t je;
    json_t *def = json_loads(row->definition, 0, &je);
    sy_exp_def_t *d = malloc(sizeof(*d));
    sy_err_t err = {0};
    int rc = !d ? -ENOMEM : !def ? -EIO : sy_exp_def_read(def, d, &err);
    if (rc == 0) {
        rc = sy_exp_def_apply(d, e, true, &eng->exp_defaults, &err);
        sy_exp_def_clear(d);
    }
    free(d);
    json_decref(def);
    if (rc == 0 && state_parse(row->state, &e->state) < 0)
        rc = -EIO;
    if (rc == 0 && row->flag_before && !(e->flag_before = json_loads(row->flag_before, 0, &je)))
        rc = -EIO;
    if (rc == 0 && row->weights) /* the allocation has moved since the definition */
        rc = load_weights(e, row->weights);
    e->id = row->id;
    e->ws = row->workspace;
    e->created_ms = row->created_ms;
    e->started_ms = row->started_ms;
    e->stopped_ms = row->stopped_ms;
    if (rc < 0) {
        experiment_free(e);
        return rc == -ENOMEM ? rc : -EIO;
    }
    *out = e;
    return 0;
}

static int load_experiment(void *arg, const sy_store_experiment_t *row)
{
    sy_engine_t *eng = arg;
    struct experiment *e;
    int rc = from_row(eng, row, &e);
    if (rc == 0 && (rc = add_experiment(eng, e)) < 0)
        experiment_free(e);
    return rc;
}

/* Whether `a` and `b` have the same variants, in the same order. */
static bool same_variants(const struct experiment *a, const struct experiment *b)
{
    if (a->n_arms != b->n_arms || a->control != b->control)
        return false;
    for (size_t i = 0; i < a->n_arms; i++)
        if (strcmp(a->arms[i].key, b->arms[i].key) != 0 ||
            a->arms[i].defined_weight != b->arms[i].defined_weight)
            return false;
    return true;
}

int sy_exp_sync_row(sy_engine_t *eng, const sy_store_experiment_t *row, bool *added)
{
    struct experiment *n, *e = sy_exp_find_by_id(eng, row->id);
    *added = false;
    int rc = from_row(eng, row, &n);
    if (rc < 0)
        return rc;
    if (!e || (e->state == DRAFT && !same_variants(e, n))) {
        if (!e && (rc = add_experiment(eng, n)) == 0) { /* made on another node */
            *added = true;
            return 0;
        }
        if (e) { /* a draft whose variants another node redefined: nothing counted yet. Made
                    anew where it is (callers may hold it). */
            struct experiment old = *e;
            *e = *n;
            *n = old;
            sy_exp_srm_start(e);
            e->srm_p_stored = 1;
            experiment_free(n);
            return 0;
        }
        experiment_free(n);
        return rc;
    }
    if (!same_variants(e, n)) { /* never: variants are fixed once it starts */
        experiment_free(n);
        return -EIO;
    }
    if (e->record_exposures && sy_exp_is_active(e->state) != sy_exp_is_active(n->state))
        eng->x->n_recording += sy_exp_is_active(n->state) ? 1 : -1;
    e->state = n->state;
    e->started_ms = n->started_ms;
    e->stopped_ms = n->stopped_ms;
    json_t *fb = e->flag_before;
    e->flag_before = n->flag_before;
    n->flag_before = fb;
    for (size_t i = 0; i < e->n_arms; i++)
        e->arms[i].weight = n->arms[i].weight;
    bool recording = e->record_exposures;
    json_decref(sy_exp_take_settings(e, n));
    e->record_exposures = n->record_exposures;
    if (sy_exp_is_active(e->state) && recording != e->record_exposures)
        eng->x->n_recording += e->record_exposures ? 1 : -1;
    experiment_free(n);
    return 0;
}

static int load_srm(void *arg, int64_t id, double p)
{
    struct experiment *e = sy_exp_find_by_id(arg, id);
    if (e && p >= 0 && p <= 1)
        e->srm_p_stored = p;
    return 0;
}

/* A checkpoint (retention.c) restored into its experiment, not replayed yet: its events up
 * to the checkpoint's place are left out of the replay. One that does not decode stops the
 * start: numbers silently different from the log's are worse than none. */
struct ckpt_load {
    sy_engine_t *eng;
    int64_t seq;  /* the largest place of a checkpoint */
    int64_t rows; /* checkpoints read */
    sy_err_t *err;
};

static int load_checkpoint(void *arg, int64_t id, int64_t seq, const void *data, size_t len)
{
    struct ckpt_load *c = arg;
    c->rows++;
    struct experiment *e = sy_exp_find_by_id(c->eng, id);
    if (!e)
        return 0;
    int rc = sy_exp_ckpt_decode(e, seq, data, len);
    if (rc == -EIO)
        return sy_err_set(c->err, -EIO, NULL,
                          "the checkpoint of experiment \"%.64s\" does not decode "
                          "(written by another build or machine, or damaged)",
                          e->key);
    if (rc < 0)
        return rc;
    e->ckpt_seq = seq;
    if (seq > c->seq)
        c->seq = seq;
    return 0;
}

static int load_arm(void *arg, const sy_store_arm_t *row)
{
    struct experiment *e = sy_exp_find_by_id(arg, row->experiment);
    int i = e && row->variant ? sy_exp_arm_index(e, row->variant, strlen(row->variant)) : -1;
    if (i >= 0) { /* the p-values' running minima are the one thing the log cannot replay */
        e->arms[i].a.seq_p = row->seq_p;
        e->arms[i].a.cuped_seq_p = row->cuped_seq_p;
    }
    return 0;
}

int sy_exp_arms_load(sy_engine_t *eng, int64_t experiment, sy_err_t *err)
{
    return sy_store_arm_list(eng->store, experiment, load_arm, eng, err);
}

int sy_eng_experiments_open(sy_engine_t *eng, sy_err_t *err)
{
    eng->x = calloc(1, sizeof(*eng->x));
    if (!eng->x)
        return sy_eng_oom(err);
    if (sy_exp_ingest_open(eng) < 0)
        return sy_eng_oom(err);
    if (sy_exp_settings_open(eng, err) < 0 || sy_eng_layers_open(eng, err) < 0)
        return err ? err->code : -EIO;
    /* One snapshot for all of it: with other nodes writing meanwhile, an experiment made
     * after its list was read would have its events left out of the replay for good. */
    int rc = sy_store_begin_read(eng->store, err);
    if (rc < 0)
        return rc;
    rc = sy_store_experiment_list(eng->store, -1, load_experiment, eng, err);
    if (rc == 0)
        rc = sy_store_arm_list(eng->store, -1, load_arm, eng, err);
    if (rc == 0)
        rc = sy_store_srm_list(eng->store, load_srm, eng, err);
    if (rc == 0)
        rc = sy_exp_changes_open(eng, err);
    struct ckpt_load cl = {.eng = eng, .err = err};
    if (rc == 0)
        rc = sy_store_checkpoint_list(eng->store, load_checkpoint, &cl, err);
    int64_t written = 0; /* as many as the last retention run left (0: none, or an older build) */
    if (rc == 0 && (rc = sy_store_retention_get(eng->store, "checkpoints", &written, err)) == 0 &&
        written > 0 && cl.rows != written)
        rc = sy_err_set(err, -EIO, NULL,
                        "%lld checkpoints were written and %lld are there: an experiment whose "
                        "checkpoint is gone would show other numbers",
                        (long long)written, (long long)cl.rows);
    if (rc == 0)
        rc = sy_store_event_list(eng->store, sy_exp_replay, eng, err);
    sy_store_rollback(eng->store);
    if (rc == 0) /* a change made now comes after the events the checkpoints hold */
        sy_exp_events_applied_past(eng, cl.seq);
    for (size_t i = 0; rc == 0 && i < eng->x->n; i++) { /* changes after the last event */
        struct experiment *e = eng->x->all[i];
        sy_exp_replay_changes(e, INT64_MAX);
        /* the replay looked at each change; the store kept the live looks' minimum */
        sy_exp_srm_look(e, INT64_MAX); /* what the replay did not leave out already */
        if (e->srm_p_stored < e->srm.p)
            e->srm.p = e->srm_p_stored;
    }
    if (rc == -ENOMEM)
        return sy_eng_oom(err);
    if (rc < 0) { /* the message is written over: not from itself */
        char why[sizeof(err->msg)];
        snprintf(why, sizeof(why), "%s", err && err->msg[0] ? err->msg : "a row is malformed");
        return sy_err_set(err, rc, NULL, "store: experiments do not load: %s", why);
    }
    return 0;
}

void sy_eng_experiments_close(sy_engine_t *eng)
{
    struct sy_experiments *x = eng->x;
    if (!x)
        return;
    sy_exp_ingest_free(eng); /* commits what is queued first */
    for (size_t i = 0; i < x->n; i++)
        experiment_free(x->all[i]);
    free(x->all);
    free(x->tail_ws);
    free(x);
    eng->x = NULL;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

static void resource_of(const struct experiment *e, char *buf, size_t cap)
{
    snprintf(buf, cap, "experiment:%s", e->key);
}

static char *dump(const json_t *j)
{
    return j ? sy_json_dumps(j, JSON_COMPACT) : NULL;
}

void sy_exp_arm_row(int64_t experiment, const struct arm *arm, sy_store_arm_t *row)
{
    const struct agg *a = &arm->a;
    sy_moments_t v = sy_welford_moments(&a->value), l = sy_welford_moments(&a->latency);
    *row = (sy_store_arm_t){.experiment = experiment,
                            .variant = arm->key,
                            .units = a->units,
                            .conversions = a->conversions,
                            .value_mean = v.mean,
                            .value_sd = v.sd,
                            .errors = a->errors,
                            .crossovers = a->crossovers,
                            .seq_p = a->seq_p,
                            .cuped_seq_p = a->cuped_seq_p,
                            .latency_n = l.n,
                            .latency_mean = l.mean,
                            .latency_sd = l.sd};
}

int sy_exp_put_arm(sy_engine_t *eng, const struct experiment *e, size_t k, sy_err_t *err)
{
    sy_store_arm_t row;
    sy_exp_arm_row(e->id, &e->arms[k], &row);
    return sy_store_arm_put(eng->store, &row, err);
}

int sy_exp_write(sy_engine_t *eng, int64_t ws, void *arg, sy_err_t *err)
{
    struct exp_write *xw = arg;
    struct experiment *e = xw->e;
    json_t *weights = sy_exp_weights_json(e);
    char *def = dump(e->def), *fb = dump(e->flag_before), *w = dump(weights);
    json_decref(weights);
    int rc = -ENOMEM;
    /* every caller has an `after` for the audit: without it, memory ran out */
    if (!def || !w || !xw->after || (e->flag_before && !fb))
        goto out;
    sy_store_experiment_t row = {.id = e->id,
                                 .workspace = ws,
                                 .key = e->key,
                                 .flag_key = e->flag,
                                 .definition = def,
                                 .state = state_names[e->state],
                                 .created_ms = e->created_ms,
                                 .started_ms = e->started_ms,
                                 .stopped_ms = e->stopped_ms,
                                 .flag_before = fb,
                                 .weights = w};
    if ((rc = sy_store_experiment_put(eng->store, &row, &e->id, err)) < 0 ||
        (rc = sy_store_announce(eng->store, ws, "experiments", eng->node_id, err)) < 0)
        goto out;
    for (size_t i = 0; i < e->n_arms && xw->arms; i++)
        if ((rc = sy_exp_put_arm(eng, e, i, err)) < 0)
            goto out;
    char resource[KEY_MAX + 16];
    resource_of(e, resource, sizeof(resource));
    rc = sy_eng_audit(eng, xw->actor, ws, xw->action, resource, xw->before, xw->after, err);
    if (rc == 0 && xw->more)
        rc = xw->more(eng, xw, err);
out:
    free(def);
    free(fb);
    free(w);
    return rc == -ENOMEM ? sy_eng_oom(err) : rc;
}

/* Each variant's value in the flag an experiment creates: its own (JSON text), else its
 * key. -EINVAL naming a value that is no JSON. */
static int flag_values(const sy_exp_def_t *d, json_t **out, sy_err_t *err)
{
    json_t *values = json_object();
    if (!values)
        return sy_eng_oom(err);
    for (size_t i = 0; i < d->n_variants; i++) {
        const sy_exp_variant_t *v = &d->variants[i];
        json_error_t je;
        json_t *j = v->value ? json_loads(v->value, JSON_DECODE_ANY, &je) : json_string(v->key);
        if (!j && v->value && json_error_code(&je) != json_error_out_of_memory) {
            char f[48];
            snprintf(f, sizeof(f), "variants[%zu].value", i);
            json_decref(values);
            return sy_err_set(err, -EINVAL, f, "a variant's value is JSON");
        }
        if (json_object_set_new(values, v->key, j) < 0) {
            json_decref(values);
            return sy_eng_oom(err);
        }
    }
    *out = values;
    return 0;
}

/* A new experiment `e` of a layer (or a new definition of `was`) takes its place there
 * (layer.c); "holdout" is the variant the layer's holdout is served, no arm's. */
static int layer_join(sy_engine_t *eng, struct experiment *e, const struct experiment *was,
                      sy_err_t *err)
{
    for (size_t i = 0; i < e->n_arms; i++)
        if (strcmp(e->arms[i].key, "holdout") == 0) {
            char f[48];
            snprintf(f, sizeof(f), "variants[%zu].key", i);
            return sy_err_set(err, -EINVAL, f,
                              "\"holdout\" is the variant a layer serves its holdout: an "
                              "experiment in a layer names its variants otherwise");
        }
    return sy_exp_layer_place(eng, e, was, err);
}

int sy_engine_experiment_create(sy_engine_t *eng, const sy_principal_t *actor,
                                const sy_exp_def_t *def, sy_experiment_t *out, sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, actor->workspace);
    if (!w)
        return sy_err_set(err, -ENOENT, NULL, "no such workspace");
    struct experiment *e = calloc(1, sizeof(*e));
    json_t *values = NULL, *after = NULL, *newflag = NULL, *flag = NULL;
    int rc = -ENOMEM;
    if (!e) {
        rc = sy_eng_oom(err);
        goto out;
    }
    if ((rc = sy_exp_def_apply(def, e, false, &eng->exp_defaults, err)) < 0)
        goto out;
    if (sy_exp_find(eng, w->id, e->key, strlen(e->key))) {
        rc = sy_err_set(err, -EEXIST, "key", "experiment \"%.64s\" already exists", e->key);
        goto out;
    }
    const struct experiment *busy = sy_exp_on_flag(eng, w->id, e->flag, strlen(e->flag), false);
    if (busy) {
        rc = sy_err_set(err, SY_ECONFLICT, "flag",
                        "flag \"%.64s\" already serves experiment \"%.64s\" (%s)", e->flag,
                        busy->key, state_names[busy->state]);
        goto out;
    }
    e->ws = w->id;
    e->state = DRAFT;
    if (e->layer.name[0] && (rc = layer_join(eng, e, NULL, err)) < 0)
        goto out;
    flag = sy_eng_flag_json(w, e->flag);
    if (!flag && sy_eng_flag_exists(w, e->flag)) {
        rc = sy_eng_oom(err); /* there, but could not be read back */
        goto out;
    }
    const json_t *fvars = json_object_get(flag, "variants");
    for (size_t i = 0; flag && i < e->n_arms; i++) {
        char f[48];
        snprintf(f, sizeof(f), "variants[%zu]", i);
        if (def->variants[i].value) {
            rc = sy_err_set(err, -EINVAL, f,
                            "flag \"%.64s\" exists: its variants' values are the flag's", e->flag);
            goto out;
        }
        if (!json_object_get(fvars, e->arms[i].key)) {
            rc = sy_err_set(err, -EINVAL, f, "flag \"%.64s\" has no variant \"%s\"", e->flag,
                            e->arms[i].key);
            goto out;
        }
    }
    if (!flag && (rc = flag_values(def, &values, err)) < 0)
        goto out;
    e->created_ms = sy_engine_now_ms(eng);
    for (size_t i = 0; i < e->n_arms; i++)
        e->arms[i].a.seq_p = e->arms[i].a.cuped_seq_p = 1;
    if (sy_eng_grow((void **)&eng->x->all, &eng->x->cap, eng->x->n + 1, sizeof(*eng->x->all)) < 0) {
        rc = sy_eng_oom(err);
        goto out;
    }
    after = sy_exp_to_json(e);
    struct exp_write xw = {
        .e = e, .actor = actor, .action = "experiment.create", .after = after, .arms = true};
    if (!flag) {
        /* A new flag serves control to everyone until the experiment starts. */
        newflag = json_pack("{sssOss}", "state", "ENABLED", "variants", values, "defaultVariant",
                            e->arms[e->control].key);
        rc = newflag ? sy_eng_flag_change(eng, actor, w, e->flag, newflag, "flag.create",
                                          sy_exp_write, &xw, err)
                     : sy_eng_oom(err);
    } else if ((rc = sy_store_begin(eng->store, err)) == 0) {
        if ((rc = sy_exp_write(eng, w->id, &xw, err)) < 0)
            sy_store_rollback(eng->store);
        else
            rc = sy_store_commit(eng->store, err);
    }
    if (rc < 0) {
        e->id = 0;
        goto out;
    }
    add_experiment(eng, e); /* room was made above */
    sy_exp_view(e, out);    /* the experiment as committed: nothing can fail now */
    e = NULL;
out:
    experiment_free(e);
    json_decref(values);
    json_decref(after);
    json_decref(newflag);
    json_decref(flag);
    return rc;
}

int sy_engine_experiment_list(sy_engine_t *eng, const sy_principal_t *actor, sy_experiment_t **out,
                              size_t *n, sy_err_t *err)
{
    size_t k = 0;
    for (size_t i = 0; i < eng->x->n; i++)
        k += eng->x->all[i]->ws == actor->workspace;
    sy_experiment_t *a = malloc((k ? k : 1) * sizeof(*a));
    if (!a)
        return sy_eng_oom(err);
    k = 0;
    for (size_t i = 0; i < eng->x->n; i++)
        if (eng->x->all[i]->ws == actor->workspace)
            sy_exp_view(eng->x->all[i], &a[k++]);
    *out = a;
    *n = k;
    return 0;
}

/* What an update may not change: the first of the fixed members of `e` that `n` (the same
 * experiment's new definition, applied) changes, or NULL. */
static const char *fixed_changed(const struct experiment *e, const struct experiment *n)
{
    if (strcmp(e->key, n->key) != 0)
        return "key";
    if (strcmp(e->flag, n->flag) != 0)
        return "flag";
    bool same = e->n_arms == n->n_arms && e->control == n->control;
    for (size_t i = 0; same && i < e->n_arms; i++)
        same = strcmp(e->arms[i].key, n->arms[i].key) == 0 &&
               e->arms[i].defined_weight == n->arms[i].defined_weight;
    if (!same)
        return "variants";
    if (e->metric != n->metric)
        return "metric";
    if (e->latency_guardrail != n->latency_guardrail)
        return "guardrails";
    if (e->record_exposures != n->record_exposures)
        return "record_exposures";
    return NULL;
}

/* The layer of `n`, the new definition of `e`: a started experiment's never changes (it
 * would move units); a draft keeps its range while its layer and share stay, else it is
 * placed again (its own range free to take). */
static int layer_update(sy_engine_t *eng, const struct experiment *e, struct experiment *n,
                        sy_err_t *err)
{
    bool same = strcmp(e->layer.name, n->layer.name) == 0 && e->layer.pct_bp == n->layer.pct_bp;
    if (!same && e->state != DRAFT)
        return sy_err_set(err, SY_ECONFLICT, "layer",
                          "the layer cannot change once the experiment has started: its units "
                          "would move");
    if (!n->layer.name[0])
        return 0;
    if (same)
        return sy_exp_layer_set_range(n, e->layer.start_bp, e->layer.end_bp, err);
    n->ws = e->ws;
    n->state = DRAFT;
    return layer_join(eng, n, e, err);
}

int sy_engine_experiment_update(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                const sy_exp_def_t *def, sy_experiment_t *out, sy_err_t *err)
{
    struct experiment *e = sy_exp_lookup(eng, actor, key, err);
    if (!e)
        return err ? err->code : -ENOENT;
    if (e->state != DRAFT && e->state != RUNNING && e->state != PROMOTING)
        return sy_err_set(err, SY_ECONFLICT, "state",
                          "experiment \"%.64s\" is %s: only a draft, running or promoting "
                          "experiment's settings change",
                          e->key, state_names[e->state]);
    json_t *before = NULL, *after = NULL;
    struct experiment *n = calloc(1, sizeof(*n));
    int rc;
    if (!n) {
        rc = sy_eng_oom(err);
        goto out;
    }
    /* a weight the allocation moved is the experiment's, not its definition's */
    if ((rc = sy_exp_def_apply(def, n, false, &eng->exp_defaults, err)) < 0)
        goto out;
    const char *fixed = fixed_changed(e, n);
    if (fixed) {
        rc = sy_err_set(err, SY_ECONFLICT, fixed,
                        "%s cannot change: it is part of what the experiment measures "
                        "(create a new experiment instead)",
                        fixed);
        goto out;
    }
    if (e->state != DRAFT && n->cuped != e->cuped) {
        rc = sy_err_set(err, SY_ECONFLICT, "cuped.enabled",
                        "CUPED cannot be turned %s once the experiment has started: its "
                        "adjusted running p-value is valid only for the test it began with",
                        n->cuped ? "on" : "off");
        goto out;
    }
    if (e->state != DRAFT && (strcmp(n->cuped_kpi_domain, e->cuped_kpi_domain) != 0 ||
                              strcmp(n->cuped_kpi_metric, e->cuped_kpi_metric) != 0 ||
                              n->cuped_lookback_ms != e->cuped_lookback_ms)) {
        rc = sy_err_set(err, SY_ECONFLICT,
                        n->cuped_lookback_ms != e->cuped_lookback_ms &&
                                strcmp(n->cuped_kpi_domain, e->cuped_kpi_domain) == 0 &&
                                strcmp(n->cuped_kpi_metric, e->cuped_kpi_metric) == 0
                            ? "cuped.lookback_days"
                            : "cuped.kpi",
                        "CUPED's KPI covariate cannot change once the experiment has started: "
                        "its units' covariates were taken with the one it began with");
        goto out;
    }
    if (e->state != DRAFT && (n->sequential != e->sequential || n->tau_squared != e->tau_squared)) {
        rc = sy_err_set(err, SY_ECONFLICT,
                        n->sequential != e->sequential ? "safety.sequential"
                                                       : "safety.sequential_tau_squared",
                        "the sequential test cannot change once the experiment has started: its "
                        "running p-value is valid only for the test it began with");
        goto out;
    }
    if (e->state != DRAFT &&
        (n->bandit.on != e->bandit.on || n->bandit.burn_in_hours != e->bandit.burn_in_hours)) {
        rc = sy_err_set(err, SY_ECONFLICT,
                        n->bandit.on != e->bandit.on ? "bandit" : "bandit.burn_in_hours",
                        n->bandit.on != e->bandit.on
                            ? "an experiment cannot become a bandit, or stop being one, once "
                              "it has started: create a new experiment instead"
                            : "burn_in_hours cannot change once the experiment has started");
        goto out;
    }
    if ((rc = layer_update(eng, e, n, err)) < 0)
        goto out;
    if (json_equal(e->def, n->def)) /* nothing to change: nothing written */
        goto done;
    struct experiment saved = *e;
    before = sy_exp_to_json(e);
    json_t *old = sy_exp_take_settings(e, n);
    after = sy_exp_to_json(e);
    struct exp_write xw = {
        .e = e, .actor = actor, .action = "experiment.update", .before = before, .after = after};
    if (!before || !after) {
        rc = sy_eng_oom(err);
    } else if ((rc = sy_store_begin(eng->store, err)) == 0) {
        if ((rc = sy_exp_write(eng, e->ws, &xw, err)) < 0)
            sy_store_rollback(eng->store);
        else
            rc = sy_store_commit(eng->store, err);
    }
    if (rc < 0) {
        n->def = e->def; /* freed with n */
        *e = saved;
        goto out;
    }
    json_decref(old);
done:
    if (out)
        sy_exp_view(e, out);
out:
    json_decref(before);
    json_decref(after);
    experiment_free(n);
    return rc;
}

struct experiment *sy_exp_lookup(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                 sy_err_t *err)
{
    struct experiment *e = sy_exp_find(eng, actor->workspace, key, strlen(key));
    if (!e)
        sy_err_set(err, -ENOENT, "key", "no experiment \"%.64s\"", key);
    return e;
}

int sy_engine_experiment_get(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                             sy_experiment_t *out, sy_err_t *err)
{
    struct experiment *e = sy_exp_lookup(eng, actor, key, err);
    if (!e)
        return err ? err->code : -ENOENT;
    sy_exp_view(e, out);
    return 0;
}

/* The flag while the experiment runs: its definition before, with the weights as the
 * `fractional` split of the targeting key (flagd buckets "<flag key><targeting key>"),
 * gated by its layer's range when it is in one (layer.c). */
json_t *sy_exp_split_flag(const sy_engine_t *eng, const struct experiment *e, const json_t *before)
{
    json_t *split = json_array();
    bool ok = split != NULL; /* a split missing an arm would be served */
    for (size_t i = 0; i < e->n_arms; i++)
        ok &= json_array_append_new(
                  split, json_pack("[sI]", e->arms[i].key, (json_int_t)e->arms[i].weight)) == 0;
    json_t *def = json_deep_copy(before), *targeting = json_object();
    if (!ok) {
        json_decref(split);
        split = NULL;
    }
    /* each set_new takes its value, whether it succeeds or not */
    int a = json_object_set_new(targeting, "fractional", split);
    int b = e->layer.name[0] ? sy_exp_layer_gate(eng, e, def, targeting)
                             : json_object_set_new(def, "targeting", targeting);
    if (a < 0 || b < 0 || json_object_set_new(def, "state", json_string("ENABLED")) < 0) {
        json_decref(def);
        return NULL;
    }
    return def;
}

/* The flag once a promoted experiment ends: as before the start, with the winner (the
 * variant holding all traffic) as its default for everyone. */
static json_t *promoted_flag(const struct experiment *e)
{
    json_t *def = json_deep_copy(e->flag_before);
    size_t winner = 0;
    for (size_t i = 0; i < e->n_arms; i++)
        if (e->arms[i].weight > e->arms[winner].weight)
            winner = i;
    if (def && (json_object_set_new(def, "defaultVariant", json_string(e->arms[winner].key)) < 0 ||
                json_object_set_new(def, "state", json_string("ENABLED")) < 0)) {
        json_decref(def);
        return NULL;
    }
    json_object_del(def, "targeting");
    return def;
}

/* The first point of a started experiment's timeline, in the start's transaction. */
static int timeline_start(sy_engine_t *eng, struct exp_write *xw, sy_err_t *err)
{
    return sy_exp_timeline_put(eng, xw->e, "start", true, err);
}

int sy_engine_experiment_transition(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                    const char *state, sy_experiment_t *out, sy_err_t *err)
{
    struct experiment *e = sy_exp_lookup(eng, actor, key, err);
    if (!e)
        return err ? err->code : -ENOENT;
    enum state to;
    if (state_parse(state, &to) < 0 || (to != RUNNING && to != STOPPED && to != TERMINATED))
        return sy_err_set(err, -EINVAL, "state",
                          "an experiment moves to running, stopped or "
                          "terminated");
    bool legal =
        (e->state == DRAFT && to == RUNNING) || (sy_exp_is_active(e->state) && to != RUNNING);
    if (!legal)
        return sy_err_set(err, SY_ECONFLICT, "state", "experiment \"%.64s\" is %s: it cannot %s",
                          e->key, state_names[e->state],
                          to == RUNNING   ? "start"
                          : to == STOPPED ? "stop"
                                          : "be terminated");
    struct workspace *w = sy_eng_find_ws(eng, e->ws);
    json_t *flag = sy_eng_flag_json(w, e->flag);
    if (!flag && sy_eng_flag_exists(w, e->flag))
        return sy_eng_oom(err); /* there, but could not be read back */
    if (!flag)
        return sy_err_set(err, SY_ECONFLICT, "flag", "flag \"%.64s\" no longer exists", e->flag);
    json_t *before = sy_exp_to_json(e), *def;
    struct experiment saved = *e;
    if (to == RUNNING) {
        for (size_t i = 0; i < e->n_arms; i++)
            if (!json_object_get(json_object_get(flag, "variants"), e->arms[i].key)) {
                json_decref(before);
                json_decref(flag);
                return sy_err_set(err, SY_ECONFLICT, "flag",
                                  "flag \"%.64s\" no longer has variant \"%s\"", e->flag,
                                  e->arms[i].key);
            }
        int64_t holdout = sy_exp_layer_holdout(eng, e);
        if (e->layer.name[0] &&
            (holdout < 0 ||
             (holdout > 0 && json_object_get(json_object_get(flag, "variants"), "holdout")))) {
            json_decref(before);
            json_decref(flag);
            return holdout < 0
                       ? sy_err_set(err, SY_ECONFLICT, "layer", "layer \"%s\" no longer exists",
                                    e->layer.name)
                       : sy_err_set(
                             err, SY_ECONFLICT, "layer",
                             "flag \"%.64s\" has a variant \"holdout\": the variant layer \"%s\" "
                             "serves its holdout",
                             e->flag, e->layer.name);
        }
        e->flag_before = json_deep_copy(flag);
        e->started_ms = sy_engine_now_ms(eng);
        def = sy_exp_split_flag(eng, e, flag);
    } else if (e->state == PROMOTED) {
        def = promoted_flag(e);
        e->stopped_ms = sy_engine_now_ms(eng);
    } else {
        def = json_incref(e->flag_before);
        e->stopped_ms = sy_engine_now_ms(eng);
    }
    e->state = to;
    json_t *after = sy_exp_to_json(e);
    struct exp_write xw = {.e = e,
                           .actor = actor,
                           .action = to == RUNNING   ? "experiment.start"
                                     : to == STOPPED ? "experiment.stop"
                                                     : "experiment.terminate",
                           .before = before,
                           .after = after,
                           .more = to == RUNNING ? timeline_start : NULL};
    int rc =
        def && after && before && (to != RUNNING || e->flag_before)
            ? sy_eng_flag_change(eng, actor, w, e->flag, def, "flag.update", sy_exp_write, &xw, err)
            : sy_eng_oom(err);
    if (rc < 0) {
        if (to == RUNNING)
            json_decref(e->flag_before);
        *e = saved;
    } else {
        if (sy_exp_is_active(saved.state) && e->record_exposures)
            eng->x->n_recording--;
        if (to == RUNNING && e->record_exposures)
            eng->x->n_recording++;
        sy_exp_view(e, out); /* filling a struct: nothing may fail after the commit */
    }
    json_decref(def);
    json_decref(before);
    json_decref(after);
    json_decref(flag);
    return rc;
}
