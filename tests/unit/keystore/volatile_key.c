/* volatile_key.c - see volatile_key.h. */
#include "tests/unit/keystore/volatile_key.h"

#include "certs/certs.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#define NAME "tls-volatile"

static int failures;

#define EXPECT(cond)                                                                   \
	do {                                                                           \
		if (!(cond)) {                                                         \
			failures++;                                                    \
			fprintf(stderr, "%s:%d: failed: %s (%s)\n", __FILE__, __LINE__, #cond, \
				ks_last_detail());                                     \
		}                                                                      \
	} while (0)

/* Whether key's signature of a digest verifies with the public key spki. */
static int signs_as(ecc_key *key, const uint8_t *spki, size_t spki_len)
{
	uint8_t digest[32], sig[128];
	word32 sig_len = sizeof(sig), at = 0;
	ecc_key pub;
	WC_RNG rng;
	int ok = 0;

	memset(digest, 0xa5, sizeof(digest));
	if (wc_InitRng(&rng) != 0)
		return 0;
	if (wc_ecc_sign_hash(digest, sizeof(digest), sig, &sig_len, &rng, key) == 0 &&
	    wc_ecc_init(&pub) == 0) {
		if (wc_EccPublicKeyDecode(spki, &at, &pub, (word32)spki_len) != 0 ||
		    wc_ecc_verify_hash(sig, sig_len, digest, sizeof(digest), &ok, &pub) != 0)
			ok = 0;
		wc_ecc_free(&pub);
	}
	wc_FreeRng(&rng);
	return ok;
}

static int files_named(const char *dir, const char *prefix)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

int volatile_key_failures(keystore_t *ks, const char *spec, const char *dir)
{
	uint8_t spki1[CERTS_MAX_SPKI], spki2[CERTS_MAX_SPKI];
	size_t len1 = 0, len2 = 0;
	keystore_t *other = NULL;
	ecc_key k1, k2, loaded;

	failures = 0;
	EXPECT(ks_create_ec_volatile(ks, NAME, &k1, spki1, sizeof(spki1), &len1) == KS_OK);
	EXPECT(len1 > 0 && signs_as(&k1, spki1, len1));
	EXPECT(files_named(dir, NAME) == 0);
	EXPECT(ks_exists(ks, NAME) == 0);
	EXPECT(ks_open(spec, &other) == KS_OK);
	EXPECT(ks_load_signer(other, NAME, &loaded) == KS_E_NOT_FOUND);
	ks_close(other);
	wc_ecc_free(&k1);

	EXPECT(ks_create_ec_volatile(ks, NAME, &k2, spki2, sizeof(spki2), &len2) == KS_OK);
	EXPECT(len2 > 0 && (len2 != len1 || memcmp(spki1, spki2, len1) != 0));
	EXPECT(signs_as(&k2, spki2, len2));
	EXPECT(!signs_as(&k2, spki1, len1));
	wc_ecc_free(&k2);

	EXPECT(ks_create_ec_volatile(ks, "../" NAME, &k1, spki1, sizeof(spki1), &len1) ==
	       KS_E_INPUT);
	EXPECT(ks_create_ec_volatile(ks, NAME, NULL, spki1, sizeof(spki1), &len1) == KS_E_INPUT);
	EXPECT(ks_create_ec_volatile(ks, NAME, &k1, spki1, 8, &len1) != KS_OK);
	EXPECT(ks_create_ec_volatile(NULL, NAME, &k1, spki1, sizeof(spki1), &len1) == KS_E_INPUT);
	return failures;
}
