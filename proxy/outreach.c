/* proxy/outreach.c — outreach governance in the proxy (issue 9): the
 * cooling-off limits, quiet hours and opt-outs that apply to messages
 * automated callers send through custos, the public unsubscribe link, and
 * the opt-out admin API. What applies comes from the policy (pol_or_*); the
 * counters and opt-outs live in the state store (audit_or_*). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <sodium.h>

#include "audit/audit.h"
#include "keys/keys.h"
#include "policies/errs.h"
#include "policies/policies.h"
#include "proxy/internal.h"
#include "proxy/json.h"

#define OR_MAX_RECIPIENTS	1000	/* per message request */
#define OR_MAX_VALUE		512	/* bytes of one recipient value */
#define OR_CHANNEL_MAX		64
#define OR_FLUSH_MS		250
#define OR_FP_VERSIONS		4	/* fingerprint key versions checked */

_Static_assert(POL_OR_MAX_SCOPES == AUDIT_OR_MAX_SCOPES,
    "the policy's scope cap is the store's");

#define RECIPIENT_CLASS		"recipient"

/* What an admitted message took from the counters, given back when the
 * request fails before it reaches the upstream. */
struct or_hold {
	struct audit_outreach	*store;
	int			 sent;		/* went to the upstream */
	int64_t			 now;
	struct audit_or_limit	 lim[POL_OR_MAX_LIMITS];
	size_t			 nlim;
	char			(*fps)[AUDIT_OR_FP_LEN + 1];
	size_t			 nfps;
	char			*unsub;		/* the link for the upstream */
};

/* ---- state store ---------------------------------------------------- */

int
outreach_gen_check(const struct proxy_gen *g, struct pol_errs *errs)
{
	const struct pol_outreach *o = pol_policy_outreach(g->policy);

	if (o == NULL)
		return 0;
	if (g->cfg->state_dir == NULL)
		pol_errs_add(errs, POL_ERROR, g->cfg->path, 0, 0,
		    "the policy has an outreach section, which needs "
		    "state_dir: its counters and opt-outs must survive a "
		    "restart");
	if (g->ring == NULL)
		pol_errs_add(errs, POL_ERROR, g->cfg->path, 0, 0,
		    "the policy has an outreach section, which needs keys: "
		    "recipients are kept as keyed fingerprints");
	return g->cfg->state_dir == NULL || g->ring == NULL ? -1 : 0;
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_server	*srv = arg;

	(void)fd;
	(void)what;
	if (srv->outreach != NULL && audit_or_flush(srv->outreach) < 0 &&
	    !srv->outreach_flush_failed) {
		srv->outreach_flush_failed = 1;
		fprintf(stderr, "custos: cannot write the outreach journal: "
		    "%s (counters since the last write would not survive a "
		    "restart)\n", strerror(errno));
	} else if (srv->outreach != NULL)
		srv->outreach_flush_failed = 0;
}

int
outreach_open(struct proxy_server *srv, const struct proxy_gen *g,
    char *err, size_t errsize)
{
	const struct pol_outreach	*o = pol_policy_outreach(g->policy);
	struct audit_or_scope		 sc[AUDIT_OR_MAX_SCOPES];
	size_t				 n;
	struct timeval			 tv = {0, OR_FLUSH_MS * 1000};

	if (o == NULL)
		return 0;	/* a store already open stays, unused */
	n = pol_or_nscopes(o);	/* <= POL_OR_MAX_SCOPES: the loader checks */
	for (size_t i = 0; i < n; i++) {
		sc[i].name = pol_or_scope_name(o, i);
		sc[i].ring = pol_or_scope_ring(o, i);
	}
	if (srv->outreach != NULL)
		return audit_or_layout(srv->outreach, sc, n, err, errsize);
	if ((srv->outreach = audit_or_open(g->cfg->state_dir, sc, n,
	    0, err, errsize)) == NULL)
		return -1;
	if (srv->base != NULL && srv->outreach_timer == NULL) {
		srv->outreach_timer = event_new(srv->base, -1, EV_PERSIST,
		    flush_cb, srv);
		if (srv->outreach_timer == NULL ||
		    event_add(srv->outreach_timer, &tv) < 0) {
			snprintf(err, errsize, "cannot start the journal "
			    "timer");
			return -1;
		}
	}
	return 0;
}

void
outreach_close(struct proxy_server *srv)
{
	if (srv->outreach_timer != NULL)
		event_free(srv->outreach_timer);
	srv->outreach_timer = NULL;
	audit_or_close(srv->outreach);
	srv->outreach = NULL;
}

/* ---- reading the message -------------------------------------------- */

struct capture {
	const struct cls_glob	*rglob;		/* the recipient's path */
	const struct cls_glob	*cglob;		/* the channel's, or NULL */
	char			**vals;
	size_t			 n, cap;
	int			 too_many, too_long, bad_channel, nested, oom;
	char			*channel;
};

