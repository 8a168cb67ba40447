/* tests/unit/test_keys.c — the keyring, token formats, rotation, retirement,
 * permission checks, rewrap, master key sources, fingerprints, signatures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "keys/keys.h"
#include "policies/errs.h"

struct fx {
	char			 tmp[64];
	char			 dir[128];
	char			 master[128];
	struct keys_master_src	 src;
	struct keys_ring	*ring;
	struct pol_errs		*errs;
};

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

/* Does any message in errs contain <needle>? */
static int
errs_has(const struct pol_errs *e, const char *needle)
{
	const char	*m;

	for (size_t i = 0; (m = pol_errs_get(e, i)) != NULL; i++)
		if (strstr(m, needle) != NULL)
			return 1;
	return 0;
}

static void
dump_errs(const struct pol_errs *e)
{
	pol_errs_print(e, stderr);
}

static struct keys_ring *
reopen(struct fx *f, unsigned flags)
{
	keys_close(f->ring);
	pol_errs_free(f->errs);
	f->errs = pol_errs_new();
	f->ring = keys_open(f->dir, &f->src, flags, f->errs);
	return f->ring;
}

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/custos-keys-XXXXXX");
	if (mkdtemp(f->tmp) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/var/keys", f->tmp);
	snprintf(f->master, sizeof(f->master), "%s/var/master.key", f->tmp);
	f->src.file = f->master;
	f->errs = pol_errs_new();
	if (keys_init(f->dir, &f->src, NULL, f->errs) != 0) {
		dump_errs(f->errs);
		return -1;
	}
	if (reopen(f, KEYS_OPEN_WRITE) == NULL) {
		dump_errs(f->errs);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;

	keys_close(f->ring);
	pol_errs_free(f->errs);
	rm_rf(f->tmp);
	free(f);
	return 0;
}

static mode_t
mode_of(const char *path)
{
	struct stat	 st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void
test_init_layout(void **state)
{
	struct fx	*f = *state;
	char		 p[256];
	static const struct {
		const char		*name;
		enum keys_purpose	 purpose;
	} want[] = {
		{ "audit", KEYS_P_AUDIT_SIGN }, { "fingerprint", KEYS_P_HASH },
		{ "hash", KEYS_P_HASH }, { "pii", KEYS_P_ENCRYPT },
		{ "tok", KEYS_P_TOKENIZE },
	};

	assert_int_equal(keys_count(f->ring), 5);
	for (size_t i = 0; i < 5; i++) {
		const struct keys_key	*k = keys_at(f->ring, i);
		struct keys_version_info info;

		assert_string_equal(keys_name(k), want[i].name);
		assert_int_equal(keys_purpose(k), want[i].purpose);
		assert_ptr_equal(keys_find(f->ring, want[i].name), k);
		assert_int_equal(keys_nversions(k), 1);
		assert_int_equal(keys_writer_version(k), 1);
		assert_int_equal(keys_version_info(k, 1, &info), 0);
		assert_int_equal(info.state, KEYS_V_ACTIVE);
		assert_true(info.created > 1700000000);
		assert_int_equal(keys_version_info(k, 2, &info), -1);
		snprintf(p, sizeof(p), "%s/%s.key", f->dir, want[i].name);
		assert_int_equal(mode_of(p), 0600);
	}
	assert_int_equal(mode_of(f->dir), 0700);
	assert_int_equal(mode_of(f->master), 0600);
	assert_null(keys_find(f->ring, "nope"));
	/* A second init refuses to overwrite. */
	assert_int_equal(keys_init(f->dir, &f->src, NULL, f->errs), -1);
	assert_true(errs_has(f->errs, "refusing to overwrite"));
}

static void
test_names_purposes(void **state)
{
	(void)state;
	assert_true(keys_name_valid("pii"));
	assert_true(keys_name_valid("a-b_C9"));
	assert_false(keys_name_valid(""));
	assert_false(keys_name_valid("a.b"));
	assert_false(keys_name_valid("a:b"));
	assert_false(keys_name_valid("a/b"));
	assert_false(keys_name_valid(NULL));
	assert_false(keys_name_valid(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_int_equal(keys_purpose_parse("tokenize"), KEYS_P_TOKENIZE);
	assert_int_equal(keys_purpose_parse("audit-sign"), KEYS_P_AUDIT_SIGN);
	assert_int_equal(keys_purpose_parse("sign"), 0);
	assert_string_equal(keys_purpose_name(KEYS_P_HASH), "hash");
	assert_null(keys_purpose_name(0));
	assert_string_equal(keys_strerror(KEYS_E_RETIRED),
	    "key version is retired");
}

static void
test_tokenize_roundtrip(void **state)
{
	struct fx		*f = *state;
	const struct keys_key	*tok = keys_find(f->ring, "tok");
	char			 t1[256], t2[256], t3[256], out[64];
	size_t			 l1, l2, l3, n;

	assert_int_equal(keys_tokenize(tok, "email", "ann@example.com", 15, t1,
	    sizeof(t1), &l1), KEYS_OK);
	assert_int_equal(strlen(t1), l1);
	assert_int_equal(strncmp(t1, "cus:v1:tok.1:", 13), 0);
	assert_true(l1 + 1 <= keys_token_size(tok, 15));
	/* Deterministic in the same class... */
	assert_int_equal(keys_tokenize(tok, "email", "ann@example.com", 15, t2,
	    sizeof(t2), &l2), KEYS_OK);
	assert_string_equal(t1, t2);
	/* ...different in another class, and for another value. */
	assert_int_equal(keys_tokenize(tok, "contact", "ann@example.com", 15,
	    t3, sizeof(t3), &l3), KEYS_OK);
	assert_string_not_equal(t1, t3);
	assert_int_equal(keys_tokenize(tok, "email", "ann@example.org", 15, t3,
	    sizeof(t3), &l3), KEYS_OK);
	assert_string_not_equal(t1, t3);

	assert_int_equal(keys_reveal(f->ring, "email", t1, l1, out, sizeof(out),
	    &n), KEYS_OK);
	assert_int_equal(n, 15);
	assert_memory_equal(out, "ann@example.com", 15);
	assert_true(keys_is_token(t1, l1));
	assert_false(keys_is_token("cus:v2:x", 8));

	/* Reopened from disk: the same token. */
	assert_non_null(reopen(f, 0));
	tok = keys_find(f->ring, "tok");
	assert_int_equal(keys_tokenize(tok, "email", "ann@example.com", 15, t2,
	    sizeof(t2), &l2), KEYS_OK);
	assert_string_equal(t1, t2);
}

static void
test_encrypt_roundtrip(void **state)
{
	struct fx		*f = *state;
	const struct keys_key	*pii = keys_find(f->ring, "pii");
	char			 t1[256], t2[256], out[64];
	size_t			 l1, l2, n;
	const char		 id[] = "110101199003074578";

	assert_int_equal(keys_encrypt(pii, "national_id", id, 18, t1,
	    sizeof(t1), &l1), KEYS_OK);
	assert_int_equal(strncmp(t1, "cus:v1:pii.1:", 13), 0);
	assert_int_equal(keys_encrypt(pii, "national_id", id, 18, t2,
	    sizeof(t2), &l2), KEYS_OK);
	assert_string_not_equal(t1, t2);	/* random nonce */
	assert_int_equal(keys_reveal(f->ring, "national_id", t1, l1, out,
	    sizeof(out), &n), KEYS_OK);
	assert_int_equal(n, 18);
	assert_memory_equal(out, id, 18);
	assert_int_equal(out[18], '\0');
	assert_int_equal(keys_reveal(f->ring, "national_id", t2, l2, out,
	    sizeof(out), &n), KEYS_OK);
	assert_memory_equal(out, id, 18);
	/* Wrong purposes. */
	assert_int_equal(keys_tokenize(pii, "x", "a", 1, t1, sizeof(t1), NULL),
	    KEYS_E_PURPOSE);
	assert_int_equal(keys_encrypt(keys_find(f->ring, "tok"), "x", "a", 1,
	    t1, sizeof(t1), NULL), KEYS_E_PURPOSE);
	assert_int_equal(keys_encrypt(NULL, "x", "a", 1, t1, sizeof(t1), NULL),
	    KEYS_E_PURPOSE);
}

static void
test_empty_and_large_values(void **state)
{
	struct fx		*f = *state;
	const struct keys_key	*tok = keys_find(f->ring, "tok");
	const struct keys_key	*pii = keys_find(f->ring, "pii");
	size_t			 big = 100000, cap, l, n;
	char			*v, *t, *out, e[128];

	assert_int_equal(keys_tokenize(tok, "c", "", 0, e, sizeof(e), &l),
	    KEYS_OK);
	assert_int_equal(keys_reveal(f->ring, "c", e, l, e + 100, 28, &n),
	    KEYS_OK);
	assert_int_equal(n, 0);

	v = malloc(big);
	assert_non_null(v);
	for (size_t i = 0; i < big; i++)
		v[i] = (char)(i * 7);
	cap = keys_token_size(pii, big);
	t = malloc(cap);
	out = malloc(keys_reveal_size(cap));
	assert_non_null(t);
	assert_non_null(out);
	assert_int_equal(keys_encrypt(pii, "notes", v, big, t, cap, &l), KEYS_OK);
	assert_int_equal(l + 1, cap);
	assert_int_equal(keys_reveal(f->ring, "notes", t, l, out,
	    keys_reveal_size(l), &n), KEYS_OK);
	assert_int_equal(n, big);
	assert_memory_equal(out, v, big);
	assert_int_equal(keys_tokenize(tok, "notes", v, big, t, cap, &l), KEYS_OK);
	assert_int_equal(keys_reveal(f->ring, "notes", t, l, out, big, &n),
	    KEYS_OK);
	assert_memory_equal(out, v, big);
	free(v);
	free(t);
	free(out);
}

/* Token payloads are canonical base64url without padding, exactly what
 * libsodium's URLSAFE_NO_PADDING codec reads and writes, for every length
 * remainder; a payload with stray low bits in its last character is not a
 * token. */
static void
test_payload_encoding(void **state)
{
	struct fx		*f = *state;
	const struct keys_key	*tok = keys_find(f->ring, "tok");
	uint8_t			 bin[256];
	char			 v[80], t[256], again[256], out[96];
	size_t			 l, n, bl, pre;
	char			*last;

	for (size_t len = 0; len < sizeof(v); len++) {
		memset(v, 'a' + (int)(len % 26), len);
		assert_int_equal(keys_tokenize(tok, "c", v, len, t, sizeof(t),
		    &l), KEYS_OK);
		pre = (size_t)(strchr(t + 7, ':') + 1 - t);
		assert_int_equal(sodium_base642bin(bin, sizeof(bin), t + pre,
		    l - pre, NULL, &bl, NULL,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
		assert_int_equal(bl, 24 + len + 16);
		sodium_bin2base64(again, sizeof(again), bin, bl,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		assert_string_equal(again, t + pre);
		assert_int_equal(keys_reveal(f->ring, "c", t, l, out, sizeof(out),
		    &n), KEYS_OK);
		assert_int_equal(n, len);
		assert_memory_equal(out, v, len);
		/* Stray bits in the last character (when it has unused
		 * bits): not canonical, so not a token. */
		if (bl % 3 != 0) {
			last = &t[l - 1];
			*last = *last == 'B' ? 'C' : 'B';	/* 1 or 2 */
			assert_int_equal(keys_reveal(f->ring, "c", t, l, out,
			    sizeof(out), &n), KEYS_E_FORMAT);
		}
	}
}

static void
test_reveal_errors(void **state)
{
	struct fx		*f = *state;
	const struct keys_key	*tok = keys_find(f->ring, "tok");
	char			 t[256], bad[256], out[64];
	size_t			 l, n;
	enum keys_status	 rc;
	static const char *const malformed[] = {
		"", "cus:v1:", "cus:v1:tok", "cus:v1:tok.1", "cus:v1:tok.1:",
		"cus:v1:tok.:AAAA", "cus:v1:tok.01:AAAA", "cus:v1:.1:AAAA",
		"cus:v1:tok.99999999999:AAAA", "cus:v2:tok.1:AAAA",
		"cus:v1:tok.1:AAAA", "cus:v1:tok.1:!!!!", "cus:v1:t/k.1:AAAA",
		"hello world", "cus:v1:tok.1:AAAA=",
	};

	assert_int_equal(keys_tokenize(tok, "phone", "+15551234567", 12, t,
	    sizeof(t), &l), KEYS_OK);

	/* Tampered: change one payload character (in the middle, so the
	 * base64 stays canonical). */
	memcpy(bad, t, l + 1);
	bad[l - 10] = bad[l - 10] == 'A' ? 'B' : 'A';
	assert_int_equal(keys_reveal(f->ring, "phone", bad, l, out, sizeof(out),
	    &n), KEYS_E_AUTH);
	assert_int_equal(n, 0);
	/* Wrong class. */
	assert_int_equal(keys_reveal(f->ring, "email", t, l, out, sizeof(out),
	    &n), KEYS_E_AUTH);
	/* Unknown key, unknown version. */
	snprintf(bad, sizeof(bad), "cus:v1:zzz.1:%s", strchr(t + 7, ':') + 1);
	assert_int_equal(keys_reveal(f->ring, "phone", bad, strlen(bad), out,
	    sizeof(out), &n), KEYS_E_UNKNOWN_KEY);
	snprintf(bad, sizeof(bad), "cus:v1:tok.7:%s", strchr(t + 7, ':') + 1);
	assert_int_equal(keys_reveal(f->ring, "phone", bad, strlen(bad), out,
	    sizeof(out), &n), KEYS_E_UNKNOWN_KEY);
	/* A hash key named in a token. */
	snprintf(bad, sizeof(bad), "cus:v1:hash.1:%s", strchr(t + 7, ':') + 1);
	assert_int_equal(keys_reveal(f->ring, "phone", bad, strlen(bad), out,
	    sizeof(out), &n), KEYS_E_PURPOSE);
	/* Not tokens. */
	for (size_t i = 0; i < sizeof(malformed) / sizeof(*malformed); i++)
		assert_int_equal(keys_reveal(f->ring, "phone", malformed[i],
		    strlen(malformed[i]), out, sizeof(out), &n), KEYS_E_FORMAT);
	/* Truncated token: cut by 4 characters it is usually not canonical
	 * base64 (FORMAT; 1 in 16 keys gives a canonical cut, then AUTH); cut
	 * by whole bytes it fails to authenticate. */
	rc = keys_reveal(f->ring, "phone", t, l - 4, out, sizeof(out), &n);
	assert_true(rc == KEYS_E_FORMAT || rc == KEYS_E_AUTH);
	{
		uint8_t		 bin[128];
		size_t		 bl, pre = (size_t)(strchr(t + 7, ':') + 1 - t);

		assert_int_equal(sodium_base642bin(bin, sizeof(bin), t + pre,
		    l - pre, NULL, &bl, NULL,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
		memcpy(bad, t, pre);
		sodium_bin2base64(bad + pre, sizeof(bad) - pre, bin, bl - 3,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		assert_int_equal(keys_reveal(f->ring, "phone", bad, strlen(bad),
		    out, sizeof(out), &n), KEYS_E_AUTH);
		/* Shorter than nonce + tag. */
		sodium_bin2base64(bad + pre, sizeof(bad) - pre, bin, 39,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		assert_int_equal(keys_reveal(f->ring, "phone", bad, strlen(bad),
		    out, sizeof(out), &n), KEYS_E_FORMAT);
	}
	/* Too little room: nothing of the value written. */
	memset(out, 'x', sizeof(out));
	assert_int_equal(keys_reveal(f->ring, "phone", t, l, out, 11, &n),
	    KEYS_E_SPACE);
	assert_int_equal(out[0], 'x');
	assert_int_equal(keys_reveal(f->ring, "phone", t, l, out, 12, &n),
	    KEYS_OK);
	assert_int_equal(keys_tokenize(tok, "phone", "+15551234567", 12, bad,
	    l, &n), KEYS_E_SPACE);
	assert_int_equal(keys_tokenize(tok, "phone", "+15551234567", 12, bad,
	    l + 1, &n), KEYS_OK);
	/* Error strings never hold the value. */
	for (int s = KEYS_OK; s <= KEYS_E_INTERNAL; s++)
		assert_null(strstr(keys_strerror(s), "555"));
}

static void
test_rotation(void **state)
{
	struct fx		*f = *state;
	const struct keys_key	*tok = keys_find(f->ring, "tok");
	const struct keys_key	*pii = keys_find(f->ring, "pii");
	char			 t1[256], e1[256], t2[256], out[64];
	size_t			 l1, le, l2, n;
	uint32_t		 v;

	assert_int_equal(keys_tokenize(tok, "email", "bo@x.io", 7, t1,
	    sizeof(t1), &l1), KEYS_OK);
	assert_int_equal(keys_encrypt(pii, "email", "bo@x.io", 7, e1,
	    sizeof(e1), &le), KEYS_OK);
	assert_int_equal(keys_rotate(f->ring, "tok", &v, f->errs), 0);
	assert_int_equal(v, 2);
	assert_int_equal(keys_rotate(f->ring, "pii", NULL, f->errs), 0);
	assert_int_equal(keys_rotate(f->ring, "nope", NULL, f->errs), -1);
	assert_true(errs_has(f->errs, "no key named nope"));

	assert_non_null(reopen(f, 0));
	tok = keys_find(f->ring, "tok");
	pii = keys_find(f->ring, "pii");
	assert_int_equal(keys_writer_version(tok), 2);
	assert_int_equal(keys_nversions(tok), 2);
	/* Old tokens still read. */
	assert_int_equal(keys_reveal(f->ring, "email", t1, l1, out, sizeof(out),
	    &n), KEYS_OK);
	assert_memory_equal(out, "bo@x.io", 7);
	assert_int_equal(keys_reveal(f->ring, "email", e1, le, out, sizeof(out),
	    &n), KEYS_OK);
	assert_memory_equal(out, "bo@x.io", 7);
	/* New ones are written under version 2 (and differ from v1's). */
	assert_int_equal(keys_tokenize(tok, "email", "bo@x.io", 7, t2,
	    sizeof(t2), &l2), KEYS_OK);
	assert_int_equal(strncmp(t2, "cus:v1:tok.2:", 13), 0);
	assert_int_equal(keys_encrypt(pii, "email", "bo@x.io", 7, t2,
	    sizeof(t2), &l2), KEYS_OK);
	assert_int_equal(strncmp(t2, "cus:v1:pii.2:", 13), 0);
	/* A read-only ring cannot change. */
	assert_int_equal(keys_rotate(f->ring, "tok", NULL, f->errs), -1);
	assert_true(errs_has(f->errs, "read-only"));
}

static void
test_retire(void **state)
{
	struct fx		*f = *state;
	const struct keys_key	*tok = keys_find(f->ring, "tok");
	char			 t1[256], t2[256], out[64];
	size_t			 l1, l2, n;

	assert_int_equal(keys_tokenize(tok, "email", "cy@x.io", 7, t1,
	    sizeof(t1), &l1), KEYS_OK);
	/* The last active version cannot be retired. */
	assert_int_equal(keys_retire(f->ring, "tok", 1, f->errs), -1);
	assert_true(errs_has(f->errs, "rotate first"));
	assert_int_equal(keys_rotate(f->ring, "tok", NULL, f->errs), 0);
	assert_int_equal(keys_tokenize(tok, "email", "cy@x.io", 7, t2,
	    sizeof(t2), &l2), KEYS_OK);
	assert_int_equal(keys_retire(f->ring, "tok", 1, f->errs), 0);
	assert_int_equal(keys_retire(f->ring, "tok", 1, f->errs), 0);
	assert_int_equal(keys_retire(f->ring, "tok", 9, f->errs), -1);
	assert_int_equal(keys_reveal(f->ring, "email", t1, l1, out, sizeof(out),
	    &n), KEYS_E_RETIRED);

	assert_non_null(reopen(f, 0));
	tok = keys_find(f->ring, "tok");
	struct keys_version_info info;
	assert_int_equal(keys_version_info(tok, 1, &info), 0);
	assert_int_equal(info.state, KEYS_V_RETIRED);
	assert_string_equal(info.id, "tok.1");
	assert_int_equal(keys_reveal(f->ring, "email", t1, l1, out, sizeof(out),
	    &n), KEYS_E_RETIRED);
	assert_int_equal(keys_reveal(f->ring, "email", t2, l2, out, sizeof(out),
	    &n), KEYS_OK);
	assert_memory_equal(out, "cy@x.io", 7);
}

static void
test_permissions(void **state)
{
	struct fx	*f = *state;
	char		 p[256], want[600];

	keys_close(f->ring);
	f->ring = NULL;
	snprintf(p, sizeof(p), "%s/pii.key", f->dir);
	assert_int_equal(chmod(p, 0644), 0);
	assert_null(reopen(f, 0));
	snprintf(want, sizeof(want), "%s: error: mode 0644 lets group or "
	    "others access it; fix: chmod 600 %s", p, p);
	assert_true(errs_has(f->errs, want));
	assert_int_equal(chmod(p, 0600), 0);

	assert_int_equal(chmod(f->master, 0640), 0);
	assert_null(reopen(f, 0));
	snprintf(want, sizeof(want), "fix: chmod 600 %s", f->master);
	assert_true(errs_has(f->errs, want));
	assert_int_equal(chmod(f->master, 0600), 0);

	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_null(reopen(f, 0));
	snprintf(want, sizeof(want), "fix: chmod 700 %s", f->dir);
	assert_true(errs_has(f->errs, want));
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_non_null(reopen(f, 0));
}

static void
write_text(const char *path, const char *text, mode_t mode)
{
	FILE	*fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

/* Reads a whole (small) file into buf. */
static size_t
read_text(const char *path, char *buf, size_t cap)
{
	FILE	*fp = fopen(path, "r");
	size_t	 n;

	assert_non_null(fp);
	n = fread(buf, 1, cap - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return n;
}

static void
test_tamper_and_wrong_master(void **state)
{
	struct fx	*f = *state;
	char		 p[256], text[4096], *s;

	assert_int_equal(keys_rotate(f->ring, "tok", NULL, f->errs), 0);
	assert_int_equal(keys_retire(f->ring, "tok", 1, f->errs), 0);
	keys_close(f->ring);
	f->ring = NULL;

	/* Un-retiring a version by editing the file is detected. */
	snprintf(p, sizeof(p), "%s/tok.key", f->dir);
	read_text(p, text, sizeof(text));
	assert_non_null(s = strstr(text, "retired"));
	memcpy(s, "active ", 7);
	memmove(s + 6, s + 7, strlen(s + 7) + 1);
	write_text(p, text, 0600);
	assert_null(reopen(f, 0));
	snprintf(text, sizeof(text), "%s: error: fails its integrity check", p);
	assert_true(errs_has(f->errs, text));
	unlink(p);

	/* Another master key. */
	write_text(f->master, "0000000000000000000000000000000000000000000000000"
	    "000000000000000\n", 0600);
	assert_null(reopen(f, 0));
	assert_true(errs_has(f->errs, "integrity check"));
	write_text(f->master, "abc\n", 0600);
	assert_null(reopen(f, 0));
	assert_true(errs_has(f->errs, "64 hexadecimal characters"));
	unlink(f->master);
	assert_null(reopen(f, 0));
	assert_true(errs_has(f->errs, "cannot open"));
}

static void
test_raw_master_and_env(void **state)
{
	struct fx		*f = *state;
	struct keys_master_src	 env = { NULL, "CUSTOS_TEST_MASTER" };
	char			 dir2[256], hex[65], t[256], out[32];
	uint8_t			 raw[32];
	size_t			 l, n;
	int			 fd;

	/* A raw 32-byte master file. */
	randombytes_buf(raw, sizeof(raw));
	unlink(f->master);
	fd = open(f->master, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, raw, 32), 32);
	close(fd);
	snprintf(dir2, sizeof(dir2), "%s/raw", f->tmp);
	assert_int_equal(keys_init(dir2, &f->src, NULL, f->errs), 0);
	keys_close(f->ring);
	f->ring = keys_open(dir2, &f->src, 0, f->errs);
	assert_non_null(f->ring);

	/* The same key as hex in an environment variable. */
	sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
	setenv("CUSTOS_TEST_MASTER", hex, 1);
	keys_close(f->ring);
	f->ring = keys_open(dir2, &env, 0, f->errs);
	assert_non_null(f->ring);
	assert_int_equal(keys_tokenize(keys_find(f->ring, "tok"), "c", "v", 1,
	    t, sizeof(t), &l), KEYS_OK);
	assert_int_equal(keys_reveal(f->ring, "c", t, l, out, sizeof(out), &n),
	    KEYS_OK);

	/* A keyring made with the environment variable. */
	snprintf(dir2, sizeof(dir2), "%s/env", f->tmp);
	assert_int_equal(keys_init(dir2, &env, NULL, f->errs), 0);
	keys_close(f->ring);
	f->ring = keys_open(dir2, &env, 0, f->errs);
	assert_non_null(f->ring);
	unsetenv("CUSTOS_TEST_MASTER");
	keys_close(f->ring);
	f->ring = keys_open(dir2, &env, 0, f->errs);
	assert_null(f->ring);
	assert_true(errs_has(f->errs, "CUSTOS_TEST_MASTER is not set"));
	setenv("CUSTOS_TEST_MASTER", "zz", 1);
	assert_null(keys_open(dir2, &env, 0, f->errs));
	unsetenv("CUSTOS_TEST_MASTER");
}

/* A master key file kept inside the keyring directory, even one named like a
 * key file, is not read as a key. */
static void
test_master_in_dir(void **state)
{
	struct fx		*f = *state;
	struct keys_master_src	 src;
	char			 dir2[256], m2[300];

	snprintf(dir2, sizeof(dir2), "%s/inside", f->tmp);
	snprintf(m2, sizeof(m2), "%s/master.key", dir2);
	src.file = m2;
	src.env = NULL;
	assert_int_equal(keys_init(dir2, &src, NULL, f->errs), 0);
	keys_close(f->ring);
	f->ring = keys_open(dir2, &src, 0, f->errs);
	assert_non_null(f->ring);
	assert_int_equal(keys_count(f->ring), 5);
	assert_null(keys_find(f->ring, "master"));
}

static void
test_passphrase(void **state)
{
	struct fx		*f = *state;
	struct keys_init_opts	 o = { 1, crypto_pwhash_OPSLIMIT_MIN,
				    crypto_pwhash_MEMLIMIT_MIN };
	struct keys_master_src	 src, env = { NULL, "CUSTOS_TEST_PASS" };
	char			 dir2[256], pass[256], t[256], out[32];
	size_t			 l, n;

	snprintf(dir2, sizeof(dir2), "%s/pw", f->tmp);
	snprintf(pass, sizeof(pass), "%s/pass", f->tmp);
	src.file = pass;
	src.env = NULL;
	/* The passphrase must exist first. */
	assert_int_equal(keys_init(dir2, &src, &o, f->errs), -1);
	write_text(pass, "correct horse battery staple\n", 0600);
	assert_int_equal(keys_init(dir2, &src, &o, f->errs), 0);
	keys_close(f->ring);
	f->ring = keys_open(dir2, &src, 0, f->errs);
	assert_non_null(f->ring);
	assert_int_equal(keys_tokenize(keys_find(f->ring, "tok"), "c", "v", 1,
	    t, sizeof(t), &l), KEYS_OK);

	/* The same passphrase from the environment. */
	setenv("CUSTOS_TEST_PASS", "correct horse battery staple", 1);
	keys_close(f->ring);
	f->ring = keys_open(dir2, &env, 0, f->errs);
	assert_non_null(f->ring);
	assert_int_equal(keys_reveal(f->ring, "c", t, l, out, sizeof(out), &n),
	    KEYS_OK);
	assert_memory_equal(out, "v", 1);

	/* A wrong passphrase. */
	setenv("CUSTOS_TEST_PASS", "correct horse battery stapler", 1);
	keys_close(f->ring);
	f->ring = keys_open(dir2, &env, 0, f->errs);
	assert_null(f->ring);
	assert_true(errs_has(f->errs, "integrity check"));
	unsetenv("CUSTOS_TEST_PASS");
}

static void
test_hash(void **state)
{
	struct fx		*f = *state;
	const struct keys_key	*h = keys_find(f->ring, "hash");
	char			 a[KEYS_HASH_MAX], b[KEYS_HASH_MAX];
	size_t			 la, lb;

	assert_int_equal(keys_hash(h, "ann@example.com", 15, a, sizeof(a), &la),
	    KEYS_OK);
	assert_int_equal(strncmp(a, "hash.1:", 7), 0);
	assert_int_equal(la, 7 + 43);
	assert_int_equal(keys_hash(h, "ann@example.com", 15, b, sizeof(b), &lb),
	    KEYS_OK);
	assert_string_equal(a, b);
	assert_int_equal(keys_hash(h, "ann@example.org", 15, b, sizeof(b), &lb),
	    KEYS_OK);
	assert_string_not_equal(a, b);
	assert_int_equal(keys_hash(h, "x", 1, b, 20, &lb), KEYS_E_SPACE);
	assert_int_equal(keys_hash(keys_find(f->ring, "tok"), "x", 1, b,
	    sizeof(b), &lb), KEYS_E_PURPOSE);
	assert_int_equal(keys_rotate(f->ring, "hash", NULL, f->errs), 0);
	assert_int_equal(keys_hash(h, "ann@example.com", 15, b, sizeof(b), &lb),
	    KEYS_OK);
	assert_int_equal(strncmp(b, "hash.2:", 7), 0);
	assert_string_not_equal(a + 7, b + 7);
}

static void
test_fingerprint(void **state)
{
	struct fx	*f = *state;
	char		 a[KEYS_FP_LEN + 1], b[KEYS_FP_LEN + 1];

	assert_int_equal(keys_fingerprint(f->ring, "+15551234567", 12, a), 0);
	assert_int_equal(strlen(a), KEYS_FP_LEN);
	assert_null(strpbrk(a, "+/="));
	assert_int_equal(keys_fingerprint(f->ring, "+15551234567", 12, b), 0);
	assert_string_equal(a, b);
	assert_int_equal(keys_fingerprint(f->ring, "+15551234568", 12, b), 0);
	assert_string_not_equal(a, b);
	/* Stable across restarts, and not the "hash" key's value. */
	assert_non_null(reopen(f, 0));
	assert_int_equal(keys_fingerprint(f->ring, "+15551234567", 12, b), 0);
	assert_string_equal(a, b);
	assert_int_equal(keys_fingerprint(NULL, "x", 1, b), -1);
	assert_string_equal(b, "");
}

/* keys_fingerprints: every version that still reads, the writer's first,
 * so that opt-outs kept by fingerprint outlive a rotation. */
static void
test_fingerprint_versions(void **state)
{
	struct fx	*f = *state;
	char		 a[KEYS_FP_LEN + 1], v[4][KEYS_FP_LEN + 1];

	assert_int_equal(keys_fingerprint(f->ring, "ann@x.io", 8, a), 0);
	assert_int_equal(keys_fingerprints(f->ring, "ann@x.io", 8, v, 4), 1);
	assert_string_equal(v[0], a);
	assert_int_equal(keys_rotate(f->ring, "fingerprint", NULL, f->errs), 0);
	assert_int_equal(keys_rotate(f->ring, "fingerprint", NULL, f->errs), 0);
	assert_non_null(reopen(f, KEYS_OPEN_WRITE));
	assert_int_equal(keys_fingerprints(f->ring, "ann@x.io", 8, v, 4), 3);
	assert_string_not_equal(v[0], a);
	assert_string_not_equal(v[1], a);
	assert_string_equal(v[2], a);			/* newest first */
	assert_int_equal(keys_fingerprint(f->ring, "ann@x.io", 8, a), 0);
	assert_string_equal(v[0], a);
	assert_int_equal(keys_fingerprints(f->ring, "ann@x.io", 8, v, 2), 2);
	assert_int_equal(keys_retire(f->ring, "fingerprint", 1, f->errs), 0);
	assert_non_null(reopen(f, KEYS_OPEN_WRITE));
	assert_int_equal(keys_fingerprints(f->ring, "ann@x.io", 8, v, 4), 2);
	assert_int_equal(keys_fingerprints(f->ring, "ann@x.io", 8, v, 0), 0);
	assert_int_equal(keys_fingerprints(NULL, "ann@x.io", 8, v, 4), 0);
}

/* keys_fingerprint_cached gives what keys_fingerprint gives: for more
 * values than the memo holds, seen twice, after a rotation of the
 * fingerprint key, and with another ring. */
static void
test_fingerprint_cached(void **state)
{
	struct fx		*f = *state;
	struct keys_fpcache	*c = keys_fpcache_new();
	struct keys_ring	*other;
	char			 a[KEYS_FP_LEN + 1], b[KEYS_FP_LEN + 1];
	char			 old[KEYS_FP_LEN + 1], v[32], dir[600];
	int			 n;

	assert_non_null(c);
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < 5000; i++) {
			n = snprintf(v, sizeof(v), "user%d@example.com", i % 3000);
			assert_int_equal(keys_fingerprint_cached(f->ring, c, v,
			    (size_t)n, a), 0);
			assert_int_equal(keys_fingerprint(f->ring, v, (size_t)n,
			    b), 0);
			assert_string_equal(a, b);
		}
	/* the empty value, and no memo at all */
	assert_int_equal(keys_fingerprint_cached(f->ring, c, "", 0, a), 0);
	assert_int_equal(keys_fingerprint(f->ring, "", 0, b), 0);
	assert_string_equal(a, b);
	assert_int_equal(keys_fingerprint_cached(f->ring, NULL, "x", 1, a), 0);
	assert_int_equal(keys_fingerprint(f->ring, "x", 1, b), 0);
	assert_string_equal(a, b);
	assert_int_equal(keys_fingerprint_cached(NULL, c, "x", 1, a), -1);
	assert_string_equal(a, "");

	/* a new writer of the fingerprint key: new fingerprints */
	assert_int_equal(keys_fingerprint_cached(f->ring, c, "ann", 3, old), 0);
	assert_int_equal(keys_rotate(f->ring, "fingerprint", NULL, f->errs), 0);
	assert_int_equal(keys_fingerprint_cached(f->ring, c, "ann", 3, a), 0);
	assert_int_equal(keys_fingerprint(f->ring, "ann", 3, b), 0);
	assert_string_equal(a, b);
	assert_string_not_equal(a, old);

	/* another keyring (other keys) through the same memo */
	snprintf(dir, sizeof(dir), "%s/var/keys2", f->tmp);
	assert_int_equal(keys_init(dir, &f->src, NULL, f->errs), 0);
	assert_non_null(other = keys_open(dir, &f->src, 0, f->errs));
	assert_int_equal(keys_fingerprint_cached(other, c, "ann", 3, a), 0);
	assert_int_equal(keys_fingerprint(other, "ann", 3, b), 0);
	assert_string_equal(a, b);
	assert_string_not_equal(a, old);
	assert_int_equal(keys_fingerprint_cached(f->ring, c, "ann", 3, a), 0);
	assert_int_equal(keys_fingerprint(f->ring, "ann", 3, b), 0);
	assert_string_equal(a, b);
	keys_close(other);
	keys_fpcache_free(c);
	keys_fpcache_free(NULL);
}

static void
test_audit_sign(void **state)
{
	struct fx	*f = *state;
	uint8_t		 sig[KEYS_SIG_BYTES], sig2[KEYS_SIG_BYTES];
	uint8_t		 pk[KEYS_PK_BYTES], pk2[KEYS_PK_BYTES];
	char		 line[KEYS_PUBLIC_MAX], b64[64];
	const char	*id, *id2;
	size_t		 bin;
	const char	 msg[] = "head=abc count=1000";

	assert_int_equal(keys_sign_audit(f->ring, msg, sizeof(msg) - 1, sig,
	    &id), 0);
	assert_string_equal(id, "audit.1");
	assert_int_equal(keys_audit_public(f->ring, NULL, 0, pk, &id2), 0);
	assert_string_equal(id2, "audit.1");
	assert_int_equal(crypto_sign_verify_detached(sig, (const uint8_t *)msg,
	    sizeof(msg) - 1, pk), 0);
	assert_int_equal(keys_verify_audit(f->ring, "audit.1", msg,
	    sizeof(msg) - 1, sig), 0);
	assert_int_equal(keys_verify_audit(f->ring, "audit.1", msg,
	    sizeof(msg) - 2, sig), -1);

	/* The one-line export: ed25519:KEYID:BASE64URL(pk). */
	assert_int_equal(keys_export_public(f->ring, NULL, 0, line,
	    sizeof(line)), 0);
	assert_int_equal(strncmp(line, "ed25519:audit.1:", 16), 0);
	assert_int_equal(strlen(line), 16 + 43);
	assert_int_equal(sodium_base642bin(pk2, sizeof(pk2), line + 16, 43, NULL,
	    &bin, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	assert_int_equal(bin, 32);
	assert_memory_equal(pk, pk2, 32);
	assert_int_equal(keys_export_public(f->ring, keys_find(f->ring, "pii"),
	    0, line, sizeof(line)), -1);
	assert_int_equal(keys_export_public(f->ring, NULL, 0, line, 20), -1);

	/* After rotation and retirement: new signer, old signatures verify. */
	assert_int_equal(keys_rotate(f->ring, "audit", NULL, f->errs), 0);
	assert_int_equal(keys_retire(f->ring, "audit", 1, f->errs), 0);
	assert_non_null(reopen(f, 0));
	assert_int_equal(keys_sign_audit(f->ring, msg, sizeof(msg) - 1, sig2,
	    &id), 0);
	assert_string_equal(id, "audit.2");
	assert_int_equal(keys_verify_audit(f->ring, "audit.1", msg,
	    sizeof(msg) - 1, sig), 0);
	assert_int_equal(keys_verify_audit(f->ring, "audit.2", msg,
	    sizeof(msg) - 1, sig2), 0);
	assert_int_equal(keys_verify_audit(f->ring, "audit.2", msg,
	    sizeof(msg) - 1, sig), -1);
	assert_int_equal(keys_audit_public(f->ring, NULL, 1, pk2, &id2), 0);
	assert_memory_equal(pk, pk2, 32);
	assert_int_equal(keys_export_public(f->ring, NULL, 1, line,
	    sizeof(line)), 0);
	sodium_bin2base64(b64, sizeof(b64), pk, 32,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	assert_string_equal(line + 16, b64);
}

static void
test_rewrap(void **state)
{
	struct fx		*f = *state;
	const struct keys_key	*tok = keys_find(f->ring, "tok");
	const struct keys_key	*pii = keys_find(f->ring, "pii");
	char			 t1[256], e1[256], r1[256], r2[256], out[64];
	size_t			 l1, le, lr, n;
	int			 changed;

	assert_int_equal(keys_tokenize(tok, "email", "di@x.io", 7, t1,
	    sizeof(t1), &l1), KEYS_OK);
	assert_int_equal(keys_encrypt(pii, "email", "di@x.io", 7, e1,
	    sizeof(e1), &le), KEYS_OK);
	/* Already current: unchanged. */
	assert_int_equal(keys_rewrap(f->ring, "email", t1, l1, r1, sizeof(r1),
	    &lr, &changed), KEYS_OK);
	assert_int_equal(changed, 0);
	assert_string_equal(r1, t1);

	assert_int_equal(keys_rotate(f->ring, "tok", NULL, f->errs), 0);
	assert_int_equal(keys_rotate(f->ring, "pii", NULL, f->errs), 0);
	assert_int_equal(keys_rewrap(f->ring, "email", t1, l1, r1, sizeof(r1),
	    &lr, &changed), KEYS_OK);
	assert_int_equal(changed, 1);
	assert_int_equal(strncmp(r1, "cus:v1:tok.2:", 13), 0);
	/* The rewrapped token is the one tokenize now gives (joins hold). */
	assert_int_equal(keys_tokenize(tok, "email", "di@x.io", 7, r2,
	    sizeof(r2), NULL), KEYS_OK);
	assert_string_equal(r1, r2);
	assert_int_equal(keys_reveal(f->ring, "email", r1, lr, out, sizeof(out),
	    &n), KEYS_OK);
	assert_memory_equal(out, "di@x.io", 7);

	assert_int_equal(keys_rewrap(f->ring, "email", e1, le, r1, sizeof(r1),
	    &lr, &changed), KEYS_OK);
	assert_int_equal(changed, 1);
	assert_int_equal(strncmp(r1, "cus:v1:pii.2:", 13), 0);
	assert_int_equal(keys_reveal(f->ring, "email", r1, lr, out, sizeof(out),
	    &n), KEYS_OK);
	assert_memory_equal(out, "di@x.io", 7);

	/* Wrong class and retired versions fail the same way as reveal. */
	assert_int_equal(keys_rewrap(f->ring, "phone", e1, le, r1, sizeof(r1),
	    &lr, &changed), KEYS_E_AUTH);
	assert_int_equal(changed, 0);
	assert_int_equal(keys_retire(f->ring, "pii", 1, f->errs), 0);
	assert_int_equal(keys_rewrap(f->ring, "email", e1, le, r1, sizeof(r1),
	    &lr, &changed), KEYS_E_RETIRED);
	assert_int_equal(keys_rewrap(f->ring, "email", t1, l1, r1, 10, &lr,
	    &changed), KEYS_E_SPACE);
}

static void
test_new_key(void **state)
{
	struct fx	*f = *state;
	char		 t[256], out[32];
	size_t		 l, n;

	assert_int_equal(keys_new(f->ring, "crm-ids", KEYS_P_TOKENIZE, f->errs),
	    0);
	assert_int_equal(keys_new(f->ring, "crm-ids", KEYS_P_HASH, f->errs), -1);
	assert_true(errs_has(f->errs, "already exists"));
	assert_int_equal(keys_new(f->ring, "bad.name", KEYS_P_HASH, f->errs), -1);
	assert_int_equal(keys_new(f->ring, "x", 0, f->errs), -1);
	assert_int_equal(keys_count(f->ring), 6);
	assert_non_null(reopen(f, 0));
	assert_int_equal(keys_count(f->ring), 6);
	assert_int_equal(keys_tokenize(keys_find(f->ring, "crm-ids"), "id",
	    "42", 2, t, sizeof(t), &l), KEYS_OK);
	assert_int_equal(strncmp(t, "cus:v1:crm-ids.1:", 17), 0);
	assert_int_equal(keys_reveal(f->ring, "id", t, l, out, sizeof(out), &n),
	    KEYS_OK);
	assert_memory_equal(out, "42", 2);
}

struct thr {
	const struct keys_ring	*ring;
	int			 ok;
};

static void *
thr_main(void *arg)
{
	struct thr		*a = arg;
	const struct keys_key	*tok = keys_find(a->ring, "tok");
	char			 v[32], t[256], out[64];
	size_t			 vl, l, n;

	a->ok = 1;
	for (int i = 0; i < 2000; i++) {
		vl = (size_t)snprintf(v, sizeof(v), "value-%d", i);
		if (keys_tokenize(tok, "c", v, vl, t, sizeof(t), &l) != KEYS_OK ||
		    keys_reveal(a->ring, "c", t, l, out, sizeof(out), &n) !=
		    KEYS_OK || n != vl || memcmp(out, v, vl) != 0)
			a->ok = 0;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct fx	*f = *state;
	pthread_t	 th[4];
	struct thr	 a[4];

	assert_non_null(reopen(f, 0));
	for (int i = 0; i < 4; i++) {
		a[i].ring = f->ring;
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_true(a[i].ok);
	}
}

static void
test_harden(void **state)
{
	(void)state;
	assert_int_equal(keys_harden_process(), 0);
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_layout, setup, teardown),
		cmocka_unit_test(test_names_purposes),
		cmocka_unit_test_setup_teardown(test_tokenize_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_encrypt_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_large_values,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_payload_encoding, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reveal_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper_and_wrong_master,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_master_and_env, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_master_in_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_passphrase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fingerprint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fingerprint_versions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fingerprint_cached, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_audit_sign, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test(test_harden),
	};

	return cmocka_run_group_tests_name("keys", tests, NULL, NULL);
}
