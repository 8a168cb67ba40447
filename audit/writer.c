/* audit/writer.c — the writer thread: bounded queue from every worker, group
 * commit, chaining, checkpoints, rotation, crash recovery, failure and
 * self-recovery. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/internal.h"

#define BATCH_MAX	8192		/* records taken per batch */
#define BATCH_BYTES	(4u << 20)	/* body bytes taken per batch (at least one) */
#define LINGER_MIN	256		/* a batch smaller than this waits ... */
#define LINGER_MS	2		/* ... this long for company, once */
#define HEAD_EVERY_MS	1000		/* DIR/HEAD is rewritten at most this often */

struct entry {
	char		*body;
	size_t		 len;
	struct timespec	 ts;		/* CLOCK_REALTIME at submit */
};

/*
 * Locking: mu guards the ring (ring, cap, rhead, count), the ticket
 * counters (submitted, durable), stopping and the counters of stats. Every
 * other field below "writer only" belongs to the writer thread (and to
 * audit_open before the thread starts).
 *
 * Tickets: submission number n (1-based) is the n-th record accepted. The
 * ring is FIFO and the writer serialises in ring order, so record n is
 * durable once durable >= n.
 *
 * Failure: a batch is serialised (seq, time, prev, hash fixed) into pend
 * once; if writing it fails, pend is kept byte for byte and rewritten at the
 * same file offset (after truncating any partial write) until it succeeds.
 * No new records are taken meanwhile, so the ring fills and producers wait.
 */
struct audit_log {
	pthread_mutex_t		 mu;
	pthread_cond_t		 not_empty;	/* writer waits */
	pthread_cond_t		 not_full;	/* producers wait */
	pthread_cond_t		 durable_cv;	/* audit_wait_durable waits */
	struct entry		*ring;
	size_t			 cap, rhead, count;
	uint64_t		 submitted, durable;
	int			 stopping;
	int			 writer_waiting;
	int			 full_waiters;
	atomic_int		 available;
	/* written by the writer, read by audit_get_stats */
	atomic_ullong		 n_seq, n_batches, n_fsyncs, n_checkpoints;
	atomic_ullong		 n_write_errors;
	pthread_t		 thread;
	int			 started;

	/* configuration (read only after open) */
	char			*dir;
	int			 fsync_mode;
	int64_t			 fsync_interval, cp_interval, retry_interval;
	int64_t			 drain_timeout;
	size_t			 cp_every, rotate_size;
	char			*key_id;
	struct audit_signer	 signer;
	int			 has_signer;
	void			(*log)(void *, enum audit_level, const char *);
	void			*log_ctx;
	ssize_t			(*pwrite_fn)(int, const void *, size_t, off_t);
	int			(*fsync_fn)(int);

	/* writer only */
	int			 lockfd;
	int			 fd;		/* -1: to be (re)opened */
	unsigned		 fileno;
	off_t			 fsize;		/* bytes known written */
	uint64_t		 seq;		/* last seq serialised */
	char			 head[AUDIT_HASH_HEX + 1];	/* its hash */
	uint64_t		 since_cp;	/* records since last checkpoint */
	struct timespec		 last_ts;	/* time of the last record */
	int			 sign_failing;
	int64_t			 sign_retry_at;	/* no signing before (monotonic ms) */
	int64_t			 last_cp, last_fsync, last_head, retry_at;
	int			 unsynced;	/* written, not fsynced */
	uint64_t		 taken;		/* tickets moved to pend/written */
	uint64_t		 written;	/* tickets written */
	struct audit_buf	 pend;		/* serialised, not yet written */
	size_t			 pend_off;	/* bytes of pend written */
	uint64_t		 pend_tickets;	/* taken when pend was filled */
	int			 failed;
	struct audit_buf	 cpline;	/* newest checkpoint written */
	int			 cp_written_unsynced;
	struct audit_buf	 head_line;	/* newest checkpoint durable */
	int			 head_dirty;
	struct entry		*batch;
};

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
alog(struct audit_log *l, enum audit_level lv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
alog(struct audit_log *l, enum audit_level lv, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->log != NULL)
		l->log(l->log_ctx, lv, msg);
	else
		fprintf(stderr, "custos: audit: %s\n", msg);
}

static ssize_t
sys_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off);
}

static int
sys_fsync(int fd)
{
	return fdatasync(fd);
}

