/* audit/audit.h — the decision log: record builder, hash chain, signed
 * checkpoints, the writer thread, verify and export. */
#ifndef CUSTOS_AUDIT_AUDIT_H
#define CUSTOS_AUDIT_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/*
 * On-disk format (one JSON object per line, files DIR/audit-NNNNNN.jsonl
 * numbered from 000001, rotated by size; the chain runs across files):
 *
 *   {"seq":S,"time":"YYYY-MM-DDTHH:MM:SS.mmmZ",<body>,"prev":"P","hash":"H"}\n
 *
 * seq starts at 1 and goes up by one per record (checkpoints included); P is
 * the H of record S-1 (64 zeros for S = 1); both are lowercase hex of a
 * BLAKE2b-256 (crypto_generichash, no key). H is computed over the exact
 * bytes of the line from its first byte '{' up to and including the closing
 * quote of the prev value, i.e. everything before the final
 * `,"hash":"...."}` (whose length is fixed: 75 bytes before the newline).
 * Nothing is canonicalised: verify hashes the bytes as they are in the file.
 *
 * A checkpoint record has the body
 *   "type":"checkpoint","head":"P","count":S-1,"key_id":"K","sig":"SIG"
 * where head is the hash of the record before it (= its prev), count the
 * number of records that head covers (= S-1), and SIG the base64url (no
 * padding) Ed25519 signature of the ASCII message
 *   "custos-audit-checkpoint-v1\nseq=S\ncount=C\nhead=P\n".
 * The checkpoint is chained like any record, so the next one covers it.
 *
 * DIR/HEAD holds a copy of the newest durable checkpoint line (written at
 * most once a second, atomically, after the log itself was fsynced). verify
 * uses it to detect truncation of signed history (see audit_verify()).
 */

#define AUDIT_HASH_LEN		32
#define AUDIT_HASH_HEX		(2 * AUDIT_HASH_LEN)
#define AUDIT_SIG_LEN		64
#define AUDIT_PK_LEN		32
#define AUDIT_KEY_ID_MAX	64

/* ------------------------------------------------------------------ records */

/*
 * A record body under construction: the JSON members between the envelope's
 * "time" and "prev" (the writer adds seq, time, prev and hash). The builder
 * escapes every string it is given (quotes, backslashes, control characters;
 * invalid UTF-8 bytes become U+FFFD), so the body is always valid JSON.
 * Errors (allocation, a record larger than AUDIT_REC_MAX, unbalanced
 * nesting) are sticky and reported by audit_submit(). A rec is owned by one
 * thread at a time; reuse it with audit_rec_reset() to avoid allocations.
 * Callers must never put personal values in a record: only fingerprints.
 */
#define AUDIT_REC_MAX		(4u << 20)	/* bytes per body */

struct audit_rec;

struct audit_rec	*audit_rec_new(void);		/* NULL on ENOMEM */
void			 audit_rec_free(struct audit_rec *);
void			 audit_rec_reset(struct audit_rec *);	/* keeps capacity */
/* 0 when the body is complete and well formed, -1 otherwise (errno). */
int			 audit_rec_error(const struct audit_rec *);
const char		*audit_rec_body(const struct audit_rec *, size_t *len);

/* Members of the current object (the record, or one opened with
 * audit_rec_obj_open), or elements of the current array when key is NULL.
 * A NULL string value writes null. The keys "seq", "time", "prev" and "hash"
 * are reserved for the envelope at the top level. */
void	audit_rec_str(struct audit_rec *, const char *key, const char *val);
void	audit_rec_strn(struct audit_rec *, const char *key, const char *val,
	    size_t len);
void	audit_rec_int(struct audit_rec *, const char *key, int64_t val);
void	audit_rec_bool(struct audit_rec *, const char *key, int val);
void	audit_rec_strv(struct audit_rec *, const char *key,
	    const char *const *vals, size_t n);
