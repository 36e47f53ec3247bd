/* listener.c - one libuv loop serving every docked camera. wolfSSL runs on
 * memory buffers (our I/O callbacks), so the loop never blocks on a socket;
 * certificate issuance goes to the thread pool (the CA process answers). */
#include "controller/conn.h"

#include <wolfssl/wolfcrypt/error-crypt.h>

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/certs.h"
#include "shared/audit.h"
#include "shared/envelope.h"
#include "shared/log.h"
#include "shared/util.h"


static void conn_close(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void ctl_audit(struct ctl *ctl, const char *event, const char *serial, const char *fmt, ...)
{
	char text[512];
	json_t *detail;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	detail = json_pack("{ss}", "note", text);
	r = audit_append(ctl->audit_path, event, serial, detail);
	json_decref(detail);
	if (r < 0)
		log_error("audit: cannot record \"%s\" for %s in %s (code %d): custody trail "
			  "incomplete, check the state volume", event, serial ? serial : "-",
			  ctl->audit_path, r);
}

/* wolfSSL I/O on our buffers. */
static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct conn *c = ctx;
	size_t n;

	if (c->in_len == 0)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	/* Consumed from the front by an offset: no memmove per TLS record. */
	n = (size_t)sz < c->in_len ? (size_t)sz : c->in_len;
	memcpy(buf, c->in + c->in_off, n);
	c->in_off += n;
	c->in_len -= n;
	if (c->in_len == 0)
		c->in_off = 0;
	return (int)n;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap : 4096;
	uint8_t *nb;

	while (ncap < need)
		ncap *= 2;
	if (ncap == *cap)
		return 0;
	nb = realloc(*buf, ncap);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = ncap;
	return 0;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct conn *c = ctx;

	if (grow(&c->out, &c->out_cap, c->out_len + (size_t)sz) < 0)
		return WOLFSSL_CBIO_ERR_GENERAL;
	memcpy(c->out + c->out_len, buf, (size_t)sz);
	c->out_len += (size_t)sz;
	return sz;
}

struct wreq {
	uv_write_t req;
	uv_buf_t buf;
};

static void on_written(uv_write_t *req, int status)
{
	struct wreq *w = (struct wreq *)req;

	free(w->buf.base);
	free(w);
}

static void conn_flush(struct conn *c)
{
	struct wreq *w;

	if (c->out_len == 0 || uv_is_closing((uv_handle_t *)&c->tcp))
		return;
	w = malloc(sizeof(*w));
	if (!w)
		return;
	w->buf = uv_buf_init((char *)c->out, (unsigned)c->out_len);
	c->out = NULL;
	c->out_len = c->out_cap = 0;
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &w->buf, 1, on_written) < 0) {
		free(w->buf.base);
		free(w);
	}
}

static void conn_free(struct conn *c)
{
	c->l->n_conns--;
	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	wolfSSL_free(c->ssl);
	offload_free(c);
	dock_http_reset(&c->http);
	free(c->in);
	free(c->out);
	util_wipe(c, sizeof(*c));
	free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	if (--c->handles_open == 0 && c->work_pending == 0)
		conn_free(c);
}

static void conn_close(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->closing)
		return;
	c->closing = 1;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	log_info("connection from %s closed: handshake=%s peer=%s app_bytes_in=%llu reason=%s",
		 c->peer, c->handshake_done ? "ok" : "failed",
		 c->kind == PEER_NONE ? "-" : c->peer_info.serial,
		 (unsigned long long)c->app_bytes_in, c->reason);
	if (c->handshake_done) {
		wolfSSL_shutdown(c->ssl);
		conn_flush(c);
	}
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void on_timeout(uv_timer_t *t)
{
	struct conn *c = t->data;

	conn_close(c, c->handshake_done ? "idle timeout" : "handshake timeout");
}

