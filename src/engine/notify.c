/* notify.c - notification channels: where a workspace's alerts go (Slack incoming
 * webhooks, PagerDuty Events API v2, signed webhooks, email over SMTP).
 *
 * A channel's settings are split in two when stored: `config`, which the API shows, and
 * `secrets` (a webhook's signing secret, a PagerDuty routing key, an SMTP password, a Slack
 * incoming webhook's URL), which it never shows nor writes to the audit trail: answers
 * name the secrets that are set, never their values (and a Slack URL's scheme and host).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

static const char *const types[] = {"slack", "pagerduty", "webhook", "email", NULL};
/* the same, as the counters index them (GET /metrics) */
const char *const sy_channel_type_names[SY_CHANNEL_TYPES] = {"slack", "pagerduty", "webhook",
                                                             "email"};
static const char *const levels[] = {"info", "warning", "critical", NULL};
static const char *const events[] = {"promotion",   "awaiting_approval", "promotion_warning",
                                     "rollback",    "tripwire",          "throttle",
                                     "kill_switch", "health_warning",    "srm",
                                     "breaker",     "bandit_update",     NULL};
#define PAGERDUTY_DEFAULT_URL "https://events.pagerduty.com/v2/enqueue"

static bool one_of(const char *s, const char *const *set)
{
    for (size_t i = 0; s && set[i]; i++)
        if (strcmp(s, set[i]) == 0)
            return true;
    return false;
}

static bool prefixed(const char *s, const char *a, const char *b)
{
    return s && (strncmp(s, a, strlen(a)) == 0 || strncmp(s, b, strlen(b)) == 0);
}

/* Whether the array of strings `a` holds `s`. */
static bool has(const json_t *a, const char *s)
{
    size_t i;
    const json_t *e;
    json_array_foreach(a, i, e)
    {
        if (strcmp(json_string_value(e), s) == 0)
            return true;
    }
    return false;
}

/* `set`'s own copy of `s` (a static string), or NULL when `set` has none. */
static const char *static_name(const char *const *set, const char *s)
{
    for (size_t i = 0; s && set[i]; i++)
        if (strcmp(s, set[i]) == 0)
            return set[i];
    return NULL;
}

/* The names `v[0..n)` (`given`), a non-empty list of distinct names of `set`, as a JSON
 * array into *out; all of `set` when not given. */
static int name_list(bool given, const char *const *v, size_t n, const char *field,
                     const char *const *set, json_t **out, sy_err_t *err)
{
    *out = json_array();
    if (!*out)
        return sy_eng_oom(err);
    if (!given) {
        for (size_t i = 0; set[i]; i++)
            if (json_array_append_new(*out, json_string(set[i])) < 0)
                goto oom;
        return 0;
    }
    if (n == 0)
        goto bad;
    for (size_t i = 0; i < n; i++) {
        if (!one_of(v[i], set) || has(*out, v[i]))
            goto bad;
        if (json_array_append_new(*out, json_string(v[i])) < 0)
            goto oom;
    }
    return 0;
oom:
    json_decref(*out);
    *out = NULL;
    return sy_eng_oom(err);
bad:
    json_decref(*out);
    *out = NULL;
    char all[256] = "";
    for (size_t k = 0; set[k]; k++)
        snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s", k ? ", " : "", set[k]);
    return sy_err_set(err, -EINVAL, field, "%s is a list of distinct names of: %s", field, all);
}

/* Copies member `k` (its value `s`, NULL when not given) into `to` (config or secrets)
 * when given; required ones must be. `check` (optional) says whether its value is
 * acceptable. */
static int text_field(const char *s, const char *k, bool required, size_t max,
                      bool (*check)(const char *), const char *what, json_t *to, sy_err_t *err)
{
    if (!s && !required)
        return 0;
    if (!sy_eng_valid_name(s, max) || (check && !check(s)))
        return sy_err_set(err, -EINVAL, k, "%s: %s", k, what);
    return json_object_set_new(to, k, json_string(s)) == 0 ? 0 : sy_eng_oom(err);
}

