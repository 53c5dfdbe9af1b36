/*
 * domain.c - hvd's registry of domains and the relay to their processes.
 *
 * Creating a domain forks and execs a domain process (vm.c) with one end of
 * a socketpair; every later request for that domain is forwarded to it with
 * a fresh seq, and its reply (with any fds) goes back to the client that
 * asked.  Destroy is SIGKILL to that process, by PID, and a reap.  A domain
 * process that dies on its own is logged and its pending requests fail.
 * Domain processes outlive hvd: at start hvd adopts those a previous hvd
 * left running (attach.c), with their state; a pause or an incoming domain
 * whose client went with the old hvd is undone as for any client that left.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <event2/event.h>

#include "ctlsrv.h"
#include "hvd.h"
#include "log.h"
#include "metrics.h"
#include "sock.h"

struct pending {
	uint32_t seq, cseq;
	uint16_t type;
	int lease;
	struct ctlsrv_client *c;
	TAILQ_ENTRY(pending) entry;
};

struct domain {
	char name[HV_NAME_MAX + 1];
	pid_t pid;
	int fd, ready;
	int adopted;			/* found running at start: not our child */
	uint32_t seq;
	struct ctlsrv_client *lease;	/* paused for this client; resumed if it goes away */
	struct ctlsrv_client *creator;	/* incoming, leased: destroyed if it goes away */
	struct event *ev;
	TAILQ_HEAD(, pending) pending;
	TAILQ_ENTRY(domain) entry;
};

static void domain_resume_orphan(struct domain *d);
static void domain_forward(struct domain *d, struct ctlsrv_client *c, const struct msg_in *m,
    const uint8_t *buf, size_t len);

extern struct event_base *hvd_base;
static TAILQ_HEAD(, domain) domains = TAILQ_HEAD_INITIALIZER(domains);
static const struct hvd_conf *dconf;
static int ledger_fd = -1;

static struct domain *domain_add(const char *name, pid_t pid, int fd);
static void domain_ask(struct domain *d, uint16_t type, uint16_t attr, uint32_t val);

/* At start: every domain a previous hvd left running, from STATE/dom. */
static void domain_adopt_all(void)
{
	char dir[600];
	snprintf(dir, sizeof(dir), "%s/%s", dconf->state_dir, DOM_DIR);
	DIR *dh = opendir(dir);
	struct dirent *e;
	if (!dh)
		return;
	while ((e = readdir(dh))) {
		size_t n = strlen(e->d_name);
		char name[HV_NAME_MAX + 1], sockp[700], pidp[700];
		if (n < 6 || n - 5 > HV_NAME_MAX || strcmp(e->d_name + n - 5, ".sock"))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 5), e->d_name);
		attach_paths(dconf->state_dir, name, sockp, pidp, sizeof(sockp));
		int fd = sock_connect(sockp);
		struct ucred cr;
		socklen_t cl = sizeof(cr);
		if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 || cr.pid <= 0) {
			log_warnx("domain %s: its process is gone (%s): it ended while no hvd ran",
			    name, strerror(errno));
			if (fd >= 0)
				close(fd);
			ledger_note(ledger_fd, "stop", name, 0, "found gone at hvd start");
			attach_forget(dconf->state_dir, name);
			continue;
		}
		struct domain *d = domain_add(name, cr.pid, fd);
		if (!d) {
			close(fd);
			continue;
		}
		d->adopted = 1;
		domain_ask(d, HV_DOM_INFO, 0, 0);
	}
	closedir(dh);
}

void domain_init(const struct hvd_conf *conf)
{
	dconf = conf;
	ledger_fd = ledger_open(conf->state_dir);
	domain_adopt_all();
}

