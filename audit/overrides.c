/* audit/overrides.c — the human override store: a chained JSONL file in
 * the state directory and immutable, reference-counted snapshots for the
 * workers. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/internal.h"

#define OVR_FILE	"overrides.jsonl"
#define OVR_NSTR	12

/* One override, immutable once published (a revocation makes a new one).
 * strs owns every string o points to. */
struct ovr {
	atomic_int		refs;
	struct audit_override	o;
	char			*strs[OVR_NSTR];
};

struct audit_ovr_snap {
	atomic_int	 refs;
	size_t		 n;
	struct ovr	**v;
	int64_t		 live_until;	/* latest expiry not revoked; 0: none */
};

/* mu serialises writers (file, seq, head) and guards cur. */
struct audit_ovr_store {
	pthread_mutex_t		 mu;
	struct audit_ovr_snap	*cur;
	struct audit_sfile	 file;		/* overrides.jsonl */
};

static const char *const ovr_actions[] = {
	"allow", "mask", "redact", "drop", "hash", "tokenize", "encrypt",
	"deny", "reclassify", NULL,
};

int
audit_ovr_action_known(const char *a)
{
	for (size_t i = 0; a != NULL && ovr_actions[i] != NULL; i++)
		if (strcmp(a, ovr_actions[i]) == 0)
			return 1;
	return 0;
}

static void
ovr_unref(struct ovr *v)
{
	size_t	i;

	if (v == NULL || atomic_fetch_sub(&v->refs, 1) != 1)
		return;
	for (i = 0; i < OVR_NSTR; i++)
		free(v->strs[i]);
	free(v);
}

/* A deep copy of <o> (strings duplicated). */
static struct ovr *
ovr_new(const struct audit_override *o)
{
	struct ovr	*v;
	const char	**fields[OVR_NSTR];
	size_t		 i;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	atomic_init(&v->refs, 1);
	v->o = *o;
	fields[0] = &v->o.decision_id;
	fields[1] = &v->o.rule;
	fields[2] = &v->o.route;
	fields[3] = &v->o.path;
	fields[4] = &v->o.class_;
	fields[5] = &v->o.principal;
	fields[6] = &v->o.role;
	fields[7] = &v->o.fingerprint;
	fields[8] = &v->o.action;
	fields[9] = &v->o.reason;
	fields[10] = &v->o.author;
	fields[11] = &v->o.revoked_by;
	for (i = 0; i < OVR_NSTR; i++) {
		if (*fields[i] == NULL)
			continue;
		if ((v->strs[i] = strdup(*fields[i])) == NULL) {
			ovr_unref(v);
			return NULL;
		}
		*fields[i] = v->strs[i];
	}
	return v;
}

void
audit_ovr_release(struct audit_ovr_snap *s)
{
	size_t	i;

	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	for (i = 0; i < s->n; i++)
		ovr_unref(s->v[i]);
	free(s->v);
	free(s);
}

/* A new snapshot: <old>'s overrides (old may be NULL), with index <replace>
 * swapped for <nv> (or <nv> appended when replace == n; nothing when nv is
 * NULL). Takes a reference on each. */
static struct audit_ovr_snap *
snap_with(const struct audit_ovr_snap *old, size_t replace, struct ovr *nv)
{
	struct audit_ovr_snap	*s;
	size_t			 i, n = old != NULL ? old->n : 0;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->v = calloc(n + 1, sizeof(*s->v))) == NULL) {
		free(s);
		return NULL;
	}
	atomic_init(&s->refs, 1);
	for (i = 0; i < n; i++) {
		s->v[i] = i == replace ? nv : old->v[i];
		atomic_fetch_add(&s->v[i]->refs, 1);
	}
	s->n = n;
	if (replace == n && nv != NULL) {
		s->v[s->n++] = nv;
		atomic_fetch_add(&nv->refs, 1);
	}
	for (i = 0; i < s->n; i++)
		if (s->v[i]->o.revoked_ms == 0 &&
		    s->v[i]->o.expires_ms > s->live_until)
			s->live_until = s->v[i]->o.expires_ms;
	return s;
}

