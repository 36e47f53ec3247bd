/* test_ca.c - the CA process (controller/ca.c) with a file keystore: it
 * issues a server certificate for a key only it holds and signs digests with
 * it that verify against that certificate; it keeps the current and the
 * previous server key and refuses every other generation, oversized digests,
 * bad serials and over-long validities; an answer that comes after its
 * request timed out is never taken for the next request's; a dead CA process
 * is an error at once, not a hang. */
#include "tests/unit/shared/check.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "controller/ca.h"
#include "controller/controller.h"
#include "hw/keystore.h"
#include "shared/util.h"

static uint8_t ca_der[CERTS_MAX_DER];
static size_t ca_len;

/* A system CA key in a file keystore and its self-signed certificate. */
static int make_system(const char *spec, const char *cert_path)
{
	struct cert_req req = { .profile = CERT_PROFILE_SYSTEM_CA };
	uint8_t spki[CERTS_MAX_SPKI];
	char pem[8192];
	size_t spki_len = 0, pem_len = 0;
	keystore_t *ks = NULL;
	ecc_key key;
	WC_RNG rng;
	int r = -1;

	if (ks_open(spec, &ks) != KS_OK)
		return -1;
	if (ks_create_ec(ks, CA_KEY_NAME, spki, sizeof(spki), &spki_len) == KS_OK &&
	    ks_load_signer(ks, CA_KEY_NAME, &key) == KS_OK) {
		snprintf(req.common_name, sizeof(req.common_name), "Test system CA");
		snprintf(req.organization, sizeof(req.organization), "Test system");
		req.not_before = time(NULL) - 60;
		req.not_after = time(NULL) + 3650 * DAY_SECONDS;
		req.spki = spki;
		req.spki_len = spki_len;
		if (wc_InitRng(&rng) == 0) {
			if (certs_issue(&req, &key, NULL, 0, &rng, ca_der, sizeof(ca_der), &ca_len) ==
				    CERTS_OK &&
			    certs_der_to_pem(ca_der, ca_len, "CERTIFICATE", pem, sizeof(pem),
					     &pem_len) == CERTS_OK &&
			    util_write_file_atomic(cert_path, pem, pem_len, 0644) == 0)
				r = 0;
			wc_FreeRng(&rng);
		}
		wc_ecc_free(&key);
	}
	ks_close(ks);
	return r;
}

/* Whether server key gen signs msg so that cert verifies it. */
static int signs(struct ca_client *c, uint32_t gen, const uint8_t *cert, size_t cert_len,
		 const char *msg)
{
	uint8_t hash[32], sig[128];
	size_t sig_len = 0;

	if (wc_Sha256Hash((const byte *)msg, (word32)strlen(msg), hash) != 0 ||
	    ca_sign_server(c, gen, hash, sizeof(hash), sig, sizeof(sig), &sig_len) != 0)
		return 0;
	return certs_verify_signature(cert, cert_len, msg, strlen(msg), sig, sig_len) == CERTS_OK;
}

static int new_server(struct ca_client *c, uint8_t *der, size_t *len, uint32_t *gen)
{
	time_t now = time(NULL);
	return ca_new_server(c, "BWC controller test", now - 60, now + 90 * DAY_SECONDS, der,
			     CERTS_MAX_DER, len, gen);
}

static void test_server_keys(struct ca_client *c)
{
	uint8_t d1[CERTS_MAX_DER], d2[CERTS_MAX_DER], d3[CERTS_MAX_DER], sig[128], big[65];
	size_t l1 = 0, l2 = 0, l3 = 0, n;
	uint32_t g1 = 0, g2 = 0, g3 = 0;
	struct cert_info info;

	CHECK(new_server(c, d1, &l1, &g1) == 0 && g1 == 1);
	CHECK(certs_verify_issued_by(d1, l1, ca_der, ca_len, 1, time(NULL)) == CERTS_OK);
	CHECK(certs_parse(d1, l1, &info) == CERTS_OK &&
	      strcmp(info.common_name, "BWC controller test") == 0);
	CHECK(signs(c, g1, d1, l1, "receipt one"));
	CHECK(new_server(c, d2, &l2, &g2) == 0 && g2 == 2);
	CHECK(l1 != l2 || memcmp(d1, d2, l1) != 0);
	CHECK(signs(c, g2, d2, l2, "receipt two"));
	CHECK(!signs(c, g2, d1, l1, "receipt two"));   /* a new key, not a new certificate */
	CHECK(signs(c, g1, d1, l1, "handshake in progress at the renewal"));
	CHECK(new_server(c, d3, &l3, &g3) == 0 && g3 == 3);
	CHECK(!signs(c, g1, d1, l1, "two renewals ago"));
	CHECK(signs(c, g2, d2, l2, "the previous one still signs"));
	CHECK(signs(c, g3, d3, l3, "the current one"));
	memset(big, 1, sizeof(big));
	CHECK(ca_sign_server(c, 0, big, 32, sig, sizeof(sig), &n) == CERTS_E_INPUT);
	CHECK(ca_sign_server(c, 4, big, 32, sig, sizeof(sig), &n) == CERTS_E_INPUT);
	CHECK(ca_sign_server(c, g3, big, sizeof(big), sig, sizeof(sig), &n) == CERTS_E_INPUT);
	CHECK(ca_sign_server(c, g3, big, 0, sig, sizeof(sig), &n) == CERTS_E_INPUT);
	CHECK(ca_sign_server(c, g3, big, 32, sig, 8, &n) == -ENOSPC);
	/* A validity the CA process will not sign. */
	CHECK(ca_new_server(c, "x", time(NULL), time(NULL) + 400 * DAY_SECONDS, d1,
			    sizeof(d1), &l1, &g1) == CERTS_E_INPUT);
	CHECK(ca_new_server(c, "", time(NULL), time(NULL) + DAY_SECONDS, d1, sizeof(d1), &l1,
			    &g1) == CERTS_E_INPUT);
}

