/* classifiers/paths.c — JSON-path globs ($.**.notes, $.customers[*].contact.*)
 * compiled once and matched against a path read segment by segment. */
#include <stdlib.h>
#include <string.h>

#include "classifiers/internal.h"

enum seg_type {
	SEG_KEY,		/* .name or ['name'] */
	SEG_ANY,		/* .*  one member or element */
	SEG_INDEX,		/* [n] */
	SEG_ANYINDEX,		/* [*] */
	SEG_DEEP,		/* .** zero or more segments */
};

struct gseg {
	enum seg_type	 type;
	char		*key;		/* SEG_KEY, owned */
	size_t		 len;
	uint64_t	 index;
};

/* nfixed and deep are set by cls_glob_compile for cls_glob_match's quick
 * rejection: a path has exactly n segments when the glob has no .**, and
 * at least nfixed otherwise; the glob's last segment, unless .**, meets
 * the path's last one. */
struct cls_glob {
	struct gseg	*segs;
	size_t		 n;
	size_t		 nfixed;	/* segments other than .** */
	int		 deep;		/* has a .** */
};

void
cls_glob_free(struct cls_glob *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->n; i++)
		free(g->segs[i].key);
	free(g->segs);
	free(g);
}

static int
is_key_char(unsigned char c)
{
	return c != '.' && c != '[' && c != ']' && c != '\0' && c != '\'' &&
	    c != '"' && c != ' ';
}

struct cls_glob *
cls_glob_compile(const char *s, const char **err, size_t *errpos)
{
	struct cls_glob *g;
	size_t i = 1, n = strlen(s);

	*err = NULL;
	*errpos = 0;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	/* a glob has at most one segment per two bytes */
	if ((g->segs = calloc(n / 2 + 1, sizeof(*g->segs))) == NULL)
		goto fail;
	if (s[0] != '$') {
		*err = "a path glob starts with $";
		goto fail;
	}
	while (i < n) {
		struct gseg *sg = &g->segs[g->n];
		size_t st;

		if (s[i] == '.') {
			i++;
			if (s[i] == '*' && s[i + 1] == '*') {
				sg->type = SEG_DEEP;
				i += 2;
			} else if (s[i] == '*') {
				sg->type = SEG_ANY;
				i++;
			} else {
				for (st = i; is_key_char((unsigned char)s[i]) &&
				    s[i] != '*'; i++)
					;
				if (i == st) {
					*err = "expected a key after '.'";
					*errpos = i;
					goto fail;
				}
				sg->type = SEG_KEY;
				if ((sg->key = strndup(s + st, i - st)) == NULL)
					goto fail;
				sg->len = i - st;
			}
		} else if (s[i] == '[') {
			i++;
			if (s[i] == '*' && s[i + 1] == ']') {
				sg->type = SEG_ANYINDEX;
				i += 2;
			} else if (s[i] >= '0' && s[i] <= '9') {
				sg->type = SEG_INDEX;
				for (; s[i] >= '0' && s[i] <= '9'; i++) {
					if (sg->index > UINT64_MAX / 10 - 1) {
						*err = "index too large";
						*errpos = i;
						goto fail;
					}
					sg->index = sg->index * 10 +
					    (uint64_t)(s[i] - '0');
				}
				if (s[i++] != ']') {
					*err = "expected ']'";
					*errpos = i - 1;
					goto fail;
				}
			} else if (s[i] == '\'' || s[i] == '"') {
				char q = s[i++], *k;
				size_t o = 0;

				if ((k = malloc(n)) == NULL)
					goto fail;
				sg->key = k;
				sg->type = SEG_KEY;
				for (; i < n && s[i] != q; i++) {
					if (s[i] == '\\' && i + 1 < n)
						i++;
					k[o++] = s[i];
				}
				k[o] = '\0';
				sg->len = o;
				if (i >= n || s[i + 1] != ']') {
					*err = "unterminated quoted key";
					*errpos = i;
					goto fail;
				}
				i += 2;
			} else {
				*err = "expected an index, * or a quoted key "
				    "after '['";
				*errpos = i;
				goto fail;
			}
		} else {
			*err = "expected '.' or '['";
			*errpos = i;
			goto fail;
		}
		if (sg->type == SEG_DEEP)
			g->deep = 1;
		else
			g->nfixed++;
		g->n++;
	}
	return g;
fail:
	/* the segment being parsed is not counted in g->n yet (there is
	 * room: every segment takes at least two bytes of the glob) */
	if (g->segs != NULL)
		free(g->segs[g->n].key);
	cls_glob_free(g);
	return NULL;
}

