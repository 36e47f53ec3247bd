/* uplink.c - the camera's only network conversation: an outgoing TCP
 * connection to a controller, mutual TLS 1.3, HTTP/1.1 requests. Enrolled
 * cameras trust only the CA certificates whose SPKI they pinned; a factory-new
 * camera trusts on first use and pins what it is given (PROTOCOL.md §4). */
#include "bwc/bwc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shared/log.h"

static int tofu_verify(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
	/* First enrolment: nothing to pin against yet. identity_commit checks that
	 * this server belongs to the system it offers before anything is kept. */
	return 1;
}

static int connect_timeout(int fd, const struct sockaddr_in6 *sa, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int err = 0, flags = fcntl(fd, F_GETFL);
	socklen_t len = sizeof(err);

	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
			return -(err ? err : errno);
	}
	fcntl(fd, F_SETFL, flags);
	return 0;
}

static WOLFSSL_CTX *make_ctx(struct bwc_identity *id, char *why, size_t whylen)
{
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
	int groups[] = { WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1 };
	const struct bwc_system *sys = &id->sys;
	int loaded = 0;

	if (!ctx) {
		snprintf(why, whylen, "cannot create TLS context");
		return NULL;
	}
	if (wolfSSL_CTX_set_cipher_list(ctx, "TLS13-CHACHA20-POLY1305-SHA256:"
					"TLS13-AES256-GCM-SHA384:TLS13-AES128-GCM-SHA256") != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_set_groups(ctx, groups, 2) != WOLFSSL_SUCCESS)
		goto fail;
	if (sys->enrolled) {
		for (size_t i = 0; i < sys->n_ca; i++) {
			if (!identity_pinned(sys, sys->ca[i], sys->ca_len[i]))
				continue;   /* only CA certificates whose key is pinned */
			if (wolfSSL_CTX_load_verify_buffer(ctx, sys->ca[i], (long)sys->ca_len[i],
							   WOLFSSL_FILETYPE_ASN1) == WOLFSSL_SUCCESS)
				loaded++;
		}
		if (!loaded) {
			snprintf(why, whylen, "no pinned system CA usable: reset the camera to enrol again");
			goto out;
		}
		wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, NULL);
		if (wolfSSL_CTX_use_certificate_buffer(ctx, id->ldevid, (long)id->ldevid_len,
						       WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS ||
		    ks_bind_tls(id->ks, "ldevid", ctx) != 0)
			goto fail;
	} else {
		wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, tofu_verify);
		if (wolfSSL_CTX_use_certificate_buffer(ctx, id->idevid, (long)id->idevid_len,
						       WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS ||
		    ks_bind_tls(id->ks, "idevid", ctx) != 0)
			goto fail;
	}
	return ctx;
fail:
	snprintf(why, whylen, "cannot set up TLS (suites, groups, certificate or key)");
out:
	wolfSSL_CTX_free(ctx);
	return NULL;
}

/* Blocking I/O with a one-second socket tick: retried until the I/O timeout,
 * and stopped at once when keep_going says so (undocked). */
static int tick(struct uplink *u, int ret, int *waited_ms)
{
	int err = wolfSSL_get_error(u->ssl, ret);

	if ((err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE) ||
	    *waited_ms >= u->io_timeout_ms)
		return 0;
	*waited_ms += UPLINK_TICK_MS;
	return !u->keep_going || u->keep_going(u->keep_going_ud);
}

