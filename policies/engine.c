/* policies/engine.c — deciding each classified field of a body under the
 * policy, applying the action, and folding the decisions for the audit log. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "keys/keys.h"
#include "policies/internal.h"

#define POL_MAX_MATCHES	32		/* matches looked at per field */

/*
 * PER-BODY CACHES. Every element of a body's arrays repeats the same member
 * names, so most classified fields of a body share a few folded paths
 * ($.customers[*].email twenty times) and decisions. Three tables of the
 * pol_eval (one body, one thread; all valid for the eval's whole life,
 * since nothing they are keyed by can change meaning within it) keep the
 * engine from formatting, hashing and comparing path text per field:
 *
 *  strs   every folded path text the body needed (for a decision or the
 *         override hook), interned: two sids are equal exactly when their
 *         texts are. Owned by the eval; a text never moves once interned,
 *         so decisions point at it. Bounded: interning happens for a path
 *         cache entry (at most PC_MAX) or for a decision recorded before
 *         the POL_MAX_DECISIONS cap (each new text makes a new decision).
 *  paths  the segments of a field's path (each member key's bytes, or "an
 *         array element": indices fold to [*]) -> the sid of its folded
 *         text. Keyed by content, never by pointer: the rewriter keeps its
 *         keys in one buffer that every element reuses. The folded text is
 *         a function of the segments alone. At most PC_MAX entries, paths of
 *         at most PC_MAXSEGS segments and PC_MAXBYTES key bytes in all;
 *         other paths are formatted each time they are needed.
 *  dht    (sid, class, rule, action, override, break glass) -> decision;
 *         the same key as the folded path text with the text replaced by
 *         its sid. sid_dec remembers per sid the decision last found for
 *         it, tried first: a path's fields are usually of one class and
 *         rule.
 *
 * Classifier-side caches (field names) live in the cls_scratch.
 */
#define PC_MAX		2048
#define PC_MAXSEGS	32
#define PC_MAXBYTES	(256u * 1024)
#define NOID		UINT32_MAX	/* no sid (not interned) */
#define SEG_ARRAY	UINT32_MAX	/* encoded length of an array segment */

/* What a class decides under this body's context; resolved on first use. */
struct eval_class {
	int			 done;
	int			 rule;		/* -1: the default */
	const struct pol_act	*act;
	enum pol_bg		 bg;
};

/* Storage a decision's strings point into; allocated once per decision so
 * that the pointers stay put while the decision array grows. */
struct dec_own {
	uint64_t	 hash;
	uint32_t	 sid;		/* the folded path */
	size_t		 class_id;
	int		 rule;
	enum cls_conf	 conf;		/* d->confidence, as a level */
	char		 fps[POL_MAX_FPS][KEYS_FP_LEN + 1];
	char		 text[];	/* id NUL */
};

/* A path cache entry: <nseg> segments encoded at pbytes + off, each a
 * uint32_t length (SEG_ARRAY: an array element) then the key's bytes. */
struct path_ent {
	uint64_t	 hash;
	size_t		 off;
	uint32_t	 nseg;
	uint32_t	 sid;
};

/* A growable open-addressing table of indices (+ 1; 0 is empty) into an
 * array that holds the keys and their hashes. */
struct itab {
	uint32_t	*slot;
	uint32_t	 size;		/* 0 or a power of two */
	uint32_t	 used;
};

