/*
 * fence_tandem - the fence agent of fenced's first level: it asks the
 * target host's migrated (mutual TLS, the cluster's certificates) to destroy
 * every domain its hvd runs.  It speaks the fence-agents stdin protocol, so
 * fenced runs it like fence_ipmilan: key=value lines on stdin, exit 0 when
 * the action is confirmed.
 *
 *   action=off|reboot|status|monitor|metadata   ip=ADDRESS   ipport=7447
 *   cert=PATH key=PATH ca=PATH [crl=PATH]   a fencer's certificate (tandem-ca
 *                issue --role fencer), or insecure=1 for a plain-TCP lab
 *   nodename=NAME (or plug=)   the target's certificate must name it;
 *                without, it must hold ip= in its subjectAltName
 *   timeout=MS   connect timeout (default 2000)
 *
 * "off" succeeds only when the target answers that no domain is left; an
 * unreachable target is a failure (fenced then tries the next level).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "tcp.h"
#include "tls.h"

static char action[32] = "off", ip[256], port[16] = "7447", cert[512], key[512], ca[512],
    crl[512], node[65];
static int insecure;

static void set(const char *k, const char *v)
{
	struct { const char *k; char *dst; size_t cap; } keys[] = {
		{ "action", action, sizeof(action) }, { "option", action, sizeof(action) },
		{ "ip", ip, sizeof(ip) }, { "ipaddr", ip, sizeof(ip) },
		{ "ipport", port, sizeof(port) }, { "cert", cert, sizeof(cert) },
		{ "key", key, sizeof(key) }, { "ca", ca, sizeof(ca) }, { "crl", crl, sizeof(crl) },
		{ "nodename", node, sizeof(node) }, { "plug", node, sizeof(node) },
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(k, keys[i].k)) {
			snprintf(keys[i].dst, keys[i].cap, "%s", v);
			return;
		}
	if (!strcmp(k, "insecure"))
		insecure = atoi(v);
	if (!strcmp(k, "timeout"))
		tcp_connect_timeout_ms = atoi(v) > 0 ? atoi(v) : 2000;
	/* port and anything else: not needed here */
}

static int metadata(void)
{
	printf("<?xml version=\"1.0\" ?>\n<resource-agent name=\"fence_tandem\" "
	    "shortdesc=\"Destroys every VM of a Tandem host through its migrated\">\n<parameters>\n");
	const char *p[] = { "action", "nodename", "plug", "ip", "ipport", "cert", "key", "ca", "crl",
		"insecure", "timeout" };
	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		printf("  <parameter name=\"%s\"><content type=\"string\"/></parameter>\n", p[i]);
	printf("</parameters>\n<actions>\n  <action name=\"off\"/>\n  <action name=\"reboot\"/>\n"
	    "  <action name=\"status\"/>\n  <action name=\"monitor\"/>\n  <action name=\"metadata\"/>\n"
	    "</actions>\n</resource-agent>\n");
	return 0;
}

int main(void)
{
	char line[1024], err[512], spec[300];
	tcp_connect_timeout_ms = 2000;
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\r\n")] = 0;
		char *eq = strchr(line, '=');
		if (line[0] && line[0] != '#' && eq) {
			*eq = 0;
			set(line, eq + 1);
		}
	}
	if (!strcmp(action, "metadata"))
		return metadata();
	if (!strcmp(action, "monitor"))
		return 0;
	int off = !strcmp(action, "off") || !strcmp(action, "reboot");
	if (!off && strcmp(action, "status")) {
		fprintf(stderr, "fence_tandem: action '%s' is not supported\n", action);
		return 1;
	}
	if (!ip[0] || (!insecure && (!cert[0] || !key[0] || !ca[0]))) {
		fprintf(stderr, "fence_tandem: need ip= and cert=, key=, ca= (or insecure=1)\n");
		return 1;
	}
	if (!insecure && tls_init(cert, key, ca, crl[0] ? crl : NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "fence_tandem: %s\n", err);
		return 1;
	}
	snprintf(spec, sizeof(spec), strchr(ip, ':') ? "[%s]:%s" : "%s:%s", ip, port);
	int fd = peer_connect(spec, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "fence_tandem: %s\n", err);
		return off ? 1 : 2;	/* status: 2 = off (unreachable) */
	}
	/* the host at ip must be the one being fenced, not whoever answers there */
	struct tls_want want = { node[0] ? node : NULL, node[0] ? NULL : ip };
	struct rio *r = insecure ? rio_fd_open(fd, 1) : tls_open(fd, 0, &want, NULL, err, sizeof(err));
	if (!r) {
		fprintf(stderr, "fence_tandem: %s: %s\n", spec, err);
		return 1;
	}
	if (!off) {
		rio_close(r);
		printf("Status: ON\n");
		return 0;
	}
	struct ckpt_record rec = { 0 };
	int rc = 1;
	if (ckpt_send(r, CK_FENCE, NULL, 0) < 0 || ckpt_read_record(r, &rec) < 0)
		fprintf(stderr, "fence_tandem: %s: %s\n", spec, rio_error(r));
	else {
		int n = rec.len > 200 ? 200 : (int)rec.len;
		if (rec.type == CK_FENCED) {
			printf("Success: %s: %.*s\n", spec, n, (const char *)rec.body);
			rc = 0;
		} else
			fprintf(stderr, "fence_tandem: %s refused: %.*s\n", spec, n,
			    (const char *)rec.body);
	}
	ckpt_record_free(&rec);
	rio_close(r);
	return rc;
}
