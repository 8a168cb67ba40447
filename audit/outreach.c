/* audit/outreach.c — the outreach state store: per-recipient send times in a
 * sharded table (cooling-off limits), their binary journal, and the chained
 * opt-out file. Formats and guarantees: audit/audit.h, "outreach state". */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/internal.h"

#define OR_JOURNAL	"outreach.journal"
#define OR_OPTOUTS	"optouts.jsonl"
#define OR_LOCK		"outreach.lock"
#define OR_MAGIC	"custosor"
#define OR_VERSION	1
#define OR_REC		16			/* bytes per journal record */
#define OR_UNDO		0x80000000u		/* tag bit: a give-back */
#define OR_NSHARDS	64
#define OR_SHARD_SHIFT	58			/* top 6 bits of a key */
#define OR_MIN_CAP	64			/* slots per shard at open */
#define OR_PEND_MIN	256			/* journal records per shard */
#define OR_PEND_MAX	(64u * 1024)
#define OR_COMPACT_MIN	(1u << 20)		/* bytes */
#define OR_DEFAULT_MAX	((size_t)16 << 20)	/* recipients */
#define OR_NAME_MAX	63
#define OR_CHUNK	4096			/* records per replay read */

/*
 * A layout, immutable once built. An entry of the table is
 *
 *	uint64_t key;  uint32_t t[sum over scopes of (ring + 1)];  padding
 *
 * esize bytes, a multiple of 8 so every key is aligned. Scope s owns
 * t[off[s]] .. t[off[s] + ring[s]], newest first, 0 for unused. Keeping the
 * times sorted makes a limit check one comparison: <max> sends are within
 * the window iff the max-th newest is. The slot past the ring keeps the
 * send a take() pushed out, so that give_back() restores the ring exactly;
 * for the usual {"*", 3} it costs nothing (8 + 4 * 3 = 20 rounds up to 24
 * anyway).
 */
struct or_layout {
	size_t		 n;
	size_t		 esize;
	unsigned	 ring[AUDIT_OR_MAX_SCOPES];
	unsigned	 off[AUDIT_OR_MAX_SCOPES];
	uint32_t	 tag[AUDIT_OR_MAX_SCOPES];
	char		 name[AUDIT_OR_MAX_SCOPES][OR_NAME_MAX + 1];
};

/*
 * One shard: an open-addressing table with linear probing, key 0 marking an
 * empty slot, deletion by backward shift (no tombstones), load kept at or
 * under 3/4. Everything here is guarded by mu, lay included: a layout
 * change swaps it with every shard locked. Aligned to a cache line so two
 * workers on two shards do not share one.
 */
struct or_shard {
	_Alignas(64) pthread_mutex_t	 mu;
	const struct or_layout		*lay;
	uint8_t				*tab;
	size_t				 cap;		/* slots, a power of two */
	size_t				 used;		/* occupied, dead included */
	size_t				 ntimes;	/* non-zero times */
	uint8_t				*pend;		/* journal records */
	size_t				 npend, pendcap;
};

/* One opt-out; key 0: empty slot. */
struct or_opt {
	uint64_t	key;
	int64_t		since_ms;
	char		fp[AUDIT_OR_FP_LEN + 1];
	char		source[16];
};

/*
 * The store. The shards are the only state take() touches; the journal
 * fields are the main thread's, serialised by jmu (flush, layout, close).
 * Opt-out changes are serialised by omu, which also guards the file; the
 * set itself is read under olock and written under both.
 *
 * Cache lines: every take() reads the first one (written about once a
 * second, when clock moves); live, written for every new recipient, has a
 * line of its own, so that it does not evict the first from other cores.
 */
struct audit_outreach {
	struct or_shard		*sh;
	size_t			 max;
	int			 journaling;	/* a state dir: records kept */
	atomic_uint		 horizon;	/* longest window seen, s */
	atomic_uint		 clock;		/* latest now_s seen */

	_Alignas(64) atomic_size_t live;	/* occupied entries, all shards */

	_Alignas(64) atomic_uint swept_at;	/* now_s of the last full sweep */
	atomic_int		 need_rewrite;
	atomic_uint_fast64_t	 write_errors, rewrites, full;
	atomic_uint_fast64_t	 jsize;		/* journal bytes */
	struct or_layout	*lay;		/* every shard's, owned here */
	pthread_mutex_t		 jmu;
	char			*dir, *jpath;
	int			 jfd, lockfd;
	uint32_t		 hdr_horizon;	/* in the journal's header */
	uint8_t			*spare;		/* flush's swap buffer */
	size_t			 sparecap;
	uint8_t			*wbuf;		/* rewrite's staging buffer */
	size_t			 wcap;

	pthread_mutex_t		 omu;
	pthread_rwlock_t	 olock;
	struct or_opt		*opt;
	size_t			 ocap, on;
	struct audit_sfile	 ofile;		/* optouts.jsonl; fd -1: memory only */
};

/* ------------------------------------------------------------- helpers */

static void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void
put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t
get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* MurmurHash3's 64-bit finaliser: a bijection that spreads every bit. */
static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

