/* certs.c - the certificate profiles of the system on wolfCrypt: P-256 keys,
 * issuing, CSRs, parsing and issuer checks. Pure library: never logs. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "certs/certs.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define P256_BYTES 32
#define SERIAL_BYTES 16
#define PEM_MAX (CERTS_MAX_DER * 2)   /* base64 plus headers of the largest DER */
#define EC_DER_MAX 256                /* SEC1 DER of a P-256 private key is 121 bytes */

static const struct {
	int code;
	const char *text;
} errors[] = {
	{ CERTS_OK, "Success." },
	{ CERTS_E_NOMEM, "Out of memory." },
	{ CERTS_E_INPUT, "Invalid argument: a pointer is missing or a length is zero or too large." },
	{ CERTS_E_PARSE, "The data is not a well-formed certificate, request or key of the expected kind." },
	{ CERTS_E_SERIAL, "The device serial number is missing or not 1 to 32 of A-Z, a-z, 0-9 and '-'." },
	{ CERTS_E_SIGNATURE, "The signature does not verify." },
	{ CERTS_E_KEY_TYPE, "The key is not an ECDSA P-256 key." },
	{ CERTS_E_UNTRUSTED, "The certificate was not issued by the given trust anchor." },
	{ CERTS_E_EXPIRED, "The certificate is not valid at this time (expired or not yet valid)." },
	{ CERTS_E_CRYPTO, "A wolfCrypt operation (random numbers, signing or encoding) failed." },
};

const char *certs_strerror(int err)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == err)
			return errors[i].text;
	return "Unknown certificate error.";
}

/* An input buffer: present, not empty, not over max. */
static bool buf_ok(const void *p, size_t len, size_t max)
{
	return p && len > 0 && len <= max;
}

/* A NUL-terminated string inside an array of cap bytes. */
static bool str_ok(const char *s, size_t cap, bool may_be_empty)
{
	size_t n;

	if (!s)
		return false;
	n = strnlen(s, cap);
	return n < cap && (may_be_empty || n > 0);
}

/* Output capacity as wolfCrypt's word32, never more than we would produce. */
static word32 out_cap(size_t cap, size_t max)
{
	return (word32)(cap > max ? max : cap);
}

