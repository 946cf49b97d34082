/* engine.c - workspaces, tokens, flags and their snapshots; see engine.h. */
#define _DEFAULT_SOURCE
#include "engine/engine.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/evp.h>

#include "codec/value_json.h"
#include "core/utf8.h"
#include "engine/internal.h"

#define DOC_ARENA_MAX ((size_t)1 << 30) /* memory one compiled flag document may use */

static const char *const role_names[] = {"sdk", "viewer", "editor", "admin"};

const char *sy_role_name(sy_role_t r)
{
    return (unsigned)r < 4 ? role_names[r] : "?";
}

int sy_role_parse(const char *s, sy_role_t *out)
{
    for (int i = 0; s && i < 4; i++)
        if (strcmp(s, role_names[i]) == 0) {
            *out = (sy_role_t)i;
            return 0;
        }
    return -EINVAL;
}

static int64_t real_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sy_engine_now_ms(const sy_engine_t *eng)
{
    return eng->now_ms ? eng->now_ms() : eng->fake_ms;
}

void sy_engine_advance(sy_engine_t *eng, int64_t ms)
{
    if (!eng->now_ms && ms > 0)
        eng->fake_ms += ms;
}

sy_store_t *sy_engine_store(sy_engine_t *eng)
{
    return eng->store;
}

int sy_eng_grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

int sy_eng_oom(sy_err_t *err)
{
    return sy_err_set(err, -ENOMEM, NULL, "out of memory");
}

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

/* Compiles `doc` as flagd would load it. Returns 0 with *out, or -EINVAL with the first
 * refusing problem in `err` (all of them in `problems` when given). */
static int compile(const sy_engine_t *eng, const json_t *doc, sy_flagset_t **out,
                   sy_problems_t *problems, sy_err_t *err)
{
    sy_problem_t first[16]; /* warnings may come before the first error */
    sy_problems_t local = {.items = first, .cap = 16};
    sy_problems_t *p = problems ? problems : &local;
    sy_arena_t arena;
    sy_arena_init(&arena, DOC_ARENA_MAX);
    sy_value_t v;
    int rc = sy_value_from_json(doc, &arena, &v);
    if (rc < 0) {
        sy_arena_free(&arena);
        return rc == -ENOMEM ? sy_eng_oom(err) : sy_err_set(err, rc, NULL, "not a JSON document");
    }
    sy_flagset_opts_t opts = {.fractional = eng->fractional};
    rc = sy_flagset_load(out, &arena, &v, &opts, p); /* takes the arena */
    if (rc == -ENOMEM)
        return sy_eng_oom(err);
    if (rc < 0) {
        for (size_t i = 0; i < p->n; i++)
            if (p->items[i].error)
                return sy_err_set(err, -EINVAL, p->items[i].path, "%s%s", p->items[i].msg,
                                  p->errors > 1 ? " (and more problems)" : "");
        return sy_err_set(err, -EINVAL, NULL, "the flag document is invalid (%zu problems)",
                          p->errors);
    }
    return 0;
}

/* While the kill switch is engaged, what `w` serves: its document with every experiment's
 * flag at its control (NULL when that does not compile: then the document as it is). */
static sy_flagset_t *killed_set(sy_engine_t *eng, struct workspace *w)
{
    json_t *doc = json_deep_copy(w->doc);
    sy_flagset_t *set = NULL;
    if (doc &&
        sy_eng_serve_controls(eng, w->id, json_object_get(doc, "flags"), w->kill.reason) == 0 &&
        compile(eng, doc, &set, NULL, NULL) < 0)
        set = NULL;
    json_decref(doc);
    return set;
}

/* Makes `set` (compiled from ws->doc) the current snapshot at `revision`; while the kill
 * switch is engaged, the same document with every experiment at its control. */
static int publish(sy_engine_t *eng, struct workspace *w, sy_flagset_t *set, int64_t revision)
{
    sy_flagset_t *killed = w->kill.engaged ? killed_set(eng, w) : NULL;
    if (killed) {
        sy_flagset_free(set);
        set = killed;
    }
    struct snap *s = calloc(1, sizeof(*s));
    if (!s) {
        sy_flagset_free(set);
        return -ENOMEM;
    }
    s->set = set;
    s->pub = (sy_snapshot_t){.workspace = w->id, .revision = revision, .set = set};
    atomic_init(&s->refs, 1);
    struct snap *old = w->current;
    w->current = s;
    w->revision = revision;
    (void)sy_eng_view_publish(eng); /* out of memory: other threads see it with the next */
    if (old)
        sy_snapshot_release(&old->pub);
    if (eng->on_change)
        eng->on_change(eng->on_change_arg, w->id, revision);
    return 0;
}

