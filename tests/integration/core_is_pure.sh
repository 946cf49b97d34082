#!/bin/sh
# core_is_pure.sh - src/core/ stays pure (ARCHITECTURE.md, STYLE.md): it includes only
# its own headers, the C library, GSL and murmur3, and calls no I/O, clock or environment.
# Only arena.c may call the allocator: everything else in core gets memory from an arena
# its caller owns, so hot paths (evaluation) provably do not allocate. Prints TAP, one
# test per file of src/core.
#
# usage: core_is_pure.sh SRC_CORE_DIR
set -u
dir=$1
n=0
failed=0
for f in "$dir"/*.c "$dir"/*.h; do
    n=$((n + 1))
    name=$(basename "$f")
    bad_include=$(grep -nE '^[[:space:]]*#[[:space:]]*include' "$f" |
        grep -vE '#[[:space:]]*include[[:space:]]*("core/[a-z0-9_]+\.h"|<gsl/gsl_[a-z_]+\.h>|<murmurhash\.h>|<(assert|errno|float|inttypes|limits|math|stdalign|stdarg|stdatomic|stdbool|stddef|stdint|stdio|stdlib|string)\.h>)')
    # stdio.h is allowed for snprintf into caller memory only: no streams, no files.
    alloc='malloc|calloc|realloc|free|'
    [ "$name" = arena.c ] && alloc=''
    bad_call=$(grep -nE "\\b(${alloc}fopen|fclose|fread|fwrite|printf|fprintf|puts|getenv|time|clock|clock_gettime|gettimeofday|rand|srand|abort|exit|system|getenv|setenv|strtok)[[:space:]]*\\(" "$f" |
        grep -vE '^[0-9]+:[[:space:]]*(/\*|\*)')
    if [ -z "$bad_include" ] && [ -z "$bad_call" ]; then
        echo "ok $n - core/$name includes and calls only pure code"
    else
        failed=$((failed + 1))
        echo "not ok $n - core/$name includes and calls only pure code"
        printf '%s\n%s\n' "$bad_include" "$bad_call" | sed '/^$/d; s/^/# /'
    fi
done
echo "1..$n"
[ "$failed" -eq 0 ] && [ "$n" -gt 0 ]
