/* proxy/cmd_override.c — `custos override add|list|revoke`: a small HTTP
 * client of the admin API's /v1/overrides (plain HTTP/1.1 over a socket,
 * one request per run). */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "policies/errs.h"
#include "proxy/cli.h"
#include "proxy/config.h"
#include "proxy/internal.h"
#include "proxy/json.h"

#define EXIT_USAGE	2
#define IO_TIMEOUT_S	30
#define RESP_MAX	(64u << 20)

static const char override_help[] =
    "usage: custos override COMMAND [OPTIONS]\n\n"
    "A client of the admin API's overrides (a reviewer's token; list also\n"
    "takes an auditor's).\n\n"
    "Commands:\n"
    "  add      overrule a decision, or every decision in a scope\n"
    "  list     the active overrides (--all: revoked and expired too)\n"
    "  revoke   end an override now\n\n"
    "Common options:\n"
    "  -c, --config FILE  take the admin address from this configuration\n"
    "  --admin URL        the admin API, e.g. http://127.0.0.1:9090\n"
    "                     (default: admin.address of --config)\n"
    "  --token TOKEN      the admin bearer token (default: the environment\n"
    "                     variable CUSTOS_ADMIN_TOKEN, which keeps it out of\n"
    "                     the process list)\n\n"
    "Prints the server's JSON answer. Exit status 0 on a 2xx answer, 1\n"
    "otherwise, 2 for bad usage.\n"
    "Run 'custos override COMMAND --help' for a command's options.\n";

static const char add_help[] =
    "usage: custos override add (--decision ID | SCOPE...) --action ACTION\n"
    "           --reason TEXT --expires TIME [-c CONFIG] [--admin URL]\n"
    "           [--token TOKEN]\n\n"
    "Creates an override. From a decision id (REQUEST_ID.N, as in the audit\n"
    "log and GET /v1/decisions/ID) the scope is that decision's rule, path,\n"
    "class, route and principal (and value fingerprint, when it saw one).\n"
    "Or give the scope, any of:\n"
    "  --rule ID            the deciding rule (\"default\": the policy default)\n"
    "  --route MATCH        a configured route, exactly as written\n"
    "  --path GLOB          folded JSON path, e.g. '$.customers[*].email'\n"
    "  --class NAME         the class\n"
    "  --principal NAME     the caller\n"
    "  --role NAME          one of the caller's roles\n"
    "  --fingerprint FP     one value (custos audit fingerprint VALUE)\n\n"
    "Required:\n"
    "  --action ACTION      allow, reclassify (not personal data: passes),\n"
    "                       or a stricter action: mask, hash, tokenize,\n"
    "                       encrypt, redact, drop, deny\n"
    "  --reason TEXT        why (goes to the audit log: no personal data)\n"
    "  --expires TIME       RFC 3339 (2026-12-01T00:00:00Z) or a duration\n"
    "                       from now: 90s, 30m, 12h, 7d\n";

static const char list_help[] =
    "usage: custos override list [--all] [-c CONFIG] [--admin URL]\n"
    "           [--token TOKEN]\n\n"
    "Prints the active overrides as a JSON array; with --all, revoked and\n"
    "expired ones too.\n";

static const char revoke_help[] =
    "usage: custos override revoke ID [-c CONFIG] [--admin URL]\n"
    "           [--token TOKEN]\n\n"
    "Revokes override ID (ovr-...) at once, on every worker. The revocation\n"
    "is an audit record.\n";

enum {
	O_ADMIN = 256, O_TOKEN, O_DECISION, O_RULE, O_ROUTE, O_PATH, O_CLASS,
	O_PRINCIPAL, O_ROLE, O_FP, O_ACTION, O_REASON, O_EXPIRES, O_ALL,
};

struct opts {
	const char	*config, *admin, *token;
	const char	*decision, *action, *reason, *expires;
	const char	*scope[7];	/* rule route path class principal
					 * role fingerprint */
	int		 all;
};

static const char *const scope_names[7] = {
	"rule", "route", "path", "class", "principal", "role", "fingerprint",
};