static void arm_timer(struct conn *c)
{
	const struct ctl_config *cfg = &c->l->ctl->cfg;

	uv_timer_start(&c->timer, on_timeout,
		       (uint64_t)(c->handshake_done ? cfg->idle_timeout_ms : cfg->handshake_timeout_ms), 0);
}

/* Sends one HTTP response with a JSON body. */
void conn_respond(struct conn *c, int status, const char *body)
{
	char head[256];
	size_t blen = strlen(body);
	int hl = dock_http_response_head(head, sizeof(head), status, blen);

	if (hl < 0 || wolfSSL_write(c->ssl, head, hl) != hl ||
	    (blen > 0 && wolfSSL_write(c->ssl, body, (int)blen) != (int)blen)) {
		conn_close(c, "cannot write response");
		return;
	}
	conn_flush(c);
}

void conn_respond_error(struct conn *c, enum dock_code code, enum dock_standing standing,
			  const char *fmt, ...)
{
	struct dock_error_resp e = { .code = code, .standing = standing };
	char *body = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e.message, sizeof(e.message), fmt, ap);
	va_end(ap);
	log_warn("%s (%s): refused with %s: %s", c->peer,
		 c->kind == PEER_NONE ? "-" : c->peer_info.serial, dock_code_name(code), e.message);
	if (dock_encode_error(&e, &body) < 0) {
		conn_close(c, "out of memory");
		return;
	}
	conn_respond(c, dock_code_status(code), body);
	free(body);
}

static void http_init(struct conn *c)
{
	dock_http_init(&c->http, DOCK_HTTP_REQUEST, DOCK_MAX_BODY);
	c->http.on_head = offload_on_head;
	c->http.on_body = offload_on_body;
	c->http.ud = c;
	c->http.stream_max = DOCK_MAX_CHUNK;
}

void conn_request_done(struct conn *c)
{
	dock_http_reset(&c->http);
	http_init(c);
	c->busy = 0;
	if (!c->closing) {
		arm_timer(c);
		conn_drive(c);
	}
}

/* ---- identity ---------------------------------------------------------- */

static int identify_peer(struct conn *c)
{
	struct ctl *ctl = c->l->ctl;
	WOLFSSL_X509 *x = wolfSSL_get_peer_certificate(c->ssl);
	const unsigned char *der;
	int len = 0, r;

	if (!x)
		return -EACCES;
	der = wolfSSL_X509_get_der(x, &len);
	r = der && len > 0 ? certs_parse(der, (size_t)len, &c->peer_info) : CERTS_E_PARSE;
	if (r == 0 && certs_verify_issued_by(der, (size_t)len, ctl->ca_der, ctl->ca_len, 0, 0) == 0)
		c->kind = PEER_LDEVID;
	else if (r == 0 && ctl->next_ca_len &&
		 certs_verify_issued_by(der, (size_t)len, ctl->next_ca_der, ctl->next_ca_len, 0, 0) == 0)
		c->kind = PEER_LDEVID;
	else if (r == 0 && certs_verify_issued_by(der, (size_t)len, ctl->mfr_der, ctl->mfr_len, 1,
						  time(NULL)) == 0)
		c->kind = PEER_IDEVID;
	wolfSSL_X509_free(x);
	if (c->kind == PEER_NONE || certs_check_serial(c->peer_info.serial) != 0)
		return -EACCES;
	return 0;
}

/* ---- issuance (thread pool) -------------------------------------------- */

static void job_work(uv_work_t *w)
{
	struct conn_job *job = w->data;

	job->work(job->c);
}

static void job_done(uv_work_t *w, int status)
{
	struct conn_job *job = w->data;
	struct conn *c = job->c;

	job->pending = 0;
	c->work_pending--;
	if (c->closing) {
		if (c->handles_open == 0 && c->work_pending == 0)
			conn_free(c);
		return;
	}
	job->status = status;
	job->done(c);
}

