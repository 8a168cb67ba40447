/* tests/unit/test_http.c — the HTTP/1.1 codec: heads, framing checks, body
 * readers (fed whole, byte by byte and split at every position). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <event2/buffer.h>

#include "proxy/config.h"
#include "proxy/http.h"

#define H11	"Host: x\r\n"

/* Parses <len> bytes fed at once. Leaves what follows the head in *rest. */
static enum http_status
parse_whole(const char *s, size_t len, size_t max, int is_request,
    struct http_head *h, size_t *rest)
{
	struct evbuffer *in = evbuffer_new();
	const char *why = NULL;
	enum http_status st;

	evbuffer_add(in, s, len);
	st = http_head_parse(h, in, max, is_request, &why);
	if (st == HTTP_BAD || st == HTTP_TOO_LONG)
		assert_non_null(why);
	if (rest != NULL)
		*rest = evbuffer_get_length(in);
	evbuffer_free(in);
	return st;
}

/* The same input fed one byte at a time; every call but the deciding one
 * must ask for more. */
static enum http_status
parse_bytes(const char *s, size_t len, size_t max, int is_request,
    struct http_head *h)
{
	struct evbuffer *in = evbuffer_new();
	const char *why;
	enum http_status st = HTTP_NEED_MORE;
	size_t i;

	for (i = 0; i < len; i++) {
		evbuffer_add(in, s + i, 1);
		st = http_head_parse(h, in, max, is_request, &why);
		if (st != HTTP_NEED_MORE)
			break;
	}
	evbuffer_free(in);
	return st;
}

/* The same input in separate evbuffer chains of <piece> bytes (references
 * are never merged), all present at once: the cross-chain search path. */
static enum http_status
parse_chains(const char *s, size_t len, size_t piece, size_t max,
    int is_request, struct http_head *h, size_t *rest)
{
	struct evbuffer *in = evbuffer_new();
	const char *why;
	enum http_status st;
	size_t off;

	for (off = 0; off < len; off += piece)
		evbuffer_add_reference(in, s + off,
		    len - off < piece ? len - off : piece, NULL, NULL);
	st = http_head_parse(h, in, max, is_request, &why);
	if (rest != NULL)
		*rest = evbuffer_get_length(in);
	evbuffer_free(in);
	return st;
}

static enum http_status
parse_s(const char *s, int is_request, struct http_head *h)
{
	return parse_whole(s, strlen(s), 16384, is_request, h, NULL);
}

static void
test_request_basic(void **state)
{
	static const char req[] =
	    "POST /api/customers/42?fields=a,b&x=%20 HTTP/1.1\r\n"
	    "Host: crm.example\r\n"
	    "content-length:   12  \r\n"
	    "X-Empty:\r\n"
	    "X-Tab:\tv a l\t\r\n"
	    "\r\n"
	    "hello world!";
	struct http_head h, hb;
	const struct http_header *hd;
	size_t rest;

	(void)state;
	assert_int_equal(parse_whole(req, sizeof(req) - 1, 16384, 1, &h, &rest),
	    HTTP_DONE);
	assert_int_equal(rest, 12);
	assert_true(h.is_request);
	assert_string_equal(h.method, "POST");
	assert_int_equal(h.method_bit, CFG_M_POST);
	assert_string_equal(h.target, "/api/customers/42?fields=a,b&x=%20");
	assert_string_equal(h.path, "/api/customers/42");
	assert_string_equal(h.query, "fields=a,b&x=%20");
	assert_int_equal(h.minor, 1);
	assert_int_equal(h.nhdrs, 4);
	assert_int_equal(h.content_length, 12);
	assert_false(h.chunked);
	assert_true(h.keep_alive);
	assert_false(h.expect_continue);
	hd = http_head_get(&h, "CONTENT-LENGTH");
	assert_non_null(hd);
	assert_int_equal(hd->value_len, 2);
	assert_memory_equal(hd->value, "12", 2);
	hd = http_head_get(&h, "x-empty");
	assert_non_null(hd);
	assert_int_equal(hd->value_len, 0);
	hd = http_head_get(&h, "X-Tab");
	assert_int_equal(hd->value_len, 5);
	assert_memory_equal(hd->value, "v a l", 5);
	assert_null(http_head_get(&h, "X-Missing"));
	assert_null(http_head_get(&h, "Host2"));

	/* Byte by byte gives the same head. */
	assert_int_equal(parse_bytes(req, sizeof(req) - 1 - 12, 16384, 1, &hb),
	    HTTP_DONE);
	assert_string_equal(hb.path, h.path);
	assert_string_equal(hb.query, h.query);
	assert_int_equal(hb.nhdrs, h.nhdrs);
	assert_int_equal(hb.len, h.len);
	assert_memory_equal(hb.buf, h.buf, h.len);
	http_head_clear(&hb);
	for (size_t piece = 1; piece < 40; piece += 3) {
		assert_int_equal(parse_chains(req, sizeof(req) - 1, piece,
		    16384, 1, &hb, &rest), HTTP_DONE);
		assert_int_equal(rest, 12);
		assert_int_equal(hb.len, h.len);
		assert_memory_equal(hb.buf, h.buf, h.len);
		assert_string_equal(hb.path, h.path);
		http_head_clear(&hb);
	}
	http_head_clear(&h);
	http_head_clear(&h);	/* twice is fine */
	http_head_clear(NULL);
}

