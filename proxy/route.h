/* proxy/route.h — "METHODS /path" patterns: parsing and most-specific match. */
#ifndef CUSTOS_PROXY_ROUTE_H
#define CUSTOS_PROXY_ROUTE_H

#include <stddef.h>

/* Parses "GET|POST /api/customers/" + "**" or "* /files/" + "**": *methods gets CFG_M_*
 * bits (CFG_M_ANY for "*"), *path points into <match> at the pattern.
 * Path patterns start with '/'; a segment "*" matches one non-empty segment,
 * a final "**" matches the rest (zero or more segments); other segments are
 * literal (a '*' inside a segment such as "v*" is a prefix glob). Returns 0,
 * or -1 with *why set to a static reason. */
int	proxy_route_parse(const char *match, unsigned *methods,
	    const char **path, const char **why);

/* 1 when <path> (no query, already split) matches <pattern>. */
int	proxy_route_path_match(const char *pattern, const char *path, size_t len);

/* Specificity of a pattern: more literal segments first, then fewer
 * wildcards, then "*" over "**"; greater is more specific. */
long	proxy_route_specificity(const char *pattern);

struct cfg_route;
/* The most specific route whose path matches and whose methods include
 * <method_bit>; ties go to the route written first. NULL when none: then
 * *method_mismatch is 1 when some route matched the path but not the method
 * (405), 0 otherwise (404). Pure; safe from any thread. */
const struct cfg_route *proxy_route_find(const struct cfg_route *routes,
	    size_t n, unsigned method_bit, const char *path, size_t len,
	    int *method_mismatch);

#endif
