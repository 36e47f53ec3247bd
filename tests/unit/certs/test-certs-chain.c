/* test-certs-chain.c - issues the manufacturer and system chains, then checks
 * them with certs_verify_issued_by, certs_parse and the stock openssl CLI. */
#include "tests/unit/certs/tcheck.h"

#include "shared/util.h"

#include <string.h>

#define T_2023 ((time_t)1700000000)      /* 2023-11-14T22:13:20Z */
#define YEAR ((time_t)365 * 24 * 3600)

static struct t_ident root, idevid, sysca, ldevid, server, old, future, far;
static char dir[128];

static void make_all(void)
{
	time_t now = time(NULL);

	t_make(&root, CERT_PROFILE_MANUFACTURER_ROOT, "Acme Manufacturer Root", "Acme BWC", NULL,
	       T_2023, T_2023 + 25 * YEAR);
	t_make(&idevid, CERT_PROFILE_IDEVID, "CAM-0001", "Acme BWC", &root, T_2023 + 1,
	       T_2023 + 20 * YEAR);
	t_make(&sysca, CERT_PROFILE_SYSTEM_CA, "Site A System CA", "Site A", NULL, T_2023,
	       T_2023 + 10 * YEAR);
	t_make(&ldevid, CERT_PROFILE_LDEVID, "CAM-0001", "Site A", &sysca, T_2023, now + YEAR);
	t_make(&server, CERT_PROFILE_SERVER, "controller.site-a", "Site A", &sysca, T_2023,
	       now + YEAR);
	t_make(&old, CERT_PROFILE_LDEVID, "CAM-0002", "Site A", &sysca, 1577836800, 1609459200);
	t_make(&future, CERT_PROFILE_LDEVID, "CAM-0003", "Site A", &sysca, now + YEAR,
	       now + 2 * YEAR);
	/* GeneralizedTime from 2050 on, UTCTime before (a 1999 start). */
	t_make(&far, CERT_PROFILE_LDEVID, "CAM-0004", "Site A", &sysca, 915148800, 2556144000);
}

static void test_verify(void)
{
	time_t now = time(NULL);
	uint8_t bad[CERTS_MAX_DER];

	CHECK_EQ(certs_verify_issued_by(idevid.der, idevid.len, root.der, root.len, 0, 0), CERTS_OK);
	CHECK_EQ(certs_verify_issued_by(idevid.der, idevid.len, root.der, root.len, 1, now),
		 CERTS_OK);
	CHECK_EQ(certs_verify_issued_by(root.der, root.len, root.der, root.len, 1, now), CERTS_OK);
	CHECK_EQ(certs_verify_issued_by(ldevid.der, ldevid.len, sysca.der, sysca.len, 1, now),
		 CERTS_OK);
	CHECK_EQ(certs_verify_issued_by(server.der, server.len, sysca.der, sysca.len, 1, now),
		 CERTS_OK);
	/* Wrong CA, and a leaf used as anchor. */
	CHECK_EQ(certs_verify_issued_by(idevid.der, idevid.len, sysca.der, sysca.len, 0, 0),
		 CERTS_E_UNTRUSTED);
	CHECK_EQ(certs_verify_issued_by(ldevid.der, ldevid.len, root.der, root.len, 0, 0),
		 CERTS_E_UNTRUSTED);
	CHECK_EQ(certs_verify_issued_by(server.der, server.len, ldevid.der, ldevid.len, 0, 0),
		 CERTS_E_UNTRUSTED);
	/* Dates only count when asked for; the anchor must be valid too. */
	CHECK_EQ(certs_verify_issued_by(old.der, old.len, sysca.der, sysca.len, 1, now),
		 CERTS_E_EXPIRED);
	CHECK_EQ(certs_verify_issued_by(old.der, old.len, sysca.der, sysca.len, 0, 0), CERTS_OK);
	CHECK_EQ(certs_verify_issued_by(old.der, old.len, sysca.der, sysca.len, 1, 1590000000),
		 CERTS_E_EXPIRED);
	CHECK_EQ(certs_verify_issued_by(ldevid.der, ldevid.len, sysca.der, sysca.len, 1,
					T_2023 + 100),
		 CERTS_OK);
	CHECK_EQ(certs_verify_issued_by(ldevid.der, ldevid.len, sysca.der, sysca.len, 1,
					T_2023 - 1),
		 CERTS_E_EXPIRED);
	CHECK_EQ(certs_verify_issued_by(future.der, future.len, sysca.der, sysca.len, 1, now),
		 CERTS_E_EXPIRED);
	/* A flipped bit in the signature, and one in the subject. */
	memcpy(bad, ldevid.der, ldevid.len);
	bad[ldevid.len - 3] ^= 0x01;
	CHECK(certs_verify_issued_by(bad, ldevid.len, sysca.der, sysca.len, 0, 0) != CERTS_OK);
	memcpy(bad, ldevid.der, ldevid.len);
	bad[ldevid.len / 2] ^= 0x01;
	CHECK(certs_verify_issued_by(bad, ldevid.len, sysca.der, sysca.len, 0, 0) != CERTS_OK);
}

