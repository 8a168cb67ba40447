/* policies/internal.h — layouts shared by policy.c, engine.c and
 * transform.c (and the unit test). Not an API: other modules use
 * policies/policies.h only. */
#ifndef CUSTOS_POLICIES_INTERNAL_H
#define CUSTOS_POLICIES_INTERNAL_H

#include "policies/policies.h"
#include "policies/yaml.h"

#define POL_M_ANY	0x7fu
#define POL_MAX_SEGS	64

struct pol_route {
	unsigned	 methods;	/* bits as CFG_M_*: GET 1, HEAD 2, POST 4,
					 * PUT 8, PATCH 16, DELETE 32, OPTIONS 64 */
	const char	*path;		/* into the tree, starts with '/' */
	const char	*text;		/* as written */
};

/* An action with its options, resolved at load. */
struct pol_act {
	enum pol_action	 kind;
	unsigned	 keep_first, keep_last;
	char		 mchar[8];		/* one UTF-8 character */
	size_t		 mchar_len;
	int		 email;			/* style: email */
	const char	*text;			/* redact; NULL: [REDACTED:class] */
	const char	*key;			/* hash/tokenize/encrypt key name */
};

struct pol_rule {
	const char		*id;
	size_t			 line;		/* for messages */
	struct pol_route	*routes;	/* NULL: any */
	size_t			 nroutes;
	const char		**roles;	/* NULL: any */
	size_t			 nroles;
	const char		**principals;	/* NULL: any */
	size_t			 nprincipals;
	unsigned		 dirs;		/* POL_DIR_* bits */
	const char		**classes;	/* names as written, NULL: none */
	size_t			 nclasses;
	unsigned		 levels;	/* 1 << level bits; 0: none */
	uint8_t			*covers;	/* per class id; NULL: all */
	struct pol_act		 act;
	int			 has_bg;
	struct pol_act		 bg;
	const char		**bg_principals;
	size_t			 nbg_principals;
	const char		**bg_roles;
	size_t			 nbg_roles;
};

struct pol_policy {
	struct pol_yaml		**docs;		/* every string points in */
	size_t			 ndocs;
	struct cls_set		*set;
	struct pol_rule		*rules;
	size_t			 nrules;
	struct pol_act		 def;
	struct pol_outreach	*outreach;	/* NULL: no outreach section */
	char			 version[7 + 64 + 1];
};

/* policy.c */
int	pol_route_parse(const char *text, struct pol_route *r);
int	pol_glob_match(const char *pattern, const char *path, size_t len);
int	pol_glob_covers(const char *a, const char *b);	/* a ⊇ b */
int	pol_glob_overlap(const char *a, const char *b);
void	pol_act_defaults(struct pol_act *, enum pol_action);
/* Bits of one method name (len bytes; "*" is every method), 0 when
 * unknown. */
unsigned pol_method_bit(const char *s, size_t len);
/* A list of names (or one name) that should each be in <known> (NULL: not
 * checked): a name close to a known one is an error with a suggestion,
 * another unknown name a warning ("no principal in the configuration has
 * role 'x' (yet)"); an empty list is an error. *out is a NULL-terminated
 * array pointing into the tree (free the array only). 0, or -1 on error. */
int	pol_name_list(struct pol_errs *, const struct pol_yaml_node *n,
	    const char *what, const char *const *known, size_t nknown,
	    const char ***out, size_t *nout);

/* outreach.c: the `outreach` section at <n>. 0 and *out (caller frees it
 * with pol_or_free, NULL-safe), or -1 with the problems in <errs> and *out
 * NULL. Strings of the result may point into <n>'s tree. */
int	pol_or_parse(const struct pol_yaml_node *n, const struct pol_env *env,
	    struct pol_errs *errs, struct pol_outreach **out);
void	pol_or_free(struct pol_outreach *);
/* Canonical folded form of a JSON path as json_path_format(fold = 1)
 * writes it: "$.to", "$.recipients[*].email", "$['first name']". A
 * malloc'd string, or NULL with *why set (or "out of memory"). */
char	*pol_or_path_canon(const char *path, const char **why);

/* tz.c: UTC offsets of a time zone, without the C library's time zone
 * state. Loaded objects are immutable: any thread may query them. */
struct pol_tz;
/* "UTC", or a fixed "+05:30" / "-08:00": 0 and *off in seconds east of
 * UTC, else -1. */
int	 pol_tz_fixed_parse(const char *s, int32_t *off);
/* The zone <name>: "UTC", a fixed offset, or a TZif file under $TZDIR
 * (/usr/share/zoneinfo when it is unset or empty). NULL with the reason in
 * <why> when it cannot be loaded. Blocking file I/O; the caller frees the
 * zone with pol_tz_free. */
struct pol_tz *pol_tz_load(const char *name, char *why, size_t whysz);
/* The same from the bytes of a TZif file; NULL with a static *why. */
struct pol_tz *pol_tz_from_tzif(const unsigned char *buf, size_t len,
	    const char **why);
void	 pol_tz_free(struct pol_tz *);
/* The UT offset (seconds east) in force at <t> (Unix seconds), and in
 * *next (may be NULL) the next instant at which it may change (INT64_MAX:
 * never). */
int32_t	 pol_tz_offset(const struct pol_tz *, int64_t t, int64_t *next);
/* For "unknown time zone" messages: the entry of <name>'s directory in the
 * zone directory closest to its last component, as "Region/Name" in
 * <out>. 0, or -1 when nothing is close. */
int	 pol_tz_suggest(const char *name, char *out, size_t size);

/* transform.c: each writes into *buf (grown with realloc, *cap updated) and
 * returns the length, or (size_t)-1 with *why set on failure. */
size_t	pol_mask(const struct pol_act *, const char *v, size_t len,
	    char **buf, size_t *cap);
size_t	pol_redact_text(const struct pol_act *, const char *cls,
	    char **buf, size_t *cap);
size_t	pol_keyed(const struct pol_act *, const struct keys_ring *,
	    const char *cls, const char *v, size_t len, char **buf,
	    size_t *cap, const char **why);
int	pol_buf_reserve(char **buf, size_t *cap, size_t need);

#endif
