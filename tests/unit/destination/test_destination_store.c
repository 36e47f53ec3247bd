/* test_destination_store.c - import into the registry, load it back, the
 * false->true-only rules on re-import, and a printout without the secret. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "controller/destination.h"
#include "fixture.h"
#include "shared/util.h"
#include "tests/unit/tpm/swtpm.h"

#include <limits.h>
#include <stdio.h>

static char *cert_b64, *pub_b64;
static keystore_t *ks;
static char why[512];

static char *doc(int want_enc, int full_store)
{
	json_t *d = json_pack("{ss ss ss ss sb s[s] s[s] ss ss sb sb}",
			      "ConnectionFileVersion", "1.0", "SiteName", "Site",
			      "ApplicationName", "EMS", "ApplicationVersion", "1.0",
			      "ContentDestinationAsNTPServer", 0,
			      "AuthenticationTokenURI", "https://ems.example/auth",
			      "HTTPSCertificate", cert_b64, "BlobAPIKey", "TopSecretKey42",
			      "BlobAPIUserName", "user", "FullStoreAndReadSupport", full_store,
			      "WantEncryption", want_enc);
	char *s;

	if (want_enc)
		json_object_set_new(d, "PublicKey", json_string(pub_b64));
	if (want_enc)
		json_object_set_new(d, "PublicKeyId", json_string("k1"));
	s = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	return s;
}

static int import(registry_t *r, int want_enc, int full_store, struct destination *ret)
{
	char *s = doc(want_enc, full_store);
	int rc;

	why[0] = 0;
	rc = destination_import(r, ks, s, strlen(s), 0, ret, why, sizeof(why));
	free(s);
	return rc;
}

static void test_change_rules(void)
{
	struct destination *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));

	a->want_encryption = 1;
	CHECK(destination_check_change(NULL, b, why, sizeof(why)) == 0);
	CHECK(destination_check_change(a, b, why, sizeof(why)) == -EBADMSG &&
	      strstr(why, "WantEncryption"));
	CHECK(destination_check_change(b, a, why, sizeof(why)) == 0);
	a->want_encryption = 0;
	a->full_store_and_read = 1;
	CHECK(destination_check_change(a, b, why, sizeof(why)) == -EBADMSG &&
	      strstr(why, "FullStoreAndReadSupport"));
	b->full_store_and_read = 1;
	CHECK(destination_check_change(a, b, why, sizeof(why)) == 0);
	free(a);
	free(b);
}

static void test_registry(void)
{
	struct destination *d = calloc(1, sizeof(*d)), *l = calloc(1, sizeof(*l));
	registry_t *r = NULL;
	char *out = NULL, *s;
	size_t outlen = 0;
	FILE *f;

	CHECK(registry_open(check_path("registry.db"), &r) == 0);
	CHECK(destination_load(r, ks, l) == -ENOENT);
	CHECK(import(r, 0, 0, d) == 0);
	CHECK(destination_load(r, ks, l) == 0);
	CHECK(strcmp(l->site_name, "Site") == 0 && l->n_certs == 1 && !l->want_encryption);
	CHECK(l->cert_len[0] == d->cert_len[0] &&
	      memcmp(l->cert_der[0], d->cert_der[0], d->cert_len[0]) == 0);

	/* false -> true is allowed, then never back */
	CHECK(import(r, 1, 0, d) == 0);
	CHECK(import(r, 0, 0, d) == -EBADMSG && strstr(why, "WantEncryption"));
	CHECK(import(r, 1, 1, d) == 0);
	CHECK(import(r, 1, 0, d) == -EBADMSG && strstr(why, "FullStoreAndReadSupport"));
	CHECK(destination_load(r, ks, l) == 0 && l->want_encryption && l->full_store_and_read);

	/* the latches hold even if the stored document says false */
	s = doc(0, 0);
	CHECK(destination_parse(s, strlen(s), 0, l, why, sizeof(why)) == 0);
	CHECK(destination_store(r, ks, l) == 0);
	free(s);
	CHECK(import(r, 0, 1, d) == -EBADMSG && strstr(why, "WantEncryption"));
	CHECK(import(r, 1, 0, d) == -EBADMSG && strstr(why, "FullStoreAndReadSupport"));
	CHECK(import(r, 1, 1, d) == 0);

	/* the printout never holds the secret */
	for (int json = 0; json < 2; json++) {
		f = open_memstream(&out, &outlen);
		CHECK(destination_print(d, json, f) == 0);
		fclose(f);
		CHECK(strstr(out, "(set)") && !strstr(out, "TopSecretKey42"));
		CHECK(strstr(out, "k1") && strstr(out, "https://ems.example/auth"));
		free(out);
	}
	destination_wipe(d);
	CHECK(d->blob_key[0] == 0);
	registry_close(r);
	free(d);
	free(l);
}

