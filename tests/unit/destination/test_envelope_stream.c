/* test_envelope_stream.c - envelope encryption through the library: round
 * trips of awkward sizes fed in awkward pieces, both hashes, wrong key,
 * truncation, bad padding, damaged key objects, and NULL arguments. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "shared/envelope.h"

static uint8_t pub[ENV_RSA_DER_MAX], priv[4096], other[4096];
static size_t pub_len, priv_len, other_len;

static void load_keys(void)
{
	size_t len;
	char *pem;

	pem = fx_read("pub.pem", &len);
	CHECK(env_rsa_pub_from_pem(pem, len, pub, sizeof(pub), &pub_len, NULL) == ENV_OK);
	free(pem);
	pem = fx_read("priv.pem", &len);
	CHECK(env_rsa_priv_from_pem(pem, len, priv, sizeof(priv), &priv_len) == ENV_OK);
	free(pem);
	pem = fx_read("other.pem", &len);
	CHECK(env_rsa_priv_from_pem(pem, len, other, sizeof(other), &other_len) == ENV_OK);
	free(pem);
	pem = fx_read("small-pub.pem", &len);
	CHECK(env_rsa_pub_from_pem(pem, len, pub, sizeof(pub), &len, NULL) == ENV_E_KEY);
	free(pem);
}

/* Runs all of in through s in pieces of step bytes into a new buffer. */
static int run(env_stream_t *s, const uint8_t *in, size_t len, size_t step, uint8_t **ret,
	       size_t *ret_len, uint8_t ph[32], uint8_t ch[32])
{
	uint8_t *out = malloc(len + 2 * ENV_BLOCK);
	size_t done = 0, n;
	int r = ENV_OK;

	for (size_t off = 0; r == ENV_OK && off < len; off += step) {
		size_t take = len - off < step ? len - off : step;
		r = env_update(s, in + off, take, out + done, &n);
		done += n;
	}
	if (r == ENV_OK)
		r = env_final(s, out + done, &n, ph, ch);
	if (r == ENV_OK)
		done += n;
	*ret = out;
	*ret_len = done;
	return r;
}

static void round_trip(size_t len, size_t step)
{
	uint8_t *plain = malloc(len + 1), *enc, *dec, ph[32], ch[32], ph2[32], ch2[32], h[32];
	size_t enc_len, dec_len;
	struct env_key k;
	env_stream_t *s = NULL;

	for (size_t i = 0; i < len; i++)
		plain[i] = (uint8_t)(i * 131 + len);
	CHECK(env_encrypt_init(pub, pub_len, "kid", &s, &k) == ENV_OK);
	CHECK(run(s, plain, len, step, &enc, &enc_len, ph, ch) == ENV_OK);
	env_free(s);
	CHECK(enc_len == (len / ENV_BLOCK + 1) * ENV_BLOCK);
	CHECK(k.wrapped_len == 256 && strcmp(k.key_id, "kid") == 0);
	wc_Sha256Hash(plain, (word32)len, h);
	CHECK(memcmp(h, ph, 32) == 0);
	wc_Sha256Hash(enc, (word32)enc_len, h);
	CHECK(memcmp(h, ch, 32) == 0);

	CHECK(env_decrypt_init(priv, priv_len, &k, &s) == ENV_OK);
	CHECK(run(s, enc, enc_len, step, &dec, &dec_len, ph2, ch2) == ENV_OK);
	env_free(s);
	CHECK(dec_len == len && memcmp(dec, plain, len) == 0);
	CHECK(memcmp(ph, ph2, 32) == 0 && memcmp(ch, ch2, 32) == 0);

	/* the other key cannot open it; a cut-off stream is refused */
	CHECK(env_decrypt_init(other, other_len, &k, &s) == ENV_E_UNWRAP);
	CHECK(env_decrypt_init(priv, priv_len, &k, &s) == ENV_OK);
	free(dec);
	CHECK(run(s, enc, enc_len - 1, step, &dec, &dec_len, NULL, NULL) == ENV_E_TRUNCATED);
	env_free(s);
	free(dec);
	free(enc);
	free(plain);
}

static void test_sizes(void)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 31, 32, 33, 1048579 };
	static const size_t steps[] = { 1, 7, 16, 17, 65536 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (size_t j = 0; j < sizeof(steps) / sizeof(steps[0]); j++)
			if (sizes[i] < 100000 || steps[j] > 1000)
				round_trip(sizes[i], steps[j]);
}

