/* proxy/visit.h — the one glue between the streaming JSON rewriter and the
 * policy engine, used by the proxy's body pipeline and by `custos explain`
 * alike, so that both transform a document byte for byte the same way. */
#ifndef CUSTOS_PROXY_VISIT_H
#define CUSTOS_PROXY_VISIT_H

#include "proxy/json.h"

struct pol_eval;

/* Per body. <ev> is borrowed (the caller creates it with pol_eval_new for
 * this body and frees it after reading its decisions). */
struct proxy_visit {
	struct pol_eval	*ev;
	int		 denied;	/* set when the engine denied the body:
					 * pol_eval_denied_rule(ev) names why */
};

/*
 * A json_visit_fn: give it to json_rw_new() with a struct proxy_visit as
 * <ud>. Strings and numbers go through pol_eval_field (the member's key as
 * the field name, the path read in place: nothing is formatted for fields
 * no class claims); containers and true/false/null are kept. Verdicts map
 * to JSON_KEEP, JSON_REPLACE (a JSON string, or raw JSON), JSON_REMOVE, and
 * POL_DENY to JSON_STOP (the body ends JSON_STOPPED; answer 403 naming
 * pol_eval_denied_rule). Safe in event callbacks.
 */
enum json_action	proxy_visit(void *ud, const struct json_path *,
			    const struct json_value *, struct json_edit *);

#endif