static void
test_request_methods(void **state)
{
	static const struct { const char *m; unsigned bit; } ms[] = {
		{ "GET", CFG_M_GET }, { "HEAD", CFG_M_HEAD },
		{ "POST", CFG_M_POST }, { "PUT", CFG_M_PUT },
		{ "PATCH", CFG_M_PATCH }, { "DELETE", CFG_M_DELETE },
		{ "OPTIONS", CFG_M_OPTIONS }, { "PROPFIND", 0 }, { "get", 0 },
		{ "GETX", 0 },
	};
	struct http_head h;
	char buf[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		snprintf(buf, sizeof(buf), "%s /x HTTP/1.1\r\n" H11 "\r\n",
		    ms[i].m);
		assert_int_equal(parse_s(buf, 1, &h), HTTP_DONE);
		assert_string_equal(h.method, ms[i].m);
		assert_int_equal(h.method_bit, ms[i].bit);
		assert_null(h.query);
		http_head_clear(&h);
	}
	assert_int_equal(parse_s("OPTIONS * HTTP/1.1\r\n" H11 "\r\n", 1, &h),
	    HTTP_DONE);
	assert_string_equal(h.target, "*");
	assert_string_equal(h.path, "*");
	http_head_clear(&h);
	/* An empty query is still a query. */
	assert_int_equal(parse_s("GET /a? HTTP/1.1\r\n" H11 "\r\n", 1, &h),
	    HTTP_DONE);
	assert_string_equal(h.path, "/a");
	assert_string_equal(h.query, "");
	http_head_clear(&h);
	/* HTTP/1.0 needs no Host. */
	assert_int_equal(parse_s("GET / HTTP/1.0\r\n\r\n", 1, &h), HTTP_DONE);
	assert_int_equal(h.minor, 0);
	assert_int_equal(h.nhdrs, 0);
	http_head_clear(&h);
}

static void
test_leading_crlf(void **state)
{
	static const char req[] = "\r\n\r\nGET / HTTP/1.1\r\n" H11 "\r\n";
	struct http_head h;

	(void)state;
	assert_int_equal(parse_s(req, 1, &h), HTTP_DONE);
	assert_string_equal(h.path, "/");
	http_head_clear(&h);
	assert_int_equal(parse_bytes(req, sizeof(req) - 1, 16384, 1, &h),
	    HTTP_DONE);
	assert_string_equal(h.target, "/");
	http_head_clear(&h);
	/* Not for responses. */
	assert_int_equal(parse_s("\r\nHTTP/1.1 200 OK\r\n\r\n", 0, &h),
	    HTTP_BAD);
}