int
audit_ovr_record(struct audit_rec *r, const struct audit_override *o,
    const char *op)
{
	char	t[AUDIT_TIME_LEN + 1];

	audit_rec_reset(r);
	audit_rec_str(r, "type", "override");
	audit_rec_str(r, "op", op);
	audit_rec_str(r, "id", o->id);
	if (strcmp(op, "revoke") == 0) {
		audit_ms_format(o->revoked_ms, t);
		audit_rec_str(r, "revoked", t);
		audit_rec_str(r, "revoked_by", o->revoked_by);
		return audit_rec_error(r);
	}
	audit_rec_str(r, "decision_id", o->decision_id);
	audit_rec_obj_open(r, "scope");
	if (o->rule != NULL)
		audit_rec_str(r, "rule", o->rule);
	if (o->route != NULL)
		audit_rec_str(r, "route", o->route);
	if (o->path != NULL)
		audit_rec_str(r, "path", o->path);
	if (o->class_ != NULL)
		audit_rec_str(r, "class", o->class_);
	if (o->principal != NULL)
		audit_rec_str(r, "principal", o->principal);
	if (o->role != NULL)
		audit_rec_str(r, "role", o->role);
	if (o->fingerprint != NULL)
		audit_rec_str(r, "fingerprint", o->fingerprint);
	audit_rec_obj_close(r);
	audit_rec_str(r, "action", o->action);
	audit_rec_str(r, "reason", o->reason);
	audit_rec_str(r, "author", o->author);
	audit_ms_format(o->created_ms, t);
	audit_rec_str(r, "created", t);
	audit_ms_format(o->expires_ms, t);
	audit_rec_str(r, "expires", t);
	if (o->revoked_ms != 0) {
		audit_ms_format(o->revoked_ms, t);
		audit_rec_str(r, "revoked", t);
		audit_rec_str(r, "revoked_by", o->revoked_by);
	}
	return audit_rec_error(r);
}

/* Appends one chained line for <rec> and fsyncs. Called with mu held. */
static int
append(struct audit_ovr_store *st, const struct audit_rec *rec)
{
	const char	*body;
	size_t		 len;

	body = audit_rec_body(rec, &len);
	return audit_sfile_append(&st->file, audit_now_ms(), body, len);
}

static const char *
get_str(const struct ajson_doc *d, int obj, const char *key, char **store)
{
	int	n = audit_json_get(d, obj, key), len;
	char	*s;

	*store = NULL;
	if (n < 0 || d->nodes[n].type != AJ_STR)
		return NULL;
	len = (int)(d->nodes[n].end - d->nodes[n].start);
	if ((s = malloc((size_t)len + 1)) == NULL)
		return NULL;
	audit_json_str(d, n, s, (size_t)len + 1);
	*store = s;
	return s;
}

static int64_t
get_time(const struct ajson_doc *d, int obj, const char *key)
{
	char	t[40];
	int64_t	ms;

	if (audit_json_str(d, audit_json_get(d, obj, key), t, sizeof(t)) <= 0 ||
	    audit_time_parse(t, &ms) < 0)
		return 0;
	return ms;
}

/* Applies one replayed line to the snapshot being built. */
static int
replay(void *arg, const struct ajson_doc *d)
{
	struct audit_ovr_snap	**snap = arg;
	struct audit_override	 o;
	struct audit_ovr_snap	*ns;
	struct ovr		*nv;
	char			*tmp[OVR_NSTR + 2];
	const char		*id, *op;
	int			 scope, rc = -1;
	size_t			 i, k = 0;

	memset(&o, 0, sizeof(o));
	memset(tmp, 0, sizeof(tmp));
	op = get_str(d, 0, "op", &tmp[k++]);
	id = get_str(d, 0, "id", &tmp[k++]);
	if (op == NULL || id == NULL || strlen(id) >= sizeof(o.id))
		goto out;
	if (strcmp(op, "revoke") == 0) {
		for (i = 0; i < (*snap)->n; i++)
			if (strcmp((*snap)->v[i]->o.id, id) == 0)
				break;
		if (i == (*snap)->n)
			goto out;
		o = (*snap)->v[i]->o;
		o.revoked_ms = get_time(d, 0, "revoked");
		o.revoked_by = get_str(d, 0, "revoked_by", &tmp[k++]);
	} else if (strcmp(op, "add") == 0) {
		i = (*snap)->n;
		strcpy(o.id, id);
		scope = audit_json_get(d, 0, "scope");
		o.decision_id = get_str(d, 0, "decision_id", &tmp[k++]);
		o.rule = get_str(d, scope, "rule", &tmp[k++]);
		o.route = get_str(d, scope, "route", &tmp[k++]);
		o.path = get_str(d, scope, "path", &tmp[k++]);
		o.class_ = get_str(d, scope, "class", &tmp[k++]);
		o.principal = get_str(d, scope, "principal", &tmp[k++]);
		o.role = get_str(d, scope, "role", &tmp[k++]);
		o.fingerprint = get_str(d, scope, "fingerprint", &tmp[k++]);
		o.action = get_str(d, 0, "action", &tmp[k++]);
		o.reason = get_str(d, 0, "reason", &tmp[k++]);
		o.author = get_str(d, 0, "author", &tmp[k++]);
		o.created_ms = get_time(d, 0, "created");
		o.expires_ms = get_time(d, 0, "expires");
		if (o.action == NULL || o.reason == NULL)
			goto out;
	} else
		goto out;
	if ((nv = ovr_new(&o)) == NULL)
		goto out;
	ns = snap_with(*snap, i, nv);
	ovr_unref(nv);
	if (ns == NULL)
		goto out;
	audit_ovr_release(*snap);
	*snap = ns;
	rc = 0;
out:
	for (i = 0; i < k; i++)
		free(tmp[i]);
	return rc;
}

