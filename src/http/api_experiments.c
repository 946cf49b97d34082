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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/value_json.h"
#include "http/internal.h"

/* ---- /v1/experiments ------------------------------------------------------------------ */

static void collection(struct call *c)
{
    sy_err_t err = {0};
    json_t *out = NULL;
    if (sy_h1_method(c->req) == SY_GET) {
        if (!require_role(c, SY_ROLE_VIEWER))
            return;
        int rc = sy_engine_experiment_list(c->eng, &c->who, &out, &err);
        reply_result(c, rc, 200, out, &err);
        return;
    }
    if (sy_h1_method(c->req) != SY_POST) {
        not_allowed(c, "GET, POST");
        return;
    }
    if (!require_role(c, SY_ROLE_EDITOR))
        return;
    json_t *def = body_object(c);
    if (!def)
        return;
    int rc = sy_engine_experiment_create(c->eng, &c->who, def, &out, &err);
    json_decref(def);
    reply_result(c, rc, 201, out, &err);
}

/* A body that may be empty: NULL (nothing to read) or an object, or false after 400. */
/* KEY/allocation, KEY/allocation/apply, KEY/promote (POST promotes, DELETE rolls back) and
 * KEY/history. A step a guardrail refuses is 409 with the guardrail as the field and the
 * rate-limit state beside the error. */
static void allocation(struct call *c, const char *key, const char *action)
{
    sy_method_t m = sy_h1_method(c->req);
    bool apply = strcmp(action, "allocation/apply") == 0, promote = strcmp(action, "promote") == 0;
    bool health = strcmp(action, "health") == 0;
    bool read = !apply && !promote && (!health || m == SY_GET);
    if ((read && m != SY_GET) || (apply && m != SY_POST) ||
        (promote && m != SY_POST && m != SY_DELETE) || (health && m != SY_GET && m != SY_POST)) {
        not_allowed(c, health ? "GET, POST" : read ? "GET" : apply ? "POST" : "POST, DELETE");
        return;
    }
    if (!require_role(c, read ? SY_ROLE_VIEWER : SY_ROLE_EDITOR))
        return;
    sy_err_t err = {0};
    json_t *out = NULL, *body = NULL;
    int rc;
    if (health && m == SY_GET) {
        rc = sy_engine_experiment_health(c->eng, &c->who, key, NULL, &out, &err);
    } else if (read) {
        rc = action[0] == 'h' ? sy_engine_experiment_history(c->eng, &c->who, key, &out, &err)
                              : sy_engine_allocation_get(c->eng, &c->who, key, &out, &err);
    } else if (health) {
        if (!optional_body(c, &body))
            return;
        if (!body) {
            reply_error(c, 400, "invalid_input", "", "the body is the health to push");
            return;
        }
        rc = sy_engine_experiment_health(c->eng, &c->who, key, body, &out, &err);
        json_decref(body);
    } else {
        if (!optional_body(c, &body))
            return;
        if (apply)
            rc = sy_engine_allocation_apply(c->eng, &c->who, key, body, &out, &err);
        else if (m == SY_POST)
            rc = sy_engine_experiment_promote(c->eng, &c->who, key, body, &out, &err);
        else
            rc = sy_engine_experiment_rollback(c->eng, &c->who, key, body, &out, &err);
        json_decref(body);
    }
    if (rc < 0 && out) { /* refused by a guardrail: say which, and when a step may come */
        json_object_set_new(
            out, "error",
            json_pack("{ssssss}", "code", "refused", "message", err.msg, "field", err.field));
        reply_json_decimal(c, 409, out);
        return;
    }
    reply_result(c, rc, 200, out, &err);
}

/* PATCH KEY: a merge patch of its settings (sy_engine_experiment_patch); answers the
 * experiment. */
static void patch(struct call *c, const char *key)
{
    if (!require_role(c, SY_ROLE_EDITOR) || !no_params(c))
        return;
    json_t *body = body_object(c);
    if (!body)
        return;
    sy_err_t err = {0};
    json_t *out = NULL;
    int rc = sy_engine_experiment_patch(c->eng, &c->who, key, body, &err);
    json_decref(body);
    if (rc == 0)
        rc = sy_engine_experiment_get(c->eng, &c->who, key, &out, &err);
    /* TODO(issue 22 part 1): the engine's one field check (sy_eng_only_fields) says
     * "unknown field"; a code of its own would spare reading its message. */
    if (rc == -EINVAL && strncmp(err.msg, "unknown field", 13) == 0) {
        reply_error(c, 400, "unknown_field", err.field, "%s", err.msg);
        return;
    }
    reply_result(c, rc, 200, out, &err);
}

