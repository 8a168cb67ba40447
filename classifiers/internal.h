/* classifiers/internal.h — layouts shared by the classifiers' .c files. */
#ifndef CUSTOS_CLASSIFIERS_INTERNAL_H
#define CUSTOS_CLASSIFIERS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "classifiers/classifiers.h"

#ifdef CLS_TESTING
#define STATIC
#else
#define STATIC static
#endif

/* Built-in detectors ("kinds"); value kinds first. The order is the order of
 * cls_detector_name(). */
enum cls_kind {
	CLS_K_EMAIL, CLS_K_PHONE, CLS_K_CN_MOBILE, CLS_K_CN_RESIDENT_ID,
	CLS_K_PAYMENT_CARD, CLS_K_IBAN, CLS_K_US_SSN, CLS_K_CN_USCC,
	CLS_K_IPV4, CLS_K_IPV6,
	CLS_K_NVALUE,
	CLS_K_NAME = CLS_K_NVALUE, CLS_K_ADDRESS, CLS_K_BIRTH_DATE,
	CLS_K_COUNT
};
#define CLS_KBIT(k)		(1u << (k))
#define CLS_VALUE_KINDS		(CLS_KBIT(CLS_K_NVALUE) - 1)
/* A field-name dictionary hit that forbids every built-in kind
 * ("company_name" is not a person's name). */
#define CLS_KSTOP		(1u << 31)

/* What one value detector says about one value. weak: a pattern too common to
 * stand alone (an SSN's 9 digits); it counts only with a supporting field name
 * or context words. ev: static evidence strings. */
struct cls_vhit {
	uint8_t		 conf;		/* enum cls_conf; 0: no hit */
	uint8_t		 weak;
	uint8_t		 nev;
	const char	*ev[2];
};

/* values.c: RFC 5322 punctuation allowed in an email's local part, and the
 * evidence string of a Chinese mobile format (compared by pointer). */
extern const uint8_t	cls_email_punct[128];
extern const char	cls_ev_cn_mobile[];

/* values.c: runs the value detectors in mask over p[0..n) (whitespace
 * trimmed by the caller). number: the value is a JSON number (only plain
 * integers are looked at). whole: a field's whole value (then, up to 64
 * bytes, one pass over the bytes' classes first rules detectors out; 0 for
 * the candidates of free text, where that does not pay). Returns the mask of
 * kinds in mask that hit; hits[kind] is set for those kinds only (the other
 * entries are not written: read none of them). */
uint32_t	cls_values_detect(const char *p, size_t n, int number,
		    int whole, uint32_t mask, struct cls_vhit hits[CLS_K_NVALUE]);
/* Whether the value could be a kind's value at all (shape only: digits for
 * phone, '@' for email, ...), used to grade a field-name-only match. */
int		cls_value_plausible(int kind, const char *p, size_t n);

/* text.c: finds spans of the value kinds in mask inside free text and calls
 * emit for each (in increasing start order, not overlapping). */
typedef void	(*cls_span_fn)(void *ud, int kind, size_t start, size_t end,
		    const struct cls_vhit *);
void		cls_text_scan(const char *s, size_t n, uint32_t mask,
		    cls_span_fn emit, void *ud);

/* fields.c: the name table of a set. Built-in dictionaries plus the literal
 * names of the set's classes. */
struct cls_names;
struct cls_names *cls_names_new(void);
void		cls_names_free(struct cls_names *);
/* Adds a literal name (normalised here) for class id. -1 on allocation
 * failure. */
int		cls_names_add(struct cls_names *, const char *name, size_t len,
		    uint32_t class_id);
/* Finishes the table after the last add. -1 on allocation failure. */
int		cls_names_seal(struct cls_names *);
/* Looks a field name up. Returns the mask of built-in kinds it names and sets
 * *classes / *nclasses to the class ids that listed it literally (borrowed
 * from the table). */
uint32_t	cls_names_lookup(const struct cls_names *, const char *name,
		    size_t len, const uint32_t **classes, size_t *nclasses);


#endif
