/* api_layers.c - /v1/layers: exclusive layers and their holdouts (engine.h, "layers"). */
#include <stdlib.h>

#include "codec/layer_json.h"
#include "http/internal.h"

static void reply_layer(struct call *c, int rc, int status, const sy_layer_t *l,
                        const sy_err_t *err)
{
    reply_result(c, rc, status, rc < 0 ? NULL : sy_layer_json(l), err);
}

void sy_api_layer_list(struct call *c)
{
    sy_err_t err = {0};
    sy_layer_t *ls = NULL;
    size_t n = 0;
    int rc = sy_engine_layer_list(c->eng, &c->who, &ls, &n, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_layers_json(ls, n), &err);
    free(ls);
}

void sy_api_layer_create(struct call *c)
{
    sy_layer_change_t change = {0};
    if (!read_body(c, &change))
        return;
    sy_err_t err = {0};
    sy_layer_t *l = malloc(sizeof(*l));
    int rc = l ? sy_engine_layer_create(c->eng, &c->who, &change, l, &err)
               : sy_err_set(&err, -ENOMEM, "", "out of memory");
    reply_layer(c, rc, 201, l, &err);
    free(l);
}

void sy_api_layer_get(struct call *c)
{
    sy_err_t err = {0};
    sy_layer_t *l = malloc(sizeof(*l));
    int rc = l ? sy_engine_layer_get(c->eng, &c->who, c->arg[0], l, &err)
               : sy_err_set(&err, -ENOMEM, "", "out of memory");
    reply_layer(c, rc, 200, l, &err);
    free(l);
}

void sy_api_layer_patch(struct call *c)
{
    sy_layer_change_t change = {0};
    if (!read_body(c, &change))
        return;
    sy_err_t err = {0};
    sy_layer_t *l = malloc(sizeof(*l));
    int rc = l ? sy_engine_layer_update(c->eng, &c->who, c->arg[0], &change, l, &err)
               : sy_err_set(&err, -ENOMEM, "", "out of memory");
    reply_layer(c, rc, 200, l, &err);
    free(l);
}

void sy_api_layer_results(struct call *c)
{
    sy_err_t err = {0};
    sy_exp_results_t *xs = NULL;
    size_t n = 0;
    sy_results_holdout_t pooled;
    int rc = sy_engine_layer_results(c->eng, &c->who, c->arg[0], &xs, &n, &pooled, &err);
    reply_result(c, rc, 200, rc < 0 ? NULL : sy_layer_results_json(c->arg[0], xs, n, &pooled),
                 &err);
    free(xs);
}

void sy_api_layer_delete(struct call *c)
{
    sy_err_t err = {0};
    if (sy_engine_layer_delete(c->eng, &c->who, c->arg[0], &err) < 0)
        reply_err(c, &err);
    else
        reply_json(c, 200, json_pack("{sssb}", "name", c->arg[0], "deleted", 1));
}