static void test_parse(void)
{
	struct cert_info ci;
	uint8_t spki[CERTS_MAX_SPKI], pin[32];
	size_t n;

	CHECK_EQ(certs_parse(idevid.der, idevid.len, &ci), CERTS_OK);
	CHECK(strcmp(ci.serial, "CAM-0001") == 0);
	CHECK(strcmp(ci.common_name, "CAM-0001") == 0);
	CHECK(strcmp(ci.organization, "Acme BWC") == 0);
	CHECK(strcmp(ci.issuer_cn, "Acme Manufacturer Root") == 0);
	CHECK_EQ(ci.is_ca, 0);
	CHECK_EQ(ci.not_before, T_2023 + 1);
	CHECK_EQ(ci.not_after, T_2023 + 20 * YEAR);
	CHECK_EQ(ci.cert_serial_len, 16);
	CHECK((ci.cert_serial[0] & 0x80) == 0);
	/* The pin from the certificate equals the pin of the key's own SPKI. */
	CHECK_EQ(certs_ec_spki(&idevid.key, spki, sizeof(spki), &n), CERTS_OK);
	CHECK_EQ(certs_spki_sha256(spki, n, pin), CERTS_OK);
	CHECK(n == ci.spki_len && memcmp(spki, ci.spki, n) == 0);
	CHECK(memcmp(pin, ci.spki_sha256, 32) == 0);

	CHECK_EQ(certs_parse(root.der, root.len, &ci), CERTS_OK);
	CHECK_EQ(ci.is_ca, 1);
	CHECK(strcmp(ci.serial, "") == 0);
	CHECK(strcmp(ci.issuer_cn, "Acme Manufacturer Root") == 0);
	CHECK_EQ(certs_parse(far.der, far.len, &ci), CERTS_OK);
	CHECK_EQ(ci.not_before, 915148800);
	CHECK_EQ(ci.not_after, 2556144000);
	CHECK_EQ(certs_parse(server.der, server.len, &ci), CERTS_OK);
	CHECK(strcmp(ci.common_name, "controller.site-a") == 0);
	CHECK(strcmp(ci.organization, "Site A") == 0);
	CHECK(strcmp(ci.issuer_cn, "Site A System CA") == 0);
}

static void write_all(void)
{
	const struct {
		const char *file;
		struct t_ident *id;
	} files[] = { { "root.pem", &root },   { "idevid.pem", &idevid }, { "sysca.pem", &sysca },
		      { "ldevid.pem", &ldevid }, { "server.pem", &server }, { "old.pem", &old },
		      { "far.pem", &far } };
	char path[256];

	snprintf(dir, sizeof(dir), "%s", t_tmpdir());
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i].file);
		t_write_pem(path, files[i].id->der, files[i].id->len, "CERTIFICATE");
	}
}

static int ossl_verify(const char *ca, const char *leaf, const char *extra)
{
	char out[512];

	return t_run(out, sizeof(out), "openssl verify %s -CAfile %s/%s %s/%s 2>&1", extra, dir,
		     ca, dir, leaf);
}

