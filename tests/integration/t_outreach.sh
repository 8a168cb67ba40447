#!/usr/bin/env bash
# Outreach governance (issue 9) through the real proxy: cooling-off limits at
# their edges with Retry-After and recovery after the window, normalised
# recipients, per-channel limits, exempt (human) callers, opt-out through the
# admin API and re-consent, the unsubscribe link custos hands the upstream
# (valid, tampered, expired), campaigns with several recipients (all or
# nothing), quiet hours across midnight in a fixed-offset zone (reload),
# concurrency across both workers, state kept across a restart, and audit
# records holding fingerprints, never addresses.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

start_democrm
P=$(pick_port)
A=$(pick_port)
cat >"$TMP/custos.yaml" <<YAML
listen: [{address: 127.0.0.1:$P}]
admin:
  address: 127.0.0.1:$A
  tokens:
    - {name: alice, roles: [reviewer], token_sha256: "$(sha256hex alice-token)"}
    - {name: audit-firm, roles: [auditor], token_sha256: "$(sha256hex audit-token)"}
workers: 2
upstreams:
  crm: {url: "http://127.0.0.1:$DEMO_PORT"}
routes:
  - {match: "GET|POST /api/messages", upstream: crm, non_json: pass}
  - {match: "POST /api/campaigns/*/send", upstream: crm}
principals:
  - {name: sales-bot, roles: [ai_assistant], api_key_sha256: "$(sha256hex bot-key)"}
  - {name: rep-app, roles: [sales_rep], api_key_sha256: "$(sha256hex rep-key)"}
keys: {dir: keys, master_key_file: master.key}
audit: {dir: audit, fsync: batch, checkpoint_every: 1000}
state_dir: state
policies: [policy.yaml]
YAML

# policy QUIET: writes the policy; QUIET is a quiet_hours line or empty
policy() {
	cat >"$TMP/policy.yaml" <<YAML
default: redact
classes:
  card: {level: secret, values: [payment_card]}
rules:
  - {id: cards-out, classes: [card], action: redact}
outreach:
  routes:
    - {match: "POST /api/messages", recipient: "\$.to", channel: "\$.channel"}
    - {match: "POST /api/campaigns/*/send", recipient: "\$.recipients[*]", channel: email}
  automated: {roles: [ai_assistant]}
  limits:
    - {id: burst, max: 2, window: 4s}
    - {id: sms-daily, max: 1, window: 24h, channel: sms}
    - {id: push-once, max: 1, window: 10m, channel: push}
  default_country: "+49"
  unsubscribe: {key: hash, ttl: 5s}
$1
YAML
}
policy ""
"$CUSTOS" keys init -c "$TMP/custos.yaml" >/dev/null || fail "keys init"
"$CUSTOS" check -c "$TMP/custos.yaml" >/dev/null 2>&1 ||
	fail "check: $("$CUSTOS" check -c "$TMP/custos.yaml" 2>&1)"
start_custos "$TMP/custos.yaml"
U=http://127.0.0.1:$P
ADM=http://127.0.0.1:$A

