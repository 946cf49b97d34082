#!/bin/sh
# routes_series.sh - GET /v1/routes/{name}/series on a real server: counters told by
# /report (at the server's current minute) come back per upstream in the bucket of that
# minute, their histograms merged exactly (the bucket's quantiles are those of both reports
# together, as /stats?window= computes them over the same minute), the buckets aligned to
# multiples of the step and ending with the current minute, empty buckets null; every bad
# window or step is 400 naming it, a missing route 404, and a viewer may read it.
#
#   routes_series.sh SWITCHYARD
set -u
SY=$1
. "$(dirname "$0")/tap.sh"

ERR='.error.code != null and .error.message != null and .error.field != null'
"$SY" workspace create default --db "$DB" >/dev/null
ADMIN=$("$SY" token create --db "$DB" --role admin --name alice)
EDITOR=$("$SY" token create --db "$DB" --role editor --name ed)
VIEWER=$("$SY" token create --db "$DB" --role viewer --name val)
start_server "$SY" --quiet --proxy-workers 0
req POST /v1/routes "$ADMIN" '{"name":"hooks","listen":"127.0.0.1:9000","upstreams":{"legacy":"127.0.0.1:9101","new":"127.0.0.1:9102"}}' >/dev/null

expect "no counters yet: 60 one-minute buckets of an hour, every one empty" 200 \
    '.route == "hooks" and .window == "1h" and .step == "1m" and .step_s == 60 and .points == 60 and (.start_ms | length) == 60 and all(.upstreams[]; (.requests | add) == 0 and all(.p95_ms[]; . == null) and all(.error_rate[]; . == null))' -- \
    GET /v1/routes/hooks/series "$VIEWER"

# Both reports in one minute (the server's): wait out a minute's last seconds.
[ "$(date +%S | sed 's/^0//')" -lt 50 ] || sleep $((61 - $(date +%S | sed 's/^0//')))
A='{"domain":"","upstream":"new","requests":10,"errors":1,"total_ms":25.5,"hist":{"20":4,"30":6},"status":{"2xx":9,"5xx":1}}'
B='{"domain":"","upstream":"new","requests":10,"errors":0,"total_ms":90,"hist":{"50":10},"status":{"2xx":10}}'
L='{"domain":"","upstream":"legacy","requests":30,"errors":0,"total_ms":30,"hist":{"25":30},"status":{"2xx":30}}'
E='{"domain":"","upstream":"error","tried":"new","requests":2,"errors":2,"total_ms":1,"hist":{"5":2}}'
expect "a first report" 200 '.counters == 3' -- POST /v1/routes/hooks/report "$EDITOR" "{\"counters\":[$A,$L,$E]}"
expect "a second one" 200 '.counters == 1' -- POST /v1/routes/hooks/report "$EDITOR" "{\"counters\":[$B]}"
NOW_MS=$(($(date +%s) * 1000))
req GET "/v1/routes/hooks/stats?window=1h" "$VIEWER" >/dev/null
cp "$TMP/body" "$TMP/stats.json"
# the quantile rule (core/latency.h): the upper edge of the bucket holding the rank (as
# jansson writes it: 15 digits)
edge='def edge(b): ((1.1 | pow(.; b + 1)) - 1) / 1000; def near(x; y): (x - y | fabs) < 1e-12;'
expect "per upstream, in the one bucket of their minute: the counts, and the quantiles of both reports' latencies together" 200 \
    "$edge"' . as $s | [range(0; .points) | select($s.upstreams.new.requests[.] > 0)] as $i | ($i | length) == 1 and
     ($i[0] == .points - 1) and .upstreams.new.requests[$i[0]] == 20 and .upstreams.new.errors[$i[0]] == 1 and
     .upstreams.new.error_rate[$i[0]] == 0.05 and
     near(.upstreams.new.p50_ms[$i[0]]; edge(30)) and near(.upstreams.new.p95_ms[$i[0]]; edge(50)) and near(.upstreams.new.p99_ms[$i[0]]; edge(50)) and
     .upstreams.legacy.requests[$i[0]] == 30 and near(.upstreams.legacy.p50_ms[$i[0]]; edge(25)) and .upstreams.legacy.error_rate[$i[0]] == 0 and
     .upstreams.error.requests[$i[0]] == 2 and .upstreams.error.errors[$i[0]] == 2 and .upstreams.error.error_rate[$i[0]] == 1 and
     (.upstreams.new.p95_ms | map(select(. != null)) | length) == 1' -- \
    GET /v1/routes/hooks/series "$VIEWER"