int certs_check_serial(const char *serial)
{
	size_t n;

	if (!serial)
		return CERTS_E_INPUT;
	n = strnlen(serial, CERTS_SERIAL_MAX + 1);
	if (n == 0 || n > CERTS_SERIAL_MAX)
		return CERTS_E_SERIAL;
	for (size_t i = 0; i < n; i++) {
		char c = serial[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return CERTS_E_SERIAL;
	}
	return CERTS_OK;
}

static bool key_is_p256(ecc_key *key)
{
	return key->dp && key->dp->id == ECC_SECP256R1;
}

int certs_ec_generate(WC_RNG *rng, ecc_key *key)
{
	if (!rng || !key)
		return CERTS_E_INPUT;
	if (wc_ecc_init(key) != 0)
		return CERTS_E_CRYPTO;
	if (wc_ecc_make_key_ex(rng, P256_BYTES, key, ECC_SECP256R1) != 0) {
		wc_ecc_free(key);
		return CERTS_E_CRYPTO;
	}
	return CERTS_OK;
}

int certs_ec_spki(ecc_key *key, uint8_t *out, size_t cap, size_t *ret_len)
{
	int n;

	if (!key || !out || cap == 0 || !ret_len)
		return CERTS_E_INPUT;
	if (!key_is_p256(key))
		return CERTS_E_KEY_TYPE;
	n = wc_EccPublicKeyToDer(key, out, out_cap(cap, CERTS_MAX_SPKI), 1);
	if (n <= 0)
		return n == BUFFER_E ? CERTS_E_INPUT : CERTS_E_CRYPTO;
	*ret_len = (size_t)n;
	return CERTS_OK;
}

int certs_spki_sha256(const uint8_t *spki, size_t len, uint8_t out[32])
{
	if (!buf_ok(spki, len, CERTS_MAX_SPKI) || !out)
		return CERTS_E_INPUT;
	if (wc_Sha256Hash(spki, (word32)len, out) != 0)
		return CERTS_E_CRYPTO;
	return CERTS_OK;
}

/* Decodes an SPKI into an initialised key; only P-256 is accepted. */
static int spki_to_key(const uint8_t *spki, size_t len, ecc_key *key)
{
	word32 idx = 0;

	if (wc_ecc_init(key) != 0)
		return CERTS_E_CRYPTO;
	if (wc_EccPublicKeyDecode(spki, &idx, key, (word32)len) != 0) {
		wc_ecc_free(key);
		return CERTS_E_KEY_TYPE;
	}
	if (!key_is_p256(key)) {
		wc_ecc_free(key);
		return CERTS_E_KEY_TYPE;
	}
	return CERTS_OK;
}

int certs_ec_to_pem(ecc_key *key, char *out, size_t cap, size_t *ret_len)
{
	uint8_t der[EC_DER_MAX];
	int n, r = CERTS_OK;

	if (!key || !out || cap == 0 || !ret_len)
		return CERTS_E_INPUT;
	if (!key_is_p256(key))
		return CERTS_E_KEY_TYPE;
	n = wc_EccKeyToDer(key, der, sizeof(der));
	if (n <= 0) {
		r = CERTS_E_CRYPTO;
		goto out;
	}
	/* One byte is kept for the terminating NUL. */
	n = wc_DerToPem(der, (word32)n, (byte *)out, out_cap(cap - 1, PEM_MAX), ECC_PRIVATEKEY_TYPE);
	if (n <= 0) {
		r = CERTS_E_INPUT;
		goto out;
	}
	out[n] = 0;
	*ret_len = (size_t)n;
out:
	explicit_bzero(der, sizeof(der));
	return r;
}

int certs_ec_from_pem(const char *pem, size_t len, ecc_key *key)
{
	uint8_t der[EC_DER_MAX];
	word32 idx = 0;
	int n, r = CERTS_OK;

	if (!buf_ok(pem, len, PEM_MAX) || !key)
		return CERTS_E_INPUT;
	n = wc_KeyPemToDer((const byte *)pem, (int)len, der, sizeof(der), NULL);
	if (n <= 0) {
		r = CERTS_E_PARSE;
		goto out;
	}
	if (wc_ecc_init(key) != 0) {
		r = CERTS_E_CRYPTO;
		goto out;
	}
	if (wc_EccPrivateKeyDecode(der, &idx, key, (word32)n) != 0)
		r = CERTS_E_PARSE;
	else if (!key_is_p256(key))
		r = CERTS_E_KEY_TYPE;
	if (r != CERTS_OK)
		wc_ecc_free(key);
out:
	explicit_bzero(der, sizeof(der));
	return r;
}

/* "CERTIFICATE" / "CERTIFICATE REQUEST" to wolfSSL's type. */
static int pem_type(const char *type)
{
	if (!type)
		return -1;
	if (strcmp(type, "CERTIFICATE") == 0)
		return CERT_TYPE;
	if (strcmp(type, "CERTIFICATE REQUEST") == 0)
		return CERTREQ_TYPE;
	return -1;
}

int certs_der_to_pem(const uint8_t *der, size_t len, const char *type, char *out, size_t cap,
		     size_t *ret_len)
{
	int t = pem_type(type), n;

	if (!buf_ok(der, len, CERTS_MAX_DER) || t < 0 || !out || cap == 0 || !ret_len)
		return CERTS_E_INPUT;
	n = wc_DerToPem(der, (word32)len, (byte *)out, out_cap(cap - 1, PEM_MAX), t);
	if (n <= 0)
		return CERTS_E_INPUT;
	out[n] = 0;
	*ret_len = (size_t)n;
	return CERTS_OK;
}

int certs_pem_to_der(const char *pem, size_t len, const char *type, uint8_t *out, size_t cap,
		     size_t *ret_len)
{
	int t = pem_type(type), n;

	if (!buf_ok(pem, len, PEM_MAX) || t < 0 || !out || cap == 0 || !ret_len)
		return CERTS_E_INPUT;
	n = wc_CertPemToDer((const byte *)pem, (int)len, out, (int)out_cap(cap, CERTS_MAX_DER), t);
	if (n <= 0)
		return n == BUFFER_E ? CERTS_E_INPUT : CERTS_E_PARSE;
	*ret_len = (size_t)n;
	return CERTS_OK;
}

/* X.509 Time: UTCTime before 2050, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
static int encode_time(time_t t, byte *out, int *ret_len)
{
	struct tm tm;
	char s[16];
	size_t n, skip;
	int year;

	if (!gmtime_r(&t, &tm))
		return CERTS_E_INPUT;
	year = tm.tm_year + 1900;
	if (year < 1950 || year > 9999)
		return CERTS_E_INPUT;
	n = strftime(s, sizeof(s), "%Y%m%d%H%M%SZ", &tm);
	if (n != 15)
		return CERTS_E_INPUT;
	skip = year < 2050 ? 2 : 0; /* UTCTime drops the century */
	out[0] = year < 2050 ? ASN_UTC_TIME : ASN_GENERALIZED_TIME;
	out[1] = (byte)(n - skip);
	memcpy(out + 2, s + skip, n - skip);
	*ret_len = (int)(n - skip) + 2;
	return CERTS_OK;
}