void	audit_rec_obj_open(struct audit_rec *, const char *key);
void	audit_rec_obj_close(struct audit_rec *);
void	audit_rec_arr_open(struct audit_rec *, const char *key);
void	audit_rec_arr_close(struct audit_rec *);

/* One folded decision of a decision record (DESIGN.md, Audit record).
 * Every string is borrowed for the duration of the call. */
struct audit_decision {
	const char		*id;		/* "<request_id>.N" */
	const char		*path;		/* "$.items[*].email" */
	const char		*class_;
	const char		*level;
	const char		*confidence;
	const char *const	*evidence;
	size_t			 nevidence;
	const char		*rule;		/* NULL: the policy default */
	const char		*action;
	uint64_t		 count;
	const char		*override;	/* override id, NULL: none */
	const char *const	*fingerprints;	/* keys_fingerprint() output */
	size_t			 nfingerprints;
	const char		*break_glass;	/* "used", "refused"; NULL: none */
	const char		*error;		/* why the action fell back to
						 * redact; NULL: it did not */
};

/* A decision, block or denial record for one request direction. */
struct audit_request {
	const char		*type;		/* NULL: a decision record;
						 * else "block", "deny"... */
	const char		*request_id;
	const char		*principal;
	const char *const	*roles;
	size_t			 nroles;
	const char		*route;		/* the matched pattern */
	const char		*direction;	/* "request" | "response" */
	const char		*policy;	/* "sha256:..." */
	int			 status;	/* 0: left out */
	const char		*reason;	/* NULL: left out */
	const struct audit_decision *decisions;
	size_t			 ndecisions;
};

/* Resets <rec> and fills it with <req> in the documented member order.
 * Returns audit_rec_error(). */
int	audit_rec_request(struct audit_rec *, const struct audit_request *req);
/* Appends one decision object (inside an open array) as audit_rec_request
 * writes each: id, path, class, level, confidence, evidence, rule, action,
 * count, override, fingerprints, then break_glass and error when set. The
 * one writer of decision JSON: `custos explain` prints the same. */
void	audit_rec_decision(struct audit_rec *, const struct audit_decision *d);

/* ------------------------------------------------------------------- writer */

/* Signs checkpoints, from the writer thread only. sign() returns 0 on
 * success; it may set *key_id to the id of the key it actually used (e.g.
 * "audit.2", a string that must outlive the log), which then goes into the
 * checkpoint instead of the default key_id (copied at audit_open; may be
 * NULL when sign always sets it). With keys/keys.h the proxy's adapter is
 * one line: return keys_sign_audit(ctx, msg, len, sig, key_id). */
struct audit_signer {
	int		(*sign)(void *ctx, const uint8_t *msg, size_t len,
			    uint8_t sig[AUDIT_SIG_LEN], const char **key_id);
	const char	*key_id;
	void		*ctx;
};

enum audit_fsync {
	AUDIT_FSYNC_BATCH = 0,		/* one fsync per written batch */
	AUDIT_FSYNC_INTERVAL,		/* at most one per fsync_interval */
	AUDIT_FSYNC_NONE,		/* left to the kernel */
};

enum audit_level { AUDIT_LOG_INFO, AUDIT_LOG_WARN, AUDIT_LOG_ERR };

struct audit_opts {
	const char	*dir;			/* created if missing (0700) */
	int		 fsync;			/* enum audit_fsync */
	int		 fsync_interval;	/* ms, 0: 1000 */
	size_t		 checkpoint_every;	/* records, 0: 1000 */
	int		 checkpoint_interval;	/* ms, 0: 5000 */
	size_t		 rotate_size;		/* bytes, 0: 64 MiB */
	size_t		 queue;			/* records, 0: 65536 */
	int		 retry_interval;	/* ms after a failed write, 0: 500 */
	int		 drain_timeout;		/* ms audit_close() keeps retrying
						 * a failing disk, 0: 30000 */
	const struct audit_signer *signer;	/* NULL: no checkpoints */
	/* Diagnostics (torn tail cut off, write failed, recovered...). NULL:
	 * "custos: audit: MSG" on stderr. Called from any thread. */
	void		(*log)(void *ctx, enum audit_level, const char *msg);
	void		*log_ctx;
	/* Test hooks, NULL in production: replace pwrite(2) and fsync(2). */
	ssize_t		(*pwrite_fn)(int fd, const void *buf, size_t len,
			    off_t off);
	int		(*fsync_fn)(int fd);
};

