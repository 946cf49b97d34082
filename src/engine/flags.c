/* flags.c - a workspace's flags: the document as written, compiled one flag at a time, and
 * the snapshot served from it; see engine.h ("flags", "snapshots") and internal.h.
 *
 * What a workspace keeps. Its flags as a compiled set (core/flagset.h), each flag with the
 * JSON text the store has for it (what the API shows and the audit trail records: given
 * back as it is, never parsed again); its `$evaluators` and `metadata` as written (text);
 * a pool through which its compiled flags share what repeats. No jansson copy of the whole
 * document: a change costs the flag it changes (and the flags naming an evaluator that
 * changed), whatever the number of flags.
 *
 * What it serves (struct snap). The compiled set as written, or, while the kill switch is
 * engaged, that set with every flag an active experiment drives compiled again at the
 * experiment's control: a set made from the written one by a change build, so that it
 * shares every other flag with it; one flag changing changes one flag of it.
 */
#define _DEFAULT_SOURCE
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/value_json.h"
#include "core/utf8.h"
#include "engine/internal.h"

#define DEF_ARENA_MAX ((size_t)64 << 20) /* memory one flag definition's values may use */
#define PROBLEMS_KEPT 16                 /* warnings may come before the first error */

/* ---- snapshots ----------------------------------------------------------------------- */

const sy_snapshot_t *sy_engine_snapshot(sy_engine_t *eng, int64_t ws)
{
    for (size_t i = 0; i < eng->n_ws; i++)
        if (eng->ws[i].id == ws) {
            struct snap *s = eng->ws[i].current;
            atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
            return &s->pub;
        }
    return NULL;
}

void sy_snapshot_release(const sy_snapshot_t *snap)
{
    if (!snap)
        return;
    struct snap *s = (struct snap *)snap; /* pub is the first member */
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
        sy_flagset_free(s->set);
        free(s);
    }
}

void sy_engine_on_change(sy_engine_t *eng, sy_engine_change_cb cb, void *arg)
{
    eng->on_change = cb;
    eng->on_change_arg = arg;
}

/* A snapshot of `set` (taken; NULL: out of memory already) for workspace `ws`, not yet
 * served; NULL when out of memory (then the set is freed). Made before a change commits,
 * so that nothing after the commit can fail (sy_eng_snap_swap): the view that will publish
 * it is reserved too. */
static struct snap *snap_new(sy_engine_t *eng, int64_t ws, sy_flagset_t *set)
{
    struct snap *s = set && sy_eng_view_reserve(eng) == 0 ? calloc(1, sizeof(*s)) : NULL;
    if (!s) {
        sy_flagset_free(set);
        return NULL;
    }
    s->set = set;
    s->pub = (sy_snapshot_t){.workspace = ws, .set = set};
    atomic_init(&s->refs, 1);
    return s;
}

void sy_eng_snap_drop(struct snap *s)
{
    if (s)
        sy_snapshot_release(&s->pub);
}

void sy_eng_snap_swap(sy_engine_t *eng, struct workspace *w, struct snap *s, int64_t revision)
{
    SY_ENG_OWNED(eng);
    s->pub.revision = revision;
    struct snap *old = w->current;
    w->current = s;
    w->revision = revision;
    /* Out of memory, the view stays marked stale and the next tick publishes it (monitor.c):
     * other threads serve the old snapshot for at most a second. Workspaces opened together
     * publish one view at the end (a view a workspace was quadratic: 2,001 workspaces took
     * seconds to open). */
    if (eng->view_held)
        eng->view_stale = true;
    else
        (void)sy_eng_view_publish(eng);
    if (old)
        sy_snapshot_release(&old->pub);
    if (eng->on_change)
        eng->on_change(eng->on_change_arg, w->id, revision);
}

/* Makes `set` (taken) what `w` serves from `revision` on (opening a workspace). */
static int publish(sy_engine_t *eng, struct workspace *w, sy_flagset_t *set, int64_t revision)
{
    struct snap *s = snap_new(eng, w->id, set);
    if (!s)
        return -ENOMEM;
    sy_eng_snap_swap(eng, w, s, revision);
    return 0;
}

static json_t *flag_json_in(const sy_flagset_t *flags, const char *key);

/* ---- compiling ----------------------------------------------------------------------- */

/* The first refusing problem of `p` into `err`, as -EINVAL. */
static int refused(const sy_problems_t *p, sy_err_t *err)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->items[i].error)
            return sy_err_set(err, -EINVAL, p->items[i].path, "%s%s", p->items[i].msg,
                              p->errors > 1 ? " (and more problems)" : "");
    return sy_err_set(err, -EINVAL, NULL, "the flag document is invalid (%zu problems)", p->errors);
}

/* Puts flag `key` defined by `def` into build `b`. Returns what sy_flagset_build_put does. */
static int put_src(sy_flagset_build_t *b, const char *key, const sy_flag_src_t *def)
{
    return sy_flagset_build_put(b, key, strlen(key), def->value, def->json, def->len);
}

