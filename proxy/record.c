/* proxy/record.c — what the proxy writes to the audit log: one record per
 * request direction that had decisions, a block or a denial. */
#include <errno.h>
#include <stdlib.h>

#include "audit/audit.h"
#include "proxy/internal.h"

int
ex_audit(struct exchange *ex, const char *direction, const char *type,
    int status, const char *reason, const struct audit_decision *d, size_t n)
{
	struct worker		*w = ex->c->w;
	struct audit_log	*log = w->srv->audit;
	const struct cfg_principal *p = ex->principal;
	struct audit_request	 r = {
		.type = type,
		.request_id = ex->id,
		.principal = p ? p->name : NULL,
		.roles = p ? (const char *const *)p->roles : NULL,
		.nroles = p ? p->nroles : 0,
		.route = ex->route_name,
		.direction = direction,
		.policy = ex->gen->version,
		.status = status,
		.reason = reason,
		.decisions = d,
		.ndecisions = n,
	};

	if (log == NULL)
		return 0;
	if (w->rec == NULL && (w->rec = audit_rec_new()) == NULL)
		return -1;
	if (audit_rec_request(w->rec, &r) != 0)
		return -1;
	/* Never drop: a full queue makes this worker wait for the writer
	 * (backpressure), except when the log is down, where the request
	 * fails closed instead of waiting without end. */
	if (!audit_available(log))
		return -1;
	return audit_submit(log, w->rec, NULL);
}

int
ex_audit_ready(const struct exchange *ex)
{
	struct audit_log *log = ex->c->w->srv->audit;

	return log == NULL || audit_available(log);
}

int
ex_audit_down(struct exchange *ex)
{
	if (ex_audit_ready(ex))
		return 0;
	ex_error(ex, 503, "audit_unavailable",
	    "the audit log cannot be written; try again later");
	return 1;
}

void
ex_block(struct exchange *ex, const char *direction, int status,
    const char *code, const char *reason)
{
	(void)ex_audit(ex, direction, "block", status, reason, NULL, 0);
	ex_error(ex, status, code, reason);
}
