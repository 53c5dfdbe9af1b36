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
#include "migrated.h"
#include "tls.h"
#include "config.h"

struct event_base *migd_base;
struct migd_conf migd_conf = { .ctl_path = MIGRATED_DEFAULT_SOCK, .hvd_path = HV_DEFAULT_URI,
	.listen = ":7447", .state_dir = "/var/lib/tandem" };
static struct fconf hosts_map;

static void usage(void)
{
	fprintf(stderr, "usage: migrated [-fv] [-s socket] [-H hvd_socket] [-l [addr]:port] [-d dir] [-F fenced]\n"
	    "                [-c cluster.conf] (--cert FILE --key FILE --ca FILE [--crl FILE] | --insecure)\n"
	    "                [--control-cpu cpu]\n"
	    "  -s socket   control socket (default %s)\n"
	    "  -H uri      the hypervisor: hvd:SOCKET (or a bare SOCKET), xen: (default %s)\n"
	    "  -l addr     peer listener (default :%d)\n"
	    "  -d dir      state directory (the journal of incoming migrations)\n"
	    "  -F socket   fenced's socket: every migration goes through the cluster's\n"
	    "              ownership table (begin, commit, resolve)\n"
	    "  -c file     the cluster's hosts (cluster.conf): a peer's certificate must\n"
	    "              name the host its address belongs to\n"
	    "  --cert/--key/--ca  this host's certificate, key and the cluster CA (tandem-ca)\n"
	    "  --crl FILE  the CA's revocation list (tandem-ca revoke), read again when it changes\n"
	    "  --insecure  plain TCP between hosts, no authentication: for tests only\n"
	    "  --control-cpu cpu  the core a migration runs on while its VM is paused,\n"
	    "              shared with hvd's control: a CPU number, none, or auto (the\n"
	    "              default: the last of its cores, when it has two)\n",
	    MIGRATED_DEFAULT_SOCK, HV_DEFAULT_URI, MIGRATED_DEFAULT_PORT);
	exit(2);
}

static void on_signal(evutil_socket_t sig, short ev, void *arg)
{
	(void)ev;
	(void)arg;
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
		{ NULL, 0, NULL, 0 },
	};
	int c;
	const char *cpu = NULL;
	char err[512];

	while ((c = getopt_long(argc, argv, "s:H:l:d:F:c:fvh", lo, NULL)) != -1) {
		switch (c) {
		case 's': migd_conf.ctl_path = optarg; break;
		case 'H': migd_conf.hvd_path = optarg; break;
		case 'l': migd_conf.listen = optarg; break;
		case 'd': migd_conf.state_dir = optarg; break;
		case 'F': migd_conf.fenced = optarg; break;
		case 'f': migd_conf.foreground = 1; break;
		case 'v': migd_conf.verbose = 1; break;
		case 'C': migd_conf.cert = optarg; break;
		case 'K': migd_conf.key = optarg; break;
		case 'A': migd_conf.ca = optarg; break;
		case 'I': migd_conf.insecure = 1; break;
		case 'R': migd_conf.crl = optarg; break;
		case 'c': migd_conf.hosts_path = optarg; break;
		case 'P': cpu = optarg; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (cpuplan_parse(&migd_conf.cpus, cpu, err, sizeof(err)) < 0) {
		fprintf(stderr, "migrated: %s\n", err);
		exit(2);
	}
	log_init("migrated", migd_conf.foreground, migd_conf.verbose);
	if (hv_uri_check(migd_conf.hvd_path, err, sizeof(err)) < 0)
		fatalx("-H %s", err);
	if (migd_conf.hosts_path) {
		if (conf_load(&hosts_map, migd_conf.hosts_path, err, sizeof(err)) < 0)
			fatalx("%s", err);
		migd_conf.hosts = &hosts_map;
	}
	if (!migd_conf.insecure) {
		if (!migd_conf.cert || !migd_conf.key || !migd_conf.ca)
			fatalx("peers authenticate with TLS: give --cert, --key and --ca "
			    "(make them with tandem-ca), or --insecure for a test setup");
		if (tls_init(migd_conf.cert, migd_conf.key, migd_conf.ca, migd_conf.crl, err,
		    sizeof(err)) < 0)
			fatalx("%s", err);
	} else
		log_warnx("--insecure: peers are not authenticated and traffic is not encrypted");
	signal(SIGPIPE, SIG_IGN);
	srand((unsigned)getpid() ^ (unsigned)mig_now());
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", migd_conf.ctl_path);
	mkdir(dirname(dir), 0755);
	if (!(migd_base = event_base_new()))
		fatalx("event_base_new failed");
	if (control_init(migd_conf.ctl_path) < 0)
		fatal("control socket %s", migd_conf.ctl_path);
	int lfd = peer_listen(migd_conf.listen);
	if (lfd < 0)
		fatal("peer listener %s", migd_conf.listen);
	if (!migd_conf.foreground && daemon(0, 0) < 0)
		fatal("daemon");
	struct event *pev = event_new(migd_base, lfd, EV_READ | EV_PERSIST, on_peer, event_self_cbarg());
	struct event *s1 = evsignal_new(migd_base, SIGTERM, on_signal, NULL);
	struct event *s2 = evsignal_new(migd_base, SIGINT, on_signal, NULL);
	event_add(pev, NULL);
	event_add(s1, NULL);
	event_add(s2, NULL);
	log_info("migrated listening on %s (port %u, %s), control %s, hvd %s", migd_conf.listen,
	    peer_listen_port(), migd_conf.insecure ? "insecure" : "TLS", migd_conf.ctl_path,
	    migd_conf.hvd_path);
	mig_recv_resume();
	handed_resume();
	event_base_dispatch(migd_base);
	ctlsrv_shutdown();
	event_free(pev);
	event_free(s1);
	event_free(s2);
	event_base_free(migd_base);
	close(lfd);
	unlink(migd_conf.ctl_path);
	return 0;
}
