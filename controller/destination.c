/* destination.c - validation and storage of the content destination's
 * connection file (destination.h). One table says what each member is. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controller/destination.h"
#include "shared/envelope.h"
#include "shared/util.h"

#define META_DOC "destination"
#define META_WANT_ENC "destination_want_encryption"
#define META_FULL_STORE "destination_full_store_and_read"

enum text_kind { T_TEXT, T_VERSION };

struct field;
typedef int (*field_fn)(const struct field *f, json_t *v, struct destination *d, char *why,
			size_t whylen);

struct field {
	const char *name;
	field_fn check;
	size_t off, cap;    /* where the value goes in struct destination */
	unsigned max;       /* characters, or entries of a list */
	int required;       /* 2: required iff WantEncryption, forbidden otherwise */
	enum text_kind kind;
};

static int refuse(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* Characters of valid UTF-8 (jansson checked it). */
static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

static int version_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       strchr(".-+_~", c) != NULL;
}

/* A non-empty string of at most max characters without control characters. */
static int text_value(const char *name, json_t *v, unsigned max, char *why, size_t whylen)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if (!json_is_string(v))
		return refuse(why, whylen, "%s: must be a string", name);
	if (len == 0)
		return refuse(why, whylen, "%s: must not be empty", name);
	if (utf8_chars(s, len) > max)
		return refuse(why, whylen, "%s: longer than %u characters", name, max);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return refuse(why, whylen, "%s: contains a control character", name);
	return 0;
}

static int check_text(const struct field *f, json_t *v, struct destination *d, char *why,
		      size_t whylen)
{
	const char *s = json_string_value(v);
	int r = text_value(f->name, v, f->max, why, whylen);

	if (r < 0)
		return r;
	if (f->kind == T_VERSION) {
		if (s[0] < '0' || s[0] > '9')
			return refuse(why, whylen, "%s: a version starts with a digit", f->name);
		for (const char *p = s; *p; p++)
			if (!version_char(*p))
				return refuse(why, whylen,
					      "%s: a version has only letters, digits and . - + _ ~",
					      f->name);
	}
	if (json_string_length(v) >= f->cap)
		return refuse(why, whylen, "%s: too long", f->name);
	memcpy((char *)d + f->off, s, json_string_length(v) + 1);
	return 0;
}

static int check_bool(const struct field *f, json_t *v, struct destination *d, char *why,
		      size_t whylen)
{
	if (!json_is_boolean(v))
		return refuse(why, whylen, "%s: must be true or false", f->name);
	*(int *)((char *)d + f->off) = json_is_true(v);
	return 0;
}

static int check_file_version(const struct field *f, json_t *v, struct destination *d,
			      char *why, size_t whylen)
{
	if (!json_is_string(v) || strcmp(json_string_value(v), "1.0") != 0)
		return refuse(why, whylen, "%s: must be the string \"1.0\"", f->name);
	return 0;
}

static int check_container(const struct field *f, json_t *v, struct destination *d, char *why,
			   size_t whylen)
{
	const char *s = json_string_value(v);

	if (!json_is_string(v) || (strcmp(s, "mkv") != 0 && strcmp(s, "mp4") != 0))
		return refuse(why, whylen, "%s: must be \"mkv\" or \"mp4\"", f->name);
	d->container = strcmp(s, "mp4") == 0 ? DEST_MP4 : DEST_MKV;
	return 0;
}

/* http(s)://host[...] with printable ASCII only. */
static int uri_ok(const char *s)
{
	size_t skip;

	if (strncasecmp(s, "https://", 8) == 0)
		skip = 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		skip = 7;
	else
		return 0;
	if (s[skip] == 0 || strchr("/?#@:", s[skip]))
		return 0;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
}

static int list_value(const struct field *f, json_t *v, char *why, size_t whylen)
{
	if (!json_is_array(v))
		return refuse(why, whylen, "%s: must be an array", f->name);
	if (json_array_size(v) > f->max)
		return refuse(why, whylen, "%s: more than %u entries", f->name, f->max);
	return 0;
}

