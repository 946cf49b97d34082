/* ui.c - answers the console's paths from the embedded assets; see ui.h.
 *
 *   GET /, GET /ui         302 to /ui/
 *   GET /ui/               index.html
 *   GET /ui/<name>         the asset, or for a name without a dot (a page the console's
 *                          router knows, typed or bookmarked) index.html; else 404
 *   HEAD                   the same headers, no body
 *   other methods          405, Allow: GET, HEAD
 *
 * Every answer carries the console's Content-Security-Policy (no inline script or style,
 * nothing from another origin), nosniff, no referrer, and frame-ancestors 'none'. Assets
 * are revalidated at every use (no-cache) against their strong ETag: their names carry no
 * hash, so a new binary's files must replace the old ones at once, and a 304 costs a few
 * hundred bytes. gzip'ed bytes go to clients that take them (Vary: Accept-Encoding).
 */
#include "http/ui.h"

#include <string.h>
#include <strings.h>

#include "http/internal.h"

static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                          "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const struct sy_ui_asset *sy_ui_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sy_ui_n_assets; i++)
        if (strlen(sy_ui_assets[i].name) == len && memcmp(sy_ui_assets[i].name, name, len) == 0)
            return &sy_ui_assets[i];
    return NULL;
}

bool sy_ui_is_path(const char *path)
{
    return strcmp(path, "/") == 0 || strcmp(path, "/ui") == 0 || strncmp(path, "/ui/", 4) == 0;
}

/* The next comma-separated member of a header value at *p: its start and length (spaces
 * and tabs trimmed); false at the end. */
static bool next_member(const char **p, const char **at, size_t *len)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t' || *s == ',')
        s++;
    if (!*s)
        return false;
    size_t n = strcspn(s, ",");
    *p = s + n;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    *at = s;
    *len = n;
    return true;
}

bool sy_ui_etag_matches(const char *if_none_match, const char *etag)
{
    const char *at;
    size_t len, elen = strlen(etag);
    for (const char *p = if_none_match; p && next_member(&p, &at, &len);) {
        if (len == 1 && *at == '*')
            return true;
        /* If-None-Match compares weakly (RFC 9110, 13.1.2): W/"x" names "x" too. */
        if (len > 2 && at[0] == 'W' && at[1] == '/')
            at += 2, len -= 2;
        if (len == elen && memcmp(at, etag, len) == 0)
            return true;
    }
    return false;
}

bool sy_ui_accepts_gzip(const char *accept_encoding)
{
    const char *at;
    size_t len;
    for (const char *p = accept_encoding; p && next_member(&p, &at, &len);) {
        size_t name = strcspn(at, ";");
        if (name > len)
            name = len;
        while (name && (at[name - 1] == ' ' || at[name - 1] == '\t'))
            name--;
        if (!((name == 4 && strncasecmp(at, "gzip", 4) == 0) || (name == 1 && *at == '*')))
            continue;
        /* ";q=0", "; q=0.0", "q=0.000": refused */
        const char *q = memchr(at, '=', len);
        if (!q || (size_t)(q - at) < name)
            return true;
        for (q++; q < at + len; q++)
            if (*q >= '1' && *q <= '9')
                return true;
        return false;
    }
    return false;
}

/* The headers every answer of the console carries. */
static void secure_headers(struct call *c)
{
    sy_h1_add_header(c->req, "Content-Security-Policy", csp);
    sy_h1_add_header(c->req, "X-Content-Type-Options", "nosniff");
    sy_h1_add_header(c->req, "Referrer-Policy", "no-referrer");
    sy_h1_add_header(c->req, "X-Frame-Options", "DENY");
}

static void answer_asset(struct call *c, const struct sy_ui_asset *a)
{
    bool gz = sy_ui_accepts_gzip(sy_h1_header(c->req, "Accept-Encoding"));
    const char *etag = gz ? a->gz_etag : a->etag;
    sy_h1_add_header(c->req, "ETag", etag);
    sy_h1_add_header(c->req, "Cache-Control", "no-cache");
    sy_h1_add_header(c->req, "Vary", "Accept-Encoding");
    if (sy_ui_etag_matches(sy_h1_header(c->req, "If-None-Match"), etag)) {
        reply_empty(c, 304);
        return;
    }
    if (gz)
        sy_h1_add_header(c->req, "Content-Encoding", "gzip");
    reply_typed(c, 200, a->type, (const char *)(gz ? a->gz : a->raw), gz ? a->gz_len : a->raw_len);
}

void sy_ui_serve(struct call *c)
{
    const char *path = sy_h1_path(c->req);
    secure_headers(c);
    if (sy_h1_method(c->req) != SY_GET) { /* HEAD is GET here (h1.h) */
        not_allowed(c, "GET, HEAD");
        return;
    }
    if (strcmp(path, "/") == 0 || strcmp(path, "/ui") == 0) {
        sy_h1_add_header(c->req, "Location", "/ui/");
        sy_h1_add_header(c->req, "Cache-Control", "no-cache");
        reply_typed(c, 302, "text/plain; charset=utf-8", "/ui/\n", 5);
        return;
    }
    const char *name = path + 4;
    size_t len = strlen(name);
    const struct sy_ui_asset *a = len ? sy_ui_find(name, len) : sy_ui_find("index.html", 10);
    /* A page's path (no dot in its last segment) is the console's to route: index.html.
     * A file's that is not embedded is 404, never the page in its place (a script tag
     * given HTML would fail obscurely). */
    if (!a && !strchr(strrchr(path, '/'), '.'))
        a = sy_ui_find("index.html", 10);
    if (!a) {
        reply_error(c, 404, "not_found", "", "the console has no file %.200s", path);
        return;
    }
    answer_asset(c, a);
}
