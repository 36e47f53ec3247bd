/* test-tpm-sign.c - a TPM-resident CA key signs through ks_load_signer and
 * certs_issue; stock openssl verifies the chain; keys are TPM-bound; a
 * volatile key (ks_create_ec_volatile) signs and is stored nowhere. */
#include "swtpm.h"

#include "certs/certs.h"
#include "hw/keystore.h"
#include "tests/unit/keystore/volatile_key.h"

#include <tss2/tss2_mu.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int write_pem(const char *path, const uint8_t *der, size_t len)
{
	char pem[CERTS_MAX_DER * 2];
	size_t n;
	FILE *f;

	if (certs_der_to_pem(der, len, "CERTIFICATE", pem, sizeof(pem), &n) != CERTS_OK)
		return -1;
	f = fopen(path, "w");
	if (!f)
		return -1;
	fwrite(pem, 1, n, f);
	return fclose(f);
}

static size_t issue(keystore_t *ks, enum cert_profile profile, const char *cn,
		    const uint8_t *spki, size_t spki_len, const uint8_t *issuer, size_t issuer_len,
		    uint8_t *out)
{
	struct cert_req req = { .profile = profile, .spki = spki, .spki_len = spki_len };
	WC_RNG rng;
	ecc_key ca;
	size_t n = 0;
	int r;

	snprintf(req.common_name, sizeof(req.common_name), "%s", cn);
	snprintf(req.serial, sizeof(req.serial), "%s", cn);
	snprintf(req.organization, sizeof(req.organization), "BWC TPM test");
	req.not_before = time(NULL) - 60;
	req.not_after = time(NULL) + 86400;
	CHECK_KS(ks_load_signer(ks, "ca", &ca), KS_OK);
	CHECK(wc_InitRng(&rng) == 0);
	r = certs_issue(&req, &ca, issuer, issuer_len, &rng, out, CERTS_MAX_DER, &n);
	if (r != CERTS_OK)
		fprintf(stderr, "certs_issue: %s (%s)\n", certs_strerror(r), ks_last_detail());
	CHECK(r == CERTS_OK);
	wc_FreeRng(&rng);
	wc_ecc_free(&ca);
	return r == CERTS_OK ? n : 0;
}

/* The blob says what the TPM enforces: generated inside, never exported. */
static void check_bound(const char *dir, const char *name)
{
	uint8_t buf[4096];
	TPM2B_PUBLIC pub = { 0 };
	size_t len, off = 8;
	char path[PATH_MAX];
	FILE *f;
	TPMA_OBJECT need = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
			   TPMA_OBJECT_SENSITIVEDATAORIGIN;
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s.tpmkey", dir, name);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	f = fopen(path, "rb");
	CHECK(f != NULL);
	if (!f)
		return;
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	CHECK(len > 8 && memcmp(buf, "BWCTPMK1", 8) == 0);
	CHECK(Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, &pub) == TSS2_RC_SUCCESS);
	CHECK((pub.publicArea.objectAttributes & need) == need);
	CHECK(pub.publicArea.parameters.eccDetail.curveID == TPM2_ECC_NIST_P256);
}

int main(void)
{
	uint8_t ca_spki[CERTS_MAX_SPKI], dev_spki[CERTS_MAX_SPKI], again[CERTS_MAX_SPKI];
	uint8_t ca_der[CERTS_MAX_DER], leaf_der[CERTS_MAX_DER];
	size_t ca_len, dev_len, n, ca_cert_len, leaf_len;
	char cmd[3 * PATH_MAX];
	const char *keys = check_path("keys");
	struct swtpm tpm;
	keystore_t *ks = NULL;

	swtpm_require();
	ks = swtpm_keystore(&tpm, "tpmstate", keys);
	if (!ks)
		goto out;
	CHECK_KS(ks_exists(ks, "ca"), 0);
	CHECK_KS(ks_create_ec(ks, "ca", ca_spki, sizeof(ca_spki), &ca_len), KS_OK);
	CHECK_KS(ks_create_ec(ks, "ca", again, sizeof(again), &n), KS_E_EXISTS);
	CHECK_KS(ks_exists(ks, "ca"), 1);
	CHECK_KS(ks_public_spki(ks, "ca", again, sizeof(again), &n), KS_OK);
	CHECK(n == ca_len && ca_len == 91 && memcmp(again, ca_spki, n) == 0);
	CHECK_KS(ks_create_ec(ks, "Bad/Name", again, sizeof(again), &n), KS_E_INPUT);
	check_bound(keys, "ca");

	/* rename over an existing key, then destroy */
	CHECK_KS(ks_create_ec(ks, "tmp", dev_spki, sizeof(dev_spki), &dev_len), KS_OK);
	CHECK_KS(ks_create_ec(ks, "dev", again, sizeof(again), &n), KS_OK);
	CHECK_KS(ks_rename(ks, "tmp", "dev"), KS_OK);
	CHECK_KS(ks_exists(ks, "tmp"), 0);
	CHECK_KS(ks_public_spki(ks, "dev", again, sizeof(again), &n), KS_OK);
	CHECK(n == dev_len && memcmp(again, dev_spki, n) == 0);
	CHECK_KS(ks_rename(ks, "tmp", "dev"), KS_E_NOT_FOUND);

	ca_cert_len = issue(ks, CERT_PROFILE_SYSTEM_CA, "TPM CA", ca_spki, ca_len, NULL, 0, ca_der);
	leaf_len = issue(ks, CERT_PROFILE_LDEVID, "CAM-0001", dev_spki, dev_len, ca_der,
			 ca_cert_len, leaf_der);
	CHECK(ca_cert_len > 0 && leaf_len > 0);
	CHECK(certs_verify_issued_by(leaf_der, leaf_len, ca_der, ca_cert_len, 1, time(NULL)) ==
	      CERTS_OK);
	CHECK(write_pem(check_path("ca.pem"), ca_der, ca_cert_len) == 0);
	CHECK(write_pem(check_path("leaf.pem"), leaf_der, leaf_len) == 0);
	snprintf(cmd, sizeof(cmd), "openssl verify -CAfile %s %s", check_path("ca.pem"),
		 check_path("leaf.pem"));
	CHECK(system(cmd) == 0);

	CHECK_KS(ks_destroy(ks, "dev"), KS_OK);
	CHECK_KS(ks_destroy(ks, "dev"), KS_OK);
	CHECK_KS(ks_exists(ks, "dev"), 0);
	{
		ecc_key k;
		CHECK_KS(ks_load_signer(ks, "dev", &k), KS_E_NOT_FOUND);
	}
	/* A key made in the TPM and stored nowhere (the controller's TLS key). */
	{
		char spec[PATH_MAX + 100];
		snprintf(spec, sizeof(spec), "%s%s", tpm.spec_head, keys);
		CHECK(volatile_key_failures(ks, spec, keys) == 0);
	}
	ks_close(ks);
out:
	swtpm_stop(&tpm);
	return check_done();
}