static int two_digits(const char *s)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* Reads "YYMMDDHHMMSSZ" or "YYYYMMDDHHMMSSZ" (with or without tag and length). */
static int decode_time(const byte *p, int len, time_t *ret)
{
	struct tm tm = { 0 };
	int f[7], utc, digits;

	if (!p || len < 2)
		return CERTS_E_PARSE;
	if ((p[0] == ASN_UTC_TIME || p[0] == ASN_GENERALIZED_TIME) && p[1] == len - 2) {
		p += 2;
		len -= 2;
	}
	utc = len == 13;
	digits = utc ? 12 : 14;
	if ((len != 13 && len != 15) || p[digits] != 'Z')
		return CERTS_E_PARSE;
	for (int i = 0; i < digits / 2; i++)
		if ((f[i] = two_digits((const char *)p + 2 * i)) < 0)
			return CERTS_E_PARSE;
	if (utc)
		tm.tm_year = (f[0] < 50 ? 2000 : 1900) + f[0] - 1900;
	else
		tm.tm_year = f[0] * 100 + f[1] - 1900;
	tm.tm_mon = f[digits / 2 - 5] - 1;
	tm.tm_mday = f[digits / 2 - 4];
	tm.tm_hour = f[digits / 2 - 3];
	tm.tm_min = f[digits / 2 - 2];
	tm.tm_sec = f[digits / 2 - 1];
	*ret = timegm(&tm);
	return CERTS_OK;
}

static bool profile_is_ca(enum cert_profile p)
{
	return p == CERT_PROFILE_MANUFACTURER_ROOT || p == CERT_PROFILE_SYSTEM_CA;
}

static bool profile_is_device(enum cert_profile p)
{
	return p == CERT_PROFILE_IDEVID || p == CERT_PROFILE_LDEVID ||
	       p == CERT_PROFILE_VIDEO_SIGNING;
}

static int check_req(const struct cert_req *req)
{
	if (!req || (int)req->profile < CERT_PROFILE_MANUFACTURER_ROOT ||
	    req->profile > CERT_PROFILE_VIDEO_SIGNING)
		return CERTS_E_INPUT;
	if (!buf_ok(req->spki, req->spki_len, CERTS_MAX_SPKI))
		return CERTS_E_INPUT;
	if (!str_ok(req->organization, sizeof(req->organization), false))
		return CERTS_E_INPUT;
	if (req->not_before < 0 || req->not_after <= req->not_before)
		return CERTS_E_INPUT;
	if (profile_is_device(req->profile))
		return certs_check_serial(req->serial);
	if (!str_ok(req->common_name, sizeof(req->common_name), false))
		return CERTS_E_INPUT;
	return CERTS_OK;
}

