/*
 * fence_tandem - the fence agent of fenced's first level: it asks the
 * target host's migrated (mutual TLS, the cluster's certificates) to destroy
 * every domain its hvd runs.  It follows the fence-agents interface, so
 * fenced, Pacemaker's stonithd and an admin run it like fence_ipmilan:
 * key=value lines on stdin when it has no arguments, else options
 * (fence_tandem(8)); exit 0 when the action is confirmed.
 *
 *   action=off|reboot|on|status|monitor|list|metadata|validate-all
 *   ip=ADDRESS   ipport=7447
 *   cert=PATH key=PATH ca=PATH [crl=PATH]   a fencer's certificate (tandem-ca
 *                issue --role fencer), or insecure=1 for a plain-TCP lab
 *   nodename=NAME (or plug=)   the target's certificate must name it;
 *                without, it must hold ip= in its subjectAltName
 *   timeout=MS   connect timeout (default 2000)
 *   config=PATH  tandem.conf, for list (default /etc/tandem/tandem.conf)
 *
 * "off" succeeds only when the target answers that no domain is left; an
 * unreachable target is a failure (fenced then tries the next level).
 * "reboot" is "off": the host stays up, its VMs restart where the cluster
 * places them.  "on" succeeds when the host answers, authenticated: there is
 * nothing to power on, its hvd runs VMs again as soon as it is a member.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "config.h"
#include "tcp.h"
#include "tls.h"
#include "version.h"

struct args {
	char action[32], ip[256], port[16], cert[512], key[512], ca[512], crl[512], node[65];
	char config[512], insecure[8], timeout[16];
};

/* The parameters: stdin key, aliases, option letter, metadata. */
static const struct param {
	const char *name, *alias;
	int opt;		/* short option, or a value above 255 for long-only */
	size_t off, cap;
	const char *type, *dflt, *desc;
	int required;
} params[] = {
#define P(n, al, o, f, t, d, desc, req) { n, al, o, offsetof(struct args, f), \
	sizeof(((struct args *)0)->f), t, d, desc, req }
	P("action", "option", 'o', action, "string", "off", "Fencing action", 0),
	P("ip", "ipaddr", 'a', ip, "string", NULL, "Address of the host to fence (its migrated)", 1),
	P("ipport", NULL, 'u', port, "integer", "7447", "Port of its migrated", 0),
	P("plug", "nodename", 'n', node, "string", NULL,
	  "Name of the host to fence: its certificate must name it", 0),
	P("cert", NULL, 256, cert, "string", NULL, "The fencer's certificate (tandem-ca --role fencer)", 0),
	P("key", NULL, 257, key, "string", NULL, "The fencer's private key", 0),
	P("ca", NULL, 258, ca, "string", NULL, "The cluster's CA certificate", 0),
	P("crl", NULL, 259, crl, "string", NULL, "The CA's revocation list", 0),
	P("insecure", NULL, 260, insecure, "boolean", "0", "Plain TCP, no authentication (tests only)", 0),
	P("timeout", NULL, 261, timeout, "integer", "2000", "Connect timeout in milliseconds", 0),
	P("config", NULL, 262, config, "string", CONF_DEFAULT_PATH,
	  "tandem.conf, whose hosts the list action prints", 0),
#undef P
};
#define NPARAMS (sizeof(params) / sizeof(params[0]))

static const char *const actions[] = { "on", "off", "reboot", "status", "monitor", "list",
	"metadata", "validate-all" };
#define NACTIONS (sizeof(actions) / sizeof(actions[0]))

static char *field(struct args *a, const struct param *p)
{
	return (char *)a + p->off;
}

static int set(struct args *a, const char *k, const char *v)
{
	for (size_t i = 0; i < NPARAMS; i++)
		if (!strcmp(k, params[i].name) || (params[i].alias && !strcmp(k, params[i].alias))) {
			snprintf(field(a, &params[i]), params[i].cap, "%s", v);
			return 0;
		}
	return -1;	/* port, and what Pacemaker adds: not needed here */
}

static void usage(FILE *out)
{
	fprintf(out, "usage: fence_tandem [-o ACTION] -a ADDRESS [-u PORT] [-n HOST] --cert FILE --key FILE\n"
	    "                    --ca FILE [--crl FILE] [--insecure] [--timeout MS] [--config FILE]\n"
	    "       fence_tandem < key=value lines (the fence-agents stdin protocol)\n"
	    "Actions: off (destroy every VM of the host), reboot (the same), on (the host\n"
	    "answers), status (ON: exit 0, OFF: exit 2), monitor, list (the hosts of\n"
	    "tandem.conf), metadata, validate-all.  See fence_tandem(8).\n");
}

