/* layer.c - exclusive layers and their holdouts (engine.h, "layers"; docs/api.md "Layers").
 *
 * A layer is a workspace setting "layer:NAME" (its name, description, holdout and times;
 * codec/layer_json.h's stored form). Its ranges are not stored with it: each experiment in
 * it keeps its own range in its definition ("layer": {"name", "pct", "range"}), assigned at
 * its create, held while it is a draft or active, freed when it ends. A layer's map is made
 * from its experiments whenever it is asked for.
 *
 * Compiled into the flag of a running experiment (sy_exp_layer_gate), with h the holdout
 * and [s, e) the experiment's range in basis points, LB the layer's bucket:
 *
 *   LB = {"fractional": [{"cat": ["layer/NAME/", {"var": "targetingKey"}]},
 *                        ["holdout", h], ["out", s - h], ["in", e - s], ["out", 10000 - e]]}
 *   {"if": [{"!": {"var": "targetingKey"}}, null,
 *           {"==": [LB, "in"]}, SPLIT,
 *           {"==": [LB, "holdout"]}, "holdout",
 *           null]}
 *
 * (buckets of weight 0 left out). Every flag of the layer hashes the same string, so they
 * agree on every unit's bucket: ranges that do not overlap put a unit in one experiment at
 * most. The experiment's own split (SPLIT) hashes flag key + targeting key as before, so
 * who gets which arm inside the range is independent of the layer's bucket. A unit outside
 * every range gets null: the flag's default, which is the control while the experiment
 * runs, with reason DEFAULT, so that an app tells "in the experiment" (TARGETING_MATCH)
 * from "out of it" (DEFAULT) by the evaluation's reason alone; holdout units get the
 * variant "holdout" (the control's value), so that their exposures can be counted apart. A
 * unit without a targeting key gets the default, as a flagd `fractional` without one does.
 *
 * Many nodes: every change announces "settings", and sync.c reloads every layer
 * (sy_eng_layers_open) as it reloads the guardrails. Two nodes placing experiments in one
 * layer at the same moment are not serialized (no more than two experiments made on one
 * flag at once are): the map shows what they hold.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/layer_json.h"
#include "codec/value_json.h"
#include "engine/experiment_int.h"

struct layer {
    int64_t ws;
    sy_layer_t *l; /* its name, description, holdout and times (no ranges: n_ranges 0) */
};

#define SETTING_PREFIX "layer:"

bool sy_exp_layer_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > SY_LAYER_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static struct layer *find(const sy_engine_t *eng, int64_t ws, const char *name)
{
    for (size_t i = 0; i < eng->n_layers; i++)
        if (eng->layers[i].ws == ws && strcmp(eng->layers[i].l->name, name) == 0)
            return &eng->layers[i];
    return NULL;
}

int sy_exp_event_variant(const struct experiment *e, const char *key, size_t len)
{
    int v = sy_exp_arm_index(e, key, len);
    if (v < 0 && e->layer.name[0] && len == 7 && memcmp(key, "holdout", 7) == 0)
        v = (int)e->n_arms;
    return v;
}

void sy_exp_holdout_rebuild(struct experiment *e)
{
    struct agg *h = &e->arms[e->n_arms].a;
    *h = (struct agg){.seq_p = 1};
    for (size_t i = 0; i < e->units.cap; i++) {
        const struct unit *u = &e->units.slots[i];
        if (!u->len || u->variant != (int)e->n_arms)
            continue;
        h->units++;
        h->conversions += (u->flags & CONVERTED) != 0;
        h->errors += (u->flags & ERRED) != 0;
        sy_welford_add(&h->value, u->value);
    }
}

static struct layer *lookup(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                            sy_err_t *err);