# send KEY BODY [PATH]: POSTs a message; sets CODE, BODY and RETRY
send() {
	CODE=$(curl -sS -o "$TMP/send.out" -D "$TMP/send.h" -w '%{http_code}' \
		-H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
		--data-binary "$2" "$U${3:-/api/messages}") || fail "curl send"
	BODY=$(cat "$TMP/send.out")
	RETRY=$(tr -d '\r' <"$TMP/send.h" | sed -n 's/^Retry-After: //Ip')
}
# adm METHOD PATH TOKEN [BODY]: sets CODE and BODY from the admin API
adm() {
	local args=(-sS -o "$TMP/adm.out" -w '%{http_code}' -X "$1")
	[ -n "$3" ] && args+=(-H "Authorization: Bearer $3")
	[ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	CODE=$(curl "${args[@]}" "$ADM$2")
	BODY=$(cat "$TMP/adm.out")
}
received() {
	curl -sS "$DEMO_URL/api/messages" | python3 -c 'import json,sys; print(json.load(sys.stdin)["received"])'
}

# ---- limits at their edges: 2 per 4 s
base=$(received)
send bot-key '{"to": "anna@example.com", "text": "hello"}'
assert_eq "$CODE" 202 "1st message to a recipient passes"
send bot-key '{"to": "ANNA@Example.com ", "text": "hello again"}'
assert_eq "$CODE" 202 "2nd (same person, other spelling) passes"
send bot-key '{"to": "anna@example.com", "text": "and again"}'
assert_eq "$CODE" 429 "3rd within the window is refused"
assert_contains "$BODY" '"error":"too_many_messages"' "the error names the refusal"
assert_contains "$BODY" "'burst'" "the reason names the limit"
assert_not_contains "$BODY" "anna@example.com" "the reason holds no address"
case "$RETRY" in
[1234]) ok "Retry-After $RETRY s (window 4 s)" ;;
*) fail "Retry-After: [$RETRY]" ;;
esac
WAIT=$RETRY
assert_eq "$(received)" $((base + 2)) "the refused message never reached the upstream"
RID=$(tr -d '\r' <"$TMP/send.h" | sed -n 's/^X-Request-Id: //Ip')
for ((i = 0; i < 100; i++)); do
	adm GET "/v1/decisions/$RID.0" alice-token
	[ "$CODE" = 200 ] && break
	sleep 0.05
done
assert_eq "$CODE" 200 "the refusal is a decision a reviewer can look up"
assert_contains "$BODY" "already had as many messages as limit burst allows" "explained in words"
assert_contains "$BODY" "Nothing reached the upstream" "and says nothing went out"
send rep-key '{"to": "anna@example.com", "text": "a human writes"}'
assert_eq "$CODE" 202 "a human sales rep is exempt"
sleep "$WAIT"
send bot-key '{"to": "anna@example.com", "text": "later"}'
assert_eq "$CODE" 202 "allowed again once the window has passed"

# ---- per channel: 1 SMS a day; other channels still count only the burst
send bot-key '{"to": "+49 30 1234-567", "channel": "sms", "text": "x"}'
assert_eq "$CODE" 202 "first SMS passes"
send bot-key '{"to": "030 1234567", "channel": "sms", "text": "x"}'
assert_eq "$CODE" 429 "second SMS to the same number (national form) is refused"
assert_contains "$BODY" "'sms-daily'" "named: sms-daily"
send bot-key '{"to": "+49 30 1234-567", "channel": " SMS ", "text": "x"}'
assert_eq "$CODE" 429 "the channel ' SMS ' is sms"
send bot-key '{"to": "zoe@example.com", "channel": "email", "channel": "sms"}'
assert_eq "$CODE" 400 "two channels in one message are refused, not guessed"
send bot-key '{"to": "0049301234567", "channel": "email", "text": "x"}'
assert_eq "$CODE" 202 "the same person on another channel passes"

# ---- bad messages fail closed
send bot-key '{"text": "no recipient"}'
assert_eq "$CODE" 400 "a message without a recipient is refused"
assert_contains "$BODY" '$.to' "the reason names the recipient path"
send bot-key '{"to": "   ", "text": "x"}'
assert_eq "$CODE" 400 "a blank recipient is refused"
send bot-key '{"to": "x@example.com", '
assert_eq "$CODE" 400 "malformed JSON is refused"
base=$(received)
send bot-key '{"to": "ok@example.com", "to": ["other@example.com"], "text": "x"}'
assert_eq "$CODE" 400 "a second recipient hidden in an array under a duplicated key is refused"
send bot-key '{"to": "ok@example.com", "channel": {"kind": "sms"}, "text": "x"}'
assert_eq "$CODE" 400 "a channel that is an object is refused"
assert_eq "$(received)" "$base" "neither reached the upstream"
base=$(received)
CODE=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer bot-key" \
	-H 'Content-Type: text/plain' --data-binary 'to: x@example.com' "$U/api/messages")
assert_eq "$CODE" 415 "a bot's non-JSON message is refused though the route passes non-JSON"
CODE=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer bot-key" \
	-X POST "$U/api/messages")
