/*
 * writer.c - the durable table written off the event loop.
 *
 * Saving the table (store.c: a file, its fsync, a rename, the directory's
 * fsync) took 1-5 ms while a migration ran, and fenced's loop answered
 * nothing meanwhile: the destination of a migration, asking "is this VM
 * mine now?" right after the commit, waited for the whole save, on the
 * VM's downtime.  So a thread writes: the loop encodes the table (it owns
 * it), hands the bytes over and goes on answering from memory; once they
 * are on disk the thread wakes the loop, which only then acts on that
 * version (sync.c).  One write at a time: sync.c starts the next when this
 * one is done.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>

#include "log.h"
#include "store.h"
#include "writer.h"

struct writer {
	pthread_t thr;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int quit;
	/* the write handed over, under lock: p until the thread takes it */
	char dir[512];
	uint8_t *p;
	size_t len;
	/* its outcome, under lock, for the loop */
	int done, ok;
	char err[512];
	int wake[2];		/* the thread -> the loop: a write is done */
	struct event *ev;
	writer_done_fn fn;
	void *arg;
};

static void *run(void *arg)
{
	struct writer *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->p && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->p)
			break;
		uint8_t *p = w->p;
		size_t len = w->len;
		char dir[512], err[512] = "";
		memcpy(dir, w->dir, sizeof(dir));
		w->p = NULL;
		pthread_mutex_unlock(&w->lock);
		int ok = store_write(dir, p, len, err, sizeof(err)) == 0;
		free(p);
		pthread_mutex_lock(&w->lock);
		w->done = 1;
		w->ok = ok;
		memcpy(w->err, err, sizeof(err));
		char b = 1;
		if (write(w->wake[1], &b, 1) < 0)
			log_warn("table writer: waking the loop");
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static void on_wake(evutil_socket_t fd, short ev, void *arg)
{
	struct writer *w = arg;
	char b[16], err[512];
	(void)ev;
	while (read(fd, b, sizeof(b)) > 0)
		;
	pthread_mutex_lock(&w->lock);
	int done = w->done, ok = w->ok;
	memcpy(err, w->err, sizeof(err));
	w->done = 0;
	pthread_mutex_unlock(&w->lock);
	if (done)
		w->fn(w->arg, ok, err);
}

struct writer *writer_new(struct event_base *base, writer_done_fn fn, void *arg)
{
	struct writer *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->fn = fn;
	w->arg = arg;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		goto fail;
	if (!(w->ev = event_new(base, w->wake[0], EV_READ | EV_PERSIST, on_wake, w)) ||
	    event_add(w->ev, NULL) < 0 || (errno = pthread_create(&w->thr, NULL, run, w)))
		goto fail;
	return w;
fail:
	log_warn("table writer");
	if (w->ev)
		event_free(w->ev);
	if (w->wake[0] > 0) {
		close(w->wake[0]);
		close(w->wake[1]);
	}
	free(w);
	return NULL;
}

void writer_submit(struct writer *w, const char *dir, uint8_t *p, size_t len)
{
	pthread_mutex_lock(&w->lock);
	free(w->p);	/* never: sync.c waits for each write to be done */
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	w->p = p;
	w->len = len;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void writer_free(struct writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->quit = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thr, NULL);	/* a write handed over is finished first */
	event_free(w->ev);
	close(w->wake[0]);
	close(w->wake[1]);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}
