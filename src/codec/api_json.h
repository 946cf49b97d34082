/* api_json.h - the engine's smaller answers as JSON (docs/api.md): tokens and audit
 * events, each written by a callback the engine's walks take, into a JSON array. */
#ifndef SY_CODEC_API_JSON_H
#define SY_CODEC_API_JSON_H

#include <jansson.h>

#include "engine/engine.h"

/* sy_token_cb and sy_audit_cb: append the item to the JSON array `arg`; -ENOMEM. */
int sy_token_json_add(void *arg, const sy_token_info_t *t);
/* before/after are parsed back into JSON (null when there is none). */
int sy_audit_json_add(void *arg, const sy_audit_event_t *e);

#endif
