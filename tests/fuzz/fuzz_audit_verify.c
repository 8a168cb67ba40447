/* tests/fuzz/fuzz_audit_verify.c — libFuzzer target: audit_verify() and
 * audit_export() over attacker-controlled audit files.
 *
 * Input: up to three parts separated by the bytes "\n--\n": the first goes
 * to audit-000001.jsonl, the second to audit-000002.jsonl, the third to
 * HEAD. The checkpoint key is the Ed25519 key of seed 32 zero bytes, so
 * seeds made with it (tests/fuzz/corpus/fuzz_audit_verify/) reach the
 * signature checks. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memmem, open_memstream, nftw */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/audit.h"
#include "audit/internal.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer gives no context pointer: the fixture lives here, set once by
 * LLVMFuzzerInitialize and read by every run. */
static char			dir[64];
static struct audit_pubkey	pub;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t	seed[32] = { 0 }, sk[64];

	(void)argc, (void)argv;
	if (sodium_init() < 0)
		abort();
	crypto_sign_seed_keypair(pub.pk, sk, seed);
	strcpy(pub.key_id, "audit.1");
	strcpy(dir, "/tmp/fuzz-audit-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	return 0;
}

static void
put(const char *name, const uint8_t *p, size_t n)
{
	char	path[128];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (p == NULL) {
		unlink(path);
		return;
	}
	if ((f = fopen(path, "w")) == NULL)
		abort();
	if (n > 0)
		fwrite(p, 1, n, f);
	fclose(f);
}

static const uint8_t *
split(const uint8_t *p, size_t n, size_t *len)
{
	const uint8_t	*s = memmem(p, n, "\n--\n", 4);

	if (s == NULL) {
		*len = n;
		return NULL;
	}
	*len = (size_t)(s - p) + 1;	/* keep the newline */
	return s + 4;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t			*parts[3] = { NULL, NULL, NULL };
	size_t				 lens[3] = { 0, 0, 0 }, rest = size;
	const uint8_t			*p = data, *next;
	struct audit_verify_report	 rep;
	struct audit_filter		 f;
	struct ajson_doc		 doc;
	FILE				*out;
	int				 i;

	for (i = 0; i < 3 && p != NULL; i++) {
		parts[i] = p;
		next = split(p, rest, &lens[i]);
		if (next != NULL)
			rest -= (size_t)(next - p);
		p = next;
	}
	put("audit-000001.jsonl", parts[0], lens[0]);
	put("audit-000002.jsonl", parts[1], lens[1]);
	put("HEAD", parts[2], lens[2]);

	(void)audit_verify(dir, &pub, 1, 0, &rep);
	(void)audit_verify(dir, NULL, 0, 0, &rep);

	if ((out = fopen("/dev/null", "w")) == NULL)
		abort();
	memset(&f, 0, sizeof(f));
	(void)audit_export(dir, &f, AUDIT_FMT_JSONL, out, NULL, 0);
	f.rule = "reps-mask-contacts";
	f.principal = "rep-app";
	f.since_ms = 1;
	(void)audit_export(dir, &f, AUDIT_FMT_JSONL, out, NULL, 0);
	(void)audit_export(dir, &f, AUDIT_FMT_CSV, out, NULL, 0);
	fclose(out);

	memset(&doc, 0, sizeof(doc));
	(void)audit_json_parse(&doc, (const char *)data, size);
	audit_json_reset(&doc);
	return 0;
}
