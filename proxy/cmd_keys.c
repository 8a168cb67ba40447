/* proxy/cmd_keys.c — `custos keys`: create, rotate, retire, list and export
 * keyring keys, and rewrap the tokens of a JSON document after a rotation. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memmem */
#endif
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "keys/keys.h"
#include "policies/errs.h"
#include "proxy/cli.h"
#include "proxy/config.h"

#define REWRAP_MAX_INPUT	((size_t)1 << 30)	/* 1 GiB of JSON */
#define REWRAP_MAX_DEPTH	1024
#define FIELDS_MAX		256

static const char usage_text[] =
"usage: custos keys COMMAND [-c CONFIG | --dir DIR (--master-key-file FILE |\n"
"                   --master-key-env VAR)] [OPTIONS]\n"
"\n"
"Commands:\n"
"  init [--passphrase] [--pwhash interactive|moderate|sensitive]\n"
"                       create a keyring with the keys pii (encrypt), tok\n"
"                       (tokenize), hash, fingerprint (hash) and audit\n"
"                       (audit-sign); creates the master key file if missing\n"
"  new NAME --purpose tokenize|encrypt|hash|audit-sign\n"
"                       add a key\n"
"  rotate NAME          add a version that becomes the writer\n"
"  retire NAME --version N\n"
"                       stop a version from reading\n"
"  list                 keys, purposes, versions, states (no secrets)\n"
"  export-public [NAME] [--version N]\n"
"                       print the audit verification key (default: audit)\n"
"                       as one line: ed25519:KEYID:BASE64URL\n"
"  rewrap [--class CLASS] [--field NAME=CLASS]... [FILE|-]\n"
"                       rewrite every custos token in a JSON document under\n"
"                       the newest version of its key\n"
"\n"
"The keyring comes from the keys section of CONFIG, or from --dir with the\n"
"master key in a file or an environment variable (64 hex characters).\n"
"Run 'custos keys COMMAND --help' for more on one command.\n";

static const struct {
	const char	*name;
	const char	*help;
} sub_help[] = {
	{ "init",
"usage: custos keys init (-c CONFIG | --dir DIR (--master-key-file FILE |\n"
"                        --master-key-env VAR)) [--passphrase]\n"
"                        [--pwhash interactive|moderate|sensitive]\n"
"\n"
"Creates the keyring directory (mode 0700) with the keys pii (encrypt), tok\n"
"(tokenize), hash (hash), fingerprint (hash, for audit fingerprints) and\n"
"audit (audit-sign), each at version 1. When the master key file does not\n"
"exist it is created (mode 0600) with a random key.\n"
"With --passphrase the master key file or variable holds a passphrase\n"
"instead, stretched with Argon2id (cost --pwhash, default moderate: 256 MiB);\n"
"its salt is kept in DIR/master.pwhash. The passphrase must exist already.\n"
"Refuses a directory that already holds a keyring.\n" },
	{ "new",
"usage: custos keys new NAME --purpose tokenize|encrypt|hash|audit-sign\n"
"                       (-c CONFIG | --dir DIR ...)\n"
"\n"
"Adds key NAME (letters, digits, _ and -) at version 1.\n" },
	{ "rotate",
"usage: custos keys rotate NAME (-c CONFIG | --dir DIR ...)\n"
"\n"
"Adds a new version of NAME. New tokens, hashes and signatures use it; older\n"
"active versions still reveal and verify. Restart or reload custos to use\n"
"it. Then `custos keys rewrap` migrates stored tokens.\n" },
	{ "retire",
"usage: custos keys retire NAME --version N (-c CONFIG | --dir DIR ...)\n"
"\n"
"Retires version N of NAME: its tokens no longer reveal (KEYS_E_RETIRED,\n"
"audited by the proxy). The last active version cannot be retired: rotate\n"
"first. Retired audit keys still verify old checkpoints.\n" },
	{ "list",
"usage: custos keys list (-c CONFIG | --dir DIR ...)\n"
"\n"
"One line per key version: key, purpose, KEYID, state, creation time. The\n"
"writer of each key is marked. Never prints secrets.\n" },
	{ "export-public",
"usage: custos keys export-public [NAME] [--version N] (-c CONFIG | --dir DIR ...)\n"
"\n"
"Prints the Ed25519 public key of audit-sign key NAME (default: audit),\n"
"newest active version unless --version, as one line:\n"
"  ed25519:KEYID:BASE64URL\n"
"for `custos audit verify --public-key FILE`.\n" },
	{ "rewrap",
"usage: custos keys rewrap [--class CLASS] [--field NAME=CLASS]...\n"
"                          (-c CONFIG | --dir DIR ...) [FILE|-]\n"
"\n"
"Reads a JSON document (or JSON Lines) and writes it to stdout with every\n"
"custos token (cus:v1:KEYID:...) in a string value re-issued under the\n"
"newest version of its key, the rest byte for byte. Tokens are bound to\n"
"their class, which they do not carry: a token in a member named NAME (or\n"
"in an array under it) uses the class of --field NAME=CLASS, any other uses\n"
"--class. Tokens must appear literally (not \\u-escaped) and end where a\n"
"character outside [A-Za-z0-9_-] follows. If any token fails (no class,\n"
"wrong class, tampered, retired or unknown key), nothing is written and\n"
"the exit status is 1.\n" },
};

