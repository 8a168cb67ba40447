/* proxy/json.c — the streaming JSON rewriter: one pass, chunk by chunk,
 * validating RFC 8259 and UTF-8, reporting every value to a visitor and
 * copying untouched input through as spans. */

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "classifiers/classifiers.h"
#include "proxy/json.h"

/*
 * How output is produced
 * ----------------------
 * Every input byte has an absolute offset (from the start of the body).
 * <emit> is the offset up to which input has been dealt with: either copied
 * to the output or deliberately dropped.  Copying is lazy: nothing is written
 * while scanning; bytes are appended to the output as whole spans when an
 * edit needs it (copy_to) and once at the end of every chunk.  With no edit,
 * feeding a chunk costs one evbuffer_add().
 *
 * A visitor may remove a member.  That drops "the comma before it, the key,
 * the colon and the value", so those bytes must not be written before the
 * visitor has decided.  <pending> is the offset where such an undecided
 * region starts (the comma, or the key / value itself when there is no
 * comma before it); at most one region is undecided at a time, because the
 * visitor decides on a container as soon as it opens.  When a chunk ends
 * inside an undecided region, its bytes are kept in <hold> until the next
 * chunk decides them.  A region holds at most two strings (key and value),
 * each at most 6 * max_string + 2 raw bytes, one comma, one colon and at
 * most JSON_WS_MAX bytes of whitespace (more is refused as "too much
 * whitespace", JSON_TOO_LONG), so <hold> is bounded by hold_max.
 *
 * Commas stay valid on removal: removing a member drops it with the comma
 * before it; a member that is written while no earlier member of its
 * container has been written (they were all removed) drops its own leading
 * comma instead (flag C_ANY_OUT).  A removed or replaced container is
 * skipped whole (skipping, skip_depth): it is still validated, its children
 * are not visited and none of its bytes are written.
 *
 * Errors are deterministic: the same input gives the same status, reason and
 * offset however it is split into chunks.  That is why limits that are
 * checked lazily (string and number length) are also checked before any
 * other error inside the same token is reported.
 *
 * Memory, all allocated up front or grown to a fixed ceiling:
 *   - per nesting level 41 bytes (flags, key position, and the segment
 *     the visitor reads: key, length, index, prefix hash): max_depth;
 *   - sbuf, one decoded string or number (visitor only, grown when a
 *     token has escapes or spans chunks): max_string;
 *   - kbuf, the keys of the current path (visitor only): at most
 *     2 * max_string + 64 KiB, a longer path is refused ("path too long");
 *   - hold (visitor only): hold_max, about 12 * max_string + 64 KiB, and in
 *     practice the few bytes of the member a chunk boundary falls into;
 *   - the edit: what the visitor asks to write.
 * Without a visitor only the per-level arrays exist and the output is the
 * input, chunk by chunk.  The two visitor-only ceilings (whitespace in one
 * member, path length) mean a visitor can refuse a body that the bare
 * validator accepts; both are far beyond anything a real API sends.
 *
 * Strings never fail on the decoded content: "\u0000" is accepted (the
 * visitor gets a NUL byte inside <len>).  NDJSON: every line holds exactly
 * one value; blank lines (spaces, tabs, "\r") are allowed; a newline inside
 * a value is an error; the last line needs no newline.
 */

#define JSON_WS_MAX		65536	/* whitespace inside one undecided member */
#define JSON_DEF_DEPTH		256
#define JSON_DEF_STRING		(1024 * 1024)
#define JSON_NONE		UINT64_MAX

enum st {
	ST_START,		/* first byte of the body: maybe a BOM */
	ST_BOM,			/* inside the BOM */
	ST_VALUE,		/* a value (root, after ':' or after ',' in []) */
	ST_FIRST_ELEM,		/* after '[': a value or ']' */
	ST_FIRST_KEY,		/* after '{': a key or '}' */
	ST_KEY,			/* after ',' in {}: a key */
	ST_COLON,		/* after a key */
	ST_AFTER,		/* after a value in a container: ',' or close */
	ST_END,			/* after the root value */
	ST_STR,			/* inside a string (key or value) */
	ST_NUM,			/* inside a number */
	ST_LIT,			/* inside true / false / null */
};

enum esc {
	ESC_NONE, ESC_START, ESC_U, ESC_LOW_BS, ESC_LOW_U,
};

enum num {
	N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP,
};

#define C_OBJ		0x01	/* container is an object */
#define C_ANY_OUT	0x02	/* a member of it has been written */

struct json_path {
	const struct json_rw	*rw;
	size_t			 depth;
};

struct json_edit {
	char		*buf;
	size_t		 len;
	size_t		 cap;
	int		 set;
	int		 oom;
};

struct json_rw {
	struct json_limits	 lim;
	json_visit_fn		 visit;
	void			*ud;

	enum json_status	 status;
	const char		*err;
	uint64_t		 err_off;
	uint64_t		 total;		/* input bytes consumed */

	enum st			 state;
	size_t			 depth;		/* open containers */
	uint8_t			*cflags;	/* [max_depth] C_* */
	size_t			*ckey_off;	/* [max_depth] key in kbuf */
	/* [max_depth] the path as json_path_segs() gives it: an object's
	 * key points into kbuf (rebased when kbuf moves) or at "" before
	 * its first key; an array's is NULL, with the element index */
	struct cls_seg		*segs;
	char			*kbuf;		/* keys of the path */
	size_t			 kbuf_cap;
	size_t			 kbuf_max;

	/* The token being scanned. */
	int			 str_key;	/* the string is a key */
	int			 dec;		/* decode it (visitor wants it) */
	enum esc		 esc;
	int			 ucount;
	uint32_t		 ucp;
	uint32_t		 hi_surr;
	int			 u8_need;	/* UTF-8 continuation bytes due */
	uint8_t			 u8_lo, u8_hi;	/* range of the next one */
	size_t			 slen;		/* decoded bytes so far */
	size_t			 seg;		/* start of plain run in chunk */
	char			*sbuf;		/* decoded token, grown lazily */
	size_t			 sb_cap;	/* to at most max_string + 4 */
	size_t			 sb_len;
	int			 in_sbuf;	/* token lives in sbuf */
	uint64_t		 tok_start;	/* offset of its first byte */
	enum num		 num;
	const char		*lit;
	size_t			 lit_idx;
	enum json_type		 lit_type;

