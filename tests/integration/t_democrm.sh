#!/usr/bin/env bash
# The demo CRM upstream on its own (no custos): proves the fixture and
# lib.sh that every other scenario stands on.
. "$(dirname "$0")/lib.sh"

start_democrm
B=$DEMO_URL

# plain data
assert_eq "$(curl -s "$B/healthz")" '{"status":"ok"}' "healthz"
cmp -s <(curl -s "$B/api/customers") "$ROOT/tests/data/crm-customers.json" ||
	fail "GET /api/customers is not the data file"
ok "GET /api/customers serves tests/data/crm-customers.json"
body=$(curl -s "$B/api/customers/1")
assert_eq "$(jq -r .customer.id <<<"$body")" 1 "customer 1"
assert_eq "$(jq '.customers | length' <(curl -s "$B/api/customers?n=57"))" 57 "?n=57"
assert_eq "$(jq '.deals | length' <(curl -s "$B/api/deals"))" 20 "deals"
assert_eq "$(jq '.notes | length' <(curl -s "$B/api/notes"))" 20 "notes"
# same people every run: generated data is deterministic
assert_eq "$(curl -s "$B/api/customers/42" | sha256sum)" \
	"$(curl -s "$B/api/customers/42" | sha256sum)" "deterministic records"
assert_eq "$(curl -s -XPOST -d '{"text":"hi"}' "$B/api/messages" -w ' %{http_code}')" \
	'{"queued": true, "id": 1, "unsubscribe": null} 202' "messages queued"
assert_eq "$(curl -s -XPOST -H 'X-Custos-Unsubscribe: /unsubscribe?token=t' \
	"$B/api/campaigns/7/send" -w ' %{http_code}')" \
	'{"queued": true, "id": 2, "unsubscribe": "/unsubscribe?token=t"} 202' "campaign queued"
assert_eq "$(curl -s "$B/api/messages")" '{"received": 2}' "messages counted"
stored='{"name":"Test Person","id_number":"110101198509093806"}'
assert_eq "$(curl -s -XPUT -H 'Content-Type: application/json' -d "$stored" \
	"$B/api/customers/77" -w ' %{http_code}')" "$stored 200" "PUT echoes the record"
assert_eq "$(curl -s "$B/api/customers/77")" "$stored" "stored record is served"
assert_eq "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$B/files/report.pdf")" \
	"200 application/pdf" "pdf"

# echo: method, path, query, every header, the raw body
body=$(curl -s -XPOST -H 'Authorization: Bearer k1' -H 'X-Custom: a b' \
	--data-binary '{"email":"x@example.com"}' "$B/test/echo?q=1")
assert_eq "$(jq -r .method <<<"$body")" POST "echo method"
assert_eq "$(jq -r .path <<<"$body")" /test/echo "echo path"
assert_eq "$(jq -r .query <<<"$body")" q=1 "echo query"
assert_eq "$(jq -r '.headers.Authorization' <<<"$body")" "Bearer k1" "echo headers"
assert_eq "$(jq -r '.headers["X-Custom"]' <<<"$body")" "a b" "echo custom header"
assert_eq "$(jq -r .body <<<"$body")" '{"email":"x@example.com"}' "echo body"
body=$(printf 'a\001b\377c"' | curl -s --data-binary @- "$B/test/echo")
jq -e . <<<"$body" >/dev/null || fail "echo of binary body is not JSON: $body"
ok "echo escapes control bytes and invalid UTF-8"

# size: valid JSON of exactly the asked size, in one piece or streamed
for n in 100 1024 10240 1000000; do
	curl -s "$B/test/size?bytes=$n" -o "$TMP/size.json"
	assert_eq "$(wc -c <"$TMP/size.json")" "$n" "size $n bytes"
	jq -e .items "$TMP/size.json" >/dev/null || fail "size $n: not JSON"
done
curl -s -D "$TMP/h" "$B/test/stream?bytes=3000000" -o "$TMP/stream.json"
assert_contains "$(cat "$TMP/h")" "Transfer-Encoding: chunked" "stream is chunked"
assert_eq "$(wc -c <"$TMP/stream.json")" 3000000 "stream length"
jq -e 'length > 1000' "$TMP/stream.json" >/dev/null || fail "stream: not a JSON array"
ok "stream is a JSON array"

