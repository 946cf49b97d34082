/* server.c - listening, routing, authentication and replies; see server.h. */
#define _DEFAULT_SOURCE
#include "http/server.h"

#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "codec/value_json.h"
#include "core/utf8.h"
#include "http/evalstats.h"
#include "http/internal.h"
#include "http/secret.h"
#include "http/ui.h"
#include "http/workers.h"

/* Threads (docs/architecture.md): with opts.workers > 0 every connection is a worker's
 * (workers.c): a worker answers the data plane itself (dispatch_data: OFREP, its streams,
 * /healthz, /readyz) from the engine's published view, and hands every other request to
 * the engine's loop as a detached copy (h1.h), relaying the answer. Without workers, the
 * engine's loop serves everything (tests, embedding). What the threads share here: the
 * options (read-only), the rate limit's buckets (under rate_lock), the stream secret
 * (read-only) and `store_up`. */
struct sy_http {
    sy_h1_server_t *h1; /* no workers: the engine loop's own server */
    sy_engine_t *eng;
    struct event_base *base;
    pthread_t thread;      /* the engine loop's: the whole API runs on it, never on a worker */
    struct event *commit;  /* the group commit of queued events, run after the requests at hand */
    struct event *ping;    /* the store's readiness, for the workers' /readyz */
    struct event *written; /* the engine's writer thread finished a batch: land it (or NULL) */
    sy_http_opts_t opts;
    struct sy_streams *streams; /* no workers: the engine loop's streams */
    sy_engine_reader_t *rd;     /* the engine thread's reader */
    struct sy_workers *workers; /* NULL: none */
    int listen_fd;              /* with workers: the listener they share */
    int port;
    unsigned char stream_secret[32]; /* stream keys derive from it (stream.c) */
    atomic_bool store_up;
    pthread_mutex_t rate_lock;
    struct bucket *buckets; /* per token id: the rate limit's token bucket */
    size_t n_buckets;
    sy_loopstat_t loop;            /* the engine loop's iterations */
    sy_evalstats_set_t *evalstats; /* every serving thread's (evalstats.h) */
    sy_evalstats_t *evals;         /* the engine loop's own */
    sy_metrics_srv_t *metrics;     /* the metrics thread (workers, --metrics-listen); NULL: none */
    int metrics_fd;                /* its socket until it takes it; -1: none */
    int64_t started_ms;
    struct sockaddr_storage own[2]; /* --listen's and --metrics-listen's addresses as bound */
    socklen_t own_len[2];           /* 0: none */
};

struct bucket {
    double tokens;
    double last_s; /* monotonic seconds of the last refill; 0: never used */
};

const unsigned char *sy_http_stream_secret(const sy_http_t *http)
{
    return http->stream_secret;
}

sy_engine_t *sy_http_engine(const sy_http_t *http)
{
    return http->eng;
}

/* ---- logging ------------------------------------------------------------------------- */

static void put_json_string(FILE *to, const char *s)
{
    fputc('"', to);
    for (size_t n = strlen(s); *s; s++, n--) {
        unsigned char ch = (unsigned char)*s;
        size_t k = ch >= 0x80 ? sy_utf8_seq(s, n) : 1;
        if (ch == '"' || ch == '\\') {
            fprintf(to, "\\%c", ch);
        } else if (ch < 0x20) {
            fprintf(to, "\\u%04x", ch);
        } else if (k == 0) { /* a path of any bytes: the line stays JSON */
            fputs("\\ufffd", to);
        } else {
            fwrite(s, 1, k, to);
            s += k - 1;
            n -= k - 1;
        }
    }
    fputc('"', to);
}

/* Whether `s` is a number as JSON writes one: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool is_json_number(const char *s)
{
    s += *s == '-';
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return false;
    if (*s == '.') {
        if (!(*++s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s += s[1] == '+' || s[1] == '-' ? 2 : 1;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

void sy_log(sy_log_format_t fmt, const char *event, ...)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);
    va_list ap;
    va_start(ap, event);
    flockfile(stderr);
    if (fmt == SY_LOG_JSON)
        fprintf(stderr, "{\"ts\":\"%s\",\"event\":", when), put_json_string(stderr, event);
    else
        fprintf(stderr, "ts=%s event=%s", when, event);
    for (const char *k; (k = va_arg(ap, const char *));) {
        const char *v = va_arg(ap, const char *);
        char kind = *k == '#' || *k == '@' || *k == '?' ? *k++ : 0;
        if (fmt == SY_LOG_JSON) {
            fputc(',', stderr);
            put_json_string(stderr, k);
            fputc(':', stderr);
            if (!v)
                fputs("null", stderr);
            else if ((kind == '#' && is_json_number(v)) ||
                     (kind == '@' && (*v == '{' || *v == '[')) ||
                     (kind == '?' && (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)))
                fputs(v, stderr);
            else
                put_json_string(stderr, v);
        } else if (!v || strpbrk(v, " \"=") || !*v || !sy_utf8_valid(v, strlen(v))) {
            v = v ? v : "";
            fprintf(stderr, " %s=", k);
            put_json_string(stderr, v);
        } else {
            fprintf(stderr, " %s=%s", k, v);
        }
    }
    fputs(fmt == SY_LOG_JSON ? "}\n" : "\n", stderr);
    funlockfile(stderr);
    va_end(ap);
}

/* ---- replies ------------------------------------------------------------------------- */