static void test_openssl_verify(void)
{
	CHECK_EQ(ossl_verify("root.pem", "idevid.pem", "-purpose sslclient"), 0);
	CHECK_EQ(ossl_verify("sysca.pem", "ldevid.pem", "-purpose sslclient"), 0);
	CHECK_EQ(ossl_verify("sysca.pem", "server.pem", "-purpose sslserver"), 0);
	CHECK_EQ(ossl_verify("root.pem", "root.pem", ""), 0);
	CHECK(ossl_verify("sysca.pem", "idevid.pem", "") != 0);
	CHECK(ossl_verify("root.pem", "ldevid.pem", "") != 0);
	CHECK(ossl_verify("sysca.pem", "old.pem", "") != 0);
	CHECK(ossl_verify("sysca.pem", "server.pem", "-purpose sslclient") != 0);
	CHECK(ossl_verify("sysca.pem", "ldevid.pem", "-purpose sslserver") != 0);
}

static int text_has(const char *file, const char *needle)
{
	static char out[16384];

	if (t_run(out, sizeof(out), "openssl x509 -noout -text -in %s/%s", dir, file) != 0)
		return 0;
	return strstr(out, needle) != NULL;
}

static void test_openssl_text(void)
{
	CHECK(text_has("idevid.pem", "Subject: O = Acme BWC, CN = CAM-0001, serialNumber = CAM-0001"));
	CHECK(text_has("idevid.pem", "Issuer: O = Acme BWC, CN = Acme Manufacturer Root"));
	CHECK(text_has("idevid.pem", "X509v3 Key Usage: critical\n                Digital Signature\n"));
	CHECK(text_has("idevid.pem", "TLS Web Client Authentication"));
	CHECK(!text_has("idevid.pem", "TLS Web Server Authentication"));
	CHECK(text_has("idevid.pem", "CA:FALSE"));
	CHECK(text_has("idevid.pem", "X509v3 Authority Key Identifier"));
	CHECK(text_has("idevid.pem", "X509v3 Subject Key Identifier"));
	CHECK(text_has("idevid.pem", "ecdsa-with-SHA256"));
	CHECK(text_has("idevid.pem", "NIST CURVE: P-256"));
	CHECK(text_has("ldevid.pem", "Subject: O = Site A, CN = CAM-0001, serialNumber = CAM-0001"));
	CHECK(text_has("server.pem", "Subject: O = Site A, CN = controller.site-a"));
	CHECK(text_has("server.pem", "TLS Web Server Authentication"));
	CHECK(text_has("root.pem", "X509v3 Basic Constraints: critical\n                CA:TRUE"));
	CHECK(text_has("root.pem", "Certificate Sign, CRL Sign"));
	CHECK(text_has("sysca.pem", "CA:TRUE"));
	CHECK(text_has("root.pem", "Not Before: Nov 14 22:13:20 2023 GMT"));
	CHECK(text_has("idevid.pem", "Not Before: Nov 14 22:13:21 2023 GMT"));
	CHECK(text_has("far.pem", "Not Before: Jan  1 00:00:00 1999 GMT"));
	CHECK(text_has("far.pem", "Not After : Jan  1 00:00:00 2051 GMT"));
}

static void test_openssl_pin(void)
{
	struct cert_info ci;
	char out[128], hex[65];

	CHECK_EQ(certs_parse(server.der, server.len, &ci), CERTS_OK);
	util_hex(ci.spki_sha256, 32, hex);
	CHECK_EQ(t_run(out, sizeof(out),
		       "openssl x509 -in %s/server.pem -pubkey -noout | "
		       "openssl pkey -pubin -outform DER | openssl dgst -sha256 -r",
		       dir),
		 0);
	CHECK(strncmp(out, hex, 64) == 0);
}

int main(void)
{
	make_all();
	test_verify();
	test_parse();
	write_all();
	test_openssl_verify();
	test_openssl_text();
	test_openssl_pin();
	t_free(&root);
	t_free(&idevid);
	t_free(&sysca);
	t_free(&ldevid);
	t_free(&server);
	t_free(&old);
	t_free(&future);
	t_free(&far);
	return t_finish();
}
