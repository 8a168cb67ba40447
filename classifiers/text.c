/* classifiers/text.c — spans of the value detectors inside free text.
 *
 * One pass over the bytes. Most bytes of prose trigger nothing, so the loop
 * skips them with a table lookup; only a digit, '+' or '(' at a word start
 * (a number token), '@' (an email), ':' (an IPv6 address) and an upper-case
 * letter pair followed by two digits (an IBAN) start the slower work, which
 * runs the same validators as whole values on candidate substrings. Spans
 * never overlap: everything left of the last span's end is done.
 */
#include <string.h>

#include "classifiers/internal.h"

enum { T_NONE, T_NUM, T_AT, T_COLON, T_UPPER };

static const uint8_t trig[256] = {
	['0'] = T_NUM, ['1'] = T_NUM, ['2'] = T_NUM, ['3'] = T_NUM,
	['4'] = T_NUM, ['5'] = T_NUM, ['6'] = T_NUM, ['7'] = T_NUM,
	['8'] = T_NUM, ['9'] = T_NUM, ['+'] = T_NUM, ['('] = T_NUM,
	['@'] = T_AT, [':'] = T_COLON,
	['A'] = T_UPPER, ['B'] = T_UPPER, ['C'] = T_UPPER, ['D'] = T_UPPER,
	['E'] = T_UPPER, ['F'] = T_UPPER, ['G'] = T_UPPER, ['H'] = T_UPPER,
	['I'] = T_UPPER, ['J'] = T_UPPER, ['K'] = T_UPPER, ['L'] = T_UPPER,
	['M'] = T_UPPER, ['N'] = T_UPPER, ['O'] = T_UPPER, ['P'] = T_UPPER,
	['Q'] = T_UPPER, ['R'] = T_UPPER, ['S'] = T_UPPER, ['T'] = T_UPPER,
	['U'] = T_UPPER, ['V'] = T_UPPER, ['W'] = T_UPPER, ['X'] = T_UPPER,
	['Y'] = T_UPPER, ['Z'] = T_UPPER,
};

static int
is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_word(unsigned char c)
{
	return is_alnum(c) || c == '_';
}

/* A span may start at i: the byte before is not part of a word, and not a
 * joiner glued to one (ORD-13800138000, v1.2). */
static int
left_ok(const char *s, size_t i)
{
	unsigned char p;

	if (i == 0)
		return 1;
	p = (unsigned char)s[i - 1];
	if (is_word(p) || p == '@')
		return 0;
	if ((p == '-' || p == '.' || p == '/' || p == '#') && i >= 2 &&
	    is_alnum((unsigned char)s[i - 2]))
		return 0;
	return 1;
}

/* A span may end at e (exclusive). */
static int
right_ok(const char *s, size_t n, size_t e)
{
	unsigned char c;

	if (e >= n)
		return 1;
	c = (unsigned char)s[e];
	if (is_word(c) || c == '@')
		return 0;
	if ((c == '-' || c == '.' || c == '/') && e + 1 < n &&
	    is_alnum((unsigned char)s[e + 1]))
		return 0;
	return 1;
}

static int
email_char(unsigned char c)
{
	return is_alnum(c) || (c >= 0x21 && c < 0x7f && cls_email_punct[c]);
}

/* Words that make a weak pattern count, looked for just before it. */
static const char *const ctx_ssn[] = { "ssn", "social security", "ss#",
    "soc sec", "社会安全", NULL };
static const char *const ctx_id[] = { "身份证", "id card", "id no",
    "id number", "identity", NULL };
static const char *const ctx_card[] = { "card", "卡号", "信用卡", NULL };
/* Words before a dotted quad that make it a version, not an address. */
static const char *const ctx_not_ip[] = { "version", "ver ", "ver.", "build",
    "release", "版本", NULL };

#define CTX_WINDOW	48

static int
has_context(const char *s, size_t start, const char *const *words)
{
	size_t from = start > CTX_WINDOW ? start - CTX_WINDOW : 0;

	for (const char *const *w = words; *w != NULL; w++) {
		size_t wl = strlen(*w);	/* only for weak candidates: rare */

		for (size_t i = from; i + wl <= start; i++) {
			size_t k;

			for (k = 0; k < wl; k++) {
				unsigned char c = (unsigned char)s[i + k];

				if (c >= 'A' && c <= 'Z')
					c |= 0x20;
				if (c != (unsigned char)(*w)[k])
					break;
			}
			if (k == wl)
				return 1;
		}
	}
	return 0;
}

static const char *const *
context_words(int kind)
{
	switch (kind) {
	case CLS_K_US_SSN:
		return ctx_ssn;
	case CLS_K_CN_RESIDENT_ID:
		return ctx_id;
	case CLS_K_PAYMENT_CARD:
		return ctx_card;
	}
	return NULL;
}

