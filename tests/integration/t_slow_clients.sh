#!/usr/bin/env bash
# Slow and idle clients cannot pin custos: a slowloris head is cut after
# client_timeout with 408, a client that stops sending its body likewise,
# thousands of idle connections leave it serving, a client that disconnects
# mid-response leaks nothing, and every connection is accounted for after.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

start_democrm
P=$(pick_port)
A=$(pick_port)
cat >"$TMP/custos.yaml" <<YAML
listen: [{address: 127.0.0.1:$P}]
admin:
  address: 127.0.0.1:$A
  tokens: [{name: ops, roles: [admin], token_sha256: "$(sha256hex ops-token)"}]
workers: 2
upstreams:
  crm: {url: "http://127.0.0.1:$DEMO_PORT"}
routes:
  - {match: "* /**", upstream: crm}
principals:
  - {name: rep-app, roles: [sales_rep], api_key_sha256: "$(sha256hex rep-key)"}
limits: {client_timeout: 1000, max_connections: 10000}
YAML
start_custos "$TMP/custos.yaml"
get() { curl -sS -m 5 -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer rep-key' \
	"http://127.0.0.1:$P/api/customers/1" || true; }
conns() { curl -sS -H 'Authorization: Bearer ops-token' "http://127.0.0.1:$A/metrics" |
	sed -n 's/^custos_connections \([0-9-]*\)$/\1/p'; }

python3 - "$P" >"$TMP/slow.out" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def drip(parts, pause):
    s = socket.create_connection(("127.0.0.1", port))
    t0 = time.time()
    try:
        for p in parts:
            s.sendall(p)
            time.sleep(pause)
    except OSError:
        pass
    s.settimeout(5)
    data = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
    except OSError:
        pass
    return time.time() - t0, data
# slowloris: one header byte every 100 ms, never finishing the head
head = b"GET /api/customers/1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer rep-key\r\nX-A: " + b"a" * 200
t, data = drip([head[i:i+1] for i in range(len(head))], 0.1)
print("slowloris", round(t, 1), data.split(b"\r\n")[0].decode(errors="replace"))
# a body that stops arriving
t, data = drip([b"POST /test/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer rep-key\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":"], 3)
print("slowbody", round(t, 1), data.split(b"\r\n")[0].decode(errors="replace"))
PY
cat "$TMP/slow.out"
grep -q '^slowloris .* HTTP/1.1 408' "$TMP/slow.out" || fail "slowloris head not cut with 408"
grep -q '^slowbody .* HTTP/1.1 408' "$TMP/slow.out" || fail "stalled body not cut with 408"
t=$(sed -n 's/^slowloris \([0-9.]*\) .*/\1/p' "$TMP/slow.out")
awk -v t="$t" 'BEGIN { exit !(t < 5) }' || fail "slowloris held the connection ${t}s"

# 3000 idle connections: custos keeps serving, then drops them after the timeout.
ulimit -n 16384 2>/dev/null
python3 - "$P" <<'PY' &
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(3000)]
time.sleep(3)
PY
idle=$!
sleep 1.2
assert_eq "$(get)" 200 "serving with 3000 idle connections open"
wait $idle
sleep 1.5
n=$(conns)
echo "open client connections after the idle ones went: $n"
[ "${n:-99}" -le 1 ] || fail "connections not released ($n)"

# Clients that hang up mid-response: nothing stays behind.
for i in $(seq 20); do
	curl -sS -m 0.3 -o /dev/null -H 'Authorization: Bearer rep-key' \
		"http://127.0.0.1:$P/test/stream?bytes=100000000" 2>/dev/null
done
sleep 1.5
n=$(conns)
[ "${n:-99}" -le 1 ] || fail "connections left after clients hung up mid-response ($n)"
assert_eq "$(get)" 200 "still serving"
fds=$(fd_count "$CUSTOS_PID")
echo "custos open files at the end: $fds"
[ "$fds" -lt 200 ] || fail "file descriptors leaked ($fds)"
echo ok
