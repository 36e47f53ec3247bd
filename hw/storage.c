/* storage.c - LUKS2 encrypted storage through libcryptsetup (storage.h):
 * provision, check, unlock, status, crypto-erase, offline re-key. */
#include "hw/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libcryptsetup.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>

#define META_SIZE (16u * 1024)
#define KEYSLOTS_SIZE (STORAGE_DATA_OFFSET - 2 * META_SIZE)
#define SECTOR 512u

const struct storage_kdf storage_kdf_key_default = { "pbkdf2", 1000, 0, 0 };
const struct storage_kdf storage_kdf_recovery_default = { "argon2id", 4, 1024 * 1024, 4 };

const char *storage_strerror(int err)
{
	switch (err) {
	case STORAGE_OK: return "success";
	case STORAGE_E_NOMEM: return "out of memory";
	case STORAGE_E_INPUT: return "invalid argument (NULL, empty or oversized)";
	case STORAGE_E_TOO_SMALL:
		return "image too small: the device must hold the LUKS2 header and keyslot area "
		       "(4 MiB) plus at least 1 MiB of data (5 MiB in all)";
	case STORAGE_E_DEV_REFUSED:
		return "the development directory backend stores data UNENCRYPTED and is refused "
		       "without the explicit allow flag";
	case STORAGE_E_IO: return "cannot open, read, write or sync the device";
	case STORAGE_E_BUSY: return "device busy (in use, active or locked by another process)";
	case STORAGE_E_NOT_LUKS:
		return "no LUKS2 header on the device (never provisioned, or crypto-erased)";
	case STORAGE_E_CORRUPT:
		return "LUKS2 header damaged: the magic is there but neither header copy loads";
	case STORAGE_E_BAD_KEY: return "no key slot opens with this key or passphrase";
	case STORAGE_E_FORMAT:
		return "volume is not LUKS2 aes-xts-plain64 with a 512-bit key";
	case STORAGE_E_NO_DM:
		return "this kernel has no device-mapper/dm-crypt (module dm_crypt): LUKS2 volumes "
		       "can be formatted and checked here but not opened; use the development "
		       "directory backend or a VM";
	case STORAGE_E_ACTIVATE: return "activating or closing the mapping failed";
	case STORAGE_E_INTERRUPTED:
		return "re-key interrupted; run it again with the same keys to resume";
	case STORAGE_E_CRYPTSETUP: return "libcryptsetup operation failed";
	case STORAGE_E_CRYPTO: return "AES-XTS operation failed";
	}
	return "unknown storage error";
}

/* Library code never logs: libcryptsetup's default callback writes errors to stderr. */
static void quiet_log(int level, const char *msg, void *usrptr)
{
	(void)level;
	(void)msg;
	(void)usrptr;
}

static int valid_str(const char *s, size_t max)
{
	if (!s)
		return 0;
	size_t n = strnlen(s, max + 1);
	return n > 0 && n <= max;
}

static int valid_key(const uint8_t *key, size_t len)
{
	return key && len >= STORAGE_KEY_MIN && len <= STORAGE_KEY_MAX;
}

static int valid_name(const char *name)
{
	if (!valid_str(name, STORAGE_NAME_MAX))
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return 0;
	return strcmp(name, ".") && strcmp(name, "..");
}

static int errno_to_err(int r)
{
	switch (r) {
	case -ENOMEM: return STORAGE_E_NOMEM;
	case -EPERM: return STORAGE_E_BAD_KEY;
	case -EBUSY: return STORAGE_E_BUSY;
	case -EIO: case -ENOENT: case -EACCES: case -ENOTBLK: return STORAGE_E_IO;
	}
	return STORAGE_E_CRYPTSETUP;
}

