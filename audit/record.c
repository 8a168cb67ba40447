/* audit/record.c — builds record bodies as JSON text, with our own string
 * escaping (no personal values ever pass through here, only names, ids,
 * paths and fingerprints). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/internal.h"

#define REC_MAX_DEPTH	16

/*
 * The body is the members of the record object without its braces. need_comma
 * per nesting level says whether the next member/element needs a ','; depth
 * 0 is the record itself. Errors are sticky in buf.err (an errno value).
 */
struct audit_rec {
	struct audit_buf	buf;
	int			depth;
	unsigned char		need_comma[REC_MAX_DEPTH];
	unsigned char		is_array[REC_MAX_DEPTH];
};

void
audit_buf_add(struct audit_buf *b, const void *s, size_t len)
{
	size_t	 ncap, max = b->max ? b->max : AUDIT_REC_MAX;
	char	*np;

	if (b->err)
		return;
	if (len > max || b->len + len > max) {
		b->err = EMSGSIZE;
		return;
	}
	if (b->len + len + 1 > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + len + 1)
			ncap *= 2;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->err = ENOMEM;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void
audit_buf_free(struct audit_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned char	c = s[0];
	size_t		len, i;
	uint32_t	cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* Appends s as a quoted JSON string: '"' and '\\' escaped, control
 * characters as \n, \t... or \u00XX, DEL as \u007f, invalid UTF-8 bytes as
 * U+FFFD. Runs of plain bytes are copied in one go. */
void
audit_buf_str(struct audit_buf *b, const char *s, size_t len)
{
	static const char	 hexd[] = "0123456789abcdef";
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, run = 0, l;
	char			 esc[8];
	const char		*rep;
	size_t			 replen;

	audit_buf_add(b, "\"", 1);
	while (i < len) {
		unsigned char c = u[i];

		rep = NULL;
		replen = 0;
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x7f) {
			i++;
			continue;
		}
		if (c >= 0x80) {
			if ((l = utf8_len(u + i, len - i)) > 0) {
				i += l;
				continue;
			}
			rep = "\\ufffd";
			replen = 6;
		} else if (c == '"') {
			rep = "\\\"";
			replen = 2;
		} else if (c == '\\') {
			rep = "\\\\";
			replen = 2;
		} else if (c == '\n') {
			rep = "\\n";
			replen = 2;
		} else if (c == '\r') {
			rep = "\\r";
			replen = 2;
		} else if (c == '\t') {
			rep = "\\t";
			replen = 2;
		} else {
			memcpy(esc, "\\u00", 4);
			esc[4] = hexd[c >> 4];
			esc[5] = hexd[c & 0xf];
			rep = esc;
			replen = 6;
		}
		audit_buf_add(b, s + run, i - run);
		audit_buf_add(b, rep, replen);
		i++;
		run = i;
	}
	audit_buf_add(b, s + run, len - run);
	audit_buf_add(b, "\"", 1);
}

struct audit_rec *
audit_rec_new(void)
{
	return calloc(1, sizeof(struct audit_rec));
}

void
audit_rec_free(struct audit_rec *r)
{
	if (r == NULL)
		return;
	audit_buf_free(&r->buf);
	free(r);
}

void
audit_rec_reset(struct audit_rec *r)
{
	r->buf.len = 0;
	r->buf.err = 0;
	if (r->buf.p != NULL)
		r->buf.p[0] = '\0';
	r->depth = 0;
	r->need_comma[0] = 0;
	r->is_array[0] = 0;
}

int
audit_rec_error(const struct audit_rec *r)
{
	if (r->buf.err) {
		errno = r->buf.err;
		return -1;
	}
	if (r->depth != 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

const char *
audit_rec_body(const struct audit_rec *r, size_t *len)
{
	*len = r->buf.len;
	return r->buf.p != NULL ? r->buf.p : "";
}

static int
reserved_key(const char *key)
{
	return strcmp(key, "seq") == 0 || strcmp(key, "time") == 0 ||
	    strcmp(key, "prev") == 0 || strcmp(key, "hash") == 0;
}

/* Writes the separator and "key": for the next value; checks that a key is
 * given in objects and not in arrays. */
static void
rec_key(struct audit_rec *r, const char *key)
{
	if (r->buf.err)
		return;
	if ((key == NULL) != (r->is_array[r->depth] != 0) ||
	    (r->depth == 0 && key != NULL && reserved_key(key))) {
		r->buf.err = EINVAL;
		return;
	}
	if (r->need_comma[r->depth])
		audit_buf_add(&r->buf, ",", 1);
	r->need_comma[r->depth] = 1;
	if (key != NULL) {
		audit_buf_str(&r->buf, key, strlen(key));
		audit_buf_add(&r->buf, ":", 1);
	}
}

void
audit_rec_strn(struct audit_rec *r, const char *key, const char *val,
    size_t len)
{
	rec_key(r, key);
	if (val == NULL)
		audit_buf_add(&r->buf, "null", 4);
	else
		audit_buf_str(&r->buf, val, len);
}

void
audit_rec_str(struct audit_rec *r, const char *key, const char *val)
{
	audit_rec_strn(r, key, val, val != NULL ? strlen(val) : 0);
}

void
audit_rec_int(struct audit_rec *r, const char *key, int64_t val)
{
	char	num[24];
	int	n;

	rec_key(r, key);
	n = snprintf(num, sizeof(num), "%" PRId64, val);
	audit_buf_add(&r->buf, num, (size_t)n);
}

void
audit_rec_bool(struct audit_rec *r, const char *key, int val)
{
	rec_key(r, key);
	if (val)
		audit_buf_add(&r->buf, "true", 4);
	else
		audit_buf_add(&r->buf, "false", 5);
}

static void
rec_open(struct audit_rec *r, const char *key, int array)
{
	rec_key(r, key);
	if (r->buf.err)
		return;
	if (r->depth + 1 >= REC_MAX_DEPTH) {
		r->buf.err = EINVAL;
		return;
	}
	audit_buf_add(&r->buf, array ? "[" : "{", 1);
	r->depth++;
	r->need_comma[r->depth] = 0;
	r->is_array[r->depth] = (unsigned char)array;
}

static void
rec_close(struct audit_rec *r, int array)
{
	if (r->buf.err)
		return;
	if (r->depth == 0 || (r->is_array[r->depth] != 0) != (array != 0)) {
		r->buf.err = EINVAL;
		return;
	}
	audit_buf_add(&r->buf, array ? "]" : "}", 1);
	r->depth--;
}

void
audit_rec_obj_open(struct audit_rec *r, const char *key)
{
	rec_open(r, key, 0);
}

void
audit_rec_obj_close(struct audit_rec *r)
{
	rec_close(r, 0);
}

void
audit_rec_arr_open(struct audit_rec *r, const char *key)
{
	rec_open(r, key, 1);
}

void
audit_rec_arr_close(struct audit_rec *r)
{
	rec_close(r, 1);
}

void
audit_rec_strv(struct audit_rec *r, const char *key, const char *const *vals,
    size_t n)
{
	size_t	i;

	audit_rec_arr_open(r, key);
	for (i = 0; i < n; i++)
		audit_rec_str(r, NULL, vals[i]);
	audit_rec_arr_close(r);
}

int
audit_rec_request(struct audit_rec *r, const struct audit_request *q)
{
	size_t	i;

	audit_rec_reset(r);
	if (q->type != NULL)
		audit_rec_str(r, "type", q->type);
	audit_rec_str(r, "request_id", q->request_id);
	audit_rec_str(r, "principal", q->principal);
	audit_rec_strv(r, "roles", q->roles, q->nroles);
	audit_rec_str(r, "route", q->route);
	audit_rec_str(r, "direction", q->direction);
	audit_rec_str(r, "policy", q->policy);
	if (q->status != 0)
		audit_rec_int(r, "status", q->status);
	if (q->reason != NULL)
		audit_rec_str(r, "reason", q->reason);
	audit_rec_arr_open(r, "decisions");
	for (i = 0; i < q->ndecisions; i++)
		audit_rec_decision(r, &q->decisions[i]);
	audit_rec_arr_close(r);
	return audit_rec_error(r);
}

void
audit_rec_decision(struct audit_rec *r, const struct audit_decision *d)
{
	audit_rec_obj_open(r, NULL);
	audit_rec_str(r, "id", d->id);
	audit_rec_str(r, "path", d->path);
	audit_rec_str(r, "class", d->class_);
	audit_rec_str(r, "level", d->level);
	audit_rec_str(r, "confidence", d->confidence);
	audit_rec_strv(r, "evidence", d->evidence, d->nevidence);
	audit_rec_str(r, "rule", d->rule);
	audit_rec_str(r, "action", d->action);
	audit_rec_int(r, "count", (int64_t)d->count);
	audit_rec_str(r, "override", d->override);
	audit_rec_strv(r, "fingerprints", d->fingerprints, d->nfingerprints);
	if (d->break_glass != NULL)
		audit_rec_str(r, "break_glass", d->break_glass);
	if (d->error != NULL)
		audit_rec_str(r, "error", d->error);
	audit_rec_obj_close(r);
}
