/* tests/unit/test_policies.c — the policy language and decision engine: every
 * action and option, first match, levels, default, break glass, free-text
 * spans, deny, folded decisions, and every check error at its line:col. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "keys/keys.h"
#include "policies/errs.h"
#include "policies/internal.h"

/* One keyring for the whole group (keys_init is slow-ish). */
static char			 g_tmp[64];
static struct keys_ring		*g_ring;

static void
rm_rf(const char *path)
{
	struct dirent	*de;
	struct stat	 st;
	char		 p[512];
	DIR		*d;

	if (lstat(path, &st) == -1)
		return;
	if (S_ISDIR(st.st_mode) && (d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
			rm_rf(p);
		}
		closedir(d);
		rmdir(path);
	} else
		unlink(path);
}

static int
group_setup(void **state)
{
	struct keys_master_src	 src = { 0 };
	struct pol_errs		*errs = pol_errs_new();
	char			 dir[128], master[128];

	(void)state;
	snprintf(g_tmp, sizeof(g_tmp), "/tmp/custos-pol-XXXXXX");
	if (mkdtemp(g_tmp) == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "%s/keys", g_tmp);
	snprintf(master, sizeof(master), "%s/master.key", g_tmp);
	src.file = master;
	if (keys_init(dir, &src, NULL, errs) != 0 ||
	    (g_ring = keys_open(dir, &src, 0, errs)) == NULL) {
		pol_errs_print(errs, stderr);
		pol_errs_free(errs);
		return -1;
	}
	pol_errs_free(errs);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	keys_close(g_ring);
	rm_rf(g_tmp);
	return 0;
}

/* ------------------------------------------------------------------ helpers */

static const char *const known_roles[] = { "sales_rep", "manager", "analyst",
	"ai_assistant", "marketing" };
static const char *const known_principals[] = { "rep-app", "oncall" };
static const char *const known_routes[] = { "GET|POST|PUT /api/customers/**",
	"GET /api/deals/**", "POST /api/messages" };

static struct pol_env
env_full(void)
{
	struct pol_env e = {
		known_roles, 5, known_principals, 2, known_routes, 3, g_ring,
	};

	return e;
}

static struct pol_policy *
load(const char *yaml, struct pol_errs *errs)
{
	struct pol_env e = env_full();

	return pol_policy_load_mem("p.yaml", yaml, strlen(yaml), &e, errs);
}

static struct pol_policy *
load_ok(const char *yaml)
{
	struct pol_errs		*errs = pol_errs_new();
	struct pol_policy	*p = load(yaml, errs);

	if (p == NULL)
		pol_errs_print(errs, stderr);
	assert_non_null(p);
	pol_errs_free(errs);
	return p;
}

struct req {
	const char		*method, *path, *principal, *role;
	enum pol_dir		 dir;
	int			 justified;
};

static struct pol_eval *
eval(const struct pol_policy *p, const struct req *r)
{
	static const char	*roles[1];
	struct pol_ctx		 c;

	memset(&c, 0, sizeof(c));
	roles[0] = r && r->role ? r->role : "sales_rep";
	c.method = r && r->method ? r->method : "GET";
	c.path = r && r->path ? r->path : "/api/customers/1";
	c.path_len = strlen(c.path);
	c.route = "GET|POST|PUT /api/customers/**";
	c.principal = r && r->principal ? r->principal : "rep-app";
	c.roles = roles;
	c.nroles = 1;
	c.dir = r && r->dir ? r->dir : POL_DIR_RESPONSE;
	c.justified = r ? r->justified : 0;
	c.request_id = "req1";
	return pol_eval_new(p, &c, g_ring, NULL);
}

/* Runs one field $.items[idx].NAME; returns the verdict, *res the output
 * (a static copy) or the input value on KEEP. */
static enum pol_verdict
field_at(struct pol_eval *ev, const char *name, uint64_t idx,
    const char *value, enum cls_vtype type, const char **res)
{
	static char		 buf[4096];
	struct cls_seg		 segs[3] = {
		{ "items", 5, 0, 0 }, { NULL, 0, idx, 0 },
		{ name, strlen(name), 0, 0 },
	};
	struct cls_path		 path = { segs, 3, 0 };
	struct cls_field	 f = { name, strlen(name), &path, value,
				    strlen(value), type };
	const char		*out = NULL;
	size_t			 outlen = 0;
	int			 raw = -1;
	enum pol_verdict	 v;

	v = pol_eval_field(ev, &f, &out, &outlen, &raw);
	if (v == POL_REPLACE) {
		assert_int_equal(raw, 0);
		assert_true(outlen < sizeof(buf));
		memcpy(buf, out, outlen);
		buf[outlen] = '\0';
		*res = buf;
	} else
		*res = value;
	return v;
}

static enum pol_verdict
field(struct pol_eval *ev, const char *name, const char *value,
    const char **res)
{
	return field_at(ev, name, 0, value, CLS_V_STRING, res);
}

/* One field under one policy and request; returns the output (static). */
static const char *
one(const char *yaml, const struct req *r, const char *name,
    const char *value, enum pol_verdict *vd)
{
	static char		 keep[4096];
	struct pol_policy	*p = load_ok(yaml);
	struct pol_eval		*ev = eval(p, r);
	const char		*res;
	enum pol_verdict	 v;

	assert_non_null(ev);
	v = field(ev, name, value, &res);
	snprintf(keep, sizeof(keep), "%s", res);
	if (vd != NULL)
		*vd = v;
	pol_eval_free(ev);
	pol_policy_free(p);
	return keep;
}

