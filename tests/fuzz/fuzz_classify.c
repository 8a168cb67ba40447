/* tests/fuzz/fuzz_classify.c — libFuzzer target: the first line of the input
 * is a field name, the rest the value; classified as a string and as a
 * number against the built-in set and a small custom set, and scanned as
 * free text. Checks that spans stay inside the value and do not overlap,
 * and that the value detectors' whole-value pre-filter never rules out a
 * value they would find without it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classifiers/classifiers.h"
#include "classifiers/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cls_set *builtin, *custom;
static struct cls_scratch *scr;

static void
init(void)
{
	static const struct cls_item re[] = { { "^VIP-[0-9]{6}$", { "f", 1, 1 } },
	    { "(a|b)*c", { "f", 2, 1 } } };
	static const struct cls_item words[] = { { "falcon", { "f", 3, 1 } },
	    { "癌症", { "f", 3, 9 } } };
	static const struct cls_item paths[] = { { "$.**.notes", { "f", 4, 1 } } };
	static const struct cls_item tx[] = { { "email", { "f", 5, 1 } },
	    { "phone", { "f", 5, 8 } }, { "iban", { "f", 5, 15 } } };
	static const struct cls_item fields[] = { { "tel", { "f", 6, 1 } },
	    { "name", { "f", 6, 6 } } };
	const struct cls_class_def d[] = {
		{ .name = "vip", .regex = re, .nregex = 2, .words = words,
		  .nwords = 2, .fields = fields, .nfields = 2 },
		{ .name = "notes", .paths = paths, .npaths = 1, .in_text = tx,
		  .nin_text = 3 },
	};

	builtin = cls_set_builtin();
	custom = cls_set_new(d, 2, NULL);
	scr = cls_scratch_new();
	if (builtin == NULL || custom == NULL || scr == NULL)
		abort();
}

static void
check(const struct cls_set *set, const struct cls_field *f)
{
	struct cls_match m[64];
	struct cls_vhit h[CLS_K_NVALUE];
	size_t n = cls_classify(set, scr, f, m, 64), last = 0;
	int num = f->type == CLS_V_NUMBER;

	/* the whole-value pre-filter rules out only what no detector finds */
	if (cls_values_detect(f->value, f->len, num, 1, CLS_VALUE_KINDS, h) !=
	    cls_values_detect(f->value, f->len, num, 0, CLS_VALUE_KINDS, h))
		abort();

	if (n > 64)
		n = 64;
	for (size_t i = 0; i < n; i++) {
		if (m[i].start > m[i].end || m[i].end > f->len)
			abort();
		if (m[i].nevidence > CLS_MAX_EVIDENCE || m[i].detector == NULL)
			abort();
		if (m[i].span) {
			if (m[i].start < last && i > 0 && m[i - 1].span &&
			    m[i].start != m[i - 1].start)
				abort();
			last = m[i].end;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *nl;
	struct cls_seg seg[2] = { { "customers", 9, 0, 0 },
	    { "notes", 5, 0, 0 } };
	struct cls_path path = { seg, 2, 0 };
	struct cls_field f;

	if (builtin == NULL)
		init();
	nl = memchr(p, '\n', size);
	memset(&f, 0, sizeof(f));
	if (nl != NULL) {
		f.name = p;
		f.name_len = (size_t)(nl - p);
		f.value = nl + 1;
		f.len = size - f.name_len - 1;
	} else {
		f.value = p;
		f.len = size;
	}
	f.path = &path;
	f.type = CLS_V_STRING;
	check(builtin, &f);
	check(custom, &f);
	f.type = CLS_V_NUMBER;
	check(builtin, &f);
	f.name = NULL;
	f.path = NULL;
	f.type = CLS_V_STRING;
	check(builtin, &f);
	return 0;
}