static int device_size(const char *device, uint64_t *ret)
{
	int fd = open(device, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return STORAGE_E_IO;
	struct stat st;
	int r = STORAGE_OK;
	if (fstat(fd, &st) < 0)
		r = STORAGE_E_IO;
	else if (S_ISREG(st.st_mode))
		*ret = (uint64_t)st.st_size;
	else if (!S_ISBLK(st.st_mode) || ioctl(fd, BLKGETSIZE64, ret) < 0)
		r = STORAGE_E_IO;
	close(fd);
	return r;
}

static int has_luks_magic(const char *device)
{
	static const uint8_t magic[6] = { 'L', 'U', 'K', 'S', 0xba, 0xbe };
	static const uint8_t magic2[6] = { 'S', 'K', 'U', 'L', 0xba, 0xbe };
	uint8_t buf[6];
	int fd = open(device, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int found = 0;
	/* primary header at 0, secondary at the metadata size */
	if (pread(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf) && !memcmp(buf, magic, 6))
		found = 1;
	if (pread(fd, buf, sizeof(buf), META_SIZE) == (ssize_t)sizeof(buf) &&
	    !memcmp(buf, magic2, 6))
		found = 1;
	close(fd);
	return found;
}

/* crypt_init + crypt_load(LUKS2) with libcryptsetup silenced. */
static int open_luks(const char *device, struct crypt_device **ret)
{
	struct crypt_device *cd = NULL;
	if (!valid_str(device, STORAGE_PATH_MAX))
		return STORAGE_E_INPUT;
	crypt_set_log_callback(NULL, quiet_log, NULL);
	if (access(device, F_OK) < 0)
		return STORAGE_E_IO;
	int r = crypt_init(&cd, device);
	if (r < 0)
		return errno_to_err(r);
	crypt_set_log_callback(cd, quiet_log, NULL);
	r = crypt_load(cd, CRYPT_LUKS2, NULL);
	if (r < 0) {
		crypt_free(cd);
		if (r == -EBUSY || r == -ENOMEM || r == -EIO)
			return errno_to_err(r);
		return has_luks_magic(device) ? STORAGE_E_CORRUPT : STORAGE_E_NOT_LUKS;
	}
	*ret = cd;
	return STORAGE_OK;
}

static int set_kdf(struct crypt_device *cd, const struct storage_kdf *k,
		   const struct storage_kdf *def)
{
	if (!k || !k->type)
		k = def;
	struct crypt_pbkdf_type p = {
		.type = k->type,
		.hash = "sha256",
		.iterations = k->iterations ? k->iterations : def->iterations,
		.flags = CRYPT_PBKDF_NO_BENCHMARK,
	};
	if (strcmp(k->type, CRYPT_KDF_PBKDF2) != 0) {
		p.max_memory_kb = k->memory_kb ? k->memory_kb : def->memory_kb;
		p.parallel_threads = k->threads ? k->threads : def->threads;
		if (!p.max_memory_kb)
			p.max_memory_kb = storage_kdf_recovery_default.memory_kb;
		if (!p.parallel_threads)
			p.parallel_threads = 1;
	}
	return crypt_set_pbkdf_type(cd, &p) < 0 ? STORAGE_E_INPUT : STORAGE_OK;
}

static const struct storage_kdf *opt_kdf(const struct storage_opts *o, int recovery)
{
	if (!o)
		return NULL;
	return recovery ? o->recovery_kdf : o->key_kdf;
}

static int format_luks(struct crypt_device *cd)
{
	struct crypt_params_luks2 p2 = {
		.data_alignment = STORAGE_DATA_OFFSET / SECTOR,
		.sector_size = SECTOR,
		.label = STORAGE_LABEL,
		.subsystem = STORAGE_SUBSYSTEM,
	};
	int r = crypt_set_metadata_size(cd, META_SIZE, KEYSLOTS_SIZE);
	if (r < 0)
		return STORAGE_E_CRYPTSETUP;
	r = crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL, NULL,
			 STORAGE_VOLUME_KEY_BYTES, &p2);
	return r < 0 ? errno_to_err(r) : STORAGE_OK;
}

int storage_provision(const char *device, const uint8_t *key, size_t key_len,
		      const char *recovery_pass, const struct storage_opts *opts)
{
	if (!valid_str(device, STORAGE_PATH_MAX) || !valid_key(key, key_len))
		return STORAGE_E_INPUT;
	if (recovery_pass && !valid_str(recovery_pass, STORAGE_PASS_MAX))
		return STORAGE_E_INPUT;
	uint64_t size;
	int r = device_size(device, &size);
	if (r != STORAGE_OK)
		return r;
	if (size < STORAGE_MIN_BYTES)
		return STORAGE_E_TOO_SMALL;

	struct crypt_device *cd = NULL;
	crypt_set_log_callback(NULL, quiet_log, NULL);
	if (crypt_init(&cd, device) < 0)
		return STORAGE_E_IO;
	crypt_set_log_callback(cd, quiet_log, NULL);
	r = format_luks(cd);
	if (r == STORAGE_OK)
		r = set_kdf(cd, opt_kdf(opts, 0), &storage_kdf_key_default);
	if (r == STORAGE_OK &&
	    crypt_keyslot_add_by_volume_key(cd, 0, NULL, 0, (const char *)key, key_len) != 0)
		r = STORAGE_E_CRYPTSETUP;
	if (r == STORAGE_OK && recovery_pass) {
		r = set_kdf(cd, opt_kdf(opts, 1), &storage_kdf_recovery_default);
		if (r == STORAGE_OK &&
		    crypt_keyslot_add_by_volume_key(cd, 1, NULL, 0, recovery_pass,
						    strlen(recovery_pass)) != 1)
			r = STORAGE_E_CRYPTSETUP;
	}
	crypt_free(cd);
	return r;
}

static int check_secret(const char *device, const char *secret, size_t len)
{
	struct crypt_device *cd;
	int r = open_luks(device, &cd);
	if (r != STORAGE_OK)
		return r;
	r = crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, secret, len, 0);
	crypt_free(cd);
	if (r >= 0)
		return STORAGE_OK;
	return r == -ENOENT ? STORAGE_E_BAD_KEY : errno_to_err(r);
}

