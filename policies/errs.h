/* policies/errs.h — collected FILE:LINE:COL diagnostics for config and policy
 * files (every problem of one run, not just the first). */
#ifndef CUSTOS_POLICIES_ERRS_H
#define CUSTOS_POLICIES_ERRS_H

#include <stddef.h>
#include <stdio.h>

struct pol_errs;

enum pol_severity { POL_ERROR, POL_WARNING };

/* NULL on allocation failure. pol_errs_free(NULL) is a no-op. */
struct pol_errs	*pol_errs_new(void);
void		 pol_errs_free(struct pol_errs *);
/* Appends "FILE:LINE:COL: error: MESSAGE" (or "warning:"). line and col are
 * 1-based; 0 leaves them out ("FILE: error: ..."). Never fails visibly: on
 * allocation failure the count still goes up. */
void		 pol_errs_add(struct pol_errs *, enum pol_severity,
		    const char *file, size_t line, size_t col,
		    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
size_t		 pol_errs_count(const struct pol_errs *);	/* errors only */
size_t		 pol_errs_total(const struct pol_errs *);	/* errors and warnings */
/* The i-th message, without a trailing newline; NULL past the end. */
const char	*pol_errs_get(const struct pol_errs *, size_t i);
/* Prints every message, one per line. */
void		 pol_errs_print(const struct pol_errs *, FILE *);

#endif