struct audit_log;

/*
 * Opens (creating if needed) the log in opts->dir, takes an exclusive lock
 * on DIR/LOCK (one writer per directory), recovers seq and head hash from the
 * last record of the newest file (a torn last line, left by a crash, is cut
 * off and logged) and starts the writer thread. Returns NULL with errno set
 * and a message in err (if errsize > 0) on failure, e.g. when the last record
 * cannot be parsed: the chain cannot be continued, run `custos audit verify`.
 * Not for event callbacks (blocking I/O).
 */
struct audit_log	*audit_open(const struct audit_opts *opts, char *err,
			    size_t errsize);

/*
 * Drains the queue, writes a final checkpoint, fsyncs, updates DIR/HEAD and
 * joins the writer; then frees the log. If the disk keeps failing it gives
 * up after drain_timeout and returns -1 (the records it could not write are
 * logged as lost). NULL is a no-op returning 0. No submit may run
 * concurrently with or after this call.
 */
int			 audit_close(struct audit_log *);

/*
 * Queues a copy of <rec>'s body; the caller keeps <rec>. Records are written
 * in the order of their submission; seq is assigned by the writer. When the
 * queue is full it blocks until there is room (backpressure: a record is
 * never dropped). Sets *ticket (if not NULL) for audit_wait_durable().
 * Returns -1 with errno EINVAL when the rec has an error, ENOMEM,
 * ESHUTDOWN when closing. Thread safe. It blocks: from an event loop prefer
 * audit_submit_timed().
 */
int	audit_submit(struct audit_log *, const struct audit_rec *rec,
	    uint64_t *ticket);
/* As audit_submit(), but waits at most timeout_ms (0: does not wait) for
 * room; returns -1 with errno ETIMEDOUT, the record not queued. */
int	audit_submit_timed(struct audit_log *, const struct audit_rec *rec,
	    uint64_t *ticket, int timeout_ms);
/* Waits until the record of <ticket> is durable under the fsync policy
 * (batch: fsynced; interval: fsynced; none: written). timeout_ms < 0 waits
 * forever. Returns 0, or -1 with errno ETIMEDOUT. */
int	audit_wait_durable(struct audit_log *, uint64_t ticket, int timeout_ms);
/* 1 while the writer can write; 0 after a failed write until a retry
 * succeeds. Requests that need a decision must then be answered 503.
 * Lock-free, safe from event callbacks. */
int	audit_available(const struct audit_log *);

struct audit_stats {
	uint64_t	submitted;	/* tickets issued */
	uint64_t	durable;	/* tickets durable */
	uint64_t	seq;		/* last seq written */
	uint64_t	batches;
	uint64_t	fsyncs;
	uint64_t	checkpoints;
	uint64_t	write_errors;
	size_t		queued;
	int		available;
};
void	audit_get_stats(struct audit_log *, struct audit_stats *);

/* ------------------------------------------------------------------- verify */

struct audit_pubkey {
	char	key_id[AUDIT_KEY_ID_MAX + 1];
	uint8_t	pk[AUDIT_PK_LEN];
};

/* Parses one "ed25519:KEYID:BASE64URL" line (trailing whitespace ignored).
 * Returns 0, or -1 when it is not that. */
int	audit_pubkey_parse(const char *line, struct audit_pubkey *out);
/* Reads every such line of <path> (blank lines and # comments skipped) into
 * a malloc'd array the caller frees. Returns the count (>= 1) or -1 with a
 * message in err. */
