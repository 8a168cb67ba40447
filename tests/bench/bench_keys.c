/* tests/bench/bench_keys.c — tokens per second for tokenize, encrypt and
 * reveal (16–64 byte values), plus hash, fingerprint and audit signatures,
 * on one core. Prints figures; never fails on time. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keys/keys.h"
#include "policies/errs.h"

#define NVALUES	1024
#define SECONDS	0.5

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
rm_rf(const char *path)
{
	struct dirent	*de;
	char		 p[512];
	DIR		*d;

	if ((d = opendir(path)) != NULL) {
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

enum op { OP_TOKENIZE, OP_ENCRYPT, OP_REVEAL_TOK, OP_REVEAL_ENC, OP_HASH,
	OP_FINGERPRINT };
static const char *const op_names[] = {
	"tokenize", "encrypt", "reveal (tokenize)", "reveal (encrypt)", "hash",
	"fingerprint",
};

struct bench {
	const struct keys_ring	*ring;
	const struct keys_key	*tok, *pii, *hash;
	char			 values[NVALUES][64];
	char			 toks[NVALUES][160];
	size_t			 toklen[NVALUES];
	char			 encs[NVALUES][160];
	size_t			 enclen[NVALUES];
};

/* Runs <op> over values of <len> bytes for about SECONDS; ops per second. */
static double
run(struct bench *b, enum op op, size_t len)
{
	char		 out[256], fp[KEYS_FP_LEN + 1];
	size_t		 n, ops = 0;
	double		 t0 = now(), t;
	int		 bad = 0;

	do {
		for (size_t i = 0; i < NVALUES; i++) {
			switch (op) {
			case OP_TOKENIZE:
				bad |= keys_tokenize(b->tok, "email",
				    b->values[i], len, out, sizeof(out), &n);
				break;
			case OP_ENCRYPT:
				bad |= keys_encrypt(b->pii, "email",
				    b->values[i], len, out, sizeof(out), &n);
				break;
			case OP_REVEAL_TOK:
				bad |= keys_reveal(b->ring, "email", b->toks[i],
				    b->toklen[i], out, sizeof(out), &n);
				break;
			case OP_REVEAL_ENC:
				bad |= keys_reveal(b->ring, "email", b->encs[i],
				    b->enclen[i], out, sizeof(out), &n);
				break;
			case OP_HASH:
				bad |= keys_hash(b->hash, b->values[i], len, out,
				    sizeof(out), &n);
				break;
			case OP_FINGERPRINT:
				bad |= keys_fingerprint(b->ring, b->values[i],
				    len, fp);
				break;
			}
		}
		ops += NVALUES;
		t = now() - t0;
	} while (t < SECONDS);
	if (bad) {
		fprintf(stderr, "bench_keys: %s failed\n", op_names[op]);
		exit(1);
	}
	return (double)ops / t;
}

int
main(void)
{
	static struct bench	 b;
	struct keys_master_src	 src;
	struct keys_ring	*ring;
	struct pol_errs		*errs = pol_errs_new();
	char			 tmp[] = "/tmp/custos-bench-keys-XXXXXX";
	char			 dir[128], master[128];
	static const size_t	 sizes[] = { 16, 32, 64 };
	uint8_t			 sig[KEYS_SIG_BYTES];
	double			 t0, t;
	size_t			 nsig = 0;

	if (mkdtemp(tmp) == NULL)
		return 1;
	snprintf(dir, sizeof(dir), "%s/keys", tmp);
	snprintf(master, sizeof(master), "%s/master.key", tmp);
	src.file = master;
	src.env = NULL;
	if (keys_init(dir, &src, NULL, errs) != 0 ||
	    (ring = keys_open(dir, &src, 0, errs)) == NULL) {
		pol_errs_print(errs, stderr);
		return 1;
	}
	b.ring = ring;
	b.tok = keys_find(ring, "tok");
	b.pii = keys_find(ring, "pii");
	b.hash = keys_find(ring, "hash");

	printf("keys: one thread, values of 16, 32 and 64 bytes (ops/s)\n");
	printf("  %-20s %12s %12s %12s\n", "operation", "16 B", "32 B", "64 B");
	for (int op = OP_TOKENIZE; op <= OP_FINGERPRINT; op++) {
		printf("  %-20s", op_names[op]);
		for (size_t s = 0; s < 3; s++) {
			size_t	 len = sizes[s];

			for (size_t i = 0; i < NVALUES; i++) {
				snprintf(b.values[i], sizeof(b.values[i]),
				    "%010zu-customer-%zu@example.com-padding-"
				    "padding-padding", i * 7919, i);
				keys_tokenize(b.tok, "email", b.values[i], len,
				    b.toks[i], sizeof(b.toks[i]), &b.toklen[i]);
				keys_encrypt(b.pii, "email", b.values[i], len,
				    b.encs[i], sizeof(b.encs[i]), &b.enclen[i]);
			}
			printf(" %12.0f", run(&b, (enum op)op, len));
		}
		printf("\n");
	}
	t0 = now();
	do {
		keys_sign_audit(ring, b.values[nsig % NVALUES], 64, sig, NULL);
		nsig++;
		t = now() - t0;
	} while (t < SECONDS);
	printf("  %-20s %12.0f (64-byte checkpoint heads)\n", "audit sign",
	    (double)nsig / t);

	keys_close(ring);
	pol_errs_free(errs);
	rm_rf(tmp);
	return 0;
}
