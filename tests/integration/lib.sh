# tests/integration/lib.sh — sourced by every integration scenario (bash).
#
# Each scenario is one file, run by tests/scripts/run-tests.sh as
# `bash tests/integration/t_NAME.sh` with CUSTOS (the binary) and FIXTURES
# (the built fixtures) in the environment. It sources this file, starts real
# processes on 127.0.0.1 with ports picked at run time, asserts, and exits 0
# on success. Everything it started is killed by PID on exit, and its
# temporary directory ($TMP) removed (kept when KEEP_TMP=1, for debugging).
#
#   . "$(dirname "$0")/lib.sh"
#   start_democrm
#   gen_config "$TMP/custos.yaml"
#   start_custos "$TMP/custos.yaml"
#   body=$(curl -s -H "Authorization: Bearer $API_KEY" "$CUSTOS_URL/api/customers")
#   assert_contains "$body" '"customers"' "list passes"

# shellcheck disable=SC2034 # STOP_STATUS, CUSTOS_URL ... are for the scenarios
set -u
set -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CUSTOS=${CUSTOS:-$ROOT/build/custos}
FIXTURES=${FIXTURES:-$ROOT/build/fixtures}
TEST_NAME=$(basename "${0%.sh}")
TMP=$(mktemp -d "${TMPDIR:-/tmp}/custos-$TEST_NAME.XXXXXX")
PIDS=()
CHECKS=0

# ------------------------------------------------------------- reporting

# fail MESSAGE: the scenario fails here; the last lines of every log in $TMP
# are shown, since a red test with no context costs the reader a rerun.
fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	local f
	for f in "$TMP"/*.log; do
		[ -s "$f" ] || continue
		echo "--- last lines of $(basename "$f"):" >&2
		tail -15 "$f" >&2
	done
	exit 1
}

ok() {
	CHECKS=$((CHECKS + 1))
	echo "ok $CHECKS - $*"
}

# assert_eq ACTUAL EXPECTED [WHAT]
assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-values differ}: expected [$2], got [$(printf %s "$1" | head -c 2000)]"
	ok "${3:-equal: $2}"
}

# assert_contains HAYSTACK NEEDLE [WHAT] (fixed string)
assert_contains() {
	case "$1" in
	*"$2"*) ok "${3:-contains $2}" ;;
	*) fail "${3:-missing text}: [$2] not in [$(printf %s "$1" | head -c 2000)]" ;;
	esac
}

# assert_not_contains HAYSTACK NEEDLE [WHAT] (fixed string)
assert_not_contains() {
	case "$1" in
	*"$2"*) fail "${3:-unexpected text}: [$2] found in [$(printf %s "$1" | head -c 2000)]" ;;
	*) ok "${3:-does not contain $2}" ;;
	esac
}

# assert_file_not_contains FILE NEEDLE [WHAT]: for bodies too big for a variable
assert_file_not_contains() {
	if grep -qF -- "$2" "$1"; then
		fail "${3:-unexpected text}: [$2] found in $1"
	fi
	ok "${3:-$1 does not contain $2}"
}

# --------------------------------------------------------------- helpers

# sha256hex STRING: what api_key_sha256 / token_sha256 hold
sha256hex() {
	printf %s "$1" | sha256sum | cut -d' ' -f1
}

# pick_port: a port free on 127.0.0.1 right now
pick_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null && return
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

# port_open PORT: true when something accepts on 127.0.0.1:PORT
port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_port PORT [SECONDS] [PID]: waits until PORT accepts; false on timeout
# or when PID (if given) has exited meanwhile
wait_port() {
	local port=$1 i n=$(( ${2:-10} * 20 )) pid=${3:-}
	for ((i = 0; i < n; i++)); do
		port_open "$port" && return 0
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.05
	done
	return 1
}

# track PID: kill it at exit
track() {
	PIDS+=("$1")
}

# stop_pid PID [SIGNAL]: signals PID (TERM by default), waits up to 5 s for
# it to exit, then kills it. Sets STOP_STATUS to its exit status.
stop_pid() {
	local pid=$1 sig=${2:-TERM} i
	STOP_STATUS=
	kill -"$sig" "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; STOP_STATUS=$?; return 0; }
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	STOP_STATUS=$?
}

# rss_kb PID / fd_count PID: for the bounded-memory and no-leak checks
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

fd_count() {
	ls "/proc/$1/fd" 2>/dev/null | wc -l
}

# ------------------------------------------------------------- processes

DEMO_N=0
# start_democrm [ARGS...]: starts the demo CRM on a free port (--port 0; it
# prints the port first). Sets DEMO_PORT, DEMO_PID, DEMO_URL (https:// when
# --tls is among ARGS) and DEMO_LOG. Can be called again for a second one.
start_democrm() {
	local out scheme=http a i
	DEMO_N=$((DEMO_N + 1))
	out="$TMP/democrm.$DEMO_N.out"
	DEMO_LOG="$TMP/democrm.$DEMO_N.log"
	for a in "$@"; do
		[ "$a" = --tls ] && scheme=https
	done
	[ -x "$FIXTURES/democrm" ] || fail "no $FIXTURES/democrm (make build/fixtures/democrm)"
	"$FIXTURES/democrm" --port 0 --data "$ROOT/tests/data" "$@" >"$out" 2>"$DEMO_LOG" &
	DEMO_PID=$!
	track "$DEMO_PID"
	DEMO_PORT=
	for ((i = 0; i < 200; i++)); do
		DEMO_PORT=$(sed -n '1s/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$out" 2>/dev/null)
		[ -n "$DEMO_PORT" ] && break
		kill -0 "$DEMO_PID" 2>/dev/null || fail "democrm exited: $(cat "$DEMO_LOG")"
		sleep 0.05
	done
	[ -n "$DEMO_PORT" ] || fail "democrm did not print its port"
	DEMO_URL="$scheme://127.0.0.1:$DEMO_PORT"
}

# start_custos CONFIG [PORT]: runs `$CUSTOS serve -c CONFIG` in the
# background (output in $TMP/custos.N.log, CUSTOS_LOG) and waits up to 10 s
# until PORT accepts. PORT defaults to $CUSTOS_PORT, else the first
# "address: HOST:PORT" in CONFIG. Sets CUSTOS_PID and CUSTOS_URL. Fails the
# scenario when custos exits or never listens; for a start that is meant to
# fail, run "$CUSTOS" directly.
CUSTOS_N=0
start_custos() {
	local config=$1 port=${2:-${CUSTOS_PORT:-}}
	CUSTOS_N=$((CUSTOS_N + 1))
	CUSTOS_LOG="$TMP/custos.$CUSTOS_N.log"
	if [ -z "$port" ]; then
		port=$(sed -n 's/.*address:[[:space:]]*"\{0,1\}[^"]*:\([0-9][0-9]*\)"\{0,1\}.*/\1/p' "$config" | head -1)
	fi
	[ -n "$port" ] || fail "start_custos: no port for $config"
	[ -x "$CUSTOS" ] || fail "no custos binary at $CUSTOS"
	"$CUSTOS" serve -c "$config" >"$CUSTOS_LOG" 2>&1 &
	CUSTOS_PID=$!
	track "$CUSTOS_PID"
	wait_port "$port" 10 "$CUSTOS_PID" ||
		fail "custos did not listen on 127.0.0.1:$port"
	CUSTOS_URL="http://127.0.0.1:$port"
}

