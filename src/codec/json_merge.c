/* json_merge.c - JSON Merge Patch (RFC 7386); see json_merge.h. */
#include "codec/json_merge.h"

/* Applies `patch` to `into` (an object we own), recursively; -1 when out of memory. */
static int merge_into(json_t *into, const json_t *patch)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v)
    {
        if (json_is_null(v)) {
            json_object_del(into, k);
            continue;
        }
        if (!json_is_object(v)) {
            if (json_object_set_new(into, k, json_deep_copy(v)) < 0)
                return -1;
            continue;
        }
        json_t *cur = json_object_get(into, k);
        json_t *sub = json_is_object(cur) ? json_deep_copy(cur) : json_object();
        if (!sub || merge_into(sub, v) < 0 || json_object_set_new(into, k, sub) < 0) {
            json_decref(sub);
            return -1;
        }
    }
    return 0;
}

json_t *sy_json_merge_patch(const json_t *target, const json_t *patch)
{
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
    if (out && merge_into(out, patch) < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}
