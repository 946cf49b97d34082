/* test_faults.c - every engine operation that writes either completes or changes nothing.
 *
 * For each operation: a run without faults counts its store statements
 * (sy_store_fail_at) and its allocations (failalloc.h: this executable is linked with
 * malloc, calloc, realloc, strdup and strndup wrapped, and jansson's allocator set); then,
 * from the same starting state each time (a template database's copy or rows, a fresh
 * engine on it), the i-th statement or the i-th allocation fails. The operation must then
 * answer an error (never crash, never succeed with nothing done); the engine's state through its
 * read API and every row of every table must be what they were; an engine reopened on the
 * database must hold the same state; and the same operation, run again without faults,
 * must succeed. Every statement is failed; allocations are sampled (at most ALLOC_POINTS
 * per operation, the first and last ones always). The count of injection points is
 * printed per operation and in total.
 *
 * On PostgreSQL (pg_unit.sh, store_fixture.h) the templates and the work store are
 * databases. The work database is made once (CREATE DATABASE ... TEMPLATE); at each point
 * its rows are brought back to a template's in place (restore_work: every table's rows
 * deleted and the template's copied back, every sequence set, in one transaction: about
 * 50 ms on a busy 2-core machine, where a CREATE DATABASE took 0.5 to 1.5 s). "Every row of
 * every table" is read as the superuser (no row-level security), each table's rows in the
 * order of their text; sequences are not compared (a rolled-back insert keeps its nextval
 * there), but restored.
 */
#define _DEFAULT_SOURCE
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "../store/store_fixture.h"
#include "codec/api_json.h"
#include "codec/experiment_json.h"
#include "codec/layer_json.h"
#include "codec/monitor_json.h"
#include "codec/channel_json.h"
#include "codec/regression_json.h"
#include "codec/risk_json.h"
#include "codec/route_api_json.h"
#include "codec/route_json.h"
#include "engine/engine.h"
#include "failalloc.h"
#include "flags_json.h"
#include "results_adapt.h"

#define ALLOC_POINTS 32 /* allocation failures tried per operation, at most */

/* SQLite's stores are files in `dir`; PostgreSQL's (pg_unit.sh: store_fixture.h) databases,
 * the work database made once (CREATE DATABASE ... TEMPLATE), its rows brought back to a
 * template's at each point (restore_work). */
static char dir[64];
static char tmpl[2][512];          /* the template stores: base, and base with the kill switch on */
static char work[512];             /* the store an operation runs on */
static struct fx_place tmpl_pg[2]; /* PostgreSQL's template databases */
static char work_db[80];           /* and its work database */
#ifdef SY_HAVE_PQ
static PGconn *restorer; /* the superuser's, on the work database, kept (restore_work) */
#endif
static int64_t fake_ms;

static int64_t fake_now(void)
{
    return fake_ms;
}

#define T0_MS 1700000000000LL

/* ---- the state an operation starts from --------------------------------------------------- */

struct ctx {
    sy_engine_t *eng;
    sy_principal_t who;
    json_t *in; /* the operation's input, made before faults are armed */
};

static sy_engine_t *open_at(const char *db)
{
    sy_engine_opts_t o = {.db = db, .now_ms = fake_now};
    sy_engine_t *eng;
    sy_err_t err = {0};
    if (sy_engine_open(&eng, &o, &err) < 0)
        fail_msg("open %s: %s", db, err.msg);
    return eng;
}

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fail_msg("bad JSON in the test: %s: %s", je.text, text);
    return j;
}

static void must(int rc, const char *what, const sy_err_t *err)
{
    if (rc < 0)
        fail_msg("%s: %s (%s)", what, err->msg, err->field);
}

static int done_rc;       /* the submission's answer: 1 until it is given */
static sy_err_t done_err; /* and why, when it is an error */
static void on_done(void *arg, int rc, const sy_ingest_result_t *r, const sy_err_t *err)
{
    (void)arg;
    (void)r;
    done_rc = rc;
    if (err)
        done_err = *err;
}

/* KPI events `body` (read as POST /v1/kpi reads it) through their group commit: the
 * submission's answer. */
static int kpi(struct ctx *c, const json_t *body, sy_err_t *err)
{
    done_rc = 1; /* not answered */
    sy_kpi_batch_t b = {0};
    int rc = sy_kpi_batch_read(body, &b, err);
    if (rc == 0)
        rc = sy_engine_kpi_submit(c->eng, &c->who, b.ev, b.n, b.listed, on_done, NULL, err);
    sy_engine_events_commit(c->eng);
    sy_kpi_batch_free(&b); /* answered (or refused): the events are ours again */
    if (rc < 0)
        return rc;
    if (done_rc > 0)
        fail_msg("a KPI submission was not answered by the commit");
    if (done_rc < 0)
        *err = done_err;
    return done_rc;
}

static void kpi_series(struct ctx *c, const char *metric, int n, int every)
{
    json_t *events = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(events,
                              json_pack("{sssssssb}", "domain", "WHOLESALE", "metric", metric,
                                        "actor", "app", "success", i % every != every - 1));
    json_t *body = json_pack("{so}", "events", events);
    sy_err_t err = {0};
    must(kpi(c, body, &err), "kpi", &err);
    json_decref(body);
}

/* The kill switch from its JSON body, read by its schema as the API does; and its state. */
static int kill_switch_put(sy_engine_t *eng, const sy_principal_t *w, const json_t *body,
                           sy_err_t *err)
{
    sy_kill_switch_change_t ch = {0};
    sy_kill_switch_t k;
    int rc = sy_schema_read(&sy_kill_switch_change_schema, body, &ch, "", err);
    return rc < 0 ? rc : sy_engine_kill_switch_put(eng, w, &ch, &k, err);
}

static int kill_switch_json(sy_engine_t *eng, const sy_principal_t *w, json_t **out, sy_err_t *err)
{
    sy_kill_switch_t k;
    int rc = sy_engine_kill_switch_get(eng, w, &k, err);
    if (rc == 0)
        *out = sy_kill_switch_json(&k);
    return rc;
}

static int notifications_json(sy_engine_t *eng, const sy_principal_t *w,
                              const sy_store_notification_query_t *q, json_t **out, sy_err_t *err)
{
    sy_notification_counts_t counts;
    json_t *list = json_array();
    int rc = sy_engine_notifications(eng, w, q, sy_notification_json_add, list, &counts, err);
    if (rc == 0)
        *out = sy_notifications_json(list, &counts);
    else
        json_decref(list);
    return rc;
}

static int guardrails_json(sy_engine_t *eng, const sy_principal_t *w, json_t **out, sy_err_t *err)
{
    sy_guardrails_t g;
    int rc = sy_engine_guardrails_get(eng, w, &g, err);
    if (rc == 0)
        *out = sy_guardrails_json(&g);
    return rc;
}

/* The caller's layers as GET /v1/layers answers them. */
static int layers_json(sy_engine_t *eng, const sy_principal_t *w, json_t **out, sy_err_t *err)
{
    sy_layer_t *v = NULL;
    size_t n = 0;
    int rc = sy_engine_layer_list(eng, w, &v, &n, err);
    if (rc == 0)
        *out = sy_layers_json(v, n);
    free(v);
    return rc;
}

/* A layer made or changed from its JSON body, read by its schema as the API does. */
static int layer_put(sy_engine_t *eng, const sy_principal_t *w, const char *name,
                     const json_t *body, sy_err_t *err)
{
    sy_layer_change_t ch = {0};
    sy_layer_t *l = malloc(sizeof(*l));
    if (!l)
        return sy_err_set(err, -ENOMEM, "", "out of memory");
    int rc =
        sy_schema_read(name ? &sy_layer_patch_schema : &sy_layer_create_schema, body, &ch, "", err);
    if (rc == 0)
        rc = name ? sy_engine_layer_update(eng, w, name, &ch, l, err)
                  : sy_engine_layer_create(eng, w, &ch, l, err);
    free(l);
    return rc;
}

/* The caller's routes as GET /v1/routes answers them. */
static int routes_json(sy_engine_t *eng, const sy_principal_t *w, json_t **out, sy_err_t *err)
{
    sy_routes_t *rs = NULL;
    int rc = sy_engine_route_list(eng, w, &rs, err);
    if (rc == 0)
        *out = sy_routes_to_json(rs);
    sy_routes_free(rs);
    return rc;
}

/* What the monitor sees of experiment `key`, as GET .../health answers it. */
static int health_json(sy_engine_t *eng, const sy_principal_t *w, const char *key, json_t **out,
                       sy_err_t *err)
{
    sy_exp_health_t h;
    int rc = sy_engine_experiment_health(eng, w, key, NULL, &h, err);
    if (rc == 0)
        *out = sy_exp_health_json(&h);
    return rc;
}