static int check_uris(const struct field *f, json_t *v, struct destination *d, char *why,
		      size_t whylen)
{
	size_t i;
	json_t *e;
	int r = list_value(f, v, why, whylen);

	if (r < 0)
		return r;
	if (json_array_size(v) == 0)
		return refuse(why, whylen, "%s: at least one URI is needed", f->name);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || json_string_length(e) > DEST_URI_MAX)
			return refuse(why, whylen, "%s[%zu]: must be a string of at most %d characters",
				      f->name, i, DEST_URI_MAX);
		if (!uri_ok(json_string_value(e)))
			return refuse(why, whylen, "%s[%zu]: not an http:// or https:// URL",
				      f->name, i);
		memcpy(d->uris[i], json_string_value(e), json_string_length(e) + 1);
	}
	d->n_uris = json_array_size(v);
	return 0;
}

/* base64 of DER or base64 of PEM; a certificate wolfSSL can parse. */
static int cert_value(json_t *e, uint8_t *der, size_t *ret_len)
{
	uint8_t *raw = malloc(DEST_CERT_DER_MAX + 1);
	size_t len = 0;
	DecodedCert *dc = NULL;
	int r = -EBADMSG, n;

	if (!raw)
		return -ENOMEM;
	if (env_b64_decode(json_string_value(e), json_string_length(e), raw, DEST_CERT_DER_MAX,
			   &len) != ENV_OK)
		goto out;
	if (len > 10 && memcmp(raw, "-----BEGIN", 10) == 0) {
		n = wc_CertPemToDer(raw, (int)len, der, DEST_CERT_DER_MAX, CERT_TYPE);
		if (n <= 0)
			goto out;
		len = (size_t)n;
	} else {
		memcpy(der, raw, len);
	}
	dc = malloc(sizeof(*dc));
	if (!dc) {
		r = -ENOMEM;
		goto out;
	}
	wc_InitDecodedCert(dc, der, (word32)len, NULL);
	if (wc_ParseCert(dc, CERT_TYPE, NO_VERIFY, NULL) == 0) {
		*ret_len = len;
		r = 0;
	}
	wc_FreeDecodedCert(dc);
out:
	free(dc);
	free(raw);
	return r;
}

static int check_certs(const struct field *f, json_t *v, struct destination *d, char *why,
		       size_t whylen)
{
	size_t i;
	json_t *e;
	int r = list_value(f, v, why, whylen);

	if (r < 0)
		return r;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || json_string_length(e) > DEST_CERT_B64_MAX)
			return refuse(why, whylen, "%s[%zu]: must be a string of at most %d characters",
				      f->name, i, DEST_CERT_B64_MAX);
		r = cert_value(e, d->cert_der[i], &d->cert_len[i]);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			return refuse(why, whylen,
				      "%s[%zu]: not base64 of an X.509 certificate (DER or PEM)",
				      f->name, i);
	}
	d->n_certs = json_array_size(v);
	return 0;
}

static int check_pubkey(const struct field *f, json_t *v, struct destination *d, char *why,
			size_t whylen)
{
	uint8_t pem[DEST_PUBKEY_B64_MAX / 4 * 3];
	size_t len = 0;
	int r = text_value(f->name, v, f->max, why, whylen);

	if (r < 0)
		return r;
	if (env_b64_decode(json_string_value(v), json_string_length(v), pem, sizeof(pem), &len) !=
	    ENV_OK)
		return refuse(why, whylen, "%s: not base64", f->name);
	r = env_rsa_pub_from_pem((const char *)pem, len, d->pubkey_der, sizeof(d->pubkey_der),
				 &d->pubkey_len, &d->pubkey_bits);
	if (r != ENV_OK)
		return refuse(why, whylen,
			      "%s: not base64 of a PEM RSA public key of at least %d bits",
			      f->name, ENV_MIN_RSA_BITS);
	return 0;
}

#define AT(member) offsetof(struct destination, member), sizeof(((struct destination *)0)->member)

