/* proxy/cmd_classify.c — `custos classify`: run the classifiers on JSON Lines
 * {"field": NAME, "value": V} (or plain text lines) and print what they find
 * and why, one JSON line per input line. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/classifiers.h"
#include "policies/errs.h"
#include "policies/policies.h"
#include "proxy/cli.h"
#include "proxy/config.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: custos classify [-c CONFIG] [--text] [FILE|-]\n"
	    "Reads JSON Lines {\"field\": NAME, \"value\": V} (or, with --text,\n"
	    "plain text lines) and prints one JSON line per input:\n"
	    "  {\"matches\": [{\"class\", \"detector\", \"level\", \"confidence\",\n"
	    "    \"evidence\", \"span\": [START, END]}]}\n"
	    "Spans are byte offsets into the value's UTF-8. Without -c every\n"
	    "built-in detector is used, one class each, spans included.\n"
	    "Each field is taken as the member $.FIELD for path globs.\n"
	    "  -c CONFIG   use the classes of the config's policies\n"
	    "  --text      each line is one free-text value without a field name\n");
}

/* --- a small reader for one flat JSON object per line ------------------- */

struct rd {
	const char	*p, *end;
};

static void
ws(struct rd *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
	    *r->p == '\r' || *r->p == '\n'))
		r->p++;
}

static int
hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*v |= (unsigned)((c | 0x20) - 'a' + 10);
		else
			return -1;
	}
	return 0;
}

static size_t
utf8_put(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes a JSON string at r->p (the opening quote) into out, which has room
 * for the rest of the line. -1 when malformed. */
static int
jstring(struct rd *r, char *out, size_t *len)
{
	size_t o = 0;

	if (r->p >= r->end || *r->p != '"')
		return -1;
	r->p++;
	while (r->p < r->end && *r->p != '"') {
		unsigned char c = (unsigned char)*r->p++;
		unsigned cp, lo;

		if (c < 0x20)
			return -1;
		if (c != '\\') {
			out[o++] = (char)c;
			continue;
		}
		if (r->p >= r->end)
			return -1;
		switch (c = (unsigned char)*r->p++) {
		case '"': case '\\': case '/':
			out[o++] = (char)c;
			break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u':
			if (r->end - r->p < 4 || hex4(r->p, &cp) == -1)
				return -1;
			r->p += 4;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (r->end - r->p < 6 || r->p[0] != '\\' ||
				    r->p[1] != 'u' || hex4(r->p + 2, &lo) == -1 ||
				    lo < 0xdc00 || lo > 0xdfff)
					return -1;
				r->p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000)
				return -1;
			o += utf8_put(out + o, cp);
			break;
		default:
			return -1;
		}
	}
	if (r->p >= r->end)
		return -1;
	r->p++;
	out[o] = '\0';
	*len = o;
	return 0;
}

/* Skips any JSON value (for members other than field and value, and for
 * values that are neither strings nor numbers). */
static int
jskip(struct rd *r, char *tmp)
{
	size_t len;
	int depth = 0;

	ws(r);
	do {
		ws(r);
		if (r->p >= r->end)
			return -1;
		if (*r->p == '"') {
			if (jstring(r, tmp, &len) == -1)
				return -1;
		} else if (*r->p == '{' || *r->p == '[') {
			depth++;
			r->p++;
		} else if (*r->p == '}' || *r->p == ']') {
			if (depth == 0)
				return -1;
			depth--;
			r->p++;
		} else if (*r->p == ',' || *r->p == ':') {
			if (depth == 0)
				return -1;
			r->p++;
		} else {
			const char *st = r->p;

			while (r->p < r->end && strchr(",:]}\" \t\r\n", *r->p) == NULL)
				r->p++;
			if (r->p == st)
				return -1;
		}
	} while (depth > 0);
	return 0;
}

struct line {
	char		*field;		/* NULL: no field name */
	size_t		 field_len;
	char		*value;		/* NULL: nothing to classify */
	size_t		 value_len;
	enum cls_vtype	 type;
};

/* Parses {"field": ..., "value": ...}; bufs has three areas of len+1 bytes. */
static int
parse_line(const char *s, size_t len, char *bufs, struct line *ln)
{
	struct rd r = { s, s + len };
	char *key = bufs, *fbuf = bufs + len + 1, *vbuf = bufs + 2 * (len + 1);
	size_t klen;

	memset(ln, 0, sizeof(*ln));
	ws(&r);
	if (r.p >= r.end || *r.p++ != '{')
		return -1;
	ws(&r);
	if (r.p < r.end && *r.p == '}') {
		r.p++;
		goto end;
	}
	for (;;) {
		ws(&r);
		if (jstring(&r, key, &klen) == -1)
			return -1;
		ws(&r);
		if (r.p >= r.end || *r.p++ != ':')
			return -1;
		ws(&r);
		if (r.p >= r.end)
			return -1;
		if (strcmp(key, "field") == 0 && *r.p == '"') {
			if (jstring(&r, fbuf, &ln->field_len) == -1)
				return -1;
			ln->field = fbuf;
		} else if (strcmp(key, "value") == 0 && *r.p == '"') {
			if (jstring(&r, vbuf, &ln->value_len) == -1)
				return -1;
			ln->value = vbuf;
			ln->type = CLS_V_STRING;
		} else if (strcmp(key, "value") == 0 && (*r.p == '-' ||
		    (*r.p >= '0' && *r.p <= '9'))) {
			const char *st = r.p;

			while (r.p < r.end && strchr("+-.eE0123456789", *r.p) != NULL)
				r.p++;
			memcpy(vbuf, st, (size_t)(r.p - st));
			ln->value_len = (size_t)(r.p - st);
			vbuf[ln->value_len] = '\0';
			ln->value = vbuf;
			ln->type = CLS_V_NUMBER;
		} else if (jskip(&r, key) == -1)
			return -1;
		ws(&r);
		if (r.p < r.end && *r.p == ',') {
			r.p++;
			continue;
		}
		if (r.p < r.end && *r.p == '}') {
			r.p++;
			break;
		}
		return -1;
	}
end:
	ws(&r);
	return r.p == r.end ? 0 : -1;
}

