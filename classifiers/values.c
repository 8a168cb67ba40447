/* classifiers/values.c — value detectors with their validation: format,
 * checksum (Luhn, ISO 7064 MOD 11-2, ISO 13616 mod 97, GB 32100), issuer
 * ranges, dates and region prefixes. Pure functions over bytes, no
 * allocation. */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "classifiers/internal.h"

/*
 * The digits of a value and how they are grouped. A group is a maximal run of
 * digits; whatever stands between two runs is recorded in seps (space, '-',
 * '.') or paren, or makes the value "other" (letters, '/', ...). Values longer
 * than the buffers are marked long and no digit detector accepts them.
 */
#define DG_MAXD		40
#define DG_MAXG		12
struct digits {
	char		d[DG_MAXD];
	size_t		nd;
	uint8_t		glen[DG_MAXG];
	size_t		ng;
	int		plus;		/* a leading '+' */
	int		paren;		/* '(' or ')' seen */
	int		letters;
	int		other;		/* neither digit, separator, paren nor '+' */
	int		seps;		/* number of separator characters */
	int		dash, space, dot;
	int		longv;
	int		badsep;		/* two separators in a row (not ") ") */
};

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alpha(unsigned char c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static void
digits_parse(const char *p, size_t n, struct digits *t)
{
	int prev = 0;		/* 0 start, 1 digit, 2 separator, 3 paren */
	size_t nd = 0, ng = 0;
	unsigned gl = 0;	/* length of group ng - 1, stored when it ends */

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (is_digit(c)) {
			if (prev != 1) {
				if (ng == DG_MAXG) {
					t->longv = 1;
					break;
				}
				if (ng > 0)
					t->glen[ng - 1] = (uint8_t)gl;
				ng++;
				gl = 0;
			}
			if (nd == DG_MAXD - 1) {
				t->longv = 1;
				break;
			}
			t->d[nd++] = (char)c;
			gl++;
			prev = 1;
		} else if (c == ' ' || c == '-' || c == '.') {
			if (prev == 2)
				t->badsep = 1;
			if (prev == 0)
				t->badsep = 1;
			t->seps++;
			t->dash += c == '-';
			t->space += c == ' ';
			t->dot += c == '.';
			prev = 2;
		} else if (c == '(' || c == ')') {
			t->paren++;
			prev = 3;
		} else if (c == '+' && i == 0) {
			t->plus = 1;
			prev = 3;
		} else if (is_alpha(c)) {
			t->letters++;
			prev = 0;
		} else {
			t->other++;
			prev = 0;
		}
	}
	if (ng > 0)
		t->glen[ng - 1] = (uint8_t)gl;
	t->nd = nd;
	t->ng = ng;
	if (t->longv)
		return;
	if (prev == 2)
		t->badsep = 1;
	t->d[t->nd] = '\0';
}

static int
dnum(const char *d, size_t k)
{
	int v = 0;

	for (size_t i = 0; i < k; i++)
		v = v * 10 + (d[i] - '0');
	return v;
}

static void
hit(struct cls_vhit *h, int conf, int weak, const char *e1, const char *e2)
{
	h->conf = (uint8_t)conf;
	h->weak = (uint8_t)weak;
	h->nev = 0;
	if (e1 != NULL)
		h->ev[h->nev++] = e1;
	if (e2 != NULL)
		h->ev[h->nev++] = e2;
}

/* --- email ------------------------------------------------------------ */

/* The punctuation allowed in an email's local part (RFC 5322 atext and
 * the dot). */
const uint8_t cls_email_punct[128] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['/'] = 1, ['='] = 1, ['?'] = 1, ['^'] = 1,
	['_'] = 1, ['`'] = 1, ['{'] = 1, ['|'] = 1, ['}'] = 1, ['~'] = 1,
	['.'] = 1, ['-'] = 1,
};
const char cls_ev_cn_mobile[] = "format:cn_mobile";

static int
email_local_char(unsigned char c)
{
	return is_digit(c) || is_alpha(c) || c >= 0x80 ||
	    (c < 0x80 && cls_email_punct[c]);
}