static int write_all(struct uplink *u, const char *buf, size_t len)
{
	int waited_ms = 0;

	while (len > 0) {
		int n = wolfSSL_write(u->ssl, buf, (int)len);
		if (n <= 0) {
			if (tick(u, n, &waited_ms))
				continue;
			return -EIO;
		}
		waited_ms = 0;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int uplink_connect(struct uplink *u, struct bwc_identity *id, const struct in6_addr *addr,
		   char *why, size_t whylen)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	struct timeval tv = { UPLINK_TICK_MS / 1000, (UPLINK_TICK_MS % 1000) * 1000 };
	char host[INET6_ADDRSTRLEN];
	WOLFSSL_X509 *x;
	const unsigned char *der;
	int r, len = 0;

	memset(u, 0, sizeof(*u));
	u->fd = -1;
	u->io_timeout_ms = id->cfg->io_timeout_ms;
	sa.sin6_addr = *addr;
	sa.sin6_port = htons((uint16_t)id->cfg->port);
	sa.sin6_scope_id = if_nametoindex(id->cfg->interface);
	inet_ntop(AF_INET6, addr, host, sizeof(host));
	snprintf(u->peer, sizeof(u->peer), "[%s%%%s]:%d", host, id->cfg->interface, id->cfg->port);
	u->fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	r = u->fd < 0 ? -errno : connect_timeout(u->fd, &sa, id->cfg->connect_timeout_ms);
	if (r < 0) {
		snprintf(why, whylen, "cannot connect to %s: %s", u->peer, strerror(-r));
		return UPLINK_CONNECT_FAILED;
	}
	setsockopt(u->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(u->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	u->ctx = make_ctx(id, why, whylen);
	if (!u->ctx)
		return UPLINK_TLS_FAILED;
	u->ssl = wolfSSL_new(u->ctx);
	if (!u->ssl || wolfSSL_set_fd(u->ssl, u->fd) != WOLFSSL_SUCCESS) {
		snprintf(why, whylen, "cannot create TLS session");
		return UPLINK_TLS_FAILED;
	}
	{
		int waited_ms = 0;
		while ((r = wolfSSL_connect(u->ssl)) != WOLFSSL_SUCCESS && tick(u, r, &waited_ms))
			;
	}
	if (r != WOLFSSL_SUCCESS) {
		int err = wolfSSL_get_error(u->ssl, r);
		snprintf(why, whylen, "TLS handshake with %s failed: %s%s", u->peer,
			 wolfSSL_ERR_reason_error_string((unsigned long)err),
			 id->sys.enrolled ? " (controller not of the pinned system?)" : "");
		return UPLINK_TLS_FAILED;
	}
	x = wolfSSL_get_peer_certificate(u->ssl);
	der = x ? wolfSSL_X509_get_der(x, &len) : NULL;
	if (!der || len <= 0 || (size_t)len > sizeof(u->server_der)) {
		wolfSSL_X509_free(x);
		snprintf(why, whylen, "controller %s sent no usable certificate", u->peer);
		return UPLINK_TLS_FAILED;
	}
	memcpy(u->server_der, der, (size_t)len);
	u->server_len = (size_t)len;
	wolfSSL_X509_free(x);
	if (id->sys.enrolled && !identity_pinned(&id->sys, u->server_der, u->server_len)) {
		snprintf(why, whylen, "controller %s is not of the pinned system", u->peer);
		return UPLINK_TLS_FAILED;
	}
	return UPLINK_OK;
}

int uplink_read_answer(struct uplink *u, const char *path, int *ret_status, struct dock_http *h,
		       char *why, size_t whylen)
{
	char buf[8192];
	int r;

	dock_http_reset(h);
	dock_http_init(h, DOCK_HTTP_RESPONSE, DOCK_MAX_BODY);
	for (int waited_ms = 0;;) {
		size_t used;
		int n = wolfSSL_read(u->ssl, buf, sizeof(buf));
		if (n <= 0 && tick(u, n, &waited_ms))
			continue;   /* a pulled dock is noticed within a second */
		if (n <= 0 && u->keep_going && !u->keep_going(u->keep_going_ud)) {
			snprintf(why, whylen, "waiting for %s stopped (undocked)", u->peer);
			return UPLINK_STOPPED;
		}
		if (n <= 0) {
			snprintf(why, whylen, "no answer from %s to %s", u->peer, path);
			return UPLINK_IO_FAILED;
		}
		r = dock_http_feed(h, buf, (size_t)n, &used);
		if (r < 0) {
			snprintf(why, whylen, "malformed answer from %s: %s", u->peer, h->why);
			return UPLINK_PROTOCOL;
		}
		if (r == DOCK_HTTP_DONE)
			break;
	}
	*ret_status = h->status;
	return UPLINK_OK;
}

int uplink_request(struct uplink *u, const char *method, const char *path, const char *body,
		   int *ret_status, struct dock_http *h, char *why, size_t whylen)
{
	char head[512];
	size_t blen = body ? strlen(body) : 0;
	int hl = dock_http_request_head(head, sizeof(head), method, path, blen);

	if (hl < 0 || write_all(u, head, (size_t)hl) < 0 ||
	    (blen && write_all(u, body, blen) < 0)) {
		snprintf(why, whylen, "cannot send %s %s to %s", method, path, u->peer);
		return UPLINK_IO_FAILED;
	}
	return uplink_read_answer(u, path, ret_status, h, why, whylen);
}

int uplink_post(struct uplink *u, const char *path, const char *body, int *ret_status,
		struct dock_http *h, char *why, size_t whylen)
{
	return uplink_request(u, "POST", path, body, ret_status, h, why, whylen);
}

int uplink_send_file(struct uplink *u, const char *path, int fd, uint64_t offset, uint64_t len,
		     int (*keep_going)(void *), void *ud, char *why, size_t whylen)
{
	char head[512];
	uint8_t *buf = malloc(UPLINK_BLOCK);
	uint64_t done = 0;
	int hl = dock_http_request_head_ct(head, sizeof(head), "PUT", path,
					   "application/octet-stream", (size_t)len), r;

	if (!buf) {
		snprintf(why, whylen, "out of memory for a %d byte send buffer", UPLINK_BLOCK);
		return UPLINK_LOCAL_FAILED;
	}
	/* The clip is read once, front to back: read ahead, and drop what was
	 * sent from the page cache (hours of video would push out everything
	 * else; the receipt, not the cache, decides when the bytes may go). */
	(void)posix_fadvise(fd, (off_t)offset, (off_t)len, POSIX_FADV_SEQUENTIAL);
	r = hl < 0 || write_all(u, head, (size_t)hl) < 0 ? UPLINK_IO_FAILED : UPLINK_OK;
	if (r != UPLINK_OK)
		snprintf(why, whylen, "cannot send PUT %s to %s", path, u->peer);
	while (r == UPLINK_OK && done < len) {
		size_t want = len - done > UPLINK_BLOCK ? UPLINK_BLOCK : (size_t)(len - done);
		ssize_t n = pread(fd, buf, want, (off_t)(offset + done));
		if (n <= 0) {
			snprintf(why, whylen, "cannot read the clip at %llu: %s",
				 (unsigned long long)(offset + done), n < 0 ? strerror(errno) : "short file");
			r = UPLINK_LOCAL_FAILED;
		} else if (keep_going && !keep_going(ud)) {
			snprintf(why, whylen, "transfer to %s stopped (undocked)", u->peer);
			r = UPLINK_STOPPED;
		} else if (write_all(u, (const char *)buf, (size_t)n) < 0) {
			int undocked = keep_going && !keep_going(ud);
			if (undocked)
				snprintf(why, whylen, "transfer to %s stopped (undocked)", u->peer);
			else
				snprintf(why, whylen, "connection to %s lost while sending %s", u->peer,
					 path);
			r = undocked ? UPLINK_STOPPED : UPLINK_IO_FAILED;
		}
		if (n > 0)
			(void)posix_fadvise(fd, (off_t)(offset + done), (off_t)n, POSIX_FADV_DONTNEED);
		done += n > 0 ? (uint64_t)n : 0;
	}
	free(buf);
	return r;
}

int uplink_put_file(struct uplink *u, const char *path, int fd, uint64_t offset, uint64_t len,
		    int (*keep_going)(void *), void *ud, int *ret_status, struct dock_http *h,
		    char *why, size_t whylen)
{
	int r = uplink_send_file(u, path, fd, offset, len, keep_going, ud, why, whylen);

	if (r != UPLINK_OK)
		return r;
	return uplink_read_answer(u, path, ret_status, h, why, whylen);
}

void uplink_close(struct uplink *u)
{
	if (u->ssl) {
		wolfSSL_shutdown(u->ssl);
		wolfSSL_free(u->ssl);
	}
	wolfSSL_CTX_free(u->ctx);
	if (u->fd >= 0)
		close(u->fd);
	memset(u, 0, sizeof(*u));
	u->fd = -1;
}