int conn_queue_job(struct conn *c, struct conn_job *job, void (*work)(struct conn *),
		   void (*done)(struct conn *))
{
	int r;

	if (job->pending)
		return -EBUSY;
	job->c = c;
	job->work = work;
	job->done = done;
	job->req.data = job;
	r = uv_queue_work(c->tcp.loop, &job->req, job_work, job_done);
	if (r == 0) {
		job->pending = 1;
		c->work_pending++;
	}
	return r;
}

int conn_queue(struct conn *c, void (*work)(struct conn *), void (*done)(struct conn *))
{
	return conn_queue_job(c, &c->job, work, done);
}

static void issue_work(struct conn *c)
{
	c->ca_status = ca_issue(&c->l->ctl->ca, &c->ca_req, c->issued, sizeof(c->issued),
				&c->issued_len);
}

/* The destination's public key (only the public part: bwcctl stores it apart
 * from the connection file's secrets), so cameras encrypt new recordings. */
static void add_destination_key(struct ctl *ctl, struct dock_cert_resp *m)
{
	char b64[4096];

	m->dest_key_len = 0;
	if (registry_meta_get(ctl->reg, "destination_pubkey", b64, sizeof(b64)) < 0 ||
	    registry_meta_get(ctl->reg, "destination_pubkey_id", m->dest_key_id,
			      sizeof(m->dest_key_id)) < 0 ||
	    env_b64_decode(b64, strlen(b64), m->dest_key, sizeof(m->dest_key), &m->dest_key_len) < 0)
		m->dest_key_len = 0;
}

static void fill_cert_resp(struct ctl *ctl, struct conn *c, struct dock_cert_resp *m)
{
	memset(m, 0, sizeof(*m));
	m->standing = c->standing_at_dock;
	snprintf(m->system_id, sizeof(m->system_id), "%s", ctl->system_id);
	memcpy(m->cert, c->issued, c->issued_len);
	m->cert_len = c->issued_len;
	memcpy(m->ca[0], ctl->ca_der, ctl->ca_len);
	m->ca_len[0] = ctl->ca_len;
	memcpy(m->pins[0], ctl->ca_pin, 32);
	m->n_ca = m->n_pins = 1;
	if (ctl->next_ca_len) {
		memcpy(m->ca[1], ctl->next_ca_der, ctl->next_ca_len);
		m->ca_len[1] = ctl->next_ca_len;
		memcpy(m->pins[1], ctl->next_ca_pin, 32);
		m->n_ca = m->n_pins = 2;
	}
	add_destination_key(ctl, m);
}

