/* test-keystore-file.c - the file keystore: create, exists, rename over an
 * existing key, destroy, load for signing, bind to TLS, modes and names, a
 * key kept in memory only (ks_create_ec_volatile). */
#include "tests/unit/certs/tcheck.h"

#include "hw/keystore.h"
#include "tests/unit/keystore/volatile_key.h"
#include "shared/privdrop.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];

static int mode_of(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s.key", dir, name);
	return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static void test_create(keystore_t *ks, uint8_t *spki, size_t *spki_len)
{
	uint8_t again[CERTS_MAX_SPKI];
	size_t n = 12345;

	CHECK_EQ(ks_exists(ks, "idevid"), 0);
	CHECK_EQ(ks_create_ec(ks, "idevid", spki, CERTS_MAX_SPKI, spki_len), KS_OK);
	CHECK_EQ(*spki_len, 91);
	CHECK_EQ(ks_exists(ks, "idevid"), 1);
	CHECK_EQ(mode_of("idevid"), 0600);
	CHECK_EQ(ks_create_ec(ks, "idevid", again, sizeof(again), &n), KS_E_EXISTS);
	CHECK_EQ(ks_public_spki(ks, "idevid", again, sizeof(again), &n), KS_OK);
	CHECK(n == *spki_len && memcmp(again, spki, n) == 0);
	CHECK_EQ(ks_public_spki(ks, "nope", again, sizeof(again), &n), KS_E_NOT_FOUND);
	CHECK_EQ(ks_public_spki(ks, "idevid", again, 10, &n), KS_E_INPUT);
}

static void test_sign(keystore_t *ks, const uint8_t *spki, size_t spki_len)
{
	uint8_t csr[CERTS_MAX_DER];
	struct cert_info ci;
	ecc_key key;
	size_t n;

	CHECK_EQ(ks_load_signer(ks, "idevid", &key), KS_OK);
	CHECK_EQ(certs_make_csr("CAM-9", &key, t_rng(), csr, sizeof(csr), &n), CERTS_OK);
	wc_ecc_free(&key);
	CHECK_EQ(certs_parse_csr(csr, n, &ci), CERTS_OK);
	CHECK(ci.spki_len == spki_len && memcmp(ci.spki, spki, spki_len) == 0);
	CHECK_EQ(ks_load_signer(ks, "missing", &key), KS_E_NOT_FOUND);
}

static void test_rename_destroy(keystore_t *ks, const uint8_t *spki, size_t spki_len)
{
	uint8_t other[CERTS_MAX_SPKI], got[CERTS_MAX_SPKI], content[1024], nonzero = 0;
	char path[512], spy[512];
	size_t n, m;

	CHECK_EQ(ks_create_ec(ks, "ldevid.new", other, sizeof(other), &n), KS_OK);
	CHECK_EQ(ks_rename(ks, "idevid", "ldevid.new"), KS_OK);
	CHECK_EQ(ks_exists(ks, "idevid"), 0);
	CHECK_EQ(ks_public_spki(ks, "ldevid.new", got, sizeof(got), &m), KS_OK);
	CHECK(m == spki_len && memcmp(got, spki, m) == 0);
	CHECK_EQ(mode_of("ldevid.new"), 0600);
	snprintf(path, sizeof(path), "%s/ldevid.new.key.old", dir);
	CHECK(access(path, F_OK) < 0); /* the replaced key is gone */
	CHECK_EQ(ks_rename(ks, "idevid", "x"), KS_E_NOT_FOUND);
	/* A second name shows what destroy left in the file: only zeros. */
	snprintf(path, sizeof(path), "%s/ldevid.new.key", dir);
	snprintf(spy, sizeof(spy), "%s/../spy", dir);
	CHECK(link(path, spy) == 0);
	CHECK_EQ(ks_destroy(ks, "ldevid.new"), KS_OK);
	CHECK_EQ(ks_exists(ks, "ldevid.new"), 0);
	m = t_read(spy, content, sizeof(content));
	CHECK(m > 100);
	for (size_t i = 0; i < m; i++)
		nonzero |= content[i];
	CHECK_EQ(nonzero, 0);
	CHECK_EQ(ks_destroy(ks, "ldevid.new"), KS_OK);
}

static void test_bind(keystore_t *ks)
{
	WOLFSSL_CTX *ctx;
	uint8_t spki[CERTS_MAX_SPKI];
	size_t n;

	CHECK_EQ(wolfSSL_Init(), WOLFSSL_SUCCESS);
	ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
	CHECK(ctx != NULL);
	if (!ctx)
		return;
	CHECK_EQ(ks_create_ec(ks, "tls", spki, sizeof(spki), &n), KS_OK);
	CHECK_EQ(ks_bind_tls(ks, "tls", ctx), KS_OK);
	CHECK_EQ(ks_bind_tls(ks, "absent", ctx), KS_E_NOT_FOUND);
	CHECK_EQ(ks_bind_tls(ks, "tls", NULL), KS_E_INPUT);
	wolfSSL_CTX_free(ctx);
	wolfSSL_Cleanup();
}

static void test_inputs(keystore_t *ks)
{
	static const char *bad[] = { "", ".hidden", "UPPER", "a/b", "a b", "..",
				     "123456789012345678901234567890123" };
	uint8_t spki[CERTS_MAX_SPKI];
	keystore_t *k2 = NULL;
	size_t n = 12345;
	ecc_key key;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(ks_create_ec(ks, bad[i], spki, sizeof(spki), &n), KS_E_INPUT);
		CHECK_EQ(ks_exists(ks, bad[i]), KS_E_INPUT);
		CHECK_EQ(ks_destroy(ks, bad[i]), KS_E_INPUT);
		CHECK_EQ(ks_rename(ks, "tls", bad[i]), KS_E_INPUT);
	}
	CHECK_EQ(ks_create_ec(ks, "12345678901234567890123456789012", spki, sizeof(spki), &n),
		 KS_OK);
	CHECK_EQ(ks_create_ec(NULL, "a", spki, sizeof(spki), &n), KS_E_INPUT);
	CHECK_EQ(ks_create_ec(ks, NULL, spki, sizeof(spki), &n), KS_E_INPUT);
	CHECK_EQ(ks_create_ec(ks, "a", NULL, sizeof(spki), &n), KS_E_INPUT);
	CHECK_EQ(ks_create_ec(ks, "a", spki, 0, &n), KS_E_INPUT);
	CHECK_EQ(ks_create_ec(ks, "a", spki, sizeof(spki), NULL), KS_E_INPUT);
	CHECK_EQ(ks_exists(ks, "a"), 0);
	CHECK_EQ(ks_public_spki(NULL, "tls", spki, sizeof(spki), &n), KS_E_INPUT);
	CHECK_EQ(ks_public_spki(ks, "tls", NULL, sizeof(spki), &n), KS_E_INPUT);
	CHECK_EQ(ks_public_spki(ks, "tls", spki, sizeof(spki), NULL), KS_E_INPUT);
	CHECK_EQ(ks_load_signer(ks, "tls", NULL), KS_E_INPUT);
	CHECK_EQ(ks_load_signer(NULL, "tls", &key), KS_E_INPUT);
	CHECK_EQ(ks_rename(NULL, "a", "b"), KS_E_INPUT);
	CHECK_EQ(ks_rename(ks, NULL, "b"), KS_E_INPUT);
	CHECK_EQ(ks_open(NULL, &k2), KS_E_INPUT);
	{
		char d[16];

		CHECK_EQ(ks_spec_dir("file:/a/b", d, sizeof(d)), 0);
		CHECK(strcmp(d, "/a/b") == 0);
		CHECK_EQ(ks_spec_dir("tpm:swtpm:host=x;dir=/k", d, sizeof(d)), 0);
		CHECK(strcmp(d, "/k") == 0);
		CHECK_EQ(ks_spec_dir("tpm:swtpm:host=x", d, sizeof(d)), -EINVAL);
		CHECK_EQ(ks_spec_dir("file:rel", d, sizeof(d)), -EINVAL);
		CHECK_EQ(ks_spec_dir("file:/a/very/long/directory", d, sizeof(d)), -ENAMETOOLONG);
	}
	CHECK_EQ(ks_open("file:", &k2), KS_E_INPUT);
	CHECK_EQ(ks_open("tpm:/x", &k2), KS_E_INPUT);
	CHECK_EQ(ks_open("file:/tmp", NULL), KS_E_INPUT);
	CHECK(k2 == NULL);
	CHECK(strcmp(ks_strerror(KS_E_EXISTS), ks_strerror(KS_E_IO)) != 0);
	ks_close(NULL);
}