#define CLASSES \
	"classes:\n" \
	"  email: {level: restricted, values: [email]}\n" \
	"  phone: {level: restricted, values: [phone, cn_mobile]}\n" \
	"  national_id: {level: secret, values: [cn_resident_id], " \
	"fields: [id_number]}\n" \
	"  card: {level: secret, values: [payment_card]}\n" \
	"  person: {level: confidential, fields: [name]}\n" \
	"  notes: {level: confidential, paths: [\"$.**.notes\"], " \
	"in_text: [email, cn_mobile]}\n"

#define RULE(action, opts) \
	CLASSES "rules:\n  - {id: r1, action: " action opts "}\n"

/* ------------------------------------------------------------------ actions */

static void
t_allow_and_unclassified(void **state)
{
	enum pol_verdict v;

	(void)state;
	assert_string_equal(one(RULE("allow", ""), NULL, "email",
	    "jane@example.com", &v), "jane@example.com");
	assert_int_equal(v, POL_KEEP);
	/* No class claims it: unchanged, no decision. */
	assert_string_equal(one(RULE("redact", ""), NULL, "stage", "won", &v),
	    "won");
	assert_int_equal(v, POL_KEEP);
}

static void
t_mask(void **state)
{
	enum pol_verdict v;

	(void)state;
	assert_string_equal(one(RULE("mask", ""), NULL, "phone",
	    "13800138000", &v), "***********");
	assert_int_equal(v, POL_REPLACE);
	assert_string_equal(one(RULE("mask", ", options: {keep_last: 4}"),
	    NULL, "phone", "13800138000", NULL), "*******8000");
	assert_string_equal(one(RULE("mask", ", options: {keep_first: 3, "
	    "keep_last: 2, char: '#'}"), NULL, "phone", "13800138000", NULL),
	    "138######00");
	/* Characters, not bytes; a multi-byte mask character. */
	assert_string_equal(one(RULE("mask", ", options: {keep_first: 1, "
	    "char: \"•\"}"), NULL, "name", "张三丰", NULL), "张••");
	/* keep_first + keep_last covering the value masks all of it. */
	assert_string_equal(one(RULE("mask", ", options: {keep_first: 2, "
	    "keep_last: 2}"), NULL, "name", "Anna", NULL), "****");
	assert_string_equal(one(RULE("mask", ", options: {style: email}"),
	    NULL, "email", "jane.doe@example.com", NULL), "j***@example.com");
	/* style: email on a value without '@' masks it whole. */
	assert_string_equal(one(RULE("mask", ", options: {style: email}"),
	    NULL, "name", "Li", NULL), "**");
}

static void
t_redact_drop(void **state)
{
	enum pol_verdict v;

	(void)state;
	assert_string_equal(one(RULE("redact", ""), NULL, "email",
	    "jane@example.com", &v), "[REDACTED:email]");
	assert_int_equal(v, POL_REPLACE);
	assert_string_equal(one(RULE("redact", ", options: {text: '***'}"),
	    NULL, "email", "jane@example.com", NULL), "***");
	one(RULE("drop", ""), NULL, "email", "jane@example.com", &v);
	assert_int_equal(v, POL_REMOVE);
}

static void
t_numbers(void **state)
{
	struct pol_policy	*p = load_ok(RULE("mask",
				    ", options: {keep_last: 4}"));
	struct pol_eval		*ev = eval(p, NULL);
	const char		*res;

	(void)state;
	/* A card number written as a JSON number becomes a masked string. */
	assert_int_equal(field_at(ev, "card", 0, "4111111111111111",
	    CLS_V_NUMBER, &res), POL_REPLACE);
	assert_string_equal(res, "************1111");
	pol_eval_free(ev);
	pol_policy_free(p);
}

static void
t_keyed(void **state)
{
	struct pol_policy	*p;
	struct pol_eval		*ev;
	const char		*res;
	char			 tok1[256], tok2[256], enc[256];

	(void)state;
	/* hash: keyed, stable, not the value. */
	assert_memory_equal(one(RULE("hash", ", options: {key: hash}"), NULL,
	    "email", "jane@example.com", NULL), "hash.1:", 7);
	/* tokenize: deterministic per class. */
	snprintf(tok1, sizeof(tok1), "%s", one(RULE("tokenize",
	    ", options: {key: tok}"), NULL, "email", "jane@example.com", NULL));
	snprintf(tok2, sizeof(tok2), "%s", one(RULE("tokenize", ""), NULL,
	    "email", "jane@example.com", NULL));
	assert_memory_equal(tok1, "cus:v1:tok.1:", 13);
	assert_string_equal(tok1, tok2);
	/* encrypt: random nonce. */
	snprintf(enc, sizeof(enc), "%s", one(RULE("encrypt",
	    ", options: {key: pii}"), NULL, "id_number", "110101195708271763",
	    NULL));
	assert_memory_equal(enc, "cus:v1:pii.1:", 13);
	assert_string_not_equal(enc, one(RULE("encrypt", ""), NULL,
	    "id_number", "110101195708271763", NULL));
	/* reveal: the token of the class turns back into the value. */
	assert_string_equal(one(RULE("reveal", ""), NULL, "email", tok1, NULL),
	    "jane@example.com");
	assert_string_equal(one(RULE("reveal", ""), NULL, "id_number", enc,
	    NULL), "110101195708271763");
	/* A plain value under reveal stays as it is. */
	assert_string_equal(one(RULE("reveal", ""), NULL, "email",
	    "jane@example.com", NULL), "jane@example.com");

	/* A token of another class fails to reveal: redacted, and why. */
	p = load_ok(RULE("reveal", ""));
	ev = eval(p, NULL);
	assert_int_equal(field(ev, "id_number", tok1, &res), POL_REPLACE);
	/* tok1 is not an id number: the field name makes it national_id. */
	assert_string_equal(res, "[REDACTED:national_id]");
	{
		size_t n;
		const struct pol_decision *d = pol_eval_decisions(ev, &n);

		assert_int_equal(n, 1);
		assert_int_equal(d[0].action, POL_A_REDACT);
		assert_non_null(d[0].error);
	}
	pol_eval_free(ev);
	/* No keyring: fail closed to redact, with the reason. */
	{
		struct pol_ctx c = { .method = "GET", .path = "/x",
			.path_len = 2, .dir = POL_DIR_RESPONSE,
			.request_id = "r" };
		size_t n;

		ev = pol_eval_new(p, &c, NULL, NULL);
		assert_int_equal(field(ev, "email", tok1, &res), POL_REPLACE);
		assert_string_equal(res, "[REDACTED:email]");
		assert_string_equal(pol_eval_decisions(ev, &n)[0].error,
		    "no keyring configured");
		assert_int_equal(pol_eval_decisions(ev, &n)[0].nfingerprints,
		    0);
		pol_eval_free(ev);
	}
	pol_policy_free(p);
}