/* ---- loading from the store ---------------------------------------------------------- */

static int add_flag_row(void *arg, const sy_store_flag_t *f)
{
    json_t *flags = arg;
    json_error_t je;
    json_t *def = sy_json_loadb(f->definition, strlen(f->definition), 0, &je);
    return def && json_object_set_new(flags, f->key, def) == 0 ? 0 : -EIO;
}

/* The workspace's document as the store has it. */
static int load_doc(sy_engine_t *eng, int64_t ws, json_t **out, sy_err_t *err)
{
    json_t *doc = json_object(), *flags = json_object();
    char *evaluators = NULL, *metadata = NULL;
    int rc = -ENOMEM;
    if (!doc || !flags || json_object_set(doc, "flags", flags) < 0)
        goto out;
    if ((rc = sy_store_flag_list(eng->store, ws, add_flag_row, flags, err)) < 0) {
        if (err && !err->msg[0]) /* the sink's refusal says nothing itself */
            sy_err_set(err, rc, "", "workspace %lld: a stored flag does not load", (long long)ws);
        goto out;
    }
    if ((rc = sy_store_flagset_get(eng->store, ws, &evaluators, &metadata, err)) < 0)
        goto out;
    json_error_t je;
    json_t *e = sy_json_loadb(evaluators, strlen(evaluators), 0, &je);
    json_t *m = sy_json_loadb(metadata, strlen(metadata), 0, &je);
    if (e && json_object_size(e))
        json_object_set(doc, "$evaluators", e);
    if (m && json_object_size(m))
        json_object_set(doc, "metadata", m);
    json_decref(e);
    json_decref(m);
    *out = json_incref(doc);
    rc = 0;
out:
    if (rc == -ENOMEM)
        sy_eng_oom(err);
    free(evaluators);
    free(metadata);
    json_decref(flags);
    json_decref(doc);
    return rc;
}

static int add_workspace(void *arg, const sy_store_workspace_t *row)
{
    sy_engine_t *eng = arg;
    if (sy_eng_grow((void **)&eng->ws, &eng->cap_ws, eng->n_ws + 1, sizeof(*eng->ws)) < 0)
        return -ENOMEM;
    struct workspace *w = &eng->ws[eng->n_ws];
    *w = (struct workspace){.id = row->id,
                            .revision = row->revision,
                            .name = strdup(row->name),
                            .guardrails = SY_GUARDRAILS_DEFAULTS};
    if (!w->name)
        return -ENOMEM;
    eng->n_ws++;
    return 0;
}

static int add_workspace_if_new(void *arg, const sy_store_workspace_t *row)
{
    return sy_eng_find_ws(arg, row->id) ? 0 : add_workspace(arg, row);
}

static int add_token(void *arg, const sy_store_token_t *t)
{
    sy_engine_t *eng = arg;
    if (sy_eng_grow((void **)&eng->tokens, &eng->cap_tokens, eng->n_tokens + 1,
                    sizeof(*eng->tokens)))
        return -ENOMEM;
    struct token *k = &eng->tokens[eng->n_tokens];
    *k = (struct token){.id = t->id, .workspace = t->workspace, .revoked = t->revoked_ms != 0};
    if (sy_role_parse(t->role, &k->role) < 0 || strlen(t->hash) != 64)
        return -EIO;
    snprintf(k->name, sizeof(k->name), "%s", t->name);
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(t->hash + 2 * i, "%2x", &v) != 1)
            return -EIO;
        k->hash[i] = (unsigned char)v;
    }
    eng->n_tokens++;
    return 0;
}

int sy_eng_republish(sy_engine_t *eng, struct workspace *w, int64_t revision)
{
    sy_flagset_t *set;
    if (compile(eng, w->doc, &set, NULL, NULL) < 0)
        return -ENOMEM;
    return publish(eng, w, set, revision);
}

struct workspace *sy_eng_find_ws(sy_engine_t *eng, int64_t id)
{
    for (size_t i = 0; i < eng->n_ws; i++)
        if (eng->ws[i].id == id)
            return &eng->ws[i];
    return NULL;
}

/* Loads workspace `w`'s document and publishes its first snapshot. */
static int open_workspace(sy_engine_t *eng, struct workspace *w, sy_err_t *err)
{
    int rc = load_doc(eng, w->id, &w->doc, err);
    if (rc < 0)
        return rc;
    sy_flagset_t *set;
    if ((rc = compile(eng, w->doc, &set, NULL, err)) < 0)
        return sy_err_set(err, rc, err ? err->field : NULL,
                          "workspace %s: stored flags do not load: %s", w->name,
                          err ? err->msg : "");
    return publish(eng, w, set, w->revision) < 0 ? sy_eng_oom(err) : 0;
}