static enum json_action
capture_visit(void *ud, const struct json_path *p, const struct json_value *v,
    struct json_edit *e)
{
	struct capture	*c = ud;
	struct cls_path	 path;
	char		*s;
	int		 at_r, at_c;

	(void)e;
	path.segs = json_path_segs(p);
	path.depth = json_path_depth(p);
	path.hashed = 1;
	at_r = cls_glob_match(c->rglob, &path);
	at_c = !at_r && c->cglob != NULL && cls_glob_match(c->cglob, &path);
	if (!at_r && !at_c)
		return JSON_KEEP;
	if (v->type == JSON_OBJECT || v->type == JSON_ARRAY) {
		/* An object or array where the recipient or the channel is
		 * ({"to": "a@x", "to": ["b@y"]}: which would the upstream
		 * use?) is refused rather than left unchecked. */
		c->nested = 1;
		return JSON_STOP;
	}
	if (v->type != JSON_STRING && v->type != JSON_NUMBER)
		return JSON_KEEP;
	if (at_r) {
		if (c->n == OR_MAX_RECIPIENTS) {
			c->too_many = 1;
			return JSON_STOP;
		}
		if (v->len > OR_MAX_VALUE) {
			c->too_long = 1;
			return JSON_STOP;
		}
		if (c->n == c->cap) {
			size_t	 nc = c->cap ? 2 * c->cap : 4;
			char	**nv;

			if (nc > OR_MAX_RECIPIENTS)
				nc = OR_MAX_RECIPIENTS;
			if ((nv = realloc(c->vals, nc * sizeof(*nv))) == NULL) {
				c->oom = 1;
				return JSON_STOP;
			}
			c->vals = nv;
			c->cap = nc;
		}
		if ((s = strndup(v->ptr, v->len)) == NULL) {
			c->oom = 1;
			return JSON_STOP;
		}
		c->vals[c->n++] = s;
	} else {
		const char	*ch = v->ptr;
		size_t		 n = v->len;

		/* " sms" is sms; two different channels in one message (a
		 * duplicated key: which one would the upstream use?) are
		 * refused rather than guessed. */
		while (n > 0 && (*ch == ' ' || *ch == '\t'))
			ch++, n--;
		while (n > 0 && (ch[n - 1] == ' ' || ch[n - 1] == '\t'))
			n--;
		if (c->channel != NULL) {
			if (strlen(c->channel) != n ||
			    strncasecmp(c->channel, ch, n) != 0)
				c->bad_channel = 1;
			return c->bad_channel ? JSON_STOP : JSON_KEEP;
		}
		if (n > OR_CHANNEL_MAX) {
			c->bad_channel = 1;	/* no channel is that long */
			return JSON_STOP;
		}
		if ((c->channel = strndup(ch, n)) == NULL) {
			c->oom = 1;
			return JSON_STOP;
		}
	}
	return JSON_KEEP;
}

static void
capture_clear(struct capture *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->vals[i]);
	free(c->vals);
	free(c->channel);
	memset(c, 0, sizeof(*c));
}

/* ---- deciding ------------------------------------------------------- */

/* One outreach record: every recipient of the message in one decision. */
static int
or_record(struct exchange *ex, const char *rpath, const char *rule,
    const char *action, const char *evidence, int status, const char *reason,
    char (*fps)[AUDIT_OR_FP_LEN + 1], size_t nfps)
{
	const char		*fpp[POL_MAX_FPS];
	const char		*ev[1] = { evidence };
	char			 id[96];
	struct audit_decision	 d;

	memset(&d, 0, sizeof(d));
	/* .0: the policy engine numbers the body's decisions from .1 */
	snprintf(id, sizeof(id), "%s.0", ex->id);
	for (size_t i = 0; i < nfps && i < POL_MAX_FPS; i++)
		fpp[i] = fps[i];
	d.id = id;
	d.path = rpath;
	d.class_ = RECIPIENT_CLASS;
	d.rule = rule;
	d.action = action;
	d.count = nfps;
	d.evidence = evidence ? ev : NULL;
	d.nevidence = evidence ? 1 : 0;
	d.fingerprints = fpp;
	d.nfingerprints = nfps < POL_MAX_FPS ? nfps : POL_MAX_FPS;
	return ex_audit(ex, "request", "outreach", status, reason, &d, 1);
}

static void
or_refuse(struct exchange *ex, int status, const char *code, const char *rpath,
    const char *rule, const char *evidence, const char *reason,
    char (*fps)[AUDIT_OR_FP_LEN + 1], size_t nfps, int64_t retry_s)
{
	struct proxy_stats	*st = &ex->c->w->srv->stats;
	char			 hdr[64];

	atomic_fetch_add_explicit(status == 451 ? &st->outreach_optout :
	    strcmp(code, "quiet_hours") == 0 ? &st->outreach_quiet :
	    &st->outreach_limited, 1, memory_order_relaxed);
	if (or_record(ex, rpath, rule, "refuse", evidence, status, reason, fps,
	    nfps) < 0) {
		ex_error(ex, 503, "audit_unavailable", "the decision could not "
		    "be recorded; nothing was sent");
		return;
	}
	if (retry_s > 0) {
		snprintf(hdr, sizeof(hdr), "Retry-After: %lld\r\n",
		    (long long)retry_s);
		ex_error_hdr(ex, status, code, reason, hdr);
	} else
		ex_error(ex, status, code, reason);
}

