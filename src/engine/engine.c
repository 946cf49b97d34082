/* engine.c - the engine itself, workspaces and tokens; see engine.h (flags.c has the flags). */
#define _DEFAULT_SOURCE
#include "engine/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/evp.h>

#include "codec/value_json.h"
#include "core/utf8.h"
#include "engine/internal.h"

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

int sy_eng_ids_add(struct sy_eng_ids *s, int64_t id)
{
    if (s->n > 0 && s->v[s->n - 1] == id)
        return 0;
    if (sy_eng_grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)) < 0)
        return -ENOMEM;
    s->v[s->n++] = id;
    return 0;
}

bool sy_eng_ids_has(const struct sy_eng_ids *s, int64_t id)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->v[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->v[lo] == id;
}

int sy_eng_oom(sy_err_t *err)
{
    return sy_err_set(err, -ENOMEM, NULL, "out of memory");
}

/* ---- loading from the store ---------------------------------------------------------- */

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

int sy_eng_workspace_add_if_new(void *arg, const sy_store_workspace_t *row)
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

struct workspace *sy_eng_find_ws(sy_engine_t *eng, int64_t id)
{
    for (size_t i = 0; i < eng->n_ws; i++)
        if (eng->ws[i].id == id)
            return &eng->ws[i];
    return NULL;
}