/* Starts a whole-document build of `w`'s flags with `evaluators` and `metadata` (NULL:
 * absent). */
static int begin_document(const sy_engine_t *eng, struct workspace *w, const sy_value_t *evaluators,
                          const sy_value_t *metadata, sy_problems_t *problems,
                          sy_flagset_build_t **out)
{
    SY_ENG_OWNED(eng); /* compilation: never on a serving thread */
    sy_flagset_opts_t opts = {.fractional = eng->fractional};
    return sy_flagset_build_begin(out, w->flags, w->pool, SY_BUILD_DOCUMENT, metadata, evaluators,
                                  &opts, problems);
}

/* ---- what is served ------------------------------------------------------------------- */

/* Puts into `b` (a build of what `w` serves) flag `key` at its experiment's control, when
 * an active experiment drives it. Returns 0 when it is put, 1 when nothing drives it,
 * -EINVAL when it does not compile so (then nothing is put, and the build may go on). */
static int put_served(const sy_engine_t *eng, struct workspace *w, const sy_flagset_t *flags,
                      const char *why, sy_flagset_build_t *b, const char *key)
{
    json_t *def = flag_json_in(flags, key), *control = NULL;
    if (!def && sy_flagset_find(flags, key, strlen(key)))
        return -ENOMEM; /* its text is there: only parsing it back can have failed */
    int rc = def ? sy_eng_serve_control(eng, w->id, key, def, why, &control) : 1;
    if (rc == 0 && !control)
        rc = 1;
    char buf[8192];
    sy_arena_t arena;
    sy_arena_init_with(&arena, buf, sizeof(buf), DEF_ARENA_MAX);
    sy_value_t v;
    if (rc == 0)
        rc = sy_value_from_json(control, &arena, &v);
    if (rc == 0) {
        /* On an environment of its own: a refusal here must not refuse the build. */
        sy_flag_env_t env = *sy_flagset_build_env(b);
        env.problems = NULL;
        env.errors = 0;
        sy_flag_t *f;
        if ((rc = sy_flag_compile(&f, &env, key, strlen(key), &v, NULL, 0)) == 0) {
            rc = sy_flagset_build_put_flag(b, f);
            sy_flag_release(f);
        }
    }
    sy_arena_free(&arena);
    json_decref(def);
    json_decref(control);
    return rc;
}

struct served_all {
    const sy_engine_t *eng;
    struct workspace *w;
    const sy_flagset_t *flags;
    const char *why;
    sy_flagset_build_t *b;
};

static int put_driven(void *arg, const char *flag)
{
    struct served_all *sa = arg;
    int rc = put_served(sa->eng, sa->w, sa->flags, sa->why, sa->b, flag);
    /* A flag that will not compile at its control stays as written: the others still
     * serve theirs. Only running out of memory stops the build. */
    return rc == -ENOMEM ? rc : 0;
}

/* What `w` serves with `flags` as its flags and its kill switch `kill`, from scratch:
 * `flags`, or with the kill switch engaged a change of them, one flag per active
 * experiment. NULL when out of memory: never the document unfiltered in its place, which
 * would serve every driven flag's split while the kill switch says control. */
static sy_flagset_t *served_all(const sy_engine_t *eng, struct workspace *w,
                                const sy_flagset_t *flags, const struct kill_switch *kill)
{
    SY_ENG_OWNED(eng);
    if (!kill->engaged)
        return sy_flagset_ref(flags);
    struct served_all sa = {.eng = eng, .w = w, .flags = flags, .why = kill->reason};
    sy_flagset_t *set = NULL;
    if (sy_flagset_build_begin(&sa.b, flags, w->pool, SY_BUILD_CHANGE, NULL, NULL, NULL, NULL) < 0)
        return NULL;
    if (sy_eng_driven_flags(eng, w->id, put_driven, &sa) < 0) {
        sy_flagset_build_abort(sa.b);
        return NULL;
    }
    return sy_flagset_build_end(sa.b, &set) == 0 ? set : NULL;
}

/* What `w` serves once flag `key` changed in `flags` (its flags after the change): the
 * served set with that one flag as written, or at its control. NULL when out of memory. */
static sy_flagset_t *served_after(const sy_engine_t *eng, struct workspace *w,
                                  const sy_flagset_t *flags, const char *key)
{
    SY_ENG_OWNED(eng);
    struct snap *cur = w->current;
    if (!w->kill.engaged || !cur)
        return served_all(eng, w, flags, &w->kill);
    size_t klen = strlen(key);
    const sy_flag_t *now = sy_flagset_find(flags, key, klen);
    sy_flagset_build_t *b;
    sy_flagset_t *set = NULL;
    if (sy_flagset_build_begin(&b, cur->set, w->pool, SY_BUILD_CHANGE, NULL, NULL, NULL, NULL) < 0)
        return NULL;
    int rc;
    if (!now) {
        rc = sy_flagset_build_delete(b, key, klen);
        rc = rc == -ENOENT ? 0 : rc;
    } else {
        rc = put_served(eng, w, flags, w->kill.reason, b, key);
        if (rc == 1 || rc == -EINVAL) /* not driven, or not servable at its control */
            rc = sy_flagset_build_put_flag(b, now);
    }
    if (rc < 0) {
        sy_flagset_build_abort(b);
        return NULL;
    }
    return sy_flagset_build_end(b, &set) == 0 ? set : NULL;
}

