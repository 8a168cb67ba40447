/* proxy/internal.h — layouts shared by the proxy's own .c files (server,
 * connections, upstreams, body pipeline, admin). Not for other modules. */
#ifndef CUSTOS_PROXY_INTERNAL_H
#define CUSTOS_PROXY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include <openssl/ssl.h>
#include <zlib.h>

#include "proxy/config.h"
#include "audit/audit.h"
#include "policies/policies.h"
#include "proxy/http.h"
#include "proxy/visit.h"

struct event_base;
struct event;
struct bufferevent;
struct evbuffer;
struct evconnlistener;
struct json_rw;
struct keys_ring;
struct pol_policy;
struct pol_eval;
struct pol_errs;
struct cls_scratch;
struct keys_fpcache;
struct cfg_admin_token;

/*
 * A generation is one loaded configuration with everything built from it
 * (TLS contexts now; policies later). It is immutable once published and
 * reference counted: the main thread holds one reference to the current
 * generation, each worker holds one to the generation it serves new requests
 * under, and each request holds one to the generation it started under, so a
 * reload never changes the rules under a request in flight.
 */
struct proxy_gen {
	atomic_int		 refs;
	uint64_t		 id;
	struct proxy_config	*cfg;
	SSL_CTX			**listen_ssl;	/* per cfg->listen[i]; NULL = plain */
	SSL_CTX			**up_ssl;	/* per cfg->upstreams[i]; NULL = http */
	struct keys_ring	*ring;		/* NULL when no keys section */
	struct pol_policy	*policy;	/* NULL when no policies */
	char			 version[80];	/* X-Custos-Policy */
};

struct proxy_gen	*proxy_gen_new(struct proxy_config *cfg, struct pol_errs *errs);
struct proxy_gen	*proxy_gen_ref(struct proxy_gen *);
void			 proxy_gen_unref(struct proxy_gen *);

/* Process-wide counters, updated with relaxed atomics from every worker. */
struct proxy_stats {
	atomic_ullong	requests;
	atomic_ullong	status[6];		/* by class: [1]=1xx ... [5]=5xx */
	atomic_ullong	upstream_errors;
	atomic_ullong	upstream_timeouts;
	atomic_ullong	upstream_connects;
	atomic_ullong	upstream_reused;
	atomic_ullong	json_rejected;
	atomic_ullong	bytes_out;
	atomic_llong	connections;		/* open client connections */
	atomic_ullong	reloads;
	atomic_ullong	reload_failures;
	atomic_ullong	outreach_allowed;	/* automated messages let through */
	atomic_ullong	outreach_limited;	/* refused: a limit (429) */
	atomic_ullong	outreach_quiet;		/* refused: quiet hours (429) */
	atomic_ullong	outreach_optout;	/* refused: opted out (451) */
};

struct conn;
struct upconn;
TAILQ_HEAD(conn_list, conn);
TAILQ_HEAD(upconn_list, upconn);

/* Idle keep-alive connections to one upstream, owned by one worker. */
struct pool {
	struct upconn_list	idle;
	size_t			nidle;
};

struct proxy_server;

/* One event loop on one thread. The main thread's loop (signals, reload,
 * admin listener) is a worker too, with no proxy listeners. */
struct worker {
	struct proxy_server	*srv;
	int			 id;
	int			 is_main;
	pthread_t		 thread;
	struct event_base	*base;
	struct evconnlistener	**listeners;	/* per cfg->listen[i] */
	size_t			 nlisteners;
	struct proxy_gen	*gen;		/* new requests use this */
	struct pool		*pools;		/* per gen->cfg->upstreams[i] */
	size_t			 npools;
	struct conn_list	 conns;
	size_t			 nconns;
	int			 draining;
	struct event		*notify;	/* main thread -> worker */
	int			 notify_fd[2];	/* its pipe */
	pthread_mutex_t		 lock;		/* guards next_gen, drain_req */
	struct proxy_gen	*next_gen;
	int			 drain_req;
	struct evbuffer		*log;		/* access log lines not yet written */
	struct event		*log_timer;
	uint64_t		 seq;		/* request ids */
	struct audit_rec	*rec;		/* reused for every record */
	struct evbuffer		*scratch;	/* empty between uses */
	struct cls_scratch	*cls;		/* classifier scratch */
	struct keys_fpcache	*fpc;		/* fingerprint memo */
	char			 idprefix[17];
};

