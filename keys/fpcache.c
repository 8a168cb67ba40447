/* keys/fpcache.c — one thread's memo of recent value fingerprints, so that
 * values a worker sees again (the same records served over and over) skip
 * keyed BLAKE2b. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keys/internal.h"

/*
 * WHY AND WHAT. A fingerprint is keyed BLAKE2b-128: two compressions, about
 * 0.4 us; the audit log wants up to POL_MAX_FPS of them per folded decision,
 * some 80 for a list of 20 customers, which was a third of the CPU a
 * policed body cost. SipHash-128 (crypto_shorthash_siphashx24) of a short
 * value is about 20 ns. The memo maps SipHash-128(value), under a random
 * key of its own, to the fingerprint text.
 *
 * It holds no value: only that digest and the fingerprint the audit log
 * stores anyway. A hit trusts the digest: two values with one digest would
 * get one fingerprint. Both are 128-bit keyed PRFs, so that is as unlikely
 * as two values sharing a fingerprint, which the engine already takes to
 * mean one value (it folds fingerprints by equality).
 *
 * Entries belong to one (ring, fingerprint key version): the memo is
 * emptied when either changes (a reload opens a new ring, with a new
 * serial; a rotation makes a new writer). Two-way set associative, the
 * older entry of a set replaced; FPC_SETS * 2 entries of 40 bytes.
 */
#define FPC_SETS	1024		/* a power of two */
#define FPC_WAYS	2

struct fpc_ent {
	uint8_t		 tag[crypto_shorthash_siphashx24_BYTES];
	char		 fp[KEYS_FP_LEN + 1];
	uint8_t		 used;
};

struct keys_fpcache {
	uint8_t		*key;		/* sodium_malloc: the SipHash key */
	uint64_t	 serial;	/* of the ring the entries are for */
	uint32_t	 version;	/* its fingerprint key's writer */
	uint8_t		 older[FPC_SETS];	/* per set: the way to replace */
	struct fpc_ent	 ent[FPC_SETS][FPC_WAYS];
};

struct keys_fpcache *
keys_fpcache_new(void)
{
	struct keys_fpcache *c;

	if (sodium_init() < 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->key = sodium_malloc(crypto_shorthash_siphashx24_KEYBYTES)) ==
	    NULL) {
		free(c);
		return NULL;
	}
	randombytes_buf(c->key, crypto_shorthash_siphashx24_KEYBYTES);
	return c;
}

void
keys_fpcache_free(struct keys_fpcache *c)
{
	if (c == NULL)
		return;
	sodium_free(c->key);
	sodium_memzero(c, sizeof(*c));
	free(c);
}

int
keys_fingerprint_cached(const struct keys_ring *r, struct keys_fpcache *c,
    const void *value, size_t len, char out[KEYS_FP_LEN + 1])
{
	uint8_t		 tag[crypto_shorthash_siphashx24_BYTES];
	struct fpc_ent	*set, *e;
	uint32_t	 s;

	if (c == NULL || r == NULL || r->fp == NULL ||
	    (value == NULL && len > 0))
		return keys_fingerprint(r, value, len, out);
	if (c->serial != r->serial || c->version != r->fp->writer) {
		memset(c->ent, 0, sizeof(c->ent));
		memset(c->older, 0, sizeof(c->older));
		c->serial = r->serial;
		c->version = r->fp->writer;
	}
	if (crypto_shorthash_siphashx24(tag, value, len, c->key) != 0)
		return keys_fingerprint(r, value, len, out);
	memcpy(&s, tag, sizeof(s));
	set = c->ent[s & (FPC_SETS - 1)];
	for (int w = 0; w < FPC_WAYS; w++)
		if (set[w].used && memcmp(set[w].tag, tag, sizeof(tag)) == 0) {
			memcpy(out, set[w].fp, KEYS_FP_LEN + 1);
			return 0;
		}
	if (keys_fingerprint(r, value, len, out) != 0)
		return -1;
	s &= FPC_SETS - 1;
	e = &set[c->older[s]];
	c->older[s] = (uint8_t)((c->older[s] + 1) % FPC_WAYS);
	memcpy(e->tag, tag, sizeof(tag));
	memcpy(e->fp, out, KEYS_FP_LEN + 1);
	e->used = 1;
	return 0;
}
