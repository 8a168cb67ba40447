/* tests/bench/bench_json.c — throughput of the streaming JSON rewriter
 * against a jansson DOM baseline on generated CRM documents.  Prints
 * figures only; never passes or fails on time. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "proxy/json.h"

/* Captured before jansson's header renames nothing of ours: jansson also
 * defines JSON_STRING etc., so its names are mapped away below. */
enum { RW_STRING = JSON_STRING };

#define JSON_OBJECT	JANSSON_OBJECT
#define JSON_ARRAY	JANSSON_ARRAY
#define JSON_STRING	JANSSON_STRING
#define JSON_INTEGER	JANSSON_INTEGER
#define JSON_REAL	JANSSON_REAL
#define JSON_TRUE	JANSSON_TRUE
#define JSON_FALSE	JANSSON_FALSE
#define JSON_NULL	JANSSON_NULL
#include <jansson.h>

#define CHUNK		65536	/* what a socket read typically hands over */
#define BENCH_SECONDS	1.0

struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static void
bput(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 4096;
		if ((b->p = realloc(b->p, b->cap)) == NULL) {
			perror("realloc");
			exit(1);
		}
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
bputs(struct buf *b, const char *s)
{
	bput(b, s, strlen(s));
}

static uint32_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 16);
}

static const char *first[] = { "Anna", "James", "Wei", "Lukas", "Noah",
    "Jing", "Min", "David", "周", "黄", "吴", "张" };
static const char *last[] = { "Zhou", "Nguyen", "Müller", "Garcia", "Kim",
    "Wang", "涛", "艳", "秀英", "敏" };
static const char *notes[] = {
	"Churn risk: competitor offered 20% off.",
	"Renewal due next quarter; procurement is slow.",
	"Met at the trade fair in Shenzhen. Asked for a volume discount.",
	"Interested in the analytics add-on.",
	"Alt contact: yan.yang397@example.net.",
	"客户希望下季度续约，联系电话 13800138000。",
};
static const char *stages[] = { "qualified", "won", "proposal", "lost" };
static const char *roles[] = { "it", "buyer", "finance", "legal" };

/* One customer object, like tests/data/crm-customers.json. */
static void
customer(struct buf *b, uint64_t *s, unsigned id)
{
	char	 t[512];
	unsigned k, nc;

	snprintf(t, sizeof(t), "{\"id\":%u,\"name\":\"%s %s\","
	    "\"email\":\"%s.%s%u@example.com\",\"phone\":\"+86153%08u\","
	    "\"id_number\":\"1101011957%08u\",\"card\":\"4111%012u\","
	    "\"address\":\"%u Renmin Rd, Suite %u\",\"notes\":\"%s %s\","
	    "\"owner\":\"rep_%03u\",\"stage\":\"%s\",\"amount\":%u.%02u,"
	    "\"created_at\":\"2024-10-21T11:39:00Z\","
	    "\"tags\":[\"enterprise\",\"apac\"],\"contacts\":[",
	    id, first[rnd(s) % 12], last[rnd(s) % 10], "qiang", "liu",
	    rnd(s) % 1000, rnd(s) % 100000000u, rnd(s) % 100000000u,
	    rnd(s) % 1000000000u, rnd(s) % 10000, rnd(s) % 1000,
	    notes[rnd(s) % 6], notes[rnd(s) % 6], rnd(s) % 100,
	    stages[rnd(s) % 4], rnd(s) % 300000, rnd(s) % 100);
	bputs(b, t);
	nc = 1 + rnd(s) % 3;
	for (k = 0; k < nc; k++) {
		snprintf(t, sizeof(t), "%s{\"name\":\"%s %s\",\"role\":\"%s\","
		    "\"email\":\"david.nguyen%u@example.org\","
		    "\"phone\":\"+8615154%06u\"}", k ? "," : "",
		    first[rnd(s) % 12], last[rnd(s) % 10], roles[rnd(s) % 4],
		    rnd(s) % 1000, rnd(s) % 1000000);
		bputs(b, t);
	}
	bputs(b, "]}");
}

static void
gen_doc(struct buf *b, size_t target)
{
	uint64_t	 s = 42;
	unsigned	 id = 100000;

	bputs(b, "{\"object\":\"list\",\"dataset\":\"bench\",\"customers\":[");
	while (b->len < target) {
		if (id > 100000)
			bputs(b, ",");
		customer(b, &s, id++);
	}
	bputs(b, "]}");
}

static void
gen_ndjson(struct buf *b, size_t target)
{
	uint64_t	 s = 7;
	unsigned	 id = 100000;

	while (b->len < target) {
		customer(b, &s, id++);
		bputs(b, "\n");
	}
}

/* CPU time of this thread: the figures are per core, and other work on a
 * shared machine does not count against them. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static enum json_action
keep_all(void *ud, const struct json_path *pa, const struct json_value *v,
    struct json_edit *e)
{
	(void)ud;
	(void)pa;
	(void)v;
	(void)e;
	return JSON_KEEP;
}

static enum json_action
replace_email(void *ud, const struct json_path *pa,
    const struct json_value *v, struct json_edit *e)
{
	const char	*k;
	size_t		 kl, d;
	uint64_t	 idx;

	(void)ud;
	if ((int)v->type != RW_STRING || (d = json_path_depth(pa)) == 0)
		return JSON_KEEP;
	if (json_path_seg(pa, d - 1, &k, &kl, &idx) != 1 || kl != 5 ||
	    memcmp(k, "email", 5) != 0)
		return JSON_KEEP;
	json_edit_string(e, "[REDACTED:email]", 16);
	return JSON_REPLACE;
}

/* Rewrites doc once, in CHUNK-sized pieces, into out.  The output is
 * drained after every chunk, as the proxy does when it writes to the
 * client: letting a whole 1 MB body pile up and then freeing it makes
 * glibc give the memory back to the kernel each time, and the page faults
 * of getting it back cost more than the rewriting. */
