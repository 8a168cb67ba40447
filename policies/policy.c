/* policies/policy.c — loading and checking policy files: classes, rules,
 * default; every problem reported at its FILE:LINE:COL in one run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keys/keys.h"
#include "policies/errs.h"
#include "policies/internal.h"
#include "policies/yaml.h"

static const char *const action_names[POL_A_COUNT + 1] = {
	"allow", "mask", "redact", "drop", "hash", "tokenize", "encrypt",
	"reveal", "deny", NULL,
};

const char *
pol_action_name(enum pol_action a)
{
	if ((unsigned)a >= POL_A_COUNT)
		return "?";
	return action_names[a];
}

int
pol_action_parse(const char *s)
{
	for (int i = 0; i < POL_A_COUNT; i++)
		if (strcmp(s, action_names[i]) == 0)
			return i;
	return -1;
}

/* ------------------------------------------------------------- route globs */

static const char *const method_names[] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", NULL,
};

unsigned
pol_method_bit(const char *s, size_t len)
{
	if (len == 1 && s[0] == '*')
		return POL_M_ANY;
	for (unsigned i = 0; method_names[i] != NULL; i++)
		if (strlen(method_names[i]) == len &&
		    memcmp(method_names[i], s, len) == 0)
			return 1u << i;
	return 0;
}

int
pol_route_parse(const char *text, struct pol_route *r)
{
	const char *sp, *p;

	r->text = text;
	if (text[0] == '/') {
		r->methods = POL_M_ANY;
		r->path = text;
		return 0;
	}
	sp = strchr(text, ' ');
	if (sp == NULL)
		return -1;
	r->methods = 0;
	for (p = text; p < sp;) {
		const char *bar = memchr(p, '|', (size_t)(sp - p));
		unsigned b;

		if (bar == NULL)
			bar = sp;
		if ((b = pol_method_bit(p, (size_t)(bar - p))) == 0)
			return -1;
		r->methods |= b;
		p = bar + (bar < sp);
	}
	while (*sp == ' ')
		sp++;
	if (*sp != '/')
		return -1;
	r->path = sp;
	return 0;
}

struct segs {
	const char	*s[POL_MAX_SEGS];
	size_t		 l[POL_MAX_SEGS];
	size_t		 n;
};

/* Splits "/a/b" (len bytes) into segments; -1 when too many. */
static int
split(const char *p, size_t len, struct segs *g)
{
	const char *e = p + len;

	g->n = 0;
	if (len == 0 || *p != '/')
		return -1;
	p++;
	if (p == e)
		return 0;
	for (;;) {
		const char *q = memchr(p, '/', (size_t)(e - p));

		if (g->n == POL_MAX_SEGS)
			return -1;
		if (q == NULL)
			q = e;
		g->s[g->n] = p;
		g->l[g->n++] = (size_t)(q - p);
		if (q == e)
			return 0;
		p = q + 1;
	}
}

#define IS_DSTAR(g, i)	((g)->l[i] == 2 && (g)->s[i][0] == '*' && \
			    (g)->s[i][1] == '*' && (i) + 1 == (g)->n)
#define IS_STAR(g, i)	((g)->l[i] == 1 && (g)->s[i][0] == '*')
#define IS_PREFIX(g, i)	((g)->l[i] > 1 && (g)->s[i][(g)->l[i] - 1] == '*')

int
pol_glob_match(const char *pattern, const char *path, size_t len)
{
	struct segs	a, b;
	size_t		i;

	if (split(pattern, strlen(pattern), &a) < 0 || split(path, len, &b) < 0)
		return 0;
	for (i = 0; i < a.n; i++) {
		if (IS_DSTAR(&a, i))
			return 1;
		if (i == b.n)
			return 0;
		if (IS_STAR(&a, i)) {
			if (b.l[i] == 0)
				return 0;
		} else if (IS_PREFIX(&a, i)) {
			if (b.l[i] < a.l[i] - 1 ||
			    memcmp(a.s[i], b.s[i], a.l[i] - 1) != 0)
				return 0;
		} else if (a.l[i] != b.l[i] || memcmp(a.s[i], b.s[i], a.l[i]))
			return 0;
	}
	return i == b.n;
}

/* Pattern segment x covers pattern segment y: every segment y matches, x
 * matches. */
static int
seg_covers(const struct segs *a, size_t i, const struct segs *b, size_t j)
{
	if (IS_STAR(a, i))
		return IS_STAR(b, j) || IS_PREFIX(b, j) || b->l[j] > 0;
	if (IS_PREFIX(a, i))
		return (IS_PREFIX(b, j) || !IS_STAR(b, j)) &&
		    b->l[j] >= a->l[i] - 1 &&
		    memcmp(a->s[i], b->s[j], a->l[i] - 1) == 0;
	return !IS_STAR(b, j) && !IS_PREFIX(b, j) && a->l[i] == b->l[j] &&
	    memcmp(a->s[i], b->s[j], a->l[i]) == 0;
}