void sy_exp_holdout_compare(sy_metric_t metric, const sy_welford_t *served_v,
                            const sy_welford_t *hold_v, sy_results_holdout_t *h)
{
    /* core's own comparison of two arms (the one the results make of each treatment), the
     * holdout as control: fixed horizon, the served traffic's weight its share as served */
    h->compared = h->has_lift = false;
    sy_moments_t c = sy_welford_moments(hold_v), t = sy_welford_moments(served_v);
    h->mean = c.mean;
    h->served_mean = t.mean;
    sy_arm_counts_t arms[2] = {{.weight = 1,
                                .units = h->units,
                                .conversions = h->conversions,
                                .value_mean = c.mean,
                                .value_sd = c.sd,
                                .value_mean_lo = c.mean_lo,
                                .seq_p = 1},
                               {.weight = 1,
                                .units = h->served_units,
                                .conversions = h->served_conversions,
                                .value_mean = t.mean,
                                .value_sd = t.sd,
                                .value_mean_lo = t.mean_lo,
                                .seq_p = 1}};
    const char *names[2] = {"holdout", "served"};
    sy_experiment_in_t in = {.metric = metric,
                             .n_arms = 2,
                             .control = 0,
                             .arms = arms,
                             .names = names,
                             .safety = SY_SAFETY_DEFAULTS};
    sy_experiment_result_t *r = malloc(sizeof(*r));
    if (!r || sy_experiment_analyze(&in, r, NULL) < 0 || !r->arms[1].compared) {
        free(r);
        return;
    }
    const sy_arm_result_t *a = &r->arms[1];
    h->compared = true;
    h->diff = a->diff;
    h->diff_ci_low = a->diff_ci_fixed_low;
    h->diff_ci_high = a->diff_ci_fixed_high;
    h->has_lift = a->has_lift;
    h->lift = a->lift;
    h->lift_ci_low = a->lift_ci_fixed_low;
    h->lift_ci_high = a->lift_ci_fixed_high;
    h->p_value = a->p_value;
    free(r);
}

void sy_exp_holdout_figures(const struct experiment *e, sy_results_holdout_t *out)
{
    const struct agg *h = &e->arms[e->n_arms].a;
    sy_welford_t served = {0};
    *out = (sy_results_holdout_t){.units = h->units, .conversions = h->conversions};
    for (size_t i = 0; i < e->n_arms; i++) {
        out->served_units += e->arms[i].a.units;
        out->served_conversions += e->arms[i].a.conversions;
        sy_welford_merge(&served, &e->arms[i].a.value);
    }
    out->mean = sy_welford_moments(&h->value).mean;
    out->served_mean = sy_welford_moments(&served).mean;
    sy_exp_holdout_compare(e->metric, &served, &h->value, out);
}

/* Whether `e` has run in layer `l`: started in it, and since it was made. A layer deleted
 * while its experiments had ended, then made again under that name, is another layer (its
 * holdout may differ): the old one's experiments are not its own. */
static bool of_layer(const struct layer *l, const struct experiment *e)
{
    return e->ws == l->ws && e->state != DRAFT && strcmp(e->layer.name, l->l->name) == 0 &&
           e->started_ms >= l->l->created_ms;
}

int sy_engine_layer_results(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                            sy_exp_results_t **out, size_t *n, sy_results_holdout_t *pooled,
                            sy_err_t *err)
{
    const struct layer *l = lookup(eng, actor, name, err);
    if (!l)
        return -ENOENT;
    size_t k = 0;
    for (size_t i = 0; i < eng->x->n; i++)
        k += of_layer(l, eng->x->all[i]);
    sy_exp_results_t *v = malloc((k ? k : 1) * sizeof(*v));
    if (!v)
        return sy_eng_oom(err);
    sy_welford_t served = {0}, hold = {0};
    *pooled = (sy_results_holdout_t){0};
    sy_metric_t metric = SY_METRIC_CONVERSION;
    size_t j = 0;
    for (size_t i = 0; i < eng->x->n && j < k; i++) {
        struct experiment *e = eng->x->all[i];
        if (!of_layer(l, e))
            continue;
        sy_exp_results_t *r = NULL;
        int rc = sy_exp_results_of(eng, e, &r, err);
        if (rc < 0) {
            free(v);
            return rc;
        }
        v[j++] = *r;
        free(r);
        /* pooled over experiments of one metric: the first's (a mean pooled with a rate
           would mean nothing) */
        if (j == 1)
            metric = e->metric;
        if (e->metric != metric)
            continue;
        pooled->units += e->arms[e->n_arms].a.units;
        pooled->conversions += e->arms[e->n_arms].a.conversions;
        sy_welford_merge(&hold, &e->arms[e->n_arms].a.value);
        for (size_t a = 0; a < e->n_arms; a++) {
            pooled->served_units += e->arms[a].a.units;
            pooled->served_conversions += e->arms[a].a.conversions;
            sy_welford_merge(&served, &e->arms[a].a.value);
        }
    }
    pooled->mean = sy_welford_moments(&hold).mean;
    pooled->served_mean = sy_welford_moments(&served).mean;
    sy_exp_holdout_compare(metric, &served, &hold, pooled);
    *out = v;
    *n = j;
    return 0;
}

