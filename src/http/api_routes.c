/* api_routes.c - /v1/routes[/{name}[/percentage|/enabled]]: the proxy's routes. Reading
 * takes a viewer; percentage and enabled (the rollout's moves) an editor; creating,
 * replacing and deleting a route an admin. */
#include <string.h>

#include "http/internal.h"

/* `fn` with the JSON body, answering `status`. */
static void with_body(struct call *c, sy_role_t role, int status, const char *name,
                      int (*fn)(sy_engine_t *, const sy_principal_t *, const char *,
                                const json_t *, json_t **, sy_err_t *))
{
    if (!require_role(c, role))
        return;
    json_t *body = body_object(c);
    if (!body)
        return;
    sy_err_t err = {0};
    json_t *out = NULL;
    int rc = fn(c->eng, &c->who, name, body, &out, &err);
    json_decref(body);
    reply_result(c, rc, status, out, &err);
}

/* sy_engine_route_create with the name in the body (for with_body's shape). */
static int create(sy_engine_t *eng, const sy_principal_t *who, const char *name,
                  const json_t *body, json_t **out, sy_err_t *err)
{
    (void)name;
    return sy_engine_route_create(eng, who, body, out, err);
}

void sy_api_routes(struct call *c, const char *rest)
{
    sy_method_t m = sy_h1_method(c->req);
    sy_err_t err = {0};
    json_t *out = NULL;
    if (!*rest) {
        if (m == SY_GET) {
            if (require_role(c, SY_ROLE_VIEWER)) {
                int rc = sy_engine_route_list(c->eng, &c->who, &out, &err);
                reply_result(c, rc, 200, out, &err); /* after the call: it sets `out` */
            }
        } else if (m == SY_POST) {
            with_body(c, SY_ROLE_ADMIN, 201, NULL, create);
        } else {
            not_allowed(c, "GET, POST");
        }
        return;
    }
    char name[128];
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (n == 0 || n >= sizeof(name) || (slash && strchr(slash + 1, '/'))) {
        reply_error(c, 404, "not_found", "", "no such endpoint: /v1/routes/%.200s", rest);
        return;
    }
    memcpy(name, rest, n);
    name[n] = '\0';
    if (slash) {
        bool pct = strcmp(slash, "/percentage") == 0;
        if (!pct && strcmp(slash, "/enabled") != 0)
            reply_error(c, 404, "not_found", "", "no such endpoint: /v1/routes/%.200s", rest);
        else if (m != SY_POST)
            not_allowed(c, "POST");
        else
            with_body(c, SY_ROLE_EDITOR, 200, name,
                      pct ? sy_engine_route_percentage : sy_engine_route_enabled);
        return;
    }
    if (m == SY_GET) {
        if (require_role(c, SY_ROLE_VIEWER)) {
            int rc = sy_engine_route_get(c->eng, &c->who, name, &out, &err);
            reply_result(c, rc, 200, out, &err);
        }
    } else if (m == SY_PUT) {
        with_body(c, SY_ROLE_ADMIN, 200, name, sy_engine_route_replace);
    } else if (m == SY_DELETE) {
        if (!require_role(c, SY_ROLE_ADMIN))
            return;
        int rc = sy_engine_route_delete(c->eng, &c->who, name, &err);
        if (rc == 0)
            out = json_pack("{sbss}", "deleted", 1, "name", name);
        reply_result(c, rc, 200, out, &err);
    } else {
        not_allowed(c, "GET, PUT, DELETE");
    }
}