int	audit_pubkey_load(const char *path, struct audit_pubkey **out,
	    char *err, size_t errsize);

#define AUDIT_VERIFY_PROGRESS	0x1	/* progress bar on stderr if a TTY */

struct audit_verify_report {
	int		intact;			/* 1: no problem found */
	char		error[512];		/* first problem, "FILE:LINE: msg" */
	char		warning[512];		/* e.g. a torn last line */
	uint64_t	files;
	uint64_t	records;		/* checkpoints included */
	uint64_t	checkpoints;
	uint64_t	signatures_checked;	/* 0 without public keys */
	uint64_t	last_seq;
	char		head[AUDIT_HASH_HEX + 1];
	uint64_t	last_checkpoint_seq;	/* 0: none */
	uint64_t	unsigned_tail;		/* records after it */
	uint64_t	head_file_seq;		/* seq of DIR/HEAD's checkpoint */
};

/*
 * Verifies the whole chain in dir (files in number order). With keys (nkeys
 * > 0) every checkpoint signature is checked against the key of its key_id.
 * Stops at the first problem and reports it by file and line. Returns 0 when
 * intact, 1 when a problem was found, -1 when the directory could not be
 * read (message in rep->error).
 *
 * Detected: an edited byte anywhere in a record (hash mismatch); a deleted,
 * inserted, reordered or duplicated record (seq and prev checks); a missing
 * file (file number gap, seq gap, first file not starting at seq 1 with a
 * zero prev); a malformed line; a bad or unknown-key signature; a rewritten
 * history (whoever rewrites and rehashes records cannot re-sign the
 * checkpoints after them: needs the public key); truncation that removes the
 * checkpoint kept in DIR/HEAD or anything before it.
 * Not detectable without an external anchor: cutting records after the last
 * checkpoint that DIR/HEAD knows (they are unsigned: reported as
 * unsigned_tail), or truncating and rolling DIR/HEAD back to an older signed
 * copy. Without public keys, a full rewrite of the chain (rehashing every
 * record) is not detectable either. A torn last line (crash mid-write; cut
 * by the writer on its next start) is a warning, not a failure.
 */
int	audit_verify(const char *dir, const struct audit_pubkey *keys,
	    size_t nkeys, int flags, struct audit_verify_report *rep);

/* ------------------------------------------------------------------- export */

enum audit_format { AUDIT_FMT_JSONL = 0, AUDIT_FMT_CSV };

struct audit_filter {
	int64_t		 since_ms;	/* 0: no bound; epoch ms, inclusive */
	int64_t		 until_ms;	/* 0: no bound; exclusive */
	const char	*principal;	/* NULL: any */
	const char	*rule;		/* NULL: any; decisions filtered */
	const char	*action;	/* NULL: any; decisions filtered */
};

/* Times as every record, state file and admin answer writes them:
 * "2026-11-27T04:26:47.123Z" (UTC, fixed width). */
/* The log's files: DIR/audit-NNNNNN.jsonl, numbered from 1. */
#define AUDIT_FILE_FMT		"audit-%06u.jsonl"
/* Their numbers, ascending. Returns the count (*out malloc'd, may be NULL
 * when 0) or -1 (errno). */
int	audit_list_files(const char *dir, unsigned **out);

#define AUDIT_TIME_LEN		24
struct timespec;
void	audit_time_format(const struct timespec *ts, char out[AUDIT_TIME_LEN + 1]);
void	audit_ms_format(int64_t ms, char out[AUDIT_TIME_LEN + 1]);	/* epoch ms */
/* The wall clock in epoch ms (CLOCK_REALTIME). */
int64_t	audit_now_ms(void);

/* Parses RFC 3339 ("2026-11-27", "2026-11-27T04:26:47Z",
 * "2026-11-27T04:26:47.123+08:00") into epoch ms. 0 on success, -1. */
int	audit_time_parse(const char *s, int64_t *ms);

