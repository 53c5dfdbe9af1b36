/*
 * tls.c - TLS 1.3 for Tandem's peers.  Both sides present a certificate
 * signed by the cluster CA (tandem-ca makes them) and both verify the
 * other's: the chain, the CA's revocation list when there is one (re-read
 * whenever the file changes, so `tandem-ca revoke` takes effect on the
 * next connection), and who the peer is.  A certificate names one host or
 * fencer (CN) and its role (OU); one without a role is a host's.
 * Failures say why (OpenSSL's reason and the peer's subject).
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "log.h"
#include "tls.h"

/* the contexts and what they were made from; replaced when the CRL changes */
static struct {
	pthread_mutex_t lock;
	SSL_CTX *server, *client;
	char cert[512], key[512], ca[512], crl[512];
	struct timespec crl_mtime;
} T = { .lock = PTHREAD_MUTEX_INITIALIZER };

const char *tls_role_name(enum tls_role r)
{
	return r == TLS_ROLE_FENCER ? "fencer" : r == TLS_ROLE_HOST ? "host" : "none";
}

static SSL_CTX *ctx_new(int server, char *err, size_t errlen)
{
	SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	const char *what = "SSL_CTX_new";

	if (!c)
		goto fail;
	SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
	if (server)
		SSL_CTX_set_num_tickets(c, 0);	/* sessions are never resumed */
	what = T.cert;
	if (SSL_CTX_use_certificate_chain_file(c, T.cert) != 1)
		goto fail;
	what = T.key;
	if (SSL_CTX_use_PrivateKey_file(c, T.key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(c) != 1)
		goto fail;
	what = T.ca;
	if (SSL_CTX_load_verify_locations(c, T.ca, NULL) != 1)
		goto fail;
	if (T.crl[0]) {
		what = T.crl;
		X509_STORE *st = SSL_CTX_get_cert_store(c);
		X509_LOOKUP *lk = X509_STORE_add_lookup(st, X509_LOOKUP_file());
		if (!lk || X509_load_crl_file(lk, T.crl, X509_FILETYPE_PEM) < 1)
			goto fail;
		X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	}
	SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return c;
fail:
	snprintf(err, errlen, "TLS setup: %s: %s", what, ERR_reason_error_string(ERR_get_error()));
	SSL_CTX_free(c);
	return NULL;
}

/* under T.lock: (re)makes both contexts */
static int make(char *err, size_t errlen)
{
	SSL_CTX *s = ctx_new(1, err, errlen), *c = s ? ctx_new(0, err, errlen) : NULL;
	if (!c) {
		SSL_CTX_free(s);
		return -1;
	}
	SSL_CTX_free(T.server);
	SSL_CTX_free(T.client);
	T.server = s;
	T.client = c;
	return 0;
}

int tls_init(const char *cert, const char *key, const char *ca, const char *crl, char *err,
    size_t errlen)
{
	struct stat st;
	snprintf(T.cert, sizeof(T.cert), "%s", cert);
	snprintf(T.key, sizeof(T.key), "%s", key);
	snprintf(T.ca, sizeof(T.ca), "%s", ca);
	snprintf(T.crl, sizeof(T.crl), "%s", crl ? crl : "");
	if (crl && stat(crl, &st) == 0)
		T.crl_mtime = st.st_mtim;
	return make(err, errlen);
}

/* under T.lock: the CRL file changed since it was loaded: load it again */
static void crl_fresh(void)
{
	struct stat st;
	char err[512];
	if (!T.crl[0] || stat(T.crl, &st) < 0 || (st.st_mtim.tv_sec == T.crl_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == T.crl_mtime.tv_nsec))
		return;
	if (make(err, sizeof(err)) < 0) {
		log_warnx("revocation list %s changed but cannot be loaded (%s): keeping the old one",
		    T.crl, err);
		return;
	}
	T.crl_mtime = st.st_mtim;
	log_info("revocation list %s loaded again", T.crl);
}

/* the peer's name and role from its certificate, and whether it is who we want */
static int identify(X509 *x, const struct tls_want *want, struct tls_peer *p, char *err,
    size_t errlen)
{
	char ou[32] = "";
	X509_NAME *n = X509_get_subject_name(x);
	p->name[0] = 0;
	X509_NAME_get_text_by_NID(n, NID_commonName, p->name, sizeof(p->name));
	X509_NAME_get_text_by_NID(n, NID_organizationalUnitName, ou, sizeof(ou));
	if (!ou[0] || !strcmp(ou, "host"))
		p->role = TLS_ROLE_HOST;
	else if (!strcmp(ou, "fencer"))
		p->role = TLS_ROLE_FENCER;
	else
		return snprintf(err, errlen, "certificate of %s has an unknown role '%s'", p->name, ou), -1;
	if (want && want->name && strcmp(want->name, p->name))
		return snprintf(err, errlen, "certificate is %s's, but the peer must be %s", p->name,
		    want->name), -1;
	if (want && !want->name && want->ip && X509_check_ip_asc(x, want->ip, 0) != 1)
		return snprintf(err, errlen, "certificate of %s names no address %s (issue it with "
		    "tandem-ca issue --ip, or name the host)", p->name, want->ip), -1;
	return 0;
}

struct rio *tls_open(int fd, int server, const struct tls_want *want, struct tls_peer *peer,
    char *err, size_t errlen)
{
	struct tls_peer dummy;
	char subj[256] = "(no certificate)";
	if (!peer)
		peer = &dummy;
	pthread_mutex_lock(&T.lock);
	crl_fresh();
	SSL *ssl = SSL_new(server ? T.server : T.client);	/* holds its context */
	pthread_mutex_unlock(&T.lock);

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
	X509 *x = SSL_get1_peer_certificate(ssl);
	if (!x) {
		snprintf(err, errlen, "TLS: the peer has no certificate");
		goto fail;
	}
	X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
	int bad = identify(x, want, peer, err, errlen);
	X509_free(x);
	if (bad)
		goto fail;
	log_debug("TLS %s with %s, peer %s (%s)", SSL_get_version(ssl), SSL_get_cipher(ssl), subj,
	    tls_role_name(peer->role));
	struct rio *r = rio_tls_open(ssl);
	if (r)
		return r;
	snprintf(err, errlen, "TLS: out of memory");
fail:
	SSL_free(ssl);
	close(fd);
	return NULL;
}
