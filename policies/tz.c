/* policies/tz.c — UTC offsets of a time zone, read once from its TZif file
 * (RFC 8536) and then queried from any thread without the C library's time
 * zone state.
 *
 * Why not localtime_r: it reads the process-wide TZ (tzset), which only
 * setenv can change, and setenv is not thread-safe; a policy names its own
 * zone, and a reload must not disturb worker threads. So the file is parsed
 * here, into a table of transitions plus the POSIX TZ string of its footer
 * (version 2 and later), which gives the rule for every instant after the
 * last transition ("slim" files, the default of zic since 2020, stop their
 * table in the 1990s for most zones and rely on it). Leap-second records
 * ("right/" zones) are ignored: such files count TAI-like seconds and are
 * then off by the leap seconds (under half a minute), which quiet hours can
 * live with. A footer this file cannot read (a daylight-saving time without
 * a rule, which RFC 8536 leaves to the implementation) makes the last
 * transition's offset hold forever. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policies/internal.h"

#define TZ_MAX_BYTES	(1u << 20)	/* the largest zone is ~4 KiB */
#define TZ_MAX_OFF	(26 * 3600)	/* |UT offset| beyond this: corrupt */
#define TZ_DEFAULT_DIR	"/usr/share/zoneinfo"

/* A rule date of a POSIX TZ string: "Jn" (1..365, February 29 never
 * counted), "n" (0..365, counted), or "Mm.w.d" (day d of week w of month
 * m, w = 5 the last); time = seconds after local midnight (may be negative
 * or up to 167 hours, RFC 8536 3.3.1). */
struct tz_date {
	char		 kind;		/* 'J', 'N' or 'M' */
	int		 n, m, w, d;
	int32_t		 time;
};

struct pol_tz {
	int64_t		*at;		/* transition instants, ascending */
	int32_t		*off;		/* UT offset from at[i] on */
	size_t		 n;
	int32_t		 off0;		/* before at[0]: time type 0 */
	int		 rule;		/* the footer rule holds from at[n-1] */
	int32_t		 std_off, dst_off;
	int		 has_dst;
	struct tz_date	 start, end;
};

/* ------------------------------------------------------------------ dates */

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), after H. Hinnant's
 * "chrono-compatible low-level date algorithms". */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t		 era;
	unsigned	 yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int64_t
year_of_days(int64_t z)
{
	int64_t		 era;
	unsigned	 doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	return (int64_t)yoe + era * 400 + (mp >= 10);
}

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
month_days(int64_t y, int m)
{
	static const unsigned char md[12] = { 31, 28, 31, 30, 31, 30, 31, 31,
	    30, 31, 30, 31 };

	return md[m - 1] + (m == 2 && is_leap(y));
}

/* The day (days since the epoch) a rule date falls on in year y. */
static int64_t
rule_day(const struct tz_date *r, int64_t y)
{
	int64_t	 first, wd;
	int	 day;

	switch (r->kind) {
	case 'J':
		return days_from_civil(y, 1, 1) + r->n - 1 +
		    (is_leap(y) && r->n >= 60);
	case 'N':
		return days_from_civil(y, 1, 1) + r->n;
	default:
		first = days_from_civil(y, (unsigned)r->m, 1);
		wd = ((first + 4) % 7 + 7) % 7;	/* 1970-01-01: Thu */
		day = 1 + (int)((r->d - wd + 7) % 7) + 7 * (r->w - 1);
		while ((unsigned)day > month_days(y, r->m))
			day -= 7;
		return first + day - 1;
	}
}

/* ------------------------------------------------------- POSIX TZ strings */

