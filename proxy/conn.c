/* proxy/conn.c — client connections: read a request, authenticate, route,
 * read its body, hand it to the upstream side or the admin API, answer, and
 * keep the connection alive for the next one. Every error ends the request
 * with the JSON body of DESIGN.md, never the process. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "proxy/auth.h"
#include "proxy/internal.h"
#include "proxy/json.h"
#include "proxy/route.h"

#define CONN_HIGH_WATER	(1 << 20)	/* pause the upstream past this */

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static int	ex_new(struct conn *);
static void	ex_free(struct exchange *);

static struct timeval
ms_tv(int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	return tv;
}

/* ---- connections ---------------------------------------------------- */

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd, (void)what;
	if (c->ex == NULL || c->ex->state != EX_HEAD)
		return;
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) == 0) {
		conn_free(c);		/* an idle keep-alive connection */
		return;
	}
	ex_error(c->ex, 408, "request_timeout",
	    "the request head did not arrive in time");
}

void
conn_accept(struct worker *w, int fd, const struct sockaddr *sa, int listener)
{
	struct conn		*c;
	SSL			*ssl = NULL;
	SSL_CTX			*ctx = NULL;
	int			 one = 1;
	struct timeval		 tv = ms_tv(w->gen->cfg->limits.client_timeout);

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->w = w;
	c->listener = listener;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    c->peer, sizeof(c->peer));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    c->peer, sizeof(c->peer));
	else
		strcpy(c->peer, "unknown");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (listener >= 0)
		ctx = w->gen->listen_ssl[listener];
	if (ctx != NULL) {
		if ((ssl = SSL_new(ctx)) == NULL)
			goto fail;
		c->bev = bufferevent_openssl_socket_new(w->base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL) {
			SSL_free(ssl);
			goto fail;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		c->tls = 1;
	} else if ((c->bev = bufferevent_socket_new(w->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		goto fail;
	fd = -1;
	if ((c->deadline = evtimer_new(w->base, deadline_cb, c)) == NULL ||
	    (c->wbuf = evbuffer_new()) == NULL)
		goto fail;
	TAILQ_INSERT_TAIL(&w->conns, c, link);
	w->nconns++;
	atomic_fetch_add_explicit(&w->srv->stats.connections, 1,
	    memory_order_relaxed);
	if (ex_new(c) < 0) {
		conn_free(c);
		return;
	}
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	/* Room for a whole head; more waits in the socket. */
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    w->gen->cfg->limits.max_header + 65536);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return;
fail:
	if (fd >= 0)
		evutil_closesocket(fd);
	if (c->deadline)
		event_free(c->deadline);
	if (c->bev)
		bufferevent_free(c->bev);
	free(c);
}

/*
 * Everything for the client is staged in c->wbuf, then written straight to
 * the socket when nothing is queued before it. A bufferevent would add the
 * write event, wait a loop turn, write and remove the event again: two
 * epoll_ctl calls and a wake-up per response that this saves. What the
 * socket does not take goes to the bufferevent, which finishes the job (and
 * reports errors and write timeouts).
 */
static void
conn_flush(struct conn *c)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);

	if (evbuffer_get_length(c->wbuf) == 0)
		return;
	if (!c->tls && evbuffer_get_length(out) == 0) {
		evutil_socket_t fd = bufferevent_getfd(c->bev);

		while (evbuffer_get_length(c->wbuf) > 0 &&
		    evbuffer_write(c->wbuf, fd) > 0)
			;
	}
	if (evbuffer_get_length(c->wbuf) > 0)
		evbuffer_add_buffer(out, c->wbuf);
}

void
conn_free(struct conn *c)
{
	struct worker *w = c->w;

	if (c->ex != NULL)
		ex_free(c->ex);
	if (c->deadline)
		event_free(c->deadline);
	if (c->bev)
		bufferevent_free(c->bev);
	if (c->wbuf)
		evbuffer_free(c->wbuf);
	free(c->subject);
	TAILQ_REMOVE(&w->conns, c, link);
	w->nconns--;
	atomic_fetch_sub_explicit(&w->srv->stats.connections, 1,
	    memory_order_relaxed);
	free(c);
	server_conn_gone(w);
}

