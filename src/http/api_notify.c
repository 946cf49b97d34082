/* api_notify.c - /v1/notifications/channels[/{id}]. */
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"

void sy_api_channels(struct call *c, const char *id)
{
    sy_method_t m = sy_h1_method(c->req);
    sy_err_t err = {0};
    json_t *out = NULL;
    if (!*id) {
        read_write(c, SY_POST, 201, sy_engine_channel_list, sy_engine_channel_create);
        return;
    }
    if (m != SY_DELETE) {
        not_allowed(c, "DELETE");
        return;
    }
    char *end;
    long long n = strtoll(id, &end, 10);
    if (*end || n < 1) {
        reply_error(c, 404, "not_found", "id", "no such channel: %.32s", id);
        return;
    }
    if (!require_role(c, SY_ROLE_ADMIN))
        return;
    int rc = sy_engine_channel_delete(c->eng, &c->who, n, &err);
    if (rc == 0)
        out = json_pack("{sbsI}", "deleted", 1, "id", (json_int_t)n);
    reply_result(c, rc, 200, out, &err);
}
