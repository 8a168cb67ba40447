/* proxy/http.c — the HTTP/1.1 codec: heads, body framing and chunked coding
 * on evbuffers, strict enough that no two parsers can disagree on framing. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "proxy/config.h"
#include "proxy/http.h"

/*
 * Character classes, one table lookup per byte: the scanners below never call
 * a function per byte. Each printable byte is listed exactly once (overriding
 * designated initializers would trip -Woverride-init).
 */
#define HC_T	0x01	/* tchar (RFC 9110 token) */
#define HC_V	0x02	/* field-value byte: VCHAR, obs-text, SP, HTAB */
#define HC_U	0x04	/* request-target byte: VCHAR, obs-text */
#define HC_I	0x08	/* X-Request-Id byte: [A-Za-z0-9._:-] */
#define HC_X	0x10	/* hex digit */
#define HC_R	0x20	/* reason-phrase byte: VCHAR, obs-text, SP, HTAB */

#define HC_TOK	(HC_T | HC_V | HC_U | HC_R)
#define HC_SEP	(HC_V | HC_U | HC_R)
static const unsigned char http_ctab[256] = {
	['\t'] = HC_V | HC_R,
	[' '] = HC_V | HC_R,
	['0' ... '9'] = HC_TOK | HC_I | HC_X,
	['A' ... 'F'] = HC_TOK | HC_I | HC_X,
	['G' ... 'Z'] = HC_TOK | HC_I,
	['a' ... 'f'] = HC_TOK | HC_I | HC_X,
	['g' ... 'z'] = HC_TOK | HC_I,
	['.'] = HC_TOK | HC_I, ['_'] = HC_TOK | HC_I, ['-'] = HC_TOK | HC_I,
	[':'] = HC_SEP | HC_I,
	['!'] = HC_TOK, ['#'] = HC_TOK, ['$'] = HC_TOK, ['%'] = HC_TOK,
	['&'] = HC_TOK, ['\''] = HC_TOK, ['*'] = HC_TOK, ['+'] = HC_TOK,
	['^'] = HC_TOK, ['`'] = HC_TOK, ['|'] = HC_TOK, ['~'] = HC_TOK,
	['"'] = HC_SEP, ['('] = HC_SEP, [')'] = HC_SEP, [','] = HC_SEP,
	['/'] = HC_SEP, [';'] = HC_SEP, ['<'] = HC_SEP, ['='] = HC_SEP,
	['>'] = HC_SEP, ['?'] = HC_SEP, ['@'] = HC_SEP, ['['] = HC_SEP,
	['\\'] = HC_SEP, [']'] = HC_SEP, ['{'] = HC_SEP, ['}'] = HC_SEP,
	[0x80 ... 0xff] = HC_SEP,
};
#define HC(c, cls)	(http_ctab[(unsigned char)(c)] & (cls))

/* Bounds of the chunked decoder: a chunk-size line (with extensions) and the
 * whole trailer section. Past them the message is HTTP_BAD, not TOO_LONG:
 * no legitimate peer sends kilobytes of chunk extensions. */
#define HTTP_CHUNK_LINE_MAX	4096
#define HTTP_TRAILER_MAX	16384

enum { HB_NONE, HB_LENGTH, HB_CHUNKED, HB_CLOSE };
enum { HS_SIZE, HS_DATA, HS_DATA_CRLF, HS_TRAILER, HS_DONE };

/*
 * Case-insensitive equality with a lower-case literal of letters, digits and
 * '-'. Exact for bytes already validated as tchar or field-value (no CTLs):
 * among those, "| 0x20" maps only upper-case letters onto other characters
 * of such a literal. Inline, because it runs for every header.
 */
static inline int
lit_eq(const char *s, size_t len, const char *lit, size_t n)
{
	size_t i;

	if (len != n)
		return 0;
	for (i = 0; i < n; i++)
		if ((s[i] | 0x20) != lit[i])
			return 0;
	return 1;
}
#define tok_eq(s, len, lit)	lit_eq((s), (len), (lit), sizeof(lit) - 1)

