/* test-tpm-notpm.c - no TPM behind the TCTI: ks_open says KS_E_NO_TPM and
 * names the TCTI; malformed tpm: specs are KS_E_INPUT. */
#include "swtpm.h"

#include "hw/keystore.h"

#include <string.h>

int main(void)
{
	char spec[PATH_MAX + 100], tcti[64];
	keystore_t *ks = NULL;
	int port = swtpm_free_port();

	CHECK(port > 0);
	snprintf(tcti, sizeof(tcti), "swtpm:host=127.0.0.1,port=%d", port);
	snprintf(spec, sizeof(spec), "tpm:%s;dir=%s", tcti, check_path("keys"));
	CHECK_KS(ks_open(spec, &ks), KS_E_NO_TPM);
	CHECK(ks == NULL);
	CHECK(strstr(ks_last_detail(), tcti) != NULL);
	CHECK(strstr(ks_strerror(KS_E_NO_TPM), "TPM") != NULL);
	printf("detail: %s\n", ks_last_detail());

	CHECK_KS(ks_open("tpm:swtpm:host=127.0.0.1", &ks), KS_E_INPUT);   /* no dir */
	CHECK_KS(ks_open("tpm:;dir=", &ks), KS_E_INPUT);
	CHECK_KS(ks_open(NULL, &ks), KS_E_INPUT);
	CHECK_KS(ks_seal(NULL, "x", (const uint8_t *)"x", 1), KS_E_INPUT);
	CHECK_KS(ks_random(NULL, (uint8_t *)spec, 1), KS_E_INPUT);
	ks_close(NULL);
	return check_done();
}