/* A channel from its JSON body, read as the API reads it. */
static int channel_create(sy_engine_t *eng, const sy_principal_t *w, const json_t *body,
                          sy_err_t *err)
{
    sy_channel_spec_t spec;
    sy_channel_t ch;
    int rc = sy_channel_spec_read(body, &spec, err);
    return rc < 0 ? rc : sy_engine_channel_create(eng, w, &spec, &ch, err);
}

static int channels_json(sy_engine_t *eng, const sy_principal_t *w, json_t **out, sy_err_t *err)
{
    sy_channel_t *v = NULL;
    size_t n = 0;
    int rc = sy_engine_channel_list(eng, w, &v, &n, err);
    if (rc == 0)
        *out = sy_channels_json(v, n);
    free(v);
    return rc;
}

/* A regression policy change from its JSON body, read by its schema as the API does. */
static int regression_policy_put(sy_engine_t *eng, const sy_principal_t *w, const json_t *body,
                                 sy_err_t *err)
{
    sy_regression_policy_change_t ch = {0};
    sy_regression_policy_t p;
    int rc = sy_schema_read(&sy_regression_policy_change_schema, body, &ch, "", err);
    return rc < 0 ? rc : sy_engine_regression_policy_put(eng, w, &ch, &p, err);
}

static int regression_evaluate(sy_engine_t *eng, const sy_principal_t *w, const char *metric,
                               sy_err_t *err)
{
    sy_tripwire_state_t *v = NULL;
    size_t n = 0;
    int rc = sy_engine_regression_evaluate(eng, w, "WHOLESALE", metric, &v, &n, err);
    free(v);
    return rc;
}

/* The risk guard's writes from their JSON bodies, read by their schemas as the API does. */
static int risk_policy_put(sy_engine_t *eng, const sy_principal_t *w, const char *domain,
                           const json_t *body, sy_err_t *err)
{
    sy_risk_policy_change_t ch = {0};
    sy_risk_policy_t p;
    int rc = sy_schema_read(&sy_risk_policy_change_schema, body, &ch, "", err);
    return rc < 0 ? rc : sy_engine_risk_policy_put(eng, w, domain, &ch, &p, err);
}

static int risk_reserve(sy_engine_t *eng, const sy_principal_t *w, const json_t *body,
                        sy_err_t *err)
{
    sy_risk_request_t req = {0};
    sy_risk_answer_t a;
    int rc = sy_schema_read(&sy_risk_request_schema, body, &req, "", err);
    return rc < 0 ? rc : sy_engine_risk_reserve(eng, w, &req, &a, err);
}

static int risk_release(sy_engine_t *eng, const sy_principal_t *w, const json_t *body,
                        sy_err_t *err)
{
    sy_risk_release_t r = {0};
    int rc = sy_schema_read(&sy_risk_release_schema, body, &r, "", err);
    return rc < 0 ? rc : sy_engine_risk_release(eng, w, r.reservation_id, r.actor, err);
}

/* A route's definition from its JSON body, read as the API does: created (`name` NULL) or
 * replacing route `name`; the route answered into *out. */
static int route_put(struct ctx *c, const json_t *body, const char *name, sy_routes_t **out,
                     sy_err_t *err)
{
    sy_route_def_t def;
    sy_routes_t *hold = NULL;
    int rc = sy_route_def_read(body, name, &def, &hold, err);
    if (rc == 0)
        rc = name ? sy_engine_route_replace(c->eng, &c->who, name, &def, out, err)
                  : sy_engine_route_create(c->eng, &c->who, &def, out, err);
    sy_routes_free(hold);
    return rc;
}

/* A definition read as POST /v1/experiments reads it, then created. */
static int experiment_create(sy_engine_t *eng, const sy_principal_t *w, const json_t *body,
                             sy_err_t *err)
{
    sy_exp_def_t d;
    sy_experiment_t x;
    int rc = sy_exp_def_read(body, &d, err);
    if (rc < 0)
        return rc;
    rc = sy_engine_experiment_create(eng, w, &d, &x, err);
    sy_exp_def_clear(&d);
    return rc;
}

/* A merge patch applied as PATCH /v1/experiments/{key} applies it. */
static int experiment_patch(sy_engine_t *eng, const sy_principal_t *w, const char *key,
                            const json_t *patch, sy_err_t *err)
{
    sy_exp_def_t d;
    sy_experiment_t x;
    int rc = sy_engine_experiment_get(eng, w, key, &x, err);
    if (rc == 0)
        rc = sy_exp_def_patch(&x.def, patch, &d, err);
    if (rc < 0)
        return rc;
    rc = sy_engine_experiment_update(eng, w, key, &d, &x, err);
    sy_exp_def_clear(&d);
    return rc;
}

static int experiment_transition(sy_engine_t *eng, const sy_principal_t *w, const char *key,
                                 const char *state, sy_err_t *err)
{
    sy_experiment_t x;
    return sy_engine_experiment_transition(eng, w, key, state, &x, err);
}

static void call(struct ctx *c, const char *what, const char *body_text)
{
    json_t *body = parse(body_text), *out = NULL;
    sy_err_t err = {0};
    int rc;
    if (strcmp(what, "channel") == 0)
        rc = channel_create(c->eng, &c->who, body, &err);
    else if (strcmp(what, "experiment") == 0)
        rc = experiment_create(c->eng, &c->who, body, &err);
    else if (strcmp(what, "policy") == 0)
        rc = regression_policy_put(c->eng, &c->who, body, &err);
    else if (strcmp(what, "risk") == 0)
        rc = risk_policy_put(c->eng, &c->who, "WHOLESALE", body, &err);
    else if (strcmp(what, "reserve") == 0)
        rc = risk_reserve(c->eng, &c->who, body, &err);
    else if (strcmp(what, "route") == 0) {
        sy_routes_t *rs = NULL;
        rc = route_put(c, body, NULL, &rs, &err);
        sy_routes_free(rs);
    } else if (strcmp(what, "killswitch") == 0)
        rc = kill_switch_put(c->eng, &c->who, body, &err);
    else if (strcmp(what, "step") == 0)
        rc = apply_json(c->eng, &c->who, "h", body, &out, &err);
    else if (strcmp(what, "layer") == 0)
        rc = layer_put(c->eng, &c->who, NULL, body, &err);
    else
        rc = flag_put_json(c->eng, &c->who, what, body, &(bool){0}, NULL, &err);
    must(rc, what, &err);
    json_decref(out);
    json_decref(body);
}

static void start(struct ctx *c, const char *key)
{
    sy_err_t err = {0};
    must(experiment_transition(c->eng, &c->who, key, "running", &err), "start", &err);
}

static void exposures(struct ctx *c, const char *exp, int n)
{
    sy_event_t ev[64];
    char units[64][16];
    for (int i = 0; i < n && i < 64; i++) {
        snprintf(units[i], sizeof(units[i]), "u%d", i);
        const char *v = i % 2 ? "a" : "b";
        ev[i] = (sy_event_t){.kind = SY_EVENT_EXPOSURE,
                             .experiment = exp,
                             .experiment_len = strlen(exp),
                             .unit = units[i],
                             .unit_len = strlen(units[i]),
                             .variant = v,
                             .variant_len = 1,
                             .success = -1};
    }
    sy_err_t err = {0};
    done_rc = 1;
    must(sy_engine_events_submit(c->eng, &c->who, ev, (size_t)n, on_done, NULL, &err), "events",
         &err);
    sy_engine_events_commit(c->eng);
    if (done_rc != 0)
        fail_msg("events not committed");
}

#define SPLIT(k)                                                                                   \
    "{\"key\":\"" k "\",\"variants\":[{\"key\":\"a\",\"weight\":60},"                              \
    "{\"key\":\"b\",\"weight\":40,\"control\":true}]}"

