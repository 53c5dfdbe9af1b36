/*
 * fenced.c - main of fenced, one per host next to corosync: joins the CPG
 * group "tandem", tracks membership and quorum (membership.c) and feeds
 * views, quorum changes and messages to the table's replication (sync.c).
 * It keeps (re)connecting to corosync, which accepts clients only ~0.5 s
 * after it starts and may go away; while it has no connection it is
 * "connecting" and decides nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>
#include <event2/event.h>
#include <corosync/cpg.h>
#include <corosync/votequorum.h>

#include "ctlsrv.h"
#include "fence.h"
#include "fenced.h"
#include "log.h"
#include "wire.h"

struct fenced F;
static cpg_handle_t cpg;
static votequorum_handle_t vq;
static struct event *cpg_ev, *vq_ev, *retry_ev;
static int connected;

int in_ring(uint32_t node)
{
	for (size_t i = 0; i < F.nring; i++)
		if (F.ring[i] == node)
			return 1;
	return 0;
}

int quorate_now(void)
{
	struct votequorum_info info;
	return connected && votequorum_getinfo(vq, F.mb.nodeid, &info) == CS_OK &&
	    (info.flags & VOTEQUORUM_INFO_QUORATE);
}

uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t wall_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

int cpg_send(const struct msg_out *o)
{
	size_t len;
	void *p = cluster_frame(o, &len);
	struct iovec iov = { p, len };
	cs_error_t e = CS_ERR_NO_MEMORY;
	for (int i = 0; p && i < 100; i++) {
		if ((e = cpg_mcast_joined(cpg, CPG_TYPE_AGREED, &iov, 1)) != CS_ERR_TRY_AGAIN)
			break;
		usleep(1000);	/* corosync's flow control: rare, short */
	}
	free(p);
	if (e != CS_OK) {
		log_warnx("CPG send of %zu bytes failed: corosync error %d", len, e);
		errno = EIO;
		return -1;
	}
	return 0;
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
	uint64_t views = F.mb.views;
	enum mb_state was = F.mb.state;
	mb_view(&F.mb, ids, n, quorate_now());
	if (F.mb.views != views)	/* not the ignored first view */
		sync_view(F.mb.members, F.mb.n);
	if (F.mb.state != was)
		local_membership();
}

static void on_deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid, uint32_t pid,
    void *msg, size_t len)
{
	(void)h;
	(void)g;
	sync_deliver(nodeid, pid, msg, len);
}

/* the totem ring changed: a host whose fenced left the group but whose
 * corosync stays is alive (a fenced restart), not lost; the coordinator
 * fences only hosts that left the ring */
static void on_totem(cpg_handle_t h, struct cpg_ring_id ring, uint32_t n, const uint32_t *nodes)
{
	(void)h;
	F.nring = 0;
	for (uint32_t i = 0; i < n && F.nring < MB_MAX_NODES; i++)
		F.ring[F.nring++] = nodes[i];
	char s[256] = "";
	for (size_t i = 0, o = 0; i < F.nring && o < sizeof(s) - 12; i++)
		o += (size_t)snprintf(s + o, sizeof(s) - o, "%s%u", i ? " " : "", F.ring[i]);
	log_info("corosync ring %u.%llu: nodes %s", ring.nodeid, (unsigned long long)ring.seq, s);
	coord_act();
}

static void on_quorum(votequorum_handle_t h, uint64_t ctx, uint32_t quorate, uint32_t n,
    votequorum_node_t nodes[])
{
	(void)h;
	(void)ctx;
	(void)quorate;
	(void)n;
	(void)nodes;
	enum mb_state was = F.mb.state;
	mb_quorum(&F.mb, quorate_now());
	if (F.mb.state != was) {
		sync_quorum(F.mb.state == MB_QUORATE);
		local_membership();
	}
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
	mb_disconnected(&F.mb, why);
	sync_disconnected();
	local_membership();
	schedule_retry();
}