static void issue_done(struct conn *c)
{
	struct ctl *ctl = c->l->ctl;
	struct dock_cert_resp m;
	struct camera_rec rec;
	struct cert_info issued;
	char *body = NULL;
	int enrol = c->kind == PEER_IDEVID;

	if (c->job.status < 0 || c->ca_status < 0 ||
	    certs_parse(c->issued, c->issued_len, &issued) != 0) {
		conn_respond_error(c, DOCK_C_INTERNAL, DOCK_S_UNKNOWN,
			      "the system CA could not issue a certificate (%s); try again",
			      c->job.status < 0  ? "the issuing job did not run"
			      : c->ca_status < 0 ? ca_strerror(c->ca_status)
						 : "the issued certificate is unreadable");
		conn_request_done(c);
		return;
	}
	if (registry_get(ctl->reg, c->peer_info.serial, &rec) < 0) {
		memset(&rec, 0, sizeof(rec));
		snprintf(rec.serial, sizeof(rec.serial), "%s", c->peer_info.serial);
		rec.created = time(NULL);
	}
	rec.state = CAM_ACTIVE;
	rec.not_after = issued.not_after;
	util_hex(issued.cert_serial, issued.cert_serial_len > 32 ? 32 : issued.cert_serial_len,
		 rec.cert_serial);
	rec.last_dock = time(NULL);
	if (c->csr_req.model[0])
		snprintf(rec.model, sizeof(rec.model), "%s", c->csr_req.model);
	if (c->csr_req.firmware[0])
		snprintf(rec.firmware, sizeof(rec.firmware), "%s", c->csr_req.firmware);
	if (registry_put(ctl->reg, &rec) < 0) {
		conn_respond_error(c, DOCK_C_UNAVAILABLE, DOCK_S_UNKNOWN,
			      "registry write failed; try again");
		log_error("registry: cannot record %s: %s", rec.serial, registry_errmsg(ctl->reg));
		conn_request_done(c);
		return;
	}
	{
		char na[32];
		util_time_iso(issued.not_after, na, sizeof(na));
		ctl_audit(ctl, enrol ? "enrol" : "renew", rec.serial,
			  "certificate %s issued, valid until %s, standing at dock %s",
			  rec.cert_serial, na, dock_standing_name(c->standing_at_dock));
		log_info("%s: %s %s: certificate %s valid until %s (standing at dock: %s)",
			 c->peer, enrol ? "enrolled" : "renewed", rec.serial, rec.cert_serial, na,
			 dock_standing_name(c->standing_at_dock));
	}
	fill_cert_resp(ctl, c, &m);
	if (dock_encode_cert_resp(&m, &body) < 0) {
		conn_close(c, "out of memory");
		return;
	}
	conn_respond(c, 200, body);
	free(body);
	conn_request_done(c);
}

/* Checks the CSR and sends it to the CA; answers later in issue_done. */
static void start_issue(struct conn *c, enum dock_standing standing)
{
	struct ctl *ctl = c->l->ctl;
	struct cert_info csr;
	time_t now = time(NULL);
	int r;

	r = certs_parse_csr(c->csr_req.csr, c->csr_req.csr_len, &csr);
	if (r == CERTS_E_KEY_TYPE) {
		conn_respond_error(c, DOCK_C_KEY, standing, "CSR key must be ECDSA P-256");
		goto done;
	}
	if (r != 0) {
		conn_respond_error(c, DOCK_C_CSR, standing, "CSR rejected: %s", certs_strerror(r));
		goto done;
	}
	if (strcmp(csr.serial, c->peer_info.serial) != 0) {
		conn_respond_error(c, DOCK_C_CSR, standing,
			      "CSR is for serial %s but the client certificate is %s", csr.serial,
			      c->peer_info.serial);
		goto done;
	}
	if (memcmp(csr.spki_sha256, c->peer_info.spki_sha256, 32) == 0) {
		conn_respond_error(c, DOCK_C_KEY, standing,
			      "CSR reuses the key of the presented certificate: renewal needs a new key");
		goto done;
	}
	memset(&c->ca_req, 0, sizeof(c->ca_req));
	c->ca_req.kind = CA_ISSUE_LDEVID;
	snprintf(c->ca_req.serial, sizeof(c->ca_req.serial), "%s", csr.serial);
	c->ca_req.not_before = now - 60;
	c->ca_req.not_after = now + (int64_t)ctl->cfg.lifetime_days * DAY_SECONDS;
	c->ca_req.spki_len = (uint32_t)csr.spki_len;
	memcpy(c->ca_req.spki, csr.spki, csr.spki_len);
	c->standing_at_dock = standing;
	if (conn_queue(c, issue_work, issue_done) < 0) {
		conn_respond_error(c, DOCK_C_UNAVAILABLE, standing, "controller busy; try again");
		goto done;
	}
	return;
done:
	conn_request_done(c);
}

/* ---- requests ---------------------------------------------------------- */

static int decode_csr_body(struct conn *c)
{
	char why[160];

	if (dock_decode_csr_req(c->http.body, c->http.body_len, &c->csr_req, why, sizeof(why)) < 0) {
		conn_respond_error(c, DOCK_C_BAD_REQUEST, DOCK_S_UNKNOWN, "bad request body: %s", why);
		conn_request_done(c);
		return -1;
	}
	return 0;
}