struct keys_opts {
	const char		*config;
	const char		*dir;
	const char		*master_file;
	const char		*master_env;
	const char		*purpose;
	const char		*version;
	const char		*pwhash;
	const char		*cls;
	const char		*field_name[FIELDS_MAX];
	const char		*field_cls[FIELDS_MAX];
	size_t			 nfields;
	int			 passphrase;
	int			 help;
	char			**args;		/* positionals after COMMAND */
	int			 nargs;
};

/* Where the keyring is: from the config, or from the options. The strings
 * point into <cfg> or argv. */
struct keys_where {
	const char		*dir;
	struct keys_master_src	 src;
	struct proxy_config	*cfg;
};

static void
where_free(struct keys_where *w)
{
	proxy_config_free(w->cfg);
	w->cfg = NULL;
}

static int
resolve(const struct keys_opts *o, struct keys_where *w)
{
	struct pol_errs	*errs;

	memset(w, 0, sizeof(*w));
	if (o->config != NULL) {
		if (o->dir != NULL || o->master_file != NULL ||
		    o->master_env != NULL) {
			fprintf(stderr, "custos keys: give -c CONFIG or --dir "
			    "with a master key, not both\n");
			return 2;
		}
		if ((errs = pol_errs_new()) == NULL)
			return 1;
		w->cfg = proxy_config_load(o->config, errs);
		if (w->cfg == NULL) {
			pol_errs_print(errs, stderr);
			pol_errs_free(errs);
			return 1;
		}
		pol_errs_free(errs);
		if (w->cfg->keys.dir == NULL) {
			fprintf(stderr, "%s: error: no keys section (keys: {dir: "
			    "..., master_key_file: ...})\n", o->config);
			where_free(w);
			return 1;
		}
		w->dir = w->cfg->keys.dir;
		w->src.file = w->cfg->keys.master_key_file;
		w->src.env = w->cfg->keys.master_key_env;
		if ((w->src.file == NULL) == (w->src.env == NULL)) {
			fprintf(stderr, "%s: error: keys needs exactly one of "
			    "master_key_file and master_key_env\n", o->config);
			where_free(w);
			return 1;
		}
		return 0;
	}
	if (o->dir == NULL || (o->master_file == NULL) ==
	    (o->master_env == NULL)) {
		fprintf(stderr, "custos keys: give -c CONFIG, or --dir DIR with "
		    "one of --master-key-file FILE and --master-key-env VAR\n");
		return 2;
	}
	w->dir = o->dir;
	w->src.file = o->master_file;
	w->src.env = o->master_env;
	return 0;
}

