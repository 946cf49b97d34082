# console_common.sh - sourced by the console's browser tests (console.sh, console_*.sh)
# after tap.sh: chromium, node and the pinned npm modules (playwright-core, axe-core) in
# NODE_DIR, and a node script's TAP numbered on from the shell's checks.
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

# console_setup NODE_DIR OUT_DIR: fails the script at once without chromium or node
console_setup() {
    if [ ! -x "$CHROMIUM" ]; then
        echo "not ok 1 - chromium is missing at $CHROMIUM: scripts/deps.sh installs it (Debian's chromium)"
        echo "1..1"
        exit 1
    fi
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        echo "not ok 1 - node and npm are needed (scripts/deps.sh installs them)"
        echo "1..1"
        exit 1
    fi
    # pinned: the versions these tests were written against (playwright-core drives
    # Debian's chromium over CDP; it downloads no browser). A lock folder keeps two tests
    # from installing at once.
    if [ ! -f "$1/node_modules/playwright-core/package.json" ] ||
        [ ! -f "$1/node_modules/axe-core/axe.min.js" ]; then
        mkdir -p "$1"
        while ! mkdir "$1.lock" 2>/dev/null; do sleep 1; done
        [ -f "$1/package.json" ] || echo '{"private": true}' >"$1/package.json"
        [ -f "$1/node_modules/axe-core/axe.min.js" ] ||
            (cd "$1" && npm install --no-audit --no-fund --silent \
                playwright-core@1.64.1 axe-core@4.14.1 >"$TMP/npm.log" 2>&1)
        rmdir "$1.lock"
    fi
    check "playwright-core and axe-core are installed (npm)" 0 "" "" -- \
        test -f "$1/node_modules/playwright-core/package.json" -a -f "$1/node_modules/axe-core/axe.min.js"
    [ -f "$TMP/npm.log" ] && [ ! -f "$1/node_modules/axe-core/axe.min.js" ] && sed 's/^/# npm: /' "$TMP/npm.log" | tail -5
    rm -rf "$2"
    mkdir -p "$2"
    CONSOLE_NODE=$1
}

# console_db: the database of a console test ($DB, for start_server): workspace
# "default" with tokens admin alice, editor ed and viewer vic (ADMIN, EDITOR, VIEWER), and
# workspace "big" with admin bob (BIG), where a test makes 1,000 of what its page lists.
console_db() {
    "$SY" workspace create default --db "$DB" >/dev/null
    ADMIN=$("$SY" token create --db "$DB" --workspace default --role admin --name alice)
    EDITOR=$("$SY" token create --db "$DB" --workspace default --role editor --name ed)
    VIEWER=$("$SY" token create --db "$DB" --workspace default --role viewer --name vic)
    "$SY" workspace create big --db "$DB" >/dev/null
    BIG=$("$SY" token create --db "$DB" --workspace big --role admin --name bob)
}

# console_run SCRIPT.js ARGS...: runs it in chromium, its checks numbered on from ours
console_run() {
    js=$1
    shift
    echo "# screenshots: $OUT"
    env NODE_PATH="$CONSOLE_NODE/node_modules" CHROMIUM="$CHROMIUM" node "$HERE/$js" "$@" >"$TMP/js.tap"
    js_status=$?
    awk -v n="$n" '/^1\.\./ { next } /^(not )?ok [0-9]+/ { n++; sub(/ok [0-9]+/, "ok " n) } { print }' "$TMP/js.tap"
    n=$((n + $(grep -c '^ok\|^not ok' "$TMP/js.tap")))
    failed=$((failed + $(grep -c '^not ok' "$TMP/js.tap")))
    [ "$js_status" = 0 ] || [ "$(grep -c '^not ok' "$TMP/js.tap")" != 0 ] || not_ok "$js exited $js_status"
}

# shots NAME...: a check that each screenshot was written into OUT
shots() {
    for p in "$@"; do
        check "screenshot $p.png written" 0 "" "" -- test -s "$OUT/$p.png"
    done
}
