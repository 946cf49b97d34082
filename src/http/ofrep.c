/* ofrep.c - OpenFeature Remote Evaluation Protocol 0.3.0: one flag, or all of them.
 *
 * Shapes and status codes follow ../shared/conformance/flagd/README.md ("OFREP"): a
 * success is {"key","reason","variant"?,"value"?,"metadata"?} (no value when the client's
 * default applies: DISABLED, no default variant); a failure is {"key","errorCode",
 * "errorDetails","metadata"?}, 404 for FLAG_NOT_FOUND and 400 otherwise, as flagd answers.
 * The body is the spec's evaluationRequest, {"context": {...}}, and anything else is
 * refused whole with 400 INVALID_CONTEXT (with the key for one flag, without it for all,
 * as the spec's failures are): no body, a body that is not JSON or not an object, another
 * member, a `context` that is not an object. flagd lets all but bad JSON through as an
 * empty context; a request the client got wrong is then answered as if it had none, and
 * nobody learns why targeting never matches. `{}` stays an empty context: the spec
 * requires `context`, but leaving it out cannot be misread. Bulk answers carry an ETag
 * over the configuration's revision and the request body, so a client polling with
 * If-None-Match gets 304 until either changes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "codec/value_json.h"
#include "http/evalstats.h"
#include "http/internal.h"

#define SCRATCH_BYTES       16384
#define CONTEXT_STACK_BYTES 16384

#define PUT_LIT(t, lit) sy_text_put((t), (lit), sizeof(lit) - 1)

static bool has_metadata(const sy_value_t *md)
{
    return md && md->type == SY_OBJ && md->len;
}

/* One flag's OFREP object. */
static void put_result(sy_text_t *t, const char *key, size_t klen, const sy_flag_result_t *r)
{
    PUT_LIT(t, "{\"key\":");
    sy_text_string(t, key, klen);
    if (r->reason == SY_REASON_ERROR) {
        const char *code = sy_flag_error_name(r->error);
        PUT_LIT(t, ",\"errorCode\":");
        sy_text_string(t, code, strlen(code));
        PUT_LIT(t, ",\"errorDetails\":");
        sy_text_string(t, r->message, strlen(r->message));
    } else {
        const char *reason = sy_reason_name(r->reason);
        PUT_LIT(t, ",\"reason\":");
        sy_text_string(t, reason, strlen(reason));
        if (r->has_value) {
            PUT_LIT(t, ",\"variant\":");
            sy_text_string(t, r->variant, r->variant_len);
            PUT_LIT(t, ",\"value\":");
            sy_text_value(t, &r->value);
        }
    }
    if (has_metadata(r->metadata)) {
        PUT_LIT(t, ",\"metadata\":");
        sy_text_value(t, r->metadata);
    }
    PUT_LIT(t, "}");
}

/* An experiment flag may record what OFREP served as the unit's exposure (engine.h): what
 * its targeting chose. A unit its layer leaves out of the experiment is served the default
 * (reason DEFAULT), the control's value, without taking part (docs/api.md, "Layers"). */
static void seen(struct call *c, const sy_value_t *tkey, const char *key, size_t klen,
                 const sy_flag_result_t *r)
{
    if (!tkey || r->reason != SY_REASON_TARGETING_MATCH || !r->has_value)
        return;
    if (c->w) /* the engine's queue is the engine thread's: sent after the request */
        sy_worker_seen(c->w, c->who.workspace, key, klen, tkey->s, tkey->len, r->variant,
                       r->variant_len);
    else
        sy_engine_exposure_seen(c->eng, c->who.workspace, key, klen, tkey->s, tkey->len, r->variant,
                                r->variant_len);
}

static void reply_text(struct call *c, int status, sy_text_t *t)
{
    if (t->failed)
        reply_error(c, 500, "out_of_memory", "", "out of memory");
    else
        reply_bytes(c, status, t->p, t->len);
    sy_text_free(t);
}

/* Answers 400 INVALID_CONTEXT with `why` as its details: the evaluationFailure of flag
 * `key`, or the bulkEvaluationFailure (no key) when `key` is NULL. */
