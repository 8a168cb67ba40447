/* proxy/admin.c — the admin API on its own listener: routing and tokens,
 * health, metrics and reload; decisions, overrides and audit export are in
 * admin_audit.c. Runs on the main thread's loop. Tokens travel as
 * Authorization: Bearer and map to roles; a missing or wrong token is 401, a
 * token without the role 403. Paths ending in '/' take an id segment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "classifiers/classifiers.h"
#include "proxy/auth.h"
#include "proxy/internal.h"
#include "proxy/json.h"

struct admin_route {
	unsigned	 methods;	/* CFG_M_* */
	const char	*path;		/* ending in '/': an id follows */
	unsigned	 roles;		/* CFG_ROLE_* any of; 0 = no token needed */
	void		(*fn)(struct exchange *, const struct cfg_admin_token *);
};

int
admin_text_check(const char *what, const char *text, char *err,
    size_t errsize)
{
	struct cls_set		*set = cls_set_builtin();
	struct cls_scratch	*scr = cls_scratch_new();
	struct cls_match	 m[16];
	struct cls_field	 f;
	size_t			 n;
	int			 rc = -1;

	snprintf(err, errsize, "%s: could not be checked for personal data",
	    what);
	if (text == NULL || set == NULL || scr == NULL)
		goto out;
	memset(&f, 0, sizeof(f));
	f.value = text;
	f.len = strlen(text);
	f.type = CLS_V_STRING;
	n = cls_classify(set, scr, &f, m, sizeof(m) / sizeof(m[0]));
	if (n > sizeof(m) / sizeof(m[0]))
		n = sizeof(m) / sizeof(m[0]);
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (m[i].confidence >= CLS_CONF_MEDIUM) {
			snprintf(err, errsize, "%s: it holds what looks like "
			    "personal data (%s); it is kept in the decision "
			    "log, which never holds any: describe the case "
			    "without it", what, m[i].class_name);
			rc = -1;
		}
out:
	cls_scratch_free(scr);
	cls_set_free(set);
	return rc;
}

static void
admin_healthz(struct exchange *ex, const struct cfg_admin_token *t)
{
	static const char ok[] = "{\"status\":\"ok\"}\n";
	static const char drain[] = "{\"status\":\"draining\"}\n";

	(void)t;
	if (ex->c->w->srv->draining)
		ex_reply_json(ex, 503, drain, sizeof(drain) - 1);
	else
		ex_reply_json(ex, 200, ok, sizeof(ok) - 1);
}

static void
metric(struct evbuffer *b, const char *name, const char *type,
    const char *help, unsigned long long v)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name,
	    help, name, type, name, v);
}

