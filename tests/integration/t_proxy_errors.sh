#!/usr/bin/env bash
# Fail closed: upstream down, hanging, garbled or non-JSON; oversized input;
# smuggling attempts. Each gets its documented status and a JSON error body,
# and nothing of an unprocessed upstream body reaches the client.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

start_democrm
P=$(pick_port)
DEAD=$(pick_port)	# nothing listens here
cat >"$TMP/custos.yaml" <<YAML
listen: [{address: 127.0.0.1:$P}]
workers: 1
upstreams:
  crm: {url: "http://127.0.0.1:$DEMO_PORT", response_timeout: 1000}
  dead: {url: "http://127.0.0.1:$DEAD", connect_timeout: 500}
routes:
  - {match: "* /test/**", upstream: crm}
  - {match: "GET /files/**", upstream: crm, non_json: pass}
  - {match: "* /down/**", upstream: dead}
principals:
  - {name: rep-app, roles: [sales_rep], api_key_sha256: "$(sha256hex rep-key)"}
limits: {max_header: 4096, max_body: 65536}
YAML
start_custos "$TMP/custos.yaml"
U=http://127.0.0.1:$P
K=(-H "Authorization: Bearer rep-key")

status() { curl -sS -o "$TMP/e" -w '%{http_code}' "${K[@]}" "$@" || true; }

assert_eq "$(status "$U/down/x")" 502 "upstream down"
assert_contains "$(cat "$TMP/e")" '"error":"upstream_failed"' "502 body"

start=$(date +%s%N)
assert_eq "$(status "$U/test/hang")" 504 "upstream hangs"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 5000 ] || fail "504 took ${ms}ms"
assert_contains "$(cat "$TMP/e")" '"error":"upstream_timeout"' "504 body"

# An upstream that answers slowly (within the timeout) is waited for; one that
# stops sending its body mid-way gets 504, and no worker is stuck meanwhile.
assert_eq "$(status "$U/test/slow?ms=300")" 200 "slow but in time"
status "$U/test/drip?ms=1500&bytes=64" >"$TMP/drip.code" &
dpid=$!
sleep 0.2
assert_eq "$(status "$U/test/echo")" 200 "a worker is free while one upstream drips"
wait $dpid
assert_eq "$(cat "$TMP/drip.code")" 504 "upstream stalls mid-body"

# Malformed JSON from the upstream: 502, and the PII in it never arrives.
assert_eq "$(status "$U/test/bad-json")" 502 "malformed upstream JSON"
assert_contains "$(cat "$TMP/e")" '"error":"bad_upstream_json"' "502 names the reason"
assert_not_contains "$(cat "$TMP/e")" "leak@example.com" "no byte of the bad body"

# JSON sent as text/plain on a JSON-only route: blocked.
assert_eq "$(status "$U/test/text")" 502 "non-JSON upstream body blocked"
assert_not_contains "$(cat "$TMP/e")" "13800138000" "blocked body not sent"
# Unknown content encoding: 502.
assert_eq "$(status "$U/test/br")" 502 "unsupported content encoding"
# gzip and deflate are decoded, checked and sent plain.
curl -sS "${K[@]}" -D "$TMP/h" -o "$TMP/gz" "$U/test/gzip"
assert_not_contains "$(tr A-Z a-z <"$TMP/h")" "content-encoding" "decoded body sent plain"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/gz" || fail "gzip body not JSON"
curl -sS "${K[@]}" -o "$TMP/df" "$U/test/deflate"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/df" || fail "deflate body not JSON"
# A gzip bomb ends in a clean error, not in memory growth.
assert_eq "$(status "$U/test/gzip-bomb")" 502 "gzip bomb refused"
# A route with non_json: pass lets a PDF through.
assert_eq "$(status "$U/files/report.pdf")" 200 "non-JSON passes where allowed"

# Oversized body (by Content-Length and by chunks) and oversized head.
head -c 70000 /dev/zero | tr '\0' 'a' >"$TMP/big"
assert_eq "$(status -H 'Content-Type: application/json' --data-binary @"$TMP/big" "$U/test/echo")" 413 "body over max_body"
assert_contains "$(cat "$TMP/e")" '"error":"payload_too_large"' "413 body"
assert_eq "$(status -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
	--data-binary @"$TMP/big" "$U/test/echo")" 413 "chunked body over max_body"
assert_eq "$(status -H "X-Big: $(head -c 5000 /dev/zero | tr '\0' b)" "$U/test/echo")" 431 "head over max_header"
assert_contains "$(cat "$TMP/e")" '"error":"headers_too_large"' "431 body"

# Smuggling: Content-Length with Transfer-Encoding, two Content-Lengths.
raw() { printf "$1" | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$P; cat >&3; cat <&3" || true; }
out=$(raw 'POST /test/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer rep-key\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
assert_contains "$out" "HTTP/1.1 400" "CL + TE refused"
assert_contains "$out" '"error":"bad_request"' "400 JSON body"
out=$(raw 'POST /test/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer rep-key\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}')
assert_contains "$out" "HTTP/1.1 400" "duplicate Content-Length refused"
out=$(raw 'GARBAGE\r\n\r\n')
assert_contains "$out" "HTTP/1.1 400" "garbage request line"

# An upstream that smuggles or garbles its framing: 502, and none of its body.
for kind in cl-te dup-cl bad-chunk short huge-header garbage; do
	assert_eq "$(status "$U/test/raw?kind=$kind")" 502 "upstream framing '$kind'"
	assert_not_contains "$(cat "$TMP/e")" "leak@example.com" "nothing of the '$kind' body"
done
# A body delimited by the close is a valid (if old-fashioned) response.
assert_eq "$(status "$U/test/raw?kind=no-length")" 200 "close-delimited upstream body"

# The process is still serving after all that.
assert_eq "$(status "$U/test/echo")" 200 "still serving"
echo ok
