/*
 * journal.c - migrated's durable records: one line per VM in a small file,
 * written to a temp file, synced, renamed, and the directory synced, so a
 * record is either whole on disk or absent.
 *
 *   indoubt/NAME  "PEER PORT ID"  the destination of a migration past its
 *                 first SYNC: the incoming domain is kept, and its outcome
 *                 is to be asked of PEER:PORT (mig_recv.c);
 *   handed/NAME   "S ID DEST DNAME"  the source of a migration to DEST
 *                 (its certificate's name DNAME) under tag ID: S is P
 *                 (prepared, written before round 0: it means nothing yet)
 *                 until the commit turns it into C in place, until DEST
 *                 confirms it runs the VM (handed.c).
 *
 * journal_flip rewrites the first byte of a record in place, into the page
 * cache, without a sync: a record must outlive only what it guards, and
 * the one flipped at a commit guards the handed-over source copy, which
 * lives in memory.  Whatever that copy survives (migrated or hvd killed)
 * the page cache survives too; what destroys the cache (a kernel crash,
 * power) destroys the copy with it.  So the commit costs no device flush
 * (one took 0.6-0.9 ms here while a migration ran).  One byte cannot be
 * torn.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "migrated.h"

static const char *const dirs[] = { [J_INDOUBT] = "indoubt", [J_HANDED] = "handed" };

static void path(char *buf, size_t len, enum jkind k, const char *name)
{
	snprintf(buf, len, "%s/%s%s%s", migd_conf.state_dir, dirs[k], name ? "/" : "",
	    name ? name : "");
}

int journal_put(enum jkind k, const char *name, const char *fmt, ...)
{
	char p[600], tmp[620], dir[600];
	va_list ap;
	path(dir, sizeof(dir), k, NULL);
	mkdir(migd_conf.state_dir, 0755);
	mkdir(dir, 0700);
	path(p, sizeof(p), k, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", p);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		unlink(tmp);
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

int journal_flip(enum jkind k, const char *name, char c)
{
	char p[600];
	path(p, sizeof(p), k, name);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = pwrite(fd, &c, 1, 0) == 1 ? 0 : -1;
	close(fd);
	return r;
}

int journal_get(enum jkind k, const char *name, char *line, size_t len)
{
	char p[600];
	path(p, sizeof(p), k, name);
	FILE *f = fopen(p, "r");
	if (!f)
		return -1;
	int ok = fgets(line, (int)len, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	line[strcspn(line, "\n")] = 0;
	return 0;
}

void journal_del(enum jkind k, const char *name)
{
	char p[600];
	path(p, sizeof(p), k, name);
	unlink(p);
}

void journal_each(enum jkind k, void (*fn)(const char *name, const char *line, void *arg),
    void *arg)
{
	char dir[600], line[512];
	path(dir, sizeof(dir), k, NULL);
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp"))
			continue;
		if (journal_get(k, e->d_name, line, sizeof(line)) < 0) {
			log_warnx("journal %s/%s is unreadable: left for an admin", dir, e->d_name);
			continue;
		}
		fn(e->d_name, line, arg);
	}
	closedir(d);
}
