/*
 * fenced.c - main of fenced, one per host next to corosync: joins the CPG
 * group "tandem", tracks membership and quorum (membership.c) and answers
 * `tandem status` on its control socket.  It keeps (re)connecting to
 * corosync, which accepts clients only ~0.5 s after it starts and may go
 * away; while it has no connection it is "connecting" and decides nothing.
 *
 * Not here yet (issue 4): the ownership table, fencing, restarts.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/event.h>
#include <corosync/cpg.h>
#include <corosync/votequorum.h>

#include "ctlsrv.h"
#include "fencectl.h"
#include "log.h"
#include "membership.h"

static struct event_base *base;
static struct membership mb;
static cpg_handle_t cpg;
static votequorum_handle_t vq;
static struct event *cpg_ev, *vq_ev, *retry_ev;
static int connected;

static int quorate_now(void)
{
	struct votequorum_info info;
	return votequorum_getinfo(vq, mb.nodeid, &info) == CS_OK && (info.flags & VOTEQUORUM_INFO_QUORATE);
}

static void on_confchg(cpg_handle_t h, const struct cpg_name *g, const struct cpg_address *members,
    size_t nmembers, const struct cpg_address *left, size_t nleft, const struct cpg_address *joined,
    size_t njoined)
{
	(void)h;
	(void)g;
	(void)left;
	(void)nleft;
	(void)joined;
	(void)njoined;
	uint32_t ids[MB_MAX_NODES];
	size_t n = 0;
	for (size_t i = 0; i < nmembers && n < MB_MAX_NODES; i++) {
		int dup = 0;	/* one entry per host, however many processes it has */
		for (size_t k = 0; k < n; k++)
			dup |= ids[k] == members[i].nodeid;
		if (!dup)
			ids[n++] = members[i].nodeid;
	}
	mb_view(&mb, ids, n, quorate_now());
}

static void on_deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid, uint32_t pid,
    void *msg, size_t len)
{
	(void)h;
	(void)g;
	(void)msg;
	log_warnx("CPG message of %zu bytes from node %u pid %u: no message types yet, dropped",
	    len, nodeid, pid);
}

static void on_quorum(votequorum_handle_t h, uint64_t ctx, uint32_t quorate, uint32_t n,
    votequorum_node_t nodes[])
{
	(void)h;
	(void)ctx;
	(void)quorate;
	(void)n;
	(void)nodes;
	mb_quorum(&mb, quorate_now());
}

static void disconnect(const char *why);

/* readable CPG (arg &cpg) or votequorum (arg &vq) connection */
static void on_corosync(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	int is_cpg = arg == &cpg;
	if ((is_cpg ? cpg_dispatch(cpg, CS_DISPATCH_ALL) : votequorum_dispatch(vq, CS_DISPATCH_ALL)) != CS_OK)
		disconnect(is_cpg ? "lost corosync (CPG)" : "lost corosync (votequorum)");
}

static void schedule_retry(void)
{
	struct timeval tv = { 0, 200000 };
	evtimer_add(retry_ev, &tv);
}

static void disconnect(const char *why)
{
	if (!connected)
		return;
	connected = 0;
	event_free(cpg_ev);
	event_free(vq_ev);
	cpg_finalize(cpg);
	votequorum_finalize(vq);
	mb_disconnected(&mb, why);
	schedule_retry();
}