static void
put_json_string(FILE *o, const char *s)
{
	fputc('"', o);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(o, "\\%c", c);
		else if (c < 0x20)
			fprintf(o, "\\u%04x", c);
		else
			fputc(c, o);
	}
	fputc('"', o);
}

static void
print_matches(FILE *o, const struct cls_match *m, size_t n, size_t total)
{
	fputs("{\"matches\": [", o);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", {\"class\": " : "{\"class\": ", o);
		put_json_string(o, m[i].class_name);
		fputs(", \"detector\": ", o);
		put_json_string(o, m[i].detector);
		fprintf(o, ", \"level\": \"%s\", \"confidence\": \"%s\", "
		    "\"evidence\": [", cls_level_name(m[i].level),
		    cls_conf_name(m[i].confidence));
		for (size_t e = 0; e < m[i].nevidence; e++) {
			if (e)
				fputs(", ", o);
			put_json_string(o, m[i].evidence[e]);
		}
		fprintf(o, "], \"span\": [%zu, %zu]}", m[i].start, m[i].end);
	}
	fputc(']', o);
	if (total > n)
		fprintf(o, ", \"truncated\": %zu", total - n);
	fputs("}\n", o);
}

#define MAX_MATCHES	256

int
cmd_classify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "text", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cls_set *builtin = NULL;
	const struct cls_set *set;
	struct proxy_config *cfg = NULL;
	struct pol_policy *pol = NULL;
	struct pol_errs *errs = NULL;
	struct cls_scratch *scr = NULL;
	struct cls_match *m = NULL;
	const char *config = NULL, *path = "-";
	char *line = NULL, *bufs = NULL;
	size_t cap = 0, bufcap = 0, lineno = 0;
	ssize_t len;
	FILE *in = stdin;
	int ch, text = 0, rc = 1, bad = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:th", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 't':
			text = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		return 2;
	}
	if (argc - optind == 1)
		path = argv[optind];
	if (config != NULL) {
		/* the classes of the config's policies, loaded and checked
		 * as `custos check` does (roles, routes and keys unchecked) */
		if ((errs = pol_errs_new()) == NULL) {
			fprintf(stderr, "custos classify: out of memory\n");
			goto done;
		}
		if ((cfg = proxy_config_load(config, errs)) == NULL ||
		    (pol = pol_policy_load((const char *const *)cfg->policies,
		    cfg->npolicies, NULL, errs)) == NULL) {
			pol_errs_print(errs, stderr);
			goto done;
		}
		pol_errs_print(errs, stderr);	/* warnings */
		set = pol_policy_classes(pol);
	} else if ((set = builtin = cls_set_builtin()) == NULL) {
		fprintf(stderr, "custos classify: out of memory\n");
		goto done;
	}
	if ((scr = cls_scratch_new()) == NULL ||
	    (m = calloc(MAX_MATCHES, sizeof(*m))) == NULL) {
		fprintf(stderr, "custos classify: out of memory\n");
		goto done;
	}
	if (strcmp(path, "-") != 0 && (in = fopen(path, "r")) == NULL) {
		perror(path);
		goto done;
	}
	while ((len = getline(&line, &cap, in)) != -1) {
		struct line ln;
		struct cls_seg seg;
		struct cls_path cp = { &seg, 1, 0 };
		struct cls_field f;
		size_t total;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (text) {
			memset(&ln, 0, sizeof(ln));
			ln.value = line;
			ln.value_len = (size_t)len;
		} else {
			if (bufcap < 3 * ((size_t)len + 1)) {
				free(bufs);
				bufcap = 3 * ((size_t)len + 1);
				if ((bufs = malloc(bufcap)) == NULL) {
					fprintf(stderr, "custos classify: out of "
					    "memory\n");
					goto done;
				}
			}
			if (len == 0)
				continue;
			if (parse_line(line, (size_t)len, bufs, &ln) == -1) {
				fprintf(stderr, "%s:%zu: error: not a JSON object "
				    "{\"field\": ..., \"value\": ...}\n",
				    strcmp(path, "-") ? path : "<stdin>", lineno);
				puts("{\"error\": \"invalid JSON line\"}");
				bad = 1;
				continue;
			}
		}
		if (ln.value == NULL) {
			puts("{\"matches\": []}");
			continue;
		}
		/* the field is the document's only member: $.NAME */
		seg.key = ln.field;
		seg.len = ln.field_len;
		seg.index = 0;
		f.name = ln.field;
		f.name_len = ln.field_len;
		f.path = &cp;
		f.value = ln.value;
		f.len = ln.value_len;
		f.type = ln.type;
		total = cls_classify(set, scr, &f, m, MAX_MATCHES);
		print_matches(stdout, m, total < MAX_MATCHES ? total :
		    MAX_MATCHES, total);
	}
	if (ferror(in)) {
		perror(path);
		goto done;
	}
	rc = bad;
done:
	if (in != NULL && in != stdin)
		fclose(in);
	free(line);
	free(bufs);
	free(m);
	cls_scratch_free(scr);
	cls_set_free(builtin);
	pol_policy_free(pol);
	proxy_config_free(cfg);
	pol_errs_free(errs);
	return rc;
}
