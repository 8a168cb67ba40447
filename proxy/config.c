/* proxy/config.c — loads and validates the custos configuration file. */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "policies/errs.h"
#include "policies/yaml.h"
#include "proxy/config.h"
#include "proxy/route.h"

/*
 * Validation strategy: every section is read even when an earlier one failed,
 * and every check appends to <errs> rather than returning early, so one run
 * reports every problem of the file. A value that fails is left at its
 * default (or NULL) and later checks that depend on it stay quiet rather than
 * cascade (e.g. a route naming an upstream whose url was bad still finds the
 * upstream by name). Whether the load succeeded is decided once, at the end,
 * by counting errors.
 */

#define MS_MAX		86400000	/* a day: any longer is a typo */
#define WORKERS_MAX	256
#define NAME_CHARS	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"0123456789_.-"

struct loader {
	struct proxy_config	*cfg;
	const struct pol_yaml	*doc;
	struct pol_errs		*errs;
};

static const char *const top_keys[] = {
	"listen", "admin", "workers", "upstreams", "routes", "principals",
	"limits", "keys", "audit", "state_dir", "policies", "quotas", NULL
};
static const char *const listen_keys[] = { "address", "tls", NULL };
static const char *const tls_keys[] = { "cert", "key", "client_ca", NULL };
static const char *const admin_keys[] = { "address", "tokens", NULL };
static const char *const token_keys[] = {
	"name", "roles", "token_sha256", NULL
};
static const char *const admin_roles[] = {
	"admin", "reviewer", "auditor", NULL	/* bit i is CFG_ROLE_* */
};
static const char *const upstream_keys[] = {
	"url", "ca", "connect_timeout", "response_timeout", "max_idle", NULL
};
static const char *const route_keys[] = {
	"match", "upstream", "non_json", NULL
};
static const char *const non_json_names[] = {
	"block", "pass", NULL	/* index is enum cfg_non_json */
};
static const char *const principal_keys[] = {
	"name", "roles", "api_key_sha256", "client_cert_subject", NULL
};
static const char *const limits_keys[] = {
	"max_header", "max_body", "max_json_depth", "max_string",
	"buffer_window", "max_connections", "client_timeout", NULL
};
static const char *const keys_keys[] = {
	"dir", "master_key_file", "master_key_env", NULL
};
static const char *const audit_keys[] = {
	"dir", "fsync", "checkpoint_every", "checkpoint_interval",
	"rotate_size", "queue", NULL
};
static const char *const fsync_names[] = {
	"batch", "interval", "none", NULL	/* index is enum cfg_fsync */
};

static void
nomem(struct loader *L)
{
	pol_errs_add(L->errs, POL_ERROR, pol_yaml_file(L->doc), 0, 0,
	    "out of memory");
}

static char *
dupstr(struct loader *L, const char *s)
{
	char	*d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		nomem(L);
	return d;
}

/* <p> as is when absolute, else joined to the config's directory. */
static char *
resolve(struct loader *L, const char *p)
{
	const char	*dir = L->cfg->dir;
	char		*r;
	size_t		 n;

	if (p[0] == '/' || dir == NULL)
		return dupstr(L, p);
	n = strlen(dir) + strlen(p) + 2;
	if ((r = malloc(n)) == NULL) {
		nomem(L);
		return NULL;
	}
	snprintf(r, n, "%s%s%s", dir, dir[0] != '\0' &&
	    dir[strlen(dir) - 1] == '/' ? "" : "/", p);
	return r;
}

/* A path-valued key of <map>: absent leaves *out NULL. With <must_read>, the
 * file must exist, be a regular file and be readable now (TLS certificates,
 * CA bundles, policies), so that `custos check` finds it, not the first
 * request. */