static int
file_path(char *out, size_t size, const char *dir, unsigned num)
{
	int	n;

	n = snprintf(out, size, "%s/" AUDIT_FILE_FMT, dir, num);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* ---------------------------------------------------------------- recovery */

/*
 * Reads the last complete line of the open file fd of size *size. A torn
 * tail (bytes after the last newline) is cut off with ftruncate and *size
 * updated. On return line is malloc'd (NULL when the file holds no complete
 * line). Returns 0 or -1 (errno).
 */
static int
read_last_line(struct audit_log *l, int fd, const char *path, off_t *size,
    char **line, size_t *linelen)
{
	char	 chunk[4096];
	off_t	 pos = *size, end = -1, start = 0, i;
	ssize_t	 n;
	char	*buf;
	size_t	 len;

	*line = NULL;
	*linelen = 0;
	/* find the last newline (end of the last complete line) */
	while (pos > 0 && end < 0) {
		off_t from = pos > (off_t)sizeof(chunk) ? pos - (off_t)sizeof(chunk) : 0;

		if ((n = pread(fd, chunk, (size_t)(pos - from), from)) !=
		    pos - from)
			return -1;
		for (i = pos - from - 1; i >= 0; i--)
			if (chunk[i] == '\n') {
				end = from + i;
				break;
			}
		pos = from;
	}
	if (end + 1 != *size) {
		alog(l, AUDIT_LOG_WARN, "%s: torn last line (%jd bytes, a crash "
		    "during a write) cut off", path, (intmax_t)(*size - end - 1));
		if (ftruncate(fd, end + 1) < 0 || fdatasync(fd) < 0)
			return -1;
		*size = end + 1;
	}
	if (end < 0)
		return 0;
	/* find the newline before it */
	pos = end;
	while (pos > 0) {
		off_t from = pos > (off_t)sizeof(chunk) ? pos - (off_t)sizeof(chunk) : 0;

		if ((n = pread(fd, chunk, (size_t)(pos - from), from)) !=
		    pos - from)
			return -1;
		for (i = pos - from - 1; i >= 0; i--)
			if (chunk[i] == '\n')
				break;
		if (i >= 0) {
			start = from + i + 1;
			break;
		}
		pos = from;
	}
	len = (size_t)(end - start);
	if ((buf = malloc(len + 1)) == NULL)
		return -1;
	if (pread(fd, buf, len, start) != (ssize_t)len) {
		free(buf);
		errno = EIO;
		return -1;
	}
	buf[len] = '\0';
	*line = buf;
	*linelen = len;
	return 0;
}

/* Sets fileno, fd, fsize, seq and head from the newest file. */
static int
recover(struct audit_log *l, char *err, size_t errsize)
{
	unsigned		*nums = NULL;
	int			 n, i, fd = -1;
	char			 path[PATH_MAX], *line = NULL;
	size_t			 linelen;
	struct stat		 sb;
	off_t			 size;
	struct audit_line	 al;
	const char		*why;
	uint8_t			 h[AUDIT_HASH_LEN];
	char			 hx[AUDIT_HASH_HEX + 1];

	memset(l->head, '0', AUDIT_HASH_HEX);
	l->head[AUDIT_HASH_HEX] = '\0';
	l->seq = 0;
	if ((n = audit_list_files(l->dir, &nums)) < 0) {
		snprintf(err, errsize, "%s: %s", l->dir, strerror(errno));
		return -1;
	}
	l->fileno = n > 0 ? nums[n - 1] : 1;
	/* walk back from the newest file to the first one holding a line */
	for (i = n - 1; i >= 0; i--) {
		if (file_path(path, sizeof(path), l->dir, nums[i]) < 0 ||
		    (fd = open(path, O_RDWR | O_CLOEXEC)) < 0 ||
		    fstat(fd, &sb) < 0)
			goto syserr;
		size = sb.st_size;
		if (read_last_line(l, fd, path, &size, &line, &linelen) < 0)
			goto syserr;
		if (i == n - 1) {
			l->fd = fd;
			l->fsize = size;
		} else
			close(fd);
		fd = -1;
		if (line != NULL)
			break;
	}
	free(nums);
	nums = NULL;
	if (line == NULL)
		return 0;		/* a new chain */
	if (audit_line_parse(line, linelen, &al, &why) < 0) {
		snprintf(err, errsize, "%s: last record: %s; cannot continue the "
		    "chain (run `custos audit verify %s`)", path, why, l->dir);
		goto fail;
	}
	audit_hash(line, al.hashed_len, h);
	audit_hex(h, sizeof(h), hx);
	if (memcmp(hx, al.hash, AUDIT_HASH_HEX) != 0) {
		snprintf(err, errsize, "%s: last record: hash mismatch; cannot "
		    "continue the chain (run `custos audit verify %s`)", path,
		    l->dir);
		goto fail;
	}
	l->seq = al.seq;
	memcpy(l->head, al.hash, AUDIT_HASH_HEX);
	/* unknown whether it was signed: checkpoint at the next interval */
	if (strstr(line, "\"type\":\"checkpoint\"") == NULL)
		l->since_cp = 1;
	free(line);
	return 0;
syserr:
	snprintf(err, errsize, "%s: %s", path, strerror(errno));
fail:
	if (fd >= 0)
		close(fd);
	free(nums);
	free(line);
	return -1;
}

/* Warns when DIR/HEAD names a checkpoint beyond the recovered chain. */
static void
check_head(struct audit_log *l)
{
	char		 path[PATH_MAX], buf[1024];
	FILE		*f;
	uint64_t	 hseq;

	if (snprintf(path, sizeof(path), "%s/HEAD", l->dir) >= (int)sizeof(path) ||
	    (f = fopen(path, "re")) == NULL)
		return;
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    sscanf(buf, "{\"seq\":%" SCNu64, &hseq) == 1 && hseq > l->seq)
		alog(l, AUDIT_LOG_ERR, "%s names checkpoint seq %" PRIu64
		    " but the log ends at seq %" PRIu64 ": signed records were "
		    "lost or removed; continuing the chain", path, hseq, l->seq);
	fclose(f);
}

