/* audit/json.c — a small, bounded JSON reader for audit lines (verify and
 * export read back what record.c wrote; anything else is rejected). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "audit/internal.h"

struct jp {
	struct ajson_doc	*doc;
	const char		*s;
	size_t			 len, pos;
};

static void
skip_ws(struct jp *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
	    p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static int
new_node(struct jp *p, enum ajson_type t)
{
	struct ajson_doc	*d = p->doc;
	struct ajson_node	*nn;
	size_t			 ncap;

	if (d->n == d->cap) {
		ncap = d->cap ? 2 * d->cap : 64;
		if (ncap > INT32_MAX || (nn = realloc(d->nodes,
		    ncap * sizeof(*nn))) == NULL)
			return -1;
		d->nodes = nn;
		d->cap = ncap;
	}
	memset(&d->nodes[d->n], 0, sizeof(d->nodes[0]));
	d->nodes[d->n].type = t;
	d->nodes[d->n].child = d->nodes[d->n].next = -1;
	d->nodes[d->n].start = (uint32_t)p->pos;
	return (int)d->n++;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* At the opening quote; leaves pos after the closing one. Sets the raw span
 * (inside the quotes). UTF-8 validity is not checked here. */
static int
scan_string(struct jp *p, uint32_t *start, uint32_t *end)
{
	size_t	i;

	if (p->pos >= p->len || p->s[p->pos] != '"')
		return -1;
	p->pos++;
	*start = (uint32_t)p->pos;
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos];

		if (c == '"') {
			*end = (uint32_t)p->pos;
			p->pos++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (++p->pos >= p->len)
				return -1;
			switch (p->s[p->pos]) {
			case '"': case '\\': case '/': case 'b': case 'f':
			case 'n': case 'r': case 't':
				break;
			case 'u':
				if (p->pos + 4 >= p->len)
					return -1;
				for (i = 1; i <= 4; i++)
					if (hexval(p->s[p->pos + i]) < 0)
						return -1;
				p->pos += 4;
				break;
			default:
				return -1;
			}
		}
		p->pos++;
	}
	return -1;
}

static int parse_value(struct jp *, int depth);

static int
parse_container(struct jp *p, int n, int depth, int obj)
{
	int		 last = -1, c;
	uint32_t	 ks = 0, ke = 0;
	char		 close = obj ? '}' : ']';

	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return 0;
	}
	for (;;) {
		skip_ws(p);
		if (obj) {
			if (scan_string(p, &ks, &ke) < 0)
				return -1;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return -1;
			p->pos++;
			skip_ws(p);
		}
		if ((c = parse_value(p, depth + 1)) < 0)
			return -1;
		p->doc->nodes[c].key_start = ks;
		p->doc->nodes[c].key_end = ke;
		if (last < 0)
			p->doc->nodes[n].child = c;
		else
			p->doc->nodes[last].next = c;
		last = c;
		skip_ws(p);
		if (p->pos >= p->len)
			return -1;
		if (p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->s[p->pos] == close) {
			p->pos++;
			return 0;
		}
		return -1;
	}
}

static int
parse_value(struct jp *p, int depth)
{
	int		 n;
	const char	*s;
	size_t		 st;

	if (depth > AJSON_MAX_DEPTH || p->pos >= p->len)
		return -1;
	s = p->s + p->pos;
	switch (*s) {
	case '{':
	case '[':
		if ((n = new_node(p, *s == '{' ? AJ_OBJ : AJ_ARR)) < 0 ||
		    parse_container(p, n, depth, *s == '{') < 0)
			return -1;
		break;
	case '"':
		if ((n = new_node(p, AJ_STR)) < 0 ||
		    scan_string(p, &p->doc->nodes[n].start,
		    &p->doc->nodes[n].end) < 0)
			return -1;
		return n;
	case 't':
	case 'f':
	case 'n':
		if (p->len - p->pos >= 4 && memcmp(s, "true", 4) == 0) {
			n = new_node(p, AJ_BOOL);
			p->pos += 4;
		} else if (p->len - p->pos >= 5 && memcmp(s, "false", 5) == 0) {
			n = new_node(p, AJ_BOOL);
			p->pos += 5;
		} else if (p->len - p->pos >= 4 && memcmp(s, "null", 4) == 0) {
			n = new_node(p, AJ_NULL);
			p->pos += 4;
		} else
			return -1;
		if (n < 0)
			return -1;
		break;
	default:
		if ((n = new_node(p, AJ_NUM)) < 0)
			return -1;
		st = p->pos;
		if (p->s[p->pos] == '-')
			p->pos++;
		if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
			return -1;
		if (p->s[p->pos] == '0')
			p->pos++;
		else
			while (p->pos < p->len && p->s[p->pos] >= '0' &&
			    p->s[p->pos] <= '9')
				p->pos++;
		if (p->pos < p->len && p->s[p->pos] == '.') {
			p->pos++;
			if (p->pos >= p->len || p->s[p->pos] < '0' ||
			    p->s[p->pos] > '9')
				return -1;
			while (p->pos < p->len && p->s[p->pos] >= '0' &&
			    p->s[p->pos] <= '9')
				p->pos++;
		}
		if (p->pos < p->len && (p->s[p->pos] == 'e' ||
		    p->s[p->pos] == 'E')) {
			p->pos++;
			if (p->pos < p->len && (p->s[p->pos] == '+' ||
			    p->s[p->pos] == '-'))
				p->pos++;
			if (p->pos >= p->len || p->s[p->pos] < '0' ||
			    p->s[p->pos] > '9')
				return -1;
			while (p->pos < p->len && p->s[p->pos] >= '0' &&
			    p->s[p->pos] <= '9')
				p->pos++;
		}
		p->doc->nodes[n].start = (uint32_t)st;
		break;
	}
	p->doc->nodes[n].end = (uint32_t)p->pos;
	return n;
}

