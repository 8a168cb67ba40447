/* tests/unit/test_route.c — route patterns: parsing, matching, specificity
 * and the 404 / 405 choice. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "proxy/config.h"
#include "proxy/route.h"

static void
test_parse_ok(void **state)
{
	static const struct { const char *in; unsigned m; const char *path; }
	    cs[] = {
		{ "GET /", CFG_M_GET, "/" },
		{ "GET|POST /api/customers/**", CFG_M_GET | CFG_M_POST,
		    "/api/customers/**" },
		{ "* /files/**", CFG_M_ANY, "/files/**" },
		{ "HEAD|PUT|PATCH|DELETE|OPTIONS /a/*/b",
		    CFG_M_HEAD | CFG_M_PUT | CFG_M_PATCH | CFG_M_DELETE |
		    CFG_M_OPTIONS, "/a/*/b" },
		{ "GET|GET /v*/x", CFG_M_GET, "/v*/x" },
		{ "DELETE /a/", CFG_M_DELETE, "/a/" },
		{ "GET /**", CFG_M_GET, "/**" },
		{ "GET /%2F/x", CFG_M_GET, "/%2F/x" },
	};
	unsigned m;
	const char *path, *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		if (proxy_route_parse(cs[i].in, &m, &path, &why) != 0)
			fail_msg("%s: %s", cs[i].in, why);
		assert_int_equal(m, cs[i].m);
		assert_string_equal(path, cs[i].path);
		assert_ptr_equal(path, strchr(cs[i].in, '/'));
	}
}

static void
test_parse_errors(void **state)
{
	static const char *const bad[] = {
		"", "GET", "/x", " /x", "GET  /x", "GET x", "GET ",
		"get /x", "FETCH /x", "GET|FETCH /x", "GET||POST /x",
		"|GET /x", "GET| /x", "** /x", "*|GET /x", "GET\t/x",
		"GET /x y", "GET /a//b", "GET //", "GET /**/x", "GET /a/**/b",
		"GET /*x", "GET /a*b", "GET /x**", "GET /a?b", "GET /a#b",
		"GET /a\x01", "GET /a\x7f",
	};
	unsigned m = 0;
	const char *path = NULL, *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (proxy_route_parse(bad[i], &m, &path, &why) != -1)
			fail_msg("accepted: \"%s\"", bad[i]);
		assert_non_null(why);
	}
	assert_int_equal(proxy_route_parse(NULL, &m, &path, &why), -1);
}

static int
match(const char *pattern, const char *path)
{
	return proxy_route_path_match(pattern, path, strlen(path));
}

