/* policies/yaml.c — a YAML tree with marks, built from libyaml's events. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "policies/errs.h"
#include "policies/yaml.h"

/*
 * Every node is one allocation: the struct followed, for scalars, by the text
 * and its NUL. The document keeps every node in <all> so that freeing never
 * recurses, whatever the shape of the input. A mapping's <kids> hold keys and
 * values interleaved (key 0, value 0, key 1, ...), so nkids is always even
 * once the mapping is closed.
 */
struct pol_yaml_node {
	const struct pol_yaml		*doc;
	const struct pol_yaml_node	*parent;
	const struct pol_yaml_node	*key;	/* mapping values: their key */
	size_t				 index;	/* item or pair no. in parent */
	enum pol_yaml_type		 type;
	int				 quoted;
	size_t				 line, col;	/* 1-based */
	char				*text;	/* scalars: after the struct */
	size_t				 len;
	struct pol_yaml_node		**kids;
	size_t				 nkids, cap;
};

struct pol_yaml {
	char			*file;
	struct pol_yaml_node	*root;
	struct pol_yaml_node	**all;
	size_t			 nall, capall;
};

#define CORE_TAG	"tag:yaml.org,2002:"

/* Copies <s> into <buf> for a message: at most 48 bytes (not cutting a UTF-8
 * sequence), control characters shown as '?', "..." when cut. */
