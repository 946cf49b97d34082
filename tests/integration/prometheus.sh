#!/bin/sh
# prometheus.sh - a real Prometheus (Debian's) scrapes a real switchyard carrying
# experiments, a route with a plan, a route carrying traffic to two node upstreams (new
# answering 503 for a while), a tripwire with its KPI series and a kill switch
# (issue 23): every PromQL expression of both Grafana dashboards returns at least one series,
# every metric the alert rules name is scraped, and the kill-switch alert reaches "firing".
# Both servers on loopback, on free ports, stopped at the end.
#
#   prometheus.sh SWITCHYARD SOURCE_ROOT
set -u
SY=$1
ROOT=$2
. "$(dirname "$0")/tap.sh"

command -v prometheus >/dev/null || { echo "Bail out! prometheus is missing: run scripts/deps.sh"; exit 1; }
"$SY" workspace create default --db "$DB" >/dev/null
ADMIN=$("$SY" token create --db "$DB" --role admin --name alice)
SDK=$("$SY" token create --db "$DB" --role sdk --name app)
HERE=$(dirname "$0")
upstream legacy
upstream new 0 "$TMP/new.fail"
start_server "$SY" --quiet --proxy-workers 1 --metrics-listen 127.0.0.1:0 --metrics-refresh 1
MPORT=$(sed -n 's/.*metrics_listening.*port=\([0-9][0-9]*\).*/\1/p' "$TMP/log" | head -1)

# ---- something of everything ---------------------------------------------------------------
req POST /v1/experiments "$ADMIN" '{"key":"btn","variants":[{"key":"control","weight":50,"control":true},{"key":"green","weight":50}],"safety":{"sequential":true}}' >/dev/null
req POST /v1/experiments/btn/start "$ADMIN" >/dev/null
jq -nc '{events: ([range(400) as $i | {type: "exposure", unit: "u\($i)", experiment: "btn", variant: (if $i % 2 == 0 then "control" else "green" end)}] + [range(400) as $i | select($i % 3 == 0) | {type: "outcome", unit: "u\($i)", experiment: "btn", success: true}] + [range(400) as $i | select($i % 50 == 0) | {type: "error", unit: "u\($i)", experiment: "btn"}])}' >"$TMP/events.json"
expect "events of the experiment" 200 '.accepted > 400' -- POST /v1/events "$SDK" "$(cat "$TMP/events.json")"
# a fixed-horizon one with no minimum runtime: its planned sample is known at once (with a
# minimum runtime, only after six minutes of traffic)
req POST /v1/experiments "$ADMIN" '{"key":"plain","variants":[{"key":"control","weight":50,"control":true},{"key":"green","weight":50}],"safety":{"min_runtime_hours":0}}' >/dev/null
req POST /v1/experiments/plain/start "$ADMIN" >/dev/null
expect "... and of a fixed-horizon one" 200 '.accepted > 400' -- POST /v1/events "$SDK" "$(sed 's/"btn"/"plain"/g' "$TMP/events.json")"
req POST /v1/experiments "$ADMIN" '{"key":"other","variants":[{"key":"control","weight":50,"control":true},{"key":"b","weight":50}]}' >/dev/null
req POST /v1/experiments/other/start "$ADMIN" >/dev/null
UP="\"upstreams\":{\"legacy\":\"127.0.0.1:$(cat "$TMP/legacy.port")\",\"new\":\"127.0.0.1:$(cat "$TMP/new.port")\"}"
req POST /v1/routes "$ADMIN" "{\"name\":\"hooks\",\"listen\":\"127.0.0.1:$(free_port)\",$UP,\"plan\":{\"steps\":[10,50,100],\"hold_s\":60,\"min_requests\":20}}" >/dev/null
RPORT=$(free_port)
req POST /v1/routes "$ADMIN" "{\"name\":\"api\",\"listen\":\"127.0.0.1:$RPORT\",$UP,\"percentage\":50}" >/dev/null
req POST /v1/regression/policies "$ADMIN" '{"domain":"WHOLESALE","metric":"contract_rate","enabled":true,"changed_by":"ops","reason":"watch"}' >/dev/null
kpi() { jq -nc --argjson n "$1" "{events: [range(\$n) as \$i | {domain: \"WHOLESALE\", metric: \"contract_rate\", actor: \"app\", $2}]}"; }
req POST /v1/kpi "$SDK" "$(kpi 200 'success: ($i % 20 != 0)')" >/dev/null
req POST /v1/kpi "$SDK" "$(kpi 50 'success: ($i % 5 == 0)')" >/dev/null
expect "the tripwire trips" 200 '.evaluated[0].triggered == true' -- POST /v1/regression/evaluate "$ADMIN" '{"domain":"WHOLESALE","metric":"contract_rate"}'
for i in 1 2 3 4 5; do req POST /ofrep/v1/evaluate/flags/btn "$SDK" "{\"context\":{\"targetingKey\":\"u$i\"}}" >/dev/null; done
req POST /ofrep/v1/evaluate/flags "$SDK" '{"context":{}}' >/dev/null

# ---- Prometheus ------------------------------------------------------------------------------
PPORT=$(free_port)
cp "$ROOT/deploy/prometheus/alerts.yml" "$TMP/alerts.yml"
cat >"$TMP/prometheus.yml" <<CFG
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [alerts.yml]
scrape_configs:
  - job_name: switchyard
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
CFG
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom" \
    --web.listen-address="127.0.0.1:$PPORT" --log.level=warn >"$TMP/prom.log" 2>&1 &