/* Subject, validity, serial number and extensions of the profile. */
static int fill_cert(Cert *cert, const struct cert_req *req, ecc_key *subject, WC_RNG *rng)
{
	const char *ku = "digitalSignature", *eku = NULL;

	cert->sigType = CTC_SHA256wECDSA;
	if (wc_RNG_GenerateBlock(rng, cert->serial, SERIAL_BYTES) != 0)
		return CERTS_E_CRYPTO;
	/* Positive and without a leading zero, so it stays 16 bytes in DER. */
	cert->serial[0] = (byte)((cert->serial[0] & 0x7f) | 0x40);
	cert->serialSz = SERIAL_BYTES;
	if (encode_time(req->not_before, cert->beforeDate, &cert->beforeDateSz) != CERTS_OK ||
	    encode_time(req->not_after, cert->afterDate, &cert->afterDateSz) != CERTS_OK)
		return CERTS_E_INPUT;
	memcpy(cert->subject.org, req->organization, strlen(req->organization) + 1);
	if (profile_is_device(req->profile)) {
		memcpy(cert->subject.commonName, req->serial, strlen(req->serial) + 1);
		memcpy(cert->subject.serialDev, req->serial, strlen(req->serial) + 1);
		/* The video key signs evidence, never a TLS handshake. */
		eku = req->profile == CERT_PROFILE_VIDEO_SIGNING ? NULL : "clientAuth";
		if (req->profile == CERT_PROFILE_VIDEO_SIGNING)
			ku = "digitalSignature,nonRepudiation";
	} else {
		memcpy(cert->subject.commonName, req->common_name, strlen(req->common_name) + 1);
		eku = req->profile == CERT_PROFILE_SERVER ? "serverAuth" : NULL;
	}
	cert->isCA = profile_is_ca(req->profile);
	cert->basicConstSet = 1;
	if (cert->isCA)
		ku = "keyCertSign,cRLSign";
	if (wc_SetKeyUsage(cert, ku) != 0 || (eku && wc_SetExtKeyUsage(cert, eku) != 0))
		return CERTS_E_CRYPTO;
	if (wc_SetSubjectKeyIdFromPublicKey_ex(cert, ECC_TYPE, subject) != 0)
		return CERTS_E_CRYPTO;
	return CERTS_OK;
}

/* For a self-signed profile the subject key must be the signing key. */
static int check_self_signed(ecc_key *issuer_key, const struct cert_req *req)
{
	uint8_t spki[CERTS_MAX_SPKI];
	size_t n;
	int r;

	r = certs_ec_spki(issuer_key, spki, sizeof(spki), &n);
	if (r != CERTS_OK)
		return r;
	if (n != req->spki_len || memcmp(spki, req->spki, n) != 0)
		return CERTS_E_INPUT;
	return CERTS_OK;
}

static int set_issuer(Cert *cert, const uint8_t *der, size_t len)
{
	struct cert_info info;
	int r;

	r = certs_parse(der, len, &info);
	if (r != CERTS_OK)
		return r;
	if (!info.is_ca)
		return CERTS_E_UNTRUSTED;
	if (wc_SetIssuerBuffer(cert, der, (int)len) != 0 ||
	    wc_SetAuthKeyIdFromCert(cert, der, (int)len) != 0)
		return CERTS_E_PARSE;
	return CERTS_OK;
}

/* A DER element: offset of its tag, of its contents, and the contents' length. */
struct der_span {
	size_t hdr, start, len;
};

static size_t span_end(const struct der_span *s)
{
	return s->start + s->len;
}

/* Reads the element at pos (lengths up to two bytes, all we ever make). */
static int der_read(const byte *buf, size_t end, size_t pos, byte *tag, struct der_span *s)
{
	size_t len, n = 0;

	if (pos + 2 > end)
		return -1;
	*tag = buf[pos];
	len = buf[pos + 1];
	if (len & 0x80) {
		n = len & 0x7f;
		if (n == 0 || n > 2 || pos + 2 + n > end)
			return -1;
		len = 0;
		for (size_t i = 0; i < n; i++)
			len = (len << 8) | buf[pos + 2 + i];
	}
	s->hdr = pos;
	s->start = pos + 2 + n;
	s->len = len;
	return span_end(s) <= end ? 0 : -1;
}

static size_t der_put_header(byte *out, byte tag, size_t len)
{
	size_t n = 0;

	out[n++] = tag;
	if (len >= 256)
		out[n++] = 0x82, out[n++] = (byte)(len >> 8);
	else if (len >= 128)
		out[n++] = 0x81;
	out[n++] = (byte)len;
	return n;
}

/* Finds TBS > [3] > Extensions > the basicConstraints Extension that has no
 * critical flag yet (the OID is followed directly by the OCTET STRING). */
