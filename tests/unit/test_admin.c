/* tests/unit/test_admin.c — the admin API's pure parts: override bodies,
 * decision records read back from the audit log, explanations in words,
 * query strings, and what an override's action does to a decision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "audit/audit.h"
#include "policies/policies.h"
#include "proxy/internal.h"

#define NOW	((int64_t)1790000000000)	/* 2026-09-21 */

static int
parse(const char *body, struct admin_ovr_req *r, char *err, size_t size)
{
	err[0] = '\0';
	return admin_ovr_parse(body, strlen(body), NOW, r, err, size);
}

static void
test_ovr_parse_decision(void **state)
{
	struct admin_ovr_req	r;
	char			err[256];

	(void)state;
	assert_int_equal(parse("{\"decision_id\":\"abc.2\",\"action\":\"allow\","
	    "\"reason\":\"verified business contact\",\"expires\":"
	    "\"2026-12-01T00:00:00Z\"}", &r, err, sizeof(err)), 0);
	assert_string_equal(r.decision_id, "abc.2");
	assert_string_equal(r.action, "allow");
	assert_string_equal(r.reason, "verified business contact");
	assert_true(r.expires_ms > NOW);
	assert_int_equal(r.has_scope, 0);
	assert_null(r.rule);
	admin_ovr_req_clear(&r);
	admin_ovr_req_clear(NULL);
}

static void
test_ovr_parse_scope(void **state)
{
	struct admin_ovr_req	r;
	char			err[256];

	(void)state;
	assert_int_equal(parse("{\"scope\":{\"rule\":\"reps-mask-email\","
	    "\"route\":\"GET /api/**\",\"path\":\"$.items[*].email\","
	    "\"class\":\"email\",\"principal\":\"rep-app\",\"role\":"
	    "\"sales_rep\",\"fingerprint\":\"fp\\u0041\"},\"decision_id\":null,"
	    "\"action\":\"reclassify\",\"reason\":\"not personal\","
	    "\"expires\":\"2026-12-01\"}", &r, err, sizeof(err)), 0);
	assert_int_equal(r.has_scope, 1);
	assert_string_equal(r.rule, "reps-mask-email");
	assert_string_equal(r.route, "GET /api/**");
	assert_string_equal(r.path, "$.items[*].email");
	assert_string_equal(r.class_, "email");
	assert_string_equal(r.principal, "rep-app");
	assert_string_equal(r.role, "sales_rep");
	assert_string_equal(r.fingerprint, "fpA");
	assert_null(r.decision_id);
	admin_ovr_req_clear(&r);
}

