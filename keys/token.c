/* keys/token.c — tokens, encryption, keyed hashes, fingerprints and audit
 * signatures over an opened ring. Everything here is read-only on the ring
 * and safe to call from many threads at once. */
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sodium.h>

#include "keys/internal.h"

#define B64V		sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define PREFIX_LEN	(sizeof(KEYS_TOKEN_PREFIX) - 1)
/* Values up to this size are handled in stack buffers; larger ones in a
 * heap buffer of their own. */
#define STACK_PAYLOAD	4096

/*
 * base64url without padding, for token payloads only. libsodium's codec is
 * constant-time, which secrets need (ring.c uses it for sealed keys) but
 * ciphertext and published hashes do not; at about 0.5 us per token each
 * way it was a quarter of the tokenize budget and half of reveal's. This
 * one is table-driven and strict: it accepts only the canonical encoding
 * (no padding, no stray bits), so every payload has exactly one spelling.
 */
static const char b64_enc[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Writes the encoding of n bytes and a NUL: 4n/3 rounded up, plus 1. */
static size_t
b64_encode(char *dst, const uint8_t *src, size_t n)
{
	char	*d = dst;
	size_t	 i = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 |
		    src[i + 2];

		*d++ = b64_enc[v >> 18];
		*d++ = b64_enc[(v >> 12) & 63];
		*d++ = b64_enc[(v >> 6) & 63];
		*d++ = b64_enc[v & 63];
	}
	if (n - i == 1) {
		*d++ = b64_enc[src[i] >> 2];
		*d++ = b64_enc[(src[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)src[i] << 8 | src[i + 1];

		*d++ = b64_enc[v >> 10];
		*d++ = b64_enc[(v >> 4) & 63];
		*d++ = b64_enc[(v & 15) << 2];
	}
	*d = '\0';
	return (size_t)(d - dst);
}

static int
b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Decodes n characters into dst (cap bytes). Returns 0 and *outlen, or -1
 * on a character outside the alphabet, a length of 4k + 1, leftover bits
 * that are not zero, or too little room. */
static int
b64_decode(uint8_t *dst, size_t cap, const char *src, size_t n,
    size_t *outlen)
{
	size_t		 full = n / 4, rest = n % 4, o = 0;
	int		 a, b, c, d;

	if (rest == 1 || full * 3 + (rest ? rest - 1 : 0) > cap)
		return -1;
	for (size_t i = 0; i < full; i++, src += 4) {
		a = b64_val((unsigned char)src[0]);
		b = b64_val((unsigned char)src[1]);
		c = b64_val((unsigned char)src[2]);
		d = b64_val((unsigned char)src[3]);
		if ((a | b | c | d) < 0)
			return -1;
		dst[o++] = (uint8_t)(a << 2 | b >> 4);
		dst[o++] = (uint8_t)(b << 4 | c >> 2);
		dst[o++] = (uint8_t)(c << 6 | d);
	}
	if (rest >= 2) {
		a = b64_val((unsigned char)src[0]);
		b = b64_val((unsigned char)src[1]);
		if ((a | b) < 0)
			return -1;
		dst[o++] = (uint8_t)(a << 2 | b >> 4);
		if (rest == 2) {
			if ((b & 15) != 0)
				return -1;
		} else {
			if ((c = b64_val((unsigned char)src[2])) < 0 ||
			    (c & 3) != 0)
				return -1;
			dst[o++] = (uint8_t)(b << 4 | c >> 2);
		}
	}
	*outlen = o;
	return 0;
}

const char *
keys_strerror(enum keys_status s)
{
	switch (s) {
	case KEYS_OK:
		return "ok";
	case KEYS_E_FORMAT:
		return "not a custos token";
	case KEYS_E_UNKNOWN_KEY:
		return "token names an unknown key or key version";
	case KEYS_E_RETIRED:
		return "key version is retired";
	case KEYS_E_AUTH:
		return "token was tampered with or belongs to another class";
	case KEYS_E_SPACE:
		return "output buffer too small";
	case KEYS_E_PURPOSE:
		return "key purpose does not allow this operation";
	case KEYS_E_INTERNAL:
		return "internal cryptographic error";
	}
	return "unknown error";
}

struct keys_version *
keys_version_get(const struct keys_key *k, uint32_t number)
{
	if (k == NULL || number == 0 || number > k->nv)
		return NULL;
	return &k->v[number - 1];
}

/*
 * sodium_malloc already locks the pages and marks them MADV_DONTDUMP where
 * the platform has it; the madvise below states the requirement here rather
 * than relying on how libsodium was configured. The range is the pages that
 * hold the object, which all belong to the allocation's unprotected area.
 */
static void
dontdump(void *p, size_t len)
{
#ifdef MADV_DONTDUMP
	long		 pg = sysconf(_SC_PAGESIZE);
	uintptr_t	 a, e;

	if (pg <= 0)
		return;
	a = (uintptr_t)p & ~((uintptr_t)pg - 1);
	e = ((uintptr_t)p + len + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
	(void)madvise((void *)a, e - a, MADV_DONTDUMP);
#else
	(void)p;
	(void)len;
#endif
}

struct keys_secret *
keys_secret_new(enum keys_purpose purpose, const uint8_t raw[32], uint8_t pk[32])
{
	struct keys_secret	*s;

	if ((s = sodium_malloc(sizeof(*s))) == NULL)
		return NULL;
	dontdump(s, sizeof(*s));
	sodium_memzero(s, sizeof(*s));
	memcpy(s->raw, raw, sizeof(s->raw));
	switch (purpose) {
	case KEYS_P_TOKENIZE:
		if (crypto_kdf_derive_from_key(s->k_aead, sizeof(s->k_aead), 1,
		    "cus-tokn", s->raw) != 0 ||
		    crypto_kdf_derive_from_key(s->k_nonce, sizeof(s->k_nonce), 2,
		    "cus-tokn", s->raw) != 0)
			goto fail;
		break;
	case KEYS_P_AUDIT_SIGN:
		if (crypto_sign_seed_keypair(pk, s->sk, s->raw) != 0)
			goto fail;
		break;
	case KEYS_P_ENCRYPT:
	case KEYS_P_HASH:
		break;
	case KEYS_P_NONE:
	default:
		goto fail;
	}
	return s;
fail:
	keys_secret_free(s);
	return NULL;
}

void
keys_secret_free(struct keys_secret *s)
{
	sodium_free(s);		/* wipes; NULL is a no-op */
}

int
keys_is_token(const char *s, size_t len)
{
	return s != NULL && len >= PREFIX_LEN &&
	    memcmp(s, KEYS_TOKEN_PREFIX, PREFIX_LEN) == 0;
}

size_t
keys_token_size(const struct keys_key *k, size_t len)
{
	const struct keys_version	*v;
	size_t				 idlen = KEYS_ID_MAX - 1;

	if ((v = keys_version_get(k, k ? k->writer : 0)) != NULL)
		idlen = strlen(v->id);
	if (len > SIZE_MAX / 2 - 64 - KEYS_ID_MAX)
		return SIZE_MAX;
	return PREFIX_LEN + idlen + 1 + sodium_base64_ENCODED_LEN(
	    KEYS_NONCE_BYTES + len + KEYS_TAG_BYTES, B64V);
}

size_t
keys_reveal_size(size_t token_len)
{
	return token_len / 4 * 3 + 3;
}

/*
 * Seals <value> under version <v> of <k> and writes the token. The nonce is
 * given (tokenize) or drawn here (nonce == NULL, encrypt).
 */
static enum keys_status
seal_token(const struct keys_key *k, const struct keys_version *v,
    const uint8_t *nonce, const char *cls, const void *value, size_t len,
    char *out, size_t outcap, size_t *outlen)
{
	uint8_t			 stackbuf[KEYS_NONCE_BYTES + STACK_PAYLOAD +
				    KEYS_TAG_BYTES];
	uint8_t			*bin = stackbuf;
	const uint8_t		*key;
	size_t			 idlen, need, binlen, o;
	enum keys_status	 rc = KEYS_E_INTERNAL;

	if (outlen != NULL)
		*outlen = 0;
	if (outcap > 0)
		out[0] = '\0';
	if (len > SIZE_MAX / 2 - 64 - KEYS_ID_MAX)
		return KEYS_E_SPACE;
	idlen = strlen(v->id);
	binlen = KEYS_NONCE_BYTES + len + KEYS_TAG_BYTES;
	need = PREFIX_LEN + idlen + 1 + sodium_base64_ENCODED_LEN(binlen, B64V);
	if (outcap < need)
		return KEYS_E_SPACE;
	if (binlen > sizeof(stackbuf) && (bin = malloc(binlen)) == NULL)
		return KEYS_E_INTERNAL;

	if (nonce != NULL)
		memcpy(bin, nonce, KEYS_NONCE_BYTES);
	else
		randombytes_buf(bin, KEYS_NONCE_BYTES);
	key = k->purpose == KEYS_P_TOKENIZE ? v->sec->k_aead : v->sec->raw;
	if (crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
	    bin + KEYS_NONCE_BYTES, bin + KEYS_NONCE_BYTES + len, NULL,
	    value, len, (const uint8_t *)cls, strlen(cls), NULL, bin, key) != 0)
		goto done;

	memcpy(out, KEYS_TOKEN_PREFIX, PREFIX_LEN);
	o = PREFIX_LEN;
	memcpy(out + o, v->id, idlen);
	o += idlen;
	out[o++] = ':';
	o += b64_encode(out + o, bin, binlen);
	if (outlen != NULL)
		*outlen = o;
	rc = KEYS_OK;
done:
	if (bin != stackbuf)
		free(bin);
	return rc;
}

/* The writer version of <k> after checking its purpose. */
static enum keys_status
writer_of(const struct keys_key *k, enum keys_purpose want,
    const struct keys_version **vp)
{
	const struct keys_version	*v;

	if (k == NULL || k->purpose != want)
		return KEYS_E_PURPOSE;
	if ((v = keys_version_get(k, k->writer)) == NULL || v->sec == NULL)
		return KEYS_E_RETIRED;
	*vp = v;
	return KEYS_OK;
}

/* The deterministic nonce: keyed BLAKE2b-192 over len(cls) || cls || value,
 * the length (8 bytes, little endian) keeping ("ab", "c") apart from
 * ("a", "bc"). */
static int
token_nonce(const struct keys_version *v, const char *cls, const void *value,
    size_t len, uint8_t nonce[KEYS_NONCE_BYTES])
{
	crypto_generichash_state	 st;
	uint8_t				 l[8];
	uint64_t			 cl = strlen(cls);
	int				 rc;

	for (int i = 0; i < 8; i++)
		l[i] = (uint8_t)(cl >> (8 * i));
	rc = crypto_generichash_init(&st, v->sec->k_nonce,
	    sizeof(v->sec->k_nonce), KEYS_NONCE_BYTES) |
	    crypto_generichash_update(&st, l, sizeof(l)) |
	    crypto_generichash_update(&st, (const uint8_t *)cls, cl) |
	    crypto_generichash_update(&st, value, len) |
	    crypto_generichash_final(&st, nonce, KEYS_NONCE_BYTES);
	sodium_memzero(&st, sizeof(st));
	return rc == 0 ? 0 : -1;
}

enum keys_status
keys_tokenize(const struct keys_key *k, const char *cls, const void *value,
    size_t len, char *out, size_t outcap, size_t *outlen)
{
	const struct keys_version	*v = NULL;
	uint8_t				 nonce[KEYS_NONCE_BYTES];
	enum keys_status		 rc;

	if (outlen != NULL)
		*outlen = 0;
	if ((rc = writer_of(k, KEYS_P_TOKENIZE, &v)) != KEYS_OK)
		return rc;
	if (cls == NULL || (value == NULL && len > 0))
		return KEYS_E_INTERNAL;
	if (token_nonce(v, cls, value, len, nonce) != 0)
		return KEYS_E_INTERNAL;
	return seal_token(k, v, nonce, cls, value, len, out, outcap, outlen);
}

enum keys_status
keys_encrypt(const struct keys_key *k, const char *cls, const void *value,
    size_t len, char *out, size_t outcap, size_t *outlen)
{
	const struct keys_version	*v = NULL;
	enum keys_status		 rc;

	if (outlen != NULL)
		*outlen = 0;
	if ((rc = writer_of(k, KEYS_P_ENCRYPT, &v)) != KEYS_OK)
		return rc;
	if (cls == NULL || (value == NULL && len > 0))
		return KEYS_E_INTERNAL;
	return seal_token(k, v, NULL, cls, value, len, out, outcap, outlen);
}

static const struct keys_key *
find_n(const struct keys_ring *r, const char *name, size_t len)
{
	for (size_t i = 0; r != NULL && i < r->n; i++)
		if (r->keys[i]->namelen == len &&
		    memcmp(r->keys[i]->name, name, len) == 0)
			return r->keys[i];
	return NULL;
}

/*
 * Splits "cus:v1:NAME.N:PAYLOAD" into its parts. Strict: NAME as
 * keys_name_valid, N decimal without a leading zero and within uint32,
 * PAYLOAD non-empty (base64url is checked when decoded).
 */
static enum keys_status
parse_token(const char *t, size_t len, const char **name, size_t *namelen,
    uint32_t *version, const char **payload, size_t *paylen)
{
	size_t		 i = PREFIX_LEN, ns;
	uint64_t	 n = 0;

	if (!keys_is_token(t, len))
		return KEYS_E_FORMAT;
	ns = i;
	while (i < len && keys_namech((unsigned char)t[i]))
		i++;
	if (i == ns || i - ns > KEYS_NAME_MAX || i >= len || t[i] != '.')
		return KEYS_E_FORMAT;
	*name = t + ns;
	*namelen = i - ns;
	i++;
	if (i >= len || t[i] < '1' || t[i] > '9')
		return KEYS_E_FORMAT;
	while (i < len && t[i] >= '0' && t[i] <= '9') {
		n = n * 10 + (uint64_t)(t[i] - '0');
		if (n > UINT32_MAX)
			return KEYS_E_FORMAT;
		i++;
	}
	if (i >= len || t[i] != ':' || i + 1 >= len)
		return KEYS_E_FORMAT;
	*version = (uint32_t)n;
	*payload = t + i + 1;
	*paylen = len - i - 1;
	return KEYS_OK;
}

/*
 * Opens a token. On KEYS_OK, *kp and *vp name the key and version it was
 * made under. The plaintext goes to out only after the tag checked out.
 */
static enum keys_status
open_token(const struct keys_ring *r, const char *cls, const char *token,
    size_t len, char *out, size_t outcap, size_t *outlen,
    const struct keys_key **kp, const struct keys_version **vp)
{
	uint8_t				 stackbuf[KEYS_NONCE_BYTES + STACK_PAYLOAD +
					    KEYS_TAG_BYTES];
	uint8_t				*bin = stackbuf;
	const struct keys_key		*k;
	const struct keys_version	*v;
	const char			*name, *payload;
	const uint8_t			*key;
	size_t				 namelen, paylen, binlen, maxbin, plen;
	uint32_t			 number;
	enum keys_status		 rc;

	*outlen = 0;
	if (cls == NULL || token == NULL)
		return KEYS_E_FORMAT;
	if ((rc = parse_token(token, len, &name, &namelen, &number, &payload,
	    &paylen)) != KEYS_OK)
		return rc;
	if ((k = find_n(r, name, namelen)) == NULL ||
	    (v = keys_version_get(k, number)) == NULL)
		return KEYS_E_UNKNOWN_KEY;
	if (k->purpose != KEYS_P_TOKENIZE && k->purpose != KEYS_P_ENCRYPT)
		return KEYS_E_PURPOSE;
	if (v->state != KEYS_V_ACTIVE || v->sec == NULL)
		return KEYS_E_RETIRED;

	maxbin = paylen / 4 * 3 + 3;
	if (maxbin > sizeof(stackbuf) && (bin = malloc(maxbin)) == NULL)
		return KEYS_E_INTERNAL;
	rc = KEYS_E_FORMAT;
	if (b64_decode(bin, maxbin, payload, paylen, &binlen) != 0 ||
	    binlen < KEYS_NONCE_BYTES + KEYS_TAG_BYTES)
		goto done;
	plen = binlen - KEYS_NONCE_BYTES - KEYS_TAG_BYTES;
	rc = KEYS_E_SPACE;
	if (outcap < plen)
		goto done;
	key = k->purpose == KEYS_P_TOKENIZE ? v->sec->k_aead : v->sec->raw;
	rc = KEYS_E_AUTH;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached((uint8_t *)out,
	    NULL, bin + KEYS_NONCE_BYTES, plen, bin + KEYS_NONCE_BYTES + plen,
	    (const uint8_t *)cls, strlen(cls), bin, key) != 0)
		goto done;
	if (outcap > plen)
		out[plen] = '\0';
	*outlen = plen;
	*kp = k;
	*vp = v;
	rc = KEYS_OK;
done:
	if (bin != stackbuf)
		free(bin);
	return rc;
}

enum keys_status
keys_reveal(const struct keys_ring *r, const char *cls, const char *token,
    size_t len, char *out, size_t outcap, size_t *outlen)
{
	const struct keys_key		*k;
	const struct keys_version	*v;
	size_t				 dummy;

	if (outlen == NULL)
		outlen = &dummy;
	return open_token(r, cls, token, len, out, outcap, outlen, &k, &v);
}

enum keys_status
keys_rewrap(const struct keys_ring *r, const char *cls, const char *token,
    size_t len, char *out, size_t outcap, size_t *outlen, int *changed)
{
	const struct keys_key		*k = NULL;
	const struct keys_version	*v = NULL;
	uint8_t				 stackbuf[STACK_PAYLOAD];
	uint8_t				*plain = stackbuf;
	size_t				 plen = 0, cap, dummy;
	enum keys_status		 rc;

	if (outlen == NULL)
		outlen = &dummy;
	*outlen = 0;
	if (changed != NULL)
		*changed = 0;
	cap = keys_reveal_size(len);
	if (cap > sizeof(stackbuf) && (plain = sodium_malloc(cap)) == NULL)
		return KEYS_E_INTERNAL;
	if ((rc = open_token(r, cls, token, len, (char *)plain, cap, &plen, &k,
	    &v)) != KEYS_OK)
		goto done;
	if (k->writer == 0) {
		rc = KEYS_E_RETIRED;
		goto done;
	}
	if (v->number == k->writer) {
		rc = KEYS_E_SPACE;
		if (outcap <= len)
			goto done;
		memcpy(out, token, len);
		out[len] = '\0';
		*outlen = len;
		rc = KEYS_OK;
		goto done;
	}
	if (k->purpose == KEYS_P_TOKENIZE)
		rc = keys_tokenize(k, cls, plain, plen, out, outcap, outlen);
	else
		rc = keys_encrypt(k, cls, plain, plen, out, outcap, outlen);
	if (rc == KEYS_OK && changed != NULL)
		*changed = 1;
done:
	sodium_memzero(plain, plen);
	if (plain != stackbuf)
		sodium_free(plain);
	return rc;
}

enum keys_status
keys_hash(const struct keys_key *k, const void *value, size_t len, char *out,
    size_t outcap, size_t *outlen)
{
	const struct keys_version	*v = NULL;
	uint8_t				 h[KEYS_HASH_BYTES];
	size_t				 idlen, n;
	enum keys_status		 rc;

	if (outlen != NULL)
		*outlen = 0;
	if (outcap > 0)
		out[0] = '\0';
	if ((rc = writer_of(k, KEYS_P_HASH, &v)) != KEYS_OK)
		return rc;
	if (value == NULL && len > 0)
		return KEYS_E_INTERNAL;
	idlen = strlen(v->id);
	if (outcap < idlen + 1 + sodium_base64_ENCODED_LEN(sizeof(h), B64V))
		return KEYS_E_SPACE;
	if (crypto_generichash(h, sizeof(h), value, len, v->sec->raw,
	    sizeof(v->sec->raw)) != 0)
		return KEYS_E_INTERNAL;
	memcpy(out, v->id, idlen);
	out[idlen] = ':';
	n = b64_encode(out + idlen + 1, h, sizeof(h));
	if (outlen != NULL)
		*outlen = idlen + 1 + n;
	return KEYS_OK;
}

/* The fingerprint of value under version v: keyed BLAKE2b-128, base64url. */
static int
fp_under(const struct keys_version *v, const void *value, size_t len,
    char out[KEYS_FP_LEN + 1])
{
	uint8_t	h[16];

	if ((value == NULL && len > 0) || crypto_generichash(h, sizeof(h),
	    value, len, v->sec->raw, sizeof(v->sec->raw)) != 0)
		return -1;
	b64_encode(out, h, sizeof(h));
	return 0;
}

int
keys_fingerprint(const struct keys_ring *r, const void *value, size_t len,
    char out[KEYS_FP_LEN + 1])
{
	const struct keys_version	*v = NULL;

	out[0] = '\0';
	if (r == NULL || writer_of(r->fp, KEYS_P_HASH, &v) != KEYS_OK)
		return -1;
	return fp_under(v, value, len, out);
}

size_t
keys_fingerprints(const struct keys_ring *r, const void *value, size_t len,
    char (*out)[KEYS_FP_LEN + 1], size_t max)
{
	const struct keys_key	*k = r != NULL ? r->fp : NULL;
	size_t			 n = 0;

	if (max == 0 || keys_fingerprint(r, value, len, out[0]) < 0)
		return 0;
	n = 1;
	for (size_t i = k->nv; i-- > 0 && n < max;) {
		const struct keys_version *v = &k->v[i];

		if (v->number == k->writer || v->sec == NULL ||
		    v->state == KEYS_V_RETIRED)
			continue;
		if (fp_under(v, value, len, out[n]) < 0)
			break;
		n++;
	}
	return n;
}

int
keys_sign_audit(const struct keys_ring *r, const void *msg, size_t len,
    uint8_t sig[KEYS_SIG_BYTES], const char **key_id)
{
	const struct keys_version	*v = NULL;

	if (r == NULL || writer_of(r->audit, KEYS_P_AUDIT_SIGN, &v) != KEYS_OK)
		return -1;
	if (crypto_sign_detached(sig, NULL, msg, len, v->sec->sk) != 0)
		return -1;
	if (key_id != NULL)
		*key_id = v->id;
	return 0;
}

int
keys_verify_audit(const struct keys_ring *r, const char *key_id,
    const void *msg, size_t len, const uint8_t sig[KEYS_SIG_BYTES])
{
	const struct keys_key	*k = r ? r->audit : NULL;

	if (k == NULL || key_id == NULL)
		return -1;
	for (size_t i = 0; i < k->nv; i++)
		if (strcmp(k->v[i].id, key_id) == 0)
			return crypto_sign_verify_detached(sig, msg, len,
			    k->v[i].pk) == 0 ? 0 : -1;
	return -1;
}

int
keys_audit_public(const struct keys_ring *r, const struct keys_key *k,
    uint32_t version, uint8_t pk[KEYS_PK_BYTES], const char **key_id)
{
	const struct keys_version	*v;

	if (k == NULL)
		k = r ? r->audit : NULL;
	if (k == NULL || k->purpose != KEYS_P_AUDIT_SIGN)
		return -1;
	if ((v = keys_version_get(k, version ? version : k->writer)) == NULL)
		return -1;
	memcpy(pk, v->pk, KEYS_PK_BYTES);
	if (key_id != NULL)
		*key_id = v->id;
	return 0;
}

int
keys_export_public(const struct keys_ring *r, const struct keys_key *k,
    uint32_t version, char *out, size_t outcap)
{
	uint8_t		 pk[KEYS_PK_BYTES];
	const char	*id;
	size_t		 o;

	if (outcap > 0)
		out[0] = '\0';
	if (keys_audit_public(r, k, version, pk, &id) != 0)
		return -1;
	o = strlen("ed25519:") + strlen(id) + 1;
	if (outcap < o + sodium_base64_ENCODED_LEN(sizeof(pk), B64V))
		return -1;
	memcpy(out, "ed25519:", 8);
	memcpy(out + 8, id, strlen(id));
	out[o - 1] = ':';
	b64_encode(out + o, pk, sizeof(pk));
	return 0;
}

int
keys_harden_process(void)
{
	struct rlimit	 rl = { 0, 0 };

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return -1;
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		return -1;
	return 0;
}