static void log_call(const struct call *c)
{
    if (c->http->opts.quiet)
        return;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    char status[8], us[24];
    snprintf(status, sizeof(status), "%d", c->status);
    snprintf(
        us, sizeof(us), "%lld",
        (long long)((t1.tv_sec - c->t0.tv_sec) * 1000000 + (t1.tv_nsec - c->t0.tv_nsec) / 1000));
    sy_log(c->http->opts.log, "request", "method", sy_h1_method_name(c->req), "path",
           sy_h1_path(c->req), "#status", status, "#us", us, "actor",
           c->who.name[0] ? c->who.name : "-", NULL);
}

void reply_typed(struct call *c, int status, const char *type, const char *body, size_t len)
{
    c->status = status;
    /* The request may be gone once answered (a deferred or detached one): log first. */
    log_call(c);
    c->logged = true;
    sy_h1_reply(c->req, status, type, body, len);
}

void reply_shared(struct call *c, int status, const char *type, sy_h1_shared_t *body)
{
    c->status = status;
    log_call(c);
    c->logged = true;
    sy_h1_reply_shared(c->req, status, type, body);
}

void reply_bytes(struct call *c, int status, const char *json, size_t len)
{
    reply_typed(c, status, "application/json", json, len);
}

void reply_empty(struct call *c, int status)
{
    reply_typed(c, status, NULL, NULL, 0);
}

static void reply_dumped(struct call *c, int status, json_t *body, size_t flags)
{
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY | flags) : NULL;
    json_decref(body);
    if (!text) {
        static const char oom[] =
            "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\",\"field\":\"\"}}";
        reply_typed(c, 500, "application/json", oom, sizeof(oom) - 1);
        return;
    }
    reply_typed(c, status, "application/json", text, strlen(text));
    free(text);
}

void reply_json(struct call *c, int status, json_t *body)
{
    reply_dumped(c, status, body, 0);
}

void reply_json_decimal(struct call *c, int status, json_t *body)
{
    reply_dumped(c, status, body, JSON_REAL_PRECISION(15));
}

void reply_error(struct call *c, int status, const char *code, const char *field, const char *fmt,
                 ...)
{
    char raw[256], msg[256], fld[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    /* A message naming what a client sent (a query key that decodes to any bytes), or cut
     * by vsnprintf in mid-character, would otherwise be no JSON string: a 500 for a 400. */
    sy_utf8_clean(msg, sizeof(msg), raw);
    sy_utf8_clean(fld, sizeof(fld), field ? field : "");
    reply_json(c, status,
               json_pack("{s{ssssss}}", "error", "code", code, "message", msg, "field", fld));
}

void reply_err(struct call *c, const sy_err_t *err)
{
    int status;
    switch (err->code) {
    case -EINVAL:
    case SY_EUNKNOWN:
        status = 400;
        break;
    case -EACCES:
        status = 401;
        break;
    case -EPERM:
        status = 403;
        break;
    case -ENOENT:
        status = 404;
        break;
    case -EEXIST:
    case SY_ECONFLICT:
        status = 409;
        break;
    case -E2BIG:
        status = 413;
        break;
    case -EBUSY:
        status = 429;
        break;
    case -EIO:
    case -EAGAIN:
    case -ESTALE:
        status = 503;
        break;
    case -ENOSPC:
        status = 507;
        break;
    default:
        status = 500;
        break;
    }
    reply_error(c, status, sy_err_name(err->code), err->field, "%s", err->msg);
}

bool only_fields(struct call *c, const json_t *obj, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], k) != 0)
            i++;
        if (!allowed[i]) {
            reply_error(c, 400, "unknown_field", k, "unknown field \"%.64s\"", k);
            return false;
        }
    }
    return true;
}

bool require_role(struct call *c, sy_role_t min)
{
    if (c->who.role >= min)
        return true;
    reply_error(c, 403, "forbidden", "", "a %s token cannot do this (needs %s or above)",
                sy_role_name(c->who.role), sy_role_name(min));
    return false;
}

/* ---- authentication and routing ------------------------------------------------------ */

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The caller's token bucket: refilled at the rate, holding at most 2 s worth. False after
 * replying 429 with Retry-After (whole seconds until a request would pass). */
