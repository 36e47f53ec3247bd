/* test_storage_luksdump - a provisioned controller volume as the stock
 * cryptsetup tool sees it: LUKS2, aes-xts-plain64, 512 bits, key slots 0 and
 * 1, and the recovery passphrase and key pass --test-passphrase. Skips (77)
 * without the cryptsetup CLI (Debian package cryptsetup-bin). */
#include "sfix.h"

#include "../shared/check.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int r = write(fd, buf, len) == (ssize_t)len ? 0 : -1;
	return close(fd) < 0 ? -1 : r;
}

/* Runs cmd; its output into out (NUL-terminated). Returns the exit status. */
static int run(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = 0;
	return pclose(p);
}

int main(void)
{
	if (system("command -v cryptsetup >/dev/null 2>&1") != 0) {
		printf("SKIP: no cryptsetup CLI (apt-get install cryptsetup-bin)\n");
		return 77;
	}
	const char *img = sfix_image("dump.img", 32u << 20);
	const char *passf = check_path("pass"), *keyf = check_path("key"), *wrongf = check_path("wrong");
	CHECK(storage_provision(img, sfix_key, 64, SFIX_PASS, &sfix_opts) == STORAGE_OK);
	CHECK(write_file(passf, SFIX_PASS, strlen(SFIX_PASS)) == 0);
	CHECK(write_file(keyf, sfix_key, 64) == 0);
	CHECK(write_file(wrongf, sfix_wrong, 64) == 0);

	static char out[65536];
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "cryptsetup luksDump '%s'", img);
	CHECK(run(cmd, out, sizeof(out)) == 0);
	CHECK(strstr(out, "Version:       \t2") != NULL);
	CHECK(strstr(out, "cipher: aes-xts-plain64") != NULL);
	CHECK(strstr(out, "  0: luks2\n\tKey:        512 bits") != NULL);
	CHECK(strstr(out, "  1: luks2\n\tKey:        512 bits") != NULL);
	CHECK(strstr(out, "  2: luks2") == NULL);
	CHECK(strstr(out, "PBKDF:      argon2id") != NULL);
	CHECK(strstr(out, "Label:         \t" STORAGE_LABEL) != NULL);
	CHECK(strstr(out, "Subsystem:     \t" STORAGE_SUBSYSTEM) != NULL);

	snprintf(cmd, sizeof(cmd), "cryptsetup open --test-passphrase --key-file '%s' '%s' 2>&1", passf, img);
	CHECK(run(cmd, out, sizeof(out)) == 0);
	snprintf(cmd, sizeof(cmd), "cryptsetup open --test-passphrase --key-file '%s' '%s' 2>&1", keyf, img);
	CHECK(run(cmd, out, sizeof(out)) == 0);
	snprintf(cmd, sizeof(cmd), "cryptsetup open --test-passphrase --key-file '%s' '%s' 2>&1", wrongf, img);
	CHECK(run(cmd, out, sizeof(out)) != 0);
	return check_done();
}