STATIC int cls_email_ok(const char *p, size_t n);
STATIC int
cls_email_ok(const char *p, size_t n)
{
	const char *at = NULL;
	size_t i, llen, label = 0, labels = 0, tld = 0;
	int tld_alpha = 1, hyph_end = 0;

	if (n < 6 || n > 254)
		return 0;
	at = memchr(p, '@', n);
	if (at == NULL)
		return 0;
	llen = (size_t)(at - p);
	if (llen == 0 || llen > 64 || p[0] == '.' || p[llen - 1] == '.')
		return 0;
	for (i = 0; i < llen; i++) {
		if (!email_local_char((unsigned char)p[i]))
			return 0;
		if (p[i] == '.' && p[i + 1] == '.')
			return 0;
	}
	/* domain: labels of [A-Za-z0-9-] or UTF-8, no edge hyphens, a TLD */
	for (i = llen + 1; i <= n; i++) {
		unsigned char c = i < n ? (unsigned char)p[i] : '.';

		if (c == '.') {
			if (label == 0 || label > 63 || hyph_end)
				return 0;
			labels++;
			tld = label;
			label = 0;
			continue;
		}
		if (c == '-') {
			if (label == 0)
				return 0;
			hyph_end = 1;
		} else if (is_digit(c) || is_alpha(c) || c >= 0x80) {
			hyph_end = 0;
		} else
			return 0;
		if (label == 0)
			tld_alpha = 1;
		if (!is_alpha(c) && c < 0x80)
			tld_alpha = 0;
		label++;
	}
	if (labels < 2 || tld < 2)
		return 0;
	/* the last label: letters (or IDN), or an xn-- punycode TLD */
	if (!tld_alpha && !(tld > 4 && strncasecmp(p + n - tld, "xn--", 4) == 0))
		return 0;
	return 1;
}

/* --- phones ----------------------------------------------------------- */

/* Country calling codes: 1 and 7, the two-digit codes, and the two-digit
 * prefixes under which ITU assigns three-digit codes. */
static const char cc2[] =
    "20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 "
    "56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98 ";
static const char cc3[] =
    "21 22 23 24 25 26 29 35 37 38 42 50 59 67 68 69 80 85 87 88 96 97 99 ";

static int
in_list(const char *list, const char *d)
{
	for (const char *s = list; *s != '\0'; s += 3)
		if (s[0] == d[0] && s[1] == d[1])
			return 1;
	return 0;
}

/* Length of the calling code at d, 0 when none is assigned. */
static size_t
calling_code(const char *d, size_t nd)
{
	if (nd < 2 || d[0] == '0')
		return 0;
	if (d[0] == '1' || d[0] == '7')
		return 1;
	if (in_list(cc2, d))
		return 2;
	if (nd >= 3 && in_list(cc3, d))
		return 3;
	return 0;
}

STATIC int cls_cn_mobile_prefix_ok(const char *d);
STATIC int
cls_cn_mobile_prefix_ok(const char *d)
{
	int a = d[1] - '0', b = d[2] - '0';

	if (d[0] != '1')
		return 0;
	switch (a) {
	case 3: case 8:
		return 1;
	case 4:
		return b >= 5;
	case 5:
		return b != 4;
	case 6:
		return b == 2 || (b >= 5 && b <= 7);
	case 7:
		return b <= 8;
	case 9:
		return b != 4;
	}
	return 0;
}

/* NANP: [2-9]XX [2-9]XX XXXX */
static int
nanp_ok(const char *d)
{
	return d[0] >= '2' && d[3] >= '2' && !(d[1] == '1' && d[2] == '1');
}

/* A mainland China number without the country code: a mobile, or a landline
 * (area code 10, 2X or 3-4 digits without the trunk 0, then 7-8 digits). */
static int
cn_nsn_ok(const char *d, size_t nd)
{
	if (nd == 11 && d[0] == '1')
		return cls_cn_mobile_prefix_ok(d);
	if (d[0] == '0' || d[0] == '1')
		return d[0] == '1' && d[1] == '0' && nd >= 9 && nd <= 10;
	return nd >= 9 && nd <= 11;
}

