#!/usr/bin/env bash
# Human overrides through the admin API and `custos override`: a decision is
# explained in words; an override made from it changes the next response on
# every worker and the decision names it; tokens and roles are checked; an
# override expires, is revoked, survives a restart; creations and
# revocations are audit records; the audit export (JSONL and CSV) holds the
# decisions and no personal value.
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
    - {name: ops, roles: [admin], token_sha256: "$(sha256hex ops-token)"}
    - {name: alice, roles: [reviewer], token_sha256: "$(sha256hex alice-token)"}
    - {name: audit-firm, roles: [auditor], token_sha256: "$(sha256hex audit-token)"}
workers: 2
upstreams:
  crm: {url: "http://127.0.0.1:$DEMO_PORT"}
routes:
  - {match: "GET|POST|PUT /api/customers/**", upstream: crm}
principals:
  - {name: rep-app, roles: [sales_rep], api_key_sha256: "$(sha256hex rep-key)"}
  - {name: rep-two, roles: [sales_rep], api_key_sha256: "$(sha256hex rep2-key)"}
keys: {dir: keys, master_key_file: master.key}
audit: {dir: audit, fsync: batch, checkpoint_every: 1000}
state_dir: state
policies: [$ROOT/policies/examples/crm.yaml]
YAML
"$CUSTOS" keys init -c "$TMP/custos.yaml" >/dev/null || fail "keys init"
"$CUSTOS" check -c "$TMP/custos.yaml" >/dev/null 2>&1 ||
	fail "check: $("$CUSTOS" check -c "$TMP/custos.yaml" 2>&1)"
start_custos "$TMP/custos.yaml"
U=http://127.0.0.1:$P
ADM=http://127.0.0.1:$A

direct=$(curl -sS "$DEMO_URL/api/customers")
read -r email phone < <(printf %s "$direct" | python3 -c \
	'import json,sys; c=json.load(sys.stdin)["customers"][0]; print(c["email"], c["phone"])')
[ -n "$email" ] && [ -n "$phone" ] || fail "no email or phone in the demo data"

# adm METHOD PATH TOKEN [BODY]: sets CODE and BODY from the admin API
adm() {
	local args=(-sS -o "$TMP/adm.out" -w '%{http_code}' -X "$1")
	[ -n "$3" ] && args+=(-H "Authorization: Bearer $3")
	[ $# -ge 4 ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	CODE=$(curl "${args[@]}" "$ADM$2")
	BODY=$(cat "$TMP/adm.out")
}

# rep KEY: a GET of the customers as that principal; sets RID and RESP
rep() {
	RESP=$(curl -sS -D "$TMP/h" -H "Authorization: Bearer $1" "$U/api/customers") || fail "GET"
	RID=$(tr -d '\r' <"$TMP/h" | sed -n 's/^X-Request-Id: //Ip')
	[ -n "$RID" ] || fail "no X-Request-Id"
}

# email_decision RID: the decision on the top-level customers' emails of the
# response record of RID, as "ID OVERRIDE" (waits for the writer)
email_decision() {
	local i out
	for ((i = 0; i < 100; i++)); do
		out=$(cat "$TMP"/audit/audit-*.jsonl 2>/dev/null | python3 -c '
import json, sys
rid = sys.argv[1]
for line in sys.stdin:
    r = json.loads(line)
    if r.get("request_id") != rid or r.get("direction") != "response":
        continue
    for d in r.get("decisions", []):
        if d["path"] == "$.customers[*].email":
            print(d["id"], d["override"] or "-")
' "$1")
		[ -n "$out" ] && { echo "$out"; return; }
		sleep 0.05
	done
}

# --- a masked email, its decision explained ----------------------------
rep rep-key
assert_not_contains "$RESP" "$email" "sales_rep: email masked"
read -r DEC OVR < <(email_decision "$RID")
[ -n "${DEC:-}" ] || fail "no email decision for $RID in the audit log"
case "$DEC" in "$RID".[0-9]*) ok "decision id is request id + .N" ;; *) fail "decision id $DEC" ;; esac
assert_eq "$OVR" "-" "no override yet"

