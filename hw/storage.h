/* storage.h - the encrypted data volume (camera) and staging SSD (controller):
 * LUKS2, aes-xts-plain64, 512-bit volume key, through libcryptsetup.
 *
 * Key slots: slot 0 is opened by a random key (64 bytes) that the keystore
 * seals; on the controller, slot 1 is opened by the master-key passphrase
 * (recovery). KDF costs (the `struct storage_kdf` defaults below):
 *   - key slot: PBKDF2-SHA256, 1000 iterations (the minimum libcryptsetup
 *     accepts). The key is 512 random bits: stretching adds nothing, and the
 *     camera unlocks at every boot on a small CPU.
 *   - recovery slot: Argon2id, 4 passes, 1 GiB, 4 lanes (a human passphrase;
 *     the controller has the memory; about 2-4 s on its CPU).
 * Header: 16 KiB metadata (twice) and a keyslot area that ends at
 * STORAGE_DATA_OFFSET, so small image files work (the default LUKS2 header
 * alone is 16 MiB). Encryption sector size 512.
 *
 * Library code: never logs (libcryptsetup's own messages are silenced);
 * every function returns an enum storage_err, storage_strerror() explains it.
 * Device: a block device or an image file (tests use truncate). */
#ifndef BWC_STORAGE_H
#define BWC_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#define STORAGE_KEY_MIN 32          /* bytes of a slot key (64 expected) */
#define STORAGE_KEY_MAX 512
#define STORAGE_PASS_MAX 512        /* bytes of the recovery passphrase */
#define STORAGE_NAME_MAX 64         /* mapping name: [A-Za-z0-9_.-]{1,64} */
#define STORAGE_PATH_MAX 1024
#define STORAGE_VOLUME_KEY_BYTES 64 /* AES-256-XTS: two 256-bit keys */
#define STORAGE_DATA_OFFSET (4u << 20)   /* header + keyslots; data starts here */
#define STORAGE_MIN_BYTES (STORAGE_DATA_OFFSET + (1u << 20))
#define STORAGE_LABEL "bwc-data"    /* LUKS2 label */
#define STORAGE_SUBSYSTEM "bwc-system" /* LUKS2 subsystem */
#define STORAGE_DIGEST_MAX 128

enum storage_err {
	STORAGE_OK = 0,
	STORAGE_E_NOMEM = -1,
	/* bad input */
	STORAGE_E_INPUT = -10,       /* NULL, empty or oversized argument */
	STORAGE_E_TOO_SMALL = -11,   /* device smaller than STORAGE_MIN_BYTES */
	STORAGE_E_DEV_REFUSED = -12, /* development backend without the allow flag */
	/* device */
	STORAGE_E_IO = -20,          /* open/read/write/fsync of the device failed */
	STORAGE_E_BUSY = -21,        /* device in use (locked or active) */
	/* content */
	STORAGE_E_NOT_LUKS = -30,    /* no LUKS2 header (never provisioned, or erased) */
	STORAGE_E_CORRUPT = -31,     /* LUKS magic present but the header does not load */
	STORAGE_E_BAD_KEY = -32,     /* no key slot opens with this key/passphrase */
	STORAGE_E_FORMAT = -33,      /* not the expected cipher / key size */
	/* kernel */
	STORAGE_E_NO_DM = -40,       /* no device-mapper/dm-crypt: cannot activate */
	STORAGE_E_ACTIVATE = -41,    /* activation or deactivation failed otherwise */
	/* re-encryption */
	STORAGE_E_INTERRUPTED = -50, /* re-key stopped; call storage_rekey again */
	STORAGE_E_CRYPTSETUP = -60,  /* other libcryptsetup failure */
	STORAGE_E_CRYPTO = -61,      /* wolfCrypt failure (offline sector I/O) */
};

const char *storage_strerror(int err);

/* KDF costs of one key slot. type: "pbkdf2" (iterations) or "argon2id"
 * (iterations = passes, memory_kb, threads). No benchmark: the values are used
 * as given, so the same header opens alike on every machine. */
struct storage_kdf {
	const char *type;
	uint32_t iterations;
	uint32_t memory_kb;
	uint32_t threads;
};
extern const struct storage_kdf storage_kdf_key_default;      /* pbkdf2, 1000 */
extern const struct storage_kdf storage_kdf_recovery_default; /* argon2id 4, 1 GiB, 4 */

/* Options; NULL or a zero field means the default. */
struct storage_opts {
	const struct storage_kdf *key_kdf;
	const struct storage_kdf *recovery_kdf;
	/* storage_rekey only, for tests of resumption: stop re-encryption after
	 * this many bytes (0 = run to the end). */
	uint64_t rekey_stop_after;
};