/* 1 if the file at path contains needle anywhere. */
static int file_has(const char *path, const char *needle)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int found;

	if (util_read_file(path, 64 << 20, &buf, &len) < 0)
		return 0;
	found = memmem(buf, len, needle, strlen(needle)) != NULL;
	free(buf);
	return found;
}

/* The registry holds the document sealed: no BlobAPIKey in its files; another
 * keystore cannot open it, nor can an edited ciphertext be opened. */
static void test_sealed(void)
{
	struct destination *d = calloc(1, sizeof(*d));
	char path[PATH_MAX], *sealed = malloc(200000);
	keystore_t *other = NULL;
	registry_t *r = NULL;

	CHECK(registry_open(check_path("sealed.db"), &r) == 0);
	CHECK(import(r, 0, 0, d) == 0);
	registry_close(r);
	r = NULL;
	snprintf(path, sizeof(path), "%s", check_path("sealed.db"));
	CHECK(!file_has(path, "TopSecretKey42"));
	snprintf(path, sizeof(path), "%s-wal", check_path("sealed.db"));
	CHECK(!file_has(path, "TopSecretKey42"));
	CHECK(registry_open(check_path("sealed.db"), &r) == 0);
	CHECK(destination_load(r, ks, d) == 0 && strcmp(d->blob_key, "TopSecretKey42") == 0);
	snprintf(path, sizeof(path), "file:%s", check_path("other-keys"));
	CHECK(ks_open(path, &other) == KS_OK);
	CHECK(destination_load(r, other, d) == -EACCES);
	CHECK(ks_seal(other, DEST_SEAL_NAME, (const uint8_t *)"0123456789abcdef0123456789abcdef",
		      32) == KS_OK);
	CHECK(destination_load(r, other, d) == -EACCES);
	/* one character of the ciphertext changed */
	CHECK(registry_meta_get(r, "destination", sealed, 200000) == 0);
	sealed[10] = sealed[10] == 'A' ? 'B' : 'A';
	CHECK(registry_meta_set(r, "destination", sealed) == 0);
	CHECK(destination_load(r, ks, d) == -EACCES);
	CHECK(registry_meta_set(r, "destination", "{\"SiteName\":\"plain\"}") == 0);
	CHECK(destination_load(r, ks, d) == -EBADMSG);
	ks_close(other);
	registry_close(r);
	destination_wipe(d);
	free(d);
	free(sealed);
}

/* A TPM that stops answering is a passing condition (-EAGAIN: the forwarder
 * tries again) and not a refusal (-EACCES: it stops trying until a new
 * document is imported, so as not to spend the TPM's lockout counter); once
 * the TPM answers again the same sealed document opens. */
static void test_keystore_outage(void)
{
	struct destination *d = calloc(1, sizeof(*d));
	keystore_t *tks, *again = NULL;
	registry_t *r = NULL;
	struct swtpm tpm;
	char spec[PATH_MAX + 100], *s = doc(0, 0);

	if (!swtpm_installed()) {
		printf("swtpm not installed: the keystore outage case is not run\n");
		free(d);
		free(s);
		return;
	}
	tks = swtpm_keystore(&tpm, "outage-tpm", check_path("outage-keys"));
	CHECK(d && tks && registry_open(check_path("outage.db"), &r) == 0);
	if (d && tks && r) {
		CHECK(destination_import(r, tks, s, strlen(s), 0, d, why, sizeof(why)) == 0);
		CHECK(destination_load(r, tks, d) == 0);
		swtpm_stop(&tpm);
		CHECK(destination_load(r, tks, d) == -EAGAIN);
		CHECK(destination_import(r, tks, s, strlen(s), 0, d, why, sizeof(why)) < 0 &&
		      strstr(why, "not reachable"));
		CHECK(swtpm_start(&tpm, check_path("outage-tpm")) == 0);
		snprintf(spec, sizeof(spec), "%s%s", tpm.spec_head, check_path("outage-keys"));
		CHECK_KS(ks_open(spec, &again), KS_OK);
		CHECK(again && destination_load(r, again, d) == 0 &&
		      strcmp(d->blob_key, "TopSecretKey42") == 0);
	}
	swtpm_stop(&tpm);
	ks_close(again);
	ks_close(tks);
	registry_close(r);
	if (d)
		destination_wipe(d);
	free(d);
	free(s);
}

int main(void)
{
	char spec[PATH_MAX];

	snprintf(spec, sizeof(spec), "file:%s", check_path("keys"));
	if (ks_open(spec, &ks) != KS_OK) {
		fprintf(stderr, "cannot open the test keystore %s\n", spec);
		return 1;
	}
	fx_make_keys();
	cert_b64 = fx_b64_file("cert.der");
	pub_b64 = fx_b64_file("pub.pem");
	test_change_rules();
	test_registry();
	test_sealed();
	test_keystore_outage();
	ks_close(ks);
	free(cert_b64);
	free(pub_b64);
	return check_done();
}
