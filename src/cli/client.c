/* client.c - libcurl behind client.h. */
#include "cli/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli/args.h"

#define REPLY_MAX ((size_t)64 << 20)

struct sy_client {
    const char *prog;
    char base[512];
    char auth[128];
    CURL *curl;
};

sy_client_t *sy_client_new(const char *prog, const char *server, const char *token)
{
    if (!server)
        server = getenv("SWITCHYARD_URL");
    if (!token)
        token = getenv("SWITCHYARD_TOKEN");
    if (!token || !*token) {
        fprintf(stderr, "%s: no token: give --token or set SWITCHYARD_TOKEN\n", prog);
        return NULL;
    }
    sy_client_t *c = calloc(1, sizeof(*c));
    if (!c || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c->curl = curl_easy_init())) {
        fprintf(stderr, "%s: cannot set up the HTTP client\n", prog);
        free(c);
        return NULL;
    }
    c->prog = prog;
    snprintf(c->base, sizeof(c->base), "%s", server && *server ? server : "http://127.0.0.1:8080");
    size_t n = strlen(c->base);
    while (n > 0 && c->base[n - 1] == '/')
        c->base[--n] = '\0';
    snprintf(c->auth, sizeof(c->auth), "Authorization: Bearer %s", token);
    return c;
}

void sy_client_free(sy_client_t *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    curl_global_cleanup();
    free(c);
}

struct buf {
    char *p;
    size_t len;
    bool too_big;
};

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    size_t add = size * n;
    if (b->len + add > REPLY_MAX) {
        b->too_big = true;
        return 0;
    }
    char *p = realloc(b->p, b->len + add + 1);
    if (!p)
        return 0;
    memcpy(p + b->len, data, add);
    b->p = p;
    b->len += add;
    p[b->len] = '\0';
    return add;
}

long sy_client_call(sy_client_t *c, const char *method, const char *path, const char *body,
                    size_t len, json_t **reply)
{
    *reply = NULL;
    char url[1024];
    snprintf(url, sizeof(url), "%s%s", c->base, path);
    struct curl_slist *h = curl_slist_append(NULL, c->auth);
    struct curl_slist *h2 = h ? curl_slist_append(h, "Content-Type: application/json") : NULL;
    struct buf b = {0};
    CURL *k = c->curl;
    curl_easy_reset(k);
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, h2 ? h2 : h);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(k, CURLOPT_TIMEOUT, 60L);
    if (body) {
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, "");
    }
    long status = 0;
    CURLcode rc = curl_easy_perform(k);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(k, CURLINFO_RESPONSE_CODE, &status);
        json_error_t je;
        *reply = b.p ? json_loadb(b.p, b.len, 0, &je) : NULL;
    } else {
        fprintf(stderr, "%s: %s: %s\n", c->prog, c->base,
                b.too_big ? "the reply is over 64 MiB" : curl_easy_strerror(rc));
    }
    free(b.p);
    curl_slist_free_all(h2 ? h2 : h);
    return status;
}

int sy_client_run(sy_client_t *c, bool json, const char *method, const char *path, const char *body,
                  void (*print)(const json_t *reply))
{
    json_t *reply = NULL;
    long status = sy_client_call(c, method, path, body, body ? strlen(body) : 0, &reply);
    int rc = 1;
    if (status == 0) {
        /* printed by sy_client_call */
    } else if (status >= 300) {
        sy_client_report(c, NULL, status, reply);
    } else if (json || !print) {
        return sy_cli_print_json(reply);
    } else {
        print(reply);
        rc = 0;
    }
    json_decref(reply);
    return rc;
}

void sy_client_report(const sy_client_t *c, const char *where, long status, const json_t *reply)
{
    const json_t *e = json_object_get(reply, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *field = json_string_value(json_object_get(e, "field"));
    fprintf(stderr, "%s: %s%s", c->prog, where ? where : "", where ? ": " : "");
    if (msg)
        fprintf(stderr, "%s%s%s%s (HTTP %ld)\n", msg, field && *field ? " (" : "",
                field && *field ? field : "", field && *field ? ")" : "", status);
    else
        fprintf(stderr, "the server answered HTTP %ld\n", status);
}

void sy_client_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            strchr("-._~", ch)) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
}
