#!/bin/sh
# tests/bench/run.sh — the `make bench` driver. Prints figures, never
# passes or fails on them.
#
# 1. Runs every program in $BUILD/bench/ (the C micro-benchmarks) and shows
#    their output.
# 2. Proxy benchmark (issue 2): wrk through custos and through nginx as a
#    plain reverse proxy, to the same demo CRM upstream in the same run, on a
#    1 KB and a 10 KB JSON body; req/s, p99 and the custos/nginx ratios.
#
# Everything listens on 127.0.0.1 on ports picked at run time and is killed
# by PID at exit. Knobs (environment): BENCH_DURATION (10s), BENCH_THREADS
# (2), BENCH_CONNS (64), BENCH_SKIP_MICRO=1, BENCH_SKIP_PROXY=1,
# BENCH_MICRO_TIMEOUT (seconds per micro-benchmark, 600).
#
# Later cases call `bench_proxy NAME CONFIG PATH` (see the end of this file),
# or live in tests/bench/proxy-*.sh, which are sourced after the built-in
# cases with every function and variable below available (CUSTOS_PORT,
# DEMO_URL, API_KEY, TMP, custos_config ...).
set -u

BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
case $BUILD in
/*) ;;
*) BUILD=$ROOT/$BUILD ;;
esac
DURATION=${BENCH_DURATION:-10s}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNS:-64}
API_KEY=bench-key-$$-$(date +%s)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/custos-bench.XXXXXX") || exit 1
PIDS=""
CUSTOS_PID=""
CUSTOS_CONFIG=""
CUSTOS_OK=0
NGINX_OK=0

cleanup() {
	trap - EXIT INT TERM
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	i=0
	while [ $i -lt 40 ]; do
		alive=0
		for p in $PIDS; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		[ $alive -eq 0 ] && break
		sleep 0.05
		i=$((i + 1))
	done
	for p in $PIDS; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() {
	printf '%s\n' "$*"
}

pick_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_port PORT PID: up to 10 s for 127.0.0.1:PORT to accept while PID lives
wait_port() {
	i=0
	while [ $i -lt 200 ]; do
		# a refused connection is curl's 7; anything else is a listener
		curl -s -o /dev/null -m 1 "http://127.0.0.1:$1/"
		[ $? -ne 7 ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

stop_pid() {
	kill -TERM "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	np=""
	for p in $PIDS; do
		[ "$p" = "$1" ] || np="$np $p"
	done
	PIDS=$np
}

# ------------------------------------------------------- micro-benchmarks

run_micro() {
	found=0
	for b in "$BUILD"/bench/*; do
		[ -f "$b" ] && [ -x "$b" ] || continue
		found=1
		say ""
		say "== $(basename "$b")"
		timeout "${BENCH_MICRO_TIMEOUT:-600}" "$b"
		rc=$?
		[ $rc -ne 0 ] && say "($(basename "$b") exited with status $rc)"
	done
	[ $found -eq 0 ] && say "(no micro-benchmarks in $BUILD/bench/)"
}

# ------------------------------------------------------------- processes

start_democrm() {
	"$BUILD/fixtures/democrm" --port 0 --data "$ROOT/tests/data" \
		>"$TMP/democrm.out" 2>"$TMP/democrm.log" &
	DEMO_PID=$!
	PIDS="$PIDS $DEMO_PID"
	i=0
	DEMO_PORT=""
	while [ $i -lt 200 ] && [ -z "$DEMO_PORT" ]; do
		DEMO_PORT=$(sed -n '1s/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$TMP/democrm.out")
		[ -n "$DEMO_PORT" ] && break
		kill -0 "$DEMO_PID" 2>/dev/null || break
		sleep 0.05
		i=$((i + 1))
	done
	if [ -z "$DEMO_PORT" ]; then
		say "democrm did not start:"
		cat "$TMP/democrm.log"
		return 1
	fi
	DEMO_URL=http://127.0.0.1:$DEMO_PORT
}

# nginx as a plain reverse proxy with upstream keep-alive, as an operator
# would configure it for this job.
nginx_conf() {
	user=""
	[ "$(id -u)" -eq 0 ] && user="user root;"
	mkdir -p "$TMP/nginx/logs"
	cat >"$TMP/nginx.conf" <<EOF
$user
daemon off;
master_process on;
worker_processes auto;
error_log stderr;
pid $TMP/nginx/nginx.pid;
events {
	worker_connections 4096;
}
http {
	access_log off;
	client_body_temp_path $TMP/nginx/body;
	proxy_temp_path $TMP/nginx/proxy;
	$1
	upstream democrm {
		server 127.0.0.1:$DEMO_PORT;
		keepalive 64;
	}
	server {
		listen 127.0.0.1:$NGINX_PORT;
		location / {
			proxy_pass http://democrm;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
EOF
}

start_nginx() {
	if ! command -v nginx >/dev/null 2>&1; then
		say "nginx: not installed"
		return 1
	fi
	NGINX_PORT=$(pick_port)
	# the other temp paths only where this nginx has the modules
	nginx_conf "fastcgi_temp_path $TMP/nginx/fastcgi; uwsgi_temp_path $TMP/nginx/uwsgi; scgi_temp_path $TMP/nginx/scgi;"
	if ! nginx -t -q -e stderr -p "$TMP/nginx" -c "$TMP/nginx.conf" 2>/dev/null; then
		nginx_conf ""
	fi
	nginx -e stderr -p "$TMP/nginx" -c "$TMP/nginx.conf" >"$TMP/nginx.log" 2>&1 &
	NGINX_PID=$!
	PIDS="$PIDS $NGINX_PID"
	if ! wait_port "$NGINX_PORT" "$NGINX_PID"; then
		say "nginx: did not start:"
		tail -5 "$TMP/nginx.log"
		return 1
	fi
	NGINX_OK=1
}

# custos_config FILE [EXTRA]: one listener, the democrm upstream, one route
# "* /**", one principal with $API_KEY; EXTRA (YAML text) is appended, e.g.
# a policies: list for the full-policy runs.
custos_config() {
	sum=$(printf %s "$API_KEY" | sha256sum | cut -d' ' -f1)
	cat >"$1" <<EOF
listen:
  - address: 127.0.0.1:$CUSTOS_PORT
workers: auto
upstreams:
  crm:
    url: $DEMO_URL
routes:
  - {match: "* /**", upstream: crm}
principals:
  - {name: bench, roles: [sales_rep], api_key_sha256: "$sum"}
EOF
	[ $# -ge 2 ] && printf '%s\n' "$2" >>"$1"
	return 0
}

# start_custos CONFIG: (re)starts custos on CONFIG; CUSTOS_OK says whether it
# serves a 2xx for /healthz-free probe of /api/customers/1 with the key.
start_custos() {
	[ -n "$CUSTOS_PID" ] && stop_pid "$CUSTOS_PID"
	CUSTOS_PID=""
	CUSTOS_OK=0
	CUSTOS_CONFIG=$1
	if [ ! -x "$BUILD/custos" ]; then
		say "custos: not available (no $BUILD/custos)"
		return 1
	fi
	"$BUILD/custos" serve -c "$1" >"$TMP/custos.log" 2>&1 &
	CUSTOS_PID=$!
	PIDS="$PIDS $CUSTOS_PID"
	if ! wait_port "$CUSTOS_PORT" "$CUSTOS_PID"; then
		say "custos: not available (it did not start; last lines of its log:)"
		tail -5 "$TMP/custos.log" | sed 's/^/    /'
		stop_pid "$CUSTOS_PID"
		CUSTOS_PID=""
		return 1
	fi
	code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' \
		-H "Authorization: Bearer $API_KEY" "http://127.0.0.1:$CUSTOS_PORT/api/customers/1")
	case $code in
	2??) CUSTOS_OK=1 ;;
	*)
		say "custos: not available (GET /api/customers/1 through it gave $code)"
		return 1
		;;
	esac
}

# --------------------------------------------------------------- wrk runs

# wrk_run URL OUTFILE: one measured run after a 1 s warm-up (connection
# pools filled, caches warm).
wrk_run() {
	wrk -t"$THREADS" -c"$CONNS" -d1s -s "$TMP/auth.lua" "$1" >/dev/null 2>&1
	wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$TMP/auth.lua" "$1" >"$2" 2>&1
}

# wrk_fields FILE: "REQS P99_MS NON2XX ERRORS" from wrk's report
wrk_fields() {
	awk '
	function ms(v) {
		if (v ~ /us$/) return v / 1000
		if (v ~ /ms$/) return v + 0
		if (v ~ /m$/) return v * 60000
		if (v ~ /s$/) return v * 1000
		return v + 0
	}
	/^Requests\/sec:/ { rps = $2 }
	/^ *99%/ { p99 = ms($2) }
	/Non-2xx or 3xx responses:/ { bad = $NF }
	/Socket errors:/ {
		for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) { v = $i; sub(",", "", v); err += v }
	}
	END { printf "%s %s %d %d\n", (rps == "" ? "-" : rps), (p99 == "" ? "-" : sprintf("%.2f", p99)), bad, err }
	' "$1"
}

# bench_proxy NAME CONFIG PATH: wrk on PATH through nginx and through custos
# (started on CONFIG unless it already runs on it), one line each, then the
# ratios. Later issues call this for their cases (full policy, bigger
# bodies) with their own CONFIG written by custos_config.
bench_proxy() {
	name=$1 config=$2 path=$3
	say ""
	say "-- $name: GET $path"
	if [ $NGINX_OK -eq 1 ]; then
		wrk_run "http://127.0.0.1:$NGINX_PORT$path" "$TMP/wrk-nginx.txt"
		# shellcheck disable=SC2046 # four words, split on purpose
		set -- $(wrk_fields "$TMP/wrk-nginx.txt")
		n_rps=$1 n_p99=$2
		printf '   %-8s %12s req/s   p99 %9s ms   non-2xx %s   socket errors %s\n' \
			nginx "$1" "$2" "$3" "$4"
	else
		n_rps=- n_p99=-
		say "   nginx    not available"
	fi
	if [ "$CUSTOS_CONFIG" != "$config" ] || [ $CUSTOS_OK -eq 0 ] ||
	    ! kill -0 "$CUSTOS_PID" 2>/dev/null; then
		start_custos "$config" >"$TMP/start.txt" 2>&1
	fi
	if [ $CUSTOS_OK -eq 1 ]; then
		wrk_run "http://127.0.0.1:$CUSTOS_PORT$path" "$TMP/wrk-custos.txt"
		# shellcheck disable=SC2046 # four words, split on purpose
		set -- $(wrk_fields "$TMP/wrk-custos.txt")
		c_rps=$1 c_p99=$2
		printf '   %-8s %12s req/s   p99 %9s ms   non-2xx %s   socket errors %s\n' \
			custos "$1" "$2" "$3" "$4"
		if [ "$n_rps" != - ] && [ "$c_rps" != - ] && [ "$n_p99" != - ] && [ "$c_p99" != - ]; then
			awk -v cr="$c_rps" -v nr="$n_rps" -v cp="$c_p99" -v np="$n_p99" 'BEGIN {
				printf "   custos/nginx: %.2fx req/s, p99 %.2fx (target: >= 1.00x req/s, p99 <= 1.00x)\n",
				    cr / nr, (np > 0 ? cp / np : 0) }'
		fi
		[ -s "$TMP/wrk-custos.txt" ] && grep -q 'Non-2xx' "$TMP/wrk-custos.txt" &&
			say "   (custos answered non-2xx; see its log)"
	else
		sed 's/^/   /' "$TMP/start.txt"
		[ -z "$(cat "$TMP/start.txt")" ] && say "   custos: not available"
	fi
	return 0
}

# ------------------------------------------------------------------ main

if [ "${BENCH_SKIP_MICRO:-0}" != 1 ]; then
	say "== micro-benchmarks ($BUILD/bench/)"
	run_micro
fi

[ "${BENCH_SKIP_PROXY:-0}" = 1 ] && exit 0
say ""
say "== proxy benchmark: wrk -t$THREADS -c$CONNS -d$DURATION, nginx vs custos, same upstream (democrm), same run"
say "   $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); wrk, both proxies and the upstream share them"
if ! command -v wrk >/dev/null 2>&1; then
	say "wrk: not installed (tests/scripts/install-deps.sh bench)"
	exit 0
fi
if [ ! -x "$BUILD/fixtures/democrm" ]; then
	say "democrm: not built ($BUILD/fixtures/democrm)"
	exit 0
fi
start_democrm || exit 0
printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$API_KEY" >"$TMP/auth.lua"
start_nginx
CUSTOS_PORT=$(pick_port)
custos_config "$TMP/custos.yaml"
size1=$(curl -s "$DEMO_URL/api/customers/1" | wc -c)
size10=$(curl -s "$DEMO_URL/test/size?bytes=10240" | wc -c)

bench_proxy "1 KB body ($size1 bytes), no policy" "$TMP/custos.yaml" /api/customers/1
bench_proxy "10 KB body ($size10 bytes), no policy" "$TMP/custos.yaml" "/test/size?bytes=10240"

# Hooks: full-policy runs and bigger bodies (issues 3 and 5) go in
# tests/bench/proxy-*.sh, e.g.
#   custos_config "$TMP/policy.yaml" "policies: [$ROOT/policies/examples/crm.yaml]"
#   bench_proxy "11 KB list, full policy" "$TMP/policy.yaml" /api/customers
for f in "$ROOT"/tests/bench/proxy-*.sh; do
	[ -f "$f" ] || continue
	# shellcheck disable=SC1090
	. "$f"
done
say ""
exit 0