static void
detect_cn_mobile(const struct digits *t, struct cls_vhit *h)
{
	const char *d = t->d;
	size_t nd = t->nd;
	int intl = 0;

	if (t->letters || t->other || t->longv || t->badsep)
		return;
	if (t->plus && nd == 13 && d[0] == '8' && d[1] == '6') {
		d += 2, nd -= 2, intl = 1;
	} else if (!t->plus && nd == 15 && memcmp(d, "0086", 4) == 0) {
		d += 4, nd -= 4, intl = 1;
	} else if (t->plus || t->paren)
		return;
	if (nd != 11 || !cls_cn_mobile_prefix_ok(d))
		return;
	/* 13800138000, 138 0013 8000, 138-00138000, +86 138... (not the
	 * NANP-like 1-380-013-8000) */
	{
		size_t g = 0;

		if (intl && t->ng > 1 && t->glen[0] == (t->plus ? 2 : 4))
			g = 1;
		if (!(t->ng - g == 1 || (t->ng - g == 3 && t->glen[g] == 3 &&
		    t->glen[g + 1] == 4) || (t->ng - g == 2 && (t->glen[g] == 3 ||
		    t->glen[g] == 7))))
			return;
	}
	hit(h, intl ? CLS_CONF_HIGH : CLS_CONF_MEDIUM, 0, cls_ev_cn_mobile,
	    intl ? "format:e164" : NULL);
}

static void
detect_phone(const struct digits *t, struct cls_vhit *h)
{
	const char *d = t->d;
	size_t nd = t->nd, cc, nsn;

	if (t->letters || t->other || t->longv || t->badsep || nd < 7)
		return;
	if (t->plus || (nd >= 10 && d[0] == '0' && d[1] == '0' && d[2] != '0')) {
		/* international: +CC or 00CC, then the national number */
		if (!t->plus)
			d += 2, nd -= 2;
		if (nd < 8 || nd > 15 || (cc = calling_code(d, nd)) == 0)
			return;
		/* the country code is not split by a separator (004-061-2136
		 * is not +40) */
		if (t->ng > 1 && t->glen[0] < cc + (t->plus ? 0 : 2))
			return;
		nsn = nd - cc;
		if (cc == 1 && (nsn != 10 || !nanp_ok(d + 1)))
			return;
		if (cc == 2 && d[0] == '8' && d[1] == '6' && !cn_nsn_ok(d + 2, nsn))
			return;
		/* the trunk 0 is dropped after a country code (Italy keeps it) */
		if (nsn < 6 || (d[cc] == '0' && !(cc == 2 && d[0] == '3' &&
		    d[1] == '9')))
			return;
		hit(h, CLS_CONF_HIGH, 0, "format:e164", NULL);
		return;
	}
	if (t->paren && !(t->paren == 2 && t->glen[0] >= 2 && t->glen[0] <= 5))
		return;
	if (nd == 11 && cls_cn_mobile_prefix_ok(d)) {
		hit(h, CLS_CONF_MEDIUM, 0, cls_ev_cn_mobile, NULL);
		return;
	}
	if (t->ng >= 2) {
		size_t g = 0;

		/* NANP: (NXX) NXX-XXXX, NXX-NXX-XXXX, 1-NXX-NXX-XXXX */
		if (t->ng == 4 && t->glen[0] == 1 && d[0] == '1')
			g = 1;
		if (t->ng - g == 3 && t->glen[g] == 3 && t->glen[g + 1] == 3 &&
		    t->glen[g + 2] == 4 && nanp_ok(d + g)) {
			hit(h, CLS_CONF_MEDIUM, 0, "format:nanp", NULL);
			return;
		}
		/* national with a trunk 0: 010-12345678, 020 7946 0958,
		 * 01 23 45 67 89 */
		if (d[0] == '0' && d[1] != '0' && nd >= 10 && nd <= 12 &&
		    t->glen[0] >= 2 && t->glen[0] <= 5 &&
		    d[t->glen[0]] != '0' && d[t->glen[0]] != '1') {
			size_t i;

			for (i = 1; i < t->ng; i++)
				if (t->glen[i] < 2)
					break;
			if (i == t->ng) {
				hit(h, CLS_CONF_MEDIUM, 0, "format:national",
				    NULL);
				return;
			}
		}
	}
	if (nd <= 15 && !t->paren)
		hit(h, CLS_CONF_LOW, 1, "format:digits", NULL);
}

/* --- Chinese resident identity card (GB 11643) -------------------------- */