/* Order matters: WantEncryption comes before the members that depend on it. */
static const struct field fields[] = {
	{ "ConnectionFileVersion", check_file_version, 0, 0, 0, 1, T_TEXT },
	{ "SiteName", check_text, AT(site_name), 64, 1, T_TEXT },
	{ "ApplicationName", check_text, AT(app_name), 256, 1, T_TEXT },
	{ "ApplicationVersion", check_text, AT(app_version), 128, 1, T_VERSION },
	{ "ContentDestinationAsNTPServer", check_bool, AT(ntp_server), 0, 1, T_TEXT },
	{ "AuthenticationTokenURI", check_uris, 0, 0, DEST_MAX_URIS, 1, T_TEXT },
	{ "HTTPSCertificate", check_certs, 0, 0, DEST_MAX_CERTS, 0, T_TEXT },
	{ "BlobAPIKey", check_text, AT(blob_key), 64, 1, T_TEXT },
	{ "BlobAPIUserName", check_text, AT(blob_user), 64, 1, T_TEXT },
	{ "ContainerType", check_container, 0, 0, 0, 0, T_TEXT },
	{ "FullStoreAndReadSupport", check_bool, AT(full_store_and_read), 0, 0, T_TEXT },
	{ "WantEncryption", check_bool, AT(want_encryption), 0, 0, T_TEXT },
	{ "PublicKey", check_pubkey, 0, 0, DEST_PUBKEY_B64_MAX, 2, T_TEXT },
	{ "PublicKeyId", check_text, AT(pubkey_id), 128, 2, T_TEXT },
};

static int check_member(const struct field *f, json_t *root, struct destination *d, char *why,
			size_t whylen)
{
	json_t *v = json_object_get(root, f->name);
	int required = f->required == 2 ? d->want_encryption : f->required;

	if (f->required == 2 && !d->want_encryption && v)
		return refuse(why, whylen, "%s: no value allowed when WantEncryption is not true",
			      f->name);
	if (!v && required)
		return refuse(why, whylen, "%s: missing%s", f->name,
			      f->required == 2 ? " (required when WantEncryption is true)" : "");
	return v ? f->check(f, v, d, why, whylen) : 0;
}

static int check_members(json_t *root, char *why, size_t whylen)
{
	const char *key;
	json_t *v;

	if (!json_is_object(root))
		return refuse(why, whylen, "connection file: not a JSON object");
	json_object_foreach(root, key, v) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(fields) && strcmp(fields[i].name, key) != 0; i++)
			;
		if (i == ARRAY_SIZE(fields))
			return refuse(why, whylen, "%.64s: unknown member", key);
	}
	return 0;
}

static int parse_root(json_t *root, int allow_insecure, struct destination *d, char *why,
		      size_t whylen)
{
	char *doc;
	int r = check_members(root, why, whylen);

	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(fields); i++)
		r = check_member(&fields[i], root, d, why, whylen);
	if (r < 0)
		return r;
	for (size_t i = 0; d->n_certs > 0 && i < d->n_uris; i++)
		if (strncasecmp(d->uris[i], "https://", 8) != 0)
			return refuse(why, whylen, "AuthenticationTokenURI[%zu]: must be https:// "
				      "when HTTPSCertificate is given", i);
	if (d->n_certs == 0 && !allow_insecure)
		return refuse(why, whylen, "HTTPSCertificate: none given, so the destination would "
			      "be plain HTTP; refused unless explicitly allowed as insecure "
			      "(bwcctl destination import --allow-insecure)");
	doc = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!doc)
		return -ENOMEM;
	r = strlen(doc) < sizeof(d->document) ? 0 : refuse(why, whylen, "connection file: too large");
	if (r == 0)
		memcpy(d->document, doc, strlen(doc) + 1);
	util_free_secret(doc, strlen(doc));
	return r;
}

int destination_parse(const char *json, size_t len, int allow_insecure, struct destination *ret,
		      char *why, size_t whylen)
{
	struct destination *d;
	json_error_t err;
	json_t *root;
	int r;

	if (!json || !ret || !why || whylen == 0)
		return -EINVAL;
	if (len > DEST_FILE_MAX)
		return refuse(why, whylen, "connection file: %zu bytes, over the limit of %d", len,
			      DEST_FILE_MAX);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	if (!root)
		return refuse(why, whylen, "connection file: not valid JSON: %s (line %d)", err.text,
			      err.line);
	d = calloc(1, sizeof(*d));
	r = d ? parse_root(root, allow_insecure, d, why, whylen) : -ENOMEM;
	json_decref(root);
	if (r == 0)
		memcpy(ret, d, sizeof(*d));
	if (d)
		destination_wipe(d);
	free(d);
	return r;
}

