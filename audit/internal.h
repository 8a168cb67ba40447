/* audit/internal.h — layouts and helpers shared by the audit module's .c
 * files. Not for other modules. */
#ifndef CUSTOS_AUDIT_INTERNAL_H
#define CUSTOS_AUDIT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "audit/audit.h"

#define AUDIT_FILE_NAME_LEN	18		/* "audit-NNNNNN.jsonl" */
/* `,"prev":"<64 hex>"` and `,"hash":"<64 hex>"}` */
#define AUDIT_PREV_TAIL		(10 + AUDIT_HASH_HEX)
#define AUDIT_HASH_TAIL		(9 + AUDIT_HASH_HEX + 2)
#define AUDIT_CP_MSG_MAX	160

/* chain.c */
void	audit_hex(const uint8_t *bin, size_t len, char *out);	/* 2*len+1 */
int	audit_unhex(const char *hex, size_t hexlen, uint8_t *out, size_t len);
void	audit_hash(const void *buf, size_t len, uint8_t out[AUDIT_HASH_LEN]);
size_t	audit_cp_message(char *out, uint64_t seq, uint64_t count,
	    const char *head_hex);

/* The fixed parts of one line (without its newline), as checked by verify
 * and by the writer's recovery. */
struct audit_line {
	uint64_t	 seq;
	const char	*prev;		/* 64 hex, not NUL-terminated */
	const char	*hash;
	size_t		 hashed_len;	/* bytes covered by hash */
};
/* 0, or -1 with a static description in *why. */
int	audit_line_parse(const char *line, size_t len, struct audit_line *,
	    const char **why);


/* Appends the line of record <seq> (body: the members between time and
 * prev, may be empty) chained onto prev_hex, and sets hash_hex to its hash.
 * On error (b->err set) the line is incomplete and hash_hex unset. */
struct audit_buf;
void	audit_chain_line(struct audit_buf *b, uint64_t seq,
	    const struct timespec *ts, const char *body, size_t len,
	    const char *prev_hex, char hash_hex[AUDIT_HASH_HEX + 1]);

/* json.c — a small bounded DOM reader for one record line. Strings keep
 * their raw (escaped) span; audit_json_streq() compares decoded. */
enum ajson_type { AJ_NULL, AJ_BOOL, AJ_NUM, AJ_STR, AJ_ARR, AJ_OBJ };

struct ajson_node {
	enum ajson_type	 type;
	uint32_t	 start, end;	/* span in the line; for AJ_STR inside quotes */
	uint32_t	 key_start, key_end;	/* member key span (raw), or 0 */
	int32_t		 child, next;	/* node indexes, -1 none */
};

struct ajson_doc {
	const char		*text;
	size_t			 len;
	struct ajson_node	*nodes;
	size_t			 n, cap;
};

#define AJSON_MAX_DEPTH		32

/* Parses <text> (one JSON value, whitespace around allowed). Returns 0 or -1
 * (invalid or too deep). The doc borrows text; audit_json_reset frees. */
int	audit_json_parse(struct ajson_doc *, const char *text, size_t len);
void	audit_json_reset(struct ajson_doc *);
/* Member <key> of object node <obj>, or -1. */
int	audit_json_get(const struct ajson_doc *, int obj, const char *key);
/* 1 when string node <n> decodes to exactly <s>. */
int	audit_json_streq(const struct ajson_doc *, int n, const char *s);
/* Decodes string node <n> into out (NUL-terminated, truncated to size-1).
 * Returns the decoded length, or -1 if not a string. */
int	audit_json_str(const struct ajson_doc *, int n, char *out, size_t size);
/* Integer value of a number node, -1 if not a non-negative integer. */
int	audit_json_u64(const struct ajson_doc *, int n, uint64_t *out);

/* record.c — JSON string escaping into a growable buffer. */
struct audit_buf {
	char	*p;
	size_t	 len, cap;
	size_t	 max;		/* 0: AUDIT_REC_MAX */
	int	 err;		/* sticky errno value */
};
void	audit_buf_add(struct audit_buf *, const void *s, size_t len);
void	audit_buf_str(struct audit_buf *, const char *s, size_t len);	/* quoted */
void	audit_buf_free(struct audit_buf *);

/* statefile.c — a hash-chained JSON Lines file of live state (overrides,
 * opt-outs): each change one line, fdatasync'd, chained like the log. */
struct audit_sfile {
	int		 fd;		/* -1: not open */
	char		*path;
	off_t		 size;		/* bytes of whole lines */
	uint64_t	 seq;
	char		 head[AUDIT_HASH_HEX + 1];
};
/* Opens (creating, with its directory entry made durable) <path> and hands
 * every whole line to replay(arg, doc) in order, after checking its hash and
 * its place in the chain; a torn last line (a crash before its fsync) is cut
 * off. replay returns -1 for a line it cannot use: the message is then
 * <what>. 0, or -1 with "PATH:LINE: why" or "PATH: error" in err; close
 * <sf> either way. */
int	audit_sfile_open(struct audit_sfile *sf, const char *path,
	    const char *what, int (*replay)(void *arg, const struct ajson_doc *),
	    void *arg, char *err, size_t errsize);
/* Appends the chained line of <body> with the time <ms> (epoch ms) and
 * fdatasyncs it. 0, or -1 (errno) with nothing of the line left in the
 * file. */
int	audit_sfile_append(struct audit_sfile *sf, int64_t ms, const char *body,
	    size_t len);
void	audit_sfile_close(struct audit_sfile *sf);	/* idempotent */
/* fsync of a directory (a new or renamed entry is durable): 0, or -1. */
int	audit_fsync_dir(const char *dir);
/* pwrite() of all <len> bytes at <off> (EINTR retried; a zero write is
 * EIO): 0, or -1 with errno. */
int	audit_pwrite_all(int fd, const void *buf, size_t len, off_t off);

#endif