int storage_check_key(const char *device, const uint8_t *key, size_t key_len)
{
	if (!valid_str(device, STORAGE_PATH_MAX) || !valid_key(key, key_len))
		return STORAGE_E_INPUT;
	return check_secret(device, (const char *)key, key_len);
}

int storage_check_pass(const char *device, const char *pass)
{
	if (!valid_str(device, STORAGE_PATH_MAX) || !valid_str(pass, STORAGE_PASS_MAX))
		return STORAGE_E_INPUT;
	return check_secret(device, pass, strlen(pass));
}

/* The kernel registers the misc device "device-mapper" when dm_mod is there.
 * /dev/mapper/control is no proof: libdevmapper creates that node itself. */
int storage_have_dm(void)
{
	FILE *f = fopen("/proc/misc", "re");
	if (!f)
		return 0;
	char line[128];
	int found = 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, " device-mapper\n") != NULL;
	fclose(f);
	return found;
}

int storage_unlock(const char *device, const char *name, const uint8_t *key, size_t key_len)
{
	if (!valid_str(device, STORAGE_PATH_MAX) || !valid_name(name) ||
	    !valid_key(key, key_len))
		return STORAGE_E_INPUT;
	struct crypt_device *cd;
	int r = open_luks(device, &cd);
	if (r != STORAGE_OK)
		return r;
	/* the key first: a wrong key is reported as such with or without dm */
	r = crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, (const char *)key, key_len, 0);
	if (r < 0) {
		crypt_free(cd);
		return r == -ENOENT ? STORAGE_E_BAD_KEY : errno_to_err(r);
	}
	if (!storage_have_dm()) {
		crypt_free(cd);
		return STORAGE_E_NO_DM;
	}
	r = crypt_activate_by_passphrase(cd, name, CRYPT_ANY_SLOT, (const char *)key, key_len, 0);
	crypt_free(cd);
	if (r >= 0)
		return STORAGE_OK;
	/* measured without dm_mod: -ENOTSUP ("Cannot initialize device-mapper");
	 * -ENODEV/-ENOENT when a target or the control node is missing */
	if (r == -ENODEV || r == -ENOTSUP || r == -ENOENT)
		return STORAGE_E_NO_DM;
	return r == -EBUSY || r == -EEXIST ? STORAGE_E_BUSY : STORAGE_E_ACTIVATE;
}

