/* test_storage_provision - a provisioned camera and controller volume: status,
 * check_key right and wrong, recovery passphrase, unlock (NO_DM here). */
#include "sfix.h"

#include "../shared/check.h"

#include <stdio.h>
#include <string.h>

#define MIB (1024u * 1024u)

static void check_info(const char *img, uint32_t slots)
{
	struct storage_info info;
	memset(&info, 0x5a, sizeof(info));
	CHECK(storage_status(img, &info) == STORAGE_OK);
	CHECK(info.luks_version == 2);
	CHECK(!strcmp(info.cipher, "aes") && !strcmp(info.cipher_mode, "xts-plain64"));
	CHECK(info.key_bits == 512);
	CHECK(info.keyslots == slots);
	CHECK(!strcmp(info.label, STORAGE_LABEL) && !strcmp(info.subsystem, STORAGE_SUBSYSTEM));
	CHECK(info.data_offset == STORAGE_DATA_OFFSET);
	CHECK(!info.rekey_in_progress);
	CHECK(strlen(info.vk_digest) > 20);
}

static void check_unlock(const char *img)
{
	int r = storage_unlock(img, "bwc-test-unlock", sfix_key, 64);
	if (r == STORAGE_OK) {   /* a kernel with dm-crypt */
		CHECK(storage_lock("bwc-test-unlock") == STORAGE_OK);
		return;
	}
	fprintf(stderr, "unlock: %s\n", storage_strerror(r));
	CHECK(r == STORAGE_E_NO_DM);
	CHECK(strstr(storage_strerror(r), "no device-mapper/dm-crypt (module dm_crypt)") != NULL);
	CHECK(strstr(storage_strerror(r), "development directory backend or a VM") != NULL);
	CHECK(storage_lock("bwc-test-unlock") == STORAGE_E_NO_DM);
}

int main(void)
{
	const char *cam = sfix_image("camera.img", 32 * MIB);
	const char *ctl = sfix_image("controller.img", 32 * MIB);
	CHECK(storage_provision(cam, sfix_key, 64, NULL, &sfix_opts) == STORAGE_OK);
	CHECK(storage_provision(ctl, sfix_key, 64, SFIX_PASS, &sfix_opts) == STORAGE_OK);
	check_info(cam, 0x1);
	check_info(ctl, 0x3);

	struct storage_info a, b;
	CHECK(storage_status(cam, &a) == STORAGE_OK && storage_status(ctl, &b) == STORAGE_OK);
	CHECK(strcmp(a.vk_digest, b.vk_digest) != 0);   /* a fresh volume key each time */
	CHECK(strcmp(a.uuid, b.uuid) != 0);

	CHECK(storage_check_key(cam, sfix_key, 64) == STORAGE_OK);
	CHECK(storage_check_key(cam, sfix_wrong, 64) == STORAGE_E_BAD_KEY);
	CHECK(storage_check_key(cam, sfix_key, 63) == STORAGE_E_BAD_KEY);  /* a prefix is not the key */
	CHECK(storage_check_pass(cam, SFIX_PASS) == STORAGE_E_BAD_KEY);    /* camera: no recovery */
	CHECK(storage_check_key(ctl, sfix_key, 64) == STORAGE_OK);
	CHECK(storage_check_pass(ctl, SFIX_PASS) == STORAGE_OK);
	CHECK(storage_check_pass(ctl, "correct horse battery stapl") == STORAGE_E_BAD_KEY);

	CHECK(storage_unlock(cam, "bwc-test-unlock", sfix_wrong, 64) == STORAGE_E_BAD_KEY);
	check_unlock(cam);

	/* provisioning again destroys the old volume key */
	CHECK(storage_provision(cam, sfix_key2, 64, NULL, &sfix_opts) == STORAGE_OK);
	CHECK(storage_check_key(cam, sfix_key, 64) == STORAGE_E_BAD_KEY);
	CHECK(storage_check_key(cam, sfix_key2, 64) == STORAGE_OK);
	return check_done();
}
