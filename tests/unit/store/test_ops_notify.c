/* test_ops_notify.c - store.h's risk guard (policies, the ledger), notification channels and the
 * notification outbox, on SQLite and (tests/integration/pg_unit.sh) on PostgreSQL:
 * store_fixture.h. */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <time.h>

#include "store_fixture.h"

/* Bit-exact: a double that does not round-trip fails, where == would take -0 for 0. */
#define assert_same_double(got, want)                                                              \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        if (memcmp(&g_, &w_, sizeof(g_)) != 0)                                                     \
            fail_msg("%s = %.17g, want %.17g", #got, g_, w_);                                      \
    } while (0)

static int64_t new_ws(sy_store_t *s, const char *name)
{
    int64_t id;
    assert_int_equal(sy_store_workspace_create(s, name, 1, &id, NULL), 0);
    return id;
}

static int64_t new_channel(sy_store_t *s, int64_t ws, const char *type, const char *name)
{
    sy_store_channel_t c = {.workspace = ws,
                            .type = type,
                            .name = name,
                            .config = "{}",
                            .secrets = "{}",
                            .enabled = true,
                            .created_ms = 1};
    int64_t id;
    assert_int_equal(sy_store_channel_add(s, &c, &id, NULL), 0);
    return id;
}

static sy_store_notification_t a_row(int64_t ws, int64_t channel, const char *key, int64_t next_ms)
{
    return (sy_store_notification_t){.workspace = ws,
                                     .channel = channel,
                                     .event = "rollback",
                                     .level = "critical",
                                     .action = "trigger",
                                     .resource = "experiment:x",
                                     .key = key,
                                     .dedup = key,
                                     .payload = "{}",
                                     .created_ms = 10,
                                     .next_ms = next_ms};
}

/* Appends "id:status;" of each notification to the 4096-byte buffer `arg`. */
static int collect_ids(void *arg, const sy_store_notification_t *n)
{
    char *buf = arg;
    size_t len = strlen(buf);
    snprintf(buf + len, 4096 - len, "%lld:%s;", (long long)n->id, n->status);
    return 0;
}

static int collect_channels(void *arg, const sy_store_channel_t *c)
{
    char *buf = arg;
    size_t len = strlen(buf);
    snprintf(buf + len, 4096 - len, "%lld:%lld:%s:%s:%s:%s:%d;", (long long)c->id,
             (long long)c->workspace, c->type, c->name, c->config, c->secrets, c->enabled);
    return 0;
}

/* ---- the outbox (from test_sqlite.c) ------------------------------------------------------- */