static void
test_match(void **state)
{
	static const struct { const char *pat, *path; int want; } cs[] = {
		/* literal, root, trailing slash */
		{ "/", "/", 1 }, { "/", "/a", 0 }, { "/", "", 0 },
		{ "/a", "/a", 1 }, { "/a", "/a/", 0 }, { "/a/", "/a", 0 },
		{ "/a/", "/a/", 1 }, { "/a", "/ab", 0 }, { "/ab", "/a", 0 },
		{ "/a/b", "/a/b", 1 }, { "/a/b", "/a/c", 0 },
		{ "/a/b", "/a", 0 }, { "/a", "/a/b", 0 }, { "/a", "a", 0 },
		{ "/A", "/a", 0 },
		/* "*": one non-empty segment */
		{ "/*", "/x", 1 }, { "/*", "/", 0 }, { "/*", "/x/y", 0 },
		{ "/a/*", "/a/x", 1 }, { "/a/*", "/a/", 0 }, { "/a/*", "/a", 0 },
		{ "/a/*/c", "/a/b/c", 1 }, { "/a/*/c", "/a//c", 0 },
		{ "/a/*/c", "/a/b/d", 0 }, { "/*/*", "/a/b", 1 },
		/* final "**": zero or more segments */
		{ "/**", "/", 1 }, { "/**", "/a", 1 }, { "/**", "/a/b/c", 1 },
		{ "/**", "", 0 }, { "/**", "x", 0 },
		{ "/api/**", "/api", 1 }, { "/api/**", "/api/", 1 },
		{ "/api/**", "/api/x", 1 }, { "/api/**", "/api/x/y/", 1 },
		{ "/api/**", "/apix", 0 }, { "/api/**", "/ap", 0 },
		{ "/api/**", "/", 0 }, { "/api/*/**", "/api", 0 },
		{ "/api/*/**", "/api/x", 1 }, { "/api/*/**", "/api/x/y", 1 },
		/* prefix glob within a segment */
		{ "/v*", "/v", 1 }, { "/v*", "/v1", 1 }, { "/v*", "/x1", 0 },
		{ "/v*", "/", 0 }, { "/v*/x", "/v2/x", 1 }, { "/v*/x", "/v2/y", 0 },
		{ "/ab*", "/a", 0 }, { "/v*", "/v1/x", 0 },
		/* matched as sent */
		{ "/a/b", "/a%2Fb", 0 }, { "/a%2Fb", "/a%2Fb", 1 },
		{ "/a/*/c", "/a/../c", 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
		if (match(cs[i].pat, cs[i].path) != cs[i].want)
			fail_msg("\"%s\" vs \"%s\": want %d", cs[i].pat,
			    cs[i].path, cs[i].want);
	/* The length bounds the path: no NUL needed. */
	assert_true(proxy_route_path_match("/a", "/a/b", 2));
	assert_false(proxy_route_path_match("/a/b", "/a/b", 3));
	assert_false(proxy_route_path_match("/a", "/a", 0));
}

static void
test_specificity(void **state)
{
	/* Each pattern is strictly more specific than the next. */
	static const char *const order[] = {
		"/a/b/c",
		"/a/b/v1*",
		"/a/b/v*",
		"/a/b/*",
		"/a/b/**",
		"/a/**",	/* fewer wildcards before "*" over "**" */
		"/a/v*/*",
		"/a/*/*",
		"/*",
		"/**",
	};
	size_t i;

	(void)state;
	for (i = 0; i + 1 < sizeof(order) / sizeof(order[0]); i++)
		if (!(proxy_route_specificity(order[i]) >
		    proxy_route_specificity(order[i + 1])))
			fail_msg("\"%s\" not above \"%s\"", order[i],
			    order[i + 1]);
	assert_true(proxy_route_specificity("/") >
	    proxy_route_specificity("/**"));
	assert_true(proxy_route_specificity("/api/*/notes") >
	    proxy_route_specificity("/api/customers/**"));
	assert_true(proxy_route_specificity("/x") ==
	    proxy_route_specificity("/y"));
	assert_true(proxy_route_specificity("/**") > 0);
}

#define R(m, p)	{ .match = NULL, .methods = (m), .path = (char *)(p) }

static void
test_find(void **state)
{
	struct cfg_route routes[] = {
		R(CFG_M_ANY, "/**"),				/* 0 */
		R(CFG_M_GET | CFG_M_POST, "/api/customers/**"),	/* 1 */
		R(CFG_M_GET, "/api/customers/*"),		/* 2 */
		R(CFG_M_DELETE, "/api/customers/*"),		/* 3 */
		R(CFG_M_GET, "/api/customers/*"),		/* 4: tie with 2 */
		R(CFG_M_PUT, "/api/customers/vip"),		/* 5 */
	};
	size_t n = sizeof(routes) / sizeof(routes[0]);
	const struct cfg_route *r;
	int mm = -1;

	(void)state;
	r = proxy_route_find(routes, n, CFG_M_GET, "/api/customers/1", 16, &mm);
	assert_ptr_equal(r, &routes[2]);	/* most specific, first of a tie */
	assert_int_equal(mm, 0);
	r = proxy_route_find(routes, n, CFG_M_DELETE, "/api/customers/1", 16,
	    &mm);
	assert_ptr_equal(r, &routes[3]);
	r = proxy_route_find(routes, n, CFG_M_POST, "/api/customers/1", 16,
	    &mm);
	assert_ptr_equal(r, &routes[1]);
	r = proxy_route_find(routes, n, CFG_M_PUT, "/api/customers/vip", 18,
	    &mm);
	assert_ptr_equal(r, &routes[5]);
	/* A more specific route with another method does not hide a less
	 * specific one that allows the method. */
	r = proxy_route_find(routes, n, CFG_M_GET, "/api/customers/vip", 18,
	    &mm);
	assert_ptr_equal(r, &routes[2]);
	r = proxy_route_find(routes, n, CFG_M_PATCH, "/other", 6, &mm);
	assert_ptr_equal(r, &routes[0]);
	/* An unknown method (bit 0) matches no route, even "*". */
	r = proxy_route_find(routes, n, 0, "/other", 6, &mm);
	assert_null(r);
	assert_int_equal(mm, 1);

	/* 404 vs 405 without the catch-all. */
	r = proxy_route_find(routes + 1, n - 1, CFG_M_PATCH,
	    "/api/customers/1", 16, &mm);
	assert_null(r);
	assert_int_equal(mm, 1);
	r = proxy_route_find(routes + 1, n - 1, CFG_M_GET, "/api/orders", 11,
	    &mm);
	assert_null(r);
	assert_int_equal(mm, 0);
	r = proxy_route_find(routes + 1, n - 1, CFG_M_GET, "/api/customers",
	    14, &mm);
	assert_ptr_equal(r, &routes[1]);
	r = proxy_route_find(routes + 1, n - 1, CFG_M_GET, "/api/orders", 11,
	    NULL);
	assert_null(r);
	r = proxy_route_find(NULL, 0, CFG_M_GET, "/", 1, &mm);
	assert_null(r);
	assert_int_equal(mm, 0);
}

static void
test_find_parsed(void **state)
{
	static const char *const matches[] = {
		"GET|POST /api/customers/**",
		"* /files/**",
		"GET /",
	};
	struct cfg_route routes[3];
	const struct cfg_route *r;
	const char *why, *path;
	size_t i;
	int mm;

	(void)state;
	memset(routes, 0, sizeof(routes));
	for (i = 0; i < 3; i++) {
		assert_int_equal(proxy_route_parse(matches[i],
		    &routes[i].methods, &path, &why), 0);
		routes[i].path = (char *)(uintptr_t)path;
	}
	r = proxy_route_find(routes, 3, CFG_M_GET, "/", 1, &mm);
	assert_ptr_equal(r, &routes[2]);
	r = proxy_route_find(routes, 3, CFG_M_POST, "/", 1, &mm);
	assert_null(r);
	assert_int_equal(mm, 1);
	r = proxy_route_find(routes, 3, CFG_M_DELETE, "/files/a/b.pdf", 14,
	    &mm);
	assert_ptr_equal(r, &routes[1]);
	r = proxy_route_find(routes, 3, CFG_M_DELETE, "/api/customers/7", 16,
	    &mm);
	assert_null(r);
	assert_int_equal(mm, 1);
	r = proxy_route_find(routes, 3, CFG_M_GET, "/nope", 5, &mm);
	assert_null(r);
	assert_int_equal(mm, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_specificity),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_find_parsed),
	};

	return cmocka_run_group_tests_name("route", tests, NULL, NULL);
}
