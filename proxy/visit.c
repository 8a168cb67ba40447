/* proxy/visit.c — adapts the JSON rewriter's visitor calls to the policy
 * engine (see visit.h). */
#include <stdint.h>

#include "classifiers/classifiers.h"
#include "policies/policies.h"
#include "proxy/json.h"
#include "proxy/visit.h"

enum json_action
proxy_visit(void *ud, const struct json_path *jp, const struct json_value *v,
    struct json_edit *edit)
{
	struct proxy_visit	*pv = ud;
	struct cls_path		 path;
	struct cls_field	 f;
	const char		*out = NULL;
	size_t			 outlen = 0;
	int			 raw = 0;

	if (v->type != JSON_STRING && v->type != JSON_NUMBER)
		return JSON_KEEP;
	path.segs = json_path_segs(jp);
	path.depth = json_path_depth(jp);
	path.hashed = 1;
	f.name = NULL;
	f.name_len = 0;
	if (path.depth > 0 && path.segs[path.depth - 1].key != NULL) {
		f.name = path.segs[path.depth - 1].key;
		f.name_len = path.segs[path.depth - 1].len;
	}
	f.path = &path;
	f.value = v->ptr;
	f.len = v->len;
	f.type = v->type == JSON_STRING ? CLS_V_STRING : CLS_V_NUMBER;
	switch (pol_eval_field(pv->ev, &f, &out, &outlen, &raw)) {
	case POL_KEEP:
		return JSON_KEEP;
	case POL_REPLACE:
		if (raw)
			json_edit_raw(edit, out, outlen);
		else
			json_edit_string(edit, out, outlen);
		return JSON_REPLACE;
	case POL_REMOVE:
		return JSON_REMOVE;
	case POL_DENY:
	default:
		pv->denied = 1;
		return JSON_STOP;
	}
}
