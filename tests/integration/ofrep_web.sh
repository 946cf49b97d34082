#!/bin/sh
# ofrep_web.sh - OFREP from a web page on another origin. The real OpenFeature web SDK
# (@openfeature/web-sdk with @openfeature/ofrep-web-provider, pinned, installed from npm
# into NODE_DIR, a folder this test owns) runs as a page on http://app.test:3000 against a
# `switchyard serve --cors-origins http://app.test:3000` (ofrep_web.js): under a fetch that
# keeps a browser's CORS rules it evaluates flags, follows the advertised SSE stream, and
# gets a change made over the API within 10 s; from an origin not on the list it gets
# nothing. Then, on the wire: no CORS headers for other origins nor without --cors-origins,
# a preflight refused with 403, and the stream URL from X-Forwarded-* and --public-url.
#
# What is shimmed, because node 20 is not a browser (details atop ofrep_web.js):
# globalThis.fetch, wrapped to add Origin, send preflights, refuse answers without a
# matching Access-Control-Allow-Origin and hide unexposed headers, as a browser would;
# globalThis.EventSource, which node 20 lacks, from the `eventsource` package (the WHATWG
# EventSource over that fetch); and the provider's localStorage cache is off (cacheMode
# 'disabled': node has no localStorage).
#
#   ofrep_web.sh SWITCHYARD NODE_DIR DATA_DIR
set -u
SY=$1
NODE_DIR=$2
DATA=$3
. "$(dirname "$0")/tap.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
FLAGS=$DATA/flags/sdk.json
APP=http://app.test:3000
OTHER=http://evil.test:3000

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "not ok 1 - node and npm are needed (scripts/deps.sh installs them)"
    echo "1..1"
    exit 1
fi
# Every package pinned, the SDK's own dependencies too; installed again when this changes.
PINS="@openfeature/web-sdk@1.10.0 @openfeature/core@1.12.0 @openfeature/ofrep-web-provider@0.4.3
@openfeature/ofrep-core@2.3.0 eventsource@4.1.1 eventsource-parser@3.1.1"
if [ "$(cat "$NODE_DIR/pins" 2>/dev/null)" != "$PINS" ]; then
    mkdir -p "$NODE_DIR"
    [ -f "$NODE_DIR/package.json" ] || echo '{"private": true}' >"$NODE_DIR/package.json"
    # shellcheck disable=SC2086 # one word per package
    if ! (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent $PINS >"$TMP/npm.log" 2>&1)
    then
        echo "not ok 1 - npm installs the web SDK"
        sed 's/^/# /' "$TMP/npm.log" | tail -20
        echo "1..1"
        exit 1
    fi
    echo "$PINS" >"$NODE_DIR/pins"
fi

start_server "$SY" --admin-token-file "$TMP/admin" --seed-flags "$FLAGS" --quiet \
    --cors-origins "$APP"
TOKEN=$(cat "$TMP/admin")
# an sdk-role token, as the page would hold
SDK=$(curl -s -X POST -H "Authorization: Bearer $TOKEN" -d '{"role":"sdk","name":"web-app"}' \
    "$URL/v1/tokens" | jq -r .token)

tap_from ofrep_web.js env NODE_PATH="$NODE_DIR/node_modules" \
    node "$HERE/ofrep_web.js" "$URL" "$SDK" "$TOKEN" "$APP" "$OTHER"

# answer METHOD PATH [CURL ARGS...]: the answer's head (status line and headers) on stdout.
answer() {
    m=$1 p=$2
    shift 2
    curl -s -o /dev/null -D - -X "$m" "$@" "$URL$p" | tr -d '\r'
}
# has LINE...: $TMP/h (an answer's head, printed) has a line matching each (grep -x).
has() {
    cat "$TMP/h"
    for l in "$@"; do grep -qx -- "$l" "$TMP/h" || return 1; done
}
# no_cors STATUS: $TMP/h (printed) is a STATUS answer without any Access-Control-* header.
no_cors() {
    cat "$TMP/h"
    grep -q "^HTTP/1.1 $1 " "$TMP/h" && ! grep -qi '^access-control-' "$TMP/h"
}
# stream [CURL ARGS...]: the stream URL the bulk answer advertises.
# shellcheck disable=SC2120 # the arguments come through check
stream() {
    curl -s -X POST -H "$SDKH" -H "$JSONH" -d "$BULK" "$@" "$URL/ofrep/v1/evaluate/flags" |
        jq -r '.eventStreams[0].url'
}
# stream_key: the stream's key, the last segment of that URL.
# shellcheck disable=SC2119 # no curl arguments here
stream_key() { stream | sed 's,.*/,,'; }
BULK='{"context":{}}'
SDKH="Authorization: Bearer $SDK"
JSONH='Content-Type: application/json'
PRE='Access-Control-Request-Method: POST'

answer POST /ofrep/v1/evaluate/flags -H "$SDKH" -H "$JSONH" -H "Origin: $APP" -d "$BULK" >"$TMP/h"
check "an allowed origin: Allow-Origin, Vary and Expose-Headers on the bulk answer" 0 "" "" -- \
    has "Access-Control-Allow-Origin: $APP" 'Vary: Origin' \
    'Access-Control-Expose-Headers: ETag, Retry-After'
answer POST /ofrep/v1/evaluate/flags -H "$SDKH" -H "$JSONH" -H "Origin: $OTHER" -d "$BULK" >"$TMP/h"
check "another origin's bulk evaluation is answered (200) with no Access-Control-* header" 0 \
    "" "" -- no_cors 200
answer OPTIONS /ofrep/v1/evaluate/flags -H "Origin: $OTHER" -H "$PRE" \
    -H 'Access-Control-Request-Headers: authorization,content-type' >"$TMP/h"