struct pol_eval {
	const struct pol_policy	*p;
	struct pol_ctx		 ctx;
	const struct keys_ring	*ring;
	struct cls_scratch	*scratch;
	unsigned		 method;
	uint8_t			*active;	/* per rule */
	enum pol_bg		*bg;		/* per rule */
	struct eval_class	*cls;		/* per class */
	char			*out, *tmp, *path;
	size_t			 outcap, tmpcap, pathcap;
	/* the field being decided (during pol_eval_field) and its folded
	 * path, found on first use: cur_path is its text, cur_sid its sid or
	 * NOID when not interned yet */
	const struct cls_field	*field;
	int			 path_ready;
	const char		*cur_path;
	uint32_t		 cur_sid;
	/* interned folded paths */
	char			**strs;
	uint64_t		*strh;
	uint32_t		*sid_dec;	/* per sid: the decision last
						 * found for it, NOID: none */
	uint32_t		 nstrs, capstrs;
	struct itab		 sht;
	uint32_t		 all_sid;	/* "$.**", NOID until needed */
	/* the path cache */
	struct path_ent		*pe;
	uint32_t		 npe, cappe;
	struct itab		 pht;
	char			*pbytes;
	size_t			 npbytes, cappbytes;
	/* folded decisions */
	struct pol_decision	*d;
	struct dec_own		**own;
	size_t			 nd, capd;
	struct itab		 dht;
	const char		*denied;
	struct cls_match	 m[POL_MAX_MATCHES];
};

static int
in_list(const char *const *v, size_t n, const char *s)
{
	if (s == NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return 1;
	return 0;
}

static int
any_in_list(const char *const *v, size_t n, const char *const *s, size_t ns)
{
	for (size_t i = 0; i < ns; i++)
		if (in_list(v, n, s[i]))
			return 1;
	return 0;
}

/* A request's method bit; "*" is a pattern, never a request's method. */
static unsigned
method_of(const char *m)
{
	if (m == NULL || strcmp(m, "*") == 0)
		return 0;
	return pol_method_bit(m, strlen(m));
}

/* Does rule r apply to this body at all (everything but classes)? */
static int
rule_active(const struct pol_eval *ev, const struct pol_rule *r)
{
	const struct pol_ctx *c = &ev->ctx;

	if ((r->dirs & c->dir) == 0)
		return 0;
	if (r->roles != NULL && !any_in_list((const char *const *)r->roles,
	    r->nroles, c->roles, c->nroles))
		return 0;
	if (r->principals != NULL && !in_list((const char *const *)
	    r->principals, r->nprincipals, c->principal))
		return 0;
	if (r->routes != NULL) {
		size_t i;

		for (i = 0; i < r->nroutes; i++)
			if ((r->routes[i].methods & ev->method) &&
			    c->path != NULL && pol_glob_match(r->routes[i].path,
			    c->path, c->path_len))
				break;
		if (i == r->nroutes)
			return 0;
	}
	return 1;
}

struct pol_eval *
pol_eval_new(const struct pol_policy *p, const struct pol_ctx *ctx,
    const struct keys_ring *ring, struct cls_scratch *scratch)
{
	struct pol_eval *ev;
	size_t nc = cls_set_count(p->set);

	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return NULL;
	ev->p = p;
	ev->ctx = *ctx;
	ev->ring = ring;
	ev->scratch = scratch;
	ev->method = method_of(ctx->method);
	ev->all_sid = NOID;
	if ((ev->active = calloc(p->nrules + 1, 1)) == NULL ||
	    (ev->bg = calloc(p->nrules + 1, sizeof(*ev->bg))) == NULL ||
	    (ev->cls = calloc(nc + 1, sizeof(*ev->cls))) == NULL)
		goto fail;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &p->rules[i];

		ev->active[i] = (uint8_t)rule_active(ev, r);
		if (!ev->active[i] || !r->has_bg || !ctx->justified)
			continue;
		if (in_list((const char *const *)r->bg_principals,
		    r->nbg_principals, ctx->principal) ||
		    any_in_list((const char *const *)r->bg_roles, r->nbg_roles,
		    ctx->roles, ctx->nroles))
			ev->bg[i] = POL_BG_USED;
		else
			ev->bg[i] = POL_BG_REFUSED;
	}
	return ev;
fail:
	pol_eval_free(ev);
	return NULL;
}

