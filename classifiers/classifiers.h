/* classifiers/classifiers.h — sensitivity classes and their detectors: field
 * names, validated values, JSON-path globs, custom regexes, word lists and
 * free-text spans. Never includes proxy headers. */
#ifndef CUSTOS_CLASSIFIERS_H
#define CUSTOS_CLASSIFIERS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct pol_errs;

enum cls_level {
	CLS_PUBLIC, CLS_INTERNAL, CLS_CONFIDENTIAL, CLS_RESTRICTED, CLS_SECRET,
};

/* Ordered: a class keeps a match whose confidence is >= its min_confidence. */
enum cls_conf {
	CLS_CONF_NONE = 0, CLS_CONF_LOW, CLS_CONF_MEDIUM, CLS_CONF_HIGH,
};

/* "public" ... "secret", "low" ... "high"; parse returns -1 when unknown. */
const char	*cls_level_name(enum cls_level);
int		 cls_level_parse(const char *);
const char	*cls_conf_name(enum cls_conf);
int		 cls_conf_parse(const char *);

/*
 * Built-in detectors, by name. Value detectors (usable in `values:` and
 * `in_text:`): email, phone, cn_mobile, cn_resident_id, payment_card, iban,
 * us_ssn, cn_uscc, ipv4, ipv6. Field-only dictionaries (usable in `fields:`):
 * name, address, birth_date; every value detector also has a field-name
 * dictionary (EN and ZH) that `values:` brings along.
 * cls_detector_find() returns a detector number (>= 0) or -1;
 * cls_detector_is_value() says whether it may appear in values:/in_text:.
 */
int		 cls_detector_find(const char *name, size_t len);
int		 cls_detector_is_value(int detector);
const char	*cls_detector_name(int detector);	/* NULL when out of range */
size_t		 cls_detector_count(void);

/* Where a definition was written, for FILE:LINE:COL errors. file is borrowed
 * for the duration of cls_set_new() only. Columns and lines are 1-based. */
struct cls_src {
	const char	*file;
	size_t		 line, col;
};

/* One string of a class definition with its position. */
struct cls_item {
	const char	*text;		/* NUL-terminated, borrowed */
	struct cls_src	 src;
};

/*
 * One class as the policy loader hands it over; every pointer is borrowed for
 * the duration of cls_set_new() only (the set copies what it keeps).
 *  values   value detector names; each also brings its field-name dictionary.
 *  fields   more field names, normalised (case, _-. space, camelCase). A name
 *           that is a built-in detector name (e.g. "name", "email") also
 *           brings that detector's dictionary; any other name matches itself.
 *  paths    JSON-path globs: $ root, .key, .* any key, [n], [*] any index,
 *           .** any depth (zero or more segments), ['odd key'].
 *           With in_text: the globs scope where spans are searched.
 *           Without in_text: a matching path classifies the whole field.
 *  regex    PCRE2 patterns (UTF mode, JIT) searched in the value.
 *  words    words (ASCII: case-insensitive, whole words; other: substring)
 *           searched in the value; "@FILE" reads one word per line.
 *  in_text  value detectors whose spans are searched in string values.
 *  min_confidence  matches below it are dropped (default CLS_CONF_LOW).
 */
struct cls_class_def {
	const char		*name;
	enum cls_level		 level;
	enum cls_conf		 min_confidence;
	struct cls_src		 src;
	const struct cls_item	*values;
	size_t			 nvalues;
	const struct cls_item	*fields;
	size_t			 nfields;
	const struct cls_item	*paths;
	size_t			 npaths;
	const struct cls_item	*regex;
	size_t			 nregex;
	const struct cls_item	*words;
	size_t			 nwords;
	const struct cls_item	*in_text;
	size_t			 nin_text;
};

struct cls_set;		/* opaque; immutable once built */