/* the OpenMetrics endpoint's text (metrics_render_fn) */
void domain_render(struct mtext *t, void *arg)
{
	const struct domain *d;
	unsigned n = 0, adopted = 0, leased = 0, incoming = 0;
	(void)arg;
	TAILQ_FOREACH(d, &domains, entry) {
		n++;
		adopted += d->adopted != 0;
		leased += d->lease != NULL;
		incoming += d->creator != NULL;
	}
	mt_family(t, "tandem_hvd_domains", "gauge", NULL, "Domains this hvd runs.");
	mt_sample(t, "tandem_hvd_domains", "", n);
	mt_family(t, "tandem_hvd_domains_adopted", "gauge", NULL,
	    "Of them, adopted from an earlier hvd.");
	mt_sample(t, "tandem_hvd_domains_adopted", "", adopted);
	mt_family(t, "tandem_hvd_domains_leased", "gauge", NULL,
	    "Of them, paused under a migration's lease.");
	mt_sample(t, "tandem_hvd_domains_leased", "", leased);
	mt_family(t, "tandem_hvd_domains_incoming", "gauge", NULL,
	    "Of them, incoming copies not yet committed.");
	mt_sample(t, "tandem_hvd_domains_incoming", "", incoming);
}

static struct domain *domain_find(const char *name)
{
	struct domain *d;
	TAILQ_FOREACH(d, &domains, entry)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

static int name_valid(const char *n)
{
	size_t len = strlen(n);
	if (len < 1 || len > HV_NAME_MAX || n[0] == '.' || n[0] == '-')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!(n[i] >= 'a' && n[i] <= 'z') && !(n[i] >= 'A' && n[i] <= 'Z') &&
		    !(n[i] >= '0' && n[i] <= '9') && n[i] != '-' && n[i] != '_' && n[i] != '.')
			return 0;
	return 1;
}

/* Fails the pending requests and forgets the domain; the process is gone
 * (reaped), so whatever it ran has stopped: the ledger says so. */
static void domain_remove(struct domain *d, const char *why)
{
	struct pending *p;

	ledger_note(ledger_fd, "stop", d->name, d->pid, why);
	attach_forget(dconf->state_dir, d->name);
	while ((p = TAILQ_FIRST(&d->pending))) {
		if (p->c)
			ctlsrv_error(p->c, p->cseq, EIO, "domain %s: %s", d->name, why);
		TAILQ_REMOVE(&d->pending, p, entry);
		free(p);
	}
	TAILQ_REMOVE(&domains, d, entry);
	event_free(d->ev);
	close(d->fd);
	free(d);
}

/* an adopted process (not our child) has ended: gone, or a zombie of its new parent */
static int gone(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'Z';
}

/* Kills (a no-op when already dead) and reaps, or for an adopted process
 * waits until it is gone; returns the wait status. */
