/* sqlite_notify.c - notification channels and the outbox of the SQLite store; see store.h. */
#include <string.h>

#include "store/sqlite_internal.h"

int sy_sq_channel_add(sy_store_t *store, const sy_store_channel_t *c, int64_t *id, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    int rc = sy_sq_run(s,
                       sy_sq_prepare(s, err,
                                     "INSERT INTO notification_channels (workspace_id, type, name,"
                                     " config, secrets, enabled, created_ms)"
                                     " VALUES (?, ?, ?, ?, ?, ?, ?)",
                                     "issssii", c->workspace, c->type, c->name, c->config,
                                     c->secrets, (int64_t)c->enabled, c->created_ms),
                       err);
    if (rc == 0)
        *id = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int sy_sq_channel_delete(sy_store_t *store, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    int rc = sy_sq_run(s,
                       sy_sq_prepare(s, err,
                                     "UPDATE notification_channels SET deleted_ms = ?"
                                     " WHERE workspace_id = ? AND id = ? AND deleted_ms = 0",
                                     "iii", now_ms, ws, id),
                       err);
    if (rc == 0 && sqlite3_changes(s->db) != 1)
        rc = sy_err_set(err, -ENOENT, "id", "no such channel");
    return rc;
}

static int channel_row(sqlite3_stmt *st, const struct sy_sq_sink *to)
{
    sy_store_channel_t c = {.id = sqlite3_column_int64(st, 0),
                            .workspace = sqlite3_column_int64(st, 1),
                            .type = sy_sq_text(st, 2),
                            .name = sy_sq_text(st, 3),
                            .config = sy_sq_text(st, 4),
                            .secrets = sy_sq_text(st, 5),
                            .enabled = sqlite3_column_int(st, 6) != 0,
                            .created_ms = sqlite3_column_int64(st, 7)};
    return to->cb.channel(to->arg, &c);
}

int sy_sq_channel_list(sy_store_t *store, int64_t ws, int64_t id, sy_store_channel_cb cb, void *arg,
                       sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
#define CHANNEL_COLUMNS                                                                            \
    "SELECT id, workspace_id, type, name, config, secrets, enabled, created_ms"                    \
    " FROM notification_channels WHERE deleted_ms = 0"
    sqlite3_stmt *st =
        id > 0 ? sy_sq_prepare(s, err, CHANNEL_COLUMNS " AND workspace_id = ? AND id = ?", "ii", ws,
                               id)
        : ws < 0
            ? sy_sq_prepare(s, err, CHANNEL_COLUMNS " ORDER BY id", "")
            : sy_sq_prepare(s, err, CHANNEL_COLUMNS " AND workspace_id = ? ORDER BY id", "i", ws);
#undef CHANNEL_COLUMNS
    return sy_sq_each(s, st, err, "notification channels", channel_row,
                      (struct sy_sq_sink){.cb.channel = cb, .arg = arg});
}

/* ---- the outbox ------------------------------------------------------------------------- */

int sy_sq_notification_add(sy_store_t *store, const sy_store_notification_t *n, int64_t *id,
                           sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    int rc = sy_sq_run(s,
                       sy_sq_prepare(s, err,
                                     "INSERT OR IGNORE INTO notifications (workspace_id,"
                                     " channel_id, event, level, action, resource, idem_key,"
                                     " dedup_key, payload, status, created_ms, next_ms)"
                                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
                                     "iisssssssii", n->workspace, n->channel, n->event, n->level,
                                     n->action, n->resource, n->key, n->dedup, n->payload,
                                     n->created_ms, n->next_ms),
                       err);
    if (rc == 0)
        *id = sqlite3_changes(s->db) == 1 ? sqlite3_last_insert_rowid(s->db) : 0;
    return rc;
}

#define NOTIFICATION_COLUMNS                                                                       \
    "SELECT id, workspace_id, channel_id, event, level, action, resource, idem_key, dedup_key,"    \
    " payload, status, attempts, last_error, created_ms, next_ms, done_ms FROM notifications"

static int notification_row(sqlite3_stmt *st, const struct sy_sq_sink *to)
{
    sy_store_notification_t n = {.id = sqlite3_column_int64(st, 0),
                                 .workspace = sqlite3_column_int64(st, 1),
                                 .channel = sqlite3_column_int64(st, 2),
                                 .event = sy_sq_text(st, 3),
                                 .level = sy_sq_text(st, 4),
                                 .action = sy_sq_text(st, 5),
                                 .resource = sy_sq_text(st, 6),
                                 .key = sy_sq_text(st, 7),
                                 .dedup = sy_sq_text(st, 8),
                                 .payload = sy_sq_text(st, 9),
                                 .status = sy_sq_text(st, 10),
                                 .attempts = sqlite3_column_int64(st, 11),
                                 .last_error = sy_sq_text(st, 12),
                                 .created_ms = sqlite3_column_int64(st, 13),
                                 .next_ms = sqlite3_column_int64(st, 14),
                                 .done_ms = sqlite3_column_int64(st, 15)};
    return to->cb.notification(to->arg, &n);
}

int sy_sq_notification_list(sy_store_t *store, const sy_store_notification_query_t *q,
                            sy_store_notification_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    /* NULL and 0 filters match every row: one statement for every combination */
    sqlite3_stmt *st =
        sy_sq_prepare(s, err,
                      NOTIFICATION_COLUMNS " WHERE workspace_id = ?"
                                           " AND (? = 0 OR id = ?) AND (? = 0 OR channel_id = ?)"
                                           " AND (? IS NULL OR status = ?) AND (? = 0 OR id < ?)"
                                           " ORDER BY id DESC LIMIT ?",
                      "iiiiissiii", q->workspace, q->id, q->id, q->channel, q->channel, q->status,
                      q->status, q->before_id, q->before_id, (int64_t)q->limit);
    return sy_sq_each(s, st, err, "notifications", notification_row,
                      (struct sy_sq_sink){.cb.notification = cb, .arg = arg});
}

int sy_sq_notification_due(sy_store_t *store, int64_t now_ms, int limit,
                           sy_store_notification_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st =
        sy_sq_prepare(s, err,
                      NOTIFICATION_COLUMNS " WHERE status = 'pending' AND next_ms <= ?"
                                           " ORDER BY next_ms, id LIMIT ?",
                      "ii", now_ms, (int64_t)limit);
    return sy_sq_each(s, st, err, "due notifications", notification_row,
                      (struct sy_sq_sink){.cb.notification = cb, .arg = arg});
}

int sy_sq_notification_next(sy_store_t *store, int64_t *next_ms, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(
        s, err, "SELECT min(next_ms) FROM notifications WHERE status = 'pending'", "");
    if (!st)
        return err ? err->code : -EIO;
    int rc = sqlite3_step(st);
    *next_ms = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : sy_sq_fail(s, err, "next notification");
}

int sy_sq_notification_update(sy_store_t *store, int64_t id, const char *status, int64_t attempts,
                              const char *last_error, int64_t next_ms, int64_t done_ms,
                              sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    return sy_sq_run(s,
                     sy_sq_prepare(s, err,
                                   "UPDATE notifications SET status = ?, attempts = ?,"
                                   " last_error = ?, next_ms = ?, done_ms = ? WHERE id = ?",
                                   "sisiii", status, attempts, last_error, next_ms, done_ms, id),
                     err);
}

int sy_sq_notification_counts(sy_store_t *store, int64_t ws, int64_t counts[3], sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    sqlite3_stmt *st = sy_sq_prepare(
        s, err,
        "SELECT count(*) FILTER (WHERE status = 'pending'),"
        " count(*) FILTER (WHERE status = 'delivered'), count(*) FILTER (WHERE status = 'failed')"
        " FROM notifications WHERE ? < 0 OR workspace_id = ?",
        "ii", ws, ws);
    if (!st)
        return err ? err->code : -EIO;
    int rc = sqlite3_step(st);
    for (int i = 0; i < 3; i++)
        counts[i] = rc == SQLITE_ROW ? sqlite3_column_int64(st, i) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : sy_sq_fail(s, err, "notification counts");
}

int sy_sq_notification_type_counts(sy_store_t *store, int64_t ws, const char *const *types,
                                   size_t n, int64_t (*counts)[3], sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    memset(counts, 0, n * sizeof(*counts));
    sqlite3_stmt *st =
        sy_sq_prepare(s, err,
                      "SELECT c.type, count(*) FILTER (WHERE n.status = 'pending'),"
                      " count(*) FILTER (WHERE n.status = 'delivered'),"
                      " count(*) FILTER (WHERE n.status = 'failed')"
                      " FROM notifications n JOIN notification_channels c ON c.id = n.channel_id"
                      " WHERE ? < 0 OR n.workspace_id = ? GROUP BY c.type",
                      "ii", ws, ws);
    if (!st)
        return err ? err->code : -EIO;
    int rc = sqlite3_step(st);
    for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
        const char *type = (const char *)sqlite3_column_text(st, 0);
        for (size_t i = 0; type && i < n; i++)
            if (strcmp(type, types[i]) == 0)
                for (int k = 0; k < 3; k++)
                    counts[i][k] = sqlite3_column_int64(st, 1 + k);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sy_sq_fail(s, err, "notification counts by type");
}

int sy_sq_notification_type_counts_each(sy_store_t *store, const char *const *types, size_t n,
                                        sy_store_type_counts_cb cb, void *arg, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    int64_t counts[SY_STORE_TYPES_MAX][3];
    sqlite3_stmt *st =
        sy_sq_prepare(s, err,
                      "SELECT n.workspace_id, c.type, count(*) FILTER (WHERE n.status = 'pending'),"
                      " count(*) FILTER (WHERE n.status = 'delivered'),"
                      " count(*) FILTER (WHERE n.status = 'failed')"
                      " FROM notifications n JOIN notification_channels c ON c.id = n.channel_id"
                      " GROUP BY n.workspace_id, c.type ORDER BY n.workspace_id",
                      "");
    if (!st)
        return err ? err->code : -EIO;
    int64_t ws = 0;
    bool any = false; /* a type of `types` counted in workspace ws */
    int rc = sqlite3_step(st), crc = 0;
    for (; rc == SQLITE_ROW && crc == 0; rc = sqlite3_step(st)) {
        int64_t w = sqlite3_column_int64(st, 0);
        if (w != ws) {
            if (any)
                crc = cb(arg, ws, (const int64_t(*)[3])counts);
            memset(counts, 0, sizeof(counts));
            ws = w;
            any = false;
        }
        const char *type = (const char *)sqlite3_column_text(st, 1);
        for (size_t i = 0; crc == 0 && type && i < n; i++)
            if (strcmp(type, types[i]) == 0) {
                for (int k = 0; k < 3; k++)
                    counts[i][k] = sqlite3_column_int64(st, 2 + k);
                any = true;
            }
    }
    if (crc == 0 && rc == SQLITE_DONE && any)
        crc = cb(arg, ws, (const int64_t(*)[3])counts);
    sqlite3_finalize(st);
    if (crc != 0)
        return crc;
    return rc == SQLITE_DONE ? 0 : sy_sq_fail(s, err, "notification counts by type");
}

int sy_sq_notification_prune(sy_store_t *store, int64_t before_ms, int64_t *deleted, sy_err_t *err)
{
    struct sqlite_store *s = sq(store);
    int rc = sy_sq_run(s,
                       sy_sq_prepare(s, err,
                                     "DELETE FROM notifications WHERE status != 'pending'"
                                     " AND done_ms < ?",
                                     "i", before_ms),
                       err);
    *deleted = rc == 0 ? sqlite3_changes(s->db) : 0;
    return rc;
}