static void
admin_metrics(struct exchange *ex, const struct cfg_admin_token *t)
{
	struct proxy_server	*srv = ex->c->w->srv;
	struct proxy_stats	*st = &srv->stats;
	struct evbuffer		*b = evbuffer_new();

	(void)t;
	if (b == NULL) {
		ex_error(ex, 503, "overloaded", "out of memory");
		return;
	}
	evbuffer_add_printf(b, "# HELP custos_requests_total Requests answered, "
	    "by status class.\n# TYPE custos_requests_total counter\n");
	for (int i = 1; i <= 5; i++)
		evbuffer_add_printf(b, "custos_requests_total{code=\"%dxx\"} %llu\n",
		    i, (unsigned long long)atomic_load(&st->status[i]));
	metric(b, "custos_connections", "gauge", "Open client connections.",
	    (unsigned long long)atomic_load(&st->connections));
	metric(b, "custos_upstream_connects_total", "counter",
	    "Connections opened to upstreams.",
	    atomic_load(&st->upstream_connects));
	metric(b, "custos_upstream_reused_total", "counter",
	    "Requests sent on a kept-alive upstream connection.",
	    atomic_load(&st->upstream_reused));
	metric(b, "custos_upstream_errors_total", "counter",
	    "Upstream failures (refused, reset, garbled, timed out).",
	    atomic_load(&st->upstream_errors));
	metric(b, "custos_upstream_timeouts_total", "counter",
	    "Upstream connect or response timeouts.",
	    atomic_load(&st->upstream_timeouts));
	metric(b, "custos_json_rejected_total", "counter",
	    "Bodies refused because they were not valid JSON.",
	    atomic_load(&st->json_rejected));
	metric(b, "custos_response_bytes_total", "counter",
	    "Body bytes sent to clients.", atomic_load(&st->bytes_out));
	evbuffer_add_printf(b, "# HELP custos_outreach_total Automated "
	    "messages weighed by the outreach policy, by verdict.\n"
	    "# TYPE custos_outreach_total counter\n"
	    "custos_outreach_total{verdict=\"allowed\"} %llu\n"
	    "custos_outreach_total{verdict=\"limit\"} %llu\n"
	    "custos_outreach_total{verdict=\"quiet_hours\"} %llu\n"
	    "custos_outreach_total{verdict=\"opted_out\"} %llu\n",
	    (unsigned long long)atomic_load(&st->outreach_allowed),
	    (unsigned long long)atomic_load(&st->outreach_limited),
	    (unsigned long long)atomic_load(&st->outreach_quiet),
	    (unsigned long long)atomic_load(&st->outreach_optout));
	if (srv->outreach != NULL) {
		struct audit_or_counters c;

		audit_or_get_counters(srv->outreach, &c);
		metric(b, "custos_outreach_recipients", "gauge",
		    "Recipients with sends inside a limit's window.",
		    c.recipients);
		metric(b, "custos_outreach_state_bytes", "gauge",
		    "Memory the outreach counters take.", c.table_bytes);
		metric(b, "custos_optouts", "gauge",
		    "Recipients who opted out of automated contact.",
		    c.optouts);
		metric(b, "custos_outreach_full_total", "counter",
		    "Automated messages refused because the outreach state "
		    "tracks as many recipients as it may.", c.full);
		metric(b, "custos_outreach_journal_errors_total", "counter",
		    "Failed writes of the outreach journal (retried).",
		    c.write_errors);
		metric(b, "custos_outreach_journal_pending", "gauge",
		    "Send times waiting to be written to the journal.",
		    c.pending);
	}
	metric(b, "custos_reloads_total", "counter", "Successful reloads.",
	    atomic_load(&st->reloads));
	metric(b, "custos_reload_failures_total", "counter",
	    "Reloads refused because the new configuration had errors.",
	    atomic_load(&st->reload_failures));
	evbuffer_add_printf(b, "# HELP custos_policy_info The loaded policy "
	    "version.\n# TYPE custos_policy_info gauge\n"
	    "custos_policy_info{version=\"%s\"} 1\n", srv->gen->version);
	ex_reply_buf(ex, 200, "text/plain; version=0.0.4", b);
	evbuffer_free(b);
}

static void
admin_reload(struct exchange *ex, const struct cfg_admin_token *t)
{
	struct proxy_server	*srv = ex->c->w->srv;
	struct evbuffer		*why = evbuffer_new(), *b = evbuffer_new();

	(void)t;
	if (why == NULL || b == NULL) {
		ex_error(ex, 503, "overloaded", "out of memory");
		goto out;
	}
	if (server_reload(srv, 1, why) == 0) {
		evbuffer_add_printf(b, "{\"reloaded\":true,\"policy\":\"%s\","
		    "\"request_id\":\"%s\"}\n", srv->gen->version, ex->id);
		ex_reply_buf(ex, 200, "application/json", b);
		goto out;
	}
	evbuffer_add_printf(b, "{\"error\":\"invalid_config\",\"reason\":");
	(void)json_quote(b, (const char *)evbuffer_pullup(why, -1),
	    evbuffer_get_length(why));
	evbuffer_add_printf(b, ",\"policy\":\"%s\",\"request_id\":\"%s\"}\n",
	    srv->gen->version, ex->id);
	ex_reply_buf(ex, 422, "application/json", b);
out:
	if (why)
		evbuffer_free(why);
	if (b)
		evbuffer_free(b);
}