static void
t_deny(void **state)
{
	struct pol_policy	*p = load_ok(CLASSES "rules:\n"
				    "  - {id: ok, classes: [email], action: allow}\n"
				    "  - {id: no-ids, classes: [national_id], "
				    "action: deny}\n");
	struct pol_eval		*ev = eval(p, NULL);
	const char		*res;

	(void)state;
	assert_int_equal(field(ev, "email", "a@b.example", &res), POL_KEEP);
	assert_null(pol_eval_denied_rule(ev));
	assert_int_equal(field(ev, "id_number", "110101195708271763", &res),
	    POL_DENY);
	assert_string_equal(pol_eval_denied_rule(ev), "no-ids");
	pol_eval_free(ev);
	pol_policy_free(p);
}

/* ---------------------------------------------------------- rule selection */

static void
t_first_match(void **state)
{
	const char *y = CLASSES "rules:\n"
	    "  - {id: a, roles: [manager], action: allow}\n"
	    "  - {id: b, classes: [email], action: mask}\n"
	    "  - {id: c, classes: [email, phone], action: drop}\n"
	    "  - {id: d, action: redact, options: {text: X}}\n";
	struct req mgr = { .role = "manager" };
	enum pol_verdict v;

	(void)state;
	assert_string_equal(one(y, &mgr, "email", "a@b.example", &v),
	    "a@b.example");
	assert_string_equal(one(y, NULL, "email", "a@b.example", &v),
	    "***********");
	one(y, NULL, "phone", "13800138000", &v);
	assert_int_equal(v, POL_REMOVE);
	assert_string_equal(one(y, NULL, "id_number", "110101195708271763",
	    &v), "X");
}

static void
t_conditions(void **state)
{
	const char *y = CLASSES "rules:\n"
	    "  - {id: in, direction: request, routes: [\"POST /api/customers/*\"],"
	    " action: encrypt}\n"
	    "  - {id: who, principals: [oncall], action: allow}\n"
	    "  - {id: deals, routes: [\"GET /api/deals/**\"], action: drop}\n"
	    "  - {id: rest, action: redact}\n";
	struct req post = { .method = "POST", .path = "/api/customers/7",
		.dir = POL_DIR_REQUEST };
	struct req post_deep = { .method = "POST", .path = "/api/customers/7/x",
		.dir = POL_DIR_REQUEST };
	struct req oncall = { .principal = "oncall" };
	struct req deals = { .path = "/api/deals" };
	enum pol_verdict v;

	(void)state;
	assert_memory_equal(one(y, &post, "email", "a@b.example", &v),
	    "cus:v1:pii.1:", 13);
	assert_string_equal(one(y, &post_deep, "email", "a@b.example", &v),
	    "[REDACTED:email]");
	assert_string_equal(one(y, &oncall, "email", "a@b.example", &v),
	    "a@b.example");
	one(y, &deals, "email", "a@b.example", &v);
	assert_int_equal(v, POL_REMOVE);
	assert_string_equal(one(y, NULL, "email", "a@b.example", &v),
	    "[REDACTED:email]");
}

static void
t_levels(void **state)
{
	const char *y = CLASSES "rules:\n"
	    "  - {id: top, levels: {at_least: secret}, action: drop}\n"
	    "  - {id: mid, levels: {at_least: confidential, at_most: "
	    "confidential}, action: allow}\n"
	    "  - {id: list, levels: [restricted], action: mask}\n";
	enum pol_verdict v;

	(void)state;
	one(y, NULL, "card", "4111111111111111", &v);
	assert_int_equal(v, POL_REMOVE);
	assert_string_equal(one(y, NULL, "name", "Anna", &v), "Anna");
	assert_string_equal(one(y, NULL, "email", "a@b.example", &v),
	    "***********");
}

static void
t_default(void **state)
{
	enum pol_verdict v;

	(void)state;
	/* No rule covers it: default redact (fail closed). */
	assert_string_equal(one(CLASSES "rules:\n  - {id: r, classes: [card],"
	    " action: allow}\n", NULL, "email", "a@b.example", &v),
	    "[REDACTED:email]");
	assert_string_equal(one("default: allow\n" CLASSES, NULL, "email",
	    "a@b.example", &v), "a@b.example");
	one("default: drop\n" CLASSES, NULL, "email", "a@b.example", &v);
	assert_int_equal(v, POL_REMOVE);
}

