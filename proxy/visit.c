/* proxy/visit.c — adapts the JSON rewriter's visitor calls to the policy
 * engine (see visit.h). */
#include <stdint.h>

#include "classifiers/classifiers.h"
#include "policies/policies.h"
#include "proxy/json.h"
#include "proxy/visit.h"

/* cls_seg_fn over a json_path: the same shape as json_path_seg, through a
 * wrapper rather than a function-pointer cast. */
static int
seg(const void *ctx, size_t i, const char **key, size_t *len,
    uint64_t *index)
{
	return json_path_seg(ctx, i, key, len, index);
}

enum json_action
proxy_visit(void *ud, const struct json_path *jp, const struct json_value *v,
    struct json_edit *edit)
{
	struct proxy_visit	*pv = ud;
	struct cls_path		 path;
	struct cls_field	 f;
	const char		*out = NULL;
	size_t			 outlen = 0, depth;
	int			 raw = 0;
	uint64_t		 idx;

	if (v->type != JSON_STRING && v->type != JSON_NUMBER)
		return JSON_KEEP;
	depth = json_path_depth(jp);
	path.ctx = jp;
	path.depth = depth;
	path.seg = seg;
	f.name = NULL;
	f.name_len = 0;
	if (depth > 0 && json_path_seg(jp, depth - 1, &f.name, &f.name_len,
	    &idx) != 1) {
		f.name = NULL;
		f.name_len = 0;
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
