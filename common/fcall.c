/* fcall.c - one request to fenced (fcall.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "fcall.h"
#include "sock.h"

int fcall(const char *path, int timeout_s, struct msg_out *o, uint8_t *buf, size_t cap,
    struct msg_in *in, char *err, size_t errlen)
{
	int fd = sock_connect(path);
	struct timeval tv = { timeout_s, 0 };
	ssize_t n = -1;

	if (msg_end(o) < 0) {
		snprintf(err, errlen, "request too large");
		msg_free(o);
		errno = EINVAL;
		return -1;
	}
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (sock_send(fd, o->buf, o->len, NULL, 0) == 0)
			n = sock_recv(fd, buf, cap, NULL, NULL);
		close(fd);
	}
	msg_free(o);
	if (n <= 0 || msg_parse(&fencectl_schema, buf, (size_t)n, in, err, errlen) < 0) {
		if (n <= 0)
			snprintf(err, errlen, "fenced (%s) did not answer: %s", path,
			    n == 0 ? "connection closed" : strerror(errno));
		errno = EIO;
		return -1;
	}
	if (in->type == FC_ERR) {
		char m[400];
		snprintf(err, errlen, "cluster: %s", msg_str(in, FA_ERRMSG, m, sizeof(m)));
		errno = (int)msg_u32(in, FA_ERRNO);
		if (errno == EIO || !errno)
			errno = EPERM;
		return -1;
	}
	return 0;
}
