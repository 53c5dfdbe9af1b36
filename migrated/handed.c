/*
 * handed.c - the source's side of a hand-over after its point of no return,
 * and of one a killed migrated left half done.
 *
 * Without a cluster, handed/NAME "P ID DEST DNAME" is written and synced
 * before round 0 (prepared: it means nothing yet).  The commit (commit.c)
 * first hands the paused source domain over in hvd under the migration's
 * id as tag (it can never run again here), then turns the record's P into
 * C in place: the point of no return.  In a cluster no
 * record is written: the table's commit is the point of no return.
 * The record stays until the destination confirms it runs the VM: OUTCOME
 * answers from it, so neither a lost answer nor a restarted source hvd or
 * migrated can make the destination destroy the only copy.  Every action on
 * the source copy names the tag, so a stale record can never touch a later
 * domain of the same name.
 *
 * Settling one hand-over, by who decides:
 *   cluster   the table gives the VM to this host: reclaim and resume the
 *             copy; to another: release it.  No answer: ask again later.
 *   record    committed: the copy waits (never runs) until the destination
 *             says it runs the VM (RUNNING on the stream, after OUTCOME,
 *             or to CONFIRM, which this side asks), then it is released.
 *   neither   a migrated copy with no record never committed: reclaim it.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv.h"
#include "log.h"
#include "migrated.h"
#include "tls.h"

#define SETTLE_RETRY_S	2
#define SETTLE_MAX_S	30

int handed_prepare(const struct mig *m)
{
	return journal_put(J_HANDED, m->name, "P %016" PRIx64 " %s %s", m->id, m->dest,
	    m->peer_name[0] ? m->peer_name : "-");
}

int handed_commit(const struct mig *m)
{
	if (journal_flip(J_HANDED, m->name, 'C') == 0)
		return 0;
	int e = errno;
	/* the byte may or may not be on disk: say not committed, or nothing */
	int r = journal_flip(J_HANDED, m->name, 'P') == 0 ? -1 : 1;
	errno = e;
	return r;
}

/* the record of name: its state (P or C), migration id, destination and the
 * destination's certificate name ("" unauthenticated); 0 when there is one */
static int lookup_any(const char *name, char *state, uint64_t *id, char *dest, size_t destlen,
    char dname[65])
{
	char line[512], d[300], n[65] = "-", st;
	unsigned long long v;
	if (journal_get(J_HANDED, name, line, sizeof(line)) < 0 ||
	    sscanf(line, "%c %llx %299s %64s", &st, &v, d, n) < 3 || (st != 'P' && st != 'C'))
		return -1;
	*state = st;
	*id = v;
	if (dest)
		snprintf(dest, destlen, "%s", d);
	if (dname)
		snprintf(dname, 65, "%s", strcmp(n, "-") ? n : "");
	return 0;
}

/* the same, for a committed record only */
static int lookup(const char *name, uint64_t *id, char *dest, size_t destlen, char dname[65])
{
	char st;
	return lookup_any(name, &st, id, dest, destlen, dname) == 0 && st == 'C' ? 0 : -1;
}

void handed_unprepare(const char *name, uint64_t id)
{
	char st;
	uint64_t v;
	if (lookup_any(name, &st, &v, NULL, 0, NULL) == 0 && st == 'P' && v == id)
		journal_del(J_HANDED, name);
}

int handed_for(const char *name, uint64_t id, const char *asker)
{
	uint64_t v;
	char dname[65];
	if (lookup(name, &v, NULL, 0, dname) < 0 || v != id)
		return 0;
	if (!migd_conf.insecure && strcmp(dname, asker)) {
		log_warnx("OUTCOME for %s from %s: the migration went to %s: not answering", name,
		    asker, dname);
		return -1;
	}
	return 1;
}

int handed_is(const char *name, uint64_t id)
{
	uint64_t v;
	return lookup(name, &v, NULL, 0, NULL) == 0 && v == id;
}

/* the record goes only if it is still this hand-over's */
static void forget(const char *name, uint64_t id)
{
	if (handed_is(name, id))
		journal_del(J_HANDED, name);
}

int handed_reclaim(struct hv *h, const char *name, uint64_t id)
{
	if (h->ops->domain_reclaim(h, name, id) < 0)
		return -1;
	h->ops->throttle(h, name, 0);
	h->ops->logdirty(h, name, 0, 0, NULL, NULL);
	if (h->ops->domain_unpause(h, name) < 0)
		return -1;
	log_info("migration %s: not committed: the source copy runs here again", name);
	return 0;
}

void handed_confirmed(struct hv *h, const char *name, uint64_t id, uint8_t **late,
    size_t *late_len)
{
	char dest[300];
	uint64_t v;
	if (h->ops->domain_release(h, name, id, late, late_len) < 0 && errno != ENOENT &&
	    errno != ESTALE) {
		log_warnx("migration %s: releasing the handed-over copy: %s: settling it later", name,
		    hv_error(h));
		if (lookup(name, &v, dest, sizeof(dest), NULL) == 0 && v == id)
			handed_settle_later(name, id, dest, 1);
		return;
	}
	forget(name, id);
	log_info("migration %s: the destination runs it: source copy and record released", name);
}

/*
 * Asks the destination's migrated whether it runs name.  1 yes, 0 it does
 * not (and is not in doubt about it), -1 no answer (down, or still asking
 * this side for the outcome).
 */
