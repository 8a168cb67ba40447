/* tests/unit/test_outreach_store.c — the outreach state store: limits at
 * their edges, windows and scopes, give-back, the recipient cap, layout
 * changes, restart (journal and opt-outs), a torn journal, an edited opt-out
 * file, concurrent takes. Every time is an explicit now_s. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1		/* nftw */
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit/audit.h"

#define T0	1700000000LL
#define DAY	86400
#define WEEK	(7 * DAY)

static const struct audit_or_scope	star3[] = { { "*", 3 } };
static const struct audit_or_scope	star3_sms1[] = { { "*", 3 },
					    { "sms", 1 } };

/* ------------------------------------------------------------ fixtures */

struct fx {
	char	dir[64];
	char	err[256];
};

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));

	if (f == NULL || sodium_init() < 0)
		return -1;
	strcpy(f->dir, "/tmp/custos-outreach-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;

	nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* The fingerprint of recipient <n>: base64url of 16 bytes holding n, as
 * keys_fingerprint() would format a real one. */
static void
fp_of(uint32_t n, char out[AUDIT_OR_FP_LEN + 1])
{
	uint8_t	b[16];

	memset(b, 0, sizeof(b));
	memcpy(b, &n, sizeof(n));
	sodium_bin2base64(out, AUDIT_OR_FP_LEN + 1, b, sizeof(b),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static off_t
file_size(const char *dir, const char *name)
{
	char		path[128];
	struct stat	sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &sb) < 0 ? -1 : sb.st_size;
}

/* take() that must return <want>; for AUDIT_OR_LIMIT also which/retry. */
#define TAKE(st, fp, now, lim, want) \
	assert_int_equal(audit_or_take((st), (fp), (now), (lim), \
	    sizeof(lim) / sizeof((lim)[0]), NULL, NULL), (want))

static void
take_limit(struct audit_outreach *st, const char *fp, int64_t now,
    const struct audit_or_limit *lim, size_t n, size_t want_which,
    int64_t want_retry)
{
	size_t	which = 99;
	int64_t	retry = -1;

	assert_int_equal(audit_or_take(st, fp, now, lim, n, &which, &retry),
	    AUDIT_OR_LIMIT);
	assert_int_equal(which, want_which);
	assert_int_equal(retry, want_retry);
}

/* ------------------------------------------------------------- limits */

static void
test_limit_edges(void **state)
{
	struct audit_outreach		*st;
	const struct audit_or_limit	 three[] = { { 0, 3, 100 } };
	const struct audit_or_limit	 one[] = { { 0, 1, DAY } };
	char				 a[23], b[23], err[128];

	(void)state;
	fp_of(1, a);
	fp_of(2, b);
	st = audit_or_open(NULL, star3, 1, 0, err, sizeof(err));
	assert_non_null(st);

	/* the 3rd is allowed, the 4th refused until the 1st leaves */
	TAKE(st, a, T0, three, AUDIT_OR_OK);
	TAKE(st, a, T0 + 10, three, AUDIT_OR_OK);
	TAKE(st, a, T0 + 20, three, AUDIT_OR_OK);
	take_limit(st, a, T0 + 30, three, 1, 0, 70);
	take_limit(st, a, T0 + 99, three, 1, 0, 1);
	/* a send at t counts while t > now - window: T0 is out at T0+100 */
	TAKE(st, a, T0 + 100, three, AUDIT_OR_OK);
	/* now T0+10 is the oldest of the three in the window */
	take_limit(st, a, T0 + 101, three, 1, 0, 9);
	take_limit(st, a, T0 + 109, three, 1, 0, 1);
	TAKE(st, a, T0 + 110, three, AUDIT_OR_OK);

	/* max 1: the next one exactly a window later */
	TAKE(st, b, T0, one, AUDIT_OR_OK);
	take_limit(st, b, T0, one, 1, 0, DAY);
	take_limit(st, b, T0 + DAY - 1, one, 1, 0, 1);
	TAKE(st, b, T0 + DAY, one, AUDIT_OR_OK);

	/* which and retry_s may be NULL; n == 0 records nothing */
	assert_int_equal(audit_or_take(st, b, T0 + DAY, one, 1, NULL, NULL),
	    AUDIT_OR_LIMIT);
	assert_int_equal(audit_or_take(st, b, T0 + DAY, NULL, 0, NULL, NULL),
	    AUDIT_OR_OK);
	audit_or_close(st);
}

static void
test_two_windows(void **state)
{
	struct audit_outreach		*st;
	const struct audit_or_limit	 lim[] = { { 0, 1, DAY }, { 0, 3, WEEK } };
	const struct audit_or_limit	 rev[] = { { 0, 3, WEEK }, { 0, 1, DAY } };
	char				 a[23], b[23], err[128];

	(void)state;
	fp_of(10, a);
	fp_of(11, b);
	st = audit_or_open(NULL, star3, 1, 0, err, sizeof(err));
	assert_non_null(st);
	TAKE(st, a, T0, lim, AUDIT_OR_OK);
	take_limit(st, a, T0 + 1, lim, 2, 0, DAY - 1);
	TAKE(st, a, T0 + DAY, lim, AUDIT_OR_OK);
	TAKE(st, a, T0 + 2 * DAY, lim, AUDIT_OR_OK);
	/* the daily limit is clear, the weekly one is reached */
	take_limit(st, a, T0 + 3 * DAY, lim, 2, 1, 4 * DAY);
	take_limit(st, a, T0 + WEEK - 1, lim, 2, 1, 1);
	TAKE(st, a, T0 + WEEK, lim, AUDIT_OR_OK);
	/* both reached; the daily one comes first in the array */
	take_limit(st, a, T0 + WEEK + 1, lim, 2, 0, DAY - 1);
	/* T0+DAY leaves the week exactly when the day has passed */
	TAKE(st, a, T0 + 8 * DAY, lim, AUDIT_OR_OK);

	/* both reached: the first in the array is reported */
	TAKE(st, b, T0, rev, AUDIT_OR_OK);
	TAKE(st, b, T0 + DAY, rev, AUDIT_OR_OK);
	TAKE(st, b, T0 + 2 * DAY, rev, AUDIT_OR_OK);
	take_limit(st, b, T0 + 2 * DAY + 5, rev, 2, 0, WEEK - 2 * DAY - 5);
	take_limit(st, b, T0 + 2 * DAY + 5, lim, 2, 0, DAY - 5);
	audit_or_close(st);
}

static void
test_scopes(void **state)
{
	struct audit_outreach		*st;
	/* an SMS counts in "sms" and in "*"; an email only in "*" */
	const struct audit_or_limit	 sms[] = { { 1, 1, DAY }, { 0, 3, WEEK } };
	const struct audit_or_limit	 email[] = { { 0, 3, WEEK } };
	char				 a[23], err[128];

	(void)state;
	fp_of(20, a);
	st = audit_or_open(NULL, star3_sms1, 2, 0, err, sizeof(err));
	assert_non_null(st);
	TAKE(st, a, T0, email, AUDIT_OR_OK);
	TAKE(st, a, T0 + 1, sms, AUDIT_OR_OK);
	take_limit(st, a, T0 + 2, sms, 2, 0, DAY - 1);
	TAKE(st, a, T0 + 3, email, AUDIT_OR_OK);
	take_limit(st, a, T0 + 4, email, 1, 0, WEEK - 4);
	/* the sms window passed, but "*" holds three sends this week */
	take_limit(st, a, T0 + DAY + 1, sms, 2, 1, WEEK - DAY - 1);
	TAKE(st, a, T0 + WEEK, sms, AUDIT_OR_OK);
	audit_or_close(st);
}

static void
test_give_back(void **state)
{
	struct audit_outreach		*st;
	const struct audit_or_limit	 day[] = { { 0, 1, DAY } };
	const struct audit_or_limit	 week[] = { { 0, 3, WEEK } };
	char				 a[23], b[23], err[128];

	(void)state;
	fp_of(30, a);
	fp_of(31, b);
	st = audit_or_open(NULL, star3, 1, 0, err, sizeof(err));
	assert_non_null(st);
	TAKE(st, a, T0, day, AUDIT_OR_OK);
	take_limit(st, a, T0 + 5, day, 1, 0, DAY - 5);
	audit_or_give_back(st, a, T0, day, 1);
	TAKE(st, a, T0 + 5, day, AUDIT_OR_OK);
	/* nothing to give back: no-ops */
	audit_or_give_back(st, a, T0 + 6, day, 1);
	audit_or_give_back(st, b, T0, day, 1);
	take_limit(st, a, T0 + 6, day, 1, 0, DAY - 1);

	/*
	 * Exactness when the ring is full: three daily sends fill it, a
	 * fourth pushes the oldest out and is given back; the weekly limit
	 * must again see all three.
	 */
	TAKE(st, b, T0, day, AUDIT_OR_OK);
	TAKE(st, b, T0 + DAY, day, AUDIT_OR_OK);
	TAKE(st, b, T0 + 2 * DAY, day, AUDIT_OR_OK);
	TAKE(st, b, T0 + 3 * DAY, day, AUDIT_OR_OK);
	audit_or_give_back(st, b, T0 + 3 * DAY, day, 1);
	take_limit(st, b, T0 + 3 * DAY + 1, week, 1, 0, WEEK - 3 * DAY - 1);
	audit_or_close(st);
}

static void
test_full_and_reuse(void **state)
{
	struct audit_outreach		*st;
	struct audit_or_counters	 c;
	const struct audit_or_limit	 lim[] = { { 0, 1, DAY }, { 0, 3, WEEK } };
	char				 fp[8][23], err[128];
	size_t				 i, n;

	(void)state;
	for (i = 0; i < 8; i++)
		fp_of(40 + (uint32_t)i, fp[i]);
	st = audit_or_open(NULL, star3, 1, 4, err, sizeof(err));
	assert_non_null(st);
	for (i = 0; i < 4; i++)
		TAKE(st, fp[i], T0, lim, AUDIT_OR_OK);
	errno = 0;
	TAKE(st, fp[4], T0, lim, AUDIT_OR_FULL);
	assert_int_equal(errno, ENOSPC);
	/* tracked ones go on as before */
	take_limit(st, fp[0], T0 + 1, lim, 2, 0, DAY - 1);
	TAKE(st, fp[0], T0 + DAY, lim, AUDIT_OR_OK);
	/* fp[1..3] are live until a week has passed since their send */
	TAKE(st, fp[4], T0 + WEEK - 1, lim, AUDIT_OR_FULL);
	audit_or_stats(st, &n, NULL);
	assert_int_equal(n, 4);
	TAKE(st, fp[4], T0 + WEEK, lim, AUDIT_OR_OK);
	TAKE(st, fp[5], T0 + WEEK, lim, AUDIT_OR_OK);
	TAKE(st, fp[6], T0 + WEEK, lim, AUDIT_OR_OK);
	/* fp[0] sent at T0+DAY: still live, so the table is full again */
	TAKE(st, fp[7], T0 + WEEK, lim, AUDIT_OR_FULL);
	audit_or_stats(st, &n, NULL);
	assert_true(n <= 4);
	/* a reused slot starts empty: fp[1]'s old sends are gone with it */
	take_limit(st, fp[4], T0 + WEEK + 1, lim, 2, 0, DAY - 1);
	TAKE(st, fp[7], T0 + WEEK + DAY, lim, AUDIT_OR_OK);
	audit_or_get_counters(st, &c);
	assert_int_equal(c.full, 3);
	assert_int_equal(c.horizon_s, WEEK);
	assert_true(c.recipients <= 4);
	audit_or_close(st);
}

static void
test_invalid(void **state)
{
	struct audit_outreach		*st;
	const struct audit_or_limit	 ok[] = { { 0, 1, DAY } };
	const struct audit_or_limit	 bad_scope[] = { { 1, 1, DAY } };
	const struct audit_or_limit	 bad_max[] = { { 0, 4, DAY } };
	const struct audit_or_limit	 zero_max[] = { { 0, 0, DAY } };
	const struct audit_or_limit	 zero_win[] = { { 0, 1, 0 } };
	const char			*bad_fps[] = { "", "short",
	    "AAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAA",
	    "AAAAAAAAAAAAAAAAAAAA+A", "AAAAAAAAAAAAAAAAAAAA=A",
	    "AAAAAAAAAAAAAAAAAAAA A" };
	const struct audit_or_scope	 dup[] = { { "*", 3 }, { "*", 1 } };
	const struct audit_or_scope	 ring0[] = { { "*", 0 } };
	const struct audit_or_scope	 ring65[] = { { "*", 65 } };
	const struct audit_or_scope	 noname[] = { { NULL, 1 } };
	struct audit_or_scope		 nine[9];
	char				 a[23], err[128];
	size_t				 i;

	(void)state;
	fp_of(50, a);
	st = audit_or_open(NULL, star3, 1, 0, err, sizeof(err));
	assert_non_null(st);
	for (i = 0; i < sizeof(bad_fps) / sizeof(bad_fps[0]); i++) {
		errno = 0;
		TAKE(st, bad_fps[i], T0, ok, AUDIT_OR_FULL);
		assert_int_equal(errno, EINVAL);
		assert_int_equal(audit_or_opted_out(st, bad_fps[i]), 0);
		audit_or_give_back(st, bad_fps[i], T0, ok, 1);
	}
	TAKE(st, NULL, T0, ok, AUDIT_OR_FULL);
	TAKE(st, a, 0, ok, AUDIT_OR_FULL);
	TAKE(st, a, (int64_t)UINT32_MAX + 1, ok, AUDIT_OR_FULL);
	TAKE(st, a, -5, ok, AUDIT_OR_FULL);
	TAKE(st, a, T0, bad_scope, AUDIT_OR_FULL);
	TAKE(st, a, T0, bad_max, AUDIT_OR_FULL);
	TAKE(st, a, T0, zero_max, AUDIT_OR_FULL);
	errno = 0;
	TAKE(st, a, T0, zero_win, AUDIT_OR_FULL);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(audit_or_take(NULL, a, T0, ok, 1, NULL, NULL),
	    AUDIT_OR_FULL);
	/* none of that recorded anything */
	TAKE(st, a, T0, ok, AUDIT_OR_OK);

	/* bad layouts, at open and at change */
	for (i = 0; i < 9; i++)
		nine[i] = (struct audit_or_scope){ "x", 1 };
	assert_null(audit_or_open(NULL, dup, 2, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "twice"));
	assert_null(audit_or_open(NULL, ring0, 1, 0, err, sizeof(err)));
	assert_null(audit_or_open(NULL, ring65, 1, 0, err, sizeof(err)));
	assert_null(audit_or_open(NULL, noname, 1, 0, err, sizeof(err)));
	assert_null(audit_or_open(NULL, nine, 9, 0, err, sizeof(err)));
	assert_null(audit_or_open(NULL, star3, 0, 0, err, sizeof(err)));
	assert_int_equal(audit_or_layout(st, dup, 2, err, sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	take_limit(st, a, T0 + 1, ok, 1, 0, DAY - 1);	/* unchanged */
	audit_or_close(st);
	audit_or_close(NULL);
}

static void
test_layout_change(void **state)
{
	struct audit_outreach		*st;
	const struct audit_or_scope	 l2[] = { { "*", 2 }, { "email", 1 } };
	const struct audit_or_limit	 sms[] = { { 1, 1, DAY }, { 0, 3, WEEK } };
	const struct audit_or_limit	 star_week3[] = { { 0, 3, WEEK } };
	const struct audit_or_limit	 star_week2[] = { { 0, 2, WEEK } };
	const struct audit_or_limit	 email[] = { { 1, 1, DAY } };
	const struct audit_or_limit	 sms_only[] = { { 1, 1, DAY } };
	char				 a[23], b[23], err[128];

	(void)state;
	fp_of(60, a);
	fp_of(61, b);
	st = audit_or_open(NULL, star3_sms1, 2, 0, err, sizeof(err));
	assert_non_null(st);
	TAKE(st, a, T0, sms, AUDIT_OR_OK);
	TAKE(st, a, T0 + DAY, sms, AUDIT_OR_OK);
	TAKE(st, a, T0 + 2 * DAY, sms, AUDIT_OR_OK);
	TAKE(st, b, T0, sms_only, AUDIT_OR_OK);	/* sms only: dropped below */

	/* "*" shrinks to 2 and keeps the newest two; "sms" goes; "email"
	 * starts empty */
	assert_int_equal(audit_or_layout(st, l2, 2, err, sizeof(err)), 0);
	take_limit(st, a, T0 + 2 * DAY + 1, star_week2, 1, 0,
	    DAY + WEEK - 2 * DAY - 1);
	/* a limit above the new ring is refused, fail closed */
	TAKE(st, a, T0 + 2 * DAY + 1, star_week3, AUDIT_OR_FULL);
	TAKE(st, a, T0 + 2 * DAY + 1, email, AUDIT_OR_OK);
	take_limit(st, a, T0 + 2 * DAY + 2, email, 1, 0, DAY - 1);

	/* back to the first layout: "sms" starts empty again; "*" kept its
	 * ring of 2 and the one send past it (kept for give_back), so a
	 * ring of 3 sees all three sends again: more exact, never less */
	assert_int_equal(audit_or_layout(st, star3_sms1, 2, err, sizeof(err)),
	    0);
	TAKE(st, a, T0 + 2 * DAY + 3, sms_only, AUDIT_OR_OK);
	TAKE(st, b, T0 + 2, sms_only, AUDIT_OR_OK);
	take_limit(st, a, T0 + 3 * DAY, star_week3, 1, 0, WEEK - 3 * DAY);
	TAKE(st, a, T0 + WEEK, star_week3, AUDIT_OR_OK);
	audit_or_close(st);
}

/*
 * Many recipients coming and going: growth, sweeps of dead entries (the
 * backward-shift deletion) and reclaim at the cap all run, and every
 * verdict is checked against a model: a recipient is live while its last
 * send is within the window; a recipient that is not live is refused FULL
 * exactly when <max> others are.
 */
#define SW_IDS		12000
#define SW_W		1000

static void
test_churn_model(void **state)
{
	struct audit_outreach		*st;
	const struct audit_or_scope	 one[] = { { "*", 1 } };
	const struct audit_or_limit	 lim[] = { { 0, 1, SW_W } };
	int64_t				*last, now, prev = -1, retry;
	char				 fp[23], err[128];
	uint32_t			 rnd = 1;
	size_t				 live = 0, max = 1500, k, id, i, which;
	size_t				 nfull = 0, nlimit = 0, n;
	int				 r, v;

	(void)state;
	assert_non_null(last = calloc(SW_IDS, sizeof(*last)));
	st = audit_or_open(NULL, one, 1, max, err, sizeof(err));
	assert_non_null(st);
	for (r = 0; r < 20; r++) {
		for (k = 0; k < 2000; k++) {
			now = T0 + r * 600 + (int64_t)k / 100;
			if (now != prev) {
				for (i = 0, live = 0; i < SW_IDS; i++)
					live += last[i] != 0 &&
					    last[i] + SW_W > now;
				prev = now;
			}
			rnd = rnd * 1103515245u + 12345u;
			id = (size_t)r * 500 + (rnd >> 8) % 2000;
			fp_of(500000 + (uint32_t)id, fp);
			v = audit_or_take(st, fp, now, lim, 1, &which, &retry);
			if (last[id] != 0 && last[id] + SW_W > now) {
				assert_int_equal(v, AUDIT_OR_LIMIT);
				assert_int_equal(retry, last[id] + SW_W - now);
				nlimit++;
			} else if (live >= max) {
				assert_int_equal(v, AUDIT_OR_FULL);
				nfull++;
			} else {
				assert_int_equal(v, AUDIT_OR_OK);
				last[id] = now;
				live++;
			}
			audit_or_stats(st, &n, NULL);
			assert_true(n <= max);
		}
	}
	/* the model was exercised in every way */
	assert_true(nfull > 100 && nlimit > 1000);
	audit_or_close(st);
	free(last);
}

/* ------------------------------------------------------------ restart */

struct seen {
	char	fp[4][23];
	int64_t	since[4];
	char	source[4][16];
	size_t	n;
};

static void
collect(void *arg, const struct audit_or_optout *o)
{
	struct seen	*s = arg;

	assert_true(s->n < 4);
	strcpy(s->fp[s->n], o->fp);
	s->since[s->n] = o->since_ms;
	strcpy(s->source[s->n], o->source);
	s->n++;
}

static void
test_restart(void **state)
{
	struct fx			*f = *state;
	struct audit_outreach		*st;
	struct audit_or_counters	 c;
	const struct audit_or_limit	 lim[] = { { 0, 1, DAY }, { 0, 3, WEEK } };
	const struct audit_or_limit	 sms[] = { { 1, 1, DAY } };
	const struct audit_or_scope	 sms_only[] = { { "sms", 1 } };
	const struct audit_or_limit	 sms0[] = { { 0, 1, DAY } };
	char				 a[23], b[23], cc[23], d[23], e[23];
	struct seen			 s;
	size_t				 n;

	fp_of(70, a);
	fp_of(71, b);
	fp_of(72, cc);
	fp_of(73, d);
	fp_of(74, e);
	st = audit_or_open(f->dir, star3_sms1, 2, 0, f->err, sizeof(f->err));
	assert_non_null(st);
	/* one process per state directory */
	assert_null(audit_or_open(f->dir, star3, 1, 0, f->err,
	    sizeof(f->err)));
	assert_non_null(strstr(f->err, "in use"));
	TAKE(st, a, T0, lim, AUDIT_OR_OK);
	TAKE(st, a, T0 + DAY, lim, AUDIT_OR_OK);
	assert_int_equal(audit_or_flush(st), 0);	/* some now, some at close */
	TAKE(st, a, T0 + 2 * DAY, lim, AUDIT_OR_OK);
	TAKE(st, b, T0 + 2 * DAY, lim, AUDIT_OR_OK);
	audit_or_give_back(st, b, T0 + 2 * DAY, lim, 2);
	TAKE(st, cc, T0 + 2 * DAY, sms, AUDIT_OR_OK);
	assert_int_equal(audit_or_optout_add(st, d, "unsubscribe", NULL, NULL,
	    T0 * 1000 + 5, f->err, sizeof(f->err)), 0);
	assert_int_equal(audit_or_optout_add(st, e, "admin", "alice",
	    "asked by phone", T0 * 1000 + 6, f->err, sizeof(f->err)), 0);
	assert_int_equal(audit_or_optout_remove(st, e, "bob", "signed the "
	    "consent form again", T0 * 1000 + 7, f->err, sizeof(f->err)), 0);
	audit_or_close(st);
	/* header, then one record per take and give-back */
	assert_int_equal(file_size(f->dir, "outreach.journal"), 16 + 6 * 16);

	st = audit_or_open(f->dir, star3_sms1, 2, 0, f->err, sizeof(f->err));
	assert_non_null(st);
	/* rewritten at open: a's three, c's one; b's given back */
	assert_int_equal(file_size(f->dir, "outreach.journal"), 16 + 4 * 16);
	audit_or_stats(st, &n, NULL);
	assert_int_equal(n, 2);
	take_limit(st, a, T0 + 2 * DAY + 1, lim, 2, 0, DAY - 1);
	take_limit(st, a, T0 + 3 * DAY, lim, 2, 1, WEEK - 3 * DAY);
	TAKE(st, b, T0 + 2 * DAY + 1, lim, AUDIT_OR_OK);
	take_limit(st, cc, T0 + 2 * DAY + 1, sms, 1, 0, DAY - 1);
	assert_int_equal(audit_or_opted_out(st, d), 1);
	assert_int_equal(audit_or_opted_out(st, e), 0);
	memset(&s, 0, sizeof(s));
	audit_or_optout_each(st, collect, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.fp[0], d);
	assert_int_equal(s.since[0], T0 * 1000 + 5);
	assert_string_equal(s.source[0], "unsubscribe");
	audit_or_get_counters(st, &c);
	assert_int_equal(c.horizon_s, WEEK);	/* from the journal header */
	assert_int_equal(c.rewrites, 1);
	assert_int_equal(c.write_errors, 0);
	assert_int_equal(c.optouts, 1);
	audit_or_close(st);

	/* another layout: records of scopes it lacks are skipped */
	st = audit_or_open(f->dir, sms_only, 1, 0, f->err, sizeof(f->err));
	assert_non_null(st);
	TAKE(st, a, T0 + 2 * DAY + 1, sms0, AUDIT_OR_OK);
	take_limit(st, cc, T0 + 2 * DAY + 1, sms0, 1, 0, DAY - 1);
	audit_or_close(st);
}

static void
test_torn_journal(void **state)
{
	struct fx			*f = *state;
	struct audit_outreach		*st;
	const struct audit_or_limit	 lim[] = { { 0, 1, DAY } };
	char				 a[23], b[23], path[128];
	int				 fd;

	fp_of(80, a);
	fp_of(81, b);
	snprintf(path, sizeof(path), "%s/outreach.journal", f->dir);
	st = audit_or_open(f->dir, star3, 1, 0, f->err, sizeof(f->err));
	assert_non_null(st);
	TAKE(st, a, T0, lim, AUDIT_OR_OK);
	assert_int_equal(audit_or_flush(st), 0);
	TAKE(st, b, T0, lim, AUDIT_OR_OK);
	audit_or_close(st);
	assert_int_equal(file_size(f->dir, "outreach.journal"), 48);

	/* a crash in the middle of b's record: b's send is lost, a's kept */
	assert_int_equal(truncate(path, 48 - 5), 0);
	st = audit_or_open(f->dir, star3, 1, 0, f->err, sizeof(f->err));
	assert_non_null(st);
	assert_int_equal(file_size(f->dir, "outreach.journal"), 32);
	take_limit(st, a, T0 + 1, lim, 1, 0, DAY - 1);
	TAKE(st, b, T0 + 1, lim, AUDIT_OR_OK);
	audit_or_close(st);

	/* trailing garbage shorter than a record is ignored too */
	assert_true((fd = open(path, O_WRONLY | O_APPEND)) >= 0);
	assert_int_equal(write(fd, "\x01\x02\x03\x04\x05\x06\x07", 7), 7);
	close(fd);
	st = audit_or_open(f->dir, star3, 1, 0, f->err, sizeof(f->err));
	assert_non_null(st);
	assert_int_equal(file_size(f->dir, "outreach.journal") % 16, 0);
	take_limit(st, a, T0 + 2, lim, 1, 0, DAY - 2);
	take_limit(st, b, T0 + 2, lim, 1, 0, DAY - 1);
	audit_or_close(st);

	/* not a journal: refused, not overwritten */
	assert_true((fd = open(path, O_WRONLY | O_TRUNC)) >= 0);
	assert_int_equal(write(fd, "something else entirely", 23), 23);
	close(fd);
	assert_null(audit_or_open(f->dir, star3, 1, 0, f->err,
	    sizeof(f->err)));
	assert_non_null(strstr(f->err, "not an outreach journal"));
	assert_int_equal(file_size(f->dir, "outreach.journal"), 23);
	assert_int_equal(truncate(path, 5), 0);
	assert_null(audit_or_open(f->dir, star3, 1, 0, f->err,
	    sizeof(f->err)));
	assert_int_equal(file_size(f->dir, "outreach.journal"), 5);
	/* an empty one is no journal yet */
	assert_int_equal(truncate(path, 0), 0);
	st = audit_or_open(f->dir, star3, 1, 0, f->err, sizeof(f->err));
	assert_non_null(st);
	TAKE(st, a, T0 + 3, lim, AUDIT_OR_OK);
	audit_or_close(st);
}

static void
test_compaction(void **state)
{
	struct fx			*f = *state;
	struct audit_outreach		*st;
	struct audit_or_counters	 c;
	const struct audit_or_scope	 one[] = { { "*", 1 } };
	const struct audit_or_limit	 lim[] = { { 0, 1, 1 } };
	char				 a[23];
	int64_t				 i, n = 70000;

	fp_of(90, a);
	st = audit_or_open(f->dir, one, 1, 0, f->err, sizeof(f->err));
	assert_non_null(st);
	for (i = 0; i < n; i++) {
		TAKE(st, a, T0 + i, lim, AUDIT_OR_OK);
		if (i % 10000 == 9999)
			assert_int_equal(audit_or_flush(st), 0);
	}
	/* 70000 records, over 1 MiB, for two live times (ring and spare):
	 * rewritten once it passed 1 MiB, so it is small again */
	assert_int_equal(audit_or_flush(st), 0);
	audit_or_get_counters(st, &c);
	assert_int_equal(c.rewrites, 2);
	assert_true(c.journal_bytes < (1u << 20) / 4);
	assert_int_equal((off_t)c.journal_bytes,
	    file_size(f->dir, "outreach.journal"));
	assert_int_equal(c.pending, 0);
	audit_or_close(st);
	st = audit_or_open(f->dir, one, 1, 0, f->err, sizeof(f->err));
	assert_non_null(st);
	assert_int_equal(file_size(f->dir, "outreach.journal"), 16 + 2 * 16);
	take_limit(st, a, T0 + n - 1, lim, 1, 0, 1);
	TAKE(st, a, T0 + n, lim, AUDIT_OR_OK);
	audit_or_close(st);
}

/* ----------------------------------------------------------- opt-outs */

static void
test_optouts(void **state)
{
	struct fx		*f = *state;
	struct audit_outreach	*st;
	struct seen		 s;
	char			 a[23], b[23], c[23];
	size_t			 i;

	fp_of(100, a);
	fp_of(101, b);
	fp_of(102, c);
	st = audit_or_open(f->dir, star3, 1, 0, f->err, sizeof(f->err));
	assert_non_null(st);
	assert_int_equal(audit_or_optout_count(st), 0);
	assert_int_equal(audit_or_optout_add(st, a, "unsubscribe", NULL,
	    "link in the message", 1000, f->err, sizeof(f->err)), 0);
	assert_int_equal(audit_or_optout_add(st, a, "admin", "alice", NULL,
	    2000, f->err, sizeof(f->err)), 1);
	assert_int_equal(audit_or_optout_add(st, b, "admin", "alice",
	    "asked by phone", 3000, f->err, sizeof(f->err)), 0);
	assert_int_equal(audit_or_opted_out(st, a), 1);
	assert_int_equal(audit_or_opted_out(st, b), 1);
	assert_int_equal(audit_or_opted_out(st, c), 0);
	assert_int_equal(audit_or_optout_count(st), 2);

	/* refused */
	assert_int_equal(audit_or_optout_add(st, "not-a-fingerprint", "admin",
	    NULL, NULL, 1, f->err, sizeof(f->err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(f->err, "fingerprint"));
	assert_int_equal(audit_or_optout_add(st, c, "robot", NULL, NULL, 1,
	    f->err, sizeof(f->err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(audit_or_optout_add(st, c, NULL, NULL, NULL, 1,
	    f->err, sizeof(f->err)), -1);
	assert_int_equal(audit_or_optout_remove(st, a, "bob", NULL, 4000,
	    f->err, sizeof(f->err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(audit_or_optout_remove(st, a, "bob", "", 4000,
	    f->err, sizeof(f->err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(audit_or_optout_remove(st, c, "bob", "re-consent",
	    4000, f->err, sizeof(f->err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(audit_or_optout_remove(st, "AAAA", "bob", "r", 4000,
	    f->err, sizeof(f->err)), -1);
	assert_int_equal(errno, EINVAL);

	/* remove, then remove again */
	assert_int_equal(audit_or_optout_remove(st, a, "bob", "signed the "
	    "consent form", 5000, f->err, sizeof(f->err)), 0);
	assert_int_equal(audit_or_opted_out(st, a), 0);
	assert_int_equal(audit_or_optout_remove(st, a, "bob", "again", 6000,
	    f->err, sizeof(f->err)), -1);
	assert_int_equal(errno, ENOENT);
	memset(&s, 0, sizeof(s));
	audit_or_optout_each(st, collect, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.fp[0], b);
	assert_int_equal(s.since[0], 3000);
	assert_string_equal(s.source[0], "admin");

	/* a opts out again; many more to make the set grow */
	assert_int_equal(audit_or_optout_add(st, a, "admin", NULL, NULL, 7000,
	    f->err, sizeof(f->err)), 0);
	for (i = 0; i < 100; i++) {
		fp_of(1000 + (uint32_t)i, c);
		assert_int_equal(audit_or_optout_add(st, c, "unsubscribe",
		    NULL, NULL, 8000, f->err, sizeof(f->err)), 0);
	}
	assert_int_equal(audit_or_optout_count(st), 102);
	audit_or_close(st);

	st = audit_or_open(f->dir, star3, 1, 0, f->err, sizeof(f->err));
	assert_non_null(st);
	assert_int_equal(audit_or_optout_count(st), 102);
	assert_int_equal(audit_or_opted_out(st, a), 1);
	assert_int_equal(audit_or_opted_out(st, b), 1);
	assert_int_equal(audit_or_opted_out(st, c), 1);
	fp_of(2000, c);
	assert_int_equal(audit_or_opted_out(st, c), 0);
	audit_or_close(st);

	/* memory only: the same, without a file */
	st = audit_or_open(NULL, star3, 1, 0, f->err, sizeof(f->err));
	assert_non_null(st);
	assert_int_equal(audit_or_optout_add(st, a, "admin", NULL, NULL, 1,
	    f->err, sizeof(f->err)), 0);
	assert_int_equal(audit_or_opted_out(st, a), 1);
	assert_int_equal(audit_or_optout_remove(st, a, NULL, "ok", 2, f->err,
	    sizeof(f->err)), 0);
	assert_int_equal(audit_or_optout_count(st), 0);
	audit_or_close(st);
}

/* Reads the file whole; the caller frees. */
static char *
slurp(const char *path, size_t *len)
{
	FILE	*fp = fopen(path, "r");
	char	*buf;
	long	 n;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static void
spit(const char *path, const char *buf, size_t len)
{
	FILE	*fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	fclose(fp);
}

static void
test_optouts_edited(void **state)
{
	struct fx		*f = *state;
	struct audit_outreach	*st;
	char			 a[23], b[23], path[128], *buf, *p, *nl;
	char			*torn;
	size_t			 len;

	fp_of(110, a);
	fp_of(111, b);
	snprintf(path, sizeof(path), "%s/optouts.jsonl", f->dir);
	st = audit_or_open(f->dir, star3, 1, 0, f->err, sizeof(f->err));
	assert_non_null(st);
	assert_int_equal(audit_or_optout_add(st, a, "admin", "alice",
	    "asked by phone", 1700000000123, f->err, sizeof(f->err)), 0);
	assert_int_equal(audit_or_optout_add(st, b, "unsubscribe", NULL, NULL,
	    1700000000456, f->err, sizeof(f->err)), 0);
	audit_or_close(st);

	buf = slurp(path, &len);
	/* the records as documented, and never an address */
	assert_non_null(strstr(buf, "{\"seq\":1,\"time\":\"2023-11-14T22:13:20."
	    "123Z\",\"op\":\"optout\",\"fingerprint\":\""));
	assert_non_null(strstr(buf, "\"source\":\"admin\",\"author\":\"alice\","
	    "\"reason\":\"asked by phone\",\"prev\":\"0000"));
	assert_non_null(strstr(buf, "\"source\":\"unsubscribe\",\"author\":"
	    "null,\"reason\":null,\"prev\":"));
	assert_null(strchr(buf, '@'));

	/* alice becomes bobby on line 1: refused at open */
	p = strstr(buf, "alice");
	memcpy(p, "bobby", 5);
	spit(path, buf, len);
	assert_null(audit_or_open(f->dir, star3, 1, 0, f->err,
	    sizeof(f->err)));
	assert_non_null(strstr(f->err, "optouts.jsonl:1: hash mismatch"));
	memcpy(p, "alice", 5);

	/* line 1 deleted: line 2 no longer follows */
	nl = strchr(buf, '\n');
	spit(path, nl + 1, len - (size_t)(nl + 1 - buf));
	assert_null(audit_or_open(f->dir, star3, 1, 0, f->err,
	    sizeof(f->err)));
	assert_non_null(strstr(f->err, "optouts.jsonl:1: chain broken"));

	/* restored, plus a torn last line (a crash before its fsync: never
	 * acknowledged): cut off at open */
	torn = malloc(len + 9);
	assert_non_null(torn);
	memcpy(torn, buf, len);
	memcpy(torn + len, "{\"seq\":3,", 9);
	spit(path, torn, len + 9);
	st = audit_or_open(f->dir, star3, 1, 0, f->err, sizeof(f->err));
	assert_non_null(st);
	assert_int_equal(audit_or_optout_count(st), 2);
	assert_int_equal(audit_or_opted_out(st, a), 1);
	audit_or_close(st);
	assert_int_equal(file_size(f->dir, "optouts.jsonl"), (off_t)len);
	free(torn);
	free(buf);
}

/* ------------------------------------------------------------ threads */

#define HAMMER		20000
#define SPREAD		5000

struct hammer {
	struct audit_outreach	*st;
	const char		*fp;
	int			 id;
	int			 phase;
	int64_t			*admitted;	/* times, phase 2 */
	size_t			 nadmitted;
};

static void *
hammer_main(void *arg)
{
	struct hammer			*h = arg;
	const struct audit_or_limit	 week3[] = { { 0, 3, WEEK } };
	const struct audit_or_limit	 per100[] = { { 0, 2, 100 } };
	const struct audit_or_limit	 day1[] = { { 0, 1, DAY } };
	char				 fp[23];
	int64_t				 now;
	int				 i, r;

	for (i = 0; i < HAMMER; i++) {
		switch (h->phase) {
		case 1:
			/* the same second, the same recipient */
			if (audit_or_take(h->st, h->fp, T0, week3, 1, NULL,
			    NULL) == AUDIT_OR_OK)
				h->nadmitted++;
			break;
		case 2:
			/* time moving on, each thread at its own pace */
			now = T0 + WEEK + i / 4;
			r = audit_or_take(h->st, h->fp, now, per100, 1, NULL,
			    NULL);
			if (r == AUDIT_OR_OK)
				h->admitted[h->nadmitted++] = now;
			break;
		default:
			/* distinct recipients, each once a day for 4 days:
			 * the table grows under both threads */
			fp_of((uint32_t)(1000000 * h->id + i % SPREAD), fp);
			now = T0 + 2 * WEEK + (int64_t)(i / SPREAD) * DAY;
			r = audit_or_take(h->st, fp, now, day1, 1, NULL, NULL);
			if (r == AUDIT_OR_OK)
				h->nadmitted++;
			break;
		}
	}
	return NULL;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void
test_threads(void **state)
{
	struct audit_outreach		*st;
	const struct audit_or_scope	 alt[] = { { "*", 3 }, { "sms", 2 } };
	struct hammer			 h[2];
	pthread_t			 th[2];
	char				 a[23], err[128];
	int64_t				*all;
	size_t				 n, k;
	int				 phase, j;

	(void)state;
	fp_of(120, a);
	st = audit_or_open(NULL, star3, 1, 0, err, sizeof(err));
	assert_non_null(st);
	for (phase = 1; phase <= 3; phase++) {
		memset(h, 0, sizeof(h));
		for (j = 0; j < 2; j++) {
			h[j].st = st;
			h[j].fp = a;
			h[j].id = j + 1;
			h[j].phase = phase;
			h[j].admitted = calloc(HAMMER, sizeof(int64_t));
			assert_non_null(h[j].admitted);
			assert_int_equal(pthread_create(&th[j], NULL,
			    hammer_main, &h[j]), 0);
		}
		if (phase == 3) {
			/* policy reloads while the workers take */
			for (j = 0; j < 20; j++) {
				assert_int_equal(audit_or_layout(st, j % 2 ?
				    star3 : alt, j % 2 ? 1 : 2, err,
				    sizeof(err)), 0);
				usleep(1000);
			}
		}
		for (j = 0; j < 2; j++)
			pthread_join(th[j], NULL);
		switch (phase) {
		case 1:
			assert_int_equal(h[0].nadmitted + h[1].nadmitted, 3);
			break;
		case 2:
			/* no 100-second window ever held more than two */
			n = h[0].nadmitted + h[1].nadmitted;
			assert_true(n >= 2);
			all = calloc(n, sizeof(*all));
			assert_non_null(all);
			memcpy(all, h[0].admitted, h[0].nadmitted * 8);
			memcpy(all + h[0].nadmitted, h[1].admitted,
			    h[1].nadmitted * 8);
			qsort(all, n, sizeof(*all), cmp64);
			for (k = 2; k < n; k++)
				assert_true(all[k] - all[k - 2] >= 100);
			free(all);
			break;
		case 3:
			for (j = 0; j < 2; j++)
				assert_int_equal(h[j].nadmitted,
				    HAMMER / SPREAD * SPREAD);
			/* a's entry is dead by now: it may be gone */
			audit_or_stats(st, &n, NULL);
			assert_true(n >= 2 * SPREAD && n <= 1 + 2 * SPREAD);
			break;
		}
		for (j = 0; j < 2; j++)
			free(h[j].admitted);
	}
	audit_or_close(st);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_limit_edges),
		cmocka_unit_test(test_two_windows),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_give_back),
		cmocka_unit_test(test_full_and_reuse),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_layout_change),
		cmocka_unit_test(test_churn_model),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_journal, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_optouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_optouts_edited, setup,
		    teardown),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
