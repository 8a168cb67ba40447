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
	char			 version[7 + 64 + 1];
};

/* policy.c */
int	pol_route_parse(const char *text, struct pol_route *r);
int	pol_glob_match(const char *pattern, const char *path, size_t len);
int	pol_glob_covers(const char *a, const char *b);	/* a ⊇ b */
int	pol_glob_overlap(const char *a, const char *b);
void	pol_act_defaults(struct pol_act *, enum pol_action);

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
