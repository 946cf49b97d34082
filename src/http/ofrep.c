/* ofrep.c - OpenFeature Remote Evaluation Protocol 0.3.0: one flag, or all of them.
 *
 * Shapes and status codes follow ../shared/conformance/flagd/README.md ("OFREP"): a
 * success is {"key","reason","variant"?,"value"?,"metadata"?} (no value when the client's
 * default applies: DISABLED, no default variant); a failure is {"key","errorCode",
 * "errorDetails","metadata"?}, 404 for FLAG_NOT_FOUND and 400 otherwise, as flagd answers.
 * A body that is not JSON is INVALID_CONTEXT; a `context` that is not an object is
 * ignored (flagd does the same). Bulk answers carry an ETag over the configuration's
 * revision and the request body, so a client polling with If-None-Match gets 304 until
 * either changes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

#include "codec/value_json.h"
#include "http/internal.h"

#define SCRATCH_BYTES       16384
#define CONTEXT_STACK_BYTES 16384

static json_t *metadata_json(const sy_value_t *md)
{
    return md && md->type == SY_OBJ && md->len ? sy_value_to_json(md) : NULL;
}

/* One flag's OFREP object. */
static json_t *result_json(const char *key, size_t klen, const sy_flag_result_t *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "key", json_stringn(key, klen));
    if (r->reason == SY_REASON_ERROR) {
        json_object_set_new(o, "errorCode", json_string(sy_flag_error_name(r->error)));
        json_object_set_new(o, "errorDetails", json_string(r->message));
    } else {
        json_object_set_new(o, "reason", json_string(sy_reason_name(r->reason)));
        if (r->has_value) {
            json_object_set_new(o, "variant", json_stringn(r->variant, r->variant_len));
            json_object_set_new(o, "value", sy_value_to_json(&r->value));
        }
    }
    json_t *md = metadata_json(r->metadata);
    if (md)
        json_object_set_new(o, "metadata", md);
    return o;
}

/* FNV-1a 64 of the body: the request half of a bulk ETag. */
static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3u;
    return h;
}

void sy_ofrep_evaluate(struct call *c, const char *key)
{
    size_t len;
    const char *body = body_bytes(c, &len);
    if (!body)
        return;
    /* The context: {"context": {...}}; an empty body is an empty context. */
    /* Typical contexts fit a stack buffer; larger bodies get a capped heap arena. */
    char ctx_buf[CONTEXT_STACK_BYTES];
    sy_arena_t arena;
    if (len * 16 < sizeof(ctx_buf))
        sy_arena_init_fixed(&arena, ctx_buf, sizeof(ctx_buf));
    else
        sy_arena_init(&arena, len * 32 + 65536); /* chunks are 16 KiB at least */
    sy_value_t doc = SY_V_NULL;
    const sy_value_t *ctx = NULL;
    sy_err_t perr = {0};
    int rc = len ? sy_value_parse(body, len, &arena, &doc, &perr) : 0;
    if (rc == -ENOMEM && arena.fixed) { /* an unusually dense body: parse it on the heap */
        sy_arena_init(&arena, len * 32 + 65536);
        rc = sy_value_parse(body, len, &arena, &doc, &perr);
    }
    if (rc < 0) {
        sy_arena_free(&arena);
        json_t *e = json_pack("{ssss}", "errorCode", "INVALID_CONTEXT", "errorDetails", perr.msg);
        if (e && key)
            json_object_set_new(e, "key", json_string(key));
        reply_json(c, 400, e);
        return;
    }
    if (doc.type == SY_OBJ) {
        const sy_value_t *v = sy_value_get(&doc, "context", 7);
        if (v && v->type == SY_OBJ)
            ctx = v;
    }

    const sy_snapshot_t *snap = sy_engine_snapshot(c->eng, c->who.workspace);
    if (!snap) {
        sy_arena_free(&arena);
        reply_json(c, 500, json_pack("{ss}", "errorDetails", "no such workspace"));
        return;
    }
    int64_t now_s = sy_engine_now_ms(c->eng) / 1000;
    char scratch_buf[SCRATCH_BYTES];
    sy_arena_t scratch;
    sy_arena_init_fixed(&scratch, scratch_buf, sizeof(scratch_buf));
    sy_flag_result_t r;

    if (key) {
        size_t klen = strlen(key);
        sy_flagset_eval(snap->set, key, klen, SY_TYPE_ANY, ctx, now_s, &scratch, &r);
        int status = r.reason != SY_REASON_ERROR ? 200 : r.error == SY_FLAG_NOT_FOUND ? 404 : 400;
        reply_json(c, status, result_json(key, klen, &r));
    } else {
        char etag[64];
        snprintf(etag, sizeof(etag), "\"%" PRId64 "-%" PRId64 "-%016" PRIx64 "\"", snap->workspace,
                 snap->revision, fnv1a(body, len));
        struct evkeyvalq *out = evhttp_request_get_output_headers(c->req);
        const char *inm =
            evhttp_find_header(evhttp_request_get_input_headers(c->req), "If-None-Match");
        evhttp_add_header(out, "ETag", etag);
        if (inm && strcmp(inm, etag) == 0) {
            c->status = 304;
            evhttp_send_reply(c->req, 304, "Not Modified", NULL);
        } else {
            json_t *flags = json_array();
            size_t n = sy_flagset_count(snap->set);
            for (size_t i = 0; flags && i < n; i++) {
                size_t klen;
                const char *k = sy_flagset_key(snap->set, i, &klen);
                sy_flagset_eval(snap->set, k, klen, SY_TYPE_ANY, ctx, now_s, &scratch, &r);
                json_array_append_new(flags, result_json(k, klen, &r));
            }
            json_t *bodyj = json_pack("{so}", "flags", flags);
            const char *skey = sy_streams_key(sy_http_streams(c->http), snap->workspace);
            /* The Host header keeps the port (evhttp_request_get_host drops it). */
            const char *host = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Host");
            if (!host)
                host = evhttp_request_get_host(c->req);
            if (bodyj && skey && host) {
                char url[512];
                snprintf(url, sizeof(url), "http://%s/ofrep/v1/events/%s", host, skey);
                json_object_set_new(
                    bodyj, "eventStreams",
                    json_pack("[{sssssi}]", "type", "sse", "url", url, "inactivityDelaySec", 120));
            }
            json_t *md = metadata_json(sy_flagset_metadata(snap->set));
            if (bodyj && md)
                json_object_set_new(bodyj, "metadata", md);
            else
                json_decref(md);
            reply_json(c, 200, bodyj);
        }
    }
    sy_snapshot_release(snap);
    sy_arena_free(&arena);
}