int
audit_json_parse(struct ajson_doc *d, const char *text, size_t len)
{
	struct jp	p;

	d->text = text;
	d->len = len;
	d->n = 0;
	if (len > UINT32_MAX / 2)
		return -1;
	p.doc = d;
	p.s = text;
	p.len = len;
	p.pos = 0;
	skip_ws(&p);
	if (parse_value(&p, 0) < 0)
		return -1;
	skip_ws(&p);
	return p.pos == len ? 0 : -1;
}

void
audit_json_reset(struct ajson_doc *d)
{
	free(d->nodes);
	memset(d, 0, sizeof(*d));
}

/* Decodes the raw string span [s, e) into out (at most size-1 bytes kept);
 * returns the full decoded length. \u escapes become UTF-8 (unpaired
 * surrogates as U+FFFD). */
static size_t
decode(const char *s, const char *e, char *out, size_t size)
{
	size_t		 n = 0, k, i;
	unsigned	 cp, lo;
	char		 tmp[4];

#define PUT(c) do { if (size > 0 && n < size - 1) out[n] = (c); n++; } while (0)
	while (s < e) {
		if (*s != '\\') {
			PUT(*s);
			s++;
			continue;
		}
		s++;
		switch (*s) {
		case 'b': PUT('\b'); break;
		case 'f': PUT('\f'); break;
		case 'n': PUT('\n'); break;
		case 'r': PUT('\r'); break;
		case 't': PUT('\t'); break;
		case 'u':
			cp = 0;
			for (i = 1; i <= 4; i++)
				cp = cp << 4 | (unsigned)hexval(s[i]);
			s += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && e - s >= 7 &&
			    s[1] == '\\' && s[2] == 'u') {
				lo = 0;
				for (i = 3; i <= 6; i++)
					lo = lo << 4 | (unsigned)(hexval(s[i]) & 0xf);
				if (lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					    (lo - 0xdc00);
					s += 6;
				}
			}
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd;
			if (cp < 0x80) {
				tmp[0] = (char)cp;
				k = 1;
			} else if (cp < 0x800) {
				tmp[0] = (char)(0xc0 | cp >> 6);
				tmp[1] = (char)(0x80 | (cp & 0x3f));
				k = 2;
			} else if (cp < 0x10000) {
				tmp[0] = (char)(0xe0 | cp >> 12);
				tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
				tmp[2] = (char)(0x80 | (cp & 0x3f));
				k = 3;
			} else {
				tmp[0] = (char)(0xf0 | cp >> 18);
				tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
				tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
				tmp[3] = (char)(0x80 | (cp & 0x3f));
				k = 4;
			}
			for (i = 0; i < k; i++)
				PUT(tmp[i]);
			break;
		default: PUT(*s); break;
		}
		s++;
	}
#undef PUT
	if (size > 0)
		out[n < size ? n : size - 1] = '\0';
	return n;
}

int
audit_json_get(const struct ajson_doc *d, int obj, const char *key)
{
	int		 c;
	size_t		 kl = strlen(key);
	char		 buf[64];
	const struct ajson_node *n;

	if (obj < 0 || d->nodes[obj].type != AJ_OBJ)
		return -1;
	for (c = d->nodes[obj].child; c >= 0; c = d->nodes[c].next) {
		n = &d->nodes[c];
		if (kl < sizeof(buf) && decode(d->text + n->key_start,
		    d->text + n->key_end, buf, sizeof(buf)) == kl &&
		    memcmp(buf, key, kl) == 0)
			return c;
	}
	return -1;
}

int
audit_json_streq(const struct ajson_doc *d, int n, const char *s)
{
	const struct ajson_node	*nd;
	size_t			 sl = strlen(s), raw;
	char			*buf;
	int			 eq;

	if (n < 0 || d->nodes[n].type != AJ_STR)
		return 0;
	nd = &d->nodes[n];
	raw = nd->end - nd->start;
	if (memchr(d->text + nd->start, '\\', raw) == NULL)
		return raw == sl && memcmp(d->text + nd->start, s, sl) == 0;
	if ((buf = malloc(raw + 1)) == NULL)
		return 0;
	eq = decode(d->text + nd->start, d->text + nd->end, buf, raw + 1) ==
	    sl && memcmp(buf, s, sl) == 0;
	free(buf);
	return eq;
}

int
audit_json_str(const struct ajson_doc *d, int n, char *out, size_t size)
{
	size_t	len;

	if (n < 0 || d->nodes[n].type != AJ_STR)
		return -1;
	len = decode(d->text + d->nodes[n].start, d->text + d->nodes[n].end,
	    out, size);
	return len > INT32_MAX ? INT32_MAX : (int)len;
}

int
audit_json_u64(const struct ajson_doc *d, int n, uint64_t *out)
{
	const char	*s, *e;
	uint64_t	 v = 0;

	if (n < 0 || d->nodes[n].type != AJ_NUM)
		return -1;
	s = d->text + d->nodes[n].start;
	e = d->text + d->nodes[n].end;
	if (s == e)
		return -1;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}
