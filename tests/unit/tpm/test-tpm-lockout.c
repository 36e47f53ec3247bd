/* test-tpm-lockout.c - a secret sealed with an authValue: a wrong value is
 * KS_E_AUTH, and once the TPM's dictionary-attack protection trips every try
 * (even the right value) is KS_E_LOCKOUT. Objects without authValue (noDA)
 * keep working in lockout. */
#include "swtpm.h"

#include "certs/certs.h"
#include "hw/keystore.h"

#include <string.h>

int main(void)
{
	static const uint8_t right[] = "correct horse", wrong[] = "battery staple";
	const char *keys = check_path("keys");
	uint8_t out[KS_SEAL_MAX], spki[CERTS_MAX_SPKI];
	struct swtpm tpm;
	keystore_t *ks = NULL;
	int r = KS_OK, tries;
	size_t n;

	swtpm_require();
	ks = swtpm_keystore(&tpm, "tpmstate", keys);
	if (!ks)
		goto out;
	CHECK_KS(ks_seal_auth(ks, "master", (const uint8_t *)"s3cret", 6, right, sizeof(right)),
		 KS_OK);
	CHECK_KS(ks_seal(ks, "plain", (const uint8_t *)"p", 1), KS_OK);
	CHECK_KS(ks_create_ec(ks, "k", spki, sizeof(spki), &n), KS_OK);
	CHECK_KS(ks_unseal_auth(ks, "master", right, sizeof(right), out, sizeof(out), &n), KS_OK);
	CHECK(n == 6 && memcmp(out, "s3cret", 6) == 0);
	CHECK_KS(ks_unseal_auth(ks, "master", wrong, sizeof(wrong), out, sizeof(out), &n),
		 KS_E_AUTH);
	CHECK_KS(ks_unseal(ks, "master", out, sizeof(out), &n), KS_E_AUTH);   /* no auth given */
	for (tries = 0; tries < 64; tries++) {
		r = ks_unseal_auth(ks, "master", wrong, sizeof(wrong), out, sizeof(out), &n);
		if (r != KS_E_AUTH)
			break;
	}
	printf("lockout after %d more wrong values: %s (%s)\n", tries, ks_strerror(r),
	       ks_last_detail());
	CHECK_KS(r, KS_E_LOCKOUT);
	CHECK_KS(ks_unseal_auth(ks, "master", right, sizeof(right), out, sizeof(out), &n),
		 KS_E_LOCKOUT);
	/* noDA objects are unaffected: the product's normal operation goes on */
	CHECK_KS(ks_unseal(ks, "plain", out, sizeof(out), &n), KS_OK);
	CHECK_KS(ks_random(ks, out, 8), KS_OK);
	{
		ecc_key key;
		WC_RNG rng;
		uint8_t sig[128], digest[32] = { 1 };
		word32 siglen = sizeof(sig);

		CHECK_KS(ks_load_signer(ks, "k", &key), KS_OK);
		CHECK(wc_InitRng(&rng) == 0);
		CHECK(wc_ecc_sign_hash(digest, sizeof(digest), sig, &siglen, &rng, &key) == 0);
		wc_FreeRng(&rng);
		wc_ecc_free(&key);
	}
	CHECK_KS(ks_seal_auth(ks, "x", right, 1, NULL, 0), KS_E_INPUT);
	ks_close(ks);
out:
	swtpm_stop(&tpm);
	return check_done();
}