/* ------------------------------------------------------------------ writer */

/* Appends one line for a body to pend and advances seq/head. */
static void
serialise(struct audit_log *l, const char *body, size_t len,
    const struct timespec *ts)
{
	char	hx[AUDIT_HASH_HEX + 1];

	audit_chain_line(&l->pend, l->seq + 1, ts, body, len, l->head, hx);
	if (l->pend.err) {
		/* records taken from the queue cannot be put back and pend
		 * is now unusable: going on would lose them */
		alog(l, AUDIT_LOG_ERR, "out of memory serialising seq %" PRIu64
		    "; aborting", l->seq + 1);
		abort();
	}
	l->seq++;
	memcpy(l->head, hx, sizeof(hx));
	l->since_cp++;
	l->last_ts = *ts;
}

/* Appends a checkpoint signing the current head to pend. in_batch: 1 in a
 * batch (takes the time of the record before), 0 on a timer, -1 at
 * shutdown (tries even while signing is failing). */
static int
add_checkpoint(struct audit_log *l, int in_batch)
{
	char		 msg[AUDIT_CP_MSG_MAX], b64[sodium_base64_ENCODED_LEN(
			    AUDIT_SIG_LEN, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	uint8_t		 sig[AUDIT_SIG_LEN];
	struct audit_rec *r;
	struct timespec	 ts;
	const char	*body, *kid;
	size_t		 mlen, blen, start;

	if (!l->has_signer || (in_batch >= 0 && now_ms() < l->sign_retry_at))
		return 0;
	mlen = audit_cp_message(msg, l->seq + 1, l->seq, l->head);
	kid = l->key_id;
	if (l->signer.sign(l->signer.ctx, (const uint8_t *)msg, mlen, sig,
	    &kid) != 0 || kid == NULL || kid[0] == '\0' ||
	    strlen(kid) > AUDIT_KEY_ID_MAX) {
		/* the records stay, unsigned for longer: retry later, and
		 * say so once per outage, not once per record */
		if (!l->sign_failing)
			alog(l, AUDIT_LOG_ERR, "checkpoint at seq %" PRIu64
			    ": signing failed; retrying every %" PRId64 " ms",
			    l->seq + 1, l->retry_interval);
		l->sign_failing = 1;
		l->sign_retry_at = now_ms() + l->retry_interval;
		return -1;
	}
	if (l->sign_failing)
		alog(l, AUDIT_LOG_INFO, "checkpoint signing works again");
	l->sign_failing = 0;
	l->sign_retry_at = 0;
	sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if ((r = audit_rec_new()) == NULL)
		return -1;
	audit_rec_str(r, "type", "checkpoint");
	audit_rec_strn(r, "head", l->head, AUDIT_HASH_HEX);
	audit_rec_int(r, "count", (int64_t)l->seq);
	audit_rec_str(r, "key_id", kid);
	audit_rec_str(r, "sig", b64);
	/* in a batch: the time of the record it follows, so that times
	 * never go back along the chain; else now */
	if (in_batch > 0)
		ts = l->last_ts;
	else
		clock_gettime(CLOCK_REALTIME, &ts);
	start = l->pend.len;
	if (audit_rec_error(r) == 0) {
		body = audit_rec_body(r, &blen);
		serialise(l, body, blen, &ts);
		l->since_cp = 0;
		l->last_cp = now_ms();
		atomic_fetch_add(&l->n_checkpoints, 1);
		/* the line without its newline, for DIR/HEAD */
		if (!l->pend.err) {
			l->cpline.len = 0;
			audit_buf_add(&l->cpline, l->pend.p + start,
			    l->pend.len - start);
		}
	}
	audit_rec_free(r);
	return 0;
}

static int
open_current(struct audit_log *l)
{
	char		path[PATH_MAX];
	struct stat	sb;
	int		created = 0;

	if (file_path(path, sizeof(path), l->dir, l->fileno) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((l->fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		if (errno != ENOENT || (l->fd = open(path,
		    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
			return -1;
		created = 1;
	}
	if (fstat(l->fd, &sb) < 0)
		goto fail;
	/* a partial write of a failed batch may be there: cut it */
	if (sb.st_size != l->fsize && ftruncate(l->fd, l->fsize) < 0)
		goto fail;
	if (created)
		(void)audit_fsync_dir(l->dir);
	return 0;
fail:
	close(l->fd);
	l->fd = -1;
	return -1;
}

static int
do_fsync(struct audit_log *l)
{
	if (!l->unsynced)
		return 0;
	if (l->fsync_fn(l->fd) < 0)
		return -1;
	l->unsynced = 0;
	l->last_fsync = now_ms();
	atomic_fetch_add(&l->n_fsyncs, 1);
	return 0;
}

/*
 * Writes pend from pend_off on, whole lines at a time, rotating to a new
 * file before a line that would take the current one past rotate_size (a
 * single line larger than that gets a file of its own). pend_off and fsize
 * only move past bytes that were written, so a failed call can be retried
 * as it is. 0, or -1 (errno).
 */
static int
write_pend(struct audit_log *l)
{
	const char	*p, *nl;
	size_t		 chunk, off, room;
	ssize_t		 n;

	if (l->fd < 0 && open_current(l) < 0)
		return -1;
	while (l->pend_off < l->pend.len) {
		p = l->pend.p + l->pend_off;
		nl = memchr(p, '\n', l->pend.len - l->pend_off);
		chunk = (size_t)(nl - p) + 1;
		if (l->fsize > 0 && (size_t)l->fsize + chunk > l->rotate_size) {
			if (do_fsync(l) < 0)
				return -1;
			close(l->fd);
			l->fd = -1;
			l->fileno++;
			l->fsize = 0;
		}
		if (l->fd < 0 && open_current(l) < 0)
			return -1;
		/* as many more whole lines as fit */
		room = l->rotate_size > (size_t)l->fsize ?
		    l->rotate_size - (size_t)l->fsize : 0;
		while (l->pend_off + chunk < l->pend.len) {
			nl = memchr(p + chunk, '\n',
			    l->pend.len - l->pend_off - chunk);
			if ((size_t)(nl - p) + 1 > room)
				break;
			chunk = (size_t)(nl - p) + 1;
		}
		for (off = 0; off < chunk; off += (size_t)n) {
			n = l->pwrite_fn(l->fd, p + off, chunk - off,
			    l->fsize + (off_t)off);
			if (n < 0 && errno == EINTR) {
				n = 0;
				continue;
			}
			if (n <= 0) {
				if (n == 0)
					errno = ENOSPC;
				return -1;
			}
		}
		l->unsynced = 1;
		l->fsize += (off_t)chunk;
		l->pend_off += chunk;
	}
	if (l->fsync_mode == AUDIT_FSYNC_BATCH && do_fsync(l) < 0)
		return -1;
	return 0;
}

/* Rewrites DIR/HEAD with the newest durable checkpoint. Best effort. */
static void
write_head(struct audit_log *l)
{
	char	path[PATH_MAX], tmp[PATH_MAX];
	int	fd;

	if (!l->head_dirty)
		return;
	if (snprintf(path, sizeof(path), "%s/HEAD", l->dir) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/HEAD.tmp", l->dir) >= (int)sizeof(tmp))
		return;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		goto fail;
	if (write(fd, l->head_line.p, l->head_line.len) !=
	    (ssize_t)l->head_line.len || write(fd, "\n", 1) != 1 ||
	    fsync(fd) < 0) {
		close(fd);
		goto fail;
	}
	close(fd);
	if (rename(tmp, path) < 0)
		goto fail;
	(void)audit_fsync_dir(l->dir);
	l->head_dirty = 0;
	l->last_head = now_ms();
	return;
fail:
	alog(l, AUDIT_LOG_WARN, "%s: %s (will retry)", path, strerror(errno));
	l->last_head = now_ms();
}

/* After a successful write: publishes durability and HEAD. */
static void
after_write(struct audit_log *l, int force_sync)
{
	uint64_t	durable;

	l->written = l->pend_tickets;
	if (l->cpline.len > 0)
		l->cp_written_unsynced = 1;
	if (l->fsync_mode == AUDIT_FSYNC_INTERVAL &&
	    (force_sync || now_ms() - l->last_fsync >= l->fsync_interval))
		if (do_fsync(l) < 0)
			alog(l, AUDIT_LOG_ERR, "fsync: %s", strerror(errno));
	/* a checkpoint goes to HEAD only once the log holding it is on disk */
	if (l->cp_written_unsynced && (force_sync ||
	    now_ms() - l->last_head >= HEAD_EVERY_MS)) {
		if (do_fsync(l) == 0) {
			l->head_line.len = 0;
			audit_buf_add(&l->head_line, l->cpline.p, l->cpline.len);
			l->cpline.len = 0;
			l->cp_written_unsynced = 0;
			l->head_dirty = !l->head_line.err;
			write_head(l);
		}
	}
	durable = (l->fsync_mode == AUDIT_FSYNC_NONE || !l->unsynced) ?
	    l->written : l->durable;
	atomic_store(&l->n_seq, l->seq);
	pthread_mutex_lock(&l->mu);
	if (durable > l->durable) {
		l->durable = durable;
		pthread_cond_broadcast(&l->durable_cv);
	}
	pthread_mutex_unlock(&l->mu);
}

/* Tries to write pend; handles failure state. Returns 0 when pend is empty. */
static int
flush(struct audit_log *l, int force_sync)
{
	if (l->pend.len == 0 && !force_sync)
		return 0;
	if (l->pend.len > 0 && write_pend(l) < 0) {
		atomic_fetch_add(&l->n_write_errors, 1);
		if (!l->failed)
			alog(l, AUDIT_LOG_ERR, "writing %s/" AUDIT_FILE_FMT
			    " failed: %s; audit unavailable, retrying every "
			    "%" PRId64 " ms", l->dir, l->fileno, strerror(errno),
			    l->retry_interval);
		l->failed = 1;
		atomic_store(&l->available, 0);
		if (l->fd >= 0) {
			close(l->fd);		/* reopened on retry */
			l->fd = -1;
		}
		l->retry_at = now_ms() + l->retry_interval;
		return -1;
	}
	if (l->failed) {
		alog(l, AUDIT_LOG_INFO, "writing works again; audit available");
		l->failed = 0;
		atomic_store(&l->available, 1);
	}
	if (l->pend.len > 0)
		atomic_fetch_add(&l->n_batches, 1);
	l->pend.len = 0;
	l->pend_off = 0;
	after_write(l, force_sync);
	return 0;
}

static struct timespec
deadline_ts(int64_t ms_from_now)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms_from_now / 1000;
	ts.tv_nsec += (ms_from_now % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

/* Milliseconds until the writer has timed work to do. */
static int64_t
next_wait(struct audit_log *l)
{
	int64_t	now = now_ms(), w = 60000;

	if (l->failed)
		return l->retry_at > now ? l->retry_at - now : 0;
	if (l->since_cp > 0 && l->has_signer)
		w = l->last_cp + l->cp_interval - now;
	if (l->unsynced && l->fsync_mode == AUDIT_FSYNC_INTERVAL &&
	    l->last_fsync + l->fsync_interval - now < w)
		w = l->last_fsync + l->fsync_interval - now;
	if ((l->cp_written_unsynced || l->head_dirty) &&
	    l->last_head + HEAD_EVERY_MS - now < w)
		w = l->last_head + HEAD_EVERY_MS - now;
	return w < 0 ? 0 : w;
}

static void *
writer_main(void *arg)
{
	struct audit_log	*l = arg;
	struct timespec		 dl;
	size_t			 n, i;
	int			 stopping, empty;
	int64_t			 drain_deadline = 0, w;

	for (;;) {
		pthread_mutex_lock(&l->mu);
		if (l->failed) {
			/* wait for the retry time, whatever is queued */
			if ((w = next_wait(l)) > 0) {
				dl = deadline_ts(w);
				l->writer_waiting = 1;
				pthread_cond_timedwait(&l->not_empty, &l->mu, &dl);
				l->writer_waiting = 0;
			}
		} else {
			while (l->count == 0 && !l->stopping &&
			    (w = next_wait(l)) > 0) {
				dl = deadline_ts(w);
				l->writer_waiting = 1;
				pthread_cond_timedwait(&l->not_empty, &l->mu, &dl);
				l->writer_waiting = 0;
			}
			/*
			 * Group commit: under load, waking for every record
			 * costs a write, an fsync and two context switches per
			 * request. A small batch lingers a moment (producers
			 * do not signal meanwhile: writer_waiting is 0, unless
			 * the queue fills) so that one write and one fsync
			 * carry many records. Nobody waits on it: responses do
			 * not wait for durability.
			 */
			if (l->count > 0 && l->count < LINGER_MIN &&
			    !l->stopping && l->full_waiters == 0) {
				dl = deadline_ts(LINGER_MS);
				pthread_cond_timedwait(&l->not_empty, &l->mu, &dl);
			}
		}
		n = 0;
		/* while a batch is failing, take nothing more: producers wait */
		if (!l->failed) {
			size_t	bytes = 0;

			while (n < l->count && n < BATCH_MAX && bytes < BATCH_BYTES) {
				l->batch[n] = l->ring[l->rhead];
				bytes += l->batch[n].len;
				l->rhead = (l->rhead + 1) % l->cap;
				n++;
			}
			l->count -= n;
			if (n > 0 && l->full_waiters)
				pthread_cond_broadcast(&l->not_full);
		}
		stopping = l->stopping;
		empty = l->count == 0;
		pthread_mutex_unlock(&l->mu);

		for (i = 0; i < n; i++) {
			serialise(l, l->batch[i].body, l->batch[i].len,
			    &l->batch[i].ts);
			free(l->batch[i].body);
			if (l->has_signer && l->since_cp >= l->cp_every)
				add_checkpoint(l, 1);
		}
		l->taken += n;
		if (n > 0)
			l->pend_tickets = l->taken;
		if (!l->failed && l->has_signer && l->since_cp > 0 &&
		    now_ms() - l->last_cp >= l->cp_interval)
			add_checkpoint(l, 0);
		if (l->pend.len > 0) {
			if (!l->failed || now_ms() >= l->retry_at)
				(void)flush(l, 0);
		} else if (!l->failed)
			after_write(l, 0);	/* interval fsync, HEAD */
		if (!l->failed && !l->unsynced && l->head_dirty &&
		    now_ms() - l->last_head >= HEAD_EVERY_MS)
			write_head(l);
		if (!stopping)
			continue;
		/* draining: final checkpoint, fsync, HEAD */
		if (empty && !l->failed && l->pend.len == 0) {
			if (l->since_cp > 0)
				add_checkpoint(l, -1);
			if (flush(l, 1) == 0 && do_fsync(l) == 0)
				break;
		}
		if (drain_deadline == 0)
			drain_deadline = now_ms() + l->drain_timeout;
		if (now_ms() >= drain_deadline) {
			pthread_mutex_lock(&l->mu);
			n = l->count;
			pthread_mutex_unlock(&l->mu);
			alog(l, AUDIT_LOG_ERR, "giving up at shutdown: %" PRIu64
			    " records could not be written",
			    l->taken - l->written + (uint64_t)n);
			break;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------- API */

static void
log_free(struct audit_log *l)
{
	size_t	i;

	if (l == NULL)
		return;
	for (i = 0; i < l->count; i++)
		free(l->ring[(l->rhead + i) % l->cap].body);
	free(l->ring);
	free(l->batch);
	free(l->dir);
	free(l->key_id);
	audit_buf_free(&l->pend);
	audit_buf_free(&l->cpline);
	audit_buf_free(&l->head_line);
	if (l->fd >= 0)
		close(l->fd);
	if (l->lockfd >= 0)
		close(l->lockfd);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->not_empty);
	pthread_cond_destroy(&l->not_full);
	pthread_cond_destroy(&l->durable_cv);
	free(l);
}

struct audit_log *
audit_open(const struct audit_opts *o, char *err, size_t errsize)
{
	struct audit_log	*l;
	pthread_condattr_t	 ca;
	char			 path[PATH_MAX];
	int			 e;

	if (errsize > 0)
		err[0] = '\0';
	if (o->dir == NULL || sodium_init() < 0) {
		snprintf(err, errsize, "no audit directory");
		errno = EINVAL;
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto nomem;
	l->fd = l->lockfd = -1;
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->not_empty, &ca);
	pthread_cond_init(&l->not_full, &ca);
	pthread_cond_init(&l->durable_cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&l->available, 1);

	l->fsync_mode = o->fsync;
	l->fsync_interval = o->fsync_interval > 0 ? o->fsync_interval : 1000;
	l->cp_every = o->checkpoint_every > 0 ? o->checkpoint_every : 1000;
	l->cp_interval = o->checkpoint_interval > 0 ? o->checkpoint_interval : 5000;
	l->rotate_size = o->rotate_size > 0 ? o->rotate_size : 64u << 20;
	l->cap = o->queue > 0 ? o->queue : 65536;
	l->pend.max = SIZE_MAX / 4;
	l->cpline.max = l->head_line.max = 4096;
	l->retry_interval = o->retry_interval > 0 ? o->retry_interval : 500;
	l->drain_timeout = o->drain_timeout > 0 ? o->drain_timeout : 30000;
	l->log = o->log;
	l->log_ctx = o->log_ctx;
	l->pwrite_fn = o->pwrite_fn != NULL ? o->pwrite_fn : sys_pwrite;
	l->fsync_fn = o->fsync_fn != NULL ? o->fsync_fn : sys_fsync;
	if ((l->dir = strdup(o->dir)) == NULL ||
	    (l->ring = calloc(l->cap, sizeof(*l->ring))) == NULL ||
	    (l->batch = calloc(BATCH_MAX, sizeof(*l->batch))) == NULL)
		goto nomem;
	if (o->signer != NULL && o->signer->sign != NULL) {
		if (o->signer->key_id != NULL &&
		    (strlen(o->signer->key_id) > AUDIT_KEY_ID_MAX ||
		    (l->key_id = strdup(o->signer->key_id)) == NULL)) {
			snprintf(err, errsize, "bad audit signer key id");
			errno = EINVAL;
			goto fail;
		}
		l->signer = *o->signer;
		l->has_signer = 1;
	}
	if (mkdir(l->dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errsize, "%s: %s", l->dir, strerror(errno));
		goto fail;
	}
	if (snprintf(path, sizeof(path), "%s/LOCK", l->dir) >= (int)sizeof(path) ||
	    (l->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (flock(l->lockfd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errsize, "%s: in use by another custos (%s)",
		    l->dir, strerror(errno));
		goto fail;
	}
	if (recover(l, err, errsize) < 0) {
		errno = EINVAL;
		goto fail;
	}
	check_head(l);
	l->last_cp = l->last_fsync = l->last_head = now_ms();
	atomic_store(&l->n_seq, l->seq);
	if ((e = pthread_create(&l->thread, NULL, writer_main, l)) != 0) {
		errno = e;
		snprintf(err, errsize, "writer thread: %s", strerror(e));
		goto fail;
	}
	l->started = 1;
	return l;
nomem:
	snprintf(err, errsize, "out of memory");
	errno = ENOMEM;
fail:
	e = errno;
	log_free(l);
	errno = e;
	return NULL;
}

int
audit_close(struct audit_log *l)
{
	int	rc;

	if (l == NULL)
		return 0;
	pthread_mutex_lock(&l->mu);
	l->stopping = 1;
	pthread_cond_broadcast(&l->not_empty);
	pthread_cond_broadcast(&l->not_full);
	pthread_mutex_unlock(&l->mu);
	if (l->started)
		pthread_join(l->thread, NULL);
	rc = (l->count == 0 && l->written == l->taken && l->pend.len == 0) ?
	    0 : -1;
	log_free(l);
	return rc;
}

static int
submit(struct audit_log *l, const struct audit_rec *r, uint64_t *ticket,
    int timeout_ms)
{
	struct entry	 e;
	const char	*body;
	struct timespec	 dl = { 0, 0 };
	int		 rc = 0;

	if (audit_rec_error(r) < 0)
		return -1;
	body = audit_rec_body(r, &e.len);
	if ((e.body = malloc(e.len + 1)) == NULL)
		return -1;
	memcpy(e.body, body, e.len);
	if (timeout_ms > 0)
		dl = deadline_ts(timeout_ms);
	pthread_mutex_lock(&l->mu);
	while (l->count == l->cap && !l->stopping) {
		if (timeout_ms == 0)
			goto timeout;
		/* a full queue ends the writer's linger at once */
		pthread_cond_signal(&l->not_empty);
		l->full_waiters++;
		if (timeout_ms < 0)
			pthread_cond_wait(&l->not_full, &l->mu);
		else
			rc = pthread_cond_timedwait(&l->not_full, &l->mu, &dl);
		l->full_waiters--;
		if (timeout_ms > 0 && rc == ETIMEDOUT && l->count == l->cap)
			goto timeout;
	}
	if (l->stopping) {
		pthread_mutex_unlock(&l->mu);
		free(e.body);
		errno = ESHUTDOWN;
		return -1;
	}
	/* stamped under the lock so time never goes back along the queue
	 * (unless the wall clock itself is stepped back) */
	clock_gettime(CLOCK_REALTIME, &e.ts);
	l->ring[(l->rhead + l->count) % l->cap] = e;
	l->count++;
	l->submitted++;
	if (ticket != NULL)
		*ticket = l->submitted;
	if (l->writer_waiting)
		pthread_cond_signal(&l->not_empty);
	pthread_mutex_unlock(&l->mu);
	return 0;
timeout:
	pthread_mutex_unlock(&l->mu);
	free(e.body);
	errno = ETIMEDOUT;
	return -1;
}

int
audit_submit(struct audit_log *l, const struct audit_rec *r, uint64_t *ticket)
{
	return submit(l, r, ticket, -1);
}

int
audit_submit_timed(struct audit_log *l, const struct audit_rec *r,
    uint64_t *ticket, int timeout_ms)
{
	return submit(l, r, ticket, timeout_ms < 0 ? 0 : timeout_ms);
}

int
audit_wait_durable(struct audit_log *l, uint64_t ticket, int timeout_ms)
{
	struct timespec	dl;
	int		rc = 0;

	if (timeout_ms >= 0)
		dl = deadline_ts(timeout_ms);
	pthread_mutex_lock(&l->mu);
	while (l->durable < ticket && rc != ETIMEDOUT) {
		if (timeout_ms < 0)
			pthread_cond_wait(&l->durable_cv, &l->mu);
		else
			rc = pthread_cond_timedwait(&l->durable_cv, &l->mu, &dl);
	}
	rc = l->durable >= ticket ? 0 : -1;
	pthread_mutex_unlock(&l->mu);
	if (rc < 0)
		errno = ETIMEDOUT;
	return rc;
}

int
audit_available(const struct audit_log *l)
{
	return atomic_load_explicit(&l->available, memory_order_relaxed);
}

void
audit_get_stats(struct audit_log *l, struct audit_stats *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&l->mu);
	s->submitted = l->submitted;
	s->durable = l->durable;
	s->queued = l->count;
	pthread_mutex_unlock(&l->mu);
	s->seq = atomic_load(&l->n_seq);
	s->batches = atomic_load(&l->n_batches);
	s->fsyncs = atomic_load(&l->n_fsyncs);
	s->checkpoints = atomic_load(&l->n_checkpoints);
	s->write_errors = atomic_load(&l->n_write_errors);
	s->available = audit_available(l);
}
