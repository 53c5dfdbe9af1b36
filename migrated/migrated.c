/*
 * migrated.c - main of migrated, the live-migration daemon: one per host,
 * next to hvd.  Serves the CLI on a unix socket and peers on TCP (TLS with
 * the cluster certificates, or plain TCP only with --insecure).
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

#include "ctlsrv.h"
#include "hv.h"
#include "log.h"
#include "metrics.h"
#include "migrated.h"
#include "notify.h"
#include "reload.h"
#include "tls.h"
#include "config.h"
#include "fencectl.h"
#include "version.h"

struct event_base *migd_base;
struct migd_conf migd_conf = { .ctl_path = MIGRATED_DEFAULT_SOCK, .hvd_path = HV_DEFAULT_URI,
	.listen = ":7447", .state_dir = "/var/lib/tandem" };
static struct fconf hosts_map;

static void __attribute__((noreturn)) usage(FILE *out, int code)
{
	fprintf(out, "usage: migrated [-fvn] [-c config] [-s socket] [-H hypervisor] [-l [addr]:port] [-d dir]\n"
	    "                [-F fenced] (--cert FILE --key FILE --ca FILE [--crl FILE] | --insecure)\n"
	    "                [--control-cpu cpu]\n"
	    "  -c config   tandem.conf (default %s, if it exists): the cluster's\n"
	    "              hosts (a peer's certificate must name the host its address\n"
	    "              belongs to), tls, hypervisor, control-cpu and the migrated\n"
	    "              statement; options win over it\n"
	    "  -n          check the configuration and exit\n"
	    "  -s socket   control socket (default %s)\n"
	    "  -H uri      the hypervisor: hvd:SOCKET (or a bare SOCKET), xen: (default %s)\n"
	    "  -l addr     peer listener (default :%d)\n"
	    "  -d dir      state directory (the journal of incoming migrations)\n"
	    "  -F socket   fenced's socket: every migration goes through the cluster's\n"
	    "              ownership table (begin, commit, resolve); none: no cluster\n"
	    "              (default: fenced's, when tandem.conf has fence levels)\n"
	    "  --cert/--key/--ca  this host's certificate, key and the cluster CA (tandem-ca)\n"
	    "  --crl FILE  the CA's revocation list (tandem-ca revoke), read again when it changes\n"
	    "  --insecure  plain TCP between hosts, no authentication: for tests only\n"
	    "  --control-cpu cpu  the core a migration runs on while its VM is paused,\n"
	    "              shared with hvd's control: a CPU number, none, or auto (the\n"
	    "              default: the last of its cores, when it has two)\n"
	    "  --metrics addr:port  serve OpenMetrics at http://addr:port/metrics\n"
	    "  -f          stay in the foreground, log to stderr;  -v  debug logging\n"
	    "  --help, --version\n"
	    "SIGHUP reads the configuration again.  See migrated(8).\n",
	    CONF_DEFAULT_PATH, MIGRATED_DEFAULT_SOCK, HV_DEFAULT_URI, MIGRATED_DEFAULT_PORT);
	exit(code);
}

static void on_signal(evutil_socket_t sig, short ev, void *arg)
{
	(void)ev;
	(void)arg;
	if (sig == SIGHUP) {	/* nothing applies live: migrations read the hosts from their threads */
		reload_config("migrated", &hosts_map, CFG_HOSTS | CFG_TLS | CFG_HYPERVISOR | CFG_CPU |
		    CFG_MIGRATED, NULL, NULL);
		return;
	}
	notify("STOPPING=1");
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(migd_base);
}