/*
 * Writes the records of dir matching <f> to <out>, files in order,
 * checkpoints left out. jsonl: each record's line as it is in the log, with
 * only the matching decisions when rule or action is set (such a line no
 * longer matches its hash; a record left with no matching decision is left
 * out). csv: a header row, then one row per matching decision (a record
 * without decisions gives one row with the decision columns empty), RFC 4180
 * quoting, list fields joined with ';'. Does not verify the chain. Returns
 * the number of records written, or -1 with a message in err.
 */
long	audit_export(const char *dir, const struct audit_filter *f, int format,
	    FILE *out, char *err, size_t errsize);

/* ---------------------------------------------------------------- overrides */

/*
 * Human overrides (DESIGN.md, Admin API). The store keeps them in memory for
 * every worker and on disk in STATE_DIR/overrides.jsonl: one line per
 * creation or revocation, chained exactly like the audit log (seq, time,
 * prev, hash; see the top of this file), fsynced before the call returns.
 * Opening replays the file and refuses a broken chain (fail closed).
 *
 * Workers read through snapshots: audit_ovr_snapshot() returns an immutable
 * view (reference counted; a change publishes a new one, readers of the old
 * one are not disturbed), so "takes effect on every worker at once" costs a
 * mutex-protected pointer copy per request and no lock while matching.
 *
 * Scope fields left NULL match everything; every field given must match:
 * rule, route (the matched pattern, exactly), class, principal, role (one
 * of the request's roles), fingerprint (one of the decision's), path (a
 * glob over folded paths: '*' is one segment, '**' any run of them).
 */
struct audit_override {
	char		 id[40];		/* "ovr-" + 16 hex, set by add */
	const char	*decision_id;		/* where it came from, or NULL */
	const char	*rule, *route, *path, *class_, *principal, *role;
	const char	*fingerprint;
	const char	*action;	/* allow|mask|redact|drop|hash|tokenize|
					 * encrypt|deny|reclassify */
	const char	*reason;		/* required */
	const char	*author;		/* admin token name */
	int64_t		 created_ms;		/* set by add */
	int64_t		 expires_ms;		/* required, in the future */
	int64_t		 revoked_ms;		/* 0: not revoked */
	const char	*revoked_by;
};

struct audit_ovr_query {
	const char		*rule, *route, *path, *class_, *principal;
	const char *const	*roles;
	size_t			 nroles;
	const char *const	*fingerprints;
	size_t			 nfingerprints;
};

struct audit_ovr_store;
struct audit_ovr_snap;

/* Opens (creating) STATE_DIR/overrides.jsonl. NULL with a message in err
 * when the file cannot be read or its chain is broken. Blocking. */
struct audit_ovr_store	*audit_ovr_open(const char *state_dir, char *err,
			    size_t errsize);
void			 audit_ovr_close(struct audit_ovr_store *);	/* NULL ok */
/* Validates <o> (action known, reason and expiry given, expiry in the
 * future), assigns id and created_ms, appends and fsyncs the creation,
 * publishes a new snapshot, and copies the stored override's id to
 * id_out (may be NULL). Returns 0, or -1 with a message in err (for the
 * admin API's 400 or 503). Thread safe; blocking (fsync). */
int	audit_ovr_add(struct audit_ovr_store *, const struct audit_override *o,
	    char id_out[40], char *err, size_t errsize);
/* 1 when <action> is one an override may name: allow, mask, redact, drop,
 * hash, tokenize, encrypt, deny, reclassify. */
int	audit_ovr_action_known(const char *action);
/* Marks <id> revoked by <by>. -1 with errno ENOENT (unknown or already
 * revoked) or EIO. Thread safe; blocking. */
int	audit_ovr_revoke(struct audit_ovr_store *, const char *id,
	    const char *by, char *err, size_t errsize);

/* The current view; never NULL after a successful open. Lock-free to read
 * once held; release with audit_ovr_release (NULL ok). Safe from event
 * callbacks (a mutex held for a pointer copy). */
