/* keys/ring.c — the keyring on disk: the master key, sealed key files,
 * opening, creating, rotating and retiring keys. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf, open_memstream, strptime, timegm */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "keys/internal.h"
#include "policies/errs.h"

#define B64V		sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define KEYFILE_MAX	(1024 * 1024)	/* a key file is a few hundred bytes */
#define MASTER_MAX	4096		/* a master key file or passphrase */
#define VERSIONS_MAX	100000
#define PWHASH_FILE	"master.pwhash"
#define SEALED_BYTES	(KEYS_NONCE_BYTES + KEYS_SECRET_BYTES + KEYS_TAG_BYTES)
#define MAC_BYTES	32

static const char *const purpose_names[] = {
	[KEYS_P_TOKENIZE] = "tokenize",
	[KEYS_P_ENCRYPT] = "encrypt",
	[KEYS_P_HASH] = "hash",
	[KEYS_P_AUDIT_SIGN] = "audit-sign",
};

const char *
keys_purpose_name(enum keys_purpose p)
{
	if ((int)p < KEYS_P_TOKENIZE || (int)p > KEYS_P_AUDIT_SIGN)
		return NULL;
	return purpose_names[p];
}

enum keys_purpose
keys_purpose_parse(const char *s)
{
	for (int p = KEYS_P_TOKENIZE; s != NULL && p <= KEYS_P_AUDIT_SIGN; p++)
		if (strcmp(s, purpose_names[p]) == 0)
			return (enum keys_purpose)p;
	return KEYS_P_NONE;
}

int
keys_name_valid(const char *name)
{
	size_t	 i;

	if (name == NULL)
		return 0;
	for (i = 0; name[i] != '\0'; i++)
		if (!keys_namech((unsigned char)name[i]) || i >= KEYS_NAME_MAX)
			return 0;
	return i > 0;
}

/* Accessors. */

const struct keys_key *
keys_find(const struct keys_ring *r, const char *name)
{
	for (size_t i = 0; r != NULL && name != NULL && i < r->n; i++)
		if (strcmp(r->keys[i]->name, name) == 0)
			return r->keys[i];
	return NULL;
}

size_t
keys_count(const struct keys_ring *r)
{
	return r ? r->n : 0;
}

const struct keys_key *
keys_at(const struct keys_ring *r, size_t i)
{
	return r != NULL && i < r->n ? r->keys[i] : NULL;
}

const char *
keys_name(const struct keys_key *k)
{
	return k ? k->name : NULL;
}

enum keys_purpose
keys_purpose(const struct keys_key *k)
{
	return k ? k->purpose : KEYS_P_NONE;
}

size_t
keys_nversions(const struct keys_key *k)
{
	return k ? k->nv : 0;
}

uint32_t
keys_writer_version(const struct keys_key *k)
{
	return k ? k->writer : 0;
}

int
keys_version_info(const struct keys_key *k, uint32_t number,
    struct keys_version_info *info)
{
	const struct keys_version	*v;

	if ((v = keys_version_get(k, number)) == NULL)
		return -1;
	info->number = v->number;
	info->created = v->created;
	info->state = v->state;
	info->id = v->id;
	return 0;
}

/* Files. */

static char *
path_join(const char *dir, const char *name)
{
	char	*p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

/* Refuses a file (or, with dir set, a directory) that group or others may
 * access: secrets must be private to the account that runs custos. */
static int
check_private(const char *path, const struct stat *st, int dir,
    struct pol_errs *errs)
{
	if (dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode)) {
		pol_errs_add(errs, POL_ERROR, path, 0, 0, "not a %s",
		    dir ? "directory" : "regular file");
		return -1;
	}
	if ((st->st_mode & 077) != 0) {
		pol_errs_add(errs, POL_ERROR, path, 0, 0,
		    "mode %04o lets group or others access it; fix: chmod %s %s",
		    (unsigned)(st->st_mode & 07777), dir ? "700" : "600", path);
		return -1;
	}
	return 0;
}

/*
 * Reads a private file of at most <max> bytes into <buf> (which the caller
 * sized max + 1 and must wipe if it holds a secret); NUL-terminates it.
 * Returns its length, or -1 (the reason in errs). With missing_ok, a missing
 * file returns -2 and adds nothing.
 */
