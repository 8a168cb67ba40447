/* tests/unit/test_outreach_policy.c — the `outreach` section of a policy:
 * every key and every check error at its line:col, route matching, who is
 * automated, scopes and limits, durations, quiet hours in real and built
 * time zones (DST days, fixed offsets, TZif footers), recipient
 * normalisation, canonical JSON paths, unsubscribe tokens. */
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
#include <time.h>
#include <unistd.h>

#include "keys/keys.h"
#include "policies/errs.h"
#include "policies/internal.h"
#include "proxy/json.h"

/* Two keyrings for the whole group: the policy's, and another one whose
 * "hash" key has other bytes (a token from the wrong key). The second is
 * opened for writing, to rotate it at the end of t_tokens. */
static char			 g_tmp[64];
static struct keys_ring		*g_ring, *g_ring2;
static char			 g_tzdir[128];

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

static struct keys_ring *
make_ring(const char *name, unsigned flags)
{
	struct keys_master_src	 src = { 0 };
	struct pol_errs		*errs = pol_errs_new();
	struct keys_ring	*r = NULL;
	char			 dir[128], master[128];

	snprintf(dir, sizeof(dir), "%s/%s", g_tmp, name);
	snprintf(master, sizeof(master), "%s/%s.key", g_tmp, name);
	src.file = master;
	if (keys_init(dir, &src, NULL, errs) != 0 ||
	    (r = keys_open(dir, &src, flags, errs)) == NULL)
		pol_errs_print(errs, stderr);
	pol_errs_free(errs);
	return r;
}

static int
group_setup(void **state)
{
	(void)state;
	snprintf(g_tmp, sizeof(g_tmp), "/tmp/custos-or-XXXXXX");
	if (mkdtemp(g_tmp) == NULL)
		return -1;
	snprintf(g_tzdir, sizeof(g_tzdir), "%s/zoneinfo", g_tmp);
	if (mkdir(g_tzdir, 0700) == -1)
		return -1;
	if ((g_ring = make_ring("keys", 0)) == NULL ||
	    (g_ring2 = make_ring("keys2", KEYS_OPEN_WRITE)) == NULL)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	keys_close(g_ring);
	keys_close(g_ring2);
	rm_rf(g_tmp);
	return 0;
}

/* ------------------------------------------------------------------ helpers */

static const char *const known_roles[] = { "sales_rep", "manager", "analyst",
	"ai_assistant", "marketing" };
static const char *const known_principals[] = { "rep-app", "oncall",
	"campaign-bot" };
static const char *const known_routes[] = { "POST /api/messages",
	"POST /api/campaigns/**", "GET|POST|PUT /api/customers/**" };

