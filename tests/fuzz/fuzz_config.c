/* tests/fuzz/fuzz_config.c — libFuzzer target: arbitrary bytes as a YAML
 * document (policies/yaml.c and its getters) and as a config file
 * (proxy/config.c). Must never crash, leak or hang; errors are expected. */
#include <sys/mman.h>

#include <dlfcn.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policies/errs.h"
#include "policies/yaml.h"
#include "proxy/config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The loader resolves host names with getaddrinfo. A fuzzer inventing names
 * would send DNS queries (slow, and off-box): this definition, which takes
 * precedence over libc's (and over the sanitizer's weak interceptor), lets
 * only numeric hosts through to the real one.
 */
int
getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	int		(*real)(const char *, const char *,
			    const struct addrinfo *, struct addrinfo **);
	struct addrinfo	 h;

	*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
	if (real == NULL)
		return EAI_FAIL;
	if (hints != NULL)
		h = *hints;
	else {
		memset(&h, 0, sizeof(h));
		h.ai_family = AF_UNSPEC;
	}
	h.ai_flags |= AI_NUMERICHOST;
	return real(node, service, &h, res);
}

static const char *const some_keys[] = {
	"listen", "address", "tls", "routes", "match", "upstream", "url",
	"name", "roles", NULL
};

/* Every node through every getter: none may crash on any shape. */
static void
walk(const struct pol_yaml_node *n, struct pol_errs *errs)
{
	const char	*s, **list;
	long long	 ll;
	size_t		 sz, cnt;
	int		 b, ms, e;
	char		 buf[128];

	if (n == NULL)
		return;
	(void)pol_yaml_str(n, errs, &s);
	(void)pol_yaml_bool(n, errs, &b);
	(void)pol_yaml_int(n, -1000, 1000, errs, &ll);
	(void)pol_yaml_size(n, 0, SIZE_MAX, errs, &sz);
	(void)pol_yaml_ms(n, 1, 1000, errs, &ms);
	(void)pol_yaml_enum(n, some_keys, errs, &e);
	if (pol_yaml_strlist(n, errs, &list, &cnt) == 0)
		free(list);
	(void)pol_yaml_label(n, buf, sizeof(buf));
	(void)pol_yaml_describe(n, buf, sizeof(buf));
	(void)pol_yaml_check_keys(n, some_keys, errs);
	(void)pol_yaml_need(n, "name", errs);
	if (pol_yaml_scalar(n) != NULL && pol_yaml_len(n) < 100)
		(void)pol_yaml_suggest(pol_yaml_scalar(n), some_keys);
	for (size_t i = 0; i < pol_yaml_len(n) && pol_yaml_type(n) ==
	    POL_YAML_SEQ; i++)
		walk(pol_yaml_item(n, i), errs);
	for (size_t i = 0; i < pol_yaml_len(n) && pol_yaml_type(n) ==
	    POL_YAML_MAP; i++) {
		walk(pol_yaml_map_key(n, i), errs);
		walk(pol_yaml_map_value(n, i), errs);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pol_errs		*errs, *sorted;
	struct pol_yaml		*doc;
	struct proxy_config	*cfg;
	char			 path[64];
	int			 fd;

	if ((errs = pol_errs_new()) == NULL)
		return 0;
	doc = pol_yaml_load_mem("fuzz.yaml", (const char *)data, size, errs);
	/* Bounded: the walk is quadratic in the worst case (labels, checks). */
	if (size < 4096)
		walk(pol_yaml_root(doc), errs);
	pol_yaml_free(doc);
	if ((sorted = pol_errs_new()) != NULL) {
		pol_yaml_move_sorted(sorted, errs);
		pol_errs_free(sorted);
	}
	pol_errs_free(errs);

	/* The config loader reads a path: hand it an anonymous memory file. */
	if ((fd = memfd_create("fuzz-config", MFD_CLOEXEC)) == -1)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if ((errs = pol_errs_new()) != NULL) {
			cfg = proxy_config_load(path, errs);
			proxy_config_free(cfg);
			pol_errs_free(errs);
		}
	}
	close(fd);
	return 0;
}