static void
get_path(struct loader *L, const struct pol_yaml_node *map, const char *key,
    int must_read, char **out)
{
	const struct pol_yaml_node	*v = pol_yaml_get(map, key);
	const char			*s;
	struct stat			 st;
	char				 l[96];

	if (v == NULL || pol_yaml_str(v, L->errs, &s) == -1)
		return;
	if (*s == '\0') {
		pol_yaml_error(v, L->errs, "%s must not be empty",
		    pol_yaml_label(v, l, sizeof(l)));
		return;
	}
	if ((*out = resolve(L, s)) == NULL || !must_read)
		return;
	if (stat(*out, &st) == -1 || access(*out, R_OK) == -1)
		pol_yaml_error(v, L->errs, "%s: cannot read %s: %s",
		    pol_yaml_label(v, l, sizeof(l)), *out, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		pol_yaml_error(v, L->errs, "%s: %s is not a regular file",
		    pol_yaml_label(v, l, sizeof(l)), *out);
}

/* A string-valued key that must not be empty when present. */
static void
get_text(struct loader *L, const struct pol_yaml_node *map, const char *key,
    char **out)
{
	const struct pol_yaml_node	*v = pol_yaml_get(map, key);
	const char			*s;
	char				 l[96];

	if (v == NULL || pol_yaml_str(v, L->errs, &s) == -1)
		return;
	if (*s == '\0')
		pol_yaml_error(v, L->errs, "%s must not be empty",
		    pol_yaml_label(v, l, sizeof(l)));
	else
		*out = dupstr(L, s);
}

/* 64 hex digits into 32 bytes. */
static int
get_sha256(struct loader *L, const struct pol_yaml_node *v, uint8_t out[32])
{
	const char	*s;
	size_t		 binlen = 0;
	char		 l[96];

	if (pol_yaml_str(v, L->errs, &s) == -1)
		return -1;
	if (strlen(s) != 64 || strspn(s, "0123456789abcdefABCDEF") != 64 ||
	    sodium_hex2bin(out, 32, s, 64, NULL, &binlen, NULL) != 0 ||
	    binlen != 32) {
		pol_yaml_error(v, L->errs, "%s must be 64 hexadecimal digits "
		    "(a SHA-256 hash), not %zu characters%s",
		    pol_yaml_label(v, l, sizeof(l)), strlen(s),
		    strlen(s) == 64 ? " with non-hex ones" : "");
		return -1;
	}
	return 0;
}

/*
 * Addresses.
 */

/* "127.0.0.1:8080", "[::1]:9090", "localhost:8080" into a socket address.
 * Port 0 is accepted (the kernel picks one). */
static int
parse_address(struct loader *L, const struct pol_yaml_node *v, const char *s,
    struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct addrinfo	 hints, *res = NULL;
	const char	*colon, *port;
	char		 host[256], l[96];
	size_t		 hlen;
	int		 bracket = 0, r;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':')
			goto bad;
		bracket = 1;
		hlen = (size_t)(rb - s - 1);
		memcpy(host, s + 1, hlen < sizeof(host) ? hlen : 0);
		colon = rb + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			goto bad;
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen) != NULL) {
			pol_yaml_error(v, L->errs, "%s: write IPv6 addresses "
			    "in brackets, e.g. [::1]:8080",
			    pol_yaml_label(v, l, sizeof(l)));
			return -1;
		}
		memcpy(host, s, hlen < sizeof(host) ? hlen : 0);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	host[hlen] = '\0';
	port = colon + 1;
	if (*port == '\0' || strlen(port) > 5 ||
	    strspn(port, "0123456789") != strlen(port) || atoi(port) > 65535)
		goto bad;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = bracket ? AF_INET6 : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (bracket ? AI_NUMERICHOST : 0);
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		pol_yaml_error(v, L->errs, "%s: cannot resolve '%s': %s",
		    pol_yaml_label(v, l, sizeof(l)), host,
		    r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r));
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
bad:
	{
		char d[96];

		pol_yaml_error(v, L->errs, "%s must be HOST:PORT (e.g. "
		    "127.0.0.1:8080 or [::1]:8080), not %s",
		    pol_yaml_label(v, l, sizeof(l)),
		    pol_yaml_describe(v, d, sizeof(d)));
	}
	return -1;
}

static int
sockaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return -1;
}

/* Same family, address and non-zero port: two sockets would split traffic
 * (SO_REUSEPORT) or fail to bind. Port 0 picks a fresh port each time. */
static int
same_sockaddr(const struct sockaddr_storage *a,
    const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family || sockaddr_port(a) <= 0 ||
	    sockaddr_port(a) != sockaddr_port(b))
		return 0;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr,
		    sizeof(struct in_addr)) == 0;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr,
		    sizeof(struct in6_addr)) == 0;
	return 0;
}

/*
 * Sections.
 */

/* Listener <i> (its address at <a>) against the ones before it. */
static void
listen_dup(struct loader *L, const struct pol_yaml_node *seq, size_t i,
    const struct pol_yaml_node *a)
{
	const struct cfg_listen	*all = L->cfg->listen;

	for (size_t j = 0; j < i; j++) {
		if (all[j].address == NULL ||
		    !same_sockaddr(&all[i].addr, &all[j].addr))
			continue;
		pol_yaml_error(a, L->errs, "listener address %s is already "
		    "used at line %zu", all[i].address,
		    pol_yaml_line(pol_yaml_item(seq, j)));
		return;
	}
}

static void
load_listen(struct loader *L, const struct pol_yaml_node *root)
{
	struct proxy_config		*cfg = L->cfg;
	const struct pol_yaml_node	*seq;
	size_t				 n;

	seq = pol_yaml_need(root, "listen", L->errs);
	if (pol_yaml_want_seq(seq, L->errs) == -1)
		return;
	if ((n = pol_yaml_len(seq)) == 0) {
		pol_yaml_error(seq, L->errs, "'listen' needs at least one "
		    "listener");
		return;
	}
	if ((cfg->listen = calloc(n, sizeof(*cfg->listen))) == NULL) {
		nomem(L);
		return;
	}
	cfg->nlisten = n;
	for (size_t i = 0; i < n; i++) {
		const struct pol_yaml_node	*it = pol_yaml_item(seq, i);
		const struct pol_yaml_node	*a, *tls;
		struct cfg_listen		*li = &cfg->listen[i];
		const char			*s;

		if (pol_yaml_want_map(it, L->errs) == -1)
			continue;
		pol_yaml_check_keys(it, listen_keys, L->errs);
		if ((a = pol_yaml_need(it, "address", L->errs)) != NULL &&
		    pol_yaml_str(a, L->errs, &s) == 0 &&
		    parse_address(L, a, s, &li->addr, &li->addrlen) == 0) {
			li->address = dupstr(L, s);
			listen_dup(L, seq, i, a);
		}
		if ((tls = pol_yaml_get(it, "tls")) == NULL ||
		    pol_yaml_want_map(tls, L->errs) == -1)
			continue;
		li->tls = 1;
		pol_yaml_check_keys(tls, tls_keys, L->errs);
		pol_yaml_need(tls, "cert", L->errs);
		pol_yaml_need(tls, "key", L->errs);
		get_path(L, tls, "cert", 1, &li->tls_cert);
		get_path(L, tls, "key", 1, &li->tls_key);
		get_path(L, tls, "client_ca", 1, &li->tls_client_ca);
	}
}