static void
t_highest_class(void **state)
{
	/* "id_number" is national_id by name; the value is also a phone:
	 * the higher level (secret) decides. */
	const char *y = CLASSES "rules:\n"
	    "  - {id: s, classes: [national_id], action: redact}\n"
	    "  - {id: p, classes: [phone], action: allow}\n";

	(void)state;
	assert_string_equal(one(y, NULL, "id_number", "13800138000", NULL),
	    "[REDACTED:national_id]");
	assert_string_equal(one(y, NULL, "mobile", "13800138000", NULL),
	    "13800138000");
}

/* -------------------------------------------------------------- break glass */

static void
t_break_glass(void **state)
{
	const char *y = CLASSES "rules:\n"
	    "  - id: ids\n"
	    "    classes: [national_id]\n"
	    "    action: mask\n"
	    "    options: {keep_first: 6}\n"
	    "    break_glass: {action: allow, principals: [oncall], "
	    "roles: [manager]}\n";
	struct req by_principal = { .principal = "oncall", .justified = 1 };
	struct req by_role = { .role = "manager", .justified = 1 };
	struct req refused = { .justified = 1 };
	struct req unjustified = { .principal = "oncall" };
	const char *id = "110101195708271763";
	struct pol_policy *p = load_ok(y);
	struct pol_eval *ev;
	const char *res;
	size_t n;

	(void)state;
	ev = eval(p, &by_principal);
	assert_int_equal(field(ev, "id_number", id, &res), POL_KEEP);
	assert_int_equal(pol_eval_decisions(ev, &n)[0].break_glass,
	    POL_BG_USED);
	assert_int_equal(pol_eval_decisions(ev, &n)[0].action, POL_A_ALLOW);
	pol_eval_free(ev);

	ev = eval(p, &by_role);
	assert_int_equal(field(ev, "id_number", id, &res), POL_KEEP);
	assert_int_equal(pol_eval_decisions(ev, &n)[0].break_glass,
	    POL_BG_USED);
	pol_eval_free(ev);

	ev = eval(p, &refused);
	assert_int_equal(field(ev, "id_number", id, &res), POL_REPLACE);
	assert_string_equal(res, "110101************");
	assert_int_equal(pol_eval_decisions(ev, &n)[0].break_glass,
	    POL_BG_REFUSED);
	pol_eval_free(ev);

	ev = eval(p, &unjustified);
	assert_int_equal(field(ev, "id_number", id, &res), POL_REPLACE);
	assert_int_equal(pol_eval_decisions(ev, &n)[0].break_glass,
	    POL_BG_NONE);
	pol_eval_free(ev);
	pol_policy_free(p);
}

/* ---------------------------------------------------------- free-text spans */

static void
t_spans(void **state)
{
	const char *redact = CLASSES "rules:\n"
	    "  - {id: n, classes: [notes], action: redact, options: {text: "
	    "'[REDACTED:phone]'}}\n";
	const char *mask = CLASSES "rules:\n"
	    "  - {id: n, classes: [notes], action: mask, options: {keep_last: "
	    "4}}\n";
	const char *drop = CLASSES "rules:\n"
	    "  - {id: n, classes: [notes], action: drop}\n";
	const char *deny = CLASSES "rules:\n"
	    "  - {id: n, classes: [notes], action: deny}\n";
	enum pol_verdict v;

	(void)state;
	assert_string_equal(one(redact, NULL, "notes", "call 13800138000", &v),
	    "call [REDACTED:phone]");
	assert_string_equal(one(CLASSES, NULL, "notes",
	    "call 13800138000 or mail li@x.example today", &v),
	    "call [REDACTED:notes] or mail [REDACTED:notes] today");
	assert_string_equal(one(mask, NULL, "notes", "call 13800138000 now",
	    &v), "call *******8000 now");
	assert_string_equal(one(drop, NULL, "notes", "call 13800138000 now",
	    &v), "call  now");
	one(deny, NULL, "notes", "call 13800138000", &v);
	assert_int_equal(v, POL_DENY);
	/* No span: kept. */
	assert_string_equal(one(redact, NULL, "notes", "renewal due", &v),
	    "renewal due");
	assert_int_equal(v, POL_KEEP);
}

/* ---------------------------------------------------------------- decisions */

