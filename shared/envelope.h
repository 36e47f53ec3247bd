/* envelope.h - envelope encryption of a clip for its content destination: a
 * fresh AES-256-CBC key per clip, wrapped with the destination's RSA key.
 *
 * Format (readable with stock openssl, see controller/bwc-envelope.c):
 *   CLIP.enc  AES-256-CBC, PKCS#7 padding, no header
 *   CLIP.key  {"EncryptedKey":"<b64 RSA-OAEP(SHA-1, MGF1-SHA-1) of the 32-byte key>",
 *              "ContentEncryptionIV":"<b64 16 bytes>","PublicKeyId":"<id>"}
 * CBC gives no integrity: the SHA-256 of plaintext and ciphertext computed
 * while streaming travel in the clip metadata. Library code: never logs. */
#ifndef BWC_ENVELOPE_H
#define BWC_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#define ENV_KEY_LEN 32
#define ENV_IV_LEN 16
#define ENV_BLOCK 16
#define ENV_MIN_RSA_BITS 2048
#define ENV_WRAPPED_MAX 512        /* RSA-4096 (this wolfSSL's RSA_MAX_SIZE) */
#define ENV_KEY_ID_MAX 512         /* bytes: 128 characters of UTF-8 */
#define ENV_RSA_DER_MAX 1600       /* SubjectPublicKeyInfo or PKCS#1 of RSA-4096 */
#define ENV_KEY_OBJECT_MAX 4096    /* bytes of a key object file */

/* Return codes, grouped: input, key, data, system. */
enum env_status {
	ENV_OK = 0,
	ENV_E_ARG = -10,        /* NULL pointer, bad length, call out of order */
	ENV_E_FORMAT = -11,     /* key object is not what this format says */
	ENV_E_KEY = -20,        /* not an RSA key of at least ENV_MIN_RSA_BITS */
	ENV_E_UNWRAP = -21,     /* the private key does not open this key object */
	ENV_E_TRUNCATED = -30,  /* ciphertext not a whole number of blocks */
	ENV_E_PADDING = -31,    /* bad padding: wrong key/IV or damaged data */
	ENV_E_NOMEM = -40,
	ENV_E_CRYPTO = -41,     /* wolfCrypt or its random number generator failed */
};

const char *env_strerror(int err);

/* The key object that travels next to an encrypted clip. */
struct env_key {
	uint8_t wrapped[ENV_WRAPPED_MAX];
	size_t wrapped_len;
	uint8_t iv[ENV_IV_LEN];
	char key_id[ENV_KEY_ID_MAX + 1];
};

typedef struct env_stream env_stream_t;

/* Starts encrypting a clip: draws a key and IV, wraps the key with the RSA
 * public key (SubjectPublicKeyInfo or PKCS#1 DER) and fills *ret_key.
 * @note the caller owns *ret (env_free). */
int env_encrypt_init(const uint8_t *pub_der, size_t pub_len, const char *key_id,
		     env_stream_t **ret, struct env_key *ret_key);

/* Starts decrypting: unwraps the key with the RSA private key (PKCS#1 or
 * PKCS#8 DER). ENV_E_UNWRAP when the key object is not for this key. */
int env_decrypt_init(const uint8_t *priv_der, size_t priv_len, const struct env_key *key,
		     env_stream_t **ret);

/* Feeds len bytes; writes *ret_outlen bytes to out, which must hold
 * len + ENV_BLOCK bytes. Memory use is constant whatever the stream length. */
int env_update(env_stream_t *s, const uint8_t *in, size_t len, uint8_t *out, size_t *ret_outlen);

/* Ends the stream: writes the last bytes (at most ENV_BLOCK) to out and the
 * SHA-256 of plaintext and ciphertext (either may be NULL). Decryption checks
 * the padding here. The stream cannot be fed after this. */
int env_final(env_stream_t *s, uint8_t out[ENV_BLOCK], size_t *ret_outlen,
	      uint8_t ret_plain_sha256[32], uint8_t ret_cipher_sha256[32]);

/* Wipes the key material and frees; accepts NULL. */
void env_free(env_stream_t *s);

/* Key object as JSON text. @note the caller frees *ret. */
int env_key_to_json(const struct env_key *k, char **ret);
/* Strict: exactly the three members, base64 checked; why (required) says
 * which member. */
int env_key_from_json(const char *json, size_t len, struct env_key *ret, char *why,
		      size_t whylen);

/* RSA public key from PEM text ("PUBLIC KEY" or "RSA PUBLIC KEY") to DER,
 * refused when not RSA or under ENV_MIN_RSA_BITS; *ret_bits may be NULL. */
int env_rsa_pub_from_pem(const char *pem, size_t len, uint8_t *der, size_t cap,
			 size_t *ret_len, unsigned *ret_bits);
/* Checks RSA public key DER; the modulus size in *ret_bits (may be NULL). */
int env_rsa_pub_check(const uint8_t *der, size_t len, unsigned *ret_bits);
/* RSA private key from PEM ("PRIVATE KEY" or "RSA PRIVATE KEY", unencrypted).
 * @note secret: the caller wipes der. */
int env_rsa_priv_from_pem(const char *pem, size_t len, uint8_t *der, size_t cap,
			  size_t *ret_len);

/* Strict base64 (standard alphabet, padded, no whitespace) into out. */
int env_b64_decode(const char *s, size_t slen, uint8_t *out, size_t cap, size_t *ret_len);
/* Base64 without line breaks. @note the caller frees *ret. */
int env_b64_encode(const uint8_t *in, size_t len, char **ret);

#endif