assert_eq "$CODE" 400 "so is an empty one"
assert_eq "$(received)" "$base" "neither reached the upstream"
CODE=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer rep-key" \
	-H 'Content-Type: text/plain' --data-binary 'hello' "$U/api/messages")
assert_eq "$CODE" 202 "a person's plain-text message passes (the route allows it)"

# ---- campaigns: all or nothing
send bot-key '{"recipients": ["carl@example.com", "dora@example.com"]}' /api/campaigns/7/send
assert_eq "$CODE" 202 "a campaign to two fresh recipients passes"
send bot-key '{"recipients": ["eve@example.com", "carl@example.com"]}' /api/campaigns/7/send
assert_eq "$CODE" 202 "carl's second message passes (2 per 4 s)"
send bot-key '{"recipients": ["fred@example.com", "carl@example.com"]}' /api/campaigns/7/send
assert_eq "$CODE" 429 "carl's third refuses the whole campaign"
send bot-key '{"to": "fred@example.com"}'
send bot-key '{"to": "fred@example.com"}'
assert_eq "$CODE" 202 "fred was not counted for the refused campaign"
base=$(received)
send bot-key "$(python3 -c 'import json; print(json.dumps({"recipients": ["bulk%d@example.com" % i for i in range(1001)]}))')" /api/campaigns/8/send
assert_eq "$CODE" 400 "a campaign to 1,001 recipients is refused"
assert_contains "$BODY" "at most 1000 recipients" "the reason names the cap"
assert_eq "$(received)" "$base" "and it did not reach the upstream"