/* 1 when the comma-separated list <v> (elements OWS-trimmed) holds the
 * lower-case token <lit> of length <n>, in any case. */
static int
list_any(const char *v, size_t len, const char *lit, size_t n)
{
	const char *e = v + len, *p = v;

	while (p < e) {
		const char *q = memchr(p, ',', (size_t)(e - p));
		const char *te = q ? q : e;
		const char *b = p;

		while (b < te && (*b == ' ' || *b == '\t'))
			b++;
		while (te > b && (te[-1] == ' ' || te[-1] == '\t'))
			te--;
		if (lit_eq(b, (size_t)(te - b), lit, n))
			return 1;
		if (q == NULL)
			break;
		p = q + 1;
	}
	return 0;
}

unsigned
http_method_bit(const char *m, size_t len)
{
	switch (len) {
	case 3:
		if (memcmp(m, "GET", 3) == 0)
			return CFG_M_GET;
		if (memcmp(m, "PUT", 3) == 0)
			return CFG_M_PUT;
		break;
	case 4:
		if (memcmp(m, "HEAD", 4) == 0)
			return CFG_M_HEAD;
		if (memcmp(m, "POST", 4) == 0)
			return CFG_M_POST;
		break;
	case 5:
		if (memcmp(m, "PATCH", 5) == 0)
			return CFG_M_PATCH;
		break;
	case 6:
		if (memcmp(m, "DELETE", 6) == 0)
			return CFG_M_DELETE;
		break;
	case 7:
		if (memcmp(m, "OPTIONS", 7) == 0)
			return CFG_M_OPTIONS;
		break;
	}
	return 0;
}

/* "HTTP/1.0" or "HTTP/1.1" at the NUL-terminated <p>: the minor version, or
 * -1. Reads no byte past a NUL. */
static int
parse_version(const char *p)
{
	if (strncmp(p, "HTTP/1.", 7) != 0)
		return -1;
	if (p[7] == '0')
		return 0;
	if (p[7] == '1')
		return 1;
	return -1;
}

/*
 * Request line, in place: "METHOD SP target SP HTTP/1.x CRLF". <p> is the
 * start of the head, <pathbuf> room for a copy of the target (the line's
 * length plus one). Returns the first byte after the CRLF, or NULL.
 */
static char *
parse_request_line(struct http_head *h, char *p, char *pathbuf,
    const char **why)
{
	char *m = p, *t, *q = NULL;
	int minor;

	while (HC(*p, HC_T))
		p++;
	if (p == m || *p != ' ') {
		*why = p == m ? "bad method" : "bad request line";
		return NULL;
	}
	*p++ = '\0';
	h->method = m;
	h->method_bit = http_method_bit(m, (size_t)(p - 1 - m));

	t = p;
	/* The target: visible bytes only. '?' starts the query. */
	while (HC(*p, HC_U)) {
		if (*p == '?' && q == NULL)
			q = p;
		p++;
	}
	if (p == t || *p != ' ') {
		*why = p == t ? "missing request target" :
		    "bad byte in request target";
		return NULL;
	}
	*p++ = '\0';
	if (t[0] == '*' && t[1] == '\0') {
		if (h->method_bit != CFG_M_OPTIONS) {
			*why = "'*' target only with OPTIONS";
			return NULL;
		}
	} else if (t[0] != '/') {
		*why = "absolute-form not supported";
		return NULL;
	}
	h->target = t;
	if (q != NULL) {
		memcpy(pathbuf, t, (size_t)(q - t));
		pathbuf[q - t] = '\0';
		h->query = q + 1;
	} else {
		memcpy(pathbuf, t, (size_t)(p - t));	/* with its NUL */
		h->query = NULL;
	}
	h->path = pathbuf;

	if ((minor = parse_version(p)) < 0 || p[8] != '\r' || p[9] != '\n') {
		*why = "unsupported HTTP version";
		return NULL;
	}
	h->minor = minor;
	p[8] = '\0';
	return p + 10;
}

