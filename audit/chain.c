/* audit/chain.c — the chain's line layout, hashing, checkpoint message,
 * times and the file list, shared by the writer, verify and export. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/internal.h"

void
audit_hex(const uint8_t *bin, size_t len, char *out)
{
	sodium_bin2hex(out, 2 * len + 1, bin, len);
}

/* Lowercase hex only: the writer never emits anything else, so an uppercase
 * digit is an edit. */
int
audit_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t len)
{
	size_t	i;
	int	hi, lo;

	if (hexlen != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		hi = hex[2 * i];
		lo = hex[2 * i + 1];
		hi = (hi >= '0' && hi <= '9') ? hi - '0' :
		    (hi >= 'a' && hi <= 'f') ? hi - 'a' + 10 : -1;
		lo = (lo >= '0' && lo <= '9') ? lo - '0' :
		    (lo >= 'a' && lo <= 'f') ? lo - 'a' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void
audit_hash(const void *buf, size_t len, uint8_t out[AUDIT_HASH_LEN])
{
	crypto_generichash(out, AUDIT_HASH_LEN, buf, len, NULL, 0);
}

static void
put_digits(char *p, unsigned v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Fixed width by construction (years past 9999 wrap): the line layout and
 * export's time parsing rely on it. */
void
audit_time_format(const struct timespec *ts, char out[AUDIT_TIME_LEN + 1])
{
	struct tm	tm;
	time_t		t = ts->tv_sec;

	gmtime_r(&t, &tm);
	memcpy(out, "0000-00-00T00:00:00.000Z", AUDIT_TIME_LEN + 1);
	put_digits(out, (unsigned)(tm.tm_year + 1900) % 10000, 4);
	put_digits(out + 5, (unsigned)tm.tm_mon + 1, 2);
	put_digits(out + 8, (unsigned)tm.tm_mday, 2);
	put_digits(out + 11, (unsigned)tm.tm_hour, 2);
	put_digits(out + 14, (unsigned)tm.tm_min, 2);
	put_digits(out + 17, (unsigned)tm.tm_sec, 2);
	put_digits(out + 20, (unsigned)(ts->tv_nsec / 1000000), 3);
}

void
audit_ms_format(int64_t ms, char out[AUDIT_TIME_LEN + 1])
{
	struct timespec	ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	audit_time_format(&ts, out);
}

int64_t
audit_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

size_t
audit_cp_message(char *out, uint64_t seq, uint64_t count, const char *head_hex)
{
	int	n;

	n = snprintf(out, AUDIT_CP_MSG_MAX,
	    "custos-audit-checkpoint-v1\nseq=%" PRIu64 "\ncount=%" PRIu64
	    "\nhead=%.64s\n", seq, count, head_hex);
	return n < 0 ? 0 : (size_t)n;
}

void
audit_chain_line(struct audit_buf *b, uint64_t seq, const struct timespec *ts,
    const char *body, size_t len, const char *prev_hex,
    char hash_hex[AUDIT_HASH_HEX + 1])
{
	char		pre[64], tm[AUDIT_TIME_LEN + 1];
	uint8_t		h[AUDIT_HASH_LEN];
	size_t		start = b->len;
	int		n;

	audit_time_format(ts, tm);
	n = snprintf(pre, sizeof(pre), "{\"seq\":%" PRIu64 ",\"time\":\"%s\"%s",
	    seq, tm, len > 0 ? "," : "");
	audit_buf_add(b, pre, (size_t)n);
	audit_buf_add(b, body, len);
	audit_buf_add(b, ",\"prev\":\"", 9);
	audit_buf_add(b, prev_hex, AUDIT_HASH_HEX);
	audit_buf_add(b, "\"", 1);
	if (b->err)
		return;
	audit_hash(b->p + start, b->len - start, h);
	audit_hex(h, sizeof(h), hash_hex);
	audit_buf_add(b, ",\"hash\":\"", 9);
	audit_buf_add(b, hash_hex, AUDIT_HASH_HEX);
	audit_buf_add(b, "\"}\n", 3);
}

static int
is_hex64(const char *p)
{
	size_t	i;

	for (i = 0; i < AUDIT_HASH_HEX; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return 0;
	return 1;
}

int
audit_line_parse(const char *line, size_t len, struct audit_line *l,
    const char **why)
{
	const char	*p, *tail;
	uint64_t	 seq = 0;
	size_t		 nd = 0;

	if (len < 8 + AUDIT_PREV_TAIL + AUDIT_HASH_TAIL ||
	    memcmp(line, "{\"seq\":", 7) != 0) {
		*why = "malformed record (no leading seq)";
		return -1;
	}
	for (p = line + 7; p < line + len && *p >= '0' && *p <= '9'; p++) {
		if (seq > (UINT64_MAX - 9) / 10) {
			*why = "malformed record (seq out of range)";
			return -1;
		}
		seq = seq * 10 + (uint64_t)(*p - '0');
		nd++;
	}
	if (nd == 0 || (nd > 1 && line[7] == '0') || p >= line + len ||
	    *p != ',') {
		*why = "malformed record (bad seq)";
		return -1;
	}
	tail = line + len - AUDIT_HASH_TAIL;
	if (memcmp(tail, ",\"hash\":\"", 9) != 0 || !is_hex64(tail + 9) ||
	    memcmp(tail + 9 + AUDIT_HASH_HEX, "\"}", 2) != 0) {
		*why = "malformed record (no trailing hash)";
		return -1;
	}
	p = tail - AUDIT_PREV_TAIL;
	if (p < line + 8 || memcmp(p, ",\"prev\":\"", 9) != 0 ||
	    !is_hex64(p + 9) || p[9 + AUDIT_HASH_HEX] != '"') {
		*why = "malformed record (prev is not just before hash)";
		return -1;
	}
	l->seq = seq;
	l->prev = p + 9;
	l->hash = tail + 9;
	l->hashed_len = (size_t)(tail - line);
	return 0;
}

static int
cmp_unsigned(const void *a, const void *b)
{
	unsigned	x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

int
audit_list_files(const char *dir, unsigned **out)
{
	DIR		*d;
	struct dirent	*e;
	unsigned	*v = NULL, *nv, num;
	size_t		 n = 0, cap = 0, i;
	const char	*s;

	*out = NULL;
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		s = e->d_name;
		if (strlen(s) != AUDIT_FILE_NAME_LEN || strncmp(s, "audit-", 6) ||
		    strcmp(s + 12, ".jsonl"))
			continue;
		for (i = 6, num = 0; i < 12; i++) {
			if (!isdigit((unsigned char)s[i]))
				break;
			num = num * 10 + (unsigned)(s[i] - '0');
		}
		if (i != 12 || num == 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				free(v);
				closedir(d);
				errno = ENOMEM;
				return -1;
			}
			v = nv;
		}
		v[n++] = num;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_unsigned);
	*out = v;
	return (int)n;
}

static int
digits(const char **sp, int n, int *out)
{
	const char	*s = *sp;
	int		 v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*sp = s + n;
	*out = v;
	return 0;
}

int
audit_time_parse(const char *s, int64_t *ms)
{
	int		y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, fd = 0;
	int		oh, om, sign;
	int64_t		days, t;

	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) ||
	    *s++ != '-' || digits(&s, 2, &d))
		return -1;
	if (*s == '\0')
		goto done;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -1;
	s++;
	if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi) ||
	    *s++ != ':' || digits(&s, 2, &sec))
		return -1;
	if (*s == '.') {
		s++;
		while (isdigit((unsigned char)*s)) {
			if (fd < 3) {
				frac = frac * 10 + (*s - '0');
				fd++;
			}
			s++;
		}
		if (fd == 0)
			return -1;
		while (fd < 3) {
			frac *= 10;
			fd++;
		}
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
		/* local = UTC + offset, so UTC = local - offset */
		mi -= sign * om;
		h -= sign * oh;
	} else
		return -1;
	if (*s != '\0')
		return -1;
done:
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 + 23 || sec > 60)
		return -1;
	/* days from civil (Howard Hinnant), independent of the TZ */
	{
		int64_t		yy = y - (mo <= 2);
		int64_t		era = (yy >= 0 ? yy : yy - 399) / 400;
		int64_t		yoe = yy - era * 400;
		int64_t		doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 +
				    d - 1;
		int64_t		doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

		days = era * 146097 + doe - 719468;
	}
	t = ((days * 24 + h) * 60 + mi) * 60 + sec;
	*ms = t * 1000 + frac;
	return 0;
}
