/* api_notify.c - /v1/notifications (the deliveries of the outbox) and
 * /v1/notifications/channels[/{id}[/test]]. */
#include <stdlib.h>
#include <string.h>

#include "codec/api_json.h"
#include "codec/channel_json.h"
#include "http/internal.h"

/* GET /v1/notifications[?status=&channel=&cursor=&limit=]: newest first, with a cursor to
 * the next page when this one is full. */
void sy_api_notifications(struct call *c)
{
    sy_store_notification_query_t q = {.limit = 100};
    char key[32], val[64], status[16];
    long long n = 0;
    bool ok = true;
    int rc;
    for (const char *s = c->query;
         ok && (rc = sy_query_next(&s, key, sizeof(key), val, sizeof(val))) != 0;) {
        if (rc < 0) {
            reply_error(c, 400, "invalid_input", "",
                        "the query string does not parse (a bad %%-escape or an over-long part)");
            ok = false;
        } else if (strcmp(key, "status") == 0) {
            ok = strcmp(val, "pending") == 0 || strcmp(val, "delivered") == 0 ||
                 strcmp(val, "failed") == 0;
            if (ok)
                q.status = strcpy(status, val);
            else
                reply_error(c, 400, "invalid_input", "status",
                            "status is pending, delivered or failed");
        } else if (strcmp(key, "channel") == 0) {
            ok = int_param(c, "channel", val, 1, INT64_MAX / 2, &n);
            q.channel = n;
        } else if (strcmp(key, "cursor") == 0) {
            ok = int_param(c, "cursor", val, 1, INT64_MAX / 2, &n);
            q.before_id = n;
        } else if (strcmp(key, "limit") == 0) {
            ok = int_param(c, "limit", val, 1, 1000, &n);
            q.limit = (int)n;
        } else {
            reply_error(c, 400, "unknown_field", key, "unknown query parameter \"%.64s\"", key);
            ok = false;
        }
    }
    if (!ok)
        return;
    sy_err_t err = {0};
    json_t *list = json_array(), *out = NULL;
    sy_notification_counts_t counts;
    rc = list ? sy_engine_notifications(c->eng, &c->who, &q, sy_notification_json_add, list,
                                        &counts, &err)
              : sy_err_set(&err, -ENOMEM, NULL, "out of memory");
    if (rc == 0)
        out = sy_notifications_json(list, &counts);
    else
        json_decref(list);
    size_t len = json_array_size(list);
    if (rc == 0 && len == (size_t)q.limit)
        json_object_set_new(out, "next_cursor",
                            json_incref(json_object_get(json_array_get(list, len - 1), "id")));
    reply_result(c, rc, 200, out, &err);
}

/* The channel id c->arg[0], or 0 after replying 404. */
static long long channel_id(struct call *c)
{
    int64_t n = sy_id_arg(c->arg[0]);
    if (!n) {
        reply_error(c, 404, "not_found", "id", "no such channel: %.32s", c->arg[0]);
        return 0;
    }
    return n;
}

void sy_api_channel_list(struct call *c)
{
    sy_err_t err = {0};
    sy_channel_t *v = NULL;
    size_t n = 0;
    int rc = sy_engine_channel_list(c->eng, &c->who, &v, &n, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_channels_json(v, n), &err);
    free(v);
}

void sy_api_channel_create(struct call *c)
{
    sy_err_t err = {0};
    sy_channel_spec_t spec;
    if (sy_channel_spec_read(c->body, &spec, &err) < 0) {
        reply_err(c, &err);
        return;
    }
    sy_channel_t *ch = malloc(sizeof(*ch)); /* some 5 KiB: not on the stack */
    int rc = ch ? sy_engine_channel_create(c->eng, &c->who, &spec, ch, &err)
                : sy_err_set(&err, -ENOMEM, NULL, "out of memory");
    reply_result(c, rc, 201, rc < 0 ? NULL : sy_channel_json(ch), &err);
    free(ch);
}

/* Queued, not sent: its outcome shows in GET /v1/notifications. */
void sy_api_channel_test(struct call *c)
{
    sy_err_t err = {0};
    long long n = channel_id(c);
    if (!n)
        return;
    int64_t row = 0;
    int rc = sy_engine_channel_test(c->eng, &c->who, n, &row, &err);
    /* the delivery as GET /v1/notifications lists it */
    sy_store_notification_query_t q = {.id = row, .limit = 1};
    sy_notification_counts_t counts;
    json_t *list = json_array();
    if (rc == 0)
        rc = list ? sy_engine_notifications(c->eng, &c->who, &q, sy_notification_json_add, list,
                                            &counts, &err)
                  : sy_err_set(&err, -ENOMEM, NULL, "out of memory");
    reply_result(c, rc, 202, rc < 0 ? NULL : json_incref(json_array_get(list, 0)), &err);
    json_decref(list);
}

void sy_api_channel_delete(struct call *c)
{
    sy_err_t err = {0};
    json_t *out = NULL;
    long long n = channel_id(c);
    if (!n)
        return;
    int rc = sy_engine_channel_delete(c->eng, &c->who, n, &err);
    if (rc == 0)
        out = json_pack("{sbsI}", "deleted", 1, "id", (json_int_t)n);
    reply_result(c, rc, 200, out, &err);
}
