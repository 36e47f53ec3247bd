/* check.h - the few helpers the shared/ unit tests use: a counting CHECK, the
 * closing "N passed, M failed" line, and a scratch directory per test. */
#ifndef BWC_TEST_CHECK_H
#define BWC_TEST_CHECK_H

#include <stdbool.h>
#include <stdio.h>

extern int check_passed, check_failed;

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (cond) {                                                          \
			check_passed++;                                              \
		} else {                                                             \
			check_failed++;                                              \
			fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                    \
	} while (0)

/* Prints the closing line; returns the process exit code. */
int check_done(void);

/* Creates a fresh directory under $TMPDIR (or /tmp), removed by check_done.
 * Returns its path (static storage) or exits on failure. */
const char *check_tmpdir(void);

/* dir + "/" + name into a static ring of buffers (valid for 8 calls). */
const char *check_path(const char *name);

#endif