static void handle_enrol(struct conn *c)
{
	struct ctl *ctl = c->l->ctl;
	struct camera_rec rec;
	const char *serial = c->peer_info.serial;
	int r;

	if (c->kind != PEER_IDEVID) {
		conn_respond_error(c, DOCK_C_IDENTITY, DOCK_S_UNKNOWN,
			      "enrolment needs the factory identity (IDevID); this camera is enrolled: "
			      "use /v1/renew");
		conn_request_done(c);
		return;
	}
	if (decode_csr_body(c) < 0)
		return;
	r = registry_get(ctl->reg, serial, &rec);
	if (r == 0 && rec.state == CAM_LOST) {
		ctl_audit(ctl, "lost-return", serial, "lost camera tried to enrol from %s", c->peer);
		log_warn("lost camera %s returned (enrolment attempt from %s)", serial, c->peer);
		conn_respond_error(c, DOCK_C_LOST, DOCK_S_LOST, "camera is reported lost");
		conn_request_done(c);
		return;
	}
	if (r == 0 && rec.state == CAM_HELD) {
		conn_respond_error(c, DOCK_C_HELD, DOCK_S_HELD,
			      "camera is held: an administrator must run bwcctl camera accept %s",
			      serial);
		conn_request_done(c);
		return;
	}
	if (ctl->cfg.auto_enrol || (r == 0 && (rec.state == CAM_ADMITTED || rec.state == CAM_ACCEPTED))) {
		start_issue(c, DOCK_S_ENROLLED);
		return;
	}
	if (r != 0 || rec.state != CAM_PENDING) {
		if (r != 0) {
			memset(&rec, 0, sizeof(rec));
			snprintf(rec.serial, sizeof(rec.serial), "%s", serial);
			rec.created = time(NULL);
		}
		rec.state = CAM_PENDING;
		snprintf(rec.model, sizeof(rec.model), "%s", c->csr_req.model);
		snprintf(rec.firmware, sizeof(rec.firmware), "%s", c->csr_req.firmware);
		rec.last_dock = time(NULL);
		if (registry_put(ctl->reg, &rec) == 0)
			ctl_audit(ctl, "enrol-request", serial, "factory-new camera asks to enrol from %s",
				  c->peer);
	}
	conn_respond_error(c, DOCK_C_PENDING, DOCK_S_PENDING,
		      "waiting for admission: an administrator must run bwcctl camera enroll %s",
		      serial);
	conn_request_done(c);
}

static void handle_renew(struct conn *c)
{
	struct ctl *ctl = c->l->ctl;
	struct camera_rec rec;
	const char *serial = c->peer_info.serial;
	enum dock_standing st;
	time_t now = time(NULL);

	if (c->kind != PEER_LDEVID) {
		conn_respond_error(c, DOCK_C_IDENTITY, DOCK_S_UNKNOWN,
			      "renewal needs a certificate of this system; enrol first (/v1/enrol)");
		conn_request_done(c);
		return;
	}
	if (decode_csr_body(c) < 0)
		return;
	if (registry_get(ctl->reg, serial, &rec) != 0) {
		conn_respond_error(c, DOCK_C_IDENTITY, DOCK_S_UNKNOWN,
			      "camera %s is not in this system's registry", serial);
		conn_request_done(c);
		return;
	}
	if (rec.state == CAM_LOST) {
		ctl_audit(ctl, "lost-return", serial, "lost camera docked from %s", c->peer);
		log_warn("lost camera %s returned: docked from %s; refused", serial, c->peer);
		conn_respond_error(c, DOCK_C_LOST, DOCK_S_LOST, "camera is reported lost");
		conn_request_done(c);
		return;
	}
	st = policy_time_standing(now, c->peer_info.not_after, (long)ctl->cfg.grace_days * DAY_SECONDS);
	if (rec.state == CAM_ACCEPTED) {
		ctl_audit(ctl, "accept-renew", serial, "re-accepted camera renewed (was %s)",
			  dock_standing_name(st));
		start_issue(c, st);
		return;
	}
	if (st == DOCK_S_HELD || rec.state == CAM_HELD) {
		if (rec.state != CAM_HELD) {
			rec.state = CAM_HELD;
			rec.last_dock = now;
			if (registry_put(ctl->reg, &rec) == 0)
				ctl_audit(ctl, "held", serial, "certificate expired beyond the %d-day grace",
					  ctl->cfg.grace_days);
		}
		conn_respond_error(c, DOCK_C_HELD, DOCK_S_HELD,
			      "certificate expired more than %d days ago: an administrator must run "
			      "bwcctl camera accept %s", ctl->cfg.grace_days, serial);
		conn_request_done(c);
		return;
	}
	if (st == DOCK_S_GRACE)
		ctl_audit(ctl, "grace", serial, "expired certificate accepted within the grace period");
	start_issue(c, st);
}

