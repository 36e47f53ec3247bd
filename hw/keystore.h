/* keystore.h - where a device keeps its private keys: create, sign, bind to
 * TLS, destroy, and seal secrets. Backends: "file" (rig and development: keys as
 * 0600 PEM files in a directory) and, later, "tpm" (tpm2-tss). Callers never
 * see which; only the file backend ever has private key bytes in memory. */
#ifndef BWC_KEYSTORE_H
#define BWC_KEYSTORE_H

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include <stddef.h>
#include <stdint.h>

#define KS_NAME_MAX 32   /* key names: [a-z0-9._-]{1,32} */

typedef struct keystore keystore_t;

enum ks_err {
	KS_OK = 0,
	KS_E_NOMEM = -1,
	KS_E_INPUT = -10,     /* bad name or argument */
	KS_E_NOT_FOUND = -11, /* no such key */
	KS_E_EXISTS = -12,    /* create over an existing key */
	KS_E_IO = -20,        /* backend storage failed (errno in log of the caller) */
	KS_E_CRYPTO = -30,
	KS_E_CORRUPT = -31,   /* stored key unreadable */
};

const char *ks_strerror(int err);

/* Opens the keystore described by spec: "file:/path/to/dir". */
int ks_open(const char *spec, keystore_t **ret);
void ks_close(keystore_t *ks);

/* Creates a new P-256 key called name (KS_E_EXISTS if present) and returns its
 * SubjectPublicKeyInfo DER. */
int ks_create_ec(keystore_t *ks, const char *name, uint8_t *spki, size_t cap, size_t *ret_len);
int ks_exists(keystore_t *ks, const char *name);
int ks_public_spki(keystore_t *ks, const char *name, uint8_t *spki, size_t cap, size_t *ret_len);

/* Atomically renames key from -> to, replacing to (the old 'to' is destroyed). */
int ks_rename(keystore_t *ks, const char *from, const char *to);
/* Destroys a key (wipes what the backend can). Missing key is not an error. */
int ks_destroy(keystore_t *ks, const char *name);

/* Loads name as an ecc_key usable for wolfCrypt signing (certs_issue,
 * certs_make_csr). Free with wc_ecc_free. */
int ks_load_signer(keystore_t *ks, const char *name, ecc_key *key);

/* Makes ctx use key name as its TLS private key. */
int ks_bind_tls(keystore_t *ks, const char *name, WOLFSSL_CTX *ctx);

#endif
