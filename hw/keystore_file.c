/* keystore_file.c - the "file" keystore backend: each key a 0600 PEM file
 * <dir>/<name>.key, for the rig and development. Library code: never logs. */
#include "hw/keystore.h"
#include "hw/keystore_files.h"

#include "certs/certs.h"
#include "shared/util.h"

#include <wolfssl/wolfcrypt/asn_public.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPEC_PREFIX "file:"
#define KEY_SUFFIX KSF_KEY_SUFFIX
#define OLD_SUFFIX KSF_OLD_SUFFIX   /* a replaced key, kept only until it is wiped */
#define PEM_MAX 1024            /* a P-256 EC PRIVATE KEY PEM is about 230 bytes */
#define DER_MAX 256

struct keystore {
	char dir[PATH_MAX];
};

/* hw/keystore.c (this file is built with renamed ks_* entry points only). */
bool ks_name_ok(const char *name);

static int key_path(keystore_t *ks, const char *name, const char *suffix, char *out, size_t cap)
{
	int n;

	if (!ks || !ks_name_ok(name))
		return KS_E_INPUT;
	n = snprintf(out, cap, "%s/%s%s", ks->dir, name, suffix);
	if (n < 0 || (size_t)n >= cap)
		return KS_E_INPUT;
	return KS_OK;
}

int ks_open(const char *spec, keystore_t **ret)
{
	const char *dir;
	keystore_t *ks;
	struct stat st;
	size_t n;

	if (!spec || !ret || strncmp(spec, SPEC_PREFIX, strlen(SPEC_PREFIX)) != 0)
		return KS_E_INPUT;
	dir = spec + strlen(SPEC_PREFIX);
	n = strnlen(dir, PATH_MAX);
	/* Room for "/<name>.key.old" after the directory. */
	if (n == 0 || n + 1 + KS_NAME_MAX + sizeof(OLD_SUFFIX) > PATH_MAX)
		return KS_E_INPUT;
	if (util_mkdir_p(dir, 0700) < 0)
		return KS_E_IO;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return KS_E_IO;
	ks = calloc(1, sizeof(*ks));
	if (!ks)
		return KS_E_NOMEM;
	memcpy(ks->dir, dir, n + 1);
	*ret = ks;
	return KS_OK;
}

void ks_close(keystore_t *ks)
{
	free(ks);
}