static void
hold_free(struct or_hold *h)
{
	if (h == NULL)
		return;
	free(h->fps);
	free(h->unsub);
	free(h);
}

/* The unsubscribe link of a message to one recipient, when the policy
 * gives links out. */
static char *
unsub_link(const struct pol_outreach *o, const struct keys_ring *ring,
    const char *fp, int64_t now)
{
	const char	*url = pol_or_unsubscribe_url(o);
	char		 tok[256], *link;
	long		 n;

	if (!pol_or_has_unsubscribe(o))
		return NULL;
	n = pol_or_token_make(o, ring, fp, now, tok, sizeof(tok));
	if (n < 0)
		return NULL;
	if (url == NULL)
		url = "/unsubscribe";
	if (asprintf(&link, "%s%stoken=%s", url, strchr(url, '?') ? "&" : "?",
	    tok) < 0)
		return NULL;
	return link;
}

int
outreach_check(struct exchange *ex)
{
	const struct pol_outreach	*o =
					    pol_policy_outreach(ex->gen->policy);
	const struct cfg_principal	*p = ex->principal;
	struct proxy_server		*srv = ex->c->w->srv;
	struct audit_outreach		*store = srv->outreach;
	struct capture			 cap;
	struct or_hold			*h = NULL;
	struct json_rw			*rw = NULL;
	struct json_limits		 jl;
	enum json_status		 js;
	const struct http_header	*ct;
	const char			*rpath, *chan = NULL, *qid;
	char				 reason[384], ev[256];
	char				 norm[OR_MAX_VALUE + 8];
	char			 fpv[OR_FP_VERSIONS][AUDIT_OR_FP_LEN + 1];
	size_t				 nv;
	size_t				 idx[POL_OR_MAX_LIMITS], nidx, which;
	int64_t				 retry, until;
	int				 route, is_path = 0;

	memset(&cap, 0, sizeof(cap));
	if (o == NULL || (route = pol_or_route(o, ex->req.method, ex->req.path,
	    strlen(ex->req.path))) < 0)
		return 0;
	if (!pol_or_automated(o, p ? p->name : NULL,
	    p ? (const char *const *)p->roles : NULL, p ? p->nroles : 0))
		return 0;
	rpath = pol_or_recipient(o, route);
	if (store == NULL || ex->gen->ring == NULL) {
		ex_error(ex, 503, "outreach_unavailable", "the outreach state "
		    "is not open; nothing was sent");
		return -1;
	}

	/* Fail closed: a message custos cannot read for its recipient never
	 * goes up, whatever the route's non_json says. */
	ct = http_head_get(&ex->req, "Content-Type");
	if (evbuffer_get_length(ex->reqraw) > 0 && (ct == NULL ||
	    !body_is_json_type(ct->value, ct->value_len))) {
		snprintf(reason, sizeof(reason), "a message must be sent as "
		    "application/json");
		ex_block(ex, "request", 415, "unsupported_media_type", reason);
		return -1;
	}

	/* Who the message goes to, read from the body as the caller sent
	 * it (before request rules transform it). */
	cap.rglob = pol_or_recipient_glob(o, route);
	cap.cglob = pol_or_channel_glob(o, route);
	chan = pol_or_channel(o, route, &is_path);
	memset(&jl, 0, sizeof(jl));
	jl.max_depth = ex->gen->cfg->limits.max_json_depth;
	jl.max_string = ex->gen->cfg->limits.max_string;
	if ((rw = json_rw_new(&jl, capture_visit, &cap)) == NULL)
		goto oom;
	/* Message bodies are small (max_body bounds them): read them whole,
	 * without draining, for body_request() after this. */
	js = json_rw_feed(rw, (const char *)evbuffer_pullup(ex->reqraw, -1),
	    evbuffer_get_length(ex->reqraw), NULL);
	if (js == JSON_NEED_MORE)
		js = json_rw_finish(rw, NULL);
	if (cap.oom)
		goto oom;
	if (cap.too_many || cap.too_long || cap.bad_channel || cap.nested) {
		if (cap.nested)
			snprintf(reason, sizeof(reason), "the recipient at %s "
			    "or the channel is an object or an array", rpath);
		else if (cap.bad_channel)
			snprintf(reason, sizeof(reason), "the message names "
			    "more than one channel at %s, or one longer than "
			    "%d bytes", chan, OR_CHANNEL_MAX);
		else
			snprintf(reason, sizeof(reason), cap.too_many ?
			    "a message may name at most %d recipients" :
			    "a recipient is longer than %d bytes",
			    cap.too_many ? OR_MAX_RECIPIENTS : OR_MAX_VALUE);
		ex_block(ex, "request", 400, "bad_request", reason);
		goto fail;
	}
	if (js != JSON_DONE) {
		snprintf(reason, sizeof(reason), "a message must be one JSON "
		    "document: %s at byte %llu", json_rw_error(rw),
		    (unsigned long long)json_rw_error_offset(rw));
		ex_block(ex, "request", 400, "bad_request", reason);
		goto fail;
	}
	if (cap.n == 0) {
		snprintf(reason, sizeof(reason), "a message needs a recipient "
		    "at %s (outreach policy)", rpath);
		ex_block(ex, "request", 400, "bad_request", reason);
		goto fail;
	}
	if (chan != NULL && is_path)
		chan = cap.channel;

	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->fps = calloc(cap.n, sizeof(*h->fps))) == NULL)
		goto oom;
	h->store = store;
	h->now = audit_now_ms() / 1000;
	for (size_t i = 0; i < cap.n; i++) {
		size_t	k;

		if (pol_or_normalise(o, cap.vals[i], strlen(cap.vals[i]), norm,
		    sizeof(norm)) < 0) {
			snprintf(reason, sizeof(reason), "recipient %zu at %s "
			    "is empty or not an address", i + 1, rpath);
			ex_block(ex, "request", 400, "bad_request", reason);
			goto fail;
		}
		nv = keys_fingerprints(ex->gen->ring, norm, strlen(norm), fpv,
		    OR_FP_VERSIONS);
		sodium_memzero(norm, sizeof(norm));
		if (nv == 0) {
			ex_error(ex, 503, "outreach_unavailable", "the keyring "
			    "has no fingerprint key; nothing was sent");
			goto fail;
		}
		/* Opted out (under any fingerprint key version that still
		 * reads, so a rotation keeps every opt-out): nothing more to
		 * weigh. */
		for (size_t v = 0; v < nv; v++) {
			if (!audit_or_opted_out(store, fpv[v]))
				continue;
			snprintf(reason, sizeof(reason), "the recipient (%s) "
			    "opted out of automated contact (rule 'opt-out')",
			    fpv[v]);
			or_refuse(ex, 451, "opted_out", rpath, "opt-out",
			    "optout", reason, fpv + v, 1, 0);
			goto fail;
		}
		for (k = 0; k < h->nfps && strcmp(h->fps[k], fpv[0]); k++)
			;
		if (k == h->nfps)	/* the same person twice counts once */
			memcpy(h->fps[h->nfps++], fpv[0], sizeof(fpv[0]));
	}

	if (pol_or_quiet(o, h->now, &until, &qid)) {
		retry = until - h->now > 0 ? until - h->now : 1;
		snprintf(reason, sizeof(reason), "inside quiet hours (rule "
		    "'%s'); retry in %lld s", qid, (long long)retry);
		or_refuse(ex, 429, "quiet_hours", rpath, qid, "quiet_hours",
		    reason, h->fps, h->nfps, retry);
		goto fail;
	}

	nidx = pol_or_limits_for(o, chan, chan ? strlen(chan) : 0, idx,
	    POL_OR_MAX_LIMITS);
	ev[0] = '\0';
	for (size_t i = 0; i < nidx; i++) {
		const struct pol_or_limit *l = pol_or_limit_at(o, idx[i]);

		h->lim[i].scope = l->scope;
		h->lim[i].max = l->max;
		h->lim[i].window_s = l->window_s;
		snprintf(ev + strlen(ev), sizeof(ev) - strlen(ev), "%slimit:%s",
		    i ? "," : "", l->id);
	}
	h->nlim = nidx;
	for (size_t i = 0; nidx > 0 && i < h->nfps; i++) {
		const struct pol_or_limit	*l;
		int				 vd;

		vd = audit_or_take(store, h->fps[i], h->now, h->lim, nidx,
		    &which, &retry);
		if (vd == AUDIT_OR_OK)
			continue;
		for (size_t k = 0; k < i; k++)
			audit_or_give_back(store, h->fps[k], h->now, h->lim,
			    nidx);
		if (vd == AUDIT_OR_FULL) {
			ex_error(ex, 503, "outreach_full", "the outreach state "
			    "tracks as many recipients as it may; nothing was "
			    "sent");
			goto fail;
		}
		l = pol_or_limit_at(o, idx[which]);
		snprintf(reason, sizeof(reason), "the recipient (%s) reached "
		    "the limit '%s' (%u per %lu s%s%s); retry in %lld s",
		    h->fps[i], l->id, l->max, (unsigned long)l->window_s,
		    l->channel ? " on " : "", l->channel ? l->channel : "",
		    (long long)retry);
		snprintf(ev, sizeof(ev), "limit:%s", l->id);
		or_refuse(ex, 429, "too_many_messages", rpath, l->id, ev,
		    reason, h->fps + i, 1, retry);
		goto fail;
	}
	if (or_record(ex, rpath, NULL, "allow", ev[0] ? ev : NULL, 0, NULL,
	    h->fps, h->nfps) < 0) {
		for (size_t k = 0; nidx > 0 && k < h->nfps; k++)
			audit_or_give_back(store, h->fps[k], h->now, h->lim,
			    nidx);
		ex_error(ex, 503, "audit_unavailable", "the decision could not "
		    "be recorded; nothing was sent");
		goto fail;
	}
	atomic_fetch_add_explicit(&srv->stats.outreach_allowed, 1,
	    memory_order_relaxed);
	if (h->nfps == 1)
		h->unsub = unsub_link(o, ex->gen->ring, h->fps[0], h->now);
	ex->orh = h;
	h = NULL;
	json_rw_free(rw);
	capture_clear(&cap);
	return 0;