static struct pol_env
env_full(void)
{
	struct pol_env e = {
		known_roles, 5, known_principals, 3, known_routes, 3, g_ring,
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

	if (p == NULL || pol_errs_total(errs) > 0)
		pol_errs_print(errs, stderr);
	assert_non_null(p);
	assert_int_equal(pol_errs_total(errs), 0);
	pol_errs_free(errs);
	return p;
}

/* Loads <yaml> expecting exactly the messages <want> (errors or warnings);
 * the policy loads when all of them are warnings. */
static void
assert_msgs(const char *yaml, const char *const *want, size_t nwant)
{
	struct pol_errs		*errs = pol_errs_new();
	struct pol_policy	*p = load(yaml, errs);
	int			 same = pol_errs_total(errs) == nwant;

	for (size_t i = 0; same && i < nwant; i++)
		same = strcmp(pol_errs_get(errs, i), want[i]) == 0;
	if (!same)
		pol_errs_print(errs, stderr);
	for (size_t i = 0; i < nwant && i < pol_errs_total(errs); i++)
		assert_string_equal(pol_errs_get(errs, i), want[i]);
	assert_int_equal(pol_errs_total(errs), nwant);
	if (pol_errs_count(errs) > 0)
		assert_null(p);
	else
		assert_non_null(p);
	pol_policy_free(p);
	pol_errs_free(errs);
}

/* Unix seconds of a UTC date and time (timegm: no time zone state). */
static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

#define FULL \
	"outreach:\n" \
	"  routes:\n" \
	"    - {match: \"POST /api/messages\", recipient: \"$.to\", " \
	"channel: \"$.channel\"}\n" \
	"    - {match: \"POST /api/campaigns/*/send\", " \
	"recipient: \"$.recipients[*].email\", channel: email}\n" \
	"    - {match: \"PUT|POST /api/customers/*/notify\", " \
	"recipient: \"$['contact info'].phone\"}\n" \
	"  automated: {roles: [ai_assistant, marketing], " \
	"principals: [campaign-bot]}\n" \
	"  limits:\n" \
	"    - {id: one-a-day, max: 1, window: 24h}\n" \
	"    - {id: sms-weekly, max: 1, window: 7d, channel: sms}\n" \
	"    - {id: three-a-week, max: 3, window: 7d}\n" \
	"    - {id: email-burst, max: 5, window: 90s, channel: email}\n" \
	"    - {id: sms-monthly, max: 4, window: 2592000000, channel: SMS}\n" \
	"  quiet_hours: {from: \"21:00\", to: \"08:00\", " \
	"timezone: Europe/Berlin, id: nachtruhe}\n" \
	"  default_country: \"+49\"\n" \
	"  unsubscribe: {key: hash, ttl: 30d, " \
	"url: \"https://crm.example.com/unsubscribe\"}\n"

/* ------------------------------------------------------------------ loading */

static void
t_full_section(void **state)
{
	struct pol_policy		*p = load_ok(FULL);
	const struct pol_outreach	*o = pol_policy_outreach(p);
	const struct pol_or_limit	*l;
	int				 ip;

	(void)state;
	assert_non_null(o);
	assert_string_equal(pol_or_recipient(o, 0), "$.to");
	assert_string_equal(pol_or_channel(o, 0, &ip), "$.channel");
	assert_int_equal(ip, 1);
	assert_string_equal(pol_or_recipient(o, 1), "$.recipients[*].email");
	assert_string_equal(pol_or_channel(o, 1, &ip), "email");
	assert_int_equal(ip, 0);
	assert_string_equal(pol_or_recipient(o, 2), "$['contact info'].phone");
	assert_null(pol_or_channel(o, 2, &ip));
	assert_int_equal(ip, 0);
	assert_null(pol_or_recipient(o, 3));
	assert_null(pol_or_recipient(o, -1));
	assert_null(pol_or_channel(o, 7, &ip));

	/* The same paths compiled: matched against a body's path segments. */
	{
		struct cls_seg	 s[3] = {
			{ "recipients", 10, 0, 0 }, { NULL, 0, 7, 0 },
			{ "email", 5, 0, 0 },
		};
		struct cls_seg	 ci[2] = {
			{ "contact info", 12, 0, 0 }, { "phone", 5, 0, 0 },
		};
		struct cls_path	 pa = { s, 3, 0 }, pc = { ci, 2, 0 };

		assert_true(cls_glob_match(pol_or_recipient_glob(o, 1), &pa));
		assert_false(cls_glob_match(pol_or_recipient_glob(o, 0), &pa));
		pa.depth = 2;		/* the element itself */
		assert_false(cls_glob_match(pol_or_recipient_glob(o, 1), &pa));
		assert_true(cls_glob_match(pol_or_recipient_glob(o, 2), &pc));
		s[0].key = "channel";
		s[0].len = 7;
		pa.depth = 1;
		assert_true(cls_glob_match(pol_or_channel_glob(o, 0), &pa));
		assert_null(pol_or_channel_glob(o, 1));	/* a fixed name */
		assert_null(pol_or_recipient_glob(o, 3));
	}

	assert_int_equal(pol_or_nlimits(o), 5);
	l = pol_or_limit_at(o, 0);
	assert_string_equal(l->id, "one-a-day");
	assert_null(l->channel);
	assert_int_equal(l->max, 1);
	assert_int_equal(l->window_s, 86400);
	l = pol_or_limit_at(o, 1);
	assert_string_equal(l->channel, "sms");
	assert_int_equal(l->window_s, 7 * 86400);
	assert_int_equal(pol_or_limit_at(o, 3)->window_s, 90);
	assert_int_equal(pol_or_limit_at(o, 4)->window_s, 30 * 86400);
	assert_null(pol_or_limit_at(o, 5));

	assert_true(pol_or_has_unsubscribe(o));
	assert_string_equal(pol_or_unsubscribe_url(o),
	    "https://crm.example.com/unsubscribe");
	pol_policy_free(p);

	/* No section: NULL, and every function takes NULL. */
	p = load_ok("default: redact\n");
	o = pol_policy_outreach(p);
	assert_null(o);
	assert_int_equal(pol_or_route(o, "POST", "/api/messages", 13), -1);
	assert_int_equal(pol_or_automated(o, "campaign-bot", NULL, 0), 0);
	assert_int_equal(pol_or_nscopes(o), 0);
	assert_int_equal(pol_or_nlimits(o), 0);
	assert_int_equal(pol_or_quiet(o, 0, NULL, NULL), 0);
	assert_false(pol_or_has_unsubscribe(o));
	assert_null(pol_or_unsubscribe_url(o));
	pol_policy_free(p);
	assert_null(pol_policy_outreach(NULL));
}

static void
t_minimal_section(void **state)
{
	struct pol_policy		*p = load_ok(
	    "outreach:\n"
	    "  routes: [{match: \"/api/messages\", recipient: \"$.to\"}]\n"
	    "  automated: {principals: campaign-bot}\n"
	    "  unsubscribe: {}\n");
	const struct pol_outreach	*o = pol_policy_outreach(p);
	char				 buf[64];

	(void)state;
	/* A path alone matches any method. */
	assert_int_equal(pol_or_route(o, "DELETE", "/api/messages", 13), 0);
	assert_int_equal(pol_or_automated(o, "campaign-bot", NULL, 0), 1);
	assert_int_equal(pol_or_nscopes(o), 0);
	assert_int_equal(pol_or_nlimits(o), 0);
	assert_int_equal(pol_or_limits_for(o, "sms", 3, NULL, 0), 0);
	assert_int_equal(pol_or_quiet(o, 1700000000, NULL, NULL), 0);
	/* Defaults: key "hash", no URL. */
	assert_true(pol_or_has_unsubscribe(o));
	assert_null(pol_or_unsubscribe_url(o));
	/* No default_country: national numbers stay digits only. */
	assert_int_equal(pol_or_normalise(o, "030 1234-567", 12, buf,
	    sizeof(buf)), 10);
	assert_string_equal(buf, "0301234567");
	pol_policy_free(p);
}

static void
t_route_match(void **state)
{
	struct pol_policy		*p = load_ok(FULL);
	const struct pol_outreach	*o = pol_policy_outreach(p);
	const char			*path = "/api/campaigns/42/send?x=1";

	(void)state;
	assert_int_equal(pol_or_route(o, "POST", "/api/messages", 13), 0);
	assert_int_equal(pol_or_route(o, "GET", "/api/messages", 13), -1);
	assert_int_equal(pol_or_route(o, "POST", "/api/messages/1", 15), -1);
	/* path_len cuts the query off; the string need not end there. */
	assert_int_equal(pol_or_route(o, "POST", path, 22), 1);
	assert_int_equal(pol_or_route(o, "POST", path, strlen(path)), -1);
	assert_int_equal(pol_or_route(o, "POST", "/api/campaigns//send", 20),
	    -1);
	assert_int_equal(pol_or_route(o, "POST", "/api/campaigns/42/send/x",
	    24), -1);
	assert_int_equal(pol_or_route(o, "PUT", "/api/customers/7/notify",
	    23), 2);
	assert_int_equal(pol_or_route(o, "PATCH", "/api/customers/7/notify",
	    23), -1);
	assert_int_equal(pol_or_route(o, "TRACE", "/api/messages", 13), -1);
	assert_int_equal(pol_or_route(o, "*", "/api/messages", 13), -1);
	assert_int_equal(pol_or_route(o, NULL, "/api/messages", 13), -1);
	pol_policy_free(p);

	/* First match in file order. */
	p = load_ok("outreach:\n"
	    "  routes:\n"
	    "    - {match: \"POST /api/campaigns/**\", recipient: \"$.a\"}\n"
	    "    - {match: \"POST /api/campaigns/*/send\", "
	    "recipient: \"$.b\"}\n"
	    "  automated: {roles: [marketing]}\n");
	o = pol_policy_outreach(p);
	assert_int_equal(pol_or_route(o, "POST", "/api/campaigns/1/send", 21),
	    0);
	assert_string_equal(pol_or_recipient(o, 0), "$.a");
	pol_policy_free(p);
}

static void
t_automated(void **state)
{
	static const char *const ai[] = { "ai_assistant" };
	static const char *const rep[] = { "sales_rep" };
	static const char *const both[] = { "sales_rep", "marketing" };
	struct pol_policy		*p = load_ok(FULL);
	const struct pol_outreach	*o = pol_policy_outreach(p);

	(void)state;
	assert_int_equal(pol_or_automated(o, "sales-copilot", ai, 1), 1);
	assert_int_equal(pol_or_automated(o, "campaign-bot", rep, 1), 1);
	assert_int_equal(pol_or_automated(o, "campaign-bot", NULL, 0), 1);
	assert_int_equal(pol_or_automated(o, "rep-app", both, 2), 1);
	/* A human sales rep is exempt. */
	assert_int_equal(pol_or_automated(o, "rep-app", rep, 1), 0);
	assert_int_equal(pol_or_automated(o, NULL, rep, 1), 0);
	assert_int_equal(pol_or_automated(o, NULL, NULL, 0), 0);
	pol_policy_free(p);

	/* Roles only: no principal is automated by name. */
	p = load_ok("outreach:\n"
	    "  routes: [{match: \"POST /api/messages\", recipient: \"$.to\"}]\n"
	    "  automated: {roles: ai_assistant}\n");
	o = pol_policy_outreach(p);
	assert_int_equal(pol_or_automated(o, "campaign-bot", rep, 1), 0);
	assert_int_equal(pol_or_automated(o, "x", ai, 1), 1);
	pol_policy_free(p);
}

#define DUR_HEAD_S \
	"outreach:\n" \
	"  routes: [{match: \"POST /api/messages\", recipient: \"$.to\", " \
	"channel: \"$.via\"}]\n" \
	"  automated: {roles: [marketing]}\n" \
	"  limits:\n"

static void
t_scopes_limits(void **state)
{
	struct pol_policy		*p = load_ok(FULL);
	const struct pol_outreach	*o = pol_policy_outreach(p);
	size_t				 out[8];

	(void)state;
	/* "*" first, then the channels as they first appear; SMS is sms. */
	assert_int_equal(pol_or_nscopes(o), 3);
	assert_string_equal(pol_or_scope_name(o, 0), "*");
	assert_int_equal(pol_or_scope_ring(o, 0), 3);
	assert_string_equal(pol_or_scope_name(o, 1), "sms");
	assert_int_equal(pol_or_scope_ring(o, 1), 4);
	assert_string_equal(pol_or_scope_name(o, 2), "email");
	assert_int_equal(pol_or_scope_ring(o, 2), 5);
	assert_null(pol_or_scope_name(o, 3));
	assert_int_equal(pol_or_scope_ring(o, 3), 0);
	assert_int_equal(pol_or_limit_at(o, 0)->scope, 0);
	assert_int_equal(pol_or_limit_at(o, 1)->scope, 1);
	assert_int_equal(pol_or_limit_at(o, 2)->scope, 0);
	assert_int_equal(pol_or_limit_at(o, 3)->scope, 2);
	assert_int_equal(pol_or_limit_at(o, 4)->scope, 1);

	assert_int_equal(pol_or_limits_for(o, NULL, 0, out, 8), 2);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 2);
	assert_int_equal(pol_or_limits_for(o, "", 0, out, 8), 2);
	assert_int_equal(pol_or_limits_for(o, "sms", 3, out, 8), 4);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 1);
	assert_int_equal(out[2], 2);
	assert_int_equal(out[3], 4);
	/* Not NUL-terminated, other case. */
	assert_int_equal(pol_or_limits_for(o, "SMSx", 3, out, 8), 4);
	assert_int_equal(pol_or_limits_for(o, "sm", 2, out, 8), 2);
	assert_int_equal(pol_or_limits_for(o, "email", 5, out, 8), 3);
	assert_int_equal(out[2], 3);
	assert_int_equal(pol_or_limits_for(o, "fax", 3, out, 8), 2);
	/* cap bounds what is written. */
	assert_int_equal(pol_or_limits_for(o, "sms", 3, out, 1), 1);
	assert_int_equal(out[0], 0);
	pol_policy_free(p);

	/* Only channel limits: no "*" scope. */
	p = load_ok("outreach:\n"
	    "  routes: [{match: \"POST /api/messages\", recipient: \"$.to\", "
	    "channel: \"$.via\"}]\n"
	    "  automated: {roles: [marketing]}\n"
	    "  limits:\n"
	    "    - {id: a, max: 2, window: 1h, channel: email}\n"
	    "    - {id: b, max: 64, window: 366d, channel: email}\n");
	o = pol_policy_outreach(p);
	assert_int_equal(pol_or_nscopes(o), 1);
	assert_string_equal(pol_or_scope_name(o, 0), "email");
	assert_int_equal(pol_or_scope_ring(o, 0), 64);
	assert_int_equal(pol_or_limit_at(o, 1)->window_s, 366 * 86400);
	assert_int_equal(pol_or_limits_for(o, NULL, 0, out, 8), 0);
	assert_int_equal(pol_or_limits_for(o, "email", 5, out, 8), 2);
	pol_policy_free(p);

	/* Past the caps the proxy could not enforce every limit: errors. */
	{
		char		 y[8192];
		size_t		 o2;
		const char	*want_l[] = { "p.yaml:5:5: error: at most 32 "
		    "limits" };
		const char	*want_s[] = { "p.yaml:5:5: error: at most 8 "
		    "counting scopes (the limits on all channels, and one per "
		    "channel named)" };

		o2 = (size_t)snprintf(y, sizeof(y), "%s", DUR_HEAD_S);
		for (int i = 0; i < 33; i++)
			o2 += (size_t)snprintf(y + o2, sizeof(y) - o2,
			    "    - {id: l%d, max: 1, window: %dh}\n", i, i + 1);
		assert_msgs(y, want_l, 1);
		o2 = (size_t)snprintf(y, sizeof(y), "%s", DUR_HEAD_S);
		for (int i = 0; i < 9; i++)
			o2 += (size_t)snprintf(y + o2, sizeof(y) - o2,
			    "    - {id: c%d, max: 1, window: 1h, channel: "
			    "ch%d}\n", i, i);
		assert_msgs(y, want_s, 1);
	}
}

