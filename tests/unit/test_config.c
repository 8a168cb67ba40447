/* tests/unit/test_config.c — the YAML tree with marks (policies/yaml.c) and
 * the configuration loader (proxy/config.c). */
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "policies/errs.h"
#include "policies/yaml.h"
#include "proxy/config.h"

#define H1 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define H2 "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
#define H3 "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"
#define H4 "4444444444444444444444444444444444444444444444444444444444444444"

/* A temporary directory holding the config under test and the files it
 * names (certificates, CA, policy), removed after each test. */
struct fx {
	char			 dir[64];
	char			 path[128];
	struct pol_errs		*errs;
	struct proxy_config	*cfg;
	struct pol_yaml		*doc;
};

static void
write_file(const struct fx *f, const char *rel, const char *text)
{
	char	 p[256];
	FILE	*fp;

	snprintf(p, sizeof(p), "%s/%s", f->dir, rel);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));
	char		 p[256];

	assert_non_null(f);
	strcpy(f->dir, "/tmp/custos-test-config-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/custos.yaml", f->dir);
	snprintf(p, sizeof(p), "%s/tls", f->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/policies", f->dir);
	assert_int_equal(mkdir(p, 0700), 0);
	write_file(f, "tls/server.crt", "not really a certificate\n");
	write_file(f, "tls/server.key", "not really a key\n");
	write_file(f, "tls/clients.crt", "not really a CA\n");
	write_file(f, "ca.pem", "not really a CA\n");
	write_file(f, "policies/crm.yaml", "default: redact\n");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;
	const char	*files[] = {
		"custos.yaml", "tls/server.crt", "tls/server.key",
		"tls/clients.crt", "ca.pem", "policies/crm.yaml", "sub/c.yaml",
	};
	char		 p[256];

	proxy_config_free(f->cfg);
	pol_yaml_free(f->doc);
	pol_errs_free(f->errs);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/tls", f->dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/policies", f->dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/sub", f->dir);
	rmdir(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Writes <yaml> as the config file and loads it. */
static struct proxy_config *
load(struct fx *f, const char *yaml)
{
	proxy_config_free(f->cfg);
	pol_errs_free(f->errs);
	f->errs = pol_errs_new();
	assert_non_null(f->errs);
	write_file(f, "custos.yaml", yaml);
	f->cfg = proxy_config_load(f->path, f->errs);
	return f->cfg;
}

/* Parses <yaml> from memory as "t.yaml". */
static const struct pol_yaml_node *
parse(struct fx *f, const char *yaml)
{
	pol_yaml_free(f->doc);
	pol_errs_free(f->errs);
	f->errs = pol_errs_new();
	assert_non_null(f->errs);
	f->doc = pol_yaml_load_mem("t.yaml", yaml, strlen(yaml), f->errs);
	return pol_yaml_root(f->doc);
}

static void
dump_errs(const struct fx *f)
{
	for (size_t i = 0; i < pol_errs_total(f->errs); i++)
		print_message("  got: %s\n", pol_errs_get(f->errs, i));
}

/* <want> with "DIR" replaced by the temporary directory. */
static const char *
subst_dir(const struct fx *f, const char *want, char *buf, size_t size)
{
	const char	*d = strstr(want, "DIR");

	if (d == NULL)
		return want;
	snprintf(buf, size, "%.*s%s%s", (int)(d - want), want, f->dir, d + 3);
	return buf;
}

/* The messages must be exactly <want> (NULL-terminated), in order, each
 * written without the file name: "3:5: error: ...". <file> is the prefix.
 * "DIR" in a wanted message stands for the temporary directory. */
static void
expect_msgs(const struct fx *f, const char *file, const char *const *want)
{
	size_t	 n = 0, flen = strlen(file);
	char	 buf[1024];

	while (want[n] != NULL)
		n++;
	if (pol_errs_total(f->errs) != n)
		dump_errs(f);
	assert_int_equal(pol_errs_total(f->errs), n);
	for (size_t i = 0; i < n; i++) {
		const char *m = pol_errs_get(f->errs, i);

		assert_non_null(m);
		if (strncmp(m, file, flen) != 0 || m[flen] != ':')
			fail_msg("message without the file name: %s", m);
		if (strcmp(m + flen + 1, subst_dir(f, want[i], buf,
		    sizeof(buf))) != 0)
			dump_errs(f);
		assert_string_equal(m + flen + 1, subst_dir(f, want[i], buf,
		    sizeof(buf)));
	}
}

/* The config <yaml> must fail to load with exactly <want>. */
static void
expect_config_errors(struct fx *f, const char *yaml, const char *const *want)
{
	if (load(f, yaml) != NULL)
		fail_msg("config loaded although errors were expected");
	expect_msgs(f, f->path, want);
}

#define MINIMAL \
	"listen:\n" \
	"  - address: 127.0.0.1:8080\n" \
	"upstreams:\n" \
	"  crm: {url: http://127.0.0.1:8000}\n" \
	"routes:\n" \
	"  - {match: \"GET /api/**\", upstream: crm}\n"

/*
 * The YAML tree.
 */

static void
test_yaml_tree_marks(void **state)
{
	struct fx			*f = *state;
	const struct pol_yaml_node	*root, *a, *b, *c, *k;

	root = parse(f,
	    "# comment\n"
	    "name: custos\n"
	    "port: 8080\n"
	    "quoted: \"8080\"\n"
	    "list:\n"
	    "  - one\n"
	    "  - {x: 1, y: [a, b]}\n"
	    "flow: {k: v}\n"
	    "empty:\n"
	    "lit: |\n"
	    "  text\n");
	assert_non_null(root);
	assert_int_equal(pol_errs_total(f->errs), 0);
	assert_int_equal(pol_yaml_type(root), POL_YAML_MAP);
	assert_int_equal(pol_yaml_len(root), 7);
	assert_int_equal(pol_yaml_line(root), 2);
	assert_int_equal(pol_yaml_col(root), 1);
	assert_string_equal(pol_yaml_file(f->doc), "t.yaml");

	k = pol_yaml_map_key(root, 1);
	assert_string_equal(pol_yaml_scalar(k), "port");
	assert_int_equal(pol_yaml_line(k), 3);
	assert_int_equal(pol_yaml_col(k), 1);
	a = pol_yaml_map_value(root, 1);
	assert_string_equal(pol_yaml_scalar(a), "8080");
	assert_int_equal(pol_yaml_col(a), 7);
	assert_false(pol_yaml_quoted(a));
	assert_ptr_equal(pol_yaml_key_of(a), k);
	assert_true(pol_yaml_quoted(pol_yaml_get(root, "quoted")));
	assert_string_equal(pol_yaml_kind(a), "a number");
	assert_string_equal(pol_yaml_kind(pol_yaml_get(root, "quoted")),
	    "a string");

	b = pol_yaml_get(root, "list");
	assert_int_equal(pol_yaml_type(b), POL_YAML_SEQ);
	assert_int_equal(pol_yaml_len(b), 2);
	assert_int_equal(pol_yaml_line(b), 6);
	assert_int_equal(pol_yaml_col(b), 3);
	assert_string_equal(pol_yaml_scalar(pol_yaml_item(b, 0)), "one");
	c = pol_yaml_item(b, 1);
	assert_int_equal(pol_yaml_type(c), POL_YAML_MAP);
	assert_int_equal(pol_yaml_line(c), 7);
	assert_int_equal(pol_yaml_col(c), 5);
	c = pol_yaml_get(c, "y");
	assert_int_equal(pol_yaml_col(c), 15);
	assert_string_equal(pol_yaml_scalar(pol_yaml_item(c, 1)), "b");
	assert_int_equal(pol_yaml_col(pol_yaml_item(c, 1)), 19);
	assert_null(pol_yaml_item(c, 2));

	a = pol_yaml_get(pol_yaml_get(root, "flow"), "k");
	assert_string_equal(pol_yaml_scalar(a), "v");
	assert_int_equal(pol_yaml_line(a), 8);
	assert_int_equal(pol_yaml_col(a), 11);
	assert_true(pol_yaml_is_null(pol_yaml_get(root, "empty")));
	assert_string_equal(pol_yaml_scalar(pol_yaml_get(root, "lit")), "text\n");
	assert_true(pol_yaml_quoted(pol_yaml_get(root, "lit")));

	/* NULL-safe lookups chain. */
	assert_null(pol_yaml_get(pol_yaml_get(root, "nope"), "x"));
	assert_null(pol_yaml_get(a, "x"));
	assert_null(pol_yaml_scalar(b));
	assert_null(pol_yaml_map_key(b, 0));
	assert_int_equal(pol_yaml_len(NULL), 0);

	/* Empty documents have no root but load. */
	assert_null(parse(f, ""));
	assert_non_null(f->doc);
	assert_null(parse(f, "# nothing\n"));
	assert_non_null(f->doc);
}

static void
test_yaml_syntax_errors(void **state)
{
	struct fx *f = *state;

	assert_null(parse(f, "a: 1\nb\nc: 2\n"));
	assert_null(f->doc);
	expect_msgs(f, "t.yaml", (const char *const[]){
	    "3:1: error: syntax error: could not find expected ':' (while "
	    "scanning a simple key at line 2, column 1)", NULL });

	parse(f, "a:\n  - b\n c: 1\n");
	expect_msgs(f, "t.yaml", (const char *const[]){
	    "3:2: error: syntax error: did not find expected key (while "
	    "parsing a block mapping at line 1, column 1)", NULL });

	parse(f, "a: [1, 2\nb: 3\n");
	expect_msgs(f, "t.yaml", (const char *const[]){
	    "2:2: error: syntax error: did not find expected ',' or ']' "
	    "(while parsing a flow sequence at line 1, column 4)", NULL });

	parse(f, "ok: 1\nbad: \"\xff\"\n");
	expect_msgs(f, "t.yaml", (const char *const[]){
	    "2:7: error: invalid leading UTF-8 octet (byte 0xff)", NULL });

	parse(f, "a: 1\n---\nb: 2\n");
	expect_msgs(f, "t.yaml", (const char *const[]){
	    "2:1: error: only one YAML document is allowed per file", NULL });
	assert_null(f->doc);
}

static void
test_yaml_structure_errors(void **state)
{
	struct fx	*f = *state;
	char		 deep[400];
	size_t		 o = 0;

	/* Every structural problem of the file, in file order. */
	parse(f,
	    "a: 1\n"
	    "b: {x: 1, x: 2}\n"
	    "a: 2\n"
	    "c: &anchor 3\n"
	    "d: *anchor\n"
	    "e: !!binary aGk=\n"
	    "f: !custom 1\n"
	    "? [k]\n"
	    ": v\n"
	    "a: 3\n");
	assert_null(f->doc);
	expect_msgs(f, "t.yaml", (const char *const[]){
	    "2:11: error: duplicate key 'x' (first at line 2, column 5)",
	    "3:1: error: duplicate key 'a' (first at line 1, column 1)",
	    "4:4: error: anchors are not supported (&anchor): write the value "
	    "out",
	    "5:4: error: aliases are not supported (*anchor): write the value "
	    "out",
	    "6:4: error: unsupported tag '!!binary'",
	    "7:4: error: unsupported tag '!custom'",
	    "8:3: error: mapping keys must be plain strings, not lists",
	    "10:1: error: duplicate key 'a' (first at line 1, column 1)",
	    NULL });

	/* Core tags are fine: !!str makes a string of anything. */
	assert_non_null(parse(f, "a: !!str 5\nb: !!int 6\nc: !!map {x: 1}\n"));
	assert_true(pol_yaml_quoted(pol_yaml_get(pol_yaml_root(f->doc), "a")));
	assert_false(pol_yaml_quoted(pol_yaml_get(pol_yaml_root(f->doc), "b")));

	for (int i = 0; i < POL_YAML_MAX_DEPTH + 1; i++)
		deep[o++] = '[';
	deep[o] = '\0';
	parse(f, deep);
	expect_msgs(f, "t.yaml", (const char *const[]){
	    "1:65: error: nesting deeper than 64 levels", NULL });

	/* Large mappings take the sorted path of the duplicate check. */
	{
		char	 big[4096];
		size_t	 n = 0;

		for (int i = 0; i < 100; i++)
			n += (size_t)snprintf(big + n, sizeof(big) - n,
			    "k%d: %d\n", i, i);
		snprintf(big + n, sizeof(big) - n, "k7: again\nk42: again\n");
		parse(f, big);
		expect_msgs(f, "t.yaml", (const char *const[]){
		    "101:1: error: duplicate key 'k7' (first at line 8, column 1)",
		    "102:1: error: duplicate key 'k42' (first at line 43, "
		    "column 1)", NULL });
	}
}

static void
test_yaml_load_file(void **state)
{
	struct fx	*f = *state;
	char		 p[256];

	pol_errs_free(f->errs);
	f->errs = pol_errs_new();
	snprintf(p, sizeof(p), "%s/missing.yaml", f->dir);
	assert_null(pol_yaml_load_file(p, f->errs));
	expect_msgs(f, p, (const char *const[]){
	    " error: cannot open: No such file or directory", NULL });

	write_file(f, "custos.yaml", "key: [1, 2]\n");
	f->doc = pol_yaml_load_file(f->path, f->errs);
	assert_non_null(f->doc);
	assert_string_equal(pol_yaml_file(f->doc), f->path);
	assert_string_equal(pol_yaml_node_file(pol_yaml_root(f->doc)), f->path);
	assert_int_equal(pol_yaml_len(pol_yaml_get(pol_yaml_root(f->doc),
	    "key")), 2);
}

static void
test_yaml_getters(void **state)
{
	struct fx			*f = *state;
	const struct pol_yaml_node	*r;
	const char			*s = NULL, **list = NULL;
	long long			 ll = -1;
	size_t				 sz = 0, n = 0;
	int				 b = -1, ms = -1, e = -1;
	static const char *const	 colors[] = { "red", "green", NULL };

	r = parse(f,
	    "str: hello\n"
	    "num: 42\n"
	    "neg: -7\n"
	    "qnum: \"42\"\n"
	    "yes: true\n"
	    "no: False\n"
	    "size1: 65536\n"
	    "size2: 64MiB\n"
	    "size3: 16 KiB\n"
	    "size4: \"1GiB\"\n"
	    "ms: 2500\n"
	    "color: green\n"
	    "list: [a, b, c]\n"
	    "nul:\n"
	    "map: {a: 1}\n"
	    "big: 99999999999999999999\n");
	assert_non_null(r);

	assert_int_equal(pol_yaml_get_str(r, "str", f->errs, &s), 0);
	assert_string_equal(s, "hello");
	assert_int_equal(pol_yaml_get_str(r, "num", f->errs, &s), 0);
	assert_string_equal(s, "42");	/* numbers read fine as strings */
	assert_int_equal(pol_yaml_get_int(r, "num", 0, 100, f->errs, &ll), 0);
	assert_int_equal(ll, 42);
	assert_int_equal(pol_yaml_get_int(r, "neg", -10, 10, f->errs, &ll), 0);
	assert_int_equal(ll, -7);
	assert_int_equal(pol_yaml_get_bool(r, "yes", f->errs, &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(pol_yaml_get_bool(r, "no", f->errs, &b), 0);
	assert_int_equal(b, 0);
	assert_int_equal(pol_yaml_get_size(r, "size1", 0, SIZE_MAX, f->errs,
	    &sz), 0);
	assert_int_equal(sz, 65536);
	assert_int_equal(pol_yaml_get_size(r, "size2", 0, SIZE_MAX, f->errs,
	    &sz), 0);
	assert_int_equal(sz, 64u << 20);
	assert_int_equal(pol_yaml_get_size(r, "size3", 0, SIZE_MAX, f->errs,
	    &sz), 0);
	assert_int_equal(sz, 16u << 10);
	assert_int_equal(pol_yaml_get_size(r, "size4", 0, SIZE_MAX, f->errs,
	    &sz), 0);
	assert_int_equal(sz, 1u << 30);
	assert_int_equal(pol_yaml_get_ms(r, "ms", 1, 10000, f->errs, &ms), 0);
	assert_int_equal(ms, 2500);
	assert_int_equal(pol_yaml_get_enum(r, "color", colors, f->errs, &e), 0);
	assert_int_equal(e, 1);
	assert_int_equal(pol_yaml_strlist(pol_yaml_get(r, "list"), f->errs,
	    &list, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(list[2], "c");
	assert_null(list[3]);
	free(list);
	/* Absent keys leave the default and are no error. */
	ll = 5;
	assert_int_equal(pol_yaml_get_int(r, "absent", 0, 10, f->errs, &ll), 0);
	assert_int_equal(ll, 5);
	assert_int_equal(pol_yaml_get_int(NULL, "absent", 0, 10, f->errs, &ll),
	    0);
	assert_int_equal(pol_errs_total(f->errs), 0);

	/* Each wrong value: -1, the output untouched, one message. */
	ll = 5;
	assert_int_equal(pol_yaml_get_int(r, "qnum", 0, 100, f->errs, &ll), -1);
	assert_int_equal(pol_yaml_get_int(r, "num", 0, 10, f->errs, &ll), -1);
	assert_int_equal(pol_yaml_get_int(r, "big", 0, LLONG_MAX, f->errs, &ll),
	    -1);
	assert_int_equal(ll, 5);
	assert_int_equal(pol_yaml_get_bool(r, "str", f->errs, &b), -1);
	assert_int_equal(pol_yaml_get_size(r, "str", 0, 100, f->errs, &sz), -1);
	assert_int_equal(pol_yaml_get_size(r, "size2", 0, 1 << 20, f->errs,
	    &sz), -1);
	assert_int_equal(pol_yaml_get_ms(r, "map", 1, 100, f->errs, &ms), -1);
	assert_int_equal(pol_yaml_get_enum(r, "str", colors, f->errs, &e), -1);
	assert_int_equal(pol_yaml_get_str(r, "nul", f->errs, &s), -1);
	assert_int_equal(pol_yaml_strlist(pol_yaml_get(r, "map"), f->errs,
	    &list, &n), -1);
	assert_int_equal(pol_yaml_want_seq(pol_yaml_get(r, "str"), f->errs),
	    -1);
	assert_int_equal(pol_yaml_want_map(pol_yaml_get(r, "list"), f->errs),
	    -1);
	assert_null(pol_yaml_need(r, "required", f->errs));
	expect_msgs(f, "t.yaml", (const char *const[]){
	    "4:7: error: 'qnum' must be an integer from 0 to 100, not the "
	    "quoted string \"42\"",
	    "2:6: error: 'num' must be an integer from 0 to 10, not '42'",
	    "16:6: error: 'big' must be an integer of at least 0, not "
	    "'99999999999999999999'",
	    "1:6: error: 'str' must be true or false, not 'hello'",
	    "1:6: error: 'str' must be a size in bytes from 0 to 100 (e.g. "
	    "65536 or 64KiB), not 'hello'",
	    "8:8: error: 'size2' must be a size in bytes from 0 to 1MiB (e.g. "
	    "65536 or 64KiB), not '64MiB'",
	    "15:6: error: 'map' must be a time in milliseconds from 1 to 100, "
	    "not a mapping",
	    "1:6: error: 'str' must be one of red, green, not 'hello'",
	    "14:5: error: 'nul' must be a string, not null",
	    "15:6: error: 'map' must be a list of strings, not a mapping",
	    "1:6: error: 'str' must be a list, not a string",
	    "13:7: error: 'list' must be a mapping, not a list",
	    "1:1: error: missing required key 'required'",
	    NULL });

	/* List items are named by position. */
	r = parse(f, "roles: [a, {b: 1}, [c]]\n");
	assert_int_equal(pol_yaml_strlist(pol_yaml_get(r, "roles"), f->errs,
	    &list, &n), -1);
	expect_msgs(f, "t.yaml", (const char *const[]){
	    "1:12: error: item 2 of 'roles' must be a string, not a mapping",
	    "1:20: error: item 3 of 'roles' must be a string, not a list",
	    NULL });

	/* Sizes: suffixes, case, overflow, junk. */
	r = parse(f, "a: 1B\nb: 2kib\nc: 3 TiB\nd: 17179869184GiB\nf: 64MB\n"
	    "g: -1\nh: 0x10\ni: \"64 \"\ne: 5 \"\n");
	assert_int_equal(pol_yaml_get_size(r, "a", 0, SIZE_MAX, f->errs, &sz), 0);
	assert_int_equal(sz, 1);
	assert_int_equal(pol_yaml_get_size(r, "b", 0, SIZE_MAX, f->errs, &sz), 0);
	assert_int_equal(sz, 2048);
	assert_int_equal(pol_yaml_get_size(r, "c", 0, SIZE_MAX, f->errs, &sz), 0);
	assert_true(sz == (size_t)3 << 40);
	assert_int_equal(pol_yaml_get_size(r, "d", 0, SIZE_MAX, f->errs, &sz),
	    -1);
	assert_int_equal(pol_yaml_get_size(r, "f", 0, SIZE_MAX, f->errs, &sz),
	    -1);
	assert_int_equal(pol_yaml_get_size(r, "g", 0, SIZE_MAX, f->errs, &sz),
	    -1);
	assert_int_equal(pol_yaml_get_size(r, "h", 0, SIZE_MAX, f->errs, &sz),
	    -1);
	assert_int_equal(pol_yaml_get_size(r, "i", 0, SIZE_MAX, f->errs, &sz),
	    -1);
	assert_int_equal(pol_yaml_get_size(r, "e", 0, SIZE_MAX, f->errs, &sz),
	    -1);
	assert_int_equal(pol_errs_count(f->errs), 6);
	assert_string_equal(pol_errs_get(f->errs, 0), "t.yaml:4:4: error: 'd' "
	    "must be a size in bytes from 0 to 18446744073709551615 (e.g. 65536 "
	    "or 64KiB), not '17179869184GiB'");
}

static void
test_yaml_check_keys(void **state)
{
	struct fx			*f = *state;
	const struct pol_yaml_node	*r;
	static const char *const	 allowed[] = {
		"listen", "upstreams", "routes", "max_connections", "a", NULL
	};

	r = parse(f,
	    "listn: 1\n"
	    "routes: 2\n"
	    "upstrems: 3\n"
	    "Routes: 4\n"
	    "zzz: 5\n"
	    "max_conections: 6\n"
	    "connections: 7\n"
	    "b: 8\n"
	    "\"\\x01weird\": 9\n");
	assert_non_null(r);
	assert_int_equal(pol_yaml_check_keys(r, allowed, f->errs), 8);
	expect_msgs(f, "t.yaml", (const char *const[]){
	    "1:1: error: unknown key 'listn' (did you mean 'listen'?)",
	    "3:1: error: unknown key 'upstrems' (did you mean 'upstreams'?)",
	    "4:1: error: unknown key 'Routes' (did you mean 'routes'?)",
	    "5:1: error: unknown key 'zzz'",
	    "6:1: error: unknown key 'max_conections' (did you mean "
	    "'max_connections'?)",
	    "7:1: error: unknown key 'connections'",
	    "8:1: error: unknown key 'b'",
	    "9:1: error: unknown key '?weird'",
	    NULL });

	assert_int_equal(pol_yaml_distance("", ""), 0);
	assert_int_equal(pol_yaml_distance("abc", ""), 3);
	assert_int_equal(pol_yaml_distance("kitten", "sitting"), 3);
	assert_int_equal(pol_yaml_distance("upstraem", "upstream"), 1);
	assert_string_equal(pol_yaml_suggest("upstrem", (const char *const[]){
	    "match", "upstream", "non_json", NULL }), "upstream");
	/* Long words allow a third of their length. */
	assert_string_equal(pol_yaml_suggest("checkpoint_evry_n",
	    (const char *const[]){ "checkpoint_every", NULL }),
	    "checkpoint_every");
	assert_null(pol_yaml_suggest("xyz", (const char *const[]){ "abc",
	    NULL }));
	assert_null(pol_yaml_suggest("x", (const char *const[]){ "ca",
	    NULL }));
}

static void
test_yaml_labels(void **state)
{
	struct fx			*f = *state;
	const struct pol_yaml_node	*r;
	char				 buf[96];

	r = parse(f, "a: [x, [y]]\n");
	assert_string_equal(pol_yaml_label(r, buf, sizeof(buf)), "the document");
	assert_string_equal(pol_yaml_label(pol_yaml_get(r, "a"), buf,
	    sizeof(buf)), "'a'");
	assert_string_equal(pol_yaml_label(pol_yaml_item(pol_yaml_get(r, "a"),
	    0), buf, sizeof(buf)), "item 1 of 'a'");
	assert_string_equal(pol_yaml_label(pol_yaml_item(pol_yaml_item(
	    pol_yaml_get(r, "a"), 1), 0), buf, sizeof(buf)), "item 1");
	assert_string_equal(pol_yaml_label(pol_yaml_map_key(r, 0), buf,
	    sizeof(buf)), "key 'a'");
	pol_yaml_warn(pol_yaml_get(r, "a"), f->errs, "look %d", 1);
	assert_int_equal(pol_errs_count(f->errs), 0);
	expect_msgs(f, "t.yaml", (const char *const[]){
	    "1:4: warning: look 1", NULL });
}

static void
test_yaml_move_sorted(void **state)
{
	struct fx	*f = *state;
	struct pol_errs	*src = pol_errs_new(), *dst = pol_errs_new();

	assert_non_null(src);
	assert_non_null(dst);
	pol_errs_add(src, POL_ERROR, "a.yaml", 9, 2, "late");
	pol_errs_add(src, POL_WARNING, "b:odd.yaml", 3, 1, "other file");
	pol_errs_add(src, POL_ERROR, "a.yaml", 2, 7, "early: %d", 1);
	pol_errs_add(src, POL_ERROR, "a.yaml", 0, 0, "whole file");
	pol_errs_add(src, POL_ERROR, "a.yaml", 2, 7, "same place, later");
	pol_errs_add(src, POL_ERROR, "b:odd.yaml", 1, 1, "first of b");
	pol_yaml_move_sorted(dst, src);
	assert_int_equal(pol_errs_count(dst), 5);
	assert_int_equal(pol_errs_total(dst), 6);
	assert_string_equal(pol_errs_get(dst, 0), "a.yaml: error: whole file");
	assert_string_equal(pol_errs_get(dst, 1), "a.yaml:2:7: error: early: 1");
	assert_string_equal(pol_errs_get(dst, 2),
	    "a.yaml:2:7: error: same place, later");
	assert_string_equal(pol_errs_get(dst, 3), "a.yaml:9:2: error: late");
	assert_string_equal(pol_errs_get(dst, 4),
	    "b:odd.yaml:1:1: error: first of b");
	assert_string_equal(pol_errs_get(dst, 5),
	    "b:odd.yaml:3:1: warning: other file");
	pol_errs_free(src);
	pol_errs_free(dst);

	/* NULL and empty inputs. */
	pol_errs_free(f->errs);
	f->errs = pol_errs_new();
	f->doc = pol_yaml_load_mem(NULL, NULL, 0, f->errs);
	assert_non_null(f->doc);
	assert_null(pol_yaml_root(f->doc));
	assert_string_equal(pol_yaml_file(f->doc), "-");
}

/*
 * The configuration.
 */

/* A format: %s is the temporary directory. */
static const char full_config[] =
    "# every key of DESIGN.md's configuration\n"
    "listen:\n"
    "  - address: 127.0.0.1:8080\n"
    "  - address: 0.0.0.0:8443\n"
    "    tls: {cert: tls/server.crt, key: tls/server.key, "
    "client_ca: tls/clients.crt}\n"
    "  - address: \"[::1]:9443\"\n"
    "admin:\n"
    "  address: 127.0.0.1:9090\n"
    "  tokens:\n"
    "    - {name: ops, roles: [admin], token_sha256: \"" H1 "\"}\n"
    "    - {name: alice, roles: [reviewer, auditor], token_sha256: \"" H2
    "\"}\n"
    "workers: 4\n"
    "upstreams:\n"
    "  crm:\n"
    "    url: http://127.0.0.1:8000\n"
    "    connect_timeout: 2500\n"
    "    response_timeout: 15000\n"
    "    max_idle: 8\n"
    "  erp:\n"
    "    url: https://[::1]:8443/base/path/\n"
    "    ca: ca.pem\n"
    "  plain: {url: \"HTTPS://localhost\"}\n"
    "routes:\n"
    "  - {match: \"GET|POST /api/customers/**\", upstream: crm}\n"
    "  - {match: \"* /files/**\", upstream: erp, non_json: pass}\n"
    "  - match: DELETE /x\n"
    "    upstream: plain\n"
    "    non_json: block\n"
    "principals:\n"
    "  - {name: rep-app, roles: [sales_rep], api_key_sha256: \"" H3 "\"}\n"
    "  - {name: bi, roles: [analyst, reporting], "
    "client_cert_subject: \"CN=bi.example.com\"}\n"
    "  - name: both\n"
    "    api_key_sha256: " H4 "\n"
    "    client_cert_subject: CN=both\n"
    "limits: {max_header: 16KiB, max_body: 64MiB, max_json_depth: 128,\n"
    "         max_string: 1048576, buffer_window: 256KiB,\n"
    "         max_connections: 500, client_timeout: 15000}\n"
    "keys: {dir: var/keys, master_key_env: CUSTOS_MASTER_KEY}\n"
    "audit: {dir: /var/lib/custos/audit, fsync: interval, "
    "checkpoint_every: 500,\n"
    "        checkpoint_interval: 2000, rotate_size: 1GiB, queue: 1024}\n"
    "state_dir: var/state\n"
    "policies: [policies/crm.yaml, \"%s/ca.pem\"]\n";	/* absolute */

static void
test_config_full(void **state)
{
	struct fx			*f = *state;
	struct proxy_config		*c;
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	char				 p[256], ip[64], text[4096];
	uint8_t				 h[32];

	snprintf(text, sizeof(text), full_config, f->dir);
	c = load(f, text);
	if (c == NULL)
		dump_errs(f);
	assert_non_null(c);
	assert_int_equal(pol_errs_total(f->errs), 0);
	assert_string_equal(c->path, f->path);
	assert_string_equal(c->dir, f->dir);

	assert_int_equal(c->nlisten, 3);
	assert_string_equal(c->listen[0].address, "127.0.0.1:8080");
	sin = (const struct sockaddr_in *)&c->listen[0].addr;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 8080);
	assert_string_equal(inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip)),
	    "127.0.0.1");
	assert_int_equal(c->listen[0].addrlen, sizeof(struct sockaddr_in));
	assert_int_equal(c->listen[0].tls, 0);
	assert_null(c->listen[0].tls_cert);
	assert_int_equal(c->listen[1].tls, 1);
	snprintf(p, sizeof(p), "%s/tls/server.crt", f->dir);
	assert_string_equal(c->listen[1].tls_cert, p);
	snprintf(p, sizeof(p), "%s/tls/server.key", f->dir);
	assert_string_equal(c->listen[1].tls_key, p);
	snprintf(p, sizeof(p), "%s/tls/clients.crt", f->dir);
	assert_string_equal(c->listen[1].tls_client_ca, p);
	sin6 = (const struct sockaddr_in6 *)&c->listen[2].addr;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 9443);
	assert_string_equal(inet_ntop(AF_INET6, &sin6->sin6_addr, ip,
	    sizeof(ip)), "::1");

	assert_string_equal(c->admin.address, "127.0.0.1:9090");
	assert_int_equal(ntohs(((const struct sockaddr_in *)
	    &c->admin.addr)->sin_port), 9090);
	assert_int_equal(c->admin.ntokens, 2);
	assert_string_equal(c->admin.tokens[0].name, "ops");
	assert_int_equal(c->admin.tokens[0].roles, CFG_ROLE_ADMIN);
	assert_int_equal(c->admin.tokens[0].token_sha256[0], 0x00);
	assert_int_equal(c->admin.tokens[0].token_sha256[1], 0x11);
	assert_int_equal(c->admin.tokens[0].token_sha256[31], 0xff);
	assert_string_equal(c->admin.tokens[1].name, "alice");
	assert_int_equal(c->admin.tokens[1].roles,
	    CFG_ROLE_REVIEWER | CFG_ROLE_AUDITOR);
	assert_int_equal(c->admin.tokens[1].token_sha256[0], 0xff);

	assert_int_equal(c->workers, 4);

	assert_int_equal(c->nupstreams, 3);
	assert_string_equal(c->upstreams[0].name, "crm");
	assert_string_equal(c->upstreams[0].url, "http://127.0.0.1:8000");
	assert_int_equal(c->upstreams[0].tls, 0);
	assert_string_equal(c->upstreams[0].host, "127.0.0.1");
	assert_int_equal(c->upstreams[0].port, 8000);
	assert_string_equal(c->upstreams[0].host_header, "127.0.0.1:8000");
	assert_string_equal(c->upstreams[0].base_path, "");
	assert_int_equal(ntohs(((const struct sockaddr_in *)
	    &c->upstreams[0].addr)->sin_port), 8000);
	assert_int_equal(c->upstreams[0].addrlen, sizeof(struct sockaddr_in));
	assert_null(c->upstreams[0].ca);
	assert_int_equal(c->upstreams[0].connect_timeout, 2500);
	assert_int_equal(c->upstreams[0].response_timeout, 15000);
	assert_int_equal(c->upstreams[0].max_idle, 8);
	assert_string_equal(c->upstreams[1].name, "erp");
	assert_int_equal(c->upstreams[1].tls, 1);
	assert_string_equal(c->upstreams[1].host, "::1");
	assert_int_equal(c->upstreams[1].port, 8443);
	assert_string_equal(c->upstreams[1].host_header, "[::1]:8443");
	assert_string_equal(c->upstreams[1].base_path, "/base/path");
	assert_int_equal(c->upstreams[1].addr.ss_family, AF_INET6);
	snprintf(p, sizeof(p), "%s/ca.pem", f->dir);
	assert_string_equal(c->upstreams[1].ca, p);
	assert_int_equal(c->upstreams[1].connect_timeout, 2000);
	assert_int_equal(c->upstreams[1].response_timeout, 10000);
	assert_int_equal(c->upstreams[1].max_idle, 64);
	assert_int_equal(c->upstreams[2].tls, 1);
	assert_int_equal(c->upstreams[2].port, 443);
	assert_string_equal(c->upstreams[2].host, "localhost");
	assert_string_equal(c->upstreams[2].host_header, "localhost");

	assert_int_equal(c->nroutes, 3);
	assert_string_equal(c->routes[0].match, "GET|POST /api/customers/**");
	assert_int_equal(c->routes[0].methods, CFG_M_GET | CFG_M_POST);
	assert_string_equal(c->routes[0].path, "/api/customers/**");
	assert_int_equal(c->routes[0].upstream, 0);
	assert_int_equal(c->routes[0].non_json, CFG_NON_JSON_BLOCK);
	assert_int_equal(c->routes[0].line, 24);
	assert_int_equal(c->routes[1].methods, CFG_M_ANY);
	assert_string_equal(c->routes[1].path, "/files/**");
	assert_int_equal(c->routes[1].upstream, 1);
	assert_int_equal(c->routes[1].non_json, CFG_NON_JSON_PASS);
	assert_int_equal(c->routes[2].methods, CFG_M_DELETE);
	assert_int_equal(c->routes[2].upstream, 2);
	assert_int_equal(c->routes[2].non_json, CFG_NON_JSON_BLOCK);
	assert_int_equal(c->routes[2].line, 26);

	assert_int_equal(c->nprincipals, 3);
	assert_string_equal(c->principals[0].name, "rep-app");
	assert_int_equal(c->principals[0].nroles, 1);
	assert_string_equal(c->principals[0].roles[0], "sales_rep");
	assert_int_equal(c->principals[0].has_key, 1);
	assert_int_equal(c->principals[0].api_key_sha256[0], 0x01);
	assert_int_equal(c->principals[0].api_key_sha256[4], 0x89);
	assert_int_equal(c->principals[0].api_key_sha256[7], 0xef);
	assert_null(c->principals[0].client_cert_subject);
	assert_string_equal(c->principals[1].name, "bi");
	assert_int_equal(c->principals[1].nroles, 2);
	assert_string_equal(c->principals[1].roles[1], "reporting");
	assert_int_equal(c->principals[1].has_key, 0);
	assert_string_equal(c->principals[1].client_cert_subject,
	    "CN=bi.example.com");
	assert_int_equal(c->principals[2].nroles, 0);
	assert_int_equal(c->principals[2].has_key, 1);
	memset(h, 0x44, sizeof(h));
	assert_memory_equal(c->principals[2].api_key_sha256, h, 32);
	assert_string_equal(c->principals[2].client_cert_subject, "CN=both");

	assert_int_equal(c->limits.max_header, 16384);
	assert_int_equal(c->limits.max_body, 64u << 20);
	assert_int_equal(c->limits.max_json_depth, 128);
	assert_int_equal(c->limits.max_string, 1048576);
	assert_int_equal(c->limits.buffer_window, 262144);
	assert_int_equal(c->limits.max_connections, 500);
	assert_int_equal(c->limits.client_timeout, 15000);

	snprintf(p, sizeof(p), "%s/var/keys", f->dir);
	assert_string_equal(c->keys.dir, p);
	assert_null(c->keys.master_key_file);
	assert_string_equal(c->keys.master_key_env, "CUSTOS_MASTER_KEY");

	assert_string_equal(c->audit.dir, "/var/lib/custos/audit");
	assert_int_equal(c->audit.fsync, CFG_FSYNC_INTERVAL);
	assert_int_equal(c->audit.checkpoint_every, 500);
	assert_int_equal(c->audit.checkpoint_interval, 2000);
	assert_int_equal(c->audit.rotate_size, 1u << 30);
	assert_int_equal(c->audit.queue, 1024);

	snprintf(p, sizeof(p), "%s/var/state", f->dir);
	assert_string_equal(c->state_dir, p);
	assert_int_equal(c->npolicies, 2);
	snprintf(p, sizeof(p), "%s/policies/crm.yaml", f->dir);
	assert_string_equal(c->policies[0], p);
	snprintf(p, sizeof(p), "%s/ca.pem", f->dir);
	assert_string_equal(c->policies[1], p);
}

static void
test_config_defaults(void **state)
{
	struct fx		*f = *state;
	struct proxy_config	*c;
	long			 ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	c = load(f, MINIMAL);
	assert_non_null(c);
	assert_int_equal(pol_errs_total(f->errs), 0);
	assert_int_equal(c->workers, ncpu < 1 ? 1 : ncpu > 256 ? 256 : ncpu);
	assert_null(c->admin.address);
	assert_int_equal(c->admin.ntokens, 0);
	assert_int_equal(c->nprincipals, 0);
	assert_int_equal(c->limits.max_header, 16384);
	assert_int_equal(c->limits.max_body, 67108864);
	assert_int_equal(c->limits.max_json_depth, 256);
	assert_int_equal(c->limits.max_string, 1048576);
	assert_int_equal(c->limits.buffer_window, 262144);
	assert_int_equal(c->limits.max_connections, 10000);
	assert_int_equal(c->limits.client_timeout, 30000);
	assert_null(c->keys.dir);
	assert_null(c->keys.master_key_file);
	assert_null(c->keys.master_key_env);
	assert_null(c->audit.dir);
	assert_int_equal(c->audit.fsync, CFG_FSYNC_BATCH);
	assert_int_equal(c->audit.checkpoint_every, 1000);
	assert_int_equal(c->audit.checkpoint_interval, 5000);
	assert_int_equal(c->audit.rotate_size, 64u << 20);
	assert_int_equal(c->audit.queue, 65536);
	assert_null(c->state_dir);
	assert_int_equal(c->npolicies, 0);
	assert_int_equal(c->upstreams[0].connect_timeout, 2000);
	assert_int_equal(c->upstreams[0].response_timeout, 10000);
	assert_int_equal(c->upstreams[0].max_idle, 64);
	assert_string_equal(c->upstreams[0].host_header, "127.0.0.1:8000");

	/* workers: auto, and a plain number. */
	c = load(f, MINIMAL "workers: auto\n");
	assert_non_null(c);
	assert_int_equal(c->workers, ncpu < 1 ? 1 : ncpu > 256 ? 256 : ncpu);
	c = load(f, MINIMAL "workers: 256\n");
	assert_non_null(c);
	assert_int_equal(c->workers, 256);
	/* Port 0 lets the kernel choose; it is never a duplicate. */
	c = load(f,
	    "listen: [{address: \"127.0.0.1:0\"}, {address: \"127.0.0.1:0\"}]\n"
	    "upstreams: {crm: {url: \"http://127.0.0.1:80/\"}}\n"
	    "routes: [{match: \"* /**\", upstream: crm}]\n");
	assert_non_null(c);
	assert_int_equal(ntohs(((const struct sockaddr_in *)
	    &c->listen[0].addr)->sin_port), 0);
	assert_string_equal(c->upstreams[0].host_header, "127.0.0.1");
	assert_string_equal(c->upstreams[0].base_path, "");
}

static void
test_config_relative_paths(void **state)
{
	struct fx		*f = *state;
	struct proxy_config	*c;
	char			 sub[256], cwd[PATH_MAX], want[300];

	/* A config in a subdirectory, loaded by a relative path from the
	 * temporary directory: paths resolve against the config's own
	 * directory, made absolute. */
	snprintf(sub, sizeof(sub), "%s/sub", f->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_file(f, "sub/c.yaml",
	    "listen:\n"
	    "  - address: 127.0.0.1:8080\n"
	    "    tls: {cert: ../tls/server.crt, key: \"../tls/server.key\"}\n"
	    "upstreams: {crm: {url: \"http://127.0.0.1:8000\"}}\n"
	    "routes: [{match: \"* /**\", upstream: crm}]\n"
	    "keys: {dir: keys, master_key_file: /abs/master.key}\n"
	    "audit: {dir: ./audit}\n"
	    "state_dir: state/\n"
	    "policies: [../policies/crm.yaml]\n");
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	pol_errs_free(f->errs);
	f->errs = pol_errs_new();
	c = proxy_config_load("sub/c.yaml", f->errs);
	assert_int_equal(chdir(cwd), 0);
	if (c == NULL)
		dump_errs(f);
	assert_non_null(c);
	f->cfg = c;
	assert_string_equal(c->path, "sub/c.yaml");
	assert_string_equal(c->dir, sub);
	snprintf(want, sizeof(want), "%s/../tls/server.crt", sub);
	assert_string_equal(c->listen[0].tls_cert, want);
	snprintf(want, sizeof(want), "%s/keys", sub);
	assert_string_equal(c->keys.dir, want);
	assert_string_equal(c->keys.master_key_file, "/abs/master.key");
	snprintf(want, sizeof(want), "%s/./audit", sub);
	assert_string_equal(c->audit.dir, want);
	snprintf(want, sizeof(want), "%s/state/", sub);
	assert_string_equal(c->state_dir, want);
	snprintf(want, sizeof(want), "%s/../policies/crm.yaml", sub);
	assert_string_equal(c->policies[0], want);
}

static void
test_config_unknown_keys(void **state)
{
	struct fx *f = *state;

	expect_config_errors(f,
	    "listn:\n"
	    "  - address: 127.0.0.1:8080\n"
	    "upstreams:\n"
	    "  crm: {url: http://127.0.0.1:8000, conect_timeout: 5}\n"
	    "routes:\n"
	    "  - {match: \"GET /a\", upstrem: crm}\n"
	    "limits: {max_bdy: 1}\n"
	    "color: blue\n",
	    (const char *const[]){
	    "1:1: error: unknown key 'listn' (did you mean 'listen'?)",
	    "1:1: error: missing required key 'listen'",
	    "4:37: error: unknown key 'conect_timeout' (did you mean "
	    "'connect_timeout'?)",
	    "6:5: error: missing required key 'upstream'",
	    "6:23: error: unknown key 'upstrem' (did you mean 'upstream'?)",
	    "7:10: error: unknown key 'max_bdy' (did you mean 'max_body'?)",
	    "8:1: error: unknown key 'color'",
	    NULL });
}

static void
test_config_missing_sections(void **state)
{
	struct fx *f = *state;

	expect_config_errors(f, "workers: 2\n", (const char *const[]){
	    "1:1: error: missing required key 'listen'",
	    "1:1: error: missing required key 'upstreams'",
	    "1:1: error: missing required key 'routes'",
	    NULL });
	expect_config_errors(f, "", (const char *const[]){
	    " error: the configuration is empty (it needs at least 'listen', "
	    "'upstreams' and 'routes')", NULL });
	expect_config_errors(f, "- a\n- b\n", (const char *const[]){
	    "1:1: error: the document must be a mapping, not a list", NULL });
	expect_config_errors(f,
	    "listen: []\nupstreams: {}\nroutes: []\n", (const char *const[]){
	    "1:9: error: 'listen' needs at least one listener",
	    "2:12: error: 'upstreams' needs at least one upstream",
	    "3:9: error: 'routes' needs at least one route",
	    NULL });
	/* A YAML error stops before any semantic check. */
	expect_config_errors(f, MINIMAL "workers: 1\nworkers: 2\n",
	    (const char *const[]){
	    "8:1: error: duplicate key 'workers' (first at line 7, column 1)",
	    NULL });
	pol_errs_free(f->errs);
	f->errs = pol_errs_new();
	assert_null(proxy_config_load("/nonexistent/custos.yaml", f->errs));
	expect_msgs(f, "/nonexistent/custos.yaml", (const char *const[]){
	    " error: cannot open: No such file or directory", NULL });
}

static void
test_config_types(void **state)
{
	struct fx *f = *state;

	expect_config_errors(f,
	    "listen: {address: 127.0.0.1:8080}\n"
	    "admin: [x]\n"
	    "workers: many\n"
	    "upstreams: [crm]\n"
	    "routes: {match: x}\n"
	    "principals: yes\n"
	    "limits: 5\n"
	    "keys: []\n"
	    "audit: \"x\"\n"
	    "state_dir: [a]\n"
	    "policies: crm.yaml\n",
	    (const char *const[]){
	    "1:9: error: 'listen' must be a list, not a mapping",
	    "2:8: error: 'admin' must be a mapping, not a list",
	    "3:10: error: 'workers' must be auto or an integer from 1 to 256, "
	    "not 'many'",
	    "4:12: error: 'upstreams' must be a mapping, not a list",
	    "5:9: error: 'routes' must be a list, not a mapping",
	    "6:13: error: 'principals' must be a list, not a string",
	    "7:9: error: 'limits' must be a mapping, not a number",
	    "8:7: error: 'keys' must be a mapping, not a list",
	    "9:8: error: 'audit' must be a mapping, not a string",
	    "10:12: error: 'state_dir' must be a string, not a list",
	    "11:11: error: 'policies' must be a list of strings, not a string",
	    NULL });

	expect_config_errors(f, MINIMAL
	    "workers: 0\n"
	    "limits:\n"
	    "  max_header: 100\n"
	    "  max_body: lots\n"
	    "  max_json_depth: 64KiB\n"
	    "  max_string: 2GiB\n"
	    "  buffer_window: 1KiB\n"
	    "  max_connections: \"10\"\n"
	    "  client_timeout: 1.5\n"
	    "audit: {fsync: always, checkpoint_every: 0, checkpoint_interval: -1,"
	    " rotate_size: 1, queue: 1}\n",
	    (const char *const[]){
	    "7:10: error: 'workers' must be auto or an integer from 1 to 256, "
	    "not '0'",
	    "9:15: error: 'max_header' must be a size in bytes from 1KiB to "
	    "1MiB (e.g. 65536 or 64KiB), not '100'",
	    "10:13: error: 'max_body' must be a size in bytes from 1 to 1TiB "
	    "(e.g. 65536 or 64KiB), not 'lots'",
	    "11:19: error: 'max_json_depth' must be an integer from 1 to 10000, "
	    "not '64KiB'",
	    "12:15: error: 'max_string' must be a size in bytes from 1 to 1GiB "
	    "(e.g. 65536 or 64KiB), not '2GiB'",
	    "13:18: error: 'buffer_window' must be a size in bytes from 4KiB to "
	    "1GiB (e.g. 65536 or 64KiB), not '1KiB'",
	    "14:20: error: 'max_connections' must be an integer from 1 to "
	    "1000000, not the quoted string \"10\"",
	    "15:19: error: 'client_timeout' must be a time in milliseconds from "
	    "1 to 86400000, not '1.5'",
	    "16:16: error: 'fsync' must be one of batch, interval, none, not "
	    "'always'",
	    "16:42: error: 'checkpoint_every' must be an integer from 1 to "
	    "100000000, not '0'",
	    "16:66: error: 'checkpoint_interval' must be a time in milliseconds "
	    "from 1 to 86400000, not '-1'",
	    "16:83: error: 'rotate_size' must be a size in bytes from 4KiB to "
	    "1TiB (e.g. 65536 or 64KiB), not '1'",
	    "16:93: error: 'queue' must be an integer from 16 to 16777216, not "
	    "'1'",
	    NULL });
}

static void
test_config_listen(void **state)
{
	struct fx		*f = *state;
	struct proxy_config	*c;

	c = load(f,
	    "listen:\n"
	    "  - address: localhost:8080\n"
	    "  - address: \"[::]:8081\"\n"
	    "upstreams: {crm: {url: \"http://[::1]/api\"}}\n"
	    "routes: [{match: \"* /**\", upstream: crm}]\n");
	if (c == NULL)
		dump_errs(f);
	assert_non_null(c);
	assert_true(c->listen[0].addr.ss_family == AF_INET ||
	    c->listen[0].addr.ss_family == AF_INET6);
	assert_int_equal(c->listen[1].addr.ss_family, AF_INET6);
	assert_string_equal(c->upstreams[0].host, "::1");
	assert_int_equal(c->upstreams[0].port, 80);
	assert_string_equal(c->upstreams[0].host_header, "[::1]");
	assert_string_equal(c->upstreams[0].base_path, "/api");

	expect_config_errors(f,
	    "listen:\n"
	    "  - address: 127.0.0.1:8080\n"
	    "  - address: 127.0.0.1\n"
	    "  - address: ::1:8080\n"
	    "  - address: 127.0.0.1:65536\n"
	    "  - address: \"[::1\"\n"
	    "  - address: \":8080\"\n"
	    "  - address: 999.1.1.1:80\n"
	    "  - {}\n"
	    "  - address: 127.0.0.1:8080\n"
	    "  - address: 127.0.0.1:9000\n"
	    "    tls: {cert: tls/missing.crt, client_ca: tls}\n"
	    "  - address: 127.0.0.1:9001\n"
	    "    tls: yes\n"
	    "  - address: 127.0.0.1:9002\n"
	    "    tls: {cert: tls/server.crt, key: tls/server.key, ca: x}\n"
	    "  - addres: 127.0.0.1:9003\n"
	    "admin: {address: 127.0.0.1:9000}\n"
	    "upstreams: {crm: {url: http://127.0.0.1:8000}}\n"
	    "routes: [{match: \"* /**\", upstream: crm}]\n",
	    (const char *const[]){
	    "3:14: error: 'address' must be HOST:PORT (e.g. 127.0.0.1:8080 or "
	    "[::1]:8080), not '127.0.0.1'",
	    "4:14: error: 'address': write IPv6 addresses in brackets, e.g. "
	    "[::1]:8080",
	    "5:14: error: 'address' must be HOST:PORT (e.g. 127.0.0.1:8080 or "
	    "[::1]:8080), not '127.0.0.1:65536'",
	    "6:14: error: 'address' must be HOST:PORT (e.g. 127.0.0.1:8080 or "
	    "[::1]:8080), not the quoted string \"[::1\"",
	    "7:14: error: 'address' must be HOST:PORT (e.g. 127.0.0.1:8080 or "
	    "[::1]:8080), not the quoted string \":8080\"",
	    "8:14: error: 'address': cannot resolve '999.1.1.1': Name or "
	    "service not known",
	    "9:5: error: missing required key 'address'",
	    "10:14: error: listener address 127.0.0.1:8080 is already used at "
	    "line 2",
	    "12:10: error: missing required key 'key'",
	    "12:17: error: 'cert': cannot read DIR/tls/missing.crt: No such "
	    "file or directory",
	    "12:45: error: 'client_ca': DIR/tls is not a regular file",
	    "14:10: error: 'tls' must be a mapping, not a string",
	    "16:54: error: unknown key 'ca'",
	    "17:5: error: unknown key 'addres' (did you mean 'address'?)",
	    "17:5: error: missing required key 'address'",
	    "18:18: error: admin address 127.0.0.1:9000 is also a listener "
	    "address",
	    NULL });
}

static void
test_config_upstreams(void **state)
{
	struct fx *f = *state;

	expect_config_errors(f,
	    "listen: [{address: 127.0.0.1:8080}]\n"
	    "upstreams:\n"
	    "  a: {url: ftp://x}\n"
	    "  b: {url: \"http://user:pw@h\"}\n"
	    "  c: {url: \"http://h:0\"}\n"
	    "  d: {url: \"http://h:99999\"}\n"
	    "  e: {url: \"http://h:x/\"}\n"
	    "  f: {url: \"http:///path\"}\n"
	    "  g: {url: \"http://h/p?q=1\"}\n"
	    "  h: {url: \"http://[::1/\"}\n"
	    "  i: {}\n"
	    "  j: {url: \"http://127.0.0.1\", ca: ca.pem, max_idle: -1,\n"
	    "      connect_timeout: 0, response_timeout: 86400001}\n"
	    "  k: {url: \"https://127.0.0.1\", ca: nothere.pem}\n"
	    "  \"bad name\": {url: \"http://127.0.0.1\"}\n"
	    "routes: [{match: \"* /**\", upstream: a}]\n",
	    (const char *const[]){
	    "3:12: error: bad upstream url 'ftp://x': use http:// or https://",
	    "4:12: error: bad upstream url 'http://user:pw@h': no user name or "
	    "password in the url",
	    "5:12: error: bad upstream url 'http://h:0': port must be from 1 "
	    "to 65535",
	    "6:12: error: bad upstream url 'http://h:99999': port must be from "
	    "1 to 65535",
	    "7:12: error: bad upstream url 'http://h:x/': bad port",
	    "8:12: error: bad upstream url 'http:///path': missing host",
	    "9:12: error: bad upstream url 'http://h/p?q=1': no query or "
	    "fragment in the url",
	    "10:12: error: bad upstream url 'http://[::1/': missing ']' after "
	    "the IPv6 address",
	    "11:6: error: missing required key 'url'",
	    "12:36: warning: 'ca' has no effect on an http:// upstream",
	    "12:54: error: 'max_idle' must be an integer from 0 to 65536, not "
	    "'-1'",
	    "13:24: error: 'connect_timeout' must be a time in milliseconds "
	    "from 1 to 86400000, not '0'",
	    "13:45: error: 'response_timeout' must be a time in milliseconds "
	    "from 1 to 86400000, not '86400001'",
	    "14:37: error: 'ca': cannot read DIR/nothere.pem: No such file or "
	    "directory",
	    "15:3: error: upstream name 'bad name' may only use letters, "
	    "digits, '_', '-' and '.'",
	    NULL });
}

static void
test_config_routes(void **state)
{
	struct fx *f = *state;

	expect_config_errors(f,
	    "listen: [{address: 127.0.0.1:8080}]\n"
	    "upstreams: {crm: {url: http://127.0.0.1:8000}, "
	    "erp: {url: http://127.0.0.1:8001}}\n"
	    "routes:\n"
	    "  - {match: \"GET|POST /api/**\", upstream: crm}\n"
	    "  - {match: \"GET /api/**\", upstream: erp}\n"
	    "  - {match: \"PUT|GET /api/**\", upstream: erp}\n"
	    "  - {match: \"FETCH /x\", upstream: crm}\n"
	    "  - {match: \"GET x\", upstream: crm}\n"
	    "  - {match: \"GET /a\", upstream: crn}\n"
	    "  - {match: \"GET /b\", upstream: nowhere}\n"
	    "  - {match: \"GET /c\", upstream: crm, non_json: allow}\n"
	    "  - {upstream: crm}\n"
	    "  - \"GET /d\"\n",
	    (const char *const[]){
	    "5:13: error: route 'GET /api/**' can never match: earlier routes "
	    "with the same path take all its methods",
	    "7:13: error: bad route 'FETCH /x': unknown method (GET, HEAD, POST, "
	    "PUT, PATCH, DELETE, OPTIONS or *)",
	    "8:13: error: bad route 'GET x': path must start with '/'",
	    "9:33: error: unknown upstream 'crn' (did you mean 'crm'?)",
	    "10:33: error: unknown upstream 'nowhere'",
	    "11:48: error: 'non_json' must be one of block, pass, not 'allow'",
	    "12:5: error: missing required key 'match'",
	    "13:5: error: item 10 of 'routes' must be a mapping, not a string",
	    NULL });
}

static void
test_config_principals(void **state)
{
	struct fx *f = *state;

	expect_config_errors(f, MINIMAL
	    "principals:\n"
	    "  - {name: a, roles: [r], api_key_sha256: \"" H1 "\"}\n"
	    "  - {name: a, api_key_sha256: \"" H2 "\"}\n"
	    "  - {name: b, api_key_sha256: \"" H1 "\"}\n"
	    "  - {name: c, api_key_sha256: \"abc\"}\n"
	    "  - {name: d, api_key_sha256: \"" H1 "\"x}\n",
	    (const char *const[]){
	    "12:97: error: syntax error: did not find expected ',' or '}' "
	    "(while parsing a flow mapping at line 12, column 5)", NULL });

	expect_config_errors(f, MINIMAL
	    "principals:\n"
	    "  - {name: a, roles: [r], api_key_sha256: \"" H1 "\"}\n"
	    "  - {name: a, api_key_sha256: \"" H2 "\"}\n"
	    "  - {name: b, api_key_sha256: \"" H1 "\"}\n"
	    "  - {name: c, api_key_sha256: \"abc\"}\n"
	    "  - {name: d, api_key_sha256: \"" H1 "zz\"}\n"
	    "  - {name: e, api_key_sha256: "
	    "\"g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\""
	    "}\n"
	    "  - {name: f, roles: [x, [y], \"\"]}\n"
	    "  - {name: \"\", client_cert_subject: \"CN=x\"}\n"
	    "  - {name: g, client_cert_subject: \"CN=x\"}\n"
	    "  - {roles: [z], api_key_sha256: \"" H4 "\"}\n",
	    (const char *const[]){
	    "9:12: error: duplicate principal name 'a' (first at line 8)",
	    "10:31: error: same api_key_sha256 as the principal at line 8: "
	    "each principal needs its own key",
	    "11:31: error: 'api_key_sha256' must be 64 hexadecimal digits (a "
	    "SHA-256 hash), not 3 characters",
	    "12:31: error: 'api_key_sha256' must be 64 hexadecimal digits (a "
	    "SHA-256 hash), not 66 characters",
	    "13:31: error: 'api_key_sha256' must be 64 hexadecimal digits (a "
	    "SHA-256 hash), not 64 characters with non-hex ones",
	    "14:5: error: a principal needs 'api_key_sha256' or "
	    "'client_cert_subject' (or both)",
	    "14:26: error: item 2 of 'roles' must be a string, not a list",
	    "15:12: error: 'name' must not be empty",
	    "16:36: error: same client_cert_subject as the principal at line 15",
	    "17:5: error: missing required key 'name'",
	    NULL });
}

static void
test_config_admin(void **state)
{
	struct fx *f = *state;

	expect_config_errors(f, MINIMAL
	    "admin:\n"
	    "  address: 127.0.0.1:8080\n"
	    "  tokens:\n"
	    "    - {name: ops, roles: [admin, reviwer], token_sha256: " H1 "}\n"
	    "    - {name: ops, roles: [], token_sha256: " H2 "}\n"
	    "    - {name: x, roles: [root], token_sha256: " H1 "}\n"
	    "    - {name: y, roles: [auditor]}\n"
	    "    - {name: z, role: [auditor], token_sha256: " H3 "}\n",
	    (const char *const[]){
	    "8:12: error: admin address 127.0.0.1:8080 is also a listener "
	    "address",
	    "10:34: error: unknown admin role 'reviwer' (did you mean "
	    "'reviewer'?)",
	    "11:14: error: duplicate admin token name 'ops' (first at line 10)",
	    "11:26: error: 'roles' must name at least one of admin, reviewer, "
	    "auditor",
	    "12:25: error: unknown admin role 'root' (one of admin, reviewer, "
	    "auditor)",
	    "12:46: error: same token_sha256 as the token at line 10: give each "
	    "person their own token",
	    "13:7: error: missing required key 'token_sha256'",
	    "14:7: error: missing required key 'roles'",
	    "14:17: error: unknown key 'role' (did you mean 'roles'?)",
	    NULL });
}

static void
test_config_keys_section(void **state)
{
	struct fx *f = *state;

	expect_config_errors(f, MINIMAL
	    "keys: {dir: \"\", master_key_file: m.key, master_key_env: 1BAD}\n"
	    "state_dir: \"\"\n"
	    "policies: [policies/crm.yaml, policies/none.yaml, policies, \"\"]\n",
	    (const char *const[]){
	    "7:13: error: 'dir' must not be empty",
	    "7:41: error: give either 'master_key_file' or 'master_key_env', "
	    "not both",
	    "7:57: error: 'master_key_env' must be an environment variable name "
	    "(letters, digits and '_')",
	    "8:12: error: 'state_dir' must not be empty",
	    "9:31: error: policy file DIR/policies/none.yaml: No such file or "
	    "directory",
	    "9:51: error: policy file DIR/policies is not a regular file",
	    "9:61: error: item 4 of 'policies' must not be empty",
	    NULL });
}

/* Several errors in different sections: all reported, in file order. */
static void
test_config_many_errors(void **state)
{
	struct fx *f = *state;

	expect_config_errors(f,
	    "routes:\n"
	    "  - {match: \"GET /a\", upstream: crm2}\n"
	    "workers: 1000\n"
	    "listen:\n"
	    "  - address: 127.0.0.1:80800\n"
	    "upstreams:\n"
	    "  crm: {url: \"http://127.0.0.1:8000\", timeout: 5}\n"
	    "limits: {max_body: 0}\n",
	    (const char *const[]){
	    "2:33: error: unknown upstream 'crm2' (did you mean 'crm'?)",
	    "3:10: error: 'workers' must be auto or an integer from 1 to 256, "
	    "not '1000'",
	    "5:14: error: 'address' must be HOST:PORT (e.g. 127.0.0.1:8080 or "
	    "[::1]:8080), not '127.0.0.1:80800'",
	    "7:39: error: unknown key 'timeout'",
	    "8:20: error: 'max_body' must be a size in bytes from 1 to 1TiB "
	    "(e.g. 65536 or 64KiB), not '0'",
	    NULL });
}

/* quotas: reveal_per_hour per role. */
static void
test_config_quotas(void **state)
{
	struct fx			*f = *state;
	const struct proxy_config	*c;
	static const char base[] =
	    "listen: [{address: 127.0.0.1:8080}]\n"
	    "upstreams: {crm: {url: \"http://127.0.0.1:8000\"}}\n"
	    "routes: [{match: \"GET /a\", upstream: crm}]\n";
	char				 y[512];

	snprintf(y, sizeof(y), "%squotas: {reveal_per_hour: {manager: 50, "
	    "support: 0}}\n", base);
	c = load(f, y);
	if (c == NULL)
		dump_errs(f);
	assert_non_null(c);
	assert_int_equal(c->nquotas, 2);
	assert_string_equal(c->quotas[0].role, "manager");
	assert_int_equal(c->quotas[0].reveal_per_hour, 50);
	assert_string_equal(c->quotas[1].role, "support");
	assert_int_equal(c->quotas[1].reveal_per_hour, 0);
	snprintf(y, sizeof(y), "%squotas: {reveal_per_hour: {manager: -1}, "
	    "reveals: 3}\n", base);
	assert_null(load(f, y));
	assert_int_equal(pol_errs_count(f->errs), 2);
}

/* Errors appended by the loader come after what was already there. */
static void
test_config_errs_appended(void **state)
{
	struct fx	*f = *state;
	struct pol_errs	*e = pol_errs_new();

	assert_non_null(e);
	pol_errs_add(e, POL_ERROR, "earlier.yaml", 1, 1, "first");
	write_file(f, "custos.yaml", "workers: 1\n");
	assert_null(proxy_config_load(f->path, e));
	assert_int_equal(pol_errs_count(e), 4);
	assert_string_equal(pol_errs_get(e, 0), "earlier.yaml:1:1: error: first");
	/* NULL errs: still fails cleanly. */
	assert_null(proxy_config_load(f->path, NULL));
	pol_errs_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_yaml_tree_marks),
		T(test_yaml_syntax_errors),
		T(test_yaml_structure_errors),
		T(test_yaml_load_file),
		T(test_yaml_getters),
		T(test_yaml_check_keys),
		T(test_yaml_labels),
		T(test_yaml_move_sorted),
		T(test_config_full),
		T(test_config_defaults),
		T(test_config_relative_paths),
		T(test_config_unknown_keys),
		T(test_config_missing_sections),
		T(test_config_types),
		T(test_config_listen),
		T(test_config_upstreams),
		T(test_config_routes),
		T(test_config_principals),
		T(test_config_admin),
		T(test_config_keys_section),
		T(test_config_many_errors),
		T(test_config_quotas),
		T(test_config_errs_appended),
#undef T
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
