/*
 * hvd.c - main of hvd, Tandem's embedded KVM hypervisor.
 *
 * The parent serves the control socket (control.c) and keeps the domains
 * (domain.c); with -D it is instead the process of one domain (vm.c).
 * Signals are handled inside the event loop.  Stopping hvd (SIGTERM, SIGINT)
 * leaves its domains running (SIGHUP reads tandem.conf again): the next hvd on the same state
 * directory adopts them, so an upgrade or a crash of hvd is no VM outage.
 * One hvd per state directory and per socket: a lock on STATE/hvd.lock is
 * held for the daemon's life, and a socket some daemon answers is never
 * taken over.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/event.h>

#include "config.h"
#include "ctlsrv.h"
#include "hvd.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "reload.h"
#include "sock.h"
#include "version.h"

struct event_base *hvd_base;
static struct hvd_conf conf = { .sock_path = HVD_DEFAULT_SOCK, .state_dir = "/var/lib/tandem",
	.backing = MB_AUTO };
static struct fconf file;		/* tandem.conf as loaded, for reloads */

static void __attribute__((noreturn)) usage(FILE *out, int code)
{
	fprintf(out, "usage: hvd [-fvn] [-c config] [-s socket] [-d state_dir] [-m backing] [--control-cpu cpu]\n"
	    "  -c config     tandem.conf (default %s, if it exists): its hvd,\n"
	    "                hypervisor and control-cpu statements; options win over it\n"
	    "  -n            check the configuration and exit\n"
	    "  -s socket     control socket (default %s)\n"
	    "  -d state_dir  console logs and state (default /var/lib/tandem)\n"
	    "  -m backing    guest memory: hugetlb (2 MiB pages from the kernel's pool,\n"
	    "                vm.nr_hugepages), shmem (4 KiB pages), or auto (default:\n"
	    "                hugetlb while the pool has room, else shmem)\n"
	    "  --control-cpu cpu  the core hvd's control threads share: a CPU number,\n"
	    "                none, or auto (default: the last of its cores, when it has\n"
	    "                two); guests run on all of them\n"
	    "  --metrics addr:port  serve OpenMetrics at http://addr:port/metrics\n"
	    "  -f            stay in the foreground, log to stderr\n"
	    "  -v            verbose (debug) logging\n"
	    "  --help, --version\n"
	    "SIGTERM and SIGINT stop hvd and leave its VMs running for the next hvd;\n"
	    "SIGHUP reads the configuration again.  See hvd(8).\n", CONF_DEFAULT_PATH,
	    HVD_DEFAULT_SOCK);
	exit(code);
}

static int parse_backing(const char *s, enum mem_backing *b)
{
	if (!strcmp(s, "auto"))
		*b = MB_AUTO;
	else if (!strcmp(s, "hugetlb"))
		*b = MB_HUGETLB;
	else if (!strcmp(s, "shmem"))
		*b = MB_SHMEM;
	else
		return -1;
	return 0;
}

static void on_signal(evutil_socket_t sig, short ev, void *arg)
{
	(void)ev;
	(void)arg;
	if (sig == SIGCHLD) {
		domain_reap();
		return;
	}
	if (sig == SIGHUP) {	/* nothing applies live: socket, state and backing are hvd's for life */
		reload_config("hvd", &file, CFG_HVD | CFG_HYPERVISOR | CFG_CPU, NULL, NULL);
		return;
	}
	notify("STOPPING=1");
	log_info("signal %d: stopping; the domains run on until the next hvd adopts them", (int)sig);
	unlink(conf.sock_path);
	event_base_loopbreak(hvd_base);
}

static void mkdirs(const char *path)
{
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = 0;
			mkdir(tmp, 0755);
			*p = '/';
		}
	mkdir(tmp, 0755);
}