int sy_engine_open(sy_engine_t **out, const sy_engine_opts_t *opts, sy_err_t *err)
{
    *out = NULL;
    sy_engine_t *eng = calloc(1, sizeof(*eng));
    if (!eng)
        return sy_eng_oom(err);
    eng->now_ms = opts->now_ms ? opts->now_ms : opts->fake_start_ms ? NULL : real_now_ms;
    eng->fake_ms = opts->fake_start_ms; /* the engine's own clock: sy_engine_advance */
    eng->fractional = opts->fractional;
    pthread_mutex_init(&eng->view_lock, NULL);
    eng->max_units = opts->max_units;
    eng->db = opts->db ? strdup(opts->db) : NULL;
    eng->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    eng->digest = eng->sha256 ? EVP_MD_CTX_new() : NULL;
    int rc = opts->db && !eng->db ? sy_eng_oom(err) : sy_store_open(&eng->store, opts->db, err);
    if (rc < 0)
        goto out_close;
    if ((rc = sy_store_workspace_list(eng->store, add_workspace, eng, err)) < 0 ||
        (rc = sy_store_token_list(eng->store, -1, add_token, eng, err)) < 0) {
        if (rc == -ENOMEM || rc == -EIO)
            sy_err_set(err, rc, NULL, "store: cannot read workspaces and tokens");
        goto out_close;
    }
    for (size_t i = 0; i < eng->n_ws; i++)
        if ((rc = open_workspace(eng, &eng->ws[i], err)) < 0)
            goto out_close;
    if ((rc = sy_eng_experiments_open(eng, err)) < 0 ||
        (rc = sy_eng_regression_open(eng, err)) < 0 ||
        (rc = sy_eng_kill_switch_open(eng, err)) < 0 || (rc = sy_eng_routes_open(eng, err)) < 0)
        goto out_close;
    *out = eng;
    return 0;
out_close:
    sy_engine_close(eng);
    return rc;
}

void sy_engine_close(sy_engine_t *eng)
{
    if (!eng)
        return;
    /* Every waiting submission committed (or refused) and answered while the state it
     * lands in is whole; the writer thread joined. */
    sy_engine_writer_stop(eng);
    for (size_t i = 0; i < eng->n_ws; i++) {
        free(eng->ws[i].name);
        json_decref(eng->ws[i].doc);
        if (eng->ws[i].current)
            sy_snapshot_release(&eng->ws[i].current->pub);
    }
    sy_eng_experiments_close(eng);
    sy_eng_routes_close(eng);
    json_decref(eng->health_done);
    sy_eng_view_close(eng);
    free(eng->ws);
    free(eng->tokens);
    EVP_MD_CTX_free(eng->digest);
    EVP_MD_free(eng->sha256);
    sy_store_close(eng->store);
    free(eng->db);
    free(eng);
}

/* ---- audit helpers ------------------------------------------------------------------- */

const char *sy_eng_actor_name(const sy_principal_t *actor)
{
    return actor ? actor->name : "system";
}

/* Writes the audit event of a change in its transaction. `before`/`after` may be NULL. */
int sy_eng_audit(sy_engine_t *eng, const sy_principal_t *actor, int64_t ws, const char *action,
                 const char *resource, const json_t *before, const json_t *after, sy_err_t *err)
{
    char *b = before ? json_dumps(before, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    char *a = after ? json_dumps(after, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    int rc;
    if ((before && !b) || (after && !a)) {
        rc = sy_eng_oom(err);
    } else {
        sy_store_audit_t ev = {.workspace = ws,
                               .at_ms = sy_engine_now_ms(eng),
                               .actor = sy_eng_actor_name(actor),
                               .action = action,
                               .resource = resource,
                               .before = b,
                               .after = a};
        rc = sy_store_audit_add(eng->store, &ev, err);
    }
    free(b);
    free(a);
    return rc;
}

/* ---- workspaces ---------------------------------------------------------------------- */

int sy_engine_workspace_find(sy_engine_t *eng, const char *name, int64_t *id, sy_err_t *err)
{
    for (size_t i = 0; i < eng->n_ws; i++)
        if (strcmp(eng->ws[i].name, name) == 0) {
            *id = eng->ws[i].id;
            return 0;
        }
    return sy_err_set(err, -ENOENT, "workspace", "no workspace \"%.64s\"", name);
}

bool sy_eng_valid_name(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    /* A name becomes a JSON key and string: bytes that are no UTF-8 could be stored but
     * never read back (a flag "\xff" was committed, then refused by every later load). */
    return sy_utf8_valid(s, n);
}

int sy_eng_only_fields(const json_t *o, const char *const *allowed, const char *at, sy_err_t *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], k) != 0)
            i++;
        if (!allowed[i]) {
            char f[64];
            snprintf(f, sizeof(f), "%s%s%.40s", at, *at ? "." : "", k);
            return sy_err_set(err, -EINVAL, f, "unknown field \"%.64s\"", k);
        }
    }
    return 0;
}