static void
t_folding(void **state)
{
	struct pol_policy	*p = load_ok(CLASSES "rules:\n"
				    "  - {id: m, classes: [email], action: mask}\n");
	struct pol_eval		*ev = eval(p, NULL);
	const struct pol_decision *d;
	struct audit_decision	 ad;
	const char		*res, *fps[POL_MAX_FPS], *evi[CLS_MAX_EVIDENCE];
	struct audit_rec	*r;
	const char		*js;
	size_t			 n, jl = 0;

	(void)state;
	for (uint64_t i = 0; i < 20; i++) {
		char v[64];

		snprintf(v, sizeof(v), "user%llu@example.com",
		    (unsigned long long)(i % 10));
		field_at(ev, "email", i, v, CLS_V_STRING, &res);
		field_at(ev, "stage", i, "won", CLS_V_STRING, &res);
		field_at(ev, "phone", i, "13800138000", CLS_V_STRING, &res);
	}
	d = pol_eval_decisions(ev, &n);
	assert_int_equal(n, 2);
	assert_string_equal(d[0].id, "req1.1");
	assert_string_equal(d[0].path, "$.items[*].email");
	assert_string_equal(d[0].class_, "email");
	assert_string_equal(d[0].level, "restricted");
	assert_string_equal(d[0].rule, "m");
	assert_int_equal(d[0].action, POL_A_MASK);
	assert_int_equal(d[0].count, 20);
	assert_int_equal(d[0].nfingerprints, POL_MAX_FPS);
	assert_true(d[0].nevidence > 0);
	assert_string_equal(d[1].id, "req1.2");
	assert_string_equal(d[1].path, "$.items[*].phone");
	assert_null(d[1].rule);			/* the default */
	assert_int_equal(d[1].action, POL_A_REDACT);
	assert_int_equal(d[1].count, 20);
	assert_int_equal(d[1].nfingerprints, 1);
	assert_int_equal(strlen(d[1].fingerprints[0]), KEYS_FP_LEN);

	pol_decision_to_audit(&d[0], &ad, fps, evi);
	assert_string_equal(ad.action, "mask");
	assert_int_equal(ad.count, 20);
	assert_int_equal(ad.nfingerprints, POL_MAX_FPS);

	/* as the audit log (and `custos explain`) writes them */
	assert_non_null(r = audit_rec_new());
	audit_rec_arr_open(r, "decisions");
	for (size_t i = 0; i < n; i++) {
		pol_decision_to_audit(&d[i], &ad, fps, evi);
		audit_rec_decision(r, &ad);
	}
	audit_rec_arr_close(r);
	assert_int_equal(audit_rec_error(r), 0);
	js = audit_rec_body(r, &jl);
	assert_non_null(strstr(js, "{\"id\":\"req1.1\",\"path\":"
	    "\"$.items[*].email\",\"class\":\"email\",\"level\":\"restricted\","
	    "\"confidence\":\"high\",\"evidence\":["));
	assert_non_null(strstr(js, "\"rule\":null,\"action\":\"redact\","
	    "\"count\":20,\"override\":null,\"fingerprints\":[\""));
	assert_null(strstr(js, "example.com"));	/* never values */
	audit_rec_free(r);
	pol_eval_free(ev);
	pol_policy_free(p);
}

/* ctx.no_fps: the same decisions, folded the same way, without
 * fingerprints. */
static void
t_no_fps(void **state)
{
	struct pol_policy	*p = load_ok(CLASSES "rules:\n"
				    "  - {id: m, classes: [email], action: mask}\n");
	struct pol_eval		*ev[2];
	const struct pol_decision *d[2];
	const char		*roles[] = { "sales_rep" }, *res[2];
	struct pol_ctx		 c;
	size_t			 n[2];

	(void)state;
	memset(&c, 0, sizeof(c));
	c.method = "GET";
	c.path = "/api/customers/1";
	c.path_len = strlen(c.path);
	c.principal = "rep-app";
	c.roles = roles;
	c.nroles = 1;
	c.dir = POL_DIR_RESPONSE;
	c.request_id = "req1";
	assert_non_null(ev[0] = pol_eval_new(p, &c, g_ring, NULL));
	c.no_fps = 1;
	assert_non_null(ev[1] = pol_eval_new(p, &c, g_ring, NULL));
	for (uint64_t i = 0; i < 12; i++) {
		char v[64];

		snprintf(v, sizeof(v), "user%llu@example.com",
		    (unsigned long long)i);
		for (int k = 0; k < 2; k++) {
			field_at(ev[k], "email", i, v, CLS_V_STRING, &res[k]);
			field_at(ev[k], "phone", i, "13800138000",
			    CLS_V_STRING, &res[k]);
		}
	}
	d[0] = pol_eval_decisions(ev[0], &n[0]);
	d[1] = pol_eval_decisions(ev[1], &n[1]);
	assert_int_equal(n[0], 2);
	assert_int_equal(n[1], 2);
	for (size_t i = 0; i < 2; i++) {
		assert_string_equal(d[0][i].path, d[1][i].path);
		assert_int_equal(d[0][i].action, d[1][i].action);
		assert_int_equal(d[0][i].count, d[1][i].count);
		assert_int_equal(d[1][i].nfingerprints, 0);
	}
	assert_int_equal(d[0][0].nfingerprints, POL_MAX_FPS);
	assert_int_equal(d[0][1].nfingerprints, 1);
	pol_eval_free(ev[0]);
	pol_eval_free(ev[1]);
	pol_policy_free(p);
}

static void
t_fold_cap(void **state)
{
	/* A body with more distinct paths than POL_MAX_DECISIONS: the rest
	 * fold into "$.**" so memory stays bounded. */
	struct pol_policy	*p = load_ok(RULE("redact", ""));
	struct pol_eval		*ev = eval(p, NULL);
	const struct pol_decision *d;
	const char		*res;
	size_t			 n;

	(void)state;
	for (size_t i = 0; i < POL_MAX_DECISIONS + 50; i++) {
		char key[32];
		struct cls_seg s[2] = { { key, 0, 0, 0 },
		    { "email", 5, 0, 0 } };
		struct cls_path path = { s, 2, 0 };
		struct cls_field f = { "email", 5, &path, "a@b.example", 11,
			CLS_V_STRING };
		const char *o;
		size_t ol;
		int raw;

		s[0].len = (size_t)snprintf(key, sizeof(key), "c%zu", i);
		assert_int_equal(pol_eval_field(ev, &f, &o, &ol, &raw),
		    POL_REPLACE);
	}
	d = pol_eval_decisions(ev, &n);
	assert_int_equal(n, POL_MAX_DECISIONS + 1);
	assert_string_equal(d[0].path, "$.c0.email");
	assert_string_equal(d[n - 1].path, "$.**");
	assert_int_equal(d[n - 1].count, 50);
	(void)res;
	pol_eval_free(ev);
	pol_policy_free(p);
}