void
conn_close_idle(struct worker *w)
{
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&w->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->ex != NULL && c->ex->state == EX_HEAD &&
		    evbuffer_get_length(bufferevent_get_input(c->bev)) == 0)
			conn_free(c);
	}
}

/* Close once everything written so far has left. */
static void
conn_close_soon(struct conn *c)
{
	c->closing = 1;
	bufferevent_disable(c->bev, EV_READ);
	conn_flush(c);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_free(c);
}

/* ---- exchanges ------------------------------------------------------ */

static int
ex_new(struct conn *c)
{
	struct exchange	*ex;
	struct timeval	 tv = ms_tv(c->w->gen->cfg->limits.client_timeout);

	if ((ex = calloc(1, sizeof(*ex))) == NULL)
		return -1;
	ex->c = c;
	ex->state = EX_HEAD;
	ex->gen = proxy_gen_ref(c->w->gen);
	if ((ex->reqraw = evbuffer_new()) == NULL) {
		ex_free(ex);
		return -1;
	}
	c->ex = ex;
	evtimer_add(c->deadline, &tv);
	return 0;
}

static void
ex_free(struct exchange *ex)
{
	if (ex->up != NULL)
		upstream_release(ex, 0);
	body_free(ex);
	outreach_free(ex);
	http_head_clear(&ex->req);
	http_head_clear(&ex->resp);
	if (ex->reqraw)
		evbuffer_free(ex->reqraw);
	if (ex->upreq)
		evbuffer_free(ex->upreq);
	proxy_gen_unref(ex->gen);
	if (ex->c != NULL && ex->c->ex == ex)
		ex->c->ex = NULL;
	free(ex);
}

size_t
ex_client_pending(const struct exchange *ex)
{
	return evbuffer_get_length(bufferevent_get_output(ex->c->bev)) +
	    evbuffer_get_length(ex->c->wbuf);
}

static void
count_status(struct exchange *ex)
{
	struct proxy_stats *st = &ex->c->w->srv->stats;
	int cls = ex->status / 100;

	atomic_fetch_add_explicit(&st->requests, 1, memory_order_relaxed);
	if (cls >= 1 && cls <= 5)
		atomic_fetch_add_explicit(&st->status[cls], 1,
		    memory_order_relaxed);
	atomic_fetch_add_explicit(&st->bytes_out, ex->bytes_out,
	    memory_order_relaxed);
}

/* The response is complete: log it and get ready for the next request, or
 * close. The caller must not touch ex or its connection afterwards. */
void
ex_finish(struct exchange *ex)
{
	struct conn	*c = ex->c;
	int		 keep;

	if (ex->up != NULL)
		upstream_release(ex, 0);
	if (ex->chunked)
		http_chunk_end(c->wbuf);
	ex->state = EX_DONE;
	count_status(ex);
	worker_log_access(c->w, ex);
	keep = ex->keep_alive && !ex->close_after && !c->w->draining;
	ex_free(ex);
	conn_flush(c);
	if (!keep || ex_new(c) < 0) {
		conn_close_soon(c);
		return;
	}
	/* Pipelined bytes may already wait; handle them from the loop, not
	 * recursively from here. */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS |
		    BEV_TRIG_DEFER_CALLBACKS);
}

/* A failure after the status line went out: the client must not take what it
 * got for a whole response, so the connection is cut without the final
 * chunk. */
void
ex_abort(struct exchange *ex)
{
	struct conn *c = ex->c;

	count_status(ex);
	worker_log_access(c->w, ex);
	conn_free(c);
}

