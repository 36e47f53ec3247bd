/* test_storage_args - every public function fed NULL, empty and oversized
 * arguments; an image too small; a damaged header; the development backend
 * refused without its allow flag. */
#include "sfix.h"

#include "../shared/check.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define MIB (1024u * 1024u)

static void check_inputs(const char *img)
{
	static char longpath[STORAGE_PATH_MAX + 10], longpass[STORAGE_PASS_MAX + 2];
	static uint8_t bigkey[STORAGE_KEY_MAX + 1];
	memset(longpath, 'a', sizeof(longpath) - 1);
	memset(longpass, 'p', sizeof(longpass) - 1);
	uint8_t buf[512];
	struct storage_info info;
	const int E = STORAGE_E_INPUT;

	CHECK(storage_provision(NULL, sfix_key, 64, NULL, NULL) == E);
	CHECK(storage_provision("", sfix_key, 64, NULL, NULL) == E);
	CHECK(storage_provision(longpath, sfix_key, 64, NULL, NULL) == E);
	CHECK(storage_provision(img, NULL, 64, NULL, NULL) == E);
	CHECK(storage_provision(img, sfix_key, 0, NULL, NULL) == E);
	CHECK(storage_provision(img, sfix_key, STORAGE_KEY_MIN - 1, NULL, NULL) == E);
	CHECK(storage_provision(img, bigkey, sizeof(bigkey), NULL, NULL) == E);
	CHECK(storage_provision(img, sfix_key, 64, "", NULL) == E);
	CHECK(storage_provision(img, sfix_key, 64, longpass, NULL) == E);

	CHECK(storage_check_key(NULL, sfix_key, 64) == E);
	CHECK(storage_check_key(img, NULL, 64) == E);
	CHECK(storage_check_key(img, bigkey, sizeof(bigkey)) == E);
	CHECK(storage_check_pass(img, NULL) == E);
	CHECK(storage_check_pass(img, "") == E);
	CHECK(storage_check_pass(img, longpass) == E);

	CHECK(storage_unlock(NULL, "n", sfix_key, 64) == E);
	CHECK(storage_unlock(img, NULL, sfix_key, 64) == E);
	CHECK(storage_unlock(img, "", sfix_key, 64) == E);
	CHECK(storage_unlock(img, "../control", sfix_key, 64) == E);
	CHECK(storage_unlock(img, "..", sfix_key, 64) == E);
	CHECK(storage_unlock(img, "n", NULL, 64) == E);
	CHECK(storage_unlock(img, "n", sfix_key, 0) == E);
	CHECK(storage_lock(NULL) == E);
	CHECK(storage_lock("a/b") == E);

	CHECK(storage_status(NULL, &info) == E);
	CHECK(storage_status(img, NULL) == E);
	CHECK(storage_crypto_erase(NULL) == E);
	CHECK(storage_crypto_erase(longpath) == E);

	CHECK(storage_rekey(NULL, sfix_key, 64, sfix_key2, 64, NULL, NULL) == E);
	CHECK(storage_rekey(img, NULL, 64, sfix_key2, 64, NULL, NULL) == E);
	CHECK(storage_rekey(img, sfix_key, 64, NULL, 64, NULL, NULL) == E);
	CHECK(storage_rekey(img, sfix_key, 64, bigkey, sizeof(bigkey), NULL, NULL) == E);
	CHECK(storage_rekey(img, sfix_key, 64, sfix_key2, 64, longpass, NULL) == E);

	CHECK(storage_offline_read(NULL, sfix_key, 64, 0, buf, 512) == E);
	CHECK(storage_offline_read(img, sfix_key, 64, 0, NULL, 512) == E);
	CHECK(storage_offline_read(img, sfix_key, 64, 0, buf, 0) == E);
	CHECK(storage_offline_read(img, sfix_key, 64, 0, buf, 100) == E);
	CHECK(storage_offline_read(img, sfix_key, 64, 7, buf, 512) == E);
	CHECK(storage_offline_write(img, NULL, 64, 0, buf, 512) == E);

	CHECK(storage_dev_open(NULL, STORAGE_ALLOW_UNENCRYPTED) == E);
	CHECK(storage_dev_open(longpath, STORAGE_ALLOW_UNENCRYPTED) == E);
	CHECK(strcmp(storage_strerror(12345), "unknown storage error") == 0);
}

