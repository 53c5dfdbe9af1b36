/* reload.h - SIGHUP's one way for every daemon (reload.c). */
#ifndef TANDEM_RELOAD_H
#define TANDEM_RELOAD_H

#include <stddef.h>

struct fconf;
/* What a daemon applies live: copies from fresh into run what it uses now
 * (so it is not named as kept), says so in detail, and returns the CFG_
 * groups it applied from (0: none). */
typedef unsigned (*reload_apply_fn)(void *arg, struct fconf *run, const struct fconf *fresh,
    char *detail, size_t len);

/* Reads run->path afresh: a bad file is refused and nothing changes; else
 * apply (may be NULL) takes what it can, and of the groups the daemon reads
 * (CFG_ bits) those still different are named as kept until it restarts.
 * Tells the service manager RELOADING, then READY. */
void reload_config(const char *daemon, struct fconf *run, unsigned reads, reload_apply_fn apply,
    void *arg);

#endif