static void
add_common_headers(struct exchange *ex, struct evbuffer *o)
{
	evbuffer_add_printf(o, "X-Request-Id: %s\r\nX-Custos-Policy: %s\r\n",
	    ex->id[0] ? ex->id : "-", ex->gen->version);
	if (!ex->keep_alive || ex->close_after || ex->c->w->draining) {
		ex->close_after = 1;
		evbuffer_add(o, "Connection: close\r\n", 19);
	} else if (ex->req.minor == 0)
		evbuffer_add(o, "Connection: keep-alive\r\n", 24);
}

void
ex_reply(struct exchange *ex, int status, const char *ctype, const char *body,
    size_t len, const char *extra)
{
	struct evbuffer *o = ex->c->wbuf;

	ex->status = status;
	ex->committed = 1;
	evbuffer_add_printf(o, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n%s", status,
	    http_reason(status), ctype, len, extra ? extra : "");
	add_common_headers(ex, o);
	evbuffer_add(o, "\r\n", 2);
	if (ex->req.method == NULL || strcmp(ex->req.method, "HEAD") != 0)
		evbuffer_add(o, body, len);
	ex->bytes_out += len;
	ex_finish(ex);
}

void
ex_reply_json(struct exchange *ex, int status, const char *json, size_t len)
{
	ex_reply(ex, status, "application/json", json, len, NULL);
}

void
ex_reply_buf(struct exchange *ex, int status, const char *ctype,
    struct evbuffer *b)
{
	ex_reply(ex, status, ctype, (const char *)evbuffer_pullup(b, -1),
	    evbuffer_get_length(b), NULL);
}

void
ex_error(struct exchange *ex, int status, const char *code, const char *reason)
{
	ex_error_hdr(ex, status, code, reason, status == 401 ?
	    "WWW-Authenticate: Bearer realm=\"custos\"\r\n" : NULL);
}

void
ex_error_hdr(struct exchange *ex, int status, const char *code,
    const char *reason, const char *extra)
{
	struct evbuffer *b;

	if (ex->committed) {
		ex_abort(ex);
		return;
	}
	/* A request whose body was not read (or whose head could not be read)
	 * cannot be followed by another on the same connection. */
	if (!ex->reqbody_done && (ex->req.method == NULL || ex->req.chunked ||
	    ex->req.content_length > 0))
		ex->close_after = 1;
	if ((b = evbuffer_new()) == NULL) {
		ex_abort(ex);
		return;
	}
	evbuffer_add_printf(b, "{\"error\":\"%s\",\"reason\":", code);
	(void)json_quote(b, reason, strlen(reason));
	evbuffer_add_printf(b, ",\"request_id\":\"%s\"}\n", ex->id[0] ? ex->id : "-");
	ex_reply(ex, status, "application/json", (const char *)
	    evbuffer_pullup(b, -1), evbuffer_get_length(b), extra);
	evbuffer_free(b);
}

void
ex_start_response(struct exchange *ex, int status, int chunked,
    int64_t content_length)
{
	struct evbuffer		*o = ex->c->wbuf;
	const struct http_head	*r = &ex->resp;

	ex->status = status;
	ex->committed = 1;
	/* An HTTP/1.0 client cannot take chunks: the end is the close. */
	if (chunked && ex->req.minor == 0) {
		chunked = 0;
		ex->close_after = 1;
	}
	ex->chunked = chunked;
	evbuffer_add_printf(o, "HTTP/1.1 %d %s\r\n", status,
	    r->reason && *r->reason ? r->reason : http_reason(status));
	for (size_t i = 0; i < r->nhdrs; i++) {
		const struct http_header *h = &r->hdrs[i];

		if (http_header_is_hop(r, h) ||
		    (h->name_len == 12 && !strncasecmp(h->name, "X-Request-Id", 12)) ||
		    (h->name_len == 15 && !strncasecmp(h->name, "X-Custos-Policy", 15)) ||
		    (h->name_len == 16 && !strncasecmp(h->name, "Content-Encoding", 16) &&
		    ex->zs != NULL))
			continue;
		evbuffer_add(o, h->name, h->name_len);
		evbuffer_add(o, ": ", 2);
		evbuffer_add(o, h->value, h->value_len);
		evbuffer_add(o, "\r\n", 2);
	}
	if (chunked)
		evbuffer_add(o, "Transfer-Encoding: chunked\r\n", 28);
	else if (content_length >= 0)
		evbuffer_add_printf(o, "Content-Length: %lld\r\n",
		    (long long)content_length);
	else if (content_length == -1)
		ex->close_after = 1;	/* the end is the close */
	add_common_headers(ex, o);
	evbuffer_add(o, "\r\n", 2);
}