#define DUR_HEAD \
	"outreach:\n" \
	"  routes: [{match: \"POST /api/messages\", recipient: \"$.to\"}]\n" \
	"  automated: {roles: [marketing]}\n" \
	"  limits:\n"

static void
t_durations(void **state)
{
	static const struct {
		const char	*w;
		uint32_t	 s;
	} ok[] = {
		{ "1s", 1 }, { "90s", 90 }, { "30m", 1800 }, { "24h", 86400 },
		{ "7d", 604800 }, { "366d", 31622400 }, { "1000", 1 },
		{ "86400000", 86400 }, { "\"45m\"", 2700 },
	};
	static const struct {
		const char	*w;
		const char	*msg;
	} bad[] = {
		{ "0s", "'window' must be a duration from 1s to 366d (\"90s\", "
		    "\"30m\", \"24h\", \"7d\", or milliseconds), not '0s'" },
		{ "367d", "'window' must be a duration from 1s to 366d "
		    "(\"90s\", \"30m\", \"24h\", \"7d\", or milliseconds), not "
		    "'367d'" },
		{ "1y", "'window' must be a duration from 1s to 366d (\"90s\", "
		    "\"30m\", \"24h\", \"7d\", or milliseconds), not '1y'" },
		{ "24 h", "'window' must be a duration from 1s to 366d "
		    "(\"90s\", \"30m\", \"24h\", \"7d\", or milliseconds), not "
		    "'24 h'" },
		{ "\"1000\"", "'window' must be a duration from 1s to 366d "
		    "(\"90s\", \"30m\", \"24h\", \"7d\", or milliseconds), not "
		    "the quoted string \"1000\"" },
		{ "1500", "'window' must be whole seconds, not 1500 ms" },
		{ "-5s", "'window' must be a duration from 1s to 366d "
		    "(\"90s\", \"30m\", \"24h\", \"7d\", or milliseconds), not "
		    "'-5s'" },
		{ "99999999999999999999d", "'window' must be a duration from "
		    "1s to 366d (\"90s\", \"30m\", \"24h\", \"7d\", or "
		    "milliseconds), not '99999999999999999999d'" },
		{ "[1]", "'window' must be a duration from 1s to 366d "
		    "(\"90s\", \"30m\", \"24h\", \"7d\", or milliseconds), not "
		    "a list" },
	};
	char	 y[512], want[512];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct pol_policy *p;

		snprintf(y, sizeof(y), DUR_HEAD "    - {id: a, max: 1, "
		    "window: %s}\n", ok[i].w);
		p = load_ok(y);
		assert_int_equal(pol_or_limit_at(pol_policy_outreach(p),
		    0)->window_s, ok[i].s);
		pol_policy_free(p);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *w = want;

		snprintf(y, sizeof(y), DUR_HEAD "    - {id: a, max: 1, "
		    "window: %s}\n", bad[i].w);
		snprintf(want, sizeof(want), "p.yaml:5:31: error: %s",
		    bad[i].msg);
		assert_msgs(y, &w, 1);
	}
	/* The ttl of unsubscribe links: 1s..3660d. */
	{
		static const char *const w[] = {
			"p.yaml:4:22: error: 'ttl' must be a duration from 1s "
			"to 3660d (\"90s\", \"30m\", \"24h\", \"7d\", or "
			"milliseconds), not '3661d'",
		};

		assert_msgs("outreach:\n"
		    "  routes: [{match: \"POST /api/messages\", recipient: "
		    "\"$.to\"}]\n"
		    "  automated: {roles: [marketing]}\n"
		    "  unsubscribe: {ttl: 3661d}\n", w, 1);
	}
}

/* --------------------------------------------------------------- errors */

static void
t_errors(void **state)
{
	static const char y[] =
	    "outreach:\n"						/* 1 */
	    "  routes:\n"						/* 2 */
	    "    - {match: \"POST /api/mesages\", recipent: \"$.to\"}\n"/* 3 */
	    "    - {match: \"SEND /x\", recipient: to}\n"		/* 4 */
	    "    - {match: \"POST /api/messages\", "
	    "recipient: \"$.items[0].email\", channel: \"\"}\n"		/* 5 */
	    "    - {match: \"POST /api/messages\", recipient: \"$..x\", "
	    "channel: \"$.a[\"}\n"					/* 6 */
	    "    - not-a-map\n"						/* 7 */
	    "  automated: {roles: [ai_asistant, robot], principals: [], "
	    "humans: [x]}\n"						/* 8 */
	    "  limits:\n"						/* 9 */
	    "    - {max: 1, window: 1h}\n"				/* 10 */
	    "    - {id: a, max: 0, window: 1h, chanel: sms}\n"		/* 11 */
	    "    - {id: a, max: 65, window: 1h, channel: \"$.ch\"}\n"	/* 12 */
	    "    - {id: b, max: 1}\n"					/* 13 */
	    "  quiet_hours: {from: \"25:00\", to: \"8\", "
	    "timezone: Europe/Berln, id: b}\n"				/* 14 */
	    "  default_country: \"49\"\n"				/* 15 */
	    "  unsubscribe: {key: pii, url: \"ftp://x\", ttl: 30d}\n"	/* 16 */
	    "  limts: []\n";						/* 17 */
	static const char *const want[] = {
		"p.yaml:3:7: error: missing required key 'recipient'",
		"p.yaml:3:15: warning: route 'POST /api/mesages' matches no "
		"configured route (no message is counted there)",
		"p.yaml:3:36: error: unknown key 'recipent' (did you mean "
		"'recipient'?)",
		"p.yaml:4:15: error: route 'SEND /x' is not \"METHODS /path\" "
		"(e.g. \"POST /api/messages\")",
		"p.yaml:4:37: error: 'recipient' is not a JSON path like "
		"\"$.to\", \"$.recipients[*].email\" or \"$['first name']\": it does "
		"not start with '$'",
		"p.yaml:5:48: error: 'recipient' is not a JSON path like "
		"\"$.to\", \"$.recipients[*].email\" or \"$['first name']\": array "
		"indexes are folded: write [*]",
		"p.yaml:5:77: error: 'channel' must not be empty",
		"p.yaml:6:48: error: 'recipient' is not a JSON path like "
		"\"$.to\", \"$.recipients[*].email\" or \"$['first name']\": "
		"wildcards other than [*] are not supported",
		"p.yaml:6:65: error: 'channel' is not a JSON path like \"$.to\", "
		"\"$.recipients[*].email\" or \"$['first name']\": expected .key, "
		"['key'] or [*]",
		"p.yaml:7:7: error: item 5 of 'routes' must be a mapping, not "
		"a string",
		"p.yaml:8:23: error: unknown role 'ai_asistant' (did you mean "
		"'ai_assistant'?)",
		"p.yaml:8:36: warning: no principal in the configuration has "
		"role 'robot' (yet)",
		"p.yaml:8:56: error: 'principals' is empty (leave it out when "
		"no principal is named)",
		"p.yaml:8:60: error: unknown key 'humans'",
		"p.yaml:10:7: error: missing required key 'id'",
		"p.yaml:11:20: error: 'max' must be an integer from 1 to 64, "
		"not '0'",
		"p.yaml:11:35: error: unknown key 'chanel' (did you mean "
		"'channel'?)",
		"p.yaml:12:12: error: duplicate limit id 'a' (first at line 11)",
		"p.yaml:12:20: error: 'max' must be an integer from 1 to 64, "
		"not '65'",
		"p.yaml:12:45: error: a limit's 'channel' is a channel name "
		"(\"sms\"), not a JSON path: the routes say where the channel is "
		"read",
		"p.yaml:13:7: error: missing required key 'window'",
		"p.yaml:14:23: error: 'from' must be a time of day \"HH:MM\" "
		"(00:00 to 23:59), not the quoted string \"25:00\"",
		"p.yaml:14:36: error: 'to' must be a time of day \"HH:MM\" "
		"(00:00 to 23:59), not the quoted string \"8\"",
		"p.yaml:14:51: error: unknown time zone 'Europe/Berln' (did "
		"you mean 'Europe/Berlin'?)",
		"p.yaml:14:69: error: quiet hours id 'b' is also a limit id",
		"p.yaml:15:20: error: 'default_country' must be a country "
		"calling code like \"+49\" or \"+1\", not the quoted string \"49\"",
		"p.yaml:16:22: error: key 'pii' has purpose encrypt; "
		"unsubscribe links need a key of purpose hash",
		"p.yaml:16:32: error: 'url' must be an http:// or https:// URL "
		"without spaces, not the quoted string \"ftp://x\"",
		"p.yaml:17:3: error: unknown key 'limts' (did you mean "
		"'limits'?)",
	};

	(void)state;
	setenv("TZDIR", "/usr/share/zoneinfo", 1);
	assert_msgs(y, want, sizeof(want) / sizeof(want[0]));
}