struct snap *sy_eng_served_prepare(sy_engine_t *eng, struct workspace *w,
                                   const struct kill_switch *kill)
{
    return snap_new(eng, w->id, served_all(eng, w, w->flags, kill));
}

/* ---- reading the flags as written ------------------------------------------------------ */

static json_t *flag_json_in(const sy_flagset_t *flags, const char *key)
{
    const sy_flag_t *f = sy_flagset_find(flags, key, strlen(key));
    size_t len;
    const char *src = f ? sy_flag_source(f, &len) : NULL;
    json_error_t je;
    return src ? sy_json_loadb(src, len, 0, &je) : NULL;
}

json_t *sy_eng_flag_json(const struct workspace *w, const char *key)
{
    return flag_json_in(w->flags, key);
}

bool sy_eng_flag_exists(const struct workspace *w, const char *key)
{
    return sy_flagset_find(w->flags, key, strlen(key)) != NULL;
}

/* ---- loading from the store ---------------------------------------------------------- */

struct load {
    sy_flagset_build_t *b;
    sy_arena_t arena;
    char buf[8192]; /* the arena's first bytes: most rows fit */
};

static int add_flag_row(void *arg, const sy_store_flag_t *f)
{
    struct load *l = arg;
    size_t len = strlen(f->definition);
    sy_arena_init_with(&l->arena, l->buf, sizeof(l->buf), DEF_ARENA_MAX);
    sy_value_t v;
    int rc = sy_value_parse(f->definition, len, &l->arena, &v, NULL);
    if (rc == -EINVAL)
        rc = -EIO; /* not JSON: the store is damaged */
    else if (rc == 0 && (rc = sy_flagset_build_put(l->b, f->key, strlen(f->key), &v, f->definition,
                                                   len)) == -EINVAL)
        rc = 0;               /* refused: reported, and the end refuses the document */
    sy_arena_free(&l->arena); /* one row at a time: the set keeps what it needs */
    return rc;
}

/* Stored "$evaluators" or "metadata" `text` into *kept (a copy, or NULL) and *v: as a
 * document has it when it is a non-empty object; otherwise absent ("{}" is what the store
 * holds for a document without it). */
static int member_open(const char *text, sy_arena_t *arena, char **kept, sy_value_t *v,
                       const sy_value_t **out)
{
    *out = NULL;
    int rc = sy_value_parse(text, strlen(text), arena, v, NULL);
    if (rc == -EINVAL || (rc == 0 && (v->type != SY_OBJ || v->len == 0)))
        return 0; /* as absent */
    if (rc == 0 && !(*kept = strdup(text)))
        rc = -ENOMEM;
    if (rc == 0)
        *out = v;
    return rc;
}

/* sy_eng_flags_open; `stored` false: the store holds no flag and no flag set of `w` (the
 * document is empty and "{}" its members), nothing read. */
static int flags_open(sy_engine_t *eng, struct workspace *w, bool stored, sy_err_t *err)
{
    char *evaluators = NULL, *metadata = NULL;
    sy_problem_t items[PROBLEMS_KEPT];
    sy_problems_t problems = {.items = items, .cap = PROBLEMS_KEPT};
    struct load l = {0};
    sy_arena_t top;
    sy_arena_init(&top, DEF_ARENA_MAX);
    sy_value_t ev, md;
    const sy_value_t *pev = NULL, *pmd = NULL;
    sy_arena_init_with(&l.arena, l.buf, sizeof(l.buf), DEF_ARENA_MAX);
    int rc = sy_pool_new(&w->pool);
    if (rc == 0 && stored)
        rc = sy_store_flagset_get(eng->store, w->id, &evaluators, &metadata, err);
    else if (rc == 0 && (!(evaluators = strdup("{}")) || !(metadata = strdup("{}"))))
        rc = -ENOMEM;
    if (rc == 0)
        rc = member_open(evaluators, &top, &w->evaluators, &ev, &pev);
    if (rc == 0)
        rc = member_open(metadata, &top, &w->metadata, &md, &pmd);
    if (rc < 0 || (rc = begin_document(eng, w, pev, pmd, &problems, &l.b)) < 0)
        goto out;
    if (stored && (rc = sy_store_flag_list(eng->store, w->id, add_flag_row, &l, err)) < 0) {
        sy_flagset_build_abort(l.b);
        if (err && !err->msg[0]) /* the sink's refusal says nothing itself */
            sy_err_set(err, rc, "", "workspace %lld: a stored flag does not load",
                       (long long)w->id);
        goto out;
    }
    sy_flagset_t *set;
    if ((rc = sy_flagset_build_end(l.b, &set)) == -EINVAL) {
        refused(&problems, err);
        rc = sy_err_set(err, rc, err ? err->field : NULL,
                        "workspace %s: stored flags do not load: %s", w->name, err ? err->msg : "");
        goto out;
    }
    if (rc < 0)
        goto out;
    sy_flagset_free(w->flags);
    w->flags = set;
    rc = publish(eng, w, served_all(eng, w, w->flags, &w->kill), w->revision);
out:
    if (rc == -ENOMEM)
        sy_eng_oom(err);
    sy_arena_free(&l.arena);
    sy_arena_free(&top);
    free(evaluators);
    free(metadata);
    return rc;
}