check "another origin's preflight: 403, no Access-Control-* header" 0 "" "" -- no_cors 403
answer GET "/ofrep/v1/events/$(stream_key)" -m 1 -H "Origin: $OTHER" >"$TMP/h"
check "another origin's stream: 200, no Access-Control-* header" 0 "" "" -- no_cors 200
answer OPTIONS /v1/flags/bool-flag -H "Origin: $APP" -H 'Access-Control-Request-Method: PUT' \
    -H 'Access-Control-Request-Headers: authorization,content-type' >"$TMP/h"
check "an allowed origin's preflight for the API: 204 without a token, PUT and its headers" 0 \
    "" "" -- has 'HTTP/1.1 204 .*' "Access-Control-Allow-Origin: $APP" \
    'Access-Control-Allow-Methods: .*PUT.*' \
    'Access-Control-Allow-Headers: .*Authorization.*' \
    'Access-Control-Allow-Headers: .*Content-Type.*' \
    'Access-Control-Max-Age: [1-9][0-9]*'

# The stream URL: from Host, https behind a TLS terminator, the forwarded host.
check "the stream URL follows Host: http://127.0.0.1:PORT/ofrep/v1/events/KEY" 0 \
    "^http://127\.0\.0\.1:$PORT/ofrep/v1/events/[0-9a-f-]+\$" "" -- stream
check "X-Forwarded-Proto: https makes it https://" 0 \
    "^https://127\.0\.0\.1:$PORT/ofrep/v1/events/[0-9a-f-]+\$" "" -- \
    stream -H 'X-Forwarded-Proto: https'
check "X-Forwarded-Host and -Proto name the proxy's address" 0 \
    "^https://flags\.internal:8443/ofrep/v1/events/[0-9a-f-]+\$" "" -- \
    stream -H 'X-Forwarded-Proto: https' -H 'X-Forwarded-Host: flags.internal:8443'
check "X-Forwarded-Proto: http keeps http://" 0 "^http://127\.0\.0\.1:$PORT/" "" -- \
    stream -H 'X-Forwarded-Proto: http'
check "behind a chain of proxies the first of each list counts: https://pub.example.com/..." 0 \
    "^https://pub\.example\.com/ofrep/v1/events/[0-9a-f-]+\$" "" -- \
    stream -H 'X-Forwarded-Proto: https, http' -H 'X-Forwarded-Host: pub.example.com, 10.0.0.7:8080'
stop_server

# The engine's loop alone (--workers 0) gives the same CORS answers, and --public-url wins
# over the request's headers.
start_server "$SY" --admin-token-file "$TMP/admin" --quiet --workers 0 --cors-origins "$APP" \
    --public-url https://flags.example.com/
SDKH="Authorization: Bearer $(cat "$TMP/admin")"
check "--public-url https://flags.example.com/: https://flags.example.com/ofrep/v1/events/KEY" \
    0 "^https://flags\.example\.com/ofrep/v1/events/[0-9a-f-]+\$" "" -- \
    stream -H 'X-Forwarded-Proto: http' -H 'X-Forwarded-Host: elsewhere.test'
answer GET "/ofrep/v1/events/$(stream_key)" -m 1 -H "Origin: $APP" >"$TMP/h"
check "that URL's path is this server's stream, open to the allowed origin" 0 "" "" -- \
    has 'HTTP/1.1 200 .*' 'Content-Type: text/event-stream' "Access-Control-Allow-Origin: $APP"
answer OPTIONS /ofrep/v1/evaluate/flags -H "Origin: $APP" -H "$PRE" >"$TMP/h"
check "--workers 0: an allowed origin's preflight is 204 with Allow-Origin" 0 "" "" -- \
    has 'HTTP/1.1 204 .*' "Access-Control-Allow-Origin: $APP"
answer POST /ofrep/v1/evaluate/flags -H "$SDKH" -H "$JSONH" -H "Origin: $APP" -d "$BULK" >"$TMP/h"
check "--workers 0: an allowed origin's bulk answer has Allow-Origin and exposes ETag" 0 "" "" -- \
    has 'HTTP/1.1 200 .*' "Access-Control-Allow-Origin: $APP" \
    'Access-Control-Expose-Headers: ETag, Retry-After'
answer POST /ofrep/v1/evaluate/flags -H "$SDKH" -H "$JSONH" -H "Origin: $OTHER" -d "$BULK" >"$TMP/h"
check "--workers 0: another origin gets no Access-Control-* header" 0 "" "" -- no_cors 200
stop_server

# Without --cors-origins no origin is let in.
start_server "$SY" --admin-token-file "$TMP/admin" --quiet
SDKH="Authorization: Bearer $(cat "$TMP/admin")"
answer POST /ofrep/v1/evaluate/flags -H "$SDKH" -H "$JSONH" -H "Origin: $APP" -d "$BULK" >"$TMP/h"
check "no --cors-origins: OFREP answers $APP with no Access-Control-* header" 0 "" "" -- no_cors 200
answer GET /v1/flags -H "$SDKH" -H "Origin: $APP" >"$TMP/h"
check "no --cors-origins: nor does the API" 0 "" "" -- no_cors 200
answer GET "/ofrep/v1/events/$(stream_key)" -m 1 -H "Origin: $APP" >"$TMP/h"
check "no --cors-origins: nor the event stream" 0 "" "" -- no_cors 200
answer OPTIONS /ofrep/v1/evaluate/flags -H "Origin: $APP" -H "$PRE" >"$TMP/h"
check "no --cors-origins: the preflight is 403, no Access-Control-* header" 0 "" "" -- no_cors 403
tap_done