oom:
	ex_error(ex, 503, "overloaded", "out of memory");
fail:
	json_rw_free(rw);
	capture_clear(&cap);
	hold_free(h);
	return -1;
}

void
outreach_sent(struct exchange *ex)
{
	if (ex->orh != NULL)
		ex->orh->sent = 1;
}

const char *
outreach_link(const struct exchange *ex)
{
	return ex->orh != NULL ? ex->orh->unsub : NULL;
}

void
outreach_free(struct exchange *ex)
{
	struct or_hold	*h = ex->orh;

	/* Taken but never sent (the request failed on its way, or the client
	 * left): the sends did not happen, so they do not count. */
	for (size_t i = 0; h != NULL && !h->sent && h->nlim > 0 &&
	    i < h->nfps; i++)
		audit_or_give_back(h->store, h->fps[i], h->now, h->lim,
		    h->nlim);
	hold_free(h);
	ex->orh = NULL;
}

/* ---- the public unsubscribe link ------------------------------------ */

int
outreach_is_unsubscribe(const struct exchange *ex)
{
	const struct pol_outreach *o = pol_policy_outreach(ex->gen->policy);

	return o != NULL && pol_or_has_unsubscribe(o) &&
	    strcmp(ex->req.path, OUTREACH_UNSUBSCRIBE_PATH) == 0;
}

