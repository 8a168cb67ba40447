/* proxy/admin_audit.c — the reviewers' and auditors' admin endpoints: one
 * decision explained, human overrides (create, list, revoke) and the audit
 * export. Runs on the main thread's loop (admin_handle has checked the
 * token's role). */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "audit/audit.h"
#include "classifiers/classifiers.h"
#include "policies/policies.h"
#include "proxy/internal.h"
#include "proxy/json.h"

/* Reading the log for one decision happens on the main thread: past this
 * many bytes (newest files first) the search gives up with a 404 that says
 * so, rather than stall signals and reloads behind a scan of a huge log. */
#define ADMIN_SCAN_MAX		((uint64_t)256 << 20)
/* An export is built in memory before it is sent: bounded. */
#define ADMIN_EXPORT_MAX	((size_t)128 << 20)
#define ADMIN_STR_MAX		4096	/* one member of an override body */
#define ADMIN_ID_MAX		96	/* decision ids: request id + ".N" */
#define AUDIT_SUBMIT_MS		2000

static const char ovr_actions[] =
    "allow, reclassify, mask, redact, drop, hash, tokenize, encrypt or deny";

/* ------------------------------------------------------------ helpers */

/* A JSON string, or null for NULL. */
static void
jstr(struct evbuffer *b, const char *s)
{
	if (s == NULL)
		evbuffer_add(b, "null", 4);
	else
		(void)json_quote(b, s, strlen(s));
}

static void
jarray(struct evbuffer *b, char *const *v, size_t n)
{
	evbuffer_add(b, "[", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			evbuffer_add(b, ",", 1);
		jstr(b, v[i]);
	}
	evbuffer_add(b, "]", 1);
}

/* Request ids are 1..64 of [A-Za-z0-9._:-] (http_request_id_valid); a
 * decision id adds ".N"; an override id is "ovr-" and hex. */
static int
id_ok(const char *s)
{
	size_t		 n = strlen(s);
	const char	*dot = strrchr(s, '.');

	if (n == 0 || n > ADMIN_ID_MAX)
		return 0;
	if (http_request_id_valid(s, n))
		return 1;
	/* a decision id of a request id of up to 64 characters */
	return dot != NULL && dot[1] != '\0' &&
	    strspn(dot + 1, "0123456789") == strlen(dot + 1) &&
	    http_request_id_valid(s, (size_t)(dot - s));
}

/* ------------------------------------------------------- query strings */