static bool within_rate(struct call *c)
{
    sy_http_t *http = c->http;
    double rate = http->opts.rate_limit;
    if (rate <= 0)
        return true;
    size_t id = (size_t)c->who.token_id;
    /* Shared by every thread that serves (a token's rate is one whatever the connection):
     * a lock, taken only with --rate-limit. */
    pthread_mutex_lock(&http->rate_lock);
    if (id >= http->n_buckets) {
        size_t n = id + 64;
        struct bucket *b = realloc(http->buckets, n * sizeof(*b));
        if (!b) {
            pthread_mutex_unlock(&http->rate_lock);
            return true; /* no memory to count: let it through rather than refuse all */
        }
        memset(b + http->n_buckets, 0, (n - http->n_buckets) * sizeof(*b));
        http->buckets = b;
        http->n_buckets = n;
    }
    struct bucket *b = &http->buckets[id];
    double now = mono_s(), burst = rate * 2 > 1 ? rate * 2 : 1;
    b->tokens = b->last_s == 0 ? burst : b->tokens + (now - b->last_s) * rate;
    if (b->tokens > burst)
        b->tokens = burst;
    b->last_s = now;
    double tokens = b->tokens;
    if (tokens >= 1)
        b->tokens -= 1;
    pthread_mutex_unlock(&http->rate_lock);
    if (tokens >= 1)
        return true;
    char after[24];
    double wait = (1 - tokens) / rate;
    if (wait > 86400)
        wait = 86400; /* a very low rate still says something a client can act on */
    snprintf(after, sizeof(after), "%lld", (long long)wait + 1);
    sy_h1_add_header(c->req, "Retry-After", after);
    reply_error(c, 429, "rate_limited", "", "token \"%s\" is over %g requests per second",
                c->who.name, rate);
    return false;
}

/* Whether the request carries more than one credential: two Authorization or X-API-Key
 * headers, or one of each. Which one would count is no question to leave to the order of
 * headers (an admin's token beside an sdk's), so such a request is refused. */
static bool credentials_ambiguous(const sy_h1_req_t *req)
{
    size_t n = 0;
    for (size_t i = 0; sy_h1_header_nth(req, "Authorization", i); i++)
        n++;
    for (size_t i = 0; sy_h1_header_nth(req, "X-API-Key", i); i++)
        n++;
    return n > 1;
}

/* The presented secret: "Authorization: Bearer X" or "X-API-Key: X"; NULL for none (or
 * for more than one). */
static const char *presented_secret(const sy_h1_req_t *req)
{
    if (credentials_ambiguous(req))
        return NULL;
    const char *auth = sy_h1_header(req, "Authorization");
    const char *secret = NULL;
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
        secret = auth + 7;
    else if (!auth)
        secret = sy_h1_header(req, "X-API-Key");
    while (secret && *secret == ' ')
        secret++;
    return secret;
}

static void unauthorized(struct call *c, const char *secret)
{
    sy_h1_add_header(c->req, "WWW-Authenticate", "Bearer realm=\"switchyard\"");
    reply_error(c, 401, "unauthorized", "",
                secret ? "unknown or revoked token"
                       : "missing bearer token (Authorization: Bearer ...)");
}

/* A worker reads no body for a token it does not know (sy_http_body_allowed): when the
 * engine then finds the token in the store (made offline, used for the first time), the
 * request came without its body. False after asking for it again: the workers know the
 * token from now on. */
static bool body_complete(struct call *c)
{
    if (!sy_h1_body_skipped(c->req))
        return true;
    sy_h1_add_header(c->req, "Retry-After", "1");
    reply_error(c, 503, "retry", "",
                "this token was new to the server's workers: send the request again");
    return false;
}

const sy_http_opts_t *sy_http_opts(const sy_http_t *http)
{
    return &http->opts;
}

/* ---- CORS: OFREP from a web page on another origin --------------------------------------- */

/* Whether `origin` is one --cors-origins lets in: "*", or an entry equal to it. */
static bool origin_allowed(const sy_http_t *http, const char *origin)
{
    const char *list = http->opts.cors_origins;
    if (!list || !origin || !*origin)
        return false;
    size_t n = strlen(origin);
    for (const char *p = list; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t len = strcspn(p, ", ");
        if ((len == 1 && *p == '*') || (len == n && strncmp(p, origin, n) == 0))
            return true;
        p += len;
    }
    return false;
}

/* The CORS headers of the answer to a request from an allowed origin. Credentials are a
 * bearer token, never a cookie: nothing a page on that origin could not send anyway, and
 * no Access-Control-Allow-Credentials. ETag is exposed for the SDKs' polling. */
void sy_http_cors(const sy_http_t *http, sy_h1_req_t *req)
{
    const char *origin = sy_h1_header(req, "Origin");
    if (!origin_allowed(http, origin))
        return;
    sy_h1_add_header(req, "Access-Control-Allow-Origin", origin);
    sy_h1_add_header(req, "Vary", "Origin");
    sy_h1_add_header(req, "Access-Control-Expose-Headers", "ETag, Retry-After");
}

/* OPTIONS with Access-Control-Request-Method: a browser's preflight, answered without a
 * token (it carries none). Headers from sy_http_cors are on the request already. */