static void the_outbox_queues_once_per_key_and_prunes_only_what_is_done(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = new_ws(s, "a"), b = new_ws(s, "b");
    int64_t ch = new_channel(s, a, "webhook", "w"), other = new_channel(s, b, "webhook", "w");
    int64_t id1, id2, dup, n;
    sy_store_notification_t row = a_row(a, ch, "k1", 50);
    assert_int_equal(sy_store_notification_add(s, &row, &id1, NULL), 0);
    assert_true(id1 > 0);
    assert_int_equal(sy_store_notification_add(s, &row, &dup, NULL), 0);
    assert_int_equal(dup, 0); /* the same (channel, key): queued once */
    row.key = "k2";
    row.next_ms = 20;
    assert_int_equal(sy_store_notification_add(s, &row, &id2, NULL), 0);
    row.workspace = b;
    row.channel = other;
    row.next_ms = 1000;
    assert_int_equal(sy_store_notification_add(s, &row, &dup, NULL), 0); /* k2, another channel */
    assert_true(dup > 0);
    /* due: the most overdue first, only what is due */
    char got[4096] = "";
    assert_int_equal(sy_store_notification_due(s, 60, 10, collect_ids, got, NULL), 0);
    char want[256];
    snprintf(want, sizeof(want), "%lld:pending;%lld:pending;", (long long)id2, (long long)id1);
    assert_string_equal(got, want);
    int64_t next;
    assert_int_equal(sy_store_notification_next(s, &next, NULL), 0);
    assert_int_equal(next, 20);
    /* one delivered, one failed at t = 100 */
    assert_int_equal(sy_store_notification_update(s, id1, "delivered", 1, NULL, 100, 100, NULL), 0);
    assert_int_equal(sy_store_notification_update(s, id2, "failed", 8, "HTTP 503", 100, 100, NULL),
                     0);
    int64_t counts[3];
    assert_int_equal(sy_store_notification_counts(s, a, counts, NULL), 0);
    assert_true(counts[0] == 0 && counts[1] == 1 && counts[2] == 1);
    assert_int_equal(sy_store_notification_counts(s, -1, counts, NULL), 0);
    assert_true(counts[0] == 1 && counts[1] == 1 && counts[2] == 1);
    assert_int_equal(sy_store_notification_next(s, &next, NULL), 0);
    assert_int_equal(next, 1000); /* b's, the one pending left */
    /* workspace a's list, filtered; b's row is not in it */
    got[0] = '\0';
    sy_store_notification_query_t q = {.workspace = a, .status = "failed", .limit = 10};
    assert_int_equal(sy_store_notification_list(s, &q, collect_ids, got, NULL), 0);
    snprintf(want, sizeof(want), "%lld:failed;", (long long)id2);
    assert_string_equal(got, want);
    /* pruning at 100 keeps what was done at 100; at 101 takes both, never the pending one */
    assert_int_equal(sy_store_notification_prune(s, 100, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sy_store_notification_prune(s, 101, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_int_equal(sy_store_notification_prune(s, INT64_MAX, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_int_equal(sy_store_notification_counts(s, -1, counts, NULL), 0);
    assert_true(counts[0] == 1 && counts[1] == 0 && counts[2] == 0);
    fx_store_close(s);
}

static void the_outbox_counts_by_channel_type(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = new_ws(s, "a"), b = new_ws(s, "b");
    int64_t hook = new_channel(s, a, "webhook", "w"), slack = new_channel(s, a, "slack", "s");
    int64_t other = new_channel(s, b, "slack", "s"), id;
    sy_store_notification_t row = a_row(a, hook, "k1", 50);
    assert_int_equal(sy_store_notification_add(s, &row, &id, NULL), 0);
    assert_int_equal(sy_store_notification_update(s, id, "delivered", 1, NULL, 100, 100, NULL), 0);
    row.key = "k2";
    assert_int_equal(sy_store_notification_add(s, &row, &id, NULL), 0); /* pending */
    row.channel = slack;
    assert_int_equal(sy_store_notification_add(s, &row, &id, NULL), 0);
    assert_int_equal(sy_store_notification_update(s, id, "failed", 3, "HTTP 503", 100, 100, NULL),
                     0);
    row.workspace = b;
    row.channel = other;
    assert_int_equal(sy_store_notification_add(s, &row, &id, NULL), 0);
    assert_int_equal(sy_store_channel_delete(s, a, slack, 200, NULL), 0);
    /* "email" has no rows; "slack" is left out of the second list: not counted anywhere */
    static const char *const types[] = {"webhook", "slack", "email"};
    int64_t n[3][3];
    assert_int_equal(sy_store_notification_type_counts(s, a, types, 3, n, NULL), 0);
    assert_true(n[0][0] == 1 && n[0][1] == 1 && n[0][2] == 0); /* webhook: pending, delivered */
    assert_true(n[1][0] == 0 && n[1][1] == 0 && n[1][2] == 1); /* slack, channel deleted since */
    assert_true(n[2][0] == 0 && n[2][1] == 0 && n[2][2] == 0);
    assert_int_equal(sy_store_notification_type_counts(s, b, types, 3, n, NULL), 0);
    assert_true(n[0][0] == 0 && n[1][0] == 1 && n[2][0] == 0); /* b's own slack row */
    assert_int_equal(sy_store_notification_type_counts(s, -1, types, 1, n, NULL), 0);
    assert_true(n[0][0] == 1 && n[0][1] == 1 && n[0][2] == 0);
    static const char *const slack_only[] = {"slack"};
    assert_int_equal(sy_store_notification_type_counts(s, -1, slack_only, 1, n, NULL), 0);
    assert_true(n[0][0] == 1 && n[0][1] == 0 && n[0][2] == 1); /* a's and b's added */
    assert_int_equal(sy_store_notification_type_counts(s, 999, types, 3, n, NULL), 0);
    assert_true(n[0][0] == 0 && n[1][2] == 0); /* no such workspace: zeros */
    fx_store_close(s);
}

/* What each call of notification_type_counts_each saw: its workspace and counts. */
struct seen_counts {
    int n;
    int64_t ws[4];
    int64_t counts[4][2][3];
};

static int see_counts(void *arg, int64_t ws, const int64_t (*counts)[3])
{
    struct seen_counts *c = arg;
    if (c->n == 4)
        return -E2BIG;
    c->ws[c->n] = ws;
    memcpy(c->counts[c->n++], counts, sizeof(c->counts[0]));
    return 0;
}

static int stop_counts(void *arg, int64_t ws, const int64_t (*counts)[3])
{
    (void)counts;
    *(int64_t *)arg = ws;
    return 7;
}

/* Every workspace's counts by type in one read: one call per workspace with rows of a type
 * asked, by workspace id, each as notification_type_counts gives it; none for a workspace
 * whose rows are all of other types; a callback's non-zero stops it. */
static void the_outbox_counts_by_type_for_every_workspace_at_once(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = new_ws(s, "a"), b = new_ws(s, "b"), c = new_ws(s, "c"), id;
    int64_t hook = new_channel(s, a, "webhook", "w"), slack = new_channel(s, b, "slack", "s");
    int64_t mail = new_channel(s, c, "email", "e");
    sy_store_notification_t row = a_row(b, slack, "k1", 50);
    assert_int_equal(sy_store_notification_add(s, &row, &id, NULL), 0);
    assert_int_equal(sy_store_notification_update(s, id, "failed", 3, "HTTP 503", 100, 100, NULL),
                     0);
    row = a_row(a, hook, "k2", 50);
    assert_int_equal(sy_store_notification_add(s, &row, &id, NULL), 0);
    row.key = "k3";
    assert_int_equal(sy_store_notification_add(s, &row, &id, NULL), 0);
    row = a_row(c, mail, "k4", 50);
    assert_int_equal(sy_store_notification_add(s, &row, &id, NULL), 0);
    static const char *const types[] = {"webhook", "slack"};
    struct seen_counts seen = {0};
    assert_int_equal(sy_store_notification_type_counts_each(s, types, 2, see_counts, &seen, NULL),
                     0);
    assert_int_equal(seen.n, 2); /* not c: only email */
    assert_int_equal(seen.ws[0], a);
    assert_true(seen.counts[0][0][0] == 2 && seen.counts[0][1][0] == 0); /* webhook pending */
    assert_int_equal(seen.ws[1], b);
    assert_true(seen.counts[1][0][2] == 0 && seen.counts[1][1][2] == 1); /* slack failed */
    int64_t first = 0;
    assert_int_equal(sy_store_notification_type_counts_each(s, types, 2, stop_counts, &first, NULL),
                     7);
    assert_int_equal(first, a);
    static const char *many[SY_STORE_TYPES_MAX + 1];
    for (size_t i = 0; i <= SY_STORE_TYPES_MAX; i++)
        many[i] = "slack";
    sy_err_t err = {0};
    assert_int_equal(sy_store_notification_type_counts_each(s, many, SY_STORE_TYPES_MAX + 1,
                                                            see_counts, &seen, &err),
                     -EINVAL);
    assert_string_equal(err.field, "types");
    fx_store_close(s);
}

/* ---- the outbox across workspaces -------------------------------------------------------------
 */

static void due_notifications_merge_workspaces_by_next_then_id_within_the_limit(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = new_ws(s, "a"), b = new_ws(s, "b"), c = new_ws(s, "c");
    int64_t cha = new_channel(s, a, "webhook", "w"), chb = new_channel(s, b, "webhook", "w");
    (void)c; /* a workspace with nothing queued */
    int64_t next;
    assert_int_equal(sy_store_notification_next(s, &next, NULL), 0);
    assert_int_equal(next, 0); /* none pending */
    /* ids in order of adding: b30, a10, b10, a20, a5 (not due at 25), b20 */
    struct {
        int64_t ws, ch, next_ms;
        const char *key;
    } add[] = {{b, chb, 30, "1"}, {a, cha, 10, "2"}, {b, chb, 10, "3"},
               {a, cha, 20, "4"}, {a, cha, 99, "5"}, {b, chb, 20, "6"}};
    int64_t id[6];
    for (int i = 0; i < 6; i++) {
        sy_store_notification_t row = a_row(add[i].ws, add[i].ch, add[i].key, add[i].next_ms);
        assert_int_equal(sy_store_notification_add(s, &row, &id[i], NULL), 0);
    }
    char got[4096] = "", want[512];
    /* the first four across both workspaces: 10 (a's id first), 10, 20, 20 */
    assert_int_equal(sy_store_notification_due(s, 30, 4, collect_ids, got, NULL), 0);
    snprintf(want, sizeof(want), "%lld:pending;%lld:pending;%lld:pending;%lld:pending;",
             (long long)id[1], (long long)id[2], (long long)id[3], (long long)id[5]);
    assert_string_equal(got, want);
    got[0] = '\0';
    assert_int_equal(sy_store_notification_due(s, 30, 100, collect_ids, got, NULL), 0);
    snprintf(want, sizeof(want),
             "%lld:pending;%lld:pending;%lld:pending;%lld:pending;%lld:pending;", (long long)id[1],
             (long long)id[2], (long long)id[3], (long long)id[5], (long long)id[0]);
    assert_string_equal(got, want);
    got[0] = '\0';
    assert_int_equal(sy_store_notification_due(s, 30, 1, collect_ids, got, NULL), 0);
    snprintf(want, sizeof(want), "%lld:pending;", (long long)id[1]);
    assert_string_equal(got, want);
    got[0] = '\0';
    assert_int_equal(sy_store_notification_due(s, 30, 0, collect_ids, got, NULL), 0);
    assert_string_equal(got, "");
    got[0] = '\0';
    assert_int_equal(sy_store_notification_due(s, 9, 10, collect_ids, got, NULL), 0);
    assert_string_equal(got, ""); /* nothing due yet */
    assert_int_equal(sy_store_notification_next(s, &next, NULL), 0);
    assert_int_equal(next, 10);
    /* b's two at 10 done: a's and b's first pending are 20 */
    assert_int_equal(sy_store_notification_update(s, id[1], "delivered", 1, NULL, 10, 11, NULL), 0);
    assert_int_equal(sy_store_notification_update(s, id[2], "delivered", 1, NULL, 10, 12, NULL), 0);
    assert_int_equal(sy_store_notification_next(s, &next, NULL), 0);
    assert_int_equal(next, 20);
    /* prune across workspaces: done before 12 is a's alone */
    int64_t n;
    assert_int_equal(sy_store_notification_prune(s, 12, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(sy_store_notification_prune(s, 13, &n, NULL), 0);
    assert_int_equal(n, 1);
    fx_store_close(s);
}

/* The last notification listed, its last_error as text ("(null)" for none). */
struct last {
    sy_store_notification_t n;
    char last_error[64];
    int calls;
};

static int keep(void *arg, const sy_store_notification_t *n)
{
    struct last *got = arg;
    got->n = *n;
    snprintf(got->last_error, sizeof(got->last_error), "%s",
             n->last_error ? n->last_error : "(null)");
    got->calls++;
    return 0;
}

static void an_update_finds_its_notification_by_id_alone_and_misses_quietly(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = new_ws(s, "a"), b = new_ws(s, "b");
    int64_t cha = new_channel(s, a, "email", "e"), chb = new_channel(s, b, "email", "e");
    int64_t ida, idb;
    sy_store_notification_t row = a_row(a, cha, "k", 5);
    assert_int_equal(sy_store_notification_add(s, &row, &ida, NULL), 0);
    row = a_row(b, chb, "k", 5);
    assert_int_equal(sy_store_notification_add(s, &row, &idb, NULL), 0);
    assert_int_equal(sy_store_notification_update(s, idb, "pending", 2, "timeout 'x'", 70, 0, NULL),
                     0);
    assert_int_equal(sy_store_notification_update(s, idb + 1000, "failed", 1, NULL, 1, 1, NULL), 0);
    /* inside a transaction too, and undone by its rollback */
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_notification_update(s, ida, "failed", 9, "gone", 1, 2, NULL), 0);
    sy_store_rollback(s);
    struct last got = {0};
    sy_store_notification_query_t q = {.workspace = b, .id = idb, .limit = 10};
    assert_int_equal(sy_store_notification_list(s, &q, keep, &got, NULL), 0);
    assert_int_equal(got.calls, 1);
    assert_int_equal(got.n.attempts, 2);
    assert_int_equal(got.n.next_ms, 70);
    assert_int_equal(got.n.done_ms, 0);
    assert_string_equal(got.last_error, "timeout 'x'");
    got.calls = 0;
    q = (sy_store_notification_query_t){.workspace = a, .id = ida, .limit = 10};
    assert_int_equal(sy_store_notification_list(s, &q, keep, &got, NULL), 0);
    assert_int_equal(got.calls, 1);
    assert_int_equal(got.n.attempts, 0); /* the rollback left it untouched */
    assert_string_equal(got.last_error, "(null)");
    assert_int_equal(got.n.done_ms, 0);
    fx_store_close(s);
}

/* A notification's every field as listed, text copied (1 MB payloads included). */
struct kept {
    sy_store_notification_t n;
    char *text[8]; /* event, level, action, resource, key, dedup, payload, status */
    int calls;
};

static int keep_all(void *arg, const sy_store_notification_t *n)
{
    struct kept *k = arg;
    for (int i = 0; i < 8; i++)
        free(k->text[i]);
    const char *t[] = {n->event, n->level, n->action,  n->resource,
                       n->key,   n->dedup, n->payload, n->status};
    for (int i = 0; i < 8; i++)
        k->text[i] = strdup(t[i]);
    k->n = *n;
    k->calls++;
    return 0;
}

static void a_notification_keeps_odd_text_and_lists_by_every_filter(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = new_ws(s, "a"), b = new_ws(s, "b");
    int64_t ch1 = new_channel(s, a, "pagerduty", "p"), ch2 = new_channel(s, a, "slack", "s");
    size_t big = 1 << 20;
    char *payload = malloc(big + 1);
    assert_non_null(payload);
    for (size_t i = 0; i < big; i++)
        payload[i] = "{\"é'\\\"xy}"[i % 10]; /* UTF-8 2-byte é stays whole: 10 bytes a period */
    payload[big] = '\0';
    sy_store_notification_t row = {.workspace = a,
                                   .channel = ch1,
                                   .event = "promotion 'ünïcode' \"quoted\"",
                                   .level = "warning",
                                   .action = "resolve",
                                   .resource = "experiment:日本",
                                   .key = "k'1",
                                   .dedup = "d\\1",
                                   .payload = payload,
                                   .created_ms = INT64_MIN,
                                   .next_ms = INT64_MAX};
    int64_t id[4];
    assert_int_equal(sy_store_notification_add(s, &row, &id[0], NULL), 0);
    row.payload = "{}";
    row.created_ms = 1;
    row.next_ms = 1;
    row.key = "k2";
    assert_int_equal(sy_store_notification_add(s, &row, &id[1], NULL), 0);
    row.channel = ch2;
    assert_int_equal(sy_store_notification_add(s, &row, &id[2], NULL), 0);
    row.key = "k3";
    assert_int_equal(sy_store_notification_add(s, &row, &id[3], NULL), 0);
    assert_int_equal(sy_store_notification_update(s, id[3], "delivered", 1, NULL, 1, 5, NULL), 0);
    struct kept k = {0};
    sy_store_notification_query_t q = {.workspace = a, .id = id[0], .limit = 1};
    assert_int_equal(sy_store_notification_list(s, &q, keep_all, &k, NULL), 0);
    assert_int_equal(k.calls, 1);
    assert_int_equal(k.n.id, id[0]);
    assert_int_equal(k.n.workspace, a);
    assert_int_equal(k.n.channel, ch1);
    assert_string_equal(k.text[0], "promotion 'ünïcode' \"quoted\"");
    assert_string_equal(k.text[1], "warning");
    assert_string_equal(k.text[2], "resolve");
    assert_string_equal(k.text[3], "experiment:日本");
    assert_string_equal(k.text[4], "k'1");
    assert_string_equal(k.text[5], "d\\1");
    assert_int_equal(strlen(k.text[6]), big);
    assert_memory_equal(k.text[6], payload, big);
    assert_string_equal(k.text[7], "pending");
    assert_int_equal(k.n.attempts, 0);
    assert_null(k.n.last_error);
    assert_true(k.n.created_ms == INT64_MIN);
    assert_true(k.n.next_ms == INT64_MAX);
    assert_int_equal(k.n.done_ms, 0);
    /* the filters: newest first; channel, status, cursor and limit each narrow */
    char got[4096] = "", want[256];
    q = (sy_store_notification_query_t){.workspace = a, .limit = 10};
    assert_int_equal(sy_store_notification_list(s, &q, collect_ids, got, NULL), 0);
    snprintf(want, sizeof(want), "%lld:delivered;%lld:pending;%lld:pending;%lld:pending;",
             (long long)id[3], (long long)id[2], (long long)id[1], (long long)id[0]);
    assert_string_equal(got, want);
    got[0] = '\0';
    q = (sy_store_notification_query_t){.workspace = a, .channel = ch2, .limit = 10};
    assert_int_equal(sy_store_notification_list(s, &q, collect_ids, got, NULL), 0);
    snprintf(want, sizeof(want), "%lld:delivered;%lld:pending;", (long long)id[3],
             (long long)id[2]);
    assert_string_equal(got, want);
    got[0] = '\0';
    q = (sy_store_notification_query_t){
        .workspace = a, .status = "pending", .before_id = id[2], .limit = 1};
    assert_int_equal(sy_store_notification_list(s, &q, collect_ids, got, NULL), 0);
    snprintf(want, sizeof(want), "%lld:pending;", (long long)id[1]);
    assert_string_equal(got, want);
    got[0] = '\0';
    q = (sy_store_notification_query_t){.workspace = b, .limit = 10};
    assert_int_equal(sy_store_notification_list(s, &q, collect_ids, got, NULL), 0);
    assert_string_equal(got, ""); /* b sees none of a's */
    q = (sy_store_notification_query_t){.workspace = b, .id = id[0], .limit = 10};
    assert_int_equal(sy_store_notification_list(s, &q, collect_ids, got, NULL), 0);
    assert_string_equal(got, "");
    /* a row the schema refuses (a level it does not know) is skipped as a duplicate is */
    row.level = "fatal";
    row.key = "k4";
    int64_t skipped = -1;
    assert_int_equal(sy_store_notification_add(s, &row, &skipped, NULL), 0);
    assert_int_equal(skipped, 0);
    for (int i = 0; i < 8; i++)
        free(k.text[i]);
    free(payload);
    fx_store_close(s);
}

static int count_policy(void *arg, const sy_store_risk_policy_t *p)
{
    (void)p;
    (*(int *)arg)++;
    return 0;
}

static void a_rollback_leaves_no_policy_entry_channel_or_notification(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = new_ws(s, "a");
    int64_t ch = new_channel(s, a, "webhook", "kept"), id, n;
    sy_store_risk_policy_t pol = {.workspace = a,
                                  .domain = "payouts",
                                  .enabled = true,
                                  .reason = "r",
                                  .changed_by = "me",
                                  .updated_ms = 1};
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_risk_policy_put(s, &pol, NULL), 0);
    sy_store_risk_entry_t e = {.workspace = a,
                               .domain = "payouts",
                               .day = "2026-01-01",
                               .amount = 5,
                               .actor = "x",
                               .outcome = "reserved",
                               .at_ms = 1};
    assert_int_equal(sy_store_risk_add(s, &e, &id, NULL), 0);
    double sum;
    assert_int_equal(sy_store_risk_reserved(s, a, "payouts", "2026-01-01", &sum, NULL), 0);
    assert_same_double(sum, 5.0); /* the transaction sees its own reservation */
    int64_t gone = new_channel(s, a, "slack", "gone");
    sy_store_notification_t row = a_row(a, ch, "k", 1);
    assert_int_equal(sy_store_notification_add(s, &row, &id, NULL), 0);
    assert_int_equal(sy_store_channel_delete(s, a, ch, 9, NULL), 0);
    sy_store_rollback(s);
    (void)gone;
    int calls = 0;
    assert_int_equal(sy_store_risk_policy_list(s, a, NULL, count_policy, &calls, NULL), 0);
    assert_int_equal(calls, 0);
    assert_int_equal(sy_store_risk_reserved(s, a, "payouts", "2026-01-01", &sum, NULL), 0);
    assert_same_double(sum, 0.0);
    char got[4096] = "", want[128];
    assert_int_equal(sy_store_channel_list(s, a, 0, collect_channels, got, NULL), 0);
    snprintf(want, sizeof(want), "%lld:%lld:webhook:kept:{}:{}:1;", (long long)ch, (long long)a);
    assert_string_equal(got, want); /* not deleted, and "gone" never added */
    int64_t counts[3];
    assert_int_equal(sy_store_notification_counts(s, a, counts, NULL), 0);
    assert_true(counts[0] == 0 && counts[1] == 0 && counts[2] == 0);
    assert_int_equal(sy_store_notification_prune(s, INT64_MAX, &n, NULL), 0);
    assert_int_equal(n, 0);
    fx_store_close(s);
}

/* ---- channels ----------------------------------------------------------------------------- */

static void channels_list_by_id_across_workspaces_and_are_deleted_once(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = new_ws(s, "a"), b = new_ws(s, "b");
    /* ids interleave across the workspaces: a, b, a, b */
    int64_t a1 = new_channel(s, a, "webhook", "w1");
    sy_store_channel_t c = {.workspace = b,
                            .type = "email",
                            .name = "naïve \"mail\" 'x'",
                            .config = "{\"to\":\"ü@x\"}",
                            .secrets = "{\"p\":\"s'\\\\\"}",
                            .enabled = false,
                            .created_ms = INT64_MAX};
    int64_t b1, a2, b2;
    assert_int_equal(sy_store_channel_add(s, &c, &b1, NULL), 0);
    a2 = new_channel(s, a, "pagerduty", "p");
    b2 = new_channel(s, b, "slack", "s");
    assert_true(a1 < b1 && b1 < a2 && a2 < b2);
    char got[4096] = "", want[1024];
    assert_int_equal(sy_store_channel_list(s, -1, 0, collect_channels, got, NULL), 0);
    snprintf(want, sizeof(want),
             "%lld:%lld:webhook:w1:{}:{}:1;%lld:%lld:email:naïve \"mail\" 'x':{\"to\":\"ü@x\"}:"
             "{\"p\":\"s'\\\\\"}:0;%lld:%lld:pagerduty:p:{}:{}:1;%lld:%lld:slack:s:{}:{}:1;",
             (long long)a1, (long long)a, (long long)b1, (long long)b, (long long)a2, (long long)a,
             (long long)b2, (long long)b);
    assert_string_equal(got, want);
    /* one workspace's; one channel alone; another workspace's channel is not found */
    got[0] = '\0';
    assert_int_equal(sy_store_channel_list(s, a, 0, collect_channels, got, NULL), 0);
    snprintf(want, sizeof(want), "%lld:%lld:webhook:w1:{}:{}:1;%lld:%lld:pagerduty:p:{}:{}:1;",
             (long long)a1, (long long)a, (long long)a2, (long long)a);
    assert_string_equal(got, want);
    got[0] = '\0';
    assert_int_equal(sy_store_channel_list(s, a, a2, collect_channels, got, NULL), 0);
    snprintf(want, sizeof(want), "%lld:%lld:pagerduty:p:{}:{}:1;", (long long)a2, (long long)a);
    assert_string_equal(got, want);
    got[0] = '\0';
    assert_int_equal(sy_store_channel_list(s, a, b1, collect_channels, got, NULL), 0);
    assert_string_equal(got, "");
    /* deleted once, by its own workspace only; then listed nowhere */
    sy_err_t err = {0};
    assert_int_equal(sy_store_channel_delete(s, a, b1, 5, &err), -ENOENT);
    assert_string_equal(err.field, "id");
    assert_int_equal(sy_store_channel_delete(s, b, b1, 5, &err), 0);
    assert_int_equal(sy_store_channel_delete(s, b, b1, 6, &err), -ENOENT);
    assert_string_equal(err.field, "id");
    assert_int_equal(sy_store_channel_delete(s, b, 9999, 6, &err), -ENOENT);
    got[0] = '\0';
    assert_int_equal(sy_store_channel_list(s, -1, 0, collect_channels, got, NULL), 0);
    snprintf(
        want, sizeof(want),
        "%lld:%lld:webhook:w1:{}:{}:1;%lld:%lld:pagerduty:p:{}:{}:1;%lld:%lld:slack:s:{}:{}:1;",
        (long long)a1, (long long)a, (long long)a2, (long long)a, (long long)b2, (long long)b);
    assert_string_equal(got, want);
    got[0] = '\0';
    assert_int_equal(sy_store_channel_list(s, b, b1, collect_channels, got, NULL), 0);
    assert_string_equal(got, "");
    fx_store_close(s);
}

/* ---- the risk guard ------------------------------------------------------------------------ */

struct policies {
    char text[4096];
    sy_store_risk_policy_t last;
};

static int collect_policies(void *arg, const sy_store_risk_policy_t *p)
{
    struct policies *l = arg;
    size_t len = strlen(l->text);
    snprintf(l->text + len, sizeof(l->text) - len, "%s:%d:%s:%s:%lld:%lld;", p->domain, p->enabled,
             p->reason, p->changed_by, (long long)p->updated_ms, (long long)p->workspace);
    l->last = *p;
    l->last.domain = l->last.reason = l->last.changed_by = NULL; /* borrowed for the call */
    return 0;
}

static void risk_policies_are_replaced_and_listed_by_domain_bytes_with_exact_limits(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = new_ws(s, "a"), b = new_ws(s, "b");
    /* byte order: "Zeta" < "alpha" < "éclair" (a collation by language would put Zeta last) */
    const char *domains[] = {"éclair", "alpha", "Zeta"};
    for (int i = 0; i < 3; i++) {
        sy_store_risk_policy_t p = {.workspace = a,
                                    .domain = domains[i],
                                    .enabled = i != 1,
                                    .reason = "why 'so' \"quoted\"",
                                    .changed_by = "ops",
                                    .updated_ms = 10 + i};
        assert_int_equal(sy_store_risk_policy_put(s, &p, NULL), 0);
    }
    struct policies l = {0};
    assert_int_equal(sy_store_risk_policy_list(s, a, NULL, collect_policies, &l, NULL), 0);
    char want[1024];
    snprintf(want, sizeof(want),
             "Zeta:1:why 'so' \"quoted\":ops:12:%lld;alpha:0:why 'so' \"quoted\":ops:11:%lld;"
             "éclair:1:why 'so' \"quoted\":ops:10:%lld;",
             (long long)a, (long long)a, (long long)a);
    assert_string_equal(l.text, want);
    assert_false(l.last.has_max_per_action); /* no limits: NULL, not 0 */
    assert_false(l.last.has_max_per_day);
    /* replaced, limits exact to the bit, one domain alone */
    const double limits[][2] = {{0.1, 2.0 / 3.0},
                                {5e-324, 1.7976931348623157e308},
                                {1e-300, 123456789.12345678},
                                {INFINITY, 0.30000000000000004}};
    for (int i = 0; i < 4; i++) {
        sy_store_risk_policy_t p = {.workspace = a,
                                    .domain = "alpha",
                                    .enabled = true,
                                    .has_max_per_action = true,
                                    .max_per_action = limits[i][0],
                                    .has_max_per_day = true,
                                    .max_per_day = limits[i][1],
                                    .reason = "r",
                                    .changed_by = "c",
                                    .updated_ms = 100 + i};
        assert_int_equal(sy_store_risk_policy_put(s, &p, NULL), 0);
        memset(&l, 0, sizeof(l));
        assert_int_equal(sy_store_risk_policy_list(s, a, "alpha", collect_policies, &l, NULL), 0);
        snprintf(want, sizeof(want), "alpha:1:r:c:%d:%lld;", 100 + i, (long long)a);
        assert_string_equal(l.text, want);
        assert_true(l.last.has_max_per_action && l.last.has_max_per_day);
        assert_same_double(l.last.max_per_action, limits[i][0]);
        assert_same_double(l.last.max_per_day, limits[i][1]);
    }
    /* one limit dropped again; the other kept */
    sy_store_risk_policy_t p = {.workspace = a,
                                .domain = "alpha",
                                .has_max_per_day = true,
                                .max_per_day = 7.5,
                                .reason = "",
                                .changed_by = "c",
                                .updated_ms = 200};
    assert_int_equal(sy_store_risk_policy_put(s, &p, NULL), 0);
    memset(&l, 0, sizeof(l));
    assert_int_equal(sy_store_risk_policy_list(s, a, "alpha", collect_policies, &l, NULL), 0);
    assert_false(l.last.has_max_per_action);
    assert_true(l.last.has_max_per_day);
    assert_same_double(l.last.max_per_day, 7.5);
    assert_false(l.last.enabled);
    /* b has none of a's, and a domain of b is not a's */
    memset(&l, 0, sizeof(l));
    assert_int_equal(sy_store_risk_policy_list(s, b, NULL, collect_policies, &l, NULL), 0);
    assert_string_equal(l.text, "");
    p.workspace = b;
    p.domain = "beta";
    assert_int_equal(sy_store_risk_policy_put(s, &p, NULL), 0);
    memset(&l, 0, sizeof(l));
    assert_int_equal(sy_store_risk_policy_list(s, a, "beta", collect_policies, &l, NULL), 0);
    assert_string_equal(l.text, "");
    fx_store_close(s);
}

/* SQLite's own sum of `v` (what the SQLite store answers), to compare bit for bit. */
static double sqlite_sum(const double *v, int n)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, a REAL NOT NULL)", 0, 0, 0),
        SQLITE_OK);
    for (int i = 0; i < n; i++) {
        assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO t (a) VALUES (?)", -1, &st, 0),
                         SQLITE_OK);
        sqlite3_bind_double(st, 1, v[i]);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
    }
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT coalesce(sum(a), 0) FROM t", -1, &st, 0),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    double sum = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return sum;
}

static int64_t reserve(sy_store_t *s, int64_t ws, const char *domain, const char *day,
                       double amount, const char *outcome)
{
    sy_store_risk_entry_t e = {.workspace = ws,
                               .domain = domain,
                               .day = day,
                               .amount = amount,
                               .actor = "bot",
                               .outcome = outcome,
                               .reason = strcmp(outcome, "denied") == 0 ? "limit_exceeded" : NULL,
                               .at_ms = 1000};
    int64_t id;
    assert_int_equal(sy_store_risk_add(s, &e, &id, NULL), 0);
    return id;
}

static void the_reserved_sum_is_sqlites_to_the_bit_and_counts_only_what_is_reserved(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = new_ws(s, "a"), b = new_ws(s, "b");
    const char *day = "2026-12-07";
    double sum = -1;
    assert_int_equal(sy_store_risk_reserved(s, a, "payouts", day, &sum, NULL), 0);
    assert_same_double(sum, 0.0);
    /* amounts whose sum depends on how and in what order they are added */
    const double v[] = {1e16, 1.0, 1.0, 0.1, 0.2, 0.3, 1e-17, 3.3333333333333335, -1e16, 7e15};
    int n = (int)(sizeof(v) / sizeof(v[0]));
    for (int i = 0; i < n; i++)
        reserve(s, a, "payouts", day, v[i], "reserved");
    /* none of these counts: denied, released, another domain, day or workspace */
    reserve(s, a, "payouts", day, 1e6, "denied");
    int64_t rel = reserve(s, a, "payouts", day, 2e6, "reserved");
    assert_int_equal(sy_store_risk_release(s, a, rel, 2000, NULL), 0);
    reserve(s, a, "refunds", day, 3e6, "reserved");
    reserve(s, a, "payouts", "2026-12-08", 4e6, "reserved");
    reserve(s, b, "payouts", day, 5e6, "reserved");
    assert_int_equal(sy_store_risk_reserved(s, a, "payouts", day, &sum, NULL), 0);
    assert_same_double(sum, sqlite_sum(v, n));
    assert_int_equal(sy_store_risk_reserved(s, b, "payouts", day, &sum, NULL), 0);
    assert_same_double(sum, 5e6);
    /* in the caller's transaction: what it reserved counts, and a rollback takes it back */
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_risk_reserved(s, b, "payouts", day, &sum, NULL), 0);
    reserve(s, b, "payouts", day, 0.5, "reserved");
    assert_int_equal(sy_store_risk_reserved(s, b, "payouts", day, &sum, NULL), 0);
    assert_same_double(sum, 5e6 + 0.5);
    sy_store_rollback(s);
    assert_int_equal(sy_store_risk_reserved(s, b, "payouts", day, &sum, NULL), 0);
    assert_same_double(sum, 5e6);
    fx_store_close(s);
}

