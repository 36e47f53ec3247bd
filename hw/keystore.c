/* keystore.c - the keystore interface: parses the spec, dispatches each ks_*
 * call to the file or the TPM backend, and keeps the per-thread error detail. */
#include "hw/keystore_impl.h"
#include "hw/keystore_files.h"

#include "shared/util.h"

#include <wolfssl/wolfcrypt/random.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FILE_PREFIX "file:"
#define TPM_PREFIX "tpm:"
#define RANDOM_MAX 1024

struct keystore {
	struct ksfile_store *file;  /* exactly one of file, tpm */
	struct kstpm *tpm;
	char dir[PATH_MAX];         /* the directory of the stored keys (either backend) */
};

static __thread char detail[512];

static const struct {
	int code;
	const char *text;
} errors[] = {
	{ KS_OK, "Success." },
	{ KS_E_NOMEM, "Out of memory." },
	{ KS_E_INPUT, "Invalid argument: bad key name ([a-z0-9._-], 1 to 32, not starting with '.') or keystore spec." },
	{ KS_E_NOT_FOUND, "No key of that name in the keystore." },
	{ KS_E_EXISTS, "A key of that name already exists; destroy it first." },
	{ KS_E_IO, "The keystore storage failed (see errno)." },
	{ KS_E_CRYPTO, "A cryptographic operation on the key failed." },
	{ KS_E_CORRUPT, "The stored key is unreadable or not a P-256 key." },
	{ KS_E_NO_TPM, "No TPM reachable through the keystore's TCTI (see the detail)." },
	{ KS_E_TPM, "The TPM refused or failed the command (see the detail for its code)." },
	{ KS_E_WRONG_TPM, "The stored blob was made by another TPM (or this TPM's owner hierarchy was cleared)." },
	{ KS_E_AUTH, "Wrong authorisation value; the TPM counted the failure (do not retry blindly)." },
	{ KS_E_LOCKOUT, "The TPM is in dictionary-attack lockout: wait for its recovery time or reset the lockout with the lockout authorisation." },
	{ KS_E_UNSUPPORTED, "This keystore backend does not offer that operation." },
};

const char *ks_strerror(int err)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == err)
			return errors[i].text;
	return "Unknown keystore error.";
}

const char *ks_last_detail(void)
{
	return detail;
}

void ks_set_detail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
}

int ks_read_file(const char *path, size_t max, uint8_t **ret_buf, size_t *ret_len)
{
	int r = util_read_file(path, max, ret_buf, ret_len);

	if (r == -ENOENT)
		return KS_E_NOT_FOUND;
	if (r == -EFBIG)
		return KS_E_CORRUPT;
	return r < 0 ? KS_E_IO : KS_OK;
}

