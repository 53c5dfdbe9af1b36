/* ctl.h - private header of the tandem CLI. */
#ifndef CTL_H
#define CTL_H

#include <stdint.h>
#include <stdio.h>

#include "hv.h"
#include "msg.h"

struct ctl {
	int json;
	const char *host;	/* hvd socket */
	const char *migrated;	/* migrated socket */
	const char *fenced;	/* fenced socket */
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

/* util.c: a client of a daemon's control socket (migrated, fenced) */
struct dclient {
	const char *daemon;		/* for messages */
	const struct msg_schema *schema;
	uint16_t err_type, errmsg_attr;
	int fd;
	uint32_t seq;
	uint8_t buf[65536];
	struct msg_in in;
};
/* connects to path, else $env, else def */
void dc_open(const struct ctl *c, struct dclient *d, const char *path, const char *env, const char *def);
/* one request, one reply in d->in; an error reply ends the command */
void dc_call(const struct ctl *c, struct dclient *d, struct msg_out *o);

/* migrate.c */
int cmd_migrate(struct ctl *c, int argc, char **argv);

/* status.c */
int cmd_status(struct ctl *c, int argc, char **argv);

/* vm.c */
int cmd_vm(struct ctl *c, int argc, char **argv);

#endif
