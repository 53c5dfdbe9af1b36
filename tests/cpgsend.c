/*
 * cpgsend - a test client of the CPG group "tandem": joins it on the local
 * corosync (run it inside a lab host's namespace), multicasts one message
 * and leaves.  For feeding fenced bad cluster messages:
 *
 *   cpgsend raw          stdin as it is
 *   cpgsend bad-crc      a well-formed CLAIM whose crc32c does not match
 *   cpgsend bad-schema   a correct crc32c over bytes that are no message
 *   cpgsend bad-rule     a well-formed, correctly framed COMMIT of a VM
 *                        that is not in the table
 *   cpgsend claim NAME   a well-formed CLAIM (the sender's node owns NAME)
 *   cpgsend fenced NODE  a well-formed FENCED {ok} for NODE (a forgery unless
 *                        the sender is the coordinator and NODE is no member)
 *   cpgsend table        a well-formed, empty TABLE (a forgery: not the donor)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <corosync/cpg.h>

#include "cluster.h"
#include "wire.h"

static void deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t n, uint32_t p, void *m, size_t l)
{
	(void)h; (void)g; (void)n; (void)p; (void)m; (void)l;
}

static size_t framed(struct msg_out *o, char *buf, size_t cap)
{
	size_t len;
	msg_end(o);
	void *p = cluster_frame(o, &len);
	msg_free(o);
	len = len < cap ? len : cap;
	memcpy(buf, p, len);
	free(p);
	return len;
}

int main(int argc, char **argv)
{
	static char buf[1 << 20];
	const char *what = argc > 1 ? argv[1] : "raw";
	size_t len = 0;
	struct msg_out o;
	if (!strcmp(what, "raw"))
		len = fread(buf, 1, sizeof(buf), stdin);
	else if (!strcmp(what, "bad-crc") || !strcmp(what, "claim")) {
		msg_begin(&o, CM_CLAIM, 0);
		msg_add_str(&o, CA_NAME, argc > 2 ? argv[2] : "intruder");
		msg_add_u64(&o, CA_MEM, 64 << 20);
		msg_add_u32(&o, CA_VCPUS, 1);
		msg_add_str(&o, CA_KERNEL, "/nonexistent");
		msg_add_u32(&o, CA_POLICY, 0);
		len = framed(&o, buf, sizeof(buf));
		if (!strcmp(what, "bad-crc"))
			buf[len / 2] ^= 0x10;
	} else if (!strcmp(what, "bad-schema")) {
		struct msg_out g = { (uint8_t *)"\x01\x00\x63\x00garbage!garbage!", 20, 20, 0 };
		size_t l;
		void *p = cluster_frame(&g, &l);
		memcpy(buf, p, l);
		free(p);
		len = l;
	} else if (!strcmp(what, "bad-rule")) {
		msg_begin(&o, CM_COMMIT, 0);
		msg_add_str(&o, CA_NAME, "no-such-vm");
		msg_add_u64(&o, CA_GEN, 7);
		msg_add_u32(&o, CA_TO, 1);
		len = framed(&o, buf, sizeof(buf));
	} else if (!strcmp(what, "fenced") && argc > 2) {
		msg_begin(&o, CM_FENCED, 0);
		msg_add_u32(&o, CA_NODE, (uint32_t)atoi(argv[2]));
		msg_add_str(&o, CA_METHOD, "forged");
		msg_add_u32(&o, CA_OK, 1);
		msg_add_u64(&o, CA_TIME, 0);
		len = framed(&o, buf, sizeof(buf));
	} else if (!strcmp(what, "table")) {
		msg_begin(&o, CM_TABLE, 0);
		msg_add_u64(&o, CA_EPOCH, 99);
		msg_add_u64(&o, CA_VERSION, 1 << 30);
		len = framed(&o, buf, sizeof(buf));
	} else {
		fprintf(stderr, "usage: cpgsend raw|bad-crc|bad-schema|bad-rule|claim NAME|fenced NODE|table\n");
		return 2;
	}
	cpg_callbacks_t cb = { deliver, NULL };
	cpg_handle_t h;
	struct cpg_name g;
	struct iovec iov = { buf, len };
	snprintf(g.value, sizeof(g.value), "tandem");
	g.length = (uint32_t)strlen(g.value);
	if (cpg_initialize(&h, &cb) != CS_OK || cpg_join(h, &g) != CS_OK) {
		fprintf(stderr, "cpgsend: cannot join the CPG group\n");
		return 1;
	}
	cs_error_t e;
	for (int i = 0; (e = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1)) == CS_ERR_TRY_AGAIN && i < 1000; i++)
		usleep(1000);
	usleep(200000);	/* let it be delivered before we leave */
	cpg_leave(h, &g);
	cpg_finalize(h);
	if (e != CS_OK) {
		fprintf(stderr, "cpgsend: send failed (%d)\n", e);
		return 1;
	}
	printf("sent %zu bytes\n", len);
	return 0;
}