# ---- opt-out through the admin API, then a recorded re-consent
adm POST /v1/optouts alice-token '{"recipient": "Berta@Example.com", "reason": "asked by phone"}'
assert_eq "$CODE" 201 "opt-out recorded"
FP_B=$(printf %s "$BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
[ ${#FP_B} -eq 22 ] || fail "fingerprint: $BODY"
adm POST /v1/optouts alice-token '{"recipient": "berta@example.com"}'
assert_eq "$CODE" 200 "a second opt-out of the same person is not a new one"
adm POST /v1/optouts audit-token '{"recipient": "berta@example.com"}'
assert_eq "$CODE" 403 "an auditor cannot record opt-outs"
adm POST /v1/optouts "" '{"recipient": "berta@example.com"}'
assert_eq "$CODE" 401 "no token, no opt-out"
adm POST /v1/optouts alice-token '{"recipient": "berta@example.com", "fingerprint": "x"}'
assert_eq "$CODE" 400 "recipient or fingerprint, not both"
base=$(received)
send bot-key '{"to": "berta@example.com", "text": "offer"}'
assert_eq "$CODE" 451 "an opted-out recipient is refused with 451"
assert_contains "$BODY" '"error":"opted_out"' "error opted_out"
assert_contains "$BODY" "$FP_B" "the reason names the fingerprint"
assert_eq "$(received)" "$base" "nothing reached the upstream"
adm GET /v1/optouts audit-token
assert_eq "$CODE" 200 "an auditor lists opt-outs"
assert_contains "$BODY" "\"fingerprint\":\"$FP_B\"" "listed by fingerprint"
assert_not_contains "$BODY" "berta" "never by address"
adm GET "/v1/optouts?recipient=berta%40example.com" alice-token
assert_contains "$BODY" '"count":1' "look-up by address"
adm DELETE "/v1/optouts/$FP_B" alice-token
assert_eq "$CODE" 400 "a re-consent needs a reason"
adm DELETE "/v1/optouts/$FP_B" alice-token '{"reason": "she wrote from berta@example.com"}'
assert_eq "$CODE" 400 "a reason holding an address is refused (it would reach the log)"
assert_contains "$BODY" "personal data (email)" "the refusal names what was found"
adm DELETE "/v1/optouts/$FP_B" alice-token '{"reason": "re-subscribed on the web form, 2026-11-27"}'
assert_eq "$CODE" 200 "re-consent recorded"
adm DELETE "/v1/optouts/$FP_B" alice-token '{"reason": "again"}'
assert_eq "$CODE" 404 "no opt-out left to remove"
send bot-key '{"to": "berta@example.com", "text": "offer"}'
assert_eq "$CODE" 202 "after re-consent messages pass"

# ---- the unsubscribe link custos gives the upstream
send bot-key '{"to": "gina@example.com", "text": "news"}'
assert_eq "$CODE" 202 "message to gina"
LINK=$(printf %s "$BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["unsubscribe"] or "")')
assert_contains "$LINK" "/unsubscribe?token=" "the upstream got an unsubscribe link"
send bot-key '{"to": "hugo@example.com", "text": "news"}'
LINK_H=$(printf %s "$BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["unsubscribe"] or "")')
TOK=${LINK#*token=}
BAD=$(printf %s "$TOK" | python3 -c 'import sys; t=sys.stdin.read(); i=5; print(t[:i]+("A" if t[i]!="A" else "B")+t[i+1:])')
CODE=$(curl -sS -o "$TMP/u.out" -w '%{http_code}' "$U/unsubscribe?token=$BAD")
assert_eq "$CODE" 400 "a tampered token is refused"
assert_contains "$(cat "$TMP/u.out")" '"error":"invalid_token"' "error invalid_token"
CODE=$(curl -sS -o "$TMP/u.out" -w '%{http_code}' "$U/unsubscribe")
assert_eq "$CODE" 400 "no token, no opt-out"
CODE=$(curl -sS -o "$TMP/u.out" -w '%{http_code}' -H 'Accept: text/html' "$U$LINK")
assert_eq "$CODE" 200 "the link opts out without any credential"
assert_contains "$(cat "$TMP/u.out")" "no more automated messages" "a page for a person"
CODE=$(curl -sS -o "$TMP/u.out" -w '%{http_code}' -X POST --data 'List-Unsubscribe=One-Click' "$U$LINK")
assert_eq "$CODE" 200 "one-click POST (RFC 8058) works too"
assert_contains "$(cat "$TMP/u.out")" '"already":true' "and is idempotent"
send bot-key '{"to": "gina@example.com", "text": "more news"}'
assert_eq "$CODE" 451 "after unsubscribing, gina gets no more"
CODE=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer bot-key" "$U/unsubscribe/x")
assert_eq "$CODE" 404 "only the exact path is the link"

# ---- concurrency: 16 parallel pushes to one person across 2 workers
base=$(received)
PAR=()
for i in $(seq 1 16); do
	curl -sS -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer bot-key" \
		-H 'Content-Type: application/json' \
		--data-binary '{"to": "ivan@example.com", "channel": "push"}' \
		"$U/api/messages" >>"$TMP/par.codes" &
	PAR+=($!)
done
wait "${PAR[@]}"
assert_eq "$(grep -c '^202$' "$TMP/par.codes")" 1 "exactly one of 16 concurrent pushes passes (limit 1)"
assert_eq "$(grep -c '^429$' "$TMP/par.codes")" 15 "the other 15 are refused"
assert_eq "$(received)" $((base + 1)) "the upstream got one"

# ---- an expired link (ttl 5 s)
sleep 5
CODE=$(curl -sS -o "$TMP/u.out" -w '%{http_code}' "$U$LINK_H")
assert_eq "$CODE" 400 "an expired link is refused"
assert_contains "$(cat "$TMP/u.out")" "expired" "the reason says expired"

# ---- state survives a restart
stop_pid "$CUSTOS_PID"
assert_eq "$STOP_STATUS" 0 "custos stops cleanly"
start_custos "$TMP/custos.yaml"
send bot-key '{"to": "gina@example.com"}'
assert_eq "$CODE" 451 "the opt-out survives a restart"
send bot-key '{"to": "+49301234567", "channel": "sms"}'
assert_eq "$CODE" 429 "the SMS counter survives a restart"
send bot-key '{"to": "ivan@example.com", "channel": "push"}'
assert_eq "$CODE" 429 "the push counter survives a restart"

# ---- a rotation of the fingerprint key keeps every opt-out
stop_pid "$CUSTOS_PID"
"$CUSTOS" keys rotate fingerprint -c "$TMP/custos.yaml" >/dev/null || fail "keys rotate"
start_custos "$TMP/custos.yaml"
send bot-key '{"to": "gina@example.com"}'
assert_eq "$CODE" 451 "the opt-out holds after the fingerprint key rotated"
adm GET "/v1/optouts?recipient=gina%40example.com" alice-token
assert_contains "$BODY" '"count":1' "and is found by address"

# ---- quiet hours across midnight in a zone where it is now 23:30 (reload)
OFF=$(python3 -c '
import time
now = time.gmtime()
m = (23 * 60 + 30) - (now.tm_hour * 60 + now.tm_min)
m = (m + 720) % 1440 - 720
print("%s%02d:%02d" % ("-" if m < 0 else "+", abs(m) // 60, abs(m) % 60))')
policy "  quiet_hours: {from: \"22:00\", to: \"06:00\", timezone: \"$OFF\"}"
kill -HUP "$CUSTOS_PID"
for ((i = 0; i < 100; i++)); do
	grep -q "reloaded" "$CUSTOS_LOG" && break
	sleep 0.05
done
grep -q "reloaded" "$CUSTOS_LOG" || fail "no reload: $(tail -5 "$CUSTOS_LOG")"
send bot-key '{"to": "jan@example.com"}'
assert_eq "$CODE" 429 "inside quiet hours (23:30 in $OFF) a bot is refused"
assert_contains "$BODY" '"error":"quiet_hours"' "error quiet_hours"
if [ -n "$RETRY" ] && [ "$RETRY" -gt 20000 ] && [ "$RETRY" -le 23400 ]; then
	ok "Retry-After $RETRY s: until 06:00 local"
else
	fail "Retry-After [$RETRY], expected about 6.5 h"
fi
send rep-key '{"to": "jan@example.com"}'
assert_eq "$CODE" 202 "a human may still write"

# ---- the audit log: every verdict recorded, no address anywhere
adm GET /metrics audit-token
assert_contains "$BODY" 'custos_outreach_total{verdict="opted_out"}' "metrics count verdicts"
assert_contains "$BODY" 'custos_outreach_journal_errors_total 0' "the journal has had no write error"
assert_contains "$BODY" 'custos_outreach_full_total 0' "and no message was refused for a full state"
assert_contains "$BODY" 'custos_optouts 1' "one opt-out left (gina)"
stop_pid "$CUSTOS_PID"
for a in anna@example.com berta carl@example.com gina@example.com 1234567; do
	if grep -rqi -e "$a" "$TMP/audit" "$TMP/state"; then
		fail "$a found in the audit log or state"
	fi
done
ok "no address in the audit log or the state dir"
python3 - "$TMP"/audit/audit-*.jsonl <<'PY' || fail "audit records"
import json, sys
seen = {}
for f in sys.argv[1:]:
    for line in open(f):
        r = json.loads(line)
        if r.get("type") != "outreach":
            continue
        d = r["decisions"][0]
        seen.setdefault((d["action"], d["rule"], r.get("status")), 0)
        seen[(d["action"], d["rule"], r.get("status"))] += 1
        assert d["class"] == "recipient", d
        assert all(len(x) == 22 for x in d["fingerprints"]), d
want = [("refuse", "burst", 429), ("refuse", "sms-daily", 429),
        ("refuse", "opt-out", 451), ("refuse", "quiet-hours", 429),
        ("optout", "opt-out", 200), ("optout", "opt-out", None),
        ("consent", "opt-out", None)]
missing = [w for w in want if w not in seen]
assert not missing, (missing, sorted(seen))
assert any(k[0] == "allow" for k in seen), seen
PY
ok "audit: allowed, refused (limit, channel, opt-out, quiet hours), opt-out and re-consent records"
"$CUSTOS" audit verify "$TMP/audit" >/dev/null 2>&1 || fail "audit verify: $("$CUSTOS" audit verify "$TMP/audit" 2>&1 | tail -3)"
ok "the audit chain verifies"