static bool preflight(struct call *c)
{
    if (sy_h1_method(c->req) != SY_OPTIONS ||
        !sy_h1_header(c->req, "Access-Control-Request-Method"))
        return false;
    if (!origin_allowed(c->http, sy_h1_header(c->req, "Origin"))) {
        reply_error(c, 403, "forbidden", "Origin",
                    "this origin may not call the API from a browser (--cors-origins)");
        return true;
    }
    sy_h1_add_header(c->req, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE");
    sy_h1_add_header(c->req, "Access-Control-Allow-Headers",
                     "Authorization, Content-Type, If-None-Match, X-API-Key, X-Execution-Class");
    sy_h1_add_header(c->req, "Access-Control-Max-Age", "600");
    reply_empty(c, 204);
    return true;
}

void sy_api_healthz(struct call *c)
{
    reply_json(c, 200, json_pack("{ss}", "status", "ok"));
}

void sy_api_readyz(struct call *c)
{
    /* A worker reads what the engine's loop last saw (it pings every second): the store's
     * connection is the engine thread's alone. */
    bool up = c->w ? atomic_load(&c->http->store_up) : sy_store_ping(sy_engine_store(c->eng));
    if (up)
        reply_json(c, 200, json_pack("{ss}", "status", "ready"));
    else
        reply_error(c, 503, "store_error", "", "the store does not answer");
}

/* The name of the query part at `p` as it was written, cut to fit `out`: bytes outside
 * printable ASCII as %XX, since the answer is JSON (UTF-8 only) and a client's bytes, or
 * what they decode to, need not be. */
static void written_name(const char *p, char *out, size_t cap)
{
    size_t n = strcspn(p, "&="), o = 0;
    for (size_t i = 0; i < n && o + 4 <= cap; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch > 0x20 && ch < 0x7f)
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", ch);
    }
    out[o] = '\0';
}

/* OFREP's evaluation endpoints answer refusals in OFREP's own shape. */
static bool is_ofrep(const struct sy_endpoint *e)
{
    return strncmp(e->path, "/ofrep/v1/evaluate/", 19) == 0;
}

/* Every query parameter is one the endpoint takes and decodes; otherwise false after 400
 * naming the first other one as it was written. */
static bool params_known(struct call *c, const struct sy_endpoint *e)
{
    char key[256], val[2048], name[64];
    const char *q = c->query, *at = q;
    int rc;
    while ((rc = sy_query_next(&q, key, sizeof(key), val, sizeof(val))) > 0 &&
           sy_route_takes_param(e, key))
        at = q;
    if (rc == 0)
        return true;
    written_name(at + strspn(at, "&"), name, sizeof(name));
    if (is_ofrep(e)) { /* OFREP's clients read OFREP's shape */
        char why[128];
        snprintf(why, sizeof(why), "unknown or undecodable query parameter \"%s\"", name);
        sy_ofrep_refuse(c, strchr(e->path, '{') ? c->arg[0] : NULL, why);
    } else if (rc < 0)
        reply_error(c, 400, "invalid_input", name,
                    "query parameter \"%s\" does not decode (a bad %%-escape or an over-long part)",
                    name);
    else if (!e->query)
        reply_error(c, 400, "unknown_field", name,
                    "unknown query parameter \"%s\": this endpoint takes none", name);
    else
        reply_error(c, 400, "unknown_field", name,
                    "unknown query parameter \"%s\": this endpoint takes %s", name, e->query);
    return false;
}

/* The members endpoint `e`'s body takes, space-separated, into `buf`: its field list, or
 * its schema's names (an endpoint with a schema has no list). */
static const char *body_names(const struct sy_endpoint *e, char *buf, size_t cap)
{
    if (e->fields || !e->schema)
        return e->fields ? e->fields : "";
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < e->schema->n && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%s", i ? " " : "", e->schema->fields[i].name);
    return buf;
}

/* The body as the endpoint takes it into c->body; false after 400. Any body sent is read
 * as JSON, whatever the endpoint: a malformed one is refused everywhere the same way, and
 * one sent where none is taken (a reason, a typo) is refused rather than ignored. */
static bool body_read(struct call *c, const struct sy_endpoint *e)
{
    size_t len;
    const char *p = sy_h1_body(c->req, &len);
    /* An endpoint open to anyone takes no body and ignores one: a body is never waited
     * for from a client without credentials, so whether it came with the head would
     * otherwise decide the answer. */
    if (e->auth == AUTH_NONE || e->body == BODY_RAW || (!len && e->body != BODY_OBJECT))
        return true;
    json_error_t je;
    json_t *j = len ? sy_json_loadb(p, len, JSON_DECODE_ANY, &je) : NULL;
    if (!len) {
        reply_error(c, 400, "invalid_input", "", "the body is a JSON object; none was sent");
        return false;
    }
    if (!j) {
        reply_error(c, 400, "invalid_json", "", "the body is not JSON: %s (line %d, column %d)",
                    je.text, je.line, je.column);
        return false;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        reply_error(c, 400, "invalid_input", "", "the body must be a JSON object");
        return false;
    }
    const char *k;
    json_t *v;
    char names[512];
    json_object_foreach(j, k, v)
    {
        if (sy_route_takes_field(e, k))
            continue;
        if (e->body == BODY_NONE)
            reply_error(c, 400, "unknown_field", k,
                        "unknown field \"%.64s\": this endpoint takes no body", k);
        else
            reply_error(c, 400, "unknown_field", k, "unknown field \"%.64s\": the body takes %s", k,
                        body_names(e, names, sizeof(names)));
        json_decref(j);
        return false;
    }
    if (e->body == BODY_NONE) {
        json_decref(j);
        return true;
    }
    c->body = j;
    return true;
}