static void
test_response_basic(void **state)
{
	struct http_head h;

	(void)state;
	assert_int_equal(parse_s("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	    0, &h), HTTP_DONE);
	assert_false(h.is_request);
	assert_int_equal(h.status, 200);
	assert_string_equal(h.reason, "OK");
	assert_int_equal(h.content_length, 0);
	assert_true(h.keep_alive);
	assert_null(h.method);
	http_head_clear(&h);

	assert_int_equal(parse_s("HTTP/1.0 404 Not  Found here\r\n\r\n", 0, &h),
	    HTTP_DONE);
	assert_int_equal(h.status, 404);
	assert_int_equal(h.minor, 0);
	assert_string_equal(h.reason, "Not  Found here");
	assert_false(h.keep_alive);
	http_head_clear(&h);

	/* Empty reason, with and without the SP. */
	assert_int_equal(parse_s("HTTP/1.1 204 \r\n\r\n", 0, &h), HTTP_DONE);
	assert_string_equal(h.reason, "");
	http_head_clear(&h);
	assert_int_equal(parse_s("HTTP/1.1 204\r\n\r\n", 0, &h), HTTP_DONE);
	assert_int_equal(h.status, 204);
	http_head_clear(&h);
	/* Responses need no Host; chunked is read. */
	assert_int_equal(parse_s("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "Chunked\r\n\r\n", 0, &h), HTTP_DONE);
	assert_true(h.chunked);
	assert_int_equal(h.content_length, -1);
	http_head_clear(&h);
}

struct reject {
	const char	*in;
	size_t		 len;	/* 0: strlen */
	int		 is_request;
	enum http_status want;
};

#define REQ(s)	{ s, 0, 1, HTTP_BAD }
#define RESP(s)	{ s, 0, 0, HTTP_BAD }

static const struct reject rejects[] = {
	/* framing (smuggling) */
	REQ("POST / HTTP/1.1\r\n" H11 "Content-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"),
	REQ("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n"
	    "Content-Length: 5\r\n\r\n"),
	REQ("POST / HTTP/1.1\r\n" H11 "Content-Length: 5\r\n"
	    "Content-Length: 5\r\n\r\n"),
	REQ("POST / HTTP/1.1\r\n" H11 "Content-Length: 5, 5\r\n\r\n"),
	REQ("POST / HTTP/1.1\r\n" H11 "Content-Length: +5\r\n\r\n"),
	REQ("POST / HTTP/1.1\r\n" H11 "Content-Length: -1\r\n\r\n"),
	REQ("POST / HTTP/1.1\r\n" H11 "Content-Length: 0x10\r\n\r\n"),
	REQ("POST / HTTP/1.1\r\n" H11 "Content-Length: 5 5\r\n\r\n"),
	REQ("POST / HTTP/1.1\r\n" H11 "Content-Length:\r\n\r\n"),
	REQ("POST / HTTP/1.1\r\n" H11
	    "Content-Length: 9223372036854775808\r\n\r\n"),
	REQ("POST / HTTP/1.1\r\n" H11
	    "Content-Length: 99999999999999999999999\r\n\r\n"),
	REQ("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: gzip\r\n\r\n"),
	REQ("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: gzip, chunked\r\n\r\n"),
	REQ("POST / HTTP/1.1\r\n" H11
	    "Transfer-Encoding: chunked, chunked\r\n\r\n"),
	REQ("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"),
	REQ("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: xchunked\r\n\r\n"),
	REQ("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: \"chunked\"\r\n\r\n"),
	REQ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
	RESP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"),
	RESP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
	RESP("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
	/* header syntax */
	REQ("GET / HTTP/1.1\r\n" H11 "X-A: a\r\n b\r\n\r\n"),
	REQ("GET / HTTP/1.1\r\n" H11 "X-A: a\r\n\tb\r\n\r\n"),
	REQ("GET / HTTP/1.1\r\n" " Host: x\r\n\r\n"),
	REQ("GET / HTTP/1.1\r\n" H11 "Content-Length : 5\r\n\r\n"),
	REQ("GET / HTTP/1.1\r\n" H11 "X-A\t: 5\r\n\r\n"),
	REQ("GET / HTTP/1.1\r\n" H11 ": nameless\r\n\r\n"),
	REQ("GET / HTTP/1.1\r\n" H11 "X(A): b\r\n\r\n"),
	REQ("GET / HTTP/1.1\r\n" H11 "X A: b\r\n\r\n"),
	REQ("GET / HTTP/1.1\r\n" H11 "NoColon\r\n\r\n"),
	REQ("GET / HTTP/1.1\r\n" H11 "X-\xc3\xa9: b\r\n\r\n"),
	{ "GET / HTTP/1.1\r\n" H11 "X-A: a\0b\r\n\r\n", 37, 1, HTTP_BAD },
	{ "GET / HTTP/1.1\r\n" H11 "X-\0: ab\r\n\r\n", 36, 1, HTTP_BAD },
	REQ("GET / HTTP/1.1\r\n" H11 "X-A: a\rb\r\n\r\n"),
	REQ("GET / HTTP/1.1\r\n" H11 "X-A: a\nb\r\n\r\n"),
	REQ("GET / HTTP/1.1\r\n" H11 "X-A: a\x01" "b\r\n\r\n"),
	REQ("GET / HTTP/1.1\r\n" H11 "X-A: a\x7f\r\n\r\n"),
	/* bare LF line ends, detected without waiting for the limit */
	REQ("GET / HTTP/1.1\nHost: x\n\n"),
	REQ("GET / HTTP/1.1\r\nHost: x\n\r\n"),
	REQ("GET / HTTP/1.1\nHost: x\r\n\r\n"),
	REQ("GET / HTTP/1.1\r\n\n"),
	RESP("HTTP/1.1 200 OK\n\n"),
	/* request line */
	REQ("GET  / HTTP/1.1\r\n" H11 "\r\n"),
	REQ("GET /  HTTP/1.1\r\n" H11 "\r\n"),
	REQ("GET / HTTP/1.1 \r\n" H11 "\r\n"),
	REQ(" GET / HTTP/1.1\r\n" H11 "\r\n"),
	REQ("GET\t/ HTTP/1.1\r\n" H11 "\r\n"),
	REQ("GET /a\tb HTTP/1.1\r\n" H11 "\r\n"),
	REQ("GET /a\x01 HTTP/1.1\r\n" H11 "\r\n"),
	REQ("GET /a\x7f HTTP/1.1\r\n" H11 "\r\n"),
	REQ("GET http://example.com/ HTTP/1.1\r\n" H11 "\r\n"),
	REQ("CONNECT example.com:443 HTTP/1.1\r\n" H11 "\r\n"),
	REQ("GET * HTTP/1.1\r\n" H11 "\r\n"),
	REQ("G(T / HTTP/1.1\r\n" H11 "\r\n"),
	REQ("GET / HTTP/2.0\r\n" H11 "\r\n"),
	REQ("GET / HTTP/1.2\r\n" H11 "\r\n"),
	REQ("GET / http/1.1\r\n" H11 "\r\n"),
	REQ("GET / HTTP/1.10\r\n" H11 "\r\n"),
	REQ("GET /\r\n" H11 "\r\n"),
	REQ("GET / HTTP/1.1\r\n\r\n"),			/* no Host */
	REQ("GET / HTTP/1.1\r\n" H11 H11 "\r\n"),	/* two */
	{ "\r\n\r\n", 0, 1, HTTP_NEED_MORE },	/* only empty lines */
	/* status line */
	RESP("HTTP/1.1 20 OK\r\n\r\n"),
	RESP("HTTP/1.1 2000 OK\r\n\r\n"),
	RESP("HTTP/1.1 abc OK\r\n\r\n"),
	RESP("HTTP/1.1 099 OK\r\n\r\n"),
	RESP("HTTP/1.1 600 OK\r\n\r\n"),
	RESP("HTTP/1.1 200OK\r\n\r\n"),
	RESP("HTTP/2 200 OK\r\n\r\n"),
	RESP("HTTP/1.1  200 OK\r\n\r\n"),
	RESP("HTTP/1.1 200 O\x01K\r\n\r\n"),
	RESP("ICY 200 OK\r\n\r\n"),
	RESP("\r\n\r\n"),
};

static void
test_rejects(void **state)
{
	struct http_head h;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		const struct reject *r = &rejects[i];
		size_t len = r->len ? r->len : strlen(r->in);
		enum http_status w, b;

		w = parse_whole(r->in, len, 16384, r->is_request, &h, NULL);
		if (w != r->want)
			fail_msg("case %zu: whole: got %d want %d: %s", i,
			    (int)w, (int)r->want, r->in);
		assert_null(h.buf);
		b = parse_bytes(r->in, len, 16384, r->is_request, &h);
		if (b != r->want)
			fail_msg("case %zu: bytewise: got %d want %d: %s", i,
			    (int)b, (int)r->want, r->in);
		assert_null(h.buf);
		for (size_t piece = 1; piece < 8; piece++) {
			b = parse_chains(r->in, len, piece, 16384,
			    r->is_request, &h, NULL);
			if (b != r->want)
				fail_msg("case %zu: chains of %zu: got %d", i,
				    piece, (int)b);
			assert_null(h.buf);
		}
	}
}

static void
test_too_long(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\n" H11 "X-A: 0123456789\r\n"
	    "\r\n";
	size_t n = sizeof(req) - 1;
	struct http_head h;
	char big[4096];

	(void)state;
	/* Exactly at the limit is fine; one byte short is too long. */
	assert_int_equal(parse_whole(req, n, n, 1, &h, NULL), HTTP_DONE);
	http_head_clear(&h);
	assert_int_equal(parse_whole(req, n, n - 1, 1, &h, NULL),
	    HTTP_TOO_LONG);
	assert_int_equal(parse_bytes(req, n, n - 1, 1, &h), HTTP_TOO_LONG);
	assert_int_equal(parse_bytes(req, n, n, 1, &h), HTTP_DONE);
	http_head_clear(&h);
	assert_int_equal(parse_chains(req, n, 5, n, 1, &h, NULL), HTTP_DONE);
	http_head_clear(&h);
	assert_int_equal(parse_chains(req, n, 5, n - 1, 1, &h, NULL),
	    HTTP_TOO_LONG);
	assert_int_equal(parse_chains(req, n - 1, 5, n, 1, &h, NULL),
	    HTTP_NEED_MORE);
	/* Fewer bytes than the limit and no end yet: wait. */
	assert_int_equal(parse_whole(req, n - 1, n, 1, &h, NULL),
	    HTTP_NEED_MORE);
	/* A terminator past the limit does not count. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\n" H11 "X: ", 28);
	memcpy(big + sizeof(big) - 4, "\r\n\r\n", 4);
	assert_int_equal(parse_whole(big, sizeof(big), 1024, 1, &h, NULL),
	    HTTP_TOO_LONG);
	assert_int_equal(parse_whole(big, sizeof(big), 4096, 1, &h, NULL),
	    HTTP_DONE);
	http_head_clear(&h);
}

static void
test_many_headers(void **state)
{
	char buf[16384];
	struct http_head h;
	size_t off, i;

	(void)state;
	off = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n" H11);
	for (i = 0; i < 500; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    "X-%zu: v%zu\r\n", i, i);
	off += (size_t)snprintf(buf + off, sizeof(buf) - off, "\r\n");
	assert_int_equal(parse_whole(buf, off, sizeof(buf), 1, &h, NULL),
	    HTTP_DONE);
	assert_int_equal(h.nhdrs, 501);
	assert_int_equal(h.hdrs[500].name_len, 5);
	assert_memory_equal(h.hdrs[500].name, "X-499", 5);
	assert_memory_equal(h.hdrs[500].value, "v499", 4);
	http_head_clear(&h);
}

static void
test_keep_alive(void **state)
{
	static const struct { const char *in; int ka, cont; } cs[] = {
		{ "GET / HTTP/1.1\r\n" H11 "\r\n", 1, 0 },
		{ "GET / HTTP/1.1\r\n" H11 "Connection: close\r\n\r\n", 0, 0 },
		{ "GET / HTTP/1.1\r\n" H11 "Connection: CLOSE\r\n\r\n", 0, 0 },
		{ "GET / HTTP/1.1\r\n" H11 "Connection: te,  Close \r\n\r\n",
		    0, 0 },
		{ "GET / HTTP/1.1\r\n" H11 "Connection: keep-alive\r\n"
		    "Connection: close\r\n\r\n", 0, 0 },
		{ "GET / HTTP/1.1\r\n" H11 "Connection: closed\r\n\r\n", 1, 0 },
		{ "GET / HTTP/1.1\r\n" H11 "Connection: x-close\r\n\r\n", 1, 0 },
		{ "GET / HTTP/1.0\r\n\r\n", 0, 0 },
		{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1, 0 },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
		    0, 0 },
		{ "PUT / HTTP/1.1\r\n" H11 "Expect: 100-continue\r\n"
		    "Content-Length: 3\r\n\r\n", 1, 1 },
		{ "PUT / HTTP/1.1\r\n" H11 "Expect: 100-Continue\r\n\r\n",
		    1, 1 },
		{ "PUT / HTTP/1.1\r\n" H11 "Expect: 200-ok\r\n\r\n", 1, 0 },
		{ "PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", 0, 0 },
	};
	struct http_head h;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		assert_int_equal(parse_s(cs[i].in, 1, &h), HTTP_DONE);
		if (h.keep_alive != cs[i].ka || h.expect_continue != cs[i].cont)
			fail_msg("case %zu: keep_alive %d expect %d: %s", i,
			    h.keep_alive, h.expect_continue, cs[i].in);
		http_head_clear(&h);
	}
	assert_int_equal(parse_s("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
	    0, &h), HTTP_DONE);
	assert_false(h.keep_alive);
	http_head_clear(&h);
	assert_int_equal(parse_s("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
	    "\r\n", 0, &h), HTTP_DONE);
	assert_true(h.keep_alive);
	http_head_clear(&h);
}

static void
test_hop_headers(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\n" H11
	    "Connection: keep-alive, X-Secret ,Upgrade\r\n"
	    "connection: x-other\r\n"
	    "Keep-Alive: timeout=5\r\n"
	    "Proxy-Connection: keep-alive\r\n"
	    "TE: trailers\r\n"
	    "Trailer: X-T\r\n"
	    "Upgrade: websocket\r\n"
	    "Proxy-Authorization: Basic x\r\n"
	    "Proxy-Authenticate: Basic\r\n"
	    "x-secret: 1\r\n"
	    "X-Other: 2\r\n"
	    "X-Secrets: 3\r\n"
	    "Accept: */*\r\n"
	    "Authorization: Bearer k\r\n"
	    "\r\n";
	static const int hop[] = { 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0 };
	struct http_head h;
	size_t i;

	(void)state;
	assert_int_equal(parse_s(req, 1, &h), HTTP_DONE);
	assert_int_equal(h.nhdrs, sizeof(hop) / sizeof(hop[0]));
	for (i = 0; i < h.nhdrs; i++)
		if (http_header_is_hop(&h, &h.hdrs[i]) != hop[i])
			fail_msg("header %zu (%.*s): hop %d", i,
			    (int)h.hdrs[i].name_len, h.hdrs[i].name, hop[i]);
	http_head_clear(&h);

	assert_int_equal(parse_s("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding-X: 1\r\nContent-Type: a/b\r\n"
	    "Transfer_Encoding: chunked\r\nCONTENT_LENGTH: 1\r\n"
	    "X_Other: 1\r\n\r\n", 0, &h), HTTP_DONE);
	assert_true(http_header_is_hop(&h, &h.hdrs[0]));
	assert_false(http_header_is_hop(&h, &h.hdrs[1]));
	assert_false(http_header_is_hop(&h, &h.hdrs[2]));
	/* '_' folded to '-' by some upstreams: hop-by-hop too. */
	assert_true(http_header_is_hop(&h, &h.hdrs[3]));
	assert_true(http_header_is_hop(&h, &h.hdrs[4]));
	assert_false(http_header_is_hop(&h, &h.hdrs[5]));
	assert_int_equal(h.content_length, 3);
	assert_false(h.chunked);
	http_head_clear(&h);
}

static void
test_request_id(void **state)
{
	char id[80];

	(void)state;
	assert_true(http_request_id_valid("a", 1));
	assert_true(http_request_id_valid("01HZX-abc_def.1:2", 17));
	memset(id, 'a', sizeof(id));
	assert_true(http_request_id_valid(id, 64));
	assert_false(http_request_id_valid(id, 65));
	assert_false(http_request_id_valid(id, 0));
	assert_false(http_request_id_valid(NULL, 0));
	assert_false(http_request_id_valid("a b", 3));
	assert_false(http_request_id_valid("a/b", 3));
	assert_false(http_request_id_valid("a\"b", 3));
	assert_false(http_request_id_valid("a\0b", 3));
	assert_false(http_request_id_valid("a\r\nX: 1", 8));
	assert_false(http_request_id_valid("\xc3\xa9", 2));
	assert_false(http_request_id_valid("a+b", 3));
}

static void
test_reason(void **state)
{
	(void)state;
	assert_string_equal(http_reason(200), "OK");
	assert_string_equal(http_reason(404), "Not Found");
	assert_string_equal(http_reason(405), "Method Not Allowed");
	assert_string_equal(http_reason(413), "Content Too Large");
	assert_string_equal(http_reason(429), "Too Many Requests");
	assert_string_equal(http_reason(431), "Request Header Fields Too Large");
	assert_string_equal(http_reason(451), "Unavailable For Legal Reasons");
	assert_string_equal(http_reason(502), "Bad Gateway");
	assert_string_equal(http_reason(503), "Service Unavailable");
	assert_string_equal(http_reason(504), "Gateway Timeout");
	assert_string_equal(http_reason(799), "Unknown");
	assert_string_equal(http_reason(-1), "Unknown");
}

/*
 * Body helpers. read_split() feeds <body> in two parts split at <at>, the
 * first part and then the rest; read_bytes() one byte at a time. Both
 * return the final status and the decoded output; *left is what stays in
 * the input after the body.
 */
#define CHAINS	((size_t)-1)	/* step: all at once, chains of <at> bytes */

static enum http_status
body_feed(const char *head, const char *body, size_t blen, unsigned req_bit,
    uint64_t max, size_t step, size_t at, char *out, size_t *olen,
    size_t *left)
{
	struct evbuffer *in = evbuffer_new(), *ob = evbuffer_new();
	struct http_head h;
	struct http_body b;
	enum http_status st = HTTP_NEED_MORE;
	size_t off = 0;

	assert_int_equal(parse_s(head, strstr(head, "HTTP/1.") == head ? 0 : 1,
	    &h), HTTP_DONE);
	http_body_init(&b, &h, req_bit);
	if (step == 0) {
		/* Two parts; after the last byte one call must be enough. */
		evbuffer_add(in, body, at);
		off = at;
		st = http_body_read(&b, in, ob, max);
		if (st == HTTP_NEED_MORE && off < blen) {
			evbuffer_add(in, body + off, blen - off);
			off = blen;
			st = http_body_read(&b, in, ob, max);
		}
	} else if (step == CHAINS) {
		/* All of it at once, in separate chains of <at> bytes. */
		for (off = 0; off < blen; off += at)
			evbuffer_add_reference(in, body + off,
			    blen - off < at ? blen - off : at, NULL, NULL);
		off = blen;
		st = http_body_read(&b, in, ob, max);
	} else {
		if (blen == 0)
			st = http_body_read(&b, in, ob, max);
		while (off < blen) {
			size_t n = blen - off < step ? blen - off : step;

			evbuffer_add(in, body + off, n);
			off += n;
			st = http_body_read(&b, in, ob, max);
			if (st != HTTP_NEED_MORE)
				break;
		}
	}
	*olen = evbuffer_get_length(ob);
	assert_true(*olen < 4096);
	evbuffer_remove(ob, out, *olen);
	out[*olen] = '\0';
	*left = evbuffer_get_length(in) + (blen - off);
	if (st == HTTP_NEED_MORE && http_body_until_close(&b))
		st = http_body_eof(&b);
	http_head_clear(&h);
	evbuffer_free(in);
	evbuffer_free(ob);
	return st;
}

#define POST_CHUNKED	"POST /u HTTP/1.1\r\n" H11 \
			"Transfer-Encoding: chunked\r\n\r\n"

static void
check_every_split(const char *head, const char *body, uint64_t max,
    enum http_status want, const char *want_out, size_t want_left)
{
	size_t blen = strlen(body), at, olen, left;
	char out[4096];
	enum http_status st;

	for (at = 0; at <= blen; at++) {
		st = body_feed(head, body, blen, 0, max, 0, at, out, &olen,
		    &left);
		if (st != want)
			fail_msg("split at %zu: status %d want %d", at, (int)st,
			    (int)want);
		if (want_out != NULL) {
			assert_string_equal(out, want_out);
			assert_int_equal(left, want_left);
		}
	}
	st = body_feed(head, body, blen, 0, max, 1, 0, out, &olen, &left);
	assert_int_equal(st, want);
	if (want_out != NULL) {
		assert_string_equal(out, want_out);
		assert_int_equal(left, want_left);
	}
	for (at = 1; at < 8; at++) {
		st = body_feed(head, body, blen, 0, max, CHAINS, at, out,
		    &olen, &left);
		if (st != want)
			fail_msg("chains of %zu: status %d want %d", at,
			    (int)st, (int)want);
		if (want_out != NULL) {
			assert_string_equal(out, want_out);
			assert_int_equal(left, want_left);
		}
	}
}

static void
test_body_chunked(void **state)
{
	(void)state;
	check_every_split(POST_CHUNKED, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
	    "GET", 0, HTTP_DONE, "hello world", 3);
	/* extensions, upper-case hex, leading zeros, trailers */
	check_every_split(POST_CHUNKED, "0005;a=b ; c=\"d e\"\r\nhello\r\n"
	    "A \t;x\r\n0123456789\r\n0;end\r\nX-Trailer: 1\r\nX-B: 2\r\n\r\n",
	    0, HTTP_DONE, "hello0123456789", 0);
	check_every_split(POST_CHUNKED, "0\r\n\r\n", 0, HTTP_DONE, "", 0);
	/* the limit counts decoded bytes */
	check_every_split(POST_CHUNKED, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
	    11, HTTP_DONE, "hello world", 0);
	check_every_split(POST_CHUNKED, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
	    10, HTTP_TOO_LONG, NULL, 0);
	check_every_split(POST_CHUNKED, "ffffffffffffffff\r\n", 1 << 20,
	    HTTP_TOO_LONG, NULL, 0);
}

static void
test_body_chunked_bad(void **state)
{
	static const char *const bad[] = {
		"zz\r\nhello\r\n0\r\n\r\n",
		"5x\r\nhello\r\n0\r\n\r\n",
		"-5\r\nhello\r\n0\r\n\r\n",
		"0x5\r\nhello\r\n0\r\n\r\n",
		"\r\nhello\r\n0\r\n\r\n",
		";ext\r\nhello\r\n0\r\n\r\n",
		" 5\r\nhello\r\n0\r\n\r\n",
		"5 x\r\nhello\r\n0\r\n\r\n",
		"00000000000000005\r\nhello\r\n0\r\n\r\n",	/* 17 digits */
		"5\r\nhelloXY0\r\n\r\n",			/* no CRLF after data */
		"5\r\nhello\n0\r\n\r\n",
		"5\r\nhello\rX0\r\n\r\n",
		"5\nhello\r\n0\r\n\r\n",			/* bare LF */
		"5\rhello\r\n0\r\n\r\n",
		"5;a\x01\r\nhello\r\n0\r\n\r\n",
		"5;a\nb\r\nhello\r\n0\r\n\r\n",
		"0\r\nX-T: 1\nY\r\n\r\n",			/* bare LF in trailer */
		"0\r\n folded\r\n\r\n",
		"0\r\n:x\r\n\r\n",
		"0\r\n\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t at, olen, left, blen = strlen(bad[i]);
		char out[4096];

		for (at = 0; at <= blen; at++)
			if (body_feed(POST_CHUNKED, bad[i], blen, 0, 0, 0, at,
			    out, &olen, &left) != HTTP_BAD)
				fail_msg("case %zu split %zu: not BAD", i, at);
		if (body_feed(POST_CHUNKED, bad[i], blen, 0, 0, 1, 0, out,
		    &olen, &left) != HTTP_BAD)
			fail_msg("case %zu bytewise: not BAD", i);
		for (at = 1; at < 8; at++)
			if (body_feed(POST_CHUNKED, bad[i], blen, 0, 0, CHAINS,
			    at, out, &olen, &left) != HTTP_BAD)
				fail_msg("case %zu chains %zu: not BAD", i, at);
	}
}

static void
test_body_chunked_limits(void **state)
{
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	struct http_head h;
	struct http_body b;
	char line[8192];

	(void)state;
	assert_int_equal(parse_s(POST_CHUNKED, 1, &h), HTTP_DONE);

	/* A chunk-size line with 5000 bytes of extensions. */
	http_body_init(&b, &h, 0);
	memset(line, 'a', sizeof(line));
	memcpy(line, "5;", 2);
	evbuffer_add(in, line, 5000);
	assert_int_equal(http_body_read(&b, in, out, 0), HTTP_BAD);
	evbuffer_drain(in, evbuffer_get_length(in));

	/* ... just under the bound is fine. */
	http_body_init(&b, &h, 0);
	evbuffer_add(in, line, 4000);
	assert_int_equal(http_body_read(&b, in, out, 0), HTTP_NEED_MORE);
	evbuffer_add(in, "\r\nhello\r\n0\r\n\r\n", 14);
	assert_int_equal(http_body_read(&b, in, out, 0), HTTP_DONE);
	assert_int_equal(evbuffer_get_length(out), 5);
	evbuffer_drain(out, 5);

	/* Trailers past 16 KiB in all. */
	http_body_init(&b, &h, 0);
	evbuffer_add(in, "0\r\n", 3);
	for (int i = 0; i < 10; i++) {
		memcpy(line, "X-T: ", 5);
		memset(line + 5, 'v', 2000);
		memcpy(line + 2005, "\r\n", 2);
		evbuffer_add(in, line, 2007);
	}
	assert_int_equal(http_body_read(&b, in, out, 0), HTTP_BAD);
	evbuffer_drain(in, evbuffer_get_length(in));

	/* The largest size parses; passing the limit is TOO_LONG. */
	http_body_init(&b, &h, 0);
	evbuffer_add(in, "FFFFFFFFFFFFFFFF\r\nab", 20);
	assert_int_equal(http_body_read(&b, in, out, 0), HTTP_NEED_MORE);
	assert_int_equal(evbuffer_get_length(out), 2);
	assert_int_equal(http_body_eof(&b), HTTP_BAD);
	evbuffer_drain(out, 2);

	/* Truncated chunked body at EOF. */
	http_body_init(&b, &h, 0);
	evbuffer_add(in, "5\r\nhel", 6);
	assert_int_equal(http_body_read(&b, in, out, 0), HTTP_NEED_MORE);
	assert_int_equal(http_body_eof(&b), HTTP_BAD);
	assert_false(http_body_until_close(&b));
	evbuffer_drain(out, evbuffer_get_length(out));

	http_head_clear(&h);
	evbuffer_free(in);
	evbuffer_free(out);
}

static void
test_body_length(void **state)
{
	static const char head[] = "PUT /x HTTP/1.1\r\n" H11
	    "Content-Length: 5\r\n\r\n";

	(void)state;
	check_every_split(head, "helloGET / HTTP/1.1\r\n", 0, HTTP_DONE,
	    "hello", 16);
	check_every_split(head, "hello", 5, HTTP_DONE, "hello", 0);
	/* Refused up front, before any byte arrives. */
	check_every_split(head, "hello", 4, HTTP_TOO_LONG, NULL, 0);
	check_every_split(head, "", 4, HTTP_TOO_LONG, NULL, 0);
	check_every_split("PUT /x HTTP/1.1\r\n" H11 "Content-Length: 0\r\n\r\n",
	    "GET", 1, HTTP_DONE, "", 3);
	/* No framing headers: a request has no body. */
	check_every_split("POST /x HTTP/1.1\r\n" H11 "\r\n", "GET", 1,
	    HTTP_DONE, "", 3);
}

static void
test_body_length_eof(void **state)
{
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	struct http_head h;
	struct http_body b;

	(void)state;
	assert_int_equal(parse_s("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
	    0, &h), HTTP_DONE);
	http_body_init(&b, &h, CFG_M_GET);
	assert_false(http_body_until_close(&b));
	evbuffer_add(in, "hel", 3);
	assert_int_equal(http_body_read(&b, in, out, 0), HTTP_NEED_MORE);
	assert_int_equal(http_body_eof(&b), HTTP_BAD);
	evbuffer_add(in, "lo", 2);
	assert_int_equal(http_body_read(&b, in, out, 0), HTTP_DONE);
	assert_int_equal(http_body_eof(&b), HTTP_DONE);
	assert_int_equal(b.total, 5);
	http_head_clear(&h);
	evbuffer_free(in);
	evbuffer_free(out);
}

static void
test_body_until_close(void **state)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: x\r\n\r\n";
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	struct http_head h;
	struct http_body b;

	(void)state;
	check_every_split(head, "all of it\r\n0\r\n\r\n", 0, HTTP_DONE,
	    "all of it\r\n0\r\n\r\n", 0);
	check_every_split(head, "0123456789", 10, HTTP_DONE, "0123456789", 0);
	check_every_split(head, "0123456789", 9, HTTP_TOO_LONG, NULL, 0);

	assert_int_equal(parse_s(head, 0, &h), HTTP_DONE);
	http_body_init(&b, &h, CFG_M_GET);
	assert_true(http_body_until_close(&b));
	assert_int_equal(http_body_read(&b, in, out, 0), HTTP_NEED_MORE);
	evbuffer_add(in, "abc", 3);
	assert_int_equal(http_body_read(&b, in, out, 0), HTTP_NEED_MORE);
	assert_int_equal(evbuffer_get_length(out), 3);
	assert_int_equal(http_body_eof(&b), HTTP_DONE);
	http_head_clear(&h);
	evbuffer_free(in);
	evbuffer_free(out);
}

static void
test_body_none(void **state)
{
	static const struct { const char *head; unsigned req; } cs[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", CFG_M_HEAD },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		    CFG_M_HEAD },
		{ "HTTP/1.1 200 OK\r\n\r\n", CFG_M_HEAD },
		{ "HTTP/1.1 204 No Content\r\n\r\n", CFG_M_GET },
		{ "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n",
		    CFG_M_GET },
		{ "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
		    CFG_M_GET },
		{ "HTTP/1.1 100 Continue\r\n\r\n", CFG_M_POST },
		{ "HTTP/1.1 103 Early Hints\r\n\r\n", CFG_M_GET },
	};
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	struct http_head h;
	struct http_body b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
		assert_int_equal(parse_s(cs[i].head, 0, &h), HTTP_DONE);
		http_body_init(&b, &h, cs[i].req);
		evbuffer_add(in, "NEXT", 4);
		assert_int_equal(http_body_read(&b, in, out, 1), HTTP_DONE);
		assert_int_equal(evbuffer_get_length(in), 4);
		assert_int_equal(evbuffer_get_length(out), 0);
		assert_false(http_body_until_close(&b));
		assert_int_equal(http_body_eof(&b), HTTP_DONE);
		evbuffer_drain(in, 4);
		http_head_clear(&h);
	}
	evbuffer_free(in);
	evbuffer_free(out);
}

static void
test_chunk_encode(void **state)
{
	struct evbuffer *data = evbuffer_new(), *wire = evbuffer_new();
	struct evbuffer *out = evbuffer_new();
	struct http_head h;
	struct http_body b;
	char big[5000], w[64];

	(void)state;
	http_chunk_add(wire, data);		/* empty: nothing */
	assert_int_equal(evbuffer_get_length(wire), 0);
	evbuffer_add(data, "hello", 5);
	http_chunk_add(wire, data);
	assert_int_equal(evbuffer_get_length(data), 0);
	assert_int_equal(evbuffer_get_length(wire), 10);
	evbuffer_copyout(wire, w, 10);
	assert_memory_equal(w, "5\r\nhello\r\n", 10);
	memset(big, 'z', sizeof(big));
	evbuffer_add(data, big, sizeof(big));
	http_chunk_add(wire, data);
	http_chunk_end(wire);

	assert_int_equal(parse_s(POST_CHUNKED, 1, &h), HTTP_DONE);
	http_body_init(&b, &h, 0);
	assert_int_equal(http_body_read(&b, wire, out, 0), HTTP_DONE);
	assert_int_equal(evbuffer_get_length(out), 5005);
	assert_int_equal(evbuffer_get_length(wire), 0);
	assert_int_equal(b.total, 5005);
	http_head_clear(&h);
	evbuffer_free(data);
	evbuffer_free(wire);
	evbuffer_free(out);
}

/* Two pipelined requests in one buffer: the head parser stops at the first
 * head's end and the body reader at the first body's end. */
static void
test_pipelined(void **state)
{
	static const char two[] =
	    "POST /a HTTP/1.1\r\n" H11 "Content-Length: 3\r\n\r\nabc"
	    "\r\nGET /b HTTP/1.1\r\n" H11 "\r\n";
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	struct http_head h;
	struct http_body b;
	const char *why;

	(void)state;
	evbuffer_add(in, two, sizeof(two) - 1);
	assert_int_equal(http_head_parse(&h, in, 1024, 1, &why), HTTP_DONE);
	assert_string_equal(h.path, "/a");
	http_body_init(&b, &h, h.method_bit);
	assert_int_equal(http_body_read(&b, in, out, 0), HTTP_DONE);
	http_head_clear(&h);
	assert_int_equal(http_head_parse(&h, in, 1024, 1, &why), HTTP_DONE);
	assert_string_equal(h.path, "/b");
	assert_int_equal(evbuffer_get_length(in), 0);
	http_head_clear(&h);
	evbuffer_free(in);
	evbuffer_free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_basic),
		cmocka_unit_test(test_request_methods),
		cmocka_unit_test(test_leading_crlf),
		cmocka_unit_test(test_response_basic),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_many_headers),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_hop_headers),
		cmocka_unit_test(test_request_id),
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_body_chunked),
		cmocka_unit_test(test_body_chunked_bad),
		cmocka_unit_test(test_body_chunked_limits),
		cmocka_unit_test(test_body_length),
		cmocka_unit_test(test_body_length_eof),
		cmocka_unit_test(test_body_until_close),
		cmocka_unit_test(test_body_none),
		cmocka_unit_test(test_chunk_encode),
		cmocka_unit_test(test_pipelined),
	};

	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