PROM=$!
trap 'kill $PROM 2>/dev/null; stop_server; stop_upstreams; tap_exit' EXIT
P=http://127.0.0.1:$PPORT
query() { curl -s --get "$P/api/v1/query" --data-urlencode "query=$1"; }
k=0
until [ "$(query 'up{job="switchyard"}' | jq -r '.data.result[0].value[1] // empty' 2>/dev/null)" = 1 ] || [ $k -ge 150 ]; do sleep 0.2; k=$((k + 1)); done
check "Prometheus scrapes switchyard (up == 1)" 0 "" "" -- sh -c "test $k -lt 150"

# traffic through a route while Prometheus scrapes: each backend's rates, latencies, errors
# (new answering 503 for a while)
proxied() { # N: N requests through route api; how many were answered 200 or 503
    j=0
    while [ $j -lt "$1" ]; do
        curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$RPORT/x"
        j=$((j + 1))
    done | grep -c '^200$\|^503$'
}
k=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RPORT/x")" = 200 ] || [ $k -ge 50 ]; do sleep 0.1; k=$((k + 1)); done
check "traffic through route api: 30 requests answered" 0 "" "" -- test "$(proxied 30)" -eq 30
sleep 2
touch "$TMP/new.fail"
proxied 10 >/dev/null
sleep 2
proxied 30 >/dev/null
rm -f "$TMP/new.fail"

# changes over a minute for the annotations; a few scrapes for rate()
expect "a promotion" 200 '' -- POST /v1/experiments/other/promote "$ADMIN" '{"variant":"b"}'
expect "a rollback" 200 '' -- DELETE /v1/experiments/other/promote "$ADMIN" '{"reason":"drill"}'
expect "the kill switch engaged" 200 '' -- POST /v1/go-live/kill-switch "$ADMIN" '{"engaged":true,"reason":"drill"}'
sleep 6

# every family a scrape of all of the above exports is in docs/operations.md's table
curl -s "http://127.0.0.1:$MPORT/metrics" | sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' >"$TMP/families"
check "a scrape exports 40 families or more" 0 "" "" -- test "$(wc -l <"$TMP/families")" -ge 40
while IFS= read -r f; do
    check "$f is documented in operations.md's table" 0 "" "" -- sh -c \
        "grep '^| ' '$ROOT/docs/operations.md' | grep -q '\`$f\`\\|\`_${f##*_}\`'"
done <"$TMP/families"

for d in overview control; do
    jq -r '[.panels[].targets[]?.expr, .annotations.list[].expr] | .[]' "$ROOT/deploy/grafana/dashboards/switchyard-$d.json" |
        sed -e 's/\$workspace/.*/g; s/\$experiment/.*/g; s/\$route/.*/g' >"$TMP/$d.exprs"
    n_expr=$(wc -l <"$TMP/$d.exprs")
    while IFS= read -r e; do
        got=$(query "$e" | jq -r '.data.result | length' 2>/dev/null)
        check "$d: \`$e\` returns a series" 0 "" "" -- sh -c "echo '# $got series' >&2; test '${got:-0}' -ge 1"
    done <"$TMP/$d.exprs"
    check "$d: $n_expr expressions tried" 0 "" "" -- test "$n_expr" -ge 7
done
check "Prometheus holds each backend's traffic of route api" 0 "" "" -- sh -c "test \"\$(curl -s --get '$P/api/v1/query' --data-urlencode 'query=sum by (backend) (switchyard_proxy_requests_total{route=\"api\"}) > 0' | jq '.data.result | length')\" = 2"
check "... and new's error rate above 0 while it answered 503 (the dashboard's expression)" 0 "" "" -- sh -c "test \"\$(curl -s --get '$P/api/v1/query' --data-urlencode 'query=(sum by (backend) (rate(switchyard_proxy_requests_total{route=\"api\",status=~\"5xx|failed\"}[5m])) / sum by (backend) (rate(switchyard_proxy_requests_total{route=\"api\"}[5m]))) > 0' | jq -r '[.data.result[].metric.backend] | join(\",\")')\" = new"
for m in $(grep -o 'switchyard_[a-z_]*' "$ROOT/deploy/prometheus/alerts.yml" | sed 's/_bucket$//' | sort -u); do
    check "alerts: $m is scraped" 0 "" "" -- sh -c "test \"\$(curl -s --get '$P/api/v1/series' --data-urlencode 'match[]={__name__=~\"${m}(_bucket)?\"}' | jq '.data | length')\" -ge 1"
done
k=0
until [ "$(curl -s "$P/api/v1/alerts" | jq -r '[.data.alerts[] | select(.labels.alertname == "SwitchyardKillSwitchEngaged" and .state == "firing")] | length')" = 1 ] || [ $k -ge 100 ]; do sleep 0.2; k=$((k + 1)); done
check "the kill-switch alert fires" 0 "" "" -- sh -c "test $k -lt 100"
check "... and the tripwire's" 0 "" "" -- sh -c "curl -s '$P/api/v1/alerts' | jq -e '[.data.alerts[] | select(.labels.alertname == \"SwitchyardTripwireTriggered\")] | length == 1' >/dev/null"
kill $PROM 2>/dev/null
wait $PROM 2>/dev/null
trap tap_exit EXIT
stop_server
stop_upstreams
tap_done
