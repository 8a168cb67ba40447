/* policies/outreach.c — the `outreach` section of a policy (issue 9): which
 * requests send messages and to whom, who counts as automated, the
 * sliding-window limits, quiet hours, recipient normalisation and
 * unsubscribe tokens. Loading and pure functions only: the counters and
 * opt-outs live in the proxy's state store. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "audit/audit.h"
#include "keys/keys.h"
#include "policies/errs.h"
#include "policies/internal.h"
#include "policies/yaml.h"

#define OR_WIN_MIN	1LL			/* 1s */
#define OR_WIN_MAX	(366LL * 86400)		/* 366d */
#define OR_TTL_MIN	1LL			/* short links are for tests */
#define OR_TTL_MAX	(3660LL * 86400)	/* ten years */
#define OR_TTL_DEFAULT	(30LL * 86400)
#define OR_TOKEN_CTX	"custos-unsubscribe-v1\n"
#define OR_E164_DIGITS	15

_Static_assert(POL_OR_TOKEN_MAX >= KEYS_FP_LEN + 1 + 19 + 1 + KEYS_HASH_MAX,
    "POL_OR_TOKEN_MAX too small for fp.expiry.KEYID:MAC");

struct or_route {
	struct pol_route	 r;
	char			*recipient;	/* canonical folded path */
	char			*channel;	/* canonical path or a name; NULL */
	int			 channel_path;
	/* the two paths compiled, for matching a body's paths unformatted */
	struct cls_glob		*rglob, *cglob;
};

struct or_scope {
	const char	*name;		/* "*", or a channel as first written */
	unsigned	 ring;		/* the largest max of its limits */
};

struct pol_outreach {
	struct or_route		*routes;
	size_t			 nroutes;
	const char		**roles;	/* NULL: no role is automated */
	size_t			 nroles;
	const char		**principals;	/* NULL: no principal */
	size_t			 nprincipals;
	struct pol_or_limit	*limits;
	size_t			 nlimits;
	struct or_scope		*scopes;
	size_t			 nscopes;
	struct pol_tz		*tz;		/* NULL: no quiet hours */
	int32_t			 q_from, q_to;	/* seconds after local midnight */
	const char		*q_id;
	char			 cc[4];		/* calling code digits; "": none */
	const char		*u_key;		/* NULL: no unsubscribe */
	int64_t			 u_ttl;
	const char		*u_url;		/* NULL: none */
};

/* ------------------------------------------------------------ JSON paths */

/* A character of a key written after '.' ($.to, $.客户): ASCII letters,
 * digits, '_', any byte of a non-ASCII UTF-8 character. */
