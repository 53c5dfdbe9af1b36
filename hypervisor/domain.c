/*
 * domain.c - hvd's registry of domains and the relay to their processes.
 *
 * Creating a domain forks and execs a domain process (vm.c) with one end of
 * a socketpair; every later request for that domain is forwarded to it with
 * a fresh seq, and its reply (with any fds) goes back to the client that
 * asked.  Destroy is SIGKILL to that process, by PID, and a reap.  A domain
 * process that dies on its own is logged and its pending requests fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/wait.h>
#include <unistd.h>
#include <event2/event.h>

#include "ctlsrv.h"
#include "hvd.h"
#include "log.h"
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

void domain_init(const struct hvd_conf *conf)
{
	dconf = conf;
	ledger_fd = ledger_open(conf->state_dir);
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

/* Kills (a no-op when already dead) and reaps; returns the wait status. */
static int domain_kill(struct domain *d)
{
	int st = 0;
	kill(d->pid, SIGKILL);
	while (waitpid(d->pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
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
	if (!failed && p->type == HV_DOM_UNPAUSE)
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
	free(p);
	if (orphan)
		domain_resume_orphan(d);
	else if (orphan_in) {
		log_warnx("domain %s: incoming, and its creator left before keeping it: destroyed", d->name);
		domain_kill(d);
		domain_remove(d, "creator left");
	}
}

static struct domain *domain_spawn(const char *name)
{
	int sv[2];
	struct domain *d = calloc(1, sizeof(*d));

	if (!d || sock_pair(sv) < 0) {
		free(d);
		return NULL;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		free(d);
		return NULL;
	}
	if (pid == 0) {
		char fdstr[16];
		fcntl(sv[1], F_SETFD, 0);
		snprintf(fdstr, sizeof(fdstr), "%d", sv[1]);
		static const char *const backing[] = { "auto", "hugetlb", "shmem" };
		execl("/proc/self/exe", "hvd", "-D", fdstr, "-d", dconf->state_dir,
		    "-m", backing[dconf->backing], dconf->foreground ? "-f" : "-q",
		    dconf->verbose ? "-v" : "-q", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->pid = pid;
	d->fd = sv[0];
	TAILQ_INIT(&d->pending);
	d->ev = event_new(hvd_base, d->fd, EV_READ | EV_PERSIST, domain_read, d);
	event_add(d->ev, NULL);
	TAILQ_INSERT_TAIL(&domains, d, entry);
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
	if (m->type == HV_DOM_KEEP) {
		d->creator = NULL;
		log_info("domain %s: kept (no longer destroyed with its creator)", name);
		reply_ok(c, m->seq);
		return;
	}
	if (m->type == HV_DOM_DESTROY) {
		domain_kill(d);
		domain_remove(d, "destroyed");
		log_info("domain %s: destroyed", name);
		reply_ok(c, m->seq);
		return;
	}
	domain_forward(d, c, m, buf, len);
}

/* Undoes a leased pause whose client is gone: log-dirty off, throttle off, run. */
static void domain_resume_orphan(struct domain *d)
{
	uint16_t undo[] = { HV_LOGDIRTY, HV_THROTTLE, HV_DOM_UNPAUSE };

	d->lease = NULL;
	log_warnx("domain %s: the client that paused it left before the hand-over: "
	    "resuming it", d->name);
	for (int i = 0; i < 3; i++) {
		struct msg_out o;
		struct msg_in m;
		char err[256];
		msg_begin(&o, undo[i], 0);
		msg_add_str(&o, HA_NAME, d->name);
		if (undo[i] == HV_LOGDIRTY)
			msg_add_u32(&o, HA_ENABLE, 0);
		if (undo[i] == HV_THROTTLE)
			msg_add_u32(&o, HA_SHARE, 0);
		if (msg_end(&o) == 0 && msg_parse(&hvctl_schema, o.buf, o.len, &m, err, sizeof(err)) == 0)
			domain_forward(d, NULL, &m, o.buf, o.len);
		msg_free(&o);
	}
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
	}
}

void domain_destroy_all(void)
{
	struct domain *d;
	while ((d = TAILQ_FIRST(&domains))) {
		log_info("domain %s: destroyed at shutdown", d->name);
		domain_kill(d);
		domain_remove(d, "hvd shutting down");
	}
}