static bool http_url(const char *s)
{
    return prefixed(s, "http://", "https://");
}

static bool smtp_url(const char *s)
{
    return prefixed(s, "smtp://", "smtps://");
}

static bool long_secret(const char *s)
{
    return strlen(s) >= 16;
}

static bool address(const char *s)
{
    const char *at = strchr(s, '@');
    return at && at != s && at[1] && !strchr(at + 1, '@') && !strpbrk(s, " <>,;");
}

/* What the API shows of a URL that is itself a credential: its scheme and host. */
static int redacted_url(const char *url, json_t *config, sy_err_t *err)
{
    const char *host = strstr(url, "://") + 3;
    size_t n = strcspn(host, "/?#");
    char shown[2100];
    snprintf(shown, sizeof(shown), "%.*s/…", (int)(host - url + n), url);
    return json_object_set_new(config, "url", json_string(shown)) == 0 ? 0 : sy_eng_oom(err);
}

/* The per-type members of a spec, and which types take each (one bit per entry of
 * `types`: slack 1, pagerduty 2, webhook 4, email 8). */
static const struct member {
    const char *name;
    size_t at; /* offsetof in sy_channel_spec_t */
    unsigned types;
} members[] = {
    {"url", offsetof(sy_channel_spec_t, url), 1 | 2 | 4},
    {"secret", offsetof(sy_channel_spec_t, secret), 4},
    {"routing_key", offsetof(sy_channel_spec_t, routing_key), 2},
    {"to", offsetof(sy_channel_spec_t, to), 8},
    {"from", offsetof(sy_channel_spec_t, from), 8},
    {"smtp_url", offsetof(sy_channel_spec_t, smtp_url), 8},
    {"username", offsetof(sy_channel_spec_t, username), 8},
    {"password", offsetof(sy_channel_spec_t, password), 8},
};

/* The names of the secrets a channel may have, as answers list them. */
static const char *const secret_names[] = {"url", "secret", "routing_key", "password", NULL};

/* Fills `config` and `secrets` from `spec` for a channel of `type` (index `t` of types). */
static int channel_fields(const sy_channel_spec_t *spec, const char *type, size_t t, json_t *config,
                          json_t *secrets, sy_err_t *err)
{
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
        if (*(const char *const *)((const char *)spec + members[i].at) &&
            !(members[i].types & (1u << t)))
            return sy_err_set(err, SY_EUNKNOWN, members[i].name, "unknown field \"%s\"",
                              members[i].name);
    int rc;
    const char *url = "an http:// or https:// URL of at most 2048 characters";
    if (strcmp(type, "slack") == 0) /* an incoming webhook's URL is its credential */
        return (rc = text_field(spec->url, "url", true, 2048, http_url, url, secrets, err)) < 0
                   ? rc
                   : redacted_url(json_string_value(json_object_get(secrets, "url")), config, err);
    if (strcmp(type, "webhook") == 0)
        return (rc = text_field(spec->url, "url", true, 2048, http_url, url, config, err)) < 0
                   ? rc
                   : text_field(spec->secret, "secret", true, 256, long_secret,
                                "the signing secret, 16 to 256 characters", secrets, err);
    if (strcmp(type, "pagerduty") == 0) {
        if ((rc = text_field(spec->routing_key, "routing_key", true, 128, NULL,
                             "the integration's routing key, 1 to 128 characters", secrets, err)) <
                0 ||
            (rc = text_field(spec->url, "url", false, 2048, http_url, url, config, err)) < 0)
            return rc;
        if (!json_object_get(config, "url") &&
            json_object_set_new(config, "url", json_string(PAGERDUTY_DEFAULT_URL)) < 0)
            return sy_eng_oom(err);
        return 0;
    }
    const char *addr = "an e-mail address (name@host)";
    if ((rc = text_field(spec->to, "to", true, 254, address, addr, config, err)) < 0 ||
        (rc = text_field(spec->from, "from", true, 254, address, addr, config, err)) < 0 ||
        (rc = text_field(spec->smtp_url, "smtp_url", true, 2048, smtp_url,
                         "an smtp:// or smtps:// URL (host and port)", config, err)) < 0 ||
        (rc = text_field(spec->username, "username", false, 256, NULL, "1 to 256 characters",
                         config, err)) < 0)
        return rc;
    return text_field(spec->password, "password", false, 256, NULL, "1 to 256 characters", secrets,
                      err);
}

