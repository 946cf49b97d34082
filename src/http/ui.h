/* ui.h - the operator's console: its assets, embedded in the binary at build time
 * (scripts/ui-embed.py writes the table from ui/), and how they are answered.
 *
 * The assets hold no data: they are answered without a token, on whichever thread serves
 * the connection (a worker, or the engine's loop without workers), from constant memory;
 * every datum the console shows comes from /v1 with the signed-in token. Thread-safe:
 * nothing here changes after the build.
 */
#ifndef SY_HTTP_UI_H
#define SY_HTTP_UI_H

#include <stdbool.h>
#include <stddef.h>

/* One embedded file, answered at /ui/<name>. */
struct sy_ui_asset {
    const char *name;         /* one path segment: "app.js" */
    const char *type;         /* its Content-Type */
    const unsigned char *raw; /* its bytes */
    size_t raw_len;
    const unsigned char *gz; /* the same, gzip'ed at build time */
    size_t gz_len;
    const char *etag;    /* strong, quoted: the SHA-256 of `raw`, cut to 32 hex digits */
    const char *gz_etag; /* the same with "-gz": the gzip'ed bytes are another representation */
};

extern const struct sy_ui_asset sy_ui_assets[];
extern const size_t sy_ui_n_assets;

/* The asset named `name` (`len` bytes, not NUL-terminated), or NULL. */
const struct sy_ui_asset *sy_ui_find(const char *name, size_t len);

/* Whether the request path `path` is the console's: "/", "/ui" or under "/ui/". */
bool sy_ui_is_path(const char *path);

/* Whether an If-None-Match value (a list of entity tags, weak ones and "*" included)
 * names `etag` (quoted). */
bool sy_ui_etag_matches(const char *if_none_match, const char *etag);

/* Whether an Accept-Encoding value takes gzip (named, or "*", with a q above 0). */
bool sy_ui_accepts_gzip(const char *accept_encoding);

#endif
