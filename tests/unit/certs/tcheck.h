/* tcheck.h - assertions and helpers shared by the certs unit tests: count
 * checks, build small PKIs in memory, write PEM files, run openssl. */
#ifndef BWC_TCHECK_H
#define BWC_TCHECK_H

#include "certs/certs.h"

#include <stdio.h>

extern int t_passed, t_failed;

#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (cond) {                                                             \
			t_passed++;                                                     \
		} else {                                                                \
			t_failed++;                                                     \
			fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                       \
	} while (0)

#define CHECK_EQ(a, b)                                                                   \
	do {                                                                             \
		long long a_ = (long long)(a), b_ = (long long)(b);                      \
		if (a_ == b_) {                                                          \
			t_passed++;                                                      \
		} else {                                                                 \
			t_failed++;                                                      \
			fprintf(stderr, "%s:%d: FAILED: %s == %s (%lld != %lld)\n",      \
				__FILE__, __LINE__, #a, #b, a_, b_);                     \
		}                                                                        \
	} while (0)

/* Prints "N passed, M failed" and returns the exit status. */
int t_finish(void);

/* A key and its certificate, made in memory. */
struct t_ident {
	ecc_key key;
	uint8_t der[CERTS_MAX_DER];
	size_t len;
};

WC_RNG *t_rng(void);
/* New key; a certificate of profile with the names given, issued by issuer
 * (NULL: self-signed), valid nb..na. Aborts the test on failure. */
void t_make(struct t_ident *id, enum cert_profile profile, const char *name, const char *org,
	    const struct t_ident *issuer, time_t nb, time_t na);
void t_free(struct t_ident *id);

/* Writes der as PEM of type ("CERTIFICATE", ...) to path; aborts on failure. */
void t_write_pem(const char *path, const uint8_t *der, size_t len, const char *type);
/* Reads path (at most 64 KiB) into buf; returns its length; aborts on failure. */
size_t t_read(const char *path, void *buf, size_t cap);
/* A fresh temporary directory (removed by t_cleanup). */
const char *t_tmpdir(void);
void t_cleanup(void);
/* Runs a shell command, captures up to cap-1 bytes of stdout; returns exit status. */
int t_run(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
