/* check.c - counters, closing line and scratch directory for the shared/
 * unit tests (see check.h). */
#include "check.h"

#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

int check_passed, check_failed;
static char tmpdir[PATH_MAX];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int check_done(void)
{
	if (tmpdir[0] && nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		perror("removing the scratch directory");
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

const char *check_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	if (tmpdir[0])
		return tmpdir;
	snprintf(tmpdir, sizeof(tmpdir), "%s/bwc-test-XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(EXIT_FAILURE);
	}
	return tmpdir;
}

const char *check_path(const char *name)
{
	static char ring[8][PATH_MAX];
	static unsigned next;
	char *p = ring[next++ % 8];

	snprintf(p, PATH_MAX, "%s/%s", check_tmpdir(), name);
	return p;
}
