/* tests/fuzz/fuzz_outreach.c — libFuzzer target for what strangers can send
 * to the outreach code: the token of the public unsubscribe link, and the
 * recipient values of message bodies.
 *
 * The first input byte picks a mode:
 *   0  the rest is a token: checking it must fail cleanly or give a valid
 *      fingerprint, never crash or read past it
 *   1  the rest is a recipient value: normalising it must stay inside the
 *      buffer (an exact-size one too), and be idempotent (a normalised
 *      address normalises to itself: one person, one counter)
 *   2  the rest is a value: its fingerprint's token must check, and the same
 *      token with one byte changed (byte 1 picks where) must not
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys/keys.h"
#include "policies/errs.h"
#include "policies/policies.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW	1790000000	/* 2026-09-21 */

static const char fz_policy[] =
    "outreach:\n"
    "  routes: [{match: \"POST /api/messages\", recipient: \"$.to\"}]\n"
    "  automated: {roles: [marketing]}\n"
    "  limits: [{id: daily, max: 1, window: 24h}]\n"
    "  default_country: \"+49\"\n"
    "  unsubscribe: {key: hash, ttl: 30d}\n";

/* Made once by LLVMFuzzerInitialize, read-only afterwards. */
static struct keys_ring		*fz_ring;
static struct pol_policy	*fz_pol;
static const struct pol_outreach *fz_or;
static char			 fz_tmp[] = "/tmp/custos-fuzz-or-XXXXXX";

static void
fz_cleanup(void)
{
	char		 p[256];
	struct dirent	*de;
	DIR		*d;

	pol_policy_free(fz_pol);
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
	struct pol_env		 env;
	char			 dir[128], master[128];

	(void)argc;
	(void)argv;
	if (mkdtemp(fz_tmp) == NULL)
		abort();
	snprintf(dir, sizeof(dir), "%s/keys", fz_tmp);
	snprintf(master, sizeof(master), "%s/master.key", fz_tmp);
	src.file = master;
	src.env = NULL;
	memset(&env, 0, sizeof(env));
	if (keys_init(dir, &src, NULL, errs) != 0 ||
	    (fz_ring = keys_open(dir, &src, 0, errs)) == NULL)
		goto fail;
	env.ring = fz_ring;
	if ((fz_pol = pol_policy_load_mem("fuzz.yaml", fz_policy,
	    sizeof(fz_policy) - 1, &env, errs)) == NULL ||
	    (fz_or = pol_policy_outreach(fz_pol)) == NULL)
		goto fail;
	pol_errs_free(errs);
	atexit(fz_cleanup);
	return 0;
fail:
	pol_errs_print(errs, stderr);
	abort();
}

static void
fz_token(const uint8_t *data, size_t size)
{
	char		*tok, fp[KEYS_FP_LEN + 1];
	const char	*why = NULL;

	/* An exact-size copy, not NUL-terminated, so ASan sees any overread. */
	if ((tok = malloc(size ? size : 1)) == NULL)
		return;
	memcpy(tok, data, size);
	if (pol_or_token_check(fz_or, fz_ring, tok, size, NOW, fp, &why) == 0) {
		if (strlen(fp) != KEYS_FP_LEN || why != NULL)
			abort();
	} else if (why == NULL || fp[0] != '\0')
		abort();
	free(tok);
}

static void
fz_normalise(const uint8_t *data, size_t size)
{
	char	 big[1024], again[1024], *exact;
	long	 n, m;

	if ((n = pol_or_normalise(fz_or, (const char *)data, size, big,
	    sizeof(big))) < 0)
		return;
	if ((size_t)n >= sizeof(big) || big[n] != '\0')
		abort();
	/* The same into a buffer of exactly the room it needs. */
	if ((exact = malloc((size_t)n + 1)) == NULL)
		return;
	if (pol_or_normalise(fz_or, (const char *)data, size, exact,
	    (size_t)n + 1) != n || memcmp(exact, big, (size_t)n + 1) != 0)
		abort();
	free(exact);
	m = pol_or_normalise(fz_or, big, (size_t)n, again, sizeof(again));
	if (m != n || memcmp(again, big, (size_t)n) != 0)
		abort();
}

static void
fz_roundtrip(const uint8_t *data, size_t size)
{
	char	 fp[KEYS_FP_LEN + 1], got[KEYS_FP_LEN + 1];
	char	 tok[POL_OR_TOKEN_MAX];
	long	 n;
	size_t	 at;

	if (size < 1)
		return;
	if (keys_fingerprint(fz_ring, data + 1, size - 1, fp) < 0)
		abort();
	if ((n = pol_or_token_make(fz_or, fz_ring, fp, NOW, tok,
	    sizeof(tok))) < 0 ||
	    pol_or_token_check(fz_or, fz_ring, tok, (size_t)n, NOW + 60, got,
	    NULL) != 0 || strcmp(got, fp) != 0)
		abort();
	/* A link is good until its expiry, not after. */
	if (pol_or_token_check(fz_or, fz_ring, tok, (size_t)n,
	    NOW + 31LL * 86400, got, NULL) == 0)
		abort();
	at = data[0] % (size_t)n;
	tok[at] = tok[at] == 'A' ? 'B' : 'A';
	if (pol_or_token_check(fz_or, fz_ring, tok, (size_t)n, NOW + 60, got,
	    NULL) == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fz_token(data + 1, size - 1);
		break;
	case 1:
		fz_normalise(data + 1, size - 1);
		break;
	default:
		fz_roundtrip(data + 1, size - 1);
		break;
	}
	return 0;
}