int sy_engine_workspace_create(sy_engine_t *eng, const char *name, int64_t *id, sy_err_t *err)
{
    if (!sy_eng_valid_name(name, 64))
        return sy_err_set(err, -EINVAL, "name",
                          "a workspace name is 1 to 64 characters, no control characters");
    if (sy_eng_grow((void **)&eng->ws, &eng->cap_ws, eng->n_ws + 1, sizeof(*eng->ws)) < 0)
        return sy_eng_oom(err);
    int rc = sy_store_begin(eng->store, err);
    if (rc < 0)
        return rc;
    json_t *after = json_pack("{ss}", "name", name);
    char resource[80];
    if ((rc = sy_store_workspace_create(eng->store, name, sy_engine_now_ms(eng), id, err)) < 0)
        goto out_rollback;
    snprintf(resource, sizeof(resource), "workspace:%lld", (long long)*id);
    if ((rc = sy_eng_audit(eng, NULL, *id, "workspace.create", resource, NULL, after, err)) < 0 ||
        (rc = sy_eng_regression_seed(eng, *id, err)) < 0)
        goto out_rollback;
    if ((rc = sy_store_commit(eng->store, err)) < 0)
        goto out;
    struct workspace *w = &eng->ws[eng->n_ws];
    *w = (struct workspace){.id = *id, .name = strdup(name), .guardrails = SY_GUARDRAILS_DEFAULTS};
    w->doc = json_pack("{s{}}", "flags");
    sy_flagset_t *set = NULL;
    if (!w->name || !w->doc || compile(eng, w->doc, &set, NULL, err) < 0 ||
        publish(eng, w, set, 0) < 0) {
        /* Committed but not servable: the next start loads it from the store. */
        free(w->name);
        json_decref(w->doc);
        rc = sy_eng_oom(err);
        goto out;
    }
    eng->n_ws++;
    goto out;
out_rollback:
    sy_store_rollback(eng->store);
out:
    json_decref(after);
    return rc;
}

/* ---- tokens -------------------------------------------------------------------------- */

static void sha256(sy_engine_t *eng, const char *s, size_t len, unsigned char out[32])
{
    unsigned int n = 32;
    if (!eng->digest || !EVP_DigestInit_ex2(eng->digest, eng->sha256, NULL) ||
        !EVP_DigestUpdate(eng->digest, s, len) || !EVP_DigestFinal_ex(eng->digest, out, &n))
        EVP_Digest(s, len, out, &n, EVP_sha256(), NULL);
}

static const struct token *cached_token(const sy_engine_t *eng, const unsigned char h[32])
{
    for (size_t i = 0; i < eng->n_tokens; i++)
        if (memcmp(eng->tokens[i].hash, h, 32) == 0)
            return &eng->tokens[i];
    return NULL;
}

/* Brings a token made by another process into the cache, with its workspace when that is
 * new too. Returns the cached token or NULL. */
static const struct token *load_token(sy_engine_t *eng, const unsigned char h[32])
{
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    size_t before = eng->n_tokens;
    if (sy_store_token_by_hash(eng->store, hex, add_token, eng, NULL) < 0 ||
        eng->n_tokens == before)
        return NULL;
    const struct token *t = &eng->tokens[eng->n_tokens - 1];
    if (!sy_eng_find_ws(eng, t->workspace)) {
        size_t n = eng->n_ws;
        bool opened = sy_store_workspace_list(eng->store, add_workspace_if_new, eng, NULL) == 0;
        for (size_t i = n; opened && i < eng->n_ws; i++)
            opened = open_workspace(eng, &eng->ws[i], NULL) == 0;
        if (!opened || !sy_eng_find_ws(eng, t->workspace)) {
            eng->n_tokens--; /* not served: looked for again next time */
            return NULL;
        }
    }
    /* Published once its workspace serves, not before: a worker taking the token from
     * the view must find the workspace's snapshot there too. */
    (void)sy_eng_view_publish(eng);
    return &eng->tokens[eng->n_tokens - 1];
}