/* "http://HOST:PORT[/]" or "HOST:PORT" into host and port. */
static int
parse_url(const char *url, char *host, size_t hsize, char *port,
    size_t psize)
{
	const char	*p = url, *colon, *end;
	size_t		 hl;

	if (strncmp(p, "https://", 8) == 0) {
		fprintf(stderr, "custos override: the admin listener speaks "
		    "plain HTTP (keep it on a local or private address)\n");
		return -1;
	}
	if (strncmp(p, "http://", 7) == 0)
		p += 7;
	end = p + strcspn(p, "/");
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (rb == NULL || rb[1] != ':')
			return -1;
		hl = (size_t)(rb - p - 1);
		p++;
		colon = rb + 1;
	} else {
		if ((colon = memchr(p, ':', (size_t)(end - p))) == NULL)
			return -1;
		hl = (size_t)(colon - p);
	}
	if (hl == 0 || hl >= hsize || (size_t)(end - colon - 1) >= psize ||
	    end - colon - 1 == 0)
		return -1;
	memcpy(host, p, hl);
	host[hl] = '\0';
	memcpy(port, colon + 1, (size_t)(end - colon - 1));
	port[end - colon - 1] = '\0';
	return 0;
}

static int
dial(const char *host, const char *port)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	struct timeval	 tv = {IO_TIMEOUT_S, 0};
	int		 fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "custos override: %s: %s\n", host,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		fprintf(stderr, "custos override: cannot connect to %s:%s: %s\n",
		    host, port, strerror(errno));
	freeaddrinfo(res);
	return fd;
}

/*
 * Sends one request with Connection: close and reads the answer to EOF.
 * Returns the status code with the body in <body>, or -1 (message printed).
 */
static int
http_call(const char *url, const char *method, const char *path,
    const char *token, struct evbuffer *req_body, struct evbuffer *body)
{
	struct evbuffer	*req = evbuffer_new(), *in = evbuffer_new();
	struct evbuffer_ptr p;
	char		 host[256], port[16], buf[16384], *line = NULL;
	size_t		 n = 0;
	ssize_t		 r;
	int		 fd = -1, status = -1, minor;

	if (req == NULL || in == NULL)
		goto out;
	if (parse_url(url, host, sizeof(host), port, sizeof(port)) < 0) {
		fprintf(stderr, "custos override: bad admin URL '%s' (want "
		    "http://HOST:PORT)\n", url);
		goto out;
	}
	evbuffer_add_printf(req, "%s %s HTTP/1.1\r\nHost: %s:%s\r\n"
	    "Authorization: Bearer %s\r\nAccept: application/json\r\n"
	    "Connection: close\r\n", method, path, host, port, token);
	if (req_body != NULL)
		evbuffer_add_printf(req, "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n",
		    evbuffer_get_length(req_body));
	evbuffer_add(req, "\r\n", 2);
	if (req_body != NULL)
		evbuffer_add_buffer(req, req_body);
	if ((fd = dial(host, port)) < 0)
		goto out;
	while (evbuffer_get_length(req) > 0) {
		if ((r = evbuffer_write(req, fd)) <= 0) {
			fprintf(stderr, "custos override: send: %s\n",
			    strerror(errno));
			goto out;
		}
	}
	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || evbuffer_get_length(in) + (size_t)r > RESP_MAX) {
			fprintf(stderr, "custos override: reading the answer: "
			    "%s\n", r < 0 ? strerror(errno) : "too large");
			goto out;
		}
		evbuffer_add(in, buf, (size_t)r);
	}
	line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
	if (line == NULL || sscanf(line, "HTTP/1.%d %d", &minor, &status) != 2) {
		fprintf(stderr, "custos override: not an HTTP answer from %s\n",
		    url);
		status = -1;
		goto out;
	}
	p = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (p.pos < 0) {
		/* no header besides the status line */
		p = evbuffer_search(in, "\r\n", 2, NULL);
		if (p.pos != 0) {
			status = -1;
			goto out;
		}
		evbuffer_drain(in, 2);
	} else
		evbuffer_drain(in, (size_t)p.pos + 4);
	evbuffer_add_buffer(body, in);