/* The CFG_ROLE_* bits of an admin token's role list. */
static unsigned
admin_role_bits(struct loader *L, const struct pol_yaml_node *ro)
{
	const char	**roles, *sug;
	size_t		  n, b;
	unsigned	  bits = 0;

	if (pol_yaml_strlist(ro, L->errs, &roles, &n) == -1)
		return 0;
	if (n == 0)
		pol_yaml_error(ro, L->errs, "'roles' must name at least one of "
		    "admin, reviewer, auditor");
	for (size_t k = 0; k < n; k++) {
		for (b = 0; admin_roles[b] != NULL; b++)
			if (strcmp(admin_roles[b], roles[k]) == 0)
				break;
		if (admin_roles[b] != NULL) {
			bits |= 1u << b;
			continue;
		}
		if ((sug = pol_yaml_suggest(roles[k], admin_roles)) != NULL)
			pol_yaml_error(pol_yaml_item(ro, k), L->errs, "unknown "
			    "admin role '%s' (did you mean '%s'?)", roles[k],
			    sug);
		else
			pol_yaml_error(pol_yaml_item(ro, k), L->errs, "unknown "
			    "admin role '%s' (one of admin, reviewer, auditor)",
			    roles[k]);
	}
	free(roles);
	return bits;
}

static void
load_admin(struct loader *L, const struct pol_yaml_node *root)
{
	struct cfg_admin		*ad = &L->cfg->admin;
	const struct pol_yaml_node	*map = pol_yaml_get(root, "admin");
	const struct pol_yaml_node	*a, *seq;
	const char			*s;
	unsigned char			*hashed = NULL;	/* token i has a hash */
	size_t				 n;

	if (pol_yaml_want_map(map, L->errs) == -1)
		return;
	pol_yaml_check_keys(map, admin_keys, L->errs);
	if ((a = pol_yaml_get(map, "address")) != NULL &&
	    pol_yaml_str(a, L->errs, &s) == 0 &&
	    parse_address(L, a, s, &ad->addr, &ad->addrlen) == 0) {
		ad->address = dupstr(L, s);
		for (size_t j = 0; j < L->cfg->nlisten; j++)
			if (L->cfg->listen[j].address != NULL &&
			    same_sockaddr(&ad->addr, &L->cfg->listen[j].addr)) {
				pol_yaml_error(a, L->errs, "admin address %s "
				    "is also a listener address", s);
				break;
			}
	}
	if ((seq = pol_yaml_get(map, "tokens")) == NULL ||
	    pol_yaml_want_seq(seq, L->errs) == -1 ||
	    (n = pol_yaml_len(seq)) == 0)
		return;
	if ((ad->tokens = calloc(n, sizeof(*ad->tokens))) == NULL ||
	    (hashed = calloc(n, 1)) == NULL) {
		nomem(L);
		return;
	}
	ad->ntokens = n;
	for (size_t i = 0; i < n; i++) {
		const struct pol_yaml_node	*it = pol_yaml_item(seq, i);
		const struct pol_yaml_node	*nm, *ro, *h;
		struct cfg_admin_token		*t = &ad->tokens[i];

		if (pol_yaml_want_map(it, L->errs) == -1)
			continue;
		pol_yaml_check_keys(it, token_keys, L->errs);
		if ((nm = pol_yaml_need(it, "name", L->errs)) != NULL) {
			get_text(L, it, "name", &t->name);
			for (size_t j = 0; t->name != NULL && j < i; j++)
				if (ad->tokens[j].name != NULL &&
				    strcmp(ad->tokens[j].name, t->name) == 0) {
					pol_yaml_error(nm, L->errs, "duplicate "
					    "admin token name '%s' (first at "
					    "line %zu)", t->name, pol_yaml_line(
					    pol_yaml_item(seq, j)));
					break;
				}
		}
		if ((ro = pol_yaml_need(it, "roles", L->errs)) != NULL)
			t->roles = admin_role_bits(L, ro);
		if ((h = pol_yaml_need(it, "token_sha256", L->errs)) == NULL ||
		    get_sha256(L, h, t->token_sha256) == -1)
			continue;
		hashed[i] = 1;
		for (size_t j = 0; j < i; j++) {
			if (!hashed[j] ||
			    memcmp(ad->tokens[j].token_sha256, t->token_sha256,
			    32) != 0)
				continue;
			pol_yaml_error(h, L->errs, "same token_sha256 as the "
			    "token at line %zu: give each person their own "
			    "token", pol_yaml_line(pol_yaml_item(seq, j)));
			break;
		}
	}
	free(hashed);
}

static void
load_workers(struct loader *L, const struct pol_yaml_node *root)
{
	const struct pol_yaml_node	*v = pol_yaml_get(root, "workers");
	long long			 n;
	char				 d[96];

	L->cfg->workers = 0;
	if (v == NULL || (pol_yaml_scalar(v) != NULL && !pol_yaml_quoted(v) &&
	    strcmp(pol_yaml_scalar(v), "auto") == 0)) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		L->cfg->workers = ncpu < 1 ? 1 : ncpu > WORKERS_MAX ?
		    WORKERS_MAX : (int)ncpu;
		return;
	}
	if (pol_yaml_int(v, 1, WORKERS_MAX, NULL, &n) == 0) {
		L->cfg->workers = (int)n;
		return;
	}
	pol_yaml_error(v, L->errs, "'workers' must be auto or an integer from "
	    "1 to %d, not %s", WORKERS_MAX, pol_yaml_describe(v, d, sizeof(d)));
}

