/*
 * fence.c - fences a host by running the configured levels in order.
 *
 * Every level is an agent speaking the fence-agents stdin protocol: fenced
 * writes "action=off", "nodename=", "plug=", "ip=" and the level's own
 * key=value pairs to its stdin and waits for it to exit; 0 confirms.  An
 * agent that runs past fence-timeout is killed (its whole process group)
 * and counts as failed; then the next level runs.  When every level failed
 * the host is reported as not fenced and the caller tries again later.
 * Agents run as children, so fenced's event loop never waits on one.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fence.h"
#include "log.h"
#include "metrics.h"

struct job {
	struct fencer *fr;
	uint32_t node;
	size_t level;		/* index into conf->levels */
	pid_t pid;
	int out;		/* agent's stdout+stderr */
	char buf[1024];
	size_t len;
	int timed_out;
	int settled;		/* another host fenced it meanwhile: no further level */
	struct timespec start;
	struct event *timer, *rd;
	struct job *next;
};

struct fencer {
	struct event_base *base;
	const struct fconf *conf;
	fence_done_fn done;
	void *arg;
	struct job *jobs;
	struct event *chld_ev;
	/* what the metrics endpoint shows */
	uint64_t fenced_ok, fenced_failed, by_other;
	struct mhist duration;
};

static const double duration_le[] = { 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120 };

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* the level applies to this host */
static int applies(const struct fconf *conf, const struct cf_level *l, uint32_t node)
{
	if (!l->hosts)
		return 1;
	for (size_t i = 0; i < conf->nhosts; i++)
		if (conf->hosts[i].node == node)
			return (l->hosts >> i) & 1;
	return 0;
}

/* %n -> name, %a -> address */
static void expand(const char *in, const struct cf_host *h, char *out, size_t cap)
{
	size_t o = 0;
	for (; *in && o + 1 < cap; in++) {
		const char *sub = NULL;
		if (in[0] == '%' && in[1] == 'n')
			sub = h->name;
		else if (in[0] == '%' && in[1] == 'a')
			sub = h->addr;
		if (sub) {
			o += (size_t)snprintf(out + o, cap - o, "%s", sub);
			if (o >= cap)
				o = cap - 1;
			in++;
		} else
			out[o++] = *in;
	}
	out[o] = 0;
}

static void job_free(struct job *j)
{
	for (struct job **p = &j->fr->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	if (j->timer)
		event_free(j->timer);
	if (j->rd)
		event_free(j->rd);
	if (j->out >= 0)
		close(j->out);
	free(j);
}

/* the job's end: counted, freed, reported */
static void finish(struct job *j, int ok, const char *method, const char *detail)
{
	struct fencer *fr = j->fr;
	uint32_t node = j->node;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double secs = (double)(now.tv_sec - j->start.tv_sec) + (now.tv_nsec - j->start.tv_nsec) / 1e9;
	if (!ok)
		fr->fenced_failed++;
	else if (!strcmp(method, "other-host"))
		fr->by_other++;
	else
		fr->fenced_ok++;
	mhist_observe(&fr->duration, secs);
	job_free(j);
	fr->done(fr->arg, node, ok, method, detail);
}

void fence_render(const struct fencer *fr, struct mtext *t)
{
	mt_family(t, "tandem_fence_actions", "counter", NULL,
	    "Fencings this host ran, by result (other-host: fenced by another meanwhile).");
	mt_sample(t, "tandem_fence_actions_total", "result=\"confirmed\"", (double)fr->fenced_ok);
	mt_sample(t, "tandem_fence_actions_total", "result=\"other-host\"", (double)fr->by_other);
	mt_sample(t, "tandem_fence_actions_total", "result=\"failed\"", (double)fr->fenced_failed);
	mt_family(t, "tandem_fence_running", "gauge", NULL, "Fencings running now.");
	mt_sample(t, "tandem_fence_running", "", fence_running(fr));
	mt_family(t, "tandem_fence_duration_seconds", "histogram", "seconds",
	    "From the first level to confirmation or failure.");
	mt_hist(t, "tandem_fence_duration_seconds", "", &fr->duration);
}

static void next_level(struct job *j);

static void on_timeout(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	struct job *j = arg;
	log_warnx("fence node %u: %s timed out after %u ms: killing it", j->node,
	    base_name(j->fr->conf->levels[j->level].agent), j->fr->conf->fence_timeout_ms);
	j->timed_out = 1;
	kill(-j->pid, SIGKILL);
}

static void on_output(evutil_socket_t fd, short ev, void *arg)
{
	(void)ev;
	struct job *j = arg;
	char tmp[512];
	ssize_t n = read(fd, tmp, sizeof(tmp));
	if (n <= 0) {
		event_del(j->rd);
		return;
	}
	/* keep the tail: tmp is smaller than buf */
	size_t cap = sizeof(j->buf) - 1, add = (size_t)n;
	if (j->len + add > cap) {
		size_t drop = j->len + add - cap;
		memmove(j->buf, j->buf + drop, j->len - drop);
		j->len -= drop;
	}
	memcpy(j->buf + j->len, tmp, add);
	j->len += add;
	j->buf[j->len] = 0;
}

static void last_line(const struct job *j, char *out, size_t cap)
{
	char b[sizeof(j->buf)];
	memcpy(b, j->buf, j->len + 1);
	size_t n = strlen(b);
	while (n && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' '))
		b[--n] = 0;
	char *s = strrchr(b, '\n');
	snprintf(out, cap, "%s", s ? s + 1 : b);
}