static ssize_t
read_private(const char *path, char *buf, size_t max, int missing_ok,
    struct pol_errs *errs)
{
	struct stat	 st;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT && missing_ok)
			return -2;
		pol_errs_add(errs, POL_ERROR, path, 0, 0, "cannot open: %s",
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		pol_errs_add(errs, POL_ERROR, path, 0, 0, "cannot stat: %s",
		    strerror(errno));
		goto fail;
	}
	if (check_private(path, &st, 0, errs) != 0)
		goto fail;
	if ((size_t)st.st_size > max) {
		pol_errs_add(errs, POL_ERROR, path, 0, 0,
		    "too large (%lld bytes, at most %zu)", (long long)st.st_size,
		    max);
		goto fail;
	}
	while (len < max) {
		if ((n = read(fd, buf + len, max - len)) == -1) {
			if (errno == EINTR)
				continue;
			pol_errs_add(errs, POL_ERROR, path, 0, 0,
			    "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	return (ssize_t)len;
fail:
	close(fd);
	return -1;
}

static int
fsync_dir(const char *dir)
{
	int	 fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Writes <len> bytes to <path> atomically: a private temporary file in the
 * same directory, fsync, rename over the target, fsync of the directory. */
static int
write_atomic(const char *dir, const char *path, const char *tmpname,
    const void *data, size_t len, struct pol_errs *errs)
{
	const char	*p = data;
	char		*tmp = NULL;
	ssize_t		 n;
	int		 fd = -1;

	if ((tmp = path_join(dir, tmpname)) == NULL)
		goto nomem;
	(void)unlink(tmp);	/* a leftover of an interrupted run */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1)
		goto ioerr;
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto ioerr;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1)
		goto ioerr;
	if (close(fd) == -1) {
		fd = -1;
		goto ioerr;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto ioerr;
	if (fsync_dir(dir) == -1)
		goto ioerr;
	free(tmp);
	return 0;
ioerr:
	pol_errs_add(errs, POL_ERROR, path, 0, 0, "cannot write: %s",
	    strerror(errno));
	if (fd != -1)
		close(fd);
	if (tmp != NULL)
		(void)unlink(tmp);
	free(tmp);
	return -1;
nomem:
	pol_errs_add(errs, POL_ERROR, path, 0, 0, "out of memory");
	return -1;
}

/* mkdir -p with mode 0700 for what it creates. */
static int
mkdirs(const char *path, struct pol_errs *errs)
{
	char	*p;
	char	 c;
	size_t	 i;
	int	 rc = 0;

	if (*path == '\0') {
		pol_errs_add(errs, POL_ERROR, "keys", 0, 0, "empty directory name");
		return -1;
	}
	if ((p = strdup(path)) == NULL)
		return -1;
	/* Each prefix that ends before a '/' (or at the end), in order. */
	for (i = 1; rc == 0; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		c = p[i];
		p[i] = '\0';
		if (mkdir(p, 0700) == -1 && errno != EEXIST) {
			pol_errs_add(errs, POL_ERROR, p, 0, 0,
			    "cannot create directory: %s", strerror(errno));
			rc = -1;
		}
		p[i] = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

/* The master key. */

/* Strips trailing CR and LF. */
static size_t
chomp(const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	return len;
}

/*
 * Reads DIR/master.pwhash when there is one: *have = 1 and the parameters.
 * Returns 0 (also when absent), -1 on a malformed file.
 */
static int
pwhash_load(const char *dir, int *have, unsigned long long *ops, size_t *mem,
    uint8_t salt[crypto_pwhash_SALTBYTES], struct pol_errs *errs)
{
	char			 buf[512], hex[67];	/* %66s below */
	char			*path;
	unsigned long long	 o, m;
	size_t			 bin;
	ssize_t			 n;
	int			 rc = -1;

	*have = 0;
	if ((path = path_join(dir, PWHASH_FILE)) == NULL)
		return -1;
	if ((n = read_private(path, buf, sizeof(buf) - 1, 1, errs)) == -2) {
		rc = 0;
		goto done;
	}
	if (n < 0)
		goto done;
	if (sscanf(buf, "argon2id13 %llu %llu %66s", &o, &m, hex) != 3 ||
	    strlen(hex) != 2 * crypto_pwhash_SALTBYTES ||
	    sodium_hex2bin(salt, crypto_pwhash_SALTBYTES, hex, strlen(hex),
	    NULL, &bin, NULL) != 0 || bin != crypto_pwhash_SALTBYTES ||
	    o < crypto_pwhash_OPSLIMIT_MIN || o > crypto_pwhash_OPSLIMIT_MAX ||
	    m < crypto_pwhash_MEMLIMIT_MIN || m > ((unsigned long long)4 << 30)) {
		pol_errs_add(errs, POL_ERROR, path, 1, 1,
		    "expected \"argon2id13 OPSLIMIT MEMLIMIT SALT_HEX\" with "
		    "sane limits");
		goto done;
	}
	*have = 1;
	*ops = o;
	*mem = (size_t)m;
	rc = 0;
done:
	free(path);
	return rc;
}

/*
 * Loads the 32-byte master key from <src> (and DIR/master.pwhash) into
 * <out>, which must be sodium_malloc memory. Every intermediate copy is
 * wiped. Returns 0 or -1.
 */
static int
master_load(const char *dir, const struct keys_master_src *src, uint8_t *out,
    struct pol_errs *errs)
{
	uint8_t			 salt[crypto_pwhash_SALTBYTES];
	unsigned long long	 ops = 0;
	size_t			 mem = 0, len, bin;
	const char		*what, *env;
	char			*buf;
	ssize_t			 n;
	int			 pw, rc = -1;

	if (src == NULL || (src->file == NULL) == (src->env == NULL)) {
		pol_errs_add(errs, POL_ERROR, dir, 0, 0,
		    "give the master key as a file or an environment variable");
		return -1;
	}
	if (pwhash_load(dir, &pw, &ops, &mem, salt, errs) != 0)
		return -1;
	if ((buf = sodium_malloc(MASTER_MAX + 1)) == NULL)
		return -1;
	if (src->file != NULL) {
		what = src->file;
		if ((n = read_private(src->file, buf, MASTER_MAX, 0, errs)) < 0)
			goto done;
		len = (size_t)n;
	} else {
		what = src->env;
		if ((env = getenv(src->env)) == NULL || *env == '\0') {
			pol_errs_add(errs, POL_ERROR, "master key", 0, 0,
			    "environment variable %s is not set", src->env);
			goto done;
		}
		if ((len = strlen(env)) > MASTER_MAX) {
			pol_errs_add(errs, POL_ERROR, "master key", 0, 0,
			    "environment variable %s is too long", src->env);
			goto done;
		}
		memcpy(buf, env, len);
	}

	if (pw) {
		len = chomp(buf, len);
		if (len == 0) {
			pol_errs_add(errs, POL_ERROR, what, 0, 0,
			    "the master passphrase is empty");
			goto done;
		}
		if (crypto_pwhash(out, 32, buf, len, salt, ops, mem,
		    crypto_pwhash_ALG_ARGON2ID13) != 0) {
			pol_errs_add(errs, POL_ERROR, what, 0, 0,
			    "cannot derive the master key (out of memory?)");
			goto done;
		}
		rc = 0;
		goto done;
	}
	if (src->file != NULL && len == 32) {
		memcpy(out, buf, 32);
		rc = 0;
		goto done;
	}
	len = chomp(buf, len);
	if (len != 64 || sodium_hex2bin(out, 32, buf, len, NULL, &bin,
	    NULL) != 0 || bin != 32) {
		pol_errs_add(errs, POL_ERROR, what, 0, 0, "the master key must be "
		    "%s64 hexadecimal characters", src->file ? "32 raw bytes or " :
		    "");
		goto done;
	}
	rc = 0;
done:
	sodium_free(buf);	/* wipes */
	return rc;
}

/* Derives the sealing and file MAC keys into r->mk. */
static int
ring_keys_from_master(struct keys_ring *r, const uint8_t *master)
{
	return crypto_kdf_derive_from_key(KEYS_MK_SEAL(r), 32, 1, "cus-ring",
	    master) | crypto_kdf_derive_from_key(KEYS_MK_MAC(r), 32, 2,
	    "cus-ring", master);
}

/* Key files. */

static void
version_ad(const struct keys_key *k, const struct keys_version *v, char *ad,
    size_t adlen)
{
	snprintf(ad, adlen, "%s:%s", v->id, keys_purpose_name(k->purpose));
}

static void
key_free(struct keys_key *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->nv; i++) {
		keys_secret_free(k->v[i].sec);
		free(k->v[i].sealed);
	}
	free(k->v);
	free(k);
}

static void
set_writer(struct keys_key *k)
{
	k->writer = 0;
	for (size_t i = k->nv; i > 0; i--)
		if (k->v[i - 1].state == KEYS_V_ACTIVE) {
			k->writer = k->v[i - 1].number;
			break;
		}
}

/* Opens the sealed secret of version <v>; on success sets v->sec (active
 * versions) and v->pk (audit-sign). */
static int
unseal(const struct keys_ring *r, const struct keys_key *k,
    struct keys_version *v, const char *path, size_t line,
    struct pol_errs *errs)
{
	uint8_t			 bin[SEALED_BYTES], raw[KEYS_SECRET_BYTES];
	uint8_t			 sk[crypto_sign_SECRETKEYBYTES];
	char			 ad[KEYS_ID_MAX + 16];
	size_t			 binlen;
	int			 rc = -1;

	if (sodium_base642bin(bin, sizeof(bin), v->sealed, strlen(v->sealed),
	    NULL, &binlen, NULL, B64V) != 0 || binlen != sizeof(bin)) {
		pol_errs_add(errs, POL_ERROR, path, line, 1,
		    "version %u: malformed sealed secret", v->number);
		return -1;
	}
	version_ad(k, v, ad, sizeof(ad));
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(raw, NULL, NULL,
	    bin + KEYS_NONCE_BYTES, SEALED_BYTES - KEYS_NONCE_BYTES,
	    (const uint8_t *)ad, strlen(ad), bin, KEYS_MK_SEAL(r)) != 0) {
		pol_errs_add(errs, POL_ERROR, path, line, 1,
		    "version %u: cannot unseal (wrong master key, or the secret "
		    "was moved from another key)", v->number);
		return -1;
	}
	if (v->state == KEYS_V_ACTIVE) {
		if ((v->sec = keys_secret_new(k->purpose, raw, v->pk)) == NULL) {
			pol_errs_add(errs, POL_ERROR, path, line, 1,
			    "version %u: out of secure memory", v->number);
			goto done;
		}
	} else if (k->purpose == KEYS_P_AUDIT_SIGN) {
		/* Retired signing keys still verify old checkpoints. */
		if (crypto_sign_seed_keypair(v->pk, sk, raw) != 0)
			goto done;
	}
	rc = 0;
done:
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

static int
parse_time(const char *s, time_t *t)
{
	struct tm	 tm;
	const char	*e;

	memset(&tm, 0, sizeof(tm));
	if ((e = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL || *e != '\0')
		return -1;
	*t = timegm(&tm);
	return 0;
}

/* Splits the next line off *p (up to end); returns it NUL-terminated. */
static char *
next_line(char **p, char *end)
{
	char	*s = *p, *nl;

	if (s >= end)
		return NULL;
	if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
		nl = end;
	*nl = '\0';
	*p = nl + 1;
	return s;
}

/*
 * Parses and authenticates key file <path> (whose name is <name>.key).
 * Returns the key, or NULL with every problem in errs.
 */
static struct keys_key *
key_load(const struct keys_ring *r, const char *path, const char *name,
    struct pol_errs *errs)
{
	struct keys_key	*k = NULL;
	uint8_t		 mac[MAC_BYTES], want[MAC_BYTES];
	char		*buf = NULL, *p, *end, *line, *macline, state[16];
	char		 created[32], sealed[128], word[80];
	size_t		 lineno = 0, bin, maclen;
	ssize_t		 n;
	unsigned long	 num;
	int		 field = 0, bad = 0;

	if ((buf = malloc(KEYFILE_MAX + 1)) == NULL)
		goto nomem;
	if ((n = read_private(path, buf, KEYFILE_MAX, 0, errs)) < 0)
		goto fail;

	/* The mac line is the last one; it covers every byte before it. */
	end = buf + n;
	for (macline = NULL, p = buf; p < end; p++)
		if ((p == buf || p[-1] == '\n') && end - p > 4 &&
		    memcmp(p, "mac ", 4) == 0)
			macline = p;
	if (macline == NULL) {
		pol_errs_add(errs, POL_ERROR, path, 0, 0,
		    "not a custos key file (no mac line)");
		goto fail;
	}
	maclen = chomp(macline + 4, (size_t)(end - macline - 4));
	if (sodium_base642bin(mac, sizeof(mac), macline + 4, maclen, NULL, &bin,
	    NULL, B64V) != 0 || bin != sizeof(mac) ||
	    crypto_generichash(want, sizeof(want), (const uint8_t *)buf,
	    (size_t)(macline - buf), KEYS_MK_MAC(r), 32) != 0 ||
	    sodium_memcmp(mac, want, sizeof(mac)) != 0) {
		pol_errs_add(errs, POL_ERROR, path, 0, 0, "fails its integrity "
		    "check: sealed under another master key, or edited");
		goto fail;
	}

	if ((k = calloc(1, sizeof(*k))) == NULL)
		goto nomem;
	p = buf;
	end = macline;
	while ((line = next_line(&p, end)) != NULL) {
		lineno++;
		if (*line == '\0' || *line == '#')
			continue;
		if (field == 0) {
			if (strcmp(line, "custos-key v1") != 0)
				goto syntax;
			field = 1;
		} else if (field == 1) {
			if (sscanf(line, "name %79s", word) != 1 ||
			    strcmp(word, name) != 0 || !keys_name_valid(word)) {
				pol_errs_add(errs, POL_ERROR, path, lineno, 1,
				    "expected \"name %s\" (the file name)", name);
				goto fail;
			}
			k->namelen = strlen(word);	/* <= KEYS_NAME_MAX */
			memcpy(k->name, word, k->namelen + 1);
			field = 2;
		} else if (field == 2) {
			if (sscanf(line, "purpose %79s", word) != 1 ||
			    (k->purpose = keys_purpose_parse(word)) == KEYS_P_NONE) {
				pol_errs_add(errs, POL_ERROR, path, lineno, 1,
				    "expected \"purpose tokenize|encrypt|hash|"
				    "audit-sign\"");
				goto fail;
			}
			field = 3;
		} else {
			struct keys_version	*v, *nv;

			if (sscanf(line, "version %lu %15s %31s %127s", &num, state,
			    created, sealed) != 4)
				goto syntax;
			if (num != k->nv + 1 || k->nv >= VERSIONS_MAX) {
				pol_errs_add(errs, POL_ERROR, path, lineno, 1,
				    "expected version %zu", k->nv + 1);
				goto fail;
			}
			if ((nv = reallocarray(k->v, k->nv + 1, sizeof(*nv))) ==
			    NULL)
				goto nomem;
			k->v = nv;
			v = &k->v[k->nv++];
			memset(v, 0, sizeof(*v));
			v->number = (uint32_t)num;
			snprintf(v->id, sizeof(v->id), "%s.%u", k->name, v->number);
			if (strcmp(state, "active") == 0)
				v->state = KEYS_V_ACTIVE;
			else if (strcmp(state, "retired") == 0)
				v->state = KEYS_V_RETIRED;
			else {
				pol_errs_add(errs, POL_ERROR, path, lineno, 1,
				    "version %lu: state must be active or retired",
				    num);
				goto fail;
			}
			if (parse_time(created, &v->created) != 0) {
				pol_errs_add(errs, POL_ERROR, path, lineno, 1,
				    "version %lu: bad creation time", num);
				goto fail;
			}
			if ((v->sealed = strdup(sealed)) == NULL)
				goto nomem;
			if (unseal(r, k, v, path, lineno, errs) != 0)
				bad = 1;
		}
	}
	if (field < 3 || k->nv == 0) {
		pol_errs_add(errs, POL_ERROR, path, lineno, 1,
		    "truncated: no key version");
		goto fail;
	}
	if (bad)
		goto fail;
	set_writer(k);
	free(buf);
	return k;
syntax:
	pol_errs_add(errs, POL_ERROR, path, lineno, 1, "malformed line");
	goto fail;
nomem:
	pol_errs_add(errs, POL_ERROR, path, 0, 0, "out of memory");
fail:
	free(buf);
	key_free(k);
	return NULL;
}

/* The text of <k>'s key file, mac line included; malloc'ed. */
static char *
key_text(const struct keys_ring *r, const struct keys_key *k)
{
	uint8_t		 mac[MAC_BYTES];
	char		 b64[sodium_base64_ENCODED_LEN(MAC_BYTES, B64V)];
	char		 when[32];
	char		*s = NULL;
	size_t		 len = 0;
	FILE		*f;
	struct tm	 tm;

	if ((f = open_memstream(&s, &len)) == NULL)
		return NULL;
	fprintf(f, "# custos key file: secrets are sealed under the master "
	    "key; change it only with `custos keys`\n");
	fprintf(f, "custos-key v1\nname %s\npurpose %s\n", k->name,
	    keys_purpose_name(k->purpose));
	for (size_t i = 0; i < k->nv; i++) {
		gmtime_r(&k->v[i].created, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(f, "version %u %s %s %s\n", k->v[i].number,
		    k->v[i].state == KEYS_V_ACTIVE ? "active" : "retired", when,
		    k->v[i].sealed);
	}
	if (fflush(f) != 0 || ferror(f)) {
		fclose(f);
		free(s);
		return NULL;
	}
	crypto_generichash(mac, sizeof(mac), (const uint8_t *)s, len,
	    KEYS_MK_MAC(r), 32);
	sodium_bin2base64(b64, sizeof(b64), mac, sizeof(mac), B64V);
	fprintf(f, "mac %s\n", b64);
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

static int
key_write(const struct keys_ring *r, const struct keys_key *k,
    struct pol_errs *errs)
{
	char	*text = NULL, *path = NULL, tmpname[KEYS_NAME_MAX + 16];
	int	 rc = -1;

	snprintf(tmpname, sizeof(tmpname), ".%s.key.tmp", k->name);
	if ((text = key_text(r, k)) == NULL ||
	    asprintf(&path, "%s/%s.key", r->dir, k->name) < 0) {
		path = NULL;
		pol_errs_add(errs, POL_ERROR, r->dir, 0, 0, "out of memory");
		goto done;
	}
	rc = write_atomic(r->dir, path, tmpname, text, strlen(text), errs);
done:
	free(text);
	free(path);
	return rc;
}

/* Appends a fresh version (random secret, sealed) to <k> in memory. */
static int
version_add(struct keys_ring *r, struct keys_key *k, struct pol_errs *errs)
{
	struct keys_version	*nv, *v = NULL;
	uint8_t			*raw = NULL, bin[SEALED_BYTES];
	char			 ad[KEYS_ID_MAX + 16];
	int			 rc = -1;

	if (k->nv >= VERSIONS_MAX) {
		pol_errs_add(errs, POL_ERROR, k->name, 0, 0, "too many versions");
		return -1;
	}
	if ((nv = reallocarray(k->v, k->nv + 1, sizeof(*nv))) == NULL)
		goto nomem;
	k->v = nv;
	v = &k->v[k->nv];
	memset(v, 0, sizeof(*v));
	v->number = (uint32_t)k->nv + 1;
	v->created = time(NULL);
	v->state = KEYS_V_ACTIVE;
	snprintf(v->id, sizeof(v->id), "%s.%u", k->name, v->number);
	if ((raw = sodium_malloc(KEYS_SECRET_BYTES)) == NULL)
		goto nomem;
	randombytes_buf(raw, KEYS_SECRET_BYTES);
	randombytes_buf(bin, KEYS_NONCE_BYTES);
	version_ad(k, v, ad, sizeof(ad));
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(bin + KEYS_NONCE_BYTES,
	    NULL, raw, KEYS_SECRET_BYTES, (const uint8_t *)ad, strlen(ad), NULL,
	    bin, KEYS_MK_SEAL(r)) != 0)
		goto nomem;
	if ((v->sealed = malloc(sodium_base64_ENCODED_LEN(SEALED_BYTES,
	    B64V))) == NULL)
		goto nomem;
	sodium_bin2base64(v->sealed, sodium_base64_ENCODED_LEN(SEALED_BYTES,
	    B64V), bin, sizeof(bin), B64V);
	if ((v->sec = keys_secret_new(k->purpose, raw, v->pk)) == NULL)
		goto nomem;
	k->nv++;
	rc = 0;
	goto done;
nomem:
	pol_errs_add(errs, POL_ERROR, k->name, 0, 0, "out of (secure) memory");
	if (v != NULL) {
		free(v->sealed);
		v->sealed = NULL;
	}
done:
	sodium_free(raw);
	return rc;
}

static void
pick_special(struct keys_ring *r)
{
	const struct keys_key	*k, *only = NULL;
	size_t			 nsign = 0;

	k = keys_find(r, "fingerprint");
	r->fp = k != NULL && k->purpose == KEYS_P_HASH ? k : NULL;
	for (size_t i = 0; i < r->n; i++)
		if (r->keys[i]->purpose == KEYS_P_AUDIT_SIGN) {
			only = r->keys[i];
			nsign++;
		}
	k = keys_find(r, "audit");
	if (k != NULL && k->purpose == KEYS_P_AUDIT_SIGN)
		r->audit = k;
	else
		r->audit = nsign == 1 ? only : NULL;
}

static int
key_cmp(const void *a, const void *b)
{
	const struct keys_key *const	*x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int
ring_add(struct keys_ring *r, struct keys_key *k)
{
	struct keys_key	**nk;

	if ((nk = reallocarray(r->keys, r->n + 1, sizeof(*nk))) == NULL)
		return -1;
	r->keys = nk;
	r->keys[r->n++] = k;
	qsort(r->keys, r->n, sizeof(*r->keys), key_cmp);
	pick_special(r);
	return 0;
}

/* Opening and closing. */

/*
 * The master key file may live in the keyring directory and may even be
 * called NAME.key; it is recognised by its inode rather than its name, and
 * never read as a key file.
 */
static int
is_master(DIR *d, const char *name, const struct stat *mst)
{
	struct stat	 st;

	return mst != NULL && fstatat(dirfd(d), name, &st, 0) == 0 &&
	    st.st_dev == mst->st_dev && st.st_ino == mst->st_ino;
}

static const struct stat *
master_stat(const struct keys_master_src *src, struct stat *st)
{
	if (src == NULL || src->file == NULL || stat(src->file, st) != 0)
		return NULL;
	return st;
}

void
keys_close(struct keys_ring *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		key_free(r->keys[i]);
	free(r->keys);
	sodium_free(r->mk);
	free(r->dir);
	free(r);
}

struct keys_ring *
keys_open(const char *dir, const struct keys_master_src *master,
    unsigned flags, struct pol_errs *errs)
{
	struct keys_ring	*r = NULL;
	struct keys_key		*k;
	struct dirent		*de;
	struct stat		 st, mstbuf;
	const struct stat	*mst;
	uint8_t			*mkey = NULL;
	char			*path = NULL, name[KEYS_NAME_MAX + 1];
	DIR			*d = NULL;
	size_t			 len;
	int			 bad = 0;

	if (sodium_init() < 0) {
		pol_errs_add(errs, POL_ERROR, dir, 0, 0, "libsodium failed to "
		    "initialise");
		return NULL;
	}
	if (dir == NULL) {
		pol_errs_add(errs, POL_ERROR, "keys", 0, 0, "no keyring directory");
		return NULL;
	}
	if (stat(dir, &st) == -1) {
		pol_errs_add(errs, POL_ERROR, dir, 0, 0, "cannot open keyring: %s%s",
		    strerror(errno), errno == ENOENT ? " (create one with "
		    "`custos keys init`)" : "");
		return NULL;
	}
	if (check_private(dir, &st, 1, errs) != 0)
		return NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->dir = strdup(dir)) ==
	    NULL || (r->mk = sodium_malloc(64)) == NULL ||
	    (mkey = sodium_malloc(32)) == NULL)
		goto nomem;
	randombytes_buf(&r->serial, sizeof(r->serial));
	r->serial |= 1;
	if (master_load(dir, master, mkey, errs) != 0)
		goto fail;
	if (ring_keys_from_master(r, mkey) != 0)
		goto fail;
	sodium_free(mkey);
	mkey = NULL;

	mst = master_stat(master, &mstbuf);
	if ((d = opendir(dir)) == NULL) {
		pol_errs_add(errs, POL_ERROR, dir, 0, 0, "cannot read: %s",
		    strerror(errno));
		goto fail;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 5 ||
		    strcmp(de->d_name + len - 4, ".key") != 0 ||
		    is_master(d, de->d_name, mst))
			continue;
		free(path);
		if ((path = path_join(dir, de->d_name)) == NULL)
			goto nomem;
		if (len - 4 > KEYS_NAME_MAX) {
			pol_errs_add(errs, POL_ERROR, path, 0, 0,
			    "key name too long");
			bad = 1;
			continue;
		}
		memcpy(name, de->d_name, len - 4);
		name[len - 4] = '\0';
		if (!keys_name_valid(name)) {
			pol_errs_add(errs, POL_ERROR, path, 0, 0, "invalid key "
			    "name (letters, digits, _ and - only)");
			bad = 1;
			continue;
		}
		if ((k = key_load(r, path, name, errs)) == NULL) {
			bad = 1;
			continue;
		}
		if (ring_add(r, k) != 0) {
			key_free(k);
			goto nomem;
		}
	}
	closedir(d);
	d = NULL;
	free(path);
	path = NULL;
	if (bad)
		goto fail;
	if (!(flags & KEYS_OPEN_WRITE)) {
		/* A server ring never writes: drop what derives from the
		 * master key. */
		sodium_free(r->mk);
		r->mk = NULL;
	}
	return r;
nomem:
	pol_errs_add(errs, POL_ERROR, dir, 0, 0, "out of (secure) memory");
fail:
	if (d != NULL)
		closedir(d);
	free(path);
	sodium_free(mkey);
	keys_close(r);
	return NULL;
}

/* Changing a ring (command line). */

static int
need_write(struct keys_ring *r, struct pol_errs *errs)
{
	if (r == NULL || r->mk == NULL) {
		pol_errs_add(errs, POL_ERROR, r ? r->dir : "keys", 0, 0,
		    "keyring was opened read-only");
		return -1;
	}
	return 0;
}

int
keys_new(struct keys_ring *r, const char *name, enum keys_purpose purpose,
    struct pol_errs *errs)
{
	struct keys_key	*k = NULL;

	if (need_write(r, errs) != 0)
		return -1;
	if (!keys_name_valid(name)) {
		pol_errs_add(errs, POL_ERROR, r->dir, 0, 0, "invalid key name "
		    "(1 to %d letters, digits, _ and -)", KEYS_NAME_MAX);
		return -1;
	}
	if (keys_purpose_name(purpose) == NULL) {
		pol_errs_add(errs, POL_ERROR, r->dir, 0, 0, "invalid purpose");
		return -1;
	}
	if (keys_find(r, name) != NULL) {
		pol_errs_add(errs, POL_ERROR, r->dir, 0, 0, "key %s already exists",
		    name);
		return -1;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		pol_errs_add(errs, POL_ERROR, r->dir, 0, 0, "out of memory");
		return -1;
	}
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->namelen = strlen(k->name);
	k->purpose = purpose;
	if (version_add(r, k, errs) != 0 || key_write(r, k, errs) != 0)
		goto fail;
	set_writer(k);
	if (ring_add(r, k) != 0) {
		pol_errs_add(errs, POL_ERROR, r->dir, 0, 0, "out of memory");
		goto fail;
	}
	return 0;
fail:
	key_free(k);
	return -1;
}

static struct keys_key *
find_mut(struct keys_ring *r, const char *name, struct pol_errs *errs)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->keys[i]->name, name) == 0)
			return r->keys[i];
	pol_errs_add(errs, POL_ERROR, r->dir, 0, 0, "no key named %s", name);
	return NULL;
}

