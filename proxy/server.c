/* proxy/server.c — the process: generations, worker threads with one event
 * loop each, listeners (SO_REUSEPORT), reload on SIGHUP, drain on SIGTERM, and
 * the buffered access log. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <sodium.h>

#include "audit/audit.h"
#include "classifiers/classifiers.h"
#include "keys/keys.h"
#include "policies/policies.h"
#include "policies/errs.h"
#include "proxy/internal.h"
#include "proxy/server.h"

#define LOG_FLUSH_BYTES	3072		/* under PIPE_BUF: lines never interleave */
#define DRAIN_TIMEOUT_S	30

/* ---- generations ---------------------------------------------------- */

/* Loads the configuration's policy files, checked against what the
 * configuration defines: roles, principals, route patterns and keys. */
static struct pol_policy *
gen_load_policy(const struct proxy_config *cfg, const struct keys_ring *ring,
    struct pol_errs *errs)
{
	struct pol_policy	*pol = NULL;
	const char		**roles = NULL, **pnames = NULL, **rnames = NULL;
	size_t			 nroles = 0;
	struct pol_env		 env;

	roles = calloc(1, sizeof(*roles));
	pnames = calloc(cfg->nprincipals + 1, sizeof(*pnames));
	rnames = calloc(cfg->nroutes + 1, sizeof(*rnames));
	if (roles == NULL || pnames == NULL || rnames == NULL)
		goto out;
	for (size_t i = 0; i < cfg->nprincipals; i++) {
		pnames[i] = cfg->principals[i].name;
		for (size_t j = 0; j < cfg->principals[i].nroles; j++) {
			const char	*r = cfg->principals[i].roles[j];
			const char	**nr;
			size_t		 k;

			for (k = 0; k < nroles && strcmp(roles[k], r) != 0; k++)
				;
			if (k < nroles)
				continue;
			if ((nr = realloc(roles, (nroles + 1) * sizeof(*nr))) == NULL)
				goto out;
			roles = nr;
			roles[nroles++] = r;
		}
	}
	for (size_t i = 0; i < cfg->nroutes; i++)
		rnames[i] = cfg->routes[i].match;
	memset(&env, 0, sizeof(env));
	env.roles = roles;
	env.nroles = nroles;
	env.principals = pnames;
	env.nprincipals = cfg->nprincipals;
	env.routes = rnames;
	env.nroutes = cfg->nroutes;
	env.ring = ring;
	pol = pol_policy_load((const char *const *)cfg->policies,
	    cfg->npolicies, &env, errs);
out:
	free(roles);
	free(pnames);
	free(rnames);
	return pol;
}

struct proxy_gen *
proxy_gen_new(struct proxy_config *cfg, struct pol_errs *errs)
{
	struct proxy_gen	*g;
	size_t			 before = pol_errs_count(errs);
	unsigned char		 h[crypto_hash_sha256_BYTES];
	char			 hex[2 * sizeof(h) + 1];
	FILE			*f;
	crypto_hash_sha256_state st;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	atomic_init(&g->refs, 1);
	g->cfg = cfg;
	g->listen_ssl = calloc(cfg->nlisten + 1, sizeof(SSL_CTX *));
	g->up_ssl = calloc(cfg->nupstreams + 1, sizeof(SSL_CTX *));
	if (g->listen_ssl == NULL || g->up_ssl == NULL)
		goto fail;
	for (size_t i = 0; i < cfg->nlisten; i++)
		if (cfg->listen[i].tls)
			g->listen_ssl[i] = tls_server_ctx(&cfg->listen[i], errs,
			    cfg->path);
	for (size_t i = 0; i < cfg->nupstreams; i++)
		if (cfg->upstreams[i].tls)
			g->up_ssl[i] = tls_client_ctx(&cfg->upstreams[i], errs,
			    cfg->path);
	if (cfg->keys.dir != NULL) {
		struct keys_master_src m = {
			.file = cfg->keys.master_key_file,
			.env = cfg->keys.master_key_env,
		};

		g->ring = keys_open(cfg->keys.dir, &m, 0, errs);
	}
	if (pol_errs_count(errs) > before)
		goto fail;
	if (cfg->npolicies > 0 &&
	    (g->policy = gen_load_policy(cfg, g->ring, errs)) == NULL)
		goto fail;
	if (outreach_gen_check(g, errs) < 0)
		goto fail;

	/* The version names what decides: the policy files' hash when there
	 * are policies, else a hash of the configuration file. */
	if (g->policy != NULL) {
		snprintf(g->version, sizeof(g->version), "%s",
		    pol_policy_version(g->policy));
		return g;
	}
	crypto_hash_sha256_init(&st);
	if ((f = fopen(cfg->path, "rb")) != NULL) {
		unsigned char	buf[8192];
		size_t		n;

		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			crypto_hash_sha256_update(&st, buf, n);
		fclose(f);
	}
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(g->version, sizeof(g->version), "sha256:%.16s", hex);
	return g;
fail:
	g->cfg = NULL;		/* the caller still owns cfg on failure */
	proxy_gen_unref(g);
	return NULL;
}