static int
ovr_hook(void *arg, const struct pol_override_q *q, enum pol_action *a,
    const char **id)
{
	int *calls = arg;

	(*calls)++;
	if (strcmp(q->class_, "email") != 0 ||
	    strcmp(q->path, "$.items[*].email") != 0 || q->fingerprint == NULL)
		return 0;
	*a = POL_A_ALLOW;
	*id = "ovr-1";
	return 1;
}

static void
t_override_hook(void **state)
{
	struct pol_policy	*p = load_ok(RULE("redact", ""));
	struct pol_ctx		 c;
	struct pol_eval		*ev;
	const char		*res, *roles[] = { "sales_rep" };
	int			 calls = 0;
	size_t			 n;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.method = "GET";
	c.path = "/api/customers";
	c.path_len = strlen(c.path);
	c.roles = roles;
	c.nroles = 1;
	c.dir = POL_DIR_RESPONSE;
	c.request_id = "r";
	c.override = ovr_hook;
	c.override_arg = &calls;
	ev = pol_eval_new(p, &c, g_ring, NULL);
	assert_int_equal(field(ev, "email", "a@b.example", &res), POL_KEEP);
	assert_int_equal(field(ev, "stage", "won", &res), POL_KEEP);
	assert_int_equal(field(ev, "phone", "13800138000", &res), POL_REPLACE);
	assert_int_equal(calls, 2);	/* unclassified fields never ask */
	assert_string_equal(pol_eval_decisions(ev, &n)[0].override, "ovr-1");
	assert_int_equal(pol_eval_decisions(ev, &n)[0].action, POL_A_ALLOW);
	assert_null(pol_eval_decisions(ev, &n)[1].override);
	pol_eval_free(ev);
	pol_policy_free(p);
}

/* ------------------------------------------------------------------ checks */

static void
assert_errs(const char *yaml, const char *const *want, size_t nwant)
{
	struct pol_errs		*errs = pol_errs_new();
	struct pol_policy	*p = load(yaml, errs);

	assert_null(p);
	if (pol_errs_total(errs) != nwant)
		pol_errs_print(errs, stderr);
	for (size_t i = 0; i < nwant && i < pol_errs_total(errs); i++)
		assert_string_equal(pol_errs_get(errs, i), want[i]);
	assert_int_equal(pol_errs_total(errs), nwant);
	pol_errs_free(errs);
}

static void
t_check_errors(void **state)
{
	static const char y[] =
	    "default: redcat\n"					/* 1 */
	    "classes:\n"					/* 2 */
	    "  email: {level: restricted, values: [emial]}\n"	/* 3 */
	    "  vip: {level: top, regex: [\"^VIP-(\"]}\n"	/* 4 */
	    "  card: {level: secret, valeus: [payment_card]}\n"	/* 5 */
	    "rules:\n"						/* 6 */
	    "  - id: a\n"					/* 7 */
	    "    roles: [sales_rpe]\n"				/* 8 */
	    "    classes: [emal]\n"				/* 9 */
	    "    action: mask\n"				/* 10 */
	    "    options: {keep_lst: 4}\n"			/* 11 */
	    "  - id: b\n"					/* 12 */
	    "    routes: [\"GET /crm/**\", \"FETCH /x\"]\n"	/* 13 */
	    "    principals: [nobody]\n"			/* 14 */
	    "    action: encrypt\n"				/* 15 */
	    "    options: {key: tok}\n"				/* 16 */
	    "  - id: c\n"					/* 17 */
	    "    action: hash\n"				/* 18 */
	    "    options: {key: nokey}\n"			/* 19 */
	    "    direction: sideways\n"				/* 20 */
	    "  - id: a\n"					/* 21 */
	    "    levels: {at_least: secret, at_most: public}\n"	/* 22 */
	    "    action: deny\n"				/* 23 */
	    "    options: {x: 1}\n"				/* 24 */
	    "  - id: e\n"					/* 25 */
	    "    action: allow\n"				/* 26 */
	    "    break_glass: {action: reveal}\n"		/* 27 */
	    "    clases: [email]\n";				/* 28 */
	static const char *const want[] = {
		"p.yaml:1:10: error: unknown action 'redcat' (did you mean "
		"'redact'?)",
		"p.yaml:3:39: error: unknown value detector \"emial\" (email, "
		"phone, cn_mobile, cn_resident_id, payment_card, iban, us_ssn, "
		"cn_uscc, ipv4, ipv6)",
		"p.yaml:4:16: error: 'level' must be one of public, internal, "
		"confidential, restricted, secret, not 'top'",
		"p.yaml:4:35: error: bad regex: ",
		"p.yaml:5:3: error: class card has no detectors",
		"p.yaml:5:25: error: unknown key 'valeus' (did you mean "
		"'values'?)",
		"p.yaml:8:13: error: unknown role 'sales_rpe' (did you mean "
		"'sales_rep'?)",
		"p.yaml:9:15: error: unknown class 'emal' (did you mean "
		"'email'?)",
		"p.yaml:11:15: error: unknown key 'keep_lst' (did you mean "
		"'keep_last'?)",
		"p.yaml:13:14: warning: route 'GET /crm/**' matches no "
		"configured route (the rule never applies here)",
		"p.yaml:13:29: error: route 'FETCH /x' is not \"METHODS /path\" "
		"(e.g. \"GET|POST /api/customers/**\")",
		"p.yaml:14:18: warning: no principal 'nobody' in the "
		"configuration (yet)",
		"p.yaml:16:20: error: key 'tok' has purpose tokenize; action "
		"encrypt needs a key of purpose encrypt",
		"p.yaml:19:20: error: no key 'nokey' in the keyring (create it "
		"with: custos keys new nokey hash)",
		"p.yaml:20:16: error: 'direction' must be one of request, "
		"response, not 'sideways'",
		"p.yaml:21:9: error: duplicate rule id 'a' (first at line 7)",
		"p.yaml:22:13: error: 'levels': at_least secret is above "
		"at_most public",
		"p.yaml:24:15: error: action deny takes no options",
		"p.yaml:27:18: error: 'break_glass' names no principals or "
		"roles that may use it",
		"p.yaml:28:5: error: unknown key 'clases' (did you mean "
		"'classes'?)",
	};
	struct pol_errs		*errs = pol_errs_new();
	struct pol_policy	*p = load(y, errs);
	size_t			 n = sizeof(want) / sizeof(want[0]);

	(void)state;
	assert_null(p);
	if (pol_errs_total(errs) != n)
		pol_errs_print(errs, stderr);
	for (size_t i = 0; i < n && i < pol_errs_total(errs); i++) {
		/* The regex message is PCRE2's: compare its position only. */
		if (strcmp(want[i], "p.yaml:4:35: error: bad regex: ") == 0)
			assert_memory_equal(pol_errs_get(errs, i), want[i],
			    strlen(want[i]));
		else
			assert_string_equal(pol_errs_get(errs, i), want[i]);
	}
	assert_int_equal(pol_errs_total(errs), n);
	pol_errs_free(errs);
}

