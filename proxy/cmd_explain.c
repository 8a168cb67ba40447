/* proxy/cmd_explain.c — `custos explain`: run one JSON document through the
 * proxy's own pipeline (json_rw + proxy_visit + the policy engine) and print
 * the transformed document and the decisions. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "classifiers/classifiers.h"
#include "keys/keys.h"
#include "policies/errs.h"
#include "policies/policies.h"
#include "proxy/cli.h"
#include "proxy/config.h"
#include "proxy/internal.h"
#include "proxy/json.h"
#include "proxy/route.h"
#include "proxy/visit.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: custos explain -c CONFIG --route 'METHOD /path' "
	    "--principal NAME\n"
	    "           [--direction request|response] [--decisions FILE]\n"
	    "           [--justification TEXT] [FILE|-]\n"
	    "Runs one JSON document through the proxy's pipeline as the\n"
	    "principal would see it: the transformed document goes to stdout,\n"
	    "the decisions (the audit log's JSON) to --decisions (default\n"
	    "stderr). Exit 0; 1 when the document is invalid JSON or the\n"
	    "policy denies it; 2 on usage or configuration errors.\n"
	    "  -c CONFIG             the custos configuration\n"
	    "  --route 'GET /path'   the request line to simulate\n"
	    "  --principal NAME      a principal of the configuration\n"
	    "  --direction DIR       response (default) or request\n"
	    "  --decisions FILE      where the decisions go\n"
	    "  --justification TEXT  as X-Custos-Justification (break glass)\n");
}

/* The decisions as the audit log writes them (the same writer, so they
 * are the same JSON): the "decisions" array, one line. 0, or -1. */
static int
print_decisions(const struct pol_eval *ev, FILE *f)
{
	const struct pol_decision	*d;
	struct audit_decision		 ad;
	struct audit_rec		*r;
	const char			*fps[POL_MAX_FPS];
	const char			*evi[CLS_MAX_EVIDENCE];
	const char			*body;
	size_t				 n, len, key = strlen("\"decisions\":");
	int				 rc = -1;

	d = pol_eval_decisions(ev, &n);
	if ((r = audit_rec_new()) == NULL)
		return -1;
	audit_rec_arr_open(r, "decisions");
	for (size_t i = 0; i < n; i++) {
		pol_decision_to_audit(&d[i], &ad, fps, evi);
		audit_rec_decision(r, &ad);
	}
	audit_rec_arr_close(r);
	body = audit_rec_body(r, &len);
	if (audit_rec_error(r) == 0 && len >= key &&
	    fwrite(body + key, 1, len - key, f) == len - key &&
	    fputc('\n', f) != EOF)
		rc = 0;
	audit_rec_free(r);
	return rc;
}