struct proxy_gen *
proxy_gen_ref(struct proxy_gen *g)
{
	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
	return g;
}

void
proxy_gen_unref(struct proxy_gen *g)
{
	if (g == NULL ||
	    atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (g->cfg != NULL) {
		for (size_t i = 0; i < g->cfg->nlisten; i++)
			SSL_CTX_free(g->listen_ssl[i]);
		for (size_t i = 0; i < g->cfg->nupstreams; i++)
			SSL_CTX_free(g->up_ssl[i]);
	}
	free(g->listen_ssl);
	free(g->up_ssl);
	pol_policy_free(g->policy);
	keys_close(g->ring);
	proxy_config_free(g->cfg);
	free(g);
}

/* ---- access log ----------------------------------------------------- */

static void
log_flush(struct worker *w)
{
	size_t	n = evbuffer_get_length(w->log);

	if (n == 0)
		return;
	/* One write per flush, of whole lines only. */
	if (write(STDERR_FILENO, evbuffer_pullup(w->log, -1), n) < 0) {
		/* Nowhere to report it; the proxy keeps serving. */
	}
	evbuffer_drain(w->log, n);
}

static void
log_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	log_flush(arg);
}

void
worker_log_access(struct worker *w, const struct exchange *ex)
{
	struct timespec	 now;
	char		 ts[AUDIT_TIME_LEN + 1];
	double		 ms;

	clock_gettime(CLOCK_REALTIME, &now);
	audit_time_format(&now, ts);
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - ex->start.tv_sec) * 1e3 +
	    (now.tv_nsec - ex->start.tv_nsec) / 1e6;
	/* The route pattern, never the raw path: paths carry personal data. */
	evbuffer_add_printf(w->log,
	    "%s access rid=%s principal=%s route=\"%s\" status=%d "
	    "bytes=%llu ms=%.3f\n", ts, ex->id, ex->principal ? ex->principal->name : "-",
	    ex->route_name ? ex->route_name : "-", ex->status,
	    (unsigned long long)ex->bytes_out, ms);
	if (evbuffer_get_length(w->log) >= LOG_FLUSH_BYTES)
		log_flush(w);
	else if (!evtimer_pending(w->log_timer, NULL)) {
		struct timeval tv = {0, 100000};

		evtimer_add(w->log_timer, &tv);
	}
}

/* ---- workers -------------------------------------------------------- */

void
worker_set_pools(struct worker *w)
{
	for (size_t i = 0; i < w->npools; i++)
		pool_clear(&w->pools[i]);
	free(w->pools);
	w->npools = w->gen->cfg->nupstreams;
	w->pools = calloc(w->npools ? w->npools : 1, sizeof(struct pool));
	if (w->pools == NULL) {
		fprintf(stderr, "custos: out of memory\n");
		abort();
	}
	for (size_t i = 0; i < w->npools; i++)
		TAILQ_INIT(&w->pools[i].idle);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct worker	*w = arg;
	int		 idx = -1;

	(void)salen;
	for (size_t i = 0; i < w->nlisteners; i++)
		if (w->listeners[i] == l)
			idx = (int)i;
	if (w->is_main)
		idx = -1;
	if ((size_t)atomic_load_explicit(&w->srv->stats.connections,
	    memory_order_relaxed) >= w->gen->cfg->limits.max_connections) {
		/* Over the limit: refuse at once rather than queue. */
		evutil_closesocket(fd);
		return;
	}
	conn_accept(w, fd, sa, idx);
}

