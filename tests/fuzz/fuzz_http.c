/* tests/fuzz/fuzz_http.c — libFuzzer target for the HTTP/1.1 codec: random
 * bytes as a stream of heads and bodies, fed whole and in small pieces; both
 * feeds must reach the same statuses and bodies, and re-chunking a decoded
 * body must decode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proxy/config.h"
#include "proxy/http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(c)	do { if (!(c)) __builtin_trap(); } while (0)

enum { PH_HEAD, PH_BODY, PH_END };

struct engine {
	struct evbuffer		*in, *out;
	struct http_head	 head;
	struct http_body	 body;
	int			 phase;
	int			 is_request;
	unsigned		 req_bit;
	size_t			 max_head;
	uint64_t		 max_body;
	uint64_t		 trace;		/* FNV-1a of events and bodies */
	unsigned		 messages;
};

static void
mix(struct engine *e, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		e->trace = (e->trace ^ b[i]) * 0x100000001b3ULL;
}

static void
event(struct engine *e, int kind, int st)
{
	int v = kind * 16 + st;

	mix(e, &v, sizeof(v));
}

/* Decoded body -> chunked -> decoded again must give the same bytes. */
static void
rechunk(const struct evbuffer *body)
{
	struct evbuffer *copy = evbuffer_new(), *wire = evbuffer_new();
	struct evbuffer *back = evbuffer_new();
	static const char head[] = "POST / HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n";
	struct http_head h;
	struct http_body b;
	const char *why;
	size_t n = evbuffer_get_length(body);
	unsigned char *x, *y;

	CHECK(copy && wire && back);
	x = malloc(n + 1);
	y = malloc(n + 1);
	CHECK(x && y);
	evbuffer_copyout((struct evbuffer *)(uintptr_t)body, x, n);
	evbuffer_add(copy, x, n / 2);
	http_chunk_add(wire, copy);
	evbuffer_add(copy, x + n / 2, n - n / 2);
	http_chunk_add(wire, copy);
	http_chunk_end(wire);
	evbuffer_add(wire, head, sizeof(head) - 1);	/* next message */
	{
		struct evbuffer *hb = evbuffer_new();

		evbuffer_add(hb, head, sizeof(head) - 1);
		CHECK(http_head_parse(&h, hb, 1024, 1, &why) == HTTP_DONE);
		evbuffer_free(hb);
	}
	http_body_init(&b, &h, CFG_M_POST);
	CHECK(http_body_read(&b, wire, back, 0) == HTTP_DONE);
	CHECK(evbuffer_get_length(back) == n);
	CHECK(evbuffer_get_length(wire) == sizeof(head) - 1);
	evbuffer_remove(back, y, n);
	CHECK(memcmp(x, y, n) == 0);
	http_head_clear(&h);
	free(x);
	free(y);
	evbuffer_free(copy);
	evbuffer_free(wire);
	evbuffer_free(back);
}

static void
touch_head(struct engine *e)
{
	const struct http_head *h = &e->head;
	size_t i;
	int hop = 0;

	for (i = 0; i < h->nhdrs; i++) {
		CHECK(h->hdrs[i].name >= h->buf &&
		    h->hdrs[i].value + h->hdrs[i].value_len <= h->buf + h->len);
		hop += http_header_is_hop(h, &h->hdrs[i]);
		hop += http_request_id_valid(h->hdrs[i].value,
		    h->hdrs[i].value_len);
	}
	(void)http_head_get(h, "x-request-id");
	if (h->is_request) {
		CHECK(h->path != NULL && h->target != NULL && h->method);
		mix(e, h->path, strlen(h->path));
	} else
		(void)http_reason(h->status);
	mix(e, &h->content_length, sizeof(h->content_length));
	mix(e, &h->keep_alive, sizeof(h->keep_alive));
	mix(e, &hop, sizeof(hop));
}

/* Runs the codec over whatever is buffered, as a server would. */
static void
run(struct engine *e)
{
	const char *why;
	enum http_status st;

	while (e->phase != PH_END) {
		if (e->phase == PH_HEAD) {
			st = http_head_parse(&e->head, e->in, e->max_head,
			    e->is_request, &why);
			if (st == HTTP_NEED_MORE)
				return;
			event(e, 1, st);
			if (st != HTTP_DONE) {
				CHECK(why != NULL && e->head.buf == NULL);
				e->phase = PH_END;
				return;
			}
			touch_head(e);
			http_body_init(&e->body, &e->head, e->req_bit);
			e->phase = PH_BODY;
		}
		st = http_body_read(&e->body, e->in, e->out, e->max_body);
		if (st == HTTP_NEED_MORE)
			return;
		event(e, 2, st);
		if (st == HTTP_DONE) {
			size_t n = evbuffer_get_length(e->out);
			unsigned char *p = evbuffer_pullup(e->out, -1);

			CHECK(e->max_body == 0 || n <= e->max_body);
			mix(e, &n, sizeof(n));
			if (n > 0)
				mix(e, p, n);
			rechunk(e->out);
			evbuffer_drain(e->out, n);
		}
		http_head_clear(&e->head);
		e->phase = st == HTTP_DONE && ++e->messages < 16 ?
		    PH_HEAD : PH_END;
	}
}

static void
finish(struct engine *e)
{
	if (e->phase == PH_BODY) {
		enum http_status st = http_body_eof(&e->body);

		event(e, 3, st);
		if (st == HTTP_DONE) {
			size_t n = evbuffer_get_length(e->out);

			mix(e, &n, sizeof(n));
			if (n > 0)
				mix(e, evbuffer_pullup(e->out, -1), n);
		}
	}
	http_head_clear(&e->head);
	evbuffer_free(e->in);
	evbuffer_free(e->out);
}

static void
setup(struct engine *e, const uint8_t *cfg)
{
	static const unsigned bits[] = { CFG_M_GET, CFG_M_HEAD, CFG_M_POST,
	    CFG_M_PUT, CFG_M_DELETE, CFG_M_OPTIONS, CFG_M_PATCH, 0 };

	memset(e, 0, sizeof(*e));
	e->in = evbuffer_new();
	e->out = evbuffer_new();
	CHECK(e->in && e->out);
	e->is_request = cfg[0] & 1;
	e->req_bit = bits[(cfg[0] >> 1) & 7];
	e->max_head = 16 + (size_t)cfg[1] * 16;
	e->max_body = (uint64_t)cfg[2] * 8;	/* 0 = no limit */
	e->trace = 0xcbf29ce484222325ULL;
	e->phase = PH_HEAD;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine whole, split;
	size_t off, step;
	uint64_t t1;

	if (size < 4)
		return 0;
	step = 1 + (data[0] >> 4);
	setup(&whole, data);
	setup(&split, data);
	data += 4;
	size -= 4;

	evbuffer_add(whole.in, data, size);
	run(&whole);

	for (off = 0; off < size; off += step) {
		size_t n = size - off < step ? size - off : step;

		/* References are chains of their own: this reaches the
		 * cross-chain paths; plain adds grow the last chain. */
		if ((off / step) & 1)
			evbuffer_add_reference(split.in, data + off, n, NULL,
			    NULL);
		else
			evbuffer_add(split.in, data + off, n);
		run(&split);
	}
	CHECK(whole.messages == split.messages);
	CHECK(whole.phase == split.phase);
	finish(&whole);
	finish(&split);
	t1 = whole.trace;
	CHECK(t1 == split.trace);
	return 0;
}