static int no_going_back(const char *name, int was, int is, char *why, size_t whylen)
{
	if (was && !is)
		return refuse(why, whylen, "%s: was true and may not change back to false", name);
	return 0;
}

int destination_check_change(const struct destination *old, const struct destination *new_,
			     char *why, size_t whylen)
{
	int r;

	if (!new_ || !why || whylen == 0)
		return -EINVAL;
	if (!old)
		return 0;
	r = no_going_back("WantEncryption", old->want_encryption, new_->want_encryption, why,
			  whylen);
	if (r == 0)
		r = no_going_back("FullStoreAndReadSupport", old->full_store_and_read,
				  new_->full_store_and_read, why, whylen);
	return r;
}

#define SEAL_PREFIX "v1:"
#define DOC_KEY_BYTES 32
#define DOC_NONCE 12
#define DOC_TAG 16
#define SEALED_MAX (sizeof(SEAL_PREFIX) + (DOC_NONCE + DEST_FILE_MAX + DOC_TAG + 2) / 3 * 4 + 4)

/* The document key: unsealed, or (create) made and sealed the first time. */
static int doc_key(keystore_t *ks, int create, uint8_t key[DOC_KEY_BYTES])
{
	size_t len = 0;
	int r = ks_unseal(ks, DEST_SEAL_NAME, key, DOC_KEY_BYTES, &len);

	if (r == KS_E_NOT_FOUND && create) {
		r = ks_random(ks, key, DOC_KEY_BYTES);
		if (r == KS_OK)
			r = ks_seal(ks, DEST_SEAL_NAME, key, DOC_KEY_BYTES);
		len = DOC_KEY_BYTES;
	}
	if (r != KS_OK || len != DOC_KEY_BYTES) {
		util_wipe(key, DOC_KEY_BYTES);
		/* unreachable or busy now: worth another try; anything else is final */
		return r == KS_E_NO_TPM || r == KS_E_IO || r == KS_E_NOMEM ? -EAGAIN : -EACCES;
	}
	return 0;
}

/* doc (NUL-terminated) -> "v1:<b64>" in *ret (malloc). */
static int seal_document(keystore_t *ks, const char *doc, char **ret)
{
	size_t n = strlen(doc), blen = DOC_NONCE + n + DOC_TAG;
	uint8_t key[DOC_KEY_BYTES], *buf = malloc(blen);
	char *b64 = NULL;
	Aes aes;
	int r;

	if (!buf)
		return -ENOMEM;
	r = doc_key(ks, 1, key);
	if (r == 0 && ks_random(ks, buf, DOC_NONCE) != KS_OK)
		r = -EIO;
	if (r == 0 && (wc_AesInit(&aes, NULL, INVALID_DEVID) != 0 ||
		       wc_AesGcmSetKey(&aes, key, DOC_KEY_BYTES) != 0 ||
		       wc_AesGcmEncrypt(&aes, buf + DOC_NONCE, (const byte *)doc, (word32)n, buf,
					DOC_NONCE, buf + DOC_NONCE + n, DOC_TAG,
					(const byte *)META_DOC, sizeof(META_DOC) - 1) != 0))
		r = -EIO;
	wc_AesFree(&aes);
	util_wipe(key, sizeof(key));
	if (r == 0 && env_b64_encode(buf, blen, &b64) < 0)
		r = -ENOMEM;
	free(buf);
	if (r == 0) {
		*ret = malloc(strlen(SEAL_PREFIX) + strlen(b64) + 1);
		if (*ret)
			sprintf(*ret, "%s%s", SEAL_PREFIX, b64);
		else
			r = -ENOMEM;
	}
	free(b64);
	return r;
}

