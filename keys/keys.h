/* keys/keys.h — the keyring: sealed key files, key versions, tokens,
 * encryption, keyed hashes, value fingerprints and the audit signing key.
 *
 * keys/ is the only module that touches key bytes. Every secret lives in
 * sodium_malloc memory (guard pages, mlock'ed, MADV_DONTDUMP, wiped on free);
 * other modules hold the opaque handles below.
 *
 * ON DISK (a keyring is a directory, mode 0700)
 *   DIR/NAME.key   one file per key, mode 0600, written atomically (temporary
 *                  file, fsync, rename, fsync of the directory):
 *                      custos-key v1
 *                      name pii
 *                      purpose encrypt
 *                      version 1 active 2026-11-27T05:30:00Z SEALED
 *                      version 2 retired 2026-12-01T09:00:00Z SEALED
 *                      mac MAC
 *                  SEALED = base64url (no padding) of nonce(24) || the 32-byte
 *                  secret sealed with XChaCha20-Poly1305 under the master key,
 *                  AD = "NAME.VERSION:PURPOSE" (so a secret copied to another
 *                  key, version or purpose fails to open). MAC = keyed
 *                  BLAKE2b-256 (key derived from the master key) over every
 *                  byte before the "mac " line, so editing a state or a date
 *                  (un-retiring a version) is detected. Versions are numbered
 *                  1..n in order and never deleted.
 *   DIR/master.pwhash  present only when the master key is derived from a
 *                  passphrase: "argon2id13 OPSLIMIT MEMLIMIT SALT_HEX".
 *
 * MASTER KEY: 32 bytes, from a file (32 raw bytes, or 64 hex characters and
 * an optional newline) or from an environment variable (64 hex characters).
 * When DIR/master.pwhash exists the file's content (without trailing
 * newlines) or the variable's value is a passphrase instead, stretched with
 * Argon2id (crypto_pwhash) and the stored salt. A master key file, key file or
 * keyring directory that group or others may access is refused, naming the
 * file and the fix ("chmod 600 FILE").
 *
 * KEY NAMES are 1..64 characters of [A-Za-z0-9_-]. A KEYID names a key and a
 * version: "pii.3".
 *
 * FORMATS
 *   tokenize, encrypt:  "cus:v1:KEYID:PAYLOAD", PAYLOAD = base64url (no
 *       padding) of nonce(24) || ciphertext || tag(16), XChaCha20-Poly1305,
 *       AD = the class name. encrypt draws a random nonce. tokenize is
 *       deterministic: the nonce is keyed BLAKE2b-192 over (class, value)
 *       under a subkey derived from the key, and the AEAD uses another
 *       derived subkey; so the same value in the same class always gives the
 *       same token (joins work) and the same value in another class gives
 *       another token. Both formats are the same on the wire; the key's
 *       purpose says which one it is. The class is not in the token: whoever
 *       reveals (or rewraps) must say which class the field belongs to, and a
 *       token moved to a field of another class fails with KEYS_E_AUTH.
 *   hash:  "KEYID:BASE64URL" of keyed BLAKE2b-256 (32 bytes, 43 characters)
 *       under the newest active version, e.g. "hash.1:3q2-7w...". Stable per
 *       key version; not reversible.
 *   fingerprint:  base64url (no padding) of keyed BLAKE2b-128 under the newest
 *       active version of the key named "fingerprint": KEYS_FP_LEN characters.
 *       Rotating the "fingerprint" key changes every fingerprint.
 *   audit public key:  "ed25519:KEYID:BASE64URL" (32-byte public key, base64url
 *       without padding, 43 characters), one line.
 *
 * VERSIONS: a key's writer is its newest active version; every active version
 * reads. A retired version no longer reads (KEYS_E_RETIRED) and its secret is
 * not even unsealed when the keyring is opened.
 *
 * THREADS: a ring opened read-only is immutable; every function that takes a
 * const ring or key may be called from any number of threads at once, and
 * from event callbacks: no I/O, no locks, and no allocation for values up to
 * 4 KiB (larger ones take one short-lived heap buffer). keys_open does the
 * file I/O; keys_new/rotate/retire change the ring and its files and are for
 * the command line only. Secrets stay readable while the ring is open
 * (sodium_mprotect_noaccess would need a lock or a refcount around every
 * use by concurrent workers; guard pages, mlock and MADV_DONTDUMP remain).
 *
 * REWRAP and CLASSES: since a token does not carry its class, `custos keys
 * rewrap` takes it from the caller: --field NAME=CLASS for tokens in members
 * named NAME, --class CLASS for the others; a token without a class, or that
 * fails under its class, fails the whole run (nothing is written).
 *
 * ERRORS never contain key bytes or values.
 */
