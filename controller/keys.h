/* keys.h - what the controller keeps in its keystore, and which of it no
 * process may use once past its privileged start-up.
 *
 * Owner of each: the system CA key - the CA process (loads it at its start,
 * then drops to nobody); the TLS server key - the CA process too, which
 * makes it at every start and renewal without storing it and signs the
 * handshakes and receipts of the controller process with it; the destination
 * document key (DEST_SEAL_NAME, destination.h) - the forwarder, and bwcctl
 * when the administrator imports a document; the master-key verifier and the
 * staging volume key - bwcctl only (the administrator). */
#ifndef BWC_CTL_KEYS_H
#define BWC_CTL_KEYS_H

#include <stddef.h>

#include "hw/keystore.h"

#define CA_KEY_NAME "system-ca"
#define MASTER_VERIFIER "master-verifier"
#define STAGING_KEY "staging-volume-key"
#define STAGING_KEY_NEXT "staging-volume-key-next"   /* during a re-key */
/* The two alternating TLS server keys: in the CA process's keystore handle
 * only (never stored; earlier versions stored them, the controller deletes
 * those at start). */
#define TLS_SERVER_KEYS { "tls-server-a", "tls-server-b" }

/* ks_restrict on every key above that only the CA process (while still
 * privileged) or bwcctl may use: the controller and the forwarder, which
 * drop every capability before they read a byte from a camera or from the
 * network, cannot load or unseal them afterwards. Names not stored are
 * skipped. 0, or -1 with why said. */
int ctl_restrict_keys(keystore_t *ks, char *why, size_t whylen);

#endif