static void xml(const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<': fputs("&lt;", stdout); break;
		case '>': fputs("&gt;", stdout); break;
		case '&': fputs("&amp;", stdout); break;
		case '"': fputs("&quot;", stdout); break;
		default: putchar(*s);
		}
}

static int metadata(void)
{
	printf("<?xml version=\"1.0\" ?>\n<resource-agent name=\"fence_tandem\" "
	    "shortdesc=\"Fence agent for Tandem hosts\">\n<longdesc>fence_tandem asks a Tandem "
	    "host's migrated, over mutual TLS with the cluster's certificates, to destroy every "
	    "VM its hypervisor runs, and succeeds only when the host answers that none is "
	    "left.</longdesc>\n<vendor-url>https://example.invalid/tandem</vendor-url>\n"
	    "<parameters>\n");
	for (size_t i = 0; i < NPARAMS; i++) {
		const struct param *p = &params[i];
		printf("\t<parameter name=\"%s\" unique=\"0\" required=\"%d\">\n\t\t<getopt mixed=\"",
		    p->name, p->required);
		if (p->opt < 256)
			printf("-%c, ", p->opt);
		printf("--%s%s\" />\n\t\t<content type=\"%s\"", p->name,
		    strcmp(p->type, "boolean") ? "=[value]" : "", p->type);
		if (p->dflt) {
			printf(" default=\"");
			xml(p->dflt);
			printf("\"");
		}
		printf(" />\n\t\t<shortdesc lang=\"en\">");
		xml(p->desc);
		printf("</shortdesc>\n\t</parameter>\n");
		if (p->alias) {
			printf("\t<parameter name=\"%s\" unique=\"0\" required=\"0\" deprecated=\"1\">\n"
			    "\t\t<getopt mixed=\"--%s=[value]\" />\n\t\t<content type=\"%s\" />\n"
			    "\t\t<shortdesc lang=\"en\">", p->alias, p->alias, p->type);
			xml(p->desc);
			printf("</shortdesc>\n\t</parameter>\n");
		}
	}
	printf("</parameters>\n<actions>\n");
	for (size_t i = 0; i < NACTIONS; i++)
		printf("\t<action name=\"%s\"%s />\n", actions[i],
		    !strcmp(actions[i], "on") ? " automatic=\"0\"" : "");
	printf("</actions>\n</resource-agent>\n");
	return 0;
}

/* the hosts of tandem.conf, as "name,address" (the fence-agents list format) */
static int list(const struct args *a)
{
	struct fconf *c = malloc(sizeof(*c));
	char err[512];
	if (!c || conf_load(c, a->config[0] ? a->config : CONF_DEFAULT_PATH, err, sizeof(err)) < 0) {
		fprintf(stderr, "fence_tandem: %s\n", c ? err : "out of memory");
		free(c);
		return 1;
	}
	for (size_t i = 0; i < c->nhosts; i++)
		printf("%s,%s\n", c->hosts[i].name, c->hosts[i].addr);
	free(c);
	return 0;
}

static int read_stdin(struct args *a)
{
	char line[1024];
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\r\n")] = 0;
		char *eq = strchr(line, '=');
		if (line[0] && line[0] != '#' && eq) {
			*eq = 0;
			set(a, line, eq + 1);
		}
	}
	return 0;
}

