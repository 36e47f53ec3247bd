/* fuzz.h - helpers shared by the libFuzzer targets in tests/fuzz: a scratch
 * directory per run, writing an input to a file, and a loud invariant check.
 * Header-only so that each target stays one compilation unit. */
#ifndef BWC_FUZZ_H
#define BWC_FUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test is broken: say which and crash, so
 * that libFuzzer keeps the input. */
#define FZ_CHECK(cond)                                                                   \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond,    \
				__FILE__, __LINE__);                                     \
			abort();                                                         \
		}                                                                        \
	} while (0)

/* A fresh private directory for one run (nothing survives between runs). */
static inline int fz_mkdtemp(char out[PATH_MAX])
{
	const char *base = getenv("TMPDIR");

	if (!base || !base[0])
		base = "/tmp";
	if (snprintf(out, PATH_MAX, "%s/bwc-fuzz.XXXXXX", base) >= PATH_MAX || !mkdtemp(out)) {
		perror("fuzz: mkdtemp");
		abort();   /* the harness, not the code under test, is broken */
	}
	return 0;
}

static inline int fz_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

static inline void fz_rmtree(const char *dir)
{
	if (nftw(dir, fz_rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0) {
		perror("fuzz: removing the scratch directory");
		abort();
	}
}

static inline void fz_write(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *p = data;

	if (fd < 0) {
		perror("fuzz: open");
		abort();
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n <= 0) {
			perror("fuzz: write");
			abort();
		}
		p += n;
		len -= (size_t)n;
	}
	close(fd);
}

/* A NUL-terminated heap copy, for APIs that take C strings. APIs that take
 * (pointer, length) get libFuzzer's own buffer, which is exactly that long:
 * ASan catches a read past it. */
static inline char *fz_strndup(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		abort();
	memcpy(s, data, len);
	s[len] = 0;
	return s;
}

#endif
