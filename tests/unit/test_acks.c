/*
 * test_acks.c - the primary's side of the backup's acknowledgements
 * (remusd/epoch.c: primary_acks), with epochs in flight.  The failures it
 * prevents: output released for an epoch the backup never acknowledged (an
 * answer out of order, for an epoch not sent, or something else in its
 * place), a broken stream taken for an answer, a third epoch taken while
 * two wait; and, as their twins, answers in order that release each
 * epoch's output exactly once, in order, and answers read as they come
 * while the primary waits for the next epoch's time.
 */
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "remus.h"
#include "tap.h"

static uint64_t released[8], released_ns[8];
static int nreleased;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int fake_release(struct hv *h, const char *name, uint64_t epoch)
{
	(void)h;
	(void)name;
	if (nreleased < 8) {
		released_ns[nreleased] = now_ns();
		released[nreleased++] = epoch;
	}
	return 0;
}

static const struct hv_ops ops = { .name = "test", .nic_release = fake_release };

/* the records the backup sends: ACK(e) for each e > 0, ABORT for 0 */
static struct rio *answers(const uint64_t *e, int n)
{
	struct rio *w = rio_mem_writer();
	for (int i = 0; i < n; i++) {
		uint8_t b[8];
		le64_put(b, e[i]);
		if (e[i])
			ckpt_send(w, CK_EPOCH_ACK, b, sizeof(b));
		else
			ckpt_send(w, CK_ABORT, "no", 2);
	}
	size_t len;
	const uint8_t *d = rio_mem_data(w, &len);
	static uint8_t keep[4][256];
	static int k;
	uint8_t *c = keep[k++ % 4];
	if (len)
		memcpy(c, d, len);
	rio_close(w);
	return rio_mem_reader(c, len);
}

static void setup(struct primary *p, struct hv *h, struct rio *r, uint64_t taken, uint64_t acked)
{
	memset(p, 0, sizeof(*p));
	p->h = h;
	p->peer = r;
	p->hold = 1;
	p->taken = taken;
	p->epoch = acked;
	snprintf(p->name, sizeof(p->name), "vm");
	nreleased = 0;
}

int main(void)
{
	struct hv h = { .ops = &ops };
	struct primary p;

	/* two in flight, answered in order: each releases its own output, once */
	setup(&p, &h, answers((uint64_t[]){ 5, 6 }, 2), 6, 4);
	CHECK(primary_acks(&p, 6, 0) == 0);
	CHECK(p.epoch == 6);
	CHECK(nreleased == 2 && released[0] == 5 && released[1] == 6);
	rio_close(p.peer);

	/* waiting for the one before the last only: the last's answer stays unread */
	setup(&p, &h, answers((uint64_t[]){ 5, 6 }, 2), 6, 4);
	CHECK(primary_acks(&p, 5, 0) == 0);
	CHECK(p.epoch == 5 && nreleased == 1 && released[0] == 5);
	rio_close(p.peer);

	/* an answer out of order releases nothing */
	setup(&p, &h, answers((uint64_t[]){ 6 }, 1), 6, 4);
	CHECK(primary_acks(&p, 6, 0) < 0);
	CHECK(p.epoch == 4 && nreleased == 0);
	CHECK(strstr(p.err, "acknowledged epoch 6, after 4 of 6 sent") != NULL);
	rio_close(p.peer);

	/* nor one for an epoch never sent */
	setup(&p, &h, answers((uint64_t[]){ 5 }, 1), 4, 4);
	CHECK(primary_acks(&p, 0, now_ns() + 20000000) < 0);
	CHECK(p.epoch == 4 && nreleased == 0);
	CHECK(strstr(p.err, "acknowledged epoch 5, after 4 of 4 sent") != NULL);
	rio_close(p.peer);

	/* nor something else in its place */
	setup(&p, &h, answers((uint64_t[]){ 0 }, 1), 5, 4);
	CHECK(primary_acks(&p, 5, 0) < 0);
	CHECK(nreleased == 0 && strstr(p.err, "the backup sent ABORT") != NULL);
	rio_close(p.peer);

	/* a stream that ends is no answer */
	setup(&p, &h, answers((uint64_t[]){ 5 }, 1), 6, 4);
	CHECK(primary_acks(&p, 6, 0) < 0);
	CHECK(p.epoch == 5 && nreleased == 1 && strstr(p.err, "epoch 6: no acknowledgement") != NULL);
	rio_close(p.peer);

	/* a third epoch is not taken while two wait */
	setup(&p, &h, answers(NULL, 0), 6, 4);
	CHECK(primary_checkpoint(&p) < 0 && strstr(p.err, "2 epochs wait") != NULL);
	rio_close(p.peer);

	/* until the next epoch is due, answers are read as they come: the one
	 * that comes 5 ms into a 30 ms wait releases its output then, and the
	 * wait ends at its time, not before */
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	struct rio *backup = rio_fd_open(sv[1], 1);
	setup(&p, &h, rio_fd_open(sv[0], 1), 5, 4);
	uint64_t t0 = now_ns();
	if (fork() == 0) {
		uint8_t b[8];
		usleep(5000);
		le64_put(b, 5);
		ckpt_send(backup, CK_EPOCH_ACK, b, sizeof(b));
		usleep(100000);
		_exit(0);
	}
	CHECK(primary_acks(&p, 0, t0 + 30000000) == 0);
	uint64_t waited = now_ns() - t0;
	CHECK(p.epoch == 5 && nreleased == 1 && released[0] == 5);
	CHECK(nreleased == 1 && released_ns[0] - t0 < 25000000);
	CHECK(waited >= 30000000 && waited < 90000000);
	wait(NULL);
	rio_close(p.peer);
	rio_close(backup);
	return TAP_DONE();
}