int sy_eng_flags_open(sy_engine_t *eng, struct workspace *w, sy_err_t *err)
{
    return flags_open(eng, w, true, err);
}

/* sy_store_flag_workspaces' callback: the workspaces with something stored, by id. */
static int take_id(void *arg, int64_t id)
{
    return sy_eng_ids_add(arg, id);
}

int sy_eng_flags_open_from(sy_engine_t *eng, size_t from, sy_err_t *err)
{
    if (from >= eng->n_ws)
        return 0;
    struct sy_eng_ids s = {0};
    int rc = sy_store_flag_workspaces(eng->store, take_id, &s, err);
    eng->view_held = true;
    for (size_t i = from; rc == 0 && i < eng->n_ws; i++)
        rc = flags_open(eng, &eng->ws[i], sy_eng_ids_has(&s, eng->ws[i].id), err);
    eng->view_held = false;
    if (eng->view_stale)
        (void)sy_eng_view_publish(eng); /* out of memory: stale still, the tick tries again */
    free(s.v);
    return rc == -ENOMEM ? sy_eng_oom(err) : rc;
}

/* ---- another node's change (sync.c) ---------------------------------------------------- */

struct sync_load {
    struct load l;
    const sy_flagset_t *base; /* the flags as they are here */
    bool same_members;        /* "$evaluators" and metadata unchanged: equal text, equal flag */
    size_t changed;           /* flags put that were not the base's */
};