static int
ident_ch(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

/* Reads <s> into segments (keys decoded into one buffer), then writes them
 * as cls_path_format() does: the text a body's folded path would have. */
char *
pol_or_path_canon(const char *s, const char **why)
{
	size_t		 len = strlen(s), nseg = 0, kl, n;
	char		*out = NULL, *keys = NULL, *key;
	struct cls_seg	*segs = NULL;
	struct cls_path	 path;
	const char	*p, *q;

	/* every segment takes at least 2 input bytes; a decoded key is no
	 * longer than its text */
	if ((segs = calloc(len / 2 + 1, sizeof(*segs))) == NULL ||
	    (keys = malloc(len + 1)) == NULL) {
		*why = "out of memory";
		goto fail;
	}
	key = keys;
	if (s[0] != '$') {
		*why = "it does not start with '$'";
		goto fail;
	}
	for (p = s + 1; *p != '\0'; nseg++) {
		if (*p == '.') {
			if (p[1] == '.' || p[1] == '*') {
				*why = "wildcards other than [*] are not "
				    "supported";
				goto fail;
			}
			for (q = p + 1; ident_ch((unsigned char)*q); q++)
				;
			if (q == p + 1) {
				*why = "a key after '.' must be an identifier "
				    "(write other keys as ['...'])";
				goto fail;
			}
			segs[nseg].key = p + 1;
			segs[nseg].len = (size_t)(q - p - 1);
			p = q;
		} else if (*p == '[' && p[1] == '*' && p[2] == ']') {
			segs[nseg].key = NULL;	/* an element: [*] */
			p += 3;
		} else if (*p == '[' && p[1] >= '0' && p[1] <= '9') {
			*why = "array indexes are folded: write [*]";
			goto fail;
		} else if (*p == '[' && p[1] == '\'') {
			for (kl = 0, q = p + 2; *q != '\0' && *q != '\''; q++) {
				if (*q == '\\') {
					if (q[1] != '\'' && q[1] != '\\') {
						*why = "only \\' and \\\\ are "
						    "escapes in ['...']";
						goto fail;
					}
					q++;
				}
				key[kl++] = *q;
			}
			if (*q != '\'' || q[1] != ']') {
				*why = "['...'] is not closed";
				goto fail;
			}
			segs[nseg].key = key;
			segs[nseg].len = kl;
			key += kl;
			p = q + 2;
		} else {
			*why = "expected .key, ['key'] or [*]";
			goto fail;
		}
	}
	path.segs = segs;
	path.depth = nseg;
	path.hashed = 0;
	n = cls_path_format(&path, 1, NULL, 0);
	if ((out = malloc(n + 1)) == NULL) {
		*why = "out of memory";
		goto fail;
	}
	(void)cls_path_format(&path, 1, out, n + 1);
	free(segs);
	free(keys);
	return out;
fail:
	free(segs);
	free(keys);
	return NULL;
}

/* ------------------------------------------------------------- durations */

/* "7d", "24h", "90s": the largest unit that divides <s>. */
static const char *
fmt_dur(int64_t s, char *buf, size_t size)
{
	if (s % 86400 == 0)
		snprintf(buf, size, "%lldd", (long long)(s / 86400));
	else if (s % 3600 == 0)
		snprintf(buf, size, "%lldh", (long long)(s / 3600));
	else if (s % 60 == 0)
		snprintf(buf, size, "%lldm", (long long)(s / 60));
	else
		snprintf(buf, size, "%llds", (long long)s);
	return buf;
}

/* A duration in seconds in [min, max]: "90s", "30m", "24h", "7d", or a
 * plain integer of milliseconds (whole seconds), like the rest of the
 * configuration. */
static int
duration(const struct pol_yaml_node *n, int64_t min, int64_t max,
    struct pol_errs *errs, int64_t *out)
{
	static const struct { char c; int64_t mul; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	const char	*s = pol_yaml_scalar(n);
	size_t		 len = pol_yaml_len(n), i, nd;
	int64_t		 v = 0, mul = 0;
	char		 l[96], d[96], a[32], b[32];

	if (n == NULL)
		return -1;
	if (pol_yaml_type(n) != POL_YAML_SCALAR || pol_yaml_is_null(n))
		goto bad;
	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (v > (INT64_MAX - 9) / 10)
			goto bad;
		v = v * 10 + (s[i] - '0');
	}
	nd = i;
	if (nd == 0)
		goto bad;
	if (i == len) {
		/* Milliseconds, written as a number. */
		if (pol_yaml_quoted(n))
			goto bad;
		if (v % 1000 != 0) {
			pol_yaml_error(n, errs, "%s must be whole seconds, "
			    "not %lld ms", pol_yaml_label(n, l, sizeof(l)),
			    (long long)v);
			return -1;
		}
		v /= 1000;
	} else {
		if (i + 1 != len)
			goto bad;
		for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (units[u].c == s[i])
				mul = units[u].mul;
		if (mul == 0 || v > INT64_MAX / mul)
			goto bad;
		v *= mul;
	}
	if (v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	pol_yaml_error(n, errs, "%s must be a duration from %s to %s (\"90s\", "
	    "\"30m\", \"24h\", \"7d\", or milliseconds), not %s",
	    pol_yaml_label(n, l, sizeof(l)), fmt_dur(min, a, sizeof(a)),
	    fmt_dur(max, b, sizeof(b)), pol_yaml_describe(n, d, sizeof(d)));
	return -1;
}

/* "HH:MM" (or "H:MM"), 00:00 to 23:59, as seconds after midnight. */
static int
time_of_day(const struct pol_yaml_node *n, struct pol_errs *errs,
    int32_t *out)
{
	const char	*s;
	size_t		 len;
	int		 h, m;
	char		 l[96], d[96];

	if (pol_yaml_str(n, errs, &s) < 0)
		return -1;
	len = strlen(s);
	if (len == 4)
		h = s[0] - '0';
	else if (len == 5 && s[0] >= '0' && s[0] <= '9')
		h = (s[0] - '0') * 10 + (s[1] - '0');
	else
		goto bad;
	s += len - 4;
	if (h < 0 || h > 23 || s[0] < '0' || s[0] > '9' || s[1] != ':' ||
	    s[2] < '0' || s[2] > '5' || s[3] < '0' || s[3] > '9')
		goto bad;
	m = (s[2] - '0') * 10 + (s[3] - '0');
	*out = h * 3600 + m * 60;
	return 0;
bad:
	pol_yaml_error(n, errs, "%s must be a time of day \"HH:MM\" (00:00 to "
	    "23:59), not %s", pol_yaml_label(n, l, sizeof(l)),
	    pol_yaml_describe(n, d, sizeof(d)));
	return -1;
}

/* --------------------------------------------------------------- loading */

/* ASCII case-insensitive equality of a (NUL-terminated) and b (bl bytes):
 * channel names from message bodies vary in case ("SMS", "sms"). */
static int
chan_eq(const char *a, const char *b, size_t bl)
{
	return strlen(a) == bl && strncasecmp(a, b, bl) == 0;
}

/* A non-empty string value. */
static int
nonempty(const struct pol_yaml_node *n, struct pol_errs *errs,
    const char **out)
{
	char l[96];

	if (pol_yaml_str(n, errs, out) < 0)
		return -1;
	if (**out == '\0') {
		pol_yaml_error(n, errs, "%s must not be empty",
		    pol_yaml_label(n, l, sizeof(l)));
		return -1;
	}
	return 0;
}

/* A JSON path value: canonicalised into *out, and compiled into *glob
 * (the canonical form is a glob without wildcards other than [*]). */
static int
path_value(const struct pol_yaml_node *n, struct pol_errs *errs,
    char **out, struct cls_glob **glob)
{
	const char	*s, *why;
	char		 l[96];
	size_t		 pos;

	if (pol_yaml_str(n, errs, &s) < 0)
		return -1;
	if ((*out = pol_or_path_canon(s, &why)) == NULL) {
		pol_yaml_error(n, errs, "%s is not a JSON path like \"$.to\", "
		    "\"$.recipients[*].email\" or \"$['first name']\": %s",
		    pol_yaml_label(n, l, sizeof(l)), why);
		return -1;
	}
	if ((*glob = cls_glob_compile(*out, &why, &pos)) == NULL) {
		pol_yaml_error(n, errs, "%s: %s", pol_yaml_label(n, l,
		    sizeof(l)), why != NULL ? why : "out of memory");
		return -1;
	}
	return 0;
}

/* A list that must hold at least one item. */
static int
want_items(const struct pol_yaml_node *n, struct pol_errs *errs,
    const char *alt)
{
	char l[96];

	if (pol_yaml_want_seq(n, errs) < 0)
		return -1;
	if (pol_yaml_len(n) == 0) {
		pol_yaml_error(n, errs, "%s is empty (%s)",
		    pol_yaml_label(n, l, sizeof(l)), alt);
		return -1;
	}
	return 0;
}

static int
parse_route(struct pol_outreach *o, const struct pol_yaml_node *n,
    const struct pol_env *env, struct pol_errs *errs)
{
	static const char *const keys[] = { "match", "recipient", "channel",
	    NULL };
	/* One slot per item, even a bad one. */
	struct or_route			*rt = &o->routes[o->nroutes++];
	const struct pol_yaml_node	*x;
	const char			*s;
	int				 bad = 0, known = 0;

	if (pol_yaml_want_map(n, errs) < 0)
		return -1;
	if (pol_yaml_check_keys(n, keys, errs) > 0)
		bad = 1;
	if ((x = pol_yaml_need(n, "match", errs)) == NULL ||
	    pol_yaml_str(x, errs, &s) < 0)
		bad = 1;
	else if (pol_route_parse(s, &rt->r) < 0) {
		pol_yaml_error(x, errs, "route '%s' is not \"METHODS /path\" "
		    "(e.g. \"POST /api/messages\")", s);
		bad = 1;
	} else if (env != NULL && env->routes != NULL) {
		for (size_t j = 0; j < env->nroutes; j++) {
			struct pol_route cr;

			if (pol_route_parse(env->routes[j], &cr) == 0 &&
			    (cr.methods & rt->r.methods) &&
			    pol_glob_overlap(cr.path, rt->r.path))
				known = 1;
		}
		if (!known)
			pol_yaml_warn(x, errs, "route '%s' matches no "
			    "configured route (no message is counted there)",
			    s);
	}
	if ((x = pol_yaml_need(n, "recipient", errs)) == NULL ||
	    path_value(x, errs, &rt->recipient, &rt->rglob) < 0)
		bad = 1;
	if ((x = pol_yaml_get(n, "channel")) != NULL) {
		if (nonempty(x, errs, &s) < 0)
			bad = 1;
		else if (s[0] == '$') {
			rt->channel_path = 1;
			if (path_value(x, errs, &rt->channel,
			    &rt->cglob) < 0)
				bad = 1;
		} else if ((rt->channel = strdup(s)) == NULL)
			return -1;
	}
	return bad ? -1 : 0;
}

static int
parse_automated(struct pol_outreach *o, const struct pol_yaml_node *n,
    const struct pol_env *env, struct pol_errs *errs)
{
	static const char *const keys[] = { "roles", "principals", NULL };
	const struct pol_yaml_node	*r, *p;
	int				 bad = 0;

	if (pol_yaml_want_map(n, errs) < 0)
		return -1;
	if (pol_yaml_check_keys(n, keys, errs) > 0)
		bad = 1;
	r = pol_yaml_get(n, "roles");
	p = pol_yaml_get(n, "principals");
	if (r == NULL && p == NULL) {
		pol_yaml_error(n, errs, "'automated' names no roles or "
		    "principals (the limits would apply to no one)");
		return -1;
	}
	/* Here a key left out matches no one, so the rules' "leave it out
	 * to match any" hint for an empty list would mislead. */
	if (r != NULL && pol_yaml_type(r) == POL_YAML_SEQ &&
	    pol_yaml_len(r) == 0) {
		pol_yaml_error(r, errs, "'roles' is empty (leave it out when "
		    "no role is automated)");
		bad = 1;
	} else if (pol_name_list(errs, r, "role", env ? env->roles : NULL,
	    env ? env->nroles : 0, &o->roles, &o->nroles) < 0)
		bad = 1;
	if (p != NULL && pol_yaml_type(p) == POL_YAML_SEQ &&
	    pol_yaml_len(p) == 0) {
		pol_yaml_error(p, errs, "'principals' is empty (leave it out "
		    "when no principal is named)");
		bad = 1;
	} else if (pol_name_list(errs, p, "principal",
	    env ? env->principals : NULL, env ? env->nprincipals : 0,
	    &o->principals, &o->nprincipals) < 0)
		bad = 1;
	return bad ? -1 : 0;
}

static int
parse_limit(struct pol_outreach *o, const struct pol_yaml_node *n,
    const struct pol_yaml_node *const *idnodes, struct pol_errs *errs)
{
	static const char *const keys[] = { "id", "max", "window", "channel",
	    NULL };
	/* One slot per item, even a bad one: limit i is item i. */
	struct pol_or_limit		*l = &o->limits[o->nlimits++];
	const struct pol_yaml_node	*x;
	long long			 mx = 0;
	int64_t				 w = 0;
	int				 bad = 0;

	if (pol_yaml_want_map(n, errs) < 0)
		return -1;
	if (pol_yaml_check_keys(n, keys, errs) > 0)
		bad = 1;
	if ((x = pol_yaml_need(n, "id", errs)) == NULL ||
	    nonempty(x, errs, &l->id) < 0)
		bad = 1;
	for (size_t j = 0; l->id != NULL && j + 1 < o->nlimits; j++)
		if (o->limits[j].id != NULL &&
		    strcmp(o->limits[j].id, l->id) == 0) {
			pol_yaml_error(x, errs, "duplicate limit id '%s' "
			    "(first at line %zu)", l->id,
			    pol_yaml_line(idnodes[j]));
			bad = 1;
			break;
		}
	if ((x = pol_yaml_need(n, "max", errs)) == NULL ||
	    pol_yaml_int(x, 1, POL_OR_MAX_MAX, errs, &mx) < 0)
		bad = 1;
	l->max = (unsigned)mx;
	if ((x = pol_yaml_need(n, "window", errs)) == NULL ||
	    duration(x, OR_WIN_MIN, OR_WIN_MAX, errs, &w) < 0)
		bad = 1;
	l->window_s = (uint32_t)w;
	if ((x = pol_yaml_get(n, "channel")) != NULL) {
		if (nonempty(x, errs, &l->channel) < 0)
			bad = 1;
		else if (l->channel[0] == '$') {
			pol_yaml_error(x, errs, "a limit's 'channel' is a "
			    "channel name (\"sms\"), not a JSON path: the "
			    "routes say where the channel is read");
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

/* Scopes: "*" for the limits without a channel, then one per channel in
 * order of first appearance; each ring holds the largest max. */
static int
build_scopes(struct pol_outreach *o)
{
	if ((o->scopes = calloc(o->nlimits + 1, sizeof(*o->scopes))) == NULL)
		return -1;
	for (size_t i = 0; i < o->nlimits; i++)
		if (o->limits[i].channel == NULL) {
			o->scopes[0].name = "*";
			o->nscopes = 1;
			break;
		}
	for (size_t i = 0; i < o->nlimits; i++) {
		struct pol_or_limit	*l = &o->limits[i];
		size_t			 s = 0;

		if (l->channel != NULL) {
			for (s = 0; s < o->nscopes; s++)
				if (strcmp(o->scopes[s].name, "*") != 0 &&
				    chan_eq(o->scopes[s].name, l->channel,
				    strlen(l->channel)))
					break;
			if (s == o->nscopes)
				o->scopes[o->nscopes++].name = l->channel;
		}
		l->scope = (unsigned)s;
		if (l->max > o->scopes[s].ring)
			o->scopes[s].ring = l->max;
	}
	return 0;
}

/* A limit on a channel that no route sends on never counts. Only known
 * when every route's channel is a fixed name. */
static void
check_channels(const struct pol_outreach *o,
    const struct pol_yaml_node *limits, struct pol_errs *errs)
{
	for (size_t r = 0; r < o->nroutes; r++)
		if (o->routes[r].channel_path)
			return;
	for (size_t i = 0; i < o->nlimits; i++) {
		const char	*ch = o->limits[i].channel;
		size_t		 r;

		if (ch == NULL)
			continue;
		for (r = 0; r < o->nroutes; r++)
			if (o->routes[r].channel != NULL &&
			    chan_eq(o->routes[r].channel, ch, strlen(ch)))
				break;
		if (r == o->nroutes)
			pol_yaml_warn(pol_yaml_get(pol_yaml_item(limits, i),
			    "channel"), errs, "no route sends on channel '%s' "
			    "(the limit never counts)", ch);
	}
}

static int
parse_quiet(struct pol_outreach *o, const struct pol_yaml_node *n,
    struct pol_errs *errs)
{
	static const char *const keys[] = { "from", "to", "timezone", "id",
	    NULL };
	const struct pol_yaml_node	*x, *f = NULL, *t = NULL;
	const char			*s;
	char				 why[512], hint[256];
	int				 bad = 0;

	o->q_id = "quiet-hours";
	if (pol_yaml_want_map(n, errs) < 0)
		return -1;
	if (pol_yaml_check_keys(n, keys, errs) > 0)
		bad = 1;
	if ((f = pol_yaml_need(n, "from", errs)) == NULL ||
	    time_of_day(f, errs, &o->q_from) < 0)
		bad = 1;
	if ((t = pol_yaml_need(n, "to", errs)) == NULL ||
	    time_of_day(t, errs, &o->q_to) < 0)
		bad = 1;
	if (!bad && o->q_from == o->q_to) {
		pol_yaml_error(t, errs, "quiet hours from %s to %s are empty "
		    "(or the whole day?); leave 'quiet_hours' out, or give "
		    "two different times", pol_yaml_scalar(f),
		    pol_yaml_scalar(t));
		bad = 1;
	}
	if ((x = pol_yaml_get(n, "id")) != NULL &&
	    nonempty(x, errs, &o->q_id) < 0)
		bad = 1;
	for (size_t i = 0; x != NULL && i < o->nlimits; i++)
		if (o->limits[i].id != NULL &&
		    strcmp(o->limits[i].id, o->q_id) == 0) {
			pol_yaml_error(x, errs, "quiet hours id '%s' is also "
			    "a limit id", o->q_id);
			bad = 1;
		}
	if ((x = pol_yaml_need(n, "timezone", errs)) == NULL ||
	    nonempty(x, errs, &s) < 0)
		bad = 1;
	else if ((o->tz = pol_tz_load(s, why, sizeof(why))) == NULL) {
		if (pol_tz_suggest(s, hint, sizeof(hint)) == 0)
			pol_yaml_error(x, errs, "unknown time zone '%s' (did "
			    "you mean '%s'?)", s, hint);
		else
			pol_yaml_error(x, errs, "unknown time zone '%s' (%s; a "
			    "zone name like Europe/Berlin, UTC, or an offset "
			    "like +05:30)", s, why);
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* "+49": a plus and 1 to 3 digits, not starting with 0. */
static int
parse_cc(struct pol_outreach *o, const struct pol_yaml_node *n,
    struct pol_errs *errs)
{
	const char	*s;
	size_t		 len, i;
	char		 d[96];

	if (pol_yaml_str(n, errs, &s) < 0)
		return -1;
	len = strlen(s);
	for (i = 1; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (s[0] != '+' || len < 2 || len > 4 || i != len || s[1] == '0') {
		pol_yaml_error(n, errs, "'default_country' must be a country "
		    "calling code like \"+49\" or \"+1\", not %s",
		    pol_yaml_describe(n, d, sizeof(d)));
		return -1;
	}
	memcpy(o->cc, s + 1, len);	/* the digits and the NUL */
	return 0;
}

/* An http:// or https:// URL without spaces or control characters. */
static int
parse_url(const struct pol_yaml_node *n, struct pol_errs *errs,
    const char **out)
{
	const char	*s;
	char		 d[96];
	size_t		 i, pre;

	if (pol_yaml_str(n, errs, &s) < 0)
		return -1;
	pre = strncmp(s, "https://", 8) == 0 ? 8 :
	    strncmp(s, "http://", 7) == 0 ? 7 : 0;
	for (i = pre; s[i] > ' ' && s[i] != 0x7f; i++)
		;
	if (pre == 0 || i == pre || s[i] != '\0') {
		pol_yaml_error(n, errs, "'url' must be an http:// or https:// "
		    "URL without spaces, not %s",
		    pol_yaml_describe(n, d, sizeof(d)));
		return -1;
	}
	*out = s;
	return 0;
}

static int
parse_unsub(struct pol_outreach *o, const struct pol_yaml_node *n,
    const struct pol_env *env, struct pol_errs *errs)
{
	static const char *const keys[] = { "key", "ttl", "url", NULL };
	const struct pol_yaml_node	*x, *at = n;
	const struct keys_key		*k;
	int				 bad = 0;

	o->u_key = "hash";
	o->u_ttl = OR_TTL_DEFAULT;
	if (pol_yaml_want_map(n, errs) < 0)
		return -1;
	if (pol_yaml_check_keys(n, keys, errs) > 0)
		bad = 1;
	if ((x = pol_yaml_get(n, "key")) != NULL) {
		at = x;
		if (nonempty(x, errs, &o->u_key) < 0)
			return -1;
	}
	if ((x = pol_yaml_get(n, "ttl")) != NULL &&
	    duration(x, OR_TTL_MIN, OR_TTL_MAX, errs, &o->u_ttl) < 0)
		bad = 1;
	if ((x = pol_yaml_get(n, "url")) != NULL) {
		if (parse_url(x, errs, &o->u_url) < 0)
			bad = 1;
	}
	if (env == NULL || env->ring == NULL)
		return bad ? -1 : 0;
	if ((k = keys_find(env->ring, o->u_key)) == NULL) {
		pol_yaml_error(at, errs, "no key '%s' in the keyring (create "
		    "it with: custos keys new %s hash)", o->u_key, o->u_key);
		bad = 1;
	} else if (keys_purpose(k) != KEYS_P_HASH) {
		pol_yaml_error(at, errs, "key '%s' has purpose %s; unsubscribe "
		    "links need a key of purpose hash", o->u_key,
		    keys_purpose_name(keys_purpose(k)));
		bad = 1;
	} else if (keys_writer_version(k) == 0) {
		pol_yaml_error(at, errs, "key '%s' has no active version",
		    o->u_key);
		bad = 1;
	}
	return bad ? -1 : 0;
}

void
pol_or_free(struct pol_outreach *o)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < o->nroutes; i++) {
		free(o->routes[i].recipient);
		free(o->routes[i].channel);
		cls_glob_free(o->routes[i].rglob);
		cls_glob_free(o->routes[i].cglob);
	}
	free(o->routes);
	free(o->roles);
	free(o->principals);
	free(o->limits);
	free(o->scopes);
	pol_tz_free(o->tz);
	free(o);
}

int
pol_or_parse(const struct pol_yaml_node *n, const struct pol_env *env,
    struct pol_errs *errs, struct pol_outreach **out)
{
	static const char *const keys[] = { "routes", "automated", "limits",
	    "quiet_hours", "default_country", "unsubscribe", NULL };
	struct pol_outreach		 *o;
	const struct pol_yaml_node	 *x, *lim;
	const struct pol_yaml_node	**idnodes = NULL;
	int				  bad = 0;

	*out = NULL;
	if (pol_yaml_want_map(n, errs) < 0)
		return -1;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		goto oom;
	if (pol_yaml_check_keys(n, keys, errs) > 0)
		bad = 1;
	if ((x = pol_yaml_need(n, "routes", errs)) == NULL ||
	    want_items(x, errs, "name the requests that send messages") < 0)
		bad = 1;
	else {
		if ((o->routes = calloc(pol_yaml_len(x),
		    sizeof(*o->routes))) == NULL)
			goto oom;
		for (size_t i = 0; i < pol_yaml_len(x); i++)
			if (parse_route(o, pol_yaml_item(x, i), env, errs) < 0)
				bad = 1;
	}
	if ((x = pol_yaml_need(n, "automated", errs)) == NULL ||
	    parse_automated(o, x, env, errs) < 0)
		bad = 1;
	if ((lim = pol_yaml_get(n, "limits")) != NULL) {
		if (want_items(lim, errs, "leave it out for no limits") < 0)
			bad = 1;
		else {
			size_t nl = pol_yaml_len(lim);

			if (nl > POL_OR_MAX_LIMITS) {
				pol_yaml_error(lim, errs, "at most %d limits",
				    POL_OR_MAX_LIMITS);
				bad = 1;
			}
			if ((o->limits = calloc(nl, sizeof(*o->limits))) ==
			    NULL || (idnodes = calloc(nl,
			    sizeof(*idnodes))) == NULL)
				goto oom;
			for (size_t i = 0; i < nl; i++) {
				idnodes[i] = pol_yaml_get(pol_yaml_item(lim, i),
				    "id");
				if (parse_limit(o, pol_yaml_item(lim, i),
				    idnodes, errs) < 0)
					bad = 1;
			}
			if (!bad)
				check_channels(o, lim, errs);
		}
	}
	if (build_scopes(o) < 0)
		goto oom;
	if (o->nscopes > POL_OR_MAX_SCOPES) {
		pol_yaml_error(lim, errs, "at most %d counting scopes (the "
		    "limits on all channels, and one per channel named)",
		    POL_OR_MAX_SCOPES);
		bad = 1;
	}
	if ((x = pol_yaml_get(n, "quiet_hours")) != NULL &&
	    parse_quiet(o, x, errs) < 0)
		bad = 1;
	if ((x = pol_yaml_get(n, "default_country")) != NULL &&
	    parse_cc(o, x, errs) < 0)
		bad = 1;
	if ((x = pol_yaml_get(n, "unsubscribe")) != NULL &&
	    parse_unsub(o, x, env, errs) < 0)
		bad = 1;
	free(idnodes);
	if (bad) {
		pol_or_free(o);
		return -1;
	}
	*out = o;
	return 0;
oom:
	pol_yaml_error(n, errs, "out of memory");
	free(idnodes);
	pol_or_free(o);
	return -1;
}

/* ------------------------------------------------------------- accessors */

const struct pol_outreach *
pol_policy_outreach(const struct pol_policy *p)
{
	return p != NULL ? p->outreach : NULL;
}

int
pol_or_route(const struct pol_outreach *o, const char *method,
    const char *path, size_t path_len)
{
	unsigned bit;

	if (o == NULL || method == NULL || path == NULL)
		return -1;
	bit = pol_method_bit(method, strlen(method));
	if (bit == 0 || bit == POL_M_ANY)
		return -1;
	for (size_t i = 0; i < o->nroutes; i++)
		if ((o->routes[i].r.methods & bit) &&
		    pol_glob_match(o->routes[i].r.path, path, path_len))
			return (int)i;
	return -1;
}

const char *
pol_or_recipient(const struct pol_outreach *o, int route)
{
	if (o == NULL || route < 0 || (size_t)route >= o->nroutes)
		return NULL;
	return o->routes[route].recipient;
}

const struct cls_glob *
pol_or_recipient_glob(const struct pol_outreach *o, int route)
{
	if (o == NULL || route < 0 || (size_t)route >= o->nroutes)
		return NULL;
	return o->routes[route].rglob;
}

const struct cls_glob *
pol_or_channel_glob(const struct pol_outreach *o, int route)
{
	if (o == NULL || route < 0 || (size_t)route >= o->nroutes)
		return NULL;
	return o->routes[route].cglob;
}

const char *
pol_or_channel(const struct pol_outreach *o, int route, int *is_path)
{
	if (is_path != NULL)
		*is_path = 0;
	if (o == NULL || route < 0 || (size_t)route >= o->nroutes)
		return NULL;
	if (is_path != NULL)
		*is_path = o->routes[route].channel_path;
	return o->routes[route].channel;
}

static int
in_list(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

int
pol_or_automated(const struct pol_outreach *o, const char *principal,
    const char *const *roles, size_t nroles)
{
	if (o == NULL)
		return 0;
	if (in_list(o->principals, o->nprincipals, principal))
		return 1;
	for (size_t i = 0; roles != NULL && i < nroles; i++)
		if (in_list(o->roles, o->nroles, roles[i]))
			return 1;
	return 0;
}

size_t
pol_or_nscopes(const struct pol_outreach *o)
{
	return o != NULL ? o->nscopes : 0;
}

const char *
pol_or_scope_name(const struct pol_outreach *o, size_t i)
{
	return o != NULL && i < o->nscopes ? o->scopes[i].name : NULL;
}

unsigned
pol_or_scope_ring(const struct pol_outreach *o, size_t i)
{
	return o != NULL && i < o->nscopes ? o->scopes[i].ring : 0;
}

size_t
pol_or_nlimits(const struct pol_outreach *o)
{
	return o != NULL ? o->nlimits : 0;
}

const struct pol_or_limit *
pol_or_limit_at(const struct pol_outreach *o, size_t i)
{
	return o != NULL && i < o->nlimits ? &o->limits[i] : NULL;
}

size_t
pol_or_limits_for(const struct pol_outreach *o, const char *channel,
    size_t chlen, size_t *out, size_t cap)
{
	size_t n = 0;

	if (o == NULL)
		return 0;
	if (channel == NULL)
		chlen = 0;
	for (size_t i = 0; i < o->nlimits && n < cap; i++) {
		const char *lc = o->limits[i].channel;

		if (lc == NULL || (chlen > 0 && chan_eq(lc, channel, chlen)))
			out[n++] = i;
	}
	return n;
}

/* ----------------------------------------------------------- quiet hours */

int
pol_or_quiet(const struct pol_outreach *o, int64_t now_s, int64_t *until_s,
    const char **id)
{
	int64_t	 next, local, sod, target, t;
	int32_t	 off;
	int	 quiet;

	if (o == NULL || o->tz == NULL)
		return 0;
	/* Far outside any calendar the arithmetic below could overflow. */
	if (now_s < -((int64_t)1 << 50) || now_s > ((int64_t)1 << 50))
		return 0;
	off = pol_tz_offset(o->tz, now_s, &next);
	local = now_s + off;
	sod = local % 86400;
	if (sod < 0)
		sod += 86400;
	if (o->q_from < o->q_to)
		quiet = sod >= o->q_from && sod < o->q_to;
	else
		quiet = sod >= o->q_from || sod < o->q_to;
	if (!quiet)
		return 0;
	/* The end: the first instant from now on at which the wall clock
	 * reads `to` or later, on today's date, or tomorrow's when the
	 * hours span midnight and began today. The wall clock only moves
	 * forward between transitions, so walk them: in each span of one
	 * offset the clock reads target at target - offset; when a
	 * transition jumps over target (spring forward past `to`), the
	 * transition itself ends the quiet hours. */
	target = local - sod + o->q_to +
	    (o->q_from > o->q_to && sod >= o->q_from ? 86400 : 0);
	t = now_s;
	for (int i = 0; i < 64; i++) {
		if (t + off >= target)
			break;
		if (next == INT64_MAX || target - off < next) {
			t = target - off;
			break;
		}
		t = next;
		off = pol_tz_offset(o->tz, t, &next);
	}
	if (until_s != NULL)
		*until_s = t;
	if (id != NULL)
		*id = o->q_id;
	return 1;
}

/* ---------------------------------------------------------- normalising */

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

/* The digits of a phone-looking value (see pol_or_normalise) into
 * d (at least OR_E164_DIGITS + 1 bytes), *intl when it has a + or 00
 * prefix. Returns the number of digits, 0 when v does not look like a
 * phone number (or has more digits than E.164 allows). */
static size_t
phone_digits(const char *v, size_t len, char *d, int *intl)
{
	size_t	 i = 0, n = 0;

	*intl = 0;
	if (v[0] == '+') {
		*intl = 1;
		i = 1;
	} else if (len >= 2 && v[0] == '0' && v[1] == '0') {
		*intl = 1;
		i = 2;
	}
	for (; i < len; i++) {
		char c = v[i];

		/* "+49 (0)30 ...": the trunk 0 in parentheses is not
		 * dialled from abroad. */
		if (*intl && c == '(' && i + 2 < len && v[i + 1] == '0' &&
		    v[i + 2] == ')') {
			i += 2;
			continue;
		}
		if (c >= '0' && c <= '9') {
			if (n == OR_E164_DIGITS)
				return 0;
			d[n++] = c;
		} else if (c != ' ' && c != '-' && c != '.' && c != '(' &&
		    c != ')')
			return 0;
	}
	return n;
}

long
pol_or_normalise(const struct pol_outreach *o, const char *v, size_t len,
    char *buf, size_t cap)
{
	char	 d[OR_E164_DIGITS + 1];
	size_t	 n, dl, i;
	int	 intl;

	if (v == NULL || buf == NULL || cap == 0)
		return -1;
	buf[0] = '\0';
	while (len > 0 && is_space((unsigned char)v[0]))
		v++, len--;
	while (len > 0 && is_space((unsigned char)v[len - 1]))
		len--;
	if (len == 0)
		return -1;
	if (memchr(v, '@', len) != NULL) {
		if (len >= cap)
			return -1;
		for (i = 0; i < len; i++) {
			char c = v[i];

			buf[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') :
			    c;
		}
		buf[len] = '\0';
		return (long)len;
	}
	if ((dl = phone_digits(v, len, d, &intl)) > 0) {
		const char *cc = o != NULL ? o->cc : "";

		n = 0;
		if (intl || cc[0] != '\0') {
			size_t	 skip = !intl && d[0] == '0';
			size_t	 ccl = intl ? 0 : strlen(cc);

			if (1 + ccl + dl - skip >= cap)
				return -1;
			buf[n++] = '+';
			memcpy(buf + n, cc, ccl);
			n += ccl;
			memcpy(buf + n, d + skip, dl - skip);
			n += dl - skip;
		} else {
			if (dl >= cap)
				return -1;
			memcpy(buf, d, dl);
			n = dl;
		}
		buf[n] = '\0';
		return (long)n;
	}
	if (len >= cap)
		return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return (long)len;
}

/* -------------------------------------------------- unsubscribe tokens */

int
pol_or_has_unsubscribe(const struct pol_outreach *o)
{
	return o != NULL && o->u_key != NULL;
}

const char *
pol_or_unsubscribe_url(const struct pol_outreach *o)
{
	return o != NULL && o->u_key != NULL ? o->u_url : NULL;
}

_Static_assert(AUDIT_OR_FP_LEN == KEYS_FP_LEN,
    "a recipient's fingerprint is the keyring's");

/* The MAC ("KEYID:BASE64URL") of fp and the decimal expiry under the
 * writer of k. */
static int
token_mac(const struct keys_key *k, const char *fp, const char *exp,
    size_t explen, char mac[KEYS_HASH_MAX], size_t *maclen)
{
	char	 msg[sizeof(OR_TOKEN_CTX) + KEYS_FP_LEN + 24];
	int	 ml;

	ml = snprintf(msg, sizeof(msg), "%s%.*s\n%.*s\n", OR_TOKEN_CTX,
	    KEYS_FP_LEN, fp, (int)explen, exp);
	if (ml < 0 || (size_t)ml >= sizeof(msg))
		return -1;
	return keys_hash(k, msg, (size_t)ml, mac, KEYS_HASH_MAX, maclen) ==
	    KEYS_OK ? 0 : -1;
}

long
pol_or_token_make(const struct pol_outreach *o, const struct keys_ring *ring,
    const char *fp, int64_t now_s, char *out, size_t cap)
{
	const struct keys_key	*k;
	char			 exp[24], mac[KEYS_HASH_MAX];
	size_t			 maclen;
	int			 el, n;

	if (out != NULL && cap > 0)
		out[0] = '\0';
	if (o == NULL || o->u_key == NULL || ring == NULL || fp == NULL ||
	    out == NULL || !audit_or_fp_valid(fp) || now_s < 0 ||
	    now_s > INT64_MAX - o->u_ttl ||
	    (k = keys_find(ring, o->u_key)) == NULL)
		return -1;
	el = snprintf(exp, sizeof(exp), "%lld", (long long)(now_s + o->u_ttl));
	if (token_mac(k, fp, exp, (size_t)el, mac, &maclen) < 0)
		return -1;
	n = snprintf(out, cap, "%s.%s.%s", fp, exp, mac);
	if (n < 0 || (size_t)n >= cap) {
		if (cap > 0)
			out[0] = '\0';
		return -1;
	}
	return n;
}

int
pol_or_token_check(const struct pol_outreach *o, const struct keys_ring *ring,
    const char *tok, size_t len, int64_t now_s, char *fp_out,
    const char **why)
{
	const struct keys_key		*k;
	struct keys_version_info	 vi;
	const char			*exp, *mac, *e, *colon, *dot, *w;
	char				 want[KEYS_HASH_MAX];
	char				 fpb[KEYS_FP_LEN + 1];
	size_t				 explen, wantlen, klen;
	int64_t				 expiry = 0;

	if (why == NULL)
		why = &w;
	if (fp_out != NULL)
		fp_out[0] = '\0';
	*why = "malformed";
	if (tok == NULL || len < KEYS_FP_LEN + 5 || len >= POL_OR_TOKEN_MAX ||
	    tok[KEYS_FP_LEN] != '.')
		return -1;
	memcpy(fpb, tok, KEYS_FP_LEN);
	fpb[KEYS_FP_LEN] = '\0';
	if (!audit_or_fp_valid(fpb))
		return -1;
	exp = tok + KEYS_FP_LEN + 1;
	e = tok + len;
	for (mac = exp; mac < e && *mac >= '0' && *mac <= '9'; mac++) {
		if (expiry > (INT64_MAX - 9) / 10)
			return -1;
		expiry = expiry * 10 + (*mac - '0');
	}
	explen = (size_t)(mac - exp);
	if (explen == 0 || (explen > 1 && exp[0] == '0') || mac == e ||
	    *mac != '.')
		return -1;
	mac++;
	/* KEYID:BASE64URL, KEYID = NAME.VERSION */
	if ((colon = memchr(mac, ':', (size_t)(e - mac))) == NULL ||
	    colon + 1 == e)
		return -1;
	for (dot = colon; dot > mac && dot[-1] != '.'; dot--)
		;
	if (dot == mac || dot == colon)
		return -1;
	klen = (size_t)(dot - 1 - mac);
	*why = "no key";
	if (o == NULL || o->u_key == NULL || ring == NULL ||
	    (k = keys_find(ring, o->u_key)) == NULL ||
	    keys_purpose(k) != KEYS_P_HASH || keys_writer_version(k) == 0 ||
	    keys_version_info(k, keys_writer_version(k), &vi) < 0)
		return -1;
	if (klen != strlen(o->u_key) || memcmp(mac, o->u_key, klen) != 0) {
		*why = "bad signature";
		return -1;
	}
	/* keys_hash() only writes under the newest active version: a link
	 * made before a rotation of the key cannot be checked (see
	 * policies.h). */
	if ((size_t)(colon - mac) != strlen(vi.id) ||
	    memcmp(mac, vi.id, (size_t)(colon - mac)) != 0)
		return -1;
	if (token_mac(k, tok, exp, explen, want, &wantlen) < 0)
		return -1;
	if (wantlen != (size_t)(e - mac) ||
	    sodium_memcmp(want, mac, wantlen) != 0) {
		*why = "bad signature";
		return -1;
	}
	if (now_s >= expiry) {
		*why = "expired";
		return -1;
	}
	if (fp_out != NULL)
		memcpy(fp_out, fpb, sizeof(fpb));
	*why = NULL;
	return 0;
}