int ks_exists(keystore_t *ks, const char *name)
{
	char path[PATH_MAX];
	struct stat st;
	int r;

	r = key_path(ks, name, KEY_SUFFIX, path, sizeof(path));
	if (r != KS_OK)
		return r;
	if (lstat(path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : KS_E_IO;
}

static int save_key(const char *path, ecc_key *key)
{
	char pem[PEM_MAX];
	size_t len;
	int r = KS_OK;

	if (certs_ec_to_pem(key, pem, sizeof(pem), &len) != CERTS_OK)
		r = KS_E_CRYPTO;
	else if (util_write_file_atomic(path, pem, len, 0600) < 0)
		r = KS_E_IO;
	explicit_bzero(pem, sizeof(pem));
	return r;
}

/* SPKI of key into the caller's buffer, set only on success. */
static int export_spki(ecc_key *key, uint8_t *spki, size_t cap, size_t *ret_len)
{
	uint8_t buf[CERTS_MAX_SPKI];
	size_t n;

	if (certs_ec_spki(key, buf, sizeof(buf), &n) != CERTS_OK)
		return KS_E_CRYPTO;
	if (n > cap)
		return KS_E_INPUT;
	memcpy(spki, buf, n);
	*ret_len = n;
	return KS_OK;
}

/* The key exists only in *key: this process's memory, never the directory. */
int ks_create_ec_volatile(keystore_t *ks, const char *name, ecc_key *key, uint8_t *spki,
			  size_t cap, size_t *ret_len)
{
	WC_RNG rng;
	int r;

	if (!ks || !ks_name_ok(name) || !key || !spki || cap == 0 || !ret_len)
		return KS_E_INPUT;
	if (wc_InitRng(&rng) != 0)
		return KS_E_CRYPTO;
	r = certs_ec_generate(&rng, key) == CERTS_OK ? KS_OK : KS_E_CRYPTO;
	wc_FreeRng(&rng);
	if (r != KS_OK)
		return r;
	r = export_spki(key, spki, cap, ret_len);
	if (r != KS_OK)
		wc_ecc_free(key);
	return r;
}

/* A volatile key, then saved. */
int ks_create_ec(keystore_t *ks, const char *name, uint8_t *spki, size_t cap, size_t *ret_len)
{
	char path[PATH_MAX];
	ecc_key key;
	int r;

	if (!spki || cap == 0 || !ret_len)
		return KS_E_INPUT;
	r = ks_exists(ks, name);
	if (r != 0)
		return r == 1 ? KS_E_EXISTS : r;
	r = key_path(ks, name, KEY_SUFFIX, path, sizeof(path));
	if (r == KS_OK)
		r = ks_create_ec_volatile(ks, name, &key, spki, cap, ret_len);
	if (r != KS_OK)
		return r;
	r = save_key(path, &key);
	wc_ecc_free(&key);
	return r;
}

int ks_load_signer(keystore_t *ks, const char *name, ecc_key *key)
{
	char path[PATH_MAX];
	uint8_t *pem = NULL;
	size_t len = 0;
	int r;

	if (!key)
		return KS_E_INPUT;
	r = key_path(ks, name, KEY_SUFFIX, path, sizeof(path));
	if (r != KS_OK)
		return r;
	r = util_read_file(path, PEM_MAX, &pem, &len);
	if (r == -ENOENT)
		return KS_E_NOT_FOUND;
	if (r == -EFBIG)
		return KS_E_CORRUPT;
	if (r < 0)
		return KS_E_IO;
	r = certs_ec_from_pem((const char *)pem, len, key) == CERTS_OK ? KS_OK : KS_E_CORRUPT;
	util_free_secret(pem, len + 1);
	return r;
}

int ks_public_spki(keystore_t *ks, const char *name, uint8_t *spki, size_t cap, size_t *ret_len)
{
	ecc_key key;
	int r;

	if (!spki || cap == 0 || !ret_len)
		return KS_E_INPUT;
	r = ks_load_signer(ks, name, &key);
	if (r != KS_OK)
		return r;
	r = export_spki(&key, spki, cap, ret_len);
	wc_ecc_free(&key);
	return r;
}

/* Overwrites a file with zeros, syncs it and unlinks it. Missing: success. */
static int wipe_file(const char *path)
{
	static const uint8_t zeros[512];
	struct stat st;
	off_t left;
	int fd, r = KS_OK;

	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? KS_OK : KS_E_IO;
	if (fstat(fd, &st) < 0) {
		r = KS_E_IO;
		goto out;
	}
	for (left = st.st_size; left > 0;) {
		size_t chunk = left > (off_t)sizeof(zeros) ? sizeof(zeros) : (size_t)left;
		ssize_t n = write(fd, zeros, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = KS_E_IO;
			goto out;
		}
		left -= n;
	}
	if (fsync(fd) < 0)
		r = KS_E_IO;
out:
	close(fd);
	if (unlink(path) < 0 && errno != ENOENT)
		r = KS_E_IO;
	if (r == KS_OK && util_fsync_parent(path) < 0)
		r = KS_E_IO;
	return r;
}

int ks_destroy(keystore_t *ks, const char *name)
{
	char path[PATH_MAX];
	int r;

	r = key_path(ks, name, KEY_SUFFIX, path, sizeof(path));
	if (r != KS_OK)
		return r;
	return wipe_file(path);
}

/* A leftover "<to>.key.old" from an interrupted rename: wipe it, unless it is
 * still a second name of the live key (crash between link and rename). */
static int drop_stale(const char *old, const char *dst)
{
	struct stat so, sd;

	if (lstat(old, &so) < 0)
		return errno == ENOENT ? KS_OK : KS_E_IO;
	if (lstat(dst, &sd) == 0 && so.st_dev == sd.st_dev && so.st_ino == sd.st_ino)
		return unlink(old) < 0 ? KS_E_IO : KS_OK;
	return wipe_file(old);
}

int ks_rename(keystore_t *ks, const char *from, const char *to)
{
	char src[PATH_MAX], dst[PATH_MAX], old[PATH_MAX];
	int r;

	if ((r = key_path(ks, from, KEY_SUFFIX, src, sizeof(src))) != KS_OK ||
	    (r = key_path(ks, to, KEY_SUFFIX, dst, sizeof(dst))) != KS_OK ||
	    (r = key_path(ks, to, OLD_SUFFIX, old, sizeof(old))) != KS_OK)
		return r;
	if (strcmp(from, to) == 0)
		return ks_exists(ks, from) == 1 ? KS_OK : KS_E_NOT_FOUND;
	if (access(src, F_OK) < 0)
		return errno == ENOENT ? KS_E_NOT_FOUND : KS_E_IO;
	/* Keep a second name for the key being replaced, so it can be wiped
	 * after the atomic rename instead of only losing its name. */
	if (drop_stale(old, dst) != KS_OK)
		return KS_E_IO;
	if (link(dst, old) < 0 && errno != ENOENT)
		return KS_E_IO;
	if (rename(src, dst) < 0 || util_fsync_parent(dst) < 0)
		return KS_E_IO;
	return wipe_file(old);
}

int ks_bind_tls(keystore_t *ks, const char *name, WOLFSSL_CTX *ctx)
{
	uint8_t der[DER_MAX];
	ecc_key key;
	int n, r;

	if (!ctx)
		return KS_E_INPUT;
	r = ks_load_signer(ks, name, &key);
	if (r != KS_OK)
		return r;
	n = wc_EccKeyToDer(&key, der, sizeof(der));
	wc_ecc_free(&key);
	if (n <= 0) {
		r = KS_E_CRYPTO;
		goto out;
	}
	if (wolfSSL_CTX_use_PrivateKey_buffer(ctx, der, n, WOLFSSL_FILETYPE_ASN1) !=
	    WOLFSSL_SUCCESS)
		r = KS_E_CRYPTO;
out:
	explicit_bzero(der, sizeof(der));
	return r;
}