void
pol_eval_free(struct pol_eval *ev)
{
	if (ev == NULL)
		return;
	for (size_t i = 0; i < ev->nd; i++)
		free(ev->own[i]);
	free(ev->own);
	free(ev->d);
	free(ev->dht.slot);
	for (uint32_t i = 0; i < ev->nstrs; i++)
		free(ev->strs[i]);
	free(ev->strs);
	free(ev->strh);
	free(ev->sid_dec);
	free(ev->sht.slot);
	free(ev->pe);
	free(ev->pht.slot);
	free(ev->pbytes);
	free(ev->active);
	free(ev->bg);
	free(ev->cls);
	free(ev->out);
	free(ev->tmp);
	free(ev->path);
	free(ev);
}

/* First active rule covering class c; cached per class. */
static const struct eval_class *
decide_class(struct pol_eval *ev, size_t c)
{
	struct eval_class *e = &ev->cls[c];
	const struct pol_policy *p = ev->p;

	if (e->done)
		return e;
	e->done = 1;
	e->rule = -1;
	e->act = &p->def;
	e->bg = POL_BG_NONE;
	for (size_t i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &p->rules[i];

		if (!ev->active[i] || (r->covers != NULL && !r->covers[c]))
			continue;
		e->rule = (int)i;
		e->bg = ev->bg[i];
		e->act = e->bg == POL_BG_USED ? &r->bg : &r->act;
		break;
	}
	return e;
}

/* ------------------------------------------------------------ folded path */

/* The tables hash with cls_hstep and cls_hash_bytes (classifiers.h), the
 * same functions as the rewriter's path prefix hashes; hfold makes the low
 * bits (the slot) depend on all of them. */
static uint64_t
hfold(uint64_t h)
{
	return h ^ (h >> 32);
}

/* The first slot for <h>; step with itab_next. */
static uint32_t
itab_first(const struct itab *t, uint64_t h)
{
	return (uint32_t)h & (t->size - 1);
}

static uint32_t
itab_next(const struct itab *t, uint32_t i)
{
	return (i + 1) & (t->size - 1);
}

/* Makes room for one more index in <t>, rehashing with hash_of(ev, k) when
 * it grows. -1 when out of memory. */
static int
itab_reserve(const struct pol_eval *ev, struct itab *t,
    uint64_t (*hash_of)(const struct pol_eval *, uint32_t))
{
	uint32_t *ns, nsize;

	if ((t->used + 1) * 2 <= t->size)
		return 0;
	nsize = t->size ? t->size * 2 : 64;
	if ((ns = calloc(nsize, sizeof(*ns))) == NULL)
		return -1;
	for (uint32_t i = 0; i < t->size; i++) {
		uint32_t j, k = t->slot[i];

		if (k == 0)
			continue;
		for (j = (uint32_t)hash_of(ev, k - 1) & (nsize - 1); ns[j] != 0;
		    j = (j + 1) & (nsize - 1))
			;
		ns[j] = k;
	}
	free(t->slot);
	t->slot = ns;
	t->size = nsize;
	return 0;
}

static uint64_t
str_hash(const struct pol_eval *ev, uint32_t k)
{
	return ev->strh[k];
}

static uint64_t
pe_hash(const struct pol_eval *ev, uint32_t k)
{
	return ev->pe[k].hash;
}

static uint64_t
dec_hash(const struct pol_eval *ev, uint32_t k)
{
	return ev->own[k]->hash;
}

/* Inserts index <k> (0-based) with hash <h>; room was reserved. */
static void
itab_put(struct itab *t, uint64_t h, uint32_t k)
{
	uint32_t i;

	for (i = itab_first(t, h); t->slot[i] != 0; i = itab_next(t, i))
		;
	t->slot[i] = k + 1;
	t->used++;
}