struct audit_ovr_snap	*audit_ovr_snapshot(struct audit_ovr_store *);
void			 audit_ovr_release(struct audit_ovr_snap *);
/* Every override, revoked and expired ones included, oldest first. The
 * pointers live as long as the snapshot. */
size_t			 audit_ovr_count(const struct audit_ovr_snap *);
const struct audit_override *audit_ovr_at(const struct audit_ovr_snap *,
			    size_t i);
/* The latest expiry (epoch ms) of an override not revoked, 0 when there is
 * none: no override is active at or after that instant. */
int64_t			 audit_ovr_live_until(const struct audit_ovr_snap *);
/* The newest active (not revoked, expires_ms > now_ms) override whose scope
 * matches <q>, or NULL. */
const struct audit_override *audit_ovr_match(const struct audit_ovr_snap *,
			    const struct audit_ovr_query *q, int64_t now_ms);
/* Fills <rec> with the override as a record body: "type":"override" and
 * "op" ("add" or "revoke") then its fields, for the decision log (and for
 * the admin API's answer). Returns audit_rec_error(). */
int	audit_ovr_record(struct audit_rec *, const struct audit_override *,
	    const char *op);

/* ---------------------------------------------------------- outreach state */

/*
 * Cooling-off periods and opt-outs for automated contact (issue 9). The
 * store counts, per recipient fingerprint, the sends of automated messages
 * in sliding windows and keeps the set of recipients who opted out.
 *
 * Send times live in memory, in a table of OR_NSHARDS (64) shards, each a
 * mutex-guarded open-addressing array; so take() from any worker costs one
 * uncontended lock and a probe or two. They survive a restart through
 * STATE_DIR/outreach.journal, a binary log of fixed 16-byte records (all
 * integers little-endian):
 *
 *   header  "custosor" (8 bytes), uint32 version (1), uint32 horizon_s
 *   record  uint64 key, uint32 tag, uint32 time_s
 *
 * key is the recipient's 64-bit table key (below), tag the scope's name
 * hash (32-bit FNV-1a with the top bit cleared) or, with the top bit set, a
 * give-back of that time; horizon_s is the longest limit window known (0:
 * none yet; flush() updates it in place). flush() appends the records of the
 * sends taken since the last flush (write(), no fsync: a crash loses at most
 * the last flush interval); open() replays them and rewrites the file from
 * memory (tmp + fsync + rename + fsync of the directory), as flush() does
 * when the file is more than 4 times the live state and above 1 MiB. A torn
 * last record (crash mid-write) is ignored; a file that does not start with
 * the header is refused, never overwritten. Only one process may use a state
 * directory: open() takes an exclusive flock on STATE_DIR/outreach.lock.
 *
 * The table key of a fingerprint is a 64-bit mix of its 22 characters (see
 * fp_key() in outreach.c; it is part of the journal format). Fingerprints
 * are keyed hashes, never addresses; no address is ever stored.
 *
 * Opt-outs are kept in STATE_DIR/optouts.jsonl, chained exactly like
 * overrides.jsonl (seq, time, prev, hash: see the top of this file), one
 * line per change, fdatasync'd before the call returns:
 *   {"seq":S,"time":T,"op":"optout"|"consent","fingerprint":FP,
 *    "source":"admin"|"unsubscribe"|null,"author":A|null,"reason":R|null,
 *    "prev":P,"hash":H}
 * time is the now_ms of the change; consent records carry "source":null.
 * open() refuses an edited, deleted or reordered line with
 * "PATH:LINE: hash mismatch (record edited)" or "...: chain broken".
 */
/* A recipient's fingerprint: base64url of a keyed BLAKE2b-128, as
 * keys_fingerprint() writes. */
#define AUDIT_OR_FP_LEN		22
/* 1 when <fp> is a fingerprint as keys_fingerprint() writes it (22
 * characters of [A-Za-z0-9_-]); NULL and anything else 0. */
