#!/usr/bin/env bash
# `make run`: starts the demo CRM upstream and custos in front of it with
# policies/examples/demo.yaml, prints what to try, and stops both on Ctrl-C.
set -u
BUILD=${BUILD:-build}
cfg=policies/examples/demo.yaml
for port in 8000 8080 9090; do
	if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
		echo "make run: port $port is in use; stop what listens there first" >&2
		exit 1
	fi
done 2>/dev/null
mkdir -p var
if [ ! -d var/keys ]; then
	echo "make run: creating the demo keyring in var/keys (custos keys init)"
	"$BUILD/custos" keys init -c "$cfg" || exit 1
fi
"$BUILD/custos" check -c "$cfg" || exit 1
"$BUILD/fixtures/democrm" --port 8000 --data tests/data >var/democrm.log 2>&1 &
crm=$!
"$BUILD/custos" serve -c "$cfg" &
custos=$!
trap 'kill $custos $crm 2>/dev/null; wait $custos $crm 2>/dev/null; echo; echo "make run: stopped"; exit 0' INT TERM
sleep 1
if ! kill -0 $custos 2>/dev/null || ! kill -0 $crm 2>/dev/null; then
	echo "make run: custos or the demo CRM did not start (see above and var/democrm.log)" >&2
	kill $custos $crm 2>/dev/null
	exit 1
fi
cat <<TXT

custos demo
  proxy  http://127.0.0.1:8080   (in front of the demo CRM on http://127.0.0.1:8000)
  admin  http://127.0.0.1:9090

Try:
  curl -s -H 'Authorization: Bearer demo-rep-key' http://127.0.0.1:8080/api/customers/1
  curl -s -H 'Authorization: Bearer demo-ai-key' http://127.0.0.1:8080/api/customers
  curl -s -i http://127.0.0.1:8080/api/customers                      # 401: no key
  curl -s -H 'Authorization: Bearer demo-rep-key' http://127.0.0.1:8080/nowhere   # 404
  curl -s http://127.0.0.1:9090/healthz
  curl -s -H 'Authorization: Bearer demo-admin-token' http://127.0.0.1:9090/metrics
  curl -s -X POST -H 'Authorization: Bearer demo-admin-token' http://127.0.0.1:9090/v1/reload
  # outreach: the AI assistant may write to a person once a day (twice: 429;
  # from 21:00 to 08:00 Berlin time every message waits: quiet hours)
  curl -s -H 'Authorization: Bearer demo-ai-key' -H 'Content-Type: application/json' \
    -d '{"to": "ines@example.com", "channel": "email"}' http://127.0.0.1:8080/api/messages

Demo API keys: demo-rep-key (sales_rep), demo-manager-key (manager),
demo-analyst-key (analyst), demo-ai-key (ai_assistant), demo-marketing-key (marketing).
Press Ctrl-C to stop.
TXT
wait $custos
kill $crm 2>/dev/null
