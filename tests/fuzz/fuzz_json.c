/* tests/fuzz/fuzz_json.c — libFuzzer target for the streaming JSON
 * rewriter: no crash, and split-invariance, identity and well-formed
 * output of edits. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proxy/json.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define BYTE_BY_BYTE	SIZE_MAX

struct run {
	enum json_status	 st;
	const char		*err;
	uint64_t		 off;
	char			*out;
	size_t			 len;
};

/* How the editing visitor picks an action: from a seed (first input
 * byte) and the value itself, so every split sees the same choices. */
struct edit_ud {
	unsigned	 seed;
};

static enum json_action
keep_all(void *ud, const struct json_path *pa, const struct json_value *v,
    struct json_edit *e)
{
	char	 buf[64];

	(void)ud;
	(void)v;
	(void)e;
	/* Exercise path formatting, including truncation. */
	json_path_format(pa, buf, sizeof(buf), json_path_depth(pa) & 1);
	return JSON_KEEP;
}

static enum json_action
edit_some(void *ud, const struct json_path *pa, const struct json_value *v,
    struct json_edit *e)
{
	static const char weird[] = "q\"\\\n\x01\xff\xc3\xa9\xe2\x80\xa8 \0x";
	struct edit_ud	*eu = ud;
	unsigned	 h = eu->seed * 31u + (unsigned)v->type * 7u +
	    (unsigned)json_path_depth(pa) * 13u + (unsigned)v->len;

	if (v->type == JSON_STRING && (eu->seed & 1))
		h = 2;		/* the "replace every string" visitor */
	switch (h % 5) {
	case 0:
		return JSON_KEEP;
	case 1:
		return JSON_REMOVE;
	case 2:
		json_edit_string(e, weird, sizeof(weird) - 1);
		return JSON_REPLACE;
	case 3:
		json_edit_raw(e, "[1,{\"a\":null}]", 14);
		return JSON_REPLACE;
	default:
		return JSON_REPLACE;	/* no edit: null */
	}
}

static void
run(const uint8_t *p, size_t n, size_t cut, const struct json_limits *lim,
    json_visit_fn fn, void *ud, struct run *r)
{
	struct json_rw	*rw = json_rw_new(lim, fn, ud);
	struct evbuffer	*out = evbuffer_new();
	enum json_status st;

	if (rw == NULL || out == NULL)
		abort();
	if (cut == BYTE_BY_BYTE) {
		for (cut = 0, st = JSON_NEED_MORE; cut < n &&
		    st == JSON_NEED_MORE; cut++)
			st = json_rw_feed(rw, (const char *)p + cut, 1, out);
	} else {
		st = json_rw_feed(rw, (const char *)p, cut, out);
		if (st == JSON_NEED_MORE)
			st = json_rw_feed(rw, (const char *)p + cut, n - cut,
			    out);
	}
	if (st == JSON_NEED_MORE)
		st = json_rw_finish(rw, out);
	r->st = st;
	r->err = json_rw_error(rw);
	r->off = json_rw_error_offset(rw);
	r->len = evbuffer_get_length(out);
	if ((r->out = malloc(r->len + 1)) == NULL)
		abort();
	evbuffer_remove(out, r->out, r->len);
	json_rw_free(rw);
	evbuffer_free(out);
}

static void
same(const struct run *a, const struct run *b)
{
	if (a->st != b->st || strcmp(a->err, b->err) != 0 || a->off != b->off)
		abort();
	if (a->st == JSON_DONE &&
	    (a->len != b->len || memcmp(a->out, b->out, a->len) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_limits	 lim = { 32, 64, 0, 0, 0 };
	struct edit_ud		 eu;
	struct run		 w, s, k, e, es, re;
	const uint8_t		*p;
	size_t			 n, cut, skip;

	/* Byte 0: options; byte 1: where to cut; the rest is the body.
	 * Bodies stay far below the 64 KiB whitespace bound so that a
	 * visitor never changes the verdict. */
	if (size < 2 || size > 32768)
		return 0;
	lim.ndjson = data[0] & 1;
	lim.allow_bom = (data[0] >> 1) & 1;
	if (data[0] & 4)
		lim.max_body = (uint64_t)(size - 2) / 2 + 1;
	eu.seed = data[0] >> 3;
	p = data + 2;
	n = size - 2;
	cut = n ? (size_t)data[1] * 257u % (n + 1) : 0;

	/* (1) Split or whole: the same verdict and output. */
	run(p, n, n, &lim, NULL, NULL, &w);
	run(p, n, cut, &lim, NULL, NULL, &s);
	same(&w, &s);

	/* (2) A keep-everything visitor: the same verdict, and the output
	 * is the input byte for byte (less a BOM it may drop). */
	run(p, n, cut, &lim, keep_all, NULL, &k);
	if (k.st != w.st || strcmp(k.err, w.err) != 0 || k.off != w.off)
		abort();
	if (w.st == JSON_DONE) {
		skip = lim.allow_bom && n >= 3 && memcmp(p, "\xef\xbb\xbf", 3)
		    == 0 ? 3 : 0;
		if (w.len != n - skip || memcmp(w.out, p + skip, w.len) != 0 ||
		    k.len != w.len || memcmp(k.out, w.out, w.len) != 0)
			abort();
	}

	/* (3) An editing visitor: split-invariant, and what it writes for
	 * an accepted body is valid JSON again. */
	run(p, n, n, &lim, edit_some, &eu, &e);
	run(p, n, cut, &lim, edit_some, &eu, &es);
	same(&e, &es);
	if (n <= 512) {
		free(es.out);
		run(p, n, BYTE_BY_BYTE, &lim, edit_some, &eu, &es);
		same(&e, &es);
	}
	if (e.st == JSON_DONE) {
		lim.allow_bom = 0;
		lim.max_body = 0;
		lim.max_string = 4096;
		lim.max_depth = 64;	/* raw edits nest two deeper */
		run((const uint8_t *)e.out, e.len, e.len / 2, &lim, NULL, NULL,
		    &re);
		if (re.st != JSON_DONE) {
			fprintf(stderr, "rewritten output rejected: %s @%llu\n",
			    re.err, (unsigned long long)re.off);
			abort();
		}
		free(re.out);
	}
	free(w.out);
	free(s.out);
	free(k.out);
	free(e.out);
	free(es.out);
	return 0;
}