#ifndef CUSTOS_KEYS_KEYS_H
#define CUSTOS_KEYS_KEYS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct pol_errs;

struct keys_ring;	/* opaque: a loaded keyring */
struct keys_key;	/* opaque: one key of a ring, with its versions */

#define KEYS_FP_LEN		22	/* base64url of 16 bytes, no padding */
#define KEYS_NAME_MAX		64	/* longest key name */
#define KEYS_ID_MAX		(KEYS_NAME_MAX + 12)	/* "NAME.4294967295" + NUL */
#define KEYS_TOKEN_PREFIX	"cus:v1:"
#define KEYS_HASH_BYTES		32
#define KEYS_SIG_BYTES		64
#define KEYS_PK_BYTES		32
/* Longest "KEYID:BASE64URL" keys_hash() writes, NUL included. */
#define KEYS_HASH_MAX		(KEYS_ID_MAX + 1 + 44)
/* Longest "ed25519:KEYID:BASE64URL" line, NUL included. */
#define KEYS_PUBLIC_MAX		(8 + KEYS_ID_MAX + 1 + 44)

enum keys_purpose {
	KEYS_P_NONE = 0,	/* not a purpose: "none found" */
	KEYS_P_TOKENIZE,
	KEYS_P_ENCRYPT,
	KEYS_P_HASH,
	KEYS_P_AUDIT_SIGN,
};

/* Results of the token operations. KEYS_OK is 0; every error is distinct so
 * the caller can audit why a reveal failed. */
enum keys_status {
	KEYS_OK = 0,
	KEYS_E_FORMAT,		/* not a "cus:v1:KEYID:PAYLOAD" token */
	KEYS_E_UNKNOWN_KEY,	/* no such key, or no such version of it */
	KEYS_E_RETIRED,		/* the version is retired (or, when writing, the
				 * key has no active version) */
	KEYS_E_AUTH,		/* tampered, or revealed under the wrong class */
	KEYS_E_SPACE,		/* out is too small: nothing useful was written */
	KEYS_E_PURPOSE,		/* the key's purpose does not allow this */
	KEYS_E_INTERNAL,	/* libsodium failed (should not happen) */
};

/* A short static description of a status ("token was tampered with or
 * belongs to another class", ...). Never NULL. */
const char	*keys_strerror(enum keys_status);

/* "tokenize", "encrypt", "hash", "audit-sign"; NULL for an unknown value. */
const char	*keys_purpose_name(enum keys_purpose);
/* The purpose of that name, or KEYS_P_NONE when there is none. */
enum keys_purpose keys_purpose_parse(const char *);
/* 1 when <name> is a valid key name, else 0. */
int		 keys_name_valid(const char *name);

/* Where the master key comes from: set exactly one of file and env (the name
 * of an environment variable). */
struct keys_master_src {
	const char	*file;
	const char	*env;
};

/* Flags of keys_open(). */
#define KEYS_OPEN_WRITE	0x1	/* keep the master key to change the ring
				 * (keys_new, keys_rotate, keys_retire) */

/* Opens the keyring in <dir> and unseals every active version with the master
 * key from <master>. Refuses (returns NULL) when the directory, the master key
 * file or any key file is accessible to group or others, when a file is
 * malformed, edited, or sealed under another master key; every problem found
 * is appended to <errs> as "FILE: error: ..." or "FILE:LINE:COL: error: ..."
 * (errs may be NULL). The caller owns the ring (keys_close). Blocking file
 * I/O (and Argon2id for a passphrase): not for event callbacks. */
struct keys_ring	*keys_open(const char *dir, const struct keys_master_src *master,
			    unsigned flags, struct pol_errs *errs);
/* Wipes every secret and frees the ring. NULL is a no-op. */
void			 keys_close(struct keys_ring *);

/* Options of keys_init(); NULL means all defaults. */
struct keys_init_opts {
	int		 passphrase;	/* the master source holds a passphrase:
					 * write DIR/master.pwhash; the file or
					 * variable must exist already */
	unsigned long long opslimit;	/* Argon2id cost; 0: MODERATE */
	size_t		 memlimit;	/* Argon2id memory; 0: MODERATE (256 MiB) */
};

/* Creates a keyring in <dir> (made 0700, parents too) with the keys the
 * example policy and the audit log need: "pii" (encrypt), "tok" (tokenize),
 * "hash" (hash), "fingerprint" (hash) and "audit" (audit-sign), each at
 * version 1. When <master>->file does not exist (and not in passphrase mode)
 * it is created, mode 0600, holding a fresh random key as 64 hex characters.
 * Refuses a directory that already holds key files. Returns 0, or -1 with the
 * reasons in <errs>. Blocking; command line only. */
