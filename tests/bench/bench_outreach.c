/* tests/bench/bench_outreach.c — the outreach store's take() rate with one
 * and two threads, its memory per recipient, and the journal (flush, then
 * restart: replay and rewrite). Prints figures; never fails on time. Usage:
 * bench_outreach [RECIPIENTS] (default 1000000); layout {"*",3}, limits
 * 1/24h and 3/7d. The journal goes to a temporary directory under $TMPDIR
 * (default /tmp), removed at the end. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1		/* nftw */
#endif
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit/audit.h"

#define T0	1700000000LL
#define DAY	86400

static const struct audit_or_scope	layout[] = { { "*", 3 } };
static const struct audit_or_limit	limits[] = { { 0, 1, DAY },
					    { 0, 3, 7 * DAY } };

/* The passes every recipient goes through, and the verdict expected:
 * a first send, a refusal by the daily limit, two more sends a day apart,
 * a refusal by the weekly one. */
static const struct {
	int64_t	at;
	int	want;
} passes[] = {
	{ T0, AUDIT_OR_OK },
	{ T0 + 3600, AUDIT_OR_LIMIT },
	{ T0 + DAY, AUDIT_OR_OK },
	{ T0 + 2 * DAY, AUDIT_OR_OK },
	{ T0 + 3 * DAY, AUDIT_OR_LIMIT },
};
#define NPASSES	(sizeof(passes) / sizeof(passes[0]))
#define RUNS	3

struct worker {
	struct audit_outreach	*st;
	char			(*fps)[AUDIT_OR_FP_LEN + 1];
	size_t			 from, to;
	size_t			 pass_from, pass_to;
	uint64_t		 wrong;
};

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
rss_kb(const char *field)
{
	FILE	*f = fopen("/proc/self/status", "r");
	char	 line[256];
	long	 kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, strlen(field)) == 0)
			kb = atol(line + strlen(field));
	fclose(f);
	return kb;
}

static const char *
loadavg(char *buf, size_t size)
{
	FILE	*f = fopen("/proc/loadavg", "r");
	char	*sp;

	snprintf(buf, size, "?");
	if (f != NULL && fgets(buf, (int)size, f) != NULL &&
	    (sp = strchr(buf, ' ')) != NULL &&
	    (sp = strchr(sp + 1, ' ')) != NULL &&
	    (sp = strchr(sp + 1, ' ')) != NULL)
		*sp = '\0';
	if (f != NULL)
		fclose(f);
	return buf;
}

static void *
work(void *arg)
{
	struct worker	*w = arg;
	size_t		 p, i;

	for (p = w->pass_from; p < w->pass_to; p++)
		for (i = w->from; i < w->to; i++)
			if (audit_or_take(w->st, w->fps[i], passes[p].at,
			    limits, 2, NULL, NULL) != passes[p].want)
				w->wrong++;
	return NULL;
}

/* Runs passes [pf, pt) over every recipient with <nthreads> threads, each
 * on its own slice. Returns the seconds taken; adds wrong verdicts. */