struct audit_ovr_store *
audit_ovr_open(const char *state_dir, char *err, size_t errsize)
{
	struct audit_ovr_store	*st;
	char			 path[PATH_MAX];

	if (sodium_init() < 0 || (st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&st->mu, NULL);
	st->file.fd = -1;
	if (snprintf(path, sizeof(path), "%s/" OVR_FILE, state_dir) >=
	    (int)sizeof(path) || (st->cur = snap_with(NULL, 0, NULL)) == NULL) {
		snprintf(err, errsize, "%s: name too long or out of memory",
		    state_dir);
		goto fail;
	}
	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errsize, "%s: %s", state_dir, strerror(errno));
		goto fail;
	}
	if (audit_sfile_open(&st->file, path, "not an override record",
	    replay, &st->cur, err, errsize) < 0)
		goto fail;
	return st;
fail:
	audit_ovr_close(st);
	return NULL;
}

void
audit_ovr_close(struct audit_ovr_store *st)
{
	if (st == NULL)
		return;
	audit_ovr_release(st->cur);
	audit_sfile_close(&st->file);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

struct audit_ovr_snap *
audit_ovr_snapshot(struct audit_ovr_store *st)
{
	struct audit_ovr_snap	*s;

	pthread_mutex_lock(&st->mu);
	s = st->cur;
	atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&st->mu);
	return s;
}

size_t
audit_ovr_count(const struct audit_ovr_snap *s)
{
	return s->n;
}

int64_t
audit_ovr_live_until(const struct audit_ovr_snap *s)
{
	return s->live_until;
}

const struct audit_override *
audit_ovr_at(const struct audit_ovr_snap *s, size_t i)
{
	return i < s->n ? &s->v[i]->o : NULL;
}

/* Writes the change, then publishes <ns>. Called with mu held. */
static int
commit(struct audit_ovr_store *st, const struct audit_override *o,
    const char *op, struct audit_ovr_snap *ns, char *err, size_t errsize)
{
	struct audit_rec	*r;
	int			 rc = -1;

	if ((r = audit_rec_new()) == NULL || audit_ovr_record(r, o, op) < 0) {
		snprintf(err, errsize, "cannot build the record: %s",
		    strerror(errno));
		goto out;
	}
	if (append(st, r) < 0) {
		snprintf(err, errsize, "%s: %s", st->file.path, strerror(errno));
		goto out;
	}
	audit_ovr_release(st->cur);
	st->cur = ns;
	ns = NULL;
	rc = 0;
out:
	audit_ovr_release(ns);
	audit_rec_free(r);
	return rc;
}