/* Whether the one-segment glob part <sg> (not .**) matches path segment
 * pi (< depth). */
static int
seg_match(const struct gseg *sg, const struct cls_path *p, size_t pi)
{
	const struct cls_seg *ps = &p->segs[pi];

	switch (sg->type) {
	case SEG_KEY:
		return ps->key != NULL && ps->len == sg->len &&
		    cls_same_bytes(ps->key, sg->key, ps->len);
	case SEG_INDEX:
		return ps->key == NULL && ps->index == sg->index;
	case SEG_ANYINDEX:
		return ps->key == NULL;
	default:
		return 1;
	}
}

static int
match_from(const struct cls_glob *g, size_t gi, const struct cls_path *p,
    size_t pi)
{
	for (; gi < g->n; gi++, pi++) {
		const struct gseg *sg = &g->segs[gi];

		if (sg->type == SEG_DEEP) {
			if (gi + 1 == g->n)
				return 1;
			for (size_t k = pi; k <= p->depth; k++)
				if (match_from(g, gi + 1, p, k))
					return 1;
			return 0;
		}
		if (pi >= p->depth || !seg_match(sg, p, pi))
			return 0;
	}
	return pi == p->depth;
}

int
cls_glob_match(const struct cls_glob *g, const struct cls_path *p)
{
	if (p == NULL || (p->segs == NULL && p->depth > 0))
		return 0;
	/* Quick rejection, exact (see struct cls_glob): most fields of a body
	 * fail on the depth or on their last key ("$.**.notes" and "email")
	 * without the backtracking below. */
	if (g->deep ? p->depth < g->nfixed : p->depth != g->n)
		return 0;
	if (g->n > 0 && g->segs[g->n - 1].type != SEG_DEEP &&
	    !seg_match(&g->segs[g->n - 1], p, p->depth - 1))
		return 0;
	return match_from(g, 0, p, 0);
}

/* ------------------------------------------------------------ formatting */

struct pbuf {
	char	*buf;
	size_t	 size;
	size_t	 len;
};

static void
pb_add(struct pbuf *pb, const char *s, size_t n)
{
	size_t	 room;

	if (n > 0 && pb->size > 0 && pb->len < pb->size - 1) {
		room = pb->size - 1 - pb->len;
		memcpy(pb->buf + pb->len, s, n < room ? n : room);
	}
	pb->len += n;
}

/* A key printed after '.': ASCII letters, digits and '_' (not first a
 * digit), and any non-ASCII UTF-8 so that "$.客户.身份证号" reads well. */
static int
path_ident(const char *k, size_t n)
{
	if (n == 0 || (k[0] >= '0' && k[0] <= '9'))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c >= 0x80))
			return 0;
	}
	return 1;
}

size_t
cls_path_format(const struct cls_path *pa, int fold, char *buf, size_t size)
{
	struct pbuf	 pb = { buf, size, 0 };
	char		 num[24];

	pb_add(&pb, "$", 1);
	for (size_t i = 0; pa != NULL && i < pa->depth; i++) {
		const char	*k = pa->segs[i].key;
		size_t		 kl = pa->segs[i].len, a = 0;
		uint64_t	 idx = pa->segs[i].index;
		int		 nl = 0;

		if (k != NULL && path_ident(k, kl)) {
			pb_add(&pb, ".", 1);
			pb_add(&pb, k, kl);
		} else if (k != NULL) {
			pb_add(&pb, "['", 2);
			for (size_t j = 0; j < kl; j++) {
				if (k[j] != '\'' && k[j] != '\\')
					continue;
				pb_add(&pb, k + a, j - a);
				pb_add(&pb, "\\", 1);
				a = j;
			}
			pb_add(&pb, k + a, kl - a);
			pb_add(&pb, "']", 2);
		} else if (fold)
			pb_add(&pb, "[*]", 3);
		else {
			/* Digits backwards: no snprintf in the hot path. */
			do {
				num[sizeof(num) - 1 - nl++] =
				    (char)('0' + idx % 10);
				idx /= 10;
			} while (idx > 0);
			pb_add(&pb, "[", 1);
			pb_add(&pb, num + sizeof(num) - nl, (size_t)nl);
			pb_add(&pb, "]", 1);
		}
	}
	if (size > 0)
		buf[pb.len < size ? pb.len : size - 1] = '\0';
	return pb.len;
}