STATIC int cls_cn_province_ok(const char *d);
STATIC int
cls_cn_province_ok(const char *d)
{
	int v = (d[0] - '0') * 10 + (d[1] - '0');

	switch (v / 10) {
	case 1:
		return v >= 11 && v <= 15;
	case 2:
		return v >= 21 && v <= 23;
	case 3:
		return v >= 31 && v <= 37;
	case 4:
		return v >= 41 && v <= 46;
	case 5:
		return v >= 50 && v <= 54;
	case 6:
		return v >= 61 && v <= 65;
	case 7:
		return v == 71;
	case 8:
		return v >= 81 && v <= 83;
	}
	return 0;
}

STATIC int cls_date_ok(int y, int m, int d);
STATIC int
cls_date_ok(int y, int m, int d)
{
	static const int mdays[12] =
	    { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	if (m == 2 && d == 29)
		return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return 1;
}

/* ISO 7064 MOD 11-2 check character of the first 17 digits. */
STATIC char cls_mod11_2(const char *d);
STATIC char
cls_mod11_2(const char *d)
{
	static const int w[17] =
	    { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	int s = 0;

	for (int i = 0; i < 17; i++)
		s += (d[i] - '0') * w[i];
	return "10X98765432"[s % 11];
}

/* Returns 1 for a valid 18-character ID, 2 for a plausible 15-digit one. */
static int
cn_id(const char *p, size_t n, const struct digits *t)
{
	char c[18];
	size_t k = 0;

	if (n == 18 || (n == 20 && t->seps == 2 && t->ng >= 2 &&
	    t->glen[0] == 6 && t->glen[1] == 8)) {
		for (size_t i = 0; i < n && k < 18; i++) {
			unsigned char ch = (unsigned char)p[i];

			if (ch == ' ' || ch == '-') {
				if (n == 18)
					return 0;
				continue;
			}
			if (!is_digit(ch) && !(k == 17 && (ch | 0x20) == 'x'))
				return 0;
			c[k++] = ch == 'x' ? 'X' : (char)ch;
		}
		if (k != 18 || !cls_cn_province_ok(c))
			return 0;
		if (!cls_date_ok(dnum(c + 6, 4), dnum(c + 10, 2), dnum(c + 12, 2))
		    || dnum(c + 6, 4) < 1900 || dnum(c + 6, 4) > 2099)
			return 0;
		return cls_mod11_2(c) == c[17];
	}
	if (n == 15 && t->nd == 15 && t->ng == 1 && cls_cn_province_ok(t->d) &&
	    cls_date_ok(1900 + dnum(t->d + 6, 2), dnum(t->d + 8, 2),
	    dnum(t->d + 10, 2)))
		return 2;
	return 0;
}

/* --- payment cards ------------------------------------------------------ */

STATIC int cls_luhn_ok(const char *d, size_t n);
STATIC int
cls_luhn_ok(const char *d, size_t n)
{
	int s = 0, dbl = 0;

	for (size_t i = n; i-- > 0; dbl = !dbl) {
		int v = d[i] - '0';

		if (dbl && (v *= 2) > 9)
			v -= 9;
		s += v;
	}
	return s % 10 == 0;
}

/* Issuer by IIN range and length; NULL when no scheme issues such a number. */
STATIC const char *cls_card_issuer(const char *d, size_t n);
STATIC const char *
cls_card_issuer(const char *d, size_t n)
{
	int p2 = dnum(d, 2), p3 = dnum(d, 3), p4 = dnum(d, 4);

	if (d[0] == '4')
		return n == 13 || n == 16 || n == 19 ? "issuer:visa" : NULL;
	if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))
		return n == 16 ? "issuer:mastercard" : NULL;
	if (p2 == 34 || p2 == 37)
		return n == 15 ? "issuer:amex" : NULL;
	if (p4 >= 2200 && p4 <= 2204)
		return n >= 16 ? "issuer:mir" : NULL;
	if (p2 == 62)
		return n >= 16 ? "issuer:unionpay" : NULL;
	if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65)
		return n >= 16 ? "issuer:discover" : NULL;
	if (p4 >= 3528 && p4 <= 3589)
		return n >= 16 ? "issuer:jcb" : NULL;
	if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39)
		return n >= 14 ? "issuer:diners" : NULL;
	if (p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893 ||
	    p4 == 6304 || p4 == 6759 || (p4 >= 6761 && p4 <= 6763))
		return "issuer:maestro";
	return NULL;
}