void sy_ofrep_refuse(struct call *c, const char *key, const char *why)
{
    char buf[512];
    sy_text_t out;
    sy_text_init(&out, buf, sizeof(buf));
    PUT_LIT(&out, "{");
    if (key) {
        PUT_LIT(&out, "\"key\":");
        sy_text_string(&out, key, strlen(key));
        PUT_LIT(&out, ",");
    }
    PUT_LIT(&out, "\"errorCode\":\"INVALID_CONTEXT\",\"errorDetails\":");
    sy_text_string(&out, why, strlen(why));
    PUT_LIT(&out, "}");
    reply_text(c, 400, &out);
}

/* How many of the first `max` bytes of the UTF-8 text s[0..n) to print so that no
 * character is cut in two (the details must stay UTF-8). */
static int utf8_prefix(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return (int)n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return (int)max;
}

/* The context in `doc`, a parsed evaluationRequest, into *ctx (NULL when `doc` has none:
 * an empty context). Returns NULL, or why `doc` is refused (a literal, or `buf`). */
static const char *request_context(const sy_value_t *doc, const sy_value_t **ctx, char *buf,
                                   size_t cap)
{
    *ctx = NULL;
    if (doc->type != SY_OBJ)
        return "the body must be a JSON object: {\"context\": {...}}";
    for (uint32_t i = 0; i < doc->len; i++) {
        const sy_member_t *m = &doc->members[i];
        if (!sy_bytes_eq(m->key, m->klen, "context", 7)) {
            snprintf(buf, cap, "unknown field \"%.*s\": the body is {\"context\": {...}}",
                     utf8_prefix(m->key, m->klen, 64), m->key);
            return buf;
        }
        if (m->val.type != SY_OBJ)
            return "context must be an object";
        *ctx = &m->val;
    }
    return NULL;
}

/* FNV-1a 64 of the body: the request half of a bulk ETag. */
static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3u;
    return h;
}

/* A Host a stream URL can be made of: a name, an IPv4 or [IPv6] address, and a port; at
 * most 255 bytes. Anything else (obs-text, a URL's delimiters) gets no stream URL. */
static bool is_host(const char *h)
{
    size_t n = strlen(h);
    return n > 0 && n <= 255 &&
           strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == n;
}

/* The first member of a forwarded header's comma-separated list, without its blanks, in
 * `buf`; "" when it does not fit. A proxy behind another appends what it saw (Apache's
 * mod_proxy to X-Forwarded-Host, node-http-proxy and lighttpd to X-Forwarded-Proto:
 * "https, http"), and the first member is what the client itself used. */
static const char *first_member(const char *h, char *buf, size_t cap)
{
    h += strspn(h, " \t");
    size_t n = strcspn(h, ",");
    while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
        n--;
    if (n >= cap)
        n = 0;
    memcpy(buf, h, n);
    buf[n] = '\0';
    return buf;
}

/* Where clients reach the stream `key`: under --public-url when it is set; otherwise where
 * this request came (X-Forwarded-Host or Host; https when X-Forwarded-Proto says so, as a
 * TLS terminator in front does; the first member of either when proxies made a list).
 * False when there is nothing to build it from (HTTP/1.0 may send no Host): the bulk
 * answer then names no stream. Trusting the forwarded headers is safe: the URL goes back
 * to the client that sent them. */
static bool stream_url(struct call *c, const char *key, char *url, size_t cap)
{
    const char *base = sy_http_opts(c->http)->public_url;
    if (base) {
        size_t n = strlen(base);
        while (n && base[n - 1] == '/')
            n--;
        return snprintf(url, cap, "%.*s/ofrep/v1/events/%s", (int)n, base, key) < (int)cap;
    }
    char fwd_host[256], fwd_proto[8];
    const char *fh = sy_h1_header(c->req, "X-Forwarded-Host");
    const char *host = fh ? first_member(fh, fwd_host, sizeof(fwd_host)) : NULL;
    if (!host || !is_host(host))
        host = sy_h1_header(c->req, "Host");
    const char *fp = sy_h1_header(c->req, "X-Forwarded-Proto");
    const char *proto = fp ? first_member(fp, fwd_proto, sizeof(fwd_proto)) : "";
    const char *scheme = strcasecmp(proto, "https") == 0 ? "https" : "http";
    return host && is_host(host) &&
           snprintf(url, cap, "%s://%s/ofrep/v1/events/%s", scheme, host, key) < (int)cap;
}

static int64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