/* The sid of text <s>, interned on first use; NOID when out of memory. */
static uint32_t
intern(struct pol_eval *ev, const char *s)
{
	size_t		 n = strlen(s);
	uint64_t	 h = hfold(cls_hash_bytes(0, s, n));
	uint32_t	 i, id;

	if (ev->sht.size != 0)
		for (i = itab_first(&ev->sht, h); ev->sht.slot[i] != 0;
		    i = itab_next(&ev->sht, i)) {
			id = ev->sht.slot[i] - 1;
			if (ev->strh[id] == h && strcmp(ev->strs[id], s) == 0)
				return id;
		}
	if (ev->nstrs == ev->capstrs) {
		uint32_t	 nc = ev->capstrs ? ev->capstrs * 2 : 16;
		char		**ns;
		uint64_t	*nh;
		uint32_t	*nd;

		if ((ns = realloc(ev->strs, nc * sizeof(*ns))) == NULL)
			return NOID;
		ev->strs = ns;
		if ((nh = realloc(ev->strh, nc * sizeof(*nh))) == NULL)
			return NOID;
		ev->strh = nh;
		if ((nd = realloc(ev->sid_dec, nc * sizeof(*nd))) == NULL)
			return NOID;
		ev->sid_dec = nd;
		ev->capstrs = nc;
	}
	if (itab_reserve(ev, &ev->sht, str_hash) < 0 ||
	    (ev->strs[ev->nstrs] = malloc(n + 1)) == NULL)
		return NOID;
	memcpy(ev->strs[ev->nstrs], s, n + 1);
	ev->strh[ev->nstrs] = h;
	ev->sid_dec[ev->nstrs] = NOID;
	itab_put(&ev->sht, h, ev->nstrs);
	return ev->nstrs++;
}

/* Formats the field's folded path ("$.items[*].email") in ev->path; "$.**"
 * when unknown or out of memory. */
static const char *
format_path(struct pol_eval *ev)
{
	const struct cls_path *pa = ev->field->path;
	size_t n;

	if (pa == NULL)
		return "$.**";
	n = cls_path_format(pa, 1, ev->path, ev->pathcap);
	if (n >= ev->pathcap) {
		if (pol_buf_reserve(&ev->path, &ev->pathcap, n + 1) < 0)
			return "$.**";
		(void)cls_path_format(pa, 1, ev->path, ev->pathcap);
	}
	return ev->path;
}

/* Whether entry <e> holds exactly the segments <s>. */
static int
path_same(const struct pol_eval *ev, const struct path_ent *e,
    const struct cls_seg *s, size_t n)
{
	const char *b = ev->pbytes + e->off;

	if (e->nseg != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t l;

		memcpy(&l, b, sizeof(l));
		b += sizeof(l);
		if (s[i].key == NULL) {
			if (l != SEG_ARRAY)
				return 0;
			continue;
		}
		if (l == SEG_ARRAY || l != s[i].len ||
		    !cls_same_bytes(b, s[i].key, l))
			return 0;
		b += l;
	}
	return 1;
}

/* Adds the path <s> (hash h) with folded text <text> to the cache; its sid,
 * or NOID when it does not fit (the caller formats it each time). */
static uint32_t
path_add(struct pol_eval *ev, const struct cls_seg *s, size_t n, uint64_t h,
    const char *text)
{
	size_t		 need = 0;
	char		*b;
	uint32_t	 sid;

	if (ev->npe == PC_MAX)
		return NOID;
	for (size_t i = 0; i < n; i++) {
		if (s[i].key != NULL && s[i].len >= SEG_ARRAY)
			return NOID;
		need += sizeof(uint32_t) + (s[i].key != NULL ? s[i].len : 0);
	}
	if (ev->npbytes + need > PC_MAXBYTES)
		return NOID;
	if (ev->npe == ev->cappe) {
		uint32_t nc = ev->cappe ? ev->cappe * 2 : 16;
		struct path_ent *np = realloc(ev->pe, nc * sizeof(*np));

		if (np == NULL)
			return NOID;
		ev->pe = np;
		ev->cappe = nc;
	}
	if (pol_buf_reserve(&ev->pbytes, &ev->cappbytes,
	    ev->npbytes + need) < 0 || itab_reserve(ev,
	    &ev->pht, pe_hash) < 0 ||
	    (sid = intern(ev, text)) == NOID)
		return NOID;
	b = ev->pbytes + ev->npbytes;
	for (size_t i = 0; i < n; i++) {
		uint32_t l = s[i].key != NULL ? (uint32_t)s[i].len : SEG_ARRAY;

		memcpy(b, &l, sizeof(l));
		b += sizeof(l);
		if (s[i].key != NULL) {
			memcpy(b, s[i].key, s[i].len);
			b += s[i].len;
		}
	}
	ev->pe[ev->npe].hash = h;
	ev->pe[ev->npe].off = ev->npbytes;
	ev->pe[ev->npe].nseg = (uint32_t)n;
	ev->pe[ev->npe].sid = sid;
	ev->npbytes += need;
	itab_put(&ev->pht, h, ev->npe++);
	return sid;
}