/* "v1:<b64>" -> the document into out (cap > DEST_FILE_MAX), NUL-terminated. */
static int open_document(keystore_t *ks, const char *sealed, char *out, size_t cap)
{
	size_t plen = strlen(SEAL_PREFIX), blen = 0, n;
	uint8_t key[DOC_KEY_BYTES], *buf;
	Aes aes;
	int r;

	if (strncmp(sealed, SEAL_PREFIX, plen) != 0)
		return -EBADMSG;
	buf = malloc(SEALED_MAX);
	if (!buf)
		return -ENOMEM;
	r = env_b64_decode(sealed + plen, strlen(sealed + plen), buf, SEALED_MAX, &blen) < 0 ||
	    blen < DOC_NONCE + DOC_TAG || blen - DOC_NONCE - DOC_TAG >= cap ? -EBADMSG : 0;
	n = blen - DOC_NONCE - DOC_TAG;
	if (r == 0)
		r = doc_key(ks, 0, key);
	if (r == 0) {
		if (wc_AesInit(&aes, NULL, INVALID_DEVID) != 0 ||
		    wc_AesGcmSetKey(&aes, key, DOC_KEY_BYTES) != 0 ||
		    wc_AesGcmDecrypt(&aes, (byte *)out, buf + DOC_NONCE, (word32)n, buf, DOC_NONCE,
				     buf + DOC_NONCE + n, DOC_TAG, (const byte *)META_DOC,
				     sizeof(META_DOC) - 1) != 0)
			r = -EACCES;
		wc_AesFree(&aes);
		util_wipe(key, sizeof(key));
	}
	free(buf);
	if (r == 0 && memchr(out, 0, n))
		r = -EBADMSG;
	if (r == 0)
		out[n] = '\0';
	else
		util_wipe(out, cap);
	return r;
}

int destination_open_form(keystore_t *ks, const char *sealed, struct destination *ret)
{
	char *doc, why[256];
	int rc;

	if (!ks || !sealed || !ret)
		return -EINVAL;
	doc = malloc(DEST_FILE_MAX + 1);
	if (!doc)
		return -ENOMEM;
	rc = open_document(ks, sealed, doc, DEST_FILE_MAX + 1);
	/* Accepted once (insecure or not) by the administrator: parse as such. */
	if (rc == 0)
		rc = destination_parse(doc, strlen(doc), 1, ret, why, sizeof(why)) < 0 ? -EIO : 0;
	util_free_secret(doc, DEST_FILE_MAX + 1);
	return rc;
}

int destination_load(registry_t *r, keystore_t *ks, struct destination *ret)
{
	char *sealed = NULL;
	int rc;

	if (!r || !ks || !ret)
		return -EINVAL;
	rc = destination_stored_form(r, &sealed);
	if (rc == 0)
		rc = destination_open_form(ks, sealed, ret);
	free(sealed);
	return rc;
}

int destination_stored_form(registry_t *r, char **ret)
{
	char *sealed;
	int rc;

	if (!r || !ret)
		return -EINVAL;
	*ret = NULL;
	sealed = malloc(SEALED_MAX);
	if (!sealed)
		return -ENOMEM;
	rc = registry_meta_get(r, META_DOC, sealed, SEALED_MAX);
	if (rc < 0) {
		free(sealed);
		return rc;
	}
	*ret = sealed;
	return 0;
}

int destination_store(registry_t *r, keystore_t *ks, const struct destination *d)
{
	char *sealed = NULL;
	int rc = 0;

	if (!r || !ks || !d || !memchr(d->document, 0, sizeof(d->document)) || !d->document[0])
		return -EINVAL;
	rc = seal_document(ks, d->document, &sealed);
	if (rc < 0)
		return rc;
	/* Latches first: a crash between the writes can only make the rules stricter. */
	if (d->want_encryption)
		rc = registry_meta_set(r, META_WANT_ENC, "1");
	if (rc == 0 && d->full_store_and_read)
		rc = registry_meta_set(r, META_FULL_STORE, "1");
	if (rc == 0)
		rc = registry_meta_set(r, META_DOC, sealed);
	free(sealed);
	/* The public key alone, for the dock listener to hand to cameras: the
	 * listener never reads the document with its secrets. */
	if (rc == 0 && d->want_encryption) {
		char *b64 = NULL;
		rc = env_b64_encode(d->pubkey_der, d->pubkey_len, &b64) < 0 ? -ENOMEM : 0;
		if (rc == 0)
			rc = registry_meta_set(r, "destination_pubkey", b64);
		if (rc == 0)
			rc = registry_meta_set(r, "destination_pubkey_id", d->pubkey_id);
		free(b64);
	}
	return rc;
}

static int latched(registry_t *r, const char *key)
{
	char v[8];

	return registry_meta_get(r, key, v, sizeof(v)) == 0 && strcmp(v, "1") == 0;
}

