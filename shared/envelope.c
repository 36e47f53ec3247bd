/* envelope.c - per-clip AES-256-CBC encryption with an RSA-OAEP wrapped key
 * (envelope.h). Streams in constant memory; hashes both sides on the way. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/envelope.h"
#include "shared/util.h"

struct env_stream {
	Aes aes;
	wc_Sha256 plain_hash, cipher_hash;
	int decrypt, done;
	uint8_t pend[ENV_BLOCK]; /* input not yet processed */
	size_t npend;
};

const char *env_strerror(int err)
{
	switch (err) {
	case ENV_OK: return "success";
	case ENV_E_ARG: return "invalid argument";
	case ENV_E_FORMAT: return "malformed key object";
	case ENV_E_KEY: return "not an RSA key of at least 2048 bits";
	case ENV_E_UNWRAP: return "the private key does not open this key object (wrong key, or the key object is damaged)";
	case ENV_E_TRUNCATED: return "ciphertext truncated (not a whole number of 16-byte blocks)";
	case ENV_E_PADDING: return "bad padding after decryption (wrong key or IV, or damaged ciphertext)";
	case ENV_E_NOMEM: return "out of memory";
	case ENV_E_CRYPTO: return "cryptographic library failure";
	default: return "unknown error";
	}
}

/* ---- base64 ---------------------------------------------------------------- */

