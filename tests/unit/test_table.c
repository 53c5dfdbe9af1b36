/*
 * test_table.c - the ownership table's rules (fencing/table.c) and the CPG
 * framing (fencing/wire.c): two tables fed the same messages stay equal;
 * a COMMIT and a MIG_ABORT race and the first delivered wins; nothing is
 * placed elsewhere before its owner is fenced; stale generations, bad
 * senders and corrupted payloads change nothing; a snapshot loads back.
 */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "table.h"
#include "wire.h"

static struct table A, B;
static uint8_t frame_buf[1 << 16];
static size_t frame_len;

/* builds, frames, parses and applies one message to both tables */
static int send_msg(uint32_t sender, struct msg_out *o)
{
	struct msg_in m;
	char err[256];
	CHECK(msg_end(o) == 0);
	void *p = cluster_frame(o, &frame_len);
	memcpy(frame_buf, p, frame_len);
	free(p);
	msg_free(o);
	CHECK(cluster_parse(frame_buf, frame_len, &m, err, sizeof(err)) == 0);
	int ra = table_apply(&A, sender, &m, err, sizeof(err));
	int rb = table_apply(&B, sender, &m, err, sizeof(err));
	CHECK(ra == rb);
	return ra;
}

static int claim(uint32_t sender, const char *name, uint32_t policy)
{
	struct msg_out o;
	msg_begin(&o, CM_CLAIM, 0);
	msg_add_str(&o, CA_NAME, name);
	msg_add_u64(&o, CA_MEM, 64 << 20);
	msg_add_u32(&o, CA_VCPUS, 1);
	msg_add_str(&o, CA_KERNEL, "/guest.elf");
	msg_add_u32(&o, CA_POLICY, policy);
	return send_msg(sender, &o);
}

static int vm_msg(uint32_t sender, uint16_t type, const char *name, uint64_t gen, uint32_t to,
    uint32_t state)
{
	struct msg_out o;
	msg_begin(&o, type, 0);
	msg_add_str(&o, CA_NAME, name);
	msg_add_u64(&o, CA_GEN, gen);
	if (type == CM_VMSTATE)
		msg_add_u32(&o, CA_STATE, state);
	else if (type == CM_TAKEOVER)
		msg_add_u64(&o, CA_EPOCH, to);	/* the epoch resumed from */
	else if (type != CM_MIG_ABORT && type != CM_REMOVE)
		msg_add_u32(&o, CA_TO, to);
	return send_msg(sender, &o);
}

static int fenced_msg(uint32_t sender, uint32_t node, int ok)
{
	struct msg_out o;
	msg_begin(&o, CM_FENCED, 0);
	msg_add_u32(&o, CA_NODE, node);
	msg_add_str(&o, CA_METHOD, "fence_lab");
	msg_add_u32(&o, CA_OK, (uint32_t)ok);
	msg_add_u64(&o, CA_TIME, 1234);
	return send_msg(sender, &o);
}

static void both_view(const uint32_t *m, size_t n)
{
	CHECK(table_view(&A, m, n) == table_view(&B, m, n));
}

static int same(void)
{
	return A.version == B.version && A.nvm == B.nvm && !memcmp(A.vm, B.vm, sizeof(A.vm)) &&
	    !memcmp(A.host, B.host, sizeof(A.host));
}

