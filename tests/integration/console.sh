#!/bin/sh
# console.sh - the operator's console (/ui/) in a real browser: Debian's chromium driven by
# playwright-core (npm, pinned, installed into NODE_DIR, a folder of the build), with
# axe-core (npm, pinned) run in the page, against a real server with demo data.
#
# Over HTTP first (curl): "/" and "/ui" redirect to /ui/; every asset with its
# Content-Type, the console's Content-Security-Policy, nosniff, no referrer, a strong ETag
# and 304 for it, gzip when asked; HEAD; a page path answered with index.html, a missing
# file 404; no token needed; the embedded assets' gzip'ed total at most 300 KB (as served,
# and as the build's list says); the assets' build failing, saying so, without the npm
# registry. Then console.js in chromium: sign-in with an admin token
# (kept in sessionStorage, never a cookie), who is signed in, the experiments list's
# numbers against /v1/experiments/KEY/results, the one awaiting approval first, the
# experiment detail page (its numbers against the results, a step, an approval and a
# rollback through its confirmation dialog, a viewer's disabled actions), each page
# (a screenshot of each into OUT_DIR), axe-core (no serious or critical violation),
# keyboard focus, sign-out, a viewer, a wrong token's clear error; 1,000 experiments in a
# workspace of their own: the first page rendered within 1 s (the figure printed). Any CSP
# violation or console error fails it (but the 401 of the wrong token and the 404 of an
# experiment that does not exist, which the browser logs itself).
#
#   console.sh SWITCHYARD NODE_DIR OUT_DIR ASSET_LIST
set -u
SY=$1
NODE_DIR=$2
OUT=$3
ASSETS=$4
. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/console_common.sh"
console_setup "$NODE_DIR" "$OUT"

# ---- the database: the demo workspace, and one of 1,000 experiments ------------------------
console_db
start_server "$SY" --quiet
check "the server starts" 0 "" "" -- test -n "$PORT"

# ---- over HTTP --------------------------------------------------------------------------------
CSP="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
heads() { curl -s -o "$TMP/body" -D - "$@" | tr -d '\r' >"$TMP/heads"; }
header() { sed -n "s/^$1: //Ip" "$TMP/heads" | head -1; }
status() { head -1 "$TMP/heads" | cut -d' ' -f2; }
for p in / /ui; do
    heads "$URL$p"
    check "GET $p: 302 to /ui/" 0 "" "" -- test "$(status) $(header Location)" = "302 /ui/"
done
heads "$URL/ui/"
check "GET /ui/: index.html, no token needed" 0 "" "" -- \
    test "$(status) $(header Content-Type)" = "200 text/html; charset=utf-8"
check "... with the console's Content-Security-Policy" 0 "" "" -- test "$(header Content-Security-Policy)" = "$CSP"
check "... nosniff, no referrer, revalidated" 0 "" "" -- \
    test "$(header X-Content-Type-Options)|$(header Referrer-Policy)|$(header Cache-Control)" = "nosniff|no-referrer|no-cache"
check "... no inline script or style in it" 1 "" "" -- grep -Eiq '<script>|<script [^>]*>[^<]|<style|style=| on[a-z]+=' "$TMP/body"
bad=0 served=0 gz_total=0
while read -r name raw gz; do
    [ "$name" = total ] && continue
    heads -H 'Accept-Encoding: gzip' "$URL/ui/$name"
    size=$(wc -c <"$TMP/body")
    gz_total=$((gz_total + size))
    served=$((served + 1))
    etag=$(header ETag)
    want=text/javascript
    case "$name" in *.css) want=text/css ;; *.html) want=text/html ;; esac
    if [ "$(status)" != 200 ] || [ "$size" != "$gz" ] || [ "$(header Content-Encoding)" != gzip ] ||
        [ "$(header Content-Security-Policy)" != "$CSP" ] || ! header Content-Type | grep -q "^$want" ||
        ! echo "$etag" | grep -Eq '^"[0-9a-f]{32}-gz"$'; then
        bad=$((bad + 1))
        echo "# /ui/$name: $(status) $size bytes (want $gz), $(header Content-Type), $(header Content-Encoding), $etag"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept-Encoding: gzip' -H "If-None-Match: $etag" "$URL/ui/$name")
    [ "$code" = 304 ] || { bad=$((bad + 1)); echo "# /ui/$name with If-None-Match $etag: $code"; }
    heads "$URL/ui/$name"
    [ "$(wc -c <"$TMP/body")" = "$raw" ] && [ -z "$(header Content-Encoding)" ] ||
        { bad=$((bad + 1)); echo "# /ui/$name without gzip: $(wc -c <"$TMP/body") bytes, want $raw"; }
done <"$ASSETS"
check "every embedded asset ($served): type, CSP, gzip'ed bytes, strong ETag and 304, plain bytes without gzip" 0 "" "" -- \
    test "$bad" = 0 -a "$served" -ge 8
listed=$(sed -n 's/^total [0-9]* //p' "$ASSETS")
echo "# assets: $served files, $(sed -n 's/^total \([0-9]*\) .*/\1/p' "$ASSETS") bytes, $gz_total gzip'ed as served"
check "the assets are at most 300 KB gzip'ed in all ($gz_total bytes; the build's list says $listed)" 0 "" "" -- \
    test "$gz_total" -le 307200 -a "$gz_total" = "$listed"
