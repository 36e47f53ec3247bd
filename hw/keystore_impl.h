/* keystore_impl.h - what hw/keystore.c dispatches to: the file backend (the
 * unchanged keystore_file.c, built with its ks_* names renamed to ksfile_*, see
 * hw/meson.build), its sealing helpers, and the TPM backend. Internal to hw/. */
#ifndef BWC_KEYSTORE_IMPL_H
#define BWC_KEYSTORE_IMPL_H

#include "hw/keystore.h"

#include <stdbool.h>

/* keystore.c */
bool ks_name_ok(const char *name);
void ks_set_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* util_read_file with its errors as KS_E_NOT_FOUND, KS_E_CORRUPT (over max),
 * KS_E_IO. @note the caller owns *ret_buf (util_free_secret for secrets). */
int ks_read_file(const char *path, size_t max, uint8_t **ret_buf, size_t *ret_len);

/* keystore_file.c under its build-time names */
struct ksfile_store;
int ksfile_open(const char *spec, struct ksfile_store **ret);
void ksfile_close(struct ksfile_store *ks);
int ksfile_create_ec(struct ksfile_store *ks, const char *name, uint8_t *spki, size_t cap,
		     size_t *ret_len);
int ksfile_create_ec_volatile(struct ksfile_store *ks, const char *name, ecc_key *key,
			      uint8_t *spki, size_t cap, size_t *ret_len);
int ksfile_exists(struct ksfile_store *ks, const char *name);
int ksfile_public_spki(struct ksfile_store *ks, const char *name, uint8_t *spki, size_t cap,
		       size_t *ret_len);
int ksfile_rename(struct ksfile_store *ks, const char *from, const char *to);
int ksfile_destroy(struct ksfile_store *ks, const char *name);
int ksfile_load_signer(struct ksfile_store *ks, const char *name, ecc_key *key);
int ksfile_bind_tls(struct ksfile_store *ks, const char *name, WOLFSSL_CTX *ctx);

/* keystore_seal_file.c: dir is the file keystore's directory */
int ksfile_seal(const char *dir, const char *name, const uint8_t *secret, size_t len);
int ksfile_unseal(const char *dir, const char *name, uint8_t *out, size_t cap, size_t *ret_len);
int ksfile_unseal_destroy(const char *dir, const char *name);

/* keystore_tpm.c: spec is what follows "tpm:" */
struct kstpm;
int kstpm_open(const char *spec, struct kstpm **ret);
void kstpm_close(struct kstpm *t);
int kstpm_create_ec(struct kstpm *t, const char *name, uint8_t *spki, size_t cap,
		    size_t *ret_len);
int kstpm_create_ec_volatile(struct kstpm *t, const char *name, ecc_key *key, uint8_t *spki,
			     size_t cap, size_t *ret_len);
int kstpm_exists(struct kstpm *t, const char *name);
int kstpm_public_spki(struct kstpm *t, const char *name, uint8_t *spki, size_t cap,
		      size_t *ret_len);
int kstpm_rename(struct kstpm *t, const char *from, const char *to);
int kstpm_destroy(struct kstpm *t, const char *name);
int kstpm_load_signer(struct kstpm *t, const char *name, ecc_key *key);
int kstpm_bind_tls(struct kstpm *t, const char *name, WOLFSSL_CTX *ctx);
int kstpm_seal(struct kstpm *t, const char *name, const uint8_t *secret, size_t len,
	       const uint8_t *auth, size_t auth_len);
int kstpm_unseal(struct kstpm *t, const char *name, const uint8_t *auth, size_t auth_len,
		 uint8_t *out, size_t cap, size_t *ret_len);
int kstpm_unseal_destroy(struct kstpm *t, const char *name);
int kstpm_random(struct kstpm *t, uint8_t *out, size_t len);

#endif
