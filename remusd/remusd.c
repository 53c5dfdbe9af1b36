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
#include "fencectl.h"
#include "hv.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "reload.h"
#include "remusd.h"
#include "tcp.h"
#include "version.h"

static void __attribute__((noreturn)) usage(FILE *out, int code)
{
	fprintf(out, "usage: remusd [-fvn] [-c config] [-s socket] [-H hypervisor] [-l [addr]:port] [-d dir]\n"
	    "              [-F fenced] [-e epoch_ms]\n"
	    "              (--cert FILE --key FILE --ca FILE [--crl FILE] | --insecure)\n"
	    "  -c config   tandem.conf (default %s, if it exists): the cluster's\n"
	    "              hosts (a peer's certificate must name the host its address\n"
	    "              belongs to), tls, hypervisor and the remusd statement;\n"
	    "              options win over it\n"
	    "  -n          check the configuration and exit\n"
	    "  -s socket   control socket (default %s)\n"
	    "  -H uri      the hypervisor: hvd:SOCKET (or a bare SOCKET), xen: (default %s)\n"
	    "  -l addr     peer listener (default :%d)\n"
	    "  -d dir      state directory: what each shadow holds (default /var/lib/tandem/remusd)\n"
	    "  -F socket   fenced's socket (none: no cluster): the table records each VM's backup, and a\n"
	    "              backup resumes its shadow only once the primary is fenced;\n"
	    "              without it a shadow never resumes by itself\n"
	    "  -e ms       the epoch of a protection that names none (default 25)\n"
	    "  --cert/--key/--ca  this host's certificate, key and the cluster CA (tandem-ca)\n"
	    "  --crl FILE  the CA's revocation list, read again when it changes\n"
	    "  --insecure  plain TCP between hosts, no authentication: for tests only\n"
	    "  --metrics addr:port  serve OpenMetrics at http://addr:port/metrics\n"
	    "  -f          stay in the foreground, log to stderr;  -v  debug logging\n"
	    "  --help, --version\n"
	    "SIGHUP reads the configuration again.  See remusd(8).\n",
	    CONF_DEFAULT_PATH, REMUSD_DEFAULT_SOCK, HV_DEFAULT_URI, REMUSD_DEFAULT_PORT);
	exit(code);
}

static int epoch_flag;		/* -e given: it wins over the file */

/* SIGHUP: the default epoch of protections asked from now on (read by
 * control.c, on this loop); the rest is read by protections' threads */
static unsigned apply_epoch(void *arg, struct fconf *run, const struct fconf *fresh, char *detail,
    size_t len)
{
	struct remusd *d = arg;
	if (!fresh->epoch_ms || fresh->epoch_ms == run->epoch_ms || epoch_flag)
		return 0;
	d->c.epoch_ms = run->epoch_ms = fresh->epoch_ms;
	snprintf(detail, len, " (the default epoch is now %u ms, for protections asked from now on)",
	    fresh->epoch_ms);
	return CFG_REMUSD;
}

static struct fconf hosts;