/* The token from the query string, or from a form body (POST). */
static int
find_token(struct exchange *ex, char *tok, size_t size)
{
	char		 key[16], *form = NULL;
	const char	*q;
	size_t		 len;
	int		 r, found = 0;

	for (int pass = 0; pass < 2 && !found; pass++) {
		if (pass == 0)
			q = ex->req.query;
		else {
			if ((len = evbuffer_get_length(ex->reqraw)) == 0 ||
			    (form = strndup((const char *)evbuffer_pullup(
			    ex->reqraw, -1), len)) == NULL)
				break;
			q = form;
		}
		while ((r = admin_query_next(&q, key, sizeof(key), tok,
		    size)) != 0) {
			if (r > 0 && strcmp(key, "token") == 0) {
				found = 1;
				break;
			}
		}
	}
	free(form);
	return found ? 0 : -1;
}

static int
wants_html(const struct exchange *ex)
{
	const struct http_header *a = http_head_get(&ex->req, "Accept");

	return a != NULL && memmem(a->value, a->value_len, "text/html", 9) !=
	    NULL;
}

void
outreach_unsubscribe(struct exchange *ex)
{
	const struct pol_outreach	*o =
					    pol_policy_outreach(ex->gen->policy);
	struct audit_outreach		*store = ex->c->w->srv->outreach;
	char				 tok[256], fp[AUDIT_OR_FP_LEN + 1];
	char				 err[256], body[512];
	const char			*why = NULL;
	int64_t				 now = audit_now_ms();
	int				 rc, n;

	if (!(ex->req.method_bit & (CFG_M_GET | CFG_M_POST))) {
		ex_error(ex, 405, "method_not_allowed",
		    "the unsubscribe link takes GET or POST");
		return;
	}
	if (o == NULL || store == NULL) {
		ex_error(ex, 503, "outreach_unavailable", "opt-outs cannot be "
		    "recorded now; try again later");
		return;
	}
	if (find_token(ex, tok, sizeof(tok)) < 0) {
		ex_error(ex, 400, "invalid_token", "the link has no token");
		return;
	}
	if (pol_or_token_check(o, ex->gen->ring, tok, strlen(tok), now / 1000,
	    fp, &why) < 0) {
		snprintf(body, sizeof(body), "the unsubscribe link is not "
		    "valid: %s", why ? why : "malformed");
		ex_block(ex, "request", 400, "invalid_token", body);
		return;
	}
	if (ex_audit_down(ex))
		return;
	if ((rc = audit_or_optout_add(store, fp, "unsubscribe", NULL, NULL, now,
	    err, sizeof(err))) < 0) {
		ex_error(ex, 503, "outreach_unavailable", err);
		return;
	}
	{
		char	fps[1][AUDIT_OR_FP_LEN + 1];

		memcpy(fps[0], fp, sizeof(fps[0]));
		(void)or_record(ex, pol_or_recipient(o, 0), "opt-out", "optout",
		    "source:unsubscribe", 200, NULL, fps, 1);
	}
	if (wants_html(ex)) {
		n = snprintf(body, sizeof(body), "<!doctype html>\n<meta "
		    "charset=\"utf-8\"><title>Unsubscribed</title>\n<p>You "
		    "will receive no more automated messages from us.</p>\n");
		ex_reply(ex, 200, "text/html; charset=utf-8", body, (size_t)n,
		    NULL);
		return;
	}
	n = snprintf(body, sizeof(body), "{\"status\":\"opted_out\","
	    "\"fingerprint\":\"%s\",\"already\":%s}\n", fp, rc == 1 ?
	    "true" : "false");
	ex_reply_json(ex, 200, body, (size_t)n);
}