struct proxy_server {
	struct event_base	*base;		/* = main.base */
	struct worker		 main;
	struct worker		*workers;
	int			 nworkers;
	struct proxy_gen	*gen;		/* current; main thread only */
	const char		*config_path;
	struct proxy_stats	 stats;
	struct evconnlistener	*admin;
	struct event		*sig_hup, *sig_term, *sig_int;
	int			 draining;
	int			 exit_code;
	struct audit_log	*audit;		/* NULL: no audit section */
	struct keys_ring	*audit_ring;	/* the signer's own keyring */
	struct audit_signer	 signer;
	pthread_mutex_t		 quota_lock;	/* guards quota, see quota.c */
	struct quota_slot	*quota;
	size_t			 nquota;
	uint64_t		 next_gen_id;
	struct audit_ovr_store	*ovr;		/* NULL: no state_dir */
	struct audit_outreach	*outreach;	/* NULL: no outreach policy yet */
	struct event		*outreach_timer;	/* journal flush */
	int			 outreach_flush_failed;
};

/* A request/response exchange on a client connection. */
enum ex_state {
	EX_HEAD,		/* reading the request head */
	EX_BODY,		/* reading the request body */
	EX_UPSTREAM,		/* request sent or being sent, waiting for the head */
	EX_RESPONSE,		/* streaming the response body */
	EX_DONE,
};

struct exchange {
	struct conn		*c;
	struct proxy_gen	*gen;
	enum ex_state		 state;
	struct http_head	 req;
	struct http_body	 reqbody;
	struct evbuffer		*reqraw;	/* decoded request body */
	int			 reqbody_done;	/* all of it has been read */
	char			 id[72];
	const struct cfg_principal *principal;
	const struct cfg_route	*route;
	const char		*route_name;	/* for the access log */
	struct timespec		 start;
	int			 status;	/* as sent to the client */
	uint64_t		 bytes_out;
	int			 keep_alive;	/* with the client */
	/* upstream side */
	struct upconn		*up;
	int			 retried;
	struct evbuffer		*upreq;		/* the request as sent, for a retry */
	struct http_head	 resp;
	struct http_body	 respbody;
	int			 resp_head_done;
	/* response pipeline (proxy/body.c) */
	int			 mode;		/* BODY_* */
	int			 committed;	/* status line sent */
	int			 chunked;	/* to the client */
	int			 close_after;	/* close the client after this */
	struct evbuffer		*raw;		/* body bytes from upstream */
	struct evbuffer		*out;		/* processed, not yet sent */
	z_stream		*zs;
	struct json_rw		*rw;
	int			 body_eof;	/* the upstream body has ended */
	int			 zpending;	/* zlib holds more output */
	int			 zdone;		/* the compressed stream ended */
	int			 zfail;		/* it could not be inflated */
	/* policy decisions of the body being read (one direction at a time) */
	struct pol_eval		*ev;
	struct proxy_visit	 pv;
	/* the overrides ex->ev decides under; held until ex->ev is freed,
	 * since its decisions point at override ids inside it */
	struct audit_ovr_snap	*ovr;
	int64_t			 ovr_now;	/* the instant ex->ev matches at */
	/* outreach (proxy/outreach.c) */
	struct or_hold		*orh;		/* what an admitted message took */
	int			 unsub;		/* the public unsubscribe link */
};

struct conn {
	struct worker		*w;
	struct bufferevent	*bev;
	int			 listener;	/* index into cfg->listen, -1 admin */
	int			 tls;
	char			 peer[64];
	char			*subject;	/* verified client certificate, or NULL */
	int			 subject_checked;
	struct event		*deadline;	/* request head must arrive by then */
	struct exchange		*ex;
	struct evbuffer		*wbuf;		/* staged output, see conn_flush() */
	int			 closing;	/* close when output drains */
	TAILQ_ENTRY(conn)	 link;
};

/* server.c */
void	worker_log_access(struct worker *, const struct exchange *);
void	worker_set_pools(struct worker *);

/* conn.c */
void	conn_accept(struct worker *, int fd, const struct sockaddr *, int listener);
void	conn_free(struct conn *);
void	conn_close_idle(struct worker *);
/* Ends the exchange with a JSON error {"error","reason","request_id"}. */
void	ex_error(struct exchange *, int status, const char *code, const char *reason);
/* The same with extra header lines ("Name: value\r\n"...), e.g. Retry-After. */
void	ex_error_hdr(struct exchange *, int status, const char *code,
	    const char *reason, const char *extra_headers);
/* Sends a complete response with a JSON body (copied). */
void	ex_reply_json(struct exchange *, int status, const char *json, size_t len);
void	ex_reply(struct exchange *, int status, const char *ctype,
	    const char *body, size_t len, const char *extra_headers);
/* ex_reply() with the body in <b> (the caller still owns and frees it). */
void	ex_reply_buf(struct exchange *, int status, const char *ctype,
	    struct evbuffer *b);
