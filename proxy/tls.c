/* proxy/tls.c — OpenSSL contexts for TLS listeners (optional client
 * certificates) and for https upstreams (verified, with SNI). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "policies/errs.h"
#include "proxy/internal.h"

static void
tls_errs(struct pol_errs *errs, const char *cfgpath, const char *what,
    const char *file)
{
	unsigned long	e = ERR_get_error();
	char		buf[256];

	ERR_error_string_n(e, buf, sizeof(buf));
	pol_errs_add(errs, POL_ERROR, cfgpath, 0, 0, "%s %s: %s", what,
	    file ? file : "", e ? buf : "unknown TLS error");
	ERR_clear_error();
}

SSL_CTX *
tls_server_ctx(const struct cfg_listen *l, struct pol_errs *errs,
    const char *cfgpath)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_errs(errs, cfgpath, "cannot create a TLS context for", l->address);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, l->tls_cert) != 1) {
		tls_errs(errs, cfgpath, "cannot load the certificate", l->tls_cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, l->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		tls_errs(errs, cfgpath, "cannot load the private key", l->tls_key);
		goto fail;
	}
	if (l->tls_client_ca != NULL) {
		STACK_OF(X509_NAME) *names;

		if (SSL_CTX_load_verify_locations(ctx, l->tls_client_ca, NULL) != 1) {
			tls_errs(errs, cfgpath, "cannot load the client CA",
			    l->tls_client_ca);
			goto fail;
		}
		if ((names = SSL_load_client_CA_file(l->tls_client_ca)) != NULL)
			SSL_CTX_set_client_CA_list(ctx, names);
		/* Ask for a certificate, refuse a bad one, but let callers
		 * without one authenticate with an API key instead. */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_verify_depth(ctx, 4);
		SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"custos", 6);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_client_ctx(const struct cfg_upstream *u, struct pol_errs *errs,
    const char *cfgpath)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_errs(errs, cfgpath, "cannot create a TLS context for", u->url);
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (u->ca != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, u->ca, NULL) != 1) {
			tls_errs(errs, cfgpath, "cannot load the upstream CA", u->ca);
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		tls_errs(errs, cfgpath, "cannot load the system CA store", NULL);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

char *
tls_peer_subject(SSL *ssl)
{
	X509	*cert;
	BIO	*bio;
	char	*s = NULL;
	long	 n;
	char	*p;

	if (ssl == NULL || (cert = SSL_get0_peer_certificate(ssl)) == NULL ||
	    SSL_get_verify_result(ssl) != X509_V_OK)
		return NULL;
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0,
	    XN_FLAG_RFC2253) >= 0 && (n = BIO_get_mem_data(bio, &p)) > 0 &&
	    (s = malloc((size_t)n + 1)) != NULL) {
		memcpy(s, p, (size_t)n);
		s[n] = '\0';
	}
	BIO_free(bio);
	return s;
}