/* The "{name}" segments, percent-decoded, into c->arg; false after 400 naming the first
 * that does not decode or holds a NUL. */
static bool args_read(struct call *c, const struct sy_endpoint *e, const struct sy_raw_arg *raw)
{
    const char *name = strchr(e->path, '{');
    for (size_t i = 0; name && i < SY_ARGS_MAX; i++, name = strchr(name + 1, '{')) {
        ssize_t n = sy_pct_decode(raw[i].at, raw[i].len, false, c->arg[i], sizeof(c->arg[i]));
        if (n <= 0 || memchr(c->arg[i], '\0', (size_t)n)) {
            char field[32];
            snprintf(field, sizeof(field), "%.*s", (int)strcspn(name + 1, "}"), name + 1);
            if (is_ofrep(e))
                sy_ofrep_refuse(c, NULL, "the flag key in the path does not decode");
            else
                reply_error(c, 400, "invalid_input", field, "the path has a bad or over-long %s",
                            field);
            return false;
        }
    }
    return true;
}

/* Who is calling, by the endpoint's rule; false after 401 (or 503, 429). */
static bool caller(struct call *c, const struct sy_endpoint *e)
{
    if (e->auth == AUTH_NONE)
        return true;
    if (credentials_ambiguous(c->req)) {
        reply_error(c, 400, "invalid_input", "Authorization",
                    "more than one credential: send one Authorization or X-API-Key header");
        return false;
    }
    if (e->auth == AUTH_CRON) {
        /* A scheduler's secret comes as X-Cron-Secret, or as schedulers send one (Vercel
         * Cron, GitHub Actions): Authorization: Bearer; a bearer that is not the secret may
         * still be a token. The secret acts for every workspace, a token for its own: one
         * or the other, never both. */
        const char *cron = sy_h1_header(c->req, "X-Cron-Secret");
        const char *bearer = presented_secret(c->req);
        if (cron && (bearer || sy_h1_header_nth(c->req, "X-Cron-Secret", 1))) {
            reply_error(c, 400, "invalid_input", "X-Cron-Secret",
                        "send the cron secret or a token, once, not both");
            return false;
        }
        if ((cron && sy_secret_matches(c->http->opts.cron_secret, cron)) ||
            (!cron && bearer && sy_secret_matches(c->http->opts.cron_secret, bearer))) {
            snprintf(c->who.name, sizeof(c->who.name), "cron");
            c->system = true;
            return true;
        }
        if (cron) {
            reply_error(c, 401, "unauthorized", "", "wrong or unconfigured X-Cron-Secret");
            return false;
        }
    }
    const char *secret = presented_secret(c->req);
    int rc =
        secret ? sy_engine_reader_authenticate(c->rd, secret, strlen(secret), &c->who) : -EACCES;
    if (rc == -ENOENT && !c->w) {
        rc = sy_engine_authenticate(c->eng, secret, strlen(secret), &c->who);
        /* found, its workspace may be new too: read the view published with it */
        sy_engine_reader_refresh(c->rd);
    }
    if (rc < 0) {
        unauthorized(c, secret);
        return false;
    }
    return body_complete(c) && within_rate(c);
}

/* Answers `c` by the table: true when answered here (or streaming), false when it is not
 * a data-plane request (`data_only`), or needs the engine's thread (a token only the
 * store may know, seen on a worker). */
static bool route_call(struct call *c, bool data_only)
{
    const char *path = sy_h1_path(c->req);
    sy_method_t m = sy_h1_method(c->req);
    struct sy_raw_arg raw[SY_ARGS_MAX];
    bool known;
    /* The console's files: constant memory, no token, answered by whichever thread has
     * the connection (ui.h); not in the API's table, whose rules are the API's. */
    if (sy_ui_is_path(path)) {
        sy_ui_serve(c);
        return true;
    }
    if (preflight(c))
        return true;
    const struct sy_endpoint *e = sy_route_find(path, m, data_only, raw, &known);
    if (!e) {
        if (data_only && !known)
            return false;
        if (!known) {
            reply_error(c, 404, "not_found", "", "no such endpoint: %.200s (GET /v1 lists them)",
                        path);
        } else {
            char allow[64];
            sy_route_allow(path, allow, sizeof(allow));
            not_allowed(c, allow);
        }
        return true;
    }
    if (c->w && e->auth == AUTH_TOKEN) { /* a token only the store may know: the engine looks */
        const char *secret = presented_secret(c->req);
        sy_principal_t who;
        if (secret && sy_engine_reader_authenticate(c->rd, secret, strlen(secret), &who) == -ENOENT)
            return false;
    }
    c->ep = e;
    if (!args_read(c, e, raw) || !caller(c, e))
        return true;
    if (!c->system && e->auth != AUTH_NONE && !require_role(c, e->role))
        return true;
    if (!e->data && !sy_api_prod_exec_allowed(c, path))
        return true;
    if (!params_known(c, e) || !body_read(c, e))
        return true;
    e->fn(c);
    json_decref(c->body);
    c->body = NULL;
    return true;
}