static int sync_flag_row(void *arg, const sy_store_flag_t *f)
{
    struct sync_load *sl = arg;
    size_t klen = strlen(f->key), len;
    const sy_flag_t *old = sy_flagset_find(sl->base, f->key, klen);
    const char *src = old ? sy_flag_source(old, &len) : NULL;
    if (sl->same_members && src && len == strlen(f->definition) &&
        memcmp(src, f->definition, len) == 0)
        return sy_flagset_build_put_flag(sl->l.b, old); /* as it is: nothing to compile */
    sl->changed++;
    return add_flag_row(&sl->l, f);
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int sy_eng_flags_sync(sy_engine_t *eng, struct workspace *w, int64_t revision,
                      const struct kill_switch *kill, sy_err_t *err)
{
    SY_ENG_OWNED(eng);
    char *evaluators = NULL, *metadata = NULL, *kept_ev = NULL, *kept_md = NULL;
    sy_problem_t items[PROBLEMS_KEPT];
    sy_problems_t problems = {.items = items, .cap = PROBLEMS_KEPT};
    struct sync_load sl = {.base = w->flags};
    sy_arena_t top;
    sy_arena_init(&top, DEF_ARENA_MAX);
    sy_value_t ev, md;
    const sy_value_t *pev = NULL, *pmd = NULL;
    sy_flagset_t *set = NULL;
    struct snap *served = NULL;
    sy_arena_init_with(&sl.l.arena, sl.l.buf, sizeof(sl.l.buf), DEF_ARENA_MAX);
    int rc = sy_store_flagset_get(eng->store, w->id, &evaluators, &metadata, err);
    if (rc == 0)
        rc = member_open(evaluators, &top, &kept_ev, &ev, &pev);
    if (rc == 0)
        rc = member_open(metadata, &top, &kept_md, &md, &pmd);
    sl.same_members = same_text(kept_ev, w->evaluators) && same_text(kept_md, w->metadata);
    if (rc < 0 || (rc = begin_document(eng, w, pev, pmd, &problems, &sl.l.b)) < 0)
        goto out;
    if ((rc = sy_store_flag_list(eng->store, w->id, sync_flag_row, &sl, err)) < 0) {
        sy_flagset_build_abort(sl.l.b);
        goto out;
    }
    if ((rc = sy_flagset_build_end(sl.l.b, &set)) == -EINVAL) {
        refused(&problems, err); /* another node wrote what this one cannot compile */
        goto out;
    }
    if (rc < 0)
        goto out;
    struct kill_switch was = w->kill;
    w->kill = *kill; /* what is served is built with the kill switch as the store has it */
    served = snap_new(eng, w->id, served_all(eng, w, set, &w->kill));
    if (!served) {
        w->kill = was;
        rc = -ENOMEM;
        goto out;
    }
    sy_flagset_free(w->flags);
    w->flags = set;
    set = NULL;
    free(w->evaluators);
    free(w->metadata);
    w->evaluators = kept_ev;
    w->metadata = kept_md;
    kept_ev = kept_md = NULL;
    sy_eng_snap_swap(eng, w, served, revision);
out:
    if (rc == -ENOMEM)
        sy_eng_oom(err);
    sy_flagset_free(set);
    sy_arena_free(&sl.l.arena);
    sy_arena_free(&top);
    free(evaluators);
    free(metadata);
    free(kept_ev);
    free(kept_md);
    return rc;
}

struct snap *sy_eng_flags_empty(sy_engine_t *eng, struct workspace *w)
{
    SY_ENG_OWNED(eng);
    sy_flagset_opts_t opts = {.fractional = eng->fractional};
    sy_flagset_build_t *b;
    int rc = sy_pool_new(&w->pool);
    if (rc == 0)
        rc = sy_flagset_build_begin(&b, NULL, w->pool, SY_BUILD_DOCUMENT, NULL, NULL, &opts, NULL);
    if (rc == 0)
        rc = sy_flagset_build_end(b, &w->flags);
    return rc == 0 ? snap_new(eng, w->id, sy_flagset_ref(w->flags)) : NULL;
}

void sy_eng_flags_close(struct workspace *w)
{
    if (w->current)
        sy_snapshot_release(&w->current->pub);
    sy_flagset_free(w->flags);
    sy_pool_free(w->pool);
    free(w->evaluators);
    free(w->metadata);
}

/* ---- changing one flag ------------------------------------------------------------------ */

static bool valid_key(const char *key)
{
    return sy_eng_valid_name(key, KEY_MAX);
}

struct flag_write {
    const char *key;
    const char *text; /* the definition's JSON; NULL: delete */
    bool created;
    sy_eng_write_fn also; /* more to write in the same transaction, or NULL */
    void *also_arg;
};

static int write_flag(sy_engine_t *eng, int64_t ws, void *arg, sy_err_t *err)
{
    struct flag_write *fw = arg;
    int rc;
    if (!fw->text) {
        rc = sy_store_flag_delete(eng->store, ws, fw->key, err);
    } else {
        sy_store_flag_t f = {
            .key = fw->key, .definition = fw->text, .updated_ms = sy_engine_now_ms(eng)};
        rc = sy_store_flag_put(eng->store, ws, &f, &fw->created, err);
    }
    return rc == 0 && fw->also ? fw->also(eng, ws, fw->also_arg, err) : rc;
}

/* Writes a change of `w`'s flags (`write` does the store half) with its audit event (the
 * JSON texts `before` and `after`, NULL: none) and the workspace's new revision, in one
 * transaction. */
static int commit(sy_engine_t *eng, const sy_principal_t *actor, struct workspace *w,
                  sy_eng_write_fn write, void *arg, const char *action, const char *resource,
                  const char *before, const char *after, int64_t *revision, sy_err_t *err)
{
    sy_store_audit_t ev = {.workspace = w->id,
                           .at_ms = sy_engine_now_ms(eng),
                           .actor = sy_eng_actor_name(actor),
                           .action = action,
                           .resource = resource,
                           .before = before,
                           .after = after};
    int rc = sy_store_begin(eng->store, err);
    if (rc < 0)
        return rc;
    if ((rc = write(eng, w->id, arg, err)) < 0 ||
        (rc = sy_store_workspace_bump(eng->store, w->id, revision, err)) < 0 ||
        (rc = sy_store_announce(eng->store, w->id, "served", *revision, err)) < 0 ||
        (rc = sy_store_audit_add(eng->store, &ev, err)) < 0) {
        sy_store_rollback(eng->store);
        return rc;
    }
    return sy_store_commit(eng->store, err);
}

/* sy_eng_flag_change, with `def` as the engine takes it and every problem (warnings too) in
 * `problems` when not NULL. */
static int flag_change(sy_engine_t *eng, const sy_principal_t *actor, struct workspace *w,
                       const char *key, const sy_flag_src_t *def, const char *action,
                       sy_eng_write_fn also, void *also_arg, sy_problems_t *problems, sy_err_t *err)
{
    SY_ENG_OWNED(eng);
    size_t klen = strlen(key), blen;
    /* A key that is no UTF-8 could be stored, but never shown back as JSON. */
    if (!sy_utf8_valid(key, klen))
        return sy_err_set(err, -EINVAL, "key", "the flag key cannot be stored");
    /* The audit's before is the text as stored: borrowed from the flags until they change. */
    const sy_flag_t *old = sy_flagset_find(w->flags, key, klen);
    const char *before = old ? sy_flag_source(old, &blen) : NULL;
    sy_problem_t items[PROBLEMS_KEPT];
    sy_problems_t local = {.items = items, .cap = PROBLEMS_KEPT};
    sy_problems_t *p = problems ? problems : &local;
    sy_flagset_build_t *b = NULL;
    sy_flagset_t *next = NULL;
    struct snap *served = NULL;
    int rc = sy_flagset_build_begin(&b, w->flags, w->pool, SY_BUILD_CHANGE, NULL, NULL, NULL, p);
    if (rc == 0)
        rc = def ? put_src(b, key, def) : sy_flagset_build_delete(b, key, klen);
    if (rc == -ENOENT)
        rc = 0; /* deleting a flag that is not there: nothing to change in the set */
    if (rc == 0 || rc == -EINVAL) {
        rc = sy_flagset_build_end(b, &next);
        b = NULL;
    }
    if (rc == -EINVAL) {
        rc = refused(p, err);
        goto out;
    }
    /* what will be served, made before the commit: after it nothing may fail */
    if (rc == 0 && !(served = snap_new(eng, w->id, served_after(eng, w, next, key))))
        rc = -ENOMEM;
    if (rc < 0) {
        sy_eng_oom(err);
        goto out;
    }
    char resource[KEY_MAX + 8];
    snprintf(resource, sizeof(resource), "flag:%s", key);
    const char *text = def ? def->json : NULL;
    struct flag_write fw = {.key = key, .text = text, .also = also, .also_arg = also_arg};
    int64_t revision;
    if ((rc = commit(eng, actor, w, write_flag, &fw, action, resource, before, text, &revision,
                     err)) < 0)
        goto out;
    sy_flagset_free(w->flags);
    w->flags = next;
    next = NULL;
    sy_eng_snap_swap(eng, w, served, revision);
    served = NULL;
out:
    sy_eng_snap_drop(served);
    sy_flagset_build_abort(b);
    sy_flagset_free(next);
    return rc;
}

static int refuse_driven(const sy_engine_t *eng, int64_t ws, const char *key, sy_err_t *err)
{
    if (!sy_eng_flag_is_driven(eng, ws, key))
        return 0;
    return sy_err_set(err, SY_ECONFLICT, "key",
                      "flag \"%.64s\" is driven by a running experiment: stop it first", key);
}

int sy_eng_flag_change(sy_engine_t *eng, const sy_principal_t *actor, struct workspace *w,
                       const char *key, const json_t *def, const char *action, sy_eng_write_fn also,
                       void *also_arg, sy_err_t *err)
{
    if (!def)
        return flag_change(eng, actor, w, key, NULL, action, also, also_arg, NULL, err);
    /* An experiment's change of its flag: written as the flag API's are, compactly */
    char buf[8192];
    sy_arena_t arena;
    sy_arena_init_with(&arena, buf, sizeof(buf), DEF_ARENA_MAX);
    sy_value_t v;
    char *text = sy_json_dumps(def, JSON_COMPACT);
    int rc = text ? sy_value_from_json(def, &arena, &v) : -ENOMEM;
    if (rc == 0) {
        sy_flag_src_t src = {.value = &v, .json = text, .len = strlen(text)};
        rc = flag_change(eng, actor, w, key, &src, action, also, also_arg, NULL, err);
    } else if (rc == -EINVAL) {
        rc = sy_err_set(err, rc, "", "flag \"%.64s\" holds a value that is not JSON", key);
    } else {
        rc = sy_eng_oom(err);
    }
    sy_arena_free(&arena);
    free(text);
    return rc;
}

int sy_engine_flag_put(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                       const sy_flag_src_t *def, bool *created, sy_problems_t *problems,
                       sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, actor->workspace);
    if (!w)
        return sy_err_set(err, -ENOENT, NULL, "no such workspace");
    if (!valid_key(key))
        return sy_err_set(err, -EINVAL, "key", "a flag key is 1 to %d bytes, no control characters",
                          KEY_MAX);
    if (!def || !def->value || def->value->type != SY_OBJ || !def->json)
        return sy_err_set(err, -EINVAL, "", "the body must be a flagd flag object");
    int rc = refuse_driven(eng, w->id, key, err);
    if (rc < 0)
        return rc;
    *created = !sy_eng_flag_exists(w, key);
    return flag_change(eng, actor, w, key, def, *created ? "flag.create" : "flag.update", NULL,
                       NULL, problems, err);
}

