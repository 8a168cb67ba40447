#!/usr/bin/env bash
# The example CRM policy through the running proxy: each role sees what the
# README says; `custos explain` gives the same bytes as the proxy; national ids
# are encrypted before the CRM stores them and revealed only under break
# glass; a unique personal value never reaches the audit log or the error
# log; the audit log verifies after a clean stop.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

start_democrm
P=$(pick_port)
cat >"$TMP/custos.yaml" <<YAML
listen: [{address: 127.0.0.1:$P}]
workers: 2
upstreams:
  crm: {url: "http://127.0.0.1:$DEMO_PORT"}
routes:
  - {match: "GET|POST|PUT /api/customers/**", upstream: crm}
principals:
  - {name: rep-app, roles: [sales_rep], api_key_sha256: "$(sha256hex rep-key)"}
  - {name: manager-console, roles: [manager], api_key_sha256: "$(sha256hex mgr-key)"}
  - {name: bi, roles: [analyst], api_key_sha256: "$(sha256hex bi-key)"}
  - {name: sales-copilot, roles: [ai_assistant], api_key_sha256: "$(sha256hex ai-key)"}
  - {name: campaigns, roles: [marketing], api_key_sha256: "$(sha256hex mkt-key)"}
keys: {dir: keys, master_key_file: master.key}
audit: {dir: audit, fsync: batch, checkpoint_every: 1000}
policies: [$ROOT/policies/examples/crm.yaml]
quotas: {reveal_per_hour: {manager: 1}}
YAML
"$CUSTOS" keys init -c "$TMP/custos.yaml" >/dev/null || fail "keys init"
"$CUSTOS" check -c "$TMP/custos.yaml" >/dev/null || fail "check: $("$CUSTOS" check -c "$TMP/custos.yaml" 2>&1)"
start_custos "$TMP/custos.yaml"
U=http://127.0.0.1:$P

curl -sS "$DEMO_URL/api/customers" >"$TMP/direct.json"
email=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["customers"][0]["email"])' "$TMP/direct.json" 2>/dev/null ||
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d=d if isinstance(d,list) else next(v for v in d.values() if isinstance(v,list)); print(d[0]["email"])' "$TMP/direct.json")
[ -n "$email" ] || fail "no email in the demo data"

