/* tests/unit/test_auth.c — API keys, bearer parsing, certificate subjects and
 * admin tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proxy/auth.h"
#include "proxy/config.h"

static struct cfg_principal principals[3];
static struct proxy_config cfg;

static void
hash(const char *key, uint8_t out[32])
{
	crypto_hash_sha256(out, (const unsigned char *)key, strlen(key));
}

static int
setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	memset(principals, 0, sizeof(principals));
	principals[0].name = "rep-app";
	principals[0].has_key = 1;
	hash("rep-secret", principals[0].api_key_sha256);
	principals[1].name = "bi";
	principals[1].client_cert_subject = "CN=bi.example.com";
	principals[2].name = "copilot";
	principals[2].has_key = 1;
	hash("ai-secret", principals[2].api_key_sha256);
	cfg.principals = principals;
	cfg.nprincipals = 3;
	return 0;
}

static void
test_bearer_parse(void **state)
{
	const char	*tok;
	size_t		 len;

	(void)state;
	assert_int_equal(proxy_auth_bearer_token("Bearer abc", 10, &tok, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(tok, "abc", 3);
	assert_int_equal(proxy_auth_bearer_token("  bearer\t xyz  ", 15, &tok,
	    &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(tok, "xyz", 3);
	assert_int_equal(proxy_auth_bearer_token("Basic abc", 9, &tok, &len), -1);
	assert_int_equal(proxy_auth_bearer_token("Bearer", 6, &tok, &len), -1);
	assert_int_equal(proxy_auth_bearer_token("Bearer   ", 9, &tok, &len), -1);
	assert_int_equal(proxy_auth_bearer_token("Bearerabc", 9, &tok, &len), -1);
}

static void
test_key_lookup(void **state)
{
	const struct cfg_principal *p;

	(void)state;
	p = proxy_auth_key(&cfg, "rep-secret", 10);
	assert_non_null(p);
	assert_string_equal(p->name, "rep-app");
	p = proxy_auth_key(&cfg, "ai-secret", 9);
	assert_non_null(p);
	assert_string_equal(p->name, "copilot");
	assert_null(proxy_auth_key(&cfg, "rep-secreT", 10));
	assert_null(proxy_auth_key(&cfg, "rep-secret ", 11));
	assert_null(proxy_auth_key(&cfg, "", 0));
	/* A principal without a key never matches the hash of anything. */
	assert_null(proxy_auth_key(&cfg, "CN=bi.example.com", 17));
}

static void
test_subject(void **state)
{
	(void)state;
	assert_string_equal(proxy_auth_subject(&cfg, "CN=bi.example.com")->name, "bi");
	assert_null(proxy_auth_subject(&cfg, "CN=evil.example.com"));
	assert_null(proxy_auth_subject(&cfg, "cn=bi.example.com"));
	assert_null(proxy_auth_subject(&cfg, NULL));
}

static void
test_admin_tokens(void **state)
{
	struct cfg_admin_token	 t[2];
	struct cfg_admin	 adm = {.tokens = t, .ntokens = 2};

	(void)state;
	memset(t, 0, sizeof(t));
	t[0].name = "ops";
	t[0].roles = CFG_ROLE_ADMIN;
	hash("ops-token", t[0].token_sha256);
	t[1].name = "alice";
	t[1].roles = CFG_ROLE_REVIEWER;
	hash("alice-token", t[1].token_sha256);
	assert_string_equal(proxy_auth_admin(&adm, "ops-token", 9)->name, "ops");
	assert_string_equal(proxy_auth_admin(&adm, "alice-token", 11)->name, "alice");
	assert_null(proxy_auth_admin(&adm, "ops-token2", 10));
	adm.ntokens = 0;
	assert_null(proxy_auth_admin(&adm, "ops-token", 9));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bearer_parse),
		cmocka_unit_test(test_key_lookup),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_admin_tokens),
	};

	return cmocka_run_group_tests_name("auth", tests, setup, NULL);
}
