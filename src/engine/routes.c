/* routes.c - the proxy's routes: what each splits between its `legacy` and `new` upstreams,
 * how it detects a request's domain, and which domains it never sends to `new`.
 *
 * A route's definition is validated whole and kept normalized (route_def.c), in memory and
 * in the store, and typed (core/route_spec.h, made once by codec/route_json.h: what the
 * data plane gets and what the engine itself reads); a change is one transaction with its audit
 * event, after which the data plane is told (sy_engine_on_routes). Percentage and enabled have
 * their own calls, with a reason, because they are what people change during a rollout. Also here:
 * what the data plane reports of a route's breaker, and the rollout plans' steps. The counters per
 * minute are route_stats.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/route_json.h"
#include "core/route.h"
#include "core/route_health.h"
#include "engine/internal.h"

#define REASON_MAX 512

/* ---- state ------------------------------------------------------------------------------------
 */

struct route *sy_eng_route_find(sy_engine_t *eng, int64_t ws, const char *name)
{
    for (size_t i = 0; i < eng->n_routes; i++)
        if (eng->routes[i].ws == ws && strcmp(eng->routes[i].name, name) == 0)
            return &eng->routes[i];
    return NULL;
}

/* A route of another name (of any workspace: a port is the machine's) listening on
 * s's `listen` without a prefix, or with the same prefix. */
static const struct route *clash(const sy_engine_t *eng, int64_t ws, const sy_route_spec_t *s)
{
    for (size_t i = 0; i < eng->n_routes; i++) {
        const struct route *r = &eng->routes[i];
        const sy_route_spec_t *o = &r->spec->r[0];
        if (r->ws == ws && strcmp(r->name, s->name) == 0)
            continue;
        /* one address, and on it one route per prefix (none being the whole address) */
        if (strcmp(o->listen, s->listen) == 0 &&
            (!*s->path_prefix || !*o->path_prefix || strcmp(o->path_prefix, s->path_prefix) == 0))
            return r;
    }
    return NULL;
}

/* Appends r to rs as it is in force: its definition with the percentage, enabled and times
 * now, and its workspace's kill switch. 0 or -ENOMEM (rs as it was). */
static int add_in_force(sy_engine_t *eng, sy_routes_t *rs, const struct route *r)
{
    if (sy_routes_add(rs, &r->spec->r[0]) < 0)
        return -ENOMEM;
    sy_route_spec_t *s = &rs->r[rs->n - 1];
    s->ws = r->ws;
    s->percentage_bp = (uint32_t)r->bp;
    s->enabled = r->enabled;
    s->killed = sy_engine_kill_switch_engaged(eng, r->ws, NULL, 0);
    s->created_ms = r->created_ms;
    s->updated_ms = r->updated_ms;
    return 0;
}

/* r as it is in force, as the API shows it (audit events' before and after). */
static json_t *route_json(const struct route *r)
{
    sy_route_spec_t s = r->spec->r[0]; /* its strings and arrays stay r's */
    s.ws = r->ws;
    s.percentage_bp = (uint32_t)r->bp;
    s.enabled = r->enabled;
    s.created_ms = r->created_ms;
    s.updated_ms = r->updated_ms;
    return sy_route_spec_to_json(&s);
}

/* The members of a route's JSON that the store keeps in columns of their own, not in its
 * definition's text. */
static const char *const COLUMNS[] = {"name", "percentage", "enabled", "created_ms", "updated_ms"};

/* r's definition as the store holds it (the route's JSON without COLUMNS); owned, NULL when
 * out of memory. */