int sy_engine_flag_delete(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                          sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, actor->workspace);
    if (!w || !sy_eng_flag_exists(w, key))
        return sy_err_set(err, -ENOENT, "key", "no flag \"%.64s\"", key);
    int rc = refuse_driven(eng, w->id, key, err);
    if (rc < 0)
        return rc;
    return sy_eng_flag_change(eng, actor, w, key, NULL, "flag.delete", NULL, NULL, err);
}

int sy_engine_flag_get(sy_engine_t *eng, const sy_principal_t *actor, const char *key, char **json,
                       sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, actor->workspace);
    const sy_flag_t *f = w ? sy_flagset_find(w->flags, key, strlen(key)) : NULL;
    size_t len;
    const char *src = f ? sy_flag_source(f, &len) : NULL;
    if (!src)
        return sy_err_set(err, -ENOENT, "key", "no flag \"%.64s\"", key);
    if (!(*json = malloc(len + 1)))
        return sy_eng_oom(err);
    memcpy(*json, src, len + 1);
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int sy_engine_flag_list(sy_engine_t *eng, const sy_principal_t *actor, sy_flag_cb cb, void *arg,
                        sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, actor->workspace);
    size_t n = w ? sy_flagset_count(w->flags) : 0, len;
    const char **keys = calloc(n ? n : 1, sizeof(*keys));
    if (!keys)
        return sy_eng_oom(err);
    for (size_t i = 0; i < n; i++)
        keys[i] = sy_flagset_key(w->flags, i, &len);
    qsort(keys, n, sizeof(*keys), cmp_key);
    int rc = 0;
    for (size_t i = 0; rc >= 0 && i < n; i++) {
        const char *src = sy_flag_source(sy_flagset_find(w->flags, keys[i], strlen(keys[i])), &len);
        rc = cb(arg, keys[i], src, len);
    }
    free(keys);
    return rc;
}

