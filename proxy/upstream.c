/* proxy/upstream.c — connections to upstreams: a keep-alive pool per worker
 * and upstream, connect and response timeouts, TLS with verification and SNI,
 * reading the response head and handing the body to the pipeline. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "proxy/internal.h"

#define UP_IDLE_TIMEOUT_MS	30000

struct upconn {
	struct worker		*w;
	size_t			 idx;		/* upstream index */
	struct proxy_gen	*gen;		/* the pool generation it belongs to */
	struct bufferevent	*bev;
	struct event		*timer;
	struct exchange		*ex;		/* NULL while idle */
	int			 connected;
	int			 reused;
	int			 got_bytes;
	int			 paused;
	TAILQ_ENTRY(upconn)	 link;
};

static void	up_read_cb(struct bufferevent *, void *);
static void	up_event_cb(struct bufferevent *, short, void *);

static void
up_timer_set(struct upconn *u, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(u->timer, &tv);
}

static void
up_free(struct upconn *u)
{
	if (u == NULL)
		return;
	if (u->timer)
		event_free(u->timer);
	if (u->bev)
		bufferevent_free(u->bev);
	free(u);
}

void
pool_clear(struct pool *p)
{
	struct upconn *u;

	while ((u = TAILQ_FIRST(&p->idle)) != NULL) {
		TAILQ_REMOVE(&p->idle, u, link);
		up_free(u);
	}
	p->nidle = 0;
}

static void
idle_gone(struct upconn *u)
{
	struct pool *p = &u->w->pools[u->idx];

	TAILQ_REMOVE(&p->idle, u, link);
	p->nidle--;
	up_free(u);
}

static void
idle_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	idle_gone(arg);		/* an idle upstream must not talk */
}

static void
idle_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev, (void)what;
	idle_gone(arg);
}

static void
idle_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	idle_gone(arg);
}

static void up_timer_cb(evutil_socket_t, short, void *);

/* Returns the exchange's upstream connection to the pool when it can carry
 * another request, else closes it. */
void
upstream_release(struct exchange *ex, int reusable)
{
	struct upconn	*u = ex->up;
	struct worker	*w;
	struct pool	*p;

	if (u == NULL)
		return;
	ex->up = NULL;
	u->ex = NULL;
	w = u->w;
	if (!reusable || u->gen != w->gen || w->draining ||
	    evbuffer_get_length(bufferevent_get_input(u->bev)) > 0) {
		up_free(u);
		return;
	}
	p = &w->pools[u->idx];
	if (p->nidle >= (size_t)w->gen->cfg->upstreams[u->idx].max_idle) {
		up_free(u);
		return;
	}
	u->paused = 0;
	bufferevent_setcb(u->bev, idle_read_cb, NULL, idle_event_cb, u);
	bufferevent_enable(u->bev, EV_READ);
	event_free(u->timer);
	u->timer = evtimer_new(w->base, idle_timer_cb, u);
	if (u->timer == NULL) {
		up_free(u);
		return;
	}
	up_timer_set(u, UP_IDLE_TIMEOUT_MS);
	TAILQ_INSERT_HEAD(&p->idle, u, link);	/* LIFO: warm first */
	p->nidle++;
}

void
upstream_pause(struct exchange *ex, int pause)
{
	struct upconn *u = ex->up;

	if (pause) {
		if (u != NULL && !u->paused) {
			u->paused = 1;
			bufferevent_disable(u->bev, EV_READ);
			evtimer_del(u->timer);	/* the client is slow, not us */
		}
		return;
	}
	if (u != NULL && u->paused) {
		u->paused = 0;
		bufferevent_enable(u->bev, EV_READ);
		up_timer_set(u, ex->gen->cfg->upstreams[u->idx].response_timeout);
	}
	/* Work held back while the client was slow (inflated data, a body
	 * that already ended) continues now. */
	body_response_data(ex, -1);
}

