#!/usr/bin/env bash
# Keep-alive reuse to the upstream, 200 concurrent clients without an error,
# and the 1 KB / 10 KB bodies intact under concurrency.
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
  - {match: "* /**", upstream: crm}
principals:
  - {name: rep-app, roles: [sales_rep], api_key_sha256: "$(sha256hex rep-key)"}
YAML
start_custos "$TMP/custos.yaml"
U=http://127.0.0.1:$P

before=$(curl -sS "http://127.0.0.1:$DEMO_PORT/test/conns" | python3 -c 'import json,sys; print(json.load(sys.stdin)["connections"])')
# 50 sequential requests on separate client connections.
for i in $(seq 50); do
	curl -sS -o /dev/null -H 'Authorization: Bearer rep-key' "$U/api/customers/1"
done
after=$(curl -sS "http://127.0.0.1:$DEMO_PORT/test/conns" | python3 -c 'import json,sys; print(json.load(sys.stdin)["connections"])')
opened=$((after - before - 1))
echo "upstream connections opened for 50 requests: $opened"
[ "$opened" -le 4 ] || fail "keep-alive to the upstream not reused ($opened connections for 50 requests)"

# 200 concurrent clients, each 5 requests; every response must be 200 and whole.
expect=$(curl -sS "http://127.0.0.1:$DEMO_PORT/api/customers" | wc -c)
seq 200 | xargs -P 200 -I{} sh -c "for j in 1 2 3 4 5; do curl -sS -o /dev/null -w '%{http_code} %{size_download}\n' -H 'Authorization: Bearer rep-key' $U/api/customers; done" >"$TMP/results" 2>&1 || true
total=$(wc -l <"$TMP/results")
good=$(grep -c "^200 $expect\$" "$TMP/results" || true)
echo "concurrent: $good of $total good"
assert_eq "$total" 1000 "all requests answered"
assert_eq "$good" 1000 "all 200 with the whole body"
# The server is still healthy and holds no connection after the load.
sleep 0.5
curl -sS -o /dev/null -H 'Authorization: Bearer rep-key' "$U/api/customers/1" || fail "not serving after load"
echo ok