/* http(s)://HOST[:PORT][/BASE]: fills the url parts of <u>; the reason of a
 * failure goes to *why. */
static int
parse_url(struct cfg_upstream *u, const char *url, const char **why)
{
	const char	*p, *host, *hend, *port = NULL, *path;
	size_t		 hlen, plen, blen;
	char		 portbuf[8];
	unsigned long	 pn;

	if (strncasecmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		p = url + 8, u->tls = 1;
	else {
		*why = "use http:// or https://";
		return -1;
	}
	path = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(path - p)) != NULL) {
		*why = "no user name or password in the url";
		return -1;
	}
	if (*p == '[') {
		host = p + 1;
		if ((hend = memchr(host, ']', (size_t)(path - host))) == NULL) {
			*why = "missing ']' after the IPv6 address";
			return -1;
		}
		if (hend + 1 < path && hend[1] != ':') {
			*why = "bad port";
			return -1;
		}
		if (hend + 1 < path)
			port = hend + 2;
	} else {
		host = p;
		hend = memchr(p, ':', (size_t)(path - p));
		if (hend != NULL)
			port = hend + 1;
		else
			hend = path;
	}
	if ((hlen = (size_t)(hend - host)) == 0) {
		*why = "missing host";
		return -1;
	}
	for (size_t i = 0; i < hlen; i++)
		if ((unsigned char)host[i] <= ' ' || host[i] == 0x7f) {
			*why = "bad character in host";
			return -1;
		}
	if (port != NULL) {
		plen = (size_t)(path - port);
		if (plen == 0 || plen > 5 ||
		    strspn(port, "0123456789") < plen) {
			*why = "bad port";
			return -1;
		}
		memcpy(portbuf, port, plen);
		portbuf[plen] = '\0';
		pn = strtoul(portbuf, NULL, 10);
		if (pn < 1 || pn > 65535) {
			*why = "port must be from 1 to 65535";
			return -1;
		}
		u->port = (uint16_t)pn;
	} else
		u->port = u->tls ? 443 : 80;
	if (strpbrk(path, "?#") != NULL) {
		*why = "no query or fragment in the url";
		return -1;
	}
	for (const char *c = path; *c != '\0'; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			*why = "bad character in path";
			return -1;
		}
	if ((u->host = strndup(host, hlen)) == NULL)
		goto nomem;
	/* The Host header keeps the brackets of an IPv6 address. */
	blen = hlen + (*p == '[' ? 2 : 0);
	if ((u->host_header = malloc(blen + 7)) == NULL)
		goto nomem;
	if (u->port == (u->tls ? 443 : 80))
		snprintf(u->host_header, blen + 7, "%.*s", (int)blen, p);
	else
		snprintf(u->host_header, blen + 7, "%.*s:%u", (int)blen, p,
		    u->port);
	plen = strlen(path);
	while (plen > 0 && path[plen - 1] == '/')
		plen--;
	if ((u->base_path = strndup(path, plen)) == NULL)
		goto nomem;
	return 0;
nomem:
	*why = "out of memory";
	return -1;
}

static void
load_upstream(struct loader *L, const struct pol_yaml_node *map,
    struct cfg_upstream *u)
{
	const struct pol_yaml_node	*v;
	struct addrinfo			 hints, *res = NULL;
	const char			*s, *why = NULL;
	char				 port[8];
	long long			 n;
	int				 r;

	u->connect_timeout = 2000;
	u->response_timeout = 10000;
	u->max_idle = 64;
	if (pol_yaml_want_map(map, L->errs) == -1)
		return;
	pol_yaml_check_keys(map, upstream_keys, L->errs);
	if ((v = pol_yaml_need(map, "url", L->errs)) != NULL &&
	    pol_yaml_str(v, L->errs, &s) == 0) {
		if (parse_url(u, s, &why) == -1)
			pol_yaml_error(v, L->errs, "bad upstream url '%s': %s",
			    s, why);
		else {
			u->url = dupstr(L, s);
			memset(&hints, 0, sizeof(hints));
			hints.ai_family = AF_UNSPEC;
			hints.ai_socktype = SOCK_STREAM;
			hints.ai_flags = AI_NUMERICSERV;
			snprintf(port, sizeof(port), "%u", u->port);
			if ((r = getaddrinfo(u->host, port, &hints, &res)) != 0)
				pol_yaml_error(v, L->errs, "cannot resolve "
				    "upstream host '%s': %s", u->host,
				    r == EAI_SYSTEM ? strerror(errno) :
				    gai_strerror(r));
			else {
				memcpy(&u->addr, res->ai_addr, res->ai_addrlen);
				u->addrlen = res->ai_addrlen;
				freeaddrinfo(res);
			}
		}
	}
	get_path(L, map, "ca", 1, &u->ca);
	if (u->ca != NULL && u->url != NULL && !u->tls)
		pol_yaml_warn(pol_yaml_get(map, "ca"), L->errs, "'ca' has no "
		    "effect on an http:// upstream");
	pol_yaml_get_ms(map, "connect_timeout", 1, MS_MAX, L->errs,
	    &u->connect_timeout);
	pol_yaml_get_ms(map, "response_timeout", 1, MS_MAX, L->errs,
	    &u->response_timeout);
	n = u->max_idle;
	if (pol_yaml_get_int(map, "max_idle", 0, 65536, L->errs, &n) == 0)
		u->max_idle = (int)n;
}

