#!/usr/bin/env bash
# Reload under load: clients keep sending while the configuration (with the
# example policy) is reloaded every 200 ms, alternating two valid versions and
# a broken one. No request may fail, and the version each response names must
# be one of the two valid ones.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

start_democrm
P=$(pick_port)
write_cfg() {
	cat >"$TMP/custos.yaml" <<YAML
listen: [{address: 127.0.0.1:$P}]
workers: 2
upstreams:
  crm: {url: "http://127.0.0.1:$DEMO_PORT"}
routes:
  - {match: "GET /api/customers/**", upstream: crm}
principals:
  - {name: rep-app, roles: [sales_rep], api_key_sha256: "$(sha256hex rep-key)"}
keys: {dir: keys, master_key_file: master.key}
policies: [$1]
YAML
}
sed 's/keep_last: 4/keep_last: 3/' "$ROOT/policies/examples/crm.yaml" >"$TMP/crm-b.yaml"
write_cfg "$ROOT/policies/examples/crm.yaml"
"$CUSTOS" keys init -c "$TMP/custos.yaml" >/dev/null || fail "keys init"
start_custos "$TMP/custos.yaml"
v1=$(curl -sS -D - -o /dev/null -H 'Authorization: Bearer rep-key' "http://127.0.0.1:$P/api/customers/1" |
	tr -d '\r' | sed -n 's/^X-Custos-Policy: //Ip')

# Four clients, each on its own keep-alive connection, for about 4 s.
clients=()
for c in 1 2 3 4; do
	(
		end=$((SECONDS + 4))
		while [ $SECONDS -lt $end ]; do
			args=()
			for i in $(seq 20); do
				args+=(-o /dev/null "http://127.0.0.1:$P/api/customers/1")
			done
			curl -sS -H 'Authorization: Bearer rep-key' \
				-w '%{http_code} %header{x-custos-policy}\n' "${args[@]}"
		done
	) >"$TMP/client.$c" 2>&1 &
	clients+=($!)
done
for i in $(seq 18); do
	case $((i % 3)) in
	0) write_cfg "$ROOT/policies/examples/crm.yaml" ;;
	1) write_cfg "$TMP/crm-b.yaml" ;;
	2) printf 'listen: [{address: 127.0.0.1:%s}]\nroutes: [{match: "GET /x", upstream: nope}]\n' "$P" >"$TMP/custos.yaml" ;;
	esac
	kill -HUP "$CUSTOS_PID"
	sleep 0.2
done
wait "${clients[@]}"
write_cfg "$TMP/crm-b.yaml"
kill -HUP "$CUSTOS_PID"
sleep 0.3
v2=$(curl -sS -D - -o /dev/null -H 'Authorization: Bearer rep-key' "http://127.0.0.1:$P/api/customers/1" |
	tr -d '\r' | sed -n 's/^X-Custos-Policy: //Ip')
[ "$v1" != "$v2" ] || fail "the two policy versions should differ"
cat "$TMP"/client.* >"$TMP/all"
total=$(wc -l <"$TMP/all")
good=$(grep -c "^200 " "$TMP/all")
other=$(grep -v "^200 \($v1\|$v2\)\$" "$TMP/all" | head -3)
echo "reload under load: $good of $total requests 200, $(grep -c 'reloaded' "$CUSTOS_LOG") reloads, $(grep -c 'reload failed' "$CUSTOS_LOG") refused"
[ "$total" -gt 100 ] || fail "too few requests ($total)"
assert_eq "$good" "$total" "no request lost during reloads"
[ -z "$other" ] || fail "a response named an unknown policy version: $other"
grep -q "reload failed" "$CUSTOS_LOG" || fail "the broken file was not refused"
echo ok