int
pol_glob_covers(const char *pa, const char *pb)
{
	struct segs	a, b;
	size_t		i;

	if (split(pa, strlen(pa), &a) < 0 || split(pb, strlen(pb), &b) < 0)
		return 0;
	for (i = 0; i < a.n; i++) {
		if (IS_DSTAR(&a, i))
			return 1;
		if (i == b.n || IS_DSTAR(&b, i) || !seg_covers(&a, i, &b, i))
			return 0;
	}
	return i == b.n;
}

/* Some segment matches both. */
static int
seg_overlap(const struct segs *a, size_t i, const struct segs *b, size_t j)
{
	size_t n;

	if (IS_STAR(a, i))
		return IS_STAR(b, j) || IS_PREFIX(b, j) || b->l[j] > 0;
	if (IS_STAR(b, j))
		return IS_PREFIX(a, i) || a->l[i] > 0;
	if (IS_PREFIX(a, i) && IS_PREFIX(b, j)) {
		n = a->l[i] < b->l[j] ? a->l[i] : b->l[j];
		return memcmp(a->s[i], b->s[j], n - 1) == 0;
	}
	if (IS_PREFIX(a, i))
		return b->l[j] >= a->l[i] - 1 &&
		    memcmp(a->s[i], b->s[j], a->l[i] - 1) == 0;
	if (IS_PREFIX(b, j))
		return seg_overlap(b, j, a, i);
	return a->l[i] == b->l[j] && memcmp(a->s[i], b->s[j], a->l[i]) == 0;
}

int
pol_glob_overlap(const char *pa, const char *pb)
{
	struct segs	a, b;
	size_t		i;

	if (split(pa, strlen(pa), &a) < 0 || split(pb, strlen(pb), &b) < 0)
		return 0;
	for (i = 0;; i++) {
		if ((i < a.n && IS_DSTAR(&a, i)) || (i < b.n && IS_DSTAR(&b, i)))
			return 1;
		if (i == a.n || i == b.n)
			return a.n == b.n;
		if (!seg_overlap(&a, i, &b, i))
			return 0;
	}
}

/* ----------------------------------------------------------------- loading */

struct loader {
	struct pol_policy	*p;
	const struct pol_env	*env;
	struct pol_errs		*errs;		/* unsorted, moved at the end */
	int			 have_default;
	const struct pol_yaml_node *default_node;
	const struct pol_yaml_node *outreach_node;	/* the first one */
	/* class definitions, in order */
	struct cls_class_def	*defs;
	size_t			 ndefs, capdefs;
	struct cls_item		*items;		/* every item of every class */
	size_t			 nitems, capitems;
	const char		**class_names;	/* NULL-terminated, for hints */
	const struct pol_yaml_node **rule_nodes;
};

void
pol_act_defaults(struct pol_act *a, enum pol_action kind)
{
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->mchar[0] = '*';
	a->mchar_len = 1;
	switch (kind) {
	case POL_A_HASH:
		a->key = "hash";
		break;
	case POL_A_TOKENIZE:
		a->key = "tok";
		break;
	case POL_A_ENCRYPT:
		a->key = "pii";
		break;
	default:
		break;
	}
}

/* The number of bytes of the first UTF-8 character of s, 0 when s is not
 * exactly one character. */
static size_t
one_utf8_char(const char *s, size_t len)
{
	unsigned char c = (unsigned char)s[0];
	size_t n;

	if (len == 0)
		return 0;
	n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 :
	    (c >> 3) == 30 ? 4 : 0;
	return n == len ? n : 0;
}

static void
check_key(struct loader *ld, const struct pol_yaml_node *at,
    const struct pol_act *a)
{
	const struct keys_key	*k;
	enum keys_purpose	 want;

	if (ld->env == NULL || ld->env->ring == NULL || a->key == NULL)
		return;
	want = a->kind == POL_A_HASH ? KEYS_P_HASH :
	    a->kind == POL_A_TOKENIZE ? KEYS_P_TOKENIZE : KEYS_P_ENCRYPT;
	if ((k = keys_find(ld->env->ring, a->key)) == NULL) {
		pol_yaml_error(at, ld->errs, "no key '%s' in the keyring "
		    "(create it with: custos keys new %s %s)", a->key, a->key,
		    keys_purpose_name(want));
		return;
	}
	if (keys_purpose(k) != want)
		pol_yaml_error(at, ld->errs, "key '%s' has purpose %s; "
		    "action %s needs a key of purpose %s", a->key,
		    keys_purpose_name(keys_purpose(k)),
		    pol_action_name(a->kind), keys_purpose_name(want));
	else if (keys_writer_version(k) == 0 && a->kind != POL_A_REVEAL)
		pol_yaml_error(at, ld->errs, "key '%s' has no active version",
		    a->key);
}