static void test_ldevid(struct ca_client *c)
{
	struct ca_request *q = calloc(1, sizeof(*q));
	uint8_t der[CERTS_MAX_DER];
	ecc_key key;
	WC_RNG rng;
	size_t n = 0, len = 0;

	if (!q || wc_InitRng(&rng) != 0) {
		free(q);
		CHECK(!"memory and a random number generator");
		return;
	}
	CHECK(certs_ec_generate(&rng, &key) == CERTS_OK);
	CHECK(certs_ec_spki(&key, q->spki, sizeof(q->spki), &n) == CERTS_OK);
	wc_ecc_free(&key);
	wc_FreeRng(&rng);
	q->spki_len = (uint32_t)n;
	q->kind = CA_ISSUE_LDEVID;
	q->not_before = time(NULL);
	q->not_after = q->not_before + 28 * DAY_SECONDS;
	snprintf(q->serial, sizeof(q->serial), "CAM00001");
	CHECK(ca_issue(c, q, der, sizeof(der), &len) == 0);
	CHECK(certs_verify_issued_by(der, len, ca_der, ca_len, 1, time(NULL)) == CERTS_OK);
	snprintf(q->serial, sizeof(q->serial), "bad serial/1");
	CHECK(ca_issue(c, q, der, sizeof(der), &len) < 0);
	free(q);
}

/* A request that times out (the CA process stopped), then another: the
 * second gets its own answer, not the first one's late one. */
static void test_late_answer(struct ca_client *c, uint32_t gen, const uint8_t *cert,
			     size_t cert_len)
{
	uint8_t hash[32], sig[128];
	size_t n = 0;

	memset(hash, 7, sizeof(hash));
	CHECK(kill(c->pid, SIGSTOP) == 0);
	CHECK(ca_sign_server(c, gen, hash, sizeof(hash), sig, sizeof(sig), &n) == -ETIMEDOUT);
	CHECK(kill(c->pid, SIGCONT) == 0);
	CHECK(signs(c, gen, cert, cert_len, "the request after the timed-out one"));
	CHECK(signs(c, gen, cert, cert_len, "and the one after it"));
}

int main(void)
{
	char spec[PATH_MAX + 8], cert_path[PATH_MAX];
	uint8_t der[CERTS_MAX_DER], hash[32] = { 0 }, sig[128];
	size_t len = 0, n = 0;
	uint32_t gen = 0;
	struct ca_client c = { .fd = -1 };
	uint64_t t0;

	wolfCrypt_Init();
	snprintf(spec, sizeof(spec), "file:%s", check_path("keys"));
	snprintf(cert_path, sizeof(cert_path), "%s", check_path("ca.pem"));
	CHECK(make_system(spec, cert_path) == 0);
	CHECK(ca_start(spec, cert_path, "Test system", 91L * DAY_SECONDS, &c) == 0);
	if (c.fd < 0)
		return check_done();
	test_server_keys(&c);
	test_ldevid(&c);
	CHECK(new_server(&c, der, &len, &gen) == 0);
	test_late_answer(&c, gen, der, len);

	/* The CA process dies: an error at once. */
	CHECK(kill(c.pid, SIGKILL) == 0);
	waitpid(c.pid, NULL, 0);
	c.pid = 0;
	t0 = util_monotonic_ms();
	CHECK(ca_sign_server(&c, gen, hash, sizeof(hash), sig, sizeof(sig), &n) == -EPIPE);
	CHECK(util_monotonic_ms() - t0 < CA_TIMEOUT_MS);
	ca_stop(&c);
	wolfCrypt_Cleanup();
	return check_done();
}