/* The base template: a bit of everything an operation may touch. */
static void build_template(int killed)
{
    snprintf(work, sizeof(work), "%s", tmpl[killed]);
    fake_ms = T0_MS;
    struct ctx c = {.eng = open_at(tmpl[killed])};
    int64_t ws, id;
    char secret[SY_TOKEN_MAX];
    sy_err_t err = {0};
    must(sy_engine_workspace_create(c.eng, "w", &ws, &err), "workspace", &err);
    must(sy_engine_token_create(c.eng, NULL, ws, "root", SY_ROLE_ADMIN, secret, sizeof(secret), &id,
                                &err),
         "token", &err);
    must(sy_engine_authenticate(c.eng, secret, strlen(secret), &c.who), "auth", &err);
    must(sy_engine_token_create(c.eng, &c.who, 0, "second", SY_ROLE_EDITOR, secret, sizeof(secret),
                                &id, &err),
         "token", &err);
    call(&c, "channel",
         "{\"type\":\"webhook\",\"url\":\"http://127.0.0.1:9/\",\"secret\":\"0123456789abcdef\"}");
    call(&c, "plain",
         "{\"state\":\"ENABLED\",\"variants\":{\"on\":true,\"off\":false},"
         "\"defaultVariant\":\"off\"}");
    call(&c, "experiment", SPLIT("e"));
    start(&c, "e");
    exposures(&c, "e", 20);
    call(&c, "experiment", SPLIT("d"));
    call(&c, "experiment",
         "{\"key\":\"h\",\"health\":{\"min_events\":100},\"variants\":[{\"key\":\"a\",\"weight\":"
         "60},"
         "{\"key\":\"b\",\"weight\":40,\"control\":true}]}");
    start(&c, "h");
    call(&c, "step", "{\"winning_variant\":\"a\",\"confidence\":0.97,\"delta\":5.2}");
    call(&c, "layer", "{\"name\":\"L\",\"holdout_pct\":5}");
    call(&c, "layer", "{\"name\":\"spare\"}");
    call(&c, "experiment",
         "{\"key\":\"ly\",\"layer\":{\"name\":\"L\",\"pct\":40},\"variants\":[{\"key\":"
         "\"a\",\"weight\":1},{\"key\":\"b\",\"weight\":1,\"control\":true}]}");
    call(&c, "policy",
         "{\"domain\":\"WHOLESALE\",\"metric\":\"contract_rate\",\"enabled\":true,"
         "\"reason\":\"watch\"}");
    call(&c, "policy",
         "{\"domain\":\"WHOLESALE\",\"metric\":\"refund_rate\",\"enabled\":true,"
         "\"action\":\"KILL_SWITCH\",\"reason\":\"watch\"}");
    kpi_series(&c, "contract_rate", 200, 20); /* 95 % */
    kpi_series(&c, "contract_rate", 50, 2);   /* 50 %: past the 20 % threshold */
    kpi_series(&c, "refund_rate", 200, 20);
    kpi_series(&c, "refund_rate", 50, 2);
    call(&c, "risk", "{\"reason\":\"limits\",\"max_per_day\":1000}");
    call(&c, "reserve", "{\"domain\":\"WHOLESALE\",\"amount\":10,\"actor\":\"app\"}");
    call(&c, "route",
         "{\"name\":\"r1\",\"listen\":\"127.0.0.1:8101\",\"upstreams\":{\"legacy\":"
         "\"127.0.0.1:9001\",\"new\":\"127.0.0.1:9002\"},\"percentage\":10}");
    if (killed)
        call(&c, "killswitch", "{\"engaged\":true,\"reason\":\"incident\"}");
    sy_engine_close(c.eng);
}

/* ---- what an operation must leave as it was ------------------------------------------------ */

/* o[k] = *v (taken; *v is NULL again), or the error of the read that should have made it.
 * *v is read here, after the call that fills it (an argument would be read in any order). */
static void add(json_t *o, const char *k, int rc, json_t **v, const sy_err_t *err)
{
    json_object_set_new(o, k, rc == 0 && *v ? *v : json_sprintf("(error %d: %s)", rc, err->msg));
    if (rc != 0)
        json_decref(*v);
    *v = NULL;
}

/* The typed reads as JSON, through the codec the API answers with. */
static int tokens_json(sy_engine_t *eng, const sy_principal_t *w, json_t **out, sy_err_t *err)
{
    *out = json_array();
    return sy_engine_token_list(eng, w, sy_token_json_add, *out, err);
}

static int audit_json(sy_engine_t *eng, const sy_principal_t *w, sy_store_audit_query_t *q,
                      json_t **out, sy_err_t *err)
{
    *out = json_array();
    return sy_engine_audit_list(eng, w, q, sy_audit_json_add, *out, err);
}

static int experiments_json(sy_engine_t *eng, const sy_principal_t *w, json_t **out, sy_err_t *err)
{
    sy_experiment_t *v = NULL;
    size_t n = 0;
    int rc = sy_engine_experiment_list(eng, w, &v, &n, err);
    if (rc == 0)
        *out = sy_experiments_json(v, n);
    free(v);
    return rc;
}

static int regression_policies_json(sy_engine_t *eng, const sy_principal_t *w, json_t **out,
                                    sy_err_t *err)
{
    sy_regression_policy_t *v = NULL;
    size_t n = 0;
    int rc = sy_engine_regression_policies(eng, w, &v, &n, err);
    if (rc == 0)
        *out = sy_regression_policies_json(v, n);
    free(v);
    return rc;
}

static int tripwires_json(sy_engine_t *eng, const sy_principal_t *w, json_t **out, sy_err_t *err)
{
    sy_tripwire_state_t *v = NULL;
    size_t n = 0;
    int rc = sy_engine_regression_state(eng, w, &v, &n, err);
    if (rc == 0)
        *out = sy_tripwire_states_json("tripwires", v, n, false);
    free(v);
    return rc;
}

static int risk_policies_json(sy_engine_t *eng, const sy_principal_t *w, json_t **out,
                              sy_err_t *err)
{
    sy_risk_policy_t *v = NULL;
    size_t n = 0;
    int rc = sy_engine_risk_policies(eng, w, &v, &n, err);
    if (rc == 0)
        *out = sy_risk_policies_json(v, n);
    free(v);
    return rc;
}

static int risk_ledger_json(sy_engine_t *eng, const sy_principal_t *w, const char *day,
                            json_t **out, sy_err_t *err)
{
    sy_risk_entry_t *v = NULL;
    size_t n = 0;
    char read[11];
    int rc = sy_engine_risk_ledger(eng, w, day, read, &v, &n, err);
    if (rc == 0)
        *out = sy_risk_ledger_json(read, v, n);
    free(v);
    return rc;
}

/* The engine's state as its read API tells it, as JSON text (owned). */
static char *dump_engine(struct ctx *c)
{
    sy_engine_t *eng = c->eng;
    const sy_principal_t *w = &c->who;
    json_t *o = json_object(), *v = NULL;
    sy_err_t err = {0};
    json_object_set_new(o, "document", flagset_get_json(eng, w));
    json_object_set_new(o, "flags", flag_list_json(eng, w));
    const sy_snapshot_t *s = sy_engine_snapshot(eng, w->workspace);
    json_t *served = json_object();
    for (size_t i = 0; s && i < sy_flagset_count(s->set); i++) {
        size_t klen, slen;
        const char *key = sy_flagset_key(s->set, i, &klen);
        const char *src = sy_flag_source(sy_flagset_at(s->set, i), &slen);
        json_object_set_new(served, key,
                            src ? json_stringn(src, slen) : json_string("(compiled at control)"));
    }
    json_object_set_new(o, "served", served);
    json_object_set_new(o, "revision", json_integer(s ? s->revision : -1));
    sy_snapshot_release(s);
    add(o, "tokens", tokens_json(eng, w, &v, &err), &v, &err);
    json_t *exps = NULL;
    add(o, "experiments", experiments_json(eng, w, &exps, &err), &exps, &err);
    exps = json_object_get(o, "experiments");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(exps, "experiments"), i, e)
    {
        const char *key = json_string_value(json_object_get(e, "key"));
        char name[128];
        snprintf(name, sizeof(name), "allocation:%s", key);
        add(o, name, allocation_json(eng, w, key, &v, &err), &v, &err);
        snprintf(name, sizeof(name), "results:%s", key);
        add(o, name, results_json(eng, w, key, &v, &err), &v, &err);
        snprintf(name, sizeof(name), "health:%s", key);
        add(o, name, health_json(eng, w, key, &v, &err), &v, &err);
    }
    add(o, "guardrails", guardrails_json(eng, w, &v, &err), &v, &err);
    add(o, "layers", layers_json(eng, w, &v, &err), &v, &err);
    add(o, "policies", regression_policies_json(eng, w, &v, &err), &v, &err);
    add(o, "tripwires", tripwires_json(eng, w, &v, &err), &v, &err);
    add(o, "risk", risk_policies_json(eng, w, &v, &err), &v, &err);
    add(o, "ledger", risk_ledger_json(eng, w, "2023-11-14", &v, &err), &v, &err);
    add(o, "kill_switch", kill_switch_json(eng, w, &v, &err), &v, &err);
    add(o, "channels", channels_json(eng, w, &v, &err), &v, &err);
    add(o, "routes", routes_json(eng, w, &v, &err), &v, &err);
    json_object_set_new(o, "breaker", json_string(sy_engine_route_breaker_state(eng, w, "r1")));
    json_object_set_new(o, "listen_errnum",
                        json_integer(sy_engine_route_listen_errnum(eng, "127.0.0.1:8101")));
    sy_store_notification_query_t nq = {.limit = 1000};
    add(o, "notifications", notifications_json(eng, w, &nq, &v, &err), &v, &err);
    sy_store_audit_query_t aq = {.limit = 1000};
    add(o, "audit", audit_json(eng, w, &aq, &v, &err), &v, &err);
    sy_routes_t *rs = sy_engine_routes_all(eng);
    json_object_set_new(o, "routes_all", json_integer(rs ? (json_int_t)rs->n : -1));
    json_t *r = json_array();
    for (size_t k = 0; rs && k < rs->n; k++)
        json_array_append_new(r, json_pack("{sIsbsb}", "percentage_bp",
                                           (json_int_t)rs->r[k].percentage_bp, "enabled",
                                           rs->r[k].enabled, "killed", rs->r[k].killed));
    json_object_set_new(o, "routes_served", r);
    sy_routes_free(rs);
    char *text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(o);
    return text;
}

