/*
 * journal.c - incoming migrations whose outcome is in doubt, on disk.
 *
 * Before a receiver answers READY it keeps the incoming domain (hvd no
 * longer destroys it with the receiver) and writes <state>/indoubt/<name>
 * holding the source's address, synced to disk.  The entry goes once the
 * outcome is known.  A migrated that starts and finds entries resumes
 * asking their sources (OUTCOME), so a receiver killed after READY neither
 * loses the VM nor runs it without the source's word.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "migrated.h"

static void path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/indoubt%s%s", migd_conf.state_dir, name ? "/" : "", name ? name : "");
}

int journal_add(const char *name, const char *peer, uint16_t port)
{
	char p[600], tmp[620], dir[600];
	path(dir, sizeof(dir), NULL);
	mkdir(migd_conf.state_dir, 0755);
	mkdir(dir, 0700);
	path(p, sizeof(p), name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%s %u\n", peer, port);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		return -1;
	}
	fclose(f);
	if (rename(tmp, p) < 0)
		return -1;
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	if (d >= 0) {
		fsync(d);
		close(d);
	}
	return 0;
}

void journal_remove(const char *name)
{
	char p[600];
	path(p, sizeof(p), name);
	unlink(p);
}

void journal_resume(void)
{
	char dir[600];
	path(dir, sizeof(dir), NULL);
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char p[900], peer[64];
		unsigned port;
		if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		FILE *f = fopen(p, "r");
		if (!f)
			continue;
		int ok = fscanf(f, "%63s %u", peer, &port) == 2 && port < 65536;
		fclose(f);
		struct recv_args *a = ok ? calloc(1, sizeof(*a)) : NULL;
		if (a && !(a->m = mig_new(MIG_IN, e->d_name))) {
			free(a);
			a = NULL;
		}
		if (!a) {
			log_warnx("journal entry %s is unreadable: left for an admin", p);
			continue;
		}
		snprintf(a->peer, sizeof(a->peer), "%s", peer);
		a->peer_port = (uint16_t)port;
		log_warnx("migration %s in: outcome was in doubt when migrated stopped: asking %s:%u",
		    e->d_name, peer, port);
		pthread_t t;
		if (pthread_create(&t, NULL, mig_resolve_thread, a) == 0)
			pthread_detach(t);
	}
	closedir(d);
}