# malformed and compressed bodies
assert_contains "$(curl -s "$B/test/bad-json")" "leak@example.com" "bad-json carries the marker"
curl -s "$B/test/bad-json-late?bytes=200000" -o "$TMP/late.json"
jq . "$TMP/late.json" >/dev/null 2>&1 && fail "bad-json-late parsed as JSON"
head -c 200000 "$TMP/late.json" | grep -qF leak@example.com && fail "marker before the break"
assert_contains "$(tail -c 200 "$TMP/late.json")" "leak@example.com" "bad-json-late breaks late"
cmp -s <(curl -s --compressed "$B/test/gzip") "$ROOT/tests/data/crm-customers.json" ||
	fail "gzip does not decode to the data file"
ok "gzip decodes (curl --compressed)"
wire=$(curl -s -o /dev/null -w '%{size_download}' "$B/test/gzip")
[ "$wire" -lt 6000 ] || fail "gzip body is $wire bytes on the wire"
ok "gzip is compressed on the wire ($wire bytes)"
cmp -s <(curl -s --compressed "$B/test/deflate") "$ROOT/tests/data/crm-customers.json" ||
	fail "deflate does not decode to the data file"
ok "deflate decodes"
assert_contains "$(curl -s -D- -o /dev/null "$B/test/br")" "Content-Encoding: br" "br labelled"
curl -s "$B/test/gzip-bomb?bytes=50000000" -o "$TMP/bomb.gz"
assert_eq "$(gzip -dc <"$TMP/bomb.gz" | wc -c)" 50000000 "bomb inflates to its size"
[ "$(wc -c <"$TMP/bomb.gz")" -lt 100000 ] || fail "bomb is not small"
ok "bomb is small"

# content types and statuses
assert_eq "$(curl -s "$B/test/text" -w ' %{content_type}')" \
	"secret 13800138000
 text/plain; charset=utf-8" "text/plain"
assert_eq "$(curl -s -o /dev/null -w '%{content_type}' "$B/test/lie")" text/plain "lie"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$B/test/status?code=503")" 503 "status"
assert_eq "$(curl -s "$B/test/ndjson?n=5" | wc -l)" 5 "ndjson lines"
curl -s "$B/test/ndjson?n=5" | while read -r line; do
	jq -e . <<<"$line" >/dev/null || exit 1
done || fail "ndjson line is not JSON"
ok "ndjson lines are JSON"

# timing and faults
start=$(date +%s%N)
curl -s -m 1 "$B/test/hang" >/dev/null
assert_eq "$?" 28 "hang times out"
curl -s "$B/test/slow?ms=300" -o /dev/null
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -ge 1300 ] || fail "hang + slow took ${ms} ms"
ok "slow answers after its delay"
assert_eq "$(curl -s "$B/test/drip?ms=10&bytes=20")" '{"drip":"........"}' "drip"
curl -s "$B/test/reset" -o /dev/null
rc=$?
[ $rc -eq 18 ] || [ $rc -eq 56 ] || fail "reset: curl exit $rc"
ok "reset cuts the body short (curl $rc)"

# keep-alive: two requests on one curl run reuse one connection
c0=$(jq .connections <(curl -s "$B/test/conns"))
curl -s "$B/healthz" "$B/healthz" >/dev/null
c1=$(jq .connections <(curl -s "$B/test/conns"))
assert_eq "$((c1 - c0))" 2 "keep-alive: 2 requests + conns on 2 connections"

# TLS
gen_tls "$TMP/tls"
start_democrm --tls "$TMP/tls/server.crt" "$TMP/tls/server.key"
assert_eq "$(curl -s --cacert "$TMP/tls/ca.crt" "$DEMO_URL/healthz")" '{"status":"ok"}' "https"
curl -s --cacert "$TMP/tls/ca.crt" "$DEMO_URL/test/stream?bytes=500000" -o "$TMP/tls.json"
assert_eq "$(wc -c <"$TMP/tls.json")" 500000 "https stream"
TLS_PID=$DEMO_PID

# clients that leave mid-stream and mid-wait leave nothing behind
curl -s -m 1 "$B/test/stream?bytes=1000000000" -o /dev/null
curl -s -m 0.3 "$B/test/slow?ms=5000" -o /dev/null
curl -s -m 0.3 "$B/test/hang" -o /dev/null
sleep 1.5
assert_eq "$(jq .open <(curl -s "$B/test/conns"))" 1 "only the asking connection is open"

# a clean exit (under ASan in `make check`, also no leak)
stop_pid "$TLS_PID"
assert_eq "$STOP_STATUS" 0 "TLS democrm exits 0 on SIGTERM"
first_pid=${PIDS[0]}
stop_pid "$first_pid"
assert_eq "$STOP_STATUS" 0 "democrm exits 0 on SIGTERM"
if grep -q 'Sanitizer' "$TMP"/democrm.*.log; then
	fail "sanitizer report from democrm"
fi
ok "no sanitizer report"