/* The channel as the audit trail keeps it: its config, and the names of its secrets. */
static json_t *channel_json(const sy_store_channel_t *c)
{
    json_error_t je;
    json_t *o = json_loads(c->config, 0, &je), *sec = json_loads(c->secrets, 0, &je);
    json_t *names = sec ? json_array() : NULL;
    const char *k;
    json_t *v;
    json_object_foreach(sec, k, v)
    {
        if (json_array_append_new(names, json_string(k)) < 0) { /* a name missing: none */
            json_decref(names);
            names = NULL;
            break;
        }
    }
    json_decref(sec);
    json_t *meta = names ? json_pack("{sIsssssbsIso}", "id", (json_int_t)c->id, "type", c->type,
                                     "name", c->name, "enabled", c->enabled, "created_ms",
                                     (json_int_t)c->created_ms, "secrets_set", names)
                         : NULL;
    if (!o || !meta || json_object_update(o, meta) < 0) {
        json_decref(o);
        o = NULL;
    }
    json_decref(meta);
    return o;
}

static void copy_text(const json_t *config, const char *k, char *to, size_t cap)
{
    const char *s = json_string_value(json_object_get(config, k));
    snprintf(to, cap, "%s", s ? s : "");
}

/* Names of `set` in the array `a`, as its static strings, into v[0..*n). */
static void static_names(const json_t *a, const char *const *set, const char **v, size_t *n)
{
    size_t i;
    const json_t *e;
    *n = 0;
    json_array_foreach(a, i, e)
    {
        const char *name = static_name(set, json_string_value(e));
        if (name && *n < SY_CHANNEL_LIST_MAX)
            v[(*n)++] = name;
    }
}

/* The channel as the API shows it, from its row: -ENOMEM. */
static int channel_out(const sy_store_channel_t *c, sy_channel_t *o)
{
    json_error_t je;
    json_t *config = json_loads(c->config, 0, &je), *sec = json_loads(c->secrets, 0, &je);
    int rc = config && sec ? 0 : -ENOMEM;
    if (rc == 0) {
        *o = (sy_channel_t){.id = c->id, .enabled = c->enabled, .created_ms = c->created_ms};
        snprintf(o->type, sizeof(o->type), "%s", c->type);
        snprintf(o->name, sizeof(o->name), "%s", c->name);
        copy_text(config, "url", o->url, sizeof(o->url));
        copy_text(config, "to", o->to, sizeof(o->to));
        copy_text(config, "from", o->from, sizeof(o->from));
        copy_text(config, "smtp_url", o->smtp_url, sizeof(o->smtp_url));
        copy_text(config, "username", o->username, sizeof(o->username));
        static_names(json_object_get(config, "levels"), levels, o->levels, &o->n_levels);
        static_names(json_object_get(config, "events"), events, o->events, &o->n_events);
        const char *k;
        json_t *v;
        json_object_foreach(sec, k, v)
        {
            const char *name = static_name(secret_names, k);
            if (name && o->n_secrets < sizeof(o->secrets_set) / sizeof(o->secrets_set[0]))
                o->secrets_set[o->n_secrets++] = name;
        }
    }
    json_decref(config);
    json_decref(sec);
    return rc;
}

struct channels {
    sy_channel_t *v;
    size_t n, cap;
};

static int append_channel(void *arg, const sy_store_channel_t *c)
{
    struct channels *cs = arg;
    if (sy_eng_grow((void **)&cs->v, &cs->cap, cs->n + 1, sizeof(*cs->v)) < 0)
        return -ENOMEM;
    int rc = channel_out(c, &cs->v[cs->n]);
    if (rc == 0)
        cs->n++;
    return rc;
}