static void
t_check_shapes(void **state)
{
	static const char *const w1[] = {
		"p.yaml:1:1: error: unknown key 'rulez' (did you mean "
		"'rules'?)",
	};
	static const char *const w2[] = {
		"p.yaml:2:5: error: missing required key 'id'",
		"p.yaml:2:5: error: missing required key 'action'",
	};
	static const char *const w3[] = {
		"p.yaml:9:31: error: a rule takes 'classes' or 'levels', not "
		"both",
	};
	static const char *const w4[] = {
		"p.yaml:2:20: error: empty list of roles (leave the key out to "
		"match any role)",
	};

	(void)state;
	assert_errs("rulez: []\n", w1, 1);
	assert_errs("rules:\n  - {roles: [manager]}\n", w2, 2);
	assert_errs(CLASSES "rules:\n  - {id: x, classes: [email], levels: "
	    "[secret], action: allow}\n", w3, 0 + 1);
	assert_errs("rules:\n  - {id: x, roles: [], action: allow}\n", w4, 1);
}

static void
t_multi_file_and_version(void **state)
{
	char		 a[256], b[256];
	const char	*files[2] = { a, b };
	FILE		*f;
	struct pol_errs	*errs = pol_errs_new();
	struct pol_policy *p;
	struct pol_env	 e = env_full();

	(void)state;
	snprintf(a, sizeof(a), "%s/a.yaml", g_tmp);
	snprintf(b, sizeof(b), "%s/b.yaml", g_tmp);
	f = fopen(a, "w");
	fputs("default: allow\n" CLASSES, f);
	fclose(f);
	f = fopen(b, "w");
	fputs("default: drop\nrules:\n  - {id: x, classes: [email], "
	    "action: mask}\n", f);
	fclose(f);
	assert_null(pol_policy_load(files, 2, &e, errs));
	assert_int_equal(pol_errs_count(errs), 1);
	assert_non_null(strstr(pol_errs_get(errs, 0), "b.yaml:1:10: error: "
	    "'default' is already set at "));
	pol_errs_free(errs);

	f = fopen(b, "w");
	fputs("rules:\n  - {id: x, classes: [email], action: mask}\n", f);
	fclose(f);
	errs = pol_errs_new();
	p = pol_policy_load(files, 2, &e, errs);
	assert_non_null(p);
	assert_int_equal(pol_errs_total(errs), 0);
	assert_int_equal(strlen(pol_policy_version(p)), 7 + 64);
	assert_memory_equal(pol_policy_version(p), "sha256:", 7);
	assert_int_equal(pol_policy_nrules(p), 1);
	assert_string_equal(pol_policy_rule_id(p, 0), "x");
	pol_policy_free(p);
	pol_errs_free(errs);

	errs = pol_errs_new();
	files[1] = "/nonexistent/policy.yaml";
	assert_null(pol_policy_load(files, 2, &e, errs));
	assert_memory_equal(pol_errs_get(errs, 0), "/nonexistent/policy.yaml: "
	    "error: cannot open: ", 43);
	pol_errs_free(errs);
}

static void
t_unreachable(void **state)
{
	static const char y[] = CLASSES "rules:\n"
	    "  - {id: wide, roles: [sales_rep, manager], action: redact}\n"
	    "  - {id: narrow, roles: [sales_rep], classes: [email], "
	    "routes: [\"GET /api/customers/*\"], action: mask}\n"
	    "  - {id: other-role, roles: [analyst], action: allow}\n"
	    "  - {id: by-level, levels: {at_least: restricted}, direction: "
	    "response, action: drop}\n"
	    "  - {id: secret, classes: [card, national_id], direction: "
	    "response, action: drop}\n";
	struct pol_errs		*errs = pol_errs_new();
	struct pol_policy	*p = load(y, errs);
	size_t			 line = 10;
	char			 want[256];

	(void)state;
	assert_non_null(p);
	assert_int_equal(pol_errs_count(errs), 0);
	assert_int_equal(pol_errs_total(errs), 2);
	snprintf(want, sizeof(want), "p.yaml:%zu:5: warning: rule 'narrow' "
	    "is never used: rule 'wide' (line %zu) comes first and matches "
	    "everything it matches", line, line - 1);
	assert_string_equal(pol_errs_get(errs, 0), want);
	assert_non_null(strstr(pol_errs_get(errs, 1), "rule 'secret' is never "
	    "used: rule 'by-level'"));
	pol_policy_free(p);
	pol_errs_free(errs);
}