/* ---- admin API: /v1/optouts ----------------------------------------- */

struct optout_req {
	char	*recipient, *fingerprint, *reason;
	int	 failed;
	char	*err;
	size_t	 errsize;
};

static enum json_action
optout_visit(void *ud, const struct json_path *p, const struct json_value *v,
    struct json_edit *e)
{
	struct optout_req	*r = ud;
	const char		*key;
	size_t			 klen;
	uint64_t		 idx;
	char			**slot = NULL;

	(void)e;
	if (json_path_depth(p) == 0)
		return v->type == JSON_OBJECT ? JSON_KEEP : (snprintf(r->err,
		    r->errsize, "the body must be a JSON object"), r->failed =
		    1, JSON_STOP);
	if (json_path_depth(p) > 1 || json_path_seg(p, 0, &key, &klen,
	    &idx) != 1) {
		snprintf(r->err, r->errsize, "members are strings");
		r->failed = 1;
		return JSON_STOP;
	}
	if (klen == 9 && memcmp(key, "recipient", 9) == 0)
		slot = &r->recipient;
	else if (klen == 11 && memcmp(key, "fingerprint", 11) == 0)
		slot = &r->fingerprint;
	else if (klen == 6 && memcmp(key, "reason", 6) == 0)
		slot = &r->reason;
	if (slot == NULL) {
		snprintf(r->err, r->errsize, "unknown member '%.*s' "
		    "(recipient, fingerprint, reason)",
		    (int)(klen < 40 ? klen : 40), key);
		r->failed = 1;
		return JSON_STOP;
	}
	if (v->type != JSON_STRING || *slot != NULL) {
		snprintf(r->err, r->errsize, "'%.*s' must be one string",
		    (int)klen, key);
		r->failed = 1;
		return JSON_STOP;
	}
	if ((*slot = strndup(v->ptr, v->len)) == NULL) {
		snprintf(r->err, r->errsize, "out of memory");
		r->failed = 1;
		return JSON_STOP;
	}
	return JSON_KEEP;
}

static void
optout_req_clear(struct optout_req *r)
{
	if (r->recipient != NULL)
		sodium_memzero(r->recipient, strlen(r->recipient));
	free(r->recipient);
	free(r->fingerprint);
	free(r->reason);
	r->recipient = r->fingerprint = r->reason = NULL;
}