int sy_engine_authenticate(sy_engine_t *eng, const char *secret, size_t len, sy_principal_t *out)
{
    if (!secret || len == 0 || len >= SY_TOKEN_MAX)
        return -EACCES;
    unsigned char h[32];
    sha256(eng, secret, len, h);
    const struct token *t = cached_token(eng, h);
    if (!t && len == 51 && strncmp(secret, "sy_", 3) == 0) /* only what we could have made */
        t = load_token(eng, h);
    if (!t || t->revoked)
        return -EACCES;
    *out = (sy_principal_t){.workspace = t->workspace, .token_id = t->id, .role = t->role};
    snprintf(out->name, sizeof(out->name), "%s", t->name);
    return 0;
}

int sy_engine_token_create(sy_engine_t *eng, const sy_principal_t *actor, int64_t ws,
                           const char *name, sy_role_t role, char *secret, size_t cap, int64_t *id,
                           sy_err_t *err)
{
    if (actor)
        ws = actor->workspace;
    if (!sy_eng_find_ws(eng, ws))
        return sy_err_set(err, -ENOENT, "workspace", "no such workspace");
    if (!sy_eng_valid_name(name, 63))
        return sy_err_set(err, -EINVAL, "name",
                          "a token name is 1 to 63 characters, no control characters");
    if ((unsigned)role > SY_ROLE_ADMIN)
        return sy_err_set(err, -EINVAL, "role", "role must be admin, editor, viewer or sdk");
    /* "sy_" and 48 hex digits: 192 random bits. */
    unsigned char raw[24];
    if (cap < 52 || getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return sy_err_set(err, -EIO, NULL, "cannot draw a random token");
    strcpy(secret, "sy_");
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(secret + 3 + 2 * i, 3, "%02x", raw[i]);
    struct token k = {.workspace = ws, .role = role};
    snprintf(k.name, sizeof(k.name), "%s", name);
    sha256(eng, secret, strlen(secret), k.hash);
    char hex[65], prefix[12];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", k.hash[i]);
    snprintf(prefix, sizeof(prefix), "%.10s", secret);
    if (sy_eng_grow((void **)&eng->tokens, &eng->cap_tokens, eng->n_tokens + 1,
                    sizeof(*eng->tokens)))
        return sy_eng_oom(err);

    int rc = sy_store_begin(eng->store, err);
    if (rc < 0)
        return rc;
    sy_store_token_t row = {.workspace = ws,
                            .name = name,
                            .role = sy_role_name(role),
                            .hash = hex,
                            .prefix = prefix,
                            .created_ms = sy_engine_now_ms(eng)};
    json_t *after = NULL;
    char resource[48];
    if ((rc = sy_store_token_create(eng->store, &row, &k.id, err)) < 0)
        goto out_rollback;
    snprintf(resource, sizeof(resource), "token:%lld", (long long)k.id);
    after = json_pack("{sIssssss}", "id", (json_int_t)k.id, "name", name, "role",
                      sy_role_name(role), "prefix", prefix);
    if ((rc = sy_eng_audit(eng, actor, ws, "token.create", resource, NULL, after, err)) < 0)
        goto out_rollback;
    if ((rc = sy_store_commit(eng->store, err)) < 0)
        goto out;
    eng->tokens[eng->n_tokens++] = k;
    (void)sy_eng_view_publish(eng);
    *id = k.id;
    goto out;
out_rollback:
    sy_store_rollback(eng->store);
out:
    json_decref(after);
    if (rc < 0)
        secret[0] = '\0';
    return rc;
}

int sy_engine_token_revoke(sy_engine_t *eng, const sy_principal_t *actor, int64_t id, sy_err_t *err)
{
    struct token *k = NULL;
    for (size_t i = 0; i < eng->n_tokens; i++)
        if (eng->tokens[i].id == id && eng->tokens[i].workspace == actor->workspace &&
            !eng->tokens[i].revoked)
            k = &eng->tokens[i];
    if (!k) /* another workspace's token is as unknown as a missing one */
        return sy_err_set(err, -ENOENT, "id", "no active token %lld", (long long)id);
    int rc = sy_store_begin(eng->store, err);
    if (rc < 0)
        return rc;
    char resource[48];
    snprintf(resource, sizeof(resource), "token:%lld", (long long)id);
    json_t *before =
        json_pack("{sIssss}", "id", (json_int_t)id, "name", k->name, "role", sy_role_name(k->role));
    if ((rc = sy_store_token_revoke(eng->store, actor->workspace, id, sy_engine_now_ms(eng), err)) <
            0 ||
        (rc = sy_eng_audit(eng, actor, actor->workspace, "token.revoke", resource, before, NULL,
                           err)) < 0) {
        sy_store_rollback(eng->store);
        goto out;
    }
    if ((rc = sy_store_commit(eng->store, err)) == 0) {
        k->revoked = true;
        (void)sy_eng_view_publish(eng);
    }
out:
    json_decref(before);
    return rc;
}

static int list_token_row(void *arg, const sy_store_token_t *t)
{
    json_t *o = json_pack("{sIsssssssI}", "id", (json_int_t)t->id, "name", t->name, "role", t->role,
                          "prefix", t->prefix, "created_ms", (json_int_t)t->created_ms);
    if (!o)
        return -ENOMEM;
    if (t->revoked_ms)
        json_object_set_new(o, "revoked_ms", json_integer(t->revoked_ms));
    return json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

int sy_engine_token_list(sy_engine_t *eng, const sy_principal_t *actor, json_t **out, sy_err_t *err)
{
    json_t *a = json_array();
    if (!a)
        return sy_eng_oom(err);
    int rc = sy_store_token_list(eng->store, actor->workspace, list_token_row, a, err);
    if (rc < 0) {
        json_decref(a);
        return rc == -ENOMEM ? sy_eng_oom(err) : rc;
    }
    *out = a;
    return 0;
}

int sy_engine_bootstrap(sy_engine_t *eng, const char *workspace, char *secret, size_t cap,
                        bool *created, sy_err_t *err)
{
    *created = false;
    if (eng->n_ws > 0)
        return 0;
    int64_t ws, id;
    int rc = sy_engine_workspace_create(eng, workspace, &ws, err);
    if (rc < 0)
        return rc;
    rc = sy_engine_token_create(eng, NULL, ws, "bootstrap-admin", SY_ROLE_ADMIN, secret, cap, &id,
                                err);
    *created = rc == 0;
    return rc;
}

/* ---- flags --------------------------------------------------------------------------- */

/* Replaces `w`'s document by `doc` (already compiled to `set`) in one transaction with
 * its audit event; `write` does the store half. Takes `set`. */
static int commit_doc(sy_engine_t *eng, const sy_principal_t *actor, struct workspace *w,
                      json_t *doc, sy_flagset_t *set, sy_eng_write_fn write, void *arg,
                      const char *action, const char *resource, const json_t *before,
                      const json_t *after, sy_err_t *err)
{
    int64_t revision;
    int rc = sy_store_begin(eng->store, err);
    if (rc < 0)
        goto out_free;
    if ((rc = write(eng, w->id, doc, arg, err)) < 0 ||
        (rc = sy_store_workspace_bump(eng->store, w->id, &revision, err)) < 0 ||
        (rc = sy_eng_audit(eng, actor, w->id, action, resource, before, after, err)) < 0) {
        sy_store_rollback(eng->store);
        goto out_free;
    }
    if ((rc = sy_store_commit(eng->store, err)) < 0)
        goto out_free;
    json_decref(w->doc);
    w->doc = json_incref(doc);
    return publish(eng, w, set, revision) < 0 ? sy_eng_oom(err) : 0;
out_free:
    sy_flagset_free(set);
    return rc;
}

static bool valid_key(const char *key)
{
    return sy_eng_valid_name(key, KEY_MAX);
}

struct flag_write {
    const char *key;
    const json_t *def; /* NULL: delete */
    bool created;
    sy_eng_write_fn also; /* more to write in the same transaction, or NULL */
    void *also_arg;
};

static int write_flag(sy_engine_t *eng, int64_t ws, json_t *doc, void *arg, sy_err_t *err)
{
    struct flag_write *fw = arg;
    int rc;
    if (!fw->def) {
        rc = sy_store_flag_delete(eng->store, ws, fw->key, err);
    } else {
        char *text = json_dumps(fw->def, JSON_COMPACT);
        if (!text)
            return sy_eng_oom(err);
        sy_store_flag_t f = {
            .key = fw->key, .definition = text, .updated_ms = sy_engine_now_ms(eng)};
        rc = sy_store_flag_put(eng->store, ws, &f, &fw->created, err);
        free(text);
    }
    return rc == 0 && fw->also ? fw->also(eng, ws, doc, fw->also_arg, err) : rc;
}

int sy_eng_flag_change(sy_engine_t *eng, const sy_principal_t *actor, struct workspace *w,
                       const char *key, const json_t *def, const char *action, sy_eng_write_fn also,
                       void *also_arg, sy_err_t *err)
{
    json_t *doc = json_deep_copy(w->doc);
    json_t *flags = json_object_get(doc, "flags");
    if (!doc || !flags) {
        json_decref(doc);
        return sy_eng_oom(err);
    }
    json_t *before = json_incref(json_object_get(flags, key));
    /* A change that did not take (no memory; a key jansson refuses) must not be committed:
     * the document compiled would lack it while the store had it. */
    if (def ? json_object_set(flags, key, (json_t *)def) < 0
            : before && json_object_del(flags, key) < 0) {
        json_decref(before);
        json_decref(doc);
        return sy_err_set(err, -EINVAL, "key", "the flag key cannot be stored");
    }
    sy_flagset_t *set;
    /* Deleting can break nothing flagd checks (a $ref names evaluators, not flags), but
     * compile anyway: the snapshot must be rebuilt. */
    int rc = compile(eng, doc, &set, NULL, err);
    if (rc == 0) {
        char resource[KEY_MAX + 8];
        snprintf(resource, sizeof(resource), "flag:%s", key);
        struct flag_write fw = {.key = key, .def = def, .also = also, .also_arg = also_arg};
        rc = commit_doc(eng, actor, w, doc, set, write_flag, &fw, action, resource, before, def,
                        err);
    }
    json_decref(before);
    json_decref(doc);
    return rc;
}

static int refuse_driven(const sy_engine_t *eng, int64_t ws, const char *key, sy_err_t *err)
{
    if (!sy_eng_flag_is_driven(eng, ws, key))
        return 0;
    return sy_err_set(err, SY_ECONFLICT, "key",
                      "flag \"%.64s\" is driven by a running experiment: stop it first", key);
}

int sy_engine_flag_put(sy_engine_t *eng, const sy_principal_t *actor, const char *key, json_t *def,
                       bool *created, sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, actor->workspace);
    if (!w)
        return sy_err_set(err, -ENOENT, NULL, "no such workspace");
    if (!valid_key(key))
        return sy_err_set(err, -EINVAL, "key", "a flag key is 1 to %d bytes, no control characters",
                          KEY_MAX);
    if (!json_is_object(def))
        return sy_err_set(err, -EINVAL, "", "the body must be a flagd flag object");
    int rc = refuse_driven(eng, w->id, key, err);
    if (rc < 0)
        return rc;
    *created = !json_object_get(json_object_get(w->doc, "flags"), key);
    return sy_eng_flag_change(eng, actor, w, key, def, *created ? "flag.create" : "flag.update",
                              NULL, NULL, err);
}

int sy_engine_flag_delete(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                          sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, actor->workspace);
    if (!w || !json_object_get(json_object_get(w->doc, "flags"), key))
        return sy_err_set(err, -ENOENT, "key", "no flag \"%.64s\"", key);
    int rc = refuse_driven(eng, w->id, key, err);
    if (rc < 0)
        return rc;
    return sy_eng_flag_change(eng, actor, w, key, NULL, "flag.delete", NULL, NULL, err);
}

