/*
 * store.c - the ownership table on disk.  One file, DIR/table:
 *
 *   0   "TANDEMTB"          magic
 *   8   u32 format (1)      a newer format is refused, never guessed at
 *   12  u32 length          of the table message that follows
 *   16  u64 epoch, u64 version
 *   32  the table message   CM_TABLE in cluster.h's attribute format, the
 *                           same bytes a sync donor multicasts
 *   ..  u32 crc32c          of everything before it, then u32 0
 *
 * All little-endian.  It is written whole to DIR/table.tmp, fsync'ed,
 * renamed over DIR/table and the directory fsync'ed, so a crash leaves the
 * old file or the new one, never a mix.  A torn, corrupt or foreign file is
 * refused with the reason and nothing of it is loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"	/* crc32c */
#include "store.h"

#define HDR 32
#define TAIL 8

uint8_t *store_encode(const struct table *t, size_t *len)
{
	struct msg_out o;
	uint8_t *p = NULL;
	msg_begin(&o, CM_TABLE, 0);
	table_encode(t, &o);
	if (msg_end(&o) < 0 || !(p = malloc(HDR + o.len + TAIL))) {
		msg_free(&o);
		return NULL;
	}
	memcpy(p, STORE_MAGIC, 8);
	le32_put(p + 8, STORE_FORMAT);
	le32_put(p + 12, (uint32_t)o.len);
	le64_put(p + 16, t->epoch);
	le64_put(p + 24, t->version);
	memcpy(p + HDR, o.buf, o.len);
	le32_put(p + HDR + o.len, crc32c(0, p, HDR + o.len));
	le32_put(p + HDR + o.len + 4, 0);
	*len = HDR + o.len + TAIL;
	msg_free(&o);
	return p;
}

int store_decode(const uint8_t *buf, size_t len, struct table *t, char *err, size_t el)
{
	struct msg_in m;
	char why[256];
	if (len < HDR + TAIL || memcmp(buf, STORE_MAGIC, 8))
		return refuse(err, el, len < 8 || memcmp(buf, STORE_MAGIC, 8) ?
		    "not a Tandem table file (bad magic)" : "truncated: %zu bytes", len);
	if (le32_get(buf + 8) != STORE_FORMAT)
		return refuse(err, el, "table file format %u, this build reads format %d",
		    le32_get(buf + 8), STORE_FORMAT);
	uint32_t body = le32_get(buf + 12);
	if ((size_t)body + HDR + TAIL != len)
		return refuse(err, el, "torn: the header says %u bytes of table, the file holds %zu",
		    body, len - HDR - TAIL);
	uint32_t want = le32_get(buf + HDR + body), got = crc32c(0, buf, HDR + body);
	if (want != got || le32_get(buf + HDR + body + 4))
		return refuse(err, el, "corrupt: crc32c %08x, the file says %08x", got, want);
	if (msg_parse(&cluster_schema, buf + HDR, body, &m, why, sizeof(why)) < 0)
		return refuse(err, el, "the table inside does not parse: %s", why);
	if (m.type != CM_TABLE)
		return refuse(err, el, "holds a %s message, not a TABLE",
		    m.type < CM_MSG_COUNT && cluster_schema.policies[m.type].name ?
		    cluster_schema.policies[m.type].name : "unknown");
	if (msg_u64(&m, CA_EPOCH) != le64_get(buf + 16) || msg_u64(&m, CA_VERSION) != le64_get(buf + 24))
		return refuse(err, el, "header and table disagree on epoch and version");
	if (table_load(t, &m, why, sizeof(why)) < 0)
		return refuse(err, el, "the table inside is refused: %s", why);
	return 0;
}

int store_save(const char *dir, const struct table *t, char *err, size_t el)
{
	size_t len;
	uint8_t *p = store_encode(t, &len);
	if (!p)
		return refuse(err, el, "out of memory encoding the table");
	int r = store_write(dir, p, len, err, el);
	free(p);
	return r;
}

int store_write(const char *dir, const uint8_t *p, size_t len, char *err, size_t el)
{
	char tmp[600], path[600];
	int fd = -1, dfd = -1;
	snprintf(tmp, sizeof(tmp), "%s/table.tmp", dir);
	snprintf(path, sizeof(path), "%s/table", dir);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, el, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, p + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, el, "writing %s: %s", tmp, w < 0 ? strerror(errno) : "short write");
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		snprintf(err, el, "fsync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		snprintf(err, el, "rename %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) < 0) {
		snprintf(err, el, "fsync of %s: %s", dir, strerror(errno));
		goto fail;
	}
	close(dfd);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	return -1;
}

int store_load(const char *dir, struct table *t, char *err, size_t el)
{
	char path[600], bad[600];
	struct stat st;
	uint8_t *p = NULL;
	int fd;
	snprintf(path, sizeof(path), "%s/table", dir);
	snprintf(bad, sizeof(bad), "%s/table.refused", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, el, "%s: %s", path, strerror(errno));
		return -1;
	}
	int r = -1;
	if (fstat(fd, &st) < 0)
		snprintf(err, el, "%s: %s", path, strerror(errno));
	else if (st.st_size > STORE_MAX)
		snprintf(err, el, "%s: %lld bytes, more than a table can be", path, (long long)st.st_size);
	else if (!(p = malloc((size_t)st.st_size + 1)))
		snprintf(err, el, "%s: out of memory", path);
	else {
		size_t off = 0, len = (size_t)st.st_size;
		ssize_t n = 1;
		while (off < len && (n = read(fd, p + off, len - off)) > 0)
			off += (size_t)n;
		char why[400];
		if (n < 0)
			snprintf(err, el, "%s: %s", path, strerror(errno));
		else if (store_decode(p, off, t, why, sizeof(why)) < 0)
			snprintf(err, el, "%s: %s", path, why);
		else
			r = 1;
	}
	close(fd);
	free(p);
	if (r < 0 && rename(path, bad) == 0)
		snprintf(err + strlen(err), el - strlen(err), " (kept as %s)", bad);
	return r;
}