static void dump_value(char **buf, size_t *len, size_t *cap, sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);
    size_t need = *len + (size_t)n + 8;
    if (need > *cap) {
        *cap = need * 2;
        *buf = realloc(*buf, *cap);
    }
    if (t)
        memcpy(*buf + *len, t, (size_t)n);
    else
        memcpy(*buf + *len, "NULL", (size_t)(n = 4));
    *len += (size_t)n;
    (*buf)[(*len)++] = '|';
    (*buf)[*len] = 0;
}

#ifdef SY_HAVE_PQ
static void dump_text(char **buf, size_t *len, size_t *cap, const char *t)
{
    size_t n = strlen(t), need = *len + n + 8;
    if (need > *cap) {
        *cap = need * 2;
        *buf = realloc(*buf, *cap);
    }
    memcpy(*buf + *len, t, n);
    *len += n;
    (*buf)[(*len)++] = '|';
    (*buf)[*len] = 0;
}

/* PostgreSQL's: every row of every table of the store's database, read as the superuser (no
 * row-level security), each row as its text, in the order of that text. The work database's
 * on the restorer's connection (a connection less to make and end at each point). */
static char *dump_disk_pg(const char *uri)
{
    PGconn *c = restorer && strcmp(fx_pg_db_of(uri), work_db) == 0
                    ? restorer
                    : fx_pg_connect(fx_pg_db_of(uri));
    PGresult *tables = PQexec(c, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                                 " ORDER BY tablename");
    if (PQresultStatus(tables) != PGRES_TUPLES_OK)
        fail_msg("cannot list the tables: %s", PQerrorMessage(c));
    size_t len = 0, cap = 4096;
    char *buf = calloc(1, cap);
    for (int t = 0; t < PQntuples(tables); t++) {
        char sql[200];
        const char *name = PQgetvalue(tables, t, 0);
        snprintf(sql, sizeof(sql), "SELECT r::text FROM \"%s\" r ORDER BY 1", name);
        PGresult *rows = PQexec(c, sql);
        if (PQresultStatus(rows) != PGRES_TUPLES_OK)
            fail_msg("cannot read table %s: %s", name, PQerrorMessage(c));
        for (int i = 0; i < PQntuples(rows); i++) {
            dump_text(&buf, &len, &cap, name);
            dump_text(&buf, &len, &cap, PQgetvalue(rows, i, 0));
        }
        PQclear(rows);
    }
    PQclear(tables);
    if (c != restorer)
        PQfinish(c);
    return buf;
}
#endif

/* Every row of every table of database `db`, as text (owned). */
static char *dump_disk(const char *db)
{
#ifdef SY_HAVE_PQ
    if (fx_is_pg())
        return dump_disk_pg(db);
#endif
    sqlite3 *h;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        fail_msg("cannot read %s", db);
    sqlite3_stmt *tables;
    sqlite3_prepare_v2(h, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", -1,
                       &tables, NULL);
    size_t len = 0, cap = 4096;
    char *buf = calloc(1, cap);
    while (sqlite3_step(tables) == SQLITE_ROW) {
        char sql[160];
        const char *name = (const char *)sqlite3_column_text(tables, 0);
        snprintf(sql, sizeof(sql), "SELECT '%s', * FROM \"%s\" ORDER BY rowid", name, name);
        sqlite3_stmt *rows;
        if (sqlite3_prepare_v2(h, sql, -1, &rows, NULL) != SQLITE_OK)
            fail_msg("cannot read table %s: %s", name, sqlite3_errmsg(h));
        while (sqlite3_step(rows) == SQLITE_ROW) {
            for (int i = 0; i < sqlite3_column_count(rows); i++)
                dump_value(&buf, &len, &cap, rows, i);
            dump_value(&buf, &len, &cap, rows, 0); /* a row's end */
        }
        sqlite3_finalize(rows);
    }
    sqlite3_finalize(tables);
    sqlite3_close(h);
    return buf;
}

/* A finding: said, and the operation's other points skipped (the next one runs). */
static jmp_buf op_jmp;
static struct ctx *live; /* the engine a finding leaves open: closed before the next */
static int findings;
#define bad(...)                                                                                   \
    do {                                                                                           \
        printf("# FAIL: ");                                                                        \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        findings++;                                                                                \
        longjmp(op_jmp, 1);                                                                        \
    } while (0)

static void same(const char *what, const char *op, int64_t at, const char *kind, const char *want,
                 const char *got)
{
    if (strcmp(want, got) == 0)
        return;
    size_t i = 0;
    while (want[i] && want[i] == got[i])
        i++;
    size_t from = i > 120 ? i - 120 : 0;
    bad("%s, %s failure %lld: %s changed at byte %zu:\n#   was: %.300s\n#   now: %.300s", op, kind,
        (long long)at, what, i, want + from, got + from);
}

/* ---- the operations ---------------------------------------------------------------------- */

struct op {
    const char *name;
    int killed; /* starts from the template with the kill switch engaged */
    const char *input;
    int (*run)(struct ctx *c, sy_err_t *err);
};

/* An answer owed and not given: a success that cannot be told. */
#define NO_ANSWER (-100000)
#define OUT_RC(expr)                                                                               \
    do {                                                                                           \
        json_t *out = NULL;                                                                        \
        int rc_ = (expr);                                                                          \
        json_decref(out);                                                                          \
        return rc_ == 0 && !out ? NO_ANSWER : rc_;                                                 \
    } while (0)