/* Parses an opt-out body: 0, or -1 with err for a 400. */
static int
optout_parse(struct exchange *ex, struct optout_req *r, char *err,
    size_t errsize)
{
	struct json_limits	 jl = {
		.max_depth = 2,
		.max_string = 4096,
		.max_body = 65536,
	};
	struct json_rw		*rw;
	enum json_status	 js;
	size_t			 len = evbuffer_get_length(ex->reqraw);

	memset(r, 0, sizeof(*r));
	r->err = err;
	r->errsize = errsize;
	if (len == 0)
		return 0;
	if ((rw = json_rw_new(&jl, optout_visit, r)) == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	js = json_rw_feed(rw, (const char *)evbuffer_pullup(ex->reqraw, -1),
	    len, NULL);
	if (js == JSON_NEED_MORE)
		js = json_rw_finish(rw, NULL);
	if (!r->failed && js != JSON_DONE)
		snprintf(err, errsize, "the body is not a valid JSON "
		    "object: %s", json_rw_error(rw));
	json_rw_free(rw);
	if (r->failed || js != JSON_DONE) {
		optout_req_clear(r);
		return -1;
	}
	return 0;
}

/* The fingerprints an admin request names: "fingerprint" as given, or the
 * normalised "recipient" under every fingerprint key version that still
 * reads (the writer's first). 0 with *n set, or -1 after answering. */
static int
optout_target(struct exchange *ex, const struct optout_req *r,
    char (*fp)[AUDIT_OR_FP_LEN + 1], size_t *n)
{
	const struct pol_outreach	*o =
					    pol_policy_outreach(ex->gen->policy);
	char				 norm[OR_MAX_VALUE + 8];

	if ((r->recipient == NULL) == (r->fingerprint == NULL)) {
		ex_error(ex, 400, "bad_request", "give recipient (an address) "
		    "or fingerprint, not both");
		return -1;
	}
	if (r->fingerprint != NULL) {
		if (!audit_or_fp_valid(r->fingerprint)) {
			ex_error(ex, 400, "bad_request", "fingerprint: not a "
			    "custos fingerprint (22 base64url characters)");
			return -1;
		}
		memcpy(fp[0], r->fingerprint, AUDIT_OR_FP_LEN + 1);
		*n = 1;
		return 0;
	}
	if (o == NULL || ex->gen->ring == NULL) {
		ex_error(ex, 409, "no_outreach", "the policy has no outreach "
		    "section: addresses cannot be normalised");
		return -1;
	}
	if (pol_or_normalise(o, r->recipient, strlen(r->recipient), norm,
	    sizeof(norm)) < 0) {
		ex_error(ex, 400, "bad_request", "recipient: empty or not an "
		    "address");
		return -1;
	}
	*n = keys_fingerprints(ex->gen->ring, norm, strlen(norm), fp,
	    OR_FP_VERSIONS);
	sodium_memzero(norm, sizeof(norm));
	if (*n == 0) {
		ex_error(ex, 503, "outreach_unavailable", "the keyring has no "
		    "fingerprint key");
		return -1;
	}
	return 0;
}

/* The first of <fp> that is opted out, or -1. */
static int
opted_out_any(struct audit_outreach *store, char (*fp)[AUDIT_OR_FP_LEN + 1],
    size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (audit_or_opted_out(store, fp[i]))
			return (int)i;
	return -1;
}

static int
no_outreach_store(struct exchange *ex)
{
	if (ex->c->w->srv->outreach != NULL)
		return 0;
	ex_error(ex, 409, "no_outreach", "opt-outs are kept only when the "
	    "policy has an outreach section (and state_dir is set)");
	return 1;
}

/* An admin change as an audit record: who, what, why; the fingerprint,
 * never the address. */
static int
optout_record(struct exchange *ex, const struct cfg_admin_token *t,
    const char *action, const char *fp, const char *why)
{
	const struct pol_outreach	*o =
					    pol_policy_outreach(ex->gen->policy);
	char				 reason[600];
	char				 fps[1][AUDIT_OR_FP_LEN + 1];

	snprintf(reason, sizeof(reason), "%s by %s%s%s", action, t ? t->name :
	    "?", why ? ": " : "", why ? why : "");
	memcpy(fps[0], fp, sizeof(fps[0]));
	return or_record(ex, o ? pol_or_recipient(o, 0) : "$", "opt-out",
	    action, "source:admin", 0, reason, fps, 1);
}

void
admin_optouts_add(struct exchange *ex, const struct cfg_admin_token *t)
{
	struct optout_req	 r;
	struct audit_outreach	*store = ex->c->w->srv->outreach;
	char			 err[512], body[256];
	char			 fp[OR_FP_VERSIONS][AUDIT_OR_FP_LEN + 1];
	size_t			 nfp;
	int			 rc, n, i;

	if (no_outreach_store(ex))
		return;
	if (optout_parse(ex, &r, err, sizeof(err)) < 0) {
		ex_error(ex, 400, "bad_request", err);
		return;
	}
	if (r.reason != NULL &&
	    admin_text_check("reason", r.reason, err, sizeof(err)) < 0) {
		ex_error(ex, 400, "bad_request", err);
		goto out;
	}
	if (optout_target(ex, &r, fp, &nfp) < 0)
		goto out;
	if (ex_audit_down(ex))
		goto out;
	if ((i = opted_out_any(store, fp, nfp)) >= 0)
		rc = 1;		/* already, maybe under an older key version */
	else if ((rc = audit_or_optout_add(store, fp[i = 0], "admin",
	    t ? t->name : NULL, r.reason, audit_now_ms(), err,
	    sizeof(err))) < 0) {
		ex_error(ex, 500, "internal", err);
		goto out;
	}
	if (rc == 0)
		(void)optout_record(ex, t, "optout", fp[i], r.reason);
	n = snprintf(body, sizeof(body), "{\"fingerprint\":\"%s\",\"status\":"
	    "\"opted_out\",\"already\":%s}\n", fp[i], rc == 1 ? "true" :
	    "false");
	ex_reply_json(ex, rc == 1 ? 200 : 201, body, (size_t)n);
out:
	optout_req_clear(&r);
}

void
admin_optouts_remove(struct exchange *ex, const struct cfg_admin_token *t)
{
	struct optout_req	 r;
	const char		*id = strrchr(ex->req.path, '/') + 1;
	const char		*q = ex->req.query;
	char			 err[512], body[256], key[16], val[512];
	char			 fp[OR_FP_VERSIONS][AUDIT_OR_FP_LEN + 1];
	size_t			 nfp;
	int			 n, i;

	if (no_outreach_store(ex))
		return;
	if (optout_parse(ex, &r, err, sizeof(err)) < 0) {
		ex_error(ex, 400, "bad_request", err);
		return;
	}
	while (r.reason == NULL && (n = admin_query_next(&q, key, sizeof(key),
	    val, sizeof(val))) != 0)
		if (n > 0 && strcmp(key, "reason") == 0 &&
		    (r.reason = strdup(val)) == NULL) {
			ex_error(ex, 503, "overloaded", "out of memory");
			goto out;
		}
	if (r.reason == NULL || r.reason[strspn(r.reason, " \t")] == '\0') {
		ex_error(ex, 400, "bad_request", "reason: required (the "
		    "recorded re-consent: when and how the person agreed)");
		goto out;
	}
	if (admin_text_check("reason", r.reason, err, sizeof(err)) < 0) {
		ex_error(ex, 400, "bad_request", err);
		goto out;
	}
	if (strcmp(id, "optouts") != 0) {
		if (r.fingerprint != NULL || r.recipient != NULL) {
			ex_error(ex, 400, "bad_request", "the fingerprint is "
			    "in the path; the body holds only the reason");
			goto out;
		}
		if ((r.fingerprint = strdup(id)) == NULL) {
			ex_error(ex, 503, "overloaded", "out of memory");
			goto out;
		}
	}
	if (optout_target(ex, &r, fp, &nfp) < 0)
		goto out;
	if (ex_audit_down(ex))
		goto out;
	if ((i = opted_out_any(ex->c->w->srv->outreach, fp, nfp)) < 0)
		i = 0;		/* remove() answers ENOENT */
	if (audit_or_optout_remove(ex->c->w->srv->outreach, fp[i], t ? t->name :
	    NULL, r.reason, audit_now_ms(), err, sizeof(err)) < 0) {
		if (errno == ENOENT)
			ex_error(ex, 404, "not_found", "this recipient has not "
			    "opted out");
		else
			ex_error(ex, 500, "internal", err);
		goto out;
	}
	(void)optout_record(ex, t, "consent", fp[i], r.reason);
	n = snprintf(body, sizeof(body), "{\"fingerprint\":\"%s\",\"status\":"
	    "\"consent_recorded\"}\n", fp[i]);
	ex_reply_json(ex, 200, body, (size_t)n);
out:
	optout_req_clear(&r);
}

struct list_ctx {
	struct evbuffer	*b;
	size_t		 n;
	char		(*only)[AUDIT_OR_FP_LEN + 1];	/* one person */
	size_t		 nonly;
};

static void
list_one(void *arg, const struct audit_or_optout *x)
{
	struct list_ctx	*l = arg;
	char		 ts[AUDIT_TIME_LEN + 1];

	if (l->only != NULL) {
		size_t	i;

		for (i = 0; i < l->nonly && strcmp(l->only[i], x->fp) != 0; i++)
			;
		if (i == l->nonly)
			return;
	}
	audit_ms_format(x->since_ms, ts);
	evbuffer_add_printf(l->b, "%s{\"fingerprint\":\"%s\",\"since\":"
	    "\"%s\",\"source\":\"%s\"}", l->n ? "," : "", x->fp, ts,
	    x->source);
	l->n++;
}

void
admin_optouts_list(struct exchange *ex, const struct cfg_admin_token *t)
{
	struct list_ctx		 l;
	struct optout_req	 r;
	const char		*q = ex->req.query;
	char			 key[16], val[512];
	char			 fp[OR_FP_VERSIONS][AUDIT_OR_FP_LEN + 1];
	int			 n;

	(void)t;
	memset(&l, 0, sizeof(l));
	memset(&r, 0, sizeof(r));
	if (no_outreach_store(ex))
		return;
	while ((n = admin_query_next(&q, key, sizeof(key), val,
	    sizeof(val))) != 0) {
		char	**slot = n < 0 ? NULL : strcmp(key, "recipient") == 0 ?
			    &r.recipient : strcmp(key, "fingerprint") == 0 ?
			    &r.fingerprint : NULL;

		if (slot == NULL || *slot != NULL) {
			ex_error(ex, 400, "bad_request", "query: "
			    "recipient=ADDRESS or fingerprint=FP, once");
			goto out;
		}
		if ((*slot = strdup(val)) == NULL) {
			ex_error(ex, 503, "overloaded", "out of memory");
			goto out;
		}
	}
	if (r.recipient != NULL || r.fingerprint != NULL) {
		if (optout_target(ex, &r, fp, &l.nonly) < 0)
			goto out;
		l.only = fp;
	}
	if ((l.b = evbuffer_new()) == NULL) {
		ex_error(ex, 503, "overloaded", "out of memory");
		goto out;
	}
	evbuffer_add_printf(l.b, "{\"optouts\":[");
	audit_or_optout_each(ex->c->w->srv->outreach, list_one, &l);
	evbuffer_add_printf(l.b, "],\"count\":%zu}\n", l.n);
	ex_reply_json(ex, 200, (const char *)evbuffer_pullup(l.b, -1),
	    evbuffer_get_length(l.b));
	evbuffer_free(l.b);
out:
	optout_req_clear(&r);
}
