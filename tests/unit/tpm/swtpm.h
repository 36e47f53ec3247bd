/* swtpm.h - starts a private swtpm (TPM 2.0 simulator) on free local ports
 * in a state directory for one test, and stops it. */
#ifndef BWC_TEST_SWTPM_H
#define BWC_TEST_SWTPM_H

#include "tests/unit/shared/check.h"

#include <limits.h>
#include <sys/types.h>

#define SWTPM_SKIP 77   /* exit code of a test when swtpm is not installed */

struct swtpm {
	pid_t pid;
	int port;             /* command port; port + 1 is the control port */
	char tcti[64];        /* "swtpm:host=127.0.0.1,port=<port>" */
	char spec_head[80];   /* "tpm:<tcti>;dir=" */
};

/* Whether a swtpm binary is on PATH; swtpm_require exits with SWTPM_SKIP
 * when there is none. */
int swtpm_installed(void);
void swtpm_require(void);

/* Starts swtpm with its state in statedir (created). 0 or -1. */
int swtpm_start(struct swtpm *s, const char *statedir);
void swtpm_stop(struct swtpm *s);

/* Starts swtpm with state <tmp>/<state> and opens the keystore
 * "tpm:<tcti>;dir=<keys>", counting both as checks. NULL on failure (then
 * swtpm_stop is still due). */
struct keystore;
struct keystore *swtpm_keystore(struct swtpm *s, const char *state, const char *keys);

/* A TCP port on 127.0.0.1 free now (and port + 1 too). */
int swtpm_free_port(void);

/* CHECK that a ks_* call returns want; on failure print what it said. */
#define CHECK_KS(call, want)                                                          \
	do {                                                                          \
		int r_ = (call);                                                      \
		if (r_ != (want))                                                     \
			fprintf(stderr, "%s:%d: %s = %d (%s; %s)\n", __FILE__, __LINE__, \
				#call, r_, ks_strerror(r_), ks_last_detail());        \
		CHECK(r_ == (want));                                                  \
	} while (0)

#endif