/* Reads <action_node> and <opts> (may be NULL) into <a>. */
static int
parse_action(struct loader *ld, const struct pol_yaml_node *action_node,
    const struct pol_yaml_node *opts, struct pol_act *a)
{
	static const char *const mask_keys[] = { "keep_first", "keep_last",
	    "char", "style", NULL };
	static const char *const redact_keys[] = { "text", NULL };
	static const char *const key_keys[] = { "key", NULL };
	static const char *const no_keys[] = { NULL };
	static const char *const styles[] = { "email", NULL };
	const struct pol_yaml_node *keynode = action_node;
	const char	*s;
	int		 kind, bad = 0;
	long long	 v;

	if (pol_yaml_str(action_node, ld->errs, &s) < 0)
		return -1;
	if ((kind = pol_action_parse(s)) < 0) {
		const char *hint = pol_yaml_suggest(s, action_names);

		if (hint != NULL)
			pol_yaml_error(action_node, ld->errs, "unknown action "
			    "'%s' (did you mean '%s'?)", s, hint);
		else
			pol_yaml_error(action_node, ld->errs, "unknown action "
			    "'%s' (one of allow, mask, redact, drop, hash, "
			    "tokenize, encrypt, reveal, deny)", s);
		return -1;
	}
	pol_act_defaults(a, (enum pol_action)kind);
	if (opts == NULL)
		goto key;
	if (pol_yaml_want_map(opts, ld->errs) < 0)
		return -1;
	switch (kind) {
	case POL_A_MASK:
		bad = pol_yaml_check_keys(opts, mask_keys, ld->errs) > 0;
		v = 0;
		if (pol_yaml_get_int(opts, "keep_first", 0, 1024, ld->errs,
		    &v) < 0)
			bad = 1;
		a->keep_first = (unsigned)v;
		v = 0;
		if (pol_yaml_get_int(opts, "keep_last", 0, 1024, ld->errs,
		    &v) < 0)
			bad = 1;
		a->keep_last = (unsigned)v;
		s = NULL;
		if (pol_yaml_get_str(opts, "char", ld->errs, &s) < 0)
			bad = 1;
		else if (s != NULL) {
			size_t n = one_utf8_char(s, strlen(s));

			if (n == 0) {
				pol_yaml_error(pol_yaml_get(opts, "char"),
				    ld->errs, "'char' must be one character");
				bad = 1;
			} else {
				memcpy(a->mchar, s, n);
				a->mchar_len = n;
			}
		}
		if (pol_yaml_get(opts, "style") != NULL) {
			int st;

			if (pol_yaml_get_enum(opts, "style", styles, ld->errs,
			    &st) < 0)
				bad = 1;
			else
				a->email = 1;
		}
		break;
	case POL_A_REDACT:
		bad = pol_yaml_check_keys(opts, redact_keys, ld->errs) > 0;
		if (pol_yaml_get_str(opts, "text", ld->errs, &a->text) < 0)
			bad = 1;
		break;
	case POL_A_HASH:
	case POL_A_TOKENIZE:
	case POL_A_ENCRYPT:
		bad = pol_yaml_check_keys(opts, key_keys, ld->errs) > 0;
		if (pol_yaml_get_str(opts, "key", ld->errs, &a->key) < 0)
			bad = 1;
		else if (pol_yaml_get(opts, "key") != NULL)
			keynode = pol_yaml_get(opts, "key");
		break;
	default:
		if (pol_yaml_len(opts) > 0) {
			pol_yaml_error(pol_yaml_map_key(opts, 0), ld->errs,
			    "action %s takes no options",
			    pol_action_name(a->kind));
			bad = 1;
		}
		(void)no_keys;
		break;
	}
key:
	if (!bad && a->key != NULL)
		check_key(ld, keynode, a);
	return bad ? -1 : 0;
}

int
pol_name_list(struct pol_errs *errs, const struct pol_yaml_node *n,
    const char *what, const char *const *known, size_t nknown,
    const char ***out, size_t *nout)
{
	const char	**v = NULL;
	size_t		  cnt = 0;
	int		  bad = 0;

	if (n == NULL)
		return 0;
	if (pol_yaml_type(n) == POL_YAML_SCALAR && !pol_yaml_is_null(n)) {
		/* A single name is accepted for a list of one. */
		v = calloc(2, sizeof(*v));
		if (v == NULL)
			return -1;
		v[0] = pol_yaml_scalar(n);
		cnt = 1;
	} else if (pol_yaml_strlist(n, errs, &v, &cnt) < 0)
		return -1;
	if (cnt == 0) {
		/* An empty list would match nothing: surely not meant. */
		pol_yaml_error(n, errs, "empty list of %ss (leave the key "
		    "out to match any %s)", what, what);
		free(v);
		return -1;
	}
	for (size_t i = 0; known != NULL && i < cnt; i++) {
		const struct pol_yaml_node *it = pol_yaml_type(n) ==
		    POL_YAML_SEQ ? pol_yaml_item(n, i) : n;
		size_t j;

		for (j = 0; j < nknown; j++)
			if (strcmp(known[j], v[i]) == 0)
				break;
		if (j == nknown) {
			const char **cand = calloc(nknown + 1, sizeof(*cand));
			const char *hint = NULL;

			if (cand != NULL) {
				memcpy(cand, known, nknown * sizeof(*cand));
				hint = pol_yaml_suggest(v[i], cand);
			}
			/* Close to a known name: a typo, an error. Else a
			 * name the configuration does not use yet (a policy
			 * is often written before the principal exists): a
			 * warning, and the rule waits for it. */
			if (hint != NULL) {
				pol_yaml_error(it, errs, "unknown %s '%s' "
				    "(did you mean '%s'?)", what, v[i], hint);
				bad = 1;
			} else if (strcmp(what, "principal") == 0)
				pol_yaml_warn(it, errs, "no principal '%s' "
				    "in the configuration (yet)", v[i]);
			else
				pol_yaml_warn(it, errs, "no principal in the "
				    "configuration has %s '%s' (yet)", what, v[i]);
			free(cand);
		}
	}
	*out = v;
	*nout = cnt;
	return bad ? -1 : 0;
}

