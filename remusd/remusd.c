/*
 * remusd.c - main of remusd, the protection daemon: one per host, next to
 * hvd.  Serves the CLI on a unix socket and peers on TCP (mutual TLS with
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

#include "config.h"
#include "ctlsrv.h"
#include "hv.h"
#include "log.h"
#include "remusd.h"
#include "tcp.h"

static void usage(void)
{
	fprintf(stderr, "usage: remusd [-fv] [-s socket] [-H hvd_socket] [-l [addr]:port] [-d dir] [-F fenced]\n"
	    "              [-c cluster.conf] [-e epoch_ms]\n"
	    "              (--cert FILE --key FILE --ca FILE [--crl FILE] | --insecure)\n"
	    "  -s socket   control socket (default %s)\n"
	    "  -H uri      the hypervisor: hvd:SOCKET (or a bare SOCKET), xen: (default %s)\n"
	    "  -l addr     peer listener (default :%d)\n"
	    "  -d dir      state directory: what each shadow holds (default /var/lib/tandem/remusd)\n"
	    "  -F socket   fenced's socket: the table records each VM's backup, and a\n"
	    "              backup resumes its shadow only once the primary is fenced;\n"
	    "              without it a shadow never resumes by itself\n"
	    "  -c file     the cluster's hosts (cluster.conf): a peer's certificate must\n"
	    "              name the host its address belongs to\n"
	    "  -e ms       the epoch of a protection that names none (default 25)\n"
	    "  --cert/--key/--ca  this host's certificate, key and the cluster CA (tandem-ca)\n"
	    "  --crl FILE  the CA's revocation list, read again when it changes\n"
	    "  --insecure  plain TCP between hosts, no authentication: for tests only\n",
	    REMUSD_DEFAULT_SOCK, HV_DEFAULT_URI, REMUSD_DEFAULT_PORT);
	exit(2);
}

static void on_signal(evutil_socket_t sig, short ev, void *arg)
{
	struct remusd *d = arg;
	(void)ev;
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(d->base);
}

struct listener {
	struct remusd *d;
	struct event *ev;
};

static void on_peer(evutil_socket_t fd, short ev, void *arg)
{
	struct listener *l = arg;
	(void)ev;
	if (rd_peer_accept(l->d, fd) < 0)
		listener_rest(l->d->base, l->ev, errno);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "cert", 1, NULL, 'C' }, { "key", 1, NULL, 'K' }, { "ca", 1, NULL, 'A' },
		{ "insecure", 0, NULL, 'I' }, { "crl", 1, NULL, 'R' }, { NULL, 0, NULL, 0 },
	};
	static struct remusd d = { .lock = PTHREAD_MUTEX_INITIALIZER, .gate = GATE_INIT };
	static struct fconf hosts;
	char err[512], port[16];
	int c;

	snprintf(port, sizeof(port), ":%d", REMUSD_DEFAULT_PORT);
	d.c = (struct rd_conf){ .ctl_path = REMUSD_DEFAULT_SOCK, .hvd_path = HV_DEFAULT_URI,
		.listen = port, .epoch_ms = 25, .state_dir = "/var/lib/tandem/remusd" };
	while ((c = getopt_long(argc, argv, "s:H:l:d:F:c:e:fvh", lo, NULL)) != -1) {
		switch (c) {
		case 's': d.c.ctl_path = optarg; break;
		case 'H': d.c.hvd_path = optarg; break;
		case 'l': d.c.listen = optarg; break;
		case 'd': d.c.state_dir = optarg; break;
		case 'F': d.c.fenced = optarg; break;
		case 'c': d.c.hosts_path = optarg; break;
		case 'e': d.c.epoch_ms = (unsigned)atoi(optarg); break;
		case 'f': d.c.foreground = 1; break;
		case 'v': d.c.verbose = 1; break;
		case 'C': d.c.cert = optarg; break;
		case 'K': d.c.key = optarg; break;
		case 'A': d.c.ca = optarg; break;
		case 'I': d.c.insecure = 1; break;
		case 'R': d.c.crl = optarg; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (d.c.epoch_ms < 5 || d.c.epoch_ms > 10000) {
		fprintf(stderr, "remusd: -e %u: an epoch is 5 to 10000 ms\n", d.c.epoch_ms);
		exit(2);
	}
	log_init("remusd", d.c.foreground, d.c.verbose);
	if (hv_uri_check(d.c.hvd_path, err, sizeof(err)) < 0)
		fatalx("-H %s", err);
	if (d.c.fenced && !d.c.hosts_path)
		fatalx("-F needs -c: the table names hosts, and a backup is one of them");
	if (d.c.hosts_path) {
		if (conf_load(&hosts, d.c.hosts_path, err, sizeof(err)) < 0)
			fatalx("%s", err);
		d.c.hosts = &hosts;
	}
	if (!d.c.insecure) {
		if (!d.c.cert || !d.c.key || !d.c.ca)
			fatalx("peers authenticate with TLS: give --cert, --key and --ca "
			    "(make them with tandem-ca), or --insecure for a test setup");
		if (tls_init(d.c.cert, d.c.key, d.c.ca, d.c.crl, err, sizeof(err)) < 0)
			fatalx("%s", err);
	} else
		log_warnx("--insecure: peers are not authenticated and traffic is not encrypted");
	signal(SIGPIPE, SIG_IGN);
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", d.c.ctl_path);
	mkdir(dirname(dir), 0755);
	if (mkdir(d.c.state_dir, 0700) < 0 && errno != EEXIST)
		fatal("state directory %s", d.c.state_dir);
	rd_recover(&d);
	if (!(d.base = event_base_new()))
		fatalx("event_base_new failed");
	if (rd_control_init(&d) < 0)
		fatal("control socket %s", d.c.ctl_path);
	int lfd = peer_listen(d.c.listen);
	if (lfd < 0)
		fatal("peer listener %s", d.c.listen);
	if (!d.c.foreground && daemon(0, 0) < 0)
		fatal("daemon");
	struct listener l = { &d, NULL };
	l.ev = event_new(d.base, lfd, EV_READ | EV_PERSIST, on_peer, &l);
	struct event *s1 = evsignal_new(d.base, SIGTERM, on_signal, &d);
	struct event *s2 = evsignal_new(d.base, SIGINT, on_signal, &d);
	event_add(l.ev, NULL);
	event_add(s1, NULL);
	event_add(s2, NULL);
	log_info("remusd listening on %s (port %u, %s), control %s, hvd %s%s%s", d.c.listen,
	    peer_listen_port(), d.c.insecure ? "insecure" : "TLS", d.c.ctl_path, d.c.hvd_path,
	    d.c.fenced ? ", fenced " : ", no cluster", d.c.fenced ? d.c.fenced : "");
	event_base_dispatch(d.base);
	ctlsrv_shutdown();
	event_free(l.ev);
	event_free(s1);
	event_free(s2);
	event_base_free(d.base);
	close(lfd);
	unlink(d.c.ctl_path);
	return 0;
}
