/* audit/export.c — filtered export of an audit directory as JSON Lines or
 * CSV (one row per decision, RFC 4180). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/internal.h"

static const char *const csv_record_cols[] = {
	"seq", "time", "type", "request_id", "principal", "roles", "route",
	"direction", "policy", "status",
};
static const char *const csv_decision_cols[] = {
	"id", "path", "class", "level", "confidence", "evidence", "rule",
	"action", "count", "override", "fingerprints",
};
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Writes s as one CSV field, quoted when it holds a comma, quote, CR or LF
 * (RFC 4180: quotes doubled). */
static void
csv_field(FILE *out, const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			break;
	if (i == len) {
		fwrite(s, 1, len, out);
		return;
	}
	fputc('"', out);
	for (i = 0; i < len; i++) {
		if (s[i] == '"')
			fputc('"', out);
		fputc(s[i], out);
	}
	fputc('"', out);
}

/* Appends the text of node n to b: strings decoded, arrays of scalars
 * joined with ';', null as nothing, numbers and booleans as written. */
static void
cell_text(const struct ajson_doc *d, int n, struct audit_buf *b)
{
	const struct ajson_node	*nd;
	char			*tmp;
	size_t			 raw;
	int			 c, len;

	if (n < 0)
		return;
	nd = &d->nodes[n];
	switch (nd->type) {
	case AJ_NULL:
		return;
	case AJ_STR:
		raw = nd->end - nd->start;
		if ((tmp = malloc(raw + 1)) == NULL) {
			b->err = ENOMEM;
			return;
		}
		len = audit_json_str(d, n, tmp, raw + 1);
		audit_buf_add(b, tmp, (size_t)len);
		free(tmp);
		return;
	case AJ_ARR:
		for (c = nd->child; c >= 0; c = d->nodes[c].next) {
			if (c != nd->child)
				audit_buf_add(b, ";", 1);
			cell_text(d, c, b);
		}
		return;
	default:
		audit_buf_add(b, d->text + nd->start, nd->end - nd->start);
		return;
	}
}

static void
csv_cell(FILE *out, const struct ajson_doc *d, int n, struct audit_buf *b)
{
	b->len = 0;
	b->err = 0;
	cell_text(d, n, b);
	if (b->len > 0)
		csv_field(out, b->p, b->len);
}

static void
csv_header(FILE *out)
{
	size_t	i;

	for (i = 0; i < NELEM(csv_record_cols); i++)
		fprintf(out, "%s%s", i ? "," : "", csv_record_cols[i]);
	for (i = 0; i < NELEM(csv_decision_cols); i++)
		fprintf(out, ",decision_%s", csv_decision_cols[i]);
	fputs("\r\n", out);
}

static void
csv_row(FILE *out, const struct ajson_doc *d, int dec, struct audit_buf *b)
{
	size_t	i;

	for (i = 0; i < NELEM(csv_record_cols); i++) {
		if (i)
			fputc(',', out);
		csv_cell(out, d, audit_json_get(d, 0, csv_record_cols[i]), b);
	}
	for (i = 0; i < NELEM(csv_decision_cols); i++) {
		fputc(',', out);
		if (dec >= 0)
			csv_cell(out, d, audit_json_get(d, dec,
			    csv_decision_cols[i]), b);
	}
	fputs("\r\n", out);
}

static int
decision_matches(const struct ajson_doc *d, int dec, const struct audit_filter *f)
{
	if (f->rule != NULL &&
	    !audit_json_streq(d, audit_json_get(d, dec, "rule"), f->rule))
		return 0;
	if (f->action != NULL &&
	    !audit_json_streq(d, audit_json_get(d, dec, "action"), f->action))
		return 0;
	return 1;
}

