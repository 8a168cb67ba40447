/* proxy/auth.c — API keys, client certificate subjects, admin tokens. */
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "proxy/auth.h"
#include "proxy/config.h"

int
proxy_auth_bearer_token(const char *v, size_t n, const char **tok, size_t *len)
{
	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	if (n < 7 || strncasecmp(v, "bearer", 6) != 0 ||
	    (v[6] != ' ' && v[6] != '\t'))
		return -1;
	v += 7, n -= 7;
	while (n > 0 && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 0)
		return -1;
	*tok = v;
	*len = n;
	return 0;
}

const struct cfg_principal *
proxy_auth_key(const struct proxy_config *cfg, const char *key, size_t len)
{
	const struct cfg_principal	*found = NULL;
	unsigned char			 h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)key, len);
	/* No early exit: every principal is compared. */
	for (size_t i = 0; i < cfg->nprincipals; i++) {
		const struct cfg_principal *p = &cfg->principals[i];

		if (p->has_key && sodium_memcmp(h, p->api_key_sha256, sizeof(h)) == 0)
			found = p;
	}
	sodium_memzero(h, sizeof(h));
	return found;
}

const struct cfg_principal *
proxy_auth_subject(const struct proxy_config *cfg, const char *subject)
{
	if (subject == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->nprincipals; i++) {
		const struct cfg_principal *p = &cfg->principals[i];

		if (p->client_cert_subject != NULL &&
		    strcmp(p->client_cert_subject, subject) == 0)
			return p;
	}
	return NULL;
}

const struct cfg_admin_token *
proxy_auth_admin(const struct cfg_admin *adm, const char *tok, size_t len)
{
	const struct cfg_admin_token	*found = NULL;
	unsigned char			 h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)tok, len);
	for (size_t i = 0; i < adm->ntokens; i++)
		if (sodium_memcmp(h, adm->tokens[i].token_sha256, sizeof(h)) == 0)
			found = &adm->tokens[i];
	return found;
}