static int domain_kill(struct domain *d)
{
	int st = 0;
	kill(d->pid, SIGKILL);
	if (d->adopted) {
		for (int i = 0; i < 5000 && !gone(d->pid); i++)
			usleep(1000);
		return W_EXITCODE(0, SIGKILL);
	}
	while (waitpid(d->pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

/*
 * Released copies being torn down (idle priority, not yet reaped): their
 * guest memory is free only once they are gone, so a new domain waits for
 * them first (a hugetlb guest migrating back would find the pool short
 * and fall back to shmem).  An adopted process, not hvd's child, and any
 * beyond DYING_MAX are waited for at once, as before.
 */
#define DYING_MAX 16
static pid_t dying[DYING_MAX];
static int ndying;

static void dying_add(struct domain *d)
{
	/* its teardown must not take the cores from anyone (the VM resumed
	 * on a host that shares them, its neighbours here) */
	cpuplan_idle_process(&dconf->cpus, d->pid);
	if (d->adopted || ndying == DYING_MAX) {
		domain_kill(d);
		return;
	}
	kill(d->pid, SIGKILL);
	dying[ndying++] = d->pid;
}

static void dying_forget(pid_t pid)
{
	for (int i = 0; i < ndying; i++)
		if (dying[i] == pid) {
			dying[i] = dying[--ndying];
			return;
		}
}

static void dying_wait(void)
{
	for (int i = 0; i < ndying; i++)
		while (waitpid(dying[i], NULL, 0) < 0 && errno == EINTR)
			;
	ndying = 0;
}

/* A domain process that ended on its own: say how, then forget it. */
static void domain_died(struct domain *d, int st)
{
	if (WIFSIGNALED(st))
		log_warnx("domain %s: process %d killed by signal %d", d->name, (int)d->pid,
		    WTERMSIG(st));
	else
		log_warnx("domain %s: process %d exited with %d", d->name, (int)d->pid,
		    WEXITSTATUS(st));
	domain_remove(d, "domain process died");
}

/*
 * The answer to the DOMAIN_INFO an adopting hvd asks first: the domain is
 * ours from now on.  Its pause lease or its creator's went with the old
 * hvd's clients: resume it, or destroy the unkept incoming copy, exactly as
 * when such a client leaves.
 */
static void domain_adopted(struct domain *d, const uint8_t *buf, size_t len, int failed)
{
	struct msg_in m;
	char err[256];
	if (failed || msg_parse(&hvctl_schema, buf, len, &m, err, sizeof(err)) < 0) {
		log_warnx("domain %s: process %d does not answer as a domain: killing it", d->name,
		    (int)d->pid);
		domain_kill(d);
		domain_remove(d, "not adoptable");
		return;
	}
	d->ready = 1;
	uint32_t lease = msg_u32(&m, HA_LEASE);
	log_info("domain %s: adopted: process %d, %s%s", d->name, (int)d->pid,
	    dom_state_name(msg_u32(&m, HA_STATE)), lease == HL_PAUSED ? ", paused under a lease" :
	    lease == HL_INCOMING ? ", incoming and not kept" : "");
	if (lease == HL_PAUSED)
		domain_resume_orphan(d);
	else if (lease == HL_INCOMING) {
		log_warnx("domain %s: incoming, and its creator left with the old hvd: destroyed",
		    d->name);
		domain_kill(d);
		domain_remove(d, "creator left");
	}
}

static void domain_read(evutil_socket_t fd, short ev, void *arg)
{
	static uint8_t buf[MSG_MAX];
	struct domain *d = arg;
	int fds[SOCK_MAXFDS], nfds = SOCK_MAXFDS;

	(void)fd;
	(void)ev;
	ssize_t len = sock_recv(d->fd, buf, sizeof(buf), fds, &nfds);
	if (len <= 0) {
		domain_died(d, domain_kill(d));
		return;
	}
	struct pending *p = TAILQ_FIRST(&d->pending);
	if (!p || msg_peek_seq(buf, (size_t)len) != p->seq) {
		log_warnx("domain %s: unexpected reply, dropped", d->name);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return;
	}
	TAILQ_REMOVE(&d->pending, p, entry);
	int failed = len >= MSG_HDR_LEN && buf[2] == HV_ERR;
	msg_set_seq(buf, p->cseq);
	if (!failed && p->type == HV_DOM_PAUSE && p->lease)
		d->lease = p->c;
	int orphan = !failed && p->type == HV_DOM_PAUSE && p->lease && !p->c;
	int orphan_in = !failed && p->type == HV_DOM_CREATE_INCOMING && p->lease && !p->c;
	if (!failed && (p->type == HV_DOM_UNPAUSE || p->type == HV_DOM_HANDOVER))
		d->lease = NULL;
	if (!failed && p->type == HV_DOM_CREATE_INCOMING && p->lease)
		d->creator = p->c;
	if (!failed && (p->type == HV_DOM_UNPAUSE || p->type == HV_DOM_KEEP))
		d->creator = NULL;
	if (p->c)
		ctlsrv_reply(p->c, buf, (size_t)len, fds, nfds);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (p->type == HV_DOM_CREATE || p->type == HV_DOM_CREATE_INCOMING) {
		if (failed) {
			log_warnx("domain %s: create failed", d->name);
			domain_kill(d);
			free(p);
			domain_remove(d, "create failed");
			return;
		}
		d->ready = 1;
		log_info("domain %s: created, process %d", d->name, (int)d->pid);
	}
	if (d->adopted && !d->ready && p->type == HV_DOM_INFO) {
		free(p);
		domain_adopted(d, buf, (size_t)len, failed);
		return;
	}
	int released = !failed && p->type == HV_DOM_RELEASE;
	free(p);
	if (released) {
		log_info("domain %s: released: the migration's destination runs it", d->name);
		dying_add(d);	/* it can never run again; reaped when gone */
		domain_remove(d, "released");
		return;
	}
	if (orphan)
		domain_resume_orphan(d);
	else if (orphan_in) {
		log_warnx("domain %s: incoming, and its creator left before keeping it: destroyed", d->name);
		domain_kill(d);
		domain_remove(d, "creator left");
	}
}

/* a domain served on fd by process pid */
static struct domain *domain_add(const char *name, pid_t pid, int fd)
{
	struct domain *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->pid = pid;
	d->fd = fd;
	TAILQ_INIT(&d->pending);
	d->ev = event_new(hvd_base, d->fd, EV_READ | EV_PERSIST, domain_read, d);
	event_add(d->ev, NULL);
	TAILQ_INSERT_TAIL(&domains, d, entry);
	return d;
}

static struct domain *domain_spawn(const char *name)
{
	int sv[2];

	dying_wait();
	if (sock_pair(sv) < 0)
		return NULL;
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return NULL;
	}
	if (pid == 0) {
		char fdstr[16], cpu[16];
		fcntl(sv[1], F_SETFD, 0);
		snprintf(fdstr, sizeof(fdstr), "%d", sv[1]);
		cpuplan_arg(&dconf->cpus, cpu, sizeof(cpu));
		cpuplan_ordinary(&dconf->cpus);	/* it plans from the daemon's own cores */
		static const char *const backing[] = { "auto", "hugetlb", "shmem" };
		execl("/proc/self/exe", "hvd", "-D", fdstr, "-d", dconf->state_dir,
		    "--control-cpu", cpu,
		    "-m", backing[dconf->backing], dconf->foreground ? "-f" : "-q",
		    dconf->verbose ? "-v" : "-q", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	struct domain *d = domain_add(name, pid, sv[0]);
	if (!d) {
		close(sv[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return d;
}

static void domain_forward(struct domain *d, struct ctlsrv_client *c, const struct msg_in *m,
    const uint8_t *buf, size_t len)
{
	static uint8_t copy[MSG_MAX];
	struct pending *p = calloc(1, sizeof(*p));

	if (!p) {
		if (c)
			ctlsrv_error(c, m->seq, ENOMEM, "out of memory");
		return;
	}
	memcpy(copy, buf, len);
	p->seq = ++d->seq;
	p->cseq = m->seq;
	p->type = m->type;
	p->lease = (m->type == HV_DOM_PAUSE || m->type == HV_DOM_CREATE_INCOMING) &&
	    msg_u32(m, HA_LEASE);
	p->c = c;
	msg_set_seq(copy, p->seq);
	if (sock_send(d->fd, copy, len, NULL, 0) < 0) {
		if (c)
			ctlsrv_error(c, m->seq, errno, "domain %s: %s", d->name, strerror(errno));
		free(p);
		return;
	}
	TAILQ_INSERT_TAIL(&d->pending, p, entry);
}

static void reply_ok(struct ctlsrv_client *c, uint32_t seq)
{
	struct msg_out o;
	msg_begin(&o, HV_OK, seq);
	if (msg_end(&o) == 0)
		ctlsrv_reply(c, o.buf, o.len, NULL, 0);
	msg_free(&o);
}

static void domain_list(struct ctlsrv_client *c, uint32_t seq)
{
	struct msg_out o;
	struct domain *d;

	msg_begin(&o, HV_OK, seq);
	TAILQ_FOREACH(d, &domains, entry)
		if (d->ready)
			msg_add_str(&o, HA_NAME, d->name);
	if (msg_end(&o) == 0)
		ctlsrv_reply(c, o.buf, o.len, NULL, 0);
	msg_free(&o);
}

void domain_request(struct ctlsrv_client *c, const struct msg_in *m, const uint8_t *buf, size_t len)
{
	char name[HV_NAME_MAX + 2];
	struct domain *d;

	if (m->type == HV_DOM_LIST) {
		domain_list(c, m->seq);
		return;
	}
	msg_str(m, HA_NAME, name, sizeof(name));
	if (!name_valid(name)) {
		ctlsrv_error(c, m->seq, EINVAL, "bad domain name '%s': use 1-%d of [A-Za-z0-9._-]",
		    name, HV_NAME_MAX);
		return;
	}
	d = domain_find(name);
	if (m->type == HV_DOM_CREATE || m->type == HV_DOM_CREATE_INCOMING) {
		if (d) {
			ctlsrv_error(c, m->seq, EEXIST, "domain %s already exists", name);
			return;
		}
		if (!(d = domain_spawn(name))) {
			ctlsrv_error(c, m->seq, errno, "spawning domain process: %s", strerror(errno));
			return;
		}
		log_info("domain %s: creating (process %d)", name, (int)d->pid);
		domain_forward(d, c, m, buf, len);
		return;
	}
	if (!d || !d->ready) {
		ctlsrv_error(c, m->seq, ENOENT, "no domain named %s", name);
		return;
	}
	if (m->type == HV_DOM_KEEP)	/* the domain forgets its lease too: see domain_read */
		log_info("domain %s: kept (no longer destroyed with its creator)", name);
	if (m->type == HV_DOM_DESTROY) {
		domain_kill(d);
		domain_remove(d, "destroyed");
		log_info("domain %s: destroyed", name);
		reply_ok(c, m->seq);
		return;
	}
	domain_forward(d, c, m, buf, len);
}

/* hvd's own request to d, with at most one u32 attribute; no client waits */
static void domain_ask(struct domain *d, uint16_t type, uint16_t attr, uint32_t val)
{
	struct msg_out o;
	struct msg_in m;
	char err[256];
	msg_begin(&o, type, 0);
	msg_add_str(&o, HA_NAME, d->name);
	if (attr)
		msg_add_u32(&o, attr, val);
	if (msg_end(&o) == 0 && msg_parse(&hvctl_schema, o.buf, o.len, &m, err, sizeof(err)) == 0)
		domain_forward(d, NULL, &m, o.buf, o.len);
	msg_free(&o);
}

/* Undoes a leased pause whose client is gone: log-dirty off, throttle off, run. */
static void domain_resume_orphan(struct domain *d)
{
	d->lease = NULL;
	log_warnx("domain %s: the client that paused it left before the hand-over: "
	    "resuming it", d->name);
	domain_ask(d, HV_LOGDIRTY, HA_ENABLE, 0);
	domain_ask(d, HV_THROTTLE, HA_SHARE, 0);
	domain_ask(d, HV_DOM_UNPAUSE, 0, 0);
}

/*
 * A client went away.  A domain it paused under a lease (a migration that
 * had not reached its hand-over) runs again: a dead migrated must not leave
 * a VM paused on no host.
 */
void domain_client_gone(struct ctlsrv_client *c)
{
	struct domain *d, *t;
	struct pending *p;
	for (d = TAILQ_FIRST(&domains); d; d = t) {
		t = TAILQ_NEXT(d, entry);
		TAILQ_FOREACH(p, &d->pending, entry)
			if (p->c == c)
				p->c = NULL;
		if (d->lease == c)
			domain_resume_orphan(d);
		if (d->creator == c) {
			log_warnx("domain %s: incoming, and its creator left before keeping it: "
			    "destroyed", d->name);
			domain_kill(d);
			domain_remove(d, "creator left");
		}
	}
}

/* SIGCHLD: reap; a domain whose process died on its own is removed. */
void domain_reap(void)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct domain *d;
		TAILQ_FOREACH(d, &domains, entry)
			if (d->pid == pid)
				break;
		if (d)
			domain_died(d, st);
		else
			dying_forget(pid);
	}
}