# gen_config FILE: a minimal custos config in FILE — one listener on a free
# port (CUSTOS_PORT), the upstream `crm` at $DEMO_URL, one route "* /**"
# (non-JSON passes), one principal rep-app (role sales_rep) whose key is
# $API_KEY. Append to the file or write your own for anything more.
API_KEY=${API_KEY:-test-key-$RANDOM$RANDOM}
gen_config() {
	local file=$1
	CUSTOS_PORT=$(pick_port)
	cat >"$file" <<EOF
listen:
  - address: 127.0.0.1:$CUSTOS_PORT
workers: 1
upstreams:
  crm:
    url: ${DEMO_URL:?start_democrm first}
routes:
  - {match: "* /**", upstream: crm, non_json: pass}
principals:
  - {name: rep-app, roles: [sales_rep], api_key_sha256: "$(sha256hex "$API_KEY")"}
EOF
}

# gen_tls DIR: with the openssl CLI, a CA (ca.crt, ca.key), a server
# certificate for 127.0.0.1 and localhost (server.crt, server.key), a client
# certificate with subject CN=bi.example.com (client.crt, client.key), and
# the same client subject from another CA (other-ca.crt, other-client.crt,
# other-client.key) for the negative mTLS cases.
gen_tls() {
	local d=$1
	mkdir -p "$d"
	(
		set -e
		cd "$d"
		q() { "$@" >/dev/null 2>&1; }
		q openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=custos test CA" \
			-keyout ca.key -out ca.crt -addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign
		q openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
			-keyout server.key -out server.csr
		printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
			"basicConstraints=CA:FALSE" "extendedKeyUsage=serverAuth" >server.ext
		q openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-days 2 -extfile server.ext -out server.crt
		printf '%s\n' "basicConstraints=CA:FALSE" "extendedKeyUsage=clientAuth" >client.ext
		q openssl req -newkey rsa:2048 -nodes -subj "/CN=bi.example.com" \
			-keyout client.key -out client.csr
		q openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
			-days 2 -extfile client.ext -out client.crt
		q openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" \
			-keyout other-ca.key -out other-ca.crt -addext basicConstraints=critical,CA:TRUE
		q openssl req -newkey rsa:2048 -nodes -subj "/CN=bi.example.com" \
			-keyout other-client.key -out other-client.csr
		q openssl x509 -req -in other-client.csr -CA other-ca.crt -CAkey other-ca.key \
			-CAcreateserial -days 2 -extfile client.ext -out other-client.crt
		rm -f ./*.csr ./*.ext ./*.srl
	) || fail "gen_tls: openssl failed in $d"
}

# --------------------------------------------------------------- cleanup

cleanup() {
	local rc=$? pid i
	trap - EXIT
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for ((i = 0; i < 40; i++)); do
		local alive=0
		for pid in "${PIDS[@]}"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		[ $alive -eq 0 ] && break
		sleep 0.05
	done
	for pid in "${PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
	[ $rc -eq 0 ] && echo "PASS: $TEST_NAME ($CHECKS checks)"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
