#!/bin/sh
# deploy.sh - what deploy/ ships (issue 23): the systemd unit passes `systemd-analyze
# verify` and `systemd-analyze security` rates its exposure at most 2.0 ("OK"); every
# option its ExecStart passes exists; the alert rules load and pass their promtool unit
# tests, each with a runbook line; the example configuration starts a real server that
# serves and says where its metrics are.
#
#   deploy.sh SWITCHYARD SOURCE_ROOT
set -u
SY=$1
ROOT=$2
. "$(dirname "$0")/tap.sh"

command -v promtool >/dev/null || { echo "Bail out! promtool is missing: run scripts/deps.sh"; exit 1; }
command -v systemd-analyze >/dev/null || { echo "Bail out! systemd-analyze is missing: run scripts/deps.sh"; exit 1; }
UNIT=$ROOT/deploy/systemd/switchyard.service
# verify wants the ExecStart binary to exist: the one built here stands in for it
sed "s|/usr/local/bin/switchyard|$SY|" "$UNIT" >"$TMP/switchyard.service"
check "systemd-analyze verify: clean" 0 "" "" -- sh -c "systemd-analyze verify '$TMP/switchyard.service' 2>&1 | tee '$TMP/verify' >&2; test ! -s '$TMP/verify'"
systemd-analyze security --offline=true "$TMP/switchyard.service" >"$TMP/security" 2>&1
LEVEL=$(sed -n 's/.*Overall exposure level for switchyard.service: \([0-9.]*\).*/\1/p' "$TMP/security")
check "systemd-analyze security: exposure $LEVEL, at most 2.0" 0 "" "" -- sh -c "test -n '$LEVEL' && awk 'BEGIN { exit !($LEVEL <= 2.0) }'"
for directive in DynamicUser=yes StateDirectory=switchyard ProtectSystem=strict NoNewPrivileges=yes; do
    check "the unit sets $directive" 0 "" "" -- grep -qx "$directive" "$UNIT"
done
"$SY" serve --help >"$TMP/help"
for option in $(sed -n 's/^ExecStart=[^ ]* serve //p' "$UNIT" | grep -o -- '--[a-z-]*'); do
    check "ExecStart's $option is an option of serve" 0 "" "" -- grep -q -- "$option" "$TMP/help"
done

# the alert rules: valid, and each one's unit tests (fires on what should fire it, quiet
# on healthy series)
check "promtool check rules: the alert rules load" 0 "SUCCESS: 10 rules" "" -- promtool check rules "$ROOT/deploy/prometheus/alerts.yml"
check "promtool test rules: every alert fires when it should, and only then" 0 "SUCCESS" "" -- \
    sh -c "cd '$ROOT/deploy/prometheus' && promtool test rules alerts_test.yml"
for alert in $(sed -n 's/^ *- alert: //p' "$ROOT/deploy/prometheus/alerts.yml"); do
    check "$alert has a unit test and a runbook line" 0 "" "" -- sh -c \
        "grep -q 'alertname: $alert\$' '$ROOT/deploy/prometheus/alerts_test.yml' && grep -q '$alert' '$ROOT/docs/operations.md'"
done

# the Grafana dashboards: structure, and every expression parses as PromQL
G=$ROOT/deploy/grafana
DSUID=$(sed -n 's/^ *uid: *//p' "$G/provisioning/datasources/switchyard.yml")
for d in overview control; do
    f=$G/dashboards/switchyard-$d.json
    check "$d: unique panel ids" 0 "" "" -- jq -e '[.panels[].id] | length == (unique | length)' "$f"
    check "$d: no two panels overlap on the grid" 0 "" "" -- jq -e '[.panels[].gridPos] as $g | [range(0; $g | length) as $i | range($i + 1; $g | length) as $j | $g[$i] as $a | $g[$j] as $b | select($a.x < $b.x + $b.w and $b.x < $a.x + $a.w and $a.y < $b.y + $b.h and $b.y < $a.y + $a.h)] | length == 0' "$f"
    check "$d: every datasource is the provisioned one ($DSUID)" 0 "" "" -- jq -e --arg u "$DSUID" '[.. | objects | select(has("datasource")) | .datasource.uid] | all(. == $u)' "$f"
    check "$d: workspace, experiment and route variables" 0 "" "" -- jq -e '[.templating.list[].name] == ["workspace","experiment","route"]' "$f"
    jq -r '[.panels[].targets[]?.expr, .annotations.list[].expr, (.templating.list[].query.query | capture("label_values\\((?<e>.*), [a-z]+\\)").e)] | .[]' "$f" |
        sed -e 's/\$workspace/.*/g; s/\$experiment/.*/g; s/\$route/.*/g' |
        awk 'BEGIN { print "groups:\n  - name: parse\n    rules:" } { gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); printf "      - record: parse_%d\n        expr: \"%s\"\n", NR, $0 }' >"$TMP/$d-rules.yml"
    check "$d: every expression parses (promtool)" 0 "SUCCESS" "" -- promtool check rules "$TMP/$d-rules.yml"
done
check "overview: at least 12 panels" 0 "" "" -- jq -e '[.panels[] | select(.type != "row")] | length >= 12' "$G/dashboards/switchyard-overview.json"
check "overview: a Business Impact row" 0 "" "" -- jq -e '[.panels[] | select(.type == "row" and .title == "Business Impact")] | length == 1' "$G/dashboards/switchyard-overview.json"
check "overview: promotions and rollbacks as annotations" 0 "" "" -- jq -e '[.annotations.list[].name] == ["Promotions","Rollbacks"]' "$G/dashboards/switchyard-overview.json"
check "control: a Traffic Split stat" 0 "" "" -- jq -e '[.panels[] | select(.type == "stat" and .title == "Traffic Split")] | length == 1' "$G/dashboards/switchyard-control.json"
check "the dashboard provider points at a folder" 0 "" "" -- grep -q 'path: ' "$G/provisioning/dashboards/switchyard.yml"

# the example configuration, on free ports and a database of the test's own
sed -e 's/^listen = .*/listen = 127.0.0.1:0/' -e 's/^metrics-listen = .*/metrics-listen = 127.0.0.1:0/' \
    "$ROOT/deploy/switchyard.conf" >"$TMP/switchyard.conf"
start_server "$SY" --config "$TMP/switchyard.conf" --admin-token-file "$TMP/admin"
check "the example configuration serves" 0 "" "" -- sh -c "curl -s -f '$URL/readyz' >/dev/null"
check "... logs JSON" 0 "" "" -- sh -c "head -1 '$TMP/log' | jq -e '.event' >/dev/null"
MPORT=$(jq -r 'select(.event == "metrics_listening") | .port' "$TMP/log" 2>/dev/null | head -1)
check "... and serves its metrics without a token" 0 "" "" -- sh -c "curl -s -f 'http://127.0.0.1:$MPORT/metrics' | grep -q '^switchyard_build_info'"
stop_server
check "... and stops cleanly" 0 "" "" -- test "$STOP_STATUS" = 0
tap_done
