/* fuzz_flags_load.c - libFuzzer target: any bytes as a flagd document.
 *
 * Parses, loads leniently and strictly (with both fractional rules), and when a load
 * succeeds evaluates every flag as every type with an empty and a non-trivial context
 * and a deliberately small scratch. A refused document must come back with no set and at
 * least one error; nothing may crash, leak or read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/value_json.h"
#include "core/flagset.h"

static const char ctx_json[] = "{\"targetingKey\":\"user-7\",\"age\":34,\"tier\":\"gold\","
                               "\"tags\":[\"beta\"],\"version\":\"1.2.3\",\"user\":{\"id\":1}}";

static void evaluate_all(const sy_flagset_t *set, const sy_value_t *ctx)
{
    char buf[2048];
    sy_arena_t scratch;
    sy_arena_init_fixed(&scratch, buf, sizeof(buf));
    for (size_t i = 0; i < sy_flagset_count(set); i++) {
        size_t klen;
        const char *key = sy_flagset_key(set, i, &klen);
        for (int t = SY_TYPE_ANY; t <= SY_TYPE_OBJECT; t++) {
            sy_flag_result_t r;
            sy_flagset_eval(set, key, klen, (sy_flag_type_t)t, ctx, 1767225600, &scratch, &r);
            if (r.has_value && r.variant == NULL)
                abort(); /* a value always comes with its variant */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sy_arena_t ctx_arena;
    sy_arena_init(&ctx_arena, 1 << 20);
    sy_value_t ctx;
    if (sy_value_parse(ctx_json, strlen(ctx_json), &ctx_arena, &ctx, NULL) < 0)
        abort();
    for (int mode = 0; mode < 4; mode++) {
        sy_arena_t arena;
        sy_arena_init(&arena, (size_t)64 << 20);
        sy_value_t doc;
        if (sy_value_parse((const char *)data, size, &arena, &doc, NULL) < 0) {
            sy_arena_free(&arena);
            break;
        }
        sy_problem_t items[8];
        sy_problems_t problems = {.items = items, .cap = 8};
        sy_flagset_opts_t opts = {.strict = mode & 1,
                                  .fractional = mode & 2 ? SY_FRACTIONAL_V1 : SY_FRACTIONAL_V2};
        sy_flagset_t *set = NULL;
        int rc = sy_flagset_load(&set, &arena, &doc, &opts, &problems);
        if (rc == -EINVAL && (set || problems.errors == 0))
            abort(); /* refused: no set, and a reason */
        if (rc == 0) {
            evaluate_all(set, NULL);
            evaluate_all(set, &ctx);
            sy_flagset_free(set);
        }
    }
    sy_arena_free(&ctx_arena);
    return 0;
}