int
keys_rotate(struct keys_ring *r, const char *name, uint32_t *version,
    struct pol_errs *errs)
{
	struct keys_key	*k;

	if (need_write(r, errs) != 0 || (k = find_mut(r, name, errs)) == NULL)
		return -1;
	if (version_add(r, k, errs) != 0)
		return -1;
	if (key_write(r, k, errs) != 0) {
		k->nv--;
		keys_secret_free(k->v[k->nv].sec);
		free(k->v[k->nv].sealed);
		return -1;
	}
	set_writer(k);
	if (version != NULL)
		*version = k->writer;
	return 0;
}

int
keys_retire(struct keys_ring *r, const char *name, uint32_t version,
    struct pol_errs *errs)
{
	struct keys_key		*k;
	struct keys_version	*v;
	size_t			 nactive = 0;

	if (need_write(r, errs) != 0 || (k = find_mut(r, name, errs)) == NULL)
		return -1;
	if ((v = keys_version_get(k, version)) == NULL) {
		pol_errs_add(errs, POL_ERROR, r->dir, 0, 0,
		    "key %s has no version %u", name, version);
		return -1;
	}
	if (v->state == KEYS_V_RETIRED)
		return 0;
	for (size_t i = 0; i < k->nv; i++)
		nactive += k->v[i].state == KEYS_V_ACTIVE;
	if (nactive <= 1) {
		pol_errs_add(errs, POL_ERROR, r->dir, 0, 0, "%s is the last "
		    "active version of key %s; rotate first (custos keys rotate "
		    "%s)", v->id, name, name);
		return -1;
	}
	v->state = KEYS_V_RETIRED;
	if (key_write(r, k, errs) != 0) {
		v->state = KEYS_V_ACTIVE;
		return -1;
	}
	keys_secret_free(v->sec);
	v->sec = NULL;
	set_writer(k);
	return 0;
}

