/* test_storage_erase - crypto-erase: afterwards neither the key nor the
 * recovery passphrase opens the volume, it is not LUKS any more, and the
 * header area holds no copy of the old header. */
#include "sfix.h"

#include "../shared/check.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB (1024u * 1024u)

/* The first bytes of both header copies, before and after. */
static int read_at(const char *path, uint64_t off, uint8_t *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = pread(fd, buf, len, (off_t)off);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

int main(void)
{
	const char *img = sfix_image("erase.img", 32 * MIB);
	CHECK(storage_provision(img, sfix_key, 64, SFIX_PASS, &sfix_opts) == STORAGE_OK);
	uint8_t data[4096], back[4096];
	memset(data, 0xa7, sizeof(data));
	CHECK(storage_offline_write(img, sfix_key, 64, 0, data, sizeof(data)) == STORAGE_OK);
	uint8_t slot_before[512], slot_after[512];
	CHECK(read_at(img, 32768, slot_before, sizeof(slot_before)) == 0);   /* key slot 0 area */

	CHECK(storage_crypto_erase(img) == STORAGE_OK);
	CHECK(storage_check_key(img, sfix_key, 64) == STORAGE_E_NOT_LUKS);
	CHECK(storage_check_pass(img, SFIX_PASS) == STORAGE_E_NOT_LUKS);
	CHECK(storage_offline_read(img, sfix_key, 64, 0, back, sizeof(back)) == STORAGE_E_NOT_LUKS);
	struct storage_info info;
	CHECK(storage_status(img, &info) == STORAGE_E_NOT_LUKS);
	CHECK(storage_crypto_erase(img) == STORAGE_E_NOT_LUKS);
	uint8_t hdr[6], hdr2[6];
	CHECK(read_at(img, 0, hdr, 6) == 0 && memcmp(hdr, "LUKS\xba\xbe", 6) != 0);
	CHECK(read_at(img, 16384, hdr2, 6) == 0 && memcmp(hdr2, "SKUL\xba\xbe", 6) != 0);
	CHECK(read_at(img, 32768, slot_after, sizeof(slot_after)) == 0);
	CHECK(memcmp(slot_before, slot_after, sizeof(slot_after)) != 0);

	/* the stock tool agrees, when it is installed */
	if (system("command -v cryptsetup >/dev/null 2>&1") == 0) {
		char cmd[1200];
		snprintf(cmd, sizeof(cmd), "cryptsetup isLuks '%s'", img);
		CHECK(system(cmd) != 0);
		snprintf(cmd, sizeof(cmd), "cryptsetup luksDump '%s' >/dev/null 2>&1", img);
		CHECK(system(cmd) != 0);
	}

	/* an erased volume can be provisioned afresh */
	CHECK(storage_provision(img, sfix_key2, 64, NULL, &sfix_opts) == STORAGE_OK);
	CHECK(storage_check_key(img, sfix_key, 64) == STORAGE_E_BAD_KEY);
	return check_done();
}
