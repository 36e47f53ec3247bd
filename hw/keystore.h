/* keystore.h - where a device keeps its private keys: create, sign, bind to
 * TLS, destroy, and seal secrets. Backends: "file" (rig and development: keys as
 * 0600 PEM files in a directory) and "tpm" (tpm2-tss). Callers never see
 * which; only the file backend ever has private key bytes in memory. */
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
	/* TPM backend (ks_last_detail() says more, e.g. the TCTI or the TPM code) */
	KS_E_NO_TPM = -40,    /* no TPM reachable through the TCTI of the spec */
	KS_E_TPM = -41,       /* the TPM refused or failed a command */
	KS_E_WRONG_TPM = -42, /* blob made by another TPM (or owner hierarchy cleared) */
	KS_E_AUTH = -43,      /* wrong authValue; counted by the TPM's lockout */
	KS_E_LOCKOUT = -44,   /* TPM in dictionary-attack lockout: do not retry */
	KS_E_UNSUPPORTED = -45, /* operation not offered by this backend */
};

const char *ks_strerror(int err);

/* The directory of a spec ("file:DIR" or "tpm:<tcti>;dir=DIR") without opening
 * it: the factory keeps the device's certificates (idevid.pem, ...) there,
 * beside the key blobs. 0, or -EINVAL for a spec without a directory,
 * -ENAMETOOLONG. */
int ks_spec_dir(const char *spec, char *out, size_t cap);

/* Opens the keystore described by spec (see "Specs" below). */
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

/* Creates a new P-256 signing key that is never stored: it lives as long as
 * key (and, with the TPM backend, as long as this keystore handle, which
 * keeps its TPM-wrapped blob under name in memory; a later key of the same
 * name replaces it). The TPM generates it inside and signs with it as with a
 * stored key; the file backend holds it in this process's memory only. For
 * a key that must not outlive its process, e.g. the controller's TLS server
 * key: nothing in the directory for another process to load. Writes the
 * SubjectPublicKeyInfo DER like ks_create_ec. Free key with wc_ecc_free. */
int ks_create_ec_volatile(keystore_t *ks, const char *name, ecc_key *key, uint8_t *spki,
			  size_t cap, size_t *ret_len);

/* Makes ctx use key name as its TLS private key. */
int ks_bind_tls(keystore_t *ks, const char *name, WOLFSSL_CTX *ctx);

/* Makes the stored forms of name (a key or a sealed secret) readable only by a
 * process holding CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH (mode 0000): once a
 * process has dropped its capabilities (shared/privdrop.h), even as uid 0, it
 * can no longer load or unseal name; with the TPM backend, the blob that the
 * TPM would load is out of its reach. For what only the administrator's tool
 * or a process that loads it while still privileged may use. Writing name
 * again (ks_seal, a new key) makes a new 0600 file: restrict it again.
 * KS_OK, KS_E_NOT_FOUND (nothing stored under name), KS_E_IO. */
int ks_restrict(keystore_t *ks, const char *name);

/* Specs (ks_open):
 *   "file:/dir"             development and rig: keys as 0600 PEM files
 *   "tpm:<tcti>;dir=/dir"   TPM 2.0 through tpm2-tss; <tcti> is a tctildr
 *                           string ("device:/dev/tpmrm0",
 *                           "swtpm:host=127.0.0.1,port=2321"); empty means
 *                           the tctildr default. /dir holds TPM-wrapped blobs
 *                           only; the private keys never leave the TPM.
 * The TPM must be reachable at ks_open (else KS_E_NO_TPM). The directory must
 * be writable: the TPM backend takes a lock file in it (<dir>/.tpm.lock), so
 * that processes sharing a TPM without a resource manager take turns. */

/* Detail text of the last failure of a ks_* call in this thread (the TCTI,
 * the TPM response code); "" if none. Static storage, valid until the next
 * ks_* call of this thread. */
const char *ks_last_detail(void);

/* Seals a secret (1..KS_SEAL_MAX bytes) under name, replacing an earlier one.
 * TPM: a keyedhash sealed-data object under the owner storage key, without
 * an authValue and with noDA: normal operation never counts toward lockout.
 * File backend: a 0600 plain file - development and rig only. */
#define KS_SEAL_MAX 128
int ks_seal(keystore_t *ks, const char *name, const uint8_t *secret, size_t len);
/* Unseals into out (cap bytes); *ret_len set only on success. KS_E_NOT_FOUND,
 * KS_E_WRONG_TPM (blob of another TPM). */
int ks_unseal(keystore_t *ks, const char *name, uint8_t *out, size_t cap, size_t *ret_len);
/* Same with an authValue (1..32 bytes, e.g. from an administrator). The
 * object is then subject to the TPM's dictionary-attack protection: a wrong
 * auth gives KS_E_AUTH, and once the TPM locks out, KS_E_LOCKOUT. Callers
 * never retry by themselves (each try counts). File backend: unsupported. */
#define KS_AUTH_MAX 32
int ks_seal_auth(keystore_t *ks, const char *name, const uint8_t *secret, size_t len,
		 const uint8_t *auth, size_t auth_len);
int ks_unseal_auth(keystore_t *ks, const char *name, const uint8_t *auth, size_t auth_len,
		   uint8_t *out, size_t cap, size_t *ret_len);
/* Removes a sealed secret (missing is not an error). */
int ks_unseal_destroy(keystore_t *ks, const char *name);

/* len (1..1024) random bytes: TPM2_GetRandom, or wolfCrypt's RNG for file. */
int ks_random(keystore_t *ks, uint8_t *out, size_t len);

#endif
