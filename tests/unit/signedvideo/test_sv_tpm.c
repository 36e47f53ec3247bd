/* test_sv_tpm.c - the video is signed with a TPM-resident key: the keystore
 * key "video" created in a private swtpm, loaded with ks_load_signer (a
 * wolfCrypt crypto-callback key), signs every GOP's SEI, and the stream
 * verifies valid with the key's public part. Skips (77) without swtpm. */
#include "signed-video/sv.h"
#include "tests/unit/tpm/swtpm.h"
#include "hw/keystore.h"
#include "svfix.h"

#include <string.h>

int main(void)
{
	static struct svfix_stream plain, signed_s;
	struct swtpm tpm;
	struct sv_report r;
	keystore_t *ks;
	ecc_key key;
	uint8_t spki[128], spki2[128];
	size_t len = 0, len2 = 0;

	swtpm_require();
	ks = swtpm_keystore(&tpm, "tpm-state", check_path("keys"));   /* both in the test's tmpdir */
	if (ks) {
		CHECK_KS(ks_create_ec(ks, "video", spki, sizeof(spki), &len), KS_OK);
		CHECK_KS(ks_public_spki(ks, "video", spki2, sizeof(spki2), &len2), KS_OK);
		CHECK(len == len2 && memcmp(spki, spki2, len) == 0);
		CHECK_KS(ks_load_signer(ks, "video", &key), KS_OK);
		svfix_plain(&plain);
		CHECK(svfix_sign(&plain, &key, spki, len, &signed_s) == 0);
		r = svfix_verify(&signed_s);
		CHECK(r.verdict == SV_VALID && r.gops_valid == SVFIX_GOPS &&
		      r.frames_covered == SVFIX_GOPS * SVFIX_PICS);
		CHECK(r.spki_len == len && memcmp(r.spki, spki, len) == 0);
		wc_ecc_free(&key);
		ks_close(ks);
	}
	swtpm_stop(&tpm);
	return check_done();
}