/* Exports one line; returns 1 when written, 0 when filtered out. */
static int
export_line(FILE *out, struct ajson_doc *d, const char *line, size_t len,
    const struct audit_filter *f, int format, struct audit_buf *b)
{
	char		 tm[40];
	int64_t		 ms;
	int		 decs, c, matched = 0;
	int		 by_dec = f->rule != NULL || f->action != NULL;

	if (audit_json_parse(d, line, len) < 0 || d->nodes[0].type != AJ_OBJ)
		return 0;
	if (audit_json_streq(d, audit_json_get(d, 0, "type"), "checkpoint"))
		return 0;
	if (f->since_ms || f->until_ms) {
		if (audit_json_str(d, audit_json_get(d, 0, "time"), tm,
		    sizeof(tm)) <= 0 || audit_time_parse(tm, &ms) < 0)
			return 0;
		if ((f->since_ms && ms < f->since_ms) ||
		    (f->until_ms && ms >= f->until_ms))
			return 0;
	}
	if (f->principal != NULL && !audit_json_streq(d,
	    audit_json_get(d, 0, "principal"), f->principal))
		return 0;
	decs = audit_json_get(d, 0, "decisions");
	if (decs >= 0 && d->nodes[decs].type != AJ_ARR)
		decs = -1;
	if (by_dec) {
		if (decs < 0)
			return 0;
		for (c = d->nodes[decs].child; c >= 0; c = d->nodes[c].next)
			matched += decision_matches(d, c, f);
		if (matched == 0)
			return 0;
	}
	if (format == AUDIT_FMT_CSV) {
		if (decs < 0 || d->nodes[decs].child < 0) {
			csv_row(out, d, -1, b);
			return 1;
		}
		for (c = d->nodes[decs].child; c >= 0; c = d->nodes[c].next)
			if (!by_dec || decision_matches(d, c, f))
				csv_row(out, d, c, b);
		return 1;
	}
	if (!by_dec) {
		fwrite(line, 1, len, out);
		fputc('\n', out);
		return 1;
	}
	/* the line with only the matching decisions, other bytes untouched */
	fwrite(line, 1, d->nodes[decs].start + 1, out);
	matched = 0;
	for (c = d->nodes[decs].child; c >= 0; c = d->nodes[c].next) {
		if (!decision_matches(d, c, f))
			continue;
		if (matched++)
			fputc(',', out);
		fwrite(line + d->nodes[c].start, 1,
		    d->nodes[c].end - d->nodes[c].start, out);
	}
	fwrite(line + d->nodes[decs].end - 1, 1,
	    len - (d->nodes[decs].end - 1), out);
	fputc('\n', out);
	return 1;
}

long
audit_export(const char *dir, const struct audit_filter *f, int format,
    FILE *out, char *err, size_t errsize)
{
	unsigned		*nums = NULL;
	int			 n, i;
	char			 path[PATH_MAX], *line = NULL;
	size_t			 cap = 0;
	ssize_t			 len;
	FILE			*in;
	struct ajson_doc	 doc;
	struct audit_buf	 b;
	long			 count = 0;

	memset(&doc, 0, sizeof(doc));
	memset(&b, 0, sizeof(b));
	if ((n = audit_list_files(dir, &nums)) < 0) {
		snprintf(err, errsize, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (format == AUDIT_FMT_CSV)
		csv_header(out);
	/* a write error (a full disk, a capped stream) ends the reading */
	for (i = 0; i < n && !ferror(out); i++) {
		snprintf(path, sizeof(path), "%s/" AUDIT_FILE_FMT, dir, nums[i]);
		if ((in = fopen(path, "re")) == NULL) {
			snprintf(err, errsize, "%s: %s", path, strerror(errno));
			count = -1;
			break;
		}
		while (!ferror(out) && (len = getline(&line, &cap, in)) > 0) {
			if (line[len - 1] != '\n')
				break;		/* torn last line */
			count += export_line(out, &doc, line, (size_t)len - 1, f,
			    format, &b);
		}
		fclose(in);
	}
	if (count >= 0 && ferror(out)) {
		snprintf(err, errsize, "write: %s", strerror(errno));
		count = -1;
	}
	audit_json_reset(&doc);
	audit_buf_free(&b);
	free(line);
	free(nums);
	return count;
}
