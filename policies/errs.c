/* policies/errs.c — collected FILE:LINE:COL diagnostics. */
#define _GNU_SOURCE 1
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "policies/errs.h"

struct pol_errs {
	char	**msgs;
	size_t	  n, cap;
	size_t	  nerrors;
	size_t	  lost;		/* messages we could not store */
};

struct pol_errs *
pol_errs_new(void)
{
	return calloc(1, sizeof(struct pol_errs));
}

void
pol_errs_free(struct pol_errs *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->msgs[i]);
	free(e->msgs);
	free(e);
}

void
pol_errs_add(struct pol_errs *e, enum pol_severity sev, const char *file,
    size_t line, size_t col, const char *fmt, ...)
{
	char	 msg[1024], *s = NULL;
	va_list	 ap;
	int	 n;

	if (e == NULL)
		return;
	if (sev == POL_ERROR)
		e->nerrors++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		n = asprintf(&s, "%s:%zu:%zu: %s: %s", file ? file : "-", line,
		    col, sev == POL_ERROR ? "error" : "warning", msg);
	else
		n = asprintf(&s, "%s: %s: %s", file ? file : "-",
		    sev == POL_ERROR ? "error" : "warning", msg);
	if (n < 0)
		goto lost;
	if (e->n == e->cap) {
		size_t	 cap = e->cap ? e->cap * 2 : 8;
		char	**m = realloc(e->msgs, cap * sizeof(*m));

		if (m == NULL)
			goto lost;
		e->msgs = m;
		e->cap = cap;
	}
	e->msgs[e->n++] = s;
	return;
lost:
	free(s);
	e->lost++;
}

size_t
pol_errs_count(const struct pol_errs *e)
{
	return e ? e->nerrors : 0;
}

size_t
pol_errs_total(const struct pol_errs *e)
{
	return e ? e->n + e->lost : 0;
}

const char *
pol_errs_get(const struct pol_errs *e, size_t i)
{
	return e && i < e->n ? e->msgs[i] : NULL;
}

void
pol_errs_print(const struct pol_errs *e, FILE *f)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n; i++)
		fprintf(f, "%s\n", e->msgs[i]);
	if (e->lost)
		fprintf(f, "(%zu more messages lost: out of memory)\n", e->lost);
}