static void
t_globs(void **state)
{
	(void)state;
	assert_true(pol_glob_match("/api/**", "/api", 4));
	assert_true(pol_glob_match("/api/**", "/api/a/b", 8));
	assert_true(pol_glob_match("/api/*/x", "/api/7/x", 8));
	assert_false(pol_glob_match("/api/*/x", "/api//x", 7));
	assert_true(pol_glob_match("/api/v*", "/api/v2", 7));
	assert_false(pol_glob_match("/api/v*", "/api/w2", 7));
	assert_false(pol_glob_match("/api", "/api/x", 6));
	assert_true(pol_glob_covers("/api/**", "/api/customers/*"));
	assert_true(pol_glob_covers("/api/*", "/api/v*"));
	assert_false(pol_glob_covers("/api/*", "/api/**"));
	assert_false(pol_glob_covers("/api/x", "/api/*"));
	assert_true(pol_glob_overlap("/api/customers/**", "/api/**"));
	assert_true(pol_glob_overlap("/api/*/notes", "/api/deals/*"));
	assert_false(pol_glob_overlap("/crm/**", "/api/**"));
	assert_true(pol_glob_overlap("/api/v*", "/api/va*"));
	assert_false(pol_glob_overlap("/api/v*", "/api/w*"));
}

static void
t_example_policy(void **state)
{
	const char	*files[] = { "policies/examples/crm.yaml" };
	struct pol_errs	*errs = pol_errs_new();
	struct pol_env	 e = env_full();
	struct pol_policy *p;
	struct pol_eval	*ev;
	struct req	 rep = { .role = "sales_rep" };
	struct req	 mkt = { .role = "marketing" };
	struct req	 ai = { .role = "ai_assistant" };
	struct req	 put = { .method = "PUT", .path = "/api/customers/1",
			    .dir = POL_DIR_REQUEST };
	const char	*res;

	(void)state;
	p = pol_policy_load(files, 1, &e, errs);
	if (p == NULL || pol_errs_total(errs) > 0)
		pol_errs_print(errs, stderr);
	assert_non_null(p);
	assert_int_equal(pol_errs_total(errs), 0);

	ev = eval(p, &rep);
	field(ev, "email", "jane.doe@example.com", &res);
	assert_string_equal(res, "j***@example.com");
	field(ev, "phone", "+8615393426358", &res);
	assert_string_equal(res, "**********6358");
	field(ev, "id_number", "110101195708271763", &res);
	assert_string_equal(res, "[REDACTED:national_id]");
	field(ev, "name", "Anna Zhou", &res);
	assert_string_equal(res, "Anna Zhou");
	field(ev, "notes", "Alt contact: yan.yang397@example.net. Churn.", &res);
	assert_string_equal(res, "Alt contact: *******************.net. "
	    "Churn.");
	pol_eval_free(ev);

	ev = eval(p, &mkt);
	assert_int_equal(field(ev, "id_number", "110101195708271763", &res),
	    POL_DENY);
	assert_string_equal(pol_eval_denied_rule(ev), "marketing-no-ids");
	pol_eval_free(ev);

	ev = eval(p, &ai);
	field(ev, "address", "7923 Renmin Rd", &res);
	assert_string_equal(res, "[REDACTED]");
	field(ev, "email", "jane.doe@example.com", &res);
	assert_memory_equal(res, "cus:v1:tok.1:", 13);
	pol_eval_free(ev);

	ev = eval(p, &put);
	field(ev, "card", "4111111111111111", &res);
	assert_memory_equal(res, "cus:v1:pii.1:", 13);
	field(ev, "email", "jane.doe@example.com", &res);
	assert_string_equal(res, "jane.doe@example.com");
	pol_eval_free(ev);
	pol_policy_free(p);
	pol_errs_free(errs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_allow_and_unclassified),
		cmocka_unit_test(t_mask),
		cmocka_unit_test(t_redact_drop),
		cmocka_unit_test(t_numbers),
		cmocka_unit_test(t_keyed),
		cmocka_unit_test(t_deny),
		cmocka_unit_test(t_first_match),
		cmocka_unit_test(t_conditions),
		cmocka_unit_test(t_levels),
		cmocka_unit_test(t_default),
		cmocka_unit_test(t_highest_class),
		cmocka_unit_test(t_break_glass),
		cmocka_unit_test(t_spans),
		cmocka_unit_test(t_folding),
		cmocka_unit_test(t_no_fps),
		cmocka_unit_test(t_fold_cap),
		cmocka_unit_test(t_override_hook),
		cmocka_unit_test(t_check_errors),
		cmocka_unit_test(t_check_shapes),
		cmocka_unit_test(t_multi_file_and_version),
		cmocka_unit_test(t_unreachable),
		cmocka_unit_test(t_globs),
		cmocka_unit_test(t_example_policy),
	};

	return cmocka_run_group_tests_name("policies", tests, group_setup,
	    group_teardown);
}