/* Status line: "HTTP/1.x SP 3DIGIT [SP reason] CRLF". */
static char *
parse_status_line(struct http_head *h, char *p, const char **why)
{
	char *r;
	int minor;

	if ((minor = parse_version(p)) < 0 || p[8] != ' ') {
		*why = "bad status line";
		return NULL;
	}
	h->minor = minor;
	p += 9;
	/* RFC 9110 §15: 100..599; others are invalid, not "unknown". */
	if (p[0] < '1' || p[0] > '5' || p[1] < '0' || p[1] > '9' ||
	    p[2] < '0' || p[2] > '9') {
		*why = "bad status code";
		return NULL;
	}
	h->status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	p += 3;
	/* The SP before an empty reason is often left out; accept that. */
	if (*p == ' ')
		p++;
	else if (*p != '\r') {
		*why = "bad status code";
		return NULL;
	}
	r = p;
	while (HC(*p, HC_R))
		p++;
	if (p[0] != '\r' || p[1] != '\n') {
		*why = "bad reason phrase";
		return NULL;
	}
	*p = '\0';
	h->reason = r;
	return p + 2;
}

/* Content-Length value: 1*DIGIT, no sign, no list, fits int64. */
static int64_t
parse_length(const char *v, size_t len)
{
	int64_t n = 0;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		if (n > (INT64_MAX - (v[i] - '0')) / 10)
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	return n;
}

/*
 * Header lines from <p> up to the empty line. Every line ends in CRLF: the
 * caller found "\r\n\r\n" and the scanner stops at any byte outside its
 * class, so a bare CR or LF anywhere ends a name or value and is rejected
 * there. <cap> is the room in h->hdrs, an upper bound of the line count.
 */
static int
parse_headers(struct http_head *h, char *p, size_t cap, const char **why)
{
	while (!(p[0] == '\r' && p[1] == '\n')) {
		struct http_header *hd;
		char *n = p, *colon, *v, *ve;

		if (*p == ' ' || *p == '\t') {
			*why = "obsolete line folding";
			return -1;
		}
		while (HC(*p, HC_T))
			p++;
		if (p == n || *p != ':') {
			*why = p == n ? "bad header name" :
			    (*p == ' ' || *p == '\t') ?
			    "whitespace before header colon" :
			    "bad header name";
			return -1;
		}
		colon = p++;
		while (*p == ' ' || *p == '\t')
			p++;
		v = p;
		while (HC(*p, HC_V))
			p++;
		if (p[0] != '\r' || p[1] != '\n') {
			*why = "bad byte in header value";
			return -1;
		}
		ve = p;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (h->nhdrs == cap) {		/* cannot happen: cap counts lines */
			*why = "too many headers";
			return -1;
		}
		hd = &h->hdrs[h->nhdrs++];
		hd->name = n;
		hd->name_len = (size_t)(colon - n);
		hd->value = v;
		hd->value_len = (size_t)(ve - v);
		p += 2;
	}
	return 0;
}