/* A second handle's reservation, begun while the first's transaction holds one. */
struct racer {
    const char *day;
    int64_t ws;
    double seen; /* the sum it was told before it reserved */
    int rc;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    sy_store_t *s = fx_store_open_again();
    sy_store_risk_entry_t e = {.workspace = r->ws,
                               .domain = "payouts",
                               .day = r->day,
                               .amount = 3,
                               .actor = "second",
                               .outcome = "reserved",
                               .at_ms = 2};
    int64_t id;
    r->rc = sy_store_begin(s, NULL);
    if (r->rc == 0)
        r->rc = sy_store_risk_reserved(s, r->ws, "payouts", r->day, &r->seen, NULL);
    if (r->rc == 0)
        r->rc = sy_store_risk_add(s, &e, &id, NULL);
    if (r->rc == 0)
        r->rc = sy_store_commit(s, NULL);
    else
        sy_store_rollback(s);
    sy_store_close(s);
    return NULL;
}

static void a_reservation_in_progress_is_counted_by_the_next_handle_to_check(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = new_ws(s, "a"), id;
    const char *day = "2026-12-07";
    /* the engine's reservation: the check and the entry in one transaction */
    double sum;
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_risk_reserved(s, a, "payouts", day, &sum, NULL), 0);
    sy_store_risk_entry_t e = {.workspace = a,
                               .domain = "payouts",
                               .day = day,
                               .amount = 7,
                               .actor = "first",
                               .outcome = "reserved",
                               .at_ms = 1};
    assert_int_equal(sy_store_risk_add(s, &e, &id, NULL), 0);
    /* another node checks the same day meanwhile: it must wait and count the 7, or a daily
     * limit of 8 would let 7 + 3 through */
    struct racer r = {.day = day, .ws = a, .seen = -1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, race, &r), 0);
    nanosleep(&(struct timespec){.tv_nsec = 300 * 1000 * 1000}, NULL);
    assert_int_equal(sy_store_commit(s, NULL), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(r.rc, 0);
    assert_same_double(r.seen, 7.0);
    assert_int_equal(sy_store_risk_reserved(s, a, "payouts", day, &sum, NULL), 0);
    assert_same_double(sum, 10.0);
    fx_store_close(s);
}

