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
#include "hv.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "reload.h"
#include "version.h"
#include "wire.h"

struct corosync {
	cpg_handle_t cpg;
	votequorum_handle_t vq;
	struct event *cpg_ev, *vq_ev, *retry_ev;
	int connected, waiting;
};

/* sync.c's events, handed to the parts they concern */
void fenced_event(struct fenced *f, enum sync_event ev, const char *name)
{
	switch (ev) {
	case SE_SETTLED:
		events_check(f);
		coord_act(f);
		fast_flush(f);
		local_act(f);
		break;
	case SE_FORGET:
		coord_forget(f, name);
		local_forget(f, name);
		break;
	case SE_RING:
		events_check(f);
		coord_act(f);
		fast_flush(f);
		break;
	}
}

/* a fencing ended: the coordinator's bookkeeping, then whoever asked for it */
static void on_fence_done(void *arg, uint32_t node, int ok, const char *method, const char *detail)
{
	struct fenced *f = arg;
	events_fence(f, node, ok, method, detail);
	coord_fence_done(f, node, ok, method, detail);
	fast_fence_done(f, node, ok);
	control_fence_done(f, node, ok, method, detail);
}

int in_ring(const struct fenced *f, uint32_t node)
{
	for (size_t i = 0; i < f->nring; i++)
		if (f->ring[i] == node)
			return 1;
	return 0;
}