/*
 * Builds the detectors of n classes (at most CLS_MAX_CLASSES). Unknown
 * detector names, bad regexes (with PCRE2's offset added to the column), bad
 * globs, unreadable word files and duplicate class names are appended to errs
 * as FILE:LINE:COL errors (errs may be NULL) — all of them, then NULL is
 * returned. NULL also on allocation failure. The caller owns the set;
 * cls_set_free(NULL) is a no-op. Once built, a set is read-only and may be
 * shared by any number of threads. Not for event callbacks (compiles regexes).
 */
#define CLS_MAX_CLASSES	4096
struct cls_set	*cls_set_new(const struct cls_class_def *defs, size_t n,
		    struct pol_errs *errs);
/* One class per built-in detector (class name = detector name, every value
 * detector also in_text), as `custos classify` uses without a config. Caller
 * owns it; NULL on allocation failure. */
struct cls_set	*cls_set_builtin(void);
void		 cls_set_free(struct cls_set *);

size_t		 cls_set_count(const struct cls_set *);
/* Class id by name, or -1. */
int		 cls_set_find(const struct cls_set *, const char *name);
/* Owned by the set; NULL / CLS_PUBLIC when id is out of range. */
const char	*cls_set_class_name(const struct cls_set *, size_t id);
enum cls_level	 cls_set_class_level(const struct cls_set *, size_t id);

/* Per-thread scratch (PCRE2 match data). Owned by the caller, not shared
 * between threads; usable with any set. NULL on allocation failure;
 * cls_scratch_free(NULL) is a no-op. */
struct cls_scratch;
struct cls_scratch	*cls_scratch_new(void);
void			 cls_scratch_free(struct cls_scratch *);

/*
 * The path of a field without formatting it: depth segments, segs[0] the
 * outermost; depth 0 is the root (segs may then be NULL). A segment is an
 * object member (key, len: decoded UTF-8) or, key NULL, an array element
 * (index). When <hashed> is set, each segment's hash is the producer's hash
 * of it and all the segments before it, array indices left out (equal
 * folded paths, equal hashes; json_path_segs() gives such a path); the
 * policy engine then keys its path cache on the last one instead of
 * hashing the segments itself. Without it, hash is not read.
 */
struct cls_seg {
	const char	*key;		/* NULL: an array element */
	size_t		 len;
	uint64_t	 index;
	uint64_t	 hash;		/* when hashed (see above) */
};
struct cls_path {
	const struct cls_seg	*segs;
	size_t			 depth;
	int			 hashed;
};

/* Compiled JSON-path globs ($.**.notes, $.customers[*].contact.*,
 * $['first name']), matched against a path without formatting it. NULL with
 * *err set to a static message and *errpos to the byte offset on a bad
 * glob; NULL with *err NULL on allocation failure. */
struct cls_glob;
struct cls_glob	*cls_glob_compile(const char *glob, const char **err,
		    size_t *errpos);
void		 cls_glob_free(struct cls_glob *);
int		 cls_glob_match(const struct cls_glob *, const struct cls_path *);

/* Writes <path> as JSON-path text ("$.items[3].email", "$['first name']";
 * with fold, indices as [*]) into buf (size bytes, NUL-terminated,
 * truncated to fit; NULL with size 0 to measure). Returns the full length
 * without the NUL. */
size_t		 cls_path_format(const struct cls_path *, int fold, char *buf,
		    size_t size);

enum cls_vtype { CLS_V_STRING, CLS_V_NUMBER };

/* One field to classify; every pointer is borrowed for the call. */
struct cls_field {
	const char		*name;	/* last key, decoded; NULL in arrays */
	size_t			 name_len;
	const struct cls_path	*path;	/* NULL: path globs never match */
	const char		*value;	/* decoded UTF-8 or the number's text */
	size_t			 len;
	enum cls_vtype		 type;
};

#define CLS_MAX_EVIDENCE	4

