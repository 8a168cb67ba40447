#!/usr/bin/env bash
# The audit log under faults: a full disk makes requests that need decisions
# fail closed with 503 and custos recovers by itself once there is room; a
# kill -9 under load leaves a log that verifies, and the restarted chain
# continues it.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

start_democrm
P=$(pick_port)
mkdir -p "$TMP/audit"
# A small file system of its own for the audit log, when this machine lets
# us mount one (CI and developers run as root).
small=0
if mount -t tmpfs -o size=16m tmpfs "$TMP/audit" 2>/dev/null; then
	small=1
	trap 'r=$?; umount "$TMP/audit" 2>/dev/null; (exit $r); cleanup' EXIT
fi
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
audit: {dir: audit, fsync: batch, checkpoint_every: 50}
policies: [$ROOT/policies/examples/crm.yaml]
YAML
"$CUSTOS" keys init -c "$TMP/custos.yaml" >/dev/null || fail "keys init"
"$CUSTOS" keys export-public -c "$TMP/custos.yaml" >"$TMP/audit.pub"
start_custos "$TMP/custos.yaml"
U=http://127.0.0.1:$P/api/customers/1
get() { curl -sS -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer rep-key' "$U" || true; }

assert_eq "$(get)" 200 "serving with the audit log on"

if [ $small -eq 1 ]; then
	# Fill the file system: the next records cannot be written.
	dd if=/dev/zero of="$TMP/audit/filler" bs=4k 2>/dev/null
	codes=""
	for i in $(seq 30); do codes="$codes $(get)"; sleep 0.05; done
	echo "with the disk full:$codes"
	assert_contains "$codes" "503" "requests fail closed while the log cannot be written"
	body=$(curl -sS -H 'Authorization: Bearer rep-key' "$U")
	assert_contains "$body" '"error":"audit_unavailable"' "503 names the audit log"
	assert_not_contains "$body" "example.org" "nothing of the CRM's answer passes"
	rm -f "$TMP/audit/filler"
	ok=0
	for i in $(seq 50); do
		[ "$(get)" = 200 ] && { ok=1; break; }
		sleep 0.2
	done
	[ $ok -eq 1 ] || fail "custos did not recover after the disk had room again"
	ok "recovered by itself once there was room"
else
	echo "skipped the disk-full case: cannot mount a tmpfs here"
fi

# kill -9 under load.
for c in 1 2 3; do
	( for i in $(seq 200); do get >/dev/null; done ) &
done
sleep 1
kill -9 "$CUSTOS_PID"
wait "$CUSTOS_PID" 2>/dev/null
sleep 0.5
"$CUSTOS" audit verify "$TMP/audit" --public-key "$TMP/audit.pub" >"$TMP/v1" 2>&1 ||
	fail "verify after kill -9: $(cat "$TMP/v1")"
seq1=$(sed -n 's/^head: seq \([0-9]*\).*/\1/p' "$TMP/v1")
echo "after kill -9: $(head -1 "$TMP/v1"), head seq $seq1"
start_custos "$TMP/custos.yaml"
codes=""
for i in $(seq 20); do codes="$codes $(get)"; done
assert_not_contains "$codes" "503" "serving after the restart:$codes"
stop_pid "$CUSTOS_PID" TERM
"$CUSTOS" audit verify "$TMP/audit" --public-key "$TMP/audit.pub" >"$TMP/v2" 2>&1 ||
	fail "verify after restart: $(cat "$TMP/v2")"
seq2=$(sed -n 's/^head: seq \([0-9]*\).*/\1/p' "$TMP/v2")
[ "${seq2:-0}" -gt "${seq1:-0}" ] || fail "the chain did not continue ($seq1 -> $seq2)"
assert_contains "$(cat "$TMP/v2")" "intact" "the restarted chain verifies"
echo "restarted chain: head seq $seq1 -> $seq2"
echo ok