int quorate_now(struct fenced *f)
{
	struct votequorum_info info;
	return f->cs->connected && votequorum_getinfo(f->cs->vq, f->mb.nodeid, &info) == CS_OK &&
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

int cpg_send(struct fenced *f, const struct msg_out *o)
{
	size_t len;
	void *p = cluster_frame(o, &len);
	struct iovec iov = { p, len };
	cs_error_t e = CS_ERR_NO_MEMORY;
	for (int i = 0; p && i < 100; i++) {
		if ((e = cpg_mcast_joined(f->cs->cpg, CPG_TYPE_AGREED, &iov, 1)) != CS_ERR_TRY_AGAIN)
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

/* the daemon's state, which try_connect gave CPG as the handle's context */
static struct fenced *cpg_ctx(cpg_handle_t h)
{
	void *c = NULL;
	cpg_context_get(h, &c);
	return c;
}

static void on_confchg(cpg_handle_t h, const struct cpg_name *g, const struct cpg_address *members,
    size_t nmembers, const struct cpg_address *left, size_t nleft, const struct cpg_address *joined,
    size_t njoined)
{
	struct fenced *f = cpg_ctx(h);
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
	uint64_t views = f->mb.views;
	enum mb_state was = f->mb.state;
	mb_view(&f->mb, ids, n, quorate_now(f));
	if (f->mb.views != views)	/* not the ignored first view */
		sync_view(f, f->mb.members, f->mb.n);
	if (f->mb.state != was)
		local_membership(f);
	events_check(f);
}

static void on_deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid, uint32_t pid,
    void *msg, size_t len)
{
	(void)g;
	sync_deliver(cpg_ctx(h), nodeid, pid, msg, len);
}

/* the totem ring changed: a host whose fenced left the group but whose
 * corosync stays is alive (a fenced restart), not lost; the coordinator
 * fences only hosts that left the ring */
static void on_totem(cpg_handle_t h, struct cpg_ring_id ring, uint32_t n, const uint32_t *nodes)
{
	struct fenced *f = cpg_ctx(h);
	f->nring = 0;
	for (uint32_t i = 0; i < n && f->nring < MB_MAX_NODES; i++)
		f->ring[f->nring++] = nodes[i];
	char s[256] = "";
	for (size_t i = 0, o = 0; i < f->nring && o < sizeof(s) - 12; i++)
		o += (size_t)snprintf(s + o, sizeof(s) - o, "%s%u", i ? " " : "", f->ring[i]);
	log_info("corosync ring %u.%llu: nodes %s", ring.nodeid, (unsigned long long)ring.seq, s);
	fenced_event(f, SE_RING, NULL);
}

static void on_quorum(votequorum_handle_t h, uint64_t ctx, uint32_t quorate, uint32_t n,
    votequorum_node_t nodes[])
{
	void *c = NULL;
	(void)ctx;
	(void)quorate;
	(void)n;
	(void)nodes;
	votequorum_context_get(h, &c);
	struct fenced *f = c;
	enum mb_state was = f->mb.state;
	mb_quorum(&f->mb, quorate_now(f));
	if (f->mb.state != was) {
		sync_quorum(f, f->mb.state == MB_QUORATE);
		local_membership(f);
	}
	events_check(f);
}

static void disconnect(struct fenced *f, const char *why);

/* a readable CPG or votequorum connection */
static void on_corosync(evutil_socket_t fd, short ev, void *arg)
{
	struct fenced *f = arg;
	(void)ev;
	int is_cpg = fd == event_get_fd(f->cs->cpg_ev);
	if ((is_cpg ? cpg_dispatch(f->cs->cpg, CS_DISPATCH_ALL) : votequorum_dispatch(f->cs->vq, CS_DISPATCH_ALL)) != CS_OK)
		disconnect(f, is_cpg ? "lost corosync (CPG)" : "lost corosync (votequorum)");
}

static void schedule_retry(struct fenced *f)
{
	struct timeval tv = { 0, 200000 };
	evtimer_add(f->cs->retry_ev, &tv);
}

static void disconnect(struct fenced *f, const char *why)
{
	if (!f->cs->connected)
		return;
	f->cs->connected = 0;
	event_free(f->cs->cpg_ev);
	event_free(f->cs->vq_ev);
	cpg_finalize(f->cs->cpg);
	votequorum_finalize(f->cs->vq);
	mb_disconnected(&f->mb, why);
	sync_disconnected(f);
	local_membership(f);
	schedule_retry(f);
}

static void try_connect(evutil_socket_t fd, short ev, void *arg)
{
	static cpg_model_v1_data_t model = { CPG_MODEL_V1, on_deliver, on_confchg, on_totem,
		CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF };
	static votequorum_callbacks_t qcb = { on_quorum, NULL, NULL };
	struct cpg_name group;
	unsigned int nodeid;
	int cfd, qfd;
	struct fenced *f = arg;
	(void)fd;
	(void)ev;

	snprintf(group.value, sizeof(group.value), "tandem");
	group.length = (uint32_t)strlen(group.value);
	if (cpg_model_initialize(&f->cs->cpg, CPG_MODEL_V1, (cpg_model_data_t *)&model, f) != CS_OK) {
		if (!f->cs->waiting++)
			log_info("waiting for corosync");
		schedule_retry(f);
		return;
	}
	if (votequorum_initialize(&f->cs->vq, &qcb) != CS_OK) {
		cpg_finalize(f->cs->cpg);
		schedule_retry(f);
		return;
	}
	votequorum_context_set(f->cs->vq, f);
	if (cpg_local_get(f->cs->cpg, &nodeid) != CS_OK || votequorum_trackstart(f->cs->vq, 0, CS_TRACK_CHANGES) != CS_OK ||
	    cpg_fd_get(f->cs->cpg, &cfd) != CS_OK || votequorum_fd_get(f->cs->vq, &qfd) != CS_OK ||
	    cpg_join(f->cs->cpg, &group) != CS_OK) {
		cpg_finalize(f->cs->cpg);
		votequorum_finalize(f->cs->vq);
		schedule_retry(f);
		return;
	}
	f->cs->waiting = 0;
	f->cs->connected = 1;
	log_info("connected to corosync as node %u", nodeid);
	if (!conf_host(&f->conf, nodeid))
		log_warnx("this host is node %u, which the cluster config does not list: it will "
		    "own and fence nothing", nodeid);
	mb_connected(&f->mb, nodeid);
	f->cs->cpg_ev = event_new(f->base, cfd, EV_READ | EV_PERSIST, on_corosync, f);
	f->cs->vq_ev = event_new(f->base, qfd, EV_READ | EV_PERSIST, on_corosync, f);
	event_add(f->cs->cpg_ev, NULL);
	event_add(f->cs->vq_ev, NULL);
}

/* SIGHUP: fence levels (while no fencing runs: a running one walks them by
 * index) and the fence-timeout, storm-share and self-fence timers */
static unsigned apply_fencing(void *arg, struct fconf *run, const struct fconf *fresh,
    char *detail, size_t len)
{
	struct fenced *f = arg;
	unsigned g = conf_changed(run, fresh), applied = 0;
	if (g & CFG_LEVELS && fence_running(f->fencer))
		log_warnx("reload: fence levels kept: a fencing is running (send SIGHUP again once "
		    "it ends)");
	else if (g & CFG_LEVELS) {
		memcpy(run->levels, fresh->levels, sizeof(fresh->levels));
		run->nlevels = fresh->nlevels;
		applied |= CFG_LEVELS;
	}
	if (g & CFG_TIMERS) {
		run->fence_timeout_ms = fresh->fence_timeout_ms;
		run->storm_pct = fresh->storm_pct;
		run->self_fence_ms = fresh->self_fence_ms;	/* the next inquorate spell */
		applied |= CFG_TIMERS;
	}
	snprintf(detail, len, " (%zu fence levels, fence-timeout %u ms, storm-share %u%%, self-fence "
	    "%u ms)", run->nlevels, run->fence_timeout_ms, run->storm_pct, run->self_fence_ms);
	return applied;
}

static void on_signal(evutil_socket_t sig, short ev, void *arg)
{
	struct fenced *f = arg;
	(void)ev;
	if (sig == SIGHUP) {
		reload_config("fenced", &f->conf, CFG_HOSTS | CFG_LEVELS | CFG_TIMERS | CFG_WATCHDOG |
		    CFG_HEARTBEAT | CFG_HYPERVISOR | CFG_FENCED, apply_fencing, f);
		return;
	}
	notify("STOPPING=1");
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(f->base);
}

static void __attribute__((noreturn)) usage(FILE *out, int code)
{
	fprintf(out, "usage: fenced [-fvn] [-c config] [-s socket] [-d state-dir] [-H hypervisor]\n"
	    "  -c config  tandem.conf (default %s): the cluster's hosts, fence\n"
	    "             levels and timers, heartbeat, watchdog, hypervisor and the\n"
	    "             fenced statement; options win over it\n"
	    "  -n         check the configuration and exit\n"
	    "  -s socket  control socket (default %s)\n"
	    "  -d dir     the durable table (default /var/lib/tandem/fenced)\n"
	    "  -H uri     the hypervisor whose VMs this host runs (default %s)\n"
	    "  --metrics addr:port  serve OpenMetrics at http://addr:port/metrics\n"
	    "  -f         stay in the foreground, log to stderr;  -v  debug logging\n"
	    "  --help, --version\n"
	    "SIGHUP reads the configuration again: fence levels and timers apply at once,\n"
	    "the rest at the next start.  See fenced(8).\n", CONF_DEFAULT_PATH,
	    FENCED_DEFAULT_SOCK, HV_DEFAULT_URI);
	exit(code);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", 0, NULL, 'h' }, { "version", 0, NULL, 'V' }, { "metrics", 1, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *conf = CONF_DEFAULT_PATH, *state = NULL, *hv = NULL;
	const char *metrics = NULL;
	struct fenced *f = calloc(1, sizeof(*f));
	struct corosync *cs = calloc(1, sizeof(*cs));
	if (!f || !cs)
		fatalx("out of memory");
	f->cs = cs;
	int fg = 0, verbose = 0, check = 0, c;
	char err[512], uri[300];

	while ((c = getopt_long(argc, argv, "s:c:d:H:fvnh", lo, NULL)) != -1) {
		switch (c) {
		case 'd': state = optarg; break;
		case 's': path = optarg; break;
		case 'c': conf = optarg; break;
		case 'H': hv = optarg; break;
		case 'f': fg = 1; break;
		case 'v': verbose = 1; break;
		case 'n': check = 1; break;
		case 'M': metrics = optarg; break;
		case 'h': usage(stdout, 0);
		case 'V': print_version("fenced");
		default: usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
	log_init("fenced", fg || check, verbose);
	if (conf_load(&f->conf, conf, err, sizeof(err)) < 0) {
		log_warnx("config: %s", err);
		free(cs);
		free(f);
		return 1;
	}
	if (!f->conf.nhosts) {
		log_warnx("config: %s: no host lines: fenced needs the cluster's hosts", conf);
		free(cs);
		free(f);
		return 1;
	}
	for (size_t i = 0; i < f->conf.nlevels; i++)
		if (access(f->conf.levels[i].agent, X_OK) < 0) {
			log_warnx("config: %s: fence-level %d: %s: %s (install the agent, or fix the "
			    "path)", conf, f->conf.levels[i].n, f->conf.levels[i].agent, strerror(errno));
			free(cs);
			free(f);
			return 1;
		}
	path = conf_or(path, f->conf.fenced.socket, FENCED_DEFAULT_SOCK);
	f->state_dir = conf_or(state, f->conf.fenced.state, "/var/lib/tandem/fenced");
	f->hvd_path = conf_or(hv, conf_hv_uri(&f->conf, uri, sizeof(uri)), NULL);
	metrics = conf_or(metrics, f->conf.fenced.metrics, NULL);
	if (hv_uri_check(f->hvd_path, err, sizeof(err)) < 0) {
		log_warnx("-H %s", err);
		free(cs);
		free(f);
		return 2;
	}
	if (check) {
		printf("%s: %zu hosts, %zu fence levels: ok\n", conf, f->conf.nhosts, f->conf.nlevels);
		free(cs);
		free(f);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", path);
	mkdir(dirname(dir), 0755);
	if (!(f->base = event_base_new()))
		fatalx("event_base_new failed");
	sync_init(f);
	coord_init(f);
	control_init(f, path);
	if (!fg && daemon(0, 0) < 0)
		fatal("daemon");
	f->pid = (uint32_t)getpid();
	uint32_t nodes[CF_MAX_HOSTS];
	for (size_t i = 0; i < f->conf.nhosts; i++)
		nodes[i] = f->conf.hosts[i].node;
	table_init(&f->t, nodes, f->conf.nhosts);
	if (mkdir(f->state_dir, 0700) < 0 && errno != EEXIST)
		fatal("state directory %s (-d or fenced state= names another)", f->state_dir);
	switch (store_load(f->state_dir, &f->t, err, sizeof(err))) {
	case 1:
		log_info("table from %s/table: epoch %llu version %llu, %zu VMs; it is not the "
		    "cluster's until the members agree", f->state_dir, (unsigned long long)f->t.epoch,
		    (unsigned long long)f->t.version, f->t.nvm);
		break;
	case 0:
		log_info("no table in %s: this host starts with an empty one", f->state_dir);
		break;
	default:
		log_warnx("table refused: %s; this host starts with an empty one, and destroys no "
		    "domain on its strength", err);
	}
	mb_init(&f->mb);
	if (!(f->fencer = fence_init(f->base, &f->conf, on_fence_done, f)))
		fatalx("out of memory");
	local_init(f);
	fast_init(f);
	if (!f->conf.nlevels)
		log_warnx("config: no fence-level: a lost host can never be fenced, so its VMs are "
		    "never restarted");
	struct metrics_srv *msrv = NULL;
	if (metrics && !(msrv = metrics_listen(f->base, metrics, stats_render, f, err, sizeof(err))))
		fatalx("%s", err);
	f->cs->retry_ev = evtimer_new(f->base, try_connect, f);
	struct event *s1 = evsignal_new(f->base, SIGTERM, on_signal, f);
	struct event *s2 = evsignal_new(f->base, SIGINT, on_signal, f);
	struct event *s3 = evsignal_new(f->base, SIGHUP, on_signal, f);
	event_add(s1, NULL);
	event_add(s2, NULL);
	event_add(s3, NULL);
	log_info("fenced: control %s, %zu hosts, %zu fence levels, self-fence %u ms, storm-share "
	    "%u%%, state %s", path, f->conf.nhosts, f->conf.nlevels, f->conf.self_fence_ms,
	    f->conf.storm_pct, mb_state_name(f->mb.state));
	try_connect(-1, 0, f);
	notify("READY=1\nSTATUS=%zu hosts, %zu fence levels", f->conf.nhosts, f->conf.nlevels);
	event_base_dispatch(f->base);
	if (f->cs->connected) {
		event_free(f->cs->cpg_ev);
		event_free(f->cs->vq_ev);
		cpg_finalize(f->cs->cpg);
		votequorum_finalize(f->cs->vq);
	}
	metrics_close(msrv);
	fence_shutdown(f->fencer);
	fast_shutdown(f);
	local_shutdown(f);
	ctlsrv_shutdown();
	event_free(f->cs->retry_ev);
	event_free(s1);
	event_free(s2);
	event_free(s3);
	sync_shutdown(f);
	events_free(f);
	event_free(f->coord.retry_ev);
	event_base_free(f->base);
	unlink(path);
	free(cs);
	free(f);
	return 0;
}