static int
add_items(struct loader *ld, const struct pol_yaml_node *n,
    const struct cls_item **out, size_t *nout)
{
	size_t cnt, first = ld->nitems;

	*out = NULL;
	*nout = 0;
	if (n == NULL)
		return 0;
	if (pol_yaml_want_seq(n, ld->errs) < 0)
		return -1;
	cnt = pol_yaml_len(n);
	if (ld->nitems + cnt > ld->capitems) {
		/* Items are addressed by index until cls_set_new: pointers are
		 * fixed up after every class has been read. */
		size_t nc = (ld->nitems + cnt) * 2 + 16;
		struct cls_item *ni = realloc(ld->items, nc * sizeof(*ni));

		if (ni == NULL)
			return -1;
		ld->items = ni;
		ld->capitems = nc;
	}
	for (size_t i = 0; i < cnt; i++) {
		const struct pol_yaml_node *it = pol_yaml_item(n, i);
		const char *s;

		if (pol_yaml_str(it, ld->errs, &s) < 0)
			return -1;
		ld->items[ld->nitems].text = s;
		ld->items[ld->nitems].src.file = pol_yaml_node_file(it);
		ld->items[ld->nitems].src.line = pol_yaml_line(it);
		ld->items[ld->nitems].src.col = pol_yaml_col(it);
		ld->nitems++;
	}
	*out = (const struct cls_item *)(uintptr_t)(first + 1);	/* index+1 */
	*nout = cnt;
	return 0;
}

static int
level_of(struct loader *ld, const struct pol_yaml_node *n, int *out)
{
	static const char *const levels[] = { "public", "internal",
	    "confidential", "restricted", "secret", NULL };

	return pol_yaml_enum(n, levels, ld->errs, out);
}

static int
parse_classes(struct loader *ld, const struct pol_yaml_node *classes)
{
	static const char *const keys[] = { "level", "values", "fields",
	    "paths", "regex", "words", "in_text", "min_confidence", NULL };
	static const char *const confs[] = { "none", "low", "medium", "high",
	    NULL };
	int bad = 0;

	if (classes == NULL)
		return 0;
	if (pol_yaml_want_map(classes, ld->errs) < 0)
		return -1;
	for (size_t i = 0; i < pol_yaml_len(classes); i++) {
		const struct pol_yaml_node *k = pol_yaml_map_key(classes, i);
		const struct pol_yaml_node *v = pol_yaml_map_value(classes, i);
		struct cls_class_def *d;
		int lv = 0, conf = CLS_CONF_LOW;

		if (ld->ndefs == ld->capdefs) {
			size_t nc = ld->capdefs * 2 + 8;
			struct cls_class_def *nd = realloc(ld->defs,
			    nc * sizeof(*nd));

			if (nd == NULL)
				return -1;
			ld->defs = nd;
			ld->capdefs = nc;
		}
		if (pol_yaml_want_map(v, ld->errs) < 0) {
			bad = 1;
			continue;
		}
		d = &ld->defs[ld->ndefs];
		memset(d, 0, sizeof(*d));
		d->name = pol_yaml_scalar(k);
		d->src.file = pol_yaml_node_file(k);
		d->src.line = pol_yaml_line(k);
		d->src.col = pol_yaml_col(k);
		if (pol_yaml_check_keys(v, keys, ld->errs) > 0)
			bad = 1;
		if (pol_yaml_need(v, "level", ld->errs) == NULL ||
		    level_of(ld, pol_yaml_get(v, "level"), &lv) < 0)
			bad = 1;
		if (pol_yaml_get_enum(v, "min_confidence", confs, ld->errs,
		    &conf) < 0)
			bad = 1;
		d->level = (enum cls_level)lv;
		d->min_confidence = (enum cls_conf)conf;
		if (add_items(ld, pol_yaml_get(v, "values"), &d->values,
		    &d->nvalues) < 0 ||
		    add_items(ld, pol_yaml_get(v, "fields"), &d->fields,
		    &d->nfields) < 0 ||
		    add_items(ld, pol_yaml_get(v, "paths"), &d->paths,
		    &d->npaths) < 0 ||
		    add_items(ld, pol_yaml_get(v, "regex"), &d->regex,
		    &d->nregex) < 0 ||
		    add_items(ld, pol_yaml_get(v, "words"), &d->words,
		    &d->nwords) < 0 ||
		    add_items(ld, pol_yaml_get(v, "in_text"), &d->in_text,
		    &d->nin_text) < 0)
			bad = 1;
		ld->ndefs++;
	}
	return bad ? -1 : 0;
}

static const struct cls_item *
fix(struct loader *ld, const struct cls_item *p)
{
	uintptr_t i = (uintptr_t)p;

	return i == 0 ? NULL : &ld->items[i - 1];
}