/* Creating a keyring. */

static int
master_create(const char *file, struct pol_errs *errs)
{
	uint8_t	*key = NULL;
	char	*hex = NULL, *dir = NULL, *slash, tmpname[64];
	int	 rc = -1;

	if ((dir = strdup(file)) == NULL)
		goto done;
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if (*dir != '\0' && mkdirs(dir, errs) != 0)
			goto done;
		if (*dir == '\0')
			strcpy(dir, "/");
	} else
		strcpy(dir, ".");
	if ((key = sodium_malloc(32)) == NULL || (hex = sodium_malloc(66)) ==
	    NULL)
		goto done;
	randombytes_buf(key, 32);
	sodium_bin2hex(hex, 65, key, 32);
	hex[64] = '\n';
	snprintf(tmpname, sizeof(tmpname), ".master.tmp.%ld", (long)getpid());
	rc = write_atomic(dir, file, tmpname, hex, 65, errs);
done:
	sodium_free(key);
	sodium_free(hex);
	free(dir);
	return rc;
}

static int
pwhash_create(const char *dir, const struct keys_init_opts *o,
    struct pol_errs *errs)
{
	uint8_t			 salt[crypto_pwhash_SALTBYTES];
	char			 hex[2 * crypto_pwhash_SALTBYTES + 1], text[256];
	char			*path;
	unsigned long long	 ops = o->opslimit;
	size_t			 mem = o->memlimit;
	int			 rc;

