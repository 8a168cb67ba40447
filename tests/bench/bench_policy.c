/* tests/bench/bench_policy.c — decision engine throughput on one core:
 * fields/s through pol_eval_field for the CRM customer list under the
 * example policy as role sales_rep, and MB/s end to end (json_rw +
 * proxy_visit) on a ~1 MB CRM document. Prints figures; never fails on
 * time. Run from the repository root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "classifiers/classifiers.h"
#include "keys/keys.h"
#include "policies/errs.h"
#include "policies/policies.h"
#include "proxy/json.h"
#include "proxy/visit.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE	*f = fopen(path, "rb");
	char	*b;
	long	 n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (b = malloc((size_t)n + 1)) == NULL ||
	    fread(b, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		exit(1);
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

/* Collects every scalar field of the document (copies) to replay them
 * through pol_eval_field alone. */
struct rec {
	char		*name, *value;
	size_t		 nlen, vlen;
	struct cls_seg	 segs[8];
	size_t		 depth;
	enum cls_vtype	 type;
};
struct coll {
	struct rec	*r;
	size_t		 n, cap;
};

static enum json_action
collect(void *ud, const struct json_path *p, const struct json_value *v,
    struct json_edit *e)
{
	struct coll	*c = ud;
	struct rec	*r;
	size_t		 d = json_path_depth(p);

	(void)e;
	if ((v->type != JSON_STRING && v->type != JSON_NUMBER) || d > 8)
		return JSON_KEEP;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 1024;
		c->r = realloc(c->r, c->cap * sizeof(*c->r));
	}
	r = &c->r[c->n++];
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < d; i++) {
		const char *k;
		size_t kl;
		uint64_t idx;

		if (json_path_seg(p, i, &k, &kl, &idx) == 1) {
			r->segs[i].key = strndup(k, kl);
			r->segs[i].len = kl;
		} else
			r->segs[i].index = idx;
	}
	r->depth = d;
	if (d > 0 && r->segs[d - 1].key != NULL) {
		r->name = (char *)(uintptr_t)r->segs[d - 1].key;
		r->nlen = r->segs[d - 1].len;
	}
	r->value = strndup(v->ptr, v->len);
	r->vlen = v->len;
	r->type = v->type == JSON_STRING ? CLS_V_STRING : CLS_V_NUMBER;
	return JSON_KEEP;
}