static void on_signal(evutil_socket_t sig, short ev, void *arg)
{
	struct remusd *d = arg;
	(void)ev;
	if (sig == SIGHUP) {
		reload_config("remusd", &hosts, CFG_HOSTS | CFG_TLS | CFG_HYPERVISOR | CFG_REMUSD,
		    apply_epoch, d);
		return;
	}
	notify("STOPPING=1");
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
		{ "insecure", 0, NULL, 'I' }, { "crl", 1, NULL, 'R' }, { "help", 0, NULL, 'h' },
		{ "version", 0, NULL, 'V' }, { "metrics", 1, NULL, 'M' }, { NULL, 0, NULL, 0 },
	};
	static struct remusd d = { .lock = PTHREAD_MUTEX_INITIALIZER, .gate = GATE_INIT };
	const char *metrics = NULL, *cfpath = NULL, *ctl = NULL, *hv = NULL, *listen = NULL, *state = NULL;
	char err[512], port[16], uri[300];
	int c, check = 0, epoch = 0;

	snprintf(port, sizeof(port), ":%d", REMUSD_DEFAULT_PORT);
	while ((c = getopt_long(argc, argv, "s:H:l:d:F:c:e:nfvh", lo, NULL)) != -1) {
		switch (c) {
		case 's': ctl = optarg; break;
		case 'H': hv = optarg; break;
		case 'l': listen = optarg; break;
		case 'd': state = optarg; break;
		case 'F': d.c.fenced = optarg; break;
		case 'c': cfpath = optarg; break;
		case 'e': epoch = atoi(optarg); break;
		case 'n': check = 1; break;
		case 'f': d.c.foreground = 1; break;
		case 'v': d.c.verbose = 1; break;
		case 'C': d.c.cert = optarg; break;
		case 'K': d.c.key = optarg; break;
		case 'A': d.c.ca = optarg; break;
		case 'I': d.c.insecure = 1; break;
		case 'R': d.c.crl = optarg; break;
		case 'M': metrics = optarg; break;
		case 'h': usage(stdout, 0);
		case 'V': print_version("remusd");
		default: usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
	if (conf_load_default(&hosts, cfpath, err, sizeof(err)) < 0) {
		fprintf(stderr, "remusd: %s\n", err);
		exit(1);
	}
	d.c.ctl_path = conf_or(ctl, hosts.remusd.socket, REMUSD_DEFAULT_SOCK);
	d.c.hvd_path = conf_or(hv, conf_hv_uri(&hosts, uri, sizeof(uri)), HV_DEFAULT_URI);
	d.c.listen = conf_or(listen, hosts.remusd.listen, port);
	d.c.state_dir = conf_or(state, hosts.remusd.state, "/var/lib/tandem/remusd");
	d.c.metrics = conf_or(metrics, hosts.remusd.metrics, NULL);
	d.c.fenced = conf_or(d.c.fenced, conf_fenced_socket(&hosts, FENCED_DEFAULT_SOCK), NULL);
	if (d.c.fenced && !strcmp(d.c.fenced, "none"))	/* -F none: no cluster, whatever the file says */
		d.c.fenced = NULL;
	epoch_flag = epoch != 0;
	d.c.epoch_ms = epoch ? (unsigned)epoch : hosts.epoch_ms ? hosts.epoch_ms : 25;
	struct cf_tls_use tls = { d.c.cert, d.c.key, d.c.ca, d.c.crl, d.c.insecure };
	conf_tls(&hosts, &tls);
	d.c.cert = tls.cert, d.c.key = tls.key, d.c.ca = tls.ca, d.c.crl = tls.crl;
	d.c.insecure = tls.insecure;
	if (epoch && (epoch < 5 || epoch > 10000)) {
		fprintf(stderr, "remusd: -e %d: an epoch is 5 to 10000 ms\n", epoch);
		exit(2);
	}
	log_init("remusd", d.c.foreground || check, d.c.verbose);
	if (hv_uri_check(d.c.hvd_path, err, sizeof(err)) < 0)
		fatalx("-H %s", err);
	if (hosts.nhosts) {
		d.c.hosts_path = hosts.path;
		d.c.hosts = &hosts;
	}
	if (d.c.fenced && !d.c.hosts)
		fatalx("-F needs the cluster's hosts (-c tandem.conf with host lines): the table "
		    "names hosts, and a backup is one of them");
	if (!d.c.insecure) {
		if (!d.c.cert || !d.c.key || !d.c.ca)
			fatalx("peers authenticate with TLS: give --cert, --key and --ca, or a tls "
			    "statement in tandem.conf (make them with tandem-ca), or --insecure for a "
			    "test setup");
		if (tls_init(d.c.cert, d.c.key, d.c.ca, d.c.crl, err, sizeof(err)) < 0)
			fatalx("%s", err);
	} else if (!check)
		log_warnx("--insecure: peers are not authenticated and traffic is not encrypted");
	if (check) {
		printf("%s: ok: remusd on %s, peers on %s (%s), %zu hosts, epoch %u ms, hypervisor %s, "
		    "%s%s\n", hosts.path[0] ? hosts.path : "(no configuration file)", d.c.ctl_path,
		    d.c.listen, d.c.insecure ? "insecure" : "TLS", hosts.nhosts, d.c.epoch_ms, d.c.hvd_path,
		    d.c.fenced ? "cluster through fenced at " : "no cluster", d.c.fenced ? d.c.fenced : "");
		exit(0);
	}
	signal(SIGPIPE, SIG_IGN);
	char dir[512];
	snprintf(dir, sizeof(dir), "%s", d.c.ctl_path);
	mkdir(dirname(dir), 0755);
	if (mkdir(d.c.state_dir, 0700) < 0 && errno != EEXIST)
		fatal("state directory %s (-d or remusd state= names another)", d.c.state_dir);
	if (!(d.stats = rd_stats_new()))
		fatalx("out of memory");
	rd_recover(&d);
	if (!(d.base = event_base_new()))
		fatalx("event_base_new failed");
	if (rd_control_init(&d) < 0)
		fatal("control socket %s (its directory must be writable: run remusd as root)",
		    d.c.ctl_path);
	struct metrics_srv *msrv = NULL;
	if (d.c.metrics && !(msrv = metrics_listen(d.base, d.c.metrics, rd_stats_render, &d, err,
	    sizeof(err))))
		fatalx("%s", err);
	int lfd = peer_listen(d.c.listen);
	if (lfd < 0)
		fatal("peer listener %s (another remusd on it? -l or remusd listen= names another)",
		    d.c.listen);
	if (!d.c.foreground && daemon(0, 0) < 0)
		fatal("daemon");
	struct listener l = { &d, NULL };
	l.ev = event_new(d.base, lfd, EV_READ | EV_PERSIST, on_peer, &l);
	struct event *s1 = evsignal_new(d.base, SIGTERM, on_signal, &d);
	struct event *s2 = evsignal_new(d.base, SIGINT, on_signal, &d);
	event_add(l.ev, NULL);
	event_add(s1, NULL);
	event_add(s2, NULL);
	struct event *s3 = evsignal_new(d.base, SIGHUP, on_signal, &d);
	event_add(s3, NULL);
	notify("READY=1\nSTATUS=listening on %s", d.c.listen);
	log_info("remusd listening on %s (port %u, %s), control %s, hvd %s%s%s", d.c.listen,
	    peer_listen_port(), d.c.insecure ? "insecure" : "TLS", d.c.ctl_path, d.c.hvd_path,
	    d.c.fenced ? ", fenced " : ", no cluster", d.c.fenced ? d.c.fenced : "");
	event_base_dispatch(d.base);
	ctlsrv_shutdown();
	metrics_close(msrv);
	event_free(l.ev);
	event_free(s1);
	event_free(s2);
	event_free(s3);
	event_base_free(d.base);
	close(lfd);
	unlink(d.c.ctl_path);
	return 0;
}
