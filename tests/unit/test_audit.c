/* tests/unit/test_audit.c — the audit module: record builder, chain across
 * rotation and restart, every tamper kind verify must find, signatures,
 * crash recovery, concurrent producers, write failure and recovery,
 * export. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1		/* open_memstream, nftw */
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit/audit.h"
#include "audit/internal.h"

/* ------------------------------------------------------------- fixtures */

struct tkey {
	uint8_t	pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t	sk[crypto_sign_SECRETKEYBYTES];
};

struct fx {
	char			 dir[64];
	struct tkey		 key;
	struct audit_signer	 signer;
	struct audit_pubkey	 pub;
	struct audit_opts	 opts;
	atomic_int		 torn_logged;
};

static int
sign_cb(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[64],
    const char **key_id)
{
	struct tkey	*k = ctx;

	*key_id = "audit.1";	/* the key actually used (no default set) */
	return crypto_sign_detached(sig, NULL, msg, len, k->sk);
}

static void
log_cb(void *ctx, enum audit_level lv, const char *msg)
{
	struct fx	*f = ctx;

	(void)lv;
	if (strstr(msg, "torn") != NULL)
		atomic_fetch_add(&f->torn_logged, 1);
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));

	if (f == NULL || sodium_init() < 0)
		return -1;
	strcpy(f->dir, "/tmp/custos-audit-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	crypto_sign_keypair(f->key.pk, f->key.sk);
	f->signer.sign = sign_cb;
	f->signer.key_id = NULL;
	f->signer.ctx = &f->key;
	strcpy(f->pub.key_id, "audit.1");
	memcpy(f->pub.pk, f->key.pk, 32);
	f->opts.dir = f->dir;
	f->opts.fsync = AUDIT_FSYNC_BATCH;
	f->opts.checkpoint_every = 10;
	f->opts.checkpoint_interval = 60000;
	f->opts.signer = &f->signer;
	f->opts.log = log_cb;
	f->opts.log_ctx = f;
	f->opts.retry_interval = 20;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;

	nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Builds a small decision record numbered i. */
static void
fill(struct audit_rec *r, int i, const char *principal, const char *rule,
    const char *action)
{
	char			 rid[32], did[40];
	const char		*roles[] = { "sales_rep" };
	const char		*ev[] = { "field:email", "value:email" };
	const char		*fps[] = { "q3J0bGx5X2EtZmluZ2VyA" };
	struct audit_decision	 d[2];
	struct audit_request	 q;

	snprintf(rid, sizeof(rid), "req-%d", i);
	snprintf(did, sizeof(did), "req-%d.1", i);
	memset(d, 0, sizeof(d));
	d[0].id = did;
	d[0].path = "$.items[*].email";
	d[0].class_ = "email";
	d[0].level = "restricted";
	d[0].confidence = "high";
	d[0].evidence = ev;
	d[0].nevidence = 2;
	d[0].rule = rule;
	d[0].action = action;
	d[0].count = 20;
	d[0].fingerprints = fps;
	d[0].nfingerprints = 1;
	d[1] = d[0];
	d[1].id = "x.2";
	d[1].path = "$.phone";
	d[1].class_ = "phone";
	d[1].rule = "other-rule";
	d[1].action = "redact";
	memset(&q, 0, sizeof(q));
	q.request_id = rid;
	q.principal = principal;
	q.roles = roles;
	q.nroles = 1;
	q.route = "GET /api/customers/**";
	q.direction = "response";
	q.policy = "sha256:abc";
	q.status = 200;
	q.decisions = d;
	q.ndecisions = 2;
	assert_int_equal(audit_rec_request(r, &q), 0);
}

/* Opens, writes n records, closes. */
static void
write_n(struct fx *f, int first, int n)
{
	struct audit_log	*l;
	struct audit_rec	*r = audit_rec_new();
	char			 err[256];
	int			 i;

	l = audit_open(&f->opts, err, sizeof(err));
	if (l == NULL)
		fail_msg("audit_open: %s", err);
	for (i = 0; i < n; i++) {
		fill(r, first + i, i % 3 ? "rep-app" : "bi", "reps-mask-contacts",
		    i % 2 ? "mask" : "deny");
		assert_int_equal(audit_submit(l, r, NULL), 0);
	}
	assert_int_equal(audit_close(l), 0);
	audit_rec_free(r);
}

static char *
fpath(struct fx *f, unsigned num)
{
	static char	p[128];

	snprintf(p, sizeof(p), "%s/audit-%06u.jsonl", f->dir, num);
	return p;
}

/* The lines of a file (each with its newline), NULL-terminated. */
static char **
read_lines(const char *path, size_t *n)
{
	FILE	*fp = fopen(path, "r");
	char	**v = NULL, *line = NULL;
	size_t	 cap = 0, k = 0;
	ssize_t	 len;

	assert_non_null(fp);
	while ((len = getline(&line, &cap, fp)) > 0) {
		v = realloc(v, (k + 2) * sizeof(*v));
		v[k++] = strndup(line, (size_t)len);
	}
	if (v == NULL)
		v = calloc(1, sizeof(*v));
	v[k] = NULL;
	free(line);
	fclose(fp);
	*n = k;
	return v;
}

static void
write_lines(const char *path, char **v, size_t n)
{
	FILE	*fp = fopen(path, "w");
	size_t	 i;

	assert_non_null(fp);
	for (i = 0; i < n; i++)
		if (v[i] != NULL)
			fputs(v[i], fp);
	fclose(fp);
}

static void
free_lines(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
verify(struct fx *f, int with_key, struct audit_verify_report *rep)
{
	return audit_verify(f->dir, with_key ? &f->pub : NULL, with_key ? 1 : 0,
	    0, rep);
}

#define assert_problem(f, want) do {					\
	struct audit_verify_report rep_;				\
	assert_int_equal(verify((f), 1, &rep_), 1);			\
	if (strstr(rep_.error, (want)) == NULL)				\
		fail_msg("error \"%s\" lacks \"%s\"", rep_.error, (want)); \
} while (0)

/* ------------------------------------------------------------ records */

static void
test_rec_escaping(void **state)
{
	struct audit_rec	*r = audit_rec_new();
	struct ajson_doc	 d;
	const char		*body;
	char			 line[512], out[64];
	size_t			 len;
	const char		 nasty[] = "a\"b\\c\n\t\x01\x7f" "\xff" "é日";

	(void)state;
	memset(&d, 0, sizeof(d));
	audit_rec_str(r, "path", nasty);
	audit_rec_str(r, "override", NULL);
	audit_rec_int(r, "n", -5);
	audit_rec_bool(r, "b", 1);
	assert_int_equal(audit_rec_error(r), 0);
	body = audit_rec_body(r, &len);
	assert_string_equal(body, "\"path\":\"a\\\"b\\\\c\\n\\t\\u0001\\u007f"
	    "\\ufffdé日\",\"override\":null,\"n\":-5,\"b\":true");
	snprintf(line, sizeof(line), "{%s}", body);
	assert_int_equal(audit_json_parse(&d, line, strlen(line)), 0);
	assert_int_equal(audit_json_str(&d, audit_json_get(&d, 0, "path"), out,
	    sizeof(out)), (int)strlen("a\"b\\c\n\t\x01\x7f" "\xef\xbf\xbd" "é日"));
	assert_string_equal(out, "a\"b\\c\n\t\x01\x7f" "\xef\xbf\xbd" "é日");
	audit_json_reset(&d);

	/* reserved keys, unbalanced nesting, keys in arrays */
	audit_rec_reset(r);
	audit_rec_str(r, "seq", "1");
	assert_int_equal(audit_rec_error(r), -1);
	audit_rec_reset(r);
	audit_rec_arr_open(r, "a");
	assert_int_equal(audit_rec_error(r), -1);
	audit_rec_str(r, "k", "v");
	audit_rec_arr_close(r);
	assert_int_equal(audit_rec_error(r), -1);
	audit_rec_reset(r);
	audit_rec_obj_open(r, "o");
	audit_rec_arr_open(r, "a");
	audit_rec_obj_close(r);
	assert_int_equal(audit_rec_error(r), -1);
	audit_rec_free(r);
	audit_rec_free(NULL);
}

static void
test_json_reader(void **state)
{
	struct ajson_doc	 d;
	static const char	*bad[] = {
		"", "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "\"\\x\"", "01", "1.",
		"-", "tru", "{\"a\":1}x", "\"a\nb\"", "[[[[[[[[[[[[[[[[[[[[[[[[["
		"[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	};
	static const char	*good[] = {
		"{}", "[]", "{\"a\":[1,-2.5e3,true,false,null,\"\\u00e9\\ud83d\\ude00\"]}",
		" 0 ", "\"\"",
	};
	size_t			 i;
	uint64_t		 u;
	char			 s[16];
	const char		*s2;

	(void)state;
	memset(&d, 0, sizeof(d));
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(audit_json_parse(&d, bad[i], strlen(bad[i])), -1);
	for (i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_int_equal(audit_json_parse(&d, good[i], strlen(good[i])), 0);
	s2 = "{\"n\":42,\"s\":\"\\u00e9\\ud83d\\ude00\"}";
	assert_int_equal(audit_json_parse(&d, s2, strlen(s2)), 0);
	assert_int_equal(audit_json_u64(&d, audit_json_get(&d, 0, "n"), &u), 0);
	assert_int_equal(u, 42);
	assert_int_equal(audit_json_str(&d, audit_json_get(&d, 0, "s"), s,
	    sizeof(s)), 6);
	assert_string_equal(s, "é\xf0\x9f\x98\x80");
	assert_int_equal(audit_json_get(&d, 0, "missing"), -1);
	audit_json_reset(&d);
}

static void
test_time_parse(void **state)
{
	int64_t			ms;
	struct timespec		ts = { 1795753607, 123000000 };
	char			buf[AUDIT_TIME_LEN + 1];

	(void)state;
	assert_int_equal(audit_time_parse("1970-01-01T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(audit_time_parse("2026-11-27T04:26:47.123Z", &ms), 0);
	assert_int_equal(ms, INT64_C(1795753607123));
	assert_int_equal(audit_time_parse("2026-11-27T12:26:47.123+08:00", &ms), 0);
	assert_int_equal(ms, INT64_C(1795753607123));
	assert_int_equal(audit_time_parse("2026-11-27", &ms), 0);
	assert_int_equal(ms, INT64_C(1795737600000));
	assert_int_equal(audit_time_parse("2026-13-01", &ms), -1);
	assert_int_equal(audit_time_parse("2026-11-27T04:26", &ms), -1);
	assert_int_equal(audit_time_parse("2026-11-27T04:26:47", &ms), -1);
	assert_int_equal(audit_time_parse("yesterday", &ms), -1);
	audit_time_format(&ts, buf);
	assert_string_equal(buf, "2026-11-27T04:26:47.123Z");
}

static void
test_pubkey_parse(void **state)
{
	struct audit_pubkey	pk;
	uint8_t			raw[32];
	char			b64[64], line[128];

	(void)state;
	memset(raw, 7, sizeof(raw));
	sodium_bin2base64(b64, sizeof(b64), raw, 32,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(line, sizeof(line), "ed25519:audit.2:%s\n", b64);
	assert_int_equal(audit_pubkey_parse(line, &pk), 0);
	assert_string_equal(pk.key_id, "audit.2");
	assert_memory_equal(pk.pk, raw, 32);
	assert_int_equal(audit_pubkey_parse("ed25519::abc", &pk), -1);
	assert_int_equal(audit_pubkey_parse("rsa:a:abc", &pk), -1);
	snprintf(line, sizeof(line), "ed25519:a:%s==", b64);
	assert_int_equal(audit_pubkey_parse(line, &pk), -1);
}

/* ------------------------------------------------------------- chain */

static void
test_chain_and_signatures(void **state)
{
	struct fx			*f = *state;
	struct audit_verify_report	 rep;
	struct audit_pubkey		 wrong;
	uint8_t				 sk[64];
	size_t				 n;
	char				**v;

	write_n(f, 0, 95);
	assert_int_equal(verify(f, 1, &rep), 0);
	assert_true(rep.intact);
	/* 95 records, a checkpoint after each 10, and a final one */
	assert_int_equal(rep.checkpoints, 10);
	assert_int_equal(rep.records, 105);
	assert_int_equal(rep.signatures_checked, 10);
	assert_int_equal(rep.unsigned_tail, 0);
	assert_int_equal(rep.head_file_seq, 105);
	assert_int_equal(rep.last_seq, 105);

	/* the first line: seq 1 and a zero prev */
	v = read_lines(fpath(f, 1), &n);
	assert_int_equal(n, 105);
	assert_memory_equal(v[0], "{\"seq\":1,\"time\":\"", 17);
	assert_non_null(strstr(v[0], ",\"prev\":\"0000000000000000000000000000"
	    "000000000000000000000000000000000000\",\"hash\":\""));
	assert_non_null(strstr(v[10], "\"type\":\"checkpoint\""));
	free_lines(v, n);

	/* without keys the chain still verifies */
	assert_int_equal(verify(f, 0, &rep), 0);
	assert_int_equal(rep.signatures_checked, 0);

	/* a wrong key, and a key with another id */
	wrong = f->pub;
	crypto_sign_keypair(wrong.pk, sk);
	assert_int_equal(audit_verify(f->dir, &wrong, 1, 0, &rep), 1);
	assert_non_null(strstr(rep.error, "HEAD: checkpoint signature does not "
	    "verify"));
	strcpy(wrong.key_id, "audit.9");
	memcpy(wrong.pk, f->pub.pk, 32);
	assert_int_equal(audit_verify(f->dir, &wrong, 1, 0, &rep), 1);
	assert_non_null(strstr(rep.error, "not among the public keys"));
	/* the same, once HEAD is gone: the first checkpoint in the log fails */
	assert_int_equal(unlink(strcat(strcpy((char[128]){0}, f->dir), "/HEAD")), 0);
	memcpy(wrong.pk, sk + 32, 32);
	strcpy(wrong.key_id, "audit.1");
	assert_int_equal(audit_verify(f->dir, &wrong, 1, 0, &rep), 1);
	assert_non_null(strstr(rep.error, "audit-000001.jsonl:11: checkpoint "
	    "signature does not verify"));
	assert_int_equal(verify(f, 1, &rep), 0);
	assert_non_null(strstr(rep.warning, "no HEAD file"));
}

static void
test_rotation_and_restart(void **state)
{
	struct fx			*f = *state;
	struct audit_verify_report	 rep;

	f->opts.rotate_size = 4096;
	write_n(f, 0, 60);
	write_n(f, 60, 60);
	f->opts.signer = NULL;		/* a session without checkpoints */
	write_n(f, 120, 7);
	assert_int_equal(verify(f, 1, &rep), 0);
	assert_true(rep.files > 5);
	/* 60 + 6 checkpoints, 60 + 6 checkpoints, 7 unsigned */
	assert_int_equal(rep.records, 127 + 12);
	assert_int_equal(rep.unsigned_tail, 7);
	assert_int_equal(rep.last_checkpoint_seq, 132);
	/* cutting the unsigned tail cannot be seen (documented) */
	{
		size_t	 n, last = (size_t)rep.files;
		char	**v = read_lines(fpath(f, (unsigned)last), &n);

		assert_true(n >= 1);
		free(v[n - 1]);
		v[n - 1] = NULL;
		write_lines(fpath(f, (unsigned)last), v, n);
		free_lines(v, n);
	}
	assert_int_equal(verify(f, 1, &rep), 0);
	assert_int_equal(rep.unsigned_tail, 6);
}

/* Writes 40 records (checkpoints at 11, 22, 33 and 44, the last record). */
static void
forty(struct fx *f)
{
	write_n(f, 0, 40);
}

static void
test_tamper_edit(void **state)
{
	struct fx	*f = *state;
	size_t		 n;
	char		**v;

	forty(f);
	v = read_lines(fpath(f, 1), &n);
	v[16][strlen(v[16]) / 2] ^= 1;
	write_lines(fpath(f, 1), v, n);
	free_lines(v, n);
	assert_problem(f, "audit-000001.jsonl:17: hash mismatch (record edited)");
}

static void
test_tamper_delete(void **state)
{
	struct fx	*f = *state;
	size_t		 n;
	char		**v;

	forty(f);
	v = read_lines(fpath(f, 1), &n);
	free(v[16]);
	memmove(v + 16, v + 17, (n - 17) * sizeof(*v));
	n--;
	v[n] = NULL;
	write_lines(fpath(f, 1), v, n);
	free_lines(v, n);
	assert_problem(f, "audit-000001.jsonl:17: seq 18 where 17 was expected "
	    "(record deleted, reordered or inserted)");
}

static void
test_tamper_swap(void **state)
{
	struct fx	*f = *state;
	size_t		 n;
	char		**v, *t;

	forty(f);
	v = read_lines(fpath(f, 1), &n);
	t = v[16];
	v[16] = v[17];
	v[17] = t;
	write_lines(fpath(f, 1), v, n);
	free_lines(v, n);
	assert_problem(f, "audit-000001.jsonl:17: seq 18 where 17 was expected");
}

/* Rewrites line i so that it hashes right and follows prev_hex. */
static void
forge(char **line, uint64_t seq, const char *prev_hex, const char *body)
{
	char		 buf[4096], hx[65];
	uint8_t		 h[32];
	int		 k;

	k = snprintf(buf, sizeof(buf), "{\"seq\":%" PRIu64 ",\"time\":"
	    "\"2026-11-27T04:26:47.123Z\",%s,\"prev\":\"%.64s\"", seq, body,
	    prev_hex);
	audit_hash(buf, (size_t)k, h);
	audit_hex(h, 32, hx);
	snprintf(buf + k, sizeof(buf) - (size_t)k, ",\"hash\":\"%s\"}\n", hx);
	free(*line);
	*line = strdup(buf);
}

static const char *
hash_of(const char *line)
{
	return line + strlen(line) - 1 - 2 - 64;
}

static void
test_tamper_insert(void **state)
{
	struct fx	*f = *state;
	size_t		 n;
	char		**v;

	forty(f);
	v = read_lines(fpath(f, 1), &n);
	v = realloc(v, (n + 2) * sizeof(*v));
	memmove(v + 17, v + 16, (n - 16) * sizeof(*v));
	n++;
	v[n] = NULL;
	v[16] = NULL;
	/* a well-formed forgery that chains onto line 16 */
	forge(&v[16], 17, hash_of(v[15]), "\"principal\":\"mallory\","
	    "\"decisions\":[]");
	write_lines(fpath(f, 1), v, n);
	free_lines(v, n);
	assert_problem(f, "audit-000001.jsonl:18: seq 17 where 18 was expected");

	/* a forgery with a made-up hash is caught on its own line */
	v = read_lines(fpath(f, 1), &n);
	memcpy(v[16] + strlen(v[16]) - 11, "00000000", 8);
	write_lines(fpath(f, 1), v, n);
	free_lines(v, n);
	assert_problem(f, "audit-000001.jsonl:17: hash mismatch");
}

/* A forger rewrites one record and rehashes everything after it: only the
 * checkpoint signatures can tell. */
static void
test_tamper_rewrite_history(void **state)
{
	struct fx			*f = *state;
	struct audit_verify_report	 rep;
	size_t				 n, i;
	char				**v, prev[65], oldprev[65], *p;
	char				 body[4096];
	size_t				 blen;

	forty(f);
	v = read_lines(fpath(f, 1), &n);
	memcpy(prev, hash_of(v[14]), 64);
	prev[64] = '\0';
	for (i = 15; i < n; i++) {
		/* body: between the time and prev */
		p = strstr(v[i], "\",") + 2;
		blen = (size_t)(hash_of(v[i]) - 9 - 10 - 64 - p);
		memcpy(body, p, blen);
		body[blen] = '\0';
		if (i == 15 && (p = strstr(body, "rep-app")) != NULL)
			memcpy(p, "rep-xxx", 7);
		if (i == 15 && (p = strstr(body, "\"bi\"")) != NULL)
			memcpy(p, "\"xx\"", 4);
		memcpy(oldprev, hash_of(v[i]) - 9 - 1 - 64, 64);
		oldprev[64] = '\0';
		if ((p = strstr(body, oldprev)) != NULL)	/* checkpoint head */
			memcpy(p, prev, 64);
		forge(&v[i], i + 1, prev, body);
		memcpy(prev, hash_of(v[i]), 64);
	}
	write_lines(fpath(f, 1), v, n);
	free_lines(v, n);
	unlink(strcat(strcpy((char[128]){0}, f->dir), "/HEAD"));
	if (verify(f, 0, &rep) != 0)	/* undetectable without a key */
		fail_msg("%s", rep.error);
	assert_int_equal(verify(f, 1, &rep), 1);
	assert_non_null(strstr(rep.error, "audit-000001.jsonl:22: checkpoint "
	    "signature does not verify"));
}

static void
test_tamper_cut_tail(void **state)
{
	struct fx			*f = *state;
	struct audit_verify_report	 rep;
	size_t				 n;
	char				**v;

	forty(f);
	/* cut the last checkpoint and 5 records: HEAD knows it was there */
	v = read_lines(fpath(f, 1), &n);
	write_lines(fpath(f, 1), v, n - 6);
	free_lines(v, n);
	assert_int_equal(verify(f, 1, &rep), 1);
	assert_non_null(strstr(rep.error, "HEAD: names signed checkpoint seq 44 "
	    "but the log ends at seq 38 (signed history truncated)"));
	assert_int_equal(rep.unsigned_tail, 5);
}

static void
test_tamper_remove_file(void **state)
{
	struct fx	*f = *state;
	char		 a[128], b[128];

	f->opts.rotate_size = 2048;
	write_n(f, 0, 40);
	strcpy(a, fpath(f, 3));
	assert_int_equal(access(fpath(f, 4), F_OK), 0);
	strcpy(b, a);
	strcat(b, ".bak");
	assert_int_equal(rename(a, b), 0);
	assert_problem(f, "audit-000004.jsonl: audit-000003.jsonl is missing");
	assert_int_equal(rename(b, a), 0);

	/* the first file */
	strcpy(a, fpath(f, 1));
	strcpy(b, a);
	strcat(b, ".bak");
	assert_int_equal(rename(a, b), 0);
	assert_problem(f, "audit-000002.jsonl: audit-000001.jsonl is missing");
	/* ... even when the rest is renumbered */
	{
		char	 from[128], to[128];
		unsigned i;

		for (i = 2; access(fpath(f, i), F_OK) == 0; i++) {
			strcpy(from, fpath(f, i));
			strcpy(to, fpath(f, i - 1));
			assert_int_equal(rename(from, to), 0);
		}
	}
	assert_problem(f, "audit-000001.jsonl:1: the chain starts at seq");
}

static void
test_tamper_remove_last_file(void **state)
{
	struct fx	*f = *state;
	unsigned	 last;

	f->opts.rotate_size = 2048;
	write_n(f, 0, 40);
	for (last = 1; access(fpath(f, last + 1), F_OK) == 0; last++)
		;
	assert_int_equal(unlink(fpath(f, last)), 0);
	assert_problem(f, "HEAD: names signed checkpoint seq 44");
}

static void
test_torn_line_recovery(void **state)
{
	struct fx			*f = *state;
	struct audit_verify_report	 rep;
	FILE				*fp;

	write_n(f, 0, 20);
	fp = fopen(fpath(f, 1), "a");
	fputs("{\"seq\":23,\"time\":\"2026-11-27T04:2", fp);
	fclose(fp);
	/* a crash leaves a torn line: verify warns, still intact */
	assert_int_equal(verify(f, 1, &rep), 0);
	assert_non_null(strstr(rep.warning, "audit-000001.jsonl:23: torn last line"));
	/* the writer cuts it and continues the chain */
	write_n(f, 20, 5);
	assert_int_equal(atomic_load(&f->torn_logged), 1);
	assert_int_equal(verify(f, 1, &rep), 0);
	assert_int_equal(rep.warning[0], '\0');
	assert_int_equal(rep.records, 22 + 5 + 1);

	/* a torn line in a file other than the last is a problem */
	f->opts.rotate_size = 1;
	write_n(f, 30, 1);
	fp = fopen(fpath(f, 1), "a");
	fputs("{\"seq\":", fp);
	fclose(fp);
	assert_problem(f, "audit-000001.jsonl:29: partial record");
}

static void
test_recover_refuses_edited_tail(void **state)
{
	struct fx	*f = *state;
	size_t		 n;
	char		**v, err[256];

	write_n(f, 0, 5);
	v = read_lines(fpath(f, 1), &n);
	v[n - 1][30] ^= 1;
	write_lines(fpath(f, 1), v, n);
	free_lines(v, n);
	assert_null(audit_open(&f->opts, err, sizeof(err)));
	assert_non_null(strstr(err, "hash mismatch; cannot continue the chain"));
}

static void
test_single_writer_lock(void **state)
{
	struct fx		*f = *state;
	struct audit_log	*a, *b;
	char			 err[256];

	a = audit_open(&f->opts, err, sizeof(err));
	assert_non_null(a);
	b = audit_open(&f->opts, err, sizeof(err));
	assert_null(b);
	assert_non_null(strstr(err, "in use by another custos"));
	assert_int_equal(audit_close(a), 0);
	assert_int_equal(audit_close(NULL), 0);
}

/* ------------------------------------------------------- concurrency */

#define NTHREADS	4
#define PER_THREAD	10000

struct prod {
	struct audit_log	*log;
	int			 id;
};

static void *
producer(void *arg)
{
	struct prod		*p = arg;
	struct audit_rec	*r = audit_rec_new();
	int			 i;

	for (i = 0; i < PER_THREAD; i++) {
		audit_rec_reset(r);
		audit_rec_int(r, "t", p->id);
		audit_rec_int(r, "i", i);
		if (audit_submit(p->log, r, NULL) != 0)
			abort();
	}
	audit_rec_free(r);
	return NULL;
}

static void
test_concurrent_producers(void **state)
{
	struct fx			*f = *state;
	struct audit_verify_report	 rep;
	struct audit_log		*l;
	pthread_t			 th[NTHREADS];
	struct prod			 p[NTHREADS];
	int				 i, next[NTHREADS] = { 0 };
	char				 err[256], *line = NULL;
	size_t				 cap = 0;
	unsigned			 num;
	FILE				*fp;
	long				 t, k;
	struct audit_stats		 st;

	f->opts.queue = 256;		/* producers hit backpressure */
	f->opts.checkpoint_every = 1000;
	f->opts.rotate_size = 256 << 10;
	l = audit_open(&f->opts, err, sizeof(err));
	assert_non_null(l);
	for (i = 0; i < NTHREADS; i++) {
		p[i].log = l;
		p[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, producer, &p[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	audit_get_stats(l, &st);
	assert_int_equal(st.submitted, NTHREADS * PER_THREAD);
	assert_int_equal(audit_wait_durable(l, st.submitted, 10000), 0);
	assert_int_equal(audit_close(l), 0);
	assert_int_equal(verify(f, 1, &rep), 0);
	assert_int_equal(rep.records, NTHREADS * PER_THREAD + 40);
	assert_int_equal(rep.checkpoints, 40);
	/* each producer's records are in its submission order */
	for (num = 1; (fp = fopen(fpath(f, num), "r")) != NULL; num++) {
		while (getline(&line, &cap, fp) > 0) {
			char *s = strstr(line, "\"t\":");

			if (s == NULL)
				continue;
			assert_int_equal(sscanf(s, "\"t\":%ld,\"i\":%ld", &t, &k), 2);
			assert_int_equal(k, next[t]);
			next[t]++;
		}
		fclose(fp);
	}
	free(line);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(next[i], PER_THREAD);
	assert_true(num > 2);
}

/* -------------------------------------------------- write failures */

/* Test hooks have no context argument: these statics are their only
 * state, written by the test thread and read by the writer thread. */
static atomic_int	fail_writes;	/* 1: pwrite fails after half */
static atomic_int	fail_fsyncs;

static ssize_t
failing_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (atomic_load(&fail_writes)) {
		/* a partial write, then the disk is full */
		if (len > 1 && pwrite(fd, buf, len / 2, off) < 0)
			return -1;
		errno = ENOSPC;
		return -1;
	}
	return pwrite(fd, buf, len, off);
}

static int
failing_fsync(int fd)
{
	if (atomic_load(&fail_fsyncs)) {
		errno = EIO;
		return -1;
	}
	return fdatasync(fd);
}

static void
test_write_failure_and_recovery(void **state)
{
	struct fx			*f = *state;
	struct audit_verify_report	 rep;
	struct audit_log		*l;
	struct audit_rec		*r = audit_rec_new();
	struct audit_stats		 st;
	char				 err[256];
	uint64_t			 ticket = 0, t2;
	int				 i;

	f->opts.pwrite_fn = failing_pwrite;
	f->opts.fsync_fn = failing_fsync;
	f->opts.queue = 8;
	l = audit_open(&f->opts, err, sizeof(err));
	assert_non_null(l);
	fill(r, 0, "rep-app", "r", "mask");
	assert_int_equal(audit_submit(l, r, &ticket), 0);
	assert_int_equal(audit_wait_durable(l, ticket, 5000), 0);
	assert_int_equal(audit_available(l), 1);

	atomic_store(&fail_writes, 1);
	for (i = 0; i < 5; i++)
		assert_int_equal(audit_submit(l, r, &ticket), 0);
	for (i = 0; i < 500 && audit_available(l); i++)
		usleep(2000);
	assert_int_equal(audit_available(l), 0);
	assert_int_equal(audit_wait_durable(l, ticket, 50), -1);
	assert_int_equal(errno, ETIMEDOUT);
	/* fill the queue: producers are refused after a timeout, not dropped */
	for (i = 0; i < 8 && audit_submit_timed(l, r, &t2, 0) == 0; i++)
		;
	assert_true(i >= 3);
	assert_int_equal(audit_submit_timed(l, r, NULL, 20), -1);
	assert_int_equal(errno, ETIMEDOUT);
	audit_get_stats(l, &st);
	assert_true(st.write_errors > 1);
	assert_int_equal(st.queued, 8);

	/* the disk comes back; fsync fails once more first */
	atomic_store(&fail_fsyncs, 1);
	atomic_store(&fail_writes, 0);
	usleep(100000);
	assert_int_equal(audit_available(l), 0);
	atomic_store(&fail_fsyncs, 0);
	assert_int_equal(audit_wait_durable(l, t2, 5000), 0);
	assert_int_equal(audit_available(l), 1);
	assert_int_equal(audit_close(l), 0);
	audit_rec_free(r);
	assert_int_equal(verify(f, 1, &rep), 0);
	/* 1 + 5 + i records, a checkpoint after 10, a final one */
	assert_int_equal(rep.records, (uint64_t)(6 + i + (6 + i) / 10 +
	    ((6 + i) % 10 != 0)));
}

static void
test_close_gives_up_on_dead_disk(void **state)
{
	struct fx		*f = *state;
	struct audit_log	*l;
	struct audit_rec	*r = audit_rec_new();
	char			 err[256];

	f->opts.pwrite_fn = failing_pwrite;
	f->opts.drain_timeout = 100;
	l = audit_open(&f->opts, err, sizeof(err));
	assert_non_null(l);
	atomic_store(&fail_writes, 1);
	fill(r, 0, "rep-app", "r", "mask");
	assert_int_equal(audit_submit(l, r, NULL), 0);
	assert_int_equal(audit_close(l), -1);
	atomic_store(&fail_writes, 0);
	audit_rec_free(r);
}

static void
test_fsync_modes(void **state)
{
	struct fx			*f = *state;
	struct audit_verify_report	 rep;
	struct audit_log		*l;
	struct audit_rec		*r = audit_rec_new();
	char				 err[256];
	uint64_t			 t;
	int				 mode;

	fill(r, 0, "rep-app", "r", "mask");
	for (mode = AUDIT_FSYNC_INTERVAL; mode <= AUDIT_FSYNC_NONE; mode++) {
		f->opts.fsync = mode;
		f->opts.fsync_interval = 50;
		l = audit_open(&f->opts, err, sizeof(err));
		assert_non_null(l);
		assert_int_equal(audit_submit(l, r, &t), 0);
		assert_int_equal(audit_wait_durable(l, t, 5000), 0);
		assert_int_equal(audit_close(l), 0);
	}
	audit_rec_free(r);
	assert_int_equal(verify(f, 1, &rep), 0);
	assert_int_equal(rep.records, 4);
}

static void
test_checkpoint_interval(void **state)
{
	struct fx			*f = *state;
	struct audit_verify_report	 rep;
	struct audit_log		*l;
	struct audit_rec		*r = audit_rec_new();
	char				 err[256];
	struct audit_stats		 st;
	int				 i;

	f->opts.checkpoint_every = 1000;
	f->opts.checkpoint_interval = 30;
	l = audit_open(&f->opts, err, sizeof(err));
	assert_non_null(l);
	fill(r, 0, "rep-app", "r", "mask");
	assert_int_equal(audit_submit(l, r, NULL), 0);
	for (i = 0; i < 200; i++) {
		audit_get_stats(l, &st);
		if (st.checkpoints > 0)
			break;
		usleep(5000);
	}
	assert_int_equal(st.checkpoints, 1);
	usleep(100000);		/* no checkpoint of a checkpoint */
	audit_get_stats(l, &st);
	assert_int_equal(st.checkpoints, 1);
	assert_int_equal(audit_close(l), 0);
	audit_rec_free(r);
	assert_int_equal(verify(f, 1, &rep), 0);
	assert_int_equal(rep.records, 2);
}

/* ------------------------------------------------------------ export */

static char *
export_str(struct fx *f, const struct audit_filter *flt, int format, long *n)
{
	char	*buf = NULL, err[256];
	size_t	 len = 0;
	FILE	*m = open_memstream(&buf, &len);

	*n = audit_export(f->dir, flt, format, m, err, sizeof(err));
	fclose(m);
	return buf;
}

static int
count_lines(const char *s)
{
	int	n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
test_export_filters(void **state)
{
	struct fx		*f = *state;
	struct audit_filter	 flt;
	struct audit_log	*l;
	struct audit_rec	*r = audit_rec_new();
	char			*out, err[256];
	long			 n;

	write_n(f, 0, 30);		/* principals: bi at i%3==0 */
	memset(&flt, 0, sizeof(flt));
	out = export_str(f, &flt, AUDIT_FMT_JSONL, &n);
	assert_int_equal(n, 30);
	assert_int_equal(count_lines(out), 30);
	assert_null(strstr(out, "checkpoint"));
	free(out);

	flt.principal = "bi";
	out = export_str(f, &flt, AUDIT_FMT_JSONL, &n);
	assert_int_equal(n, 10);
	free(out);

	/* decisions filtered by rule: the other decision is left out */
	flt.principal = NULL;
	flt.rule = "other-rule";
	out = export_str(f, &flt, AUDIT_FMT_JSONL, &n);
	assert_int_equal(n, 30);
	assert_null(strstr(out, "reps-mask-contacts"));
	assert_non_null(strstr(out, "\"decisions\":[{\"id\":\"x.2\""));
	assert_non_null(strstr(out, "}],\"prev\":\""));
	free(out);
	flt.rule = "reps-mask-contacts";
	flt.action = "deny";
	out = export_str(f, &flt, AUDIT_FMT_JSONL, &n);
	assert_int_equal(n, 15);
	assert_null(strstr(out, "\"mask\""));
	free(out);
	flt.rule = "no-such-rule";
	out = export_str(f, &flt, AUDIT_FMT_JSONL, &n);
	assert_int_equal(n, 0);
	free(out);

	/* time bounds */
	memset(&flt, 0, sizeof(flt));
	assert_int_equal(audit_time_parse("2000-01-01", &flt.until_ms), 0);
	out = export_str(f, &flt, AUDIT_FMT_JSONL, &n);
	assert_int_equal(n, 0);
	free(out);
	flt.until_ms = 0;
	assert_int_equal(audit_time_parse("2000-01-01", &flt.since_ms), 0);
	out = export_str(f, &flt, AUDIT_FMT_JSONL, &n);
	assert_int_equal(n, 30);
	free(out);

	/* CSV: header, one row per decision, RFC 4180 quoting */
	l = audit_open(&f->opts, err, sizeof(err));
	assert_non_null(l);
	audit_rec_reset(r);
	audit_rec_str(r, "type", "block");
	audit_rec_str(r, "principal", "we, \"the\"\nusers");
	audit_rec_strv(r, "roles", (const char *const[]){ "a", "b" }, 2);
	audit_rec_int(r, "status", 403);
	assert_int_equal(audit_submit(l, r, NULL), 0);
	assert_int_equal(audit_close(l), 0);
	memset(&flt, 0, sizeof(flt));
	flt.principal = "we, \"the\"\nusers";
	out = export_str(f, &flt, AUDIT_FMT_CSV, &n);
	assert_int_equal(n, 1);
	assert_non_null(strstr(out, "seq,time,type,request_id,principal,roles,"
	    "route,direction,policy,status,decision_id,decision_path,"));
	assert_non_null(strstr(out, ",block,,\"we, \"\"the\"\"\nusers\",a;b,,,,"
	    "403,,,,,,,,,,,\r\n"));
	free(out);
	flt.principal = "bi";
	out = export_str(f, &flt, AUDIT_FMT_CSV, &n);
	assert_int_equal(n, 10);
	assert_int_equal(count_lines(out), 1 + 20);
	assert_non_null(strstr(out, ",req-0.1,$.items[*].email,email,restricted,"
	    "high,field:email;value:email,reps-mask-contacts,deny,20,,"
	    "q3J0bGx5X2EtZmluZ2VyA\r\n"));
	free(out);
	audit_rec_free(r);
}

/* A signer that fails its first calls: no checkpoint is written for them,
 * the records stay (unsigned for longer), later checkpoints are fine. */
static atomic_int	sign_failures;	/* calls left to fail; test-only */

static int
flaky_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[64],
    const char **key_id)
{
	if (atomic_load(&sign_failures) > 0) {
		atomic_fetch_sub(&sign_failures, 1);
		return -1;
	}
	return sign_cb(ctx, msg, len, sig, key_id);
}

static void
test_signer_failure(void **state)
{
	struct fx			*f = *state;
	struct audit_verify_report	 rep;

	atomic_store(&sign_failures, 1);
	f->signer.sign = flaky_sign;
	f->opts.retry_interval = 1;
	write_n(f, 0, 35);
	assert_int_equal(verify(f, 1, &rep), 0);
	/* the first one failed, retried 1 ms later (10 or more records on);
	 * the final one signs the rest */
	assert_true(rep.checkpoints >= 1 && rep.checkpoints <= 4);
	assert_int_equal(rep.records, 35 + rep.checkpoints);
	assert_int_equal(rep.unsigned_tail, 0);
	assert_int_equal(atomic_load(&sign_failures), 0);
}

/* --------------------------------------------------------- overrides */

static void
test_overrides(void **state)
{
	struct fx			*f = *state;
	struct audit_ovr_store		*st;
	struct audit_ovr_snap		*s, *old;
	struct audit_override		 o;
	struct audit_ovr_query		 q;
	const struct audit_override	*m;
	const char			*roles[] = { "analyst", "sales_rep" };
	const char			*fps[] = { "fpAAAAAAAAAAAAAAAAAAAA",
					    "fpBBBBBBBBBBBBBBBBBBBB" };
	char				 err[256], id1[40], id2[40], id3[40];
	char				 path[128];
	int64_t				 now;
	struct audit_rec		*r = audit_rec_new();
	const char			*body;
	size_t				 len, n;
	char				**v;

	/*
	 * Expiries leave a minute of slack: under the sanitizers on a loaded
	 * machine the fsync of each add can take a good part of a second.
	 */
	now = audit_now_ms();
	st = audit_ovr_open(f->dir, err, sizeof(err));
	assert_non_null(st);
	s = audit_ovr_snapshot(st);
	assert_int_equal(audit_ovr_live_until(s), 0);	/* none: no hook */
	audit_ovr_release(s);
	memset(&o, 0, sizeof(o));
	o.action = "allow";
	o.reason = "verified business contact";
	o.author = "alice";
	o.expires_ms = now + 3600 * 1000;
	o.rule = "reps-mask-contacts";
	o.path = "$.items[*].email";
	o.role = "sales_rep";
	assert_int_equal(audit_ovr_add(st, &o, id1, err, sizeof(err)), 0);
	assert_memory_equal(id1, "ovr-", 4);
	assert_int_equal(strlen(id1), 20);

	/* refused: no reason, unknown action, expiry in the past */
	o.reason = NULL;
	assert_int_equal(audit_ovr_add(st, &o, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "reason"));
	o.reason = " \t ";
	assert_int_equal(audit_ovr_add(st, &o, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "reason"));
	o.reason = "r";
	o.action = "yolo";
	assert_int_equal(audit_ovr_add(st, &o, NULL, err, sizeof(err)), -1);
	o.action = "deny";
	o.expires_ms = now - 1000;
	assert_int_equal(audit_ovr_add(st, &o, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "expires"));

	/* a second, narrower one by fingerprint and a path glob */
	memset(&o, 0, sizeof(o));
	o.action = "reclassify";
	o.reason = "test data, not personal";
	o.expires_ms = now + 60 * 1000;
	o.fingerprint = "a raw@example.com";	/* a value, not a fingerprint */
	assert_int_equal(audit_ovr_add(st, &o, id2, err, sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "never the value itself"));
	o.fingerprint = fps[1];
	o.path = "$.**.email";
	assert_int_equal(audit_ovr_add(st, &o, id2, err, sizeof(err)), 0);

	memset(&q, 0, sizeof(q));
	q.rule = "reps-mask-contacts";
	q.path = "$.items[*].email";
	q.roles = roles;
	q.nroles = 2;
	s = audit_ovr_snapshot(st);
	assert_int_equal(audit_ovr_count(s), 2);
	assert_int_equal(audit_ovr_live_until(s), now + 3600 * 1000);
	m = audit_ovr_match(s, &q, now);
	assert_non_null(m);
	assert_string_equal(m->id, id1);
	q.fingerprints = fps;
	q.nfingerprints = 2;
	m = audit_ovr_match(s, &q, now);
	assert_string_equal(m->id, id2);		/* the newest wins */
	assert_string_equal(audit_ovr_match(s, &q, now + 61 * 1000)->id, id1);
	assert_null(audit_ovr_match(s, &q, now + 7200 * 1000));	/* expired */
	q.nroles = 1;					/* analyst only */
	q.nfingerprints = 1;				/* fp-a only */
	assert_null(audit_ovr_match(s, &q, now));
	q.nroles = 2;
	q.path = "$.items[*].phone";
	assert_null(audit_ovr_match(s, &q, now));
	q.path = "$.a.b.email";
	q.nfingerprints = 2;
	q.rule = NULL;
	assert_string_equal(audit_ovr_match(s, &q, now)->id, id2);

	/* revoke: the old snapshot is untouched, the new one sees it */
	old = s;
	assert_int_equal(audit_ovr_revoke(st, id2, "alice", err, sizeof(err)), 0);
	assert_int_equal(audit_ovr_revoke(st, id2, "alice", err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(audit_ovr_revoke(st, "ovr-nope", "x", err, sizeof(err)), -1);
	assert_string_equal(audit_ovr_match(old, &q, now)->id, id2);
	s = audit_ovr_snapshot(st);
	assert_null(audit_ovr_match(s, &q, now));
	assert_true(audit_ovr_at(s, 1)->revoked_ms > 0);
	assert_int_equal(audit_ovr_live_until(s), now + 3600 * 1000);
	assert_string_equal(audit_ovr_at(s, 1)->revoked_by, "alice");
	assert_null(audit_ovr_at(s, 2));

	/* the record for the decision log */
	assert_int_equal(audit_ovr_record(r, audit_ovr_at(s, 0), "add"), 0);
	body = audit_rec_body(r, &len);
	assert_non_null(strstr(body, "\"type\":\"override\",\"op\":\"add\","));
	assert_non_null(strstr(body, "\"scope\":{\"rule\":\"reps-mask-contacts\","
	    "\"path\":\"$.items[*].email\",\"role\":\"sales_rep\"}"));
	audit_ovr_release(old);
	audit_ovr_release(s);
	audit_ovr_close(st);

	/* survives a restart */
	st = audit_ovr_open(f->dir, err, sizeof(err));
	assert_non_null(st);
	s = audit_ovr_snapshot(st);
	assert_int_equal(audit_ovr_count(s), 2);
	assert_string_equal(audit_ovr_at(s, 0)->id, id1);
	assert_string_equal(audit_ovr_at(s, 0)->reason, "verified business contact");
	assert_string_equal(audit_ovr_at(s, 0)->author, "alice");
	assert_true(audit_ovr_at(s, 1)->revoked_ms > 0);
	q.path = "$.items[*].email";
	q.rule = "reps-mask-contacts";
	assert_string_equal(audit_ovr_match(s, &q, now)->id, id1);
	audit_ovr_release(s);
	o.expires_ms = now + 120 * 1000;
	o.fingerprint = NULL;
	assert_int_equal(audit_ovr_add(st, &o, id3, err, sizeof(err)), 0);
	audit_ovr_close(st);

	/* the file is chained: an edit is refused at open */
	snprintf(path, sizeof(path), "%s/overrides.jsonl", f->dir);
	v = read_lines(path, &n);
	assert_int_equal(n, 4);
	memcpy(strstr(v[0], "alice"), "bobby", 5);
	write_lines(path, v, n);
	free_lines(v, n);
	assert_null(audit_ovr_open(f->dir, err, sizeof(err)));
	assert_non_null(strstr(err, "overrides.jsonl:1: hash mismatch"));
	audit_ovr_close(NULL);
	audit_ovr_release(NULL);
	audit_rec_free(r);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_rec_escaping),
		cmocka_unit_test(test_json_reader),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_pubkey_parse),
		cmocka_unit_test_setup_teardown(test_chain_and_signatures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_and_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_edit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_swap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_insert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_rewrite_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_cut_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_remove_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_remove_last_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_line_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_refuses_edited_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_writer_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_producers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_failure_and_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_gives_up_on_dead_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsync_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint_interval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signer_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overrides, setup, teardown),
	};

	return cmocka_run_group_tests_name("audit", tests, NULL, NULL);
}
