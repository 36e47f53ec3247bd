/* certs_check.h - what certs.h promises about a parsed certificate or CSR,
 * checked by the certs_csr and certs_cert targets. */
#ifndef BWC_FUZZ_CERTS_CHECK_H
#define BWC_FUZZ_CERTS_CHECK_H

#include "tests/fuzz/fuzz.h"
#include "certs/certs.h"

static void fz_check_info(const struct cert_info *i)
{
	uint8_t pin[32];

	FZ_CHECK(memchr(i->serial, 0, sizeof(i->serial)) != NULL);
	FZ_CHECK(memchr(i->common_name, 0, sizeof(i->common_name)) != NULL);
	FZ_CHECK(memchr(i->organization, 0, sizeof(i->organization)) != NULL);
	FZ_CHECK(memchr(i->issuer_cn, 0, sizeof(i->issuer_cn)) != NULL);
	FZ_CHECK(i->spki_len > 0 && i->spki_len <= sizeof(i->spki));
	FZ_CHECK(i->cert_serial_len <= sizeof(i->cert_serial));
	FZ_CHECK(certs_spki_sha256(i->spki, i->spki_len, pin) == CERTS_OK);
	FZ_CHECK(memcmp(pin, i->spki_sha256, 32) == 0);
}

/* The input as PEM text of type: when a DER comes out, parse it too. */
static void fz_pem(const uint8_t *data, size_t size, const char *type,
		   int (*parse)(const uint8_t *, size_t, struct cert_info *))
{
	uint8_t *der = malloc(CERTS_MAX_DER);
	struct cert_info info;
	size_t len = 0;

	FZ_CHECK(der != NULL);
	if (certs_pem_to_der((const char *)data, size, type, der, CERTS_MAX_DER, &len) == CERTS_OK) {
		FZ_CHECK(len > 0 && len <= CERTS_MAX_DER);
		if (parse(der, len, &info) == CERTS_OK)
			fz_check_info(&info);
	}
	free(der);
}

#endif
