/* tests/bench/bench_classifiers.c — classifier throughput on one core:
 * short field values per second (with and without field names) and MB/s of
 * free-text span finding on a notes corpus built from
 * tests/data/classify/text.tsv. Prints figures; never fails on time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classifiers/classifiers.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A CRM customer record's fields, as the proxy sees them. */
static const struct {
	const char	*name;
	const char	*value;
	enum cls_vtype	 type;
} rec[] = {
	{ "id", "cus_8f14e45fceea167a", CLS_V_STRING },
	{ "name", "Li Lei", CLS_V_STRING },
	{ "email", "li.lei@example.com", CLS_V_STRING },
	{ "phone", "+86 138 0013 8000", CLS_V_STRING },
	{ "mobile", "13800138000", CLS_V_NUMBER },
	{ "company", "ACME Trading Ltd", CLS_V_STRING },
	{ "status", "active", CLS_V_STRING },
	{ "amount", "1299.00", CLS_V_NUMBER },
	{ "created_at", "2024-01-15T10:20:30Z", CLS_V_STRING },
	{ "id_number", "11010519491231002X", CLS_V_STRING },
	{ "card_no", "4111 1111 1111 1111", CLS_V_STRING },
	{ "city", "Shanghai", CLS_V_STRING },
	{ "owner_id", "4711", CLS_V_NUMBER },
	{ "stage", "negotiation", CLS_V_STRING },
	{ "ip", "203.0.113.7", CLS_V_STRING },
	{ "iban", "DE89370400440532013000", CLS_V_STRING },
};
#define NREC	(sizeof(rec) / sizeof(rec[0]))

static void
bench_values(const struct cls_set *set, struct cls_scratch *scr, int names)
{
	struct cls_match m[32];
	size_t iters = 4000000, found = 0;
	double t0, dt;

	t0 = now();
	for (size_t i = 0; i < iters; i++) {
		const struct cls_field f = {
			names ? rec[i % NREC].name : NULL,
			names ? strlen(rec[i % NREC].name) : 0, NULL,
			rec[i % NREC].value, strlen(rec[i % NREC].value),
			rec[i % NREC].type,
		};

		found += cls_classify(set, scr, &f, m, 32);
	}
	dt = now() - t0;
	printf("short values%s: %.2f M values/s (%.0f ns/value, %zu matches)\n",
	    names ? " with field names" : ", no field names",
	    (double)iters / dt / 1e6, dt / (double)iters * 1e9, found);
}

/* Prose that CRM notes are mostly made of. */
static const char *const prose[] = {
	"Customer called about the renewal of the enterprise plan and asked "
	"whether the discount from last year still applies. ",
	"Follow up next week with the updated quote; procurement needs it "
	"before the end of the quarter. ",
	"客户来电咨询续费事宜，希望在本季度末之前收到新的报价单，并确认折扣。 ",
	"Meeting went well, the team is evaluating two other vendors but "
	"prefers our integration story. ",
	"Sent the contract draft on 2024-03-12, legal review pending, order "
	"ORD-2024-000123 total 12,990.00 USD. ",
};

/* Notes of ~2 KB: prose with, every few sentences, one line of
 * tests/data/classify/text.tsv (dense: ~2 identifiers per line); or (dense)
 * those lines alone. */
static void
bench_text(const struct cls_set *set, struct cls_scratch *scr, int dense)
{
	FILE *f = fopen("tests/data/classify/text.tsv", "r");
	char *line = NULL, *corpus = NULL;
	size_t cap = 0, len = 0, ccap = 0, nnotes = 0, found = 0, bytes = 0;
	size_t k = 0;
	ssize_t n;
	double t0, dt;
	static struct cls_match m[4096];

	if (f == NULL) {
		perror("tests/data/classify/text.tsv");
		return;
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		char *tab = strchr(line, '\t');
		size_t l, pl = 0;

		if (tab == NULL)
			continue;
		l = strlen(tab + 1);
		if (!dense)
			for (int j = 0; j < 4; j++)
				pl += strlen(prose[(k + (size_t)j) % 5]);
		if (len + l + pl + 1 > ccap) {
			ccap = (ccap + l + pl + 1) * 2;
			if ((corpus = realloc(corpus, ccap)) == NULL)
				return;
		}
		if (!dense)
			for (int j = 0; j < 4; j++, k++) {
				memcpy(corpus + len, prose[k % 5],
				    strlen(prose[k % 5]));
				len += strlen(prose[k % 5]);
			}
		memcpy(corpus + len, tab + 1, l);
		len += l;
		corpus[len - 1] = ' ';
	}
	fclose(f);
	free(line);
	t0 = now();
	while (now() - t0 < 2.0) {
		for (size_t off = 0; off < len; off += 2048) {
			size_t l = len - off < 2048 ? len - off : 2048;
			struct cls_field fl = { "notes", 5, NULL, corpus + off, l,
			    CLS_V_STRING };

			found += cls_classify(set, scr, &fl, m, 4096);
			bytes += l;
			nnotes++;
		}
	}
	dt = now() - t0;
	printf("free text, %s (%zu KB corpus in 2 KB notes): %.0f MB/s "
	    "(%.1f spans per KB)\n", dense ? "dense identifiers only" :
	    "notes: prose + 1 line of identifiers per ~450 bytes", len / 1024,
	    (double)bytes / dt / 1e6, (double)found / ((double)bytes / 1024));
	free(corpus);
}

int
main(void)
{
	struct cls_set *set = cls_set_builtin();
	struct cls_scratch *scr = cls_scratch_new();

	if (set == NULL || scr == NULL)
		return 1;
	printf("bench_classifiers: built-in set (%zu classes), one thread\n",
	    cls_set_count(set));
	bench_values(set, scr, 1);
	bench_values(set, scr, 0);
	bench_text(set, scr, 0);
	bench_text(set, scr, 1);
	cls_scratch_free(scr);
	cls_set_free(set);
	return 0;
}
