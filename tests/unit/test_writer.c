/*
 * test_writer.c - the table's writer thread (fencing/writer.c): a table
 * handed over reaches DIR/table whole and the loop hears so; a write into a directory that
 * cannot take it is reported with the reason, and the writer goes on
 * writing the next one; a writer stuck on its file leaves the loop running
 * (the loop itself unsticks it); freeing the writer finishes a write handed
 * over.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/event.h>

#include "store.h"
#include "writer.h"
#include "tap.h"

static const uint32_t nodes[] = { 1, 2 };
static int calls, last_ok;
static char last_err[512];
static struct event_base *base;

static void done(void *arg, int ok, const char *err)
{
	(void)arg;
	calls++;
	last_ok = ok;
	snprintf(last_err, sizeof(last_err), "%s", err);
	event_base_loopbreak(base);
}

/* the loop's own work while the writer is stuck: after a few turns it
 * opens the FIFO the writer is stuck on, which lets the write go on */
static int ticks, fifo_rd = -1;
static char fifo[600];
static void tick(evutil_socket_t fd, short ev, void *arg)
{
	char b[4096];
	(void)fd;
	(void)ev;
	(void)arg;
	if (++ticks == 3)
		fifo_rd = open(fifo, O_RDONLY | O_NONBLOCK);
	if (fifo_rd >= 0)
		while (read(fifo_rd, b, sizeof(b)) > 0)
			;
}

/* hands a table of that version to w for dir */
static void submit(struct writer *w, const char *dir, uint64_t version)
{
	static struct table t;
	size_t len;
	table_init(&t, nodes, 2);
	t.epoch = 1;
	t.version = version;
	uint8_t *p = store_encode(&t, &len);
	writer_submit(w, dir, p, len);
}

int main(void)
{
	char dir[] = "/tmp/tandem-writer.XXXXXX", err[256];
	CHECK(mkdtemp(dir) != NULL);
	base = event_base_new();
	struct writer *w = writer_new(base, done, NULL);
	CHECK(w != NULL);

	/* written, and the loop hears it */
	submit(w, dir, 7);
	event_base_dispatch(base);
	CHECK(calls == 1 && last_ok);
	struct table back;
	table_init(&back, nodes, 2);
	CHECK(store_load(dir, &back, err, sizeof(err)) == 1 && back.version == 7);

	/* a directory that is not there: the reason, and nothing written */
	submit(w, "/nonexistent/tandem", 8);
	event_base_dispatch(base);
	CHECK(calls == 2 && !last_ok && strstr(last_err, "No such file"));

	/* and the next write works */
	submit(w, dir, 9);
	event_base_dispatch(base);
	CHECK(calls == 3 && last_ok);
	CHECK(store_load(dir, &back, err, sizeof(err)) == 1 && back.version == 9);

	/* a writer stuck (its file a FIFO nobody reads) leaves the loop running:
	 * the loop's timer is what unsticks it; then the failed sync is said */
	char sub[400];
	snprintf(sub, sizeof(sub), "%s/stuck", dir);
	snprintf(fifo, sizeof(fifo), "%s/table.tmp", sub);
	CHECK(mkdir(sub, 0700) == 0 && mkfifo(fifo, 0600) == 0);
	struct event *t = event_new(base, -1, EV_PERSIST, tick, NULL);
	struct timeval ms1 = { 0, 1000 };
	event_add(t, &ms1);
	submit(w, sub, 11);
	event_base_dispatch(base);
	CHECK(calls == 4 && ticks >= 3 && !last_ok && strstr(last_err, "fsync"));
	event_free(t);
	if (fifo_rd >= 0)
		close(fifo_rd);
	unlink(fifo);
	rmdir(sub);

	/* freed with a write handed over: the write is finished */
	submit(w, dir, 10);
	writer_free(w);
	CHECK(store_load(dir, &back, err, sizeof(err)) == 1 && back.version == 10);

	event_base_free(base);
	char path[600];
	snprintf(path, sizeof(path), "%s/table", dir);
	unlink(path);
	rmdir(dir);
	return TAP_DONE();
}