static int op_flag_create(struct ctx *c, sy_err_t *err)
{
    bool created;
    return flag_put_json(c->eng, &c->who, "newflag", c->in, &created, NULL, err);
}
static int op_flag_update(struct ctx *c, sy_err_t *err)
{
    bool created;
    return flag_put_json(c->eng, &c->who, "plain", c->in, &created, NULL, err);
}
static int op_flag_delete(struct ctx *c, sy_err_t *err)
{
    return sy_engine_flag_delete(c->eng, &c->who, "plain", err);
}
static int op_flagset_put(struct ctx *c, sy_err_t *err)
{
    return flagset_put_json(c->eng, &c->who, c->in, NULL, err);
}
static int op_token_create(struct ctx *c, sy_err_t *err)
{
    char secret[SY_TOKEN_MAX];
    int64_t id;
    return sy_engine_token_create(c->eng, &c->who, 0, "third", SY_ROLE_VIEWER, secret,
                                  sizeof(secret), &id, err);
}
static int op_token_revoke(struct ctx *c, sy_err_t *err)
{
    return sy_engine_token_revoke(c->eng, &c->who, 2, err);
}
static int op_workspace_create(struct ctx *c, sy_err_t *err)
{
    int64_t id;
    return sy_engine_workspace_create(c->eng, "w2", &id, err);
}
static int op_experiment_create(struct ctx *c, sy_err_t *err)
{
    return experiment_create(c->eng, &c->who, c->in, err);
}
static int op_experiment_update(struct ctx *c, sy_err_t *err)
{
    return experiment_patch(c->eng, &c->who, "e", c->in, err);
}
static int op_experiment_start(struct ctx *c, sy_err_t *err)
{
    return experiment_transition(c->eng, &c->who, "d", "running", err);
}
static int op_experiment_stop(struct ctx *c, sy_err_t *err)
{
    return experiment_transition(c->eng, &c->who, "e", "stopped", err);
}
static int op_experiment_terminate(struct ctx *c, sy_err_t *err)
{
    return experiment_transition(c->eng, &c->who, "e", "terminated", err);
}
/* The allocation's changes from their JSON bodies, read by their schemas as the API does. */
static int op_allocation_apply(struct ctx *c, sy_err_t *err)
{
    sy_step_request_t req = {0};
    sy_step_answer_t a;
    int rc = sy_schema_read(&sy_step_request_schema, c->in, &req, "", err);
    return rc < 0 ? rc : sy_engine_allocation_apply(c->eng, &c->who, "e", &req, &a, err);
}
static int op_promote(struct ctx *c, sy_err_t *err)
{
    sy_promote_body_t b = {0};
    char *metadata = NULL;
    int rc = sy_schema_read(&sy_promote_body_schema, c->in, &b, "", err);
    if (rc == 0)
        rc = sy_promote_body_finish(&b, &metadata, err);
    if (rc == 0)
        rc = sy_engine_experiment_promote(c->eng, &c->who, "e", &b.req, err);
    free(metadata);
    return rc;
}
static int op_rollback(struct ctx *c, sy_err_t *err)
{
    sy_rollback_request_t req = {0};
    int rc = sy_schema_read(&sy_rollback_request_schema, c->in, &req, "", err);
    return rc < 0 ? rc : sy_engine_experiment_rollback(c->eng, &c->who, "h", &req, err);
}
static int op_guardrails_put(struct ctx *c, sy_err_t *err)
{
    sy_guardrails_change_t ch = {0};
    sy_guardrails_t g;
    int rc = sy_schema_read(&sy_guardrails_change_schema, c->in, &ch, "", err);
    return rc < 0 ? rc : sy_engine_guardrails_put(c->eng, &c->who, &ch, &g, err);
}
static int op_layer_create(struct ctx *c, sy_err_t *err)
{
    return layer_put(c->eng, &c->who, NULL, c->in, err);
}
static int op_layer_update(struct ctx *c, sy_err_t *err)
{
    return layer_put(c->eng, &c->who, "L", c->in, err);
}
static int op_layer_delete(struct ctx *c, sy_err_t *err)
{
    return sy_engine_layer_delete(c->eng, &c->who, "spare", err);
}
static int op_layer_experiment_start(struct ctx *c, sy_err_t *err)
{
    return experiment_transition(c->eng, &c->who, "ly", "running", err);
}
static int op_health_push(struct ctx *c, sy_err_t *err)
{
    sy_health_push_t push = {0};
    sy_exp_health_t h;
    int rc = sy_schema_read(&sy_health_push_schema, c->in, &push, "", err);
    return rc < 0 ? rc : sy_engine_experiment_health(c->eng, &c->who, "h", &push, &h, err);
}
static int op_regression_policy_put(struct ctx *c, sy_err_t *err)
{
    return regression_policy_put(c->eng, &c->who, c->in, err);
}
static int op_regression_throttle(struct ctx *c, sy_err_t *err)
{
    return regression_evaluate(c->eng, &c->who, "contract_rate", err);
}
static int op_regression_kill(struct ctx *c, sy_err_t *err)
{
    return regression_evaluate(c->eng, &c->who, "refund_rate", err);
}
static int op_risk_policy_put(struct ctx *c, sy_err_t *err)
{
    return risk_policy_put(c->eng, &c->who, "RETAIL", c->in, err);
}
static int op_risk_reserve(struct ctx *c, sy_err_t *err)
{
    return risk_reserve(c->eng, &c->who, c->in, err);
}
static int op_risk_release(struct ctx *c, sy_err_t *err)
{
    return risk_release(c->eng, &c->who, c->in, err);
}
static int op_kill_switch_put(struct ctx *c, sy_err_t *err)
{
    return kill_switch_put(c->eng, &c->who, c->in, err);
}
static int op_channel_create(struct ctx *c, sy_err_t *err)
{
    return channel_create(c->eng, &c->who, c->in, err);
}
static int op_channel_delete(struct ctx *c, sy_err_t *err)
{
    return sy_engine_channel_delete(c->eng, &c->who, 1, err);
}
static int op_channel_test(struct ctx *c, sy_err_t *err)
{
    int64_t delivery = 0;
    int rc = sy_engine_channel_test(c->eng, &c->who, 1, &delivery, err);
    return rc == 0 && delivery <= 0 ? NO_ANSWER : rc;
}
/* A route's write with a typed answer: the answer owed when it succeeds. */
#define ROUTE_RC(expr)                                                                             \
    do {                                                                                           \
        sy_routes_t *rs = NULL;                                                                    \
        int rc_ = (expr);                                                                          \
        bool told = rs && rs->n == 1;                                                              \
        sy_routes_free(rs);                                                                        \
        return rc_ == 0 && !told ? NO_ANSWER : rc_;                                                \
    } while (0)
static int op_route_create(struct ctx *c, sy_err_t *err)
{
    ROUTE_RC(route_put(c, c->in, NULL, &rs, err));
}
static int op_route_replace(struct ctx *c, sy_err_t *err)
{
    ROUTE_RC(route_put(c, c->in, "r1", &rs, err));
}
static int op_route_percentage(struct ctx *c, sy_err_t *err)
{
    sy_route_percentage_change_t ch = {0};
    int rc = sy_schema_read(&sy_route_percentage_change_schema, c->in, &ch, "", err);
    if (rc < 0)
        return rc;
    ROUTE_RC(sy_engine_route_percentage(c->eng, &c->who, "r1", &ch, &rs, err));
}
static int op_route_enabled(struct ctx *c, sy_err_t *err)
{
    sy_route_enabled_change_t ch = {0};
    int rc = sy_schema_read(&sy_route_enabled_change_schema, c->in, &ch, "", err);
    if (rc < 0)
        return rc;
    ROUTE_RC(sy_engine_route_enabled(c->eng, &c->who, "r1", &ch, &rs, err));
}
static int op_route_delete(struct ctx *c, sy_err_t *err)
{
    return sy_engine_route_delete(c->eng, &c->who, "r1", err);
}
static int op_route_report(struct ctx *c, sy_err_t *err)
{
    sy_route_report_t report;
    sy_route_report_rows_t rows;
    sy_route_report_answer_t a = {0};
    int rc = sy_route_report_read(c->in, &report, &rows, err);
    if (rc < 0)
        return rc;
    rc = sy_engine_route_report(c->eng, &c->who, "r1", &report, &a, err);
    sy_route_report_rows_free(&rows);
    return rc == 0 && strcmp(a.breaker, "open") != 0 ? NO_ANSWER : rc;
}
static int op_route_breaker(struct ctx *c, sy_err_t *err)
{
    return sy_engine_route_breaker(c->eng, c->who.workspace, "r1", "open", fake_ms, err);
}
static int op_route_listen_errors(struct ctx *c, sy_err_t *err)
{
    sy_route_listen_error_t e = {.listen = "127.0.0.1:8101", .errnum = EADDRINUSE};
    return sy_engine_routes_listen_errors(c->eng, &e, 1, err);
}
static int op_kpi(struct ctx *c, sy_err_t *err)
{
    return kpi(c, c->in, err);
}
static int op_events(struct ctx *c, sy_err_t *err)
{
    static const sy_event_t ev[] = {
        {.kind = SY_EVENT_EXPOSURE,
         .experiment = "e",
         .experiment_len = 1,
         .unit = "n1",
         .unit_len = 2,
         .variant = "a",
         .variant_len = 1,
         .success = -1},
        {.kind = SY_EVENT_OUTCOME,
         .experiment = "e",
         .experiment_len = 1,
         .unit = "u1",
         .unit_len = 2,
         .success = 1,
         .has_value = true,
         .value = 12.5},
        {.kind = SY_EVENT_ERROR,
         .experiment = "e",
         .experiment_len = 1,
         .unit = "u2",
         .unit_len = 2,
         .success = -1,
         .has_latency = true,
         .latency_ms = 40},
    };
    done_rc = 1;
    int rc = sy_engine_events_submit(c->eng, &c->who, ev, 3, on_done, NULL, err);
    sy_engine_events_commit(c->eng);
    if (rc < 0)
        return rc;
    if (done_rc > 0)
        fail_msg("a submission was not answered by the commit");
    if (done_rc < 0)
        *err = done_err;
    return done_rc;
}

/* Retention an hour after the template: its events and audit events are older than the
 * limits (its KPI events too, but its tripwires read every one of them: none goes). */
static int op_retention(struct ctx *c, sy_err_t *err)
{
    sy_retention_opts_t o = {.events_ms = 60000, .audit_ms = 1800000};
    sy_retention_report_t r;
    int rc = sy_engine_retention(c->eng, &o, &r, err);
    if (rc == 0 && (r.checkpointed == 0 || r.events == 0 || r.kpi_events != 0 || r.audit == 0))
        fail_msg("retention: %lld checkpointed, %lld events, %lld KPI events, %lld audit",
                 (long long)r.checkpointed, (long long)r.events, (long long)r.kpi_events,
                 (long long)r.audit);
    return rc;
}

