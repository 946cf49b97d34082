#!/bin/sh
# ui-build.sh - the console's assets, for the build (ui/meson.build runs it): installs the
# pinned npm packages of ui/package-lock.json with `npm ci` into NODE_DIR (a folder of
# the build, never the source tree; again only when the lockfile changed), then embeds
# ui/src/* and uPlot's dist files as C arrays (scripts/ui-embed.py). No bundling step: the
# console is plain ES modules. Without npm or the registry the build fails, saying so: a
# binary without its console is never made silently.
#
#   ui-build.sh UI_DIR NODE_DIR OUT_C OUT_LIST
set -eu
UI=$1
NODE=$2
OUT_C=$3
OUT_LIST=$4
HERE=$(cd "$(dirname "$0")" && pwd)

if ! command -v npm >/dev/null 2>&1; then
    echo "ui-build: npm is needed to build the console's assets (scripts/deps.sh installs it)" >&2
    exit 1
fi
mkdir -p "$NODE"
if ! cmp -s "$UI/package-lock.json" "$NODE/installed-lock.json" ||
    [ ! -f "$NODE/node_modules/uplot/package.json" ]; then
    cp "$UI/package.json" "$UI/package-lock.json" "$NODE/"
    rm -f "$NODE/installed-lock.json"
    if ! (cd "$NODE" && npm ci --no-audit --no-fund --ignore-scripts) >"$NODE/npm.log" 2>&1; then
        sed 's/^/ui-build: npm: /' "$NODE/npm.log" | tail -20 >&2
        echo "ui-build: 'npm ci' of ui/package-lock.json failed (is the npm registry reachable?" \
            "npm config get registry says which one); the console cannot be built without uPlot" >&2
        exit 1
    fi
    cp "$UI/package-lock.json" "$NODE/installed-lock.json"
fi

# Every file of ui/src under its own name, and uPlot's ES module and stylesheet.
set --
for f in "$UI"/src/*; do
    set -- "$@" "$(basename "$f")=$f"
done
set -- "$@" "uplot.esm.js=$NODE/node_modules/uplot/dist/uPlot.esm.js" \
    "uplot.css=$NODE/node_modules/uplot/dist/uPlot.min.css"
exec python3 "$HERE/ui-embed.py" "$OUT_C" "$OUT_LIST" "$@"
