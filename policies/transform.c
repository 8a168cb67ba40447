/* policies/transform.c — the actions on one value: mask, redact text, and the
 * keyed ones (hash, tokenize, encrypt, reveal) through keys/. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keys/keys.h"
#include "policies/internal.h"

int
pol_buf_reserve(char **buf, size_t *cap, size_t need)
{
	char	*nb;
	size_t	 nc;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap : 256;
	while (nc < need)
		nc *= 2;
	if ((nb = realloc(*buf, nc)) == NULL)
		return -1;
	*buf = nb;
	*cap = nc;
	return 0;
}

/* Length of the UTF-8 sequence starting at s (at most <left> bytes); an
 * invalid lead or truncated sequence counts as one byte, one character. */
static size_t
u8len(const unsigned char *s, size_t left)
{
	size_t n = s[0] < 0x80 ? 1 : (s[0] >> 5) == 6 ? 2 :
	    (s[0] >> 4) == 14 ? 3 : (s[0] >> 3) == 30 ? 4 : 1;

	if (n > left)
		return 1;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

static size_t
u8count(const char *v, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; n++)
		i += u8len((const unsigned char *)v + i, len - i);
	return n;
}

/* The byte offset of character <c> of v (len when there are fewer). */
static size_t
u8offset(const char *v, size_t len, size_t c)
{
	size_t i = 0;

	for (; c > 0 && i < len; c--)
		i += u8len((const unsigned char *)v + i, len - i);
	return i;
}

/* Whether every byte of v is ASCII (then bytes are characters). */
static int
ascii(const char *v, size_t len)
{
	uint64_t	w, acc = 0;
	size_t		i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, v + i, 8);
		acc |= w;
	}
	for (; i < len; i++)
		acc |= (unsigned char)v[i];
	return (acc & 0x8080808080808080ull) == 0;
}

/* The last '@' of v (memrchr is a GNU extension). */
static const char *
last_at(const char *v, size_t len)
{
	while (len > 0)
		if (v[--len] == '@')
			return v + len;
	return NULL;
}

/*
 * Masks characters (not bytes: "张三丰" with keep_first 1 is "张**"). When
 * keep_first + keep_last would keep the whole value, everything is masked:
 * a mask never passes a short value through in the clear. style: email keeps
 * the first character of the local part and the whole domain:
 * "jane.doe@example.com" -> "j***@example.com"; a value without '@' (or
 * with an empty local part) is masked as a whole instead.
 */
size_t
pol_mask(const struct pol_act *a, const char *v, size_t len, char **buf,
    size_t *cap)
{
	size_t n, kf = a->keep_first, kl = a->keep_last, o = 0, i;
	size_t head, tail, mid;
	const char *at;

	if (a->email && (at = last_at(v, len)) != NULL && at > v) {
		size_t first = u8len((const unsigned char *)v,
		    (size_t)(at - v));
		size_t dom = len - (size_t)(at - v);

		if (pol_buf_reserve(buf, cap, first + 3 * a->mchar_len + dom +
		    1) < 0)
			return (size_t)-1;
		memcpy(*buf, v, first);
		o = first;
		for (i = 0; i < 3; i++, o += a->mchar_len)
			memcpy(*buf + o, a->mchar, a->mchar_len);
		memcpy(*buf + o, at, dom);
		o += dom;
		(*buf)[o] = '\0';
		return o;
	}
	/* the kept head v[0, head) and tail v[tail, len), in characters
	 * (bytes are characters when all are ASCII: no walk) */
	n = ascii(v, len) ? len : u8count(v, len);
	if (kf + kl >= n)
		kf = kl = 0;
	mid = n - kf - kl;
	head = n == len ? kf : u8offset(v, len, kf);
	tail = n == len ? len - kl : head + u8offset(v + head, len - head, mid);
	if (pol_buf_reserve(buf, cap, head + mid * a->mchar_len + len - tail +
	    1) < 0)
		return (size_t)-1;
	memcpy(*buf, v, head);
	o = head;
	if (a->mchar_len == 1) {
		memset(*buf + o, a->mchar[0], mid);
		o += mid;
	} else
		for (i = 0; i < mid; i++, o += a->mchar_len)
			memcpy(*buf + o, a->mchar, a->mchar_len);
	memcpy(*buf + o, v + tail, len - tail);
	o += len - tail;
	(*buf)[o] = '\0';
	return o;
}

size_t
pol_redact_text(const struct pol_act *a, const char *cls, char **buf,
    size_t *cap)
{
	size_t n, c;

	if (a != NULL && a->text != NULL) {
		n = strlen(a->text);
		if (pol_buf_reserve(buf, cap, n + 1) < 0)
			return (size_t)-1;
		memcpy(*buf, a->text, n + 1);
		return n;
	}
	c = strlen(cls);
	n = c + sizeof("[REDACTED:]") - 1;
	if (pol_buf_reserve(buf, cap, n + 1) < 0)
		return (size_t)-1;
	memcpy(*buf, "[REDACTED:", 10);
	memcpy(*buf + 10, cls, c);
	memcpy(*buf + 10 + c, "]", 2);
	return n;
}

/*
 * hash, tokenize, encrypt (under the key the action names) and reveal (under
 * the key the token names, checked against the class). Returns the length,
 * or (size_t)-1 with *why a static reason; the caller then redacts.
 * reveal of a value that is not a custos token keeps the value: the rule
 * says this role may read it, and it is already in the clear.
 */
size_t
pol_keyed(const struct pol_act *a, const struct keys_ring *ring,
    const char *cls, const char *v, size_t len, char **buf, size_t *cap,
    const char **why)
{
	const struct keys_key	*k;
	enum keys_status	 st;
	size_t			 outlen = 0, need;

	if (ring == NULL) {
		*why = "no keyring configured";
		return (size_t)-1;
	}
	if (a->kind == POL_A_REVEAL) {
		if (!keys_is_token(v, len)) {
			if (pol_buf_reserve(buf, cap, len + 1) < 0)
				goto nomem;
			memcpy(*buf, v, len);
			(*buf)[len] = '\0';
			return len;
		}
		need = keys_reveal_size(len) + 1;
		if (pol_buf_reserve(buf, cap, need) < 0)
			goto nomem;
		st = keys_reveal(ring, cls, v, len, *buf, *cap, &outlen);
		if (st != KEYS_OK) {
			*why = keys_strerror(st);
			return (size_t)-1;
		}
		return outlen;
	}
	if ((k = keys_find(ring, a->key)) == NULL) {
		*why = "the action's key is not in the keyring";
		return (size_t)-1;
	}
	if (a->kind == POL_A_HASH) {
		if (pol_buf_reserve(buf, cap, KEYS_HASH_MAX) < 0)
			goto nomem;
		st = keys_hash(k, v, len, *buf, *cap, &outlen);
	} else {
		need = keys_token_size(k, len);
		if (pol_buf_reserve(buf, cap, need) < 0)
			goto nomem;
		st = a->kind == POL_A_TOKENIZE ?
		    keys_tokenize(k, cls, v, len, *buf, *cap, &outlen) :
		    keys_encrypt(k, cls, v, len, *buf, *cap, &outlen);
	}
	if (st != KEYS_OK) {
		*why = keys_strerror(st);
		return (size_t)-1;
	}
	return outlen;
nomem:
	*why = "out of memory";
	return (size_t)-1;
}