int	audit_or_fp_valid(const char *fp);
#define AUDIT_OR_MAX_SCOPES	8
#define AUDIT_OR_MAX_RING	64		/* most sends one scope remembers */

/* Layout: the counting scopes, e.g. {"*", 3} (all channels, keep the last 3
 * sends) and {"sms", 1}. A recipient's entry keeps, per scope, a ring of its
 * last <ring> send times (uint32 seconds), so the limits are exact. Names
 * are unique, 1..63 bytes; ring is 1..AUDIT_OR_MAX_RING. */
struct audit_or_scope { const char *name; unsigned ring; };
/* One limit of a message: at most <max> (1..ring of its scope) sends within
 * the last <window_s> seconds, counted in scope <scope> (index into layout). */
struct audit_or_limit { unsigned scope; unsigned max; uint32_t window_s; };

struct audit_outreach;

/*
 * Opens (creating files as needed) the store in <state_dir> (NULL: memory
 * only, for tests and benchmarks), replays its journal into the given layout,
 * caps live recipients at <max_recipients> (0: 16M). NULL with a message in
 * err: bad layout, the directory in use by another process, a journal that is
 * not one (bad magic or version), a broken optouts.jsonl chain, I/O errors.
 * The replay never drops a recorded send: a journal holding more recipients
 * than max_recipients (the cap was lowered) is loaded whole, and new
 * recipients get AUDIT_OR_FULL until enough of them are dead. Blocking I/O:
 * main thread.
 */
struct audit_outreach	*audit_or_open(const char *state_dir,
			    const struct audit_or_scope *, size_t nscopes,
			    size_t max_recipients, char *err, size_t errsize);
/* Flushes, then frees; NULL ok. No call may run concurrently or after. */
void			 audit_or_close(struct audit_outreach *);
/*
 * A new layout (policy reload): histories of scopes with the same name carry
 * over (newest times kept when a ring shrinks); others start empty. Main
 * thread, while workers keep calling take(): 0 or -1 + err (bad layout, or
 * out of memory, in which case nothing changed). Every shard switches at
 * once (all shard locks held for one copying pass over the table: 13 ms
 * per million recipients measured; allocation happens before), so no take()
 * sees a mix of layouts. Limits name
 * scopes by index: the caller publishes limits built for the new layout
 * only after this returns; a take() whose limit names a scope the layout
 * lacks, or a max above its ring, is refused (AUDIT_OR_FULL, EINVAL).
 */
int	audit_or_layout(struct audit_outreach *, const struct audit_or_scope *,
	    size_t nscopes, char *err, size_t errsize);

enum audit_or_verdict { AUDIT_OR_OK, AUDIT_OR_LIMIT, AUDIT_OR_FULL };
/*
 * Atomically against every other thread: for each limit, counts <fp>'s sends
 * in its scope with time > now_s - window_s. If one has reached max: returns
 * AUDIT_OR_LIMIT, *which = index of that limit (the first one in the array
 * that is reached), *retry_s = seconds until it admits one more send (>= 1),
 * nothing recorded. Else records one send at now_s in each distinct scope
 * the limits name and returns AUDIT_OR_OK (n == 0: OK, nothing recorded).
 * AUDIT_OR_FULL: a new recipient while max_recipients live ones are tracked
 * (entries whose newest send is older than every window of the layout's
 * limits are not live and may be reused; the caller fails closed), errno
 * ENOSPC; also, fail closed, for a programming error: fp not 22 base64url
 * characters, now_s outside 1..UINT32_MAX, a limit naming no scope of the
 * layout, max 0 or above the scope's ring, window_s 0 (errno EINVAL), or a
 * table that cannot grow (ENOMEM). which and retry_s may be NULL and are
 * only set for AUDIT_OR_LIMIT.
 * "Every window" is the longest window_s any take() has passed since open
 * (kept in the journal header across restarts): the store learns it.
 * Any thread, event callbacks included: no I/O, no allocation on the hot
 * path except table growth and the growth of a shard's journal buffer.
 */
