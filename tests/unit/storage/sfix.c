/* sfix.c - shared helpers of the storage tests (sfix.h). */
#include "sfix.h"

#include "../shared/check.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILL64(b) { [0] = b, [1] = b + 1, [31] = b + 2, [63] = b + 3 }
const uint8_t sfix_key[64] = FILL64(0x11), sfix_key2[64] = FILL64(0x22),
	      sfix_wrong[64] = FILL64(0x33);

static const struct storage_kdf cheap_argon = { "argon2id", 4, 8192, 1 };
const struct storage_opts sfix_opts = { .recovery_kdf = &cheap_argon };

const char *sfix_image(const char *name, uint64_t size)
{
	const char *path = check_path(name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0 || close(fd) < 0) {
		perror(path);
		exit(1);
	}
	return path;
}

int sfix_scribble(const char *path, uint64_t off, size_t len, uint8_t pattern)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	uint8_t buf[4096];
	memset(buf, pattern, sizeof(buf));
	int r = 0;
	for (size_t done = 0; done < len && !r;) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		if (pwrite(fd, buf, n, (off_t)(off + done)) != (ssize_t)n)
			r = -1;
		done += n;
	}
	return close(fd) < 0 ? -1 : r;
}