static double
run(struct audit_outreach *st, char (*fps)[AUDIT_OR_FP_LEN + 1], size_t n,
    int nthreads, size_t pf, size_t pt, uint64_t *wrong)
{
	struct worker	w[2];
	pthread_t	th[2];
	double		t0;
	int		i;

	memset(w, 0, sizeof(w));
	t0 = now_s();
	for (i = 0; i < nthreads; i++) {
		w[i].st = st;
		w[i].fps = fps;
		w[i].from = n * (size_t)i / (size_t)nthreads;
		w[i].to = n * (size_t)(i + 1) / (size_t)nthreads;
		w[i].pass_from = pf;
		w[i].pass_to = pt;
		if (nthreads == 1)
			work(&w[i]);
		else
			pthread_create(&th[i], NULL, work, &w[i]);
	}
	for (i = 0; nthreads > 1 && i < nthreads; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < nthreads; i++)
		*wrong += w[i].wrong;
	return now_s() - t0;
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

int
main(int argc, char **argv)
{
	size_t			 n = argc > 1 ? (size_t)atol(argv[1]) : 1000000;
	char			(*fps)[AUDIT_OR_FP_LEN + 1];
	char			 err[256], dir[256];
	const char		*tmp = getenv("TMPDIR");
	struct audit_outreach	*st;
	struct audit_or_counters c;
	uint8_t			 b[16];
	uint64_t		 wrong = 0;
	size_t			 i, recipients, bytes;
	static const struct audit_or_scope two[] = { { "*", 3 }, { "sms", 1 } };
	double			 t1, tall, tflush, tl = 0, best1, bestall;
	long			 rss0, rss1 = 0;
	int			 threads, r;
	char			 la[64];

	if (sodium_init() < 0 || n == 0 ||
	    (fps = calloc(n, sizeof(*fps))) == NULL)
		return 1;
	/* fingerprints from a counter, formatted like real ones */
	memset(b, 0, sizeof(b));
	for (i = 0; i < n; i++) {
		memcpy(b, &i, sizeof(i));
		sodium_bin2base64(fps[i], sizeof(fps[i]), b, sizeof(b),
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	}
	printf("outreach store (%zu recipients, layout {\"*\",3}, limits "
	    "1/24h and 3/7d; %zu takes per recipient)\n", n, NPASSES);

	printf("  (%ld CPUs, load average %s; best of %d runs, each on a fresh "
	    "store)\n", sysconf(_SC_NPROCESSORS_ONLN), loadavg(la, sizeof(la)),
	    RUNS);
	for (threads = 1; threads <= 2; threads++) {
		best1 = bestall = 0;
		for (r = 0; r < RUNS; r++) {
			rss0 = rss_kb("VmRSS:");
			if ((st = audit_or_open(NULL, layout, 1, 0, err,
			    sizeof(err))) == NULL) {
				fprintf(stderr, "audit_or_open: %s\n", err);
				return 1;
			}
			t1 = run(st, fps, n, threads, 0, 1, &wrong);
			tall = t1 + run(st, fps, n, threads, 1, NPASSES, &wrong);
			if (best1 == 0 || t1 < best1)
				best1 = t1;
			if (bestall == 0 || tall < bestall)
				bestall = tall;
			if (threads == 1 && r == 0) {
				rss1 = rss_kb("VmRSS:");
				audit_or_stats(st, &recipients, &bytes);
				/* a policy reload: every shard locked for
				 * one copying pass */
				tl = now_s();
				if (audit_or_layout(st, two, 2, err,
				    sizeof(err)) < 0)
					fprintf(stderr, "audit_or_layout: %s\n",
					    err);
				tl = now_s() - tl;
			}
			audit_or_close(st);
		}
		printf("  %d thread%s:\n", threads, threads > 1 ? "s" : "");
		printf("    first sends:    %10.0f takes/s (new recipients, "
		    "table growth included)\n", (double)n / best1);
		printf("    all takes:      %10.0f checks/s (%.0f per thread), "
		    "%.3f s\n", (double)n * NPASSES / bestall,
		    (double)n * NPASSES / bestall / threads, bestall);
		if (threads > 1)
			continue;
		printf("    memory:         %zu recipients, %zu table bytes: "
		    "%.1f B per recipient, %.1f B per recipient-window "
		    "(target <= 64)\n", recipients, bytes,
		    (double)bytes / (double)recipients,
		    (double)bytes / (double)recipients / 2);
		printf("    RSS:            +%.1f MiB for the store (%.1f B per "
		    "recipient)\n", (double)(rss1 - rss0) / 1024,
		    (double)(rss1 - rss0) * 1024 / (double)recipients);
		printf("    layout change:  %.1f ms for {\"*\",3} -> "
		    "{\"*\",3},{\"sms\",1} (allocation included)\n",
		    tl * 1000);
	}

	/* the journal: first sends with a flush every 64Ki takes (a 250 ms
	 * timer at 256k takes/s), then a restart */
	snprintf(dir, sizeof(dir), "%s/custos-bench-outreach-XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if ((st = audit_or_open(dir, layout, 1, 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "audit_or_open: %s\n", err);
		return 1;
	}
	tflush = 0;
	t1 = now_s();
	for (i = 0; i < n; i++) {
		if (audit_or_take(st, fps[i], T0, limits, 2, NULL, NULL) !=
		    AUDIT_OR_OK)
			wrong++;
		if (i % 65536 == 65535) {
			tall = now_s();
			if (audit_or_flush(st) < 0)
				perror("audit_or_flush");
			tflush += now_s() - tall;
		}
	}
	audit_or_close(st);
	t1 = now_s() - t1;
	tall = now_s();
	if ((st = audit_or_open(dir, layout, 1, 0, err, sizeof(err))) == NULL) {
		fprintf(stderr, "audit_or_open: %s\n", err);
		return 1;
	}
	tall = now_s() - tall;
	audit_or_get_counters(st, &c);
	printf("  journal (%s):\n", dir);
	printf("    first sends:    %10.0f takes/s with flushes (%.3f s, of "
	    "which flush %.3f s)\n", (double)n / t1, t1, tflush);
	printf("    restart:        %.3f s to replay and rewrite %zu "
	    "recipients (%.1f MiB journal)\n", tall, c.recipients,
	    (double)c.journal_bytes / (1 << 20));
	if (c.recipients != n)
		wrong++;
	audit_or_close(st);
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	printf("  peak RSS:         %.1f MiB (with %.1f MiB of fingerprints)\n",
	    (double)rss_kb("VmHWM:") / 1024,
	    (double)(n * sizeof(*fps)) / (1 << 20));
	if (wrong != 0)
		printf("  WRONG VERDICTS:   %" PRIu64 "\n", wrong);
	free(fps);
	return wrong == 0 ? 0 : 1;
}