bool sy_http_dispatch_data(struct call *c)
{
    return route_call(c, true);
}

static void dispatch(struct call *c)
{
    route_call(c, false);
}

/* A body is waited for only from a client with credentials that hold (a live token, or
 * the cron secret): anyone else's request is answered (401, 404, 405) without its body, so
 * that an anonymous client holds no memory and no time with a body it never finishes.
 * Every endpoint that takes a body needs one of the two. A worker cannot look in the store:
 * a token it does not know gets no body read (a made-up one would otherwise hold a
 * connection and its memory); if the engine then finds it, the client is asked to send
 * the request again (body_complete). */
bool sy_http_body_allowed(sy_http_t *http, sy_engine_reader_t *rd, const sy_h1_req_t *req,
                          bool engine_thread)
{
    const char *cron = sy_h1_header(req, "X-Cron-Secret");
    if (cron && sy_secret_matches(http->opts.cron_secret, cron))
        return true;
    const char *secret = presented_secret(req);
    if (!secret)
        return false;
    /* the cron secret as a bearer, on the one path it opens */
    if (http->opts.cron_secret && strcmp(sy_h1_path(req), "/v1/auto-promotion/check") == 0 &&
        sy_secret_matches(http->opts.cron_secret, secret))
        return true;
    sy_principal_t who;
    sy_engine_reader_refresh(rd);
    int rc = sy_engine_reader_authenticate(rd, secret, strlen(secret), &who);
    if (rc == -ENOENT && engine_thread)
        rc = sy_engine_authenticate(http->eng, secret, strlen(secret), &who);
    return rc == 0;
}

static bool on_head(const sy_h1_req_t *req, void *arg)
{
    sy_http_t *http = arg;
    return sy_http_body_allowed(http, http->rd, req, true);
}

void sy_http_serve(sy_http_t *http, sy_h1_req_t *req)
{
    struct call c = {.req = req,
                     .http = http,
                     .eng = http->eng,
                     .rd = http->rd,
                     .streams = http->streams,
                     .evals = http->evals,
                     .query = sy_h1_query(req)};
    assert(pthread_equal(http->thread, pthread_self()));
    if (!http->opts.quiet)
        clock_gettime(CLOCK_MONOTONIC, &c.t0);
    sy_engine_reader_refresh(http->rd);
    dispatch(&c);
    if (c.status && !c.logged) /* a stream; 0: deferred, logged when answered */
        log_call(&c);
}

bool sy_http_worker_request(sy_http_t *http, struct worker *w, sy_engine_reader_t *rd,
                            struct sy_streams *streams, sy_evalstats_t *evals, sy_h1_req_t *req)
{
    struct call c = {.req = req,
                     .http = http,
                     .eng = http->eng,
                     .w = w,
                     .rd = rd,
                     .streams = streams,
                     .evals = evals,
                     .query = sy_h1_query(req)};
    if (!http->opts.quiet)
        clock_gettime(CLOCK_MONOTONIC, &c.t0);
    sy_engine_reader_refresh(rd);
    sy_http_cors(http, req); /* before: a copy handed to the engine leaves them here */
    if (!sy_http_dispatch_data(&c))
        return false;
    if (c.status && !c.logged) /* a stream */
        log_call(&c);
    return true;
}

static void on_request(sy_h1_req_t *req, void *arg)
{
    sy_http_cors(arg, req);
    sy_http_serve(arg, req);
}

sy_evalstats_set_t *sy_http_evalstats(const sy_http_t *http)
{
    return http->evalstats;
}

int64_t sy_http_started_ms(const sy_http_t *http)
{
    return http->started_ms;
}

sy_loopstat_t *sy_http_engine_loop(sy_http_t *http)
{
    return &http->loop;
}

/* ---- life cycle ---------------------------------------------------------------------- */

static void run_commit(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sy_http_t *http = arg;
    sy_engine_events_commit(http->eng);
    sy_h1_loop_mark(http->base, &http->loop);
}

/* The engine queued events: commit them once the loop has handled what is ready now, so
 * that every request that arrived meanwhile shares the transaction. */
static void schedule_commit(void *arg)
{
    sy_http_t *http = arg;
    event_active(http->commit, EV_TIMEOUT, 0);
}

/* The commits run on the engine's writer thread, whose descriptor wakes this loop when a
 * batch is done: run_commit lands it and hands the next over. (With none, a database in
 * memory, they run in run_commit itself.) */