int sy_engine_flag_get(sy_engine_t *eng, const sy_principal_t *actor, const char *key, json_t **out,
                       sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, actor->workspace);
    json_t *def = w ? json_object_get(json_object_get(w->doc, "flags"), key) : NULL;
    if (!def)
        return sy_err_set(err, -ENOENT, "key", "no flag \"%.64s\"", key);
    *out = json_incref(def);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *sy_engine_flag_list(sy_engine_t *eng, const sy_principal_t *actor)
{
    struct workspace *w = sy_eng_find_ws(eng, actor->workspace);
    json_t *flags = w ? json_object_get(w->doc, "flags") : NULL;
    size_t n = json_object_size(flags);
    const char **keys = calloc(n ? n : 1, sizeof(*keys));
    json_t *arr = json_array();
    json_t *out = json_pack("{so}", "flags", arr);
    if (!keys || !out) {
        free(keys);
        json_decref(out);
        return NULL;
    }
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(flags, k, v) keys[i++] = k;
    qsort(keys, n, sizeof(*keys), cmp_str);
    for (i = 0; i < n; i++)
        if (json_array_append_new(arr, json_pack("{sssO}", "key", keys[i], "definition",
                                                 json_object_get(flags, keys[i]))) < 0) {
            json_decref(out);
            out = NULL;
            break;
        }
    free(keys);
    return out;
}

