/* test_storage_rekey - storage_rekey: a new volume key (digest changes), data
 * written before reads back (offline AES-XTS), an interrupted re-key resumes,
 * also when it stopped after the key change. */
#include "sfix.h"

#include "../shared/check.h"

#include <stdio.h>
#include <string.h>

#define MIB (1024u * 1024u)

static void pattern(uint8_t *buf, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

int main(void)
{
	const char *img = sfix_image("rekey.img", 16 * MIB);
	static uint8_t data[64 * 1024], back[sizeof(data)];
	pattern(data, sizeof(data), 5);
	CHECK(storage_provision(img, sfix_key, sizeof(sfix_key), SFIX_PASS, &sfix_opts) == STORAGE_OK);
	/* plaintext at the start and near the end of the data area */
	CHECK(storage_offline_write(img, sfix_key, 64, 0, data, sizeof(data)) == STORAGE_OK);
	CHECK(storage_offline_write(img, sfix_key, 64, 11 * MIB, data, sizeof(data)) == STORAGE_OK);
	CHECK(storage_offline_read(img, sfix_key, 64, 0, back, sizeof(back)) == STORAGE_OK);
	CHECK(memcmp(data, back, sizeof(data)) == 0);
	CHECK(storage_offline_read(img, sfix_wrong, 64, 0, back, sizeof(back)) == STORAGE_E_BAD_KEY);
	struct storage_info before, after;
	CHECK(storage_status(img, &before) == STORAGE_OK);

	/* interrupted after 2 MiB, as a power loss would */
	struct storage_opts stop = sfix_opts;
	stop.rekey_stop_after = 2 * MIB;
	int r = storage_rekey(img, sfix_key, 64, sfix_key2, 64, SFIX_PASS, &stop);
	fprintf(stderr, "interrupted rekey: %s\n", storage_strerror(r));
	CHECK(r == STORAGE_E_INTERRUPTED);
	struct storage_info mid;
	CHECK(storage_status(img, &mid) == STORAGE_OK && mid.rekey_in_progress);
	CHECK(storage_offline_read(img, sfix_key, 64, 0, back, sizeof(back)) == STORAGE_E_BUSY);

	/* the second call resumes and finishes */
	r = storage_rekey(img, sfix_key, 64, sfix_key2, 64, SFIX_PASS, &sfix_opts);
	fprintf(stderr, "resumed rekey: %s\n", storage_strerror(r));
	CHECK(r == STORAGE_OK);
	CHECK(storage_status(img, &after) == STORAGE_OK);
	CHECK(!after.rekey_in_progress);
	CHECK(strcmp(before.vk_digest, after.vk_digest) != 0);
	CHECK(after.key_bits == 512 && !strcmp(after.cipher_mode, "xts-plain64"));
	CHECK(after.keyslots == 0x3);   /* key in slot 0, recovery in slot 1 again */

	CHECK(storage_check_key(img, sfix_key2, 64) == STORAGE_OK);
	CHECK(storage_check_key(img, sfix_key, 64) == STORAGE_E_BAD_KEY);
	CHECK(storage_check_pass(img, SFIX_PASS) == STORAGE_OK);
	memset(back, 0, sizeof(back));
	CHECK(storage_offline_read(img, sfix_key2, 64, 0, back, sizeof(back)) == STORAGE_OK);
	CHECK(memcmp(data, back, sizeof(data)) == 0);
	memset(back, 0, sizeof(back));
	CHECK(storage_offline_read(img, sfix_key2, 64, 11 * MIB, back, sizeof(back)) == STORAGE_OK);
	CHECK(memcmp(data, back, sizeof(data)) == 0);

	/* A re-key that stopped after the key change but before the recovery slot
	 * (here: run without it) finishes when run again with the same keys. */
	const char *img2 = sfix_image("rekey2.img", 8 * MIB);
	CHECK(storage_provision(img2, sfix_key, 64, SFIX_PASS, &sfix_opts) == STORAGE_OK);
	CHECK(storage_rekey(img2, sfix_key, 64, sfix_key2, 64, NULL, &sfix_opts) == STORAGE_OK);
	CHECK(storage_check_pass(img2, SFIX_PASS) == STORAGE_E_BAD_KEY);
	CHECK(storage_rekey(img2, sfix_key, 64, sfix_key2, 64, SFIX_PASS, &sfix_opts) == STORAGE_OK);
	CHECK(storage_check_pass(img2, SFIX_PASS) == STORAGE_OK);
	CHECK(storage_check_key(img2, sfix_key2, 64) == STORAGE_OK);
	CHECK(storage_check_key(img2, sfix_key, 64) == STORAGE_E_BAD_KEY);

	/* same key twice, or the old key once more: refused */
	CHECK(storage_rekey(img, sfix_key2, 64, sfix_key2, 64, NULL, &sfix_opts) == STORAGE_E_INPUT);
	CHECK(storage_rekey(img, sfix_key, 64, sfix_wrong, 64, NULL, &sfix_opts) == STORAGE_E_BAD_KEY);
	return check_done();
}