static void
load_upstreams(struct loader *L, const struct pol_yaml_node *root)
{
	struct proxy_config		*cfg = L->cfg;
	const struct pol_yaml_node	*map;
	size_t				 n;

	map = pol_yaml_need(root, "upstreams", L->errs);
	if (pol_yaml_want_map(map, L->errs) == -1)
		return;
	if ((n = pol_yaml_len(map)) == 0) {
		pol_yaml_error(map, L->errs, "'upstreams' needs at least one "
		    "upstream");
		return;
	}
	if ((cfg->upstreams = calloc(n, sizeof(*cfg->upstreams))) == NULL) {
		nomem(L);
		return;
	}
	cfg->nupstreams = n;
	for (size_t i = 0; i < n; i++) {
		const struct pol_yaml_node	*k = pol_yaml_map_key(map, i);
		const char			*name = pol_yaml_scalar(k);
		size_t				 len = strlen(name);

		/* Named even when its entry is bad: routes still find it. */
		if (len == 0 || len != pol_yaml_len(k) ||
		    strspn(name, NAME_CHARS) != len)
			pol_yaml_error(k, L->errs, "upstream name '%.64s' may "
			    "only use letters, digits, '_', '-' and '.'", name);
		cfg->upstreams[i].name = dupstr(L, name);
		load_upstream(L, pol_yaml_map_value(map, i),
		    &cfg->upstreams[i]);
	}
}

/* The route's "METHODS /path" at <m>; an error too when earlier routes with
 * the same path already take all its methods, so it could never match. */
static void
route_match(struct loader *L, size_t i, const struct pol_yaml_node *m)
{
	struct cfg_route	*routes = L->cfg->routes, *r = &routes[i];
	const char		*s, *path, *why;
	unsigned		 methods, covered = 0;

	if (pol_yaml_str(m, L->errs, &s) == -1)
		return;
	if (proxy_route_parse(s, &methods, &path, &why) == -1) {
		pol_yaml_error(m, L->errs, "bad route '%s': %s", s, why);
		return;
	}
	if ((r->match = dupstr(L, s)) == NULL ||
	    (r->path = dupstr(L, path)) == NULL)
		return;
	r->methods = methods;
	for (size_t j = 0; j < i; j++)
		if (routes[j].path != NULL && strcmp(routes[j].path, path) == 0)
			covered |= routes[j].methods;
	if ((methods & ~covered) == 0)
		pol_yaml_error(m, L->errs, "route '%s' can never match: "
		    "earlier routes with the same path take all its methods",
		    s);
}

/* The index of the upstream named at <up>, or SIZE_MAX. */
static size_t
route_upstream(struct loader *L, const struct pol_yaml_node *up,
    const char *const *names)
{
	const char	*s, *sug;

	if (pol_yaml_str(up, L->errs, &s) == -1)
		return SIZE_MAX;
	for (size_t j = 0; j < L->cfg->nupstreams; j++)
		if (strcmp(names[j], s) == 0)
			return j;
	if ((sug = pol_yaml_suggest(s, names)) != NULL)
		pol_yaml_error(up, L->errs, "unknown upstream '%s' (did you "
		    "mean '%s'?)", s, sug);
	else
		pol_yaml_error(up, L->errs, "unknown upstream '%s'", s);
	return SIZE_MAX;
}

static void
load_routes(struct loader *L, const struct pol_yaml_node *root)
{
	struct proxy_config		*cfg = L->cfg;
	const struct pol_yaml_node	*seq, *m, *up;
	const char			**names;
	size_t				 n;

	seq = pol_yaml_need(root, "routes", L->errs);
	if (pol_yaml_want_seq(seq, L->errs) == -1)
		return;
	if ((n = pol_yaml_len(seq)) == 0) {
		pol_yaml_error(seq, L->errs, "'routes' needs at least one "
		    "route");
		return;
	}
	if ((cfg->routes = calloc(n, sizeof(*cfg->routes))) == NULL) {
		nomem(L);
		return;
	}
	cfg->nroutes = n;
	if ((names = calloc(cfg->nupstreams + 1, sizeof(*names))) == NULL) {
		nomem(L);
		return;
	}
	for (size_t i = 0; i < cfg->nupstreams; i++)
		names[i] = cfg->upstreams[i].name ? cfg->upstreams[i].name : "";
	for (size_t i = 0; i < n; i++) {
		const struct pol_yaml_node	*it = pol_yaml_item(seq, i);
		struct cfg_route		*r = &cfg->routes[i];

		r->upstream = SIZE_MAX;
		if (pol_yaml_want_map(it, L->errs) == -1)
			continue;
		r->line = (int)pol_yaml_line(it);
		pol_yaml_check_keys(it, route_keys, L->errs);
		if ((m = pol_yaml_need(it, "match", L->errs)) != NULL)
			route_match(L, i, m);
		if ((up = pol_yaml_need(it, "upstream", L->errs)) != NULL)
			r->upstream = route_upstream(L, up, names);
		pol_yaml_get_enum(it, "non_json", non_json_names, L->errs,
		    &r->non_json);
	}
	free(names);
}