/*
 * One finding. Strings are static or owned by the set (valid while the set
 * lives) and never contain the value: detector is "value:email",
 * "field:email", "text:phone", "regex:CLASS", "words:CLASS", "path:CLASS";
 * evidence items are like "field:email", "value:email", "checksum:luhn",
 * "issuer:visa", "context:ssn". A whole-field match has span = 0, start = 0
 * and end = the value's length; a free-text match has span = 1 and the byte
 * range [start, end) of the value.
 */
struct cls_match {
	size_t		 class_id;
	const char	*class_name;
	enum cls_level	 level;
	const char	*detector;
	enum cls_conf	 confidence;
	int		 span;
	size_t		 start, end;
	size_t		 nevidence;
	const char	*evidence[CLS_MAX_EVIDENCE];
};

/*
 * Classifies one field against every class of the set. Writes at most cap
 * matches to out: first the whole-field matches (at most one per class, in
 * class order), then the free-text spans in value order (one match per
 * class and span; a span several of its detectors found lists them all in
 * the evidence). Returns the number of matches found; when that exceeds cap,
 * only cap were written and the number is an upper bound: the caller should
 * treat the field as wholly matched, or retry with more room.
 * Does not allocate when scratch is non-NULL (NULL works but allocates PCRE2
 * match data per regex call). Thread-safe for a shared set with one scratch
 * per thread; safe in event callbacks.
 */
size_t		 cls_classify(const struct cls_set *, struct cls_scratch *,
		    const struct cls_field *, struct cls_match *out, size_t cap);

/*
 * Field-name normalisation as the classifiers use it: ASCII lower case,
 * camelCase and the separators _ - . space / : turned into single '_',
 * non-ASCII bytes kept. Writes at most size - 1 bytes and a NUL; returns the
 * length written. Exposed for `custos check` hints and tests.
 */
size_t		 cls_name_normalise(const char *name, size_t len, char *buf,
		    size_t size);

/*
 * SHORT KEYS. The one fast hash and compare of the short byte strings that
 * the path caches and name memos key on (JSON keys, field names): the
 * rewriter's path prefix hashes (struct cls_seg), the engine's path cache
 * and the classifier's name memo all use these, so equal keys hash equal
 * wherever they were hashed. Not cryptographic, and unkeyed.
 */
static inline uint64_t
cls_hstep(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x9e3779b97f4a7c15ull;
}

/* The 1 to 7 bytes at s, all of them, in one word (the loads overlap: two
 * words stand for equal bytes only when the counts are equal too). */
static inline uint64_t
cls_tail_word(const char *s, size_t n)
{
	uint32_t	a, b;

	if (n >= 4) {
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		return a | (uint64_t)b << 32;
	}
	return (uint64_t)(unsigned char)s[0] |
	    (uint64_t)(unsigned char)s[n >> 1] << 8 |
	    (uint64_t)(unsigned char)s[n - 1] << 16;
}

/* <h> extended by the n bytes at s (their count first, then 8 at a time,
 * the last 8 overlapping). */
static inline uint64_t
cls_hash_bytes(uint64_t h, const char *s, size_t n)
{
	uint64_t	w;

	h = cls_hstep(h, n);
	if (n == 0)
		return h;
	if (n < 8)
		return cls_hstep(h, cls_tail_word(s, n));
	for (; n > 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = cls_hstep(h, w);
	}
	memcpy(&w, s + n - 8, 8);
	return cls_hstep(h, w);
}

/* memcmp(a, b, n) == 0 for short keys, without a call. */
static inline int
cls_same_bytes(const char *a, const char *b, size_t n)
{
	uint64_t	x, y;

	if (n < 8)
		return n == 0 || cls_tail_word(a, n) == cls_tail_word(b, n);
	for (; n > 8; a += 8, b += 8, n -= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return 0;
	}
	memcpy(&x, a + n - 8, 8);
	memcpy(&y, b + n - 8, 8);
	return x == y;
}

#endif