static int
rw_once(struct json_rw *rw, const struct buf *doc, struct evbuffer *out)
{
	size_t		 at, n;
	enum json_status st = JSON_NEED_MORE;

	json_rw_reset(rw);
	for (at = 0; at < doc->len && st == JSON_NEED_MORE; at += n) {
		n = doc->len - at < CHUNK ? doc->len - at : CHUNK;
		st = json_rw_feed(rw, doc->p + at, n, out);
		evbuffer_drain(out, evbuffer_get_length(out));
	}
	if (st == JSON_NEED_MORE)
		st = json_rw_finish(rw, out);
	evbuffer_drain(out, evbuffer_get_length(out));
	return st == JSON_DONE ? 0 : -1;
}

static void
jwalk(json_t *j)
{
	const char	*key;
	json_t		*v;
	size_t		 i;

	if (json_is_object(j)) {
		json_object_foreach(j, key, v) {
			if (json_is_string(v) && strcmp(key, "email") == 0)
				json_string_set(v, "[REDACTED:email]");
			else
				jwalk(v);
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			jwalk(v);
	}
}

/* The DOM baseline: load, walk (replacing the same strings), dump. */
static int
jansson_once(const char *p, size_t len)
{
	json_error_t	 err;
	json_t		*j;
	char		*s;

	if ((j = json_loadb(p, len, JSON_DECODE_ANY, &err)) == NULL)
		return -1;
	jwalk(j);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL)
		return -1;
	free(s);
	return 0;
}

static int
jansson_doc(const struct buf *doc, int ndjson)
{
	const char	*p = doc->p, *e = doc->p + doc->len, *nl;

	if (!ndjson)
		return jansson_once(p, doc->len);
	for (; p < e; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(e - p))) == NULL)
			nl = e;
		if (nl > p && jansson_once(p, (size_t)(nl - p)) != 0)
			return -1;
	}
	return 0;
}

enum mode { M_SCAN, M_KEEP, M_REPLACE, M_JANSSON };

/* MB/s of one mode on one document, repeating for BENCH_SECONDS. */
static double
measure(const struct buf *doc, int ndjson, enum mode m)
{
	struct json_limits	 lim = { 256, 1024 * 1024, 0, 0, 0 };
	struct json_rw		*rw = NULL;
	struct evbuffer		*out = evbuffer_new();
	double			 t0, t;
	uint64_t		 reps = 0;

	lim.ndjson = ndjson;
	if (m != M_JANSSON)
		rw = json_rw_new(&lim, m == M_SCAN ? NULL : m == M_KEEP ?
		    keep_all : replace_email, NULL);
	if (out == NULL || (m != M_JANSSON && rw == NULL)) {
		fprintf(stderr, "bench: out of memory\n");
		exit(1);
	}
	t0 = now();
	do {
		if ((m == M_JANSSON ? jansson_doc(doc, ndjson) :
		    rw_once(rw, doc, out)) != 0) {
			fprintf(stderr, "bench: document rejected\n");
			exit(1);
		}
		reps++;
	} while ((t = now() - t0) < BENCH_SECONDS);
	json_rw_free(rw);
	evbuffer_free(out);
	return (double)doc->len * (double)reps / t / 1e6;
}

static void
bench(const char *name, const struct buf *doc, int ndjson)
{
	double	 a, k, b, c;

	a = measure(doc, ndjson, M_SCAN);
	k = measure(doc, ndjson, M_KEEP);
	b = measure(doc, ndjson, M_REPLACE);
	c = measure(doc, ndjson, M_JANSSON);
	printf("json %s size: %zu bytes\n", name, doc->len);
	printf("json %s scan: %.1f MB/s\n", name, a);
	printf("json %s scan+keep: %.1f MB/s\n", name, k);
	printf("json %s replace: %.1f MB/s\n", name, b);
	printf("json %s jansson: %.1f MB/s\n", name, c);
	printf("json %s ratio scan/jansson: %.1fx\n", name, a / c);
	printf("json %s ratio keep/jansson: %.1fx\n", name, k / c);
	printf("json %s ratio replace/jansson: %.1fx\n", name, b / c);
	fflush(stdout);
}

int
main(void)
{
	struct buf	 small = { 0 }, large = { 0 }, nd = { 0 };

	gen_doc(&small, 10 * 1024);
	gen_doc(&large, 1024 * 1024);
	gen_ndjson(&nd, 1024 * 1024);
	printf("json bench: chunks of %d bytes, %.0f s of CPU time per figure, "
	    "MB/s per core; scan = no visitor, scan+keep = a visitor keeping "
	    "everything, replace = every string under \"email\" replaced, "
	    "jansson = load + walk (same replacement) + dump\n", CHUNK,
	    BENCH_SECONDS);
	bench("10KB", &small, 0);
	bench("1MB", &large, 0);
	bench("ndjson 1MB", &nd, 1);
	free(small.p);
	free(large.p);
	free(nd.p);
	return 0;
}