/* Decodes [p, end) into out (size bytes, NUL-terminated). */
static int
url_decode(const char *p, const char *end, char *out, size_t size)
{
	size_t	n = 0;
	int	hi, lo, c;

	while (p < end) {
		c = (unsigned char)*p++;
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (end - p < 2 ||
			    (hi = json_hexval((unsigned char)p[0])) < 0 ||
			    (lo = json_hexval((unsigned char)p[1])) < 0)
				return -1;
			c = hi * 16 + lo;
			p += 2;
		}
		if (c == 0 || n + 1 >= size)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

int
admin_query_next(const char **q, char *key, size_t ksize, char *val,
    size_t vsize)
{
	const char	*p = *q, *amp, *eq;

	if (p == NULL)
		return 0;
	while (*p == '&')
		p++;
	if (*p == '\0') {
		*q = p;
		return 0;
	}
	if ((amp = strchr(p, '&')) == NULL)
		amp = p + strlen(p);
	if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
		eq = amp;
	*q = amp;
	if (url_decode(p, eq, key, ksize) < 0 ||
	    url_decode(eq < amp ? eq + 1 : amp, amp, val, vsize) < 0)
		return -1;
	return 1;
}

/* ------------------------------------------------- override bodies */

struct ovr_parse {
	struct admin_ovr_req	*req;
	char			*err;
	size_t			 errsize;
	int			 failed;
};

struct member {
	const char	*key;
	size_t		 off;
};

static const struct member top_members[] = {
	{"decision_id", offsetof(struct admin_ovr_req, decision_id)},
	{"action", offsetof(struct admin_ovr_req, action)},
	{"reason", offsetof(struct admin_ovr_req, reason)},
	{"expires", offsetof(struct admin_ovr_req, expires)},
	{NULL, 0},
};

static const struct member scope_members[] = {
	{"rule", offsetof(struct admin_ovr_req, rule)},
	{"route", offsetof(struct admin_ovr_req, route)},
	{"path", offsetof(struct admin_ovr_req, path)},
	{"class", offsetof(struct admin_ovr_req, class_)},
	{"principal", offsetof(struct admin_ovr_req, principal)},
	{"role", offsetof(struct admin_ovr_req, role)},
	{"fingerprint", offsetof(struct admin_ovr_req, fingerprint)},
	{NULL, 0},
};

/* Keeps the first problem: "'KEY': WHAT", or WHAT alone. */
static enum json_action
ovr_fail(struct ovr_parse *st, const char *what, const char *key, size_t klen)
{
	if (!st->failed && key != NULL)
		snprintf(st->err, st->errsize, "'%.*s': %s",
		    (int)(klen > 40 ? 40 : klen), key, what);
	else if (!st->failed)
		snprintf(st->err, st->errsize, "%s", what);
	st->failed = 1;
	return JSON_STOP;
}

/* Stores one string member; null means "not given". */
static enum json_action
ovr_store(struct ovr_parse *st, const struct member *m, const char *key,
    size_t klen, const struct json_value *v)
{
	char	**dst;

	for (; m->key != NULL; m++)
		if (strlen(m->key) == klen && memcmp(m->key, key, klen) == 0)
			break;
	if (m->key == NULL)
		return ovr_fail(st, "unknown member", key, klen);
	if (v->type == JSON_NULL)
		return JSON_KEEP;
	if (v->type != JSON_STRING)
		return ovr_fail(st, "must be a string", key, klen);
	dst = (char **)(void *)((char *)st->req + m->off);
	if (*dst != NULL)
		return ovr_fail(st, "given twice", key, klen);
	if (v->len > ADMIN_STR_MAX || memchr(v->ptr, '\0', v->len) != NULL)
		return ovr_fail(st, "too long, or holds a NUL", key, klen);
	if ((*dst = strndup(v->ptr, v->len)) == NULL)
		return ovr_fail(st, "out of memory", NULL, 0);
	return JSON_KEEP;
}

static enum json_action
ovr_visit(void *ud, const struct json_path *jp, const struct json_value *v,
    struct json_edit *edit)
{
	struct ovr_parse	*st = ud;
	size_t			 depth = json_path_depth(jp), klen, slen;
	const char		*key, *skey;
	uint64_t		 idx;

	(void)edit;
	if (depth == 0) {
		if (v->type != JSON_OBJECT)
			return ovr_fail(st, "the body must be a JSON object",
			    NULL, 0);
		return JSON_KEEP;
	}
	if (json_path_seg(jp, 0, &key, &klen, &idx) != 1)
		return ovr_fail(st, "the body must be a JSON object", NULL,
		    0);
	if (klen == 5 && memcmp(key, "scope", 5) == 0) {
		if (depth == 1) {
			if (v->type == JSON_NULL)
				return JSON_KEEP;
			if (v->type != JSON_OBJECT)
				return ovr_fail(st, "must be an object", key,
				    klen);
			if (st->req->has_scope)
				return ovr_fail(st, "given twice", key, klen);
			st->req->has_scope = 1;
			return JSON_KEEP;
		}
		if (depth == 2 && json_path_seg(jp, 1, &skey, &slen,
		    &idx) == 1)
			return ovr_store(st, scope_members, skey, slen, v);
		return ovr_fail(st, "members must be strings", key, klen);
	}
	if (depth == 1)
		return ovr_store(st, top_members, key, klen, v);
	return ovr_fail(st, "must be a string", key, klen);
}

void
admin_ovr_req_clear(struct admin_ovr_req *r)
{
	if (r == NULL)
		return;
	free(r->decision_id);
	free(r->action);
	free(r->reason);
	free(r->expires);
	free(r->rule);
	free(r->route);
	free(r->path);
	free(r->class_);
	free(r->principal);
	free(r->role);
	free(r->fingerprint);
	memset(r, 0, sizeof(*r));
}

static int
blank(const char *s)
{
	if (s == NULL)
		return 1;
	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return 0;
	return 1;
}

int
admin_ovr_parse(const char *body, size_t len, int64_t now,
    struct admin_ovr_req *req, char *err, size_t errsize)
{
	struct json_limits	 jl = {
		.max_depth = 4,
		.max_string = ADMIN_STR_MAX + 1,
		.max_body = 65536,
	};
	struct ovr_parse	 st = {req, err, errsize, 0};
	struct json_rw		*rw;
	enum json_status	 js;

	memset(req, 0, sizeof(*req));
	if ((rw = json_rw_new(&jl, ovr_visit, &st)) == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	js = json_rw_feed(rw, body, len, NULL);
	if (js == JSON_NEED_MORE)
		js = json_rw_finish(rw, NULL);
	if (!st.failed && js != JSON_DONE)
		snprintf(err, errsize, "the body is not a valid JSON object: "
		    "%s at byte %llu", json_rw_error(rw),
		    (unsigned long long)json_rw_error_offset(rw));
	json_rw_free(rw);
	if (st.failed || js != JSON_DONE)
		goto fail;
	if (req->decision_id != NULL && req->has_scope) {
		snprintf(err, errsize, "give decision_id or scope, not both");
		goto fail;
	}
	if (req->decision_id == NULL && !req->has_scope) {
		snprintf(err, errsize, "decision_id or scope is required");
		goto fail;
	}
	if (req->decision_id != NULL && !id_ok(req->decision_id)) {
		snprintf(err, errsize, "decision_id: not a decision id "
		    "(REQUEST_ID.N)");
		goto fail;
	}
	if (req->has_scope && req->rule == NULL && req->route == NULL &&
	    req->path == NULL && req->class_ == NULL &&
	    req->principal == NULL && req->role == NULL &&
	    req->fingerprint == NULL) {
		snprintf(err, errsize, "scope: give at least one of rule, route, "
		    "path, class, principal, role, fingerprint");
		goto fail;
	}
	if (req->action == NULL || !audit_ovr_action_known(req->action)) {
		snprintf(err, errsize, "action: required, one of %s",
		    ovr_actions);
		goto fail;
	}
	if (blank(req->reason)) {
		snprintf(err, errsize, "reason: required (why the decision "
		    "is overruled)");
		goto fail;
	}
	if (admin_text_check("reason", req->reason, err, errsize) < 0)
		goto fail;
	if (req->expires == NULL) {
		snprintf(err, errsize, "expires: required (RFC 3339, e.g. "
		    "2026-12-01T00:00:00Z)");
		goto fail;
	}
	if (audit_time_parse(req->expires, &req->expires_ms) < 0) {
		snprintf(err, errsize, "expires: not an RFC 3339 time (e.g. "
		    "2026-12-01T00:00:00Z)");
		goto fail;
	}
	if (req->expires_ms <= now) {
		snprintf(err, errsize, "expires: must be in the future");
		goto fail;
	}
	return 0;
fail:
	admin_ovr_req_clear(req);
	return -1;
}

/* ------------------------------------------------- decision records */

struct dec_parse {
	const char		*id;
	struct admin_decision	*d;	/* the record, and the decision found */
	struct admin_decision	 cur;	/* the decision being read */
	uint64_t		 cur_idx;
	int			 have_cur;
	int			 found;
	int			 oom;
};

/* The decision members of <d> (not the record's). */
static void
dec_part_clear(struct admin_decision *d)
{
	free(d->id);
	free(d->path);
	free(d->class_);
	free(d->level);
	free(d->confidence);
	free(d->rule);
	free(d->action);
	free(d->override);
	free(d->break_glass);
	free(d->error);
	for (size_t i = 0; i < d->nevidence; i++)
		free(d->evidence[i]);
	for (size_t i = 0; i < d->nfingerprints; i++)
		free(d->fingerprints[i]);
	d->id = d->path = d->class_ = d->level = d->confidence = NULL;
	d->rule = d->action = d->override = d->break_glass = d->error = NULL;
	d->nevidence = d->nfingerprints = 0;
	d->count = 0;
}

void
admin_decision_clear(struct admin_decision *d)
{
	if (d == NULL)
		return;
	dec_part_clear(d);
	free(d->time);
	free(d->type);
	free(d->request_id);
	free(d->principal);
	free(d->route);
	free(d->direction);
	free(d->policy);
	for (size_t i = 0; i < d->nroles; i++)
		free(d->roles[i]);
	memset(d, 0, sizeof(*d));
	d->status = -1;
}

/* Moves the decision members of <from> into <to>. */
static void
dec_part_take(struct admin_decision *to, struct admin_decision *from)
{
	dec_part_clear(to);
	to->id = from->id;
	to->path = from->path;
	to->class_ = from->class_;
	to->level = from->level;
	to->confidence = from->confidence;
	to->rule = from->rule;
	to->action = from->action;
	to->override = from->override;
	to->break_glass = from->break_glass;
	to->error = from->error;
	memcpy(to->evidence, from->evidence, sizeof(to->evidence));
	to->nevidence = from->nevidence;
	memcpy(to->fingerprints, from->fingerprints, sizeof(to->fingerprints));
	to->nfingerprints = from->nfingerprints;
	to->count = from->count;
	memset(from->evidence, 0, sizeof(from->evidence));
	memset(from->fingerprints, 0, sizeof(from->fingerprints));
	from->nevidence = from->nfingerprints = 0;
	from->id = from->path = from->class_ = from->level = NULL;
	from->confidence = from->rule = from->action = NULL;
	from->override = from->break_glass = from->error = NULL;
}

/* The decision read so far is complete: keep it when it is the one. */
static void
dec_done(struct dec_parse *st)
{
	if (st->have_cur && !st->found && st->cur.id != NULL &&
	    strcmp(st->cur.id, st->id) == 0) {
		dec_part_take(st->d, &st->cur);
		st->found = 1;
	}
	dec_part_clear(&st->cur);
	st->have_cur = 0;
}

static int
kis(const char *key, size_t klen, const char *want)
{
	return strlen(want) == klen && memcmp(key, want, klen) == 0;
}

/* Sets *dst to a copy of a string value (null: NULL). */
static int
dec_str(struct dec_parse *st, char **dst, const struct json_value *v)
{
	if (v->type != JSON_STRING)
		return 0;
	free(*dst);
	if ((*dst = strndup(v->ptr, v->len)) == NULL)
		st->oom = 1;
	return 0;
}

static void
dec_list(struct dec_parse *st, char **v, size_t *n, size_t max,
    const struct json_value *jv)
{
	if (jv->type != JSON_STRING || *n >= max)
		return;
	if ((v[*n] = strndup(jv->ptr, jv->len)) == NULL) {
		st->oom = 1;
		return;
	}
	(*n)++;
}

static uint64_t
num(const struct json_value *v)
{
	char	buf[32];

	if (v->type != JSON_NUMBER || v->len >= sizeof(buf))
		return 0;
	memcpy(buf, v->ptr, v->len);
	buf[v->len] = '\0';
	return strtoull(buf, NULL, 10);
}

static enum json_action
dec_visit(void *ud, const struct json_path *jp, const struct json_value *v,
    struct json_edit *edit)
{
	struct dec_parse	*st = ud;
	struct admin_decision	*d = st->d, *c = &st->cur;
	size_t			 depth = json_path_depth(jp), klen, k2len;
	const char		*key, *k2;
	uint64_t		 idx, i2;

	(void)edit;
	if (st->oom)
		return JSON_STOP;
	if (depth == 0 || json_path_seg(jp, 0, &key, &klen, &idx) != 1)
		return JSON_KEEP;
	if (depth == 1) {
		if (kis(key, klen, "time"))
			dec_str(st, &d->time, v);
		else if (kis(key, klen, "type"))
			dec_str(st, &d->type, v);
		else if (kis(key, klen, "request_id"))
			dec_str(st, &d->request_id, v);
		else if (kis(key, klen, "principal"))
			dec_str(st, &d->principal, v);
		else if (kis(key, klen, "route"))
			dec_str(st, &d->route, v);
		else if (kis(key, klen, "direction"))
			dec_str(st, &d->direction, v);
		else if (kis(key, klen, "policy"))
			dec_str(st, &d->policy, v);
		else if (kis(key, klen, "status") && v->type == JSON_NUMBER)
			d->status = (int64_t)num(v);
		return JSON_KEEP;
	}
	if (kis(key, klen, "roles") && depth == 2) {
		dec_list(st, d->roles, &d->nroles, ADMIN_MAX_LIST, v);
		return JSON_KEEP;
	}
	if (!kis(key, klen, "decisions") || depth < 3 ||
	    json_path_seg(jp, 1, &k2, &k2len, &idx) != 0 ||
	    json_path_seg(jp, 2, &k2, &k2len, &i2) != 1)
		return JSON_KEEP;
	if (!st->have_cur || st->cur_idx != idx) {
		dec_done(st);
		st->have_cur = 1;
		st->cur_idx = idx;
	}
	if (depth == 4) {
		if (kis(k2, k2len, "evidence"))
			dec_list(st, c->evidence, &c->nevidence,
			    ADMIN_MAX_LIST, v);
		else if (kis(k2, k2len, "fingerprints"))
			dec_list(st, c->fingerprints, &c->nfingerprints,
			    POL_MAX_FPS, v);
		return JSON_KEEP;
	}
	if (depth != 3)
		return JSON_KEEP;
	if (kis(k2, k2len, "id"))
		dec_str(st, &c->id, v);
	else if (kis(k2, k2len, "path"))
		dec_str(st, &c->path, v);
	else if (kis(k2, k2len, "class"))
		dec_str(st, &c->class_, v);
	else if (kis(k2, k2len, "level"))
		dec_str(st, &c->level, v);
	else if (kis(k2, k2len, "confidence"))
		dec_str(st, &c->confidence, v);
	else if (kis(k2, k2len, "rule"))
		dec_str(st, &c->rule, v);
	else if (kis(k2, k2len, "action"))
		dec_str(st, &c->action, v);
	else if (kis(k2, k2len, "override"))
		dec_str(st, &c->override, v);
	else if (kis(k2, k2len, "break_glass"))
		dec_str(st, &c->break_glass, v);
	else if (kis(k2, k2len, "error"))
		dec_str(st, &c->error, v);
	else if (kis(k2, k2len, "count"))
		c->count = num(v);
	return st->oom ? JSON_STOP : JSON_KEEP;
}

int
admin_decision_parse(const char *line, size_t len, const char *id,
    struct admin_decision *d)
{
	struct json_limits	 jl = { .max_depth = 16 };
	struct dec_parse	 st;
	struct json_rw		*rw;
	enum json_status	 js;

	memset(d, 0, sizeof(*d));
	admin_decision_clear(d);
	memset(&st, 0, sizeof(st));
	admin_decision_clear(&st.cur);
	st.id = id;
	st.d = d;
	if ((rw = json_rw_new(&jl, dec_visit, &st)) == NULL)
		return -1;
	js = json_rw_feed(rw, line, len, NULL);
	if (js == JSON_NEED_MORE)
		js = json_rw_finish(rw, NULL);
	json_rw_free(rw);
	if (js == JSON_DONE)
		dec_done(&st);
	admin_decision_clear(&st.cur);
	if (st.oom || js != JSON_DONE || !st.found) {
		admin_decision_clear(d);
		return st.oom ? -1 : 0;
	}
	return 1;
}

/* ------------------------------------------------------ explanation */

static const char *
action_words(const char *a)
{
	static const struct {
		const char	*action, *words;
	} w[] = {
		{"allow", "let through unchanged"},
		{"mask", "masked"},
		{"redact", "redacted"},
		{"drop", "removed from the document"},
		{"hash", "replaced by a keyed hash"},
		{"tokenize", "tokenized"},
		{"encrypt", "encrypted"},
		{"reveal", "revealed (decrypted)"},
		{"deny", "denied, which refused the whole body"},
	};

	for (size_t i = 0; a != NULL && i < sizeof(w) / sizeof(*w); i++)
		if (strcmp(a, w[i].action) == 0)
			return w[i].words;
	return a != NULL ? a : "decided";
}

#define S(x)	((x) != NULL ? (x) : "?")

/* An outreach decision (issue 9): a message weighed, an opt-out, a
 * re-consent. */
static void
explain_outreach(const struct admin_decision *d, struct evbuffer *b)
{
	const char	*rule = d->rule, *why;

	if (d->action != NULL && strcmp(d->action, "optout") == 0) {
		evbuffer_add_printf(b, "The recipient %s opted out of automated "
		    "contact (%s).", d->nfingerprints ? d->fingerprints[0] :
		    "?", d->nevidence ? d->evidence[0] : "source unknown");
		return;
	}
	if (d->action != NULL && strcmp(d->action, "consent") == 0) {
		evbuffer_add_printf(b, "A re-consent of the recipient %s was "
		    "recorded: automated messages to them may go again.",
		    d->nfingerprints ? d->fingerprints[0] : "?");
		return;
	}
	evbuffer_add_printf(b, "A message to %" PRIu64 " recipient%s (%s) "
	    "sent by %s through %s", d->count, d->count == 1 ? "" : "s",
	    S(d->path), S(d->principal), S(d->route));
	if (d->action == NULL || strcmp(d->action, "refuse") != 0) {
		evbuffer_add_printf(b, " was let through under policy %s: no "
		    "recipient had opted out, it was outside quiet hours, and "
		    "no limit was reached", S(d->policy));
		for (size_t i = 0; i < d->nevidence; i++)
			evbuffer_add_printf(b, "%s%s", i ? ", " : " (",
			    d->evidence[i]);
		evbuffer_add_printf(b, "%s; the send was counted.",
		    d->nevidence ? ")" : "");
		return;
	}
	evbuffer_add_printf(b, " was refused with status %" PRId64 " by rule "
	    "%s of policy %s: ", d->status, S(rule), S(d->policy));
	why = d->nevidence > 0 ? d->evidence[0] : "";
	if (strcmp(why, "optout") == 0)
		evbuffer_add_printf(b, "the recipient had opted out of automated "
		    "contact.");
	else if (strcmp(why, "quiet_hours") == 0)
		evbuffer_add_printf(b, "it was inside the quiet hours.");
	else if (strncmp(why, "limit:", 6) == 0)
		evbuffer_add_printf(b, "the recipient had already had as many "
		    "messages as limit %s allows in its window.", why + 6);
	else
		evbuffer_add_printf(b, "see the record's reason.");
	evbuffer_add_printf(b, " Nothing reached the upstream.");
}

void
admin_explain(const struct admin_decision *d, const struct audit_override *o,
    struct evbuffer *b)
{
	if (d->type != NULL && strcmp(d->type, "outreach") == 0) {
		explain_outreach(d, b);
		return;
	}
	if (d->count > 1)
		evbuffer_add_printf(b, "The %" PRIu64 " values at %s", d->count,
		    S(d->path));
	else
		evbuffer_add_printf(b, "The value at %s", S(d->path));
	if (d->direction != NULL && d->route != NULL)
		evbuffer_add_printf(b, " in the %s of %s", d->direction,
		    d->route);
	if (d->principal != NULL)
		evbuffer_add_printf(b, " for %s", d->principal);
	evbuffer_add_printf(b, " %s classified as %s (%s, confidence %s",
	    d->count > 1 ? "were" : "was", S(d->class_), S(d->level),
	    S(d->confidence));
	for (size_t i = 0; i < d->nevidence; i++)
		evbuffer_add_printf(b, "%s%s", i ? ", " : "; evidence: ",
		    d->evidence[i]);
	evbuffer_add_printf(b, ") and %s", action_words(d->action));
	if (d->override != NULL) {
		evbuffer_add_printf(b, " under override %s", d->override);
		if (o != NULL)
			evbuffer_add_printf(b, " (by %s: \"%s\")", S(o->author),
			    S(o->reason));
		evbuffer_add_printf(b, ", which replaced what %s", d->rule ?
		    "rule " : "the policy default");
		if (d->rule != NULL)
			evbuffer_add_printf(b, "%s", d->rule);
		evbuffer_add_printf(b, " of policy %s decided.", S(d->policy));
	} else {
		if (d->rule != NULL)
			evbuffer_add_printf(b, " by rule %s", d->rule);
		else
			evbuffer_add_printf(b, " by the policy default (no "
			    "rule covers it)");
		evbuffer_add_printf(b, " of policy %s; no override applied.",
		    S(d->policy));
	}
	if (d->break_glass != NULL && strcmp(d->break_glass, "used") == 0)
		evbuffer_add_printf(b, " Break glass was used: the request "
		    "carried a justification and the rule's break-glass action "
		    "applied.");
	else if (d->break_glass != NULL)
		evbuffer_add_printf(b, " A justification was sent, but this "
		    "principal may not break glass, so the rule's own action "
		    "applied.");
	if (d->error != NULL)
		evbuffer_add_printf(b, " The action could not be applied (%s), "
		    "so the value was redacted instead.", d->error);
}

/* ------------------------------------------------------ log search */

/*
 * Finds decision <id> in the log: files newest first, the last record in a
 * file that holds it (a client may reuse an X-Request-Id: the newest wins).
 * Lines are tested for "id":"<id>" before they are parsed. 1 found, 0 not
 * (*bounded set when the scan stopped at ADMIN_SCAN_MAX), -1 with err.
 */
static int
find_decision(const char *dir, const char *id, struct admin_decision *d,
    int *bounded, char *err, size_t errsize)
{
	struct admin_decision	 tmp;
	unsigned		*nums = NULL;
	char			 path[4096], pat[ADMIN_ID_MAX + 16];
	char			*line = NULL;
	size_t			 cap = 0, plen;
	ssize_t			 len;
	uint64_t		 total = 0;
	FILE			*f;
	int			 n, found = 0, rc;

	*bounded = 0;
	admin_decision_clear(d);
	plen = (size_t)snprintf(pat, sizeof(pat), "\"id\":\"%s\"", id);
	if ((n = audit_list_files(dir, &nums)) < 0) {
		snprintf(err, errsize, "%s: %s", dir, strerror(errno));
		return -1;
	}
	for (int i = n; i-- > 0 && !found && !*bounded;) {	/* newest first */
		snprintf(path, sizeof(path), "%s/" AUDIT_FILE_FMT, dir,
		    nums[i]);
		if ((f = fopen(path, "re")) == NULL)
			continue;	/* rotated away meanwhile */
		while ((len = getline(&line, &cap, f)) > 0) {
			if ((total += (uint64_t)len) > ADMIN_SCAN_MAX) {
				*bounded = 1;
				break;
			}
			/* a line still being written has no newline yet */
			if (line[len - 1] != '\n' ||
			    memmem(line, (size_t)len, pat, plen) == NULL)
				continue;
			rc = admin_decision_parse(line, (size_t)len - 1, id,
			    &tmp);
			if (rc < 0) {
				fclose(f);
				snprintf(err, errsize, "out of memory");
				found = -1;
				goto out;
			}
			if (rc == 1) {
				admin_decision_clear(d);
				*d = tmp;
				found = 1;
			}
		}
		fclose(f);
	}
	if (found)
		*bounded = 0;
out:
	free(line);
	free(nums);
	return found;
}

static const struct audit_override *
ovr_find(struct audit_ovr_snap *s, const char *id)
{
	const struct audit_override	*o;

	for (size_t i = 0; s != NULL && i < audit_ovr_count(s); i++)
		if ((o = audit_ovr_at(s, i)) != NULL && strcmp(o->id, id) == 0)
			return o;
	return NULL;
}

/* ----------------------------------------------- GET /v1/decisions/ID */

void
admin_decision_get(struct exchange *ex, const struct cfg_admin_token *t)
{
	struct proxy_server		*srv = ex->c->w->srv;
	const char			*id = ex->req.path +
					    strlen("/v1/decisions/");
	const char			*dir = ex->gen->cfg->audit.dir;
	const struct audit_override	*o = NULL;
	struct audit_ovr_snap		*snap = NULL;
	struct admin_decision		 d;
	struct evbuffer			*b = NULL, *why = NULL;
	char				 err[512], msg[300];
	int				 rc, bounded, first = 1;

	(void)t;
	memset(&d, 0, sizeof(d));
	admin_decision_clear(&d);
	if (!id_ok(id)) {
		ex_error(ex, 400, "bad_request", "not a decision id "
		    "(REQUEST_ID.N)");
		return;
	}
	if (dir == NULL) {
		ex_error(ex, 503, "audit_unavailable", "this custos keeps no "
		    "audit log (no audit section in the configuration)");
		return;
	}
	if ((rc = find_decision(dir, id, &d, &bounded, err,
	    sizeof(err))) < 0) {
		ex_error(ex, 500, "internal", err);
		return;
	}
	if (rc == 0) {
		snprintf(msg, sizeof(msg), "no decision %s in the audit log%s",
		    id, bounded ? " (only the newest 256 MiB are searched)" :
		    "");
		ex_error(ex, 404, "not_found", msg);
		return;
	}
	if ((b = evbuffer_new()) == NULL || (why = evbuffer_new()) == NULL) {
		ex_error(ex, 503, "overloaded", "out of memory");
		goto out;
	}
	if (d.override != NULL && srv->ovr != NULL) {
		snap = audit_ovr_snapshot(srv->ovr);
		o = ovr_find(snap, d.override);
	}
	admin_explain(&d, o, why);
	evbuffer_add(b, "{", 1);
	json_member(b, &first, "id", d.id);
	json_member(b, &first, "request_id", d.request_id);
	json_member(b, &first, "time", d.time);
	if (d.type != NULL)
		json_member(b, &first, "type", d.type);
	json_member(b, &first, "principal", d.principal);
	evbuffer_add(b, ",\"roles\":", 9);
	jarray(b, d.roles, d.nroles);
	json_member(b, &first, "route", d.route);
	json_member(b, &first, "direction", d.direction);
	json_member(b, &first, "policy", d.policy);
	if (d.status >= 0)
		evbuffer_add_printf(b, ",\"status\":%" PRId64, d.status);
	json_member(b, &first, "path", d.path);
	json_member(b, &first, "class", d.class_);
	json_member(b, &first, "level", d.level);
	json_member(b, &first, "confidence", d.confidence);
	evbuffer_add(b, ",\"evidence\":", 12);
	jarray(b, d.evidence, d.nevidence);
	json_member(b, &first, "rule", d.rule);
	json_member(b, &first, "action", d.action);
	evbuffer_add_printf(b, ",\"count\":%" PRIu64, d.count);
	json_member(b, &first, "override", d.override);
	evbuffer_add(b, ",\"fingerprints\":", 16);
	jarray(b, d.fingerprints, d.nfingerprints);
	if (d.break_glass != NULL)
		json_member(b, &first, "break_glass", d.break_glass);
	if (d.error != NULL)
		json_member(b, &first, "error", d.error);
	evbuffer_add(b, ",\"explanation\":", 15);
	(void)json_quote(b, (const char *)evbuffer_pullup(why, -1),
	    evbuffer_get_length(why));
	evbuffer_add(b, "}\n", 2);
	ex_reply_buf(ex, 200, "application/json", b);
out:
	audit_ovr_release(snap);
	admin_decision_clear(&d);
	if (b != NULL)
		evbuffer_free(b);
	if (why != NULL)
		evbuffer_free(why);
}

/* ------------------------------------------------------- overrides */

static void
ovr_json(struct evbuffer *b, const struct audit_override *o, int64_t now)
{
	char	tm[AUDIT_TIME_LEN + 1];
	int	first = 1;

	evbuffer_add(b, "{", 1);
	json_member(b, &first, "id", o->id);
	json_member(b, &first, "decision_id", o->decision_id);
	evbuffer_add(b, ",\"scope\":{", 10);
	first = 1;
	if (o->rule != NULL)
		json_member(b, &first, "rule", o->rule);
	if (o->route != NULL)
		json_member(b, &first, "route", o->route);
	if (o->path != NULL)
		json_member(b, &first, "path", o->path);
	if (o->class_ != NULL)
		json_member(b, &first, "class", o->class_);
	if (o->principal != NULL)
		json_member(b, &first, "principal", o->principal);
	if (o->role != NULL)
		json_member(b, &first, "role", o->role);
	if (o->fingerprint != NULL)
		json_member(b, &first, "fingerprint", o->fingerprint);
	evbuffer_add(b, "}", 1);
	first = 0;
	json_member(b, &first, "action", o->action);
	json_member(b, &first, "reason", o->reason);
	json_member(b, &first, "author", o->author);
	audit_ms_format(o->created_ms, tm);
	json_member(b, &first, "created", tm);
	audit_ms_format(o->expires_ms, tm);
	json_member(b, &first, "expires", tm);
	json_member(b, &first, "status", o->revoked_ms != 0 ? "revoked" :
	    o->expires_ms <= now ? "expired" : "active");
	if (o->revoked_ms != 0) {
		audit_ms_format(o->revoked_ms, tm);
		json_member(b, &first, "revoked", tm);
		json_member(b, &first, "revoked_by", o->revoked_by);
	}
	evbuffer_add(b, "}", 1);
}

/* Writes the creation or revocation of <o> to the decision log. 0, or -1
 * when it could not be queued. */
static int
ovr_audit(struct exchange *ex, const struct audit_override *o, const char *op)
{
	struct worker		*w = ex->c->w;
	struct audit_log	*log = w->srv->audit;

	if (log == NULL)
		return 0;
	if (w->rec == NULL && (w->rec = audit_rec_new()) == NULL)
		return -1;
	if (audit_ovr_record(w->rec, o, op) != 0)
		return -1;
	audit_rec_str(w->rec, "request_id", ex->id);
	if (audit_rec_error(w->rec) != 0 || !audit_available(log))
		return -1;
	/* main thread: wait a bounded time for room, never forever */
	return audit_submit_timed(log, w->rec, NULL, AUDIT_SUBMIT_MS);
}

static int
no_store(struct exchange *ex)
{
	struct proxy_server *srv = ex->c->w->srv;

	if (srv->ovr != NULL)
		return 0;
	ex_error(ex, 503, "overrides_unavailable", "no state_dir in the "
	    "configuration: overrides cannot be stored");
	return 1;
}

/* Checks a scope against what the running configuration defines: a name
 * that matches nothing would make an override that never applies. NULL
 * when fine, else the reason (in buf). */
static const char *
scope_check(const struct proxy_gen *g, const struct admin_ovr_req *r,
    char *buf, size_t size)
{
	const struct proxy_config	*cfg = g->cfg;
	size_t				 i, j;
	int				 ok;

	if (r->rule != NULL && g->policy != NULL &&
	    strcmp(r->rule, "default") != 0) {
		for (i = 0; i < pol_policy_nrules(g->policy); i++)
			if (strcmp(pol_policy_rule_id(g->policy, i), r->rule)
			    == 0)
				break;
		if (i == pol_policy_nrules(g->policy)) {
			snprintf(buf, size, "scope.rule: no rule '%.80s' in "
			    "policy %s (\"default\" names the policy default)",
			    r->rule, g->version);
			return buf;
		}
	}
	if (r->class_ != NULL && g->policy != NULL &&
	    cls_set_find(pol_policy_classes(g->policy), r->class_) < 0) {
		snprintf(buf, size, "scope.class: no class '%.80s' in policy %s",
		    r->class_, g->version);
		return buf;
	}
	if (r->route != NULL) {
		for (i = 0; i < cfg->nroutes; i++)
			if (strcmp(cfg->routes[i].match, r->route) == 0)
				break;
		if (i == cfg->nroutes) {
			snprintf(buf, size, "scope.route: no route matches "
			    "\"%.80s\" exactly (give a route's match as "
			    "configured)", r->route);
			return buf;
		}
	}
	if (r->principal != NULL) {
		for (i = 0; i < cfg->nprincipals; i++)
			if (strcmp(cfg->principals[i].name, r->principal) == 0)
				break;
		if (i == cfg->nprincipals) {
			snprintf(buf, size, "scope.principal: no principal "
			    "'%.80s'", r->principal);
			return buf;
		}
	}
	if (r->role != NULL) {
		ok = 0;
		for (i = 0; i < cfg->nprincipals && !ok; i++)
			for (j = 0; j < cfg->principals[i].nroles; j++)
				if (strcmp(cfg->principals[i].roles[j],
				    r->role) == 0)
					ok = 1;
		if (!ok) {
			snprintf(buf, size, "scope.role: no principal has "
			    "role '%.80s'", r->role);
			return buf;
		}
	}
	return NULL;
}

void
admin_overrides_add(struct exchange *ex, const struct cfg_admin_token *t)
{
	struct proxy_server		*srv = ex->c->w->srv;
	const char			*dir = ex->gen->cfg->audit.dir;
	const struct audit_override	*stored;
	struct audit_ovr_snap		*snap = NULL;
	struct admin_ovr_req		 req;
	struct admin_decision		 d;
	struct audit_override		 o;
	struct evbuffer			*b = NULL;
	enum pol_action			 na;
	char				 err[512], id[40];
	const char			*why;
	int				 rc, bounded, decided;
	int64_t				 now = audit_now_ms();

	memset(&req, 0, sizeof(req));
	memset(&d, 0, sizeof(d));
	admin_decision_clear(&d);
	memset(&o, 0, sizeof(o));
	if (no_store(ex))
		return;
	if (admin_ovr_parse((const char *)evbuffer_pullup(ex->reqraw, -1),
	    evbuffer_get_length(ex->reqraw), now, &req, err,
	    sizeof(err)) < 0) {
		ex_error(ex, 400, "bad_request", err);
		return;
	}
	if (req.decision_id != NULL) {
		if (dir == NULL) {
			ex_error(ex, 400, "bad_request", "decision_id needs the "
			    "audit log, which is off: give a scope");
			goto out;
		}
		if ((rc = find_decision(dir, req.decision_id, &d, &bounded,
		    err, sizeof(err))) < 0) {
			ex_error(ex, 500, "internal", err);
			goto out;
		}
		if (rc == 0) {
			snprintf(err, sizeof(err), "decision_id: no decision "
			    "%s in the audit log", req.decision_id);
			ex_error(ex, 404, "not_found", err);
			goto out;
		}
		decided = d.action != NULL ? pol_action_parse(d.action) : -1;
		if (decided < 0 || !override_effect(req.action,
		    (enum pol_action)decided, &na)) {
			snprintf(err, sizeof(err), "action: '%s' would not "
			    "change this decision (%s); an override relaxes "
			    "only to allow or reclassify, otherwise it must "
			    "be stricter", req.action, S(d.action));
			ex_error(ex, 400, "bad_request", err);
			goto out;
		}
		/* The scope of that one decision: this field, this rule,
		 * this route, this principal; its value only when the
		 * decision saw exactly one. */
		o.decision_id = req.decision_id;
		o.rule = d.rule != NULL ? d.rule : "default";
		o.path = d.path;
		o.class_ = d.class_;
		o.route = d.route;
		o.principal = d.principal;
		o.fingerprint = d.nfingerprints == 1 ? d.fingerprints[0] :
		    NULL;
	} else {
		if ((why = scope_check(ex->gen, &req, err, sizeof(err))) !=
		    NULL) {
			ex_error(ex, 400, "bad_request", why);
			goto out;
		}
		o.rule = req.rule;
		o.route = req.route;
		o.path = req.path;
		o.class_ = req.class_;
		o.principal = req.principal;
		o.role = req.role;
		o.fingerprint = req.fingerprint;
	}
	o.action = req.action;
	o.reason = req.reason;
	o.author = t->name;
	o.expires_ms = req.expires_ms;
	/* Fail closed: no change the decision log cannot record. */
	if (ex_audit_down(ex))
		goto out;
	if (audit_ovr_add(srv->ovr, &o, id, err, sizeof(err)) < 0) {
		if (errno == EINVAL)
			ex_error(ex, 400, "bad_request", err);
		else
			ex_error(ex, 503, "overrides_unavailable", err);
		goto out;
	}
	snap = audit_ovr_snapshot(srv->ovr);
	if ((stored = ovr_find(snap, id)) == NULL ||
	    ovr_audit(ex, stored, "add") < 0) {
		(void)audit_ovr_revoke(srv->ovr, id, "custos", err,
		    sizeof(err));
		ex_error(ex, 503, "audit_unavailable", "the creation could not "
		    "be recorded in the decision log; the override was revoked "
		    "again");
		goto out;
	}
	fprintf(stderr, "custos: override %s (%s) created by %s\n", id,
	    stored->action, t->name);
	if ((b = evbuffer_new()) == NULL) {
		ex_error(ex, 503, "overloaded", "out of memory");
		goto out;
	}
	ovr_json(b, stored, audit_now_ms());
	evbuffer_add(b, "\n", 1);
	ex_reply_buf(ex, 201, "application/json", b);
out:
	if (b != NULL)
		evbuffer_free(b);
	audit_ovr_release(snap);
	admin_decision_clear(&d);
	admin_ovr_req_clear(&req);
}

void
admin_overrides_list(struct exchange *ex, const struct cfg_admin_token *t)
{
	struct proxy_server		*srv = ex->c->w->srv;
	const struct audit_override	*o;
	struct audit_ovr_snap		*snap;
	struct evbuffer			*b;
	const char			*q = ex->req.query;
	char				 k[32], v[32];
	int				 all = 0, n = 0, rc;
	int64_t				 now = audit_now_ms();

	(void)t;
	if (no_store(ex))
		return;
	while ((rc = admin_query_next(&q, k, sizeof(k), v, sizeof(v))) == 1) {
		if (strcmp(k, "all") != 0 || (strcmp(v, "1") != 0 &&
		    strcmp(v, "true") != 0 && strcmp(v, "0") != 0 &&
		    strcmp(v, "false") != 0))
			break;
		all = strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
	}
	if (rc != 0) {
		ex_error(ex, 400, "bad_request", "the only parameter is "
		    "all=1 (revoked and expired overrides too)");
		return;
	}
	if ((b = evbuffer_new()) == NULL) {
		ex_error(ex, 503, "overloaded", "out of memory");
		return;
	}
	snap = audit_ovr_snapshot(srv->ovr);
	evbuffer_add(b, "[", 1);
	for (size_t i = 0; i < audit_ovr_count(snap); i++) {
		o = audit_ovr_at(snap, i);
		if (!all && (o->revoked_ms != 0 || o->expires_ms <= now))
			continue;
		if (n++ > 0)
			evbuffer_add(b, ",", 1);
		ovr_json(b, o, now);
	}
	evbuffer_add(b, "]\n", 2);
	audit_ovr_release(snap);
	ex_reply_buf(ex, 200, "application/json", b);
	evbuffer_free(b);
}

void
admin_override_revoke(struct exchange *ex, const struct cfg_admin_token *t)
{
	struct proxy_server		*srv = ex->c->w->srv;
	const char			*id = ex->req.path +
					    strlen("/v1/overrides/");
	const struct audit_override	*o;
	struct audit_ovr_snap		*snap = NULL;
	struct evbuffer			*b = NULL;
	char				 err[512];

	if (no_store(ex))
		return;
	if (!id_ok(id) || strlen(id) >= sizeof(o->id)) {
		ex_error(ex, 404, "not_found", "no such override");
		return;
	}
	if (ex_audit_down(ex))
		return;
	if (audit_ovr_revoke(srv->ovr, id, t->name, err, sizeof(err)) < 0) {
		if (errno == ENOENT)
			ex_error(ex, 404, "not_found", err);
		else
			ex_error(ex, 503, "overrides_unavailable", err);
		return;
	}
	snap = audit_ovr_snapshot(srv->ovr);
	if ((o = ovr_find(snap, id)) == NULL || ovr_audit(ex, o, "revoke") < 0) {
		/* Revoking only makes custos stricter: it stays revoked. */
		ex_error(ex, 503, "audit_unavailable", "the override is revoked, "
		    "but the revocation could not be recorded in the decision "
		    "log");
		goto out;
	}
	fprintf(stderr, "custos: override %s revoked by %s\n", id, t->name);
	if ((b = evbuffer_new()) == NULL) {
		ex_error(ex, 503, "overloaded", "out of memory");
		goto out;
	}
	ovr_json(b, o, audit_now_ms());
	evbuffer_add(b, "\n", 1);
	ex_reply_buf(ex, 200, "application/json", b);
out:
	if (b != NULL)
		evbuffer_free(b);
	audit_ovr_release(snap);
}

/* ---------------------------------------------- GET /v1/audit/export */

/* A FILE that appends to an evbuffer and fails past a size. */
struct capped {
	struct evbuffer	*b;
	size_t		 max;
	int		 over;
};

static ssize_t
capped_write(void *c, const char *p, size_t n)
{
	struct capped *cw = c;

	if (evbuffer_get_length(cw->b) + n > cw->max) {
		cw->over = 1;
		errno = EFBIG;
		return -1;
	}
	if (evbuffer_add(cw->b, p, n) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return (ssize_t)n;
}

void
admin_audit_export(struct exchange *ex, const struct cfg_admin_token *t)
{
	const char		*dir = ex->gen->cfg->audit.dir;
	const char		*q = ex->req.query;
	cookie_io_functions_t	 io = { .write = capped_write };
	struct audit_filter	 f;
	struct capped		 cw = { NULL, ADMIN_EXPORT_MAX, 0 };
	char			 k[32], since[64] = "", until[64] = "";
	char			 principal[256] = "", rule[256] = "";
	char			 action[32] = "", format[16] = "", v[256];
	char			 err[512] = "";
	FILE			*out;
	long			 n;
	int			 rc, csv = 0, ok;

	(void)t;
	memset(&f, 0, sizeof(f));
	while ((rc = admin_query_next(&q, k, sizeof(k), v, sizeof(v))) == 1) {
		struct {
			const char	*name;
			char		*dst;
			size_t		 size;
		} p[] = {
			{"since", since, sizeof(since)},
			{"until", until, sizeof(until)},
			{"principal", principal, sizeof(principal)},
			{"rule", rule, sizeof(rule)},
			{"action", action, sizeof(action)},
			{"format", format, sizeof(format)},
		};

		ok = 0;
		for (size_t i = 0; i < sizeof(p) / sizeof(*p); i++)
			if (strcmp(k, p[i].name) == 0 &&
			    strlen(v) < p[i].size) {
				snprintf(p[i].dst, p[i].size, "%s", v);
				ok = 1;
			}
		if (!ok) {
			rc = -1;
			break;
		}
	}
	if (rc != 0) {
		ex_error(ex, 400, "bad_request", "parameters: since, until "
		    "(RFC 3339), principal, rule, action, format (jsonl or "
		    "csv)");
		return;
	}
	if ((since[0] && audit_time_parse(since, &f.since_ms) < 0) ||
	    (until[0] && audit_time_parse(until, &f.until_ms) < 0)) {
		ex_error(ex, 400, "bad_request", "since and until take RFC "
		    "3339 times, e.g. 2026-11-27T04:00:00Z or 2026-11-27");
		return;
	}
	if (format[0] && strcmp(format, "csv") == 0)
		csv = 1;
	else if (format[0] && strcmp(format, "jsonl") != 0) {
		ex_error(ex, 400, "bad_request", "format: jsonl or csv");
		return;
	}
	if (dir == NULL) {
		ex_error(ex, 503, "audit_unavailable", "this custos keeps no "
		    "audit log (no audit section in the configuration)");
		return;
	}
	f.principal = principal[0] ? principal : NULL;
	f.rule = rule[0] ? rule : NULL;
	f.action = action[0] ? action : NULL;
	if ((cw.b = evbuffer_new()) == NULL ||
	    (out = fopencookie(&cw, "w", io)) == NULL) {
		if (cw.b != NULL)
			evbuffer_free(cw.b);
		ex_error(ex, 503, "overloaded", "out of memory");
		return;
	}
	n = audit_export(dir, &f, csv ? AUDIT_FMT_CSV : AUDIT_FMT_JSONL, out,
	    err, sizeof(err));
	if (fclose(out) != 0 && n >= 0)
		n = -1;
	if (cw.over)
		ex_error(ex, 413, "payload_too_large", "the export is larger "
		    "than 128 MiB: narrow it with since, until, principal, "
		    "rule or action");
	else if (n < 0)
		ex_error(ex, 500, "internal", err[0] ? err : "export failed");
	else
		ex_reply_buf(ex, 200, csv ? "text/csv; charset=utf-8" :
		    "application/x-ndjson", cw.b);
	evbuffer_free(cw.b);
}