static int ask_confirm(const char *dest, const char *name, uint64_t id)
{
	char err[256], dname[65] = "";
	uint8_t body[8 + 64];
	uint64_t v;
	struct ckpt_record rec = { 0 };
	struct tls_want want = { NULL, NULL };
	if (lookup(name, &v, NULL, 0, dname) == 0 && dname[0])
		want.name = dname;	/* only the destination it went to */
	int r = -1, fd = peer_connect(dest, err, sizeof(err));
	if (fd < 0)
		return -1;
	struct rio *q = mig_transport(NULL, fd, 0, &want, NULL, err, sizeof(err));
	if (!q)
		return -1;
	size_t n = strlen(name);
	le64_put(body, id);
	memcpy(body + 8, name, n);
	if (ckpt_send(q, CK_CONFIRM, body, 8 + n) == 0 && ckpt_read_record(q, &rec) == 0)
		r = rec.type == CK_RUNNING ? 1 : rec.type == CK_ABORT ? 0 : -1;
	ckpt_record_free(&rec);
	rio_close(q);
	return r;
}

struct settle {
	char name[65], dest[300];
	uint64_t id;
	int recorded;
};

static int settle_once(struct hv *h, const struct settle *s)
{
	if (migd_conf.fenced) {
		char err[512];
		int mine = cluster_resolve_retry(s->name, 5, err, sizeof(err));
		if (mine < 0) {
			log_warnx("migration %s: the table cannot say who owns it (%s): the handed-over "
			    "copy stays, never running", s->name, err);
			return -1;
		}
		if (mine) {
			if (handed_reclaim(h, s->name, s->id) < 0 && errno != ENOENT && errno != ESTALE &&
			    errno != EBUSY)
				return -1;
		} else if (h->ops->domain_release(h, s->name, s->id, NULL, NULL) == 0)
			log_info("migration %s: the table gives it to another host: source copy released",
			    s->name);
		forget(s->name, s->id);
		return 0;
	}
	if (!s->recorded)	/* handed over, never recorded: never committed */
		return handed_reclaim(h, s->name, s->id) < 0 && errno != ENOENT && errno != ESTALE ?
		    -1 : 0;
	if (!handed_is(s->name, s->id))
		return 0;	/* confirmed meanwhile (OUTCOME) */
	int runs = ask_confirm(s->dest, s->name, s->id);
	if (runs == 1) {
		handed_confirmed(h, s->name, s->id, NULL, NULL);	/* late frames: too late */
		return 0;
	}
	if (runs == 0) {
		log_warnx("migration %s: committed to %s, which does not run it: the handed-over copy "
		    "stays here, never running, for an admin (tandem vm destroy %s)", s->name, s->dest,
		    s->name);
		return 0;
	}
	return -1;
}

static void *settle_thread(void *arg)
{
	struct settle *s = arg;
	char err[400];
	for (int wait = SETTLE_RETRY_S;; wait = wait * 2 > SETTLE_MAX_S ? SETTLE_MAX_S : wait * 2) {
		struct hv *h = hv_open(migd_conf.hvd_path, err, sizeof(err));
		int done = h && settle_once(h, s) == 0;
		if (h)
			h->ops->close(h);
		if (done)
			break;
		sleep((unsigned)wait);
	}
	free(s);
	return NULL;
}

void handed_settle_later(const char *name, uint64_t id, const char *dest, int recorded)
{
	struct settle *s = calloc(1, sizeof(*s));
	pthread_t t;
	if (!s)
		return;
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->dest, sizeof(s->dest), "%s", dest ? dest : "");
	s->id = id;
	s->recorded = recorded;
	if (pthread_create(&t, NULL, settle_thread, s) == 0)
		pthread_detach(t);
	else
		free(s);
}

static void resume_one(const char *name, const char *line, void *arg)
{
	uint64_t id;
	char dest[300], st;
	(void)line;
	(void)arg;
	if (lookup_any(name, &st, &id, dest, sizeof(dest), NULL) < 0) {
		log_warnx("handed/%s is unreadable: left for an admin", name);
		return;
	}
	if (st == 'P') {	/* never committed: a copy handed over under id is reclaimed below */
		journal_del(J_HANDED, name);
		return;
	}
	log_warnx("migration %s: handed over to %s when migrated stopped: settling it", name, dest);
	handed_settle_later(name, id, dest, 1);
}

void handed_resume(void)
{
	char err[400], (*names)[65] = NULL;
	int n = 0;
	journal_each(J_HANDED, resume_one, NULL);
	struct hv *h = hv_open(migd_conf.hvd_path, err, sizeof(err));
	if (!h || h->ops->domain_list(h, &names, &n) < 0) {
		log_warnx("cannot list hvd's domains (%s): handed-over copies left as they are",
		    h ? hv_error(h) : err);
		if (h)
			h->ops->close(h);
		return;
	}
	for (int i = 0; i < n; i++) {
		struct hv_dominfo d;
		if (h->ops->domain_info(h, names[i], &d) < 0 || d.state != HV_MIGRATED ||
		    handed_is(names[i], d.tag))
			continue;
		log_warnx("migration %s: handed over (migration %016" PRIx64 ") but never recorded "
		    "when migrated stopped: not committed", names[i], d.tag);
		handed_settle_later(names[i], d.tag, NULL, 0);
	}
	free(names);
	h->ops->close(h);
}