adm GET "/v1/decisions/$DEC" alice-token
assert_eq "$CODE" 200 "reviewer reads the decision"
assert_contains "$BODY" "\"id\":\"$DEC\"" "decision id in the answer"
assert_contains "$BODY" '"principal":"rep-app"' "principal in the answer"
assert_contains "$BODY" '"route":"GET|POST|PUT /api/customers/**"' "route in the answer"
assert_contains "$BODY" '"rule":"reps-mask-email"' "rule in the answer"
assert_contains "$BODY" "classified as email (restricted, confidence high; evidence: field:email" \
	"explanation: class, level, evidence"
assert_contains "$BODY" "masked by rule reps-mask-email of policy sha256:" "explanation: action, rule, policy"
assert_contains "$BODY" "no override applied." "explanation: no override"
assert_not_contains "$BODY" "$email" "no value in the explanation"
adm GET "/v1/decisions/$DEC" audit-token
assert_eq "$CODE" 200 "auditor reads the decision"
adm GET "/v1/decisions/$DEC" ops-token
assert_eq "$CODE" 403 "admin-only token: 403"
adm GET "/v1/decisions/$DEC" ""
assert_eq "$CODE" 401 "no token: 401"
adm GET "/v1/decisions/$DEC" wrong-token
assert_eq "$CODE" 401 "wrong token: 401"
adm GET "/v1/decisions/$RID.999" alice-token
assert_eq "$CODE" 404 "unknown decision: 404"
assert_contains "$BODY" '"error":"not_found"' "404 is a JSON error"

# --- bad override bodies ------------------------------------------------
future=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
for bad in \
	'{"decision_id":"'"$DEC"'","action":"allow","expires":"'"$future"'"}|reason' \
	'{"decision_id":"'"$DEC"'","action":"allow","reason":"x"}|expires' \
	'{"decision_id":"'"$DEC"'","action":"allow","reason":"x","expires":"2001-01-01T00:00:00Z"}|future' \
	'{"decision_id":"'"$DEC"'","action":"reveal","reason":"x","expires":"'"$future"'"}|action' \
	'{"decision_id":"'"$DEC"'","action":"allow","reason":"x","expires":"soon"}|RFC 3339' \
	'{"scope":{"clas":"email"},"action":"allow","reason":"x","expires":"'"$future"'"}|unknown member' \
	'{"scope":{"rule":"no-such-rule"},"action":"allow","reason":"x","expires":"'"$future"'"}|no rule' \
	'{"scope":{},"action":"allow","reason":"x","expires":"'"$future"'"}|at least one' \
	'{"decision_id":"'"$DEC"'","action":"mask","reason":"x","expires":"'"$future"'"}|would not change' \
	'[1,2]|JSON object' \
	'{"decision_id":|not a valid JSON'; do
	adm POST /v1/overrides alice-token "${bad%|*}"
	assert_eq "$CODE" 400 "400 for a bad body (${bad##*|})"
	assert_contains "$BODY" "${bad##*|}" "the 400 says why (${bad##*|})"
done
adm POST /v1/overrides audit-token '{"decision_id":"'"$DEC"'","action":"allow","reason":"x","expires":"'"$future"'"}'
assert_eq "$CODE" 403 "auditor cannot create overrides"
adm POST /v1/overrides "" '{}'
assert_eq "$CODE" 401 "no token cannot create overrides"

# --- an override from the decision --------------------------------------
adm POST /v1/overrides alice-token '{"decision_id":"'"$DEC"'","action":"allow","reason":"verified business contact","expires":"'"$future"'"}'
assert_eq "$CODE" 201 "reviewer creates an override from a decision"
OV1=$(printf %s "$BODY" | sed -n 's/^{"id":"\(ovr-[0-9a-f]*\)".*/\1/p')
[ -n "$OV1" ] || fail "no override id in $BODY"
assert_contains "$BODY" '"rule":"reps-mask-email"' "scope: the decision's rule"
assert_contains "$BODY" '"path":"$.customers[*].email"' "scope: the decision's path"
assert_contains "$BODY" '"principal":"rep-app"' "scope: the decision's principal"
assert_contains "$BODY" '"author":"alice"' "author is the token's name"
assert_contains "$BODY" '"status":"active"' "active"

# Both workers see it at once: several requests over fresh connections.
for i in 1 2 3 4; do
	rep rep-key
	assert_contains "$RESP" "$email" "after the override: email in clear (request $i)"
done
assert_not_contains "$RESP" "$phone" "the phone is still masked"
read -r DEC2 OVR2 < <(email_decision "$RID")
assert_eq "$OVR2" "$OV1" "the decision names the override"
adm GET "/v1/decisions/$DEC2" alice-token
assert_contains "$BODY" "under override $OV1 (by alice: \\\"verified business contact\\\")" \
	"the explanation names the override"