int sy_engine_open(sy_engine_t **out, const sy_engine_opts_t *opts, sy_err_t *err)
{
    *out = NULL;
    sy_exp_defaults_t defaults = opts->exp_defaults ? *opts->exp_defaults : SY_EXP_DEFAULTS;
    sy_err_t e2 = {0};
    /* before the store: defaults that are wrong must not leave a new database behind */
    if (sy_safety_check(&defaults.safety, &e2) < 0 || defaults.sequential_tau_squared < 0 ||
        !(defaults.max_latency_increase_pct >= 0 && defaults.max_latency_increase_pct <= 1e4))
        return sy_err_set(err, -EINVAL, "exp_defaults", "the safety defaults: %s %s",
                          e2.field[0] ? e2.field
                                      : "sequential_tau_squared or "
                                        "max_latency_increase_pct",
                          e2.msg[0] ? e2.msg : "out of range");
    sy_engine_t *eng = calloc(1, sizeof(*eng));
    if (!eng)
        return sy_eng_oom(err);
    eng->exp_defaults = defaults;
    eng->now_ms = opts->now_ms ? opts->now_ms : opts->fake_start_ms ? NULL : real_now_ms;
    eng->fake_ms = opts->fake_start_ms; /* the engine's own clock: sy_engine_advance */
    eng->fractional = opts->fractional;
    uint64_t id = 0; /* 0 (none drawn) only makes this node tail after its own commits */
    if (getrandom(&id, sizeof(id), 0) == (ssize_t)sizeof(id))
        eng->node_id = (int64_t)(id >> 2) + 1;
    pthread_mutex_init(&eng->view_lock, NULL);
    pthread_mutex_init(&eng->board_lock, NULL);
    eng->max_units = opts->max_units;
    eng->no_hourly_timeline = opts->no_hourly_timeline;
    eng->curves = opts->curves;
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
    if ((rc = sy_eng_flags_open_from(eng, 0, err)) < 0)
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
        sy_eng_flags_close(&eng->ws[i]);
    }
    sy_eng_experiments_close(eng);
    sy_eng_routes_close(eng);
    sy_eng_layers_close(eng);
    free(eng->health_done);
    sy_eng_board_close(eng);
    pthread_mutex_destroy(&eng->board_lock);
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
    char *b = before ? sy_json_dumps(before, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    char *a = after ? sy_json_dumps(after, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
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

int sy_engine_workspace_name(sy_engine_t *eng, const sy_principal_t *who, char *out, size_t cap,
                             sy_err_t *err)
{
    const struct workspace *w = sy_eng_find_ws(eng, who->workspace);
    if (!w)
        return sy_err_set(err, -ENOENT, "workspace", "no such workspace");
    snprintf(out, cap, "%s", w->name);
    return 0;
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
    struct workspace *w = &eng->ws[eng->n_ws];
    struct snap *served = NULL;
    *w = (struct workspace){.name = strdup(name), .guardrails = SY_GUARDRAILS_DEFAULTS};
    if (!after || !w->name) {
        rc = sy_eng_oom(err);
        goto out_rollback;
    }
    if ((rc = sy_store_workspace_create(eng->store, name, sy_engine_now_ms(eng), id, err)) < 0)
        goto out_rollback;
    snprintf(resource, sizeof(resource), "workspace:%lld", (long long)*id);
    if ((rc = sy_eng_audit(eng, NULL, *id, "workspace.create", resource, NULL, after, err)) < 0 ||
        (rc = sy_eng_regression_seed(eng, *id, err)) < 0 ||
        (rc = sy_store_announce(eng->store, *id, "workspace", 0, err)) < 0)
        goto out_rollback;
    /* what it serves, made before the commit: once committed, serving it cannot fail */
    w->id = *id;
    if (!(served = sy_eng_flags_empty(eng, w))) {
        rc = sy_eng_oom(err);
        goto out_rollback;
    }
    if ((rc = sy_store_commit(eng->store, err)) < 0)
        goto out_undo;
    eng->n_ws++;
    sy_eng_snap_swap(eng, w, served, w->revision);
    goto out;
out_rollback:
    sy_store_rollback(eng->store);
out_undo:
    sy_eng_snap_drop(served);
    sy_eng_flags_close(w);
    free(w->name);
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
        bool opened =
            sy_store_workspace_list(eng->store, sy_eng_workspace_add_if_new, eng, NULL) == 0;
        opened = opened && sy_eng_flags_open_from(eng, n, NULL) == 0;
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
    /* the cache's room and the view that will publish it, before the commit */
    if (sy_eng_grow((void **)&eng->tokens, &eng->cap_tokens, eng->n_tokens + 1,
                    sizeof(*eng->tokens)) < 0 ||
        sy_eng_view_reserve(eng) < 0)
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
    if (!after)
        rc = sy_eng_oom(err);
    else
        rc = sy_eng_audit(eng, actor, ws, "token.create", resource, NULL, after, err);
    if (rc < 0)
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
    /* a revoked token must leave the view at once: its room is made before the commit */
    if (sy_eng_view_reserve(eng) < 0)
        return sy_eng_oom(err);
    int rc = sy_store_begin(eng->store, err);
    if (rc < 0)
        return rc;
    char resource[48];
    snprintf(resource, sizeof(resource), "token:%lld", (long long)id);
    json_t *before =
        json_pack("{sIssss}", "id", (json_int_t)id, "name", k->name, "role", sy_role_name(k->role));
    if ((!before && (rc = sy_eng_oom(err)) < 0) ||
        (rc = sy_store_token_revoke(eng->store, actor->workspace, id, sy_engine_now_ms(eng), err)) <
            0 ||
        (rc = sy_eng_audit(eng, actor, actor->workspace, "token.revoke", resource, before, NULL,
                           err)) < 0 ||
        (rc = sy_store_announce(eng->store, actor->workspace, "tokens", 0, err)) < 0) {
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

struct token_walk {
    sy_token_cb cb;
    void *arg;
    bool bad_role;
};

static int list_token_row(void *arg, const sy_store_token_t *t)
{
    struct token_walk *w = arg;
    sy_token_info_t info = {.id = t->id,
                            .name = t->name,
                            .prefix = t->prefix,
                            .created_ms = t->created_ms,
                            .revoked_ms = t->revoked_ms};
    if (sy_role_parse(t->role, &info.role) < 0) {
        w->bad_role = true; /* a role this switchyard does not know: the store is damaged */
        return -EIO;
    }
    return w->cb(w->arg, &info);
}

int sy_engine_token_list(sy_engine_t *eng, const sy_principal_t *actor, sy_token_cb cb, void *arg,
                         sy_err_t *err)
{
    struct token_walk w = {cb, arg, false};
    int rc = sy_store_token_list(eng->store, actor->workspace, list_token_row, &w, err);
    if (w.bad_role)
        return sy_err_set(err, -EIO, NULL,
                          "store: a token has a role this switchyard does not know");
    return rc == -ENOMEM ? sy_eng_oom(err) : rc;
}

int sy_engine_bootstrap(sy_engine_t *eng, const char *workspace, char *secret, size_t cap,
                        bool *created, sy_err_t *err)
{
    *created = false;
    if (eng->n_ws > 0)
        return 0;
    int64_t ws, id;
    int rc = sy_engine_workspace_create(eng, workspace, &ws, err);
    if (rc == -EEXIST) {
        /* Another node on the same database made it since this one opened (several started
         * at once): not ours to bootstrap; served as the store holds it. */
        size_t n = eng->n_ws;
        rc = sy_store_workspace_list(eng->store, sy_eng_workspace_add_if_new, eng, err);
        if (rc == 0)
            rc = sy_eng_flags_open_from(eng, n, err);
        if (rc == 0)
            (void)sy_eng_view_publish(eng);
        return rc;
    }
    if (rc < 0)
        return rc;
    rc = sy_engine_token_create(eng, NULL, ws, "bootstrap-admin", SY_ROLE_ADMIN, secret, cap, &id,
                                err);
    *created = rc == 0;
    return rc;
}

/* ---- audit --------------------------------------------------------------------------- */

struct audit_walk {
    sy_audit_cb cb;
    void *arg;
};

static int audit_row(void *arg, const sy_store_audit_t *a)
{
    const struct audit_walk *w = arg;
    sy_audit_event_t e = {.id = a->id,
                          .at_ms = a->at_ms,
                          .actor = a->actor,
                          .action = a->action,
                          .resource = a->resource,
                          .before = a->before,
                          .after = a->after};
    return w->cb(w->arg, &e);
}

int sy_engine_audit_list(sy_engine_t *eng, const sy_principal_t *actor, sy_store_audit_query_t *q,
                         sy_audit_cb cb, void *arg, sy_err_t *err)
{
    q->workspace = actor->workspace;
    struct audit_walk w = {cb, arg};
    int rc = sy_store_audit_list(eng->store, q, audit_row, &w, err);
    return rc == -ENOMEM ? sy_eng_oom(err) : rc;
}