static void try_connect(evutil_socket_t fd, short ev, void *arg)
{
	static int said;
	static cpg_model_v1_data_t model = { CPG_MODEL_V1, on_deliver, on_confchg, on_totem,
		CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF };
	static votequorum_callbacks_t qcb = { on_quorum, NULL, NULL };
	struct cpg_name group;
	unsigned int nodeid;
	int cfd, qfd;
	(void)fd;
	(void)ev;
	(void)arg;

	snprintf(group.value, sizeof(group.value), "tandem");
	group.length = (uint32_t)strlen(group.value);
	if (cpg_model_initialize(&cpg, CPG_MODEL_V1, (cpg_model_data_t *)&model, NULL) != CS_OK) {
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
	if (!conf_host(&F.conf, nodeid))
		log_warnx("this host is node %u, which the cluster config does not list: it will "
		    "own and fence nothing", nodeid);
	mb_connected(&F.mb, nodeid);
	cpg_ev = event_new(F.base, cfd, EV_READ | EV_PERSIST, on_corosync, &cpg);
	vq_ev = event_new(F.base, qfd, EV_READ | EV_PERSIST, on_corosync, &vq);
	event_add(cpg_ev, NULL);
	event_add(vq_ev, NULL);
}

static void on_signal(evutil_socket_t sig, short ev, void *arg)
{
	(void)ev;
	(void)arg;
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(F.base);
}

int main(int argc, char **argv)
{
	const char *path = FENCED_DEFAULT_SOCK, *conf = "/etc/tandem/cluster.conf";
	F.state_dir = "/var/lib/tandem/fenced";
	int fg = 0, verbose = 0, check = 0, c;
	char err[512];

	F.hvd_path = NULL;
	while ((c = getopt(argc, argv, "s:c:d:H:fvnh")) != -1) {
		switch (c) {
		case 'd': F.state_dir = optarg; break;
		case 's': path = optarg; break;
		case 'c': conf = optarg; break;
		case 'H': F.hvd_path = optarg; break;
		case 'f': fg = 1; break;
		case 'v': verbose = 1; break;
		case 'n': check = 1; break;
		default:
			fprintf(stderr, "usage: fenced [-fvn] [-c config] [-s socket] [-d state-dir] "
			    "[-H hvd-socket]\n  -n  check the config and exit\n  defaults: -c "
			    "/etc/tandem/cluster.conf -s %s -d /var/lib/tandem/fenced\n",
			    FENCED_DEFAULT_SOCK);
			return 2;
		}
	}
	log_init("fenced", fg || check, verbose);
	if (conf_load(&F.conf, conf, err, sizeof(err)) < 0) {
		log_warnx("config: %s", err);
		return 1;
	}
	if (check) {
		printf("%s: %zu hosts, %zu fence levels: ok\n", conf, F.conf.nhosts, F.conf.nlevels);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", path);
	mkdir(dirname(dir), 0755);
	if (!(F.base = event_base_new()))
		fatalx("event_base_new failed");
	control_init(path);
	if (!fg && daemon(0, 0) < 0)
		fatal("daemon");
	F.pid = (uint32_t)getpid();
	uint32_t nodes[CF_MAX_HOSTS];
	for (size_t i = 0; i < F.conf.nhosts; i++)
		nodes[i] = F.conf.hosts[i].node;
	table_init(&F.t, nodes, F.conf.nhosts);
	if (mkdir(F.state_dir, 0700) < 0 && errno != EEXIST)
		fatal("state directory %s", F.state_dir);
	switch (store_load(F.state_dir, &F.t, err, sizeof(err))) {
	case 1:
		log_info("table from %s/table: epoch %llu version %llu, %zu VMs; it is not the "
		    "cluster's until the members agree", F.state_dir, (unsigned long long)F.t.epoch,
		    (unsigned long long)F.t.version, F.t.nvm);
		break;
	case 0:
		log_info("no table in %s: this host starts with an empty one", F.state_dir);
		break;
	default:
		log_warnx("table refused: %s; this host starts with an empty one, and destroys no "
		    "domain on its strength", err);
	}
	mb_init(&F.mb);
	fence_init(F.base, &F.conf, coord_fence_done);
	local_init();
	if (!F.conf.nlevels)
		log_warnx("config: no fence-level: a lost host can never be fenced, so its VMs are "
		    "never restarted");
	retry_ev = evtimer_new(F.base, try_connect, NULL);
	struct event *s1 = evsignal_new(F.base, SIGTERM, on_signal, NULL);
	struct event *s2 = evsignal_new(F.base, SIGINT, on_signal, NULL);
	event_add(s1, NULL);
	event_add(s2, NULL);
	log_info("fenced: control %s, %zu hosts, %zu fence levels, self-fence %u ms, storm-share "
	    "%u%%, state %s", path, F.conf.nhosts, F.conf.nlevels, F.conf.self_fence_ms,
	    F.conf.storm_pct, mb_state_name(F.mb.state));
	try_connect(-1, 0, NULL);
	event_base_dispatch(F.base);
	if (connected) {
		event_free(cpg_ev);
		event_free(vq_ev);
		cpg_finalize(cpg);
		votequorum_finalize(vq);
	}
	fence_shutdown();
	local_shutdown();
	ctlsrv_shutdown();
	event_free(retry_ev);
	event_free(s1);
	event_free(s2);
	event_base_free(F.base);
	unlink(path);
	return 0;
}
