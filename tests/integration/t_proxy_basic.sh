#!/usr/bin/env bash
# Proxy basics over HTTP: authentication, routing, forwarding headers, request
# ids, the access log, and bodies passing unchanged when no policy acts.
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
workers: 2
upstreams:
  crm: {url: "http://127.0.0.1:$DEMO_PORT"}
routes:
  - {match: "GET|POST /api/customers/**", upstream: crm}
  - {match: "* /test/**", upstream: crm}
principals:
  - {name: rep-app, roles: [sales_rep], api_key_sha256: "$(sha256hex rep-key)"}
YAML
start_custos "$TMP/custos.yaml"
U=http://127.0.0.1:$P
K=(-H "Authorization: Bearer rep-key")

# The body passes byte for byte; the response names the request and policy.
direct=$(curl -sS "http://127.0.0.1:$DEMO_PORT/api/customers")
curl -sS -D "$TMP/h" -o "$TMP/b" "${K[@]}" "$U/api/customers"
assert_eq "$(cat "$TMP/b")" "$direct" "list body passes unchanged"
assert_contains "$(cat "$TMP/h")" "HTTP/1.1 200" "status 200"
grep -qi '^X-Request-Id: [0-9a-f]\{24\}' "$TMP/h" || fail "generated X-Request-Id missing"
grep -qi '^X-Custos-Policy: sha256:' "$TMP/h" || fail "X-Custos-Policy missing"
grep -qi '^Content-Length: ' "$TMP/h" || fail "small body should carry Content-Length"

# 401 without a key, with a wrong key, with another scheme; JSON bodies.
for args in "" "-H Authorization:Bearer\ nope" "-H Authorization:Basic\ cmVwOmtleQ=="; do
	code=$(eval curl -sS -o "$TMP/e" -w '%{http_code}' $args "$U/api/customers")
	assert_eq "$code" 401 "unauthenticated ($args)"
	assert_contains "$(cat "$TMP/e")" '"error":"unauthenticated"' "401 body"
	assert_contains "$(cat "$TMP/e")" '"request_id":"' "401 body names the request"
done

# 404 and 405 with JSON bodies.
code=$(curl -sS -o "$TMP/e" -w '%{http_code}' "${K[@]}" "$U/nowhere")
assert_eq "$code" 404 "no route"
assert_contains "$(cat "$TMP/e")" '"error":"no_route"' "404 body"
code=$(curl -sS -o "$TMP/e" -w '%{http_code}' -X DELETE "${K[@]}" "$U/api/customers/1")
assert_eq "$code" 405 "method not allowed"

# The caller's key never reaches the upstream; forwarding headers do.
curl -sS "${K[@]}" -H 'X-Request-Id: trace-123.abc' -H 'X-Forwarded-For: 10.1.2.3' \
	-H 'Connection: X-Secret-Hop' -H 'X-Secret-Hop: hop' "$U/test/echo?x=1" >"$TMP/echo"
assert_not_contains "$(cat "$TMP/echo")" "rep-key" "API key not forwarded"
assert_not_contains "$(tr A-Z a-z <"$TMP/echo")" '"authorization"' "Authorization not forwarded"
assert_not_contains "$(cat "$TMP/echo")" "X-Secret-Hop" "headers named in Connection are hop-by-hop"
assert_contains "$(cat "$TMP/echo")" "trace-123.abc" "valid X-Request-Id propagated"
assert_contains "$(cat "$TMP/echo")" "10.1.2.3, 127.0.0.1" "X-Forwarded-For appended"
assert_contains "$(tr A-Z a-z <"$TMP/echo")" '"x-forwarded-proto":"http"' "X-Forwarded-Proto"
assert_contains "$(cat "$TMP/echo")" "127.0.0.1:$DEMO_PORT" "Host is the upstream's"

# An invalid request id is replaced, not propagated.
curl -sS -D "$TMP/h" -o /dev/null "${K[@]}" -H 'X-Request-Id: bad id<script>' "$U/api/customers/1"
assert_not_contains "$(cat "$TMP/h")" "script" "bad request id replaced"

# POST with a JSON body passes through the rewriter to the upstream.
body='{"name":"Ada","email":"ada@example.com","tags":["a","b"]}'
out=$(curl -sS "${K[@]}" -H 'Content-Type: application/json' -d "$body" "$U/test/echo")
assert_contains "$out" 'ada@example.com' "JSON request body forwarded"
# Malformed JSON from the client: 400, nothing forwarded.
code=$(curl -sS -o "$TMP/e" -w '%{http_code}' "${K[@]}" -H 'Content-Type: application/json' \
	-d '{"email": "x@example.com",' "$U/test/echo")
assert_eq "$code" 400 "malformed request JSON"
assert_contains "$(cat "$TMP/e")" '"error":"bad_request"' "400 body"
# A non-JSON body on a JSON-only route: 415.
code=$(curl -sS -o /dev/null -w '%{http_code}' "${K[@]}" -H 'Content-Type: text/plain' \
	-d 'hello' "$U/test/echo")
assert_eq "$code" 415 "non-JSON request body refused"

# Admin: healthz open, metrics needs a token with a role.
assert_eq "$(curl -sS "http://127.0.0.1:$A/healthz")" '{"status":"ok"}' "healthz"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$A/metrics")" 401 "metrics without token"
assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer alice-token' \
	"http://127.0.0.1:$A/v1/reload")" 403 "reviewer cannot reload"
curl -sS -H 'Authorization: Bearer ops-token' "http://127.0.0.1:$A/metrics" >"$TMP/m"
assert_contains "$(cat "$TMP/m")" 'custos_requests_total{code="2xx"}' "metrics"

# The access log names the route pattern, never the raw path.
curl -sS -o /dev/null "${K[@]}" "$U/api/customers/PII-PATH-MARKER"
sleep 0.3
assert_contains "$(cat "$CUSTOS_LOG")" 'route="GET|POST /api/customers/**"' "access log has the pattern"
assert_not_contains "$(cat "$CUSTOS_LOG")" 'PII-PATH-MARKER' "raw path not logged"
assert_not_contains "$(cat "$CUSTOS_LOG")" 'rep-key' "key not logged"
echo "ok"