/* [+-]hh[:mm[:ss]] with hh <= maxh; seconds in *out. */
static const char *
posix_time(const char *p, int maxh, int32_t *out)
{
	int	 sign = 1, h = 0, m = 0, s = 0, nd = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	for (; *p >= '0' && *p <= '9' && nd < 3; p++, nd++)
		h = h * 10 + (*p - '0');
	if (nd == 0 || h > maxh)
		return NULL;
	if (*p == ':') {
		if (p[1] < '0' || p[1] > '5' || p[2] < '0' || p[2] > '9')
			return NULL;
		m = (p[1] - '0') * 10 + (p[2] - '0');
		p += 3;
		if (*p == ':') {
			if (p[1] < '0' || p[1] > '5' || p[2] < '0' ||
			    p[2] > '9')
				return NULL;
			s = (p[1] - '0') * 10 + (p[2] - '0');
			p += 3;
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return p;
}

/* A zone abbreviation: 3 or more letters, or <...> of [+-A-Za-z0-9]. */
static const char *
posix_name(const char *p)
{
	const char *s = p;

	if (*p == '<') {
		for (p++; (*p >= 'A' && *p <= 'Z') || (*p >= 'a' &&
		    *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '+' ||
		    *p == '-'; p++)
			;
		return *p == '>' && p - s >= 4 ? p + 1 : NULL;
	}
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	return p - s >= 3 ? p : NULL;
}

static const char *
posix_num(const char *p, int min, int max, int *out)
{
	int	 v = 0, nd = 0;

	for (; *p >= '0' && *p <= '9' && nd < 4; p++, nd++)
		v = v * 10 + (*p - '0');
	if (nd == 0 || v < min || v > max)
		return NULL;
	*out = v;
	return p;
}

static const char *
posix_date(const char *p, struct tz_date *r)
{
	r->time = 7200;
	if (*p == 'J') {
		r->kind = 'J';
		p = posix_num(p + 1, 1, 365, &r->n);
	} else if (*p == 'M') {
		r->kind = 'M';
		if ((p = posix_num(p + 1, 1, 12, &r->m)) == NULL || *p != '.' ||
		    (p = posix_num(p + 1, 1, 5, &r->w)) == NULL || *p != '.')
			return NULL;
		p = posix_num(p + 1, 0, 6, &r->d);
	} else {
		r->kind = 'N';
		p = posix_num(p, 0, 365, &r->n);
	}
	if (p != NULL && *p == '/')
		p = posix_time(p + 1, 167, &r->time);
	return p;
}

/* Reads a TZ string ("CET-1CEST,M3.5.0,M10.5.0/3", "<+0530>-5:30") into
 * z's rule. -1 when it is malformed or names a daylight-saving time
 * without a rule. */
static int
posix_parse(const char *s, struct pol_tz *z)
{
	const char	*p;
	int32_t		 v;

	if ((p = posix_name(s)) == NULL ||
	    (p = posix_time(p, 24, &v)) == NULL)
		return -1;
	z->std_off = -v;
	if (*p == '\0') {
		z->has_dst = 0;
		return 0;
	}
	if ((p = posix_name(p)) == NULL)
		return -1;
	z->dst_off = z->std_off + 3600;
	if (*p != ',' && *p != '\0') {
		if ((p = posix_time(p, 24, &v)) == NULL)
			return -1;
		z->dst_off = -v;
	}
	if (*p != ',' || (p = posix_date(p + 1, &z->start)) == NULL ||
	    *p != ',' || (p = posix_date(p + 1, &z->end)) == NULL ||
	    *p != '\0')
		return -1;
	z->has_dst = 1;
	return 0;
}

/* The rule's offset at t and the next instant it may change. Transitions
 * of the year around t and of its neighbours are laid out in order; the
 * last one not after t decides. (Where daylight time lasts all year, as in
 * "EST5EDT,0/0,J365/25", the end of one year and the start of the next are
 * the same instant: ends sort first, so the start wins.) */
static int32_t
rule_offset(const struct pol_tz *z, int64_t t, int64_t *next)
{
	int64_t	 at[6], y, tmp;
	int	 dst[6], k, j, state, ti;

	*next = INT64_MAX;
	if (!z->has_dst)
		return z->std_off;
	/* Beyond a million years the calendar arithmetic could overflow;
	 * the offset there is anyone's guess anyway. */
	if (t > ((int64_t)1 << 45))
		t = (int64_t)1 << 45;
	if (t < -((int64_t)1 << 45))
		t = -((int64_t)1 << 45);
	y = year_of_days(floor_div(t + z->std_off, 86400));
	for (k = 0; k < 3; k++) {
		at[2 * k] = rule_day(&z->start, y - 1 + k) * 86400 +
		    z->start.time - z->std_off;
		dst[2 * k] = 1;
		at[2 * k + 1] = rule_day(&z->end, y - 1 + k) * 86400 +
		    z->end.time - z->dst_off;
		dst[2 * k + 1] = 0;
	}
	for (k = 1; k < 6; k++)
		for (j = k; j > 0 && (at[j - 1] > at[j] ||
		    (at[j - 1] == at[j] && dst[j - 1] > dst[j])); j--) {
			tmp = at[j], at[j] = at[j - 1], at[j - 1] = tmp;
			ti = dst[j], dst[j] = dst[j - 1], dst[j - 1] = ti;
		}
	/* Before every listed transition (cannot happen for t inside year y,
	 * kept for safety): what the year ends with. */
	state = rule_day(&z->start, y) > rule_day(&z->end, y);
	for (k = 0; k < 6 && at[k] <= t; k++)
		state = dst[k];
	if (k < 6)
		*next = at[k];
	return state ? z->dst_off : z->std_off;
}

int32_t
pol_tz_offset(const struct pol_tz *z, int64_t t, int64_t *next)
{
	size_t	 lo, hi, mid;
	int64_t	 nx;

	if (next == NULL)
		next = &nx;
	if (z->n == 0) {
		if (z->rule)
			return rule_offset(z, t, next);
		*next = INT64_MAX;
		return z->off0;
	}
	if (t < z->at[0]) {
		*next = z->at[0];
		return z->off0;
	}
	lo = 0;
	hi = z->n;			/* at[lo] <= t < at[hi] */
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (z->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	if (lo + 1 < z->n) {
		*next = z->at[lo + 1];
		return z->off[lo];
	}
	if (z->rule)
		return rule_offset(z, t, next);
	*next = INT64_MAX;
	return z->off[lo];
}

/* ------------------------------------------------------------------ loading */

void
pol_tz_free(struct pol_tz *z)
{
	if (z == NULL)
		return;
	free(z->at);
	free(z->off);
	free(z);
}

int
pol_tz_fixed_parse(const char *s, int32_t *off)
{
	int	 h, m;

	if (strcmp(s, "UTC") == 0) {
		*off = 0;
		return 0;
	}
	if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':' ||
	    s[1] < '0' || s[1] > '2' || s[2] < '0' || s[2] > '9' ||
	    s[4] < '0' || s[4] > '5' || s[5] < '0' || s[5] > '9')
		return -1;
	h = (s[1] - '0') * 10 + (s[2] - '0');
	m = (s[4] - '0') * 10 + (s[5] - '0');
	if (h > 23)
		return -1;
	*off = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
	return 0;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_hdr {
	int		 version;	/* 1, 2, 3, 4 */
	uint64_t	 isut, isstd, leap, time, type, chr;
};

static int
tzif_hdr(const unsigned char *p, size_t len, struct tzif_hdr *h)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return -1;
	h->version = p[4] == 0 ? 1 : p[4] >= '2' && p[4] <= '9' ?
	    p[4] - '0' : -1;
	if (h->version < 0)
		return -1;
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chr = be32(p + 40);
	return 0;
}

/* Bytes of the data block after a header, with times of <tb> bytes. */
static uint64_t
tzif_size(const struct tzif_hdr *h, unsigned tb)
{
	return h->time * tb + h->time + h->type * 6 + h->chr +
	    h->leap * (tb + 4) + h->isstd + h->isut;
}

struct pol_tz *
pol_tz_from_tzif(const unsigned char *buf, size_t len, const char **why)
{
	struct pol_tz		*z = NULL;
	struct tzif_hdr		 h;
	const unsigned char	*p = buf, *end = buf + len, *types, *tt, *e;
	unsigned		 tb = 4;
	uint64_t		 sz;
	char			 footer[256];
	size_t			 fl;

	*why = "not a TZif file";
	if (tzif_hdr(p, len, &h) < 0)
		return NULL;
	*why = "truncated TZif file";
	sz = tzif_size(&h, 4);
	if (sz > len - 44)
		return NULL;
	if (h.version >= 2) {
		/* Skip the 32-bit block: the 64-bit one follows. */
		p += 44 + sz;
		len -= 44 + (size_t)sz;
		if (len < 44)
			return NULL;
		*why = "not a TZif file";
		if (tzif_hdr(p, len, &h) < 0)
			return NULL;
		*why = "truncated TZif file";
		tb = 8;
		sz = tzif_size(&h, 8);
		if (sz > len - 44)
			return NULL;
	}
	e = p + 44 + sz;
	p += 44;
	*why = "malformed TZif file";
	if (h.type == 0 || h.type > 256 || h.chr == 0 ||
	    (h.isstd != 0 && h.isstd != h.type) ||
	    (h.isut != 0 && h.isut != h.type))
		return NULL;
	*why = "out of memory";
	if ((z = calloc(1, sizeof(*z))) == NULL ||
	    (z->at = calloc(h.time + 1, sizeof(*z->at))) == NULL ||
	    (z->off = calloc(h.time + 1, sizeof(*z->off))) == NULL)
		goto fail;
	*why = "malformed TZif file";
	types = p + h.time * tb;
	tt = types + h.time;
	for (uint64_t i = 0; i < h.type; i++) {
		int32_t o = (int32_t)be32(tt + 6 * i);

		if (o < -TZ_MAX_OFF || o > TZ_MAX_OFF || tt[6 * i + 4] > 1)
			goto fail;
	}
	z->off0 = (int32_t)be32(tt);
	for (uint64_t i = 0; i < h.time; i++) {
		int64_t t = tb == 8 ? be64(p + 8 * i) :
		    (int32_t)be32(p + 4 * i);

		if ((i > 0 && t <= z->at[i - 1]) || types[i] >= h.type)
			goto fail;
		z->at[i] = t;
		z->off[i] = (int32_t)be32(tt + 6 * types[i]);
	}
	z->n = (size_t)h.time;
	if (h.version >= 2) {
		/* The footer: "\n" TZ "\n", up to the end of the file. */
		if (e == end || *e != '\n')
			goto fail;
		fl = 0;
		for (e++; e < end && *e != '\n'; e++) {
			if (fl + 1 >= sizeof(footer))
				goto fail;
			footer[fl++] = (char)*e;
		}
		if (e == end)
			goto fail;
		footer[fl] = '\0';
		/* An empty footer, or one this reader does not understand:
		 * the last transition's offset holds (see the file header). */
		if (fl > 0 && posix_parse(footer, z) == 0)
			z->rule = 1;
	}
	*why = NULL;
	return z;
fail:
	pol_tz_free(z);
	return NULL;
}

/* A name under the zone directory: [A-Za-z0-9._+-] in components joined by
 * '/', none of them "." or "..", nothing absolute. */
static int
tz_name_ok(const char *name)
{
	const char *c = name;

	if (*name == '\0' || strlen(name) > 200)
		return 0;
	for (const char *p = name;; p++) {
		if (*p == '/' || *p == '\0') {
			if (p == c || (p - c == 1 && c[0] == '.') ||
			    (p - c == 2 && c[0] == '.' && c[1] == '.'))
				return 0;
			if (*p == '\0')
				return 1;
			c = p + 1;
		} else if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' &&
		    *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		    *p == '_' || *p == '+' || *p == '-'))
			return 0;
	}
}

/* $TZDIR, or /usr/share/zoneinfo when it is unset or empty. */
static const char *
tz_dir(void)
{
	const char *d = getenv("TZDIR");

	return d != NULL && *d != '\0' ? d : TZ_DEFAULT_DIR;
}

struct pol_tz *
pol_tz_load(const char *name, char *why, size_t whysz)
{
	struct pol_tz	*z = NULL;
	unsigned char	*buf = NULL;
	const char	*dir = tz_dir(), *w;
	char		 path[4096];
	FILE		*f = NULL;
	size_t		 n;
	int32_t		 off;

	if (pol_tz_fixed_parse(name, &off) == 0) {
		if ((z = calloc(1, sizeof(*z))) == NULL)
			snprintf(why, whysz, "out of memory");
		else
			z->off0 = off;
		return z;
	}
	if (!tz_name_ok(name)) {
		snprintf(why, whysz, "not a time zone name");
		return NULL;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		snprintf(why, whysz, "path too long");
		return NULL;
	}
	if ((f = fopen(path, "rb")) == NULL) {
		snprintf(why, whysz, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(TZ_MAX_BYTES + 1)) == NULL) {
		snprintf(why, whysz, "out of memory");
		goto out;
	}
	n = fread(buf, 1, TZ_MAX_BYTES + 1, f);
	if (ferror(f)) {
		snprintf(why, whysz, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (n > TZ_MAX_BYTES) {
		snprintf(why, whysz, "%s: not a TZif file", path);
		goto out;
	}
	if ((z = pol_tz_from_tzif(buf, n, &w)) == NULL)
		snprintf(why, whysz, "%s: %s", path, w);
out:
	free(buf);
	fclose(f);
	return z;
}

/* Entries of a directory, for suggestions; NULL-terminated, or NULL. */
static char **
list_dir(const char *path)
{
	DIR		 *d;
	struct dirent	 *de;
	char		**v = NULL, **nv;
	size_t		  n = 0;

	if ((d = opendir(path)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL && n < 4096) {
		if (de->d_name[0] == '.')
			continue;
		if ((nv = realloc(v, (n + 2) * sizeof(*v))) == NULL)
			break;
		v = nv;
		if ((v[n] = strdup(de->d_name)) == NULL)
			break;
		v[++n] = NULL;
	}
	closedir(d);
	return v;
}

int
pol_tz_suggest(const char *name, char *out, size_t size)
{
	const char	*slash = strrchr(name, '/'), *base, *hint;
	char		 path[4096], **v;
	int		 rc = -1;

	base = slash ? slash + 1 : name;
	if (!tz_name_ok(name) || (size_t)snprintf(path, sizeof(path), "%s/%.*s",
	    tz_dir(), slash ? (int)(slash - name) : 0, name) >=
	    sizeof(path) || (v = list_dir(path)) == NULL)
		return -1;
	if ((hint = pol_yaml_suggest(base, (const char *const *)v)) != NULL &&
	    (size_t)snprintf(out, size, "%.*s%s", slash ? (int)(slash - name +
	    1) : 0, name, hint) < size)
		rc = 0;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
	return rc;
}
