/* destination.h - the content destination (EMS) the controller forwards to:
 * validation of its connection file (Axis Body worn integration API) and its
 * storage in the registry.
 *
 * Storage: registry meta key "destination" holds the validated connection
 * file as one JSON string; "destination_want_encryption" and
 * "destination_full_store_and_read" latch to "1" once either was true, so
 * neither can go back to false on a later import.
 * SECRET AT REST: BlobAPIKey sits in that document in registry.db (mode of the
 * state directory, 0700) in clear. The keystore issue seals it with the TPM
 * (store a sealed blob instead, unseal in the forwarding process only); until
 * then, anyone who can read registry.db can read the EMS password. It is never
 * logged nor printed: destination_print shows "(set)". */
#ifndef BWC_DESTINATION_H
#define BWC_DESTINATION_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hw/keystore.h"
#include "controller/controller.h"
#include "shared/envelope.h"

#define DEST_FILE_MAX 65536           /* bytes of a connection file */
#define DEST_MAX_URIS 10
#define DEST_MAX_CERTS 10
#define DEST_URI_MAX 512              /* characters (URIs are ASCII) */
#define DEST_CERT_B64_MAX 16384       /* characters of base64 per certificate */
#define DEST_CERT_DER_MAX (DEST_CERT_B64_MAX / 4 * 3)
#define DEST_PUBKEY_B64_MAX 2048
/* Text limits are in characters; buffers hold 4 UTF-8 bytes per character. */
#define DEST_TEXT_BYTES(chars) ((chars) * 4 + 1)

enum dest_container { DEST_MKV, DEST_MP4 };

/* A validated destination. Large (about 200 kB): allocate it, and wipe it
 * with destination_wipe (it holds the BlobAPIKey). */
struct destination {
	char site_name[DEST_TEXT_BYTES(64)];
	char app_name[DEST_TEXT_BYTES(256)];
	char app_version[DEST_TEXT_BYTES(128)];
	int ntp_server;                       /* ContentDestinationAsNTPServer */
	size_t n_uris;
	char uris[DEST_MAX_URIS][DEST_URI_MAX + 1];
	size_t n_certs;                       /* 0: plain HTTP, insecure */
	uint8_t cert_der[DEST_MAX_CERTS][DEST_CERT_DER_MAX];
	size_t cert_len[DEST_MAX_CERTS];
	char blob_user[DEST_TEXT_BYTES(64)];
	char blob_key[DEST_TEXT_BYTES(64)];   /* secret */
	enum dest_container container;        /* default mkv */
	int full_store_and_read;              /* default false */
	int want_encryption;                  /* default false */
	uint8_t pubkey_der[ENV_RSA_DER_MAX];  /* set iff want_encryption */
	size_t pubkey_len;
	unsigned pubkey_bits;
	char pubkey_id[DEST_TEXT_BYTES(128)];
	char document[DEST_FILE_MAX + 1];     /* the validated file, compact JSON */
};

/* Validates a connection file. Without certificates the destination is plain
 * HTTP, accepted only with allow_insecure. On refusal why names the field.
 * *ret is set only on success. Returns 0 or -EBADMSG / -EINVAL / -ENOMEM. */
int destination_parse(const char *json, size_t len, int allow_insecure, struct destination *ret,
		      char *why, size_t whylen);

/* Change rules on re-import: WantEncryption and FullStoreAndReadSupport may
 * only go from false to true. old may be NULL (first import). */
int destination_check_change(const struct destination *old, const struct destination *new_,
			     char *why, size_t whylen);

/* The document (with the BlobAPIKey) is kept in the registry encrypted:
 * AES-256-GCM under a random key that the keystore seals (DEST_SEAL_NAME;
 * the TPM with that backend), "v1:" + base64(nonce | ciphertext | tag), the
 * meta key as associated data. A copied registry or disk holds no secret;
 * only a process that can unseal with this host's keystore reads it.
 * load: 0, -ENOENT when none was imported, -EACCES when the keystore cannot
 * unseal (or the ciphertext does not authenticate), -EAGAIN when the keystore
 * is unreachable now (no TPM answering), other negative on error. */
#define DEST_SEAL_NAME "destination-key"
int destination_load(registry_t *r, keystore_t *ks, struct destination *ret);
/* destination_load in its two steps: the stored (sealed) form as it is in
 * the registry, malloc'd (a changed destination is noticed without
 * unsealing; 0, -ENOENT or other negative), and opening that form (the
 * errors of destination_load). */
int destination_stored_form(registry_t *r, char **ret);
int destination_open_form(keystore_t *ks, const char *sealed, struct destination *ret);
int destination_store(registry_t *r, keystore_t *ks, const struct destination *d);

/* parse + change rules (against the stored one and the latches) + store.
 * *ret (may be NULL) receives the new destination. */
int destination_import(registry_t *r, keystore_t *ks, const char *json, size_t len,
		       int allow_insecure, struct destination *ret, char *why, size_t whylen);

/* Human text or JSON; BlobAPIKey appears only as "(set)". */
int destination_print(const struct destination *d, int json, FILE *out);

void destination_wipe(struct destination *d);

#endif
