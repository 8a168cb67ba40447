/* proxy/quota.c — per-role hourly quotas on reveal and break-glass decisions,
 * shared by every worker of the process. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/internal.h"

/*
 * One slot per role that has a quota: the clock hour it counts and what was
 * used in it. Taken under srv->quota_lock, which only requests that had a
 * reveal or break-glass decision ever touch, so it costs the rest nothing.
 * Counts restart with the process (a restart is audited, and the audit log
 * holds every reveal either way).
 */
struct quota_slot {
	char	*role;
	long	 hour;
	long	 used;
};

static struct quota_slot *
slot(struct proxy_server *srv, const char *role)
{
	struct quota_slot *q;

	for (size_t i = 0; i < srv->nquota; i++)
		if (strcmp(srv->quota[i].role, role) == 0)
			return &srv->quota[i];
	q = realloc(srv->quota, (srv->nquota + 1) * sizeof(*q));
	if (q == NULL)
		return NULL;
	srv->quota = q;
	q = &srv->quota[srv->nquota];
	if ((q->role = strdup(role)) == NULL)
		return NULL;
	q->hour = 0;
	q->used = 0;
	srv->nquota++;
	return q;
}

int
quota_take(struct proxy_server *srv, const struct proxy_config *cfg,
    const struct cfg_principal *p, long n, const char **role, long *limit)
{
	long	hour = (long)(time(NULL) / 3600);
	int	rc = 0;

	if (p == NULL || n <= 0 || cfg->nquotas == 0)
		return 0;
	pthread_mutex_lock(&srv->quota_lock);
	/* All or nothing: check every role first, then count. */
	for (int pass = 0; pass < 2 && rc == 0; pass++)
		for (size_t i = 0; i < cfg->nquotas && rc == 0; i++) {
			const struct cfg_quota	*cq = &cfg->quotas[i];
			struct quota_slot	*s;
			size_t			 j;

			for (j = 0; j < p->nroles &&
			    strcmp(p->roles[j], cq->role) != 0; j++)
				;
			if (j == p->nroles)
				continue;
			if ((s = slot(srv, cq->role)) == NULL) {
				rc = -1;	/* fail closed */
				*role = cq->role;
				*limit = cq->reveal_per_hour;
				break;
			}
			if (s->hour != hour) {
				s->hour = hour;
				s->used = 0;
			}
			if (pass == 0 && s->used + n > cq->reveal_per_hour) {
				rc = -1;
				*role = cq->role;
				*limit = cq->reveal_per_hour;
			} else if (pass == 1)
				s->used += n;
		}
	pthread_mutex_unlock(&srv->quota_lock);
	return rc;
}

void
quota_free(struct proxy_server *srv)
{
	for (size_t i = 0; i < srv->nquota; i++)
		free(srv->quota[i].role);
	free(srv->quota);
	srv->quota = NULL;
	srv->nquota = 0;
}