/* The line of the first of principals 0..i-1 for which <same> holds, or 0. */
static size_t
principal_dup(const struct pol_yaml_node *seq, const struct cfg_principal *ps,
    size_t i, int (*same)(const struct cfg_principal *,
    const struct cfg_principal *))
{
	for (size_t j = 0; j < i; j++)
		if (same(&ps[j], &ps[i]))
			return pol_yaml_line(pol_yaml_item(seq, j));
	return 0;
}

static int
same_name(const struct cfg_principal *a, const struct cfg_principal *b)
{
	return a->name != NULL && b->name != NULL &&
	    strcmp(a->name, b->name) == 0;
}

static int
same_key(const struct cfg_principal *a, const struct cfg_principal *b)
{
	return a->has_key && b->has_key &&
	    memcmp(a->api_key_sha256, b->api_key_sha256, 32) == 0;
}

static int
same_subject(const struct cfg_principal *a, const struct cfg_principal *b)
{
	return a->client_cert_subject != NULL && b->client_cert_subject !=
	    NULL && strcmp(a->client_cert_subject, b->client_cert_subject) == 0;
}

/* A principal's roles: any non-empty names (policies give them meaning). */
static void
principal_roles(struct loader *L, const struct pol_yaml_node *ro,
    struct cfg_principal *p)
{
	const char	**roles;
	size_t		  n;
	char		  l[96];

	if (pol_yaml_strlist(ro, L->errs, &roles, &n) == -1)
		return;
	if ((p->roles = calloc(n + 1, sizeof(*p->roles))) == NULL)
		nomem(L);
	for (size_t j = 0; p->roles != NULL && j < n; j++) {
		const struct pol_yaml_node *it = pol_yaml_item(ro, j);

		if (roles[j][0] == '\0')
			pol_yaml_error(it, L->errs, "%s must not be empty",
			    pol_yaml_label(it, l, sizeof(l)));
		else if ((p->roles[p->nroles] = dupstr(L, roles[j])) != NULL)
			p->nroles++;
	}
	free(roles);
}

static void
load_principals(struct loader *L, const struct pol_yaml_node *root)
{
	struct proxy_config		*cfg = L->cfg;
	const struct pol_yaml_node	*seq = pol_yaml_get(root, "principals");
	size_t				 n, line;

	if (pol_yaml_want_seq(seq, L->errs) == -1 ||
	    (n = pol_yaml_len(seq)) == 0)
		return;
	if ((cfg->principals = calloc(n, sizeof(*cfg->principals))) == NULL) {
		nomem(L);
		return;
	}
	cfg->nprincipals = n;
	for (size_t i = 0; i < n; i++) {
		const struct pol_yaml_node	*it = pol_yaml_item(seq, i);
		const struct pol_yaml_node	*nm, *ro, *h, *subj;
		struct cfg_principal		*p = &cfg->principals[i];

		if (pol_yaml_want_map(it, L->errs) == -1)
			continue;
		pol_yaml_check_keys(it, principal_keys, L->errs);
		if ((nm = pol_yaml_need(it, "name", L->errs)) != NULL) {
			get_text(L, it, "name", &p->name);
			if ((line = principal_dup(seq, cfg->principals, i,
			    same_name)) > 0)
				pol_yaml_error(nm, L->errs, "duplicate "
				    "principal name '%s' (first at line %zu)",
				    p->name, line);
		}
		if ((ro = pol_yaml_get(it, "roles")) != NULL)
			principal_roles(L, ro, p);
		if ((h = pol_yaml_get(it, "api_key_sha256")) != NULL &&
		    get_sha256(L, h, p->api_key_sha256) == 0) {
			p->has_key = 1;
			if ((line = principal_dup(seq, cfg->principals, i,
			    same_key)) > 0)
				pol_yaml_error(h, L->errs, "same "
				    "api_key_sha256 as the principal at line "
				    "%zu: each principal needs its own key",
				    line);
		}
		subj = pol_yaml_get(it, "client_cert_subject");
		get_text(L, it, "client_cert_subject", &p->client_cert_subject);
		if ((line = principal_dup(seq, cfg->principals, i,
		    same_subject)) > 0)
			pol_yaml_error(subj, L->errs, "same "
			    "client_cert_subject as the principal at line %zu",
			    line);
		if (h == NULL && subj == NULL)
			pol_yaml_error(it, L->errs, "a principal needs "
			    "'api_key_sha256' or 'client_cert_subject' (or "
			    "both)");
	}
}

/* A count (not a size in bytes): a plain integer in [min, max]. */
static void
get_count(struct loader *L, const struct pol_yaml_node *map, const char *key,
    long long min, long long max, size_t *out)
{
	long long	 v;

	if (pol_yaml_get_int(map, key, min, max, L->errs, &v) == 0 &&
	    pol_yaml_get(map, key) != NULL)
		*out = (size_t)v;
}