static const struct admin_route admin_routes[] = {
	{CFG_M_GET | CFG_M_HEAD, "/healthz", 0, admin_healthz},
	{CFG_M_GET, "/metrics", CFG_ROLE_ADMIN | CFG_ROLE_AUDITOR |
	    CFG_ROLE_REVIEWER, admin_metrics},
	{CFG_M_POST, "/v1/reload", CFG_ROLE_ADMIN, admin_reload},
	{CFG_M_GET, "/v1/decisions/", CFG_ROLE_REVIEWER | CFG_ROLE_AUDITOR,
	    admin_decision_get},
	{CFG_M_GET, "/v1/overrides", CFG_ROLE_REVIEWER | CFG_ROLE_AUDITOR,
	    admin_overrides_list},
	{CFG_M_POST, "/v1/overrides", CFG_ROLE_REVIEWER, admin_overrides_add},
	{CFG_M_DELETE, "/v1/overrides/", CFG_ROLE_REVIEWER,
	    admin_override_revoke},
	{CFG_M_GET, "/v1/audit/export", CFG_ROLE_AUDITOR, admin_audit_export},
	{CFG_M_GET, "/v1/optouts", CFG_ROLE_REVIEWER | CFG_ROLE_AUDITOR |
	    CFG_ROLE_ADMIN, admin_optouts_list},
	{CFG_M_POST, "/v1/optouts", CFG_ROLE_REVIEWER | CFG_ROLE_ADMIN,
	    admin_optouts_add},
	{CFG_M_DELETE, "/v1/optouts", CFG_ROLE_REVIEWER | CFG_ROLE_ADMIN,
	    admin_optouts_remove},
	{CFG_M_DELETE, "/v1/optouts/", CFG_ROLE_REVIEWER | CFG_ROLE_ADMIN,
	    admin_optouts_remove},
};

/* 1 when <path> is the route's: equal, or for a route ending in '/', that
 * prefix and then one non-empty segment (the id). */
static int
path_is(const struct admin_route *r, const char *path)
{
	size_t	n = strlen(r->path);

	if (n == 0 || r->path[n - 1] != '/')
		return strcmp(r->path, path) == 0;
	return strncmp(r->path, path, n) == 0 && path[n] != '\0' &&
	    strchr(path + n, '/') == NULL;
}

void
admin_handle(struct exchange *ex)
{
	const struct admin_route	*r = NULL;
	const struct cfg_admin_token	*t = NULL;
	const struct http_header	*h;
	const char			*tok;
	size_t				 len;
	int				 path_known = 0;

	for (size_t i = 0; i < sizeof(admin_routes) / sizeof(*admin_routes); i++) {
		if (!path_is(&admin_routes[i], ex->req.path))
			continue;
		path_known = 1;
		if (admin_routes[i].methods & ex->req.method_bit)
			r = &admin_routes[i];
	}
	if (r == NULL) {
		if (path_known)
			ex_error(ex, 405, "method_not_allowed",
			    "this admin endpoint does not take this method");
		else
			ex_error(ex, 404, "not_found", "no such admin endpoint");
		return;
	}
	if (r->roles != 0) {
		h = http_head_get(&ex->req, "Authorization");
		if (h != NULL && proxy_auth_bearer_token(h->value, h->value_len,
		    &tok, &len) == 0)
			t = proxy_auth_admin(&ex->gen->cfg->admin, tok, len);
		if (t == NULL) {
			ex_error(ex, 401, "unauthenticated",
			    "send Authorization: Bearer <admin token>");
			return;
		}
		if ((t->roles & r->roles) == 0) {
			ex_error(ex, 403, "forbidden",
			    "this token's roles do not allow this endpoint");
			return;
		}
	}
	r->fn(ex, t);
}