/* ---- the whole document ---------------------------------------------------------------- */

struct flagset_write {
    const sy_flag_doc_t *doc;
};

static int write_flagset(sy_engine_t *eng, int64_t ws, void *arg, sy_err_t *err)
{
    const sy_flag_doc_t *doc = ((const struct flagset_write *)arg)->doc;
    int rc = sy_store_flag_clear(eng->store, ws, err);
    int64_t now = sy_engine_now_ms(eng);
    for (size_t i = 0; rc == 0 && i < doc->n; i++) {
        bool created;
        sy_store_flag_t f = {
            .key = doc->flags[i].key, .definition = doc->flags[i].def.json, .updated_ms = now};
        rc = sy_store_flag_put(eng->store, ws, &f, &created, err);
    }
    if (rc < 0)
        return rc;
    return sy_store_flagset_put(eng->store, ws, doc->evaluators ? doc->evaluators->json : "{}",
                                doc->metadata ? doc->metadata->json : "{}", err);
}

/* "key":json into `t`, after a comma unless it is the first. */
static void text_member(sy_text_t *t, bool first, const char *key, size_t klen, const char *json,
                        size_t len)
{
    if (!first)
        sy_text_put(t, ",", 1);
    sy_text_string(t, key, klen);
    sy_text_put(t, ":", 1);
    sy_text_put(t, json, len);
}

/* The end of a document's text: its "$evaluators" and "metadata" (NULL: absent), a NUL;
 * the text (owned), or NULL when out of memory. Written as jansson writes a document
 * compactly, its pieces being jansson's compact texts and its keys names with no control
 * characters: the audit trail's before and after as they always were. */
static char *doc_end(sy_text_t *t, const char *evaluators, size_t elen, const char *metadata,
                     size_t mlen)
{
    sy_text_put(t, "}", 1);
    if (evaluators)
        text_member(t, false, "$evaluators", 11, evaluators, elen);
    if (metadata)
        text_member(t, false, "metadata", 8, metadata, mlen);
    sy_text_put(t, "}\0", 2); /* and the NUL */
    if (t->failed || !t->heap) {
        sy_text_free(t);
        return NULL;
    }
    return t->p;
}

/* `w`'s document as written, {"flags", "$evaluators"?, "metadata"?}, as JSON text (owned),
 * or NULL when out of memory. */
static char *document_text(const struct workspace *w)
{
    static char none[1];
    sy_text_t t;
    sy_text_init(&t, none, 0);
    sy_text_put(&t, "{\"flags\":{", 10);
    size_t n = sy_flagset_count(w->flags), klen, len;
    for (size_t i = 0; i < n; i++) {
        const char *key = sy_flagset_key(w->flags, i, &klen);
        const char *src = sy_flag_source(sy_flagset_at(w->flags, i), &len);
        text_member(&t, i == 0, key, klen, src, len);
    }
    return doc_end(&t, w->evaluators, w->evaluators ? strlen(w->evaluators) : 0, w->metadata,
                   w->metadata ? strlen(w->metadata) : 0);
}

/* `doc` as JSON text, as document_text writes it. */
static char *doc_text(const sy_flag_doc_t *doc)
{
    static char none[1];
    sy_text_t t;
    sy_text_init(&t, none, 0);
    sy_text_put(&t, "{\"flags\":{", 10);
    for (size_t i = 0; i < doc->n; i++) {
        const sy_flag_doc_entry_t *f = &doc->flags[i];
        text_member(&t, i == 0, f->key, strlen(f->key), f->def.json, f->def.len);
    }
    const sy_flag_src_t *e = doc->evaluators, *m = doc->metadata;
    return doc_end(&t, e ? e->json : NULL, e ? e->len : 0, m ? m->json : NULL, m ? m->len : 0);
}

int sy_engine_flagset_get(sy_engine_t *eng, const sy_principal_t *actor,
                          const sy_flag_doc_sink_t *sink, sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, actor->workspace);
    if (!w)
        return sy_err_set(err, -ENOENT, NULL, "no such workspace");
    size_t n = sy_flagset_count(w->flags), klen, len;
    int rc = 0;
    for (size_t i = 0; rc >= 0 && i < n; i++) {
        const char *key = sy_flagset_key(w->flags, i, &klen);
        const char *src = sy_flag_source(sy_flagset_at(w->flags, i), &len);
        rc = sink->flag(sink->arg, key, src, len);
    }
    if (rc >= 0 && w->evaluators)
        rc = sink->member(sink->arg, "$evaluators", w->evaluators, strlen(w->evaluators));
    if (rc >= 0 && w->metadata)
        rc = sink->member(sink->arg, "metadata", w->metadata, strlen(w->metadata));
    return rc;
}

