# tests/bench/proxy-policy.sh — sourced by tests/bench/run.sh (issue 5): the
# example CRM policy end to end, with the audit log on and off, against nginx
# as a plain reverse proxy; then one 100 MB document through the policy:
# time to first byte, total time and custos' peak RSS.

"$BUILD/custos" keys init --dir "$TMP/keys" --master-key-file "$TMP/master.key" >/dev/null 2>&1 ||
	say "custos keys init failed: policy runs will not start"
POLICY_YAML="keys: {dir: $TMP/keys, master_key_file: $TMP/master.key}
policies: [$ROOT/policies/examples/crm.yaml]"

custos_config "$TMP/policy.yaml" "$POLICY_YAML"
bench_proxy "11 KB list of 20 customers, full CRM policy (sales_rep), audit off" \
	"$TMP/policy.yaml" /api/customers
custos_config "$TMP/policy-audit.yaml" "$POLICY_YAML
audit: {dir: $TMP/audit, fsync: batch}"
bench_proxy "11 KB list of 20 customers, full CRM policy (sales_rep), audit on" \
	"$TMP/policy-audit.yaml" /api/customers

# 100 MB: first byte, whole body, RSS (custos with the policy, audit on).
if [ "$CUSTOS_OK" -eq 1 ]; then
	say ""
	say "-- 100 MB document through the full policy (GET /test/size?bytes=104857600)"
	big=104857600
	rss_peak=0
	curl -s -o /dev/null -H "Authorization: Bearer $API_KEY" \
		-w '%{http_code} %{time_starttransfer} %{time_total} %{size_download}\n' \
		"http://127.0.0.1:$CUSTOS_PORT/test/size?bytes=$big" >"$TMP/big.txt" &
	cpid=$!
	while kill -0 "$cpid" 2>/dev/null; do
		r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$CUSTOS_PID/status" 2>/dev/null)
		[ "${r:-0}" -gt "$rss_peak" ] && rss_peak=$r
		sleep 0.05
	done
	wait "$cpid"
	read -r code ttfb total size <"$TMP/big.txt"
	printf '   custos: status %s, %s bytes, first byte %s ms, whole body %s s, peak RSS %d MB\n' \
		"$code" "$size" "$(awk -v t="$ttfb" 'BEGIN { printf "%.1f", t * 1000 }')" \
		"$(awk -v t="$total" 'BEGIN { printf "%.2f", t }')" $((rss_peak / 1024))
	say "   (targets: first byte within 50 ms, whole body under 1 s, RSS under 64 MB)"
fi