static void try_connect(evutil_socket_t fd, short ev, void *arg)
{
	static int said;
	static cpg_callbacks_t cb = { on_deliver, on_confchg };
	static votequorum_callbacks_t qcb = { on_quorum, NULL, NULL };
	struct cpg_name group;
	unsigned int nodeid;
	int cfd, qfd;
	(void)fd;
	(void)ev;
	(void)arg;

	snprintf(group.value, sizeof(group.value), "tandem");
	group.length = (uint32_t)strlen(group.value);
	if (cpg_initialize(&cpg, &cb) != CS_OK) {
		if (!said++)
			log_info("waiting for corosync");
		schedule_retry();
		return;
	}
	if (votequorum_initialize(&vq, &qcb) != CS_OK) {
		cpg_finalize(cpg);
		schedule_retry();
		return;
	}
	if (cpg_local_get(cpg, &nodeid) != CS_OK || votequorum_trackstart(vq, 0, CS_TRACK_CHANGES) != CS_OK ||
	    cpg_fd_get(cpg, &cfd) != CS_OK || votequorum_fd_get(vq, &qfd) != CS_OK ||
	    cpg_join(cpg, &group) != CS_OK) {
		cpg_finalize(cpg);
		votequorum_finalize(vq);
		schedule_retry();
		return;
	}
	said = 0;
	connected = 1;
	log_info("connected to corosync as node %u", nodeid);
	mb_connected(&mb, nodeid);
	cpg_ev = event_new(base, cfd, EV_READ | EV_PERSIST, on_corosync, &cpg);
	vq_ev = event_new(base, qfd, EV_READ | EV_PERSIST, on_corosync, &vq);
	event_add(cpg_ev, NULL);
	event_add(vq_ev, NULL);
}

static void request(struct ctlsrv_client *c, const struct msg_in *in, const uint8_t *buf, size_t len)
{
	(void)buf;
	(void)len;
	struct msg_out o;
	char m[512];
	if (connected && (mb.state == MB_QUORATE || mb.state == MB_INQUORATE))
		mb_quorum(&mb, quorate_now());	/* a decision reads quorum fresh */
	msg_begin(&o, FC_OK, in->seq);
	msg_add_u32(&o, FA_NODEID, mb.nodeid);
	msg_add_u32(&o, FA_STATE, mb.state);
	msg_add_u32(&o, FA_QUORATE, (uint32_t)mb.quorate);
	mb_members_str(&mb, m, sizeof(m));
	msg_add_str(&o, FA_MEMBERS, m);
	msg_add_u64(&o, FA_VIEWS, mb.views);
	msg_add_u64(&o, FA_SINCE_MS, mb_since_ms(&mb));
	if (msg_end(&o) == 0)
		ctlsrv_reply(c, o.buf, o.len, NULL, 0);
	msg_free(&o);
}

static void on_signal(evutil_socket_t sig, short ev, void *arg)
{
	(void)ev;
	(void)arg;
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(base);
}

int main(int argc, char **argv)
{
	const char *path = FENCED_DEFAULT_SOCK;
	int fg = 0, verbose = 0, c;
	static const struct ctlsrv_conf conf = { &fencectl_schema, FC_OK, FC_ERR, FA_ERRNO, FA_ERRMSG,
		request, NULL };

	while ((c = getopt(argc, argv, "s:fvh")) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'f': fg = 1; break;
		case 'v': verbose = 1; break;
		default:
			fprintf(stderr, "usage: fenced [-fv] [-s socket]   (default %s)\n", FENCED_DEFAULT_SOCK);
			return 2;
		}
	}
	log_init("fenced", fg, verbose);
	signal(SIGPIPE, SIG_IGN);
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", path);
	mkdir(dirname(dir), 0755);
	if (!(base = event_base_new()))
		fatalx("event_base_new failed");
	if (ctlsrv_init(base, path, &conf) < 0)
		fatal("control socket %s", path);
	if (!fg && daemon(0, 0) < 0)
		fatal("daemon");
	mb_init(&mb);
	retry_ev = evtimer_new(base, try_connect, NULL);
	struct event *s1 = evsignal_new(base, SIGTERM, on_signal, NULL);
	struct event *s2 = evsignal_new(base, SIGINT, on_signal, NULL);
	event_add(s1, NULL);
	event_add(s2, NULL);
	log_info("fenced: control %s, state %s", path, mb_state_name(mb.state));
	try_connect(-1, 0, NULL);
	event_base_dispatch(base);
	if (connected) {
		event_free(cpg_ev);
		event_free(vq_ev);
		cpg_finalize(cpg);
		votequorum_finalize(vq);
	}
	ctlsrv_shutdown();
	event_free(retry_ev);
	event_free(s1);
	event_free(s2);
	event_base_free(base);
	unlink(path);
	return 0;
}
