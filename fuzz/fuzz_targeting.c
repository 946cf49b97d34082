/* fuzz_targeting.c - libFuzzer target: a targeting rule and a context, evaluated.
 *
 * Input: "<rule JSON>\n<context JSON>". The rule is compiled (with one shared evaluator
 * available to $ref) and run against the context with both fractional rules and a small
 * fixed scratch, at two times. Errors are fine; crashes, leaks, overflows and UB are not.
 * A second run must give the same answer (evaluation is deterministic).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/value_json.h"
#include "core/logic.h"

static const char evaluators_json[] = "{\"adult\":{\">=\":[{\"var\":\"age\"},18]}}";

static int run(const sy_logic_t *logic, const sy_logic_env_t *env, sy_value_t *out)
{
    char buf[4096];
    sy_arena_t scratch;
    sy_arena_init_fixed(&scratch, buf, sizeof(buf));
    int rc = sy_logic_eval(logic, env, &scratch, out);
    if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
        abort();
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    size_t rule_len = nl ? (size_t)(nl - text) : size;
    sy_arena_t arena;
    sy_arena_init(&arena, (size_t)16 << 20);
    sy_value_t rule, ctx = {.type = SY_OBJ}, evaluators;
    if (sy_value_parse(evaluators_json, strlen(evaluators_json), &arena, &evaluators, NULL) < 0)
        abort();
    if (sy_value_parse(text, rule_len, &arena, &rule, NULL) < 0)
        goto out;
    if (nl && sy_value_parse(nl + 1, size - rule_len - 1, &arena, &ctx, NULL) < 0)
        goto out;
    const sy_logic_t *logic;
    if (sy_logic_compile(&rule, &evaluators, &arena, &logic, NULL) < 0)
        goto out;
    for (int v = 0; v < 2; v++)
        for (int t = 0; t < 2; t++) {
            sy_logic_env_t env = {.ctx = &ctx,
                                  .flag_key = "fuzz-flag",
                                  .flag_key_len = 9,
                                  .now_s = t ? 1767225600 : 0,
                                  .fractional = v ? SY_FRACTIONAL_V1 : SY_FRACTIONAL_V2};
            sy_value_t a, b;
            int ra = run(logic, &env, &a);
            int rb = run(logic, &env, &b);
            if (ra != rb)
                abort();
            /* Scalars must repeat exactly (arrays and objects may live in the scratch). */
            if (ra == 0 && a.type <= SY_NUM && !sy_value_json_eq(&a, &b))
                abort();
        }
out:
    sy_arena_free(&arena);
    return 0;
}