static const char ROUTE2[] = "{\"name\":\"r2\",\"listen\":\"127.0.0.1:8102\",\"upstreams\":{"
                             "\"legacy\":\"127.0.0.1:9001\",\"new\":\"127.0.0.1:9002\"},"
                             "\"percentage\":5,\"domains\":[{\"name\":\"d\",\"rules\":[{"
                             "\"path_prefix\":\"/d\"}]}]}";

static const struct op ops[] = {
    {"flag put (create)", 0,
     "{\"state\":\"ENABLED\",\"variants\":{\"x\":\"1\",\"y\":\"2\"},\"defaultVariant\":\"x\","
     "\"targeting\":{\"if\":[{\"==\":[{\"var\":\"tier\"},\"gold\"]},\"y\",\"x\"]}}",
     op_flag_create},
    {"flag put (update)", 0,
     "{\"state\":\"ENABLED\",\"variants\":{\"on\":true,\"off\":false},\"defaultVariant\":\"on\"}",
     op_flag_update},
    {"flag put (kill switch on)", 1,
     "{\"state\":\"ENABLED\",\"variants\":{\"on\":true,\"off\":false},\"defaultVariant\":\"on\"}",
     op_flag_update},
    {"flag delete", 0, NULL, op_flag_delete},
    {"flag delete (kill switch on)", 1, NULL, op_flag_delete},
    {"flagset put", 0, "(document)", op_flagset_put},
    {"flagset put (kill switch on)", 1, "(document)", op_flagset_put},
    {"workspace create", 0, NULL, op_workspace_create},
    {"token create", 0, NULL, op_token_create},
    {"token revoke", 0, NULL, op_token_revoke},
    {"experiment create", 0,
     "{\"key\":\"n\",\"flag\":\"nf\",\"variants\":[{\"key\":\"a\",\"weight\":50},"
     "{\"key\":\"b\",\"weight\":50,\"control\":true}]}",
     op_experiment_create},
    {"experiment update", 0,
     "{\"safety\":{\"min_confidence\":0.9},\"allocation\":{\"cooldown_hours\":1},"
     "\"description\":\"relaxed\"}",
     op_experiment_update},
    {"experiment start", 0, NULL, op_experiment_start},
    {"experiment start (kill switch on)", 1, NULL, op_experiment_start},
    {"experiment stop", 0, NULL, op_experiment_stop},
    {"experiment stop (kill switch on)", 1, NULL, op_experiment_stop},
    {"experiment terminate", 0, NULL, op_experiment_terminate},
    {"allocation apply", 0, "{\"winning_variant\":\"a\",\"confidence\":0.97,\"delta\":5.2}",
     op_allocation_apply},
    {"allocation apply (kill switch on)", 1,
     "{\"winning_variant\":\"a\",\"confidence\":0.97,\"delta\":5.2}", op_allocation_apply},
    {"promote", 0, "{\"variant\":\"a\",\"metadata\":{\"ticket\":\"CH-12\"}}", op_promote},
    {"rollback", 0, "{\"reason\":\"drill\"}", op_rollback},
    {"guardrails put", 0, "{\"min_confidence\":0.9,\"max_changes_per_day\":3}", op_guardrails_put},
    {"health push", 0, "{\"success_rate\":0.9,\"error_rate\":0.05}", op_health_push},
    {"layer create", 0, "{\"name\":\"new\",\"holdout_pct\":2.5,\"description\":\"d\"}",
     op_layer_create},
    {"layer update", 0, "{\"holdout_pct\":1,\"description\":\"e\"}", op_layer_update},
    {"layer delete", 0, NULL, op_layer_delete},
    {"experiment create (in a layer)", 0,
     "{\"key\":\"ly2\",\"layer\":{\"name\":\"L\",\"pct\":20},\"variants\":[{\"key\":"
     "\"a\",\"weight\":1},{\"key\":\"b\",\"weight\":1,\"control\":true}]}",
     op_experiment_create},
    {"experiment start (in a layer with a holdout)", 0, NULL, op_layer_experiment_start},
    {"regression policy put", 0,
     "{\"domain\":\"WHOLESALE\",\"metric\":\"contract_rate\",\"max_drop_fraction\":0.3,"
     "\"reason\":\"tune\"}",
     op_regression_policy_put},
    {"regression evaluate (THROTTLE)", 0, NULL, op_regression_throttle},
    {"regression evaluate (KILL_SWITCH)", 0, NULL, op_regression_kill},
    {"risk policy put", 0, "{\"reason\":\"new\",\"max_per_action\":50}", op_risk_policy_put},
    {"risk reserve", 0, "{\"domain\":\"WHOLESALE\",\"amount\":25,\"actor\":\"app\"}",
     op_risk_reserve},
    {"risk release", 0, "{\"reservation_id\":1}", op_risk_release},
    {"kill switch engage", 0, "{\"engaged\":true,\"reason\":\"incident\"}", op_kill_switch_put},
    {"kill switch disengage", 1, "{\"engaged\":false,\"reason\":\"resolved\"}", op_kill_switch_put},
    {"channel create", 0, "{\"type\":\"slack\",\"url\":\"https://h.test/x\"}", op_channel_create},
    {"channel test", 0, NULL, op_channel_test},
    {"channel delete", 0, NULL, op_channel_delete},
    {"route create", 0, ROUTE2, op_route_create},
    {"route replace", 0,
     "{\"name\":\"r1\",\"listen\":\"127.0.0.1:8101\",\"upstreams\":{\"legacy\":"
     "\"127.0.0.1:9003\",\"new\":\"127.0.0.1:9002\"}}",
     op_route_replace},
    {"route percentage", 0, "{\"percentage\":25,\"reason\":\"step\"}", op_route_percentage},
    {"route enabled", 0, "{\"enabled\":false,\"reason\":\"incident\"}", op_route_enabled},
    {"route delete", 0, NULL, op_route_delete},
    {"route report", 0,
     "{\"breaker\":\"open\",\"counters\":[{\"domain\":\"\",\"upstream\":\"new\","
     "\"requests\":10,\"errors\":1,\"total_ms\":100}]}",
     op_route_report},
    {"route breaker", 0, NULL, op_route_breaker},
    {"route listen errors", 0, NULL, op_route_listen_errors},
    {"events submit + commit", 0, NULL, op_events},
    {"retention", 0, NULL, op_retention},
    {"KPI submit + commit", 0,
     "{\"events\":[{\"domain\":\"WHOLESALE\",\"metric\":\"contract_rate\",\"actor\":\"app\","
     "\"success\":true,\"id\":\"k1\"},{\"domain\":\"RETAIL\",\"metric\":\"m\",\"actor\":\"app\","
     "\"value\":3.5}]}",
     op_kpi},
};
#define N_OPS (sizeof(ops) / sizeof(ops[0]))

/* ---- the loop ----------------------------------------------------------------------------- */

static void copy_file(const char *from, const char *to)
{
    char side[600];
    snprintf(side, sizeof(side), "%s-wal", to);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", to);
    unlink(side);
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    if (!in || !out)
        fail_msg("cannot copy %s", from);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            fail_msg("cannot copy %s", from);
    fclose(in);
    if (fclose(out) != 0)
        fail_msg("cannot copy %s", from);
}

#ifdef SY_HAVE_PQ
/* ---- PostgreSQL: the work database restored in place ---------------------------------------
 * A CREATE DATABASE ... TEMPLATE a point took 0.5 to 1.5 s. The work database is made once
 * instead, and each point brings its rows back to template k's, in one transaction on one
 * kept superuser connection (`restorer`): every row of every table deleted, the template's
 * rows copied back in (COPY, binary: byte for byte; captured once at setup), every sequence
 * set to the template's value and is_called. DELETE, not TRUNCATE: TRUNCATE gives each
 * table, its TOAST table and its indexes new files, 200 ms a point on a busy 2-core machine
 * where DELETE of a template's few hundred rows took 16; and autovacuum, which clears the
 * dead rows, takes no lock DELETE or COPY waits for (TRUNCATE waits up to a second). What
 * rows a query sees is the same; where they lie is not (a scan without ORDER BY could meet
 * them in another order: nothing the store reads relies on that, and a point compares its
 * states with each other, never with another point's).
 *
 * What else a database holds is checked, not assumed: the templates keep data only in the
 * tables and sequences of `public` (dump_disk's tables, exactly: the same list), no large
 * object; the work database's relations are the templates' at every point (no table,
 * index or sequence made or dropped by an operation); and no other session is left on it
 * (advisory locks, LISTEN and prepared statements are a session's: the engine of the
 * previous point must be closed and its connections gone, as the DROP ... WITH (FORCE) made
 * sure). */