int
cmd_explain(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "route", required_argument, NULL, 'r' },
		{ "principal", required_argument, NULL, 'p' },
		{ "direction", required_argument, NULL, 'd' },
		{ "decisions", required_argument, NULL, 'D' },
		{ "justification", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char		*config = NULL, *route = NULL, *who = NULL;
	const char		*decisions = NULL, *justification = NULL;
	const char		*input = "-";
	enum pol_dir		 dir = POL_DIR_RESPONSE;
	struct pol_errs		*errs = NULL;
	struct proxy_config	*cfg = NULL;
	struct proxy_gen	*gen = NULL;
	struct cls_scratch	*scratch = NULL;
	struct pol_eval		*ev = NULL;
	struct json_rw		*rw = NULL;
	struct evbuffer		*out = NULL;
	const struct cfg_principal *pr = NULL;
	const struct cfg_route	*rt;
	size_t			 plen;
	char			 method[16], *path = NULL, buf[65536];
	unsigned		 mbit = 0;
	struct pol_ctx		 ctx;
	struct proxy_visit	 pv;
	enum json_status	 st = JSON_NEED_MORE;
	FILE			*in = NULL, *df = NULL;
	int			 c, rc = 2, mm = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'r':
			route = optarg;
			break;
		case 'p':
			who = optarg;
			break;
		case 'd':
			if (strcmp(optarg, "request") == 0)
				dir = POL_DIR_REQUEST;
			else if (strcmp(optarg, "response") == 0)
				dir = POL_DIR_RESPONSE;
			else {
				fprintf(stderr, "custos explain: --direction "
				    "must be request or response\n");
				return 2;
			}
			break;
		case 'D':
			decisions = optarg;
			break;
		case 'j':
			justification = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		input = argv[optind++];
	if (config == NULL || route == NULL || who == NULL || optind < argc) {
		usage(stderr);
		return 2;
	}
	{
		const char *sp = strchr(route, ' ');
		size_t ml = sp ? (size_t)(sp - route) : 0;

		if (sp != NULL && ml < sizeof(method))
			mbit = http_method_bit(route, ml);
		if (mbit == 0 || sp[1] != '/') {
			fprintf(stderr, "custos explain: --route must be "
			    "'METHOD /path', e.g. 'GET /api/customers'\n");
			return 2;
		}
		memcpy(method, route, ml);
		method[ml] = '\0';
		path = strdup(sp + 1);
		if (path == NULL)
			return 2;
		plen = strcspn(path, "?#");
		path[plen] = '\0';
	}

	if ((errs = pol_errs_new()) == NULL)
		goto done;
	/* Exactly what serve loads: config, TLS, keyring, policies. */
	if ((cfg = proxy_config_load(config, errs)) == NULL)
		goto errors;
	if ((gen = proxy_gen_new(cfg, errs)) == NULL) {
		proxy_config_free(cfg);
		goto errors;
	}
	cfg = gen->cfg;
	pol_errs_print(errs, stderr);		/* warnings */
	if (gen->policy == NULL) {
		fprintf(stderr, "custos explain: %s names no policies\n", config);
		goto done;
	}
	for (size_t i = 0; i < cfg->nprincipals; i++)
		if (strcmp(cfg->principals[i].name, who) == 0)
			pr = &cfg->principals[i];
	if (pr == NULL) {
		fprintf(stderr, "custos explain: no principal '%s' in %s\n",
		    who, config);
		goto done;
	}
	rt = proxy_route_find(cfg->routes, cfg->nroutes, mbit, path, plen, &mm);
	if (rt == NULL) {
		fprintf(stderr, "custos explain: %s: no route matches '%s' "
		    "(the proxy answers %d)\n", config, route, mm ? 405 : 404);
		rc = 1;
		goto done;
	}

	memset(&ctx, 0, sizeof(ctx));
	ctx.method = method;
	ctx.path = path;
	ctx.path_len = plen;
	ctx.route = rt->match;
	ctx.principal = pr->name;
	ctx.roles = (const char *const *)pr->roles;
	ctx.nroles = pr->nroles;
	ctx.dir = dir;
	ctx.justified = justification != NULL && justification[0] != '\0';
	ctx.request_id = "explain";
	if ((scratch = cls_scratch_new()) == NULL ||
	    (ev = pol_eval_new(gen->policy, &ctx, gen->ring, scratch)) == NULL)
		goto done;
	memset(&pv, 0, sizeof(pv));
	pv.ev = ev;
	/* The proxy's own body pipeline (limits, rewriter, visitor). */
	if ((rw = body_rw(gen, 0, &pv)) == NULL ||
	    (out = evbuffer_new()) == NULL)
		goto done;

	if (strcmp(input, "-") == 0)
		in = stdin;
	else if ((in = fopen(input, "rb")) == NULL) {
		fprintf(stderr, "custos explain: %s: %s\n", input,
		    strerror(errno));
		goto done;
	}
	while (st == JSON_NEED_MORE) {
		size_t n = fread(buf, 1, sizeof(buf), in);

		if (n == 0) {
			if (ferror(in)) {
				fprintf(stderr, "custos explain: %s: read "
				    "error\n", input);
				goto done;
			}
			st = json_rw_finish(rw, out);
			break;
		}
		/* The output is held until the end: a document that turns out
		 * invalid or denied prints nothing (the proxy answers with an
		 * error instead). Offline tool: memory is not bounded here. */
		st = json_rw_feed(rw, buf, n, out);
	}

	if (decisions != NULL) {
		if ((df = fopen(decisions, "w")) == NULL) {
			fprintf(stderr, "custos explain: %s: %s\n", decisions,
			    strerror(errno));
			goto done;
		}
	}
	switch (st) {
	case JSON_DONE:
		while (evbuffer_get_length(out) > 0)
			if (evbuffer_write(out, 1) < 0)
				goto done;
		rc = 0;
		break;
	case JSON_STOPPED:
		fprintf(stderr, "custos explain: denied by rule '%s' (the proxy "
		    "answers 403)\n", pol_eval_denied_rule(ev) ?
		    pol_eval_denied_rule(ev) : "?");
		rc = 1;
		break;
	default:
		fprintf(stderr, "custos explain: %s: invalid JSON at byte %llu: "
		    "%s\n", input, (unsigned long long)json_rw_error_offset(rw),
		    json_rw_error(rw));
		rc = 1;
		break;
	}
	fflush(stdout);
	if (print_decisions(ev, df ? df : stderr) < 0)
		rc = rc ? rc : 1;
	if (df != NULL && fclose(df) != 0)
		rc = rc ? rc : 1;
	df = NULL;
	goto done;
errors:
	pol_errs_print(errs, stderr);
	rc = 2;
done:
	if (in != NULL && in != stdin)
		fclose(in);
	if (df != NULL)
		fclose(df);
	if (out != NULL)	/* evbuffer_free is not NULL-safe */
		evbuffer_free(out);
	json_rw_free(rw);
	pol_eval_free(ev);
	cls_scratch_free(scratch);
	proxy_gen_unref(gen);
	pol_errs_free(errs);
	free(path);
	return rc;
}
