/* bwcctl-staging.c - the controller's staging volume ([staging] volume): a
 * LUKS2 device (aes-xts-plain64, 512-bit volume key, hw/storage.h) whose key
 * slot 0 opens with a random key sealed by the controller's keystore (the TPM:
 * nothing is typed at boot) and slot 1 with the master-key passphrase
 * (recovery). Mounting the opened mapping on [staging] dir is the boot's job
 * (bwc-staging.service); the daemon refuses a staging dir that is not on it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "controller/bwcctl.h"
#include "controller/keys.h"
#include "hw/storage.h"
#include "shared/util.h"

#define STAGING_MAPPING "bwc-staging"
#define KEY_BYTES 64

static int storage_die(struct cli *c, const char *what, int r)
{
	return die("%s %s: %s", what, c->cfg.staging_volume, storage_strerror(r));
}

static int staging_provision(struct cli *c, keystore_t *ks)
{
	uint8_t key[KEY_BYTES];
	char pass[256];
	int r;

	/* The recovery slot gets the system's own master passphrase, checked. */
	if (bwcctl_master(c, NULL, pass, sizeof(pass)))
		return 1;
	r = ks_random(ks, key, sizeof(key));
	if (r != KS_OK) {
		util_wipe(pass, sizeof(pass));
		return die("no random key from the keystore: %s %s", ks_strerror(r), ks_last_detail());
	}
	r = storage_provision(c->cfg.staging_volume, key, sizeof(key), pass, NULL);
	util_wipe(pass, sizeof(pass));
	if (r != STORAGE_OK) {
		util_wipe(key, sizeof(key));
		return storage_die(c, "cannot format", r);
	}
	/* Sealed only once the header exists: a failure before leaves the old
	 * sealed key (and whatever volume it opens) as it was. */
	r = ks_seal(ks, STAGING_KEY, key, sizeof(key));
	util_wipe(key, sizeof(key));
	if (r != KS_OK)
		return die("formatted %s but cannot seal its key (%s %s): the volume opens only "
			   "with the master passphrase now; run staging provision again",
			   c->cfg.staging_volume, ks_strerror(r), ks_last_detail());
	bwcctl_audit(c, "staging-provision", NULL, "staging volume formatted (LUKS2)");
	printf("staging volume %s: LUKS2 aes-xts-plain64 512-bit, key slot 0 sealed in %s, "
	       "key slot 1 the master passphrase\n", c->cfg.staging_volume, c->cfg.keystore);
	return 0;
}

static int no_staging_key(struct cli *c)
{
	return die("no staging key in keystore %s: run bwcctl staging provision", c->cfg.keystore);
}

/* The sealed key name into key (KEY_BYTES): 0; -1 (nothing said) when none is
 * sealed; else the exit status after saying why. */
static int unseal_key(struct cli *c, keystore_t *ks, const char *name, uint8_t *key)
{
	size_t len = 0;
	int r = ks_unseal(ks, name, key, KEY_BYTES, &len);

	if (r == KS_OK && len == KEY_BYTES)
		return 0;
	util_wipe(key, KEY_BYTES);
	if (r == KS_OK || r == KS_E_NOT_FOUND)
		return r == KS_OK ? die("the sealed %s has the wrong size", name) : -1;
	return die("cannot unseal %s from keystore %s: %s %s", name, c->cfg.keystore,
		   ks_strerror(r), ks_last_detail());
}

static int staging_unlock(struct cli *c, keystore_t *ks)
{
	uint8_t key[KEY_BYTES];
	int r = unseal_key(c, ks, STAGING_KEY, key);

	if (r != 0)
		return r < 0 ? no_staging_key(c) : r;
	r = storage_unlock(c->cfg.staging_volume, STAGING_MAPPING, key, sizeof(key));
	util_wipe(key, sizeof(key));
	if (r != STORAGE_OK)
		return storage_die(c, "cannot open", r);
	printf("staging volume %s open as /dev/mapper/%s: mount it on %s\n",
	       c->cfg.staging_volume, STAGING_MAPPING, c->cfg.staging_dir);
	return 0;
}

static int staging_status(struct cli *c)
{
	struct storage_info i;
	int r = storage_status(c->cfg.staging_volume, &i);

	if (r != STORAGE_OK)
		return storage_die(c, "cannot read", r);
	printf("volume %s\n  LUKS%d %s-%s, %u-bit volume key\n  key slots:%s%s\n"
	       "  volume key digest %s\n%s", c->cfg.staging_volume, i.luks_version, i.cipher,
	       i.cipher_mode, i.key_bits, i.keyslots & 1 ? " 0 (sealed key)" : "",
	       i.keyslots & 2 ? " 1 (master passphrase)" : "", i.vk_digest,
	       i.rekey_in_progress ? "  RE-KEY INTERRUPTED: run the re-key again\n" : "");
	return 0;
}