out:
	free(line);
	if (fd >= 0)
		close(fd);
	if (req != NULL)
		evbuffer_free(req);
	if (in != NULL)
		evbuffer_free(in);
	return status;
}

/* "90s", "+30m", "12h", "7d" from now as RFC 3339; anything else as it
 * is (the server checks it). */
static const char *
expires_abs(const char *s, char buf[AUDIT_TIME_LEN + 1])
{
	const char	*p = *s == '+' ? s + 1 : s;
	char		*end;
	unsigned long	 v;
	long		 mul;

	if (*p < '0' || *p > '9')
		return s;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno != 0 || end[0] == '\0' || end[1] != '\0')
		return s;
	switch (*end) {
	case 's': mul = 1; break;
	case 'm': mul = 60; break;
	case 'h': mul = 3600; break;
	case 'd': mul = 86400; break;
	default: return s;
	}
	if (v > 3650ul * 86400 / (unsigned long)mul)
		return s;
	audit_ms_format(audit_now_ms() + (int64_t)v * mul * 1000, buf);
	return buf;
}

/* The admin URL: --admin, or admin.address of the configuration. */
static int
admin_url(const struct opts *o, char *url, size_t size)
{
	struct pol_errs		*errs;
	struct proxy_config	*cfg;
	int			 rc = -1;

	if (o->admin != NULL) {
		snprintf(url, size, "%s", o->admin);
		return 0;
	}
	if (o->config == NULL) {
		fprintf(stderr, "custos override: give --admin URL or -c "
		    "CONFIG\n");
		return -1;
	}
	if ((errs = pol_errs_new()) == NULL)
		return -1;
	if ((cfg = proxy_config_load(o->config, errs)) == NULL)
		pol_errs_print(errs, stderr);
	else if (cfg->admin.address == NULL)
		fprintf(stderr, "custos override: %s has no admin address\n",
		    o->config);
	else {
		snprintf(url, size, "http://%s", cfg->admin.address);
		rc = 0;
	}
	proxy_config_free(cfg);
	pol_errs_free(errs);
	return rc;
}

static int
run(const struct opts *o, const char *method, const char *path,
    struct evbuffer *req_body)
{
	struct evbuffer	*body = evbuffer_new();
	char		 url[512];
	size_t		 n;
	int		 status, rc = 1;

	if (body == NULL)
		return 1;
	if (admin_url(o, url, sizeof(url)) < 0) {
		evbuffer_free(body);
		return EXIT_USAGE;
	}
	status = http_call(url, method, path, o->token, req_body, body);
	if (status < 0)
		goto out;
	n = evbuffer_get_length(body);
	fwrite(evbuffer_pullup(body, -1), 1, n, stdout);
	if (n > 0 && evbuffer_pullup(body, -1)[n - 1] != '\n')
		fputc('\n', stdout);
	fflush(stdout);
	if (status >= 200 && status < 300)
		rc = 0;
	else
		fprintf(stderr, "custos override: the admin API answered %d\n",
		    status);
out:
	evbuffer_free(body);
	return rc;
}

static int
do_add(struct opts *o)
{
	struct evbuffer	*b;
	char		 when[AUDIT_TIME_LEN + 1];
	int		 first = 1, nscope = 0, rc;

	for (size_t i = 0; i < 7; i++)
		nscope += o->scope[i] != NULL;
	if ((o->decision == NULL) == (nscope == 0) || o->action == NULL ||
	    o->reason == NULL || o->expires == NULL) {
		fprintf(stderr, "custos override add: give --decision ID or a "
		    "scope (not both), and --action, --reason, --expires\n%s",
		    add_help);
		return EXIT_USAGE;
	}
	if ((b = evbuffer_new()) == NULL)
		return 1;
	evbuffer_add(b, "{", 1);
	if (o->decision != NULL)
		json_member(b, &first, "decision_id", o->decision);
	else {
		evbuffer_add(b, "\"scope\":{", 9);
		for (size_t i = 0; i < 7; i++)
			if (o->scope[i] != NULL)
				json_member(b, &first, scope_names[i],
				    o->scope[i]);
		evbuffer_add(b, "}", 1);
		first = 0;
	}
	json_member(b, &first, "action", o->action);
	json_member(b, &first, "reason", o->reason);
	json_member(b, &first, "expires", expires_abs(o->expires, when));
	evbuffer_add(b, "}", 1);
	rc = run(o, "POST", "/v1/overrides", b);
	evbuffer_free(b);
	return rc;
}