/* The field's folded path, through the path cache: its text, and in
 * ev->cur_sid its sid (NOID when the path was formatted into ev->path
 * without being interned). Found once per field. A hashed path (see
 * struct cls_path) is keyed on its producer's hash: the cache compares
 * segments, so hashes of another kind only cost a miss, never a wrong
 * text. */
static const char *
field_path(struct pol_eval *ev)
{
	const struct cls_path	*pa = ev->field->path;
	const struct cls_seg	*s;
	uint64_t		 h = 0;
	uint32_t		 i, sid;
	size_t			 n;
	const char		*text;

	if (ev->path_ready)
		return ev->cur_path;
	ev->path_ready = 1;
	ev->cur_sid = NOID;
	if (pa == NULL || pa->depth > PC_MAXSEGS)
		return ev->cur_path = format_path(ev);
	n = pa->depth;
	s = pa->segs;
	if (pa->hashed)
		h = n > 0 ? s[n - 1].hash : 0;
	else
		for (i = 0; i < n; i++)
			h = s[i].key == NULL ? cls_hstep(h, UINT64_MAX) :
			    cls_hash_bytes(h, s[i].key, s[i].len);
	h = hfold(h);
	if (ev->pht.size != 0)
		for (i = itab_first(&ev->pht, h); ev->pht.slot[i] != 0;
		    i = itab_next(&ev->pht, i)) {
			const struct path_ent *e = &ev->pe[ev->pht.slot[i] - 1];

			if (e->hash == h && path_same(ev, e, s, n)) {
				ev->cur_sid = e->sid;
				return ev->cur_path = ev->strs[e->sid];
			}
		}
	text = format_path(ev);
	if (text != ev->path ||
	    (sid = path_add(ev, s, n, h, text)) == NOID)
		return ev->cur_path = text;	/* unknown, or not cached */
	ev->cur_sid = sid;
	return ev->cur_path = ev->strs[sid];
}

/* -------------------------------------------------------------- decisions */

/* The decision for this key, created on first use; NULL when out of
 * memory (the body still gets its action; only the record is short).
 * <sid> is the folded path ("$.**" past POL_MAX_DECISIONS). */
