/* test_destination_parse.c - connection files: a valid one parses; every bad
 * one is refused with a message naming the member at fault. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "controller/destination.h"
#include "fixture.h"

static char *cert_der_b64, *cert_pem_b64, *pub_b64, *pub_rsa_b64, *small_b64;
static struct destination *dest;
static char why[512];

static json_t *valid_doc(void)
{
	return json_pack("{ss ss ss ss sb s[ss] s[ss] ss ss}",
			 "ConnectionFileVersion", "1.0", "SiteName", "Precinct 7 EMS",
			 "ApplicationName", "Evidence Store", "ApplicationVersion", "4.2.1-rc1",
			 "ContentDestinationAsNTPServer", 1,
			 "AuthenticationTokenURI", "https://ems.example/auth/v1.0",
			 "https://ems2.example:8443/auth",
			 "HTTPSCertificate", cert_der_b64, cert_pem_b64,
			 "BlobAPIKey", "s3cret-Pa55word", "BlobAPIUserName", "bwc-site7");
}

static int parse_doc(json_t *doc, int allow_insecure)
{
	char *s = json_dumps(doc, JSON_COMPACT);
	int r;

	why[0] = 0;
	r = destination_parse(s, strlen(s), allow_insecure, dest, why, sizeof(why));
	free(s);
	json_decref(doc);
	return r;
}

/* The document is refused and the message names field. */
static void refused(json_t *doc, const char *field, int line)
{
	int r = parse_doc(doc, 0);

	if (r == -EBADMSG && strstr(why, field)) {
		check_passed++;
		return;
	}
	check_failed++;
	fprintf(stderr, "line %d: expected a refusal naming %s, got %d \"%s\"\n", line, field, r,
		why);
}
#define REFUSED(doc, field) refused(doc, field, __LINE__)

static json_t *with(json_t *doc, const char *key, json_t *v)
{
	json_object_set_new(doc, key, v);
	return doc;
}

static json_t *without(json_t *doc, const char *key)
{
	json_object_del(doc, key);
	return doc;
}

static json_t *repeat(const char *unit, size_t n)
{
	size_t ul = strlen(unit);
	char *s = malloc(ul * n + 1);
	json_t *v;

	for (size_t i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * n] = 0;
	v = json_string(s);
	free(s);
	return v;
}

static json_t *encrypted_doc(const char *pub)
{
	json_t *d = valid_doc();

	with(d, "WantEncryption", json_true());
	with(d, "PublicKey", json_string(pub));
	return with(d, "PublicKeyId", json_string("ems-key-2024"));
}

static void test_valid(void)
{
	CHECK(parse_doc(valid_doc(), 0) == 0);
	CHECK(strcmp(dest->site_name, "Precinct 7 EMS") == 0);
	CHECK(dest->n_uris == 2 && strcmp(dest->uris[1], "https://ems2.example:8443/auth") == 0);
	CHECK(dest->n_certs == 2 && dest->cert_len[0] == dest->cert_len[1] &&
	      memcmp(dest->cert_der[0], dest->cert_der[1], dest->cert_len[0]) == 0);
	CHECK(dest->container == DEST_MKV && !dest->full_store_and_read && !dest->want_encryption);
	CHECK(dest->ntp_server && dest->pubkey_len == 0);
	CHECK(strcmp(dest->blob_key, "s3cret-Pa55word") == 0);

	CHECK(parse_doc(encrypted_doc(pub_b64), 0) == 0);
	CHECK(dest->want_encryption && dest->pubkey_bits == 2048 && dest->pubkey_len > 0);
	CHECK(strcmp(dest->pubkey_id, "ems-key-2024") == 0);
	CHECK(parse_doc(encrypted_doc(pub_rsa_b64), 0) == 0);
	CHECK(parse_doc(with(with(valid_doc(), "ContainerType", json_string("mp4")),
			     "FullStoreAndReadSupport", json_true()), 0) == 0);
	CHECK(dest->container == DEST_MP4 && dest->full_store_and_read);
	/* 64 two-byte characters: the limit counts characters, not bytes */
	CHECK(parse_doc(with(valid_doc(), "SiteName", repeat("\xc3\xa9", 64)), 0) == 0);
	/* no certificate: plain HTTP only when allowed */
	CHECK(parse_doc(with(with(valid_doc(), "HTTPSCertificate", json_array()),
			     "AuthenticationTokenURI", json_pack("[s]", "http://ems.local/auth")),
			1) == 0);
	CHECK(dest->n_certs == 0);
	CHECK(parse_doc(without(valid_doc(), "HTTPSCertificate"), 1) == 0);
}

