/* proxy/body.c — the body pipeline every JSON body takes: content-type and
 * content-encoding decisions, zlib inflate with bounded output, the streaming
 * JSON rewriter, and the buffer window that decides between a clean error and
 * a cut connection. Fails closed: what cannot be read as JSON does not pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "proxy/internal.h"
#include "classifiers/classifiers.h"
#include "policies/policies.h"
#include "proxy/json.h"

enum { BODY_NONE, BODY_PASS, BODY_JSON };

#define INFLATE_CHUNK	65536
#define CLIENT_HIGH	(1 << 20)	/* stop producing past this much unsent */
#define NO_LENGTH	(-2)

/* application/json, application/...+json, application/x-ndjson,
 * application/jsonl, application/json-seq is not JSON text. Parameters
 * (charset) are ignored; only UTF-8 is accepted by the rewriter anyway. */
int
body_is_json_type(const char *ct, size_t len)
{
	size_t n = 0;

	while (n < len && ct[n] != ';')
		n++;
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	if (n == 16 && !strncasecmp(ct, "application/json", 16))
		return 1;
	if (n > 17 && !strncasecmp(ct, "application/", 12) &&
	    !strncasecmp(ct + n - 5, "+json", 5))
		return 1;
	return body_is_ndjson_type(ct, len);
}

int
body_is_ndjson_type(const char *ct, size_t len)
{
	size_t n = 0;

	while (n < len && ct[n] != ';')
		n++;
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	return (n == 20 && !strncasecmp(ct, "application/x-ndjson", 20)) ||
	    (n == 18 && !strncasecmp(ct, "application/x-jsonl", 18)) ||
	    (n == 17 && !strncasecmp(ct, "application/jsonl", 17)) ||
	    (n == 20 && !strncasecmp(ct, "application/jsonlines", 20));
}

struct json_rw *
body_rw(const struct proxy_gen *g, int ndjson, struct proxy_visit *pv)
{
	const struct cfg_limits	*l = &g->cfg->limits;
	struct json_limits	 jl = {
		.max_depth = l->max_json_depth,
		.max_string = l->max_string,
		.max_body = 0,
		.allow_bom = 0,
		.ndjson = ndjson,
	};

	return json_rw_new(&jl, pv ? proxy_visit : NULL, pv);
}

/* Starts the policy engine for one direction of the exchange; without
 * policies the body still takes the rewriter, with no visitor. */
static int
eval_begin(struct exchange *ex, enum pol_dir dir)
{
	struct pol_ctx ctx;

	pol_eval_free(ex->ev);
	ex->ev = NULL;
	override_end(ex);
	memset(&ex->pv, 0, sizeof(ex->pv));
	if (ex->gen->policy == NULL)
		return 0;
	memset(&ctx, 0, sizeof(ctx));
	ctx.method = ex->req.method;
	ctx.path = ex->req.path;
	ctx.path_len = strlen(ex->req.path);
	ctx.route = ex->route_name;
	ctx.principal = ex->principal ? ex->principal->name : NULL;
	ctx.roles = ex->principal ?
	    (const char *const *)ex->principal->roles : NULL;
	ctx.nroles = ex->principal ? ex->principal->nroles : 0;
	ctx.dir = dir;
	ctx.justified = http_head_get(&ex->req, "X-Custos-Justification") != NULL;
	ctx.request_id = ex->id;
	/* Fingerprints (keyed BLAKE2b, the dearest part of a decision) are
	 * for the audit log alone; without one nothing reads them. */
	ctx.no_fps = ex->c->w->srv->audit == NULL;
	ctx.fpcache = ex->c->w->fpc;
	override_begin(ex, &ctx);
	ex->ev = pol_eval_new(ex->gen->policy, &ctx, ex->gen->ring,
	    ex->c->w->cls);
	if (ex->ev == NULL)
		return -1;
	ex->pv.ev = ex->ev;
	return 0;
}

static struct proxy_visit *
eval_visitor(struct exchange *ex)
{
	return ex->ev != NULL ? &ex->pv : NULL;
}

/* Writes the body's decisions to the audit log (nothing when there were
 * none). -1 when the log cannot take them: the caller fails closed. */
static int
eval_record(struct exchange *ex, const char *dir, const char *type,
    int status, const char *reason)
{
	const struct pol_decision	*d;
	struct audit_decision		*ad = NULL;
	const char			**fps = NULL, **evi = NULL;
	size_t				 n = 0;
	int				 rc = -1;

	if (ex->ev != NULL)
		d = pol_eval_decisions(ex->ev, &n);
	if (n == 0 && type == NULL)
		return 0;
	if (n > 0) {
		ad = calloc(n, sizeof(*ad));
		fps = calloc(n * POL_MAX_FPS, sizeof(*fps));
		evi = calloc(n * CLS_MAX_EVIDENCE, sizeof(*evi));
		if (ad == NULL || fps == NULL || evi == NULL)
			goto out;
		for (size_t i = 0; i < n; i++)
			pol_decision_to_audit(&d[i], &ad[i], fps + i * POL_MAX_FPS,
			    evi + i * CLS_MAX_EVIDENCE);
	}
	rc = ex_audit(ex, dir, type, status, reason, ad, n);
out:
	free(ad);
	free(fps);
	free(evi);
	return rc;
}