void sy_ofrep_evaluate(struct call *c, const char *key)
{
    int64_t t0 = mono_ns();
    size_t len;
    const char *body = sy_h1_body(c->req, &len);
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
    char detail[160];
    const char *why = !len     ? "the body is required: {\"context\": {...}}"
                      : rc < 0 ? perr.msg
                               : request_context(&doc, &ctx, detail, sizeof(detail));
    if (why) {
        sy_arena_free(&arena);
        sy_ofrep_refuse(c, key, why);
        return;
    }
    char out_buf[SCRATCH_BYTES];
    sy_text_t out;
    sy_text_init(&out, out_buf, sizeof(out_buf));
    const sy_value_t *tkey = ctx ? sy_value_get(ctx, "targetingKey", 12) : NULL;
    if (tkey && (tkey->type != SY_STR || tkey->len == 0 || !sy_engine_records_exposures(c->eng)))
        tkey = NULL; /* (only an exposure needs it) */

    /* Borrowed from the serving thread's reader, valid through this request. */
    const sy_snapshot_t *snap = sy_engine_reader_snapshot(c->rd, c->who.workspace);
    if (!snap) {
        sy_arena_free(&arena);
        reply_error(c, 500, "internal", "", "no such workspace");
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
        sy_evalstats_count(c->evals, snap->workspace, key, klen, &r);
        int status = r.reason != SY_REASON_ERROR ? 200 : r.error == SY_FLAG_NOT_FOUND ? 404 : 400;
        put_result(&out, key, klen, &r);
        seen(c, tkey, key, klen, &r);
        reply_text(c, status, &out);
    } else {
        char etag[64];
        snprintf(etag, sizeof(etag), "\"%" PRId64 "-%" PRId64 "-%016" PRIx64 "\"", snap->workspace,
                 snap->revision, fnv1a(body, len));
        const char *inm = sy_h1_header(c->req, "If-None-Match");
        sy_h1_add_header(c->req, "ETag", etag);
        if (inm && strcmp(inm, etag) == 0) {
            reply_empty(c, 304);
        } else {
            PUT_LIT(&out, "{\"flags\":[");
            size_t n = sy_flagset_count(snap->set);
            sy_arena_mark_t clean = sy_arena_mark(&scratch);
            for (size_t i = 0; i < n; i++) {
                size_t klen;
                const char *k = sy_flagset_key(snap->set, i, &klen);
                sy_arena_rewind(&scratch, clean); /* each result is written before the next */
                sy_flagset_eval(snap->set, k, klen, SY_TYPE_ANY, ctx, now_s, &scratch, &r);
                sy_evalstats_count_at(c->evals, snap->workspace, snap->revision, i, n,
                                      sy_flagset_at(snap->set, i), k, klen, &r);
                if (i)
                    PUT_LIT(&out, ",");
                put_result(&out, k, klen, &r);
                seen(c, tkey, k, klen, &r);
            }
            PUT_LIT(&out, "]");
            char own[SY_STREAM_KEY_MAX];
            const char *skey =
                c->streams ? sy_streams_key(c->streams, snap->workspace)
                : sy_stream_key(sy_http_stream_secret(c->http), snap->workspace, own) == 0 ? own
                                                                                           : NULL;
            char url[512];
            if (skey && stream_url(c, skey, url, sizeof(url))) {
                PUT_LIT(&out, ",\"eventStreams\":[{\"type\":\"sse\",\"url\":");
                sy_text_string(&out, url, strlen(url));
                PUT_LIT(&out, ",\"inactivityDelaySec\":120}]");
            }
            const sy_value_t *md = sy_flagset_metadata(snap->set);
            if (has_metadata(md)) {
                PUT_LIT(&out, ",\"metadata\":");
                sy_text_value(&out, md);
            }
            PUT_LIT(&out, "}");
            reply_text(c, 200, &out);
        }
    }
    sy_arena_free(&arena);
    sy_evalstats_request(c->evals, key ? SY_OFREP_SINGLE : SY_OFREP_BULK, mono_ns() - t0);
}

void sy_ofrep_bulk(struct call *c)
{
    sy_ofrep_evaluate(c, NULL);
}

void sy_ofrep_one(struct call *c)
{
    sy_ofrep_evaluate(c, c->arg[0]);
}