bool ks_name_ok(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strnlen(name, KS_NAME_MAX + 1);
	if (n == 0 || n > KS_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* The directory part of a spec (the last ";dir=" of a TPM spec), or NULL. */
static const char *spec_dir(const char *spec)
{
	const char *dir = NULL, *p;

	if (strncmp(spec, FILE_PREFIX, strlen(FILE_PREFIX)) == 0)
		return spec + strlen(FILE_PREFIX);
	if (strncmp(spec, TPM_PREFIX, strlen(TPM_PREFIX)) == 0)
		for (p = strstr(spec, ";dir="); p; p = strstr(p + 1, ";dir="))
			dir = p + strlen(";dir=");
	return dir;
}

int ks_spec_dir(const char *spec, char *out, size_t cap)
{
	const char *dir;
	int n;

	if (!spec || !out || cap == 0)
		return -EINVAL;
	dir = spec_dir(spec);
	if (!dir || dir[0] != '/')
		return -EINVAL;
	n = snprintf(out, cap, "%s", dir);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int ks_open(const char *spec, keystore_t **ret)
{
	keystore_t *ks;
	int r;

	detail[0] = '\0';
	if (!spec || !ret)
		return KS_E_INPUT;
	ks = calloc(1, sizeof(*ks));
	if (!ks)
		return KS_E_NOMEM;
	if (strncmp(spec, TPM_PREFIX, strlen(TPM_PREFIX)) == 0) {
		r = kstpm_open(spec + strlen(TPM_PREFIX), &ks->tpm);
	} else {
		r = ksfile_open(spec, &ks->file);
	}
	if (r == KS_OK)   /* the backend accepted the directory (relative ones too) */
		snprintf(ks->dir, sizeof(ks->dir), "%s", spec_dir(spec) ? spec_dir(spec) : ".");
	if (r != KS_OK) {
		free(ks);
		return r;
	}
	*ret = ks;
	return KS_OK;
}

void ks_close(keystore_t *ks)
{
	if (!ks)
		return;
	ksfile_close(ks->file);
	kstpm_close(ks->tpm);
	free(ks);
}

/* Every entry point: clear the detail, then the backend's call. */
#define DISPATCH(ks, file_call, tpm_call)                   \
	do {                                                \
		detail[0] = '\0';                           \
		if (!(ks))                                  \
			return KS_E_INPUT;                  \
		return (ks)->tpm ? (tpm_call) : (file_call); \
	} while (0)

int ks_create_ec(keystore_t *ks, const char *name, uint8_t *spki, size_t cap, size_t *ret_len)
{
	DISPATCH(ks, ksfile_create_ec(ks->file, name, spki, cap, ret_len),
		 kstpm_create_ec(ks->tpm, name, spki, cap, ret_len));
}

int ks_create_ec_volatile(keystore_t *ks, const char *name, ecc_key *key, uint8_t *spki,
			  size_t cap, size_t *ret_len)
{
	DISPATCH(ks, ksfile_create_ec_volatile(ks->file, name, key, spki, cap, ret_len),
		 kstpm_create_ec_volatile(ks->tpm, name, key, spki, cap, ret_len));
}

int ks_exists(keystore_t *ks, const char *name)
{
	DISPATCH(ks, ksfile_exists(ks->file, name), kstpm_exists(ks->tpm, name));
}

int ks_public_spki(keystore_t *ks, const char *name, uint8_t *spki, size_t cap, size_t *ret_len)
{
	DISPATCH(ks, ksfile_public_spki(ks->file, name, spki, cap, ret_len),
		 kstpm_public_spki(ks->tpm, name, spki, cap, ret_len));
}

int ks_rename(keystore_t *ks, const char *from, const char *to)
{
	DISPATCH(ks, ksfile_rename(ks->file, from, to), kstpm_rename(ks->tpm, from, to));
}

int ks_destroy(keystore_t *ks, const char *name)
{
	DISPATCH(ks, ksfile_destroy(ks->file, name), kstpm_destroy(ks->tpm, name));
}

int ks_load_signer(keystore_t *ks, const char *name, ecc_key *key)
{
	DISPATCH(ks, ksfile_load_signer(ks->file, name, key), kstpm_load_signer(ks->tpm, name, key));
}

int ks_bind_tls(keystore_t *ks, const char *name, WOLFSSL_CTX *ctx)
{
	DISPATCH(ks, ksfile_bind_tls(ks->file, name, ctx), kstpm_bind_tls(ks->tpm, name, ctx));
}

int ks_restrict(keystore_t *ks, const char *name)
{
	static const char *const suffixes[] = KS_STORED_SUFFIXES;
	char path[PATH_MAX];
	struct stat st;
	int found = 0;

	detail[0] = '\0';
	if (!ks || !ks_name_ok(name))
		return KS_E_INPUT;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		int n = snprintf(path, sizeof(path), "%s/%s%s", ks->dir, name, suffixes[i]);
		if (n < 0 || (size_t)n >= sizeof(path))
			return KS_E_INPUT;
		if (lstat(path, &st) < 0) {
			if (errno == ENOENT)
				continue;
			ks_set_detail("%s: %s", path, strerror(errno));
			return KS_E_IO;
		}
		if (!S_ISREG(st.st_mode)) {
			ks_set_detail("%s: not a regular file", path);
			return KS_E_IO;
		}
		if ((st.st_mode & 07777) != 0 && chmod(path, 0) < 0) {
			ks_set_detail("%s: cannot restrict: %s", path, strerror(errno));
			return KS_E_IO;
		}
		found = 1;
	}
	return found ? KS_OK : KS_E_NOT_FOUND;
}

int ks_seal(keystore_t *ks, const char *name, const uint8_t *secret, size_t len)
{
	DISPATCH(ks, ksfile_seal(ks->dir, name, secret, len),
		 kstpm_seal(ks->tpm, name, secret, len, NULL, 0));
}

int ks_unseal(keystore_t *ks, const char *name, uint8_t *out, size_t cap, size_t *ret_len)
{
	DISPATCH(ks, ksfile_unseal(ks->dir, name, out, cap, ret_len),
		 kstpm_unseal(ks->tpm, name, NULL, 0, out, cap, ret_len));
}

int ks_seal_auth(keystore_t *ks, const char *name, const uint8_t *secret, size_t len,
		 const uint8_t *auth, size_t auth_len)
{
	if (!auth || auth_len == 0 || auth_len > KS_AUTH_MAX)
		return KS_E_INPUT;
	DISPATCH(ks, KS_E_UNSUPPORTED, kstpm_seal(ks->tpm, name, secret, len, auth, auth_len));
}

int ks_unseal_auth(keystore_t *ks, const char *name, const uint8_t *auth, size_t auth_len,
		   uint8_t *out, size_t cap, size_t *ret_len)
{
	if (!auth || auth_len == 0 || auth_len > KS_AUTH_MAX)
		return KS_E_INPUT;
	DISPATCH(ks, KS_E_UNSUPPORTED,
		 kstpm_unseal(ks->tpm, name, auth, auth_len, out, cap, ret_len));
}

int ks_unseal_destroy(keystore_t *ks, const char *name)
{
	DISPATCH(ks, ksfile_unseal_destroy(ks->dir, name), kstpm_unseal_destroy(ks->tpm, name));
}

static int file_random(uint8_t *out, size_t len)
{
	WC_RNG rng;
	int r;

	if (wc_InitRng(&rng) != 0)
		return KS_E_CRYPTO;
	r = wc_RNG_GenerateBlock(&rng, out, (word32)len) == 0 ? KS_OK : KS_E_CRYPTO;
	wc_FreeRng(&rng);
	return r;
}

int ks_random(keystore_t *ks, uint8_t *out, size_t len)
{
	if (!out || len == 0 || len > RANDOM_MAX)
		return KS_E_INPUT;
	DISPATCH(ks, file_random(out, len), kstpm_random(ks->tpm, out, len));
}