static struct keys_ring *
open_ring(const struct keys_where *w, unsigned flags)
{
	struct pol_errs		*errs = pol_errs_new();
	struct keys_ring	*r;

	if (errs == NULL)
		return NULL;
	if ((r = keys_open(w->dir, &w->src, flags, errs)) == NULL)
		pol_errs_print(errs, stderr);
	pol_errs_free(errs);
	return r;
}

static int
parse_version(const char *s, uint32_t *v)
{
	char		*end;
	unsigned long	 n;

	errno = 0;
	if (s == NULL || *s < '1' || *s > '9')
		return -1;
	n = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || n > UINT32_MAX)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

static int
do_init(const struct keys_opts *o, const struct keys_where *w)
{
	struct keys_init_opts	 io;
	struct pol_errs		*errs;
	int			 rc;

	memset(&io, 0, sizeof(io));
	io.passphrase = o->passphrase;
	if (o->pwhash != NULL) {
		if (strcmp(o->pwhash, "interactive") == 0) {
			io.opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
			io.memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
		} else if (strcmp(o->pwhash, "moderate") == 0) {
			io.opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
			io.memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
		} else if (strcmp(o->pwhash, "sensitive") == 0) {
			io.opslimit = crypto_pwhash_OPSLIMIT_SENSITIVE;
			io.memlimit = crypto_pwhash_MEMLIMIT_SENSITIVE;
		} else {
			fprintf(stderr, "custos keys init: --pwhash must be "
			    "interactive, moderate or sensitive\n");
			return 2;
		}
	}
	if ((errs = pol_errs_new()) == NULL)
		return 1;
	rc = keys_init(w->dir, &w->src, &io, errs);
	pol_errs_print(errs, stderr);
	pol_errs_free(errs);
	if (rc != 0)
		return 1;
	printf("created keyring %s with keys audit, fingerprint, hash, pii, "
	    "tok\n", w->dir);
	return 0;
}

/* new, rotate, retire: one change to a writable ring. */
static int
do_change(const char *cmd, const struct keys_opts *o,
    const struct keys_where *w)
{
	struct keys_ring	*r = NULL;
	struct pol_errs		*errs = NULL;
	enum keys_purpose	 p = KEYS_P_NONE;
	uint32_t		 v = 0;
	int			 rc = 1;

	if (strcmp(cmd, "new") == 0 && (o->purpose == NULL ||
	    (p = keys_purpose_parse(o->purpose)) == KEYS_P_NONE)) {
		fprintf(stderr, "custos keys new: --purpose must be tokenize, "
		    "encrypt, hash or audit-sign\n");
		return 2;
	}
	if (strcmp(cmd, "retire") == 0 && parse_version(o->version, &v) != 0) {
		fprintf(stderr, "custos keys retire: --version N (a version "
		    "number, see `custos keys list`) is required\n");
		return 2;
	}
	if ((r = open_ring(w, KEYS_OPEN_WRITE)) == NULL ||
	    (errs = pol_errs_new()) == NULL)
		goto done;
	if (strcmp(cmd, "new") == 0) {
		if (keys_new(r, o->args[0], p, errs) != 0)
			goto done;
		printf("%s.1 created (%s)\n", o->args[0], keys_purpose_name(p));
	} else if (strcmp(cmd, "rotate") == 0) {
		if (keys_rotate(r, o->args[0], &v, errs) != 0)
			goto done;
		printf("%s.%u is now the writer of %s\n", o->args[0], v,
		    o->args[0]);
	} else {
		if (keys_retire(r, o->args[0], v, errs) != 0)
			goto done;
		printf("%s.%u retired\n", o->args[0], v);
	}
	rc = 0;
done:
	pol_errs_print(errs, stderr);
	pol_errs_free(errs);
	keys_close(r);
	return rc;
}