static int start_writer(sy_http_t *http, struct event_base *base, sy_err_t *err)
{
    int fd;
    int rc = sy_engine_writer_start(http->eng, &fd, err);
    if (rc < 0 || fd < 0)
        return rc;
    http->written = event_new(base, fd, EV_READ | EV_PERSIST, run_commit, http);
    if (!http->written || event_add(http->written, NULL) < 0)
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    return 0;
}

static void on_change(void *arg, int64_t ws, int64_t revision)
{
    (void)revision;
    sy_http_t *http = arg;
    if (http->workers)
        sy_workers_changed(http->workers, ws);
    else
        sy_streams_changed(http->streams, ws);
}

/* The store's readiness as the workers' /readyz tells it: looked at every second here,
 * on the thread whose connection it is. */
static void ping(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sy_http_t *http = arg;
    atomic_store(&http->store_up, sy_store_ping(sy_engine_store(http->eng)));
    sy_h1_loop_mark(http->base, &http->loop);
}

/* "ADDR:PORT" or "[ADDR]:PORT" into host and port. */
static int split_listen(const char *listen, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen)
        return -EINVAL;
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (hl == 0 || hl >= cap || *end || end == colon + 1 || p < 0 || p > 65535)
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

static void http_free(sy_http_t *http)
{
    /* the metrics thread answers workers: stopped before they go, freed after (a worker
     * may still hand it a scrape until then) */
    sy_metrics_srv_stop(http->metrics);
    if (http->metrics_fd >= 0)
        close(http->metrics_fd);
    sy_workers_free(http->workers);
    sy_metrics_srv_free(http->metrics);
    sy_h1_free(http->h1);
    sy_streams_free(http->streams);
    if (http->commit)
        event_free(http->commit);
    if (http->ping)
        event_free(http->ping);
    if (http->listen_fd >= 0)
        close(http->listen_fd);
    if (http->rd)
        sy_engine_loop_remove(http->eng, &http->loop);
    sy_engine_reader_free(http->rd);
    sy_evalstats_set_free(http->evalstats); /* after the workers: their tables are its */
    pthread_mutex_destroy(&http->rate_lock);
    free(http->buckets);
    free(http);
}

static int listen_error(const char *listen, const char *option, int rc, sy_err_t *err)
{
    if (rc == -EINVAL)
        return sy_err_set(err, rc, option, "--%s: cannot resolve the address of %s", option,
                          listen);
    return sy_err_set(err, rc, option, "--%s: cannot listen on %s: %s", option, listen,
                      strerror(-rc));
}

int sy_http_bind(const char *listen, const char *option, sy_err_t *err)
{
    char host[256];
    int port;
    if (split_listen(listen, host, sizeof(host), &port) < 0)
        return sy_err_set(err, -EINVAL, option, "--%s takes ADDR:PORT, not \"%.64s\"", option,
                          listen);
    int fd = sy_h1_bind(host, port);
    return fd < 0 ? listen_error(listen, option, fd, err) : fd;
}

/* Keeps --listen's address as bound, for own_listen.c: the shared socket's, or (h1 bound
 * it itself) `host` at the port bound. */
