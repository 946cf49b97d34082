#!/bin/sh
# core_is_pure.sh - src/core/ stays pure (ARCHITECTURE.md, STYLE.md): it includes only
# its own headers, the C library, GSL and murmur3, and calls no I/O, clock, allocator or
# environment. Prints TAP, one test per file of src/core.
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
        grep -vE '#[[:space:]]*include[[:space:]]*("core/[a-z_]+\.h"|<gsl/gsl_[a-z_]+\.h>|<murmurhash\.h>|<(assert|errno|float|inttypes|limits|math|stdarg|stdbool|stddef|stdint|stdio|string)\.h>)')
    # stdio.h is allowed for snprintf into caller memory only: no streams, no files.
    bad_call=$(grep -nE '\b(malloc|calloc|realloc|free|fopen|fclose|fread|fwrite|printf|fprintf|puts|getenv|time|clock|clock_gettime|gettimeofday|rand|srand|abort|exit)[[:space:]]*\(' "$f" |
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
