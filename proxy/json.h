/* proxy/json.h — the streaming JSON rewriter: validates, walks and edits a
 * JSON body chunk by chunk in memory bounded by its limits. */
#ifndef CUSTOS_PROXY_JSON_H
#define CUSTOS_PROXY_JSON_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

enum json_status {
	JSON_DONE,		/* a whole, valid document (or NDJSON stream) */
	JSON_NEED_MORE,		/* so far so good: feed more, or finish */
	JSON_BAD,		/* invalid input: see json_rw_error() */
	JSON_TOO_LONG,		/* a limit was passed: see json_rw_error() */
	JSON_STOPPED,		/* the visitor returned JSON_STOP */
};

enum json_type {
	JSON_STRING, JSON_NUMBER, JSON_TRUE, JSON_FALSE, JSON_NULL,
	JSON_OBJECT, JSON_ARRAY,
};

enum json_action {
	JSON_KEEP,		/* copy the value through unchanged */
	JSON_REPLACE,		/* write what the visitor put in the edit
				 * (no edit given: null) */
	JSON_REMOVE,		/* drop the member or element (commas stay valid);
				 * the root value is replaced by null */
	JSON_STOP,		/* abort: feed returns JSON_STOPPED */
};

struct json_limits {
	size_t		max_depth;	/* nesting of objects and arrays;
					 * 0 = 256 */
	size_t		max_string;	/* one decoded string, key or number;
					 * 0 = 1 MiB */
	uint64_t	max_body;	/* total input bytes; 0 = no limit */
	int		allow_bom;	/* accept (and drop) a leading UTF-8 BOM */
	int		ndjson;		/* a stream of documents, one per line */
};

/* A path, valid only during the visitor call. Segment 0 is the outermost
 * member or element below the root; depth 0 is the root ("$"). */
struct json_path;
size_t	json_path_depth(const struct json_path *);
/* Returns 1 and sets key/len (decoded UTF-8, escapes resolved) for an object
 * member, 0 and sets *index for an array element, -1 if i >= depth. */
int	json_path_seg(const struct json_path *, size_t i, const char **key,
	    size_t *len, uint64_t *index);
/* The same path as an array of depth segments, read in place: key NULL for
 * an array element (with its index), else the decoded key; each segment's
 * hash covers it and the segments before it, indices folded (two paths
 * that fold alike hash alike). The rewriter keeps its path in the
 * classifiers' layout so that the policy engine and the path globs read it
 * without a call per segment. Valid only during the visitor call. */
struct cls_seg;
const struct cls_seg *json_path_segs(const struct json_path *);
/* Writes "$.items[*].email" (fold = 1) or "$.items[3].email" (fold = 0) into
 * buf (always NUL-terminated when size > 0); keys that are not plain
 * identifiers are written as ['...'] with ' and \ escaped. Returns the full
 * length, like snprintf. */
size_t	json_path_format(const struct json_path *, char *buf, size_t size,
	    int fold);

/* A value as the visitor sees it: strings decoded to UTF-8 (escapes
 * resolved), numbers as their literal text, true/false/null as their text;
 * for containers (called when the container opens) ptr is NULL, len 0. */
struct json_value {
	enum json_type	 type;
	const char	*ptr;
	size_t		 len;
};

/* How a visitor gives the replacement for JSON_REPLACE. */
struct json_edit;
/* The replacement is the JSON string holding these UTF-8 bytes (escaped by
 * the rewriter). Copies the bytes. */
void	json_edit_string(struct json_edit *, const char *s, size_t len);
/* Appends <s> to <out> as a quoted JSON string, escaped exactly as
 * json_edit_string() does (invalid UTF-8 becomes U+FFFD). 0, or -1 when out
 * of memory. For the strings custos writes itself (error reasons, names). */
int	json_quote(struct evbuffer *out, const char *s, size_t len);
/* Appends ,"key":"val" to <out> (no comma while *first, which it clears);
 * val NULL writes null. <key> is written as it is: a plain name. */
void	json_member(struct evbuffer *out, int *first, const char *key,
	    const char *val);
/* The replacement is this JSON text, written verbatim (the caller vouches
 * that it is one valid JSON value). Copies the bytes. */
void	json_edit_raw(struct json_edit *, const char *s, size_t len);

/* The value of a hexadecimal digit (either case), or -1: for \uXXXX escapes
 * here and for %XX in query strings. */
static inline int
json_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Called for every scalar and for every object or array as it opens (where
 * REMOVE or REPLACE skip the container whole; it is still validated). Keys of
 * duplicated members are reported each time. Must not call back into the
 * rewriter. */
typedef enum json_action (*json_visit_fn)(void *ud, const struct json_path *,
    const struct json_value *, struct json_edit *);

struct json_rw;
/* A rewriter with these limits and this visitor (NULL: keep everything).
 * Returns NULL on allocation failure. Owned by the caller. */
struct json_rw		*json_rw_new(const struct json_limits *, json_visit_fn, void *ud);
void			 json_rw_free(struct json_rw *);
/* Ready for a new body, keeping limits and visitor. */
void			 json_rw_reset(struct json_rw *);
/* Consumes n bytes (split anywhere, even inside a UTF-8 sequence or escape)
 * and appends the rewritten output produced so far to out (NULL: validate
 * only). Returns
 * JSON_NEED_MORE while the input is valid so far; JSON_BAD, JSON_TOO_LONG or
 * JSON_STOPPED end the body (later calls return the same status). Output
 * already appended before an error is the caller's to discard. */
enum json_status	 json_rw_feed(struct json_rw *, const char *p, size_t n,
			    struct evbuffer *out);
/* End of input: JSON_DONE when the input was one whole document (or whole
 * NDJSON lines), else JSON_BAD ("truncated"). Flushes the remaining output. */
enum json_status	 json_rw_finish(struct json_rw *, struct evbuffer *out);
/* After JSON_BAD / JSON_TOO_LONG: a short static reason ("invalid UTF-8",
 * "nesting too deep", ...) and the input byte offset where it was found. */
const char		*json_rw_error(const struct json_rw *);
uint64_t		 json_rw_error_offset(const struct json_rw *);

#endif