void
ex_send(struct exchange *ex, struct evbuffer *data)
{
	struct evbuffer	*o = ex->c->wbuf;
	size_t		 n = evbuffer_get_length(data);

	if (n == 0)
		return;
	ex->bytes_out += n;
	if (ex->req.method_bit == CFG_M_HEAD) {
		evbuffer_drain(data, n);
		return;
	}
	if (ex->chunked)
		http_chunk_add(o, data);
	else
		evbuffer_add_buffer(o, data);
	conn_flush(ex->c);
	if (ex_client_pending(ex) > CONN_HIGH_WATER)
		upstream_pause(ex, 1);
}

/* ---- request processing --------------------------------------------- */

static void
ex_set_id(struct exchange *ex)
{
	const struct http_header *h = http_head_get(&ex->req, "X-Request-Id");

	if (h != NULL && http_request_id_valid(h->value, h->value_len) &&
	    h->value_len < sizeof(ex->id)) {
		memcpy(ex->id, h->value, h->value_len);
		ex->id[h->value_len] = '\0';
		return;
	}
	snprintf(ex->id, sizeof(ex->id), "%s%08llx", ex->c->w->idprefix,
	    (unsigned long long)++ex->c->w->seq);
}

static int
ex_authenticate(struct exchange *ex)
{
	const struct proxy_config	*cfg = ex->gen->cfg;
	const struct http_header	*h;
	const char			*tok;
	size_t				 len;
	struct conn			*c = ex->c;

	if ((h = http_head_get(&ex->req, "Authorization")) != NULL) {
		if (proxy_auth_bearer_token(h->value, h->value_len, &tok, &len) == 0)
			ex->principal = proxy_auth_key(cfg, tok, len);
		if (ex->principal == NULL) {
			ex_error(ex, 401, "unauthenticated",
			    "the API key is not valid");
			return -1;
		}
		return 0;
	}
	if (c->tls && !c->subject_checked) {
		c->subject_checked = 1;
		c->subject = tls_peer_subject(bufferevent_openssl_get_ssl(c->bev));
	}
	if (c->subject != NULL)
		ex->principal = proxy_auth_subject(cfg, c->subject);
	if (ex->principal == NULL) {
		ex_error(ex, 401, "unauthenticated", c->subject ?
		    "the client certificate maps to no principal" :
		    "send Authorization: Bearer <API key> or a client certificate");
		return -1;
	}
	return 0;
}

