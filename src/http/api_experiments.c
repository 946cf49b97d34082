/* api_experiments.c - /v1/experiments (definitions, life cycle, results, promotion) and
 * /v1/events (durable ingest).
 *
 * An ingest request is answered only once its events are committed: the handler checks
 * the batch, hands it to the engine and returns without replying; the engine calls back
 * after the group commit that carries it (server.c schedules that commit once the
 * requests at hand are read). The body is parsed with core's own JSON reader into an
 * arena, as OFREP does: a 10,000-event batch is a hot path, jansson's trees are not.
 */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/api_json.h"
#include "codec/experiment_json.h"
#include "codec/monitor_json.h"
#include "codec/results_json.h"
#include "codec/value_json.h"
#include "http/internal.h"

/* ---- /v1/experiments ------------------------------------------------------------------ */

/* The experiment `x` (rc 0) with `status`, or the error. */
static void reply_experiment(struct call *c, int rc, int status, const sy_experiment_t *x,
                             const sy_err_t *err)
{
    reply_result(c, rc, status, rc < 0 ? NULL : sy_experiment_json(x), err);
}

void sy_api_experiment_list(struct call *c)
{
    sy_err_t err = {0};
    sy_experiment_t *xs = NULL;
    size_t n = 0;
    int rc = sy_engine_experiment_list(c->eng, &c->who, &xs, &n, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_experiments_json(xs, n), &err);
    free(xs);
}

void sy_api_experiment_create(struct call *c)
{
    sy_err_t err = {0};
    sy_exp_def_t *def = malloc(sizeof(*def));
    sy_experiment_t *x = malloc(sizeof(*x));
    int rc = def && x ? sy_exp_def_read(c->body, def, &err)
                      : sy_err_set(&err, -ENOMEM, "", "out of memory");
    if (rc == 0) {
        rc = sy_engine_experiment_create(c->eng, &c->who, def, x, &err);
        sy_exp_def_clear(def);
    }
    reply_experiment(c, rc, 201, x, &err);
    free(def);
    free(x);
}

void sy_api_experiment_get(struct call *c)
{
    sy_err_t err = {0};
    sy_experiment_t *x = malloc(sizeof(*x));
    int rc = x ? sy_engine_experiment_get(c->eng, &c->who, c->arg[0], x, &err)
               : sy_err_set(&err, -ENOMEM, "", "out of memory");
    reply_experiment(c, rc, 200, x, &err);
    free(x);
}

void sy_api_experiment_results(struct call *c)
{
    sy_err_t err = {0};
    sy_exp_results_t *x = NULL;
    int rc = sy_engine_experiment_results(c->eng, &c->who, c->arg[0], &x, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_results_json(x), &err);
    free(x);
}

void sy_api_experiment_promotion(struct call *c)
{
    sy_err_t err = {0};
    sy_exp_promotion_t p;
    int rc = sy_engine_experiment_promotion(c->eng, &c->who, c->arg[0], &p, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_promotion_json(&p), &err);
}

/* The history's changes into a JSON array (owned), all or the newest `newest`; NULL after
 * the error is in `err` (and *rc). */
