/* keys/internal.h — layouts shared by the keys module's own .c files. Not for
 * other modules: they hold struct keys_ring and struct keys_key handles. */
#ifndef CUSTOS_KEYS_INTERNAL_H
#define CUSTOS_KEYS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "keys/keys.h"

#define KEYS_SECRET_BYTES	32	/* every purpose keeps 32 secret bytes */
#define KEYS_NONCE_BYTES	24	/* XChaCha20-Poly1305 */
#define KEYS_TAG_BYTES		16

/*
 * The unsealed material of one active version. Always allocated with
 * sodium_malloc (guard pages, mlock, MADV_DONTDUMP) and freed with
 * sodium_free, which wipes it. Which fields are used depends on the purpose:
 *   encrypt     raw is the XChaCha20-Poly1305 key
 *   tokenize    k_aead and k_nonce are derived from raw (crypto_kdf,
 *               context "cus-tokn", ids 1 and 2) so that the nonce key and
 *               the cipher key are independent
 *   hash        raw is the BLAKE2b key
 *   audit-sign  raw is the Ed25519 seed; sk the expanded secret key
 */
struct keys_secret {
	uint8_t	raw[KEYS_SECRET_BYTES];
	uint8_t	k_aead[32];
	uint8_t	k_nonce[32];
	uint8_t	sk[64];
};

struct keys_version {
	uint32_t		 number;	/* == index + 1 */
	time_t			 created;
	enum keys_vstate	 state;
	char			 id[KEYS_ID_MAX];	/* "NAME.NUMBER" */
	char			*sealed;	/* base64url text as in the file */
	struct keys_secret	*sec;		/* NULL when retired */
	uint8_t			 pk[32];	/* audit-sign: public key, kept
						 * for retired versions too */
};

struct keys_key {
	char			 name[KEYS_NAME_MAX + 1];
	size_t			 namelen;
	enum keys_purpose	 purpose;
	struct keys_version	*v;		/* v[i].number == i + 1 */
	size_t			 nv;
	uint32_t		 writer;	/* newest active version, 0: none */
};

/*
 * A ring is immutable after keys_open() unless it was opened with
 * KEYS_OPEN_WRITE, in which case only the command line changes it. Keys are
 * held by pointer (sorted by name) so that handles survive keys_new().
 */
struct keys_ring {
	char			*dir;
	struct keys_key		**keys;
	size_t			 n;
	/* sodium_malloc: the 32-byte sealing key and the 32-byte file MAC key,
	 * both derived from the master key. Wiped and freed at the end of
	 * keys_open() unless KEYS_OPEN_WRITE. */
	uint8_t			*mk;
	const struct keys_key	*fp;		/* "fingerprint", or NULL */
	const struct keys_key	*audit;		/* the audit signing key, or NULL */
	uint64_t		 serial;	/* random, non-zero: tells this
						 * ring from any other (for
						 * keys_fpcache) */
};

#define KEYS_MK_SEAL(r)	((r)->mk)
#define KEYS_MK_MAC(r)	((r)->mk + 32)

/* A character of a key name: [A-Za-z0-9_-]. */
static inline int
keys_namech(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* keys/token.c */
struct keys_version	*keys_version_get(const struct keys_key *, uint32_t number);
/* Allocates a struct keys_secret for <raw> and derives the purpose's
 * material. NULL on failure. */
struct keys_secret	*keys_secret_new(enum keys_purpose, const uint8_t raw[32],
			    uint8_t pk[32]);
void			 keys_secret_free(struct keys_secret *);

#endif