static struct pol_decision *
decision(struct pol_eval *ev, uint32_t sid, const struct cls_match *m,
    int rule, enum pol_action action, const char *ovr, enum pol_bg bg)
{
	struct pol_decision	*d;
	struct dec_own		*own;
	uint64_t		 h;
	uint32_t		 i, k;
	size_t			 idlen, rlen;
	char			 idbuf[32];
	const char		*rid = ev->ctx.request_id ? ev->ctx.request_id :
				    "-";

	/* the last decision of this path first: usually the one (a path's
	 * fields are of one class, decided by one rule) */
	if ((k = ev->sid_dec[sid]) != NOID) {
		own = ev->own[k];
		d = &ev->d[k];
		if (own->class_id == m->class_id && own->rule == rule &&
		    d->action == action && d->override == ovr &&
		    d->break_glass == bg)
			return d;
	}
	h = cls_hstep(0, sid | (uint64_t)m->class_id << 32);
	h = cls_hstep(h, (uint32_t)rule | (uint64_t)action << 32 |
	    (uint64_t)bg << 48);
	h = hfold(cls_hstep(h, (uint64_t)(uintptr_t)ovr));
	if (ev->dht.size != 0)
		for (i = itab_first(&ev->dht, h); ev->dht.slot[i] != 0;
		    i = itab_next(&ev->dht, i)) {
			k = ev->dht.slot[i] - 1;
			own = ev->own[k];
			d = &ev->d[k];
			if (own->hash == h && own->sid == sid &&
			    own->class_id == m->class_id && own->rule == rule &&
			    d->action == action && d->override == ovr &&
			    d->break_glass == bg) {
				ev->sid_dec[sid] = k;
				return d;
			}
		}
	if (ev->nd >= POL_MAX_DECISIONS + 256)
		return NULL;	/* past the cap only "$.**" entries were added */
	if (ev->nd == ev->capd) {
		size_t nc = ev->capd ? ev->capd * 2 : 16;
		struct pol_decision *nd = realloc(ev->d, nc * sizeof(*nd));
		struct dec_own **no;

		if (nd == NULL)
			return NULL;
		ev->d = nd;
		if ((no = realloc(ev->own, nc * sizeof(*no))) == NULL)
			return NULL;
		ev->own = no;
		ev->capd = nc;
		/* The decision array moved: nothing outside points into it. */
	}
	if (itab_reserve(ev, &ev->dht, dec_hash) < 0)
		return NULL;
	idlen = (size_t)snprintf(idbuf, sizeof(idbuf), ".%zu", ev->nd + 1);
	rlen = strlen(rid);
	own = malloc(sizeof(*own) + rlen + idlen + 1);
	if (own == NULL)
		return NULL;
	own->hash = h;
	own->sid = sid;
	own->class_id = m->class_id;
	own->rule = rule;
	memcpy(own->text, rid, rlen);
	memcpy(own->text + rlen, idbuf, idlen + 1);
	d = &ev->d[ev->nd];
	memset(d, 0, sizeof(*d));
	d->id = own->text;
	d->path = ev->strs[sid];
	d->class_ = m->class_name;
	d->level = cls_level_name(m->level);
	d->confidence = cls_conf_name(m->confidence);
	own->conf = m->confidence;
	d->nevidence = m->nevidence;
	memcpy(d->evidence, m->evidence, sizeof(d->evidence));
	d->rule = rule < 0 ? NULL : ev->p->rules[rule].id;
	d->action = action;
	d->override = ovr;
	d->break_glass = bg;
	ev->own[ev->nd] = own;
	itab_put(&ev->dht, h, (uint32_t)ev->nd);
	ev->sid_dec[sid] = (uint32_t)ev->nd;
	ev->nd++;
	return d;
}

static void
record(struct pol_eval *ev, const struct cls_match *m, int rule,
    enum pol_action action, const char *ovr, enum pol_bg bg,
    const char *err, const char *v, size_t len, const char *fp)
{
	struct pol_decision	*d;
	struct dec_own		*own;
	char			 buf[KEYS_FP_LEN + 1];
	uint32_t		 sid;

	/* past the cap every path folds into "$.**" (not even formatted) */
	if (ev->nd >= POL_MAX_DECISIONS) {
		if (ev->all_sid == NOID)
			ev->all_sid = intern(ev, "$.**");
		sid = ev->all_sid;
	} else {
		const char *text = field_path(ev);

		sid = ev->cur_sid != NOID ? ev->cur_sid : intern(ev, text);
	}
	if (sid == NOID || (d = decision(ev, sid, m, rule, action, ovr,
	    bg)) == NULL)
		return;
	own = ev->own[d - ev->d];
	d->count++;
	if (m->confidence > own->conf) {
		d->confidence = cls_conf_name(m->confidence);
		own->conf = m->confidence;
		d->nevidence = m->nevidence;
		memcpy(d->evidence, m->evidence, sizeof(d->evidence));
	}
	if (err != NULL && d->error == NULL)
		d->error = err;
	/* A decision lists at most POL_MAX_FPS distinct fingerprints; once
	 * full, no later value can change it, so none is computed. */
	if (ev->ring == NULL || ev->ctx.no_fps ||
	    d->nfingerprints == POL_MAX_FPS)
		return;
	if (fp == NULL) {
		if (keys_fingerprint_cached(ev->ring, ev->ctx.fpcache, v, len,
		    buf) < 0)
			return;
		fp = buf;
	}
	for (size_t i = 0; i < d->nfingerprints; i++)
		if (strcmp(d->fingerprints[i], fp) == 0)
			return;
	memcpy(own->fps[d->nfingerprints], fp, KEYS_FP_LEN + 1);
	d->fingerprints[d->nfingerprints] = own->fps[d->nfingerprints];
	d->nfingerprints++;
}