/* Derives and checks framing (RFC 9112 §6) and connection options. */
static int
check_framing(struct http_head *h, const char **why)
{
	size_t i, nte = 0, nhost = 0;
	int close_tok = 0, ka_tok = 0;

	h->content_length = -1;
	for (i = 0; i < h->nhdrs; i++) {
		const struct http_header *hd = &h->hdrs[i];

		switch (hd->name_len) {
		case 4:
			if (lit_eq(hd->name, 4, "host", 4))
				nhost++;
			break;
		case 6:
			if (lit_eq(hd->name, 6, "expect", 6) &&
			    tok_eq(hd->value, hd->value_len, "100-continue"))
				h->expect_continue = 1;
			break;
		case 10:
			if (lit_eq(hd->name, 10, "connection", 10)) {
				if (list_any(hd->value, hd->value_len,
				    "close", 5))
					close_tok = 1;
				if (list_any(hd->value, hd->value_len,
				    "keep-alive", 10))
					ka_tok = 1;
			}
			break;
		case 14:
			if (!lit_eq(hd->name, 14, "content-length", 14))
				break;
			if (h->content_length >= 0) {
				*why = "several Content-Length headers";
				return -1;
			}
			h->content_length = parse_length(hd->value,
			    hd->value_len);
			if (h->content_length < 0) {
				*why = "bad Content-Length";
				return -1;
			}
			break;
		case 17:
			if (!lit_eq(hd->name, 17, "transfer-encoding", 17))
				break;
			/* Only "chunked", once: any other coding (or a list)
			 * is a framing another hop may read differently. */
			if (++nte > 1 || !tok_eq(hd->value, hd->value_len,
			    "chunked")) {
				*why = "unsupported Transfer-Encoding";
				return -1;
			}
			break;
		}
	}
	if (nte > 0) {
		if (h->content_length >= 0) {
			*why = "Content-Length with Transfer-Encoding";
			return -1;
		}
		if (h->minor == 0) {
			*why = "Transfer-Encoding in HTTP/1.0";
			return -1;
		}
		h->chunked = 1;
	}
	if (h->is_request) {
		if (nhost > 1) {
			*why = "several Host headers";
			return -1;
		}
		if (nhost == 0 && h->minor == 1) {
			*why = "missing Host header";
			return -1;
		}
		if (h->minor == 0)
			h->expect_continue = 0;
	} else
		h->expect_continue = 0;
	h->keep_alive = h->minor == 1 ? !close_tok : ka_tok && !close_tok;
	return 0;
}

/* Drops the CRLFs RFC 9112 §2.2 lets a client send before a request line.
 * Returns 0 when the buffer starts with something else, 1 when it holds only
 * a lone CR so far. */
static int
skip_leading_crlf(struct evbuffer *in)
{
	unsigned char c[2];
	ev_ssize_t n;

	for (;;) {
		n = evbuffer_copyout(in, c, 2);
		if (n <= 0 || c[0] != '\r')
			return 0;
		if (n == 1)
			return 1;
		if (c[1] != '\n')
			return 0;
		evbuffer_drain(in, 2);
	}
}

/* 1 when the first <n> bytes of <in> hold a LF not preceded by CR (or
 * cannot be examined). */
static int
has_bare_lf(struct evbuffer *in, size_t n)
{
	const char *b, *s, *e;

	if ((b = (const char *)evbuffer_pullup(in, (ev_ssize_t)n)) == NULL)
		return 1;
	for (s = b, e = b + n; (s = memchr(s, '\n', (size_t)(e - s))); s++)
		if (s == b || s[-1] != '\r')
			return 1;
	return 0;
}

/*
 * Scans <n> contiguous bytes for the end of a head in one memchr pass per
 * line: every LF must follow a CR, and the first LF followed by CRLF ends
 * the head. Returns the head length (0: not there yet, -1: bare LF) and
 * counts the LFs in it (*lines) and the request line's length (*line1).
 */
static ev_ssize_t
scan_head(const char *b, size_t n, size_t *lines, size_t *line1)
{
	const char *s, *e = b + n;
	size_t k = 0;

	for (s = b; (s = memchr(s, '\n', (size_t)(e - s))) != NULL; s++) {
		if (s == b || s[-1] != '\r')
			return -1;
		if (k++ == 0)
			*line1 = (size_t)(s - b);
		if (e - s >= 3 && s[1] == '\r' && s[2] == '\n') {
			*lines = k + 1;
			return s + 3 - b;
		}
	}
	return 0;
}

