/* channel_json.c - notification channels as JSON; see channel_json.h. */
#include "codec/channel_json.h"

#include <stddef.h>

/* A request as read: the spec, and its two lists before they are read into it. */
struct spec_in {
    sy_channel_spec_t spec;
    const json_t *levels, *events;
};

/* The bounds are the engine's too, which says which type takes which member (and the
 * sentences of every value it refuses). */
#define SPEC(m) offsetof(struct spec_in, m)
static const sy_field_t spec_fields[] = {
    {"type", SY_K_TEXT, SPEC(spec.type), SY_UNTRACKED, .hi = 16,
     .says = "slack, pagerduty, webhook or email"},
    {"name", SY_K_TEXT, SPEC(spec.name), SY_UNTRACKED, .hi = SY_CHANNEL_NAME_MAX,
     .says = "1 to 64 characters"},
    {"levels", SY_K_JSON, SPEC(levels), SY_UNTRACKED, .says = "a list of distinct level names"},
    {"events", SY_K_JSON, SPEC(events), SY_UNTRACKED, .says = "a list of distinct event names"},
    {"enabled", SY_K_BOOL, SPEC(spec.enabled), SPEC(spec.has_enabled), .says = "true or false"},
    {"url", SY_K_TEXT, SPEC(spec.url), SY_UNTRACKED, .hi = SY_CHANNEL_URL_MAX,
     .says = "an http:// or https:// URL of at most 2048 characters"},
    {"secret", SY_K_TEXT, SPEC(spec.secret), SY_UNTRACKED, .hi = 256,
     .says = "the signing secret, 16 to 256 characters"},
    {"routing_key", SY_K_TEXT, SPEC(spec.routing_key), SY_UNTRACKED, .hi = 128,
     .says = "the integration's routing key, 1 to 128 characters"},
    {"to", SY_K_TEXT, SPEC(spec.to), SY_UNTRACKED, .hi = 254,
     .says = "an e-mail address (name@host)"},
    {"from", SY_K_TEXT, SPEC(spec.from), SY_UNTRACKED, .hi = 254,
     .says = "an e-mail address (name@host)"},
    {"smtp_url", SY_K_TEXT, SPEC(spec.smtp_url), SY_UNTRACKED, .hi = SY_CHANNEL_URL_MAX,
     .says = "an smtp:// or smtps:// URL (host and port)"},
    {"username", SY_K_TEXT, SPEC(spec.username), SY_UNTRACKED, .hi = 256,
     .says = "1 to 256 characters"},
    {"password", SY_K_TEXT, SPEC(spec.password), SY_UNTRACKED, .hi = 256,
     .says = "1 to 256 characters"},
};
const sy_schema_t sy_channel_spec_schema = SY_SCHEMA(spec_fields);

/* The array `a` (member `field`; NULL: not given) into v[0..*n). */
static int names(const json_t *a, const char *field, bool *given, const char **v, size_t *n,
                 sy_err_t *err)
{
    *given = a != NULL;
    *n = 0;
    if (!a)
        return 0;
    if (!json_is_array(a) || json_array_size(a) > SY_CHANNEL_LIST_MAX)
        return sy_err_set(err, -EINVAL, field, "%s is a list of distinct names", field);
    size_t i;
    const json_t *e;
    json_array_foreach(a, i, e)
    {
        if (!json_is_string(e))
            return sy_err_set(err, -EINVAL, field, "%s is a list of distinct names", field);
        v[(*n)++] = json_string_value(e);
    }
    return 0;
}

int sy_channel_spec_read(const json_t *body, sy_channel_spec_t *spec, sy_err_t *err)
{
    struct spec_in in = {0};
    int rc = sy_schema_read(&sy_channel_spec_schema, body, &in, "", err);
    if (rc == 0)
        rc =
            names(in.levels, "levels", &in.spec.has_levels, in.spec.levels, &in.spec.n_levels, err);
    if (rc == 0)
        rc =
            names(in.events, "events", &in.spec.has_events, in.spec.events, &in.spec.n_events, err);
    if (rc == 0)
        *spec = in.spec;
    return rc;
}

/* A JSON array of the names v[0..n); NULL when out of memory. */
static json_t *name_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) < 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

/* Sets o[k] = v (taken), failing when either is NULL. */
static int set(json_t *o, const char *k, json_t *v)
{
    return o && v ? json_object_set_new(o, k, v) : (json_decref(v), -1);
}

/* Its settings first, by name, as they are stored; then what every channel has. */
json_t *sy_channel_json(const sy_channel_t *c)
{
    json_t *o = json_object();
    int rc = set(o, "events", name_array(c->events, c->n_events));
    if (*c->from)
        rc |= set(o, "from", json_string(c->from));
    rc |= set(o, "levels", name_array(c->levels, c->n_levels));
    if (*c->smtp_url)
        rc |= set(o, "smtp_url", json_string(c->smtp_url));
    if (*c->to)
        rc |= set(o, "to", json_string(c->to));
    if (*c->url)
        rc |= set(o, "url", json_string(c->url));
    if (*c->username)
        rc |= set(o, "username", json_string(c->username));
    rc |= set(o, "id", json_integer(c->id));
    rc |= set(o, "type", json_string(c->type));
    rc |= set(o, "name", json_string(c->name));
    rc |= set(o, "enabled", json_boolean(c->enabled));
    rc |= set(o, "created_ms", json_integer(c->created_ms));
    rc |= set(o, "secrets_set", name_array(c->secrets_set, c->n_secrets));
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *sy_channels_json(const sy_channel_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, sy_channel_json(&v[i])) < 0) {
            json_decref(a);
            a = NULL;
        }
    return a ? json_pack("{so}", "channels", a) : NULL;
}