static void on_peer(evutil_socket_t fd, short ev, void *arg)
{
	(void)ev;
	if (peer_accept(fd) < 0)
		listener_rest(migd_base, arg, errno);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "cert", 1, NULL, 'C' }, { "key", 1, NULL, 'K' }, { "ca", 1, NULL, 'A' },
		{ "insecure", 0, NULL, 'I' }, { "crl", 1, NULL, 'R' }, { "control-cpu", 1, NULL, 'P' },
		{ "help", 0, NULL, 'h' }, { "version", 0, NULL, 'V' }, { "metrics", 1, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	int c, check = 0;
	const char *metrics = NULL, *cpu = NULL, *cfpath = NULL, *ctl = NULL, *hv = NULL, *listen = NULL, *state = NULL;
	char err[512], uri[300], port[16];
	struct migd_conf *m = &migd_conf;

	while ((c = getopt_long(argc, argv, "s:H:l:d:F:c:nfvh", lo, NULL)) != -1) {
		switch (c) {
		case 's': ctl = optarg; break;
		case 'H': hv = optarg; break;
		case 'l': listen = optarg; break;
		case 'd': state = optarg; break;
		case 'F': m->fenced = optarg; break;
		case 'f': m->foreground = 1; break;
		case 'v': m->verbose = 1; break;
		case 'C': m->cert = optarg; break;
		case 'K': m->key = optarg; break;
		case 'A': m->ca = optarg; break;
		case 'I': m->insecure = 1; break;
		case 'R': m->crl = optarg; break;
		case 'c': cfpath = optarg; break;
		case 'n': check = 1; break;
		case 'P': cpu = optarg; break;
		case 'M': metrics = optarg; break;
		case 'h': usage(stdout, 0);
		case 'V': print_version("migrated");
		default: usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
	if (conf_load_default(&hosts_map, cfpath, err, sizeof(err)) < 0) {
		fprintf(stderr, "migrated: %s\n", err);
		exit(1);
	}
	snprintf(port, sizeof(port), ":%d", MIGRATED_DEFAULT_PORT);
	m->ctl_path = conf_or(ctl, hosts_map.migrated.socket, MIGRATED_DEFAULT_SOCK);
	m->hvd_path = conf_or(hv, conf_hv_uri(&hosts_map, uri, sizeof(uri)), HV_DEFAULT_URI);
	m->listen = conf_or(listen, hosts_map.migrated.listen, port);
	m->state_dir = conf_or(state, hosts_map.migrated.state, "/var/lib/tandem");
	m->metrics = conf_or(metrics, hosts_map.migrated.metrics, NULL);
	m->fenced = conf_or(m->fenced, conf_fenced_socket(&hosts_map, FENCED_DEFAULT_SOCK), NULL);
	if (m->fenced && !strcmp(m->fenced, "none"))	/* -F none: no cluster, whatever the file says */
		m->fenced = NULL;
	struct cf_tls_use tls = { m->cert, m->key, m->ca, m->crl, m->insecure };
	conf_tls(&hosts_map, &tls);
	m->cert = tls.cert, m->key = tls.key, m->ca = tls.ca, m->crl = tls.crl;
	m->insecure = tls.insecure;
	if (hosts_map.nhosts) {
		m->hosts_path = hosts_map.path;
		m->hosts = &hosts_map;
	}
	if (cpuplan_parse(&m->cpus, conf_or(cpu, hosts_map.control_cpu, NULL), err, sizeof(err)) < 0) {
		fprintf(stderr, "migrated: %s\n", err);
		exit(2);
	}
	log_init("migrated", m->foreground || check, m->verbose);
	if (hv_uri_check(m->hvd_path, err, sizeof(err)) < 0)
		fatalx("-H %s", err);
	if (!m->insecure) {
		if (!m->cert || !m->key || !m->ca)
			fatalx("peers authenticate with TLS: give --cert, --key and --ca, or a tls "
			    "statement in tandem.conf (make them with tandem-ca), or --insecure for a "
			    "test setup");
		if (tls_init(m->cert, m->key, m->ca, m->crl, err, sizeof(err)) < 0)
			fatalx("%s", err);
	} else if (!check)
		log_warnx("--insecure: peers are not authenticated and traffic is not encrypted");
	if (check) {
		printf("%s: ok: migrated on %s, peers on %s (%s), %zu hosts, hypervisor %s, %s%s\n",
		    hosts_map.path[0] ? hosts_map.path : "(no configuration file)", m->ctl_path,
		    m->listen, m->insecure ? "insecure" : "TLS", hosts_map.nhosts, m->hvd_path,
		    m->fenced ? "cluster through fenced at " : "no cluster", m->fenced ? m->fenced : "");
		exit(0);
	}
	signal(SIGPIPE, SIG_IGN);
	srand((unsigned)getpid() ^ (unsigned)mig_now());
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", migd_conf.ctl_path);
	mkdir(dirname(dir), 0755);
	if (!(migd_base = event_base_new()))
		fatalx("event_base_new failed");
	if (control_init(migd_conf.ctl_path) < 0)
		fatal("control socket %s (its directory must be writable: run migrated as root)",
		    migd_conf.ctl_path);
	if (!(migd_conf.stats = stats_new()))
		fatalx("out of memory");
	struct metrics_srv *msrv = NULL;
	if (migd_conf.metrics && !(msrv = metrics_listen(migd_base, migd_conf.metrics, stats_render,
	    migd_conf.stats, err, sizeof(err))))
		fatalx("%s", err);
	int lfd = peer_listen(migd_conf.listen);
	if (lfd < 0)
		fatal("peer listener %s (another migrated on it? -l or migrated listen= names another)",
		    migd_conf.listen);
	if (!migd_conf.foreground && daemon(0, 0) < 0)
		fatal("daemon");
	struct event *pev = event_new(migd_base, lfd, EV_READ | EV_PERSIST, on_peer, event_self_cbarg());
	struct event *s1 = evsignal_new(migd_base, SIGTERM, on_signal, NULL);
	struct event *s2 = evsignal_new(migd_base, SIGINT, on_signal, NULL);
	event_add(pev, NULL);
	event_add(s1, NULL);
	event_add(s2, NULL);
	struct event *s3 = evsignal_new(migd_base, SIGHUP, on_signal, NULL);
	event_add(s3, NULL);
	log_info("migrated listening on %s (port %u, %s), control %s, hvd %s%s%s", migd_conf.listen,
	    peer_listen_port(), migd_conf.insecure ? "insecure" : "TLS", migd_conf.ctl_path,
	    migd_conf.hvd_path, msrv ? ", metrics on " : "", msrv ? migd_conf.metrics : "");
	mig_recv_resume();
	handed_resume();
	notify("READY=1\nSTATUS=listening on %s", migd_conf.listen);
	event_base_dispatch(migd_base);
	ctlsrv_shutdown();
	metrics_close(msrv);
	event_free(pev);
	event_free(s1);
	event_free(s2);
	event_free(s3);
	event_base_free(migd_base);
	close(lfd);
	unlink(migd_conf.ctl_path);
	return 0;
}