int	keys_init(const char *dir, const struct keys_master_src *master,
	    const struct keys_init_opts *opts, struct pol_errs *errs);

/* Adds key <name> with <purpose> at version 1 and writes its file. The ring
 * must have been opened with KEYS_OPEN_WRITE. Returns 0, or -1 with the
 * reason in <errs> (the name exists or is invalid, I/O failed). Not
 * thread-safe: command line only. */
int	keys_new(struct keys_ring *, const char *name, enum keys_purpose purpose,
	    struct pol_errs *errs);
/* Adds a new version to key <name>; it becomes the writer; older active
 * versions still read. On success *version (may be NULL) is the new number.
 * Same rules as keys_new. */
int	keys_rotate(struct keys_ring *, const char *name, uint32_t *version,
	    struct pol_errs *errs);
/* Retires version <version> of key <name>: it no longer reads, and its secret
 * is wiped from memory. Refuses to retire the last active version (rotate
 * first). Retiring an already retired version succeeds. Same rules as
 * keys_new. */
int	keys_retire(struct keys_ring *, const char *name, uint32_t version,
	    struct pol_errs *errs);

/* Looking at a ring. Key handles stay valid until keys_close(); the key and
 * its strings are owned by the ring (version ids until the next keys_rotate
 * or keys_retire of that key). */
const struct keys_key	*keys_find(const struct keys_ring *, const char *name);
size_t			 keys_count(const struct keys_ring *);
const struct keys_key	*keys_at(const struct keys_ring *, size_t i);	/* by name */
const char		*keys_name(const struct keys_key *);
enum keys_purpose	 keys_purpose(const struct keys_key *);
/* Number of versions (active and retired); version i + 1 is at index i. */
size_t			 keys_nversions(const struct keys_key *);
/* The newest active version, or 0 when every version is retired. */
uint32_t		 keys_writer_version(const struct keys_key *);

enum keys_vstate { KEYS_V_ACTIVE = 1, KEYS_V_RETIRED };
struct keys_version_info {
	uint32_t		 number;
	time_t			 created;
	enum keys_vstate	 state;
	const char		*id;		/* "NAME.NUMBER", owned by the ring */
};
/* Fills <info> for version <number> (1-based). Returns 0, or -1 when there is
 * no such version. No secrets. */
int	keys_version_info(const struct keys_key *, uint32_t number,
	    struct keys_version_info *info);

/* Bytes out needs for a token of a <len>-byte value under <key>'s writer,
 * the NUL included. */
size_t	keys_token_size(const struct keys_key *, size_t len);
/* Upper bound of the plaintext length inside a token of <len> bytes. */
size_t	keys_reveal_size(size_t token_len);

/* Deterministic token of <value> (len bytes, any bytes) in class <cls> (a
 * NUL-terminated class name, used as authenticated data) under the writer of
 * <key> (purpose tokenize). Writes the NUL-terminated token to <out>; sets
 * *outlen (may be NULL) to its length without the NUL. Returns KEYS_OK,
 * KEYS_E_PURPOSE, KEYS_E_RETIRED (no active version) or KEYS_E_SPACE. */
enum keys_status keys_tokenize(const struct keys_key *key, const char *cls,
		    const void *value, size_t len, char *out, size_t outcap,
		    size_t *outlen);
/* Same, with a random nonce (purpose encrypt): the same value gives a new
 * token each time. */
enum keys_status keys_encrypt(const struct keys_key *key, const char *cls,
		    const void *value, size_t len, char *out, size_t outcap,
		    size_t *outlen);
/* Turns a token (len bytes, no NUL needed) back into its value, checking that
 * it was made for class <cls>. Writes the value (not NUL-terminated; a NUL is
 * appended when there is room) to <out> and its length to *outlen. Returns
 * KEYS_OK, or the first failing check of: KEYS_E_FORMAT (syntax),
 * KEYS_E_UNKNOWN_KEY, KEYS_E_PURPOSE (a hash or signing key),
 * KEYS_E_RETIRED, KEYS_E_FORMAT (payload not canonical base64url, or shorter
 * than nonce + tag), KEYS_E_SPACE (outcap < value length, see
 * keys_reveal_size), KEYS_E_AUTH. On failure out holds nothing of the value
 * and *outlen is 0. */
enum keys_status keys_reveal(const struct keys_ring *, const char *cls,
		    const char *token, size_t len, char *out, size_t outcap,
		    size_t *outlen);
