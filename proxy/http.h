/* proxy/http.h — HTTP/1.1 message heads and body framing, incrementally, on
 * evbuffers: the codec custos uses on both sides (clients and upstreams).
 * A self-contained library like json_: it knows nothing of the proxy. */
#ifndef CUSTOS_PROXY_HTTP_H
#define CUSTOS_PROXY_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

enum http_status {
	HTTP_DONE,		/* a whole head / the end of the body */
	HTTP_NEED_MORE,		/* wait for more bytes */
	HTTP_BAD,		/* malformed or ambiguous (smuggling): 400 / 502 */
	HTTP_TOO_LONG,		/* past the limit: 431 for heads, 413 for bodies */
};

struct http_header {
	const char	*name;		/* into the head's own buffer, not NUL-terminated */
	size_t		 name_len;
	const char	*value;		/* surrounding whitespace trimmed */
	size_t		 value_len;
};

/* A parsed request or response head. Owns one buffer that every pointer in
 * it points into; http_head_clear() frees it. */
struct http_head {
	char			*buf;
	size_t			 len;
	int			 is_request;
	/* request line */
	const char		*method;	/* NUL-terminated (inside buf) */
	unsigned		 method_bit;	/* CFG_M_* of proxy/config.h, 0 if other */
	const char		*target;	/* NUL-terminated, as sent */
	const char		*path;		/* NUL-terminated copy of target without ?query */
	const char		*query;		/* after '?', or NULL */
	/* status line */
	int			 status;
	const char		*reason;
	int			 minor;		/* HTTP/1.<minor>: 0 or 1 */
	struct http_header	*hdrs;
	size_t			 nhdrs;
	/* framing, derived and checked */
	int64_t			 content_length;	/* -1 when absent */
	int			 chunked;	/* Transfer-Encoding: chunked */
	int			 keep_alive;	/* per version and Connection */
	int			 expect_continue;
};

/* Parses one head from the front of <in> if it is all there, and drains it.
 * Rejects (HTTP_BAD, *why set to a static reason): bad request/status line,
 * bad header syntax, obs-fold, NUL/CR/LF in values, Content-Length together
 * with Transfer-Encoding, several Content-Length values, a Transfer-Encoding
 * other than "chunked", HTTP versions other than 1.0/1.1. HTTP_TOO_LONG when no
 * complete head is found within <max> bytes. */
enum http_status	 http_head_parse(struct http_head *, struct evbuffer *in,
			    size_t max, int is_request, const char **why);
void			 http_head_clear(struct http_head *);
/* First header of that name (case-insensitive), or NULL. */
const struct http_header *http_head_get(const struct http_head *, const char *name);
/* 1 when this header must not be forwarded: hop-by-hop headers (Connection,
 * Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade,
 * Proxy-Authorization, Proxy-Authenticate), Content-Length (custos sets it),
 * and every header named in the message's Connection header. */
int			 http_header_is_hop(const struct http_head *,
			    const struct http_header *);

/* Body framing of one message. */
struct http_body {
	int		mode;		/* internal */
	uint64_t	remaining;
	uint64_t	total;		/* decoded bytes so far */
	int		state;
	size_t		line;
};
/* Sets up the body reader for a request head, or for a response head that
 * answers a request of <req_method_bit> (HEAD, 1xx, 204 and 304 have no body;
 * a response with neither length nor chunked runs until EOF). */
void			 http_body_init(struct http_body *, const struct http_head *,
			    unsigned req_method_bit);
/* Moves decoded body bytes from <in> to <out> (chunk framing removed, trailers
 * skipped). HTTP_DONE at the end of the body (bytes after it stay in <in>),
 * HTTP_NEED_MORE for more, HTTP_BAD on bad chunk framing, HTTP_TOO_LONG when
 * the body passes <max> bytes (0 = no limit). */
enum http_status	 http_body_read(struct http_body *, struct evbuffer *in,
			    struct evbuffer *out, uint64_t max);
/* The peer closed: HTTP_DONE when that ends the body (read-until-close),
 * else HTTP_BAD (truncated). */
enum http_status	 http_body_eof(struct http_body *);
/* 1 when the body is delimited by connection close. */
int			 http_body_until_close(const struct http_body *);

/* Appends <data> (all of it, drained) to <out> as one chunk; nothing for an
 * empty buffer. http_chunk_end() appends the last-chunk "0\r\n\r\n". */
void			 http_chunk_add(struct evbuffer *out, struct evbuffer *data);
void			 http_chunk_end(struct evbuffer *out);

/* 1 when <id> may be propagated as X-Request-Id: 1..64 bytes of
 * [A-Za-z0-9._:-]. Anything else is replaced by a generated id. */
int			 http_request_id_valid(const char *id, size_t len);
/* Standard reason phrase ("Not Found"), "Unknown" for others. */
const char		*http_reason(int status);
/* The CFG_M_* bit of a method token (len bytes, case-sensitive): GET, HEAD,
 * POST, PUT, PATCH, DELETE, OPTIONS; 0 for any other. */
unsigned		 http_method_bit(const char *m, size_t len);

#endif
