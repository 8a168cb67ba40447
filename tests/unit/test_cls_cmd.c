/* tests/unit/test_cls_cmd.c — `custos classify` end to end: JSON Lines and
 * --text input through cmd_classify(), its stdout checked byte for byte
 * where it matters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proxy/cli.h"

/* Runs cmd_classify on input (written to a file) with extra arguments and
 * returns what it printed (caller frees); *rc gets the exit status. */
static char *
run(const char *input, const char *opt, int *rc)
{
	char in[] = "/tmp/cls_cmd_in_XXXXXX", out[] = "/tmp/cls_cmd_out_XXXXXX";
	int ifd = mkstemp(in), ofd = mkstemp(out), saved;
	char *argv[4], *buf;
	int argc = 0;
	FILE *f;
	long len;

	assert_true(ifd >= 0 && ofd >= 0);
	assert_int_equal(write(ifd, input, strlen(input)), (ssize_t)strlen(input));
	close(ifd);
	argv[argc++] = (char *)(uintptr_t)"classify";
	if (opt != NULL)
		argv[argc++] = (char *)(uintptr_t)opt;
	argv[argc++] = in;
	argv[argc] = NULL;
	fflush(stdout);
	saved = dup(1);
	dup2(ofd, 1);
	*rc = cmd_classify(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	f = fdopen(ofd, "r");
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	unlink(in);
	unlink(out);
	return buf;
}

static void
test_jsonl(void **state)
{
	int rc;
	char *o;

	(void)state;
	o = run("{\"field\": \"email\", \"value\": \"john@example.com\"}\n"
	    "{\"field\": \"x\", \"value\": 13800138000}\n"
	    "{\"field\": \"status\", \"value\": \"active\"}\n"
	    "{\"value\": \"call \\u0031\\u0033800138000 now\", \"other\": [1, {\"a\": null}]}\n"
	    "{\"field\": \"\\u8eab\\u4efd\\u8bc1\\u53f7\", \"value\": \"11010519491231002X\"}\n"
	    "{\"field\": \"flag\", \"value\": true}\n", NULL, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(o,
	    "{\"matches\": [{\"class\": \"email\", \"detector\": \"value:email\", "
	    "\"level\": \"restricted\", \"confidence\": \"high\", \"evidence\": "
	    "[\"field:email\", \"value:email\", \"format:email\"], \"span\": [0, 16]}]}\n"
	    "{\"matches\": [{\"class\": \"phone\", \"detector\": \"value:phone\", "
	    "\"level\": \"restricted\", \"confidence\": \"medium\", \"evidence\": "
	    "[\"value:phone\", \"format:cn_mobile\"], \"span\": [0, 11]}, "
	    "{\"class\": \"cn_mobile\", \"detector\": \"value:cn_mobile\", "
	    "\"level\": \"restricted\", \"confidence\": \"medium\", \"evidence\": "
	    "[\"value:cn_mobile\", \"format:cn_mobile\"], \"span\": [0, 11]}]}\n"
	    "{\"matches\": []}\n"
	    "{\"matches\": [{\"class\": \"phone\", \"detector\": \"text:phone\", "
	    "\"level\": \"restricted\", \"confidence\": \"medium\", \"evidence\": "
	    "[\"text:phone\", \"format:cn_mobile\"], \"span\": [5, 16]}, "
	    "{\"class\": \"cn_mobile\", \"detector\": \"text:cn_mobile\", "
	    "\"level\": \"restricted\", \"confidence\": \"medium\", \"evidence\": "
	    "[\"text:cn_mobile\", \"format:cn_mobile\"], \"span\": [5, 16]}]}\n"
	    "{\"matches\": [{\"class\": \"cn_resident_id\", \"detector\": "
	    "\"value:cn_resident_id\", \"level\": \"secret\", \"confidence\": "
	    "\"high\", \"evidence\": [\"field:cn_resident_id\", "
	    "\"value:cn_resident_id\", \"checksum:mod11-2\", \"date:valid\"], "
	    "\"span\": [0, 18]}]}\n"
	    "{\"matches\": []}\n");
	/* no value ever appears in the output */
	assert_null(strstr(o, "john@"));
	free(o);
}

static void
test_text_and_errors(void **state)
{
	int rc;
	char *o;

	(void)state;
	o = run("mail a@b.com\n\nno identifiers here\n", "--text", &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(o, "\"span\": [5, 12]"));
	assert_non_null(strstr(o, "\n{\"matches\": []}\n{\"matches\": []}\n"));
	free(o);
	o = run("{\"field\": \"email\", \"value\": \"a@b.com\"\nnot json\n"
	    "{\"value\": \"x\"} trailing\n{\"field\": \"a\"}\n", NULL, &rc);
	assert_int_equal(rc, 1);
	assert_string_equal(o, "{\"error\": \"invalid JSON line\"}\n"
	    "{\"error\": \"invalid JSON line\"}\n"
	    "{\"error\": \"invalid JSON line\"}\n{\"matches\": []}\n");
	free(o);
	o = run("", "--help", &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(o, "usage: custos classify"));
	free(o);
	/* a config that cannot be read: its error, exit 1 */
	o = run("", "-c/nonexistent/custos.yaml", &rc);
	assert_int_equal(rc, 1);
	free(o);
	o = run("", "--bogus", &rc);
	assert_int_equal(rc, 2);
	free(o);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* -c: the classes of the config's policies */
static void
test_config(void **state)
{
	char dir[] = "/tmp/cls_cmd_cfg_XXXXXX", cfg[128], pol[128], opt[160];
	int rc;
	char *o;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(cfg, sizeof(cfg), "%s/custos.yaml", dir);
	snprintf(pol, sizeof(pol), "%s/p.yaml", dir);
	write_file(cfg,
	    "listen:\n  - address: 127.0.0.1:18080\n"
	    "upstreams:\n  crm:\n    url: http://127.0.0.1:8000\n"
	    "routes:\n  - {match: \"GET /api/**\", upstream: crm}\n"
	    "principals:\n  - {name: app, roles: [sales_rep], api_key_sha256: "
	    "\"0000000000000000000000000000000000000000000000000000000000000000\"}\n"
	    "keys: {dir: keys, master_key_file: master.key}\n"
	    "audit: {dir: audit}\npolicies: [p.yaml]\n");
	write_file(pol,
	    "default: redact\n"
	    "classes:\n"
	    "  vip:   {level: confidential, regex: [\"^VIP-[0-9]{6}$\"]}\n"
	    "  notes: {level: restricted, paths: [\"$.**.notes\"], "
	    "in_text: [phone, cn_mobile]}\n"
	    "rules:\n  - {id: all, action: redact}\n");
	snprintf(opt, sizeof(opt), "-c%s", cfg);
	o = run("{\"field\": \"code\", \"value\": \"VIP-123456\"}\n"
	    "{\"field\": \"notes\", \"value\": \"call 13800138000\"}\n"
	    "{\"field\": \"other\", \"value\": \"call 13800138000\"}\n",
	    opt, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(o,
	    "{\"matches\": [{\"class\": \"vip\", \"detector\": \"regex:vip\", "
	    "\"level\": \"confidential\", \"confidence\": \"medium\", "
	    "\"evidence\": [\"regex:vip\"], \"span\": [0, 10]}]}\n"
	    "{\"matches\": [{\"class\": \"notes\", \"detector\": \"text:phone\", "
	    "\"level\": \"restricted\", \"confidence\": \"medium\", "
	    "\"evidence\": [\"text:phone\", \"format:cn_mobile\", "
	    "\"text:cn_mobile\"], \"span\": [5, 16]}]}\n"
	    "{\"matches\": []}\n");
	free(o);
	/* a bad regex: FILE:LINE:COL on stderr, exit 1 */
	write_file(pol, "classes:\n  vip: {level: secret, regex: [\"(x\"]}\n"
	    "rules:\n  - {id: all, action: redact}\n");
	o = run("", opt, &rc);
	assert_int_equal(rc, 1);
	free(o);
	unlink(cfg);
	unlink(pol);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsonl),
		cmocka_unit_test(test_text_and_errors),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests_name("cls_cmd", tests, NULL, NULL);
}