	if (ops == 0)
		ops = crypto_pwhash_OPSLIMIT_MODERATE;
	if (mem == 0)
		mem = crypto_pwhash_MEMLIMIT_MODERATE;
	randombytes_buf(salt, sizeof(salt));
	sodium_bin2hex(hex, sizeof(hex), salt, sizeof(salt));
	snprintf(text, sizeof(text), "argon2id13 %llu %zu %s\n", ops, mem, hex);
	if ((path = path_join(dir, PWHASH_FILE)) == NULL)
		return -1;
	rc = write_atomic(dir, path, "." PWHASH_FILE ".tmp", text, strlen(text),
	    errs);
	free(path);
	return rc;
}

int
keys_init(const char *dir, const struct keys_master_src *master,
    const struct keys_init_opts *opts, struct pol_errs *errs)
{
	static const struct {
		const char		*name;
		enum keys_purpose	 purpose;
	} defaults[] = {
		{ "pii", KEYS_P_ENCRYPT },
		{ "tok", KEYS_P_TOKENIZE },
		{ "hash", KEYS_P_HASH },
		{ "fingerprint", KEYS_P_HASH },
		{ "audit", KEYS_P_AUDIT_SIGN },
	};
	struct keys_init_opts	 none = { 0, 0, 0 };
	struct keys_ring	*r = NULL;
	struct dirent		*de;
	struct stat		 st, mstbuf;
	const struct stat	*mst;
	DIR			*d;
	size_t			 len;
	int			 rc = -1;

	if (opts == NULL)
		opts = &none;
	if (sodium_init() < 0 || dir == NULL || master == NULL ||
	    (master->file == NULL) == (master->env == NULL)) {
		pol_errs_add(errs, POL_ERROR, dir ? dir : "keys", 0, 0,
		    "need a keyring directory and one master key source");
		return -1;
	}
	if (mkdirs(dir, errs) != 0)
		return -1;
	if ((d = opendir(dir)) == NULL) {
		pol_errs_add(errs, POL_ERROR, dir, 0, 0, "cannot read: %s",
		    strerror(errno));
		return -1;
	}
	mst = master_stat(master, &mstbuf);
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if ((len > 4 && strcmp(de->d_name + len - 4, ".key") == 0 &&
		    de->d_name[0] != '.' && !is_master(d, de->d_name, mst)) ||
		    strcmp(de->d_name, PWHASH_FILE) == 0) {
			pol_errs_add(errs, POL_ERROR, dir, 0, 0, "already holds a "
			    "keyring (%s); refusing to overwrite it", de->d_name);
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	/* Made by us or by someone else: it must be private either way. */
	if (stat(dir, &st) == 0 && (st.st_mode & 077) != 0 &&
	    chmod(dir, 0700) == -1) {
		pol_errs_add(errs, POL_ERROR, dir, 0, 0, "cannot chmod 700: %s",
		    strerror(errno));
		return -1;
	}

	if (opts->passphrase) {
		if (master->file != NULL && access(master->file, F_OK) != 0) {
			pol_errs_add(errs, POL_ERROR, master->file, 0, 0,
			    "passphrase file does not exist");
			return -1;
		}
		if (pwhash_create(dir, opts, errs) != 0)
			return -1;
	} else if (master->file != NULL && access(master->file, F_OK) != 0) {
		if (master_create(master->file, errs) != 0)
			return -1;
	}

	if ((r = keys_open(dir, master, KEYS_OPEN_WRITE, errs)) == NULL)
		goto done;
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (keys_new(r, defaults[i].name, defaults[i].purpose, errs) != 0)
			goto done;
	rc = 0;
done:
	keys_close(r);
	return rc;
}
