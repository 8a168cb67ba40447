/* policies/yaml.h — a small YAML document tree whose nodes keep their
 * FILE:LINE:COL marks, plus typed getters that report errors at those marks.
 * Used by the config loader (proxy/config.c) and the policy loader. */
#ifndef CUSTOS_POLICIES_YAML_H
#define CUSTOS_POLICIES_YAML_H

#include <stddef.h>

#include "policies/errs.h"

struct pol_yaml;	/* opaque: one loaded document, owns every node */
struct pol_yaml_node;	/* opaque: valid as long as its document */

enum pol_yaml_type {
	POL_YAML_SCALAR,
	POL_YAML_SEQ,
	POL_YAML_MAP,
};

/*
 * Loading.
 *
 * The tree is built from libyaml's parser events (never its loader), so every
 * node, mapping keys included, keeps the 1-based line and column where it
 * starts. One document per file (an empty file has no root). The loader
 * rejects, each as a "FILE:LINE:COL: error: ..." appended to <errs>:
 *   - YAML syntax errors (at libyaml's problem mark; invalid UTF-8 too),
 *   - anchors and aliases (a config is read by people: no hidden sharing),
 *   - tags other than the core ones (!!str !!int !!bool !!null !!float !!seq
 *     !!map, and the non-specific "!"),
 *   - mapping keys that are not scalars, and duplicate keys in a mapping,
 *   - a second document, nesting deeper than POL_YAML_MAX_DEPTH, more than
 *     POL_YAML_MAX_NODES nodes, inputs larger than POL_YAML_MAX_BYTES.
 * Every such problem of the input is reported (a syntax error ends the scan,
 * since libyaml cannot go on past it), and then NULL is returned: semantic
 * checks never run on a tree with structural errors, so they cannot cascade.
 * The caller owns the result; pol_yaml_free(NULL) is a no-op. Blocking file
 * I/O: not for event callbacks. Nothing global: safe from any thread.
 */
#define POL_YAML_MAX_DEPTH	64
#define POL_YAML_MAX_BYTES	(16u << 20)
#define POL_YAML_MAX_NODES	1000000u

/* <path> is also the FILE of every message about this document. */
struct pol_yaml	*pol_yaml_load_file(const char *path, struct pol_errs *errs);
/* <name> is used as FILE in messages; <buf> need not be NUL-terminated. */
struct pol_yaml	*pol_yaml_load_mem(const char *name, const char *buf,
		    size_t len, struct pol_errs *errs);
void		 pol_yaml_free(struct pol_yaml *);
/* The FILE of the document's messages (its path or name as given). */
const char	*pol_yaml_file(const struct pol_yaml *);
/* The top node, or NULL for an empty document (or a document that is only a
 * comment). */
const struct pol_yaml_node *pol_yaml_root(const struct pol_yaml *);

/*
 * Node accessors. All of them accept NULL (returning 0 / NULL), so lookups
 * chain: pol_yaml_get(pol_yaml_get(root, "admin"), "address").
 */
enum pol_yaml_type	 pol_yaml_type(const struct pol_yaml_node *);
/* "a string", "a list", "a mapping" or "null": for messages. */
const char		*pol_yaml_kind(const struct pol_yaml_node *);
/* The file name of the node's document. */
const char		*pol_yaml_node_file(const struct pol_yaml_node *);
size_t			 pol_yaml_line(const struct pol_yaml_node *);
size_t			 pol_yaml_col(const struct pol_yaml_node *);
/* A scalar's text, NUL-terminated (it may also hold NUL bytes when written
 * as "\0": pol_yaml_len gives the byte length). NULL for other nodes. */
const char		*pol_yaml_scalar(const struct pol_yaml_node *);
/* 1 for a quoted (single, double), literal or folded scalar, or one tagged
 * !!str: such a scalar is always a string, never a number or boolean. */
int			 pol_yaml_quoted(const struct pol_yaml_node *);
/* 1 for a plain scalar that YAML reads as null: empty, "~", "null". */
int			 pol_yaml_is_null(const struct pol_yaml_node *);
/* Items of a list, key/value pairs of a mapping, bytes of a scalar. */
size_t			 pol_yaml_len(const struct pol_yaml_node *);
const struct pol_yaml_node *pol_yaml_item(const struct pol_yaml_node *seq,
			    size_t i);
/* The i-th key (a scalar node) and value of a mapping, in file order. */
const struct pol_yaml_node *pol_yaml_map_key(const struct pol_yaml_node *map,
			    size_t i);
const struct pol_yaml_node *pol_yaml_map_value(const struct pol_yaml_node *map,
			    size_t i);
/* The value of <key> in <map>, or NULL when absent or <map> is no mapping. */
const struct pol_yaml_node *pol_yaml_get(const struct pol_yaml_node *map,
			    const char *key);
/* For a mapping value, its key node; NULL for anything else. */
const struct pol_yaml_node *pol_yaml_key_of(const struct pol_yaml_node *);
/* How messages name the node: "'max_body'" for a mapping value,
 * "item 2 of 'roles'" for a list item, "the document" for the root.
 * Writes into <buf> and returns it. */
const char		*pol_yaml_label(const struct pol_yaml_node *, char *buf,
			    size_t size);

/* How a wrong value reads in a message: 'abc' for a plain scalar, the quoted
 * string "4", null, a list, a mapping (long text is cut). Writes into <buf>
 * and returns it. */
const char		*pol_yaml_describe(const struct pol_yaml_node *,
			    char *buf, size_t size);