/* Reveal and break-glass decisions count against the hourly quota of the
 * principal's roles (config `quotas`); past it the body is denied: 0 to go
 * on, -1 after answering 403. */
static int
eval_quota(struct exchange *ex, const char *dir)
{
	const struct pol_decision	*d;
	size_t				 n = 0;
	long				 reveals = 0, limit = 0;
	const char			*role = NULL;
	char				 reason[200];

	if (ex->ev == NULL || ex->gen->cfg->nquotas == 0)
		return 0;
	d = pol_eval_decisions(ex->ev, &n);
	for (size_t i = 0; i < n; i++)
		if (d[i].action == POL_A_REVEAL || d[i].break_glass == POL_BG_USED)
			reveals += (long)d[i].count;
	if (quota_take(ex->c->w->srv, ex->gen->cfg, ex->principal, reveals,
	    &role, &limit) == 0)
		return 0;
	snprintf(reason, sizeof(reason), "the reveal quota of role '%s' (%ld "
	    "per hour) is used up; this request would take %ld more", role,
	    limit, reveals);
	(void)eval_record(ex, dir, "deny", 403, reason);
	upstream_release(ex, 0);
	ex_error(ex, 403, "quota_exceeded", reason);
	return -1;
}

/* A denial: recorded with the decisions that led to it, then 403 naming the
 * rule (or, when the status line already went out, the connection is cut). */
static void
eval_deny(struct exchange *ex, const char *dir)
{
	char		 reason[200];
	const char	*rule = pol_eval_denied_rule(ex->ev);

	snprintf(reason, sizeof(reason), "denied by policy rule '%s'",
	    rule ? rule : "?");
	(void)eval_record(ex, dir, "deny", 403, reason);
	upstream_release(ex, 0);
	ex_error(ex, 403, "forbidden", reason);
}

void
body_free(struct exchange *ex)
{
	if (ex->zs != NULL) {
		inflateEnd(ex->zs);
		free(ex->zs);
		ex->zs = NULL;
	}
	json_rw_free(ex->rw);
	ex->rw = NULL;
	pol_eval_free(ex->ev);
	ex->ev = NULL;
	override_end(ex);	/* after the eval: its decisions name ids in it */
	if (ex->raw)
		evbuffer_free(ex->raw);
	if (ex->out)
		evbuffer_free(ex->out);
	ex->raw = ex->out = NULL;
}

static void
json_reason(char *buf, size_t size, const char *what, struct json_rw *rw)
{
	if (rw == NULL)
		snprintf(buf, size, "%s could not be decompressed", what);
	else
		snprintf(buf, size, "%s is not valid JSON: %s at byte %llu",
		    what, json_rw_error(rw),
		    (unsigned long long)json_rw_error_offset(rw));
}

int
body_request(struct exchange *ex, struct evbuffer *in, struct evbuffer *out)
{
	const struct http_header	*ce = http_head_get(&ex->req,
					    "Content-Encoding");
	const struct http_header	*ct = http_head_get(&ex->req,
					    "Content-Type");
	struct json_rw			*rw;
	struct evbuffer_iovec		 v[16];
	enum json_status		 st = JSON_NEED_MORE;
	char				 reason[256];
	int				 n;

	if (ce != NULL && !(ce->value_len == 8 &&
	    !strncasecmp(ce->value, "identity", 8))) {
		ex_error(ex, 415, "unsupported_media_type",
		    "compressed request bodies are not accepted");
		return -1;
	}
	if (eval_begin(ex, POL_DIR_REQUEST) < 0 ||
	    (rw = body_rw(ex->gen, ct != NULL && body_is_ndjson_type(ct->value,
	    ct->value_len), eval_visitor(ex))) == NULL) {
		ex_error(ex, 503, "overloaded", "out of memory");
		return -1;
	}
	while (st == JSON_NEED_MORE && evbuffer_get_length(in) > 0) {
		n = evbuffer_peek(in, -1, NULL, v, 16);
		if (n > 16)
			n = 16;
		for (int i = 0; i < n && st == JSON_NEED_MORE; i++) {
			st = json_rw_feed(rw, v[i].iov_base, v[i].iov_len, out);
			evbuffer_drain(in, v[i].iov_len);
		}
	}
	if (st == JSON_NEED_MORE)
		st = json_rw_finish(rw, out);
	if (st == JSON_STOPPED && ex->pv.denied) {
		json_rw_free(rw);
		eval_deny(ex, "request");
		return -1;
	}
	if (st != JSON_DONE) {
		atomic_fetch_add_explicit(&ex->c->w->srv->stats.json_rejected,
		    1, memory_order_relaxed);
		json_reason(reason, sizeof(reason), "the request body", rw);
		json_rw_free(rw);
		if (st == JSON_TOO_LONG)
			ex_block(ex, "request", 413, "payload_too_large",
			    reason);
		else
			ex_block(ex, "request", 400, "bad_request", reason);
		return -1;
	}
	json_rw_free(rw);
	if (eval_quota(ex, "request") < 0)
		return -1;
	if (eval_record(ex, "request", NULL, 0, NULL) < 0) {
		ex_error(ex, 503, "audit_unavailable",
		    "the decisions could not be recorded; nothing was sent");
		return -1;
	}
	return 0;
}