static void handle_request(struct conn *c)
{
	const char *path = c->http.path;
	int post = c->http.method == HTTP_POST;
	struct dock_route route;

	if (c->http.version == DOCK_VERSION && dock_parse_route(path, &route) == 0 &&
	    offload_request(c, &route))
		return;

	if (c->http.version != 0 && c->http.version != DOCK_VERSION) {
		conn_respond_error(c, DOCK_C_BAD_REQUEST, DOCK_S_UNKNOWN,
			      "dock protocol version %ld not supported (this controller speaks %d)",
			      c->http.version, DOCK_VERSION);
		conn_request_done(c);
	} else if (strcmp(path, "/v1/enrol") == 0 && post) {
		handle_enrol(c);
	} else if (strcmp(path, "/v1/renew") == 0 && post) {
		handle_renew(c);
	} else if (strcmp(path, "/v1/enrol") == 0 || strcmp(path, "/v1/renew") == 0) {
		conn_respond_error(c, DOCK_C_METHOD, DOCK_S_UNKNOWN, "use POST for %s", path);
		conn_request_done(c);
	} else {
		conn_respond_error(c, DOCK_C_NOT_FOUND, DOCK_S_UNKNOWN, "no such resource");
		conn_request_done(c);
	}
}

/* ---- the connection state machine --------------------------------------- */

static void after_handshake(struct conn *c)
{
	c->handshake_done = 1;
	if (identify_peer(c) < 0) {
		conn_close(c, "client certificate is neither from this system nor a valid "
			   "factory identity");
		return;
	}
	log_info("%s: TLS 1.3 with %s %s (%s)", c->peer,
		 c->kind == PEER_IDEVID ? "factory identity" : "system certificate",
		 c->peer_info.serial, wolfSSL_get_cipher_name(c->ssl));
	ctl_audit(c->l->ctl, "dock", c->peer_info.serial, "TLS session from %s with %s", c->peer,
		  c->kind == PEER_IDEVID ? "factory identity" : "system certificate");
	arm_timer(c);
}

/* Feeds n plaintext bytes at p, which may be the unread rest in c->pend.
 * Bytes after a complete request are kept in c->pend before the request is
 * handled: only a clip PUT may be followed by the next request before its
 * answer (PROTOCOL.md §9.1); after any other request that closes the
 * connection, as it always did. */