# Same bytes through the proxy and through explain, for every role.
for who in rep-app:rep-key manager-console:mgr-key bi:bi-key sales-copilot:ai-key; do
	name=${who%%:*}; key=${who##*:}
	curl -sS -H "Authorization: Bearer $key" "$U/api/customers" >"$TMP/proxy.$name"
	"$CUSTOS" explain -c "$TMP/custos.yaml" --route 'GET /api/customers' --principal "$name" \
		--decisions "$TMP/dec.$name" "$TMP/direct.json" >"$TMP/explain.$name" ||
		fail "explain failed for $name"
	cmp -s "$TMP/proxy.$name" "$TMP/explain.$name" || fail "proxy and explain differ for $name"
	ok "explain = proxy for $name"
done

# What each role sees.
assert_not_contains "$(cat "$TMP/proxy.rep-app")" "$email" "sales_rep: email masked"
assert_contains "$(cat "$TMP/proxy.rep-app")" '"id_number":"[REDACTED:national_id]"' "sales_rep: ids redacted"
assert_contains "$(cat "$TMP/proxy.rep-app")" '"card":"[REDACTED:card]"' "sales_rep: cards redacted"
assert_contains "$(cat "$TMP/proxy.manager-console")" "$email" "manager: sees contacts"
assert_contains "$(cat "$TMP/proxy.manager-console")" '••••••••••••"' "manager: ids masked"
assert_contains "$(cat "$TMP/proxy.bi")" '"email":"cus:v1:tok.' "analyst: emails tokenized"
# Tokenized values are stable, so joins work across requests.
curl -sS -H "Authorization: Bearer bi-key" "$U/api/customers" >"$TMP/proxy.bi2"
cmp -s "$TMP/proxy.bi" "$TMP/proxy.bi2" || fail "tokenize is not deterministic"
assert_not_contains "$(cat "$TMP/proxy.sales-copilot")" "$email" "ai_assistant: no email in clear"
assert_contains "$(cat "$TMP/proxy.sales-copilot")" '"card":"[REDACTED]"' "ai_assistant: redacted"
code=$(curl -sS -o "$TMP/mkt" -w '%{http_code}' -H "Authorization: Bearer mkt-key" "$U/api/customers")
assert_eq "$code" 403 "marketing: denied on national ids"
assert_contains "$(cat "$TMP/mkt")" "marketing-no-ids" "403 names the rule"

# Encrypted on the way in, revealed on the way out only under break glass.
uniq="zq$RANDOM$RANDOM@example.net"
idn=11010519491231002X
body="{\"name\":\"Wang Fang\",\"email\":\"$uniq\",\"id_number\":\"$idn\",\"card\":\"4111111111111111\"}"
curl -sS -D "$TMP/posth" -o "$TMP/post" -H "Authorization: Bearer rep-key" \
	-H 'Content-Type: application/json' -d "$body" "$U/api/customers" || fail "POST"
loc=$(tr -d '\r' <"$TMP/posth" | sed -n 's/^Location: //Ip' | head -1)
[ -n "$loc" ] || fail "no Location from the CRM: $(cat "$TMP/posth")"
stored=$(curl -sS "$DEMO_URL$loc")
assert_not_contains "$stored" "$idn" "the CRM never stored the id in clear"
assert_contains "$stored" '"id_number":"cus:v1:pii.' "the CRM stored the id encrypted"
assert_not_contains "$stored" "4111111111111111" "the CRM never stored the card in clear"
plain=$(curl -sS -H "Authorization: Bearer mgr-key" "$U$loc")
assert_not_contains "$plain" "$idn" "manager without justification: no id"
glass=$(curl -sS -H "Authorization: Bearer mgr-key" -H 'X-Custos-Justification: ticket 4711, customer call' "$U$loc")
assert_contains "$glass" "$idn" "manager with justification: break glass reveals the id"
# The manager role may reveal once an hour here: the second time is refused.
code=$(curl -sS -o "$TMP/q" -w '%{http_code}' -H "Authorization: Bearer mgr-key" \
	-H 'X-Custos-Justification: again' "$U$loc")
assert_eq "$code" 403 "reveal quota: the second break glass in the hour is refused"
assert_contains "$(cat "$TMP/q")" '"error":"quota_exceeded"' "403 names the quota"
assert_not_contains "$(cat "$TMP/q")" "$idn" "nothing revealed past the quota"
rep=$(curl -sS -H "Authorization: Bearer rep-key" -H 'X-Custos-Justification: please' "$U$loc")
assert_not_contains "$rep" "$idn" "sales_rep cannot break glass"

# Stop cleanly: a checkpoint signs the chain; the log verifies; no value in it.
stop_pid "$CUSTOS_PID" TERM
assert_eq "${STOP_STATUS:-0}" 0 "clean stop"
"$CUSTOS" keys export-public -c "$TMP/custos.yaml" >"$TMP/audit.pub"
"$CUSTOS" audit verify "$TMP/audit" --public-key "$TMP/audit.pub" >"$TMP/verify" 2>&1 ||
	fail "audit verify: $(cat "$TMP/verify")"
assert_contains "$(cat "$TMP/verify")" "intact" "audit log intact"
grep -rqF -e "$uniq" "$TMP/audit" "$CUSTOS_LOG" && fail "a personal value reached the audit or error log"
grep -rqF -e "$idn" "$TMP/audit" "$CUSTOS_LOG" && fail "a national id reached the audit or error log"
grep -q '"rule":"ids-encrypted-at-rest"' "$TMP/audit"/audit-*.jsonl || fail "request decisions not audited"
grep -q '"action":"reveal",[^}]*"break_glass":"used"' "$TMP/audit"/audit-*.jsonl ||
	fail "the break-glass reveal is not flagged in the audit log"
ok "the audit log flags the break-glass reveal"
grep -q '"type":"deny"' "$TMP/audit"/audit-*.jsonl || fail "denial not audited"
fp=$("$CUSTOS" audit fingerprint "$uniq" -c "$TMP/custos.yaml")
grep -qF -e "$fp" "$TMP/audit"/audit-*.jsonl || fail "the fingerprint of the value is not findable"
ok "fingerprint search finds the value's decisions"
echo ok
