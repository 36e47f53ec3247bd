/* test-tpm-share.c - one TPM without a resource manager shared by several
 * processes of a host (controller, CA process, bwcctl, forwarder): each keeps
 * its keystore open while the others work, and a client killed between load
 * and flush leaves no transient object that blocks the rest. */
#include "swtpm.h"

#include "certs/certs.h"
#include "hw/keystore.h"

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN 3
#define ROUNDS 8

/* A child process: opens its own keystore on the shared TPM and seals,
 * unseals and signs ROUNDS times while its siblings do the same. */
static int child(const char *spec, int n)
{
	uint8_t spki[CERTS_MAX_SPKI], out[KS_SEAL_MAX], sig[80], digest[32];
	char name[16], secret[32];
	keystore_t *ks = NULL;
	ecc_key key;
	WC_RNG rng;
	size_t len;
	word32 slen;
	int ok = 1, verified = 0;

	snprintf(name, sizeof(name), "k%d", n);
	if (ks_open(spec, &ks) != KS_OK || wc_InitRng(&rng) != 0)
		return 2;
	if (ks_create_ec(ks, name, spki, sizeof(spki), &len) != KS_OK ||
	    ks_load_signer(ks, name, &key) != KS_OK)
		return 3;
	for (int i = 0; i < ROUNDS && ok; i++) {
		int l = snprintf(secret, sizeof(secret), "secret %d of %d", i, n);

		memset(digest, i + n, sizeof(digest));
		slen = sizeof(sig);
		ok = ks_seal(ks, name, (const uint8_t *)secret, (size_t)l) == KS_OK &&
		     ks_unseal(ks, name, out, sizeof(out), &len) == KS_OK &&
		     len == (size_t)l && memcmp(out, secret, len) == 0 &&
		     wc_ecc_sign_hash(digest, sizeof(digest), sig, &slen, &rng, &key) == 0 &&
		     wc_ecc_verify_hash(sig, slen, digest, sizeof(digest), &verified, &key) == 0 &&
		     verified == 1;
		if (!ok)
			fprintf(stderr, "child %d round %d: %s\n", n, i, ks_last_detail());
	}
	wc_ecc_free(&key);
	wc_FreeRng(&rng);
	ks_close(ks);
	return ok ? 0 : 1;
}

/* Three processes with their keystores open at once, interleaving. */
static void test_processes(const char *spec)
{
	pid_t pids[CHILDREN];
	int status, good = 0;

	for (int i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			_exit(child(spec, i));
	}
	for (int i = 0; i < CHILDREN; i++)
		if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0)
			good++;
	CHECK(good == CHILDREN);
}

/* A client that dies with transient objects loaded: it fills every object
 * slot with primaries and exits without flushing. */
static void leave_transients(const char *tcti)
{
	TSS2_TCTI_CONTEXT *tctx = NULL;
	ESYS_CONTEXT *esys = NULL;
	int made = 0;

	if (Tss2_TctiLdr_Initialize(tcti, &tctx) != TSS2_RC_SUCCESS ||
	    Esys_Initialize(&esys, tctx, NULL) != TSS2_RC_SUCCESS) {
		CHECK(!"cannot connect to the test TPM");
		return;
	}
	for (int i = 0; i < 8; i++) {
		TPM2B_SENSITIVE_CREATE sens = { 0 };
		TPM2B_PUBLIC pub = { .publicArea = {
			.type = TPM2_ALG_KEYEDHASH, .nameAlg = TPM2_ALG_SHA256,
			.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
					    TPMA_OBJECT_SENSITIVEDATAORIGIN |
					    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT,
			.parameters.keyedHashDetail.scheme = {
				.scheme = TPM2_ALG_HMAC,
				.details.hmac.hashAlg = TPM2_ALG_SHA256 },
		} };
		TPM2B_DATA outside = { .size = 1, .buffer = { (BYTE)i } };
		TPML_PCR_SELECTION pcrs = { 0 };
		ESYS_TR obj;

		if (Esys_CreatePrimary(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				       ESYS_TR_NONE, &sens, &pub, &outside, &pcrs, &obj, NULL,
				       NULL, NULL, NULL) == TSS2_RC_SUCCESS)
			made++;
	}
	/* the TPM is full now: that is the state a crash can leave */
	CHECK(made >= 2);
	Esys_Finalize(&esys);
	Tss2_TctiLdr_Finalize(&tctx);
}

/* A process that dropped privileges cannot read the keystore directory any
 * more; a signer loaded before still signs (here: the directory moved). */
static void test_kept_signer(keystore_t *ks, const char *keys)
{
	uint8_t spki[CERTS_MAX_SPKI], sig[80], digest[32] = { 1, 2, 3 };
	char moved[PATH_MAX];
	ecc_key key;
	WC_RNG rng;
	word32 slen = sizeof(sig);
	int verified = 0;
	size_t n;

	snprintf(moved, sizeof(moved), "%s.moved", keys);
	CHECK_KS(ks_create_ec(ks, "ca", spki, sizeof(spki), &n), KS_OK);
	CHECK_KS(ks_load_signer(ks, "ca", &key), KS_OK);
	CHECK(wc_InitRng(&rng) == 0);
	CHECK(rename(keys, moved) == 0);
	CHECK(wc_ecc_sign_hash(digest, sizeof(digest), sig, &slen, &rng, &key) == 0);
	CHECK(wc_ecc_verify_hash(sig, slen, digest, sizeof(digest), &verified, &key) == 0 &&
	      verified == 1);
	CHECK(rename(moved, keys) == 0);
	/* a destroyed key signs no more, even with its blob kept before */
	CHECK_KS(ks_destroy(ks, "ca"), KS_OK);
	slen = sizeof(sig);
	CHECK(wc_ecc_sign_hash(digest, sizeof(digest), sig, &slen, &rng, &key) != 0);
	wc_ecc_free(&key);
	wc_FreeRng(&rng);
}

int main(void)
{
	const char *keys = check_path("keys");
	uint8_t out[KS_SEAL_MAX];
	struct swtpm tpm;
	keystore_t *ks = NULL;
	char spec[PATH_MAX];
	size_t n;

	swtpm_require();
	ks = swtpm_keystore(&tpm, "tpmstate", keys);
	if (ks) {
		/* this process keeps its keystore open all along */
		CHECK_KS(ks_seal(ks, "mine", (const uint8_t *)"abc", 3), KS_OK);
		snprintf(spec, sizeof(spec), "%s%s", tpm.spec_head, keys);
		test_processes(spec);
		CHECK_KS(ks_unseal(ks, "mine", out, sizeof(out), &n), KS_OK);
		CHECK(n == 3 && memcmp(out, "abc", 3) == 0);
		test_kept_signer(ks, keys);
		leave_transients(tpm.tcti);
		CHECK_KS(ks_unseal(ks, "mine", out, sizeof(out), &n), KS_OK);
		CHECK_KS(ks_seal(ks, "after", (const uint8_t *)"x", 1), KS_OK);
		ks_close(ks);
	}
	swtpm_stop(&tpm);
	return check_done();
}