int
audit_ovr_add(struct audit_ovr_store *st, const struct audit_override *in,
    char id_out[40], char *err, size_t errsize)
{
	struct audit_override	 o = *in;
	struct audit_ovr_snap	*ns;
	struct ovr		*nv;
	uint8_t			 rnd[8];
	int			 rc;

	if (!audit_ovr_action_known(o.action)) {
		snprintf(err, errsize, "action: one of allow, mask, redact, drop, "
		    "hash, tokenize, encrypt, deny, reclassify");
		errno = EINVAL;
		return -1;
	}
	/* A scope names a value only by its fingerprint: anything else
	 * (a raw address typed by mistake) would reach this file and the
	 * decision log, and never match. */
	if (o.fingerprint != NULL && !audit_or_fp_valid(o.fingerprint)) {
		snprintf(err, errsize, "scope.fingerprint: not a fingerprint "
		    "(%d characters of base64url, as `custos audit fingerprint "
		    "VALUE` prints); never the value itself", AUDIT_OR_FP_LEN);
		errno = EINVAL;
		return -1;
	}
	if (o.reason == NULL || o.reason[strspn(o.reason, " \t\r\n")] == '\0') {
		snprintf(err, errsize, "reason: required");
		errno = EINVAL;
		return -1;
	}
	o.created_ms = audit_now_ms();
	if (o.expires_ms <= o.created_ms) {
		snprintf(err, errsize, "expires: required, in the future");
		errno = EINVAL;
		return -1;
	}
	o.revoked_ms = 0;
	o.revoked_by = NULL;
	randombytes_buf(rnd, sizeof(rnd));
	memcpy(o.id, "ovr-", 4);
	audit_hex(rnd, sizeof(rnd), o.id + 4);
	if ((nv = ovr_new(&o)) == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	pthread_mutex_lock(&st->mu);
	ns = snap_with(st->cur, st->cur->n, nv);
	rc = ns != NULL ? commit(st, &o, "add", ns, err, errsize) : -1;
	pthread_mutex_unlock(&st->mu);
	ovr_unref(nv);
	if (rc == 0 && id_out != NULL)
		memcpy(id_out, o.id, sizeof(o.id));
	return rc;
}

int
audit_ovr_revoke(struct audit_ovr_store *st, const char *id, const char *by,
    char *err, size_t errsize)
{
	struct audit_override	 o;
	struct audit_ovr_snap	*ns;
	struct ovr		*nv;
	size_t			 i;
	int			 rc = -1;

	pthread_mutex_lock(&st->mu);
	for (i = 0; i < st->cur->n; i++)
		if (strcmp(st->cur->v[i]->o.id, id) == 0 &&
		    st->cur->v[i]->o.revoked_ms == 0)
			break;
	if (i == st->cur->n) {
		snprintf(err, errsize, "%s: no such active override", id);
		errno = ENOENT;
		goto out;
	}
	o = st->cur->v[i]->o;
	o.revoked_ms = audit_now_ms();
	o.revoked_by = by;
	if ((nv = ovr_new(&o)) == NULL) {
		snprintf(err, errsize, "out of memory");
		goto out;
	}
	ns = snap_with(st->cur, i, nv);
	ovr_unref(nv);
	rc = ns != NULL ? commit(st, &o, "revoke", ns, err, errsize) : -1;
out:
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* Glob over folded paths: "**" matches anything, '*' a run of characters
 * other than '.' and '[' (one segment), everything else itself. */
static int
path_match(const char *p, const char *s)
{
	if (*p == '\0')
		return *s == '\0';
	if (p[0] == '*' && p[1] == '*') {
		for (;; s++) {
			if (path_match(p + 2, s))
				return 1;
			if (*s == '\0')
				return 0;
		}
	}
	if (*p == '*') {
		for (;; s++) {
			if (path_match(p + 1, s))
				return 1;
			if (*s == '\0' || *s == '.' || *s == '[')
				return 0;
		}
	}
	return *p == *s && path_match(p + 1, s + 1);
}

static int
eq(const char *want, const char *have)
{
	return want == NULL || (have != NULL && strcmp(want, have) == 0);
}

static int
in_list(const char *want, const char *const *v, size_t n)
{
	size_t	i;

	if (want == NULL)
		return 1;
	for (i = 0; i < n; i++)
		if (v[i] != NULL && strcmp(want, v[i]) == 0)
			return 1;
	return 0;
}

const struct audit_override *
audit_ovr_match(const struct audit_ovr_snap *s, const struct audit_ovr_query *q,
    int64_t now_ms)
{
	const struct audit_override	*o;
	size_t				 i;

	for (i = s->n; i-- > 0;) {
		o = &s->v[i]->o;
		if (o->revoked_ms != 0 || o->expires_ms <= now_ms)
			continue;
		if (eq(o->rule, q->rule) && eq(o->route, q->route) &&
		    eq(o->class_, q->class_) && eq(o->principal, q->principal) &&
		    in_list(o->role, q->roles, q->nroles) &&
		    in_list(o->fingerprint, q->fingerprints, q->nfingerprints) &&
		    (o->path == NULL || (q->path != NULL &&
		    path_match(o->path, q->path))))
			return o;
	}
	return NULL;
}
