/* fuzz_route_json.c - libFuzzer target: JSON text -> codec/route_json.h -> typed routes.
 *
 * Whatever the bytes, decoding must not crash, leak or trip a sanitizer; a refusal must
 * say which code it returned, and name a field unless out of memory; a route it accepts
 * must keep the whole contract (sy_route_spec_check), and survive a copy (sy_routes_add)
 * that keeps it so. The input is tried both as one route and as GET /v1/routes' answer.
 */
#include <stdint.h>
#include <stdlib.h>

#include "codec/route_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void judge(int rc, const sy_err_t *err, const sy_routes_t *rs)
{
    if (rc < 0 && (err->code != rc || (rc != -ENOMEM && !err->msg[0])))
        abort(); /* the error must describe the code returned */
    for (size_t i = 0; rc == 0 && rs && i < rs->n; i++)
        if (sy_route_spec_check(&rs->r[i], NULL) < 0)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *in = json_loadb((const char *)data, size, 0, NULL);
    if (!in)
        return 0;
    sy_err_t err = {0};
    sy_routes_t *rs = sy_routes_new();
    if (!rs)
        abort();
    int rc = sy_route_spec_from_json(in, 1, true, rs, &err);
    judge(rc, &err, rs);
    sy_routes_t *copy = sy_routes_new();
    for (size_t i = 0; copy && i < rs->n; i++)
        if (sy_routes_add(copy, &rs->r[i]) < 0 || sy_route_spec_check(&copy->r[i], NULL) < 0)
            abort();
    sy_routes_free(copy);
    sy_routes_free(rs);

    json_t *state = json_pack("{s{sb}}", "kill_switch", "engaged", 0);
    sy_routes_t *all = NULL;
    err = (sy_err_t){0};
    rc = sy_routes_from_json(in, state, &all, &err);
    judge(rc, &err, all);
    if ((rc == 0) != (all != NULL))
        abort();
    sy_routes_free(all);
    json_decref(state);
    json_decref(in);
    return 0;
}