static int
parse_levels(struct loader *ld, const struct pol_yaml_node *n, unsigned *out)
{
	static const char *const keys[] = { "at_least", "at_most", NULL };
	int lo = CLS_PUBLIC, hi = CLS_SECRET, lv, bad = 0;

	if (pol_yaml_type(n) == POL_YAML_SEQ) {
		*out = 0;
		for (size_t i = 0; i < pol_yaml_len(n); i++) {
			if (level_of(ld, pol_yaml_item(n, i), &lv) < 0)
				bad = 1;
			else
				*out |= 1u << lv;
		}
		if (pol_yaml_len(n) == 0) {
			pol_yaml_error(n, ld->errs, "'levels' is empty");
			bad = 1;
		}
		return bad ? -1 : 0;
	}
	if (pol_yaml_type(n) != POL_YAML_MAP) {
		pol_yaml_error(n, ld->errs, "'levels' must be a list of "
		    "levels or a mapping with at_least and/or at_most");
		return -1;
	}
	if (pol_yaml_check_keys(n, keys, ld->errs) > 0)
		bad = 1;
	if (pol_yaml_get(n, "at_least") != NULL &&
	    level_of(ld, pol_yaml_get(n, "at_least"), &lo) < 0)
		bad = 1;
	if (pol_yaml_get(n, "at_most") != NULL &&
	    level_of(ld, pol_yaml_get(n, "at_most"), &hi) < 0)
		bad = 1;
	if (bad)
		return -1;
	if (lo > hi) {
		pol_yaml_error(n, ld->errs, "'levels': at_least %s is above "
		    "at_most %s", cls_level_name((enum cls_level)lo),
		    cls_level_name((enum cls_level)hi));
		return -1;
	}
	*out = 0;
	for (lv = lo; lv <= hi; lv++)
		*out |= 1u << lv;
	return 0;
}

static int
parse_rule(struct loader *ld, const struct pol_yaml_node *n,
    struct pol_rule *r)
{
	static const char *const keys[] = { "id", "routes", "roles",
	    "principals", "direction", "classes", "levels", "action",
	    "options", "break_glass", NULL };
	static const char *const bg_keys[] = { "action", "options",
	    "principals", "roles", NULL };
	static const char *const dirs[] = { "request", "response", NULL };
	const struct pol_yaml_node *x, *bg;
	int bad = 0, d;

	r->dirs = POL_DIR_REQUEST | POL_DIR_RESPONSE;
	r->line = pol_yaml_line(n);
	if (pol_yaml_want_map(n, ld->errs) < 0)
		return -1;
	if (pol_yaml_check_keys(n, keys, ld->errs) > 0)
		bad = 1;
	if (pol_yaml_need(n, "id", ld->errs) == NULL ||
	    pol_yaml_get_str(n, "id", ld->errs, &r->id) < 0)
		bad = 1;
	if ((x = pol_yaml_get(n, "routes")) != NULL) {
		const char **v = NULL;
		size_t cnt = 0;

		if (pol_name_list(ld->errs, x, "route", NULL, 0, &v, &cnt) < 0)
			bad = 1;
		else if ((r->routes = calloc(cnt + 1, sizeof(*r->routes)))
		    == NULL) {
			free(v);
			return -1;
		}
		for (size_t i = 0; r->routes != NULL && i < cnt; i++) {
			const struct pol_yaml_node *it = pol_yaml_type(x) ==
			    POL_YAML_SEQ ? pol_yaml_item(x, i) : x;
			struct pol_route *rt = &r->routes[r->nroutes];
			int known = 0;

			if (pol_route_parse(v[i], rt) < 0) {
				pol_yaml_error(it, ld->errs, "route '%s' is not "
				    "\"METHODS /path\" (e.g. \"GET|POST "
				    "/api/customers/**\")", v[i]);
				bad = 1;
				continue;
			}
			r->nroutes++;
			if (ld->env == NULL || ld->env->routes == NULL)
				continue;
			for (size_t j = 0; j < ld->env->nroutes; j++) {
				struct pol_route cr;

				if (pol_route_parse(ld->env->routes[j], &cr)
				    == 0 && (cr.methods & rt->methods) &&
				    pol_glob_overlap(cr.path, rt->path))
					known = 1;
			}
			/* One policy serves several configurations: a rule
			 * for routes this one does not have is not wrong,
			 * but worth a word. */
			if (!known)
				pol_yaml_warn(it, ld->errs, "route '%s' matches "
				    "no configured route (the rule never applies "
				    "here)", v[i]);
		}
		free(v);
	}
	if (pol_name_list(ld->errs, pol_yaml_get(n, "roles"), "role",
	    ld->env ? ld->env->roles : NULL, ld->env ? ld->env->nroles : 0,
	    &r->roles, &r->nroles) < 0)
		bad = 1;
	if (pol_name_list(ld->errs, pol_yaml_get(n, "principals"), "principal",
	    ld->env ? ld->env->principals : NULL,
	    ld->env ? ld->env->nprincipals : 0, &r->principals,
	    &r->nprincipals) < 0)
		bad = 1;
	if (pol_yaml_get(n, "direction") != NULL) {
		if (pol_yaml_get_enum(n, "direction", dirs, ld->errs, &d) < 0)
			bad = 1;
		else
			r->dirs = d == 0 ? POL_DIR_REQUEST : POL_DIR_RESPONSE;
	}
	if (pol_yaml_get(n, "classes") != NULL &&
	    pol_yaml_get(n, "levels") != NULL) {
		pol_yaml_error(pol_yaml_key_of(pol_yaml_get(n, "levels")),
		    ld->errs, "a rule takes 'classes' or 'levels', not both");
		bad = 1;
	}
	if (pol_name_list(ld->errs, pol_yaml_get(n, "classes"), "class",
	    ld->class_names, ld->ndefs, &r->classes, &r->nclasses) < 0)
		bad = 1;
	if ((x = pol_yaml_get(n, "levels")) != NULL &&
	    parse_levels(ld, x, &r->levels) < 0)
		bad = 1;
	if (pol_yaml_need(n, "action", ld->errs) == NULL ||
	    parse_action(ld, pol_yaml_get(n, "action"),
	    pol_yaml_get(n, "options"), &r->act) < 0)
		bad = 1;
	if ((bg = pol_yaml_get(n, "break_glass")) != NULL) {
		r->has_bg = 1;
		if (pol_yaml_want_map(bg, ld->errs) < 0)
			return -1;
		if (pol_yaml_check_keys(bg, bg_keys, ld->errs) > 0)
			bad = 1;
		if (pol_yaml_need(bg, "action", ld->errs) == NULL ||
		    parse_action(ld, pol_yaml_get(bg, "action"),
		    pol_yaml_get(bg, "options"), &r->bg) < 0)
			bad = 1;
		if (pol_yaml_get(bg, "roles") == NULL &&
		    pol_yaml_get(bg, "principals") == NULL) {
			pol_yaml_error(bg, ld->errs, "'break_glass' names no "
			    "principals or roles that may use it");
			bad = 1;
		}
		if (pol_name_list(ld->errs, pol_yaml_get(bg, "roles"), "role",
		    ld->env ? ld->env->roles : NULL,
		    ld->env ? ld->env->nroles : 0, &r->bg_roles,
		    &r->nbg_roles) < 0)
			bad = 1;
		if (pol_name_list(ld->errs, pol_yaml_get(bg, "principals"),
		    "principal", ld->env ? ld->env->principals : NULL,
		    ld->env ? ld->env->nprincipals : 0, &r->bg_principals,
		    &r->nbg_principals) < 0)
			bad = 1;
	}
	return bad ? -1 : 0;
}

