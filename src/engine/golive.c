/* golive.c - the workspace's kill switch: while it is engaged, production executions are
 * refused (GET /v1/go-live/check, requests marked X-Execution-Class: PROD_EXEC, risk
 * reservations). A person engages it, or a KILL_SWITCH tripwire; only a person disengages
 * it. The state is a workspace setting ("kill_switch"), kept in memory for the checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/api_json.h"
#include "engine/internal.h"

/* The state as the API shows it. */
static void state_out(const struct kill_switch *k, sy_kill_switch_t *out)
{
    *out = (sy_kill_switch_t){
        .engaged = k->engaged, .set = k->changed_ms != 0, .changed_ms = k->changed_ms};
    snprintf(out->reason, sizeof(out->reason), "%s", k->reason);
    snprintf(out->actor, sizeof(out->actor), "%s", k->actor);
}

/* As the store keeps it and the audit trail shows it: the API's writer. */
static json_t *state_json(const struct kill_switch *k)
{
    sy_kill_switch_t s;
    state_out(k, &s);
    return sy_kill_switch_state_json(&s);
}

static int load_setting(void *arg, int64_t ws, const char *name, const char *value)
{
    struct workspace *w = sy_eng_find_ws(arg, ws);
    if (!w || !name || strcmp(name, "kill_switch") != 0)
        return 0;
    json_error_t je;
    json_t *v = value ? json_loads(value, 0, &je) : NULL;
    const char *reason = json_string_value(json_object_get(v, "reason"));
    const char *actor = json_string_value(json_object_get(v, "actor"));
    int rc = json_is_boolean(json_object_get(v, "engaged")) && reason && actor ? 0 : -EIO;
    if (rc == 0) {
        w->kill.engaged = json_is_true(json_object_get(v, "engaged"));
        snprintf(w->kill.reason, sizeof(w->kill.reason), "%s", reason);
        snprintf(w->kill.actor, sizeof(w->kill.actor), "%s", actor);
        w->kill.changed_ms = json_integer_value(json_object_get(v, "changed_ms"));
    }
    json_decref(v);
    return rc;
}

struct kill_read {
    sy_engine_t *eng;
    int64_t ws;
    struct kill_switch *out;
};

static int read_setting(void *arg, int64_t ws, const char *name, const char *value)
{
    struct kill_read *k = arg;
    if (ws != k->ws)
        return 0;
    /* load_setting writes into the workspace: read into a copy of it, keep its switch */
    struct workspace *w = sy_eng_find_ws(k->eng, ws);
    if (!w)
        return 0;
    struct kill_switch was = w->kill;
    int rc = load_setting(k->eng, ws, name, value);
    *k->out = w->kill;
    w->kill = was;
    return rc;
}

int sy_eng_kill_switch_read(sy_engine_t *eng, int64_t ws, struct kill_switch *out, sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, ws);
    if (!w)
        return sy_err_set(err, -ENOENT, NULL, "no workspace %lld", (long long)ws);
    *out = w->kill;
    struct kill_read k = {.eng = eng, .ws = ws, .out = out};
    int rc = sy_store_setting_list(eng->store, read_setting, &k, err);
    return rc == -EIO ? sy_err_set(err, rc, NULL, "store: a workspace's kill switch does not load")
                      : rc;
}

struct kill_new {
    sy_engine_t *eng;
    size_t from; /* the first of the workspaces read */
    struct kill_switch *out;
};

static int read_new_setting(void *arg, int64_t ws, const char *name, const char *value)
{
    struct kill_new *k = arg;
    struct workspace *w = sy_eng_find_ws(k->eng, ws);
    if (!w || (size_t)(w - k->eng->ws) < k->from)
        return 0;
    struct kill_switch was = w->kill;
    int rc = load_setting(k->eng, ws, name, value);
    k->out[w - k->eng->ws - k->from] = w->kill;
    w->kill = was;
    return rc;
}

int sy_eng_kill_switch_read_from(sy_engine_t *eng, size_t from, struct kill_switch *out,
                                 sy_err_t *err)
{
    for (size_t i = from; i < eng->n_ws; i++)
        out[i - from] = eng->ws[i].kill;
    struct kill_new k = {.eng = eng, .from = from, .out = out};
    int rc = sy_store_setting_list(eng->store, read_new_setting, &k, err);
    return rc == -EIO ? sy_err_set(err, rc, NULL, "store: a workspace's kill switch does not load")
                      : rc;
}

int sy_eng_kill_switch_open(sy_engine_t *eng, sy_err_t *err)
{
    int rc = sy_store_setting_list(eng->store, load_setting, eng, err);
    if (rc == -EIO)
        return sy_err_set(err, rc, NULL, "store: a workspace's kill switch does not load");
    for (size_t i = 0; rc == 0 && i < eng->n_ws; i++) {
        struct workspace *w = &eng->ws[i];
        struct snap *s = w->kill.engaged ? sy_eng_served_prepare(eng, w, &w->kill) : NULL;
        if (w->kill.engaged && !s)
            rc = sy_eng_oom(err);
        else if (s)
            sy_eng_snap_swap(eng, w, s, w->revision);
    }
    return rc;
}