	/* Output (see the comment at the top). */
	uint64_t		 emit;
	char			*hold;
	size_t			 hold_len;
	size_t			 hold_cap;
	size_t			 hold_max;
	uint64_t		 hold_off;
	uint64_t		 pending;
	uint64_t		 comma;
	int			 has_comma;
	size_t			 pend_ws;
	int			 skipping;
	size_t			 skip_depth;
	struct json_edit	 edit;

	/* The chunk being fed. */
	struct evbuffer		*out;
	const uint8_t		*p;
	size_t			 n;
	uint64_t		 base;
};

/* 1 for string bytes that end a run of plain ASCII: '"', '\\', control
 * characters and every byte >= 0x80 (UTF-8 is validated apart). */
static const uint8_t str_stop[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static const char lit_true[] = "true";
static const char lit_false[] = "false";
static const char lit_null[] = "null";

static int
fail(struct json_rw *rw, enum json_status st, const char *why, uint64_t off)
{
	rw->status = st;
	rw->err = why;
	rw->err_off = off;
	return -1;
}

/* ---- output spans ------------------------------------------------------ */

static int
out_add(struct json_rw *rw, const void *s, size_t n)
{
	if (rw->out == NULL || n == 0)
		return 0;
	if (evbuffer_add(rw->out, s, n) != 0)
		return fail(rw, JSON_TOO_LONG, "out of memory", rw->emit);
	return 0;
}

/* Writes input [emit, to) to the output; the part before the chunk comes
 * from hold.  Requires emit <= to. */
static int
copy_to(struct json_rw *rw, uint64_t to)
{
	uint64_t	 mid;

	if (to <= rw->emit)
		return 0;
	if (rw->emit < rw->base) {
		mid = to < rw->base ? to : rw->base;
		if (out_add(rw, rw->hold + (rw->emit - rw->hold_off),
		    (size_t)(mid - rw->emit)) != 0)
			return -1;
		rw->emit = mid;
	}
	if (to > rw->emit) {
		if (out_add(rw, rw->p + (rw->emit - rw->base),
		    (size_t)(to - rw->emit)) != 0)
			return -1;
		rw->emit = to;
	}
	return 0;
}

static void
skip_to(struct json_rw *rw, uint64_t to)
{
	if (to > rw->emit)
		rw->emit = to;
}

/* End of a chunk: write what is decided, keep the undecided region. */
static int
chunk_end(struct json_rw *rw)
{
	uint64_t	 end = rw->base + rw->n, from;
	size_t		 keep, kept = 0, off, cap;
	char		*nb;

	if (rw->skipping || rw->pending == JSON_NONE) {
		if (rw->skipping)
			skip_to(rw, end);
		else if (copy_to(rw, end) != 0)
			return -1;
		rw->hold_len = 0;
		rw->hold_off = end;
		return 0;
	}
	if (copy_to(rw, rw->pending) != 0)
		return -1;
	keep = (size_t)(end - rw->emit);
	if (keep > rw->hold_max)	/* cannot happen: see hold_max */
		return fail(rw, JSON_TOO_LONG, "member too long", end);
	if (keep > rw->hold_cap) {
		cap = rw->hold_cap ? rw->hold_cap : 4096;
		while (cap < keep)
			cap *= 2;
		if ((nb = realloc(rw->hold, cap)) == NULL)
			return fail(rw, JSON_TOO_LONG, "out of memory", end);
		rw->hold = nb;
		rw->hold_cap = cap;
	}
	if (rw->emit < rw->base) {
		off = (size_t)(rw->emit - rw->hold_off);
		kept = rw->hold_len - off;
		if (off > 0 && kept > 0)
			memmove(rw->hold, rw->hold + off, kept);
	}
	from = rw->emit > rw->base ? rw->emit : rw->base;
	if (end > from)		/* an empty chunk may come with p == NULL */
		memcpy(rw->hold + kept, rw->p + (from - rw->base),
		    (size_t)(end - from));
	rw->hold_len = keep;
	rw->hold_off = rw->emit;
	return 0;
}

/* ---- edits ------------------------------------------------------------- */

static int
edit_grow(struct json_edit *e, size_t more)
{
	size_t	 cap;
	char	*nb;

	if (e->oom)
		return -1;
	if (e->len + more <= e->cap)
		return 0;
	cap = e->cap ? e->cap : 64;
	while (cap < e->len + more)
		cap *= 2;
	if ((nb = realloc(e->buf, cap)) == NULL) {
		e->oom = 1;
		return -1;
	}
	e->buf = nb;
	e->cap = cap;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 if invalid. */
static size_t
utf8_seq(const uint8_t *s, size_t n)
{
	uint8_t	 c = s[0], lo = 0x80, hi = 0xbf;
	size_t	 len, k;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len)
		return 0;
	for (k = 1; k < len; k++) {
		if (s[k] < lo || s[k] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

/* ---- scanning ---------------------------------------------------------- */

#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL

/* First byte in [s, e) that is not plain ASCII string content.  Eight bytes
 * at a time while none is '"', '\\', < 0x20 or >= 0x80 (exact tests, see
 * "Bit Twiddling Hacks": haszero / hasless). */
static inline const uint8_t *
skip_plain(const uint8_t *s, const uint8_t *e)
{
	uint64_t	 x, q, b, m;

	while (e - s >= 8) {
		memcpy(&x, s, 8);
		q = x ^ (ONES * '"');
		b = x ^ (ONES * '\\');
		m = (((q - ONES) & ~q) | ((b - ONES) & ~b) |
		    ((x - ONES * 0x20) & ~x) | x) & HIGHS;
		if (m != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			/* Borrows only flag bytes above a true hit, so
			 * the lowest flag is the first stop byte. */
			return s + (__builtin_ctzll(m) >> 3);
#else
			break;
#endif
		}
		s += 8;
	}
	while (s < e && !str_stop[*s])
		s++;
	return s;
}

/* Writes <s> as a quoted JSON string at <w>, which has room for len * 6 + 2
 * bytes; returns the bytes written. Invalid UTF-8 becomes U+FFFD, control
 * characters and U+2028/U+2029 are escaped. */
static size_t
quote_into(char *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t	*u = (const uint8_t *)s;
	size_t		 i, k;
	char		*w = out;

	*w++ = '"';
	for (i = 0; i < len; ) {
		uint8_t c;

		/* a run of plain bytes in one copy */
		k = (size_t)(skip_plain(u + i, u + len) - (u + i));
		memcpy(w, u + i, k);
		w += k;
		if ((i += k) == len)
			break;
		c = u[i];
		if (c >= 0x80) {
			k = utf8_seq(u + i, len - i);
			if (k == 0) {	/* invalid UTF-8: U+FFFD */
				memcpy(w, "\\ufffd", 6);
				w += 6;
				i++;
				continue;
			}
			/* U+2028 / U+2029 are valid JSON but end lines in
			 * JavaScript; escape them for consumers that eval. */
			if (k == 3 && c == 0xe2 && u[i + 1] == 0x80 &&
			    (u[i + 2] == 0xa8 || u[i + 2] == 0xa9)) {
				memcpy(w, u[i + 2] == 0xa8 ? "\\u2028" :
				    "\\u2029", 6);
				w += 6;
			} else {
				memcpy(w, u + i, k);
				w += k;
			}
			i += k;
			continue;
		}
		*w++ = '\\';
		switch (c) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '\b': *w++ = 'b'; break;
		case '\f': *w++ = 'f'; break;
		case '\n': *w++ = 'n'; break;
		case '\r': *w++ = 'r'; break;
		case '\t': *w++ = 't'; break;
		default:
			*w++ = 'u';
			*w++ = '0';
			*w++ = '0';
			*w++ = hex[c >> 4];
			*w++ = hex[c & 15];
		}
		i++;
	}
	*w++ = '"';
	return (size_t)(w - out);
}

void
json_edit_string(struct json_edit *e, const char *s, size_t len)
{
	e->len = 0;
	e->set = 1;
	/* Worst case: every byte becomes a 6-byte \u escape. */
	if (len > (SIZE_MAX - 2) / 6 || edit_grow(e, len * 6 + 2) != 0) {
		e->oom = 1;
		return;
	}
	e->len = quote_into(e->buf, s, len);
}

int
json_quote(struct evbuffer *out, const char *s, size_t len)
{
	struct evbuffer_iovec v;

	if (len > (SIZE_MAX - 2) / 6 ||
	    evbuffer_reserve_space(out, (ev_ssize_t)(len * 6 + 2), &v, 1) < 1)
		return -1;
	v.iov_len = quote_into(v.iov_base, s, len);
	return evbuffer_commit_space(out, &v, 1);
}

void
json_member(struct evbuffer *out, int *first, const char *key,
    const char *val)
{
	evbuffer_add_printf(out, "%s\"%s\":", *first ? "" : ",", key);
	*first = 0;
	if (val == NULL)
		evbuffer_add(out, "null", 4);
	else
		(void)json_quote(out, val, strlen(val));
}

void
json_edit_raw(struct json_edit *e, const char *s, size_t len)
{
	e->len = 0;
	e->set = 1;
	if (len == 0 || edit_grow(e, len) != 0)
		return;
	memcpy(e->buf, s, len);
	e->len = len;
}

/* ---- paths ------------------------------------------------------------- */

size_t
json_path_depth(const struct json_path *pa)
{
	return pa->depth;
}

int
json_path_seg(const struct json_path *pa, size_t i, const char **key,
    size_t *len, uint64_t *index)
{
	const struct json_rw *rw = pa->rw;

	if (i >= pa->depth)
		return -1;
	if (rw->segs[i].key != NULL) {
		if (key != NULL)
			*key = rw->segs[i].key;
		if (len != NULL)
			*len = rw->segs[i].len;
		return 1;
	}
	if (index != NULL)
		*index = rw->segs[i].index;
	return 0;
}

const struct cls_seg *
json_path_segs(const struct json_path *pa)
{
	return pa->rw->segs;
}

size_t
json_path_format(const struct json_path *pa, char *buf, size_t size,
    int fold)
{
	struct cls_path	 p = { pa->rw->segs, pa->depth, 1 };

	return cls_path_format(&p, fold, buf, size);
}

/* ---- the visitor ------------------------------------------------------- */

/* The member being decided will be written: if no earlier member of its
 * container was (all removed), its own leading comma goes instead. */
static int
written(struct json_rw *rw, size_t d)
{
	if (rw->has_comma && !(rw->cflags[d - 1] & C_ANY_OUT)) {
		if (copy_to(rw, rw->comma) != 0)
			return -1;
		skip_to(rw, rw->comma + 1);
	}
	rw->cflags[d - 1] |= C_ANY_OUT;
	return 0;
}

/* Asks the visitor about the value [vstart, vend) (for a container: its
 * opening bracket; the value is then skipped by the scanner) and applies
 * the answer to the output.  Returns 0, or -1 with the status set. */
static int
decide(struct json_rw *rw, enum json_type t, const char *ptr, size_t len,
    uint64_t vstart, uint64_t vend)
{
	struct json_path	 path = { rw, rw->depth };
	struct json_value	 v = { t, ptr, len };
	enum json_action	 act;
	size_t			 d = rw->depth;
	int			 container = (t == JSON_OBJECT || t == JSON_ARRAY);
	const char		*rep;
	size_t			 rlen;

	rw->edit.len = 0;
	rw->edit.set = 0;
	act = rw->visit(rw->ud, &path, &v, &rw->edit);
	switch (act) {
	case JSON_KEEP:
		if (d > 0 && written(rw, d) != 0)
			return -1;
		break;
	case JSON_REMOVE:
		if (d > 0) {
			if (copy_to(rw, rw->pending) != 0)
				return -1;
			if (container) {
				rw->skipping = 1;
				rw->skip_depth = d;
			} else
				skip_to(rw, vend);
			break;
		}
		/* The root is replaced by null. */
		/* FALLTHROUGH */
	case JSON_REPLACE:
		if (rw->edit.oom)
			return fail(rw, JSON_TOO_LONG, "out of memory", vstart);
		if (act == JSON_REMOVE || !rw->edit.set) {
			/* REPLACE without an edit: fail closed to null. */
			rep = lit_null;
			rlen = 4;
		} else {
			rep = rw->edit.buf;
			rlen = rw->edit.len;
		}
		if (d > 0 && written(rw, d) != 0)
			return -1;
		if (copy_to(rw, vstart) != 0 || out_add(rw, rep, rlen) != 0)
			return -1;
		if (container) {
			rw->skipping = 1;
			rw->skip_depth = d;
		} else
			skip_to(rw, vend);
		break;
	case JSON_STOP:
		return fail(rw, JSON_STOPPED, "stopped by the visitor", vstart);
	default:
		return fail(rw, JSON_STOPPED, "invalid visitor action", vstart);
	}
	rw->pending = JSON_NONE;
	return 0;
}

/* Appends to the decoded token, growing sbuf up to max_string + 4 (the
 * callers check max_string first). */
static int
sbuf_put(struct json_rw *rw, const char *s, size_t n)
{
	size_t	 cap, max = rw->lim.max_string + 4;
	char	*nb;

	if (rw->sb_len + n > rw->sb_cap) {
		cap = rw->sb_cap ? rw->sb_cap : 256;
		while (cap < rw->sb_len + n)
			cap *= 2;
		if (cap > max)
			cap = max;
		if (rw->sb_len + n > cap ||
		    (nb = realloc(rw->sbuf, cap)) == NULL)
			return fail(rw, JSON_TOO_LONG, "out of memory",
			    rw->tok_start);
		rw->sbuf = nb;
		rw->sb_cap = cap;
	}
	memcpy(rw->sbuf + rw->sb_len, s, n);
	rw->sb_len += n;
	return 0;
}

/* Adds the plain run p[seg, i) to the token; checks max_string first. */
static inline int
str_run(struct json_rw *rw, size_t i)
{
	size_t	 run = i - rw->seg;

	if (run > rw->lim.max_string - rw->slen)
		return fail(rw, JSON_TOO_LONG, "string too long",
		    rw->base + rw->seg + (rw->lim.max_string - rw->slen));
	/* A plain string whole in its chunk is never copied. */
	if (rw->in_sbuf && run > 0 &&
	    sbuf_put(rw, (const char *)rw->p + rw->seg, run) != 0)
		return -1;
	rw->slen += run;
	rw->seg = i;
	return 0;
}

/* Adds decoded bytes (from an escape ending at offset off). */
static int
str_dec(struct json_rw *rw, const char *s, size_t n, uint64_t off)
{
	if (n > rw->lim.max_string - rw->slen)
		return fail(rw, JSON_TOO_LONG, "string too long", off);
	if (rw->dec) {
		rw->in_sbuf = 1;
		if (sbuf_put(rw, s, n) != 0)
			return -1;
	}
	rw->slen += n;
	return 0;
}

/* One byte of an escape sequence at p[i]. */
static int
str_esc(struct json_rw *rw, uint8_t c, size_t i)
{
	uint64_t	 off = rw->base + i;
	char		 u[4];
	uint32_t	 cp;
	int		 h;
	size_t		 n;

	switch (rw->esc) {
	case ESC_START:
		switch (c) {
		case '"': case '\\': case '/': u[0] = (char)c; break;
		case 'b': u[0] = '\b'; break;
		case 'f': u[0] = '\f'; break;
		case 'n': u[0] = '\n'; break;
		case 'r': u[0] = '\r'; break;
		case 't': u[0] = '\t'; break;
		case 'u':
			rw->esc = ESC_U;
			rw->ucount = 0;
			rw->ucp = 0;
			return 0;
		default:
			return fail(rw, JSON_BAD, "invalid escape", off);
		}
		rw->esc = ESC_NONE;
		return str_dec(rw, u, 1, off);
	case ESC_U:
		if ((h = json_hexval(c)) < 0)
			return fail(rw, JSON_BAD, "invalid \\u escape", off);
		rw->ucp = rw->ucp << 4 | (uint32_t)h;
		if (++rw->ucount < 4)
			return 0;
		cp = rw->ucp;
		if (rw->hi_surr) {
			if (cp < 0xdc00 || cp > 0xdfff)
				return fail(rw, JSON_BAD, "lone surrogate", off);
			cp = 0x10000 + ((rw->hi_surr - 0xd800) << 10) +
			    (cp - 0xdc00);
			rw->hi_surr = 0;
		} else if (cp >= 0xd800 && cp <= 0xdbff) {
			rw->hi_surr = cp;
			rw->esc = ESC_LOW_BS;
			return 0;
		} else if (cp >= 0xdc00 && cp <= 0xdfff)
			return fail(rw, JSON_BAD, "lone surrogate", off);
		rw->esc = ESC_NONE;
		if (cp < 0x80) {
			u[0] = (char)cp;
			n = 1;
		} else if (cp < 0x800) {
			u[0] = (char)(0xc0 | cp >> 6);
			u[1] = (char)(0x80 | (cp & 0x3f));
			n = 2;
		} else if (cp < 0x10000) {
			u[0] = (char)(0xe0 | cp >> 12);
			u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
			u[2] = (char)(0x80 | (cp & 0x3f));
			n = 3;
		} else {
			u[0] = (char)(0xf0 | cp >> 18);
			u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
			u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
			u[3] = (char)(0x80 | (cp & 0x3f));
			n = 4;
		}
		return str_dec(rw, u, n, off);
	case ESC_LOW_BS:
		if (c != '\\')
			return fail(rw, JSON_BAD, "lone surrogate", off);
		rw->esc = ESC_LOW_U;
		return 0;
	case ESC_LOW_U:
		if (c != 'u')
			return fail(rw, JSON_BAD, "lone surrogate", off);
		rw->esc = ESC_U;
		rw->ucount = 0;
		rw->ucp = 0;
		return 0;
	case ESC_NONE:
		break;
	}
	return 0;
}

/* Scans string bytes from p[i].  Returns the index after the closing quote
 * with *done set, n when the chunk ends inside, or (size_t)-1 on error. */
static size_t
str_scan(struct json_rw *rw, size_t i, int *done)
{
	const uint8_t	*p = rw->p, *s;
	size_t		 n = rw->n, k;
	uint8_t		 c, lo, hi;

	*done = 0;
	for (;;) {
		while (rw->esc != ESC_NONE) {
			if (i == n)
				return n;
			if (str_esc(rw, p[i], i) != 0)
				return (size_t)-1;
			rw->seg = ++i;
		}
		while (rw->u8_need > 0) {
			if (i == n)
				goto chunk_end;
			c = p[i];
			if (c < rw->u8_lo || c > rw->u8_hi)
				goto bad_utf8;
			rw->u8_lo = 0x80;
			rw->u8_hi = 0xbf;
			rw->u8_need--;
			i++;
		}
		s = skip_plain(p + i, p + n);
		i = (size_t)(s - p);
		if (i == n)
			goto chunk_end;
		c = *s;
		if (c == '"') {
			if (str_run(rw, i) != 0)
				return (size_t)-1;
			*done = 1;
			return i + 1;
		}
		if (c == '\\') {
			/* From here the token is decoded into sbuf. */
			rw->in_sbuf = rw->dec;
			if (str_run(rw, i) != 0)
				return (size_t)-1;
			rw->esc = ESC_START;
			i++;
			continue;
		}
		if (c < 0x80) {
			if (str_run(rw, i) != 0)
				return (size_t)-1;
			fail(rw, JSON_BAD, "control character in string",
			    rw->base + i);
			return (size_t)-1;
		}
		/* A UTF-8 sequence: whole in the chunk (usual) or split. */
		if (n - i >= 4 || n - i >= (c >= 0xf0 ? 4u : c >= 0xe0 ? 3u : 2u)) {
			if ((k = utf8_seq(s, n - i)) == 0)
				goto bad_utf8_at;
			i += k;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			rw->u8_need = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			rw->u8_need = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			rw->u8_need = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			goto bad_utf8;
		rw->u8_lo = lo;
		rw->u8_hi = hi;
		i++;
	}

bad_utf8_at:
	/* Find the offending byte: the lead, or the first bad continuation. */
	{
		uint8_t	l0 = p[i], l = 0x80, h = 0xbf;
		size_t	need = 0, j;

		if (l0 >= 0xc2 && l0 <= 0xdf)
			need = 1;
		else if (l0 >= 0xe0 && l0 <= 0xef) {
			need = 2;
			l = l0 == 0xe0 ? 0xa0 : 0x80;
			h = l0 == 0xed ? 0x9f : 0xbf;
		} else if (l0 >= 0xf0 && l0 <= 0xf4) {
			need = 3;
			l = l0 == 0xf0 ? 0x90 : 0x80;
			h = l0 == 0xf4 ? 0x8f : 0xbf;
		}
		if (need > 0) {
			for (j = 1; j <= need; j++) {
				if (p[i + j] < l || p[i + j] > h)
					break;
				l = 0x80;
				h = 0xbf;
			}
			i += j;
		}
	}
bad_utf8:
	if (str_run(rw, i) != 0)
		return (size_t)-1;
	fail(rw, JSON_BAD, "invalid UTF-8", rw->base + i);
	return (size_t)-1;

chunk_end:
	return n;	/* the run is added by scan_chunk_end() */
}

/* Whitespace between tokens; '\n' ends an NDJSON record and is handled by
 * the caller there.  Counts whitespace inside an undecided member. */
static inline size_t
skip_ws(struct json_rw *rw, size_t i)
{
	const uint8_t	*p = rw->p;
	size_t		 n = rw->n, start = i;
	int		 nl = !rw->lim.ndjson;

	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' ||
	    (p[i] == '\n' && nl)))
		i++;
	if (rw->pending != JSON_NONE && i > start) {
		if (i - start > JSON_WS_MAX - rw->pend_ws) {
			fail(rw, JSON_TOO_LONG, "too much whitespace",
			    rw->base + start + (JSON_WS_MAX - rw->pend_ws));
			return (size_t)-1;
		}
		rw->pend_ws += i - start;
	}
	return i;
}

/* The token that ends at input offset vend is complete: let the visitor
 * decide and go on after it. */
static int
scalar_done(struct json_rw *rw, enum json_type t, const char *ptr,
    size_t len, uint64_t vend)
{
	if (rw->visit != NULL && !rw->skipping &&
	    decide(rw, t, ptr, len, rw->tok_start, vend) != 0)
		return -1;
	rw->state = rw->depth ? ST_AFTER : ST_END;
	return 0;
}

static int
num_done(struct json_rw *rw, size_t i)
{
	const char	*ptr;
	size_t		 len;

	if (rw->base + i - rw->tok_start > rw->lim.max_string)
		return fail(rw, JSON_TOO_LONG, "number too long",
		    rw->tok_start + rw->lim.max_string);
	if (rw->num != N_ZERO && rw->num != N_INT && rw->num != N_FRAC &&
	    rw->num != N_EXP)
		return fail(rw, JSON_BAD, "invalid number", rw->base + i);
	if (!rw->dec)
		return scalar_done(rw, JSON_NUMBER, NULL, 0, rw->base + i);
	if (rw->in_sbuf) {
		len = i - rw->seg;
		if (len > 0 && sbuf_put(rw, (const char *)rw->p + rw->seg,
		    len) != 0)
			return -1;
		ptr = rw->sbuf;
		len = rw->sb_len;
	} else {
		ptr = (const char *)rw->p + rw->seg;
		len = i - rw->seg;
	}
	return scalar_done(rw, JSON_NUMBER, ptr, len, rw->base + i);
}

/* A container opens at p[i]. */
static int
open_container(struct json_rw *rw, size_t i, int obj)
{
	size_t		 d = rw->depth;
	uint64_t	 h;

	if (d >= rw->lim.max_depth)
		return fail(rw, JSON_TOO_LONG, "nesting too deep", rw->base + i);
	if (rw->visit != NULL && !rw->skipping) {
		if (d == 0) {
			rw->pending = rw->base + i;
			rw->has_comma = 0;
		}
		if (decide(rw, obj ? JSON_OBJECT : JSON_ARRAY, NULL, 0,
		    rw->base + i, rw->base + i + 1) != 0)
			return -1;
	}
	rw->cflags[d] = obj ? C_OBJ : 0;
	/* an array's len stays 0 */
	rw->ckey_off[d] = d > 0 ? rw->ckey_off[d - 1] + rw->segs[d - 1].len : 0;
	h = d > 0 ? rw->segs[d - 1].hash : 0;
	rw->segs[d].key = obj ? "" : NULL;
	rw->segs[d].len = 0;
	rw->segs[d].index = 0;
	rw->segs[d].hash = obj ? cls_hash_bytes(h, "", 0) :
	    cls_hstep(h, UINT64_MAX);
	rw->depth = d + 1;
	rw->state = obj ? ST_FIRST_KEY : ST_FIRST_ELEM;
	return 0;
}

static int
close_container(struct json_rw *rw, size_t i)
{
	rw->depth--;
	if (rw->skipping && rw->depth == rw->skip_depth) {
		skip_to(rw, rw->base + i + 1);
		rw->skipping = 0;
	}
	rw->state = rw->depth ? ST_AFTER : ST_END;
	return 0;
}

/* A string opens at p[i]. */
static void
open_string(struct json_rw *rw, size_t i, int key)
{
	rw->state = ST_STR;
	rw->str_key = key;
	rw->dec = rw->visit != NULL && !rw->skipping;
	rw->esc = ESC_NONE;
	rw->hi_surr = 0;
	rw->u8_need = 0;
	rw->slen = 0;
	rw->sb_len = 0;
	rw->in_sbuf = 0;
	rw->seg = i + 1;
	rw->tok_start = rw->base + i;
}

static int
string_done(struct json_rw *rw, size_t i)
{
	const char	*ptr;
	size_t		 len, d, off;

	/* p[i - 1] is the closing quote. */
	if (!rw->dec) {
		ptr = NULL;	/* nobody looks at it */
		len = 0;
	} else if (rw->in_sbuf) {
		ptr = rw->sbuf;
		len = rw->sb_len;
	} else {	/* plain and whole in this chunk: no copy */
		ptr = (const char *)rw->p + (rw->tok_start + 1 - rw->base);
		len = rw->slen;
	}
	if (!rw->str_key)
		return scalar_done(rw, JSON_STRING, ptr, len, rw->base + i);
	rw->state = ST_COLON;
	if (!rw->dec)
		return 0;
	d = rw->depth - 1;
	off = rw->ckey_off[d];
	if (len > rw->kbuf_max - off)
		return fail(rw, JSON_TOO_LONG, "path too long", rw->tok_start);
	if (off + len > rw->kbuf_cap) {
		size_t	 cap = rw->kbuf_cap ? rw->kbuf_cap : 256;
		char	*nb;

		while (cap < off + len)
			cap *= 2;
		if ((nb = realloc(rw->kbuf, cap)) == NULL)
			return fail(rw, JSON_TOO_LONG, "out of memory",
			    rw->tok_start);
		rw->kbuf = nb;
		rw->kbuf_cap = cap;
		for (size_t j = 0; j < d; j++)	/* the outer keys moved */
			if (rw->segs[j].key != NULL)
				rw->segs[j].key = nb + rw->ckey_off[j];
	}
	if (len > 0)
		memcpy(rw->kbuf + off, ptr, len);
	rw->segs[d].key = rw->kbuf != NULL ? rw->kbuf + off : "";
	rw->segs[d].len = len;
	rw->segs[d].hash = cls_hash_bytes(d > 0 ? rw->segs[d - 1].hash : 0,
	    rw->segs[d].key, len);
	return 0;
}

/* A value starts at p[i] (not whitespace). */
static int
open_value(struct json_rw *rw, size_t i)
{
	uint8_t	 c = rw->p[i];

	if (rw->depth == 0 && rw->visit != NULL) {
		rw->pending = rw->base + i;
		rw->has_comma = 0;
		rw->pend_ws = 0;
	}
	switch (c) {
	case '"':
		open_string(rw, i, 0);
		return 0;
	case '{':
		return open_container(rw, i, 1);
	case '[':
		return open_container(rw, i, 0);
	case 't':
		rw->lit = lit_true;
		rw->lit_type = JSON_TRUE;
		break;
	case 'f':
		rw->lit = lit_false;
		rw->lit_type = JSON_FALSE;
		break;
	case 'n':
		rw->lit = lit_null;
		rw->lit_type = JSON_NULL;
		break;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		rw->state = ST_NUM;
		rw->num = c == '-' ? N_MINUS : c == '0' ? N_ZERO : N_INT;
		rw->dec = rw->visit != NULL && !rw->skipping;
		rw->in_sbuf = 0;
		rw->sb_len = 0;
		rw->seg = i;
		rw->tok_start = rw->base + i;
		return 0;
	default:
		return fail(rw, JSON_BAD, "unexpected character", rw->base + i);
	}
	rw->state = ST_LIT;
	rw->lit_idx = 1;
	rw->tok_start = rw->base + i;
	return 0;
}

/* The chunk ends inside a string or number (which may have begun on its
 * last byte): keep its text so far for the visitor. */
static void
scan_chunk_end(struct json_rw *rw)
{
	size_t	 n = rw->n;

	if (rw->state == ST_STR) {
		/* Inside an escape nothing is due (seg is stale there). */
		rw->in_sbuf = rw->dec;
		if (rw->esc == ESC_NONE && str_run(rw, n) != 0)
			return;
	} else if (rw->state == ST_NUM) {
		if (rw->base + n - rw->tok_start > rw->lim.max_string) {
			fail(rw, JSON_TOO_LONG, "number too long",
			    rw->tok_start + rw->lim.max_string);
			return;
		}
		if (rw->dec) {
			rw->in_sbuf = 1;
			if (n > rw->seg && sbuf_put(rw, (const char *)rw->p +
			    rw->seg, n - rw->seg) != 0)
				return;
		}
	}
}

/* Runs the state machine over the chunk rw->p[0, rw->n). */
static void
scan(struct json_rw *rw)
{
	const uint8_t	*p = rw->p;
	size_t		 n = rw->n, i = 0;
	uint8_t		 c;
	int		 done;

	if (n == 0)
		return;
	if (rw->state == ST_STR || rw->state == ST_NUM)
		rw->seg = 0;
	while (i < n) {
		switch (rw->state) {
		case ST_START:
			if (p[i] == 0xef) {
				if (!rw->lim.allow_bom) {
					fail(rw, JSON_BAD, "byte order mark",
					    rw->base + i);
					return;
				}
				rw->pending = 0;	/* hold it back */
				rw->lit_idx = 1;
				rw->state = ST_BOM;
				i++;
				break;
			}
			rw->state = ST_VALUE;
			break;
		case ST_BOM:
			if (p[i] != (rw->lit_idx == 1 ? 0xbb : 0xbf)) {
				fail(rw, JSON_BAD, "invalid UTF-8",
				    rw->base + i);
				return;
			}
			i++;
			if (++rw->lit_idx == 3) {
				rw->pending = JSON_NONE;
				skip_to(rw, 3);
				rw->state = ST_VALUE;
			}
			break;
		case ST_STR:
		str:
			i = str_scan(rw, i, &done);
			if (i == (size_t)-1)
				return;
			if (!done)
				break;
			if (string_done(rw, i) != 0)
				return;
			if (rw->state == ST_COLON && i < n && p[i] == ':') {
				rw->state = ST_VALUE;
				i++;
				goto value;
			}
			break;
		case ST_NUM:
			for (; i < n; i++) {
				c = p[i];
				if (c >= '0' && c <= '9') {
					switch (rw->num) {
					case N_MINUS:
						rw->num = c == '0' ? N_ZERO : N_INT;
						break;
					case N_ZERO:
						/* Length first, as everywhere. */
						if (rw->base + i - rw->tok_start >
						    rw->lim.max_string)
							fail(rw, JSON_TOO_LONG,
							    "number too long",
							    rw->tok_start +
							    rw->lim.max_string);
						else
							fail(rw, JSON_BAD,
							    "leading zero",
							    rw->base + i);
						return;
					case N_DOT:
						rw->num = N_FRAC;
						break;
					case N_E:
					case N_ESIGN:
						rw->num = N_EXP;
						break;
					default:
						break;
					}
					continue;
				}
				if (c == '.' && (rw->num == N_ZERO ||
				    rw->num == N_INT)) {
					rw->num = N_DOT;
					continue;
				}
				if ((c | 0x20) == 'e' && (rw->num == N_ZERO ||
				    rw->num == N_INT || rw->num == N_FRAC)) {
					rw->num = N_E;
					continue;
				}
				if ((c == '+' || c == '-') && rw->num == N_E) {
					rw->num = N_ESIGN;
					continue;
				}
				break;
			}
			if (i == n)	/* see scan_chunk_end() */
				break;
			if (num_done(rw, i) != 0)
				return;
			break;
		case ST_LIT:
			while (i < n && rw->lit[rw->lit_idx] != '\0') {
				if (p[i] != (uint8_t)rw->lit[rw->lit_idx]) {
					fail(rw, JSON_BAD, "invalid literal",
					    rw->base + i);
					return;
				}
				i++;
				rw->lit_idx++;
			}
			if (rw->lit[rw->lit_idx] == '\0' &&
			    scalar_done(rw, rw->lit_type, rw->lit,
			    rw->lit_idx, rw->base + i) != 0)
				return;
			break;
		case ST_VALUE:
		case ST_FIRST_ELEM:
		value:
			if ((i = skip_ws(rw, i)) == (size_t)-1)
				return;
			if (i == n)
				break;
			c = p[i];
			if (c == ']' && rw->state == ST_FIRST_ELEM) {
				close_container(rw, i);
				i++;
				break;
			}
			if (c == '\n') {
				if (rw->depth == 0) {	/* NDJSON blank line */
					i++;
					break;
				}
				goto nl_inside;
			}
			if (rw->state == ST_FIRST_ELEM && rw->visit != NULL &&
			    !rw->skipping) {
				rw->pending = rw->base + i;
				rw->has_comma = 0;
				rw->pend_ws = 0;
			}
			if (open_value(rw, i) != 0)
				return;
			i++;
			/* The hot transitions jump straight to the next
			 * token instead of going round the switch. */
			if (rw->state == ST_STR)
				goto str;
			break;
		case ST_FIRST_KEY:
		case ST_KEY:
		key:
			if ((i = skip_ws(rw, i)) == (size_t)-1)
				return;
			if (i == n)
				break;
			c = p[i];
			if (c == '"') {
				if (rw->state == ST_FIRST_KEY &&
				    rw->visit != NULL && !rw->skipping) {
					rw->pending = rw->base + i;
					rw->has_comma = 0;
					rw->pend_ws = 0;
				}
				open_string(rw, i, 1);
				i++;
				goto str;
			}
			if (c == '}' && rw->state == ST_FIRST_KEY) {
				close_container(rw, i);
				i++;
				break;
			}
			if (c == '\n')
				goto nl_inside;
			fail(rw, JSON_BAD, "expected a key", rw->base + i);
			return;
		case ST_COLON:
			if ((i = skip_ws(rw, i)) == (size_t)-1)
				return;
			if (i == n)
				break;
			if (p[i] == ':') {
				rw->state = ST_VALUE;
				i++;
				goto value;
			}
			if (p[i] == '\n')
				goto nl_inside;
			fail(rw, JSON_BAD, "expected ':'", rw->base + i);
			return;
		case ST_AFTER:
			if ((i = skip_ws(rw, i)) == (size_t)-1)
				return;
			if (i == n)
				break;
			c = p[i];
			if (c == ',') {
				if (rw->visit != NULL && !rw->skipping) {
					rw->pending = rw->comma = rw->base + i;
					rw->has_comma = 1;
					rw->pend_ws = 0;
				}
				i++;
				if (rw->cflags[rw->depth - 1] & C_OBJ) {
					rw->state = ST_KEY;
					goto key;
				}
				rw->segs[rw->depth - 1].index++;
				rw->state = ST_VALUE;
				goto value;
			}
			if (c == (rw->cflags[rw->depth - 1] & C_OBJ ? '}' : ']')) {
				close_container(rw, i);
				i++;
				break;
			}
			if (c == '\n')
				goto nl_inside;
			fail(rw, JSON_BAD, "expected ',' or a closing bracket",
			    rw->base + i);
			return;
		case ST_END:
			if ((i = skip_ws(rw, i)) == (size_t)-1)
				return;
			if (i == n)
				break;
			if (p[i] == '\n') {	/* NDJSON: next record */
				rw->state = ST_VALUE;
				i++;
				break;
			}
			fail(rw, JSON_BAD, "trailing data after the document",
			    rw->base + i);
			return;
		}
	}
	scan_chunk_end(rw);
	return;

nl_inside:
	fail(rw, JSON_BAD, "newline inside an NDJSON record", rw->base + i);
}

/* ---- the public interface ---------------------------------------------- */

struct json_rw *
json_rw_new(const struct json_limits *lim, json_visit_fn visit, void *ud)
{
	struct json_rw	*rw;
	size_t		 d;

	if ((rw = calloc(1, sizeof(*rw))) == NULL)
		goto fail;
	if (lim != NULL)
		rw->lim = *lim;
	if (rw->lim.max_depth == 0)
		rw->lim.max_depth = JSON_DEF_DEPTH;
	if (rw->lim.max_string == 0)
		rw->lim.max_string = JSON_DEF_STRING;
	/* Bounds from max_string must not overflow (SIZE_MAX / 32 is far
	 * beyond any sane configuration). */
	if (rw->lim.max_string > SIZE_MAX / 32 ||
	    rw->lim.max_depth > SIZE_MAX / 64)
		goto fail;
	rw->visit = visit;
	rw->ud = ud;
	d = rw->lim.max_depth;
	if ((rw->cflags = calloc(d, sizeof(*rw->cflags))) == NULL ||
	    (rw->ckey_off = calloc(d, sizeof(*rw->ckey_off))) == NULL ||
	    /* written by open_container before anything reads them */
	    (rw->segs = malloc(d * sizeof(*rw->segs))) == NULL)
		goto fail;
	/* All keys of one path together; a deeper or longer path is
	 * refused ("path too long") rather than grown without bound. */
	rw->kbuf_max = 2 * rw->lim.max_string + 65536;
	rw->hold_max = 2 * (6 * rw->lim.max_string + 2) + JSON_WS_MAX + 64;
	json_rw_reset(rw);
	return rw;
fail:
	json_rw_free(rw);
	return NULL;
}

void
json_rw_free(struct json_rw *rw)
{
	if (rw == NULL)
		return;
	free(rw->cflags);
	free(rw->ckey_off);
	free(rw->segs);
	free(rw->kbuf);
	free(rw->sbuf);
	free(rw->hold);
	free(rw->edit.buf);
	free(rw);
}

void
json_rw_reset(struct json_rw *rw)
{
	rw->status = JSON_NEED_MORE;
	rw->err = NULL;
	rw->err_off = 0;
	rw->total = 0;
	rw->state = ST_START;
	rw->depth = 0;
	rw->esc = ESC_NONE;
	rw->u8_need = 0;
	rw->emit = 0;
	rw->hold_len = 0;
	rw->hold_off = 0;
	rw->pending = JSON_NONE;
	rw->has_comma = 0;
	rw->pend_ws = 0;
	rw->skipping = 0;
	rw->edit.oom = 0;
}

enum json_status
json_rw_feed(struct json_rw *rw, const char *p, size_t n,
    struct evbuffer *out)
{
	int	 over = 0;

	if (rw->status != JSON_NEED_MORE)
		return rw->status;
	if (rw->lim.max_body > 0 && n > rw->lim.max_body - rw->total) {
		n = (size_t)(rw->lim.max_body - rw->total);
		over = 1;
	}
	rw->p = (const uint8_t *)p;
	rw->n = n;
	rw->base = rw->total;
	rw->out = out;
	scan(rw);
	if (rw->status != JSON_NEED_MORE)
		return rw->status;
	if (over)
		fail(rw, JSON_TOO_LONG, "body too large", rw->lim.max_body);
	else if (chunk_end(rw) == 0)
		rw->total += n;
	return rw->status;
}

enum json_status
json_rw_finish(struct json_rw *rw, struct evbuffer *out)
{
	int	 whole;

	if (rw->status != JSON_NEED_MORE)
		return rw->status;
	rw->p = NULL;
	rw->n = 0;
	rw->base = rw->total;
	rw->out = out;
	if (rw->state == ST_NUM && rw->depth == 0) {
		/* A root number ends with the input; its text is in sbuf. */
		rw->seg = 0;
		if (num_done(rw, 0) != 0) {
			if (rw->status == JSON_BAD)
				rw->err = "truncated";
			return rw->status;
		}
	}
	if (rw->lim.ndjson)
		whole = rw->state == ST_START || rw->state == ST_END ||
		    (rw->state == ST_VALUE && rw->depth == 0);
	else
		whole = rw->state == ST_END;
	if (!whole) {
		fail(rw, JSON_BAD, "truncated", rw->total);
		return rw->status;
	}
	if (copy_to(rw, rw->total) != 0)
		return rw->status;
	rw->hold_len = 0;
	rw->status = JSON_DONE;
	return JSON_DONE;
}

const char *
json_rw_error(const struct json_rw *rw)
{
	return rw->err != NULL ? rw->err : "";
}

uint64_t
json_rw_error_offset(const struct json_rw *rw)
{
	return rw->err_off;
}