int storage_lock(const char *name)
{
	if (!valid_name(name))
		return STORAGE_E_INPUT;
	if (!storage_have_dm())
		return STORAGE_E_NO_DM;
	crypt_set_log_callback(NULL, quiet_log, NULL);
	struct crypt_device *cd = NULL;
	int r = crypt_init_by_name(&cd, name);
	if (r == -ENODEV || r == -ENOTSUP)
		return STORAGE_E_NO_DM;
	if (r < 0)
		return STORAGE_E_ACTIVATE;
	crypt_set_log_callback(cd, quiet_log, NULL);
	r = crypt_deactivate(cd, name);
	crypt_free(cd);
	if (r == -EBUSY)
		return STORAGE_E_BUSY;
	return r < 0 ? STORAGE_E_ACTIVATE : STORAGE_OK;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* The digest bound to segment "0" (the data), from the header JSON. */
static int vk_digest(struct crypt_device *cd, char *out, size_t cap)
{
	const char *js = NULL;
	if (crypt_dump_json(cd, &js, 0) < 0 || !js)
		return STORAGE_E_CRYPTSETUP;
	json_t *root = json_loads(js, 0, NULL);
	if (!root)
		return STORAGE_E_CRYPTSETUP;
	int r = STORAGE_E_CRYPTSETUP;
	const char *id;
	json_t *d;
	json_object_foreach(json_object_get(root, "digests"), id, d) {
		size_t i;
		json_t *seg;
		json_array_foreach(json_object_get(d, "segments"), i, seg) {
			const char *s = json_string_value(seg);
			const char *dg = json_string_value(json_object_get(d, "digest"));
			if (s && dg && !strcmp(s, "0") && strlen(dg) < cap) {
				copy_str(out, cap, dg);
				r = STORAGE_OK;
			}
		}
	}
	json_decref(root);
	return r;
}

int storage_status(const char *device, struct storage_info *ret)
{
	if (!ret)
		return STORAGE_E_INPUT;
	struct crypt_device *cd;
	int r = open_luks(device, &cd);
	if (r != STORAGE_OK)
		return r;
	struct storage_info info = { .luks_version = 2 };
	copy_str(info.cipher, sizeof(info.cipher), crypt_get_cipher(cd));
	copy_str(info.cipher_mode, sizeof(info.cipher_mode), crypt_get_cipher_mode(cd));
	info.key_bits = (unsigned)crypt_get_volume_key_size(cd) * 8;
	int max = crypt_keyslot_max(CRYPT_LUKS2);
	for (int i = 0; i < max && i < 32; i++) {
		crypt_keyslot_info ki = crypt_keyslot_status(cd, i);
		if (ki == CRYPT_SLOT_ACTIVE || ki == CRYPT_SLOT_ACTIVE_LAST ||
		    ki == CRYPT_SLOT_UNBOUND)
			info.keyslots |= 1u << i;
	}
	copy_str(info.label, sizeof(info.label), crypt_get_label(cd));
	copy_str(info.subsystem, sizeof(info.subsystem), crypt_get_subsystem(cd));
	copy_str(info.uuid, sizeof(info.uuid), crypt_get_uuid(cd));
	info.data_offset = crypt_get_data_offset(cd) * SECTOR;
	info.rekey_in_progress = crypt_reencrypt_status(cd, NULL) != CRYPT_REENCRYPT_NONE;
	r = vk_digest(cd, info.vk_digest, sizeof(info.vk_digest));
	crypt_free(cd);
	if (r == STORAGE_OK)
		*ret = info;
	return r;
}

/* Overwrites [0, len) of device with random bytes and fsyncs it. */
static int overwrite_random(const char *device, uint64_t len)
{
	int fd = open(device, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return STORAGE_E_IO;
	uint8_t buf[65536];
	int r = STORAGE_OK;
	for (uint64_t off = 0; off < len && r == STORAGE_OK;) {
		size_t n = len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);
		if (getrandom(buf, n, 0) != (ssize_t)n || pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			r = STORAGE_E_IO;
		off += n;
	}
	if (r == STORAGE_OK && fsync(fd) < 0)
		r = STORAGE_E_IO;
	if (close(fd) < 0 && r == STORAGE_OK)
		r = STORAGE_E_IO;
	return r;
}

int storage_crypto_erase(const char *device)
{
	struct crypt_device *cd;
	int r = open_luks(device, &cd);
	if (r != STORAGE_OK)
		return r;
	uint64_t data_off = crypt_get_data_offset(cd) * SECTOR;
	int max = crypt_keyslot_max(CRYPT_LUKS2);
	for (int i = 0; i < max && r == STORAGE_OK; i++) {
		crypt_keyslot_info ki = crypt_keyslot_status(cd, i);
		if (ki == CRYPT_SLOT_INACTIVE || ki == CRYPT_SLOT_INVALID)
			continue;
		if (crypt_keyslot_destroy(cd, i) < 0)
			r = STORAGE_E_CRYPTSETUP;
	}
	crypt_free(cd);
	if (r != STORAGE_OK)
		return r;
	if (data_off < 2 * META_SIZE)
		data_off = STORAGE_DATA_OFFSET;
	/* both header copies and the whole keyslot area: random, then fsync */
	return overwrite_random(device, data_off);
}

/* ---- offline AES-XTS sector access ---- */

static int get_volume_key(const char *device, const uint8_t *key, size_t key_len,
			  uint8_t vk[STORAGE_VOLUME_KEY_BYTES], uint64_t *data_off)
{
	struct crypt_device *cd;
	int r = open_luks(device, &cd);
	if (r != STORAGE_OK)
		return r;
	size_t vk_len = STORAGE_VOLUME_KEY_BYTES;
	if (crypt_reencrypt_status(cd, NULL) != CRYPT_REENCRYPT_NONE)
		r = STORAGE_E_BUSY;
	else if (strcmp(crypt_get_cipher(cd), "aes") || strcmp(crypt_get_cipher_mode(cd), "xts-plain64") ||
		 crypt_get_volume_key_size(cd) != STORAGE_VOLUME_KEY_BYTES ||
		 crypt_get_sector_size(cd) != (int)SECTOR)
		r = STORAGE_E_FORMAT;
	else {
		int k = crypt_volume_key_get(cd, CRYPT_ANY_SLOT, (char *)vk, &vk_len,
					     (const char *)key, key_len);
		if (k < 0)
			r = k == -EPERM || k == -ENOENT ? STORAGE_E_BAD_KEY : errno_to_err(k);
		*data_off = crypt_get_data_offset(cd) * SECTOR;
	}
	crypt_free(cd);
	return r;
}

static int offline_io(const char *device, const uint8_t *key, size_t key_len, uint64_t off,
		      uint8_t *buf, size_t len, int write)
{
	if (!valid_str(device, STORAGE_PATH_MAX) || !valid_key(key, key_len) || !buf || !len ||
	    len % SECTOR || off % SECTOR || len > (64u << 20))
		return STORAGE_E_INPUT;
	uint8_t vk[STORAGE_VOLUME_KEY_BYTES];
	uint64_t data_off = 0;
	int r = get_volume_key(device, key, key_len, vk, &data_off);
	if (r != STORAGE_OK)
		return r;
	XtsAes xts;
	if (wc_AesXtsSetKey(&xts, vk, sizeof(vk), write ? AES_ENCRYPTION : AES_DECRYPTION, NULL,
			    INVALID_DEVID) != 0) {
		explicit_bzero(vk, sizeof(vk));
		return STORAGE_E_CRYPTO;
	}
	explicit_bzero(vk, sizeof(vk));
	int fd = open(device, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		wc_AesXtsFree(&xts);
		return STORAGE_E_IO;
	}
	uint8_t sec[SECTOR];
	for (size_t done = 0; done < len && r == STORAGE_OK; done += SECTOR) {
		uint64_t sector = (off + done) / SECTOR;   /* plain64: relative to the data area */
		off_t pos = (off_t)(data_off + off + done);
		if (write) {
			if (wc_AesXtsEncryptSector(&xts, sec, buf + done, SECTOR, sector) != 0)
				r = STORAGE_E_CRYPTO;
			else if (pwrite(fd, sec, SECTOR, pos) != (ssize_t)SECTOR)
				r = STORAGE_E_IO;
		} else if (pread(fd, sec, SECTOR, pos) != (ssize_t)SECTOR) {
			r = STORAGE_E_IO;
		} else if (wc_AesXtsDecryptSector(&xts, buf + done, sec, SECTOR, sector) != 0) {
			r = STORAGE_E_CRYPTO;
		}
	}
	if (r == STORAGE_OK && write && fsync(fd) < 0)
		r = STORAGE_E_IO;
	close(fd);
	wc_AesXtsFree(&xts);
	explicit_bzero(sec, sizeof(sec));
	return r;
}

int storage_offline_read(const char *device, const uint8_t *key, size_t key_len,
			 uint64_t off, uint8_t *buf, size_t len)
{
	return offline_io(device, key, key_len, off, buf, len, 0);
}

int storage_offline_write(const char *device, const uint8_t *key, size_t key_len,
			  uint64_t off, const uint8_t *buf, size_t len)
{
	return offline_io(device, key, key_len, off, (uint8_t *)buf, len, 1);
}

/* ---- development backend ---- */

int storage_dev_open(const char *dir, unsigned flags)
{
	if (!valid_str(dir, STORAGE_PATH_MAX))
		return STORAGE_E_INPUT;
	if (!(flags & STORAGE_ALLOW_UNENCRYPTED))
		return STORAGE_E_DEV_REFUSED;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return STORAGE_E_IO;
	char path[STORAGE_PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, STORAGE_DEV_LABEL_FILE);
	FILE *f = fopen(path, "we");
	if (!f)
		return STORAGE_E_IO;
	fputs("THIS IS THE DEVELOPMENT STORAGE BACKEND.\n"
	      "NOTHING IN THIS DIRECTORY IS ENCRYPTED.\n"
	      "It exists for the test rig only; a camera or controller keeps its data\n"
	      "on a LUKS2 volume (hw/storage.h).\n", f);
	return fclose(f) == 0 ? STORAGE_OK : STORAGE_E_IO;
}

/* ---- offline re-key (LUKS2 re-encryption) ---- */

struct stop_at {
	uint64_t limit;
};

static int on_rekey_progress(uint64_t size, uint64_t offset, void *usrptr)
{
	const struct stop_at *s = usrptr;
	(void)size;
	/* non-zero stops crypt_reencrypt_run; the on-disk state stays resumable */
	return s->limit && offset >= s->limit;
}

/* Starts a re-encryption authenticated by old_key, or loads the interrupted one. */
static int rekey_init(struct crypt_device *cd, const uint8_t *old_key, size_t old_len,
		      const struct storage_opts *opts, int resume)
{
	struct crypt_params_luks2 p2 = { .sector_size = SECTOR };
	struct crypt_params_reencrypt rp = {
		.mode = CRYPT_REENCRYPT_REENCRYPT,
		.direction = CRYPT_REENCRYPT_FORWARD,
		.resilience = "checksum",
		.hash = "sha256",
		/* in 512-byte sectors; small steps keep an interruption cheap */
		.max_hotzone_size = (1u << 20) / SECTOR,
		.luks2 = &p2,
		.flags = resume ? CRYPT_REENCRYPT_RESUME_ONLY : 0,
	};
	int new_slot = CRYPT_ANY_SLOT;
	if (!resume) {
		int r = set_kdf(cd, opt_kdf(opts, 0), &storage_kdf_key_default);
		if (r != STORAGE_OK)
			return r;
		/* the new volume key, in an unbound slot opened by the old key for now:
		 * one secret then opens both while re-encryption runs and resumes */
		new_slot = crypt_keyslot_add_by_key(cd, CRYPT_ANY_SLOT, NULL, STORAGE_VOLUME_KEY_BYTES,
						    (const char *)old_key, old_len,
						    CRYPT_VOLUME_KEY_NO_SEGMENT);
		if (new_slot < 0)
			return errno_to_err(new_slot);
	}
	int r = crypt_reencrypt_init_by_passphrase(cd, NULL, (const char *)old_key, old_len,
						   CRYPT_ANY_SLOT, new_slot,
						   resume ? NULL : "aes", resume ? NULL : "xts-plain64", &rp);
	if (r < 0)
		return r == -ENOENT ? STORAGE_E_BAD_KEY : errno_to_err(r);
	return STORAGE_OK;
}

static int free_slot(struct crypt_device *cd, int want)
{
	return crypt_keyslot_status(cd, want) == CRYPT_SLOT_INACTIVE ? want : CRYPT_ANY_SLOT;
}

/* After re-encryption: the new slot gets new_key, the recovery slot is re-added. */
static int rekey_finish(struct crypt_device *cd, const uint8_t *old_key, size_t old_len,
			const uint8_t *new_key, size_t new_len, const char *recovery_pass,
			const struct storage_opts *opts)
{
	int r = set_kdf(cd, opt_kdf(opts, 0), &storage_kdf_key_default);
	if (r != STORAGE_OK)
		return r;
	/* back to the provisioned layout: key in slot 0, recovery in slot 1
	 * (re-encryption dropped the old slots when it finished) */
	int slot = crypt_keyslot_change_by_passphrase(cd, CRYPT_ANY_SLOT, free_slot(cd, 0),
						      (const char *)old_key, old_len,
						      (const char *)new_key, new_len);
	if (slot < 0)
		return slot == -ENOENT || slot == -EPERM ? STORAGE_E_BAD_KEY : errno_to_err(slot);
	if (!recovery_pass)
		return STORAGE_OK;
	if (crypt_activate_by_passphrase(cd, NULL, CRYPT_ANY_SLOT, recovery_pass,
					 strlen(recovery_pass), 0) >= 0)
		return STORAGE_OK;   /* already there (resumed after this step) */
	r = set_kdf(cd, opt_kdf(opts, 1), &storage_kdf_recovery_default);
	if (r != STORAGE_OK)
		return r;
	r = crypt_keyslot_add_by_passphrase(cd, free_slot(cd, 1), (const char *)new_key, new_len,
					    recovery_pass, strlen(recovery_pass));
	return r < 0 ? errno_to_err(r) : STORAGE_OK;
}

int storage_rekey(const char *device, const uint8_t *old_key, size_t old_len,
		  const uint8_t *new_key, size_t new_len, const char *recovery_pass,
		  const struct storage_opts *opts)
{
	if (!valid_str(device, STORAGE_PATH_MAX) || !valid_key(old_key, old_len) ||
	    !valid_key(new_key, new_len))
		return STORAGE_E_INPUT;
	if (recovery_pass && !valid_str(recovery_pass, STORAGE_PASS_MAX))
		return STORAGE_E_INPUT;
	if (old_len == new_len && !memcmp(old_key, new_key, old_len))
		return STORAGE_E_INPUT;
	struct crypt_device *cd;
	int r = open_luks(device, &cd);
	if (r != STORAGE_OK)
		return r;
	crypt_reencrypt_info st = crypt_reencrypt_status(cd, NULL);
	if (st == CRYPT_REENCRYPT_INVALID) {
		crypt_free(cd);
		return STORAGE_E_CORRUPT;
	}
	r = rekey_init(cd, old_key, old_len, opts, st != CRYPT_REENCRYPT_NONE);
	if (r == STORAGE_OK) {
		struct stop_at stop = { opts ? opts->rekey_stop_after : 0 };
		int k = crypt_reencrypt_run(cd, on_rekey_progress, &stop);
		if (k < 0)
			r = k == -EINTR || k == -EAGAIN ? STORAGE_E_INTERRUPTED : errno_to_err(k);
		else if (crypt_reencrypt_status(cd, NULL) != CRYPT_REENCRYPT_NONE)
			r = STORAGE_E_INTERRUPTED;
	}
	if (r == STORAGE_OK)
		r = rekey_finish(cd, old_key, old_len, new_key, new_len, recovery_pass, opts);
	crypt_free(cd);
	return r;
}

int storage_path_encrypted(const char *path, char *ret_name, size_t cap)
{
	char sys[128], uuid[160], name[STORAGE_NAME_MAX + 1];
	struct stat st;
	FILE *f;
	int ok;

	if (!path)
		return -EINVAL;
	if (stat(path, &st) < 0)
		return -errno;
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/dm/uuid", major(st.st_dev),
		 minor(st.st_dev));
	f = fopen(sys, "re");
	if (!f)
		return 0;   /* not a device-mapper device (or no block device at all) */
	ok = fgets(uuid, sizeof(uuid), f) && strncmp(uuid, "CRYPT-LUKS2-", 12) == 0;
	fclose(f);
	if (!ok)
		return 0;
	if (ret_name && cap) {
		snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/dm/name", major(st.st_dev),
			 minor(st.st_dev));
		name[0] = '\0';
		f = fopen(sys, "re");
		if (f) {
			if (!fgets(name, sizeof(name), f))
				name[0] = '\0';
			fclose(f);
		}
		name[strcspn(name, "\n")] = '\0';
		snprintf(ret_name, cap, "%s", name);
	}
	return 1;
}