int destination_import(registry_t *r, keystore_t *ks, const char *json, size_t len,
		       int allow_insecure, struct destination *ret, char *why, size_t whylen)
{
	struct destination *old = calloc(1, sizeof(*old)), *d = calloc(1, sizeof(*d));
	int rc;

	if (!old || !d) {
		rc = -ENOMEM;
		goto out;
	}
	rc = destination_parse(json, len, allow_insecure, d, why, whylen);
	if (rc < 0)
		goto out;
	rc = destination_load(r, ks, old);
	if (rc == -EACCES) {
		snprintf(why, whylen, "the stored destination does not open with this keystore "
			 "(%s): was the keystore replaced? Nothing changed", ks_last_detail());
		goto out;
	}
	if (rc == -EAGAIN) {
		snprintf(why, whylen, "the keystore is not reachable (%s): nothing changed, try "
			 "again", ks_last_detail());
		goto out;
	}
	if (rc < 0 && rc != -ENOENT) {
		snprintf(why, whylen, "registry: cannot read the current destination (%d)", rc);
		goto out;
	}
	old->want_encryption |= latched(r, META_WANT_ENC);
	old->full_store_and_read |= latched(r, META_FULL_STORE);
	rc = destination_check_change(old, d, why, whylen);
	if (rc == 0 && (rc = destination_store(r, ks, d)) < 0)
		snprintf(why, whylen, rc == -EACCES ? "cannot seal the destination with the "
			 "keystore: %s" : "registry: cannot store the destination: %s",
			 rc == -EACCES ? ks_last_detail() : registry_errmsg(r));
	if (rc == 0 && ret)
		memcpy(ret, d, sizeof(*d));
out:
	destination_wipe(old);
	destination_wipe(d);
	free(old);
	free(d);
	return rc;
}

/* The view an administrator may see: everything but the secret. */
static json_t *public_view(const struct destination *d)
{
	json_t *o = json_object(), *uris = json_array(), *certs = json_array();
	uint8_t h[32];
	char hex[65];

	for (size_t i = 0; i < d->n_uris; i++)
		json_array_append_new(uris, json_string(d->uris[i]));
	for (size_t i = 0; i < d->n_certs; i++) {
		wc_Sha256Hash(d->cert_der[i], (word32)d->cert_len[i], h);
		util_hex(h, sizeof(h), hex);
		json_array_append_new(certs, json_string(hex));
	}
	json_object_set_new(o, "SiteName", json_string(d->site_name));
	json_object_set_new(o, "ApplicationName", json_string(d->app_name));
	json_object_set_new(o, "ApplicationVersion", json_string(d->app_version));
	json_object_set_new(o, "ContentDestinationAsNTPServer", json_boolean(d->ntp_server));
	json_object_set_new(o, "AuthenticationTokenURI", uris);
	json_object_set_new(o, "HTTPSCertificateSHA256", certs);
	json_object_set_new(o, "Transport", json_string(d->n_certs ? "https" : "http (insecure)"));
	json_object_set_new(o, "BlobAPIUserName", json_string(d->blob_user));
	json_object_set_new(o, "BlobAPIKey", json_string("(set)"));
	json_object_set_new(o, "ContainerType", json_string(d->container == DEST_MP4 ? "mp4" : "mkv"));
	json_object_set_new(o, "FullStoreAndReadSupport", json_boolean(d->full_store_and_read));
	json_object_set_new(o, "WantEncryption", json_boolean(d->want_encryption));
	if (d->want_encryption) {
		json_object_set_new(o, "PublicKeyId", json_string(d->pubkey_id));
		json_object_set_new(o, "PublicKeyBits", json_integer(d->pubkey_bits));
	}
	return o;
}

int destination_print(const struct destination *d, int json, FILE *out)
{
	json_t *o, *v;
	const char *key;

	if (!d || !out)
		return -EINVAL;
	o = public_view(d);
	if (!o)
		return -ENOMEM;
	if (json) {
		json_dumpf(o, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', out);
	} else {
		json_object_foreach(o, key, v) {
			char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY);
			fprintf(out, "%-30s %s\n", key, s ? s : json_string_value(v));
			free(s);
		}
	}
	json_decref(o);
	return 0;
}

void destination_wipe(struct destination *d)
{
	if (d)
		util_wipe(d, sizeof(*d));
}
