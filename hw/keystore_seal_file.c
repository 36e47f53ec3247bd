/* keystore_seal_file.c - ks_seal/ks_unseal of the file backend: the secret in
 * a 0600 file <dir>/<name>.sealed, NOT encrypted. Development and rig only. */
#include "hw/keystore_impl.h"
#include "hw/keystore_files.h"

#include "shared/util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEAL_SUFFIX KSF_SEAL_SUFFIX

static int seal_path(const char *dir, const char *name, char *out, size_t cap)
{
	int n;

	if (!dir || !ks_name_ok(name))
		return KS_E_INPUT;
	n = snprintf(out, cap, "%s/%s%s", dir, name, SEAL_SUFFIX);
	return n < 0 || (size_t)n >= cap ? KS_E_INPUT : KS_OK;
}

int ksfile_seal(const char *dir, const char *name, const uint8_t *secret, size_t len)
{
	char path[PATH_MAX];
	int r;

	if (!secret || len == 0 || len > KS_SEAL_MAX)
		return KS_E_INPUT;
	r = seal_path(dir, name, path, sizeof(path));
	if (r != KS_OK)
		return r;
	return util_write_file_atomic(path, secret, len, 0600) < 0 ? KS_E_IO : KS_OK;
}

int ksfile_unseal(const char *dir, const char *name, uint8_t *out, size_t cap, size_t *ret_len)
{
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if (!out || !ret_len)
		return KS_E_INPUT;
	r = seal_path(dir, name, path, sizeof(path));
	if (r != KS_OK)
		return r;
	r = ks_read_file(path, KS_SEAL_MAX, &buf, &len);
	if (r != KS_OK)
		return r;
	if (len > cap) {
		r = KS_E_INPUT;
	} else {
		memcpy(out, buf, len);
		*ret_len = len;
		r = KS_OK;
	}
	util_free_secret(buf, len + 1);
	return r;
}

int ksfile_unseal_destroy(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int r;

	r = seal_path(dir, name, path, sizeof(path));
	if (r != KS_OK)
		return r;
	if (unlink(path) < 0 && errno != ENOENT)
		return KS_E_IO;
	return KS_OK;
}