bool sy_exp_layer_holds(const struct experiment *e)
{
    return e->layer.name[0] && (e->state == DRAFT || sy_exp_is_active(e->state));
}

/* The experiments holding a range of layer `name` of `ws` but `skip`, by start, into
 * `out` (cap SY_LAYER_RANGES_MAX + 1): how many. */
static size_t held(const sy_engine_t *eng, int64_t ws, const char *name,
                   const struct experiment *skip, const struct experiment **out)
{
    size_t n = 0;
    for (size_t i = 0; i < eng->x->n && n <= SY_LAYER_RANGES_MAX; i++) {
        const struct experiment *e = eng->x->all[i];
        if (e == skip || e->ws != ws || !sy_exp_layer_holds(e) || strcmp(e->layer.name, name))
            continue;
        size_t j = n++;
        for (; j > 0 && out[j - 1]->layer.start_bp > e->layer.start_bp; j--)
            out[j] = out[j - 1];
        out[j] = e;
    }
    return n;
}

int sy_exp_layer_set_range(struct experiment *e, int64_t start_bp, int64_t end_bp, sy_err_t *err)
{
    json_t *lj = json_object_get(e->def, "layer");
    json_t *r = json_pack("[ff]", (double)start_bp / 100.0, (double)end_bp / 100.0);
    if (!lj || json_object_set_new(lj, "range", r) < 0)
        return sy_eng_oom(err);
    e->layer.start_bp = start_bp;
    e->layer.end_bp = end_bp;
    return 0;
}

int64_t sy_exp_layer_holdout(const sy_engine_t *eng, const struct experiment *e)
{
    const struct layer *l = e->layer.name[0] ? find(eng, e->ws, e->layer.name) : NULL;
    return l ? l->l->holdout_bp : -1;
}

int sy_exp_layer_place(sy_engine_t *eng, struct experiment *e, const struct experiment *skip,
                       sy_err_t *err)
{
    const struct layer *l = find(eng, e->ws, e->layer.name);
    if (!l)
        return sy_err_set(err, -EINVAL, "layer.name", "no layer \"%s\"", e->layer.name);
    const struct experiment *in[SY_LAYER_RANGES_MAX + 1];
    /* itself left out too: a draft placed again (its share changed) may take its own */
    size_t n = 0;
    const struct experiment *other[SY_LAYER_RANGES_MAX + 1];
    size_t m = held(eng, e->ws, e->layer.name, skip, other);
    for (size_t i = 0; i < m; i++)
        if (other[i] != e)
            in[n++] = other[i];
    if (n >= SY_LAYER_RANGES_MAX)
        return sy_err_set(err, SY_ECONFLICT, "layer",
                          "layer \"%s\" holds %d experiments already, the most it may",
                          e->layer.name, SY_LAYER_RANGES_MAX);
    int64_t at = l->l->holdout_bp, widest = 0, want = e->layer.pct_bp;
    for (size_t i = 0; i <= n; i++) {
        int64_t end = i < n ? in[i]->layer.start_bp : SY_LAYER_BP;
        if (end - at >= want)
            return sy_exp_layer_set_range(e, at, at + want, err);
        if (end - at > widest)
            widest = end - at;
        if (i < n && in[i]->layer.end_bp > at)
            at = in[i]->layer.end_bp;
    }
    return sy_err_set(err, SY_ECONFLICT, "layer",
                      "layer \"%s\" has no free range of %.2f %%: the widest is %.2f %%",
                      e->layer.name, (double)want / 100.0, (double)widest / 100.0);
}

/* ---- the compiled targeting ---------------------------------------------------------- */

/* {"fractional": [bucketing, [name, weight]...]} of the layer's buckets, those of weight 0
 * left out. */