static int find_basic_constraints(const byte *tbs, size_t n, struct der_span lv[4])
{
	static const byte oid_then_value[] = { ASN_OBJECT_ID, 3, 0x55, 0x1d, 0x13, ASN_OCTET_STRING };
	size_t pos;
	byte tag;

	if (der_read(tbs, n, 0, &tag, &lv[0]) != 0 || tag != (ASN_SEQUENCE | ASN_CONSTRUCTED))
		return -1;
	for (pos = lv[0].start; pos < span_end(&lv[0]); pos = span_end(&lv[1])) {
		if (der_read(tbs, span_end(&lv[0]), pos, &tag, &lv[1]) != 0)
			return -1;
		if (tag == (ASN_CONTEXT_SPECIFIC | ASN_CONSTRUCTED | 3))
			break;
	}
	if (pos >= span_end(&lv[0]) ||
	    der_read(tbs, span_end(&lv[1]), lv[1].start, &tag, &lv[2]) != 0)
		return -1;
	for (pos = lv[2].start; pos < span_end(&lv[2]); pos = span_end(&lv[3])) {
		if (der_read(tbs, span_end(&lv[2]), pos, &tag, &lv[3]) != 0)
			return -1;
		if (lv[3].len > sizeof(oid_then_value) &&
		    memcmp(tbs + lv[3].start, oid_then_value, sizeof(oid_then_value)) == 0)
			return 0;
	}
	return -1;
}

/* wolfSSL 5.5 writes basicConstraints without the critical flag; RFC 5280
 * 4.2.1.9 wants it critical in a CA. Inserts BOOLEAN TRUE after the OID of the
 * unsigned TBS in tbs (n bytes, cap room) and grows the enclosing lengths. */
static int mark_basic_constraints_critical(byte *tbs, size_t n, size_t cap, int *ret_n)
{
	static const byte critical[] = { ASN_BOOLEAN, 1, 0xff };
	const size_t grow = sizeof(critical);
	struct der_span lv[4];
	byte *tmp;
	size_t o = 0, from, insert;

	if (find_basic_constraints(tbs, n, lv) != 0)
		return CERTS_E_CRYPTO;
	if (n + grow + 4 > cap)
		return CERTS_E_INPUT;
	tmp = malloc(n + grow + 4);
	if (!tmp)
		return CERTS_E_NOMEM;
	insert = lv[3].start + 5; /* after the 5-byte OID */
	for (int i = 0; i < 4; i++) {
		size_t to = i < 3 ? lv[i + 1].hdr : insert;
		o += der_put_header(tmp + o, tbs[lv[i].hdr], lv[i].len + grow);
		memcpy(tmp + o, tbs + lv[i].start, to - lv[i].start);
		o += to - lv[i].start;
	}
	memcpy(tmp + o, critical, grow);
	o += grow;
	from = insert;
	for (int i = 3; i >= 0; i--) {
		memcpy(tmp + o, tbs + from, span_end(&lv[i]) - from);
		o += span_end(&lv[i]) - from;
		from = span_end(&lv[i]);
	}
	memcpy(tbs, tmp, o);
	free(tmp);
	*ret_n = (int)o;
	return CERTS_OK;
}

/* Builds the TBS into out and signs it in place with the issuer's key. */
static int make_and_sign(Cert *cert, bool request, ecc_key *subject, ecc_key *signer,
			 WC_RNG *rng, uint8_t *out, size_t cap, size_t *ret_len)
{
	word32 n = out_cap(cap, CERTS_MAX_DER);
	int r;

	if (request)
		r = wc_MakeCertReq(cert, out, n, NULL, subject);
	else
		r = wc_MakeCert(cert, out, n, NULL, subject, rng);
	if (r < 0)
		return r == BUFFER_E ? CERTS_E_INPUT : CERTS_E_CRYPTO;
	if (!request && cert->isCA) {
		r = mark_basic_constraints_critical(out, (size_t)cert->bodySz, n, &cert->bodySz);
		if (r != CERTS_OK)
			return r;
	}
	r = wc_SignCert(cert->bodySz, cert->sigType, out, n, NULL, signer, rng);
	if (r < 0)
		return r == BUFFER_E ? CERTS_E_INPUT : CERTS_E_CRYPTO;
	*ret_len = (size_t)r;
	return CERTS_OK;
}

