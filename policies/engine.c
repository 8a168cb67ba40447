/* policies/engine.c — deciding each classified field of a body under the
 * policy, applying the action, and folding the decisions for the audit log. */
#define POL_INTERNAL
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "keys/keys.h"
#include "policies/policies.h"

#define POL_MAX_MATCHES	32		/* matches looked at per field */
#define HT_SIZE		(2 * POL_MAX_DECISIONS)	/* power of two */

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
	size_t		 class_id;
	int		 rule;
	char		 fps[POL_MAX_FPS][KEYS_FP_LEN + 1];
	char		 text[];	/* id NUL path NUL */
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
	const struct cls_field	*field;		/* during pol_eval_field */
	int			 path_ready;
	struct pol_decision	*d;
	struct dec_own		**own;
	size_t			 nd, capd;
	uint32_t		 ht[HT_SIZE];	/* decision index + 1 */
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

static unsigned
method_of(const char *m)
{
	static const char *const names[] = { "GET", "HEAD", "POST", "PUT",
	    "PATCH", "DELETE", "OPTIONS" };

	for (unsigned i = 0; m != NULL && i < 7; i++)
		if (strcmp(m, names[i]) == 0)
			return 1u << i;
	return 0;
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

static int
padd(struct pol_eval *ev, size_t *o, const char *s, size_t n)
{
	if (pol_buf_reserve(&ev->path, &ev->pathcap, *o + n + 1) < 0)
		return -1;
	memcpy(ev->path + *o, s, n);
	*o += n;
	ev->path[*o] = '\0';
	return 0;
}

/* The field's folded path ("$.items[*].email", as json_path_format with
 * fold = 1 writes it) in ev->path; "$.**" when unknown or out of memory. */
static const char *
folded_path(struct pol_eval *ev)
{
	const struct cls_path *pa = ev->field->path;
	size_t o = 0;

	if (ev->path_ready)
		return ev->path;
	ev->path_ready = 1;
	if (pa == NULL || padd(ev, &o, "$", 1) < 0)
		goto unknown;
	for (size_t i = 0; i < pa->depth; i++) {
		const char *k;
		size_t kl, a, j;
		uint64_t idx;

		if (pa->seg(pa->ctx, i, &k, &kl, &idx) != 1) {
			if (padd(ev, &o, "[*]", 3) < 0)
				goto unknown;
			continue;
		}
		if (path_ident(k, kl)) {
			if (padd(ev, &o, ".", 1) < 0 || padd(ev, &o, k, kl) < 0)
				goto unknown;
			continue;
		}
		if (padd(ev, &o, "['", 2) < 0)
			goto unknown;
		for (j = a = 0; j < kl; j++) {
			if (k[j] != '\'' && k[j] != '\\')
				continue;
			if (padd(ev, &o, k + a, j - a) < 0 ||
			    padd(ev, &o, "\\", 1) < 0)
				goto unknown;
			a = j;
		}
		if (padd(ev, &o, k + a, kl - a) < 0 || padd(ev, &o, "']", 2) < 0)
			goto unknown;
	}
	return ev->path;
unknown:
	return "$.**";
}

/* -------------------------------------------------------------- decisions */

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h;
}

/* The decision for this key, created on first use; NULL when out of
 * memory (the body still gets its action; only the record is short). */