int main(void)
{
	uint32_t nodes[] = { 1, 2, 3 }, m12[] = { 1, 2 };
	table_init(&A, nodes, 3);
	table_init(&B, nodes, 3);
	both_view(nodes, 3);

	CHECK(claim(3, "web", VP_RESTART) == 0);
	CHECK(claim(3, "db", VP_NONE) == 0);
	CHECK(claim(1, "web", VP_RESTART) < 0);		/* name taken */
	CHECK(claim(1, "bad name", VP_RESTART) < 0);
	CHECK(claim(9, "x", VP_RESTART) < 0);		/* unknown host */
	struct tvm *w = table_vm(&A, "web");
	CHECK(w && w->owner == 3 && w->gen == 1 && w->state == VS_STARTING);
	CHECK(vm_msg(3, CM_VMSTATE, "web", 1, 0, VS_RUNNING) == 0);
	CHECK(vm_msg(1, CM_VMSTATE, "web", 1, 0, VS_RUNNING) < 0);	/* not the owner */
	CHECK(vm_msg(3, CM_VMSTATE, "db", 1, 0, VS_RUNNING) == 0);

	/* a migration: begin, then COMMIT and MIG_ABORT race; the first wins */
	CHECK(vm_msg(1, CM_MIGRATE, "web", 1, 2, 0) < 0);	/* only the owner */
	CHECK(vm_msg(3, CM_MIGRATE, "web", 1, 3, 0) < 0);	/* not to itself */
	CHECK(vm_msg(3, CM_MIGRATE, "web", 1, 2, 0) == 0);
	CHECK(w->state == VS_MIGRATING && w->target == 2);
	CHECK(vm_msg(2, CM_MIG_ABORT, "web", 1, 0, 0) == 0);	/* the destination aborts first */
	CHECK(vm_msg(3, CM_COMMIT, "web", 1, 2, 0) < 0);	/* so the commit loses */
	CHECK(w->owner == 3 && w->gen == 1 && w->state == VS_RUNNING);
	CHECK(vm_msg(3, CM_MIGRATE, "web", 1, 2, 0) == 0);
	CHECK(vm_msg(3, CM_COMMIT, "web", 1, 2, 0) == 0);	/* this time the commit is first */
	CHECK(vm_msg(2, CM_MIG_ABORT, "web", 2, 0, 0) < 0);
	CHECK(w->owner == 2 && w->gen == 2 && w->state == VS_RUNNING);
	CHECK(vm_msg(3, CM_COMMIT, "web", 1, 2, 0) < 0);	/* stale generation */

	/* a migration to a host that is lost but not fenced cannot commit */
	CHECK(vm_msg(3, CM_MIGRATE, "db", 1, 2, 0) == 0);
	both_view((uint32_t[]){ 1, 3 }, 2);
	CHECK(table_host(&A, 2)->status == HS_LOST);
	CHECK(vm_msg(3, CM_COMMIT, "db", 1, 2, 0) < 0);
	both_view(nodes, 3);

	/* host 3 is lost: nothing moves until it is fenced */
	both_view(m12, 2);
	CHECK(table_host(&A, 3)->status == HS_LOST);
	struct tvm *d = table_vm(&A, "db");
	CHECK(d->state == VS_MIGRATING);
	CHECK(vm_msg(1, CM_PLACE, "db", 1, 1, 0) < 0);		/* owner not fenced yet */
	CHECK(fenced_msg(1, 3, 0) == 0);			/* a failed attempt: history only */
	CHECK(table_host(&A, 3)->status == HS_LOST);
	CHECK(fenced_msg(1, 3, 1) == 0);
	CHECK(table_host(&A, 3)->status == HS_FENCED);
	CHECK(d->state == VS_STOPPED);				/* policy none */
	CHECK(claim(1, "web2", VP_RESTART) == 0);
	CHECK(vm_msg(1, CM_VMSTATE, "web2", 1, 0, VS_RUNNING) == 0);
	CHECK(vm_msg(1, CM_MIGRATE, "web2", 1, 3, 0) < 0);	/* to a fenced host: no */
	CHECK(vm_msg(1, CM_PLACE, "db", 1, 3, 0) < 0);		/* onto a fenced host: no */
	CHECK(vm_msg(1, CM_PLACE, "db", 1, 2, 0) == 0);
	CHECK(vm_msg(2, CM_PLACE, "db", 1, 1, 0) < 0);		/* a second coordinator: stale */
	CHECK(d->owner == 2 && d->gen == 2 && d->state == VS_STARTING);
	CHECK(fring_count(&A.hist) == 2 && fring_get(&A.hist, 1)->ok == 1);
	CHECK(same());

	/* the snapshot loads back into a fresh table, all of it */
	struct msg_out o;
	struct msg_in m;
	char err[256];
	msg_begin(&o, CM_TABLE, 0);
	table_encode(&A, &o);
	CHECK(msg_end(&o) == 0);
	void *p = cluster_frame(&o, &frame_len);
	memcpy(frame_buf, p, frame_len);
	free(p);
	msg_free(&o);
	static struct table C;
	table_init(&C, nodes, 3);
	CHECK(cluster_parse(frame_buf, frame_len, &m, err, sizeof(err)) == 0);
	CHECK(table_load(&C, &m, err, sizeof(err)) == 0);
	CHECK(C.version == A.version && C.nvm == A.nvm && !memcmp(C.vm, A.vm, sizeof(A.vm)) &&
	    !memcmp(C.host, A.host, sizeof(A.host)) && fring_count(&C.hist) == 2);

	/* a corrupted payload never parses: every single bit flip is caught */
	int caught = 0;
	for (size_t i = 0; i < frame_len * 8; i++) {
		frame_buf[i / 8] ^= (uint8_t)(1u << (i % 8));
		caught += cluster_parse(frame_buf, frame_len, &m, err, sizeof(err)) < 0;
		frame_buf[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	CHECK(caught == (int)(frame_len * 8));
	CHECK(cluster_parse(frame_buf, 3, &m, err, sizeof(err)) < 0);

	/* protection: only the owner names a backup, a usable host other than itself */
	struct tvm *w2 = table_vm(&A, "web2");
	CHECK(vm_msg(2, CM_PROTECT, "web2", 1, 2, 0) < 0);	/* not the owner */
	CHECK(vm_msg(1, CM_PROTECT, "web2", 1, 1, 0) < 0);	/* not itself */
	CHECK(vm_msg(1, CM_PROTECT, "web2", 1, 3, 0) < 0);	/* not a fenced host */
	CHECK(vm_msg(1, CM_PROTECT, "web2", 1, 2, 0) == 0 && w2->backup == 2);
	CHECK(vm_msg(2, CM_PROTECT, "web", 2, 1, 0) == 0);
	CHECK(vm_msg(1, CM_PROTECT, "web", 2, 3, 0) < 0);	/* the backup names none */
	CHECK(vm_msg(1, CM_PROTECT, "web", 2, 0, 0) == 0 && table_vm(&A, "web")->backup == 0);
	CHECK(vm_msg(1, CM_PROTECT, "web", 2, 0, 0) < 0);	/* no longer its backup */
	CHECK(vm_msg(2, CM_PROTECT, "web", 2, 1, 0) == 0);
	/* the snapshot carries it */
	msg_begin(&o, CM_TABLE, 0);
	table_encode(&A, &o);
	CHECK(msg_end(&o) == 0);
	p = cluster_frame(&o, &frame_len);
	memcpy(frame_buf, p, frame_len);
	free(p);
	msg_free(&o);
	CHECK(cluster_parse(frame_buf, frame_len, &m, err, sizeof(err)) == 0);
	CHECK(table_load(&C, &m, err, sizeof(err)) == 0 && table_vm(&C, "web2")->backup == 2);
	/* no takeover while the owner is not fenced, and none but by the backup */
	CHECK(vm_msg(2, CM_TAKEOVER, "web2", 1, 7, 0) < 0);
	both_view((uint32_t[]){ 2 }, 1);			/* host 1 is lost */
	CHECK(vm_msg(2, CM_TAKEOVER, "web2", 1, 7, 0) < 0);	/* lost is not fenced */
	CHECK(fenced_msg(2, 1, 1) == 0);
	CHECK(w2->state == VS_FAILED && w2->backup == 2);	/* the coordinator leaves it be */
	struct tvm *w1 = table_vm(&A, "web");
	CHECK(w1->backup == 0);					/* its backup was fenced */
	CHECK(vm_msg(3, CM_TAKEOVER, "web2", 1, 7, 0) < 0);	/* not the backup */
	CHECK(vm_msg(2, CM_TAKEOVER, "web2", 1, 7, 0) == 0);
	CHECK(w2->owner == 2 && w2->gen == 2 && w2->state == VS_RUNNING && w2->backup == 0);
	CHECK(vm_msg(2, CM_TAKEOVER, "web2", 2, 7, 0) < 0);	/* once */
	CHECK(vm_msg(2, CM_PROTECT, "web2", 2, 0, 0) == 0);	/* unprotect: to none */
	/* a migration's commit ends the protection: the shadow is of the old copy */
	CHECK(vm_msg(2, CM_PROTECT, "web2", 2, 3, 0) < 0);	/* 3 is fenced */
	both_view((uint32_t[]){ 2, 3 }, 2);
	CHECK(vm_msg(2, CM_PROTECT, "web2", 2, 3, 0) == 0 && w2->backup == 3);
	CHECK(vm_msg(2, CM_MIGRATE, "web2", 2, 3, 0) == 0 && w2->backup == 3);
	CHECK(vm_msg(2, CM_COMMIT, "web2", 2, 3, 0) == 0 && w2->owner == 3 && w2->backup == 0);
	CHECK(same());
	return TAP_DONE();
}