static void
t_errors_shapes(void **state)
{
	static const char *const w1[] = {
		"p.yaml:2:11: error: missing required key 'routes'",
		"p.yaml:2:11: error: missing required key 'automated'",
	};
	static const char *const w2[] = {
		"p.yaml:2:11: error: 'routes' is empty (name the requests that "
		"send messages)",
		"p.yaml:3:14: error: 'automated' names no roles or principals "
		"(the limits would apply to no one)",
		"p.yaml:4:11: error: 'limits' is empty (leave it out for no "
		"limits)",
	};
	static const char *const w3[] = {
		"p.yaml:1:11: error: 'outreach' must be a mapping, not a list",
	};
	static const char *const w4[] = {
		"p.yaml:3:22: error: 'roles' is empty (leave it out when no role "
		"is automated)",
		"p.yaml:4:36: error: quiet hours from 08:00 to 8:00 are empty "
		"(or the whole day?); leave 'quiet_hours' out, or give two "
		"different times",
		"p.yaml:4:54: error: unknown time zone 'Mars/Olympus_Mons' "
		"(/nonexistent/zoneinfo/Mars/Olympus_Mons: No such file or "
		"directory; a zone name like Europe/Berlin, UTC, or an offset "
		"like +05:30)",
		"p.yaml:5:22: error: no key 'nokey' in the keyring (create it "
		"with: custos keys new nokey hash)",
	};
	static const char *const w5[] = {
		"p.yaml:4:16: error: missing required key 'timezone'",
		"p.yaml:5:49: warning: no route sends on channel 'sms' (the "
		"limit never counts)",
	};
	static const char *const w7[] = {
		"p.yaml:4:49: warning: no route sends on channel 'sms' (the "
		"limit never counts)",
	};
	static const char *const w8[] = {
		"p.yaml:5:7: error: item 1 of 'limits' must be a mapping, not "
		"a string",
		"p.yaml:7:12: error: duplicate limit id 'a' (first at line 6)",
	};
	static const char *const w6[] = {
		"p.yaml:4:55: error: unknown time zone '../etc/passwd' (not a "
		"time zone name; a zone name like Europe/Berlin, UTC, or an "
		"offset like +05:30)",
	};

	(void)state;
	assert_msgs("default: redact\n"
	    "outreach: {limits: [{id: a, max: 1, window: 1h}]}\n", w1, 2);
	assert_msgs("outreach:\n"
	    "  routes: []\n"
	    "  automated: {}\n"
	    "  limits: []\n", w2, 3);
	assert_msgs("outreach: []\n", w3, 1);
	setenv("TZDIR", "/nonexistent/zoneinfo", 1);
	assert_msgs("outreach:\n"
	    "  routes: [{match: \"POST /api/messages\", recipient: \"$.to\"}]\n"
	    "  automated: {roles: []}\n"
	    "  quiet_hours: {from: \"08:00\", to: \"8:00\", "
	    "timezone: Mars/Olympus_Mons}\n"
	    "  unsubscribe: {key: nokey}\n", w4, 4);
	/* A limit on a channel no route sends on, only a warning: it loads
	 * when nothing else is wrong. */
	assert_msgs("outreach:\n"
	    "  routes: [{match: \"POST /api/messages\", recipient: \"$.to\", "
	    "channel: email}]\n"
	    "  automated: {roles: [marketing]}\n"
	    "  quiet_hours: {from: \"21:00\", to: \"08:00\"}\n"
	    "  limits: [{id: a, max: 1, window: 1h, channel: sms}]\n", w5, 2);
	assert_msgs("outreach:\n"
	    "  routes: [{match: \"POST /api/messages\", recipient: \"$.to\", "
	    "channel: email}]\n"
	    "  automated: {roles: [marketing]}\n"
	    "  limits: [{id: a, max: 1, window: 1h, channel: sms}]\n", w7, 1);
	setenv("TZDIR", "/usr/share/zoneinfo", 1);
	assert_msgs("outreach:\n"
	    "  routes: [{match: \"POST /api/messages\", recipient: \"$.to\"}]\n"
	    "  automated: {roles: [marketing]}\n"
	    "  quiet_hours: {from: \"21:00\", to: \"08:00\", timezone: "
	    "../etc/passwd}\n", w6, 1);
	/* Limit i is item i even after a bad item. */
	assert_msgs("outreach:\n"
	    "  routes: [{match: \"POST /api/messages\", recipient: \"$.to\"}]\n"
	    "  automated: {roles: [marketing]}\n"
	    "  limits:\n"
	    "    - oops\n"
	    "    - {id: a, max: 1, window: 1h}\n"
	    "    - {id: a, max: 1, window: 1h}\n", w8, 2);
}

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void
t_two_files(void **state)
{
	static const char sec[] =
	    "outreach:\n"
	    "  routes: [{match: \"POST /api/messages\", recipient: \"$.to\"}]\n"
	    "  automated: {roles: [marketing]}\n";
	struct pol_env		 e = env_full();
	struct pol_errs		*errs = pol_errs_new();
	struct pol_policy	*p;
	char			 a[128], b[128], c[128], want[512];
	const char		*files[3] = { a, b, c };

	(void)state;
	snprintf(a, sizeof(a), "%s/a.yaml", g_tmp);
	snprintf(b, sizeof(b), "%s/b.yaml", g_tmp);
	snprintf(c, sizeof(c), "%s/c.yaml", g_tmp);
	assert_int_equal(write_file(a, "default: redact\n"), 0);
	assert_int_equal(write_file(b, sec), 0);
	assert_int_equal(write_file(c, sec), 0);
	/* One file holds it: fine. */
	p = pol_policy_load(files, 2, &e, errs);
	assert_non_null(p);
	assert_non_null(pol_policy_outreach(p));
	assert_int_equal(pol_errs_total(errs), 0);
	pol_policy_free(p);
	/* Two: an error at the second, naming the first. */
	p = pol_policy_load(files, 3, &e, errs);
	assert_null(p);
	assert_int_equal(pol_errs_total(errs), 1);
	snprintf(want, sizeof(want), "%s:1:1: error: 'outreach' is already "
	    "set at %s:1:1 (one file holds it)", c, b);
	assert_string_equal(pol_errs_get(errs, 0), want);
	pol_errs_free(errs);
}

/* ------------------------------------------------------------ JSON paths */

struct seen {
	char	 paths[16][128];
	size_t	 n;
};

static enum json_action
record_path(void *ud, const struct json_path *pa, const struct json_value *v,
    struct json_edit *ed)
{
	struct seen *s = ud;

	(void)ed;
	if (v->type == JSON_STRING && s->n < 16)
		json_path_format(pa, s->paths[s->n++], 128, 1);
	return JSON_KEEP;
}