int sy_engine_channel_create(sy_engine_t *eng, const sy_principal_t *actor,
                             const sy_channel_spec_t *spec, sy_channel_t *out, sy_err_t *err)
{
    const char *type = spec->type;
    size_t t = 0;
    while (types[t] && !(type && strcmp(type, types[t]) == 0))
        t++;
    if (!types[t])
        return sy_err_set(err, -EINVAL, "type", "type is slack, pagerduty, webhook or email");
    if (spec->name && !sy_eng_valid_name(spec->name, SY_CHANNEL_NAME_MAX))
        return sy_err_set(err, -EINVAL, "name", "name is 1 to 64 characters");
    json_t *config = json_object(), *secrets = json_object(), *lv = NULL, *ev = NULL;
    int rc =
        config && secrets ? channel_fields(spec, type, t, config, secrets, err) : sy_eng_oom(err);
    if (rc == 0 &&
        (rc = name_list(spec->has_levels, spec->levels, spec->n_levels, "levels", levels, &lv,
                        err)) == 0 &&
        (rc = name_list(spec->has_events, spec->events, spec->n_events, "events", events, &ev,
                        err)) == 0) {
        int a = json_object_set_new(config, "levels", lv);
        int b = json_object_set_new(config, "events", ev);
        if (a < 0 || b < 0)
            rc = sy_eng_oom(err); /* a channel without its filters would take everything */
    } else {
        json_decref(lv); /* the events' list was refused or could not be made */
    }
    char *ctext = rc == 0 ? sy_json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    char *stext = rc == 0 ? sy_json_dumps(secrets, JSON_COMPACT) : NULL;
    if (rc == 0 && (!ctext || !stext))
        rc = sy_eng_oom(err);
    sy_store_channel_t c = {.workspace = actor->workspace,
                            .type = types[t],
                            .name = spec->name ? spec->name : types[t],
                            .config = ctext,
                            .secrets = stext,
                            .enabled = !spec->has_enabled || spec->enabled,
                            .created_ms = sy_engine_now_ms(eng)};
    json_t *shown = NULL;
    if (rc == 0 && (rc = sy_store_begin(eng->store, err)) == 0) {
        char res[48];
        if ((rc = sy_store_channel_add(eng->store, &c, &c.id, err)) == 0) {
            snprintf(res, sizeof(res), "channel:%lld", (long long)c.id);
            shown = channel_json(&c); /* without the secrets' values: safe to audit */
            rc = shown ? sy_eng_audit(eng, actor, actor->workspace, "notification.channel.create",
                                      res, NULL, shown, err)
                       : sy_eng_oom(err);
        }
        /* the answer, before the commit: after it nothing may fail */
        if (rc == 0 && channel_out(&c, out) < 0)
            rc = sy_eng_oom(err);
        if (rc < 0)
            sy_store_rollback(eng->store);
        else
            rc = sy_store_commit(eng->store, err);
    }
    free(ctext);
    free(stext);
    json_decref(config);
    json_decref(secrets);
    json_decref(shown);
    return rc;
}

int sy_engine_channel_list(sy_engine_t *eng, const sy_principal_t *actor, sy_channel_t **out,
                           size_t *n, sy_err_t *err)
{
    struct channels cs = {0};
    int rc = sy_store_channel_list(eng->store, actor->workspace, 0, append_channel, &cs, err);
    if (rc == 0 && !cs.v && !(cs.v = calloc(1, sizeof(*cs.v))))
        rc = -ENOMEM;
    if (rc < 0) {
        free(cs.v);
        return rc == -ENOMEM ? sy_eng_oom(err) : rc;
    }
    *out = cs.v;
    *n = cs.n;
    return 0;
}

static int take_first(void *arg, const sy_store_channel_t *c)
{
    json_t **o = arg;
    *o = channel_json(c);
    return *o ? 0 : -ENOMEM;
}

