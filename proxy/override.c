/* proxy/override.c — human overrides in the body pipeline: the policy
 * engine's override hook, matched against a snapshot of the override store
 * taken when the body's evaluation begins. */
#include <string.h>

#include "audit/audit.h"
#include "policies/policies.h"
#include "proxy/internal.h"

/*
 * How much of a value an action lets through, from "all of it" (0) to
 * "nothing, and the body is refused" (5). An override may always relax a
 * decision to allow (that is what a reviewer's override is for), but any
 * other action it names must be at least as strict as what the policy
 * decided: a scope written for masked emails must not, by matching a field
 * a later rule redacts, weaken that redaction (fail closed).
 */
int
override_rank(enum pol_action a)
{
	switch (a) {
	case POL_A_ALLOW:
	case POL_A_REVEAL:
		return 0;
	case POL_A_MASK:
		return 1;
	case POL_A_HASH:
	case POL_A_TOKENIZE:
	case POL_A_ENCRYPT:
		return 2;
	case POL_A_REDACT:
		return 3;
	case POL_A_DROP:
		return 4;
	case POL_A_DENY:
		return 5;
	}
	return 5;
}

int
override_effect(const char *ovr_action, enum pol_action decided,
    enum pol_action *out)
{
	int	a;

	if (ovr_action == NULL)
		return 0;
	/* reclassify: "not personal data", so the value passes as it is */
	if (strcmp(ovr_action, "allow") == 0 ||
	    strcmp(ovr_action, "reclassify") == 0)
		a = POL_A_ALLOW;
	else if ((a = pol_action_parse(ovr_action)) < 0 || a == POL_A_REVEAL ||
	    override_rank((enum pol_action)a) < override_rank(decided))
		return 0;
	if ((enum pol_action)a == decided)
		return 0;	/* nothing changes: the decision names no override */
	*out = (enum pol_action)a;
	return 1;
}

/* The pol_override_fn: <arg> is the exchange whose body is evaluated. The
 * override's id lives in ex->ovr, which outlives ex->ev (override_end runs
 * after pol_eval_free). */
static int
override_hook(void *arg, const struct pol_override_q *q,
    enum pol_action *action, const char **override_id)
{
	const struct exchange		*ex = arg;
	const struct cfg_principal	*p = ex->principal;
	const struct audit_override	*o;
	struct audit_ovr_query		 aq;

	if (ex->ovr == NULL)
		return 0;
	memset(&aq, 0, sizeof(aq));
	/* The policy default is named "default", as in a denial's reason. */
	aq.rule = q->rule != NULL ? q->rule : "default";
	aq.route = ex->route_name;
	aq.path = q->path;
	aq.class_ = q->class_;
	aq.principal = p != NULL ? p->name : NULL;
	aq.roles = p != NULL ? (const char *const *)p->roles : NULL;
	aq.nroles = p != NULL ? p->nroles : 0;
	aq.fingerprints = q->fingerprint != NULL ? &q->fingerprint : NULL;
	aq.nfingerprints = q->fingerprint != NULL ? 1 : 0;
	if ((o = audit_ovr_match(ex->ovr, &aq, ex->ovr_now)) == NULL ||
	    !override_effect(o->action, q->action, action))
		return 0;
	*override_id = o->id;
	return 1;
}

void
override_begin(struct exchange *ex, struct pol_ctx *ctx)
{
	struct audit_ovr_store	*st = ex->c->w->srv->ovr;

	if (st == NULL)
		return;
	ex->ovr = audit_ovr_snapshot(st);
	ex->ovr_now = audit_now_ms();
	/* No active override (the usual case; revoked and expired ones do not
	 * count): no hook, no cost per field. The body is matched at one
	 * instant. */
	if (audit_ovr_live_until(ex->ovr) <= ex->ovr_now) {
		override_end(ex);
		return;
	}
	ctx->override = override_hook;
	ctx->override_arg = ex;
}

void
override_end(struct exchange *ex)
{
	audit_ovr_release(ex->ovr);
	ex->ovr = NULL;
}