static const char *const ctx_ev[CLS_K_NVALUE] = {
	[CLS_K_US_SSN] = "context:ssn",
	[CLS_K_CN_RESIDENT_ID] = "context:id", [CLS_K_PAYMENT_CARD] = "context:card",
};

/* Runs the detectors on s[a..b) and emits the accepted kinds. Returns 1 when
 * something was emitted. */
/* inner: s[a..b) starts inside a number token. A phone format is then
 * not enough (the middle of a tracking number reads like one); checksums
 * and the 11 digits of a Chinese mobile still are. */
static int
try_span(const char *s, size_t n, size_t a, size_t b, uint32_t mask,
    int inner, cls_span_fn emit, void *ud)
{
	struct cls_vhit hits[CLS_K_NVALUE];
	uint32_t found;
	int any = 0;

	if (!right_ok(s, n, b))
		return 0;
	found = cls_values_detect(s + a, b - a, 0, 0, mask, hits);
	if (found == 0)
		return 0;
	for (int k = 0; k < CLS_K_NVALUE; k++) {
		struct cls_vhit *h = &hits[k];
		const char *const *w;

		if (!(found & CLS_KBIT(k)))
			continue;
		if (inner && k == CLS_K_PHONE && h->ev[0] != cls_ev_cn_mobile)
			continue;
		if (k == CLS_K_IPV4 && has_context(s, a, ctx_not_ip))
			continue;
		if (h->weak) {
			if ((w = context_words(k)) == NULL ||
			    !has_context(s, a, w))
				continue;
			h->conf = CLS_CONF_MEDIUM;
			h->weak = 0;
			if (h->nev < 2)
				h->ev[h->nev++] = ctx_ev[k];
		}
		emit(ud, k, a, b, h);
		any = 1;
	}
	return any;
}

/* Whether one of the k bytes from i (inside s) is a digit. */
static int
digit_within(const char *s, size_t n, size_t i, size_t k)
{
	for (; k > 0 && i < n && is_alnum((unsigned char)s[i]); k--, i++)
		if (is_digit((unsigned char)s[i]))
			return 1;
	return 0;
}

#define MAXG	16

/* A number token at i: groups of [0-9A-Za-z] holding a digit, joined by a
 * single space, '-' or '.' (or "(...) "). Tries the longest run of groups
 * first at each group; returns where scanning goes on. */
static size_t
number_token(const char *s, size_t n, size_t i, size_t *floor, uint32_t mask,
    cls_span_fn emit, void *ud)
{
	size_t gs[MAXG], ge[MAXG], ng = 0, j = i, lead = i;

	if (s[j] == '+' || s[j] == '(')
		j++;
	if (j < n && s[j] == '(' && s[lead] == '+')
		j++;
	while (j < n && ng < MAXG) {
		size_t st = j, k;
		int digit = 0;

		while (j < n && is_alnum((unsigned char)s[j])) {
			digit |= is_digit((unsigned char)s[j]);
			j++;
		}
		if (j == st || !digit) {
			j = st;
			break;
		}
		gs[ng] = st;
		ge[ng++] = j;
		k = j;
		if (k < n && s[k] == ')')
			k++;
		if (k < n && (s[k] == ' ' || s[k] == '-' || s[k] == '.'))
			k++;
		if (k < n && s[k] == '(')
			k++;
		if (k == j || k >= n || !is_digit((unsigned char)s[k]))
			break;
		j = k;
	}
	if (ng == 0)
		return i + 1;
	for (size_t a = 0; a < ng; a++) {
		size_t st = a == 0 ? lead : gs[a];

		if (st < *floor || (a > 0 && !left_ok(s, st)))
			continue;
		for (size_t b = ng - 1 < a + 7 ? ng - 1 : a + 7; ; b--) {
			if (try_span(s, n, st, ge[b], mask, a > 0,
			    emit, ud)) {
				*floor = ge[b];
				a = b;
				break;
			}
			if (b == a)
				break;
		}
	}
	return ge[ng - 1];
}

static size_t
email_at(const char *s, size_t n, size_t at, size_t *floor, cls_span_fn emit,
    void *ud)
{
	struct cls_vhit hits[CLS_K_NVALUE];
	size_t a = at, b = at + 1;

	while (a > *floor && at - a < 64 && email_char((unsigned char)s[a - 1]))
		a--;
	while (a < at && s[a] == '.')
		a++;
	while (b < n && b - at < 254 && (is_alnum((unsigned char)s[b]) ||
	    s[b] == '-' || s[b] == '.'))
		b++;
	while (b > at + 1 && (s[b - 1] == '.' || s[b - 1] == '-'))
		b--;
	if (a == at || !left_ok(s, a) || !right_ok(s, n, b))
		return at + 1;
	if (cls_values_detect(s + a, b - a, 0, 0, CLS_KBIT(CLS_K_EMAIL),
	    hits) == 0)
		return at + 1;
	emit(ud, CLS_K_EMAIL, a, b, &hits[CLS_K_EMAIL]);
	*floor = b;
	return b;
}

