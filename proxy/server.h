/* proxy/server.h — running the proxy: `custos serve`. */
#ifndef CUSTOS_PROXY_SERVER_H
#define CUSTOS_PROXY_SERVER_H

/* Loads <config_path>, binds every listener (SO_REUSEPORT, one event loop per
 * worker thread) and serves until SIGTERM/SIGINT, after which it stops
 * accepting, finishes the requests in flight and returns 0. SIGHUP reloads
 * the configuration atomically (a bad file keeps the running one). Returns 1
 * when it cannot start (every configuration error printed to stderr). */
int	proxy_server_run(const char *config_path);

#endif
