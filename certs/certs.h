/* certs.h - the certificate profiles of the system (manufacturer root, IDevID,
 * system CA, LDevID, controller server), CSRs and SPKI pins, on wolfCrypt.
 * Pure library: no logging, no files except the explicit PEM helpers. */
#ifndef BWC_CERTS_H
#define BWC_CERTS_H

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CERTS_MAX_DER 4096        /* largest certificate or CSR we make or accept */
#define CERTS_MAX_SPKI 256        /* SubjectPublicKeyInfo DER of a P-256 key is 91 bytes */
#define CERTS_SERIAL_MAX 32       /* device serial number: [A-Za-z0-9-], 1..32 chars */
#define CERTS_NAME_MAX 64

enum certs_err {
	CERTS_OK = 0,
	CERTS_E_NOMEM = -1,
	CERTS_E_INPUT = -10,      /* NULL, oversized or malformed argument */
	CERTS_E_PARSE = -11,      /* not DER/PEM of the expected kind */
	CERTS_E_SERIAL = -12,     /* device serial missing or not [A-Za-z0-9-]{1,32} */
	CERTS_E_SIGNATURE = -20,  /* self-signature (CSR) or issuer signature invalid */
	CERTS_E_KEY_TYPE = -21,   /* key is not ECDSA P-256 */
	CERTS_E_UNTRUSTED = -22,  /* chain does not lead to the given anchor */
	CERTS_E_EXPIRED = -23,    /* outside notBefore..notAfter at the check time */
	CERTS_E_CRYPTO = -30,     /* wolfCrypt failed (RNG, signing, encoding) */
};

const char *certs_strerror(int err);

enum cert_profile {
	CERT_PROFILE_MANUFACTURER_ROOT, /* self-signed, CA, keyCertSign|cRLSign */
	CERT_PROFILE_IDEVID,            /* device identity from the factory, clientAuth */
	CERT_PROFILE_SYSTEM_CA,         /* self-signed, CA, keyCertSign|cRLSign */
	CERT_PROFILE_LDEVID,            /* device certificate of a system, clientAuth */
	CERT_PROFILE_SERVER,            /* controller dock server, serverAuth */
	CERT_PROFILE_VIDEO_SIGNING,     /* device key that signs its video: no TLS use */
};

/* What an issuer puts into a certificate. */
struct cert_req {
	enum cert_profile profile;
	char serial[CERTS_SERIAL_MAX + 1];   /* IDevID/LDevID: subject serialNumber and CN */
	char common_name[CERTS_NAME_MAX];    /* CA/server profiles: subject CN */
	char organization[CERTS_NAME_MAX];   /* subject O (manufacturer or system name) */
	time_t not_before;                   /* exact validity, UTC seconds */
	time_t not_after;
	const uint8_t *spki;                 /* subject public key, SubjectPublicKeyInfo DER */
	size_t spki_len;
};

/* What we read back from a certificate or CSR. */
struct cert_info {
	char serial[CERTS_SERIAL_MAX + 1];   /* subject serialNumber ("" if none) */
	char common_name[CERTS_NAME_MAX];
	char organization[CERTS_NAME_MAX];
	char issuer_cn[CERTS_NAME_MAX];
	time_t not_before, not_after;        /* 0 for a CSR */
	int is_ca;
	uint8_t spki[CERTS_MAX_SPKI];
	size_t spki_len;
	uint8_t spki_sha256[32];             /* the pin of this key */
	uint8_t cert_serial[32];             /* certificate serial number bytes */
	size_t cert_serial_len;
};

/* Checks a device serial: 1..32 of [A-Za-z0-9-]. Returns 0 or CERTS_E_SERIAL. */
int certs_check_serial(const char *serial);

/* New P-256 key. key must be uninitialised storage; free with wc_ecc_free. */
int certs_ec_generate(WC_RNG *rng, ecc_key *key);

/* SubjectPublicKeyInfo DER of key into out (cap bytes). */
int certs_ec_spki(ecc_key *key, uint8_t *out, size_t cap, size_t *ret_len);

/* SHA-256 of an SPKI: the pin format of the system. */
int certs_spki_sha256(const uint8_t *spki, size_t len, uint8_t out[32]);

/* Private key <-> PEM ("EC PRIVATE KEY", SEC1). The PEM buffer holds a secret:
 * the caller wipes it. Load initialises key (free with wc_ecc_free). */
int certs_ec_to_pem(ecc_key *key, char *out, size_t cap, size_t *ret_len);
int certs_ec_from_pem(const char *pem, size_t len, ecc_key *key);

/* Certificate/CSR DER <-> PEM. type is "CERTIFICATE" or "CERTIFICATE REQUEST". */
int certs_der_to_pem(const uint8_t *der, size_t len, const char *type, char *out,
		     size_t cap, size_t *ret_len);
/* First PEM block of that type in pem into out. */
int certs_pem_to_der(const char *pem, size_t len, const char *type, uint8_t *out,
		     size_t cap, size_t *ret_len);

/* Issues a certificate for req, signed by issuer_key. issuer_der is the
 * issuer's certificate, or NULL for a self-signed profile (then the req's SPKI
 * must be issuer_key's). Serial number: 16 random bytes. Adds basic
 * constraints, key usage, extended key usage, subject and authority key ids
 * per profile. issuer_key may be a crypto-callback (devId) key: signing goes
 * through wolfCrypt's sign call, so a keystore-resident key works. */
int certs_issue(const struct cert_req *req, ecc_key *issuer_key, const uint8_t *issuer_der,
		size_t issuer_len, WC_RNG *rng, uint8_t *out, size_t cap, size_t *ret_len);

/* CSR with subject serialNumber=CN=serial, signed by key (proves possession). */
int certs_make_csr(const char *serial, ecc_key *key, WC_RNG *rng, uint8_t *out, size_t cap,
		   size_t *ret_len);

/* Parses a CSR, verifies its self-signature, requires a P-256 key and a valid
 * serial. Errors: CERTS_E_PARSE, CERTS_E_SIGNATURE, CERTS_E_KEY_TYPE, CERTS_E_SERIAL. */
int certs_parse_csr(const uint8_t *der, size_t len, struct cert_info *ret);

/* Parses a certificate's fields (no trust decision). */
int certs_parse(const uint8_t *der, size_t len, struct cert_info *ret);

/* Verifies that leaf was issued by (signed by) the anchor certificate. When
 * check_time is 0 the validity dates are not checked (grace rules decide);
 * otherwise leaf and anchor must be valid at 'now'. */
int certs_verify_issued_by(const uint8_t *leaf, size_t leaf_len, const uint8_t *anchor,
			   size_t anchor_len, int check_time, time_t now);

/* ECDSA P-256 over SHA-256 of msg (DER signature). key may be a keystore key. */
int certs_sign(ecc_key *key, WC_RNG *rng, const void *msg, size_t len, uint8_t *sig, size_t cap,
	       size_t *ret_len);
/* Checks sig over msg with the public key of cert. CERTS_OK or CERTS_E_SIGNATURE. */
int certs_verify_signature(const uint8_t *cert, size_t cert_len, const void *msg, size_t len,
			   const uint8_t *sig, size_t sig_len);

#endif