static void
load_limits(struct loader *L, const struct pol_yaml_node *root)
{
	struct cfg_limits		*lim = &L->cfg->limits;
	const struct pol_yaml_node	*map = pol_yaml_get(root, "limits");

	if (pol_yaml_want_map(map, L->errs) == -1)
		return;
	pol_yaml_check_keys(map, limits_keys, L->errs);
	pol_yaml_get_size(map, "max_header", 1024, 1 << 20, L->errs,
	    &lim->max_header);
	pol_yaml_get_size(map, "max_body", 1, (size_t)1 << 40, L->errs,
	    &lim->max_body);
	get_count(L, map, "max_json_depth", 1, 10000, &lim->max_json_depth);
	pol_yaml_get_size(map, "max_string", 1, (size_t)1 << 30, L->errs,
	    &lim->max_string);
	pol_yaml_get_size(map, "buffer_window", 4096, (size_t)1 << 30, L->errs,
	    &lim->buffer_window);
	get_count(L, map, "max_connections", 1, 1000000, &lim->max_connections);
	pol_yaml_get_ms(map, "client_timeout", 1, MS_MAX, L->errs,
	    &lim->client_timeout);
}

static void
load_keys(struct loader *L, const struct pol_yaml_node *root)
{
	struct cfg_keys			*k = &L->cfg->keys;
	const struct pol_yaml_node	*map = pol_yaml_get(root, "keys");
	const struct pol_yaml_node	*env;
	char				 l[96];

	if (pol_yaml_want_map(map, L->errs) == -1)
		return;
	pol_yaml_check_keys(map, keys_keys, L->errs);
	get_path(L, map, "dir", 0, &k->dir);
	get_path(L, map, "master_key_file", 0, &k->master_key_file);
	env = pol_yaml_get(map, "master_key_env");
	get_text(L, map, "master_key_env", &k->master_key_env);
	if (k->master_key_env != NULL && (isdigit((unsigned char)
	    k->master_key_env[0]) || strspn(k->master_key_env,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
	    != strlen(k->master_key_env)))
		pol_yaml_error(env, L->errs, "%s must be an environment "
		    "variable name (letters, digits and '_')",
		    pol_yaml_label(env, l, sizeof(l)));
	/* One source of the master key, so no one wonders which one won. */
	if (env != NULL && pol_yaml_get(map, "master_key_file") != NULL)
		pol_yaml_error(pol_yaml_key_of(env), L->errs, "give either "
		    "'master_key_file' or 'master_key_env', not both");
}

static void
load_audit(struct loader *L, const struct pol_yaml_node *root)
{
	struct cfg_audit		*a = &L->cfg->audit;
	const struct pol_yaml_node	*map = pol_yaml_get(root, "audit");

	if (pol_yaml_want_map(map, L->errs) == -1)
		return;
	pol_yaml_check_keys(map, audit_keys, L->errs);
	get_path(L, map, "dir", 0, &a->dir);
	pol_yaml_get_enum(map, "fsync", fsync_names, L->errs, &a->fsync);
	get_count(L, map, "checkpoint_every", 1, 100000000,
	    &a->checkpoint_every);
	pol_yaml_get_ms(map, "checkpoint_interval", 1, MS_MAX, L->errs,
	    &a->checkpoint_interval);
	pol_yaml_get_size(map, "rotate_size", 4096, (size_t)1 << 40, L->errs,
	    &a->rotate_size);
	get_count(L, map, "queue", 16, 1 << 24, &a->queue);
}

/* quotas: {reveal_per_hour: {ROLE: N, ...}} — how many reveal and
 * break-glass decisions the principals of a role may get per hour, all of
 * them together. */
static void
load_quotas(struct loader *L, const struct pol_yaml_node *root)
{
	static const char *const keys[] = { "reveal_per_hour", NULL };
	struct proxy_config		*cfg = L->cfg;
	const struct pol_yaml_node	*q = pol_yaml_get(root, "quotas"), *m;
	size_t				 n;

	if (q == NULL || pol_yaml_want_map(q, L->errs) == -1)
		return;
	pol_yaml_check_keys(q, keys, L->errs);
	if ((m = pol_yaml_get(q, "reveal_per_hour")) == NULL ||
	    pol_yaml_want_map(m, L->errs) == -1)
		return;
	n = pol_yaml_len(m);
	if (n > 0 && (cfg->quotas = calloc(n, sizeof(*cfg->quotas))) == NULL) {
		nomem(L);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		long long	 v;
		char		*role;

		if (pol_yaml_int(pol_yaml_map_value(m, i), 0, 1000000000,
		    L->errs, &v) == -1)
			continue;
		if ((role = strdup(pol_yaml_scalar(pol_yaml_map_key(m, i))))
		    == NULL) {
			nomem(L);
			return;
		}
		cfg->quotas[cfg->nquotas].role = role;
		cfg->quotas[cfg->nquotas++].reveal_per_hour = (long)v;
	}
}

static void
load_policies(struct loader *L, const struct pol_yaml_node *root)
{
	struct proxy_config		*cfg = L->cfg;
	const struct pol_yaml_node	*seq = pol_yaml_get(root, "policies");
	const char			**paths;
	size_t				 n;

	if (seq == NULL || pol_yaml_strlist(seq, L->errs, &paths, &n) == -1)
		return;
	if (n > 0 && (cfg->policies = calloc(n, sizeof(*cfg->policies)))
	    == NULL) {
		nomem(L);
		free(paths);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pol_yaml_node	*it = pol_yaml_item(seq, i);
		struct stat			 st;
		char				 l[96], *p;

		if (paths[i][0] == '\0') {
			pol_yaml_error(it, L->errs, "%s must not be empty",
			    pol_yaml_label(it, l, sizeof(l)));
			continue;
		}
		if ((p = resolve(L, paths[i])) == NULL)
			continue;
		cfg->policies[cfg->npolicies++] = p;
		if (stat(p, &st) == -1 || access(p, R_OK) == -1)
			pol_yaml_error(it, L->errs, "policy file %s: %s", p,
			    strerror(errno));
		else if (!S_ISREG(st.st_mode))
			pol_yaml_error(it, L->errs, "policy file %s is not a "
			    "regular file", p);
	}
	free(paths);
}

/* The config file's directory, absolute when it can be made so. */
static char *
config_dir(const char *path)
{
	const char	*slash = strrchr(path, '/');
	char		*d, *abs;

	if (slash == NULL)
		d = strdup(".");
	else if (slash == path)
		d = strdup("/");
	else
		d = strndup(path, (size_t)(slash - path));
	if (d == NULL)
		return NULL;
	if ((abs = realpath(d, NULL)) == NULL)
		return d;
	free(d);
	return abs;
}

struct proxy_config *
proxy_config_load(const char *path, struct pol_errs *dst)
{
	struct proxy_config		*cfg = NULL;
	struct pol_errs			*errs;
	struct pol_yaml			*doc = NULL;
	const struct pol_yaml_node	*root;
	struct loader			 L;

	if ((errs = pol_errs_new()) == NULL) {
		pol_errs_add(dst, POL_ERROR, path, 0, 0, "out of memory");
		return NULL;
	}
	if ((doc = pol_yaml_load_file(path, errs)) == NULL)
		goto fail;
	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->path = strdup(path)) == NULL ||
	    (cfg->dir = config_dir(path)) == NULL) {
		pol_errs_add(errs, POL_ERROR, path, 0, 0, "out of memory");
		goto fail;
	}
	cfg->limits.max_header = 16384;
	cfg->limits.max_body = 67108864;
	cfg->limits.max_json_depth = 256;
	cfg->limits.max_string = 1048576;
	cfg->limits.buffer_window = 262144;
	cfg->limits.max_connections = 10000;
	cfg->limits.client_timeout = 30000;
	cfg->audit.fsync = CFG_FSYNC_BATCH;
	cfg->audit.checkpoint_every = 1000;
	cfg->audit.checkpoint_interval = 5000;
	cfg->audit.rotate_size = (size_t)64 << 20;
	cfg->audit.queue = 65536;

	L.cfg = cfg;
	L.doc = doc;
	L.errs = errs;
	if ((root = pol_yaml_root(doc)) == NULL) {
		pol_errs_add(errs, POL_ERROR, path, 0, 0, "the configuration "
		    "is empty (it needs at least 'listen', 'upstreams' and "
		    "'routes')");
		goto fail;
	}
	if (pol_yaml_want_map(root, errs) == -1)
		goto fail;
	pol_yaml_check_keys(root, top_keys, errs);
	load_listen(&L, root);
	load_admin(&L, root);
	load_workers(&L, root);
	load_upstreams(&L, root);
	load_routes(&L, root);
	load_principals(&L, root);
	load_limits(&L, root);
	load_keys(&L, root);
	load_audit(&L, root);
	get_path(&L, root, "state_dir", 0, &cfg->state_dir);
	load_policies(&L, root);
	load_quotas(&L, root);
	if (pol_errs_count(errs) > 0)
		goto fail;
	pol_yaml_move_sorted(dst, errs);	/* the warnings */
	pol_yaml_free(doc);
	pol_errs_free(errs);
	return cfg;
