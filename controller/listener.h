/* listener.h - the dock server: libuv event loop, wolfSSL TLS 1.3 with client
 * certificates, HTTP/1.1 requests of the dock protocol. Holds no CA key: it
 * asks the CA process to issue. */
#ifndef BWC_LISTENER_H
#define BWC_LISTENER_H

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <uv.h>

#include "controller/ca.h"
#include "controller/forward.h"
#include "controller/controller.h"
#include "hw/keystore.h"

struct ctl {
	struct ctl_config cfg;
	registry_t *reg;
	struct ca_client ca;
	uint8_t ca_der[CERTS_MAX_DER];     /* system CA certificate */
	size_t ca_len;
	uint8_t ca_pin[32];
	uint8_t next_ca_der[CERTS_MAX_DER]; /* optional: next system CA (rotation) */
	size_t next_ca_len;
	uint8_t next_ca_pin[32];
	uint8_t mfr_der[CERTS_MAX_DER];    /* manufacturer root: enrolment only */
	size_t mfr_len;
	time_t server_not_after;           /* of the current TLS server certificate */
	/* Receipts are signed with the TLS server key, in the CA process (its
	 * certificate is issued by the pinned system CA, so cameras can verify
	 * them). */
	pthread_mutex_t signer_lock;
	uint32_t signer_gen;               /* the server key's generation (ca.h) */
	uint8_t signer_der[CERTS_MAX_DER]; /* its certificate */
	size_t signer_len;
	char system_id[DOCK_TEXT_MAX];
	char system_name[CERTS_NAME_MAX];
	char audit_path[PATH_MAX];
	struct forward_proc *fwd;          /* woken after each commit */
};

struct listener {
	uv_tcp_t tcp;
	WOLFSSL_CTX *tls;
	struct ctl *ctl;
	int n_conns;
	struct conn *conns;   /* every open connection, for shutdown */
	unsigned long n_accepted;
};

int listener_start(struct listener *l, uv_loop_t *loop, struct ctl *ctl, WOLFSSL_CTX *tls);
void listener_stop(struct listener *l);
/* Switches new connections to tls (the listener owns it from now on). */
void listener_set_tls(struct listener *l, WOLFSSL_CTX *tls);

/* Records a custody event in the audit trail; logs if that fails. */
void ctl_audit(struct ctl *ctl, const char *event, const char *serial, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