int sy_eng_kill_switch_write(sy_engine_t *eng, const sy_principal_t *actor, int64_t ws,
                             bool engaged, const char *reason, const char *by,
                             struct kill_change *c, sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, ws);
    c->served = NULL;
    if (!w)
        return sy_err_set(err, -ENOENT, NULL, "no such workspace");
    struct kill_switch *next = &c->next;
    *next = (struct kill_switch){.engaged = engaged, .changed_ms = sy_engine_now_ms(eng)};
    snprintf(next->reason, sizeof(next->reason), "%s", reason);
    snprintf(next->actor, sizeof(next->actor), "%s", by);
    json_t *before = state_json(&w->kill), *after = state_json(next);
    char *text = after ? sy_json_dumps(after, JSON_COMPACT) : NULL;
    /* What is served under it, before anything is written: once committed, serving it
     * cannot fail (a kill switch committed but not served is worse than a refusal). */
    c->served = sy_eng_served_prepare(eng, w, next);
    /* what OFREP serves changes: a new revision, so that no ETag matches the old answers */
    int rc = text && before && c->served
                 ? sy_store_setting_put(eng->store, ws, "kill_switch", text, err)
                 : sy_eng_oom(err);
    if (rc == 0)
        rc = sy_store_workspace_bump(eng->store, ws, &next->revision, err);
    if (rc == 0) /* other nodes serve it too (sync.c) */
        rc = sy_store_announce(eng->store, ws, "served", next->revision, err);
    if (rc == 0)
        rc = sy_eng_audit(eng, actor, ws, engaged ? "killswitch.engage" : "killswitch.disengage",
                          "kill_switch", before, after, err);
    char title[KILL_TEXT_MAX + 160], occurrence[24];
    snprintf(title, sizeof(title), "Kill switch %s by %.128s: %s",
             engaged ? "ENGAGED (experiments serve their control, production actions refused)"
                     : "disengaged",
             by, reason);
    snprintf(occurrence, sizeof(occurrence), "%lld", (long long)next->revision);
    struct sy_eng_note n = {.event = "kill_switch",
                            .level = "critical",
                            .resolve = !engaged,
                            .condition = true,
                            .resource = "kill_switch",
                            .occurrence = occurrence,
                            .title = title,
                            .details = after};
    if (rc == 0)
        rc = sy_eng_notify(eng, ws, &n, err);
    if (rc < 0)
        sy_eng_kill_switch_drop(c);
    free(text);
    json_decref(before);
    json_decref(after);
    return rc;
}

void sy_eng_kill_switch_set(sy_engine_t *eng, int64_t ws, struct kill_change *c)
{
    struct workspace *w = sy_eng_find_ws(eng, ws);
    if (!w || !c->served) {
        sy_eng_kill_switch_drop(c);
        return;
    }
    w->kill = c->next;
    sy_eng_snap_swap(eng, w, c->served, c->next.revision);
    c->served = NULL;
    sy_eng_routes_changed(eng); /* routes send nothing to `new` while it is engaged */
}

void sy_eng_kill_switch_drop(struct kill_change *c)
{
    sy_eng_snap_drop(c->served);
    c->served = NULL;
}

bool sy_engine_kill_switch_engaged(sy_engine_t *eng, int64_t ws, char *reason, size_t cap)
{
    struct workspace *w = sy_eng_find_ws(eng, ws);
    if (!w || !w->kill.engaged)
        return false;
    if (reason && cap)
        snprintf(reason, cap, "%s", w->kill.reason);
    return true;
}

int sy_engine_kill_switch_get(sy_engine_t *eng, const sy_principal_t *actor, sy_kill_switch_t *out,
                              sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, actor->workspace);
    if (!w)
        return sy_err_set(err, -ENOENT, NULL, "no such workspace");
    state_out(&w->kill, out);
    return 0;
}

int sy_engine_kill_switch_put(sy_engine_t *eng, const sy_principal_t *actor,
                              const sy_kill_switch_change_t *change, sy_kill_switch_t *out,
                              sy_err_t *err)
{
    int rc;
    if (!sy_eng_valid_name(change->reason, KILL_TEXT_MAX))
        return sy_err_set(err, -EINVAL, "reason", "a reason is required (1 to 512 characters)");
    if (change->actor && !sy_eng_valid_name(change->actor, 128))
        return sy_err_set(err, -EINVAL, "actor", "actor is 1 to 128 characters");
    struct kill_change c;
    if ((rc = sy_store_begin(eng->store, err)) < 0)
        return rc;
    if ((rc = sy_eng_kill_switch_write(
             eng, actor, actor->workspace, change->engaged, change->reason,
             change->actor ? change->actor : sy_eng_actor_name(actor), &c, err)) < 0) {
        sy_store_rollback(eng->store);
        return rc;
    }
    if ((rc = sy_store_commit(eng->store, err)) < 0) {
        sy_eng_kill_switch_drop(&c);
        return rc;
    }
    state_out(&c.next, out); /* a struct: nothing to fail after the commit */
    sy_eng_kill_switch_set(eng, actor->workspace, &c);
    return 0;
}
