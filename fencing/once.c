/*
 * once.c - the send-once cache: a host or the coordinator acts on the
 * table every time it changes, and must send each report or placement only
 * once per VM generation, however often it looks before the delivery.
 */
#include <stdio.h>
#include <string.h>

#include "fenced.h"

int once_first(struct once *o, const char *name, uint64_t gen, int what)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->e[i].gen == gen && o->e[i].what == what && !strcmp(o->e[i].name, name))
			return 0;
	size_t i = o->n < T_MAX_VMS ? o->n++ : (size_t)(gen % T_MAX_VMS);
	snprintf(o->e[i].name, sizeof(o->e[i].name), "%s", name);
	o->e[i].gen = gen;
	o->e[i].what = what;
	return 1;
}

void once_forget(struct once *o, const char *name)
{
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->e[i].name, name))
			o->e[i].name[0] = 0;
}