static const char *
snip(const char *s, size_t len, char *buf, size_t size)
{
	size_t	 n = len, o = 0;
	int	 cut = 0;

	if (size < 8) {
		if (size > 0)
			buf[0] = '\0';
		return buf;
	}
	if (n > 48)
		n = 48, cut = 1;
	if (n > size - 4)
		n = size - 4, cut = 1;
	if (cut)
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (cut) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

static void
vreport(const struct pol_yaml_node *n, struct pol_errs *errs,
    enum pol_severity sev, const char *fmt, va_list ap)
{
	char	 msg[1024];

	if (n == NULL)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	pol_errs_add(errs, sev, n->doc->file, n->line, n->col, "%s", msg);
}

void
pol_yaml_error(const struct pol_yaml_node *n, struct pol_errs *errs,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vreport(n, errs, POL_ERROR, fmt, ap);
	va_end(ap);
}

void
pol_yaml_warn(const struct pol_yaml_node *n, struct pol_errs *errs,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vreport(n, errs, POL_WARNING, fmt, ap);
	va_end(ap);
}

/*
 * Message order.
 */

struct msg_pos {
	const char		*file;	/* into the message, not terminated */
	size_t			 flen;
	size_t			 rank;	/* files in order of first sight */
	size_t			 line, col, idx;
	enum pol_severity	 sev;
	const char		*text;
};

static int
msg_pos_cmp(const void *pa, const void *pb)
{
	const struct msg_pos *a = pa, *b = pb;

	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Splits "FILE:LINE:COL: error: TEXT" or "FILE: warning: TEXT", as
 * pol_errs_add writes them, back into their parts; -1 for another shape. */
static int
msg_parse(const char *m, struct msg_pos *mp)
{
	const char	*e = strstr(m, ": error: ");
	const char	*w = strstr(m, ": warning: ");
	const char	*end, *c2, *c1;

	if (e != NULL && (w == NULL || e < w)) {
		mp->sev = POL_ERROR;
		mp->text = e + 9;
		end = e;
	} else if (w != NULL) {
		mp->sev = POL_WARNING;
		mp->text = w + 11;
		end = w;
	} else
		return -1;
	mp->file = m;
	mp->flen = (size_t)(end - m);
	mp->line = mp->col = 0;
	/* A trailing ":LINE:COL" is the position, not part of FILE. */
	for (c2 = end; c2 > m && isdigit((unsigned char)c2[-1]); c2--)
		;
	if (c2 == end || c2 == m || c2[-1] != ':')
		return 0;
	for (c1 = c2 - 1; c1 > m && isdigit((unsigned char)c1[-1]); c1--)
		;
	if (c1 == c2 - 1 || c1 == m || c1[-1] != ':')
		return 0;
	mp->line = strtoul(c1, NULL, 10);
	mp->col = strtoul(c2, NULL, 10);
	mp->flen = (size_t)(c1 - 1 - m);
	return 0;
}

void
pol_yaml_move_sorted(struct pol_errs *dst, const struct pol_errs *src)
{
	size_t		 n = pol_errs_total(src), k = 0, kept = 0, nranks = 0;
	struct msg_pos	*v = calloc(n ? n : 1, sizeof(*v));
	char		 file[1024];

	for (size_t i = 0; v != NULL && i < n; i++) {
		const char	*m = pol_errs_get(src, i);
		size_t		 j;

		if (m == NULL || msg_parse(m, &v[k]) == -1)
			continue;
		v[k].idx = i;
		for (j = 0; j < k; j++)
			if (v[j].flen == v[k].flen &&
			    memcmp(v[j].file, v[k].file, v[k].flen) == 0)
				break;
		v[k].rank = j < k ? v[j].rank : nranks++;
		k++;
	}
	if (v != NULL) {
		qsort(v, k, sizeof(*v), msg_pos_cmp);
		for (size_t i = 0; i < k; i++) {
			snprintf(file, sizeof(file), "%.*s", (int)v[i].flen,
			    v[i].file);
			pol_errs_add(dst, v[i].sev, file, v[i].line, v[i].col,
			    "%s", v[i].text);
			kept += v[i].sev == POL_ERROR;
		}
	}
	/* Whatever could not be moved still counts: the load must fail. */
	if (kept < pol_errs_count(src)) {
		snprintf(file, sizeof(file), "%.*s", k ? (int)v[0].flen : 1,
		    k ? v[0].file : "-");
		pol_errs_add(dst, POL_ERROR, file, 0, 0, "%zu more errors "
		    "(out of memory)", pol_errs_count(src) - kept);
	}
	free(v);
}

/*
 * Building.
 */

struct builder {
	struct pol_yaml		*doc;
	struct pol_errs		*errs;
	const char		*buf;	/* the input, to place reader errors */
	size_t			 buflen;
	struct pol_yaml_node	*stack[POL_YAML_MAX_DEPTH];
	size_t			 depth;
	size_t			 ndocs;
	size_t			 nerr;	/* structural errors so far */
};

static void
berror(struct builder *b, size_t line, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
berror(struct builder *b, size_t line, size_t col, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pol_errs_add(b->errs, POL_ERROR, b->doc->file, line, col, "%s", msg);
	b->nerr++;
}

static struct pol_yaml_node *
node_new(struct builder *b, enum pol_yaml_type type, const yaml_mark_t *mark,
    const char *text, size_t len)
{
	struct pol_yaml		*doc = b->doc;
	struct pol_yaml_node	*n;

	if (doc->nall == POL_YAML_MAX_NODES) {
		berror(b, mark->line + 1, mark->column + 1, "more than %u "
		    "values in one file", POL_YAML_MAX_NODES);
		return NULL;
	}
	if (doc->nall == doc->capall) {
		size_t			 cap = doc->nall ? 2 * doc->nall : 64;
		struct pol_yaml_node	**all;

		all = reallocarray(doc->all, cap, sizeof(*all));
		if (all == NULL)
			return NULL;
		doc->all = all;
		doc->capall = cap;
	}
	if (len > SIZE_MAX - sizeof(*n) - 1)
		return NULL;
	n = calloc(1, sizeof(*n) + (type == POL_YAML_SCALAR ? len + 1 : 0));
	if (n == NULL)
		return NULL;
	n->doc = doc;
	n->type = type;
	n->line = mark->line + 1;
	n->col = mark->column + 1;
	if (type == POL_YAML_SCALAR) {
		n->text = (char *)(n + 1);
		if (len > 0)
			memcpy(n->text, text, len);
		n->text[len] = '\0';
		n->len = len;
	}
	doc->all[doc->nall++] = n;
	return n;
}

static int
kid_add(struct pol_yaml_node *parent, struct pol_yaml_node *kid)
{
	if (parent->nkids == parent->cap) {
		size_t			 cap;
		struct pol_yaml_node	**k;

		cap = parent->cap ? 2 * parent->cap : 4;
		k = reallocarray(parent->kids, cap, sizeof(*k));
		if (k == NULL)
			return -1;
		parent->kids = k;
		parent->cap = cap;
	}
	parent->kids[parent->nkids++] = kid;
	return 0;
}

/* Hangs <n> under the innermost open collection (or makes it the root). */
static int
attach(struct builder *b, struct pol_yaml_node *n)
{
	struct pol_yaml_node	*top;

	if (b->depth == 0) {
		b->doc->root = n;
		return 0;
	}
	top = b->stack[b->depth - 1];
	n->parent = top;
	if (top->type == POL_YAML_SEQ)
		n->index = top->nkids;
	else {
		n->index = top->nkids / 2;
		if (top->nkids % 2 == 1)
			n->key = top->kids[top->nkids - 1];
		else if (n->type != POL_YAML_SCALAR)
			berror(b, n->line, n->col,
			    "mapping keys must be plain strings, not %s",
			    n->type == POL_YAML_SEQ ? "lists" : "mappings");
	}
	return kid_add(top, n);
}

static const char *
tag_name(const char *tag, char *buf, size_t size)
{
	if (strncmp(tag, CORE_TAG, strlen(CORE_TAG)) == 0) {
		char	 t[64];

		snprintf(buf, size, "!!%s", snip(tag + strlen(CORE_TAG),
		    strlen(tag + strlen(CORE_TAG)), t, sizeof(t)));
		return buf;
	}
	return snip(tag, strlen(tag), buf, size);
}

/* Checks the anchor and tag of a node event. For scalars, sets *quoted to 1
 * when a !!str tag makes the scalar a string whatever it looks like, 0 when
 * !!int, !!bool, !!float or !!null make it plain; leaves it otherwise. */
static void
check_props(struct builder *b, const yaml_event_t *ev,
    const yaml_char_t *anchor, const yaml_char_t *tag, enum pol_yaml_type type,
    int *quoted)
{
	const char	*s = (const char *)tag;
	size_t		 line = ev->start_mark.line + 1;
	size_t		 col = ev->start_mark.column + 1;
	char		 t[80];

	if (anchor != NULL)
		berror(b, line, col, "anchors are not supported (&%s): "
		    "write the value out", snip((const char *)anchor,
		    strlen((const char *)anchor), t, sizeof(t)));
	if (tag == NULL)
		return;
	if (type == POL_YAML_SCALAR) {
		if (strcmp(s, "!") == 0 || strcmp(s, CORE_TAG "str") == 0) {
			*quoted = 1;
			return;
		}
		if (strcmp(s, CORE_TAG "int") == 0 ||
		    strcmp(s, CORE_TAG "bool") == 0 ||
		    strcmp(s, CORE_TAG "float") == 0 ||
		    strcmp(s, CORE_TAG "null") == 0) {
			*quoted = 0;
			return;
		}
	} else if (type == POL_YAML_SEQ && strcmp(s, CORE_TAG "seq") == 0)
		return;
	else if (type == POL_YAML_MAP && strcmp(s, CORE_TAG "map") == 0)
		return;
	berror(b, line, col, "unsupported tag '%s'", tag_name(s, t, sizeof(t)));
}

static int
keycmp(const void *pa, const void *pb)
{
	const struct pol_yaml_node	*a, *b;
	int				 c;

	a = *(const struct pol_yaml_node *const *)pa;
	b = *(const struct pol_yaml_node *const *)pb;

	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	if ((c = memcmp(a->text, b->text, a->len)) != 0)
		return c;
	return a->index < b->index ? -1 : a->index > b->index;
}

/* Reports every key of a closed mapping that repeats an earlier one, in file
 * order, each naming the first occurrence. Sorting keeps this O(n log n) for
 * large mappings (a policy's word lists can be long). */
static int
check_dups(struct builder *b, const struct pol_yaml_node *map)
{
	size_t			 n = map->nkids / 2, m = 0;
	const struct pol_yaml_node **keys, **first;

	if (n < 2)
		return 0;
	keys = calloc(n, sizeof(*keys));
	first = calloc(n, sizeof(*first));
	if (keys == NULL || first == NULL) {
		free(keys);
		free(first);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (map->kids[2 * i]->type == POL_YAML_SCALAR)
			keys[m++] = map->kids[2 * i];
	qsort(keys, m, sizeof(*keys), keycmp);
	for (size_t i = 1; i < m; i++) {
		const struct pol_yaml_node *a = keys[i - 1], *k = keys[i];

		if (a->len == k->len && memcmp(a->text, k->text, k->len) == 0)
			first[k->index] = first[a->index] ? first[a->index] : a;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pol_yaml_node	*k = map->kids[2 * i];
		const struct pol_yaml_node	*f = first[i];
		char				 t[64];

		if (f != NULL)
			berror(b, k->line, k->col, "duplicate key '%s' (first "
			    "at line %zu, column %zu)", snip(k->text, k->len, t,
			    sizeof(t)), f->line, f->col);
	}
	free(keys);
	free(first);
	return 0;
}

/* Line and column (1-based, counting bytes) of byte <off> of the input, for
 * reader errors, which libyaml reports as an offset only. */
static void
offset_mark(const struct builder *b, size_t off, size_t *line, size_t *col)
{
	size_t	 l = 1, c = 1;

	if (off > b->buflen)
		off = b->buflen;
	for (size_t i = 0; i < off; i++) {
		if (b->buf[i] == '\n')
			l++, c = 1;
		else
			c++;
	}
	*line = l;
	*col = c;
}

static void
syntax_error(struct builder *b, const yaml_parser_t *p)
{
	size_t	 line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		berror(b, 0, 0, "out of memory while parsing");
		return;
	case YAML_READER_ERROR:
		offset_mark(b, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			berror(b, line, col, "%s (byte 0x%02x)",
			    p->problem ? p->problem : "cannot read the input",
			    (unsigned)p->problem_value & 0xff);
		else
			berror(b, line, col, "%s",
			    p->problem ? p->problem : "cannot read the input");
		return;
	default:
		line = p->problem_mark.line + 1;
		col = p->problem_mark.column + 1;
		if (p->context != NULL)
			berror(b, line, col, "syntax error: %s (%s at line "
			    "%zu, column %zu)", p->problem ? p->problem :
			    "bad YAML",
			    p->context, p->context_mark.line + 1,
			    p->context_mark.column + 1);
		else
			berror(b, line, col, "syntax error: %s",
			    p->problem ? p->problem : "bad YAML");
	}
}

/* One parser event. Returns 1 at the end of the stream, 0 to go on, -1 when
 * the tree cannot be built further (syntax error, out of memory, too deep,
 * second document). */
static int
on_event(struct builder *b, const yaml_event_t *ev)
{
	struct pol_yaml_node	*n;
	enum pol_yaml_type	 type;
	int			 quoted = 0;
	char			 t[80];

	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (++b->ndocs > 1) {
			berror(b, ev->start_mark.line + 1,
			    ev->start_mark.column + 1,
			    "only one YAML document is allowed per file");
			return -1;
		}
		return 0;
	case YAML_ALIAS_EVENT:
		berror(b, ev->start_mark.line + 1, ev->start_mark.column + 1,
		    "aliases are not supported (*%s): write the value out",
		    snip((const char *)ev->data.alias.anchor,
		    strlen((const char *)ev->data.alias.anchor), t, sizeof(t)));
		/* A null stands in so that key/value pairs stay paired. */
		if ((n = node_new(b, POL_YAML_SCALAR, &ev->start_mark, "", 0))
		    == NULL || attach(b, n) == -1)
			goto nomem;
		return 0;
	case YAML_SCALAR_EVENT:
		quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		check_props(b, ev, ev->data.scalar.anchor, ev->data.scalar.tag,
		    POL_YAML_SCALAR, &quoted);
		n = node_new(b, POL_YAML_SCALAR, &ev->start_mark,
		    (const char *)ev->data.scalar.value,
		    ev->data.scalar.length);
		if (n == NULL)
			goto nomem;
		n->quoted = quoted;
		if (attach(b, n) == -1)
			goto nomem;
		return 0;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (ev->type == YAML_SEQUENCE_START_EVENT) {
			type = POL_YAML_SEQ;
			check_props(b, ev, ev->data.sequence_start.anchor,
			    ev->data.sequence_start.tag, type, &quoted);
		} else {
			type = POL_YAML_MAP;
			check_props(b, ev, ev->data.mapping_start.anchor,
			    ev->data.mapping_start.tag, type, &quoted);
		}
		if (b->depth == POL_YAML_MAX_DEPTH) {
			berror(b, ev->start_mark.line + 1,
			    ev->start_mark.column + 1,
			    "nesting deeper than %d levels",
			    POL_YAML_MAX_DEPTH);
			return -1;
		}
		if ((n = node_new(b, type, &ev->start_mark, NULL, 0)) == NULL ||
		    attach(b, n) == -1)
			goto nomem;
		b->stack[b->depth++] = n;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		/* libyaml balances start and end events. */
		if (b->depth == 0)
			return -1;
		n = b->stack[--b->depth];
		if (n->type == POL_YAML_MAP && check_dups(b, n) == -1)
			goto nomem;
		return 0;
	default:	/* stream start, document end, no event */
		return 0;
	}
nomem:
	if (b->doc->nall < POL_YAML_MAX_NODES)	/* else node_new said why */
		berror(b, ev->start_mark.line + 1, ev->start_mark.column + 1,
		    "out of memory");
	return -1;
}

struct pol_yaml *
pol_yaml_load_mem(const char *name, const char *buf, size_t len,
    struct pol_errs *errs)
{
	struct builder	 b;
	struct pol_errs	*local = NULL;
	yaml_parser_t	 p;
	yaml_event_t	 ev;
	int		 r = 0, parser_ok = 0;

	memset(&b, 0, sizeof(b));
	/* Duplicate keys are found when a mapping closes, after what it holds:
	 * collect apart, hand over in file order. */
	if ((b.errs = local = pol_errs_new()) == NULL)
		b.errs = errs;
	b.buf = buf;
	b.buflen = len;
	if ((b.doc = calloc(1, sizeof(*b.doc))) == NULL ||
	    (b.doc->file = strdup(name ? name : "-")) == NULL) {
		pol_errs_add(errs, POL_ERROR, name, 0, 0, "out of memory");
		goto fail;
	}
	if (len > POL_YAML_MAX_BYTES) {
		berror(&b, 0, 0, "file is larger than %u MiB",
		    POL_YAML_MAX_BYTES >> 20);
		goto fail;
	}
	if (!yaml_parser_initialize(&p)) {
		berror(&b, 0, 0, "out of memory");
		goto fail;
	}
	parser_ok = 1;
	/* libyaml asserts a non-NULL input, even an empty one. */
	yaml_parser_set_input_string(&p,
	    (const unsigned char *)(buf ? buf : ""), buf ? len : 0);
	while (r == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			syntax_error(&b, &p);
			break;
		}
		r = on_event(&b, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	parser_ok = 0;
	if (r != 1 || b.nerr > 0)
		goto fail;
	pol_errs_free(local);
	return b.doc;
fail:
	if (parser_ok)
		yaml_parser_delete(&p);
	if (local != NULL)
		pol_yaml_move_sorted(errs, local);
	pol_errs_free(local);
	pol_yaml_free(b.doc);
	return NULL;
}

struct pol_yaml *
pol_yaml_load_file(const char *path, struct pol_errs *errs)
{
	struct pol_yaml	*doc = NULL;
	char		*buf = NULL;
	size_t		 len = 0, cap = 0;
	ssize_t		 r;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		pol_errs_add(errs, POL_ERROR, path, 0, 0, "cannot open: %s",
		    strerror(errno));
		return NULL;
	}
	/* Read to memory (bounded): reader errors are placed from there. */
	for (;;) {
		if (len == cap) {
			char	*nb;

			if (cap > POL_YAML_MAX_BYTES) {
				pol_errs_add(errs, POL_ERROR, path, 0, 0,
				    "file is larger than %u MiB",
				    POL_YAML_MAX_BYTES >> 20);
				goto done;
			}
			cap = cap ? cap * 2 : 8192;
			if ((nb = realloc(buf, cap)) == NULL) {
				pol_errs_add(errs, POL_ERROR, path, 0, 0,
				    "out of memory");
				goto done;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			pol_errs_add(errs, POL_ERROR, path, 0, 0,
			    "cannot read: %s", strerror(errno));
			goto done;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	doc = pol_yaml_load_mem(path, buf, len, errs);
done:
	close(fd);
	free(buf);
	return doc;
}

void
pol_yaml_free(struct pol_yaml *doc)
{
	if (doc == NULL)
		return;
	for (size_t i = 0; i < doc->nall; i++) {
		free(doc->all[i]->kids);
		free(doc->all[i]);
	}
	free(doc->all);
	free(doc->file);
	free(doc);
}

const char *
pol_yaml_file(const struct pol_yaml *doc)
{
	return doc ? doc->file : NULL;
}

const struct pol_yaml_node *
pol_yaml_root(const struct pol_yaml *doc)
{
	return doc ? doc->root : NULL;
}

/*
 * Accessors.
 */

enum pol_yaml_type
pol_yaml_type(const struct pol_yaml_node *n)
{
	return n ? n->type : POL_YAML_SCALAR;
}

const char *
pol_yaml_node_file(const struct pol_yaml_node *n)
{
	return n ? n->doc->file : NULL;
}

size_t
pol_yaml_line(const struct pol_yaml_node *n)
{
	return n ? n->line : 0;
}

size_t
pol_yaml_col(const struct pol_yaml_node *n)
{
	return n ? n->col : 0;
}

const char *
pol_yaml_scalar(const struct pol_yaml_node *n)
{
	return n && n->type == POL_YAML_SCALAR ? n->text : NULL;
}

int
pol_yaml_quoted(const struct pol_yaml_node *n)
{
	return n && n->type == POL_YAML_SCALAR && n->quoted;
}

int
pol_yaml_is_null(const struct pol_yaml_node *n)
{
	if (n == NULL || n->type != POL_YAML_SCALAR || n->quoted)
		return 0;
	return n->len == 0 || strcmp(n->text, "~") == 0 ||
	    strcmp(n->text, "null") == 0 || strcmp(n->text, "Null") == 0 ||
	    strcmp(n->text, "NULL") == 0;
}

size_t
pol_yaml_len(const struct pol_yaml_node *n)
{
	if (n == NULL)
		return 0;
	switch (n->type) {
	case POL_YAML_SCALAR:
		return n->len;
	case POL_YAML_SEQ:
		return n->nkids;
	default:
		return n->nkids / 2;
	}
}

const struct pol_yaml_node *
pol_yaml_item(const struct pol_yaml_node *n, size_t i)
{
	if (n == NULL || n->type != POL_YAML_SEQ || i >= n->nkids)
		return NULL;
	return n->kids[i];
}

const struct pol_yaml_node *
pol_yaml_map_key(const struct pol_yaml_node *n, size_t i)
{
	if (n == NULL || n->type != POL_YAML_MAP || i >= n->nkids / 2)
		return NULL;
	return n->kids[2 * i];
}

const struct pol_yaml_node *
pol_yaml_map_value(const struct pol_yaml_node *n, size_t i)
{
	if (n == NULL || n->type != POL_YAML_MAP || i >= n->nkids / 2)
		return NULL;
	return n->kids[2 * i + 1];
}

const struct pol_yaml_node *
pol_yaml_get(const struct pol_yaml_node *n, const char *key)
{
	size_t	 len;

	if (n == NULL || n->type != POL_YAML_MAP || key == NULL)
		return NULL;
	len = strlen(key);
	for (size_t i = 0; i + 1 < n->nkids; i += 2) {
		const struct pol_yaml_node *k = n->kids[i];

		if (k->type == POL_YAML_SCALAR && k->len == len &&
		    memcmp(k->text, key, len) == 0)
			return n->kids[i + 1];
	}
	return NULL;
}

const struct pol_yaml_node *
pol_yaml_key_of(const struct pol_yaml_node *n)
{
	return n ? n->key : NULL;
}

static int
is_bool_text(const char *s, int *v)
{
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
		*v = 1;
		return 1;
	}
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
		*v = 0;
		return 1;
	}
	return 0;
}

/* Decimal integer with an optional sign; 0 on success, -1 when not an
 * integer, -2 when it does not fit. */
static int
parse_int(const char *s, size_t len, long long *out)
{
	unsigned long long	 v = 0, lim;
	size_t			 i = 0;
	int			 neg = 0;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (i == len)
		return -1;
	lim = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
	for (; i < len; i++) {
		unsigned	 d;

		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (lim - d) / 10) {
			/* Keep scanning: "12x" is not an integer at all. */
			for (; i < len; i++)
				if (s[i] < '0' || s[i] > '9')
					return -1;
			return -2;
		}
		v = v * 10 + d;
	}
	if (neg)
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN :
		    -(long long)v;
	else
		*out = (long long)v;
	return 0;
}

const char *
pol_yaml_kind(const struct pol_yaml_node *n)
{
	long long	 ll;
	int		 b;

	if (n == NULL)
		return "nothing";
	switch (n->type) {
	case POL_YAML_SEQ:
		return "a list";
	case POL_YAML_MAP:
		return "a mapping";
	default:
		if (pol_yaml_is_null(n))
			return "null";
		if (!n->quoted && is_bool_text(n->text, &b))
			return "a boolean";
		if (!n->quoted && parse_int(n->text, n->len, &ll) != -1)
			return "a number";
		return "a string";
	}
}

const char *
pol_yaml_label(const struct pol_yaml_node *n, char *buf, size_t size)
{
	const struct pol_yaml_node	*p;
	char				 t[64];

	if (size == 0)
		return buf;
	if (n == NULL || (p = n->parent) == NULL)
		snprintf(buf, size, "the document");
	else if (n->key != NULL)
		snprintf(buf, size, "'%s'", snip(n->key->text, n->key->len, t,
		    sizeof(t)));
	else if (p->type == POL_YAML_MAP)
		snprintf(buf, size, "key '%s'", n->type == POL_YAML_SCALAR ?
		    snip(n->text, n->len, t, sizeof(t)) : "?");
	else if (p->key != NULL)
		snprintf(buf, size, "item %zu of '%s'", n->index + 1,
		    snip(p->key->text, p->key->len, t, sizeof(t)));
	else
		snprintf(buf, size, "item %zu", n->index + 1);
	return buf;
}

const char *
pol_yaml_describe(const struct pol_yaml_node *n, char *buf, size_t size)
{
	char	 t[64];

	if (size == 0)
		return buf;
	if (n == NULL)
		snprintf(buf, size, "nothing");
	else if (n->type != POL_YAML_SCALAR || pol_yaml_is_null(n))
		snprintf(buf, size, "%s", pol_yaml_kind(n));
	else if (n->quoted)
		snprintf(buf, size, "the quoted string \"%s\"",
		    snip(n->text, n->len, t, sizeof(t)));
	else
		snprintf(buf, size, "'%s'", snip(n->text, n->len, t,
		    sizeof(t)));
	return buf;
}

/*
 * Shape checks.
 */

int
pol_yaml_want_map(const struct pol_yaml_node *n, struct pol_errs *errs)
{
	char	 l[96];

	if (n == NULL)
		return -1;
	if (n->type == POL_YAML_MAP)
		return 0;
	pol_yaml_error(n, errs, "%s must be a mapping, not %s",
	    pol_yaml_label(n, l, sizeof(l)), pol_yaml_kind(n));
	return -1;
}

int
pol_yaml_want_seq(const struct pol_yaml_node *n, struct pol_errs *errs)
{
	char	 l[96];

	if (n == NULL)
		return -1;
	if (n->type == POL_YAML_SEQ)
		return 0;
	pol_yaml_error(n, errs, "%s must be a list, not %s",
	    pol_yaml_label(n, l, sizeof(l)), pol_yaml_kind(n));
	return -1;
}

#define DIST_MAX	64	/* longer strings are not worth comparing */

size_t
pol_yaml_distance(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);
	size_t	 d[3][DIST_MAX + 1];	/* rows i-2, i-1, i (mod 3) */

	if (la > DIST_MAX || lb > DIST_MAX) {
		size_t m = la > lb ? la : lb;

		return m > 255 ? 255 : m;
	}
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t	*cur = d[i % 3], *prev = d[(i - 1) % 3];
		size_t	*pp = d[(i + 1) % 3];	/* row i-2 */

		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t	 cost = a[i - 1] != b[j - 1];
			size_t	 v = prev[j] + 1;

			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (prev[j - 1] + cost < v)
				v = prev[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			cur[j] = v;
		}
	}
	return d[la % 3][lb];
}

const char *
pol_yaml_suggest(const char *word, const char *const *cands)
{
	const char	*best = NULL;
	size_t		 bestd = SIZE_MAX, len = strlen(word);

	for (size_t i = 0; cands != NULL && cands[i] != NULL; i++) {
		size_t d = pol_yaml_distance(word, cands[i]);

		if (d < bestd)
			best = cands[i], bestd = d;
	}
	if (best == NULL || bestd >= len || (bestd > 2 && bestd * 3 > len))
		return NULL;
	return best;
}

size_t
pol_yaml_check_keys(const struct pol_yaml_node *map,
    const char *const *allowed, struct pol_errs *errs)
{
	size_t	 unknown = 0;

	if (map == NULL || map->type != POL_YAML_MAP)
		return 0;
	for (size_t i = 0; i + 1 < map->nkids; i += 2) {
		const struct pol_yaml_node	*k = map->kids[i];
		const char			*s;
		char				 t[64];
		size_t				 j;

		if (k->type != POL_YAML_SCALAR)
			continue;	/* reported when the tree was built */
		for (j = 0; allowed[j] != NULL; j++)
			if (strlen(allowed[j]) == k->len &&
			    memcmp(allowed[j], k->text, k->len) == 0)
				break;
		if (allowed[j] != NULL)
			continue;
		unknown++;
		snip(k->text, k->len, t, sizeof(t));
		if (strlen(k->text) == k->len &&
		    (s = pol_yaml_suggest(k->text, allowed)) != NULL)
			pol_yaml_error(k, errs,
			    "unknown key '%s' (did you mean '%s'?)", t, s);
		else
			pol_yaml_error(k, errs, "unknown key '%s'", t);
	}
	return unknown;
}

const struct pol_yaml_node *
pol_yaml_need(const struct pol_yaml_node *map, const char *key,
    struct pol_errs *errs)
{
	const struct pol_yaml_node	*v;

	if (map == NULL || map->type != POL_YAML_MAP)
		return NULL;
	if ((v = pol_yaml_get(map, key)) == NULL)
		pol_yaml_error(map, errs, "missing required key '%s'", key);
	return v;
}

/*
 * Typed conversions.
 */

int
pol_yaml_str(const struct pol_yaml_node *n, struct pol_errs *errs,
    const char **out)
{
	char	 l[96];

	if (n == NULL)
		return -1;
	if (n->type != POL_YAML_SCALAR || pol_yaml_is_null(n)) {
		pol_yaml_error(n, errs, "%s must be a string, not %s",
		    pol_yaml_label(n, l, sizeof(l)), pol_yaml_kind(n));
		return -1;
	}
	if (memchr(n->text, '\0', n->len) != NULL) {
		pol_yaml_error(n, errs, "%s must not contain NUL characters",
		    pol_yaml_label(n, l, sizeof(l)));
		return -1;
	}
	*out = n->text;
	return 0;
}

int
pol_yaml_bool(const struct pol_yaml_node *n, struct pol_errs *errs, int *out)
{
	char	 l[96], d[96];
	int	 v;

	if (n == NULL)
		return -1;
	if (n->type != POL_YAML_SCALAR || n->quoted ||
	    !is_bool_text(n->text, &v)) {
		pol_yaml_error(n, errs, "%s must be true or false, not %s",
		    pol_yaml_label(n, l, sizeof(l)),
		    pol_yaml_describe(n, d, sizeof(d)));
		return -1;
	}
	*out = v;
	return 0;
}

static const char *
int_range(long long min, long long max, char *buf, size_t size)
{
	if (min == LLONG_MIN && max == LLONG_MAX)
		snprintf(buf, size, "an integer");
	else if (max == LLONG_MAX)
		snprintf(buf, size, "an integer of at least %lld", min);
	else
		snprintf(buf, size, "an integer from %lld to %lld", min, max);
	return buf;
}

int
pol_yaml_int(const struct pol_yaml_node *n, long long min, long long max,
    struct pol_errs *errs, long long *out)
{
	char		 l[96], d[96], r[96];
	long long	 v = 0;

	if (n == NULL)
		return -1;
	if (n->type != POL_YAML_SCALAR || n->quoted ||
	    parse_int(n->text, n->len, &v) != 0 || v < min || v > max) {
		pol_yaml_error(n, errs, "%s must be %s, not %s",
		    pol_yaml_label(n, l, sizeof(l)),
		    int_range(min, max, r, sizeof(r)),
		    pol_yaml_describe(n, d, sizeof(d)));
		return -1;
	}
	*out = v;
	return 0;
}

int
pol_yaml_ms(const struct pol_yaml_node *n, int min, int max,
    struct pol_errs *errs, int *out)
{
	char		 l[96], d[96];
	long long	 v = 0;

	if (n == NULL)
		return -1;
	if (n->type != POL_YAML_SCALAR || n->quoted ||
	    parse_int(n->text, n->len, &v) != 0 || v < min || v > max) {
		pol_yaml_error(n, errs, "%s must be a time in milliseconds "
		    "from %d to %d, not %s", pol_yaml_label(n, l, sizeof(l)),
		    min, max, pol_yaml_describe(n, d, sizeof(d)));
		return -1;
	}
	*out = (int)v;
	return 0;
}

static const struct {
	const char	*name;
	unsigned	 shift;
} size_units[] = {
	{ "B", 0 }, { "KiB", 10 }, { "MiB", 20 }, { "GiB", 30 }, { "TiB", 40 },
};

/* "65536", "64MiB", "16 KiB": 0, or -1 when malformed or too large. */
static int
parse_size(const char *s, size_t len, size_t *out)
{
	size_t	 i = 0, v = 0;
	unsigned shift = 0;

	if (len == 0 || s[0] < '0' || s[0] > '9')
		return -1;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		size_t d = (size_t)(s[i] - '0');

		if (v > (SIZE_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	while (i < len && s[i] == ' ')
		i++;
	if (i < len) {
		size_t	 u;

		for (u = 0; u < sizeof(size_units) / sizeof(size_units[0]); u++)
			if (strlen(size_units[u].name) == len - i &&
			    strncasecmp(size_units[u].name, s + i,
			    len - i) == 0)
				break;
		if (u == sizeof(size_units) / sizeof(size_units[0]))
			return -1;
		shift = size_units[u].shift;
	} else if (s[len - 1] == ' ')
		return -1;	/* "64 " */
	if (shift > 0 && v > (SIZE_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

/* "64MiB" when exact in a binary unit, else the number of bytes. */
static const char *
size_text(size_t v, char *buf, size_t bufsize)
{
	for (size_t u = sizeof(size_units) / sizeof(size_units[0]) - 1; u > 0;
	    u--) {
		size_t	 m = (size_t)1 << size_units[u].shift;

		if (v >= m && v % m == 0) {
			snprintf(buf, bufsize, "%zu%s", v / m,
			    size_units[u].name);
			return buf;
		}
	}
	snprintf(buf, bufsize, "%zu", v);
	return buf;
}

int
pol_yaml_size(const struct pol_yaml_node *n, size_t min, size_t max,
    struct pol_errs *errs, size_t *out)
{
	char	 l[96], d[96], a[32], b[32];
	size_t	 v = 0;

	if (n == NULL)
		return -1;
	if (n->type != POL_YAML_SCALAR || pol_yaml_is_null(n) ||
	    parse_size(n->text, n->len, &v) != 0 || v < min || v > max) {
		pol_yaml_error(n, errs, "%s must be a size in bytes from %s to "
		    "%s (e.g. 65536 or 64KiB), not %s",
		    pol_yaml_label(n, l, sizeof(l)),
		    size_text(min, a, sizeof(a)), size_text(max, b, sizeof(b)),
		    pol_yaml_describe(n, d, sizeof(d)));
		return -1;
	}
	*out = v;
	return 0;
}

int
pol_yaml_enum(const struct pol_yaml_node *n, const char *const *names,
    struct pol_errs *errs, int *out)
{
	char	 l[96], d[96], list[256];
	size_t	 o = 0;

	if (n == NULL)
		return -1;
	if (n->type == POL_YAML_SCALAR)
		for (int i = 0; names[i] != NULL; i++)
			if (strlen(names[i]) == n->len &&
			    memcmp(names[i], n->text, n->len) == 0) {
				*out = i;
				return 0;
			}
	list[0] = '\0';
	for (int i = 0; names[i] != NULL && o < sizeof(list); i++) {
		int w = snprintf(list + o, sizeof(list) - o, "%s%s",
		    i ? ", " : "", names[i]);

		if (w < 0)
			break;
		o += (size_t)w;
	}
	pol_yaml_error(n, errs, "%s must be one of %s, not %s",
	    pol_yaml_label(n, l, sizeof(l)), list,
	    pol_yaml_describe(n, d, sizeof(d)));
	return -1;
}

int
pol_yaml_strlist(const struct pol_yaml_node *n, struct pol_errs *errs,
    const char ***out, size_t *count)
{
	const char	**v;
	char		  l[96];
	int		  bad = 0;

	if (n == NULL)
		return -1;
	if (n->type != POL_YAML_SEQ) {
		pol_yaml_error(n, errs, "%s must be a list of strings, not %s",
		    pol_yaml_label(n, l, sizeof(l)), pol_yaml_kind(n));
		return -1;
	}
	if ((v = calloc(n->nkids + 1, sizeof(*v))) == NULL) {
		pol_yaml_error(n, errs, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n->nkids; i++)
		if (pol_yaml_str(n->kids[i], errs, &v[i]) == -1)
			bad = 1;
	if (bad) {
		free(v);
		return -1;
	}
	*out = v;
	*count = n->nkids;
	return 0;
}

int
pol_yaml_get_str(const struct pol_yaml_node *map, const char *key,
    struct pol_errs *errs, const char **out)
{
	const struct pol_yaml_node *v = pol_yaml_get(map, key);

	return v ? pol_yaml_str(v, errs, out) : 0;
}

int
pol_yaml_get_bool(const struct pol_yaml_node *map, const char *key,
    struct pol_errs *errs, int *out)
{
	const struct pol_yaml_node *v = pol_yaml_get(map, key);

	return v ? pol_yaml_bool(v, errs, out) : 0;
}

int
pol_yaml_get_int(const struct pol_yaml_node *map, const char *key,
    long long min, long long max, struct pol_errs *errs, long long *out)
{
	const struct pol_yaml_node *v = pol_yaml_get(map, key);

	return v ? pol_yaml_int(v, min, max, errs, out) : 0;
}

int
pol_yaml_get_size(const struct pol_yaml_node *map, const char *key,
    size_t min, size_t max, struct pol_errs *errs, size_t *out)
{
	const struct pol_yaml_node *v = pol_yaml_get(map, key);

	return v ? pol_yaml_size(v, min, max, errs, out) : 0;
}

int
pol_yaml_get_ms(const struct pol_yaml_node *map, const char *key, int min,
    int max, struct pol_errs *errs, int *out)
{
	const struct pol_yaml_node *v = pol_yaml_get(map, key);

	return v ? pol_yaml_ms(v, min, max, errs, out) : 0;
}

int
pol_yaml_get_enum(const struct pol_yaml_node *map, const char *key,
    const char *const *names, struct pol_errs *errs, int *out)
{
	const struct pol_yaml_node *v = pol_yaml_get(map, key);

	return v ? pol_yaml_enum(v, names, errs, out) : 0;
}