/* Every name of <b> is in <a>; an absent list (NULL) means "any". */
static int
names_cover(const char **a, size_t na, const char **b, size_t nb)
{
	if (a == NULL)
		return 1;
	if (b == NULL)
		return 0;
	for (size_t i = 0; i < nb; i++) {
		size_t j;

		for (j = 0; j < na && strcmp(a[j], b[i]) != 0; j++)
			;
		if (j == na)
			return 0;
	}
	return 1;
}

static int
routes_cover(const struct pol_rule *a, const struct pol_rule *b)
{
	if (a->routes == NULL)
		return 1;
	if (b->routes == NULL)
		return 0;
	for (size_t i = 0; i < b->nroutes; i++) {
		size_t j;

		for (j = 0; j < a->nroutes; j++)
			if ((b->routes[i].methods & ~a->routes[j].methods) == 0
			    && pol_glob_covers(a->routes[j].path,
			    b->routes[i].path))
				break;
		if (j == a->nroutes)
			return 0;
	}
	return 1;
}

static int
classes_cover(const struct pol_rule *a, const struct pol_rule *b, size_t n)
{
	if (a->covers == NULL)
		return 1;
	if (b->covers == NULL)
		return 0;
	for (size_t c = 0; c < n; c++)
		if (b->covers[c] && !a->covers[c])
			return 0;
	return 1;
}

/* Warns about rule j when an earlier rule decides everything it would. */
static void
check_reachable(struct loader *ld)
{
	struct pol_policy *p = ld->p;
	size_t n = cls_set_count(p->set);

	for (size_t j = 1; j < p->nrules; j++) {
		const struct pol_rule *b = &p->rules[j];

		for (size_t i = 0; i < j; i++) {
			const struct pol_rule *a = &p->rules[i];

			if ((b->dirs & ~a->dirs) == 0 && routes_cover(a, b) &&
			    names_cover(a->roles, a->nroles, b->roles,
			    b->nroles) &&
			    names_cover(a->principals, a->nprincipals,
			    b->principals, b->nprincipals) &&
			    classes_cover(a, b, n)) {
				pol_yaml_warn(ld->rule_nodes[j], ld->errs,
				    "rule '%s' is never used: rule '%s' (line "
				    "%zu) comes first and matches everything "
				    "it matches", b->id, a->id, a->line);
				break;
			}
		}
	}
}