/* ----------------------------------------------------------------- decide */

/*
 * Decides one match (the whole field, or one span: <v>/<len>) and applies
 * the action into ev->tmp. Returns the verdict for that piece: KEEP (allow),
 * REPLACE (*res, *reslen), REMOVE (drop) or DENY.
 */
static enum pol_verdict
decide_one(struct pol_eval *ev, const struct cls_match *m, const char *v,
    size_t len, const char **res, size_t *reslen)
{
	const struct eval_class	*e = decide_class(ev, m->class_id);
	const struct pol_act	*act = e->act;
	struct pol_act		 oact;
	const char		*ovr = NULL, *err = NULL, *fp = NULL;
	char			 fpbuf[KEYS_FP_LEN + 1];
	size_t			 n = 0;
	enum pol_verdict	 vd = POL_REPLACE;

	/*
	 * HOOK: human overrides (issue 7). The rule (or default) has decided;
	 * the action has not been applied yet.
	 */
	if (ev->ctx.override != NULL) {
		struct pol_override_q	q;
		enum pol_action		na = act->kind;

		if (ev->ring != NULL && keys_fingerprint_cached(ev->ring,
		    ev->ctx.fpcache, v, len, fpbuf) == 0)
			fp = fpbuf;
		q.rule = e->rule < 0 ? NULL : ev->p->rules[e->rule].id;
		q.class_ = m->class_name;
		q.level = m->level;
		q.path = field_path(ev);
		q.fingerprint = fp;
		q.action = act->kind;
		if (ev->ctx.override(ev->ctx.override_arg, &q, &na, &ovr) == 1
		    && (unsigned)na < POL_A_COUNT) {
			if (na != act->kind) {
				pol_act_defaults(&oact, na);
				act = &oact;
			}
		} else
			ovr = NULL;
	}
	switch (act->kind) {
	case POL_A_ALLOW:
		vd = POL_KEEP;
		break;
	case POL_A_DENY:
		vd = POL_DENY;
		ev->denied = e->rule < 0 ? "default" :
		    ev->p->rules[e->rule].id;
		break;
	case POL_A_DROP:
		vd = POL_REMOVE;
		break;
	case POL_A_MASK:
		n = pol_mask(act, v, len, &ev->tmp, &ev->tmpcap);
		break;
	case POL_A_REDACT:
		n = pol_redact_text(act, m->class_name, &ev->tmp, &ev->tmpcap);
		break;
	default:
		n = pol_keyed(act, ev->ring, m->class_name, v, len, &ev->tmp,
		    &ev->tmpcap, &err);
		break;
	}
	if (vd == POL_REPLACE && n == (size_t)-1) {
		/* Fail closed: what could not be transformed is redacted. */
		if (err == NULL)
			err = "out of memory";
		n = pol_redact_text(NULL, m->class_name, &ev->tmp, &ev->tmpcap);
		if (n == (size_t)-1)
			return POL_DENY;
		record(ev, m, e->rule, POL_A_REDACT, ovr, e->bg, err, v, len,
		    fp);
	} else
		record(ev, m, e->rule, act->kind, ovr, e->bg, NULL, v, len, fp);
	*res = ev->tmp;
	*reslen = n;
	return vd;
}