static json_t *layer_bucket(const char *name, int64_t h, int64_t s, int64_t e)
{
    char salt[SY_LAYER_NAME_MAX + 16];
    snprintf(salt, sizeof(salt), "layer/%s/", name);
    json_t *args = json_pack("[{s[s{ss}]}]", "cat", salt, "var", "targetingKey");
    const char *names[] = {"holdout", "out", "in", "out"};
    int64_t w[] = {h, s - h, e - s, SY_LAYER_BP - e};
    for (size_t i = 0; args && i < 4; i++)
        if (w[i] > 0 && json_array_append_new(args, json_pack("[sI]", names[i], (json_int_t)w[i])))
            args = (json_decref(args), NULL);
    return args ? json_pack("{so}", "fractional", args) : NULL;
}

int sy_exp_layer_gate(const sy_engine_t *eng, const struct experiment *e, json_t *def,
                      json_t *split)
{
    const struct layer *l = find(eng, e->ws, e->layer.name);
    int64_t h = l ? l->l->holdout_bp : 0; /* it cannot be deleted while e is active */
    int64_t s = e->layer.start_bp, end = e->layer.end_bp;
    const char *control = e->arms[e->control].key;
    /* each append_new takes its value, and a NULL one fails: no short cut is needed */
    json_t *rules = json_pack("[{s{ss}}n]", "!", "var", "targetingKey");
    int bad = json_array_append_new(
        rules, json_pack("{s[os]}", "==", layer_bucket(e->layer.name, h, s, end), "in"));
    bad |= json_array_append_new(rules, split);
    if (h > 0) {
        bad |= json_array_append_new(
            rules, json_pack("{s[os]}", "==", layer_bucket(e->layer.name, h, s, end), "holdout"));
        bad |= json_array_append_new(rules, json_string("holdout"));
        json_t *vars = json_object_get(def, "variants");
        json_t *cv = json_object_get(vars, control);
        bad |= !cv || json_object_set(vars, "holdout", cv) < 0;
    }
    bad |= json_array_append_new(rules, json_null());
    bad |= json_object_set_new(def, "targeting", json_pack("{so}", "if", rules));
    bad |= json_object_set_new(def, "defaultVariant", json_string(control));
    return bad ? -ENOMEM : 0;
}

/* ---- the layers of the store ---------------------------------------------------------- */

static void layers_free(struct layer *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].l);
    free(v);
}

void sy_eng_layers_close(sy_engine_t *eng)
{
    layers_free(eng->layers, eng->n_layers);
    eng->layers = NULL;
    eng->n_layers = eng->cap_layers = 0;
}

struct loading {
    struct layer *v;
    size_t n, cap;
};

static int load_one(void *arg, int64_t ws, const char *name, const char *value)
{
    struct loading *ld = arg;
    if (!name || strncmp(name, SETTING_PREFIX, strlen(SETTING_PREFIX)) != 0)
        return 0;
    json_t *j = value ? json_loads(value, 0, NULL) : NULL;
    sy_layer_t *l = malloc(sizeof(*l));
    int rc = !l || sy_eng_grow((void **)&ld->v, &ld->cap, ld->n + 1, sizeof(*ld->v)) < 0 ? -ENOMEM
             : !j || sy_layer_stored_read(j, l) < 0 ||
                     strcmp(l->name, name + strlen(SETTING_PREFIX)) != 0
                 ? -EIO
                 : 0;
    json_decref(j);
    if (rc < 0) {
        free(l);
        return rc;
    }
    ld->v[ld->n++] = (struct layer){.ws = ws, .l = l};
    return 0;
}

int sy_eng_layers_open(sy_engine_t *eng, sy_err_t *err)
{
    struct loading ld = {0};
    int rc = sy_store_setting_list(eng->store, load_one, &ld, err);
    if (rc < 0) {
        layers_free(ld.v, ld.n);
        return rc == -EIO ? sy_err_set(err, rc, NULL, "store: a workspace's layer does not load")
               : rc == -ENOMEM ? sy_eng_oom(err)
                               : rc;
    }
    sy_eng_layers_close(eng);
    eng->layers = ld.v;
    eng->n_layers = ld.n;
    eng->cap_layers = ld.cap;
    return 0;
}