static struct upconn *
up_connect(struct exchange *ex)
{
	struct worker			*w = ex->c->w;
	size_t				 idx = ex->route->upstream;
	const struct cfg_upstream	*cu = &ex->gen->cfg->upstreams[idx];
	SSL_CTX				*ctx = ex->gen->up_ssl[idx];
	struct upconn			*u;
	SSL				*ssl = NULL;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return NULL;
	u->w = w;
	u->idx = idx;
	u->gen = ex->gen;
	if (ctx != NULL) {
		unsigned char	 ip[16];

		if ((ssl = SSL_new(ctx)) == NULL)
			goto fail;
		/* SNI only for names; verify the name or the IP address. */
		if (inet_pton(AF_INET, cu->host, ip) == 1 ||
		    inet_pton(AF_INET6, cu->host, ip) == 1) {
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), cu->host);
		} else {
			SSL_set_tlsext_host_name(ssl, cu->host);
			SSL_set1_host(ssl, cu->host);
		}
		u->bev = bufferevent_openssl_socket_new(w->base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		if (u->bev == NULL) {
			SSL_free(ssl);
			goto fail;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(u->bev, 1);
	} else if ((u->bev = bufferevent_socket_new(w->base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		goto fail;
	if ((u->timer = evtimer_new(w->base, up_timer_cb, u)) == NULL)
		goto fail;
	if (bufferevent_socket_connect(u->bev,
	    (const struct sockaddr *)&cu->addr, (int)cu->addrlen) < 0)
		goto fail;
	atomic_fetch_add_explicit(&w->srv->stats.upstream_connects, 1,
	    memory_order_relaxed);
	return u;
fail:
	up_free(u);
	return NULL;
}

void
upstream_start(struct exchange *ex, struct evbuffer *unused)
{
	struct worker			*w = ex->c->w;
	size_t				 idx = ex->route->upstream;
	const struct cfg_upstream	*cu = &ex->gen->cfg->upstreams[idx];
	struct upconn			*u = NULL;
	struct pool			*p;

	(void)unused;
	if (ex->gen == w->gen && idx < w->npools) {
		p = &w->pools[idx];
		if ((u = TAILQ_FIRST(&p->idle)) != NULL) {
			TAILQ_REMOVE(&p->idle, u, link);
			p->nidle--;
			event_free(u->timer);
			u->timer = evtimer_new(w->base, up_timer_cb, u);
			if (u->timer == NULL) {
				up_free(u);
				u = NULL;
			} else {
				u->reused = 1;
				u->connected = 1;
				atomic_fetch_add_explicit(
				    &w->srv->stats.upstream_reused, 1,
				    memory_order_relaxed);
			}
		}
	}
	if (u == NULL && (u = up_connect(ex)) == NULL) {
		atomic_fetch_add_explicit(&w->srv->stats.upstream_errors, 1,
		    memory_order_relaxed);
		ex_error(ex, 502, "upstream_failed",
		    "cannot open a connection to the upstream");
		return;
	}
	u->ex = ex;
	ex->up = u;
	bufferevent_setcb(u->bev, up_read_cb, NULL, up_event_cb, u);
	bufferevent_enable(u->bev, EV_READ | EV_WRITE);
	up_timer_set(u, u->connected ? cu->response_timeout : cu->connect_timeout);
	/* By reference: the request stays whole in ex->upreq for a retry. On
	 * a kept-alive plain connection it is written at once (see
	 * conn_flush() for why); the rest goes through the bufferevent. */
	if (u->connected && ex->gen->up_ssl[idx] == NULL) {
		struct evbuffer *tmp = w->scratch;

		evbuffer_add_buffer_reference(tmp, ex->upreq);
		while (evbuffer_get_length(tmp) > 0 &&
		    evbuffer_write(tmp, bufferevent_getfd(u->bev)) > 0)
			;
		evbuffer_add_buffer(bufferevent_get_output(u->bev), tmp);
		return;
	}
	evbuffer_add_buffer_reference(bufferevent_get_output(u->bev), ex->upreq);
}

/* The upstream failed before it answered. A reused keep-alive connection may
 * have been closed by the upstream just as we sent; an idempotent request is
 * then tried once more on a fresh connection. */
static void
up_failed(struct upconn *u, int status, const char *code, const char *reason)
{
	struct exchange *ex = u->ex;

	atomic_fetch_add_explicit(&u->w->srv->stats.upstream_errors, 1,
	    memory_order_relaxed);
	if (ex->state == EX_UPSTREAM && u->reused && !u->got_bytes &&
	    !ex->retried && (ex->req.method_bit & (CFG_M_GET | CFG_M_HEAD |
	    CFG_M_PUT | CFG_M_DELETE | CFG_M_OPTIONS))) {
		ex->retried = 1;
		upstream_release(ex, 0);
		upstream_start(ex, NULL);
		return;
	}
	upstream_release(ex, 0);
	ex_error(ex, status, code, reason);	/* aborts when committed */
}

static void
up_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upconn *u = arg;

	(void)fd, (void)what;
	if (u->ex == NULL) {
		up_free(u);
		return;
	}
	atomic_fetch_add_explicit(&u->w->srv->stats.upstream_timeouts, 1,
	    memory_order_relaxed);
	u->reused = 0;		/* a timeout is never retried */
	up_failed(u, 504, "upstream_timeout", !u->connected ?
	    "the upstream did not accept the connection in time" :
	    "the upstream did not answer in time");
}

/* Moves response body bytes on. Returns 0 while this connection still serves
 * the exchange, -1 when the exchange ended or moved on (touch neither). */
static int
up_body(struct upconn *u, int eof)
{
	struct exchange		*ex = u->ex;
	struct evbuffer		*in = bufferevent_get_input(u->bev);
	enum http_status	 st;

	if (eof)
		st = http_body_eof(&ex->respbody);
	else
		st = http_body_read(&ex->respbody, in, ex->raw, 0);
	switch (st) {
	case HTTP_NEED_MORE:
		if (body_response_data(ex, 0) < 0)
			return -1;
		if (!u->paused)
			up_timer_set(u,
			    ex->gen->cfg->upstreams[u->idx].response_timeout);
		return 0;
	case HTTP_BAD:
	case HTTP_TOO_LONG:
		upstream_release(ex, 0);
		ex_error(ex, 502, "upstream_failed", eof ?
		    "the upstream closed the connection mid-response" :
		    "the upstream sent a malformed body");
		return -1;
	case HTTP_DONE:
		upstream_release(ex, !eof && ex->resp.keep_alive &&
		    !http_body_until_close(&ex->respbody));
		body_response_data(ex, 1);
		return -1;
	}
	return -1;
}

static void
up_read_cb(struct bufferevent *bev, void *arg)
{
	struct upconn	*u = arg;
	struct exchange	*ex = u->ex;
	const char	*why = NULL;

	u->got_bytes = 1;
	if (ex->resp_head_done) {
		(void)up_body(u, 0);
		return;
	}
	for (;;) {
		switch (http_head_parse(&ex->resp, bufferevent_get_input(bev),
		    ex->gen->cfg->limits.max_header, 0, &why)) {
		case HTTP_NEED_MORE:
			return;
		case HTTP_TOO_LONG:
			up_failed(u, 502, "upstream_failed",
			    "the upstream response head is too large");
			return;
		case HTTP_BAD:
			u->reused = 0;
			up_failed(u, 502, "upstream_failed",
			    "the upstream sent a malformed response head");
			return;
		case HTTP_DONE:
			break;
		}
		if (ex->resp.status >= 100 && ex->resp.status < 200 &&
		    ex->resp.status != 101) {
			http_head_clear(&ex->resp);	/* interim: skip */
			continue;
		}
		break;
	}
	if (ex->resp.status == 101) {
		u->reused = 0;
		up_failed(u, 502, "upstream_failed",
		    "protocol upgrades are not supported");
		return;
	}
	ex->resp_head_done = 1;
	ex->state = EX_RESPONSE;
	http_body_init(&ex->respbody, &ex->resp, ex->req.method_bit);
	if (body_response_head(ex) < 0)
		return;
	(void)up_body(u, 0);
}

static void
up_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct upconn	*u = arg;
	struct exchange	*ex = u->ex;
	unsigned long	 err;
	char		 reason[200];

	if (what & BEV_EVENT_CONNECTED) {
		u->connected = 1;
		up_timer_set(u, ex->gen->cfg->upstreams[u->idx].response_timeout);
		return;
	}
	if (ex->resp_head_done && (what & BEV_EVENT_EOF)) {
		/* Take what is left in the buffer first. */
		if (up_body(u, 0) == 0)
			up_body(u, 1);
		return;
	}
	if (!u->connected) {
		u->reused = 0;
		up_failed(u, 502, "upstream_failed",
		    "the upstream refused the connection");
		return;
	}
	if ((err = bufferevent_get_openssl_error(bev)) != 0) {
		snprintf(reason, sizeof(reason), "TLS with the upstream failed: %s",
		    ERR_reason_error_string(err) ? ERR_reason_error_string(err) :
		    "unknown error");
		u->reused = 0;
		up_failed(u, 502, "upstream_failed", reason);
		return;
	}
	up_failed(u, 502, "upstream_failed", ex->resp_head_done ?
	    "the upstream closed the connection mid-response" :
	    "the upstream closed the connection without answering");
}