static char *def_text(const struct route *r)
{
    json_t *o = route_json(r);
    for (size_t i = 0; o && i < sizeof(COLUMNS) / sizeof(COLUMNS[0]); i++)
        json_object_del(o, COLUMNS[i]);
    char *text = o ? sy_json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

struct load {
    sy_engine_t *eng;
    sy_err_t *err;
};

/* A stored route: its definition's text with its columns, read strictly (codec/route_json.h)
 * as a route the API shows. */
static int load_route(void *arg, const sy_store_route_t *row)
{
    struct load *l = arg;
    sy_engine_t *eng = l->eng;
    json_error_t je;
    json_t *def = json_loads(row->definition, 0, &je);
    if (!def || sy_eng_grow((void **)&eng->routes, &eng->cap_routes, eng->n_routes + 1,
                            sizeof(*eng->routes)) < 0) {
        json_decref(def);
        return def ? -ENOMEM : -EIO;
    }
    struct route r = {.id = row->id,
                      .ws = row->workspace,
                      .bp = row->percentage_bp,
                      .enabled = row->enabled,
                      .created_ms = row->created_ms,
                      .updated_ms = row->updated_ms};
    snprintf(r.name, sizeof(r.name), "%s", row->name);
    sy_err_t why = {0};
    int rc = json_object_update_new(def, json_pack("{sssfsbsIsI}", "name", r.name, "percentage",
                                                   (double)r.bp / 100, "enabled", r.enabled,
                                                   "created_ms", (json_int_t)r.created_ms,
                                                   "updated_ms", (json_int_t)r.updated_ms)) < 0
                 ? -ENOMEM
                 : 0;
    r.spec = rc == 0 ? sy_routes_new() : NULL;
    if (rc == 0)
        rc = r.spec ? sy_route_spec_from_json(def, r.ws, false, r.spec, &why) : -ENOMEM;
    json_decref(def);
    if (rc < 0) {
        sy_routes_free(r.spec);
        return rc == -ENOMEM ? rc
                             : sy_err_set(l->err, -EIO, why.field,
                                          "store: route \"%s\" of workspace %lld: %s", row->name,
                                          (long long)row->workspace, why.msg);
    }
    eng->routes[eng->n_routes++] = r;
    return 0;
}

int sy_eng_routes_open(sy_engine_t *eng, sy_err_t *err)
{
    struct load l = {.eng = eng, .err = err};
    int rc = sy_store_route_list(eng->store, load_route, &l, err);
    if (rc == -EIO && err && !err->msg[0])
        return sy_err_set(err, rc, NULL, "store: a route's definition does not parse");
    return rc == -ENOMEM ? sy_eng_oom(err) : rc;
}

int sy_eng_routes_sync(sy_engine_t *eng, sy_err_t *err)
{
    struct route *old = eng->routes;
    size_t n_old = eng->n_routes, cap_old = eng->cap_routes;
    eng->routes = NULL;
    eng->n_routes = eng->cap_routes = 0;
    struct load l = {.eng = eng, .err = err};
    int rc = sy_store_route_list(eng->store, load_route, &l, err);
    if (rc < 0) { /* the routes as they were */
        for (size_t i = 0; i < eng->n_routes; i++)
            sy_routes_free(eng->routes[i].spec);
        free(eng->routes);
        eng->routes = old;
        eng->n_routes = n_old;
        eng->cap_routes = cap_old;
        if (rc == -EIO && err && !err->msg[0])
            return sy_err_set(err, rc, NULL, "store: a route's definition does not parse");
        return rc == -ENOMEM ? sy_eng_oom(err) : rc;
    }
    /* what this node's data plane reported and its plan's progress stay with their route */
    for (size_t i = 0; i < eng->n_routes; i++) {
        struct route *r = &eng->routes[i];
        for (size_t k = 0; k < n_old; k++)
            if (old[k].id == r->id) {
                memcpy(r->breaker, old[k].breaker, sizeof(r->breaker));
                memcpy(r->reported, old[k].reported, sizeof(r->reported));
                r->step_ms = old[k].bp == r->bp ? old[k].step_ms : 0;
                r->base_n = old[k].base_n;
                r->base_e = old[k].base_e;
            }
    }
    for (size_t k = 0; k < n_old; k++)
        sy_routes_free(old[k].spec);
    free(old);
    sy_eng_routes_changed(eng);
    return 0;
}

void sy_eng_routes_close(sy_engine_t *eng)
{
    for (size_t i = 0; i < eng->n_routes; i++)
        sy_routes_free(eng->routes[i].spec);
    free(eng->routes);
    eng->routes = NULL;
    eng->n_routes = eng->cap_routes = 0;
    free(eng->listen_errs);
    eng->listen_errs = NULL;
    eng->n_listen_errs = 0;
}

int sy_engine_routes_listen_errors(sy_engine_t *eng, const sy_route_listen_error_t *v, size_t n,
                                   sy_err_t *err)
{
    sy_route_listen_error_t *copy = NULL;
    if (n && !(copy = malloc(n * sizeof(*copy))))
        return sy_eng_oom(err);
    if (n)
        memcpy(copy, v, n * sizeof(*copy));
    free(eng->listen_errs);
    eng->listen_errs = copy;
    eng->n_listen_errs = n;
    return 0;
}

int sy_engine_route_listen_errnum(const sy_engine_t *eng, const char *listen)
{
    for (size_t i = 0; i < eng->n_listen_errs; i++)
        if (strcmp(eng->listen_errs[i].listen, listen) == 0)
            return eng->listen_errs[i].errnum;
    return 0;
}

/* Writes `next` (for the route `old`, NULL when new) with its audit event `action` and
 * `why`; then takes it in (its spec is owned by it afterwards). */
static int commit(sy_engine_t *eng, const sy_principal_t *actor, struct route *old,
                  struct route *next, const char *action, const char *why, sy_routes_t **out,
                  sy_err_t *err)
{
    char *text = def_text(next);
    json_t *before = old ? route_json(old) : NULL, *after = route_json(next);
    if (after && why && json_object_set_new(after, "reason", json_string(why)) < 0)
        json_decref(after), after = NULL;
    if (old && next->bp != old->bp)
        next->step_ms = 0; /* a new step: the plan holds it from now */
    /* Everything that can fail before the commit (the table's room, the answer): after it
     * the route only takes its place. */
    *out = sy_routes_new();
    if (*out && add_in_force(eng, *out, next) < 0) {
        sy_routes_free(*out);
        *out = NULL;
    }
    int rc = text && after && *out && (!old || before) &&
                     (old || sy_eng_grow((void **)&eng->routes, &eng->cap_routes, eng->n_routes + 1,
                                         sizeof(*eng->routes)) == 0)
                 ? sy_store_begin(eng->store, err)
                 : sy_eng_oom(err);
    if (rc == 0) {
        char res[SY_ROUTE_MAX_NAME + 8];
        snprintf(res, sizeof(res), "route:%s", next->name);
        sy_store_route_t row = {.workspace = next->ws,
                                .name = next->name,
                                .definition = text,
                                .percentage_bp = next->bp,
                                .enabled = next->enabled,
                                .created_ms = next->created_ms,
                                .updated_ms = next->updated_ms};
        if ((rc = sy_store_route_put(eng->store, &row, &next->id, err)) < 0 ||
            (rc = sy_eng_audit(eng, actor, next->ws, action, res, before, after, err)) < 0 ||
            (rc = sy_store_announce(eng->store, next->ws, "routes", next->id, err)) < 0)
            sy_store_rollback(eng->store);
        else
            rc = sy_store_commit(eng->store, err);
    }
    if (rc == 0) {
        if (old) {
            if (old->spec != next->spec)
                sy_routes_free(old->spec);
            *old = *next;
        } else {
            eng->routes[eng->n_routes++] = *next;
        }
        sy_eng_routes_changed(eng);
    } else {
        sy_routes_free(*out);
        *out = NULL;
    }
    free(text);
    json_decref(before);
    json_decref(after);
    return rc;
}

/* ---- the API ----------------------------------------------------------------------------------
 */

/* A whole route named `name` from `def`: its definition, percentage and enabled (the
 * defaults of a new route, or `old`'s when not given), its spec its own. */
static int whole(sy_engine_t *eng, int64_t ws, const char *name, const sy_route_def_t *def,
                 const struct route *old, struct route *next, sy_err_t *err)
{
    int64_t now = sy_engine_now_ms(eng);
    const sy_route_spec_t *s = def->spec;
    *next = (struct route){.ws = ws,
                           .bp = def->has_percentage ? s->percentage_bp
                                 : old               ? old->bp
                                                     : 0,
                           .enabled = def->has_enabled ? s->enabled
                                      : old            ? old->enabled
                                                       : true,
                           .created_ms = old ? old->created_ms : now,
                           .updated_ms = now,
                           .id = old ? old->id : 0};
    if (old) { /* what the data plane told of it outlives a new definition */
        memcpy(next->breaker, old->breaker, sizeof(next->breaker));
        memcpy(next->reported, old->reported, sizeof(next->reported));
        next->step_ms = old->step_ms;
        next->base_n = old->base_n;
        next->base_e = old->base_e;
    }
    snprintf(next->name, sizeof(next->name), "%s", name);
    /* everything the data plane will be given is refused here, naming its field */
    int rc = sy_route_spec_check(s, err);
    if (rc == 0 && strcmp(s->name, name) != 0)
        rc = sy_err_set(err, -EINVAL, "name", "the body's name is the path's, if given");
    const struct route *other = rc == 0 ? clash(eng, ws, s) : NULL;
    /* Listen addresses are one space for every workspace; another's route is not named. */
    if (other && other->ws == ws)
        rc = sy_err_set(err, SY_ECONFLICT, *s->path_prefix ? "path_prefix" : "listen",
                        "route \"%s\" serves that already", other->name);
    else if (other)
        rc = sy_err_set(err, SY_ECONFLICT, *s->path_prefix ? "path_prefix" : "listen",
                        "another workspace's route serves that already");
    if (rc == 0) {
        next->spec = sy_routes_new();
        if (!next->spec || sy_routes_add(next->spec, s) < 0)
            rc = sy_eng_oom(err);
    }
    if (rc == 0) { /* the spec as it is in force when it is made; the fields above rule */
        sy_route_spec_t *mine = &next->spec->r[0];
        mine->ws = ws;
        mine->killed = false;
        mine->percentage_bp = (uint32_t)next->bp;
        mine->enabled = next->enabled;
        mine->created_ms = next->created_ms;
        mine->updated_ms = next->updated_ms;
    } else {
        sy_routes_free(next->spec);
        next->spec = NULL;
    }
    return rc;
}

int sy_engine_route_create(sy_engine_t *eng, const sy_principal_t *actor, const sy_route_def_t *def,
                           sy_routes_t **out, sy_err_t *err)
{
    const char *name = def->spec->name;
    *out = NULL;
    if (!sy_route_is_token(name, SY_ROUTE_MAX_NAME))
        return sy_err_set(err, -EINVAL, "name", "name is 1 to %d letters, digits, - _ or .",
                          SY_ROUTE_MAX_NAME);
    /* "." and ".." are dot segments: a browser (the console) or any client that normalizes
     * URLs sends /v1/routes/./health as /v1/routes/health, another route's */
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return sy_err_set(err, -EINVAL, "name",
                          "name may not be \".\" or \"..\": a URL path cannot hold them");
    if (sy_eng_route_find(eng, actor->workspace, name))
        return sy_err_set(err, -EEXIST, "name", "route \"%s\" exists already", name);
    struct route next;
    int rc = whole(eng, actor->workspace, name, def, NULL, &next, err);
    if (rc == 0 && (rc = commit(eng, actor, NULL, &next, "route.create", NULL, out, err)) < 0)
        sy_routes_free(next.spec);
    return rc;
}

int sy_engine_route_replace(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                            const sy_route_def_t *def, sy_routes_t **out, sy_err_t *err)
{
    *out = NULL;
    struct route *old = sy_eng_route_find(eng, actor->workspace, name);
    if (!old)
        return sy_err_set(err, -ENOENT, "name", "no such route");
    struct route next;
    int rc = whole(eng, actor->workspace, name, def, old, &next, err);
    if (rc == 0 && (rc = commit(eng, actor, old, &next, "route.update", NULL, out, err)) < 0)
        sy_routes_free(next.spec);
    return rc;
}

/* A reason: 1 to REASON_MAX characters, required. */
static int reason_ok(const char *why, sy_err_t *err)
{
    if (!sy_eng_valid_name(why, REASON_MAX))
        return sy_err_set(err, -EINVAL, "reason", "a reason is required (1 to %d characters)",
                          REASON_MAX);
    return 0;
}

/* Route `name` with `next` (a copy of it, one value moved), with a reason. */
static int set_one(sy_engine_t *eng, const sy_principal_t *actor, struct route *old,
                   struct route *next, const char *action, const char *why, sy_routes_t **out,
                   sy_err_t *err)
{
    int rc = reason_ok(why, err);
    if (rc < 0)
        return rc;
    next->updated_ms = sy_engine_now_ms(eng);
    return commit(eng, actor, old, next, action, why, out, err);
}

int sy_engine_route_percentage(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                               const sy_route_percentage_change_t *change, sy_routes_t **out,
                               sy_err_t *err)
{
    struct route *old = sy_eng_route_find(eng, actor->workspace, name);
    if (!old)
        return sy_err_set(err, -ENOENT, "name", "no such route");
    struct route next = *old;
    uint32_t bp;
    if (sy_route_percentage_bp(change->percentage, &bp) < 0)
        return sy_err_set(err, -EINVAL, "percentage",
                          "percentage is a number from 0 to 100 with at most two decimals");
    next.bp = bp;
    return set_one(eng, actor, old, &next, "route.percentage", change->reason, out, err);
}

int sy_engine_route_enabled(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                            const sy_route_enabled_change_t *change, sy_routes_t **out,
                            sy_err_t *err)
{
    struct route *old = sy_eng_route_find(eng, actor->workspace, name);
    if (!old)
        return sy_err_set(err, -ENOENT, "name", "no such route");
    struct route next = *old;
    next.enabled = change->enabled;
    return set_one(eng, actor, old, &next, "route.enabled", change->reason, out, err);
}

int sy_engine_route_get(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                        sy_routes_t **out, sy_err_t *err)
{
    const struct route *r = sy_eng_route_find(eng, actor->workspace, name);
    if (!r)
        return sy_err_set(err, -ENOENT, "name", "no such route");
    *out = sy_routes_new();
    if (!*out || add_in_force(eng, *out, r) < 0) {
        sy_routes_free(*out);
        *out = NULL;
        return sy_eng_oom(err);
    }
    return 0;
}

int sy_engine_route_list(sy_engine_t *eng, const sy_principal_t *actor, sy_routes_t **out,
                         sy_err_t *err)
{
    sy_routes_t *rs = sy_routes_new();
    for (size_t i = 0; rs && i < eng->n_routes; i++)
        if (eng->routes[i].ws == actor->workspace && add_in_force(eng, rs, &eng->routes[i]) < 0) {
            sy_routes_free(rs);
            rs = NULL;
        }
    *out = rs;
    return rs ? 0 : sy_eng_oom(err);
}

int sy_engine_route_delete(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                           sy_err_t *err)
{
    struct route *r = sy_eng_route_find(eng, actor->workspace, name);
    if (!r)
        return sy_err_set(err, -ENOENT, "name", "no such route");
    json_t *before = route_json(r);
    char res[SY_ROUTE_MAX_NAME + 8];
    snprintf(res, sizeof(res), "route:%s", name);
    int rc = before ? sy_store_begin(eng->store, err) : sy_eng_oom(err);
    if (rc == 0) {
        if ((rc = sy_store_route_delete(eng->store, r->ws, r->name, err)) < 0 ||
            (rc = sy_eng_audit(eng, actor, r->ws, "route.delete", res, before, NULL, err)) < 0 ||
            (rc = sy_store_announce(eng->store, r->ws, "routes", r->id, err)) < 0)
            sy_store_rollback(eng->store);
        else
            rc = sy_store_commit(eng->store, err);
    }
    json_decref(before);
    if (rc == 0) {
        sy_routes_free(r->spec);
        size_t i = (size_t)(r - eng->routes);
        memmove(r, r + 1, (eng->n_routes - i - 1) * sizeof(*r));
        eng->n_routes--;
        sy_eng_routes_changed(eng);
    }
    return rc;
}

void sy_eng_routes_changed(sy_engine_t *eng)
{
    if (eng->routes_changed)
        eng->routes_changed(eng->routes_changed_arg);
}

void sy_engine_on_routes(sy_engine_t *eng, void (*fn)(void *arg), void *arg)
{
    eng->routes_changed = fn;
    eng->routes_changed_arg = arg;
}

sy_routes_t *sy_engine_routes_all(sy_engine_t *eng)
{
    sy_routes_t *rs = sy_routes_new();
    for (size_t i = 0; rs && i < eng->n_routes; i++)
        if (add_in_force(eng, rs, &eng->routes[i]) < 0) {
            sy_routes_free(rs);
            return NULL;
        }
    return rs;
}

int sy_eng_route_breaker_write(sy_engine_t *eng, int64_t ws, const char *name, const char *state,
                               int64_t at_ms, struct breaker_move *m, sy_err_t *err)
{
    *m = (struct breaker_move){0};
    struct route *r = sy_eng_route_find(eng, ws, name);
    if (!r)
        return sy_err_set(err, -ENOENT, "name", "no such route");
    const char *was = r->breaker[0] ? r->breaker : "closed";
    if (strcmp(was, state) == 0)
        return 0;
    char res[SY_ROUTE_MAX_NAME + 8], title[SY_ROUTE_MAX_NAME + 160], when[24];
    snprintf(res, sizeof(res), "route:%s", name);
    snprintf(when, sizeof(when), "%lld", (long long)at_ms);
    bool open = strcmp(state, "open") == 0, closed = strcmp(state, "closed") == 0;
    snprintf(title, sizeof(title), "Route %s: circuit breaker %s%s", name, state,
             open     ? ": everything goes to legacy"
             : closed ? ": new serves again"
                      : "");
    json_t *before = json_pack("{ss}", "breaker", was),
           *after = json_pack("{sssI}", "breaker", state, "at_ms", (json_int_t)at_ms);
    struct sy_eng_note n = {.event = "breaker",
                            .level = "critical",
                            .resolve = closed,
                            .condition = true,
                            .resource = res,
                            .occurrence = when,
                            .title = title,
                            .details = after};
    int rc = before && after ? 0 : sy_eng_oom(err);
    if (rc == 0)
        rc = sy_eng_audit(eng, NULL, ws, "route.breaker", res, before, after, err);
    if (rc == 0 && (open || closed))
        rc = sy_eng_notify(eng, ws, &n, err);
    json_decref(before);
    json_decref(after);
    /* A rollout plan goes back to 0 when the breaker opens, in the same transaction: it
     * starts over from there. */
    m->abort_plan = open && r->bp > 0 && r->spec->r[0].has_plan;
    if (rc == 0 && m->abort_plan) {
        struct route next = *r;
        next.bp = 0;
        next.updated_ms = sy_engine_now_ms(eng);
        char *text = def_text(&next);
        json_t *pb = route_json(r), *pa = route_json(&next);
        if (pa &&
            json_object_set_new(pa, "reason", json_string("plan: the circuit breaker opened")) < 0)
            json_decref(pa), pa = NULL;
        sy_store_route_t row = {.workspace = ws,
                                .name = r->name,
                                .definition = text,
                                .percentage_bp = 0,
                                .enabled = next.enabled,
                                .created_ms = next.created_ms,
                                .updated_ms = next.updated_ms};
        int64_t id;
        rc = text && pb && pa ? sy_store_route_put(eng->store, &row, &id, err) : sy_eng_oom(err);
        if (rc == 0)
            rc = sy_eng_audit(eng, NULL, ws, "route.plan.abort", res, pb, pa, err);
        free(text);
        json_decref(pb);
        json_decref(pa);
        m->now_ms = next.updated_ms;
    }
    if (rc == 0) {
        m->r = r;
        snprintf(m->state, sizeof(m->state), "%s", state);
    }
    return rc;
}

void sy_eng_route_breaker_apply(sy_engine_t *eng, const struct breaker_move *m)
{
    if (!m->r)
        return; /* nothing moved */
    snprintf(m->r->breaker, sizeof(m->r->breaker), "%s", m->state);
    if (m->abort_plan) {
        m->r->bp = 0;
        m->r->updated_ms = m->now_ms;
        m->r->step_ms = 0; /* a new step: the plan holds it from now */
        sy_eng_routes_changed(eng);
    }
}

int sy_engine_route_breaker(sy_engine_t *eng, int64_t ws, const char *name, const char *state,
                            int64_t at_ms, sy_err_t *err)
{
    struct breaker_move m;
    if (!sy_eng_route_find(eng, ws, name))
        return sy_err_set(err, -ENOENT, "name", "no such route");
    int rc = sy_store_begin(eng->store, err);
    if (rc < 0)
        return rc;
    if ((rc = sy_eng_route_breaker_write(eng, ws, name, state, at_ms, &m, err)) < 0) {
        sy_store_rollback(eng->store);
        return rc;
    }
    if ((rc = sy_store_commit(eng->store, err)) < 0)
        return rc;
    sy_eng_route_breaker_apply(eng, &m);
    return 0;
}

/* Adds what proxy-only processes reported of r's `upstream` to h. The p95 of the two
 * together lies between theirs: the larger is the one a gate may trust. */
static void add_reported(const struct route *r, int upstream, sy_route_health_t *h)
{
    h->requests += r->reported[upstream].requests;
    h->errors += r->reported[upstream].errors;
    double p95 = sy_lat_quantile(r->reported[upstream].hist, r->reported[upstream].answered, 0.95);
    if (p95 > h->p95_ms)
        h->p95_ms = p95;
}

int sy_engine_route_reported(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                             int upstream, sy_route_health_t *h)
{
    const struct route *r = sy_eng_route_find(eng, actor->workspace, name);
    if (!r || upstream < 0 || upstream > 1)
        return -ENOENT;
    add_reported(r, upstream, h);
    return 0;
}

int sy_engine_route_gates(sy_engine_t *eng, const sy_principal_t *actor, const char *name,
                          sy_route_gates_t *out, sy_err_t *err)
{
    const struct route *r = sy_eng_route_find(eng, actor->workspace, name);
    if (!r)
        return sy_err_set(err, -ENOENT, "name", "no such route");
    *out = r->spec->r[0].health;
    return 0;
}

const char *sy_engine_route_breaker_state(sy_engine_t *eng, const sy_principal_t *actor,
                                          const char *name)
{
    static const char *const states[] = {"open", "half_open", "closed"};
    const struct route *r = sy_eng_route_find(eng, actor->workspace, name);
    for (size_t i = 0; r && i < sizeof(states) / sizeof(states[0]); i++)
        if (strcmp(r->breaker, states[i]) == 0)
            return states[i]; /* a constant: no pointer into the engine's state */
    return "closed";
}

/* The plan's step after (up > 0) or before (up < 0) `bp`, in basis points: the first step
 * above it, or the last below it (0 when none). -1 when there is none above. */
static int64_t step_from(const sy_route_plan_t *plan, int64_t bp, int up)
{
    int64_t below = 0;
    for (size_t i = 0; i < plan->n_steps; i++) {
        int64_t v = plan->steps_bp[i];
        if (up > 0 && v > bp)
            return v;
        if (up < 0 && v < bp)
            below = v;
    }
    return up > 0 ? -1 : below;
}

int sy_engine_routes_plan_tick(sy_engine_t *eng, sy_route_health_fn fn, void *arg,
                               sy_route_move_t **moves, size_t *n_moves)
{
    *moves = NULL;
    *n_moves = 0;
    /* a route moves at most once a tick: room for every move, before any is made */
    sy_route_move_t *done = eng->n_routes ? calloc(eng->n_routes, sizeof(*done)) : NULL;
    if (eng->n_routes && !done)
        return -ENOMEM;
    int64_t now = sy_engine_now_ms(eng);
    for (size_t i = 0; i < eng->n_routes; i++) {
        struct route *r = &eng->routes[i];
        const sy_route_spec_t *s = &r->spec->r[0];
        const sy_route_plan_t *plan = &s->plan;
        sy_route_health_t h;
        if (!s->has_plan || !r->enabled || strcmp(r->breaker, "open") == 0 ||
            sy_engine_kill_switch_engaged(eng, r->ws, NULL, 0) || fn(arg, r->ws, r->name, &h) < 0)
            continue;
        add_reported(r, 1, &h);
        if (r->step_ms == 0) { /* the step starts now */
            r->step_ms = now;
            r->base_n = h.requests;
            r->base_e = h.errors;
            continue;
        }
        /* the step's own counts (those at its start subtracted); the p95 is new's since
         * the start */
        int64_t n = h.requests - r->base_n;
        sy_route_health_t step = {
            .requests = n, .errors = h.errors - r->base_e, .p95_ms = h.p95_ms};
        sy_route_verdict_t v = sy_route_judge(&s->health, &step, plan->min_requests);
        double rate = v.error_rate;
        bool bad = v.failing;
        /* from 0 the first step needs no evidence: nothing went to new yet */
        bool enough = v.enough || r->bp == 0;
        bool held = now - r->step_ms >= 1000 * plan->hold_s;
        int64_t to = bad              ? step_from(plan, r->bp, -1)
                     : held && enough ? step_from(plan, r->bp, 1)
                                      : -1;
        if (to < 0 || to == r->bp || (bad && r->bp == 0))
            continue;
        char why[256];
        snprintf(why, sizeof(why),
                 "plan: %s after %lld requests to new, error rate %.4f%%, p95 %.1f ms",
                 bad ? "health failed" : "step held", (long long)n, 100 * rate, h.p95_ms);
        struct route next = *r;
        next.bp = to;
        next.updated_ms = now;
        sy_routes_t *out = NULL;
        sy_err_t err = {0};
        int64_t from = r->bp;
        if (commit(eng, NULL, r, &next, bad ? "route.plan.back" : "route.plan.advance", why, &out,
                   &err) < 0)
            continue;
        sy_routes_free(out);
        r->step_ms = now; /* the new step's counts start here */
        r->base_n = h.requests;
        r->base_e = h.errors;
        sy_route_move_t *m = &done[(*n_moves)++];
        m->ws = r->ws;
        snprintf(m->route, sizeof(m->route), "%s", r->name);
        m->back = bad;
        m->from_bp = (uint32_t)from;
        m->to_bp = (uint32_t)to;
        snprintf(m->reason, sizeof(m->reason), "%s", why);
    }
    if (*n_moves)
        *moves = done;
    else
        free(done);
    return 0;
}
