/*
 * cluster.c - migrated's calls to this host's fenced, when it runs in a
 * cluster (-F): the ownership table decides every migration's outcome.
 *
 *   begin     the table marks the VM migrating to the destination
 *   commit    the generation bump to the destination: the point of no
 *             return, ordered by CPG against any MIG_ABORT
 *   resolve   either end, when in doubt or failing: aborts the migration in
 *             the table if it is still open, then says who owns the VM
 *   owned     this host's table already gives the VM to this host (a
 *             delivered COMMIT is final: nothing but fencing moves it on)
 *   fence_ask on a FENCE: does the cluster fence this host now?
 *
 * Each call is one request (common/fcall.c); a transport failure is
 * "unknown" (-1 with errno EIO), never an answer.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fcall.h"
#include "log.h"
#include "migrated.h"

#define CALL_TIMEOUT_S 30

static int call(struct msg_out *o, uint8_t *buf, size_t cap, struct msg_in *in, char *err,
    size_t errlen)
{
	return fcall(migd_conf.fenced, CALL_TIMEOUT_S, o, buf, cap, in, err, errlen);
}

int cluster_begin(const char *name, const char *dest, uint64_t *gen, char *err, size_t errlen)
{
	uint8_t buf[4096];
	struct msg_in in;
	struct msg_out o;
	msg_begin(&o, FC_MIG_BEGIN, 1);
	msg_add_str(&o, FA_NAME, name);
	msg_add_str(&o, FA_HOST, dest);
	if (call(&o, buf, sizeof(buf), &in, err, errlen) < 0)
		return -1;
	*gen = msg_u64(&in, FA_GEN);
	return 0;
}

int cluster_commit(const char *name, const char *dest, uint64_t gen, char *err, size_t errlen)
{
	uint8_t buf[4096];
	struct msg_in in;
	struct msg_out o;
	msg_begin(&o, FC_MIG_COMMIT, 1);
	msg_add_str(&o, FA_NAME, name);
	msg_add_str(&o, FA_HOST, dest);
	msg_add_u64(&o, FA_GEN, gen);
	return call(&o, buf, sizeof(buf), &in, err, errlen);
}

static int resolve(const char *name, int query, int *mine, char *err, size_t errlen)
{
	uint8_t buf[4096];
	struct msg_in in;
	struct msg_out o;
	msg_begin(&o, FC_MIG_RESOLVE, 1);
	msg_add_str(&o, FA_NAME, name);
	if (query)
		msg_add_u32(&o, FA_MODE, 1);
	if (call(&o, buf, sizeof(buf), &in, err, errlen) < 0)
		return -1;
	*mine = msg_u32(&in, FA_OWNER) == msg_u32(&in, FA_NODEID);
	log_debug("cluster: %s is owned by node %u at generation %llu", name, msg_u32(&in, FA_OWNER),
	    (unsigned long long)msg_u64(&in, FA_GEN));
	return 0;
}

int cluster_resolve(const char *name, int *mine, char *err, size_t errlen)
{
	return resolve(name, 0, mine, err, errlen);
}

int cluster_owned(const char *name)
{
	char err[256];
	int mine = 0;
	return resolve(name, 1, &mine, err, sizeof(err)) == 0 && mine;
}

int cluster_resolve_retry(const char *name, int seconds, char *err, size_t errlen)
{
	int mine = 0;
	for (int i = 0; i < seconds * 4; i++) {
		if (cluster_resolve(name, &mine, err, errlen) == 0)
			return mine;
		if (errno == ENOENT)
			return 0;	/* not in the table: not ours to run */
		usleep(250000);	/* not ready (membership change) or fenced restarting */
	}
	return -1;
}

int cluster_fence_allowed(char *why, size_t whylen)
{
	uint8_t buf[4096];
	struct msg_in in;
	struct msg_out o;
	msg_begin(&o, FC_FENCE_ASK, 1);
	if (call(&o, buf, sizeof(buf), &in, why, whylen) < 0)
		return -1;
	msg_str(&in, FA_DETAIL, why, whylen);
	return msg_u32(&in, FA_ALLOW) != 0;
}