static void
t_paths(void **state)
{
	static const struct {
		const char	*in, *out;
	} ok[] = {
		{ "$", "$" },
		{ "$.to", "$.to" },
		{ "$.recipients[*].email", "$.recipients[*].email" },
		{ "$['to']", "$.to" },
		{ "$['first name']", "$['first name']" },
		{ "$['it\\'s'].x", "$['it\\'s'].x" },
		{ "$['a\\\\b']", "$['a\\\\b']" },
		{ "$.a.b_c[*][*]", "$.a.b_c[*][*]" },
		{ "$.9lives", "$['9lives']" },
		{ "$['']", "$['']" },
		{ "$.客户.邮箱", "$.客户.邮箱" },
		{ "$['客户']", "$.客户" },
		{ "$['a.b']", "$['a.b']" },
	};
	static const struct {
		const char	*in, *why;
	} bad[] = {
		{ "", "it does not start with '$'" },
		{ "to", "it does not start with '$'" },
		{ "$.", "a key after '.' must be an identifier (write other "
		    "keys as ['...'])" },
		{ "$.first-name", "expected .key, ['key'] or [*]" },
		{ "$.a[0]", "array indexes are folded: write [*]" },
		{ "$..a", "wildcards other than [*] are not supported" },
		{ "$.*", "wildcards other than [*] are not supported" },
		{ "$['a'", "['...'] is not closed" },
		{ "$['a\\n']", "only \\' and \\\\ are escapes in ['...']" },
		{ "$[\"a\"]", "expected .key, ['key'] or [*]" },
		{ "$a", "expected .key, ['key'] or [*]" },
	};
	/* The rewriter's own folded paths are what the proxy compares. */
	static const char doc[] = "{\"to\": \"x\", \"recipients\": "
	    "[{\"email\": \"a\"}, {\"email\": \"b\"}], \"first name\": \"y\", "
	    "\"it's\": {\"x\": \"z\"}, \"a\\\\b\": \"w\", \"客户\": "
	    "{\"邮箱\": \"v\"}, \"9lives\": \"u\"}";
	static const char *const written[] = { "$.to",
	    "$.recipients[*].email", "$['first name']", "$['it\\'s'].x",
	    "$['a\\\\b']", "$.客户.邮箱", "$['9lives']" };
	struct seen	 seen = { .n = 0 };
	struct json_rw	*rw;
	const char	*why;
	char		*c;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		c = pol_or_path_canon(ok[i].in, &why);
		assert_non_null(c);
		assert_string_equal(c, ok[i].out);
		free(c);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_null(pol_or_path_canon(bad[i].in, &why));
		assert_string_equal(why, bad[i].why);
	}

	rw = json_rw_new(&(struct json_limits){ 0 }, record_path, &seen);
	assert_non_null(rw);
	assert_int_equal(json_rw_feed(rw, doc, strlen(doc), NULL),
	    JSON_NEED_MORE);
	assert_int_equal(json_rw_finish(rw, NULL), JSON_DONE);
	json_rw_free(rw);
	assert_int_equal(seen.n, 8);	/* both emails */
	for (size_t i = 0, j = 0; i < seen.n; i++) {
		if (i == 2)
			continue;	/* the second email */
		c = pol_or_path_canon(written[j], &why);
		assert_non_null(c);
		assert_string_equal(c, seen.paths[i]);
		free(c);
		j++;
	}
}

/* ----------------------------------------------------------- quiet hours */

/* A quiet-hours policy in zone <tz> from <from> to <to>. */
static struct pol_policy *
quiet_policy(const char *tz, const char *from, const char *to)
{
	char y[512];

	snprintf(y, sizeof(y), "outreach:\n"
	    "  routes: [{match: \"POST /api/messages\", recipient: \"$.to\"}]\n"
	    "  automated: {roles: [marketing]}\n"
	    "  quiet_hours: {from: \"%s\", to: \"%s\", timezone: \"%s\"}\n",
	    from, to, tz);
	return load_ok(y);
}

#define NOT_QUIET	INT64_MIN

static void
assert_quiet(const struct pol_outreach *o, int64_t now, int64_t until)
{
	int64_t		 u = -1;
	const char	*id = NULL;
	int		 q = pol_or_quiet(o, now, &u, &id);

	if (until == NOT_QUIET) {
		if (q != 0)
			fprintf(stderr, "now %lld: quiet until %lld\n",
			    (long long)now, (long long)u);
		assert_int_equal(q, 0);
		return;
	}
	if (q != 1 || u != until)
		fprintf(stderr, "now %lld: q %d until %lld, want %lld\n",
		    (long long)now, q, (long long)u, (long long)until);
	assert_int_equal(q, 1);
	assert_int_equal(u, until);
	assert_string_equal(id, "quiet-hours");
	/* At the end they are over. */
	assert_int_equal(pol_or_quiet(o, until, NULL, NULL), 0);
}

static void
check_berlin(const struct pol_outreach *o)
{
	/* Summer (CEST, +2). */
	assert_quiet(o, utc(2024, 6, 15, 18, 59, 59), NOT_QUIET);
	assert_quiet(o, utc(2024, 6, 15, 19, 0, 0), utc(2024, 6, 16, 6, 0, 0));
	assert_quiet(o, utc(2024, 6, 15, 22, 30, 0), utc(2024, 6, 16, 6, 0, 0));
	assert_quiet(o, utc(2024, 6, 16, 5, 59, 59), utc(2024, 6, 16, 6, 0, 0));
	assert_quiet(o, utc(2024, 6, 16, 6, 0, 0), NOT_QUIET);
	assert_quiet(o, utc(2024, 6, 16, 12, 0, 0), NOT_QUIET);
	/* Winter (CET, +1). */
	assert_quiet(o, utc(2024, 1, 10, 19, 59, 59), NOT_QUIET);
	assert_quiet(o, utc(2024, 1, 10, 20, 0, 0), utc(2024, 1, 11, 7, 0, 0));
	/* Spring forward, Sunday 2024-03-31 02:00 CET -> 03:00 CEST (01:00
	 * UTC): the night is an hour shorter; 08:00 is CEST. */
	assert_quiet(o, utc(2024, 3, 30, 20, 0, 0), utc(2024, 3, 31, 6, 0, 0));
	assert_quiet(o, utc(2024, 3, 31, 0, 59, 59), utc(2024, 3, 31, 6, 0, 0));
	assert_quiet(o, utc(2024, 3, 31, 1, 0, 0), utc(2024, 3, 31, 6, 0, 0));
	assert_quiet(o, utc(2024, 3, 31, 18, 59, 59), NOT_QUIET);
	assert_quiet(o, utc(2024, 3, 31, 19, 0, 0), utc(2024, 4, 1, 6, 0, 0));
	/* Fall back, Sunday 2024-10-27 03:00 CEST -> 02:00 CET (01:00 UTC):
	 * an hour longer; 08:00 is CET. */
	assert_quiet(o, utc(2024, 10, 26, 19, 0, 0), utc(2024, 10, 27, 7, 0,
	    0));
	assert_quiet(o, utc(2024, 10, 27, 0, 30, 0), utc(2024, 10, 27, 7, 0,
	    0));
	assert_quiet(o, utc(2024, 10, 27, 1, 30, 0), utc(2024, 10, 27, 7, 0,
	    0));
	assert_quiet(o, utc(2024, 10, 27, 19, 59, 59), NOT_QUIET);
	/* Far from the file's table (2037): the footer's rule. */
	assert_quiet(o, utc(2051, 3, 26, 0, 30, 0), utc(2051, 3, 26, 6, 0, 0));
	assert_quiet(o, utc(2051, 3, 25, 0, 30, 0), utc(2051, 3, 25, 7, 0, 0));
}

static void
t_quiet_berlin(void **state)
{
	struct pol_policy	*p;

	(void)state;
	setenv("TZDIR", "/usr/share/zoneinfo", 1);
	p = quiet_policy("Europe/Berlin", "21:00", "08:00");
	check_berlin(pol_policy_outreach(p));
	pol_policy_free(p);

	/* The id, and a window that ends inside the skipped hour: on
	 * 2024-03-31 the clock goes 01:59:59 -> 03:00, so quiet hours
	 * 01:00-02:30 end at the jump. */
	p = quiet_policy("Europe/Berlin", "01:00", "02:30");
	assert_quiet(pol_policy_outreach(p), utc(2024, 3, 31, 0, 15, 0),
	    utc(2024, 3, 31, 1, 0, 0));
	assert_quiet(pol_policy_outreach(p), utc(2024, 3, 31, 1, 0, 0), NOT_QUIET);
	/* On the fall-back day 02:30 comes twice: the first one ends them,
	 * and the repeated hour (02:00-02:30 CET) is quiet again. */
	assert_quiet(pol_policy_outreach(p), utc(2024, 10, 26, 23, 15, 0),
	    utc(2024, 10, 27, 0, 30, 0));
	assert_quiet(pol_policy_outreach(p), utc(2024, 10, 27, 0, 45, 0), NOT_QUIET);
	assert_quiet(pol_policy_outreach(p), utc(2024, 10, 27, 1, 0, 0),
	    utc(2024, 10, 27, 1, 30, 0));
	pol_policy_free(p);
}

