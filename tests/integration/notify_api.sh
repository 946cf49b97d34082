#!/bin/sh
# notify_api.sh - notification channels on a real server: one of each type, the fields
# each type requires and refuses, levels and event filters, secrets stored but never
# shown (in answers, the audit trail or the log), roles and workspaces, delete, restart.
#
#   notify_api.sh SWITCHYARD
set -u
SY=$1
. "$(dirname "$0")/tap.sh"

ERR='.error.code != null and .error.message != null and .error.field != null'
"$SY" workspace create default --db "$DB" >/dev/null
"$SY" workspace create other --db "$DB" >/dev/null
ADMIN=$("$SY" token create --db "$DB" --role admin --name alice)
EDITOR=$("$SY" token create --db "$DB" --role editor --name ed)
VIEWER=$("$SY" token create --db "$DB" --role viewer --name val)
OTHER=$("$SY" token create --db "$DB" --workspace other --role admin --name mallory)
start_server "$SY"

SECRET=whsec-0123456789abcdef
KEY=R0UT1NGKEY-abcdef
PASS=smtp-pa55word
expect "a Slack channel: every level and event by default" 201 \
    '.id > 0 and .type == "slack" and .name == "slack" and .enabled == true and .url == "https://hooks.slack.test/…" and .levels == ["info","warning","critical"] and (.events | length) == 11 and .secrets_set == ["url"] and (tostring | contains("T1") | not)' -- \
    POST /v1/notifications/channels "$ADMIN" '{"type":"slack","url":"https://hooks.slack.test/T1"}'
expect "a signed webhook, critical only, two events" 201 \
    ".type == \"webhook\" and .name == \"ops hook\" and .levels == [\"critical\"] and .events == [\"rollback\",\"kill_switch\"] and .secrets_set == [\"secret\"] and (tostring | contains(\"$SECRET\") | not)" -- \
    POST /v1/notifications/channels "$ADMIN" "{\"type\":\"webhook\",\"name\":\"ops hook\",\"url\":\"http://127.0.0.1:9/hook\",\"secret\":\"$SECRET\",\"levels\":[\"critical\"],\"events\":[\"rollback\",\"kill_switch\"]}"
expect "PagerDuty: the default Events API v2 endpoint" 201 \
    ".url == \"https://events.pagerduty.com/v2/enqueue\" and .secrets_set == [\"routing_key\"] and (tostring | contains(\"$KEY\") | not)" -- \
    POST /v1/notifications/channels "$ADMIN" "{\"type\":\"pagerduty\",\"routing_key\":\"$KEY\",\"enabled\":false}"
expect "email over SMTP" 201 \
    ".to == \"oncall@example.test\" and .from == \"switchyard@example.test\" and .smtp_url == \"smtp://127.0.0.1:2525\" and .username == \"sy\" and .secrets_set == [\"password\"]" -- \
    POST /v1/notifications/channels "$ADMIN" "{\"type\":\"email\",\"to\":\"oncall@example.test\",\"from\":\"switchyard@example.test\",\"smtp_url\":\"smtp://127.0.0.1:2525\",\"username\":\"sy\",\"password\":\"$PASS\"}"

bad() { # NAME FIELD BODY
    expect "refused: $1" 400 "$ERR and .error.field == \"$2\"" -- POST /v1/notifications/channels "$ADMIN" "$3"
}
bad "an unknown type" type '{"type":"carrier-pigeon"}'
bad "Slack without a URL" url '{"type":"slack"}'
bad "a URL that is not http(s)" url '{"type":"slack","url":"ftp://x"}'
bad "a webhook without a secret" secret '{"type":"webhook","url":"http://127.0.0.1:9/"}'
bad "a short webhook secret" secret '{"type":"webhook","url":"http://127.0.0.1:9/","secret":"short"}'
bad "PagerDuty without a routing key" routing_key '{"type":"pagerduty"}'
bad "email without a recipient" to '{"type":"email","from":"a@b.c","smtp_url":"smtp://h:25"}'
bad "email to a bad address" to '{"type":"email","to":"nobody","from":"a@b.c","smtp_url":"smtp://h:25"}'
bad "email with an http SMTP URL" smtp_url '{"type":"email","to":"a@b.c","from":"a@b.c","smtp_url":"http://h"}'
bad "a field of another type" routing_key '{"type":"slack","url":"https://h/","routing_key":"k"}'
bad "an unknown level" levels '{"type":"slack","url":"https://h/","levels":["loud"]}'
bad "a level twice" levels '{"type":"slack","url":"https://h/","levels":["info","info"]}'
bad "no levels at all" levels '{"type":"slack","url":"https://h/","levels":[]}'
bad "an unknown event" events '{"type":"slack","url":"https://h/","events":["lunch"]}'
bad "enabled not a boolean" enabled '{"type":"slack","url":"https://h/","enabled":"yes"}'
expect "an editor may not add channels" 403 "$ERR" -- \
    POST /v1/notifications/channels "$EDITOR" '{"type":"slack","url":"https://h/"}'

expect "the list: four channels, no secret anywhere" 200 \
    "(.channels | length) == 4 and ([.channels[].type] == [\"slack\",\"webhook\",\"pagerduty\",\"email\"]) and (tostring | (contains(\"$SECRET\") or contains(\"$KEY\") or contains(\"$PASS\")) | not) and .channels[2].enabled == false" -- \
    GET /v1/notifications/channels "$VIEWER"
expect "the other workspace has none" 200 '.channels == []' -- GET /v1/notifications/channels "$OTHER"
expect "the audit trail has the channels, not their secrets" 200 \
    "([.events[] | select(.action == \"notification.channel.create\")] | length) == 4 and (tostring | (contains(\"$SECRET\") or contains(\"$KEY\") or contains(\"$PASS\")) | not)" -- \
    GET "/v1/audit?resource=channel:" "$ADMIN"
check "the log holds no secret" 1 "" "" -- grep -e "$SECRET" -e "$KEY" -e "$PASS" "$TMP/log"

req GET /v1/notifications/channels "$VIEWER" >/dev/null
ID=$(jq '.channels[0].id' "$TMP/body")
expect "another workspace cannot delete it" 404 "$ERR" -- DELETE "/v1/notifications/channels/$ID" "$OTHER"
expect "a viewer cannot either" 403 "$ERR" -- DELETE "/v1/notifications/channels/$ID" "$VIEWER"
expect "delete it" 200 ".deleted == true and .id == $ID" -- DELETE "/v1/notifications/channels/$ID" "$ADMIN"
expect "deleted twice: 404" 404 "$ERR" -- DELETE "/v1/notifications/channels/$ID" "$ADMIN"
expect "a bad id: 404" 404 "$ERR" -- DELETE /v1/notifications/channels/abc "$ADMIN"
expect "GET one channel: 405" 405 "$ERR" -- GET "/v1/notifications/channels/$ID" "$ADMIN"
expect "audited" 200 '[.events[].action] | index("notification.channel.delete") != null' -- \
    GET "/v1/audit?resource=channel:$ID" "$ADMIN"

stop_server
start_server "$SY" --quiet
expect "after a restart: three channels" 200 '[.channels[].type] == ["webhook","pagerduty","email"]' -- \
    GET /v1/notifications/channels "$VIEWER"
check "the database holds the secrets (for the sender)" 0 "$SECRET" "" -- \
    db_sql "SELECT secrets FROM notification_channels WHERE type = 'webhook'"
stop_server
tap_done