int sy_engine_channel_delete(sy_engine_t *eng, const sy_principal_t *actor, int64_t id,
                             sy_err_t *err)
{
    json_t *before = NULL;
    int rc = sy_store_channel_list(eng->store, actor->workspace, id, take_first, &before, err);
    if (rc == 0 && !before)
        rc = sy_err_set(err, -ENOENT, "id", "no such channel");
    if (rc == 0 && (rc = sy_store_begin(eng->store, err)) == 0) {
        char res[48];
        snprintf(res, sizeof(res), "channel:%lld", (long long)id);
        if ((rc = sy_store_channel_delete(eng->store, actor->workspace, id, sy_engine_now_ms(eng),
                                          err)) < 0 ||
            (rc = sy_eng_audit(eng, actor, actor->workspace, "notification.channel.delete", res,
                               before, NULL, err)) < 0)
            sy_store_rollback(eng->store);
        else
            rc = sy_store_commit(eng->store, err);
    }
    json_decref(before);
    return rc == -ENOMEM ? sy_eng_oom(err) : rc;
}

/* ---- the outbox ------------------------------------------------------------------------------ */

/* A note being queued, for each channel that takes it. */
struct queueing {
    sy_engine_t *eng;
    int64_t only; /* > 0: this channel alone, whatever its filters (a test) */
    sy_store_notification_t row;
    int64_t id; /* the last row queued */
    sy_err_t *err;
};

static int queue_for(void *arg, const sy_store_channel_t *c)
{
    struct queueing *q = arg;
    if (q->only <= 0) {
        json_error_t je;
        json_t *config = json_loads(c->config, 0, &je);
        if (!config) /* not "the channel does not take it": the note would be lost */
            return -ENOMEM;
        bool takes = c->enabled && has(json_object_get(config, "levels"), q->row.level) &&
                     has(json_object_get(config, "events"), q->row.event);
        json_decref(config);
        if (!takes)
            return 0;
    }
    q->row.channel = c->id;
    int64_t id;
    int rc = sy_store_notification_add(q->eng->store, &q->row, &id, q->err);
    if (rc == 0 && id > 0) {
        q->id = id;
        q->eng->notify_queued = true;
    }
    return rc;
}

/* Queues `n` for the channels of `ws` that take it (channel `only` alone when > 0); the
 * last new row's id into *id (0: none). */
static int queue(sy_engine_t *eng, int64_t ws, int64_t only, const struct sy_eng_note *n,
                 int64_t *id, sy_err_t *err)
{
    const struct workspace *w = sy_eng_find_ws(eng, ws);
    if (!w)
        return sy_err_set(err, -ENOENT, NULL, "no such workspace");
    int64_t now = sy_engine_now_ms(eng);
    char key[640], dedup[560];
    snprintf(dedup, sizeof(dedup), "switchyard/ws%lld/%s/%.400s", (long long)ws, n->event,
             n->resource);
    /* a resolve is an occurrence apart from the trigger, even within one millisecond */
    snprintf(key, sizeof(key), "%s/%s%.64s", dedup + strlen("switchyard/"),
             n->resolve ? "resolve." : "", n->occurrence);
    json_t *payload = json_pack("{sssssssssssssOsI}", "event", n->event, "level", n->level,
                                "action", n->resolve ? "resolve" : "trigger", "workspace", w->name,
                                "resource", n->resource, "title", n->title, "details",
                                n->details ? n->details : json_null(), "at_ms", (json_int_t)now);
    char *text = payload ? sy_json_dumps(payload, JSON_COMPACT) : NULL;
    json_decref(payload);
    if (!text)
        return sy_eng_oom(err);
    struct queueing q = {.eng = eng,
                         .only = only,
                         .row = {.workspace = ws,
                                 .event = n->event,
                                 .level = n->level,
                                 .action = n->resolve ? "resolve" : "trigger",
                                 .resource = n->resource,
                                 .key = key,
                                 .dedup = n->condition ? dedup : key,
                                 .payload = text,
                                 .created_ms = now,
                                 .next_ms = now},
                         .err = err};
    int rc = sy_store_channel_list(eng->store, ws, only, queue_for, &q, err);
    free(text);
    *id = q.id;
    return rc == -ENOMEM ? sy_eng_oom(err) : rc;
}