static void
t_quiet_other_zones(void **state)
{
	struct pol_policy		*p;
	const struct pol_outreach	*o;
	const char			*id;
	int64_t				 u;

	(void)state;
	setenv("TZDIR", "/usr/share/zoneinfo", 1);
	/* New York, 20:00-09:00; spring forward 2024-03-10 02:00 EST ->
	 * 03:00 EDT (07:00 UTC). */
	p = quiet_policy("America/New_York", "20:00", "09:00");
	o = pol_policy_outreach(p);
	assert_quiet(o, utc(2024, 3, 10, 3, 0, 0), utc(2024, 3, 10, 13, 0, 0));
	assert_quiet(o, utc(2024, 3, 9, 0, 59, 59), NOT_QUIET);
	assert_quiet(o, utc(2024, 3, 9, 1, 0, 0), utc(2024, 3, 9, 14, 0, 0));
	assert_quiet(o, utc(2024, 7, 1, 23, 59, 0), NOT_QUIET);
	assert_quiet(o, utc(2024, 7, 2, 0, 0, 0), utc(2024, 7, 2, 13, 0, 0));
	pol_policy_free(p);

	/* Sydney: southern summer time, AEDT +11 until 2024-04-07 03:00. */
	p = quiet_policy("Australia/Sydney", "21:00", "08:00");
	o = pol_policy_outreach(p);
	assert_quiet(o, utc(2024, 4, 6, 10, 0, 0), utc(2024, 4, 6, 22, 0, 0));
	assert_quiet(o, utc(2024, 1, 15, 10, 0, 0), utc(2024, 1, 15, 21, 0,
	    0));
	pol_policy_free(p);

	/* Fixed offsets. */
	p = quiet_policy("+05:30", "22:00", "07:00");
	o = pol_policy_outreach(p);
	assert_quiet(o, utc(2024, 1, 1, 16, 29, 59), NOT_QUIET);
	assert_quiet(o, utc(2024, 1, 1, 16, 30, 0), utc(2024, 1, 2, 1, 30, 0));
	assert_quiet(o, utc(2024, 1, 2, 1, 29, 59), utc(2024, 1, 2, 1, 30, 0));
	pol_policy_free(p);
	p = quiet_policy("-08:00", "21:00", "08:00");
	o = pol_policy_outreach(p);
	assert_quiet(o, utc(2024, 7, 1, 5, 0, 0), utc(2024, 7, 1, 16, 0, 0));
	assert_quiet(o, utc(2024, 7, 1, 16, 0, 0), NOT_QUIET);
	assert_quiet(o, utc(2024, 7, 1, 4, 59, 0), NOT_QUIET);
	pol_policy_free(p);

	/* UTC, and hours that do not cross midnight. */
	p = quiet_policy("UTC", "12:00", "13:30");
	o = pol_policy_outreach(p);
	assert_quiet(o, utc(2024, 2, 29, 11, 59, 59), NOT_QUIET);
	assert_quiet(o, utc(2024, 2, 29, 12, 0, 0), utc(2024, 2, 29, 13, 30,
	    0));
	assert_quiet(o, utc(1969, 12, 31, 12, 0, 0), utc(1969, 12, 31, 13, 30,
	    0));
	pol_policy_free(p);

	/* A custom id. */
	p = load_ok(FULL);
	assert_int_equal(pol_or_quiet(pol_policy_outreach(p),
	    utc(2024, 6, 15, 19, 0, 0), &u, &id), 1);
	assert_string_equal(id, "nachtruhe");
	pol_policy_free(p);
}

/* A TZif version 2 file with no transitions: type 0 at <off0>, and the
 * footer <tz>; what zic -b slim writes for zones whose rules settled. */
static size_t
tzif_slim(unsigned char *buf, int32_t off0, const char *tz)
{
	size_t n = 0;

	for (int pass = 0; pass < 2; pass++) {
		memcpy(buf + n, "TZif2", 5);
		memset(buf + n + 5, 0, 15);
		memset(buf + n + 20, 0, 24);
		buf[n + 39] = 1;	/* typecnt */
		buf[n + 43] = 4;	/* charcnt */
		n += 44;
		buf[n++] = (unsigned char)((uint32_t)off0 >> 24);
		buf[n++] = (unsigned char)((uint32_t)off0 >> 16);
		buf[n++] = (unsigned char)((uint32_t)off0 >> 8);
		buf[n++] = (unsigned char)off0;
		buf[n++] = 0;
		buf[n++] = 0;
		memcpy(buf + n, "STD", 4);
		n += 4;
	}
	buf[n++] = '\n';
	memcpy(buf + n, tz, strlen(tz));
	n += strlen(tz);
	buf[n++] = '\n';
	return n;
}

/* The footer of a system zone file. */
static void
footer_of(const char *zone, char *out, size_t size)
{
	char	 path[256], buf[8192];
	FILE	*f;
	size_t	 n, i;

	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
	assert_non_null(f = fopen(path, "rb"));
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_true(n > 2 && buf[n - 1] == '\n');
	for (i = n - 1; i > 0 && buf[i - 1] != '\n'; i--)
		;
	snprintf(out, size, "%.*s", (int)(n - 1 - i), buf + i);
}

/* Offsets equal at every change point of either zone in [from, to]: both
 * are piecewise constant, so they are then equal everywhere between. */
static void
assert_same_zone(const struct pol_tz *a, const struct pol_tz *b,
    int64_t from, int64_t to)
{
	for (int k = 0; k < 2; k++) {
		const struct pol_tz	*x = k ? b : a, *y = k ? a : b;
		int64_t			 t = from, next;
		size_t			 changes = 0;

		while (t < to) {
			int32_t ox = pol_tz_offset(x, t, &next);

			if (ox != pol_tz_offset(y, t, NULL) ||
			    pol_tz_offset(x, t - 1, NULL) !=
			    pol_tz_offset(y, t - 1, NULL))
				fprintf(stderr, "differ at %lld\n",
				    (long long)t);
			assert_int_equal(ox, pol_tz_offset(y, t, NULL));
			assert_int_equal(pol_tz_offset(x, t - 1, NULL),
			    pol_tz_offset(y, t - 1, NULL));
			assert_true(next > t);
			t = next;
			changes++;
		}
		assert_true(changes < 200);
	}
}

static void
t_tz_footer(void **state)
{
	/* Zones whose footers use every part of the TZ string syntax:
	 * M dates, /time, negative and 24h times, <...> names, minutes in
	 * offsets, southern summers, no daylight time. */
	static const char *const zones[] = { "Europe/Berlin",
	    "America/New_York", "Australia/Sydney", "America/Santiago",
	    "America/Nuuk", "Pacific/Chatham", "Asia/Kolkata",
	    "Asia/Tokyo", "America/Sao_Paulo" };
	unsigned char	 buf[512];
	char		 footer[128], why[512], path[256];
	const char	*w;
	FILE		*f;

	(void)state;
	setenv("TZDIR", "/usr/share/zoneinfo", 1);
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		struct pol_tz *fat = pol_tz_load(zones[i], why, sizeof(why));
		struct pol_tz *slim;

		if (fat == NULL)
			fprintf(stderr, "%s: %s\n", zones[i], why);
		assert_non_null(fat);
		footer_of(zones[i], footer, sizeof(footer));
		slim = pol_tz_from_tzif(buf, tzif_slim(buf, 0, footer), &w);
		assert_non_null(slim);
		/* The system files list transitions to 2037; from 2024 on
		 * every one of these zones follows its footer's rule. */
		assert_same_zone(fat, slim, utc(2024, 1, 1, 0, 0, 0),
		    utc(2037, 1, 1, 0, 0, 0));
		pol_tz_free(fat);
		pol_tz_free(slim);
	}

	/* A slim zone in a TZDIR of our own, through a policy. */
	snprintf(path, sizeof(path), "%s/Test", g_tzdir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/Test/Slim", g_tzdir);
	assert_non_null(f = fopen(path, "wb"));
	fwrite(buf, 1, tzif_slim(buf, 3600, "CET-1CEST,M3.5.0,M10.5.0/3"), f);
	fclose(f);
	setenv("TZDIR", g_tzdir, 1);
	{
		struct pol_policy *p = quiet_policy("Test/Slim", "21:00",
		    "08:00");

		check_berlin(pol_policy_outreach(p));
		pol_policy_free(p);
	}
	setenv("TZDIR", "/usr/share/zoneinfo", 1);

	/* All-year daylight time (RFC 8536 3.3.1): EDT, -4, always. */
	{
		struct pol_tz *z = pol_tz_from_tzif(buf, tzif_slim(buf,
		    -18000, "EST5EDT,0/0,J365/25"), &w);

		assert_non_null(z);
		assert_int_equal(pol_tz_offset(z, utc(2024, 1, 1, 0, 0, 0),
		    NULL), -14400);
		assert_int_equal(pol_tz_offset(z, utc(2024, 12, 31, 23, 0, 0),
		    NULL), -14400);
		assert_int_equal(pol_tz_offset(z, utc(2023, 7, 1, 0, 0, 0),
		    NULL), -14400);
		pol_tz_free(z);
	}
	/* Jn and n dates, default daylight offset: J60 is March 1 even in
	 * a leap year; day 59 (zero-based) is February 29 then. */
	{
		struct pol_tz *z = pol_tz_from_tzif(buf, tzif_slim(buf, 0,
		    "AAA0BBB,J60/0,59/0"), &w);

		assert_non_null(z);
		assert_int_equal(pol_tz_offset(z, utc(2024, 2, 29, 12, 0, 0),
		    NULL), 0);
		assert_int_equal(pol_tz_offset(z, utc(2024, 3, 1, 0, 0, 0),
		    NULL), 3600);
		assert_int_equal(pol_tz_offset(z, utc(2025, 2, 28, 22, 59, 59),
		    NULL), 3600);
		assert_int_equal(pol_tz_offset(z, utc(2025, 2, 28, 23, 0, 0),
		    NULL), 0);
		pol_tz_free(z);
	}
	/* A footer this reader cannot use (daylight time without a rule):
	 * the last offset holds. */
	{
		struct pol_tz *z = pol_tz_from_tzif(buf, tzif_slim(buf, 7200,
		    "EET-2EEST"), &w);

		assert_non_null(z);
		assert_int_equal(pol_tz_offset(z, utc(2024, 7, 1, 0, 0, 0),
		    NULL), 7200);
		pol_tz_free(z);
	}
}

