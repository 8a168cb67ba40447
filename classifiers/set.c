/* classifiers/set.c — building a set of classes from their definitions and
 * classifying one field against it. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/internal.h"
#include "policies/errs.h"

static const char *const kind_name[CLS_K_COUNT] = {
	"email", "phone", "cn_mobile", "cn_resident_id", "payment_card", "iban",
	"us_ssn", "cn_uscc", "ipv4", "ipv6", "name", "address", "birth_date",
};
static const char *const det_value[CLS_K_NVALUE] = {
	"value:email", "value:phone", "value:cn_mobile", "value:cn_resident_id",
	"value:payment_card", "value:iban", "value:us_ssn", "value:cn_uscc",
	"value:ipv4", "value:ipv6",
};
static const char *const det_field[CLS_K_COUNT] = {
	"field:email", "field:phone", "field:cn_mobile", "field:cn_resident_id",
	"field:payment_card", "field:iban", "field:us_ssn", "field:cn_uscc",
	"field:ipv4", "field:ipv6", "field:name", "field:address",
	"field:birth_date",
};
static const char *const det_text[CLS_K_NVALUE] = {
	"text:email", "text:phone", "text:cn_mobile", "text:cn_resident_id",
	"text:payment_card", "text:iban", "text:us_ssn", "text:cn_uscc",
	"text:ipv4", "text:ipv6",
};
/* Levels of the built-in set used by `custos classify` without a config. */
static const enum cls_level kind_level[CLS_K_COUNT] = {
	CLS_RESTRICTED, CLS_RESTRICTED, CLS_RESTRICTED, CLS_SECRET, CLS_SECRET,
	CLS_SECRET, CLS_SECRET, CLS_CONFIDENTIAL, CLS_CONFIDENTIAL,
	CLS_CONFIDENTIAL, CLS_CONFIDENTIAL, CLS_RESTRICTED, CLS_RESTRICTED,
};

static const char *const level_names[] = {
	"public", "internal", "confidential", "restricted", "secret",
};
static const char *const conf_names[] = { "none", "low", "medium", "high" };

const char *
cls_level_name(enum cls_level l)
{
	return (unsigned)l < 5 ? level_names[l] : "unknown";
}

