#!/usr/bin/env bash
# TLS: an HTTPS listener (TLS 1.2+), a client certificate mapped to a
# principal (mTLS), and an https upstream verified against its CA.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

gen_tls "$TMP/tls"
start_democrm --tls "$TMP/tls/server.crt" "$TMP/tls/server.key"
P=$(pick_port)
cat >"$TMP/custos.yaml" <<YAML
listen:
  - address: 127.0.0.1:$P
    tls: {cert: tls/server.crt, key: tls/server.key, client_ca: tls/ca.crt}
workers: 1
upstreams:
  crm: {url: "https://127.0.0.1:$DEMO_PORT", ca: tls/ca.crt}
  wrongca: {url: "https://127.0.0.1:$DEMO_PORT"}
routes:
  - {match: "* /api/**", upstream: crm}
  - {match: "* /test/**", upstream: crm}
  - {match: "* /wrong/**", upstream: wrongca}
principals:
  - {name: rep-app, roles: [sales_rep], api_key_sha256: "$(sha256hex rep-key)"}
  - {name: bi, roles: [analyst], client_cert_subject: "CN=bi.example.com"}
YAML
start_custos "$TMP/custos.yaml"
U=https://127.0.0.1:$P
C=(--cacert "$TMP/tls/ca.crt")

# API key over HTTPS, to an https upstream.
code=$(curl -sS "${C[@]}" -o "$TMP/b" -w '%{http_code}' -H 'Authorization: Bearer rep-key' "$U/api/customers/1")
assert_eq "$code" 200 "https listener + https upstream"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/b" || fail "not JSON"
out=$(curl -sS "${C[@]}" -H 'Authorization: Bearer rep-key' "$U/test/echo")
assert_contains "$(tr A-Z a-z <<<"$out")" '"x-forwarded-proto":"https"' "X-Forwarded-Proto https"

# mTLS: the client certificate is the credential.
code=$(curl -sS "${C[@]}" --cert "$TMP/tls/client.crt" --key "$TMP/tls/client.key" \
	-o /dev/null -w '%{http_code}' "$U/api/customers/1")
assert_eq "$code" 200 "client certificate maps to principal bi"
grep -q 'principal=bi ' "$CUSTOS_LOG" || { sleep 0.5; grep -q 'principal=bi ' "$CUSTOS_LOG"; } ||
	fail "access log should name principal bi"
# No key and no certificate: 401.
code=$(curl -sS "${C[@]}" -o /dev/null -w '%{http_code}' "$U/api/customers/1")
assert_eq "$code" 401 "no credential over TLS"

# TLS 1.1 is refused; TLS 1.2 and 1.3 work.
openssl s_client -connect 127.0.0.1:$P -tls1_1 </dev/null >"$TMP/s11" 2>&1
grep -q 'Cipher is (NONE)' "$TMP/s11" || fail "TLS 1.1 accepted"
openssl s_client -connect 127.0.0.1:$P -tls1_2 -CAfile "$TMP/tls/ca.crt" </dev/null >"$TMP/s12" 2>&1
grep -q 'Protocol *: TLSv1.2' "$TMP/s12" || fail "TLS 1.2 handshake failed: $(tail -5 "$TMP/s12")"
grep -q 'Verify return code: 0' "$TMP/s12" || fail "server certificate did not verify"
openssl s_client -connect 127.0.0.1:$P -tls1_3 -CAfile "$TMP/tls/ca.crt" </dev/null >"$TMP/s13" 2>&1
grep -q 'TLSv1.3' "$TMP/s13" || fail "TLS 1.3 handshake failed"
# A client certificate from another CA is refused at the handshake.
code=$(curl -sS "${C[@]}" --cert "$TMP/tls/other-client.crt" --key "$TMP/tls/other-client.key" \
	-o /dev/null -w '%{http_code}' "$U/api/customers/1" 2>/dev/null || true)
[ "$code" != 200 ] || fail "a certificate from an unknown CA was accepted"

# An upstream whose certificate does not verify (system store): 502.
code=$(curl -sS "${C[@]}" -o "$TMP/e" -w '%{http_code}' -H 'Authorization: Bearer rep-key' "$U/wrong/x")
assert_eq "$code" 502 "unverifiable upstream certificate"
assert_contains "$(cat "$TMP/e")" '"error":"upstream_failed"' "502 body"
echo ok
