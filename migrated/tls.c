/*
 * tls.c - TLS 1.3 for migration peers.  Both sides present a certificate
 * signed by the cluster CA (tandem-ca makes them) and both verify the
 * other's, so a host without a valid certificate can neither send a VM
 * nor receive one.  Failures say why (OpenSSL's reason and the peer's
 * subject when there is one).
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <unistd.h>

#include "ckpt.h"
#include "log.h"
#include "tls.h"

static SSL_CTX *server_ctx, *client_ctx;

static SSL_CTX *ctx_new(int server, const char *cert, const char *key, const char *ca,
    char *err, size_t errlen)
{
	SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	const char *what = "SSL_CTX_new";

	if (!c)
		goto fail;
	SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
	if (server)
		SSL_CTX_set_num_tickets(c, 0);	/* sessions are never resumed */
	what = cert;
	if (SSL_CTX_use_certificate_chain_file(c, cert) != 1)
		goto fail;
	what = key;
	if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(c) != 1)
		goto fail;
	what = ca;
	if (SSL_CTX_load_verify_locations(c, ca, NULL) != 1)
		goto fail;
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return c;
fail:
	snprintf(err, errlen, "TLS setup: %s: %s", what, ERR_reason_error_string(ERR_get_error()));
	SSL_CTX_free(c);
	return NULL;
}

int tls_init(const char *cert, const char *key, const char *ca, char *err, size_t errlen)
{
	if (!(server_ctx = ctx_new(1, cert, key, ca, err, errlen)) ||
	    !(client_ctx = ctx_new(0, cert, key, ca, err, errlen)))
		return -1;
	return 0;
}

struct rio *tls_open(int fd, int server, char *err, size_t errlen)
{
	SSL *ssl = SSL_new(server ? server_ctx : client_ctx);
	char subj[256] = "(no certificate)";

	if (!ssl || SSL_set_fd(ssl, fd) != 1) {
		snprintf(err, errlen, "TLS: out of memory");
		goto fail;
	}
	ERR_clear_error();
	if ((server ? SSL_accept(ssl) : SSL_connect(ssl)) != 1) {
		long v = SSL_get_verify_result(ssl);
		unsigned long e = ERR_get_error();
		snprintf(err, errlen, "TLS handshake as %s failed: %s%s%s", server ? "server" : "client",
		    e ? ERR_reason_error_string(e) : "peer closed the connection",
		    v != X509_V_OK ? "; certificate: " : "",
		    v != X509_V_OK ? X509_verify_cert_error_string(v) : "");
		goto fail;
	}
	X509 *peer = SSL_get1_peer_certificate(ssl);
	if (peer) {
		X509_NAME_oneline(X509_get_subject_name(peer), subj, sizeof(subj));
		X509_free(peer);
	}
	log_debug("TLS %s with %s, peer %s", SSL_get_version(ssl), SSL_get_cipher(ssl), subj);
	struct rio *r = rio_tls_open(ssl);
	if (r)
		return r;
	snprintf(err, errlen, "TLS: out of memory");
fail:
	SSL_free(ssl);
	close(fd);
	return NULL;
}