/* The tables dump_disk_pg reads, as identifiers. */
#define PG_TABLES                                                                                  \
    "SELECT format('%I', tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"

/* The database's relations (tables, indexes, sequences, views...) outside the system's, and
 * its large objects: what the restore leaves as it is, so it must never change. */
#define PG_SHAPE                                                                                   \
    "SELECT coalesce((SELECT string_agg(format('%s.%s:%s', n.nspname, c.relname, c.relkind), ' '"  \
    "                                   ORDER BY n.nspname, c.relname)"                            \
    "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"                              \
    "  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"                                \
    "    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'), '')"        \
    " || ' large objects: ' || (SELECT count(*) FROM pg_largeobject_metadata)"

/* What holds data and is not restored: a relation with rows or a value that is not a table
 * or sequence of `public` (a materialized view, a foreign table, another schema's table),
 * and large objects. Must be none. */
#define PG_UNCOVERED                                                                               \
    "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"        \
    "  WHERE c.relkind IN ('r', 'p', 'S', 'm', 'f')"                                               \
    "    AND n.nspname NOT IN ('pg_catalog', 'information_schema')"                                \
    "    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'"              \
    "    AND NOT (n.nspname = 'public' AND c.relkind IN ('r', 'S')))"                              \
    " + (SELECT count(*) FROM pg_largeobject_metadata)"

/* One table of a template: its rows as COPY's binary format gives them. */
struct pg_rows {
    char *name; /* an identifier, quoted as it needs */
    char *data;
    size_t len;
    bool empty;
};

/* A template database as the restore needs it (owned: image_free). */
struct pg_image {
    char *shape;  /* PG_SHAPE's answer */
    char *clear;  /* "DELETE FROM" every table, as one string */
    char *setval; /* "SELECT setval(...), ..." of every sequence, NULL for none */
    struct pg_rows *t;
    int n;
};

static struct pg_image image[2]; /* template k's */

static void grow(char **buf, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = realloc(*buf, *cap);
        if (!*buf)
            fail_msg("out of memory");
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = 0;
}

static void grow_text(char **buf, size_t *len, size_t *cap, const char *t)
{
    grow(buf, len, cap, t, strlen(t));
}

/* `sql`'s rows (fails the test on an error): PQclear them. */
static PGresult *pg_rows(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%.120s: %s", sql, PQerrorMessage(c));
    return r;
}

/* `sql`'s one value, owned. */
static char *pg_value(PGconn *c, const char *sql)
{
    PGresult *r = pg_rows(c, sql);
    if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0))
        fail_msg("%.120s: not one value", sql);
    char *v = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!v)
        fail_msg("out of memory");
    return v;
}

static void pg_command(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%.120s: %s", sql, PQerrorMessage(c));
    PQclear(r);
}

/* Table `t`'s rows read out of the connection's database. */
static void copy_out(PGconn *c, struct pg_rows *t)
{
    char sql[200];
    snprintf(sql, sizeof(sql), "COPY %s TO STDOUT (FORMAT binary)", t->name);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COPY_OUT)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    size_t cap = 0;
    char *chunk;
    int n;
    while ((n = PQgetCopyData(c, &chunk, 0)) > 0) {
        grow(&t->data, &t->len, &cap, chunk, (size_t)n);
        PQfreemem(chunk);
    }
    r = PQgetResult(c);
    if (n != -1 || PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    t->empty = strcmp(PQcmdTuples(r), "0") == 0;
    PQclear(r);
    PQclear(PQgetResult(c)); /* the end (NULL) */
}

/* Template k's rows, sequences and shape, read once. */
static void capture(int k)
{
    struct pg_image *im = &image[k];
    PGconn *c = fx_pg_connect(tmpl_pg[k].db);
    char *uncovered = pg_value(c, PG_UNCOVERED);
    if (strcmp(uncovered, "0") != 0)
        fail_msg("template %d holds data outside the tables and sequences of public (%s "
                 "relations or large objects): the restore would not bring it back",
                 k, uncovered);
    free(uncovered);
    im->shape = pg_value(c, PG_SHAPE);

    PGresult *r = pg_rows(c, PG_TABLES);
    im->n = PQntuples(r);
    im->t = calloc((size_t)im->n, sizeof(*im->t));
    if (!im->t && im->n > 0)
        fail_msg("out of memory");
    size_t len = 0, cap = 0;
    for (int i = 0; i < im->n; i++) {
        im->t[i].name = strdup(PQgetvalue(r, i, 0));
        if (!im->t[i].name)
            fail_msg("out of memory");
        grow_text(&im->clear, &len, &cap, "DELETE FROM ");
        grow_text(&im->clear, &len, &cap, im->t[i].name);
        grow_text(&im->clear, &len, &cap, ";");
        copy_out(c, &im->t[i]);
    }
    PQclear(r);

    /* each sequence's state as a setval that restores it (is_called included) */
    r = pg_rows(c, "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences"
                   " WHERE schemaname = 'public' ORDER BY 1");
    len = cap = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        char sql[300];
        const char *seq = PQgetvalue(r, i, 0);
        snprintf(sql, sizeof(sql),
                 "SELECT format('setval(%%L, %%s, %%L)', '%s', last_value, is_called) FROM %s", seq,
                 seq);
        char *set = pg_value(c, sql);
        grow_text(&im->setval, &len, &cap, i ? ", " : "SELECT ");
        grow_text(&im->setval, &len, &cap, set);
        free(set);
    }
    PQclear(r);
    PQfinish(c);
}

static void image_free(struct pg_image *im)
{
    for (int i = 0; i < im->n; i++) {
        free(im->t[i].name);
        free(im->t[i].data);
    }
    free(im->t);
    free(im->shape);
    free(im->clear);
    free(im->setval);
    *im = (struct pg_image){0};
}

/* Waits until the restorer is the work database's only client: the engine of the previous
 * point closed, and each of its sessions (a closed connection's backend ends a moment
 * after) gone. Fails the test after 10 s. */
static void alone_on_work(void)
{
    for (int i = 0; i < 10000; i++) {
        char *n = pg_value(restorer, "SELECT count(*) FROM pg_stat_activity"
                                     " WHERE datname = current_database()"
                                     " AND pid <> pg_backend_pid()"
                                     " AND backend_type = 'client backend'");
        bool alone = strcmp(n, "0") == 0;
        free(n);
        if (alone)
            return;
        usleep(1000);
    }
    fail_msg("%s has sessions other than the restorer's after 10 s: an engine was left open",
             work_db);
}

/* The work database's rows and sequences made template k's, in place. */
static void restore_work(int k)
{
    const struct pg_image *im = &image[k];
    alone_on_work();
    char *shape = pg_value(restorer, PG_SHAPE);
    if (strcmp(shape, im->shape) != 0)
        fail_msg("the work database's relations are not the template's:\n#   was: %.300s\n#  "
                 " now: %.300s",
                 im->shape, shape);
    free(shape);
    /* the rows are a consistent template's: their foreign keys need no check (replica: no
     * trigger fires, and the schema has none but the keys') */
    pg_command(restorer, "BEGIN; SET LOCAL session_replication_role = replica");
    pg_command(restorer, im->clear);
    for (int i = 0; i < im->n; i++) {
        const struct pg_rows *t = &im->t[i];
        if (t->empty)
            continue;
        char sql[200];
        snprintf(sql, sizeof(sql), "COPY %s FROM STDIN (FORMAT binary)", t->name);
        PGresult *r = PQexec(restorer, sql);
        if (PQresultStatus(r) != PGRES_COPY_IN)
            fail_msg("%s: %s", sql, PQerrorMessage(restorer));
        PQclear(r);
        if (PQputCopyData(restorer, t->data, (int)t->len) != 1 || PQputCopyEnd(restorer, NULL) != 1)
            fail_msg("%s: %s", sql, PQerrorMessage(restorer));
        r = PQgetResult(restorer);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            fail_msg("%s: %s", sql, PQerrorMessage(restorer));
        PQclear(r);
        PQclear(PQgetResult(restorer)); /* the end (NULL) */
    }
    if (im->setval)
        pg_command(restorer, im->setval);
    pg_command(restorer, "COMMIT");
}
#endif

/* The work store made template `k`'s: a copy of its file, or its rows restored in place. */
static void copy_store(int k)
{
    if (!fx_is_pg()) {
        copy_file(tmpl[k], work);
        return;
    }
#ifdef SY_HAVE_PQ
    restore_work(k);
#endif
}

