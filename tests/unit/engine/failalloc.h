/* failalloc.h - an allocator that fails the Nth allocation, for fault injection.
 *
 * A test executable linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,
 * --wrap=strdup,--wrap=strndup gets every allocation of the objects linked into it (our
 * static libraries: core, codec, store, engine) through failalloc.c, and jansson's
 * through json_set_alloc_funcs (sy_failalloc_install). Shared libraries (SQLite, OpenSSL,
 * libc's own internals) allocate as they always do: the store's failures are injected by
 * sy_store_fail_at instead.
 */
#ifndef SY_TEST_FAILALLOC_H
#define SY_TEST_FAILALLOC_H

#include <stdbool.h>
#include <stdint.h>

/* Routes jansson's allocations through the counter too. Call once, first. */
void sy_failalloc_install(void);
/* From now on every allocation counts one; with `at` > 0 the at-th returns NULL (0:
 * none fails). Resets the count. */
void sy_failalloc_arm(int64_t at);
/* Stops counting and failing. */
void sy_failalloc_disarm(void);
/* Allocations counted since the last arming. */
int64_t sy_failalloc_count(void);
/* Whether the armed failure happened. */
bool sy_failalloc_fired(void);

#endif