int
main(void)
{
	const char		*files[] = { "policies/examples/crm.yaml" };
	const char		*roles[] = { "sales_rep" };
	struct pol_errs		*errs = pol_errs_new();
	struct pol_policy	*pol;
	struct cls_scratch	*scratch = cls_scratch_new();
	struct keys_master_src	 src = { 0 };
	struct keys_ring	*ring;
	struct pol_ctx		 ctx;
	struct coll		 c = { 0 };
	struct json_rw		*rw;
	struct evbuffer		*out;
	char			 tmp[] = "/tmp/custos-bench-pol-XXXXXX";
	char			 dir[128], master[128], *one, *big;
	size_t			 onelen, biglen = 0, fields = 0, changed = 0;
	double			 t0, t;
	int			 reps;

	if (mkdtemp(tmp) == NULL)
		return 1;
	snprintf(dir, sizeof(dir), "%s/keys", tmp);
	snprintf(master, sizeof(master), "%s/master.key", tmp);
	src.file = master;
	if (keys_init(dir, &src, NULL, errs) != 0 ||
	    (ring = keys_open(dir, &src, 0, errs)) == NULL ||
	    (pol = pol_policy_load(files, 1, NULL, errs)) == NULL) {
		pol_errs_print(errs, stderr);
		return 1;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.method = "GET";
	ctx.path = "/api/customers";
	ctx.path_len = strlen(ctx.path);
	ctx.route = "GET|POST|PUT /api/customers/**";
	ctx.principal = "rep-app";
	ctx.roles = roles;
	ctx.nroles = 1;
	ctx.dir = POL_DIR_RESPONSE;
	ctx.request_id = "bench";

	one = slurp("tests/data/crm-customers.json", &onelen);
	rw = json_rw_new(NULL, collect, &c);
	json_rw_feed(rw, one, onelen, NULL);
	json_rw_finish(rw, NULL);
	json_rw_free(rw);

	/* 1. fields/s through the engine alone. */
	reps = 2000;
	t0 = now();
	for (int k = 0; k < reps; k++) {
		struct pol_eval *ev = pol_eval_new(pol, &ctx, ring, scratch);

		for (size_t i = 0; i < c.n; i++) {
			struct rec *r = &c.r[i];
			struct cls_path path = { r->segs, r->depth, 0 };
			struct cls_field f = { r->name, r->nlen, &path,
				r->value, r->vlen, r->type };
			const char *o;
			size_t ol;
			int raw;

			if (pol_eval_field(ev, &f, &o, &ol, &raw) != POL_KEEP)
				changed++;
			fields++;
		}
		pol_eval_free(ev);
	}
	t = now() - t0;
	printf("policy: %zu fields/body (crm-customers.json, %zu bytes), "
	    "role sales_rep\n", c.n, onelen);
	printf("policy: pol_eval_field       %10.0f fields/s  (%.0f ns/field,"
	    " %.1f%% changed)\n", (double)fields / t, t * 1e9 /
	    (double)fields, 100.0 * (double)changed / (double)fields);

	/* 1a. the same without a keyring: no fingerprints (keyed BLAKE2b, up
	 * to POL_MAX_FPS per decision) and keyed actions fall back to redact
	 * (none under sales_rep). The difference to 1 is the fingerprints. */
	fields = 0;
	t0 = now();
	for (int k = 0; k < reps; k++) {
		struct pol_eval *ev = pol_eval_new(pol, &ctx, NULL, scratch);

		for (size_t i = 0; i < c.n; i++) {
			struct rec *r = &c.r[i];
			struct cls_path path = { r->segs, r->depth, 0 };
			struct cls_field f = { r->name, r->nlen, &path,
				r->value, r->vlen, r->type };
			const char *o;
			size_t ol;
			int raw;

			if (pol_eval_field(ev, &f, &o, &ol, &raw) != POL_KEEP)
				changed++;
			fields++;
		}
		pol_eval_free(ev);
	}
	t = now() - t0;
	printf("policy: pol_eval_field no ring %8.0f fields/s  (%.0f ns/field)"
	    "\n", (double)fields / t, t * 1e9 / (double)fields);

	/* 1b. the classifier alone on the same fields, for comparison: the
	 * engine's own cost is the difference. */
	fields = 0;
	t0 = now();
	for (int k = 0; k < reps; k++)
		for (size_t i = 0; i < c.n; i++) {
			struct rec *r = &c.r[i];
			struct cls_path path = { r->segs, r->depth, 0 };
			struct cls_field f = { r->name, r->nlen, &path,
				r->value, r->vlen, r->type };
			struct cls_match m[32];

			changed += cls_classify(pol_policy_classes(pol),
			    scratch, &f, m, 32);
			fields++;
		}
	t = now() - t0;
	printf("policy: cls_classify alone   %10.0f fields/s  (%.0f ns/field)"
	    "\n", (double)fields / t, t * 1e9 / (double)fields);

	/* 2. end to end on a ~1 MB document: the list repeated in an array. */
	big = malloc(onelen * 100 + 16);
	big[biglen++] = '[';
	while (biglen < (1u << 20)) {
		if (biglen > 1)
			big[biglen++] = ',';
		memcpy(big + biglen, one, onelen);
		biglen += onelen;
	}
	big[biglen++] = ']';
	out = evbuffer_new();
	reps = 20;
	t0 = now();
	for (int k = 0; k < reps; k++) {
		struct pol_eval *ev = pol_eval_new(pol, &ctx, ring, scratch);
		struct proxy_visit pv = { ev, 0 };
		enum json_status st;

		rw = json_rw_new(NULL, proxy_visit, &pv);
		/* 16 KiB chunks, as a socket would deliver them. */
		for (size_t o = 0; o < biglen; o += 16384) {
			size_t n = biglen - o < 16384 ? biglen - o : 16384;

			json_rw_feed(rw, big + o, n, out);
			evbuffer_drain(out, evbuffer_get_length(out));
		}
		st = json_rw_finish(rw, out);
		if (st != JSON_DONE) {
			fprintf(stderr, "bench: status %d\n", st);
			return 1;
		}
		evbuffer_drain(out, evbuffer_get_length(out));
		json_rw_free(rw);
		pol_eval_free(ev);
	}
	t = now() - t0;
	printf("policy: json_rw+proxy_visit  %10.1f MB/s      (%.2f MB "
	    "document, %.1f ms each)\n", (double)biglen * reps / t / 1e6,
	    (double)biglen / 1e6, t * 1e3 / reps);

	/* 3. as the proxy runs it: the 11 KB list as one body, a new
	 * pol_eval per body (so up to POL_MAX_FPS fingerprints per decision
	 * every time), with the keyring and without. */
	for (int withring = 1; withring >= 0; withring--) {
		reps = 5000;
		t0 = now();
		for (int k = 0; k < reps; k++) {
			struct pol_eval *ev = pol_eval_new(pol, &ctx,
			    withring ? ring : NULL, scratch);
			struct proxy_visit pv = { ev, 0 };

			rw = json_rw_new(NULL, proxy_visit, &pv);
			json_rw_feed(rw, one, onelen, out);
			if (json_rw_finish(rw, out) != JSON_DONE) {
				fprintf(stderr, "bench: body not done\n");
				return 1;
			}
			evbuffer_drain(out, evbuffer_get_length(out));
			json_rw_free(rw);
			pol_eval_free(ev);
		}
		t = now() - t0;
		printf("policy: per 11 KB body%s %8.0f bodies/s  (%.1f us each)\n",
		    withring ? "        " : ", no ring", reps / t, t * 1e6 / reps);
	}

	evbuffer_free(out);
	free(big);
	free(one);
	for (size_t i = 0; i < c.n; i++) {
		for (size_t j = 0; j < c.r[i].depth; j++)
			free((char *)(uintptr_t)c.r[i].segs[j].key);
		free(c.r[i].value);
	}
	free(c.r);
	pol_policy_free(pol);
	cls_scratch_free(scratch);
	keys_close(ring);
	pol_errs_free(errs);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			return 1;
	}
	return 0;
}
