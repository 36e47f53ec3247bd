/* fixture.h - keys and certificates made with openssl for the destination
 * and envelope tests, in the test's scratch directory. */
#ifndef BWC_TEST_DEST_FIXTURE_H
#define BWC_TEST_DEST_FIXTURE_H

#include <stddef.h>

/* Runs a shell command; exits the test when it fails. */
void fx_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Makes priv.pem / pub.pem / pub-rsa.pem (RSA-2048), other.pem (another
 * RSA-2048), small-pub.pem (RSA-1024), cert.pem / cert.der (self-signed)
 * in the scratch directory (check_tmpdir). */
void fx_make_keys(void);

/* Base64 (one line) of a scratch file's bytes; the caller frees. */
char *fx_b64_file(const char *name);

/* A scratch file's bytes, NUL-terminated; the caller frees. */
char *fx_read(const char *name, size_t *len);

#endif
