/* fixture.c - openssl-made keys and certificates for the destination tests. */
#include "fixture.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "shared/envelope.h"
#include "shared/util.h"

void fx_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0) {
		fprintf(stderr, "fixture command failed: %s\n", cmd);
		exit(EXIT_FAILURE);
	}
}

void fx_make_keys(void)
{
	const char *d = check_tmpdir();

	fx_sh("cd %s && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out priv.pem"
	      " 2>/dev/null && openssl pkey -in priv.pem -pubout -out pub.pem"
	      " && openssl rsa -in priv.pem -RSAPublicKey_out -out pub-rsa.pem 2>/dev/null"
	      " && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.pem"
	      " 2>/dev/null && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024"
	      " -out small.pem 2>/dev/null && openssl pkey -in small.pem -pubout -out small-pub.pem"
	      " && openssl req -x509 -new -key priv.pem -subj /CN=ems.example -days 30"
	      " -out cert.pem 2>/dev/null && openssl x509 -in cert.pem -outform DER -out cert.der",
	      d);
}

char *fx_read(const char *name, size_t *len)
{
	uint8_t *buf = NULL;

	if (util_read_file(check_path(name), 1 << 24, &buf, len) < 0) {
		fprintf(stderr, "cannot read %s\n", name);
		exit(EXIT_FAILURE);
	}
	return (char *)buf;
}

char *fx_b64_file(const char *name)
{
	size_t len = 0;
	char *raw = fx_read(name, &len), *out = NULL;

	if (env_b64_encode((const uint8_t *)raw, len, &out) != ENV_OK)
		exit(EXIT_FAILURE);
	free(raw);
	return out;
}
