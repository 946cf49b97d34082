/* failalloc.c - see failalloc.h. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "failalloc.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

/* The test's own thread only: the engine under test runs no threads of its own here. */
static bool armed;
static bool fired;
static int64_t count;
static int64_t fail_at;

/* ASan's, when linked: where an injected failure happened (SY_FAILALLOC_TRACE set). */
void __sanitizer_print_stack_trace(void) __attribute__((weak));

static bool fails(void)
{
    if (!armed)
        return false;
    if (++count != fail_at)
        return false;
    fired = true;
    if (getenv("SY_FAILALLOC_TRACE") && __sanitizer_print_stack_trace)
        __sanitizer_print_stack_trace();
    return true;
}

void *__wrap_malloc(size_t n)
{
    return fails() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return fails() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    /* realloc(p, 0) frees: not an allocation that can fail */
    return n && fails() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return fails() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return fails() ? NULL : __real_strndup(s, n);
}

static void json_free(void *p)
{
    free(p);
}

/* jansson 2.14's loader is not safe when an allocation fails: it reports a syntax error
 * ("string or '}' expected") or crashes (load.c, a string token whose copy could not be
 * made). Until the engine parses with a loader of its own, a load counts as one
 * allocation here, failing as a whole (NULL, as a loader that is safe would answer),
 * and the allocations inside it are not failed. */
json_t *__real_sy_json_loadb(const char *text, size_t len, size_t flags, json_error_t *e);
json_t *__wrap_sy_json_loadb(const char *text, size_t len, size_t flags, json_error_t *e);
json_t *__real_json_loads(const char *text, size_t flags, json_error_t *e);
json_t *__wrap_json_loads(const char *text, size_t flags, json_error_t *e);
json_t *__real_json_loadb(const char *text, size_t len, size_t flags, json_error_t *e);
json_t *__wrap_json_loadb(const char *text, size_t len, size_t flags, json_error_t *e);

static bool load_fails(json_error_t *e)
{
    if (!fails())
        return false;
    if (e)
        snprintf(e->text, sizeof(e->text), "out of memory");
    return true;
}

#define LOAD(call)                                                                                 \
    do {                                                                                           \
        if (!armed)                                                                                \
            return call;                                                                           \
        if (load_fails(e))                                                                         \
            return NULL;                                                                           \
        armed = false;                                                                             \
        json_t *j = call;                                                                          \
        armed = true;                                                                              \
        return j;                                                                                  \
    } while (0)

json_t *__wrap_sy_json_loadb(const char *text, size_t len, size_t flags, json_error_t *e)
{
    LOAD(__real_sy_json_loadb(text, len, flags, e));
}

json_t *__wrap_json_loads(const char *text, size_t flags, json_error_t *e)
{
    LOAD(__real_json_loads(text, flags, e));
}

json_t *__wrap_json_loadb(const char *text, size_t len, size_t flags, json_error_t *e)
{
    LOAD(__real_json_loadb(text, len, flags, e));
}

void sy_failalloc_install(void)
{
    json_set_alloc_funcs(__wrap_malloc, json_free);
}

void sy_failalloc_arm(int64_t at)
{
    count = 0;
    fail_at = at;
    fired = false;
    armed = true;
}

void sy_failalloc_disarm(void)
{
    armed = false;
}

int64_t sy_failalloc_count(void)
{
    return count;
}

bool sy_failalloc_fired(void)
{
    return fired;
}