static int write_flagset(sy_engine_t *eng, int64_t ws, json_t *doc, void *arg, sy_err_t *err)
{
    (void)arg;
    int rc = sy_store_flag_clear(eng->store, ws, err);
    const char *k;
    json_t *v;
    int64_t now = sy_engine_now_ms(eng);
    json_object_foreach(json_object_get(doc, "flags"), k, v)
    {
        if (rc < 0)
            break;
        char *text = json_dumps(v, JSON_COMPACT);
        if (!text)
            return sy_eng_oom(err);
        bool created;
        sy_store_flag_t f = {.key = k, .definition = text, .updated_ms = now};
        rc = sy_store_flag_put(eng->store, ws, &f, &created, err);
        free(text);
    }
    if (rc < 0)
        return rc;
    json_t *e = json_object_get(doc, "$evaluators"), *m = json_object_get(doc, "metadata");
    char *et = e ? json_dumps(e, JSON_COMPACT) : strdup("{}");
    char *mt = m ? json_dumps(m, JSON_COMPACT) : strdup("{}");
    rc = et && mt ? sy_store_flagset_put(eng->store, ws, et, mt, err) : sy_eng_oom(err);
    free(et);
    free(mt);
    return rc;
}

int sy_engine_flagset_put(sy_engine_t *eng, const sy_principal_t *actor, json_t *doc,
                          sy_problems_t *problems, sy_err_t *err)
{
    struct workspace *w = sy_eng_find_ws(eng, actor->workspace);
    if (!w)
        return sy_err_set(err, -ENOENT, NULL, "no such workspace");
    if (!json_is_object(doc) || !json_is_object(json_object_get(doc, "flags")))
        return sy_err_set(err, -EINVAL, "flags", "a flagd document is an object with \"flags\"");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(doc, "flags"), k, v)
    {
        if (!valid_key(k))
            return sy_err_set(err, -EINVAL, "flags",
                              "a flag key is 1 to %d bytes, no control characters", KEY_MAX);
    }
    /* Keep what a flagd document holds, in its own order; "$schema" is not state. */
    json_t *kept = json_object();
    if (!kept)
        return sy_eng_oom(err);
    json_object_set(kept, "flags", json_object_get(doc, "flags"));
    if (json_object_get(doc, "$evaluators"))
        json_object_set(kept, "$evaluators", json_object_get(doc, "$evaluators"));
    if (json_object_get(doc, "metadata"))
        json_object_set(kept, "metadata", json_object_get(doc, "metadata"));
    sy_flagset_t *set;
    int rc = sy_eng_flagset_keeps_driven(eng, w->id, json_object_get(doc, "flags"), err);
    if (rc < 0) {
        json_decref(kept);
        return rc;
    }
    rc = compile(eng, doc, &set, problems, err);
    if (rc == 0)
        rc = commit_doc(eng, actor, w, kept, set, write_flagset, NULL, "flagset.import", "flagset",
                        w->doc, kept, err);
    json_decref(kept);
    return rc;
}