static void test_corrupt(keystore_t *ks)
{
	char path[512];
	ecc_key key;

	snprintf(path, sizeof(path), "%s/junk.key", dir);
	t_write_pem(path, (const uint8_t *)"\x30\x00", 2, "CERTIFICATE");
	CHECK_EQ(ks_load_signer(ks, "junk", &key), KS_E_CORRUPT);
}

/* ks_restrict: mode 0000 on every stored form; a process that dropped its
 * capabilities (uid 0 here, as the controller after start-up) can no longer
 * load the key or unseal the secret; the privileged process still can. */
static void test_restrict(keystore_t *ks)
{
	uint8_t spki[CERTS_MAX_SPKI], out[16];
	char path[512];
	struct stat st;
	size_t n = 0;
	ecc_key key;
	int status = -1;
	pid_t pid;

	CHECK_EQ(ks_create_ec(ks, "ca", spki, sizeof(spki), &n), KS_OK);
	CHECK_EQ(ks_seal(ks, "verifier", (const uint8_t *)"secret", 6), KS_OK);
	CHECK_EQ(ks_restrict(ks, "ca"), KS_OK);
	CHECK_EQ(ks_restrict(ks, "verifier"), KS_OK);
	CHECK_EQ(ks_restrict(ks, "ca"), KS_OK);              /* again: nothing changes */
	CHECK_EQ(ks_restrict(ks, "nothing"), KS_E_NOT_FOUND);
	CHECK_EQ(ks_restrict(ks, "../ks"), KS_E_INPUT);
	CHECK_EQ(mode_of("ca"), 0);
	snprintf(path, sizeof(path), "%s/verifier.sealed", dir);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0);
	CHECK_EQ(ks_exists(ks, "ca"), 1);
	if (geteuid() != 0) {
		printf("not root: a capability-less process reading a restricted key not tried\n");
		return;
	}
	CHECK_EQ(ks_load_signer(ks, "ca", &key), KS_OK);      /* privileged: still */
	wc_ecc_free(&key);
	CHECK_EQ(ks_unseal(ks, "verifier", out, sizeof(out), &n), KS_OK);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int bad = privdrop_capabilities() < 0;
		bad |= ks_load_signer(ks, "ca", &key) == KS_OK;
		bad |= ks_unseal(ks, "verifier", out, sizeof(out), &n) == KS_OK;
		bad |= ks_public_spki(ks, "ca", spki, sizeof(spki), &n) == KS_OK;
		_exit(bad);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
}

int main(void)
{
	uint8_t spki[CERTS_MAX_SPKI];
	size_t spki_len = 0;
	keystore_t *ks = NULL;
	char spec[300];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/ks/sub", t_tmpdir());
	snprintf(spec, sizeof(spec), "file:%s", dir);
	CHECK_EQ(ks_open(spec, &ks), KS_OK);
	if (!ks)
		return t_finish();
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	test_create(ks, spki, &spki_len);
	test_sign(ks, spki, spki_len);
	test_rename_destroy(ks, spki, spki_len);
	test_bind(ks);
	test_inputs(ks);
	test_corrupt(ks);
	test_restrict(ks);
	CHECK_EQ(volatile_key_failures(ks, spec, dir), 0);
	ks_close(ks);
	return t_finish();
}
