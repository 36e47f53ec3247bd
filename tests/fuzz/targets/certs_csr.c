/* certs_csr.c - libFuzzer target: a camera's certificate signing request as
 * the controller's parent process reads it from the network (certs_parse_csr),
 * as DER and as PEM text. */
#include "tests/fuzz/certs_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cert_info info;
	int r = certs_parse_csr(data, size, &info);

	if (r == CERTS_OK) {
		fz_check_info(&info);
		FZ_CHECK(certs_check_serial(info.serial) == CERTS_OK);
	} else {
		FZ_CHECK(r < 0 && certs_strerror(r) != NULL);
	}
	fz_pem(data, size, "CERTIFICATE REQUEST", certs_parse_csr);
	return 0;
}