int sy_eng_notify(sy_engine_t *eng, int64_t ws, const struct sy_eng_note *n, sy_err_t *err)
{
    int64_t id;
    return queue(eng, ws, 0, n, &id, err);
}

int sy_eng_notify_now(sy_engine_t *eng, int64_t ws, const struct sy_eng_note *n, sy_err_t *err)
{
    int rc = sy_store_begin(eng->store, err);
    if (rc == 0 && (rc = sy_eng_notify(eng, ws, n, err)) < 0)
        sy_store_rollback(eng->store);
    else if (rc == 0)
        rc = sy_store_commit(eng->store, err);
    return rc;
}

void sy_engine_on_notification(sy_engine_t *eng, void (*fn)(void *arg), void *arg)
{
    eng->notify_wake = fn;
    eng->notify_wake_arg = arg;
}

/* A delivery as the API shows it: what it tells, to which channel, and how it went. */
int sy_engine_notifications(sy_engine_t *eng, const sy_principal_t *actor,
                            const sy_store_notification_query_t *q, sy_store_notification_cb cb,
                            void *arg, sy_notification_counts_t *counts, sy_err_t *err)
{
    sy_store_notification_query_t mine = *q;
    mine.workspace = actor->workspace;
    int64_t c[3];
    int rc = sy_store_notification_list(eng->store, &mine, cb, arg, err);
    if (rc == 0)
        rc = sy_store_notification_counts(eng->store, actor->workspace, c, err);
    if (rc < 0)
        return rc == -ENOMEM ? sy_eng_oom(err) : rc;
    *counts = (sy_notification_counts_t){c[0], c[1], c[2]};
    return 0;
}

int sy_engine_channel_test(sy_engine_t *eng, const sy_principal_t *actor, int64_t id,
                           int64_t *delivery, sy_err_t *err)
{
    json_t *channel = NULL;
    int rc = sy_store_channel_list(eng->store, actor->workspace, id, take_first, &channel, err);
    if (rc == 0 && !channel)
        rc = sy_err_set(err, -ENOENT, "id", "no such channel");
    json_decref(channel);
    if (rc < 0)
        return rc == -ENOMEM ? sy_eng_oom(err) : rc;
    /* every test is its own occurrence: the clock and a count of the tests so far */
    char res[48], occurrence[64];
    snprintf(res, sizeof(res), "channel:%lld", (long long)id);
    snprintf(occurrence, sizeof(occurrence), "%lld.%llu", (long long)sy_engine_now_ms(eng),
             (unsigned long long)++eng->notify_tests);
    json_t *details = json_pack("{ss}", "requested_by", sy_eng_actor_name(actor));
    struct sy_eng_note n = {.event = "test",
                            .level = "info",
                            .resource = res,
                            .occurrence = occurrence,
                            .title = "switchyard test notification: this channel works",
                            .details = details};
    int64_t row = 0;
    rc = details ? sy_store_begin(eng->store, err) : sy_eng_oom(err);
    if (rc == 0 && (rc = queue(eng, actor->workspace, id, &n, &row, err)) < 0)
        sy_store_rollback(eng->store);
    else if (rc == 0)
        rc = sy_store_commit(eng->store, err);
    json_decref(details);
    if (rc < 0)
        return rc;
    *delivery = row;
    return 0;
}

/* ---- counting deliveries (sy_engine_counters) ------------------------------------------------ */

void sy_engine_count_delivery(sy_engine_t *eng, const char *type, const char *event)
{
    static const char *const outcomes[] = {"notification_delivered", "notification_retry",
                                           "notification_failed"};
    int t = -1, o = -1;
    for (int i = 0; type && i < SY_CHANNEL_TYPES; i++)
        if (strcmp(type, sy_channel_type_names[i]) == 0)
            t = i;
    for (int i = 0; event && i < 3; i++)
        if (strcmp(event, outcomes[i]) == 0)
            o = i;
    if (t >= 0 && o >= 0) /* the notifier's thread, not the engine's: a locked add */
        atomic_fetch_add_explicit(&eng->counted.deliveries[t][o], 1, memory_order_relaxed);
}
