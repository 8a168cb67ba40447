/* tests/fuzz/fuzz_policy.c — libFuzzer target: arbitrary bytes as a policy
 * file through pol_policy_load_mem (YAML, classes, regexes, rules, checks),
 * and, when it loads, one small document's fields through the engine and a
 * few requests through its outreach section. Must never crash, leak or
 * hang; errors are expected. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "classifiers/classifiers.h"
#include "policies/errs.h"
#include "policies/policies.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const roles[] = { "sales_rep", "manager", "analyst" };
static const char *const principals[] = { "rep-app", "oncall" };
static const char *const routes[] = { "GET|POST /api/customers/**",
	"* /files/**" };

/* The pure functions of an outreach section, on fixed inputs. */
static void
fuzz_outreach(const struct pol_outreach *o)
{
	static const char *const vals[] = { " Jane@Example.COM ",
	    "+49 (0)30 1234-567", "030 1234567", "(555) 010-9999", "cust-1",
	    "", "0" };
	const char	*r[] = { "marketing" }, *id;
	size_t		 idx[8];
	char		 buf[64];
	int64_t		 until;
	int		 rt, ip;

	rt = pol_or_route(o, "POST", "/api/messages", 13);
	(void)pol_or_recipient(o, rt);
	(void)pol_or_channel(o, rt, &ip);
	(void)pol_or_automated(o, "bot", r, 1);
	for (size_t i = 0; i < pol_or_nscopes(o); i++)
		if (pol_or_scope_name(o, i) == NULL)
			abort();
	if (pol_or_limits_for(o, "sms", 3, idx, 8) > 8)
		abort();
	for (int64_t t = 0; t < 4 * 86400; t += 3607)
		if (pol_or_quiet(o, 1700000000 + t, &until, &id) &&
		    until <= 1700000000 + t)
			abort();
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		if (pol_or_normalise(o, vals[i], strlen(vals[i]), buf,
		    sizeof(buf)) >= (long)sizeof(buf))
			abort();
}

/* The decisions as the audit log would record them. */
static void
record_decisions(const struct pol_eval *ev)
{
	const struct pol_decision	*d;
	struct audit_decision		 ad;
	struct audit_rec		*r = audit_rec_new();
	const char			*fps[POL_MAX_FPS];
	const char			*evi[CLS_MAX_EVIDENCE];
	size_t				 n;

	if (r == NULL)
		return;
	d = pol_eval_decisions(ev, &n);
	audit_rec_arr_open(r, "decisions");
	for (size_t i = 0; i < n; i++) {
		pol_decision_to_audit(&d[i], &ad, fps, evi);
		audit_rec_decision(r, &ad);
	}
	audit_rec_arr_close(r);
	(void)audit_rec_error(r);
	audit_rec_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct { const char *name, *value; } fields[] = {
		{ "email", "jane.doe@example.com" },
		{ "phone", "13800138000" },
		{ "id_number", "110101195708271763" },
		{ "notes", "call 13800138000 or li@x.example" },
		{ "name", "张三丰" },
		{ "stage", "won" },
	};
	struct pol_env		 env = { roles, 3, principals, 2, routes, 2,
				    NULL };
	struct pol_errs		*errs = pol_errs_new();
	struct pol_policy	*p;

	if (errs == NULL)
		return 0;
	p = pol_policy_load_mem("fuzz.yaml", (const char *)data, size, &env,
	    errs);
	for (size_t i = 0; i < pol_errs_total(errs); i++)
		if (pol_errs_get(errs, i) == NULL)
			abort();
	if (p != NULL) {
		const char *r[] = { "sales_rep" };
		struct pol_ctx c = { .method = "GET",
			.path = "/api/customers/1", .path_len = 16,
			.principal = "oncall", .roles = r, .nroles = 1,
			.dir = POL_DIR_RESPONSE, .justified = 1,
			.request_id = "f" };
		struct pol_eval *ev = pol_eval_new(p, &c, NULL, NULL);

		for (size_t i = 0; ev != NULL && i < 6; i++) {
			struct cls_seg s[2] = { { "items", 5, 0, 0 },
				{ fields[i].name, strlen(fields[i].name),
				0, 0 } };
			struct cls_path path = { s, 2, 0 };
			struct cls_field f = { fields[i].name,
				strlen(fields[i].name), &path, fields[i].value,
				strlen(fields[i].value), CLS_V_STRING };
			const char *o;
			size_t ol;
			int raw;

			if (pol_eval_field(ev, &f, &o, &ol, &raw) ==
			    POL_REPLACE && memchr(o, '\0', ol) != NULL &&
			    ol > 1u << 20)
				abort();
		}
		if (ev != NULL)
			record_decisions(ev);
		pol_eval_free(ev);
		fuzz_outreach(pol_policy_outreach(p));
		pol_policy_free(p);
	}
	pol_errs_free(errs);
	return 0;
}
