/* sqlite_notify.c - notification channels of the SQLite store; see store.h. */
#include "store/sqlite_internal.h"

int sy_store_channel_add(sy_store_t *s, const sy_store_channel_t *c, int64_t *id, sy_err_t *err)
{
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

int sy_store_channel_delete(sy_store_t *s, int64_t ws, int64_t id, int64_t now_ms, sy_err_t *err)
{
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

int sy_store_channel_list(sy_store_t *s, int64_t ws, int64_t id, sy_store_channel_cb cb, void *arg,
                          sy_err_t *err)
{
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
