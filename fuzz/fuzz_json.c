/* fuzz_json.c - libFuzzer target: our JSON parser (codec/json_parse.c) against jansson.
 *
 * For any bytes, sy_value_parse must accept exactly when jansson's json_loadb accepts
 * (JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL), and what it builds must be
 * what jansson's tree copied into an arena gives: the same types, the same string bytes,
 * the same doubles bit for bit, object members in the same order. Any difference aborts.
 *
 * One exception: a raw NUL byte. RFC 8259 allows none outside strings (and none raw inside
 * them), and we refuse every such input; jansson's reader takes a NUL just after a
 * top-level number for the end of input ("3\0" loads). Such inputs must only be refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/value_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const sy_value_t *a, const sy_value_t *b)
{
    if (a->type != b->type || a->len != b->len)
        return 0;
    switch (a->type) {
    case SY_NULL:
        return 1;
    case SY_BOOL:
        return a->b == b->b;
    case SY_NUM:
        return memcmp(&a->n, &b->n, sizeof(a->n)) == 0;
    case SY_STR:
        return memcmp(a->s, b->s, a->len) == 0 && a->s[a->len] == '\0';
    case SY_ARR:
        for (uint32_t i = 0; i < a->len; i++)
            if (!same(&a->items[i], &b->items[i]))
                return 0;
        return 1;
    case SY_OBJ:
        for (uint32_t i = 0; i < a->len; i++)
            if (a->members[i].klen != b->members[i].klen ||
                memcmp(a->members[i].key, b->members[i].key, a->members[i].klen) != 0 ||
                !same(&a->members[i].val, &b->members[i].val))
                return 0;
        return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *j = json_loadb((const char *)data, size,
                           JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &je);
    sy_arena_t mine, theirs;
    sy_arena_init(&mine, (size_t)1 << 30);
    sy_arena_init(&theirs, (size_t)1 << 30);
    sy_value_t a, b;
    int rc = sy_value_parse((const char *)data, size, &mine, &a, NULL);
    if (memchr(data, '\0', size)) {
        if (rc == 0)
            abort();
        json_decref(j);
        j = NULL;
    } else if ((rc == 0) != (j != NULL))
        abort(); /* one accepts what the other refuses */
    if (j && (sy_value_from_json(j, &theirs, &b) != 0 || !same(&a, &b)))
        abort();
    json_decref(j);
    sy_arena_free(&mine);
    sy_arena_free(&theirs);
    return 0;
}