int
cls_level_parse(const char *s)
{
	for (int i = 0; i < 5; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

const char *
cls_conf_name(enum cls_conf c)
{
	return (unsigned)c < 4 ? conf_names[c] : "unknown";
}

int
cls_conf_parse(const char *s)
{
	for (int i = 1; i < 4; i++)
		if (strcmp(s, conf_names[i]) == 0)
			return i;
	return -1;
}

int
cls_detector_find(const char *name, size_t len)
{
	for (int k = 0; k < CLS_K_COUNT; k++)
		if (strlen(kind_name[k]) == len && memcmp(kind_name[k], name, len) == 0)
			return k;
	return -1;
}

int
cls_detector_is_value(int k)
{
	return k >= 0 && k < CLS_K_NVALUE;
}

const char *
cls_detector_name(int k)
{
	return k >= 0 && k < CLS_K_COUNT ? kind_name[k] : NULL;
}

size_t
cls_detector_count(void)
{
	return CLS_K_COUNT;
}

/* --- the set ------------------------------------------------------------ */

struct word {
	char		*w;		/* lower-cased when ascii */
	size_t		 len;
	int		 ascii;
};

struct cls_class {
	char			*name;
	enum cls_level		 level;
	enum cls_conf		 min_conf;
	uint32_t		 value_kinds;	/* values: */
	uint32_t		 field_kinds;	/* dictionaries in use */
	uint32_t		 text_kinds;	/* in_text: */
	char			*det_field;	/* "field:NAME" (literal names) */
	char			*det_path;
	char			*det_regex;
	char			*det_words;
	struct cls_glob		**globs;
	char			**glob_ev;	/* "path:GLOB" */
	size_t			 nglobs;
	pcre2_code		**re;
	size_t			 nre;
	struct word		*words;
	size_t			 nwords;
	int			 slow;		/* in set->slow */
};

struct cls_set {
	struct cls_class	*classes;
	size_t			 n;
	struct cls_names	*names;
	uint32_t		 value_mask;	/* union of value_kinds */
	uint32_t		 text_mask;	/* union of text_kinds */
	uint64_t		 serial;	/* unique per set, never 0 */
	/* Classes with path globs, regexes or words, ascending: cls_classify
	 * looks at them for every field; quick_text is the union of the
	 * other classes' text_kinds. Set by cls_set_new. */
	uint32_t		*slow;
	size_t			 nslow;
	uint32_t		 quick_text;
};

/*
 * Serial numbers of sets, so that a scratch can tell sets apart: an address
 * may be reused by the next set after a reload, a serial never is. The one
 * writer is cls_set_new (atomically: sets are built on any thread).
 */
static uint64_t set_serials;

/*
 * FIELD-NAME MEMO (in the scratch: one thread). A body repeats the same few
 * member names in every element of its arrays, and looking a name up
 * (normalising it, then probing for the whole name, each of its words and
 * its suffixes) costs more than the rest of classifying most fields. The
 * result is a pure function of the set's name table (immutable) and the
 * name's bytes, so the scratch keeps recent results: placed by a hash of
 * the bytes (four ways per set of slots, so that the names of one element
 * do not evict each other), keyed by the bytes themselves (never by
 * pointer: the rewriter reuses one buffer for every element's keys) and by
 * the set's serial. An entry is valid while its set lives; one of a freed
 * set is never hit again and is simply overwritten. Names longer than
 * NM_MAXLEN are looked up each time.
 */
#define NM_SETS		128		/* power of two */
#define NM_WAYS		4
#define NM_MAXLEN	40

struct name_memo {
	uint64_t	 serial;	/* 0: empty */
	const uint32_t	*lit;		/* borrowed from the set's table */
	size_t		 nlit;
	uint32_t	 kinds;
	uint8_t		 len;
	char		 name[NM_MAXLEN];
};

struct cls_scratch {
	pcre2_match_data	*md;
	struct name_memo	 names[NM_SETS][NM_WAYS];
	uint8_t			 victim[NM_SETS];	/* next way replaced */
};

struct cls_scratch *
cls_scratch_new(void)
{
	struct cls_scratch *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	/* one pair is enough: only the whole match is read */
	if ((s->md = pcre2_match_data_create(1, NULL)) == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

void
cls_scratch_free(struct cls_scratch *s)
{
	if (s == NULL)
		return;
	pcre2_match_data_free(s->md);
	free(s);
}

static void
class_clear(struct cls_class *c)
{
	free(c->name);
	free(c->det_field);
	free(c->det_path);
	free(c->det_regex);
	free(c->det_words);
	for (size_t i = 0; i < c->nglobs; i++) {
		cls_glob_free(c->globs[i]);
		free(c->glob_ev[i]);
	}
	free(c->globs);
	free(c->glob_ev);
	for (size_t i = 0; i < c->nre; i++)
		pcre2_code_free(c->re[i]);
	free(c->re);
	for (size_t i = 0; i < c->nwords; i++)
		free(c->words[i].w);
	free(c->words);
}

void
cls_set_free(struct cls_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++)
		class_clear(&set->classes[i]);
	free(set->classes);
	free(set->slow);
	cls_names_free(set->names);
	free(set);
}

static char *
prefixed(const char *pre, const char *s)
{
	size_t a = strlen(pre), b = strlen(s);
	char *p;

	if ((p = malloc(a + b + 1)) == NULL)
		return NULL;
	memcpy(p, pre, a);
	memcpy(p + a, s, b + 1);
	return p;
}

static const char *
src_file(const struct cls_src *s)
{
	return s->file != NULL ? s->file : "<policy>";
}

/* Adds one word (trimmed; empty ones are skipped). -1 on allocation failure. */
static int
add_word(struct cls_class *c, size_t *cap, const char *w, size_t len)
{
	struct word *nw;
	char *p;
	int ascii = 1;

	while (len > 0 && (*w == ' ' || *w == '\t'))
		w++, len--;
	while (len > 0 && (w[len - 1] == ' ' || w[len - 1] == '\t' ||
	    w[len - 1] == '\r' || w[len - 1] == '\n'))
		len--;
	if (len == 0 || *w == '#')
		return 0;
	if (c->nwords == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		if ((nw = realloc(c->words, *cap * sizeof(*nw))) == NULL)
			return -1;
		c->words = nw;
	}
	if ((p = malloc(len + 1)) == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)w[i];

		if (ch >= 0x80)
			ascii = 0;
		p[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch | 0x20 : ch);
	}
	p[len] = '\0';
	c->words[c->nwords].w = p;
	c->words[c->nwords].len = len;
	c->words[c->nwords++].ascii = ascii;
	return 0;
}

/* Builds class i. Returns -1 on allocation failure; definition errors go to
 * errs and bump *nerr. */
static int
class_build(struct cls_set *set, size_t id, const struct cls_class_def *d,
    struct pol_errs *errs, size_t *nerr)
{
	struct cls_class *c = &set->classes[id];
	size_t wcap = 0;
	int k;

	if ((c->name = strdup(d->name)) == NULL)
		return -1;
	c->level = d->level;
	c->min_conf = d->min_confidence ? d->min_confidence : CLS_CONF_LOW;
	if ((c->det_field = prefixed("field:", d->name)) == NULL ||
	    (c->det_path = prefixed("path:", d->name)) == NULL ||
	    (c->det_regex = prefixed("regex:", d->name)) == NULL ||
	    (c->det_words = prefixed("words:", d->name)) == NULL)
		return -1;
	if ((unsigned)d->level > CLS_SECRET) {
		pol_errs_add(errs, POL_ERROR, src_file(&d->src), d->src.line,
		    d->src.col, "class %s: unknown level", d->name);
		(*nerr)++;
	}
	for (size_t i = 0; i < d->nvalues; i++) {
		const struct cls_item *it = &d->values[i];

		k = cls_detector_find(it->text, strlen(it->text));
		if (!cls_detector_is_value(k)) {
			pol_errs_add(errs, POL_ERROR, src_file(&it->src),
			    it->src.line, it->src.col, k < 0 ?
			    "unknown value detector \"%s\" (email, phone, cn_mobile, "
			    "cn_resident_id, payment_card, iban, us_ssn, cn_uscc, "
			    "ipv4, ipv6)" : "\"%s\" is a field dictionary, not a "
			    "value detector: list it under fields", it->text);
			(*nerr)++;
			continue;
		}
		c->value_kinds |= CLS_KBIT(k);
		c->field_kinds |= CLS_KBIT(k);
	}
	for (size_t i = 0; i < d->nin_text; i++) {
		const struct cls_item *it = &d->in_text[i];

		k = cls_detector_find(it->text, strlen(it->text));
		if (!cls_detector_is_value(k)) {
			pol_errs_add(errs, POL_ERROR, src_file(&it->src),
			    it->src.line, it->src.col,
			    "unknown in_text detector \"%s\"", it->text);
			(*nerr)++;
			continue;
		}
		c->text_kinds |= CLS_KBIT(k);
	}
	for (size_t i = 0; i < d->nfields; i++) {
		const struct cls_item *it = &d->fields[i];

		k = cls_detector_find(it->text, strlen(it->text));
		if (k >= 0)
			c->field_kinds |= CLS_KBIT(k);
		if (it->text[0] == '\0') {
			pol_errs_add(errs, POL_ERROR, src_file(&it->src),
			    it->src.line, it->src.col, "empty field name");
			(*nerr)++;
			continue;
		}
		if (cls_names_add(set->names, it->text, strlen(it->text),
		    (uint32_t)id) == -1)
			return -1;
	}
	if (d->npaths > 0) {
		if ((c->globs = calloc(d->npaths, sizeof(*c->globs))) == NULL ||
		    (c->glob_ev = calloc(d->npaths, sizeof(*c->glob_ev))) == NULL)
			return -1;
	}
	for (size_t i = 0; i < d->npaths; i++) {
		const struct cls_item *it = &d->paths[i];
		const char *err;
		size_t pos;
		struct cls_glob *g = cls_glob_compile(it->text, &err, &pos);

		if (g == NULL && err == NULL)
			return -1;
		if (g == NULL) {
			pol_errs_add(errs, POL_ERROR, src_file(&it->src),
			    it->src.line, it->src.col + pos,
			    "bad path glob \"%s\": %s", it->text, err);
			(*nerr)++;
			continue;
		}
		c->globs[c->nglobs] = g;
		if ((c->glob_ev[c->nglobs++] = prefixed("path:", it->text)) == NULL)
			return -1;
	}
	if (d->nregex > 0 &&
	    (c->re = calloc(d->nregex, sizeof(*c->re))) == NULL)
		return -1;
	for (size_t i = 0; i < d->nregex; i++) {
		const struct cls_item *it = &d->regex[i];
		int ec;
		PCRE2_SIZE off;
		PCRE2_UCHAR msg[160];
		pcre2_code *re;

		re = pcre2_compile((PCRE2_SPTR)it->text, PCRE2_ZERO_TERMINATED,
		    PCRE2_UTF, &ec, &off, NULL);
		if (re == NULL) {
			if (ec == PCRE2_ERROR_NOMEMORY)
				return -1;
			pcre2_get_error_message(ec, msg, sizeof(msg));
			pol_errs_add(errs, POL_ERROR, src_file(&it->src),
			    it->src.line, it->src.col + off,
			    "bad regex: %s at offset %zu", (const char *)msg,
			    (size_t)off);
			(*nerr)++;
			continue;
		}
		/* without JIT (unsupported CPU) the interpreter still works */
		(void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
		c->re[c->nre++] = re;
	}
	for (size_t i = 0; i < d->nwords; i++) {
		const struct cls_item *it = &d->words[i];

		if (it->text[0] == '@') {
			FILE *f = fopen(it->text + 1, "r");
			char line[512];

			if (f == NULL) {
				pol_errs_add(errs, POL_ERROR, src_file(&it->src),
				    it->src.line, it->src.col,
				    "cannot read word list %s: %s", it->text + 1,
				    strerror(errno));
				(*nerr)++;
				continue;
			}
			while (fgets(line, sizeof(line), f) != NULL)
				if (add_word(c, &wcap, line, strlen(line)) == -1) {
					fclose(f);
					return -1;
				}
			fclose(f);
		} else if (add_word(c, &wcap, it->text, strlen(it->text)) == -1)
			return -1;
	}
	if (c->value_kinds == 0 && c->field_kinds == 0 && d->nfields == 0 &&
	    c->nglobs == 0 && c->nre == 0 && c->nwords == 0 &&
	    c->text_kinds == 0 && d->nvalues + d->nin_text + d->npaths +
	    d->nregex + d->nwords == 0) {
		pol_errs_add(errs, POL_ERROR, src_file(&d->src), d->src.line,
		    d->src.col, "class %s has no detectors", d->name);
		(*nerr)++;
	}
	set->value_mask |= c->value_kinds;
	set->text_mask |= c->text_kinds;
	return 0;
}

struct cls_set *
cls_set_new(const struct cls_class_def *defs, size_t n, struct pol_errs *errs)
{
	struct cls_set *set;
	size_t nerr = 0;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		return NULL;
	set->serial = __atomic_add_fetch(&set_serials, 1, __ATOMIC_RELAXED);
	if (n > CLS_MAX_CLASSES) {
		pol_errs_add(errs, POL_ERROR, src_file(&defs[CLS_MAX_CLASSES].src),
		    defs[CLS_MAX_CLASSES].src.line, defs[CLS_MAX_CLASSES].src.col,
		    "too many classes (at most %d)", CLS_MAX_CLASSES);
		goto fail;
	}
	if ((set->names = cls_names_new()) == NULL)
		goto fail;
	if (n > 0 && (set->classes = calloc(n, sizeof(*set->classes))) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (defs[i].name == NULL || defs[i].name[0] == '\0') {
			pol_errs_add(errs, POL_ERROR, src_file(&defs[i].src),
			    defs[i].src.line, defs[i].src.col,
			    "a class needs a name");
			nerr++;
			set->n++;
			if ((set->classes[i].name = strdup("")) == NULL)
				goto fail;
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (defs[j].name != NULL &&
			    strcmp(defs[j].name, defs[i].name) == 0) {
				pol_errs_add(errs, POL_ERROR,
				    src_file(&defs[i].src), defs[i].src.line,
				    defs[i].src.col, "class %s defined twice",
				    defs[i].name);
				nerr++;
				break;
			}
		set->n++;
		if (class_build(set, i, &defs[i], errs, &nerr) == -1)
			goto fail;
	}
	if (nerr > 0)
		goto fail;
	if (cls_names_seal(set->names) == -1)
		goto fail;
	if (n > 0 && (set->slow = calloc(n, sizeof(*set->slow))) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		struct cls_class *c = &set->classes[i];

		c->slow = c->nglobs != 0 || c->nre != 0 || c->nwords != 0;
		if (c->slow)
			set->slow[set->nslow++] = (uint32_t)i;
		else
			set->quick_text |= c->text_kinds;
	}
	return set;
fail:
	cls_set_free(set);
	return NULL;
}

struct cls_set *
cls_set_builtin(void)
{
	struct cls_class_def defs[CLS_K_COUNT];
	struct cls_item items[CLS_K_COUNT];

	memset(defs, 0, sizeof(defs));
	memset(items, 0, sizeof(items));
	for (int k = 0; k < CLS_K_COUNT; k++) {
		items[k].text = kind_name[k];
		items[k].src.file = "<built-in>";
		defs[k].name = kind_name[k];
		defs[k].level = kind_level[k];
		defs[k].src.file = "<built-in>";
		if (k < CLS_K_NVALUE) {
			defs[k].values = &items[k];
			defs[k].nvalues = 1;
			defs[k].in_text = &items[k];
			defs[k].nin_text = 1;
		} else {
			defs[k].fields = &items[k];
			defs[k].nfields = 1;
		}
	}
	return cls_set_new(defs, CLS_K_COUNT, NULL);
}

size_t
cls_set_count(const struct cls_set *set)
{
	return set->n;
}

int
cls_set_find(const struct cls_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->classes[i].name, name) == 0)
			return (int)i;
	return -1;
}

const char *
cls_set_class_name(const struct cls_set *set, size_t id)
{
	return id < set->n ? set->classes[id].name : NULL;
}

enum cls_level
cls_set_class_level(const struct cls_set *set, size_t id)
{
	return id < set->n ? set->classes[id].level : CLS_PUBLIC;
}

/* --- classifying -------------------------------------------------------- */

/* The best whole-field finding of one class so far. */
struct cand {
	enum cls_conf	 conf;
	const char	*det;
	const char	*ev[CLS_MAX_EVIDENCE];
	size_t		 nev;
};

static void
ev_add(struct cand *c, const char *e)
{
	/* evidence strings are static or owned by the set: one pointer each */
	for (size_t i = 0; i < c->nev; i++)
		if (c->ev[i] == e)
			return;
	if (c->nev < CLS_MAX_EVIDENCE)
		c->ev[c->nev++] = e;
}

/* Offers a finding; the most confident one names the detector, and the
 * evidence of every finding is kept while there is room. */
static void
offer(struct cand *c, enum cls_conf conf, const char *det, const char *e1,
    const char *e2, const char *e3)
{
	if (conf > c->conf) {
		struct cand old = *c;

		c->conf = conf;
		c->det = det;
		c->nev = 0;
		if (e1 != NULL)
			ev_add(c, e1);
		if (e2 != NULL)
			ev_add(c, e2);
		if (e3 != NULL)
			ev_add(c, e3);
		for (size_t i = 0; i < old.nev; i++)
			ev_add(c, old.ev[i]);
		return;
	}
	if (e1 != NULL)
		ev_add(c, e1);
}

static int
words_match(const struct cls_class *c, const char *p, size_t n)
{
	for (size_t i = 0; i < c->nwords; i++) {
		const struct word *w = &c->words[i];

		if (w->len > n)
			continue;
		for (size_t j = 0; j + w->len <= n; j++) {
			size_t k;

			for (k = 0; k < w->len; k++) {
				unsigned char ch = (unsigned char)p[j + k];

				if (w->ascii && ch >= 'A' && ch <= 'Z')
					ch |= 0x20;
				if (ch != (unsigned char)w->w[k])
					break;
			}
			if (k < w->len)
				continue;
			if (!w->ascii)
				return 1;
			if ((j == 0 || !((p[j - 1] | 0x20) >= 'a' &&
			    (p[j - 1] | 0x20) <= 'z') ) &&
			    (j + k == n || !((p[j + k] | 0x20) >= 'a' &&
			    (p[j + k] | 0x20) <= 'z')))
				return 1;
		}
	}
	return 0;
}

/* A regex search; an error other than "no match" (a match limit, say)
 * counts as a match so that a field is never let through by accident. */
static int
regex_match(const pcre2_code *re, struct cls_scratch *scr, const char *p,
    size_t n)
{
	pcre2_match_data *md = scr != NULL ? scr->md :
	    pcre2_match_data_create(1, NULL);
	int rc;

	if (md == NULL)
		return 1;
	rc = pcre2_match(re, (PCRE2_SPTR)p, n, 0, 0, md, NULL);
	if (scr == NULL)
		pcre2_match_data_free(md);
	return rc >= 0 || rc != PCRE2_ERROR_NOMATCH;
}

struct span_ctx {
	const struct cls_set	*set;
	const uint8_t		*eligible;	/* per class: may take spans */
	struct cls_match	*out;
	size_t			 cap, count;
};

static void
span_emit(void *ud, int kind, size_t start, size_t end,
    const struct cls_vhit *h)
{
	struct span_ctx *x = ud;

	for (size_t i = 0; i < x->set->n; i++) {
		const struct cls_class *c = &x->set->classes[i];
		struct cls_match *m;

		size_t j;

		if (!x->eligible[i] || !(c->text_kinds & CLS_KBIT(kind)) ||
		    h->conf < c->min_conf)
			continue;
		/* one match per class and span: a span found by several of
		 * the class's detectors (phone, cn_mobile) adds evidence */
		for (j = x->count < x->cap ? x->count : x->cap; j > 0; j--) {
			m = &x->out[j - 1];
			if (!m->span || m->start != start)
				break;
			if (m->class_id == i && m->end == end)
				break;
		}
		if (j > 0 && x->out[j - 1].span && x->out[j - 1].start == start &&
		    x->out[j - 1].class_id == i && x->out[j - 1].end == end) {
			m = &x->out[j - 1];
			if (h->conf > m->confidence)
				m->confidence = h->conf;
			if (m->nevidence < CLS_MAX_EVIDENCE)
				m->evidence[m->nevidence++] = det_text[kind];
			continue;
		}
		if (x->count++ >= x->cap)
			continue;
		m = &x->out[x->count - 1];
		m->class_id = i;
		m->class_name = c->name;
		m->level = c->level;
		m->detector = det_text[kind];
		m->confidence = h->conf;
		m->span = 1;
		m->start = start;
		m->end = end;
		m->nevidence = 0;
		m->evidence[m->nevidence++] = det_text[kind];
		for (size_t e = 0; e < h->nev && m->nevidence < CLS_MAX_EVIDENCE; e++)
			m->evidence[m->nevidence++] = h->ev[e];
	}
}

/* cls_names_lookup through the scratch's memo (see struct name_memo). */
static uint32_t
names_lookup(const struct cls_set *set, struct cls_scratch *scr,
    const char *name, size_t len, const uint32_t **lit, size_t *nlit)
{
	struct name_memo	*e;
	uint32_t		 kinds, si;

	if (scr == NULL || name == NULL || len == 0 || len > NM_MAXLEN)
		return cls_names_lookup(set->names, name, len, lit, nlit);
	si = (uint32_t)(cls_hash_bytes(0, name, len) >> 40) & (NM_SETS - 1);
	for (int i = 0; i < NM_WAYS; i++) {
		e = &scr->names[si][i];
		if (e->serial == set->serial && e->len == len &&
		    cls_same_bytes(e->name, name, len)) {
			*lit = e->lit;
			*nlit = e->nlit;
			return e->kinds;
		}
	}
	kinds = cls_names_lookup(set->names, name, len, lit, nlit);
	e = &scr->names[si][scr->victim[si]];
	scr->victim[si] = (uint8_t)((scr->victim[si] + 1) % NM_WAYS);
	e->serial = set->serial;
	e->lit = *lit;
	e->nlit = *nlit;
	e->kinds = kinds;
	e->len = (uint8_t)len;
	memcpy(e->name, name, len);
	return kinds;
}

size_t
cls_classify(const struct cls_set *set, struct cls_scratch *scr,
    const struct cls_field *f, struct cls_match *out, size_t cap)
{
	struct cls_vhit hits[CLS_K_NVALUE];
	uint8_t eligible[CLS_MAX_CLASSES];
	const uint32_t *lit = NULL;
	const char *p = f->value;
	size_t n = f->len, nlit = 0, count = 0, nvisit;
	uint32_t fk, found = 0, tmask = 0;
	int number = f->type == CLS_V_NUMBER, whole = 0, disamb, quick;

	while (n > 0 && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++, n--;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' ||
	    p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	if (n == 0)
		return 0;	/* nothing to protect */
	fk = names_lookup(set, scr, f->name, f->name != NULL ? f->name_len : 0,
	    &lit, &nlit);
	if (set->value_mask != 0)
		found = cls_values_detect(p, n, number, 1, set->value_mask,
		    hits);
	/* a value that is one identifier as a whole holds no spans of others
	 * (an IBAN's digits are not a phone number) */
	for (uint32_t vk = found; vk != 0; vk &= vk - 1)
		if (!hits[__builtin_ctz(vk)].weak)
			whole = 1;
	/* When the field name and a validated value agree on one kind, a value
	 * that also validates as another kind (a 15-digit ID that passes Luhn
	 * as an Amex number) is that other kind only with low confidence. */
	disamb = (found & fk & CLS_VALUE_KINDS) != 0;
	/*
	 * A class without path globs, regexes or words (not c->slow) can only
	 * match when the name or the value names one of its kinds or the
	 * name is listed literally; without any of these (quick: most
	 * fields) every such class takes the quick test below, so only the
	 * slow classes are visited, and the others' outcome is applied after
	 * the loop. The matches come out in class order either way.
	 */
	quick = fk == 0 && found == 0 && nlit == 0;
	nvisit = quick ? set->nslow : set->n;
	for (size_t v = 0; v < nvisit; v++) {
		size_t i = quick ? set->slow[v] : v;
		const struct cls_class *c = &set->classes[i];
		struct cand cd;
		uint32_t fhit = fk & c->field_kinds, vk;
		int literal = 0, support, pathhit = 0;

		/* the common case: nothing of this class can match here */
		if (fhit == 0 && (c->value_kinds & found) == 0 && nlit == 0 &&
		    !c->slow) {
			eligible[i] = c->text_kinds != 0 && !number && !whole;
			if (eligible[i])
				tmask |= c->text_kinds;
			continue;
		}
		cd.conf = CLS_CONF_NONE;
		cd.det = NULL;
		cd.nev = 0;

		for (size_t j = 0; j < nlit; j++)
			if (lit[j] == i)
				literal = 1;
		support = fhit != 0 || literal;
		for (vk = c->value_kinds & found; vk != 0; vk &= vk - 1) {
			int k = __builtin_ctz(vk);
			const struct cls_vhit *h = &hits[k];
			enum cls_conf conf = h->conf;

			if (h->weak && !support)
				continue;
			if (support)
				conf = CLS_CONF_HIGH;
			else if (disamb && !(fk & CLS_KBIT(k)))
				conf = CLS_CONF_LOW;
			offer(&cd, conf, det_value[k], support ? (fhit &
			    CLS_KBIT(k) ? det_field[k] : c->det_field) : NULL,
			    det_value[k], h->ev[0]);
			if (h->nev > 1)
				ev_add(&cd, h->ev[1]);
		}
		if (cd.conf == 0 && fhit != 0) {
			int k = __builtin_ctz(fhit);
			enum cls_conf conf = CLS_CONF_MEDIUM;

			if (k < CLS_K_NVALUE && (!cls_value_plausible(k, p, n) ||
			    (disamb && !(fhit & found))))
				conf = CLS_CONF_LOW;
			offer(&cd, conf, det_field[k], det_field[k], NULL, NULL);
		} else if (cd.conf == 0 && literal)
			offer(&cd, CLS_CONF_MEDIUM, c->det_field, c->det_field,
			    NULL, NULL);
		for (size_t j = 0; j < c->nglobs && !pathhit; j++)
			if (cls_glob_match(c->globs[j], f->path)) {
				pathhit = 1;
				if (c->text_kinds == 0)
					offer(&cd, CLS_CONF_HIGH, c->det_path,
					    c->glob_ev[j], NULL, NULL);
			}
		for (size_t j = 0; j < c->nre; j++)
			if (regex_match(c->re[j], scr, p, n)) {
				offer(&cd, support || pathhit ? CLS_CONF_HIGH :
				    CLS_CONF_MEDIUM, c->det_regex, c->det_regex,
				    NULL, NULL);
				break;
			}
		if (c->nwords > 0 && words_match(c, p, n))
			offer(&cd, support ? CLS_CONF_HIGH : CLS_CONF_MEDIUM,
			    c->det_words, c->det_words, NULL, NULL);
		/* spans are looked for where the class found nothing whole and
		 * its path globs (if any) match */
		eligible[i] = cd.conf == 0 && c->text_kinds != 0 && !number &&
		    !whole &&
		    (c->nglobs == 0 || pathhit);
		if (eligible[i])
			tmask |= c->text_kinds;
		if (cd.conf == 0 || cd.conf < c->min_conf)
			continue;
		if (count++ < cap) {
			struct cls_match *m = &out[count - 1];

			m->class_id = i;
			m->class_name = c->name;
			m->level = c->level;
			m->detector = cd.det;
			m->confidence = cd.conf;
			m->span = 0;
			m->start = 0;
			m->end = f->len;
			m->nevidence = cd.nev;
			memcpy(m->evidence, cd.ev, sizeof(m->evidence));
		}
	}
	/* the classes the quick case did not visit: the quick test's outcome
	 * (eligible is read only when there are spans to look for) */
	if (quick && !number && !whole)
		tmask |= set->quick_text;
	if (quick && tmask != 0)
		for (size_t i = 0; i < set->n; i++)
			if (!set->classes[i].slow)
				eligible[i] = set->classes[i].text_kinds != 0 &&
				    !number && !whole;
	/* spans need a digit, '@' or ':' (all detectors' values do) */
	if (tmask != 0 && !whole) {
		size_t j;

		for (j = 0; j < f->len; j++) {
			unsigned char ch = (unsigned char)f->value[j];

			if ((ch >= '0' && ch <= '9') || ch == '@' || ch == ':')
				break;
		}
		if (j == f->len)
			tmask = 0;
	}
	if (tmask != 0) {
		struct span_ctx x = { set, eligible, out, cap, count };

		cls_text_scan(f->value, f->len, tmask, span_emit, &x);
		count = x.count;
	}
	return count;
}