static void check_small(void)
{
	const char *tiny = sfix_image("tiny.img", 4 * MIB);
	int r = storage_provision(tiny, sfix_key, 64, NULL, &sfix_opts);
	CHECK(r == STORAGE_E_TOO_SMALL);
	CHECK(strstr(storage_strerror(r), "image too small") != NULL);
	const char *empty = sfix_image("empty.img", 0);
	CHECK(storage_provision(empty, sfix_key, 64, NULL, &sfix_opts) == STORAGE_E_TOO_SMALL);
	CHECK(storage_provision(check_path("missing.img"), sfix_key, 64, NULL, &sfix_opts) ==
	      STORAGE_E_IO);
	CHECK(storage_check_key(check_path("missing.img"), sfix_key, 64) == STORAGE_E_IO);
	/* blank, never provisioned */
	const char *blank = sfix_image("blank.img", 8 * MIB);
	CHECK(storage_check_key(blank, sfix_key, 64) == STORAGE_E_NOT_LUKS);
	/* the smallest size that fits */
	const char *just = sfix_image("just.img", STORAGE_MIN_BYTES);
	CHECK(storage_provision(just, sfix_key, 64, SFIX_PASS, &sfix_opts) == STORAGE_OK);
	CHECK(storage_check_key(just, sfix_key, 64) == STORAGE_OK);
}

static void check_corrupt(void)
{
	const char *img = sfix_image("corrupt.img", 16 * MIB);
	CHECK(storage_provision(img, sfix_key, 64, NULL, &sfix_opts) == STORAGE_OK);
	/* one damaged copy: the other still loads */
	CHECK(sfix_scribble(img, 4096, 2048, 'X') == 0);
	CHECK(storage_check_key(img, sfix_key, 64) == STORAGE_OK);
	/* the JSON areas of both copies damaged, magic intact */
	CHECK(sfix_scribble(img, 4096, 2048, 'X') == 0);
	CHECK(sfix_scribble(img, 16384 + 4096, 2048, 'Y') == 0);
	int r = storage_check_key(img, sfix_key, 64);
	fprintf(stderr, "corrupt header: %s\n", storage_strerror(r));
	CHECK(r == STORAGE_E_CORRUPT);
	CHECK(strstr(storage_strerror(r), "header damaged") != NULL);
	struct storage_info info;
	CHECK(storage_status(img, &info) == STORAGE_E_CORRUPT);
	CHECK(storage_rekey(img, sfix_key, 64, sfix_key2, 64, NULL, &sfix_opts) == STORAGE_E_CORRUPT);
}

static void check_dev_backend(void)
{
	const char *dir = check_path("devstore");
	int r = storage_dev_open(dir, 0);
	CHECK(r == STORAGE_E_DEV_REFUSED);
	CHECK(strstr(storage_strerror(r), "UNENCRYPTED") != NULL);
	struct stat st;
	CHECK(stat(dir, &st) < 0);   /* refused: nothing created */
	CHECK(storage_dev_open(dir, STORAGE_ALLOW_UNENCRYPTED) == STORAGE_OK);
	CHECK(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
	char label[1200];
	snprintf(label, sizeof(label), "%s/%s", dir, STORAGE_DEV_LABEL_FILE);
	CHECK(stat(label, &st) == 0 && st.st_size > 0);
	CHECK(storage_dev_open(dir, STORAGE_ALLOW_UNENCRYPTED) == STORAGE_OK);   /* again */
}

int main(void)
{
	const char *img = sfix_image("args.img", 16 * MIB);
	check_inputs(img);
	check_small();
	check_corrupt();
	check_dev_backend();
	return check_done();
}