/* Re-issues a token under the writer of its own key (for migrations after a
 * rotation): revealed with class <cls>, then tokenized or encrypted again in
 * the same class. A token already under the writer is copied unchanged
 * (*changed = 0). Same errors as keys_reveal, plus KEYS_E_RETIRED when the
 * key has no writer. changed may be NULL. */
enum keys_status keys_rewrap(const struct keys_ring *, const char *cls,
		    const char *token, size_t len, char *out, size_t outcap,
		    size_t *outlen, int *changed);
/* 1 when the <len> bytes at <s> start with KEYS_TOKEN_PREFIX; 0 otherwise.
 * Cheap: for scanners. */
int	keys_is_token(const char *s, size_t len);

/* Keyed pseudonym of <value> under the writer of <key> (purpose hash):
 * "KEYID:BASE64URL", NUL-terminated, at most KEYS_HASH_MAX bytes. Returns
 * KEYS_OK, KEYS_E_PURPOSE, KEYS_E_RETIRED or KEYS_E_SPACE. */
enum keys_status keys_hash(const struct keys_key *key, const void *value,
		    size_t len, char *out, size_t outcap, size_t *outlen);

/* The fingerprint of <value> that the audit log stores instead of values:
 * keyed BLAKE2b-128 under the ring's "fingerprint" key (newest active
 * version), base64url without padding, NUL-terminated. Returns 0, or -1 when
 * the ring has no usable "fingerprint" key (out is then ""). */
int	keys_fingerprint(const struct keys_ring *, const void *value, size_t len,
	    char out[KEYS_FP_LEN + 1]);
/* The fingerprints of <value> under every version of the "fingerprint" key
 * that still reads (not retired), the writer's first: at most <max>, their
 * number returned (0: no usable key). For state keyed by fingerprint that
 * must outlive a rotation of that key (opt-outs). */
size_t	keys_fingerprints(const struct keys_ring *, const void *value,
	    size_t len, char (*out)[KEYS_FP_LEN + 1], size_t max);

/* A memo of recent fingerprints for one thread at a time (the proxy keeps
 * one per worker): values seen again skip the keyed BLAKE2b. It holds no
 * value, only a keyed SipHash-128 digest of each and its fingerprint; it
 * follows the ring it is used with (emptied when the ring or its
 * fingerprint key's writer changes). keys_fpcache_new: NULL when out of
 * (secure) memory; the caller owns it, keys_fpcache_free(NULL) is a no-op. */
struct keys_fpcache;
struct keys_fpcache	*keys_fpcache_new(void);
void			 keys_fpcache_free(struct keys_fpcache *);
/* keys_fingerprint() through <cache> (NULL: none): the same result, the
 * same returns. No I/O, no allocation: safe in event callbacks. */
int	keys_fingerprint_cached(const struct keys_ring *,
	    struct keys_fpcache *cache, const void *value, size_t len,
	    char out[KEYS_FP_LEN + 1]);

/* Signs <msg> with the newest active version of the audit signing key (the
 * key named "audit", else the only key of purpose audit-sign): a detached
 * Ed25519 signature in <sig>, and its KEYID ("audit.2", owned by the ring) in
 * *key_id (may be NULL). Returns 0, or -1 when there is no such key. */
int	keys_sign_audit(const struct keys_ring *, const void *msg, size_t len,
	    uint8_t sig[KEYS_SIG_BYTES], const char **key_id);
/* Checks a signature made by keys_sign_audit() with version <key_id> of the
 * ring's audit key (retired versions still verify: signatures outlive
 * keys). Returns 0 when valid, -1 otherwise. */
int	keys_verify_audit(const struct keys_ring *, const char *key_id,
	    const void *msg, size_t len, const uint8_t sig[KEYS_SIG_BYTES]);
/* The Ed25519 public key of version <version> (0: the newest active one) of
 * <key> (purpose audit-sign, NULL: the ring's audit key), and its KEYID.
 * Returns 0, or -1 (no such key or version, wrong purpose). */
int	keys_audit_public(const struct keys_ring *, const struct keys_key *key,
	    uint32_t version, uint8_t pk[KEYS_PK_BYTES], const char **key_id);
/* The same as the one-line text auditors use: "ed25519:KEYID:BASE64URL",
 * NUL-terminated, no newline. Returns 0, or -1 (as above, or out too small;
 * KEYS_PUBLIC_MAX is always enough). */
int	keys_export_public(const struct keys_ring *, const struct keys_key *key,
	    uint32_t version, char *out, size_t outcap);

/* For the server, once at start-up: makes the process non-dumpable
 * (PR_SET_DUMPABLE 0: no core files, no ptrace by other users) and sets the
 * core size limit to 0. Returns 0, or -1 with errno set. */
int	keys_harden_process(void);

#endif
