/*
 * gate.c - the peer listener's gate (gate.h): the strangers' caps and the
 * identity rule.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "gate.h"

int gate_in(struct gate *g, const char *addr, const char **why)
{
	int r = -1, slot = -1, same = 0;
	pthread_mutex_lock(&g->lock);
	for (int i = 0; i < GATE_MAX_STRANGERS; i++) {
		if (g->s[i].n && !strcmp(g->s[i].addr, addr))
			slot = i, same = g->s[i].n;
		else if (!g->s[i].n && slot < 0 && !same)
			slot = i;
	}
	if (g->n >= GATE_MAX_STRANGERS)
		*why = "too many unauthenticated connections";
	else if (same >= GATE_PER_ADDR)
		*why = "too many unauthenticated connections from this address";
	else if (slot >= 0) {
		snprintf(g->s[slot].addr, sizeof(g->s[slot].addr), "%s", addr);
		g->s[slot].n++;
		g->n++;
		r = 0;
	}
	pthread_mutex_unlock(&g->lock);
	return r;
}

void gate_out(struct gate *g, const char *addr)
{
	pthread_mutex_lock(&g->lock);
	for (int i = 0; i < GATE_MAX_STRANGERS; i++)
		if (g->s[i].n && !strcmp(g->s[i].addr, addr)) {
			g->s[i].n--;
			g->n--;
			break;
		}
	pthread_mutex_unlock(&g->lock);
}

int gate_identity(const struct fconf *hosts, const char *addr, const struct tls_peer *p,
    enum tls_role need, const char *what, char *err, size_t errlen)
{
	if (p->role != need)
		return snprintf(err, errlen, "%s from %s's certificate, of role %s: only a %s's may",
		    what, p->name, tls_role_name(p->role), tls_role_name(need)), -1;
	if (need == TLS_ROLE_FENCER || !hosts)
		return 0;
	const struct cf_host *h = conf_find(hosts, addr);
	if (!h)
		return snprintf(err, errlen, "%s is no host of the cluster (certificate %s)", addr,
		    p->name), -1;
	if (strcmp(h->name, p->name))
		return snprintf(err, errlen, "certificate is %s's, but %s is %s", p->name, addr,
		    h->name), -1;
	return 0;
}
