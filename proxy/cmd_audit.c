/* proxy/cmd_audit.c — `custos audit verify|export|fingerprint`: the
 * auditors' commands over an audit directory. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "audit/audit.h"
#include "keys/keys.h"
#include "policies/errs.h"
#include "proxy/cli.h"
#include "proxy/config.h"

#define EXIT_USAGE	2

static const char audit_help[] =
    "usage: custos audit COMMAND [OPTIONS]\n\n"
    "Commands:\n"
    "  verify DIR [--public-key FILE]   check that the decision log is whole\n"
    "  export DIR [FILTERS] [--format jsonl|csv]\n"
    "                                   write the matching records to stdout\n"
    "  fingerprint VALUE -c CONFIG      the fingerprint the log keeps for VALUE\n\n"
    "Run 'custos audit COMMAND --help' for a command's options.\n";

static const char verify_help[] =
    "usage: custos audit verify DIR [--public-key FILE]...\n\n"
    "Recomputes the hash chain of every audit-NNNNNN.jsonl file in DIR, in\n"
    "order, and checks DIR/HEAD. With --public-key (a file of\n"
    "\"ed25519:KEYID:BASE64URL\" lines, from `custos keys export-public`;\n"
    "may be given more than once) every checkpoint signature is verified too.\n"
    "Reports the first edited, deleted, reordered or inserted record as\n"
    "FILE:LINE, and how many records follow the last checkpoint (not signed\n"
    "yet: cutting those cannot be detected without an external copy).\n\n"
    "Options:\n"
    "  -k, --public-key FILE  verify checkpoint signatures with these keys\n"
    "  -q, --quiet            print only problems\n"
    "  -h, --help             this text\n\n"
    "Exit status: 0 intact, 1 not intact, 2 usage or I/O error.\n";

static const char export_help[] =
    "usage: custos audit export DIR [OPTIONS]\n\n"
    "Writes the records of DIR (checkpoints left out) to stdout, oldest first.\n"
    "Does not verify the chain: run `custos audit verify` for that.\n\n"
    "Options:\n"
    "  --since TIME       records at or after TIME (RFC 3339, e.g.\n"
    "                     2026-11-27T04:00:00Z or 2026-11-27)\n"
    "  --until TIME       records before TIME\n"
    "  --principal NAME   records of this principal\n"
    "  --rule ID          decisions of this rule (other decisions left out)\n"
    "  --action ACTION    decisions with this action (mask, deny, ...)\n"
    "  --format FORMAT    jsonl (default): the log's lines, with only the\n"
    "                     matching decisions when --rule or --action is given;\n"
    "                     csv: a header, then one row per decision (RFC 4180)\n"
    "  -h, --help         this text\n";

static const char fingerprint_help[] =
    "usage: custos audit fingerprint VALUE|- -c CONFIG\n\n"
    "Prints the keyed fingerprint the audit log keeps instead of VALUE, to\n"
    "search the log for it (\"did custos process this phone number?\").\n"
    "Give - to read the value from standard input (one trailing newline is\n"
    "dropped), so that it stays out of the shell history and process list.\n"
    "Needs the keyring of the configuration (its \"fingerprint\" key).\n\n"
    "Options:\n"
    "  -c, --config FILE  the custos configuration\n"
    "  -h, --help         this text\n";

static int
cmd_verify(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{"public-key", required_argument, NULL, 'k'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct audit_verify_report	 rep;
	struct audit_pubkey		*keys = NULL, *more, *nk;
	size_t				 nkeys = 0;
	char				 err[512];
	int				 ch, n, rc, quiet = 0, status = EXIT_USAGE;
	const char			*dir;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "k:qh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			if ((n = audit_pubkey_load(optarg, &more, err,
			    sizeof(err))) < 0) {
				fprintf(stderr, "custos audit verify: %s\n", err);
				goto out;
			}
			if ((nk = realloc(keys, (nkeys + (size_t)n) *
			    sizeof(*keys))) == NULL) {
				free(more);
				fprintf(stderr, "custos audit verify: out of memory\n");
				goto out;
			}
			keys = nk;
			memcpy(keys + nkeys, more, (size_t)n * sizeof(*keys));
			nkeys += (size_t)n;
			free(more);
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			fputs(verify_help, stdout);
			status = 0;
			goto out;
		default:
			fputs(verify_help, stderr);
			goto out;
		}
	}
	if (optind != argc - 1) {
		fputs(verify_help, stderr);
		goto out;
	}
	dir = argv[optind];
	rc = audit_verify(dir, keys, nkeys, AUDIT_VERIFY_PROGRESS, &rep);
	if (rep.warning[0])
		fprintf(stderr, "custos audit verify: warning: %s\n", rep.warning);
	if (rc != 0) {
		fprintf(stderr, "custos audit verify: %s/%s\n", dir, rep.error);
		if (!quiet)
			printf("%s: NOT INTACT: %" PRIu64 " records verified before "
			    "the first problem\n", dir, rep.records);
		status = rc < 0 ? EXIT_USAGE : 1;
		goto out;
	}
	status = 0;
	if (quiet)
		goto out;
	printf("%s: intact: %" PRIu64 " files, %" PRIu64 " records, %" PRIu64
	    " checkpoints\n", dir, rep.files, rep.records, rep.checkpoints);
	if (rep.records > 0)
		printf("head: seq %" PRIu64 " hash %s\n", rep.last_seq, rep.head);
	if (nkeys > 0)
		printf("signatures: %" PRIu64 " verified\n",
		    rep.signatures_checked);
	else
		printf("signatures: not checked (no --public-key)\n");
	if (rep.head_file_seq > 0)
		printf("HEAD: signed checkpoint seq %" PRIu64 " found in the log\n",
		    rep.head_file_seq);
	if (rep.unsigned_tail > 0)
		printf("%" PRIu64 " records after the last checkpoint are not yet "
		    "signed\n", rep.unsigned_tail);
out:
	free(keys);
	return status;
}

static int
cmd_export(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{"since", required_argument, NULL, 's'},
		{"until", required_argument, NULL, 'u'},
		{"principal", required_argument, NULL, 'p'},
		{"rule", required_argument, NULL, 'r'},
		{"action", required_argument, NULL, 'a'},
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct audit_filter	 f;
	int			 ch, format = AUDIT_FMT_JSONL;
	char			 err[512];
	long			 n;

	memset(&f, 0, sizeof(f));
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
		case 'u':
			if (audit_time_parse(optarg, ch == 's' ? &f.since_ms :
			    &f.until_ms) < 0) {
				fprintf(stderr, "custos audit export: %s: not an "
				    "RFC 3339 time (e.g. 2026-11-27T04:00:00Z)\n",
				    optarg);
				return EXIT_USAGE;
			}
			break;
		case 'p':
			f.principal = optarg;
			break;
		case 'r':
			f.rule = optarg;
			break;
		case 'a':
			f.action = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "jsonl") == 0)
				format = AUDIT_FMT_JSONL;
			else if (strcmp(optarg, "csv") == 0)
				format = AUDIT_FMT_CSV;
			else {
				fprintf(stderr, "custos audit export: --format: "
				    "jsonl or csv, not %s\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(export_help, stdout);
			return 0;
		default:
			fputs(export_help, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		fputs(export_help, stderr);
		return EXIT_USAGE;
	}
	if ((n = audit_export(argv[optind], &f, format, stdout, err,
	    sizeof(err))) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "custos audit export: %s\n",
		    n < 0 ? err : strerror(errno));
		return 1;
	}
	return 0;
}

static int
cmd_fingerprint(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char		*config = NULL, *value;
	char			*line = NULL, fp[KEYS_FP_LEN + 1];
	size_t			 cap = 0, len;
	ssize_t			 n;
	struct pol_errs		*errs = NULL;
	struct proxy_config	*cfg = NULL;
	struct keys_ring	*ring = NULL;
	struct keys_master_src	 master;
	int			 ch, status = EXIT_USAGE;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			fputs(fingerprint_help, stdout);
			return 0;
		default:
			fputs(fingerprint_help, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || config == NULL) {
		fputs(fingerprint_help, stderr);
		return EXIT_USAGE;
	}
	value = argv[optind];
	len = strlen(value);
	if (strcmp(value, "-") == 0) {
		if ((n = getline(&line, &cap, stdin)) < 0) {
			fprintf(stderr, "custos audit fingerprint: no value on "
			    "standard input\n");
			goto out;
		}
		len = (size_t)n;
		if (len > 0 && line[len - 1] == '\n')
			len--;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		value = line;
	}
	if ((errs = pol_errs_new()) == NULL)
		goto out;
	if ((cfg = proxy_config_load(config, errs)) == NULL) {
		pol_errs_print(errs, stderr);
		goto out;
	}
	if (cfg->keys.dir == NULL) {
		fprintf(stderr, "custos audit fingerprint: %s: no keys section\n",
		    config);
		goto out;
	}
	master.file = cfg->keys.master_key_file;
	master.env = cfg->keys.master_key_env;
	if ((ring = keys_open(cfg->keys.dir, &master, 0, errs)) == NULL) {
		pol_errs_print(errs, stderr);
		goto out;
	}
	if (keys_fingerprint(ring, value, len, fp) < 0) {
		fprintf(stderr, "custos audit fingerprint: the keyring has no "
		    "usable \"fingerprint\" key\n");
		status = 1;
		goto out;
	}
	printf("%s\n", fp);
	status = 0;
out:
	if (line != NULL) {
		sodium_memzero(line, cap);
		free(line);
	}
	keys_close(ring);
	proxy_config_free(cfg);
	pol_errs_free(errs);
	return status;
}

int
cmd_audit(int argc, char **argv)
{
	if (argc < 2) {
		fputs(audit_help, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "export") == 0)
		return cmd_export(argc - 1, argv + 1);
	if (strcmp(argv[1], "fingerprint") == 0)
		return cmd_fingerprint(argc - 1, argv + 1);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(audit_help, stdout);
		return 0;
	}
	fprintf(stderr, "custos audit: unknown command %s\n\n", argv[1]);
	fputs(audit_help, stderr);
	return EXIT_USAGE;
}
