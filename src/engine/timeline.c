/* timeline.c - experiments' results over time; see engine.h ("timeline").
 *
 * A point is written from sy_exp_results_of, the results the API answers, by the codec
 * (codec/timeline_json.h), so the charts read the very numbers /results gave then. Points
 * of changes are written in the change's transaction (allocation.c, experiment.c's
 * start): a change committed always has its point. The hourly points of every active
 * experiment go in one transaction per hour; a failed one is tried again a minute later.
 */
#include <stdlib.h>
#include <string.h>

#include "codec/timeline_json.h"
#include "codec/value_json.h"
#include "engine/experiment_int.h"

#define HOUR_MS  3600000
#define RETRY_MS 60000

int sy_exp_timeline_put(sy_engine_t *eng, struct experiment *e, const char *cause, bool replace,
                        sy_err_t *err)
{
    sy_exp_results_t *x = NULL;
    int rc = sy_exp_results_of(eng, e, &x, err);
    if (rc < 0)
        return rc;
    int64_t now = sy_engine_now_ms(eng);
    sy_health_view_t hv;
    sy_eng_health_view(eng, e, &hv);
    json_t *j = sy_timeline_point_json(x, &hv, now, cause);
    char *text = j ? sy_json_dumps(j, JSON_COMPACT) : NULL;
    rc = text ? sy_store_timeline_put(eng->store, e->id, now, text, replace, err) : sy_eng_oom(err);
    free(text);
    json_decref(j);
    free(x);
    return rc;
}

static bool charted(enum state s)
{
    return s == RUNNING || s == PROMOTING || s == PROMOTED;
}

void sy_eng_timeline_tick(sy_engine_t *eng, int64_t now_ms)
{
    struct sy_experiments *xs = eng->x;
    if (!xs || eng->no_hourly_timeline)
        return;
    if (!xs->next_timeline_ms)
        xs->next_timeline_ms = (now_ms / HOUR_MS + 1) * HOUR_MS;
    if (now_ms < xs->next_timeline_ms)
        return;
    size_t n = 0;
    for (size_t i = 0; i < xs->n; i++)
        n += charted(xs->all[i]->state);
    int rc = 0;
    if (n) {
        rc = sy_store_begin(eng->store, NULL);
        for (size_t i = 0; rc == 0 && i < xs->n; i++)
            if (charted(xs->all[i]->state))
                rc = sy_exp_timeline_put(eng, xs->all[i], "hourly", false, NULL);
        if (rc == 0)
            rc = sy_store_commit(eng->store, NULL);
        else
            sy_store_rollback(eng->store);
    }
    xs->next_timeline_ms = rc == 0 ? (now_ms / HOUR_MS + 1) * HOUR_MS : now_ms + RETRY_MS;
}

struct page_walk {
    sy_timeline_cb cb;
    void *arg;
    int64_t left; /* points still to hand over; the one after them says there is more */
    sy_timeline_page_t *page;
};

static int page_row(void *arg, int64_t at_ms, const char *point)
{
    struct page_walk *w = arg;
    if (w->left == 0) {
        w->page->has_next = true;
        w->page->next_since_ms = at_ms;
        return 0;
    }
    w->left--;
    return w->cb(w->arg, at_ms, point);
}

int sy_engine_experiment_timeline(sy_engine_t *eng, const sy_principal_t *actor, const char *key,
                                  const sy_timeline_query_t *q, sy_timeline_cb cb, void *arg,
                                  sy_timeline_page_t *page, sy_err_t *err)
{
    *page = (sy_timeline_page_t){0};
    if (q->limit < 1 || q->limit > SY_TIMELINE_LIMIT_MAX)
        return sy_err_set(err, -EINVAL, "limit", "limit is 1 to %d", SY_TIMELINE_LIMIT_MAX);
    if (q->since_ms < 0 || q->since_ms > q->until_ms)
        return sy_err_set(err, -EINVAL, "since_ms", "since_ms is 0 or more and at most until_ms");
    struct experiment *e = sy_exp_lookup(eng, actor, key, err);
    if (!e)
        return -ENOENT;
    page->sequential = e->sequential;
    struct page_walk w = {.cb = cb, .arg = arg, .left = q->limit, .page = page};
    int rc = sy_store_timeline_list(eng->store, e->id, q->since_ms, q->until_ms, q->limit + 1,
                                    page_row, &w, err);
    if (rc < 0)
        *page = (sy_timeline_page_t){0};
    return rc == -ENOMEM ? sy_eng_oom(err) : rc;
}
