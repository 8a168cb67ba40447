/* proxy/route.c — "METHODS /path" route patterns: parsing, matching and the
 * most-specific-wins choice among configured routes. */
#include <string.h>

#include "proxy/config.h"
#include "proxy/http.h"
#include "proxy/route.h"

/*
 * Matching rules (kept small on purpose, documented for the README):
 *  - Patterns and paths are split on '/' after the leading one; "/" is one
 *    empty segment, "/a/" is the segments "a" and "" — so "/a/" and "/a"
 *    differ, and "/a" does not match the path "/a/" (nor the reverse).
 *  - A segment "*" matches one non-empty segment. A segment "v*" matches any
 *    segment starting with "v" (including "v" itself). A final "**" matches
 *    the rest: zero or more segments, so the pattern "/api" followed by
 *    "/" and "**" matches "/api", "/api/" and "/api/x/y"; the pattern of
 *    "/" and "**" alone matches every path, "/" included.
 *  - Paths are compared as sent: no percent-decoding, no dot-segment removal.
 *    The server normalises (or rejects) such paths before routing.
 */

int
proxy_route_parse(const char *match, unsigned *methods, const char **path,
    const char **why)
{
	const char *sp, *p, *seg;
	unsigned bits = 0;

	*why = NULL;
	if (match == NULL || (sp = strchr(match, ' ')) == NULL) {
		*why = "expected \"METHODS /path\"";
		return -1;
	}
	if (sp - match == 1 && match[0] == '*')
		bits = CFG_M_ANY;
	else {
		for (p = match; p < sp; ) {
			const char *bar = memchr(p, '|', (size_t)(sp - p));
			const char *e = bar ? bar : sp;
			unsigned b;

			if (e == p) {
				*why = "empty method";
				return -1;
			}
			if ((b = http_method_bit(p, (size_t)(e - p))) == 0) {
				*why = "unknown method (GET, HEAD, POST, PUT, "
				    "PATCH, DELETE, OPTIONS or *)";
				return -1;
			}
			bits |= b;
			p = e + 1;
			if (bar != NULL && p == sp) {
				*why = "empty method";
				return -1;
			}
		}
		if (sp == match) {
			*why = "missing methods";
			return -1;
		}
	}
	p = sp + 1;
	if (*p != '/') {
		*why = *p == ' ' ? "exactly one space between methods and path"
		    : "path must start with '/'";
		return -1;
	}
	/* Check every segment; seg is the start of the current one. */
	for (seg = ++p; ; p++) {
		if (*p == '/' || *p == '\0') {
			size_t n = (size_t)(p - seg);
			const char *star = memchr(seg, '*', n);

			if (n == 0 && *p == '/') {
				*why = "empty path segment";
				return -1;
			}
			if (n == 2 && seg[0] == '*' && seg[1] == '*') {
				if (*p != '\0') {
					*why = "'**' only as the last segment";
					return -1;
				}
			} else if (star != NULL && star != seg + n - 1) {
				*why = "'*' only at the end of a segment";
				return -1;
			}
			if (*p == '\0')
				break;
			seg = p + 1;
		} else if ((unsigned char)*p <= ' ' || *p == 0x7f ||
		    *p == '?' || *p == '#') {
			*why = "bad character in path";
			return -1;
		}
	}
	*methods = bits;
	*path = sp + 1;
	return 0;
}

int
proxy_route_path_match(const char *pattern, const char *path, size_t len)
{
	const char *p, *s, *e;

	if (pattern[0] != '/' || len == 0 || path[0] != '/')
		return 0;
	p = pattern + 1;
	s = path + 1;
	e = path + len;
	for (;;) {
		const char *pe = strchr(p, '/');
		const char *se = memchr(s, '/', (size_t)(e - s));
		size_t pl, sl;

		if (pe == NULL)
			pe = p + strlen(p);
		pl = (size_t)(pe - p);
		if (pl == 2 && p[0] == '*' && p[1] == '*' && *pe == '\0')
			return 1;
		if (se == NULL)
			se = e;
		sl = (size_t)(se - s);
		if (pl == 1 && p[0] == '*') {
			if (sl == 0)
				return 0;
		} else if (pl > 0 && p[pl - 1] == '*') {
			if (sl < pl - 1 || memcmp(p, s, pl - 1) != 0)
				return 0;
		} else if (pl != sl || memcmp(p, s, pl) != 0)
			return 0;
		if (*pe == '\0')
			return se == e;
		if (se == e)	/* the path ends; only a final "**" may follow */
			return strcmp(pe + 1, "**") == 0;
		p = pe + 1;
		s = se + 1;
	}
}

/*
 * Specificity packs, from most to least significant: the number of literal
 * segments; fewer wildcard segments; more literal bytes in prefix globs;
 * no "**". Each field is capped so that none overflows into the next.
 */
long
proxy_route_specificity(const char *pattern)
{
	unsigned long lit = 0, wild = 0, pre = 0, dstar = 0;
	const char *p = pattern, *seg;

	if (*p == '/')
		p++;
	for (seg = p; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		{
			size_t n = (size_t)(p - seg);

			if (n == 2 && seg[0] == '*' && seg[1] == '*') {
				wild++;
				dstar = 1;
			} else if (n > 0 && seg[n - 1] == '*') {
				wild++;
				pre += n - 1;
			} else
				lit++;
		}
		if (*p == '\0')
			break;
		seg = p + 1;
	}
	if (lit > 0xfffff)
		lit = 0xfffff;
	if (wild > 0xffff)
		wild = 0xffff;
	if (pre > 0xffff)
		pre = 0xffff;
	return (long)(lit << 40 | (0xffff - wild) << 24 | pre << 8 | !dstar);
}

const struct cfg_route *
proxy_route_find(const struct cfg_route *routes, size_t n, unsigned method_bit,
    const char *path, size_t len, int *method_mismatch)
{
	const struct cfg_route *best = NULL;
	long best_spec = 0, spec;
	int mismatch = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (routes[i].path == NULL ||
		    !proxy_route_path_match(routes[i].path, path, len))
			continue;
		if ((routes[i].methods & method_bit) == 0) {
			mismatch = 1;
			continue;
		}
		/* Strictly greater: ties go to the route written first. */
		spec = proxy_route_specificity(routes[i].path);
		if (best == NULL || spec > best_spec) {
			best = &routes[i];
			best_spec = spec;
		}
	}
	if (method_mismatch != NULL)
		*method_mismatch = best == NULL && mismatch;
	return best;
}
