/* fixture.h - what the engine's experiment tests share: a fresh store (store_fixture.h:
 * SQLite, or PostgreSQL under pg_unit.sh; its URI is fx_uri), an engine on a fake clock, a
 * workspace with an admin principal, and an experiment made from JSON text and started.
 * Include once, in a test file. */
#ifndef SY_TEST_ENGINE_FIXTURE_H
#define SY_TEST_ENGINE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness.h"
#include "../store/store_fixture.h"
#include "codec/experiment_json.h"
#include "engine/engine.h"

static int64_t fake_ms = 1700000000000;

static int64_t fake_now(void)
{
    return fake_ms;
}

static sy_engine_t *open_engine(void)
{
    sy_engine_opts_t o = {.db = fx_uri, .now_ms = fake_now};
    sy_engine_t *eng;
    sy_err_t err = {0};
    if (sy_engine_open(&eng, &o, &err) < 0)
        fail_msg("open: %s", err.msg);
    return eng;
}

struct fixture {
    sy_engine_t *eng;
    sy_principal_t who;
};

static int setup(void **state)
{
    fx_store_make();
    struct fixture *f = calloc(1, sizeof(*f));
    f->eng = open_engine();
    int64_t ws, id;
    char secret[SY_TOKEN_MAX];
    if (sy_engine_workspace_create(f->eng, "w", &ws, NULL) < 0 ||
        sy_engine_token_create(f->eng, NULL, ws, "root", SY_ROLE_ADMIN, secret, sizeof(secret), &id,
                               NULL) < 0 ||
        sy_engine_authenticate(f->eng, secret, strlen(secret), &f->who) < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sy_engine_close(f->eng);
    free(f);
    fx_store_drop();
    return 0;
}

/* Creates experiment `def` read as POST /v1/experiments reads it (codec/experiment_json.h):
 * 0 or the refusal (err filled); with `out`, the answer as JSON (new reference). */
static inline int exp_create_json(struct fixture *f, const json_t *def, json_t **out, sy_err_t *err)
{
    sy_exp_def_t d;
    sy_experiment_t x;
    int rc = sy_exp_def_read(def, &d, err);
    if (rc < 0)
        return rc;
    rc = sy_engine_experiment_create(f->eng, &f->who, &d, &x, err);
    sy_exp_def_clear(&d);
    if (rc == 0 && out && !(*out = sy_experiment_json(&x)))
        fail_msg("out of memory");
    return rc;
}

/* Experiment `key` as the API answers it (new reference), or NULL (err filled). */
static inline json_t *exp_get_json(struct fixture *f, const char *key, sy_err_t *err)
{
    sy_experiment_t x;
    if (sy_engine_experiment_get(f->eng, &f->who, key, &x, err) < 0)
        return NULL;
    return sy_experiment_json(&x);
}

/* Moves experiment `key` to `state`: 0 or the refusal. */
static inline int exp_transition(struct fixture *f, const char *key, const char *state,
                                 sy_err_t *err)
{
    sy_experiment_t x;
    return sy_engine_experiment_transition(f->eng, &f->who, key, state, &x, err);
}

/* Creates experiment `def` (JSON text) and starts it. (inline: not every test uses it) */
static inline void create_started(struct fixture *f, const char *def_text, const char *key)
{
    json_error_t je;
    json_t *def = json_loads(def_text, 0, &je);
    sy_err_t err = {0};
    if (!def)
        fail_msg("bad definition: %s", je.text);
    if (exp_create_json(f, def, NULL, &err) < 0)
        fail_msg("create: %s (%s)", err.msg, err.field);
    json_decref(def);
    if (exp_transition(f, key, "running", &err) < 0)
        fail_msg("start: %s", err.msg);
}

/* A trigger written behind the engine's back makes every insert of unit "poison" fail. */
static inline void poison(void)
{
    fx_sql_exec(fx_uri,
                "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.unit = "
                "'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END;",
                "CREATE FUNCTION poisoned() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'poisoned'; END $$; "
                "CREATE TRIGGER poison BEFORE INSERT ON events FOR EACH ROW "
                "WHEN (NEW.unit = 'poison') EXECUTE FUNCTION poisoned();");
}

#endif