static void
ex_forward(struct exchange *ex)
{
	const struct http_head		*rq = &ex->req;
	const struct cfg_upstream	*up = &ex->gen->cfg->upstreams[ex->route->upstream];
	struct evbuffer			*b = NULL, *body = ex->reqraw;
	const struct http_header	*xff = NULL, *ct;

	/* Fail closed: nothing goes up or comes back while decisions could
	 * not be recorded. */
	if (ex_audit_down(ex))
		return;
	if (outreach_check(ex) < 0)
		return;
	if (evbuffer_get_length(ex->reqraw) > 0) {
		ct = http_head_get(rq, "Content-Type");
		if (ct != NULL && body_is_json_type(ct->value, ct->value_len)) {
			if ((b = evbuffer_new()) == NULL)
				goto oom;
			if (body_request(ex, ex->reqraw, b) < 0) {
				evbuffer_free(b);
				return;
			}
			body = b;
		} else if (ex->route->non_json != CFG_NON_JSON_PASS) {
			ex_error(ex, 415, "unsupported_media_type",
			    "this route only accepts JSON bodies");
			return;
		}
	}
	if ((ex->upreq = evbuffer_new()) == NULL)
		goto oom;
	evbuffer_add_printf(ex->upreq, "%s %s%s HTTP/1.1\r\nHost: %s\r\n",
	    rq->method, up->base_path, rq->target, up->host_header);
	for (size_t i = 0; i < rq->nhdrs; i++) {
		const struct http_header *h = &rq->hdrs[i];
		static const char *const drop[] = {
			"Host", "Authorization", "X-Forwarded-Proto",
			"X-Request-Id", "Accept-Encoding", "Expect",
			"X-Custos-Justification", "X-Custos-Unsubscribe", NULL,
		};
		int skip = http_header_is_hop(rq, h);

		for (int k = 0; !skip && drop[k]; k++)
			skip = h->name_len == strlen(drop[k]) &&
			    !strncasecmp(h->name, drop[k], h->name_len);
		if (!skip && h->name_len == 15 &&
		    !strncasecmp(h->name, "X-Forwarded-For", 15)) {
			xff = h;
			skip = 1;
		}
		if (skip)
			continue;
		evbuffer_add(ex->upreq, h->name, h->name_len);
		evbuffer_add(ex->upreq, ": ", 2);
		evbuffer_add(ex->upreq, h->value, h->value_len);
		evbuffer_add(ex->upreq, "\r\n", 2);
	}
	if (xff != NULL)
		evbuffer_add_printf(ex->upreq, "X-Forwarded-For: %.*s, %s\r\n",
		    (int)xff->value_len, xff->value, ex->c->peer);
	else
		evbuffer_add_printf(ex->upreq, "X-Forwarded-For: %s\r\n",
		    ex->c->peer);
	evbuffer_add_printf(ex->upreq, "X-Forwarded-Proto: %s\r\n"
	    "X-Request-Id: %s\r\nAccept-Encoding: identity\r\n",
	    ex->c->tls ? "https" : "http", ex->id);
	if (outreach_link(ex) != NULL)
		evbuffer_add_printf(ex->upreq, "X-Custos-Unsubscribe: %s\r\n",
		    outreach_link(ex));
	if (evbuffer_get_length(body) > 0 || rq->method_bit &
	    (CFG_M_POST | CFG_M_PUT | CFG_M_PATCH))
		evbuffer_add_printf(ex->upreq, "Content-Length: %zu\r\n",
		    evbuffer_get_length(body));
	evbuffer_add(ex->upreq, "\r\n", 2);
	evbuffer_add_buffer(ex->upreq, body);
	if (b != NULL)
		evbuffer_free(b);
	ex->state = EX_UPSTREAM;
	outreach_sent(ex);
	upstream_start(ex, NULL);
	return;
oom:
	if (b != NULL)
		evbuffer_free(b);
	ex_error(ex, 503, "overloaded", "out of memory");
}

/* The whole request body is in: answer it. */
static void
ex_request_done(struct exchange *ex)
{
	ex->reqbody_done = 1;
	if (ex->c->listener < 0)
		admin_handle(ex);
	else if (ex->unsub)
		outreach_unsubscribe(ex);
	else
		ex_forward(ex);
}

static void
ex_read_body(struct exchange *ex)
{
	struct evbuffer		*in = bufferevent_get_input(ex->c->bev);
	uint64_t		 max = ex->c->listener < 0 ? 65536 :
				    ex->gen->cfg->limits.max_body;

	switch (http_body_read(&ex->reqbody, in, ex->reqraw, max)) {
	case HTTP_NEED_MORE:
		return;
	case HTTP_TOO_LONG:
		ex_error(ex, 413, "payload_too_large",
		    "the request body is larger than limits.max_body");
		return;
	case HTTP_BAD:
		ex_error(ex, 400, "bad_request", "bad chunked encoding");
		return;
	case HTTP_DONE:
		ex_request_done(ex);
		return;
	}
}