void
cls_text_scan(const char *s, size_t n, uint32_t mask, cls_span_fn emit,
    void *ud)
{
	uint32_t nummask = mask & ~(CLS_KBIT(CLS_K_EMAIL) | CLS_KBIT(CLS_K_IPV6) |
	    CLS_KBIT(CLS_K_IBAN));
	size_t i = 0, floor = 0;

	while (i < n) {
		unsigned char c;

		while (i < n && trig[(unsigned char)s[i]] == T_NONE)
			i++;
		if (i >= n)
			break;
		c = (unsigned char)s[i];
		switch (trig[c]) {
		case T_NUM:
			if (!left_ok(s, i)) {
				/* inside a word: skip it whole ('+' and '(' are
				 * not word bytes: step over them) */
				if (!is_word(c))
					i++;
				while (i < n && is_word((unsigned char)s[i]))
					i++;
				continue;
			}
			if (mask & CLS_KBIT(CLS_K_EMAIL)) {
				size_t j = i;

				while (j < n && email_char((unsigned char)s[j]))
					j++;
				if (j < n && s[j] == '@') {
					i = j;
					continue;
				}
			}
			if (nummask == 0 || (c == '(' && i + 1 < n &&
			    !is_digit((unsigned char)s[i + 1]))) {
				i++;
				continue;
			}
			i = number_token(s, n, i, &floor, nummask, emit, ud);
			break;
		case T_AT:
			if (!(mask & CLS_KBIT(CLS_K_EMAIL))) {
				i++;
				continue;
			}
			i = email_at(s, n, i, &floor, emit, ud);
			break;
		case T_COLON:
			/* the handler for ':' expands left over what the loop
			 * skipped, so a span starts at floor at the earliest */
			if (mask & CLS_KBIT(CLS_K_IPV6)) {
				struct cls_vhit hits[CLS_K_NVALUE];
				size_t a = i, b = i;

				while (a > floor && i - a < 46 &&
				    (is_alnum((unsigned char)s[a - 1]) ||
				    s[a - 1] == ':' || s[a - 1] == '.'))
					a--;
				while (b < n && b - a < 46 &&
				    (is_alnum((unsigned char)s[b]) ||
				    s[b] == ':' || s[b] == '.'))
					b++;
				while (b > i + 1 && s[b - 1] == '.')
					b--;
				if (left_ok(s, a) && right_ok(s, n, b) &&
				    cls_values_detect(s + a, b - a, 0, 0,
				    CLS_KBIT(CLS_K_IPV6), hits) != 0) {
					emit(ud, CLS_K_IPV6, a, b,
					    &hits[CLS_K_IPV6]);
					floor = b;
					i = b;
					continue;
				}
			}
			i++;
			break;
		case T_UPPER:
			if ((mask & CLS_KBIT(CLS_K_IBAN)) && i + 4 < n &&
			    left_ok(s, i) && s[i + 1] >= 'A' && s[i + 1] <= 'Z' &&
			    is_digit((unsigned char)s[i + 2]) &&
			    is_digit((unsigned char)s[i + 3])) {
				size_t ends[12], ne = 0, j = i;

				while (j < n && ne < 12) {
					while (j < n && is_alnum((unsigned char)s[j]))
						j++;
					ends[ne++] = j;
					/* printed IBANs: groups of four; only
					 * the second may be letters alone */
					if (j - (ne > 1 ? ends[ne - 2] + 1 : i) == 4 &&
					    (ne == 1 || digit_within(s, n, j + 1, 4)) &&
					    j + 1 < n && s[j] == ' ' &&
					    is_alnum((unsigned char)s[j + 1]))
						j++;
					else
						break;
				}
				{
					size_t last = ends[ne - 1];

					while (ne-- > 0)
						if (try_span(s, n, i, ends[ne],
						    CLS_KBIT(CLS_K_IBAN), 0, emit,
						    ud)) {
							floor = ends[ne];
							break;
						}
					/* a look-alike failing its check is
					 * skipped whole: its digit groups are
					 * not phone numbers */
					i = floor > i ? floor : last;
				}
				continue;
			}
			while (i < n && is_word((unsigned char)s[i]))
				i++;
			break;
		}
	}
}