int
body_response_head(struct exchange *ex)
{
	const struct http_head		*r = &ex->resp;
	const struct http_header	*ct = http_head_get(r, "Content-Type");
	const struct http_header	*ce = http_head_get(r, "Content-Encoding");
	int				 json, zmode = 0;
	char				 ctype[128] = "";

	if ((ex->raw = evbuffer_new()) == NULL ||
	    (ex->out = evbuffer_new()) == NULL)
		goto oom;
	ex->mode = BODY_PASS;
	if (ex->req.method_bit == CFG_M_HEAD || r->status == 204 ||
	    r->status == 304) {
		ex->mode = BODY_NONE;
		return 0;
	}
	if (ct != NULL)
		snprintf(ctype, sizeof(ctype), "%.*s", (int)ct->value_len,
		    ct->value);
	json = ct != NULL && body_is_json_type(ctype, strlen(ctype));
	if (ce != NULL && !(ce->value_len == 8 &&
	    !strncasecmp(ce->value, "identity", 8))) {
		if ((ce->value_len == 4 && !strncasecmp(ce->value, "gzip", 4)) ||
		    (ce->value_len == 6 && !strncasecmp(ce->value, "x-gzip", 6)))
			zmode = 16 + MAX_WBITS;
		else if (ce->value_len == 7 && !strncasecmp(ce->value, "deflate", 7))
			zmode = MAX_WBITS;
		else if (json || ex->route->non_json != CFG_NON_JSON_PASS) {
			ex_error(ex, 502, "bad_upstream_body",
			    "the upstream used a content encoding custos cannot "
			    "read");
			return -1;
		}
	}
	if (!json) {
		if (ex->route->non_json != CFG_NON_JSON_PASS &&
		    r->content_length != 0) {
			/* Not JSON, and this route does not let other types
			 * pass: nothing of it leaves. */
			(void)ex_audit(ex, "response", "block", 502,
			    "non-JSON body on a JSON-only route", NULL, 0);
			ex_error(ex, 502, "bad_upstream_body",
			    "the upstream sent a body that is not JSON on a "
			    "route that only passes JSON");
			return -1;
		}
		return 0;	/* passed as it is, encoding included */
	}
	ex->mode = BODY_JSON;
	if (zmode != 0) {
		if ((ex->zs = calloc(1, sizeof(*ex->zs))) == NULL)
			goto oom;
		if (inflateInit2(ex->zs, zmode) != Z_OK) {
			free(ex->zs);
			ex->zs = NULL;
			goto oom;
		}
	}
	if (eval_begin(ex, POL_DIR_RESPONSE) < 0 ||
	    (ex->rw = body_rw(ex->gen, body_is_ndjson_type(ctype, strlen(ctype)),
	    eval_visitor(ex))) == NULL)
		goto oom;
	return 0;
oom:
	ex_error(ex, 503, "overloaded", "out of memory");
	return -1;
}

/* Feeds one piece of (decoded) JSON to the rewriter. */
static enum json_status
feed(struct exchange *ex, const void *p, size_t n)
{
	return json_rw_feed(ex->rw, p, n, ex->out);
}

static int
client_full(const struct exchange *ex)
{
	return ex->committed &&
	    ex_client_pending(ex) + evbuffer_get_length(ex->out) > CLIENT_HIGH;
}

/* 1 while input waits: raw bytes, or inflated output zlib still holds. */
static int
input_pending(const struct exchange *ex)
{
	return evbuffer_get_length(ex->raw) > 0 || (ex->zs && ex->zpending);
}

/* Runs what is in ex->raw through inflate (output bounded to one chunk per
 * step: a small bomb cannot grow memory) and the rewriter into ex->out,
 * stopping when the client already has CLIENT_HIGH unsent bytes; the rest
 * waits until the client drains. */