enum http_status
http_head_parse(struct http_head *h, struct evbuffer *in, size_t max,
    int is_request, const char **why)
{
	struct evbuffer_ptr end, pos;
	struct evbuffer_iovec v;
	size_t avail, hlen, lines = 0, line1 = 0, room;
	const char *src;
	ev_ssize_t r;
	char *p, *pathbuf;

	memset(h, 0, sizeof(*h));
	h->is_request = is_request;
	h->content_length = -1;
	*why = NULL;

	if (is_request && skip_leading_crlf(in))
		return HTTP_NEED_MORE;
	avail = evbuffer_get_length(in);
	if (avail > max)
		avail = max;

	/* Fast path: the whole head in the first chain, as it nearly always
	 * is. Otherwise search across chains without copying them. */
	if (evbuffer_peek(in, -1, NULL, &v, 1) >= 1) {
		size_t n = v.iov_len < avail ? v.iov_len : avail;

		src = v.iov_base;
		if ((r = scan_head(src, n, &lines, &line1)) < 0)
			goto bare_lf;
		if (r > 0) {
			hlen = (size_t)r;
			goto found;
		}
		if (n == avail)
			goto not_found;
	}
	if (evbuffer_ptr_set(in, &end, avail, EVBUFFER_PTR_SET) < 0)
		return HTTP_BAD;	/* cannot happen: avail <= length */
	pos = evbuffer_search_range(in, "\r\n\r\n", 4, NULL, &end);
	if (pos.pos < 0) {
		/* A peer ending lines in bare LF would otherwise wait for
		 * the timeout: fail as soon as one shows up. */
		if (avail > 0 && has_bare_lf(in, avail))
			goto bare_lf;
		goto not_found;
	}
	hlen = (size_t)pos.pos + 4;
	if ((src = (const char *)evbuffer_pullup(in, (ev_ssize_t)hlen)) == NULL)
		goto nomem;
	if (scan_head(src, hlen, &lines, &line1) != (ev_ssize_t)hlen)
		goto bare_lf;
found:
	/*
	 * One allocation per head, sized exactly: the head itself plus a NUL,
	 * a copy of the request target (h->path) and the header array, with
	 * one slot per line (an upper bound of the header count).
	 */
	room = (hlen + 1 + (is_request ? line1 + 1 : 0) + 7) & ~(size_t)7;
	if ((h->buf = malloc(room + lines * sizeof(struct http_header))) ==
	    NULL)
		goto nomem;
	memcpy(h->buf, src, hlen);
	h->buf[hlen] = '\0';
	h->len = hlen;
	evbuffer_drain(in, hlen);
	h->hdrs = (struct http_header *)(void *)(h->buf + room);
	pathbuf = h->buf + hlen + 1;

	p = is_request ? parse_request_line(h, h->buf, pathbuf, why) :
	    parse_status_line(h, h->buf, why);
	if (p == NULL)
		goto bad;
	if (parse_headers(h, p, lines, why) < 0)
		goto bad;
	if (check_framing(h, why) < 0)
		goto bad;
	return HTTP_DONE;
not_found:
	if (evbuffer_get_length(in) >= max) {
		*why = "head too long";
		return HTTP_TOO_LONG;
	}
	return HTTP_NEED_MORE;
bare_lf:
	*why = "bare LF in head";
	return HTTP_BAD;
bad:
	http_head_clear(h);
	return HTTP_BAD;
nomem:
	*why = "out of memory";
	http_head_clear(h);
	return HTTP_BAD;
}

void
http_head_clear(struct http_head *h)
{
	if (h == NULL)
		return;
	free(h->buf);		/* the header array lives inside it */
	memset(h, 0, sizeof(*h));
	h->content_length = -1;
}

const struct http_header *
http_head_get(const struct http_head *h, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < h->nhdrs; i++)
		if (h->hdrs[i].name_len == n &&
		    strncasecmp(h->hdrs[i].name, name, n) == 0)
			return &h->hdrs[i];
	return NULL;
}

