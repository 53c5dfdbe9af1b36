/* ctl.h - private header of the tandem CLI. */
#ifndef CTL_H
#define CTL_H

#include <stdint.h>
#include <stdio.h>

#include "hv.h"

struct ctl {
	int json;
	const char *host;	/* hvd socket */
	const char *migrated;	/* migrated socket */
};

/* json.c */
void json_str(FILE *f, const char *s);
void json_kv_str(FILE *f, const char *k, const char *v, int comma);
void json_kv_u64(FILE *f, const char *k, uint64_t v, int comma);
void json_kv_f(FILE *f, const char *k, double v, int comma);

/* util.c */
int parse_size(const char *s, uint64_t *out);
void ctl_fail(const struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
struct hv *ctl_hv(const struct ctl *c);

/* migrate.c */
int cmd_migrate(struct ctl *c, int argc, char **argv);

/* vm.c */
int cmd_vm(struct ctl *c, int argc, char **argv);

#endif