static void test_size_and_syntax(void)
{
	char *big = malloc(DEST_FILE_MAX + 2), *s;
	json_t *d = valid_doc();

	s = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	memset(big, ' ', DEST_FILE_MAX + 1);
	memcpy(big, s, strlen(s));
	free(s);
	CHECK(destination_parse(big, DEST_FILE_MAX + 1, 0, dest, why, sizeof(why)) == -EBADMSG &&
	      strstr(why, "connection file"));
	CHECK(destination_parse(big, DEST_FILE_MAX, 0, dest, why, sizeof(why)) == 0);
	free(big);

	s = "{\"ConnectionFileVersion\":\"1.0\",\"SiteName\":\"a\",\"SiteName\":\"b\"}";
	CHECK(destination_parse(s, strlen(s), 0, dest, why, sizeof(why)) == -EBADMSG &&
	      strstr(why, "SiteName") && strstr(why, "duplicate"));
	s = "[1,2]";
	CHECK(destination_parse(s, strlen(s), 0, dest, why, sizeof(why)) == -EBADMSG);
	s = "{\"SiteName\":";
	CHECK(destination_parse(s, strlen(s), 0, dest, why, sizeof(why)) == -EBADMSG);
	REFUSED(with(valid_doc(), "Comment", json_string("x")), "Comment");
	REFUSED(with(valid_doc(), "ConnectionFileVersion", json_string("2.0")),
		"ConnectionFileVersion");
	REFUSED(without(valid_doc(), "BlobAPIKey"), "BlobAPIKey");
	REFUSED(without(valid_doc(), "AuthenticationTokenURI"), "AuthenticationTokenURI");
}

static void test_types(void)
{
	REFUSED(with(valid_doc(), "SiteName", json_integer(7)), "SiteName");
	REFUSED(with(valid_doc(), "ApplicationName", json_null()), "ApplicationName");
	REFUSED(with(valid_doc(), "ApplicationVersion", json_string("version four")),
		"ApplicationVersion");
	REFUSED(with(valid_doc(), "ContentDestinationAsNTPServer", json_string("yes")),
		"ContentDestinationAsNTPServer");
	REFUSED(with(valid_doc(), "AuthenticationTokenURI", json_string("https://a.example/")),
		"AuthenticationTokenURI");
	REFUSED(with(valid_doc(), "AuthenticationTokenURI", json_pack("[s]", "ftp://a.example/")),
		"AuthenticationTokenURI");
	REFUSED(with(valid_doc(), "AuthenticationTokenURI", json_array()), "AuthenticationTokenURI");
	REFUSED(with(valid_doc(), "HTTPSCertificate", json_object()), "HTTPSCertificate");
	REFUSED(with(valid_doc(), "HTTPSCertificate", json_pack("[i]", 3)), "HTTPSCertificate");
	REFUSED(with(valid_doc(), "BlobAPIKey", json_true()), "BlobAPIKey");
	REFUSED(with(valid_doc(), "BlobAPIUserName", json_string("")), "BlobAPIUserName");
	REFUSED(with(valid_doc(), "BlobAPIUserName", json_string("a\nb")), "BlobAPIUserName");
	REFUSED(with(valid_doc(), "ContainerType", json_string("avi")), "ContainerType");
	REFUSED(with(valid_doc(), "FullStoreAndReadSupport", json_integer(1)),
		"FullStoreAndReadSupport");
	REFUSED(with(valid_doc(), "WantEncryption", json_string("true")), "WantEncryption");
}