/* Fills rule->covers from its classes or levels, once the set exists. */
static int
resolve_covers(struct pol_policy *p)
{
	size_t n = cls_set_count(p->set);

	for (size_t i = 0; i < p->nrules; i++) {
		struct pol_rule *r = &p->rules[i];

		if (r->classes == NULL && r->levels == 0)
			continue;
		if ((r->covers = calloc(n + 1, 1)) == NULL)
			return -1;
		for (size_t c = 0; c < r->nclasses; c++) {
			int id = cls_set_find(p->set, r->classes[c]);

			if (id >= 0)
				r->covers[id] = 1;
		}
		for (size_t c = 0; r->levels && c < n; c++)
			if (r->levels & (1u << cls_set_class_level(p->set, c)))
				r->covers[c] = 1;
	}
	return 0;
}

static int
parse_doc(struct loader *ld, const struct pol_yaml *doc)
{
	static const char *const top[] = { "default", "classes", "rules",
	    "outreach", NULL };
	const struct pol_yaml_node *root = pol_yaml_root(doc), *x;
	int bad = 0;

	if (root == NULL)
		return 0;
	if (pol_yaml_want_map(root, ld->errs) < 0)
		return -1;
	if (pol_yaml_check_keys(root, top, ld->errs) > 0)
		bad = 1;
	if ((x = pol_yaml_get(root, "default")) != NULL) {
		if (ld->have_default) {
			pol_yaml_error(x, ld->errs, "'default' is already set "
			    "at %s:%zu:%zu", pol_yaml_node_file(
			    ld->default_node), pol_yaml_line(ld->default_node),
			    pol_yaml_col(ld->default_node));
			bad = 1;
		} else if (parse_action(ld, x, NULL, &ld->p->def) < 0)
			bad = 1;
		ld->have_default = 1;
		ld->default_node = x;
	}
	if (parse_classes(ld, pol_yaml_get(root, "classes")) < 0)
		bad = 1;
	if ((x = pol_yaml_get(root, "outreach")) != NULL) {
		const struct pol_yaml_node *k = pol_yaml_key_of(x);

		if (ld->outreach_node != NULL) {
			pol_yaml_error(k, ld->errs, "'outreach' is already set "
			    "at %s:%zu:%zu (one file holds it)",
			    pol_yaml_node_file(ld->outreach_node),
			    pol_yaml_line(ld->outreach_node),
			    pol_yaml_col(ld->outreach_node));
			bad = 1;
		} else {
			ld->outreach_node = k;
			if (pol_or_parse(x, ld->env, ld->errs,
			    &ld->p->outreach) < 0)
				bad = 1;
		}
	}
	return bad ? -1 : 0;
}

static int
parse_rules(struct loader *ld, const struct pol_yaml *doc)
{
	const struct pol_yaml_node *rules = pol_yaml_get(pol_yaml_root(doc),
	    "rules");
	struct pol_policy *p = ld->p;
	int bad = 0;

	if (rules == NULL)
		return 0;
	if (pol_yaml_want_seq(rules, ld->errs) < 0)
		return -1;
	for (size_t i = 0; i < pol_yaml_len(rules); i++) {
		const struct pol_yaml_node *n = pol_yaml_item(rules, i);
		struct pol_rule *nr = realloc(p->rules,
		    (p->nrules + 1) * sizeof(*nr));
		const struct pol_yaml_node **nn = realloc(ld->rule_nodes,
		    (p->nrules + 1) * sizeof(*nn));

		if (nr != NULL)
			p->rules = nr;
		if (nn != NULL)
			ld->rule_nodes = nn;
		if (nr == NULL || nn == NULL)
			return -1;
		memset(&p->rules[p->nrules], 0, sizeof(*nr));
		ld->rule_nodes[p->nrules] = n;
		if (parse_rule(ld, n, &p->rules[p->nrules]) < 0)
			bad = 1;
		for (size_t j = 0; p->rules[p->nrules].id != NULL &&
		    j < p->nrules; j++)
			if (p->rules[j].id != NULL && strcmp(p->rules[j].id,
			    p->rules[p->nrules].id) == 0) {
				pol_yaml_error(pol_yaml_get(n, "id"), ld->errs,
				    "duplicate rule id '%s' (first at line "
				    "%zu)", p->rules[j].id, p->rules[j].line);
				bad = 1;
				break;
			}
		p->nrules++;
	}
	return bad ? -1 : 0;
}

static void
rule_free(struct pol_rule *r)
{
	free(r->routes);
	free(r->roles);
	free(r->principals);
	free(r->classes);
	free(r->covers);
	free(r->bg_principals);
	free(r->bg_roles);
}

void
pol_policy_free(struct pol_policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nrules; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	pol_or_free(p->outreach);
	cls_set_free(p->set);
	for (size_t i = 0; i < p->ndocs; i++)
		pol_yaml_free(p->docs[i]);
	free(p->docs);
	free(p);
}

