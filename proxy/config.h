/* proxy/config.h — the custos configuration file (DESIGN.md, Configuration). */
#ifndef CUSTOS_PROXY_CONFIG_H
#define CUSTOS_PROXY_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct pol_errs;

/* A listener: "HOST:PORT" (IPv6 as "[::1]:8443"), optionally TLS. */
struct cfg_listen {
	char			*address;	/* as written */
	struct sockaddr_storage	 addr;		/* resolved */
	socklen_t		 addrlen;
	int			 tls;		/* 1 when the tls map is present */
	char			*tls_cert;	/* absolute or config-relative resolved path */
	char			*tls_key;
	char			*tls_client_ca;	/* NULL: no client certificates asked */
};

enum cfg_role_bits {
	CFG_ROLE_ADMIN		= 1 << 0,
	CFG_ROLE_REVIEWER	= 1 << 1,
	CFG_ROLE_AUDITOR	= 1 << 2,
};

struct cfg_admin_token {
	char		*name;
	unsigned	 roles;			/* CFG_ROLE_* */
	uint8_t		 token_sha256[32];
};

struct cfg_admin {
	char			*address;	/* NULL: no admin listener */
	struct sockaddr_storage	 addr;
	socklen_t		 addrlen;
	struct cfg_admin_token	*tokens;
	size_t			 ntokens;
};

struct cfg_upstream {
	char		*name;
	char		*url;		/* as written */
	int		 tls;		/* https:// */
	char		*host;		/* host part of the url (for Host and SNI) */
	uint16_t	 port;
	char		*host_header;	/* "host" or "host:port" as sent upstream */
	char		*base_path;	/* path prefix of the url, "" when none */
	struct sockaddr_storage addr;	/* resolved at load */
	socklen_t	 addrlen;
	char		*ca;		/* CA file for https upstreams; NULL: system store */
	int		 connect_timeout;	/* ms, default 2000 */
	int		 response_timeout;	/* ms, default 10000 */
	int		 max_idle;		/* idle keep-alive connections per worker, default 64 */
};

enum cfg_non_json { CFG_NON_JSON_BLOCK = 0, CFG_NON_JSON_PASS = 1 };

/* A route "GET|POST /api/customers/..." : methods is a bit set of CFG_M_*, or CFG_M_ANY
 * for "*". The path pattern is kept as written; see proxy/route.h. */
enum cfg_method_bits {
	CFG_M_GET = 1 << 0, CFG_M_HEAD = 1 << 1, CFG_M_POST = 1 << 2,
	CFG_M_PUT = 1 << 3, CFG_M_PATCH = 1 << 4, CFG_M_DELETE = 1 << 5,
	CFG_M_OPTIONS = 1 << 6,
	CFG_M_ANY = 0x7f,
};

struct cfg_route {
	char		*match;		/* as written, e.g. "GET|POST /api/customers/..." */
	unsigned	 methods;	/* CFG_M_* */
	char		*path;		/* the pattern part */
	size_t		 upstream;	/* index into cfg->upstreams */
	int		 non_json;	/* enum cfg_non_json */
	int		 line;		/* where it was written, for messages */
};

struct cfg_principal {
	char		*name;
	char		**roles;
	size_t		 nroles;
	int		 has_key;
	uint8_t		 api_key_sha256[32];
	char		*client_cert_subject;	/* e.g. "CN=bi.example.com", or NULL */
};

struct cfg_limits {
	size_t	max_header;	/* 16384 */
	size_t	max_body;	/* 67108864 */
	size_t	max_json_depth;	/* 256 */
	size_t	max_string;	/* 1048576 */
	size_t	buffer_window;	/* 262144 */
	size_t	max_connections;/* 10000, per process */
	int	client_timeout;	/* ms, 30000: a client idle or slow this long is dropped */
};

struct cfg_keys {
	char	*dir;			/* resolved path, NULL when the section is absent */
	char	*master_key_file;
	char	*master_key_env;	/* name of an environment variable */
};

enum cfg_fsync { CFG_FSYNC_BATCH = 0, CFG_FSYNC_INTERVAL, CFG_FSYNC_NONE };

struct cfg_audit {
	char	*dir;			/* resolved path, NULL when absent: audit off */
	int	 fsync;			/* enum cfg_fsync */
	size_t	 checkpoint_every;	/* 1000 */
	int	 checkpoint_interval;	/* ms, 5000 */
	size_t	 rotate_size;		/* bytes, 64 MiB */
	size_t	 queue;			/* records, 65536 */
};

/* At most reveal_per_hour reveal and break-glass decisions per clock hour for
 * all principals with this role together; past it the request is denied. */
struct cfg_quota {
	char	*role;
	long	 reveal_per_hour;
};

struct proxy_config {
	char			*path;		/* the config file as given */
	char			*dir;		/* its directory: base of relative paths */
	struct cfg_listen	*listen;
	size_t			 nlisten;
	struct cfg_admin	 admin;
	int			 workers;	/* resolved: "auto" = online CPUs */
	struct cfg_upstream	*upstreams;
	size_t			 nupstreams;
	struct cfg_route	*routes;
	size_t			 nroutes;
	struct cfg_principal	*principals;
	size_t			 nprincipals;
	struct cfg_limits	 limits;
	struct cfg_keys		 keys;
	struct cfg_audit	 audit;
	char			*state_dir;	/* resolved, NULL when absent */
	char			**policies;	/* resolved paths */
	size_t			 npolicies;
	struct cfg_quota	*quotas;
	size_t			 nquotas;
};

/* Reads and validates <path>. Every problem is appended to <errs> as
 * "FILE:LINE:COL: error: MESSAGE" (all of them, not just the first); unknown
 * keys are errors that suggest the closest valid key. Returns the config, or
 * NULL when there was any error. The caller owns the result
 * (proxy_config_free). Does not touch the network beyond resolving numeric or
 * local host names. Not for event callbacks (blocking file I/O). */
struct proxy_config	*proxy_config_load(const char *path, struct pol_errs *errs);
void			 proxy_config_free(struct proxy_config *);

#endif