struct entries {
    char text[4096];
    int calls;
};

static int collect_entries(void *arg, const sy_store_risk_entry_t *e)
{
    struct entries *l = arg;
    size_t len = strlen(l->text);
    snprintf(l->text + len, sizeof(l->text) - len, "%lld:%lld:%s:%s:%.17g:%s:%s:%s:%s:%lld:%lld;",
             (long long)e->id, (long long)e->workspace, e->domain, e->day, e->amount, e->actor,
             e->correlation_id ? e->correlation_id : "(null)", e->outcome,
             e->reason ? e->reason : "(null)", (long long)e->at_ms, (long long)e->released_ms);
    l->calls++;
    return 0;
}

static void a_reservation_is_released_once_by_its_own_workspace(void **state)
{
    (void)state;
    sy_store_t *s = fx_store_open();
    int64_t a = new_ws(s, "a"), b = new_ws(s, "b");
    const char *day = "2026-12-07";
    sy_store_risk_entry_t e = {.workspace = a,
                               .domain = "pay'outs",
                               .day = day,
                               .amount = 0.1,
                               .actor = "bøt",
                               .correlation_id = "corr \"1\"",
                               .outcome = "reserved",
                               .at_ms = INT64_MAX};
    int64_t r1, denied;
    assert_int_equal(sy_store_risk_add(s, &e, &r1, NULL), 0);
    denied = reserve(s, a, "pay'outs", day, 2.5, "denied");
    int64_t other = reserve(s, b, "pay'outs", day, 1, "reserved");
    assert_true(r1 > 0 && denied > r1);
    sy_err_t err = {0};
    assert_int_equal(sy_store_risk_release(s, b, r1, 5, &err), -ENOENT); /* not b's */
    assert_string_equal(err.field, "reservation_id");
    assert_int_equal(sy_store_risk_release(s, a, other, 5, &err), -ENOENT);
    assert_int_equal(sy_store_risk_release(s, a, 99999, 5, &err), -ENOENT);
    assert_int_equal(sy_store_risk_release(s, a, denied, 5, &err), SY_ECONFLICT);
    assert_string_equal(err.field, "reservation_id");
    /* a rollback keeps it reserved */
    assert_int_equal(sy_store_begin(s, NULL), 0);
    assert_int_equal(sy_store_risk_release(s, a, r1, 6, NULL), 0);
    sy_store_rollback(s);
    assert_int_equal(sy_store_risk_release(s, a, r1, 7, &err), 0);
    assert_int_equal(sy_store_risk_release(s, a, r1, 8, &err), SY_ECONFLICT); /* once */
    assert_string_equal(err.field, "reservation_id");
    /* the day's entries in id order; one alone by id */
    struct entries l = {0};
    assert_int_equal(sy_store_risk_list(s, a, day, 0, collect_entries, &l, NULL), 0);
    char want[1024];
    snprintf(want, sizeof(want),
             "%lld:%lld:pay'outs:%s:0.10000000000000001:bøt:corr \"1\":released:(null):"
             "9223372036854775807:7;%lld:%lld:pay'outs:%s:2.5:bot:(null):denied:limit_exceeded:"
             "1000:0;",
             (long long)r1, (long long)a, day, (long long)denied, (long long)a, day);
    assert_string_equal(l.text, want);
    memset(&l, 0, sizeof(l));
    assert_int_equal(sy_store_risk_list(s, a, NULL, denied, collect_entries, &l, NULL), 0);
    assert_int_equal(l.calls, 1);
    memset(&l, 0, sizeof(l));
    assert_int_equal(sy_store_risk_list(s, b, NULL, denied, collect_entries, &l, NULL), 0);
    assert_int_equal(l.calls, 0); /* not b's */
    assert_int_equal(sy_store_risk_list(s, a, "2026-12-08", 0, collect_entries, &l, NULL), 0);
    assert_int_equal(l.calls, 0);
    fx_store_close(s);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_outbox_queues_once_per_key_and_prunes_only_what_is_done),
        cmocka_unit_test(the_outbox_counts_by_channel_type),
        cmocka_unit_test(the_outbox_counts_by_type_for_every_workspace_at_once),
        cmocka_unit_test(due_notifications_merge_workspaces_by_next_then_id_within_the_limit),
        cmocka_unit_test(an_update_finds_its_notification_by_id_alone_and_misses_quietly),
        cmocka_unit_test(a_notification_keeps_odd_text_and_lists_by_every_filter),
        cmocka_unit_test(a_rollback_leaves_no_policy_entry_channel_or_notification),
        cmocka_unit_test(channels_list_by_id_across_workspaces_and_are_deleted_once),
        cmocka_unit_test(risk_policies_are_replaced_and_listed_by_domain_bytes_with_exact_limits),
        cmocka_unit_test(the_reserved_sum_is_sqlites_to_the_bit_and_counts_only_what_is_reserved),
        cmocka_unit_test(a_reservation_is_released_once_by_its_own_workspace),
        cmocka_unit_test(a_reservation_in_progress_is_counted_by_the_next_handle_to_check),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