static void
t_tz_bad(void **state)
{
	unsigned char	 buf[512];
	size_t		 n;
	const char	*w;
	int32_t		 off;

	(void)state;
	n = tzif_slim(buf, 3600, "CET-1");
	assert_null(pol_tz_from_tzif(buf, 10, &w));
	assert_string_equal(w, "not a TZif file");
	assert_null(pol_tz_from_tzif(buf, 60, &w));
	assert_string_equal(w, "truncated TZif file");
	assert_null(pol_tz_from_tzif(buf, n - 1, &w));	/* footer's \n */
	assert_string_equal(w, "malformed TZif file");
	buf[0] = 'X';
	assert_null(pol_tz_from_tzif(buf, n, &w));
	assert_string_equal(w, "not a TZif file");
	buf[0] = 'T';
	buf[54 + 39] = 0;			/* typecnt 0 */
	assert_null(pol_tz_from_tzif(buf, n, &w));
	assert_string_equal(w, "malformed TZif file");
	n = tzif_slim(buf, 30 * 3600, "CET-1");	/* offset out of range */
	assert_null(pol_tz_from_tzif(buf, n, &w));
	assert_string_equal(w, "malformed TZif file");
	/* Version 1 only (no footer). */
	n = tzif_slim(buf, 3600, "");
	buf[4] = 0;
	{
		struct pol_tz *z = pol_tz_from_tzif(buf, 54, &w);

		assert_non_null(z);
		assert_int_equal(pol_tz_offset(z, 0, NULL), 3600);
		pol_tz_free(z);
	}

	assert_int_equal(pol_tz_fixed_parse("UTC", &off), 0);
	assert_int_equal(off, 0);
	assert_int_equal(pol_tz_fixed_parse("+05:30", &off), 0);
	assert_int_equal(off, 19800);
	assert_int_equal(pol_tz_fixed_parse("-08:00", &off), 0);
	assert_int_equal(off, -28800);
	assert_int_equal(pol_tz_fixed_parse("+24:00", &off), -1);
	assert_int_equal(pol_tz_fixed_parse("05:30", &off), -1);
	assert_int_equal(pol_tz_fixed_parse("+5:30", &off), -1);
	assert_int_equal(pol_tz_fixed_parse("+05:60", &off), -1);
	assert_int_equal(pol_tz_fixed_parse("utc", &off), -1);
}

/* ---------------------------------------------------------- normalising */

static void
t_normalise(void **state)
{
	static const struct {
		const char	*in, *out;	/* out NULL: -1 */
	} de[] = {
		{ "  Jane.Doe@Example.COM \n", "jane.doe@example.com" },
		{ "Ünïcode.Ä@Bücher.example", "Ünïcode.Ä@bücher.example" },
		{ "+49 30 1234-567", "+49301234567" },
		{ "0049 30 1234567", "+49301234567" },
		{ "030 1234567", "+49301234567" },
		{ "(030) 123.45.67", "+49301234567" },
		{ "+49 (0)30 1234567", "+49301234567" },
		{ "30 1234567", "+49301234567" },
		{ "+1 (555) 010-9999", "+15550109999" },
		{ "cust-00042", "cust-00042" },
		{ "  CRM:Lead/77 ", "CRM:Lead/77" },
		{ "1234567890123456", "1234567890123456" },	/* > E.164 */
		{ "+", "+" },
		{ "12 34 ab", "12 34 ab" },
		{ "   ", NULL },
		{ "", NULL },
	};
	static const struct {
		const char	*in, *out;
	} us[] = {
		{ "(555) 010-9999", "+15550109999" },
		{ "555.010.9999", "+15550109999" },
		{ "+44 20 7946 0958", "+442079460958" },
		{ "00 44 20 7946 0958", "+442079460958" },
	};
	struct pol_policy	*p;
	char			 buf[64], y[512];
	long			 n;

	(void)state;
	p = load_ok(FULL);
	for (size_t i = 0; i < sizeof(de) / sizeof(de[0]); i++) {
		n = pol_or_normalise(pol_policy_outreach(p), de[i].in,
		    strlen(de[i].in), buf, sizeof(buf));
		if (de[i].out == NULL) {
			assert_int_equal(n, -1);
			continue;
		}
		if (n < 0 || strcmp(buf, de[i].out) != 0)
			fprintf(stderr, "'%s' -> '%s'\n", de[i].in, buf);
		assert_int_equal(n, (long)strlen(de[i].out));
		assert_string_equal(buf, de[i].out);
	}
	/* Too small a buffer, length-bounded input. */
	assert_int_equal(pol_or_normalise(pol_policy_outreach(p),
	    "+49 30 1234-567", 15, buf, 12), -1);
	assert_int_equal(pol_or_normalise(pol_policy_outreach(p),
	    "+49 30 1234-567", 15, buf, 13), 12);
	assert_int_equal(pol_or_normalise(pol_policy_outreach(p),
	    "a@b.cd", 6, buf, 6), -1);
	assert_int_equal(pol_or_normalise(pol_policy_outreach(p),
	    "a@b.cdXYZ", 6, buf, 7), 6);
	assert_string_equal(buf, "a@b.cd");
	pol_policy_free(p);

	snprintf(y, sizeof(y), "outreach:\n"
	    "  routes: [{match: \"POST /api/messages\", recipient: \"$.to\"}]\n"
	    "  automated: {roles: [marketing]}\n"
	    "  default_country: \"+1\"\n");
	p = load_ok(y);
	for (size_t i = 0; i < sizeof(us) / sizeof(us[0]); i++) {
		n = pol_or_normalise(pol_policy_outreach(p), us[i].in,
		    strlen(us[i].in), buf, sizeof(buf));
		assert_int_equal(n, (long)strlen(us[i].out));
		assert_string_equal(buf, us[i].out);
	}
	pol_policy_free(p);
	/* Without a policy (NULL): no default country. */
	assert_int_equal(pol_or_normalise(NULL, "(555) 010-9999", 14, buf,
	    sizeof(buf)), 10);
	assert_string_equal(buf, "5550109999");
}

/* ----------------------------------------------------------------- tokens */

static int
url_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == '.' || *s == '~' || *s == ':'))
			return 0;
	return 1;
}

static void
assert_bad_token(const struct pol_outreach *o, const struct keys_ring *r,
    const char *tok, int64_t now, const char *why_want)
{
	char		 fp[KEYS_FP_LEN + 1] = "x";
	const char	*why = NULL;

	assert_int_equal(pol_or_token_check(o, r, tok, strlen(tok), now, fp,
	    &why), -1);
	assert_string_equal(why, why_want);
	assert_string_equal(fp, "");
}

