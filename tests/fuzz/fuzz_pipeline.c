/* tests/fuzz/fuzz_pipeline.c — libFuzzer target: arbitrary bytes as a JSON
 * body through the proxy's pipeline with the example CRM policy applied (the
 * rewriter, proxy_visit, the classifiers and the engine), for a role chosen
 * by the first byte, fed in two pieces split where the second byte says.
 * Must never crash, leak or hang, and whatever it accepts must come out as
 * valid JSON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "classifiers/classifiers.h"
#include "policies/errs.h"
#include "policies/policies.h"
#include "proxy/json.h"
#include "proxy/visit.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Loaded once: the fuzzer runs from the top of the project. */
static struct pol_policy	*policy;
static struct cls_scratch	*scratch;

static const char *const roles[] = {
	"sales_rep", "manager", "analyst", "ai_assistant", "marketing",
};

static enum json_status
run(struct json_rw *rw, const uint8_t *p, size_t n, size_t cut,
    struct evbuffer *out)
{
	enum json_status st = json_rw_feed(rw, (const char *)p, cut, out);

	if (st == JSON_NEED_MORE)
		st = json_rw_feed(rw, (const char *)p + cut, n - cut, out);
	if (st == JSON_NEED_MORE)
		st = json_rw_finish(rw, out);
	return st;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*role[1];
	struct pol_ctx		 ctx;
	struct pol_eval		*ev;
	struct proxy_visit	 pv;
	struct json_limits	 jl = { 64, 65536, 0, 0, 0 };
	struct json_rw		*rw, *check;
	struct evbuffer		*out;
	size_t			 cut;
	enum json_status	 st;

	if (policy == NULL) {
		struct pol_errs *errs = pol_errs_new();
		const char *files[] = { "policies/examples/crm.yaml" };

		policy = pol_policy_load(files, 1, NULL, errs);
		scratch = cls_scratch_new();
		pol_errs_free(errs);
		if (policy == NULL || scratch == NULL)
			abort();
	}
	if (size < 2)
		return 0;
	role[0] = roles[data[0] % 5];
	jl.ndjson = data[0] & 0x80;
	cut = data[1] % (size - 1);
	data += 2;
	size -= 2;
	memset(&ctx, 0, sizeof(ctx));
	ctx.method = "GET";
	ctx.path = "/api/customers";
	ctx.path_len = 14;
	ctx.route = "GET /api/customers/**";
	ctx.principal = "fuzz";
	ctx.roles = role;
	ctx.nroles = 1;
	ctx.dir = (data[-2] & 0x40) ? POL_DIR_REQUEST : POL_DIR_RESPONSE;
	ctx.justified = data[-2] & 0x20;
	ctx.request_id = "fuzz";
	if ((ev = pol_eval_new(policy, &ctx, NULL, scratch)) == NULL)
		return 0;
	memset(&pv, 0, sizeof(pv));
	pv.ev = ev;
	rw = json_rw_new(&jl, proxy_visit, &pv);
	out = evbuffer_new();
	if (rw == NULL || out == NULL)
		abort();
	if (cut > size)
		cut = size;
	st = run(rw, data, size, cut, out);
	if (st == JSON_DONE) {
		/* What passed must be JSON again (no visitor this time). */
		size_t	 n = evbuffer_get_length(out);
		uint8_t	*o = evbuffer_pullup(out, -1);
		struct json_limits l2 = jl;

		l2.max_string = 1 << 20;
		if ((check = json_rw_new(&l2, NULL, NULL)) == NULL)
			abort();
		if (run(check, o ? o : (const uint8_t *)"", n, n / 2, NULL)
		    != JSON_DONE)
			abort();
		json_rw_free(check);
	}
	json_rw_free(rw);
	evbuffer_free(out);
	pol_eval_free(ev);
	return 0;
}