static int read_options(struct args *a, int argc, char **argv)
{
	struct option lo[NPARAMS + 4];
	char so[64] = "hVv";
	size_t n = 0;
	for (size_t i = 0; i < NPARAMS; i++) {
		int flag = !strcmp(params[i].type, "boolean");
		lo[n++] = (struct option){ params[i].name, flag ? 0 : 1, NULL, params[i].opt };
		if (params[i].opt < 256)
			snprintf(so + strlen(so), sizeof(so) - strlen(so), "%c:", params[i].opt);
	}
	lo[n++] = (struct option){ "help", 0, NULL, 'h' };
	lo[n++] = (struct option){ "version", 0, NULL, 'V' };
	lo[n++] = (struct option){ "verbose", 0, NULL, 'v' };
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
	int c;
	while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (c == 'V')
			print_version("fence_tandem");
		if (c == 'v')
			continue;
		size_t i;
		for (i = 0; i < NPARAMS && params[i].opt != c; i++)
			;
		if (i == NPARAMS) {
			usage(stderr);
			return -1;
		}
		snprintf(field(a, &params[i]), params[i].cap, "%s", optarg ? optarg : "1");
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

/* an authenticated session with the target's migrated, or NULL */
static struct rio *reach(const struct args *a, int *unreachable)
{
	char err[512], spec[300];
	int insecure = atoi(a->insecure);
	snprintf(spec, sizeof(spec), strchr(a->ip, ':') ? "[%s]:%s" : "%s:%s", a->ip, a->port);
	int fd = peer_connect(spec, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "fence_tandem: %s\n", err);
		*unreachable = 1;
		return NULL;
	}
	/* the host at ip must be the one being fenced, not whoever answers there */
	struct tls_want want = { a->node[0] ? a->node : NULL, a->node[0] ? NULL : a->ip };
	struct rio *r = insecure ? rio_fd_open(fd, 1) : tls_open(fd, 0, &want, NULL, err, sizeof(err));
	if (!r)
		fprintf(stderr, "fence_tandem: %s: %s\n", spec, err);
	return r;
}

static int off(struct rio *r, const struct args *a)
{
	struct ckpt_record rec = { 0 };
	int rc = 1;
	if (ckpt_send(r, CK_FENCE, NULL, 0) < 0 || ckpt_read_record(r, &rec) < 0)
		fprintf(stderr, "fence_tandem: %s: %s\n", a->ip, rio_error(r));
	else {
		int n = rec.len > 200 ? 200 : (int)rec.len;
		if (rec.type == CK_FENCED) {
			printf("Success: %s: %.*s\n", a->ip, n, (const char *)rec.body);
			rc = 0;
		} else
			fprintf(stderr, "fence_tandem: %s refused: %.*s\n", a->ip, n,
			    (const char *)rec.body);
	}
	ckpt_record_free(&rec);
	return rc;
}

int main(int argc, char **argv)
{
	struct args a = { .action = "off", .port = "7447", .insecure = "0", .timeout = "2000" };
	char err[512];

	if (argc > 1 ? read_options(&a, argc, argv) < 0 : read_stdin(&a) < 0)
		return 1;
	tcp_connect_timeout_ms = atoi(a.timeout) > 0 ? atoi(a.timeout) : 2000;
	size_t k;
	for (k = 0; k < NACTIONS && strcmp(a.action, actions[k]); k++)
		;
	if (k == NACTIONS) {
		fprintf(stderr, "fence_tandem: action '%s' is not supported (fence_tandem -o metadata "
		    "lists them)\n", a.action);
		return 1;
	}
	if (!strcmp(a.action, "metadata"))
		return metadata();
	if (!strcmp(a.action, "list"))
		return list(&a);
	int insecure = atoi(a.insecure);
	if (!insecure && (!a.cert[0] || !a.key[0] || !a.ca[0])) {
		fprintf(stderr, "fence_tandem: need cert=, key= and ca= (a fencer's certificate: "
		    "tandem-ca issue DIR fence --role fencer), or insecure=1\n");
		return 1;
	}
	if (!insecure && tls_init(a.cert, a.key, a.ca, a.crl[0] ? a.crl : NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "fence_tandem: %s\n", err);
		return 1;
	}
	/* monitor and validate-all: the certificates load; no host is touched */
	if (!strcmp(a.action, "monitor") || !strcmp(a.action, "validate-all")) {
		if (!a.ip[0] && !strcmp(a.action, "validate-all")) {
			fprintf(stderr, "fence_tandem: need ip= (the host's address)\n");
			return 1;
		}
		return 0;
	}
	if (!a.ip[0]) {
		fprintf(stderr, "fence_tandem: need ip= (the address of the host to %s)\n", a.action);
		return 1;
	}
	int unreachable = 0, rc;
	struct rio *r = reach(&a, &unreachable);
	int is_off = !strcmp(a.action, "off") || !strcmp(a.action, "reboot");
	if (!r)
		return !strcmp(a.action, "status") && unreachable ? 2 : 1;	/* status 2: OFF */
	if (is_off)
		rc = off(r, &a);
	else {
		printf("Status: ON\n");	/* status and on: it answers, authenticated */
		rc = 0;
	}
	rio_close(r);
	return rc;
}