static void
detect_card(const struct digits *t, struct cls_vhit *h)
{
	const char *issuer;
	size_t i;

	if (t->letters || t->other || t->longv || t->badsep || t->plus ||
	    t->paren || t->dot || (t->dash && t->space) || t->nd < 12 ||
	    t->nd > 19)
		return;
	/* groups: none, 4-4-4-4(-3), 4-6-5 (Amex), 4-6-4 (Diners) */
	if (t->ng > 1) {
		int fours = 1;

		for (i = 0; i + 1 < t->ng; i++)
			if (t->glen[i] != 4)
				fours = 0;
		if (!(fours && t->glen[t->ng - 1] >= 1 && t->glen[t->ng - 1] <= 4)
		    && !(t->ng == 3 && t->glen[0] == 4 && t->glen[1] == 6 &&
		    (t->glen[2] == 5 || t->glen[2] == 4)))
			return;
	}
	if (!cls_luhn_ok(t->d, t->nd))
		return;
	issuer = cls_card_issuer(t->d, t->nd);
	if (issuer == NULL)
		hit(h, CLS_CONF_LOW, 1, "checksum:luhn", NULL);
	else
		hit(h, CLS_CONF_HIGH, 0, "checksum:luhn", issuer);
}

/* --- IBAN (ISO 13616) ----------------------------------------------------- */

static const char iban_len[] =
    "AD24AE23AL28AT20AZ28BA20BE16BG22BH22BI27BR29BY28CH21CR22CY28CZ24DE22"
    "DJ27DK18DO28EE20EG29ES24FI18FO18FR27GB22GE22GI23GL18GR27GT28HR21HU28"
    "IE22IL23IQ23IS26IT27JO30KW30KZ20LB28LC32LI21LT20LU20LV21LY25MC27MD24"
    "ME22MK19MR27MT31MU30NL18NO15PK24PL28PS29PT25QA29RO24RS22SA24SC31SD18"
    "SE24SI19SK24SM27SO23ST25SV28TL23TN24TR26UA29VA22VG24XK20";

static size_t
iban_country_len(const char *c)
{
	for (const char *s = iban_len; *s != '\0'; s += 4)
		if (s[0] == c[0] && s[1] == c[1])
			return (size_t)((s[2] - '0') * 10 + (s[3] - '0'));
	return 0;
}

STATIC int cls_iban_ok(const char *p, size_t n);
STATIC int
cls_iban_ok(const char *p, size_t n)
{
	char c[34];
	size_t k = 0, grp = 0, want;
	unsigned r = 0;

	/* compact, or printed in groups of four separated by single spaces */
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == ' ') {
			if (grp != 4)
				return 0;
			grp = 0;
			continue;
		}
		if (!is_digit(ch) && !is_alpha(ch))
			return 0;
		if (k == sizeof(c))
			return 0;
		c[k++] = (char)(is_alpha(ch) ? (ch & ~0x20) : ch);
		grp++;
	}
	if (k < 15 || !is_alpha((unsigned char)c[0]) ||
	    !is_alpha((unsigned char)c[1]) || !is_digit((unsigned char)c[2]) ||
	    !is_digit((unsigned char)c[3]))
		return 0;
	if ((want = iban_country_len(c)) == 0 || want != k)
		return 0;
	for (size_t i = 0; i < k; i++) {
		char ch = c[(i + 4) % k];

		if (is_digit((unsigned char)ch))
			r = (r * 10 + (unsigned)(ch - '0')) % 97;
		else
			r = (r * 100 + (unsigned)(ch - 'A' + 10)) % 97;
	}
	return r == 1;
}

/* --- US SSN ------------------------------------------------------------- */

static void
detect_ssn(const struct digits *t, struct cls_vhit *h)
{
	const char *d = t->d;
	int area, group, serial;

	if (t->letters || t->other || t->longv || t->badsep || t->plus ||
	    t->paren || t->dot || t->nd != 9)
		return;
	if (!(t->ng == 1 || (t->ng == 3 && t->glen[0] == 3 && t->glen[1] == 2 &&
	    !(t->dash && t->space))))
		return;
	area = dnum(d, 3);
	group = dnum(d + 3, 2);
	serial = dnum(d + 5, 4);
	if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0)
		return;
	/* numbers published in advertising and by the SSA as examples */
	if (strcmp(d, "078051120") == 0 || strcmp(d, "219099999") == 0 ||
	    strcmp(d, "123456789") == 0)
		return;
	hit(h, CLS_CONF_LOW, 1, "format:ssn", NULL);
}

