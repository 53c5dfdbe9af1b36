/*
 * reload.c - what SIGHUP does in every daemon: tandem.conf parsed into a
 * fresh struct (a file with an error is refused whole and the running
 * configuration kept), the daemon's own apply for what it can change live,
 * and a log line naming what it applied and what is kept until a restart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "notify.h"
#include "reload.h"

void reload_config(const char *daemon, struct fconf *run, unsigned reads, reload_apply_fn apply,
    void *arg)
{
	struct fconf *fresh = malloc(sizeof(*fresh));
	char err[512], names[256], detail[256] = "";

	notify("RELOADING=1");
	if (!run->path[0])
		log_info("reload: no configuration file was read at start; nothing to read");
	else if (!fresh || conf_load(fresh, run->path, err, sizeof(err)) < 0)
		log_warnx("reload refused, the running configuration is kept: %s",
		    fresh ? err : "out of memory");
	else {
		unsigned applied = apply ? apply(arg, run, fresh, detail, sizeof(detail)) : 0;
		unsigned kept = conf_changed(run, fresh) & reads;	/* apply copied what it took */
		if (applied) {
			conf_group_names(applied, names, sizeof(names));
			log_info("reload: %s: applied %s%s", run->path, names, detail);
		}
		if (kept) {
			conf_group_names(kept, names, sizeof(names));
			log_warnx("reload: %s is good; changed for %s: %s (kept until %s restarts%s)",
			    run->path, daemon, names, daemon, strcmp(daemon, "hvd") ? "" :
			    ": its VMs run on through the restart");
		} else if (!applied)
			log_info("reload: %s is good; changed for %s: nothing", run->path, daemon);
	}
	free(fresh);
	notify("READY=1");
}
