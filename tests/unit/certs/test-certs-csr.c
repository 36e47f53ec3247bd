/* test-certs-csr.c - CSRs: round trip, tampering, foreign key types (made
 * with openssl req), and the device serial rules. */
#include "tests/unit/certs/tcheck.h"

#include <string.h>

static void test_round_trip(void)
{
	uint8_t csr[CERTS_MAX_DER], spki[CERTS_MAX_SPKI], bad[CERTS_MAX_DER];
	struct cert_info ci;
	size_t len, n;
	ecc_key key;

	CHECK_EQ(certs_ec_generate(t_rng(), &key), CERTS_OK);
	CHECK_EQ(certs_make_csr("CAM-77-x", &key, t_rng(), csr, sizeof(csr), &len), CERTS_OK);
	CHECK_EQ(certs_parse_csr(csr, len, &ci), CERTS_OK);
	CHECK(strcmp(ci.serial, "CAM-77-x") == 0);
	CHECK(strcmp(ci.common_name, "CAM-77-x") == 0);
	CHECK_EQ(ci.not_before, 0);
	CHECK_EQ(certs_ec_spki(&key, spki, sizeof(spki), &n), CERTS_OK);
	CHECK(n == ci.spki_len && memcmp(spki, ci.spki, n) == 0);
	/* A CSR is not a certificate and the other way round. */
	CHECK(certs_parse(csr, len, &ci) != CERTS_OK);
	/* Any flipped bit in the signed part or the signature is caught. */
	for (size_t i = len / 3; i < len; i += 7) {
		int r;
		memcpy(bad, csr, len);
		bad[i] ^= 0x01;
		r = certs_parse_csr(bad, len, &ci);
		CHECK(r == CERTS_E_SIGNATURE || r == CERTS_E_PARSE || r == CERTS_E_KEY_TYPE ||
		      r == CERTS_E_SERIAL);
	}
	/* The last byte is inside the signature: must be a signature failure. */
	memcpy(bad, csr, len);
	bad[len - 1] ^= 0x01;
	CHECK_EQ(certs_parse_csr(bad, len, &ci), CERTS_E_SIGNATURE);
	CHECK_EQ(certs_parse_csr(csr, len - 1, &ci), CERTS_E_PARSE);
	wc_ecc_free(&key);
}

/* A CSR from openssl req with the given key options; returns its DER length. */
static size_t foreign_csr(const char *keyopt, const char *subj, uint8_t *der, size_t cap)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/foreign.der", t_tmpdir());
	if (t_run(NULL, 0, "openssl req -new -newkey %s -nodes -keyout /dev/null -subj '%s' "
			  "-outform DER -out %s 2>/dev/null",
		  keyopt, subj, path) != 0)
		return 0;
	return t_read(path, der, cap);
}

static void test_foreign(void)
{
	const char *good = "/CN=CAM-1/serialNumber=CAM-1";
	uint8_t der[CERTS_MAX_DER];
	struct cert_info ci;
	size_t n;

	n = foreign_csr("ec -pkeyopt ec_paramgen_curve:P-256", good, der, sizeof(der));
	CHECK(n > 0);
	CHECK_EQ(certs_parse_csr(der, n, &ci), CERTS_OK);
	CHECK(strcmp(ci.serial, "CAM-1") == 0);
	n = foreign_csr("ec -pkeyopt ec_paramgen_curve:P-384", good, der, sizeof(der));
	CHECK(n > 0);
	CHECK_EQ(certs_parse_csr(der, n, &ci), CERTS_E_KEY_TYPE);
	n = foreign_csr("rsa:2048", good, der, sizeof(der));
	CHECK(n > 0);
	CHECK_EQ(certs_parse_csr(der, n, &ci), CERTS_E_KEY_TYPE);
	n = foreign_csr("ed25519", good, der, sizeof(der));
	CHECK(n > 0);
	CHECK_EQ(certs_parse_csr(der, n, &ci), CERTS_E_KEY_TYPE);
	n = foreign_csr("ec -pkeyopt ec_paramgen_curve:P-256", "/CN=CAM-1", der, sizeof(der));
	CHECK_EQ(certs_parse_csr(der, n, &ci), CERTS_E_SERIAL);
	n = foreign_csr("ec -pkeyopt ec_paramgen_curve:P-256", "/CN=x/serialNumber=CAM 1", der,
			sizeof(der));
	CHECK_EQ(certs_parse_csr(der, n, &ci), CERTS_E_SERIAL);
}

static void test_serials(void)
{
	static const char *bad[] = { "", "CAM 1", "CAM_1", "CAM/1", "CAM.1", "ÄB", "a\n",
				     "123456789012345678901234567890123" };
	static const char *good[] = { "A", "cam-1", "0", "12345678901234567890123456789012" };
	uint8_t csr[CERTS_MAX_DER];
	size_t len;
	ecc_key key;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(certs_check_serial(bad[i]), CERTS_E_SERIAL);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_EQ(certs_check_serial(good[i]), CERTS_OK);
	CHECK_EQ(certs_ec_generate(t_rng(), &key), CERTS_OK);
	CHECK_EQ(certs_make_csr("CAM 1", &key, t_rng(), csr, sizeof(csr), &len), CERTS_E_SERIAL);
	wc_ecc_free(&key);
}

int main(void)
{
	test_round_trip();
	test_foreign();
	test_serials();
	return t_finish();
}