static int
do_list(const struct keys_where *w)
{
	struct keys_ring		*r;
	struct keys_version_info	 info;
	struct tm			 tm;
	char				 when[32];

	if ((r = open_ring(w, 0)) == NULL)
		return 1;
	printf("%-16s %-10s %-20s %-16s %s\n", "KEY", "PURPOSE", "VERSION",
	    "STATE", "CREATED");
	for (size_t i = 0; i < keys_count(r); i++) {
		const struct keys_key	*k = keys_at(r, i);

		for (uint32_t v = 1; v <= keys_nversions(k); v++) {
			if (keys_version_info(k, v, &info) != 0)
				continue;
			gmtime_r(&info.created, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			printf("%-16s %-10s %-20s %-16s %s\n", keys_name(k),
			    keys_purpose_name(keys_purpose(k)), info.id,
			    info.state == KEYS_V_RETIRED ? "retired" :
			    v == keys_writer_version(k) ? "active (writer)" :
			    "active", when);
		}
	}
	keys_close(r);
	return 0;
}

static int
do_export(const struct keys_opts *o, const struct keys_where *w)
{
	struct keys_ring	*r;
	const struct keys_key	*k;
	const char		*name = o->nargs > 0 ? o->args[0] : "audit";
	char			 line[KEYS_PUBLIC_MAX];
	uint32_t		 v = 0;
	int			 rc = 1;

	if (o->version != NULL && parse_version(o->version, &v) != 0) {
		fprintf(stderr, "custos keys export-public: bad --version\n");
		return 2;
	}
	if ((r = open_ring(w, 0)) == NULL)
		return 1;
	if ((k = keys_find(r, name)) == NULL)
		fprintf(stderr, "custos keys export-public: no key named %s\n",
		    name);
	else if (keys_purpose(k) != KEYS_P_AUDIT_SIGN)
		fprintf(stderr, "custos keys export-public: %s has purpose %s, "
		    "not audit-sign\n", name, keys_purpose_name(keys_purpose(k)));
	else if (keys_export_public(r, k, v, line, sizeof(line)) != 0)
		fprintf(stderr, "custos keys export-public: %s has no version "
		    "%u\n", name, v);
	else {
		printf("%s\n", line);
		rc = 0;
	}
	keys_close(r);
	return rc;
}

/* Rewrap. */

struct buf {
	char	*p;
	size_t	 len, cap;
};

static int
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n > b->cap - b->len) {
		size_t	 cap = b->cap ? b->cap : 65536;
		char	*np;

		while (cap - b->len < n)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static int
read_all(FILE *f, struct buf *b)
{
	char	 chunk[65536];
	size_t	 n;

	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b->len + n > REWRAP_MAX_INPUT || buf_add(b, chunk, n) != 0)
			return -1;
	}
	return ferror(f) ? -1 : 0;
}

