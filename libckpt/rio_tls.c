/*
 * rio_tls.c - rio over an established OpenSSL connection (TLS 1.3).  The
 * caller does the handshake and the certificate checks; closing the rio
 * sends close_notify and frees the SSL and its socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include "ckpt.h"

static ssize_t tls_read(struct rio *r, void *p, size_t n)
{
	SSL *ssl = r->ctx;
	size_t got = 0;
	if (SSL_read_ex(ssl, p, n, &got) == 1)
		return (ssize_t)got;
	int e = SSL_get_error(ssl, 0);
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	errno = e == SSL_ERROR_SYSCALL && errno ? errno : ECONNRESET;
	return e == SSL_ERROR_SYSCALL && errno == 0 ? 0 : -1;
}

static ssize_t tls_write(struct rio *r, const void *p, size_t n)
{
	SSL *ssl = r->ctx;
	size_t put = 0;
	if (SSL_write_ex(ssl, p, n, &put) == 1)
		return (ssize_t)put;
	/* the socket's send timeout: rio tries again with the same bytes */
	if (SSL_get_error(ssl, 0) == SSL_ERROR_WANT_WRITE)
		errno = EAGAIN;
	else if (!errno)
		errno = ECONNRESET;
	return -1;
}

static void tls_close(struct rio *r)
{
	SSL *ssl = r->ctx;
	int fd = SSL_get_fd(ssl);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
}

/*
 * Input on the socket may be a TLS handshake message (a key update) and no
 * data: a non-blocking peek tells.
 */
static int tls_readable(struct rio *r, int timeout_ms)
{
	SSL *ssl = r->ctx;
	int fd = SSL_get_fd(ssl);
	if (SSL_pending(ssl) > 0)
		return 1;
	if (!rio_poll_in(fd, timeout_ms))
		return 0;
	int fl = fcntl(fd, F_GETFL);
	uint8_t b;
	size_t n = 0;
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	int ok = SSL_peek_ex(ssl, &b, 1, &n);
	int e = ok == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, 0);
	fcntl(fd, F_SETFL, fl);
	return e != SSL_ERROR_WANT_READ;
}

static const struct rio_ops tls_ops = { "tls", tls_read, tls_write, NULL, tls_close, tls_readable };

struct rio *rio_tls_open(void *ssl)
{
	return rio_new(&tls_ops, ssl, 256 << 10);
}