static struct pol_decision *
decision(struct pol_eval *ev, const char *path, const struct cls_match *m,
    int rule, enum pol_action action, const char *ovr, enum pol_bg bg)
{
	struct pol_decision	*d;
	struct dec_own		*own;
	uint64_t		 h;
	size_t			 i, plen, idlen;
	char			 idbuf[32];
	const char		*rid = ev->ctx.request_id ? ev->ctx.request_id :
				    "-";

	if (ev->nd >= POL_MAX_DECISIONS)
		path = "$.**";
	h = fnv(0xcbf29ce484222325ull, path, strlen(path));
	h = fnv(h, &m->class_id, sizeof(m->class_id));
	h = fnv(h, &rule, sizeof(rule));
	h = fnv(h, &action, sizeof(action));
	h = fnv(h, &ovr, sizeof(ovr));
	h = fnv(h, &bg, sizeof(bg));
	for (i = h & (HT_SIZE - 1); ev->ht[i] != 0; i = (i + 1) &
	    (HT_SIZE - 1)) {
		size_t k = ev->ht[i] - 1;

		own = ev->own[k];
		d = &ev->d[k];
		if (own->hash == h && own->class_id == m->class_id &&
		    own->rule == rule && d->action == action &&
		    d->override == ovr && d->break_glass == bg &&
		    strcmp(d->path, path) == 0)
			return d;
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
	idlen = (size_t)snprintf(idbuf, sizeof(idbuf), ".%zu", ev->nd + 1);
	plen = strlen(path);
	own = malloc(sizeof(*own) + strlen(rid) + idlen + 1 + plen + 1);
	if (own == NULL)
		return NULL;
	own->hash = h;
	own->class_id = m->class_id;
	own->rule = rule;
	i = strlen(rid);
	memcpy(own->text, rid, i);
	memcpy(own->text + i, idbuf, idlen + 1);
	memcpy(own->text + i + idlen + 1, path, plen + 1);
	d = &ev->d[ev->nd];
	memset(d, 0, sizeof(*d));
	d->id = own->text;
	d->path = own->text + i + idlen + 1;
	d->class_ = m->class_name;
	d->level = cls_level_name(m->level);
	d->confidence = cls_conf_name(m->confidence);
	d->nevidence = m->nevidence;
	memcpy(d->evidence, m->evidence, sizeof(d->evidence));
	d->rule = rule < 0 ? NULL : ev->p->rules[rule].id;
	d->action = action;
	d->override = ovr;
	d->break_glass = bg;
	ev->own[ev->nd] = own;
	ev->nd++;
	for (i = h & (HT_SIZE - 1); ev->ht[i] != 0; i = (i + 1) &
	    (HT_SIZE - 1))
		;
	ev->ht[i] = (uint32_t)ev->nd;
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

	d = decision(ev, folded_path(ev), m, rule, action, ovr, bg);
	if (d == NULL)
		return;
	own = ev->own[d - ev->d];
	d->count++;
	if (m->confidence > (enum cls_conf)cls_conf_parse(d->confidence)) {
		d->confidence = cls_conf_name(m->confidence);
		d->nevidence = m->nevidence;
		memcpy(d->evidence, m->evidence, sizeof(d->evidence));
	}
	if (err != NULL && d->error == NULL)
		d->error = err;
	if (ev->ring == NULL || d->nfingerprints == POL_MAX_FPS)
		return;
	if (fp == NULL) {
		if (keys_fingerprint(ev->ring, v, len, buf) < 0)
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

		if (ev->ring != NULL && keys_fingerprint(ev->ring, v, len,
		    fpbuf) == 0)
			fp = fpbuf;
		q.rule = e->rule < 0 ? NULL : ev->p->rules[e->rule].id;
		q.class_ = m->class_name;
		q.level = m->level;
		q.path = folded_path(ev);
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

/* ------------------------------------------------------------------- JSON */

static void
jstr(FILE *f, const char *s)
{
	if (s == NULL) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void
jstrv(FILE *f, const char *const *v, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		jstr(f, v[i]);
	}
	fputc(']', f);
}

int
pol_eval_decisions_json(const struct pol_eval *ev, FILE *f)
{
	fputc('[', f);
	for (size_t i = 0; i < ev->nd; i++) {
		const struct pol_decision *d = &ev->d[i];

		fputs(i ? ",{\"id\":" : "{\"id\":", f);
		jstr(f, d->id);
		fputs(",\"path\":", f);
		jstr(f, d->path);
		fputs(",\"class\":", f);
		jstr(f, d->class_);
		fputs(",\"level\":", f);
		jstr(f, d->level);
		fputs(",\"confidence\":", f);
		jstr(f, d->confidence);
		fputs(",\"evidence\":", f);
		jstrv(f, d->evidence, d->nevidence);
		fputs(",\"rule\":", f);
		jstr(f, d->rule);
		fputs(",\"action\":", f);
		jstr(f, pol_action_name(d->action));
		fprintf(f, ",\"count\":%llu,\"override\":",
		    (unsigned long long)d->count);
		jstr(f, d->override);
		fputs(",\"fingerprints\":", f);
		jstrv(f, d->fingerprints, d->nfingerprints);
		if (d->break_glass != POL_BG_NONE) {
			fputs(",\"break_glass\":", f);
			jstr(f, d->break_glass == POL_BG_USED ? "used" :
			    "refused");
		}
		if (d->error != NULL) {
			fputs(",\"error\":", f);
			jstr(f, d->error);
		}
		fputc('}', f);
	}
	fputc(']', f);
	return ferror(f) ? -1 : 0;
}

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
}