/*
 * Like tok_eq() for header names, with '_' read as '-': some servers and
 * CGI-style frameworks fold the two, so "Transfer_Encoding" must not reach
 * an upstream next to the Content-Length custos sets (nginx drops such
 * names for the same reason).
 */
#define hop_eq(s, len, lit)	hop_eq_n((s), (len), (lit), sizeof(lit) - 1)
static inline int
hop_eq_n(const char *s, size_t len, const char *lit, size_t n)
{
	size_t i;

	if (len != n)
		return 0;
	for (i = 0; i < n; i++)
		if (((s[i] == '_' ? '-' : s[i]) | 0x20) != lit[i])
			return 0;
	return 1;
}

int
http_header_is_hop(const struct http_head *h, const struct http_header *hd)
{
	const char *n = hd->name;
	size_t i;

	switch (hd->name_len) {
	case 2:
		if (hop_eq(n, 2, "te"))
			return 1;
		break;
	case 7:
		if (hop_eq(n, 7, "trailer") || hop_eq(n, 7, "upgrade"))
			return 1;
		break;
	case 10:
		if (hop_eq(n, 10, "connection") || hop_eq(n, 10, "keep-alive"))
			return 1;
		break;
	case 14:
		if (hop_eq(n, 14, "content-length"))
			return 1;
		break;
	case 16:
		if (hop_eq(n, 16, "proxy-connection"))
			return 1;
		break;
	case 17:
		if (hop_eq(n, 17, "transfer-encoding"))
			return 1;
		break;
	case 18:
		if (hop_eq(n, 18, "proxy-authenticate"))
			return 1;
		break;
	case 19:
		if (hop_eq(n, 19, "proxy-authorization"))
			return 1;
		break;
	}
	/* Any header the sender named in Connection is for this hop only. */
	for (i = 0; i < h->nhdrs; i++) {
		const struct http_header *c = &h->hdrs[i];
		const char *p, *e;

		if (!tok_eq(c->name, c->name_len, "connection"))
			continue;
		p = c->value;
		e = c->value + c->value_len;
		while (p < e) {
			const char *q = memchr(p, ',', (size_t)(e - p));
			const char *te = q ? q : e, *b = p;

			while (b < te && (*b == ' ' || *b == '\t'))
				b++;
			while (te > b && (te[-1] == ' ' || te[-1] == '\t'))
				te--;
			if ((size_t)(te - b) == hd->name_len &&
			    strncasecmp(b, n, hd->name_len) == 0)
				return 1;
			if (q == NULL)
				break;
			p = q + 1;
		}
	}
	return 0;
}

void
http_body_init(struct http_body *b, const struct http_head *h,
    unsigned req_method_bit)
{
	memset(b, 0, sizeof(*b));
	b->state = HS_SIZE;
	if (!h->is_request && (req_method_bit == CFG_M_HEAD ||
	    (h->status >= 100 && h->status < 200) || h->status == 204 ||
	    h->status == 304))
		b->mode = HB_NONE;
	else if (h->chunked)
		b->mode = HB_CHUNKED;
	else if (h->content_length >= 0) {
		b->mode = HB_LENGTH;
		b->remaining = (uint64_t)h->content_length;
	} else
		b->mode = h->is_request ? HB_NONE : HB_CLOSE;
}

/*
 * One CRLF-terminated line of at most <limit> bytes (CRLF included) at the
 * front of <in>: returns its length without the CRLF and a pointer to it
 * (contiguous, valid until <in> changes), or -1 for "need more", -2 when
 * the line is too long or holds a bare CR or LF.
 */