# HEAD over a raw socket (HTTP/1.0: the server closes after it): what follows the head is
# nothing, and Content-Length is the GET's.
python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"HEAD /ui/app.js HTTP/1.0\r\nHost: x\r\n\r\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
sys.stdout.write(data.decode("latin1").replace("\r", ""))
' "$PORT" >"$TMP/heads"
app_len=$(sed -n 's/^app.js \([0-9]*\) .*/\1/p' "$ASSETS")
check "HEAD: the GET's headers (its Content-Length too) and no body" 0 "" "" -- \
    test "$(status)|$(header Content-Type)|$(header Content-Length)|$(sed '1,/^$/d' "$TMP/heads" | wc -c)" = "200|text/javascript; charset=utf-8|$app_len|0"
heads "$URL/ui/experiments/checkout-button"
check "a page's path (no dot): index.html" 0 "" "" -- \
    test "$(status) $(header Content-Type)" = "200 text/html; charset=utf-8"
heads "$URL/ui/nothing.js"
check "a file the console does not have: 404, not the page" 0 "" "" -- \
    test "$(status) $(jq -r .error.code "$TMP/body")" = "404 not_found"
heads -X POST "$URL/ui/app.js"
check "a method other than GET and HEAD: 405, Allow: GET, HEAD" 0 "" "" -- \
    test "$(status)|$(header Allow)" = "405|GET, HEAD"
heads -H "Authorization: Bearer sy_wrong" "$URL/ui/app.js"
check "a wrong token does not matter to the assets (they hold no data)" 0 "" "" -- test "$(status)" = 200

# The build without the npm registry: it fails, saying why (no binary without its console).
check "the assets' build without the npm registry fails, naming it" 1 "" "npm registry reachable" -- \
    env npm_config_cache="$TMP/npm-cache" npm_config_registry=http://127.0.0.1:9/ npm_config_fetch_retries=0 \
    sh "$ROOT/scripts/ui-build.sh" "$ROOT/ui" "$TMP/ui-node" "$TMP/ui.c" "$TMP/ui.txt"
check "... and writes no assets" 1 "" "" -- test -e "$TMP/ui.c"

# ---- demo data ----------------------------------------------------------------------------------
export SWITCHYARD_URL="$URL" SWITCHYARD_TOKEN="$ADMIN"
"$SY" experiment create "$ROOT/examples/experiment.json" >/dev/null
"$SY" experiment start checkout-button >/dev/null
# 6,000 units a variant, every 10th blue one and every 8th green one converting (run-demo.sh's)
awk 'BEGIN { for (i = 0; i < 12000; i++) { v = (i % 2) ? "green" : "blue"; n[v]++;
        printf "{\"type\":\"exposure\",\"unit\":\"u%d\",\"experiment\":\"checkout-button\",\"variant\":\"%s\",\"id\":\"x%d\"}\n", i, v, i;
        if ((v == "blue" && n[v] % 10 == 0) || (v == "green" && n[v] % 8 == 0))
            printf "{\"type\":\"outcome\",\"unit\":\"u%d\",\"experiment\":\"checkout-button\",\"success\":true,\"id\":\"o%d\"}\n", i, i } }' \
    >"$TMP/events1.jsonl"
# a winner that needs a person: 3,000 units a variant, 10 % against 15 %
req POST /v1/experiments "$ADMIN" '{"key":"pricing-page","description":"New pricing table (needs approval)","variants":[{"key":"old","weight":50,"control":true},{"key":"new","weight":50}],"metric":"conversion","safety":{"min_sample_per_variant":1000,"min_runtime_hours":0,"require_manual_approval":true}}' >/dev/null
req POST /v1/experiments/pricing-page/start "$ADMIN" >/dev/null
awk 'BEGIN { for (i = 0; i < 6000; i++) { v = (i % 2) ? "new" : "old"; n[v]++;
        printf "{\"type\":\"exposure\",\"unit\":\"p%d\",\"experiment\":\"pricing-page\",\"variant\":\"%s\",\"id\":\"px%d\"}\n", i, v, i;
        if ((v == "old" && n[v] % 10 == 0) || (v == "new" && n[v] % 20 < 3))
            printf "{\"type\":\"outcome\",\"unit\":\"p%d\",\"experiment\":\"pricing-page\",\"success\":true,\"id\":\"po%d\"}\n", i, i } }' \
    >"$TMP/events2.jsonl"
req POST /v1/experiments "$ADMIN" '{"key":"search-ranking","description":"A draft, not started","variants":[{"key":"bm25","weight":50,"control":true},{"key":"learned","weight":50}]}' >/dev/null
check "the demo's events are sent" 0 "" "" -- sh -c "'$SY' events send '$TMP/events1.jsonl' && '$SY' events send '$TMP/events2.jsonl'"
expect "pricing-page's results decide promote (it awaits approval)" 200 '.decision == "promote" and .winner == "new"' -- \
    GET /v1/experiments/pricing-page/results "$ADMIN"

# ---- in the browser -------------------------------------------------------------------------------
console_run console.js "$URL" "$ADMIN" "$VIEWER" "$BIG" "$OUT"
shots signin signin-error experiments experiment experiment-promoted experiment-viewer routes tripwires flags audit viewer experiments-1000

stop_server
check "the server stops cleanly" 0 "" "" -- test "${STOP_STATUS:-1}" = 0
tap_done
