/* channel_json.h - notification channels as JSON (docs/api.md, "Notification channels"):
 * a new channel's request read into sy_channel_spec_t, and channels written back as the
 * API shows them (never a secret's value). */
#ifndef SY_CODEC_CHANNEL_JSON_H
#define SY_CODEC_CHANNEL_JSON_H

#include <jansson.h>

#include "codec/schema.h"
#include "engine/engine.h"

/* POST /v1/notifications/channels: every type's members (the router's list; the body is
 * read by sy_channel_spec_read). */
extern const sy_schema_t sy_channel_spec_schema;

/* Reads `body` into *spec: 0, SY_EUNKNOWN naming a member no type has, -EINVAL naming one
 * of the wrong kind ("levels" when not a list of 1 to SY_CHANNEL_LIST_MAX strings). The
 * strings are borrowed from `body`. Which members belong to the type, and which names a
 * list may hold, the engine judges. */
int sy_channel_spec_read(const json_t *body, sy_channel_spec_t *spec, sy_err_t *err);

/* The channel: its settings, id, type, name, enabled, created_ms and secrets_set (new
 * references; NULL when out of memory). */
json_t *sy_channel_json(const sy_channel_t *c);
/* {"channels": [...]} */
json_t *sy_channels_json(const sy_channel_t *v, size_t n);

#endif