int certs_issue(const struct cert_req *req, ecc_key *issuer_key, const uint8_t *issuer_der,
		size_t issuer_len, WC_RNG *rng, uint8_t *out, size_t cap, size_t *ret_len)
{
	Cert *cert = NULL;
	ecc_key subject;
	int r;

	r = check_req(req);
	if (r != CERTS_OK)
		return r;
	if (!issuer_key || !rng || !out || cap == 0 || !ret_len)
		return CERTS_E_INPUT;
	if (profile_is_ca(req->profile) ? (issuer_der || issuer_len)
					: !buf_ok(issuer_der, issuer_len, CERTS_MAX_DER))
		return CERTS_E_INPUT;
	if (!issuer_der) {
		r = check_self_signed(issuer_key, req);
		if (r != CERTS_OK)
			return r;
	}
	r = spki_to_key(req->spki, req->spki_len, &subject);
	if (r != CERTS_OK)
		return r;
	cert = malloc(sizeof(*cert));
	if (!cert) {
		r = CERTS_E_NOMEM;
		goto out;
	}
	if (wc_InitCert(cert) != 0) {
		r = CERTS_E_CRYPTO;
		goto out;
	}
	r = fill_cert(cert, req, &subject, rng);
	if (r == CERTS_OK && issuer_der)
		r = set_issuer(cert, issuer_der, issuer_len);
	if (r == CERTS_OK)
		r = make_and_sign(cert, false, &subject, issuer_key, rng, out, cap, ret_len);
out:
	free(cert);
	wc_ecc_free(&subject);
	return r;
}

int certs_make_csr(const char *serial, ecc_key *key, WC_RNG *rng, uint8_t *out, size_t cap,
		   size_t *ret_len)
{
	Cert *cert;
	size_t n;
	int r;

	if (!serial || !key || !rng || !out || cap == 0 || !ret_len)
		return CERTS_E_INPUT;
	r = certs_check_serial(serial);
	if (r != CERTS_OK)
		return r;
	if (!key_is_p256(key))
		return CERTS_E_KEY_TYPE;
	cert = malloc(sizeof(*cert));
	if (!cert)
		return CERTS_E_NOMEM;
	if (wc_InitCert(cert) != 0) {
		r = CERTS_E_CRYPTO;
		goto out;
	}
	cert->version = 0;
	cert->sigType = CTC_SHA256wECDSA;
	n = strlen(serial) + 1;
	memcpy(cert->subject.commonName, serial, n);
	memcpy(cert->subject.serialDev, serial, n);
	r = make_and_sign(cert, true, key, key, rng, out, cap, ret_len);
out:
	free(cert);
	return r;
}

/* Copies a parsed name attribute (absent: ""). Embedded NULs or overlong: error. */
static int copy_attr(const char *src, int len, char *dst, size_t cap)
{
	if (!src || len <= 0) {
		dst[0] = 0;
		return CERTS_OK;
	}
	if ((size_t)len >= cap || memchr(src, 0, (size_t)len))
		return CERTS_E_PARSE;
	memcpy(dst, src, (size_t)len);
	dst[len] = 0;
	return CERTS_OK;
}

static int issuer_cn(const uint8_t *der, size_t len, char *out, size_t cap)
{
	const unsigned char *p = der;
	WOLFSSL_X509 *x;
	int n;

	x = wolfSSL_d2i_X509(NULL, &p, (int)len);
	if (!x)
		return CERTS_E_PARSE;
	n = wolfSSL_X509_NAME_get_text_by_NID(wolfSSL_X509_get_issuer_name(x), NID_commonName,
					      out, (int)cap);
	wolfSSL_X509_free(x);
	if (n < 0)
		out[0] = 0;
	else if ((size_t)n >= cap - 1)
		return CERTS_E_PARSE;
	return CERTS_OK;
}

static int fill_names(DecodedCert *dc, struct cert_info *info)
{
	if (copy_attr(dc->subjectCN, dc->subjectCNLen, info->common_name,
		      sizeof(info->common_name)) != CERTS_OK ||
	    copy_attr(dc->subjectO, dc->subjectOLen, info->organization,
		      sizeof(info->organization)) != CERTS_OK ||
	    copy_attr(dc->subjectSND, dc->subjectSNDLen, info->serial, sizeof(info->serial)) !=
		    CERTS_OK)
		return CERTS_E_PARSE;
	return CERTS_OK;
}

static int fill_key(DecodedCert *dc, struct cert_info *info)
{
	word32 n = sizeof(info->spki);

	if (dc->keyOID != ECDSAk || dc->pkCurveOID != ECC_SECP256R1_OID)
		return CERTS_E_KEY_TYPE;
	if (wc_GetPubKeyDerFromCert(dc, info->spki, &n) != 0)
		return CERTS_E_PARSE;
	info->spki_len = n;
	return certs_spki_sha256(info->spki, n, info->spki_sha256);
}