/* The head is in: who, where, and is the body acceptable. */
static void
ex_begin(struct exchange *ex)
{
	const struct proxy_config	*cfg = ex->gen->cfg;
	struct conn			*c = ex->c;
	int				 mismatch = 0;
	uint64_t			 max;

	evtimer_del(c->deadline);
	ex_set_id(ex);
	clock_gettime(CLOCK_MONOTONIC, &ex->start);
	ex->keep_alive = ex->req.keep_alive;
	if (c->listener < 0) {
		ex->route_name = "admin";
		max = 65536;
	} else if (outreach_is_unsubscribe(ex)) {
		/* Public: the signed token in the link is the credential. */
		ex->unsub = 1;
		ex->route_name = OUTREACH_UNSUBSCRIBE_PATH;
		max = 65536;
	} else {
		if (ex_authenticate(ex) < 0)
			return;
		ex->route = proxy_route_find(cfg->routes, cfg->nroutes,
		    ex->req.method_bit, ex->req.path, strlen(ex->req.path),
		    &mismatch);
		if (ex->route == NULL) {
			if (mismatch)
				ex_error(ex, 405, "method_not_allowed",
				    "no route allows this method on this path");
			else
				ex_error(ex, 404, "no_route",
				    "no route matches this path");
			return;
		}
		ex->route_name = ex->route->match;
		max = cfg->limits.max_body;
	}
	if (ex->req.content_length > 0 && (uint64_t)ex->req.content_length > max) {
		ex_error(ex, 413, "payload_too_large",
		    "the request body is larger than limits.max_body");
		return;
	}
	http_body_init(&ex->reqbody, &ex->req, 0);
	if (ex->req.expect_continue && ex->req.minor == 1 &&
	    (ex->req.chunked || ex->req.content_length > 0)) {
		evbuffer_add(c->wbuf, "HTTP/1.1 100 Continue\r\n\r\n", 25);
		conn_flush(c);
	}
	ex->state = EX_BODY;
	ex_read_body(ex);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;
	struct exchange	*ex = c->ex;
	const char	*why = NULL;

	if (ex == NULL || c->closing)
		return;
	switch (ex->state) {
	case EX_HEAD:
		switch (http_head_parse(&ex->req, bufferevent_get_input(bev),
		    ex->gen->cfg->limits.max_header, 1, &why)) {
		case HTTP_NEED_MORE:
			return;
		case HTTP_TOO_LONG:
			ex_error(ex, 431, "headers_too_large",
			    "the request head is larger than limits.max_header");
			return;
		case HTTP_BAD:
			ex_error(ex, 400, "bad_request", why ? why : "malformed request");
			return;
		case HTTP_DONE:
			ex_begin(ex);
			return;
		}
		return;
	case EX_BODY:
		ex_read_body(ex);
		return;
	default:
		/* Bytes of a pipelined request wait in the buffer (bounded
		 * by the read watermark) until this exchange is done. Reading
		 * stays on, which saves two epoll_ctl calls per request and
		 * notices a client that hangs up while the upstream works. */
		return;
	}
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->closing) {
		conn_free(c);
		return;
	}
	if (c->ex != NULL && c->ex->state == EX_RESPONSE)
		upstream_pause(c->ex, 0);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) &&
	    c->ex != NULL && !c->closing) {
		if (c->ex->state == EX_BODY) {
			ex_error(c->ex, 408, "request_timeout",
			    "the request body did not arrive in time");
			return;
		}
		if (c->ex->state == EX_UPSTREAM || c->ex->state == EX_RESPONSE) {
			/* A quiet client while its answer is on the way. */
			bufferevent_enable(c->bev, EV_READ);
			return;
		}
	}
	/* EOF, error or a write timeout: the client is gone; whatever was in
	 * flight for it is dropped (its upstream connection is not reused). */
	conn_free(c);
}