fail:
	pol_yaml_move_sorted(dst, errs);
	proxy_config_free(cfg);
	pol_yaml_free(doc);
	pol_errs_free(errs);
	return NULL;
}

void
proxy_config_free(struct proxy_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nlisten; i++) {
		free(cfg->listen[i].address);
		free(cfg->listen[i].tls_cert);
		free(cfg->listen[i].tls_key);
		free(cfg->listen[i].tls_client_ca);
	}
	free(cfg->listen);
	free(cfg->admin.address);
	for (size_t i = 0; i < cfg->admin.ntokens; i++) {
		free(cfg->admin.tokens[i].name);
		sodium_memzero(cfg->admin.tokens[i].token_sha256, 32);
	}
	free(cfg->admin.tokens);
	for (size_t i = 0; i < cfg->nupstreams; i++) {
		struct cfg_upstream *u = &cfg->upstreams[i];

		free(u->name);
		free(u->url);
		free(u->host);
		free(u->host_header);
		free(u->base_path);
		free(u->ca);
	}
	free(cfg->upstreams);
	for (size_t i = 0; i < cfg->nroutes; i++) {
		free(cfg->routes[i].match);
		free(cfg->routes[i].path);
	}
	free(cfg->routes);
	for (size_t i = 0; i < cfg->nprincipals; i++) {
		struct cfg_principal *p = &cfg->principals[i];

		free(p->name);
		for (size_t j = 0; j < p->nroles; j++)
			free(p->roles[j]);
		free(p->roles);
		free(p->client_cert_subject);
	}
	free(cfg->principals);
	free(cfg->keys.dir);
	free(cfg->keys.master_key_file);
	free(cfg->keys.master_key_env);
	free(cfg->audit.dir);
	free(cfg->state_dir);
	for (size_t i = 0; i < cfg->npolicies; i++)
		free(cfg->policies[i]);
	free(cfg->policies);
	for (size_t i = 0; i < cfg->nquotas; i++)
		free(cfg->quotas[i].role);
	free(cfg->quotas);
	free(cfg->path);
	free(cfg->dir);
	free(cfg);
}