rep rep2-key
assert_not_contains "$RESP" "$email" "another principal: still masked"

adm GET /v1/overrides alice-token
assert_eq "$CODE" 200 "list"
assert_contains "$BODY" "\"id\":\"$OV1\"" "list holds the override"
adm GET /v1/overrides audit-token
assert_eq "$CODE" 200 "auditor lists"
adm GET /v1/overrides ops-token
assert_eq "$CODE" 403 "admin-only token cannot list"

# --- expiry -------------------------------------------------------------
soon=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%S.%3NZ)
adm POST /v1/overrides alice-token '{"scope":{"rule":"reps-mask-contacts","class":"phone","principal":"rep-two"},"action":"allow","reason":"call campaign","expires":"'"$soon"'"}'
assert_eq "$CODE" 201 "an override by scope"
OV2=$(printf %s "$BODY" | sed -n 's/^{"id":"\(ovr-[0-9a-f]*\)".*/\1/p')
rep rep2-key
assert_contains "$RESP" "$phone" "scope override: phone in clear"
sleep 2.5
rep rep2-key
assert_not_contains "$RESP" "$phone" "expired: phone masked again"
adm GET /v1/overrides alice-token
assert_not_contains "$BODY" "$OV2" "an expired override is not listed"
adm GET '/v1/overrides?all=1' alice-token
assert_contains "$BODY" '"status":"expired"' "all=1 lists it as expired"

# --- revoke ---------------------------------------------------------------
adm DELETE "/v1/overrides/$OV1" audit-token
assert_eq "$CODE" 403 "auditor cannot revoke"
adm DELETE "/v1/overrides/$OV1" alice-token
assert_eq "$CODE" 200 "revoke"
assert_contains "$BODY" '"status":"revoked"' "revoked"
adm DELETE "/v1/overrides/$OV1" alice-token
assert_eq "$CODE" 404 "revoke again: 404"
adm DELETE "/v1/overrides/ovr-0000000000000000" alice-token
assert_eq "$CODE" 404 "unknown override: 404"
rep rep-key
assert_not_contains "$RESP" "$email" "revoked: email masked again"

# --- persistence over a restart ---------------------------------------------
adm POST /v1/overrides alice-token '{"scope":{"rule":"reps-mask-email","principal":"rep-two"},"action":"allow","reason":"pilot","expires":"'"$future"'"}'
assert_eq "$CODE" 201 "a long-lived override"
OV3=$(printf %s "$BODY" | sed -n 's/^{"id":"\(ovr-[0-9a-f]*\)".*/\1/p')
stop_pid "$CUSTOS_PID" TERM
assert_eq "${STOP_STATUS:-0}" 0 "clean stop"
start_custos "$TMP/custos.yaml"
rep rep2-key
assert_contains "$RESP" "$email" "after a restart the override still applies"
adm GET /v1/overrides alice-token
assert_contains "$BODY" "\"id\":\"$OV3\"" "after a restart it is listed"
assert_not_contains "$BODY" "\"id\":\"$OV1\"" "the revoked one stays revoked"

# --- the command-line client -------------------------------------------------
rep rep-key
read -r DEC4 _ < <(email_decision "$RID")
out=$(CUSTOS_ADMIN_TOKEN=alice-token "$CUSTOS" override add -c "$TMP/custos.yaml" \
	--decision "$DEC4" --action allow --reason "cli check" --expires 1h) ||
	fail "custos override add: $out"
OV4=$(printf %s "$out" | sed -n 's/^{"id":"\(ovr-[0-9a-f]*\)".*/\1/p')
[ -n "$OV4" ] || fail "no id from custos override add: $out"
ok "custos override add"
out=$("$CUSTOS" override list --admin "$ADM" --token audit-token) || fail "override list: $out"
assert_contains "$out" "$OV4" "custos override list"
"$CUSTOS" override revoke "$OV4" --admin "$ADM" --token ops-token >/dev/null 2>&1
assert_eq "$?" 1 "custos override revoke with a wrong role: exit 1"
CUSTOS_ADMIN_TOKEN=alice-token "$CUSTOS" override revoke "$OV4" -c "$TMP/custos.yaml" >/dev/null ||
	fail "custos override revoke"