void	ex_finish(struct exchange *);
void	ex_abort(struct exchange *);
void	ex_start_response(struct exchange *, int status, int chunked,
	    int64_t content_length);
void	ex_send(struct exchange *, struct evbuffer *);
size_t	ex_client_pending(const struct exchange *);

/* upstream.c */
void	upstream_start(struct exchange *, struct evbuffer *body);
void	upstream_release(struct exchange *, int reusable);
void	upstream_pause(struct exchange *, int pause);
void	pool_clear(struct pool *);

/* body.c: the response pipeline. */
int	body_response_head(struct exchange *);
/* Processes the response body bytes in ex->raw. eof: 1 the body ended, 0 more
 * may come, -1 resume after the client drained. Returns 0 while the exchange
 * goes on, -1 when it ended (finished or failed): then touch nothing. */
int	body_response_data(struct exchange *, int eof);
/* Runs a whole request body through the request pipeline into <out>: 0, or
 * -1 after answering the client with the error. */
int	body_request(struct exchange *, struct evbuffer *in, struct evbuffer *out);
/* The one body pipeline, shared with `custos explain`: a rewriter with the
 * configuration's limits and, when <pv> is not NULL, the policy visitor. */
struct json_rw *body_rw(const struct proxy_gen *, int ndjson, struct proxy_visit *pv);
int	body_is_json_type(const char *ctype, size_t len);
int	body_is_ndjson_type(const char *ctype, size_t len);
void	body_free(struct exchange *);

/* record.c: an audit record for one direction of <ex>; type NULL for
 * decisions, "block" or "deny". 0, or -1 when the log cannot take it (the
 * caller fails closed). ex_audit_ready() is 0 while the log is down. */
int	ex_audit(struct exchange *, const char *direction, const char *type,
	    int status, const char *reason, const struct audit_decision *,
	    size_t n);
int	ex_audit_ready(const struct exchange *);
/* 1 after answering 503 audit_unavailable when the log is down, else 0. */
int	ex_audit_down(struct exchange *);
/* A refusal: a "block" record for <direction> with <reason>, then the error
 * answer <status> <code> with the same reason. */
void	ex_block(struct exchange *, const char *direction, int status,
	    const char *code, const char *reason);

/* quota.c: takes <n> reveal/break-glass decisions from the hourly quota of
 * every role of <p> that has one. 0, or -1 (nothing taken) with the role
 * whose quota it would pass and its limit. Any thread. */
struct quota_slot;
int	quota_take(struct proxy_server *, const struct proxy_config *,
	    const struct cfg_principal *p, long n, const char **role, long *limit);
void	quota_free(struct proxy_server *);

/* admin.c */
void	admin_handle(struct exchange *);
/* A reviewer's free text (an override's or an opt-out's reason) goes to the
 * decision log, which never holds personal data: -1 with the reason in err
 * when the built-in detectors find an email, phone number, identifier,
 * card, IBAN or IP address in it with medium confidence or more (or cannot
 * run), else 0. */
int	admin_text_check(const char *what, const char *text, char *err,
	    size_t errsize);

/* override.c: the engine's override hook. override_begin() (with no
 * snapshot held: after override_end) takes a snapshot of the server's
 * override store for the body about to be evaluated and sets ctx->override
 * when an override in it is active now; override_end() releases it (call it
 * after pol_eval_free). */
struct pol_ctx;
void	override_begin(struct exchange *, struct pol_ctx *ctx);
void	override_end(struct exchange *);
/* 0 (allow, reveal) to 5 (deny): how little of a value an action lets out. */
int	override_rank(enum pol_action);
/* What an override's action (as stored: allow, reclassify, mask ... deny)
 * does to a decision of <decided>: 1 and *out when it changes it; 0 when it
 * is unknown, not at least as strict (only allow and reclassify may relax),
 * or the same action. */
int	override_effect(const char *ovr_action, enum pol_action decided,
	    enum pol_action *out);

/* outreach.c: the outreach section of the policy (issue 9). */
#define OUTREACH_UNSUBSCRIBE_PATH	"/unsubscribe"
struct or_hold;
/* Errors (into errs) when the generation's policy has an outreach section
 * but the configuration lacks state_dir or keys: -1, else 0. */
int	outreach_gen_check(const struct proxy_gen *, struct pol_errs *errs);
/* Opens the state store for <g>'s outreach section, or gives the open store
 * the new layout (reload). Main thread. 0, or -1 with err. */
int	outreach_open(struct proxy_server *, const struct proxy_gen *g,
	    char *err, size_t errsize);
void	outreach_close(struct proxy_server *);
/* Weighs a message request of an automated caller before it goes up:
 * opt-outs (451), quiet hours and limits (429 + Retry-After), each refusal
 * audited. 0 to go on, -1 after answering. The counters are taken: unless
 * outreach_sent() marks the message as gone upstream, outreach_free() (from
 * ex_free) gives them back. */