static void own_api_address(sy_http_t *http, const char *host)
{
    socklen_t len = sizeof(http->own[0]);
    if (http->listen_fd >= 0 &&
        getsockname(http->listen_fd, (struct sockaddr *)&http->own[0], &len) == 0) {
        http->own_len[0] = len;
        return;
    }
    char port[8];
    snprintf(port, sizeof(port), "%d", http->port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *res = NULL;
    if (getaddrinfo(*host ? host : NULL, port, &hints, &res) == 0 && res &&
        res->ai_addrlen <= sizeof(http->own[0])) {
        memcpy(&http->own[0], res->ai_addr, res->ai_addrlen);
        http->own_len[0] = res->ai_addrlen;
    }
    if (res)
        freeaddrinfo(res);
}

const struct sockaddr *sy_http_own_addr(const sy_http_t *http, int i, socklen_t *len)
{
    *len = http->own_len[i];
    return *len ? (const struct sockaddr *)&http->own[i] : NULL;
}

int sy_http_start(sy_http_t **out, struct event_base *base, sy_engine_t *eng,
                  const sy_http_opts_t *opts, sy_err_t *err)
{
    *out = NULL;
    char host[256] = "";
    int port = 0;
    if (!opts->bound && split_listen(opts->listen, host, sizeof(host), &port) < 0) {
        if (opts->metrics_bound)
            close(opts->metrics_fd);
        return sy_err_set(err, -EINVAL, "listen", "--listen takes ADDR:PORT, not \"%.64s\"",
                          opts->listen);
    }
    sy_http_t *http = calloc(1, sizeof(*http));
    if (!http) {
        if (opts->bound)
            close(opts->bound_fd);
        if (opts->metrics_bound)
            close(opts->metrics_fd);
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    }
    http->eng = eng;
    http->base = base;
    http->opts = *opts;
    http->listen_fd = opts->bound ? opts->bound_fd : -1; /* closed by http_free */
    http->metrics_fd = opts->metrics_bound ? opts->metrics_fd : -1;
    pthread_mutex_init(&http->rate_lock, NULL);
    atomic_init(&http->store_up, sy_store_ping(sy_engine_store(eng)));
    sy_loopstat_init(&http->loop, "engine", opts->loop_cpu);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    http->started_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    http->evalstats = sy_evalstats_set_new(opts->metrics_max_flags);
    http->evals = http->evalstats ? sy_evalstats_add(http->evalstats) : NULL;
    http->commit = event_new(base, -1, 0, run_commit, http);
    http->ping = event_new(base, -1, EV_PERSIST, ping, http);
    if (!http->commit || !http->ping || !http->evals || sy_engine_reader_new(eng, &http->rd) < 0 ||
        getrandom(http->stream_secret, sizeof(http->stream_secret), 0) !=
            (ssize_t)sizeof(http->stream_secret) ||
        (!opts->workers && !(http->streams = sy_streams_new(base, http->stream_secret)))) {
        http_free(http);
        return sy_err_set(err, -ENOMEM, NULL, "out of memory");
    }
    sy_engine_loop_add(eng, &http->loop);
    event_add(http->ping, &(struct timeval){.tv_sec = 1});
    sy_h1_opts_t h1 = {.max_body = opts->max_body,
                       .max_head = 64 * 1024,
                       .idle_s = opts->timeout_s > 0 ? opts->timeout_s : 60,
                       .header_timeout_s = opts->header_timeout_s,
                       .min_body_rate = opts->min_body_rate,
                       .max_conns = opts->max_conns,
                       .on_head = on_head,
                       .loop = &http->loop,
                       .name = "switchyard"};
    int rc;
    if (http->metrics_fd >= 0) { /* a route may not take it (own_listen.c) */
        http->own_len[1] = sizeof(http->own[1]);
        if (getsockname(http->metrics_fd, (struct sockaddr *)&http->own[1], &http->own_len[1]) < 0)
            http->own_len[1] = 0;
    }
    /* before the workers, which read http->metrics from their threads */
    if (http->metrics_fd >= 0 || opts->workers) {
        rc = sy_metrics_listen(&http->metrics, http, http->metrics_fd, &h1, err);
        http->metrics_fd = -1; /* taken */
        if (rc < 0) {
            http_free(http);
            return rc;
        }
    }
    if (!opts->workers && opts->bound) {
        rc = sy_h1_listen_fd(&http->h1, base, http->listen_fd, &h1, on_request, http);
        if (rc == 0)
            http->port = sy_h1_port(http->h1);
    } else if (!opts->workers) {
        rc = sy_h1_listen(&http->h1, base, host, port, &h1, on_request, http);
        if (rc == 0)
            http->port = sy_h1_port(http->h1);
    } else if ((rc = http->listen_fd = opts->bound ? http->listen_fd : sy_h1_bind(host, port)) >=
               0) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getsockname(http->listen_fd, (struct sockaddr *)&ss, &sl) == 0)
            http->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                        : ((struct sockaddr_in *)&ss)->sin_port);
        rc = sy_workers_start(&http->workers, http, base, opts->workers, http->listen_fd, &h1);
    }
    if (rc < 0) {
        http_free(http);
        return listen_error(opts->listen, "listen", rc, err);
    }
    own_api_address(http, host);
    http->thread = pthread_self();
    sy_engine_bind_thread(eng); /* the loop's: workers must never change, compile or commit */
    sy_engine_on_change(eng, on_change, http);
    sy_engine_on_events(eng, schedule_commit, http);
    if ((rc = start_writer(http, base, err)) < 0) {
        sy_http_free(http);
        return rc;
    }
    *out = http;
    return 0;
}

int sy_http_port(const sy_http_t *http)
{
    return http->port;
}

sy_metrics_srv_t *sy_http_metrics_srv(const sy_http_t *http)
{
    return http->metrics;
}

int sy_http_metrics_port(const sy_http_t *http)
{
    return http->metrics ? sy_metrics_port(http->metrics) : 0;
}

void sy_http_drain(sy_http_t *http, int grace_s, void (*done)(void *arg), void *arg)
{
    if (http->workers) {
        /* Refuse new connections at once: a listening socket shut down resets them, and
         * the workers' accepts fail (the socket is closed once they are gone). */
        shutdown(http->listen_fd, SHUT_RDWR);
        sy_workers_drain(http->workers, grace_s, done, arg);
        return;
    }
    sy_streams_end(http->streams);
    sy_h1_drain(http->h1, grace_s, done, arg);
}

void sy_http_free(sy_http_t *http)
{
    if (!http)
        return;
    sy_engine_on_change(http->eng, NULL, NULL);
    if (http->written) /* while its descriptor is open: the writer closes it */
        event_free(http->written);
    /* Answer every ingest request still waiting while its connection exists: the batch with
     * the writer, then what is queued; the writer thread is joined. */
    sy_engine_writer_stop(http->eng);
    sy_engine_on_events(http->eng, NULL, NULL);
    http_free(http);
}