cp "$TMP/body" "$TMP/series.json"
check_same() {
    if jq -e -n --slurpfile s "$TMP/stats.json" --slurpfile r "$TMP/series.json" \
        '($s[0].by[] | select(.upstream == "new")) as $n | ($r[0].upstreams.new) as $u | ($u.requests | index(20)) as $i |
         $n.requests == $u.requests[$i] and $n.errors == $u.errors[$i] and $n.p50_ms == $u.p50_ms[$i] and $n.p95_ms == $u.p95_ms[$i] and $n.p99_ms == $u.p99_ms[$i]' >/dev/null; then
        ok "the bucket says what /stats?window=1h says of the same minute"
    else
        jq -c . "$TMP/stats.json" >"$TMP/out"
        not_ok "the bucket says what /stats?window=1h says of the same minute"
    fi
}
check_same
expect "five-minute buckets: aligned to multiples of 5 minutes, 12 of them, the last holding now" 200 \
    ".points == 12 and .step_s == 300 and all(.start_ms[]; . % 300000 == 0) and ([.start_ms[1:][] ] == [.start_ms[:-1][] + 300000]) and .start_ms[-1] <= $NOW_MS and $NOW_MS < .start_ms[-1] + 300000 and (.upstreams.new.requests | add) == 20" -- \
    GET "/v1/routes/hooks/series?window=1h&step=5m" "$VIEWER"
expect "a step in seconds, a multiple of 60; a window not whole steps is rounded up to them" 200 \
    '.points == 3 and .step == "120" and .step_s == 120 and .window == "5m"' -- \
    GET "/v1/routes/hooks/series?window=5m&step=120" "$VIEWER"
expect "a week in 11-minute buckets: 917, under the 1,000 points" 200 '.points == 917 and (.upstreams.new.p95_ms | length) == 917' -- \
    GET "/v1/routes/hooks/series?window=7d&step=11m" "$VIEWER"

bad() { # NAME QUERY FIELD
    expect "$1: 400 naming $3" 400 "$ERR and .error.field == \"$3\"" -- GET "/v1/routes/hooks/series?$2" "$VIEWER"
}
bad "a step too small for the window (10,080 buckets)" "window=7d&step=1m" step
bad "a step of 30 seconds" "step=30" step
bad "a step of 90 seconds" "step=90s" step
bad "a step of zero" "step=0m" step
bad "a step longer than the window" "window=1h&step=2h" step
bad "a step that is not a duration" "step=five" step
bad "a window that is not a duration" "window=soon" window
bad "a window past a year" "window=400d" window
bad "an empty window" "window=" window
expect "the step's refusal says the least step that fits" 400 '.error.message | contains("at least 11m")' -- \
    GET "/v1/routes/hooks/series?window=7d&step=1m" "$VIEWER"
expect "an unknown parameter: 400 unknown_field" 400 "$ERR and .error.code == \"unknown_field\" and .error.field == \"steps\"" -- \
    GET "/v1/routes/hooks/series?steps=5m" "$VIEWER"
expect "no such route: 404" 404 "$ERR" -- GET /v1/routes/nope/series "$VIEWER"
expect "no token: 401" 401 "" -- GET /v1/routes/hooks/series ""
expect "POST: 405" 405 "$ERR" -- POST /v1/routes/hooks/series "$ADMIN" '{}'

tap_done