static ev_ssize_t
chunk_line(struct evbuffer *in, size_t limit, const char **line)
{
	struct evbuffer_ptr end, pos;
	size_t avail = evbuffer_get_length(in);
	const char *l;
	size_t i, n;

	if (avail > limit)
		avail = limit;
	if (evbuffer_ptr_set(in, &end, avail, EVBUFFER_PTR_SET) < 0)
		return -2;
	pos = evbuffer_search_range(in, "\r\n", 2, NULL, &end);
	if (pos.pos < 0) {
		if (evbuffer_get_length(in) >= limit)
			return -2;
		/* A bare LF never becomes valid: fail now, not at limit. */
		if (avail > 0 && ((l = (const char *)evbuffer_pullup(in,
		    (ev_ssize_t)avail)) == NULL || memchr(l, '\n', avail)))
			return -2;
		return -1;
	}
	n = (size_t)pos.pos;
	if ((l = (const char *)evbuffer_pullup(in, (ev_ssize_t)n + 2)) == NULL)
		return -2;
	for (i = 0; i < n; i++)
		if (l[i] == '\r' || l[i] == '\n' || l[i] == '\0')
			return -2;
	*line = l;
	return (ev_ssize_t)n;
}

/* Moves <n> bytes (all present) from <in> to <out> without copying.
 * evbuffer_remove_buffer() counts in int, hence the slices. */
static int
move_bytes(struct evbuffer *in, struct evbuffer *out, size_t n)
{
	while (n > 0) {
		int k = n > (1u << 30) ? 1 << 30 : (int)n;

		if (evbuffer_remove_buffer(in, out, (size_t)k) != k)
			return -1;
		n -= (size_t)k;
	}
	return 0;
}

static enum http_status
body_chunked(struct http_body *b, struct evbuffer *in, struct evbuffer *out,
    uint64_t max)
{
	const char *l;
	ev_ssize_t n;
	size_t i, have;
	char crlf[2];

	for (;;) {
		switch (b->state) {
		case HS_SIZE: {
			uint64_t size = 0;

			if ((n = chunk_line(in, HTTP_CHUNK_LINE_MAX, &l)) == -1)
				return HTTP_NEED_MORE;
			if (n < 0)
				return HTTP_BAD;
			for (i = 0; i < (size_t)n && HC(l[i], HC_X); i++) {
				if (i == 16)
					return HTTP_BAD;	/* > 64 bits */
				size = size << 4 | (uint64_t)(l[i] <= '9' ?
				    l[i] - '0' : (l[i] | 0x20) - 'a' + 10);
			}
			if (i == 0)
				return HTTP_BAD;
			/* chunk-ext: BWS ";" ...; its content is skipped but
			 * must be field-value bytes. */
			while (i < (size_t)n && (l[i] == ' ' || l[i] == '\t'))
				i++;
			if (i < (size_t)n && l[i] != ';')
				return HTTP_BAD;
			for (; i < (size_t)n; i++)
				if (!HC(l[i], HC_V))
					return HTTP_BAD;
			evbuffer_drain(in, (size_t)n + 2);
			if (size == 0) {
				b->state = HS_TRAILER;
				b->line = 0;
				break;
			}
			if (max != 0 && (size > max || b->total > max - size))
				return HTTP_TOO_LONG;
			b->remaining = size;
			b->state = HS_DATA;
			break;
		}
		case HS_DATA:
			have = evbuffer_get_length(in);
			if (have == 0)
				return HTTP_NEED_MORE;
			if (have > b->remaining)
				have = (size_t)b->remaining;
			if (move_bytes(in, out, have) < 0)
				return HTTP_BAD;
			b->remaining -= have;
			b->total += have;
			if (b->remaining > 0)
				return HTTP_NEED_MORE;
			b->state = HS_DATA_CRLF;
			break;
		case HS_DATA_CRLF:
			if (evbuffer_copyout(in, crlf, 2) < 2) {
				if (evbuffer_get_length(in) == 1 &&
				    crlf[0] != '\r')
					return HTTP_BAD;
				return HTTP_NEED_MORE;
			}
			if (crlf[0] != '\r' || crlf[1] != '\n')
				return HTTP_BAD;
			evbuffer_drain(in, 2);
			b->state = HS_SIZE;
			break;
		case HS_TRAILER:
			/* b->line counts trailer bytes so far. */
			if (b->line >= HTTP_TRAILER_MAX)
				return HTTP_BAD;
			n = chunk_line(in, HTTP_TRAILER_MAX - b->line, &l);
			if (n == -1)
				return HTTP_NEED_MORE;
			if (n < 0)
				return HTTP_BAD;
			/* A trailer field must look like one; it is dropped.
			 * (l is only valid until the drain.) */
			if (n > 0 && !HC(l[0], HC_T))
				return HTTP_BAD;
			evbuffer_drain(in, (size_t)n + 2);
			b->line += (size_t)n + 2;
			if (n == 0) {
				b->state = HS_DONE;
				return HTTP_DONE;
			}
			break;
		case HS_DONE:
			return HTTP_DONE;
		default:
			return HTTP_BAD;
		}
	}
}