static int b64_char_ok(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

int env_b64_decode(const char *s, size_t slen, uint8_t *out, size_t cap, size_t *ret_len)
{
	size_t pad = 0;
	uint8_t *tmp;
	word32 outlen;
	int r;

	if (!s || !out || !ret_len || slen == 0 || slen % 4 != 0 || slen > 0x7fffffff)
		return ENV_E_ARG;
	while (pad < 2 && s[slen - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < slen - pad; i++)
		if (!b64_char_ok(s[i]))
			return ENV_E_FORMAT;
	if (slen / 4 * 3 - pad > cap)
		return ENV_E_ARG;
	/* wolfSSL wants room for whole groups, padding included. */
	outlen = (word32)(slen / 4 * 3);
	tmp = malloc(outlen);
	if (!tmp)
		return ENV_E_NOMEM;
	r = Base64_Decode((const byte *)s, (word32)slen, tmp, &outlen) == 0 && outlen <= cap
		    ? ENV_OK : ENV_E_FORMAT;
	if (r == ENV_OK) {
		memcpy(out, tmp, outlen);
		*ret_len = outlen;
	}
	util_free_secret(tmp, slen / 4 * 3);
	return r;
}

int env_b64_encode(const uint8_t *in, size_t len, char **ret)
{
	word32 outlen = (word32)((len + 2) / 3 * 4 + 1);
	char *out;

	if ((!in && len) || !ret || len > 0x3fffffff)
		return ENV_E_ARG;
	out = malloc(outlen);
	if (!out)
		return ENV_E_NOMEM;
	if (len == 0) {
		out[0] = 0;
	} else if (Base64_Encode_NoNl(in, (word32)len, (byte *)out, &outlen) != 0) {
		free(out);
		return ENV_E_CRYPTO;
	} else {
		out[outlen] = 0;
	}
	*ret = out;
	return ENV_OK;
}

/* ---- RSA keys ------------------------------------------------------------- */

static int rsa_pub_load(const uint8_t *der, size_t len, RsaKey *key, unsigned *ret_bits)
{
	word32 idx = 0;
	int bits;

	if (!der || len == 0 || len > ENV_RSA_DER_MAX)
		return ENV_E_ARG;
	if (wc_InitRsaKey(key, NULL) != 0)
		return ENV_E_CRYPTO;
	if (wc_RsaPublicKeyDecode(der, &idx, key, (word32)len) != 0 || idx != len) {
		wc_FreeRsaKey(key);
		return ENV_E_KEY;
	}
	bits = wc_RsaEncryptSize(key) * 8;
	if (bits < ENV_MIN_RSA_BITS || bits > ENV_WRAPPED_MAX * 8) {
		wc_FreeRsaKey(key);
		return ENV_E_KEY;
	}
	if (ret_bits)
		*ret_bits = (unsigned)bits;
	return ENV_OK;
}

int env_rsa_pub_check(const uint8_t *der, size_t len, unsigned *ret_bits)
{
	RsaKey key;
	int r = rsa_pub_load(der, len, &key, ret_bits);

	if (r == ENV_OK)
		wc_FreeRsaKey(&key);
	return r;
}

int env_rsa_pub_from_pem(const char *pem, size_t len, uint8_t *der, size_t cap,
			 size_t *ret_len, unsigned *ret_bits)
{
	DerBuffer *d = NULL;
	int r;

	if (!pem || len == 0 || len > 0x7fffffff || !der || !ret_len)
		return ENV_E_ARG;
	/* "PUBLIC KEY" (SubjectPublicKeyInfo) first, then "RSA PUBLIC KEY" (PKCS#1). */
	if (wc_PemToDer((const byte *)pem, (long)len, PUBLICKEY_TYPE, &d, NULL, NULL, NULL) != 0) {
		wc_FreeDer(&d);
		if (wc_PemToDer((const byte *)pem, (long)len, RSA_PUBLICKEY_TYPE, &d, NULL, NULL,
				NULL) != 0) {
			wc_FreeDer(&d);
			return ENV_E_KEY;
		}
	}
	r = d->length <= cap ? env_rsa_pub_check(d->buffer, d->length, ret_bits) : ENV_E_KEY;
	if (r == ENV_OK) {
		memcpy(der, d->buffer, d->length);
		*ret_len = d->length;
	}
	wc_FreeDer(&d);
	return r;
}

int env_rsa_priv_from_pem(const char *pem, size_t len, uint8_t *der, size_t cap,
			  size_t *ret_len)
{
	int n;

	if (!pem || len == 0 || len > 0x7fffffff || !der || !ret_len || cap > 0x7fffffff)
		return ENV_E_ARG;
	n = wc_KeyPemToDer((const byte *)pem, (int)len, der, (int)cap, NULL);
	if (n <= 0)
		return ENV_E_KEY;
	*ret_len = (size_t)n;
	return ENV_OK;
}

/* Takes PKCS#1 or PKCS#8 DER (wolfCrypt finds the key inside PKCS#8 itself). */
static int rsa_priv_load(const uint8_t *der, size_t len, RsaKey *key)
{
	word32 idx = 0;

	if (!der || len == 0 || len > 0x7fffffff)
		return ENV_E_ARG;
	if (wc_InitRsaKey(key, NULL) != 0)
		return ENV_E_CRYPTO;
	if (wc_RsaPrivateKeyDecode(der, &idx, key, (word32)len) != 0 ||
	    wc_RsaEncryptSize(key) * 8 < ENV_MIN_RSA_BITS) {
		wc_FreeRsaKey(key);
		return ENV_E_KEY;
	}
	return ENV_OK;
}

/* ---- streams -------------------------------------------------------------- */

static int stream_new(const uint8_t key[ENV_KEY_LEN], const uint8_t iv[ENV_IV_LEN], int decrypt,
		      env_stream_t **ret)
{
	env_stream_t *s = calloc(1, sizeof(*s));

	if (!s)
		return ENV_E_NOMEM;
	s->decrypt = decrypt;
	if (wc_AesInit(&s->aes, NULL, INVALID_DEVID) != 0) {
		free(s);
		return ENV_E_CRYPTO;
	}
	if (wc_AesSetKey(&s->aes, key, ENV_KEY_LEN, iv, decrypt ? AES_DECRYPTION : AES_ENCRYPTION)
		    != 0 ||
	    wc_InitSha256(&s->plain_hash) != 0 || wc_InitSha256(&s->cipher_hash) != 0) {
		env_free(s);
		return ENV_E_CRYPTO;
	}
	*ret = s;
	return ENV_OK;
}

int env_encrypt_init(const uint8_t *pub_der, size_t pub_len, const char *key_id,
		     env_stream_t **ret, struct env_key *ret_key)
{
	uint8_t key[ENV_KEY_LEN];
	struct env_key k = { 0 };
	RsaKey rsa;
	WC_RNG rng;
	int r, n;

	if (!key_id || strlen(key_id) > ENV_KEY_ID_MAX || !ret || !ret_key)
		return ENV_E_ARG;
	r = rsa_pub_load(pub_der, pub_len, &rsa, NULL);
	if (r != ENV_OK)
		return r;
	if (wc_InitRng(&rng) != 0) {
		wc_FreeRsaKey(&rsa);
		return ENV_E_CRYPTO;
	}
	r = ENV_E_CRYPTO;
	if (wc_RNG_GenerateBlock(&rng, key, sizeof(key)) == 0 &&
	    wc_RNG_GenerateBlock(&rng, k.iv, sizeof(k.iv)) == 0) {
		n = wc_RsaPublicEncrypt_ex(key, sizeof(key), k.wrapped, sizeof(k.wrapped), &rsa,
					   &rng, WC_RSA_OAEP_PAD, WC_HASH_TYPE_SHA, WC_MGF1SHA1,
					   NULL, 0);
		if (n > 0) {
			k.wrapped_len = (size_t)n;
			r = stream_new(key, k.iv, 0, ret);
		}
	}
	util_wipe(key, sizeof(key));
	wc_FreeRng(&rng);
	wc_FreeRsaKey(&rsa);
	if (r != ENV_OK)
		return r;
	snprintf(k.key_id, sizeof(k.key_id), "%s", key_id);
	*ret_key = k;
	return ENV_OK;
}

int env_decrypt_init(const uint8_t *priv_der, size_t priv_len, const struct env_key *key,
		     env_stream_t **ret)
{
	uint8_t aes_key[ENV_WRAPPED_MAX];
	RsaKey rsa;
	WC_RNG rng;
	int r, n;

	if (!key || !ret || key->wrapped_len == 0 || key->wrapped_len > ENV_WRAPPED_MAX)
		return ENV_E_ARG;
	r = rsa_priv_load(priv_der, priv_len, &rsa);
	if (r != ENV_OK)
		return r;
	if (wc_InitRng(&rng) != 0 || wc_RsaSetRNG(&rsa, &rng) != 0) {
		wc_FreeRsaKey(&rsa);
		return ENV_E_CRYPTO;
	}
	n = wc_RsaPrivateDecrypt_ex(key->wrapped, (word32)key->wrapped_len, aes_key,
				    sizeof(aes_key), &rsa, WC_RSA_OAEP_PAD, WC_HASH_TYPE_SHA,
				    WC_MGF1SHA1, NULL, 0);
	r = n == ENV_KEY_LEN ? stream_new(aes_key, key->iv, 1, ret) : ENV_E_UNWRAP;
	util_wipe(aes_key, sizeof(aes_key));
	wc_FreeRng(&rng);
	wc_FreeRsaKey(&rsa);
	return r;
}

/* Runs whole blocks through the cipher and the hash of the output side. */
static int run_blocks(env_stream_t *s, const uint8_t *in, size_t len, uint8_t *out)
{
	int rc;

	if (len == 0)
		return ENV_OK;
	if (s->decrypt)
		rc = wc_AesCbcDecrypt(&s->aes, out, in, (word32)len);
	else
		rc = wc_AesCbcEncrypt(&s->aes, out, in, (word32)len);
	if (rc != 0)
		return ENV_E_CRYPTO;
	if (!s->decrypt && wc_Sha256Update(&s->cipher_hash, out, (word32)len) != 0)
		return ENV_E_CRYPTO;
	return ENV_OK;
}

/* Decryption keeps the last block back (its padding is checked at the end):
 * it processes only while more than one block's worth is at hand. */
int env_update(env_stream_t *s, const uint8_t *in, size_t len, uint8_t *out, size_t *ret_outlen)
{
	size_t keep = 0, done = 0, whole;
	int r;

	if (!s || s->done || (!in && len) || !out || !ret_outlen || len > 0x7fffffff - ENV_BLOCK)
		return ENV_E_ARG;
	if (wc_Sha256Update(s->decrypt ? &s->cipher_hash : &s->plain_hash, in, (word32)len) != 0)
		return ENV_E_CRYPTO;
	if (s->decrypt)
		keep = 1;
	/* Top up the pending block first. */
	if (s->npend > 0 && s->npend + len >= ENV_BLOCK + keep) {
		size_t take = ENV_BLOCK - s->npend;
		memcpy(s->pend + s->npend, in, take);
		if ((r = run_blocks(s, s->pend, ENV_BLOCK, out)) != ENV_OK)
			return r;
		in += take;
		len -= take;
		s->npend = 0;
		done = ENV_BLOCK;
	}
	if (s->npend == 0 && len >= keep) {
		whole = (len - keep) / ENV_BLOCK * ENV_BLOCK;
		if ((r = run_blocks(s, in, whole, out + done)) != ENV_OK)
			return r;
		in += whole;
		len -= whole;
		done += whole;
	}
	memcpy(s->pend + s->npend, in, len);
	s->npend += len;
	if (s->decrypt && wc_Sha256Update(&s->plain_hash, out, (word32)done) != 0)
		return ENV_E_CRYPTO;
	*ret_outlen = done;
	return ENV_OK;
}

static int final_decrypt(env_stream_t *s, uint8_t out[ENV_BLOCK], size_t *n)
{
	uint8_t block[ENV_BLOCK];
	unsigned pad, bad = 0;
	int r;

	if (s->npend != ENV_BLOCK)
		return ENV_E_TRUNCATED;
	if ((r = run_blocks(s, s->pend, ENV_BLOCK, block)) != ENV_OK)
		return r;
	pad = block[ENV_BLOCK - 1];
	if (pad == 0 || pad > ENV_BLOCK)
		bad = 1;
	for (unsigned i = 0; !bad && i < pad; i++)
		bad |= block[ENV_BLOCK - 1 - i] != pad;
	if (bad) {
		util_wipe(block, sizeof(block));
		return ENV_E_PADDING;
	}
	*n = ENV_BLOCK - pad;
	memcpy(out, block, *n);
	util_wipe(block, sizeof(block));
	return wc_Sha256Update(&s->plain_hash, out, (word32)*n) == 0 ? ENV_OK : ENV_E_CRYPTO;
}

int env_final(env_stream_t *s, uint8_t out[ENV_BLOCK], size_t *ret_outlen,
	      uint8_t ret_plain_sha256[32], uint8_t ret_cipher_sha256[32])
{
	uint8_t ph[32], ch[32];
	size_t n = ENV_BLOCK;
	int r;

	if (!s || s->done || !out || !ret_outlen)
		return ENV_E_ARG;
	s->done = 1;
	if (s->decrypt) {
		r = final_decrypt(s, out, &n);
	} else {
		uint8_t pad = (uint8_t)(ENV_BLOCK - s->npend);
		memset(s->pend + s->npend, pad, pad);
		r = run_blocks(s, s->pend, ENV_BLOCK, out);
	}
	util_wipe(s->pend, sizeof(s->pend));
	if (r != ENV_OK)
		return r;
	if (wc_Sha256Final(&s->plain_hash, ph) != 0 || wc_Sha256Final(&s->cipher_hash, ch) != 0)
		return ENV_E_CRYPTO;
	if (ret_plain_sha256)
		memcpy(ret_plain_sha256, ph, 32);
	if (ret_cipher_sha256)
		memcpy(ret_cipher_sha256, ch, 32);
	*ret_outlen = n;
	return ENV_OK;
}

void env_free(env_stream_t *s)
{
	if (!s)
		return;
	wc_AesFree(&s->aes);
	wc_Sha256Free(&s->plain_hash);
	wc_Sha256Free(&s->cipher_hash);
	util_free_secret(s, sizeof(*s));
}

/* ---- key object ----------------------------------------------------------- */

int env_key_to_json(const struct env_key *k, char **ret)
{
	char *wrapped = NULL, *iv = NULL, *s = NULL;
	json_t *root;
	int r;

	if (!k || !ret || k->wrapped_len == 0 || k->wrapped_len > ENV_WRAPPED_MAX ||
	    !memchr(k->key_id, 0, sizeof(k->key_id)))
		return ENV_E_ARG;
	r = env_b64_encode(k->wrapped, k->wrapped_len, &wrapped);
	if (r == ENV_OK)
		r = env_b64_encode(k->iv, sizeof(k->iv), &iv);
	if (r == ENV_OK) {
		root = json_pack("{ss ss ss}", "EncryptedKey", wrapped, "ContentEncryptionIV", iv,
				 "PublicKeyId", k->key_id);
		s = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		json_decref(root);
		r = s ? ENV_OK : ENV_E_NOMEM;
	}
	free(wrapped);
	free(iv);
	if (r == ENV_OK)
		*ret = s;
	return r;
}

static int key_b64(json_t *root, const char *name, uint8_t *out, size_t cap, size_t *ret_len,
		   char *why, size_t whylen)
{
	json_t *v = json_object_get(root, name);

	if (!json_is_string(v) ||
	    env_b64_decode(json_string_value(v), json_string_length(v), out, cap, ret_len) !=
		    ENV_OK) {
		snprintf(why, whylen, "\"%s\" missing or not base64 of at most %zu bytes", name, cap);
		return ENV_E_FORMAT;
	}
	return ENV_OK;
}

int env_key_from_json(const char *json, size_t len, struct env_key *ret, char *why,
		      size_t whylen)
{
	struct env_key k = { 0 };
	json_error_t err;
	json_t *root, *id;
	size_t ivlen = 0;
	int r = ENV_E_FORMAT;

	if (!json || !ret || !why || whylen == 0)
		return ENV_E_ARG;
	if (len == 0 || len > ENV_KEY_OBJECT_MAX) {
		snprintf(why, whylen, "key object empty or over %d bytes", ENV_KEY_OBJECT_MAX);
		return ENV_E_FORMAT;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	if (!json_is_object(root) || json_object_size(root) != 3) {
		snprintf(why, whylen, "key object is not a JSON object of exactly EncryptedKey, "
			"ContentEncryptionIV and PublicKeyId");
		goto out;
	}
	id = json_object_get(root, "PublicKeyId");
	if (!json_is_string(id) || json_string_length(id) > ENV_KEY_ID_MAX) {
		snprintf(why, whylen, "\"PublicKeyId\" missing, not a string or too long");
		goto out;
	}
	if (key_b64(root, "EncryptedKey", k.wrapped, sizeof(k.wrapped), &k.wrapped_len, why,
		    whylen) != ENV_OK ||
	    key_b64(root, "ContentEncryptionIV", k.iv, sizeof(k.iv), &ivlen, why, whylen) != ENV_OK)
		goto out;
	if (ivlen != ENV_IV_LEN) {
		snprintf(why, whylen, "\"ContentEncryptionIV\" is not %d bytes", ENV_IV_LEN);
		goto out;
	}
	memcpy(k.key_id, json_string_value(id), json_string_length(id) + 1);
	*ret = k;
	r = ENV_OK;
out:
	json_decref(root);
	return r;
}
