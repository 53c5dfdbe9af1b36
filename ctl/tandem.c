/*
 * tandem.c - the tandem CLI: global options, then a command group.
 *
 * Global options may stand anywhere: --json (one JSON document on stdout),
 * --host URI (the hypervisor: hvd:SOCKET, a bare hvd SOCKET, or xen:;
 * default hvd:/run/tandem/hvd.sock, or $TANDEM_HOST).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static void usage(void)
{
	fprintf(stderr,
	    "usage: tandem [--json] [--host HYPERVISOR_URI] [--migrated MIGRATED_SOCKET]\n"
	    "              [--fenced FENCED_SOCKET] [--remusd REMUSD_SOCKET] COMMAND ...\n"
	    "\n"
	    "  vm create NAME --kernel PATH [--mem 256M] [--vcpus 1] [--cmdline \"...\"]\n"
	    "            [--net BRIDGE[,mac=XX:XX:XX:XX:XX:XX]]\n"
	    "  vm create NAME --incoming [--mem 256M] [--vcpus 1]\n"
	    "  vm list\n"
	    "  vm info NAME\n"
	    "  vm pause|unpause|destroy NAME\n"
	    "  vm console NAME [--send TEXT] [--wait MS]\n"
	    "  vm throttle NAME PERCENT\n"
	    "  migrate NAME HOST[:PORT] [--downtime MS] [--max-downtime MS] [--max-time S]\n"
	    "          [--bandwidth MBIT] [--lz4|--no-lz4]\n"
	    "  migrate --cancel NAME\n"
	    "  migrate --status NAME\n"
	    "  protect NAME --backup HOST [--epoch MS]\n"
	    "  unprotect NAME\n"
	    "  protection [NAME]\n"
	    "  status\n"
	    "  evacuate HOST [--dry-run] [--parallel N]\n"
	    "  mode HOST active|draining|maintenance\n"
	    "  fence HOST\n"
	    "  fence history\n"
	    "\n"
	    "With a fenced (--fenced, $TANDEM_FENCED or its default socket), vm create\n"
	    "claims the VM in the cluster's ownership table (--policy restart|none,\n"
	    "default restart) and vm destroy removes it.\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct ctl c = { 0, getenv("TANDEM_HOST"), NULL, NULL, NULL };
	char *rest[argc + 1];
	int n = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			c.json = 1;
		else if (!strcmp(argv[i], "--host") && i + 1 < argc)
			c.host = argv[++i];
		else if (!strncmp(argv[i], "--host=", 7))
			c.host = argv[i] + 7;
		else if (!strcmp(argv[i], "--migrated") && i + 1 < argc)
			c.migrated = argv[++i];
		else if (!strcmp(argv[i], "--fenced") && i + 1 < argc)
			c.fenced = argv[++i];
		else if (!strcmp(argv[i], "--remusd") && i + 1 < argc)
			c.remusd = argv[++i];
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			usage();
		else
			rest[n++] = argv[i];
	}
	if (n < 1)
		usage();
	if (!strcmp(rest[0], "vm"))
		return cmd_vm(&c, n - 1, rest + 1);
	if (!strcmp(rest[0], "status"))
		return cmd_status(&c, n - 1, rest + 1);
	if (!strcmp(rest[0], "fence"))
		return cmd_fence(&c, n - 1, rest + 1);
	if (!strcmp(rest[0], "evacuate"))
		return cmd_evacuate(&c, n - 1, rest + 1);
	if (!strcmp(rest[0], "mode"))
		return cmd_mode(&c, n - 1, rest + 1);
	if (!strcmp(rest[0], "migrate"))
		return cmd_migrate(&c, n - 1, rest + 1);
	if (!strcmp(rest[0], "protect"))
		return cmd_protect(&c, n - 1, rest + 1);
	if (!strcmp(rest[0], "unprotect"))
		return cmd_unprotect(&c, n - 1, rest + 1);
	if (!strcmp(rest[0], "protection"))
		return cmd_protection(&c, n - 1, rest + 1);
	ctl_fail(&c, "unknown command '%s' (try --help)", rest[0]);
}