enum http_status
http_body_read(struct http_body *b, struct evbuffer *in, struct evbuffer *out,
    uint64_t max)
{
	size_t have;

	switch (b->mode) {
	case HB_NONE:
		return HTTP_DONE;
	case HB_LENGTH:
		/* Refused up front: a declared length past the limit. */
		if (max != 0 && b->total + b->remaining > max)
			return HTTP_TOO_LONG;
		have = evbuffer_get_length(in);
		if (have > b->remaining)
			have = (size_t)b->remaining;
		if (move_bytes(in, out, have) < 0)
			return HTTP_BAD;
		b->remaining -= have;
		b->total += have;
		return b->remaining == 0 ? HTTP_DONE : HTTP_NEED_MORE;
	case HB_CHUNKED:
		return body_chunked(b, in, out, max);
	case HB_CLOSE:
		have = evbuffer_get_length(in);
		if (max != 0 && (have > max || b->total > max - have))
			return HTTP_TOO_LONG;
		if (move_bytes(in, out, have) < 0)
			return HTTP_BAD;
		b->total += have;
		return HTTP_NEED_MORE;
	}
	return HTTP_BAD;
}

enum http_status
http_body_eof(struct http_body *b)
{
	switch (b->mode) {
	case HB_NONE:
	case HB_CLOSE:
		return HTTP_DONE;
	case HB_LENGTH:
		return b->remaining == 0 ? HTTP_DONE : HTTP_BAD;
	case HB_CHUNKED:
		return b->state == HS_DONE ? HTTP_DONE : HTTP_BAD;
	}
	return HTTP_BAD;
}

int
http_body_until_close(const struct http_body *b)
{
	return b->mode == HB_CLOSE;
}

void
http_chunk_add(struct evbuffer *out, struct evbuffer *data)
{
	static const char hex[] = "0123456789abcdef";
	size_t len = evbuffer_get_length(data);
	char size[20], *p = size + sizeof(size);

	if (len == 0)
		return;
	*--p = '\n';
	*--p = '\r';
	do {
		*--p = hex[len & 0xf];
		len >>= 4;
	} while (len != 0);
	evbuffer_add(out, p, (size_t)(size + sizeof(size) - p));
	evbuffer_add_buffer(out, data);
	evbuffer_add(out, "\r\n", 2);
}

void
http_chunk_end(struct evbuffer *out)
{
	evbuffer_add(out, "0\r\n\r\n", 5);
}

int
http_request_id_valid(const char *id, size_t len)
{
	size_t i;

	if (id == NULL || len == 0 || len > 64)
		return 0;
	for (i = 0; i < len; i++)
		if (!HC(id[i], HC_I))
			return 0;
	return 1;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 203: return "Non-Authoritative Information";
	case 204: return "No Content";
	case 205: return "Reset Content";
	case 206: return "Partial Content";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 407: return "Proxy Authentication Required";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Content";
	case 425: return "Too Early";
	case 426: return "Upgrade Required";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 451: return "Unavailable For Legal Reasons";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	}
	return "Unknown";
}