int	outreach_check(struct exchange *);
void	outreach_sent(struct exchange *);
/* The unsubscribe link for the upstream (X-Custos-Unsubscribe), or NULL. */
const char *outreach_link(const struct exchange *);
void	outreach_free(struct exchange *);
/* The public unsubscribe link: is this request it, and answer it. */
int	outreach_is_unsubscribe(const struct exchange *);
void	outreach_unsubscribe(struct exchange *);
void	admin_optouts_list(struct exchange *, const struct cfg_admin_token *t);
void	admin_optouts_add(struct exchange *, const struct cfg_admin_token *t);
void	admin_optouts_remove(struct exchange *, const struct cfg_admin_token *t);

/* admin_audit.c: decisions, overrides and audit export on the admin API.
 * The handlers run on the main thread; <t> is the caller's admin token. */
struct cfg_admin_token;
void	admin_decision_get(struct exchange *, const struct cfg_admin_token *t);
void	admin_overrides_list(struct exchange *, const struct cfg_admin_token *t);
void	admin_overrides_add(struct exchange *, const struct cfg_admin_token *t);
void	admin_override_revoke(struct exchange *, const struct cfg_admin_token *t);
void	admin_audit_export(struct exchange *, const struct cfg_admin_token *t);

#define ADMIN_MAX_LIST	16	/* roles, evidence kept per decision */

/* An override request body (POST /v1/overrides), every string owned. */
struct admin_ovr_req {
	char	*decision_id, *action, *reason, *expires;
	int	 has_scope;
	char	*rule, *route, *path, *class_, *principal, *role;
	char	*fingerprint;
	int64_t	 expires_ms;
};
/* Parses and checks <body>: a JSON object with decision_id or scope (not
 * both; a scope of string members rule, route, path, class, principal, role,
 * fingerprint, at least one), action (allow, reclassify, mask, redact, drop,
 * hash, tokenize, encrypt, deny), reason (non-empty) and expires (RFC 3339,
 * later than <now_ms>). Unknown, duplicated or non-string members are errors
 * (a mistyped scope key must not widen an override). 0, or -1 with a
 * message for a 400 in err; req is then cleared. */
int	admin_ovr_parse(const char *body, size_t len, int64_t now_ms,
	    struct admin_ovr_req *req, char *err, size_t errsize);
void	admin_ovr_req_clear(struct admin_ovr_req *);

/* One decision of an audit record, as GET /v1/decisions/{id} shows it;
 * every string owned (NULL: absent or null). */
struct admin_decision {
	char		*time, *type, *request_id, *principal, *route;
	char		*direction, *policy;
	char		*roles[ADMIN_MAX_LIST];
	size_t		 nroles;
	int64_t		 status;		/* -1: absent */
	char		*id, *path, *class_, *level, *confidence, *rule;
	char		*action, *override, *break_glass, *error;
	char		*evidence[ADMIN_MAX_LIST];
	size_t		 nevidence;
	char		*fingerprints[POL_MAX_FPS];
	size_t		 nfingerprints;
	uint64_t	 count;
};
/* Reads one audit log line (without its newline) and fills <d> with the
 * decision <id> and its record's members. 1 found, 0 not in this line (or
 * not a record), -1 out of memory. d is cleared first. */
int	admin_decision_parse(const char *line, size_t len, const char *id,
	    struct admin_decision *d);
void	admin_decision_clear(struct admin_decision *);
/* Appends the decision in words (one or two sentences) to <out>; <ovr> is
 * the override it names, when known. */
void	admin_explain(const struct admin_decision *,
	    const struct audit_override *ovr, struct evbuffer *out);
/* Iterates "a=1&b=%20x": copies the next key and value (percent- and
 * '+'-decoded, NUL-terminated) and advances *q. 1 for a pair, 0 at the end,
 * -1 when a key or value is too long, malformed or holds a NUL. */
int	admin_query_next(const char **q, char *key, size_t ksize, char *val,
	    size_t vsize);

/* tls.c */
SSL_CTX	*tls_server_ctx(const struct cfg_listen *, struct pol_errs *, const char *cfgpath);
SSL_CTX	*tls_client_ctx(const struct cfg_upstream *, struct pol_errs *, const char *cfgpath);
/* The verified client certificate's subject as RFC 2253 text (caller frees),
 * or NULL when none was sent or it did not verify. */
char	*tls_peer_subject(SSL *);

/* server.c */
void	server_conn_gone(struct worker *);
int	server_reload(struct proxy_server *, int from_admin, struct evbuffer *why);

#endif