ok "custos override revoke"
CUSTOS_ADMIN_TOKEN=alice-token "$CUSTOS" override revoke "$OV4" -c "$TMP/custos.yaml" >/dev/null 2>&1
assert_eq "$?" 1 "revoking twice: exit 1"
CUSTOS_ADMIN_TOKEN=alice-token "$CUSTOS" override add -c "$TMP/custos.yaml" --rule x >/dev/null 2>&1
assert_eq "$?" 2 "add without action, reason, expires: exit 2"
"$CUSTOS" override add --help | grep -q -- '--decision' || fail "override add --help"
ok "custos override add --help"
CUSTOS_ADMIN_TOKEN=alice-token "$CUSTOS" override revoke "$OV3" -c "$TMP/custos.yaml" >/dev/null ||
	fail "revoke $OV3"

# --- audit export -------------------------------------------------------------
code=$(curl -sS -D "$TMP/eh" -o "$TMP/export.jsonl" -w '%{http_code}' \
	-H 'Authorization: Bearer audit-token' "$ADM/v1/audit/export")
assert_eq "$code" 200 "auditor exports"
assert_contains "$(tr -d '\r' <"$TMP/eh")" "Content-Type: application/x-ndjson" "JSONL content type"
assert_contains "$(cat "$TMP/export.jsonl")" "\"id\":\"$DEC\"" "export holds the decisions"
assert_contains "$(cat "$TMP/export.jsonl")" "\"override\":\"$OV1\"" "export holds the overridden decisions"
grep -q '"type":"override","op":"add","id":"'"$OV1"'"' "$TMP/export.jsonl" || fail "creation not audited"
grep -q '"type":"override","op":"revoke","id":"'"$OV1"'"' "$TMP/export.jsonl" || fail "revocation not audited"
ok "creations and revocations are audit records"
assert_file_not_contains "$TMP/export.jsonl" "$email" "no email in the export"
assert_file_not_contains "$TMP/export.jsonl" "$phone" "no phone in the export"
code=$(curl -sS -D "$TMP/ch" -o "$TMP/export.csv" -w '%{http_code}' \
	-H 'Authorization: Bearer audit-token' "$ADM/v1/audit/export?format=csv&rule=reps-mask-email&principal=rep-app")
assert_eq "$code" 200 "CSV export"
assert_contains "$(tr -d '\r' <"$TMP/ch")" "Content-Type: text/csv" "CSV content type"
assert_contains "$(head -1 "$TMP/export.csv")" "seq,time,type,request_id" "CSV header"
assert_contains "$(cat "$TMP/export.csv")" ",reps-mask-email,mask," "CSV rows of the rule"
assert_not_contains "$(cat "$TMP/export.csv")" "reps-mask-contacts" "CSV filtered by rule"
assert_file_not_contains "$TMP/export.csv" "$email" "no email in the CSV"
since=$(date -u -d '+1 day' +%Y-%m-%d)
curl -sS -o "$TMP/empty" -H 'Authorization: Bearer audit-token' "$ADM/v1/audit/export?since=$since"
assert_eq "$(wc -c <"$TMP/empty")" 0 "since in the future: nothing"
adm GET '/v1/audit/export?since=yesterday' audit-token
assert_eq "$CODE" 400 "bad since: 400"
adm GET '/v1/audit/export?colour=red' audit-token
assert_eq "$CODE" 400 "unknown parameter: 400"
adm GET /v1/audit/export alice-token
assert_eq "$CODE" 403 "reviewer cannot export"

# --- the log verifies; no value anywhere custos wrote ---------------------------
stop_pid "$CUSTOS_PID" TERM
assert_eq "${STOP_STATUS:-0}" 0 "clean stop"
"$CUSTOS" keys export-public -c "$TMP/custos.yaml" >"$TMP/audit.pub"
"$CUSTOS" audit verify "$TMP/audit" --public-key "$TMP/audit.pub" >"$TMP/verify" 2>&1 ||
	fail "audit verify: $(cat "$TMP/verify")"
ok "audit log intact"
grep -rqF -e "$email" "$TMP/audit" "$TMP/state" "$TMP"/custos.*.log && fail "an email reached the audit, state or error log"
grep -rqF -e "$phone" "$TMP/audit" "$TMP/state" "$TMP"/custos.*.log && fail "a phone reached the audit, state or error log"
ok "no personal value in the audit log, the override store or the error log"