static enum json_status
pump_json(struct exchange *ex)
{
	struct evbuffer_iovec	 v;
	enum json_status	 st = JSON_NEED_MORE;
	unsigned char		 buf[INFLATE_CHUNK];
	size_t			 used, made;
	int			 zr;

	while (st == JSON_NEED_MORE && input_pending(ex) && !client_full(ex)) {
		if (ex->zs == NULL) {
			if (evbuffer_peek(ex->raw, -1, NULL, &v, 1) < 1)
				break;
			st = feed(ex, v.iov_base, v.iov_len);
			evbuffer_drain(ex->raw, v.iov_len);
			continue;
		}
		if (ex->zdone)		/* bytes after the compressed stream */
			goto zfail;
		v.iov_base = NULL;
		v.iov_len = 0;
		if (evbuffer_get_length(ex->raw) > 0)
			evbuffer_peek(ex->raw, -1, NULL, &v, 1);
		ex->zs->next_in = v.iov_base;
		ex->zs->avail_in = (uInt)v.iov_len;
		ex->zs->next_out = buf;
		ex->zs->avail_out = sizeof(buf);
		zr = inflate(ex->zs, Z_NO_FLUSH);
		used = v.iov_len - ex->zs->avail_in;
		made = sizeof(buf) - ex->zs->avail_out;
		evbuffer_drain(ex->raw, used);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
			goto zfail;
		ex->zpending = ex->zs->avail_out == 0;
		if (made > 0)
			st = feed(ex, buf, made);
		if (zr == Z_STREAM_END) {
			ex->zdone = 1;
			ex->zpending = 0;
			if (evbuffer_get_length(ex->raw) > 0)
				goto zfail;
		}
		if (used == 0 && made == 0)
			break;
	}
	return st;
zfail:
	ex->zfail = 1;
	return JSON_BAD;
}

int
body_response_data(struct exchange *ex, int eof)
{
	const struct cfg_limits	*l = &ex->gen->cfg->limits;
	enum json_status	 st;
	char			 reason[256];

	if (ex->state != EX_RESPONSE || ex->out == NULL)
		return 0;
	if (eof == 1)
		ex->body_eof = 1;
	switch (ex->mode) {
	case BODY_NONE:
		evbuffer_drain(ex->raw, evbuffer_get_length(ex->raw));
		if (!ex->body_eof)
			return 0;
		ex_start_response(ex, ex->resp.status, 0, NO_LENGTH);
		ex_finish(ex);
		return -1;
	case BODY_PASS:
		evbuffer_add_buffer(ex->out, ex->raw);
		break;
	case BODY_JSON:
		st = pump_json(ex);
		if (st == JSON_NEED_MORE && ex->body_eof && !input_pending(ex)) {
			if (ex->zs != NULL && !ex->zdone) {
				ex->zfail = 1;	/* truncated compressed body */
				st = JSON_BAD;
			}
			else
				st = json_rw_finish(ex->rw, ex->out);
		}
		if (st == JSON_STOPPED && ex->pv.denied) {
			eval_deny(ex, "response");
			return -1;
		}
		if (st != JSON_NEED_MORE && st != JSON_DONE) {
			atomic_fetch_add_explicit(
			    &ex->c->w->srv->stats.json_rejected, 1,
			    memory_order_relaxed);
			json_reason(reason, sizeof(reason),
			    "the upstream response", ex->zfail ? NULL : ex->rw);
			upstream_release(ex, 0);
			/* Before the status line: a clean 502; after it,
			 * the connection is cut (ex_error aborts). */
			ex_block(ex, "response", 502, "bad_upstream_json",
			    reason);
			return -1;
		}
		break;
	}
	/* The decisions are recorded before the last byte leaves: a body whose
	 * decisions the log cannot take is not completed. */
	if (ex->mode == BODY_JSON && ex->body_eof && !input_pending(ex) &&
	    eval_quota(ex, "response") < 0)
		return -1;
	if (ex->mode == BODY_JSON && ex->body_eof && !input_pending(ex) &&
	    eval_record(ex, "response", NULL, ex->resp.status, NULL) < 0) {
		upstream_release(ex, 0);
		ex_error(ex, 503, "audit_unavailable",
		    "the decisions could not be recorded");
		return -1;
	}
	if (!ex->committed) {
		if (ex->body_eof && !input_pending(ex)) {
			ex_start_response(ex, ex->resp.status, 0,
			    (int64_t)evbuffer_get_length(ex->out));
			ex_send(ex, ex->out);
			ex_finish(ex);
			return -1;
		}
		/* Inside the window a bad body still gets a clean 502. */
		if (evbuffer_get_length(ex->out) < l->buffer_window)
			return 0;
		ex_start_response(ex, ex->resp.status, 1, -1);
	}
	ex_send(ex, ex->out);
	if (ex->body_eof && !input_pending(ex)) {
		ex_finish(ex);
		return -1;
	}
	return 0;
}