static int fill_cert_fields(const uint8_t *der, size_t len, DecodedCert *dc,
			    struct cert_info *info)
{
	if (dc->serialSz <= 0 || (size_t)dc->serialSz > sizeof(info->cert_serial))
		return CERTS_E_PARSE;
	memcpy(info->cert_serial, dc->serial, (size_t)dc->serialSz);
	info->cert_serial_len = (size_t)dc->serialSz;
	info->is_ca = dc->isCA;
	if (decode_time(dc->beforeDate, dc->beforeDateLen, &info->not_before) != CERTS_OK ||
	    decode_time(dc->afterDate, dc->afterDateLen, &info->not_after) != CERTS_OK)
		return CERTS_E_PARSE;
	return issuer_cn(der, len, info->issuer_cn, sizeof(info->issuer_cn));
}

static int map_parse_error(int r)
{
	switch (r) {
	case ASN_SIG_CONFIRM_E:
	case SIG_VERIFY_E:
	case ASN_SIG_OID_E:
	case ASN_SIG_HASH_E:
	case ASN_SIG_KEY_E:
		return CERTS_E_SIGNATURE;
	case ASN_ECC_KEY_E:
	case ECC_CURVE_OID_E:
		return CERTS_E_KEY_TYPE;
	case MEMORY_E:
		return CERTS_E_NOMEM;
	default:
		return CERTS_E_PARSE;
	}
}

/* Parses der as a certificate or (csr) a request into ret, set only on success. */
static int parse_any(const uint8_t *der, size_t len, bool csr, struct cert_info *ret)
{
	struct cert_info info = { 0 };
	DecodedCert *dc;
	int r;

	if (!buf_ok(der, len, CERTS_MAX_DER) || !ret)
		return CERTS_E_INPUT;
	dc = malloc(sizeof(*dc));
	if (!dc)
		return CERTS_E_NOMEM;
	wc_InitDecodedCert(dc, der, (word32)len, NULL);
	r = wc_ParseCert(dc, csr ? CERTREQ_TYPE : CERT_TYPE, csr ? VERIFY : NO_VERIFY, NULL);
	if (r != 0) {
		r = map_parse_error(r);
		goto out;
	}
	if (csr && !dc->isCSR) {
		r = CERTS_E_PARSE;
		goto out;
	}
	r = fill_key(dc, &info);
	if (r == CERTS_OK)
		r = fill_names(dc, &info);
	if (r == CERTS_OK && !csr)
		r = fill_cert_fields(der, len, dc, &info);
	if (r == CERTS_OK && csr)
		r = certs_check_serial(info.serial);
	if (r == CERTS_OK)
		*ret = info;
out:
	wc_FreeDecodedCert(dc);
	free(dc);
	return r;
}

int certs_parse_csr(const uint8_t *der, size_t len, struct cert_info *ret)
{
	return parse_any(der, len, true, ret);
}

int certs_parse(const uint8_t *der, size_t len, struct cert_info *ret)
{
	return parse_any(der, len, false, ret);
}

/* ECDSA-SHA256 signature of the leaf's TBSCertificate under the anchor's key. */
static int check_signature(DecodedCert *leaf, const struct cert_info *anchor)
{
	uint8_t hash[WC_SHA256_DIGEST_SIZE];
	ecc_key key;
	int ok = 0, r;

	if (leaf->signatureOID != CTC_SHA256wECDSA || leaf->sigIndex <= leaf->certBegin)
		return CERTS_E_SIGNATURE;
	if (wc_Sha256Hash(leaf->source + leaf->certBegin, leaf->sigIndex - leaf->certBegin,
			  hash) != 0)
		return CERTS_E_CRYPTO;
	r = spki_to_key(anchor->spki, anchor->spki_len, &key);
	if (r != CERTS_OK)
		return r;
	if (wc_ecc_verify_hash(leaf->signature, leaf->sigLength, hash, sizeof(hash), &ok, &key) !=
		    0 ||
	    ok != 1)
		r = CERTS_E_SIGNATURE;
	wc_ecc_free(&key);
	return r;
}

