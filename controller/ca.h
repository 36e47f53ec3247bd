/* ca.h - the CA process: the only holder of the system CA private key and of
 * the controller's TLS server key. The parent and the listener ask it to issue
 * certificates and to sign with the server key over a socketpair with
 * fixed-size messages; it checks every request before signing. The parent,
 * which parses every byte a camera sends, holds neither key: it cannot load
 * them (the CA key's stored form is mode 0000, the server key is never
 * stored), only ask for one of these operations. */
#ifndef BWC_CA_H
#define BWC_CA_H

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "certs/certs.h"
#include "controller/keys.h"

enum ca_kind {
	CA_ISSUE_LDEVID = 1,   /* a camera's certificate for its public key */
	CA_NEW_SERVER = 2,     /* a fresh TLS server key, made in the CA process, and its certificate */
	CA_SIGN_SERVER = 3,    /* an ECDSA signature of a digest with a server key */
};

#define CA_DIGEST_MAX 64
#define CA_TIMEOUT_MS 5000

struct ca_request {
	uint64_t seq;                         /* set by the client; echoed in the reply */
	uint32_t kind;                        /* enum ca_kind */
	uint32_t generation;                  /* sign: which server key */
	char serial[CERTS_SERIAL_MAX + 1];    /* LDevID */
	char common_name[CERTS_NAME_MAX];     /* server */
	int64_t not_before, not_after;
	uint32_t spki_len;                    /* LDevID: the camera's public key */
	uint8_t spki[CERTS_MAX_SPKI];
	uint32_t digest_len;                  /* sign */
	uint8_t digest[CA_DIGEST_MAX];
};

struct ca_reply {
	uint64_t seq;                         /* of the request answered */
	int32_t status;                       /* CERTS_OK or a certs_err */
	uint32_t generation;                  /* new server key */
	uint32_t der_len;
	uint8_t der[CERTS_MAX_DER];           /* certificate, or DER ECDSA signature */
};

struct ca_client {
	int fd;
	pid_t pid;
	pthread_mutex_t lock;
	uint64_t seq;         /* of the last request (under lock) */
	int dev_registered;   /* ca_bind_tls's crypto callback device */
};

/* The system CA key's name in the controller's keystore: CA_KEY_NAME
 * (controller/keys.h). */

/* Forks the CA process. keystore: the spec of the keystore holding
 * CA_KEY_NAME (opened in the CA process only; its server keys are made
 * there too); cert_path: the system CA
 * certificate; org: subject O of issued certificates. max_validity: the
 * longest validity it will sign. */
int ca_start(const char *keystore, const char *cert_path, const char *org,
	     long max_validity, struct ca_client *ret);
/* Every ca_* call below returns 0, a certs_err (what the CA process refused
 * or failed, or a bad argument / no memory here), or one of the channel's
 * errors, which never collide with those: -EPIPE (the CA process is gone),
 * -ETIMEDOUT (no answer within CA_TIMEOUT_MS), -EPROTO, -ENOSPC (answer
 * larger than the caller's buffer), -EIO. ca_strerror names each. */
const char *ca_strerror(int r);

/* Blocking request (thread-safe; sets req->seq); CA_TIMEOUT_MS timeout. */
int ca_issue(struct ca_client *c, struct ca_request *req, uint8_t *der, size_t cap,
	     size_t *ret_len);

/* The CA process makes a new TLS server key (in its keystore's TPM with the
 * TPM backend; never written anywhere) and issues its certificate: subject
 * common_name, valid not_before..not_after. *ret_gen names the key for
 * ca_sign_server/ca_bind_tls; the CA process keeps the current and the
 * previous generation (handshakes in progress at a renewal finish). */
int ca_new_server(struct ca_client *c, const char *common_name, time_t not_before,
		  time_t not_after, uint8_t *der, size_t cap, size_t *ret_len, uint32_t *ret_gen);
/* DER ECDSA signature of digest (1..CA_DIGEST_MAX bytes) with server key gen. */
int ca_sign_server(struct ca_client *c, uint32_t gen, const uint8_t *digest, size_t len,
		   uint8_t *sig, size_t cap, size_t *ret_len);
/* Makes ctx sign its TLS 1.3 CertificateVerify with server key gen, through
 * the CA process (a wolfCrypt crypto callback device of this process). */
int ca_bind_tls(struct ca_client *c, uint32_t gen, WOLFSSL_CTX *ctx);
void ca_stop(struct ca_client *c);

#endif
