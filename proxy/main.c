/* proxy/main.c — the custos command line: dispatch to the subcommands. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "policies/errs.h"
#include "proxy/cli.h"
#include "proxy/config.h"
#include "proxy/internal.h"
#include "proxy/server.h"

#define CUSTOS_VERSION	"0.1.0"

static const struct command {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*summary;
} commands[] = {
	{"serve", cmd_serve, "run the proxy in the foreground"},
	{"check", cmd_check, "validate the configuration and policies"},
	{"explain", cmd_explain, "run one JSON document through the pipeline"},
	{"classify", cmd_classify, "show what the classifiers find in values"},
	{"keys", cmd_keys, "manage the keyring"},
	{"audit", cmd_audit, "verify, export and search the decision log"},
	{"override", cmd_override, "add, list or revoke human overrides"},
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: custos COMMAND [OPTIONS]\n\n"
	    "custos is a data governance and privacy enforcement proxy.\n\n"
	    "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'custos COMMAND --help' for a command's options.\n");
}

/* -c CONFIG, --config CONFIG, --help: the options serve and check share. */
static int
config_opt(int argc, char **argv, const char *help, const char **path)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	optind = 1;
	*path = NULL;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			*path = optarg;
			break;
		case 'h':
			printf("%s", help);
			return 0;
		default:
			fprintf(stderr, "%s", help);
			return 2;
		}
	}
	if (*path == NULL || optind != argc) {
		fprintf(stderr, "%s", help);
		return 2;
	}
	return -1;
}

int
cmd_serve(int argc, char **argv)
{
	const char	*path;
	int		 rc;

	rc = config_opt(argc, argv, "usage: custos serve -c CONFIG\n\n"
	    "Runs the proxy in the foreground. SIGHUP reloads the configuration\n"
	    "(a bad file keeps the running one); SIGTERM stops accepting,\n"
	    "finishes the requests in flight and exits 0.\n", &path);
	if (rc >= 0)
		return rc;
	return proxy_server_run(path);
}

int
cmd_check(int argc, char **argv)
{
	struct pol_errs		*errs;
	struct proxy_config	*cfg;
	struct proxy_gen	*gen = NULL;
	const char		*path;
	int			 rc;

	rc = config_opt(argc, argv, "usage: custos check -c CONFIG\n\n"
	    "Validates the configuration (and what it names) without serving.\n"
	    "Prints one line per problem as FILE:LINE:COL: error: MESSAGE and\n"
	    "exits 1 if there is any.\n", &path);
	if (rc >= 0)
		return rc;
	if ((errs = pol_errs_new()) == NULL)
		return 1;
	/* The same loading as serve, short of binding: TLS files, keyring and
	 * policies are all checked. */
	if ((cfg = proxy_config_load(path, errs)) != NULL &&
	    (gen = proxy_gen_new(cfg, errs)) == NULL)
		proxy_config_free(cfg);
	pol_errs_print(errs, stderr);
	rc = gen == NULL || pol_errs_count(errs) > 0;
	if (!rc)
		printf("%s: ok (policy %s)\n", path, gen->version);
	else
		fprintf(stderr, "%s: %zu error(s)\n", path, pol_errs_count(errs));
	proxy_gen_unref(gen);
	pol_errs_free(errs);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("custos %s\n", CUSTOS_VERSION);
		return 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "custos: cannot initialise libsodium\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "custos: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