static int
b64url(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* A container the scanner is inside: for objects, the last member name
 * seen (raw bytes of the JSON key) and whether a key comes next. */
struct frame {
	char		 type;		/* '{' or '[' */
	int		 expect_key;
	const char	*key;
	size_t		 keylen;
};

struct rewrap {
	const struct keys_opts	*o;
	struct keys_ring	*ring;
	struct buf		 out;
	size_t			 rewrapped, current, failed;
	char			*tok;		/* scratch for one token */
	size_t			 tokcap;
};

/* The member a string value at the top of <st> belongs to: the nearest
 * enclosing object member (values in arrays belong to the array's member).
 * Returns 0 and "$" for a value outside any member. */
static int
member_of(const struct frame *st, size_t depth, const char **key, size_t *len)
{
	for (size_t d = depth; d > 0; d--)
		if (st[d - 1].type == '{' && st[d - 1].key != NULL) {
			*key = st[d - 1].key;
			*len = st[d - 1].keylen;
			return 1;
		}
	*key = "$";
	*len = 1;
	return 0;
}

/* The class for tokens in member <key>: --field NAME=CLASS, else --class. */
static const char *
class_for(const struct rewrap *rw, int member, const char *key, size_t len)
{
	const struct keys_opts	*o = rw->o;

	for (size_t i = 0; member && i < o->nfields; i++)
		if (strlen(o->field_name[i]) == len &&
		    memcmp(o->field_name[i], key, len) == 0)
			return o->field_cls[i];
	return o->cls;
}

/* Copies the raw string body [s, e) to the output, rewrapping tokens. */
static int
rewrap_string(struct rewrap *rw, const char *s, const char *e,
    const char *cls, const char *where, size_t wherelen, size_t offset)
{
	const char	*p = s, *t;
	size_t		 len, outlen;
	int		 changed;

	while (p < e) {
		t = memmem(p, (size_t)(e - p), KEYS_TOKEN_PREFIX,
		    sizeof(KEYS_TOKEN_PREFIX) - 1);
		if (t == NULL)
			break;
		if (buf_add(&rw->out, p, (size_t)(t - p)) != 0)
			return -1;
		/* KEYID is [A-Za-z0-9_-]+ "." digits, then ":" and base64url. */
		len = sizeof(KEYS_TOKEN_PREFIX) - 1;
		while (t + len < e && (b64url((unsigned char)t[len]) ||
		    t[len] == '.'))
			len++;
		if (t + len < e && t[len] == ':') {
			len++;
			while (t + len < e && b64url((unsigned char)t[len]))
				len++;
		}
		if (cls == NULL) {
			fprintf(stderr, "rewrap: byte %zu: token in member "
			    "\"%.*s\" has no class: add --field %.*s=CLASS or "
			    "--class CLASS\n", offset + (size_t)(t - s),
			    (int)wherelen, where, (int)wherelen, where);
			rw->failed++;
		} else {
			enum keys_status	 ks;

			if (rw->tokcap < len + 256) {
				free(rw->tok);
				rw->tokcap = len + 256;
				if ((rw->tok = malloc(rw->tokcap)) == NULL)
					return -1;
			}
			ks = keys_rewrap(rw->ring, cls, t, len, rw->tok,
			    rw->tokcap, &outlen, &changed);
			if (ks != KEYS_OK) {
				fprintf(stderr, "rewrap: byte %zu: token in "
				    "member \"%.*s\" (class %s): %s\n",
				    offset + (size_t)(t - s), (int)wherelen,
				    where, cls, keys_strerror(ks));
				rw->failed++;
			} else {
				if (changed)
					rw->rewrapped++;
				else
					rw->current++;
				if (buf_add(&rw->out, rw->tok, outlen) != 0)
					return -1;
				p = t + len;
				continue;
			}
		}
		if (buf_add(&rw->out, t, len) != 0)
			return -1;
		p = t + len;
	}
	return buf_add(&rw->out, p, (size_t)(e - p));
}

/*
 * Walks the document byte by byte. It does not validate JSON (the proxy's
 * rewriter does that); it only needs to know where strings are, which of
 * them are member names, and the member each value belongs to.
 */
static int
rewrap_scan(struct rewrap *rw, const char *in, size_t n)
{
	struct frame	*st;
	size_t		 depth = 0, i = 0;
	int		 rc = -1;

	if ((st = calloc(REWRAP_MAX_DEPTH, sizeof(*st))) == NULL)
		return -1;
	while (i < n) {
		char	 c = in[i];

		if (c == '"') {
			size_t	 j = i + 1;

			while (j < n && in[j] != '"')
				j += in[j] == '\\' ? 2 : 1;
			if (j >= n) {
				fprintf(stderr, "rewrap: byte %zu: unterminated "
				    "string\n", i);
				goto done;
			}
			if (depth > 0 && st[depth - 1].type == '{' &&
			    st[depth - 1].expect_key) {
				st[depth - 1].key = in + i + 1;
				st[depth - 1].keylen = j - i - 1;
				st[depth - 1].expect_key = 0;
				if (buf_add(&rw->out, in + i, j + 1 - i) != 0)
					goto done;
			} else {
				const char	*where;
				size_t		 wl;
				int		 m = member_of(st, depth, &where, &wl);

				if (buf_add(&rw->out, "\"", 1) != 0 ||
				    rewrap_string(rw, in + i + 1, in + j,
				    class_for(rw, m, where, wl), where, wl,
				    i + 1) != 0 || buf_add(&rw->out, "\"", 1) != 0)
					goto done;
			}
			i = j + 1;
			continue;
		}
		if (c == '{' || c == '[') {
			if (depth == REWRAP_MAX_DEPTH) {
				fprintf(stderr, "rewrap: byte %zu: nested too "
				    "deep\n", i);
				goto done;
			}
			st[depth].type = c;
			st[depth].expect_key = c == '{';
			st[depth].key = NULL;
			st[depth].keylen = 0;
			depth++;
		} else if ((c == '}' || c == ']') && depth > 0)
			depth--;
		else if (c == ',' && depth > 0 && st[depth - 1].type == '{')
			st[depth - 1].expect_key = 1;
		if (buf_add(&rw->out, &c, 1) != 0)
			goto done;
		i++;
	}
	if (depth != 0) {
		fprintf(stderr, "rewrap: the document ends inside an object or "
		    "array (truncated?)\n");
		goto done;
	}
	rc = 0;
done:
	free(st);
	return rc;
}

static int
do_rewrap(const struct keys_opts *o, const struct keys_where *w)
{
	struct rewrap	 rw;
	struct buf	 in = { NULL, 0, 0 };
	FILE		*f = stdin;
	const char	*path = o->nargs > 0 ? o->args[0] : "-";
	int		 rc = 1;

	memset(&rw, 0, sizeof(rw));
	rw.o = o;
	if (strcmp(path, "-") != 0 && (f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "custos keys rewrap: %s: %s\n", path,
		    strerror(errno));
		return 1;
	}
	if (read_all(f, &in) != 0) {
		fprintf(stderr, "custos keys rewrap: %s: cannot read (or larger "
		    "than 1 GiB)\n", path);
		goto done;
	}
	if ((rw.ring = open_ring(w, 0)) == NULL)
		goto done;
	if (rewrap_scan(&rw, in.p ? in.p : "", in.len) != 0)
		goto done;
	if (rw.failed > 0) {
		fprintf(stderr, "rewrap: %zu token(s) failed; nothing written\n",
		    rw.failed);
		goto done;
	}
	if (rw.out.len > 0 && fwrite(rw.out.p, 1, rw.out.len, stdout) !=
	    rw.out.len) {
		fprintf(stderr, "custos keys rewrap: cannot write: %s\n",
		    strerror(errno));
		goto done;
	}
	if (fflush(stdout) != 0)
		goto done;
	fprintf(stderr, "rewrap: %zu token(s) rewrapped, %zu already current\n",
	    rw.rewrapped, rw.current);
	rc = 0;
done:
	if (f != stdin)
		fclose(f);
	keys_close(rw.ring);
	free(rw.tok);
	/* The output holds the document's tokens only, no plaintext; the
	 * input likewise. */
	free(rw.out.p);
	free(in.p);
	return rc;
}

static const char *
find_help(const char *cmd)
{
	for (size_t i = 0; i < sizeof(sub_help) / sizeof(*sub_help); i++)
		if (strcmp(sub_help[i].name, cmd) == 0)
			return sub_help[i].help;
	return NULL;
}

int
cmd_keys(int argc, char **argv)
{
	enum { O_DIR = 256, O_MFILE, O_MENV, O_PURPOSE, O_VERSION, O_PASS,
	    O_PWHASH, O_CLASS, O_FIELD };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "dir", required_argument, NULL, O_DIR },
		{ "master-key-file", required_argument, NULL, O_MFILE },
		{ "master-key-env", required_argument, NULL, O_MENV },
		{ "purpose", required_argument, NULL, O_PURPOSE },
		{ "version", required_argument, NULL, O_VERSION },
		{ "passphrase", no_argument, NULL, O_PASS },
		{ "pwhash", required_argument, NULL, O_PWHASH },
		{ "class", required_argument, NULL, O_CLASS },
		{ "field", required_argument, NULL, O_FIELD },
		{ NULL, 0, NULL, 0 },
	};
	struct keys_opts	 o;
	struct keys_where	 w;
	const char		*cmd, *help;
	char			*eq;
	int			 ch, rc, want_args;

	memset(&o, 0, sizeof(o));
	optind = 1;
	opterr = 1;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o.config = optarg;
			break;
		case 'h':
			o.help = 1;
			break;
		case O_DIR:
			o.dir = optarg;
			break;
		case O_MFILE:
			o.master_file = optarg;
			break;
		case O_MENV:
			o.master_env = optarg;
			break;
		case O_PURPOSE:
			o.purpose = optarg;
			break;
		case O_VERSION:
			o.version = optarg;
			break;
		case O_PASS:
			o.passphrase = 1;
			break;
		case O_PWHASH:
			o.pwhash = optarg;
			break;
		case O_CLASS:
			o.cls = optarg;
			break;
		case O_FIELD:
			if ((eq = strchr(optarg, '=')) == NULL || eq == optarg ||
			    eq[1] == '\0' || o.nfields == FIELDS_MAX) {
				fprintf(stderr, "custos keys: --field NAME=CLASS\n");
				return 2;
			}
			*eq = '\0';
			o.field_name[o.nfields] = optarg;
			o.field_cls[o.nfields++] = eq + 1;
			break;
		default:
			fprintf(stderr, "%s", usage_text);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(o.help ? stdout : stderr, "%s", usage_text);
		return o.help ? 0 : 2;
	}
	cmd = argv[optind];
	o.args = argv + optind + 1;
	o.nargs = argc - optind - 1;
	if ((help = find_help(cmd)) == NULL) {
		fprintf(stderr, "custos keys: unknown command %s\n\n%s", cmd,
		    usage_text);
		return 2;
	}
	if (o.help) {
		printf("%s", help);
		return 0;
	}

	/* Which options and how many arguments each command takes. */
	want_args = strcmp(cmd, "new") == 0 || strcmp(cmd, "rotate") == 0 ||
	    strcmp(cmd, "retire") == 0;
	if ((want_args && o.nargs != 1) ||
	    ((strcmp(cmd, "init") == 0 || strcmp(cmd, "list") == 0) &&
	    o.nargs != 0) || o.nargs > 1 ||
	    (o.purpose != NULL && strcmp(cmd, "new") != 0) ||
	    (o.version != NULL && strcmp(cmd, "retire") != 0 &&
	    strcmp(cmd, "export-public") != 0) ||
	    ((o.passphrase || o.pwhash != NULL) && strcmp(cmd, "init") != 0) ||
	    ((o.cls != NULL || o.nfields > 0) && strcmp(cmd, "rewrap") != 0)) {
		fprintf(stderr, "%s", help);
		return 2;
	}
	if ((rc = resolve(&o, &w)) != 0)
		return rc;
	if (strcmp(cmd, "init") == 0)
		rc = do_init(&o, &w);
	else if (strcmp(cmd, "list") == 0)
		rc = do_list(&w);
	else if (strcmp(cmd, "export-public") == 0)
		rc = do_export(&o, &w);
	else if (strcmp(cmd, "rewrap") == 0)
		rc = do_rewrap(&o, &w);
	else
		rc = do_change(cmd, &o, &w);
	where_free(&w);
	return rc;
}