int
cmd_override(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"admin", required_argument, NULL, O_ADMIN},
		{"token", required_argument, NULL, O_TOKEN},
		{"decision", required_argument, NULL, O_DECISION},
		{"rule", required_argument, NULL, O_RULE},
		{"route", required_argument, NULL, O_ROUTE},
		{"path", required_argument, NULL, O_PATH},
		{"class", required_argument, NULL, O_CLASS},
		{"principal", required_argument, NULL, O_PRINCIPAL},
		{"role", required_argument, NULL, O_ROLE},
		{"fingerprint", required_argument, NULL, O_FP},
		{"action", required_argument, NULL, O_ACTION},
		{"reason", required_argument, NULL, O_REASON},
		{"expires", required_argument, NULL, O_EXPIRES},
		{"all", no_argument, NULL, O_ALL},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct opts	 o;
	const char	*cmd, *help;
	char		 path[128];
	int		 c, adds = 0;

	memset(&o, 0, sizeof(o));
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		fputs(override_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	cmd = argv[1];
	if (strcmp(cmd, "add") == 0)
		help = add_help;
	else if (strcmp(cmd, "list") == 0)
		help = list_help;
	else if (strcmp(cmd, "revoke") == 0)
		help = revoke_help;
	else {
		fprintf(stderr, "custos override: unknown command '%s'\n%s",
		    cmd, override_help);
		return EXIT_USAGE;
	}
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.config = optarg; break;
		case O_ADMIN: o.admin = optarg; break;
		case O_TOKEN: o.token = optarg; break;
		case O_DECISION: o.decision = optarg; adds++; break;
		case O_RULE: o.scope[0] = optarg; adds++; break;
		case O_ROUTE: o.scope[1] = optarg; adds++; break;
		case O_PATH: o.scope[2] = optarg; adds++; break;
		case O_CLASS: o.scope[3] = optarg; adds++; break;
		case O_PRINCIPAL: o.scope[4] = optarg; adds++; break;
		case O_ROLE: o.scope[5] = optarg; adds++; break;
		case O_FP: o.scope[6] = optarg; adds++; break;
		case O_ACTION: o.action = optarg; adds++; break;
		case O_REASON: o.reason = optarg; adds++; break;
		case O_EXPIRES: o.expires = optarg; adds++; break;
		case O_ALL: o.all = 1; break;
		case 'h':
			fputs(help, stdout);
			return 0;
		default:
			fputs(help, stderr);
			return EXIT_USAGE;
		}
	}
	if ((help != add_help && adds > 0) || (help != list_help && o.all)) {
		fprintf(stderr, "custos override %s: option not for this "
		    "command\n%s", cmd, help);
		return EXIT_USAGE;
	}
	if (o.token == NULL)
		o.token = getenv("CUSTOS_ADMIN_TOKEN");
	if (o.token == NULL || o.token[0] == '\0' ||
	    strpbrk(o.token, "\r\n") != NULL) {
		fprintf(stderr, "custos override: no admin token: set "
		    "CUSTOS_ADMIN_TOKEN or give --token\n");
		return EXIT_USAGE;
	}
	if (help == add_help) {
		if (optind != argc) {
			fputs(add_help, stderr);
			return EXIT_USAGE;
		}
		return do_add(&o);
	}
	if (help == list_help) {
		if (optind != argc) {
			fputs(list_help, stderr);
			return EXIT_USAGE;
		}
		return run(&o, "GET", o.all ? "/v1/overrides?all=1" :
		    "/v1/overrides", NULL);
	}
	if (optind + 1 != argc || !http_request_id_valid(argv[optind],
	    strlen(argv[optind])) || strlen(argv[optind]) > 64) {
		fprintf(stderr, "custos override revoke: give one override id "
		    "(ovr-...)\n%s", revoke_help);
		return EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "/v1/overrides/%s", argv[optind]);
	return run(&o, "DELETE", path, NULL);
}