/* A new volume key (firmware update, suspected exposure): offline LUKS2
 * re-encryption, resumable. The new key is sealed first under the "-next"
 * name, so an interruption at any point is finished by running it again. */
static int staging_rekey(struct cli *c, keystore_t *ks)
{
	uint8_t old[KEY_BYTES], key[KEY_BYTES];
	char pass[256];
	int r, resumed;

	if ((r = unseal_key(c, ks, STAGING_KEY, old)) != 0)
		return r < 0 ? no_staging_key(c) : r;
	r = unseal_key(c, ks, STAGING_KEY_NEXT, key);
	if (r > 0) {
		util_wipe(old, sizeof(old));
		return r;
	}
	resumed = r == 0;
	if (!resumed && ((r = ks_random(ks, key, sizeof(key))) != KS_OK ||
			 (r = ks_seal(ks, STAGING_KEY_NEXT, key, sizeof(key))) != KS_OK)) {
		util_wipe(old, sizeof(old));
		return die("cannot make the new staging key: %s %s", ks_strerror(r), ks_last_detail());
	}
	/* the recovery slot must follow the new volume key: the passphrase again */
	if (bwcctl_master(c, NULL, pass, sizeof(pass))) {
		util_wipe(old, sizeof(old));
		util_wipe(key, sizeof(key));
		return 1;
	}
	r = storage_rekey(c->cfg.staging_volume, old, sizeof(old), key, sizeof(key), pass, NULL);
	util_wipe(pass, sizeof(pass));
	util_wipe(old, sizeof(old));
	if (r != STORAGE_OK) {
		util_wipe(key, sizeof(key));
		return storage_die(c, "cannot re-key (run staging rekey again to resume)", r);
	}
	r = ks_seal(ks, STAGING_KEY, key, sizeof(key));
	util_wipe(key, sizeof(key));
	if (r != KS_OK)
		return die("re-keyed %s but cannot seal its key as current (%s %s): run staging "
			   "rekey again", c->cfg.staging_volume, ks_strerror(r), ks_last_detail());
	ks_unseal_destroy(ks, STAGING_KEY_NEXT);
	bwcctl_audit(c, "staging-rekey", NULL, resumed ? "staging volume re-keyed (resumed)"
						       : "staging volume re-keyed");
	printf("staging volume %s has a new volume key%s\n", c->cfg.staging_volume,
	       resumed ? " (interrupted re-key finished)" : "");
	return 0;
}

/* Factory default: no key slot, no header, no sealed key: the staged data
 * stay on the disk, unreadable by anyone. */
static int staging_erase(struct cli *c, keystore_t *ks)
{
	char pass[256];
	int r;

	if (bwcctl_master(c, NULL, pass, sizeof(pass)))
		return 1;
	util_wipe(pass, sizeof(pass));
	r = storage_crypto_erase(c->cfg.staging_volume);
	if (r != STORAGE_OK)
		return storage_die(c, "cannot crypto-erase", r);
	if ((r = ks_unseal_destroy(ks, STAGING_KEY)) != KS_OK ||
	    (r = ks_unseal_destroy(ks, STAGING_KEY_NEXT)) != KS_OK)
		return die("volume erased, but the sealed key could not be removed: %s",
			   ks_strerror(r));
	bwcctl_audit(c, "staging-erase", NULL, "staging volume crypto-erased");
	printf("staging volume %s crypto-erased: key slots and header destroyed, sealed key "
	       "removed\n", c->cfg.staging_volume);
	return 0;
}

int cmd_staging(struct cli *c, const char *verb)
{
	keystore_t *ks;

	if (!c->cfg.staging_volume[0])
		return die("no [staging] volume in the configuration: name the LUKS2 device first");
	if (!strcmp(verb, "status"))
		return staging_status(c);
	ks = bwcctl_keystore(c);
	if (!ks)
		return 1;
	if (!strcmp(verb, "provision"))
		return staging_provision(c, ks);
	if (!strcmp(verb, "rekey"))
		return staging_rekey(c, ks);
	if (!strcmp(verb, "erase"))
		return staging_erase(c, ks);
	return staging_unlock(c, ks);
}