/* A decision id is a request id (1 to 64 characters) and ".N". */
static void
test_ovr_parse_long_ids(void **state)
{
	struct admin_ovr_req	r;
	char			body[512], err[256], rid[66];

	(void)state;
	memset(rid, 'r', 64);
	rid[64] = '\0';
	snprintf(body, sizeof(body), "{\"decision_id\":\"%s.12\",\"action\":"
	    "\"allow\",\"reason\":\"r\",\"expires\":\"2099-01-01\"}", rid);
	assert_int_equal(parse(body, &r, err, sizeof(err)), 0);
	assert_int_equal(strlen(r.decision_id), 67);
	admin_ovr_req_clear(&r);
	strcat(rid, "r");			/* 65: no request id */
	snprintf(body, sizeof(body), "{\"decision_id\":\"%s.1\",\"action\":"
	    "\"allow\",\"reason\":\"r\",\"expires\":\"2099-01-01\"}", rid);
	assert_int_equal(parse(body, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a decision id"));
	snprintf(body, sizeof(body), "{\"decision_id\":\"%.64s.x\",\"action\":"
	    "\"allow\",\"reason\":\"r\",\"expires\":\"2099-01-01\"}", rid);
	assert_int_equal(parse(body, &r, err, sizeof(err)), -1);
}

static void
test_ovr_parse_errors(void **state)
{
	static const struct {
		const char	*body, *why;
	} bad[] = {
		{"", "not a valid JSON object"},
		{"[]", "must be a JSON object"},
		{"{\"decision_id\":", "not a valid JSON object"},
		{"{\"action\":\"allow\",\"reason\":\"r\",\"expires\":"
		    "\"2026-12-01\"}", "decision_id or scope is required"},
		{"{\"decision_id\":\"a.1\",\"scope\":{\"rule\":\"x\"},"
		    "\"action\":\"allow\",\"reason\":\"r\",\"expires\":"
		    "\"2026-12-01\"}", "not both"},
		{"{\"scope\":{},\"action\":\"allow\",\"reason\":\"r\","
		    "\"expires\":\"2026-12-01\"}", "at least one"},
		{"{\"scope\":{\"clas\":\"email\"},\"action\":\"allow\"}",
		    "'clas': unknown member"},
		{"{\"decision\":\"a.1\"}", "'decision': unknown member"},
		{"{\"scope\":{\"rule\":1}}", "'rule': must be a string"},
		{"{\"scope\":{\"rule\":{\"x\":1}}}", "'rule': must be a string"},
		{"{\"scope\":\"all\"}", "'scope': must be an object"},
		{"{\"action\":\"allow\",\"action\":\"deny\"}",
		    "'action': given twice"},
		{"{\"reason\":\"a\\u0000b\"}", "holds a NUL"},
		{"{\"decision_id\":\"a b\",\"action\":\"allow\",\"reason\":"
		    "\"r\",\"expires\":\"2026-12-01\"}", "not a decision id"},
		{"{\"decision_id\":\"a.1\",\"action\":\"reveal\",\"reason\":"
		    "\"r\",\"expires\":\"2026-12-01\"}", "action: required"},
		{"{\"decision_id\":\"a.1\",\"reason\":\"r\",\"expires\":"
		    "\"2026-12-01\"}", "action: required"},
		{"{\"decision_id\":\"a.1\",\"action\":\"allow\",\"reason\":"
		    "\" \",\"expires\":\"2026-12-01\"}", "reason: required"},
		{"{\"decision_id\":\"a.1\",\"action\":\"allow\",\"reason\":"
		    "\"she is jane.doe@example.com\",\"expires\":"
		    "\"2099-12-01\"}", "looks like personal data (email)"},
		{"{\"decision_id\":\"a.1\",\"action\":\"allow\",\"reason\":"
		    "\"called 13800138000\",\"expires\":\"2099-12-01\"}",
		    "looks like personal data"},
		{"{\"decision_id\":\"a.1\",\"action\":\"allow\",\"reason\":"
		    "\"r\"}", "expires: required"},
		{"{\"decision_id\":\"a.1\",\"action\":\"allow\",\"reason\":"
		    "\"r\",\"expires\":\"next week\"}", "not an RFC 3339"},
		{"{\"decision_id\":\"a.1\",\"action\":\"allow\",\"reason\":"
		    "\"r\",\"expires\":\"2020-01-01T00:00:00Z\"}",
		    "must be in the future"},
	};
	struct admin_ovr_req	r;
	char			err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(parse(bad[i].body, &r, err, sizeof(err)), -1);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("body %zu: [%s] does not say [%s]", i, err,
			    bad[i].why);
		/* cleared on failure: nothing to free, nothing left */
		assert_null(r.action);
		assert_null(r.reason);
		assert_null(r.rule);
	}
}

static const char record[] =
    "{\"seq\":7,\"time\":\"2026-11-27T04:26:47.123Z\",\"request_id\":\"r1\","
    "\"principal\":\"rep-app\",\"roles\":[\"sales_rep\",\"x\"],\"route\":"
    "\"GET /api/**\",\"direction\":\"response\",\"policy\":\"sha256:ab\","
    "\"status\":200,\"decisions\":[{\"id\":\"r1.1\",\"path\":"
    "\"$.items[*].phone\",\"class\":\"phone\",\"level\":\"restricted\","
    "\"confidence\":\"high\",\"evidence\":[\"field:phone\"],\"rule\":"
    "\"reps-mask-contacts\",\"action\":\"mask\",\"count\":3,\"override\":"
    "null,\"fingerprints\":[\"f1\",\"f2\"]},{\"id\":\"r1.2\",\"path\":"
    "\"$.items[*].email\",\"class\":\"email\",\"level\":\"restricted\","
    "\"confidence\":\"high\",\"evidence\":[\"field:email\",\"value:email\"],"
    "\"rule\":null,\"action\":\"redact\",\"count\":1,\"override\":null,"
    "\"fingerprints\":[\"f3\"],\"error\":\"key missing\"}],"
    "\"prev\":\"00\",\"hash\":\"11\"}";

static void
test_decision_parse(void **state)
{
	struct admin_decision	d;

	(void)state;
	assert_int_equal(admin_decision_parse(record, strlen(record), "r1.2",
	    &d), 1);
	assert_string_equal(d.id, "r1.2");
	assert_string_equal(d.request_id, "r1");
	assert_string_equal(d.principal, "rep-app");
	assert_int_equal(d.nroles, 2);
	assert_string_equal(d.roles[0], "sales_rep");
	assert_string_equal(d.route, "GET /api/**");
	assert_string_equal(d.direction, "response");
	assert_string_equal(d.policy, "sha256:ab");
	assert_int_equal(d.status, 200);
	assert_string_equal(d.path, "$.items[*].email");
	assert_string_equal(d.class_, "email");
	assert_null(d.rule);
	assert_string_equal(d.action, "redact");
	assert_int_equal(d.count, 1);
	assert_int_equal(d.nevidence, 2);
	assert_string_equal(d.evidence[1], "value:email");
	assert_int_equal(d.nfingerprints, 1);
	assert_string_equal(d.fingerprints[0], "f3");
	assert_string_equal(d.error, "key missing");
	admin_decision_clear(&d);

	assert_int_equal(admin_decision_parse(record, strlen(record), "r1.1",
	    &d), 1);
	assert_string_equal(d.rule, "reps-mask-contacts");
	assert_int_equal(d.count, 3);
	assert_int_equal(d.nfingerprints, 2);
	assert_null(d.error);
	admin_decision_clear(&d);

	assert_int_equal(admin_decision_parse(record, strlen(record), "r1.3",
	    &d), 0);
	assert_null(d.id);
	assert_int_equal(admin_decision_parse("{\"type\":\"checkpoint\"}", 22,
	    "r1.1", &d), 0);
	assert_int_equal(admin_decision_parse("{\"decisions\":[{\"id\":", 20,
	    "r1.1", &d), 0);
	admin_decision_clear(&d);
}

static char *
explain(const struct admin_decision *d, const struct audit_override *o)
{
	struct evbuffer	*b = evbuffer_new();
	char		*s;
	size_t		 n;

	admin_explain(d, o, b);
	n = evbuffer_get_length(b);
	s = calloc(1, n + 1);
	evbuffer_remove(b, s, n);
	evbuffer_free(b);
	return s;
}

static void
test_explain(void **state)
{
	struct admin_decision	 d;
	struct audit_override	 o;
	char			*s;

	(void)state;
	assert_int_equal(admin_decision_parse(record, strlen(record), "r1.1",
	    &d), 1);
	s = explain(&d, NULL);
	assert_string_equal(s, "The 3 values at $.items[*].phone in the "
	    "response of GET /api/** for rep-app were classified as phone "
	    "(restricted, confidence high; evidence: field:phone) and masked "
	    "by rule reps-mask-contacts of policy sha256:ab; no override "
	    "applied.");
	free(s);
	free(d.override);
	d.override = strdup("ovr-1");
	free(d.action);
	d.action = strdup("allow");
	memset(&o, 0, sizeof(o));
	o.author = "alice";
	o.reason = "verified";
	s = explain(&d, &o);
	assert_non_null(strstr(s, "and let through unchanged under override "
	    "ovr-1 (by alice: \"verified\"), which replaced what rule "
	    "reps-mask-contacts of policy sha256:ab decided."));
	free(s);
	admin_decision_clear(&d);

	assert_int_equal(admin_decision_parse(record, strlen(record), "r1.2",
	    &d), 1);
	s = explain(&d, NULL);
	assert_non_null(strstr(s, "The value at $.items[*].email"));
	assert_non_null(strstr(s, "by the policy default"));
	assert_non_null(strstr(s, "could not be applied (key missing)"));
	free(s);
	free(d.break_glass);
	d.break_glass = strdup("used");
	s = explain(&d, NULL);
	assert_non_null(strstr(s, "Break glass was used"));
	free(s);
	admin_decision_clear(&d);
}

static void
test_query(void **state)
{
	const char	*q = "since=2026-11-27T04%3A00%3A00Z&&rule=a+b&flag&x=";
	char		 k[32], v[64];

	(void)state;
	assert_int_equal(admin_query_next(&q, k, sizeof(k), v, sizeof(v)), 1);
	assert_string_equal(k, "since");
	assert_string_equal(v, "2026-11-27T04:00:00Z");
	assert_int_equal(admin_query_next(&q, k, sizeof(k), v, sizeof(v)), 1);
	assert_string_equal(k, "rule");
	assert_string_equal(v, "a b");
	assert_int_equal(admin_query_next(&q, k, sizeof(k), v, sizeof(v)), 1);
	assert_string_equal(k, "flag");
	assert_string_equal(v, "");
	assert_int_equal(admin_query_next(&q, k, sizeof(k), v, sizeof(v)), 1);
	assert_string_equal(k, "x");
	assert_int_equal(admin_query_next(&q, k, sizeof(k), v, sizeof(v)), 0);
	q = NULL;
	assert_int_equal(admin_query_next(&q, k, sizeof(k), v, sizeof(v)), 0);
	q = "a=%zz";
	assert_int_equal(admin_query_next(&q, k, sizeof(k), v, sizeof(v)), -1);
	q = "a=%00";
	assert_int_equal(admin_query_next(&q, k, sizeof(k), v, sizeof(v)), -1);
	q = "a=0123456789";
	assert_int_equal(admin_query_next(&q, k, sizeof(k), v, 4), -1);
}

static void
test_override_effect(void **state)
{
	enum pol_action	a = POL_A_DENY;

	(void)state;
	/* allow and reclassify relax anything */
	assert_int_equal(override_effect("allow", POL_A_MASK, &a), 1);
	assert_int_equal(a, POL_A_ALLOW);
	assert_int_equal(override_effect("reclassify", POL_A_DENY, &a), 1);
	assert_int_equal(a, POL_A_ALLOW);
	/* stricter applies, weaker does not, the same changes nothing */
	assert_int_equal(override_effect("redact", POL_A_MASK, &a), 1);
	assert_int_equal(a, POL_A_REDACT);
	assert_int_equal(override_effect("deny", POL_A_ALLOW, &a), 1);
	assert_int_equal(a, POL_A_DENY);
	assert_int_equal(override_effect("tokenize", POL_A_ENCRYPT, &a), 1);
	assert_int_equal(override_effect("mask", POL_A_REDACT, &a), 0);
	assert_int_equal(override_effect("mask", POL_A_MASK, &a), 0);
	assert_int_equal(override_effect("allow", POL_A_ALLOW, &a), 0);
	/* reveal is never an override; unknown actions do nothing */
	assert_int_equal(override_effect("reveal", POL_A_ALLOW, &a), 0);
	assert_int_equal(override_effect("shred", POL_A_MASK, &a), 0);
	assert_int_equal(override_effect(NULL, POL_A_MASK, &a), 0);
	assert_true(override_rank(POL_A_ALLOW) < override_rank(POL_A_MASK));
	assert_true(override_rank(POL_A_MASK) < override_rank(POL_A_HASH));
	assert_true(override_rank(POL_A_HASH) < override_rank(POL_A_REDACT));
	assert_true(override_rank(POL_A_REDACT) < override_rank(POL_A_DROP));
	assert_true(override_rank(POL_A_DROP) < override_rank(POL_A_DENY));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ovr_parse_decision),
		cmocka_unit_test(test_ovr_parse_scope),
		cmocka_unit_test(test_ovr_parse_long_ids),
		cmocka_unit_test(test_ovr_parse_errors),
		cmocka_unit_test(test_decision_parse),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_override_effect),
	};

	return cmocka_run_group_tests_name("admin", tests, NULL, NULL);
}
