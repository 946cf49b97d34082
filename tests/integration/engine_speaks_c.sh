#!/bin/sh
# engine_speaks_c.sh - the engine's API speaks C (issue 22): src/engine/engine.h names no
# json_t and includes no jansson, so request shapes and answers live in codec/ and status
# codes in http/. Prints TAP.
#
# usage: engine_speaks_c.sh SRC_DIR
set -u
h=$1/engine/engine.h
n=0
failed=0
t() { # NAME PATTERN: no line of engine.h outside comments matches PATTERN
    n=$((n + 1))
    hits=$(grep -nE "$2" "$h" | grep -vE '^[0-9]+:[[:space:]]*(/\*|\*)')
    if [ -z "$hits" ]; then
        echo "ok $n - engine.h: $1"
    else
        failed=$((failed + 1))
        echo "not ok $n - engine.h: $1"
        printf '%s\n' "$hits" | sed 's/^/# /'
    fi
}
t "no json_t in any declaration" '\bjson_t\b'
t "no jansson include" '#[[:space:]]*include[[:space:]]*<jansson\.h>'
t "no JSON helper of jansson in a macro" '\bjson_(pack|object|array|loads|dumps)'
echo "1..$n"
[ "$failed" -eq 0 ]