/* ---- the API ------------------------------------------------------------------------ */

/* `l`'s map of ranges into *out: the holdout, its experiments' ranges by start, and the
 * free ranges between them. */
static void fill(const sy_engine_t *eng, const struct layer *l, sy_layer_t *out)
{
    memcpy(out, l->l, offsetof(sy_layer_t, ranges));
    out->n_ranges = 0;
    out->free_bp = 0;
    const struct experiment *in[SY_LAYER_RANGES_MAX + 1];
    size_t n = held(eng, l->ws, l->l->name, NULL, in);
    if (n > SY_LAYER_RANGES_MAX)
        n = SY_LAYER_RANGES_MAX; /* only by two nodes placing at once: shown as far as fits */
    if (l->l->holdout_bp > 0)
        out->ranges[out->n_ranges++] =
            (sy_layer_range_t){.kind = "holdout", .start_bp = 0, .end_bp = l->l->holdout_bp};
    int64_t at = l->l->holdout_bp;
    for (size_t i = 0; i <= n; i++) {
        int64_t end = i < n ? in[i]->layer.start_bp : SY_LAYER_BP;
        if (end > at) {
            out->ranges[out->n_ranges++] =
                (sy_layer_range_t){.kind = "free", .start_bp = at, .end_bp = end};
            out->free_bp += end - at;
        }
        if (i == n)
            break;
        sy_layer_range_t *r = &out->ranges[out->n_ranges++];
        *r = (sy_layer_range_t){
            .kind = "experiment", .start_bp = in[i]->layer.start_bp, .end_bp = in[i]->layer.end_bp};
        snprintf(r->experiment, sizeof(r->experiment), "%s", in[i]->key);
        snprintf(r->state, sizeof(r->state), "%s", sy_exp_state_name(in[i]->state));
        if (in[i]->layer.end_bp > at)
            at = in[i]->layer.end_bp;
    }
}

static struct layer *lookup(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                            sy_err_t *err)
{
    struct layer *l = find(eng, actor->workspace, name);
    if (!l)
        sy_err_set(err, -ENOENT, "name", "no layer \"%.64s\"", name);
    return l;
}

/* The holdout of a change in basis points, or -1 after `err` names it. */
static int64_t holdout_of(const sy_layer_change_t *c, sy_err_t *err)
{
    double bp = c->holdout_pct * 100;
    int64_t r = (int64_t)(bp + 0.5);
    if (!(c->holdout_pct >= 0 && c->holdout_pct <= 50) || bp - (double)r > 1e-6 ||
        (double)r - bp > 1e-6) {
        sy_err_set(err, -EINVAL, "holdout_pct",
                   "holdout_pct is a percentage from 0 to 50 with at most 2 decimals");
        return -1;
    }
    return r;
}

/* Writes layer `l` of `ws` (NULL: deletes setting `name`) with its audit event, in one
 * transaction; the other nodes hear "settings". */
static int layer_write(sy_engine_t *eng, const sy_principal_t *actor, int64_t ws, const char *name,
                       const sy_layer_t *l, const char *action, const json_t *before,
                       const json_t *after, sy_err_t *err)
{
    char key[sizeof(SETTING_PREFIX) + SY_LAYER_NAME_MAX], resource[SY_LAYER_NAME_MAX + 8];
    snprintf(key, sizeof(key), SETTING_PREFIX "%s", name);
    snprintf(resource, sizeof(resource), "layer:%s", name);
    json_t *stored = l ? sy_layer_stored_json(l) : NULL;
    char *text = stored ? sy_json_dumps(stored, JSON_COMPACT) : NULL;
    json_decref(stored);
    if (l && !text)
        return sy_eng_oom(err);
    int rc = sy_store_begin(eng->store, err);
    if (rc == 0) {
        rc = l ? sy_store_setting_put(eng->store, ws, key, text, err)
               : sy_store_setting_delete(eng->store, ws, key, err);
        if (rc == 0)
            rc = sy_eng_audit(eng, actor, ws, action, resource, before, after, err);
        if (rc == 0) /* the other nodes read the settings again (sync.c) */
            rc = sy_store_announce(eng->store, ws, "settings", 0, err);
        if (rc == 0)
            rc = sy_store_commit(eng->store, err);
        else
            sy_store_rollback(eng->store);
    }
    free(text);
    return rc;
}