/* held for hvd's life (the fd stays open, close-on-exec for domain processes) */
static int lock_state_dir(void)
{
	char path[600], pid[32] = "";
	snprintf(path, sizeof(path), "%s/hvd.lock", conf.state_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		fatal("%s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t n = read(fd, pid, sizeof(pid) - 1);
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		fatalx("another hvd (pid %s) runs on the state directory %s (stop it first: "
		    "systemctl stop tandem-hvd; its VMs run on), or give this one another -d",
		    pid[0] ? pid : "?", conf.state_dir);
	}
	return fd;
}

int main(int argc, char **argv)
{
	int c, domfd = -1, check = 0;
	const char *cpu = NULL, *cfpath = NULL, *sock = NULL, *state = NULL, *backing = NULL;
	const char *metrics = NULL;
	char err[512];

	static const struct option lo[] = {
		{ "control-cpu", 1, NULL, 'P' }, { "help", 0, NULL, 'h' }, { "version", 0, NULL, 'V' },
		{ "metrics", 1, NULL, 'M' }, { NULL, 0, NULL, 0 },
	};
	while ((c = getopt_long(argc, argv, "c:ns:d:fvqD:m:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': cfpath = optarg; break;
		case 'n': check = 1; break;
		case 's': sock = optarg; break;
		case 'd': state = optarg; break;
		case 'f': conf.foreground = 1; break;
		case 'v': conf.verbose = 1; break;
		case 'q': break;
		case 'D': domfd = atoi(optarg); break;
		case 'P': cpu = optarg; break;
		case 'm': backing = optarg; break;
		case 'M': metrics = optarg; break;
		case 'h': usage(stdout, 0);
		case 'V': print_version("hvd");
		default: usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
	if (domfd < 0 && conf_load_default(&file, cfpath, err, sizeof(err)) < 0) {
		fprintf(stderr, "hvd: %s\n", err);
		exit(1);
	}
	conf.sock_path = conf_or(sock, conf_hvd_socket(&file), HVD_DEFAULT_SOCK);
	conf.state_dir = conf_or(state, file.hvd.state, "/var/lib/tandem");
	backing = conf_or(backing, file.backing, "auto");
	metrics = conf_or(metrics, file.hvd.metrics, NULL);
	if (parse_backing(backing, &conf.backing) < 0) {
		fprintf(stderr, "hvd: backing %s: auto, hugetlb or shmem\n", backing);
		exit(2);
	}
	if (file.hypervisor[0] && !conf_hvd_socket(&file) && !sock) {
		fprintf(stderr, "hvd: %s: hypervisor %s is not hvd: this host runs no hvd\n",
		    file.path, file.hypervisor);
		exit(1);
	}
	if (cpuplan_parse(&conf.cpus, conf_or(cpu, file.control_cpu, NULL), err, sizeof(err)) < 0) {
		fprintf(stderr, "hvd: %s\n", err);
		exit(2);
	}
	if (check) {
		printf("%s: ok: hvd on %s, state in %s, %s memory\n", file.path[0] ? file.path :
		    "(no configuration file)", conf.sock_path, conf.state_dir, backing);
		exit(0);
	}
	log_init("hvd", conf.foreground, conf.verbose);
	cpuplan_control(&conf.cpus);	/* the domain processes' control too */
	if (domfd >= 0)
		return vm_main(domfd, &conf);

	char dir[512];
	snprintf(dir, sizeof(dir), "%s", conf.sock_path);
	mkdirs(dirname(dir));
	mkdirs(conf.state_dir);
	int lockfd = lock_state_dir();
	int other = sock_connect(conf.sock_path);
	if (other >= 0)
		fatalx("another daemon answers on %s: not taking it over (stop it, or give this hvd "
		    "another -s or hvd socket=)", conf.sock_path);
	if (!conf.foreground && daemon(0, 0) < 0)
		fatal("daemon");
	if (ftruncate(lockfd, 0) < 0 || dprintf(lockfd, "%d\n", (int)getpid()) < 0)
		log_warn("%s/hvd.lock", conf.state_dir);
	signal(SIGPIPE, SIG_IGN);
	if (!(hvd_base = event_base_new()))
		fatalx("event_base_new failed");
	domain_init(&conf);
	if (control_init(conf.sock_path) < 0)
		fatal("control socket %s (its directory must be writable: run hvd as root)",
		    conf.sock_path);
	struct metrics_srv *msrv = NULL;
	if (metrics && !(msrv = metrics_listen(hvd_base, metrics, domain_render, NULL, err,
	    sizeof(err))))
		fatalx("%s", err);
	int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	struct event *sigev[4];
	for (size_t i = 0; i < 4; i++) {
		sigev[i] = evsignal_new(hvd_base, sigs[i], on_signal, NULL);
		event_add(sigev[i], NULL);
	}
	log_info("%s listening on %s, state in %s%s%s", HVD_VERSION, conf.sock_path, conf.state_dir,
	    file.path[0] ? ", configuration " : "", file.path);
	notify("READY=1\nSTATUS=serving %s", conf.sock_path);
	event_base_dispatch(hvd_base);
	ctlsrv_shutdown();
	metrics_close(msrv);
	for (size_t i = 0; i < 4; i++)
		event_free(sigev[i]);
	event_base_free(hvd_base);
	return 0;
}