static void
worker_maybe_exit(struct worker *w)
{
	if (w->draining && w->nconns == 0)
		event_base_loopexit(w->base, NULL);
}

static void
worker_drain(struct worker *w)
{
	w->draining = 1;
	for (size_t i = 0; i < w->nlisteners; i++) {
		evconnlistener_free(w->listeners[i]);
		w->listeners[i] = NULL;
	}
	w->nlisteners = 0;
	conn_close_idle(w);
	worker_maybe_exit(w);
}

static void
notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker		*w = arg;
	struct proxy_gen	*g;
	int			 drain;
	char			 buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&w->lock);
	g = w->next_gen;
	w->next_gen = NULL;
	drain = w->drain_req;
	pthread_mutex_unlock(&w->lock);
	if (g != NULL) {
		proxy_gen_unref(w->gen);
		w->gen = g;
		worker_set_pools(w);
	}
	if (drain)
		worker_drain(w);
	else
		worker_maybe_exit(w);
}

/* Called by conn.c when a connection goes away. */
void
server_conn_gone(struct worker *w)
{
	worker_maybe_exit(w);
}

static int
worker_init(struct worker *w, struct proxy_server *srv, int id,
    struct event_base *base)
{
	unsigned char r[8];

	w->srv = srv;
	w->id = id;
	TAILQ_INIT(&w->conns);
	pthread_mutex_init(&w->lock, NULL);
	w->base = base ? base : event_base_new();
	if (w->base == NULL)
		return -1;
	w->gen = proxy_gen_ref(srv->gen);
	worker_set_pools(w);
	/* The main thread wakes a worker through a pipe rather than
	 * event_active(), so that no event base needs libevent's locks. */
	if (pipe2(w->notify_fd, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	w->notify = event_new(w->base, w->notify_fd[0], EV_READ | EV_PERSIST,
	    notify_cb, w);
	w->log = evbuffer_new();
	w->scratch = evbuffer_new();
	w->cls = cls_scratch_new();
	w->fpc = keys_fpcache_new();
	w->log_timer = evtimer_new(w->base, log_timer_cb, w);
	if (w->notify == NULL || w->log == NULL || w->log_timer == NULL ||
	    w->scratch == NULL || w->cls == NULL || w->fpc == NULL ||
	    event_add(w->notify, NULL) < 0)
		return -1;
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(w->idprefix, sizeof(w->idprefix), r, sizeof(r));
	return 0;
}

static void
worker_fini(struct worker *w)
{
	if (w->log != NULL)
		log_flush(w);
	for (size_t i = 0; i < w->nlisteners; i++)
		if (w->listeners[i] != NULL)
			evconnlistener_free(w->listeners[i]);
	free(w->listeners);
	for (size_t i = 0; i < w->npools; i++)
		pool_clear(&w->pools[i]);
	free(w->pools);
	while (!TAILQ_EMPTY(&w->conns))
		conn_free(TAILQ_FIRST(&w->conns));
	if (w->notify)
		event_free(w->notify);
	if (w->notify_fd[0] > 0) {
		close(w->notify_fd[0]);
		close(w->notify_fd[1]);
	}
	if (w->log_timer)
		event_free(w->log_timer);
	if (w->log)
		evbuffer_free(w->log);
	audit_rec_free(w->rec);
	cls_scratch_free(w->cls);
	keys_fpcache_free(w->fpc);
	if (w->scratch)
		evbuffer_free(w->scratch);
	proxy_gen_unref(w->gen);
	proxy_gen_unref(w->next_gen);
	pthread_mutex_destroy(&w->lock);
	if (!w->is_main && w->base)
		event_base_free(w->base);
}

static struct evconnlistener *
listen_on(struct worker *w, const struct sockaddr *sa, socklen_t len)
{
	return evconnlistener_new_bind(w->base, accept_cb, w,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE |
	    LEV_OPT_REUSEABLE_PORT, 1024, sa, (int)len);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

/* ---- signals, reload, drain ----------------------------------------- */

static void
post_to_workers(struct proxy_server *srv, struct proxy_gen *g, int drain)
{
	for (int i = -1; i < srv->nworkers; i++) {
		struct worker *w = i < 0 ? &srv->main : &srv->workers[i];

		pthread_mutex_lock(&w->lock);
		if (g != NULL) {
			proxy_gen_unref(w->next_gen);
			w->next_gen = proxy_gen_ref(g);
		}
		if (drain)
			w->drain_req = 1;
		pthread_mutex_unlock(&w->lock);
		if (w->notify_fd[1] > 0 && write(w->notify_fd[1], "", 1) < 0) {
			/* A full pipe already holds a wake-up. */
		}
	}
}

static int
same_listeners(const struct proxy_config *a, const struct proxy_config *b)
{
	if (a->nlisten != b->nlisten)
		return 0;
	for (size_t i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i].address, b->listen[i].address) != 0 ||
		    a->listen[i].tls != b->listen[i].tls)
			return 0;
	if ((a->admin.address == NULL) != (b->admin.address == NULL) ||
	    (a->admin.address && strcmp(a->admin.address, b->admin.address)))
		return 0;
	return a->workers == b->workers;
}

int
server_reload(struct proxy_server *srv, int from_admin, struct evbuffer *why)
{
	struct pol_errs		*errs = pol_errs_new();
	struct proxy_config	*cfg;
	struct proxy_gen	*g = NULL;

	(void)from_admin;
	cfg = proxy_config_load(srv->config_path, errs);
	if (cfg != NULL && !same_listeners(srv->gen->cfg, cfg))
		pol_errs_add(errs, POL_ERROR, srv->config_path, 0, 0,
		    "listen, admin and workers cannot change on reload; "
		    "restart custos to apply them");
	if (cfg != NULL && pol_errs_count(errs) == 0)
		g = proxy_gen_new(cfg, errs);
	if (g != NULL) {
		char	err[512];

		if (outreach_open(srv, g, err, sizeof(err)) < 0) {
			pol_errs_add(errs, POL_ERROR, srv->config_path, 0, 0,
			    "outreach state: %s", err);
			proxy_gen_unref(g);	/* frees cfg with it */
			g = NULL;
			cfg = NULL;
		}
	}
	if (g == NULL) {
		proxy_config_free(cfg);
		atomic_fetch_add(&srv->stats.reload_failures, 1);
		fprintf(stderr, "custos: reload failed; still serving "
		    "policy %s:\n", srv->gen->version);
		pol_errs_print(errs, stderr);
		for (size_t i = 0; why && i < pol_errs_total(errs); i++)
			if (pol_errs_get(errs, i))
				evbuffer_add_printf(why, "%s\n", pol_errs_get(errs, i));
		pol_errs_free(errs);
		return -1;
	}
	pol_errs_print(errs, stderr);		/* warnings */
	pol_errs_free(errs);
	g->id = ++srv->next_gen_id;
	proxy_gen_unref(srv->gen);
	srv->gen = g;
	post_to_workers(srv, g, 0);
	atomic_fetch_add(&srv->stats.reloads, 1);
	fprintf(stderr, "custos: reloaded %s (policy %s)\n", srv->config_path,
	    g->version);
	return 0;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct proxy_server *srv = arg;

	(void)what;
	if (sig == SIGHUP) {
		server_reload(srv, 0, NULL);
		return;
	}
	if (srv->draining)
		return;
	srv->draining = 1;
	fprintf(stderr, "custos: %s: draining connections\n",
	    sig == SIGTERM ? "SIGTERM" : "SIGINT");
	if (srv->admin != NULL) {
		evconnlistener_free(srv->admin);
		srv->admin = NULL;
	}
	post_to_workers(srv, NULL, 1);
}

/* ---- audit log ------------------------------------------------------ */

static int
audit_sign(void *ring, const uint8_t *msg, size_t len, uint8_t sig[64],
    const char **key_id)
{
	return keys_sign_audit(ring, msg, len, sig, key_id);
}

/*
 * The audit log lives as long as the process (its directory cannot change on
 * reload). Its signer has a keyring of its own, opened here, so that a reload
 * never pulls the signing key from under the writer thread; rotating the audit
 * key takes effect at the next start.
 */
static int
server_audit_open(struct proxy_server *srv, const struct proxy_config *cfg)
{
	struct audit_opts	 o;
	struct pol_errs		*errs;
	char			 err[256];
	struct keys_master_src	 m = {
		.file = cfg->keys.master_key_file,
		.env = cfg->keys.master_key_env,
	};

	if (cfg->audit.dir == NULL)
		return 0;
	memset(&o, 0, sizeof(o));
	o.dir = cfg->audit.dir;
	o.fsync = cfg->audit.fsync;
	o.checkpoint_every = cfg->audit.checkpoint_every;
	o.checkpoint_interval = cfg->audit.checkpoint_interval;
	o.rotate_size = cfg->audit.rotate_size;
	o.queue = cfg->audit.queue;
	if (cfg->keys.dir != NULL) {
		if ((errs = pol_errs_new()) == NULL)
			return -1;
		srv->audit_ring = keys_open(cfg->keys.dir, &m, 0, errs);
		pol_errs_print(errs, stderr);
		pol_errs_free(errs);
		if (srv->audit_ring == NULL)
			return -1;
		srv->signer.sign = audit_sign;
		srv->signer.ctx = srv->audit_ring;
		o.signer = &srv->signer;
	} else
		fprintf(stderr, "custos: warning: no keys section: the audit "
		    "log is chained but its checkpoints are not signed\n");
	if ((srv->audit = audit_open(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "custos: cannot open the audit log in %s: %s\n",
		    cfg->audit.dir, err);
		return -1;
	}
	return 0;
}

/* ---- entry ---------------------------------------------------------- */

/* Waits for the worker threads to finish draining; past DRAIN_TIMEOUT_S the
 * connections still open are cut. */
static void
join_workers(struct proxy_server *srv, int started)
{
	struct timespec	deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += DRAIN_TIMEOUT_S;
	for (int i = 0; i < started; i++) {
		if (pthread_timedjoin_np(srv->workers[i].thread, NULL,
		    &deadline) == 0)
			continue;
		fprintf(stderr, "custos: worker %d still busy after %d s; "
		    "closing its connections\n", i, DRAIN_TIMEOUT_S);
		event_base_loopbreak(srv->workers[i].base);
		pthread_join(srv->workers[i].thread, NULL);
	}
}

int
proxy_server_run(const char *config_path)
{
	struct proxy_server	 srv;
	struct pol_errs		*errs = NULL;
	struct proxy_config	*cfg = NULL;
	int			 started = 0, rc = 1;

	memset(&srv, 0, sizeof(srv));
	srv.config_path = config_path;
	pthread_mutex_init(&srv.quota_lock, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		fprintf(stderr, "custos: cannot initialise libsodium\n");
		return 1;
	}
	/* No core dumps of key material, no ptrace by other users. */
	if (keys_harden_process() < 0)
		fprintf(stderr, "custos: warning: cannot disable core dumps\n");
	if ((errs = pol_errs_new()) == NULL)
		goto fail;
	if ((cfg = proxy_config_load(config_path, errs)) == NULL ||
	    (srv.gen = proxy_gen_new(cfg, errs)) == NULL) {
		pol_errs_print(errs, stderr);
		fprintf(stderr, "custos: %zu error(s); not starting\n",
		    pol_errs_count(errs));
		if (srv.gen == NULL)
			proxy_config_free(cfg);
		cfg = NULL;
		goto fail;
	}
	pol_errs_print(errs, stderr);		/* warnings */
	cfg = srv.gen->cfg;
	srv.gen->id = ++srv.next_gen_id;

	if (server_audit_open(&srv, cfg) < 0)
		goto fail;
	/* Overrides live as long as the process, like the audit log; workers
	 * read them through snapshots. A broken chain refuses to start. */
	if (cfg->state_dir != NULL) {
		char	err[512];

		if ((srv.ovr = audit_ovr_open(cfg->state_dir, err,
		    sizeof(err))) == NULL) {
			fprintf(stderr, "custos: cannot open the overrides in "
			    "%s: %s\n", cfg->state_dir, err);
			goto fail;
		}
	}
	if ((srv.base = event_base_new()) == NULL)
		goto fail;
	{
		char	err[512];

		if (outreach_open(&srv, srv.gen, err, sizeof(err)) < 0) {
			fprintf(stderr, "custos: cannot open the outreach state "
			    "in %s: %s\n", cfg->state_dir, err);
			goto fail;
		}
	}
	srv.main.is_main = 1;
	if (worker_init(&srv.main, &srv, -1, srv.base) < 0)
		goto fail;
	srv.nworkers = cfg->workers;
	if ((srv.workers = calloc(srv.nworkers, sizeof(struct worker))) == NULL)
		goto fail;
	for (int i = 0; i < srv.nworkers; i++) {
		struct worker *w = &srv.workers[i];

		if (worker_init(w, &srv, i, NULL) < 0)
			goto fail;
		w->nlisteners = cfg->nlisten;
		w->listeners = calloc(cfg->nlisten, sizeof(*w->listeners));
		if (w->listeners == NULL)
			goto fail;
		for (size_t j = 0; j < cfg->nlisten; j++) {
			w->listeners[j] = listen_on(w,
			    (struct sockaddr *)&cfg->listen[j].addr,
			    cfg->listen[j].addrlen);
			if (w->listeners[j] == NULL) {
				fprintf(stderr, "custos: cannot listen on %s: %s\n",
				    cfg->listen[j].address, strerror(errno));
				goto fail;
			}
		}
	}
	if (cfg->admin.address != NULL) {
		srv.admin = evconnlistener_new_bind(srv.base, accept_cb, &srv.main,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
		    LEV_OPT_REUSEABLE, 128,
		    (struct sockaddr *)&cfg->admin.addr, (int)cfg->admin.addrlen);
		if (srv.admin == NULL) {
			fprintf(stderr, "custos: cannot listen on %s (admin): %s\n",
			    cfg->admin.address, strerror(errno));
			goto fail;
		}
	}
	srv.sig_hup = evsignal_new(srv.base, SIGHUP, signal_cb, &srv);
	srv.sig_term = evsignal_new(srv.base, SIGTERM, signal_cb, &srv);
	srv.sig_int = evsignal_new(srv.base, SIGINT, signal_cb, &srv);
	if (!srv.sig_hup || !srv.sig_term || !srv.sig_int ||
	    evsignal_add(srv.sig_hup, NULL) || evsignal_add(srv.sig_term, NULL) ||
	    evsignal_add(srv.sig_int, NULL))
		goto fail;

	for (int i = 0; i < srv.nworkers; i++) {
		if (pthread_create(&srv.workers[i].thread, NULL, worker_main,
		    &srv.workers[i]) != 0)
			goto fail;
		started++;
	}
	for (size_t j = 0; j < cfg->nlisten; j++)
		fprintf(stderr, "custos: listening on %s%s\n",
		    cfg->listen[j].tls ? "https://" : "http://",
		    cfg->listen[j].address);
	if (cfg->admin.address)
		fprintf(stderr, "custos: admin on http://%s\n", cfg->admin.address);
	fprintf(stderr, "custos: %d worker(s), policy %s, pid %ld\n",
	    srv.nworkers, srv.gen->version, (long)getpid());

	/* The main loop ends when draining is done: it exits once its own
	 * connections (admin) are gone and every worker thread has ended. */
	event_base_dispatch(srv.base);
	rc = 0;
fail:
	if (srv.nworkers > 0 && started < srv.nworkers && srv.workers)
		post_to_workers(&srv, NULL, 1);
	join_workers(&srv, started);
	for (int i = 0; srv.workers && i < srv.nworkers; i++)
		worker_fini(&srv.workers[i]);
	free(srv.workers);
	outreach_close(&srv);		/* flushes the journal */
	if (srv.admin)
		evconnlistener_free(srv.admin);
	if (srv.base) {
		worker_fini(&srv.main);
		if (srv.sig_hup) event_free(srv.sig_hup);
		if (srv.sig_term) event_free(srv.sig_term);
		if (srv.sig_int) event_free(srv.sig_int);
		event_base_free(srv.base);
	}
	audit_ovr_close(srv.ovr);
	/* Last: every worker has submitted its records by now. */
	if (srv.audit != NULL && audit_close(srv.audit) < 0)
		rc = 1;
	keys_close(srv.audit_ring);
	quota_free(&srv);
	pthread_mutex_destroy(&srv.quota_lock);
	proxy_gen_unref(srv.gen);
	pol_errs_free(errs);
	if (rc == 0)
		fprintf(stderr, "custos: stopped\n");
	return rc;
}
