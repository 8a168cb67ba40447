#!/usr/bin/env bash
# Reload (SIGHUP and POST /v1/reload): a bad file keeps the running config and
# logs every error; a good one takes effect. SIGTERM drains: requests in
# flight finish, then the process exits 0.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

start_democrm
P=$(pick_port)
A=$(pick_port)
write_cfg() {
	cat >"$TMP/custos.yaml" <<YAML
listen: [{address: 127.0.0.1:$P}]
admin:
  address: 127.0.0.1:$A
  tokens: [{name: ops, roles: [admin], token_sha256: "$(sha256hex ops-token)"}]
workers: 2
upstreams:
  crm: {url: "http://127.0.0.1:$DEMO_PORT", response_timeout: 5000}
routes:
  - {match: "* /api/**", upstream: crm}
  - {match: "* /test/**", upstream: crm}
$1
principals:
  - {name: rep-app, roles: [sales_rep], api_key_sha256: "$(sha256hex rep-key)"}
YAML
}
write_cfg ""
start_custos "$TMP/custos.yaml"
U=http://127.0.0.1:$P
K=(-H "Authorization: Bearer rep-key")
get() { curl -sS -o /dev/null -w '%{http_code}' "${K[@]}" "$@" || true; }

assert_eq "$(get "$U/files/report.pdf")" 404 "no /files route yet"
policy1=$(curl -sS -D - -o /dev/null "${K[@]}" "$U/api/customers/1" | tr -d '\r' | sed -n 's/^X-Custos-Policy: //Ip')

# A bad file: errors logged with file:line:col, old config keeps serving.
cp "$TMP/custos.yaml" "$TMP/good.yaml"
printf 'listen: [{address: 127.0.0.1:%s}]\nroutes:\n  - {match: "GET /x", upstrem: crm}\nbogus: 1\n' "$P" >"$TMP/custos.yaml"
kill -HUP "$CUSTOS_PID"
sleep 0.5
assert_contains "$(cat "$CUSTOS_LOG")" "reload failed" "bad reload reported"
grep -q "custos.yaml:[0-9]*:[0-9]*: error: " "$CUSTOS_LOG" || fail "reload errors lack file:line:col"
assert_eq "$(get "$U/api/customers/1")" 200 "still serving after a bad reload"
# The admin endpoint reports the same errors as JSON, and 422.
code=$(curl -sS -o "$TMP/r" -w '%{http_code}' -X POST -H 'Authorization: Bearer ops-token' "http://127.0.0.1:$A/v1/reload")
assert_eq "$code" 422 "admin reload of a bad file"
assert_contains "$(cat "$TMP/r")" '"error":"invalid_config"' "reload error body"

# A good file with a new route takes effect on SIGHUP.
write_cfg '  - {match: "GET /files/**", upstream: crm, non_json: pass}'
kill -HUP "$CUSTOS_PID"
sleep 0.5
assert_eq "$(get "$U/files/report.pdf")" 200 "new route after reload"
policy2=$(curl -sS -D - -o /dev/null "${K[@]}" "$U/api/customers/1" | tr -d '\r' | sed -n 's/^X-Custos-Policy: //Ip')
[ "$policy1" != "$policy2" ] || fail "policy version did not change on reload"
code=$(curl -sS -o "$TMP/r" -w '%{http_code}' -X POST -H 'Authorization: Bearer ops-token' "http://127.0.0.1:$A/v1/reload")
assert_eq "$code" 200 "admin reload of a good file"

# SIGTERM drains: a slow request in flight still completes.
curl -sS -o "$TMP/slow" -w '%{http_code}' "${K[@]}" "$U/test/slow?ms=1500" >"$TMP/slowcode" &
cpid=$!
sleep 0.4
kill -TERM "$CUSTOS_PID"
wait $cpid || true
assert_eq "$(cat "$TMP/slowcode")" 200 "in-flight request finished during drain"
for i in $(seq 50); do kill -0 "$CUSTOS_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$CUSTOS_PID" 2>/dev/null; then fail "custos did not exit after SIGTERM"; fi
wait "$CUSTOS_PID" 2>/dev/null && rc=0 || rc=$?
assert_eq "$rc" 0 "exit status after drain"
assert_contains "$(cat "$CUSTOS_LOG")" "stopped" "clean stop logged"
CUSTOS_PID=
echo ok