json_t *sy_engine_flagset_get(sy_engine_t *eng, const sy_principal_t *actor)
{
    struct workspace *w = sy_eng_find_ws(eng, actor->workspace);
    if (!w)
        return NULL;
    json_t *out = json_pack("{ss}", "$schema", "https://flagd.dev/schema/v0/flags.json");
    if (out && json_object_update(out, w->doc) < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* ---- audit --------------------------------------------------------------------------- */

static json_t *parse_or_null(const char *text)
{
    json_error_t je;
    json_t *j = text ? sy_json_loadb(text, strlen(text), JSON_DECODE_ANY, &je) : NULL;
    return j ? j : json_null();
}

static int audit_row(void *arg, const sy_store_audit_t *a)
{
    json_t *o =
        json_pack("{sIsIssssssso*so*}", "id", (json_int_t)a->id, "at_ms", (json_int_t)a->at_ms,
                  "actor", a->actor, "action", a->action, "resource", a->resource, "before",
                  parse_or_null(a->before), "after", parse_or_null(a->after));
    return o && json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

int sy_engine_audit_list(sy_engine_t *eng, const sy_principal_t *actor, sy_store_audit_query_t *q,
                         json_t **out, sy_err_t *err)
{
    q->workspace = actor->workspace;
    json_t *a = json_array();
    if (!a)
        return sy_eng_oom(err);
    int rc = sy_store_audit_list(eng->store, q, audit_row, a, err);
    if (rc < 0) {
        json_decref(a);
        return rc == -ENOMEM ? sy_eng_oom(err) : rc;
    }
    *out = a;
    return 0;
}