int sy_engine_layer_create(sy_engine_t *eng, const sy_principal_t *actor,
                           const sy_layer_change_t *c, sy_layer_t *out, sy_err_t *err)
{
    if (!c->name || !sy_exp_layer_name_ok(c->name))
        return sy_err_set(err, -EINVAL, "name", "name is 1 to %d of A-Z a-z 0-9 . _ -",
                          SY_LAYER_NAME_MAX);
    /* "." and ".." are dot segments: a client that normalizes URLs (a browser, the console,
     * curl) sends /v1/layers/../results as /v1/results, never this layer's */
    if (strcmp(c->name, ".") == 0 || strcmp(c->name, "..") == 0)
        return sy_err_set(err, -EINVAL, "name",
                          "name may not be \".\" or \"..\": a URL path cannot hold them");
    int64_t h = c->has_holdout ? holdout_of(c, err) : 0;
    if (h < 0)
        return -EINVAL;
    if (c->has_description && strlen(c->description) > SY_LAYER_DESCRIPTION_MAX)
        return sy_err_set(err, -EINVAL, "description",
                          "description is a string of at most %d bytes", SY_LAYER_DESCRIPTION_MAX);
    if (find(eng, actor->workspace, c->name))
        return sy_err_set(err, -EEXIST, "name", "layer \"%s\" already exists", c->name);
    size_t mine = 0;
    for (size_t i = 0; i < eng->n_layers; i++)
        mine += eng->layers[i].ws == actor->workspace;
    if (mine >= SY_LAYERS_MAX)
        return sy_err_set(err, SY_ECONFLICT, "name", "a workspace has at most %d layers",
                          SY_LAYERS_MAX);
    sy_layer_t *l = calloc(1, sizeof(*l));
    if (!l || sy_eng_grow((void **)&eng->layers, &eng->cap_layers, eng->n_layers + 1,
                          sizeof(*eng->layers)) < 0) {
        free(l);
        return sy_eng_oom(err);
    }
    snprintf(l->name, sizeof(l->name), "%s", c->name);
    snprintf(l->description, sizeof(l->description), "%s",
             c->has_description ? c->description : "");
    l->holdout_bp = h;
    l->created_ms = l->updated_ms = sy_engine_now_ms(eng);
    struct layer item = {.ws = actor->workspace, .l = l};
    fill(eng, &item, out);
    json_t *after = sy_layer_json(out);
    int rc = after ? layer_write(eng, actor, item.ws, l->name, l, "layer.create", NULL, after, err)
                   : sy_eng_oom(err);
    json_decref(after);
    if (rc < 0) {
        free(l);
        return rc;
    }
    eng->layers[eng->n_layers++] = item;
    return 0;
}

int sy_engine_layer_list(sy_engine_t *eng, const sy_principal_t *actor, sy_layer_t **out, size_t *n,
                         sy_err_t *err)
{
    const struct layer *mine[SY_LAYERS_MAX];
    size_t k = 0;
    for (size_t i = 0; i < eng->n_layers && k < SY_LAYERS_MAX; i++) {
        if (eng->layers[i].ws != actor->workspace)
            continue;
        size_t j = k++;
        for (; j > 0 && strcmp(mine[j - 1]->l->name, eng->layers[i].l->name) > 0; j--)
            mine[j] = mine[j - 1];
        mine[j] = &eng->layers[i];
    }
    sy_layer_t *a = malloc((k ? k : 1) * sizeof(*a));
    if (!a)
        return sy_eng_oom(err);
    for (size_t i = 0; i < k; i++)
        fill(eng, mine[i], &a[i]);
    *out = a;
    *n = k;
    return 0;
}

int sy_engine_layer_get(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                        sy_layer_t *out, sy_err_t *err)
{
    const struct layer *l = lookup(eng, actor, name, err);
    if (!l)
        return -ENOENT;
    fill(eng, l, out);
    return 0;
}