static void finished(struct job *j, int status)
{
	const char *method = base_name(j->fr->conf->levels[j->level].agent);
	char line[256];
	on_output(j->out, 0, j);	/* what is left in the pipe */
	last_line(j, line, sizeof(line));
	event_del(j->timer);
	int ok = !j->timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (ok) {
		log_info("fence node %u: level %d %s confirmed: %s", j->node, j->fr->conf->levels[j->level].n,
		    method, line);
		finish(j, 1, method, line);
		return;
	}
	char why[300];
	if (j->timed_out)
		snprintf(why, sizeof(why), "timed out after %u ms", j->fr->conf->fence_timeout_ms);
	else if (WIFEXITED(status))
		snprintf(why, sizeof(why), "exit %d: %s", WEXITSTATUS(status), line);
	else
		snprintf(why, sizeof(why), "killed by signal %d", WTERMSIG(status));
	log_warnx("fence node %u: level %d %s failed (%s)", j->node, j->fr->conf->levels[j->level].n, method,
	    why);
	j->level++;
	next_level(j);
}

static void on_sigchld(evutil_socket_t fd, short ev, void *arg)
{
	struct fencer *fr = arg;
	(void)fd;
	(void)ev;
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (struct job *j = fr->jobs; j; j = j->next)
			if (j->pid == pid) {
				j->pid = 0;
				finished(j, status);
				break;
			}
}

static int spawn(struct job *j, const struct cf_level *l, const struct cf_host *h)
{
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(out, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		execl(l->agent, l->agent, (char *)NULL);
		fprintf(stderr, "cannot run %s: %s\n", l->agent, strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close(in[0]);
	close(out[1]);
	char req[4096], v[256];
	size_t o = (size_t)snprintf(req, sizeof(req), "action=off\nnodename=%s\nplug=%s\nip=%s\n",
	    h->name, h->name, h->addr);
	for (int i = 0; i < l->nargs && o < sizeof(req); i++) {
		expand(l->args[i], h, v, sizeof(v));
		o += (size_t)snprintf(req + o, sizeof(req) - o, "%s\n", v);
	}
	signal(SIGPIPE, SIG_IGN);
	if (write(in[1], req, o < sizeof(req) ? o : sizeof(req) - 1) < 0)
		log_warnx("fence node %u: writing to %s: %s", j->node, l->agent, strerror(errno));
	close(in[1]);
	j->pid = pid;
	j->out = out[0];
	j->len = 0;
	j->buf[0] = 0;
	j->timed_out = 0;
	fcntl(j->out, F_SETFL, O_NONBLOCK);
	if (j->rd)
		event_free(j->rd);
	j->rd = event_new(j->fr->base, j->out, EV_READ | EV_PERSIST, on_output, j);
	event_add(j->rd, NULL);
	struct timeval tv = { j->fr->conf->fence_timeout_ms / 1000, (j->fr->conf->fence_timeout_ms % 1000) * 1000 };
	evtimer_add(j->timer, &tv);
	return 0;
}

static void next_level(struct job *j)
{
	struct fencer *fr = j->fr;
	const struct cf_host *h = conf_host(fr->conf, j->node);
	if (j->out >= 0) {
		close(j->out);
		j->out = -1;
	}
	if (j->settled) {	/* a later level would only power off a host that booted again */
		uint32_t node = j->node;
		log_info("fence node %u (%s): fenced by another host meanwhile: no further level",
		    node, h->name);
		finish(j, 1, "other-host", "fenced by another host meanwhile");
		return;
	}
	for (; j->level < fr->conf->nlevels; j->level++) {
		const struct cf_level *l = &fr->conf->levels[j->level];
		if (!applies(fr->conf, l, j->node))
			continue;
		log_info("fence node %u (%s): level %d: %s", j->node, h->name, l->n, base_name(l->agent));
		if (spawn(j, l, h) == 0)
			return;
		log_warnx("fence node %u: cannot start %s: %s", j->node, l->agent, strerror(errno));
	}
	finish(j, 0, "none", "every fence level failed");
}

struct fencer *fence_init(struct event_base *b, const struct fconf *c, fence_done_fn done,
    void *arg)
{
	struct fencer *fr = calloc(1, sizeof(*fr));
	if (!fr)
		return NULL;
	fr->base = b;
	fr->conf = c;
	fr->done = done;
	fr->arg = arg;
	MHIST_INIT(&fr->duration, duration_le);
	fr->chld_ev = evsignal_new(b, SIGCHLD, on_sigchld, fr);
	event_add(fr->chld_ev, NULL);
	return fr;
}

void fence_settled(struct fencer *fr, uint32_t node)
{
	for (struct job *j = fr->jobs; j; j = j->next)
		if (j->node == node)
			j->settled = 1;
}

int fence_busy(const struct fencer *fr, uint32_t node)
{
	for (struct job *j = fr->jobs; j; j = j->next)
		if (j->node == node)
			return 1;
	return 0;
}

int fence_running(const struct fencer *fr)
{
	int n = 0;
	for (struct job *j = fr->jobs; j; j = j->next)
		n++;
	return n;
}

int fence_start(struct fencer *fr, uint32_t node)
{
	if (fence_busy(fr, node)) {
		errno = EBUSY;
		return -1;
	}
	if (!conf_host(fr->conf, node)) {
		errno = ENOENT;
		return -1;
	}
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return -1;
	j->fr = fr;
	j->node = node;
	j->out = -1;
	clock_gettime(CLOCK_MONOTONIC, &j->start);
	j->timer = evtimer_new(fr->base, on_timeout, j);
	j->next = fr->jobs;
	fr->jobs = j;
	next_level(j);
	return 0;
}

void fence_shutdown(struct fencer *fr)
{
	if (!fr)
		return;
	while (fr->jobs) {
		if (fr->jobs->pid > 0)
			kill(-fr->jobs->pid, SIGKILL);
		job_free(fr->jobs);
	}
	if (fr->chld_ev)
		event_free(fr->chld_ev);
	free(fr);
}
