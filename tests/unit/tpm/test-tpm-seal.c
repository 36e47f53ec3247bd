/* test-tpm-seal.c - sealed secrets: round trip, the blob holds no plaintext,
 * a blob copied to another TPM does not unseal (nor does a key sign), and
 * TPM random bytes. */
#include "swtpm.h"

#include "certs/certs.h"
#include "hw/keystore.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t secret[] = "BlobAPIKey=7f3c9e2a51d84b06a7e1c3d5f9b2e8a4";

/* 1 if the file at path contains needle. */
static int file_contains(const char *path, const void *needle, size_t n)
{
	uint8_t buf[8192];
	size_t len;
	FILE *f = fopen(path, "rb");

	if (!f)
		return -1;
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return memmem(buf, len, needle, n) != NULL;
}

static int copy(const char *from, const char *to)
{
	char cmd[3 * PATH_MAX];

	snprintf(cmd, sizeof(cmd), "cp -p '%s' '%s'", from, to);
	return system(cmd);
}

static void test_round_trip(keystore_t *ks, const char *keys)
{
	uint8_t out[KS_SEAL_MAX];
	size_t n = 0;
	char path[PATH_MAX];

	CHECK_KS(ks_seal(ks, "apikey", secret, sizeof(secret)), KS_OK);
	CHECK_KS(ks_unseal(ks, "apikey", out, sizeof(out), &n), KS_OK);
	CHECK(n == sizeof(secret) && memcmp(out, secret, n) == 0);
	CHECK_KS(ks_unseal(ks, "apikey", out, 4, &n), KS_E_INPUT);
	CHECK_KS(ks_unseal(ks, "missing", out, sizeof(out), &n), KS_E_NOT_FOUND);
	CHECK_KS(ks_seal(ks, "big", out, KS_SEAL_MAX + 1), KS_E_INPUT);
	CHECK_KS(ks_seal(ks, "empty", secret, 0), KS_E_INPUT);
	CHECK_KS(ks_seal(ks, "../x", secret, 4), KS_E_INPUT);
	/* the private blob is TPM-encrypted: no plaintext on disk */
	snprintf(path, sizeof(path), "%s/apikey.tpmseal", keys);
	CHECK(file_contains(path, secret, 16) == 0);
	CHECK(file_contains(path, secret + 16, 16) == 0);
	/* replacing a sealed secret */
	CHECK_KS(ks_seal(ks, "apikey", (const uint8_t *)"v2", 2), KS_OK);
	CHECK_KS(ks_unseal(ks, "apikey", out, sizeof(out), &n), KS_OK);
	CHECK(n == 2 && memcmp(out, "v2", 2) == 0);
	CHECK_KS(ks_seal(ks, "apikey", secret, sizeof(secret)), KS_OK);
}

static void test_random(keystore_t *ks)
{
	uint8_t a[100], b[100];

	CHECK_KS(ks_random(ks, a, sizeof(a)), KS_OK);
	CHECK_KS(ks_random(ks, b, sizeof(b)), KS_OK);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK_KS(ks_random(ks, a, 0), KS_E_INPUT);
	CHECK_KS(ks_random(ks, NULL, 4), KS_E_INPUT);
}

/* Blobs of the first TPM, copied next to a second one, are refused. */
static void test_other_tpm(const char *keys)
{
	const char *keys2 = check_path("keys2");
	char from[PATH_MAX], to[PATH_MAX];
	uint8_t out[KS_SEAL_MAX], sig[128];
	struct swtpm tpm2;
	keystore_t *ks2;
	ecc_key key;
	WC_RNG rng;
	word32 siglen = sizeof(sig);
	size_t n;

	ks2 = swtpm_keystore(&tpm2, "tpmstate2", keys2);
	if (!ks2)
		goto out;
	snprintf(from, sizeof(from), "%s/apikey.tpmseal", keys);
	snprintf(to, sizeof(to), "%s/apikey.tpmseal", keys2);
	CHECK(copy(from, to) == 0);
	snprintf(from, sizeof(from), "%s/k.tpmkey", keys);
	snprintf(to, sizeof(to), "%s/k.tpmkey", keys2);
	CHECK(copy(from, to) == 0);
	CHECK_KS(ks_unseal(ks2, "apikey", out, sizeof(out), &n), KS_E_WRONG_TPM);
	CHECK(strstr(ks_last_detail(), tpm2.tcti) != NULL);
	CHECK_KS(ks_load_signer(ks2, "k", &key), KS_OK);   /* public part only */
	CHECK(wc_InitRng(&rng) == 0);
	CHECK(wc_ecc_sign_hash(secret, 32, sig, &siglen, &rng, &key) != 0);
	wc_FreeRng(&rng);
	wc_ecc_free(&key);
	ks_close(ks2);
out:
	swtpm_stop(&tpm2);
}

int main(void)
{
	const char *keys = check_path("keys");
	uint8_t spki[CERTS_MAX_SPKI];
	struct swtpm tpm;
	keystore_t *ks = NULL;
	size_t n;

	swtpm_require();
	ks = swtpm_keystore(&tpm, "tpmstate", keys);
	if (ks) {
		test_round_trip(ks, keys);
		test_random(ks);
		CHECK_KS(ks_create_ec(ks, "k", spki, sizeof(spki), &n), KS_OK);
		test_other_tpm(keys);
		/* the first TPM still unseals its own blob after all that */
		{
			uint8_t out[KS_SEAL_MAX];
			CHECK_KS(ks_unseal(ks, "apikey", out, sizeof(out), &n), KS_OK);
		}
		CHECK_KS(ks_unseal_destroy(ks, "apikey"), KS_OK);
		CHECK_KS(ks_unseal_destroy(ks, "apikey"), KS_OK);
		ks_close(ks);
	}
	swtpm_stop(&tpm);
	return check_done();
}
