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
	const char *remusd;	/* remusd socket */
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
/* wall-clock milliseconds as local "YYYY-MM-DD HH:MM:SS.mmm" */
void fmt_time(uint64_t ms, char *out, size_t cap);

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

/* cluster.c: fenced's status, decoded */
#define CL_MAX 256
struct cl_vm {
	char name[65];
	uint32_t owner, state, policy, target, to;	/* to: where it would fail over / go */
	uint32_t backup;	/* the host of its shadow (protected), or 0 */
	uint64_t gen, mem;
};
struct cl_host {
	uint32_t node, status, mode;
	char name[65], addr[64];
	uint64_t mem, free;
};
struct cl_status {
	uint32_t node, state;
	int quorate;
	char members[512], sync[32], watchdog[512];
	uint64_t version;
	struct cl_vm vms[CL_MAX];
	size_t nvms;
	struct cl_host hosts[CL_MAX];
	size_t nhosts;
};
/* a fenced socket was given, or the default one exists */
int cl_fenced_configured(const struct ctl *c);
void cl_open(const struct ctl *c, struct dclient *d);
void cl_status(const struct ctl *c, struct dclient *d, struct cl_status *s);
/* the FA_VM records of any fenced reply (status, plan) */
void cl_vms(const struct ctl *c, const struct msg_in *in, struct cl_status *s);
const struct cl_host *cl_host(const struct cl_status *s, uint32_t node);
const char *cl_host_name(const struct cl_status *s, uint32_t node);

/* events.c */
int cmd_events(struct ctl *c, int argc, char **argv);

/* fence.c */
int cmd_fence(struct ctl *c, int argc, char **argv);

/* evacuate.c */
int cmd_evacuate(struct ctl *c, int argc, char **argv);
int cmd_mode(struct ctl *c, int argc, char **argv);

/* migrate.c */
/* sends MC_START for name to dest ("host[:port]") with the options in argv */
void mig_start(const struct ctl *c, struct dclient *m, const char *name, const char *dest,
    int argc, char **argv);
/* prints the report of a finished migration; 0 when it succeeded */
int mig_report(const struct ctl *c, const struct msg_in *in, const char *name, const char *dest);
int cmd_migrate(struct ctl *c, int argc, char **argv);

/* protect.c */
int cmd_protect(struct ctl *c, int argc, char **argv);
int cmd_unprotect(struct ctl *c, int argc, char **argv);
int cmd_protection(struct ctl *c, int argc, char **argv);
/* a remusd socket was given, or the default one exists */
int prot_configured(const struct ctl *c);
/* prints lead, then this host's protections (of name, or all): a table, or
 * "protections":[...] with --json */
void prot_list(const struct ctl *c, const char *name, const char *lead);
/* a planned move (migrate, evacuate) of a VM this host protects: the
 * protection ends first (its epochs and a migration never pause the VM
 * both), and afterwards the host it went to protects it again (moved), or
 * this one does as before (the move failed) */
struct prot_move {
	int was;
	char backup[256];
	unsigned epoch_ms;
};
int prot_move_begin(const struct ctl *c, const char *name, struct prot_move *mv);
void prot_move_end(const struct ctl *c, const char *name, const char *to, int moved,
    const struct prot_move *mv);

/* status.c */
int cmd_status(struct ctl *c, int argc, char **argv);

/* vm.c */
int cmd_vm(struct ctl *c, int argc, char **argv);

#endif