/* Loads from already-read buffers; the hash covers them in order. */
static struct pol_policy *
load(const char *const *names, const char *const *bufs, const size_t *lens,
    size_t n, const struct pol_env *env, struct pol_errs *errs)
{
	struct loader			 ld;
	struct pol_policy		*p;
	struct pol_errs			*tmp;
	crypto_hash_sha256_state	 st;
	unsigned char			 h[crypto_hash_sha256_BYTES];
	int				 bad = 0;

	memset(&ld, 0, sizeof(ld));
	if ((tmp = pol_errs_new()) == NULL)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->docs = calloc(n + 1, sizeof(*p->docs))) == NULL)
		goto fail;
	ld.p = p;
	ld.env = env;
	ld.errs = tmp;
	pol_act_defaults(&p->def, POL_A_REDACT);
	crypto_hash_sha256_init(&st);
	for (size_t i = 0; i < n; i++) {
		crypto_hash_sha256_update(&st, (const unsigned char *)bufs[i],
		    lens[i]);
		p->docs[i] = pol_yaml_load_mem(names[i], bufs[i], lens[i], tmp);
		if (p->docs[i] == NULL) {
			bad = 1;
			continue;
		}
		p->ndocs = i + 1;
	}
	crypto_hash_sha256_final(&st, h);
	memcpy(p->version, "sha256:", 7);
	sodium_bin2hex(p->version + 7, sizeof(p->version) - 7, h, sizeof(h));
	for (size_t i = 0; i < p->ndocs; i++)
		if (p->docs[i] != NULL && parse_doc(&ld, p->docs[i]) < 0)
			bad = 1;
	/* Pointers into ld.items are final now. */
	for (size_t i = 0; i < ld.ndefs; i++) {
		struct cls_class_def *d = &ld.defs[i];

		d->values = fix(&ld, d->values);
		d->fields = fix(&ld, d->fields);
		d->paths = fix(&ld, d->paths);
		d->regex = fix(&ld, d->regex);
		d->words = fix(&ld, d->words);
		d->in_text = fix(&ld, d->in_text);
	}
	if ((ld.class_names = calloc(ld.ndefs + 1, sizeof(char *))) == NULL)
		goto fail;
	for (size_t i = 0; i < ld.ndefs; i++)
		ld.class_names[i] = ld.defs[i].name;
	for (size_t i = 0; i < p->ndocs; i++)
		if (p->docs[i] != NULL && parse_rules(&ld, p->docs[i]) < 0)
			bad = 1;
	if (ld.ndefs > 0 || !bad) {
		p->set = cls_set_new(ld.defs, ld.ndefs, tmp);
		if (p->set == NULL)
			bad = 1;
	}
	if (!bad && resolve_covers(p) < 0)
		goto fail;
	if (!bad)
		check_reachable(&ld);
	if (pol_errs_count(tmp) > 0)
		bad = 1;
	pol_yaml_move_sorted(errs, tmp);
	pol_errs_free(tmp);
	free(ld.defs);
	free(ld.items);
	free(ld.class_names);
	free(ld.rule_nodes);
	if (bad) {
		pol_policy_free(p);
		return NULL;
	}
	return p;
fail:
	pol_errs_add(errs, POL_ERROR, names && n ? names[0] : "policy", 0, 0,
	    "out of memory");
	pol_errs_free(tmp);
	free(ld.defs);
	free(ld.items);
	free(ld.class_names);
	free(ld.rule_nodes);
	pol_policy_free(p);
	return NULL;
}

static char *
read_file(const char *path, size_t *len, struct pol_errs *errs)
{
	FILE	*f;
	char	*buf = NULL, *nb;
	size_t	 cap = 0, n = 0, r;

	if ((f = fopen(path, "rb")) == NULL) {
		pol_errs_add(errs, POL_ERROR, path, 0, 0, "cannot open: %s",
		    strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			if (cap > POL_YAML_MAX_BYTES + 1 ||
			    (nb = realloc(buf, cap)) == NULL) {
				pol_errs_add(errs, POL_ERROR, path, 0, 0,
				    "too large (at most %u bytes)",
				    POL_YAML_MAX_BYTES);
				goto fail;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		pol_errs_add(errs, POL_ERROR, path, 0, 0, "cannot read: %s",
		    strerror(errno));
		goto fail;
	}
	fclose(f);
	*len = n;
	return buf;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

struct pol_policy *
pol_policy_load(const char *const *files, size_t n, const struct pol_env *env,
    struct pol_errs *errs)
{
	struct pol_policy	*p = NULL;
	char			**bufs;
	size_t			*lens;
	int			 bad = 0;

	bufs = calloc(n + 1, sizeof(*bufs));
	lens = calloc(n + 1, sizeof(*lens));
	if (bufs == NULL || lens == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		if ((bufs[i] = read_file(files[i], &lens[i], errs)) == NULL)
			bad = 1;
	if (!bad)
		p = load(files, (const char *const *)bufs, lens, n, env, errs);
out:
	for (size_t i = 0; bufs != NULL && i < n; i++)
		free(bufs[i]);
	free(bufs);
	free(lens);
	return p;
}

struct pol_policy *
pol_policy_load_mem(const char *name, const char *buf, size_t len,
    const struct pol_env *env, struct pol_errs *errs)
{
	return load(&name, &buf, &len, 1, env, errs);
}

const char *
pol_policy_version(const struct pol_policy *p)
{
	return p->version;
}

const struct cls_set *
pol_policy_classes(const struct pol_policy *p)
{
	return p->set;
}

size_t
pol_policy_nrules(const struct pol_policy *p)
{
	return p->nrules;
}

const char *
pol_policy_rule_id(const struct pol_policy *p, size_t i)
{
	return i < p->nrules ? p->rules[i].id : NULL;
}
