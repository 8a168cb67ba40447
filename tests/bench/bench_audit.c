/* tests/bench/bench_audit.c — decision records per second through the audit
 * writer (fsync: batch, signed checkpoints every 1000), then verify speed.
 * Prints figures; never fails on time. Usage:
 * bench_audit [RECORDS] [THREADS] [DECISIONS] (default 1000000, 4, 1); the log goes to a temporary directory under
 * $TMPDIR (default /tmp), removed at the end. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1		/* open_memstream, nftw */
#endif
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "audit/audit.h"

/* Decisions per record: 1 is the example record of DESIGN.md (about 600
 * bytes on disk), 2 a heavier one (about 950). Set once by main. */
static size_t	ndecisions = 1;

struct bench {
	struct audit_log	*log;
	long			 per_thread;
	int			 id;
	uint8_t			 sk[crypto_sign_SECRETKEYBYTES];
};

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
sign_cb(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[64],
    const char **key_id)
{
	(void)key_id;		/* the default, "audit.1" */
	return crypto_sign_detached(sig, NULL, msg, len, ctx);
}

/* A realistic record: two folded decisions with evidence and fingerprints. */
static void
fill(struct audit_rec *r, int t, long i)
{
	char			 rid[48], d1[64], d2[64];
	const char		*roles[] = { "sales_rep" };
	const char		*ev1[] = { "field:email", "value:email" };
	const char		*ev2[] = { "field:phone", "value:cn_mobile" };
	const char		*fp1[] = { "q3J0bGx5X2EtZmluZ2VyA", "Zm9vYmFyYmF6cXV4cXV1" };
	const char		*fp2[] = { "c29tZXRoaW5nLWVsc2UtZg" };
	struct audit_decision	 d[2];
	struct audit_request	 q;

	snprintf(rid, sizeof(rid), "01JDQ%02d%012ld", t, i);
	snprintf(d1, sizeof(d1), "%s.1", rid);
	snprintf(d2, sizeof(d2), "%s.2", rid);
	memset(d, 0, sizeof(d));
	d[0] = (struct audit_decision){ d1, "$.items[*].email", "email",
	    "restricted", "high", ev1, 2, "reps-mask-contacts", "mask", 20,
	    NULL, fp1, 2 };
	d[1] = (struct audit_decision){ d2, "$.items[*].phone", "phone",
	    "restricted", "high", ev2, 2, "reps-mask-contacts", "mask", 20,
	    NULL, fp2, 1 };
	memset(&q, 0, sizeof(q));
	q.request_id = rid;
	q.principal = "rep-app";
	q.roles = roles;
	q.nroles = 1;
	q.route = "GET /api/customers/**";
	q.direction = "response";
	q.policy = "sha256:4b2f0c9d1e7a3b5c";
	q.status = 200;
	q.decisions = d;
	q.ndecisions = ndecisions;
	audit_rec_request(r, &q);
}

static void *
producer(void *arg)
{
	struct bench		*b = arg;
	struct audit_rec	*r = audit_rec_new();
	long			 i;

	for (i = 0; i < b->per_thread; i++) {
		fill(r, b->id, i);
		if (audit_submit(b->log, r, NULL) != 0) {
			perror("audit_submit");
			exit(1);
		}
	}
	audit_rec_free(r);
	return NULL;
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
	long				 total = argc > 1 ? atol(argv[1]) : 1000000;
	int				 nthreads = argc > 2 ? atoi(argv[2]) : 4, i;
	char				 dir[256], err[256];
	const char			*tmp = getenv("TMPDIR");
	uint8_t				 pk[crypto_sign_PUBLICKEYBYTES];
	struct bench			*b;
	pthread_t			*th;
	struct audit_signer		 signer;
	struct audit_opts		 o;
	struct audit_log		*l;
	struct audit_stats		 st;
	struct audit_verify_report	 rep;
	struct audit_pubkey		 pub;
	double				 t0, t1, t2, t3;
	struct stat			 sb;
	uint64_t			 bytes = 0;
	unsigned			 n;

	if (argc > 3)
		ndecisions = argv[3][0] == '2' ? 2 : 1;
	if (sodium_init() < 0 || total <= 0 || nthreads <= 0)
		return 1;
	snprintf(dir, sizeof(dir), "%s/custos-bench-audit-XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	b = calloc((size_t)nthreads, sizeof(*b));
	th = calloc((size_t)nthreads, sizeof(*th));
	crypto_sign_keypair(pk, b[0].sk);
	signer.sign = sign_cb;
	signer.key_id = "audit.1";
	signer.ctx = b[0].sk;
	memset(&o, 0, sizeof(o));
	o.dir = dir;
	o.fsync = getenv("BENCH_FSYNC_NONE") ? AUDIT_FSYNC_NONE : AUDIT_FSYNC_BATCH;
	o.checkpoint_every = 1000;
	o.signer = &signer;
	if ((l = audit_open(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "audit_open: %s\n", err);
		return 1;
	}
	t0 = now_s();
	for (i = 0; i < nthreads; i++) {
		b[i].log = l;
		b[i].id = i;
		b[i].per_thread = total / nthreads;
		pthread_create(&th[i], NULL, producer, &b[i]);
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	t1 = now_s();
	audit_get_stats(l, &st);
	audit_wait_durable(l, st.submitted, -1);
	t2 = now_s();
	audit_get_stats(l, &st);
	if (audit_close(l) != 0)
		fprintf(stderr, "audit_close failed\n");
	for (n = 1;; n++) {
		char path[300];

		snprintf(path, sizeof(path), "%s/audit-%06u.jsonl", dir, n);
		if (stat(path, &sb) < 0)
			break;
		bytes += (uint64_t)sb.st_size;
	}
	total = (total / nthreads) * nthreads;
	printf("audit writer (fsync %s, checkpoint every 1000, %d producers, "
	    "%zu decision(s) per record)\n", o.fsync == AUDIT_FSYNC_NONE ?
	    "none" : "batch", nthreads, ndecisions);
	printf("  records:          %ld (%.0f bytes each)\n", total,
	    (double)bytes / (double)(st.seq > 0 ? st.seq : 1));
	printf("  submit done in:   %.3f s\n", t1 - t0);
	printf("  durable after:    %.3f s\n", t2 - t0);
	printf("  throughput:       %.0f records/s durable, %.1f MB/s\n",
	    (double)total / (t2 - t0), (double)bytes / (t2 - t0) / 1e6);
	printf("  batches:          %" PRIu64 " (%.0f records per fsync), "
	    "%" PRIu64 " fsyncs, %" PRIu64 " checkpoints\n", st.batches,
	    (double)st.seq / (double)(st.fsyncs ? st.fsyncs : 1), st.fsyncs,
	    st.checkpoints);

	if (getenv("BENCH_NO_VERIFY")) {
		nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		return 0;
	}
	strcpy(pub.key_id, "audit.1");
	memcpy(pub.pk, pk, 32);
	t2 = now_s();
	i = audit_verify(dir, &pub, 1, 0, &rep);
	t3 = now_s();
	printf("audit verify (with signatures)\n");
	printf("  result:           %s, %" PRIu64 " records, %" PRIu64
	    " signatures\n", i == 0 ? "intact" : rep.error, rep.records,
	    rep.signatures_checked);
	printf("  throughput:       %.0f records/s, %.1f MB/s\n",
	    (double)rep.records / (t3 - t2), (double)bytes / (t3 - t2) / 1e6);
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(b);
	free(th);
	return i == 0 ? 0 : 1;
}