static void test_lengths(void)
{
	json_t *uris = json_array(), *certs = json_array();

	REFUSED(with(valid_doc(), "SiteName", repeat("s", 65)), "SiteName");
	REFUSED(with(valid_doc(), "ApplicationName", repeat("a", 257)), "ApplicationName");
	CHECK(parse_doc(with(valid_doc(), "ApplicationName", repeat("a", 256)), 0) == 0);
	REFUSED(with(valid_doc(), "ApplicationVersion", repeat("1", 129)), "ApplicationVersion");
	REFUSED(with(valid_doc(), "BlobAPIKey", repeat("k", 65)), "BlobAPIKey");
	REFUSED(with(valid_doc(), "BlobAPIUserName", repeat("u", 65)), "BlobAPIUserName");
	REFUSED(with(encrypted_doc(pub_b64), "PublicKeyId", repeat("i", 129)), "PublicKeyId");
	REFUSED(with(valid_doc(), "AuthenticationTokenURI",
		     json_pack("[o]", repeat("https://a.example/aaaaaaaa", 20))),
		"AuthenticationTokenURI");
	REFUSED(with(valid_doc(), "HTTPSCertificate", json_pack("[o]", repeat("QUFB", 4097))),
		"HTTPSCertificate");
	for (int i = 0; i < 11; i++) {
		json_array_append_new(uris, json_string("https://ems.example/auth"));
		json_array_append_new(certs, json_string(cert_der_b64));
	}
	REFUSED(with(valid_doc(), "AuthenticationTokenURI", json_deep_copy(uris)),
		"AuthenticationTokenURI");
	REFUSED(with(valid_doc(), "HTTPSCertificate", json_deep_copy(certs)), "HTTPSCertificate");
	json_array_remove(uris, 0);
	json_array_remove(certs, 0);
	CHECK(parse_doc(with(with(valid_doc(), "AuthenticationTokenURI", uris), "HTTPSCertificate",
			     certs), 0) == 0);
	CHECK(dest->n_uris == 10 && dest->n_certs == 10);
}

static void test_certificates_and_keys(void)
{
	REFUSED(with(valid_doc(), "HTTPSCertificate", json_pack("[s]", "bm90IGEgY2VydGlmaWNhdGU=")),
		"HTTPSCertificate");
	REFUSED(with(valid_doc(), "HTTPSCertificate", json_pack("[s]", "not base64!")),
		"HTTPSCertificate");
	/* a public key is not a certificate */
	REFUSED(with(valid_doc(), "HTTPSCertificate", json_pack("[s]", pub_b64)), "HTTPSCertificate");
	REFUSED(without(valid_doc(), "HTTPSCertificate"), "HTTPSCertificate");
	REFUSED(with(valid_doc(), "HTTPSCertificate", json_array()), "HTTPSCertificate");
	REFUSED(with(valid_doc(), "AuthenticationTokenURI", json_pack("[s]", "http://e.example/a")),
		"AuthenticationTokenURI");

	REFUSED(without(encrypted_doc(pub_b64), "PublicKey"), "PublicKey");
	REFUSED(without(encrypted_doc(pub_b64), "PublicKeyId"), "PublicKeyId");
	REFUSED(with(encrypted_doc(pub_b64), "WantEncryption", json_false()), "PublicKey");
	REFUSED(with(valid_doc(), "PublicKey", json_string(pub_b64)), "PublicKey");
	REFUSED(with(valid_doc(), "PublicKeyId", json_string("k")), "PublicKeyId");
	REFUSED(encrypted_doc(small_b64), "PublicKey");
	REFUSED(encrypted_doc(cert_pem_b64), "PublicKey");
	REFUSED(encrypted_doc("AAAA"), "PublicKey");
}

static void test_arguments(void)
{
	const char *s = "{}";

	CHECK(destination_parse(NULL, 2, 0, dest, why, sizeof(why)) == -EINVAL);
	CHECK(destination_parse(s, 2, 0, NULL, why, sizeof(why)) == -EINVAL);
	CHECK(destination_parse(s, 2, 0, dest, NULL, 0) == -EINVAL);
	CHECK(destination_parse(s, 0, 0, dest, why, sizeof(why)) == -EBADMSG);
	CHECK(destination_check_change(NULL, NULL, why, sizeof(why)) == -EINVAL);
	CHECK(destination_load(NULL, NULL, dest) == -EINVAL);
	CHECK(destination_store(NULL, NULL, dest) == -EINVAL);
	CHECK(destination_print(NULL, 0, stdout) == -EINVAL);
	destination_wipe(NULL);
}

int main(void)
{
	fx_make_keys();
	cert_der_b64 = fx_b64_file("cert.der");
	cert_pem_b64 = fx_b64_file("cert.pem");
	pub_b64 = fx_b64_file("pub.pem");
	pub_rsa_b64 = fx_b64_file("pub-rsa.pem");
	small_b64 = fx_b64_file("small-pub.pem");
	dest = calloc(1, sizeof(*dest));
	test_valid();
	test_size_and_syntax();
	test_types();
	test_lengths();
	test_certificates_and_keys();
	test_arguments();
	destination_wipe(dest);
	free(dest);
	free(cert_der_b64);
	free(cert_pem_b64);
	free(pub_b64);
	free(pub_rsa_b64);
	free(small_b64);
	return check_done();
}