static void begin(struct ctx *c, const struct op *op)
{
    copy_store(op->killed);
    fake_ms = T0_MS + 3600000; /* an hour after the template was made */
    c->eng = open_at(work);
    c->who = (sy_principal_t){.workspace = 1, .token_id = 1, .role = SY_ROLE_ADMIN};
    snprintf(c->who.name, sizeof(c->who.name), "root");
    c->in = NULL;
    if (op->input && strcmp(op->input, "(document)") == 0) {
        c->in = flagset_get_json(c->eng, &c->who);
        json_object_set_new(json_object_get(c->in, "flags"), "imported",
                            parse("{\"state\":\"ENABLED\",\"variants\":{\"on\":true,\"off\":"
                                  "false},\"defaultVariant\":\"on\"}"));
        json_object_del(json_object_get(c->in, "flags"), "plain");
    } else if (op->input) {
        c->in = parse(op->input);
    }
}

static void end(struct ctx *c)
{
    json_decref(c->in);
    sy_engine_close(c->eng);
    c->eng = NULL;
}

enum kind { STORE, ALLOC };

/* LeakSanitizer's, when linked: with SY_FAULTS_LEAKS set, a leak check after each point
 * says which one leaked. */
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

/* Runs `op` once with failure `at` of `kind` injected (0: none); checks what it must. */
static int64_t inject(const struct op *op, enum kind kind, int64_t at, int64_t *allocs)
{
    struct ctx c;
    begin(&c, op);
    live = &c;
    char *mem0 = dump_engine(&c), *disk0 = dump_disk(work);
    const char *hole = strstr(mem0, "\"(error");
    if (hole) /* a comparison of states the read API cannot tell would prove nothing */
        bad("%s: the read API fails on the starting state: %.200s", op->name, hole);
    sy_store_t *store = sy_engine_store(c.eng);
    sy_err_t err = {0};
    if (kind == STORE)
        sy_store_fail_at(store, at);
    else
        sy_failalloc_arm(at);
    if (kind == STORE && allocs)
        sy_failalloc_arm(0);
    int rc = op->run(&c, &err);
    sy_failalloc_disarm();
    int64_t calls = sy_store_calls(store);
    if (allocs)
        *allocs = sy_failalloc_count();
    sy_store_fail_at(store, 0);
    bool fired = kind == STORE ? at > 0 && calls >= at : sy_failalloc_fired();
    if (at == 0 && rc != 0)
        bad("%s without faults: %d %s (%s)", op->name, rc, err.msg, err.field);
    if (at > 0 && fired) {
        const char *k = kind == STORE ? "store" : "allocation";
        if (rc >= 0)
            bad("%s, %s failure %lld: answered %d, not an error", op->name, k, (long long)at, rc);
        if (!err.msg[0])
            bad("%s, %s failure %lld: error %d without a message", op->name, k, (long long)at, rc);
        char *mem1 = dump_engine(&c), *disk1 = dump_disk(work);
        same("the engine's state", op->name, at, k, mem0, mem1);
        same("the database", op->name, at, k, disk0, disk1);
        sy_engine_close(c.eng);
        c.eng = open_at(work);
        char *mem2 = dump_engine(&c);
        same("the engine reopened", op->name, at, k, mem0, mem2);
        /* and the same operation, without faults, goes through */
        sy_err_t again = {0};
        rc = op->run(&c, &again);
        if (rc != 0)
            bad("%s after %s failure %lld: %d %s", op->name, k, (long long)at, rc, again.msg);
        free(mem1);
        free(disk1);
        free(mem2);
    }
    free(mem0);
    free(disk0);
    end(&c);
    live = NULL;
    if (getenv("SY_FAULTS_LEAKS") && __lsan_do_recoverable_leak_check &&
        __lsan_do_recoverable_leak_check())
        printf("# leak: %s, %s failure %lld\n", op->name, kind == STORE ? "store" : "allocation",
               (long long)at);
    return calls;
}

/* Allocation failures tried per operation, at most: SY_FAULTS_ALLOC_POINTS, else
 * ALLOC_POINTS. pg_unit_faults asks for fewer on PostgreSQL, where a point takes about half
 * a second on a busy machine (its database restored, engines opened and their statements
 * sent over a connection), not SQLite's tenth: its store statements are all failed, and the
 * engine's allocations are the same on both backends. */
static int64_t alloc_points(void)
{
    const char *v = getenv("SY_FAULTS_ALLOC_POINTS");
    return v && *v ? strtoll(v, NULL, 10) : ALLOC_POINTS;
}

/* Every injection point of `op`: its store statements and (sampled) allocations counted
 * into *store and *alloc. A finding returns here through op_jmp, skipping the rest. */
static void points_of(const struct op *op, int64_t *store, int64_t *alloc)
{
    int64_t allocs = 0;
    int64_t calls = inject(op, STORE, 0, &allocs);
    for (int64_t at = 1; at <= calls; at++)
        inject(op, STORE, at, NULL);
    /* allocations: all of them when few, else `most` spread evenly, the first and last ones
     * among them (none with SY_FAULTS_ALLOC_POINTS=0) */
    int64_t tried = 0, most = alloc_points();
    int64_t step = allocs <= most || most <= 0 ? 1 : (allocs + most - 1) / most;
    for (int64_t at = 1; most > 0 && at <= allocs; at += step, tried++)
        inject(op, ALLOC, at, NULL);
    if (most > 0 && allocs > 1 && (allocs - 1) % step != 0) {
        inject(op, ALLOC, allocs, NULL);
        tried++;
    }
    printf("# %-36s store %3lld of %3lld, allocations %3lld of %5lld\n", op->name, (long long)calls,
           (long long)calls, (long long)tried, (long long)allocs);
    *store = calls;
    *alloc = tried;
}

/* One operation, its findings caught: whether it went through every point. */
static bool one_op(const struct op *op, int64_t *store, int64_t *alloc)
{
    if (setjmp(op_jmp) != 0) {
        sy_failalloc_disarm();
        if (live && live->eng)
            end(live);
        live = NULL;
        return false;
    }
    points_of(op, store, alloc);
    return true;
}

static void every_write_completes_or_changes_nothing(void **state)
{
    (void)state;
    int64_t total_store = 0, total_alloc = 0;
    const char *only = getenv("SY_FAULTS_OP"); /* one operation, by name prefix */
    for (size_t i = 0; i < N_OPS; i++) {
        const struct op *op = &ops[i];
        if (only && strncmp(op->name, only, strlen(only)) != 0)
            continue;
        int64_t store = 0, alloc = 0;
        if (one_op(op, &store, &alloc)) {
            total_store += store;
            total_alloc += alloc;
        }
    }
    printf("# injection points covered: %lld store + %lld allocation = %lld\n",
           (long long)total_store, (long long)total_alloc, (long long)(total_store + total_alloc));
    if (findings)
        fail_msg("%d operations do not complete or change nothing (# FAIL above)", findings);
}

static int setup(void **state)
{
    (void)state;
    sy_failalloc_install();
    if (fx_is_pg()) {
#ifdef SY_HAVE_PQ
        for (int k = 0; k < 2; k++) {
            fx_place_make(&tmpl_pg[k]);
            if (snprintf(tmpl[k], sizeof(tmpl[k]), "%s", tmpl_pg[k].uri) >= (int)sizeof(tmpl[k]))
                fail_msg("a template's URI is too long");
            build_template(k);
        }
        /* the work database made once, restored in place at each point (restore_work) */
        snprintf(work_db, sizeof(work_db), "%s_work", tmpl_pg[0].db);
        fx_pg_uri(work, sizeof(work), getenv("SY_TEST_PG_APP"), work_db);
        char sql[256];
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE %s", work_db, tmpl_pg[0].db);
        fx_pg_super(sql);
        capture(0);
        capture(1);
        restorer = fx_pg_connect(work_db);
#endif
        return 0;
    }
    /* tmpfs when there is one: the test commits thousands of times, and fsync is not what
     * it tests */
    snprintf(dir, sizeof(dir), "%s/sy-faults-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    for (int k = 0; k < 2; k++) {
        snprintf(tmpl[k], sizeof(tmpl[k]), "%s/template%d.db", dir, k);
        build_template(k);
    }
    snprintf(work, sizeof(work), "%s/work.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (fx_is_pg()) {
#ifdef SY_HAVE_PQ
        PQfinish(restorer);
        restorer = NULL;
        image_free(&image[0]);
        image_free(&image[1]);
        char sql[256];
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", work_db);
        fx_pg_super(sql);
        fx_place_drop(&tmpl_pg[0]);
        fx_place_drop(&tmpl_pg[1]);
#endif
        return 0;
    }
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_write_completes_or_changes_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