static void feed_app(struct conn *c, const char *p, size_t n)
{
	int from_pend = p >= c->pend && p < c->pend + sizeof(c->pend);
	size_t used = 0;
	int r = dock_http_feed(&c->http, p, n, &used);

	if (r < 0 && c->io.bad_pipeline) {
		conn_close(c, "pipelined requests are not supported: only chunks of the clip being "
			   "sent may follow an unanswered chunk");
		return;
	}
	if (r < 0) {
		conn_respond_error(c, c->http.error, DOCK_S_UNKNOWN, "%s", c->http.why);
		conn_close(c, "malformed request: %s", c->http.why);
		return;
	}
	if (from_pend && used == 0 && r != DOCK_HTTP_DONE) {
		conn_close(c, "request parser made no progress");   /* never loop on pend */
		return;
	}
	if (from_pend) {
		c->pend_off += used;
		c->pend_len -= used;
	} else if (used < n) {
		memcpy(c->pend, p + used, n - used);
		c->pend_off = 0;
		c->pend_len = n - used;
	}
	if (c->pend_len == 0)
		c->pend_off = 0;
	if (r == DOCK_HTTP_DONE && c->pend_len && !c->http.streaming) {
		conn_close(c, "pipelined requests are not supported");
		return;
	}
	if (r == DOCK_HTTP_DONE) {
		c->busy = 1;
		uv_timer_stop(&c->timer);
		handle_request(c);
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

void conn_drive(struct conn *c)
{
	char buf[READ_CHUNK];

	if (!c->handshake_done) {
		int r = wolfSSL_accept(c->ssl);
		if (r != WOLFSSL_SUCCESS) {
			int err = wolfSSL_get_error(c->ssl, r);
			conn_flush(c);
			if (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE)
				conn_close(c, "TLS handshake failed: %s",
					   wolfSSL_ERR_reason_error_string((unsigned long)err));
			return;
		}
		conn_flush(c);
		after_handshake(c);
	}
	while (!c->closing && !c->busy && !offload_blocked(c)) {
		int n;
		if (c->pend_len) {
			feed_app(c, c->pend + c->pend_off, c->pend_len);
			if (!c->closing && !c->busy && offload_flush(c))
				break;
			continue;
		}
		n = wolfSSL_read(c->ssl, buf, sizeof(buf));
		if (n <= 0) {
			int err = wolfSSL_get_error(c->ssl, n);
			conn_flush(c);
			if (err == WOLFSSL_ERROR_ZERO_RETURN)
				conn_close(c, "peer closed");
			else if (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE)
				conn_close(c, "TLS error: %s",
					   wolfSSL_ERR_reason_error_string((unsigned long)err));
			break;
		}
		c->app_bytes_in += (uint64_t)n;
		feed_app(c, buf, (size_t)n);
		if (!c->closing && !c->busy && offload_flush(c))
			break;
	}
	conn_flush(c);
	/* Backpressure: reading resumes once buffered ciphertext drains. */
	if (c->reading_paused && !c->closing && c->in_len < MAX_PENDING_IN / 2) {
		c->reading_paused = 0;
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;

	/* The socket is read straight into the ciphertext buffer: larger reads,
	 * one copy less. Before the handshake only as much as a record. */
	size_t space = c->handshake_done ? READ_SPACE : READ_CHUNK;

	if (c->in_off > 0) {   /* compact once per read, not once per record */
		memmove(c->in, c->in + c->in_off, c->in_len);
		c->in_off = 0;
	}
	if (grow(&c->in, &c->in_cap, c->in_len + space) < 0) {
		*buf = uv_buf_init(NULL, 0);   /* on_read gets UV_ENOBUFS */
		return;
	}
	*buf = uv_buf_init((char *)c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;

	if (nread == 0)
		return;
	if (nread < 0) {
		conn_close(c, "%s", nread == UV_EOF ? "peer closed" : uv_strerror((int)nread));
		return;
	}
	c->in_len += (size_t)nread;   /* on_alloc gave the space after in[in_len] */
	if (c->in_len >= MAX_PENDING_IN && !c->reading_paused) {
		c->reading_paused = 1;
		uv_read_stop(s);
	}
	conn_drive(c);
}

static void format_peer(struct conn *c)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char host[64] = "?", ifn[IF_NAMESIZE] = "";

	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0 &&
	    ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		uv_ip6_name(s6, host, sizeof(host));
		if (s6->sin6_scope_id)
			if_indextoname(s6->sin6_scope_id, ifn);
		snprintf(c->peer, sizeof(c->peer), "[%s%s%s]:%d", host, ifn[0] ? "%" : "", ifn,
			 ntohs(s6->sin6_port));
	} else {
		snprintf(c->peer, sizeof(c->peer), "unknown peer");
	}
}

static void on_connection(uv_stream_t *server, int status)
{
	struct listener *l = server->data;
	struct conn *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->l = l;
	c->next = l->conns;
	c->pprev = &l->conns;
	if (l->conns)
		l->conns->pprev = &c->next;
	l->conns = c;
	l->n_conns++;
	l->n_accepted++;
	uv_tcp_init(server->loop, &c->tcp);
	uv_timer_init(server->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->handles_open = 2;
	offload_init(c);
	http_init(c);
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		conn_close(c, "accept failed");
		return;
	}
	format_peer(c);
	if (l->n_conns > l->ctl->cfg.max_connections) {
		conn_close(c, "too many connections (limit %d)", l->ctl->cfg.max_connections);
		return;
	}
	c->ssl = wolfSSL_new(l->tls);
	if (!c->ssl) {
		conn_close(c, "cannot create TLS session");
		return;
	}
	wolfSSL_SetIOReadCtx(c->ssl, c);
	wolfSSL_SetIOWriteCtx(c->ssl, c);
	uv_tcp_nodelay(&c->tcp, 1);
	arm_timer(c);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* Expired client certificates pass the TLS layer: the grace rules decide
 * (handle_renew). Any other verification error fails the handshake. */
static int verify_cb(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
	int err = wolfSSL_X509_STORE_CTX_get_error(store);

	if (preverify)
		return 1;
	/* wolfSSL 5.5 with the OpenSSL layer reports an expired certificate as
	 * X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD; other builds as the codes
	 * below. A malformed date cannot slip through: identify_peer parses the
	 * certificate again and refuses what it cannot read. */
	return err == X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD ||
	       err == X509_V_ERR_CERT_HAS_EXPIRED || err == ASN_AFTER_DATE_E;
}

void listener_set_tls(struct listener *l, WOLFSSL_CTX *tls)
{
	wolfSSL_CTX_set_verify(tls, WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			       verify_cb);
	wolfSSL_CTX_SetIORecv(tls, io_recv);
	wolfSSL_CTX_SetIOSend(tls, io_send);
	/* Sessions in progress keep a reference to the old context. */
	wolfSSL_CTX_free(l->tls);
	l->tls = tls;
}

int listener_start(struct listener *l, uv_loop_t *loop, struct ctl *ctl, WOLFSSL_CTX *tls)
{
	struct sockaddr_in6 addr;
	uv_os_fd_t fd;
	int r;

	memset(l, 0, sizeof(*l));
	l->ctl = ctl;
	listener_set_tls(l, tls);
	uv_ip6_addr("::", ctl->cfg.port, &addr);
	if ((r = uv_tcp_init(loop, &l->tcp)) < 0)
		return r;
	l->tcp.data = l;
	if ((r = uv_tcp_bind(&l->tcp, (struct sockaddr *)&addr, UV_TCP_IPV6ONLY)) < 0)
		return r;
	if (uv_fileno((uv_handle_t *)&l->tcp, &fd) == 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ctl->cfg.interface,
		       (socklen_t)strlen(ctl->cfg.interface)) < 0)
		return -errno;
	return uv_listen((uv_stream_t *)&l->tcp, 128, on_connection);
}

void listener_stop(struct listener *l)
{
	wolfSSL_CTX_free(l->tls);
	l->tls = NULL;
	for (struct conn *c = l->conns; c; c = c->next)
		conn_close(c, "controller stopping");
	uv_close((uv_handle_t *)&l->tcp, NULL);
}