int
audit_or_fp_valid(const char *fp)
{
	size_t		i;
	unsigned char	c;

	if (fp == NULL)
		return 0;
	for (i = 0; i < AUDIT_OR_FP_LEN; i++) {
		c = (unsigned char)fp[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return fp[AUDIT_OR_FP_LEN] == '\0';
}

/*
 * The 64-bit table key of a valid fingerprint (part of the journal format:
 * never change it without a journal version). The characters are read as
 * little-endian words w0 (0-7), w1 (8-15), w2 (16-21) and chained through
 * bijections, so two fingerprints that differ in one word never collide and
 * others collide with probability 2^-64. Fingerprints are uniformly random,
 * but tests and benchmarks use counters: the mixing keeps those spread too.
 * The key picks the shard (top 6 bits) and the slot (low bits).
 */
static uint64_t
fp_key(const char *fp)
{
	const uint8_t	*p = (const uint8_t *)fp;
	uint64_t	 w2, k;

	w2 = (uint64_t)get_le32(p + 16) | (uint64_t)p[20] << 32 |
	    (uint64_t)p[21] << 40;
	k = mix64(get_le64(p) ^ mix64(get_le64(p + 8) ^
	    mix64(w2 ^ 0x6f75747265616368ULL)));
	return k != 0 ? k : 1;
}

/* FNV-1a, top bit cleared (it marks give-backs in the journal). */
static uint32_t
name_tag(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h & ~OR_UNDO;
}

static int
time_ok(int64_t now_s)
{
	return now_s >= 1 && now_s <= (int64_t)UINT32_MAX;
}

static void
atomic_max_u32(atomic_uint *a, uint32_t v)
{
	unsigned	cur = atomic_load_explicit(a, memory_order_relaxed);

	while (v > cur && !atomic_compare_exchange_weak_explicit(a, &cur, v,
	    memory_order_relaxed, memory_order_relaxed))
		;
}

/* -------------------------------------------------------------- layout */

static struct or_layout *
layout_new(const struct audit_or_scope *sc, size_t n, char *err,
    size_t errsize)
{
	struct or_layout	*l;
	size_t			 i, j, words = 0;

	if (n < 1 || n > AUDIT_OR_MAX_SCOPES || sc == NULL) {
		snprintf(err, errsize, "outreach layout: 1 to %d scopes",
		    AUDIT_OR_MAX_SCOPES);
		goto inval;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	l->n = n;
	for (i = 0; i < n; i++) {
		if (sc[i].name == NULL || sc[i].name[0] == '\0' ||
		    strlen(sc[i].name) > OR_NAME_MAX) {
			snprintf(err, errsize, "outreach scope %zu: a name "
			    "of 1 to %d bytes", i, OR_NAME_MAX);
			goto bad;
		}
		if (sc[i].ring < 1 || sc[i].ring > AUDIT_OR_MAX_RING) {
			snprintf(err, errsize, "outreach scope %s: ring 1 "
			    "to %d", sc[i].name, AUDIT_OR_MAX_RING);
			goto bad;
		}
		strcpy(l->name[i], sc[i].name);
		l->ring[i] = sc[i].ring;
		l->off[i] = (unsigned)words;
		l->tag[i] = name_tag(sc[i].name);
		words += sc[i].ring + 1;
		for (j = 0; j < i; j++) {
			if (strcmp(l->name[j], l->name[i]) == 0) {
				snprintf(err, errsize, "outreach scope %s: "
				    "defined twice", l->name[i]);
				goto bad;
			}
			if (l->tag[j] == l->tag[i]) {
				/* the journal names scopes by this hash */
				snprintf(err, errsize, "outreach scopes %s and "
				    "%s: their name hashes collide, rename one",
				    l->name[j], l->name[i]);
				goto bad;
			}
		}
	}
	l->esize = (8 + 4 * words + 7) & ~(size_t)7;
	return l;
bad:
	free(l);
inval:
	errno = EINVAL;
	return NULL;
}

static int
layout_find(const struct or_layout *l, uint32_t tag)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		if (l->tag[i] == tag)
			return (int)i;
	return -1;
}

/* --------------------------------------------------------------- rings */

/* Inserts t into a sorted (newest first) ring of n slots, dropping the
 * oldest when full. Returns 1 when an empty slot was filled. */
static int
ring_add(uint32_t *r, unsigned n, uint32_t t)
{
	unsigned	i, j;
	int		grew = r[n - 1] == 0;

	for (i = 0; i < n && r[i] > t; i++)
		;
	if (i == n)
		return 0;	/* older than everything kept */
	for (j = n - 1; j > i; j--)
		r[j] = r[j - 1];
	r[i] = t;
	return grew;
}

/* Removes one t (non-zero). Returns 1 when found. */
static int
ring_del(uint32_t *r, unsigned n, uint32_t t)
{
	unsigned	i;

	for (i = 0; i < n && r[i] != t; i++)
		;
	if (i == n)
		return 0;
	for (; i + 1 < n; i++)
		r[i] = r[i + 1];
	r[n - 1] = 0;
	return 1;
}

/* ------------------------------------------------------------- entries */

static uint8_t *
slot(const struct or_shard *sh, size_t i)
{
	return sh->tab + i * sh->lay->esize;
}

static uint64_t
slot_key(const struct or_shard *sh, size_t i)
{
	return *(const uint64_t *)(const void *)slot(sh, i);
}

static uint32_t *
times(const struct or_layout *l, uint8_t *e, size_t scope)
{
	return (uint32_t *)(void *)(e + 8) + l->off[scope];
}

static uint32_t
entry_newest(const struct or_layout *l, uint8_t *e)
{
	uint32_t	t, newest = 0;
	size_t		s;

	for (s = 0; s < l->n; s++)
		if ((t = times(l, e, s)[0]) > newest)
			newest = t;
	return newest;
}

static size_t
entry_ntimes(const struct or_layout *l, uint8_t *e)
{
	const uint32_t	*t = (const uint32_t *)(const void *)(e + 8);
	size_t		 i, n = 0, words = (l->esize - 8) / 4;

	for (i = 0; i < words; i++)
		n += t[i] != 0;
	return n;
}

/* Not live: no send, or the newest is out of every window at <now>. With
 * no window known yet (horizon 0) only empty entries are dead. */
static int
entry_dead(const struct or_layout *l, uint8_t *e, int64_t now,
    uint32_t horizon)
{
	uint32_t	newest = entry_newest(l, e);

	return newest == 0 ||
	    (horizon != 0 && (int64_t)newest + (int64_t)horizon <= now);
}

/* The slot holding <key>, or the empty slot that ends its probe run. */
static size_t
shard_find(const struct or_shard *sh, uint64_t key)
{
	size_t		mask = sh->cap - 1, i = key & mask;
	uint64_t	k;

	while ((k = slot_key(sh, i)) != key && k != 0)
		i = (i + 1) & mask;
	return i;
}

/* Whether the entry at j, whose home slot is <home>, may fill the hole at
 * i during a backward-shift deletion: yes unless home lies cyclically in
 * (i, j], which would put the entry before its home. */
static int
may_move(size_t home, size_t i, size_t j)
{
	return i <= j ? (home <= i || home > j) : (home <= i && home > j);
}

/* Empties slot i by backward shift (Knuth 6.4, algorithm R): later entries
 * of the run move up unless that would put them before their home slot. */
static void
shard_delete(struct or_shard *sh, size_t i)
{
	size_t		mask = sh->cap - 1, j = i, esize = sh->lay->esize;
	uint64_t	k;

	for (;;) {
		j = (j + 1) & mask;
		if ((k = slot_key(sh, j)) == 0)
			break;
		if (may_move(k & mask, i, j)) {
			memcpy(slot(sh, i), slot(sh, j), esize);
			i = j;
		}
	}
	memset(slot(sh, i), 0, esize);
}

/* Drops the dead entries of one shard (mu held). Returns how many. After a
 * deletion slot i holds an entry moved up from later in the run (or is
 * empty), so it is looked at again; entries only move towards i. */
static size_t
shard_sweep(struct audit_outreach *st, struct or_shard *sh, int64_t now,
    uint32_t horizon)
{
	size_t		i = 0, freed = 0;
	uint8_t		*e;

	while (i < sh->cap) {
		e = slot(sh, i);
		if (slot_key(sh, i) != 0 && entry_dead(sh->lay, e, now,
		    horizon)) {
			sh->ntimes -= entry_ntimes(sh->lay, e);
			shard_delete(sh, i);
			freed++;
			continue;
		}
		i++;
	}
	sh->used -= freed;
	atomic_fetch_sub(&st->live, freed);
	return freed;
}

static int
shard_resize(struct or_shard *sh, size_t ncap)
{
	size_t		 esize = sh->lay->esize, mask = ncap - 1, i, j;
	uint8_t		*tab, *e;
	uint64_t	 k;

	if (ncap > SIZE_MAX / esize || (tab = calloc(ncap, esize)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < sh->cap; i++) {
		e = slot(sh, i);
		if ((k = *(uint64_t *)(void *)e) == 0)
			continue;
		for (j = k & mask; *(uint64_t *)(void *)(tab + j * esize) != 0;
		    j = (j + 1) & mask)
			;
		memcpy(tab + j * esize, e, esize);
	}
	free(sh->tab);
	sh->tab = tab;
	sh->cap = ncap;
	return 0;
}

/* Makes room for one more entry (mu held): past 3/4 load, drops the dead
 * entries, and doubles unless that left the table at most half full (so a
 * sweep always buys at least cap/4 inserts: amortised O(1)). */
static int
shard_room(struct audit_outreach *st, struct or_shard *sh, int64_t now,
    uint32_t horizon)
{
	if ((sh->used + 1) * 4 <= sh->cap * 3)
		return 0;
	shard_sweep(st, sh, now, horizon);
	if ((sh->used + 1) * 2 <= sh->cap)
		return 0;
	return shard_resize(sh, sh->cap * 2);
}

/* Claims one of max_recipients. */
static int
reserve(struct audit_outreach *st)
{
	size_t	c = atomic_load_explicit(&st->live, memory_order_relaxed);

	do {
		if (c >= st->max)
			return -1;
	} while (!atomic_compare_exchange_weak(&st->live, &c, c + 1));
	return 0;
}

/* Queues one journal record (mu held). Past OR_PEND_MAX records, or when
 * the buffer cannot grow, the record is dropped and the next flush rewrites
 * the whole journal from memory instead, which covers it. */
static void
pend_push(struct audit_outreach *st, struct or_shard *sh, uint64_t key,
    uint32_t tag, uint32_t t)
{
	uint8_t	*p;
	size_t	 ncap;

	if (!st->journaling)
		return;
	if (sh->npend == sh->pendcap) {
		ncap = sh->pendcap ? sh->pendcap * 2 : OR_PEND_MIN;
		if (ncap > OR_PEND_MAX ||
		    (p = realloc(sh->pend, ncap * OR_REC)) == NULL) {
			atomic_store(&st->need_rewrite, 1);
			return;
		}
		sh->pend = p;
		sh->pendcap = ncap;
	}
	p = sh->pend + sh->npend++ * OR_REC;
	put_le64(p, key);
	put_le32(p + 8, tag);
	put_le32(p + 12, t);
}

/* -------------------------------------------------------------- take */

/* Checks the limits against the layout: 0, or -1 when one names no scope,
 * has a max outside 1..ring (beyond the ring a count would not be exact)
 * or a window of 0. */
static int
limits_ok(const struct or_layout *l, const struct audit_or_limit *lim,
    size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (lim[i].scope >= l->n || lim[i].max < 1 ||
		    lim[i].max > l->ring[lim[i].scope] || lim[i].window_s < 1)
			return -1;
	return 0;
}

/*
 * Finds the entry of <key>, or makes one (mu held). Returns the slot, or
 * SIZE_MAX with errno ENOSPC (max_recipients live) or ENOMEM. A new entry
 * takes the first dead slot of the key's probe run if there is one (no
 * count changes: it replaces a tracked entry), else a new slot.
 */
static size_t
shard_get(struct audit_outreach *st, struct or_shard *sh, uint64_t key,
    int64_t now, uint32_t horizon)
{
	size_t		 mask = sh->cap - 1, i;
	uint8_t		*e;

	i = shard_find(sh, key);
	if (slot_key(sh, i) == key)
		return i;
	for (i = key & mask; slot_key(sh, i) != 0; i = (i + 1) & mask) {
		e = slot(sh, i);
		if (entry_dead(sh->lay, e, now, horizon)) {
			sh->ntimes -= entry_ntimes(sh->lay, e);
			memset(e, 0, sh->lay->esize);
			*(uint64_t *)(void *)e = key;
			return i;
		}
	}
	if (reserve(st) < 0) {
		errno = ENOSPC;
		return SIZE_MAX;
	}
	if (shard_room(st, sh, now, horizon) < 0) {
		atomic_fetch_sub(&st->live, 1);
		return SIZE_MAX;
	}
	i = shard_find(sh, key);
	*(uint64_t *)(void *)slot(sh, i) = key;
	sh->used++;
	return i;
}

/* With max_recipients reached: drops the dead entries of every shard, at
 * most once per second of now_s (one thread does it; a store full of live
 * recipients must not turn every refusal into a full scan). No shard lock
 * may be held by the caller. */
static void
reclaim(struct audit_outreach *st, int64_t now)
{
	unsigned	last = atomic_load(&st->swept_at);
	uint32_t	horizon = atomic_load(&st->horizon);
	size_t		i;

	if (horizon == 0 || last == (unsigned)now ||
	    !atomic_compare_exchange_strong(&st->swept_at, &last,
	    (unsigned)now))
		return;
	for (i = 0; i < OR_NSHARDS; i++) {
		pthread_mutex_lock(&st->sh[i].mu);
		shard_sweep(st, &st->sh[i], now, horizon);
		pthread_mutex_unlock(&st->sh[i].mu);
	}
}

int
audit_or_take(struct audit_outreach *st, const char *fp, int64_t now_s,
    const struct audit_or_limit *lim, size_t n, size_t *which,
    int64_t *retry_s)
{
	struct or_shard		*sh;
	const struct or_layout	*l;
	uint64_t		 key;
	uint32_t		 t, *r, horizon;
	size_t			 i, at;
	unsigned		 done;
	int			 attempt, e, verdict = AUDIT_OR_FULL;

	if (st == NULL || !audit_or_fp_valid(fp) || !time_ok(now_s) ||
	    (n > 0 && lim == NULL)) {
		errno = EINVAL;
		goto full;
	}
	if (n == 0)
		return AUDIT_OR_OK;
	atomic_max_u32(&st->clock, (uint32_t)now_s);
	key = fp_key(fp);
	sh = &st->sh[key >> OR_SHARD_SHIFT];
	for (attempt = 0;; attempt++) {
		pthread_mutex_lock(&sh->mu);
		l = sh->lay;
		if (limits_ok(l, lim, n) < 0) {
			pthread_mutex_unlock(&sh->mu);
			errno = EINVAL;
			goto full;
		}
		for (i = 0; i < n; i++)
			atomic_max_u32(&st->horizon, lim[i].window_s);
		horizon = atomic_load_explicit(&st->horizon,
		    memory_order_relaxed);
		if ((at = shard_get(st, sh, key, now_s, horizon)) != SIZE_MAX)
			break;
		e = errno;
		pthread_mutex_unlock(&sh->mu);
		errno = e;
		if (e != ENOSPC || attempt > 0)
			goto full;
		reclaim(st, now_s);
	}
	/* the max-th newest send decides: counted iff time > now - window */
	for (i = 0; i < n; i++) {
		r = times(l, slot(sh, at), lim[i].scope);
		t = r[lim[i].max - 1];
		if (t != 0 && (int64_t)t > now_s - (int64_t)lim[i].window_s) {
			if (which != NULL)
				*which = i;
			if (retry_s != NULL)
				*retry_s = (int64_t)t + lim[i].window_s - now_s;
			verdict = AUDIT_OR_LIMIT;
			goto out;
		}
	}
	t = (uint32_t)now_s;
	for (i = 0, done = 0; i < n; i++) {
		if (done & 1u << lim[i].scope)
			continue;
		done |= 1u << lim[i].scope;
		r = times(l, slot(sh, at), lim[i].scope);
		sh->ntimes += (size_t)ring_add(r, l->ring[lim[i].scope] + 1, t);
		pend_push(st, sh, key, l->tag[lim[i].scope], t);
	}
	verdict = AUDIT_OR_OK;
out:
	pthread_mutex_unlock(&sh->mu);
	return verdict;
full:
	if (st != NULL)
		atomic_fetch_add_explicit(&st->full, 1, memory_order_relaxed);
	return AUDIT_OR_FULL;
}

void
audit_or_give_back(struct audit_outreach *st, const char *fp, int64_t now_s,
    const struct audit_or_limit *lim, size_t n)
{
	struct or_shard		*sh;
	const struct or_layout	*l;
	uint64_t		 key;
	uint32_t		 t = (uint32_t)now_s;
	size_t			 i, at;
	unsigned		 done = 0;

	if (st == NULL || !audit_or_fp_valid(fp) || !time_ok(now_s) || lim == NULL)
		return;
	key = fp_key(fp);
	sh = &st->sh[key >> OR_SHARD_SHIFT];
	pthread_mutex_lock(&sh->mu);
	l = sh->lay;
	at = shard_find(sh, key);
	if (slot_key(sh, at) != key)
		goto out;
	for (i = 0; i < n; i++) {
		if (lim[i].scope >= l->n || (done & 1u << lim[i].scope))
			continue;
		done |= 1u << lim[i].scope;
		if (ring_del(times(l, slot(sh, at), lim[i].scope),
		    l->ring[lim[i].scope] + 1, t)) {
			sh->ntimes--;
			pend_push(st, sh, key,
			    l->tag[lim[i].scope] | OR_UNDO, t);
		}
	}
out:
	pthread_mutex_unlock(&sh->mu);
}

/* ------------------------------------------------------------- journal */

/* Grows the rewrite's staging buffer to hold <need> bytes (doubling). */
static int
wbuf_reserve(struct audit_outreach *st, size_t need)
{
	size_t	 nc = st->wcap > 0 ? st->wcap : 4096;
	uint8_t	*p;

	if (need <= st->wcap)
		return 0;
	while (nc < need)
		nc *= 2;
	if ((p = realloc(st->wbuf, nc)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	st->wbuf = p;
	st->wcap = nc;
	return 0;
}

/*
 * Writes the journal anew from memory: OR_JOURNAL.tmp, fsync, rename over
 * the journal, fsync of the directory; the new file becomes jfd. Each shard
 * is copied under its lock, which also notes how many of its queued records
 * the copy covers (snap); once the rename is durable those are dropped,
 * while records queued after the copy stay for the next append. If anything
 * fails, the old journal and every queued record stay, and the next flush
 * tries again. jmu held (or open).
 */
static int
journal_rewrite(struct audit_outreach *st)
{
	struct or_shard		*sh;
	const struct or_layout	*l;
	size_t			 snap[OR_NSHARDS], i, s, j, k, len;
	uint8_t			 hdr[OR_REC], *e, *p;
	uint32_t		 horizon, *r;
	int64_t			 now;
	off_t			 off = OR_REC;
	char			 tmp[PATH_MAX];
	int			 fd = -1, e_no;

	horizon = atomic_load(&st->horizon);
	now = atomic_load(&st->clock);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", st->jpath) >=
	    (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		goto fail;
	memcpy(hdr, OR_MAGIC, 8);
	put_le32(hdr + 8, OR_VERSION);
	put_le32(hdr + 12, horizon);
	if (audit_pwrite_all(fd, hdr, sizeof(hdr), 0) < 0)
		goto fail;
	for (i = 0; i < OR_NSHARDS; i++) {
		sh = &st->sh[i];
		pthread_mutex_lock(&sh->mu);
		l = sh->lay;
		/* ntimes counts what is written below: the buffer grows
		 * once, and again only if that count were ever short (never
		 * a send time dropped from the journal) */
		if (wbuf_reserve(st, sh->ntimes * OR_REC) < 0) {
			pthread_mutex_unlock(&sh->mu);
			goto fail;
		}
		len = 0;
		for (j = 0; j < sh->cap; j++) {
			e = slot(sh, j);
			if (slot_key(sh, j) == 0 ||
			    entry_dead(l, e, now, horizon))
				continue;
			for (s = 0; s < l->n; s++) {
				r = times(l, e, s);
				/* oldest first, as they were taken */
				for (k = l->ring[s] + 1; k-- > 0;) {
					if (r[k] == 0)
						continue;
					if (wbuf_reserve(st, len + OR_REC) < 0) {
						pthread_mutex_unlock(&sh->mu);
						goto fail;
					}
					p = st->wbuf + len;
					put_le64(p, slot_key(sh, j));
					put_le32(p + 8, l->tag[s]);
					put_le32(p + 12, r[k]);
					len += OR_REC;
				}
			}
		}
		snap[i] = sh->npend;
		pthread_mutex_unlock(&sh->mu);
		if (audit_pwrite_all(fd, st->wbuf, len, off) < 0)
			goto fail;
		off += (off_t)len;
	}
	if (fsync(fd) < 0 || rename(tmp, st->jpath) < 0)
		goto fail;
	/* renamed: from here the new file is the journal either way */
	if (st->jfd >= 0)
		close(st->jfd);
	st->jfd = fd;
	fd = -1;
	atomic_store(&st->jsize, (uint64_t)off);
	atomic_fetch_add(&st->rewrites, 1);
	st->hdr_horizon = horizon;
	for (i = 0; i < OR_NSHARDS; i++) {
		sh = &st->sh[i];
		if (snap[i] == 0)
			continue;
		pthread_mutex_lock(&sh->mu);
		memmove(sh->pend, sh->pend + snap[i] * OR_REC,
		    (sh->npend - snap[i]) * OR_REC);
		sh->npend -= snap[i];
		pthread_mutex_unlock(&sh->mu);
	}
	if (audit_fsync_dir(st->dir) < 0)
		return -1;
	return 0;
fail:
	e_no = errno;
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	errno = e_no;
	return -1;
}

/* Appends every shard's queued records; sets *times_out to the number of
 * times in memory (for the compaction rule). jmu held. */
static int
journal_append(struct audit_outreach *st, size_t *times_out)
{
	struct or_shard	*sh;
	uint8_t		*p, hz[4];
	size_t		 i, n, c, nt = 0;
	uint64_t	 size = atomic_load(&st->jsize);
	uint32_t	 horizon = atomic_load(&st->horizon);
	int		 rc = 0;

	/* a longer window learnt since the header was written: a 4-byte
	 * write in place, so a restart knows which entries are dead */
	if (horizon != st->hdr_horizon) {
		put_le32(hz, horizon);
		if (audit_pwrite_all(st->jfd, hz, sizeof(hz), 12) < 0)
			rc = errno;
		else
			st->hdr_horizon = horizon;
	}
	for (i = 0; i < OR_NSHARDS; i++) {
		sh = &st->sh[i];
		pthread_mutex_lock(&sh->mu);
		nt += sh->ntimes;
		n = sh->npend;
		if (rc == 0 && n > 0) {
			/* swap buffers: the lock is held for no copy */
			p = sh->pend;
			c = sh->pendcap;
			sh->pend = st->spare;
			sh->pendcap = st->sparecap;
			sh->npend = 0;
			st->spare = p;
			st->sparecap = c;
		}
		pthread_mutex_unlock(&sh->mu);
		if (rc != 0 || n == 0)
			continue;
		if (audit_pwrite_all(st->jfd, st->spare, n * OR_REC,
		    (off_t)size) < 0) {
			/* cut a partial record so later ones stay aligned; what
			 * was not written is in memory: rewrite next time */
			rc = errno;
			(void)ftruncate(st->jfd, (off_t)size);
			atomic_store(&st->need_rewrite, 1);
			continue;
		}
		size += n * OR_REC;
	}
	atomic_store(&st->jsize, size);
	*times_out = nt;
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	return 0;
}

int
audit_or_flush(struct audit_outreach *st)
{
	size_t		nt = 0;
	uint64_t	size;
	int		rc;

	if (st == NULL || !st->journaling)
		return 0;
	pthread_mutex_lock(&st->jmu);
	if (atomic_exchange(&st->need_rewrite, 0))
		rc = journal_rewrite(st);
	else if ((rc = journal_append(st, &nt)) == 0) {
		size = atomic_load(&st->jsize);
		if (size > OR_COMPACT_MIN &&
		    size > 4 * (uint64_t)(nt + 1) * OR_REC)
			rc = journal_rewrite(st);
	}
	if (rc < 0) {
		rc = errno;
		atomic_fetch_add(&st->write_errors, 1);
		atomic_store(&st->need_rewrite, 1);
		errno = rc;
		rc = -1;
	}
	pthread_mutex_unlock(&st->jmu);
	return rc;
}

/* Applies one journal record at open. */
static int
replay_rec(struct audit_outreach *st, const uint8_t *p)
{
	struct or_shard	*sh;
	uint64_t	 key = get_le64(p);
	uint32_t	 tag = get_le32(p + 8), t = get_le32(p + 12), *r;
	size_t		 at;
	int		 s;

	if (key == 0 || t == 0 ||
	    (s = layout_find(st->lay, tag & ~OR_UNDO)) < 0)
		return 0;	/* a scope no longer in the layout */
	sh = &st->sh[key >> OR_SHARD_SHIFT];
	at = shard_find(sh, key);
	if (slot_key(sh, at) != key) {
		if (tag & OR_UNDO)
			return 0;
		/* no cap: every recorded send is kept (see audit_or_open) */
		if (shard_room(st, sh, 1, 0) < 0)
			return -1;
		at = shard_find(sh, key);
		*(uint64_t *)(void *)slot(sh, at) = key;
		sh->used++;
		atomic_fetch_add(&st->live, 1);
	}
	r = times(st->lay, slot(sh, at), (size_t)s);
	if (tag & OR_UNDO)
		sh->ntimes -= (size_t)ring_del(r, st->lay->ring[s] + 1, t);
	else
		sh->ntimes += (size_t)ring_add(r, st->lay->ring[s] + 1, t);
	atomic_max_u32(&st->clock, t);
	return 0;
}

static int
journal_replay(struct audit_outreach *st, char *err, size_t errsize)
{
	FILE		*f;
	uint8_t		*buf = NULL, hdr[OR_REC];
	size_t		 n, i;
	uint32_t	 horizon;
	int		 rc = -1;

	if ((f = fopen(st->jpath, "rbe")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errsize, "%s: %s", st->jpath, strerror(errno));
		return -1;
	}
	/* the file only ever appears by rename, header written: an empty
	 * one is no journal yet, a shorter one someone else's */
	if ((n = fread(hdr, 1, sizeof(hdr), f)) == 0 && !ferror(f)) {
		rc = 0;
		goto out;
	}
	if (n < sizeof(hdr) || memcmp(hdr, OR_MAGIC, 8) != 0) {
		snprintf(err, errsize, "%s: not an outreach journal",
		    st->jpath);
		goto out;
	}
	if (get_le32(hdr + 8) != OR_VERSION) {
		snprintf(err, errsize, "%s: journal version %" PRIu32 " not "
		    "supported", st->jpath, get_le32(hdr + 8));
		goto out;
	}
	horizon = get_le32(hdr + 12);
	atomic_max_u32(&st->horizon, horizon);
	if ((buf = malloc((size_t)OR_CHUNK * OR_REC)) == NULL) {
		snprintf(err, errsize, "out of memory");
		goto out;
	}
	/* fread counts whole records: a torn last one is left out */
	while ((n = fread(buf, OR_REC, OR_CHUNK, f)) > 0) {
		for (i = 0; i < n; i++) {
			if (replay_rec(st, buf + i * OR_REC) < 0) {
				snprintf(err, errsize, "%s: out of memory",
				    st->jpath);
				goto out;
			}
		}
	}
	if (ferror(f)) {
		snprintf(err, errsize, "%s: %s", st->jpath, strerror(errno));
		goto out;
	}
	horizon = atomic_load(&st->horizon);
	if (horizon != 0)
		for (i = 0; i < OR_NSHARDS; i++)
			shard_sweep(st, &st->sh[i], atomic_load(&st->clock),
			    horizon);
	rc = 0;
out:
	free(buf);
	fclose(f);
	return rc;
}

/* ------------------------------------------------------------ opt-outs */

static size_t
opt_find(const struct audit_outreach *st, uint64_t key, const char *fp)
{
	size_t	mask = st->ocap - 1, i = key & mask;

	for (; st->opt[i].key != 0; i = (i + 1) & mask)
		if (st->opt[i].key == key && strcmp(st->opt[i].fp, fp) == 0)
			return i;
	return SIZE_MAX;
}

/* Makes room for one more (load at most 1/2). Writers only, olock held
 * for writing or no reader yet. */
static int
opt_room(struct audit_outreach *st)
{
	struct or_opt	*o, *old = st->opt;
	size_t		 i, j, ncap = st->ocap * 2, oldcap = st->ocap;

	if ((st->on + 1) * 2 <= st->ocap)
		return 0;
	if ((o = calloc(ncap, sizeof(*o))) == NULL)
		return -1;
	for (i = 0; i < oldcap; i++) {
		if (old[i].key == 0)
			continue;
		for (j = old[i].key & (ncap - 1); o[j].key != 0;
		    j = (j + 1) & (ncap - 1))
			;
		o[j] = old[i];
	}
	st->opt = o;
	st->ocap = ncap;
	free(old);
	return 0;
}

/* Inserts (room made beforehand). */
static void
opt_put(struct audit_outreach *st, uint64_t key, const char *fp,
    const char *source, int64_t since_ms)
{
	size_t	mask = st->ocap - 1, i;

	for (i = key & mask; st->opt[i].key != 0; i = (i + 1) & mask)
		;
	memset(&st->opt[i], 0, sizeof(st->opt[i]));
	st->opt[i].key = key;
	st->opt[i].since_ms = since_ms;
	memcpy(st->opt[i].fp, fp, AUDIT_OR_FP_LEN);
	snprintf(st->opt[i].source, sizeof(st->opt[i].source), "%s",
	    source != NULL ? source : "");
	st->on++;
}

static void
opt_del(struct audit_outreach *st, size_t i)
{
	size_t	mask = st->ocap - 1, j = i;

	for (;;) {
		j = (j + 1) & mask;
		if (st->opt[j].key == 0)
			break;
		if (may_move(st->opt[j].key & mask, i, j)) {
			st->opt[i] = st->opt[j];
			i = j;
		}
	}
	memset(&st->opt[i], 0, sizeof(st->opt[i]));
	st->on--;
}

/* Appends and fdatasyncs one chained line (omu held); memory-only stores
 * write nothing. On failure nothing of the line stays in the file. */
static int
opt_append(struct audit_outreach *st, const char *op, const char *fp,
    const char *source, const char *author, const char *reason,
    int64_t now_ms, char *err, size_t errsize)
{
	struct audit_rec	*r = NULL;
	const char		*body;
	size_t			 len;
	int			 rc = -1, e;

	if (st->ofile.fd < 0)
		return 0;
	if ((r = audit_rec_new()) == NULL)
		goto nomem;
	audit_rec_str(r, "op", op);
	audit_rec_str(r, "fingerprint", fp);
	audit_rec_str(r, "source", source);
	audit_rec_str(r, "author", author);
	audit_rec_str(r, "reason", reason);
	if (audit_rec_error(r) < 0)
		goto nomem;
	body = audit_rec_body(r, &len);
	if (audit_sfile_append(&st->ofile, now_ms, body, len) < 0) {
		e = errno;
		snprintf(err, errsize, "%s: %s", st->ofile.path, strerror(e));
		errno = e;
		goto out;
	}
	rc = 0;
	goto out;
nomem:
	snprintf(err, errsize, "out of memory");
	errno = ENOMEM;
out:
	audit_rec_free(r);
	return rc;
}

/* Applies one replayed line (set semantics). */
static int
opt_replay(void *arg, const struct ajson_doc *d)
{
	struct audit_outreach	*st = arg;
	char			 op[16], fp[AUDIT_OR_FP_LEN + 2], src[16], t[40];
	int64_t			 ms;
	size_t			 i;

	if (audit_json_str(d, audit_json_get(d, 0, "op"), op, sizeof(op)) < 0 ||
	    audit_json_str(d, audit_json_get(d, 0, "fingerprint"), fp,
	    sizeof(fp)) < 0 || !audit_or_fp_valid(fp) ||
	    audit_json_str(d, audit_json_get(d, 0, "time"), t, sizeof(t)) < 0 ||
	    audit_time_parse(t, &ms) < 0)
		return -1;
	i = opt_find(st, fp_key(fp), fp);
	if (strcmp(op, "optout") == 0) {
		if (audit_json_str(d, audit_json_get(d, 0, "source"), src,
		    sizeof(src)) < 0)
			return -1;
		if (i == SIZE_MAX) {
			if (opt_room(st) < 0)
				return -1;
			opt_put(st, fp_key(fp), fp, src, ms);
		}
	} else if (strcmp(op, "consent") == 0) {
		if (i != SIZE_MAX)
			opt_del(st, i);
	} else
		return -1;
	return 0;
}

int
audit_or_optout_add(struct audit_outreach *st, const char *fp,
    const char *source, const char *author, const char *reason,
    int64_t now_ms, char *err, size_t errsize)
{
	uint64_t	key;
	int		rc;

	if (!audit_or_fp_valid(fp)) {
		snprintf(err, errsize, "fingerprint: %d base64url characters",
		    AUDIT_OR_FP_LEN);
		errno = EINVAL;
		return -1;
	}
	if (source == NULL || (strcmp(source, "admin") != 0 &&
	    strcmp(source, "unsubscribe") != 0)) {
		snprintf(err, errsize, "source: admin or unsubscribe");
		errno = EINVAL;
		return -1;
	}
	key = fp_key(fp);
	pthread_mutex_lock(&st->omu);
	if (opt_find(st, key, fp) != SIZE_MAX) {
		rc = 1;
		goto out;
	}
	/* room first: once the line is durable the insert cannot fail */
	pthread_rwlock_wrlock(&st->olock);
	rc = opt_room(st);
	pthread_rwlock_unlock(&st->olock);
	if (rc < 0) {
		snprintf(err, errsize, "out of memory");
		errno = ENOMEM;
		goto out;
	}
	if ((rc = opt_append(st, "optout", fp, source, author, reason, now_ms,
	    err, errsize)) < 0)
		goto out;
	pthread_rwlock_wrlock(&st->olock);
	opt_put(st, key, fp, source, now_ms);
	pthread_rwlock_unlock(&st->olock);
out:
	pthread_mutex_unlock(&st->omu);
	return rc;
}

int
audit_or_optout_remove(struct audit_outreach *st, const char *fp,
    const char *author, const char *reason, int64_t now_ms, char *err,
    size_t errsize)
{
	size_t	i;
	int	rc = -1;

	if (!audit_or_fp_valid(fp)) {
		snprintf(err, errsize, "fingerprint: %d base64url characters",
		    AUDIT_OR_FP_LEN);
		errno = EINVAL;
		return -1;
	}
	if (reason == NULL || reason[0] == '\0') {
		snprintf(err, errsize, "reason: required (the recorded "
		    "re-consent)");
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&st->omu);
	if ((i = opt_find(st, fp_key(fp), fp)) == SIZE_MAX) {
		snprintf(err, errsize, "%s: not opted out", fp);
		errno = ENOENT;
		goto out;
	}
	if (opt_append(st, "consent", fp, NULL, author, reason, now_ms, err,
	    errsize) < 0)
		goto out;
	pthread_rwlock_wrlock(&st->olock);
	opt_del(st, i);
	pthread_rwlock_unlock(&st->olock);
	rc = 0;
out:
	pthread_mutex_unlock(&st->omu);
	return rc;
}

int
audit_or_opted_out(struct audit_outreach *st, const char *fp)
{
	int	in;

	if (st == NULL || !audit_or_fp_valid(fp))
		return 0;
	pthread_rwlock_rdlock(&st->olock);
	in = opt_find(st, fp_key(fp), fp) != SIZE_MAX;
	pthread_rwlock_unlock(&st->olock);
	return in;
}

void
audit_or_optout_each(struct audit_outreach *st,
    void (*fn)(void *arg, const struct audit_or_optout *), void *arg)
{
	struct audit_or_optout	o;
	size_t			i;

	pthread_rwlock_rdlock(&st->olock);
	for (i = 0; i < st->ocap; i++) {
		if (st->opt[i].key == 0)
			continue;
		memcpy(o.fp, st->opt[i].fp, sizeof(o.fp));
		o.since_ms = st->opt[i].since_ms;
		memcpy(o.source, st->opt[i].source, sizeof(o.source));
		fn(arg, &o);
	}
	pthread_rwlock_unlock(&st->olock);
}

size_t
audit_or_optout_count(struct audit_outreach *st)
{
	size_t	n;

	pthread_rwlock_rdlock(&st->olock);
	n = st->on;
	pthread_rwlock_unlock(&st->olock);
	return n;
}

/* ---------------------------------------------------------- the store */

static void
store_free(struct audit_outreach *st)
{
	size_t	i;

	if (st == NULL)
		return;
	if (st->sh != NULL) {
		for (i = 0; i < OR_NSHARDS; i++) {
			free(st->sh[i].tab);
			free(st->sh[i].pend);
			pthread_mutex_destroy(&st->sh[i].mu);
		}
		free(st->sh);
	}
	if (st->jfd >= 0)
		close(st->jfd);
	audit_sfile_close(&st->ofile);
	if (st->lockfd >= 0)
		close(st->lockfd);	/* releases the flock */
	pthread_mutex_destroy(&st->jmu);
	pthread_mutex_destroy(&st->omu);
	pthread_rwlock_destroy(&st->olock);
	free(st->opt);
	free(st->spare);
	free(st->wbuf);
	free(st->lay);
	free(st->dir);
	free(st->jpath);
	free(st);
}

/* Creates the directory, takes its lock, sets the paths. */
static int
open_dir(struct audit_outreach *st, const char *dir, char *err,
    size_t errsize)
{
	char	path[PATH_MAX - 8];	/* room for ".tmp" */

	if (snprintf(path, sizeof(path), "%s/" OR_JOURNAL, dir) >=
	    (int)sizeof(path)) {
		snprintf(err, errsize, "%s: name too long", dir);
		return -1;
	}
	if ((st->dir = strdup(dir)) == NULL ||
	    (st->jpath = strdup(path)) == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errsize, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/" OR_LOCK, dir);
	if ((st->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errsize, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(st->lockfd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errsize, "%s: in use by another custos (%s)",
		    dir, strerror(errno));
		return -1;
	}
	/* Opt-outs replay as audit_ovr_open() replays overrides. */
	snprintf(path, sizeof(path), "%s/" OR_OPTOUTS, dir);
	return audit_sfile_open(&st->ofile, path, "not an opt-out record",
	    opt_replay, st, err, errsize);
}

struct audit_outreach *
audit_or_open(const char *state_dir, const struct audit_or_scope *scopes,
    size_t nscopes, size_t max_recipients, char *err, size_t errsize)
{
	struct audit_outreach	*st;
	struct or_shard		*sh;
	size_t			 i;

	if (sodium_init() < 0 ||
	    (st = aligned_alloc(64, sizeof(*st))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	memset(st, 0, sizeof(*st));
	st->jfd = st->ofile.fd = st->lockfd = -1;
	pthread_mutex_init(&st->jmu, NULL);
	pthread_mutex_init(&st->omu, NULL);
	pthread_rwlock_init(&st->olock, NULL);
	st->max = max_recipients != 0 ? max_recipients : OR_DEFAULT_MAX;
	st->ocap = 64;
	if ((st->lay = layout_new(scopes, nscopes, err, errsize)) == NULL)
		goto fail;
	if ((st->opt = calloc(st->ocap, sizeof(*st->opt))) == NULL ||
	    (st->sh = aligned_alloc(64, OR_NSHARDS * sizeof(*st->sh))) ==
	    NULL)
		goto nomem;
	memset(st->sh, 0, OR_NSHARDS * sizeof(*st->sh));
	for (i = 0; i < OR_NSHARDS; i++) {
		sh = &st->sh[i];
		pthread_mutex_init(&sh->mu, NULL);
		sh->lay = st->lay;
		sh->cap = OR_MIN_CAP;
		if ((sh->tab = calloc(sh->cap, st->lay->esize)) == NULL)
			goto nomem;
	}
	if (state_dir == NULL)
		return st;
	st->journaling = 1;
	if (open_dir(st, state_dir, err, errsize) < 0 ||
	    journal_replay(st, err, errsize) < 0)
		goto fail;
	if (journal_rewrite(st) < 0) {
		snprintf(err, errsize, "%s: cannot rewrite: %s", st->jpath,
		    strerror(errno));
		goto fail;
	}
	return st;
nomem:
	snprintf(err, errsize, "out of memory");
fail:
	store_free(st);
	return NULL;
}

void
audit_or_close(struct audit_outreach *st)
{
	if (st == NULL)
		return;
	(void)audit_or_flush(st);
	store_free(st);
}

/*
 * Converts shard <sh>'s table into <tab> (same capacity, so every entry
 * keeps its slot) under layout <nl>: scopes of the same name keep their
 * newest times. An entry left with no time stays as a dead one, reused or
 * swept later. mu held.
 */
static void
shard_convert(struct or_shard *sh, const struct or_layout *nl, uint8_t *tab)
{
	const struct or_layout	*ol = sh->lay;
	int			 map[AUDIT_OR_MAX_SCOPES];
	size_t			 i, s, m;
	uint8_t			*e, *ne;

	for (s = 0; s < nl->n; s++)
		map[s] = layout_find(ol, nl->tag[s]);
	sh->ntimes = 0;
	for (i = 0; i < sh->cap; i++) {
		e = slot(sh, i);
		if (slot_key(sh, i) == 0)
			continue;
		ne = tab + i * nl->esize;
		memcpy(ne, e, 8);
		for (s = 0; s < nl->n; s++) {
			if (map[s] < 0)
				continue;
			m = ol->ring[map[s]] < nl->ring[s] ? ol->ring[map[s]] :
			    nl->ring[s];
			memcpy(times(nl, ne, s), times(ol, e, (size_t)map[s]),
			    (m + 1) * 4);
		}
		sh->ntimes += entry_ntimes(nl, ne);
	}
}

/* Touches every page of a fresh allocation (the compiler would turn a
 * memset of zeros after malloc back into calloc), so that the page faults
 * happen before the shard locks are taken, not under them. */
static void
prefault(void *p, size_t len)
{
	volatile uint8_t	*v = p;
	size_t			 off;

	for (off = 0; off < len; off += 4096)
		v[off] = 0;
}

int
audit_or_layout(struct audit_outreach *st, const struct audit_or_scope *scopes,
    size_t nscopes, char *err, size_t errsize)
{
	struct or_layout	*nl, *ol;
	uint8_t			*tab[OR_NSHARDS], *old;
	size_t			 cap[OR_NSHARDS], i;
	int			 ready;

	if ((nl = layout_new(scopes, nscopes, err, errsize)) == NULL)
		return -1;
	memset(tab, 0, sizeof(tab));
	memset(cap, 0, sizeof(cap));
	pthread_mutex_lock(&st->jmu);
	/*
	 * Allocate outside the locks, then take every lock and check no shard
	 * grew meanwhile (else allocate again): so a failure leaves nothing
	 * changed, and workers wait for one conversion pass only.
	 */
	for (;;) {
		for (i = 0; i < OR_NSHARDS; i++) {
			size_t c;

			pthread_mutex_lock(&st->sh[i].mu);
			c = st->sh[i].cap;
			pthread_mutex_unlock(&st->sh[i].mu);
			if (tab[i] != NULL && cap[i] == c)
				continue;
			free(tab[i]);
			cap[i] = c;
			if ((tab[i] = calloc(c, nl->esize)) == NULL) {
				snprintf(err, errsize, "out of memory");
				goto fail;
			}
			prefault(tab[i], c * nl->esize);
		}
		for (i = 0; i < OR_NSHARDS; i++)
			pthread_mutex_lock(&st->sh[i].mu);
		for (i = 0, ready = 1; i < OR_NSHARDS; i++)
			if (st->sh[i].cap != cap[i])
				ready = 0;
		if (ready)
			break;
		for (i = 0; i < OR_NSHARDS; i++)
			pthread_mutex_unlock(&st->sh[i].mu);
	}
	for (i = 0; i < OR_NSHARDS; i++) {
		shard_convert(&st->sh[i], nl, tab[i]);
		old = st->sh[i].tab;
		st->sh[i].tab = tab[i];
		st->sh[i].lay = nl;
		tab[i] = old;		/* freed once unlocked */
	}
	ol = st->lay;
	st->lay = nl;
	for (i = 0; i < OR_NSHARDS; i++)
		pthread_mutex_unlock(&st->sh[i].mu);
	pthread_mutex_unlock(&st->jmu);
	for (i = 0; i < OR_NSHARDS; i++)
		free(tab[i]);
	free(ol);
	return 0;
fail:
	pthread_mutex_unlock(&st->jmu);
	for (i = 0; i < OR_NSHARDS; i++)
		free(tab[i]);
	free(nl);
	errno = ENOMEM;
	return -1;
}

void
audit_or_stats(struct audit_outreach *st, size_t *recipients, size_t *bytes)
{
	size_t	i, b = OR_NSHARDS * sizeof(*st->sh);

	for (i = 0; i < OR_NSHARDS; i++) {
		pthread_mutex_lock(&st->sh[i].mu);
		b += st->sh[i].cap * st->sh[i].lay->esize;
		pthread_mutex_unlock(&st->sh[i].mu);
	}
	if (recipients != NULL)
		*recipients = atomic_load(&st->live);
	if (bytes != NULL)
		*bytes = b;
}

void
audit_or_get_counters(struct audit_outreach *st, struct audit_or_counters *c)
{
	size_t	i;

	memset(c, 0, sizeof(*c));
	audit_or_stats(st, &c->recipients, &c->table_bytes);
	for (i = 0; i < OR_NSHARDS; i++) {
		pthread_mutex_lock(&st->sh[i].mu);
		c->pending += st->sh[i].npend;
		pthread_mutex_unlock(&st->sh[i].mu);
	}
	c->journal_bytes = atomic_load(&st->jsize);
	c->write_errors = atomic_load(&st->write_errors);
	c->rewrites = atomic_load(&st->rewrites);
	c->full = atomic_load(&st->full);
	c->horizon_s = atomic_load(&st->horizon);
	c->optouts = audit_or_optout_count(st);
}