static void
t_tokens(void **state)
{
	const int64_t			 now = 1767225600;	/* 2026-01-01 */
	struct pol_policy		*p = load_ok(FULL), *p2;
	const struct pol_outreach	*o = pol_policy_outreach(p), *o2;
	char				 fp[KEYS_FP_LEN + 1], tok[POL_OR_TOKEN_MAX];
	char				 t2[POL_OR_TOKEN_MAX], exp[32];
	const char			*why = "x";
	long				 n;
	uint32_t			 v;
	struct pol_errs			*errs;

	(void)state;
	assert_int_equal(keys_fingerprint(g_ring, "jane@example.com", 16, fp),
	    0);
	n = pol_or_token_make(o, g_ring, fp, now, tok, sizeof(tok));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(tok));
	assert_true(url_safe(tok));
	/* <fp>.<now + 30d>.hash.1:<mac> */
	snprintf(exp, sizeof(exp), ".%lld.hash.1:", (long long)(now +
	    30 * 86400));
	assert_memory_equal(tok, fp, KEYS_FP_LEN);
	assert_memory_equal(tok + KEYS_FP_LEN, exp, strlen(exp));
	/* Round trip, up to the last second. */
	memset(t2, 0, sizeof(t2));
	assert_int_equal(pol_or_token_check(o, g_ring, tok, (size_t)n, now, t2,
	    &why), 0);
	assert_null(why);
	assert_string_equal(t2, fp);
	assert_int_equal(pol_or_token_check(o, g_ring, tok, (size_t)n,
	    now + 30 * 86400 - 1, t2, NULL), 0);
	/* Deterministic. */
	assert_int_equal(pol_or_token_make(o, g_ring, fp, now, t2, sizeof(t2)),
	    n);
	assert_string_equal(t2, tok);

	/* Expired. */
	assert_bad_token(o, g_ring, tok, now + 30 * 86400, "expired");
	/* Tampered fingerprint. */
	strcpy(t2, tok);
	t2[3] = t2[3] == 'A' ? 'B' : 'A';
	assert_bad_token(o, g_ring, t2, now, "bad signature");
	/* Tampered expiry: later. */
	strcpy(t2, tok);
	t2[KEYS_FP_LEN + 1] = (char)(t2[KEYS_FP_LEN + 1] + 1);
	assert_bad_token(o, g_ring, t2, now, "bad signature");
	/* Tampered MAC. */
	strcpy(t2, tok);
	t2[n - 2] = t2[n - 2] == 'A' ? 'B' : 'A';
	assert_bad_token(o, g_ring, t2, now, "bad signature");
	/* Truncated MAC. */
	strcpy(t2, tok);
	t2[n - 1] = '\0';
	assert_bad_token(o, g_ring, t2, now, "bad signature");
	/* The same key name in another keyring. */
	assert_bad_token(o, g_ring2, tok, now, "bad signature");
	/* A token naming another key. */
	snprintf(t2, sizeof(t2), "%.*s.%lld.fingerprint.1:%s", KEYS_FP_LEN,
	    tok, (long long)(now + 30 * 86400), strchr(tok, ':') + 1);
	assert_bad_token(o, g_ring, t2, now, "bad signature");
	/* No keyring; a keyring without the key. */
	assert_bad_token(o, NULL, tok, now, "no key");
	assert_int_equal(pol_or_token_make(o, NULL, fp, now, t2, sizeof(t2)),
	    -1);

	/* Malformed. */
	assert_bad_token(o, g_ring, "", now, "malformed");
	assert_bad_token(o, g_ring, "abc.1.hash.1:x", now, "malformed");
	snprintf(t2, sizeof(t2), "%s", tok);
	t2[5] = '+';
	assert_bad_token(o, g_ring, t2, now, "malformed");
	snprintf(t2, sizeof(t2), "%.*s.0%lld.hash.1:abc", KEYS_FP_LEN, tok,
	    (long long)now);
	assert_bad_token(o, g_ring, t2, now, "malformed");
	snprintf(t2, sizeof(t2), "%.*s.%lld.hash1abc", KEYS_FP_LEN, tok,
	    (long long)now);
	assert_bad_token(o, g_ring, t2, now, "malformed");
	snprintf(t2, sizeof(t2), "%.*s.%lld.hash.1:", KEYS_FP_LEN, tok,
	    (long long)now);
	assert_bad_token(o, g_ring, t2, now, "malformed");
	snprintf(t2, sizeof(t2), "%.*s.%lld.hash.:abc", KEYS_FP_LEN, tok,
	    (long long)now);
	assert_bad_token(o, g_ring, t2, now, "malformed");
	snprintf(t2, sizeof(t2), "%.*s.99999999999999999999.hash.1:abc",
	    KEYS_FP_LEN, tok);
	assert_bad_token(o, g_ring, t2, now, "malformed");
	snprintf(t2, sizeof(t2), "%.*s..hash.1:abc", KEYS_FP_LEN, tok);
	assert_bad_token(o, g_ring, t2, now, "malformed");

	/* Making: bad fingerprints, small buffers. */
	assert_int_equal(pol_or_token_make(o, g_ring, "short", now, t2,
	    sizeof(t2)), -1);
	assert_int_equal(pol_or_token_make(o, g_ring, "aaaaaaaaaaaaaaaaaaaa+/",
	    now, t2, sizeof(t2)), -1);
	assert_int_equal(pol_or_token_make(o, g_ring, fp, -1, t2, sizeof(t2)),
	    -1);
	assert_int_equal(pol_or_token_make(o, g_ring, fp, now, t2, (size_t)n),
	    -1);
	assert_string_equal(t2, "");
	assert_int_equal(pol_or_token_make(o, g_ring, fp, now, t2,
	    (size_t)n + 1), n);
	/* No unsubscribe section. */
	p2 = load_ok("outreach:\n"
	    "  routes: [{match: \"POST /api/messages\", recipient: \"$.to\"}]\n"
	    "  automated: {roles: [marketing]}\n");
	o2 = pol_policy_outreach(p2);
	assert_int_equal(pol_or_token_make(o2, g_ring, fp, now, t2,
	    sizeof(t2)), -1);
	assert_bad_token(o2, g_ring, tok, now, "no key");
	pol_policy_free(p2);

	/* Rotating the key invalidates links made before ("no key"); new
	 * ones name the new version. */
	assert_int_equal(pol_or_token_make(o, g_ring2, fp, now, t2,
	    sizeof(t2)), n);
	assert_int_equal(pol_or_token_check(o, g_ring2, t2, (size_t)n, now,
	    exp, &why), 0);
	errs = pol_errs_new();
	assert_int_equal(keys_rotate(g_ring2, "hash", &v, errs), 0);
	assert_int_equal(v, 2);
	pol_errs_free(errs);
	assert_bad_token(o, g_ring2, t2, now, "no key");
	assert_true(pol_or_token_make(o, g_ring2, fp, now, t2, sizeof(t2)) >
	    0);
	assert_non_null(strstr(t2, ".hash.2:"));
	assert_int_equal(pol_or_token_check(o, g_ring2, t2, strlen(t2), now,
	    exp, &why), 0);
	pol_policy_free(p);
}

/* ---------------------------------------------------------------- example */

static void
t_example_policy(void **state)
{
	static const char *const ai[] = { "ai_assistant" };
	static const char *const rep[] = { "sales_rep" };
	const char			*files[] = { "policies/examples/crm.yaml",
					    "policies/examples/outreach.yaml" };
	struct pol_errs			*errs = pol_errs_new();
	struct pol_env			 e = env_full();
	struct pol_policy		*p;
	const struct pol_outreach	*o;
	int				 ip;

	(void)state;
	setenv("TZDIR", "/usr/share/zoneinfo", 1);
	p = pol_policy_load(files, 2, &e, errs);
	if (p == NULL || pol_errs_total(errs) > 0)
		pol_errs_print(errs, stderr);
	assert_non_null(p);
	assert_int_equal(pol_errs_total(errs), 0);
	o = pol_policy_outreach(p);
	assert_non_null(o);
	assert_int_equal(pol_or_route(o, "POST", "/api/messages", 13), 0);
	assert_string_equal(pol_or_recipient(o, 0), "$.to");
	assert_string_equal(pol_or_channel(o, 0, &ip), "$.channel");
	assert_int_equal(ip, 1);
	assert_int_equal(pol_or_automated(o, "sales-copilot", ai, 1), 1);
	assert_int_equal(pol_or_automated(o, "rep-app", rep, 1), 0);
	assert_true(pol_or_nlimits(o) >= 2);
	assert_string_equal(pol_or_scope_name(o, 0), "*");
	assert_int_equal(pol_or_quiet(o, utc(2026, 1, 5, 21, 0, 0), NULL,
	    NULL), 1);
	assert_true(pol_or_has_unsubscribe(o));
	pol_policy_free(p);
	pol_errs_free(errs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_full_section),
		cmocka_unit_test(t_minimal_section),
		cmocka_unit_test(t_route_match),
		cmocka_unit_test(t_automated),
		cmocka_unit_test(t_scopes_limits),
		cmocka_unit_test(t_durations),
		cmocka_unit_test(t_errors),
		cmocka_unit_test(t_errors_shapes),
		cmocka_unit_test(t_two_files),
		cmocka_unit_test(t_paths),
		cmocka_unit_test(t_quiet_berlin),
		cmocka_unit_test(t_quiet_other_zones),
		cmocka_unit_test(t_tz_footer),
		cmocka_unit_test(t_tz_bad),
		cmocka_unit_test(t_normalise),
		cmocka_unit_test(t_tokens),
		cmocka_unit_test(t_example_policy),
	};

	/* Zones come from the system's tzdata unless a test says otherwise
	 * (single-threaded: setenv is fine here, never in the library). */
	setenv("TZDIR", "/usr/share/zoneinfo", 1);
	return cmocka_run_group_tests_name("outreach policy", tests,
	    group_setup, group_teardown);
}
