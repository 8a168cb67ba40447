/* tests/fuzz/fuzz_admin.c — libFuzzer target for what the admin API reads
 * from outside: override request bodies (POST /v1/overrides), query strings
 * (GET /v1/audit/export) and audit log lines read back for
 * GET /v1/decisions/{id}, with the explanation written from them. Must never
 * crash, leak or hang. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proxy/internal.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct admin_ovr_req	 req;
	struct admin_decision	 d;
	struct evbuffer		*out;
	char			 err[256], key[64], val[256], *q;
	const char		*p;

	memset(&req, 0, sizeof(req));
	if (admin_ovr_parse((const char *)data, size, 0, &req, err,
	    sizeof(err)) == 0)
		admin_ovr_req_clear(&req);

	if ((q = malloc(size + 1)) == NULL)
		return 0;
	memcpy(q, data, size);
	q[size] = '\0';
	p = q;
	for (int i = 0; i < 1000 &&
	    admin_query_next(&p, key, sizeof(key), val, sizeof(val)) == 1; i++)
		;

	memset(&d, 0, sizeof(d));
	if (admin_decision_parse(q, size, "r.1", &d) == 1 &&
	    (out = evbuffer_new()) != NULL) {
		admin_explain(&d, NULL, out);
		evbuffer_free(out);
	}
	admin_decision_clear(&d);
	free(q);
	return 0;
}
