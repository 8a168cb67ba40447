/* audit/statefile.c — the hash-chained JSON Lines files that hold live
 * state (STATE_DIR/overrides.jsonl, STATE_DIR/optouts.jsonl): one line per
 * change, fdatasync'd before the change is acknowledged, chained like the
 * audit log so that an edited, deleted, reordered or inserted line is
 * refused when the file is opened. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/internal.h"

int
audit_fsync_dir(const char *dir)
{
	int	fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
audit_pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* fsync of the directory holding <path>, so that a new file's name is
 * durable too. */
static int
fsync_parent(const char *path)
{
	char	dir[PATH_MAX];

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return audit_fsync_dir(dirname(dir));
}

int
audit_sfile_open(struct audit_sfile *sf, const char *path, const char *what,
    int (*replay)(void *, const struct ajson_doc *), void *arg, char *err,
    size_t errsize)
{
	struct ajson_doc	 doc;
	struct audit_line	 al;
	struct stat		 sb;
	FILE			*f = NULL;
	char			*line = NULL, hx[AUDIT_HASH_HEX + 1];
	const char		*why;
	size_t			 cap = 0;
	ssize_t			 len;
	uint64_t		 lineno = 0;
	uint8_t			 h[AUDIT_HASH_LEN];
	int			 created, rc = -1;

	memset(&doc, 0, sizeof(doc));
	memset(sf, 0, sizeof(*sf));
	sf->fd = -1;
	memset(sf->head, '0', AUDIT_HASH_HEX);
	if ((sf->path = strdup(path)) == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	created = stat(path, &sb) < 0 && errno == ENOENT;
	if ((sf->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    (f = fdopen(dup(sf->fd), "r")) == NULL ||
	    (created && fsync_parent(path) < 0)) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		goto out;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		lineno++;
		if (line[len - 1] != '\n') {
			/* torn by a crash before its fsync: never acknowledged */
			if (ftruncate(sf->fd, sf->size) < 0) {
				snprintf(err, errsize, "%s: %s", path,
				    strerror(errno));
				goto out;
			}
			break;
		}
		why = NULL;
		if (audit_line_parse(line, (size_t)len - 1, &al, &why) < 0 ||
		    audit_json_parse(&doc, line, (size_t)len - 1) < 0)
			why = why != NULL ? why : "malformed record";
		if (why == NULL) {
			audit_hash(line, al.hashed_len, h);
			audit_hex(h, sizeof(h), hx);
			if (memcmp(hx, al.hash, AUDIT_HASH_HEX) != 0)
				why = "hash mismatch (record edited)";
			else if (al.seq != sf->seq + 1 ||
			    memcmp(al.prev, sf->head, AUDIT_HASH_HEX) != 0)
				why = "chain broken (record deleted, reordered "
				    "or inserted)";
			else if (replay(arg, &doc) < 0)
				why = what;
		}
		if (why != NULL) {
			snprintf(err, errsize, "%s:%" PRIu64 ": %s", path, lineno,
			    why);
			goto out;
		}
		sf->seq = al.seq;
		memcpy(sf->head, al.hash, AUDIT_HASH_HEX);
		sf->size += len;
	}
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	free(line);
	audit_json_reset(&doc);
	return rc;
}

int
audit_sfile_append(struct audit_sfile *sf, int64_t ms, const char *body,
    size_t len)
{
	struct timespec		 ts;
	struct audit_buf	 b;
	char			 hx[AUDIT_HASH_HEX + 1];
	int			 e;

	memset(&b, 0, sizeof(b));
	b.max = SIZE_MAX / 4;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	audit_chain_line(&b, sf->seq + 1, &ts, body, len, sf->head, hx);
	if (b.err) {
		errno = b.err;
		goto fail;
	}
	if (audit_pwrite_all(sf->fd, b.p, b.len, sf->size) < 0 ||
	    fdatasync(sf->fd) < 0)
		goto fail;
	sf->size += (off_t)b.len;
	sf->seq++;
	memcpy(sf->head, hx, sizeof(hx));
	audit_buf_free(&b);
	return 0;
fail:
	/* cut a partial line so the chain stays whole */
	e = errno;
	(void)ftruncate(sf->fd, sf->size);
	audit_buf_free(&b);
	errno = e;
	return -1;
}

void
audit_sfile_close(struct audit_sfile *sf)
{
	if (sf->fd >= 0)
		close(sf->fd);
	free(sf->path);
	sf->fd = -1;
	sf->path = NULL;
}