/* --- Chinese Unified Social Credit Code (GB 32100-2015) ------------------ */

/* The value of each character of "0123456789ABCDEFGHJKLMNPQRTUWXY" (its
 * index), -1 for any other byte. */
static const int8_t uscc_val[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1, -1, -1, -1, -1, -1,
	-1, 10, 11, 12, 13, 14, 15, 16, 17, -1, 18, 19, 20, 21, 22, -1,
	23, 24, 25, -1, 26, 27, -1, 28, 29, 30, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

STATIC int cls_uscc_ok(const char *p, size_t n);
STATIC int
cls_uscc_ok(const char *p, size_t n)
{
	static const int w[17] = { 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25,
	    13, 8, 24, 10, 30, 28 };
	int v[18], s = 0;

	if (n != 18)
		return 0;
	for (size_t i = 0; i < 18; i++)
		if ((v[i] = uscc_val[(unsigned char)p[i]]) < 0)
			return 0;
	/* registering authority, organisation type, region code */
	{
		/* organisation types per registering authority */
		static const char *const types[] = {
			"1239", "19", "123459", "19", "1239", "129", "129", "19",
			"123",
		};
		const char *ty = p[0] >= '1' && p[0] <= '9' ?
		    types[p[0] - '1'] : p[0] == 'Y' ? "1" :
		    p[0] == 'N' ? "123459" : p[0] == 'A' ? "19" : NULL;

		if (ty == NULL || strchr(ty, p[1]) == NULL)
			return 0;
	}
	for (int i = 2; i < 8; i++)
		if (v[i] > 9)
			return 0;
	if (!cls_cn_province_ok(p + 2) && !(p[2] == '1' && p[3] == '0'))
		return 0;
	for (int i = 0; i < 17; i++)
		s += v[i] * w[i];
	return v[17] == (31 - s % 31) % 31;
}

/* --- IP addresses ------------------------------------------------------- */

static int
ipv4_ok(const char *p, size_t n)
{
	char buf[16];
	unsigned char out[4];
	int dots = 0;

	if (n < 7 || n > 15)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '.')
			dots++;
		else if (!is_digit((unsigned char)p[i]))
			return 0;
	}
	if (dots != 3)
		return 0;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, out) == 1;
}

static int
ipv6_ok(const char *p, size_t n)
{
	char buf[46];
	unsigned char out[16];
	int colons = 0;

	if (n < 3 || n > 45)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == ':')
			colons++;
		else if (!is_digit(c) && !((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		    && c != '.')
			return 0;
	}
	/* "::" alone and "::1"-like stubs say little; want two groups */
	if (colons < 2 || n < 6)
		return 0;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1;
}

/* --- dispatch ------------------------------------------------------------- */

/*
 * Character classes for the one pass that decides which detectors can
 * accept a value at all. Each test below that uses them is a necessary
 * condition of the detector it guards (email needs '@', an IPv4 address
 * only digits and dots, ...), so skipping a detector on it changes no
 * result; it only saves the detector's own scan.
 */
#define B_DIGIT		0x001
#define B_AT		0x002
#define B_COLON		0x004
#define B_DOT		0x008
#define B_SPACE		0x010
#define B_DASH		0x020
#define B_PAREN		0x040
#define B_PLUS		0x080
#define B_ALPHA		0x100		/* ASCII letters but x and X */
#define B_X		0x200		/* x, X (the check character of an ID) */
#define B_OTHER		0x400		/* anything else, non-ASCII too */

#define D	B_DIGIT
#define AT	B_AT
#define CO	B_COLON
#define DT	B_DOT
#define SP	B_SPACE
#define DS	B_DASH
#define PA	B_PAREN
#define PL	B_PLUS
#define A	B_ALPHA
#define X	B_X
#define O	B_OTHER
static const uint16_t bclass[256] = {
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,
	SP, O, O, O, O, O, O, O, PA, PA, O, PL, O, DS, DT, O,
	D, D, D, D, D, D, D, D, D, D, CO, O, O, O, O, O,
	AT, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A,
	A, A, A, A, A, A, A, A, X, A, A, O, O, O, O, O,
	O, A, A, A, A, A, A, A, A, A, A, A, A, A, A, A,
	A, A, A, A, A, A, A, A, X, A, A, O, O, O, O, O,
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,
	O, O, O, O, O, O, O, O, O, O, O, O, O, O, O, O,
};
#undef D
#undef AT
#undef CO
#undef DT
#undef SP
#undef DS
#undef PA
#undef PL
#undef A
#undef X
#undef O