static int
out_add(struct pol_eval *ev, size_t *o, const char *s, size_t n)
{
	if (pol_buf_reserve(&ev->out, &ev->outcap, *o + n + 1) < 0)
		return -1;
	memcpy(ev->out + *o, s, n);
	*o += n;
	ev->out[*o] = '\0';
	return 0;
}

enum pol_verdict
pol_eval_field(struct pol_eval *ev, const struct cls_field *f,
    const char **out, size_t *outlen, int *out_raw)
{
	size_t			 n, i, o = 0, last = 0, reslen;
	int			 best = -1, forced = 0, changed = 0;
	const char		*res;
	enum pol_verdict	 vd;

	n = cls_classify(ev->p->set, ev->scratch, f, ev->m, POL_MAX_MATCHES);
	if (n == 0)
		return POL_KEEP;
	*out_raw = 0;
	ev->field = f;
	ev->path_ready = 0;
	if (n > POL_MAX_MATCHES) {
		n = POL_MAX_MATCHES;
		forced = 1;
	}
	/* The highest-level whole-field class decides; ties: written first
	 * (whole-field matches come in class order). */
	for (i = 0; i < n; i++)
		if ((!ev->m[i].span || forced) && (best < 0 ||
		    ev->m[i].level > ev->m[best].level))
			best = (int)i;
	if (best >= 0) {
		struct cls_match whole = ev->m[best];

		whole.span = 0;
		whole.start = 0;
		whole.end = f->len;
		vd = decide_one(ev, &whole, f->value, f->len, &res, &reslen);
		if (vd != POL_KEEP || forced) {
			*out = res;
			*outlen = reslen;
			return vd;
		}
	}
	for (i = 0; i < n; i++) {
		const struct cls_match *m = &ev->m[i];

		if (!m->span || m->start < last || m->end > f->len)
			continue;
		vd = decide_one(ev, m, f->value + m->start, m->end - m->start,
		    &res, &reslen);
		if (vd == POL_DENY)
			return POL_DENY;
		if (vd == POL_KEEP)
			continue;
		if (out_add(ev, &o, f->value + last, m->start - last) < 0 ||
		    (vd == POL_REPLACE && out_add(ev, &o, res, reslen) < 0))
			return POL_DENY;	/* out of memory: fail closed */
		last = m->end;
		changed = 1;
	}
	if (!changed)
		return POL_KEEP;
	if (out_add(ev, &o, f->value + last, f->len - last) < 0)
		return POL_DENY;
	*out = ev->out;
	*outlen = o;
	return POL_REPLACE;
}

const char *
pol_eval_denied_rule(const struct pol_eval *ev)
{
	return ev->denied;
}

const struct pol_decision *
pol_eval_decisions(const struct pol_eval *ev, size_t *n)
{
	*n = ev->nd;
	return ev->d;
}

/* ------------------------------------------------------------------ audit */

void
pol_decision_to_audit(const struct pol_decision *d,
    struct audit_decision *out, const char **fps, const char **evidence)
{
	memset(out, 0, sizeof(*out));
	out->id = d->id;
	out->path = d->path;
	out->class_ = d->class_;
	out->level = d->level;
	out->confidence = d->confidence;
	for (size_t i = 0; i < d->nevidence; i++)
		evidence[i] = d->evidence[i];
	out->evidence = evidence;
	out->nevidence = d->nevidence;
	out->rule = d->rule;
	out->action = pol_action_name(d->action);
	out->count = d->count;
	out->override = d->override;
	for (size_t i = 0; i < d->nfingerprints; i++)
		fps[i] = d->fingerprints[i];
	out->fingerprints = fps;
	out->nfingerprints = d->nfingerprints;
	out->break_glass = d->break_glass == POL_BG_USED ? "used" :
	    d->break_glass == POL_BG_REFUSED ? "refused" : NULL;
	out->error = d->error;
}
