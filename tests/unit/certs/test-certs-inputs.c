/* test-certs-inputs.c - every public certs function fed NULL, zero and
 * oversized arguments must answer CERTS_E_INPUT and touch nothing. */
#include "tests/unit/certs/tcheck.h"

#include <string.h>

#define BIG (CERTS_MAX_DER * 4)

static uint8_t buf[BIG], out[BIG];
static char pem[BIG];

static void test_keys(ecc_key *key)
{
	size_t n = 12345;

	CHECK_EQ(certs_ec_generate(NULL, key), CERTS_E_INPUT);
	CHECK_EQ(certs_ec_generate(t_rng(), NULL), CERTS_E_INPUT);
	CHECK_EQ(certs_ec_spki(NULL, out, 100, &n), CERTS_E_INPUT);
	CHECK_EQ(certs_ec_spki(key, NULL, 100, &n), CERTS_E_INPUT);
	CHECK_EQ(certs_ec_spki(key, out, 0, &n), CERTS_E_INPUT);
	CHECK_EQ(certs_ec_spki(key, out, 10, &n), CERTS_E_INPUT);
	CHECK_EQ(certs_ec_spki(key, out, 100, NULL), CERTS_E_INPUT);
	CHECK_EQ(certs_spki_sha256(NULL, 91, out), CERTS_E_INPUT);
	CHECK_EQ(certs_spki_sha256(buf, 0, out), CERTS_E_INPUT);
	CHECK_EQ(certs_spki_sha256(buf, CERTS_MAX_SPKI + 1, out), CERTS_E_INPUT);
	CHECK_EQ(certs_spki_sha256(buf, 91, NULL), CERTS_E_INPUT);
	CHECK_EQ(certs_ec_to_pem(NULL, pem, sizeof(pem), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_ec_to_pem(key, NULL, sizeof(pem), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_ec_to_pem(key, pem, 0, &n), CERTS_E_INPUT);
	CHECK_EQ(certs_ec_to_pem(key, pem, 20, &n), CERTS_E_INPUT);
	CHECK_EQ(certs_ec_to_pem(key, pem, sizeof(pem), NULL), CERTS_E_INPUT);
	CHECK_EQ(certs_ec_from_pem(NULL, 10, key), CERTS_E_INPUT);
	CHECK_EQ(certs_ec_from_pem(pem, 0, NULL), CERTS_E_INPUT);
	CHECK_EQ(certs_ec_from_pem(pem, 0, key), CERTS_E_INPUT);
	CHECK_EQ(certs_ec_from_pem(pem, BIG, key), CERTS_E_INPUT);
	CHECK_EQ(certs_ec_from_pem("junk", 4, key), CERTS_E_PARSE);
	CHECK_EQ(n, 12345); /* never written on failure */
	CHECK(strcmp(certs_strerror(CERTS_E_INPUT), certs_strerror(12345)) != 0);
	CHECK(strlen(certs_strerror(CERTS_E_KEY_TYPE)) > 10);
	CHECK_EQ(certs_check_serial(NULL), CERTS_E_INPUT);
}

static void test_pem(size_t der_len)
{
	size_t n = 12345;

	CHECK_EQ(certs_der_to_pem(NULL, 10, "CERTIFICATE", pem, sizeof(pem), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_der_to_pem(buf, 0, "CERTIFICATE", pem, sizeof(pem), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_der_to_pem(buf, CERTS_MAX_DER + 1, "CERTIFICATE", pem, sizeof(pem), &n),
		 CERTS_E_INPUT);
	CHECK_EQ(certs_der_to_pem(buf, der_len, NULL, pem, sizeof(pem), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_der_to_pem(buf, der_len, "KEY", pem, sizeof(pem), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_der_to_pem(buf, der_len, "CERTIFICATE", NULL, 10, &n), CERTS_E_INPUT);
	CHECK_EQ(certs_der_to_pem(buf, der_len, "CERTIFICATE", pem, 0, &n), CERTS_E_INPUT);
	CHECK_EQ(certs_der_to_pem(buf, der_len, "CERTIFICATE", pem, 50, &n), CERTS_E_INPUT);
	CHECK_EQ(certs_der_to_pem(buf, der_len, "CERTIFICATE", pem, sizeof(pem), NULL),
		 CERTS_E_INPUT);
	CHECK_EQ(certs_pem_to_der(NULL, 10, "CERTIFICATE", out, sizeof(out), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_pem_to_der(pem, 0, "CERTIFICATE", out, sizeof(out), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_pem_to_der(pem, BIG, "CERTIFICATE", out, sizeof(out), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_pem_to_der(pem, 10, NULL, out, sizeof(out), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_pem_to_der(pem, 10, "CERTIFICATE", NULL, 10, &n), CERTS_E_INPUT);
	CHECK_EQ(certs_pem_to_der(pem, 10, "CERTIFICATE", out, 0, &n), CERTS_E_INPUT);
	CHECK_EQ(certs_pem_to_der(pem, 10, "CERTIFICATE", out, sizeof(out), NULL), CERTS_E_INPUT);
	CHECK_EQ(n, 12345);
}

static void test_issue(ecc_key *key, const uint8_t *spki, size_t spki_len, size_t der_len)
{
	struct cert_req req = { .profile = CERT_PROFILE_SYSTEM_CA, .common_name = "CA",
				.organization = "O", .not_before = 1000, .not_after = 2000,
				.spki = spki, .spki_len = spki_len };
	struct cert_req r2;
	size_t n = 12345;

	CHECK_EQ(certs_issue(NULL, key, NULL, 0, t_rng(), out, sizeof(out), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_issue(&req, NULL, NULL, 0, t_rng(), out, sizeof(out), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_issue(&req, key, NULL, 0, NULL, out, sizeof(out), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_issue(&req, key, NULL, 0, t_rng(), NULL, 100, &n), CERTS_E_INPUT);
	CHECK_EQ(certs_issue(&req, key, NULL, 0, t_rng(), out, 0, &n), CERTS_E_INPUT);
	CHECK_EQ(certs_issue(&req, key, NULL, 0, t_rng(), out, 100, &n), CERTS_E_INPUT);
	CHECK_EQ(certs_issue(&req, key, NULL, 0, t_rng(), out, sizeof(out), NULL), CERTS_E_INPUT);
	/* A CA profile is self-signed: no issuer certificate. */
	CHECK_EQ(certs_issue(&req, key, buf, der_len, t_rng(), out, sizeof(out), &n),
		 CERTS_E_INPUT);
	r2 = req, r2.spki = NULL;
	CHECK_EQ(certs_issue(&r2, key, NULL, 0, t_rng(), out, sizeof(out), &n), CERTS_E_INPUT);
	r2 = req, r2.spki_len = 0;
	CHECK_EQ(certs_issue(&r2, key, NULL, 0, t_rng(), out, sizeof(out), &n), CERTS_E_INPUT);
	r2 = req, r2.spki_len = CERTS_MAX_SPKI + 1;
	CHECK_EQ(certs_issue(&r2, key, NULL, 0, t_rng(), out, sizeof(out), &n), CERTS_E_INPUT);
	r2 = req, r2.not_after = r2.not_before;
	CHECK_EQ(certs_issue(&r2, key, NULL, 0, t_rng(), out, sizeof(out), &n), CERTS_E_INPUT);
	r2 = req, r2.profile = (enum cert_profile)99;
	CHECK_EQ(certs_issue(&r2, key, NULL, 0, t_rng(), out, sizeof(out), &n), CERTS_E_INPUT);
	r2 = req, memset(r2.common_name, 'x', sizeof(r2.common_name));
	CHECK_EQ(certs_issue(&r2, key, NULL, 0, t_rng(), out, sizeof(out), &n), CERTS_E_INPUT);
	r2 = req, r2.organization[0] = 0;
	CHECK_EQ(certs_issue(&r2, key, NULL, 0, t_rng(), out, sizeof(out), &n), CERTS_E_INPUT);
	/* A leaf needs an issuer certificate of sane size and a device serial. */
	r2 = req, r2.profile = CERT_PROFILE_LDEVID, strcpy(r2.serial, "CAM-1");
	CHECK_EQ(certs_issue(&r2, key, NULL, 0, t_rng(), out, sizeof(out), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_issue(&r2, key, buf, 0, t_rng(), out, sizeof(out), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_issue(&r2, key, buf, CERTS_MAX_DER + 1, t_rng(), out, sizeof(out), &n),
		 CERTS_E_INPUT);
	r2.serial[0] = 0;
	CHECK_EQ(certs_issue(&r2, key, buf, der_len, t_rng(), out, sizeof(out), &n),
		 CERTS_E_SERIAL);
	CHECK_EQ(n, 12345);
}

static void test_csr_and_verify(ecc_key *key, size_t der_len)
{
	struct cert_info ci;
	size_t n = 12345;

	CHECK_EQ(certs_make_csr(NULL, key, t_rng(), out, sizeof(out), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_make_csr("A", NULL, t_rng(), out, sizeof(out), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_make_csr("A", key, NULL, out, sizeof(out), &n), CERTS_E_INPUT);
	CHECK_EQ(certs_make_csr("A", key, t_rng(), NULL, 100, &n), CERTS_E_INPUT);
	CHECK_EQ(certs_make_csr("A", key, t_rng(), out, 0, &n), CERTS_E_INPUT);
	CHECK_EQ(certs_make_csr("A", key, t_rng(), out, 30, &n), CERTS_E_INPUT);
	CHECK_EQ(certs_make_csr("A", key, t_rng(), out, sizeof(out), NULL), CERTS_E_INPUT);
	CHECK_EQ(n, 12345);
	CHECK_EQ(certs_parse_csr(NULL, 10, &ci), CERTS_E_INPUT);
	CHECK_EQ(certs_parse_csr(buf, 0, &ci), CERTS_E_INPUT);
	CHECK_EQ(certs_parse_csr(buf, CERTS_MAX_DER + 1, &ci), CERTS_E_INPUT);
	CHECK_EQ(certs_parse_csr(buf, der_len, NULL), CERTS_E_INPUT);
	CHECK_EQ(certs_parse(NULL, 10, &ci), CERTS_E_INPUT);
	CHECK_EQ(certs_parse(buf, 0, &ci), CERTS_E_INPUT);
	CHECK_EQ(certs_parse(buf, CERTS_MAX_DER + 1, &ci), CERTS_E_INPUT);
	CHECK_EQ(certs_parse(buf, der_len, NULL), CERTS_E_INPUT);
	CHECK_EQ(certs_parse((const uint8_t *)"\x30\x03\x02\x01\x01", 5, &ci), CERTS_E_PARSE);
	CHECK_EQ(certs_verify_issued_by(NULL, 10, buf, der_len, 0, 0), CERTS_E_INPUT);
	CHECK_EQ(certs_verify_issued_by(buf, 0, buf, der_len, 0, 0), CERTS_E_INPUT);
	CHECK_EQ(certs_verify_issued_by(buf, CERTS_MAX_DER + 1, buf, der_len, 0, 0),
		 CERTS_E_INPUT);
	CHECK_EQ(certs_verify_issued_by(buf, der_len, NULL, 10, 0, 0), CERTS_E_INPUT);
	CHECK_EQ(certs_verify_issued_by(buf, der_len, buf, 0, 0, 0), CERTS_E_INPUT);
	CHECK_EQ(certs_verify_issued_by(buf, der_len, buf, CERTS_MAX_DER + 1, 0, 0),
		 CERTS_E_INPUT);
	CHECK_EQ(certs_verify_issued_by(buf, der_len, buf, der_len, 1, 0), CERTS_E_INPUT);
	CHECK_EQ(certs_verify_issued_by(buf, der_len, buf, der_len, 0, 0), CERTS_OK);
}

int main(void)
{
	struct t_ident ca;
	uint8_t spki[CERTS_MAX_SPKI];
	size_t spki_len;

	t_make(&ca, CERT_PROFILE_SYSTEM_CA, "Input CA", "Inputs", NULL, 1000, 2000000000);
	memcpy(buf, ca.der, ca.len);
	CHECK_EQ(certs_ec_spki(&ca.key, spki, sizeof(spki), &spki_len), CERTS_OK);
	test_keys(&ca.key);
	test_pem(ca.len);
	test_issue(&ca.key, spki, spki_len, ca.len);
	test_csr_and_verify(&ca.key, ca.len);
	t_free(&ca);
	return t_finish();
}