/* Runs one detector of the digits (it sets hits[k] on a hit only): the
 * kind's bit when it hit. */
static uint32_t
detect(void (*fn)(const struct digits *, struct cls_vhit *),
    const struct digits *t, struct cls_vhit hits[CLS_K_NVALUE], int k)
{
	hits[k].conf = 0;
	fn(t, &hits[k]);
	return hits[k].conf != 0 ? CLS_KBIT(k) : 0;
}

uint32_t
cls_values_detect(const char *p, size_t n, int number, int whole,
    uint32_t mask, struct cls_vhit hits[CLS_K_NVALUE])
{
	struct digits t;
	uint32_t found = 0;	/* the kinds hit (hits[k] set for these) */
	int id = 0;
	/* what the pass over the classes allows; all 1 without the pass */
	int at = 1, colon = 1, iban = 1, ipv4 = 1, digits = 1;

	uint32_t want = mask;

	if (n == 0)
		return 0;
	/* a phone is never also a card, an ID or a USCC: look for those too */
	if (mask & CLS_KBIT(CLS_K_PHONE))
		mask |= CLS_KBIT(CLS_K_PAYMENT_CARD) |
		    CLS_KBIT(CLS_K_CN_RESIDENT_ID) | CLS_KBIT(CLS_K_CN_USCC);
	if (whole && n <= 64) {
		unsigned any, rest = 0;	/* classes of all bytes, of all but
					 * the first */

		for (size_t i = 1; i < n; i++)
			rest |= bclass[(unsigned char)p[i]];
		any = rest | bclass[(unsigned char)p[0]];
		/* the same two tests as below */
		if (number ? (any & ~B_DIGIT) != 0 :
		    !(any & (B_DIGIT | B_AT | B_COLON)))
			return 0;
		at = (any & B_AT) != 0;
		colon = (any & B_COLON) != 0;
		/* an IBAN is letters, digits and spaces */
		iban = !(any & ~(B_DIGIT | B_ALPHA | B_X | B_SPACE));
		/* an IPv4 address is digits and dots */
		ipv4 = !(any & ~(B_DIGIT | B_DOT));
		/* With a letter or another byte digits_parse counts in
		 * t.letters or t.other (a '+' but the first too), every
		 * detector after it but cn_id rejects the value, and cn_id
		 * takes only digits, ' ', '-' and an x: none can hit. */
		digits = !(((any & (B_AT | B_COLON | B_ALPHA | B_X | B_OTHER)) ||
		    (rest & B_PLUS)) &&
		    (any & ~(B_DIGIT | B_SPACE | B_DASH | B_X)));
	} else {
		size_t i;

		/* the candidates of free text are short and of one shape, and
		 * the early stop below ends long text sooner: no pass over
		 * the classes, every detector looks */
		if (number) {
			/* only plain integers can be identifiers */
			for (i = 0; i < n; i++)
				if (!is_digit((unsigned char)p[i]))
					return 0;
		} else {
			/* every detector needs a digit, '@' (email) or ':'
			 * (an IPv6 address like dead:beef::cafe); most field
			 * values (names, statuses, cities) have none */
			for (i = 0; i < n; i++) {
				unsigned char c = (unsigned char)p[i];

				if (is_digit(c) || c == '@' || c == ':')
					break;
			}
			if (i == n)
				return 0;
		}
	}
	if ((mask & CLS_KBIT(CLS_K_EMAIL)) && at && cls_email_ok(p, n)) {
		hit(&hits[CLS_K_EMAIL], CLS_CONF_HIGH, 0, "format:email", NULL);
		found |= CLS_KBIT(CLS_K_EMAIL);
	}
	if ((mask & CLS_KBIT(CLS_K_IBAN)) && n >= 15 && is_alpha((unsigned char)p[0])
	    && iban && cls_iban_ok(p, n)) {
		hit(&hits[CLS_K_IBAN], CLS_CONF_HIGH, 0, "checksum:mod97", NULL);
		found |= CLS_KBIT(CLS_K_IBAN);
	}
	if ((mask & CLS_KBIT(CLS_K_CN_USCC)) && n == 18 && cls_uscc_ok(p, n)) {
		hit(&hits[CLS_K_CN_USCC], CLS_CONF_HIGH, 0, "checksum:gb32100",
		    NULL);
		found |= CLS_KBIT(CLS_K_CN_USCC);
	}
	if ((mask & CLS_KBIT(CLS_K_IPV6)) && colon && ipv6_ok(p, n)) {
		hit(&hits[CLS_K_IPV6], CLS_CONF_MEDIUM, 0, "format:ipv6", NULL);
		found |= CLS_KBIT(CLS_K_IPV6);
	}
	if (!is_digit((unsigned char)p[0]) && p[0] != '+' && p[0] != '(')
		goto done;
	if ((mask & CLS_KBIT(CLS_K_IPV4)) && ipv4 && ipv4_ok(p, n)) {
		hit(&hits[CLS_K_IPV4], CLS_CONF_MEDIUM, 0, "format:ipv4", NULL);
		found |= CLS_KBIT(CLS_K_IPV4);
		goto done;
	}
	if (!digits)
		goto done;
	digits_parse(p, n, &t);
	if (t.nd < 7)
		goto done;
	if (mask & (CLS_KBIT(CLS_K_CN_RESIDENT_ID) |
	    CLS_KBIT(CLS_K_PAYMENT_CARD) | CLS_KBIT(CLS_K_CN_USCC)) &&
	    (n == 15 || n == 18 || n == 20))
		id = cn_id(p, n, &t);
	/* an all-digit USCC that is also a valid resident ID (province,
	 * birth date and MOD 11-2 all agree) is taken as the ID */
	if (id == 1)
		found &= ~CLS_KBIT(CLS_K_CN_USCC);
	if ((mask & CLS_KBIT(CLS_K_CN_RESIDENT_ID)) && id == 1) {
		hit(&hits[CLS_K_CN_RESIDENT_ID], CLS_CONF_HIGH, 0,
		    "checksum:mod11-2", "date:valid");
		found |= CLS_KBIT(CLS_K_CN_RESIDENT_ID);
	} else if ((mask & CLS_KBIT(CLS_K_CN_RESIDENT_ID)) && id == 2) {
		hit(&hits[CLS_K_CN_RESIDENT_ID], CLS_CONF_LOW, 1, "format:id15",
		    "date:valid");
		found |= CLS_KBIT(CLS_K_CN_RESIDENT_ID);
	}
	/* an 18-digit number that is a valid resident ID is not also a card
	 * (UnionPay 62... and Gansu 62... share a prefix) */
	if ((mask & CLS_KBIT(CLS_K_PAYMENT_CARD)) && id != 1)
		found |= detect(detect_card, &t, hits, CLS_K_PAYMENT_CARD);
	if (mask & CLS_KBIT(CLS_K_CN_MOBILE))
		found |= detect(detect_cn_mobile, &t, hits, CLS_K_CN_MOBILE);
	if ((mask & CLS_KBIT(CLS_K_PHONE)) && id == 0 &&
	    !(found & (CLS_KBIT(CLS_K_PAYMENT_CARD) | CLS_KBIT(CLS_K_CN_USCC))))
		found |= detect(detect_phone, &t, hits, CLS_K_PHONE);
	if (mask & CLS_KBIT(CLS_K_US_SSN))
		found |= detect(detect_ssn, &t, hits, CLS_K_US_SSN);
done:
	/* kinds looked for only to rule others out are not reported */
	return found & want;
}

int
cls_value_plausible(int kind, const char *p, size_t n)
{
	size_t digits = 0;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		digits += is_digit((unsigned char)p[i]);
	switch (kind) {
	case CLS_K_EMAIL:
		return memchr(p, '@', n) != NULL;
	case CLS_K_IPV4:
	case CLS_K_IPV6:
		return digits > 0 && (memchr(p, '.', n) != NULL ||
		    memchr(p, ':', n) != NULL);
	case CLS_K_IBAN:
		return digits >= 8;
	case CLS_K_PHONE:
	case CLS_K_CN_MOBILE:
	case CLS_K_CN_RESIDENT_ID:
	case CLS_K_PAYMENT_CARD:
	case CLS_K_US_SSN:
	case CLS_K_CN_USCC:
		return digits >= 5;
	}
	return 1;
}
