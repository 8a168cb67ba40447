/* tests/fuzz/fuzz_token.c — libFuzzer target for the token parser and the
 * token round trips of keys/.
 *
 * The first input byte picks a mode:
 *   0  the rest is a token: reveal and rewrap must fail cleanly or succeed,
 *      never crash, and never write past their output buffers
 *   1  the rest is a value: tokenize, reveal, and compare
 *   2  the rest is a value: encrypt, reveal, and compare
 *   3  byte 1 picks a position, byte 2 a bit pattern, the rest is a value:
 *      tokenize, change that one byte of the token, and check that the
 *      changed token does not reveal
 * The fourth and fifth bits of the first byte pick the class.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys/keys.h"
#include "policies/errs.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fuzzer's one ring, made in a temporary directory at start-up; written
 * once by LLVMFuzzerInitialize, read-only afterwards. */
static struct keys_ring	*fz_ring;
static char		 fz_tmp[] = "/tmp/custos-fuzz-keys-XXXXXX";

static void
fz_cleanup(void)
{
	char		 p[256];
	struct dirent	*de;
	DIR		*d;

	keys_close(fz_ring);
	snprintf(p, sizeof(p), "%s/keys", fz_tmp);
	if ((d = opendir(p)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/keys/%s", fz_tmp, de->d_name);
			unlink(p);
		}
		closedir(d);
	}
	snprintf(p, sizeof(p), "%s/keys", fz_tmp);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/master.key", fz_tmp);
	unlink(p);
	rmdir(fz_tmp);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct keys_master_src	 src;
	struct pol_errs		*errs = pol_errs_new();
	char			 dir[128], master[128];

	(void)argc;
	(void)argv;
	if (mkdtemp(fz_tmp) == NULL)
		abort();
	snprintf(dir, sizeof(dir), "%s/keys", fz_tmp);
	snprintf(master, sizeof(master), "%s/master.key", fz_tmp);
	src.file = master;
	src.env = NULL;
	if (keys_init(dir, &src, NULL, errs) != 0 ||
	    (fz_ring = keys_open(dir, &src, KEYS_OPEN_WRITE, errs)) == NULL) {
		pol_errs_print(errs, stderr);
		abort();
	}
	/* Two versions of tok, the first retired; two of pii, both active. */
	if (keys_rotate(fz_ring, "tok", NULL, errs) != 0 ||
	    keys_retire(fz_ring, "tok", 1, errs) != 0 ||
	    keys_rotate(fz_ring, "pii", NULL, errs) != 0)
		abort();
	pol_errs_free(errs);
	atexit(fz_cleanup);
	return 0;
}

static const char *const classes[] = { "email", "phone", "", "national_id" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct keys_key	*k;
	const char		*cls;
	char			*tok, *out;
	size_t			 cap, tl, n;
	enum keys_status	 rc;
	int			 mode, changed;

	if (size < 1)
		return 0;
	mode = data[0] & 3;
	cls = classes[(data[0] >> 3) & 3];
	data++;
	size--;

	if (mode == 0) {
		/* Exact-size buffers so ASan sees any overrun. */
		cap = keys_reveal_size(size);
		out = malloc(cap ? cap : 1);
		if (out == NULL)
			return 0;
		rc = keys_reveal(fz_ring, cls, (const char *)data, size, out, cap,
		    &n);
		if (rc == KEYS_OK && n > cap)
			abort();
		free(out);
		cap = size + 256;
		if ((out = malloc(cap)) == NULL)
			return 0;
		rc = keys_rewrap(fz_ring, cls, (const char *)data, size, out, cap,
		    &n, &changed);
		if (rc == KEYS_OK && (n >= cap || out[n] != '\0'))
			abort();
		free(out);
		return 0;
	}

	if (mode == 3 && size < 2)
		return 0;
	k = keys_find(fz_ring, mode == 2 ? "pii" : "tok");
	cap = keys_token_size(k, size);
	tok = malloc(cap);
	out = malloc(size + 1);
	if (tok == NULL || out == NULL)
		goto done;
	rc = mode == 2 ? keys_encrypt(k, cls, data, size, tok, cap, &tl) :
	    keys_tokenize(k, cls, data, size, tok, cap, &tl);
	if (rc != KEYS_OK || tl + 1 != cap || tok[tl] != '\0')
		abort();
	if (mode == 3) {
		size_t	 pos = data[0] % tl;

		tok[pos] ^= (char)(data[1] | 1);
		rc = keys_reveal(fz_ring, cls, tok, tl, out, size + 1, &n);
		if (rc == KEYS_OK)
			abort();	/* a changed token must not reveal */
		goto done;
	}
	rc = keys_reveal(fz_ring, cls, tok, tl, out, size, &n);
	if (rc != KEYS_OK || n != size || memcmp(out, data, size) != 0)
		abort();
done:
	free(tok);
	free(out);
	return 0;
}