void sy_api_experiments(struct call *c, const char *rest)
{
    if (!*rest) {
        collection(c);
        return;
    }
    /* "KEY" or "KEY/ACTION" (or "KEY/allocation/apply"): the key is percent-decoded, the
     * action is a word. */
    const char *slash = strchr(rest, '/');
    size_t klen = slash ? (size_t)(slash - rest) : strlen(rest);
    const char *action = slash ? slash + 1 : "";
    char key[512];
    ssize_t n = sy_pct_decode(rest, klen, false, key, sizeof(key));
    if (n <= 0 || memchr(key, '\0', (size_t)n) ||
        (strchr(action, '/') && strcmp(action, "allocation/apply") != 0)) {
        reply_error(c, 400, "invalid_input", "key", "the path has a bad or over-long segment");
        return;
    }
    sy_err_t err = {0};
    json_t *out = NULL;
    sy_method_t m = sy_h1_method(c->req);
    int rc;
    if (strncmp(action, "allocation", 10) == 0 || strcmp(action, "promote") == 0 ||
        strcmp(action, "history") == 0 || strcmp(action, "health") == 0) {
        allocation(c, key, action);
        return;
    }
    if (!*action && m == SY_PATCH) {
        patch(c, key);
        return;
    }
    if (!*action || strcmp(action, "results") == 0 || strcmp(action, "promotion") == 0) {
        if (m != SY_GET) {
            not_allowed(c, *action ? "GET" : "GET, PATCH");
            return;
        }
        if (!require_role(c, SY_ROLE_VIEWER) || (action[0] == 'r' && !no_params(c)))
            return;
        if (!*action)
            rc = sy_engine_experiment_get(c->eng, &c->who, key, &out, &err);
        else if (action[0] == 'r')
            rc = sy_engine_experiment_results(c->eng, &c->who, key, &out, &err);
        else
            rc = sy_engine_experiment_promotion(c->eng, &c->who, key, &out, &err);
        reply_result(c, rc, 200, out, &err);
        return;
    }
    static const char *const actions[][2] = {
        {"start", "running"}, {"stop", "stopped"}, {"terminate", "terminated"}};
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(action, actions[i][0]) != 0)
            continue;
        if (m != SY_POST) {
            not_allowed(c, "POST");
            return;
        }
        if (!require_role(c, SY_ROLE_EDITOR))
            return;
        /* A step takes no field. A body is still read, so that one the client meant to
         * say something with (a reason, a typo) is refused before the step, not ignored. */
        static const char *const none[] = {NULL};
        json_t *body = NULL;
        if (!optional_body(c, &body))
            return;
        bool fine = !body || only_fields(c, body, none);
        json_decref(body);
        if (!fine)
            return;
        rc = sy_engine_experiment_transition(c->eng, &c->who, key, actions[i][1], &out, &err);
        reply_result(c, rc, 200, out, &err);
        return;
    }
    reply_error(c, 404, "not_found", "", "no such endpoint: experiments/%.64s/%.32s", key, action);
}

/* ---- /v1/guardrails -------------------------------------------------------------------- */

void sy_api_guardrails(struct call *c)
{
    read_write(c, SY_PUT, 200, sy_engine_guardrails_get, sy_engine_guardrails_put);
}

/* ---- /v1/auto-promotion/check --------------------------------------------------------- */

void sy_api_auto_promotion(struct call *c, bool system)
{
    if (sy_h1_method(c->req) != SY_POST) {
        not_allowed(c, "POST");
        return;
    }
    if (!system && !require_role(c, SY_ROLE_ADMIN))
        return;
    json_t *body = NULL;
    if (!optional_body(c, &body))
        return;
    static const char *const fields[] = {"dry_run", NULL};
    const json_t *dry = json_object_get(body, "dry_run");
    if (body && !only_fields(c, body, fields)) {
        json_decref(body);
        return;
    }
    if (dry && !json_is_boolean(dry)) {
        json_decref(body);
        reply_error(c, 400, "invalid_input", "dry_run", "dry_run must be true or false");
        return;
    }
    sy_err_t err = {0};
    json_t *out = NULL;
    int rc = sy_engine_auto_promotion_check(c->eng, system ? NULL : &c->who,
                                            dry ? json_is_true(dry) : -1, &out, &err);
    json_decref(body);
    reply_result(c, rc, 200, out, &err);
}

/* ---- /v1/auto-promotion/config -------------------------------------------------------- */

static json_t *real_or_null(double v)
{
    return v > 0 ? json_real(v) : json_null();
}

void sy_api_auto_promotion_config(struct call *c)
{
    if (sy_h1_method(c->req) != SY_GET) {
        not_allowed(c, "GET");
        return;
    }
    if (!require_role(c, SY_ROLE_VIEWER) || !no_params(c))
        return;
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

void sy_api_events(struct call *c)
{
    if (sy_h1_method(c->req) != SY_POST) {
        not_allowed(c, "POST");
        return;
    }
    /* Applications send what they saw: an sdk token may ingest. */
    if (!require_role(c, SY_ROLE_SDK))
        return;
    size_t len;
    const char *body = sy_h1_body(c->req, &len);
    sy_arena_t arena;
    sy_arena_init(&arena, len * 32 + 65536);
    sy_value_t doc;
    sy_err_t err = {0};
    sy_event_t *ev = NULL;
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