struct driven {
    const sy_flag_doc_t *doc;
    json_t *flags; /* the document's flags that active experiments drive */
};

static int add_driven(void *arg, const char *flag)
{
    struct driven *d = arg;
    for (size_t i = 0; i < d->doc->n; i++) {
        const sy_flag_doc_entry_t *f = &d->doc->flags[i];
        if (strcmp(f->key, flag) != 0)
            continue;
        json_error_t je;
        json_t *j = sy_json_loadb(f->def.json, f->def.len, JSON_DECODE_ANY, &je);
        return j && json_object_set_new(d->flags, flag, j) == 0 ? 0 : -ENOMEM;
    }
    return 0; /* not in the document: sy_eng_flagset_keeps_driven says so */
}

/* 0 when `doc` keeps every flag an active experiment of `w` drives as it is; otherwise
 * SY_ECONFLICT naming the first one (sy_eng_flagset_keeps_driven, on those flags of the
 * document as JSON: only they are read back). */
static int keeps_driven(const sy_engine_t *eng, const struct workspace *w, const sy_flag_doc_t *doc,
                        sy_err_t *err)
{
    struct driven d = {.doc = doc, .flags = json_object()};
    int rc = d.flags ? sy_eng_driven_flags(eng, w->id, add_driven, &d) : -ENOMEM;
    if (rc == 0)
        rc = sy_eng_flagset_keeps_driven(eng, w->id, d.flags, err);
    else
        rc = sy_eng_oom(err);
    json_decref(d.flags);
    return rc;
}

/* A copy of `s` (NULL: absent) into *out; false when out of memory. */
static bool copy_member(const sy_flag_src_t *s, char **out)
{
    if (!s)
        return true;
    if (!(*out = malloc(s->len + 1)))
        return false;
    memcpy(*out, s->json, s->len);
    (*out)[s->len] = '\0';
    return true;
}

int sy_engine_flagset_put(sy_engine_t *eng, const sy_principal_t *actor, const sy_flag_doc_t *doc,
                          sy_problems_t *problems, sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, actor->workspace);
    if (!w)
        return sy_err_set(err, -ENOENT, NULL, "no such workspace");
    for (size_t i = 0; i < doc->n; i++)
        if (!valid_key(doc->flags[i].key))
            return sy_err_set(err, -EINVAL, "flags",
                              "a flag key is 1 to %d bytes, no control characters", KEY_MAX);
    int rc = keeps_driven(eng, w, doc, err);
    if (rc < 0)
        return rc;
    const sy_flag_src_t *e = doc->evaluators, *m = doc->metadata;
    /* What a flagd document holds, in its own order, for the audit trail. */
    char *before = document_text(w), *after = doc_text(doc), *etext = NULL, *mtext = NULL;
    bool copied = copy_member(e, &etext) && copy_member(m, &mtext);
    struct flagset_write fw = {.doc = doc};
    sy_problem_t first[PROBLEMS_KEPT];
    sy_problems_t local = {.items = first, .cap = PROBLEMS_KEPT};
    sy_problems_t *p = problems ? problems : &local;
    sy_flagset_build_t *b = NULL;
    sy_flagset_t *next = NULL;
    rc = before && after && copied
             ? begin_document(eng, w, e ? e->value : NULL, m ? m->value : NULL, p, &b)
             : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < doc->n; i++)
        if ((rc = put_src(b, doc->flags[i].key, &doc->flags[i].def)) == -EINVAL)
            rc = 0; /* reported; the end refuses */
    if (rc == 0) {
        rc = sy_flagset_build_end(b, &next);
        b = NULL;
    }
    if (rc == -EINVAL)
        rc = refused(p, err);
    else if (rc < 0)
        sy_eng_oom(err);
    int64_t revision;
    struct snap *served = NULL;
    if (rc == 0 && !(served = snap_new(eng, w->id, served_all(eng, w, next, &w->kill))))
        rc = sy_eng_oom(err);
    if (rc == 0 && (rc = commit(eng, actor, w, write_flagset, &fw, "flagset.import", "flagset",
                                before, after, &revision, err)) == 0) {
        sy_flagset_free(w->flags);
        w->flags = next;
        next = NULL;
        free(w->evaluators);
        free(w->metadata);
        w->evaluators = etext;
        w->metadata = mtext;
        etext = mtext = NULL;
        sy_eng_snap_swap(eng, w, served, revision);
        served = NULL;
    }
    sy_eng_snap_drop(served);
    sy_flagset_build_abort(b);
    sy_flagset_free(next);
    free(etext);
    free(mtext);
    free(before);
    free(after);
    return rc;
}