/*
 * Diagnostics at a node's mark: "FILE:LINE:COL: error: MESSAGE".
 */
void	pol_yaml_error(const struct pol_yaml_node *, struct pol_errs *,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void	pol_yaml_warn(const struct pol_yaml_node *, struct pol_errs *,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Shape checks.
 */
/* 0 when <node> is a mapping; otherwise -1 and "'admin' must be a mapping,
 * not a list" at the node. pol_yaml_want_seq likewise. NULL (absent) is -1
 * without a message. */
int	pol_yaml_want_map(const struct pol_yaml_node *, struct pol_errs *);
int	pol_yaml_want_seq(const struct pol_yaml_node *, struct pol_errs *);
/* Every key of <map> must be one of <allowed> (NULL-terminated); each other
 * key gives "unknown key 'listn' (did you mean 'listen'?)" at the key's mark.
 * The suggestion is the closest allowed key by edit distance (a transposition
 * counts as one edit), offered when the distance is at most 2 or at most a
 * third of the key's length, and less than its length. Returns the number of
 * unknown keys; 0 for a non-mapping. */
size_t	pol_yaml_check_keys(const struct pol_yaml_node *map,
	    const char *const *allowed, struct pol_errs *);
/* The value of <key>, or NULL and "missing required key 'url'" at the mark
 * of <map> (where the mapping starts). Nothing is reported when <map> itself
 * is NULL or no mapping: that was reported where it was read. */
const struct pol_yaml_node *pol_yaml_need(const struct pol_yaml_node *map,
	    const char *key, struct pol_errs *);

/*
 * Typed conversions of one node. Each returns 0 and sets *out, or returns -1,
 * leaves *out unchanged and appends an error at the node (nothing for a NULL
 * node). Numbers and booleans must be plain (unquoted) scalars, as in YAML's
 * core schema: "8080" is a string.
 */
/* Any scalar but null and text holding NUL bytes. *out points into the tree. */
int	pol_yaml_str(const struct pol_yaml_node *, struct pol_errs *,
	    const char **out);
/* true/false (also True, TRUE, False, FALSE). */
int	pol_yaml_bool(const struct pol_yaml_node *, struct pol_errs *,
	    int *out);
/* A decimal integer in [min, max]. */
int	pol_yaml_int(const struct pol_yaml_node *, long long min, long long max,
	    struct pol_errs *, long long *out);
/* Bytes in [min, max]: an integer, or a number with a binary suffix (B, KiB,
 * MiB, GiB, TiB, any case; "64MiB", "16 KiB"). Quoted text is accepted too,
 * since "64MiB" reads as a string either way. */
int	pol_yaml_size(const struct pol_yaml_node *, size_t min, size_t max,
	    struct pol_errs *, size_t *out);
/* Milliseconds in [min, max], an integer. */
int	pol_yaml_ms(const struct pol_yaml_node *, int min, int max,
	    struct pol_errs *, int *out);
/* A string that must be one of <names> (NULL-terminated); *out is its index.
 * Otherwise "'fsync' must be one of batch, interval, none, not 'sometimes'". */
int	pol_yaml_enum(const struct pol_yaml_node *, const char *const *names,
	    struct pol_errs *, int *out);
/* A list of strings. On success *out is a NULL-terminated array of *n
 * strings pointing into the tree; the caller frees the array only (free()).
 * Every bad item is reported. An empty list gives *out = an empty array. */
int	pol_yaml_strlist(const struct pol_yaml_node *, struct pol_errs *,
	    const char ***out, size_t *n);

/*
 * The same, looked up in a mapping: an absent key leaves *out unchanged (so
 * the caller presets the default) and returns 0; a present one is converted
 * as above. <map> may be NULL (absent section).
 */
int	pol_yaml_get_str(const struct pol_yaml_node *map, const char *key,
	    struct pol_errs *, const char **out);
int	pol_yaml_get_bool(const struct pol_yaml_node *map, const char *key,
	    struct pol_errs *, int *out);
int	pol_yaml_get_int(const struct pol_yaml_node *map, const char *key,
	    long long min, long long max, struct pol_errs *, long long *out);
int	pol_yaml_get_size(const struct pol_yaml_node *map, const char *key,
	    size_t min, size_t max, struct pol_errs *, size_t *out);
int	pol_yaml_get_ms(const struct pol_yaml_node *map, const char *key,
	    int min, int max, struct pol_errs *, int *out);
int	pol_yaml_get_enum(const struct pol_yaml_node *map, const char *key,
	    const char *const *names, struct pol_errs *, int *out);

/* Appends every message of <src> to <dst> sorted by file (in the order files
 * first appear), then line and column, messages without a position first;
 * equal positions keep their order. For loaders that check sections in a
 * fixed order but should report in file order, as compilers do: collect
 * into a fresh pol_errs, then move. <src> is left as is. Messages <src> lost
 * to a lack of memory still count in <dst>. */
void	pol_yaml_move_sorted(struct pol_errs *dst, const struct pol_errs *src);

/* Edit distance (Levenshtein with adjacent transpositions) between two
 * strings; when either is longer than 64 bytes, the longer length (at most
 * 255) instead: too far apart to suggest anyway. Exposed for the policy
 * loader's "unknown class 'emial' (did you mean 'email'?)" messages. */
size_t	pol_yaml_distance(const char *a, const char *b);
/* The entry of <candidates> (NULL-terminated) closest to <word> under the
 * rule of pol_yaml_check_keys, or NULL when none is close enough. */
const char *pol_yaml_suggest(const char *word, const char *const *candidates);

#endif
