#!/bin/sh
# library_install.sh - installs the build into a scratch root, then builds and runs
# examples/hello_flags.c against it using nothing but pkg-config, as a user would.
#
# usage: library_install.sh BUILD_DIR SOURCE_DIR [EXTRA_CFLAGS]     (prints TAP)
# EXTRA_CFLAGS carries the sanitizer flags when the library was built with them.
set -u
BUILD=$1
SRC=$2
EXTRA=${3:-}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; sed 's/^/# /' "$TMP/log" | head -20; }

if meson install -C "$BUILD" --destdir "$TMP/root" --no-rebuild >"$TMP/log" 2>&1; then
    ok "meson install puts the library in a destination root"
else
    not_ok "meson install puts the library in a destination root"
fi
pc=$(find "$TMP/root" -name switchyard.pc | head -1)
libdir=$(dirname "$(find "$TMP/root" -name 'libswitchyard.so' | head -1)")
for f in include/switchyard/switchyard.h; do
    if [ -n "$(find "$TMP/root" -path "*/$f")" ]; then ok "installs $f"; else echo "missing" >"$TMP/log"; not_ok "installs $f"; fi
done
if [ -n "$pc" ] && [ -n "$(find "$TMP/root" -name 'libswitchyard.a')" ]; then
    ok "installs libswitchyard.so, libswitchyard.a and switchyard.pc"
else
    echo "pc=$pc libdir=$libdir" >"$TMP/log"
    not_ok "installs libswitchyard.so, libswitchyard.a and switchyard.pc"
fi

export PKG_CONFIG_PATH="$(dirname "$pc")"
export PKG_CONFIG_SYSROOT_DIR="$TMP/root"
# shellcheck disable=SC2046 # word splitting of pkg-config output is intended
if cc -Wall -Wextra -Werror $EXTRA "$SRC/examples/hello_flags.c" \
    $(pkg-config --cflags --libs switchyard) -o "$TMP/hello_flags" >"$TMP/log" 2>&1; then
    ok "examples/hello_flags.c builds with pkg-config --cflags --libs switchyard"
else
    not_ok "examples/hello_flags.c builds with pkg-config --cflags --libs switchyard"
fi

LD_LIBRARY_PATH="$libdir" "$TMP/hello_flags" "$SRC/examples/flags.json" user-42 DE 2.1.0 \
    >"$TMP/out" 2>"$TMP/log"
status=$?
cat "$TMP/out" >>"$TMP/log"
if [ "$status" -eq 0 ] &&
    grep -q '^banner-color = #0a0 (TARGETING_MATCH) flagSetId=shop version=3 owner=web-team$' "$TMP/out" &&
    grep -q '^max-items = 50 (TARGETING_MATCH)$' "$TMP/out" &&
    grep -q '^no-such-flag -> FLAG_NOT_FOUND$' "$TMP/out" &&
    grep -Eq '^new-checkout = (true|false) \(TARGETING_MATCH, variant (on|off)\)$' "$TMP/out"; then
    ok "the example evaluates every flag through the installed shared library"
else
    not_ok "the example evaluates every flag through the installed shared library"
fi
LD_LIBRARY_PATH="$libdir" "$TMP/hello_flags" "$SRC/examples/flags.json" user-42 US 1.9.0 \
    >"$TMP/out" 2>"$TMP/log"
if grep -q '^banner-color = #c00 ' "$TMP/out" && grep -q '^max-items = 10 (DEFAULT)$' "$TMP/out"; then
    ok "another context takes the other branches"
else
    cat "$TMP/out" >>"$TMP/log"
    not_ok "another context takes the other branches"
fi
echo "1..$n"
[ "$failed" -eq 0 ]
