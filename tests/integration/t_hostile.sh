#!/usr/bin/env bash
# Hostile input: bodies written to slip personal data past custos. Each is
# sent as a request (the demo CRM stores it and echoes it back, so it also
# comes back as a response) by a sales rep, whose policy masks emails and
# phones and redacts national ids. Nothing unprotected may come back, and
# what custos cannot read is refused with its documented status.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

start_democrm
P=$(pick_port)
cat >"$TMP/custos.yaml" <<YAML
listen: [{address: 127.0.0.1:$P}]
workers: 1
upstreams:
  crm: {url: "http://127.0.0.1:$DEMO_PORT"}
routes:
  - {match: "GET|POST|PUT /api/customers/**", upstream: crm}
principals:
  - {name: rep-app, roles: [sales_rep], api_key_sha256: "$(sha256hex rep-key)"}
keys: {dir: keys, master_key_file: master.key}
policies: [$ROOT/policies/examples/crm.yaml]
limits: {max_json_depth: 64, max_string: 65536}
YAML
"$CUSTOS" keys init -c "$TMP/custos.yaml" >/dev/null || fail "keys init"
start_custos "$TMP/custos.yaml"
U=http://127.0.0.1:$P/api/customers

post() {	# post BODYFILE -> sets CODE and OUT
	CODE=$(curl -sS -o "$TMP/out" -w '%{http_code}' -H 'Authorization: Bearer rep-key' \
		-H 'Content-Type: application/json' --data-binary @"$1" "$U" || true)
	OUT=$(cat "$TMP/out")
}
case_ok() {	# NAME JSON SECRET...: accepted, and no SECRET comes back
	local name=$1 json=$2 s
	shift 2
	printf '%s' "$json" >"$TMP/in"
	post "$TMP/in"
	assert_eq "$CODE" 201 "$name: accepted"
	for s in "$@"; do
		assert_not_contains "$OUT" "$s" "$name: '$s' does not come back"
	done
}
case_refused() {	# NAME FILE STATUS
	post "$2"
	assert_eq "$CODE" "$3" "$1: refused with $3"
	assert_contains "$OUT" '"error":' "$1: JSON error body"
}

case_ok "key written with unicode escapes" '{"\u0065mail": "li.wei.escape@example.com"}' li.wei.escape@example.com
case_ok "key in another case" '{"EMAIL": "upper.case@example.com", "E-Mail": "dash.case@example.com"}' \
	upper.case@example.com dash.case@example.com
case_ok "duplicate keys" '{"email": "first.dup@example.com", "email": "second.dup@example.com"}' \
	first.dup@example.com second.dup@example.com
case_ok "phone as a JSON number" '{"phone": 8613800138000, "mobile": 13912345678}' 13800138000 13912345678
case_ok "value split across escapes" '{"contact": "a.split\u0040example.com"}' 'a.split@example.com' 'a.split\u0040example.com'
case_ok "national id under an unknown key" '{"x": "11010519491231002X"}' 11010519491231002X
case_ok "phone inside free-text notes" '{"notes": "call me at 13700001111 after 5"}' 13700001111
case_ok "nested deep in arrays" '{"a":[[[{"b":{"email":"deep.nest@example.com"}}]]]}' deep.nest@example.com

# What custos cannot read is refused, never passed.
printf '\xef\xbb\xbf{"email":"bom@example.com"}' >"$TMP/bom"
case_refused "leading BOM" "$TMP/bom" 400
printf '{"email":"bad\xff@example.com"}' >"$TMP/utf8"
case_refused "invalid UTF-8" "$TMP/utf8" 400
printf '{"email":"trailing@example.com"} garbage' >"$TMP/trail"
case_refused "trailing garbage" "$TMP/trail" 400
printf '{"email":"c@example.com" /* note */}' >"$TMP/comment"
case_refused "a comment" "$TMP/comment" 400
python3 -c 'print("["*100 + "]"*100)' >"$TMP/deep"
case_refused "nesting past max_json_depth" "$TMP/deep" 413
python3 -c 'print("{\"notes\":\"" + "x"*70000 + "\"}")' >"$TMP/long"
case_refused "a string past max_string" "$TMP/long" 413
printf '{"a":NaN}' >"$TMP/nan"
case_refused "NaN" "$TMP/nan" 400
printf '{"email":"lone\\ud800@example.com"}' >"$TMP/surrogate"
case_refused "a lone surrogate" "$TMP/surrogate" 400

# JSON sent as text/plain on a JSON route: refused, not passed unchecked.
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer rep-key' \
	-H 'Content-Type: text/plain' --data-binary '{"email":"lie@example.com"}' "$U")
assert_eq "$code" 415 "content-type lie refused"
# A compressed request body is refused (custos would not read it).
printf '{"email":"gz@example.com"}' | gzip >"$TMP/gz"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer rep-key' \
	-H 'Content-Type: application/json' -H 'Content-Encoding: gzip' --data-binary @"$TMP/gz" "$U")
assert_eq "$code" 415 "compressed request body refused"
kill -0 "$CUSTOS_PID" || fail "custos died"
echo ok
