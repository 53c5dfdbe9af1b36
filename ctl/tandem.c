/*
 * tandem.c - the tandem CLI: global options, then a command from one table
 * (which --help prints and tandem(8) documents; the suite checks the two
 * agree).
 *
 * Global options may stand anywhere: --json (one JSON document on stdout),
 * --host URI (the hypervisor: hvd:SOCKET, a bare hvd SOCKET, or xen:),
 * --migrated/--fenced/--remusd SOCKET, --config FILE.  Each socket comes
 * from its option, else its environment variable, else tandem.conf (the
 * hypervisor statement and the daemons' socket=), else the default.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "version.h"

static int cmd_help(struct ctl *c, int argc, char **argv);

static const struct command {
	const char *name;
	int (*fn)(struct ctl *c, int argc, char **argv);
	const char *usage;	/* lines after the name, "\n"-separated */
} commands[] = {
	{ "vm", cmd_vm,
	  "vm create NAME --kernel PATH [--mem 256M] [--vcpus 1] [--cmdline \"...\"]\n"
	  "          [--net BRIDGE[,mac=XX:XX:XX:XX:XX:XX]] [--policy restart|none]\n"
	  "vm create NAME --incoming [--mem 256M] [--vcpus 1]\n"
	  "vm list\n"
	  "vm info NAME\n"
	  "vm pause|unpause|destroy NAME\n"
	  "vm console NAME [--send TEXT] [--wait MS]\n"
	  "vm throttle NAME PERCENT" },
	{ "migrate", cmd_migrate,
	  "migrate NAME HOST[:PORT] [--downtime MS] [--max-downtime MS] [--max-time S]\n"
	  "        [--bandwidth MBIT] [--lz4|--no-lz4]\n"
	  "migrate --cancel NAME\n"
	  "migrate --status NAME" },
	{ "protect", cmd_protect, "protect NAME --backup HOST|auto [--epoch MS]" },
	{ "unprotect", cmd_unprotect, "unprotect NAME" },
	{ "protection", cmd_protection, "protection [NAME]" },
	{ "status", cmd_status, "status" },
	{ "evacuate", cmd_evacuate, "evacuate HOST [--dry-run] [--parallel N]" },
	{ "mode", cmd_mode, "mode HOST active|draining|maintenance" },
	{ "fence", cmd_fence, "fence HOST\nfence history" },
	{ "events", cmd_events, "events [--follow]" },
	{ "help", cmd_help, "help" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void __attribute__((noreturn)) usage(FILE *out, int code)
{
	fprintf(out,
	    "usage: tandem [--json] [--config FILE] [--host HYPERVISOR_URI] [--migrated SOCKET]\n"
	    "              [--fenced SOCKET] [--remusd SOCKET] COMMAND ...\n"
	    "\nCommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const char *u = commands[i].usage;
		while (*u) {
			size_t n = strcspn(u, "\n");
			fprintf(out, "  %.*s\n", (int)n, u);
			u += n + (u[n] == '\n');
		}
	}
	fprintf(out,
	    "\nWith a fenced (--fenced, $TANDEM_FENCED, tandem.conf or its default socket),\n"
	    "vm create claims the VM in the cluster's ownership table (--policy restart|none,\n"
	    "default restart) and vm destroy removes it.  The sockets come from the options,\n"
	    "else $TANDEM_HOST, $TANDEM_MIGRATED, $TANDEM_FENCED, $TANDEM_REMUSD, else\n"
	    "tandem.conf (--config, $TANDEM_CONF, default %s), else the defaults.\n"
	    "--json prints one JSON document on stdout.  See tandem(8).\n", CONF_DEFAULT_PATH);
	exit(code);
}

static int cmd_help(struct ctl *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	usage(stdout, 0);
}

/* the file's sockets, where neither an option nor the environment named one */
static void from_config(struct ctl *c, const char *path)
{
	static struct fconf f;
	static char uri[300];
	char err[512];
	int r = conf_load_default(&f, path, err, sizeof(err));
	if (r < 0)
		ctl_fail(c, "%s (fix it, or name another file with --config)", err);
	if (!r)
		return;
	if (!c->host)
		c->host = conf_hv_uri(&f, uri, sizeof(uri));
	if (!c->migrated && !getenv("TANDEM_MIGRATED") && f.migrated.socket[0])
		c->migrated = f.migrated.socket;
	if (!c->fenced && !getenv("TANDEM_FENCED") && f.fenced.socket[0])
		c->fenced = f.fenced.socket;
	if (!c->remusd && !getenv("TANDEM_REMUSD") && f.remusd.socket[0])
		c->remusd = f.remusd.socket;
}

int main(int argc, char **argv)
{
	struct ctl c = { 0, getenv("TANDEM_HOST"), NULL, NULL, NULL };
	const char *cfpath = NULL;
	char *rest[argc + 1];
	int n = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--json"))
			c.json = 1;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			usage(stdout, 0);
		else if (!strcmp(a, "--version"))
			print_version("tandem");
		else if (!strncmp(a, "--host=", 7))
			c.host = a + 7;
		else if (!strcmp(a, "--host") || !strcmp(a, "--migrated") || !strcmp(a, "--fenced") ||
		    !strcmp(a, "--remusd") || !strcmp(a, "--config")) {
			if (i + 1 == argc)
				ctl_fail(&c, "%s needs a value (see tandem --help)", a);
			const char **to = !strcmp(a, "--host") ? &c.host : !strcmp(a, "--migrated") ?
			    &c.migrated : !strcmp(a, "--fenced") ? &c.fenced : !strcmp(a, "--remusd") ?
			    &c.remusd : &cfpath;
			*to = argv[++i];
		} else
			rest[n++] = argv[i];
	}
	if (n < 1)
		usage(stderr, 2);
	from_config(&c, cfpath);
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(rest[0], commands[i].name))
			return commands[i].fn(&c, n - 1, rest + 1);
	ctl_fail(&c, "unknown command '%s' (tandem --help lists them)", rest[0]);
}
