/* ca.h - the CA process: the only holder of the system CA private key. The
 * parent and the listener ask it to issue certificates over a socketpair with
 * fixed-size messages; it checks every request before signing. Moving the key
 * into a TPM changes ca.c only. */
#ifndef BWC_CA_H
#define BWC_CA_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "certs/certs.h"
#include "controller/keys.h"

enum ca_kind { CA_ISSUE_LDEVID = 1, CA_ISSUE_SERVER = 2 };

struct ca_request {
	uint32_t kind;                        /* enum ca_kind */
	char serial[CERTS_SERIAL_MAX + 1];    /* LDevID */
	char common_name[CERTS_NAME_MAX];     /* server */
	int64_t not_before, not_after;
	uint32_t spki_len;
	uint8_t spki[CERTS_MAX_SPKI];
};

struct ca_reply {
	int32_t status;                       /* CERTS_OK or a certs_err */
	uint32_t der_len;
	uint8_t der[CERTS_MAX_DER];
};

struct ca_client {
	int fd;
	pid_t pid;
	pthread_mutex_t lock;
};

/* The system CA key's name in the controller's keystore: CA_KEY_NAME
 * (controller/keys.h). */

/* Forks the CA process. keystore: the spec of the keystore holding
 * CA_KEY_NAME (opened in the CA process only); cert_path: the system CA
 * certificate; org: subject O of issued certificates. max_validity: the
 * longest validity it will sign. */
int ca_start(const char *keystore, const char *cert_path, const char *org,
	     long max_validity, struct ca_client *ret);
/* Blocking request (thread-safe); 5 s timeout. */
int ca_issue(struct ca_client *c, const struct ca_request *req, uint8_t *der, size_t cap,
	     size_t *ret_len);
void ca_stop(struct ca_client *c);

#endif