/* The leaf must name the anchor as issuer and carry its signature. */
static int check_issued(const uint8_t *leaf, size_t leaf_len, const uint8_t *anchor,
			size_t anchor_len, const struct cert_info *anchor_info)
{
	DecodedCert *l = NULL, *a = NULL;
	int r = CERTS_E_NOMEM;

	l = malloc(sizeof(*l));
	a = malloc(sizeof(*a));
	if (!l || !a)
		goto out_free;
	wc_InitDecodedCert(l, leaf, (word32)leaf_len, NULL);
	wc_InitDecodedCert(a, anchor, (word32)anchor_len, NULL);
	if (wc_ParseCert(l, CERT_TYPE, NO_VERIFY, NULL) != 0 ||
	    wc_ParseCert(a, CERT_TYPE, NO_VERIFY, NULL) != 0)
		r = CERTS_E_PARSE;
	else if (memcmp(l->issuerHash, a->subjectHash, sizeof(l->issuerHash)) != 0)
		r = CERTS_E_UNTRUSTED;
	else if (a->extKeyUsageSet && !(a->extKeyUsage & KEYUSE_KEY_CERT_SIGN))
		r = CERTS_E_UNTRUSTED;
	else
		r = check_signature(l, anchor_info) == CERTS_OK ? CERTS_OK : CERTS_E_UNTRUSTED;
	wc_FreeDecodedCert(l);
	wc_FreeDecodedCert(a);
out_free:
	free(l);
	free(a);
	return r;
}

static bool valid_at(const struct cert_info *info, time_t now)
{
	return now >= info->not_before && now <= info->not_after;
}

int certs_verify_issued_by(const uint8_t *leaf, size_t leaf_len, const uint8_t *anchor,
			   size_t anchor_len, int check_time, time_t now)
{
	struct cert_info li, ai;
	int r;

	if (!buf_ok(leaf, leaf_len, CERTS_MAX_DER) || !buf_ok(anchor, anchor_len, CERTS_MAX_DER))
		return CERTS_E_INPUT;
	if (check_time && now <= 0)
		return CERTS_E_INPUT;
	r = certs_parse(leaf, leaf_len, &li);
	if (r == CERTS_OK)
		r = certs_parse(anchor, anchor_len, &ai);
	if (r != CERTS_OK)
		return r;
	if (!ai.is_ca)
		return CERTS_E_UNTRUSTED;
	r = check_issued(leaf, leaf_len, anchor, anchor_len, &ai);
	if (r != CERTS_OK)
		return r;
	if (check_time && (!valid_at(&li, now) || !valid_at(&ai, now)))
		return CERTS_E_EXPIRED;
	return CERTS_OK;
}

int certs_sign(ecc_key *key, WC_RNG *rng, const void *msg, size_t len, uint8_t *sig, size_t cap,
	       size_t *ret_len)
{
	uint8_t hash[32];
	word32 slen = (word32)cap;

	if (!key || !rng || !msg || len == 0 || !sig || cap == 0 || !ret_len)
		return CERTS_E_INPUT;
	if (wc_Sha256Hash(msg, (word32)len, hash) != 0 ||
	    wc_ecc_sign_hash(hash, sizeof(hash), sig, &slen, rng, key) != 0)
		return CERTS_E_CRYPTO;
	*ret_len = slen;
	return CERTS_OK;
}

int certs_verify_signature(const uint8_t *cert, size_t cert_len, const void *msg, size_t len,
			   const uint8_t *sig, size_t sig_len)
{
	struct cert_info info;
	uint8_t hash[32];
	ecc_key key;
	int ok = 0, r;

	if (!buf_ok(cert, cert_len, CERTS_MAX_DER) || !msg || len == 0 || !sig || sig_len == 0 ||
	    sig_len > 128)
		return CERTS_E_INPUT;
	r = certs_parse(cert, cert_len, &info);
	if (r != CERTS_OK)
		return r;
	r = spki_to_key(info.spki, info.spki_len, &key);
	if (r != CERTS_OK)
		return r;
	if (wc_Sha256Hash(msg, (word32)len, hash) != 0 ||
	    wc_ecc_verify_hash(sig, (word32)sig_len, hash, sizeof(hash), &ok, &key) != 0)
		ok = 0;
	wc_ecc_free(&key);
	return ok == 1 ? CERTS_OK : CERTS_E_SIGNATURE;
}