int	audit_or_take(struct audit_outreach *, const char *fp, int64_t now_s,
	    const struct audit_or_limit *, size_t n, size_t *which,
	    int64_t *retry_s);
/*
 * Undoes one take() of <fp> at <now_s> on these limits' scopes (a request
 * with several recipients where a later one was refused): removes one send
 * at now_s from each distinct scope, and journals it. Exact for the latest
 * take() of a recipient (each scope keeps one send beyond its ring for this);
 * give back before taking the same fp again. Unknown fp or time: no-op. Any
 * thread.
 */
void	audit_or_give_back(struct audit_outreach *, const char *fp,
	    int64_t now_s, const struct audit_or_limit *, size_t n);
/*
 * Appends recorded sends to the journal (write(), no fsync) and compacts it
 * when it is far larger than the live state. Main thread, called from a
 * 250 ms timer and by close. 0 or -1 (errno); after a failure the records
 * are not lost from memory: the next flush rewrites the journal whole.
 * Memory-only stores: 0, nothing done.
 */
int	audit_or_flush(struct audit_outreach *);

/*
 * Opt-outs: a set of fingerprints with a durable history
 * (state_dir/optouts.jsonl, one JSON line per change, fsync'd before the call
 * returns, hash-chained like overrides.jsonl so an edit is refused at open).
 * add: 0 added, 1 already opted out, -1 error; author and reason may be NULL.
 * remove: reason is required (the recorded re-consent); 0, -1 with errno
 * ENOENT when not opted out, -1 other. Changes are serialised and block on
 * the disk: not from event callbacks. -1 with errno EINVAL (bad fp, source
 * not "admin" or "unsubscribe", removal without reason) and a message in
 * err; EIO and the like when the file cannot be written (nothing changed).
 * Memory-only stores keep the set in memory only.
 */
int	audit_or_optout_add(struct audit_outreach *, const char *fp,
	    const char *source /* "admin" | "unsubscribe" */,
	    const char *author, const char *reason, int64_t now_ms, char *err,
	    size_t errsize);
int	audit_or_optout_remove(struct audit_outreach *, const char *fp,
	    const char *author, const char *reason, int64_t now_ms, char *err,
	    size_t errsize);
/* 1 / 0 (0 for an invalid fp); any thread, fast (read lock). */
int	audit_or_opted_out(struct audit_outreach *, const char *fp);
struct audit_or_optout {
	char	fp[AUDIT_OR_FP_LEN + 1];
	int64_t	since_ms;
	char	source[16];
};
/* Calls fn for each current opt-out (any order; under a read lock, fn must
 * not call back into the store). */
void	audit_or_optout_each(struct audit_outreach *,
	    void (*fn)(void *arg, const struct audit_or_optout *), void *arg);
size_t	audit_or_optout_count(struct audit_outreach *);
/* Live recipients tracked and the bytes their table takes (for /metrics and
 * the benchmark). recipients counts every occupied entry: dead ones not yet
 * reused are included until a sweep or a new recipient takes their slot. */
void	audit_or_stats(struct audit_outreach *, size_t *recipients,
	    size_t *bytes);

/* More figures for /metrics and logs; any thread, no lock held long. */
struct audit_or_counters {
	size_t		recipients;	/* as audit_or_stats() */
	size_t		table_bytes;	/* as audit_or_stats() */
	size_t		pending;	/* journal records waiting for flush */
	uint64_t	journal_bytes;	/* size of outreach.journal */
	uint64_t	write_errors;	/* failed journal writes and rewrites */
	uint64_t	rewrites;	/* journal rewrites (open, compaction,
					 * recovery after an error) */
	uint64_t	full;		/* takes refused with AUDIT_OR_FULL */
	uint32_t	horizon_s;	/* longest window seen, 0: none yet */
	size_t		optouts;
};
void	audit_or_get_counters(struct audit_outreach *,
	    struct audit_or_counters *);

#endif