/* Formats device (destroys its contents): LUKS2, aes-xts-plain64, a fresh
 * random 512-bit volume key, slot 0 from key, slot 1 from recovery_pass when
 * not NULL (controller), label STORAGE_LABEL, subsystem STORAGE_SUBSYSTEM. */
int storage_provision(const char *device, const uint8_t *key, size_t key_len,
		      const char *recovery_pass, const struct storage_opts *opts);

/* Does a key slot open with key? STORAGE_OK or STORAGE_E_BAD_KEY. Needs no
 * device-mapper. storage_check_pass: the same for the recovery passphrase. */
int storage_check_key(const char *device, const uint8_t *key, size_t key_len);
int storage_check_pass(const char *device, const char *pass);

/* Opens device as /dev/mapper/<name>. Checks the key first (STORAGE_E_BAD_KEY
 * without device-mapper too), then activates: STORAGE_E_NO_DM when the kernel
 * has no device-mapper. storage_lock closes the mapping. */
int storage_unlock(const char *device, const char *name, const uint8_t *key, size_t key_len);
int storage_lock(const char *name);

/* true when the kernel has device-mapper (/proc/misc lists "device-mapper"). */
int storage_have_dm(void);

struct storage_info {
	int luks_version;             /* 2 */
	char cipher[32];              /* "aes" */
	char cipher_mode[32];         /* "xts-plain64" */
	unsigned key_bits;            /* volume key size: 512 */
	uint32_t keyslots;            /* bit i set: key slot i holds a key */
	char label[48], subsystem[48];
	char uuid[40];
	uint64_t data_offset;         /* bytes */
	int rekey_in_progress;        /* an interrupted storage_rekey */
	/* digest of the volume key (LUKS2 "digest", base64): changes on re-key */
	char vk_digest[STORAGE_DIGEST_MAX];
};
/* Reads the header; ret is set only on success. */
int storage_status(const char *device, struct storage_info *ret);

/* Crypto-erase: destroys every key slot, overwrites the header and keyslot
 * area (0..data offset) with random bytes, fsyncs. Afterwards no key and no
 * passphrase opens it and it is not LUKS any more. The data stay, unreadable. */
int storage_crypto_erase(const char *device);

/* New volume key by offline LUKS2 re-encryption (device not active). The new
 * key slot is opened by new_key; the old key slots are gone afterwards; when
 * recovery_pass is not NULL it gets a slot for the new volume key too.
 * Resumable: after an interruption (crash, power loss, rekey_stop_after) call
 * again with the same arguments; it continues where it stopped. */
int storage_rekey(const char *device, const uint8_t *old_key, size_t old_len,
		  const uint8_t *new_key, size_t new_len, const char *recovery_pass,
		  const struct storage_opts *opts);

/* Offline access to the decrypted data area without device-mapper: reads or
 * writes len bytes at byte offset off of the data area (both multiples of
 * 512), decrypting/encrypting with the volume key (obtained with key) and
 * wolfCrypt AES-XTS (plain64 IV = sector number). For checks and tests, not
 * for bulk data; refused while a re-key is in progress. */
int storage_offline_read(const char *device, const uint8_t *key, size_t key_len,
			 uint64_t off, uint8_t *buf, size_t len);
int storage_offline_write(const char *device, const uint8_t *key, size_t key_len,
			  uint64_t off, const uint8_t *buf, size_t len);

/* Is the file system holding path on a dm-crypt LUKS2 mapping (the device of
 * its mount, per sysfs dm/uuid "CRYPT-LUKS2-...")? 1 yes, 0 no, negative
 * errno if path cannot be examined. *ret_name (may be NULL, cap bytes) gets
 * the mapping name when 1. The daemons check their data directories with it. */
int storage_path_encrypted(const char *path, char *ret_name, size_t cap);

/* Development backend: a plain, UNENCRYPTED directory (the rig). Refused with
 * STORAGE_E_DEV_REFUSED unless flags has STORAGE_ALLOW_UNENCRYPTED. Creates dir
 * (0700) if missing and a label file STORAGE_DEV_LABEL_FILE in it saying that
 * nothing there is encrypted. */
#define STORAGE_ALLOW_UNENCRYPTED 0x1u
#define STORAGE_DEV_LABEL_FILE "UNENCRYPTED-DEVELOPMENT-STORAGE.txt"
int storage_dev_open(const char *dir, unsigned flags);

#endif
