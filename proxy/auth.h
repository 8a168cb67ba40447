/* proxy/auth.h — who is calling: API keys, client certificates, admin tokens. */
#ifndef CUSTOS_PROXY_AUTH_H
#define CUSTOS_PROXY_AUTH_H

#include <stddef.h>

struct proxy_config;
struct cfg_admin;

/* The bearer credential of an "Authorization: Bearer X" value: sets
 * *tok and *len and returns 0, or -1 when the value is not a Bearer credential.
 * The scheme is case-insensitive; the token is the rest, trimmed. */
int	proxy_auth_bearer_token(const char *value, size_t vlen,
	    const char **tok, size_t *len);

/* The principal whose api_key_sha256 is SHA-256(key), or NULL. Compares
 * against every principal in constant time per entry (sodium_memcmp), so the
 * time taken does not tell which principal, if any, nearly matched. */
const struct cfg_principal *proxy_auth_key(const struct proxy_config *,
	    const char *key, size_t len);

/* The principal mapped to a verified client certificate subject (RFC 2253
 * text, e.g. "CN=bi.example.com"), or NULL. */
const struct cfg_principal *proxy_auth_subject(const struct proxy_config *,
	    const char *subject);

/* The admin token entry matching SHA-256(token), or NULL. */
const struct cfg_admin_token *proxy_auth_admin(const struct cfg_admin *,
	    const char *token, size_t len);

#endif