int sy_engine_layer_update(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                           const sy_layer_change_t *c, sy_layer_t *out, sy_err_t *err)
{
    struct layer *l = lookup(eng, actor, name, err);
    if (!l)
        return -ENOENT;
    int64_t h = c->has_holdout ? holdout_of(c, err) : l->l->holdout_bp;
    if (h < 0)
        return -EINVAL;
    if (c->has_description && strlen(c->description) > SY_LAYER_DESCRIPTION_MAX)
        return sy_err_set(err, -EINVAL, "description",
                          "description is a string of at most %d bytes", SY_LAYER_DESCRIPTION_MAX);
    if (h != l->l->holdout_bp) {
        const struct experiment *in[SY_LAYER_RANGES_MAX + 1];
        size_t n = held(eng, l->ws, l->l->name, NULL, in);
        for (size_t i = 0; i < n; i++) {
            if (sy_exp_is_active(in[i]->state))
                return sy_err_set(err, SY_ECONFLICT, "holdout_pct",
                                  "experiment \"%.64s\" of layer \"%s\" is %s: a new holdout "
                                  "would move its units (stop it first)",
                                  in[i]->key, l->l->name, sy_exp_state_name(in[i]->state));
            if (in[i]->layer.start_bp < h)
                return sy_err_set(err, SY_ECONFLICT, "holdout_pct",
                                  "draft \"%.64s\" holds [%.2f, %.2f) of layer \"%s\": a "
                                  "holdout of %.2f %% would cover it",
                                  in[i]->key, (double)in[i]->layer.start_bp / 100.0,
                                  (double)in[i]->layer.end_bp / 100.0, l->l->name,
                                  (double)h / 100.0);
        }
    }
    if (h == l->l->holdout_bp &&
        (!c->has_description || strcmp(c->description, l->l->description) == 0)) {
        fill(eng, l, out); /* a patch that changes nothing writes nothing */
        return 0;
    }
    sy_layer_t *next = malloc(sizeof(*next));
    if (!next)
        return sy_eng_oom(err);
    memcpy(next, l->l, offsetof(sy_layer_t, ranges));
    next->n_ranges = 0;
    next->holdout_bp = h;
    if (c->has_description)
        snprintf(next->description, sizeof(next->description), "%s", c->description);
    next->updated_ms = sy_engine_now_ms(eng);
    fill(eng, l, out);
    json_t *before = sy_layer_json(out);
    struct layer nl = {.ws = l->ws, .l = next};
    fill(eng, &nl, out);
    json_t *after = sy_layer_json(out);
    int rc = before && after ? layer_write(eng, actor, l->ws, l->l->name, next, "layer.update",
                                           before, after, err)
                             : sy_eng_oom(err);
    json_decref(before);
    json_decref(after);
    if (rc < 0) {
        free(next);
        fill(eng, l, out);
        return rc;
    }
    free(l->l);
    l->l = next;
    return 0;
}

int sy_engine_layer_delete(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                           sy_err_t *err)
{
    struct layer *l = lookup(eng, actor, name, err);
    if (!l)
        return -ENOENT;
    const struct experiment *in[SY_LAYER_RANGES_MAX + 1];
    if (held(eng, l->ws, l->l->name, NULL, in) > 0)
        /* a draft is neither stopped nor deleted: it is taken out of the layer */
        return in[0]->state == DRAFT
                   ? sy_err_set(err, SY_ECONFLICT, "name",
                                "layer \"%s\" holds draft \"%.64s\": take it out first "
                                "(PATCH the experiment with {\"layer\": null})",
                                l->l->name, in[0]->key)
                   : sy_err_set(err, SY_ECONFLICT, "name",
                                "layer \"%s\" holds experiment \"%.64s\" (%s): stop or "
                                "terminate it first",
                                l->l->name, in[0]->key, sy_exp_state_name(in[0]->state));
    sy_layer_t *map = malloc(sizeof(*map));
    if (!map)
        return sy_eng_oom(err);
    fill(eng, l, map);
    json_t *before = sy_layer_json(map);
    free(map);
    int rc =
        before ? layer_write(eng, actor, l->ws, l->l->name, NULL, "layer.delete", before, NULL, err)
               : sy_eng_oom(err);
    json_decref(before);
    if (rc < 0)
        return rc;
    free(l->l);
    *l = eng->layers[--eng->n_layers];
    return 0;
}
