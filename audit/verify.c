/* audit/verify.c — recomputes the chain of an audit directory, checks the
 * checkpoint signatures and DIR/HEAD, and reports the first problem. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/internal.h"

#define PROGRESS_MIN	(16u << 20)	/* bytes: smaller logs get no bar */

struct vstate {
	const struct audit_pubkey	*keys;
	size_t				 nkeys;
	struct audit_verify_report	*rep;
	uint64_t			 expect;	/* next seq */
	char				 prev[AUDIT_HASH_HEX + 1];
	struct ajson_doc		 doc;
	int				 have_head;
	uint64_t			 head_seq;
	char				 head_hash[AUDIT_HASH_HEX + 1];
	int				 head_found;
};

static int
problem(struct vstate *v, const char *file, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
problem(struct vstate *v, const char *file, uint64_t line, const char *fmt, ...)
{
	char	msg[400];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(v->rep->error, sizeof(v->rep->error), "%s:%" PRIu64
		    ": %s", file, line, msg);
	else
		snprintf(v->rep->error, sizeof(v->rep->error), "%s: %s", file,
		    msg);
	v->rep->intact = 0;
	return 1;
}

int
audit_pubkey_parse(const char *line, struct audit_pubkey *out)
{
	const char	*id, *colon, *b64, *end;
	size_t		 idlen, binlen;

	if (strncmp(line, "ed25519:", 8) != 0)
		return -1;
	id = line + 8;
	if ((colon = strchr(id, ':')) == NULL)
		return -1;
	idlen = (size_t)(colon - id);
	if (idlen == 0 || idlen > AUDIT_KEY_ID_MAX)
		return -1;
	b64 = colon + 1;
	end = b64 + strlen(b64);
	while (end > b64 && (end[-1] == '\n' || end[-1] == '\r' ||
	    end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (sodium_base642bin(out->pk, sizeof(out->pk), b64, (size_t)(end - b64),
	    NULL, &binlen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    binlen != AUDIT_PK_LEN)
		return -1;
	memcpy(out->key_id, id, idlen);
	out->key_id[idlen] = '\0';
	return 0;
}

int
audit_pubkey_load(const char *path, struct audit_pubkey **out, char *err,
    size_t errsize)
{
	FILE			*f;
	char			*line = NULL, *s;
	size_t			 cap = 0, n = 0, lineno = 0;
	struct audit_pubkey	*v = NULL, *nv;

	*out = NULL;
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		for (s = line; *s == ' ' || *s == '\t'; s++)
			;
		if (*s == '#' || *s == '\n' || *s == '\r' || *s == '\0')
			continue;
		if ((nv = realloc(v, (n + 1) * sizeof(*v))) == NULL) {
			snprintf(err, errsize, "out of memory");
			goto fail;
		}
		v = nv;
		if (audit_pubkey_parse(s, &v[n]) < 0) {
			snprintf(err, errsize, "%s:%zu: not an "
			    "\"ed25519:KEYID:BASE64URL\" public key", path, lineno);
			goto fail;
		}
		n++;
	}
	if (n == 0) {
		snprintf(err, errsize, "%s: no public key", path);
		goto fail;
	}
	free(line);
	fclose(f);
	*out = v;
	return (int)n;
fail:
	free(line);
	free(v);
	fclose(f);
	return -1;
}

/* Checks a checkpoint record (already parsed into v->doc). */
static int
check_checkpoint(struct vstate *v, const char *file, uint64_t lineno,
    uint64_t seq, const struct audit_line *al)
{
	const struct ajson_doc	*d = &v->doc;
	char			 head[AUDIT_HASH_HEX + 2], key_id[AUDIT_KEY_ID_MAX + 2];
	char			 sigb64[128], msg[AUDIT_CP_MSG_MAX];
	uint8_t			 sig[AUDIT_SIG_LEN];
	uint64_t		 count;
	size_t			 i, siglen, mlen;
	int			 hn, kn, sn;

	hn = audit_json_str(d, audit_json_get(d, 0, "head"), head, sizeof(head));
	kn = audit_json_str(d, audit_json_get(d, 0, "key_id"), key_id,
	    sizeof(key_id));
	sn = audit_json_str(d, audit_json_get(d, 0, "sig"), sigb64,
	    sizeof(sigb64));
	if (hn != AUDIT_HASH_HEX || kn <= 0 || kn > AUDIT_KEY_ID_MAX ||
	    sn <= 0 || sn >= (int)sizeof(sigb64) ||
	    audit_json_u64(d, audit_json_get(d, 0, "count"), &count) < 0)
		return problem(v, file, lineno, "malformed checkpoint");
	if (memcmp(head, al->prev, AUDIT_HASH_HEX) != 0 || count != seq - 1)
		return problem(v, file, lineno, "checkpoint head or count does "
		    "not match the chain before it");
	v->rep->checkpoints++;
	v->rep->last_checkpoint_seq = seq;
	if (v->nkeys == 0)
		return 0;
	for (i = 0; i < v->nkeys; i++)
		if (strcmp(v->keys[i].key_id, key_id) == 0)
			break;
	if (i == v->nkeys)
		return problem(v, file, lineno, "checkpoint signed with key %s, "
		    "which is not among the public keys given", key_id);
	if (sodium_base642bin(sig, sizeof(sig), sigb64, (size_t)sn, NULL,
	    &siglen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    siglen != sizeof(sig))
		return problem(v, file, lineno, "malformed checkpoint signature");
	mlen = audit_cp_message(msg, seq, count, head);
	if (crypto_sign_verify_detached(sig, (const uint8_t *)msg, mlen,
	    v->keys[i].pk) != 0)
		return problem(v, file, lineno, "checkpoint signature does not "
		    "verify with key %s (history before it rewritten, or wrong "
		    "key)", key_id);
	v->rep->signatures_checked++;
	return 0;
}

/* Checks one complete line (without its newline). 0: fine, 1: problem. */
static int
verify_line(struct vstate *v, const char *file, uint64_t lineno,
    const char *line, size_t len)
{
	struct audit_line	 al;
	const char		*why;
	uint8_t			 h[AUDIT_HASH_LEN];
	char			 hx[AUDIT_HASH_HEX + 1];
	int			 type;

	if (audit_line_parse(line, len, &al, &why) < 0)
		return problem(v, file, lineno, "%s", why);
	if (audit_json_parse(&v->doc, line, len) < 0)
		return problem(v, file, lineno, "malformed record (not JSON)");
	audit_hash(line, al.hashed_len, h);
	audit_hex(h, sizeof(h), hx);
	if (memcmp(hx, al.hash, AUDIT_HASH_HEX) != 0)
		return problem(v, file, lineno, "hash mismatch (record edited)");
	if (al.seq != v->expect) {
		if (v->expect == 1)
			return problem(v, file, lineno, "the chain starts at seq "
			    "%" PRIu64 ", not 1 (earlier records or files "
			    "removed)", al.seq);
		return problem(v, file, lineno, "seq %" PRIu64 " where %" PRIu64
		    " was expected (record deleted, reordered or inserted)",
		    al.seq, v->expect);
	}
	if (memcmp(al.prev, v->prev, AUDIT_HASH_HEX) != 0)
		return problem(v, file, lineno, "prev does not match the hash of "
		    "the record before (record deleted, reordered or inserted)");
	type = audit_json_get(&v->doc, 0, "type");
	if (audit_json_streq(&v->doc, type, "checkpoint") &&
	    check_checkpoint(v, file, lineno, al.seq, &al))
		return 1;
	if (v->have_head && al.seq == v->head_seq) {
		if (memcmp(al.hash, v->head_hash, AUDIT_HASH_HEX) != 0)
			return problem(v, file, lineno, "record differs from the "
			    "signed checkpoint kept in HEAD (history rewritten)");
		v->head_found = 1;
	}
	v->expect = al.seq + 1;
	memcpy(v->prev, al.hash, AUDIT_HASH_HEX);
	v->rep->records++;
	v->rep->last_seq = al.seq;
	return 0;
}

/* Reads DIR/HEAD: a copy of a checkpoint line, self-hashed and signed. */
static int
load_head(struct vstate *v, const char *dir)
{
	char			 path[PATH_MAX], *line = NULL;
	size_t			 cap = 0, len;
	ssize_t			 n;
	FILE			*f;
	struct audit_line	 al;
	const char		*why;
	uint8_t			 h[AUDIT_HASH_LEN];
	char			 hx[AUDIT_HASH_HEX + 1];
	int			 rc = 0;

	if (snprintf(path, sizeof(path), "%s/HEAD", dir) >= (int)sizeof(path))
		return 0;
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	n = getline(&line, &cap, f);
	fclose(f);
	len = n > 0 ? (size_t)n : 0;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len == 0 || audit_line_parse(line, len, &al, &why) < 0 ||
	    audit_json_parse(&v->doc, line, len) < 0 ||
	    !audit_json_streq(&v->doc, audit_json_get(&v->doc, 0, "type"),
	    "checkpoint")) {
		rc = problem(v, "HEAD", 0, "not a checkpoint record");
		goto out;
	}
	audit_hash(line, al.hashed_len, h);
	audit_hex(h, sizeof(h), hx);
	if (memcmp(hx, al.hash, AUDIT_HASH_HEX) != 0) {
		rc = problem(v, "HEAD", 0, "hash mismatch (edited)");
		goto out;
	}
	/* the signature of the HEAD copy, checked like the one in the log */
	{
		struct audit_verify_report	save = *v->rep;

		rc = check_checkpoint(v, "HEAD", 0, al.seq, &al);
		if (rc == 0) {
			v->rep->checkpoints = save.checkpoints;
			v->rep->last_checkpoint_seq = save.last_checkpoint_seq;
			v->rep->signatures_checked = save.signatures_checked;
		}
	}
	if (rc == 0) {
		v->have_head = 1;
		v->head_seq = al.seq;
		memcpy(v->head_hash, al.hash, AUDIT_HASH_HEX);
		v->head_hash[AUDIT_HASH_HEX] = '\0';
		v->rep->head_file_seq = al.seq;
	}
out:
	free(line);
	return rc;
}

static int
file_stat_size(const char *dir, unsigned num, struct stat *sb)
{
	char	path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/" AUDIT_FILE_FMT, dir, num) >=
	    (int)sizeof(path))
		return -1;
	return stat(path, sb);
}

static void
progress(uint64_t done, uint64_t total, uint64_t records)
{
	int	pct = total > 0 ? (int)(done * 100 / total) : 100;
	int	bar = pct / 4, i;

	fputs("\rverifying [", stderr);
	for (i = 0; i < 25; i++)
		fputc(i < bar ? '#' : ' ', stderr);
	fprintf(stderr, "] %3d%% %" PRIu64 " records", pct, records);
	fflush(stderr);
}

int
audit_verify(const char *dir, const struct audit_pubkey *keys, size_t nkeys,
    int flags, struct audit_verify_report *rep)
{
	struct vstate	 v;
	unsigned	*nums = NULL;
	int		 n, i, rc = 0, bar = 0;
	char		 path[PATH_MAX], name[AUDIT_FILE_NAME_LEN + 1];
	char		*line = NULL;
	size_t		 cap = 0;
	ssize_t		 len;
	uint64_t	 lineno, total = 0, done = 0, next_bar = 0;
	FILE		*f;
	struct stat	 sb;

	memset(rep, 0, sizeof(*rep));
	memset(&v, 0, sizeof(v));
	rep->intact = 1;
	v.keys = keys;
	v.nkeys = nkeys;
	v.rep = rep;
	v.expect = 1;
	memset(v.prev, '0', AUDIT_HASH_HEX);
	if (sodium_init() < 0 || (n = audit_list_files(dir, &nums)) < 0) {
		snprintf(rep->error, sizeof(rep->error), "%s: %s", dir,
		    strerror(errno));
		rep->intact = 0;
		return -1;
	}
	rep->files = (uint64_t)n;
	if (load_head(&v, dir))
		goto done;
	for (i = 0; i < n; i++)
		if (file_stat_size(dir, nums[i], &sb) == 0)
			total += (uint64_t)sb.st_size;
	bar = (flags & AUDIT_VERIFY_PROGRESS) && isatty(STDERR_FILENO) &&
	    total >= PROGRESS_MIN;
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), AUDIT_FILE_FMT, nums[i]);
		if (i > 0 && nums[i] != nums[i - 1] + 1) {
			problem(&v, name, 0, "audit-%06u.jsonl is missing (file "
			    "removed)", nums[i - 1] + 1);
			goto done;
		}
		if (i == 0 && nums[0] != 1) {
			problem(&v, name, 0, "audit-000001.jsonl is missing (file "
			    "removed)");
			goto done;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if ((f = fopen(path, "re")) == NULL) {
			problem(&v, name, 0, "%s", strerror(errno));
			rc = -1;
			goto done;
		}
		lineno = 0;
		while ((len = getline(&line, &cap, f)) > 0) {
			lineno++;
			done += (uint64_t)len;
			if (line[len - 1] != '\n') {
				/* a torn line: fine only at the very end */
				if (i == n - 1 && fgetc(f) == EOF) {
					snprintf(rep->warning, sizeof(rep->warning),
					    "%s:%" PRIu64 ": torn last line "
					    "ignored (a crash during a write; "
					    "custos cuts it at its next start)",
					    name, lineno);
					break;
				}
				problem(&v, name, lineno, "partial record");
				break;
			}
			if (verify_line(&v, name, lineno, line, (size_t)len - 1))
				break;
			if (bar && done >= next_bar) {
				progress(done, total, rep->records);
				next_bar = done + (1u << 20);
			}
		}
		fclose(f);
		if (!rep->intact)
			goto done;
	}
	if (v.have_head && !v.head_found)
		problem(&v, "HEAD", 0, "names signed checkpoint seq %" PRIu64
		    " but the log ends at seq %" PRIu64 " (signed history "
		    "truncated)", v.head_seq, rep->last_seq);
	else if (!v.have_head && rep->checkpoints > 0 && !rep->warning[0])
		snprintf(rep->warning, sizeof(rep->warning), "no HEAD file: "
		    "truncation of signed history cannot be checked");
	else if (n == 0 && !rep->warning[0])
		snprintf(rep->warning, sizeof(rep->warning), "%s: no audit files",
		    dir);
done:
	if (bar) {
		progress(total, total, rep->records);
		fputc('\n', stderr);
	}
	memcpy(rep->head, v.prev, AUDIT_HASH_HEX);
	rep->head[AUDIT_HASH_HEX] = '\0';
	rep->unsigned_tail = rep->last_seq - rep->last_checkpoint_seq;
	audit_json_reset(&v.doc);
	free(line);
	free(nums);
	if (rc < 0)
		return -1;
	return rep->intact ? 0 : 1;
}