static json_t *history_array(struct call *c, size_t newest, int *rc, sy_err_t *err)
{
    json_t *a = json_array();
    *rc = a ? sy_engine_experiment_history(c->eng, &c->who, c->arg[0], newest, sy_history_json_add,
                                           a, err)
            : sy_err_set(err, -ENOMEM, NULL, "out of memory");
    if (*rc < 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

void sy_api_experiment_history(struct call *c)
{
    sy_err_t err = {0};
    int rc;
    json_t *h = history_array(c, 0, &rc, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_history_json(c->arg[0], h), &err);
}

/* GET /v1/experiments/{key}/timeline: its query read, then the engine's points (JSON
 * text) parsed into the answer's array. */
static int timeline_add(void *arg, int64_t at_ms, const char *point)
{
    (void)at_ms;
    json_t *p = json_loads(point, 0, NULL);
    return p && json_array_append_new(arg, p) == 0 ? 0 : -ENOMEM;
}

static bool timeline_query(struct call *c, sy_timeline_query_t *q)
{
    char key[32], val[64];
    long long n = 0;
    int rc;
    for (const char *s = c->query; (rc = sy_query_next(&s, key, sizeof(key), val, sizeof(val)));) {
        if (rc < 0) {
            reply_error(c, 400, "invalid_input", "",
                        "the query string does not parse (a bad %%-escape or an over-long part)");
            return false;
        }
        bool ok;
        if (strcmp(key, "since_ms") == 0) {
            ok = int_param(c, "since_ms", val, 0, INT64_MAX, &n);
            q->since_ms = n;
        } else if (strcmp(key, "until_ms") == 0) {
            ok = int_param(c, "until_ms", val, 0, INT64_MAX, &n);
            q->until_ms = n;
        } else if (strcmp(key, "limit") == 0) {
            ok = int_param(c, "limit", val, 1, SY_TIMELINE_LIMIT_MAX, &n);
            q->limit = n;
        } else {
            reply_error(c, 400, "unknown_field", key, "unknown query parameter \"%.64s\"", key);
            ok = false;
        }
        if (!ok)
            return false;
    }
    return true;
}

void sy_api_experiment_timeline(struct call *c)
{
    sy_timeline_query_t q = {.until_ms = INT64_MAX, .limit = SY_TIMELINE_LIMIT_DEFAULT};
    if (!timeline_query(c, &q))
        return;
    sy_err_t err = {0};
    sy_timeline_page_t page;
    json_t *points = json_array();
    int rc = points ? sy_engine_experiment_timeline(c->eng, &c->who, c->arg[0], &q, timeline_add,
                                                    points, &page, &err)
                    : sy_err_set(&err, -ENOMEM, NULL, "out of memory");
    if (rc == -ENOMEM && !err.msg[0])
        sy_err_set(&err, -ENOMEM, NULL, "out of memory");
    json_t *body = NULL;
    if (rc == 0)
        body = json_pack("{sssbsOso}", "experiment", c->arg[0], "sequential", page.sequential,
                         "points", points, "next_since_ms",
                         page.has_next ? json_integer(page.next_since_ms) : json_null());
    json_decref(points);
    reply_result(c, rc, 200, body, &err);
}

void sy_api_allocation_get(struct call *c)
{
    sy_err_t err = {0};
    sy_allocation_t a;
    int rc = sy_engine_allocation_get(c->eng, &c->who, c->arg[0], &a, &err);
    json_t *h = rc < 0 ? NULL : history_array(c, SY_ALLOCATION_HISTORY_LIMIT, &rc, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_allocation_json(&a, h), &err);
}

/* A life-cycle step: it takes no body (a body naming anything is refused before it). */
static void transition(struct call *c, const char *state)
{
    sy_err_t err = {0};
    sy_experiment_t *x = malloc(sizeof(*x));
    int rc = x ? sy_engine_experiment_transition(c->eng, &c->who, c->arg[0], state, x, &err)
               : sy_err_set(&err, -ENOMEM, "", "out of memory");
    reply_experiment(c, rc, 200, x, &err);
    free(x);
}

void sy_api_experiment_start(struct call *c)
{
    transition(c, "running");
}

void sy_api_experiment_stop(struct call *c)
{
    transition(c, "stopped");
}

void sy_api_experiment_terminate(struct call *c)
{
    transition(c, "terminated");
}

void sy_api_allocation_apply(struct call *c)
{
    sy_step_request_t req = {0};
    if (!read_body(c, &req))
        return;
    sy_err_t err = {0};
    sy_step_answer_t a;
    int rc = sy_engine_allocation_apply(c->eng, &c->who, c->arg[0], &req, &a, &err);
    if (rc < 0 && !a.refused) {
        reply_err(c, &err);
        return;
    }
    json_t *out = sy_step_answer_json(&a);
    if (rc < 0 && out) /* refused by a guardrail: say which, and when a step may come */
        json_object_set_new(
            out, "error",
            json_pack("{ssssss}", "code", "refused", "message", err.msg, "field", err.field));
    reply_json_decimal(c, rc < 0 ? 409 : 200, out);
}

/* After a change that answers the experiment: the experiment as GET answers it. */
static void reply_changed(struct call *c, int rc, const sy_err_t *err)
{
    if (rc < 0)
        reply_err(c, err);
    else
        sy_api_experiment_get(c);
}

void sy_api_experiment_promote(struct call *c)
{
    sy_promote_body_t b = {0};
    if (c->body && !read_body(c, &b))
        return;
    sy_err_t err = {0};
    char *metadata = NULL;
    int rc = sy_promote_body_finish(&b, &metadata, &err);
    if (rc == 0)
        rc = sy_engine_experiment_promote(c->eng, &c->who, c->arg[0], &b.req, &err);
    free(metadata);
    reply_changed(c, rc, &err);
}

void sy_api_experiment_rollback(struct call *c)
{
    sy_rollback_request_t req = {0};
    if (c->body && !read_body(c, &req))
        return;
    sy_err_t err = {0};
    int rc = sy_engine_experiment_rollback(c->eng, &c->who, c->arg[0], &req, &err);
    reply_changed(c, rc, &err);
}

/* PATCH KEY: a merge patch (RFC 7386) of its definition as it stands, read again as a
 * create reads one and handed to the engine whole; answers the experiment. */
void sy_api_experiment_patch(struct call *c)
{
    sy_err_t err = {0};
    sy_experiment_t *x = malloc(sizeof(*x));
    sy_exp_def_t *def = malloc(sizeof(*def));
    int rc = x && def ? sy_engine_experiment_get(c->eng, &c->who, c->arg[0], x, &err)
                      : sy_err_set(&err, -ENOMEM, "", "out of memory");
    if (rc == 0)
        rc = sy_exp_def_patch(&x->def, c->body, def, &err);
    if (rc == 0) {
        rc = sy_engine_experiment_update(c->eng, &c->who, c->arg[0], def, x, &err);
        sy_exp_def_clear(def);
    }
    reply_experiment(c, rc, 200, x, &err);
    free(def);
    free(x);
}

/* What the monitor sees of c->arg[0], after `push` when one is given. */
static void health_reply(struct call *c, const sy_health_push_t *push)
{
    sy_err_t err = {0};
    sy_exp_health_t h;
    int rc = sy_engine_experiment_health(c->eng, &c->who, c->arg[0], push, &h, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_exp_health_json(&h), &err);
}

void sy_api_health_get(struct call *c)
{
    health_reply(c, NULL);
}

void sy_api_health_push(struct call *c)
{
    sy_health_push_t push = {0};
    if (!read_body(c, &push))
        return;
    health_reply(c, &push);
}

/* ---- /v1/guardrails -------------------------------------------------------------------- */

void sy_api_guardrails_get(struct call *c)
{
    sy_err_t err = {0};
    sy_guardrails_t g;
    int rc = sy_engine_guardrails_get(c->eng, &c->who, &g, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_guardrails_json(&g), &err);
}

void sy_api_guardrails_put(struct call *c)
{
    sy_guardrails_change_t change = {0};
    if (!read_body(c, &change))
        return;
    sy_err_t err = {0};
    sy_guardrails_t g;
    int rc = sy_engine_guardrails_put(c->eng, &c->who, &change, &g, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_guardrails_json(&g), &err);
}

/* ---- /v1/auto-promotion/check --------------------------------------------------------- */

void sy_api_auto_promotion(struct call *c)
{
    sy_auto_check_body_t body = {0};
    if (c->body && !read_body(c, &body))
        return;
    sy_err_t err = {0};
    sy_auto_report_t r;
    int rc = sy_engine_auto_promotion_check(c->eng, c->system ? NULL : &c->who,
                                            body.has_dry_run ? body.dry_run : -1, &r, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_auto_report_json(&r), &err);
    if (rc == 0)
        free(r.v);
}

/* ---- /v1/auto-promotion/config -------------------------------------------------------- */

static json_t *real_or_null(double v)
{
    return v > 0 ? json_real(v) : json_null();
}

void sy_api_auto_promotion_config(struct call *c)
{
    sy_exp_defaults_t d = sy_engine_exp_defaults(c->eng);
    sy_engine_timers_t t = sy_engine_timers(c->eng);
    const sy_safety_t *k = &d.safety;
    /* the shape of an experiment's "safety": what one that sets nothing follows */
    json_t *safety = json_pack(
        "{sIsfsfsfsfsbsosbsfso}", "min_sample_per_variant", (json_int_t)k->min_sample_per_variant,
        "min_confidence", k->min_confidence, "min_improvement_pct", k->min_improvement_pct,
        "min_runtime_hours", k->min_runtime_hours, "max_error_rate", k->max_error_rate,
        "sequential", d.sequential, "sequential_tau_squared",
        real_or_null(d.sequential_tau_squared), "require_manual_approval", k->manual_approval,
        "max_latency_increase_pct", d.max_latency_increase_pct, "planned_lift_pct",
        real_or_null(k->planned_lift_pct));
    const json_t *from = sy_http_opts(c->http)->auto_promotion_sources;
    json_t *src = from ? json_deep_copy(from) : json_object();
    json_t *out = safety && src
                      ? json_pack("{sOsIsbsbsIsO}", "safety", safety, "interval_s",
                                  (json_int_t)(t.auto_promotion_ms / 1000), "dry_run",
                                  t.auto_promotion_dry_run, "cron_secret_set",
                                  sy_http_opts(c->http)->cron_secret != NULL, "health_interval_s",
                                  (json_int_t)(t.health_ms / 1000), "sources", src)
                      : NULL;
    json_decref(safety);
    json_decref(src);
    if (!out) {
        reply_error(c, 500, "out_of_memory", "", "out of memory");
        return;
    }
    reply_json_decimal(c, 200, out);
}

/* ---- /v1/events ----------------------------------------------------------------------- */

void ingest_done(void *arg, int rc, const sy_ingest_result_t *r, const sy_err_t *err)
{
    struct call *c = arg;
    if (rc < 0)
        reply_err(c, err);
    else
        reply_json(c, 200,
                   json_pack("{sIsI}", "accepted", (json_int_t)r->accepted, "duplicates",
                             (json_int_t)r->duplicates));
    free(c);
}

static bool is_key(const sy_member_t *m, const char *k)
{
    return sy_bytes_eq(m->key, m->klen, k, strlen(k));
}

static bool str_of(const sy_value_t *v, const char **p, size_t *len)
{
    if (v->type != SY_STR)
        return false;
    *p = v->s;
    *len = v->len;
    return true;
}

/* Where the string field `m` of an event goes (and its name), or false for another field. */
static bool string_slot(sy_event_t *ev, const sy_member_t *m, const char ***p, size_t **len,
                        const char **name)
{
    const struct {
        const char *name;
        const char **p;
        size_t *len;
    } fields[] = {{"unit", &ev->unit, &ev->unit_len},
                  {"experiment", &ev->experiment, &ev->experiment_len},
                  {"variant", &ev->variant, &ev->variant_len},
                  {"id", &ev->id, &ev->id_len}};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (is_key(m, fields[i].name)) {
            *p = fields[i].p;
            *len = fields[i].len;
            *name = fields[i].name;
            return true;
        }
    return false;
}

/* One event object into *ev. False after replying 400 naming the field. */
static bool read_event(struct call *c, const sy_value_t *o, size_t i, sy_event_t *ev)
{
    char field[48];
    const char *why = NULL, *name = "";
    *ev = (sy_event_t){.success = -1};
    bool typed = false;
    if (o->type != SY_OBJ) {
        why = "an event is an object";
        goto bad;
    }
    for (uint32_t k = 0; k < o->len; k++) {
        const sy_member_t *m = &o->members[k];
        const sy_value_t *v = &m->val;
        const char *s, **sp;
        size_t len, *slen;
        if (is_key(m, "type")) {
            name = "type";
            if (!str_of(v, &s, &len)) {
                why = "type is \"exposure\", \"outcome\" or \"error\"";
                goto bad;
            }
            typed = true;
            if (sy_bytes_eq(s, len, "exposure", 8))
                ev->kind = SY_EVENT_EXPOSURE;
            else if (sy_bytes_eq(s, len, "outcome", 7))
                ev->kind = SY_EVENT_OUTCOME;
            else if (sy_bytes_eq(s, len, "error", 5))
                ev->kind = SY_EVENT_ERROR;
            else {
                why = "type is \"exposure\", \"outcome\" or \"error\"";
                goto bad;
            }
        } else if (string_slot(ev, m, &sp, &slen, &name)) {
            if (!str_of(v, sp, slen)) {
                why = "must be a string";
                goto bad;
            }
        } else if (is_key(m, "success")) {
            name = "success";
            if (v->type != SY_BOOL) {
                why = "success must be true or false";
                goto bad;
            }
            ev->success = v->b;
        } else if (is_key(m, "value")) {
            name = "value";
            if (v->type != SY_NUM) {
                why = "value must be a number";
                goto bad;
            }
            ev->has_value = true;
            ev->value = v->n;
        } else if (is_key(m, "latency_ms")) {
            name = "latency_ms";
            if (v->type != SY_NUM) {
                why = "latency_ms must be a number";
                goto bad;
            }
            ev->has_latency = true;
            ev->latency_ms = v->n;
        } else if (is_key(m, "covariate")) {
            name = "covariate";
            if (v->type != SY_NUM) {
                why = "covariate must be a number";
                goto bad;
            }
            ev->has_covariate = true;
            ev->covariate = v->n;
        } else {
            snprintf(field, sizeof(field), "events[%zu].%.24s", i, m->key);
            reply_error(c, 400, "unknown_field", field, "unknown field \"%.64s\"", m->key);
            return false;
        }
    }
    if (!typed) {
        name = "type";
        why = "an event has a type: exposure, outcome or error";
        goto bad;
    }
    if (!ev->unit) {
        name = "unit";
        why = "an event names its unit";
        goto bad;
    }
    return true;
bad:
    snprintf(field, sizeof(field), "events[%zu]%s%s", i, *name ? "." : "", name);
    reply_error(c, 400, "invalid_input", field, "%s", why);
    return false;
}

/* Applications send what they saw: an sdk token may ingest. */
void sy_api_events(struct call *c)
{
    size_t len;
    const char *body = sy_h1_body(c->req, &len);
    sy_arena_t arena;
    sy_arena_init(&arena, len * 32 + 65536);
    sy_value_t doc;
    sy_err_t err = {0};
    sy_event_t *ev = NULL;
    if (!len) { /* as every endpoint that takes a body says it */
        reply_error(c, 400, "invalid_input", "", "the body is a JSON object; none was sent");
        goto out;
    }
    if (sy_value_parse(body, len, &arena, &doc, &err) < 0) {
        reply_error(c, 400, "invalid_json", "", "the body is not JSON: %s", err.msg);
        goto out;
    }
    const sy_value_t *list = doc.type == SY_OBJ ? sy_value_get(&doc, "events", 6) : NULL;
    if (doc.type != SY_OBJ || doc.len != 1 || !list) {
        const sy_member_t *other = NULL; /* the first field that is not `events` */
        for (uint32_t i = 0; doc.type == SY_OBJ && i < doc.len && !other; i++)
            if (doc.members[i].klen != 6 || memcmp(doc.members[i].key, "events", 6) != 0)
                other = &doc.members[i];
        if (other)
            reply_error(c, 400, "unknown_field", other->key, "unknown field \"%.64s\"", other->key);
        else if (doc.type != SY_OBJ)
            reply_error(c, 400, "invalid_input", "", "the body must be a JSON object");
        else
            reply_error(c, 400, "invalid_input", "events", "the body is {\"events\": [...]}");
        goto out;
    }
    if (list->type != SY_ARR || list->len == 0 || list->len > SY_EVENTS_MAX) {
        reply_error(c, list->type == SY_ARR && list->len > SY_EVENTS_MAX ? 413 : 400,
                    list->type == SY_ARR && list->len > SY_EVENTS_MAX ? "too_large"
                                                                      : "invalid_input",
                    "events", "events is an array of 1 to %d events", SY_EVENTS_MAX);
        goto out;
    }
    ev = malloc(list->len * sizeof(*ev));
    struct call *later = ev ? malloc(sizeof(*later)) : NULL;
    if (!later) {
        reply_error(c, 500, "out_of_memory", "", "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < list->len; i++)
        if (!read_event(c, &list->items[i], i, &ev[i])) {
            free(later);
            goto out;
        }
    *later = *c;
    if (sy_engine_events_submit(c->eng, &c->who, ev, list->len, ingest_done, later, &err) < 0) {
        free(later);
        reply_err(c, &err);
    }
    /* Otherwise ingest_done answers after the commit; the request stays valid until then. */
out:
    free(ev);
    sy_arena_free(&arena);
}