/* One block of plaintext ending in 0x00: cut to that block it has bad padding. */
static void test_bad_padding(void)
{
	uint8_t plain[ENV_BLOCK] = { 1, 2, 3 }, *enc, *dec;
	size_t enc_len, dec_len;
	struct env_key k;
	env_stream_t *s;

	CHECK(env_encrypt_init(pub, pub_len, "kid", &s, &k) == ENV_OK);
	CHECK(run(s, plain, sizeof(plain), 16, &enc, &enc_len, NULL, NULL) == ENV_OK);
	env_free(s);
	CHECK(env_decrypt_init(priv, priv_len, &k, &s) == ENV_OK);
	CHECK(run(s, enc, ENV_BLOCK, 16, &dec, &dec_len, NULL, NULL) == ENV_E_PADDING);
	env_free(s);
	free(enc);
	free(dec);
}

static void test_key_object(void)
{
	struct env_key k, back;
	env_stream_t *s;
	char *json, why[256];
	const char *bad[] = {
		"{\"EncryptedKey\":\"AAAA\",\"ContentEncryptionIV\":\"AAAAAAAAAAAAAAAAAAAAAA==\"}",
		"{\"EncryptedKey\":\"AA!A\",\"ContentEncryptionIV\":\"AAAAAAAAAAAAAAAAAAAAAA==\","
		"\"PublicKeyId\":\"k\"}",
		"{\"EncryptedKey\":\"AAAA\",\"ContentEncryptionIV\":\"AAAA\",\"PublicKeyId\":\"k\"}",
		"{\"EncryptedKey\":\"AAAA\",\"EncryptedKey\":\"AAAA\",\"PublicKeyId\":\"k\"}",
		"{\"EncryptedKey\":\"AAAA\",\"ContentEncryptionIV\":\"AAAAAAAAAAAAAAAAAAAAAA==\","
		"\"PublicKeyId\":7}",
		"[]", "",
	};

	CHECK(env_encrypt_init(pub, pub_len, "ems-key-1", &s, &k) == ENV_OK);
	env_free(s);
	CHECK(env_key_to_json(&k, &json) == ENV_OK);
	CHECK(env_key_from_json(json, strlen(json), &back, why, sizeof(why)) == ENV_OK);
	CHECK(back.wrapped_len == k.wrapped_len && memcmp(back.wrapped, k.wrapped, k.wrapped_len) == 0);
	CHECK(memcmp(back.iv, k.iv, ENV_IV_LEN) == 0 && strcmp(back.key_id, "ems-key-1") == 0);
	free(json);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(env_key_from_json(bad[i], strlen(bad[i]), &back, why, sizeof(why)) ==
		      ENV_E_FORMAT);
	/* a damaged wrapped key is refused, not turned into a wrong AES key */
	k.wrapped[10] ^= 1;
	CHECK(env_decrypt_init(priv, priv_len, &k, &s) == ENV_E_UNWRAP);
}

static void test_arguments(void)
{
	struct env_key k = { 0 };
	env_stream_t *s = NULL;
	uint8_t out[64];
	size_t n;
	char *json;

	CHECK(env_encrypt_init(NULL, 0, "k", &s, &k) == ENV_E_ARG);
	CHECK(env_encrypt_init(pub, pub_len, NULL, &s, &k) == ENV_E_ARG);
	CHECK(env_encrypt_init(pub, pub_len, "k", NULL, &k) == ENV_E_ARG);
	CHECK(env_encrypt_init(pub, pub_len - 1, "k", &s, &k) == ENV_E_KEY);
	CHECK(env_decrypt_init(priv, priv_len, NULL, &s) == ENV_E_ARG);
	CHECK(env_decrypt_init(priv, priv_len, &k, &s) == ENV_E_ARG);
	CHECK(env_update(NULL, out, 1, out, &n) == ENV_E_ARG);
	CHECK(env_final(NULL, out, &n, NULL, NULL) == ENV_E_ARG);
	CHECK(env_key_to_json(&k, &json) == ENV_E_ARG);
	CHECK(env_key_from_json(NULL, 0, &k, NULL, 0) == ENV_E_ARG);
	CHECK(env_b64_decode("AAAA", 4, NULL, 3, &n) == ENV_E_ARG);
	CHECK(env_b64_decode("AAAA", 4, out, 2, &n) == ENV_E_ARG);
	CHECK(env_b64_decode("AA=A", 4, out, 3, &n) == ENV_E_FORMAT);
	CHECK(strcmp(env_strerror(ENV_E_PADDING), "unknown error") != 0);
	CHECK(env_encrypt_init(pub, pub_len, "k", &s, &k) == ENV_OK);
	CHECK(env_final(s, out, &n, NULL, NULL) == ENV_OK && n == ENV_BLOCK);
	CHECK(env_update(s, out, 1, out, &n) == ENV_E_ARG);
	CHECK(env_final(s, out, &n, NULL, NULL) == ENV_E_ARG);
	env_free(s);
	env_free(NULL);
}

int main(void)
{
	fx_make_keys();
	load_keys();
	test_sizes();
	test_bad_padding();
	test_key_object();
	test_arguments();
	return check_done();
}
